/*
 * The analytical Bayesian inversion (lidar/flux/inversion.h) against
 * independent arithmetic.
 *
 * Reference solutions are computed here with straightforward code: the
 * prior covariance from its definition, inverses by Gauss-Jordan elimination
 * with partial pivoting on the dense normal equations (no BLAS, no LAPACK),
 * and 2 x 2 closed forms. Noise comes from our own deterministic generator
 * (inversion_fixture.c), so every run sees the same numbers. A state wider
 * than the Cholesky's panel and the bitwise equality over thread counts
 * have their own suite (test_inversion_wide).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "inversion_fixture.h"
#include "lidar/flux/inversion.h"

/* --- independent dense linear algebra -------------------------------------- */

/* Inverse of the n x n row-major a (destroyed) into inv, Gauss-Jordan with
 * partial pivoting. */
static void gj_inverse(int n, double *a, double *inv) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) inv[i * n + j] = i == j;
  for (int c = 0; c < n; c++) {
    int piv = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(a[r * n + c]) > fabs(a[piv * n + c])) piv = r;
    assert_true(a[piv * n + c] != 0.0);
    for (int j = 0; j < n; j++) {
      double t = a[c * n + j];
      a[c * n + j] = a[piv * n + j];
      a[piv * n + j] = t;
      t = inv[c * n + j];
      inv[c * n + j] = inv[piv * n + j];
      inv[piv * n + j] = t;
    }
    double d = a[c * n + c];
    for (int j = 0; j < n; j++) {
      a[c * n + j] /= d;
      inv[c * n + j] /= d;
    }
    for (int r = 0; r < n; r++) {
      if (r == c) continue;
      double f = a[r * n + c];
      for (int j = 0; j < n; j++) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
}

#define NMAX 8

/* Exponential prior covariance from its definition, positions in 1-D. */
static void prior_exp(int n, const double *s, const double *pos, double L, double *B) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) B[i * n + j] = s[i] * s[j] * exp(-fabs(pos[i] - pos[j]) / L);
}

/* Reference posterior: P = (H^T R^-1 H + B^-1)^-1, x = x_a + P H^T R^-1 (y - H x_a). */
static void reference(int n, int m, const double *H, const double *y, const double *sig,
                      const double *xa, const double *B, double *x, double *P) {
  double Bc[NMAX * NMAX], Bi[NMAX * NMAX], M[NMAX * NMAX], g[NMAX];
  memcpy(Bc, B, sizeof(double) * n * n);
  gj_inverse(n, Bc, Bi);
  for (int i = 0; i < n; i++) {
    g[i] = 0.0;
    for (int j = 0; j < n; j++) M[i * n + j] = Bi[i * n + j];
  }
  for (int k = 0; k < m; k++) {
    double w = 1.0 / (sig[k] * sig[k]), d = y[k];
    for (int j = 0; j < n; j++) d -= H[k * n + j] * xa[j];
    for (int i = 0; i < n; i++) {
      g[i] += H[k * n + i] * w * d;
      for (int j = 0; j < n; j++) M[i * n + j] += H[k * n + i] * w * H[k * n + j];
    }
  }
  gj_inverse(n, M, P);
  for (int i = 0; i < n; i++) {
    x[i] = xa[i];
    for (int j = 0; j < n; j++) x[i] += P[i * n + j] * g[j];
  }
}

/* Lower Cholesky factor of B (for drawing from the prior). */
static void chol_lower(int n, const double *B, double *L) {
  memset(L, 0, sizeof(double) * n * n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = B[i * n + j];
      for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i == j ? sqrt(s) : s / L[j * n + j];
    }
}

/* --- (a) exactness against the dense reference, several block sizes -------- */

#define N5 5
#define M40 40

typedef struct {
  double H[M40 * N5], y[M40], sig[M40], xa[N5], sa[N5], pos[N5], B[N5 * N5];
  double L;
} problem5;

static void make_problem5(problem5 *p, uint64_t seed) {
  uint64_t s = seed;
  p->L = 3.0;
  for (int i = 0; i < N5; i++) {
    p->xa[i] = 10.0 + 2.0 * i;
    p->sa[i] = 4.0 + i;
    p->pos[i] = 1.7 * i;
  }
  prior_exp(N5, p->sa, p->pos, p->L, p->B);
  for (int k = 0; k < M40; k++) {
    for (int j = 0; j < N5; j++) p->H[k * N5 + j] = uniform_open(&s);
    p->sig[k] = 0.5 + uniform_open(&s);
    p->y[k] = 0.0;
    for (int j = 0; j < N5; j++) p->y[k] += p->H[k * N5 + j] * (12.0 + 3.0 * j);
    p->y[k] += p->sig[k] * gauss(&s);
  }
}

