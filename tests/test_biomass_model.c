/*
 * AGB models (raster/biomass_model): fit, uncertainty, cross-validation and
 * the per-pixel map node.
 *
 * Independent references:
 *  - exact data (no noise) must give back the generating coefficients;
 *  - the OLS solution and (X^T X)^-1 recomputed here by the normal
 *    equations (Gauss-Jordan, a different algorithm from the library's QR);
 *  - leave-one-out residuals from the hat matrix, e_i / (1 - h_ii) (the
 *    PRESS identity, Allen 1974), against the library's k = n refits;
 *  - simulators with known truth: coverage of prediction intervals and the
 *    lognormal bias exp(s^2/2) of a naive back-transform;
 *  - the map node against pointwise cf_biomass_predict, and itself at 1 and
 *    2 threads (bitwise).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/rng.h"
#include "raster/biomass_model.h"
#include "raster/source.h"

/* --- helpers ---------------------------------------------------------------- */

/* Invert the q x q matrix a (row-major) into inv by Gauss-Jordan with
 * partial pivoting. */
static void invert(int q, const double *a, double *inv) {
  double m[2 * 17 * 17];
  int w = 2 * q;
  for (int i = 0; i < q; i++)
    for (int j = 0; j < w; j++) m[i * w + j] = j < q ? a[i * q + j] : (j - q == i);
  for (int c = 0; c < q; c++) {
    int piv = c;
    for (int i = c + 1; i < q; i++)
      if (fabs(m[i * w + c]) > fabs(m[piv * w + c])) piv = i;
    for (int j = 0; j < w; j++) {
      double t = m[c * w + j];
      m[c * w + j] = m[piv * w + j];
      m[piv * w + j] = t;
    }
    double d = m[c * w + c];
    for (int j = 0; j < w; j++) m[c * w + j] /= d;
    for (int i = 0; i < q; i++)
      if (i != c) {
        double f = m[i * w + c];
        for (int j = 0; j < w; j++) m[i * w + j] -= f * m[c * w + j];
      }
  }
  for (int i = 0; i < q; i++)
    for (int j = 0; j < q; j++) inv[i * q + j] = m[i * w + q + j];
}

/* Normal-equation OLS of y on [1 x]: coefficients b[q] and C = (X^T X)^-1. */
static void ols_normal(int n, int p, const double *x, const double *y, double *b, double *C) {
  int q = p + 1;
  double xtx[17 * 17] = {0}, xty[17] = {0};
  for (int i = 0; i < n; i++) {
    double z[17] = {1};
    for (int j = 0; j < p; j++) z[j + 1] = x[i * p + j];
    for (int a = 0; a < q; a++) {
      xty[a] += z[a] * y[i];
      for (int c = 0; c < q; c++) xtx[a * q + c] += z[a] * z[c];
    }
  }
  invert(q, xtx, C);
  for (int a = 0; a < q; a++) {
    b[a] = 0;
    for (int c = 0; c < q; c++) b[a] += C[a * q + c] * xty[c];
  }
}

static double quad(int q, const double *C, const double *z) {
  double s = 0;
  for (int a = 0; a < q; a++)
    for (int c = 0; c < q; c++) s += z[a] * C[a * q + c] * z[c];
  return s;
}

/* --- (a) exact data --------------------------------------------------------- */

