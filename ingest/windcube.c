/*
 * WindCube netCDF-4 reader (see windcube.h for the layout, the sign
 * convention and the masking rule, with their sources).
 *
 * Shape: open, find the sweep group through sweep_group_name, check every
 * variable's presence, dimensions and units before reading any of it, then
 * read whole variables as doubles and validate values (angles, ranges,
 * times). Every failure is one cf_error frame naming the file, the variable
 * and the reason, and leaves nothing allocated. netCDF-C is not
 * thread-safe: call this from one thread and hand the buffers on.
 */
#include "ingest/windcube.h"
#include "core/utc.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STD_NAME_AWAY "radial_velocity_of_scatterers_away_from_instrument"
#define STD_NAME_TOWARD "radial_velocity_of_scatterers_toward_instrument"

void cf_windcube_opts_default(cf_windcube_opts *o) {
  o->cnr_min_db = -27.0; /* see windcube.h, "Masking" */
  o->use_status = 1;
}

void cf_windcube_free(cf_windcube_file *f) {
  if (!f) return;
  free(f->path);
  free(f->instrument_name);
  free(f->sweep_group);
  free(f->sweep_mode);
  free(f->time_reference);
  free(f->time_end);
  free(f->time_mid);
  free(f->azimuth_deg);
  free(f->elevation_deg);
  free(f->range_m);
  free(f->radial_velocity);
  free(f->cnr_db);
  free(f->ci_percent);
  free(f->spectrum_width);
  free(f->relative_beta);
  free(f->status);
  free(f->valid);
  memset(f, 0, sizeof *f);
}

/* --- small netCDF helpers --------------------------------------------------- */

/* Text attribute (NC_CHAR or NC_STRING) as a malloc'ed string; NULL if absent
 * or of another type. */
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

/* First string of a string variable (NC_STRING of any shape with >= 1
 * element, or NC_CHAR of rank <= 1). NULL on any failure. */
static char *string_var(int nc, int var) {
  nc_type t;
  int nd, dims[NC_MAX_VAR_DIMS];
  if (nc_inq_var(nc, var, NULL, &t, &nd, dims, NULL) != NC_NOERR) return NULL;
  size_t n = 1;
  for (int i = 0; i < nd; i++) {
    size_t len;
    if (nc_inq_dimlen(nc, dims[i], &len) != NC_NOERR) return NULL;
    n *= len;
  }
  if (t == NC_STRING) {
    if (n < 1) return NULL;
    char **v = calloc(n, sizeof *v);
    if (!v) return NULL;
    char *s = NULL;
    if (nc_get_var_string(nc, var, v) == NC_NOERR) {
      s = strdup(v[0] ? v[0] : "");
      nc_free_string(n, v);
    }
    free(v);
    return s;
  }
  if (t == NC_CHAR && nd <= 1) {
    char *s = calloc(n + 1, 1);
    if (s && nc_get_var_text(nc, var, s) != NC_NOERR) {
      free(s);
      return NULL;
    }
    return s;
  }
  return NULL;
}

static int is_one_of(const char *s, const char *const *options) {
  for (; *options; options++)
    if (s && strcmp(s, *options) == 0) return 1;
  return 0;
}

/* "YYYY-MM-DD[(T| )hh:mm:ss[.fff]][Z|+00:00|+0000| UTC]" (UTC only) to
 * seconds since 1970-01-01T00:00:00Z. Returns 0 or -1. */
static int parse_utc(const char *s, double *t) {
  int y, mo, d, h = 0, mi = 0, n = 0;
  double sec = 0;
  if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return -1;
  const char *p = s + n;
  if (*p == 'T' || *p == ' ') {
    int n2 = 0;
    if (sscanf(p + 1, "%2d:%2d:%lf%n", &h, &mi, &sec, &n2) == 3) p += 1 + n2;
  }
  while (*p == ' ') p++;
  if (*p == 'Z' || strcmp(p, "UTC") == 0)
    p += *p == 'Z' ? 1 : 3;
  else if (strcmp(p, "+00:00") == 0 || strcmp(p, "+0000") == 0)
    p += strlen(p);
  if (*p != '\0') return -1;
  return cf_utc_to_epoch(y, mo, d, h, mi, sec, 1900, 2500, t);
}

