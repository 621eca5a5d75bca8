/*
 * The periodogram bin covariance (lidar/bin_covariance.h), the Gamma
 * quantiles (lidar/gamma_quantile.h) and the correlated spectra the
 * simulator draws from them (lidar/sim_spectra.h).
 *
 * Every reference is computed here independently of the code under test:
 * E[X_j X_k^*] by the direct double sum over sample pairs of its
 * definition; Gamma quantiles against closed forms (a = 1, 2, 5), the
 * Poisson sum that equals P(a, x) for integer a (a = 200, 5000) and the
 * Cornish-Fisher expansion for a = 1e7; drawn spectra against theta_k and
 * theta_k^2 / N and against the directly summed correlation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "lidar/bin_covariance.h"
#include "lidar/gamma_quantile.h"
#include "lidar/sim_spectra.h"

#define PI 3.14159265358979323846

/* A small gating whose double sums are cheap: L = 64, M = 128 (or as
 * given), pulse s = 8 samples. */
static void small_config(cf_l0_config *c, int L, int M, cf_window_kind win) {
  memset(c, 0, sizeof *c);
  c->sample_rate = 5e8;
  c->gate_samples = L;
  c->gate_step = L;
  c->fft_size = M;
  c->window = win;
  c->n_gates = 1;
  /* s = tau fs / (2 sqrt(ln 2)) = 8 samples */
  c->pulse_width = 8.0 * 2.0 * sqrt(log(2.0)) / c->sample_rate;
}

/* E[X_j X_k^*] of a unit-variance return at b, the part at +b, by the
 * definition: 1/2 sum_{n,m} w_n w_m rho(n-m) e^{2 pi i b (n-m)} e^{-2 pi i (j n - k m)/M}. */
static void direct_signal(const cf_response *r, int j, int k, double b, double *re, double *im) {
  double sr = 0, si = 0;
  for (int n = 0; n < r->L; n++)
    for (int m = 0; m < r->L; m++) {
      double d = n - m, rho = exp(-d * d / (4.0 * r->sigma * r->sigma));
      double ph = 2 * PI * b * d - 2 * PI * ((double)j * n - (double)k * m) / r->M;
      sr += r->w[n] * r->w[m] * rho * cos(ph);
      si += r->w[n] * r->w[m] * rho * sin(ph);
    }
  *re = 0.5 * sr;
  *im = 0.5 * si;
}

/* gamma(D) = sum_n w_n^2 e^{-2 pi i D n / M} / sum_n w_n^2, by its definition. */
static void direct_gamma(const cf_response *r, int D, double *re, double *im) {
  double s0 = 0, sr = 0, si = 0;
  for (int n = 0; n < r->L; n++) {
    double w2 = r->w[n] * r->w[n];
    s0 += w2;
    sr += w2 * cos(2 * PI * (double)D * n / r->M);
    si -= w2 * sin(2 * PI * (double)D * n / r->M);
  }
  *re = sr / s0;
  *im = si / s0;
}

static void signal_covariance_equals_its_definition(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  for (int win = 0; win < 2; win++) {
    cf_l0_config c;
    small_config(&c, 64, 128, (cf_window_kind)win);
    cf_response r;
    assert_int_equal(cf_response_init(ctx, &r, &c), CF_OK);
    cf_bincov bc;
    assert_int_equal(cf_bincov_init(ctx, &bc, &r, 8), CF_OK);
    const double b = 0.2 + 0.37 / 128; /* between bins */
    int kc = (int)lround(b * 128);
    double peak = 0, worst = 0;
    for (int j = kc - 8; j <= kc + 8; j++)
      for (int k = kc - 8; k <= kc + 8; k++) {
        double re, im, dre, dim;
        cf_bincov_signal(&bc, j, k, b, &re, &im);
        direct_signal(&r, j, k, b, &dre, &dim);
        if (j == k && fabs(dre) > peak) peak = fabs(dre);
        double e = hypot(re - dre, im - dim);
        if (e > worst) worst = e;
      }
    /* the table is interpolated (cubic, 32 points a bin): 1e-6 of the
     * peak is a thousand times below any use (variances are known to a
     * percent at best) and far above double rounding */
    print_message("window %s: largest |table - direct| %.2e of the peak %.4g\n", win ? "hann" : "rect", worst / peak, peak);
    assert_true(worst < 1e-6 * peak);
    /* the diagonal is the mean response of response.h (its part at +b) */
    double re, im;
    cf_bincov_signal(&bc, kc, kc, b, &re, &im);
    assert_close(re, 0.5 * cf_response_k_exact(&r, (double)kc / 128 - b), 1e-6, 0);
    assert_close(im, 0.0, 0, 1e-9 * re);
    for (int D = -16; D <= 16; D++) {
      double gr, gi, dr, di;
      cf_bincov_noise(&bc, D, &gr, &gi);
      direct_gamma(&r, D, &dr, &di);
      assert_close(gr, dr, 0, 1e-12);
      assert_close(gi, di, 0, 1e-12);
    }
    /* |gamma|^2 over all lags from the folded w^2 autocorrelation */
    double white[128], acf[128];
    cf_bincov_white(&r, white, acf);
    for (int D = 0; D < 128; D++) {
      double dr, di;
      direct_gamma(&r, D, &dr, &di);
      assert_close(white[D], dr * dr + di * di, 0, 1e-12);
    }
    cf_bincov_free(&bc);
    cf_response_free(&r);
  }
  cf_ctx_destroy(ctx);
}