static cf_inv_params params5(const problem5 *p, int max_block) {
  cf_inv_params q = {0};
  q.n = N5;
  q.x_a = p->xa;
  q.sigma_a = p->sa;
  q.prior = CF_INV_PRIOR_EXPONENTIAL;
  q.dim = 1;
  q.pos = p->pos;
  q.corr_length = p->L;
  q.max_block = max_block;
  return q;
}

static void test_exactness(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  problem5 pb;
  make_problem5(&pb, 42);
  double xr[N5], Pr[N5 * N5];
  reference(N5, M40, pb.H, pb.y, pb.sig, pb.xa, pb.B, xr, Pr);
  const int sizes[] = {1, 3, 7, 13, 40};
  double x_first[N5], P_first[N5 * N5];
  for (int t = 0; t < 5; t++) {
    cf_inv_params q = params5(&pb, sizes[t]);
    cf_inv_plan *plan = NULL;
    assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
    assert_int_equal(feed(ctx, plan, N5, M40, pb.H, pb.y, pb.sig, sizes[t]), CF_OK);
    double x[N5], P[N5 * N5], a[N5];
    cf_inv_diag d;
    assert_int_equal(cf_inv_solve(ctx, plan, x, P, a, NULL, &d), CF_OK);
    /* 1e-8 relative: both sides are backward-stable solves of a system with
     * condition number below 1e4 (rcond checked), i.e. agreement to ~1e-12;
     * 1e-8 leaves room and still catches any wrong term. Off-diagonal P
     * entries are compared relative to the diagonal scale. */
    for (int i = 0; i < N5; i++) {
      assert_close(x[i], xr[i], 1e-8, 0.0);
      double scale = sqrt(Pr[i * N5 + i]);
      for (int j = 0; j < N5; j++)
        assert_close(P[i * N5 + j], Pr[i * N5 + j], 0.0, 1e-8 * scale * sqrt(Pr[j * N5 + j]));
    }
    assert_int_equal(d.n_obs, M40);
    assert_true(d.rcond > 1e-4);
    /* block size changes only the summation grouping: 1e-12 relative */
    if (t == 0) {
      memcpy(x_first, x, sizeof x);
      memcpy(P_first, P, sizeof P);
    } else {
      for (int i = 0; i < N5; i++) {
        assert_close(x[i], x_first[i], 1e-12, 0.0);
        for (int j = 0; j < N5; j++)
          assert_close(P[i * N5 + j], P_first[i * N5 + j], 1e-12,
                       1e-12 * sqrt(P_first[i * N5 + i] * P_first[j * N5 + j]));
      }
    }
    /* reset and the same data again: bitwise the same */
    cf_inv_reset(plan);
    assert_int_equal(feed(ctx, plan, N5, M40, pb.H, pb.y, pb.sig, sizes[t]), CF_OK);
    double x2[N5], P2[N5 * N5];
    assert_int_equal(cf_inv_solve(ctx, plan, x2, P2, NULL, NULL, NULL), CF_OK);
    assert_memory_equal(x, x2, sizeof x);
    assert_memory_equal(P, P2, sizeof P);
    cf_inv_plan_destroy(plan);
  }
  cf_ctx_destroy(ctx);
}

/* --- (b) honest uncertainty: coverage and chi2 over many draws --------------- */

