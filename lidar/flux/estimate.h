/*
 * Flux estimation: from L2 lidar files and a sources layer to emission
 * rates with an uncertainty that holds (issue 9, ../shared/spec/flux-io.md).
 * `carbonflux flux estimate` and the pipeline stages lidar.inversion and
 * lidar.flux_massbalance are thin layers over this file.
 *
 * Why this is more than "call the inversion": the atmosphere is not the
 * steady plume of the forward model. The wind direction meanders on
 * scales of minutes, so each sweep sees a plume displaced from where the
 * model puts it; a fit that trusts the model returns a small sigma around
 * a wrong value. Three things keep the reported sigma honest (see
 * estimate.c for the derivations):
 *
 *  1. The forward model is the ENSEMBLE-MEAN plume of a meandering wind,
 *     not the instantaneous one: the crosswind spread is Briggs' sigma_y
 *     widened by the lateral displacement a wind direction with standard
 *     deviation sigma_theta and memory tau gives after travel time x/u
 *     (Taylor 1921). sigma_theta comes from the data (the spread of the
 *     sweeps' wind directions and of the directions the radial velocities
 *     imply) unless given.
 *  2. R carries the model error: per observation, noise^2 + (f * the
 *     predicted enhancement)^2 + floor^2, with f and the floor estimated
 *     from the residuals of a first solve (so that chi2 per observation of
 *     the plume-affected gates is 1).
 *  3. What a diagonal R cannot know, that one sweep's model errors are
 *     correlated (the whole plume is displaced at once), enters twice: the
 *     transport direction's error, shared by every gate of a sweep, is
 *     propagated into each source's and group's variance (the sandwich
 *     G U S U^T G^T of a diagonal-R estimate under that correlated error,
 *     estimate_inversion.c "Direction error"), and a delete-a-block
 *     jackknife over contiguous blocks of sweeps measures the spread the
 *     estimate really has; the reported sigma of a source or a group is
 *     the larger of the two.
 *
 * State: the flux of every cell of a square grid centred on the lidar (the
 * area sources live there: an area source's rate is the area-weighted sum
 * of its cells), one element per point source, and the background: one
 * offset per sweep, a horizontal gradient (east, north) and a drift in
 * time. Everything is in t CO2/h (the map in umol m-2 s-1).
 *
 * Conventions: the local frame of lidar/flux/geometry.h (east, north in m
 * from the lidar, azimuthal equidistant on WGS 84); the grid's CRS is that
 * projection, "+proj=aeqd +lat_0=LAT +lon_0=LON +x_0=0 +y_0=0 +datum=WGS84
 * +units=m +no_defs".
 */
#ifndef CF_LIDAR_FLUX_ESTIMATE_H
#define CF_LIDAR_FLUX_ESTIMATE_H

#include <stddef.h>

#include "carbonflux/ctx.h"
#include "core/kvtable.h"
#include "core/strbuf.h"
#include "ingest/flux_sources.h"
#include "ingest/lidar_l2.h"
#include "lidar/flux/mass_balance.h"
#include "lidar/flux/plume.h"

typedef enum { CF_FLUX_INVERSION = 0, CF_FLUX_MASS_BALANCE = 1, CF_FLUX_BOTH = 2 } cf_flux_method;
extern const char *const cf_flux_method_names[];   /* inversion, mass_balance, both */
extern const char *const cf_flux_auto_names[];     /* auto */
extern const char *const cf_flux_stability_names[]; /* auto, A, B, C, D, E, F, wind */
extern const char *const cf_flux_mb_top_names[];     /* auto, constant, to_zero */

typedef struct {
  int method;                    /* cf_flux_method */
  cf_kv_num_or_choice blh_m;     /* choice 0 = auto (from CNR), else metres */
  int stability;                 /* 0 = auto (the best fit), 1..6 = A..F, 7 = wind (EPA sigma_A) */
  cf_kv_num_or_choice sigma_theta_deg; /* choice 0 = auto (from the data) */
  cf_kv_num_or_choice sigma_z_scale; /* choice 0 = auto (fitted with the class), else the factor on sigma_z */
  double meander_tau_s;
  double domain_m, grid_m;
  double cell_sigma_umol;        /* prior sigma of a cell with no source, umol m-2 s-1 */
  double prior_corr_m;           /* 0: diagonal prior; else exponential correlation length */
  double offset_sigma_ppm, gradient_sigma_ppm_km, drift_sigma_ppm_h;
  cf_kv_num_or_choice model_error; /* choice 0 = auto; else the fraction f of the enhancement */
  cf_kv_num_or_choice model_floor_ppm; /* choice 0 = auto (from the residuals) */
  int jackknife_blocks;          /* 0: no jackknife */
  double max_range_m;            /* gates farther are not used (0: all) */
  double min_height_m;           /* gates lower than this above the ground are not used */
  double instrument_height_m;    /* the lidar above the ground */
  double p_hpa, t_k;             /* for the dry-air density */
  double mb_x_min_m, mb_x_max_m; /* mass balance band, m downwind of the source (0: auto) */
  double mb_window_m;            /* plume window half-width (0: auto) */
  int mb_top;                    /* above the deepest gate: 0 auto, 1 constant, 2 to zero */
  double spike_sigma;            /* residuals beyond this many sigma are outliers, dropped */
} cf_flux_opts;

