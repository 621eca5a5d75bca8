/*
 * The L2 reader (see lidar_l2.h for what it relies on and why).
 *
 * Shape: open, find the contract's dimensions by name, then read each
 * variable through one routine (read_var) that checks its dimensions
 * against the expected ones, its units against a small table of
 * equivalents, and turns whatever is stored into doubles with the CF
 * masking and packing rules applied in the order the NetCDF User Guide
 * gives them: the fill value is compared in the stored (packed) space,
 * then _Unsigned reinterpretation, then value * scale_factor + add_offset.
 * Every failure is one cf_error frame naming the file and the variable,
 * and leaves nothing allocated.
 */
#include "ingest/lidar_l2.h"
#include "core/utc.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEG2RAD (3.14159265358979323846 / 180.0)

void cf_l2_free(cf_l2 *l) {
  if (!l) return;
  double **d[] = {&l->time, &l->azimuth_deg, &l->elevation_deg, &l->range_m, &l->co2_mole_fraction,
                  &l->co2_mole_fraction_uncertainty, &l->co2_number_density, &l->radial_velocity,
                  &l->radial_velocity_uncertainty, &l->cnr_on, &l->cnr_off, &l->scan_time,
                  &l->height_m, &l->eastward_wind, &l->northward_wind, &l->upward_air_velocity,
                  &l->wind_speed, &l->wind_from_direction, &l->wind_fit_rmse, &l->wind_valid_beams};
  for (size_t k = 0; k < sizeof d / sizeof *d; k++) free(*d[k]);
  free(l->scan_id);
  free(l->qc_flag);
  free(l->scan);
  free(l->path);
  memset(l, 0, sizeof *l);
}

/* --- units ------------------------------------------------------------------ */

/* A set of unit spellings and the factor that takes a value in them to the
 * contract's unit. The first spelling of the first row is the contract's. */
typedef struct {
  const char *names[8];
  double factor;
} unit_row;

static const unit_row U_PPM[] = {
    {{"1e-6", "ppm", "ppmv", "umol mol-1", "umol/mol", "\xc2\xb5mol mol-1", "micromol mol-1", "1E-6"}, 1},
    {{"mol mol-1", "mol/mol", "1"}, 1e6},
    {{NULL}, 0}};
static const unit_row U_MS[] = {{{"m s-1", "m/s", "m.s-1", "m s^-1", "m s**-1", "m sec-1"}, 1}, {{NULL}, 0}};
static const unit_row U_DB[] = {{{"dB", "db", "DB"}, 1}, {{NULL}, 0}};
static const unit_row U_M3[] = {{{"m-3", "m^-3", "m**-3", "1/m3", "m-3 "}, 1}, {{"cm-3", "cm^-3"}, 1e6}, {{NULL}, 0}};
static const unit_row U_DEG[] = {{{"degree", "degrees", "deg"}, 1}, {{NULL}, 0}};
static const unit_row U_LAT[] = {
    {{"degree_north", "degrees_north", "degree_N", "degrees_N", "degreeN", "degree", "degrees"}, 1},
    {{NULL}, 0}};
static const unit_row U_LON[] = {
    {{"degree_east", "degrees_east", "degree_E", "degrees_E", "degreeE", "degree", "degrees"}, 1},
    {{NULL}, 0}};
static const unit_row U_M[] = {{{"m", "meter", "meters", "metre", "metres"}, 1}, {{"km"}, 1000}, {{NULL}, 0}};
static const unit_row U_ONE[] = {{{"1", "", "count", "counts"}, 1}, {{NULL}, 0}};

/* --- attributes ---------------------------------------------------------------- */

/* Text attribute (NC_CHAR or NC_STRING: netCDF4-python writes the latter)
 * as a malloc'ed string; NULL if absent or of another type. */
