/*
 * The L0 reader against ../shared/spec/lidar-l0.md, section Validity.
 *
 * Each test writes a valid file with the L0 writer, then breaks exactly one
 * thing with plain HDF5 calls (so the breakage does not depend on our own
 * writer), and checks that the reader rejects it with a message naming the
 * file, the field and the reason; or, for the cases the spec says are not
 * fatal (pulse count 0, non-finite spectra), that the ray is flagged.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/lidar_l0.h"
#include "lidar/l0_write.h"

enum { NR = 3, NG = 4, FFT = 16, GS = 8, NS = 64 };

static cf_l0_config base_config(cf_l0_level level) {
  cf_l0_config c = {0};
  c.level = level;
  snprintf(c.instrument_id, sizeof c.instrument_id, "test-cdal");
  c.site_lat = 31.0;
  c.site_lon = 117.0;
  c.site_alt = 30.0;
  c.wavelength[CF_ON] = 1572.3351e-9;
  c.wavelength[CF_OFF] = 1572.1788e-9;
  c.sample_rate = 5e8;
  c.aom_frequency = 8e7;
  c.pulse_repetition = 1e4;
  c.pulse_width = 2e-7;
  c.range_offset = 0;
  c.gate_first = 8;
  c.gate_samples = GS;
  c.gate_step = GS;
  c.n_gates = NG;
  c.fft_size = FFT;
  c.window = CF_WINDOW_HANN;
  return c;
}

/* A valid file of either level. */
static void write_valid(const char *path, cf_l0_level level) {
  cf_ctx *ctx = cf_test_ctx();
  cf_l0_config c = base_config(level);
  cf_l0_sizes sz = {NR, 2, {6, 6}, NS, {2, 2}};
  cf_l0_writer *w;
  assert_int_equal(cf_l0_writer_create(ctx, path, &c, &sz, &w), CF_OK);
  double t[NR] = {1.7e9, 1.7e9 + 1, 1.7e9 + 2}, mt[2] = {1.7e9, 1.7e9 + 60};
  float az[NR] = {0, 90, 180}, el[NR] = {75, 75, 75}, e[NR] = {1e-4f, 1e-4f, 1e-4f};
  int32_t scan[NR] = {0, 0, 0}, pulses[NR] = {2, 2, 2};
  float p[2] = {101325, 101300}, T[2] = {288, 288.5}, rh[2] = {0.5f, 0.5f};
  assert_int_equal(cf_l0_writer_rays(ctx, w, t, az, el, scan, pulses, pulses, e, e), CF_OK);
  assert_int_equal(cf_l0_writer_meteo(ctx, w, mt, p, T, rh), CF_OK);
  if (level == CF_L0_SPECTRA) {
    float spec[NR * NG * (FFT / 2 + 1)], bg[NG * (FFT / 2 + 1)];
    for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) spec[i] = 1.0f + (float)(i % 5);
    for (size_t i = 0; i < sizeof bg / sizeof *bg; i++) bg[i] = 1.0f;
    for (int k = 0; k < 2; k++) {
      assert_int_equal(cf_l0_writer_spectra(ctx, w, k, 0, NR, spec), CF_OK);
      assert_int_equal(cf_l0_writer_background(ctx, w, k, bg, 100), CF_OK);
    }
  } else {
    int16_t raw[6 * NS], bgr[2 * NS];
    int32_t ray[6] = {0, 0, 1, 1, 2, 2};
    for (int i = 0; i < 6 * NS; i++) raw[i] = (int16_t)(i % 17 - 8);
    for (int i = 0; i < 2 * NS; i++) bgr[i] = (int16_t)(i % 3 - 1);
    for (int k = 0; k < 2; k++) {
      assert_int_equal(cf_l0_writer_raw(ctx, w, k, 0, 6, raw, ray), CF_OK);
      assert_int_equal(cf_l0_writer_raw_background(ctx, w, k, 0, 2, bgr), CF_OK);
    }
  }
  assert_int_equal(cf_l0_writer_finish(ctx, w), CF_OK);
  cf_ctx_destroy(ctx);
}

/* --- mutations with plain HDF5 ---------------------------------------------- */

static hid_t open_rw(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(f >= 0);
  return f;
}

/* Replace root attribute `name` by a scalar of file type `ft` holding *v. */
static void set_attr(const char *path, const char *name, hid_t ft, hid_t mt, const void *v) {
  hid_t f = open_rw(path);
  H5Adelete(f, name);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, ft, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, mt, v);
  H5Aclose(a);
  H5Sclose(s);
  H5Fclose(f);
}

