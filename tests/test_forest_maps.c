/*
 * The forest map stages end to end (pipelines/stages_forest_maps.c):
 *
 *  - ingest.gedi_l2a on the real GEDI L2A subset logs the counts
 *    test_gedi.c asserts from an independent h5py reading (301 read, 247
 *    kept with the default filter, 54 rejected for sensitivity).
 *  - Kootenay: the real canopy height model and cut blocks through an
 *    ILLUSTRATIVE height-biomass power law AGB = 2 H^1.5 (t d.m./ha, H in
 *    m; NOT from a paper: it gives 0-320 t/ha over the CHM's 0-30 m, the
 *    range of temperate conifer stands, and only exercises the chain),
 *    given to sink.biomass_model as coefficients [ln 2, 1.5], then AR-TOOL14
 *    roots, CF 0.47, dead wood 0.08 and litter 0.04 of tree carbon; per
 *    block pixel counts, area and pools against numpy + gdal.RasterizeLayer
 *    (tests/kootenay_pools.py). CHM pixels with H <= 0 (ground, 11 % of the
 *    file) are outside a log-log model's domain and invalid in the map;
 *    the reference drops them the same way.
 *  - a synthetic raster with known truth and plots: sink.biomass_model ->
 *    sink.pool_map -> write.cog -> sink.pool_zonal; the difference
 *    estimate within 4 of its SEs of the truth.
 *  - the estimator's coverage over 200 seeds (library level).
 *  - bad input: a polygon off the raster, too few training points, a
 *    feature count that is not the model's.
 */
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "cf_test.h"
#include "core/rng.h"
#include "raster/biomass_model.h"
#include "sink/pool_map.h"
#include "sink/pool_zonal.h"

#define PYTHON "/usr/bin/python3"
#define CHM CF_SHARED_DATA "/kootenay/kootenayCHM.tif"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"
#define GEDI_ZIP CF_SHARED_DATA "/gedi/GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.zip"
#define GEDI_MEMBER "GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.h5"

static const char *helper(const char *name) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  snprintf(slash ? slash + 1 : buf, sizeof buf - (size_t)(slash ? slash + 1 - buf : 0), "%s", name);
  return buf;
}

static int run_yaml(const char *dir, const char *yaml, const char *log) {
  cf_test_write_text(cf_test_path(dir, "p.yaml"), yaml);
  char args[1400];
  snprintf(args, sizeof args, "run '%s/p.yaml'", dir);
  return cf_test_cli(args, log);
}

static void show(const char *log) {
  FILE *f = fopen(log, "r");
  char line[4096];
  while (f && fgets(line, sizeof line, f)) print_message("%s", line);
  if (f) fclose(f);
}

/* CSV rows (comment lines skipped): fields split at commas, quotes dropped. */
#define MAXF 32
typedef struct {
  int n;
  char f[16][MAXF][64];
  char head[MAXF][64];
  int nf;
} csv_rows;

static int split(char *line, char out[MAXF][64]) {
  int n = 0;
  char *s = line;
  line[strcspn(line, "\r\n")] = 0;
  while (n < MAXF) {
    char *c = strchr(s, ',');
    if (c) *c = 0;
    char *q = s;
    if (*q == '"') q++;
    snprintf(out[n], 64, "%s", q);
    size_t L = strlen(out[n]);
    if (L && out[n][L - 1] == '"') out[n][L - 1] = 0;
    n++;
    if (!c) break;
    s = c + 1;
  }
  return n;
}

static void read_csv(const char *path, csv_rows *r) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[8192];
  int header = 0;
  r->n = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    if (!header) {
      r->nf = split(line, r->head);
      header = 1;
      continue;
    }
    assert_true(r->n < 16);
    split(line, r->f[r->n++]);
  }
  fclose(f);
}

static double col(const csv_rows *r, int row, const char *name) {
  for (int k = 0; k < r->nf; k++)
    if (!strcmp(r->head[k], name)) return r->f[row][k][0] ? atof(r->f[row][k]) : NAN;
  print_error("no column %s\n", name);
  fail();
  return NAN;
}

/* --- GEDI ------------------------------------------------------------------------ */

