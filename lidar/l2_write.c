/* The NetCDF-CF L2 writer; see l2_write.h.
 *
 * Scans are counted here, from the rays as they arrive (the `scan`
 * coordinate and `scan_time`), not from the wind profiles: the scan
 * dimension then lists every scan in the order of its first ray whether
 * or not winds are fitted, and a profile is checked against the scan it
 * claims to be. */
#include "lidar/l2_write.h"

#include "lidar/process_options.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "core/utc.h"
#include "lidar/l0_write.h"

enum { V_TIME, V_RANGE, V_AZ, V_EL, V_SCANID, V_VR, V_VRU, V_CNRON, V_CNROFF, V_ND, V_NDU, V_PPM, V_PPMU, V_QC,
       V_SCAN, V_SCANTIME, V_HEIGHT, V_U, V_V, V_W, V_UE, V_VE, V_WE, V_SPEED, V_DIR, V_RMSE, V_NBEAMS, V_WFLAG,
       V_LAT, V_LON, V_ALT, NVARS };

struct cf_l2_writer {
  cf_atomic_file af;
  cf_l2_meta meta;
  int nc;
  int var[NVARS];
  const cf_l0 *l0;
  int n_gates, n_heights;
  float *fbuf;   /* conversion buffer for a block */
  size_t fcap;
  int *scan_ids; /* [n_scans] L0 scan_id of each scan, in the order of its first ray */
  int n_scans, scan_cap;
  double scan_t0; /* time of the current (last) scan's first ray */
  /* the input's SHA-256: given (meta.input_sha256) or hashed by `hasher`
   * from sink_begin on; written as the last global attribute at finish */
  char sha[CF_SHA256_HEX_LEN];
  pthread_t hasher;
  int hashing;          /* hasher was started and not yet joined */
  atomic_int stop_hash; /* set when the product fails: the hash is not wanted */
  int sha_rc;           /* CF_OK or the hasher's code, with sha_why */
  char sha_why[300];
  char *sha_path;       /* the file the hasher reads (a copy: the L0 may be closed first) */
};

static void *hash_input(void *arg) {
  cf_l2_writer *w = arg;
  w->sha_rc = cf_sha256_file_until(w->sha_path, w->sha, w->sha_why, sizeof w->sha_why, &w->stop_hash);
  return NULL;
}

/* Join the hasher if it runs; then w->sha or w->sha_rc holds the outcome. */
static void hash_join(cf_l2_writer *w) {
  if (w->hashing) pthread_join(w->hasher, NULL);
  w->hashing = 0;
}

const char *cf_nc_failure_reason(int e, char *why, size_t n) {
  char sys[256] = "";
  cf_h5_failure_reason(sys, sizeof sys); /* netCDF-4 writes through HDF5 */
  if (!strncmp(sys, "HDF5", 4) || !strcmp(sys, "HDF5 error")) sys[0] = '\0';
  if (!sys[0] && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EIO))
    snprintf(sys, sizeof sys, "%s", strerror(errno));
  if (sys[0])
    snprintf(why, n, "%s", sys);
  else
    snprintf(why, n, "netCDF: %s", nc_strerror(e));
  return why;
}

#define NC(call) CF_NC_TRY(ctx, w->af.final_path, "", call)

static int put_text(int nc, int var, const char *name, const char *v) {
  return nc_put_att_text(nc, var, name, strlen(v), v);
}

/* A float variable with units, long name, optional standard name, fill value, deflate. */
static int def_float(cf_ctx *ctx, cf_l2_writer *w, int id, const char *name, int nd, const int *dims,
                     const char *units, const char *long_name, const char *standard_name) {
  NC(nc_def_var(w->nc, name, NC_FLOAT, nd, dims, &w->var[id]));
  float fill = NC_FILL_FLOAT;
  NC(nc_put_att_float(w->nc, w->var[id], "_FillValue", NC_FLOAT, 1, &fill));
  if (units) NC(put_text(w->nc, w->var[id], "units", units));
  NC(put_text(w->nc, w->var[id], "long_name", long_name));
  if (standard_name) NC(put_text(w->nc, w->var[id], "standard_name", standard_name));
  NC(nc_def_var_deflate(w->nc, w->var[id], 1, 1, 4));
  return CF_OK;
}

