/*
 * The flux truth simulator (lidar/flux/sim_flux.h).
 *
 * (1) Its L2 file passes ingest/lidar_l2.h's reader, and netCDF4-python
 *     (/usr/bin/python3) reads the same values: sums and counts of every
 *     per-gate variable and the wind profiles agree to 1e-12 relative (both
 *     read the same float32 numbers; only the order of the double sums
 *     differs, ~1e-16 per term).
 * (2) Mass conservation of the puffs: no meander, a 50 t/h stack at the
 *     site, a curtain 3 km downwind: u n_air Int Int (chi - bg) dy dz must
 *     give back 50 t/h. Expected error: trapezoid rules on Gaussians with
 *     steps under sigma/10 are exact to far below 1e-6; the along-wind
 *     ripple of discrete puffs 50 m apart with sigma_h ~ 255 m is
 *     ~2 exp(-2 pi^2 (255/50)^2) ~ 0; the 6-sigma cut loses 1.5e-8; the
 *     image series to |k| <= 4 is complete inside the BL. The widths of the
 *     puffs crossing the curtain differ (ages 560..640 s), a second-order
 *     effect of (d sigma / dx)^2 ~ 1e-4. Tolerance 1e-3.
 * (3) The OU meander: 2e5 steps of 1 s, sigma 8 deg, tau 60 s. Standard
 *     deviation: ~T/(2 tau) = 1667 independent samples, relative SE
 *     1/sqrt(2 x 1667) = 1.7 %: tolerance 7 % (4 SE). tau from the lag-1
 *     autocorrelation rho1 = exp(-1/tau): SE(rho1) = sqrt((1-rho1^2)/N) =
 *     4.1e-4, i.e. 2.5 % of tau: tolerance 10 %. Autocorrelation at lag tau
 *     vs exp(-1): Bartlett SE ~ sqrt((1+rho1^2)/((1-rho1^2) N)) = 0.017:
 *     tolerance 0.07. Mean vs wind_from: SE = sigma sqrt(2 tau / T) = 0.2 deg:
 *     tolerance 1 deg.
 * (4) Determinism: one seed, 1 and 2 threads: identical arrays (bitwise);
 *     another seed: the CO2 arrays differ.
 * (5) The benchmark scene: the sources and rates, positions and
 *     areas (geodesic placement: positions exact to 1 mm, areas of the
 *     geodesic squares within 0.5 %).
 * (6) Noise-free files hold exactly background + puff sum at each gate
 *     (the simulator's ray-wise sum against the model evaluated here).
 * Also in (1): radial velocities against the true wind, and the truth
 * JSON read by python.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/flux_sources.h"
#include "ingest/lidar_l2.h"
#include "lidar/flux/geometry.h"
#include "lidar/flux/sim_flux.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-netcdf4 */

static void set(cf_ctx *ctx, cf_simflux_config *c, const char *kv) { assert_int_equal(cf_simflux_set(ctx, c, kv), CF_OK); }

/* a small, quick configuration around one stack 3.7 km west of the site */
static void small_config(cf_ctx *ctx, cf_simflux_config *c) {
  cf_simflux_defaults(c);
  set(ctx, c, "scans=3");
  set(ctx, c, "rays=24");
  set(ctx, c, "gates=40");
  set(ctx, c, "spinup_s=1800");
  set(ctx, c, "missing_ray=0.1");
  set(ctx, c, "spike_prob=0.01");
}

static const char *stack_geojson =
    "{\"type\": \"FeatureCollection\", \"features\": [\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"S1\", \"kind\": \"point\", \"height_m\": 80, "
    "\"prior_t_per_h\": 60, \"prior_sigma_t_per_h\": 30}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [10.95, 48.0]}},\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"A1\", \"kind\": \"area\", \"height_m\": 0, "
    "\"prior_t_per_h\": 20, \"prior_sigma_t_per_h\": 10}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
    "[[[10.93, 48.01], [10.96, 48.01], [10.96, 48.03], [10.93, 48.03], [10.93, 48.01]]]}}\n"
    "]}\n";

