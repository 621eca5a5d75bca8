/*
 * The boundary-layer height from CNR profiles (lidar/flux/boundary_layer.h).
 *
 * Truth is written here from the physics, not taken from the code under
 * test: cnr_on = -15 dB - 20 log10(r / 1 km) + 10 log10(f) (1 + tanh((z -
 * h) / w)) / 2 at the gate's height z = h_instr + r sin(el) + (r cos el)^2
 * / 2R, f the free-troposphere / mixed-layer backscatter ratio, h the top,
 * w the transition's width (0: a step). Noise from core/rng.h streams.
 * Sweeps at 2, 5, 10 and 20 degrees with 80 gates every 150 m from 300 m:
 * points of one sweep are 5, 13, 26 and 51 m apart in height, and the
 * sweeps reach 434, 1080, 2120 and 4180 m above the ground (h_instr 10 m).
 *
 * (1) Accuracy, tops at 800 and 1200 m, tanh of 30 m and a step: within
 *     25 m, half the coarsest point spacing (51 m at 20 degrees): the
 *     placement of an unresolved step is off by at most half the spacing
 *     of the points straddling it, and the noise (0.5 dB per gate, 36 rays:
 *     0.08 dB per point against a 10 dB drop) moves it by under 1 m. The
 *     2-degree sweep (and at 1200 m the 5-degree one) cannot see the top
 *     and must be rejected, not guessed.
 * (2) Honest sigma: 200 draws with the top uniform in [750, 850] m (so its
 *     place between the points is random, as the sampling term of sigma
 *     assumes), |estimate - truth| < sigma in 50-90 % of them. For normal
 *     errors 50 % and 90 % mean a sigma 0.67 and 1.64 times the true one;
 *     the band is that wide because the sampling term is a model (q^2 dz /
 *     sqrt 12), and the binomial SE of 200 draws at 68 % is 3.3 %.
 * (3) No drop within reach (top above the highest gate; f = 1; every gate
 *     masked): CF_EDATA naming the file and cnr_on, and blh_m=.
 * (4) Masked gates and rays: NaN gates, a NaN ray, a fully masked sweep
 *     are skipped; hard-target gates are skipped (the same result, bitwise,
 *     as with those gates NaN); low_cnr gates are used (the same result as
 *     unflagged).
 * (5) Through the simulator (cf_simulate_flux, bl_height=800, elevations
 *     2,5,10,20): the L2 file gives 800 m within 25 m.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/rng.h"
#include "ingest/lidar_l2.h"
#include "lidar/doppler.h"
#include "lidar/flux/boundary_layer.h"
#include "lidar/flux/sim_flux.h"

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)
#define EARTH_R 6371008.8
#define NG 80
#define H_INSTR 10.0

typedef struct {
  double blh, ratio, width, noise_db;
  int rays;        /* per sweep */
  int repeats;     /* cycles through the elevations */
  uint64_t stream; /* noise stream */
} scene;

static const double elevs[4] = {2, 5, 10, 20};

static double gate_z(double r, double el_deg) {
  double el = el_deg * D2R, h = r * cos(el);
  return H_INSTR + r * sin(el) + h * h / (2 * EARTH_R);
}

static double truth_cnr(const scene *s, double r, double z) {
  double x = s->width > 0 ? tanh((z - s->blh) / s->width) : (z > s->blh) - (z < s->blh);
  return -15.0 - 20.0 * log10(r / 1000.0) + 10.0 * log10(s->ratio) * 0.5 * (1 + x);
}

