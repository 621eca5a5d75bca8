/* Noise floor, CNR and the joint on/off peak fit; the method is in doppler.h. */
#include "lidar/doppler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846
enum { FIT_HALF = 8 };   /* bins each side of the peak used by the fit */
enum { GRID_PER_BIN = 2 }; /* matched-filter search steps per FFT bin */
enum { GRID_WIN = 2 * FIT_HALF + 1 };

void cf_doppler_defaults(cf_doppler_opts *o) {
  /* -27 dB: where 1 s rays of 5000 pulses per wavelength still give
   * velocities with sub-0.5 m/s errors in simulation; the hard-target limit
   * of +20 dB is above any aerosol return of the instrument */
  o->cnr_min_db = -27.0;
  o->near_range_m = 200.0;
  o->hard_target_db = 20.0;
  o->v_max = 30.0;
  o->peak_snr_min = 5.0;
  o->bins_correlated = 0;
}

/* Variance inflation of a smooth fit over periodogram bins that are
 * correlated by the window: sum over lags of the squared correlation
 * coefficient |sum_n w_n^2 e^{-2 pi i j n / M}|^2 / (sum_n w_n^2)^2. */
static double bin_correlation_factor(const cf_response *r) {
  double s0 = 0;
  for (int n = 0; n < r->L; n++) s0 += r->w[n] * r->w[n];
  double k = 1.0;
  for (int j = 1; j < r->M / 2; j++) {
    double re = 0, im = 0;
    for (int n = 0; n < r->L; n++) {
      double w2 = r->w[n] * r->w[n], ph = 2 * CF_PI * (double)j * n / r->M;
      re += w2 * cos(ph);
      im -= w2 * sin(ph);
    }
    double c2 = (re * re + im * im) / (s0 * s0);
    if (c2 < 1e-6) break;
    k += 2.0 * c2;
  }
  return k;
}

static double freq_of(const cf_doppler_setup *s, int l, double v);
static void fit_window(const cf_doppler_setup *s, double f, int *k0, int *k1);

int cf_doppler_setup_init(cf_ctx *ctx, cf_doppler_setup *s, const cf_l0_config *cfg, const cf_doppler_opts *o,
                          const float *bg_on, int32_t bg_pulses_on, const float *bg_off, int32_t bg_pulses_off) {
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->opts = *o;
  int rc = cf_response_init(ctx, &s->resp, cfg);
  if (rc) return rc;
  size_t per = (size_t)cfg->n_gates * s->resp.nbins;
  const float *bg[2] = {bg_on, bg_off};
  int32_t np[2] = {bg_pulses_on, bg_pulses_off};
  for (int l = 0; l < 2; l++) {
    s->bg_pulses[l] = np[l];
    s->noise[l] = malloc(per * sizeof(double));
    if (!s->noise[l]) {
      cf_doppler_setup_free(s);
      return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    }
    for (size_t k = 0; k < per; k++) s->noise[l][k] = bg[l][k] / (double)np[l];
  }
  s->inflation = o->bins_correlated ? bin_correlation_factor(&s->resp) : 1.0;
  double df = 2.0 * o->v_max / cfg->wavelength[CF_ON];
  s->k_lo = (int)floor((cfg->aom_frequency - df) / cfg->sample_rate * cfg->fft_size) - FIT_HALF;
  s->k_hi = (int)ceil((cfg->aom_frequency + df) / cfg->sample_rate * cfg->fft_size) + FIT_HALF;
  if (s->k_lo < 1) s->k_lo = 1;
  if (s->k_hi > s->resp.nbins - 2) s->k_hi = s->resp.nbins - 2;
  s->grid_dv = cfg->wavelength[CF_ON] * cfg->sample_rate / (2.0 * cfg->fft_size * GRID_PER_BIN);
  int half = (int)ceil(o->v_max / s->grid_dv);
  s->grid_n = 2 * half + 1;
  for (int l = 0; l < 2; l++) {
    s->grid_k0[l] = malloc((size_t)s->grid_n * sizeof(int));
    s->grid_nk[l] = malloc((size_t)s->grid_n * sizeof(int));
    s->grid_h[l] = malloc((size_t)s->grid_n * GRID_WIN * sizeof(double));
    if (!s->grid_k0[l] || !s->grid_nk[l] || !s->grid_h[l]) {
      cf_doppler_setup_free(s);
      return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    }
    for (int i = 0; i < s->grid_n; i++) {
      double f = freq_of(s, l, (i - half) * s->grid_dv);
      int k0, k1;
      fit_window(s, f, &k0, &k1);
      s->grid_k0[l][i] = k0;
      s->grid_nk[l][i] = k1 - k0 + 1;
      for (int k = k0; k <= k1; k++) s->grid_h[l][(size_t)i * GRID_WIN + (k - k0)] = cf_response_signal(&s->resp, f, k);
    }
  }
  return CF_OK;
}