static double sum_finite(const double *a, size_t n, size_t *count) {
  double s = 0;
  *count = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(a[i])) s += a[i], (*count)++;
  return s;
}

static void test_l2_readers(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char src[1200], out[1200], truth[1200], pyout[1200], cmd[6000];
  snprintf(src, sizeof src, "%s/src.geojson", dir);
  snprintf(out, sizeof out, "%s/l2.nc", dir);
  snprintf(truth, sizeof truth, "%s/truth.json", dir);
  snprintf(pyout, sizeof pyout, "%s/py.txt", dir);
  cf_test_write_text(src, stack_geojson);
  cf_simflux_config c;
  small_config(ctx, &c);
  assert_int_equal(cf_simulate_flux(ctx, &c, src, out, truth), CF_OK);
  assert_true(cf_test_file_contains(truth, "\"rate_t_per_h\": 60"));
  assert_true(cf_test_file_contains(truth, "\"seed\": 1"));
  cf_l2 l2;
  assert_int_equal(cf_l2_read(ctx, out, &l2), CF_OK);
  assert_int_equal(l2.n_rays, 3 * 24);
  assert_int_equal(l2.n_gates, 40);
  assert_int_equal(l2.n_scans, 3);
  assert_int_equal(l2.n_heights, 10);
  assert_close(l2.latitude_deg, 48.0, 0, 1e-12);
  assert_close(l2.longitude_deg, 11.0, 0, 1e-12);
  assert_close(l2.range_m[0], 300.0, 0, 1e-9);
  assert_close(l2.range_m[39], 300.0 + 39 * 150.0, 0, 1e-9);
  assert_close(l2.elevation_deg[0], 2.0, 0, 1e-6);
  assert_close(l2.elevation_deg[24], 5.0, 0, 1e-6);
  assert_close(l2.elevation_deg[48], 10.0, 0, 1e-6);
  assert_int_equal(l2.scan_id[30], 1);
  size_t ng = (size_t)l2.n_rays * l2.n_gates, nw = (size_t)l2.n_scans * l2.n_heights;
  /* a masked (missing) ray is masked in every per-gate variable, flagged */
  for (size_t i = 0; i < ng; i++)
    if (isnan(l2.co2_mole_fraction[i])) {
      assert_true(isnan(l2.radial_velocity[i]));
      assert_int_not_equal(l2.qc_flag[i], 0);
    }
  /* netCDF4-python on the same file */
  snprintf(cmd, sizeof cmd,
           "%s -c \"import netCDF4, numpy as np\n"
           "d = netCDF4.Dataset('%s')\n"
           "f = open('%s', 'w')\n"
           "for v in ['co2_mole_fraction', 'co2_mole_fraction_uncertainty', 'co2_number_density', 'radial_velocity',"
           " 'cnr_on', 'azimuth', 'time', 'eastward_wind', 'wind_from_direction', 'wind_valid_beams', 'scan_time']:\n"
           "    x = np.ma.masked_invalid(np.ma.asarray(d[v][:], dtype='f8'))\n"
           "    f.write('%%s %%d %%r\\n' %% (v, x.count(), float(x.sum())))\n"
           "f.write('latitude 1 %%r\\n' %% float(d['latitude'][...]))\n"
           "f.write('qc 1 %%r\\n' %% float((np.asarray(d['qc_flag'][:]) != 0).sum()))\n\"",
           PYTHON, out, pyout);
  assert_int_equal(system(cmd), 0);
  FILE *f = fopen(pyout, "r");
  assert_non_null(f);
  const struct {
    const char *name;
    const double *a;
    size_t n;
  } v[] = {{"co2_mole_fraction", l2.co2_mole_fraction, ng},
           {"co2_mole_fraction_uncertainty", l2.co2_mole_fraction_uncertainty, ng},
           {"co2_number_density", l2.co2_number_density, ng},
           {"radial_velocity", l2.radial_velocity, ng},
           {"cnr_on", l2.cnr_on, ng},
           {"azimuth", l2.azimuth_deg, (size_t)l2.n_rays},
           {"time", l2.time, (size_t)l2.n_rays},
           {"eastward_wind", l2.eastward_wind, nw},
           {"wind_from_direction", l2.wind_from_direction, nw},
           {"wind_valid_beams", l2.wind_valid_beams, nw},
           {"scan_time", l2.scan_time, (size_t)l2.n_scans}};
  for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
    char name[128];
    long cnt;
    double s;
    assert_int_equal(fscanf(f, "%127s %ld %lf", name, &cnt, &s), 3);
    assert_string_equal(name, v[k].name);
    size_t n;
    double mine = sum_finite(v[k].a, v[k].n, &n);
    assert_int_equal((long)n, cnt);
    assert_close(mine, s, 1e-12, 0);
  }
  char name[128];
  long cnt;
  double s;
  assert_int_equal(fscanf(f, "%127s %ld %lf", name, &cnt, &s), 3);
  assert_close(l2.latitude_deg, s, 0, 0);
  assert_int_equal(fscanf(f, "%127s %ld %lf", name, &cnt, &s), 3);
  double bad = 0;
  for (size_t i = 0; i < ng; i++) bad += l2.qc_flag[i] != 0;
  assert_close(bad, s, 0, 0);
  fclose(f);
  /* radial velocities: the true instantaneous wind on the beam plus
   * N(0, vr_noise = 0.2 m/s). Over the ~2500 good gates the mean residual
   * has SE 0.2/50 = 0.004 m/s (tolerance 0.02) and the standard deviation a
   * relative SE of 1/sqrt(2 x 2500) = 1.4 % (tolerance 6 %). */
  {
    cf_flux_sources fs;
    assert_int_equal(cf_flux_sources_read(ctx, src, NULL, &fs), CF_OK);
    cf_simflux_model *m;
    assert_int_equal(cf_simflux_model_create(ctx, &c, &fs, c.t0 + c.scans * c.sweep_seconds, &m), CF_OK);
    double s1 = 0, s2 = 0;
    size_t n = 0;
    for (int r = 0; r < l2.n_rays; r++) {
      double u, vv;
      cf_simflux_wind(m, l2.time[r], &u, &vv);
      double a = l2.azimuth_deg[r] * 3.14159265358979323846 / 180, e = l2.elevation_deg[r] * 3.14159265358979323846 / 180;
      double want = (u * sin(a) + vv * cos(a)) * cos(e);
      for (int g = 0; g < l2.n_gates; g++) {
        double x = l2.radial_velocity[(size_t)r * l2.n_gates + g];
        if (!isfinite(x)) continue;
        s1 += x - want, s2 += (x - want) * (x - want), n++;
      }
    }
    double mean = s1 / n, sd = sqrt(s2 / n - mean * mean);
    print_message("radial velocity residual: mean %.4f sd %.4f over %zu gates\n", mean, sd, n);
    assert_true(n > 2000);
    assert_close(mean, 0.0, 0, 0.02);
    assert_close(sd, 0.2, 0.06, 0);
    cf_simflux_model_free(m);
    cf_flux_sources_free(&fs);
  }
  /* the truth file is JSON with the true rates */
  snprintf(cmd, sizeof cmd,
           "%s -c \"import json; t = json.load(open('%s')); r = {s['name']: s['rate_t_per_h'] for s in t['sources']};"
           " assert r == {'S1': 60, 'A1': 20}, r; assert t['seed'] == 1\"",
           PYTHON, truth);
  assert_int_equal(system(cmd), 0);
  /* the observations: every good gate, about 420 ppm plus plumes */
  cf_l2_obs *obs;
  size_t nobs;
  assert_int_equal(cf_l2_observations(ctx, &l2, &obs, &nobs), CF_OK);
  assert_true(nobs > ng / 2);
  free(obs);
  cf_l2_free(&l2);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void test_mass_conservation(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_simflux_config c;
  cf_simflux_defaults(&c);
  set(ctx, &c, "meander_sigma=0");
  set(ctx, &c, "wind_from=270");
  cf_flux_source s;
  memset(&s, 0, sizeof s);
  s.name = "S";
  s.kind = CF_SOURCE_POINT;
  s.height_m = 100;
  s.prior_t_per_h = 50;
  s.prior_sigma_t_per_h = 10;
  s.lon = c.lon, s.lat = c.lat;
  cf_flux_sources src = {.n = 1, .src = &s};
  cf_simflux_model *m;
  assert_int_equal(cf_simflux_model_create(ctx, &c, &src, c.t0 + 10, &m), CF_OK);
  double u, v;
  cf_simflux_wind(m, c.t0, &u, &v);
  assert_close(u, 5.0, 0, 1e-12); /* from the west: towards east */
  assert_close(v, 0.0, 0, 1e-12);
  const double x = 3000, L = 2000, dy = 10, dz = 5, zi = c.bl_height;
  double integral = 0;
  for (double y = -L; y <= L + 1e-9; y += dy) {
    double wy = (fabs(fabs(y) - L) < 1e-9) ? 0.5 : 1.0, col = 0;
    for (double z = 0; z <= zi + 1e-9; z += dz) {
      double wz = (z < 1e-9 || fabs(z - zi) < 1e-9) ? 0.5 : 1.0;
      col += wz * cf_simflux_excess_ppm(m, c.t0, x, y, z) * dz;
    }
    integral += wy * col * dy;
  }
  double mol_s = u * cf_simflux_n_air(&c) * integral * 1e-6;
  double t_h = mol_s * CF_SIMFLUX_T_PER_H_PER_MOL_S;
  print_message("curtain at %g m: %.6f t/h for 50 t/h\n", x, t_h);
  assert_close(t_h, 50.0, 1e-3, 0);
  /* nothing upwind */
  assert_close(cf_simflux_excess_ppm(m, c.t0, -3000, 0, 100), 0.0, 0, 1e-12);
  cf_simflux_model_free(m);
  cf_ctx_destroy(ctx);
}

