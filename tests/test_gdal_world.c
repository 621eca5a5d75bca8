/*
 * What a user of a GDAL-world tool expects: inputs named the way GDAL names
 * them (/vsizip/, NETCDF:"f.nc":var, /vsicurl/) are accepted by the stages,
 * relative files inside such names are relative to the pipeline file, and
 * provenance hashes the plain file behind the name. Expected pixels are the
 * values this suite writes; hashes are computed by sha256sum, not by us.
 */
#include <gdal.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "ingest/gdal_util.h"
#include "ingest/vector.h"

#define W 5
#define H 4

static const double gt[6] = {500000, 30, 0, 4000000, 0, -30};

static void pixels(double *d) {
  for (int i = 0; i < W * H; i++) d[i] = 0.25 * i - 1.5; /* exact in Float32 */
}

/* Load the pipeline `yaml` written as DIR/p.yaml; with `run`, run it too
 * (succeeded items in *succeeded). The first failing status. */
static int pipeline(const char *dir, const char *yaml, int run, int *succeeded) {
  const char *p = cf_test_path(dir, "p.yaml");
  cf_test_write_text(p, yaml);
  cf_ctx *ctx = cf_test_ctx();
  cf_pipeline *pl = NULL;
  int rc = cf_pipeline_load(ctx, p, NULL, 0, &pl);
  if (rc == CF_OK && run) {
    cf_run_summary s;
    rc = cf_pipeline_run(ctx, pl, &s);
    if (succeeded) *succeeded = s.succeeded;
    cf_run_summary_free(&s);
  }
  if (pl) cf_pipeline_free(pl);
  cf_ctx_destroy(ctx);
  return rc;
}
#define load_run(dir, yaml, ok) pipeline(dir, yaml, 1, ok)
#define load_only(dir, yaml) pipeline(dir, yaml, 0, NULL)

/* A fresh folder with in.tif (W x H, one band of `type`) holding `d`. */
static char *with_input(const double *d, const char *type) {
  char *dir = cf_test_tmpdir();
  cf_test_write_tif(cf_test_path(dir, "in.tif"), W, H, 1, type, gt, "EPSG:32650", NULL, d, 0);
  return dir;
}

static void finish(char *dir) {
  cf_test_rmtree(dir);
  free(dir);
}

/* DIR/NAME: one GeoJSON square [x0, x1] x [y0, y1], with a CRS member
 * naming UTM 50N or, with crs 0, none (GDAL then says WGS 84). */
static void write_square(const char *dir, const char *name, int crs, double x0, double y0, double x1, double y1) {
  char js[1024];
  snprintf(js, sizeof js,
           "{\"type\":\"FeatureCollection\",%s\"features\":[{\"type\":\"Feature\",\"properties\":{},"
           "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g],"
           "[%.17g,%.17g],[%.17g,%.17g]]]}}]}\n",
           crs ? "\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32650\"}}," : "",
           x0, y1, x1, y1, x1, y0, x0, y0, x0, y1);
  cf_test_write_text(cf_test_path(dir, name), js);
}

/* Run in.tif, the ingest.vector stage `vector` (YAML lines) and
 * raster.zonal; the zone has `n` pixels (all valid) of mean `mean`. */
static void zonal_mean_is(const char *dir, const char *vector, int n, double mean) {
  char y[2048];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: in.tif\n"
           "  - type: ingest.vector\n%s"
           "  - type: raster.zonal\n"
           "    zones: ingest.vector\n"
           "    path: z.csv\n",
           vector);
  int ok = 0;
  assert_int_equal(load_run(dir, y, &ok), CF_OK);
  assert_int_equal(ok, 1);
  char want[64];
  snprintf(want, sizeof want, ",%d,%d,%.15g,", n, n, mean);
  assert_true(cf_test_file_contains(cf_test_path(dir, "z.csv"), want));
}

static void sh(const char *cmd) { assert_int_equal(system(cmd), 0); }


/* A dataset metadata item (of `domain`, NULL: the default one), malloc'ed. */
static char *metadata_in(const char *path, const char *key, const char *domain) {
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  assert_non_null(ds);
  const char *v = GDALGetMetadataItem(ds, key, domain);
  char *s = v ? strdup(v) : NULL;
  GDALClose(ds);
  return s;
}