/* --- the reader's state ------------------------------------------------------ */

typedef struct {
  cf_ctx *ctx;
  const char *path;
  const char *group; /* the sweep group's name, for messages */
  int nc, grp;
  int time_dim, gate_dim;
  size_t n_rays, n_gates;
} rd;

static int fail(rd *r, int code, const char *field, const char *fmt, const char *detail) {
  return cf_error(r->ctx, code, r->path, field, fmt, detail);
}

/* Look up a variable of the sweep group; `required` makes absence an error. */
static int find_var(rd *r, const char *name, int required, int *var) {
  int st = nc_inq_varid(r->grp, name, var);
  if (st == NC_NOERR) return 1;
  *var = -1;
  if (required) {
    cf_error(r->ctx, CF_EDATA, r->path, name, "missing variable (required in group %s)",
             r->group ? r->group : "/");
    return -1;
  }
  return 0;
}

/* The variable's dimensions must be exactly `want` (n of them). */
static int check_dims(rd *r, const char *name, int var, const int *want, int n, const char *shape) {
  int nd, dims[NC_MAX_VAR_DIMS];
  if (nc_inq_varndims(r->grp, var, &nd) != NC_NOERR ||
      nc_inq_vardimid(r->grp, var, dims) != NC_NOERR)
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot inquire its dimensions");
  int ok = nd == n;
  for (int i = 0; ok && i < n; i++) ok = dims[i] == want[i];
  if (!ok) {
    char got[256] = "";
    size_t used = 0;
    for (int i = 0; i < nd && used < sizeof got - 40; i++) {
      char dn[NC_MAX_NAME + 1] = "?";
      size_t len = 0;
      nc_inq_dim(r->grp, dims[i], dn, &len);
      used += (size_t)snprintf(got + used, sizeof got - used, "%s%s=%zu", i ? ", " : "", dn, len);
    }
    return cf_error(r->ctx, CF_EDATA, r->path, name, "wrong dimensions: expected %s, got (%s)",
                    shape, got);
  }
  return CF_OK;
}

static int check_units(rd *r, const char *name, int var, const char *const *accepted) {
  char *u = text_att(r->grp, var, "units");
  int ok = is_one_of(u, accepted);
  int rc = ok ? CF_OK
              : cf_error(r->ctx, CF_EDATA, r->path, name, "units are '%s', expected '%s'",
                         u ? u : "(none)", accepted[0]);
  free(u);
  return rc;
}

/* Read a whole variable of n values as doubles: CF packing applied, the
 * _FillValue (if numeric) turned into NaN. */
static int read_doubles(rd *r, const char *name, int var, size_t n, double **out) {
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return cf_error(r->ctx, CF_ENOMEM, r->path, name, "out of memory for %zu values", n);
  int st = nc_get_var_double(r->grp, var, v);
  if (st != NC_NOERR) {
    free(v);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read: %s", nc_strerror(st));
  }
  double fill, scale = 1, offset = 0;
  int has_fill = nc_get_att_double(r->grp, var, "_FillValue", &fill) == NC_NOERR;
  int has_scale = nc_get_att_double(r->grp, var, "scale_factor", &scale) == NC_NOERR;
  int has_offset = nc_get_att_double(r->grp, var, "add_offset", &offset) == NC_NOERR;
  for (size_t i = 0; i < n; i++) {
    if (has_fill && !isnan(fill) && v[i] == fill) {
      v[i] = NAN;
      continue;
    }
    if (has_scale) v[i] *= scale;
    if (has_offset) v[i] += offset;
  }
  *out = v;
  return CF_OK;
}

