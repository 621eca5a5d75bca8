/*
 * The L2 reader (ingest/lidar_l2.h) on files of our own pipeline and on the
 * same content written by other software (issue 9; lidar-l2.md: a reader
 * relies only on the contract's names).
 *
 * The original is made by `carbonflux simulate lidar` (two PPI scans) and
 * `carbonflux lidar process`. tests/l2_write_other.py rewrites it with
 * netCDF4-python (NC_STRING attributes, fixed dims, 5x7 chunks, zlib and
 * shuffle, float fill -999, qc_flag as int32, co2 as int16 packed with
 * scale_factor/add_offset, times in "hours since 2026-06-30T12:00Z") and with xarray (its own encoding: NaN fills,
 * time as int64 "minutes since <first ray>"), and dumps what netCDF4-python
 * reads from each file (masked as NaN, unpacked, times through num2date),
 * with numpy's count of good gates. The reference is always that dump or
 * the original, never the reader under test.
 *
 * Tolerances: unpacked stored floats are compared exactly (float32 to
 * double is exact in C and in numpy, and the NaN pattern must match). The
 * int16 copy: |reader(copy) - original| <= scale_factor/2 (rounding to the
 * nearest packed step, which is how the copy was packed) plus 1e-9 for the
 * double arithmetic of x*scale+offset; reader(copy) against netCDF4-python's
 * unpacking of the same file, 1e-12 relative (the same formula, evaluated
 * in double on both sides). Times: the xarray copy stores whole minutes
 * since its reference, exact; the hours of the netCDF4-python copy are
 * about 12 h, whose double spacing is 6e-12 s, so 1e-6 s is generous;
 * netCDF4.num2date returns whole microseconds, so against the dump 1e-5 s.
 */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/lidar_l2.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-netcdf4 and python3-xarray */
#define D2R (3.14159265358979323846 / 180.0)

typedef struct {
  char *dir;
  char log[1100];
  int ok; /* the files and dumps were written */
} fixture;

/* --- the dumps of l2_write_other.py -------------------------------------------- */

typedef struct {
  char name[64];
  size_t n;
  double *v;
} dump_var;

typedef struct {
  int n;
  dump_var var[48];
} dump;

static void dump_read(const char *path, dump *d) {
  memset(d, 0, sizeof *d);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char name[64];
  size_t n;
  while (d->n < 48 && fscanf(fp, "%63s %zu", name, &n) == 2) {
    dump_var *v = &d->var[d->n++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->n = n;
    v->v = malloc((n ? n : 1) * sizeof *v->v);
    assert_non_null(v->v);
    char word[64];
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(fscanf(fp, "%63s", word), 1);
      v->v[i] = strtod(word, NULL); /* "nan" too */
    }
  }
  fclose(fp);
}

static void dump_free(dump *d) {
  for (int i = 0; i < d->n; i++) free(d->var[i].v);
}

static const dump_var *dump_get(const dump *d, const char *name) {
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->var[i].name, name) == 0) return &d->var[i];
  print_error("the dump has no %s\n", name);
  fail();
  return NULL;
}

/* --- the reader's arrays by name ------------------------------------------------- */

typedef struct {
  const char *name;
  double *v; /* owned */
  size_t n;
} field;

static double *dup_d(const double *v, size_t n) {
  double *o = malloc((n ? n : 1) * sizeof *o);
  assert_non_null(o);
  memcpy(o, v, n * sizeof *o);
  return o;
}
static double *from_i(const int32_t *v, size_t n, int32_t missing) {
  double *o = malloc((n ? n : 1) * sizeof *o);
  assert_non_null(o);
  for (size_t i = 0; i < n; i++) o[i] = v[i] == missing ? NAN : (double)v[i];
  return o;
}