static void gedi_stage_logs_the_filter_counts(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char h5[1200];
  snprintf(h5, sizeof h5, "%s/%s", dir, GEDI_MEMBER);
  assert_int_equal(CPLCopyFile(h5, "/vsizip/" GEDI_ZIP "/" GEDI_MEMBER), 0);
  char yaml[2048];
  snprintf(yaml, sizeof yaml, "pipeline:\n  - type: ingest.gedi_l2a\n    path: %s\n", h5);
  const char *log = cf_test_path(dir, "log.txt");
  assert_int_equal(run_yaml(dir, yaml, log), 0);
  /* test_gedi.c: 301 shots in 7 beams; defaults keep 247, 54 fail sensitivity */
  assert_true(cf_test_file_contains(log, "301 shots read from 7 beams, 247 kept"));
  assert_true(cf_test_file_contains(log, "54 sensitivity"));
  /* the filter options reach the reader: with no sensitivity limit nothing
   * is rejected for it (the other flags reject none in this subset) */
  snprintf(yaml, sizeof yaml, "pipeline:\n  - type: ingest.gedi_l2a\n    path: %s\n    sensitivity_min: 0\n", h5);
  assert_int_equal(run_yaml(dir, yaml, log), 0);
  assert_true(cf_test_file_contains(log, "301 kept"));

  /* footprints as training points: a raster in EPSG:4326 over their extent
   * (lon -44.140..-44.110, lat -13.750..-13.720) with feature = column
   * number + 1; the response is the (illustrative) footprint model
   * AGB = 1.0 x rh98^1.5. Every kept footprint lies on the raster and has
   * rh98 > 0 (2.9..10.9 m in h5py), so all 247 are usable. */
  double *feat = malloc(sizeof(double) * 100 * 100), gt[6] = {-44.15, 0.0005, 0, -13.71, 0, -0.0005};
  for (int k = 0; k < 100 * 100; k++) feat[k] = k % 100 + 1;
  cf_test_write_tif(cf_test_path(dir, "feat.tif"), 100, 100, 1, "Float64", gt, "EPSG:4326", NULL, feat, 0);
  free(feat);
  snprintf(yaml, sizeof yaml,
           "pipeline:\n  - type: ingest.gedi_l2a\n    name: gedi\n    path: %s\n"
           "  - type: ingest.raster\n    name: feat\n    path: feat.tif\n"
           "  - type: sink.biomass_model\n    footprints: gedi\n    features: [feat]\n    kind: linear\n"
           "    gedi_rh: 98\n    gedi_agb_a: 1.0\n    gedi_agb_b: 1.5\n",
           h5);
  assert_int_equal(run_yaml(dir, yaml, log), 0);
  assert_true(cf_test_file_contains(log, "247 training point(s), 247 usable"));
  assert_true(cf_test_file_contains(log, "\"kind\":\"linear\",\"n\":247"));
  /* a footprint stage without the footprint model is refused before running */
  snprintf(yaml, sizeof yaml,
           "pipeline:\n  - type: ingest.gedi_l2a\n    name: gedi\n    path: %s\n"
           "  - type: ingest.raster\n    name: feat\n    path: feat.tif\n"
           "  - type: sink.biomass_model\n    footprints: gedi\n    features: [feat]\n",
           h5);
  assert_int_equal(run_yaml(dir, yaml, log), 1);
  assert_true(cf_test_file_contains(log, "footprints carry no AGB"));
  cf_test_rmtree(dir);
  free(dir);
}

/* --- Kootenay ---------------------------------------------------------------------- */

