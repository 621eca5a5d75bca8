/*
 * The per-pixel pool node (sink/pool_map.h) against hand-computed pools.
 *
 * Reference values (CF 0.47, AR-TOOL14 R, dead wood 0.08 and litter 0.04
 * of tree carbon, SOC 50 t C/ha), worked out with a calculator from the
 * formulas in AR-TOOL14 Appendix 1, not from our code:
 *   AGB 100: BGB = exp(-1.085 + 0.9256 ln 100) = 23.98780375124018 (R = 0.23988)
 *            C_agb = 47, C_bgb = 0.47 x 23.98780 = 11.27426776308288
 *            C_dw = 0.08 x 58.27426776 = 4.661941421046631
 *            C_li = 0.04 x 58.27426776 = 2.330970710523316
 *            total = 47 + 11.27427 + 4.66194 + 2.33097 + 50 = 115.2671798946528
 *   AGB 250: BGB = 56.01750468620582, C_agb = 117.5, C_bgb = 26.32822720251673,
 *            C_dw = 11.50625817620134, C_li = 5.753129088100669,
 *            total = 211.0876144668187
 * They are typed here as decimals to 16 digits, so a relative tolerance of
 * 1e-14 covers the last-digit rounding of the decimal and of exp/log.
 *
 * SE: the node's total_se against |T(a+h) - T(a-h)| / 2h x se_a with the
 * same node's total evaluated at a +- h (central difference, error
 * O(h^2 T''') relative ~ (h/a)^2 = 1e-6 for h = 1e-3 a; tolerance 1e-5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "raster/source.h"
#include "sink/pool_map.h"
#include "sink/stocks.h"

#define W 7
#define H 5

typedef struct {
  int nbands;
  double *px; /* [band][H][W] */
  uint8_t *ok;
} collected;

static int collect(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  (void)ctx, (void)tile;
  collected *c = user;
  for (int k = 0; k < c->nbands; k++)
    for (int j = 0; j < w->ny; j++)
      for (int i = 0; i < w->nx; i++) {
        size_t o = (size_t)k * W * H + (size_t)(w->y0 + j) * W + (w->x0 + i);
        c->px[o] = cf_block_band(b, k)[j * w->nx + i];
        c->ok[o] = cf_block_valid(b, k)[j * w->nx + i];
      }
  return 0;
}

static cf_pool_map_params params(unsigned pools) {
  cf_pool_map_params p = {0.47, CF_ROOT_SHOOT_AR_TOOL14, 0, 0.08, 0.04, 50.0, pools};
  return p;
}

/* AGB values: two levels for the hand values, 0, a negative (invalid),
 * nodata, and a spread of others for the SE check. */
static double agb_at(int i, int j) {
  int k = j * W + i;
  if (k == 0) return 100.0;
  if (k == 1) return 250.0;
  if (k == 2) return 0.0;
  if (k == 3) return -5.0;
  if (k == 4) return -9999.0; /* nodata */
  return 10.0 + 13.0 * k;
}

static void write_agb(const char *path) {
  double data[2 * W * H], gt[6] = {500000, 30, 0, 5500000, 0, -30}, nd[2] = {-9999, -9999};
  for (int j = 0; j < H; j++)
    for (int i = 0; i < W; i++) {
      double a = agb_at(i, j);
      data[j * W + i] = a;
      data[W * H + j * W + i] = a == -9999.0 ? -9999.0 : 0.2 * fabs(a) + 1.0;
    }
  cf_test_write_tif(path, W, H, 2, "Float64", gt, "EPSG:32611", nd, data, 0);
}

static collected run_map(const char *tif, unsigned pools, int threads, char names[8][16]) {
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, threads);
  cf_raster *src = cf_source_create(ctx, tif, NULL);
  assert_non_null(src);
  cf_pool_map_params p = params(pools);
  cf_raster *r = cf_pool_map_create(ctx, src, 0, 1, &p);
  assert_non_null(r);
  collected c = {r->nbands, calloc((size_t)r->nbands * W * H, sizeof(double)), calloc((size_t)r->nbands * W * H, 1)};
  for (int b = 0; names && b < r->nbands && b < 8; b++) snprintf(names[b], 16, "%s", r->band_names[b]);
  cf_tiling t;
  cf_tiling_make(&t, r, 8); /* tiny tiles: several tiles, so 2 threads interleave */
  assert_int_equal(cf_engine_run(ctx, r, &t, collect, &c, "pools"), CF_OK);
  cf_raster_destroy(r);
  cf_raster_destroy(src);
  cf_ctx_destroy(ctx);
  return c;
}