/* A one-file set of 4 x repeats sweeps; free with free_set. */
static void make_set(const scene *s, cf_l2_set *set) {
  cf_l2 *l2 = calloc(1, sizeof *l2);
  assert_non_null(l2);
  int nr = 4 * s->repeats * s->rays;
  l2->path = strdup("/data/synthetic_l2.nc");
  l2->n_rays = nr, l2->n_gates = NG;
  l2->elevation_deg = malloc((size_t)nr * sizeof(double));
  l2->azimuth_deg = malloc((size_t)nr * sizeof(double));
  l2->scan_id = malloc((size_t)nr * sizeof(int32_t));
  l2->range_m = malloc(NG * sizeof(double));
  l2->cnr_on = malloc((size_t)nr * NG * sizeof(double));
  l2->qc_flag = calloc((size_t)nr * NG, sizeof(int32_t));
  assert_true(l2->path && l2->elevation_deg && l2->azimuth_deg && l2->scan_id && l2->range_m && l2->cnr_on &&
              l2->qc_flag);
  for (int g = 0; g < NG; g++) l2->range_m[g] = 300.0 + 150.0 * g;
  cf_rng rng;
  cf_rng_seed(&rng, 42, s->stream);
  for (int i = 0; i < nr; i++) {
    int sweep = i / s->rays;
    l2->scan_id[i] = sweep;
    l2->elevation_deg[i] = elevs[sweep % 4];
    l2->azimuth_deg[i] = 360.0 * (i % s->rays) / s->rays;
    for (int g = 0; g < NG; g++)
      l2->cnr_on[(size_t)i * NG + g] = truth_cnr(s, l2->range_m[g], gate_z(l2->range_m[g], l2->elevation_deg[i])) + s->noise_db * cf_rng_normal(&rng);
  }
  set->n = 1, set->files = l2;
}

static void free_set(cf_l2_set *set) {
  for (int f = 0; f < set->n; f++) {
    cf_l2 *l2 = &set->files[f];
    free(l2->path), free(l2->elevation_deg), free(l2->azimuth_deg), free(l2->scan_id), free(l2->range_m);
    free(l2->cnr_on), free(l2->qc_flag);
  }
  free(set->files);
  set->n = 0, set->files = NULL;
}

static void estimate(cf_ctx *ctx, const scene *s, cf_blh_estimate *e) {
  cf_l2_set set;
  make_set(s, &set);
  int rc = cf_blh_from_cnr(ctx, &set, H_INSTR, e);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  free_set(&set);
}

static void test_accuracy(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const double tops[2] = {800, 1200}, widths[2] = {30, 0};
  for (int t = 0; t < 2; t++)
    for (int w = 0; w < 2; w++) {
      scene s = {tops[t], 0.1, widths[w], 0.5, 36, 2, (uint64_t)(10 + 2 * t + w)};
      cf_blh_estimate e;
      estimate(ctx, &s, &e);
      print_message("top %4.0f m, width %2.0f m: %.2f +- %.2f m from %d sweeps (%d rejected), drop %.2f dB\n", s.blh,
                    s.width, e.blh_m, e.sigma_m, e.n_profiles, e.n_rejected, e.drop_db);
      assert_close(e.blh_m, s.blh, 0, 25.0);
      assert_true(e.sigma_m > 0 && e.sigma_m < 25.0);
      /* 800 m: 5, 10, 20 degrees see it; 1200 m: 10 and 20 (5 reaches 1080 m) */
      assert_int_equal(e.n_profiles, t == 0 ? 6 : 4);
      assert_int_equal(e.n_rejected, t == 0 ? 2 : 4);
      /* the levels 50-100 m either side of the top: the full 10 dB for a step,
       * tanh(50/30) = 93 % of it and more for the 30 m transition */
      assert_true(e.drop_db > 9.0 && e.drop_db < 10.5);
    }
  cf_ctx_destroy(ctx);
}

static void coverage(cf_ctx *ctx, double width, double noise_db, int rays, double *frac, double *rms) {
  int hit = 0, n = 200;
  double ss = 0;
  cf_rng top;
  cf_rng_seed(&top, 7, 1000);
  for (int k = 0; k < n; k++) {
    scene s = {750.0 + 100.0 * cf_rng_uniform(&top), 0.1, width, noise_db, rays, 1, (uint64_t)(2000 + k)};
    cf_blh_estimate e;
    estimate(ctx, &s, &e);
    double err = e.blh_m - s.blh;
    hit += fabs(err) < e.sigma_m;
    ss += err * err;
  }
  *frac = (double)hit / n;
  *rms = sqrt(ss / n);
}

