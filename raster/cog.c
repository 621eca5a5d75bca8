/* The COG writer's options, its choice between the streaming writer
 * (cog_stream.c) and GDAL's COG driver, and the GDAL path itself; see
 * cog.h for which writes what. */
#include "raster/cog.h"

#include <cpl_string.h>
#include <errno.h>
#include <float.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "raster/cog_stream.h"
#include "raster/overview.h"
#include "raster/stored_value.h"

double cf_cog_default_nodata(int type) {
  GDALDataType t = (GDALDataType)type;
  switch (t) {
    case GDT_Byte: return 255;
    case GDT_UInt16: return 65535;
    case GDT_UInt32: return 4294967295.0;
    default: return -9999;
  }
}

static int representable(GDALDataType t, double v) {
  if (GDALDataTypeIsFloating(t)) return t == GDT_Float64 || isnan(v) || fabs(v) <= 3.4028234663852886e38;
  if (!isfinite(v) || v != floor(v)) return 0;
  switch (t) {
    case GDT_Byte: return v >= 0 && v <= 255;
    case GDT_UInt16: return v >= 0 && v <= 65535;
    case GDT_Int16: return v >= -32768 && v <= 32767;
    case GDT_UInt32: return v >= 0 && v <= 4294967295.0;
    case GDT_Int32: return v >= -2147483648.0 && v <= 2147483647.0;
    default: return 0;
  }
}

int cf_cog_options_check(cf_ctx *ctx, const cf_cog_options *o, const char *where) {
  const char *tn = o->type ? o->type : "Float32";
  GDALDataType t = GDALGetDataTypeByName(tn);
  if (t == GDT_Unknown || GDALDataTypeIsComplex(t) || t == GDT_Int64 || t == GDT_UInt64)
    return cf_error(ctx, CF_EINVAL, where, "data_type",
                    "'%s' is not a supported output type (Byte, UInt16, Int16, UInt32, Int32, "
                    "Float32, Float64)", tn);
  double nd = o->have_nodata ? o->nodata : cf_cog_default_nodata(t);
  if (!representable(t, nd))
    return cf_error(ctx, CF_EINVAL, where, "nodata", "nodata %g cannot be stored as %s", nd, tn);
  if (o->have_scale) {
    if (GDALDataTypeIsFloating(t))
      return cf_error(ctx, CF_EINVAL, where, "scale",
                      "scale and offset pack values into an integer data_type, not %s", tn);
    if (!isfinite(o->scale) || o->scale == 0 || !isfinite(o->offset))
      return cf_error(ctx, CF_EINVAL, where, "scale", "scale must be a non-zero number and offset a number");
  }
  const char *c = o->compress ? o->compress : "DEFLATE";
  const char *ok[] = {"DEFLATE", "LZW", "ZSTD", "NONE", "LERC", "LERC_DEFLATE", "LERC_ZSTD", "LZMA", NULL};
  int found = 0;
  for (int i = 0; ok[i]; i++) found |= strcasecmp(c, ok[i]) == 0;
  if (!found) return cf_error(ctx, CF_EINVAL, where, "compress", "unknown compression '%s'", c);
  /* libdeflate, which both writers' DEFLATE goes through, has levels 1-12 */
  if (o->level > 12 && !strcasecmp(c, "DEFLATE"))
    return cf_error(ctx, CF_EINVAL, where, "level", "level %d: DEFLATE takes 1 to 12 (ZSTD 1 to 22)", o->level);
  if (!(o->max_z_error >= 0) || !isfinite(o->max_z_error))
    return cf_error(ctx, CF_EINVAL, where, "max_z_error", "max_z_error must be a number >= 0");
  if (o->max_z_error > 0 && strncasecmp(c, "LERC", 4))
    return cf_error(ctx, CF_EINVAL, where, "max_z_error",
                    "max_z_error applies to the LERC codecs only, not to compress=%s", c);
  return CF_OK;
}

/* What both writers put on the dataset: georeferencing, per band nodata,
 * description and scale/offset, and the metadata items. */
