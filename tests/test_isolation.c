/*
 * Isolation of batch items (issue 7): a library that crashes on one input
 * costs that input, not the batch.
 *
 * The crash is a real one: libhdf5 1.10 reading an L0 file whose
 * meteo/pressure_pa datatype message says an element is 0xff0004 bytes
 * instead of 4 overflows a heap buffer inside H5Dread (read_meteo) and the
 * process dies with SIGSEGV. The recipe is deterministic: the object
 * header of that dataset is found with H5Oget_info_by_name2, its version-1
 * messages are walked to the datatype message (type 3), and the third
 * byte of the element size (bytes 4..7 of the message body) is set to
 * 0xff. Found by flipping each byte of that header of a file from
 * `carbonflux simulate lidar scans=1 rays_per_scan=6 gates=10` and keeping
 * those that made `lidar process` die with a signal.
 *
 * The WindCube crash is netCDF-C 4.9 dying with SIGSEGV (in libhdf5's
 * H5Literate, called from NC4_open) on one of the six real files of
 * ../shared/data/windcube whose byte 2652, a 0 in the group metadata that
 * H5Literate walks, is set to 4. Found by flipping single bits of the six
 * files 120 times and keeping the sets on which
 * `carbonflux run windcube.yaml` died with 139; 3 of the 120 did, two of
 * them at this byte.
 *
 * Each test first shows the library itself crashing on the file (in a
 * forked child of the test, calling libhdf5 or netCDF-C directly), so that
 * the test stays meaningful should a later library stop crashing.
 *
 * Under AddressSanitizer a crashing child prints ASan's report and exits
 * with status 1 instead of dying of the signal; the tests run the command
 * with abort_on_error=1 there so that the child dies of SIGABRT, and then
 * only check that a signal is named.
 */
#include <hdf5.h>
#include <netcdf.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carbonflux/pipeline.h"
#include "lidar/l2_write.h"
#include "lidar/process_options.h"
#include "cf_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* The signal name a crashed item is reported with, here. */
static const char *expected_crash(void) { return UNDER_ASAN ? "crashed with SIG" : "crashed with SIGSEGV"; }

static void simulate(const char *dir, const char *name) {
  char args[2048];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/in/%s.h5' --truth '%s/%s_truth.nc' scans=1 rays_per_scan=6 gates=10",
           dir, name, dir, name);
  assert_int_equal(cf_test_cli(args, NULL), 0);
}

/* The corruption of the file comment: meteo/pressure_pa's element size. */
static void corrupt_meteo_datatype(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  H5O_info_t info;
  assert_true(H5Oget_info_by_name2(f, "meteo/pressure_pa", &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0);
  H5Fclose(f);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  unsigned char hdr[512];
  assert_int_equal(fseek(fp, (long)info.addr, SEEK_SET), 0);
  assert_int_equal(fread(hdr, 1, sizeof hdr, fp), sizeof hdr);
  assert_int_equal(hdr[0], 1); /* object header version 1: messages from byte 16 */
  int nmsgs = hdr[2] | hdr[3] << 8;
  size_t o = 16;
  long at = -1;
  for (int m = 0; m < nmsgs && o + 8 < sizeof hdr; m++) {
    int type = hdr[o] | hdr[o + 1] << 8, size = hdr[o + 2] | hdr[o + 3] << 8;
    if (type == 3) {
      const unsigned char *body = hdr + o + 8;
      unsigned elsize = body[4] | body[5] << 8 | body[6] << 16 | (unsigned)body[7] << 24;
      assert_int_equal(body[0] & 0x0f, 1); /* floating point */
      assert_int_equal(elsize, 4);         /* float32, as the spec says */
      at = (long)info.addr + (long)(o + 8 + 6);
      break;
    }
    o += 8 + (size_t)size;
  }
  assert_true(at > 0);
  unsigned char ff = 0xff;
  assert_int_equal(fseek(fp, at, SEEK_SET), 0);
  assert_int_equal(fwrite(&ff, 1, 1, fp), 1);
  assert_int_equal(fclose(fp), 0);
}

/* Call `fn(path, out)` in a forked child of the test and check that the
 * library crashes (SIGSEGV; under ASan any signal or ASan's non-zero exit). */
static void expect_library_crash(void (*fn)(const char *, const char *), const char *path, const char *out) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* cmocka's handlers would catch the crash and go on with the test in
     * this child: the library's crash is to end the child */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    fn(path, out);
    _exit(0);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (UNDER_ASAN)
    assert_true(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0));
  else
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

