/*
 * Bad input through the real command: each case must give a clear message
 * naming the file and the reason, the documented exit code, and no partial
 * output (neither the output nor a ".part-" file left next to it).
 *   exit 1: configuration (e.g. a missing input is found before running)
 *   exit 2: processing failure (e.g. the output cannot be written)
 *   exit 3: finished, but some inputs were rejected
 *   exit 4: every input was rejected (a single-input run whose input is bad)
 * Outputs never destroy data: an output that is an input, the pipeline file
 * or another output (through symlinks and "..") is refused before anything
 * runs, and the input stays byte-identical.
 * And stage orders that validation accepts must run: a warp of a computed
 * raster (an index) gives the pixels computed here independently, and a
 * node with two inputs sees each input's own pixels.
 */
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "core/fsutil.h"
#include "core/sha256.h"
#include "raster/raster.h"

typedef cf_test_dir fixture;
#define teardown cf_test_dir_teardown

/* A fresh directory with a valid 2-band raster, good.tif. */
static int setup(void **state) {
  cf_test_dir_setup(state);
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[2 * 16];
  for (int i = 0; i < 32; i++) d[i] = 1000 + 100 * (i % 7);
  cf_test_write_tif(cf_test_path(f->dir, "good.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  return 0;
}

/* Run a pipeline reading `input` into NDVI written to out/{stem}.tif. */
static int run_ndvi(fixture *f, const char *input, const char *extra_stages) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "    bands: [red, nir]\n"
           "%s"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "  - type: write.cog\n"
           "    path: out/{stem}.tif\n",
           input, extra_stages ? extra_stages : "");
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  char args[1200];
  snprintf(args, sizeof args, "run '%s/p.yaml'", f->dir);
  return cf_test_cli(args, f->log);
}

static void expect_log(fixture *f, const char *text) {
  if (!cf_test_file_contains(f->log, text)) {
    print_error("log does not contain '%s'\n", text);
    system("cat >&2 \"$(ls -t /tmp/cftest-*/log.txt | head -n1)\"");
    fail();
  }
}

static void expect_no_output(fixture *f) {
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".tif"), 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
}

static void missing_file(void **state) {
  fixture *f = *state;
  assert_int_equal(run_ndvi(f, "absent.tif", NULL), 1);
  expect_log(f, "p.yaml:3:11: input file");
  expect_log(f, "absent.tif' does not exist");
  expect_no_output(f);
}

static void unreadable_raster(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "garbage.tif"), "this is not a TIFF at all\n");
  assert_int_equal(run_ndvi(f, "garbage.tif", NULL), 4);
  expect_log(f, "garbage.tif: not a raster GDAL can read");
  expect_no_output(f);
}

static void raster_without_crs(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, d[32] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "nocrs.tif"), 4, 4, 2, "UInt16", gt, NULL, NULL, d, 0);
  assert_int_equal(run_ndvi(f, "nocrs.tif", NULL), 4);
  expect_log(f, "nocrs.tif: crs: raster has no coordinate reference system");
  expect_no_output(f);
}

static void boundary_outside_raster(void **state) {
  fixture *f = *state;
  /* a boundary in Europe for a raster in China */
  cf_test_write_text(cf_test_path(f->dir, "far.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[10,50],[11,50],[11,51],[10,51],[10,50]]]}}]}");
  const char *extra =
      "  - type: ingest.vector\n"
      "    name: far\n"
      "    path: far.geojson\n"
      "  - type: raster.warp\n"
      "    input: ingest.raster\n"
      "    boundary: far\n";
  assert_int_equal(run_ndvi(f, "good.tif", extra), 4);
  expect_log(f, "good.tif: extent: the grid extent");
  expect_log(f, "far.geojson) does not overlap the raster's footprint");
  expect_no_output(f);
}

static void zero_sized_raster(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "zero.vrt"),
                     "<VRTDataset rasterXSize=\"0\" rasterYSize=\"10\"><GeoTransform>0,1,0,0,0,-1</GeoTransform>"
                     "<VRTRasterBand dataType=\"Byte\" band=\"1\"/></VRTDataset>\n");
  assert_int_equal(run_ndvi(f, "zero.vrt", NULL), 4);
  expect_log(f, "zero.vrt: not a raster GDAL can read (Invalid dataset dimensions : 0 x 10)");
  expect_no_output(f);
  cf_test_write_text(cf_test_path(f->dir, "empty.tif"), "");
  assert_int_equal(run_ndvi(f, "empty.tif", NULL), 4);
  expect_log(f, "empty.tif: file is empty (0 bytes)");
  expect_no_output(f);
}

