/*
 * The instrument's spectral response: what one gate's periodogram is
 * expected to look like, for a return and for receiver noise.
 *
 * A gate of L samples x_n (n0..n0+L-1) is windowed by w_n, zero-padded to
 * M and transformed: X_k = sum_n w_n x_n e^{-2 pi i k n / M}. For a
 * stationary real process with autocorrelation R(d) its expectation is
 *
 *   E|X_k|^2 = sum_{d=-(L-1)}^{L-1} C_w(d) R(d) cos(2 pi k d / M),
 *   C_w(d) = sum_n w_n w_{n+|d|}                      (window autocorrelation)
 *
 * The return of a pulse whose field envelope is Gaussian (intensity FWHM
 * tau) from a cloud of random scatterers is a circular complex Gaussian
 * process (speckle) with correlation rho(d) = exp(-d^2 / (4 s^2)), s = tau
 * fs / (2 sqrt(ln 2)) samples; the real signal of variance A^2 at frequency
 * f has R(d) = A^2 rho(d) cos(2 pi f d / fs). Hence
 *
 *   E|X_k|^2 = A^2/2 [K(k/M - f/fs) + K(k/M + f/fs)],
 *   K(nu) = sum_d C_w(d) rho(d) cos(2 pi nu d).
 *
 * The simulator uses this to draw accumulated spectra, and the Doppler fit
 * uses it as its peak model: the peak shape follows from the pulse width
 * and the window given in the L0 header, nothing is tuned to the data.
 * K is tabulated finely once and interpolated (cubic), so evaluating it is
 * O(1); cf_response_k_exact sums the series for tests.
 *
 * The Doppler fit needs dK/dnu as well. It takes the derivative of the
 * interpolant itself (cf_response_k_dk: the cubic's own slope, continuous
 * across table points because Catmull-Rom is C1), not a finite difference
 * of two more interpolations: one table look-up gives both, and the
 * Jacobian is then exactly the derivative of the model the fit evaluates,
 * so Gauss-Newton converges to the model's own least-squares optimum.
 */
#ifndef CF_LIDAR_RESPONSE_H
#define CF_LIDAR_RESPONSE_H

#include <math.h>

#include "ingest/lidar_l0.h"

typedef struct {
  int L, M, nbins;
  double fs;
  double sigma;  /* speckle correlation parameter s, samples */
  cf_window_kind window;
  double *w;     /* window, L values */
  double *cw;    /* C_w(d), d = 0..L-1 */
  double *ktab;  /* K on [0, 0.5] cycles/sample, nk points */
  int nk;
  double dnu;
  double nu_cut; /* beyond it K < 1e-9 K(0): taken as 0 (see response.c) */
} cf_response;

int cf_response_init(cf_ctx *ctx, cf_response *r, const cf_l0_config *cfg);
void cf_response_free(cf_response *r);

/* K(nu) by table (nu in cycles/sample, any real). Inline: the Doppler
 * fit evaluates it for every bin of every iteration, and a call into
 * another file cost as much as the interpolation. */
static inline double cf_response_k(const cf_response *r, double nu) {
  /* K is even and 1-periodic: fold into [0, 0.5] */
  nu = fabs(nu - floor(nu + 0.5));
  if (nu > r->nu_cut) return 0.0;
  double x = nu / r->dnu + 1.0; /* table index, entry 0 is nu = -dnu */
  int i = (int)x;
  if (i < 1) i = 1;
  if (i > r->nk - 3) i = r->nk - 3;
  double t = x - i;
  const double *p = r->ktab + i - 1;
  /* Catmull-Rom cubic through p[0..3] at t in [0,1] between p[1] and p[2] */
  return p[1] + 0.5 * t * (p[2] - p[0] + t * (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3] + t * (3 * (p[1] - p[2]) + p[3] - p[0])));
}

/* K(nu) by table and its derivative dK/dnu (of the same interpolant) in *dk. */
static inline double cf_response_k_dk(const cf_response *r, double nu, double *dk) {
  /* fold as cf_response_k: nu = sign * |nu - round(nu)|, so dK/dnu carries the sign */
  double off = nu - floor(nu + 0.5), sign = off < 0 ? -1.0 : 1.0;
  nu = fabs(off);
  if (nu > r->nu_cut) {
    *dk = 0.0;
    return 0.0;
  }
  double x = nu / r->dnu + 1.0;
  int i = (int)x;
  if (i < 1) i = 1;
  if (i > r->nk - 3) i = r->nk - 3;
  double t = x - i;
  const double *p = r->ktab + i - 1;
  /* the Catmull-Rom cubic of cf_response_k, c0 + c1 t + c2 t^2 + c3 t^3, and its slope */
  double c1 = 0.5 * (p[2] - p[0]), c2 = 0.5 * (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3]),
         c3 = 0.5 * (3 * (p[1] - p[2]) + p[3] - p[0]);
  *dk = sign * (c1 + t * (2 * c2 + 3 * c3 * t)) / r->dnu;
  return p[1] + 0.5 * t * (p[2] - p[0] + t * (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3] + t * (3 * (p[1] - p[2]) + p[3] - p[0])));
}
/* K(nu) by the full sum. */
double cf_response_k_exact(const cf_response *r, double nu);
/* Expected periodogram in bin k of a unit-variance return at f (Hz). */
static inline double cf_response_signal(const cf_response *r, double f_hz, int k) {
  double a = (double)k / r->M, b = f_hz / r->fs;
  return 0.5 * (cf_response_k(r, a - b) + cf_response_k(r, a + b));
}
/* cf_response_signal and its derivative in f (per Hz) in *dh_df, from
 * the interpolant's own slope. */
static inline double cf_response_signal_df(const cf_response *r, double f_hz, int k, double *dh_df) {
  double a = (double)k / r->M, b = f_hz / r->fs, d1, d2;
  double h = 0.5 * (cf_response_k_dk(r, a - b, &d1) + cf_response_k_dk(r, a + b, &d2));
  *dh_df = 0.5 * (d2 - d1) / r->fs;
  return h;
}
/* The same where the caller knows the image term K(k/M + f/fs) is beyond
 * nu_cut (cf_response_image_free): it is exactly 0 there, so this gives
 * the same bits as cf_response_signal_df at half the cost. */
static inline double cf_response_signal_df_direct(const cf_response *r, double f_hz, int k, double *dh_df) {
  double a = (double)k / r->M, b = f_hz / r->fs, d1;
  double h = 0.5 * (cf_response_k_dk(r, a - b, &d1) + 0.0);
  *dh_df = 0.5 * (0.0 - d1) / r->fs;
  return h;
}
/* 1 if the image term of every bin k0..k1 at f is beyond nu_cut (0 exactly). */
static inline int cf_response_image_free(const cf_response *r, double f_hz, int k0, int k1) {
  double lo = (double)k0 / r->M + f_hz / r->fs, hi = (double)k1 / r->M + f_hz / r->fs;
  return lo > r->nu_cut && hi < 1.0 - r->nu_cut;
}
/* Expected periodogram of a process with autocorrelation R[0..nr-1]
 * (R(d) = 0 beyond) into out[nbins]. */
void cf_response_noise(const cf_response *r, const double *R, int nr, double *out);
/* Sum over all bins of the unit-variance response: the factor relating
 * signal variance to total spectral power (for wideband CNR). */
double cf_response_total(const cf_response *r);

#endif