void cf_doppler_setup_free(cf_doppler_setup *s) {
  for (int l = 0; l < 2; l++) {
    free(s->grid_k0[l]);
    free(s->grid_nk[l]);
    free(s->grid_h[l]);
  }
  cf_response_free(&s->resp);
  free(s->noise[0]);
  free(s->noise[1]);
  memset(s, 0, sizeof *s);
}

static double freq_of(const cf_doppler_setup *s, int l, double v) {
  return s->cfg.aom_frequency - 2.0 * v / s->cfg.wavelength[l];
}

/* Fit window: bins [k0, k1] around frequency f, inside the search band. */
static void fit_window(const cf_doppler_setup *s, double f, int *k0, int *k1) {
  int kc = (int)lround(f / s->cfg.sample_rate * s->cfg.fft_size);
  *k0 = kc - FIT_HALF;
  *k1 = kc + FIT_HALF;
  if (*k0 < s->k_lo) *k0 = s->k_lo;
  if (*k1 > s->k_hi) *k1 = s->k_hi;
}

/* Solve the 3x3 symmetric positive system A x = b by Cholesky; also
 * returns the inverse in Ai. Returns -1 if A is not positive definite. */
static int solve3(const double A[3][3], const double b[3], double x[3], double Ai[3][3]) {
  double L[3][3] = {{0}};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j <= i; j++) {
      double s = A[i][j];
      for (int k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i == j) {
        if (!(s > 0)) return -1;
        L[i][i] = sqrt(s);
      } else {
        L[i][j] = s / L[j][j];
      }
    }
  for (int col = -1; col < 3; col++) {
    double e[3], y[3], z[3];
    for (int i = 0; i < 3; i++) e[i] = col < 0 ? b[i] : (i == col);
    for (int i = 0; i < 3; i++) {
      double s = e[i];
      for (int k = 0; k < i; k++) s -= L[i][k] * y[k];
      y[i] = s / L[i][i];
    }
    for (int i = 2; i >= 0; i--) {
      double s = y[i];
      for (int k = i + 1; k < 3; k++) s -= L[k][i] * z[k];
      z[i] = s / L[i][i];
    }
    for (int i = 0; i < 3; i++) {
      if (col < 0)
        x[i] = z[i];
      else
        Ai[i][col] = z[i];
    }
  }
  return 0;
}

typedef struct {
  const double *D[2];     /* noise-subtracted per-pulse spectra of the gate */
  const double *noise[2]; /* alpha * per-pulse noise of the gate */
  double N[2];            /* pulses */
} gate_data;

/* Best template match over the search grid (templates tabulated in the
 * set-up); returns v. */