static void kootenay_blocks_match_numpy(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n    name: chm\n    path: %s\n"
           "  - type: ingest.vector\n    name: blocks\n    path: %s\n    label_field: BlockID\n"
           "  - type: sink.biomass_model\n    name: model\n    kind: loglog\n"
           "    coefficients: [0.69314718055994530942, 1.5]\n" /* ln 2, 1.5: AGB = 2 H^1.5, illustrative */
           "  - type: sink.pool_map\n    name: pools\n    model: model\n    features: [chm]\n"
           "    pools: [agb, bgb, deadwood, litter]\n    deadwood_fraction: 0.08\n    litter_fraction: 0.04\n"
           "  - type: write.cog\n    path: pools.tif\n    data_type: Float64\n"
           "  - type: sink.pool_zonal\n    input: pools\n    zones: blocks\n    model: model\n    path: blocks.csv\n",
           CHM, BLOCKS);
  const char *log = cf_test_path(dir, "log.txt");
  int rc = run_yaml(dir, yaml, log);
  if (rc) show(log);
  assert_int_equal(rc, 0);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s '%s' '%s' '%s' 2 1.5 0.47 0.08 0.04 '%s/pools.tif' > '%s/ref.txt'", PYTHON,
           helper("kootenay_pools.py"), CHM, BLOCKS, dir, dir);
  assert_int_equal(system(cmd), 0);
  csv_rows r;
  read_csv(cf_test_path(dir, "blocks.csv"), &r);
  assert_int_equal(r.n, 3);
  assert_true(cf_test_file_contains(cf_test_path(dir, "blocks.csv"), "CARBONFLUX_BIOMASS_MODEL="));
  FILE *f = fopen(cf_test_path(dir, "ref.txt"), "r");
  assert_non_null(f);
  char line[4096];
  int matched = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "bands ", 6)) {
      line[strcspn(line, "\n")] = 0;
      assert_string_equal(line + 6, "agb,bgb,deadwood,litter,total,total_se");
      continue;
    }
    char id[64];
    long long n, nv;
    double area, m[4], mt, stock;
    assert_int_equal(sscanf(line, "%63s %lld %lld %lf %lf %lf %lf %lf %lf %lf", id, &n, &nv, &area, &m[0], &m[1], &m[2],
                            &m[3], &mt, &stock), 10);
    for (int i = 0; i < r.n; i++) {
      if (strcmp(r.f[i][0], id)) continue;
      matched++;
      /* counts: the same pixel-centre rule, exactly */
      assert_int_equal((long long)col(&r, i, "pixels"), n);
      assert_int_equal((long long)col(&r, i, "valid_pixels"), nv);
      assert_close(col(&r, i, "area_ha"), area, 1e-15, 0);
      /* means of ~1e4 pixels: both sides sum in double in different orders
       * (tile order vs numpy's pairwise sum) and exp/log/pow differ by an
       * ulp or two: relative 1e-12 bounds N eps = 1e4 x 1.1e-16 with margin */
      const char *names[4] = {"mean_agb_t_c_per_ha", "mean_bgb_t_c_per_ha", "mean_deadwood_t_c_per_ha",
                              "mean_litter_t_c_per_ha"};
      for (int k = 0; k < 4; k++) assert_close(col(&r, i, names[k]), m[k], 1e-12, 0);
      assert_close(col(&r, i, "mean_total_t_c_per_ha"), mt, 1e-12, 0);
      assert_close(col(&r, i, "stock_t_co2e"), stock, 1e-12, 0);
      /* a given model with residual_sd 0 has no SE */
      assert_close(col(&r, i, "mean_total_se_t_c_per_ha"), 0.0, 0, 0);
      assert_int_equal((int)col(&r, i, "n_plots"), 0);
    }
  }
  fclose(f);
  assert_int_equal(matched, 3);
  cf_test_rmtree(dir);
  free(dir);
}

/* --- synthetic truth ------------------------------------------------------------------ */

#define SW 60
#define SH 60
#define X0 500000.0
#define Y0 5500000.0
#define RES 30.0

static double height(int i, int j) { return 8.0 + 20.0 * (0.5 + 0.5 * sin(i / 9.0) * cos(j / 7.0)); }
static double f_true(double h) { return 4.0 * pow(h, 1.3); } /* t d.m./ha */

static double gauss(cf_rng *r) {
  double u1 = (cf_rng_next(r) >> 11) * 0x1.0p-53, u2 = (cf_rng_next(r) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1 + 0x1.0p-60)) * cos(2 * M_PI * u2);
}

