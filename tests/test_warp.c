/*
 * Warping onto the project grid.
 *
 * Independent references:
 *  - a field linear in projected x, y: bilinear resampling of a linear
 *    function is exact, so every interior output pixel must equal the
 *    function at its own centre;
 *  - nearest neighbour under reprojection: an output pixel must hold the
 *    value of the source pixel that contains its centre mapped back with
 *    PROJ's own API (proj_trans), not through GDAL;
 *  - the real Landsat subset RGB.byte.tif (UTM 18N) warped to EPSG:4326: the
 *    grid's bounds lie within half a pixel of the PROJ-transformed corners.
 */
#include <math.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "raster/source.h"
#include "raster/warp.h"

typedef struct {
  double *v; /* band 0 of the whole grid */
  int w;
} collect;

static int collect_tile(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  collect *c = user;
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      size_t k = (size_t)j * w->nx + i;
      c->v[(size_t)(w->y0 + j) * c->w + w->x0 + i] = b->valid[k] ? b->data[k] : NAN;
    }
  return CF_OK;
}

/* Warp `path` onto a grid; returns band 1 of the result (NaN = invalid). */
static double *warp_file(cf_ctx *ctx, const char *path, const cf_grid_spec *spec, const char *resampling,
                         cf_grid *grid_out) {
  cf_raster *src = cf_source_create(ctx, path, NULL);
  assert_non_null(src);
  assert_int_equal(cf_grid_define(ctx, spec, src, grid_out), CF_OK);
  cf_raster *wr = cf_warp_create(ctx, src, grid_out, resampling);
  assert_non_null(wr);
  collect c = {malloc((size_t)grid_out->width * grid_out->height * sizeof(double)), grid_out->width};
  cf_tiling t;
  cf_tiling_make(&t, wr, 1 << 16);
  assert_int_equal(cf_engine_run(ctx, wr, &t, collect_tile, &c, "warp"), CF_OK);
  cf_raster_destroy(wr);
  cf_raster_destroy(src);
  return c.v;
}

/* f(x, y) = 0.01 (x - X0) + 0.02 (y - Y0) + 5 in metres of UTM 50N */
#define X0 500000.0
#define Y0 3400000.0
static double field(double x, double y) { return 0.01 * (x - X0) + 0.02 * (y - Y0) + 5.0; }

static void write_linear_source(const char *path, int w, int h, double res) {
  double gt[6] = {X0, res, 0, Y0 + h * res, 0, -res};
  double *d = malloc((size_t)w * h * sizeof *d);
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) d[(size_t)j * w + i] = field(X0 + (i + 0.5) * res, gt[3] - (j + 0.5) * res);
  cf_test_write_tif(path, w, h, 1, "Float64", gt, "EPSG:32650", NULL, d, 64);
  free(d);
}