static void nan_nodata_on_integer_band(void **state) {
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32] = {0}, nd[2] = {0.0 / 0.0, 0.0 / 0.0};
  cf_test_write_tif(cf_test_path(f->dir, "nannd.tif"), 4, 4, 2, "Byte", gt, "EPSG:32650", nd, d, 0);
  assert_int_equal(run_ndvi(f, "nannd.tif", NULL), 4);
  expect_log(f, "nannd.tif: nodata: band 1 is Byte but its nodata value is nan, which that type cannot hold");
  expect_no_output(f);
}

static void batch_goes_on_past_a_bad_input(void **state) {
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32];
  for (int i = 0; i < 32; i++) d[i] = 500 + 50 * i;
  cf_test_write_tif(cf_test_path(f->dir, "b_1.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  cf_test_write_text(cf_test_path(f->dir, "b_2.tif"), "corrupt");
  cf_test_write_tif(cf_test_path(f->dir, "b_3.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  assert_int_equal(run_ndvi(f, "'b_*.tif'", NULL), 3);
  expect_log(f, "b_2.tif: not a raster GDAL can read");
  expect_log(f, "skipped");
  expect_log(f, "items=3 ok=2 rejected=1 failed=0");
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_1.tif") == 1);
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_3.tif") == 1);
  assert_true(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_2") == 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
}

/* An output whose directory cannot be made is found at validation (both
 * --check and the run's start: pipelines/pipeline.c check_outputs), before
 * any work: exit 1, naming the output and its option. */
static void unwritable_output_is_refused_before_the_run(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "out"), "a file where the output folder should be");
  assert_int_equal(run_ndvi(f, "good.tif", NULL), 1);
  expect_log(f, "(option 'path' of stage 'write.cog') cannot be written");
  expect_log(f, "/out' is not a directory");
}

/* Cancelling (a progress callback saying stop, the same flag SIGINT and
 * SIGTERM set in the command) stops the run with CF_ECANCEL and leaves no
 * output and no part file behind. */
static int cancel_after_two(double complete, const char *msg, void *user) {
  int *calls = user;
  (void)complete;
  (void)msg;
  return ++*calls < 3;
}

static void cancelled_run_leaves_nothing(void **state) {
  fixture *f = *state;
  /* enough tiles that the run is still going when it is told to stop */
  const int w = 1500, h = 1500;
  double gt[6] = {500000, 30, 0, 3445000, 0, -30};
  double *d = malloc((size_t)2 * w * h * sizeof *d);
  for (long i = 0; i < 2L * w * h; i++) d[i] = 1000 + (double)(i % 977);
  cf_test_write_tif(cf_test_path(f->dir, "big.tif"), w, h, 2, "UInt16", gt, "EPSG:32650", NULL, d, 256);
  free(d);
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: big.tif\n"
                     "    bands: [red, nir]\n"
                     "  - type: raster.index\n"
                     "    index: ndvi\n"
                     "  - type: write.cog\n"
                     "    path: out/big_ndvi.tif\n"
                     "    blocksize: 256\n");
  /* in a child process (the default: the callback runs there) and in this
   * one (where the calls can be counted) */
  for (int isolate = 1; isolate >= 0; isolate--) {
    cf_ctx *ctx = cf_test_ctx();
    cf_set_isolation(ctx, isolate);
    int calls = 0;
    cf_set_progress(ctx, cancel_after_two, &calls);
    cf_pipeline *p;
    assert_int_equal(cf_pipeline_load(ctx, cf_test_path(f->dir, "p.yaml"), NULL, 0, &p), CF_OK);
    cf_run_summary s;
    assert_int_equal(cf_pipeline_run(ctx, p, &s), CF_ECANCEL);
    assert_int_equal(s.cancelled, 1);
    assert_int_equal(s.noutputs, 0);
    assert_true(cf_cancelled(ctx)); /* the child's cancellation reached the caller */
    if (!isolate) assert_int_equal(calls, 3); /* stopped at the first refusal, not at the end */
    assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".tif"), 0);
    assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
    cf_run_summary_free(&s);
    cf_pipeline_free(p);
    cf_ctx_destroy(ctx);
  }
}

/* --- a warp of a computed raster ------------------------------------------------- */

