/*
 * Grid definition and the warp nodes.
 *
 * Warping is GDAL's, with the exact transformer (-et 0) so that a pixel's
 * value does not depend on how the warper chunks its work, and Float64
 * output whose NaN marks pixels with no valid source. Two nodes:
 *  - a file (a source node): each thread builds its own warped VRT
 *    (gdalwarp -of VRT) over its own handle. The VRT's block is the node's
 *    block, so the tile engine asks for whole VRT blocks and every thread
 *    computes identical pixels.
 *  - any other node (an index, a clip...): it has no file, but it has a grid
 *    and reads any window. Each block of the output is warped on its own:
 *    its pixel edges are mapped into the input grid, that window plus the
 *    resampling kernel's reach is read from the input node, wrapped as an
 *    in-memory dataset and warped by GDAL into the block. A block's pixels
 *    depend on the block only, never on the tile or thread that asked.
 * Each band's source nodata masks that band only (UNIFIED_SRC_NODATA=NO).
 * At the end, the nodata guard (see warp.h): the output's nodata value must
 * be one that no valid pixel takes once written, whatever the warp did.
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
#include "raster/stored_value.h"

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

/* A dataset with the grid `g` and no bands: what GDAL needs to reason about
 * the footprint of any node, including a computed one without a file. */
static GDALDatasetH grid_dataset(const cf_grid *g) {
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDatasetH ds = mem ? GDALCreate(mem, "", g->width, g->height, 0, GDT_Float64, NULL) : NULL;
  double gt[6];
  memcpy(gt, g->gt, sizeof gt);
  if (ds && (GDALSetGeoTransform(ds, gt) != CE_None || GDALSetProjection(ds, g->wkt) != CE_None)) {
    GDALClose(ds);
    ds = NULL;
  }
  return ds;
}

/* Footprint of the source in the CRS `dst_wkt` and the resolution GDAL
 * suggests there. `label` names the source in messages. */