void cf_cog_describe(void *dataset, cf_raster *r, const cf_cog_options *o, double nodata) {
  GDALDatasetH ds = dataset;
  GDALSetGeoTransform(ds, r->grid.gt);
  GDALSetProjection(ds, r->grid.wkt);
  for (int b = 0; b < r->nbands; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetRasterNoDataValue(band, nodata);
    if (r->band_names[b][0]) GDALSetDescription(band, r->band_names[b]);
    if (o->have_scale) {
      GDALSetRasterScale(band, o->scale);
      GDALSetRasterOffset(band, o->offset);
    }
  }
  for (const char *const *m = o->metadata; m && *m; m++) {
    char *key = NULL;
    const char *val = CPLParseNameValue(*m, &key);
    if (key && val) GDALSetMetadataItem(ds, key, val, NULL);
    CPLFree(key);
  }
}

/* Why a GDAL write failed, for a message that says it: GDAL reports a full
 * disk in an earlier error than the last one ("_tiffWriteProc: No space
 * left on device", then "IO error writing tag data"), so the system's
 * reason is taken from errno (cleared before the call) or, failing that,
 * from the free space next to the output. Writes into buf, returns it. */
static const char *write_reason(const char *path, char *buf, size_t n) {
  int e = cf_write_errno(path, errno, 64.0 * 1024);
  const char *gdal = cf_gdal_last_error("unknown GDAL error");
  if (e)
    snprintf(buf, n, "%s; GDAL: %s", strerror(e), gdal);
  else
    snprintf(buf, n, "%s", gdal);
  return buf;
}

/* Overview levels built as tiles stream in. A tile of the engine's
 * partition whose width and height are multiples of 2^m gives, by halving m
 * times, whole pixels of overview levels 1..m: level k pixel (X, Y) is the
 * mean of the valid pixels among level k-1 pixels (2X..2X+1, 2Y..2Y+1),
 * nodata if none is valid; at the right and bottom edges the missing
 * pixels simply do not count (level sizes are ceil(size / 2^k), as GDAL
 * makes them). The means are taken in double from double, so a level is
 * the mean of the valid pixels of its level below, not of the file's
 * rounded values. Deeper levels (a tile too small to hold one of their
 * pixels) are small: GDAL's AVERAGE builds them from level m at the end. */
typedef struct {
  int m;              /* levels built in the stream, 0 = none */
  double *data[2];    /* ping-pong buffers: level k-1 and level k of one tile, band-sequential */
  uint8_t *valid[2];
  double *out;        /* one band of a level with nodata substituted, for GDAL */
} ovr_stream;

typedef struct {
  GDALDatasetH ds;
  GDALDataType type;
  double nodata;
  double *buf;
  size_t cap;
  const char *path;
  ovr_stream ovr;
} cog_state;

/* Write the streamed overview levels of one tile. */
static int write_tile_overviews(cf_ctx *ctx, cog_state *s, const cf_window *w, cf_block *b) {
  int nb = b->nbands, x = w->x0, y = w->y0, nx = w->nx, ny = w->ny;
  const double *in = b->data;
  const uint8_t *iv = b->valid;
  for (int k = 1; k <= s->ovr.m; k++) {
    double *out = s->ovr.data[k & 1];
    uint8_t *ov = s->ovr.valid[k & 1];
    cf_ovr_halve(in, iv, nx, ny, nb, out, ov);
    x /= 2, y /= 2, nx = (nx + 1) / 2, ny = (ny + 1) / 2;
    size_t n = (size_t)nx * ny;
    for (int band = 0; band < nb; band++) {
      const double *d = out + band * n;
      const uint8_t *v = ov + band * n;
      for (size_t i = 0; i < n; i++) s->ovr.out[i] = v[i] ? d[i] : s->nodata;
      GDALRasterBandH ob = GDALGetOverview(GDALGetRasterBand(s->ds, band + 1), k - 1);
      cf_gdal_quiet_push();
      errno = 0;
      CPLErr e = ob ? GDALRasterIO(ob, GF_Write, x, y, nx, ny, s->ovr.out, nx, ny, GDT_Float64, 0, 0) : CE_Failure;
      cf_gdal_quiet_pop();
      char why[512];
      if (e != CE_None)
        return cf_error(ctx, CF_EIO, s->path, "overviews", "write failed: %s", write_reason(s->path, why, sizeof why));
    }
    in = out, iv = ov;
  }
  return CF_OK;
}