static void write_synthetic(const char *dir, int nplots, uint64_t seed) {
  double *h = malloc(sizeof(double) * SW * SH), gt[6] = {X0, RES, 0, Y0, 0, -RES};
  for (int j = 0; j < SH; j++)
    for (int i = 0; i < SW; i++) h[j * SW + i] = height(i, j);
  cf_test_write_tif(cf_test_path(dir, "height.tif"), SW, SH, 1, "Float64", gt, "EPSG:32611", NULL, h, 0);
  free(h);
  OGRSpatialReferenceH utm = OSRNewSpatialReference(NULL), wgs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(utm, 32611);
  OSRImportFromEPSG(wgs, 4326);
  OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(utm, wgs);
  FILE *f = fopen(cf_test_path(dir, "plots.csv"), "w");
  fprintf(f, "plot,stratum,area_ha,agb_t_dm_per_ha,lon,lat\n");
  cf_rng r;
  cf_rng_seed(&r, seed, 0);
  const double s = 0.3;
  for (int k = 0; k < nplots; k++) {
    int i = (int)(cf_rng_next(&r) % SW), j = (int)(cf_rng_next(&r) % SH);
    double x = X0 + (i + 0.5) * RES, y = Y0 - (j + 0.5) * RES, z = 0;
    double agb = f_true(height(i, j)) * exp(s * gauss(&r) - 0.5 * s * s); /* mean f */
    assert_true(OCTTransform(ct, 1, &x, &y, &z));
    fprintf(f, "P%d,A,0.09,%.17g,%.12f,%.12f\n", k, agb, x, y);
  }
  fclose(f);
  OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(utm);
  OSRDestroySpatialReference(wgs);
  /* the zone: the whole raster (edges inside the outer pixels' centres) */
  cf_test_write_text(cf_test_path(dir, "zone.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"name\":\"all\"},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[500001,5498201],[501799,5498201],"
                     "[501799,5499999],[500001,5499999],[500001,5498201]]]}}]}");
}

static const char *synthetic_yaml(const char *extra_features) {
  static char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n    name: height\n    path: height.tif\n"
           "  - type: ingest.vector\n    name: zone\n    path: zone.geojson\n    label_field: name\n"
           "    assign_crs: EPSG:32611\n"
           "  - type: sink.biomass_model\n    name: model\n    plots: plots.csv\n    features: [height]\n"
           "    kind: loglog\n    kfold: 5\n    seed: 7\n"
           "  - type: sink.pool_map\n    name: pools\n    model: model\n    features: [height%s]\n"
           "    root_shoot: 0.25\n"
           "  - type: write.cog\n    path: pools.tif\n    data_type: Float64\n"
           "  - type: sink.pool_zonal\n    input: pools\n    zones: zone\n    plots: plots.csv\n    model: model\n"
           "    path: zone.csv\n",
           extra_features);
  return yaml;
}

static void pipeline_difference_estimate_near_truth(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  write_synthetic(dir, 40, 11);
  const char *log = cf_test_path(dir, "log.txt");
  int rc = run_yaml(dir, synthetic_yaml(""), log);
  if (rc) show(log);
  assert_int_equal(rc, 0);
  assert_true(cf_test_file_contains(log, "40 training point(s), 40 usable"));
  assert_true(cf_test_file_contains(log, "\"cv\":{\"k\":5"));
  csv_rows r;
  read_csv(cf_test_path(dir, "zone.csv"), &r);
  assert_int_equal(r.n, 1);
  /* truth: the population mean of the total, 0.47 x 1.25 x f(h), over every pixel */
  double truth = 0;
  for (int j = 0; j < SH; j++)
    for (int i = 0; i < SW; i++) truth += 0.47 * 1.25 * f_true(height(i, j));
  truth /= SW * SH;
  assert_int_equal((long long)col(&r, 0, "pixels"), SW * SH);
  assert_close(col(&r, 0, "area_ha"), SW * SH * RES * RES / 1e4, 1e-15, 0);
  assert_int_equal((int)col(&r, 0, "n_plots"), 40);
  double est = col(&r, 0, "diff_mean_t_c_per_ha"), se = col(&r, 0, "diff_se_t_c_per_ha");
  assert_true(se > 0);
  /* one fixed seed: within 4 SE (a two-sided normal miss has chance 6e-5) */
  assert_true(fabs(est - truth) < 4 * se);
  assert_close(col(&r, 0, "diff_stock_t_co2e"), 44.0 / 12.0 * est * col(&r, 0, "area_ha"), 1e-14, 0);
  /* the COG: one band per estimated pool, the total and its SE, named */
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(cf_test_path(dir, "pools.tif"), GA_ReadOnly);
  assert_non_null(ds);
  assert_int_equal(GDALGetRasterCount(ds), 4);
  const char *want[] = {"agb", "bgb", "total", "total_se"};
  for (int b = 0; b < 4; b++) assert_string_equal(GDALGetDescription(GDALGetRasterBand(ds, b + 1)), want[b]);
  GDALClose(ds);
  cf_test_rmtree(dir);
  free(dir);
}

/* Coverage of mu_hat +- 1.645 SE over 200 independent samples of n = 30
 * plots. Expected: P(|t_29| < 1.645) = 0.89, a little less because the
 * residuals are in-sample (variance factor ~ (n-2)/(n-1)); the binomial SD
 * of a proportion near 0.89 over 200 draws is 0.022, so [0.83, 0.95] is
 * about +-2.7 SD. The seeds are fixed: the test is deterministic. */
