/*
 * Analytical Bayesian inversion of emission rates (issue 9): the linear
 * Gaussian estimate of a state x (source rates, flux-map cells) from
 * observations y = H x + e, e ~ N(0, R), with prior x ~ N(x_a, B).
 *
 * Plan / accumulate / solve (DESIGN.md): the plan holds the prior (B^-1,
 * factored once) and every workspace; the caller streams H in blocks of
 * observation rows so that all of H is never in memory; solve returns the
 * posterior mean, covariance and diagnostics. See inversion.c for the
 * method, its numerics and its determinism.
 *
 * Layout: every matrix is row-major; H_block is m x n (row i = the
 * sensitivities of observation i to the n state elements), P is n x n.
 */
#ifndef CF_LIDAR_FLUX_INVERSION_H
#define CF_LIDAR_FLUX_INVERSION_H

#include <stddef.h>

#include "carbonflux/ctx.h"

/* t CO2 per hour in one mol/s of CO2 (44.0095 g/mol * 3600 s/h / 1e6 g/t),
 * as ../shared/spec/flux-io.md fixes it. */
#define CF_FLUX_T_PER_H_PER_MOL_S 0.158434

typedef enum {
  CF_INV_PRIOR_DIAGONAL = 0,   /* B = diag(sigma_a^2) */
  CF_INV_PRIOR_EXPONENTIAL = 1 /* B_ij = s_i s_j exp(-d_ij / L), d Euclidean in `pos` */
} cf_inv_prior_kind;

typedef struct {
  int n;                 /* state size, >= 1 */
  const double *x_a;     /* [n] prior mean */
  const double *sigma_a; /* [n] prior 1-sigma, > 0 */
  cf_inv_prior_kind prior;
  int dim;               /* exponential: coordinates per element, 1..3 */
  const double *pos;     /* exponential: [n * dim] positions, row per element */
  double corr_length;    /* exponential: L > 0, same unit as pos */
  const unsigned char *source; /* [n] non-zero = a source, kept >= 0; zero = free (a sink or
                                  a net flux). NULL = all free */
  int max_block;         /* largest m cf_inv_accumulate will be given, >= 1 */
  double min_rcond;      /* refuse to solve when the reciprocal condition number of the
                            posterior precision (or of B) is below it; 0 = default 1e-12 */
} cf_inv_params;

typedef struct {
  long n_obs;          /* observations accumulated */
  double dofs;         /* trace of the averaging kernel (unconstrained estimate) */
  double j_obs;        /* sum ((y - H x) / sigma)^2 at the returned x */
  double j_prior;      /* (x - x_a)^T B^-1 (x - x_a) at the returned x */
  double chi2_per_obs; /* (j_obs + j_prior) / n_obs, ~1 when R and B are right */
  double rcond;        /* reciprocal 1-norm condition number of H^T R^-1 H + B^-1 */
  int n_constrained;   /* sources pinned at 0 by the non-negativity constraint */
} cf_inv_diag;

typedef struct cf_inv_plan cf_inv_plan;

/* Validate the parameters, build and factor the prior, allocate every
 * workspace (O(n^2 + max_block n) doubles). The plan copies what it needs.
 * Side effect, process-wide: OpenBLAS is set to one thread
 * (openblas_set_num_threads(1)), since its threaded routines round
 * differently for different thread counts (inversion.c, Determinism); a
 * caller that wants OpenBLAS threads elsewhere sets them again after. */
int cf_inv_plan_create(cf_ctx *ctx, const cf_inv_params *params, cf_inv_plan **out);
void cf_inv_plan_destroy(cf_inv_plan *plan);

/* Forget accumulated observations (the prior stays): start a new problem. */
void cf_inv_reset(cf_inv_plan *plan);

/* Add m observations: H_block [m x n] row-major, y [m], sigma_obs [m] the
 * 1-sigma of each observation (measurement and model error together; R is
 * diagonal). Blocks are summed in call order: give them in a fixed order and
 * size for bitwise-reproducible results. Nothing is added on error. */
