/*
 * What the files of the flux truth simulator (sim_flux.h) share and its
 * users do not: the puff model's view for the sweeps and the truth, and
 * the simulated L2 arrays with their writer. The simulator is
 *   sim_flux_config.c  its settings (one table: KEY=VALUE, --help, JSON);
 *   sim_flux_puffs.c   the meandering wind and the puffs it carries;
 *   sim_flux.c         the sweeps through the puffs and the truth file;
 *   sim_flux_l2.c      the L2 file of a run of sweeps;
 *   sim_flux_scene.c   the benchmark scene as a sources layer.
 */
#ifndef CF_LIDAR_FLUX_SIM_FLUX_INTERNAL_H
#define CF_LIDAR_FLUX_SIM_FLUX_INTERNAL_H

#include "lidar/flux/sim_flux.h"

#define CF_SIMFLUX_PI 3.14159265358979323846
#define CF_SIMFLUX_D2R (CF_SIMFLUX_PI / 180.0)

/* The settings a model was built with (a copy of the caller's). */
const cf_simflux_config *cf_simflux_model_config(const cf_simflux_model *m);
/* The number of sub-sources (point sources and area cells) of the scene. */
int cf_simflux_model_subsources(const cf_simflux_model *m);
/* Excess ppm at every gate of one ray at time t (added into ex[ng]; the
 * gates at range[ng]): cf_simflux_excess_ppm along the beam, with only
 * the gates within reach of each puff visited. */
void cf_simflux_ray_excess(const cf_simflux_model *m, double t, double az_deg, double el_deg, const double *range,
                           int ng, double *ex);

/* The arrays of one L2 file: nr rays of ng gates, ns scans with wind
 * profiles at nh heights. */
typedef struct {
  int nr, ng, ns, nh;
  double *time, *az, *el;
  int *scan_id;
  double *range;
  double *ppm, *ppm_u, *nd, *nd_u, *vr, *vr_u, *cnr_on, *cnr_off; /* [nr*ng], NaN = masked */
  unsigned short *qc;
  int *scan;
  double *scan_time, *height;
  double *u, *v, *w, *speed, *dir, *rmse; /* [ns*nh] */
  int *beams;
} cf_simflux_l2;

/* Zeroed arrays; -1 (all freed) when out of memory. */
int cf_simflux_l2_alloc(cf_simflux_l2 *d, int nr, int ng, int ns, int nh);
void cf_simflux_l2_free(cf_simflux_l2 *d);
/* Write d as an L2 file of contract 1.1 at `path` (atomically), the site
 * from c, `history` and `params` (JSON) as global attributes. */
int cf_simflux_l2_write(cf_ctx *ctx, const char *path, const cf_simflux_l2 *d, const cf_simflux_config *c,
                        const char *history, const char *params);

#endif
