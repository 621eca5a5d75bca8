/*
 * Accumulated gate spectra as a digitiser makes them, drawn without
 * simulating pulses.
 *
 * A bin of a spectrum accumulated over N pulses is theta_k G_k with G_k
 * ~ Gamma(N, 1) (a sum of N exponentials) and theta_k its per-pulse mean.
 * Within a gate the bins are correlated by the window and zero padding
 * (bin_covariance.h): Corr(S_j, S_k) = |E[X_j X_k^*]|^2 / (theta_j theta_k).
 * Drawing N pulses per ray would cost N FFTs per gate (that is the raw
 * level); instead the bins are coupled through a Gaussian copula: a
 * standard normal vector z with exactly that correlation is drawn, and
 * each z_k is mapped through the Gamma(N) quantile (gamma_quantile.h), so
 * every marginal is the exact Gamma and the bins carry the true
 * correlation (to O(1/N) in the Pearson sense, since Gamma(N) is close to
 * normal for the thousands of pulses of a ray).
 *
 * z is built in two parts whose covariances add to the target:
 *  - the noise part over the whole spectrum: a stationary Gaussian field
 *    with correlation |gamma(D)|^2, drawn by one complex FFT of M points
 *    (white noise shaped by the square root of the autocorrelation of
 *    w^2), times the noise level n_k;
 *  - near the return (bins within `half` of its frequency): a Gaussian of
 *    covariance |Gamma_jk|^2 - |Gamma^noise_jk|^2, which is the covariance
 *    of |X^s|^2 + 2 Re(X^s conj X^n) and so positive semi-definite, drawn
 *    with a Cholesky factor.
 * Receiver noise is taken as locally white across a window's resolution
 * (its correlation |gamma|^2): the filter response the simulator gives it
 * varies over tens of bins, against the 1-5 bins of a resolution cell.
 *
 * With `independent` the bins are drawn independently (the old model, and
 * what bins_correlated=no in processing assumes).
 */
#ifndef CF_LIDAR_SIM_SPECTRA_H
#define CF_LIDAR_SIM_SPECTRA_H

#include <fftw3.h>
#include <stdint.h>

#include "core/rng.h"
#include "lidar/bin_covariance.h"
#include "lidar/gamma_quantile.h"

typedef struct {
  const cf_response *resp;
  int independent;
  cf_bincov cov;         /* signal and noise cross terms near a return */
  double *noise_amp;     /* sqrt of the folded autocorrelation of w^2, M values */
  fftw_plan plan;        /* M-point complex forward FFT (planned once, executed per thread) */
  cf_gamma_qtable qt[2]; /* quantile tables for up to two pulse counts (rays, background) */
} cf_sim_spectra;

/* Per-thread scratch. */
typedef struct {
  fftw_complex *in, *out; /* M each */
  double *z, *blk;        /* nbins; block matrix (2 half + 1)^2 */
  double *eps, *sd;       /* 2 half + 1 each */
  int *piv;               /* 2 half + 1: the block's pivot order (1-based, LAPACK's) */
  double *lwork;          /* 4 half + 2: LAPACK's workspace for the pivoted Cholesky */
  double *nvec;           /* nbins: for the caller's per-gate noise spectrum */
} cf_sim_spectra_work;

/* Set up for the pulse counts `n_ray` and `n_bg` (the only two a file has). */
int cf_sim_spectra_init(cf_ctx *ctx, cf_sim_spectra *s, const cf_response *resp, int independent, int32_t n_ray,
                        int32_t n_bg);
void cf_sim_spectra_free(cf_sim_spectra *s);
int cf_sim_spectra_work_alloc(cf_sim_spectra_work *w, const cf_sim_spectra *s);
void cf_sim_spectra_work_free(cf_sim_spectra_work *w);

/* One gate: out[k] = accumulated spectrum over `pulses` pulses (one of
 * the two counts given at init) of per-pulse noise noise[k] plus a return
 * of per-pulse variance a2 at b cycles/sample (a2 = 0: noise only). */
void cf_sim_spectra_gate(const cf_sim_spectra *s, cf_sim_spectra_work *w, cf_rng *rng, int32_t pulses,
                         const double *noise, double a2, double b, float *out);

#endif
