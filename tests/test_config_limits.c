/*
 * Hostile configuration files, refused quickly where they cross a limit
 * (an alias bomb, too many aliases, deep nesting, huge lists and files),
 * and the simulator's bound on the size of what it would write. Why a
 * suite of its own: each case builds a large input and checks a limit of
 * the loader or the simulator, not the meaning of a valid option
 * (test_config).
 *
 * Positions are counted from the generated text (see each comment); the
 * bound of 5 s is generous for the sanitizer build (the loader needs
 * milliseconds). Before the limits, the alias bomb expanded 10^9 nodes, the
 * deep nesting was refused without a position, and the long list and the
 * 2 MB file were loaded whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_test.h"
#include "config_fixture.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Load `text`, expect CF_EINVAL within 5 s and an error at line:col (or,
 * with line 0, at the file itself) containing `reason`. */
static void expect_refused(fixture *f, const char *what, const char *text, int line, int col, const char *reason) {
  double t0 = now_s();
  int rc = load(f, text, NULL, 0);
  double dt = now_s() - t0;
  print_message("%s: refused in %.3f s: %s\n", what, dt, cf_error_message(f->ctx));
  assert_int_equal(rc, CF_EINVAL);
  assert_true(dt < 5.0);
  if (line) {
    expect_error_at(f, line, col, reason);
  } else {
    const cf_error_frame *e = cf_error_get(f->ctx, 0);
    assert_string_equal(e->where, f->yaml);
    assert_non_null(strstr(e->reason, reason));
  }
}

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hu = strlen(head), u = strlen(unit), tl = strlen(tail);
  char *s = malloc(hu + u * (size_t)n + tl + 1), *p = s;
  memcpy(p, head, hu), p += hu;
  for (int i = 0; i < n; i++) memcpy(p, unit, u), p += u;
  memcpy(p, tail, tl + 1);
  return s;
}

static void alias_bomb_is_refused(void **state) {
  fixture *f = *state;
  /* nine levels of ten aliases each ("billion laughs": 10^9 nodes). Nodes:
   * root 1, then per line a key and a list: line 1 has 1 + 1 + 11, lines
   * 2-4 lists of 111, 1111, 11111 nodes: 12349 after line 4. Line 5 adds
   * its key and list (12351) and 11111 per alias of *d, so its 8th alias
   * (column 8 + 7 * 4 = 36) crosses 100,000. */
  const char *y =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
      "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
      "pipeline: *i\n";
  expect_refused(f, "alias bomb", y, 5, 36, "more than 100000 YAML nodes");
}

static void too_many_aliases_are_refused(void **state) {
  fixture *f = *state;
  /* 101 aliases of one scalar: the 101st is at column 5 + 100 * 4 = 405 */
  char *y = repeat("a: &a x\nb: [", "*a, ", 101, "]\n");
  expect_refused(f, "101 aliases", y, 2, 405, "more than 100 aliases");
  free(y);
}

static void deep_nesting_is_refused(void **state) {
  fixture *f = *state;
  /* 200,000 nested lists: the root mapping is level 1 and the first '['
   * (column 11) level 2, so the 64th '[' (column 74) would be level 65 */
  char *open = repeat("pipeline: ", "[", 200000, ""), *y = repeat(open, "]", 200000, "\n");
  expect_refused(f, "200,000 nested lists", y, 1, 74, "nesting deeper than 64 levels");
  free(open);
  free(y);
}

static void huge_lists_and_files_are_refused(void **state) {
  fixture *f = *state;
  /* 200,000 stages in 600 kB: root, key and list are 3 nodes, so stage
   * 99,998 (column 12 + 99,997 * 3 = 300003) is node 100,001 */
  char *y = repeat("pipeline: [", "{},", 200000, "{}]\n");
  expect_refused(f, "200,000 empty stages", y, 1, 300003, "more than 100000 YAML nodes");
  free(y);
  /* 200,000 real stages need 4.6 MB: refused before parsing */
  y = repeat("pipeline:\n", "  - type: raster.index\n", 200000, "");
  expect_refused(f, "200,000 stages", y, 0, 0, "YAML files may have at most 1048576 bytes (1 MiB)");
  free(y);
  /* a file of exactly 1 MiB is fine as far as size goes (a comment) */
  const char *head = "pipeline:\n  - type: ingest.raster\n    path: in.tif\n  - type: write.cog\n    path: o.tif\n#";
  y = repeat(head, "x", (1 << 20) - (int)strlen(head) - 1, "\n");
  assert_int_equal(strlen(y), 1 << 20);
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  free(y);
}

/* The simulator refuses a file beyond CF_SIM_MAX_OUTPUT_GB, naming the
 * settings and the size; level=raw has its own background default (the
 * spectra level's 10,000,000 background pulses of raw samples were ~650 GB).
 * Sizes are recomputed here from the settings. */
static void simulator_output_size_is_bounded(void **state) {
  fixture *f = *state;
  cf_sim_config c;
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_OK); /* the defaults are fine */
  assert_int_equal(cf_sim_set(f->ctx, &c, "level=raw"), CF_OK);
  assert_int_equal(c.background_pulses, 2000);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_OK);
  const cf_l0_config *i = &c.instrument;
  double samples = i->gate_first + (double)(i->n_gates - 1) * i->gate_step + i->gate_samples;
  double rays = (double)c.n_scans * c.rays_per_scan;
  /* the old default background, given explicitly */
  cf_error_clear(f->ctx);
  assert_int_equal(cf_sim_set(f->ctx, &c, "background_pulses=10000000"), CF_OK);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_EINVAL);
  double gb = (rays * c.raw_pulses + 1e7) * samples * 4 / 1e9;
  char want[64];
  snprintf(want, sizeof want, "would write %.1f GB", gb);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  print_message("%s: %s\n", e->field, e->reason);
  assert_true(gb > 600);
  assert_string_equal(e->field, "background_pulses");
  assert_non_null(strstr(e->reason, want));
  /* an explicit background survives level=raw given after it */
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_set(f->ctx, &c, "background_pulses=40"), CF_OK);
  assert_int_equal(cf_sim_set(f->ctx, &c, "level=raw"), CF_OK);
  assert_int_equal(c.background_pulses, 40);
  /* the spectra level: rays x gates x bins x 8 bytes */
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_set(f->ctx, &c, "scans=100000"), CF_OK);
  cf_error_clear(f->ctx);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_EINVAL);
  gb = ((double)c.n_scans * c.rays_per_scan + 1) * c.instrument.n_gates * (c.instrument.fft_size / 2 + 1) * 8 / 1e9;
  snprintf(want, sizeof want, "would write %.1f GB", gb);
  e = cf_error_get(f->ctx, 0);
  print_message("%s: %s\n", e->field, e->reason);
  assert_non_null(strstr(e->reason, want));
  assert_non_null(strstr(e->reason, "scans=100000"));
  /* and the library call refuses it too, before writing anything */
  char l0[1100];
  snprintf(l0, sizeof l0, "%s/big.h5", f->dir);
  cf_error_clear(f->ctx);
  assert_int_equal(cf_simulate_lidar(f->ctx, &c, l0, NULL), CF_EINVAL);
  assert_int_equal(cf_test_count_entries(f->dir, "big"), 0);
}
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(alias_bomb_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(simulator_output_size_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(too_many_aliases_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(deep_nesting_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(huge_lists_and_files_are_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
