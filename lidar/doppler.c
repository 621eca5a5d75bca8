/* Noise floor, CNR and the joint on/off peak fit; the method is in doppler.h. */
#include "lidar/doppler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846
enum { GRID_PER_BIN = 2 }; /* matched-filter search steps per FFT bin */
/* Gauss-Newton stops when each step is below this fraction of its
 * parameter's sigma: 1e-3 sigma moves a velocity by a millionth of its
 * variance, far below anything the accuracy tests or users can see */
#define CF_DOPPLER_STEP_TOL 1e-3

void cf_doppler_defaults(cf_doppler_opts *o) {
  /* -27 dB: where 1 s rays of 5000 pulses per wavelength still give
   * velocities with sub-0.5 m/s errors in simulation; the hard-target limit
   * of +20 dB is above any aerosol return of the instrument */
  o->cnr_min_db = -27.0;
  o->near_range_m = 200.0;
  o->hard_target_db = 20.0;
  o->v_max = 30.0;
  o->peak_snr_min = 5.0;
  o->bins_correlated = 1;
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
  s->fit_half = cf_bincov_fit_half(&s->resp);
  s->grid_win = 2 * s->fit_half + 1;
  s->grid_pad = (s->grid_win + 3) / 4 * 4;
  if (o->bins_correlated && (rc = cf_bincov_init(ctx, &s->cov, &s->resp, s->fit_half))) {
    cf_doppler_setup_free(s);
    return rc;
  }
  double lmin = cfg->wavelength[CF_ON] < cfg->wavelength[CF_OFF] ? cfg->wavelength[CF_ON] : cfg->wavelength[CF_OFF];
  double df = 2.0 * o->v_max / lmin;
  s->k_lo = (int)floor((cfg->aom_frequency - df) / cfg->sample_rate * cfg->fft_size) - s->fit_half;
  s->k_hi = (int)ceil((cfg->aom_frequency + df) / cfg->sample_rate * cfg->fft_size) + s->fit_half;
  if (s->k_lo < 1) s->k_lo = 1;
  if (s->k_hi > s->resp.nbins - 2) s->k_hi = s->resp.nbins - 2;
  /* bins a return can reach: the search band widened by the peak's tails
   * down to 1e-6 of its top (below the noise of any accumulated spectrum
   * even for a +20 dB peak, 1e2 times the noise per bin) */
  int tail = 0;
  while (tail < s->resp.nbins && cf_response_k(&s->resp, (double)tail / cfg->fft_size) > 1e-6 * cf_response_k(&s->resp, 0))
    tail++;
  s->oob_lo = s->k_lo - tail;
  s->oob_hi = s->k_hi + tail;
  /* variance factor of a sum of noise bins from their correlation:
   * sum over lags of |gamma(D)|^2 = M sum w^4 / (sum w^2)^2 */
  {
    double *white = malloc((size_t)cfg->fft_size * sizeof *white), *acf = malloc((size_t)cfg->fft_size * sizeof *acf);
    if (!white || !acf) {
      free(white);
      free(acf);
      cf_doppler_setup_free(s);
      return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    }
    cf_bincov_white(&s->resp, white, acf);
    s->bin_var_factor = 0;
    for (int D = 0; D < cfg->fft_size; D++) s->bin_var_factor += white[D];
    if (!o->bins_correlated) s->bin_var_factor = 1.0;
    free(white);
    free(acf);
  }
  s->grid_dv = cfg->wavelength[CF_ON] * cfg->sample_rate / (2.0 * cfg->fft_size * GRID_PER_BIN);
  int half = (int)ceil(o->v_max / s->grid_dv);
  s->grid_n = 2 * half + 1;
  for (int l = 0; l < 2; l++) {
    s->grid_k0[l] = malloc((size_t)s->grid_n * sizeof(int));
    s->grid_h[l] = calloc((size_t)s->grid_n * s->grid_pad, sizeof(double)); /* zero past each window */
    if (!s->grid_k0[l] || !s->grid_h[l]) {
      cf_doppler_setup_free(s);
      return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    }
    for (int i = 0; i < s->grid_n; i++) {
      double f = freq_of(s, l, (i - half) * s->grid_dv);
      int k0, k1;
      fit_window(s, f, &k0, &k1);
      s->grid_k0[l][i] = k0;
      for (int k = k0; k <= k1; k++) s->grid_h[l][(size_t)i * s->grid_pad + (k - k0)] = cf_response_signal(&s->resp, f, k);
    }
  }
  return CF_OK;
}