static void exact_power_law_recovers_coefficients(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { N = 20 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = 1.0 + 2.5 * i;
    y[i] = 3.0 * pow(x[i], 1.4);
  }
  cf_biomass_model m;
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, N, 1, x, y, &m), CF_OK);
  /* [1, ln x] for x in 1..48.5 has condition number ~10: QR recovers the
   * coefficients to ~1e-15; 1e-10 leaves room for libm's log/pow */
  assert_close(m.coef[0], log(3.0), 0, 1e-10);
  assert_close(m.coef[1], 1.4, 0, 1e-10);
  assert_true(m.s < 1e-12);
  assert_int_equal(m.df, N - 2);
  cf_biomass_pred pr;
  double x0 = 7.0;
  assert_int_equal(cf_biomass_predict(&m, &x0, &pr), 0);
  /* with s ~ 1e-15 the bias correction is 1 to the last bit */
  assert_close(pr.value, 3.0 * pow(7.0, 1.4), 1e-10, 0);
  print_message("log-log exact: b0 = %.15f (ln 3 = %.15f), b1 = %.15f, s = %.2e\n", m.coef[0], log(3.0), m.coef[1],
                m.s);

  /* the linear kind on exact data y = 2 + 0.5 x1 - 3 x2 */
  double x2[2 * N], y2[N];
  for (int i = 0; i < N; i++) {
    x2[2 * i] = i;
    x2[2 * i + 1] = (i * 7) % 11;
    y2[i] = 2.0 + 0.5 * x2[2 * i] - 3.0 * x2[2 * i + 1];
  }
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, N, 2, x2, y2, &m), CF_OK);
  assert_close(m.coef[0], 2.0, 0, 1e-10);
  assert_close(m.coef[1], 0.5, 0, 1e-10);
  assert_close(m.coef[2], -3.0, 0, 1e-10);
  cf_ctx_destroy(ctx);
}

/* --- (b) MLR with noise, SEs and PRESS ----------------------------------------- */

#define NB 60
static void mlr_coefficients_and_loo_press(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const double truth[3] = {10.0, 2.0, -1.5}, sigma = 1.0;
  double x[2 * NB], y[NB];
  cf_rng r;
  cf_rng_seed(&r, 2024, 1);
  for (int i = 0; i < NB; i++) {
    x[2 * i] = 10 * cf_rng_uniform(&r);
    x[2 * i + 1] = 5 * cf_rng_uniform(&r);
    y[i] = truth[0] + truth[1] * x[2 * i] + truth[2] * x[2 * i + 1] + sigma * cf_rng_normal(&r);
  }
  cf_biomass_model m;
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, NB, 2, x, y, &m), CF_OK);
  double b[3], C[9];
  ols_normal(NB, 2, x, y, b, C);
  double rss = 0;
  for (int i = 0; i < NB; i++) {
    double e = y[i] - (b[0] + b[1] * x[2 * i] + b[2] * x[2 * i + 1]);
    rss += e * e;
  }
  double s = sqrt(rss / (NB - 3));
  /* normal equations on a matrix of condition ~1e3: agreement to ~1e-12;
   * 1e-9 is the margin */
  assert_close(m.s, s, 1e-9, 0);
  for (int j = 0; j < 3; j++) {
    assert_close(m.coef[j], b[j], 1e-9, 1e-12);
    assert_close(m.coef_se[j], s * sqrt(C[j * 3 + j]), 1e-9, 0);
    /* the estimates lie within their own 3.5-SE intervals (t_57: a 0.1 %
     * two-sided miss per coefficient; the seed is fixed, so this is a
     * check that the reported SEs are of the right size, not a flaky draw) */
    print_message("b%d = %.4f +- %.4f (truth %.1f, %.2f SE away)\n", j, m.coef[j], m.coef_se[j], truth[j],
                  fabs(m.coef[j] - truth[j]) / m.coef_se[j]);
    assert_true(fabs(m.coef[j] - truth[j]) <= 3.5 * m.coef_se[j]);
  }
  /* prediction SEs equal the textbook formulas at a new point */
  double x0[2] = {3.0, 4.0}, z0[3] = {1, 3.0, 4.0};
  cf_biomass_pred pr;
  assert_int_equal(cf_biomass_predict(&m, x0, &pr), 0);
  double h0 = quad(3, C, z0);
  assert_close(pr.h0, h0, 1e-9, 0);
  assert_close(pr.se_mean, s * sqrt(h0), 1e-9, 0);
  assert_close(pr.se_pred, s * sqrt(1 + h0), 1e-9, 0);
  assert_close(pr.value, b[0] + 3 * b[1] + 4 * b[2], 1e-12, 1e-12);

  /* leave-one-out = k = n refits, against PRESS from the hat matrix */
  cf_biomass_cv cv;
  double pred[NB];
  assert_int_equal(cf_biomass_cv_run(ctx, CF_BIOMASS_LINEAR, NB, 2, x, y, NB, 7, &cv, pred), CF_OK);
  double press = 0, bias = 0;
  for (int i = 0; i < NB; i++) {
    double z[3] = {1, x[2 * i], x[2 * i + 1]};
    double e = y[i] - (b[0] + b[1] * z[1] + b[2] * z[2]);
    double h = quad(3, C, z), eloo = e / (1 - h);
    /* the held-out prediction is y_i - e_i/(1 - h_ii) */
    assert_close(pred[i], y[i] - eloo, 1e-9, 1e-9);
    press += eloo * eloo;
    bias -= eloo;
  }
  print_message("LOO RMSE %.6f, sqrt(PRESS/n) %.6f, R2 %.4f, bias %.2e\n", cv.rmse, sqrt(press / NB), cv.r2,
                cv.bias);
  assert_close(cv.rmse, sqrt(press / NB), 1e-9, 0);
  assert_close(cv.bias, bias / NB, 1e-9, 1e-12);
  assert_int_equal(cv.n, NB);
  assert_int_equal(cv.k, NB);

  /* k-fold: balanced, reproducible for a seed, different for another */
  int f1[NB], f2[NB], f3[NB], size[7] = {0};
  cf_biomass_folds(NB, 7, 42, f1);
  cf_biomass_folds(NB, 7, 42, f2);
  cf_biomass_folds(NB, 7, 43, f3);
  int differ = 0;
  for (int i = 0; i < NB; i++) {
    assert_int_equal(f1[i], f2[i]);
    differ += f1[i] != f3[i];
    size[f1[i]]++;
  }
  assert_true(differ > 0);
  for (int f = 0; f < 7; f++) assert_true(size[f] == 8 || size[f] == 9); /* 60 = 4*9 + 3*8 */
  cf_biomass_cv a, c2;
  assert_int_equal(cf_biomass_cv_run(ctx, CF_BIOMASS_LINEAR, NB, 2, x, y, 5, 42, &a, NULL), CF_OK);
  assert_int_equal(cf_biomass_cv_run(ctx, CF_BIOMASS_LINEAR, NB, 2, x, y, 5, 42, &c2, NULL), CF_OK);
  assert_memory_equal(&a, &c2, sizeof a);
  /* 5-fold RMSE of a correct model is near sigma (a little above: each
   * fold's fit is noisier than the full one) */
  print_message("5-fold CV: RMSE %.4f, R2 %.4f, bias %.4f\n", a.rmse, a.r2, a.bias);
  assert_true(a.rmse > 0.7 * sigma && a.rmse < 1.4 * sigma);
  cf_ctx_destroy(ctx);
}

