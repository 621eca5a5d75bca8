/*
 * MPI across ranks (issue 11, item 3; README "Running on several nodes
 * (MPI)"): the same outputs, bit for bit, from a plain run and from
 * `mpirun -n 1`, `-n 2` and `-n 4` on this machine, and the work really
 * spread.
 *
 * (1) A lidar batch: three simulated L0 files through the shipped
 *     lidar-l2 pipeline (`carbonflux run`): three L2 files and their
 *     quicklooks, whichever rank made them; then `carbonflux batch` over 2
 *     ranks twice: rank 0's catalogue records the three items the first
 *     night and skips them the second.
 * (2) A flux estimate (`carbonflux flux estimate`) on simulated scans
 *     whose sweeps make four jackknife blocks: the inversion's normal
 *     equations are accumulated by piece on up to four ranks and added in
 *     piece order (lidar/flux/estimate_inversion.c, "Ranks").
 *
 * Equal means equal SHA-256 of every output file. The outputs carry
 * provenance (input paths and hashes, settings, version; no rank count),
 * so each run works in its own folder with the same relative paths. The
 * one clock reading in them, the NetCDF files' CF `history` time, is fixed
 * by SOURCE_DATE_EPOCH (core/utc.h), and netCDF-C records no HDF5 object
 * times, so every output, NetCDF included, hashes whole.
 *
 * Spread: mpirun's --output-filename DIR keeps each rank's stderr in
 * DIR/1/rank.R/stderr; with -v every rank logs. The rule "the j-th selected item runs on rank
 * j % N" puts item 2 of 3 on rank 1 of 2; the inversion's rule "piece b of
 * nb on rank floor(b N / nb)" puts pieces 2 and 3 of 4 on rank 1 of 2.
 *
 * Run only when the build has MPI (tests/CMakeLists.txt). mpirun runs as
 * root here (the container) and with 4 ranks on 2 cores, hence
 * --allow-run-as-root --oversubscribe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cf_test.h"
#include "core/sha256.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-netcdf4 */
#define HELPER CF_SOURCE_DIR "/tests/flux_estimate_check.py"
/* In the sanitizer build the ranks run without LeakSanitizer: Open MPI
 * 4.1 leaves about 120 kB in some 3,300 allocations at MPI_Finalize, most
 * from components it has unloaded by then, whose frames LSan cannot name,
 * so no suppression (tests/lsan.supp) can select them; setting
 * mca_base_component_disable_dlclose did not name them. AddressSanitizer's
 * other checks stay on in every rank, and the plain run of each test keeps
 * the leak check on the same code paths but MPI's. */
#define MPIRUN                                                                                   \
  CF_MPIEXEC " --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 " \
             "-x UBSAN_OPTIONS"

static void sh(const char *cmd) {
  int st = system(cmd);
  if (st != 0) fprintf(stderr, "failed (%d): %s\n", st, cmd);
  assert_int_equal(st, 0);
}

static const int ranks[] = {0, 1, 2, 4}; /* 0: no mpirun */
#define NRUNS 4

/* Run `args` (after the command name) in DIR/run<N>, plain or under
 * mpirun (each rank's output in DIR/<logs><N>/1/rank.R/). */
static void run_in(const char *dir, int n, const char *args, const char *logs) {
  char cmd[8000];
  if (n == 0)
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/run0' && cd '%s/run0' && '%s' %s > '%s/%s0.log' 2>&1", dir, dir, CF_CLI, args,
             dir, logs);
  else
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/run%d' && cd '%s/run%d' && " MPIRUN " --output-filename '%s/%s%d' -n %d '%s' %s > '%s/%s%d.log' 2>&1",
             dir, n, dir, n, dir, logs, n, n, CF_CLI, args, dir, logs, n);
  sh(cmd);
}

/* SHA-256 of run<N>/out/NAME, the whole file. */
static void hash_of(const char *dir, int n, const char *name, char hex[CF_SHA256_HEX_LEN]) {
  char path[1200];
  snprintf(path, sizeof path, "%s/run%d/out/%s", dir, n, name);
  cf_ctx *ctx = cf_test_ctx();
  int rc = cf_sha256_file(ctx, path, hex);
  if (rc) fprintf(stderr, "cannot hash %s\n", path);
  assert_int_equal(rc, CF_OK);
  cf_ctx_destroy(ctx);
}

/* Every file of `names` equal in every run to the plain run's. */
static void assert_same_outputs(const char *dir, const char *const *names, int nnames) {
  for (int k = 0; k < nnames; k++) {
    char ref[CF_SHA256_HEX_LEN], h[CF_SHA256_HEX_LEN];
    hash_of(dir, 0, names[k], ref);
    for (int r = 1; r < NRUNS; r++) {
      hash_of(dir, ranks[r], names[k], h);
      if (strcmp(ref, h)) fprintf(stderr, "%s: -n %d gives %s, the plain run %s\n", names[k], ranks[r], h, ref);
      assert_string_equal(ref, h);
    }
  }
}

/* Did rank `rank` of the run under DIR/<logs><n> log a line with `needle`? */
static int rank_said(const char *dir, const char *logs, int n, int rank, const char *needle) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s%d/1/rank.%d/stderr", dir, logs, n, rank);
  return cf_test_file_contains(path, needle);
}