int cf_l2_writer_create(cf_ctx *ctx, const char *path, const cf_l2_meta *meta, cf_l2_writer **out) {
  *out = NULL;
  cf_l2_writer *w = calloc(1, sizeof *w);
  if (!w) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  w->nc = -1;
  if (meta) w->meta = *meta;
  int rc = cf_atomic_begin(ctx, path, &w->af);
  if (rc) {
    free(w);
    return rc;
  }
  errno = 0;
  int e = nc_create(w->af.part_path, NC_NETCDF4 | NC_CLOBBER, &w->nc);
  if (e != NC_NOERR) {
    char why[320];
    rc = cf_error(ctx, CF_EIO, path, "", "cannot create: %s", cf_nc_failure_reason(e, why, sizeof why));
    cf_atomic_end(&w->af);
    free(w);
    return rc;
  }
  *out = w;
  return CF_OK;
}

static int sink_begin(cf_ctx *ctx, void *user, const cf_l0 *l0, const double *heights, int n_heights, int n_scans) {
  cf_l2_writer *w = user;
  w->l0 = l0;
  w->n_gates = l0->cfg.n_gates;
  w->n_heights = n_heights;
  int dt, dr, ds, dh;
  NC(nc_def_dim(w->nc, "time", NC_UNLIMITED, &dt));
  NC(nc_def_dim(w->nc, "range", (size_t)w->n_gates, &dr));
  NC(nc_def_dim(w->nc, "scan", NC_UNLIMITED, &ds));
  NC(nc_def_dim(w->nc, "height", (size_t)(n_heights > 0 ? n_heights : 1), &dh));
  int d2[2] = {dt, dr}, dw[2] = {ds, dh};
  /* coordinates */
  NC(nc_def_var(w->nc, "time", NC_DOUBLE, 1, &dt, &w->var[V_TIME]));
  NC(put_text(w->nc, w->var[V_TIME], "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NC(put_text(w->nc, w->var[V_TIME], "standard_name", "time"));
  NC(put_text(w->nc, w->var[V_TIME], "long_name", "mid-time of the ray"));
  NC(put_text(w->nc, w->var[V_TIME], "calendar", "standard"));
  NC(nc_def_var(w->nc, "range", NC_DOUBLE, 1, &dr, &w->var[V_RANGE]));
  NC(put_text(w->nc, w->var[V_RANGE], "units", "m"));
  NC(put_text(w->nc, w->var[V_RANGE], "long_name", "range of the gate centre from the instrument"));
  NC(def_float(ctx, w, V_AZ, "azimuth", 1, &dt, "degree", "azimuth of the ray, clockwise from true north", "sensor_azimuth_angle"));
  NC(def_float(ctx, w, V_EL, "elevation", 1, &dt, "degree", "elevation of the ray above the horizon", NULL));
  NC(nc_def_var(w->nc, "scan_id", NC_INT, 1, &dt, &w->var[V_SCANID]));
  NC(put_text(w->nc, w->var[V_SCANID], "long_name", "scan each ray belongs to (a value of the scan coordinate)"));
  /* instrument position (contract 1.1), as Cloudnet and ARM files carry it */
  const struct {
    int id;
    const char *name, *units, *standard_name, *long_name;
  } pos[3] = {{V_LAT, "latitude", "degree_north", "latitude", "latitude of the instrument (WGS84)"},
              {V_LON, "longitude", "degree_east", "longitude", "longitude of the instrument (WGS84)"},
              {V_ALT, "altitude", "m", "altitude", "altitude of the instrument above mean sea level"}};
  for (int k = 0; k < 3; k++) {
    NC(nc_def_var(w->nc, pos[k].name, NC_DOUBLE, 0, NULL, &w->var[pos[k].id]));
    NC(put_text(w->nc, w->var[pos[k].id], "units", pos[k].units));
    NC(put_text(w->nc, w->var[pos[k].id], "standard_name", pos[k].standard_name));
    NC(put_text(w->nc, w->var[pos[k].id], "long_name", pos[k].long_name));
  }
  /* per ray and gate */
  if (def_float(ctx, w, V_VR, "radial_velocity", 2, d2, "m s-1", "radial velocity of scatterers, positive away from the instrument",
                "radial_velocity_of_scatterers_away_from_instrument") ||
      def_float(ctx, w, V_VRU, "radial_velocity_uncertainty", 2, d2, "m s-1", "1-sigma uncertainty of radial_velocity", NULL) ||
      def_float(ctx, w, V_CNRON, "cnr_on", 2, d2, "dB", "wideband carrier-to-noise ratio, on-line", NULL) ||
      def_float(ctx, w, V_CNROFF, "cnr_off", 2, d2, "dB", "wideband carrier-to-noise ratio, off-line", NULL) ||
      def_float(ctx, w, V_ND, "co2_number_density", 2, d2, "m-3", "CO2 number density (DIAL)", NULL) ||
      def_float(ctx, w, V_NDU, "co2_number_density_uncertainty", 2, d2, "m-3", "1-sigma uncertainty of co2_number_density", NULL) ||
      def_float(ctx, w, V_PPM, "co2_mole_fraction", 2, d2, "1e-6", "CO2 dry-air mole fraction", "mole_fraction_of_carbon_dioxide_in_air") ||
      def_float(ctx, w, V_PPMU, "co2_mole_fraction_uncertainty", 2, d2, "1e-6", "1-sigma uncertainty of co2_mole_fraction", NULL))
    return cf_error_code(ctx);
  NC(nc_def_var(w->nc, "qc_flag", NC_USHORT, 2, d2, &w->var[V_QC]));
  /* CF auxiliary coordinates of every gate: the ray's pointing (time and
   * range are coordinate variables: named as their dimensions) */
  const int per_gate[9] = {V_VR, V_VRU, V_CNRON, V_CNROFF, V_ND, V_NDU, V_PPM, V_PPMU, V_QC};
  for (int k = 0; k < 9; k++) NC(put_text(w->nc, w->var[per_gate[k]], "coordinates", "azimuth elevation"));
  NC(nc_def_var_deflate(w->nc, w->var[V_QC], 1, 1, 4));
  NC(put_text(w->nc, w->var[V_QC], "long_name", "quality flags of the gate (0 = good)"));
  unsigned short masks[7] = {CF_QC_LOW_CNR, CF_QC_NEAR_RANGE, CF_QC_HARD_TARGET, CF_QC_OUT_OF_BAND, CF_QC_FIT_FAILED,
                             CF_QC_BAD_RAY, CF_QC_NO_CO2};
  NC(nc_put_att_ushort(w->nc, w->var[V_QC], "flag_masks", NC_USHORT, 7, masks));
  NC(put_text(w->nc, w->var[V_QC], "flag_meanings",
              "low_cnr near_range hard_target_or_saturation peak_outside_search_band fit_failed invalid_ray no_co2_retrieval"));
  /* scans and wind profiles */
  NC(nc_def_var(w->nc, "scan", NC_INT, 1, &ds, &w->var[V_SCAN]));
  NC(put_text(w->nc, w->var[V_SCAN], "long_name", "scan identifier (L0 scan_id), in the order of each scan's first ray"));
  NC(nc_def_var(w->nc, "scan_time", NC_DOUBLE, 1, &ds, &w->var[V_SCANTIME]));
  NC(put_text(w->nc, w->var[V_SCANTIME], "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NC(put_text(w->nc, w->var[V_SCANTIME], "long_name", "mid-time of the scan (between its first and last ray)"));
  NC(put_text(w->nc, w->var[V_SCANTIME], "standard_name", "time"));
  NC(put_text(w->nc, w->var[V_SCANTIME], "calendar", "standard"));
  NC(nc_def_var(w->nc, "height", NC_DOUBLE, 1, &dh, &w->var[V_HEIGHT]));
  NC(put_text(w->nc, w->var[V_HEIGHT], "units", "m"));
  NC(put_text(w->nc, w->var[V_HEIGHT], "long_name", "height above the instrument"));
  NC(put_text(w->nc, w->var[V_HEIGHT], "positive", "up"));
  if (def_float(ctx, w, V_U, "eastward_wind", 2, dw, "m s-1", "eastward wind", "eastward_wind") ||
      def_float(ctx, w, V_V, "northward_wind", 2, dw, "m s-1", "northward wind", "northward_wind") ||
      def_float(ctx, w, V_W, "upward_air_velocity", 2, dw, "m s-1", "upward air velocity", "upward_air_velocity") ||
      def_float(ctx, w, V_UE, "eastward_wind_uncertainty", 2, dw, "m s-1", "1-sigma uncertainty of eastward_wind", NULL) ||
      def_float(ctx, w, V_VE, "northward_wind_uncertainty", 2, dw, "m s-1", "1-sigma uncertainty of northward_wind", NULL) ||
      def_float(ctx, w, V_WE, "upward_air_velocity_uncertainty", 2, dw, "m s-1", "1-sigma uncertainty of upward_air_velocity", NULL) ||
      def_float(ctx, w, V_SPEED, "wind_speed", 2, dw, "m s-1", "horizontal wind speed", "wind_speed") ||
      def_float(ctx, w, V_DIR, "wind_from_direction", 2, dw, "degree", "direction the wind blows from", "wind_from_direction") ||
      def_float(ctx, w, V_RMSE, "wind_fit_rmse", 2, dw, "m s-1", "RMS residual of the wind fit", NULL))
    return cf_error_code(ctx);
  NC(nc_def_var(w->nc, "wind_valid_beams", NC_INT, 2, dw, &w->var[V_NBEAMS]));
  NC(put_text(w->nc, w->var[V_NBEAMS], "units", "1"));
  NC(put_text(w->nc, w->var[V_NBEAMS], "long_name", "radial velocities used in the wind fit"));
  NC(nc_def_var(w->nc, "wind_flag", NC_UINT, 2, dw, &w->var[V_WFLAG]));
  NC(put_text(w->nc, w->var[V_WFLAG], "long_name", "wind fit flags (lidar/wind.h; 0 = good)"));
  {
    /* CF flag attributes from the one list of the bits (lidar/wind.h) */
    unsigned wmask[CF_WIND_FLAG_COUNT];
    cf_strbuf names;
    cf_strbuf_init(&names);
    for (int k = 0; k < CF_WIND_FLAG_COUNT; k++) {
      wmask[k] = 1u << k;
      cf_strbuf_printf(&names, "%s%s", k ? " " : "", cf_wind_flag_names[k]);
    }
    int e = nc_put_att_uint(w->nc, w->var[V_WFLAG], "flag_masks", NC_UINT, CF_WIND_FLAG_COUNT, wmask);
    if (!e) e = put_text(w->nc, w->var[V_WFLAG], "flag_meanings", cf_strbuf_str(&names));
    cf_strbuf_free(&names);
    char why[320];
    if (e) return cf_error(ctx, CF_EIO, w->af.final_path, "wind_flag", "%s", cf_nc_failure_reason(e, why, sizeof why));
  }
  /* global attributes; input_sha256 comes at finish, once hashed */
  if (w->meta.input_sha256) {
    snprintf(w->sha, sizeof w->sha, "%s", w->meta.input_sha256);
  } else {
    w->sha_path = strdup(l0->path);
    if (!w->sha_path) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    if (pthread_create(&w->hasher, NULL, hash_input, w) == 0) {
      w->hashing = 1;
    } else { /* no thread to spare: hash here */
      hash_input(w);
      if (w->sha_rc) return cf_error(ctx, w->sha_rc, l0->path, "", "%s", w->sha_why);
    }
  }
  cf_strbuf hist;
  cf_strbuf_init(&hist);
  {
    /* CF history: each line starts with the UTC time of the change; the
     * input's file name is said here (quicklook titles read it back), not
     * in an attribute of its own, so that the same data under another
     * name give the same product but for the run-specific attributes;
     * SOURCE_DATE_EPOCH replaces the clock (core/utc.h), so that a rerun
     * can be compared byte for byte (the batch crash test, test_mpi) */
    char when[32];
    cf_utc_product_time(when, sizeof when);
    const char *base = strrchr(l0->path, '/');
    cf_strbuf_printf(&hist, "%s %s (carbonflux %s, input %s)", when, w->meta.history ? w->meta.history : "carbonflux",
                     cf_version(), base ? base + 1 : l0->path);
  }
  NC(put_text(w->nc, NC_GLOBAL, "Conventions", "CF-1.8"));
  NC(put_text(w->nc, NC_GLOBAL, "title", w->meta.title ? w->meta.title : "CO2-flux lidar L2: radial wind, CO2 and wind profiles"));
  NC(put_text(w->nc, NC_GLOBAL, "institution", w->meta.institution ? w->meta.institution : "unknown"));
  NC(put_text(w->nc, NC_GLOBAL, "source", l0->cfg.instrument_id));
  NC(put_text(w->nc, NC_GLOBAL, "history", cf_strbuf_str(&hist)));
  cf_strbuf_free(&hist);
  NC(put_text(w->nc, NC_GLOBAL, "carbonflux_version", cf_version()));
  NC(put_text(w->nc, NC_GLOBAL, "processing_parameters", w->meta.parameters ? w->meta.parameters : "{}"));
  NC(put_text(w->nc, NC_GLOBAL, "featureType", "timeSeriesProfile"));
  NC(nc_put_att_double(w->nc, NC_GLOBAL, "site_latitude_deg", NC_DOUBLE, 1, &l0->cfg.site_lat));
  NC(nc_put_att_double(w->nc, NC_GLOBAL, "site_longitude_deg", NC_DOUBLE, 1, &l0->cfg.site_lon));
  NC(nc_put_att_double(w->nc, NC_GLOBAL, "site_altitude_m", NC_DOUBLE, 1, &l0->cfg.site_alt));
  NC(nc_enddef(w->nc));
  double *range = malloc((size_t)w->n_gates * sizeof *range);
  if (!range) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  for (int g = 0; g < w->n_gates; g++) range[g] = cf_l0_gate_range(&l0->cfg, g);
  int e = nc_put_var_double(w->nc, w->var[V_RANGE], range);
  free(range);
  char why[320];
  if (e) return cf_error(ctx, CF_EIO, w->af.final_path, "range", "%s", cf_nc_failure_reason(e, why, sizeof why));
  if (n_heights > 0) NC(nc_put_var_double(w->nc, w->var[V_HEIGHT], heights));
  NC(nc_put_var_double(w->nc, w->var[V_LAT], &l0->cfg.site_lat));
  NC(nc_put_var_double(w->nc, w->var[V_LON], &l0->cfg.site_lon));
  NC(nc_put_var_double(w->nc, w->var[V_ALT], &l0->cfg.site_alt));
  (void)n_scans; /* the scan dimension is unlimited: profiles are appended */
  return CF_OK;
}

static float to_float(double v) { return isfinite(v) ? (float)v : NC_FILL_FLOAT; }

static int put_block(cf_ctx *ctx, cf_l2_writer *w, int var, size_t r0, size_t n, const double *v, const uint16_t *qc,
                     uint16_t mask) {
  size_t m = n * w->n_gates;
  for (size_t i = 0; i < m; i++) w->fbuf[i] = qc && (qc[i] & mask) ? NC_FILL_FLOAT : to_float(v[i]);
  size_t start[2] = {r0, 0}, count[2] = {n, (size_t)w->n_gates};
  NC(nc_put_vara_float(w->nc, w->var[var], start, count, w->fbuf));
  return CF_OK;
}

/* Scan bookkeeping of rays [r0, r0+n): a ray whose scan_id differs from
 * the previous ray's starts a scan (spec: scans are contiguous). A scan's
 * scan_time is written when its last ray so far is seen: when the next
 * scan starts, and for the scan in progress at the end of each block
 * (rewritten by the next block if the scan goes on). */
static int put_scan_time(cf_ctx *ctx, cf_l2_writer *w, double t_last) {
  size_t k = (size_t)w->n_scans - 1;
  double mid = 0.5 * (w->scan_t0 + t_last);
  NC(nc_put_var1_double(w->nc, w->var[V_SCANTIME], &k, &mid));
  return CF_OK;
}

static int track_scans(cf_ctx *ctx, cf_l2_writer *w, int r0, int n) {
  const int *id = w->l0->scan_id;
  const double *t = w->l0->time;
  int rc;
  for (int i = r0; i < r0 + n; i++) {
    if (i > 0 && id[i] == id[i - 1]) continue;
    if (i > 0 && (rc = put_scan_time(ctx, w, t[i - 1]))) return rc;
    if (w->n_scans == w->scan_cap) {
      int cap = w->scan_cap ? 2 * w->scan_cap : 64;
      int *p = realloc(w->scan_ids, (size_t)cap * sizeof *p);
      if (!p) return cf_error(ctx, CF_ENOMEM, w->af.final_path, "scan", "out of memory for %d scans", cap);
      w->scan_ids = p;
      w->scan_cap = cap;
    }
    size_t k = (size_t)w->n_scans;
    w->scan_ids[w->n_scans++] = id[i];
    w->scan_t0 = t[i];
    NC(nc_put_var1_int(w->nc, w->var[V_SCAN], &k, &id[i]));
  }
  return n > 0 ? put_scan_time(ctx, w, t[r0 + n - 1]) : CF_OK;
}

static int sink_rays(cf_ctx *ctx, void *user, const cf_l2_rays *b) {
  cf_l2_writer *w = user;
  int rc0 = track_scans(ctx, w, b->ray0, b->n);
  if (rc0) return rc0;
  size_t m = (size_t)b->n * w->n_gates;
  if (w->fcap < m) {
    free(w->fbuf);
    w->fbuf = malloc(m * sizeof *w->fbuf);
    w->fcap = w->fbuf ? m : 0;
    if (!w->fbuf) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  size_t s1[1] = {(size_t)b->ray0}, c1[1] = {(size_t)b->n};
  NC(nc_put_vara_double(w->nc, w->var[V_TIME], s1, c1, w->l0->time + b->ray0));
  NC(nc_put_vara_float(w->nc, w->var[V_AZ], s1, c1, w->l0->azimuth + b->ray0));
  NC(nc_put_vara_float(w->nc, w->var[V_EL], s1, c1, w->l0->elevation + b->ray0));
  NC(nc_put_vara_int(w->nc, w->var[V_SCANID], s1, c1, w->l0->scan_id + b->ray0));
  int rc = put_block(ctx, w, V_VR, (size_t)b->ray0, (size_t)b->n, b->v, b->qc, CF_QC_REJECT_VELOCITY);
  if (!rc) rc = put_block(ctx, w, V_VRU, (size_t)b->ray0, (size_t)b->n, b->v_sigma, b->qc, CF_QC_REJECT_VELOCITY);
  if (!rc) rc = put_block(ctx, w, V_CNRON, (size_t)b->ray0, (size_t)b->n, b->cnr[0], b->qc, CF_QC_BAD_RAY);
  if (!rc) rc = put_block(ctx, w, V_CNROFF, (size_t)b->ray0, (size_t)b->n, b->cnr[1], b->qc, CF_QC_BAD_RAY);
  if (!rc) rc = put_block(ctx, w, V_ND, (size_t)b->ray0, (size_t)b->n, b->nd, b->qc, CF_QC_NO_CO2);
  if (!rc) rc = put_block(ctx, w, V_NDU, (size_t)b->ray0, (size_t)b->n, b->nd_sigma, b->qc, CF_QC_NO_CO2);
  if (!rc) rc = put_block(ctx, w, V_PPM, (size_t)b->ray0, (size_t)b->n, b->ppm, b->qc, CF_QC_NO_CO2);
  if (!rc) rc = put_block(ctx, w, V_PPMU, (size_t)b->ray0, (size_t)b->n, b->ppm_sigma, b->qc, CF_QC_NO_CO2);
  if (rc) return rc;
  size_t s2[2] = {(size_t)b->ray0, 0}, c2[2] = {(size_t)b->n, (size_t)w->n_gates};
  NC(nc_put_vara_ushort(w->nc, w->var[V_QC], s2, c2, b->qc));
  return CF_OK;
}

static int sink_wind(cf_ctx *ctx, void *user, const cf_l2_wind *p) {
  cf_l2_writer *w = user;
  int nh = p->n_levels;
  if (nh <= 0) return CF_OK;
  /* the profile must land on its own scan's row */
  if (p->index < 0 || p->index >= w->n_scans || w->scan_ids[p->index] != p->scan_id)
    return cf_error(ctx, CF_EINTERNAL, w->af.final_path, "scan",
                    "wind profile %d (scan_id %d) does not match the scans of the rays written", p->index,
                    p->scan_id);
  float *f = malloc((size_t)nh * sizeof *f);
  int *iv = malloc((size_t)nh * sizeof *iv);
  unsigned *uv = malloc((size_t)nh * sizeof *uv);
  if (!f || !iv || !uv) {
    free(f);
    free(iv);
    free(uv);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  size_t s2[2] = {(size_t)p->index, 0}, c2[2] = {1, (size_t)nh};
  int e = NC_NOERR;
  const int vars[9] = {V_U, V_V, V_W, V_UE, V_VE, V_WE, V_SPEED, V_DIR, V_RMSE};
  for (int k = 0; !e && k < 9; k++) {
    for (int h = 0; h < nh; h++) {
      const cf_wind_level *L = &p->levels[h];
      double v[9] = {L->u, L->v, L->w, L->u_err, L->v_err, L->w_err, L->speed, L->direction_deg, L->rmse};
      f[h] = (L->flags & CF_WIND_REJECTED) ? NC_FILL_FLOAT : to_float(v[k]);
    }
    e = nc_put_vara_float(w->nc, w->var[vars[k]], s2, c2, f);
  }
  for (int h = 0; h < nh; h++) iv[h] = p->levels[h].n_beams, uv[h] = p->levels[h].flags;
  if (!e) e = nc_put_vara_int(w->nc, w->var[V_NBEAMS], s2, c2, iv);
  if (!e) e = nc_put_vara_uint(w->nc, w->var[V_WFLAG], s2, c2, uv);
  free(f);
  free(iv);
  free(uv);
  char why[320];
  if (e) return cf_error(ctx, CF_EIO, w->af.final_path, "", "%s", cf_nc_failure_reason(e, why, sizeof why));
  return CF_OK;
}

const cf_l2_sink cf_l2_writer_sink = {sink_begin, sink_rays, sink_wind, NULL};

int cf_l2_writer_finish(cf_ctx *ctx, cf_l2_writer *w, int ok) {
  int rc = CF_OK;
  if (w->nc >= 0) {
    /* everything reaches the disk in the sync, where a failure (a full
     * disk) can still be undone; a failed file's descriptors are pointed
     * at a scratch file before closing, so that the close cannot fail and leave
     * HDF5 to crash at exit (l0_write.h) */
    char why[320];
    if (!ok) atomic_store(&w->stop_hash, 1); /* a failed product needs no hash: do not read the rest */
    hash_join(w);
    if (ok && w->sha_rc) rc = cf_error(ctx, w->sha_rc, w->sha_path, "", "%s", w->sha_why);
    errno = 0;
    int e = NC_NOERR;
    if (ok && !rc && !(e = nc_redef(w->nc)) && !(e = put_text(w->nc, NC_GLOBAL, "input_sha256", w->sha)))
      e = nc_enddef(w->nc);
    if (e != NC_NOERR) rc = cf_error(ctx, CF_EIO, w->af.final_path, "input_sha256", "%s", cf_nc_failure_reason(e, why, sizeof why));
    errno = 0;
    e = ok && !rc ? nc_sync(w->nc) : NC_NOERR;
    if (e != NC_NOERR) rc = cf_error(ctx, CF_EIO, w->af.final_path, "", "writing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
    if (!ok || rc) cf_discard_open_file(w->af.part_path);
    errno = 0;
    e = nc_close(w->nc);
    if (e != NC_NOERR && ok && !rc)
      rc = cf_error(ctx, CF_EIO, w->af.final_path, "", "closing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
  }
  hash_join(w); /* (a writer never begun has no hasher) */
  if (ok && !rc) rc = cf_atomic_commit(ctx, &w->af);
  cf_atomic_end(&w->af);
  free(w->sha_path);
  free(w->fbuf);
  free(w->scan_ids);
  free(w);
  return rc;
}

int cf_lidar_l0_to_l2(cf_ctx *ctx, const char *l0_path, const char *l2_path, const cf_lidar_opts *opts,
                      const cf_l2_meta *meta) {
  cf_l0 *l0;
  int rc = cf_l0_open(ctx, l0_path, 0, &l0);
  if (rc) return rc;
  cf_l2_meta m = meta ? *meta : (cf_l2_meta){0};
  char *json = NULL;
  if (!m.parameters) m.parameters = json = cf_lidar_opts_json(opts);
  cf_l2_writer *w;
  rc = cf_l2_writer_create(ctx, l2_path, &m, &w);
  if (!rc) {
    rc = cf_lidar_process(ctx, l0, opts, &cf_l2_writer_sink, w);
    int frc = cf_l2_writer_finish(ctx, w, rc == CF_OK);
    if (!rc) rc = frc;
  }
  free(json);
  cf_l0_close(l0);
  return rc;
}
