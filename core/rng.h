/*
 * Deterministic random numbers for simulators and tests.
 *
 * Results must not depend on the thread count, so randomness is never
 * drawn from a shared generator: each unit of work (a ray, a gate, a pulse)
 * seeds its own stream from (seed, stream id). The generator is
 * xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64 as its
 * authors recommend; Gamma variates use Marsaglia & Tsang (2000), which is
 * exact for any shape, so a sum of N exponential draws (an accumulated
 * speckle spectrum bin) costs one Gamma(N) draw instead of N.
 */
#ifndef CF_CORE_RNG_H
#define CF_CORE_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
  double spare;  /* second normal of the last polar pair */
  int has_spare;
} cf_rng;

/* Independent stream `stream` of run `seed`. */
void cf_rng_seed(cf_rng *r, uint64_t seed, uint64_t stream);
uint64_t cf_rng_next(cf_rng *r);
/* Uniform on the open interval (0, 1). */
double cf_rng_uniform(cf_rng *r);
/* Standard normal (Marsaglia's polar method; pairs, the second kept for
 * the next call: the sequence depends only on the seed and stream). */
double cf_rng_normal(cf_rng *r);
/* Exponential with mean 1. */
double cf_rng_exponential(cf_rng *r);
/* Gamma(shape, 1), shape > 0. */
double cf_rng_gamma(cf_rng *r, double shape);

#endif
