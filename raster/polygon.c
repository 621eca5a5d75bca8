/* Polygon coverage, the clip node and zonal statistics; see polygon.h. */
#include "raster/polygon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int cf_polygon_spans(const cf_polygon *p, const cf_grid *g, const cf_window *w, cf_span_fn fn,
                     void *user) {
  /* window extent in grid coordinates */
  double wx0 = g->gt[0] + w->x0 * g->gt[1], wx1 = wx0 + w->nx * g->gt[1];
  double wy0 = g->gt[3] + w->y0 * g->gt[5], wy1 = wy0 + w->ny * g->gt[5];
  double wymin = wy0 < wy1 ? wy0 : wy1, wymax = wy0 < wy1 ? wy1 : wy0;
  if (p->ext[2] < wx0 || p->ext[0] > wx1 || p->ext[3] < wymin || p->ext[1] > wymax) return 0;
  int npts = p->ring_start[p->nrings];
  double *xs = malloc((size_t)(npts > 0 ? npts : 1) * sizeof *xs);
  if (!xs) return -1;
  for (int j = 0; j < w->ny; j++) {
    double y = g->gt[3] + (w->y0 + j + 0.5) * g->gt[5];
    if (y < p->ext[1] || y > p->ext[3]) continue;
    int nx = 0;
    for (int r = 0; r < p->nrings; r++) {
      for (int k = p->ring_start[r]; k + 1 < p->ring_start[r + 1]; k++) {
        double x1 = p->xy[2 * k], y1 = p->xy[2 * k + 1];
        double x2 = p->xy[2 * k + 2], y2 = p->xy[2 * k + 3];
        if ((y1 > y) != (y2 > y)) xs[nx++] = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
      }
    }
    qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
    for (int k = 0; k + 1 < nx; k += 2) {
      /* pixel i (window-relative) has centre gt0 + (x0 + i + 0.5) gt1; inside if in [xa, xb) */
      double fa = (xs[k] - g->gt[0]) / g->gt[1] - 0.5 - w->x0;
      double fb = (xs[k + 1] - g->gt[0]) / g->gt[1] - 0.5 - w->x0;
      long i0 = (long)ceil(fa), i1 = (long)ceil(fb);
      if (i0 < 0) i0 = 0;
      if (i1 > w->nx) i1 = w->nx;
      if (i1 > i0) fn(user, j, (int)i0, (int)i1);
    }
  }
  free(xs);
  return 0;
}

/* --- the clip node -------------------------------------------------------------- */

typedef struct {
  cf_vector v;
  uint8_t **inside; /* per thread */
  int *cap;
} clip_impl;

typedef struct {
  uint8_t *inside;
  int nx;
} span_mark;

static void mark_span(void *user, int row, int i0, int i1) {
  span_mark *m = user;
  memset(m->inside + (size_t)row * m->nx + i0, 1, (size_t)(i1 - i0));
}

static int clip_read(cf_raster *r, int thread, const cf_window *w, cf_block *out,
                     cf_worker_status *st) {
  clip_impl *c = r->impl;
  cf_block *in;
  int rc = cf_raster_read_input(r, 0, thread, w, &in, st);
  if (rc) return rc;
  size_t n = (size_t)w->nx * w->ny;
  if (c->cap[thread] < (int)n) {
    free(c->inside[thread]);
    c->inside[thread] = malloc(n);
    c->cap[thread] = c->inside[thread] ? (int)n : 0;
    if (!c->inside[thread]) return cf_worker_fail(st, CF_ENOMEM, "", "", "out of memory");
  }
  span_mark m = {c->inside[thread], w->nx};
  memset(m.inside, 0, n);
  for (int p = 0; p < c->v.n; p++)
    if (cf_polygon_spans(&c->v.poly[p], &r->grid, w, mark_span, &m))
      return cf_worker_fail(st, CF_ENOMEM, "", "", "out of memory");
  for (int b = 0; b < r->nbands; b++) {
    const double *src = cf_block_band(in, b);
    const uint8_t *sv = cf_block_valid(in, b);
    double *dst = cf_block_band(out, b);
    uint8_t *dv = cf_block_valid(out, b);
    for (size_t i = 0; i < n; i++) {
      dv[i] = sv[i] && m.inside[i];
      dst[i] = dv[i] ? src[i] : NAN;
    }
  }
  return CF_OK;
}

static void clip_destroy(cf_raster *r) {
  clip_impl *c = r->impl;
  if (!c) return;
  for (int t = 0; c->inside && t < r->nthreads; t++) free(c->inside[t]);
  free(c->inside);
  free(c->cap);
  cf_vector_free(&c->v);
  free(c);
}

