/*
 * The command line: help on every command, version, the stage listing
 * generated from the registry, JSON-lines logs, --check, and the demo,
 * whose outputs are checked against the synthetic scene's known truth; the
 * lidar processing settings as both interfaces show and record them.
 */
#include <cpl_error.h>
#include <gdal.h>
#include <hdf5.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/sha256.h"
#include "ingest/library_log.h"
#include "lidar/process_options.h"
#include "raster/demo_scene.h"

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

/* The demo, run once for the whole suite (run_demo_once, the group set-up):
 * it is most of this suite's time (about 25 s of CPU in the normal build,
 * three times that under the sanitizers), and the checks of its JSON log,
 * of its outputs against the scene's truth and of its pipeline with --check
 * read the same run. It runs with `--log-format json` and the default
 * level, so its log holds everything `-q` would show and more. */
static cf_test_dir *demo;
static int demo_exit = -1;

static int run_demo_once(void **state) {
  (void)state;
  cf_test_dir_setup((void **)&demo);
  char args[1400];
  snprintf(args, sizeof args, "--log-format json demo --out '%s/demo'", demo->dir);
  demo_exit = cf_test_cli(args, demo->log);
  return 0;
}

static int remove_demo(void **state) {
  (void)state;
  return cf_test_dir_teardown((void **)&demo);
}

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
  (void)state;
  assert_int_equal(demo_exit, 0);
  FILE *in = fopen(demo->log, "r");
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
  /* nothing a library printed on its own: HDF5's report is per thread, and
   * was once on in the item's thread (~90 multi-line stacks from the flux
   * step's netCDF-C attribute probes) */
  assert_false(cf_test_file_contains(demo->log, "HDF5-DIAG"));
  assert_true(cf_test_file_contains(demo->log, "\"event\":\"wrote\""));
  assert_true(cf_test_file_contains(demo->log, "\"event\":\"progress\""));
  /* the rerun line can be pasted: the binary's own path, which after
   * scripts/setup.sh is not on the PATH (CF_CLI is the real path) */
  char rerun[1400];
  snprintf(rerun, sizeof rerun, "rerun with: %s run ", CF_CLI);
  assert_true(cf_test_file_contains(demo->log, rerun));
}

/* The demo's NDVI must be what the scene's known reflectances give
 * (raster/demo_scene.c: forest red 0.04, nir 0.35, each scaled by a
 * texture factor in [0.9, 1.1] drawn independently per band), and the stand
 * means must equal the analytic mean of the height model. */
static void demo_runs_and_matches_its_truth(void **state) {
  fixture *f = *state;
  assert_int_equal(demo_exit, 0);
  /* no library's own report (the log is at the default level, which shows
   * more than -q's errors only, and there are none), and the summary on
   * stdout lists what it wrote */
  assert_false(cf_test_file_contains(demo->log, "HDF5-DIAG"));
  assert_true(cf_test_file_contains(demo->log, "ndvi.tif"));
  char args[1400];
  char path[1200];
  snprintf(path, sizeof path, "%s/demo/out/ndvi.tif", demo->dir);
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
  snprintf(path, sizeof path, "%s/demo/out/stand_canopy_height.csv", demo->dir);
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
  /* the issuance step: its ledger's change is the difference of the two
   * stock reports' project totals (all four pools count under VM0047),
   * read here from the reports themselves; the plots were remeasured, so
   * the uncertainty is the paired one (design permanent, 18 pairs) */
  cf_ctx *ctx = cf_test_ctx();
  cf_json *r1, *r2, *lg;
  snprintf(path, sizeof path, "%s/demo/out/forest_stocks.json", demo->dir);
  assert_int_equal(cf_json_load_file(ctx, path, &r1), CF_OK);
  snprintf(path, sizeof path, "%s/demo/out/forest_stocks_t2.json", demo->dir);
  assert_int_equal(cf_json_load_file(ctx, path, &r2), CF_OK);
  snprintf(path, sizeof path, "%s/demo/out/ledger.json", demo->dir);
  assert_int_equal(cf_json_load_file(ctx, path, &lg), CF_OK);
  double t1 = cf_json_get(cf_json_get(r1, "project"), "total_t_co2e")->number;
  double t2 = cf_json_get(cf_json_get(r2, "project"), "total_t_co2e")->number;
  const cf_json *p1 = cf_json_at(cf_json_get(lg, "periods"), 0);
  assert_true(t2 > t1); /* growth of 12 % in height outweighs the deaths */
  assert_close(cf_json_get(p1, "change_t_co2e")->number, t2 - t1, 1e-12, 0);
  assert_int_equal((int)cf_json_get(cf_json_get(cf_json_get(p1, "stocks"), "uncertainty"), "n_pairs")->number, 18);
  assert_true(cf_json_get(cf_json_get(lg, "totals"), "units")->number > 0);
  cf_json_free(r1), cf_json_free(r2), cf_json_free(lg);
  /* the verifier's report of that ledger, naming it (relative to the
   * report's folder) with its SHA-256, with the strata and plots beside it
   * (its content: tests/test_issuance_report.c) */
  char sha[CF_SHA256_HEX_LEN], meta[200];
  assert_int_equal(cf_sha256_file(ctx, path, sha), CF_OK);
  snprintf(meta, sizeof meta, "<meta name=\"carbonflux-ledger\" content=\"../ledger.json %s\">", sha);
  snprintf(path, sizeof path, "%s/demo/out/issuance/report.html", demo->dir);
  assert_true(cf_test_file_contains(path, meta));
  const char *beside[3] = {"strata_plots.gpkg", "strata_plots.kml", "ledger_period1.csv"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/demo/out/issuance/%s", demo->dir, beside[i]);
    assert_true(cf_file_exists(path));
  }
  /* verify finds the ledger through that reference and recomputes it
   * (exit 0); once the ledger's bytes change, the reference's hash no
   * longer matches and verify names the ledger (exit 5) */
  snprintf(args, sizeof args, "verify '%s/demo/out/issuance/report.html'", demo->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_test_file_contains(f->log, "ledger of the report ../ledger.json"));
  snprintf(path, sizeof path, "%s/demo/out/ledger.json", demo->dir);
  FILE *fp = fopen(path, "a");
  assert_non_null(fp);
  fputs("\n", fp); /* one byte more: the same JSON, another file */
  fclose(fp);
  assert_int_equal(cf_test_cli(args, f->log), 5);
  /* the shared demo as it was, for the suite's other checks */
  FILE *ledger = fopen(path, "r+");
  assert_non_null(ledger);
  assert_int_equal(fseek(ledger, 0, SEEK_END), 0);
  assert_int_equal(ftruncate(fileno(ledger), ftell(ledger) - 1), 0);
  fclose(ledger);
  cf_ctx_destroy(ctx);
}

