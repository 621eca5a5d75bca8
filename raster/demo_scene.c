/* The synthetic demo scene; see demo_scene.h. */
#include "raster/demo_scene.h"

#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "ingest/gdal_util.h"

#define CF_PI 3.14159265358979323846

/* splitmix64 finaliser: a well-mixed hash of an integer, giving [0,1). */
static double hash01(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return (double)(x >> 11) / 9007199254740992.0;
}

/* Stands: centre (in 30 m pixels), radius, height of the tallest trees. */
static const struct {
  double cx, cy, r, h;
} stands[] = {{90, 100, 45, 24.0}, {200, 90, 35, 16.0}, {150, 210, 55, 20.0}};
enum { NSTANDS = 3 };

int cf_demo_cover(int c, int r) {
  double x = c + 0.5, y = r + 0.5;
  if (hypot(x - 250, y - 240) < 28) return 4;                      /* cloud */
  if (hypot(x - 60, y - 240) < 30) return 3;                       /* lake */
  for (int s = 0; s < NSTANDS; s++)
    if (hypot(x - stands[s].cx, y - stands[s].cy) < stands[s].r) return 0;
  if (x > 240 && y < 150) return 2;                                /* bare soil */
  return 1;                                                        /* grass */
}

double cf_demo_height(int c10, int r10) {
  double x = (c10 + 0.5) / 3.0, y = (r10 + 0.5) / 3.0; /* in 30 m pixel units */
  for (int s = 0; s < NSTANDS; s++) {
    double d = hypot(x - stands[s].cx, y - stands[s].cy) / stands[s].r;
    if (d < 1.0) {
      double jitter = 0.8 + 0.4 * hash01(((uint64_t)r10 << 32) | (uint64_t)c10);
      return stands[s].h * (1.0 - 0.5 * d * d) * jitter;
    }
  }
  return 0.0;
}

static int write_scene(cf_ctx *ctx, const char *path, const char *wkt) {
  static const double refl[4][4] = {
      /* blue, green, red, nir */
      {0.030, 0.060, 0.040, 0.350}, /* forest */
      {0.050, 0.090, 0.080, 0.280}, /* grass */
      {0.100, 0.140, 0.180, 0.250}, /* bare soil */
      {0.060, 0.050, 0.030, 0.010}, /* water */
  };
  const int n = CF_DEMO_SIZE30;
  char **co = NULL;
  co = CSLSetNameValue(co, "TILED", "YES");
  co = CSLSetNameValue(co, "COMPRESS", "DEFLATE");
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, n, n, 4, GDT_UInt16, co);
  CSLDestroy(co);
  if (!ds) return cf_error(ctx, CF_EIO, path, "", "cannot create (%s)", cf_gdal_last_error("GTiff"));
  double gt[6] = {CF_DEMO_X0, 30, 0, CF_DEMO_Y0 + n * 30.0, 0, -30};
  GDALSetGeoTransform(ds, gt);
  GDALSetProjection(ds, wkt);
  uint16_t *buf = malloc((size_t)n * n * sizeof *buf);
  if (!buf) {
    GDALClose(ds);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  const char *names[4] = {"blue", "green", "red", "nir"};
  int rc = CF_OK;
  for (int b = 0; b < 4 && !rc; b++) {
    for (int r = 0; r < n; r++)
      for (int c = 0; c < n; c++) {
        int cover = cf_demo_cover(c, r);
        if (cover == 4) {
          buf[(size_t)r * n + c] = 0; /* nodata */
          continue;
        }
        double noise = 0.9 + 0.2 * hash01((uint64_t)b << 40 | (uint64_t)r << 20 | (uint64_t)c);
        buf[(size_t)r * n + c] = (uint16_t)lround(refl[cover][b] * noise * 10000.0);
        if (!buf[(size_t)r * n + c]) buf[(size_t)r * n + c] = 1;
      }
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetDescription(band, names[b]);
    GDALSetRasterNoDataValue(band, 0);
    if (GDALRasterIO(band, GF_Write, 0, 0, n, n, buf, n, n, GDT_UInt16, 0, 0) != CE_None)
      rc = cf_error(ctx, CF_EIO, path, "", "write failed");
  }
  free(buf);
  GDALClose(ds);
  return rc;
}