/* A 40 x 30 scene of 30 m pixels in UTM 50N whose red and nir DNs differ
 * from pixel to pixel, so a pixel taken from the wrong place shows. It lies
 * at 54 N, 300 km east of the central meridian, where grid north is about
 * 4 deg off true north: the scene is visibly rotated in longitude/latitude. */
enum { SW = 40, SH = 30 };
static const double scene_gt[6] = {800000, 30, 0, 6000900, 0, -30};

static double scene_red(int c, int r) { return 1000 + 37 * c + 11 * r; }
static double scene_nir(int c, int r) { return 3000 + 5 * c + 23 * r + (c * r) % 17; }
static double scene_ndvi(int c, int r) {
  return (scene_nir(c, r) - scene_red(c, r)) / (scene_nir(c, r) + scene_red(c, r));
}

/* The scene, sw x sh pixels (the default SW x SH; a wider one spans
 * several of the warp's blocks). */
static void write_scene_sized(fixture *f, int sw, int sh) {
  double *d = malloc((size_t)2 * sw * sh * sizeof *d);
  for (int r = 0; r < sh; r++)
    for (int c = 0; c < sw; c++) {
      d[r * sw + c] = scene_red(c, r);
      d[sw * sh + r * sw + c] = scene_nir(c, r);
    }
  cf_test_write_tif(cf_test_path(f->dir, "scene.tif"), sw, sh, 2, "UInt16", scene_gt, "EPSG:32650", NULL, d, 0);
  free(d);
}

static void write_scene(fixture *f) { write_scene_sized(f, SW, SH); }

/* ingest -> index -> warp (`warp_options`) -> write.cog, checked and then
 * run through the command: both must give `expect`. */
static void index_then_warp(fixture *f, const char *warp_options, int expect) {
  char yaml[2048], args[1400];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: scene.tif\n"
           "    bands: [red, nir]\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "  - type: raster.warp\n"
           "%s"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n"
           "    data_type: Float64\n",
           warp_options);
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  snprintf(args, sizeof args, "run --check '%s/p.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), expect);
  snprintf(args, sizeof args, "run '%s/p.yaml'", f->dir);
  int rc = cf_test_cli(args, f->log);
  if (rc != expect) system("cat >&2 \"$(ls -t /tmp/cftest-*/log.txt | head -n1)\"");
  assert_int_equal(rc, expect);
}

/* To geographic coordinates with nearest neighbour: each output pixel's
 * centre, taken back to UTM 50N with PROJ (through OGR, longitude first),
 * falls in one scene pixel, whose NDVI it must carry; centres outside the
 * scene must be nodata. Centres within 1e-6 pixel of a scene pixel's edge
 * could go either way and are skipped (none expected on these grids). */
static void check_near_warp_to_geographic(fixture *f, int sw, int sh) {
  write_scene_sized(f, sw, sh);
  index_then_warp(f, "    crs: EPSG:4326\n    resampling: near\n", 0);
  int w, h, has_nd;
  double gt[6], nd;
  double *v = cf_test_read_band(cf_test_path(f->dir, "out/ndvi.tif"), 1, &w, &h, gt, &nd, &has_nd);
  assert_true(has_nd);
  OGRSpatialReferenceH geo = OSRNewSpatialReference(NULL), utm = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(geo, 4326);
  OSRImportFromEPSG(utm, 32650);
  OSRSetAxisMappingStrategy(geo, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH to_utm = OCTNewCoordinateTransformation(geo, utm);
  int inside = 0, outside = 0, skipped = 0;
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) {
      double x = gt[0] + (i + 0.5) * gt[1], y = gt[3] + (j + 0.5) * gt[5];
      assert_true(OCTTransform(to_utm, 1, &x, &y, NULL));
      double c = (x - scene_gt[0]) / scene_gt[1], r = (y - scene_gt[3]) / scene_gt[5];
      if (fabs(c - round(c)) < 1e-6 || fabs(r - round(r)) < 1e-6) {
        skipped++;
        continue;
      }
      double got = v[(size_t)j * w + i];
      if (c < 0 || c >= sw || r < 0 || r >= sh) {
        assert_true(got == nd);
        outside++;
        continue;
      }
      /* the same double arithmetic on the same DNs: equal to rounding */
      assert_close(got, scene_ndvi((int)floor(c), (int)floor(r)), 1e-12, 0);
      inside++;
    }
  print_message("%d x %d scene to a %d x %d EPSG:4326 grid: %d pixels inside, %d outside, %d skipped\n", sw, sh,
                w, h, inside, outside, skipped);
  assert_true(inside > sw * sh / 2); /* about one output pixel per scene pixel */
  assert_true(outside > 0);          /* the rotated footprint leaves corners */
  OCTDestroyCoordinateTransformation(to_utm);
  OSRDestroySpatialReference(geo);
  OSRDestroySpatialReference(utm);
  free(v);
}