/* --- (c) honest prediction intervals ---------------------------------------------- */

static void prediction_intervals_cover_90_percent(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { DRAWS = 2000, N = 200 };
  const double b0 = 50, b1 = 8, sigma = 20;
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  int in_pred = 0, in_mean = 0;
  for (int d = 0; d < DRAWS; d++) {
    cf_rng r;
    cf_rng_seed(&r, 77, (uint64_t)d);
    for (int i = 0; i < N; i++) {
      x[i] = 30 * cf_rng_uniform(&r);
      y[i] = b0 + b1 * x[i] + sigma * cf_rng_normal(&r);
    }
    cf_biomass_model m;
    assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, N, 1, x, y, &m), CF_OK);
    /* a new point anywhere in the range, also near the edges where h0 is
     * largest */
    double x0 = 30 * cf_rng_uniform(&r), mean0 = b0 + b1 * x0, y0 = mean0 + sigma * cf_rng_normal(&r);
    cf_biomass_pred pr;
    assert_int_equal(cf_biomass_predict(&m, &x0, &pr), 0);
    in_pred += fabs(y0 - pr.value) <= 1.645 * pr.se_pred;
    in_mean += fabs(mean0 - pr.value) <= 1.645 * pr.se_mean;
  }
  double cp = (double)in_pred / DRAWS, cm = (double)in_mean / DRAWS;
  print_message("coverage of +-1.645 SE over %d draws: new observation %.4f, mean %.4f (nominal 0.90)\n", DRAWS, cp,
                cm);
  /* Binomial SD of a 0.90 fraction over 2000 draws: sqrt(0.9*0.1/2000) =
   * 0.0067; 3.5 SD = 0.023. Using z = 1.645 with an estimated s (t with
   * 198 df) makes the true coverage 0.898, 0.002 below nominal. 0.025
   * covers both; a SE wrong by 10 % would shift the coverage by ~0.03. */
  assert_close(cp, 0.90, 0, 0.025);
  assert_close(cm, 0.90, 0, 0.025);
  free(x);
  free(y);
  cf_ctx_destroy(ctx);
}