extern const cf_kv_table cf_flux_settings;
void cf_flux_defaults(cf_flux_opts *o);
/* "KEY=VALUE" from the command line. */
int cf_flux_set(cf_ctx *ctx, cf_flux_opts *o, const char *key_value);
/* Checks across settings (mb_x_min < mb_x_max, grid divides the domain...). */
int cf_flux_opts_check(cf_ctx *ctx, const cf_flux_opts *o);

/* One source's answer. */
typedef struct {
  const char *name;              /* borrowed from the sources layer */
  cf_source_kind kind;
  const char *group;             /* borrowed; NULL = none */
  double e_m, n_m;               /* local position (area: centroid) */
  double prior_t_h, prior_sigma_t_h;
  int estimated;                 /* 0: the inversion did not run */
  double rate_t_h, sigma_t_h;    /* reported: sigma = max(posterior, jackknife) */
  double sigma_posterior_t_h, sigma_jackknife_t_h; /* NaN when not computed */
  /* the error shared by each sweep's gates through the transport direction
   * (estimate_inversion.c, "Direction error"); the reported sigma is
   * max(sqrt(posterior^2 + direction^2), jackknife) with the stability
   * term added. NaN when not computed. */
  double sigma_direction_t_h;
  /* the rotation of the unobserved wind history before the first sweep,
   * shared by all sweeps, and the class term (half the difference of the
   * two best classes at sigma_z x 1); both added in quadrature
   * outside the jackknife, which cannot see what all its blocks share.
   * 0 when not computed. */
  double sigma_history_t_h, sigma_class_t_h;
  double avg_kernel;             /* point: A_jj; area: w^T A w / w^T w over its cells */
  int constrained;               /* pinned at 0 by non-negativity */
  int mb_isolated;               /* mass balance: 1 = rate below */
  double mb_rate_t_h, mb_sigma_t_h;
  char mb_reason[CF_MB_REASON_LEN];
} cf_flux_source_result;

typedef struct {
  char *name;
  int n_members;
  int *members;                  /* indices into sources */
  double prior_t_h, rate_t_h, sigma_t_h, sigma_posterior_t_h, sigma_jackknife_t_h, sigma_direction_t_h;
  double sigma_history_t_h, sigma_class_t_h;
} cf_flux_group_result;

/* The flux map: nx * ny cells of res_m, row-major, row 0 the NORTH edge
 * (as a north-up raster), column 0 the west edge. Cell (r, c) covers
 * e in [west_m + c res, west_m + (c+1) res], n in [north_m - (r+1) res,
 * north_m - r res]. NaN where not estimated. */
typedef struct {
  int nx, ny;
  double west_m, north_m, res_m;
  double *flux_umol_m2_s;        /* posterior mean */
  double *sigma_umol_m2_s;       /* posterior 1 sigma (from P) */
  double *prior_umol_m2_s;
  double *avg_kernel;            /* diagonal of A */
} cf_flux_grid;

/* What was scanned, for the quicklook: one entry per sweep. */
typedef struct {
  double elevation_deg, az_min_deg, az_max_deg; /* sector (az_max may exceed 360) */
  double range_min_m, range_max_m;              /* horizontal, of the good gates */
  double time_start, time_end;                  /* s since 1970 */
  double wind_from_deg, wind_speed_ms;          /* the sweep's transport wind */
} cf_flux_sweep;

