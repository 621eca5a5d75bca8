/*
 * The WindCube reader (ingest/windcube.h) on the six real WLS200s files in
 * ../shared/data/windcube, and the wind fit on their six rays.
 *
 * Expected file facts are what `ncdump` shows (quoted next to each value),
 * not what the reader returns. The real scan has no ground truth, so the
 * fit is checked for internal consistency by means independent of it: its
 * (u, v, w) against the normal equations solved here by Cramer's rule and
 * against the first-harmonic closed form of the five equally spaced slanted
 * beams, its RMSE against residuals recomputed here, and physical bounds.
 * Bad files are written here with netcdf.h.
 */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/windcube.h"
#include "lidar/wind.h"

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)
#define DIR CF_SHARED_DATA "/windcube/"

/* In time order. Per file, from `ncdump -v azimuth,elevation,range,time`
 * and the group name from `ncdump -v sweep_group_name`. */
static const struct {
  const char *name, *group;
  double azimuth, elevation; /* "azimuth = 215.999 ;", "elevation = 75 ;" */
  int n_gates;               /* "range = 137 ;" (dimension) */
  double range0, range_step; /* "range = 104, 156, ..." */
  double time;               /* "time = 1620907203.719 ;" */
  int n_valid;               /* see valid_counts_from_ncdump */
  double vr0, cnr0;          /* first values of radial_wind_speed and cnr */
} FILES[6] = {
    {"WLS200s-218_2021-05-13_12-00-03_fixed_385_50m.nc", "Sweep_410735", 215.999, 75, 137, 104, 52,
     1620907203.719, 32, 1.8, -21.32},
    {"WLS200s-218_2021-05-13_12-00-08_fixed_381_50m.nc", "Sweep_410736", 288, 75, 137, 104, 52,
     1620907208.976, 56, 1.72, -22.37},
    {"WLS200s-218_2021-05-13_12-00-14_fixed_399_50m.nc", "Sweep_410737", 0, 90, 143, 100, 50,
     1620907214.748, 33, 1.05, -19.68},
    {"WLS200s-218_2021-05-13_12-00-18_fixed_377_50m.nc", "Sweep_410738", 0, 75, 137, 104, 52,
     1620907218.11, 55, 0.55, -19.67},
    {"WLS200s-218_2021-05-13_12-00-23_fixed_393_50m.nc", "Sweep_410739", 72, 75, 137, 104, 52,
     1620907223.45, 53, 0.88, -22.22},
    {"WLS200s-218_2021-05-13_12-00-28_fixed_389_50m.nc", "Sweep_410740", 144, 75, 137, 104, 52,
     1620907228.707, 60, 1.68, -20.15},
};
/* valid_counts_from_ncdump: gates with cnr >= -27 dB and
 * radial_wind_speed_status == 1, counted in the `ncdump -p 9,17` text of
 * each file (no gate has cnr exactly -27; every gate with cnr >= -27 also
 * has status 1, and 3 to 9 gates per file have status 1 below -27 dB). */

static const char *path_of(int i) {
  static char buf[6][1024];
  snprintf(buf[i], sizeof buf[i], "%s%s", DIR, FILES[i].name);
  return buf[i];
}

