/*
 * Analytical Bayesian inversion (lidar/flux/inversion.h).
 *
 * The method. With a linear forward model y = H x + e, Gaussian
 * observation errors e ~ N(0, R) and a Gaussian prior x ~ N(x_a, B), the
 * posterior is Gaussian with
 *     precision  M = H^T R^-1 H + B^-1,      covariance P = M^-1,
 *     mean       x = x_a + P H^T R^-1 (y - H x_a),
 * the minimum of the cost J(x) = (y - Hx)^T R^-1 (y - Hx)
 *                               + (x - x_a)^T B^-1 (x - x_a).
 * The averaging kernel A = dx/dx_true = P H^T R^-1 H = I - P B^-1 says how
 * much of each element comes from the data; its trace is the degrees of
 * freedom for signal (DOFS), between 0 (the prior only) and n (the data
 * only). At the solution E[J] = m (the m + n Gaussian terms lose n to the
 * fit), so J/m ("chi2 per observation" as IMI reports it) near 1 says that
 * R and B are consistent with the data; we report J_obs and J_prior too.
 *
 * Streaming. R is diagonal (sigma_obs^2 per observation: measurement plus
 * the forward model's error, which only the caller knows), so M and
 * H^T R^-1 (y - H x_a) are sums over observations. Each block of m rows is
 * scaled by 1/sigma (rows of R^-1/2 H and r = R^-1/2 (y - H x_a)), then
 * the upper triangle of M gets Hs^T Hs by dsyrk and the vector gets
 * Hs^T r by dgemv. Memory is O(n^2 + max_block n), whatever the number of
 * observations. sum r^2 is kept too: J_obs at any x follows from the
 * accumulated quantities, J_obs = r.r - 2 dx.(Hs^T r) + dx^T (Hs^T Hs) dx
 * with dx = x - x_a, without a second pass over H. That form cancels when
 * J_obs << r.r (a very informative data set): its absolute error is about
 * 1e-16 r.r, negligible for a diagnostic near m.
 *
 * Solving. M is factored by Cholesky (LAPACK dpotf2); LAPACKE_dpocon
 * estimates its reciprocal 1-norm condition number. A problem whose
 * precision is singular (collinear columns of H, not regularised by a
 * loose prior) is refused with CF_EDATA naming the condition number,
 * whenever rcond < min_rcond (default 1e-12: relative errors in x of
 * cond * eps ~ 1e-4 at the limit) or the factorisation itself fails
 * (condition beyond 1/eps); outputs are then not written, so no NaN ever
 * leaves this file. dpotrs gives x, and P from the identity (two
 * triangular solves with n right-hand sides, P symmetrised bitwise). Why
 * dpotf2 + dpotrs and not dpotrf + dpotri: OpenBLAS reimplements dpotrf,
 * dpotrf2 and dpotri with a work split that depends on its thread count,
 * and their results differ in the last bits between 1 and 2 threads (n = 96
 * already); dpotf2 (unblocked, 0.13 s at n = 1610) and dpotrs (dtrsm) do
 * not. The n^3 cost is small beside the n^2 m of accumulating H^T R^-1 H.
 * The prior is checked
 * the same way when the plan is made (an exponential B with two elements at
 * the same position is singular).
 *
 * Prior. Diagonal, or exponential spatial correlation
 * B_ij = s_i s_j exp(-d_ij / L) (positive definite for Euclidean d in 1 to
 * 3 dimensions: the exponential is a valid covariance in any dimension).
 * B^-1 is formed once in the plan by Cholesky (dpotf2 + dpotrs).
 *
 * Non-negativity. A source (flag set) cannot emit a negative rate; a free
 * element (a sink, a net flux) can take any sign. The constrained estimate
 * is the mode of the posterior restricted to sources >= 0, i.e. the
 * minimum of (x - x0)^T P0^-1 (x - x0) over that set, (x0, P0) the
 * unconstrained posterior. For a set S of sources pinned at 0 the minimum is
 * the posterior conditioned on x[S] = 0,
 *     x = x0 - P0[:,S] v,  v = P0[S,S]^-1 x0[S],
 *     P = P0 - P0[:,S] P0[S,S]^-1 P0[S,:],
 * the exact limit of "a prior variance -> 0 at 0" without its round-off:
 * pinned elements are exactly 0 with zero variance, and the others move
 * along their posterior correlation with them (a neighbour anti-correlated
 * with a pinned source loses what it had taken from it). The gradient of
 * the cost there is -v on S, so a pin is justified (its Lagrange multiplier
 * has the right sign) when v <= 0. S is found by an active set: first
 * greedily (pin every negative source, re-condition, repeat until no
 * source is negative; the Cholesky factor of P0[S,S] grows by appended
 * columns, O(k^2) each), then Lawson-Hanson steps: release the pin with the largest v > 0, walk from the
 * current feasible x towards the optimum of the smaller set and pin the
 * first source that reaches 0 on the way, until every multiplier has the
 * right sign. The cost decreases strictly at each release, so no set comes
 * back and it ends (a cap of 10 steps per source, never reached in the
 * tests, turns round-off cycling into CF_EINTERNAL rather than a loop).
 * Cost: n = 1610 with every source pinned solves in about 3 s (one core).
 * The averaging kernel and DOFS are those of the linear (unconstrained)
 * estimator; J, chi2 and the group totals use the constrained x and P.
 * A caller wanting a non-zero uncertainty for a pinned source can report
 * its unconstrained sigma (one-sided: the truth is >= 0).
 *
 * Determinism. Blocks are summed in call order, so the caller must produce
 * them in a fixed order and of fixed sizes: different block sizes change
 * the result at the rounding level only (the tests hold it to 1e-12). The
 * sparse accumulation (cf_inv_accumulate_sparse) has the one parallel
 * section of this file: thread t updates only the rows a of H^T R^-1 H
 * with a % T == t, every element still summed over the block's rows in
 * order, so its sums do not depend on T either. OpenBLAS itself runs on
 * one thread: a plan sets it so (openblas_set_num_threads(1), process-wide)
 * because its threaded routines do NOT round alike for 1 and 2 threads:
 * at n = 300, dsyrk and dgemv (accumulating), the dtrsm of dpotrs (the
 * inverses of B and M) each gave different last bits for 1 and 2 OpenBLAS
 * threads (Debian 12's 0.3.21, pthreads; at n = 96 it does not thread, and
 * the test at that size had passed). The one costly BLAS call of an
 * estimate, the inverse's n triangular solves, is split by columns over
 * our own threads instead (chol_inverse), each column the same arithmetic
 * on any thread. tests/test_inversion_wide.c checks 1 and 2 threads, ours and
 * the caller's OpenBLAS setting, bitwise at n = 300.
 */
