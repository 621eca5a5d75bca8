/*
 * The truth simulator of the flux estimation (issue 9):
 * `carbonflux simulate flux`. It writes L2 files of contract 1.1
 * (../shared/spec/lidar-l2.md) and a JSON truth for a scene of sources
 * (../shared/spec/flux-io.md), with a transport that is deliberately NOT
 * the inversion's steady Gaussian plume (lidar/flux/plume.h):
 *
 * Puffs. Every source releases a puff each `release_s` seconds from
 * t0 - spinup_s on, holding Q * release_s of CO2 (Q the source's rate;
 * the sources layer's `prior_t_per_h` is taken as the TRUE rate here;
 * 1 mol/s = 0.158434 t/h). An area source is split into sub-sources on a
 * square grid of `area_cell` m in the site frame (cells whose centre lies in
 * the polygon, holes excluded), the rate shared equally; their puffs start
 * with a horizontal width of at least cell/sqrt(12) (a uniform cell's
 * standard deviation).
 *
 * Wind. Spatially uniform, of constant speed `wind_speed`; its direction
 * (from) meanders as an Ornstein-Uhlenbeck process of mean `wind_from`,
 * standard deviation `meander_sigma` and correlation time `meander_tau`
 * (exact AR(1) update on a 1 s grid, started from the stationary law). A
 * puff moves with the wind: its centre is the source plus the integral of
 * the wind vector since its release (trapezoid on the 1 s grid), so puffs
 * follow curved, meandering paths.
 *
 * Growth (not Briggs): Fickian diffusion from an initial size,
 * sigma_h(a) = sqrt(2 K_h a) + sigma_h0 and sigma_z(a) = sqrt(2 K_z a) +
 * sigma_z0 for age a, with eddy diffusivities K_h, K_z (settings).
 * Vertically, the puff is reflected at the ground and at the boundary-layer
 * top `bl_height` (images at +-h + 2 k zi, |k| <= 4) and taken as
 * well mixed (1/zi) once sigma_z > zi.
 *
 * Concentration of a gate: sum over puffs of
 *   m / (2 pi sigma_h^2) exp(-r^2 / (2 sigma_h^2)) * V(z)     [mol m-3]
 * divided by the dry-air molar density n_air = p0 / (R T0) (constant with
 * height), plus the background: `co2` + a per-sweep offset (normal,
 * `sweep_offset_sigma`) + a gradient of `gradient_east`, `gradient_north`
 * ppm/km in the site frame; plus gate noise N(0, `noise_ppm`). Rays are lost
 * with probability `missing_ray` (all gates masked, qc invalid_ray); a good
 * gate gets a spike of +`spike_ppm` with probability `spike_prob`, NOT
 * flagged unless flag_spikes=yes (then qc hard_target_or_saturation): an
 * undetected outlier the inversion must survive. The truth file counts them.
 *
 * Scan: PPI sweeps cycling through `elevations` (default 2,5,10 degrees),
 * `rays` rays each over [az_start, az_end) in `sweep_seconds`; gates of
 * `gate_length` m from `first_gate`. Each sweep is one L2 scan. Radial
 * velocity: the true instantaneous wind at the ray's time projected on the
 * beam, plus N(0, `vr_noise`). Wind profile per scan: the true wind
 * averaged over the sweep plus N(0, `wind_noise`) per component and level
 * (what a fit of the sweep would give), at `wind_levels` heights
 * 50, 100, ... m above the instrument.
 *
 * CNR. cnr_on follows the aerosol: for a collimated beam far from focus
 * CNR ~ beta(z) / r^2, so
 *   cnr_on = -15 dB - 20 log10(r / 1 km) + 10 log10(beta(z) / beta_ML)
 * at the gate's height z above the ground (with the earth's curvature,
 * cf_geo_gate_height_agl), the aerosol mixed below bl_height (beta_ML)
 * and `cnr_free_ratio` times that in the free troposphere above, the
 * transition symmetric in log(beta):
 *   log beta(z) = log beta_ML + log(cnr_free_ratio) (1 + tanh((z - bl_height) / w)) / 2
 * with w = `cnr_transition_m` (a step for 0). bl_height is thus the
 * inflection of log(beta), where the gradient and wavelet methods of
 * lidar/flux/boundary_layer.h place the top. cnr_off = that + 1 dB (less
 * absorption off-line); each gets its own noise N(0, `cnr_noise_db`).
 * Transmission and the focus function are not simulated.
 *
 * Files: one L2 file per `scans_per_file` sweeps, OUT.nc when there is one
 * file, else OUT_000.nc, OUT_001.nc ...; the truth JSON.
 *
 * Determinism: every random number comes from a stream of (seed, purpose,
 * index) (core/rng.h): the meander from one stream, each ray from its
 * own, and each ray's CNR noise from another of its own (a purpose added
 * after the others, so that the CO2, velocities and profiles of a seed are
 * what they were before the CNR had noise). Rays are computed in parallel (OpenMP) and written in one thread,
 * so the arrays are identical for any thread count.
 */
