/*
 * The instrument simulator: L0 files of either level from a known truth,
 * and the truth beside them.
 *
 * For each ray it follows the beam sample by sample: optical depth from
 * aerosol extinction and CO2 absorption (cross-sections from the line list
 * at each height's pressure and temperature), CNR from the lidar equation
 * (sim_scene.h), and the Doppler frequency from the wind's projection.
 *  - level spectra: each gate's expected per-pulse periodogram is the
 *    response model (response.h) of the window-weighted signal variance
 *    plus the receiver noise; the accumulated spectrum draws each bin as a
 *    sum of N exponential variates (one Gamma(N) draw), which is what
 *    summing N speckle periodograms gives;
 *  - level raw: each pulse's heterodyne record is generated in time:
 *    complex Gaussian speckle with the pulse's correlation, the Doppler
 *    phase integrated sample by sample, receiver noise through the noise
 *    filter, int16 quantisation.
 * Work is split by ray and every ray draws from its own random stream, so
 * the files are identical for any thread count.
 */
#ifndef CF_LIDAR_SIMULATE_H
#define CF_LIDAR_SIMULATE_H

#include "lidar/sim_scene.h"

/* Write the L0 file `l0_path` and the truth (NetCDF-4) `truth_path`. */
int cf_simulate_lidar(cf_ctx *ctx, const cf_sim_config *cfg, const char *l0_path, const char *truth_path);

#endif
