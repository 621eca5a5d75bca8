/*
 * The raw path's FFT plans and the Doppler fit's response derivative.
 *
 * Wisdom (lidar/fft_wisdom.h): measured plans leave a wisdom file, written
 * through a part file; a corrupt file or an unwritable cache is logged and
 * ignored, never an error. Spectra (lidar/spectra.h) from the measured and
 * the estimated plan both equal a direct DFT written out here from the L0
 * spec's definition (window, gate offsets, zero padding, |X_k|^2 summed
 * over records), within rounding; 1 and 2 threads give the same bits for
 * one plan; a saturated sample flags its gate. The response's derivative
 * (cf_response_k_dk) matches the derivative of the series of response.h
 * differentiated by hand.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "lidar/fft_wisdom.h"
#include "lidar/response.h"
#include "lidar/spectra.h"

#define PI 3.14159265358979323846

enum { G = 3, L = 40, STEP = 50, FIRST = 7, M = 64, NB = M / 2 + 1, NREC = 150 };
#define NS (FIRST + (G - 1) * STEP + L + 5)

static int starts_with_file(const char *path, const char *prefix) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[64] = {0};
  size_t n = fread(buf, 1, strlen(prefix), f);
  fclose(f);
  return n == strlen(prefix) && !memcmp(buf, prefix, n);
}

static cf_l0_config small_config(void) {
  cf_l0_config c;
  memset(&c, 0, sizeof c);
  c.gate_first = FIRST, c.gate_samples = L, c.gate_step = STEP, c.n_gates = G, c.fft_size = M;
  c.window = CF_WINDOW_HANN;
  return c;
}

/* A measured plan writes the wisdom file (creating its directory), as
 * FFTW's own text and with no part file left beside it. */
