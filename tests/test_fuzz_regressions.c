/*
 * What the fuzzers found, kept found (README, "Fuzzing").
 *
 * Every input that crashed a harness is kept in fuzz/regressions/NAME/ and
 * replayed here through the same harness function, built without
 * libFuzzer: in the normal build a crash that came back kills this suite
 * (SIGSEGV), in the sanitizer build ASan or UBSan stops it. Each crash
 * also has a test of its own that says what the reader must answer
 * instead: the error, at the position or field a user needs. The
 * committed seeds of fuzz/corpus/NAME/ are replayed too (the harnesses
 * must work in every build, not only in the fuzzing one), and the L0
 * writer's valid files must be accepted by the reader, or the L0
 * harness would only ever test rejections.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/l0_builder.h"
#include "ingest/lidar_l0.h"

typedef int (*harness_fn)(const uint8_t *data, size_t size);

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
  assert_non_null(buf);
  *n = len > 0 ? fread(buf, 1, (size_t)len, f) : 0;
  fclose(f);
  return buf;
}

/* Every file of CF_FUZZ_DIR/sub through h; the number of files. */
static int replay_dir(const char *sub, harness_fn h) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", CF_FUZZ_DIR, sub);
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t len;
    uint8_t *data = read_all(cf_test_path(dir, e->d_name), &len);
    h(data, len);
    free(data);
    n++;
  }
  closedir(d);
  return n;
}

static const struct {
  const char *name;
  harness_fn fn;
} HARNESSES[] = {{"pipeline", cf_fuzz_pipeline},
                 {"l0", cf_fuzz_l0},
                 {"inventory", cf_fuzz_inventory},
                 {"flux_sources", cf_fuzz_flux_sources}};
enum { NHARNESS = sizeof HARNESSES / sizeof *HARNESSES };

static void every_seed_replays(void **state) {
  (void)state;
  char sub[64];
  for (int i = 0; i < NHARNESS; i++) {
    snprintf(sub, sizeof sub, "corpus/%s", HARNESSES[i].name);
    /* the README promises a few seeds per harness */
    assert_true(replay_dir(sub, HARNESSES[i].fn) >= 4);
  }
}

static void every_regression_replays(void **state) {
  (void)state;
  char sub[64];
  int total = 0;
  for (int i = 0; i < NHARNESS; i++) {
    snprintf(sub, sizeof sub, "regressions/%s", HARNESSES[i].name);
    total += replay_dir(sub, HARNESSES[i].fn);
  }
  assert_true(total >= 1);
}

/* --- what each crash must give instead ------------------------------------------- */

static char *read_text(const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", CF_FUZZ_DIR, rel);
  size_t n;
  uint8_t *d = read_all(path, &n);
  char *s = malloc(n + 1);
  assert_non_null(s);
  memcpy(s, d, n);
  s[n] = '\0';
  free(d);
  return s;
}

static void expect_message(cf_ctx *ctx, const char *part) {
  const char *m = cf_error_message(ctx);
  if (!strstr(m, part)) {
    print_error("message '%s'\nlacks '%s'\n", m, part);
    fail();
  }
}

/* regressions/pipeline/stage-ref-list.yaml: a stage reference given as a
 * list (plots: [p]) was looked up as a name after its type error was
 * reported: strcmp on the list's NULL text, SIGSEGV (UBSan: null pointer
 * passed to strcmp, pipelines/pipeline.c validate_stage). The loader must
 * report the type at the list's position: line 6, column 12 (after the
 * four spaces and "plots: "), and go on to the next problem. */
static void stage_reference_given_as_a_list(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_test_write_text(cf_test_path(dir, "plots.csv"), "plot,stratum,area_ha\nP1,A,0.1\n");
  char *text = read_text("regressions/pipeline/stage-ref-list.yaml");
  cf_pipeline *p = NULL;
  assert_int_equal(cf_pipeline_load_string(ctx, "fuzz.yaml", text, dir, NULL, 0, &p), CF_EINVAL);
  assert_null(p);
  expect_message(ctx, "fuzz.yaml:6:12: option 'plots' of sink.allometry must be a stage name");
  /* the next option is still checked: strata names a plots stage */
  expect_message(ctx, "fuzz.yaml:7:13: option 'strata': stage 'p' gives a plots table, not a strata");
  free(text);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* The reader's answer to the L0 file regressions/l0/NAME writes (its
 * first error frame), with memory bound max_bytes. */