static char *text_att(int nc, int var, const char *name) {
  nc_type t;
  size_t len;
  if (nc_inq_att(nc, var, name, &t, &len) != NC_NOERR) return NULL;
  if (t == NC_CHAR) {
    char *s = malloc(len + 1);
    if (!s) return NULL;
    if (nc_get_att_text(nc, var, name, s) != NC_NOERR) {
      free(s);
      return NULL;
    }
    s[len] = '\0';
    while (len > 0 && s[len - 1] == '\0') len--; /* some writers count the NUL */
    return s;
  }
  if (t == NC_STRING && len >= 1) {
    char **v = calloc(len, sizeof *v);
    if (!v) return NULL;
    char *s = NULL;
    if (nc_get_att_string(nc, var, name, v) == NC_NOERR) {
      s = strdup(v[0] ? v[0] : "");
      nc_free_string(len, v);
    }
    free(v);
    return s;
  }
  return NULL;
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
  size_t k = 0;
  while (s[k] == ' ' || s[k] == '\t') k++;
  if (k) memmove(s, s + k, n - k + 1);
}

/* --- time units ---------------------------------------------------------------- */

/* "<unit> since YYYY-M-D[( |T)h:m[:s[.f]]][ ][Z|UTC|+00:00|+0000|+00]" (CF
 * and UDUNITS; xarray writes "seconds since 2024-06-15 10:00:00" or
 * "microseconds since 2024-06-15", netCDF-C users often "...T00:00:00Z").
 * Only UTC: a non-zero time-zone offset is refused, not guessed. Sets the
 * unit in seconds and the epoch in seconds since 1970. */
static int parse_time_units(const char *units, double *unit_s, double *epoch) {
  static const struct {
    const char *name;
    double s;
  } tu[] = {{"nanoseconds", 1e-9}, {"nanosecond", 1e-9}, {"ns", 1e-9},
            {"microseconds", 1e-6}, {"microsecond", 1e-6}, {"us", 1e-6},
            {"milliseconds", 1e-3}, {"millisecond", 1e-3}, {"msec", 1e-3}, {"ms", 1e-3},
            {"seconds", 1}, {"second", 1}, {"secs", 1}, {"sec", 1}, {"s", 1},
            {"minutes", 60}, {"minute", 60}, {"mins", 60}, {"min", 60},
            {"hours", 3600}, {"hour", 3600}, {"hrs", 3600}, {"hr", 3600}, {"h", 3600},
            {"days", 86400}, {"day", 86400}, {"d", 86400}};
  char word[32];
  int n = 0;
  if (!units || sscanf(units, " %31s%n", word, &n) != 1) return -1;
  const char *p = units + n;
  int found = 0;
  for (size_t k = 0; k < sizeof tu / sizeof *tu; k++)
    if (strcasecmp(word, tu[k].name) == 0) {
      *unit_s = tu[k].s;
      found = 1;
      break;
    }
  if (!found) return -1;
  while (*p == ' ') p++;
  if (strncasecmp(p, "since", 5) != 0) return -1;
  p += 5;
  while (*p == ' ') p++;
  int y, mo, d, h = 0, mi = 0;
  double sec = 0;
  if (sscanf(p, "%d-%d-%d%n", &y, &mo, &d, &n) != 3) return -1;
  p += n;
  if (*p == 'T' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
    int n2 = 0;
    if (sscanf(p + 1, "%d:%d%n", &h, &mi, &n2) != 2) return -1;
    p += 1 + n2;
    if (*p == ':') {
      int n3 = 0;
      if (sscanf(p + 1, "%lf%n", &sec, &n3) != 1) return -1;
      p += 1 + n3;
    }
  }
  while (*p == ' ') p++;
  if (*p == 'Z')
    p++;
  else if (strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0)
    p += 3;
  else if (strcmp(p, "+00:00") == 0 || strcmp(p, "+0000") == 0 || strcmp(p, "+00") == 0 ||
           strcmp(p, "-00:00") == 0 || strcmp(p, "0") == 0 || strcmp(p, "00:00") == 0)
    p += strlen(p);
  while (*p == ' ') p++;
  if (*p != '\0') return -1;
  return cf_utc_to_epoch(y, mo, d, h, mi, sec, 1583, 9999, epoch);
}

/* --- the reader's state ---------------------------------------------------------- */

typedef struct {
  cf_ctx *ctx;
  const char *path;
  int nc;
  int dim_time, dim_range, dim_scan, dim_height; /* -1 if absent */
  size_t n_time, n_range, n_scan, n_height;
} rd;

