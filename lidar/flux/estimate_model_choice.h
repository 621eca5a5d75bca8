/*
 * Between the inversion of the flux estimate (estimate_inversion.c) and
 * the choice of its plume model by the data (estimate_model_choice.c):
 * the choice runs solves on subsamples through the inversion's workspace,
 * which it sees only as an opaque handle with two operations, and the
 * inversion calls the choice before its two solves. Not installed;
 * nothing outside lidar/flux includes it.
 */
#ifndef CF_LIDAR_FLUX_ESTIMATE_MODEL_CHOICE_H
#define CF_LIDAR_FLUX_ESTIMATE_MODEL_CHOICE_H

#include "lidar/flux/estimate_internal.h"
#include "lidar/flux/inversion.h"

/* The inversion's workspace (estimate_inversion.c): the state, the wind
 * history, the observations and how they are cut into pieces and ranks. */
typedef struct cf_flux_inv_ws cf_flux_inv_ws;

/* --- in estimate_inversion.c ---------------------------------------------- */

/* How many observations the workspace holds. */
long cf_flux_inv_n_obs(const cf_flux_inv_ws *ws);
/* The normal equations of every `every`-th observation with its stated
 * noise, each piece accumulated by its owner into sums[b] and shared with
 * every rank, their total (in piece order) in sums[nb] and the plan's. Called
 * by every rank; a failure anywhere is the same status everywhere. */
int cf_flux_inv_accumulate(cf_ctx *ctx, cf_flux_inv_ws *ws, cf_inv_plan *plan, long every, cf_inv_sums *sums);

/* --- in estimate_model_choice.c ------------------------------------------- */

/* stability=auto: every class fitted on a subsample, the one with the
 * smallest J kept and its models and tables made (res->diag.stability);
 * *j_best its J, spread [nq] half the
 * difference of the two classes' estimates of the nq quantities W [nq x n].
 * x and P are scratch. */
int cf_flux_choose_stability(cf_ctx *ctx, cf_flux_inv_ws *ws, cf_inv_plan *plan, const cf_flux_model_args *ma,
                             const double *W, int nq, cf_inv_sums *sums, double *x, double *P, double *spread,
                             double *j_best, cf_flux_result *res);
/* sigma_z_scale=auto: the factor on class stab's sigma_z by the data into
 * *s_out (ma->met's factor is left at the last one tried); j_class the
 * class selection's J of stab at factor 1 (NaN: none). x and P are scratch. */
int cf_flux_choose_sz_scale(cf_ctx *ctx, cf_flux_inv_ws *ws, cf_inv_plan *plan, const cf_flux_model_args *ma,
                            cf_stability stab, double j_class, cf_inv_sums *sums, double *x, double *P, double *s_out);

#endif
