/* The report's maps from the pool COG; see report_maps.h. */
#include "sink/report_maps.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "ingest/gdal_util.h"
#include "raster/canvas.h"

const unsigned char CF_REPORT_MAP_PLOT_RGB[3] = {228, 26, 28};
const unsigned char CF_REPORT_MAP_LINE_RGB[3] = {0, 0, 0};
static const unsigned char WHITE[3] = {255, 255, 255}, NO_DATA[3] = {190, 190, 190};

/* viridis (matplotlib's, van der Walt & Smith 2015) at nine stops */
static const unsigned char VIRIDIS[9][3] = {{68, 1, 84},    {71, 45, 123},  {59, 82, 139},
                                            {44, 114, 142}, {33, 145, 140}, {40, 174, 128},
                                            {94, 201, 98},  {173, 220, 48}, {253, 231, 37}};

static void ramp(double t, unsigned char *out) {
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double f = t * 8;
  int k = f >= 8 ? 7 : (int)f;
  double u = f - k;
  for (int c = 0; c < 3; c++) out[c] = (unsigned char)lround(VIRIDIS[k][c] + u * (VIRIDIS[k + 1][c] - VIRIDIS[k][c]));
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The 98th percentile of the valid values rounded up to two significant
 * digits; 1 when there is none or it is not positive. */
static double colour_scale(const double *v, const unsigned char *ok, size_t n) {
  double *a = malloc((n ? n : 1) * sizeof *a), s = 0;
  size_t m = 0;
  if (!a) return 1.0;
  for (size_t i = 0; i < n; i++)
    if (ok[i]) a[m++] = v[i];
  if (m) {
    qsort(a, m, sizeof *a, cmp_double);
    s = a[(size_t)(0.98 * (double)(m - 1))];
  }
  free(a);
  if (!(s > 0) || !isfinite(s)) return 1.0;
  double e = pow(10.0, floor(log10(s)) - 1);
  return ceil(s / e * (1 - 1e-12)) * e;
}

typedef struct {
  cf_canvas pix;
  double gt[6]; /* of the image's map pixels */
} map_canvas;

static void to_px(const map_canvas *m, double x, double y, int *px, int *py) {
  double fx = (x - m->gt[0]) / m->gt[1], fy = (y - m->gt[3]) / m->gt[5];
  *px = (int)floor(fmax(-1e6, fmin(1e6, fx)));
  *py = (int)floor(fmax(-1e6, fmin(1e6, fy)));
}

/* Every ring (or line) of g, `th` thick in `col`; returns the rings drawn. */
static int draw_rings(map_canvas *m, OGRGeometryH g, int th, const unsigned char col[3]) {
  int n = OGR_G_GetPointCount(g), rings = 0;
  if (n > 0) {
    int x0, y0;
    to_px(m, OGR_G_GetX(g, 0), OGR_G_GetY(g, 0), &x0, &y0);
    for (int k = 1; k < n; k++) {
      int x1, y1;
      to_px(m, OGR_G_GetX(g, k), OGR_G_GetY(g, k), &x1, &y1);
      cf_canvas_line(&m->pix, x0, y0, x1, y1, th, col);
      x0 = x1, y0 = y1;
    }
    return 1;
  }
  for (int k = 0; k < OGR_G_GetGeometryCount(g); k++) rings += draw_rings(m, OGR_G_GetGeometryRef(g, k), th, col);
  return rings;
}

static OGRSpatialReferenceH gis_order(OGRSpatialReferenceH s) {
  OGRSpatialReferenceH c = s ? OSRClone(s) : NULL;
  if (c) OSRSetAxisMappingStrategy(c, OAMS_TRADITIONAL_GIS_ORDER);
  return c;
}

/* The strata polygons in the raster's CRS, drawn: halos first, then the
 * lines, so that no halo covers a neighbour's line. */
static int draw_strata(cf_ctx *ctx, map_canvas *m, const cf_report_map_spec *s, OGRSpatialReferenceH to, int *rings) {
  GDALDatasetH ds = GDALOpenEx(s->strata_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  if (!ds) return cf_error(ctx, cf_file_exists(s->strata_path) ? CF_EDATA : CF_ENOENT, s->strata_path, "",
                           "cannot open the strata: %s", cf_gdal_last_error("not a vector dataset"));
  OGRLayerH layer = s->strata_layer ? GDALDatasetGetLayerByName(ds, s->strata_layer) : GDALDatasetGetLayer(ds, 0);
  OGRSpatialReferenceH from = layer ? gis_order(OGR_L_GetSpatialRef(layer)) : NULL;
  OGRCoordinateTransformationH ct = from ? OCTNewCoordinateTransformation(from, to) : NULL;
  int rc = CF_OK;
  if (!layer) rc = cf_error(ctx, CF_EDATA, s->strata_path, "layer", "no layer %s", s->strata_layer ? s->strata_layer : "");
  else if (!from) rc = cf_error(ctx, CF_EDATA, s->strata_path, "crs", "the strata have no CRS");
  else if (!ct) rc = cf_error(ctx, CF_EDATA, s->strata_path, "crs", "no transformation to the raster's CRS: %s",
                              cf_gdal_last_error("PROJ"));
  int polygons = 0;
  for (int pass = 0; pass < 2 && !rc; pass++) {
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
      OGRGeometryH g = OGR_F_GetGeometryRef(f);
      OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
      if (t == wkbPolygon || t == wkbMultiPolygon) {
        OGRGeometryH c = OGR_G_Clone(g);
        if (OGR_G_Transform(c, ct) != OGRERR_NONE)
          rc = cf_error(ctx, CF_EDATA, s->strata_path, "geometry", "feature %lld cannot be reprojected",
                        (long long)OGR_F_GetFID(f));
        else if (pass == 0) draw_rings(m, c, 4, WHITE), polygons++;
        else *rings += draw_rings(m, c, 2, CF_REPORT_MAP_LINE_RGB);
        OGR_G_DestroyGeometry(c);
      }
      OGR_F_Destroy(f);
      if (rc) break;
    }
  }
  if (!rc && !polygons) rc = cf_error(ctx, CF_EDATA, s->strata_path, "geometry", "no polygons in the strata layer");
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (from) OSRDestroySpatialReference(from);
  GDALClose(ds);
  return rc;
}

static int draw_plots(cf_ctx *ctx, map_canvas *m, const cf_report_map_spec *s, OGRSpatialReferenceH to, int *inside) {
  OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(wgs, 4326);
  OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(wgs, to);
  int rc = ct ? CF_OK : cf_error(ctx, CF_EDATA, s->cog_path, "crs", "no transformation from WGS84 to the raster's CRS");
  for (int k = 0; k < s->n_plots && !rc; k++) {
    double x = s->plot_lon[k], y = s->plot_lat[k], z = 0;
    if (!isfinite(x) || !isfinite(y) || !OCTTransform(ct, 1, &x, &y, &z)) continue; /* no coordinates: not drawn */
    int px, py;
    to_px(m, x, y, &px, &py);
    if (px < 0 || py < 0 || px >= m->pix.w || py >= m->pix.clip_h) continue;
    (*inside)++;
    cf_canvas_fill_rect(&m->pix, px - 5, py - 5, px + 5, py + 5, WHITE);
    cf_canvas_fill_rect(&m->pix, px - 3, py - 3, px + 3, py + 3, CF_REPORT_MAP_PLOT_RGB);
  }
  if (ct) OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(wgs);
  return rc;
}

/* The colour bar from 0 to the scale, ticks under 0, half and the scale. */
static void legend(cf_canvas *c, int map_h, double scale, const char *unit) {
  static const unsigned char ink[3] = {0, 0, 0};
  int x0, x1, y1 = map_h + 24;
  cf_canvas_colour_bar(c, map_h, 8, 16, ramp, &x0, &x1);
  int xm = (x0 + x1) / 2;
  for (int k = 0; k < 3; k++) {
    int x = k == 0 ? x0 : k == 1 ? xm : x1;
    cf_canvas_line(c, x, y1, x, y1 + 3, 1, ink);
  }
  char mid[48], hi[96];
  snprintf(mid, sizeof mid, "%.3g", scale / 2);
  snprintf(hi, sizeof hi, "%.3g %s", scale, unit ? unit : "");
  int ty = y1 + 7;
  cf_canvas_text(c, x0, ty, "0", ink);
  cf_canvas_text(c, xm - cf_canvas_text_width(mid) / 2, ty, mid, ink);
  cf_canvas_text(c, x1 + 1 - cf_canvas_text_width(hi), ty, hi, ink);
}

/* The band whose description is `name`, or NULL. */
static GDALRasterBandH band_named(GDALDatasetH ds, const char *name) {
  for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b);
    if (!strcmp(GDALGetDescription(h), name)) return h;
  }
  return NULL;
}