static void expect_l0_reject(const char *name, int64_t max_bytes, int code, const char *field, const char *reason) {
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *path = cf_test_path(dir, "l0.h5");
  char rel[256];
  snprintf(rel, sizeof rel, "%s/regressions/l0/%s", CF_FUZZ_DIR, name);
  size_t n;
  uint8_t *prog = read_all(rel, &n);
  assert_int_equal(cf_fuzz_l0_write(path, prog, n), 0);
  cf_l0 *l0 = NULL;
  assert_int_equal(cf_l0_open(ctx, path, max_bytes, &l0), code);
  assert_null(l0);
  const cf_error_frame *e = cf_error_get(ctx, 0);
  assert_non_null(e);
  if (strcmp(e->where, path) || strcmp(e->field, field) || !strstr(e->reason, reason)) {
    print_error("got '%s' / '%s' / '%s'\n", e->where, e->field, e->reason);
    fail();
  }
  free(prog);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* regressions/l0/meteo-2gib-vector (found by fuzz_l0 in its first minute):
 * meteo/time declared with 2^28 records (chunked, never written). The
 * reader's memory bound (max_bytes) covered the spectra but not the
 * vectors: it asked malloc for 2^28 x 8 bytes = 2 GiB for each of the
 * four meteorological vectors, ignoring the 16 MiB it was given (and an
 * extent of 2^61 would have wrapped n x 8 to 0). Now a file with more than
 * 10^8 records (the rays' limit) is refused as it says. */
static void meteo_extent_beyond_any_file(void **state) {
  (void)state;
  expect_l0_reject("meteo-2gib-vector", 16 << 20, CF_EDATA, "meteo/time", "268435456 records would not fit in memory");
}

/* regressions/l0/meteo-over-max-bytes (written by hand from the same
 * finding, for the bound itself): meteo/time with 2^18 records is 2^18 x 8
 * = 2 MiB as doubles, over a bound of 1 MiB = 1048576 bytes. */
static void meteo_vector_over_the_memory_bound(void **state) {
  (void)state;
  expect_l0_reject("meteo-over-max-bytes", 1 << 20, CF_EDATA, "meteo/time",
                   "262144 values would not fit in memory (more than 1048576 bytes)");
}

/* --- the L0 writer's valid files are valid --------------------------------------- */

/* An empty program writes the builder's default file (l0_builder.c,
 * read_plan): level spectra, 3 rays, 4 gates of 8 samples every 8, first
 * sample 8, FFT 16 (the power of two >= 2 x 8), 2 meteorological records;
 * a program of one odd byte writes level raw with 2 x 3 pulses a
 * wavelength and 2 background records each. */
static void valid_l0_programs_are_accepted(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *path = cf_test_path(dir, "l0.h5");
  const uint8_t raw = 1;
  for (int level = 0; level < 2; level++) {
    assert_int_equal(cf_fuzz_l0_write(path, &raw, level ? 1 : 0), 0);
    cf_l0 *l0 = NULL;
    int rc = cf_l0_open(ctx, path, 0, &l0);
    if (rc) print_error("%s\n", cf_error_message(ctx));
    assert_int_equal(rc, CF_OK);
    assert_int_equal(l0->cfg.level, level ? CF_L0_RAW : CF_L0_SPECTRA);
    assert_int_equal(l0->n_rays, 3);
    assert_int_equal(l0->cfg.n_gates, 4);
    assert_int_equal(l0->cfg.gate_samples, 8);
    assert_int_equal(l0->cfg.fft_size, 16);
    assert_int_equal(l0->meteo.n, 2);
    if (level) {
      assert_int_equal(l0->n_pulses[CF_ON], 6);
      assert_int_equal(l0->n_bg[CF_OFF], 2);
      /* gates 8 + 3 x 8 + 8 = 40 samples, exactly */
      assert_int_equal(l0->n_samples, 40);
    }
    cf_l0_close(l0);
  }
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_seed_replays),
      cmocka_unit_test(every_regression_replays),
      cmocka_unit_test(valid_l0_programs_are_accepted),
      cmocka_unit_test(stage_reference_given_as_a_list),
      cmocka_unit_test(meteo_extent_beyond_any_file),
      cmocka_unit_test(meteo_vector_over_the_memory_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