static int write_tile(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  cog_state *s = user;
  (void)tile;
  size_t n = (size_t)w->nx * w->ny * b->nbands;
  CPLErr e;
  cf_gdal_quiet_push();
  errno = 0;
  if (s->type == GDT_Float32) {
    /* Float32 (the usual map): converted here straight into the file's
     * pixel-interleaved order, so GDAL only copies (the conversion and
     * interleaving by GDAL were a fifth of this serial section) */
    size_t np = (size_t)w->nx * w->ny;
    int nb = b->nbands;
    float *f = (float *)s->buf;
    for (int band = 0; band < nb; band++) {
      const double *d = b->data + band * np;
      const uint8_t *v = b->valid + band * np;
      for (size_t i = 0; i < np; i++) f[i * nb + band] = cf_stored_float32(v[i] ? d[i] : s->nodata);
    }
    e = GDALDatasetRasterIO(s->ds, GF_Write, w->x0, w->y0, w->nx, w->ny, f, w->nx, w->ny, GDT_Float32, nb, NULL,
                            (GSpacing)nb * sizeof(float), (GSpacing)nb * sizeof(float) * w->nx, sizeof(float));
  } else {
    /* invalid pixels become the nodata value; the block itself is left intact */
    for (size_t i = 0; i < n; i++) s->buf[i] = b->valid[i] ? b->data[i] : s->nodata;
    e = GDALDatasetRasterIO(s->ds, GF_Write, w->x0, w->y0, w->nx, w->ny, s->buf, w->nx, w->ny, GDT_Float64,
                            b->nbands, NULL, 0, 0, 0);
  }
  cf_gdal_quiet_pop();
  char why[512];
  if (e != CE_None) return cf_error(ctx, CF_EIO, s->path, "", "write failed: %s", write_reason(s->path, why, sizeof why));
  return s->ovr.m > 0 ? write_tile_overviews(ctx, s, w, b) : CF_OK;
}

typedef struct {
  cf_ctx *ctx;
  const char *task;
  int cancelled;
  double p0, p1; /* share of the whole write this GDAL step reports into */
} copy_progress;

static int CPL_STDCALL copy_progress_fn(double f, const char *msg, void *user) {
  copy_progress *p = user;
  if (cf_progress(p->ctx, p->p0 + (p->p1 - p->p0) * f, p->task)) {
    p->cancelled = 1;
    return 0;
  }
  return 1;
}

/* The predictor when none is asked for: horizontal differencing before the
 * lossless codecs that benefit (DEFLATE, LZW, ZSTD), the floating-point
 * one (3) for float types, the integer one (2) for integer types. Smooth
 * maps such as biomass or indices compress markedly better with it. */
const char *cf_cog_default_predictor(int type, const char *compress) {
  const char *c = compress ? compress : "DEFLATE";
  if (strcasecmp(c, "DEFLATE") && strcasecmp(c, "LZW") && strcasecmp(c, "ZSTD")) return NULL;
  if (GDALDataTypeIsComplex(type)) return NULL;
  return GDALDataTypeIsFloating(type) ? "FLOATING_POINT" : "STANDARD";
}

/* Level 1 for DEFLATE and ZSTD unless one is asked for: measured on the
 * benchmark maps through the streaming writer (4000^2, 2 threads,
 * FLOATING_POINT predictor; CPU s of the whole run / MB written; the run
 * without a codec 1.07 / 89.1 and 4.75 / 534.8), level 1 costs next to
 * nothing in size:
 *   NDVI, 1 band:   DEFLATE 6 2.26 / 46.6, DEFLATE 1 1.85 / 46.7, ZSTD 1 1.56 / 47.1, ZSTD 9 2.74 / 45.3
 *   pools, 6 bands: DEFLATE 6 10.51 / 264.4, DEFLATE 1 7.87 / 268.5, ZSTD 1 6.19 / 278.1, ZSTD 9 12.66 / 247.1
 * (GDAL's defaults are 6 for DEFLATE and 9 for ZSTD; README "Performance"). */
int cf_cog_default_level(const char *compress) {
  const char *c = compress ? compress : "DEFLATE";
  return !strcasecmp(c, "DEFLATE") || !strcasecmp(c, "ZSTD") ? 1 : 0;
}