/* The band read into out_w x out_h values and their validity. */
static int read_band(cf_ctx *ctx, const cf_report_map_spec *s, GDALRasterBandH band, int w, int h, int ow, int oh,
                     double *v, unsigned char *ok) {
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = ow < w ? GRIORA_Average : GRIORA_NearestNeighbour;
  if (GDALRasterIOEx(band, GF_Read, 0, 0, w, h, v, ow, oh, GDT_Float64, 0, 0, &extra) != CE_None)
    return cf_error(ctx, CF_EIO, s->cog_path, s->band, "read failed: %s", cf_gdal_last_error("GDAL"));
  int has_nd = 0;
  double nd = GDALGetRasterNoDataValue(band, &has_nd);
  for (size_t i = 0; i < (size_t)ow * oh; i++) ok[i] = isfinite(v[i]) && !(has_nd && v[i] == nd);
  return CF_OK;
}

/* The PNG bytes of the canvas, with the scale in a text chunk. */
static int encode(cf_ctx *ctx, const cf_report_map_spec *s, const cf_canvas *c, double scale, unsigned char **png,
                  size_t *npng) {
  GDALDatasetH mem = NULL;
  int rc = cf_canvas_mem_dataset(ctx, c, s->cog_path, (void **)&mem);
  if (rc) return rc;
  char v[64], name[96];
  snprintf(v, sizeof v, "%.17g", scale);
  GDALSetMetadataItem(mem, "carbonflux_scale", v, NULL);
  GDALSetMetadataItem(mem, "Description", s->band, NULL);
  snprintf(name, sizeof name, "/vsimem/cf_report_map_%p.png", (void *)c);
  char **co = CSLSetNameValue(NULL, "WRITE_METADATA_AS_TEXT", "YES");
  const char *was = CPLGetThreadLocalConfigOption("GDAL_PAM_ENABLED", NULL);
  char *pam = was ? CPLStrdup(was) : NULL;
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO"); /* no .aux.xml in /vsimem */
  GDALDatasetH out = GDALCreateCopy(GDALGetDriverByName("PNG"), name, mem, FALSE, co, NULL, NULL);
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", pam);
  CPLFree(pam);
  CSLDestroy(co);
  GDALClose(mem);
  if (out) GDALClose(out);
  vsi_l_offset len = 0;
  GByte *buf = out ? VSIGetMemFileBuffer(name, &len, TRUE) : NULL;
  if (!buf || !len) {
    VSIUnlink(name);
    CPLFree(buf);
    return cf_error(ctx, CF_EIO, s->cog_path, s->band, "PNG encoding failed: %s", cf_gdal_last_error("PNG driver"));
  }
  *png = malloc((size_t)len);
  if (*png) memcpy(*png, buf, (size_t)len), *npng = (size_t)len;
  CPLFree(buf);
  return *png ? CF_OK : cf_error(ctx, CF_ENOMEM, s->cog_path, s->band, "out of memory");
}

