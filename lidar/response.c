/* The spectral response model; the derivation is in response.h. */
#include "lidar/response.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846

/* table resolution: 64 points per FFT bin keeps cubic interpolation error
 * below 1e-7 of the peak for peaks a bin or more wide */
enum { K_PER_BIN = 64 };

static int series_coefficients(const cf_response *r, double *coef);
static double series_sum(const cf_response *r, const double *coef, int nd, double nu);

int cf_response_init(cf_ctx *ctx, cf_response *r, const cf_l0_config *c) {
  memset(r, 0, sizeof *r);
  r->L = c->gate_samples;
  r->M = c->fft_size;
  r->nbins = c->fft_size / 2 + 1;
  r->fs = c->sample_rate;
  r->window = c->window;
  r->sigma = c->pulse_width * c->sample_rate / (2.0 * sqrt(log(2.0)));
  r->w = malloc((size_t)r->L * sizeof *r->w);
  r->cw = malloc((size_t)r->L * sizeof *r->cw);
  r->nk = r->M / 2 * K_PER_BIN + 4;
  r->dnu = 1.0 / ((double)r->M * K_PER_BIN);
  r->ktab = malloc((size_t)r->nk * sizeof *r->ktab);
  if (!r->w || !r->cw || !r->ktab) {
    cf_response_free(r);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the spectral response");
  }
  for (int n = 0; n < r->L; n++)
    r->w[n] = c->window == CF_WINDOW_HANN ? 0.5 - 0.5 * cos(2 * CF_PI * n / (r->L - 1)) : 1.0;
  for (int d = 0; d < r->L; d++) {
    double s = 0;
    for (int n = 0; n + d < r->L; n++) s += r->w[n] * r->w[n + d];
    r->cw[d] = s;
  }
  /* the series' coefficients 2 C_w(d) rho(d), once (not per table point):
   * the same operations as cf_response_k_exact, so the same bits */
  double *coef = malloc((size_t)r->L * sizeof *coef);
  if (!coef) {
    cf_response_free(r);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the spectral response");
  }
  int nd = series_coefficients(r, coef);
  /* each table point is its own sum: shared over threads, same bits for any count */
#pragma omp parallel for schedule(static) num_threads(cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads())
  for (int i = 0; i < r->nk; i++) r->ktab[i] = series_sum(r, coef, nd, (i - 1) * r->dnu);
  free(coef);
  /* the peak's tails fall only as a power law (the window's edges), to
   * ~1e-14 at the negative-frequency image. Past 1e-9 of K(0) (about 28
   * bins for the default gating) they are taken as 0: a billionth of the
   * peak is far below the statistical noise of any accumulated spectrum
   * (>= 1e-3 relative), and skipping them halves the cost of template fits */
  r->nu_cut = 0.5;
  for (int i = 2; i < r->nk - 2; i++)
    if (fabs(r->ktab[i]) < 1e-9 * r->ktab[1]) {
      r->nu_cut = (i - 1) * r->dnu;
      break;
    }
  return CF_OK;
}

void cf_response_free(cf_response *r) {
  free(r->w);
  free(r->cw);
  free(r->ktab);
  memset(r, 0, sizeof *r);
}

double cf_response_k_exact(const cf_response *r, double nu) {
  double s = r->cw[0];
  double inv4s2 = 1.0 / (4.0 * r->sigma * r->sigma);
  for (int d = 1; d < r->L; d++) {
    double rho = exp(-(double)d * d * inv4s2);
    if (rho < 1e-17) break; /* the rest cannot change a double */
    s += 2.0 * r->cw[d] * rho * cos(2 * CF_PI * nu * d);
  }
  return s;
}

static int series_coefficients(const cf_response *r, double *coef) {
  double inv4s2 = 1.0 / (4.0 * r->sigma * r->sigma);
  int d = 1;
  for (; d < r->L; d++) {
    double rho = exp(-(double)d * d * inv4s2);
    if (rho < 1e-17) break; /* as cf_response_k_exact */
    coef[d] = 2.0 * r->cw[d] * rho;
  }
  return d; /* terms 1..d-1 */
}

static double series_sum(const cf_response *r, const double *coef, int nd, double nu) {
  double s = r->cw[0];
  for (int d = 1; d < nd; d++) s += coef[d] * cos(2 * CF_PI * nu * d);
  return s;
}

void cf_response_noise(const cf_response *r, const double *R, int nr, double *out) {
  for (int k = 0; k < r->nbins; k++) {
    double s = r->cw[0] * R[0];
    for (int d = 1; d < nr && d < r->L; d++) s += 2.0 * r->cw[d] * R[d] * cos(2 * CF_PI * (double)k * d / r->M);
    out[k] = s;
  }
}

double cf_response_total(const cf_response *r) {
  /* Parseval on the zero-padded grid: sum over all M bins of E|X_k|^2 for
   * unit variance = M sum_n w_n^2 = M C_w(0); the one-sided bins carry it
   * with k = 1..M/2-1 counted twice. Return the one-sided sum of the
   * signal response at a mid-band frequency instead, which is what a
   * one-sided spectrum adds up to: (M C_w(0)) / 2. */
  return 0.5 * r->M * r->cw[0];
}
