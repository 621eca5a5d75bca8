/*
 * The uncertainty of a census-based stock from the mortality observed on
 * sample plots (VM0047 v1.1, census-based performance method).
 *
 * A census counts the planted trees; the share that died since, M, is
 * estimated from n sampled trees. Each sampled tree dies or survives, so M
 * is a binomial proportion with standard error sqrt(M (1 - M) / (n - 1))
 * (the unbiased form, n - 1 as in a sample variance). The stock scales
 * with the survivors, 1 - M, so its relative half-width at the two-sided
 * 90 % level is
 *     U_M = T(n - 1) x sqrt(M (1 - M) / (n - 1)) / (1 - M)
 *         = T(n - 1) x sqrt(M / ((1 - M)(n - 1)))
 * with T(n - 1) Student's t at 0.95 (one-sided), df = n - 1.
 * Check: M = 0.20, n = 50: sqrt(0.16/49) = 0.057143, / 0.80 = 0.071429,
 * x T(49) = 1.6766 gives 0.11976 (1.67655 unrounded: 0.119754), the
 * figure VM0047 users quote as 0.11975. The formula is derived here from
 * that figure and the binomial model; the document's equation number
 * could not be confirmed.
 */
#ifndef CF_SINK_ISSUANCE_MORTALITY_H
#define CF_SINK_ISSUANCE_MORTALITY_H

#include "carbonflux/ctx.h"

/* U_M (a fraction) and the t value used; CF_EINVAL for M outside [0, 1)
 * or n < 2. */
int cf_census_mortality_uncertainty(cf_ctx *ctx, double m, int n, double *u_m, double *t_value);

#endif
