/*
 * Student's t distribution: CDF, upper tail and quantile for real df >= 1,
 * and the two-sided critical value the stratified estimator needs.
 *
 * Why. AR-TOOL14 states the uncertainty of a stratified mean as the half-
 * width of its two-sided confidence interval, t x SE, with t taken from
 * Student's distribution at df = plots - strata (usually 90 %). Projects
 * have a handful of plots per stratum, so df is small (5 to 50) and the
 * normal 1.645 would understate the interval by up to 23 % (df = 5: 2.015).
 *
 * How. For t >= 0 the upper tail is
 *     Q(t | df) = I_x(df/2, 1/2) / 2,   x = df / (df + t^2)
 * (Abramowitz & Stegun ch. 26: Student's t through the incomplete beta
 * function), I the regularised incomplete beta function. I_x(a, b) is
 * evaluated by its continued fraction (DLMF 8.17.22-8.17.24) with the
 * modified Lentz method, directly when x < (a+1)/(a+b+2)
 * and through I_x(a,b) = 1 - I_{1-x}(b,a) otherwise, where the fraction
 * converges fast; 1 - x = t^2/(df + t^2) is formed directly, never as a
 * difference, so small t loses nothing. The prefactor x^a (1-x)^b / B(a,b)
 * needs ln B(a, 1/2) for large a, where lgamma(a) - lgamma(a + 1/2)
 * cancels: above a = 20 it uses the asymptotic series of
 * ln Gamma(a + 1/2) - ln Gamma(a) (from DLMF 5.11.13; at a = 20 and 40 it
 * agrees with the lgamma difference to 5e-15, the latter's own error).
 *
 * The quantile solves Q(t) = 1 - p for p > 1/2 (the tail, so p near 1
 * keeps its digits) by Newton's method on the density, safeguarded by
 * bisection inside a bracket that is grown by doubling; p < 1/2 follows by
 * symmetry. Accuracy, promised 1e-10, checked: the closed forms for df = 1,
 * 2 (CDF and quantile) and 4 (quantile) to 1e-12 relative (tests), and the
 * CDF against Gauss-Legendre integration of the density for df = 1.3 ...
 * 5000 to 1e-12 absolute (done once while writing this, in Python); the
 * quantile iteration stops at a relative step of 1e-15 in t.
 */
#ifndef CF_SINK_STUDENT_T_H
#define CF_SINK_STUDENT_T_H

#include "carbonflux/ctx.h"

/* Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1; NaN
 * outside the domain. */
double cf_beta_inc(double a, double b, double x);

/* P(T <= t) and P(T > t) for T ~ Student t with df >= 1 (real); NaN if df
 * is not finite and >= 1 or t is NaN. */
double cf_student_t_cdf(double t, double df);
double cf_student_t_sf(double t, double df);

/* t with P(T <= t) = p, 0 < p < 1; NaN outside (0, 1) or for a bad df. */
double cf_student_t_quantile(double p, double df);

/* Two-sided critical value t_{(1+c)/2, df} for confidence c in (0, 1),
 * e.g. c = 0.90, df = 12 gives 1.7823. CF_EINVAL naming the bad argument. */
int cf_student_t_critical(cf_ctx *ctx, double confidence, double df, double *t);

#endif