#include "lidar/flux/inversion.h"

#include <cblas.h>
#include <lapack.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* The column chunk of the inverse (chol_inverse). */
#define CHOL_NB 128

#define WHERE "inversion"
#define DEFAULT_MIN_RCOND 1e-12

struct cf_inv_plan {
  int n, max_block;
  double min_rcond;
  double *x_a;           /* [n] */
  unsigned char *source; /* [n] */
  double *binv;          /* [n*n] B^-1, full */
  double *hrh;           /* [n*n] upper triangle of H^T R^-1 H */
  double *hrd;           /* [n] H^T R^-1 (y - H x_a) */
  double sumsq;          /* sum of ((y - H x_a)/sigma)^2 */
  long n_obs;
  double *hs;  /* [max_block*n] scaled block */
  double *r;   /* [max_block] scaled residual */
  double *fac; /* [n*n] Cholesky factor of M, later Z */
  double *g;   /* [n*n] P0[S,S] and its factor */
  double *x0, *v, *dx, *z; /* [n] */
  unsigned char *pin;       /* [n] 1 = pinned at 0 */
  int *set;            /* [n] pinned elements in pin order */
};

double cf_flux_mol_s_to_t_h(double mol_s) { return mol_s * CF_FLUX_T_PER_H_PER_MOL_S; }
double cf_flux_t_h_to_mol_s(double t_h) { return t_h / CF_FLUX_T_PER_H_PER_MOL_S; }

void cf_inv_plan_destroy(cf_inv_plan *p) {
  if (!p) return;
  free(p->x_a);
  free(p->source);
  free(p->binv);
  free(p->hrh);
  free(p->hrd);
  free(p->hs);
  free(p->r);
  free(p->fac);
  free(p->g);
  free(p->x0);
  free(p->v);
  free(p->dx);
  free(p->z);
  free(p->pin);
  free(p->set);
  free(p);
}

void cf_inv_reset(cf_inv_plan *p) {
  size_t n = (size_t)p->n;
  memset(p->hrh, 0, n * n * sizeof *p->hrh);
  memset(p->hrd, 0, n * sizeof *p->hrd);
  p->sumsq = 0.0;
  p->n_obs = 0;
}

static int validate_params(cf_ctx *ctx, const cf_inv_params *q) {
  if (!q) return cf_error(ctx, CF_EINVAL, WHERE, "params", "missing");
  if (q->n < 1) return cf_error(ctx, CF_EINVAL, WHERE, "n", "must be >= 1, got %d", q->n);
  if (q->max_block < 1)
    return cf_error(ctx, CF_EINVAL, WHERE, "max_block", "must be >= 1, got %d", q->max_block);
  if (!q->x_a || !q->sigma_a)
    return cf_error(ctx, CF_EINVAL, WHERE, q->x_a ? "sigma_a" : "x_a", "missing");
  if (!(q->min_rcond >= 0.0 && q->min_rcond < 1.0))
    return cf_error(ctx, CF_EINVAL, WHERE, "min_rcond", "must be in [0, 1), got %g", q->min_rcond);
  for (int i = 0; i < q->n; i++) {
    if (!isfinite(q->x_a[i]))
      return cf_error(ctx, CF_EINVAL, WHERE, "x_a", "element %d is not finite", i);
    if (!(q->sigma_a[i] > 0.0) || !isfinite(q->sigma_a[i]))
      return cf_error(ctx, CF_EINVAL, WHERE, "sigma_a", "element %d must be finite and > 0, got %g",
                      i, q->sigma_a[i]);
  }
  if (q->prior == CF_INV_PRIOR_EXPONENTIAL) {
    if (q->dim < 1 || q->dim > 3)
      return cf_error(ctx, CF_EINVAL, WHERE, "dim", "must be 1, 2 or 3, got %d", q->dim);
    if (!q->pos) return cf_error(ctx, CF_EINVAL, WHERE, "pos", "missing (exponential prior)");
    if (!(q->corr_length > 0.0) || !isfinite(q->corr_length))
      return cf_error(ctx, CF_EINVAL, WHERE, "corr_length", "must be finite and > 0, got %g",
                      q->corr_length);
    for (long k = 0; k < (long)q->n * q->dim; k++)
      if (!isfinite(q->pos[k]))
        return cf_error(ctx, CF_EINVAL, WHERE, "pos", "element %ld is not finite", k / q->dim);
  } else if (q->prior != CF_INV_PRIOR_DIAGONAL) {
    return cf_error(ctx, CF_EINVAL, WHERE, "prior", "unknown kind %d", (int)q->prior);
  }
  return CF_OK;
}