static void check_validates_without_running(void **state) {
  fixture *f = *state;
  const char *yaml = cf_shipped_pipeline("demo.yaml");
  assert_non_null(yaml);
  assert_int_equal(demo_exit, 0);
  char args[1400];
  snprintf(args, sizeof args, "run --check '%s/demo/demo.yaml' --set grid.resolution=20", demo->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_test_file_contains(f->log, "is valid"));
}

/* Is there a line in `path` that starts with `start` and contains every
 * one of `parts`? */
static int has_line(const char *path, const char *start, const char *const *parts, int n) {
  FILE *in = fopen(path, "r");
  if (!in) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, in)) {
    if (strncmp(line, start, strlen(start))) continue;
    found = 1;
    for (int i = 0; i < n; i++) found = found && strstr(line, parts[i]) != NULL;
  }
  fclose(in);
  return found;
}

/* `carbonflux lidar --help` and `carbonflux stages` show every setting with
 * the name, default, accepted values (with the unit) and help of its one
 * declaration; a setting a stage does not take is in the command's help. */
static void lidar_help_and_stages_show_the_same_settings(void **state) {
  fixture *f = *state;
  char stages_log[1200];
  snprintf(stages_log, sizeof stages_log, "%s/stages.txt", f->dir);
  assert_int_equal(cf_test_cli("stages", stages_log), 0);
  assert_int_equal(cf_test_cli("lidar --help", f->log), 0);
  cf_lidar_opts d;
  cf_lidar_opts_default(&d);
  int in_stages = 0;
  for (size_t i = 0; i < cf_lidar_settings.n; i++) {
    const cf_kv_opt *row = &cf_lidar_settings.opts[i];
    char def[64], eq_def[80], range[256], bracketed[260], start[64], stage_start[64];
    cf_kv_value_text(row, &d, def, sizeof def);
    cf_kv_range_text(row, range, sizeof range);
    snprintf(eq_def, sizeof eq_def, "=%s ", def);
    snprintf(bracketed, sizeof bracketed, "[%s]", range);
    snprintf(start, sizeof start, "  %s ", row->key);
    snprintf(stage_start, sizeof stage_start, "    %s ", row->key);
    const char *help_parts[] = {def, range, row->help};
    if (!has_line(f->log, start, help_parts, 3)) print_error("lidar --help lacks %s: %s %s %s\n", row->key, def, range, row->help);
    assert_true(has_line(f->log, start, help_parts, 3));
    const char *stage_parts[] = {eq_def, bracketed, row->help};
    in_stages += has_line(stages_log, stage_start, stage_parts, 3);
  }
  /* every row but the command's three switches (dial, wind, block_rays) */
  assert_int_equal(in_stages, (int)cf_lidar_settings.n - 3);
  assert_true(cf_test_file_contains(stages_log, "    errors               choice           =propagated"));
}

