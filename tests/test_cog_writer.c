/*
 * The streaming COG writer (raster/cog_stream.c, tile_codec.c, tiff_write.c).
 *
 * The node written here is the test's own: pixel (x, y) of band b is
 * field(b, x, y), a formula, with a lattice of invalid pixels. Every check
 * decodes the file with GDAL (libtiff's predictors and codecs, GDAL's
 * GeoTIFF reader), which is independent of the writer's encoders:
 *  - every pixel equals the formula as the file's type holds it (integers
 *    are exact: the formula gives integers inside the type's range; floats
 *    compare as (float) or (double) of the formula), invalid pixels equal
 *    nodata: for Byte, UInt16, Int16 (predictor 2), Float32, Float64
 *    (predictor 3), with DEFLATE, ZSTD and NONE;
 *  - sizes that are not multiples of the tile (300 x 200 in 64-px tiles);
 *  - 6 bands (the pool map's count) with descriptions, metadata, nodata,
 *    CRS and geotransform read back as written; an Int16 map packed with
 *    scale/offset carries them;
 *  - BigTIFF when forced by the test-only threshold; the tag reader on
 *    GDAL's classic and BigTIFF files;
 *  - 1 and 2 threads write identical bytes; GDAL says LAYOUT=COG and its
 *    validator accepts the files (where installed);
 *  - a write into a read-only directory and an input that fails mid-way
 *    leave no part or scratch file behind;
 *  - lossy LERC_ZSTD with max_z_error = 10 on a field of 0..2e6 (GDAL's COG
 *    driver, the path for codecs the streaming writer does not do): every
 *    pixel within 10
 *    of the lossless file's (LERC's guarantee: |decoded - original| <=
 *    MaxZError), nodata where the lossless file has it; max_z_error with a
 *    lossless codec is refused, in a pipeline's stage and by --set.
 * Overview values are checked against an independent cascade in
 * test_cog_stream.
 */
#include <gdal.h>
#include <math.h>
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_test.h"
#include "raster/cog.h"
#include "raster/tiff_write.h"

#define VALIDATOR "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"

typedef struct {
  int fail_from_y; /* rows at or below this fail to read (0 = never) */
  double lo, hi;   /* the formula's range */
} field_impl;

/* The test's formula: integers in [lo, hi] when the range is an integer
 * type's, smooth enough for the predictors to matter. */
static double field(const field_impl *f, int b, int x, int y) {
  double u = 0.5 + 0.5 * sin(x / 17.0 + b) * cos(y / 11.0);
  return floor(f->lo + u * (f->hi - f->lo) + 0.5) + (f->hi - f->lo > 1e6 ? 0.123 * u : 0);
}

static int field_invalid(int b, int x, int y) { return (x * 7 + y * 3 + b) % 53 == 0; }

static int field_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  const field_impl *f = r->impl;
  if (f->fail_from_y && w->y0 + w->ny > f->fail_from_y)
    return cf_worker_fail(st, CF_EIO, "field.tif", "", "simulated read error");
  for (int b = 0; b < r->nbands; b++)
    for (int y = 0; y < w->ny; y++)
      for (int x = 0; x < w->nx; x++) {
        size_t i = ((size_t)b * w->ny + y) * w->nx + x;
        int X = w->x0 + x, Y = w->y0 + y;
        out->valid[i] = !field_invalid(b, X, Y);
        out->data[i] = out->valid[i] ? field(f, b, X, Y) : NAN;
      }
  return CF_OK;
}

static void field_destroy(cf_raster *r) { free(r->impl); }

static const cf_raster_ops field_ops = {"test-field", field_read, field_destroy};

