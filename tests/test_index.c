/*
 * NDVI and EVI on known values, and nodata propagation, through a real
 * pipeline (GeoTIFF in, COG out). Expected values are computed here from
 * the published formulas (raster/index.h), not by the library.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "raster/index.h"

/* Output is Float32: a value v survives with relative error <= 2^-24 ~ 6e-8. */
#define F32_RTOL 1.2e-7

static void formulas_on_hand_computed_pixels(void **state) {
  (void)state;
  double v;
  /* NDVI(red 0.1, nir 0.5) = 0.4 / 0.6 */
  assert_int_equal(cf_index_pixel(CF_INDEX_NDVI, 0.1, 0.5, 0, &v), 0);
  assert_close(v, 2.0 / 3.0, 1e-15, 0);
  /* EVI = 2.5 * 0.4 / (0.5 + 6*0.1 - 7.5*0.05 + 1) = 1.0 / 1.725 */
  assert_int_equal(cf_index_pixel(CF_INDEX_EVI, 0.1, 0.5, 0.05, &v), 0);
  assert_close(v, 1.0 / 1.725, 1e-15, 0);
  /* SAVI = 1.5 * 0.4 / (0.6 + 0.5) */
  assert_int_equal(cf_index_pixel(CF_INDEX_SAVI, 0.1, 0.5, 0, &v), 0);
  assert_close(v, 0.6 / 1.1, 1e-15, 0);
  /* undefined where the denominator vanishes */
  assert_int_equal(cf_index_pixel(CF_INDEX_NDVI, 0.0, 0.0, 0, &v), -1);
}

/* 3 bands (blue, red, nir) of 4 x 3 pixels: DN = reflectance * 10000. */
static const double blue[12] = {500, 500, 300, 800, 500, 500, 500, 500, 500, 500, 500, 500};
static const double red[12] = {1000, 400, 0, 2000, 1000, 9999, 1000, 1000, 1000, 1000, 1000, 1000};
static const double nir[12] = {5000, 3000, 0, 2500, 1000, 5000, 6000, 0, 1000, 5000, 5000, 5000};

static void run_index(const char *dir, const char *index, double *out) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: in.tif\n"
           "    bands: [blue, red, nir]\n"
           "  - type: raster.index\n"
           "    index: %s\n"
           "    scale: 0.0001\n"
           "  - type: write.cog\n"
           "    path: %s.tif\n",
           index, index);
  const char *p = cf_test_path(dir, "p.yaml");
  cf_test_write_text(p, yaml);
  cf_ctx *ctx = cf_test_ctx();
  cf_pipeline *pl;
  assert_int_equal(cf_pipeline_load(ctx, p, NULL, 0, &pl), CF_OK);
  cf_run_summary s;
  assert_int_equal(cf_pipeline_run(ctx, pl, &s), CF_OK);
  assert_int_equal(s.succeeded, 1);
  cf_run_summary_free(&s);
  cf_pipeline_free(pl);
  cf_ctx_destroy(ctx);
  char name[64];
  snprintf(name, sizeof name, "%s.tif", index);
  int w, h, has_nd;
  double nd;
  double *v = cf_test_read_band(cf_test_path(dir, name), 1, &w, &h, NULL, &nd, &has_nd);
  assert_int_equal(w, 4);
  assert_int_equal(h, 3);
  assert_true(has_nd);
  assert_close(nd, -9999, 0, 0); /* the documented default */
  memcpy(out, v, 12 * sizeof *out);
  free(v);
}

static void ndvi_evi_through_pipeline_with_nodata(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  double data[36];
  memcpy(data, blue, sizeof blue);
  memcpy(data + 12, red, sizeof red);
  memcpy(data + 24, nir, sizeof nir);
  /* nodata 9999 on every band: pixel 5's red is nodata */
  double nodata[3] = {9999, 9999, 9999};
  double gt[6] = {500000, 30, 0, 3400090, 0, -30};
  cf_test_write_tif(cf_test_path(dir, "in.tif"), 4, 3, 3, "UInt16", gt, "EPSG:32650", nodata, data, 0);

  double out[12];
  run_index(dir, "ndvi", out);
  for (int i = 0; i < 12; i++) {
    double r = red[i] * 1e-4, n = nir[i] * 1e-4;
    if (i == 5 || r + n == 0) {
      assert_close(out[i], -9999, 0, 0); /* nodata input or undefined: nodata, never a number */
    } else {
      assert_close(out[i], (n - r) / (n + r), F32_RTOL, 1e-12);
    }
  }
  run_index(dir, "evi", out);
  for (int i = 0; i < 12; i++) {
    double b = blue[i] * 1e-4, r = red[i] * 1e-4, n = nir[i] * 1e-4;
    double den = n + 6 * r - 7.5 * b + 1;
    if (i == 5) {
      assert_close(out[i], -9999, 0, 0);
    } else {
      assert_close(out[i], 2.5 * (n - r) / den, F32_RTOL, 1e-12);
    }
  }
  cf_test_rmtree(dir);
  free(dir);
}

/* A Float32 raster whose nodata is NaN: NaN pixels must come out as the
 * output's nodata value, and no NaN may reach the file. */
static void nan_nodata_is_masked_not_propagated(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  double data[2 * 12];
  for (int i = 0; i < 12; i++) {
    data[i] = 0.1;         /* red */
    data[12 + i] = 0.3;    /* nir */
  }
  data[3] = NAN;
  data[12 + 7] = NAN;
  double nodata[2] = {NAN, NAN};
  double gt[6] = {500000, 30, 0, 3400090, 0, -30};
  cf_test_write_tif(cf_test_path(dir, "in.tif"), 4, 3, 2, "Float32", gt, "EPSG:32650", nodata, data, 0);
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "    bands: [red, nir]\n"
      "  - type: raster.index\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    path: out.tif\n";
  cf_test_write_text(cf_test_path(dir, "p.yaml"), y);
  assert_int_equal(cf_test_cli(CF_CLI_QUIET_RUN(dir), NULL), 0);
  int w, h;
  double *v = cf_test_read_band(cf_test_path(dir, "out.tif"), 1, &w, &h, NULL, NULL, NULL);
  for (int i = 0; i < 12; i++) {
    assert_false(isnan(v[i]));
    if (i == 3 || i == 7)
      assert_close(v[i], -9999, 0, 0);
    else
      assert_close(v[i], 0.2 / 0.4, F32_RTOL, 0);
  }
  free(v);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(formulas_on_hand_computed_pixels),
      cmocka_unit_test(ndvi_evi_through_pipeline_with_nodata),
      cmocka_unit_test(nan_nodata_is_masked_not_propagated),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