/* Cholesky factor U^T U of the row-major upper triangle of a, in place.
 * LAPACK's unblocked dpotf2 rather than dpotrf: OpenBLAS's dpotrf (and
 * dpotrf2, dpotri) split their work by thread count and round differently
 * for 1 and 2 threads, which dpotf2 does not (tests/test_inversion_wide.c).
 * Row-major upper is column-major lower. Returns LAPACK's info. */
static lapack_int chol_upper(int n, double *a) {
  char uplo = 'L';
  lapack_int nn = n, info = 0;
  LAPACK_dpotf2(&uplo, &nn, a, &nn, &info);
  return info;
}

/* inv = (U^T U)^-1 from the factor in fac, by dpotrs on the identity (two
 * triangular solves, deterministic for any thread count, unlike dpotri),
 * then made bitwise symmetric. */
static int chol_inverse(cf_ctx *ctx, int n, const double *fac, double *inv) {
  memset(inv, 0, (size_t)n * n * sizeof *inv);
  for (int i = 0; i < n; i++) inv[(size_t)i * n + i] = 1.0;
  /* CHOL_NB columns at a time, chunks on our threads (OpenBLAS runs on one:
   * see Determinism): a column's solve is the same arithmetic whatever
   * columns it comes with and whichever thread does it, and between
   * chunks a cancellation (SIGTERM) is seen; the whole inverse is about
   * 0.4 s of CPU at n = 1,650 */
  int nt = cf_get_threads(ctx), bad = 0;
  if (nt <= 0) nt = omp_get_max_threads();
  if (nt < 1) nt = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) reduction(| : bad)
  for (int j = 0; j < n; j += CHOL_NB) {
    if (bad || cf_cancelled(ctx)) {
      bad |= 1;
      continue;
    }
    int nb = n - j < CHOL_NB ? n - j : CHOL_NB;
    if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', n, nb, fac, n, inv + j, n) != 0) bad |= 2;
  }
  if (bad & 2) return cf_error(ctx, CF_EINTERNAL, WHERE, "", "LAPACKE_dpotrs failed");
  if (bad) return cf_error(ctx, CF_ECANCEL, WHERE, "", "cancelled");
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double s = 0.5 * (inv[(size_t)i * n + j] + inv[(size_t)j * n + i]);
      inv[(size_t)i * n + j] = inv[(size_t)j * n + i] = s;
    }
  return CF_OK;
}

/* B^-1 into p->binv (full), using p->fac as scratch. */
static int build_prior(cf_ctx *ctx, cf_inv_plan *p, const cf_inv_params *q) {
  int n = q->n;
  if (q->prior == CF_INV_PRIOR_DIAGONAL) {
    double vmin = INFINITY, vmax = 0.0;
    for (int i = 0; i < n; i++) {
      double v = q->sigma_a[i] * q->sigma_a[i];
      p->binv[(size_t)i * n + i] = 1.0 / v;
      if (v < vmin) vmin = v;
      if (v > vmax) vmax = v;
    }
    if (vmin / vmax < p->min_rcond)
      return cf_error(ctx, CF_EDATA, WHERE, "sigma_a",
                      "prior covariance ill-conditioned: condition number %.3g exceeds %.3g "
                      "(prior variances from %g to %g)",
                      vmax / vmin, 1.0 / p->min_rcond, vmin, vmax);
    return CF_OK;
  }
  double *b = p->fac;
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double d2 = 0.0;
      for (int k = 0; k < q->dim; k++) {
        double dd = q->pos[(size_t)i * q->dim + k] - q->pos[(size_t)j * q->dim + k];
        d2 += dd * dd;
      }
      b[(size_t)i * n + j] = q->sigma_a[i] * q->sigma_a[j] * exp(-sqrt(d2) / q->corr_length);
    }
  double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'U', n, b, n);
  lapack_int info = chol_upper(n, b);
  if (info < 0) return cf_error(ctx, CF_EINTERNAL, WHERE, "", "dpotf2: argument %d", (int)-info);
  if (info > 0)
    return cf_error(ctx, CF_EDATA, WHERE, "pos",
                    "prior covariance not positive definite (condition number beyond 1/eps = "
                    "%.3g): are two elements at the same position?",
                    1.0 / 2.220446049250313e-16);
  double rcond = 0.0;
  info = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'U', n, b, n, anorm, &rcond);
  if (info != 0) return cf_error(ctx, CF_EINTERNAL, WHERE, "", "LAPACKE_dpocon: info %d", (int)info);
  if (!(rcond >= p->min_rcond))
    return cf_error(ctx, CF_EDATA, WHERE, "corr_length",
                    "prior covariance ill-conditioned: condition number %.3g exceeds %.3g "
                    "(elements closer than the correlation length %g can resolve)",
                    1.0 / rcond, 1.0 / p->min_rcond, q->corr_length);
  return chol_inverse(ctx, n, b, p->binv);
}