static void test_meander(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_simflux_config c;
  cf_simflux_defaults(&c);
  set(ctx, &c, "meander_sigma=8");
  set(ctx, &c, "meander_tau=60");
  set(ctx, &c, "wind_from=250");
  const int n = 200000, lag = 60;
  double *d = malloc((size_t)n * sizeof *d);
  assert_non_null(d);
  assert_int_equal(cf_simflux_direction_series(ctx, &c, 1.0, n, d), CF_OK);
  double mean = 0;
  for (int i = 0; i < n; i++) mean += d[i];
  mean /= n;
  double c0 = 0, c1 = 0, cl = 0;
  for (int i = 0; i < n; i++) c0 += (d[i] - mean) * (d[i] - mean);
  for (int i = 1; i < n; i++) c1 += (d[i] - mean) * (d[i - 1] - mean);
  for (int i = lag; i < n; i++) cl += (d[i] - mean) * (d[i - lag] - mean);
  double sd = sqrt(c0 / n), rho1 = c1 / c0, rhol = cl / c0, tau = -1.0 / log(rho1);
  print_message("mean %.3f sd %.3f tau %.2f rho(60) %.3f\n", mean, sd, tau, rhol);
  assert_close(mean, 250.0, 0, 1.0);
  assert_close(sd, 8.0, 0.07, 0);
  assert_close(tau, 60.0, 0.10, 0);
  assert_close(rhol, exp(-1.0), 0, 0.07);
  /* the same seed gives the same series; another seed another */
  double *e = malloc((size_t)1000 * sizeof *e);
  assert_non_null(e);
  assert_int_equal(cf_simflux_direction_series(ctx, &c, 1.0, 1000, e), CF_OK);
  assert_memory_equal(d, e, 1000 * sizeof *e);
  set(ctx, &c, "seed=2");
  assert_int_equal(cf_simflux_direction_series(ctx, &c, 1.0, 1000, e), CF_OK);
  assert_memory_not_equal(d, e, 1000 * sizeof *e);
  free(d);
  free(e);
  cf_ctx_destroy(ctx);
}

