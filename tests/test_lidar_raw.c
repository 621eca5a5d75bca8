/*
 * The raw path agrees with the spectra level for the same scene, and the
 * lidar outputs do not depend on the thread count.
 *
 * Raw: the simulator makes heterodyne records sample by sample (speckle as
 * a correlated complex Gaussian process, Doppler phase, filtered receiver
 * noise, int16), and lidar/spectra.c turns them into accumulated spectra
 * by FFT. Spectra level: the simulator draws accumulated spectra from the
 * response model's expectation (lidar/response.h). The two are
 * independent routes to the same quantity, so averaged over rays they must
 * agree within their statistical error, bin by bin; and both must give the
 * true radial velocities.
 */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/lidar_l0.h"
#include "lidar/l2_write.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"
#include "lidar/spectra.h"

/* A small scene: 10 gates, 6 rays of one VAD-like scan, 400 pulses per
 * wavelength per ray (raw dumps are short). */
static void small_scene(cf_sim_config *c, cf_l0_level level) {
  cf_sim_defaults(c, CF_SCAN_VAD);
  c->instrument.level = level;
  c->instrument.n_gates = 10;
  c->n_scans = 1;
  c->rays_per_scan = 6;
  c->raw_pulses = 400;
  c->ray_seconds = 2.0 * 400 / c->instrument.pulse_repetition; /* the same 400 pulses at level spectra */
  c->background_pulses = 2000;
  c->seed = 77;
}

typedef struct {
  double *sum[2]; /* summed over rays, [G][NB] */
  size_t per;
  int NB;
  double *bg[2];  /* per-pulse background spectra, [G][NB] */
  /* the correlation of neighbouring bins where only noise is: sums of
   * r_k r_{k+D} for D = 0..3, r_k = S_k / (N n_k) - 1 */
  double lag[4];
} spec_sum;

/* bins no return reaches in small_scene (the AOM at 80 MHz is bin 82 of
 * 512; +-30 m/s is +-39 bins; the peak's tails a few more) */
static int noise_only_bin(int k, int nb) { return (k >= 4 && k < 30) || (k > 135 && k < nb - 6); }

static int sum_emit(cf_ctx *ctx, void *user, int which, int ray, const float *s, int32_t pulses, const uint8_t *clipped) {
  (void)clipped;
  spec_sum *ss = user;
  if (ray < 0) {
    for (size_t k = 0; k < ss->per; k++) ss->bg[which][k] = s[k] / pulses;
    return CF_OK;
  }
  for (size_t k = 0; k < ss->per; k++) ss->sum[which][k] += s[k] / pulses;
  for (size_t g = 0; g < ss->per / (size_t)ss->NB; g++) {
    const float *sg = s + g * ss->NB;
    const double *n = ss->bg[which] + g * ss->NB;
    for (int k = 0; k + 3 < ss->NB; k++)
      for (int D = 0; D < 4; D++)
        if (noise_only_bin(k, ss->NB) && noise_only_bin(k + D, ss->NB))
          ss->lag[D] += (sg[k] / (pulses * n[k]) - 1.0) * (sg[k + D] / (pulses * n[k + D]) - 1.0);
  }
  (void)ctx;
  return CF_OK;
}

