/*
 * Winds from a low-elevation PPI sweep, end to end, as a user runs it:
 * `carbonflux simulate lidar scan=ppi ...` writes an L0 file and its truth,
 * `carbonflux lidar process` writes the L2 file, and the wind profile read
 * back with netCDF-C is compared with the simulator's wind at each level's
 * height.
 *
 * The truth. The simulator's wind is a power law with veer (sim_scene.h):
 * speed S (z / z_ref)^alpha, from-direction D0 + veer z, w constant. It is
 * restated here from the settings this test passes, and first checked
 * against the truth file's own table (every 10 m) so that the restatement
 * is the simulator's wind; it is then evaluated at the L2 levels' heights
 * (the table's 10 m spacing is too coarse to interpolate near the ground,
 * where the power law bends most: up to 0.1 m/s error at 10 m). For a
 * spectra-level file every gate's velocity is drawn at its centre, so a
 * level's truth is the wind at exactly its height.
 */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "lidar/wind.h"

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

/* the simulated wind; these go on the simulator's command line */
#define S_REF 8.0     /* m/s at Z_REF */
#define Z_REF 100.0   /* m */
#define ALPHA 0.2     /* power-law exponent */
#define FROM0 225.0   /* deg, at the surface */
#define VEER 20.0     /* deg/km */
#define W_MEAN 0.1    /* m/s */

static void truth_wind(double z, double *u, double *v) {
  double zz = z > 1.0 ? z : 1.0; /* the simulator's floor on z */
  double speed = S_REF * pow(zz / Z_REF, ALPHA), from = (FROM0 + VEER * z / 1000.0) * D2R;
  *u = -speed * sin(from); /* blowing towards from + 180 deg */
  *v = -speed * cos(from);
}

static void nc_ok(int st) {
  if (st != NC_NOERR) fprintf(stderr, "netCDF: %s\n", nc_strerror(st));
  assert_int_equal(st, NC_NOERR);
}

/* A whole variable of n values as doubles (netCDF-C converts the type). */
static double *read_var(int nc, const char *name, size_t n) {
  int id;
  nc_ok(nc_inq_varid(nc, name, &id));
  double *v = malloc(n * sizeof *v);
  assert_non_null(v);
  nc_ok(nc_get_var_double(nc, id, v));
  return v;
}

static size_t dim_len(int nc, const char *name) {
  int id;
  size_t n;
  nc_ok(nc_inq_dimid(nc, name, &id));
  nc_ok(nc_inq_dimlen(nc, id, &n));
  return n;
}

/* The truth file's wind table agrees with truth_wind() (same formula, so
 * only rounding: 1e-12 relative). */
static void check_truth_table(const char *path) {
  int nc;
  nc_ok(nc_open(path, NC_NOWRITE, &nc));
  size_t n = dim_len(nc, "height");
  double *h = read_var(nc, "height", n), *u = read_var(nc, "eastward_wind", n),
         *v = read_var(nc, "northward_wind", n);
  for (size_t i = 0; i < n; i++) {
    double tu, tv;
    truth_wind(h[i], &tu, &tv);
    assert_close(u[i], tu, 1e-12, 1e-12);
    assert_close(v[i], tv, 1e-12, 1e-12);
  }
  free(h), free(u), free(v);
  nc_close(nc);
}

static void ppi_sector_winds_match_truth(void **state) {
  fixture *f = *state;
  char args[4096];
  /* one 90 deg sector at 3 deg of 31 rays of 10 s, 40 gates of 120 m
   * (heights 9 to 254 m): under a second to simulate and process */
  snprintf(args, sizeof args,
           "-q simulate lidar -o '%s/ppi.h5' scan=ppi scans=1 rays_per_scan=31 elevation=3 az_start=0 "
           "az_end=90 ray_seconds=10 gates=40 wind_speed=%g wind_zref=%g shear_alpha=%g wind_from=%g "
           "veer=%g w=%g",
           f->dir, S_REF, Z_REF, ALPHA, FROM0, VEER, W_MEAN);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  check_truth_table(cf_test_path(f->dir, "ppi_truth.nc"));
  snprintf(args, sizeof args, "-q lidar process '%s/ppi.h5' -o '%s/ppi_l2.nc'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);

  int nc;
  nc_ok(nc_open(cf_test_path(f->dir, "ppi_l2.nc"), NC_NOWRITE, &nc));
  size_t ns = dim_len(nc, "scan"), nh = dim_len(nc, "height");
  assert_int_equal(ns, 1);
  double *h = read_var(nc, "height", nh), *u = read_var(nc, "eastward_wind", nh),
         *v = read_var(nc, "northward_wind", nh), *spd = read_var(nc, "wind_speed", nh),
         *dir = read_var(nc, "wind_from_direction", nh), *w = read_var(nc, "upward_air_velocity", nh),
         *flag = read_var(nc, "wind_flag", nh), *beams = read_var(nc, "wind_valid_beams", nh),
         *eu = read_var(nc, "eastward_wind_uncertainty", nh);
  nc_close(nc);

  int enough = 0, returned = 0;
  double se2 = 0, dmax = 0;
  for (size_t i = 0; i < nh; i++) {
    unsigned fl = (unsigned)flag[i];
    int has = beams[i] >= 4; /* the default wind_min_beams */
    enough += has;
    if (!has) continue;
    /* every level with enough beams has a wind, fitted with w fixed */
    assert_int_equal(fl & CF_WIND_REJECTED, 0);
    assert_true(fl & CF_WIND_W_FIXED);
    assert_true(w[i] == NC_FILL_FLOAT); /* w not measured: the fill, not 0 */
    returned++;
    double tu, tv;
    truth_wind(h[i], &tu, &tv);
    double ts = hypot(tu, tv), td = fmod(atan2(-tu, -tv) / D2R + 360.0, 360.0);
    double de = fabs(fmod(dir[i] - td + 540.0, 360.0) - 180.0);
    se2 += (spd[i] - ts) * (spd[i] - ts);
    if (de > dmax) dmax = de;
    if (getenv("CF_PPI_PRINT"))
      printf("  z %7.2f m  beams %2.0f  speed %.4f (truth %.4f)  dir %.3f (truth %.3f)  u %.4f +- %.4f (truth %.4f) v %.4f (truth %.4f)\n",
             h[i], beams[i], spd[i], ts, dir[i], td, u[i], eu[i], tu, v[i], tv);
  }
  double rms = sqrt(se2 / returned);
  printf("  PPI 3 deg, 90 deg sector, 10 s rays: winds at %d of %d levels with >= 4 beams (%zu levels);\n"
         "  speed RMS error %.4f m/s, max direction error %.3f deg\n",
         returned, enough, nh, rms, dmax);
  /* Most levels must have beams, or the comparison says little: in this
   * scene CNR stays usable to the last gates (40 of 40 here). */
  assert_true(enough >= 35);
  assert_int_equal(returned, enough);
  /* Targets (issue 6): speed RMS < 0.05 m/s, direction < 1 deg. Expected:
   * the reported u, v errors are 0.008-0.04 m/s, and the mean w = 0.1 m/s
   * that the fit sets to 0 adds about 1.1 w tan(3 deg) = 0.006 m/s along
   * the sector's centre line (wind.h), which is the wind's direction here;
   * so about 0.015 m/s, a third of the target. Direction: 0.01 m/s across
   * 5-10 m/s is 0.1 deg. */
  assert_true(rms < 0.05);
  assert_true(dmax < 1.0);
  free(h), free(u), free(v), free(spd), free(dir), free(w), free(flag), free(beams), free(eu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ppi_sector_winds_match_truth, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
