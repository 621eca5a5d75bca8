/*
 * The provenance of the flux outputs, end to end (README "Outputs",
 * ../shared/spec/flux-io.md): `carbonflux flux estimate` and the same
 * estimate as a pipeline (`carbonflux run`, lidar.flux_massbalance then
 * lidar.inversion), on a simulated L2 file and a sources layer stored as
 * an ESRI Shapefile, a format of several files.
 *
 * tests/flux_provenance_check.py computes every SHA-256 itself (hashlib
 * over the files) and checks, for both routes:
 *  - flux_summary.json `inputs`: the L2 file and each file of the
 *    Shapefile (.shp, .shx, .dbf, .prj and whatever else shares its stem),
 *    each with its role and SHA-256;
 *  - flux_l3.nc `input_files` / `input_sha256` the same list, its
 *    `processing_parameters` the summary's settings, `history` the command
 *    that made it: the words typed (`carbonflux -q flux estimate L2 --sources SHP -o OUT ...`) and
 *    the settings given (not method, left at its default), or `carbonflux
 *    run PIPELINE (stage write.flux)`;
 *  - flux_map.tif CARBONFLUX_VERSION (the summary's software version),
 *    CARBONFLUX_INPUTS (each "PATH sha256:HEX" as hashlib has it, every
 *    input listed), CARBONFLUX_SETTINGS;
 *  - the summary's `settings` say method both for both routes and are the
 *    same object (the pipeline recorded {"method": "inversion"} before);
 *  - cf_flux_merge_settings on its own: method both, and the mass
 *    balance's value of a setting the inversion ran with another value of.
 * No tolerance: hashes and names are compared exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "lidar/flux/flux_provenance.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with GDAL and netCDF4 */
#define HELPER CF_SOURCE_DIR "/tests/flux_provenance_check.py"

/* one stack 3.7 km west of the lidar at 48 N, 11 E (as test_flux_estimate's) */
static const char *one_stack =
    "{\"type\": \"FeatureCollection\", \"features\": [\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"S1\", \"kind\": \"point\", \"height_m\": 80, "
    "\"prior_t_per_h\": 60, \"prior_sigma_t_per_h\": 30}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [10.95, "
    "48.0]}}\n]}\n";

static void sh(const char *cmd) {
  int st = system(cmd);
  if (st != 0) fprintf(stderr, "failed (%d): %s\n", st, cmd);
  assert_int_equal(st, 0);
}

static void command_and_pipeline_record_inputs_settings_command(void **state) {
  cf_test_dir *f = *state;
  char cmd[8000], geojson[1100], shp[1100], l2[1100], yaml[1100], out_cmd[1100], out_pipe[1100];
  snprintf(geojson, sizeof geojson, "%s/stack.geojson", f->dir);
  snprintf(shp, sizeof shp, "%s/layer/stack.shp", f->dir); /* a folder of its own: the check lists it */
  snprintf(l2, sizeof l2, "%s/l2.nc", f->dir);
  snprintf(yaml, sizeof yaml, "%s/flux.yaml", f->dir);
  snprintf(out_cmd, sizeof out_cmd, "%s/cmd", f->dir);
  snprintf(out_pipe, sizeof out_pipe, "%s/pipe", f->dir);
  cf_test_write_text(geojson, one_stack);
  snprintf(cmd, sizeof cmd, "simulate flux --sources '%s' -o '%s' scans=2 rays=12 gates=20", geojson, l2);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' shapefile '%s' '%s'", PYTHON, HELPER, geojson, shp);
  sh(cmd);
  snprintf(cmd, sizeof cmd, "-q flux estimate %s --sources %s -o %s blh_m=1000 stability=D grid_m=2000", l2, shp,
           out_cmd);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  /* the same settings given to the first flux stage (the inversion inherits them) */
  char text[4000];
  snprintf(text, sizeof text,
           "version: 1\n"
           "pipeline:\n"
           "  - type: ingest.l2\n"
           "    path: %s\n"
           "    sources: %s\n"
           "  - type: lidar.flux_massbalance\n"
           "    blh_m: 1000\n"
           "    stability: D\n"
           "    grid_m: 2000\n"
           "  - type: lidar.inversion\n"
           "  - type: write.flux\n"
           "    path: %s\n",
           l2, shp, out_pipe);
  cf_test_write_text(yaml, text);
  snprintf(cmd, sizeof cmd, "-q run %s", yaml);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' check '%s' '%s' '%s' '%s' '%s'", PYTHON, HELPER, out_cmd, out_pipe, l2, shp,
           yaml);
  sh(cmd);
}

/* Merging a mass balance that ran with blh_m=800 into an inversion that
 * ran with 1000: the settings say method both, blh_m 1000 (the
 * inversion's, whose rates fill `sources`) and the mass balance's 800
 * under mass_balance_ran_with; nothing else differs, so nothing else is
 * there. Expected text written out from the table's order (method first). */
static void merged_settings_say_both_and_what_differed(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_result inv, mb;
  memset(&inv, 0, sizeof inv);
  memset(&mb, 0, sizeof mb);
  cf_flux_defaults(&inv.opts);
  inv.opts.method = CF_FLUX_INVERSION;
  inv.opts.blh_m = (cf_kv_num_or_choice){-1, 1000};
  mb.opts = inv.opts;
  mb.opts.method = CF_FLUX_MASS_BALANCE;
  mb.opts.blh_m.value = 800;
  assert_int_equal(cf_flux_merge_settings(ctx, &inv, &mb), CF_OK);
  assert_int_equal(inv.opts.method, CF_FLUX_BOTH);
  assert_non_null(strstr(inv.settings_json, "{\"method\":\"both\",\"blh_m\":1000,"));
  const char *tail = ",\"mass_balance_ran_with\":{\"blh_m\":800}}";
  size_t n = strlen(inv.settings_json), nt = strlen(tail);
  assert_true(n > nt);
  assert_string_equal(inv.settings_json + n - nt, tail);
  /* the same values: no mass_balance_ran_with */
  mb.opts.blh_m.value = 1000;
  assert_int_equal(cf_flux_merge_settings(ctx, &inv, &mb), CF_OK);
  assert_null(strstr(inv.settings_json, "mass_balance_ran_with"));
  cf_flux_result_free(&inv);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(merged_settings_say_both_and_what_differed),
      cmocka_unit_test_setup_teardown(command_and_pipeline_record_inputs_settings_command, cf_test_dir_setup,
                                      cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
