/* Stocks per polygon and the difference estimator; see pool_zonal.h. */
#include "sink/pool_zonal.h"

#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>

#include "raster/polygon.h"
#include "raster/sample.h"
#include "sink/pools.h"

void cf_difference_estimate(int n, const double *y, const double *m, double mbar, cf_difference_est *out) {
  out->n = n;
  out->mean = out->se = out->mean_resid = out->sd_resid = NAN;
  if (n < 2) return;
  double dbar = 0.0, ss = 0.0;
  for (int i = 0; i < n; i++) dbar += y[i] - m[i];
  dbar /= n;
  for (int i = 0; i < n; i++) {
    double e = (y[i] - m[i]) - dbar;
    ss += e * e;
  }
  out->mean_resid = dbar;
  out->sd_resid = sqrt(ss / (n - 1));
  out->mean = mbar + dbar;
  out->se = out->sd_resid / sqrt((double)n);
}

int cf_polygon_contains(const cf_polygon *p, double x, double y) {
  if (!(x >= p->ext[0] && x <= p->ext[2] && y >= p->ext[1] && y <= p->ext[3])) return 0;
  int in = 0;
  for (int r = 0; r < p->nrings; r++)
    for (int k = p->ring_start[r]; k + 1 < p->ring_start[r + 1]; k++) {
      double x1 = p->xy[2 * k], y1 = p->xy[2 * k + 1], x2 = p->xy[2 * k + 2], y2 = p->xy[2 * k + 3];
      if ((y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1)) in = !in;
    }
  return in;
}

typedef struct {
  long long pixels, valid;
  double *sum; /* [nbands] */
} zacc;

typedef struct {
  const cf_vector *v;
  const cf_grid *grid;
  int nbands, total_band;
  zacc *acc, *cur;
  cf_block *block;
} zstate;

static void span(void *user, int row, int i0, int i1) {
  zstate *z = user;
  size_t o = (size_t)row * z->block->nx;
  const uint8_t *ok = cf_block_valid(z->block, z->total_band) + o;
  for (int i = i0; i < i1; i++) {
    z->cur->pixels++;
    if (!ok[i]) continue;
    z->cur->valid++;
    for (int b = 0; b < z->nbands; b++) z->cur->sum[b] += cf_block_band(z->block, b)[o + i];
  }
}

static int consume(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  (void)tile;
  zstate *z = user;
  z->block = b;
  for (int p = 0; p < z->v->n; p++) {
    z->cur = &z->acc[p];
    if (cf_polygon_spans(&z->v->poly[p], z->grid, w, span, z)) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  return CF_OK;
}

void cf_pool_zones_free(cf_pool_zone *z, int n) {
  if (!z) return;
  for (int i = 0; i < n; i++) free(z[i].label), free(z[i].band_mean);
  free(z);
}

/* m^2 per pixel; CF_EINVAL unless the CRS is projected. */
static int pixel_area_m2(cf_ctx *ctx, const cf_grid *g, double *a) {
  OGRSpatialReferenceH s = OSRNewSpatialReference(g->wkt);
  int rc = CF_OK;
  if (!s || !OSRIsProjected(s)) {
    rc = cf_error(ctx, CF_EINVAL, "", "crs",
                  "the pool map's grid CRS is not projected, so a pixel has no fixed area; warp it to a projected "
                  "CRS (UTM, an equal-area one) first");
  } else {
    double u = OSRGetLinearUnits(s, NULL);
    *a = fabs(g->gt[1] * g->gt[5]) * u * u;
  }
  if (s) OSRDestroySpatialReference(s);
  return rc;
}

int cf_pool_zonal(cf_ctx *ctx, cf_raster *r, const cf_vector *zones, int nplots, const double *px, const double *py,
                  const double *ptotal, cf_pool_zone **out) {
  *out = NULL;
  int total_band = cf_raster_find_band(r, "total");
  if (total_band < 0) return cf_error(ctx, CF_EINVAL, "", "input", "the raster has no 'total' band: not a pool map");
  double a_m2 = 0.0;
  int rc = pixel_area_m2(ctx, &r->grid, &a_m2);
  if (rc) return rc;
  cf_vector vg;
  if ((rc = cf_vector_clone(ctx, zones, &vg))) return rc;
  if ((rc = cf_vector_transform(ctx, &vg, r->grid.wkt))) {
    cf_vector_free(&vg);
    return rc;
  }
  int nz = vg.n, nb = r->nbands;
  zstate z = {&vg, &r->grid, nb, total_band, calloc((size_t)nz, sizeof(zacc)), NULL, NULL};
  cf_pool_zone *res = calloc((size_t)nz, sizeof *res);
  double *mv = malloc(sizeof(double) * (size_t)(nplots > 0 ? nplots : 1) * nb);
  uint8_t *mok = malloc((size_t)(nplots > 0 ? nplots : 1) * nb);
  double *ys = malloc(sizeof(double) * (size_t)(nplots > 0 ? nplots : 1) * 2);
  int bad = !z.acc || !res || !mv || !mok || !ys;
  for (int p = 0; !bad && p < nz; p++) bad = !(z.acc[p].sum = calloc((size_t)nb, sizeof(double)));
  if (bad) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  cf_tiling t;
  cf_tiling_make(&t, r, 1 << 18);
  if ((rc = cf_engine_run(ctx, r, &t, consume, &z, "pool totals per polygon"))) goto done;
  for (int p = 0; p < nz; p++)
    if (z.acc[p].pixels == 0) {
      rc = cf_error(ctx, CF_EDATA, zones->path ? zones->path : "", "geometry",
                    "polygon '%s' covers no pixel centre of the pool map (it lies outside the raster, or is smaller "
                    "than a pixel); nothing can be estimated for it",
                    vg.label[p]);
      goto done;
    }
  if (nplots > 0 && (rc = cf_raster_sample_xy(ctx, r, nplots, px, py, mv, mok))) goto done;
  for (int p = 0; p < nz; p++) {
    zacc *a = &z.acc[p];
    cf_pool_zone *o = &res[p];
    if (!(o->label = strdup(vg.label[p])) || !(o->band_mean = malloc(sizeof(double) * (size_t)nb))) {
      rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
      goto done;
    }
    o->pixels = a->pixels;
    o->valid = a->valid;
    o->area_ha = (double)a->pixels * a_m2 / 1e4;
    for (int b = 0; b < nb; b++) o->band_mean[b] = a->valid ? a->sum[b] / (double)a->valid : NAN;
    o->stock_t_co2e = CF_CO2_PER_C * o->band_mean[total_band] * o->area_ha;
    int n = 0;
    for (int i = 0; i < nplots; i++) {
      if (!isfinite(ptotal[i]) || !mok[(size_t)i * nb + total_band] || !cf_polygon_contains(&vg.poly[p], px[i], py[i]))
        continue;
      ys[n] = ptotal[i];
      ys[nplots + n] = mv[(size_t)i * nb + total_band];
      n++;
    }
    cf_difference_estimate(n, ys, ys + nplots, o->band_mean[total_band], &o->diff);
  }
  *out = res;
  res = NULL;
done:
  cf_pool_zones_free(res, nz);
  if (z.acc)
    for (int p = 0; p < nz; p++) free(z.acc[p].sum);
  free(z.acc);
  free(mv);
  free(mok);
  free(ys);
  cf_vector_free(&vg);
  return rc;
}