static int suggest(cf_ctx *ctx, const cf_raster *src, const char *label, const char *dst_wkt, double ext[4],
                   double *res) {
  cf_gdal_quiet_push();
  GDALDatasetH ds = grid_dataset(&src->grid);
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
  if (!ds) {
    rc = cf_error(ctx, CF_ENOMEM, label, "crs", "cannot describe the input grid to GDAL (%s)",
                  cf_gdal_last_error("MEM driver failed"));
  } else if (!tr) {
    rc = cf_error(ctx, CF_EDATA, label, "crs", "cannot transform to the grid CRS (%s)",
                  cf_gdal_last_error("PROJ failed"));
  } else {
    double gt[6];
    int w, h;
    if (GDALSuggestedWarpOutput2(ds, GDALGenImgProjTransform, tr, gt, &w, &h, ext, 0) != CE_None) {
      rc = cf_error(ctx, CF_EDATA, label, "crs", "cannot compute the footprint in the grid CRS (%s)",
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
    const cf_raster_info *info = cf_source_info(src);
    int rc = suggest(ctx, src, info ? info->path : where, out->wkt, foot, &res_suggested);
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
    return cf_worker_fail(st, cf_gdal_read_status(), wi->path, "", "warping window x %d, y %d failed (%s)", w->x0,
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

/* What both warps ask of GDAL: the resampling, the exact transformer, and
 * NaN wherever no valid input pixel reaches. */
static char **add_warp_args(char **a, const char *resampling) {
  /* UNIFIED_SRC_NODATA=NO: each band's nodata masks that band only (with
   * -srcnodata gdalwarp would otherwise treat a pixel as nodata only when
   * every band has its nodata, and pass a band's nodata as data) */
  const char *args[] = {"-r", resampling ? resampling : "near", "-et", "0", "-dstnodata", "nan", "-wo",
                        "INIT_DEST=NO_DATA", "-wo", "UNIFIED_SRC_NODATA=NO"};
  for (size_t i = 0; i < sizeof args / sizeof *args; i++) a = CSLAddString(a, args[i]);
  return a;
}

/* The end both warp constructors share: the input's band names, or (ok == 0
 * or a name cannot be copied) the node destroyed and the error reported. */
static cf_raster *finish_warp(cf_ctx *ctx, cf_raster *r, const cf_raster *src, int ok) {
  for (int b = 0; ok && b < r->nbands; b++) ok = cf_raster_set_band_name(r, b, src->band_names[b]) == CF_OK;
  if (ok) return r;
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, "", "", "out of memory setting up a warp");
  return NULL;
}

static cf_raster *file_warp_create(cf_ctx *ctx, cf_raster *src, const cf_raster_info *info, const cf_grid *grid,
                                   const char *resampling) {
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
  a = add_warp_args(a, resampling);
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
  return finish_warp(ctx, r, src, a != NULL);
oom:
  return finish_warp(ctx, r, src, 0);
}

/* --- the warp node over any node ------------------------------------------------ */

typedef struct {
  char **argv;   /* gdalwarp arguments for one block, NULL-terminated */
  int radius;    /* the resampling kernel's reach, in input pixels at 1:1 */
  void **tr;     /* per thread: output pixel/line -> input pixel/line (exact) */
  cf_block *out; /* per thread: one warped block */
} node_warp_impl;

/* Reach of GDAL's kernels (GWKGetFilterRadius); the area methods take the
 * input pixels under an output pixel, which the mapped edges already cover,
 * and one more pixel absorbs rounding at the window's edge. */
static int kernel_radius(const char *resampling) {
  if (!strcmp(resampling, "cubic") || !strcmp(resampling, "cubicspline")) return 2;
  if (!strcmp(resampling, "lanczos")) return 3;
  return 1;
}

/* Input pixel/line coordinates of a 17 x 17 lattice over the output
 * window's pixel edges (corners and edges included); returns the bounding
 * box of those that transform, and 0 if none does. */
static int mapped_box(void *tr, const cf_window *w, double box[4]) {
  enum { K = 17 };
  double x[K * K], y[K * K], z[K * K];
  int ok[K * K], any = 0;
  for (int j = 0; j < K; j++)
    for (int i = 0; i < K; i++) {
      x[j * K + i] = w->x0 + (double)w->nx * i / (K - 1);
      y[j * K + i] = w->y0 + (double)w->ny * j / (K - 1);
      z[j * K + i] = 0;
    }
  GDALGenImgProjTransform(tr, TRUE, K * K, x, y, z, ok);
  for (int k = 0; k < K * K; k++) {
    if (!ok[k] || !isfinite(x[k]) || !isfinite(y[k])) continue;
    if (!any || x[k] < box[0]) box[0] = x[k];
    if (!any || y[k] < box[1]) box[1] = y[k];
    if (!any || x[k] > box[2]) box[2] = x[k];
    if (!any || y[k] > box[3]) box[3] = y[k];
    any = 1;
  }
  return any;
}

/* The input window an output window needs: its mapped edges, widened by the
 * kernel's reach (stretched as GDAL stretches it when reducing), clipped to
 * the input grid. Returns 0 if the output window maps outside the input. */
static int input_window(void *tr, int radius, const cf_grid *in, const cf_window *w, cf_window *sw) {
  double box[4];
  if (!mapped_box(tr, w, box)) return 0;
  double scale = fmax((box[2] - box[0]) / w->nx, (box[3] - box[1]) / w->ny);
  double m = ceil(radius * fmax(1.0, scale)) + 1;
  double x0 = fmax(0, floor(box[0]) - m), y0 = fmax(0, floor(box[1]) - m);
  double x1 = fmin(in->width, ceil(box[2]) + m), y1 = fmin(in->height, ceil(box[3]) + m);
  if (!(x1 > x0 && y1 > y0)) return 0;
  sw->x0 = (int)x0;
  sw->y0 = (int)y0;
  sw->nx = (int)(x1 - x0);
  sw->ny = (int)(y1 - y0);
  return 1;
}

/* A MEM dataset over the pixels of `b` (nx x ny, bands as cf_block lays them
 * out), with window (x0, y0) of grid `g` as its georeferencing and NaN as
 * nodata: GDAL reads or writes the block's memory in place. */
static GDALDatasetH wrap_block(cf_block *b, int nbands, const cf_grid *g, int x0, int y0) {
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("MEM"), "", b->nx, b->ny, 0, GDT_Float64, NULL);
  for (int k = 0; ds && k < nbands; k++) {
    char ptr[64], pixel[32], line[48];
    snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", (void *)cf_block_band(b, k));
    snprintf(pixel, sizeof pixel, "PIXELOFFSET=%d", (int)sizeof(double));
    snprintf(line, sizeof line, "LINEOFFSET=%lld", (long long)b->nx * (long long)sizeof(double));
    char *opts[] = {ptr, pixel, line, NULL};
    if (GDALAddBand(ds, GDT_Float64, opts) != CE_None ||
        GDALSetRasterNoDataValue(GDALGetRasterBand(ds, k + 1), NAN) != CE_None) {
      GDALClose(ds);
      ds = NULL;
    }
  }
  double gt[6] = {g->gt[0] + x0 * g->gt[1], g->gt[1], 0, g->gt[3] + y0 * g->gt[5], 0, g->gt[5]};
  if (ds && (GDALSetGeoTransform(ds, gt) != CE_None || GDALSetProjection(ds, g->wkt) != CE_None)) {
    GDALClose(ds);
    ds = NULL;
  }
  return ds;
}

/* GDAL warps the input pixels `in` (window `sw` of the input grid) into
 * `out` (window `bw` of the output grid). */
static int gdal_warp_block(cf_raster *r, const cf_window *sw, cf_block *in, const cf_window *bw, cf_block *out,
                           cf_worker_status *st) {
  node_warp_impl *nw = r->impl;
  cf_gdal_quiet_push();
  GDALDatasetH src = wrap_block(in, r->nbands, &r->inputs[0]->grid, sw->x0, sw->y0);
  GDALDatasetH dst = wrap_block(out, r->nbands, &r->grid, bw->x0, bw->y0);
  GDALWarpAppOptions *o = GDALWarpAppOptionsNew(nw->argv, NULL);
  int usage = 0;
  GDALDatasetH done = src && dst && o ? GDALWarp(NULL, dst, 1, &src, o, &usage) : NULL;
  GDALWarpAppOptionsFree(o);
  if (src) GDALClose(src);
  if (dst) GDALClose(dst); /* the pixels stay: they are the block's memory */
  cf_gdal_quiet_pop();
  if (!done)
    return cf_worker_fail(st, CF_EIO, "", "", "warping block x %d, y %d of a computed raster failed (%s)", bw->x0,
                          bw->y0, cf_gdal_last_error("GDALWarp failed"));
  return CF_OK;
}

/* One block of the output, into the thread's block buffer. */
static int warp_one_block(cf_raster *r, int thread, const cf_window *bw, cf_worker_status *st) {
  node_warp_impl *nw = r->impl;
  cf_block *out = &nw->out[thread];
  out->nx = bw->nx;
  out->ny = bw->ny;
  size_t n = (size_t)r->nbands * bw->nx * bw->ny;
  for (size_t i = 0; i < n; i++) out->data[i] = NAN;
  if (!nw->tr[thread]) {
    cf_gdal_quiet_push();
    nw->tr[thread] = GDALCreateGenImgProjTransformer3(r->inputs[0]->grid.wkt, r->inputs[0]->grid.gt, r->grid.wkt,
                                                      r->grid.gt);
    cf_gdal_quiet_pop();
    if (!nw->tr[thread])
      return cf_worker_fail(st, CF_EDATA, "", "crs", "cannot transform to the grid CRS (%s)",
                            cf_gdal_last_error("PROJ failed"));
  }
  cf_window sw;
  cf_block *in;
  int rc = CF_OK;
  if (input_window(nw->tr[thread], nw->radius, &r->inputs[0]->grid, bw, &sw)) {
    rc = cf_raster_read_input(r, 0, thread, &sw, &in, st);
    if (!rc) rc = gdal_warp_block(r, &sw, in, bw, out, st);
  }
  for (size_t i = 0; i < n; i++) out->valid[i] = !isnan(out->data[i]);
  return rc;
}

/* Copy the part of block `b` (window bw) that lies in window w into `out`. */
static void copy_overlap(const cf_block *b, const cf_window *bw, const cf_window *w, cf_block *out, int nbands) {
  int x0 = bw->x0 > w->x0 ? bw->x0 : w->x0, x1 = bw->x0 + bw->nx < w->x0 + w->nx ? bw->x0 + bw->nx : w->x0 + w->nx;
  int y0 = bw->y0 > w->y0 ? bw->y0 : w->y0, y1 = bw->y0 + bw->ny < w->y0 + w->ny ? bw->y0 + bw->ny : w->y0 + w->ny;
  for (int k = 0; k < nbands; k++)
    for (int y = y0; y < y1; y++) {
      size_t from = (size_t)k * bw->nx * bw->ny + (size_t)(y - bw->y0) * bw->nx + (size_t)(x0 - bw->x0);
      size_t to = (size_t)k * w->nx * w->ny + (size_t)(y - w->y0) * w->nx + (size_t)(x0 - w->x0);
      memcpy(out->data + to, b->data + from, (size_t)(x1 - x0) * sizeof *out->data);
      memcpy(out->valid + to, b->valid + from, (size_t)(x1 - x0));
    }
}

/* Any window: every block it touches is warped whole, then its overlap
 * copied, so a pixel's value never depends on the window asked for. */
static int node_warp_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  node_warp_impl *nw = r->impl;
  const int B = r->block_w;
  if (!nw->out[thread].data && cf_block_init(&nw->out[thread], r->nbands, B * B))
    return cf_worker_fail(st, CF_ENOMEM, "", "", "out of memory for a %dx%d warp block", B, B);
  for (int by = w->y0 / B; by <= (w->y0 + w->ny - 1) / B; by++)
    for (int bx = w->x0 / B; bx <= (w->x0 + w->nx - 1) / B; bx++) {
      cf_window bw = {bx * B, by * B, 0, 0};
      bw.nx = bw.x0 + B <= r->grid.width ? B : r->grid.width - bw.x0;
      bw.ny = bw.y0 + B <= r->grid.height ? B : r->grid.height - bw.y0;
      int rc = warp_one_block(r, thread, &bw, st);
      if (rc) return rc;
      copy_overlap(&nw->out[thread], &bw, w, out, r->nbands);
    }
  return CF_OK;
}

static void node_warp_destroy(cf_raster *r) {
  node_warp_impl *nw = r->impl;
  if (!nw) return;
  for (int t = 0; t < r->nthreads; t++) {
    if (nw->tr && nw->tr[t]) GDALDestroyGenImgProjTransformer(nw->tr[t]);
    if (nw->out) cf_block_free(&nw->out[t]);
  }
  free(nw->tr);
  free(nw->out);
  CSLDestroy(nw->argv);
  free(nw);
}

static const cf_raster_ops node_warp_ops = {"warp", node_warp_read, node_warp_destroy};

/* Output pixels per block, so that a block's input window stays near 1024
 * pixels a side however much the warp reduces (a 512 block at 1:8 would
 * read 4096 x 4096 input pixels per thread). */
static int node_block_size(const cf_raster *src, const cf_grid *grid) {
  void *tr = GDALCreateGenImgProjTransformer3(src->grid.wkt, src->grid.gt, grid->wkt, grid->gt);
  cf_window all = {0, 0, grid->width, grid->height};
  double box[4], scale = 1;
  if (tr && mapped_box(tr, &all, box)) scale = fmax((box[2] - box[0]) / grid->width, (box[3] - box[1]) / grid->height);
  if (tr) GDALDestroyGenImgProjTransformer(tr);
  int b = scale > 2 ? (int)(1024 / scale) / 16 * 16 : WARP_BLOCK;
  return b < 32 ? 32 : b > WARP_BLOCK ? WARP_BLOCK : b;
}

static cf_raster *node_warp_create(cf_ctx *ctx, cf_raster *src, const cf_grid *grid, const char *resampling) {
  cf_raster *r = cf_raster_alloc(ctx, &node_warp_ops, src->nbands, src->nthreads);
  if (!r) return NULL;
  node_warp_impl *nw = calloc(1, sizeof *nw);
  r->impl = nw;
  r->inputs = malloc(sizeof *r->inputs);
  if (!nw || !r->inputs || cf_grid_copy(ctx, &r->grid, grid)) goto oom;
  r->inputs[0] = src;
  r->ninputs = 1;
  nw->tr = calloc((size_t)r->nthreads, sizeof *nw->tr);
  nw->out = calloc((size_t)r->nthreads, sizeof *nw->out);
  if (!nw->tr || !nw->out) goto oom;
  const char *method = resampling ? resampling : "near";
  nw->radius = kernel_radius(method);
  r->block_w = r->block_h = node_block_size(src, grid);
  nw->argv = CSLAddString(add_warp_args(NULL, method), "-q");
  return finish_warp(ctx, r, src, nw->argv != NULL);
oom:
  return finish_warp(ctx, r, src, 0);
}

cf_raster *cf_warp_create(cf_ctx *ctx, cf_raster *src, const cf_grid *grid, const char *resampling) {
  const cf_raster_info *info = cf_source_info(src);
  return info ? file_warp_create(ctx, src, info, grid, resampling) : node_warp_create(ctx, src, grid, resampling);
}

/* --- the nodata guard -------------------------------------------------------------- */

typedef struct {
  GDALDataType type;
  double nodata;
  int small;         /* 8- or 16-bit integer type: every value is tracked */
  double type_min;   /* offset of the flag table (small types) */
  uint8_t **seen;    /* per thread: small types, 65536 flags; others: NULL */
  int *hit;          /* per thread: the nodata occurred (other types) */
  double *lo, *hi;   /* per thread: range of the converted valid values */
} guard_impl;

static double type_default(GDALDataType t) {
  switch (t) {
    case GDT_Byte: return 255;
    case GDT_UInt16: return 65535;
    case GDT_UInt32: return 4294967295.0;
    default: return -9999;
  }
}

static void type_range(GDALDataType t, double *lo, double *hi) {
  switch (t) {
    case GDT_Byte: *lo = 0, *hi = 255; break;
    case GDT_UInt16: *lo = 0, *hi = 65535; break;
    case GDT_Int16: *lo = -32768, *hi = 32767; break;
    case GDT_UInt32: *lo = 0, *hi = 4294967295.0; break;
    case GDT_Int32: *lo = -2147483648.0, *hi = 2147483647.0; break;
    case GDT_Float32: *lo = -FLT_MAX, *hi = FLT_MAX; break;
    default: *lo = -DBL_MAX, *hi = DBL_MAX; break;
  }
}

/* Is v a value of type t (integral and in range for integer types)? */
static int holds(GDALDataType t, double v) {
  double lo, hi;
  type_range(t, &lo, &hi);
  if (!isfinite(v) || v < lo || v > hi) return 0;
  if (!GDALDataTypeIsFloating(t)) return v == floor(v);
  return t == GDT_Float64 || (double)(float)v == v;
}

double cf_nodata_candidate(const cf_raster *src, const char *type) {
  GDALDataType t = GDALGetDataTypeByName(type ? type : "Float32");
  const cf_raster *r = src;
  while (r && !cf_source_info(r) && !strcmp(r->ops->kind, "warp") && r->ninputs == 1) r = r->inputs[0];
  const cf_raster_info *info = r ? cf_source_info(r) : NULL;
  if (info && !GDALDataTypeIsFloating(t)) {
    int same = 1;
    for (int b = 0; b < info->nbands; b++)
      same &= info->mask[b] == CF_MASK_NODATA && info->nodata[b] == info->nodata[0];
    if (same && info->nbands > 0 && holds(t, info->nodata[0])) return info->nodata[0];
  }
  return type_default(t);
}

/* What the guard records of one band's pixels: the stored values' range
 * and whether the nodata is among them; for 8- and 16-bit types every
 * value seen. Locals throughout, so that the stores into `seen` cannot
 * make the compiler reload the guard's fields each pixel. */
typedef struct {
  double lo, hi;
  int hit;
} guard_scan;

static void scan_float32(const double *v, const uint8_t *ok, size_t n, double nodata, guard_scan *g) {
  double lo = g->lo, hi = g->hi;
  int hit = 0;
  for (size_t i = 0; i < n; i++) {
    double c = cf_stored_float32(v[i]);
    if (ok[i]) {
      hit |= c == nodata;
      lo = c < lo ? c : lo;
      hi = c > hi ? c : hi;
    }
  }
  g->lo = lo, g->hi = hi, g->hit |= hit;
}

static void scan_any(GDALDataType t, const double *v, const uint8_t *ok, size_t n, double nodata, uint8_t *seen,
                     double type_min, guard_scan *g) {
  double lo = g->lo, hi = g->hi;
  int hit = 0;
  for (size_t i = 0; i < n; i++) {
    if (!ok[i]) continue;
    double c = cf_stored_value(t, v[i]);
    if (seen) seen[(size_t)(c - type_min)] = 1;
    hit |= c == nodata;
    lo = c < lo ? c : lo;
    hi = c > hi ? c : hi;
  }
  g->lo = lo, g->hi = hi, g->hit |= hit;
}

/* The guard's output is its input: it reads the input straight into its
 * own block (no copy, no block of its own per thread) and looks at it. */
static int guard_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  guard_impl *g = r->impl;
  int rc = cf_raster_read_through(r, 0, thread, w, out, st);
  if (rc) return rc;
  size_t px = (size_t)w->nx * w->ny;
  guard_scan sc = {g->lo[thread], g->hi[thread], g->hit[thread]};
  for (int b = 0; b < r->nbands; b++) {
    const double *v = cf_block_band(out, b);
    const uint8_t *ok = cf_block_valid(out, b);
    if (g->type == GDT_Float32)
      scan_float32(v, ok, px, g->nodata, &sc);
    else
      scan_any(g->type, v, ok, px, g->nodata, g->small ? g->seen[thread] : NULL, g->type_min, &sc);
  }
  g->lo[thread] = sc.lo, g->hi[thread] = sc.hi, g->hit[thread] = sc.hit;
  return CF_OK;
}

static void guard_destroy(cf_raster *r) {
  guard_impl *g = r->impl;
  if (!g) return;
  for (int t = 0; t < r->nthreads; t++) {
    if (g->seen) free(g->seen[t]);
  }
  free(g->seen);
  free(g->hit);
  free(g->lo);
  free(g->hi);
  free(g);
}

static const cf_raster_ops guard_ops = {"nodata-guard", guard_read, guard_destroy};

cf_raster *cf_nodata_guard_create(cf_ctx *ctx, cf_raster *src, const char *type, double nodata) {
  cf_raster *r = cf_raster_alloc(ctx, &guard_ops, src->nbands, src->nthreads);
  if (!r) return NULL;
  guard_impl *g = calloc(1, sizeof *g);
  r->impl = g;
  r->inputs = malloc(sizeof *r->inputs);
  int n = r->nthreads, ok = g && r->inputs && !cf_grid_copy(ctx, &r->grid, &src->grid);
  if (ok) {
    r->inputs[0] = src;
    r->ninputs = 1;
    r->block_w = src->block_w;
    r->block_h = src->block_h;
    g->type = GDALGetDataTypeByName(type ? type : "Float32");
    g->nodata = nodata;
    g->small = g->type == GDT_Byte || g->type == GDT_UInt16 || g->type == GDT_Int16;
    double hi;
    type_range(g->type, &g->type_min, &hi);
    g->seen = calloc((size_t)n, sizeof *g->seen);
    g->hit = calloc((size_t)n, sizeof *g->hit);
    g->lo = malloc((size_t)n * sizeof *g->lo);
    g->hi = malloc((size_t)n * sizeof *g->hi);
    ok = g->seen && g->hit && g->lo && g->hi;
    for (int t = 0; ok && t < n; t++) {
      g->lo[t] = INFINITY;
      g->hi[t] = -INFINITY;
      if (g->small) ok = (g->seen[t] = calloc(65536, 1)) != NULL;
    }
  }
  for (int b = 0; ok && b < r->nbands; b++) ok = cf_raster_set_band_name(r, b, src->band_names[b]) == CF_OK;
  if (ok) return r;
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, "", "", "out of memory setting up the nodata check");
  return NULL;
}

