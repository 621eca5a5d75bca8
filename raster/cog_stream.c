/*
 * The streaming COG writer (cog_stream.h).
 *
 * One pass. The tile engine evaluates the node in COG tiles (blocksize x
 * blocksize), handed out in Z order; in the worker thread that evaluated a
 * tile, the tile is converted to the file's type, run through the
 * predictor and codec (raster/tile_codec.h) and appended to a scratch file
 * beside the output, and halved into its part of overview level 1. That
 * fragment must be placed in Z order: Z order makes the tiles of every
 * level complete one at a time, so each level needs a single tile of
 * accumulator, whatever the raster's size. The placing is a window, not a
 * barrier: the worker drops the fragment into slot (Z position mod K) and
 * places every fragment that is next in order, then takes its next tile
 * at once (an ordered section made a thread that finished early wait for
 * the tile before it, which was slow whenever that one had taken queued
 * overview tiles as well). A thread more than K positions ahead of the
 * next fragment to place waits, placing what it can, so memory stays
 * bounded; the tile at the next position never waits, so nothing
 * deadlocks. A completed overview tile is halved into the level below it
 * (under the window's lock: a quarter of the pixels, then a sixteenth,
 * ...) and queued; the workers take queued overview tiles between their
 * own and compress them as they compress the full resolution's. At the
 * end raster/tiff_write.c lays the COG out from the scratch file, all
 * threads copying, and the part file is renamed into place.
 *
 * Memory: per thread one engine block, one tile in the file's type, the
 * codec's buffers and a level-1 fragment; K = 2 threads + 2 fragments in
 * the window; per overview level one accumulator tile (doubles and
 * validity); the queue is short because every tile the workers evaluate
 * takes up to two queued tiles. Nothing grows with the raster but the tile
 * index (16 bytes per tile).
 *
 * Bitwise: a tile's bytes depend on its pixels only, fragments are placed
 * in Z order whatever order they were evaluated in, overview means are
 * taken in a fixed order (raster/overview.h), and the layout places tiles
 * by level and position, not by when they were compressed: any thread
 * count writes the same file.
 */
#define _GNU_SOURCE /* pwritev */
#include "raster/cog_stream.h"

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <gdal.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "raster/overview.h"
#include "raster/stored_value.h"
#include "raster/tiff_write.h"
#include "raster/tile_codec.h"

#define MAX_LEVELS 32

static int is_codec(const char *c, const char *name) { return !strcasecmp(c ? c : "DEFLATE", name); }

int cf_cog_stream_supports(const cf_cog_options *o) {
  if (!is_codec(o->compress, "DEFLATE") && !is_codec(o->compress, "ZSTD") && !is_codec(o->compress, "NONE")) return 0;
  if (o->overviews && strcasecmp(o->overviews, "NONE") && strcasecmp(o->overviews, "AUTO")) return 0;
  if (!(o->overviews && !strcasecmp(o->overviews, "NONE")) && o->overview_resampling &&
      strcasecmp(o->overview_resampling, "AVERAGE"))
    return 0;
  int bs = o->blocksize > 0 ? o->blocksize : 512;
  if (bs % 16) return 0;
  GDALDataType t = GDALGetDataTypeByName(o->type ? o->type : "Float32");
  const char *p = o->predictor;
  if (!p || !strcasecmp(p, "NO")) return 1;
  if (GDALDataTypeIsFloating(t)) return !strcasecmp(p, "FLOATING_POINT");
  return !strcasecmp(p, "YES") || !strcasecmp(p, "STANDARD");
}

/* --- state ----------------------------------------------------------------- */

typedef struct {
  uint8_t *raw; /* a padded tile in the file's type, pixel-interleaved */
  int level, tile;
} ovr_job;

typedef struct {
  cf_tile_coder coder;
  uint8_t *raw;
  double *frag; /* the evaluated tile's part of level 1 */
  uint8_t *frag_valid;
  int frag_w, frag_h;
} thread_state;

typedef struct {
  double *data; /* tile x tile per band, band-sequential; filled part only */
  uint8_t *valid;
  int tx, ty, have, filled;
} level_acc;