static void test_coverage(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  problem5 pb;
  make_problem5(&pb, 99);
  double Lc[N5 * N5];
  chol_lower(N5, pb.B, Lc);
  cf_inv_params q = params5(&pb, 16);
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  enum { draws = 2000 };
  int hits[N5] = {0};
  double chi2_sum = 0.0, dofs = 0.0;
  uint64_t s = 2024;
  for (int d = 0; d < draws; d++) {
    double z[N5], xt[N5], y[M40];
    for (int i = 0; i < N5; i++) z[i] = gauss(&s);
    for (int i = 0; i < N5; i++) {
      xt[i] = pb.xa[i];
      for (int j = 0; j <= i; j++) xt[i] += Lc[i * N5 + j] * z[j];
    }
    for (int k = 0; k < M40; k++) {
      y[k] = pb.sig[k] * gauss(&s);
      for (int j = 0; j < N5; j++) y[k] += pb.H[k * N5 + j] * xt[j];
    }
    cf_inv_reset(plan);
    assert_int_equal(feed(ctx, plan, N5, M40, pb.H, y, pb.sig, 16), CF_OK);
    double x[N5], P[N5 * N5];
    cf_inv_diag dg;
    assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, &dg), CF_OK);
    for (int i = 0; i < N5; i++) hits[i] += fabs(x[i] - xt[i]) <= sqrt(P[i * N5 + i]);
    chi2_sum += dg.chi2_per_obs;
    dofs = dg.dofs;
  }
  /* Coverage: a binomial(2000, 0.6827) fraction has sd
   * sqrt(0.6827 * 0.3173 / 2000) = 0.0104; 4 sd = 0.042 keeps the chance of
   * a false alarm over 5 elements below 4e-4 (and the draws are fixed). */
  for (int i = 0; i < N5; i++) assert_close(hits[i] / (double)draws, 0.6827, 0.0, 0.042);
  /* chi2 per observation: J at the optimum is chi-square with m = 40 degrees
   * of freedom, so J/m has sd sqrt(2/40) = 0.224 per draw and 0.005 for the
   * mean of 2000; 5 sd = 0.025. */
  assert_close(chi2_sum / draws, 1.0, 0.0, 0.025);
  assert_true(dofs > 0.0 && dofs < N5);
  cf_inv_plan_destroy(plan);
  cf_ctx_destroy(ctx);
}

/* --- (c) DOFS limits ----------------------------------------------------- */

static double dofs_for(cf_ctx *ctx, const problem5 *pb, double sigma_a, double *trace_bh) {
  double sa[N5];
  for (int i = 0; i < N5; i++) sa[i] = sigma_a;
  cf_inv_params q = {0};
  q.n = N5;
  q.x_a = pb->xa;
  q.sigma_a = sa;
  q.prior = CF_INV_PRIOR_DIAGONAL;
  q.max_block = M40;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, N5, M40, pb->H, pb->y, pb->sig, M40), CF_OK);
  double x[N5], P[N5 * N5], a[N5];
  cf_inv_diag d;
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, a, NULL, &d), CF_OK);
  double sum = 0.0;
  for (int i = 0; i < N5; i++) sum += a[i];
  assert_close(d.dofs, sum, 1e-14, 1e-300);
  /* first-order tight-prior limit: tr(A) ~ tr(B H^T R^-1 H) */
  *trace_bh = 0.0;
  for (int k = 0; k < M40; k++)
    for (int j = 0; j < N5; j++)
      *trace_bh += sigma_a * sigma_a * pb->H[k * N5 + j] * pb->H[k * N5 + j] / (pb->sig[k] * pb->sig[k]);
  cf_inv_plan_destroy(plan);
  return d.dofs;
}

static void test_dofs_limits(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  problem5 pb;
  make_problem5(&pb, 5);
  double tbh;
  /* loose prior (sigma 1e4): n - DOFS = tr(P B^-1) ~ tr((H^T R^-1 H)^-1) / 1e8,
   * a few 1e-8 here; 1e-5 is a wide margin */
  double loose = dofs_for(ctx, &pb, 1e4, &tbh);
  assert_close(loose, (double)N5, 0.0, 1e-5);
  /* tight prior (sigma 1e-4): DOFS = tr(B H^T R^-1 H) (1 - O(tr)), tr ~ 1e-7:
   * relative 1e-5 is far above the second-order term */
  double tight = dofs_for(ctx, &pb, 1e-4, &tbh);
  assert_true(tight < 1e-5);
  assert_close(tight, tbh, 1e-5, 0.0);
  cf_ctx_destroy(ctx);
}

/* --- (d) group sigma with anti-correlated posterior errors ------------------- */

