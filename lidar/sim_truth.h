/*
 * The simulator's truth file: what the retrieval should find, written beside
 * every simulated L0 file as NetCDF-4 with the L2 product's variable names
 * (../shared/spec/lidar-l2.md) where they mean the same thing, so a test can
 * compare a retrieval with its truth name for name.
 */
#ifndef CF_LIDAR_SIM_TRUTH_H
#define CF_LIDAR_SIM_TRUTH_H

#include "core/fsutil.h"
#include "lidar/optics.h"
#include "lidar/sim_scene.h"

typedef struct {
  const cf_sim_config *cfg;
  int n_rays, n_gates;
  double *time, *azimuth, *elevation;
  int *scan_id;
  double *radial_velocity, *co2_ppm, *co2_nd, *cnr_on, *cnr_off; /* [ray][gate] */
} cf_sim_truth;

int cf_sim_truth_alloc(cf_ctx *ctx, cf_sim_truth *t, const cf_sim_config *c, int n_rays, int n_gates);
void cf_sim_truth_free(cf_sim_truth *t);
void cf_sim_truth_set_geometry(cf_sim_truth *t, int ray, double time, double az, double el, int scan);
void cf_sim_truth_set_ray(cf_sim_truth *t, int ray, const double *vr, const double *ppm, const double *nd,
                          const double *cnr_on, const double *cnr_off);
/* Writes the truth, the wind profile at 10 m steps and the optics table
 * (p, T, dry-air density and cross-sections by height) the simulator used.
 * With `part` non-NULL the complete file is left as a part file handed to
 * the caller (see cf_l0_writer_close) instead of being renamed into place. */
int cf_sim_truth_write(cf_ctx *ctx, const cf_sim_truth *t, const cf_optics *op, const char *path,
                       cf_atomic_file *part);

#endif