typedef struct {
  long n_obs;                    /* observations used */
  long n_outliers;               /* dropped as spikes */
  int n_state;
  double dofs, chi2_per_obs, rcond; /* chi2_per_obs: J/m, see j_obs */
  int n_constrained;
  double blh_m;
  int blh_auto;                  /* 1 = estimated from CNR */
  char stability;                /* 'A'..'F' */
  int stability_auto;
  double sigma_z_scale;          /* the factor on the class's sigma_z (plume.h, "Vertical spread") */
  int sigma_z_scale_auto;        /* 1 = fitted to the data */
  double sigma_theta_deg;        /* meander used in the forward model */
  double wind_speed_ms, wind_from_deg; /* mean over sweeps */
  double model_error_fraction, model_floor_ppm;
  int jackknife_blocks;
  double n_air_mol_m3;
  /* The cost at the optimum, J = (y - Hx)^T R^-1 (y - Hx) + (x - x_a)^T
   * B^-1 (x - x_a): its two parts; chi2_per_obs = J/m over the m
   * observations used, ~1 when R and B describe the misfit (the summary's
   * diagnostics.chi2_per_obs is that J/m). */
  double j_obs, j_prior;
} cf_flux_diag;

typedef struct {
  double lat_deg, lon_deg, alt_m;
  char crs[160];                 /* the grid's PROJ string (see above) */
  int method;                    /* what ran: cf_flux_method */
  int n_sources;
  cf_flux_source_result *sources;
  int n_groups;
  cf_flux_group_result *groups;
  cf_flux_grid grid;             /* all NULL arrays when the inversion did not run */
  int n_sweeps;
  cf_flux_sweep *sweeps;
  cf_flux_diag diag;
  /* Provenance (lidar/flux/flux_provenance.h). The inputs are the L2
   * files as given and then the sources layer's files (its last
   * n_source_files: a Shapefile's .shp, .shx, .dbf, .prj...), the priors
   * being as much an input of the rates as the scans. */
  int n_inputs;
  int n_source_files;
  char **input_paths;
  char (*input_sha256)[65];
  char *settings_json;           /* {"method": ..., ...} every setting's value */
  cf_flux_opts opts;             /* the settings settings_json was made of */
  char *history;                 /* the command that made it (NULL: "carbonflux flux estimate") */
  /* KEY=VALUE lines for flux_map.tif's metadata, borrowed, NULL-ended: a
   * pipeline's run provenance (pipelines/stage.h); NULL: this result's own
   * (cf_flux_provenance_lines) */
  const char *const *map_metadata;
} cf_flux_result;

void cf_flux_result_free(cf_flux_result *r);

/* The whole estimate. `set` read with cf_l2_read_set, `src` with
 * cf_flux_sources_read. CF_EINVAL (settings), CF_EDATA (no wind, no
 * observation, a source outside the domain...: the message names the file
 * and the field), CF_ENOMEM. On error *out is empty. */
int cf_flux_estimate(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_sources *src, const cf_flux_opts *o,
                     cf_flux_result *out);

/* `carbonflux flux estimate`: read the L2 files (one site) and the
 * sources layer (layer NULL: the first), estimate, write the outputs into
 * outdir. Codes as cf_flux_estimate, plus the readers' CF_ENOENT. With
 * ranks on the context (core/par.h) every rank calls it: the inversion's
 * rows are spread over them, every rank gets the same result, rank 0
 * alone writes it. */
int cf_flux_run(cf_ctx *ctx, const char *const *l2_paths, int n_paths, const char *sources_path,
                const char *sources_layer, const cf_flux_opts *o, const char *outdir);
/* The same, recording `command_line` (the words the user typed, joined)
 * as the L3 file's history; cf_flux_run records the equivalent command
 * made from its arguments (cf_flux_command_line: the files, --sources,
 * -o and every setting that is not its default). */
int cf_flux_run_as(cf_ctx *ctx, const char *const *l2_paths, int n_paths, const char *sources_path,
                   const char *sources_layer, const cf_flux_opts *o, const char *outdir, const char *command_line);

/* Put the mass-balance answers of `mb` (a run with method mass_balance on
 * the same sources) into `r` (a run with method inversion), which becomes
 * method both: what the pipeline's two stages make of their two runs. Its
 * settings become method both too, with the values the mass balance ran
 * with where they differ (cf_flux_merge_settings). */
int cf_flux_merge_mass_balance(cf_ctx *ctx, cf_flux_result *r, const cf_flux_result *mb);

/* The outputs of flux-io.md into `outdir` (created if missing): all four
 * files or none (lidar/flux/flux_write.c). */
int cf_flux_write_outputs(cf_ctx *ctx, const cf_flux_result *r, const char *outdir);
/* The summary JSON alone (flux_summary.json's content), for tests and stages. */
int cf_flux_summary_json(cf_ctx *ctx, const cf_flux_result *r, cf_strbuf *out);

#endif
