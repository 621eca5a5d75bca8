/*
 * Validation that opens the inputs (pipelines/preflight.h and the output
 * directory check in pipeline.c): "a pipeline that passes --check never
 * fails at run time on its own options". Each case is a pipeline whose
 * options are each valid alone but cannot work with its files: a band the
 * raster does not have, an output whose directory cannot be made, an HDF5
 * input named through /vsizip/. Each must be refused at load (what both
 * `run --check` and a run's start do), CF_EINVAL, at the option's
 * file:line:col, naming the file and the option. Line and column numbers
 * are counted by hand from the YAML text; the band lists follow from the
 * files the tests write or name (RGB.byte.tif has three bands and no band
 * descriptions: `gdalinfo` shows none). Why a suite of its own: these
 * cases read real files (the shared data) and run the command, where
 * test_config's only parse the YAML.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cf_test.h"
#include "config_fixture.h"

#define RGB CF_SHARED_DATA "/RGB.byte.tif"
#define GEDI_ZIP CF_SHARED_DATA "/gedi/GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.zip"
#define GEDI_MEMBER "GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.h5"

/* RGB.byte.tif named red, green, blue: `nir` is none of them; a number
 * within 1..3 is a band, 4 is not. */
static void band_names_are_checked_against_the_file(void **state) {
  fixture *f = *state;
  char y[4096];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "    bands: [red, green, blue]\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "    nir: nir\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "option 'nir' of stage 'raster.index': no band 'nir'");
  expect_error_at(f, 7, 10, "(bands: 1=red, 2=green, 3=blue)");
  assert_int_equal(cf_error_count(f->ctx), 1); /* red is there */
  /* by number: band 3 exists, band 4 does not */
  char *at = strstr(y, "nir: nir");
  memcpy(at, "nir: 3  ", 8);
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  memcpy(at, "nir: 4  ", 8);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "no band '4'");
  /* without `bands`: the file's descriptions, none here */
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "    red: 1\n"
           "    nir: nir\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "(bands: 1=(unnamed), 2=(unnamed), 3=(unnamed))");
}

/* EVI uses blue, NDVI does not: blue's default ("blue") is checked for EVI
 * only. A file of bands red and nir: NDVI is valid, EVI is not. */
static void a_band_the_stage_does_not_use_is_not_checked(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[32] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "rn.tif"), 4, 4, 2, "Float32", gt, "EPSG:32650", NULL, data, 0);
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: rn.tif\n"
      "    bands: [red, nir]\n"
      "  - type: raster.index\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    path: out/i.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  char evi[1024];
  snprintf(evi, sizeof evi, "%s", y);
  memcpy(strstr(evi, "ndvi"), "evi ", 4);
  assert_int_equal(load(f, evi, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 5, "option 'blue' of stage 'raster.index': no band 'blue'"); /* the default: the stage's position */
}

/* The output's directory would be made under a regular file, or in a
 * directory nobody may write in (procfs refuses new entries under
 * /proc/sys to every user, root too). */
static void output_directories_are_checked(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "afile"), "a file where a folder should be\n");
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: afile/sub/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  char want[1500];
  snprintf(want, sizeof want, "output '%s/afile/sub/o.tif' (option 'path' of stage 'write.cog') cannot be written: "
           "'%s/afile' is not a directory", f->dir, f->dir);
  expect_error_at(f, 5, 11, want);
  y = "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: /proc/sys/carbonflux-test/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 11, "cannot write in directory '/proc/sys'");
  /* a directory still to be made under one we may write in is fine */
  y = "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: new/deeper/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  assert_int_equal(access(cf_test_path(f->dir, "new"), F_OK), -1); /* looked, made nothing */
}

/* A GEDI file inside the shared zip: GDAL sees the member, HDF5 cannot
 * open it; a plain file that is not HDF5 is refused too. */
static void hdf5_inputs_are_opened(void **state) {
  fixture *f = *state;
  char y[2048];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.gedi_l2a\n"
           "    path: /vsizip/%s/%s\n",
           GEDI_ZIP, GEDI_MEMBER);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "read by HDF5, which opens plain local files only: unzip it first");
  cf_test_write_text(cf_test_path(f->dir, "g.h5"), "not HDF5\n");
  assert_int_equal(load(f, "pipeline:\n  - type: ingest.gedi_l2a\n    path: g.h5\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "is not an HDF5 file");
}

/* The command: `run --check` exits 1 (README "Exit codes": invalid
 * pipeline, nothing run), and so does the run itself, before any work:
 * no output directory made. */
static void check_and_run_refuse_the_same(void **state) {
  fixture *f = *state;
  char y[2048], args[3000], log[1200];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  cf_test_write_text(f->yaml, y);
  snprintf(log, sizeof log, "%s/log.txt", f->dir);
  snprintf(args, sizeof args, "run '%s' --check", f->yaml);
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "no band 'nir'"));
  snprintf(args, sizeof args, "run '%s'", f->yaml);
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "no band 'nir'"));
  assert_int_equal(access(cf_test_path(f->dir, "out"), F_OK), -1);
}
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(band_names_are_checked_against_the_file, setup, teardown),
      cmocka_unit_test_setup_teardown(a_band_the_stage_does_not_use_is_not_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(output_directories_are_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(hdf5_inputs_are_opened, setup, teardown),
      cmocka_unit_test_setup_teardown(check_and_run_refuse_the_same, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
