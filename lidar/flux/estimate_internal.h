/*
 * The pieces of the flux estimate (estimate.h) shared between its files:
 *   flux_met.c    sweeps, their winds, the direction statistics and the
 *                 plume models along each sweep's trailing wind;
 *   flux_state.c  the state vector (grid cells, point sources,
 *                 background), its prior, the sources' weights and the
 *                 Jacobian rows;
 *   estimate.c    settings, observations, the mass balance and the result;
 *   estimate_inversion.c  the two solves, the jackknife and the rates and
 *                 sigmas of sources and groups;
 *   estimate_model_choice.c  the plume model by the data: the stability
 *                 class, the factor on sigma_z, the class term
 *                 (estimate_model_choice.h, between it and the inversion).
 * Not installed; nothing outside lidar/flux includes it.
 */
#ifndef CF_LIDAR_FLUX_ESTIMATE_INTERNAL_H
#define CF_LIDAR_FLUX_ESTIMATE_INTERNAL_H

#include "lidar/flux/estimate.h"
#include "lidar/flux/geometry.h"

#define CF_FLUX_WHERE "flux estimate"

/* One PPI sweep: the rays of one scan_id in one file. */
typedef struct {
  int file;
  int scan_id;
  double t_start, t_end, t_mid;
  double elevation_deg;
  double az_min, az_max;
  double u, v;             /* transport wind, m/s east/north (mean below the BLH) */
  double speed_ms;         /* scalar mean speed */
  int wind_from_profile;   /* 1 = the file's profile, 0 = fit to the radial velocities */
  double dir_within_deg;   /* direction fluctuation inside the sweep (radial velocities), NaN = unknown */
  double range_min_m, range_max_m;
} cf_flux_sweep_met;

/* The wind history: sweeps in time order, and for each sweep the plume
 * models along its trailing mean wind for travel times k * dt_s. */
typedef struct {
  int n_sweeps;
  cf_flux_sweep_met *sw;
  int n_files;
  int **ray_sweep;         /* [n_files][n_rays]: the sweep of each ray */
  double dt_s;             /* travel-time bin */
  int n_bins;
  cf_plume_model *models;  /* [n_sweeps * n_bins] */
  double sigma_theta_deg;  /* total direction SD (between + within sweeps), for stability */
  double sigma_between_deg; /* circular SD of the sweeps' directions: the meander the record shows */
  double sigma_dir_deg;    /* the plume axis's direction uncertainty used in the models */
  double sigma_z_scale;    /* the factor on the Briggs sigma_z the models use (plume.h) */
  double mean_speed_ms, mean_from_deg;
  double min_speed_ms;
} cf_flux_met;

/* Sweeps and their winds from the files. BLH in m above the ground. */
int cf_flux_met_build(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_opts *o, double blh_m, cf_flux_met *met);
/* Plume models for every sweep and travel-time bin (after the stability,
 * BLH, n_air and direction uncertainty are known). max_dist_m bounds the
 * source-receptor distance. */
int cf_flux_met_models(cf_ctx *ctx, cf_flux_met *met, cf_stability stab, double blh_m, double n_air,
                       double sigma_dir_deg, double max_dist_m);
/* The model of sweep s for a source at distance d_m from the receptor. */
const cf_plume_model *cf_flux_met_model(const cf_flux_met *met, int s, double d_m);
/* The share (0..1) of that model's travel time that lies before the first
 * sweep, where no wind was observed (the first sweep's is held). */
double cf_flux_met_unobserved(const cf_flux_met *met, int s, double d_m);
void cf_flux_met_free(cf_flux_met *met);

/* An observation in the local frame. */
typedef struct {
  double e, n, z;          /* z: above the ground */
  double t;                /* s since 1970 */
  double y, sigma;         /* ppm */
  int sweep;
  int vt;                  /* its Gz table in cf_flux_state.vt (gates of one height share one) */
} cf_flux_obs;

/* State layout. */
typedef struct {
  int nx, ny;              /* grid */
  double west, north, res; /* grid edges, m */
  int n_cells, n_points, n_sweeps;
  int i_points, i_sweeps, i_grad, i_drift; /* first index of each block */
  int n;                   /* total */
  int *point_src;          /* [n_points] index of the source */
  double *pe, *pn, *ph;    /* [n_points] position, release height */
  double *x_a, *sigma_a;   /* [n] prior */
  unsigned char *nonneg;   /* [n] 1 = kept >= 0 */
  double *pos;             /* [n * 2] positions for a correlated prior (background far apart) */
  double *w;               /* [n_sources * n] weights: source k's rate = w_k . x */
  int n_sources;
  double t_ref;            /* drift reference time */
  double cell_area;        /* m^2 */
  double x_max;            /* largest source-receptor distance (the Gz tables' reach), m */
  int n_vt;                /* Gz tables, one per distinct gate height (cf_flux_state_tables) */
  cf_plume_vtable *vt;
} cf_flux_state;

/* The Gz tables of every distinct observation height (a PPI's gate k is at
 * one height in every ray of its elevation, so there are about elevations
 * x gates of them, not one per observation), and each observation's
 * index into them. After the plume models exist (any model: the tables
 * depend only on the stability and the BLH). */
int cf_flux_state_tables(cf_ctx *ctx, cf_flux_state *st, const cf_flux_met *met, cf_flux_obs *obs, long n_obs);

int cf_flux_state_build(cf_ctx *ctx, const cf_flux_sources *src, const cf_geo_site *site, const cf_flux_opts *o,
                        int n_sweeps, const double *sweep_median_ppm, double t_ref, cf_flux_state *st);
void cf_flux_state_free(cf_flux_state *st);

/* Row of H (n doubles) for one observation; `emis` (may be NULL) gets the
 * part of H x from the emissions (cells and points) when x is given. */
void cf_flux_jacobian_row(const cf_flux_state *st, const cf_flux_met *met, const cf_flux_obs *ob, double *row);

/* What the plume models are made of (cf_flux_met_models), for the class
 * selection to remake them. */
typedef struct {
  cf_flux_met *met;
  cf_flux_state *st;
  cf_flux_obs *obs;
  double blh, n_air, sdir, max_dist;
  int auto_stab;
  int auto_sz;             /* fit the factor on sigma_z (estimate_model_choice.c) */
} cf_flux_model_args;

/* The inversion of obs[0..n_obs-1] for the sources `src` (estimate_inversion.c):
 * fills res->sources, res->groups, res->grid and the inversion's part of
 * res->diag. */
int cf_flux_run_inversion(cf_ctx *ctx, const cf_flux_state *st, const cf_flux_model_args *ma, const cf_flux_obs *obs,
                          long n_obs, const cf_flux_sources *src, const cf_flux_opts *o, cf_flux_result *res);

/* t/h of a cell <-> umol m-2 s-1 */
double cf_flux_cell_t_h_to_umol(double t_h, double area_m2);

#endif