static int dims_text(rd *r, int nd, const int *dims, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < nd && used + 1 < cap; i++) {
    char dn[NC_MAX_NAME + 1] = "?";
    nc_inq_dimname(r->nc, dims[i], dn);
    int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", dn);
    if (w < 0) break;
    used += (size_t)w;
  }
  return 0;
}

/* Shapes a variable may have. */
typedef enum { SH_SCALAR, SH_TIME, SH_RANGE, SH_GATE, SH_SCAN, SH_HEIGHT, SH_WIND } shape;

static const char *shape_text(shape s) {
  switch (s) {
    case SH_SCALAR: return "() (a scalar)";
    case SH_TIME: return "(time)";
    case SH_RANGE: return "(range)";
    case SH_GATE: return "(time, range)";
    case SH_SCAN: return "(scan)";
    case SH_HEIGHT: return "(height)";
    default: return "(scan, height)";
  }
}

/* Check the variable's dimensions; set *n to its number of values. */
static int check_shape(rd *r, const char *name, int var, shape s, size_t *n) {
  int nd, dims[NC_MAX_VAR_DIMS];
  if (nc_inq_varndims(r->nc, var, &nd) != NC_NOERR || nd > NC_MAX_VAR_DIMS ||
      nc_inq_vardimid(r->nc, var, dims) != NC_NOERR)
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot inquire its dimensions");
  int want[2], nw = 0;
  switch (s) {
    case SH_SCALAR: break;
    case SH_TIME: want[nw++] = r->dim_time; break;
    case SH_RANGE: want[nw++] = r->dim_range; break;
    case SH_GATE: want[nw++] = r->dim_time, want[nw++] = r->dim_range; break;
    case SH_SCAN: want[nw++] = r->dim_scan; break;
    case SH_HEIGHT: want[nw++] = r->dim_height; break;
    case SH_WIND: want[nw++] = r->dim_scan, want[nw++] = r->dim_height; break;
  }
  int ok = nd == nw;
  for (int i = 0; ok && i < nw; i++) ok = dims[i] == want[i] && want[i] >= 0;
  size_t count = 1;
  for (int i = 0; i < nd; i++) {
    size_t len = 0;
    nc_inq_dimlen(r->nc, dims[i], &len);
    count *= len;
  }
  /* a "scalar" stored with a length-1 dimension is still one value */
  if (s == SH_SCALAR && !ok && count == 1) ok = 1;
  if (!ok) {
    char got[256];
    dims_text(r, nd, dims, got, sizeof got);
    return cf_error(r->ctx, CF_EDATA, r->path, name,
                    "dimensions are (%s); the contract (lidar-l2.md) says %s", got, shape_text(s));
  }
  *n = count;
  return CF_OK;
}

/* The factor from the variable's units to the contract's (1 if no table). */
static int units_factor(rd *r, const char *name, int var, const unit_row *table, double *factor) {
  *factor = 1;
  if (!table) return CF_OK;
  char *u = text_att(r->nc, var, "units");
  if (!u) {
    cf_log(r->ctx, CF_LOG_WARN, "%s: %s has no units attribute; taking the contract's '%s'", r->path,
           name, table[0].names[0]);
    return CF_OK;
  }
  trim(u);
  for (const unit_row *row = table; row->names[0]; row++)
    for (int k = 0; k < 8 && row->names[k]; k++)
      if (strcmp(u, row->names[k]) == 0) {
        *factor = row->factor;
        free(u);
        return CF_OK;
      }
  int rc = cf_error(r->ctx, CF_EDATA, r->path, name, "units are '%s', the contract's are '%s'", u,
                    table[0].names[0]);
  free(u);
  return rc;
}

/* netCDF's default fill of a numeric type (what an unwritten value holds,
 * and what netCDF4-python masks when the variable declares no _FillValue;
 * byte types are not masked by default, as netCDF4-python does not). */