static void set_attr_f64(const char *path, const char *name, double v) {
  set_attr(path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static void set_attr_i32(const char *path, const char *name, int v) {
  set_attr(path, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v);
}

static void delete_attr(const char *path, const char *name) {
  hid_t f = open_rw(path);
  assert_true(H5Adelete(f, name) >= 0);
  H5Fclose(f);
}

/* Replace dataset `name` by one of type `type`, rank and dims given, zeros. */
static void replace_dset(const char *path, const char *name, hid_t type, int rank, const hsize_t *dims) {
  hid_t f = open_rw(path);
  H5Ldelete(f, name, H5P_DEFAULT);
  hid_t s = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[3] = {1, 1, 1};
  H5Pset_chunk(dcpl, rank, chunk); /* chunked: a huge shape costs no disk */
  hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  assert_true(d >= 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(s);
  H5Fclose(f);
}

static void delete_dset(const char *path, const char *name) {
  hid_t f = open_rw(path);
  assert_true(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
  H5Fclose(f);
}

/* --- fixture ---------------------------------------------------------------- */

typedef struct {
  char *dir;
  char path[1100];
  cf_ctx *ctx;
} fixture;

static int setup_level(void **state, cf_l0_level level) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = cf_test_tmpdir();
  snprintf(f->path, sizeof f->path, "%s/l0.h5", f->dir);
  write_valid(f->path, level);
  f->ctx = cf_test_ctx();
  *state = f;
  return 0;
}
static int setup_spectra(void **state) { return setup_level(state, CF_L0_SPECTRA); }
static int setup_raw(void **state) { return setup_level(state, CF_L0_RAW); }

static int teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  cf_ctx_destroy(f->ctx);
  free(f);
  return 0;
}

/* Open must fail with `code`, the frame naming our file, `field`, and `reason`. */
static void expect_reject(fixture *f, int64_t max_bytes, int code, const char *field, const char *reason) {
  cf_l0 *l0 = NULL;
  cf_error_clear(f->ctx);
  int rc = cf_l0_open(f->ctx, f->path, max_bytes, &l0);
  if (rc != code) print_error("expected %s, got %s: %s\n", cf_strerror(code), cf_strerror(rc), cf_error_message(f->ctx));
  assert_int_equal(rc, code);
  assert_null(l0);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  assert_non_null(e);
  if (strcmp(e->where, f->path) || strcmp(e->field, field) || !strstr(e->reason, reason)) {
    print_error("got '%s' / '%s' / '%s'\n", e->where, e->field, e->reason);
    fail();
  }
}

static void valid_files_open(void **state) {
  fixture *f = *state;
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(f->ctx, f->path, 0, &l0), CF_OK);
  assert_int_equal(l0->n_rays, NR);
  assert_int_equal(l0->cfg.n_gates, NG);
  assert_int_equal(l0->background_pulses[CF_OFF], 100);
  /* gate 0 centre: (8 + 0 + 8/2) samples * c / (2 * 5e8) = 12 * 0.299792458 m */
  assert_close(cf_l0_gate_range(&l0->cfg, 0), 12 * 0.299792458, 1e-15, 0);
  float buf[NR * NG * (FFT / 2 + 1)];
  assert_int_equal(cf_l0_read_spectra(f->ctx, l0, CF_ON, 0, NR, buf), CF_OK);
  assert_close(buf[7], 1.0 + 7 % 5, 0, 0);
  assert_int_equal(cf_l0_read_spectra(f->ctx, l0, CF_ON, 2, 2, buf), CF_EINVAL); /* past the end */
  cf_l0_close(l0);
}

static void raw_file_opens(void **state) {
  fixture *f = *state;
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(f->ctx, f->path, 0, &l0), CF_OK);
  assert_int_equal(l0->n_pulses[CF_ON], 6);
  assert_int_equal(l0->n_samples, NS);
  int16_t buf[2 * NS];
  assert_int_equal(cf_l0_read_raw(f->ctx, l0, CF_OFF, 4, 2, buf), CF_OK);
  assert_int_equal(buf[0], (4 * NS) % 17 - 8);
  cf_l0_close(l0);
}

static void missing_fields(void **state) {
  fixture *f = *state;
  delete_attr(f->path, "sample_rate_hz");
  expect_reject(f, 0, CF_EDATA, "sample_rate_hz", "required root attribute is missing");
  write_valid(f->path, CF_L0_SPECTRA);
  delete_dset(f->path, "rays/azimuth_deg");
  expect_reject(f, 0, CF_EDATA, "rays/azimuth_deg", "required dataset is missing");
  write_valid(f->path, CF_L0_SPECTRA);
  delete_dset(f->path, "meteo");
  expect_reject(f, 0, CF_EDATA, "meteo/time", "required dataset is missing");
}