static void test_group_anticorrelated(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  /* Two sources the observations see almost only as a sum (columns 1 and
   * 1 + small): the sum is well determined, the split is not, so the
   * posterior errors are strongly anti-correlated. */
  enum { n = 2, m = 30 };
  double H[m * n], y[m], sig[m], xa[n] = {50.0, 30.0}, sa[n] = {20.0, 20.0};
  uint64_t s = 11;
  for (int k = 0; k < m; k++) {
    double a = 0.5 + uniform_open(&s);
    H[k * n] = a;
    H[k * n + 1] = a * (1.0 + 0.05 * (uniform_open(&s) - 0.5));
    sig[k] = 2.0;
    y[k] = H[k * n] * 60.0 + H[k * n + 1] * 35.0 + sig[k] * gauss(&s);
  }
  cf_inv_params q = {0};
  q.n = n;
  q.x_a = xa;
  q.sigma_a = sa;
  q.max_block = 8;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, 8), CF_OK);
  double x[n], P[n * n];
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, NULL), CF_OK);
  /* closed-form 2 x 2 inverse of M = H^T R^-1 H + B^-1 */
  double m11 = 1.0 / (sa[0] * sa[0]), m22 = 1.0 / (sa[1] * sa[1]), m12 = 0.0;
  for (int k = 0; k < m; k++) {
    double w = 1.0 / (sig[k] * sig[k]);
    m11 += w * H[k * n] * H[k * n];
    m22 += w * H[k * n + 1] * H[k * n + 1];
    m12 += w * H[k * n] * H[k * n + 1];
  }
  double det = m11 * m22 - m12 * m12;
  double p11 = m22 / det, p22 = m11 / det, p12 = -m12 / det;
  /* M's condition is ~1e3 here, so 1e-10 relative is ample for both sides */
  assert_close(P[0], p11, 1e-10, 0.0);
  assert_close(P[3], p22, 1e-10, 0.0);
  assert_close(P[1], p12, 1e-10, 0.0);
  assert_true(P[1] < 0.0);
  double w[n] = {1.0, 1.0}, total, sigma;
  assert_int_equal(cf_inv_group(ctx, n, w, x, P, &total, &sigma), CF_OK);
  assert_close(total, x[0] + x[1], 1e-15, 0.0);
  /* the group variance cancels: p11 + p22 + 2 p12 is (sigma/rss)^2 ~ 1e-2 of
   * its terms, so round-off is amplified ~100 times: 1e-8 is still ample */
  assert_close(sigma, sqrt(p11 + p22 + 2.0 * p12), 1e-8, 0.0);
  double rss = sqrt(P[0] + P[3]);
  /* anti-correlation: the sum is known much better than the members */
  assert_true(sigma < 0.5 * rss);
  /* in t/h: a linear rescaling scales total and sigma alike (to the
   * cancellation above: 1e-15 times ~100, so 1e-12) */
  double wt[n] = {CF_FLUX_T_PER_H_PER_MOL_S, CF_FLUX_T_PER_H_PER_MOL_S}, tt, st;
  assert_int_equal(cf_inv_group(ctx, n, wt, x, P, &tt, &st), CF_OK);
  assert_close(tt, cf_flux_mol_s_to_t_h(total), 1e-14, 0.0);
  assert_close(st, cf_flux_mol_s_to_t_h(sigma), 1e-12, 0.0);
  assert_close(cf_flux_t_h_to_mol_s(cf_flux_mol_s_to_t_h(2.5)), 2.5, 1e-15, 0.0);
  assert_close(cf_flux_mol_s_to_t_h(1.0), 0.158434, 0.0, 0.0);
  cf_inv_plan_destroy(plan);
  cf_ctx_destroy(ctx);
}

/* --- (e) ill-conditioning is reported, never NaN ----------------------------- */