int cf_nodata_guard_result(const cf_raster *r, double *free_value) {
  const guard_impl *g = r->impl;
  int hit = 0;
  double lo = INFINITY, hi = -INFINITY, tlo, thi;
  for (int t = 0; t < r->nthreads; t++) {
    hit |= g->hit[t];
    lo = fmin(lo, g->lo[t]);
    hi = fmax(hi, g->hi[t]);
  }
  if (!hit) return 0;
  type_range(g->type, &tlo, &thi);
  if (g->small) {
    uint8_t *used = calloc(65536, 1);
    if (!used) return -1;
    for (int t = 0; t < r->nthreads; t++)
      for (size_t i = 0; i < 65536; i++) used[i] |= g->seen[t][i];
    int found = 0;
    double d = type_default(g->type);
    if (!used[(size_t)(d - tlo)]) {
      *free_value = d;
      found = 1;
    }
    for (double v = thi; !found && v >= tlo; v--)
      if (!used[(size_t)(v - tlo)]) *free_value = v, found = 1;
    free(used);
    return found ? 1 : -1;
  }
  /* wider types: a value outside the data's range */
  double d = type_default(g->type);
  if (d < lo || d > hi) return *free_value = d, 1;
  if (GDALDataTypeIsFloating(g->type)) {
    if (lo > tlo) return *free_value = tlo, 1;
    if (hi < thi) return *free_value = thi, 1;
    return -1;
  }
  if (hi < thi) return *free_value = hi + 1, 1;
  if (lo > tlo) return *free_value = lo - 1, 1;
  return -1;
}