/* Root-level scalar double (latitude...): 1 if present and not a fill. */
static int root_scalar(int nc, const char *name, double *value) {
  int var, nd;
  *value = NAN;
  if (nc_inq_varid(nc, name, &var) != NC_NOERR || nc_inq_varndims(nc, var, &nd) != NC_NOERR ||
      nd != 0)
    return 0;
  double v, fill;
  if (nc_get_var_double(nc, var, &v) != NC_NOERR) return 0;
  if (nc_get_att_double(nc, var, "_FillValue", &fill) == NC_NOERR && v == fill) return 0;
  if (!isfinite(v)) return 0;
  *value = v;
  return 1;
}

/* --- pieces of the read ------------------------------------------------------ */

static int open_sweep(rd *r, cf_windcube_file *out) {
  int var;
  if (nc_inq_varid(r->nc, "sweep_group_name", &var) != NC_NOERR)
    return fail(r, CF_EDATA, "sweep_group_name", "%s",
                "missing root variable (it names the group that holds the data)");
  int nd, dims[NC_MAX_VAR_DIMS];
  nc_inq_varndims(r->nc, var, &nd);
  nc_inq_vardimid(r->nc, var, dims);
  nc_type t;
  nc_inq_vartype(r->nc, var, &t);
  if (t == NC_STRING && nd == 1) {
    size_t n_sweeps = 0;
    nc_inq_dimlen(r->nc, dims[0], &n_sweeps);
    if (n_sweeps != 1)
      return cf_error(r->ctx, CF_EDATA, r->path, "sweep_group_name",
                      "the file has %zu sweeps; only single-sweep files are read", n_sweeps);
  }
  out->sweep_group = string_var(r->nc, var);
  if (!out->sweep_group || !out->sweep_group[0])
    return fail(r, CF_EDATA, "sweep_group_name", "%s", "is not a readable, non-empty string");
  r->group = out->sweep_group;
  int st = nc_inq_grp_ncid(r->nc, out->sweep_group, &r->grp);
  if (st != NC_NOERR)
    return cf_error(r->ctx, CF_EDATA, r->path, "sweep_group_name",
                    "names group '%s', which the file does not have", out->sweep_group);
  return CF_OK;
}

/* time: the ray dimension, its units and reference. */
static int read_time(rd *r, cf_windcube_file *out) {
  int var;
  if (find_var(r, "time", 1, &var) < 0) return CF_EDATA;
  int nd;
  nc_inq_varndims(r->grp, var, &nd);
  if (nd != 1) return fail(r, CF_EDATA, "time", "%s", "wrong dimensions: expected (time)");
  nc_inq_vardimid(r->grp, var, &r->time_dim);
  nc_inq_dimlen(r->grp, r->time_dim, &r->n_rays);
  if (r->n_rays < 1) return fail(r, CF_EDATA, "time", "%s", "the file has no rays (time is empty)");

  char *units = text_att(r->grp, var, "units");
  const char *since = "seconds since ";
  if (!units || strncmp(units, since, strlen(since)) != 0) {
    int rc = cf_error(r->ctx, CF_EDATA, r->path, "time", "units '%s' are not 'seconds since ...'",
                      units ? units : "(none)");
    free(units);
    return rc;
  }
  const char *ref = units + strlen(since);
  if (strcmp(ref, "time_reference") == 0) {
    int rv;
    if (nc_inq_varid(r->grp, "time_reference", &rv) == NC_NOERR)
      out->time_reference = string_var(r->grp, rv);
    else if (nc_inq_varid(r->nc, "time_reference", &rv) == NC_NOERR)
      out->time_reference = string_var(r->nc, rv);
    if (!out->time_reference) {
      free(units);
      return fail(r, CF_EDATA, "time_reference", "%s",
                  "missing or unreadable (time is in 'seconds since time_reference')");
    }
  } else {
    out->time_reference = strdup(ref);
  }
  free(units);
  if (!out->time_reference) return fail(r, CF_ENOMEM, "time", "%s", "out of memory");
  double t0;
  if (parse_utc(out->time_reference, &t0) != 0)
    return cf_error(r->ctx, CF_EDATA, r->path, "time_reference",
                    "'%s' is not an ISO 8601 UTC time (YYYY-MM-DDThh:mm:ssZ)", out->time_reference);
  int rc = read_doubles(r, "time", var, r->n_rays, &out->time_end);
  if (rc) return rc;
  for (size_t i = 0; i < r->n_rays; i++) {
    if (!isfinite(out->time_end[i]))
      return cf_error(r->ctx, CF_EDATA, r->path, "time", "ray %zu has no valid time", i);
    out->time_end[i] += t0;
  }
  return CF_OK;
}