/* --- (d) log-log bias correction ------------------------------------------------- */

static void loglog_bias_correction(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { DRAWS = 2000, N = 100, NEW = 10 }; /* NEW observations per fitted model */
  const double a = 3.0, b = 1.4, sigma = 0.5, x0 = 10.0;
  double sq_err = 0, sq_se = 0;
  const double true_mean = a * pow(x0, b) * exp(sigma * sigma / 2);
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  double rel = 0, naive = 0;
  int in_log = 0;
  for (int d = 0; d < DRAWS; d++) {
    cf_rng r;
    cf_rng_seed(&r, 99, (uint64_t)d);
    for (int i = 0; i < N; i++) {
      x[i] = 2 + 38 * cf_rng_uniform(&r);
      y[i] = a * pow(x[i], b) * exp(sigma * cf_rng_normal(&r));
    }
    cf_biomass_model m;
    assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, N, 1, x, y, &m), CF_OK);
    cf_biomass_pred pr;
    assert_int_equal(cf_biomass_predict(&m, &x0, &pr), 0);
    rel += pr.value / true_mean - 1;
    naive += exp(m.coef[0] + m.coef[1] * log(x0)) / true_mean;
    assert_close(pr.median, exp(m.coef[0] + m.coef[1] * log(x0)), 1e-14, 0);
    for (int k = 0; k < NEW; k++) {
      double y0 = a * pow(x0, b) * exp(sigma * cf_rng_normal(&r));
      in_log += fabs(log(y0 / pr.median)) <= 1.645 * pr.se_log;
      sq_err += (y0 - pr.value) * (y0 - pr.value);
      sq_se += pr.se_pred * pr.se_pred;
    }
  }
  rel /= DRAWS;
  naive /= DRAWS;
  print_message("log-log, s = %.2f: mean relative error of the corrected mean %+.4f; naive exp(fit) / mean %.4f "
                "(exp(-s^2/2) = %.4f); log-scale 90 %% interval covers %.4f\n",
                sigma, rel, naive, exp(-sigma * sigma / 2), (double)in_log / (DRAWS * NEW));
  /* Per draw the relative error has SD ~ sigma sqrt(h0) <= 0.5 sqrt(0.03)
   * = 0.09, so its mean over 2000 draws has SE <= 0.002; the estimator's
   * own second-order bias (sigma^2 h0 / 2 + sigma^4 / (4 df)) is <= 0.004.
   * 0.01 covers 3 SE plus that; the naive back-transform is off by 0.12. */
  assert_close(rel, 0.0, 0, 0.01);
  assert_close(naive, exp(-sigma * sigma / 2), 0, 0.01);
  /* the log-scale interval: 20000 new observations, but the 10 of one
   * fit share its error; 0.025 as in the coverage test is still > 3.5 SD */
  assert_close((double)in_log / (DRAWS * NEW), 0.90, 0, 0.025);
  /* se_pred is honest on the original scale: mean squared error of the
   * corrected prediction / mean se_pred^2 -> 1. The squared error of a
   * lognormal (s = 0.5) has relative SD sqrt(kurtosis - 1) = 2.8 per
   * observation, 0.02 over 20000; 0.07 is 3.5 SD. The delta method's
   * se = yhat s would give a ratio (exp(s^2) - 1) / s^2 = 1.14: rejected. */
  double ratio = sq_err / sq_se;
  print_message("mean (y0 - yhat)^2 / mean se_pred^2 = %.4f (delta method would give %.4f)\n", ratio,
                expm1(sigma * sigma) / (sigma * sigma));
  assert_close(ratio, 1.0, 0, 0.07);
  free(x);
  free(y);
  cf_ctx_destroy(ctx);
}