#ifndef CF_LIDAR_FLUX_SIM_FLUX_H
#define CF_LIDAR_FLUX_SIM_FLUX_H

#include <stdint.h>
#include <stdio.h>

#include "carbonflux/ctx.h"
#include "core/kvtable.h"
#include "ingest/flux_sources.h"
#include "lidar/flux/geometry.h"

#define CF_SIMFLUX_MAX_ELEV 16
#define CF_SIMFLUX_T_PER_H_PER_MOL_S 0.158434 /* flux-io.md */

typedef struct {
  uint64_t seed;
  double lat, lon, alt, instrument_height; /* site (WGS84, m above MSL), instrument above ground */
  double t0;                               /* first ray, s since 1970 */
  int scans, scans_per_file, rays, gates;
  char elevations[CF_KV_TEXT_MAX]; /* "2,5,10" */
  double az_start, az_end, sweep_seconds, gate_length, first_gate;
  double wind_speed, wind_from, meander_sigma, meander_tau;
  double k_h, k_z, sigma_h0, sigma_z0, bl_height, release_s, spinup_s, area_cell;
  double p0, T0;
  double co2, sweep_offset_sigma, gradient_east, gradient_north;
  double noise_ppm, missing_ray, spike_prob, spike_ppm;
  int flag_spikes;
  double vr_noise, wind_noise;
  int wind_levels;
  double cnr_free_ratio, cnr_transition_m, cnr_noise_db;
} cf_simflux_config;

void cf_simflux_defaults(cf_simflux_config *c);
/* Apply "KEY=VALUE" (CF_EINVAL with a message naming the key). */
int cf_simflux_set(cf_ctx *ctx, cf_simflux_config *c, const char *key_value);
/* Checks across settings (elevation list, ...). */
int cf_simflux_check(cf_ctx *ctx, const cf_simflux_config *c);
void cf_simflux_describe(FILE *out, const cf_simflux_config *defaults);
char *cf_simflux_json(const cf_simflux_config *c); /* malloc'ed */
/* Parse the elevation list: up to CF_SIMFLUX_MAX_ELEV values in (0, 90). */
int cf_simflux_elevations(cf_ctx *ctx, const cf_simflux_config *c, double *elev, int *n);

/* The OU wind direction (from, degrees) at times t_start + k dt, k < n,
 * as the simulator draws it for c->seed (exact AR(1) update). */
int cf_simflux_direction_series(cf_ctx *ctx, const cf_simflux_config *c, double dt, int n, double *out);

/* The puff model of a scene, for the simulator and for tests. */
typedef struct cf_simflux_model cf_simflux_model;
/* Build the model for times [t0 - spinup_s, t_end]. Sources as read by
 * cf_flux_sources_read (prior_t_per_h = truth). */
int cf_simflux_model_create(cf_ctx *ctx, const cf_simflux_config *c, const cf_flux_sources *src, double t_end,
                            cf_simflux_model **out);
void cf_simflux_model_free(cf_simflux_model *m);
/* Excess CO2 (ppm) over the background at site-frame (e, n) and height z
 * above the ground, at time t (t0 - spinup_s < t <= t_end). */
double cf_simflux_excess_ppm(const cf_simflux_model *m, double t, double e, double n, double z);
/* The true wind (m/s, east and north) at time t. */
void cf_simflux_wind(const cf_simflux_model *m, double t, double *u, double *v);
/* The noise-free cnr_on (dB) of a gate at range_m whose height above the
 * ground is z_agl_m (see CNR above); cnr_off is 1 dB more. */
double cf_simflux_cnr_db(const cf_simflux_config *c, double range_m, double z_agl_m);
/* Dry-air molar density p0 / (R T0), mol m-3. */
double cf_simflux_n_air(const cf_simflux_config *c);

/* Simulate: L2 file(s) at `out` (see above) and the truth JSON. */
int cf_simulate_flux(cf_ctx *ctx, const cf_simflux_config *c, const char *sources_path, const char *out,
                     const char *truth_path);

/* The benchmark scene as GeoJSON around the site of `c` (see
 * sim_flux_scene.c for the layout). */
int cf_simflux_write_benchmark_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path);
/* The same scene with the priors an estimate starts from (off the truth by
 * 20-60 %, sigmas that cover it): the sources layer of the demo and the
 * benchmark's inversions. */
int cf_simflux_write_benchmark_priors(cf_ctx *ctx, const cf_simflux_config *c, const char *path);

#endif
