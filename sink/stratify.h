/*
 * The stratified estimator of AR-TOOL14 (CDM A/R methodological tool
 * "Estimation of carbon stocks and change in carbon stocks of trees and
 * shrubs in A/R CDM project activities", v4.2): mean tree biomass per
 * hectare of a project from plots in strata, with its standard error and
 * the relative half-width of its confidence interval.
 *
 * Stratum h has area A_h, n_h plots with values b_hp (t d.m./ha):
 *     mean_h = sum_p b_hp / n_h
 *     s_h^2  = sum_p (b_hp - mean_h)^2 / (n_h - 1)        (sample variance)
 *     SE_h   = s_h / sqrt(n_h)
 * With w_h = A_h / A, A = sum_h A_h, the project mean and its standard
 * error are
 *     mean   = sum_h w_h mean_h
 *     SE     = sqrt(sum_h w_h^2 s_h^2 / n_h)
 * and the uncertainty is the half-width of the two-sided `confidence`
 * interval (AR-TOOL14 uses 90 %) as a percentage of the mean:
 *     half-width = t_{(1+c)/2, df} x SE,   df = n_plots - n_strata,
 *     U%         = half-width / mean x 100.
 * These are the tool's equations for stratified random sampling, section
 * 8.1.1, eqs. (14)-(17) (stratum mean, sample variance, weighted mean and
 * u_C = t_VAL sqrt(sum w^2 s^2 / n) / b); there is no finite-population
 * correction in the tool (plots cover a negligible share of a stratum).
 * df = n - M (plots minus strata) is the tool's choice, not Satterthwaite's
 * effective df. The tool writes s^2 in the one-pass form [n sum b^2 -
 * (sum b)^2] / [n (n - 1)]; the two-pass form used here is the same number
 * without the cancellation. The tool's worked example (its definition of
 * uncertainty): mean 45.328 t d.m./ha, n = 34, s = 12.776, t(0.1, 33) =
 * 1.692, U = 8.18 %.
 *
 * Every stratum needs two plots (one gives no variance); an empty stratum
 * is an error, not a silent zero weight, because its area would then carry
 * no estimate. Means and variances are computed in two passes, in plot
 * order, so results are bitwise reproducible. Nothing is allocated: the
 * caller owns the per-stratum output array.
 */
#ifndef CF_SINK_STRATIFY_H
#define CF_SINK_STRATIFY_H

#include "carbonflux/ctx.h"

typedef struct {
  const char *name; /* the caller's name (not copied), or NULL */
  int n;            /* plots */
  double area_ha;
  double weight;    /* A_h / A */
  double mean;      /* t d.m./ha (the unit of the input values) */
  double sd;        /* sample standard deviation, n - 1 in the denominator */
  double se;        /* sd / sqrt(n) */
} cf_stratum_estimate;

typedef struct {
  int n_plots, n_strata, df;
  double area_ha;
  double confidence;
  double mean;            /* area-weighted */
  double se;
  double t_value;         /* t_{(1+c)/2, df} */
  double half_width;      /* t x SE, in the unit of the mean */
  double uncertainty_pct; /* half_width / mean x 100; NaN if mean <= 0 */
} cf_stratified_estimate;

/* values[i] is plot i's value, stratum[i] its stratum index in
 * [0, n_strata); area_ha[h] and names[h] (names may be NULL: strata are
 * then called "#h") describe stratum h. strata_out has n_strata slots.
 * Errors (CF_EINVAL, naming the plot or stratum): no plots or strata, a
 * non-finite value, an unknown stratum index, an area that is not finite
 * and > 0, a stratum with fewer than 2 plots, confidence outside (0, 1). */
int cf_stratified_estimate_compute(cf_ctx *ctx, int n_plots, const double *values,
                                   const int *stratum, int n_strata, const double *area_ha,
                                   const char *const *names, double confidence,
                                   cf_stratum_estimate *strata_out, cf_stratified_estimate *out);

#endif