/* A level-1 fragment waiting in the window for its turn in Z order. */
typedef struct {
  double *frag;
  uint8_t *valid;
  int w, h, tile, pos, ready;
} window_slot;

typedef struct {
  cf_tile_codec codec;
  GDALDataType type;
  double nodata;
  int nb, B, nlev;
  const char *path, *scratch_path;
  cf_cog_level lv[MAX_LEVELS + 1];
  level_acc acc[MAX_LEVELS + 1];
  double *half; /* a halved accumulator, serial */
  uint8_t *half_valid;
  int scratch_fd;
  uint64_t scratch_end;
  omp_lock_t lock; /* scratch_end, the queue and the spare tiles */
  ovr_job *queue;
  int qn, qcap;
  uint8_t **spare; /* overview tiles' buffers stored and kept for reuse: a */
  int nspare;      /* fresh multi-megabyte malloc costs a page fault a page */
  thread_state *th;
  int nthreads;
  /* the window (see the essay): K slots, fragment at Z position p in slot
   * p % K; next_pos is the next position to place; place_lock guards the
   * slots, the accumulators and place_status */
  window_slot *window;
  int K, ntiles, next_pos, abort;
  int *pos_of; /* tile index -> Z position */
  omp_lock_t place_lock;
  cf_worker_status place_status;
} stream;

/* --- the file's pixels ------------------------------------------------------- */

/* Conversions to the file's type, GDAL's: raster/stored_value.h. */
#define CONVERT(T, EXPR)                                                                 \
  for (int band = 0; band < nb; band++) {                                                \
    T *o = (T *)raw + band;                                                              \
    for (int y = 0; y < ny; y++) {                                                       \
      const double *d = data + ((size_t)band * ny + y) * nx;                             \
      const uint8_t *v = valid + ((size_t)band * ny + y) * nx;                           \
      T *row = o + (size_t)y * B * nb;                                                   \
      for (int x = 0; x < nx; x++) {                                                     \
        double val = v[x] ? d[x] : nodata;                                               \
        row[(size_t)x * nb] = (T)(EXPR);                                                 \
      }                                                                                  \
    }                                                                                    \
  }

#define FILL(T, EXPR)                                                                    \
  do {                                                                                   \
    double val = nodata;                                                                 \
    T fill = (T)(EXPR);                                                                  \
    for (size_t i = 0; i < (size_t)B * B * nb; i++) ((T *)raw)[i] = fill;                \
  } while (0)

#define BY_TYPE(M)                                                                       \
  switch (s->type) {                                                                     \
    case GDT_Byte: M(uint8_t, cf_stored_int(val, 0, 255)); break;                        \
    case GDT_UInt16: M(uint16_t, cf_stored_int(val, 0, 65535)); break;                   \
    case GDT_Int16: M(int16_t, cf_stored_int(val, -32768, 32767)); break;                \
    case GDT_UInt32: M(uint32_t, cf_stored_int(val, 0, 4294967295.0)); break;            \
    case GDT_Int32: M(int32_t, cf_stored_int(val, -2147483648.0, 2147483647.0)); break;  \
    case GDT_Float64: M(double, val); break;                                             \
    default: M(float, cf_stored_float32(val)); break;                                    \
  }

/* nx x ny band-sequential pixels into a B x B pixel-interleaved tile of the
 * file's type, the part beyond the raster's edge nodata. */
static void to_raw(const stream *s, const double *data, const uint8_t *valid, int nx, int ny, uint8_t *raw) {
  int nb = s->nb, B = s->B;
  double nodata = s->nodata;
  if (nx < B || ny < B) BY_TYPE(FILL);
  BY_TYPE(CONVERT);
}

/* --- compressed tiles into the scratch file ------------------------------------- */

/* Compress `raw` (destroyed) and append it as a blob (leader, data,
 * trailer) to the scratch file; record where. Any thread. */