static void test_sigma_coverage(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const struct {
    double width, noise;
    int rays;
  } cases[3] = {{30, 2.0, 12}, {0, 0.5, 36}, {30, 3.0, 8}};
  for (int c = 0; c < 3; c++) {
    double frac, rms;
    coverage(ctx, cases[c].width, cases[c].noise, cases[c].rays, &frac, &rms);
    print_message("width %2.0f m, noise %.1f dB, %2d rays: |error| < sigma in %.1f %% of 200 draws, rms error %.2f m\n",
                  cases[c].width, cases[c].noise, cases[c].rays, 100 * frac, rms);
    assert_true(frac >= 0.5 && frac <= 0.9);
  }
  cf_ctx_destroy(ctx);
}

static void expect_edata(cf_ctx *ctx, cf_l2_set *set) {
  cf_blh_estimate e;
  assert_int_equal(cf_blh_from_cnr(ctx, set, H_INSTR, &e), CF_EDATA);
  const char *msg = cf_error_message(ctx);
  print_message("%s\n", msg);
  assert_non_null(strstr(msg, "/data/synthetic_l2.nc"));
  assert_non_null(strstr(msg, "cnr_on"));
  assert_non_null(strstr(msg, "blh_m="));
  assert_int_equal(e.n_profiles, 0);
  cf_error_clear(ctx);
}

static void test_no_drop(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_l2_set set;
  /* the top at 4500 m: above every gate of every sweep (20 degrees reach 4180 m) */
  scene high = {4500, 0.1, 30, 0.5, 24, 1, 3};
  make_set(&high, &set);
  expect_edata(ctx, &set);
  free_set(&set);
  /* a top 100 m below the highest gate of the 20-degree sweep: inside the
   * data, but the profile does not reach 3a/4 = 150 m above it: rejected */
  scene edge = {4080, 0.1, 30, 0.5, 24, 1, 4};
  make_set(&edge, &set);
  expect_edata(ctx, &set);
  free_set(&set);
  /* no drop at all */
  scene flat = {800, 1.0, 30, 0.5, 24, 1, 5};
  make_set(&flat, &set);
  expect_edata(ctx, &set);
  /* every gate masked */
  for (size_t k = 0; k < (size_t)set.files[0].n_rays * NG; k++) set.files[0].cnr_on[k] = NAN;
  expect_edata(ctx, &set);
  free_set(&set);
  cf_ctx_destroy(ctx);
}

static void test_masked(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  scene s = {800, 0.1, 30, 0.5, 24, 2, 6};
  cf_l2_set set;
  make_set(&s, &set);
  cf_l2 *l2 = &set.files[0];
  cf_blh_estimate ref, e;
  assert_int_equal(cf_blh_from_cnr(ctx, &set, H_INSTR, &ref), CF_OK);
  /* low_cnr on every gate above the top: used, so nothing changes */
  for (int i = 0; i < l2->n_rays; i++)
    for (int g = 0; g < NG; g++)
      if (gate_z(l2->range_m[g], l2->elevation_deg[i]) > s.blh) l2->qc_flag[(size_t)i * NG + g] = CF_QC_LOW_CNR | CF_QC_NO_CO2;
  assert_int_equal(cf_blh_from_cnr(ctx, &set, H_INSTR, &e), CF_OK);
  assert_memory_equal(&e, &ref, sizeof e);
  /* a hard target (+30 dB) in every third ray of the 10-degree sweeps near
   * the top, flagged: skipped, bitwise the same as those gates masked */
  cf_rng rng;
  cf_rng_seed(&rng, 9, 9);
  for (int i = 0; i < l2->n_rays; i++)
    for (int g = 0; g < NG; g++) {
      size_t k = (size_t)i * NG + g;
      if (l2->elevation_deg[i] == 10 && i % 3 == 0 && g >= 28 && g <= 33) {
        l2->cnr_on[k] += 30, l2->qc_flag[k] |= CF_QC_HARD_TARGET;
      } else if (cf_rng_uniform(&rng) < 0.1) {
        l2->cnr_on[k] = NAN, l2->qc_flag[k] = CF_L2_QC_MISSING; /* a masked gate */
      }
    }
  for (int g = 0; g < NG; g++) { /* ray 5: wholly masked, flagged invalid_ray */
    l2->cnr_on[5 * NG + g] = NAN, l2->qc_flag[5 * NG + g] = CF_QC_BAD_RAY | CF_QC_NO_CO2;
  }
  for (int i = 2 * s.rays; i < 3 * s.rays; i++) /* the first 10-degree sweep: every gate masked */
    for (int g = 0; g < NG; g++) l2->cnr_on[(size_t)i * NG + g] = NAN;
  cf_blh_estimate masked;
  assert_int_equal(cf_blh_from_cnr(ctx, &set, H_INSTR, &masked), CF_OK);
  assert_close(masked.blh_m, s.blh, 0, 25.0);
  assert_int_equal(masked.n_profiles, ref.n_profiles - 1); /* the empty sweep is no profile */
  assert_int_equal(masked.n_rejected, ref.n_rejected);
  for (size_t k = 0; k < (size_t)l2->n_rays * NG; k++)
    if (l2->qc_flag[k] & CF_QC_HARD_TARGET) l2->cnr_on[k] = NAN;
  assert_int_equal(cf_blh_from_cnr(ctx, &set, H_INSTR, &e), CF_OK);
  assert_memory_equal(&e, &masked, sizeof e);
  /* and the flagged hard target, had it been used, would have shown */
  for (size_t k = 0; k < (size_t)l2->n_rays * NG; k++)
    if (l2->qc_flag[k] & CF_QC_HARD_TARGET) l2->qc_flag[k] = 0, l2->cnr_on[k] = 15.0;
  assert_int_equal(cf_blh_from_cnr(ctx, &set, H_INSTR, &e), CF_OK);
  assert_true(memcmp(&e, &masked, sizeof e) != 0);
  free_set(&set);
  cf_ctx_destroy(ctx);
}