/* CARBONFLUX_INPUTS of `out` lists DIR/REL with sha256sum's digest of it. */
static void check_provenance(const char *dir, const char *rel, const char *out) {
  char hex[65], want[1200];
  cf_test_sha256sum(cf_test_path(dir, rel), hex);
  snprintf(want, sizeof want, "%s/%s sha256:%s", dir, rel, hex);
  char *inputs = metadata_in(cf_test_path(dir, out), "CARBONFLUX_INPUTS", NULL);
  assert_non_null(inputs);
  assert_non_null(strstr(inputs, want));
  free(inputs);
}

static void check_pixels(const char *path, const double *expect) {
  int w, h;
  double *v = cf_test_read_band(path, 1, &w, &h, NULL, NULL, NULL);
  assert_int_equal(w, W);
  assert_int_equal(h, H);
  for (int i = 0; i < W * H; i++) assert_close(v[i], expect[i], 0, 0); /* Float32 in, Float32 out */
  free(v);
}

static void raster_through_vsizip_equals_unzipped(void **state) {
  (void)state;
  double d[W * H];
  pixels(d);
  char *dir = with_input(d, "Float32");
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s/sub' && /usr/bin/python3 -c \"import zipfile,sys; "
           "z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED); z.write(sys.argv[2],'in.tif'); z.close()\" "
           "'%s/sub/data.zip' '%s/in.tif'",
           dir, dir, dir);
  sh(cmd);
  int ok = 0;
  /* relative inside /vsizip/: relative to the pipeline file's folder, not the cwd */
  assert_int_equal(load_run(dir,
                            "pipeline:\n"
                            "  - type: ingest.raster\n"
                            "    path: /vsizip/sub/data.zip/in.tif\n"
                            "  - type: write.cog\n"
                            "    path: zipped.tif\n",
                            &ok),
                   CF_OK);
  assert_int_equal(ok, 1);
  assert_int_equal(load_run(dir,
                            "pipeline:\n"
                            "  - type: ingest.raster\n"
                            "    path: in.tif\n"
                            "  - type: write.cog\n"
                            "    path: plain.tif\n",
                            &ok),
                   CF_OK);
  check_pixels(cf_test_path(dir, "zipped.tif"), d);
  check_pixels(cf_test_path(dir, "plain.tif"), d);
  /* provenance: the zip file itself with its SHA-256 */
  check_provenance(dir, "sub/data.zip", "zipped.tif");

  /* a member the zip does not have is refused at validation */
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.raster\n"
                             "    path: /vsizip/sub/data.zip/nope.tif\n"
                             "  - type: write.cog\n"
                             "    path: x.tif\n"),
                   CF_EINVAL);
  finish(dir);
}

static void vector_through_vsizip(void **state) {
  (void)state;
  double d[W * H];
  pixels(d);
  char *dir = with_input(d, "Float32");
  /* a square over pixels (1..2, 1..2): zonal mean is the mean of 4 pixels */
  write_square(dir, "b.geojson", 1, 500030, 3999910, 500090, 3999970);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && /usr/bin/python3 -c \"import zipfile; "
           "z=zipfile.ZipFile('b.zip','w'); z.write('b.geojson'); z.close()\" && rm b.geojson",
           dir);
  sh(cmd);
  /* pixels (1,1),(2,1),(1,2),(2,2): indices 6,7,11,12 */
  zonal_mean_is(dir, "    path: /vsizip/b.zip/b.geojson\n", 4, (d[6] + d[7] + d[11] + d[12]) / 4);
  finish(dir);
}

static void netcdf_subdataset_name(void **state) {
  (void)state;
  double d[W * H];
  pixels(d);
  char *dir = with_input(d, "Float32");
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/nc'", dir);
  sh(cmd);
  GDALAllRegister();
  GDALDatasetH src = GDALOpen(cf_test_path(dir, "in.tif"), GA_ReadOnly);
  assert_non_null(src);
  GDALDatasetH nc = GDALCreateCopy(GDALGetDriverByName("netCDF"), cf_test_path(dir, "nc/f.nc"), src, 0, NULL,
                                   NULL, NULL);
  assert_non_null(nc);
  GDALClose(nc);
  GDALClose(src);
  int ok = 0;
  assert_int_equal(load_run(dir,
                            "pipeline:\n"
                            "  - type: ingest.raster\n"
                            "    path: 'NETCDF:\"nc/f.nc\":Band1'\n"
                            "  - type: write.cog\n"
                            "    path: from_nc.tif\n",
                            &ok),
                   CF_OK);
  assert_int_equal(ok, 1);
  check_pixels(cf_test_path(dir, "from_nc.tif"), d);
  check_provenance(dir, "nc/f.nc", "from_nc.tif");
  /* a variable the file does not have: refused at validation */
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.raster\n"
                             "    path: 'NETCDF:\"nc/f.nc\":nope'\n"
                             "  - type: write.cog\n"
                             "    path: x.tif\n"),
                   CF_EINVAL);
  finish(dir);
}

