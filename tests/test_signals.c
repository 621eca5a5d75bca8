/*
 * Signals are honoured everywhere (issue 7, item 4).
 *
 * A scheduler's wall-time kill is a SIGTERM, a user's is a SIGINT: either
 * must stop the command within a second, cleanly. This suite starts the real
 * command (fork + exec, so it knows the PID) on work that lasts several
 * seconds, signals it at a few points, and asserts: the process exits within
 * the limit of the signal (clock_gettime), with exit code 2, says "cancel"
 * on stderr, and leaves neither its output nor a ".part-" file behind.
 *
 * The work: a legal pipeline file near the 1 MiB limit whose validation
 * takes seconds (19,000 stages); `simulate lidar` at level spectra; at level
 * raw during the pulses and during the background records; `lidar process`
 * of a long file. Sizes are chosen so that each phase lasts well beyond the
 * signal; a run that already finished when the signal came fails the test
 * (the work was too short to test anything).
 *
 * Under the sanitizer build everything is several times slower: the limit is
 * then 3 s (detected at compile time, or set CF_SIGNAL_LIMIT_S).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cf_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define CF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_SANITIZED 1
#endif
#endif
#ifndef CF_SANITIZED
#define CF_SANITIZED 0
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

static double limit_s(void) {
  const char *e = getenv("CF_SIGNAL_LIMIT_S");
  if (e && atof(e) > 0) return atof(e);
  return CF_SANITIZED ? 3.0 : 1.0;
}

/* Each case has an input directory (files the command reads, its log) and
 * an output directory that must be empty after the cancelled run. */
typedef struct {
  char *in;
  char *out;
} dirs;

static int setup(void **state) {
  dirs *d = calloc(1, sizeof *d);
  assert_non_null(d);
  d->in = cf_test_tmpdir();
  d->out = cf_test_tmpdir();
  *state = d;
  return 0;
}

static int teardown(void **state) {
  dirs *d = *state;
  cf_test_rmtree(d->in);
  cf_test_rmtree(d->out);
  free(d->in);
  free(d->out);
  free(d);
  return 0;
}

/* Start CF_CLI with argv (NULL-terminated, without the program name),
 * stdout and stderr into `log`. */
static pid_t start(const char *const *argv, const char *log) {
  const char *args[64];
  int n = 0;
  args[n++] = CF_CLI;
  for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
  args[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(CF_CLI, (char *const *)args);
    _exit(127);
  }
  return pid;
}

/* Wait for pid up to `max_s`; returns the wait status, or kills it (SIGKILL)
 * and fails the test when it does not end. *took = seconds waited. */
static int wait_for(pid_t pid, double max_s, double *took) {
  double t0 = now_s();
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    assert_true(r == 0);
    if (now_s() - t0 > max_s) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("the command did not end %.1f s after the signal", max_s);
    }
    sleep_s(0.002);
  }
  *took = now_s() - t0;
  return st;
}

/* Has process `pid` installed a handler for `sig` (bit sig-1 of SigCgt in
 * /proc/PID/status)? Before that the program is still being loaded (the
 * dynamic linker mapping GDAL, HDF5 and the rest: about 0.2 s, longer under
 * a sanitizer on a busy machine), has opened nothing and written nothing,
 * and a signal ends it with the default action, losing nothing. The cases
 * below are about stopping work cleanly, so they signal no earlier than
 * the handler exists. */
static int catches(pid_t pid, int sig) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long long mask = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "SigCgt: %llx", &mask) == 1) break;
  fclose(f);
  return (mask >> (sig - 1)) & 1;
}

/* Run the command, send `sig` `at` seconds after the start, and check what
 * a clean cancellation must look like. `outputs` are the files that must not
 * exist afterwards (NULL-terminated, in d->out). Returns the seconds from
 * the signal to the exit. */