static void l0_to_l2_in_process(const char *path, const char *out) {
  cf_ctx *ctx = cf_ctx_create();
  cf_set_log_level(ctx, CF_LOG_ERROR);
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  cf_lidar_l0_to_l2(ctx, path, out, &o, NULL);
}

static void nc_open_in_process(const char *path, const char *out) {
  (void)out;
  int nc;
  if (nc_open(path, NC_NOWRITE, &nc) == NC_NOERR) nc_close(nc);
}

static void expect_exit(int st, int code) {
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), code);
}

/* Run the command with a shell; the status as system() gives it. */
static int run_status(const char *args, const char *log) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%sexec '%s' %s >'%s' 2>&1", UNDER_ASAN ? "ASAN_OPTIONS=\"$ASAN_OPTIONS:abort_on_error=1\" " : "",
           CF_CLI, args, log);
  return system(cmd);
}

static int run_batch(const char *dir, const char *log, const char *env) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s%s '%s' --log-format json run '%s/p.yaml' >'%s' 2>&1",
           UNDER_ASAN ? "ASAN_OPTIONS=\"$ASAN_OPTIONS:abort_on_error=1\" " : "", env ? env : "", CF_CLI, dir, log);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void write_pipeline(const char *dir) { cf_test_write_l2_pipeline(dir); }

/* radial_velocity of an L2 file (6 rays x 10 gates). */
static void read_vr(const char *path, float *v) {
  int nc, id, dt, dr;
  size_t nt, nr;
  assert_int_equal(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
  assert_int_equal(nc_inq_dimid(nc, "time", &dt), NC_NOERR);
  assert_int_equal(nc_inq_dimid(nc, "range", &dr), NC_NOERR);
  assert_int_equal(nc_inq_dimlen(nc, dt, &nt), NC_NOERR);
  assert_int_equal(nc_inq_dimlen(nc, dr, &nr), NC_NOERR);
  assert_int_equal(nt, 6);
  assert_int_equal(nr, 10);
  assert_int_equal(nc_inq_varid(nc, "radial_velocity", &id), NC_NOERR);
  assert_int_equal(nc_get_var_float(nc, id, v), NC_NOERR);
  nc_close(nc);
}

/* The output of a batch item equals the same file processed alone. */
static void expect_same_l2(const char *dir, const char *stem) {
  char args[2048], out[1100], ref[1100];
  snprintf(ref, sizeof ref, "%s/ref_%s.nc", dir, stem);
  snprintf(out, sizeof out, "%s/out/%s_l2.nc", dir, stem);
  snprintf(args, sizeof args, "-q lidar process '%s/in/%s.h5' -o '%s'", dir, stem, ref);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  float a[60], b[60];
  read_vr(out, a);
  read_vr(ref, b);
  assert_memory_equal(a, b, sizeof a);
  int finite = 0;
  for (int i = 0; i < 60; i++) finite += a[i] == a[i] && a[i] != NC_FILL_FLOAT;
  assert_true(finite > 0); /* a real product, not an all-fill one */
}

/* Every line of a JSON-lines log is one whole object. */
static void expect_json_lines(const char *log, int min_lines) {
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  char line[8192];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    if (UNDER_ASAN && strncmp(line, "{\"ts\"", 5) != 0) continue; /* ASan's report of the crashed child */
    assert_true(len > 2 && line[len - 1] == '\n');
    assert_true(strncmp(line, "{\"ts\":\"", 7) == 0);
    assert_int_equal(line[len - 2], '}');
    n++;
  }
  fclose(f);
  assert_true(n >= min_lines);
}