static int default_fill(nc_type t, double *f) {
  switch (t) {
    case NC_SHORT: *f = NC_FILL_SHORT; return 1;
    case NC_USHORT: *f = NC_FILL_USHORT; return 1;
    case NC_INT: *f = NC_FILL_INT; return 1;
    case NC_UINT: *f = NC_FILL_UINT; return 1;
    case NC_INT64: *f = (double)NC_FILL_INT64; return 1;
    case NC_UINT64: *f = (double)NC_FILL_UINT64; return 1;
    case NC_FLOAT: *f = NC_FILL_FLOAT; return 1;
    case NC_DOUBLE: *f = NC_FILL_DOUBLE; return 1;
    default: return 0;
  }
}

/* Read `n` values of a numeric variable as doubles, masked and unpacked,
 * times `factor`. */
static int get_doubles(rd *r, const char *name, int var, size_t n, double factor, double **out) {
  *out = NULL;
  nc_type t;
  if (nc_inq_vartype(r->nc, var, &t) != NC_NOERR)
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot inquire its type");
  if (t == NC_CHAR || t == NC_STRING || t > NC_STRING)
    return cf_error(r->ctx, CF_EDATA, r->path, name, "is not numeric (netCDF type %d)", (int)t);
  if (n > ((size_t)-1) / sizeof(double) / 4)
    return cf_error(r->ctx, CF_ENOMEM, r->path, name, "%zu values would not fit in memory", n);
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return cf_error(r->ctx, CF_ENOMEM, r->path, name, "out of memory for %zu values", n);
  int st = nc_get_var_double(r->nc, var, v);
  if (st != NC_NOERR) {
    free(v);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read: %s", nc_strerror(st));
  }
  /* fill values, in the stored (packed) space */
  double fills[9];
  int nf = 0;
  nc_type at;
  size_t alen;
  if (nc_inq_att(r->nc, var, "_FillValue", &at, &alen) == NC_NOERR && alen == 1 &&
      nc_get_att_double(r->nc, var, "_FillValue", &fills[nf]) == NC_NOERR)
    nf++;
  else if (default_fill(t, &fills[nf]))
    nf++;
  if (nc_inq_att(r->nc, var, "missing_value", &at, &alen) == NC_NOERR && alen >= 1 && alen <= 8 &&
      at != NC_CHAR && at != NC_STRING) {
    double mv[8];
    if (nc_get_att_double(r->nc, var, "missing_value", mv) == NC_NOERR)
      for (size_t k = 0; k < alen; k++) fills[nf++] = mv[k];
  }
  /* _Unsigned = "true" on a signed integer type (netCDF-3 habit, xarray keeps it) */
  double wrap = 0;
  char *uns = text_att(r->nc, var, "_Unsigned");
  if (uns && strcasecmp(uns, "true") == 0) {
    if (t == NC_BYTE) wrap = 256.0;
    if (t == NC_SHORT) wrap = 65536.0;
    if (t == NC_INT) wrap = 4294967296.0;
  }
  free(uns);
  double scale = 1, offset = 0;
  if (nc_inq_att(r->nc, var, "scale_factor", &at, &alen) == NC_NOERR && alen == 1)
    nc_get_att_double(r->nc, var, "scale_factor", &scale);
  if (nc_inq_att(r->nc, var, "add_offset", &at, &alen) == NC_NOERR && alen == 1)
    nc_get_att_double(r->nc, var, "add_offset", &offset);
  if (!isfinite(scale) || !isfinite(offset)) {
    free(v);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "scale_factor %g / add_offset %g not finite",
                    scale, offset);
  }
  for (size_t i = 0; i < n; i++) {
    double x = v[i];
    int masked = isnan(x);
    for (int k = 0; k < nf && !masked; k++) masked = x == fills[k];
    if (masked) {
      v[i] = NAN;
      continue;
    }
    if (wrap > 0 && x < 0) x += wrap;
    v[i] = (x * scale + offset) * factor;
  }
  *out = v;
  return CF_OK;
}

/* Look up `name`; absent: CF_EDATA when required, else 0 with *var = -1. */
static int find(rd *r, const char *name, int required, int *var) {
  if (nc_inq_varid(r->nc, name, var) == NC_NOERR) return CF_OK;
  *var = -1;
  if (!required) return CF_OK;
  return cf_error(r->ctx, CF_EDATA, r->path, name,
                  "missing variable (required by lidar-l2.md, contract 1.1)");
}

