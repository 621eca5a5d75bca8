/*
 * The command line: help on every command, version, the stage listing
 * generated from the registry, JSON-lines logs, --check, and the demo,
 * whose outputs are checked against the synthetic scene's known truth.
 */
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "raster/demo_scene.h"

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

static void help_on_every_command(void **state) {
  fixture *f = *state;
  const char *cmds[] = {"run", "stages", "demo", "version"};
  char args[256];
  for (int i = 0; i < 4; i++) {
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    assert_int_equal(cf_test_cli(args, f->log), 0);
    assert_true(cf_test_file_contains(f->log, "Usage: carbonflux"));
    snprintf(args, sizeof args, "help %s", cmds[i]);
    assert_int_equal(cf_test_cli(args, f->log), 0);
  }
  assert_int_equal(cf_test_cli("--help", f->log), 0);
  assert_true(cf_test_file_contains(f->log, "Exit codes: 0 ok, 1 usage"));
  assert_int_equal(cf_test_cli("", f->log), 1);      /* no command */
  assert_int_equal(cf_test_cli("frobnicate", f->log), 1);
  assert_true(cf_test_file_contains(f->log, "no command 'frobnicate'"));
  assert_int_equal(cf_test_cli("--threads 0 version", f->log), 1);
  assert_int_equal(cf_test_cli("--version", f->log), 0);
  char v[64];
  snprintf(v, sizeof v, "carbonflux %s", cf_version());
  assert_true(cf_test_file_contains(f->log, v));
}

static void stages_lists_the_registry(void **state) {
  fixture *f = *state;
  assert_int_equal(cf_test_cli("stages", f->log), 0);
  const char *expect[] = {"ingest.raster", "ingest.vector", "raster.warp", "raster.index", "raster.clip",
                          "raster.zonal", "write.cog", "resampling", "(required)", "=bilinear"};
  for (int i = 0; i < 10; i++) {
    if (!cf_test_file_contains(f->log, expect[i])) print_error("missing %s\n", expect[i]);
    assert_true(cf_test_file_contains(f->log, expect[i]));
  }
}

static void json_logs_are_one_object_per_line(void **state) {
  fixture *f = *state;
  char args[1400];
  snprintf(args, sizeof args, "--log-format json demo --out '%s/demo'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  FILE *in = fopen(f->log, "r");
  char line[65536];
  int json = 0;
  while (fgets(line, sizeof line, in)) {
    if (line[0] != '{') continue; /* the demo's summary on stdout is prose */
    size_t n = strlen(line);
    assert_true(n > 2 && line[n - 2] == '}' && line[n - 1] == '\n');
    assert_non_null(strstr(line, "\"ts\":\""));
    json++;
  }
  fclose(in);
  assert_true(json >= 5);
  assert_true(cf_test_file_contains(f->log, "\"event\":\"wrote\""));
  assert_true(cf_test_file_contains(f->log, "\"event\":\"progress\""));
}

/* The demo's NDVI must be what the scene's known reflectances give
 * (raster/demo_scene.c: forest red 0.04, nir 0.35, each scaled by a
 * texture factor in [0.9, 1.1] drawn independently per band), and the stand
 * means must equal the analytic mean of the height model. */
static void demo_runs_and_matches_its_truth(void **state) {
  fixture *f = *state;
  char args[1400];
  snprintf(args, sizeof args, "-q demo --out '%s/demo'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_test_file_contains(f->log, "ndvi.tif"));
  char path[1200];
  snprintf(path, sizeof path, "%s/demo/out/ndvi.tif", f->dir);
  int w, h;
  double gt[6], nd;
  double *v = cf_test_read_band(path, 1, &w, &h, gt, &nd, NULL);
  int forest = 0;
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) {
      /* the grid is the scene's 30 m grid shifted by whole pixels */
      int c = (int)lround((gt[0] - CF_DEMO_X0) / 30.0) + i;
      int r = (int)lround((CF_DEMO_Y0 + CF_DEMO_SIZE30 * 30.0 - gt[3]) / 30.0) + j;
      double x = v[(size_t)j * w + i];
      int cover = cf_demo_cover(c, r);
      if (cover == 4) assert_close(x, nd, 0, 0); /* cloud: nodata */
      if (cover != 0 || x == nd) continue;
      /* NDVI with texture: extremes (0.35*0.9 - 0.04*1.1)/(0.35*0.9 + 0.04*1.1) = 0.755
       * and (0.35*1.1 - 0.04*0.9)/(...) = 0.829 */
      assert_true(x > 0.754 && x < 0.830);
      forest++;
    }
  assert_true(forest > 10000);
  free(v);
  snprintf(path, sizeof path, "%s/demo/out/stand_canopy_height.csv", f->dir);
  /* S1: h = 24 (1 - d^2/2) * jitter(mean 1), averaged over d < 0.8 where d^2
   * has mean 0.8^2 / 2 = 0.32: 24 * 0.84 = 20.16 m. The 10 m -> 30 m average
   * and the polygon's 36-gon approximation of the circle move this by
   * well under 1 %; jitter averages over ~36 000 10 m cells (sd 0.115 /
   * sqrt(36000) ~ 0.06 %). */
  FILE *in = fopen(path, "r");
  char line[4096];
  double s1 = NAN;
  while (fgets(line, sizeof line, in))
    if (!strncmp(line, "\"S1\"", 4)) sscanf(line, "\"S1\",\"canopy_height\",%*d,%*d,%lf", &s1);
  fclose(in);
  assert_close(s1, 20.16, 0.01, 0);
}

static void check_validates_without_running(void **state) {
  fixture *f = *state;
  const char *yaml = cf_shipped_pipeline("demo.yaml");
  assert_non_null(yaml);
  char args[1400];
  snprintf(args, sizeof args, "-q demo --out '%s/d2'", f->dir);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  snprintf(args, sizeof args, "run --check '%s/d2/demo.yaml' --set grid.resolution=20", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_test_file_contains(f->log, "is valid"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(help_on_every_command, setup, teardown),
      cmocka_unit_test_setup_teardown(stages_lists_the_registry, setup, teardown),
      cmocka_unit_test_setup_teardown(json_logs_are_one_object_per_line, setup, teardown),
      cmocka_unit_test_setup_teardown(demo_runs_and_matches_its_truth, setup, teardown),
      cmocka_unit_test_setup_teardown(check_validates_without_running, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