static void test_ill_conditioned(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { n = 3, m = 20 };
  double H[m * n], y[m], sig[m], xa[n] = {0.0, 0.0, 0.0}, sa[n] = {1e8, 1e8, 1e8};
  uint64_t s = 3;
  for (int k = 0; k < m; k++) {
    H[k * n] = uniform_open(&s);
    H[k * n + 1] = 2.0 * H[k * n]; /* collinear with column 0 */
    H[k * n + 2] = uniform_open(&s);
    sig[k] = 1.0;
    y[k] = H[k * n] + H[k * n + 2] + gauss(&s);
  }
  cf_inv_params q = {0};
  q.n = n;
  q.x_a = xa;
  q.sigma_a = sa;
  q.max_block = m;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, m), CF_OK);
  double x[n] = {-7.0, -7.0, -7.0}, P[n * n];
  for (int i = 0; i < n * n; i++) P[i] = -7.0;
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, NULL), CF_EDATA);
  const char *msg = cf_error_message(ctx);
  if (getenv("CF_TEST_VERBOSE")) fprintf(stderr, "%s\n", msg);
  assert_non_null(strstr(msg, "condition number"));
  /* the outputs are untouched: no NaN leaves the solver */
  for (int i = 0; i < n; i++) assert_true(x[i] == -7.0);
  for (int i = 0; i < n * n; i++) assert_true(P[i] == -7.0);
  cf_error_clear(ctx);
  cf_inv_plan_destroy(plan);

  /* nearly collinear (column 1 = 2 column 0 (1 + 1e-6 u)): the Cholesky
   * factorisation succeeds, but the smallest eigenvalue of H^T R^-1 H is
   * ~(1e-6)^2 of the largest, a condition number ~1e13 > 1e12: refused with
   * dpocon's estimate in the message */
  for (int k = 0; k < m; k++) H[k * n + 1] = 2.0 * H[k * n] * (1.0 + 1e-6 * (uniform_open(&s) - 0.5));
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, m), CF_OK);
  cf_inv_diag dd = {0};
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, &dd), CF_EDATA);
  msg = cf_error_message(ctx);
  if (getenv("CF_TEST_VERBOSE")) fprintf(stderr, "%s\n", msg);
  assert_non_null(strstr(msg, "condition number"));
  assert_non_null(strstr(msg, "exceeds 1e+12"));
  for (int i = 0; i < n; i++) assert_true(x[i] == -7.0);
  assert_int_equal(dd.n_obs, 0); /* diagnostics untouched too */
  cf_error_clear(ctx);
  cf_inv_plan_destroy(plan);

  /* the same geometry with an informative prior is fine: the prior fills
   * the direction the data cannot see */
  for (int i = 0; i < n; i++) sa[i] = 1.0;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, m), CF_OK);
  cf_inv_diag d;
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, &d), CF_OK);
  for (int i = 0; i < n; i++) assert_true(isfinite(x[i]));
  assert_true(d.rcond > 1e-6);
  cf_inv_plan_destroy(plan);

  /* a prior with two elements at one position is singular: refused */
  double pos[n] = {0.0, 1.0, 1.0};
  q.prior = CF_INV_PRIOR_EXPONENTIAL;
  q.dim = 1;
  q.pos = pos;
  q.corr_length = 5.0;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_EDATA);
  assert_null(plan);
  assert_non_null(strstr(cf_error_message(ctx), "condition number"));
  cf_error_clear(ctx);

  /* and bad input is refused before anything is added */
  q.prior = CF_INV_PRIOR_DIAGONAL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  sig[3] = 0.0;
  assert_int_equal(cf_inv_accumulate(ctx, plan, H, m, y, sig), CF_EDATA);
  cf_error_clear(ctx);
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, NULL, NULL), CF_EDATA); /* no observations */
  cf_error_clear(ctx);
  cf_inv_plan_destroy(plan);
  cf_ctx_destroy(ctx);
}

/* --- (f) non-negativity of sources, sinks free -------------------------------- */

