/*
 * What a new user found, through the real command: each case is a report
 * of a black-box tester (README only, real and bad files) turned into the
 * behaviour the README and DESIGN promise, so that it stays fixed.
 *   - a run that fails leaves none of its outputs (DESIGN: "no partial
 *     output files"): not even those of stages that finished before the
 *     failing one, and an output it replaced is back as it was;
 * The real files are read in place from ../shared/data; every file a case
 * writes is in its own temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_test.h"

#define RGB CF_SHARED_DATA "/RGB.byte.tif"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

static void expect_log(fixture *f, const char *text) {
  if (!cf_test_file_contains(f->log, text)) {
    char *log = cf_test_slurp(f->log);
    print_error("log does not contain '%s'; it has:\n%s\n", text, log ? log : "(nothing)");
    free(log);
    fail();
  }
}

static void expect_no_log(fixture *f, const char *text) {
  if (cf_test_file_contains(f->log, text)) {
    print_error("log contains '%s'\n", text);
    fail();
  }
}

/* The tester's pipeline: a pool map of RGB.byte.tif (UTM 18N) written as a
 * COG, then its totals over the Kootenay cut blocks (UTM 11N): no block
 * overlaps the raster, so the zonal stage rejects the input (exit 4) after
 * the COG stage has committed out/rgb_pools.tif. */
static void write_wrong_area_pipeline(fixture *f) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "version: 1\n"
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    name: chm\n"
           "    path: %s\n"
           "  - type: ingest.vector\n"
           "    name: blocks\n"
           "    path: %s\n"
           "  - type: sink.biomass_model\n"
           "    name: agb_model\n"
           "    kind: loglog\n"
           "    coefficients: [-5.584, 3.380]\n"
           "    residual_sd: 0.40\n"
           "  - type: sink.pool_map\n"
           "    name: pool_map\n"
           "    model: agb_model\n"
           "    features: [chm]\n"
           "    pools: [agb, bgb, deadwood, litter]\n"
           "    biome: temperate\n"
           "  - type: write.cog\n"
           "    path: out/rgb_pools.tif\n"
           "  - type: sink.pool_zonal\n"
           "    input: pool_map\n"
           "    zones: blocks\n"
           "    path: out/rgb_pools_by_block.csv\n",
           RGB, BLOCKS);
  cf_test_write_text(cf_test_path(f->dir, "wrongarea.yaml"), yaml);
}

static int run_wrong_area(fixture *f) {
  char args[1200];
  snprintf(args, sizeof args, "run '%s/wrongarea.yaml'", f->dir);
  return cf_test_cli(args, f->log);
}

static void failed_run_takes_back_the_outputs_of_earlier_stages(void **state) {
  fixture *f = *state;
  write_wrong_area_pipeline(f);
  assert_int_equal(run_wrong_area(f), 4);
  expect_log(f, "covers no pixel centre");
  expect_log(f, "removed ");
  const char *out = cf_test_path(f->dir, "out");
  assert_int_equal(cf_test_count_entries(out, "rgb_pools"), 0); /* the COG, its CSV, any part or kept file */
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
}

static void failed_run_puts_back_the_output_it_replaced(void **state) {
  fixture *f = *state;
  write_wrong_area_pipeline(f);
  const char *old = "the pool map of an earlier run\n";
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/out'", f->dir);
  assert_int_equal(system(cmd), 0);
  cf_test_write_text(cf_test_path(f->dir, "out/rgb_pools.tif"), old);
  assert_int_equal(run_wrong_area(f), 4);
  expect_log(f, "restored ");
  char *now = cf_test_slurp(cf_test_path(f->dir, "out/rgb_pools.tif"));
  assert_non_null(now);
  assert_string_equal(now, old);
  free(now);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
  expect_no_log(f, "could not be kept");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(failed_run_takes_back_the_outputs_of_earlier_stages, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_run_puts_back_the_output_it_replaced, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
