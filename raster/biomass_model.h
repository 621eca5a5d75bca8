/*
 * Above-ground biomass (AGB) models fitted on training points, and their
 * per-pixel map.
 *
 * Training points are plots (AGB from allometry) or GEDI footprints; the
 * features are whatever the caller samples at them: canopy height and its
 * percentiles (CHM, GEDI rh), spectral indices. Two kinds of model:
 *
 *  A. log-log power law:  ln y = b0 + sum_j b_j ln x_j + e,  e ~ N(0, s^2).
 *     The fit is unbiased for ln y, but exp(E[ln y]) is the MEDIAN of y, not
 *     its mean: for lognormal errors E[y] = exp(mu + s^2/2). The mean is
 *     therefore predicted as exp(b0 + sum b_j ln x_j) * exp(s^2/2), the
 *     correction of Baskerville (1972, Can. J. For. Res. 2:49-53), s^2 the residual
 *     variance of the log fit. Needs y > 0 and every x > 0.
 *  B. multiple linear regression:  y = b0 + sum_j b_j x_j + e.
 *
 * Both are ordinary least squares on the design matrix X = [1 x_1 .. x_p]
 * (logs for A), solved by the QR factorisation X = QR (LAPACKE_dgels):
 * better conditioned than the normal equations (the condition number is
 * that of X, not its square). R is kept: (X^T X)^-1 = R^-1 R^-T, so the
 * leverage of a new point x0, h0 = x0^T (X^T X)^-1 x0 = |R^-T x0|^2, is one
 * triangular solve of size p+1 (no allocation, no matrix inverse).
 *
 * Uncertainty of a prediction at x0 (s the residual SD, df = n - p - 1):
 *  kind B:  se_mean = s sqrt(h0)          (the fitted mean line)
 *           se_pred = s sqrt(1 + h0)      (a new observation at x0)
 *  kind A:  on the log scale the same two quantities; on the original
 *     scale we use LOGNORMAL MOMENTS for the residual part and the DELTA
 *     METHOD for the parameter part, with yhat = exp(mu0 + s^2/2):
 *           se_mean = yhat s sqrt(h0)
 *           se_pred = yhat sqrt(exp(s^2) - 1 + s^2 h0)
 *     Why: a new y0 = exp(mu0 + e) has variance exp(2 mu0 + s^2)(exp(s^2)-1)
 *     = yhat^2 (exp(s^2) - 1) exactly (lognormal); the delta method applied
 *     to it would give yhat^2 s^2, a variance 10 % too small at s = 0.45
 *     and more beyond, and typical biomass fits have s = 0.3..0.6. The
 *     estimation error of mu0 is small (its variance s^2 h0 is O(1/n)), so
 *     the first-order delta method is accurate for it and keeps one closed
 *     form. Note se_pred is a standard deviation of a skewed distribution:
 *     yhat +- 1.645 se_pred is not a 90 % interval for kind A (the back-
 *     transformed log-scale interval median * exp(+-z se_log) is).
 *
 * Plan / execute (as FFTW): cf_biomass_fit does the costly part once and
 * fills a caller-owned cf_biomass_model (fixed-size, no heap); prediction
 * reads it only, allocates nothing and is thread-safe, so the map node
 * calls it from every OpenMP worker.
 *
 * Cross-validation: k folds assigned by a seeded random permutation
 * (core/rng.h, stream 0 of `seed`): the labels 0..k-1, repeated to length
 * n, are shuffled (Fisher-Yates), so fold sizes differ by at most one and
 * the assignment depends on (n, k, seed) only. Each fold is predicted by a model fitted on the others;
 * RMSE, R^2 = 1 - SS_res/SS_tot and mean bias (prediction - observation)
 * are on the original scale (kind A: the bias-corrected mean). With k = n
 * this is leave-one-out, whose kind-B RMSE is sqrt(PRESS/n).
 */