static cf_raster *field_create(cf_ctx *ctx, int w, int h, int nb, double lo, double hi, int fail_from_y) {
  cf_raster *r = cf_raster_alloc(ctx, &field_ops, nb, cf_raster_threads(ctx));
  assert_non_null(r);
  field_impl *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->lo = lo, f->hi = hi, f->fail_from_y = fail_from_y;
  r->impl = f;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  assert_int_equal(OSRImportFromEPSG(srs, 32650), OGRERR_NONE);
  char *wkt = NULL;
  OSRExportToWkt(srs, &wkt);
  r->grid.wkt = strdup(wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  double gt[6] = {500000, 10, 0, 4500000, 0, -10};
  memcpy(r->grid.gt, gt, sizeof gt);
  r->grid.width = w, r->grid.height = h;
  r->block_w = r->block_h = 64;
  return r;
}

static unsigned char *bytes_of(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)*n);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)*n, f), (size_t)*n);
  fclose(f);
  return b;
}

static void assert_valid_cog(const char *path) {
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  assert_non_null(ds);
  const char *layout = GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE");
  assert_non_null(layout);
  assert_string_equal(layout, "COG");
  GDALClose(ds);
  if (access(VALIDATOR, R_OK) == 0 && access("/usr/bin/python3", X_OK) == 0) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s -q --full-check=yes '%s'", VALIDATOR, path);
    assert_int_equal(system(cmd), 0);
  }
}

/* Write the field with `o` using `threads`; returns the path (static). */
static const char *write_field(const char *dir, const char *name, int w, int h, int nb, double lo, double hi,
                               const cf_cog_options *o, int threads) {
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, threads);
  cf_raster *r = field_create(ctx, w, h, nb, lo, hi, 0);
  const char *path = cf_test_path(dir, name);
  int rc = cf_cog_write(ctx, r, path, o);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, 0);
  cf_raster_destroy(r);
  cf_ctx_destroy(ctx);
  return path;
}

/* Every pixel of every band as GDAL reads it equals the formula (as the
 * file's type holds it) or nodata. */
static void assert_pixels(const char *path, int w, int h, int nb, double lo, double hi, double nodata, int is_f32) {
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  assert_non_null(ds);
  field_impl f = {0, lo, hi};
  double *got = malloc(sizeof(double) * w * h);
  assert_non_null(got);
  for (int b = 0; b < nb; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    int has = 0;
    assert_true(GDALGetRasterNoDataValue(band, &has) == nodata && has);
    assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, w, h, got, w, h, GDT_Float64, 0, 0), CE_None);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double want = field_invalid(b, x, y) ? nodata : field(&f, b, x, y);
        if (is_f32) want = (float)want;
        if (got[(size_t)y * w + x] != want) fail_msg("%s band %d pixel (%d, %d): %.17g, expected %.17g", path, b, x, y,
                                                     got[(size_t)y * w + x], want);
      }
  }
  free(got);
  GDALClose(ds);
}

static void types_codecs_predictors(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  struct {
    const char *type;
    double lo, hi, nodata;
    int f32;
  } types[] = {{"Byte", 0, 254, 255, 0},           {"UInt16", 0, 65534, 65535, 0},
               {"Int16", -32000, 32000, -32768, 0}, {"Float32", -5e6, 5e6, -9999, 1},
               {"Float64", -5e6, 5e6, -9999, 0}};
  const char *codecs[] = {"DEFLATE", "ZSTD", "NONE"};
  for (size_t t = 0; t < sizeof types / sizeof *types; t++)
    for (int c = 0; c < 3; c++) {
      cf_cog_options o = {.type = types[t].type, .have_nodata = 1, .nodata = types[t].nodata,
                          .compress = codecs[c], .blocksize = 64};
      char name[64];
      snprintf(name, sizeof name, "%s_%s.tif", types[t].type, codecs[c]);
      const char *p = write_field(dir, name, 300, 200, 2, types[t].lo, types[t].hi, &o, 2);
      char path[1100];
      snprintf(path, sizeof path, "%s", p);
      assert_pixels(path, 300, 200, 2, types[t].lo, types[t].hi, types[t].nodata, types[t].f32);
      GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
      const char *pred = GDALGetMetadataItem(ds, "PREDICTOR", "IMAGE_STRUCTURE");
      /* the defaults: 3 for floats, 2 for integers, none without a codec */
      const char *want = c == 2 ? NULL : types[t].f32 || !strcmp(types[t].type, "Float64") ? "3" : "2";
      if (want) {
        assert_non_null(pred);
        assert_string_equal(pred, want);
      } else {
        assert_true(pred == NULL || !strcmp(pred, "1"));
      }
      assert_int_equal(GDALGetOverviewCount(GDALGetRasterBand(ds, 1)), 3); /* 150, 75, 38 px: the last fits 64 */
      GDALClose(ds);
      assert_valid_cog(path);
    }
  cf_test_rmtree(dir);
  free(dir);
}