void cf_doppler_setup_free(cf_doppler_setup *s) {
  for (int l = 0; l < 2; l++) {
    free(s->grid_k0[l]);
    free(s->grid_h[l]);
  }
  cf_bincov_free(&s->cov);
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
  *k0 = kc - s->fit_half;
  *k1 = kc + s->fit_half;
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
  double inv_n[2], inv_bg[2]; /* 1 / the ray's pulses, 1 / the background's, once per gate (divisions
                               * per bin and iteration were the fit's slowest instructions) */
  const double *w[2], *wD[2]; /* the search's weights N / noise^2 and weight x D, per bin (once per gate) */
} gate_data;

/* Best template match over the search grid (templates tabulated in the
 * set-up); returns v. The sums over a template run in four interleaved
 * partial sums over grid_pad taps (the template is zero past its window,
 * and so are the weights past the band): the same arithmetic as one sum
 * up to rounding, but four independent chains of additions instead of one
 * that waits on its own latency, as one vector of four lanes (GCC's vector
 * extension: lane-wise IEEE arithmetic, no reassociation, so the AVX2 and
 * the default clone give the same bits). This search was the largest
 * single cost of a gate. */
typedef double v4d __attribute__((vector_size(32))); /* four lanes, each an ordinary IEEE double */

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static double grid_scores(const cf_doppler_setup *s, const gate_data *g, double *score) {
  double best = -1;
  int ibest = 0;
  const int np = s->grid_pad;
  for (int i = 0; i < s->grid_n; i++) {
    double sc = 0;
    for (int l = 0; l < 2; l++) {
      const double *h = s->grid_h[l] + (size_t)i * np;
      int k0 = s->grid_k0[l][i];
      const double *w = g->w[l] + k0, *wD = g->wD[l] + k0;
      v4d num = {0, 0, 0, 0}, den = {0, 0, 0, 0};
      for (int j = 0; j < np; j += 4) {
        v4d hj, wj, dj;
        memcpy(&hj, h + j, sizeof hj);
        memcpy(&wj, w + j, sizeof wj);
        memcpy(&dj, wD + j, sizeof dj);
        num += dj * hj;
        den += wj * hj * hj;
      }
      double nm = (num[0] + num[1]) + (num[2] + num[3]), dn = (den[0] + den[1]) + (den[2] + den[3]);
      if (dn > 0 && nm > 0) sc += nm * nm / dn; /* chi-square reduction of the best a >= 0 */
    }
    score[i] = sc;
    if (sc > best) best = sc, ibest = i;
  }
  return ibest;
}

/* The search's start for the fit: the best grid velocity moved to the
 * vertex of the parabola through its score and its two neighbours' (the
 * score is smooth in v at the grid's half-bin spacing), at most half a
 * grid step. Gauss-Newton then starts within a small fraction of a bin
 * of the optimum instead of up to a quarter bin off, which saved about
 * one iteration in five. `score` is scratch of grid_n doubles. */
static double grid_search(const cf_doppler_setup *s, const gate_data *g, double *score, int *at_edge) {
  int ibest = grid_scores(s, g, score);
  *at_edge = ibest == 0 || ibest == s->grid_n - 1;
  double shift = 0;
  if (!*at_edge) {
    double sm = score[ibest - 1], s0 = score[ibest], sp = score[ibest + 1], curv = sm - 2 * s0 + sp;
    if (curv < 0) shift = 0.5 * (sm - sp) / curv;
    if (shift > 0.5) shift = 0.5;
    if (shift < -0.5) shift = -0.5;
  }
  return (ibest - s->grid_n / 2 + shift) * s->grid_dv;
}