int cf_inv_plan_create(cf_ctx *ctx, const cf_inv_params *q, cf_inv_plan **out) {
  if (!out) return cf_error(ctx, CF_EINVAL, WHERE, "out", "missing");
  *out = NULL;
  int rc = validate_params(ctx, q);
  if (rc) return rc;
  size_t n = (size_t)q->n, mb = (size_t)q->max_block;
  if (n > 46340 || mb > ((size_t)1 << 40) / n)
    return cf_error(ctx, CF_ENOMEM, WHERE, "n", "state of %zu elements with blocks of %zu rows too large", n, mb);
  cf_inv_plan *p = calloc(1, sizeof *p);
  if (!p) return cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory for the plan");
  /* OpenBLAS on one thread, whatever the caller or OPENBLAS_NUM_THREADS set
   * (see Determinism): its threaded dsyrk, dgemv and dtrsm round
   * differently for 1 and 2 threads from n of a few hundred */
  openblas_set_num_threads(1);
  p->n = q->n;
  p->max_block = q->max_block;
  p->min_rcond = q->min_rcond > 0.0 ? q->min_rcond : DEFAULT_MIN_RCOND;
  p->x_a = malloc(n * sizeof *p->x_a);
  p->source = calloc(n, 1);
  p->binv = calloc(n * n, sizeof *p->binv);
  p->hrh = calloc(n * n, sizeof *p->hrh);
  p->hrd = calloc(n, sizeof *p->hrd);
  p->hs = malloc(mb * n * sizeof *p->hs);
  p->r = malloc(mb * sizeof *p->r);
  p->fac = calloc(n * n, sizeof *p->fac);
  p->g = malloc(n * n * sizeof *p->g);
  p->x0 = malloc(n * sizeof *p->x0);
  p->v = malloc(n * sizeof *p->v);
  p->dx = malloc(n * sizeof *p->dx);
  p->z = malloc(n * sizeof *p->z);
  p->pin = malloc(n);
  p->set = malloc(n * sizeof *p->set);
  if (!p->x_a || !p->source || !p->binv || !p->hrh || !p->hrd || !p->hs || !p->r || !p->fac ||
      !p->g || !p->x0 || !p->v || !p->dx || !p->z || !p->pin || !p->set) {
    cf_inv_plan_destroy(p);
    return cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory for a state of %zu elements", n);
  }
  memcpy(p->x_a, q->x_a, n * sizeof *p->x_a);
  if (q->source)
    for (size_t i = 0; i < n; i++) p->source[i] = q->source[i] ? 1 : 0;
  rc = build_prior(ctx, p, q);
  if (rc) {
    cf_inv_plan_destroy(p);
    return rc;
  }
  *out = p;
  return CF_OK;
}

int cf_inv_accumulate(cf_ctx *ctx, cf_inv_plan *p, const double *H, int m, const double *y,
                      const double *sigma) {
  if (!p) return cf_error(ctx, CF_EINVAL, WHERE, "plan", "missing");
  if (m < 1 || m > p->max_block)
    return cf_error(ctx, CF_EINVAL, WHERE, "m", "block of %d rows: must be in 1..%d (max_block)", m,
                    p->max_block);
  if (!H || !y || !sigma)
    return cf_error(ctx, CF_EINVAL, WHERE, !H ? "H_block" : !y ? "y" : "sigma_obs", "missing");
  int n = p->n;
  /* validation first: a block is added whole or not at all */
  for (int i = 0; i < m; i++) {
    if (!isfinite(y[i]))
      return cf_error(ctx, CF_EDATA, WHERE, "y", "observation %ld is not finite", p->n_obs + i);
    if (!(sigma[i] > 0.0) || !isfinite(sigma[i]))
      return cf_error(ctx, CF_EDATA, WHERE, "sigma_obs", "observation %ld: must be finite and > 0, got %g",
                      p->n_obs + i, sigma[i]);
    for (int j = 0; j < n; j++)
      if (!isfinite(H[(size_t)i * n + j]))
        return cf_error(ctx, CF_EDATA, WHERE, "H_block", "observation %ld, element %d is not finite",
                        p->n_obs + i, j);
  }
  for (int i = 0; i < m; i++) {
    const double *h = H + (size_t)i * n;
    double *hs = p->hs + (size_t)i * n;
    double w = 1.0 / sigma[i], hx = 0.0;
    for (int j = 0; j < n; j++) {
      hs[j] = h[j] * w;
      hx += h[j] * p->x_a[j];
    }
    p->r[i] = (y[i] - hx) * w;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, m, 1.0, p->hs, n, 1.0, p->hrh, n);
  cblas_dgemv(CblasRowMajor, CblasTrans, m, n, 1.0, p->hs, n, p->r, 1, 1.0, p->hrd, 1);
  for (int i = 0; i < m; i++) p->sumsq += p->r[i] * p->r[i];
  p->n_obs += m;
  return CF_OK;
}

