/*
 * Rasters as lazy nodes, evaluated tile by tile.
 *
 * A pipeline such as  read -> warp -> NDVI -> write  never holds a whole
 * raster in memory. Each stage makes a cf_raster node whose read() fills one
 * window (a tile) of its output grid from the windows of its inputs; a
 * consumer (the COG writer, zonal statistics) drives the tile engine, which
 * walks the tiles with OpenMP and hands finished tiles to the consumer in
 * tile order. Memory is a few tiles per thread, whatever the raster size.
 *
 * Invariants:
 *  - read() is thread-safe for distinct `thread` indices: anything not
 *    thread-safe (a GDAL dataset handle, a PROJ context) is kept per thread
 *    inside the node, indexed by `thread` (0 .. cf_raster_threads()-1).
 *  - read() depends only on the window, never on which thread runs it or on
 *    what was read before: this is what makes output bitwise identical for
 *    any thread count.
 *  - Every pixel has a validity byte per band; values of invalid pixels are
 *    NaN so an invalid value cannot pass for data even if a mask is dropped.
 */
#ifndef CF_RASTER_RASTER_H
#define CF_RASTER_RASTER_H

#include <stdint.h>

#include "carbonflux/ctx.h"

/* A north-up grid: CRS, geotransform (gt[2] = gt[4] = 0) and size. */
typedef struct {
  char *wkt;   /* CRS as WKT, owned */
  double gt[6];
  int width, height;
} cf_grid;

int cf_grid_copy(cf_ctx *ctx, cf_grid *dst, const cf_grid *src);
void cf_grid_free(cf_grid *g);
/* Pixel centre of column i / row j in grid coordinates. */
static inline double cf_grid_x(const cf_grid *g, double i) { return g->gt[0] + (i + 0.5) * g->gt[1]; }
static inline double cf_grid_y(const cf_grid *g, double j) { return g->gt[3] + (j + 0.5) * g->gt[5]; }

/* A window of a grid. */
typedef struct {
  int x0, y0, nx, ny;
} cf_window;

/* Pixels of one window: data[b*nx*ny + j*nx + i], valid likewise (1 = data). */
typedef struct {
  int nx, ny, nbands, cap_px; /* cap_px: pixels allocated per band */
  double *data;
  uint8_t *valid;
} cf_block;

int cf_block_init(cf_block *b, int nbands, int cap_px);
void cf_block_free(cf_block *b);
static inline double *cf_block_band(cf_block *b, int band) { return b->data + (size_t)band * b->nx * b->ny; }
static inline uint8_t *cf_block_valid(cf_block *b, int band) { return b->valid + (size_t)band * b->nx * b->ny; }

/* Error slot for worker threads, which may not touch the context. The engine
 * moves the error of the lowest failing tile into the context afterwards. */
typedef struct {
  cf_error_frame frame;
  int failed;
} cf_worker_status;

