/*
 * The tile engine: every pixel is delivered exactly once, tiles arrive in
 * order, tiles are whole multiples of the node's block, and an error in a
 * tile stops the run with that tile named.
 */
#include <stdlib.h>
#include <string.h>

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tiles_cover_every_pixel_once),
      cmocka_unit_test(tile_failure_names_the_tile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
