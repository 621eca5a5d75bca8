/*
 * Quantiles of the Gamma(a, 1) distribution at a standard normal score,
 * tabulated: x(z) with P(a, x) = Phi(z).
 *
 * Why. An accumulated periodogram bin of N pulses is theta times a
 * Gamma(N, 1) variate, exactly (a sum of N exponentials). Bins of one gate
 * are correlated (bin_covariance.h). The simulator couples them through a
 * Gaussian copula: it draws a correlated standard normal vector z and
 * maps each z_k through this quantile, so every bin keeps its exact Gamma
 * marginal while the bins carry the digitiser's correlation.
 *
 * How. The regularised incomplete gamma functions P and Q = 1 - P are
 * computed by their power series or continued fraction (DLMF 8.7.1,
 * 8.9.2) for a < 50 and by Temme's uniform asymptotic expansion (DLMF
 * 8.12.3-8.12.9, two terms, error O(a^-5/2)) above; the quantile is found
 * by Newton's method on ln P (z < 0) or ln Q (z >= 0), so neither tail
 * loses precision to cancellation. Accuracy: P to ~3e-8 just above the
 * switch (a = 50, the truncated expansion), better for larger a. Building
 * a table costs 1155 such solves; a lookup is one cubic interpolation.
 */
#ifndef CF_LIDAR_GAMMA_QUANTILE_H
#define CF_LIDAR_GAMMA_QUANTILE_H

#include "carbonflux/ctx.h"

/* Regularised lower and upper incomplete gamma functions, a > 0, x >= 0. */
double cf_gamma_p(double a, double x);
double cf_gamma_q(double a, double x);

/* x with P(a, x) = Phi(z), by Newton's method (no table). */
double cf_gamma_quantile_z(double a, double z);

typedef struct {
  double a;
  int n;          /* table points */
  double z0, dz;  /* z of point 1; point 0 is a guard */
  double *x;      /* quantiles divided by a */
} cf_gamma_qtable;

/* Table on z in [-CF_GAMMA_QZ_MAX, CF_GAMMA_QZ_MAX], 64 points per unit.
 * Cubic interpolation errs by < 1e-9 relative for a >= 1000 (the pulse
 * counts of rays and background records), ~5e-6 at a = 2 and 5e-5 at
 * a = 1 in the far lower tail, where the quantile varies steeply. */
#define CF_GAMMA_QZ_MAX 9.0
int cf_gamma_qtable_init(cf_ctx *ctx, cf_gamma_qtable *t, double a);
void cf_gamma_qtable_free(cf_gamma_qtable *t);
/* Quantile at z (clamped to the table's range: P(|z| > 9) = 2e-19). */
double cf_gamma_qtable_at(const cf_gamma_qtable *t, double z);

#endif
