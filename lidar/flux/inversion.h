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
 * workspace (O(n^2 + max_block n) doubles). The plan copies what it needs. */
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

/* A group's total w^T x and its 1-sigma sqrt(w^T P w) (P n x n row-major). */
int cf_inv_group(cf_ctx *ctx, int n, const double *w, const double *x, const double *P,
                 double *total, double *sigma);

/* Rate units: mol/s of CO2 <-> t CO2 per hour. */
double cf_flux_mol_s_to_t_h(double mol_s);
double cf_flux_t_h_to_mol_s(double t_h);

#endif