static double grid_search(const cf_doppler_setup *s, const gate_data *g, int *at_edge) {
  double best = -1;
  int ibest = 0;
  for (int i = 0; i < s->grid_n; i++) {
    double score = 0;
    for (int l = 0; l < 2; l++) {
      const double *h = s->grid_h[l] + (size_t)i * GRID_WIN;
      int k0 = s->grid_k0[l][i], nk = s->grid_nk[l][i];
      double num = 0, den = 0;
      for (int j = 0; j < nk; j++) {
        double n = g->noise[l][k0 + j], w = g->N[l] / (n * n);
        num += w * g->D[l][k0 + j] * h[j];
        den += w * h[j] * h[j];
      }
      if (den > 0 && num > 0) score += num * num / den; /* chi-square reduction of the best a >= 0 */
    }
    if (score > best) best = score, ibest = i;
  }
  *at_edge = ibest == 0 || ibest == s->grid_n - 1;
  return (ibest - s->grid_n / 2) * s->grid_dv;
}

/* Gauss-Newton on (a_on, a_off, v) with model-variance weights. */
static int fit_peak(const cf_doppler_setup *s, const gate_data *g, double v0, double p[3], double C[3][3]) {
  p[2] = v0;
  /* amplitudes at v0 by weighted linear least squares */
  for (int l = 0; l < 2; l++) {
    double f = freq_of(s, l, v0), num = 0, den = 0;
    int k0, k1;
    fit_window(s, f, &k0, &k1);
    for (int k = k0; k <= k1; k++) {
      double h = cf_response_signal(&s->resp, f, k), w = 1.0 / (g->noise[l][k] * g->noise[l][k]);
      num += w * g->D[l][k] * h;
      den += w * h * h;
    }
    p[l] = den > 0 ? num / den : 0;
  }
  const double hstep = 1e-3; /* m/s, for the derivative of the template */
  for (int it = 0; it < 30; it++) {
    double A[3][3] = {{0}}, b[3] = {0}, dx[3];
    for (int l = 0; l < 2; l++) {
      double f = freq_of(s, l, p[2]), fp = freq_of(s, l, p[2] + hstep), fm = freq_of(s, l, p[2] - hstep);
      int k0, k1;
      fit_window(s, f, &k0, &k1);
      for (int k = k0; k <= k1; k++) {
        double h = cf_response_signal(&s->resp, f, k);
        double dh = (cf_response_signal(&s->resp, fp, k) - cf_response_signal(&s->resp, fm, k)) / (2 * hstep);
        double model = p[l] * h, theta = g->noise[l][k] + (model > 0 ? model : 0);
        double w = 1.0 / (s->inflation * (theta * theta / g->N[l] + g->noise[l][k] * g->noise[l][k] / s->bg_pulses[l]));
        double J[3] = {l == 0 ? h : 0, l == 1 ? h : 0, p[l] * dh}, r = g->D[l][k] - model;
        for (int i = 0; i < 3; i++) {
          b[i] += w * J[i] * r;
          for (int j = 0; j < 3; j++) A[i][j] += w * J[i] * J[j];
        }
      }
    }
    if (solve3(A, b, dx, C)) return -1;
    /* keep a Newton step inside one bin of velocity: far steps mean a bad start */
    double vbin = s->cfg.wavelength[CF_ON] * s->cfg.sample_rate / (2.0 * s->cfg.fft_size);
    if (dx[2] > vbin) dx[2] = vbin;
    if (dx[2] < -vbin) dx[2] = -vbin;
    for (int i = 0; i < 3; i++) p[i] += dx[i];
    if (fabs(dx[2]) < 1e-7 && fabs(dx[0]) <= 1e-9 * fabs(p[0]) + 1e-300 && fabs(dx[1]) <= 1e-9 * fabs(p[1]) + 1e-300)
      return 0;
    if (it > 3 && fabs(dx[2]) < 1e-6) return 0;
  }
  return -2;
}