static void wrong_type_or_rank(void **state) {
  fixture *f = *state;
  set_attr_f64(f->path, "n_gates", 4.0);
  expect_reject(f, 0, CF_EDATA, "n_gates", "wrong type: expected an integer");
  write_valid(f->path, CF_L0_SPECTRA);
  set_attr_i32(f->path, "sample_rate_hz", 500000000);
  expect_reject(f, 0, CF_EDATA, "sample_rate_hz", "wrong type: expected a floating-point number");
  write_valid(f->path, CF_L0_SPECTRA);
  hsize_t d1[1] = {NR};
  replace_dset(f->path, "rays/scan_id", H5T_IEEE_F32LE, 1, d1);
  expect_reject(f, 0, CF_EDATA, "rays/scan_id", "wrong type: expected integer");
  write_valid(f->path, CF_L0_SPECTRA);
  hsize_t d2[2] = {NR, NG * (FFT / 2 + 1)};
  replace_dset(f->path, "spectra/on", H5T_IEEE_F32LE, 2, d2);
  expect_reject(f, 0, CF_EDATA, "spectra/on", "wrong rank: expected 3 dimensions, found 2");
}

static void inconsistent_lengths(void **state) {
  fixture *f = *state;
  hsize_t d1[1] = {NR - 1};
  replace_dset(f->path, "rays/pulses_on", H5T_STD_I32LE, 1, d1);
  expect_reject(f, 0, CF_EDATA, "rays/pulses_on", "has 2 values, expected 3 (inconsistent lengths)");
  write_valid(f->path, CF_L0_SPECTRA);
  hsize_t d3[3] = {NR, NG, FFT / 2}; /* one bin short */
  replace_dset(f->path, "spectra/off", H5T_IEEE_F32LE, 3, d3);
  expect_reject(f, 0, CF_EDATA, "spectra/off", "does not match [n_rays=3][n_gates=4][fft_size/2+1=9]");
}

static void gates_past_the_samples(void **state) {
  fixture *f = *state;
  /* 8 + 9*8 + 8 = 88 samples needed, the records have 64 */
  set_attr_i32(f->path, "n_gates", 10);
  expect_reject(f, 0, CF_EDATA, "n_gates", "gates run past the end of a pulse record: they need 88 samples");
}

static void fft_smaller_than_gate(void **state) {
  fixture *f = *state;
  set_attr_i32(f->path, "fft_size", GS - 1);
  expect_reject(f, 0, CF_EDATA, "fft_size", "7 is smaller than gate_samples (8)");
}

static void non_positive_rates_and_wavelengths(void **state) {
  fixture *f = *state;
  set_attr_f64(f->path, "sample_rate_hz", 0.0);
  expect_reject(f, 0, CF_EDATA, "sample_rate_hz", "must be > 0, got 0");
  write_valid(f->path, CF_L0_SPECTRA);
  set_attr_f64(f->path, "wavelength_off_m", -1.5e-6);
  expect_reject(f, 0, CF_EDATA, "wavelength_off_m", "must be > 0");
  write_valid(f->path, CF_L0_SPECTRA);
  set_attr_f64(f->path, "pulse_repetition_hz", -10);
  expect_reject(f, 0, CF_EDATA, "pulse_repetition_hz", "must be > 0");
}

static void nan_or_inf_in_attributes(void **state) {
  fixture *f = *state;
  set_attr_f64(f->path, "pulse_width_s", NAN);
  expect_reject(f, 0, CF_EDATA, "pulse_width_s", "value is not finite");
  write_valid(f->path, CF_L0_SPECTRA);
  set_attr_f64(f->path, "range_offset_m", INFINITY);
  expect_reject(f, 0, CF_EDATA, "range_offset_m", "value is not finite");
}

static void sizes_that_do_not_fit(void **state) {
  fixture *f = *state;
  /* a raw record of 2^40 samples: declared, chunked, never written */
  hsize_t d[2] = {6, (hsize_t)1 << 40};
  replace_dset(f->path, "raw/on", H5T_STD_I16LE, 2, d);
  replace_dset(f->path, "raw/off", H5T_STD_I16LE, 2, d);
  expect_reject(f, 0, CF_EDATA, "raw/on", "samples per pulse would not fit in memory");
}

static void spectra_sizes_that_do_not_fit(void **state) {
  fixture *f = *state;
  /* the caller's memory bound: 2 x 4 gates x 9 bins x 4 bytes = 288 bytes > 200 */
  expect_reject(f, 200, CF_EDATA, "n_gates", "would not fit in memory");
}