/* Find, check shape and units, read. Optional and absent: *out = NULL. */
static int read_var(rd *r, const char *name, int required, shape s, const unit_row *units,
                    double **out) {
  int var, rc;
  size_t n;
  *out = NULL;
  if ((rc = find(r, name, required, &var))) return rc;
  if (var < 0) return CF_OK;
  if ((rc = check_shape(r, name, var, s, &n))) return rc;
  double f;
  if ((rc = units_factor(r, name, var, units, &f))) return rc;
  return get_doubles(r, name, var, n, f, out);
}

/* Every value finite (ray times, angles, ranges, site). */
static int all_finite(rd *r, const char *name, const double *v, size_t n, const char *why) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return cf_error(r->ctx, CF_EDATA, r->path, name, "value %zu is missing (fill or NaN): %s", i,
                      why);
  return CF_OK;
}

/* An integer variable (scan_id, scan, qc_flag) via doubles; masked values
 * become `missing`, non-integral ones are an error. */
static int read_ints(rd *r, const char *name, int required, shape s, int32_t missing,
                     int32_t **out) {
  double *d;
  int rc = read_var(r, name, required, s, NULL, &d);
  *out = NULL;
  if (rc || !d) return rc;
  size_t n = s == SH_GATE ? r->n_time * r->n_range : s == SH_TIME ? r->n_time : r->n_scan;
  int32_t *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) {
    free(d);
    return cf_error(r->ctx, CF_ENOMEM, r->path, name, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    if (isnan(d[i])) {
      v[i] = missing;
    } else if (d[i] != floor(d[i]) || d[i] < -2147483648.0 || d[i] > 2147483647.0) {
      rc = cf_error(r->ctx, CF_EDATA, r->path, name, "value %zu (%g) is not a 32-bit integer", i, d[i]);
      break;
    } else {
      v[i] = (int32_t)d[i];
    }
  }
  free(d);
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  return CF_OK;
}

/* A time variable: any "<unit> since <date>" (see parse_time_units), in a
 * Gregorian calendar. */
static int read_time(rd *r, const char *name, int required, shape s, double **out) {
  int var, rc;
  size_t n;
  *out = NULL;
  if ((rc = find(r, name, required, &var))) return rc;
  if (var < 0) return CF_OK;
  if ((rc = check_shape(r, name, var, s, &n))) return rc;
  char *units = text_att(r->nc, var, "units");
  double unit_s = 1, epoch = 0;
  if (!units || parse_time_units(units, &unit_s, &epoch) != 0) {
    rc = cf_error(r->ctx, CF_EDATA, r->path, name,
                  "units '%s' are not '<seconds|minutes|...> since YYYY-MM-DD[ hh:mm:ss] (UTC)'",
                  units ? units : "(none)");
    free(units);
    return rc;
  }
  free(units);
  char *cal = text_att(r->nc, var, "calendar");
  if (cal) {
    trim(cal);
    if (strcasecmp(cal, "standard") != 0 && strcasecmp(cal, "gregorian") != 0 &&
        strcasecmp(cal, "proleptic_gregorian") != 0 && strcasecmp(cal, "utc") != 0) {
      rc = cf_error(r->ctx, CF_EDATA, r->path, name,
                    "calendar '%s' is not the Gregorian calendar of real times", cal);
      free(cal);
      return rc;
    }
    free(cal);
  }
  if ((rc = get_doubles(r, name, var, n, 1.0, out))) return rc;
  for (size_t i = 0; i < n; i++) (*out)[i] = epoch + (*out)[i] * unit_s;
  return CF_OK;
}

static int find_dim(rd *r, const char *name, int required, int *dim, size_t *len) {
  *dim = -1;
  *len = 0;
  if (nc_inq_dimid(r->nc, name, dim) != NC_NOERR) {
    *dim = -1;
    return required ? cf_error(r->ctx, CF_EDATA, r->path, name,
                               "missing dimension (required by lidar-l2.md, contract 1.1)")
                    : CF_OK;
  }
  nc_inq_dimlen(r->nc, *dim, len);
  return CF_OK;
}