static int store_tile(stream *s, thread_state *t, int level, int tile, uint8_t *raw, cf_worker_status *st) {
  size_t n;
  if (cf_tile_encode(&s->codec, &t->coder, raw, &n) || n < 4 || n > 0xFFFFFFF0u)
    return cf_worker_fail(st, CF_EIO, s->path, "", "compressing tile %d of level %d failed", tile, level);
  uint8_t leader[4];
  for (int i = 0; i < 4; i++) leader[i] = (uint8_t)(n >> (8 * i));
  size_t blob = n + CF_COG_BLOB_EXTRA;
  omp_set_lock(&s->lock);
  uint64_t off = s->scratch_end;
  s->scratch_end += blob;
  omp_unset_lock(&s->lock);
  struct iovec iov[3] = {{leader, 4}, {t->coder.out, n}, {t->coder.out + n - 4, 4}};
  size_t done = 0;
  while (done < blob) {
    ssize_t w;
    if (done == 0) {
      w = pwritev(s->scratch_fd, iov, 3, (off_t)off);
    } else { /* a short write: the rest byte range by byte range */
      uint8_t *tmp = malloc(blob);
      if (!tmp) return cf_worker_fail(st, CF_ENOMEM, s->path, "", "out of memory");
      memcpy(tmp, leader, 4), memcpy(tmp + 4, t->coder.out, n), memcpy(tmp + 4 + n, t->coder.out + n - 4, 4);
      for (w = 0; done < blob && w >= 0;) {
        w = pwrite(s->scratch_fd, tmp + done, blob - done, (off_t)(off + done));
        if (w > 0) done += (size_t)w;
      }
      free(tmp);
      if (w >= 0) break;
    }
    if (w < 0) {
      int e = errno, why = cf_write_errno(s->scratch_path, e, 0);
      return cf_worker_fail(st, CF_EIO, s->path, "", "writing the scratch file %s failed: %s", s->scratch_path,
                            strerror(why ? why : e));
    }
    done += (size_t)w;
  }
  s->lv[level].blob_off[tile] = off;
  s->lv[level].data_bytes[tile] = (uint32_t)n;
  return CF_OK;
}

/* Overview tile buffers: at most SPARE_MAX kept; the queue holds one per
 * completed tile not yet stored, and stays short (see the essay). */
#define SPARE_MAX 8

static uint8_t *spare_get(stream *s) {
  uint8_t *raw = NULL;
  omp_set_lock(&s->lock);
  if (s->nspare > 0) raw = s->spare[--s->nspare];
  omp_unset_lock(&s->lock);
  return raw ? raw : malloc(cf_tile_codec_raw_bytes(&s->codec));
}

static void spare_put(stream *s, uint8_t *raw) {
  omp_set_lock(&s->lock);
  if (s->nspare < SPARE_MAX) s->spare[s->nspare++] = raw, raw = NULL;
  omp_unset_lock(&s->lock);
  free(raw);
}

/* Take one queued overview tile, if any, and store it. */
static int take_job(stream *s, thread_state *t, cf_worker_status *st, int *took) {
  ovr_job j = {0};
  omp_set_lock(&s->lock);
  if (s->qn > 0) j = s->queue[--s->qn];
  omp_unset_lock(&s->lock);
  *took = j.raw != NULL;
  if (!j.raw) return CF_OK;
  int rc = store_tile(s, t, j.level, j.tile, j.raw, st);
  spare_put(s, j.raw);
  return rc;
}

static void deposit(stream *s, thread_state *t, int tile);

/* The worker's step on a full-resolution tile (cf_tile_worker). */
static int work_tile(void *user, int thread, int tile, const cf_window *w, cf_block *b, cf_worker_status *st) {
  stream *s = user;
  thread_state *t = &s->th[thread];
  to_raw(s, b->data, b->valid, w->nx, w->ny, t->raw);
  int rc = store_tile(s, t, 0, tile, t->raw, st);
  if (rc) return rc;
  if (s->nlev > 0) {
    cf_ovr_halve(b->data, b->valid, w->nx, w->ny, s->nb, t->frag, t->frag_valid);
    t->frag_w = (w->nx + 1) / 2, t->frag_h = (w->ny + 1) / 2;
  }
  for (int k = 0, took = 1; k < 2 && took; k++)
    if ((rc = take_job(s, t, st, &took))) return rc;
  if (s->nlev > 0) deposit(s, t, tile);
  return CF_OK;
}

