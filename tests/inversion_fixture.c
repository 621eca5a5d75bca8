/*
 * What the inversion suites (test_inversion*.c) share: deterministic
 * Gaussian noise from our own generator (splitmix64 + Box-Muller), so that
 * every run sees the same numbers, and the feeding of a plan in blocks of
 * rows. Why shared: the dense-reference suite and the wide-state suite
 * draw their problems the same way.
 */
#include "inversion_fixture.h"

#include <math.h>

uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double uniform_open(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53; }
double gauss(uint64_t *s) {
  double u1 = uniform_open(s), u2 = uniform_open(s);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* Feed all m rows to the plan in blocks of `bs` rows. */
int feed(cf_ctx *ctx, cf_inv_plan *plan, int n, int m, const double *H, const double *y, const double *sig, int bs) {
  for (int k = 0; k < m; k += bs) {
    int mb = m - k < bs ? m - k : bs;
    int rc = cf_inv_accumulate(ctx, plan, H + (size_t)k * n, mb, y + k, sig + k);
    if (rc) return rc;
  }
  return CF_OK;
}
