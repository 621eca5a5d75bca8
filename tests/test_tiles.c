/*
 * The tile engine: every pixel is delivered exactly once, tiles arrive in
 * order, tiles are whole multiples of the node's block, and an error in a
 * tile stops the run with that tile named. The unordered engine (no
 * consumer; the COG writer's) also works every pixel once, and of two
 * failing tiles names the one first in the tiling's order even when the
 * later one fails first, with every tile before it worked.
 */
#define _DEFAULT_SOURCE /* usleep */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_test.h"
#include "raster/raster.h"

/* A node whose pixel value is its linear index, so a consumer can check
 * that what it got belongs where it was put. Fails on tile `fail_x0,y0`. */
typedef struct {
  int fail_x0, fail_y0;
} fake_impl;

static int fake_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  fake_impl *f = r->impl;
  if (f && w->x0 == f->fail_x0 && w->y0 == f->fail_y0)
    return cf_worker_fail(st, CF_EDATA, "fake.tif", "pixels", "bad pixels at %d,%d", w->x0, w->y0);
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      out->data[j * w->nx + i] = (double)(w->y0 + j) * r->grid.width + (w->x0 + i);
      out->valid[j * w->nx + i] = 1;
    }
  return CF_OK;
}

static const cf_raster_ops fake_ops = {"fake", fake_read, NULL};

typedef struct {
  int *count;
  int next_tile;
  int width;
  int tile_w, tile_h;
  int misplaced, out_of_order, unaligned;
  int bw, bh;
} cover;

static int count_tile(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *b) {
  cover *c = user;
  if (tile != c->next_tile++) c->out_of_order++;
  if (w->x0 % c->bw || w->y0 % c->bh) c->unaligned++;
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      long idx = (long)(w->y0 + j) * c->width + (w->x0 + i);
      c->count[idx]++;
      if (b->data[j * w->nx + i] != (double)idx) c->misplaced++;
    }
  return CF_OK;
}

static cf_raster *fake_raster(cf_ctx *ctx, int w, int h, int bw, int bh, int threads) {
  cf_raster *r = cf_raster_alloc(ctx, &fake_ops, 1, threads);
  assert_non_null(r);
  r->grid.width = w;
  r->grid.height = h;
  r->block_w = bw;
  r->block_h = bh;
  return r;
}

static void check_cover(int w, int h, int bw, int bh, int target, int threads) {
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, threads);
  cf_raster *r = fake_raster(ctx, w, h, bw, bh, threads);
  cf_tiling t;
  cf_tiling_make(&t, r, target);
  cover c = {calloc((size_t)w * h, sizeof(int)), 0, w, t.tile_w, t.tile_h, 0, 0, 0, bw < w ? bw : w,
             bh < h ? bh : h};
  assert_int_equal(cf_engine_run(ctx, r, &t, count_tile, &c, "cover"), CF_OK);
  int bad = 0;
  for (long i = 0; i < (long)w * h; i++) bad += c.count[i] != 1;
  if (bad) print_error("%dx%d blocks %dx%d: %d pixels not covered exactly once\n", w, h, bw, bh, bad);
  assert_int_equal(bad, 0);
  assert_int_equal(c.misplaced, 0);
  assert_int_equal(c.out_of_order, 0);
  assert_int_equal(c.unaligned, 0);
  assert_int_equal(c.next_tile, t.ntiles);
  /* tiles are whole blocks (except where clipped by the raster's edge) */
  assert_int_equal(t.tile_w % c.bw == 0 || t.tile_w == w, 1);
  assert_int_equal(t.tile_h % c.bh == 0 || t.tile_h == h, 1);
  free(c.count);
  cf_raster_destroy(r);
  cf_ctx_destroy(ctx);
}

static void tiles_cover_every_pixel_once(void **state) {
  (void)state;
  check_cover(1, 1, 256, 256, 1 << 18, 2);            /* one pixel */
  check_cover(1000, 1000, 256, 256, 1 << 18, 2);      /* not a multiple of the block */
  check_cover(513, 700, 512, 512, 1 << 18, 2);        /* one block plus a sliver */
  check_cover(287, 218, 287, 3, 1 << 14, 2);          /* strips, like kootenayCHM.tif */
  check_cover(791, 718, 791, 3, 1 << 18, 1);          /* strips, like RGB.byte.tif, one thread */
  check_cover(10000, 7, 256, 256, 1 << 18, 2);        /* wide and short */
  check_cover(3, 5000, 1, 1, 64, 2);                  /* degenerate blocks */
}