/* --- overview tiles, placed in Z order under the window's lock ----------------- */

static int queue_push(cf_worker_status *st, stream *s, int level, int tile, uint8_t *raw) {
  omp_set_lock(&s->lock);
  int ok = 1;
  if (s->qn == s->qcap) {
    int cap = s->qcap ? 2 * s->qcap : 16;
    ovr_job *q = realloc(s->queue, (size_t)cap * sizeof *q);
    if (q) s->queue = q, s->qcap = cap;
    else ok = 0;
  }
  if (ok) s->queue[s->qn++] = (ovr_job){raw, level, tile};
  omp_unset_lock(&s->lock);
  if (!ok) free(raw);
  return ok ? CF_OK : cf_worker_fail(st, CF_ENOMEM, s->path, "", "out of memory");
}

/* Put fragment (fw x fh) of level-(k-1) tile (cx, cy) into level k's
 * accumulator; a completed level-k tile is queued and halved into k+1. */
static int place(cf_worker_status *st, stream *s, int k, int cx, int cy, const double *frag, const uint8_t *fv, int fw,
                 int fh) {
  level_acc *a = &s->acc[k];
  const cf_cog_level *below = &s->lv[k - 1], *lv = &s->lv[k];
  int B = s->B, TX = cx / 2, TY = cy / 2;
  if (!a->have) a->tx = TX, a->ty = TY, a->have = 1, a->filled = 0;
  if (a->tx != TX || a->ty != TY)
    return cf_worker_fail(st, CF_EINTERNAL, s->path, "overviews",
                          "level %d tile (%d, %d) arrived before (%d, %d) was complete", k, TX, TY, a->tx, a->ty);
  int tw = lv->width - TX * B < B ? lv->width - TX * B : B;
  int th = lv->height - TY * B < B ? lv->height - TY * B : B;
  int ox = (cx & 1) * (B / 2), oy = (cy & 1) * (B / 2);
  for (int b = 0; b < s->nb; b++)
    for (int y = 0; y < fh; y++) {
      size_t to = ((size_t)b * th + oy + y) * tw + ox, from = ((size_t)b * fh + y) * fw;
      memcpy(a->data + to, frag + from, (size_t)fw * sizeof(double));
      memcpy(a->valid + to, fv + from, (size_t)fw);
    }
  int nxc = below->ntx - 2 * TX < 2 ? 1 : 2, nyc = below->nty - 2 * TY < 2 ? 1 : 2;
  if (++a->filled < nxc * nyc) return CF_OK;
  a->have = 0;
  uint8_t *raw = spare_get(s);
  if (!raw) return cf_worker_fail(st, CF_ENOMEM, s->path, "", "out of memory");
  to_raw(s, a->data, a->valid, tw, th, raw);
  int rc = queue_push(st, s, k, TY * lv->ntx + TX, raw);
  if (rc || k == s->nlev) return rc;
  cf_ovr_halve(a->data, a->valid, tw, th, s->nb, s->half, s->half_valid);
  return place(st, s, k + 1, TX, TY, s->half, s->half_valid, (tw + 1) / 2, (th + 1) / 2);
}

/* --- the window: fragments placed in Z order ------------------------------------ */

/* Place every deposited fragment that is next in Z order. With place_lock
 * held; the first failure stops the run (s->abort). */
static void drain_window(stream *s) {
  for (;;) {
    int next = s->next_pos;
    window_slot *w = &s->window[next % s->K];
    if (next >= s->ntiles || !w->ready || w->pos != next || s->place_status.failed) return;
    if (place(&s->place_status, s, 1, w->tile % s->lv[0].ntx, w->tile / s->lv[0].ntx, w->frag, w->valid, w->w, w->h)) {
#pragma omp atomic write
      s->abort = 1;
      return;
    }
    w->ready = 0;
#pragma omp atomic write
    s->next_pos = next + 1;
  }
}