static void hdf5_crash_costs_one_input(void **state) {
  cf_test_dir *f = *state;
  simulate(f->dir, "a");
  simulate(f->dir, "b");
  simulate(f->dir, "c");
  char bad[1100];
  snprintf(bad, sizeof bad, "%s/in/b.h5", f->dir);
  corrupt_meteo_datatype(bad);

  /* the library crashes on it when called in this process */
  char alone[1100];
  snprintf(alone, sizeof alone, "%s/alone.nc", f->dir);
  expect_library_crash(l0_to_l2_in_process, bad, alone);

  /* alone, it is reported, not a process dead with 139: every input was rejected */
  char args[4096], log1[1100];
  snprintf(log1, sizeof log1, "%s/alone.txt", f->dir);
  snprintf(args, sizeof args, "lidar process '%s' -o '%s'", bad, alone);
  expect_exit(run_status(args, log1), 4);
  assert_true(cf_test_file_contains(log1, expected_crash()));
  assert_true(cf_test_file_contains(log1, "the input is quarantined"));
  assert_int_equal(cf_test_count_entries(f->dir, "alone.nc"), 0);
  assert_int_equal(cf_test_count_entries(f->dir, ".part-"), 0);

  /* in a batch it costs that input only */
  write_pipeline(f->dir);
  assert_int_equal(run_batch(f->dir, f->log, NULL), 3);
  char out[1100];
  snprintf(out, sizeof out, "%s/out", f->dir);
  assert_int_equal(cf_test_count_entries(out, "a_l2.nc"), 1);
  assert_int_equal(cf_test_count_entries(out, "c_l2.nc"), 1);
  assert_int_equal(cf_test_count_entries(out, "b_"), 0);
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
  assert_true(cf_test_file_contains(f->log, expected_crash()));
  assert_true(cf_test_file_contains(f->log, "in stage ingest.lidar_l0"));
  assert_true(cf_test_file_contains(f->log, "in/b.h5: crashed with SIG"));
  assert_true(cf_test_file_contains(f->log, "\"event\":\"rejected\""));
  assert_true(cf_test_file_contains(f->log, "\"items\":3,\"ok\":2,\"rejected\":1,\"failed\":0"));
  if (!UNDER_ASAN) assert_true(cf_test_file_contains(f->log, "\"reason\":\"crashed with SIGSEGV (Segmentation fault) in stage ingest.lidar_l0\""));
  expect_json_lines(f->log, 6);
  expect_same_l2(f->dir, "a");
  expect_same_l2(f->dir, "c");
}

/* A WindCube scan whose one corrupted file crashes netCDF-C: that run is
 * reported (signal, stage, the file set) with exit 4 and leaves nothing;
 * the same command on the intact set goes on to give its profile. */
static void netcdf_crash_costs_one_scan(void **state) {
  cf_test_dir *f = *state;
  const char *names[6] = {"WLS200s-218_2021-05-13_12-00-03_fixed_385_50m.nc", "WLS200s-218_2021-05-13_12-00-08_fixed_381_50m.nc",
                          "WLS200s-218_2021-05-13_12-00-14_fixed_399_50m.nc", "WLS200s-218_2021-05-13_12-00-18_fixed_377_50m.nc",
                          "WLS200s-218_2021-05-13_12-00-23_fixed_393_50m.nc", "WLS200s-218_2021-05-13_12-00-28_fixed_389_50m.nc"};
  char cmd[4096], bad[1100];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/bad' && cp '%s'/windcube/*.nc '%s/bad/' && chmod u+w '%s'/bad/*.nc", f->dir,
           CF_SHARED_DATA, f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
  snprintf(bad, sizeof bad, "%s/bad/%s", f->dir, names[1]);
  FILE *fp = fopen(bad, "r+b");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 2652, SEEK_SET), 0);
  assert_int_equal(fgetc(fp), 0x00); /* the intact file, as ../shared/data/SHA256SUMS pins it */
  assert_int_equal(fseek(fp, 2652, SEEK_SET), 0);
  assert_int_equal(fputc(0x04, fp), 0x04);
  assert_int_equal(fclose(fp), 0);
  expect_library_crash(nc_open_in_process, bad, NULL);

  char log1[1100], log2[1100];
  snprintf(log1, sizeof log1, "%s/bad.txt", f->dir);
  snprintf(cmd, sizeof cmd, "--log-format json run '%s/pipelines/windcube.yaml' --set ingest.windcube.path='%s/bad/*.nc' "
           "--set write.wind_csv.path='%s/out/bad.csv'", CF_SOURCE_DIR, f->dir, f->dir);
  expect_exit(run_status(cmd, log1), 4);
  assert_true(cf_test_file_contains(log1, expected_crash()));
  assert_true(cf_test_file_contains(log1, "in stage ingest.windcube"));
  assert_true(cf_test_file_contains(log1, "/bad/*.nc: crashed with SIG"));
  assert_true(cf_test_file_contains(log1, "\"items\":1,\"ok\":0,\"rejected\":1,\"failed\":0"));
  char out[1100];
  snprintf(out, sizeof out, "%s/out", f->dir);
  assert_int_equal(cf_test_count_entries(out, "bad"), 0);
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
  expect_json_lines(log1, 2);

  snprintf(log2, sizeof log2, "%s/good.txt", f->dir);
  snprintf(cmd, sizeof cmd, "run '%s/pipelines/windcube.yaml' --set ingest.windcube.path='%s/windcube/*.nc' "
           "--set write.wind_csv.path='%s/out/good.csv'", CF_SOURCE_DIR, CF_SHARED_DATA, f->dir);
  expect_exit(run_status(cmd, log2), 0);
  assert_int_equal(cf_test_count_entries(out, "good.csv"), 1);
}