/* The case through the command: an out-of-range hard-target limit
 * is a configuration error (exit 1) at the --set position, with the range,
 * whether checking or running; nothing is written. */
static void out_of_range_setting_fails_check_and_run_alike(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "l0.h5"), "not read: validation stops first");
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.lidar_l0\n"
                     "    path: l0.h5\n"
                     "  - type: lidar.doppler\n"
                     "  - type: write.l2\n"
                     "    path: out/l2.nc\n");
  char args[1400];
  for (int check = 1; check >= 0; check--) {
    snprintf(args, sizeof args, "run '%s/p.yaml' --set lidar.doppler.hard_target=100%s", f->dir, check ? " --check" : "");
    assert_int_equal(cf_test_cli(args, f->log), 1);
    assert_true(cf_test_file_contains(f->log, "--set lidar.doppler.hard_target:1:1: option 'hard_target' of lidar.doppler: "
                                              "100 is outside -20..60 dB"));
    assert_true(cf_test_file_contains(f->log, "nothing was run"));
  }
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "l2"), 0);
  /* at the edge of the range it is valid */
  snprintf(args, sizeof args, "run '%s/p.yaml' --set lidar.doppler.hard_target=60 --check", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
}

/* The L2 file's processing_parameters list every setting, the wind error
 * mode as the pipeline set it and the Doppler settings it left alone at
 * the defaults `lidar process` uses. */
static void l2_records_every_setting_with_the_wind_error_mode(void **state) {
  fixture *f = *state;
  char args[1400];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/l0.h5' scans=1 rays_per_scan=6 gates=20", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.lidar_l0\n"
                     "    path: l0.h5\n"
                     "  - type: lidar.spectra\n"
                     "  - type: lidar.doppler\n"
                     "  - type: lidar.wind\n"
                     "    errors: scaled\n"
                     "  - type: write.l2\n"
                     "    path: out/l2.nc\n");
  snprintf(args, sizeof args, "-q run '%s/p.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  int nc;
  size_t len;
  assert_int_equal(nc_open(cf_test_path(f->dir, "out/l2.nc"), NC_NOWRITE, &nc), NC_NOERR);
  assert_int_equal(nc_inq_attlen(nc, NC_GLOBAL, "processing_parameters", &len), NC_NOERR);
  char *json = calloc(len + 1, 1);
  assert_int_equal(nc_get_att_text(nc, NC_GLOBAL, "processing_parameters", json), NC_NOERR);
  nc_close(nc);
  const char *expect[] = {"\"errors\":\"scaled\"", "\"cnr_min\":-27", "\"bins_correlated\":true",
                          "\"dial\":false", "\"wind\":true", "\"min_beams\":4"};
  for (int i = 0; i < 6; i++) {
    if (!strstr(json, expect[i])) print_error("%s not in %s\n", expect[i], json);
    assert_non_null(strstr(json, expect[i]));
  }
  for (size_t i = 0; i < cf_lidar_settings.n; i++) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", cf_lidar_settings.opts[i].key);
    assert_non_null(strstr(json, key));
  }
  free(json);
}

/* Run the command with stderr alone into err.txt (stdout discarded) and
 * check with Python's json module that EVERY stderr line is one JSON
 * object; the checker's findings go to check.txt. Returns the exit code. */
static int run_json(fixture *f, const char *env, const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s '%s' --log-format json %s 2>'%s/err.txt' >/dev/null", env ? env : "", CF_CLI, args,
           f->dir);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import json,sys\n"
           "objs=[json.loads(l) for l in sys.stdin]\n"
           "print(\"lines\", len(objs))\n"
           "print(\"gdal\", sum(1 for o in objs if o.get(\"event\")==\"gdal\" and type(o[\"code\"]) is int))\n"
           "for o in objs:\n"
           "  if o.get(\"event\")==\"finished\":\n"
           "    print(\"finished\", *(\"%%s=%%r\" %% (k, o[k]) for k in (\"items\",\"ok\",\"rejected\",\"failed\")))\n"
           "  if o.get(\"level\")==\"error\" and \"code\" in o: print(\"error\", o[\"code\"])\n"
           "' <'%s/err.txt' >'%s/check.txt' 2>&1",
           f->dir, f->dir);
  int py = system(cmd);
  if (!WIFEXITED(py) || WEXITSTATUS(py) != 0) {
    snprintf(cmd, sizeof cmd, "cat '%s/check.txt' '%s/err.txt' >&2", f->dir, f->dir);
    system(cmd);
    fail_msg("a stderr line is not JSON");
  }
  return WEXITSTATUS(st);
}