/* The model's terms at bin k of wavelength l for parameters p (f: the
 * peak's frequency at p[2], once per window): template h, its derivative
 * in v, and the bin's variance (Gamma of the ray's pulses plus the
 * subtracted background's). */
typedef struct {
  double h, dh, var;
} bin_terms;

static bin_terms terms_at(const cf_doppler_setup *s, const gate_data *g, int l, const double p[3], double f, int k,
                          int image_free) {
  double dh_df;
  bin_terms t;
  t.h = image_free ? cf_response_signal_df_direct(&s->resp, f, k, &dh_df) : cf_response_signal_df(&s->resp, f, k, &dh_df);
  t.dh = dh_df * (-2.0 / s->cfg.wavelength[l]); /* df/dv of freq_of */
  double model = p[l] * t.h, n = g->noise[l][k], theta = n + (model > 0 ? model : 0);
  t.var = theta * theta * g->inv_n[l] + n * n * g->inv_bg[l];
  return t;
}

/* Gauss-Newton on (a_on, a_off, v) with model-variance weights, over
 * fixed windows of bins win[l][0..1] centred on `vc`. Fixing the window
 * keeps the objective smooth: letting it follow the estimate makes it
 * jump by a bin's worth of data and Gauss-Newton can cycle. On success C
 * holds the inverse of the weighted normal matrix at p. */
static int fit_in_windows(const cf_doppler_setup *s, const gate_data *g, const int win[2][2], double p[3],
                          double C[3][3]) {
  /* keep a Newton step inside one bin of velocity: far steps mean a bad start */
  const double vbin = s->cfg.wavelength[CF_ON] * s->cfg.sample_rate / (2.0 * s->cfg.fft_size);
  for (int it = 0; it < 30; it++) {
    double A[3][3] = {{0}}, b[3] = {0}, dx[3];
    for (int l = 0; l < 2; l++) {
      double f = freq_of(s, l, p[2]);
      int image_free = cf_response_image_free(&s->resp, f, win[l][0], win[l][1]);
      for (int k = win[l][0]; k <= win[l][1]; k++) {
        bin_terms t = terms_at(s, g, l, p, f, k, image_free);
        double w = 1.0 / t.var, J[3] = {l == 0 ? t.h : 0, l == 1 ? t.h : 0, p[l] * t.dh}, r = g->D[l][k] - p[l] * t.h;
        for (int i = 0; i < 3; i++) {
          b[i] += w * J[i] * r;
          for (int j = 0; j < 3; j++) A[i][j] += w * J[i] * J[j];
        }
      }
    }
    if (solve3(A, b, dx, C)) return -1;
    if (dx[2] > vbin) dx[2] = vbin;
    if (dx[2] < -vbin) dx[2] = -vbin;
    for (int i = 0; i < 3; i++) p[i] += dx[i];
    /* converged when every step is below CF_DOPPLER_STEP_TOL of its
     * parameter's predicted sigma (the diagonal of A^-1, which the
     * sandwich only enlarges): further steps could not move the estimate
     * by anything its uncertainty would show */
    int small = 1;
    for (int i = 0; i < 3; i++) small &= fabs(dx[i]) <= CF_DOPPLER_STEP_TOL * sqrt(C[i][i]);
    if (small) return 0;
  }
  return -2;
}

/* The fit from the search's v0: amplitudes by linear least squares at v0,
 * then Gauss-Newton in windows centred on v0; if the estimate ends in
 * more than one bin from the window's centre, the windows are re-centred on it
 * and the fit repeated (at most twice). win gets the windows used. */
