/*
 * Pipeline validation: every configuration error is found before anything
 * runs and reported at its file:line:col. The positions asserted here are
 * counted by hand from the YAML text in each test. The other groups of
 * configuration checks have suites of their own: test_config_settings
 * (the lidar and flux settings mean the same in a pipeline and on the
 * command line), test_config_limits (hostile YAML files, the simulator's
 * size limit) and test_config_inputs (validation that opens the inputs);
 * config_fixture.c is the pipeline file and its loading they share.
 */
#include <stdio.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "config_fixture.h"

static void unknown_stage_type(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipeline:\n  - type: raster.wrap\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 2, 11, "unknown stage type 'raster.wrap'; did you mean 'raster.warp'?");
}

static void unknown_key_with_suggestion(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    resolutoin: 30\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 5, "unknown option 'resolutoin' for stage raster.warp (did you mean 'resolution'?)");
}

static void wrong_type_and_out_of_range(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    resolution: thirty\n"
      "  - type: write.cog\n"
      "    path: out.tif\n"
      "    blocksize: 10\n"
      "    overviews: maybe\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  /* all three problems in one pass */
  expect_error_at(f, 5, 17, "must be a number, got 'thirty'");
  expect_error_at(f, 8, 16, "must be between 64 and 4096, got 10");
  expect_error_at(f, 9, 16, "must be one of: AUTO, NONE");
}

static void missing_input_file(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: nothere.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "does not exist");
  expect_error_at(f, 3, 11, "nothere.tif");
}

static void missing_required_option_and_bad_crs(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    crs: EPSG:99999999\n"
      "  - type: raster.index\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 10, "not a CRS PROJ understands");
  expect_error_at(f, 6, 5, "needs option 'index'");
}

static void input_must_name_earlier_stage_of_right_kind(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.vector\n"
      "    name: b\n"
      "    path: in.tif\n"
      "  - type: raster.index\n"
      "    input: b\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    input: later\n"
      "    path: o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 6, 12, "input 'b' gives a polygon layer; raster.index needs a raster");
  expect_error_at(f, 9, 12, "'later' is not the name of an earlier stage");
}

static void no_raster_before_a_raster_stage(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipeline:\n  - type: write.cog\n    path: o.tif\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 2, 5, "needs a raster input, and no earlier stage makes one");
}

static void top_level_shape(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipline:\n  - type: write.cog\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 1, 1, "unknown top-level key 'pipline'");
  assert_int_equal(load(f, "pipeline: []\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 1, 11, "non-empty list");
}

static void set_overrides_and_its_errors(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    name: grid\n"
      "    resolution: 30\n";
  const char *good[] = {"grid.resolution=[10, 20]", "grid.resampling=cubic"};
  assert_int_equal(load(f, y, good, 2), CF_OK);
  const char *bad_value[] = {"grid.resolution=-5"};
  assert_int_equal(load(f, y, bad_value, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "--set grid.resolution:1:1"));
  assert_non_null(strstr(cf_error_message(f->ctx), "must be at least"));
  const char *bad_stage[] = {"nosuch.resolution=5"};
  assert_int_equal(load(f, y, bad_stage, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "no stage named 'nosuch'"));
  const char *bad_form[] = {"resolution5"};
  assert_int_equal(load(f, y, bad_form, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "STAGE.KEY=VALUE"));
  /* unnamed stages answer to their type; a named one too, when no
   * unnamed stage has that name (grid is the only raster.warp) */
  const char *by_type[] = {"ingest.raster.nodata=0", "raster.warp.resampling=bilinear"};
  assert_int_equal(load(f, y, by_type, 2), CF_OK);
}

/* A stage's default name counts only the unnamed stages of its type (as
 * the loaded pipeline names them): with a named raster.warp first, the
 * unnamed second one is "raster.warp", and --set raster.warp.* must reach
 * it, not the named one (it once reached the first of the type). The
 * settings JSON says which stage holds the value. */
static void set_reaches_the_stage_of_that_default_name(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    name: grid\n"
      "    resolution: 30\n"
      "  - type: raster.warp\n"
      "    resolution: 60\n";
  cf_test_write_text(f->yaml, y);
  const char *sets[] = {"raster.warp.resolution=90"};
  cf_pipeline *p = NULL;
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, sets, 1, &p), CF_OK);
  const char *js = cf_pipeline_settings(p);
  const char *grid = strstr(js, "\"name\":\"grid\"");
  const char *second = strstr(js, "\"name\":\"raster.warp\"");
  assert_non_null(grid);
  assert_non_null(second);
  assert_true(grid < second);
  assert_non_null(strstr(grid, "30")); /* the named stage keeps its value */
  assert_true(strstr(grid, "30") < second);
  assert_non_null(strstr(second, "90"));
  cf_pipeline_free(p);
  /* the named stage still answers to its type's position among every
   * stage of the type (the shipped forest-stocks.yaml's documented
   * --set ingest.plots.path): raster.warp-2 is the second warp, the same
   * unnamed one; a third does not exist */
  const char *second_by_position[] = {"raster.warp-2.resolution=120"};
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, second_by_position, 1, &p), CF_OK);
  js = cf_pipeline_settings(p);
  second = strstr(js, "\"name\":\"raster.warp\"");
  assert_non_null(second);
  assert_non_null(strstr(second, "120"));
  cf_pipeline_free(p);
  const char *no_third[] = {"raster.warp-3.resolution=90"};
  assert_int_equal(load(f, y, no_third, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "no stage named 'raster.warp-3'"));
}

static void batch_outputs_need_stem(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[16] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "in2.tif"), 4, 4, 1, "Float32", gt, "EPSG:32650", NULL, data, 0);
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: 'in*.tif'\n"
      "  - type: write.cog\n"
      "    path: out.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 11, "2 input files would all write 'out.tif'; put {stem} in the output path");
}
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(unknown_stage_type, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_key_with_suggestion, setup, teardown),
      cmocka_unit_test_setup_teardown(wrong_type_and_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_input_file, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_required_option_and_bad_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(input_must_name_earlier_stage_of_right_kind, setup, teardown),
      cmocka_unit_test_setup_teardown(no_raster_before_a_raster_stage, setup, teardown),
      cmocka_unit_test_setup_teardown(top_level_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(set_overrides_and_its_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(set_reaches_the_stage_of_that_default_name, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_outputs_need_stem, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