static const char *stack_geojson =
    "{\"type\": \"FeatureCollection\", \"features\": [\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"S1\", \"kind\": \"point\", \"height_m\": 80, "
    "\"prior_t_per_h\": 60, \"prior_sigma_t_per_h\": 30}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [10.95, 48.0]}}\n"
    "]}\n";

static void test_simulator(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char src[1200], out[1200];
  snprintf(src, sizeof src, "%s/src.geojson", dir);
  snprintf(out, sizeof out, "%s/l2.nc", dir);
  cf_test_write_text(src, stack_geojson);
  cf_simflux_config c;
  cf_simflux_defaults(&c);
  const char *kv[] = {"bl_height=800", "elevations=2,5,10,20", "scans=8", "rays=24", "spinup_s=600", "missing_ray=0.1"};
  for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) assert_int_equal(cf_simflux_set(ctx, &c, kv[k]), CF_OK);
  assert_int_equal(cf_simulate_flux(ctx, &c, src, out, NULL), CF_OK);
  const char *paths[1] = {out};
  cf_l2_set set;
  assert_int_equal(cf_l2_read_set(ctx, paths, 1, 0, 0, &set), CF_OK);
  /* the simulator's own noise-free CNR is the formula of this file */
  scene s = {800, 0.1, 30, 0, 1, 1, 0};
  for (double z = 700; z <= 900; z += 10) assert_close(cf_simflux_cnr_db(&c, 6000.0, z), truth_cnr(&s, 6000.0, z), 0, 1e-12);
  cf_blh_estimate e;
  int rc = cf_blh_from_cnr(ctx, &set, c.instrument_height, &e);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  print_message("simulated top 800 m: %.2f +- %.2f m from %d sweeps (%d rejected), drop %.2f dB\n", e.blh_m, e.sigma_m,
                e.n_profiles, e.n_rejected, e.drop_db);
  assert_close(e.blh_m, 800.0, 0, 25.0);
  assert_int_equal(e.n_profiles, 6); /* 5, 10, 20 degrees, twice */
  assert_int_equal(e.n_rejected, 2);
  cf_l2_set_free(&set);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accuracy), cmocka_unit_test(test_sigma_coverage), cmocka_unit_test(test_no_drop),
      cmocka_unit_test(test_masked),   cmocka_unit_test(test_simulator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
