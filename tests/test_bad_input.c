/*
 * Bad input through the real command: each case must give a clear message
 * naming the file and the reason, the documented exit code, and no partial
 * output (neither the output nor a ".part-" file left next to it).
 *   exit 1: configuration (e.g. a missing input is found before running)
 *   exit 2: processing failure (e.g. the output cannot be written)
 *   exit 3: finished, but some inputs were rejected
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"

typedef cf_test_dir fixture;
#define teardown cf_test_dir_teardown

/* A fresh directory with a valid 2-band raster, good.tif. */
static int setup(void **state) {
  cf_test_dir_setup(state);
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[2 * 16];
  for (int i = 0; i < 32; i++) d[i] = 1000 + 100 * (i % 7);
  cf_test_write_tif(cf_test_path(f->dir, "good.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  return 0;
}

/* Run a pipeline reading `input` into NDVI written to out/{stem}.tif. */
static int run_ndvi(fixture *f, const char *input, const char *extra_stages) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "    bands: [red, nir]\n"
           "%s"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "  - type: write.cog\n"
           "    path: out/{stem}.tif\n",
           input, extra_stages ? extra_stages : "");
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  char args[1200];
  snprintf(args, sizeof args, "run '%s/p.yaml'", f->dir);
  return cf_test_cli(args, f->log);
}

static void expect_log(fixture *f, const char *text) {
  if (!cf_test_file_contains(f->log, text)) {
    print_error("log does not contain '%s'\n", text);
    system("cat >&2 \"$(ls -t /tmp/cftest-*/log.txt | head -n1)\"");
    fail();
  }
}

static void expect_no_output(fixture *f) {
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".tif"), 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
}

static void missing_file(void **state) {
  fixture *f = *state;
  assert_int_equal(run_ndvi(f, "absent.tif", NULL), 1);
  expect_log(f, "p.yaml:3:11: input file");
  expect_log(f, "absent.tif' does not exist");
  expect_no_output(f);
}

static void unreadable_raster(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "garbage.tif"), "this is not a TIFF at all\n");
  assert_int_equal(run_ndvi(f, "garbage.tif", NULL), 3);
  expect_log(f, "garbage.tif: not a raster GDAL can read");
  expect_no_output(f);
}

static void raster_without_crs(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, d[32] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "nocrs.tif"), 4, 4, 2, "UInt16", gt, NULL, NULL, d, 0);
  assert_int_equal(run_ndvi(f, "nocrs.tif", NULL), 3);
  expect_log(f, "nocrs.tif: crs: raster has no coordinate reference system");
  expect_no_output(f);
}

static void boundary_outside_raster(void **state) {
  fixture *f = *state;
  /* a boundary in Europe for a raster in China */
  cf_test_write_text(cf_test_path(f->dir, "far.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[10,50],[11,50],[11,51],[10,51],[10,50]]]}}]}");
  const char *extra =
      "  - type: ingest.vector\n"
      "    name: far\n"
      "    path: far.geojson\n"
      "  - type: raster.warp\n"
      "    input: ingest.raster\n"
      "    boundary: far\n";
  assert_int_equal(run_ndvi(f, "good.tif", extra), 3);
  expect_log(f, "good.tif: extent: the grid extent");
  expect_log(f, "far.geojson) does not overlap the raster's footprint");
  expect_no_output(f);
}

static void zero_sized_raster(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "zero.vrt"),
                     "<VRTDataset rasterXSize=\"0\" rasterYSize=\"10\"><GeoTransform>0,1,0,0,0,-1</GeoTransform>"
                     "<VRTRasterBand dataType=\"Byte\" band=\"1\"/></VRTDataset>\n");
  assert_int_equal(run_ndvi(f, "zero.vrt", NULL), 3);
  expect_log(f, "zero.vrt: not a raster GDAL can read (Invalid dataset dimensions : 0 x 10)");
  expect_no_output(f);
  cf_test_write_text(cf_test_path(f->dir, "empty.tif"), "");
  assert_int_equal(run_ndvi(f, "empty.tif", NULL), 3);
  expect_log(f, "empty.tif: file is empty (0 bytes)");
  expect_no_output(f);
}