static int write_chm(cf_ctx *ctx, const char *path, const char *wkt) {
  const int n = CF_DEMO_SIZE30 * 3;
  char **co = CSLSetNameValue(NULL, "COMPRESS", "DEFLATE");
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, n, n, 1, GDT_Float32, co);
  CSLDestroy(co);
  if (!ds) return cf_error(ctx, CF_EIO, path, "", "cannot create (%s)", cf_gdal_last_error("GTiff"));
  double gt[6] = {CF_DEMO_X0, 10, 0, CF_DEMO_Y0 + n * 10.0, 0, -10};
  GDALSetGeoTransform(ds, gt);
  GDALSetProjection(ds, wkt);
  float *buf = malloc((size_t)n * n * sizeof *buf);
  if (!buf) {
    GDALClose(ds);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) buf[(size_t)r * n + c] = (float)cf_demo_height(c, r);
  GDALRasterBandH band = GDALGetRasterBand(ds, 1);
  GDALSetDescription(band, "canopy_height");
  GDALSetRasterNoDataValue(band, -9999);
  int rc = GDALRasterIO(band, GF_Write, 0, 0, n, n, buf, n, n, GDT_Float32, 0, 0) == CE_None
               ? CF_OK
               : cf_error(ctx, CF_EIO, path, "", "write failed");
  free(buf);
  GDALClose(ds);
  return rc;
}

/* A polygon of `npts` points around (cx, cy) with radius rad (30 m pixel
 * units), reprojected to WGS84 lon/lat. */
static OGRGeometryH ring_polygon(OGRCoordinateTransformationH ct, double cx, double cy, double rad, int npts,
                                 double wobble) {
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
  for (int k = 0; k <= npts; k++) {
    double a = 2 * CF_PI * (k % npts) / npts;
    double rr = rad * (1.0 + wobble * sin(3 * a));
    double x = CF_DEMO_X0 + (cx + rr * cos(a)) * 30.0;
    double y = CF_DEMO_Y0 + CF_DEMO_SIZE30 * 30.0 - (cy + rr * sin(a)) * 30.0;
    OCTTransform(ct, 1, &x, &y, NULL);
    OGR_G_AddPoint_2D(ring, x, y);
  }
  OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

static int write_geojson(cf_ctx *ctx, const char *path, OGRSpatialReferenceH wgs84,
                         OGRCoordinateTransformationH ct, int boundary) {
  unlink(path);
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GeoJSON"), path, 0, 0, 0, GDT_Unknown, NULL);
  if (!ds) return cf_error(ctx, CF_EIO, path, "", "cannot create (%s)", cf_gdal_last_error("GeoJSON"));
  OGRLayerH layer = GDALDatasetCreateLayer(ds, boundary ? "boundary" : "stands", wgs84, wkbPolygon, NULL);
  OGRFieldDefnH fd = OGR_Fld_Create(boundary ? "name" : "stand_id", OFTString);
  OGR_L_CreateField(layer, fd, TRUE);
  OGR_Fld_Destroy(fd);
  int n = boundary ? 1 : NSTANDS;
  int rc = CF_OK;
  for (int i = 0; i < n && !rc; i++) {
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(layer));
    char label[32];
    OGRGeometryH g;
    if (boundary) {
      snprintf(label, sizeof label, "demo project");
      g = ring_polygon(ct, 150, 150, 130, 48, 0.05);
    } else {
      snprintf(label, sizeof label, "S%d", i + 1);
      g = ring_polygon(ct, stands[i].cx, stands[i].cy, stands[i].r * 0.8, 36, 0.0);
    }
    OGR_F_SetFieldString(f, 0, label);
    OGR_F_SetGeometryDirectly(f, g);
    if (OGR_L_CreateFeature(layer, f) != OGRERR_NONE) rc = cf_error(ctx, CF_EIO, path, "", "cannot write feature");
    OGR_F_Destroy(f);
  }
  GDALClose(ds);
  return rc;
}

/* The forest inventory of the demo: six circular plots of 0.05 ha in each
 * stand (on a ring at 0.45 of its radius, inside the stand polygon), with
 * stems whose heights follow the canopy-height model at the plot centre
 * (60-100 % of it) and whose diameters follow them by D = 1.2 H^1.1 (cm,
 * m: an illustrative height-diameter relation, not a published one);
 * basic wood density 0.55 g/cm3; every ninth stem is dead. The truth of
 * each plot is then what an allometry of (D, H, rho) gives for these
 * stems, which is what the demo's report shows. Written as forest/plots.csv
 * (with each plot centre's WGS84 lon, lat, for the report's maps) and
 * forest/trees.csv in the forest-io layout; the stands are the strata
 * (stands.geojson, field stand_id). A second monitoring event, for the
 * issuance step, remeasures the same stems 4 years 5 months later as
 * forest/trees_t2.csv: every live stem 12 % taller and so, by the same
 * relation, 1.12^1.1 = 13.3 % thicker (an illustrative growth, not a
 * yield table); every 13th live stem has died in between. */