static int gdal_cog_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *o);

int cf_cog_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *o) {
  int rc = cf_cog_options_check(ctx, o, path);
  if (rc) return rc;
  cf_gdal_init();
  if (cf_cog_stream_supports(o)) return cf_cog_stream_write(ctx, r, path, o);
  return gdal_cog_write(ctx, r, path, o);
}

/* Through an uncompressed temporary GTiff and GDAL's COG driver: the codecs
 * and resamplings the streaming writer does not do. */
static int gdal_cog_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *o) {
  int rc;
  GDALDataType type = GDALGetDataTypeByName(o->type ? o->type : "Float32");
  double nodata = o->have_nodata ? o->nodata : cf_cog_default_nodata(type);
  int threads = cf_raster_threads(ctx);

  cf_atomic_file af;
  if ((rc = cf_atomic_begin(ctx, path, &af))) return rc;
  cf_strbuf tmp;
  cf_strbuf_init(&tmp);
  cf_strbuf_printf(&tmp, "%s.src.tif", af.part_path);
  const char *tmp_path = cf_strbuf_str(&tmp);

  cf_tiling t;
  cf_tiling_make(&t, r, 1 << 18);
  char **co = NULL;
  if (t.tile_w % 16 == 0 && t.tile_h % 16 == 0) {
    co = CSLSetNameValue(co, "TILED", "YES");
    co = CSLSetNameValue(co, "BLOCKXSIZE", CPLSPrintf("%d", t.tile_w));
    co = CSLSetNameValue(co, "BLOCKYSIZE", CPLSPrintf("%d", t.tile_h));
  } else {
    co = CSLSetNameValue(co, "ROWSPERSTRIP", CPLSPrintf("%d", t.tile_h));
  }
  co = CSLSetNameValue(co, "BIGTIFF", "IF_SAFER");
  co = CSLSetNameValue(co, "SPARSE_OK", "FALSE");

  cog_state s = {0};
  int tmp_ours = 0; /* tmp_path is a file we created (and so may remove) */
  s.type = type;
  s.nodata = nodata;
  s.path = path;
  s.cap = (size_t)t.tile_w * t.tile_h * r->nbands;
  s.buf = malloc(s.cap * sizeof *s.buf);
  GDALDatasetH cog = NULL;
  char **cog_co = NULL;
  if (!s.buf) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  char why[512];
  /* the side file's name is predictable too: reserve it as the part file
   * is reserved (never following a symlink planted there), then let GDAL
   * truncate our own empty file */
  if ((rc = cf_create_exclusive(ctx, tmp_path))) goto done;
  tmp_ours = 1;
  cf_gdal_quiet_push();
  errno = 0;
  s.ds = GDALCreate(GDALGetDriverByName("GTiff"), tmp_path, r->grid.width, r->grid.height,
                    r->nbands, type, co);
  cf_gdal_quiet_pop();
  if (!s.ds) {
    rc = cf_error(ctx, CF_EIO, path, "", "cannot create temporary file %s: %s", tmp_path,
                  write_reason(path, why, sizeof why));
    goto done;
  }
  cf_cog_describe(s.ds, r, o, nodata);
  /* Overview levels halve until the smallest fits in one COG tile, as the
   * COG driver's AUTO would; they are made in the temporary file, so that
   * the COG driver copies them instead of building them through a
   * temporary file of its own (measured 10000^2: COG step 5.2 s -> 0.8 +
   * 3.5 s, 295 -> 220 MB). With AVERAGE, the levels a tile holds whole
   * pixels of are built as the tiles stream in (ovr_stream), the rest at
   * the end from the deepest of those. */
  int levels[32], nlev = 0;
  const char *resampling = o->overview_resampling ? o->overview_resampling : "AVERAGE";
  if (!o->overviews || !strcasecmp(o->overviews, "AUTO")) {
    int bs = o->blocksize > 0 ? o->blocksize : 512;
    int big = r->grid.width > r->grid.height ? r->grid.width : r->grid.height;
    for (int f = 2; nlev < 32 && (big + f / 2 - 1) / (f / 2) > bs; f *= 2) levels[nlev++] = f;
  }
  if (nlev > 0 && !strcasecmp(resampling, "AVERAGE")) {
    int m = 0;
    while (m < nlev && t.tile_w % (2 << m) == 0 && t.tile_h % (2 << m) == 0) m++;
    if (m > 0) {
      size_t half = (size_t)((t.tile_w + 1) / 2) * ((t.tile_h + 1) / 2);
      for (int k = 0; k < 2; k++) {
        s.ovr.data[k] = malloc(half * r->nbands * sizeof(double));
        s.ovr.valid[k] = malloc(half * r->nbands);
      }
      s.ovr.out = malloc(half * sizeof(double));
      if (!s.ovr.data[0] || !s.ovr.data[1] || !s.ovr.valid[0] || !s.ovr.valid[1] || !s.ovr.out) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        goto done;
      }
      /* "NONE" makes the levels' directories without computing anything */
      cf_gdal_quiet_push();
      errno = 0;
      CPLErr e = GDALBuildOverviews(s.ds, "NONE", nlev, levels, 0, NULL, NULL, NULL);
      cf_gdal_quiet_pop();
      if (e != CE_None) {
        rc = cf_error(ctx, CF_EIO, path, "overviews", "creating overviews failed: %s",
                      write_reason(path, why, sizeof why));
        goto done;
      }
      s.ovr.m = m;
    }
  }
  rc = cf_engine_run_range(ctx, r, &t, write_tile, &s, path, 0.0, 0.5);
  if (rc) goto done;
  /* GDAL 3.6's GDALFlushCache returns nothing: a failed flush (a full
   * disk) shows as the thread's last error */
  CPLErrorReset();
  cf_gdal_quiet_push();
  errno = 0;
  GDALFlushCache(s.ds);
  cf_gdal_quiet_pop();
  if (CPLGetLastErrorType() >= CE_Failure) {
    rc = cf_error(ctx, CF_EIO, path, "", "writing the temporary file %s failed: %s", tmp_path,
                  write_reason(path, why, sizeof why));
    goto done;
  }
  if (s.ovr.m < nlev) {
    copy_progress op = {ctx, path, 0, 0.5, 0.55};
    CPLErr e = CE_None;
    cf_gdal_quiet_push();
    errno = 0;
    if (s.ovr.m == 0) {
      e = GDALBuildOverviews(s.ds, resampling, nlev, levels, 0, NULL, copy_progress_fn, &op);
    } else {
      /* the deeper levels from the deepest streamed one, band by band */
      GDALRasterBandH deeper[32];
      for (int b = 0; b < r->nbands && e == CE_None; b++) {
        GDALRasterBandH band = GDALGetRasterBand(s.ds, b + 1);
        for (int k = s.ovr.m; k < nlev; k++) deeper[k - s.ovr.m] = GDALGetOverview(band, k);
        e = GDALRegenerateOverviews(GDALGetOverview(band, s.ovr.m - 1), nlev - s.ovr.m, deeper, resampling,
                                    NULL, NULL);
        if (e == CE_None && !copy_progress_fn((b + 1.0) / r->nbands, NULL, &op)) e = CE_Failure;
      }
    }
    cf_gdal_quiet_pop();
    if (e != CE_None) {
      rc = op.cancelled ? CF_ECANCEL
                        : cf_error(ctx, CF_EIO, path, "overviews", "building overviews failed: %s",
                                   write_reason(path, why, sizeof why));
      goto done;
    }
  }

  cog_co = CSLSetNameValue(cog_co, "COMPRESS", o->compress ? o->compress : "DEFLATE");
  int level = o->level > 0 ? o->level : cf_cog_default_level(o->compress);
  if (level > 0) cog_co = CSLSetNameValue(cog_co, "LEVEL", CPLSPrintf("%d", level));
  const char *pred = o->predictor ? o->predictor : cf_cog_default_predictor(type, o->compress);
  if (pred) cog_co = CSLSetNameValue(cog_co, "PREDICTOR", pred);
  if (o->max_z_error > 0) cog_co = CSLSetNameValue(cog_co, "MAX_Z_ERROR", CPLSPrintf("%.17g", o->max_z_error));
  cog_co = CSLSetNameValue(cog_co, "BLOCKSIZE", CPLSPrintf("%d", o->blocksize > 0 ? o->blocksize : 512));
  cog_co = CSLSetNameValue(cog_co, "OVERVIEWS", o->overviews ? o->overviews : "AUTO");
  cog_co = CSLSetNameValue(cog_co, "OVERVIEW_RESAMPLING",
                           o->overview_resampling ? o->overview_resampling : "AVERAGE");
  cog_co = CSLSetNameValue(cog_co, "NUM_THREADS", CPLSPrintf("%d", threads));
  cog_co = CSLSetNameValue(cog_co, "BIGTIFF", "IF_SAFER");
  copy_progress cp = {ctx, path, 0, 0.55, 1.0};
  cf_gdal_quiet_push();
  errno = 0;
  cog = GDALCreateCopy(GDALGetDriverByName("COG"), af.part_path, s.ds, FALSE, cog_co,
                       copy_progress_fn, &cp);
  cf_gdal_quiet_pop();
  if (!cog) {
    rc = cp.cancelled ? CF_ECANCEL
                      : cf_error(ctx, CF_EIO, path, "", "COG creation failed: %s", write_reason(path, why, sizeof why));
    goto done;
  }
  /* GDAL 3.6's GDALClose returns nothing: a failed final flush shows as
   * the thread's last error */
  CPLErrorReset();
  cf_gdal_quiet_push();
  errno = 0;
  GDALClose(cog);
  cf_gdal_quiet_pop();
  if (CPLGetLastErrorType() >= CE_Failure) {
    cog = NULL;
    rc = cf_error(ctx, CF_EIO, path, "", "closing the COG failed: %s", write_reason(path, why, sizeof why));
    goto done;
  }
  cog = NULL;
  cf_gdal_quiet_push(); /* the temporary file is removed: its close does not matter */
  GDALClose(s.ds);
  cf_gdal_quiet_pop();
  s.ds = NULL;
  rc = cf_atomic_commit(ctx, &af);
