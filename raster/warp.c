/*
 * Grid definition and the warp node.
 *
 * Warping is GDAL's: each thread builds its own warped VRT (gdalwarp -of VRT)
 * over its own source handle, with the exact transformer (-et 0) so that a
 * pixel's value does not depend on how the warper chunks its work, and with
 * Float64 output whose NaN marks pixels with no valid source. The VRT's
 * block is the node's block, so the tile engine asks for whole VRT blocks and
 * every thread computes identical pixels.
 */
#include "raster/warp.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <float.h>
#include <stdarg.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "raster/source.h"

const char *const cf_resampling_names[] = {"near", "bilinear", "cubic", "cubicspline", "lanczos",
                                           "average", "mode", "min", "max", "med", "q1", "q3",
                                           "sum", "rms", NULL};

enum { WARP_BLOCK = 512 };

static char *srs_wkt(OGRSpatialReferenceH srs) {
  char *w = NULL;
  const char *opts[] = {"FORMAT=WKT2_2018", NULL};
  OSRExportToWktEx(srs, &w, opts);
  char *out = w ? strdup(w) : NULL;
  CPLFree(w);
  return out;
}

/* Footprint of the source in the CRS `dst_wkt` and the resolution GDAL
 * suggests there. */
static int suggest(cf_ctx *ctx, const cf_raster *src, const char *dst_wkt, double ext[4],
                   double *res) {
  const cf_raster_info *info = cf_source_info(src);
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(info->path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
  char *opts[4] = {NULL};
  cf_strbuf a, b;
  cf_strbuf_init(&a);
  cf_strbuf_init(&b);
  cf_strbuf_printf(&a, "SRC_SRS=%s", src->grid.wkt);
  cf_strbuf_printf(&b, "DST_SRS=%s", dst_wkt);
  opts[0] = (char *)cf_strbuf_str(&a);
  opts[1] = (char *)cf_strbuf_str(&b);
  void *tr = ds ? GDALCreateGenImgProjTransformer2(ds, NULL, opts) : NULL;
  int rc = CF_OK;
  if (!tr) {
    rc = cf_error(ctx, CF_EDATA, info->path, "crs", "cannot transform to the grid CRS (%s)",
                  cf_gdal_last_error("PROJ failed"));
  } else {
    double gt[6];
    int w, h;
    if (GDALSuggestedWarpOutput2(ds, GDALGenImgProjTransform, tr, gt, &w, &h, ext, 0) != CE_None) {
      rc = cf_error(ctx, CF_EDATA, info->path, "crs", "cannot compute the footprint in the grid CRS (%s)",
                    cf_gdal_last_error("PROJ failed"));
    } else {
      *res = gt[1];
    }
    GDALDestroyGenImgProjTransformer(tr);
  }
  cf_gdal_quiet_pop();
  cf_strbuf_free(&a);
  cf_strbuf_free(&b);
  if (ds) GDALClose(ds);
  return rc;
}

int cf_grid_define(cf_ctx *ctx, const cf_grid_spec *spec, const cf_raster *src, cf_grid *out) {
  memset(out, 0, sizeof *out);
  const char *where = spec->where ? spec->where : "";
  OGRSpatialReferenceH dst = cf_srs_from_user(ctx, spec->crs ? spec->crs : src->grid.wkt, where, "crs");
  if (!dst) return CF_EINVAL;
  out->wkt = srs_wkt(dst);
  OGRSpatialReferenceH s = OSRNewSpatialReference(src->grid.wkt);
  int same = s && OSRIsSame(s, dst);
  if (s) OSRDestroySpatialReference(s);
  OSRDestroySpatialReference(dst);
  if (!out->wkt) return cf_error(ctx, CF_ENOMEM, where, "", "out of memory");

  double foot[4], res_suggested = 0;
  if (same) {
    foot[0] = src->grid.gt[0];
    foot[2] = src->grid.gt[0] + src->grid.width * src->grid.gt[1];
    double y1 = src->grid.gt[3], y2 = src->grid.gt[3] + src->grid.height * src->grid.gt[5];
    foot[1] = y1 < y2 ? y1 : y2;
    foot[3] = y1 < y2 ? y2 : y1;
    res_suggested = src->grid.gt[1];
  } else {
    int rc = suggest(ctx, src, out->wkt, foot, &res_suggested);
    if (rc) {
      cf_grid_free(out);
      return rc;
    }
  }
  double rx = spec->res_x > 0 ? spec->res_x : (same ? src->grid.gt[1] : res_suggested);
  double ry = spec->res_y > 0 ? spec->res_y : (same ? fabs(src->grid.gt[5]) : res_suggested);

  double ext[4];
  if (spec->have_extent) {
    memcpy(ext, spec->extent, sizeof ext);
  } else if (spec->boundary) {
    cf_vector v;
    int rc = cf_vector_clone(ctx, spec->boundary, &v);
    if (!rc) rc = cf_vector_transform(ctx, &v, out->wkt);
    if (rc) {
      cf_grid_free(out);
      return rc;
    }
    memcpy(ext, v.ext, sizeof ext);
    cf_vector_free(&v);
  } else {
    memcpy(ext, foot, sizeof ext);
  }
  if (!(ext[2] > ext[0] && ext[3] > ext[1])) {
    cf_grid_free(out);
    return cf_error(ctx, CF_EINVAL, where, "extent", "empty extent [%g, %g, %g, %g]", ext[0], ext[1],
                    ext[2], ext[3]);
  }
  /* the grid must overlap the data, or every pixel would be nodata */
  if (ext[0] >= foot[2] || ext[2] <= foot[0] || ext[1] >= foot[3] || ext[3] <= foot[1]) {
    const cf_raster_info *info = cf_source_info(src);
    cf_grid_free(out);
    return cf_error(ctx, CF_EDATA, info ? info->path : where, "extent",
                    "the grid extent [%.6g, %.6g, %.6g, %.6g] (from %s) does not overlap the "
                    "raster's footprint [%.6g, %.6g, %.6g, %.6g]",
                    ext[0], ext[1], ext[2], ext[3],
                    spec->have_extent ? "the extent option"
                                      : spec->boundary ? spec->boundary->path : "the raster",
                    foot[0], foot[1], foot[2], foot[3]);
  }
  /* A boundary's extent is snapped outwards to whole multiples of the
   * resolution (gdalwarp -tap), so grids of different runs and inputs with
   * the same settings coincide pixel for pixel. An explicit box or the
   * source's own footprint is kept at its origin, and the far edges move by
   * less than half a pixel to a whole number of pixels (as gdalwarp). */
  double x0 = ext[0], y1 = ext[3], w, h;
  if (spec->boundary && !spec->have_extent) {
    x0 = floor(ext[0] / rx + 1e-9) * rx;
    y1 = ceil(ext[3] / ry - 1e-9) * ry;
    w = ceil(ext[2] / rx - 1e-9) - floor(ext[0] / rx + 1e-9);
    h = ceil(ext[3] / ry - 1e-9) - floor(ext[1] / ry + 1e-9);
  } else {
    w = floor((ext[2] - ext[0]) / rx + 0.5);
    h = floor((ext[3] - ext[1]) / ry + 0.5);
  }
  if (w < 1 || h < 1 || w * h > 4.0e10) {
    cf_grid_free(out);
    return cf_error(ctx, CF_EINVAL, where, "resolution",
                    "grid of %.0f x %.0f pixels is out of range (1 .. 4e10 pixels)", w, h);
  }
  out->width = (int)llround(w);
  out->height = (int)llround(h);
  out->gt[0] = x0;
  out->gt[1] = rx;
  out->gt[2] = 0;
  out->gt[3] = y1;
  out->gt[4] = 0;
  out->gt[5] = -ry;
  return CF_OK;
}

/* --- the warp node ---------------------------------------------------------- */

typedef struct {
  char *path;
  char **argv; /* gdalwarp arguments, NULL-terminated */
  GDALDatasetH *src, *vrt; /* per thread */
} warp_impl;

static int warp_read(cf_raster *r, int thread, const cf_window *w, cf_block *out,
                     cf_worker_status *st) {
  warp_impl *wi = r->impl;
  if (!wi->vrt[thread]) {
    cf_gdal_quiet_push();
    wi->src[thread] = GDALOpenEx(wi->path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    GDALWarpAppOptions *o = GDALWarpAppOptionsNew(wi->argv, NULL);
    if (wi->src[thread] && o) {
      int usage = 0;
      wi->vrt[thread] = GDALWarp("", NULL, 1, &wi->src[thread], o, &usage);
    }
    GDALWarpAppOptionsFree(o);
    cf_gdal_quiet_pop();
    if (!wi->vrt[thread])
      return cf_worker_fail(st, CF_EIO, wi->path, "", "cannot set up warping (%s)",
                            cf_gdal_last_error("GDALWarp failed"));
  }
  cf_gdal_quiet_push();
  CPLErr e = GDALDatasetRasterIO(wi->vrt[thread], GF_Read, w->x0, w->y0, w->nx, w->ny, out->data,
                                 w->nx, w->ny, GDT_Float64, r->nbands, NULL, 0, 0, 0);
  cf_gdal_quiet_pop();
  if (e != CE_None)
    return cf_worker_fail(st, CF_EIO, wi->path, "", "warping window x %d, y %d failed (%s)", w->x0,
                          w->y0, cf_gdal_last_error("I/O error"));
  size_t n = (size_t)r->nbands * w->nx * w->ny;
  for (size_t i = 0; i < n; i++) out->valid[i] = !isnan(out->data[i]);
  return CF_OK;
}

static void warp_destroy(cf_raster *r) {
  warp_impl *wi = r->impl;
  if (!wi) return;
  for (int t = 0; t < r->nthreads; t++) {
    if (wi->vrt && wi->vrt[t]) GDALClose(wi->vrt[t]);
    if (wi->src && wi->src[t]) GDALReleaseDataset(wi->src[t]);
  }
  free(wi->vrt);
  free(wi->src);
  CSLDestroy(wi->argv);
  free(wi->path);
  free(wi);
}

static const cf_raster_ops warp_ops = {"warp", warp_read, warp_destroy};

static char **add_arg(char **argv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char **add_arg(char **argv, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return CSLAddString(argv, buf);
}

cf_raster *cf_warp_create(cf_ctx *ctx, cf_raster *src, const cf_grid *grid, const char *resampling) {
  const cf_raster_info *info = cf_source_info(src);
  if (!info) {
    cf_error(ctx, CF_EINTERNAL, "", "", "warp input is not a raster file");
    return NULL;
  }
  cf_raster *r = cf_raster_alloc(ctx, &warp_ops, src->nbands, src->nthreads);
  if (!r) return NULL;
  warp_impl *wi = calloc(1, sizeof *wi);
  r->impl = wi;
  if (!wi || cf_grid_copy(ctx, &r->grid, grid)) goto oom;
  wi->path = strdup(info->path);
  wi->src = calloc((size_t)r->nthreads, sizeof *wi->src);
  wi->vrt = calloc((size_t)r->nthreads, sizeof *wi->vrt);
  if (!wi->path || !wi->src || !wi->vrt) goto oom;
  r->block_w = WARP_BLOCK;
  r->block_h = WARP_BLOCK;
  char **a = NULL;
  a = CSLAddString(a, "-of");
  a = CSLAddString(a, "VRT");
  a = CSLAddString(a, "-ot");
  a = CSLAddString(a, "Float64");
  a = CSLAddString(a, "-s_srs");
  a = CSLAddString(a, src->grid.wkt);
  a = CSLAddString(a, "-t_srs");
  a = CSLAddString(a, grid->wkt);
  a = CSLAddString(a, "-te");
  a = add_arg(a, "%.17g", grid->gt[0]);
  a = add_arg(a, "%.17g", grid->gt[3] + grid->height * grid->gt[5]);
  a = add_arg(a, "%.17g", grid->gt[0] + grid->width * grid->gt[1]);
  a = add_arg(a, "%.17g", grid->gt[3]);
  a = CSLAddString(a, "-ts");
  a = add_arg(a, "%d", grid->width);
  a = add_arg(a, "%d", grid->height);
  a = CSLAddString(a, "-r");
  a = CSLAddString(a, resampling ? resampling : "near");
  a = CSLAddString(a, "-et");
  a = CSLAddString(a, "0");
  a = CSLAddString(a, "-dstnodata");
  a = CSLAddString(a, "nan");
  a = CSLAddString(a, "-wo");
  a = CSLAddString(a, "INIT_DEST=NO_DATA");
  int has_nd = 0;
  for (int b = 0; b < info->nbands; b++) has_nd |= info->mask[b] == CF_MASK_NODATA;
  if (has_nd) {
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    for (int b = 0; b < info->nbands; b++)
      cf_strbuf_printf(&sb, "%s%.17g", b ? " " : "",
                       info->mask[b] == CF_MASK_NODATA ? info->nodata[b] : NAN);
    a = CSLAddString(a, "-srcnodata");
    a = CSLAddString(a, cf_strbuf_str(&sb));
    cf_strbuf_free(&sb);
  }
  a = CSLAddString(a, "-co");
  a = add_arg(a, "BLOCKXSIZE=%d", WARP_BLOCK);
  a = CSLAddString(a, "-co");
  a = add_arg(a, "BLOCKYSIZE=%d", WARP_BLOCK);
  a = CSLAddString(a, "-q");
  wi->argv = a;
  if (!a) goto oom;
  for (int b = 0; b < r->nbands; b++)
    if (cf_raster_set_band_name(r, b, src->band_names[b])) goto oom;
  return r;
oom:
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, "", "", "out of memory setting up a warp");
  return NULL;
}