static void real_files_match_ncdump(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  for (int i = 0; i < 6; i++) {
    cf_windcube_file f;
    int rc = cf_windcube_read(ctx, path_of(i), NULL, &f);
    if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
    assert_int_equal(rc, CF_OK);
    assert_string_equal(f.sweep_group, FILES[i].group);
    assert_string_equal(f.instrument_name, "WLS200s-218"); /* :instrument_name */
    assert_string_equal(f.sweep_mode, "fixed");            /* sweep_mode = "fixed" */
    assert_string_equal(f.time_reference, "1970-01-01T00:00:00Z");
    assert_int_equal(f.n_rays, 1); /* time = 1 */
    assert_int_equal(f.n_gates, FILES[i].n_gates);
    /* decimal values as printed by ncdump; doubles in the file */
    assert_close(f.azimuth_deg[0], FILES[i].azimuth, 1e-12, 0);
    assert_close(f.elevation_deg[0], FILES[i].elevation, 1e-12, 0);
    for (int g = 0; g < f.n_gates; g++) /* ints in the file: exact */
      assert_close(f.range_m[g], FILES[i].range0 + g * FILES[i].range_step, 0, 0);
    /* the reference is the epoch, so time is unchanged: 1.6e9 s in a double
     * keeps 0.2 us */
    assert_close(f.time_end[0], FILES[i].time, 0, 1e-6);
    assert_int_equal(f.has_accumulation, 1); /* ray_accumulation_time = 2000 (ms) */
    assert_close(f.accumulation_s, 2.0, 0, 0);
    assert_close(f.time_mid[0], FILES[i].time - 1.0, 0, 1e-6);
    assert_int_equal(f.has_gate_length, 1); /* range_gate_length = 50 */
    assert_close(f.gate_length_m, 50, 0, 0);
    /* only the first file knows the site ("latitude = 51.96835 ;",
     * "longitude = 4.929207 ;"); the other five print "latitude = _ ;" (the
     * NaN fill), and no file has an altitude ("altitude = _ ;") */
    assert_int_equal(f.has_latitude, i == 0);
    assert_int_equal(f.has_longitude, i == 0);
    if (i == 0) {
      assert_close(f.latitude_deg, 51.96835, 0, 1e-12);
      assert_close(f.longitude_deg, 4.929207, 0, 1e-12);
    } else {
      assert_true(isnan(f.latitude_deg) && isnan(f.longitude_deg));
    }
    assert_int_equal(f.has_altitude, 0);
    assert_true(isnan(f.altitude_m));
    assert_int_equal(f.sign_flipped, 0); /* standard_name: ..._away_from_instrument */
    assert_close(f.radial_velocity[0], FILES[i].vr0, 0, 1e-12);
    assert_close(f.cnr_db[0], FILES[i].cnr0, 0, 1e-12);
    assert_non_null(f.ci_percent);
    assert_non_null(f.spectrum_width);
    assert_non_null(f.relative_beta);
    assert_non_null(f.status);
    assert_int_equal(f.n_valid, FILES[i].n_valid);
    if (i == 0) {
      /* first file's first gate: ci 100, width 0.91, beta 1.01e-07;
       * gate 30: cnr -28.26 but status 1 (masked by the CNR rule);
       * gate 29: cnr -0.78 (cloud), kept */
      assert_close(f.ci_percent[0], 100, 0, 0);
      assert_close(f.spectrum_width[0], 0.91, 0, 1e-12);
      assert_close(f.relative_beta[0], 1.01e-07, 1e-12, 0);
      assert_int_equal(f.status[30], 1);
      assert_int_equal(f.valid[30], 0);
      assert_int_equal(f.valid[29], 1);
    }
    cf_windcube_free(&f);
  }
  /* 1620907203 s is 2021-05-13 12:00:03 UTC (date -u -d @1620907203), the
   * time in the first file's name and its timestamp "2021-05-13T12:00:03.719Z" */
  assert_close(18760.0 * 86400 + 12 * 3600 + 3.719, FILES[0].time, 0, 1e-6);

  /* the CNR threshold is a setting: at -40 dB only status and NaN mask */
  cf_windcube_opts o;
  cf_windcube_opts_default(&o);
  o.cnr_min_db = -40;
  cf_windcube_file f;
  assert_int_equal(cf_windcube_read(ctx, path_of(0), &o, &f), CF_OK);
  assert_int_equal(f.n_valid, 37); /* status == 1 on 37 gates of the first file */
  cf_windcube_free(&f);
  cf_ctx_destroy(ctx);
}

/* --- the wind fit on the real six rays --------------------------------------- */

/* 3x3 determinant, for Cramer's rule */
static double det3(const double m[3][3]) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