done:
  cf_gdal_quiet_push();
  if (s.ds) GDALClose(s.ds);
  cf_gdal_quiet_pop();
  if (tmp_ours) unlink(tmp_path);
  cf_atomic_end(&af);
  cf_strbuf_free(&tmp);
  CSLDestroy(co);
  CSLDestroy(cog_co);
  free(s.buf);
  for (int k = 0; k < 2; k++) free(s.ovr.data[k]), free(s.ovr.valid[k]);
  free(s.ovr.out);
  return rc;
}

/* --- packing into an integer type with scale and offset ----------------------- */

typedef struct {
  double scale, offset;
} pack_impl;

static int pack_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  const pack_impl *p = r->impl;
  cf_block *in;
  int rc = cf_raster_read_input(r, 0, thread, w, &in, st);
  if (rc) return rc;
  size_t n = (size_t)w->nx * w->ny * r->nbands;
  for (size_t i = 0; i < n; i++) {
    out->valid[i] = in->valid[i];
    out->data[i] = in->valid[i] ? round((in->data[i] - p->offset) / p->scale) : 0;
  }
  return CF_OK;
}

static void pack_destroy(cf_raster *r) { free(r->impl); }

static const cf_raster_ops pack_ops = {"scale-offset", pack_read, pack_destroy};

cf_raster *cf_cog_pack_create(cf_ctx *ctx, cf_raster *src, double scale, double offset) {
  cf_raster *r = cf_raster_alloc(ctx, &pack_ops, src->nbands, src->nthreads);
  if (!r) return NULL;
  pack_impl *p = malloc(sizeof *p);
  r->impl = p;
  r->inputs = malloc(sizeof *r->inputs);
  int ok = p && r->inputs && !cf_grid_copy(ctx, &r->grid, &src->grid);
  for (int b = 0; ok && b < src->nbands; b++) ok = !cf_raster_set_band_name(r, b, src->band_names[b]);
  if (!ok) {
    cf_raster_destroy(r);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    return NULL;
  }
  p->scale = scale;
  p->offset = offset;
  r->inputs[0] = src;
  r->ninputs = 1;
  r->block_w = src->block_w;
  r->block_h = src->block_h;
  return r;
}