/* --- (e) the map node ---------------------------------------------------------------- */

#define W 40
#define H 30

typedef struct {
  double *agb, *se;
  uint8_t *ok;
} collect;

static int collect_tile(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  collect *c = user;
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      size_t k = (size_t)j * w->nx + i, o = (size_t)(w->y0 + j) * W + w->x0 + i;
      c->agb[o] = cf_block_band(b, 0)[k];
      c->se[o] = cf_block_band(b, 1)[k];
      c->ok[o] = (uint8_t)(cf_block_valid(b, 0)[k] + 2 * cf_block_valid(b, 1)[k]);
    }
  return CF_OK;
}

/* Run the map of `m` over (chm band, ndvi band) or (chm, chm) with
 * `threads` threads into c. */
static void run_map(const char *chm_path, const char *ndvi_path, const cf_biomass_model *m, int threads,
                    collect *c) {
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, threads);
  cf_raster *chm = cf_source_create(ctx, chm_path, NULL);
  cf_raster *ndvi = ndvi_path ? cf_source_create(ctx, ndvi_path, NULL) : chm;
  assert_non_null(chm);
  assert_non_null(ndvi);
  cf_raster *f[2] = {chm, ndvi};
  int bands[2] = {0, 0};
  cf_raster *map = cf_biomass_map_create(ctx, m, f, bands);
  assert_non_null(map);
  assert_int_equal(map->nthreads, threads);
  assert_string_equal(map->band_names[0], "agb");
  assert_string_equal(map->band_names[1], "agb_se");
  cf_tiling t;
  cf_tiling_make(&t, map, 256); /* many small tiles, so 2 threads interleave */
  assert_true(t.ntiles > 4);
  assert_int_equal(cf_engine_run(ctx, map, &t, collect_tile, c, "agb"), CF_OK);
  cf_raster_destroy(map);
  if (ndvi != chm) cf_raster_destroy(ndvi);
  cf_raster_destroy(chm);
  cf_ctx_destroy(ctx);
}

static void collect_init(collect *c) {
  c->agb = malloc(W * H * sizeof(double));
  c->se = malloc(W * H * sizeof(double));
  c->ok = malloc(W * H);
}
static void collect_free(collect *c) {
  free(c->agb);
  free(c->se);
  free(c->ok);
}

