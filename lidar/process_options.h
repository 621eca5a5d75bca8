/*
 * The processing settings, each declared once.
 *
 * A row below is the whole declaration of a setting: its name, type, the
 * field of cf_lidar_opts it sets, range, unit, choices and help; its
 * default is what cf_lidar_opts_default puts in that field. Every interface
 * reads the row: `carbonflux lidar process ... KEY=VALUE` and its --help
 * (cf_lidar_settings, a core/kvtable.h table), the pipeline stages that
 * expose it (an option of the same name, checked and stored through the
 * same row: pipelines/stages_lidar.c), `carbonflux stages`, and the L2
 * `processing_parameters` (cf_lidar_opts_json lists every row).
 *
 * The rows are grouped by the stage that exposes them (X-macro lists: a
 * list is expanded once into the KEY=VALUE table and once into each of its
 * stages' options). Adding a setting is adding one row to its group: a new
 * wind setting goes into CF_LIDAR_WIND_SETTINGS and appears in `lidar
 * process`, lidar.wind, write.wind_csv, both helps and the provenance.
 *
 * Row: X(name, TYPE, field, min, max, unit, choices, help) with TYPE one of
 * DOUBLE, INT, BOOL, ENUM (an int field holding the choice's index);
 * min and max matter for DOUBLE and INT only.
 */
#ifndef CF_LIDAR_PROCESS_OPTIONS_H
#define CF_LIDAR_PROCESS_OPTIONS_H

#include <stdio.h>

#include "core/kvtable.h"
#include "lidar/process.h"

/* lidar.spectra */
#define CF_LIDAR_SPECTRA_SETTINGS(X)                                                                               \
  X(bins_correlated, BOOL, doppler.bins_correlated, 0, 1, "", NULL,                                                \
    "account for the correlation of neighbouring spectral bins that the window and zero padding cause "            \
    "(no: only for simulated files drawn with independent bins)")                                                  \
  X(fft_plan, ENUM, fft_plan, 0, 0, "", cf_lidar_fft_plan_names,                                                   \
    "raw files' FFT algorithm: estimate (FFTW's heuristic: no measuring, no file, the same bits in every "      \
    "process and run) or measure (FFTW times the candidates once per machine and keeps its wisdom, "             \
    "$CARBONFLUX_FFTW_WISDOM or ~/.cache/carbonflux; a process that measures anew may pick another algorithm)")

/* lidar.doppler */
#define CF_LIDAR_DOPPLER_SETTINGS(X)                                                                               \
  X(cnr_min, DOUBLE, doppler.cnr_min_db, -60, 20, "dB", NULL, "gates below this wideband CNR are flagged low_cnr and masked") \
  X(peak_snr_min, DOUBLE, doppler.peak_snr_min, 0, 1000, "", NULL,                                                 \
    "fitted peak power over its 1-sigma needed to count as a detection")                                          \
  X(near_range, DOUBLE, doppler.near_range_m, 0, 1e5, "m", NULL, "gates closer than this are flagged near_range")  \
  X(hard_target, DOUBLE, doppler.hard_target_db, -20, 60, "dB", NULL, "CNR above this flags a hard target or saturation") \
  X(v_max, DOUBLE, doppler.v_max, 1, 100, "m/s", NULL, "half-width of the Doppler search band")

/* lidar.dial */
#define CF_LIDAR_DIAL_SETTINGS(X)                                                                                  \
  X(window, DOUBLE, dial.window_m, 10, 1e5, "m", NULL, "DIAL fit window along the beam")                           \
  X(co2_prior, DOUBLE, co2_prior_ppm, 100, 2000, "ppm", NULL, "CO2 used only for self-broadening in the cross-sections")

/* lidar.wind and write.wind_csv */
#define CF_LIDAR_WIND_SETTINGS(X)                                                                                  \
  X(min_beams, INT, wind.min_beams, 4, 1000, "", NULL, "usable radial velocities needed at a height")             \
  X(max_condition, DOUBLE, wind.max_condition, 1, 1e6, "", NULL, "reject heights whose fit is worse conditioned")  \
  X(height_tol, DOUBLE, wind.height_tol_m, 0, 1e4, "m", NULL,                                                      \
    "height matching tolerance (0: half of each ray's gate spacing in height)")                                    \
  X(errors, ENUM, wind.error_mode, 0, 0, "", cf_lidar_wind_error_names,                                            \
    "wind errors: propagated (input sigmas), birge (inflated by sqrt(chi2) if chi2 > 1) or scaled (by sqrt(chi2))")  \
  X(w_free_min_elevation, DOUBLE, wind.w_free_min_elevation_deg, 0, 90, "deg", NULL,                               \
    "w is fitted only at heights with a beam at or above this elevation; below, (u, v) with w fixed at 0 (flag "   \
    "w_fixed); 0: always fit w")                                                                                   \
  X(w_fixed_sigma, DOUBLE, wind.w_fixed_sigma, 0, 10, "m/s", NULL,                                                 \
    "spread of the true w where it is fixed at 0: (sin(el) x this)^2 is added to each radial variance")

/* `lidar process` only: in a pipeline the lidar.dial and lidar.wind stages
 * switch the retrievals on by being there, and write.l2 keeps the block. */
#define CF_LIDAR_COMMAND_SETTINGS(X)                                                                               \
  X(dial, BOOL, do_dial, 0, 1, "", NULL, "retrieve CO2 (a pipeline: the lidar.dial stage)")                        \
  X(wind, BOOL, do_wind, 0, 1, "", NULL, "fit wind profiles per scan (a pipeline: the lidar.wind stage)")          \
  X(block_rays, INT, block_rays, 1, 1 << 16, "", NULL, "rays per processing block (memory vs overhead)")

/* The choices of `errors`, in cf_wind_error_mode order. */
extern const char *const cf_lidar_wind_error_names[];
/* The choices of `fft_plan`, in cf_lidar_fft_plan order (process.h). */
extern const char *const cf_lidar_fft_plan_names[];

/* Every row above, over cf_lidar_opts, with cf_lidar_opts_default. */
extern const cf_kv_table cf_lidar_settings;

int cf_lidar_opts_set(cf_ctx *ctx, cf_lidar_opts *o, const char *key_value);
void cf_lidar_opts_describe(FILE *out);
/* The settings as JSON (malloc'ed), for the L2 processing_parameters. */
char *cf_lidar_opts_json(const cf_lidar_opts *o);

#endif