static int fit_peak(const cf_doppler_setup *s, const gate_data *g, double v0, double p[3], double C[3][3],
                    int win[2][2]) {
  p[2] = v0;
  for (int l = 0; l < 2; l++) {
    double f = freq_of(s, l, v0), num = 0, den = 0;
    fit_window(s, f, &win[l][0], &win[l][1]);
    for (int k = win[l][0]; k <= win[l][1]; k++) {
      double h = cf_response_signal(&s->resp, f, k), w = 1.0 / (g->noise[l][k] * g->noise[l][k]);
      num += w * g->D[l][k] * h;
      den += w * h * h;
    }
    p[l] = den > 0 ? num / den : 0;
  }
  for (int pass = 0; pass < 3; pass++) {
    int rc = fit_in_windows(s, g, win, p, C);
    if (rc) return rc;
    /* re-centre only if the peak left the window's central three bins: a
     * peak near a half-bin boundary would otherwise flip the window back
     * and forth; one bin off centre still leaves fit_half - 1 bins on its
     * short side, more than the peak's width */
    int moved = 0, k0[2], k1[2];
    for (int l = 0; l < 2; l++) {
      fit_window(s, freq_of(s, l, p[2]), &k0[l], &k1[l]);
      if (abs((k0[l] + k1[l]) - (win[l][0] + win[l][1])) > 2) moved = 1;
    }
    if (!moved) return 0;
    for (int l = 0; l < 2; l++) win[l][0] = k0[l], win[l][1] = k1[l];
  }
  return -3; /* still moving after the re-centrings: no stable peak (and win no longer matches p) */
}

/* The sandwich covariance A^-1 (J^T W V W J) A^-1 of the weighted fit at
 * p (doppler.h), with V the bins' full covariance of bin_covariance.h:
 * per wavelength, V_jk = |Gamma_jk|^2 / N + (n_j n_k |gamma(j-k)|^2) / N_bg,
 * Gamma_jk = a+ E[X_j X_k^*]_unit + sqrt(n_j n_k) gamma(j-k). `u` is
 * scratch of 7 grid_win doubles. Returns -1 if A is singular. */
static int fit_covariance(const cf_doppler_setup *s, const gate_data *g, const double p[3], const int win[2][2],
                          double *u, double C[3][3]) {
  double A[3][3] = {{0}}, B[3][3] = {{0}}, zero[3] = {0}, x[3], Ai[3][3];
  for (int l = 0; l < 2; l++) {
    double f = freq_of(s, l, p[2]), bcyc = f / s->cfg.sample_rate, amp = p[l] > 0 ? p[l] : 0;
    int k0 = win[l][0], k1 = win[l][1];
    int n = k1 - k0 + 1;
    double *nn = u + 3 * n; /* noise of each bin, after the weighted rows */
    int image_free = cf_response_image_free(&s->resp, f, k0, k1);
    for (int k = k0; k <= k1; k++) {
      bin_terms t = terms_at(s, g, l, p, f, k, image_free);
      double w = 1.0 / t.var, J[3] = {l == 0 ? t.h : 0, l == 1 ? t.h : 0, p[l] * t.dh};
      for (int i = 0; i < 3; i++) {
        u[3 * (k - k0) + i] = w * J[i];
        for (int j = 0; j < 3; j++) A[i][j] += w * J[i] * J[j];
      }
      nn[k - k0] = g->noise[l][k];
      if (!s->opts.bins_correlated) /* independent bins: V is diagonal */
        for (int i = 0; i < 3; i++)
          for (int j = 0; j < 3; j++) B[i][j] += u[3 * (k - k0) + i] * u[3 * (k - k0) + j] * t.var;
    }
    if (!s->opts.bins_correlated) continue;
    double *sq = nn + n, *sr = sq + n, *si = sr + n; /* sqrt of the noise; one row of the return's part */
    for (int a = 0; a < n; a++) sq[a] = sqrt(nn[a]);
    const double inv_n = g->inv_n[l], inv_bg = g->inv_bg[l];
    /* B += U^T V U a row of V at a time: (V U)_a costs 3 per bin pair,
     * then one outer product per row (not 9 per pair) */
    for (int a = 0; a < n; a++) {
      cf_bincov_signal_row(&s->cov, k0 + a, k0, n, bcyc, sr, si);
      double vu[3] = {0, 0, 0};
      for (int c = 0; c < n; c++) {
        double gr, gi;
        cf_bincov_noise(&s->cov, a - c, &gr, &gi);
        double nq = sq[a] * sq[c];
        double re = amp * sr[c] + nq * gr, im = amp * si[c] + nq * gi;
        double v = (re * re + im * im) * inv_n + nq * nq * (gr * gr + gi * gi) * inv_bg;
        for (int j = 0; j < 3; j++) vu[j] += v * u[3 * c + j];
      }
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) B[i][j] += u[3 * a + i] * vu[j];
    }
  }
  if (solve3(A, zero, x, Ai)) return -1;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double v = 0;
      for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) v += Ai[i][a] * B[a][c] * Ai[c][j];
      C[i][j] = v;
    }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* alpha of one wavelength: measured ray noise / expected, from the bins
 * no return can reach (doppler.h). A gate whose out-of-band ratio is more
 * than 6 of its standard errors off the median of all gates (hard-target
 * leakage, a clipped record) is left out; the standard error includes the
 * bins' correlation (variance factor s->bin_var_factor). `r` is scratch
 * of 3 n_gates doubles. */