/* A crash while an output is being written: the parent removes the part
 * file the child left (the test hook writes one the way the writer would,
 * then crashes). */
static void crash_in_a_writer_leaves_no_part_file(void **state) {
  cf_test_dir *f = *state;
  simulate(f->dir, "a");
  simulate(f->dir, "b");
  simulate(f->dir, "c");
  write_pipeline(f->dir);
  assert_int_equal(run_batch(f->dir, f->log, "CF_TEST_CRASH_ON=b.h5@write.l2 "), 3);
  char out[1100];
  snprintf(out, sizeof out, "%s/out", f->dir);
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
  assert_int_equal(cf_test_count_entries(out, "b_"), 0);
  assert_int_equal(cf_test_count_entries(out, "_l2.nc"), 2);
  assert_true(cf_test_file_contains(f->log, "/out/.b_l2.nc.part-"));   /* it was there, */
  assert_true(cf_test_file_contains(f->log, "left by the crashed item")); /* and was removed */
  assert_true(cf_test_file_contains(f->log, expected_crash()));
  assert_true(cf_test_file_contains(f->log, "in stage write.l2"));
  assert_true(cf_test_file_contains(f->log, "\"items\":3,\"ok\":2,\"rejected\":1,\"failed\":0"));
  expect_json_lines(f->log, 6);
}

/* GNU libgomp is not fork-safe once a team exists: a child that opens a
 * parallel region after its parent did waits for the parent's pool
 * forever. The runner's children run their item on a fresh thread; this
 * test makes a team here first, then runs a batch in this process whose
 * children use 2 OpenMP threads. */
static void openmp_team_in_the_parent(void **state) {
  cf_test_dir *f = *state;
  simulate(f->dir, "a");
  simulate(f->dir, "c");
  write_pipeline(f->dir);
  double s = 0;
#pragma omp parallel for num_threads(2) reduction(+ : s)
  for (int i = 0; i < 1000; i++) s += i;
  assert_true(s == 499500.0);
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, 2);
  cf_pipeline *p;
  assert_int_equal(cf_pipeline_load(ctx, cf_test_path(f->dir, "p.yaml"), NULL, 0, &p), CF_OK);
  alarm(120); /* a hang fails the test instead of blocking the suite */
  cf_run_summary sum;
  assert_int_equal(cf_pipeline_run(ctx, p, &sum), CF_OK);
  alarm(0);
  assert_int_equal(sum.items, 2);
  assert_int_equal(sum.succeeded, 2);
  assert_int_equal(sum.rejected + sum.failed + sum.cancelled, 0);
  /* the outputs the children wrote are listed in this process's summary */
  assert_int_equal(sum.noutputs, 2);
  assert_non_null(strstr(sum.outputs[0], "out/a_l2.nc"));
  assert_non_null(strstr(sum.outputs[1], "out/c_l2.nc"));
  cf_run_summary_free(&sum);
  cf_pipeline_free(p);
  cf_ctx_destroy(ctx);
  expect_same_l2(f->dir, "a");
}

/* Items i..j with a selection and a report per item, as the catalogue's
 * batch runs them: the items are in byte order (c, a, b listed, a b c
 * run), the range and the selection pick which run, and each report says
 * what happened with that item's own outputs. */