static void bilinear_reproduces_linear_field(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *src = cf_test_path(dir, "lin.tif");
  write_linear_source(src, 600, 500, 10.0);
  cf_ctx *ctx = cf_test_ctx();
  cf_grid_spec spec = {0};
  /* Upsampling (10 m -> 7 m), where GDAL's bilinear is the classic 4-point
   * interpolation. (When downsampling GDAL widens the kernel to the
   * scale ratio; a tent sampled at a fractional phase is then not exact
   * for linear fields, so that case has no analytic answer.) */
  spec.res_x = spec.res_y = 7.0;
  spec.have_extent = 1;
  /* an extent that does not line up with the source pixels: 571 x 571 px */
  double ext[4] = {X0 + 1003, Y0 + 517, X0 + 1003 + 571 * 7, Y0 + 517 + 571 * 7};
  memcpy(spec.extent, ext, sizeof ext);
  cf_grid g;
  double *v = warp_file(ctx, src, &spec, "bilinear", &g);
  assert_int_equal(g.width, 571);
  assert_int_equal(g.height, 571);
  assert_close(g.gt[0], ext[0], 0, 1e-9);
  assert_close(g.gt[3], ext[3], 0, 1e-9);
  for (int j = 0; j < g.height; j++)
    for (int i = 0; i < g.width; i++) {
      double x = g.gt[0] + (i + 0.5) * g.gt[1], y = g.gt[3] + (j + 0.5) * g.gt[5];
      /* values ~ 10..120; the warper works in double: 1e-9 absolute is
       * rounding only, any interpolation error would be >= 1e-3 */
      assert_close(v[(size_t)j * g.width + i], field(x, y), 0, 1e-9);
    }
  free(v);
  cf_grid_free(&g);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void nearest_matches_proj_inverse(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *src = cf_test_path(dir, "lin.tif");
  const int sw = 400, sh = 300;
  const double sres = 30.0;
  write_linear_source(src, sw, sh, sres);
  cf_ctx *ctx = cf_test_ctx();
  cf_grid_spec spec = {0};
  spec.crs = "EPSG:4326";
  spec.res_x = spec.res_y = 0.0002;
  cf_grid g;
  double *v = warp_file(ctx, src, &spec, "near", &g);

  PJ_CONTEXT *pc = proj_context_create();
  PJ *raw = proj_create_crs_to_crs(pc, "EPSG:4326", "EPSG:32650", NULL);
  PJ *pj = proj_normalize_for_visualization(pc, raw); /* lon, lat order */
  assert_non_null(pj);
  int checked = 0;
  for (int j = 3; j < g.height; j += 17)
    for (int i = 5; i < g.width; i += 13) {
      double lon = g.gt[0] + (i + 0.5) * g.gt[1], lat = g.gt[3] + (j + 0.5) * g.gt[5];
      PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(lon, lat, 0, 0));
      double fi = (c.xy.x - X0) / sres, fj = (Y0 + sh * sres - c.xy.y) / sres;
      double got = v[(size_t)j * g.width + i];
      if (fi < 0 || fj < 0 || fi >= sw || fj >= sh) {
        assert_true(isnan(got)); /* outside the source: nodata */
        continue;
      }
      /* skip centres within 1e-6 pixel of a source pixel edge, where two
       * exact answers exist */
      if (fabs(fi - floor(fi + 0.5)) < 1e-6 || fabs(fj - floor(fj + 0.5)) < 1e-6) continue;
      int si = (int)floor(fi), sj = (int)floor(fj);
      double expect = field(X0 + (si + 0.5) * sres, Y0 + sh * sres - (sj + 0.5) * sres);
      assert_close(got, expect, 0, 1e-9); /* a copied value: exact up to rounding */
      checked++;
    }
  assert_true(checked > 100);
  proj_destroy(pj);
  proj_destroy(raw);
  proj_context_destroy(pc);
  free(v);
  cf_grid_free(&g);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void rgb_byte_to_wgs84_keeps_corners(void **state) {
  (void)state;
  const char *path = CF_SHARED_DATA "/RGB.byte.tif";
  cf_ctx *ctx = cf_test_ctx();
  cf_grid_spec spec = {0};
  spec.crs = "EPSG:4326";
  cf_grid g;
  double *v = warp_file(ctx, path, &spec, "near", &g);

  /* corners of the original (from the file: origin 101985, 2826915; pixel
   * 300.0379 x 300.0418; 791 x 718), transformed with PROJ directly */
  int sw, sh;
  double sgt[6];
  double *band = cf_test_read_band(path, 1, &sw, &sh, sgt, NULL, NULL);
  free(band);
  PJ_CONTEXT *pc = proj_context_create();
  PJ *raw = proj_create_crs_to_crs(pc, "EPSG:32618", "EPSG:4326", NULL);
  PJ *pj = proj_normalize_for_visualization(pc, raw);
  double lon[4], lat[4];
  for (int k = 0; k < 4; k++) {
    double x = sgt[0] + (k % 2) * sw * sgt[1], y = sgt[3] + (k / 2) * sh * sgt[5];
    PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0));
    lon[k] = c.lp.lam;
    lat[k] = c.lp.phi;
  }
  double west = fmin(lon[0], lon[2]), east = fmax(lon[1], lon[3]);
  double north = fmax(lat[0], lat[1]), south = fmin(lat[2], lat[3]);
  double xmax = g.gt[0] + g.width * g.gt[1], ymin = g.gt[3] + g.height * g.gt[5];
  /* the criterion: within half an output pixel */
  assert_close(g.gt[0], west, 0, 0.5 * g.gt[1]);
  assert_close(xmax, east, 0, 0.5 * g.gt[1]);
  assert_close(g.gt[3], north, 0, 0.5 * -g.gt[5]);
  assert_close(ymin, south, 0, 0.5 * -g.gt[5]);

  /* and the pixels are where PROJ says: sample interior source pixels, map
   * their centres to lon/lat and compare with the output there */
  double *src = cf_test_read_band(path, 1, &sw, &sh, sgt, NULL, NULL);
  int same = 0, total = 0;
  for (int sj = 20; sj < sh - 20; sj += 37)
    for (int si = 20; si < sw - 20; si += 41) {
      double x = sgt[0] + (si + 0.5) * sgt[1], y = sgt[3] + (sj + 0.5) * sgt[5];
      PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0));
      int i = (int)floor((c.lp.lam - g.gt[0]) / g.gt[1]), j = (int)floor((c.lp.phi - g.gt[3]) / g.gt[5]);
      double sv = src[(size_t)sj * sw + si], ov = v[(size_t)j * g.width + i];
      if (sv == 0) continue; /* nodata collar */
      total++;
      /* nearest neighbour may pick an adjacent source pixel (output pixels
       * are not aligned with input ones), so compare with the 3x3
       * neighbourhood */
      int found = 0;
      for (int dj = -1; dj <= 1; dj++)
        for (int di = -1; di <= 1; di++) found |= src[(size_t)(sj + dj) * sw + si + di] == ov;
      same += found;
    }
  assert_true(total > 100);
  assert_int_equal(same, total);
  free(src);
  proj_destroy(pj);
  proj_destroy(raw);
  proj_context_destroy(pc);
  free(v);
  cf_grid_free(&g);
  cf_ctx_destroy(ctx);
}