/* Hand the thread's level-1 fragment of `tile` to the window: wait (placing
 * what is ready meanwhile) until the tile is within K of the next to place,
 * swap the fragment into its slot, and place what has become ready. A run
 * that is failing is left at once: the engine reports the failure. */
static void deposit(stream *s, thread_state *t, int tile) {
  int pos = s->pos_of[tile];
  for (;;) {
    int next, ab;
#pragma omp atomic read
    next = s->next_pos;
#pragma omp atomic read
    ab = s->abort;
    if (ab) return;
    if (pos < next + s->K) break;
    if (omp_test_lock(&s->place_lock)) {
      drain_window(s);
      omp_unset_lock(&s->place_lock);
    }
    sched_yield();
  }
  omp_set_lock(&s->place_lock);
  window_slot *w = &s->window[pos % s->K];
  double *f = w->frag;
  uint8_t *v = w->valid;
  w->frag = t->frag, w->valid = t->frag_valid, w->w = t->frag_w, w->h = t->frag_h;
  t->frag = f, t->frag_valid = v;
  w->tile = tile, w->pos = pos, w->ready = 1;
  drain_window(s);
  omp_unset_lock(&s->place_lock);
}

/* --- set-up ------------------------------------------------------------------------ */

/* Z order (Morton) of an ntx x nty grid: the tiles under any overview tile
 * are consecutive. Each tile's key interleaves the bits of its x and y;
 * sorting the keys costs O(n log n) in the tiles, whatever the grid's
 * shape (walking every key of the enclosing power-of-two square was
 * quadratic in the longer side: a long strip took minutes). */
typedef struct {
  uint64_t key;
  int index;
} z_tile;

static uint64_t spread_bits(uint64_t v) { /* bit b of v to bit 2b */
  v &= 0xffffffffu;
  v = (v | v << 16) & 0x0000ffff0000ffffull;
  v = (v | v << 8) & 0x00ff00ff00ff00ffull;
  v = (v | v << 4) & 0x0f0f0f0f0f0f0f0full;
  v = (v | v << 2) & 0x3333333333333333ull;
  v = (v | v << 1) & 0x5555555555555555ull;
  return v;
}

static int by_key(const void *a, const void *b) {
  uint64_t x = ((const z_tile *)a)->key, y = ((const z_tile *)b)->key;
  return x < y ? -1 : x > y;
}

static int *z_order(int ntx, int nty) {
  size_t n = (size_t)ntx * nty;
  int *order = malloc(n * sizeof *order);
  z_tile *t = malloc(n * sizeof *t);
  if (!order || !t) {
    free(order);
    free(t);
    return NULL;
  }
  for (int y = 0; y < nty; y++)
    for (int x = 0; x < ntx; x++) {
      size_t i = (size_t)y * ntx + x;
      t[i] = (z_tile){spread_bits((uint64_t)x) | spread_bits((uint64_t)y) << 1, (int)i};
    }
  qsort(t, n, sizeof *t, by_key); /* keys are distinct: the order is unique */
  for (size_t i = 0; i < n; i++) order[i] = t[i].index;
  free(t);
  return order;
}

/* GDAL's tags for this dataset (georeferencing, nodata, metadata, band
 * descriptions, scale/offset) from a header-only template GTiff made in
 * memory: every tile sparse, so nothing but the header is written. */