static void zero_pulses_and_nan_spectra_are_flagged_not_fatal(void **state) {
  fixture *f = *state;
  hid_t fh = open_rw(f->path);
  hid_t d = H5Dopen2(fh, "rays/pulses_off", H5P_DEFAULT);
  int32_t p[NR] = {2, 0, 2};
  H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, p);
  H5Dclose(d);
  d = H5Dopen2(fh, "spectra/on", H5P_DEFAULT);
  float s[NR * NG * (FFT / 2 + 1)];
  for (size_t i = 0; i < sizeof s / sizeof *s; i++) s[i] = 1;
  s[2 * NG * (FFT / 2 + 1) + 5] = NAN; /* ray 2 */
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
  H5Dclose(d);
  H5Fclose(fh);
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(f->ctx, f->path, 0, &l0), CF_OK);
  assert_int_equal(l0->ray_ok[0], 1);
  assert_int_equal(l0->ray_ok[1], 0);
  float buf[NG * (FFT / 2 + 1)];
  assert_int_equal(cf_l0_read_spectra(f->ctx, l0, CF_ON, 0, 1, buf), CF_OK);
  assert_true(cf_l0_spectra_finite(buf, NG * (FFT / 2 + 1)));
  assert_int_equal(cf_l0_read_spectra(f->ctx, l0, CF_ON, 2, 1, buf), CF_OK);
  assert_false(cf_l0_spectra_finite(buf, NG * (FFT / 2 + 1)));
  cf_l0_close(l0);
}

/* Spec, Validity: the rays of a scan are contiguous. scan_id 7, 3, 7 has
 * scan 7 in two runs, starting at rays 0 and 2; 7, 7, 3 and 3, 7, 7 are
 * contiguous and open. */
static void write_scan_ids(const char *path, int32_t a, int32_t b, int32_t c) {
  hid_t fh = open_rw(path);
  hid_t d = H5Dopen2(fh, "rays/scan_id", H5P_DEFAULT);
  int32_t id[NR] = {a, b, c};
  assert_true(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, id) >= 0);
  H5Dclose(d);
  H5Fclose(fh);
}

static void a_scan_in_two_runs(void **state) {
  fixture *f = *state;
  write_scan_ids(f->path, 7, 3, 7);
  expect_reject(f, 0, CF_EDATA, "rays/scan_id", "scan 7 is not contiguous (rays 0 and 2)");
  cf_l0 *l0;
  write_scan_ids(f->path, 7, 7, 3);
  assert_int_equal(cf_l0_open(f->ctx, f->path, 0, &l0), CF_OK);
  cf_l0_close(l0);
  write_scan_ids(f->path, 3, 7, 7);
  assert_int_equal(cf_l0_open(f->ctx, f->path, 0, &l0), CF_OK);
  cf_l0_close(l0);
}

static void not_hdf5_and_missing_file(void **state) {
  fixture *f = *state;
  cf_test_write_text(f->path, "plain text");
  expect_reject(f, 0, CF_EDATA, "", "not an HDF5 file");
  snprintf(f->path, sizeof f->path, "%s/none.h5", f->dir);
  expect_reject(f, 0, CF_ENOENT, "", "cannot open");
}

static void wrong_format_and_level(void **state) {
  fixture *f = *state;
  hid_t fh = open_rw(f->path);
  H5Adelete(fh, "level");
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, 8);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(fh, "level", t, s, H5P_DEFAULT, H5P_DEFAULT);
  const char level[8] = "L1b"; /* the type is 8 bytes: HDF5 reads all 8 */
  H5Awrite(a, t, level);
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  H5Fclose(fh);
  expect_reject(f, 0, CF_EDATA, "level", "is 'L1b', expected 'spectra' or 'raw'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(valid_files_open, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(raw_file_opens, setup_raw, teardown),
      cmocka_unit_test_setup_teardown(missing_fields, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(wrong_type_or_rank, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(inconsistent_lengths, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(gates_past_the_samples, setup_raw, teardown),
      cmocka_unit_test_setup_teardown(fft_smaller_than_gate, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(non_positive_rates_and_wavelengths, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(nan_or_inf_in_attributes, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(sizes_that_do_not_fit, setup_raw, teardown),
      cmocka_unit_test_setup_teardown(spectra_sizes_that_do_not_fit, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(zero_pulses_and_nan_spectra_are_flagged_not_fatal, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(a_scan_in_two_runs, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(not_hdf5_and_missing_file, setup_spectra, teardown),
      cmocka_unit_test_setup_teardown(wrong_format_and_level, setup_spectra, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