static void warp_of_an_index_to_another_crs(void **state) {
  fixture *f = *state;
  check_near_warp_to_geographic(f, SW, SH);
  /* wider than one 512-pixel block of the warp: blocks meet inside the grid */
  check_near_warp_to_geographic(f, 1300, 24);
}

/* In the same CRS at twice the pixel size with averaging: the grid keeps the
 * scene's origin (20 x 15 pixels of 60 m), and each pixel is the mean NDVI
 * of the 2 x 2 scene pixels it covers exactly. */
static void warp_of_an_index_in_its_own_crs(void **state) {
  fixture *f = *state;
  write_scene(f);
  index_then_warp(f, "    resolution: 60\n    resampling: average\n", 0);
  int w, h;
  double gt[6], nd;
  double *v = cf_test_read_band(cf_test_path(f->dir, "out/ndvi.tif"), 1, &w, &h, gt, &nd, NULL);
  assert_int_equal(w, SW / 2);
  assert_int_equal(h, SH / 2);
  assert_close(gt[0], scene_gt[0], 0, 1e-6);
  assert_close(gt[3], scene_gt[3], 0, 1e-6);
  assert_close(gt[1], 60, 0, 1e-9);
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) {
      double mean = (scene_ndvi(2 * i, 2 * j) + scene_ndvi(2 * i + 1, 2 * j) + scene_ndvi(2 * i, 2 * j + 1) +
                     scene_ndvi(2 * i + 1, 2 * j + 1)) / 4;
      /* GDAL sums the four with weights of exactly 1: rounding only */
      assert_close(v[(size_t)j * w + i], mean, 1e-12, 0);
    }
  free(v);
}

/* --- a node with two inputs ------------------------------------------------------- */

/* Two pattern nodes and their difference. The difference reads both inputs
 * before it computes, as band algebra does; each input must stay intact
 * while the other is read (one shared scratch block per parent made the
 * second read overwrite the first: a - b came out 0, or, with different
 * band counts, the first block was freed under the parent). */
typedef struct {
  int which; /* 1: a(x, y), 2: b(x, y) in every band */
} pattern_impl;

static double pattern_a(int x, int y) { return x + 1000.0 * y; }
static double pattern_b(int x, int y, int band) { return 3.0 * x * y + 7 + 0.5 * band; }

static int pattern_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  const pattern_impl *p = r->impl;
  (void)thread;
  (void)st;
  for (int b = 0; b < r->nbands; b++)
    for (int j = 0; j < w->ny; j++)
      for (int i = 0; i < w->nx; i++) {
        size_t k = (size_t)b * w->nx * w->ny + (size_t)j * w->nx + i;
        out->data[k] = p->which == 1 ? pattern_a(w->x0 + i, w->y0 + j) : pattern_b(w->x0 + i, w->y0 + j, b);
        out->valid[k] = 1;
      }
  return CF_OK;
}

static int difference_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  cf_block *a, *b;
  int rc = cf_raster_read_input(r, 0, thread, w, &a, st);
  if (!rc) rc = cf_raster_read_input(r, 1, thread, w, &b, st);
  if (rc) return rc;
  size_t n = (size_t)w->nx * w->ny;
  for (size_t k = 0; k < n; k++) {
    out->data[k] = a->data[k] - b->data[k];
    out->valid[k] = a->valid[k] && b->valid[k];
  }
  return CF_OK;
}

static const cf_raster_ops pattern_ops = {"pattern", pattern_read, NULL};
static const cf_raster_ops difference_ops = {"difference", difference_read, NULL};

static cf_raster *test_node(cf_ctx *ctx, const cf_raster_ops *ops, int nbands, void *impl) {
  cf_raster *r = cf_raster_alloc(ctx, ops, nbands, cf_raster_threads(ctx));
  assert_non_null(r);
  r->grid.width = 300;
  r->grid.height = 200;
  r->block_w = r->block_h = 64;
  r->impl = impl;
  return r;
}

typedef struct {
  long checked, wrong;
} diff_check;