static int read_angles(rd *r, cf_windcube_file *out) {
  static const char *const deg[] = {"degrees", "degree", "deg", NULL};
  const char *names[2] = {"azimuth", "elevation"};
  double **dst[2] = {&out->azimuth_deg, &out->elevation_deg};
  for (int k = 0; k < 2; k++) {
    int var, rc;
    if (find_var(r, names[k], 1, &var) < 0) return CF_EDATA;
    if ((rc = check_dims(r, names[k], var, &r->time_dim, 1, "(time)"))) return rc;
    if ((rc = check_units(r, names[k], var, deg))) return rc;
    if ((rc = read_doubles(r, names[k], var, r->n_rays, dst[k]))) return rc;
    for (size_t i = 0; i < r->n_rays; i++) {
      double a = (*dst[k])[i];
      if (!isfinite(a))
        return cf_error(r->ctx, CF_EDATA, r->path, names[k],
                        "ray %zu has a non-finite angle (fill value): cannot place the ray", i);
      if (k == 1 && (a < -90 || a > 90))
        return cf_error(r->ctx, CF_EDATA, r->path, names[k], "ray %zu: %g is outside [-90, 90]", i,
                        a);
    }
  }
  for (size_t i = 0; i < r->n_rays; i++) {
    double a = fmod(out->azimuth_deg[i], 360.0);
    if (a < 0) a += 360.0;
    out->azimuth_deg[i] = a >= 360.0 ? 0.0 : a;
  }
  return CF_OK;
}

/* range: (range) or (time, range); stored per ray. */
static int read_range(rd *r, cf_windcube_file *out) {
  static const char *const m[] = {"m", "meters", "metres", NULL};
  int var, rc, nd;
  if (find_var(r, "range", 1, &var) < 0) return CF_EDATA;
  nc_inq_varndims(r->grp, var, &nd);
  int two[2] = {r->time_dim, r->gate_dim};
  if (nd == 2)
    rc = check_dims(r, "range", var, two, 2, "(range) or (time, range)");
  else
    rc = check_dims(r, "range", var, &r->gate_dim, 1, "(range) or (time, range)");
  if (rc) return rc;
  if ((rc = check_units(r, "range", var, m))) return rc;
  size_t n = nd == 2 ? r->n_rays * r->n_gates : r->n_gates;
  double *v;
  if ((rc = read_doubles(r, "range", var, n, &v))) return rc;
  out->range_m = malloc(r->n_rays * r->n_gates * sizeof *out->range_m);
  if (!out->range_m) {
    free(v);
    return fail(r, CF_ENOMEM, "range", "%s", "out of memory");
  }
  for (size_t i = 0; i < r->n_rays; i++)
    memcpy(out->range_m + i * r->n_gates, v + (nd == 2 ? i * r->n_gates : 0),
           r->n_gates * sizeof *v);
  free(v);
  for (size_t i = 0; i < r->n_rays; i++)
    for (size_t g = 0; g < r->n_gates; g++) {
      double x = out->range_m[i * r->n_gates + g];
      if (!isfinite(x) || x < 0 || (g > 0 && !(x > out->range_m[i * r->n_gates + g - 1])))
        return cf_error(r->ctx, CF_EDATA, r->path, "range",
                        "gate ranges must be finite, >= 0 and increasing (ray %zu, gate %zu: %g)",
                        i, g, x);
    }
  return CF_OK;
}

