/* Periodogram bin covariance; the derivation is in bin_covariance.h. */
#include "lidar/bin_covariance.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846

/* Q is as smooth in x as the window's transform: it varies on a scale of
 * M / (2 L) bins, at least half a bin. 32 points per bin put >= 16 on
 * that scale, where cubic interpolation errs by < 1e-5 of the peak: far
 * below what a covariance needs (the sampling error of any variance is
 * percent-level). */
enum { PER_BIN = 32 };

int cf_bincov_fit_half(const cf_response *r) {
  double sigma_nu = 1.0 / (2.0 * sqrt(2.0) * CF_PI * r->sigma); /* pulse spectrum, cycles/sample */
  /* main lobe of the window: first null at 2/L for Hann, 1/L for rect */
  double lobe = r->window == CF_WINDOW_HANN ? 2.0 / r->L : 1.0 / r->L;
  int half = (int)ceil(r->M * (lobe + 3.0 * sigma_nu));
  if (half < 8) half = 8;
  if (half > r->nbins / 4) half = r->nbins / 4 > 2 ? r->nbins / 4 : 2;
  return half;
}

void cf_bincov_free(cf_bincov *c) {
  free(c->q_re);
  free(c->q_im);
  free(c->g_re);
  free(c->g_im);
  memset(c, 0, sizeof *c);
}

int cf_bincov_init(cf_ctx *ctx, cf_bincov *c, const cf_response *r, int half) {
  memset(c, 0, sizeof *c);
  const int L = r->L, M = r->M, nd = 2 * L - 1;
  c->M = M;
  c->half = half;
  c->dmax = 2 * half;
  const int nD = 2 * c->dmax + 1;
  c->dx = 1.0 / ((double)M * PER_BIN);
  int span = (half + 2) * PER_BIN; /* points each side of x = 0 */
  c->nx = 2 * span + 1 + 2;
  c->x0 = -span * c->dx;
  c->q_re = malloc((size_t)nD * c->nx * sizeof(double));
  c->q_im = malloc((size_t)nD * c->nx * sizeof(double));
  c->g_re = malloc((size_t)nD * sizeof(double));
  c->g_im = malloc((size_t)nD * sizeof(double));
  /* rho(d) G(d, D) for d = -(L-1)..L-1, per D */
  double *rg_re = malloc((size_t)nD * nd * sizeof(double)), *rg_im = malloc((size_t)nD * nd * sizeof(double));
  double *ph_re = malloc((size_t)(M > nd ? M : nd) * sizeof(double)), *ph_im = malloc((size_t)(M > nd ? M : nd) * sizeof(double));
  if (!c->q_re || !c->q_im || !c->g_re || !c->g_im || !rg_re || !rg_im || !ph_re || !ph_im) {
    free(rg_re), free(rg_im), free(ph_re), free(ph_im);
    cf_bincov_free(c);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the bin covariance tables");
  }
  /* e^{-2 pi i q / M} for q = 0..M-1: angles reduced exactly (D m mod M) */
  for (int q = 0; q < M; q++) ph_re[q] = cos(2 * CF_PI * q / M), ph_im[q] = -sin(2 * CF_PI * q / M);
  double inv4s2 = 1.0 / (4.0 * r->sigma * r->sigma);
  for (int D = -c->dmax; D <= c->dmax; D++) {
    double *gr = rg_re + (size_t)(D + c->dmax) * nd, *gi = rg_im + (size_t)(D + c->dmax) * nd;
    for (int d = -(L - 1); d <= L - 1; d++) {
      int m0 = d < 0 ? -d : 0, m1 = d < 0 ? L : L - d;
      double sr = 0, si = 0;
      for (int m = m0; m < m1; m++) {
        int q = (int)((((long long)D * m) % M + M) % M);
        double ww = r->w[m + d] * r->w[m];
        sr += ww * ph_re[q];
        si += ww * ph_im[q];
      }
      if (d == 0) {
        c->g_re[D + c->dmax] = sr / r->cw[0];
        c->g_im[D + c->dmax] = si / r->cw[0];
      }
      double rho = exp(-(double)d * d * inv4s2);
      gr[d + L - 1] = rho * sr;
      gi[d + L - 1] = rho * si;
    }
  }
  /* Q(x_i, D) = sum_d rho(d) G(d, D) e^{-2 pi i x_i d}: every table point
   * on its own (its own phases, its own sums), so the points are shared
   * out over threads with the same bits for any count; this table is most
   * of a file's set-up time */
  int failed = 0;
#pragma omp parallel num_threads(cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads())
  {
    double *pr = malloc((size_t)nd * sizeof *pr), *pi = malloc((size_t)nd * sizeof *pi);
    if (!pr || !pi) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(static)
    for (int i = 0; i < c->nx; i++) {
      if (!pr || !pi) continue;
      double x = c->x0 + (i - 1) * c->dx;
      for (int d = -(L - 1); d <= L - 1; d++) {
        pr[d + L - 1] = cos(2 * CF_PI * x * d);
        pi[d + L - 1] = -sin(2 * CF_PI * x * d);
      }
      for (int D = 0; D < nD; D++) {
        const double *gr = rg_re + (size_t)D * nd, *gi = rg_im + (size_t)D * nd;
        double sr = 0, si = 0;
        for (int t = 0; t < nd; t++) {
          sr += gr[t] * pr[t] - gi[t] * pi[t];
          si += gr[t] * pi[t] + gi[t] * pr[t];
        }
        c->q_re[(size_t)D * c->nx + i] = sr;
        c->q_im[(size_t)D * c->nx + i] = si;
      }
    }
    free(pr);
    free(pi);
  }
  if (failed) {
    free(rg_re), free(rg_im), free(ph_re), free(ph_im);
    cf_bincov_free(c);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the bin covariance tables");
  }
  free(rg_re), free(rg_im), free(ph_re), free(ph_im);
  return CF_OK;
}

