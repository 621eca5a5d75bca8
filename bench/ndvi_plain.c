/*
 * The I/O limit: what producing the NDVI COG costs when nothing but the
 * unavoidable is done. It moves exactly the bytes carbonflux moves, the
 * fastest plain way GDAL offers:
 *  - reads both bands in block-aligned windows, both bands per call, in
 *    the file's own type (UInt16: no conversion to double, no masks), with
 *    GDAL's multi-threaded tile decoding (the GTiff NUM_THREADS open option);
 *  - writes one Float32 band to a temporary uncompressed tiled GTiff laid
 *    out as raster/cog.c lays out its own (512 x 512 tiles for a 256-blocked
 *    input);
 *  - has the COG driver compress it and build overviews with the same
 *    creation options and thread count as carbonflux, as raster/cog.c does
 *    (the COG driver only copies; DESIGN.md).
 * What it writes is the NDVI itself, from an inline loop (a few hundredths
 * of a second for 10^8 pixels), not a cheaper stand-in such as the red band
 * as float: DEFLATE's speed depends on the bytes it compresses, and the COG
 * step is most of the time. Measured at 10000 x 10000 with 2 threads, the
 * COG step took 12-14 s (23 CPU-s) for red-as-float and 5.1-5.4 s (9.7
 * CPU-s) for the NDVI: a stand-in would have made the limit twice too slow
 * and any ratio to it flattering. Identical output bytes make the
 * comparison exact.
 * Its own memory is two window buffers whatever the size; the rest is
 * GDAL's (the block cache, the COG driver's overview generation).
 */
#include <cpl_string.h>
#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ndvi_bench.h"

#define TMP_TILE 512              /* what cf_tiling_make gives a 256-blocked input */
#define WINDOW_W (4 * TMP_TILE)   /* a few tiles per call: work for the decoder threads */
#define WINDOW_H TMP_TILE

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static GDALDatasetH open_input(const char *path, int threads) {
  char **oo = CSLSetNameValue(NULL, "NUM_THREADS", CPLSPrintf("%d", threads));
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, (const char *const *)oo, NULL);
  CSLDestroy(oo);
  return ds;
}

static GDALDatasetH create_temp(const char *path, GDALDatasetH src) {
  int w = GDALGetRasterXSize(src), h = GDALGetRasterYSize(src);
  char **co = NULL;
  co = CSLSetNameValue(co, "TILED", "YES");
  co = CSLSetNameValue(co, "BLOCKXSIZE", CPLSPrintf("%d", TMP_TILE));
  co = CSLSetNameValue(co, "BLOCKYSIZE", CPLSPrintf("%d", TMP_TILE));
  co = CSLSetNameValue(co, "BIGTIFF", "IF_SAFER");
  co = CSLSetNameValue(co, "SPARSE_OK", "FALSE");
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, 1, GDT_Float32, co);
  CSLDestroy(co);
  if (!ds) return NULL;
  double gt[6];
  if (GDALGetGeoTransform(src, gt) == CE_None) GDALSetGeoTransform(ds, gt);
  GDALSetProjection(ds, GDALGetProjectionRef(src));
  GDALSetRasterNoDataValue(GDALGetRasterBand(ds, 1), NDVI_OUT_NODATA);
  return ds;
}

/* NDVI as carbonflux defines it (reflectance = DN * scale, in double,
 * rounded once to float), nodata where either band is. */
static void ndvi_window(const uint16_t *red, const uint16_t *nir, float *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double r = red[i] * NDVI_SCALE, v = nir[i] * NDVI_SCALE;
    out[i] = red[i] && nir[i] ? (float)((v - r) / (v + r)) : (float)NDVI_OUT_NODATA;
  }
}

/* Every window of src's two bands into dst's one band. */
static int copy_windows(GDALDatasetH src, GDALDatasetH dst) {
  int w = GDALGetRasterXSize(src), h = GDALGetRasterYSize(src);
  uint16_t *in = malloc((size_t)2 * WINDOW_W * WINDOW_H * sizeof *in);
  float *out = malloc((size_t)WINDOW_W * WINDOW_H * sizeof *out);
  int rc = in && out ? 0 : -1;
  if (rc) fprintf(stderr, "out of memory\n");
  GDALRasterBandH ob = GDALGetRasterBand(dst, 1);
  for (int y0 = 0; y0 < h && !rc; y0 += WINDOW_H) {
    int ny = y0 + WINDOW_H <= h ? WINDOW_H : h - y0;
    for (int x0 = 0; x0 < w && !rc; x0 += WINDOW_W) {
      int nx = x0 + WINDOW_W <= w ? WINDOW_W : w - x0;
      size_t n = (size_t)nx * ny;
      if (GDALDatasetRasterIO(src, GF_Read, x0, y0, nx, ny, in, nx, ny, GDT_UInt16, 2, NULL, 0, 0, 0) !=
          CE_None) {
        fprintf(stderr, "read failed: %s\n", CPLGetLastErrorMsg());
        rc = -1;
        break;
      }
      ndvi_window(in, in + n, out, n);
      if (GDALRasterIO(ob, GF_Write, x0, y0, nx, ny, out, nx, ny, GDT_Float32, 0, 0) != CE_None) {
        fprintf(stderr, "write failed: %s\n", CPLGetLastErrorMsg());
        rc = -1;
      }
    }
  }
  free(in);
  free(out);
  return rc;
}

static int write_cog(const char *path, GDALDatasetH tmp, int threads) {
  char **co = CSLDuplicate((char **)ndvi_cog_options);
  co = CSLSetNameValue(co, "NUM_THREADS", CPLSPrintf("%d", threads));
  GDALDatasetH cog = GDALCreateCopy(GDALGetDriverByName("COG"), path, tmp, FALSE, co, NULL, NULL);
  CSLDestroy(co);
  if (!cog) {
    fprintf(stderr, "COG creation failed: %s\n", CPLGetLastErrorMsg());
    return -1;
  }
  CPLErrorReset(); /* GDALClose returns nothing in 3.6 */
  GDALClose(cog);
  if (CPLGetLastErrorType() >= CE_Failure) {
    fprintf(stderr, "closing the COG failed: %s\n", CPLGetLastErrorMsg());
    return -1;
  }
  return 0;
}

int ndvi_plain_copy(const char *in, const char *out, int threads) {
  ndvi_gdal_init();
  GDALDatasetH src = open_input(in, threads);
  if (!src || GDALGetRasterCount(src) < 2) {
    fprintf(stderr, "cannot open %s as a 2-band raster: %s\n", in, CPLGetLastErrorMsg());
    if (src) GDALClose(src);
    return -1;
  }
  char *tmp_path = CPLStrdup(CPLSPrintf("%s.src.tif", out));
  GDALDatasetH tmp = create_temp(tmp_path, src);
  int rc = tmp ? 0 : -1;
  if (rc) fprintf(stderr, "cannot create %s: %s\n", tmp_path, CPLGetLastErrorMsg());
  /* phase times go to the log: where the I/O limit itself goes */
  double t0 = now_s();
  if (!rc) rc = copy_windows(src, tmp);
  GDALClose(src);
  if (!rc) {
    GDALFlushCache(tmp);
    double t1 = now_s();
    rc = write_cog(out, tmp, threads);
    fprintf(stderr, "plain copy: read + temporary GTiff %.2f s, COG copy %.2f s\n", t1 - t0, now_s() - t1);
  }
  if (tmp) GDALClose(tmp);
  unlink(tmp_path);
  CPLFree(tmp_path);
  return rc;
}