static double noise_factor(const cf_doppler_setup *s, const float *spec, const double *noise, int32_t pulses,
                           double *r) {
  const int G = s->cfg.n_gates, NB = s->resp.nbins;
  const int kmin = 2, kmax = NB - 3; /* DC and Nyquist can carry the ADC's offset */
  double *ratio = r, *sd = r + G, *sorted = r + 2 * G;
  int n_out = 0;
  for (int k = kmin; k <= kmax; k++) n_out += k < s->oob_lo || k > s->oob_hi;
  if (n_out < 8) return 1.0; /* the search band fills the spectrum: nothing to measure against */
  for (int g = 0; g < G; g++) {
    const float *S = spec + (size_t)g * NB;
    const double *n = noise + (size_t)g * NB;
    double so = 0, sn = 0, sn2 = 0;
    for (int k = kmin; k <= kmax; k++) {
      if (k >= s->oob_lo && k <= s->oob_hi) continue;
      so += S[k];
      sn += n[k];
      sn2 += n[k] * n[k];
    }
    double expect = (double)pulses * sn;
    ratio[g] = expect > 0 ? so / expect : NAN;
    sd[g] = expect > 0 ? sqrt(s->bin_var_factor * (double)pulses * sn2) / expect : NAN;
  }
  int nf = 0;
  for (int g = 0; g < G; g++)
    if (isfinite(ratio[g])) sorted[nf++] = ratio[g];
  if (nf == 0) return 1.0;
  qsort(sorted, (size_t)nf, sizeof *sorted, cmp_double);
  double med = nf % 2 ? sorted[nf / 2] : 0.5 * (sorted[nf / 2 - 1] + sorted[nf / 2]);
  double num = 0, den = 0;
  for (int g = 0; g < G; g++) {
    if (!(fabs(ratio[g] - med) <= 6.0 * sd[g])) continue;
    const float *S = spec + (size_t)g * NB;
    const double *n = noise + (size_t)g * NB;
    for (int k = kmin; k <= kmax; k++) {
      if (k >= s->oob_lo && k <= s->oob_hi) continue;
      num += S[k];
      den += (double)pulses * n[k];
    }
  }
  return den > 0 ? num / den : 1.0;
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
    if (out->power_cov) out->power_cov[g] = NAN;
  }
  out->alpha[0] = out->alpha[1] = NAN;
  if (!ray_ok) {
    for (int g = 0; g < G; g++) out->qc[g] = CF_QC_BAD_RAY | CF_QC_NO_CO2;
    return;
  }
  for (int l = 0; l < 2; l++) out->alpha[l] = noise_factor(s, spec[l], s->noise[l], np[l], work);
  double *buf = work, *scratch = work + cf_doppler_work_size(s) - cf_doppler_scratch_size(s);
  for (int g = 0; g < G; g++) {
    gate_data gd;
    const size_t NW = (size_t)NB + s->grid_pad; /* the search's weights run grid_pad past the band */
    double *D[2] = {buf, buf + NB}, *nn[2] = {buf + 2 * NB, buf + 3 * NB}, *w[2] = {buf + 4 * NB, buf + 4 * NB + NW},
           *wD[2] = {buf + 4 * NB + 2 * NW, buf + 4 * NB + 3 * NW};
    double cnr_best = -INFINITY;
    for (int l = 0; l < 2; l++) {
      const float *S = spec[l] + (size_t)g * NB;
      const double *n = s->noise[l] + (size_t)g * NB;
      /* wideband CNR: the excess power where a return can be (elsewhere it
       * is zero-mean noise that would only add variance) over the noise
       * power of the whole band */
      double sd = 0, sn = 0;
      for (int k = 0; k < NB; k++) {
        nn[l][k] = out->alpha[l] * n[k];
        D[l][k] = S[k] / np[l] - nn[l][k];
        if (k >= s->oob_lo && k <= s->oob_hi) sd += D[l][k];
        sn += nn[l][k];
      }
      gd.w[l] = w[l];
      gd.wD[l] = wD[l];
      double cnr = sd / sn;
      out->cnr_db[l][g] = cnr > 0 ? 10.0 * log10(cnr) : NAN;
      if (cnr > 0 && 10.0 * log10(cnr) > cnr_best) cnr_best = 10.0 * log10(cnr);
      gd.D[l] = D[l];
      gd.noise[l] = nn[l];
      gd.inv_n[l] = 1.0 / np[l];
      gd.inv_bg[l] = 1.0 / s->bg_pulses[l];
    }
    uint16_t qc = 0;
    if (!(cnr_best >= s->opts.cnr_min_db)) qc |= CF_QC_LOW_CNR;
    if (cnr_best > s->opts.hard_target_db) qc |= CF_QC_HARD_TARGET;
    if (cf_l0_gate_range(c, g) < s->opts.near_range_m) qc |= CF_QC_NEAR_RANGE;
    if (qc & CF_QC_LOW_CNR) { /* below the threshold nothing is fitted (doppler.h, "Detection") */
      out->qc[g] = qc;
      continue;
    }
    for (int l = 0; l < 2; l++) {
      for (int k = s->k_lo; k <= s->k_hi; k++) { /* the search band's bins: all the search reads */
        w[l][k] = np[l] / (nn[l][k] * nn[l][k]);
        wD[l][k] = w[l][k] * D[l][k];
      }
      for (int k = s->k_hi + 1; k <= s->k_hi + s->grid_pad; k++) w[l][k] = wD[l][k] = 0.0; /* meet zero taps */
    }
    int edge = 0;
    double v0 = grid_search(s, &gd, scratch, &edge);
    double p[3], C[3][3];
    int win[2][2];
    int frc = fit_peak(s, &gd, v0, p, C, win);
    if (!frc) frc = fit_covariance(s, &gd, p, win, scratch, C);
    if (frc || !(C[2][2] > 0) || !(C[0][0] > 0) || !(C[1][1] > 0) || !(p[0] + p[1] > 0)) {
      qc |= CF_QC_FIT_FAILED;
    } else {
      out->v[g] = p[2];
      out->v_sigma[g] = sqrt(C[2][2]);
      for (int l = 0; l < 2; l++) {
        out->power[l][g] = p[l];
        out->power_sigma[l][g] = sqrt(C[l][l]);
      }
      if (out->power_cov) out->power_cov[g] = C[0][1];
      if (edge || fabs(p[2]) > s->opts.v_max) qc |= CF_QC_OUT_OF_BAND;
      double zon = p[0] / sqrt(C[0][0]), zoff = p[1] / sqrt(C[1][1]);
      if (!(hypot(zon > 0 ? zon : 0, zoff > 0 ? zoff : 0) >= s->opts.peak_snr_min)) qc |= CF_QC_LOW_CNR;
    }
    out->qc[g] = qc;
  }
}