static void map_equals_pointwise_and_is_thread_invariant(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *chm_path = cf_test_path(dir, "chm.tif"), *ndvi_path = cf_test_path(dir, "ndvi.tif");
  double gt[6] = {500000, 10, 0, 5500000, 0, -10};
  double *chm = malloc(W * H * sizeof *chm), *ndvi = malloc(W * H * sizeof *ndvi);
  for (int j = 0; j < H; j++)
    for (int i = 0; i < W; i++) {
      chm[j * W + i] = 2 + 0.7 * i + 0.3 * j;
      ndvi[j * W + i] = 0.2 + 0.015 * ((i * 7 + j * 3) % 40);
    }
  const double nod = -9999;
  chm[3 * W + 5] = nod;   /* nodata in the CHM */
  ndvi[10 * W + 20] = nod; /* nodata in the NDVI */
  chm[20 * W + 30] = 0.0; /* valid, but outside the log-log domain */
  cf_test_write_tif(chm_path, W, H, 1, "Float64", gt, "EPSG:32633", &nod, chm, 16);
  /* strips, where the CHM has 16 px tiles: inputs need not share a block layout */
  cf_test_write_tif(ndvi_path, W, H, 1, "Float64", gt, "EPSG:32633", &nod, ndvi, 0);

  /* a log-log model on (CHM, NDVI), fitted on noisy synthetic plots */
  cf_ctx *ctx = cf_test_ctx();
  enum { N = 80 };
  double x[2 * N], y[N];
  cf_rng r;
  cf_rng_seed(&r, 5, 0);
  for (int i = 0; i < N; i++) {
    x[2 * i] = 2 + 30 * cf_rng_uniform(&r);
    x[2 * i + 1] = 0.2 + 0.6 * cf_rng_uniform(&r);
    y[i] = 4 * pow(x[2 * i], 1.3) * pow(x[2 * i + 1], 0.5) * exp(0.3 * cf_rng_normal(&r));
  }
  cf_biomass_model m;
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, N, 2, x, y, &m), CF_OK);

  collect c1, c2;
  collect_init(&c1);
  collect_init(&c2);
  run_map(chm_path, ndvi_path, &m, 1, &c1);
  run_map(chm_path, ndvi_path, &m, 2, &c2);
  int nvalid = 0;
  for (int k = 0; k < W * H; k++) {
    double x0[2] = {chm[k], ndvi[k]};
    cf_biomass_pred pr;
    int expect = chm[k] != nod && ndvi[k] != nod && cf_biomass_predict(&m, x0, &pr) == 0;
    assert_int_equal(c1.ok[k], expect ? 3 : 0);
    if (expect) {
      nvalid++;
      /* the same function on the same doubles (Float64 stores them exactly) */
      assert_memory_equal(&c1.agb[k], &pr.value, sizeof(double));
      assert_memory_equal(&c1.se[k], &pr.se_pred, sizeof(double));
    } else {
      assert_true(isnan(c1.agb[k]) && isnan(c1.se[k]));
    }
  }
  assert_int_equal(nvalid, W * H - 3);
  assert_int_equal(c1.ok[3 * W + 5], 0);
  assert_int_equal(c1.ok[10 * W + 20], 0);
  assert_int_equal(c1.ok[20 * W + 30], 0);
  /* bitwise identical for 1 and 2 threads (NaNs included) */
  assert_memory_equal(c1.agb, c2.agb, W * H * sizeof(double));
  assert_memory_equal(c1.se, c2.se, W * H * sizeof(double));
  assert_memory_equal(c1.ok, c2.ok, W * H);
  print_message("map %dx%d: %d valid pixels; agb[0] = %.3f +- %.3f\n", W, H, nvalid, c1.agb[0], c1.se[0]);

  /* one raster given twice (CHM and CHM): two inputs, two buffers */
  double xs[2 * N];
  for (int i = 0; i < N; i++) xs[2 * i] = x[2 * i], xs[2 * i + 1] = x[2 * i] * (1 + 0.3 * cf_rng_uniform(&r));
  cf_biomass_model m2;
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, N, 2, xs, y, &m2), CF_OK);
  run_map(chm_path, NULL, &m2, 2, &c1);
  for (int k = 0; k < W * H; k++) {
    double x0[2] = {chm[k], chm[k]};
    cf_biomass_pred pr;
    int expect = chm[k] != nod && cf_biomass_predict(&m2, x0, &pr) == 0;
    assert_int_equal(c1.ok[k], expect ? 3 : 0);
    if (expect) {
      assert_memory_equal(&c1.agb[k], &pr.value, sizeof(double));
      assert_memory_equal(&c1.se[k], &pr.se_pred, sizeof(double));
    }
  }
  collect_free(&c1);
  collect_free(&c2);
  free(chm);
  free(ndvi);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* --- (f) errors ------------------------------------------------------------------------ */

static void expect_msg(cf_ctx *ctx, const char *want) {
  const char *msg = cf_error_message(ctx);
  print_message("  %s\n", msg);
  assert_non_null(strstr(msg, want));
  cf_error_clear(ctx);
}