static int check_difference(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *blk) {
  diff_check *c = user;
  (void)ctx;
  (void)tile;
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      int x = w->x0 + i, y = w->y0 + j;
      c->wrong += blk->data[(size_t)j * w->nx + i] != pattern_a(x, y) - pattern_b(x, y, 0);
      c->checked++;
    }
  return CF_OK;
}

/* Give `d` the inputs in[0..n-1] and run the engine over it with `check`;
 * returns the pixels checked and the wrong ones. */
static diff_check run_node(cf_ctx *ctx, cf_raster *d, cf_raster *const *in, int n,
                           int (*check)(cf_ctx *, void *, int, const cf_window *, cf_block *)) {
  d->inputs = malloc((size_t)n * sizeof *d->inputs);
  assert_non_null(d->inputs);
  memcpy(d->inputs, in, (size_t)n * sizeof *d->inputs);
  d->ninputs = n;
  cf_tiling t;
  cf_tiling_make(&t, d, 64 * 64);
  diff_check c = {0, 0};
  assert_int_equal(cf_engine_run(ctx, d, &t, check, &c, "node under test"), CF_OK);
  return c;
}

static void two_inputs_are_read_into_their_own_blocks(void **state) {
  (void)state;
  for (int b_bands = 1; b_bands <= 2; b_bands++) { /* same and different band counts */
    cf_ctx *ctx = cf_test_ctx();
    cf_set_threads(ctx, 2);
    pattern_impl pa = {1}, pb = {2};
    cf_raster *a = test_node(ctx, &pattern_ops, 1, &pa), *b = test_node(ctx, &pattern_ops, b_bands, &pb);
    cf_raster *d = test_node(ctx, &difference_ops, 1, NULL);
    cf_raster *in[2] = {a, b};
    diff_check c = run_node(ctx, d, in, 2, check_difference);
    assert_int_equal(c.checked, 300 * 200);
    /* both patterns are whole numbers below 2^53, and so is a - b: exact */
    assert_int_equal(c.wrong, 0);
    cf_raster_destroy(d);
    cf_raster_destroy(a);
    cf_raster_destroy(b);
    cf_ctx_destroy(ctx);
  }
}

/* A node that reads its input through a window widened by 8 pixels (as a
 * warp reads its source) and hands back the requested part: the identity. */
static int widened_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  cf_window ww = *w;
  int x0 = w->x0 - 8 < 0 ? 0 : w->x0 - 8, y0 = w->y0 - 8 < 0 ? 0 : w->y0 - 8;
  int x1 = w->x0 + w->nx + 8 > r->grid.width ? r->grid.width : w->x0 + w->nx + 8;
  int y1 = w->y0 + w->ny + 8 > r->grid.height ? r->grid.height : w->y0 + w->ny + 8;
  ww.x0 = x0, ww.y0 = y0, ww.nx = x1 - x0, ww.ny = y1 - y0;
  cf_block *in;
  int rc = cf_raster_read_input(r, 0, thread, &ww, &in, st);
  if (rc) return rc;
  for (int j = 0; j < w->ny; j++)
    for (int i = 0; i < w->nx; i++) {
      size_t k = (size_t)j * w->nx + i, m = (size_t)(w->y0 - y0 + j) * ww.nx + (w->x0 - x0 + i);
      out->data[k] = in->data[m];
      out->valid[k] = in->valid[m];
    }
  return CF_OK;
}
static const cf_raster_ops widened_ops = {"widened", widened_read, NULL};

static int check_zero(cf_ctx *ctx, void *user, int tile, const cf_window *w, cf_block *blk) {
  diff_check *c = user;
  (void)ctx;
  (void)tile;
  for (size_t k = 0; k < (size_t)w->nx * w->ny; k++) c->wrong += blk->data[k] != 0.0, c->checked++;
  return CF_OK;
}

/* A diamond: D = A - widened(A). D holds A's block while the widened node
 * reads A again through a larger window; with one block per input node
 * that read overwrote (or freed) the block D held. */
static void a_node_read_by_two_parents_keeps_each_parents_pixels(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, 2);
  pattern_impl pa = {1};
  cf_raster *a = test_node(ctx, &pattern_ops, 1, &pa), *s = test_node(ctx, &widened_ops, 1, NULL);
  cf_raster *d = test_node(ctx, &difference_ops, 1, NULL);
  s->inputs = malloc(sizeof(cf_raster *));
  s->inputs[0] = a;
  s->ninputs = 1;
  cf_raster *in[2] = {a, s};
  diff_check c = run_node(ctx, d, in, 2, check_zero);
  assert_int_equal(c.checked, 300 * 200);
  assert_int_equal(c.wrong, 0); /* A - A, exactly */
  cf_raster_destroy(d);
  cf_raster_destroy(s);
  cf_raster_destroy(a);
  cf_ctx_destroy(ctx);
}