typedef struct {
  int n;
  int index[4];
  cf_item_status status[4];
  int noutputs[4];
  char reason[4][200];
} reports;

static void record_report(void *user, const cf_item_report *r) {
  reports *rs = user;
  assert_true(rs->n < 4);
  rs->index[rs->n] = r->index;
  rs->status[rs->n] = r->status;
  rs->noutputs[rs->n] = r->noutputs;
  for (int k = 0; k < r->noutputs; k++) assert_non_null(strstr(r->outputs[k], "_l2.nc"));
  snprintf(rs->reason[rs->n], sizeof rs->reason[0], "%s", r->reason);
  assert_true(r->seconds >= 0);
  rs->n++;
}

static int all_but_c(void *user, int index, const char *path) {
  (void)user;
  (void)index;
  return strstr(path, "in/c.h5") == NULL;
}

static void items_range_selection_and_reports(void **state) {
  cf_test_dir *f = *state;
  simulate(f->dir, "a");
  simulate(f->dir, "b");
  simulate(f->dir, "c");
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.lidar_l0\n"
           "    path: [in/c.h5, in/a.h5, in/b.h5, in/a.h5]\n"
           "  - type: lidar.spectra\n  - type: lidar.doppler\n  - type: lidar.dial\n  - type: lidar.wind\n"
           "  - type: write.l2\n    path: out/{stem}_l2.nc\n");
  cf_ctx *ctx = cf_test_ctx();
  cf_pipeline *p;
  int lrc = cf_pipeline_load_string(ctx, "p.yaml", yaml, f->dir, NULL, 0, &p);
  if (lrc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(lrc, CF_OK);
  const char *const *items;
  assert_int_equal(cf_pipeline_items(p, &items), 3); /* sorted, the repeated a.h5 once */
  assert_non_null(strstr(items[0], "/a.h5"));
  assert_non_null(strstr(items[1], "/b.h5"));
  assert_non_null(strstr(items[2], "/c.h5"));
  assert_non_null(strstr(cf_pipeline_settings(p), "\"write.l2\""));

  setenv("CF_TEST_CRASH_ON", "b.h5", 1); /* b's reader crashes: rejected */
  reports rs = {0};
  cf_run_options o = {.first = 1, .last = 3, .on_item = record_report, .user = &rs};
  cf_run_summary sum;
  assert_int_not_equal(cf_pipeline_run_items(ctx, p, &o, &sum), CF_OK);
  assert_int_equal(sum.items, 2);
  assert_int_equal(rs.n, 2);
  assert_int_equal(rs.index[0], 1);
  assert_int_equal(rs.status[0], CF_ITEM_REJECTED);
  assert_int_equal(rs.noutputs[0], 0);
  /* cmocka catches SIGSEGV in this process (and so in the child): the
   * reason names the stage rather than the signal */
  assert_non_null(strstr(rs.reason[0], "in stage ingest.lidar_l0"));
  assert_int_equal(rs.index[1], 2);
  assert_int_equal(rs.status[1], CF_ITEM_DONE);
  assert_int_equal(rs.noutputs[1], 1);
  assert_string_equal(rs.reason[1], "");
  cf_run_summary_free(&sum);

  /* the selection: everything but c, from the start */
  unsetenv("CF_TEST_CRASH_ON");
  memset(&rs, 0, sizeof rs);
  o = (cf_run_options){.select = all_but_c, .on_item = record_report, .user = &rs};
  assert_int_equal(cf_pipeline_run_items(ctx, p, &o, &sum), CF_OK);
  assert_int_equal(sum.items, 2);
  assert_int_equal(rs.n, 2);
  assert_int_equal(rs.index[0], 0);
  assert_int_equal(rs.index[1], 1);
  assert_int_equal(rs.status[0], CF_ITEM_DONE);
  assert_int_equal(rs.status[1], CF_ITEM_DONE);
  cf_run_summary_free(&sum);
  cf_pipeline_free(p);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(hdf5_crash_costs_one_input, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(netcdf_crash_costs_one_scan, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(crash_in_a_writer_leaves_no_part_file, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(openmp_team_in_the_parent, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(items_range_selection_and_reports, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