static int template_tags(cf_ctx *ctx, cf_raster *r, const cf_cog_options *o, stream *s, cf_tiff_tags *main_tags,
                         cf_tiff_tags *ovr_tags) {
  char name[96];
  snprintf(name, sizeof name, "/vsimem/cf_cog_template_%p.tif", (void *)s);
  char **co = NULL;
  co = CSLSetNameValue(co, "TILED", "YES");
  co = CSLSetNameValue(co, "BLOCKXSIZE", CPLSPrintf("%d", s->B));
  co = CSLSetNameValue(co, "BLOCKYSIZE", CPLSPrintf("%d", s->B));
  co = CSLSetNameValue(co, "SPARSE_OK", "TRUE");
  co = CSLSetNameValue(co, "BIGTIFF", "IF_NEEDED");
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), name, r->grid.width, r->grid.height, r->nbands, s->type, co);
  cf_gdal_quiet_pop();
  CSLDestroy(co);
  if (!ds) return cf_error(ctx, CF_EIO, s->path, "", "cannot make the GeoTIFF header: %s", cf_gdal_last_error("GDAL"));
  cf_cog_describe(ds, r, o, s->nodata);
  CPLErrorReset();
  cf_gdal_quiet_push();
  GDALClose(ds);
  cf_gdal_quiet_pop();
  int failed = CPLGetLastErrorType() >= CE_Failure;
  vsi_l_offset len = 0;
  GByte *buf = VSIGetMemFileBuffer(name, &len, FALSE);
  static const uint16_t main_keep[] = {33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113};
  static const uint16_t ovr_keep[] = {42113};
  char err[200] = "";
  int rc = CF_OK;
  if (failed || !buf ||
      cf_tiff_read_tags(buf, (size_t)len, main_keep, 8, main_tags, err, sizeof err) ||
      cf_tiff_read_tags(buf, (size_t)len, ovr_keep, 1, ovr_tags, err, sizeof err))
    rc = cf_error(ctx, CF_EIO, s->path, "", "cannot make the GeoTIFF header: %s",
                  err[0] ? err : cf_gdal_last_error("GDAL"));
  VSIUnlink(name);
  return rc;
}

static int sample_format(GDALDataType t) {
  if (GDALDataTypeIsFloating(t)) return 3;
  return GDALDataTypeIsSigned(t) ? 2 : 1;
}

/* The predictor asked for, or the default (cog.c, cf_cog_default_predictor). */
static int predictor_of(const cf_cog_options *o, GDALDataType t) {
  const char *p = o->predictor ? o->predictor : cf_cog_default_predictor(t, o->compress);
  if (!p || !strcasecmp(p, "NO")) return 1;
  return !strcasecmp(p, "FLOATING_POINT") ? 3 : 2;
}

static void free_stream(stream *s) {
  for (int k = 0; k <= MAX_LEVELS; k++) {
    free(s->lv[k].blob_off), free(s->lv[k].data_bytes);
    free(s->acc[k].data), free(s->acc[k].valid);
  }
  for (int i = 0; s->th && i < s->nthreads; i++) {
    cf_tile_coder_free(&s->th[i].coder);
    free(s->th[i].raw), free(s->th[i].frag), free(s->th[i].frag_valid);
  }
  free(s->th);
  for (int i = 0; i < s->qn; i++) free(s->queue[i].raw);
  free(s->queue);
  for (int i = 0; i < s->nspare; i++) free(s->spare[i]);
  free(s->spare);
  for (int i = 0; s->window && i < s->K; i++) free(s->window[i].frag), free(s->window[i].valid);
  free(s->window);
  free(s->pos_of);
  free(s->half), free(s->half_valid);
}