/* --- outputs never overwrite inputs, exit codes ---------------------------------- */

static void sha_of(const char *path, char hex[CF_SHA256_HEX_LEN]) {
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_sha256_file(ctx, path, hex), CF_OK);
  cf_ctx_destroy(ctx);
}

static void expect_unchanged(const char *path, const char *hex) {
  char now[CF_SHA256_HEX_LEN];
  sha_of(path, now);
  assert_string_equal(now, hex);
}

static int run_yaml(fixture *f, const char *yaml, const char *extra_args) {
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  char args[1400];
  snprintf(args, sizeof args, "%s run '%s/p.yaml'", extra_args ? extra_args : "", f->dir);
  return cf_test_cli(args, f->log);
}

static void pipeline_output_over_its_input_is_refused(void **state) {
  fixture *f = *state;
  char before[CF_SHA256_HEX_LEN];
  sha_of(cf_test_path(f->dir, "good.tif"), before);
  assert_int_equal(mkdir(cf_test_path(f->dir, "sub"), 0777), 0);
  const char *spellings[] = {"good.tif", "./sub/../good.tif", "nodir/../good.tif", "link.tif"};
  assert_int_equal(symlink("good.tif", cf_test_path(f->dir, "link.tif")), 0);
  for (int i = 0; i < 4; i++) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "pipeline:\n"
             "  - type: ingest.raster\n"
             "    path: good.tif\n"
             "    bands: [red, nir]\n"
             "  - type: raster.index\n"
             "    index: ndvi\n"
             "  - type: write.cog\n"
             "    path: %s\n",
             spellings[i]);
    assert_int_equal(run_yaml(f, yaml, "--check"), 1); /* --check calls it invalid */
    expect_log(f, "p.yaml:8:11: output '");
    expect_log(f, "' of stage 'write.cog' is input '");
    expect_log(f, "/good.tif' of stage 'ingest.raster' (");
    expect_log(f, "it would be overwritten");
    assert_int_equal(run_yaml(f, yaml, NULL), 1);
    expect_log(f, "nothing was run");
    expect_unchanged(cf_test_path(f->dir, "good.tif"), before);
    assert_int_equal(cf_test_count_entries(f->dir, ".part-"), 0);
  }
}

static void csv_over_the_pipeline_file_and_two_writers_are_refused(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "zones.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[117,30.7],[117.1,30.7],[117.1,30.8],"
                     "[117,30.8],[117,30.7]]]}}]}");
  const char *yaml =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: good.tif\n"
      "    bands: [red, nir]\n"
      "  - type: ingest.vector\n"
      "    name: zones\n"
      "    path: zones.geojson\n"
      "  - type: raster.zonal\n"
      "    input: ingest.raster\n"
      "    zones: zones\n"
      "    path: ./p.yaml\n"
      "  - type: write.cog\n"
      "    input: ingest.raster\n"
      "    path: out/a.tif\n"
      "  - type: write.cog\n"
      "    input: ingest.raster\n"
      "    path: out/../out/a.tif\n";
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  char before[CF_SHA256_HEX_LEN];
  sha_of(cf_test_path(f->dir, "p.yaml"), before);
  char args[1200];
  snprintf(args, sizeof args, "run '%s/p.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "p.yaml:11:11: output '");
  expect_log(f, "/./p.yaml' of stage 'raster.zonal' is the pipeline file itself");
  expect_log(f, "p.yaml:17:11: output '");
  expect_log(f, "/out/../out/a.tif' of stage 'write.cog-2' is also written by stage 'write.cog' (");
  expect_log(f, "p.yaml:14)");
  expect_log(f, "2 problems found; nothing was run");
  expect_unchanged(cf_test_path(f->dir, "p.yaml"), before);
  expect_no_output(f);
}