static void boundary_extent_snaps_to_whole_pixels(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *src = cf_test_path(dir, "lin.tif");
  write_linear_source(src, 300, 300, 10.0);
  cf_test_write_text(cf_test_path(dir, "b.geojson"),
                     "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":"
                     "\"urn:ogc:def:crs:EPSG::32650\"}},\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[500123,3400456],[501987,3400456],"
                     "[501987,3402345],[500123,3402345],[500123,3400456]]]}}]}");
  cf_ctx *ctx = cf_test_ctx();
  cf_vector v;
  assert_int_equal(cf_vector_read(ctx, cf_test_path(dir, "b.geojson"), NULL, NULL, &v), CF_OK);
  cf_raster *r = cf_source_create(ctx, src, NULL);
  cf_grid_spec spec = {0};
  spec.res_x = spec.res_y = 20;
  spec.boundary = &v;
  cf_grid g;
  assert_int_equal(cf_grid_define(ctx, &spec, r, &g), CF_OK);
  /* floor(500123/20)*20 = 500120, ceil(3402345/20)*20 = 3402360,
   * columns (501987 -> 502000): (502000-500120)/20 = 94, rows (3400456 -> 3400440): 96 */
  assert_close(g.gt[0], 500120, 0, 1e-6);
  assert_close(g.gt[3], 3402360, 0, 1e-6);
  assert_int_equal(g.width, 94);
  assert_int_equal(g.height, 96);
  cf_grid_free(&g);
  cf_raster_destroy(r);
  cf_vector_free(&v);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bilinear_reproduces_linear_field),
      cmocka_unit_test(nearest_matches_proj_inverse),
      cmocka_unit_test(rgb_byte_to_wgs84_keeps_corners),
      cmocka_unit_test(boundary_extent_snaps_to_whole_pixels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
