/*
 * Nodata is never invented or lost (issue 7, item 7).
 *
 * Every expected count here is computed from the input as GDAL reads it
 * (cf_test_read_band) or from the pixels the test wrote, never by the code
 * under test:
 *  - RGB.byte.tif (Byte, nodata 0 on all bands, many valid 255s) through a
 *    same-grid warp to a Byte COG keeps every valid pixel, every 255 and
 *    every value, and its nodata stays outside the data;
 *  - the same file warped to EPSG:4326 with nearest neighbour at ~200 m
 *    (finer than its 300 m pixels, so every source pixel lands in at least
 *    one output pixel) keeps every distinct valid value of each band, and
 *    the share of 255s (within 5 %, areas change smoothly across the scene);
 *  - a 3-band file with a different nodata per band (0, 255, none) keeps
 *    each band's mask for that band only, and the one nodata value a GeoTIFF
 *    can hold is the only Byte value that no band's valid pixels use;
 *  - when every Byte value is data, Byte output is refused with a message
 *    naming a wider type, and a given nodata that is data is refused.
 */
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"

/* Run pipeline `yaml` (written into dir); returns the run's status. */
static int run_yaml(cf_ctx *ctx, const char *dir, const char *yaml) {
  char path[1024];
  snprintf(path, sizeof path, "%s/p.yaml", dir);
  cf_test_write_text(path, yaml);
  cf_error_clear(ctx);
  cf_pipeline *p = NULL;
  int rc = cf_pipeline_load(ctx, path, NULL, 0, &p);
  if (rc) {
    print_error("load: %s\n", cf_error_message(ctx));
    return rc;
  }
  cf_run_summary s;
  rc = cf_pipeline_run(ctx, p, &s);
  cf_run_summary_free(&s);
  cf_pipeline_free(p);
  return rc;
}

/* ingest.raster `in`, the stages `middle` (YAML lines, may be ""), then
 * write.cog to `out` with the options `cog` (YAML lines). */
static int run_to_cog(cf_ctx *ctx, const char *dir, const char *in, const char *middle, const char *out,
                      const char *cog) {
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n  - type: ingest.raster\n    path: %s\n%s  - type: write.cog\n    path: %s\n%s", in,
           middle, out, cog);
  return run_yaml(ctx, dir, yaml);
}

#define RGB CF_SHARED_DATA "/RGB.byte.tif"
#define WARP "  - type: raster.warp\n"

