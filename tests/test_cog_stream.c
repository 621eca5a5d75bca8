/*
 * The COG writer's overviews built as tiles stream in (raster/cog.h).
 *
 * Expected values are computed here from the pixels the test wrote, never
 * by the code under test: a level is the mean of the valid pixels among
 * the 2 x 2 pixels of the level below (cascaded, in double, edges counting
 * only the pixels that exist), nodata where none is valid. Cases (2 bands
 * with nodata holes, blocksize 64, so 5 levels):
 *  - 1037 x 781 (odd sizes), 256-px input tiles;
 *  - 1040 x 300 in one-row strips;
 *  - 1037 x 300 in strips (odd width).
 * The streaming writer (raster/cog_stream.c) evaluates in COG tiles
 * whatever the input's layout and builds every level itself, so every
 * level equals the cascade as Float32 exactly in all three. (Before it,
 * strip inputs left the deeper levels to GDAL, whose AVERAGE weights the
 * edges of odd sizes differently: those were checked on their means.)
 * In every case the full resolution equals the input bitwise, the file
 * says LAYOUT=COG (and GDAL's validate_cloud_optimized_geotiff.py accepts
 * it where it is installed), and 1, 2 and 5 threads write identical files.
 */
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_test.h"

#define ND -9999.0
#define VALIDATOR "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"

/* A smooth field with holes of nodata (a disc and a sparse lattice). */
static double *make_input(int w, int h, int nb) {
  double *d = malloc(sizeof(double) * w * h * nb);
  assert_non_null(d);
  for (int b = 0; b < nb; b++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double v = 10.0 * (b + 1) + sin(x / 37.0) * cos(y / 23.0) * 5.0 + (x * 7 + y * 13) % 11 * 0.01;
        int hole = (x - w / 3) * (x - w / 3) + (y - h / 2) * (y - h / 2) < 40 * 40 || (x % 97 == 5 && y % 89 == 3) ||
                   (b == 1 && x < 3);
        d[((size_t)b * h + y) * w + x] = hole ? ND : (double)(float)v; /* as the Float32 file holds it */
      }
  return d;
}

/* One level down: 2 x 2 means of valid pixels; values and sizes in place. */
static double *halve(const double *in, int w, int h, int *ow, int *oh) {
  *ow = (w + 1) / 2, *oh = (h + 1) / 2;
  double *out = malloc(sizeof(double) * *ow * *oh);
  assert_non_null(out);
  for (int Y = 0; Y < *oh; Y++)
    for (int X = 0; X < *ow; X++) {
      double s = 0;
      int n = 0;
      for (int y = 2 * Y; y < 2 * Y + 2 && y < h; y++)
        for (int x = 2 * X; x < 2 * X + 2 && x < w; x++)
          if (in[(size_t)y * w + x] != ND) s += in[(size_t)y * w + x], n++;
      out[(size_t)Y * *ow + X] = n ? s / n : ND;
    }
  return out;
}

static char *file_bytes(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)*n);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)*n, f), (size_t)*n);
  fclose(f);
  return b;
}

/* Write the input, run write.cog with 1, 5 and 2 threads, check the file. */
static void check_case(int w, int h, int tile) {
  const int nb = 2;
  char *dir = cf_test_tmpdir();
  double *in = make_input(w, h, nb);
  double gt[6] = {500000, 10, 0, 4500000, 0, -10}, nd[2] = {ND, ND};
  cf_test_write_tif(cf_test_path(dir, "in.tif"), w, h, nb, "Float32", gt, "EPSG:32650", nd, in, tile);
  cf_test_write_text(cf_test_path(dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: in.tif\n"
                     "  - type: write.cog\n"
                     "    path: out.tif\n"
                     "    blocksize: 64\n");
  char args[1400], out1[1100], out2[1100];
  snprintf(args, sizeof args, "--threads 1 %s", cf_test_run_args(dir));
  assert_int_equal(cf_test_cli(args, NULL), 0);
  snprintf(out1, sizeof out1, "%s", cf_test_path(dir, "out1.tif"));
  snprintf(out2, sizeof out2, "%s", cf_test_path(dir, "out.tif"));
  assert_int_equal(rename(out2, out1), 0);
  /* 5 threads on this 2-core machine: threads descheduled mid-tile make
   * the others run ahead, filling the writer's window of fragments */
  for (int threads = 5; threads >= 2; threads -= 3) {
    snprintf(args, sizeof args, "--threads %d %s", threads, cf_test_run_args(dir));
    assert_int_equal(cf_test_cli(args, NULL), 0);
    long n1, n2;
    char *b1 = file_bytes(out1, &n1), *b2 = file_bytes(out2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, (size_t)n1); /* 1 thread and `threads` */
    free(b1);
    free(b2);
  }

  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(out2, GA_ReadOnly);
  assert_non_null(ds);
  const char *layout = GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE");
  assert_non_null(layout);
  assert_string_equal(layout, "COG");
  for (int b = 0; b < nb; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    const double *src = in + (size_t)b * w * h;
    float *row = malloc(sizeof(float) * w);
    assert_non_null(row);
    for (int y = 0; y < h; y++) { /* full resolution: the input as Float32 */
      assert_int_equal(GDALRasterIO(band, GF_Read, 0, y, w, 1, row, w, 1, GDT_Float32, 0, 0), CE_None);
      for (int x = 0; x < w; x++) assert_true(row[x] == (float)src[(size_t)y * w + x]);
    }
    free(row);
    int nov = GDALGetOverviewCount(band);
    assert_int_equal(nov, 5); /* 1037 or 1040 wide, blocksize 64: factors 2..32 */
    double *lev = malloc(sizeof(double) * w * h);
    assert_non_null(lev);
    memcpy(lev, src, sizeof(double) * w * h);
    int lw = w, lh = h;
    for (int k = 0; k < nov; k++) {
      int ow, oh;
      double *next = halve(lev, lw, lh, &ow, &oh);
      free(lev);
      lev = next, lw = ow, lh = oh;
      GDALRasterBandH ob = GDALGetOverview(band, k);
      assert_int_equal(GDALGetRasterBandXSize(ob), lw);
      assert_int_equal(GDALGetRasterBandYSize(ob), lh);
      double *got = malloc(sizeof(double) * lw * lh);
      assert_non_null(got);
      assert_int_equal(GDALRasterIO(ob, GF_Read, 0, 0, lw, lh, got, lw, lh, GDT_Float64, 0, 0), CE_None);
      for (size_t i = 0; i < (size_t)lw * lh; i++) assert_true(got[i] == (double)(float)lev[i]);
      free(got);
    }
    free(lev);
  }
  GDALClose(ds);
  if (access(VALIDATOR, R_OK) == 0 && access("/usr/bin/python3", X_OK) == 0) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s -q '%s'", VALIDATOR, out2);
    assert_int_equal(system(cmd), 0);
  }
  free(in);
  cf_test_rmtree(dir);
  free(dir);
}

static void streamed_every_level(void **state) {
  (void)state;
  check_case(1037, 781, 256);
}

static void strips_even_width(void **state) {
  (void)state;
  check_case(1040, 300, 0);
}

static void strips_odd_width(void **state) {
  (void)state;
  check_case(1037, 300, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(streamed_every_level),
      cmocka_unit_test(strips_even_width),
      cmocka_unit_test(strips_odd_width),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