/* Every variable the contract names, with the reader's values. */
static int fields_of(const cf_l2 *l, field *f) {
  size_t R = (size_t)l->n_rays, G = (size_t)l->n_gates, W = (size_t)l->n_scans * l->n_heights;
  int n = 0;
  f[n++] = (field){"time", dup_d(l->time, R), R};
  f[n++] = (field){"azimuth", dup_d(l->azimuth_deg, R), R};
  f[n++] = (field){"elevation", dup_d(l->elevation_deg, R), R};
  f[n++] = (field){"scan_id", from_i(l->scan_id, R, INT32_MIN), R};
  f[n++] = (field){"range", dup_d(l->range_m, G), G};
  f[n++] = (field){"latitude", dup_d(&l->latitude_deg, 1), 1};
  f[n++] = (field){"longitude", dup_d(&l->longitude_deg, 1), 1};
  f[n++] = (field){"altitude", dup_d(&l->altitude_m, 1), 1};
  f[n++] = (field){"co2_mole_fraction", dup_d(l->co2_mole_fraction, R * G), R * G};
  f[n++] = (field){"co2_mole_fraction_uncertainty", dup_d(l->co2_mole_fraction_uncertainty, R * G), R * G};
  f[n++] = (field){"co2_number_density", dup_d(l->co2_number_density, R * G), R * G};
  f[n++] = (field){"radial_velocity", dup_d(l->radial_velocity, R * G), R * G};
  f[n++] = (field){"radial_velocity_uncertainty", dup_d(l->radial_velocity_uncertainty, R * G), R * G};
  f[n++] = (field){"cnr_on", dup_d(l->cnr_on, R * G), R * G};
  f[n++] = (field){"cnr_off", dup_d(l->cnr_off, R * G), R * G};
  f[n++] = (field){"qc_flag", from_i(l->qc_flag, R * G, CF_L2_QC_MISSING), R * G};
  assert_non_null(l->scan_time);
  assert_non_null(l->height_m);
  f[n++] = (field){"scan_time", dup_d(l->scan_time, (size_t)l->n_scans), (size_t)l->n_scans};
  f[n++] = (field){"height", dup_d(l->height_m, (size_t)l->n_heights), (size_t)l->n_heights};
  const double *w[7] = {l->eastward_wind, l->northward_wind, l->upward_air_velocity, l->wind_speed,
                        l->wind_from_direction, l->wind_fit_rmse, l->wind_valid_beams};
  const char *wn[7] = {"eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed",
                       "wind_from_direction", "wind_fit_rmse", "wind_valid_beams"};
  for (int k = 0; k < 7; k++) {
    assert_non_null(w[k]);
    f[n++] = (field){wn[k], dup_d(w[k], W), W};
  }
  return n;
}

static void fields_free(field *f, int n) {
  for (int i = 0; i < n; i++) free(f[i].v);
}

/* a and b agree: both NaN, or |a-b| <= atol + rtol |b|. Returns the number
 * of finite pairs compared. */
static size_t same(const char *what, const char *name, const double *a, const double *b, size_t n,
                   double rtol, double atol) {
  size_t finite = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) || isnan(b[i])) {
      if (!(isnan(a[i]) && isnan(b[i]))) {
        print_error("%s: %s[%zu]: %.17g vs %.17g (one masked, the other not)\n", what, name, i, a[i], b[i]);
        fail();
      }
      continue;
    }
    if (!(fabs(a[i] - b[i]) <= atol + rtol * fabs(b[i]))) {
      print_error("%s: %s[%zu]: %.17g vs %.17g (rtol %g, atol %g)\n", what, name, i, a[i], b[i], rtol, atol);
      fail();
    }
    finite++;
  }
  return finite;
}

/* --- fixture ----------------------------------------------------------------------- */

static const char *script_path(void) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  snprintf(slash ? slash + 1 : buf, sizeof buf - (size_t)(slash ? slash + 1 - buf : 0), "l2_write_other.py");
  return buf;
}

static int sh(fixture *f, const char *cmd) {
  char buf[20000];
  snprintf(buf, sizeof buf, "%s >> '%s' 2>&1", cmd, f->log);
  int rc = system(buf);
  if (rc) {
    snprintf(buf, sizeof buf, "cat '%s' >&2", f->log);
    if (system(buf)) {
    }
  }
  return rc;
}