int cf_inv_accumulate_sparse(cf_ctx *ctx, cf_inv_plan *p, int m, const int *row_ptr, const int *col,
                             const double *val, const double *y, const double *sigma) {
  if (!p) return cf_error(ctx, CF_EINVAL, WHERE, "plan", "missing");
  if (m < 1) return cf_error(ctx, CF_EINVAL, WHERE, "m", "block of %d rows", m);
  if (!row_ptr || !col || !val || !y || !sigma) return cf_error(ctx, CF_EINVAL, WHERE, "H_block", "missing");
  int n = p->n;
  for (int i = 0; i < m; i++) {
    if (!isfinite(y[i]))
      return cf_error(ctx, CF_EDATA, WHERE, "y", "observation %ld is not finite", p->n_obs + i);
    if (!(sigma[i] > 0.0) || !isfinite(sigma[i]))
      return cf_error(ctx, CF_EDATA, WHERE, "sigma_obs", "observation %ld: must be finite and > 0, got %g",
                      p->n_obs + i, sigma[i]);
    if (row_ptr[i + 1] < row_ptr[i])
      return cf_error(ctx, CF_EINVAL, WHERE, "row_ptr", "row %d ends before it starts", i);
    for (int k = row_ptr[i]; k < row_ptr[i + 1]; k++) {
      if (col[k] < 0 || col[k] >= n || (k > row_ptr[i] && col[k] <= col[k - 1]))
        return cf_error(ctx, CF_EINVAL, WHERE, "col", "row %d: columns must increase within 0..%d", i, n - 1);
      if (!isfinite(val[k]))
        return cf_error(ctx, CF_EDATA, WHERE, "H_block", "observation %ld, element %d is not finite",
                        p->n_obs + i, col[k]);
    }
  }
  /* the scaled values and residuals, in the plan's block workspace when
   * they fit (max_block * n doubles), else their own */
  size_t nnz = (size_t)row_ptr[m] - (size_t)row_ptr[0];
  double *hs = nnz <= (size_t)p->max_block * (size_t)n ? p->hs : malloc(nnz * sizeof *hs);
  double *r = m <= p->max_block ? p->r : malloc((size_t)m * sizeof *r);
  if (!hs || !r) {
    if (hs != p->hs) free(hs);
    if (r != p->r) free(r);
    return cf_error(ctx, CF_ENOMEM, WHERE, "H_block", "out of memory for %zu values", nnz);
  }
  const int base = row_ptr[0];
  for (int i = 0; i < m; i++) {
    double w = 1.0 / sigma[i], hx = 0.0;
    for (int k = row_ptr[i]; k < row_ptr[i + 1]; k++) {
      hs[k - base] = val[k] * w;
      hx += val[k] * p->x_a[col[k]];
    }
    r[i] = (y[i] - hx) * w;
  }
  int nt = cf_get_threads(ctx);
  if (nt <= 0) nt = omp_get_max_threads();
  if (nt < 1) nt = 1;
  /* thread t owns the rows a of H^T R^-1 H with a % nt == t */
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    for (int i = 0; i < m; i++) {
      const int k0 = row_ptr[i] - base, k1 = row_ptr[i + 1] - base;
      for (int ka = k0; ka < k1; ka++) {
        int a = col[ka + base];
        if (a % T != t) continue;
        double ha = hs[ka];
        double *row = p->hrh + (size_t)a * n;
        for (int kb = ka; kb < k1; kb++) row[col[kb + base]] += ha * hs[kb];
        p->hrd[a] += ha * r[i];
      }
    }
  }
  for (int i = 0; i < m; i++) p->sumsq += r[i] * r[i];
  p->n_obs += m;
  if (hs != p->hs) free(hs);
  if (r != p->r) free(r);
  return CF_OK;
}

int cf_inv_sums_init(cf_ctx *ctx, int n, cf_inv_sums *s) {
  memset(s, 0, sizeof *s);
  if (n < 1) return cf_error(ctx, CF_EINVAL, WHERE, "n", "must be >= 1, got %d", n);
  s->hrh = calloc((size_t)n * n, sizeof *s->hrh);
  s->hrd = calloc((size_t)n, sizeof *s->hrd);
  if (!s->hrh || !s->hrd) {
    cf_inv_sums_free(s);
    return cf_error(ctx, CF_ENOMEM, WHERE, "sums", "out of memory for %d elements", n);
  }
  s->n = n;
  return CF_OK;
}

void cf_inv_sums_free(cf_inv_sums *s) {
  free(s->hrh);
  free(s->hrd);
  memset(s, 0, sizeof *s);
}