int cf_worker_fail(cf_worker_status *st, int code, const char *where, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

typedef struct cf_raster cf_raster;

typedef struct {
  const char *kind;
  /* Fill `out` (already sized: out->nx = w->nx etc.) for window `w`. */
  int (*read)(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st);
  /* Free `impl` and drop per-thread resources. */
  void (*destroy)(cf_raster *r);
} cf_raster_ops;

struct cf_raster {
  const cf_raster_ops *ops;
  cf_grid grid;
  int nbands;
  char **band_names;   /* nbands strings, owned; "" if unnamed */
  int block_w, block_h; /* natural read unit; tiles are multiples of it */
  int nthreads;         /* per-thread slots available in the node */
  cf_raster **inputs;   /* borrowed: nodes are owned by the pipeline */
  int ninputs;
  void *impl;
  /* per thread, one block per input: where cf_raster_read_input puts the
   * input's pixels (one buffer per edge of the graph; a row is allocated by
   * its thread on first use) */
  cf_block **scratch;
};

/* Number of per-thread slots a node needs: the OpenMP team size the engine
 * will use with the context's thread setting. */
int cf_raster_threads(cf_ctx *ctx);

/* Allocate a node with `nbands` empty band names and per-thread scratch. */
cf_raster *cf_raster_alloc(cf_ctx *ctx, const cf_raster_ops *ops, int nbands, int nthreads);
int cf_raster_set_band_name(cf_raster *r, int band, const char *name);
void cf_raster_destroy(cf_raster *r);
/* Find a band by name (case-insensitive) or 1-based number in text; -1 if none. */
int cf_raster_find_band(const cf_raster *r, const char *name_or_number);

/* Read `w` of input `input` of `parent` into the block of that edge for
 * `thread` (valid until the parent reads the same input again in that
 * thread). */
int cf_raster_read_input(cf_raster *parent, int input, int thread, const cf_window *w,
                         cf_block **out, cf_worker_status *st);
/* Read `w` of input `input` straight into `out` (the parent's own output
 * block, of the input's band count): for a node whose output is its input
 * unchanged, which so needs neither a copy nor an input block per thread. */
int cf_raster_read_through(cf_raster *parent, int input, int thread, const cf_window *w, cf_block *out,
                           cf_worker_status *st);

/* --- the tile engine -------------------------------------------------------- */

typedef struct {
  int tile_w, tile_h, ntx, nty, ntiles;
  /* the order tiles are visited and consumed in: order[i] is the i-th
   * tile's index; NULL (cf_tiling_make) = 0, 1, 2, ... The COG writer
   * visits tiles in Z order so that its overview tiles complete one at a
   * time (raster/cog_stream.c). Borrowed. */
  const int *order;
} cf_tiling;

/* Tiles aligned to the raster's natural block: each tile is a whole number
 * of blocks, about `target_px` pixels, clipped at the right/bottom edges. */
void cf_tiling_make(cf_tiling *t, const cf_raster *r, int target_px);
void cf_tiling_window(const cf_tiling *t, const cf_grid *g, int index, cf_window *w);

/* Called in the tiling's order (0, 1, 2, ... unless t->order says
 * otherwise), one call at a time, for every tile. */
typedef int (*cf_tile_consumer)(cf_ctx *ctx, void *user, int tile, const cf_window *w,
                                cf_block *block);

/* Evaluate every tile of `r` in parallel and feed them in order to
 * `consume`. Reports progress through the context with `task` as message,
 * mapped into [p0, p1] so a caller can chain phases on one bar.
 * Returns the error of the lowest failing tile, or of the consumer. */
int cf_engine_run_range(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_consumer consume,
                        void *user, const char *task, double p0, double p1);
/* Work done on a tile in the worker thread that evaluated it, in parallel,
 * before the tile is consumed (cf_engine_run_work) or instead of a
 * consumer (cf_engine_run_unordered; the COG writer's). It may
 * use per-thread state of `user` indexed by `thread` (0 .. r->nthreads-1);
 * the consumer of that tile then runs in the same thread (OpenMP runs an
 * iteration's ordered section in the thread of the iteration), so it may
 * pick up what the work left there. Like read(), it must depend only on
 * the tile, never on the thread: errors go to `st`, as read()'s do. */
typedef int (*cf_tile_worker)(void *user, int thread, int tile, const cf_window *w, cf_block *block,
                              cf_worker_status *st);
/* cf_engine_run_range with a work step per tile (NULL for none). */
int cf_engine_run_work(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_worker work,
                       cf_tile_consumer consume, void *user, const char *task, double p0, double p1);
/* Evaluate every tile and run `work` on it, in parallel, with no ordered
 * consumer: a thread goes on to its next tile as soon as its work is
 * done, never waiting for the tile before it. Tiles are handed out in the
 * tiling's order; a worker that must see them in that order keeps its own
 * window (raster/cog_stream.c): the schedule is monotonic, so every tile
 * before a worker's is held by a running thread or done. *abort is set
 * (atomically) as soon as any tile fails or the progress callback cancels,
 * and a worker waiting on another tile must give up when it is; a worker
 * may set it too (a failure outside any tile, which it reports itself),
 * and no further tile is started. Returns the error of the lowest failing
 * tile: every tile before it is run, so the error is the same for any
 * thread count. */
int cf_engine_run_unordered(cf_ctx *ctx, cf_raster *r, const cf_tiling *t, cf_tile_worker work, void *user,
                            int *abort, const char *task, double p0, double p1);
static inline int cf_engine_run(cf_ctx *ctx, cf_raster *r, const cf_tiling *t,
                                cf_tile_consumer consume, void *user, const char *task) {
  return cf_engine_run_range(ctx, r, t, consume, user, task, 0.0, 1.0);
}

#endif