static void six_rays_fit_is_consistent(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const char *paths[6];
  for (int i = 0; i < 6; i++) paths[i] = path_of(i);
  cf_windcube_scan wc;
  int rc = cf_windcube_read_scan(ctx, paths, 6, NULL, &wc);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  assert_int_equal(wc.n_rays, 6);
  assert_close(wc.time_first, FILES[0].time - 1, 0, 1e-6);
  assert_close(wc.time_last, FILES[5].time - 1, 0, 1e-6);
  assert_int_equal(wc.has_site, 1); /* from the first file, the only one with a site */
  assert_close(wc.latitude_deg, 51.96835, 0, 1e-12);

  cf_wind_ray rays[6];
  cf_wind_scan scan;
  assert_int_equal(cf_wind_rays_from_windcube(ctx, &wc, rays, 6, &scan), CF_OK);
  /* levels: the 75-degree gate heights (all five slanted rays share them) */
  double h[137];
  assert_int_equal(cf_wind_levels_from_ray(ctx, &rays[0], h, 137), CF_OK);
  size_t nw;
  assert_int_equal(cf_wind_work_size(ctx, &scan, 0, &nw), CF_OK);
  double *work = malloc(nw * sizeof *work);
  cf_wind_level out[137];
  assert_int_equal(cf_wind_fit(ctx, NULL, &scan, h, 137, work, nw, out), CF_OK);

  int printing = getenv("CF_WIND_PRINT") != NULL, n_ok = 0, n_six = 0;
  if (printing)
    printf("  height_m speed_m/s dir_deg  w_m/s   rmse_m/s  n  (+-1 sigma: speed dir w)\n");
  double max_ratio = 0;
  for (int l = 0; l < 137; l++) {
    /* which gates enter, by our own matching: slanted rays give gate l (same
     * grid), the vertical ray (index 2) its nearest gate within half its
     * 50 m spacing */
    int gate[6], m = 0;
    for (int r = 0; r < 6; r++) {
      const cf_windcube_file *f = &wc.files[r];
      int g = l;
      if (r == 2) {
        g = (int)floor((h[l] - 100) / 50 + 0.5);
        if (g < 0 || g >= f->n_gates || fabs(100 + 50.0 * g - h[l]) > 25) g = -1;
      }
      gate[r] = g >= 0 && f->valid[g] ? g : -1;
      m += gate[r] >= 0;
    }
    assert_int_equal(out[l].n_beams, m);
    if (m < 4) {
      assert_true(out[l].flags & CF_WIND_FEW_BEAMS);
      continue;
    }
    /* the 6-beam geometry is well conditioned (about 6, wind.h): a level
     * with 4+ beams is accepted */
    assert_int_equal(out[l].flags & CF_WIND_REJECTED, 0);
    assert_true(out[l].flags & CF_WIND_SIGMA_UNKNOWN); /* WindCube: no sigma */
    n_ok++;

    /* normal equations (A^T A) x = A^T y with equal weights, by Cramer */
    double ata[3][3] = {{0}}, aty[3] = {0}, row[6][3], y[6];
    int k = 0;
    for (int r = 0; r < 6; r++) {
      if (gate[r] < 0) continue;
      double az = wc.files[r].azimuth_deg[0] * D2R, el = wc.files[r].elevation_deg[0] * D2R;
      row[k][0] = sin(az) * cos(el);
      row[k][1] = cos(az) * cos(el);
      row[k][2] = sin(el);
      y[k] = wc.files[r].radial_velocity[gate[r]];
      for (int i = 0; i < 3; i++) {
        aty[i] += row[k][i] * y[k];
        for (int j = 0; j < 3; j++) ata[i][j] += row[k][i] * row[k][j];
      }
      k++;
    }
    double d = det3(ata), x[3];
    for (int c = 0; c < 3; c++) {
      double mc[3][3];
      memcpy(mc, ata, sizeof mc);
      for (int i = 0; i < 3; i++) mc[i][c] = aty[i];
      x[c] = det3(mc) / d;
    }
    /* two exact solutions of one problem; the normal equations square the
     * condition number (about 6^2), so agreement to 1e-10 m/s on values of
     * a few m/s is rounding */
    assert_close(out[l].u, x[0], 0, 1e-10);
    assert_close(out[l].v, x[1], 0, 1e-10);
    assert_close(out[l].w, x[2], 0, 1e-10);

    /* residuals reconstructed from the fitted (u, v, w): their RMS is the
     * reported RMSE, and no ray's residual exceeds sqrt(n) RMSE (which holds
     * for any fit: max r^2 <= sum r^2 = n RMSE^2) */
    double rss = 0, rmax = 0;
    for (int i = 0; i < k; i++) {
      double r = y[i] - (row[i][0] * out[l].u + row[i][1] * out[l].v + row[i][2] * out[l].w);
      rss += r * r;
      rmax = fmax(rmax, fabs(r));
    }
    assert_close(out[l].rmse, sqrt(rss / k), 1e-9, 1e-12);
    assert_true(rmax <= sqrt((double)k) * out[l].rmse * (1 + 1e-12));
    if (out[l].rmse > 0) max_ratio = fmax(max_ratio, rmax / out[l].rmse);

    /* physical bounds: a boundary-layer wind at noon, not noise (|v_r| of
     * noise gates reaches 32 m/s) */
    assert_true(out[l].speed < 30);
    assert_true(fabs(out[l].w) < 5);
    assert_true(out[l].direction_deg >= 0 && out[l].direction_deg < 360);
    assert_true(isfinite(out[l].u_err) && out[l].u_err >= 0);

    /* all six beams: the five slanted azimuths are 72 deg apart, so
     * u = 2/(5 cos el) sum v_r sin(az), v likewise with cos (the first
     * Fourier harmonic; the w column is orthogonal to both). The 216-degree
     * beam is really at 215.999 deg (1.7e-5 rad off): a difference of order
     * 1.7e-5 |v_r| / cos(75) < 1e-3 m/s for |v_r| < 10 m/s */
    if (m == 6) {
      double su = 0, sv = 0;
      for (int r = 0; r < 6; r++) {
        if (r == 2) continue;
        double az = wc.files[r].azimuth_deg[0] * D2R;
        su += wc.files[r].radial_velocity[l] * sin(az);
        sv += wc.files[r].radial_velocity[l] * cos(az);
      }
      double ce = cos(75 * D2R);
      assert_close(out[l].u, 2 * su / (5 * ce), 0, 1e-3);
      assert_close(out[l].v, 2 * sv / (5 * ce), 0, 1e-3);
      n_six++;
    }
    if (printing && n_ok <= 40)
      printf("  %8.1f %8.2f %8.1f %7.2f %9.2f  %d  (%.2f %.1f %.2f)\n", out[l].height_m,
             out[l].speed, out[l].direction_deg, out[l].w, out[l].rmse, out[l].n_beams,
             out[l].speed_err, out[l].direction_err_deg, out[l].w_err);
  }
  printf("  %d valid levels (%d with all six beams); max |residual| / RMSE = %.2f\n", n_ok, n_six,
         max_ratio);
  /* valid gates reach gate 29-35 on every ray (cloud base near 1.45 km) */
  assert_true(n_ok >= 30);
  assert_true(n_six >= 25);
  free(work);
  cf_windcube_scan_free(&wc);
  cf_ctx_destroy(ctx);
}