static void test_determinism(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char src[1200], out[3][1200];
  snprintf(src, sizeof src, "%s/src.geojson", dir);
  cf_test_write_text(src, stack_geojson);
  cf_simflux_config c;
  small_config(ctx, &c);
  cf_l2 l2[3];
  for (int k = 0; k < 3; k++) {
    snprintf(out[k], sizeof out[k], "%s/l2_%d.nc", dir, k);
    cf_set_threads(ctx, k == 1 ? 2 : 1);
    if (k == 2) set(ctx, &c, "seed=7");
    assert_int_equal(cf_simulate_flux(ctx, &c, src, out[k], NULL), CF_OK);
    assert_int_equal(cf_l2_read(ctx, out[k], &l2[k]), CF_OK);
  }
  size_t ng = (size_t)l2[0].n_rays * l2[0].n_gates, nw = (size_t)l2[0].n_scans * l2[0].n_heights;
  assert_memory_equal(l2[0].co2_mole_fraction, l2[1].co2_mole_fraction, ng * sizeof(double));
  assert_memory_equal(l2[0].co2_number_density, l2[1].co2_number_density, ng * sizeof(double));
  assert_memory_equal(l2[0].radial_velocity, l2[1].radial_velocity, ng * sizeof(double));
  assert_memory_equal(l2[0].qc_flag, l2[1].qc_flag, ng * sizeof(int32_t));
  assert_memory_equal(l2[0].time, l2[1].time, (size_t)l2[0].n_rays * sizeof(double));
  assert_memory_equal(l2[0].eastward_wind, l2[1].eastward_wind, nw * sizeof(double));
  assert_memory_not_equal(l2[0].co2_mole_fraction, l2[2].co2_mole_fraction, ng * sizeof(double));
  for (int k = 0; k < 3; k++) cf_l2_free(&l2[k]);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* Without noise, offsets, spikes and missing rays, each gate holds exactly
 * co2 + gradient + the puff sum at the gate: the ray-wise sum of the
 * simulator (cf_simflux_ray_excess in lidar/flux/sim_flux_puffs.c, with
 * its culling) against cf_simflux_excess_ppm at the gate's position computed here (tangent
 * plane e, n; height with the curvature term, geometry.h). Tolerance
 * 1e-4 ppm: float32 storage of ~420 ppm resolves 3e-5 ppm. */