int cf_report_map_png(cf_ctx *ctx, const cf_report_map_spec *s, unsigned char **png, size_t *npng,
                      cf_report_map_info *info) {
  *png = NULL, *npng = 0;
  cf_gdal_init();
  if (!cf_gdal_is_name(s->cog_path) && !cf_file_exists(s->cog_path))
    return cf_error(ctx, CF_ENOENT, s->cog_path, "", "no such file");
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(s->cog_path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
  int rc = ds ? CF_OK : cf_error(ctx, CF_EDATA, s->cog_path, "", "not a raster: %s", cf_gdal_last_error("GDAL"));
  GDALRasterBandH band = rc ? NULL : band_named(ds, s->band);
  double gt[6] = {0, 1, 0, 0, 0, -1};
  OGRSpatialReferenceH srs = NULL;
  if (!rc && !band) rc = cf_error(ctx, CF_EDATA, s->cog_path, s->band, "no band described \"%s\"", s->band);
  if (!rc && (GDALGetGeoTransform(ds, gt) != CE_None || gt[2] != 0 || gt[4] != 0 || !(gt[1] > 0) || !(gt[5] < 0)))
    rc = cf_error(ctx, CF_EDATA, s->cog_path, "geotransform", "the map needs a north-up raster");
  if (!rc && !(srs = gis_order(GDALGetSpatialRef(ds))))
    rc = cf_error(ctx, CF_EDATA, s->cog_path, "crs", "the raster has no CRS");
  int w = rc ? 0 : GDALGetRasterXSize(ds), h = rc ? 0 : GDALGetRasterYSize(ds);
  int target = s->target_width > 0 ? s->target_width : CF_REPORT_MAP_WIDTH;
  int ow = w > target ? target : w * (target / (w > 0 ? w : 1));
  int oh = w > 0 ? (int)fmax(1, lround((double)h * ow / w)) : 0;
  map_canvas m = {{0}, {gt[0], gt[1] * w / (ow > 0 ? ow : 1), 0, gt[3], 0, gt[5] * h / (oh > 0 ? oh : 1)}};
  if (!rc) rc = cf_canvas_init(ctx, &m.pix, ow, oh + CF_REPORT_MAP_LEGEND_H, WHITE, s->cog_path);
  double *v = rc ? NULL : malloc((size_t)ow * oh * sizeof *v);
  unsigned char *ok = rc ? NULL : malloc((size_t)ow * oh);
  if (!rc && (!v || !ok)) rc = cf_error(ctx, CF_ENOMEM, s->cog_path, s->band, "out of memory");
  if (!rc) rc = read_band(ctx, s, band, w, h, ow, oh, v, ok);
  double scale = rc ? 1 : colour_scale(v, ok, (size_t)ow * oh);
  long n_valid = 0;
  int rings = 0, inside = 0;
  if (!rc) {
    m.pix.clip_h = oh;
    for (int j = 0; j < oh; j++)
      for (int i = 0; i < ow; i++) {
        size_t k = (size_t)j * ow + i;
        unsigned char col[3];
        if (ok[k]) ramp(v[k] / scale, col), n_valid++;
        cf_canvas_put(&m.pix, i, j, ok[k] ? col : NO_DATA);
      }
    if (s->strata_path) rc = draw_strata(ctx, &m, s, srs, &rings);
  }
  if (!rc && s->n_plots) rc = draw_plots(ctx, &m, s, srs, &inside);
  if (!rc) {
    legend(&m.pix, oh, scale, s->unit);
    rc = encode(ctx, s, &m.pix, scale, png, npng);
  }
  cf_gdal_quiet_pop();
  if (!rc && info) {
    info->w = m.pix.w, info->h = m.pix.h, info->map_h = oh;
    memcpy(info->gt, m.gt, sizeof m.gt);
    info->scale = scale, info->n_valid = n_valid, info->n_rings = rings, info->n_plots_in = inside;
  }
  free(v), free(ok);
  cf_canvas_free(&m.pix);
  if (srs) OSRDestroySpatialReference(srs);
  if (ds) GDALClose(ds);
  return rc;
}