/* The radial velocity: sets the gate dimension, converts the sign. */
static int read_velocity(rd *r, cf_windcube_file *out) {
  static const char *const ms[] = {"m s-1", "m/s", "m.s-1", "m s^-1", NULL};
  int var, rc, nd, dims[NC_MAX_VAR_DIMS];
  if (find_var(r, "radial_wind_speed", 1, &var) < 0) return CF_EDATA;
  nc_inq_varndims(r->grp, var, &nd);
  nc_inq_vardimid(r->grp, var, dims);
  if (nd != 2 || dims[0] != r->time_dim)
    return check_dims(r, "radial_wind_speed", var, (int[]){r->time_dim, -1}, 2, "(time, range)");
  r->gate_dim = dims[1];
  nc_inq_dimlen(r->grp, r->gate_dim, &r->n_gates);
  if (r->n_gates < 1) return fail(r, CF_EDATA, "radial_wind_speed", "%s", "has no range gates");
  if (r->n_gates > (SIZE_MAX / sizeof(double)) / 16 / r->n_rays)
    return cf_error(r->ctx, CF_ENOMEM, r->path, "radial_wind_speed",
                    "%zu rays x %zu gates would not fit in memory", r->n_rays, r->n_gates);
  if ((rc = check_units(r, "radial_wind_speed", var, ms))) return rc;

  char *sn = text_att(r->grp, var, "standard_name");
  double sign = 1;
  if (!sn) {
    cf_log(r->ctx, CF_LOG_WARN,
           "%s: radial_wind_speed has no standard_name; taking it as positive away from the "
           "instrument (the WindCube convention, see ingest/windcube.h)",
           r->path);
  } else if (strcmp(sn, STD_NAME_TOWARD) == 0) {
    sign = -1;
  } else if (strcmp(sn, STD_NAME_AWAY) != 0) {
    rc = cf_error(r->ctx, CF_EDATA, r->path, "radial_wind_speed",
                  "standard_name '%s' is neither " STD_NAME_AWAY " nor " STD_NAME_TOWARD
                  ": the sign of the velocities is unknown",
                  sn);
    free(sn);
    return rc;
  }
  free(sn);
  size_t n = r->n_rays * r->n_gates;
  if ((rc = read_doubles(r, "radial_wind_speed", var, n, &out->radial_velocity))) return rc;
  if (sign < 0) {
    for (size_t i = 0; i < n; i++) out->radial_velocity[i] = -out->radial_velocity[i];
    out->sign_flipped = 1;
  }
  return CF_OK;
}

/* A (time, range) double variable; optional ones may be absent (NULL). */
static int read_gate_var(rd *r, const char *name, int required, const char *const *units,
                         double **dst) {
  int var, rc;
  int found = find_var(r, name, required, &var);
  if (found < 0) return CF_EDATA;
  if (!found) return CF_OK;
  int want[2] = {r->time_dim, r->gate_dim};
  if ((rc = check_dims(r, name, var, want, 2, "(time, range)"))) return rc;
  if (units && (rc = check_units(r, name, var, units))) return rc;
  return read_doubles(r, name, var, r->n_rays * r->n_gates, dst);
}

static int read_status(rd *r, cf_windcube_file *out) {
  int var, rc;
  if (!find_var(r, "radial_wind_speed_status", 0, &var)) return CF_OK;
  int want[2] = {r->time_dim, r->gate_dim};
  if ((rc = check_dims(r, "radial_wind_speed_status", var, want, 2, "(time, range)"))) return rc;
  size_t n = r->n_rays * r->n_gates;
  out->status = malloc(n);
  if (!out->status) return fail(r, CF_ENOMEM, "radial_wind_speed_status", "%s", "out of memory");
  int st = nc_get_var_uchar(r->grp, var, out->status);
  if (st != NC_NOERR && st != NC_ERANGE)
    return cf_error(r->ctx, CF_EDATA, r->path, "radial_wind_speed_status", "cannot read: %s",
                    nc_strerror(st));
  return CF_OK;
}