int cf_inv_accumulate(cf_ctx *ctx, cf_inv_plan *plan, const double *H_block, int m,
                      const double *y, const double *sigma_obs);

/* The same for a block given as sparse rows (CSR): row i's non-zero
 * elements are col[row_ptr[i] .. row_ptr[i+1]-1] (strictly increasing)
 * with values val[...]. For the Jacobian of a plume, where a gate sees
 * the few cells upwind of it: the cost is sum over rows of nnz^2 / 2
 * instead of m n^2. Deterministic for any thread count (each element of
 * H^T R^-1 H is summed by one thread in row order); equal to the dense
 * accumulation up to rounding (the order of the products differs). */
int cf_inv_accumulate_sparse(cf_ctx *ctx, cf_inv_plan *plan, int m, const int *row_ptr, const int *col,
                             const double *val, const double *y, const double *sigma_obs);

/* The accumulated sums of a plan: the upper triangle of H^T R^-1 H (n x n
 * row-major, the lower triangle unspecified), H^T R^-1 (y - H x_a) [n],
 * sum ((y - H x_a)/sigma)^2 and the count. They add: the sums of two sets
 * of observations are the sums of their union. A jackknife keeps each
 * block's sums and solves the total minus one block (cf_inv_set_sums). */
typedef struct {
  int n;
  double *hrh, *hrd;
  double sumsq;
  long n_obs;
} cf_inv_sums;

/* Allocate zeroed sums for n elements (free with cf_inv_sums_free). */
int cf_inv_sums_init(cf_ctx *ctx, int n, cf_inv_sums *s);
void cf_inv_sums_free(cf_inv_sums *s);
/* out = the plan's current sums (out made by cf_inv_sums_init with the plan's n). */
void cf_inv_get_sums(const cf_inv_plan *plan, cf_inv_sums *out);
/* acc += s, element by element (in index order: deterministic). */
void cf_inv_sums_add(cf_inv_sums *acc, const cf_inv_sums *s);
/* The plan's sums := a - b (b may be NULL): the observations of a without
 * those of b. CF_EINVAL if the sizes differ or b has more observations. */
int cf_inv_set_sums(cf_ctx *ctx, cf_inv_plan *plan, const cf_inv_sums *a, const cf_inv_sums *b);

/* Solve. x [n] and P [n x n] are required; a_diag [n] (averaging-kernel
 * diagonal) and constrained [n] (1 = source pinned at 0) may be NULL; diag
 * may be NULL. CF_EDATA when the problem is ill-conditioned (the message
 * names the condition number) or has no observations; outputs are then
 * left untouched, never NaN (after any other error their content is
 * unspecified). Non-negativity: sources end >= 0 (those pinned exactly 0,
 * with zero rows and columns in P), free elements are unconstrained; a_diag
 * and diag->dofs are those of the unconstrained linear estimate, J and chi2
 * are at the returned x. The plan can solve again (more blocks, or after
 * cf_inv_reset). */
int cf_inv_solve(cf_ctx *ctx, cf_inv_plan *plan, double *x, double *P, double *a_diag,
                 unsigned char *constrained, cf_inv_diag *diag);

/* cf_inv_solve, and P0 [n x n] (may be NULL) the unconstrained posterior
 * covariance, before the non-negativity pins condition P: a source pinned
 * at 0 has zero variance in P, and its correlated neighbours lose what
 * they share with it, although the data left them as uncertain as P0
 * says. A caller reporting sigmas can use P0 (honest, conservative about
 * the one-sided bound at 0). */
int cf_inv_solve_ex(cf_ctx *ctx, cf_inv_plan *plan, double *x, double *P, double *P0, double *a_diag,
                    unsigned char *constrained, cf_inv_diag *diag);

/* A group's total w^T x and its 1-sigma sqrt(w^T P w) (P n x n row-major). */
int cf_inv_group(cf_ctx *ctx, int n, const double *w, const double *x, const double *P,
                 double *total, double *sigma);

/* Rate units: mol/s of CO2 <-> t CO2 per hour. */
double cf_flux_mol_s_to_t_h(double mol_s);
double cf_flux_t_h_to_mol_s(double t_h);

#endif
