/*
 * The synthetic scene the NDVI benchmark reads: red and NIR reflectance that
 * look, and compress, roughly like a real image, generated from hashes.
 *
 * Why this model: DEFLATE's cost (and so every contender's I/O) depends on
 * the data; a constant image would make I/O unrealistically cheap and pure
 * noise unrealistically dear. So the scene has land-cover parcels (~300 px,
 * irregular boundaries, each with a class and condition of its own), smooth
 * variation inside parcels, per-pixel sensor texture, a tilted footprint
 * with nodata outside it (as a Landsat scene) and rare dropped pixels where
 * only NIR is nodata, so that the per-band nodata rule is exercised.
 *
 * Why hashes: ndvi_scene_pixel() is a pure function of (x, y, n), so runs are
 * byte-for-byte repeatable, rows can be generated in parallel in any order,
 * and the verifier can recompute any pixel. Feature sizes are in pixels, not
 * fractions of n, so a larger scene has the same statistics per pixel and
 * Mpx/s is comparable across sizes.
 */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "ndvi_bench.h"

/* --- hashing ------------------------------------------------------------------ */

uint64_t ndvi_mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A uniform number in [0, 1) for integer coordinates and a salt. */
static double hash01(int64_t a, int64_t b, uint64_t salt) {
  uint64_t h = ndvi_mix64(ndvi_mix64((uint64_t)a ^ (salt << 48)) ^ (uint64_t)b);
  return (double)(h >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

/* Value noise: hashed lattice values, smoothstep-interpolated. In [0, 1]. */
static double value_noise(double x, double y, uint64_t salt) {
  double fx = floor(x), fy = floor(y);
  int64_t ix = (int64_t)fx, iy = (int64_t)fy;
  double tx = x - fx, ty = y - fy;
  tx = tx * tx * (3.0 - 2.0 * tx);
  ty = ty * ty * (3.0 - 2.0 * ty);
  double a = hash01(ix, iy, salt), b = hash01(ix + 1, iy, salt);
  double c = hash01(ix, iy + 1, salt), d = hash01(ix + 1, iy + 1, salt);
  double top = a + (b - a) * tx, bottom = c + (d - c) * tx;
  return top + (bottom - top) * ty;
}

enum { SALT_WARP_X = 1, SALT_WARP_Y, SALT_COVER, SALT_FIELD, SALT_SMOOTH, SALT_TEX_R, SALT_TEX_N, SALT_DROP };

/* --- the scene model ---------------------------------------------------------- */

#define FIELD_PX 300.0        /* parcel size */
#define WARP_PX 80.0          /* how far parcel boundaries wander */
#define FOOTPRINT_TILT 0.2094 /* 12 degrees, a Landsat-like scene tilt */
#define DROP_RATE (1.0 / 5000.0)

/* Land cover: mean red and NIR reflectance, and the cumulative share. */
typedef struct {
  double red, nir, upto;
} cover;

static const cover covers[] = {
    {0.030, 0.020, 0.05}, /* water */
    {0.180, 0.260, 0.12}, /* bare soil, built-up */
    {0.070, 0.300, 0.30}, /* grassland */
    {0.050, 0.380, 0.60}, /* cropland */
    {0.035, 0.310, 1.01}, /* forest (upto > 1 ends the search) */
};

/* Inside the tilted square footprint (half-side 0.45 n): its corners are
 * clipped by the image edge, and the image corners are nodata. */
static int in_footprint(int x, int y, int n) {
  double c = 0.5 * n, dx = x + 0.5 - c, dy = y + 0.5 - c;
  double u = dx * cos(FOOTPRINT_TILT) + dy * sin(FOOTPRINT_TILT);
  double v = -dx * sin(FOOTPRINT_TILT) + dy * cos(FOOTPRINT_TILT);
  return fabs(u) <= 0.45 * n && fabs(v) <= 0.45 * n;
}

/* Reflectance to DN (reflectance * 10000), never 0 since 0 is nodata. */
static uint16_t to_dn(double reflectance) {
  double dn = floor(reflectance * 10000.0 + 0.5);
  return (uint16_t)(dn < 1.0 ? 1.0 : dn > 10000.0 ? 10000.0 : dn);
}

void ndvi_scene_pixel(int x, int y, int n, uint16_t *red, uint16_t *nir) {
  if (!in_footprint(x, y, n)) {
    *red = *nir = 0;
    return;
  }
  /* parcels: a square grid seen through a smooth warp, so edges wander */
  double wx = x + WARP_PX * (value_noise(x / 150.0, y / 150.0, SALT_WARP_X) - 0.5);
  double wy = y + WARP_PX * (value_noise(x / 150.0, y / 150.0, SALT_WARP_Y) - 0.5);
  int64_t fx = (int64_t)floor(wx / FIELD_PX), fy = (int64_t)floor(wy / FIELD_PX);
  double u = hash01(fx, fy, SALT_COVER);
  const cover *c = covers;
  while (u >= c->upto) c++;
  /* condition: a vigorous parcel has more NIR and less red */
  double vigour = 0.8 + 0.4 * hash01(fx, fy, SALT_FIELD);
  double smooth = 0.85 + 0.3 * value_noise(x / 40.0, y / 40.0, SALT_SMOOTH);
  double tex_r = 0.95 + 0.1 * hash01(x, y, SALT_TEX_R);
  double tex_n = 0.95 + 0.1 * hash01(x, y, SALT_TEX_N);
  *red = to_dn(c->red * (2.0 - vigour) * smooth * tex_r);
  *nir = hash01(x, y, SALT_DROP) < DROP_RATE ? 0 : to_dn(c->nir * vigour * smooth * tex_n);
}

/* --- writing it ------------------------------------------------------------------- */

static GDALDatasetH create_scene(const char *path, int w, int h, int x0, int y0, int threads) {
  char **co = NULL;
  co = CSLSetNameValue(co, "TILED", "YES");
  co = CSLSetNameValue(co, "BLOCKXSIZE", "256");
  co = CSLSetNameValue(co, "BLOCKYSIZE", "256");
  co = CSLSetNameValue(co, "COMPRESS", "DEFLATE");
  /* band-interleaved: reading one band costs only that band's tiles, so
   * gdal_calc.py, which reads the bands separately, is not penalised */
  co = CSLSetNameValue(co, "INTERLEAVE", "BAND");
  co = CSLSetNameValue(co, "NUM_THREADS", CPLSPrintf("%d", threads));
  co = CSLSetNameValue(co, "BIGTIFF", "IF_SAFER");
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, 2, GDT_UInt16, co);
  CSLDestroy(co);
  if (!ds) return NULL;

  /* 10 m, UTM 50N; a window starts where it lies in the whole scene */
  double gt[6] = {500000.0 + 10.0 * x0, 10.0, 0.0, 4500000.0 - 10.0 * y0, 0.0, -10.0};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  char *wkt = NULL;
  if (OSRImportFromEPSG(srs, 32650) == OGRERR_NONE && OSRExportToWkt(srs, &wkt) == OGRERR_NONE)
    GDALSetProjection(ds, wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  const char *names[2] = {"red", "nir"};
  for (int b = 0; b < 2; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetDescription(band, names[b]);
    GDALSetRasterNoDataValue(band, 0);
  }
  return ds;
}

int ndvi_scene_write(const char *path, int n, int threads) {
  return ndvi_scene_write_window(path, n, 0, 0, n, n, threads);
}

int ndvi_scene_write_window(const char *path, int n, int x0, int y0, int w, int h, int threads) {
  if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 > n - w || y0 > n - h) {
    fprintf(stderr, "window %d,%d %dx%d is not inside the %d x %d scene\n", x0, y0, w, h, n, n);
    return -1;
  }
  ndvi_gdal_init();
  GDALDatasetH ds = create_scene(path, w, h, x0, y0, threads);
  if (!ds) {
    fprintf(stderr, "cannot create %s: %s\n", path, CPLGetLastErrorMsg());
    return -1;
  }
  /* one row of tiles at a time: memory is 2 x w x 256 DNs plus GDAL's cache */
  const int rows = 256;
  uint16_t *buf = malloc((size_t)2 * w * rows * sizeof *buf);
  if (!buf) {
    fprintf(stderr, "out of memory\n");
    GDALClose(ds);
    return -1;
  }
  int rc = 0;
  for (int r0 = 0; r0 < h && !rc; r0 += rows) {
    int ny = r0 + rows <= h ? rows : h - r0;
    uint16_t *red = buf, *nir = buf + (size_t)w * ny;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int j = 0; j < ny; j++)
      for (int x = 0; x < w; x++) {
        size_t i = (size_t)j * w + x;
        ndvi_scene_pixel(x0 + x, y0 + r0 + j, n, &red[i], &nir[i]);
      }
    if (GDALDatasetRasterIO(ds, GF_Write, 0, r0, w, ny, buf, w, ny, GDT_UInt16, 2, NULL, 0, 0, 0) !=
        CE_None) {
      fprintf(stderr, "write to %s failed: %s\n", path, CPLGetLastErrorMsg());
      rc = -1;
    }
  }
  free(buf);
  /* GDAL 3.6's GDALClose returns nothing: a failed final flush shows as
   * the last error */
  CPLErrorReset();
  GDALClose(ds);
  if (!rc && CPLGetLastErrorType() >= CE_Failure) {
    fprintf(stderr, "closing %s failed: %s\n", path, CPLGetLastErrorMsg());
    rc = -1;
  }
  return rc;
}

/* --- the pipeline ------------------------------------------------------------------ */

void ndvi_pipeline_write(FILE *f, const char *input, const char *output) {
  fprintf(f,
          "pipeline:\n"
          "  - type: ingest.raster\n"
          "    name: scene\n"
          "    path: '%s'\n"
          "    bands: [red, nir]\n"
          "  - type: raster.index\n"
          "    name: ndvi\n"
          "    index: ndvi\n"
          "    scale: %.17g\n"
          "  - type: write.cog\n"
          "    name: write_ndvi\n"
          "    path: '%s'\n"
          "    nodata: %.17g\n",
          input, NDVI_SCALE, output, NDVI_OUT_NODATA);
}