/* HDF5:"f.h5"://path names a dataset inside an HDF5 file (written here
 * with libhdf5, not by GDAL). GDAL's generic HDF5 driver gives such a
 * dataset no geotransform, so the stage opens it and then rejects it for
 * exactly that, naming the field: the name reached the dataset. A dataset
 * the file does not have is refused at validation. */
static void hdf5_subdataset_name(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  hid_t f = H5Fcreate(cf_test_path(dir, "f.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(f >= 0);
  hid_t g = H5Gcreate2(f, "grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {H, W};
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t ds = H5Dcreate2(g, "ds", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  double d[W * H];
  pixels(d);
  assert_true(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d) >= 0);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Gclose(g);
  assert_true(H5Fclose(f) >= 0);
  cf_test_write_text(cf_test_path(dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: 'HDF5:\"f.h5\"://grp/ds'\n"
                     "    assign_crs: EPSG:32650\n"
                     "  - type: write.cog\n"
                     "    path: out.tif\n");
  char args[1200], log[1100];
  snprintf(log, sizeof log, "%s/log.txt", dir);
  snprintf(args, sizeof args, "run '%s/p.yaml'", dir);
  assert_int_equal(cf_test_cli(args, log), 4); /* its one input rejected */
  assert_true(cf_test_file_contains(log, "/f.h5\"://grp/ds: geotransform: raster is not georeferenced"));
  assert_int_equal(cf_test_count_entries(dir, "out.tif"), 0);
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.raster\n"
                             "    path: 'HDF5:\"f.h5\"://grp/nope'\n"
                             "  - type: write.cog\n"
                             "    path: x.tif\n"),
                   CF_EINVAL);
  finish(dir);
}

/* A stage may read a file an earlier stage wrote: the COG written by the
 * first write.cog is read back by a later ingest.raster and written again;
 * both hold the input's pixels. The file need not exist at validation.
 * Writing a file an earlier (or the same) stage reads is still refused. */
static void stage_reads_an_earlier_output(void **state) {
  (void)state;
  double d[W * H];
  pixels(d);
  char *dir = with_input(d, "Float32");
  int ok = 0;
  assert_int_equal(load_run(dir,
                            "pipeline:\n"
                            "  - type: ingest.raster\n"
                            "    path: in.tif\n"
                            "  - type: write.cog\n"
                            "    path: out/first.tif\n"
                            "  - type: ingest.raster\n"
                            "    name: again\n"
                            "    path: out/first.tif\n"
                            "  - type: write.cog\n"
                            "    name: second\n"
                            "    input: again\n"
                            "    path: out/second.tif\n",
                            &ok),
                   CF_OK);
  assert_int_equal(ok, 1);
  check_pixels(cf_test_path(dir, "out/first.tif"), d);
  check_pixels(cf_test_path(dir, "out/second.tif"), d);
  check_provenance(dir, "out/first.tif", "out/second.tif");
  /* the other way round: a later stage writing what an earlier one reads */
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.raster\n"
                             "    path: in.tif\n"
                             "  - type: ingest.raster\n"
                             "    name: old\n"
                             "    path: out/first.tif\n"
                             "  - type: write.cog\n"
                             "    input: ingest.raster\n"
                             "    path: out/first.tif\n"),
                   CF_EINVAL);
  finish(dir);
}

static void vsicurl_is_not_a_missing_file(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: /vsicurl/http://127.0.0.1:9/scene.tif\n"
      "  - type: write.cog\n"
      "    path: out.tif\n";
  /* validation does not ask the local file system about a network name */
  assert_int_equal(load_only(dir, y), CF_OK);
  /* the run asks GDAL, which cannot reach it (no network): it fails, and
   * no output is left */
  assert_int_not_equal(load_run(dir, y, NULL), CF_OK);
  assert_int_equal(cf_test_count_entries(dir, "out.tif"), 0);
  finish(dir);
}

/* A GeoJSON written without a CRS member, in UTM 50N metres (GDAL then says
 * WGS 84, which is wrong): assign_crs makes the coordinates what they are. */