static int group_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->dir = cf_test_tmpdir();
  snprintf(f->log, sizeof f->log, "%s/log.txt", f->dir);
  *state = f;
  char cmd[16384];
  snprintf(cmd, sizeof cmd, "-q simulate lidar -o '%s/l0.h5' scan=ppi scans=2 rays_per_scan=8 gates=20", f->dir);
  if (cf_test_cli(cmd, f->log)) return 0;
  snprintf(cmd, sizeof cmd, "-q lidar process '%s/l0.h5' -o '%s/own.nc'", f->dir, f->dir);
  if (cf_test_cli(cmd, f->log)) return 0;
  const char *s = script_path();
  const char *d = f->dir;
  snprintf(cmd, sizeof cmd,
           "cd '%s' && " PYTHON " '%s' dump own.nc own.txt && "
           PYTHON " '%s' nc4 own.nc nc4.nc --pack --time-hours && " PYTHON " '%s' dump nc4.nc nc4.txt && "
           PYTHON " '%s' xarray own.nc xr.nc && " PYTHON " '%s' dump xr.nc xr.txt && "
           PYTHON " '%s' nc4 own.nc drop.nc --drop co2_mole_fraction_uncertainty && "
           PYTHON " '%s' nc4 own.nc transposed.nc --transpose co2_mole_fraction && "
           PYTHON " '%s' nc4 own.nc far.nc --shift-lat 0.01 && "
           PYTHON " '%s' nc4 own.nc near.nc --shift-lat 0.000001",
           d, s, s, s, s, s, s, s, s, s);
  if (sh(f, cmd)) return 0;
  f->ok = 1;
  return 0;
}

static int group_teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static cf_ctx *open_l2(fixture *f, const char *name, cf_l2 *l2) {
  if (!f->ok) {
    print_error("the L2 files were not written (see the log above; needs " PYTHON
                " with netCDF4 and xarray)\n");
    fail();
  }
  cf_ctx *ctx = cf_test_ctx();
  int rc = cf_l2_read(ctx, cf_test_path(f->dir, name), l2);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  return ctx;
}

/* Reader vs the dump of the same file. */
static void against_dump(const char *what, const cf_l2 *l2, const dump *d, double rtol, double time_tol) {
  field fl[40];
  int nf = fields_of(l2, fl);
  size_t finite = 0;
  for (int k = 0; k < nf; k++) {
    const dump_var *dv = dump_get(d, fl[k].name);
    assert_int_equal(dv->n, fl[k].n);
    int is_time = strcmp(fl[k].name, "time") == 0 || strcmp(fl[k].name, "scan_time") == 0;
    finite += same(what, fl[k].name, fl[k].v, dv->v, dv->n, is_time ? 0 : rtol, is_time ? time_tol : 0);
  }
  fields_free(fl, nf);
  assert_true(finite > 1000);
}

static size_t n_good(cf_ctx *ctx, const cf_l2 *l2, cf_l2_obs **obs) {
  size_t n;
  assert_int_equal(cf_l2_observations(ctx, l2, obs, &n), CF_OK);
  return n;
}

/* --- tests ------------------------------------------------------------------------- */

/* Our own file: the reader gives what netCDF4-python reads, value for
 * value, and numpy's count of good gates. */
static void own_file_as_netcdf4_python_reads_it(void **state) {
  fixture *f = *state;
  cf_l2 l2;
  cf_ctx *ctx = open_l2(f, "own.nc", &l2);
  dump d;
  dump_read(cf_test_path(f->dir, "own.txt"), &d);
  assert_int_equal(l2.n_rays, 16); /* scans=2 x rays_per_scan=8 */
  assert_int_equal(l2.n_gates, 20);
  assert_int_equal(l2.n_scans, 2);
  against_dump("own.nc", &l2, &d, 0, 0);
  cf_l2_obs *obs = NULL;
  size_t n = n_good(ctx, &l2, &obs);
  assert_int_equal(n, (size_t)dump_get(&d, "n_obs")->v[0]);
  assert_true(n > 0 && n < (size_t)l2.n_rays * l2.n_gates);
  /* every observation: its gate, and its position from range and angles */
  for (size_t k = 0; k < n; k++) {
    const cf_l2_obs *o = &obs[k];
    size_t j = (size_t)o->ray * l2.n_gates + o->gate;
    assert_int_equal(l2.qc_flag[j], 0);
    assert_true(o->value_ppm == l2.co2_mole_fraction[j] && o->sigma_ppm > 0);
    double r = l2.range_m[o->gate], el = l2.elevation_deg[o->ray] * D2R, az = l2.azimuth_deg[o->ray] * D2R;
    /* the same formula as the reader: equal to rounding */
    assert_close(o->horizontal_m, r * cos(el), 1e-15, 1e-9);
    assert_close(o->height_m, r * sin(el), 1e-15, 1e-9);
    assert_close(o->east_m, r * cos(el) * sin(az), 1e-15, 1e-9);
    assert_close(o->north_m, r * cos(el) * cos(az), 1e-15, 1e-9);
    assert_close(hypot(o->east_m, o->north_m), o->horizontal_m, 1e-12, 1e-9);
  }
  print_message("own.nc: %d rays x %d gates, %zu good gates (numpy: %.0f), co2[%d,%d] = %.6f ppm\n", l2.n_rays,
                l2.n_gates, n, dump_get(&d, "n_obs")->v[0], obs[0].ray, obs[0].gate, obs[0].value_ppm);
  free(obs);
  dump_free(&d);
  cf_l2_free(&l2);
  cf_ctx_destroy(ctx);
}

