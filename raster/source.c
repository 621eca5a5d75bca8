/*
 * A GDAL raster as a node of the tile graph, read in its own grid.
 *
 * Each thread opens its own dataset handle on first use (GDAL handles are
 * not thread-safe, not even two bands of one dataset). Windows are read for
 * all bands in one RasterIO call, converted to double, and validity is
 * derived per band: nodata compared in the band's own type (a Float32 band's
 * nodata must be compared as float, not as the double parsed from text),
 * a mask band read when GDAL says there is one, and NaN never valid.
 */
#include "raster/source.h"

#include <gdal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gdal_util.h"

typedef struct {
  cf_raster_info info;
  GDALDatasetH *handles; /* one per thread, opened lazily */
  uint8_t **maskbuf;     /* per-thread scratch for mask bands */
  int *maskcap;
} source_impl;

static GDALDatasetH handle_for(cf_raster *r, int thread, cf_worker_status *st) {
  source_impl *s = r->impl;
  if (!s->handles[thread]) {
    cf_gdal_quiet_push();
    s->handles[thread] = GDALOpenEx(s->info.path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    cf_gdal_quiet_pop();
    if (!s->handles[thread])
      cf_worker_fail(st, CF_EIO, s->info.path, "", "cannot reopen raster (%s)",
                     cf_gdal_last_error("unknown GDAL error"));
  }
  return s->handles[thread];
}

/* Validity of one band from its values and nodata rule, and the values of
 * invalid pixels set to NaN (raster.h), in one pass. */
static void validity_from_values(const cf_raster_info *info, int b, double *v, uint8_t *ok, size_t n) {
  if (info->mask[b] == CF_MASK_NODATA) {
    double nd = info->nodata[b];
    if (info->gdal_type[b] == GDT_Float32) {
      float ndf = (float)nd;
      for (size_t i = 0; i < n; i++) {
        ok[i] = !isnan(v[i]) && (float)v[i] != ndf;
        v[i] = ok[i] ? v[i] : NAN;
      }
    } else {
      for (size_t i = 0; i < n; i++) {
        ok[i] = !isnan(v[i]) && v[i] != nd;
        v[i] = ok[i] ? v[i] : NAN;
      }
    }
  } else {
    for (size_t i = 0; i < n; i++) ok[i] = !isnan(v[i]);
  }
}

int cf_source_read_window(cf_raster *r, int thread, const cf_window *w, cf_block *out,
                          cf_worker_status *st) {
  source_impl *s = r->impl;
  GDALDatasetH ds = handle_for(r, thread, st);
  if (!ds) return st->frame.code;
  size_t n = (size_t)w->nx * w->ny;
  cf_gdal_quiet_push();
  CPLErr e = GDALDatasetRasterIO(ds, GF_Read, w->x0, w->y0, w->nx, w->ny, out->data, w->nx, w->ny,
                                 GDT_Float64, r->nbands, NULL, 0, 0, 0);
  cf_gdal_quiet_pop();
  if (e != CE_None)
    return cf_worker_fail(st, cf_gdal_read_status(), s->info.path, "", "read of window x %d, y %d, %d x %d failed (%s)",
                          w->x0, w->y0, w->nx, w->ny, cf_gdal_last_error("I/O error"));
  for (int b = 0; b < r->nbands; b++) {
    double *v = out->data + (size_t)b * n;
    uint8_t *ok = out->valid + (size_t)b * n;
    validity_from_values(&s->info, b, v, ok, n);
    if (s->info.mask[b] == CF_MASK_BAND) {
      if (s->maskcap[thread] < (int)n) {
        free(s->maskbuf[thread]);
        s->maskbuf[thread] = malloc(n);
        s->maskcap[thread] = s->maskbuf[thread] ? (int)n : 0;
        if (!s->maskbuf[thread]) return cf_worker_fail(st, CF_ENOMEM, s->info.path, "", "out of memory");
      }
      uint8_t *m = s->maskbuf[thread];
      GDALRasterBandH mb = GDALGetMaskBand(GDALGetRasterBand(ds, b + 1));
      cf_gdal_quiet_push();
      e = GDALRasterIO(mb, GF_Read, w->x0, w->y0, w->nx, w->ny, m, w->nx, w->ny, GDT_Byte, 0, 0);
      cf_gdal_quiet_pop();
      if (e != CE_None)
        return cf_worker_fail(st, cf_gdal_read_status(), s->info.path, "mask", "mask read failed (%s)",
                              cf_gdal_last_error("I/O error"));
      for (size_t i = 0; i < n; i++) {
        ok[i] = ok[i] && m[i] != 0;
        v[i] = ok[i] ? v[i] : NAN;
      }
    }
  }
  return CF_OK;
}

static void source_destroy(cf_raster *r) {
  source_impl *s = r->impl;
  if (!s) return;
  for (int t = 0; t < r->nthreads; t++) {
    if (s->handles && s->handles[t]) GDALClose(s->handles[t]);
    if (s->maskbuf) free(s->maskbuf[t]);
  }
  free(s->handles);
  free(s->maskbuf);
  free(s->maskcap);
  cf_raster_info_free(&s->info);
  free(s);
}

static const cf_raster_ops source_ops = {"source", cf_source_read_window, source_destroy};

cf_raster *cf_source_create(cf_ctx *ctx, const char *path, const cf_raster_open_opts *opts) {
  cf_raster_info info;
  if (cf_raster_info_read(ctx, path, opts, &info)) return NULL;
  int nthreads = cf_raster_threads(ctx);
  cf_raster *r = cf_raster_alloc(ctx, &source_ops, info.nbands, nthreads);
  source_impl *s = r ? calloc(1, sizeof *s) : NULL;
  if (!s) {
    cf_raster_info_free(&info);
    cf_raster_destroy(r);
    cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    return NULL;
  }
  r->impl = s;
  s->info = info;
  s->handles = calloc((size_t)nthreads, sizeof *s->handles);
  s->maskbuf = calloc((size_t)nthreads, sizeof *s->maskbuf);
  s->maskcap = calloc((size_t)nthreads, sizeof *s->maskcap);
  r->grid.wkt = strdup(info.wkt);
  memcpy(r->grid.gt, info.gt, sizeof info.gt);
  r->grid.width = info.width;
  r->grid.height = info.height;
  r->block_w = info.block_w;
  r->block_h = info.block_h;
  if (!s->handles || !s->maskbuf || !s->maskcap || !r->grid.wkt) goto oom;
  for (int b = 0; b < info.nbands; b++)
    if (cf_raster_set_band_name(r, b, info.desc[b])) goto oom;
  return r;
oom:
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  return NULL;
}

const cf_raster_info *cf_source_info(const cf_raster *r) {
  if (!r || r->ops != &source_ops) return NULL;
  return &((source_impl *)r->impl)->info;
}