/* P(a, x) for integer a: 1 - e^-x sum_{k<a} x^k / k!, summed in logs. */
static double poisson_p(int a, double x) {
  double lt = -x, s = 0; /* term k: exp(-x + k ln x - ln k!) */
  for (int k = 0; k < a; k++) {
    s += exp(lt);
    lt += log(x) - log(k + 1.0);
  }
  return 1.0 - s;
}

/* The same as e^-x sum_{k>=a} x^k / k! (no cancellation when P is tiny). */
static double poisson_tail(int a, double x) {
  double s = 0;
  for (int k = a; k < a + 2000; k++) {
    double t = exp(-x + k * log(x) - lgamma(k + 1.0));
    s += t;
    if (k > x && t < 1e-18 * s) break;
  }
  return s;
}

static double phi(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

static void gamma_quantiles_against_closed_forms(void **state) {
  (void)state;
  const double zs[] = {-7, -3, -1, 0, 0.5, 2, 4, 7};
  for (size_t i = 0; i < sizeof zs / sizeof *zs; i++) {
    double z = zs[i], p = phi(z), q = 0.5 * erfc(z / sqrt(2.0));
    /* a = 1: exponential, x = -ln Q = -ln(1 - P) (log1p keeps the lower tail) */
    assert_close(cf_gamma_quantile_z(1.0, z), z < 0 ? -log1p(-p) : -log(q), 1e-10, 0);
    /* a = 2: P = 1 - e^-x (1 + x); a = 5: P = 1 - e^-x sum_{k<5} x^k/k!.
     * Checked through the closed forms' own values at the quantile (on
     * the side that does not round: Q for z > 0) */
    double x2 = cf_gamma_quantile_z(2.0, z), x5 = cf_gamma_quantile_z(5.0, z);
    double q2 = exp(-x2) * (1 + x2), q5 = exp(-x5) * (1 + x5 + x5 * x5 / 2 + pow(x5, 3) / 6 + pow(x5, 4) / 24);
    if (z < 0) { /* the lower tail as its own series: 1 - Q would cancel */
      assert_close(poisson_tail(2, x2), p, 1e-10, 0);
      assert_close(poisson_tail(5, x5), p, 1e-10, 0);
    } else {
      assert_close(q2, q, 1e-10, 0);
      assert_close(q5, q, 1e-10, 0);
    }
    /* a = 200 and 5000 (Temme's expansion inside) against the Poisson sum */
    if (fabs(z) <= 4) {
      assert_close(poisson_p(200, cf_gamma_quantile_z(200, z)), p, 1e-7, 1e-12);
      assert_close(poisson_p(5000, cf_gamma_quantile_z(5000, z)), p, 1e-6, 1e-10);
    }
    /* a = 1e7: Cornish-Fisher, x = a + z sqrt(a) + (z^2-1)/3 + (z^3-7z)/(36 sqrt(a)) + O(1/a) */
    double a = 1e7, cf = a + z * sqrt(a) + (z * z - 1) / 3 + (z * z * z - 7 * z) / (36 * sqrt(a));
    assert_close(cf_gamma_quantile_z(a, z), cf, 1e-12, 1e-3);
  }
  /* the table: within 1e-9 of the solved quantile between its nodes */
  cf_ctx *ctx = cf_test_ctx();
  cf_gamma_qtable t;
  assert_int_equal(cf_gamma_qtable_init(ctx, &t, 5000), CF_OK);
  for (double z = -8.3; z < 8.3; z += 0.731)
    assert_close(cf_gamma_qtable_at(&t, z), cf_gamma_quantile_z(5000, z), 1e-9, 0);
  cf_gamma_qtable_free(&t);
  cf_ctx_destroy(ctx);
}

/* Drawn spectra: every bin's mean theta_k and variance theta_k^2 / N (the
 * Gamma marginal) and the correlation of neighbouring bins against the
 * direct sum, |Gamma_jk|^2 / (Gamma_jj Gamma_kk), at a return of CNR well
 * above the noise so that the return's part of the correlation matters. */
static void drawn_spectra_have_gamma_marginals_and_the_true_correlation(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_l0_config c;
  small_config(&c, 64, 256, CF_WINDOW_HANN);
  cf_response r;
  assert_int_equal(cf_response_init(ctx, &r, &c), CF_OK);
  const int N = 400, T = 40000, NB = r.nbins;
  cf_sim_spectra s;
  assert_int_equal(cf_sim_spectra_init(ctx, &s, &r, 0, N, 1000), CF_OK);
  cf_sim_spectra_work w;
  assert_int_equal(cf_sim_spectra_work_alloc(&w, &s), 0);
  double *noise = malloc((size_t)NB * sizeof *noise);
  for (int k = 0; k < NB; k++) noise[k] = 1.0 + 0.2 * cos(0.02 * k); /* a smooth, non-white floor */
  const double b = 0.18 + 0.3 / 256, a2 = 40.0;
  int kc = (int)lround(b * 256), h = 5, n = 2 * h + 1;
  double mean[11] = {0}, m2[11][11] = {{0}};
  float *out = malloc((size_t)NB * sizeof *out);
  cf_rng rng;
  cf_rng_seed(&rng, 99, 1);
  for (int t = 0; t < T; t++) {
    cf_sim_spectra_gate(&s, &w, &rng, N, noise, a2, b, out);
    for (int i = 0; i < n; i++) {
      double x = out[kc - h + i] / N;
      mean[i] += x / T;
      for (int j = 0; j < n; j++) m2[i][j] += x * out[kc - h + j] / N / T;
    }
  }
  for (int i = 0; i < n; i++) {
    int k = kc - h + i;
    double theta = noise[k] + a2 * cf_response_signal(&r, b * c.sample_rate, k);
    double var = m2[i][i] - mean[i] * mean[i];
    /* T = 4e4 draws: the mean is known to theta/sqrt(N T) = 2.5e-4 theta
     * (6 sigma: 1.5e-3); the variance to sqrt(2/T) = 0.7 % (5 sigma: 3.5 %) */
    assert_close(mean[i], theta, 1.5e-3, 0);
    assert_close(var, theta * theta / N, 0.035, 0);
  }
  double worst = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n && j <= i + 3; j++) {
      int ki = kc - h + i, kj = kc - h + j;
      double sr, si, gr, gi, ni = sqrt(noise[ki] * noise[kj]);
      direct_signal(&r, ki, kj, b, &sr, &si);
      direct_gamma(&r, ki - kj, &gr, &gi);
      double re = a2 * sr + ni * gr, im = a2 * si + ni * gi;
      double di, dj, tmp;
      direct_signal(&r, ki, ki, b, &di, &tmp);
      direct_signal(&r, kj, kj, b, &dj, &tmp);
      double want = (re * re + im * im) / ((a2 * di + noise[ki]) * (a2 * dj + noise[kj]));
      double got = (m2[i][j] - mean[i] * mean[j]) / sqrt((m2[i][i] - mean[i] * mean[i]) * (m2[j][j] - mean[j] * mean[j]));
      if (fabs(got - want) > worst) worst = fabs(got - want);
    }
  /* a sample correlation of 4e4 draws errs by (1 - rho^2)/sqrt(T) <= 5e-3;
   * 0.02 is 4 of those at the worst of ~30 pairs */
  print_message("largest |sample - true| bin correlation near the return: %.4f\n", worst);
  assert_true(worst < 0.02);
  free(out);
  free(noise);
  cf_sim_spectra_work_free(&w);
  cf_sim_spectra_free(&s);
  cf_response_free(&r);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(signal_covariance_equals_its_definition),
      cmocka_unit_test(gamma_quantiles_against_closed_forms),
      cmocka_unit_test(drawn_spectra_have_gamma_marginals_and_the_true_correlation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