static int alloc_stream(stream *s, const cf_raster *r) {
  size_t tile_px = (size_t)s->B * s->B, raw = cf_tile_codec_raw_bytes(&s->codec);
  for (int k = 0; k <= s->nlev; k++) {
    cf_cog_level *lv = &s->lv[k];
    size_t nt = (size_t)lv->ntx * lv->nty;
    if (!(lv->blob_off = calloc(nt, sizeof *lv->blob_off)) || !(lv->data_bytes = calloc(nt, sizeof *lv->data_bytes)))
      return -1;
    if (k > 0 && (!(s->acc[k].data = malloc(tile_px * s->nb * sizeof(double))) ||
                  !(s->acc[k].valid = malloc(tile_px * s->nb))))
      return -1;
  }
  if (!(s->th = calloc((size_t)s->nthreads, sizeof *s->th)) || !(s->spare = calloc(SPARE_MAX, sizeof *s->spare)))
    return -1;
  for (int i = 0; i < s->nthreads; i++) {
    thread_state *t = &s->th[i];
    if (cf_tile_coder_init(&t->coder, &s->codec) || !(t->raw = malloc(raw))) return -1;
    if (s->nlev > 0 && (!(t->frag = malloc(tile_px / 4 * s->nb * sizeof(double))) ||
                        !(t->frag_valid = malloc(tile_px / 4 * s->nb))))
      return -1;
  }
  if (s->nlev > 0 && (!(s->half = malloc(tile_px / 4 * s->nb * sizeof(double))) ||
                      !(s->half_valid = malloc(tile_px / 4 * s->nb))))
    return -1;
  if (s->nlev > 0) {
    if (!(s->window = calloc((size_t)s->K, sizeof *s->window))) return -1;
    for (int i = 0; i < s->K; i++)
      if (!(s->window[i].frag = malloc(tile_px / 4 * s->nb * sizeof(double))) ||
          !(s->window[i].valid = malloc(tile_px / 4 * s->nb)))
        return -1;
  }
  (void)r;
  return 0;
}

/* Store what is still queued when the engine has finished, in parallel. */
static int drain_queue(cf_ctx *ctx, stream *s) {
  int n = s->qn, failed = -1;
  cf_worker_status fail = {0};
#pragma omp parallel for num_threads(s->nthreads) schedule(dynamic, 1)
  for (int i = 0; i < n; i++) {
    cf_worker_status st = {0};
    ovr_job *j = &s->queue[i];
    store_tile(s, &s->th[omp_get_thread_num()], j->level, j->tile, j->raw, &st);
    free(j->raw);
    j->raw = NULL;
    if (st.failed) {
#pragma omp critical(cf_cog_drain)
      if (failed < 0 || i < failed) failed = i, fail = st;
    }
  }
  s->qn = 0;
  if (failed >= 0) return cf_error(ctx, fail.frame.code, fail.frame.where, fail.frame.field, "%s", fail.frame.reason);
  return CF_OK;
}