void cf_doppler_process(const cf_doppler_setup *s, const float *spec_on, const float *spec_off, int32_t pulses_on,
                        int32_t pulses_off, int ray_ok, double *work, cf_doppler_ray *out) {
  const cf_l0_config *c = &s->cfg;
  const int G = c->n_gates, NB = s->resp.nbins;
  const float *spec[2] = {spec_on, spec_off};
  int32_t np[2] = {pulses_on, pulses_off};
  if (ray_ok)
    for (int l = 0; l < 2; l++)
      for (size_t k = 0; k < (size_t)G * NB; k++)
        if (!isfinite(spec[l][k])) ray_ok = 0;
  for (int g = 0; g < G; g++) {
    out->qc[g] = 0;
    out->v[g] = out->v_sigma[g] = NAN;
    for (int l = 0; l < 2; l++) out->cnr_db[l][g] = out->power[l][g] = out->power_sigma[l][g] = NAN;
  }
  out->alpha[0] = out->alpha[1] = NAN;
  if (!ray_ok) {
    for (int g = 0; g < G; g++) out->qc[g] = CF_QC_BAD_RAY | CF_QC_NO_CO2;
    return;
  }
  /* noise refinement on signal-free gates (excess power within 3 sigma of 0) */
  for (int l = 0; l < 2; l++) {
    double num = 0, den = 0;
    int nfree = 0;
    for (int g = 0; g < G; g++) {
      const float *S = spec[l] + (size_t)g * NB;
      const double *n = s->noise[l] + (size_t)g * NB;
      double sum_s = 0, sum_n = 0, sum_n2 = 0;
      for (int k = 0; k < NB; k++) sum_s += S[k], sum_n += n[k], sum_n2 += n[k] * n[k];
      double z = (sum_s - np[l] * sum_n) / sqrt(np[l] * sum_n2 * s->inflation);
      if (fabs(z) < 3.0) num += sum_s, den += np[l] * sum_n, nfree++;
    }
    out->alpha[l] = nfree >= 3 && den > 0 ? num / den : 1.0;
  }
  double *buf = work;
  for (int g = 0; g < G; g++) {
    gate_data gd;
    double *D[2] = {buf, buf + NB}, *nn[2] = {buf + 2 * NB, buf + 3 * NB};
    double cnr_best = -INFINITY;
    for (int l = 0; l < 2; l++) {
      const float *S = spec[l] + (size_t)g * NB;
      const double *n = s->noise[l] + (size_t)g * NB;
      double sd = 0, sn = 0;
      for (int k = 0; k < NB; k++) {
        nn[l][k] = out->alpha[l] * n[k];
        D[l][k] = S[k] / np[l] - nn[l][k];
        sd += D[l][k];
        sn += nn[l][k];
      }
      double cnr = sd / sn;
      out->cnr_db[l][g] = cnr > 0 ? 10.0 * log10(cnr) : NAN;
      if (cnr > 0 && 10.0 * log10(cnr) > cnr_best) cnr_best = 10.0 * log10(cnr);
      gd.D[l] = D[l];
      gd.noise[l] = nn[l];
      gd.N[l] = np[l];
    }
    uint16_t qc = 0;
    if (!(cnr_best >= s->opts.cnr_min_db)) qc |= CF_QC_LOW_CNR;
    if (cnr_best > s->opts.hard_target_db) qc |= CF_QC_HARD_TARGET;
    if (cf_l0_gate_range(c, g) < s->opts.near_range_m) qc |= CF_QC_NEAR_RANGE;
    int edge = 0;
    double v0 = grid_search(s, &gd, &edge);
    double p[3], C[3][3];
    int frc = fit_peak(s, &gd, v0, p, C);
    if (frc || !(C[2][2] > 0) || !(p[0] + p[1] > 0)) {
      qc |= CF_QC_FIT_FAILED;
    } else {
      out->v[g] = p[2];
      out->v_sigma[g] = sqrt(C[2][2]);
      for (int l = 0; l < 2; l++) {
        out->power[l][g] = p[l];
        out->power_sigma[l][g] = sqrt(C[l][l]);
      }
      if (edge || fabs(p[2]) > s->opts.v_max) qc |= CF_QC_OUT_OF_BAND;
      double zon = p[0] / sqrt(C[0][0]), zoff = p[1] / sqrt(C[1][1]);
      if (!(hypot(zon > 0 ? zon : 0, zoff > 0 ? zoff : 0) >= s->opts.peak_snr_min)) qc |= CF_QC_LOW_CNR;
    }
    out->qc[g] = qc;
  }
}