static void analytic_pools(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *tif = cf_test_path(dir, "agb.tif");
  write_agb(tif);
  char names[8][16];
  collected c = run_map(tif, 0x1f, 1, names);
  assert_int_equal(c.nbands, 7);
  const char *want[] = {"agb", "bgb", "deadwood", "litter", "soc", "total", "total_se"};
  for (int b = 0; b < 7; b++) assert_string_equal(names[b], want[b]);
  const double ref[2][6] = {
      {47.0, 11.27426776308288, 4.661941421046631, 2.330970710523316, 50.0, 115.2671798946528},
      {117.5, 26.32822720251673, 11.50625817620134, 5.753129088100669, 50.0, 211.0876144668187}};
  for (int k = 0; k < 2; k++)
    for (int b = 0; b < 6; b++) {
      assert_true(c.ok[b * W * H + k]);
      assert_close(c.px[b * W * H + k], ref[k][b], 1e-14, 0);
    }
  /* AGB 0: every tree pool 0, total = SOC */
  for (int b = 0; b < 4; b++) assert_close(c.px[b * W * H + 2], 0.0, 0, 0);
  assert_close(c.px[5 * W * H + 2], 50.0, 0, 0);
  /* negative AGB and nodata: invalid in every band, NaN values */
  for (int b = 0; b < 7; b++)
    for (int k = 3; k <= 4; k++) {
      assert_false(c.ok[b * W * H + k]);
      assert_true(isnan(c.px[b * W * H + k]));
    }
  free(c.px);
  free(c.ok);
  cf_test_rmtree(dir);
  free(dir);
}

static void excluded_pools_have_no_band(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *tif = cf_test_path(dir, "agb.tif");
  write_agb(tif);
  char names[8][16];
  unsigned pools = CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_LITTER);
  collected c = run_map(tif, pools, 1, names);
  assert_int_equal(c.nbands, 4);
  assert_string_equal(names[0], "agb");
  assert_string_equal(names[1], "litter");
  assert_string_equal(names[2], "total");
  assert_string_equal(names[3], "total_se");
  /* AGB 100: total = 47 + 2.330970710523316 (litter is a fraction of TREE
   * carbon, AGB + BGB, even when BGB is not reported) */
  assert_close(c.px[2 * W * H + 0], 47.0 + 2.330970710523316, 1e-14, 0);
  free(c.px);
  free(c.ok);
  cf_test_rmtree(dir);
  free(dir);
}

static void se_matches_finite_difference(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *tif = cf_test_path(dir, "agb.tif");
  write_agb(tif);
  unsigned sets[3] = {0x1f, CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_DEADWOOD), CF_POOL_BIT(CF_POOL_BGB)};
  for (int s = 0; s < 3; s++) {
    collected c = run_map(tif, sets[s], 1, NULL);
    int nb = c.nbands;
    cf_pool_map_params p = params(sets[s]);
    int checked = 0;
    for (int k = 5; k < W * H; k++) {
      double a = agb_at(k % W, k / W), h = 1e-3 * a, se_a = 0.2 * a + 1.0;
      cf_pool_pixel_result up, dn;
      assert_int_equal(cf_pool_pixel(&p, a + h, &up), 0);
      assert_int_equal(cf_pool_pixel(&p, a - h, &dn), 0);
      double fd = fabs(up.total - dn.total) / (2 * h) * se_a;
      assert_true(c.ok[(nb - 1) * W * H + k]);
      assert_close(c.px[(nb - 1) * W * H + k], fd, 1e-5, 0);
      checked++;
    }
    assert_int_equal(checked, W * H - 5);
    free(c.px);
    free(c.ok);
  }
  cf_test_rmtree(dir);
  free(dir);
}

static void identical_bits_for_1_and_2_threads(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *tif = cf_test_path(dir, "agb.tif");
  write_agb(tif);
  collected a = run_map(tif, 0x1f, 1, NULL), b = run_map(tif, 0x1f, 2, NULL);
  assert_int_equal(a.nbands, b.nbands);
  assert_memory_equal(a.px, b.px, sizeof(double) * a.nbands * W * H);
  assert_memory_equal(a.ok, b.ok, (size_t)a.nbands * W * H);
  free(a.px), free(a.ok), free(b.px), free(b.ok);
  cf_test_rmtree(dir);
  free(dir);
}

/* The node computes in chunks of pixels (sink/pool_map.c); every valid
 * pixel must be cf_pool_pixel's own result, bit for bit, and total_se
 * |dT/da| x se, with all pools and with some left out. */