static void read_metadata(rd *r, cf_windcube_file *out) {
  out->instrument_name = text_att(r->nc, NC_GLOBAL, "instrument_name");
  if (!out->instrument_name) out->instrument_name = strdup("");
  int var;
  out->sweep_mode =
      nc_inq_varid(r->grp, "sweep_mode", &var) == NC_NOERR ? string_var(r->grp, var) : NULL;
  if (!out->sweep_mode) out->sweep_mode = strdup("");
  out->has_latitude = root_scalar(r->nc, "latitude", &out->latitude_deg);
  out->has_longitude = root_scalar(r->nc, "longitude", &out->longitude_deg);
  out->has_altitude = root_scalar(r->nc, "altitude", &out->altitude_m);

  out->accumulation_s = out->gate_length_m = NAN;
  if (nc_inq_varid(r->grp, "ray_accumulation_time", &var) == NC_NOERR) {
    double ms;
    char *u = text_att(r->grp, var, "units");
    if (u && strcmp(u, "ms") == 0 && nc_get_var_double(r->grp, var, &ms) == NC_NOERR &&
        isfinite(ms) && ms > 0) {
      out->accumulation_s = ms * 1e-3;
      out->has_accumulation = 1;
    }
    free(u);
  }
  if (nc_inq_varid(r->grp, "range_gate_length", &var) == NC_NOERR) {
    double len;
    if (nc_get_var_double(r->grp, var, &len) == NC_NOERR && isfinite(len) && len > 0) {
      out->gate_length_m = len;
      out->has_gate_length = 1;
    }
  }
}

static int make_mask(rd *r, const cf_windcube_opts *o, cf_windcube_file *out) {
  size_t n = r->n_rays * r->n_gates;
  out->valid = malloc(n);
  if (!out->valid) return fail(r, CF_ENOMEM, "valid", "%s", "out of memory");
  out->n_valid = 0;
  for (size_t i = 0; i < n; i++) {
    int ok = isfinite(out->radial_velocity[i]) && isfinite(out->cnr_db[i]) &&
             out->cnr_db[i] >= o->cnr_min_db;
    if (ok && o->use_status && out->status) ok = out->status[i] == 1;
    out->valid[i] = (unsigned char)ok;
    out->n_valid += ok;
  }
  return CF_OK;
}

/* --- public ------------------------------------------------------------------ */

int cf_windcube_read(cf_ctx *ctx, const char *path, const cf_windcube_opts *opts,
                     cf_windcube_file *out) {
  static const char *const db[] = {"dB", "db", NULL};
  static const char *const ms[] = {"m s-1", "m/s", "m.s-1", "m s^-1", NULL};
  cf_windcube_opts defaults;
  if (!opts) {
    cf_windcube_opts_default(&defaults);
    opts = &defaults;
  }
  if (!out) return cf_error(ctx, CF_EINVAL, path ? path : "", "", "no output structure");
  memset(out, 0, sizeof *out);
  if (!path) return cf_error(ctx, CF_EINVAL, "", "", "no file name");
  if (!isfinite(opts->cnr_min_db))
    return cf_error(ctx, CF_EINVAL, path, "cnr_min_db", "must be finite, got %g", opts->cnr_min_db);
  struct stat st;
  if (stat(path, &st) != 0)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot read: %s",
                    strerror(errno));

  rd r = {.ctx = ctx, .path = path, .nc = -1, .grp = -1, .time_dim = -1, .gate_dim = -1};
  int stc = nc_open(path, NC_NOWRITE, &r.nc);
  if (stc != NC_NOERR)
    return cf_error(ctx, CF_EDATA, path, "", "not a netCDF file netCDF-C can read: %s",
                    nc_strerror(stc));
  out->path = strdup(path);
  int rc = out->path ? CF_OK : cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  /* order matters: the velocity fixes the gate dimension the others are checked against */
  if (!rc) rc = open_sweep(&r, out);
  if (!rc) rc = read_time(&r, out);
  if (!rc) rc = read_velocity(&r, out);
  if (!rc) rc = read_angles(&r, out);
  if (!rc) rc = read_range(&r, out);
  if (!rc) rc = read_gate_var(&r, "cnr", 1, db, &out->cnr_db);
  if (!rc) rc = read_gate_var(&r, "radial_wind_speed_ci", 0, NULL, &out->ci_percent);
  if (!rc) rc = read_gate_var(&r, "doppler_spectrum_width", 0, ms, &out->spectrum_width);
  if (!rc) rc = read_gate_var(&r, "relative_beta", 0, NULL, &out->relative_beta);
  if (!rc) rc = read_status(&r, out);
  if (!rc) {
    out->n_rays = (int)r.n_rays;
    out->n_gates = (int)r.n_gates;
    read_metadata(&r, out);
    if (!out->instrument_name || !out->sweep_mode)
      rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  if (!rc) {
    out->time_mid = malloc(r.n_rays * sizeof *out->time_mid);
    if (!out->time_mid) rc = cf_error(ctx, CF_ENOMEM, path, "time", "out of memory");
    for (size_t i = 0; !rc && i < r.n_rays; i++)
      out->time_mid[i] = out->time_end[i] - (out->has_accumulation ? 0.5 * out->accumulation_s : 0);
  }
  if (!rc) rc = make_mask(&r, opts, out);
  nc_close(r.nc);
  if (rc) cf_windcube_free(out);
  return rc;
}