static void batch_outputs_are_checked_per_item(void **state) {
  fixture *f = *state;
  double gt[6] = {500000, 30, 0, 3400120, 0, -30}, d[32];
  for (int i = 0; i < 32; i++) d[i] = 500 + 50 * i;
  assert_int_equal(mkdir(cf_test_path(f->dir, "t"), 0777), 0);
  cf_test_write_tif(cf_test_path(f->dir, "t/a.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  cf_test_write_tif(cf_test_path(f->dir, "t/a_ndvi.tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  char before[CF_SHA256_HEX_LEN];
  sha_of(cf_test_path(f->dir, "t/a_ndvi.tif"), before);
  /* item a.tif would write t/a_ndvi.tif, which is the input of the other item */
  const char *yaml =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: 't/*.tif'\n"
      "    bands: [red, nir]\n"
      "  - type: raster.index\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    path: t/{stem}_ndvi.tif\n";
  assert_int_equal(run_yaml(f, yaml, NULL), 1);
  expect_log(f, "p.yaml:8:11: output '");
  expect_log(f, "/t/a_ndvi.tif' (for input ");
  expect_log(f, "/t/a.tif) of stage 'write.cog' is input '");
  expect_unchanged(cf_test_path(f->dir, "t/a_ndvi.tif"), before);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "t"), "ndvi_ndvi"), 0);
  /* {stem} of "...tif" is "..": it would climb out of out/ */
  cf_test_write_tif(cf_test_path(f->dir, "t/...tif"), 4, 4, 2, "UInt16", gt, "EPSG:32650", NULL, d, 0);
  const char *climb =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: [t/a.tif, t/...tif]\n"
      "    bands: [red, nir]\n"
      "  - type: raster.index\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    path: out/{stem}/ndvi.tif\n";
  assert_int_equal(run_yaml(f, climb, NULL), 1);
  expect_log(f, "p.yaml:8:11: the stem '..' of input '");
  expect_log(f, "it would leave the output's directory");
  assert_false(cf_file_exists(cf_test_path(f->dir, "ndvi.tif")));
  expect_no_output(f);
}

static void overwrite_policy_replaces_unless_no_overwrite(void **state) {
  fixture *f = *state;
  assert_int_equal(run_ndvi(f, "good.tif", NULL), 0);
  const char *out = cf_test_path(f->dir, "out/good.tif");
  struct stat st1, st2;
  assert_int_equal(stat(out, &st1), 0);
  char first[CF_SHA256_HEX_LEN];
  sha_of(out, first);
  /* the nightly rerun: replaced atomically (a new file, renamed over) */
  assert_int_equal(run_ndvi(f, "good.tif", NULL), 0);
  assert_int_equal(stat(out, &st2), 0);
  assert_true(st1.st_ino != st2.st_ino);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
  char second[CF_SHA256_HEX_LEN];
  sha_of(out, second);
  /* --no-overwrite: refused at validation, exit 1, the file untouched */
  char args[1200];
  snprintf(args, sizeof args, "--no-overwrite run '%s/p.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "p.yaml:8:11: output '");
  expect_log(f, "/out/good.tif' exists and --no-overwrite was given");
  struct stat st3;
  assert_int_equal(stat(out, &st3), 0);
  assert_true(st3.st_ino == st2.st_ino);
  expect_unchanged(out, second);
  /* a new output is still written under --no-overwrite */
  assert_int_equal(unlink(out), 0);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_file_exists(out));
}

static void simulate_l0(fixture *f, const char *name) {
  char args[1200];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/%s' scans=1", f->dir, name);
  assert_int_equal(cf_test_cli(args, f->log), 0);
}