static void nan_nodata_on_integer_band(void **state) {
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32] = {0}, nd[2] = {0.0 / 0.0, 0.0 / 0.0};
  cf_test_write_tif(cf_test_path(f->dir, "nannd.tif"), 4, 4, 2, "Byte", gt, "EPSG:32650", nd, d, 0);
  assert_int_equal(run_ndvi(f, "nannd.tif", NULL), 3);
  expect_log(f, "nannd.tif: nodata: band 1 is Byte but its nodata value is nan, which that type cannot hold");
  expect_no_output(f);
}

static void batch_goes_on_past_a_bad_input(void **state) {
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32];
  for (int i = 0; i < 32; i++) d[i] = 500 + 50 * i;
  cf_test_write_tif(cf_test_path(f->dir, "b_1.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  cf_test_write_text(cf_test_path(f->dir, "b_2.tif"), "corrupt");
  cf_test_write_tif(cf_test_path(f->dir, "b_3.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  assert_int_equal(run_ndvi(f, "'b_*.tif'", NULL), 3);
  expect_log(f, "b_2.tif: not a raster GDAL can read");
  expect_log(f, "skipped");
  expect_log(f, "items=3 ok=2 rejected=1 failed=0");
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_1.tif") == 1);
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_3.tif") == 1);
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_2") == 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
}

static void unwritable_output_is_a_processing_failure(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "out"), "a file where the output folder should be");
  assert_int_equal(run_ndvi(f, "good.tif", NULL), 2);
  expect_log(f, "cannot create directory");
}

/* Cancelling (a progress callback saying stop, the same flag SIGINT and
 * SIGTERM set in the command) stops the run with CF_ECANCEL and leaves no
 * output and no part file behind. */
static int cancel_after_two(double complete, const char *msg, void *user) {
  int *calls = user;
  (void)complete;
  (void)msg;
  return ++*calls < 3;
}

static void cancelled_run_leaves_nothing(void **state) {
  fixture *f = *state;
  /* enough tiles that the run is still going when it is told to stop */
  const int w = 1500, h = 1500;
  double gt[6] = {500000, 30, 0, 3445000, 0, -30};
  double *d = malloc((size_t)2 * w * h * sizeof *d);
  for (long i = 0; i < 2L * w * h; i++) d[i] = 1000 + (double)(i % 977);
  cf_test_write_tif(cf_test_path(f->dir, "big.tif"), w, h, 2, "UInt16", gt, "EPSG:32650", NULL, d, 256);
  free(d);
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: big.tif\n"
                     "    bands: [red, nir]\n"
                     "  - type: raster.index\n"
                     "    index: ndvi\n"
                     "  - type: write.cog\n"
                     "    path: out/big_ndvi.tif\n"
                     "    blocksize: 256\n");
  cf_ctx *ctx = cf_test_ctx();
  int calls = 0;
  cf_set_progress(ctx, cancel_after_two, &calls);
  cf_pipeline *p;
  assert_int_equal(cf_pipeline_load(ctx, cf_test_path(f->dir, "p.yaml"), NULL, 0, &p), CF_OK);
  cf_run_summary s;
  assert_int_equal(cf_pipeline_run(ctx, p, &s), CF_ECANCEL);
  assert_int_equal(s.cancelled, 1);
  assert_int_equal(s.noutputs, 0);
  assert_int_equal(calls, 3); /* stopped at the first refusal, not at the end */
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".tif"), 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
  cf_run_summary_free(&s);
  cf_pipeline_free(p);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(unreadable_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(raster_without_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(boundary_outside_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(zero_sized_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(nan_nodata_on_integer_band, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_goes_on_past_a_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(unwritable_output_is_a_processing_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(cancelled_run_leaves_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
