/*
 * Leosphere WindCube (WLS100s/200s/400s) netCDF-4 files: the reader, and
 * the assembly of single-ray files into one scan for the wind fit.
 *
 * Layout (CF/Radial 2.0 as written by "Windcube Lidar server 3.2.1"): the
 * root holds the site (latitude, longitude, altitude), the global attribute
 * instrument_name and the string variable sweep_group_name naming the group
 * of the data (e.g. "Sweep_410735"; the name changes from file to file, so
 * it is always looked up, never guessed). In that group: time(time) in
 * "seconds since time_reference" (a string variable, ISO 8601) at the END
 * of each ray, azimuth(time), elevation(time), range(range) or
 * range(time, range), and per (time, range): radial_wind_speed, cnr,
 * radial_wind_speed_ci, radial_wind_speed_status, doppler_spectrum_width,
 * relative_beta. A "fixed" file is one ray; a scan is a set of such files.
 *
 * Sign of radial_wind_speed. Ours is positive away from the instrument. The
 * files say the same: radial_wind_speed:standard_name =
 * "radial_velocity_of_scatterers_away_from_instrument" (ncdump -h of the six
 * files in ../shared/data/windcube). Two independent users of WLS200s data
 * agree: ACTRIS Cloudnet's doppy (actris-cloudnet/doppy,
 * src/doppy/raw/windcube.py and src/doppy/product/wind.py) reads it
 * unchanged into the same model as ours, v_r = u sin(az)cos(el) +
 * v cos(az)cos(el) + w sin(el); and KNMI, who run this very instrument at
 * Cabauw, reported (jdiasn/lidarwind issue #109) that lidarwind's DBS code,
 * which negates the beam differences (-(compVN - compVS)), gives u and v
 * the wrong sign, i.e. the unnegated, positive-away reading is right. So
 * the reader keeps the value when standard_name says "away", negates it
 * when it says "toward_instrument", keeps it with a logged warning when the
 * attribute is absent (doppy does not look at it at all), and rejects any
 * other standard_name.
 *
 * Masking. A gate is usable when its velocity and CNR are finite (the
 * _FillValue is NaN in these files; a numeric _FillValue is also honoured),
 * its CNR is at least opts.cnr_min_db, and (opts.use_status) the
 * instrument's own radial_wind_speed_status is 1. Default -27 dB: in the
 * six sample files the instrument's own flag (a factory-calibrated
 * confidence-index threshold) turns from reject to accept between -28.9 and
 * -28.5 dB (rejected gates, whose velocities spread over the whole +-32 m/s
 * interval, reach -28.6 dB; accepted ones go down to -28.7 dB), and -27 dB
 * keeps a margin of about 1.5 dB above that zone. We found no Leosphere
 * document to cite for a number, so it is a setting, not a constant.
 *
 * Azimuth is used as the file gives it: its comment says it already
 * includes georeference_correction/azimuth_correction. Times: the file's
 * time is the end of each ray; time_mid subtracts half of
 * ray_accumulation_time, so that scans are stamped like our L0 rays.
 *
 * Files with more than one sweep group are rejected (the WLS200s "fixed"
 * files hold one); extending this is a loop over sweep_group_name.
 */
#ifndef CF_INGEST_WINDCUBE_H
#define CF_INGEST_WINDCUBE_H

#include "carbonflux/ctx.h"

typedef struct {
  double cnr_min_db; /* gates below are masked (default -27 dB) */
  int use_status;    /* also mask radial_wind_speed_status == 0 when present (default 1) */
} cf_windcube_opts;

void cf_windcube_opts_default(cf_windcube_opts *opts);

/* One file. Per-gate arrays are [n_rays][n_gates], ray-major. Values the
 * file marks as fill are NaN here, and such gates are never `valid`. */
typedef struct {
  char *path;
  char *instrument_name; /* global attribute instrument_name ("" if absent) */
  char *sweep_group;     /* e.g. "Sweep_410735" */
  char *sweep_mode;      /* e.g. "fixed" ("" if absent) */
  char *time_reference;  /* as written, e.g. "1970-01-01T00:00:00Z" */
  int has_latitude, has_longitude, has_altitude;  /* 0: absent or fill (value NaN) */
  double latitude_deg, longitude_deg, altitude_m; /* WGS84; altitude above mean sea level */
  int has_accumulation;
  double accumulation_s; /* ray_accumulation_time */
  int has_gate_length;
  double gate_length_m; /* range_gate_length */
  int n_rays, n_gates;
  double *time_end;        /* [n_rays] s since 1970-01-01T00:00:00Z, end of the ray */
  double *time_mid;        /* [n_rays] time_end - accumulation/2 (= time_end if unknown) */
  double *azimuth_deg;     /* [n_rays] in [0, 360), clockwise from true north */
  double *elevation_deg;   /* [n_rays] above the horizon */
  double *range_m;         /* [n_rays][n_gates] gate centres */
  double *radial_velocity; /* m/s, positive AWAY from the instrument (converted if needed) */
  double *cnr_db;
  double *ci_percent;     /* radial_wind_speed_ci; NULL if the file has none */
  double *spectrum_width; /* doppler_spectrum_width, m/s; NULL if absent */
  double *relative_beta;  /* m-1 sr-1; NULL if absent */
  unsigned char *status;  /* radial_wind_speed_status (255 = fill); NULL if absent */
  unsigned char *valid;   /* 1 = usable gate (see Masking) */
  int n_valid;
  int sign_flipped; /* 1 if the file's velocities were negated */
} cf_windcube_file;

/* Read and validate one file. Errors name the file, the variable and the
 * reason: CF_ENOENT (missing file), CF_EDATA (not netCDF, a missing
 * variable, wrong dimensions or units, non-finite angles or ranges, an
 * unparseable time), CF_ENOMEM. On error `out` is left empty. */
int cf_windcube_read(cf_ctx *ctx, const char *path, const cf_windcube_opts *opts,
                     cf_windcube_file *out);
void cf_windcube_free(cf_windcube_file *f);

/* A scan assembled from several files: every ray of every file, in the
 * order given. Rays may differ in elevation and gate grid (a 6-beam scan:
 * five at 75 deg, one vertical). cf_wind_rays_from_windcube
 * (lidar/wind.h) turns it into wind-fit input; that bridge lives in lidar/
 * because ingest/ must not know lidar/ (DESIGN.md: arrows point down). */
typedef struct cf_windcube_scan {
  int n_files;
  cf_windcube_file *files;
  int n_rays;                         /* sum of the files' n_rays */
  double time_mid;                    /* mean of the rays' time_mid, s since 1970 */
  double time_first, time_last;       /* earliest and latest ray time_mid */
  int has_site;                       /* 0 if no file gives latitude and longitude */
  double latitude_deg, longitude_deg; /* from the first file that gives them */
} cf_windcube_scan;

/* Read `n_paths` files into one scan. All must come from the same
 * instrument (instrument_name); sites are compared where two files both
 * give one (in the sample set only the first file does, the other five
 * hold the fill value). */
int cf_windcube_read_scan(cf_ctx *ctx, const char *const *paths, int n_paths,
                          const cf_windcube_opts *opts, cf_windcube_scan *out);
void cf_windcube_scan_free(cf_windcube_scan *scan);

#endif