void cf_windcube_scan_free(cf_windcube_scan *s) {
  if (!s) return;
  for (int i = 0; i < s->n_files && s->files; i++) cf_windcube_free(&s->files[i]);
  free(s->files);
  memset(s, 0, sizeof *s);
}

int cf_windcube_read_scan(cf_ctx *ctx, const char *const *paths, int n_paths,
                          const cf_windcube_opts *opts, cf_windcube_scan *out) {
  if (!out) return cf_error(ctx, CF_EINVAL, "", "", "no output structure");
  memset(out, 0, sizeof *out);
  if (!paths || n_paths < 1)
    return cf_error(ctx, CF_EINVAL, "", "paths", "a scan needs at least one file");
  out->files = calloc((size_t)n_paths, sizeof *out->files);
  if (!out->files) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  int rc = CF_OK;
  double sum = 0;
  for (int i = 0; i < n_paths && !rc; i++) {
    cf_windcube_file *f = &out->files[i];
    if ((rc = cf_windcube_read(ctx, paths[i], opts, f))) break;
    out->n_files = i + 1;
    const cf_windcube_file *f0 = &out->files[0];
    if (strcmp(f->instrument_name, f0->instrument_name) != 0) {
      rc = cf_error(ctx, CF_EDATA, f->path, "instrument_name",
                    "is '%s' but the scan's first file (%s) is from '%s'", f->instrument_name,
                    f0->path, f0->instrument_name);
      break;
    }
    if (f->has_latitude && f->has_longitude) {
      /* 1e-6 degree is 0.1 m: the same site, whatever the float formatting */
      if (out->has_site && (fabs(f->latitude_deg - out->latitude_deg) > 1e-6 ||
                            fabs(f->longitude_deg - out->longitude_deg) > 1e-6)) {
        rc = cf_error(ctx, CF_EDATA, f->path, "latitude",
                      "site (%.6f, %.6f) differs from the scan's (%.6f, %.6f)", f->latitude_deg,
                      f->longitude_deg, out->latitude_deg, out->longitude_deg);
        break;
      }
      if (!out->has_site) {
        out->has_site = 1;
        out->latitude_deg = f->latitude_deg;
        out->longitude_deg = f->longitude_deg;
      }
    }
    for (int k = 0; k < f->n_rays; k++) {
      double t = f->time_mid[k];
      if (out->n_rays == 0 || t < out->time_first) out->time_first = t;
      if (out->n_rays == 0 || t > out->time_last) out->time_last = t;
      sum += t;
      out->n_rays++;
    }
  }
  if (rc) {
    cf_windcube_scan_free(out);
    return rc;
  }
  out->time_mid = sum / out->n_rays;
  return CF_OK;
}