static void difference_estimator_covers_the_truth(void **state) {
  (void)state;
  const int N = SW * SH, n = 30, draws = 200;
  cf_pool_map_params pp = {0.47, CF_ROOT_SHOOT_FIXED, 0.25, 0, 0, 0, CF_POOLS_TREES};
  double truth = 0;
  for (int k = 0; k < N; k++) {
    cf_pool_pixel_result px;
    cf_pool_pixel(&pp, f_true(height(k % SW, k / SW)), &px);
    truth += px.total;
  }
  truth /= N;
  cf_ctx *ctx = cf_test_ctx();
  int covered = 0;
  double x[30], y[30], yt[30], mt[30];
  for (int d = 0; d < draws; d++) {
    cf_rng r;
    cf_rng_seed(&r, 1000 + (uint64_t)d, 0);
    int at[30];
    for (int i = 0; i < n; i++) {
      at[i] = (int)(cf_rng_next(&r) % (uint64_t)N);
      x[i] = height(at[i] % SW, at[i] / SW);
      y[i] = f_true(x[i]) * exp(0.3 * gauss(&r) - 0.045);
    }
    cf_biomass_model m;
    assert_int_equal(cf_biomass_fit(ctx, CF_BIOMASS_LOGLOG, n, 1, x, y, &m), CF_OK);
    double mbar = 0;
    for (int k = 0; k < N; k++) {
      double h = height(k % SW, k / SW);
      cf_biomass_pred p;
      cf_pool_pixel_result px;
      cf_biomass_predict(&m, &h, &p);
      cf_pool_pixel(&pp, p.value, &px);
      mbar += px.total;
    }
    mbar /= N;
    for (int i = 0; i < n; i++) {
      cf_biomass_pred p;
      cf_pool_pixel_result a, b;
      cf_biomass_predict(&m, &x[i], &p);
      cf_pool_pixel(&pp, y[i], &a);
      cf_pool_pixel(&pp, p.value, &b);
      yt[i] = a.total, mt[i] = b.total;
    }
    cf_difference_est e;
    cf_difference_estimate(n, yt, mt, mbar, &e);
    covered += fabs(e.mean - truth) <= 1.645 * e.se;
  }
  cf_ctx_destroy(ctx);
  double cov = (double)covered / draws;
  print_message("difference estimator: coverage %.3f at 1.645 SE over %d draws\n", cov, draws);
  assert_true(cov >= 0.83 && cov <= 0.95);
}

/* --- bad input ------------------------------------------------------------------------ */

static void polygon_outside_the_raster_is_rejected(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  write_synthetic(dir, 40, 11);
  cf_test_write_text(cf_test_path(dir, "zone.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"name\":\"far\"},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[600000,5400000],[601000,5400000],"
                     "[601000,5401000],[600000,5401000],[600000,5400000]]]}}]}");
  const char *log = cf_test_path(dir, "log.txt");
  /* its extent misses the raster's: validation says so before anything runs
   * (exit 1); a polygon inside the raster that covers no pixel centre is
   * the item rejected at run time (exit 4, tests/test_user_findings.c) */
  assert_int_equal(run_yaml(dir, synthetic_yaml(""), log), 1);
  assert_true(cf_test_file_contains(log, "the polygons of stage 'zone' and the raster"));
  assert_true(cf_test_file_contains(log, "do not overlap"));
  cf_test_rmtree(dir);
  free(dir);
}

static void too_few_training_points(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  write_synthetic(dir, 2, 11);
  const char *log = cf_test_path(dir, "log.txt");
  assert_int_equal(run_yaml(dir, synthetic_yaml(""), log), 4);
  assert_true(cf_test_file_contains(log, "2 usable training point(s) for 1 feature(s): a fit needs at least 3"));
  cf_test_rmtree(dir);
  free(dir);
}

static void feature_count_must_be_the_models(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  write_synthetic(dir, 40, 11);
  const char *log = cf_test_path(dir, "log.txt");
  /* a configuration error found when the stage runs: CF_EINVAL, exit 2 */
  assert_int_equal(run_yaml(dir, synthetic_yaml(", height"), log), 2);
  assert_true(cf_test_file_contains(log, "has 1 feature(s) but 2 are given here"));
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gedi_stage_logs_the_filter_counts),
      cmocka_unit_test(kootenay_blocks_match_numpy),
      cmocka_unit_test(pipeline_difference_estimate_near_truth),
      cmocka_unit_test(difference_estimator_covers_the_truth),
      cmocka_unit_test(polygon_outside_the_raster_is_rejected),
      cmocka_unit_test(too_few_training_points),
      cmocka_unit_test(feature_count_must_be_the_models),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