/* The netCDF4-python copy with int16 packing: as netCDF4-python unpacks
 * it, and within half a packing step of the original. */
static void netcdf4_python_copy_packed(void **state) {
  fixture *f = *state;
  cf_l2 own, copy;
  cf_ctx *ctx = open_l2(f, "own.nc", &own);
  assert_int_equal(cf_l2_read(ctx, cf_test_path(f->dir, "nc4.nc"), &copy), CF_OK);
  dump d;
  dump_read(cf_test_path(f->dir, "nc4.txt"), &d);
  against_dump("nc4.nc", &copy, &d, 1e-12, 1e-5);

  /* the packing step, read with plain netCDF-C */
  int nc, var;
  double scale[2];
  const char *packed[2] = {"co2_mole_fraction", "co2_mole_fraction_uncertainty"};
  assert_int_equal(nc_open(cf_test_path(f->dir, "nc4.nc"), NC_NOWRITE, &nc), NC_NOERR);
  for (int k = 0; k < 2; k++) {
    nc_type t;
    assert_int_equal(nc_inq_varid(nc, packed[k], &var), NC_NOERR);
    assert_int_equal(nc_inq_vartype(nc, var, &t), NC_NOERR);
    assert_int_equal(t, NC_SHORT);
    assert_int_equal(nc_get_att_double(nc, var, "scale_factor", &scale[k]), NC_NOERR);
  }
  nc_close(nc);

  field a[40], b[40];
  int na = fields_of(&copy, a), nb = fields_of(&own, b);
  assert_int_equal(na, nb);
  for (int k = 0; k < na; k++) {
    double atol = 0;
    if (strcmp(a[k].name, packed[0]) == 0) atol = 0.5 * scale[0] + 1e-9;
    if (strcmp(a[k].name, packed[1]) == 0) atol = 0.5 * scale[1] + 1e-9;
    if (strcmp(a[k].name, "time") == 0 || strcmp(a[k].name, "scan_time") == 0) atol = 1e-6;
    same("nc4.nc vs own.nc", a[k].name, a[k].v, b[k].v, a[k].n, 0, atol);
  }
  fields_free(a, na);
  fields_free(b, nb);
  cf_l2_obs *o1 = NULL, *o2 = NULL;
  size_t n1 = n_good(ctx, &copy, &o1), n2 = n_good(ctx, &own, &o2);
  assert_int_equal(n1, (size_t)dump_get(&d, "n_obs")->v[0]);
  assert_int_equal(n1, n2);
  print_message("nc4.nc: int16 steps %.3g and %.3g ppm, %zu good gates as in own.nc\n", scale[0], scale[1], n1);
  free(o1);
  free(o2);
  dump_free(&d);
  cf_l2_free(&copy);
  cf_l2_free(&own);
  cf_ctx_destroy(ctx);
}