static int write_inventory(cf_ctx *ctx, const char *dir, OGRCoordinateTransformationH ct) {
  char *plots = cf_path_join(dir, "forest/plots.csv"), *trees = cf_path_join(dir, "forest/trees.csv");
  char *trees2 = cf_path_join(dir, "forest/trees_t2.csv");
  int rc = plots && trees && trees2 ? cf_mkdirs(ctx, plots, 0) : cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
  FILE *fp = rc ? NULL : fopen(plots, "w"), *ft = rc || !fp ? NULL : fopen(trees, "w");
  FILE *ft2 = rc || !ft ? NULL : fopen(trees2, "w");
  if (!rc && (!fp || !ft || !ft2)) rc = cf_error(ctx, CF_EIO, plots, "", "cannot write the demo inventory");
  if (!rc) {
    fprintf(fp, "plot,stratum,area_ha,lon,lat\n");
    fprintf(ft, "plot,dbh_cm,height_m,wood_density_g_cm3,status\n");
    fprintf(ft2, "plot,dbh_cm,height_m,wood_density_g_cm3,status\n");
    for (int s = 0; s < NSTANDS; s++)
      for (int k = 0; k < 6; k++) {
        double a = k * (3.14159265358979323846 / 3.0);
        double col = stands[s].cx + 0.45 * stands[s].r * cos(a), row = stands[s].cy + 0.45 * stands[s].r * sin(a);
        double hc = cf_demo_height((int)(col * 3), (int)(row * 3));
        double x = CF_DEMO_X0 + col * 30.0, y = CF_DEMO_Y0 + CF_DEMO_SIZE30 * 30.0 - row * 30.0;
        OCTTransform(ct, 1, &x, &y, NULL);
        fprintf(fp, "S%d-P%d,S%d,0.05,%.7f,%.7f\n", s + 1, k + 1, s + 1, x, y);
        uint64_t seed = (uint64_t)(s * 6 + k) << 20;
        int n = 12 + (int)(10 * hash01(seed));
        for (int t = 0; t < n; t++) {
          double h = hc * (0.6 + 0.4 * hash01(seed + 1 + (uint64_t)t));
          double d = 1.2 * pow(h, 1.1);
          fprintf(ft, "S%d-P%d,%.1f,%.1f,0.55,%s\n", s + 1, k + 1, d, h, t % 9 == 8 ? "dead" : "live");
          double h2 = 1.12 * h, d2 = 1.2 * pow(h2, 1.1);
          fprintf(ft2, "S%d-P%d,%.1f,%.1f,0.55,%s\n", s + 1, k + 1, d2, h2, t % 9 == 8 || t % 13 == 12 ? "dead" : "live");
        }
      }
  }
  if (fp && fclose(fp) != 0 && !rc) rc = cf_error(ctx, CF_EIO, plots, "", "write failed");
  if (ft && fclose(ft) != 0 && !rc) rc = cf_error(ctx, CF_EIO, trees, "", "write failed");
  if (ft2 && fclose(ft2) != 0 && !rc) rc = cf_error(ctx, CF_EIO, trees2, "", "write failed");
  free(plots);
  free(trees);
  free(trees2);
  return rc;
}

int cf_demo_scene_write(cf_ctx *ctx, const char *dir) {
  cf_gdal_init();
  int rc = cf_mkdirs(ctx, dir, 1);
  if (rc) return rc;
  OGRSpatialReferenceH utm = OSRNewSpatialReference(NULL), wgs84 = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(utm, CF_DEMO_EPSG);
  OSRImportFromEPSG(wgs84, 4326);
  OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
  char *wkt = NULL;
  OSRExportToWkt(utm, &wkt);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(utm, wgs84);
  char *p[4];
  const char *names[4] = {"scene.tif", "chm.tif", "boundary.geojson", "stands.geojson"};
  for (int i = 0; i < 4; i++) p[i] = cf_path_join(dir, names[i]);
  if (!wkt || !ct || !p[0] || !p[1] || !p[2] || !p[3]) rc = cf_error(ctx, CF_EINTERNAL, dir, "", "PROJ set-up failed");
  if (!rc) rc = write_scene(ctx, p[0], wkt);
  if (!rc) rc = write_chm(ctx, p[1], wkt);
  if (!rc) rc = write_geojson(ctx, p[2], wgs84, ct, 1);
  if (!rc) rc = write_geojson(ctx, p[3], wgs84, ct, 0);
  if (!rc) rc = write_inventory(ctx, dir, ct);
  for (int i = 0; i < 4; i++) free(p[i]);
  CPLFree(wkt);
  if (ct) OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(utm);
  OSRDestroySpatialReference(wgs84);
  return rc;
}
