/*
 * The tile engine: parallel evaluation, ordered consumption.
 *
 * Tiles are a fixed partition of the grid that depends on the raster only
 * (its natural block and a pixel target), never on the thread count. Each
 * OpenMP thread evaluates whole tiles into its own block; an `ordered`
 * section then hands tiles to the consumer strictly in index order. Hence:
 *  - a consumer never needs locking and may do serial I/O (GDAL handles are
 *    not thread-safe) or order-dependent reductions (floating-point sums);
 *  - the result is bitwise identical for any thread count;
 *  - at most one tile per thread is in flight, so memory does not grow with
 *    the raster.
 * The first error (lowest tile index) wins, so error messages are
 * deterministic too.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "raster/raster.h"

void cf_tiling_make(cf_tiling *t, const cf_raster *r, int target_px) {
  int bw = r->block_w > 0 ? r->block_w : 256, bh = r->block_h > 0 ? r->block_h : 256;
  if (bw > r->grid.width) bw = r->grid.width;
  if (bh > r->grid.height) bh = r->grid.height;
  if (target_px < bw * bh) target_px = bw * bh;
  /* grow the tile by whole blocks, height first for strip layouts */
  int mx = 1, my = 1;
  if (bw >= r->grid.width) {
    my = target_px / (bw * bh);
  } else {
    while ((long)(mx + 1) * bw * (my + 1) * bh <= target_px && (mx + 1) * bw <= r->grid.width) mx++, my++;
  }
  if (my < 1) my = 1;
  t->tile_w = mx * bw;
  t->tile_h = my * bh;
  if (t->tile_h > r->grid.height) t->tile_h = r->grid.height;
  if (t->tile_w > r->grid.width) t->tile_w = r->grid.width;
  t->ntx = (r->grid.width + t->tile_w - 1) / t->tile_w;
  t->nty = (r->grid.height + t->tile_h - 1) / t->tile_h;
  t->ntiles = t->ntx * t->nty;
  t->order = NULL;
}

void cf_tiling_window(const cf_tiling *t, const cf_grid *g, int index, cf_window *w) {
  int tx = index % t->ntx, ty = index / t->ntx;
  w->x0 = tx * t->tile_w;
  w->y0 = ty * t->tile_h;
  w->nx = w->x0 + t->tile_w <= g->width ? t->tile_w : g->width - w->x0;
  w->ny = w->y0 + t->tile_h <= g->height ? t->tile_h : g->height - w->y0;
}

static cf_block *thread_blocks(cf_ctx *ctx, const cf_raster *r, const cf_tiling *t);

static void thread_blocks_free(cf_block *blocks, int n) {
  for (int i = 0; i < n; i++) cf_block_free(&blocks[i]);
  free(blocks);
}

/* Read tile `tile` into the thread's block and run the worker on it (none
 * for a read-only run); a failure is recorded in `st`, whose first failure
 * wins (the worker's own message over the generic one). */
static void evaluate_tile(cf_raster *r, const cf_tiling *t, int me, int tile, cf_tile_worker work, void *user,
                          cf_window *w, cf_block *b, cf_worker_status *st) {
  cf_tiling_window(t, &r->grid, tile, w);
  b->nx = w->nx;
  b->ny = w->ny;
  int rc = r->ops->read(r, me, w, b, st);
  if (rc && !st->failed) cf_worker_fail(st, rc, "", "", "tile read failed");
  if (!st->failed && work && (rc = work(user, me, tile, w, b, st)) && !st->failed)
    cf_worker_fail(st, rc, "", "", "tile work failed");
}

/* The failing tile's own message, then which tile it was (pixel window),
 * under the failure's code: one report for both engine loops. */
static int report_failed_tile(cf_ctx *ctx, const cf_raster *r, const cf_tiling *t, int tile,
                              const cf_worker_status *fail) {
  cf_error(ctx, fail->frame.code, fail->frame.where, fail->frame.field, "%s", fail->frame.reason);
  cf_window w;
  cf_tiling_window(t, &r->grid, tile, &w);
  return cf_error(ctx, fail->frame.code, "", "", "tile %d (x %d..%d, y %d..%d) failed", tile, w.x0,
                  w.x0 + w.nx - 1, w.y0, w.y0 + w.ny - 1);
}

int cf_engine_run_range(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_consumer consume,
                        void *user, const char *task, double p0, double p1) {
  return cf_engine_run_work(ctx, r, t, NULL, consume, user, task, p0, p1);
}