static void test_noise_free_values(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char src[1200], out[1200];
  snprintf(src, sizeof src, "%s/src.geojson", dir);
  snprintf(out, sizeof out, "%s/l2.nc", dir);
  cf_test_write_text(src, stack_geojson);
  cf_simflux_config c;
  small_config(ctx, &c);
  set(ctx, &c, "noise_ppm=0");
  set(ctx, &c, "missing_ray=0");
  set(ctx, &c, "spike_prob=0");
  set(ctx, &c, "sweep_offset_sigma=0");
  set(ctx, &c, "gradient_north=0.05");
  assert_int_equal(cf_simulate_flux(ctx, &c, src, out, NULL), CF_OK);
  cf_l2 l2;
  assert_int_equal(cf_l2_read(ctx, out, &l2), CF_OK);
  cf_flux_sources fs;
  assert_int_equal(cf_flux_sources_read(ctx, src, NULL, &fs), CF_OK);
  cf_simflux_model *m;
  assert_int_equal(cf_simflux_model_create(ctx, &c, &fs, c.t0 + c.scans * c.sweep_seconds, &m), CF_OK);
  double peak = 0;
  for (int r = 0; r < l2.n_rays; r++)
    for (int g = 0; g < l2.n_gates; g++) {
      double enu[3];
      cf_geo_gate_enu(l2.range_m[g], l2.azimuth_deg[r], l2.elevation_deg[r], enu);
      double z = cf_geo_gate_height_agl(l2.range_m[g], l2.elevation_deg[r], c.instrument_height);
      double ex = cf_simflux_excess_ppm(m, l2.time[r], enu[0], enu[1], z);
      double want = 420.0 + 0.02 * enu[0] / 1000 + 0.05 * enu[1] / 1000 + ex;
      assert_close(l2.co2_mole_fraction[(size_t)r * l2.n_gates + g], want, 0, 1e-4);
      if (ex > peak) peak = ex;
    }
  print_message("largest excess %.3f ppm\n", peak);
  assert_true(peak > 1.0); /* the plumes are seen */
  cf_simflux_model_free(m);
  cf_flux_sources_free(&fs);
  cf_l2_free(&l2);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void test_benchmark_scene(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char path[1200];
  snprintf(path, sizeof path, "%s/scene.geojson", dir);
  cf_simflux_config c;
  cf_simflux_defaults(&c);
  assert_int_equal(cf_simflux_write_benchmark_scene(ctx, &c, path), CF_OK);
  cf_flux_sources s;
  assert_int_equal(cf_flux_sources_read(ctx, path, NULL, &s), CF_OK);
  assert_int_equal(s.n, 6);
  cf_geo_site site;
  assert_int_equal(cf_geo_site_init(ctx, c.lat, c.lon, c.alt, &site), CF_OK);
  const struct {
    const char *name;
    cf_source_kind kind;
    double rate, e, n;
  } want[] = {{"STACK", CF_SOURCE_POINT, 100, -8000, 0},     {"PARK_10", CF_SOURCE_POINT, 10, -4000, 2500},
              {"PARK_20", CF_SOURCE_POINT, 20, -3300, 2500}, {"PARK_40", CF_SOURCE_POINT, 40, -2600, 2500},
              {"CITY", CF_SOURCE_AREA, 150, 0, 0},
              /* -10 umol m-2 s-1 over 15 x 15 km, 1 mol/s = 0.158434 t/h (flux-io.md) */
              {"FOREST", CF_SOURCE_AREA, -10e-6 * 225e6 * 0.158434, 0, 0}};
  for (int k = 0; k < 6; k++) {
    int i = cf_flux_sources_find(&s, want[k].name);
    assert_true(i >= 0);
    assert_int_equal(s.src[i].kind, want[k].kind);
    assert_close(s.src[i].prior_t_per_h, want[k].rate, 1e-12, 0);
    if (want[k].kind == CF_SOURCE_POINT) {
      double e, n;
      cf_geo_local(&site, s.src[i].lon, s.src[i].lat, &e, &n);
      assert_close(e, want[k].e, 0, 1e-3); /* geodesic placement and its inverse: 1 mm */
      assert_close(n, want[k].n, 0, 1e-3);
    }
  }
  assert_close(s.src[cf_flux_sources_find(&s, "CITY")].area_m2, 64e6, 5e-3, 0);
  assert_close(s.src[cf_flux_sources_find(&s, "FOREST")].area_m2, 225e6, 5e-3, 0);
  assert_close(s.src[cf_flux_sources_find(&s, "FOREST")].prior_t_per_h, -356.4765, 1e-9, 0);
  assert_string_equal(s.src[cf_flux_sources_find(&s, "PARK_20")].group, "park");
  cf_flux_sources_free(&s);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_benchmark_scene), cmocka_unit_test(test_meander),
      cmocka_unit_test(test_mass_conservation), cmocka_unit_test(test_l2_readers),
      cmocka_unit_test(test_determinism), cmocka_unit_test(test_noise_free_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