/* Catmull-Rom cubic through p[0..3] at t in [0,1] between p[1] and p[2]. */
static double cubic(const double *p, double t) {
  return p[1] + 0.5 * t * (p[2] - p[0] + t * (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3] + t * (3 * (p[1] - p[2]) + p[3] - p[0])));
}

void cf_bincov_signal(const cf_bincov *c, int j, int k, double b, double *re, double *im) {
  int D = j - k;
  double x = (double)j / c->M - b;
  double u = (x - c->x0) / c->dx + 1.0; /* table position; point 0 is the guard */
  int i = (int)floor(u);
  if (D < -c->dmax || D > c->dmax || i < 1 || i > c->nx - 3) {
    *re = *im = 0;
    return;
  }
  double t = u - i;
  size_t off = (size_t)(D + c->dmax) * c->nx + (size_t)(i - 1);
  *re = 0.5 * cubic(c->q_re + off, t);
  *im = 0.5 * cubic(c->q_im + off, t);
}

void cf_bincov_signal_row(const cf_bincov *c, int j, int k0, int n, double b, double *re, double *im) {
  double x = (double)j / c->M - b;
  double u = (x - c->x0) / c->dx + 1.0;
  int i = (int)floor(u);
  int inside = i >= 1 && i <= c->nx - 3;
  double t = u - i;
  /* the real and imaginary parts go through the same cubic as one
   * two-lane vector (lane-wise IEEE arithmetic: the same bits as two calls
   * of cubic(), at half the instructions; this row is the largest part of
   * a gate's covariance) */
  typedef double v2d __attribute__((vector_size(16)));
  for (int q = 0; q < n; q++) {
    int D = j - (k0 + q);
    if (!inside || D < -c->dmax || D > c->dmax) {
      re[q] = im[q] = 0;
      continue;
    }
    size_t off = (size_t)(D + c->dmax) * c->nx + (size_t)(i - 1);
    const double *qr = c->q_re + off, *qi = c->q_im + off;
    v2d p0 = {qr[0], qi[0]}, p1 = {qr[1], qi[1]}, p2 = {qr[2], qi[2]}, p3 = {qr[3], qi[3]};
    v2d v = p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)));
    re[q] = 0.5 * v[0];
    im[q] = 0.5 * v[1];
  }
}

void cf_bincov_white(const cf_response *r, double *out, double *acf) {
  const int L = r->L, M = r->M;
  double s2 = 0;
  for (int n = 0; n < L; n++) s2 += r->w[n] * r->w[n];
  double *a = acf;
  memset(a, 0, (size_t)M * sizeof *a);
  for (int d = 0; d < L; d++) {
    double s = 0;
    for (int m = 0; m + d < L; m++) s += r->w[m] * r->w[m] * r->w[m + d] * r->w[m + d];
    s /= s2 * s2;
    a[d % M] += s;
    if (d > 0) a[(M - d) % M] += s;
  }
  for (int D = 0; D < M; D++) {
    double v = 0;
    for (int d = 0; d < M; d++) v += a[d] * cos(2 * CF_PI * (double)(((long long)D * d) % M) / M);
    out[D] = v;
  }
}