static void test_nonnegative(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  /* Three elements: 0 and 1 are sources, 2 is a sink (free). The truth of
   * source 0 is 0 and the data (noise plus an offset) pull it below 0; the
   * sink is truly negative and must stay so. Diagonal prior, so the
   * posterior conditioned on x0 = 0 equals the inversion of elements 1 and
   * 2 alone with the same prior and data (x0 = 0 contributes nothing). */
  enum { n = 3, m = 24 };
  double H[m * n], y[m], sig[m], xa[n] = {5.0, 5.0, -5.0}, sa[n] = {10.0, 10.0, 10.0};
  unsigned char src[n] = {1, 1, 0};
  uint64_t s = 17;
  for (int k = 0; k < m; k++) {
    H[k * n] = 0.2 + uniform_open(&s);
    H[k * n + 1] = 0.2 + uniform_open(&s);
    H[k * n + 2] = 0.2 + uniform_open(&s);
    sig[k] = 0.5;
    y[k] = H[k * n] * (-3.0) + H[k * n + 1] * 8.0 + H[k * n + 2] * (-6.0) + sig[k] * gauss(&s);
  }
  cf_inv_params q = {0};
  q.n = n;
  q.x_a = xa;
  q.sigma_a = sa;
  q.source = src;
  q.max_block = 5;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, 5), CF_OK);
  double x[n], P[n * n];
  unsigned char con[n];
  cf_inv_diag d;
  double P0[n * n];
  assert_int_equal(cf_inv_solve_ex(ctx, plan, x, P, P0, NULL, con, &d), CF_OK);

  /* the unconstrained reference does go negative for source 0 */
  double B[n * n] = {0}, xu[n], Pu[n * n];
  for (int i = 0; i < n; i++) B[i * n + i] = sa[i] * sa[i];
  reference(n, m, H, y, sig, xa, B, xu, Pu);
  assert_true(xu[0] < -1.0);
  assert_true(xu[2] < 0.0);
  /* P0 is the unconstrained covariance, whatever the pins did to P (the
   * reference solves by Gauss-Jordan: 1e-9 as below) */
  for (int i = 0; i < n * n; i++) assert_close(P0[i], Pu[i], 1e-9, 1e-12 * Pu[0]);

  assert_int_equal(d.n_constrained, 1);
  assert_int_equal(con[0], 1);
  assert_int_equal(con[1], 0);
  assert_int_equal(con[2], 0);
  assert_true(x[0] == 0.0);
  assert_true(P[0] == 0.0 && P[1] == 0.0 && P[2] == 0.0 && P[3] == 0.0 && P[6] == 0.0);
  assert_true(x[2] < 0.0); /* the sink stays negative */

  /* reduced problem: elements 1 and 2 only */
  double Hr[m * 2], xar[2] = {xa[1], xa[2]}, Br[4] = {sa[1] * sa[1], 0.0, 0.0, sa[2] * sa[2]}, xr[2],
         Pr[4];
  for (int k = 0; k < m; k++) {
    Hr[k * 2] = H[k * n + 1];
    Hr[k * 2 + 1] = H[k * n + 2];
  }
  reference(2, m, Hr, y, sig, xar, Br, xr, Pr);
  /* both sides solve systems of condition < 1e3: 1e-9 relative is ample */
  assert_close(x[1], xr[0], 1e-9, 0.0);
  assert_close(x[2], xr[1], 1e-9, 0.0);
  assert_close(P[4], Pr[0], 1e-9, 0.0);
  assert_close(P[5], Pr[1], 0.0, 1e-9 * sqrt(Pr[0] * Pr[3]));
  assert_close(P[8], Pr[3], 1e-9, 0.0);
  assert_true(P[5] == P[7]);

  /* J at the returned x, computed directly */
  double jo = 0.0, jp = 0.0;
  for (int k = 0; k < m; k++) {
    double r = y[k];
    for (int j = 0; j < n; j++) r -= H[k * n + j] * x[j];
    jo += r * r / (sig[k] * sig[k]);
  }
  for (int i = 0; i < n; i++) jp += (x[i] - xa[i]) * (x[i] - xa[i]) / (sa[i] * sa[i]);
  /* the accumulated form loses ~1e-16 of sum r^2 (~1e3 here) */
  assert_close(d.j_obs, jo, 1e-9, 1e-9);
  assert_close(d.j_prior, jp, 1e-12, 0.0);
  assert_close(d.chi2_per_obs, (jo + jp) / m, 1e-9, 0.0);

  /* all free: nothing is constrained, the result is the reference */
  q.source = NULL;
  cf_inv_plan_destroy(plan);
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, 5), CF_OK);
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, con, &d), CF_OK);
  assert_int_equal(d.n_constrained, 0);
  for (int i = 0; i < n; i++) {
    assert_int_equal(con[i], 0);
    assert_close(x[i], xu[i], 1e-9, 0.0);
  }
  cf_inv_plan_destroy(plan);
  cf_ctx_destroy(ctx);
}

/* Correlated prior, several sources pinned: the result must be the
 * inversion of the free elements alone under the prior conditioned on the
 * pinned ones being 0 (mean x_F - B_FS B_SS^-1 x_S, covariance
 * B_FF - B_FS B_SS^-1 B_SF): conditioning the prior and then adding the
 * data is the same Gaussian as conditioning the posterior, which the code
 * does, but it is a different computation. */