#ifndef CF_RASTER_BIOMASS_MODEL_H
#define CF_RASTER_BIOMASS_MODEL_H

#include <stdint.h>

#include "raster/raster.h"

#define CF_BIOMASS_MAX_FEATURES 16
#define CF_BIOMASS_MAX_COEF (CF_BIOMASS_MAX_FEATURES + 1)

typedef enum { CF_BIOMASS_LOGLOG = 0, CF_BIOMASS_LINEAR = 1 } cf_biomass_kind;

typedef struct {
  cf_biomass_kind kind;
  int p;                              /* features */
  int n;                              /* training points */
  int df;                             /* n - p - 1 */
  double coef[CF_BIOMASS_MAX_COEF];   /* b0, b1 .. bp (log scale for kind A) */
  double coef_se[CF_BIOMASS_MAX_COEF];/* s sqrt(((X^T X)^-1)_jj) */
  double s;                           /* residual SD, sqrt(RSS / df) (log scale for A) */
  double r2;                          /* in-sample R^2 on the fitted scale */
  /* R of X = QR, upper triangle, column-major (p+1) x (p+1), leading dim
   * CF_BIOMASS_MAX_COEF */
  double R[CF_BIOMASS_MAX_COEF * CF_BIOMASS_MAX_COEF];
} cf_biomass_model;

/* Fit on n points: x[i*p + j] is feature j of point i, y[i] the AGB. Needs
 * n > p + 1 (at least one residual degree of freedom), finite values,
 * non-collinear features, and for kind A y > 0 and x > 0. */
int cf_biomass_fit(cf_ctx *ctx, cf_biomass_kind kind, int n, int p, const double *x, const double *y,
                   cf_biomass_model *m);

typedef struct {
  double value;   /* predicted mean AGB (kind A: bias-corrected) */
  double se_pred; /* standard error for a new observation at x0 */
  double se_mean; /* standard error of the mean prediction */
  double median;  /* kind A: exp(mu0), the naive back-transform; kind B: value */
  double se_log;  /* kind A: s sqrt(1 + h0) on the log scale, so that
                   * median * exp(+-z se_log) is a prediction interval; kind B: NaN */
  double h0;      /* leverage x0^T (X^T X)^-1 x0 */
} cf_biomass_pred;

/* Predict at one feature vector x0[p]. Pure and thread-safe, no allocation
 * and no context (workers may not touch one, as cf_index_pixel). Returns 0,
 * or -1 where x0 is outside the model's domain (non-finite; x <= 0 for
 * kind A): out is then NaN. */
int cf_biomass_predict(const cf_biomass_model *m, const double *x0, cf_biomass_pred *out);

typedef struct {
  int n, k;
  double rmse, r2, bias; /* original scale */
} cf_biomass_cv;

/* k-fold cross-validation (2 <= k <= n), folds seeded by `seed`. Every
 * training set must keep more than p + 1 points. pred (optional, n) gets
 * each point's out-of-fold prediction. */
int cf_biomass_cv_run(cf_ctx *ctx, cf_biomass_kind kind, int n, int p, const double *x, const double *y, int k,
                      uint64_t seed, cf_biomass_cv *out, double *pred);

/* The fold of each point (fold[n], 0..k-1), as cf_biomass_cv_run uses it. */
void cf_biomass_folds(int n, int k, uint64_t seed, int *fold);

/* Per-pixel map: a lazy node of 2 bands, "agb" (cf_biomass_pred.value) and
 * "agb_se" (se_pred), from p = m->p feature rasters: feature j is band
 * bands[j] (0-based) of features[j]; one raster may be given more than
 * once. All inputs must share the grid (size, geotransform, CRS): warp
 * upstream. A pixel is invalid where any feature is invalid or outside the
 * model's domain. The model is copied. */
cf_raster *cf_biomass_map_create(cf_ctx *ctx, const cf_biomass_model *m, cf_raster *const *features,
                                 const int *bands);

#endif