void cf_inv_get_sums(const cf_inv_plan *p, cf_inv_sums *out) {
  size_t n = (size_t)p->n;
  memcpy(out->hrh, p->hrh, n * n * sizeof *out->hrh);
  memcpy(out->hrd, p->hrd, n * sizeof *out->hrd);
  out->sumsq = p->sumsq;
  out->n_obs = p->n_obs;
}

void cf_inv_sums_add(cf_inv_sums *acc, const cf_inv_sums *s) {
  size_t n = (size_t)acc->n;
  for (size_t k = 0; k < n * n; k++) acc->hrh[k] += s->hrh[k];
  for (size_t k = 0; k < n; k++) acc->hrd[k] += s->hrd[k];
  acc->sumsq += s->sumsq;
  acc->n_obs += s->n_obs;
}

int cf_inv_set_sums(cf_ctx *ctx, cf_inv_plan *p, const cf_inv_sums *a, const cf_inv_sums *b) {
  if (a->n != p->n || (b && b->n != p->n))
    return cf_error(ctx, CF_EINVAL, WHERE, "sums", "made for %d elements, the plan has %d", b && b->n != p->n ? b->n : a->n,
                    p->n);
  if (b && b->n_obs > a->n_obs)
    return cf_error(ctx, CF_EINVAL, WHERE, "sums", "removing %ld observations from %ld", b->n_obs, a->n_obs);
  size_t n = (size_t)p->n;
  for (size_t k = 0; k < n * n; k++) p->hrh[k] = a->hrh[k] - (b ? b->hrh[k] : 0.0);
  for (size_t k = 0; k < n; k++) p->hrd[k] = a->hrd[k] - (b ? b->hrd[k] : 0.0);
  p->sumsq = a->sumsq - (b ? b->sumsq : 0.0);
  p->n_obs = a->n_obs - (b ? b->n_obs : 0);
  return CF_OK;
}

/* How condition_on_pins gets the Cholesky factor of P0[S,S] (kept in p->g
 * with leading dimension n, so that a pin can be appended in O(k^2)). */
enum { PINS_REFACTOR, PINS_APPEND, PINS_CURRENT };

/* Condition the posterior (x0 in p->x0, P0 in P) on x[S] = 0 for the k
 * pinned elements p->set[0..k-1]: the mean into x (P untouched), or, when
 * final, P too. v = P0[S,S]^-1 x0[S] is left in p->v (not when final).
 * PINS_APPEND extends the factor by set[from..k-1]. */
static int condition_on_pins(cf_ctx *ctx, cf_inv_plan *p, int k, double *x, double *P, int how,
                             int from, int final) {
  int n = p->n;
  double *G = p->g; /* row-major upper U, U^T U = P0[S,S], leading dimension n */
  lapack_int info = 0;
  if (how == PINS_REFACTOR) {
    for (int a = 0; a < k; a++)
      for (int b = a; b < k; b++) G[(size_t)a * n + b] = P[(size_t)p->set[a] * n + p->set[b]];
    char uplo = 'L'; /* row-major upper = column-major lower */
    lapack_int kk = k, ld = n;
    LAPACK_dpotf2(&uplo, &kk, G, &ld, &info);
  } else if (how == PINS_APPEND) {
    /* new columns u of U for set[from..k-1], one after the other:
     * U^T u = P0[S_before, s], then the pivot */
    for (int a = from; a < k && info == 0; a++) {
      int s = p->set[a];
      double d = P[(size_t)s * n + s];
      for (int b = 0; b < a; b++) {
        double t = P[(size_t)p->set[b] * n + s];
        for (int c = 0; c < b; c++) t -= G[(size_t)c * n + b] * G[(size_t)c * n + a];
        t /= G[(size_t)b * n + b];
        G[(size_t)b * n + a] = t;
        d -= t * t;
      }
      if (d > 0.0)
        G[(size_t)a * n + a] = sqrt(d);
      else
        info = a + 1;
    }
  }
  if (info != 0)
    return cf_error(ctx, CF_EDATA, WHERE, "source",
                    "the %d pinned sources have a singular posterior covariance (Cholesky info %d)", k,
                    (int)info);
  for (int a = 0; a < k; a++) p->v[a] = p->x0[p->set[a]];
  LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', k, 1, G, n, p->v, 1);
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int a = 0; a < k; a++) s += P[(size_t)i * n + p->set[a]] * p->v[a];
    x[i] = p->x0[i] - s;
  }
  for (int a = 0; a < k; a++) x[p->set[a]] = 0.0; /* exactly, not to round-off */
  if (!final) return CF_OK;
  /* Z = P0[S,S]^-1 P0[S,:] into fac (k x n) */
  double *Z = p->fac;
  for (int a = 0; a < k; a++) memcpy(Z + (size_t)a * n, P + (size_t)p->set[a] * n, (size_t)n * sizeof *Z);
  LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', k, n, G, n, Z, n);
  /* P -= P0[:,S] Z, in place: columns in S are read until the end and only
   * then zeroed, as are rows in S (their exact conditional variance). */
  unsigned char *pinned = (unsigned char *)p->v; /* k doubles no longer needed; n bytes fit */
  memset(pinned, 0, (size_t)n);
  for (int a = 0; a < k; a++) pinned[p->set[a]] = 1;
  for (int i = 0; i < n; i++) {
    if (pinned[i]) continue;
    for (int j = 0; j < n; j++) {
      if (pinned[j]) continue;
      double s = 0.0;
      for (int a = 0; a < k; a++) s += P[(size_t)i * n + p->set[a]] * Z[(size_t)a * n + j];
      P[(size_t)i * n + j] -= s;
    }
  }
  for (int i = 0; i < n; i++)
    if (pinned[i])
      for (int j = 0; j < n; j++) P[(size_t)i * n + j] = P[(size_t)j * n + i] = 0.0;
  /* the update is symmetric in exact arithmetic; make it so bitwise */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double s = 0.5 * (P[(size_t)i * n + j] + P[(size_t)j * n + i]);
      P[(size_t)i * n + j] = P[(size_t)j * n + i] = s;
    }
  return CF_OK;
}

