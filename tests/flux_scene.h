/*
 * The hand-made flux scene the flux-estimate suites (test_flux_estimate.c,
 * test_flux_sigma.c) share: two point sources upwind of a lidar, PPI sweeps
 * whose L2 arrays are built in memory, and their noise-free signal computed
 * with the estimator's own forward model (cf_flux_jacobian_row through the
 * internal API of lidar/flux/estimate_internal.h), so that the suites test
 * what the estimator does with the model, not the plume physics.
 *
 * The same observations in the same order as cf_flux_estimate gathers them,
 * the same prior and state layout: a reference computed here from them is
 * comparable element by element. Helpers fail the running cmocka test on
 * any error, as a test's own code would.
 */
#ifndef CF_TESTS_FLUX_SCENE_H
#define CF_TESTS_FLUX_SCENE_H

#include <stdint.h>

#include "ingest/flux_sources.h"
#include "ingest/lidar_l2.h"
#include "lidar/flux/estimate.h"
#include "lidar/flux/estimate_internal.h"

/* the point sources P1, P2 and their true rates (t/h); their positions and
 * heights are the scene's (flux_scene.c) */
#define FLUX_SCENE_NPTS 2
extern const double flux_scene_truth_t_h[FLUX_SCENE_NPTS];

typedef struct {
  char *dir;
  cf_l2_set set;
  cf_flux_sources src;
  int n_sweeps, rays, gates;
  long n_obs;
  long *cell;     /* [n_obs] index of the gate in the L2 arrays */
  double *signal; /* [n_obs] noise-free H x_true */
  double *sig;    /* [n_obs] stated sigma */
} flux_scene;

/* cf_flux_set, failing the test unless it takes KEY=VALUE kv. */
void flux_scene_set(cf_ctx *ctx, cf_flux_opts *o, const char *kv);
/* The settings of the exactness test: everything given, R the stated
 * noise, no outlier dropped, no jackknife. */
void flux_scene_exact_opts(cf_ctx *ctx, cf_flux_opts *o);
/* A scene of n_sweeps sweeps of `rays` rays and `gates` gates under the
 * settings *o, its noise-free signal in sc->signal (no draw yet). */
void flux_scene_make(cf_ctx *ctx, const cf_flux_opts *o, int n_sweeps, int rays, int gates, flux_scene *sc);
/* y = signal + noise of the stated sigma (seeded), into the L2 arrays. */
void flux_scene_draw(flux_scene *sc, uint64_t seed);
void flux_scene_free(flux_scene *sc);
/* The index of point source p (0-based: P1 is 0) in sc->src and a result's
 * sources. */
int flux_scene_point_index(const flux_scene *sc, int p);
/* The scene of the exactness and determinism tests: 6 sweeps of 48 rays and
 * 16 gates, 16 cells of 1 km, one noise draw; *o the exactness settings. */
void flux_scene_small(cf_ctx *ctx, cf_flux_opts *o, uint64_t seed, flux_scene *sc);
/* H (n_obs x n) for the scene's current data, the prior x_a (each sweep's
 * median) and sigma_a, and the state layout (*st_out: indices only, no
 * arrays). The caller frees *H, *xa, *sa. */
void flux_scene_jacobian(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, double **H, double **xa,
                         double **sa, cf_flux_state *st_out);
/* The points' part of the signal with each sweep's plumes turned by turn[s]
 * radians and the unobserved history by `history` more (flux_scene.c has
 * the why); *sigma_between (if not NULL) the estimator's spread of the
 * sweeps' directions (degrees). out [n_obs]. */
void flux_scene_point_part(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, const double *turn,
                           double history, int narrow_history, double *out, double *sigma_between);

#endif
