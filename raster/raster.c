/* Raster nodes, grids and pixel blocks: the plumbing under raster.h. */
#include "raster/raster.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cf_grid_copy(cf_ctx *ctx, cf_grid *dst, const cf_grid *src) {
  *dst = *src;
  dst->wkt = src->wkt ? strdup(src->wkt) : NULL;
  if (src->wkt && !dst->wkt) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  return CF_OK;
}

void cf_grid_free(cf_grid *g) {
  free(g->wkt);
  g->wkt = NULL;
}

int cf_block_init(cf_block *b, int nbands, int cap_px) {
  memset(b, 0, sizeof *b);
  b->nbands = nbands;
  b->cap_px = cap_px;
  b->data = malloc((size_t)nbands * cap_px * sizeof *b->data);
  b->valid = malloc((size_t)nbands * cap_px);
  if (!b->data || !b->valid) {
    cf_block_free(b);
    return CF_ENOMEM;
  }
  return CF_OK;
}

void cf_block_free(cf_block *b) {
  free(b->data);
  free(b->valid);
  memset(b, 0, sizeof *b);
}

int cf_worker_fail(cf_worker_status *st, int code, const char *where, const char *field,
                   const char *fmt, ...) {
  if (st->failed) return code; /* keep the first cause */
  st->failed = 1;
  st->frame.code = code;
  snprintf(st->frame.where, sizeof st->frame.where, "%s", where ? where : "");
  snprintf(st->frame.field, sizeof st->frame.field, "%s", field ? field : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->frame.reason, sizeof st->frame.reason, fmt, ap);
  va_end(ap);
  return code;
}

int cf_raster_threads(cf_ctx *ctx) {
  int n = cf_get_threads(ctx);
  return n > 0 ? n : omp_get_max_threads();
}

cf_raster *cf_raster_alloc(cf_ctx *ctx, const cf_raster_ops *ops, int nbands, int nthreads) {
  cf_raster *r = calloc(1, sizeof *r);
  if (!r) goto oom;
  r->ops = ops;
  r->nbands = nbands;
  r->nthreads = nthreads;
  r->band_names = calloc((size_t)nbands, sizeof *r->band_names);
  r->scratch = calloc((size_t)nthreads, sizeof *r->scratch);
  if (!r->band_names || !r->scratch) goto oom;
  for (int b = 0; b < nbands; b++)
    if (!(r->band_names[b] = strdup(""))) goto oom;
  return r;
oom:
  cf_raster_destroy(r);
  cf_error(ctx, CF_ENOMEM, "", "", "out of memory creating a raster node");
  return NULL;
}

int cf_raster_set_band_name(cf_raster *r, int band, const char *name) {
  char *s = strdup(name ? name : "");
  if (!s) return CF_ENOMEM;
  free(r->band_names[band]);
  r->band_names[band] = s;
  return CF_OK;
}

void cf_raster_destroy(cf_raster *r) {
  if (!r) return;
  if (r->ops && r->ops->destroy) r->ops->destroy(r);
  if (r->band_names)
    for (int b = 0; b < r->nbands; b++) free(r->band_names[b]);
  free(r->band_names);
  if (r->scratch)
    for (int t = 0; t < r->nthreads; t++) {
      for (int i = 0; r->scratch[t] && i < r->ninputs; i++) cf_block_free(&r->scratch[t][i]);
      free(r->scratch[t]);
    }
  free(r->scratch);
  free(r->inputs);
  cf_grid_free(&r->grid);
  free(r);
}

int cf_raster_find_band(const cf_raster *r, const char *key) {
  for (int b = 0; b < r->nbands; b++)
    if (r->band_names[b][0] && strcasecmp(r->band_names[b], key) == 0) return b;
  char *end;
  long n = strtol(key, &end, 10);
  if (*key && !*end && n >= 1 && n <= r->nbands) return (int)n - 1;
  return -1;
}

/* The window lands in a block of the edge (parent, input, thread): a
 * parent with several inputs holds each input's pixels in a buffer of its
 * own, and a node that is an input of several parents (A into D directly
 * and through a warp of A) never has one parent's read overwrite or free
 * the pixels another still holds. (A slot per parent made the second
 * input's read overwrite the first's; a slot per input node let a warp's
 * widened read of A free the block D held.) A thread's row of blocks is
 * allocated by that thread on first use, so threads never share one. */
int cf_raster_read_input(cf_raster *parent, int input, int thread, const cf_window *w,
                         cf_block **out, cf_worker_status *st) {
  cf_raster *in = parent->inputs[input];
  if (thread < 0 || thread >= parent->nthreads)
    return cf_worker_fail(st, CF_EINTERNAL, "", "", "thread %d of a node with %d thread slots", thread, parent->nthreads);
  if (!parent->scratch[thread] && !(parent->scratch[thread] = calloc((size_t)parent->ninputs, sizeof(cf_block))))
    return cf_worker_fail(st, CF_ENOMEM, "", "", "out of memory for a node's input blocks");
  cf_block *b = &parent->scratch[thread][input];
  int need = w->nx * w->ny;
  if (b->cap_px < need || b->nbands != in->nbands) {
    cf_block_free(b);
    if (cf_block_init(b, in->nbands, need))
      return cf_worker_fail(st, CF_ENOMEM, "", "", "out of memory for a %dx%d tile", w->nx, w->ny);
  }
  b->nx = w->nx;
  b->ny = w->ny;
  *out = b;
  return in->ops->read(in, thread, w, b, st);
}

int cf_raster_read_through(cf_raster *parent, int input, int thread, const cf_window *w, cf_block *out,
                           cf_worker_status *st) {
  cf_raster *in = parent->inputs[input];
  if (thread < 0 || thread >= parent->nthreads)
    return cf_worker_fail(st, CF_EINTERNAL, "", "", "thread %d of a node with %d thread slots", thread, parent->nthreads);
  if (out->nbands != in->nbands || out->cap_px < w->nx * w->ny)
    return cf_worker_fail(st, CF_EINTERNAL, "", "", "a %d-band block of %d px cannot take a %d-band %dx%d tile",
                          out->nbands, out->cap_px, in->nbands, w->nx, w->ny);
  out->nx = w->nx;
  out->ny = w->ny;
  return in->ops->read(in, thread, w, out, st);
}