int cf_inv_solve(cf_ctx *ctx, cf_inv_plan *p, double *x, double *P, double *a_diag,
                 unsigned char *constrained, cf_inv_diag *diag) {
  return cf_inv_solve_ex(ctx, p, x, P, NULL, a_diag, constrained, diag);
}

int cf_inv_solve_ex(cf_ctx *ctx, cf_inv_plan *p, double *x, double *P, double *P0, double *a_diag,
                    unsigned char *constrained, cf_inv_diag *diag) {
  if (!p) return cf_error(ctx, CF_EINVAL, WHERE, "plan", "missing");
  if (!x || !P) return cf_error(ctx, CF_EINVAL, WHERE, !x ? "x" : "P", "missing");
  if (p->n_obs < 1) return cf_error(ctx, CF_EDATA, WHERE, "", "no observations accumulated");
  int n = p->n;
  if (n < 1) return cf_error(ctx, CF_EINTERNAL, WHERE, "plan", "state size %d", n);
  size_t nn = (size_t)n * n;
  double *M = p->fac;
  memset(M, 0, nn * sizeof *M);
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++)
      M[(size_t)i * n + j] = p->hrh[(size_t)i * n + j] + p->binv[(size_t)i * n + j];
  double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'U', n, M, n);
  if (!isfinite(anorm))
    return cf_error(ctx, CF_EDATA, WHERE, "H_block",
                    "posterior precision H^T R^-1 H + B^-1 overflows (norm %g)", anorm);
  lapack_int info = chol_upper(n, M);
  if (info < 0) return cf_error(ctx, CF_EINTERNAL, WHERE, "", "dpotf2: argument %d", (int)-info);
  if (info > 0)
    return cf_error(ctx, CF_EDATA, WHERE, "H_block",
                    "ill-conditioned problem: the posterior precision H^T R^-1 H + B^-1 is not "
                    "numerically positive definite (condition number beyond 1/eps = %.3g, first "
                    "failing pivot at element %d): the observations cannot separate some "
                    "elements and the prior is too loose to make up for it",
                    1.0 / 2.220446049250313e-16, (int)info - 1);
  double rcond = 0.0;
  info = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'U', n, M, n, anorm, &rcond);
  if (info != 0) return cf_error(ctx, CF_EINTERNAL, WHERE, "", "LAPACKE_dpocon: info %d", (int)info);
  if (!(rcond >= p->min_rcond))
    return cf_error(ctx, CF_EDATA, WHERE, "H_block",
                    "ill-conditioned problem: condition number %.3g of the posterior precision "
                    "H^T R^-1 H + B^-1 exceeds %.3g: the observations cannot separate some "
                    "elements and the prior is too loose to make up for it",
                    1.0 / rcond, 1.0 / p->min_rcond);
  /* unconstrained mean */
  memcpy(p->dx, p->hrd, (size_t)n * sizeof *p->dx);
  LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', n, 1, M, n, p->dx, 1);
  for (int i = 0; i < n; i++) p->x0[i] = p->x_a[i] + p->dx[i];
  /* unconstrained covariance straight into the caller's P */
  int rc0 = chol_inverse(ctx, n, M, P);
  if (rc0) return rc0;
  double dofs = 0.0;
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int k = 0; k < n; k++) s += P[(size_t)i * n + k] * p->binv[(size_t)k * n + i];
    if (a_diag) a_diag[i] = 1.0 - s;
    dofs += 1.0 - s;
  }
  /* non-negativity: active set over the sources (see the top) */
  memcpy(x, p->x0, (size_t)n * sizeof *x);
  if (constrained) memset(constrained, 0, (size_t)n);
  memset(p->pin, 0, (size_t)n);
  int k = 0, n_src = 0;
  for (int i = 0; i < n; i++) n_src += p->source[i];
  /* phase 1, greedy: pin every negative source at once, re-condition, and
   * repeat until none is negative (at most one step per source) */
  for (;;) {
    if (cf_check_cancel(ctx, WHERE, NULL)) return CF_ECANCEL;
    int from = k;
    for (int i = 0; i < n; i++)
      if (p->source[i] && !p->pin[i] && x[i] < 0.0) {
        p->set[k++] = i;
        p->pin[i] = 1;
      }
    if (k == from) break;
    int rc = condition_on_pins(ctx, p, k, x, P, PINS_APPEND, from, 0);
    if (rc) return rc;
  }
  /* phase 2, Lawson-Hanson: x is feasible and optimal for its pinned set;
   * the multiplier of pin a is -v[a] (v = P0[S,S]^-1 x0[S]); while one has
   * the wrong sign, release it and walk from x towards the new optimum,
   * pinning whatever source reaches 0 first on the way. */
  int steps = 0, max_steps = 10 * n_src + 100;
  while (k > 0) {
    double tol = 0.0;
    for (int a = 0; a < k; a++) {
      double sc = fabs(p->x0[p->set[a]]) / P[(size_t)p->set[a] * n + p->set[a]];
      if (sc > tol) tol = sc;
    }
    tol *= 1e-10;
    int rel = -1;
    for (int a = 0; a < k; a++)
      if (p->v[a] > tol && (rel < 0 || p->v[a] > p->v[rel])) rel = a;
    if (rel < 0) break;
    p->pin[p->set[rel]] = 0;
    for (int a = rel; a + 1 < k; a++) p->set[a] = p->set[a + 1];
    k--;
    int how = PINS_REFACTOR; /* the set lost a member */
    for (;;) {
      if (cf_check_cancel(ctx, WHERE, NULL)) return CF_ECANCEL; /* seconds at n = 1,610 */
      if (++steps > max_steps)
        return cf_error(ctx, CF_EINTERNAL, WHERE, "source",
                        "non-negativity active set did not settle in %d steps", max_steps);
      if (k > 0) {
        int rc = condition_on_pins(ctx, p, k, p->z, P, how, 0, 0);
        if (rc) return rc;
      } else {
        memcpy(p->z, p->x0, (size_t)n * sizeof *p->z);
      }
      double alpha = 2.0;
      int first = -1;
      for (int i = 0; i < n; i++)
        if (p->source[i] && !p->pin[i] && p->z[i] < 0.0) {
          double t = x[i] / (x[i] - p->z[i]);
          if (t < alpha) alpha = t, first = i;
        }
      if (first < 0) {
        memcpy(x, p->z, (size_t)n * sizeof *x);
        break;
      }
      for (int i = 0; i < n; i++) x[i] += alpha * (p->z[i] - x[i]);
      for (int i = 0; i < n; i++)
        if (p->source[i] && !p->pin[i] && (i == first || x[i] <= 0.0)) {
          x[i] = 0.0;
          p->pin[i] = 1;
          p->set[k++] = i;
        }
      how = PINS_REFACTOR;
    }
  }
  if (P0) memcpy(P0, P, (size_t)n * n * sizeof *P0); /* before the pins condition it */
  if (k > 0) {
    int rc = condition_on_pins(ctx, p, k, x, P, PINS_CURRENT, 0, 1);
    if (rc) return rc;
    if (constrained)
      for (int a = 0; a < k; a++) constrained[p->set[a]] = 1;
  }
  if (diag) {
    /* J at the returned x from the accumulated sums (see the top) */
    for (int i = 0; i < n; i++) p->dx[i] = x[i] - p->x_a[i];
    double jp = 0.0, quad = 0.0, lin = 0.0;
    for (int i = 0; i < n; i++) {
      double bi = 0.0, hi = 0.0;
      for (int j = 0; j < n; j++) {
        bi += p->binv[(size_t)i * n + j] * p->dx[j];
        size_t ij = i <= j ? (size_t)i * n + j : (size_t)j * n + i; /* upper triangle */
        hi += p->hrh[ij] * p->dx[j];
      }
      jp += p->dx[i] * bi;
      quad += p->dx[i] * hi;
      lin += p->dx[i] * p->hrd[i];
    }
    double jo = p->sumsq - 2.0 * lin + quad;
    if (jo < 0.0) jo = 0.0; /* round-off of the expanded form */
    diag->n_obs = p->n_obs;
    diag->dofs = dofs;
    diag->j_obs = jo;
    diag->j_prior = jp;
    diag->chi2_per_obs = (jo + jp) / (double)p->n_obs;
    diag->rcond = rcond;
    diag->n_constrained = k;
  }
  return CF_OK;
}

int cf_inv_group(cf_ctx *ctx, int n, const double *w, const double *x, const double *P,
                 double *total, double *sigma) {
  if (n < 1) return cf_error(ctx, CF_EINVAL, WHERE, "n", "must be >= 1, got %d", n);
  if (!w || !x || !P || !total || !sigma)
    return cf_error(ctx, CF_EINVAL, WHERE, !w ? "w" : !x ? "x" : !P ? "P" : "total/sigma", "missing");
  double t = 0.0, v = 0.0;
  for (int i = 0; i < n; i++) {
    t += w[i] * x[i];
    double s = 0.0;
    for (int j = 0; j < n; j++) s += P[(size_t)i * n + j] * w[j];
    v += w[i] * s;
  }
  if (!isfinite(t) || !isfinite(v))
    return cf_error(ctx, CF_EDATA, WHERE, "w", "group total or variance not finite");
  /* w^T P w >= 0 for a covariance; a tiny negative is round-off */
  *total = t;
  *sigma = sqrt(v > 0.0 ? v : 0.0);
  return CF_OK;
}