static void vector_assign_crs(void **state) {
  (void)state;
  double d[W * H];
  pixels(d);
  char *dir = with_input(d, "Float32");
  write_square(dir, "b.geojson", 0, 500060, 3999940, 500150, 4000000);
  /* the library call: the assigned CRS is the layer's, coordinates untouched */
  cf_ctx *ctx = cf_test_ctx();
  cf_vector v;
  assert_int_equal(cf_vector_read_assign(ctx, cf_test_path(dir, "b.geojson"), NULL, NULL, "EPSG:32650", &v), CF_OK);
  assert_non_null(strstr(v.wkt, "UTM zone 50N"));
  assert_close(v.ext[0], 500060, 0, 0);
  assert_close(v.ext[3], 4000000, 0, 0);
  cf_vector_free(&v);
  /* without it: GeoJSON's WGS 84, which metres do not fit, said as it is read */
  assert_int_equal(cf_vector_read(ctx, cf_test_path(dir, "b.geojson"), NULL, NULL, &v), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "b.geojson"));
  assert_non_null(strstr(cf_error_message(ctx), "not longitude/latitude"));
  cf_error_clear(ctx);
  cf_ctx_destroy(ctx);
  /* columns 2..4, rows 0..1: pixels 2,3,4,7,8,9 */
  zonal_mean_is(dir, "    path: b.geojson\n    assign_crs: EPSG:32650\n", 6,
                (d[2] + d[3] + d[4] + d[7] + d[8] + d[9]) / 6);
  /* a CRS PROJ does not know is refused at validation */
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.vector\n"
                             "    path: b.geojson\n"
                             "    assign_crs: EPSG:999999\n"),
                   CF_EINVAL);
  finish(dir);
}

/* Float outputs get the floating-point predictor, integer ones the
 * horizontal one, both with the default codec (ZSTD); an explicit predictor wins. Read
 * back from the file's IMAGE_STRUCTURE metadata by GDAL. */
static void default_predictor_by_type(void **state) {
  (void)state;
  double d[W * H];
  for (int i = 0; i < W * H; i++) d[i] = 3 * i + 7;
  char *dir = with_input(d, "Float32");
  static const struct {
    const char *opts, *predictor;
  } cases[] = {
      {"", "3"},
      {"    data_type: Int16\n", "2"},
      {"    data_type: UInt16\n", "2"},
      {"    data_type: Float64\n", "3"},
      {"    predictor: NO\n", NULL},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char y[1024];
    snprintf(y, sizeof y,
             "pipeline:\n"
             "  - type: ingest.raster\n"
             "    path: in.tif\n"
             "  - type: write.cog\n"
             "    path: out.tif\n%s",
             cases[c].opts);
    int ok = 0;
    assert_int_equal(load_run(dir, y, &ok), CF_OK);
    assert_int_equal(ok, 1);
    char *comp = metadata_in(cf_test_path(dir, "out.tif"), "COMPRESSION", "IMAGE_STRUCTURE");
    char *pred = metadata_in(cf_test_path(dir, "out.tif"), "PREDICTOR", "IMAGE_STRUCTURE");
    assert_string_equal(comp, "ZSTD"); /* write.cog's default codec */
    if (cases[c].predictor) {
      assert_non_null(pred);
      assert_string_equal(pred, cases[c].predictor);
    } else {
      assert_true(!pred || strcmp(pred, "1") == 0);
    }
    free(comp);
    free(pred);
    check_pixels(cf_test_path(dir, "out.tif"), d); /* lossless whatever the predictor */
  }
  finish(dir);
}