static void test_nonnegative_correlated(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { n = 6, m = 36 };
  double H[m * n], y[m], sig[m], xa[n], sa[n], pos[n], B[n * n];
  unsigned char src[n] = {1, 1, 1, 1, 1, 0};
  const double xt[n] = {-4.0, 9.0, -3.0, 0.5, 6.0, -8.0}; /* a "truth" with negative sources */
  uint64_t s = 23;
  for (int i = 0; i < n; i++) {
    xa[i] = i == n - 1 ? -4.0 : 4.0;
    sa[i] = 6.0;
    pos[i] = 1.0 * i;
  }
  prior_exp(n, sa, pos, 1.5, B);
  for (int k = 0; k < m; k++) {
    sig[k] = 0.3;
    y[k] = sig[k] * gauss(&s);
    for (int j = 0; j < n; j++) {
      H[k * n + j] = exp(-fabs((k % 12) * 0.5 - j) / 1.2) * (0.5 + uniform_open(&s));
      y[k] += H[k * n + j] * xt[j];
    }
  }
  cf_inv_params q = {0};
  q.n = n;
  q.x_a = xa;
  q.sigma_a = sa;
  q.prior = CF_INV_PRIOR_EXPONENTIAL;
  q.dim = 1;
  q.pos = pos;
  q.corr_length = 1.5;
  q.source = src;
  q.max_block = 10;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, 10), CF_OK);
  double x[n], P[n * n];
  unsigned char con[n];
  cf_inv_diag d;
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, con, &d), CF_OK);
  cf_inv_plan_destroy(plan);

  int S[n], F[n], ns = 0, nf = 0;
  for (int i = 0; i < n; i++) {
    if (src[i]) assert_true(x[i] >= 0.0);
    if (con[i]) {
      assert_true(src[i]);
      assert_true(x[i] == 0.0);
      S[ns++] = i;
    } else {
      F[nf++] = i;
    }
  }
  assert_int_equal(ns, d.n_constrained);
  if (getenv("CF_TEST_VERBOSE"))
    fprintf(stderr, "pinned %d of 5 sources: x = %g %g %g %g %g %g\n", ns, x[0], x[1], x[2], x[3], x[4], x[5]);
  assert_true(ns >= 2);
  assert_true(x[n - 1] < 0.0); /* the sink */

  /* conditional prior of the free elements given x_S = 0 */
  double Bss[NMAX * NMAX], Bssi[NMAX * NMAX], xaf[NMAX], Bff[NMAX * NMAX];
  for (int a = 0; a < ns; a++)
    for (int b = 0; b < ns; b++) Bss[a * ns + b] = B[S[a] * n + S[b]];
  gj_inverse(ns, Bss, Bssi);
  for (int a = 0; a < nf; a++) {
    double t = 0.0;
    for (int b = 0; b < ns; b++)
      for (int c = 0; c < ns; c++) t += B[F[a] * n + S[b]] * Bssi[b * ns + c] * (0.0 - xa[S[c]]);
    xaf[a] = xa[F[a]] + t;
    for (int e = 0; e < nf; e++) {
      double u = 0.0;
      for (int b = 0; b < ns; b++)
        for (int c = 0; c < ns; c++) u += B[F[a] * n + S[b]] * Bssi[b * ns + c] * B[S[c] * n + F[e]];
      Bff[a * nf + e] = B[F[a] * n + F[e]] - u;
    }
  }
  double Hf[m * NMAX], xr[NMAX], Pr[NMAX * NMAX];
  for (int k = 0; k < m; k++)
    for (int a = 0; a < nf; a++) Hf[k * nf + a] = H[k * n + F[a]];
  reference(nf, m, Hf, y, sig, xaf, Bff, xr, Pr);
  /* conditions below 1e4 on both paths: 1e-8 relative to the scales */
  for (int a = 0; a < nf; a++) {
    assert_close(x[F[a]], xr[a], 0.0, 1e-8 * (fabs(xr[a]) + sqrt(Pr[a * nf + a])));
    for (int e = 0; e < nf; e++)
      assert_close(P[F[a] * n + F[e]], Pr[a * nf + e], 0.0,
                   1e-8 * sqrt(Pr[a * nf + a] * Pr[e * nf + e]));
  }
  for (int a = 0; a < ns; a++)
    for (int j = 0; j < n; j++) assert_true(P[S[a] * n + j] == 0.0 && P[j * n + S[a]] == 0.0);

  /* Here the greedy active set reaches the optimum of the constrained
   * problem min (x - x0)^T M (x - x0), x_sources >= 0 (M the posterior
   * precision, x0 the unconstrained mean): KKT holds, i.e. the gradient
   * M (x - x0) is >= 0 on every pinned source (releasing it would lower the
   * cost only by going negative) and 0 on the others. */
  double xu[n], Pu[n * n], Mu[n * n], Pc[n * n];
  reference(n, m, H, y, sig, xa, B, xu, Pu);
  memcpy(Pc, Pu, sizeof Pc);
  gj_inverse(n, Pc, Mu);
  double gscale = 0.0;
  for (int i = 0; i < n; i++) gscale = fmax(gscale, fabs(xu[i]) * Mu[i * n + i]);
  for (int i = 0; i < n; i++) {
    double g = 0.0;
    for (int j = 0; j < n; j++) g += Mu[i * n + j] * (x[j] - xu[j]);
    if (con[i])
      assert_true(g > 0.0);
    else
      assert_close(g, 0.0, 0.0, 1e-7 * gscale);
  }
  cf_ctx_destroy(ctx);
}