static void rgb_same_grid_keeps_every_valid_pixel(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  char out[1100];
  snprintf(out, sizeof out, "%s/same.tif", dir);
  assert_int_equal(run_to_cog(ctx, dir, RGB, WARP, out, "    data_type: Byte\n"), CF_OK);
  for (int b = 1; b <= 3; b++) {
    int sw, sh, ow, oh, shas, ohas;
    double sgt[6], ogt[6], snd, ond;
    double *s = cf_test_read_band(RGB, b, &sw, &sh, sgt, &snd, &shas);
    double *o = cf_test_read_band(out, b, &ow, &oh, ogt, &ond, &ohas);
    assert_true(shas && snd == 0); /* the file's nodata, as gdalinfo shows */
    assert_int_equal(ow, sw);
    assert_int_equal(oh, sh);
    assert_true(ohas);
    size_t n = (size_t)sw * sh, sv = 0, s255 = 0, ov = 0, o255 = 0, same = 0, clash = 0;
    for (size_t i = 0; i < n; i++) {
      sv += s[i] != snd;
      s255 += s[i] == 255;
      ov += o[i] != ond;
      o255 += o[i] == 255 && o[i] != ond;
      same += s[i] == snd ? o[i] == ond : o[i] == s[i];
      clash += s[i] != snd && s[i] == ond;
    }
    print_message("band %d: source %zu valid, %zu of 255; output nodata %g, %zu valid, %zu of 255\n", b, sv, s255,
                  ond, ov, o255);
    assert_true(s255 > 10000); /* the case of the issue: valid 255s exist */
    assert_int_equal(clash, 0); /* the output nodata is no valid source value */
    assert_int_equal(ov, sv);
    assert_int_equal(o255, s255);
    assert_int_equal(same, n); /* pixel for pixel */
    free(s);
    free(o);
  }
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void rgb_to_wgs84_keeps_every_value(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  char out[1100];
  snprintf(out, sizeof out, "%s/wgs84.tif", dir);
  assert_int_equal(run_to_cog(ctx, dir, RGB, WARP "    crs: EPSG:4326\n    resolution: 0.002\n    resampling: near\n",
                              out, "    data_type: Byte\n    overviews: NONE\n"),
                   CF_OK);
  for (int b = 1; b <= 3; b++) {
    int sw, sh, ow, oh, ohas;
    double sgt[6], ogt[6], snd, ond;
    double *s = cf_test_read_band(RGB, b, &sw, &sh, sgt, &snd, NULL);
    double *o = cf_test_read_band(out, b, &ow, &oh, ogt, &ond, &ohas);
    assert_true(ohas);
    assert_close(ogt[1], 0.002, 1e-12, 0);
    size_t shist[256] = {0}, ohist[256] = {0}, sv = 0, ov = 0;
    for (size_t i = 0; i < (size_t)sw * sh; i++)
      if (s[i] != snd) shist[(int)s[i]]++, sv++;
    for (size_t i = 0; i < (size_t)ow * oh; i++)
      if (o[i] != ond) ohist[(int)o[i]]++, ov++;
    int lost = 0, invented = 0;
    for (int k = 0; k < 256; k++) {
      lost += shist[k] && !ohist[k];
      invented += !shist[k] && ohist[k];
    }
    double sf = (double)shist[255] / sv, of = (double)ohist[255] / ov;
    print_message("band %d: nodata %g; %d source values missing, %d invented; share of 255: %.4f source, %.4f output\n",
                  b, ond, lost, invented, sf, of);
    assert_true(shist[(int)ond] == 0 || ond == snd);
    assert_int_equal(lost, 0);
    assert_int_equal(invented, 0);
    assert_close(of, sf, 0.05, 0);
    free(s);
    free(o);
  }
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

enum { N = 16 }; /* 16 x 16 = 256 pixels: pixel k can hold value k */

/* Band values of the per-band file: band 1 nodata 0, band 2 nodata 255,
 * band 3 none. No band has 77 as valid data and every other Byte value is
 * valid somewhere, so 77 is the only free value. */
static double band_value(int b, int k) {
  if (k == 77) return 78;
  (void)b;
  return k;
}

/* A GTiff holds one nodata for all bands, so the per-band nodata lives in a
 * VRT over a GTiff without nodata. */
static void write_per_band(const char *dir, char *vrt, size_t len, int all_values) {
  char tif[1100];
  snprintf(tif, sizeof tif, "%s/bands.tif", dir);
  snprintf(vrt, len, "%s/bands.vrt", dir);
  double *data = malloc(3 * N * N * sizeof *data);
  for (int b = 0; b < 3; b++)
    for (int k = 0; k < N * N; k++) data[b * N * N + k] = all_values && b == 2 ? k : band_value(b, k);
  double gt[6] = {500000, 30, 0, 4000000, 0, -30};
  cf_test_write_tif(tif, N, N, 3, "Byte", gt, "EPSG:32650", NULL, data, 0);
  free(data);
  GDALAllRegister();
  GDALDatasetH src = GDALOpen(tif, GA_ReadOnly);
  GDALDatasetH v = GDALCreateCopy(GDALGetDriverByName("VRT"), vrt, src, FALSE, NULL, NULL, NULL);
  GDALSetRasterNoDataValue(GDALGetRasterBand(v, 1), 0);
  GDALSetRasterNoDataValue(GDALGetRasterBand(v, 2), 255);
  GDALClose(v);
  GDALClose(src);
}

static void per_band_nodata_stays_per_band(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  char vrt[1100], out[1100], cog[128];
  write_per_band(dir, vrt, sizeof vrt, 0);
  int has[3];
  double nd[3];
  int w, h;
  for (int b = 0; b < 3; b++) free(cf_test_read_band(vrt, b + 1, &w, &h, NULL, &nd[b], &has[b]));
  assert_true(has[0] && nd[0] == 0 && has[1] && nd[1] == 255 && !has[2]); /* as written */
  const char *types[] = {"Byte", "Float32"};
  for (int t = 0; t < 2; t++) {
    snprintf(out, sizeof out, "%s/out_%s.tif", dir, types[t]);
    snprintf(cog, sizeof cog, "    data_type: %s\n    overviews: NONE\n", types[t]);
    assert_int_equal(run_to_cog(ctx, dir, vrt, WARP, out, cog), CF_OK);
    for (int b = 0; b < 3; b++) {
      int ow, oh, ohas;
      double gt[6], ond;
      double *o = cf_test_read_band(out, b + 1, &ow, &oh, gt, &ond, &ohas);
      assert_int_equal(ow * oh, N * N);
      assert_true(ohas);
      /* Byte: 77 is the only value no band's valid pixels have; Float32:
       * the documented default -9999 */
      assert_close(ond, t == 0 ? 77 : -9999, 0, 0);
      int masked = 0, wrong = 0;
      for (int k = 0; k < N * N; k++) {
        double v = band_value(b, k);
        int src_masked = has[b] && v == nd[b];
        masked += o[k] == ond;
        wrong += src_masked ? o[k] != ond : o[k] != v;
      }
      print_message("%s band %d: nodata %g, %d masked, %d pixels differ\n", types[t], b + 1, ond, masked, wrong);
      assert_int_equal(masked, has[b] ? 1 : 0); /* value 0 (band 1), 255 (band 2) once each */
      assert_int_equal(wrong, 0);
      free(o);
    }
  }
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void no_free_value_or_given_clash_is_refused(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  char vrt[1100], out[1100];
  write_per_band(dir, vrt, sizeof vrt, 1); /* band 3: all 256 values, no nodata */
  snprintf(out, sizeof out, "%s/full.tif", dir);
  assert_int_not_equal(run_to_cog(ctx, dir, vrt, "", out, "    data_type: Byte\n"), CF_OK);
  assert_int_equal(cf_test_count_entries(dir, "full.tif"), 0); /* nothing left */
  /* a wider type has room: 65535 */
  assert_int_equal(run_to_cog(ctx, dir, vrt, "", out, "    data_type: UInt16\n"), CF_OK);
  double ond;
  int w, h;
  free(cf_test_read_band(out, 3, &w, &h, NULL, &ond, NULL));
  assert_close(ond, 65535, 0, 0);
  /* a given nodata that valid pixels have is refused */
  snprintf(out, sizeof out, "%s/given.tif", dir);
  assert_int_not_equal(run_to_cog(ctx, dir, vrt, "", out, "    data_type: UInt16\n    nodata: 200\n"), CF_OK);
  assert_int_equal(cf_test_count_entries(dir, "given.tif"), 0);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rgb_same_grid_keeps_every_valid_pixel),
      cmocka_unit_test(rgb_to_wgs84_keeps_every_value),
      cmocka_unit_test(per_band_nodata_stays_per_band),
      cmocka_unit_test(no_free_value_or_given_clash_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