static void errors_are_named(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_biomass_model m;
  double x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {1, 2, 3, 4, 5, 7};
  /* 3 points, 2 features: 3 parameters leave no residual degree of freedom */
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, 3, 2, x, y, &m), CF_EINVAL);
  expect_msg(ctx, "3 training points for 3 parameters");
  double y0[6] = {1, 2, 0, 4, 5, 6};
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, 6, 1, x, y0, &m), CF_EDATA);
  expect_msg(ctx, "point 2: AGB 0 <= 0");
  double xn[6] = {1, 2, 3, -4, 5, 6};
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, 6, 1, xn, y, &m), CF_EDATA);
  expect_msg(ctx, "point 3, feature 0: value -4 <= 0");
  /* collinear: the second feature is twice the first */
  double xc[12];
  for (int i = 0; i < 6; i++) xc[2 * i] = i, xc[2 * i + 1] = 2.0 * i;
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LINEAR, 6, 2, xc, y, &m), CF_EDATA);
  expect_msg(ctx, "feature 1 is (nearly) a linear combination");
  /* CV with too few training points per fold, and k out of range */
  assert_int_equal(cf_biomass_cv_run(ctx, CF_BIOMASS_LINEAR, 6, 1, x, y, 7, 1, &(cf_biomass_cv){0}, NULL), CF_EINVAL);
  expect_msg(ctx, "need 2 <= k <= n");
  assert_int_equal(cf_biomass_cv_run(ctx, CF_BIOMASS_LINEAR, 6, 2, xc, y, 2, 1, &(cf_biomass_cv){0}, NULL), CF_EINVAL);
  expect_msg(ctx, "leave 3 training points");
  /* predict outside the domain: -1 and NaN */
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, 6, 1, x, y, &m), CF_OK);
  cf_biomass_pred pr;
  double bad = 0.0;
  assert_int_equal(cf_biomass_predict(&m, &bad, &pr), -1);
  assert_true(isnan(pr.value) && isnan(pr.se_pred));

  /* mismatched grids: shifted by one pixel, another size, another CRS */
  char *dir = cf_test_tmpdir();
  double gt[6] = {500000, 10, 0, 5500000, 0, -10}, gt2[6] = {500010, 10, 0, 5500000, 0, -10};
  double d[W * H];
  for (int k = 0; k < W * H; k++) d[k] = 1 + k % 7;
  cf_test_write_tif(cf_test_path(dir, "a.tif"), W, H, 1, "Float64", gt, "EPSG:32633", NULL, d, 16);
  cf_test_write_tif(cf_test_path(dir, "b.tif"), W, H, 1, "Float64", gt2, "EPSG:32633", NULL, d, 16);
  cf_test_write_tif(cf_test_path(dir, "c.tif"), W - 1, H, 1, "Float64", gt, "EPSG:32633", NULL, d, 16);
  cf_test_write_tif(cf_test_path(dir, "d.tif"), W, H, 1, "Float64", gt, "EPSG:32634", NULL, d, 16);
  double xx[2 * 8], yy[8];
  for (int i = 0; i < 8; i++) xx[2 * i] = 1 + i, xx[2 * i + 1] = 1 + (i * 5) % 7, yy[i] = 3 + i + (i % 3);
  assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, 8, 2, xx, yy, &m), CF_OK);
  cf_raster *a = cf_source_create(ctx, cf_test_path(dir, "a.tif"), NULL);
  assert_non_null(a);
  const char *others[3] = {"b.tif", "c.tif", "d.tif"};
  for (int o = 0; o < 3; o++) {
    cf_raster *b = cf_source_create(ctx, cf_test_path(dir, others[o]), NULL);
    assert_non_null(b);
    cf_raster *f[2] = {a, b};
    int bands[2] = {0, 0};
    assert_null(cf_biomass_map_create(ctx, &m, f, bands));
    assert_int_equal(cf_error_code(ctx), CF_EINVAL);
    expect_msg(ctx, o == 2 ? "another CRS" : "feature 1 is on another grid");
    cf_raster_destroy(b);
  }
  cf_raster *f[2] = {a, a};
  int bands[2] = {0, 1};
  assert_null(cf_biomass_map_create(ctx, &m, f, bands));
  expect_msg(ctx, "band 2 does not exist");
  cf_raster_destroy(a);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exact_power_law_recovers_coefficients),
      cmocka_unit_test(mlr_coefficients_and_loo_press),
      cmocka_unit_test(prediction_intervals_cover_90_percent),
      cmocka_unit_test(loglog_bias_correction),
      cmocka_unit_test(map_equals_pointwise_and_is_thread_invariant),
      cmocka_unit_test(errors_are_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
