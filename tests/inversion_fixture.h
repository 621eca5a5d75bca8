/*
 * What the inversion suites (test_inversion*.c) share: deterministic
 * Gaussian noise (splitmix64 + Box-Muller; the same numbers every run) and
 * feeding a plan its rows in blocks.
 */
#ifndef CF_TESTS_INVERSION_FIXTURE_H
#define CF_TESTS_INVERSION_FIXTURE_H

#include <stdint.h>

#include "lidar/flux/inversion.h"

/* The next 64 random bits of the stream whose state is *s. */
uint64_t splitmix64(uint64_t *s);
/* Uniform on the open interval (0, 1). */
double uniform_open(uint64_t *s);
/* Standard normal (Box-Muller). */
double gauss(uint64_t *s);
/* Feed all m rows (H [m x n], y, sig) to the plan in blocks of `bs` rows. */
int feed(cf_ctx *ctx, cf_inv_plan *plan, int n, int m, const double *H, const double *y, const double *sig, int bs);

#endif