static const cf_raster_ops clip_ops = {"clip", clip_read, clip_destroy};

cf_raster *cf_clip_create(cf_ctx *ctx, cf_raster *input, const cf_vector *v) {
  cf_raster *r = cf_raster_alloc(ctx, &clip_ops, input->nbands, input->nthreads);
  if (!r) return NULL;
  clip_impl *c = calloc(1, sizeof *c);
  r->impl = c;
  r->inputs = malloc(sizeof *r->inputs);
  if (!c || !r->inputs || cf_grid_copy(ctx, &r->grid, &input->grid)) goto oom;
  c->inside = calloc((size_t)r->nthreads, sizeof *c->inside);
  c->cap = calloc((size_t)r->nthreads, sizeof *c->cap);
  if (!c->inside || !c->cap) goto oom;
  if (cf_vector_clone(ctx, v, &c->v) || cf_vector_transform(ctx, &c->v, r->grid.wkt)) {
    cf_raster_destroy(r);
    return NULL;
  }
  r->inputs[0] = input;
  r->ninputs = 1;
  r->block_w = input->block_w;
  r->block_h = input->block_h;
  for (int b = 0; b < r->nbands; b++)
    if (cf_raster_set_band_name(r, b, input->band_names[b])) goto oom;
  return r;
oom:
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  return NULL;
}

/* --- zonal statistics -------------------------------------------------------- */

typedef struct {
  long long pixels, valid;
  double mean, m2, min, max; /* Welford running mean and sum of squared deviations */
} zone_acc;

typedef struct {
  const cf_vector *v;
  const cf_grid *grid;
  int band;
  zone_acc *acc;
  zone_acc *cur;
  cf_block *block;
} zonal_state;

static void zone_span(void *user, int row, int i0, int i1) {
  zonal_state *z = user;
  const double *d = cf_block_band(z->block, z->band) + (size_t)row * z->block->nx;
  const uint8_t *ok = cf_block_valid(z->block, z->band) + (size_t)row * z->block->nx;
  zone_acc *a = z->cur;
  for (int i = i0; i < i1; i++) {
    a->pixels++;
    if (!ok[i]) continue;
    double x = d[i];
    a->valid++;
    double delta = x - a->mean;
    a->mean += delta / (double)a->valid;
    a->m2 += delta * (x - a->mean);
    if (x < a->min) a->min = x;
    if (x > a->max) a->max = x;
  }
}

static int zonal_consume(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  zonal_state *z = user;
  z->block = b;
  for (int p = 0; p < z->v->n; p++) {
    z->cur = &z->acc[p];
    if (cf_polygon_spans(&z->v->poly[p], z->grid, w, zone_span, z))
      return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  return CF_OK;
}

void cf_zone_stats_free(cf_zone_stats *z, int n) {
  if (!z) return;
  for (int i = 0; i < n; i++) free(z[i].label);
  free(z);
}

int cf_zonal_stats(cf_ctx *ctx, cf_raster *r, int band, const cf_vector *v, cf_zone_stats **out) {
  *out = NULL;
  cf_vector vg;
  int rc = cf_vector_clone(ctx, v, &vg);
  if (rc) return rc;
  if ((rc = cf_vector_transform(ctx, &vg, r->grid.wkt))) {
    cf_vector_free(&vg);
    return rc;
  }
  zonal_state z = {&vg, &r->grid, band, calloc((size_t)vg.n, sizeof(zone_acc)), NULL, NULL};
  cf_zone_stats *res = calloc((size_t)vg.n, sizeof *res);
  if (!z.acc || !res) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  for (int p = 0; p < vg.n; p++) z.acc[p].min = INFINITY, z.acc[p].max = -INFINITY;
  cf_tiling t;
  cf_tiling_make(&t, r, 1 << 18);
  rc = cf_engine_run(ctx, r, &t, zonal_consume, &z, "zonal statistics");
  if (rc) goto done;
  for (int p = 0; p < vg.n; p++) {
    zone_acc *a = &z.acc[p];
    res[p].label = strdup(vg.label[p]);
    res[p].pixels = a->pixels;
    res[p].valid = a->valid;
    res[p].mean = a->valid ? a->mean : NAN;
    res[p].min = a->valid ? a->min : NAN;
    res[p].max = a->valid ? a->max : NAN;
    res[p].stddev = a->valid ? sqrt(a->m2 / (double)a->valid) : NAN;
    if (!res[p].label) {
      rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
      goto done;
    }
  }
  *out = res;
  res = NULL;
done:
  cf_zone_stats_free(res, vg.n);
  free(z.acc);
  cf_vector_free(&vg);
  return rc;
}
