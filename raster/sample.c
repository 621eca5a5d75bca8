/* Raster values at points (see sample.h). */
#include "raster/sample.h"

#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>

int cf_lonlat_to_crs(cf_ctx *ctx, const char *wkt, int n, const double *lon, const double *lat, double *x,
                     double *y) {
  OGRSpatialReferenceH src = OSRNewSpatialReference(NULL), dst = OSRNewSpatialReference(wkt);
  OGRCoordinateTransformationH ct = NULL;
  int *ok = malloc((size_t)(n > 0 ? n : 1) * sizeof *ok);
  int rc = CF_OK;
  if (!src || !dst || !ok || OSRImportFromEPSG(src, 4326) != OGRERR_NONE) {
    rc = cf_error(ctx, CF_EINVAL, "", "crs", "cannot set up the WGS84 -> grid CRS transformation");
    goto done;
  }
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
  if (!(ct = OCTNewCoordinateTransformation(src, dst))) {
    rc = cf_error(ctx, CF_EDATA, "", "crs", "no transformation from WGS84 to the grid CRS");
    goto done;
  }
  for (int i = 0; i < n; i++) x[i] = lon[i], y[i] = lat[i];
  if (n > 0) OCTTransformEx(ct, n, x, y, NULL, ok);
  for (int i = 0; i < n; i++)
    if (!ok[i] || !isfinite(lon[i]) || !isfinite(lat[i])) x[i] = y[i] = NAN;
done:
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (src) OSRDestroySpatialReference(src);
  if (dst) OSRDestroySpatialReference(dst);
  free(ok);
  return rc;
}

typedef struct {
  int n, nbands;
  const int *col, *row;
  double *values;
  uint8_t *valid;
} sample_state;

static int sample_consume(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  (void)ctx, (void)tile;
  sample_state *s = user;
  for (int i = 0; i < s->n; i++) {
    int c = s->col[i] - w->x0, r = s->row[i] - w->y0;
    if (c < 0 || r < 0 || c >= w->nx || r >= w->ny) continue;
    for (int k = 0; k < s->nbands; k++) {
      size_t o = (size_t)r * w->nx + c;
      int good = cf_block_valid(b, k)[o];
      s->values[(size_t)i * s->nbands + k] = good ? cf_block_band(b, k)[o] : NAN;
      s->valid[(size_t)i * s->nbands + k] = (uint8_t)good;
    }
  }
  return CF_OK;
}

int cf_raster_sample_xy(cf_ctx *ctx, cf_raster *r, int n, const double *x, const double *y, double *values,
                        uint8_t *valid) {
  int *col = malloc((size_t)(n > 0 ? n : 1) * sizeof *col), *row = malloc((size_t)(n > 0 ? n : 1) * sizeof *row);
  if (!col || !row) {
    free(col), free(row);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  const cf_grid *g = &r->grid;
  int any = 0;
  for (int i = 0; i < n; i++) {
    double fc = floor((x[i] - g->gt[0]) / g->gt[1]), fr = floor((y[i] - g->gt[3]) / g->gt[5]);
    int in = isfinite(fc) && isfinite(fr) && fc >= 0 && fr >= 0 && fc < g->width && fr < g->height;
    col[i] = in ? (int)fc : -1;
    row[i] = in ? (int)fr : -1;
    any |= in;
    for (int k = 0; k < r->nbands; k++) values[(size_t)i * r->nbands + k] = NAN, valid[(size_t)i * r->nbands + k] = 0;
  }
  int rc = CF_OK;
  if (any) {
    sample_state s = {n, r->nbands, col, row, values, valid};
    cf_tiling t;
    cf_tiling_make(&t, r, 1 << 18);
    rc = cf_engine_run(ctx, r, &t, sample_consume, &s, "sampling at points");
  }
  free(col);
  free(row);
  return rc;
}