/* The xarray copy: NaN fills, times re-encoded by xarray. */
static void xarray_copy(void **state) {
  fixture *f = *state;
  cf_l2 own, copy;
  cf_ctx *ctx = open_l2(f, "own.nc", &own);
  assert_int_equal(cf_l2_read(ctx, cf_test_path(f->dir, "xr.nc"), &copy), CF_OK);
  dump d;
  dump_read(cf_test_path(f->dir, "xr.txt"), &d);
  against_dump("xr.nc", &copy, &d, 0, 1e-5);
  field a[40], b[40];
  int na = fields_of(&copy, a), nb = fields_of(&own, b);
  for (int k = 0; k < na; k++) same("xr.nc vs own.nc", a[k].name, a[k].v, b[k].v, a[k].n, 0, 0);
  fields_free(a, na);
  fields_free(b, nb);
  cf_l2_obs *o = NULL;
  size_t n = n_good(ctx, &copy, &o);
  assert_int_equal(n, (size_t)dump_get(&d, "n_obs")->v[0]);
  free(o);
  dump_free(&d);
  cf_l2_free(&copy);
  cf_l2_free(&own);
  cf_ctx_destroy(ctx);
}

/* --- a file written here with netCDF-C, by hand ------------------------------------- */

#define NCOK(x) assert_int_equal((x), NC_NOERR)

static void put_text(int nc, int var, const char *name, const char *text) {
  NCOK(nc_put_att_text(nc, var, name, strlen(text), text));
}

/* Three rays, four gates, no wind profiles; every choice another writer
 * may make: time in days since a date without a clock, azimuths outside
 * [0, 360), range in km, a float latitude and a longitude east of 180, an
 * int altitude, co2 in mol mol-1 with a missing_value, its uncertainty in
 * "ppm", radial velocity without units, qc_flag as signed bytes with
 * _Unsigned = "true" (255 = -1 stored). */