static void test_lidar_batch(void **state) {
  cf_test_dir *f = *state;
  char cmd[4000];
  /* three inputs; sorted (byte order) they are items 0, 1, 2 */
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/in'", f->dir);
  sh(cmd);
  for (int k = 0; k < 3; k++) {
    snprintf(cmd, sizeof cmd,
             "-q simulate lidar -o '%s/in/l0_%d.h5' --truth '%s/in/truth_%d.nc' scans=1 rays_per_scan=6 gates=10 seed=%d",
             f->dir, k, f->dir, k, k + 1);
    assert_int_equal(cf_test_cli(cmd, f->log), 0);
  }
  snprintf(cmd, sizeof cmd, "rm -f '%s'/in/truth_*.nc", f->dir);
  sh(cmd);
  for (int r = 0; r < NRUNS; r++) {
    /* the same pipeline text in every run folder: the settings the outputs record are equal */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/run%d' && cp '%s/pipelines/lidar-l2.yaml' '%s/run%d/p.yaml'", f->dir,
             ranks[r], CF_SOURCE_DIR, f->dir, ranks[r]);
    sh(cmd);
    run_in(f->dir, ranks[r], "-v run p.yaml --set ingest.lidar_l0.path='../in/*.h5'", "lidar");
  }
  const char *names[] = {"l0_0_l2.nc", "l0_1_l2.nc", "l0_2_l2.nc", "l0_0_cnr.png", "l0_0_cnr_on.png",
                         "l0_1_radial_velocity.png", "l0_2_co2.png"};
  assert_same_outputs(f->dir, names, 7);
  for (int r = 0; r < NRUNS; r++) {
    char out[1200];
    snprintf(out, sizeof out, "%s/run%d/out", f->dir, ranks[r]);
    assert_int_equal(cf_test_count_entries(out, "_l2.nc"), 3);
    assert_int_equal(cf_test_count_entries(out, ".part"), 0);
  }
  /* the nightly batch over 2 ranks: rank 0 owns the catalogue and records
   * all three items, whichever rank ran them; the same outputs; a second
   * night finds nothing new (and no rank waits for work forever) */
  char bdir[1100];
  snprintf(bdir, sizeof bdir, "%s/run8", f->dir); /* "run8": a folder of its own, named like the others */
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/pipelines/lidar-l2.yaml' '%s/p.yaml'", bdir, CF_SOURCE_DIR, bdir);
  sh(cmd);
  for (int night = 0; night < 2; night++) {
    snprintf(cmd, sizeof cmd,
             "cd '%s' && " MPIRUN " --output-filename '%s/batch%d' -n 2 '%s' batch p.yaml "
             "--set ingest.lidar_l0.path='../in/*.h5' --catalogue cat.sqlite > '%s/batch%d.log' 2>&1",
             bdir, f->dir, night, CF_CLI, f->dir, night);
    sh(cmd);
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/batch0/1/rank.0/stdout", f->dir);
  assert_true(cf_test_file_contains(path, "ran: 3 done, 0 quarantined, 0 failed"));
  snprintf(path, sizeof path, "%s/batch1/1/rank.0/stdout", f->dir);
  assert_true(cf_test_file_contains(path, "3 skipped (unchanged)"));
  for (int k = 0; k < 7; k++) {
    char ref[CF_SHA256_HEX_LEN], h[CF_SHA256_HEX_LEN];
    hash_of(f->dir, 0, names[k], ref);
    hash_of(f->dir, 8, names[k], h);
    assert_string_equal(ref, h);
  }
  /* j % N: with 2 ranks item 2 of 3 (j = 1) ran on rank 1, item 3 on rank 0 */
  assert_true(rank_said(f->dir, "lidar", 2, 1, "item 2 of 3"));
  assert_true(rank_said(f->dir, "lidar", 2, 0, "item 3 of 3"));
  assert_false(rank_said(f->dir, "lidar", 2, 0, "item 2 of 3"));
}

static void test_flux_estimate(void **state) {
  cf_test_dir *f = *state;
  char cmd[4000];
  snprintf(cmd, sizeof cmd, "-q simulate flux --benchmark-scene '%s/scene.geojson'", f->dir);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  /* 8 sweeps: jackknife_blocks=4 gives 4 pieces of 2 sweeps */
  snprintf(cmd, sizeof cmd, "-q simulate flux --sources '%s/scene.geojson' -o '%s/l2.nc' scans=8 rays=16 gates=24",
           f->dir, f->dir);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' prior '%s/scene.geojson' '%s/prior.geojson'", PYTHON, HELPER, f->dir, f->dir);
  sh(cmd);
  for (int r = 0; r < NRUNS; r++) {
    run_in(f->dir, ranks[r],
           "-v flux estimate ../l2.nc --sources ../prior.geojson -o out blh_m=1000 stability=D grid_m=2000 "
           "jackknife_blocks=4",
           "flux");
  }
  const char *names[] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png"};
  assert_same_outputs(f->dir, names, 4);
  /* floor(b N / nb): with 2 ranks, pieces 2 and 3 of 4 on rank 1 */
  assert_true(rank_said(f->dir, "flux", 2, 1, "pieces 2..3 of 4"));
  assert_true(rank_said(f->dir, "flux", 2, 0, "pieces 0..1 of 4"));
}

int main(void) {
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1); /* every run, every rank: the same history time */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lidar_batch, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(test_flux_estimate, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