int cf_cog_stream_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *o) {
  stream s = {0};
  s.path = path;
  s.type = GDALGetDataTypeByName(o->type ? o->type : "Float32");
  s.nodata = o->have_nodata ? o->nodata : cf_cog_default_nodata(s.type);
  s.nb = r->nbands;
  s.B = o->blocksize > 0 ? o->blocksize : 512;
  s.nthreads = r->nthreads;
  s.scratch_fd = -1;
  s.K = 2 * s.nthreads + 2; /* how far a thread may run ahead of the next fragment to place */
  s.codec.compression = is_codec(o->compress, "DEFLATE") ? CF_TIFF_DEFLATE
                        : is_codec(o->compress, "ZSTD")  ? CF_TIFF_ZSTD
                                                         : CF_TIFF_NONE;
  s.codec.level = o->level > 0 ? o->level : cf_cog_default_level(o->compress);
  if (s.codec.level <= 0) s.codec.level = s.codec.compression == CF_TIFF_ZSTD ? 9 : 6; /* GDAL's own defaults */
  /* no codec, no predictor: TIFF readers undo a predictor only inside a
   * codec, so a differenced tile stored raw would read back as differences
   * (GDAL's COG driver also drops it for NONE) */
  s.codec.predictor = s.codec.compression == CF_TIFF_NONE ? 1 : predictor_of(o, s.type);
  s.codec.bytes_per_sample = GDALGetDataTypeSizeBytes(s.type);
  s.codec.samples_per_pixel = s.nb;
  s.codec.tile_w = s.codec.tile_h = s.B;
  /* overview levels halve until the smallest fits in one tile, as the COG
   * driver's AUTO does */
  s.lv[0].width = r->grid.width, s.lv[0].height = r->grid.height;
  int want_ovr = !o->overviews || !strcasecmp(o->overviews, "AUTO");
  for (int k = 0;; k++) {
    cf_cog_level *lv = &s.lv[k];
    lv->ntx = (lv->width + s.B - 1) / s.B, lv->nty = (lv->height + s.B - 1) / s.B;
    if (!want_ovr || (lv->width <= s.B && lv->height <= s.B) || k == MAX_LEVELS) break;
    s.lv[k + 1].width = (lv->width + 1) / 2, s.lv[k + 1].height = (lv->height + 1) / 2;
    s.nlev = k + 1;
  }

  cf_atomic_file af = {0};
  cf_tiff_tags main_tags = {0}, ovr_tags = {0};
  cf_strbuf scratch;
  cf_strbuf_init(&scratch);
  int *order = NULL, out_fd = -1, scratch_ours = 0, rc;
  omp_init_lock(&s.lock);
  omp_init_lock(&s.place_lock);
  if ((rc = cf_atomic_begin(ctx, path, &af))) goto done;
  cf_strbuf_printf(&scratch, "%s.tiles", af.part_path);
  s.scratch_path = cf_strbuf_str(&scratch);
  cf_tiling t = {s.B, s.B, s.lv[0].ntx, s.lv[0].nty, s.lv[0].ntx * s.lv[0].nty, NULL};
  if (alloc_stream(&s, r) || !(order = z_order(t.ntx, t.nty))) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  t.order = order;
  if ((rc = template_tags(ctx, r, o, &s, &main_tags, &ovr_tags))) goto done;
  if ((rc = cf_create_exclusive(ctx, s.scratch_path))) goto done;
  scratch_ours = 1;
  if ((s.scratch_fd = open(s.scratch_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    rc = cf_error(ctx, CF_EIO, path, "", "cannot open the scratch file %s: %s", s.scratch_path, strerror(errno));
    goto done;
  }
  if (!(s.pos_of = malloc((size_t)t.ntiles * sizeof *s.pos_of))) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  for (int i = 0; i < t.ntiles; i++) s.pos_of[order[i]] = i;
  s.ntiles = t.ntiles;
  rc = cf_engine_run_unordered(ctx, r, &t, work_tile, &s, &s.abort, path, 0.0, 0.9);
  if (s.place_status.failed) /* the overviews' own failure: the error, or a cause of the tile's */
    rc = cf_error(ctx, s.place_status.frame.code, s.place_status.frame.where, s.place_status.frame.field, "%s",
                  s.place_status.frame.reason);
  if (!rc && s.nlev > 0 && s.next_pos != t.ntiles)
    rc = cf_error(ctx, CF_EINTERNAL, path, "overviews", "%d of %d tiles placed in the overviews", s.next_pos,
                  t.ntiles);
  if (rc) goto done;
  if ((rc = drain_queue(ctx, &s))) goto done;
  cf_cog_layout L = {s.B, s.nb, s.codec.bytes_per_sample, sample_format(s.type), s.codec.compression,
                     s.codec.predictor, s.nlev + 1, s.lv, &main_tags, &ovr_tags, s.nthreads};
  if ((out_fd = open(af.part_path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    rc = cf_error(ctx, CF_EIO, path, "", "cannot write: %s", strerror(errno));
    goto done;
  }
  if ((rc = cf_cog_assemble(ctx, &L, s.scratch_fd, out_fd, path, 0.9, 1.0))) goto done;
  int fd = out_fd;
  out_fd = -1;
  if (close(fd)) {
    int e = errno, why = cf_write_errno(af.part_path, e, 0);
    rc = cf_error(ctx, CF_EIO, path, "", "closing the COG failed: %s", strerror(why ? why : e));
    goto done;
  }
  rc = cf_atomic_commit(ctx, &af);
done:
  if (out_fd >= 0) close(out_fd);
  if (s.scratch_fd >= 0) close(s.scratch_fd);
  if (scratch_ours) unlink(s.scratch_path);
  cf_atomic_end(&af);
  cf_strbuf_free(&scratch);
  cf_tiff_tags_free(&main_tags);
  cf_tiff_tags_free(&ovr_tags);
  omp_destroy_lock(&s.lock);
  omp_destroy_lock(&s.place_lock);
  free(order);
  free_stream(&s);
  return rc;
}