static void netcdf_c_by_hand(void **state) {
  fixture *f = *state;
  const char *path = cf_test_path(f->dir, "by_hand.nc");
  int nc, dt, dr, v;
  NCOK(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
  NCOK(nc_def_dim(nc, "time", 3, &dt));
  NCOK(nc_def_dim(nc, "range", 4, &dr));
  int d2[2] = {dt, dr};
  const double t[3] = {0.5, 0.5 + 1.0 / 86400, 0.5 + 2.5 / 86400};
  NCOK(nc_def_var(nc, "time", NC_DOUBLE, 1, &dt, &v));
  put_text(nc, v, "units", "days since 2024-06-15");
  NCOK(nc_put_var_double(nc, v, t));
  const double az[3] = {-10, 370, 90};
  NCOK(nc_def_var(nc, "azimuth", NC_DOUBLE, 1, &dt, &v));
  put_text(nc, v, "units", "degrees");
  NCOK(nc_put_var_double(nc, v, az));
  const float el[3] = {0, 30, 90};
  NCOK(nc_def_var(nc, "elevation", NC_FLOAT, 1, &dt, &v));
  put_text(nc, v, "units", "deg");
  NCOK(nc_put_var_float(nc, v, el));
  const short sid[3] = {7, 7, 8};
  NCOK(nc_def_var(nc, "scan_id", NC_SHORT, 1, &dt, &v));
  NCOK(nc_put_var_short(nc, v, sid));
  const float rg[4] = {0.125f, 0.25f, 0.375f, 0.5f};
  NCOK(nc_def_var(nc, "range", NC_FLOAT, 1, &dr, &v));
  put_text(nc, v, "units", "km");
  NCOK(nc_put_var_float(nc, v, rg));
  const float lat = 31.5f;
  const double lon = 200.0;
  const int alt = 12;
  NCOK(nc_def_var(nc, "latitude", NC_FLOAT, 0, NULL, &v));
  put_text(nc, v, "units", "degrees_north");
  NCOK(nc_put_var_float(nc, v, &lat));
  NCOK(nc_def_var(nc, "longitude", NC_DOUBLE, 0, NULL, &v));
  put_text(nc, v, "units", "degrees_east");
  NCOK(nc_put_var_double(nc, v, &lon));
  NCOK(nc_def_var(nc, "altitude", NC_INT, 0, NULL, &v));
  put_text(nc, v, "units", "m");
  NCOK(nc_put_var_int(nc, v, &alt));
  double co2[12], unc[12], one[12];
  for (int i = 0; i < 12; i++) co2[i] = 4.1e-4 + i * 1e-6, unc[i] = 2.0 + i, one[i] = i;
  co2[1] = -1;  /* the missing_value */
  unc[5] = 0;   /* no observation: sigma must be > 0 */
  unc[6] = NAN; /* no observation */
  const double mv = -1;
  NCOK(nc_def_var(nc, "co2_mole_fraction", NC_DOUBLE, 2, d2, &v));
  put_text(nc, v, "units", "mol mol-1");
  NCOK(nc_put_att_double(nc, v, "missing_value", NC_DOUBLE, 1, &mv));
  NCOK(nc_put_var_double(nc, v, co2));
  NCOK(nc_def_var(nc, "co2_mole_fraction_uncertainty", NC_DOUBLE, 2, d2, &v));
  put_text(nc, v, "units", "ppm");
  NCOK(nc_put_var_double(nc, v, unc));
  const char *plain[5] = {"co2_number_density", "radial_velocity", "radial_velocity_uncertainty", "cnr_on", "cnr_off"};
  const char *units[5] = {"m-3", NULL, "m/s", "dB", "dB"};
  for (int k = 0; k < 5; k++) {
    NCOK(nc_def_var(nc, plain[k], NC_DOUBLE, 2, d2, &v));
    if (units[k]) put_text(nc, v, "units", units[k]);
    NCOK(nc_put_var_double(nc, v, one));
  }
  const signed char qc[12] = {0, 0, 0, 0, 0, 0, 0, 4, -1, 0, 0, 0};
  NCOK(nc_def_var(nc, "qc_flag", NC_BYTE, 2, d2, &v));
  put_text(nc, v, "_Unsigned", "true");
  NCOK(nc_put_var_schar(nc, v, qc));
  NCOK(nc_close(nc));

  cf_ctx *ctx = cf_test_ctx();
  cf_l2 l2;
  int rc = cf_l2_read(ctx, path, &l2);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  assert_int_equal(l2.n_rays, 3);
  assert_int_equal(l2.n_gates, 4);
  assert_int_equal(l2.n_scans, 0);
  assert_null(l2.eastward_wind);
  assert_null(l2.scan_time);
  /* 2024-06-15T12:00:00Z = 1718452800 s (date -u -d 2024-06-15T12:00:00Z +%s); days
   * in double: 1 s of a day is resolved to ~1e-11 s */
  assert_close(l2.time[0], 1718452800.0, 0, 1e-6);
  assert_close(l2.time[1], 1718452801.0, 0, 1e-6);
  assert_close(l2.time[2], 1718452802.5, 0, 1e-6);
  assert_close(l2.azimuth_deg[0], 350, 0, 1e-12);
  assert_close(l2.azimuth_deg[1], 10, 0, 1e-12);
  assert_int_equal(l2.scan_id[2], 8);
  assert_close(l2.range_m[0], 125, 0, 0); /* km to m; 0.125 is exact in float */
  assert_close(l2.range_m[3], 500, 0, 0);
  assert_close(l2.latitude_deg, 31.5, 0, 0);
  assert_close(l2.longitude_deg, -160, 0, 0);
  assert_close(l2.altitude_m, 12, 0, 0);
  assert_true(isnan(l2.co2_mole_fraction[1]));
  assert_close(l2.co2_mole_fraction[0], 410, 1e-12, 0); /* mol mol-1 to 1e-6 */
  assert_close(l2.co2_mole_fraction[11], 421, 1e-12, 0);
  assert_close(l2.co2_mole_fraction_uncertainty[3], 5, 0, 0);
  assert_int_equal(l2.qc_flag[8], 255);
  assert_int_equal(l2.qc_flag[7], 4);
  assert_close(l2.radial_velocity[4], 4, 0, 0);
  /* good: qc 0 (not 7, 8), co2 finite (not 1), sigma finite > 0 (not 5, 6) */
  cf_l2_obs *obs = NULL;
  size_t n;
  assert_int_equal(cf_l2_observations(ctx, &l2, &obs, &n), CF_OK);
  assert_int_equal(n, 7);
  const int want[7] = {0, 2, 3, 4, 9, 10, 11};
  for (size_t k = 0; k < n; k++) assert_int_equal(obs[k].ray * 4 + obs[k].gate, want[k]);
  /* ray 1 (el 30, az 10), gate 0 (125 m); ray 2 vertical */
  assert_close(obs[3].height_m, 62.5, 1e-12, 0);
  assert_close(obs[3].horizontal_m, 125 * sqrt(3) / 2, 1e-12, 0);
  assert_close(obs[3].east_m, 125 * sqrt(3) / 2 * sin(10 * D2R), 1e-12, 0);
  assert_close(obs[4].horizontal_m, 0, 0, 1e-12);
  assert_close(obs[4].height_m, 250, 1e-12, 0);
  free(obs);
  cf_l2_free(&l2);
  cf_ctx_destroy(ctx);
}

/* rc is CF_EDATA (or `code`) and the message names every `needle`. */
static void expect_error(cf_ctx *ctx, int rc, int code, const char *const *needles) {
  const char *msg = cf_error_message(ctx);
  print_message("expected error: %s\n", msg);
  assert_int_equal(rc, code);
  for (; *needles; needles++)
    if (!strstr(msg, *needles)) {
      print_error("'%s' is not in the message\n", *needles);
      fail();
    }
}

static void bad_files(void **state) {
  fixture *f = *state;
  cf_l2 l2;
  cf_ctx *ctx = open_l2(f, "own.nc", &l2);
  cf_l2_free(&l2);

  const char *drop = cf_test_path(f->dir, "drop.nc");
  expect_error(ctx, cf_l2_read(ctx, drop, &l2), CF_EDATA,
               (const char *[]){drop, "co2_mole_fraction_uncertainty", "missing", NULL});
  assert_null(l2.path);
  cf_error_clear(ctx);

  const char *tr = cf_test_path(f->dir, "transposed.nc");
  expect_error(ctx, cf_l2_read(ctx, tr, &l2), CF_EDATA,
               (const char *[]){tr, "co2_mole_fraction", "(range, time)", "(time, range)", NULL});
  cf_error_clear(ctx);

  const char *txt = cf_test_path(f->dir, "not_netcdf.nc");
  cf_test_write_text(txt, "time,range,co2\n0,100,415\n");
  expect_error(ctx, cf_l2_read(ctx, txt, &l2), CF_EDATA, (const char *[]){txt, "not a netCDF", NULL});
  cf_error_clear(ctx);

  const char *none = cf_test_path(f->dir, "absent.nc");
  expect_error(ctx, cf_l2_read(ctx, none, &l2), CF_ENOENT, (const char *[]){none, NULL});
  cf_error_clear(ctx);
  cf_ctx_destroy(ctx);
}

/* Several files: one site within 1e-5 degree, else both files named. */
static void files_from_one_site(void **state) {
  fixture *f = *state;
  cf_l2 l2;
  cf_ctx *ctx = open_l2(f, "own.nc", &l2);
  cf_l2_free(&l2);
  char own[1100], near[1100], far[1100], xr[1100];
  snprintf(own, sizeof own, "%s", cf_test_path(f->dir, "own.nc"));
  snprintf(near, sizeof near, "%s", cf_test_path(f->dir, "near.nc"));
  snprintf(far, sizeof far, "%s", cf_test_path(f->dir, "far.nc"));
  snprintf(xr, sizeof xr, "%s", cf_test_path(f->dir, "xr.nc"));

  cf_l2_set set;
  const char *ok[3] = {own, near, xr}; /* 1e-6 degree apart: 0.11 m */
  int rc = cf_l2_read_set(ctx, ok, 3, 0, 0, &set);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  assert_int_equal(set.n, 3);
  assert_close(set.files[1].latitude_deg - set.files[0].latitude_deg, 1e-6, 1e-6, 0);
  cf_l2_set_free(&set);

  const char *bad[2] = {own, far}; /* 0.01 degree: 1.1 km */
  expect_error(ctx, cf_l2_read_set(ctx, bad, 2, 0, 0, &set), CF_EDATA,
               (const char *[]){own, far, "latitude", "not from one site", NULL});
  assert_int_equal(set.n, 0);
  assert_null(set.files);
  cf_error_clear(ctx);
  /* a tolerance wider than the shift lets them through (the caller's choice) */
  assert_int_equal(cf_l2_read_set(ctx, bad, 2, 0.02, 0, &set), CF_OK);
  cf_l2_set_free(&set);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(own_file_as_netcdf4_python_reads_it),
      cmocka_unit_test(netcdf4_python_copy_packed),
      cmocka_unit_test(xarray_copy),
      cmocka_unit_test(netcdf_c_by_hand),
      cmocka_unit_test(bad_files),
      cmocka_unit_test(files_from_one_site),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