static void six_bands_metadata_and_threads(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  const char *md[] = {"CARBONFLUX_VERSION=test", "CARBONFLUX_INPUTS=[\"a.tif sha256:00\"]", NULL};
  cf_cog_options o = {.type = "Float32", .compress = "ZSTD", .blocksize = 64, .metadata = md};
  char p1[1100], p2[1100];
  /* band names through a node made here */
  for (int threads = 1; threads <= 2; threads++) {
    cf_ctx *ctx = cf_test_ctx();
    cf_set_threads(ctx, threads);
    cf_raster *r = field_create(ctx, 333, 257, 6, 0, 400, 0);
    const char *names[6] = {"agb", "bgb", "deadwood", "litter", "soc", "total"};
    for (int b = 0; b < 6; b++) assert_int_equal(cf_raster_set_band_name(r, b, names[b]), 0);
    snprintf(threads == 1 ? p1 : p2, sizeof p1, "%s", cf_test_path(dir, threads == 1 ? "t1.tif" : "t2.tif"));
    assert_int_equal(cf_cog_write(ctx, r, threads == 1 ? p1 : p2, &o), 0);
    cf_raster_destroy(r);
    cf_ctx_destroy(ctx);
  }
  long n1, n2;
  unsigned char *b1 = bytes_of(p1, &n1), *b2 = bytes_of(p2, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(b1, b2, (size_t)n1);
  free(b1), free(b2);
  assert_pixels(p2, 333, 257, 6, 0, 400, -9999, 1);
  GDALDatasetH ds = GDALOpen(p2, GA_ReadOnly);
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_VERSION", NULL), "test");
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_INPUTS", NULL), "[\"a.tif sha256:00\"]");
  assert_string_equal(GDALGetDescription(GDALGetRasterBand(ds, 3)), "deadwood");
  assert_string_equal(GDALGetDescription(GDALGetRasterBand(ds, 6)), "total");
  double gt[6];
  assert_int_equal(GDALGetGeoTransform(ds, gt), CE_None);
  assert_true(gt[0] == 500000 && gt[1] == 10 && gt[3] == 4500000 && gt[5] == -10);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(GDALGetProjectionRef(ds));
  assert_string_equal(OSRGetAuthorityCode(srs, NULL), "32650");
  OSRDestroySpatialReference(srs);
  assert_string_equal(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE"), "ZSTD");
  GDALClose(ds);
  assert_valid_cog(p2);
  cf_test_rmtree(dir);
  free(dir);
}

static void packed_int16_scale_offset(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  cf_cog_options o = {.type = "Int16", .have_nodata = 1, .nodata = -32768, .blocksize = 64, .have_scale = 1,
                      .scale = 0.01, .offset = 100};
  const char *p = write_field(dir, "packed.tif", 200, 130, 1, -3000, 3000, &o, 2);
  GDALDatasetH ds = GDALOpen(p, GA_ReadOnly);
  int ok = 0;
  assert_true(GDALGetRasterScale(GDALGetRasterBand(ds, 1), &ok) == 0.01 && ok);
  assert_true(GDALGetRasterOffset(GDALGetRasterBand(ds, 1), &ok) == 100 && ok);
  GDALClose(ds);
  assert_pixels(p, 200, 130, 1, -3000, 3000, -32768, 0);
  cf_test_rmtree(dir);
  free(dir);
}

static void bigtiff_when_forced(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  cf_cog_set_bigtiff_threshold(1000); /* any file of this size passes it */
  cf_cog_options o = {.type = "UInt16", .blocksize = 64};
  const char *p = write_field(dir, "big.tif", 300, 200, 2, 0, 60000, &o, 2);
  cf_cog_set_bigtiff_threshold(0);
  long n;
  unsigned char *b = bytes_of(p, &n);
  assert_memory_equal(b, "II+\0", 4); /* BigTIFF's version 43 */
  free(b);
  assert_pixels(p, 300, 200, 2, 0, 60000, 65535, 0);
  assert_valid_cog(p);
  /* below the threshold: classic TIFF */
  p = write_field(dir, "classic.tif", 300, 200, 2, 0, 60000, &o, 2);
  b = bytes_of(p, &n);
  assert_memory_equal(b, "II*\0", 4);
  free(b);
  cf_test_rmtree(dir);
  free(dir);
}

/* The tag reader on what GDAL writes, classic and BigTIFF (a template of
 * more than 4 GiB of pixels is a BigTIFF): ModelPixelScale is the
 * geotransform's pixel size, GDAL_NODATA the nodata as text. */
static void tag_reader_classic_and_bigtiff(void **state) {
  (void)state;
  GDALAllRegister();
  for (int big = 0; big <= 1; big++) {
    const char *name = "/vsimem/test_tags.tif";
    char **co = CSLSetNameValue(NULL, "BIGTIFF", big ? "YES" : "NO");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), name, 8, 8, 1, GDT_Float32, co);
    CSLDestroy(co);
    double gt[6] = {1000, 2.5, 0, 9000, 0, -4};
    GDALSetGeoTransform(ds, gt);
    GDALSetRasterNoDataValue(GDALGetRasterBand(ds, 1), -9999);
    GDALClose(ds);
    vsi_l_offset len = 0;
    GByte *buf = VSIGetMemFileBuffer(name, &len, FALSE);
    assert_non_null(buf);
    assert_int_equal(buf[2], big ? 43 : 42);
    static const uint16_t keep[] = {33550, 42113};
    cf_tiff_tags tags;
    char err[200];
    assert_int_equal(cf_tiff_read_tags(buf, (size_t)len, keep, 2, &tags, err, sizeof err), 0);
    assert_int_equal(tags.n, 2);
    assert_int_equal(tags.tags[0].tag, 33550);
    assert_int_equal(tags.tags[0].count, 3);
    double scale[3];
    memcpy(scale, tags.tags[0].bytes, sizeof scale); /* little-endian doubles, as this machine's */
    assert_true(scale[0] == 2.5 && scale[1] == 4 && scale[2] == 0);
    assert_int_equal(tags.tags[1].tag, 42113);
    assert_string_equal((const char *)tags.tags[1].bytes, "-9999");
    cf_tiff_tags_free(&tags);
    VSIUnlink(name);
  }
}