static double cancel_run_after(const dirs *d, const char *what, const char *const *argv, double at, int sig,
                               const char *const *outputs, const char *after) {
  char log[1200];
  snprintf(log, sizeof log, "%s/log.txt", d->in);
  double t0 = now_s();
  pid_t pid = start(argv, log);
  sleep_s(at - (now_s() - t0));
  while (!catches(pid, sig) && now_s() - t0 < at + 10) sleep_s(0.002);
  /* a phase of the work the signal must come in, shown by a log line: on a
   * busy machine the time alone may not be in it yet */
  while (after && !cf_test_file_contains(log, after) && now_s() - t0 < at + 60) sleep_s(0.01);
  int st = 0;
  if (waitpid(pid, &st, WNOHANG) == pid)
    fail_msg("%s: the command ended before the signal at %.1f s (exit %d): make the work longer", what, at,
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  assert_int_equal(kill(pid, sig), 0);
  double took;
  st = wait_for(pid, 20.0, &took);
  printf("# %s: %s at %.1f s, exit %.3f s later\n", what, sig == SIGINT ? "SIGINT" : "SIGTERM", at, took);
  fflush(stdout);
  if (!WIFEXITED(st)) fail_msg("%s: killed by signal %d instead of exiting", what, WTERMSIG(st));
  if (WEXITSTATUS(st) != 2) {
    fprintf(stderr, "%s: exit %d, log %s\n", what, WEXITSTATUS(st), log);
    assert_int_equal(WEXITSTATUS(st), 2);
  }
  assert_true(cf_test_file_contains(log, "cancel"));
  if (took > limit_s()) fail_msg("%s: %.3f s from the signal to the exit (limit %.1f s)", what, took, limit_s());
  for (int i = 0; outputs[i]; i++) assert_false(access(cf_test_path(d->out, outputs[i]), F_OK) == 0);
  assert_int_equal(cf_test_count_entries(d->out, ".part-"), 0);
  assert_int_equal(cf_test_count_entries(d->out, ""), 0); /* nothing at all */
  return took;
}

static double cancel_run(const dirs *d, const char *what, const char *const *argv, double at, int sig,
                         const char *const *outputs) {
  return cancel_run_after(d, what, argv, at, sig, outputs, NULL);
}

/* (a) A legal pipeline near the 1 MiB limit: 19,000 stages (each a mapping
 * of two keys: 5 of the 100,000 nodes), whose validation takes seconds. */
static void test_pipeline_validation(void **state) {
  const dirs *d = *state;
  cf_test_write_text(cf_test_path(d->in, "b.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}}]}\n");
  enum { N = 19000 };
  static const char stage[] = "  - type: ingest.vector\n    path: b.geojson\n";
  size_t len = 64 + N * (sizeof stage - 1);
  char *text = malloc(len + 1);
  assert_non_null(text);
  size_t k = (size_t)snprintf(text, len, "version: 1\npipeline:\n");
  for (int i = 0; i < N; i++) {
    memcpy(text + k, stage, sizeof stage - 1);
    k += sizeof stage - 1;
  }
  text[k] = '\0';
  assert_true(k < 1024 * 1024);
  char path[1200];
  snprintf(path, sizeof path, "%s/p.yaml", d->in);
  cf_test_write_text(path, text);
  free(text);
  /* the pipeline writes nothing: d->out must simply stay empty */
  const char *argv[] = {"-q", "run", path, "--check", NULL};
  const char *none[] = {NULL};
  cancel_run(d, "pipeline validation", argv, 0.5, SIGTERM, none);
  cancel_run(d, "pipeline validation", argv, 1.0, SIGINT, none);
}

/* `simulate lidar -o OUT/STEM.h5 SETTINGS...` (with `json`: JSON logs),
 * signalled with SIGTERM at each of `at` (0-terminated) */
static void cancel_simulate(const dirs *d, const char *what, const char *stem, int json,
                            const char *const *settings, const double *at, const char *after) {
  char out[1200], l0[64], truth[64];
  snprintf(out, sizeof out, "%s/%s.h5", d->out, stem);
  snprintf(l0, sizeof l0, "%s.h5", stem);
  snprintf(truth, sizeof truth, "%s_truth.nc", stem);
  const char *argv[32];
  int n = 0;
  if (json) argv[n++] = "--log-format", argv[n++] = "json";
  else argv[n++] = "-q";
  argv[n++] = "simulate", argv[n++] = "lidar", argv[n++] = "-o", argv[n++] = out;
  for (int i = 0; settings[i] && n < 31; i++) argv[n++] = settings[i];
  argv[n] = NULL;
  const char *outputs[] = {l0, truth, NULL};
  for (int i = 0; at[i] > 0; i++) cancel_run_after(d, what, argv, at[i], SIGTERM, outputs, after);
}

/* (b) simulate lidar at level spectra: 960 rays, several seconds */
static void test_simulate_spectra(void **state) {
  const char *settings[] = {"scans=40", "bins=independent", "background_pulses=1000", NULL};
  const double at[] = {0.5, 1.0, 2.0, 0};
  cancel_simulate(*state, "simulate spectra", "s", 0, settings, at, NULL);
}

/* (c) simulate lidar at level raw: in its pulses (16 rays of 200 pulses per
 * wavelength: one block of seconds), then in its background records (one
 * ray of 100 pulses, under a second, then 2 x 4000 records drawn in chunks
 * of 256, each a fraction of a second) */
static void test_simulate_raw_pulses(void **state) {
  const char *settings[] = {"level=raw", "scans=1", "rays_per_scan=16", "background_pulses=10", NULL};
  const double at[] = {1.0, 0};
  cancel_simulate(*state, "simulate raw pulses", "r", 0, settings, at, NULL);
}

static void test_simulate_raw_background(void **state) {
  const dirs *d = *state;
  const char *settings[] = {"level=raw", "scans=1", "rays_per_scan=1", "raw_pulses=100", "background_pulses=4000",
                            NULL};
  const double at[] = {1.5, 0};
  /* JSON logs: the signal is sent once the pulses' 100 % progress line is
   * out (and not before 1.5 s), so it comes in the background records */
  cancel_simulate(d, "simulate raw background", "r", 1, settings, at, "\"percent\":100");
  assert_true(cf_test_file_contains(cf_test_path(d->in, "log.txt"), "\"percent\":100"));
}

/* (d) lidar process of a long file (1800 rays, one thread, small blocks:
 * about 1.8 CPU s since gates below the CNR threshold are not fitted and
 * the spectra are inflated by libdeflate; 720 rays took under 1 s on a
 * quiet machine, and the signal at 1.0 s then came after the exit) */
static void test_lidar_process(void **state) {
  const dirs *d = *state;
  char in[1200], out[1200];
  snprintf(in, sizeof in, "%s/in.h5", d->in);
  snprintf(out, sizeof out, "%s/l2.nc", d->out);
  char args[4096];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s' scans=75 bins=independent background_pulses=1000", in);
  assert_int_equal(cf_test_cli(args, NULL), 0); /* the uncancelled run: a control */
  const char *argv[] = {"-q", "--threads", "1", "lidar", "process", in, "-o", out, "block_rays=8", NULL};
  const char *outputs[] = {"l2.nc", NULL};
  cancel_run(d, "lidar process", argv, 0.5, SIGTERM, outputs);
  cancel_run(d, "lidar process", argv, 1.0, SIGTERM, outputs);
}

/* (e) flux estimate of a small benchmark scene (4 sweeps of 45 rays, about
 * 13 s on 2 quiet cores): SIGTERM at 1 s (the class selection's solves)
 * and at 4 s (later passes); it checks every 256 rows of a pass, between
 * chunks of the inverse and in the active set (it had taken 15-37 s) */
static void test_flux_estimate(void **state) {
  const dirs *d = *state;
  char scene[1200], l2[1200], args[4096];
  snprintf(scene, sizeof scene, "%s/scene.geojson", d->in);
  snprintf(l2, sizeof l2, "%s/l2.nc", d->in);
  snprintf(args, sizeof args, "-q simulate flux --benchmark-scene '%s'", scene);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  snprintf(args, sizeof args, "-q simulate flux --sources '%s' -o '%s' scans=4 rays=45 gates=60", scene, l2);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  const char *argv[] = {"-q", "flux", "estimate", l2, "--sources", scene, "-o", d->out, NULL};
  const char *outputs[] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png", NULL};
  cancel_run(d, "flux estimate", argv, 1.0, SIGTERM, outputs);
  cancel_run(d, "flux estimate", argv, 4.0, SIGTERM, outputs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pipeline_validation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_simulate_spectra, setup, teardown),
      cmocka_unit_test_setup_teardown(test_simulate_raw_pulses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_simulate_raw_background, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lidar_process, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flux_estimate, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