static void raw_and_spectra_levels_agree(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  cf_sim_config cr, cs;
  small_scene(&cr, CF_L0_RAW);
  small_scene(&cs, CF_L0_SPECTRA);
  assert_int_equal(cf_simulate_lidar(ctx, &cr, cf_test_path(dir, "raw.h5"), cf_test_path(dir, "raw_truth.nc")), CF_OK);
  assert_int_equal(cf_simulate_lidar(ctx, &cs, cf_test_path(dir, "spec.h5"), NULL), CF_OK);

  cf_l0 *lr, *ls;
  assert_int_equal(cf_l0_open(ctx, cf_test_path(dir, "raw.h5"), 0, &lr), CF_OK);
  assert_int_equal(cf_l0_open(ctx, cf_test_path(dir, "spec.h5"), 0, &ls), CF_OK);
  int G = lr->cfg.n_gates, NB = cf_l0_nbins(&lr->cfg), R = lr->n_rays;
  size_t per = (size_t)G * NB;
  spec_sum raw = {{calloc(per, sizeof(double)), calloc(per, sizeof(double))}, per, NB,
                  {calloc(per, sizeof(double)), calloc(per, sizeof(double))}, {0}};
  cf_spectra_plan plan;
  assert_int_equal(cf_spectra_plan_create(ctx, &lr->cfg, FFTW_ESTIMATE, &plan), CF_OK);
  for (int l = 0; l < 2; l++) assert_int_equal(cf_spectra_from_raw(ctx, lr, l, &plan, sum_emit, &raw), CF_OK);
  cf_spectra_plan_destroy(&plan);
  /* The FFTs of the records correlate neighbouring bins exactly as
   * lidar/bin_covariance.h says: for noise, |gamma(D)|^2 with gamma(D) =
   * sum_n w_n^2 e^{-2 pi i D n / M} / sum_n w_n^2, computed here from the
   * window's definition. ~20000 noise bins: a sample correlation errs by
   * about 0.01 (0.015 with the bins' own correlation); 0.05 is three of
   * those and far below what the old independent-bin model missed (0.47
   * at D = 1). */
  assert_int_equal(lr->cfg.window, CF_WINDOW_HANN); /* the window written out below */
  for (int D = 1; D < 4; D++) {
    const int L = lr->cfg.gate_samples, M = lr->cfg.fft_size;
    double s0 = 0, re = 0, im = 0;
    for (int n = 0; n < L; n++) {
      double w = 0.5 - 0.5 * cos(2 * 3.14159265358979323846 * n / (L - 1)), w2 = w * w;
      s0 += w2;
      re += w2 * cos(2 * 3.14159265358979323846 * D * n / M);
      im -= w2 * sin(2 * 3.14159265358979323846 * D * n / M);
    }
    double want = (re * re + im * im) / (s0 * s0), got = raw.lag[D] / raw.lag[0];
    print_message("raw records: bin correlation at lag %d: %.3f (window model %.3f)\n", D, got, want);
    assert_close(got, want, 0, 0.05);
  }
  free(raw.bg[0]);
  free(raw.bg[1]);
  double *spec[2] = {calloc(per, sizeof(double)), calloc(per, sizeof(double))};
  float *buf = malloc(per * sizeof *buf);
  for (int l = 0; l < 2; l++)
    for (int r = 0; r < R; r++) {
      assert_int_equal(cf_l0_read_spectra(ctx, ls, l, r, 1, buf), CF_OK);
      for (size_t k = 0; k < per; k++) spec[l][k] += buf[k] / ls->pulses[l][r];
    }
  /* z = (raw - spectra) / sd per bin, where each ray's per-pulse mean has
   * variance theta^2 / N (exponential periodograms); theta from the mean
   * of the two. DC and Nyquist bins are chi-square with 1 degree of
   * freedom (twice the variance) and are left out. */
  double sz = 0, sz2 = 0;
  long n = 0;
  const double N = 400.0 * R;
  for (int l = 0; l < 2; l++)
    for (int g = 0; g < G; g++)
      for (int k = 1; k < NB - 1; k++) {
        size_t i = (size_t)g * NB + k;
        double a = raw.sum[l][i] / R, b = spec[l][i] / R, theta = 0.5 * (a + b);
        double z = (a - b) / (theta * sqrt(2.0 / N));
        sz += z;
        sz2 += z * z;
        n++;
      }
  double mean = sz / n, rms = sqrt(sz2 / n);
  print_message("raw vs spectra: %ld bins, mean z %.3f, rms z %.3f\n", n, mean, rms);
  /* mean: a systematic difference of the model from the FFT of the
   * simulated records would shift it; with ~5000 bins whose neighbours
   * are correlated by the window (about 3 effective per independent one)
   * its noise is ~0.025, so |mean| < 0.1 is four sigma. rms: 1 if the two
   * agree in distribution; the Hann window's bin correlation does not
   * change the marginal variance. */
  assert_true(fabs(mean) < 0.1);
  assert_true(rms > 0.9 && rms < 1.1);
  free(raw.sum[0]);
  free(raw.sum[1]);
  free(spec[0]);
  free(spec[1]);
  free(buf);
  cf_l0_close(lr);
  cf_l0_close(ls);

  /* both levels through the whole chain give the truth's velocities */
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  o.do_wind = 0;
  assert_int_equal(cf_lidar_l0_to_l2(ctx, cf_test_path(dir, "raw.h5"), cf_test_path(dir, "raw_l2.nc"), &o, NULL), CF_OK);
  int nc, id;
  double vr[6 * 10], tv[6 * 10], vs[6 * 10];
  assert_int_equal(nc_open(cf_test_path(dir, "raw_l2.nc"), NC_NOWRITE, &nc), NC_NOERR);
  nc_inq_varid(nc, "radial_velocity", &id);
  nc_get_var_double(nc, id, vr);
  nc_inq_varid(nc, "radial_velocity_uncertainty", &id);
  nc_get_var_double(nc, id, vs);
  nc_close(nc);
  assert_int_equal(nc_open(cf_test_path(dir, "raw_truth.nc"), NC_NOWRITE, &nc), NC_NOERR);
  nc_inq_varid(nc, "radial_velocity", &id);
  nc_get_var_double(nc, id, tv);
  nc_close(nc);
  double z2 = 0;
  int m = 0;
  for (int i = 0; i < 60; i++) {
    if (vr[i] > 1e30) continue; /* masked */
    z2 += ((vr[i] - tv[i]) / vs[i]) * ((vr[i] - tv[i]) / vs[i]);
    m++;
  }
  print_message("raw path velocities: %d gates, rms z %.2f\n", m, sqrt(z2 / m));
  assert_true(m >= 30);
  /* 30+ gates: the rms of standard normals is within [0.6, 1.5] with
   * probability > 0.999 (the fit's sandwich covariance accounts for the
   * window's bin correlation) */
  assert_true(sqrt(z2 / m) > 0.6 && sqrt(z2 / m) < 1.5);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* L2 data are the same bits for 1 and 2 threads, for both levels. */
static void l2_is_identical_for_1_and_2_threads(void **state) {
  (void)state;
  const char *vars[] = {"radial_velocity", "radial_velocity_uncertainty", "cnr_on", "cnr_off", "co2_mole_fraction",
                        "co2_mole_fraction_uncertainty", "qc_flag", "eastward_wind", "wind_speed"};
  for (int level = 0; level < 2; level++) {
    char *dir = cf_test_tmpdir();
    cf_sim_config c;
    small_scene(&c, level ? CF_L0_RAW : CF_L0_SPECTRA);
    c.rays_per_scan = 12;
    c.raw_pulses = 64; /* bits, not statistics, are compared here */
    cf_ctx *ctx = cf_test_ctx();
    assert_int_equal(cf_simulate_lidar(ctx, &c, cf_test_path(dir, "l0.h5"), NULL), CF_OK);
    cf_lidar_opts o;
    cf_lidar_opts_default(&o);
    o.block_rays = 5; /* several blocks, uneven */
    for (int t = 1; t <= 2; t++) {
      cf_set_threads(ctx, t);
      char name[32];
      snprintf(name, sizeof name, "l2_%d.nc", t);
      assert_int_equal(cf_lidar_l0_to_l2(ctx, cf_test_path(dir, "l0.h5"), cf_test_path(dir, name), &o, NULL), CF_OK);
    }
    int n1, n2, i1, i2;
    assert_int_equal(nc_open(cf_test_path(dir, "l2_1.nc"), NC_NOWRITE, &n1), NC_NOERR);
    assert_int_equal(nc_open(cf_test_path(dir, "l2_2.nc"), NC_NOWRITE, &n2), NC_NOERR);
    for (size_t v = 0; v < sizeof vars / sizeof *vars; v++) {
      assert_int_equal(nc_inq_varid(n1, vars[v], &i1), NC_NOERR);
      assert_int_equal(nc_inq_varid(n2, vars[v], &i2), NC_NOERR);
      double a[12 * 10], b[12 * 10];
      memset(a, 0, sizeof a);
      memset(b, 0, sizeof b);
      size_t start[2] = {0, 0}, count[2] = {v >= 7 ? 1 : 12, 10};
      assert_int_equal(nc_get_vara_double(n1, i1, start, count, a), NC_NOERR);
      assert_int_equal(nc_get_vara_double(n2, i2, start, count, b), NC_NOERR);
      assert_memory_equal(a, b, sizeof a);
    }
    nc_close(n1);
    nc_close(n2);
    cf_ctx_destroy(ctx);
    cf_test_rmtree(dir);
    free(dir);
  }
}

/* An ADC that saturates (strong near-range returns in raw records) flags
 * the gates it happened in, and only those. */
static void saturated_gates_are_flagged(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  cf_sim_config c;
  small_scene(&c, CF_L0_RAW);
  c.raw_pulses = 32;
  c.noise_sigma_counts = 3000; /* noise at 3000 counts; +12 dB at 600 m puts */
  c.cnr_ref_db = 12;           /* the near gates (+16.5 dB) past 32767, not the far ones (+5 dB) */
  assert_int_equal(cf_simulate_lidar(ctx, &c, cf_test_path(dir, "sat.h5"), NULL), CF_OK);
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  o.do_wind = 0;
  o.do_dial = 0;
  assert_int_equal(cf_lidar_l0_to_l2(ctx, cf_test_path(dir, "sat.h5"), cf_test_path(dir, "sat_l2.nc"), &o, NULL), CF_OK);
  int nc, id;
  unsigned short qc[6 * 10];
  assert_int_equal(nc_open(cf_test_path(dir, "sat_l2.nc"), NC_NOWRITE, &nc), NC_NOERR);
  nc_inq_varid(nc, "qc_flag", &id);
  nc_get_var_ushort(nc, id, qc);
  nc_close(nc);
  /* independent check: read the records and find the clipped gates */
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(ctx, cf_test_path(dir, "sat.h5"), 0, &l0), CF_OK);
  int16_t *rec = malloc((size_t)l0->n_samples * sizeof *rec);
  int expect[6 * 10] = {0}, flagged = 0, clipped = 0;
  for (int l = 0; l < 2; l++)
    for (int64_t q = 0; q < l0->n_pulses[l]; q++) {
      assert_int_equal(cf_l0_read_raw(ctx, l0, l, q, 1, rec), CF_OK);
      for (int g = 0; g < 10; g++)
        for (int i = 0; i < l0->cfg.gate_samples; i++) {
          int16_t v = rec[l0->cfg.gate_first + g * l0->cfg.gate_step + i];
          if (v == 32767 || v == -32768) expect[l0->pulse_ray[l][q] * 10 + g] = 1;
        }
    }
  for (int i = 0; i < 60; i++) {
    clipped += expect[i];
    flagged += (qc[i] & 4) != 0;
    if (expect[i]) assert_true(qc[i] & 4);
  }
  print_message("saturation: %d gates clipped, %d flagged hard_target/saturation\n", clipped, flagged);
  assert_true(clipped > 0 && clipped < 60); /* the scene must clip somewhere, not everywhere */
  free(rec);
  cf_l0_close(l0);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(raw_and_spectra_levels_agree),
      cmocka_unit_test(l2_is_identical_for_1_and_2_threads),
      cmocka_unit_test(saturated_gates_are_flagged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