/* 3 and 4 Byte bands come back as GDAL's own drivers write them: Red,
 * Green, Blue (and Alpha); 3 UInt16 bands and 2 Byte bands stay grey
 * (Gray, Undefined...). The reference is GDAL's COG driver on the same
 * data, asked in the test. */
static void byte_rgb_as_gdal_writes_it(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  struct {
    int nb;
    const char *type;
  } cases[] = {{3, "Byte"}, {4, "Byte"}, {2, "Byte"}, {3, "UInt16"}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    cf_cog_options o = {.type = cases[c].type, .compress = "ZSTD"};
    char name[64];
    snprintf(name, sizeof name, "rgb_%d_%s.tif", cases[c].nb, cases[c].type);
    const char *path = write_field(dir, name, 100, 70, cases[c].nb, 0, 200, &o, 2);
    assert_valid_cog(path);
    GDALDatasetH ours = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ours);
    /* GDAL's own COG of the same pixels */
    char ref_path[1100];
    snprintf(ref_path, sizeof ref_path, "%s/ref_%s", dir, name);
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("GTiff"), cf_test_path(dir, "plain.tif"), 100, 70,
                                  cases[c].nb, GDALGetDataTypeByName(cases[c].type), NULL);
    assert_non_null(mem);
    GDALDatasetH ref = GDALCreateCopy(GDALGetDriverByName("COG"), ref_path, mem, FALSE, NULL, NULL, NULL);
    assert_non_null(ref);
    for (int b = 1; b <= cases[c].nb; b++) {
      GDALColorInterp want = GDALGetRasterColorInterpretation(GDALGetRasterBand(ref, b));
      GDALColorInterp got = GDALGetRasterColorInterpretation(GDALGetRasterBand(ours, b));
      if (want != got)
        fail_msg("%s band %d: %s, GDAL's COG driver writes %s", name, b, GDALGetColorInterpretationName(got),
                 GDALGetColorInterpretationName(want));
    }
    if (cases[c].nb >= 3 && !strcmp(cases[c].type, "Byte"))
      assert_int_equal(GDALGetRasterColorInterpretation(GDALGetRasterBand(ours, 1)), GCI_RedBand);
    GDALClose(ref);
    GDALClose(mem);
    GDALClose(ours);
    assert_pixels(path, 100, 70, cases[c].nb, 0, 200, strcmp(cases[c].type, "Byte") ? 65535 : 255, 0);
  }
  cf_test_rmtree(dir);
  free(dir);
}