/* A case the greedy pinning alone gets wrong. Posterior before the
 * constraint: x0 = (-1, -0.5), sigmas 10 and 0.1, correlation 0.9. Both
 * are negative, so the greedy phase pins both (pinning only the most
 * negative, A, would drag B to -0.491 and pin it next anyway); but with
 * both pinned A's multiplier has the wrong sign (A is negative only because
 * B is: standardised -0.1 against -5), and only the release step finds it. The optimum pins B
 * alone: A = -1 - 0.9 * (10 / 0.1) * (-0.5) = 44, B = 0. H is built so that
 * H^T H is that posterior precision (2 observations, unit sigma) under a
 * loose diagonal prior (sigma 1e3, which moves the numbers by ~1e-6). */
static void test_nonnegative_release(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  enum { n = 2, m = 2 };
  double s1 = 10.0, s2 = 0.1, rho = 0.9, x0[n] = {-1.0, -0.5};
  double P0[n * n] = {s1 * s1, rho * s1 * s2, rho * s1 * s2, s2 * s2}, Pc[n * n], M[n * n], L[n * n];
  memcpy(Pc, P0, sizeof Pc);
  gj_inverse(n, Pc, M);
  chol_lower(n, M, L); /* M = L L^T: rows of H = columns of L */
  double H[m * n] = {L[0], L[2], L[1], L[3]}, y[m], sig[m] = {1.0, 1.0};
  for (int k = 0; k < m; k++) y[k] = H[k * n] * x0[0] + H[k * n + 1] * x0[1];
  double xa[n] = {0.0, 0.0}, sa[n] = {1e3, 1e3};
  unsigned char src[n] = {1, 1};
  cf_inv_params q = {0};
  q.n = n;
  q.x_a = xa;
  q.sigma_a = sa;
  q.source = src;
  q.max_block = m;
  cf_inv_plan *plan = NULL;
  assert_int_equal(cf_inv_plan_create(ctx, &q, &plan), CF_OK);
  assert_int_equal(feed(ctx, plan, n, m, H, y, sig, m), CF_OK);
  double x[n], P[n * n];
  unsigned char con[n];
  cf_inv_diag d;
  assert_int_equal(cf_inv_solve(ctx, plan, x, P, NULL, con, &d), CF_OK);
  cf_inv_plan_destroy(plan);
  assert_int_equal(d.n_constrained, 1);
  assert_int_equal(con[0], 0);
  assert_int_equal(con[1], 1);
  assert_true(x[1] == 0.0);
  /* independent: the full reference posterior, conditioned on B = 0 by
   * hand (2 x 2); the 1e-6 prior effect is common to both sides */
  double B[n * n] = {sa[0] * sa[0], 0.0, 0.0, sa[1] * sa[1]}, xu[n], Pu[n * n];
  reference(n, m, H, y, sig, xa, B, xu, Pu);
  double xA = xu[0] - Pu[1] / Pu[3] * xu[1], pA = Pu[0] - Pu[1] * Pu[1] / Pu[3];
  assert_close(xA, 44.0, 1e-3, 0.0); /* the hand figure, to the prior's pull */
  /* P0 has condition ~1e5: 1e-9 relative */
  assert_close(x[0], xA, 1e-9, 0.0);
  assert_close(P[0], pA, 1e-9, 0.0);
  assert_true(P[1] == 0.0 && P[2] == 0.0 && P[3] == 0.0);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exactness),
      cmocka_unit_test(test_coverage),
      cmocka_unit_test(test_dofs_limits),
      cmocka_unit_test(test_group_anticorrelated),
      cmocka_unit_test(test_ill_conditioned),
      cmocka_unit_test(test_nonnegative),
      cmocka_unit_test(test_nonnegative_correlated),
      cmocka_unit_test(test_nonnegative_release),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