static int read_all(rd *r, cf_l2 *o) {
  int rc;
  if ((rc = find_dim(r, "time", 1, &r->dim_time, &r->n_time))) return rc;
  if ((rc = find_dim(r, "range", 1, &r->dim_range, &r->n_range))) return rc;
  if ((rc = find_dim(r, "scan", 0, &r->dim_scan, &r->n_scan))) return rc;
  if ((rc = find_dim(r, "height", 0, &r->dim_height, &r->n_height))) return rc;
  if (r->n_time > 2147483647u || r->n_range > 2147483647u || r->n_scan > 2147483647u ||
      r->n_height > 2147483647u)
    return cf_error(r->ctx, CF_EDATA, r->path, "time", "dimensions too large");
  o->n_rays = (int)r->n_time;
  o->n_gates = (int)r->n_range;
  o->n_scans = (int)r->n_scan;
  o->n_heights = (int)r->n_height;

  /* site */
  const char *site[3] = {"latitude", "longitude", "altitude"};
  const unit_row *site_units[3] = {U_LAT, U_LON, U_M};
  double *site_out[3] = {&o->latitude_deg, &o->longitude_deg, &o->altitude_m};
  for (int k = 0; k < 3; k++) {
    double *v;
    if ((rc = read_var(r, site[k], 1, SH_SCALAR, site_units[k], &v))) return rc;
    *site_out[k] = v[0];
    free(v);
    if ((rc = all_finite(r, site[k], site_out[k], 1, "the site must be known"))) return rc;
  }
  if (fabs(o->latitude_deg) > 90 || fabs(o->longitude_deg) > 360)
    return cf_error(r->ctx, CF_EDATA, r->path, "latitude", "site (%g, %g) is not on Earth",
                    o->latitude_deg, o->longitude_deg);
  if (o->longitude_deg > 180) o->longitude_deg -= 360;

  /* rays */
  if ((rc = read_time(r, "time", 1, SH_TIME, &o->time))) return rc;
  if ((rc = all_finite(r, "time", o->time, r->n_time, "a ray needs its time"))) return rc;
  if ((rc = read_var(r, "azimuth", 1, SH_TIME, U_DEG, &o->azimuth_deg))) return rc;
  if ((rc = all_finite(r, "azimuth", o->azimuth_deg, r->n_time, "cannot place the ray"))) return rc;
  if ((rc = read_var(r, "elevation", 1, SH_TIME, U_DEG, &o->elevation_deg))) return rc;
  if ((rc = all_finite(r, "elevation", o->elevation_deg, r->n_time, "cannot place the ray")))
    return rc;
  for (size_t i = 0; i < r->n_time; i++) {
    double e = o->elevation_deg[i];
    if (e < -90 || e > 90)
      return cf_error(r->ctx, CF_EDATA, r->path, "elevation", "ray %zu: %g is outside [-90, 90]", i,
                      e);
    double a = fmod(o->azimuth_deg[i], 360.0);
    if (a < 0) a += 360.0;
    o->azimuth_deg[i] = a >= 360.0 ? 0.0 : a;
  }
  if ((rc = read_ints(r, "scan_id", 1, SH_TIME, INT32_MIN, &o->scan_id))) return rc;
  for (size_t i = 0; i < r->n_time; i++)
    if (o->scan_id[i] == INT32_MIN)
      return cf_error(r->ctx, CF_EDATA, r->path, "scan_id", "ray %zu has no scan (fill value)", i);

  /* gates */
  if ((rc = read_var(r, "range", 1, SH_RANGE, U_M, &o->range_m))) return rc;
  if ((rc = all_finite(r, "range", o->range_m, r->n_range, "cannot place the gate"))) return rc;
  for (size_t g = 0; g < r->n_range; g++)
    if (o->range_m[g] < 0 || (g > 0 && !(o->range_m[g] > o->range_m[g - 1])))
      return cf_error(r->ctx, CF_EDATA, r->path, "range",
                      "gate ranges must be >= 0 and increasing (gate %zu: %g m)", g, o->range_m[g]);

  const struct {
    const char *name;
    const unit_row *units;
    double **dst;
  } gate[] = {{"co2_mole_fraction", U_PPM, &o->co2_mole_fraction},
              {"co2_mole_fraction_uncertainty", U_PPM, &o->co2_mole_fraction_uncertainty},
              {"co2_number_density", U_M3, &o->co2_number_density},
              {"radial_velocity", U_MS, &o->radial_velocity},
              {"radial_velocity_uncertainty", U_MS, &o->radial_velocity_uncertainty},
              {"cnr_on", U_DB, &o->cnr_on},
              {"cnr_off", U_DB, &o->cnr_off}};
  for (size_t k = 0; k < sizeof gate / sizeof *gate; k++)
    if ((rc = read_var(r, gate[k].name, 1, SH_GATE, gate[k].units, gate[k].dst))) return rc;
  /* the sign convention is part of the name; a file that says otherwise is refused */
  {
    int var;
    nc_inq_varid(r->nc, "radial_velocity", &var);
    char *sn = text_att(r->nc, var, "standard_name");
    if (sn && strcmp(sn, "radial_velocity_of_scatterers_toward_instrument") == 0) {
      free(sn);
      return cf_error(r->ctx, CF_EDATA, r->path, "radial_velocity",
                      "standard_name says toward the instrument; the contract's is positive away");
    }
    free(sn);
  }
  if ((rc = read_ints(r, "qc_flag", 1, SH_GATE, CF_L2_QC_MISSING, &o->qc_flag))) return rc;

  /* wind profiles: optional, each on its own */
  const struct {
    const char *name;
    const unit_row *units;
    double **dst;
  } wind[] = {{"eastward_wind", U_MS, &o->eastward_wind},
              {"northward_wind", U_MS, &o->northward_wind},
              {"upward_air_velocity", U_MS, &o->upward_air_velocity},
              {"wind_speed", U_MS, &o->wind_speed},
              {"wind_from_direction", U_DEG, &o->wind_from_direction},
              {"wind_fit_rmse", U_MS, &o->wind_fit_rmse},
              {"wind_valid_beams", U_ONE, &o->wind_valid_beams}};
  for (size_t k = 0; k < sizeof wind / sizeof *wind; k++)
    if ((rc = read_var(r, wind[k].name, 0, SH_WIND, wind[k].units, wind[k].dst))) return rc;
  if ((rc = read_time(r, "scan_time", 0, SH_SCAN, &o->scan_time))) return rc;
  if ((rc = read_var(r, "height", 0, SH_HEIGHT, U_M, &o->height_m))) return rc;
  if ((rc = read_ints(r, "scan", 0, SH_SCAN, INT32_MIN, &o->scan))) return rc;
  return CF_OK;
}