static void map_is_pool_pixel_bitwise(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *tif = cf_test_path(dir, "agb.tif");
  write_agb(tif);
  const unsigned sets[] = {0x1f, CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_LITTER)};
  for (int s = 0; s < 2; s++) {
    cf_pool_map_params p = params(sets[s]);
    collected c = run_map(tif, sets[s], 1, NULL);
    int nout = c.nbands - 2, pool_of[CF_POOL_COUNT], n = 0;
    for (int k = 0; k < CF_POOL_COUNT; k++)
      if (sets[s] & CF_POOL_BIT(k)) pool_of[n++] = k;
    assert_int_equal(n, nout);
    for (int j = 0; j < H; j++)
      for (int i = 0; i < W; i++) {
        double a = agb_at(i, j), se = a == -9999.0 ? -9999.0 : 0.2 * fabs(a) + 1.0;
        cf_pool_pixel_result px;
        int good = a != -9999.0 && cf_pool_pixel(&p, a, &px) == 0;
        size_t o = (size_t)j * W + i;
        for (int b = 0; b < c.nbands; b++) assert_int_equal(c.ok[b * W * H + o], good);
        if (!good) continue;
        for (int k = 0; k < nout; k++) assert_memory_equal(&c.px[k * W * H + o], &px.pool[pool_of[k]], sizeof(double));
        assert_memory_equal(&c.px[nout * W * H + o], &px.total, sizeof(double));
        double want_se = fabs(px.dtotal_dagb) * se;
        assert_memory_equal(&c.px[(nout + 1) * W * H + o], &want_se, sizeof(double));
      }
    free(c.px), free(c.ok);
  }
  cf_test_rmtree(dir);
  free(dir);
}

static void bad_parameters_are_named(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_pool_map_params p = params(0x1f);
  p.carbon_fraction = 1.5;
  assert_int_equal(cf_pool_map_params_check(ctx, &p, "t"), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "carbon_fraction");
  cf_error_clear(ctx);
  p = params(0);
  assert_int_equal(cf_pool_map_params_check(ctx, &p, "t"), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "pools");
  cf_ctx_destroy(ctx);
}

/* The settings table: KEY=VALUE text through the rows, then the node's
 * parameters. SOC by AR-TOOL16: SOC_initial = 60 x 0.8 = 48 t C/ha, rate
 * (60 - 48) / 20 = 0.6 t C/ha/yr (under the 0.8 cap), 10 years: 48 + 6 = 54. */
static void settings_resolve_to_parameters(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_stocks_opts s;
  cf_stocks_opts_default(&s);
  const cf_kv_table *t = &cf_stocks_settings;
  const char *kv[] = {"root_shoot=0.25", "pools=agb,bgb,soc", "soc_ref=60", "f_lu=0.8", "f_mg=1", "f_in=1",
                      "years_since_planting=10"};
  for (int i = 0; i < 7; i++) assert_int_equal(cf_kv_set(ctx, t->opts, t->n, &s, kv[i], "t", NULL), CF_OK);
  cf_pool_map_params p;
  assert_int_equal(cf_stocks_map_params(ctx, &s, &p, NULL), CF_OK);
  assert_int_equal(p.root_shoot, CF_ROOT_SHOOT_FIXED);
  assert_close(p.root_shoot_ratio, 0.25, 0, 0);
  assert_int_equal(p.pools, CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_BGB) | CF_POOL_BIT(CF_POOL_SOC));
  assert_close(p.soc_t_c_per_ha, 54.0, 1e-15, 0);
  /* ranges come from the rows: a carbon fraction of 0.9 is refused */
  assert_int_equal(cf_kv_set(ctx, t->opts, t->n, &s, "carbon_fraction=0.9", "t", NULL), CF_EINVAL);
  cf_error_clear(ctx);
  /* soc in pools without soc_ref: named */
  cf_stocks_opts_default(&s);
  assert_int_equal(cf_kv_set(ctx, t->opts, t->n, &s, "pools=agb,soc", "t", NULL), CF_OK);
  assert_int_equal(cf_stocks_map_params(ctx, &s, &p, NULL), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "soc_ref");
  cf_error_clear(ctx);
  /* ... and without f_mg (AR-TOOL16 has no default: 1.0 is not assumed) */
  const char *kv2[] = {"soc_ref=60", "f_lu=0.8", "f_in=1", "years_since_planting=10"};
  for (int i = 0; i < 4; i++) assert_int_equal(cf_kv_set(ctx, t->opts, t->n, &s, kv2[i], "t", NULL), CF_OK);
  assert_int_equal(cf_stocks_map_params(ctx, &s, &p, NULL), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "f_mg");
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(analytic_pools),
      cmocka_unit_test(excluded_pools_have_no_band),
      cmocka_unit_test(se_matches_finite_difference),
      cmocka_unit_test(identical_bits_for_1_and_2_threads),
      cmocka_unit_test(map_is_pool_pixel_bitwise),
      cmocka_unit_test(bad_parameters_are_named),
      cmocka_unit_test(settings_resolve_to_parameters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