/* compress=NONE with an explicit predictor: TIFF readers undo a predictor
 * only inside a codec, so the writer stores plain samples (it once stored
 * differences tagged Predictor 2/3, read back as differences); every pixel
 * as GDAL reads it equals the formula. A DEFLATE level past libdeflate's
 * 12 is refused by the options check, naming the field. */
static void none_with_a_predictor_and_deflate_levels(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  cf_cog_options o16 = {.type = "UInt16", .compress = "NONE", .predictor = "YES"};
  const char *p16 = write_field(dir, "none_pred_u16.tif", 130, 90, 2, 0, 60000, &o16, 2);
  assert_valid_cog(p16);
  assert_pixels(p16, 130, 90, 2, 0, 60000, 65535, 0);
  cf_cog_options of = {.type = "Float32", .compress = "NONE", .predictor = "FLOATING_POINT"};
  const char *pf = write_field(dir, "none_pred_f32.tif", 130, 90, 1, -3, 3, &of, 2);
  assert_pixels(pf, 130, 90, 1, -3, 3, -9999, 1);
  cf_ctx *ctx = cf_test_ctx();
  cf_cog_options bad = {.compress = "DEFLATE", .level = 13};
  assert_int_equal(cf_cog_options_check(ctx, &bad, "w"), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "DEFLATE takes 1 to 12"));
  cf_error_clear(ctx);
  cf_cog_options zstd = {.compress = "ZSTD", .level = 19};
  assert_int_equal(cf_cog_options_check(ctx, &zstd, "w"), CF_OK);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void failures_leave_nothing(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  cf_cog_options o = {.type = "Float32", .blocksize = 64};
  /* an input that fails at row 150 of 200: tiles before it were written */
  cf_ctx *ctx = cf_test_ctx();
  cf_set_threads(ctx, 2);
  cf_raster *r = field_create(ctx, 300, 200, 1, 0, 1, 150);
  assert_int_equal(cf_cog_write(ctx, r, cf_test_path(dir, "fail.tif"), &o), CF_EIO);
  assert_non_null(strstr(cf_error_message(ctx), "simulated read error"));
  cf_raster_destroy(r);
  assert_int_equal(cf_test_count_entries(dir, "fail"), 0); /* no output, no part, no scratch */
  assert_int_equal(cf_test_count_entries(dir, ".part"), 0);
  /* a read-only directory (not for root, who may write anyway) */
  if (geteuid() != 0) {
    char ro[1100];
    snprintf(ro, sizeof ro, "%s", cf_test_path(dir, "ro"));
    assert_int_equal(mkdir(ro, 0555), 0);
    r = field_create(ctx, 300, 200, 1, 0, 1, 0);
    char out[1200];
    snprintf(out, sizeof out, "%s/x.tif", ro);
    assert_int_equal(cf_cog_write(ctx, r, out, &o), CF_EIO);
    assert_non_null(strstr(cf_error_message(ctx), "x.tif"));
    cf_raster_destroy(r);
    assert_int_equal(cf_test_count_entries(ro, ""), 0);
  }
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void lerc_within_max_z_error(void **state) {
  (void)state;
  GDALAllRegister();
  char *dir = cf_test_tmpdir();
  const double max_err = 10; /* the field spans 0..2e6 with fractions (field()) */
  cf_cog_options lossless = {.type = "Float32", .compress = "DEFLATE", .blocksize = 64};
  cf_cog_options lerc = {.type = "Float32", .compress = "LERC_ZSTD", .max_z_error = max_err, .blocksize = 128};
  char p1[1100], p2[1100];
  snprintf(p1, sizeof p1, "%s", write_field(dir, "lossless.tif", 300, 200, 1, 0, 2e6, &lossless, 2));
  snprintf(p2, sizeof p2, "%s", write_field(dir, "lerc.tif", 300, 200, 1, 0, 2e6, &lerc, 2));
  GDALDatasetH a = GDALOpen(p1, GA_ReadOnly), b = GDALOpen(p2, GA_ReadOnly);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(GDALGetMetadataItem(b, "COMPRESSION", "IMAGE_STRUCTURE"), "LERC_ZSTD");
  static double va[300 * 200], vb[300 * 200];
  assert_int_equal(GDALRasterIO(GDALGetRasterBand(a, 1), GF_Read, 0, 0, 300, 200, va, 300, 200, GDT_Float64, 0, 0), CE_None);
  assert_int_equal(GDALRasterIO(GDALGetRasterBand(b, 1), GF_Read, 0, 0, 300, 200, vb, 300, 200, GDT_Float64, 0, 0), CE_None);
  int differ = 0;
  for (int i = 0; i < 300 * 200; i++) {
    if (va[i] == -9999) {
      assert_true(vb[i] == -9999);
      continue;
    }
    assert_true(fabs(va[i] - vb[i]) <= max_err);
    differ += va[i] != vb[i];
  }
  assert_true(differ > 0); /* lossy indeed: the check above could fail */
  GDALClose(a);
  GDALClose(b);
  /* refused with a lossless codec: the stage and --set, from one declaration */
  cf_test_write_tif(cf_test_path(dir, "in.tif"), 4, 4, 1, "Float32", (double[6]){0, 1, 0, 4, 0, -1}, "EPSG:32650",
                    NULL, (double[16]){0}, 0);
  cf_test_write_text(cf_test_path(dir, "p.yaml"), "pipeline:\n  - type: ingest.raster\n    path: in.tif\n"
                                                  "  - type: write.cog\n    path: out.tif\n    max_z_error: 0.1\n");
  char args[1400], log[1100];
  snprintf(log, sizeof log, "%s", cf_test_path(dir, "log.txt"));
  snprintf(args, sizeof args, "%s", cf_test_run_args(dir));
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "max_z_error"));
  cf_test_write_text(cf_test_path(dir, "p.yaml"), "pipeline:\n  - type: ingest.raster\n    path: in.tif\n"
                                                  "  - type: write.cog\n    path: out.tif\n");
  snprintf(args, sizeof args, "%s --set write.cog.max_z_error=0.1", cf_test_run_args(dir));
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "max_z_error"));
  snprintf(args, sizeof args, "%s --set write.cog.max_z_error=-1 --set write.cog.compress=LERC", cf_test_run_args(dir));
  assert_int_equal(cf_test_cli(args, log), 1);
  snprintf(args, sizeof args, "%s --set write.cog.max_z_error=0.1 --set write.cog.compress=LERC_DEFLATE",
           cf_test_run_args(dir));
  assert_int_equal(cf_test_cli(args, log), 0);
  assert_int_equal(cf_test_count_entries(dir, "out.tif"), 1);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(types_codecs_predictors),
      cmocka_unit_test(six_bands_metadata_and_threads),
      cmocka_unit_test(packed_int16_scale_offset),
      cmocka_unit_test(bigtiff_when_forced),
      cmocka_unit_test(tag_reader_classic_and_bigtiff),
      cmocka_unit_test(byte_rgb_as_gdal_writes_it),
      cmocka_unit_test(none_with_a_predictor_and_deflate_levels),
      cmocka_unit_test(failures_leave_nothing),
      cmocka_unit_test(lerc_within_max_z_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