int cf_l2_read(cf_ctx *ctx, const char *path, cf_l2 *out) {
  if (!out) return cf_error(ctx, CF_EINVAL, path ? path : "", "", "no output structure");
  memset(out, 0, sizeof *out);
  if (!path) return cf_error(ctx, CF_EINVAL, "", "", "no file name");
  struct stat st;
  if (stat(path, &st) != 0)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot read: %s",
                    strerror(errno));
  rd r = {.ctx = ctx, .path = path, .nc = -1};
  int stc = nc_open(path, NC_NOWRITE, &r.nc);
  if (stc != NC_NOERR)
    return cf_error(ctx, CF_EDATA, path, "", "not a netCDF file netCDF-C can read: %s",
                    nc_strerror(stc));
  out->path = strdup(path);
  int rc = out->path ? read_all(&r, out) : cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  nc_close(r.nc);
  if (rc) cf_l2_free(out);
  return rc;
}

/* --- observations ------------------------------------------------------------------ */

int cf_l2_observations(cf_ctx *ctx, const cf_l2 *l2, cf_l2_obs **obs, size_t *n_obs) {
  if (!l2 || !obs || !n_obs) return cf_error(ctx, CF_EINVAL, "", "", "no L2 file or output");
  *obs = NULL;
  *n_obs = 0;
  size_t ng = (size_t)l2->n_gates, n = 0;
  for (size_t i = 0; i < (size_t)l2->n_rays * ng; i++) {
    double s = l2->co2_mole_fraction_uncertainty[i];
    n += l2->qc_flag[i] == 0 && isfinite(l2->co2_mole_fraction[i]) && isfinite(s) && s > 0;
  }
  if (n == 0) return CF_OK;
  cf_l2_obs *o = malloc(n * sizeof *o);
  if (!o) return cf_error(ctx, CF_ENOMEM, l2->path, "", "out of memory for %zu observations", n);
  size_t k = 0;
  for (int i = 0; i < l2->n_rays; i++) {
    double az = l2->azimuth_deg[i] * DEG2RAD, el = l2->elevation_deg[i] * DEG2RAD;
    double ce = cos(el), se = sin(el), sa = sin(az), ca = cos(az);
    for (size_t g = 0; g < ng; g++) {
      size_t j = (size_t)i * ng + g;
      double s = l2->co2_mole_fraction_uncertainty[j];
      if (!(l2->qc_flag[j] == 0 && isfinite(l2->co2_mole_fraction[j]) && isfinite(s) && s > 0))
        continue;
      double h = l2->range_m[g] * ce;
      o[k] = (cf_l2_obs){.ray = i,
                         .gate = (int)g,
                         .time = l2->time[i],
                         .east_m = h * sa,
                         .north_m = h * ca,
                         .horizontal_m = h,
                         .height_m = l2->range_m[g] * se,
                         .value_ppm = l2->co2_mole_fraction[j],
                         .sigma_ppm = s};
      k++;
    }
  }
  *obs = o;
  *n_obs = n;
  return CF_OK;
}