int cf_engine_run_work(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_worker work,
                       cf_tile_consumer consume, void *user, const char *task, double p0, double p1) {
  int nthreads = r->nthreads;
  cf_block *blocks = thread_blocks(ctx, r, t);
  if (!blocks) return cf_error_code(ctx);

  int stop = 0;           /* set inside the ordered section only */
  int failed_tile = -1;   /* lowest failing tile */
  cf_worker_status fail = {0};
  int consumer_rc = CF_OK;
  int rc = cf_progress(ctx, p0, task);
  if (rc) stop = 1;

#pragma omp parallel num_threads(nthreads)
  {
    int me = omp_get_thread_num();
    cf_block *b = &blocks[me];
#pragma omp for ordered schedule(dynamic, 1)
    for (int i = 0; i < t->ntiles; i++) {
      int tile = t->order ? t->order[i] : i;
      cf_window w;
      cf_worker_status st = {0};
      int skip;
#pragma omp atomic read
      skip = stop;
      if (!skip) evaluate_tile(r, t, me, tile, work, user, &w, b, &st);
#pragma omp ordered
      {
#pragma omp critical(cf_engine_consume)
        {
          if (!stop) {
            if (st.failed) {
              fail = st;
              failed_tile = tile;
#pragma omp atomic write
              stop = 1;
            } else if ((consumer_rc = consume(ctx, user, tile, &w, b)) != CF_OK ||
                       cf_progress(ctx, p0 + (p1 - p0) * (i + 1) / t->ntiles, task) != CF_OK) {
              if (!consumer_rc) consumer_rc = CF_ECANCEL;
#pragma omp atomic write
              stop = 1;
            }
          }
        }
      }
    }
  }

  thread_blocks_free(blocks, nthreads);
  if (failed_tile >= 0) return report_failed_tile(ctx, r, t, failed_tile, &fail);
  if (rc) return rc;
  return consumer_rc;
}

/* The blocks of the threads; NULL with the error set. */
static cf_block *thread_blocks(cf_ctx *ctx, const cf_raster *r, const cf_tiling *t) {
  cf_block *blocks = calloc((size_t)r->nthreads, sizeof *blocks);
  if (!blocks) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory"), NULL;
  for (int i = 0; i < r->nthreads; i++) {
    if (cf_block_init(&blocks[i], r->nbands, t->tile_w * t->tile_h)) {
      thread_blocks_free(blocks, i);
      cf_error(ctx, CF_ENOMEM, "", "", "out of memory for %d tile buffers of %d px", r->nthreads,
               t->tile_w * t->tile_h);
      return NULL;
    }
  }
  return blocks;
}

int cf_engine_run_unordered(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_worker work, void *user,
                            int *abort, const char *task, double p0, double p1) {
  cf_block *blocks = thread_blocks(ctx, r, t);
  if (!blocks) return cf_error_code(ctx);
  int failed_pos = t->ntiles; /* lowest failing position so far; only falls */
  int failed_tile = -1, done = 0, cancelled = 0;
  cf_worker_status fail = {0};
  if (cf_progress(ctx, p0, task)) cancelled = 1;
  if (cancelled) {
#pragma omp atomic write
    *abort = 1;
  }
#pragma omp parallel num_threads(r->nthreads)
  {
    int me = omp_get_thread_num();
    cf_block *b = &blocks[me];
    /* monotonic: tiles are handed out in increasing order, which a worker
     * keeping a window (cog_stream.c) relies on to never wait on a tile no
     * thread holds; plain dynamic may be nonmonotonic (OpenMP 5.0) */
#pragma omp for schedule(monotonic : dynamic, 1)
    for (int i = 0; i < t->ntiles; i++) {
      int first_bad, stop, aborted;
#pragma omp atomic read
      first_bad = failed_pos;
#pragma omp atomic read
      stop = cancelled;
#pragma omp atomic read
      aborted = *abort;
      /* a tile before the lowest failure always runs: the lowest failing
       * tile is then found whatever the threads' timing; a worker's own
       * abort (no tile failed) stops everything */
      if (stop || i > first_bad || (aborted && first_bad == t->ntiles)) continue;
      int tile = t->order ? t->order[i] : i;
      cf_window w;
      cf_worker_status st = {0};
      evaluate_tile(r, t, me, tile, work, user, &w, b, &st);
#pragma omp critical(cf_engine_unordered)
      {
        if (st.failed) {
          if (i < failed_pos) {
            fail = st;
            failed_tile = tile;
#pragma omp atomic write
            failed_pos = i;
          }
#pragma omp atomic write
          *abort = 1;
        } else if (!cancelled && cf_progress(ctx, p0 + (p1 - p0) * ++done / t->ntiles, task) != CF_OK) {
#pragma omp atomic write
          cancelled = 1;
#pragma omp atomic write
          *abort = 1;
        }
      }
    }
  }
  thread_blocks_free(blocks, r->nthreads);
  if (failed_tile >= 0) return report_failed_tile(ctx, r, t, failed_tile, &fail);
  return cancelled ? CF_ECANCEL : CF_OK;
}