static void tile_failure_names_the_tile(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_raster *r = fake_raster(ctx, 1024, 1024, 256, 256, 2);
  fake_impl f = {512, 512};
  r->impl = &f;
  cf_tiling t;
  cf_tiling_make(&t, r, 256 * 256);
  cover c = {calloc(1024 * 1024, sizeof(int)), 0, 1024, 0, 0, 0, 0, 0, 256, 256};
  assert_int_equal(cf_engine_run(ctx, r, &t, count_tile, &c, "fail"), CF_EDATA);
  const char *m = cf_error_message(ctx);
  assert_non_null(strstr(m, "fake.tif: pixels: bad pixels at 512,512"));
  assert_non_null(strstr(m, "x 512..767, y 512..767"));
  /* tiles before the failing one were consumed, none after it */
  assert_int_equal(c.next_tile, 2 * 4 + 2);
  r->impl = NULL;
  free(c.count);
  cf_raster_destroy(r);
  cf_ctx_destroy(ctx);
}

/* The unordered engine's worker: counts pixels (atomically: tiles are
 * worked in parallel), fails on two tiles, the earlier one after a pause
 * so that the later one fails first whenever there are two threads. */
typedef struct {
  int *count, width, worked_before_first_fail;
  int fail_a, fail_b; /* tile indices; fail_a < fail_b */
} unordered_work;

static int work_count(void *user, int thread, int tile, const cf_window *w, cf_block *b, cf_worker_status *st) {
  unordered_work *u = user;
  (void)thread;
  if (tile == u->fail_a) {
    usleep(200000); /* 0.2 s: long enough for the other thread to reach fail_b first */
    return cf_worker_fail(st, CF_EDATA, "fake.tif", "pixels", "tile %d is bad", tile);
  }
  if (tile == u->fail_b) return cf_worker_fail(st, CF_EIO, "fake.tif", "pixels", "tile %d is bad", tile);
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      long idx = (long)(w->y0 + j) * u->width + (w->x0 + i);
      if (b->data[j * w->nx + i] != (double)idx) continue; /* misplaced: counted as not covered */
      __atomic_fetch_add(&u->count[idx], 1, __ATOMIC_RELAXED);
    }
  if (tile < u->fail_a) __atomic_fetch_add(&u->worked_before_first_fail, 1, __ATOMIC_RELAXED);
  return CF_OK;
}

static void unordered_engine_covers_and_names_the_first_failure(void **state) {
  (void)state;
  for (int threads = 1; threads <= 4; threads *= 2) {
    cf_ctx *ctx = cf_test_ctx();
    cf_set_threads(ctx, threads);
    cf_raster *r = fake_raster(ctx, 1000, 700, 128, 128, threads);
    cf_tiling t;
    cf_tiling_make(&t, r, 128 * 128); /* 8 x 6 tiles */
    unordered_work u = {calloc(1000 * 700, sizeof(int)), 1000, 0, -1, -1};
    int abort = 0;
    assert_int_equal(cf_engine_run_unordered(ctx, r, &t, work_count, &u, &abort, "all", 0, 1), CF_OK);
    assert_int_equal(abort, 0);
    int bad = 0;
    for (long i = 0; i < 1000L * 700; i++) bad += u.count[i] != 1;
    assert_int_equal(bad, 0);

    /* tiles 9 and 13 fail; 9 after a pause */
    memset(u.count, 0, 1000 * 700 * sizeof(int));
    u.fail_a = 9, u.fail_b = 13;
    assert_int_equal(cf_engine_run_unordered(ctx, r, &t, work_count, &u, &abort, "fail", 0, 1), CF_EDATA);
    assert_int_equal(abort, 1);
    const char *m = cf_error_message(ctx);
    assert_non_null(strstr(m, "fake.tif: pixels: tile 9 is bad"));
    assert_int_equal(u.worked_before_first_fail, 9); /* tiles 0..8, each once */
    free(u.count);
    cf_raster_destroy(r);
    cf_ctx_destroy(ctx);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tiles_cover_every_pixel_once),
      cmocka_unit_test(tile_failure_names_the_tile),
      cmocka_unit_test(unordered_engine_covers_and_names_the_first_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
