/*
 * Reading L2 lidar files (../shared/spec/lidar-l2.md, contract 1.1) written
 * by any software: our own writer (lidar/l2_write.c), netCDF-C,
 * netCDF4-python or xarray.
 *
 * Why a reader of its own, and not the writer's knowledge turned around:
 * the flux estimation (issue 9) must read files other people's software
 * wrote, and the contract binds readers to its names only. So this reader
 * looks up every variable by its contract name, and takes nothing else
 * for granted: not the storage type (float, double, int16 with
 * scale_factor/add_offset all arrive as double), not the fill value (the
 * variable's _FillValue or missing_value, or the netCDF default fill of its
 * type when it declares none, as netCDF4-python and xarray mask too; NaN
 * stays NaN), not the string type of attributes (NC_CHAR from netCDF-C,
 * NC_STRING from netCDF4-python), not the chunking or compression (HDF5
 * filters are netCDF-C's business), and not the time encoding (xarray
 * writes datetime64 as "<unit> since <date>" in whatever unit fits, often
 * as int64).
 *
 * What it does insist on, with an error naming the file and the variable:
 * every required variable present (CF_EDATA), per-gate variables with
 * dimensions exactly (time, range) in that order (a transposed file would
 * otherwise be read silently wrong), units that are the contract's or a
 * known equivalent (ppm for 1e-6, degrees for degree...), and finite ray
 * times, angles, ranges and site position (a ray that cannot be placed is
 * not a measurement). Masked gate values are NaN, never a number.
 *
 * Units without the attribute are taken as the contract's, with a logged
 * warning: the names are the contract, the attribute only confirms them.
 * valid_min/valid_max/valid_range are not applied (the contract says
 * masked values are the fill value; xarray does not apply them either).
 *
 * Threading: netCDF-C is not thread-safe (DESIGN.md): read in one thread
 * and hand the plain arrays to OpenMP.
 */
#ifndef CF_INGEST_LIDAR_L2_H
#define CF_INGEST_LIDAR_L2_H

#include <stddef.h>
#include <stdint.h>

#include "carbonflux/ctx.h"

/* qc_flag of a gate whose flag is itself masked: never good. */
#define CF_L2_QC_MISSING INT32_C(-1)

/* Two files are from one site when their positions agree within these
 * (cf_l2_read_set). 1e-5 degree is 1.1 m of latitude: it absorbs a position
 * stored as float32 by another writer (float32 resolves 7.6e-6 degree near
 * 180) and decimal round trips, and is far below a range gate (tens of m).
 * 1 m of altitude likewise. */
#define CF_L2_SITE_TOL_DEG 1e-5
#define CF_L2_SITE_TOL_M 1.0

typedef struct {
  char *path;
  int n_rays, n_gates;    /* dims time, range */
  int n_scans, n_heights; /* dims scan, height (0 if the file has none) */
  double latitude_deg, longitude_deg, altitude_m; /* WGS84; altitude above mean sea level */

  /* per ray [n_rays] */
  double *time;          /* s since 1970-01-01T00:00:00Z */
  double *azimuth_deg;   /* clockwise from true north, in [0, 360) */
  double *elevation_deg; /* above the horizon */
  int32_t *scan_id;
  /* per gate [n_gates] */
  double *range_m; /* gate centre */

  /* per ray and gate [n_rays][n_gates], ray-major; masked = NaN */
  double *co2_mole_fraction;             /* 1e-6 (ppm) */
  double *co2_mole_fraction_uncertainty; /* 1e-6, 1 sigma */
  double *co2_number_density;            /* m-3 */
  double *radial_velocity;               /* m s-1, positive away */
  double *radial_velocity_uncertainty;   /* m s-1, 1 sigma */
  double *cnr_on, *cnr_off;              /* dB */
  int32_t *qc_flag;                      /* 0 = good; CF_L2_QC_MISSING if masked */

  /* wind profiles: each NULL when the file lacks it (optional) */
  int32_t *scan;      /* [n_scans] scan coordinate values, if present */
  double *scan_time;  /* [n_scans] s since 1970 */
  double *height_m;   /* [n_heights] above the instrument */
  double *eastward_wind, *northward_wind, *upward_air_velocity; /* [n_scans][n_heights] m s-1 */
  double *wind_speed;                                           /* m s-1 */
  double *wind_from_direction;                                  /* degree */
  double *wind_fit_rmse;                                        /* m s-1 */
  double *wind_valid_beams;                                     /* 1 (NaN if masked) */
} cf_l2;

/* Read one L2 file. CF_ENOENT: no such file; CF_EDATA: not netCDF, a
 * required variable missing, wrong dimensions, units or values (the error
 * names the file and the variable); CF_ENOMEM. On error `out` is empty. */
int cf_l2_read(cf_ctx *ctx, const char *path, cf_l2 *out);
void cf_l2_free(cf_l2 *l2);

/* One observation: a good gate (qc_flag == 0, finite CO2 value, finite
 * positive uncertainty). Positions relative to the instrument: horizontal
 * distance h = range*cos(el) along the azimuth (east = h sin(az), north =
 * h cos(az)), height z = range*sin(el). */
typedef struct {
  int ray, gate;
  double time;              /* of the ray, s since 1970 */
  double east_m, north_m;   /* from the instrument */
  double horizontal_m;      /* range*cos(elevation) */
  double height_m;          /* range*sin(elevation), above the instrument */
  double value_ppm, sigma_ppm;
} cf_l2_obs;

/* The good gates of `l2`, in ray-major order; *obs is malloc'ed (NULL when
 * there are none; free() it). */
int cf_l2_observations(cf_ctx *ctx, const cf_l2 *l2, cf_l2_obs **obs, size_t *n_obs);

/* Several files from one instrument at one site (flux-io.md). */
typedef struct {
  int n;
  cf_l2 *files;
} cf_l2_set;

/* Read `n` files; they must agree on latitude/longitude within tol_deg and
 * altitude within tol_m (<= 0: CF_L2_SITE_TOL_DEG / CF_L2_SITE_TOL_M), else
 * CF_EDATA naming both files and the differing variable. */
int cf_l2_read_set(cf_ctx *ctx, const char *const *paths, int n, double tol_deg, double tol_m,
                   cf_l2_set *out);
/* The site check alone, for files already read. */
int cf_l2_check_site(cf_ctx *ctx, const cf_l2 *a, const cf_l2 *b, double tol_deg, double tol_m);
void cf_l2_set_free(cf_l2_set *set);

#endif