static void lidar_commands_never_overwrite_their_input(void **state) {
  fixture *f = *state;
  simulate_l0(f, "x.h5");
  char before[CF_SHA256_HEX_LEN], truth[CF_SHA256_HEX_LEN];
  sha_of(cf_test_path(f->dir, "x.h5"), before);
  sha_of(cf_test_path(f->dir, "x_truth.nc"), truth);
  assert_int_equal(mkdir(cf_test_path(f->dir, "sub"), 0777), 0);
  assert_int_equal(symlink("../x.h5", cf_test_path(f->dir, "sub/l.h5")), 0);
  char args[2400];
  const char *outs[] = {"x.h5", "sub/../x.h5", "sub/l.h5"};
  for (int i = 0; i < 3; i++) {
    snprintf(args, sizeof args, "lidar process '%s/x.h5' -o '%s/%s'", f->dir, f->dir, outs[i]);
    assert_int_equal(cf_test_cli(args, f->log), 1);
    expect_log(f, "lidar process: the output '");
    expect_log(f, "' is the input '");
    expect_log(f, "it would be overwritten (nothing was written)");
    expect_unchanged(cf_test_path(f->dir, "x.h5"), before);
  }
  /* the input spelled through the symlink, the output plainly */
  snprintf(args, sizeof args, "lidar process '%s/sub/l.h5' -o '%s/x.h5'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_unchanged(cf_test_path(f->dir, "x.h5"), before);
  /* simulate: the truth file over the L0 output */
  snprintf(args, sizeof args, "simulate lidar -o '%s/x.h5' --truth '%s/sub/../x.h5' scans=1", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "simulate lidar: the truth file '");
  expect_log(f, "' is the L0 output '");
  expect_unchanged(cf_test_path(f->dir, "x.h5"), before);
  /* --no-overwrite on a command */
  snprintf(args, sizeof args, "--no-overwrite simulate lidar -o '%s/x.h5' scans=1", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "exists and --no-overwrite was given (nothing was written)");
  expect_unchanged(cf_test_path(f->dir, "x.h5"), before);
  expect_unchanged(cf_test_path(f->dir, "x_truth.nc"), truth);
  assert_int_equal(cf_test_count_entries(f->dir, ".part-"), 0);
}

static void exit_codes_of_the_lidar_command(void **state) {
  fixture *f = *state;
  char args[2400];
  /* a missing input is a usage error, as in pipelines */
  snprintf(args, sizeof args, "lidar process '%s/missing.h5' -o '%s/out/m.nc'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "missing.h5' does not exist");
  /* its one input rejected: every input was, exit 4 */
  simulate_l0(f, "x.h5");
  FILE *in = fopen(cf_test_path(f->dir, "x.h5"), "rb");
  assert_non_null(in);
  char *buf = malloc(400000);
  assert_non_null(buf);
  size_t n = fread(buf, 1, 400000, in);
  fclose(in);
  FILE *out = fopen(cf_test_path(f->dir, "trunc.h5"), "wb");
  assert_non_null(out);
  assert_int_equal(fwrite(buf, 1, n / 4, out), n / 4);
  fclose(out);
  free(buf);
  snprintf(args, sizeof args, "lidar process '%s/trunc.h5' -o '%s/out/t.nc'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "trunc.h5: HDF5 cannot open the file");
  expect_no_output(f);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".nc"), 0);
}

static void batch_of_only_bad_inputs_is_exit_4(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "b_1.tif"), "corrupt");
  cf_test_write_text(cf_test_path(f->dir, "b_2.tif"), "corrupt too");
  assert_int_equal(run_ndvi(f, "'b_*.tif'", NULL), 4);
  expect_log(f, "items=2 ok=0 rejected=2 failed=0");
  expect_no_output(f);
}

static void stages_of_an_unknown_type_is_an_error(void **state) {
  fixture *f = *state;
  assert_int_equal(cf_test_cli("stages nosuch", f->log), 1);
  expect_log(f, "stages: no stage type 'nosuch'");
  assert_false(cf_test_file_contains(f->log, "Stages (options"));
  assert_int_equal(cf_test_cli("stages write.cg", f->log), 1);
  expect_log(f, "no stage type 'write.cg'; did you mean 'write.cog'?");
  assert_int_equal(cf_test_cli("stages write.cog", f->log), 0);
  expect_log(f, "GeoTIFF (COG) to write");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(unreadable_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(raster_without_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(boundary_outside_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(zero_sized_raster, setup, teardown),
      cmocka_unit_test_setup_teardown(nan_nodata_on_integer_band, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_goes_on_past_a_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(unwritable_output_is_refused_before_the_run, setup, teardown),
      cmocka_unit_test_setup_teardown(cancelled_run_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(warp_of_an_index_to_another_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(warp_of_an_index_in_its_own_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(two_inputs_are_read_into_their_own_blocks, setup, teardown),
      cmocka_unit_test_setup_teardown(a_node_read_by_two_parents_keeps_each_parents_pixels, setup, teardown),
      cmocka_unit_test_setup_teardown(pipeline_output_over_its_input_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(csv_over_the_pipeline_file_and_two_writers_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_outputs_are_checked_per_item, setup, teardown),
      cmocka_unit_test_setup_teardown(overwrite_policy_replaces_unless_no_overwrite, setup, teardown),
      cmocka_unit_test_setup_teardown(lidar_commands_never_overwrite_their_input, setup, teardown),
      cmocka_unit_test_setup_teardown(exit_codes_of_the_lidar_command, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_of_only_bad_inputs_is_exit_4, setup, teardown),
      cmocka_unit_test_setup_teardown(stages_of_an_unknown_type_is_an_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
