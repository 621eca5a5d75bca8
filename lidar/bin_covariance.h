/*
 * The covariance between the bins of a gate's periodogram.
 *
 * Why this exists. A gate of L samples is windowed and zero-padded to M
 * >= L points before its FFT (lidar-l0.md), so neighbouring bins of the
 * same pulse's periodogram see overlapping parts of the spectrum: they
 * are correlated, for any window, at either file level (the digitiser
 * does exactly this). A fit that treats the bins as independent reports
 * uncertainties too small by 15 to 40 % for velocity and more for the
 * powers the DIAL needs. The correlation is not a nuisance parameter to
 * estimate: it follows from the window, L, M and the pulse shape, all in
 * the L0 header.
 *
 * The algebra. With X_k = sum_n w_n x_n e^{-2 pi i k n / M} and x a
 * zero-mean real Gaussian process of autocovariance R(d), the periodogram
 * P_k = |X_k|^2 has
 *
 *   Cov(P_j, P_k) = |E[X_j X_k^*]|^2 + |E[X_j X_k]|^2.
 *
 * The second term pairs bin j with the mirror image of bin k; it matters
 * only within a window's width of DC or Nyquist, where no Doppler peak is
 * searched (the band sits around the AOM frequency), and is dropped.
 * Summing N independent pulses divides the covariance by N.
 *
 * For the return of a Gaussian pulse (response.h: R(d) = A^2 rho(d)
 * cos(2 pi b d), b = f/fs in cycles per sample), keeping the part at +b,
 *
 *   E[X_j X_k^*] = A^2/2 Q(j/M - b, j - k),
 *   Q(x, D) = sum_d rho(d) e^{-2 pi i x d} G(d, D),
 *   G(d, D) = sum_m w_{m+d} w_m e^{-2 pi i D m / M},
 *
 * and Q(x, 0) = K(x) of response.h. Receiver noise is smooth across a
 * window's resolution, so with n_k = E|X_k|^2 its part is, to first order
 * in the spectral slope (exactly for white noise),
 *
 *   E[X_j X_k^*] = sqrt(n_j n_k) gamma(j - k),  gamma(D) = G(0, D) / G(0, 0).
 *
 * Both parts carry the same phase convention, so they add before the
 * modulus is taken: a return and the noise under it are correlated bin
 * to bin differently from either alone.
 *
 * The Doppler fit (doppler.c) uses this to give its estimates the
 * sandwich covariance; the simulator (simulate.c) uses it to draw
 * accumulated spectra whose bins are correlated as a digitiser's are.
 * Q is tabulated once per file for x within `half` + 2 bins of a peak and
 * |j - k| <= 2 half, and interpolated (cubic) in x.
 */
#ifndef CF_LIDAR_BIN_COVARIANCE_H
#define CF_LIDAR_BIN_COVARIANCE_H

#include "lidar/response.h"

typedef struct {
  int M;
  int half;            /* bins each side of a peak covered */
  int dmax;            /* largest |j - k| covered: 2 half */
  int nx;              /* table points in x, one guard point at each end */
  double x0, dx;       /* x of point 1 (point 0 is the guard), step; cycles/sample */
  double *q_re, *q_im; /* Q(x, D) for D = -dmax..dmax: [(D + dmax) * nx + i] */
  double *g_re, *g_im; /* gamma(D), D = -dmax..dmax */
} cf_bincov;

/* Tabulate for peaks fitted over `half` bins each side. */
int cf_bincov_init(cf_ctx *ctx, cf_bincov *c, const cf_response *r, int half);
void cf_bincov_free(cf_bincov *c);

/* E[X_j X_k^*] of a unit-variance return at b cycles/sample (the part at
 * +b). j and k must lie within `half` + 1 bins of b M; *re = *im = 0
 * outside. */
void cf_bincov_signal(const cf_bincov *c, int j, int k, double b, double *re, double *im);
/* The same for k = k0 .. k0+n-1 into re[n], im[n]: one interpolation
 * position serves the whole row (x depends on j only). */
void cf_bincov_signal_row(const cf_bincov *c, int j, int k0, int n, double b, double *re, double *im);

/* gamma(D) for |D| <= dmax (0 beyond). */
static inline void cf_bincov_noise(const cf_bincov *c, int D, double *re, double *im) {
  if (D < -c->dmax || D > c->dmax) {
    *re = *im = 0;
    return;
  }
  *re = c->g_re[D + c->dmax];
  *im = c->g_im[D + c->dmax];
}

/* |gamma(D)|^2 for every D = 0..M-1 (it is M-periodic) into out[M]: the
 * correlation of the periodogram bins of white noise. Computed as the
 * DFT of the autocorrelation of w^2, which is what a stationary Gaussian
 * field with this correlation is drawn from: that autocorrelation, folded
 * onto 0..M-1 and normalised to sum 1, is left in acf[M] (caller-owned). */
void cf_bincov_white(const cf_response *r, double *out, double *acf);

/* Bins each side of a peak that the Doppler fit uses: the window's main
 * lobe (2 M / L bins for Hann) plus three standard deviations of the
 * pulse's spectrum, and at least 8. */
int cf_bincov_fit_half(const cf_response *r);

#endif