/* --- crafted files ----------------------------------------------------------- */

typedef enum {
  OK_AWAY,
  OK_TOWARD,
  NO_VR,
  NAN_AZ,
  VR_DIMS,
  NO_SWEEP_NAME,
  OTHER_INSTRUMENT
} fake_kind;

static void nc_ok(int st) {
  if (st != NC_NOERR) fprintf(stderr, "netCDF: %s\n", nc_strerror(st));
  assert_int_equal(st, NC_NOERR);
}

static void put_text(int nc, int var, const char *name, const char *text) {
  nc_ok(nc_put_att_text(nc, var, name, strlen(text), text));
}

/* A small WindCube-shaped file: one ray of 4 gates. */
static void write_fake(const char *path, fake_kind kind) {
  int nc, grp, d_sweep, d_time, d_range, v;
  nc_ok(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
  const char *inst = kind == OTHER_INSTRUMENT ? "OTHER-1" : "WLS200s-218";
  nc_ok(nc_put_att_text(nc, NC_GLOBAL, "instrument_name", strlen(inst), inst));
  nc_ok(nc_def_dim(nc, "sweep", 1, &d_sweep));
  if (kind != NO_SWEEP_NAME) {
    nc_ok(nc_def_var(nc, "sweep_group_name", NC_STRING, 1, &d_sweep, &v));
    const char *name = "Sweep_7";
    nc_ok(nc_put_var_string(nc, v, &name));
  }
  double lat = 51.96835, lon = 4.929207;
  nc_ok(nc_def_var(nc, "latitude", NC_DOUBLE, 0, NULL, &v));
  nc_ok(nc_put_var_double(nc, v, &lat));
  nc_ok(nc_def_var(nc, "longitude", NC_DOUBLE, 0, NULL, &v));
  nc_ok(nc_put_var_double(nc, v, &lon));

  nc_ok(nc_def_grp(nc, "Sweep_7", &grp));
  nc_ok(nc_def_dim(grp, "time", 1, &d_time));
  nc_ok(nc_def_dim(grp, "range", 4, &d_range));
  int d2[2] = {d_time, d_range};
  double t = 1620907200.5, az = kind == NAN_AZ ? NAN : 90, el = 75;
  const char *ref = "1970-01-01T00:00:00Z";
  nc_ok(nc_def_var(grp, "time_reference", NC_STRING, 0, NULL, &v));
  nc_ok(nc_put_var_string(grp, v, &ref));
  nc_ok(nc_def_var(grp, "time", NC_DOUBLE, 1, &d_time, &v));
  put_text(grp, v, "units", "seconds since time_reference");
  nc_ok(nc_put_var_double(grp, v, &t));
  nc_ok(nc_def_var(grp, "azimuth", NC_DOUBLE, 1, &d_time, &v));
  put_text(grp, v, "units", "degrees");
  nc_ok(nc_put_var_double(grp, v, &az));
  nc_ok(nc_def_var(grp, "elevation", NC_DOUBLE, 1, &d_time, &v));
  put_text(grp, v, "units", "degrees");
  nc_ok(nc_put_var_double(grp, v, &el));
  int range[4] = {104, 156, 208, 260};
  nc_ok(nc_def_var(grp, "range", NC_INT, 1, &d_range, &v));
  put_text(grp, v, "units", "m");
  nc_ok(nc_put_var_int(grp, v, range));
  double vr[4] = {1.5, -2.0, 0.25, 3.0}, cnr[4] = {-20, -25, -30, -26};
  if (kind != NO_VR) {
    const char *sn = kind == OK_TOWARD ? "radial_velocity_of_scatterers_toward_instrument"
                                       : "radial_velocity_of_scatterers_away_from_instrument";
    if (kind == VR_DIMS)
      nc_ok(nc_def_var(grp, "radial_wind_speed", NC_DOUBLE, 1, &d_range, &v));
    else
      nc_ok(nc_def_var(grp, "radial_wind_speed", NC_DOUBLE, 2, d2, &v));
    put_text(grp, v, "units", "m s-1");
    nc_ok(nc_put_att_text(grp, v, "standard_name", strlen(sn), sn));
    nc_ok(nc_put_var_double(grp, v, vr));
  }
  nc_ok(nc_def_var(grp, "cnr", NC_DOUBLE, 2, d2, &v));
  put_text(grp, v, "units", "dB");
  nc_ok(nc_put_var_double(grp, v, cnr));
  nc_ok(nc_close(nc));
}

/* The error chain's innermost frame must name the file and the variable. */
static void expect_error(cf_ctx *ctx, const char *path, int code, const char *field,
                         const char *in_reason) {
  cf_windcube_file f;
  int rc = cf_windcube_read(ctx, path, NULL, &f);
  assert_int_equal(rc, code);
  const cf_error_frame *e = cf_error_get(ctx, 0);
  assert_non_null(e);
  assert_string_equal(e->where, path);
  assert_string_equal(e->field, field);
  if (in_reason && !strstr(e->reason, in_reason)) {
    fprintf(stderr, "reason '%s' lacks '%s'\n", e->reason, in_reason);
    fail();
  }
  assert_null(f.radial_velocity); /* nothing left allocated */
  cf_error_clear(ctx);
}

static void crafted_files(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  const char *p = cf_test_path(dir, "fake.nc");

  write_fake(p, NO_VR);
  expect_error(ctx, p, CF_EDATA, "radial_wind_speed", "missing variable");
  write_fake(p, NAN_AZ);
  expect_error(ctx, p, CF_EDATA, "azimuth", "non-finite");
  write_fake(p, VR_DIMS);
  expect_error(ctx, p, CF_EDATA, "radial_wind_speed", "wrong dimensions");
  write_fake(p, NO_SWEEP_NAME);
  expect_error(ctx, p, CF_EDATA, "sweep_group_name", "missing");
  expect_error(ctx, cf_test_path(dir, "absent.nc"), CF_ENOENT, "", NULL);
  cf_test_write_text(p, "not netCDF at all\n");
  expect_error(ctx, p, CF_EDATA, "", "not a netCDF file");

  /* a file that says "toward": velocities come out negated, i.e. away */
  write_fake(p, OK_TOWARD);
  cf_windcube_file f;
  assert_int_equal(cf_windcube_read(ctx, p, NULL, &f), CF_OK);
  assert_int_equal(f.sign_flipped, 1);
  const double written[4] = {1.5, -2.0, 0.25, 3.0};
  for (int g = 0; g < 4; g++) assert_close(f.radial_velocity[g], -written[g], 0, 0);
  /* cnr -20, -25, -30, -26 dB against -27: the third gate is masked */
  assert_int_equal(f.n_valid, 3);
  assert_int_equal(f.valid[2], 0);
  assert_null(f.status); /* optional variables absent: NULL, not invented */
  assert_null(f.ci_percent);
  /* no ray_accumulation_time: mid-time is the file's time */
  assert_int_equal(f.has_accumulation, 0);
  assert_close(f.time_mid[0], 1620907200.5, 0, 0);
  cf_windcube_free(&f);

  /* a scan mixing instruments is refused, naming the odd file */
  const char *q = cf_test_path(dir, "other.nc");
  write_fake(q, OTHER_INSTRUMENT);
  const char *paths[2] = {path_of(0), q};
  cf_windcube_scan wc;
  assert_int_equal(cf_windcube_read_scan(ctx, paths, 2, NULL, &wc), CF_EDATA);
  assert_string_equal(cf_error_get(ctx, 0)->where, q);
  assert_string_equal(cf_error_get(ctx, 0)->field, "instrument_name");
  assert_int_equal(wc.n_files, 0);
  cf_error_clear(ctx);

  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(real_files_match_ncdump),
      cmocka_unit_test(six_rays_fit_is_consistent),
      cmocka_unit_test(crafted_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