static void expect_resolved(const char *base, const char *name, const char *want) {
  char *got = cf_gdal_name_resolve(base, name);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

/* Relative files inside GDAL names are made relative to the pipeline's
 * folder; absolute, nested and network names are left as they are. */
static void gdal_names_resolved(void **state) {
  (void)state;
  expect_resolved("/b", "/vsizip/d/a.zip/x.tif", "/vsizip//b/d/a.zip/x.tif");
  expect_resolved("/b", "/vsizip//abs/a.zip/x.tif", "/vsizip//abs/a.zip/x.tif");
  expect_resolved("/b", "/vsizip/{a.zip}/x.tif", "/vsizip/{/b/a.zip}/x.tif");
  expect_resolved("/b", "/vsizip//vsicurl/http://h/a.zip/x.tif", "/vsizip//vsicurl/http://h/a.zip/x.tif");
  expect_resolved("/b", "/vsicurl/http://h/x.tif", "/vsicurl/http://h/x.tif");
  expect_resolved("/b", "HDF5:\"f.h5\"://g/ds", "HDF5:\"/b/f.h5\"://g/ds");
  expect_resolved("/b", "NETCDF:\"/abs/f.nc\":v", "NETCDF:\"/abs/f.nc\":v");
  expect_resolved("/b", "NETCDF:f.nc:v", "NETCDF:/b/f.nc:v");
  expect_resolved(".", "/vsizip/a.zip/x.tif", "/vsizip/a.zip/x.tif"); /* --set: the working directory */
  expect_resolved("/b", "x.tif", "/b/x.tif");
  assert_true(cf_gdal_is_network("/vsicurl/http://h/x.tif"));
  assert_false(cf_gdal_is_network("/vsizip/a.zip/x.tif"));
  assert_false(cf_gdal_is_name("/data/x.tif"));
  assert_false(cf_gdal_is_name("x:y.tif")); /* a plain relative file with a colon */
  /* the plain file behind a name: the archive, not the member */
  char *dir = cf_test_tmpdir();
  cf_test_write_text(cf_test_path(dir, "a.zip"), "not read");
  char name[1200];
  snprintf(name, sizeof name, "/vsizip/%s/a.zip/sub/x.tif", dir);
  char *f = cf_gdal_name_file(name);
  assert_non_null(f);
  assert_string_equal(f, cf_test_path(dir, "a.zip"));
  free(f);
  snprintf(name, sizeof name, "HDF5:\"%s/a.zip\"://ds", dir);
  f = cf_gdal_name_file(name);
  assert_non_null(f);
  assert_string_equal(f, cf_test_path(dir, "a.zip"));
  free(f);
  assert_null(cf_gdal_name_file("/vsicurl/http://h/x.tif"));
  finish(dir);
}

/* Integer outputs with scale and offset: stored round((x - offset)/scale),
 * the bands' GetScale/GetOffset set, and reading back with them applied
 * gives x within scale/2. */
static void integer_output_with_scale_offset(void **state) {
  (void)state;
  double d[W * H];
  for (int i = 0; i < W * H; i++) d[i] = 12.3456 + 0.7311 * i - (i % 3) * 5.55;
  char *dir = with_input(d, "Float64");
  int ok = 0;
  assert_int_equal(load_run(dir,
                            "pipeline:\n"
                            "  - type: ingest.raster\n"
                            "    path: in.tif\n"
                            "  - type: write.cog\n"
                            "    path: packed.tif\n"
                            "    data_type: Int16\n"
                            "    scale: 0.01\n"
                            "    offset: 10\n",
                            &ok),
                   CF_OK);
  assert_int_equal(ok, 1);
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(cf_test_path(dir, "packed.tif"), GA_ReadOnly);
  assert_non_null(ds);
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  assert_int_equal(GDALGetRasterDataType(b), GDT_Int16);
  int has = 0;
  double scale = GDALGetRasterScale(b, &has);
  assert_true(has);
  assert_close(scale, 0.01, 0, 0);
  double offset = GDALGetRasterOffset(b, &has);
  assert_true(has);
  assert_close(offset, 10, 0, 0);
  GDALClose(ds);
  int w, h;
  double *raw = cf_test_read_band(cf_test_path(dir, "packed.tif"), 1, &w, &h, NULL, NULL, NULL);
  assert_int_equal(w * h, W * H);
  for (int i = 0; i < W * H; i++) {
    assert_close(raw[i], round((d[i] - 10) / 0.01), 0, 0);
    assert_close(raw[i] * scale + offset, d[i], 0, 0.005 + 1e-9);
  }
  free(raw);
  /* scale on a float type is refused at validation */
  assert_int_equal(load_only(dir,
                             "pipeline:\n"
                             "  - type: ingest.raster\n"
                             "    path: in.tif\n"
                             "  - type: write.cog\n"
                             "    path: x.tif\n"
                             "    scale: 0.5\n"),
                   CF_EINVAL);
  finish(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gdal_names_resolved),
      cmocka_unit_test(raster_through_vsizip_equals_unzipped),
      cmocka_unit_test(vector_through_vsizip),
      cmocka_unit_test(netcdf_subdataset_name),
      cmocka_unit_test(vsicurl_is_not_a_missing_file),
      cmocka_unit_test(hdf5_subdataset_name),
      cmocka_unit_test(stage_reads_an_earlier_output),
      cmocka_unit_test(vector_assign_crs),
      cmocka_unit_test(default_predictor_by_type),
      cmocka_unit_test(integer_output_with_scale_offset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