/* --- several files, one site ------------------------------------------------------- */

int cf_l2_check_site(cf_ctx *ctx, const cf_l2 *a, const cf_l2 *b, double tol_deg, double tol_m) {
  if (!(tol_deg > 0)) tol_deg = CF_L2_SITE_TOL_DEG;
  if (!(tol_m > 0)) tol_m = CF_L2_SITE_TOL_M;
  double dlon = fabs(a->longitude_deg - b->longitude_deg);
  if (dlon > 180) dlon = 360 - dlon;
  const struct {
    const char *name, *unit;
    double va, vb, d, tol;
  } c[3] = {{"latitude", "degree", a->latitude_deg, b->latitude_deg,
             fabs(a->latitude_deg - b->latitude_deg), tol_deg},
            {"longitude", "degree", a->longitude_deg, b->longitude_deg, dlon, tol_deg},
            {"altitude", "m", a->altitude_m, b->altitude_m, fabs(a->altitude_m - b->altitude_m), tol_m}};
  for (int k = 0; k < 3; k++)
    if (!(c[k].d <= c[k].tol))
      return cf_error(ctx, CF_EDATA, b->path, c[k].name,
                      "is %.7f but %.7f in %s: the files are not from one site (tolerance %g %s)",
                      c[k].vb, c[k].va, a->path, c[k].tol, c[k].unit);
  return CF_OK;
}

void cf_l2_set_free(cf_l2_set *s) {
  if (!s) return;
  for (int i = 0; i < s->n && s->files; i++) cf_l2_free(&s->files[i]);
  free(s->files);
  memset(s, 0, sizeof *s);
}

int cf_l2_read_set(cf_ctx *ctx, const char *const *paths, int n, double tol_deg, double tol_m,
                   cf_l2_set *out) {
  if (!out) return cf_error(ctx, CF_EINVAL, "", "", "no output structure");
  memset(out, 0, sizeof *out);
  if (!paths || n < 1) return cf_error(ctx, CF_EINVAL, "", "l2", "at least one L2 file is needed");
  out->files = calloc((size_t)n, sizeof *out->files);
  if (!out->files) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  int rc = CF_OK;
  for (int i = 0; i < n && !rc; i++) {
    rc = cf_l2_read(ctx, paths[i], &out->files[i]);
    if (!rc) {
      out->n = i + 1;
      rc = cf_l2_check_site(ctx, &out->files[0], &out->files[i], tol_deg, tol_m);
    }
  }
  if (rc) cf_l2_set_free(out);
  return rc;
}