static void every_stderr_line_is_json_with_library_messages(void **state) {
  fixture *f = *state;
  const char *check = cf_test_path(f->dir, "check.txt");
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32];
  for (int i = 0; i < 32; i++) d[i] = 1000 + 100 * (i % 7);
  cf_test_write_tif(cf_test_path(f->dir, "t_1.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  cf_test_write_text(cf_test_path(f->dir, "t_2.tif"), "not a TIFF");
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: 't_*.tif'\n"
                     "    bands: [red, nir]\n"
                     "  - type: raster.index\n"
                     "    index: ndvi\n"
                     "  - type: write.cog\n"
                     "    path: out/{stem}.tif\n");
  char args[2400];
  /* GDAL's own messages (CPL_DEBUG: every open, create, close) come
   * through our handler as JSON, also from code that silences GDAL */
  snprintf(args, sizeof args, "-v run '%s/p.yaml'", f->dir);
  assert_int_equal(run_json(f, "CPL_DEBUG=ON", args), 3);
  assert_false(cf_test_file_contains(check, "gdal 0\n"));
  assert_true(cf_test_file_contains(check, "gdal "));
  /* numbers are numbers: %r of a Python int has no quotes */
  assert_true(cf_test_file_contains(check, "finished items=2 ok=1 rejected=1 failed=0"));
  /* an HDF5 failure: a truncated L0 file; its only input rejected, exit 4 */
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/x.h5' scans=1", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  snprintf(args, sizeof args, "head -c 200000 '%s/x.h5' > '%s/bad.h5'", f->dir, f->dir);
  assert_int_equal(system(args), 0);
  snprintf(args, sizeof args, "lidar process '%s/bad.h5' -o '%s/out/bad.nc'", f->dir, f->dir);
  assert_int_equal(run_json(f, NULL, args), 4);
  assert_true(cf_test_file_contains(check, "error CF_EDATA"));
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "bad.h5: HDF5 cannot open the file"));
  /* usage errors too */
  assert_int_equal(run_json(f, NULL, "stages nosuch"), 1);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "no stage type 'nosuch'"));
  assert_int_equal(run_json(f, NULL, "lidar process --bogus"), 1);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "unexpected argument '--bogus'"));
}

/* HDF5's own error stack and a GDAL error, routed through the handlers
 * the command installs: each becomes one JSON line of the log, with the
 * HDF5 frame and line and the GDAL code as JSON numbers (checked by
 * Python's json module, not by our writer). The HDF5 error is a real one:
 * H5Fopen of a file that does not exist, with automatic reporting on. */
static void hdf5_and_gdal_messages_become_json_lines(void **state) {
  fixture *f = *state;
  const char *log = cf_test_path(f->dir, "lib.jsonl");
  FILE *fp = fopen(log, "w");
  assert_non_null(fp);
  cf_ctx *ctx = cf_test_ctx();
  cf_set_log_format(ctx, CF_LOG_JSON);
  cf_set_log_stream(ctx, fp);
  cf_set_log_level(ctx, CF_LOG_DEBUG);
  cf_library_log_route(ctx);
  hid_t h = H5Fopen(cf_test_path(f->dir, "no-such.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(h < 0);
  CPLError(CE_Failure, CPLE_OpenFailed, "test message from GDAL");
  cf_library_log_unroute();
  cf_ctx_destroy(ctx);
  assert_int_equal(fclose(fp), 0);
  char cmd[2400];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import json,sys\n"
           "objs=[json.loads(l) for l in open(sys.argv[1])]\n"
           "h=[o for o in objs if o.get(\"event\")==\"hdf5\"]\n"
           "g=[o for o in objs if o.get(\"event\")==\"gdal\"]\n"
           "assert h and all(type(o[\"frame\"]) is int and type(o[\"line\"]) is int for o in h), h\n"
           "assert any(\"H5Fopen\" in o[\"msg\"] for o in h), h\n"
           "assert len(g)==1 and g[0][\"code\"]==4 and g[0][\"msg\"]==\"test message from GDAL\", g\n"
           "assert g[0][\"level\"]==\"error\"\n"
           "' '%s'",
           log);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(help_on_every_command, setup, teardown),
      cmocka_unit_test_setup_teardown(stages_lists_the_registry, setup, teardown),
      cmocka_unit_test_setup_teardown(json_logs_are_one_object_per_line, setup, teardown),
      cmocka_unit_test_setup_teardown(every_stderr_line_is_json_with_library_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(hdf5_and_gdal_messages_become_json_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(demo_runs_and_matches_its_truth, setup, teardown),
      cmocka_unit_test_setup_teardown(check_validates_without_running, setup, teardown),
      cmocka_unit_test_setup_teardown(lidar_help_and_stages_show_the_same_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(out_of_range_setting_fails_check_and_run_alike, setup, teardown),
      cmocka_unit_test_setup_teardown(l2_records_every_setting_with_the_wind_error_mode, setup, teardown),
  };
  return cmocka_run_group_tests(tests, run_demo_once, remove_demo);
}