static void measured_plan_keeps_wisdom(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char sub[1024], path[1100];
  snprintf(sub, sizeof sub, "%s/cache/carbonflux", dir);
  snprintf(path, sizeof path, "%s/fftw-wisdom-test", sub);
  setenv("CARBONFLUX_FFTW_WISDOM", path, 1);
  fftw_forget_wisdom(); /* so that planning has something new to keep */
  cf_ctx *ctx = cf_test_ctx();
  cf_l0_config c = small_config();
  cf_spectra_plan p;
  assert_int_equal(cf_spectra_plan_create(ctx, &c, FFTW_MEASURE, &p), CF_OK);
  assert_true(starts_with_file(path, "(fftw-3"));
  assert_int_equal(cf_test_count_entries(sub, ".part"), 0);
  char *used = cf_fft_wisdom_path();
  assert_string_equal(used, path);
  free(used);
  cf_spectra_plan_destroy(&p);
  setenv("CARBONFLUX_FFTW_WISDOM", "off", 1);
  used = cf_fft_wisdom_path();
  assert_null(used);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* A corrupt file is ignored (planning succeeds, no error is left in the
 * context) and replaced by good wisdom; an unwritable cache is no error. */
static void bad_wisdom_files_are_no_error(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *bad = cf_test_path(dir, "wisdom-corrupt");
  cf_test_write_text(bad, "(fftw-3.3 this is not wisdom\n");
  setenv("CARBONFLUX_FFTW_WISDOM", bad, 1);
  fftw_forget_wisdom();
  cf_ctx *ctx = cf_test_ctx();
  cf_l0_config c = small_config();
  cf_spectra_plan p;
  assert_int_equal(cf_spectra_plan_create(ctx, &c, FFTW_MEASURE, &p), CF_OK);
  assert_int_equal(cf_error_code(ctx), CF_OK);
  assert_false(cf_test_file_contains(bad, "this is not wisdom"));
  assert_true(starts_with_file(bad, "(fftw-3"));
  cf_spectra_plan_destroy(&p);
  /* a directory that cannot be made: logged, planning goes on */
  setenv("CARBONFLUX_FFTW_WISDOM", "/proc/cf-no-such-dir/wisdom", 1);
  fftw_forget_wisdom();
  assert_int_equal(cf_spectra_plan_create(ctx, &c, FFTW_MEASURE, &p), CF_OK);
  assert_int_equal(cf_error_code(ctx), CF_OK);
  cf_spectra_plan_destroy(&p);
  setenv("CARBONFLUX_FFTW_WISDOM", "off", 1);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* Both plans give the direct DFT's periodogram sums. The direct sum is
 * computed here in long double from the definition: for every record q
 * and gate g, X_k = sum_{n<L} w_n x[q][FIRST + g STEP + n] e^{-2 pi i k n / M},
 * w_n = 0.5 - 0.5 cos(2 pi n / (L - 1)) (Hann, the L0 spec), summed |X_k|^2.
 * Tolerance 1e-10 of the largest bin: a double FFT of 64 points errs by
 * ~1e-15 relative per value, summed over 150 records; any wrong window,
 * offset or padding errs by O(1). */
static void spectra_equal_the_direct_dft(void **state) {
  (void)state;
  setenv("CARBONFLUX_FFTW_WISDOM", "off", 1);
  int16_t *x = malloc((size_t)NREC * NS * sizeof *x);
  uint64_t s = 12345;
  for (int i = 0; i < NREC * NS; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (int16_t)((int)((s >> 33) % 2001) - 1000);
  }
  x[5 * NS + FIRST + STEP + 3] = INT16_MAX; /* gate 1 of record 5 saturates */
  long double direct[G * NB] = {0};
  for (int q = 0; q < NREC; q++)
    for (int g = 0; g < G; g++)
      for (int k = 0; k < NB; k++) {
        long double re = 0, im = 0;
        for (int n = 0; n < L; n++) {
          long double w = 0.5L - 0.5L * cosl(2 * (long double)PI * n / (L - 1));
          long double v = w * x[(size_t)q * NS + FIRST + g * STEP + n];
          re += v * cosl(2 * (long double)PI * k * n / M);
          im -= v * sinl(2 * (long double)PI * k * n / M);
        }
        direct[g * NB + k] += re * re + im * im;
      }
  long double peak = 0;
  for (int i = 0; i < G * NB; i++)
    if (direct[i] > peak) peak = direct[i];
  cf_ctx *ctx = cf_test_ctx();
  cf_l0_config c = small_config();
  unsigned flags[2] = {FFTW_ESTIMATE, FFTW_MEASURE};
  for (int f = 0; f < 2; f++) {
    cf_spectra_plan p;
    assert_int_equal(cf_spectra_plan_create(ctx, &c, flags[f], &p), CF_OK);
    void *part = malloc(cf_spectra_part_size(&p, NREC));
    double out1[G * NB], out2[G * NB];
    uint8_t clip1[G] = {0}, clip2[G] = {0};
    assert_int_equal(cf_spectra_sum(&p, x, NREC, NS, 1, part, out1, clip1), 0);
    assert_int_equal(cf_spectra_sum(&p, x, NREC, NS, 2, part, out2, clip2), 0);
    assert_memory_equal(out1, out2, sizeof out1); /* one plan: same bits for any thread count */
    for (int i = 0; i < G * NB; i++) assert_true(fabsl(out1[i] - direct[i]) <= 1e-10L * peak);
    assert_int_equal(clip1[0], 0);
    assert_int_equal(clip1[1], 1);
    assert_int_equal(clip1[2], 0);
    assert_memory_equal(clip1, clip2, sizeof clip1);
    free(part);
    cf_spectra_plan_destroy(&p);
  }
  cf_ctx_destroy(ctx);
  free(x);
}

/* dK/dnu of the interpolant against the series differentiated by hand:
 * K(nu) = C_w(0) + sum_d 2 C_w(d) rho(d) cos(2 pi nu d), so
 * K'(nu) = -sum_d 2 C_w(d) rho(d) 2 pi d sin(2 pi nu d), with rho(d) =
 * exp(-d^2 / (4 s^2)) and C_w from the Hann window, all computed here.
 * The cubic's slope errs by O(h^2 K''') with h = 1/64 of a bin: 1e-4 of
 * the largest slope bounds it with room (a finite-difference or sign error
 * gives O(1)); the value must still equal cf_response_k's exactly. */
static void response_derivative_is_the_series_derivative(void **state) {
  (void)state;
  cf_l0_config c = small_config();
  c.gate_samples = 100, c.fft_size = 256, c.sample_rate = 500e6, c.pulse_width = 200e-9;
  cf_ctx *ctx = cf_test_ctx();
  cf_response r;
  assert_int_equal(cf_response_init(ctx, &r, &c), CF_OK);
  const int Lr = c.gate_samples;
  double sig = c.pulse_width * c.sample_rate / (2.0 * sqrt(log(2.0)));
  double w[100], cw[100];
  for (int n = 0; n < Lr; n++) w[n] = 0.5 - 0.5 * cos(2 * PI * n / (Lr - 1));
  for (int d = 0; d < Lr; d++) {
    cw[d] = 0;
    for (int n = 0; n + d < Lr; n++) cw[d] += w[n] * w[n + d];
  }
  enum { NP = 400 };
  double hand[NP], interp[NP], maxslope = 0;
  for (int i = 0; i < NP; i++) {
    double nu = -0.04 + 0.08 * i / (NP - 1) + 1e-5; /* across the peak, both signs, between table points */
    double dk = 0;
    for (int d = 1; d < Lr; d++) dk -= 2 * cw[d] * exp(-(double)d * d / (4 * sig * sig)) * 2 * PI * d * sin(2 * PI * nu * d);
    hand[i] = dk;
    double k = cf_response_k_dk(&r, nu, &interp[i]);
    assert_true(k == cf_response_k(&r, nu));
    if (fabs(dk) > maxslope) maxslope = fabs(dk);
  }
  for (int i = 0; i < NP; i++) assert_true(fabs(interp[i] - hand[i]) <= 1e-4 * maxslope);
  /* the signal's derivative in f: chain rule through b = f / fs, dh/df = 0.5 (K'(a+b) - K'(a-b)) / fs */
  double f = 80e6, dh, dh_direct; /* the AOM offset: the image at 0.32 cycles/sample is past the cut */
  int kbin = (int)lround(f / c.sample_rate * c.fft_size);
  double h = cf_response_signal_df(&r, f, kbin, &dh);
  assert_true(h == cf_response_signal(&r, f, kbin));
  double h2 = cf_response_signal_df_direct(&r, f, kbin, &dh_direct);
  assert_true(cf_response_image_free(&r, f, kbin, kbin));
  assert_true(h2 == h && dh_direct == dh);
  cf_response_free(&r);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(measured_plan_keeps_wisdom),
      cmocka_unit_test(bad_wisdom_files_are_no_error),
      cmocka_unit_test(spectra_equal_the_direct_dft),
      cmocka_unit_test(response_derivative_is_the_series_derivative),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
