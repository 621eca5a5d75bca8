/*
 * ingest/h5_chunk_rows: rows of a chunked dataset read past HDF5's filter
 * pipeline. Each case writes a dataset with plain HDF5 calls and known
 * values (a formula of the element's indices), so the expected rows do not
 * come from the code under test; the comparison is exact (a lossless
 * filter's inverse gives the same bytes). Pipelines the reader does not
 * know must be refused (NULL or CF_H5ROWS_UNSUPPORTED: the caller then
 * reads with H5Dread), and a corrupt stored chunk must be reported, not
 * returned as data.
 */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/h5_chunk_rows.h"

enum { NROW = 37, NA = 3, NB = 5, CH = 4 }; /* 37 rows: the last chunk holds one row */

static float value(size_t row, size_t a, size_t b) { return (float)(row * 100 + a * 10 + b) + 0.25f; }

/* A float32 dataset [NROW][NA][NB] in chunks of `chunk` (rank 3), with
 * shuffle and/or deflate or fletcher32, written whole unless rows < NROW. */
static hid_t make_dataset(hid_t f, const char *name, const hsize_t chunk[3], int shuffle, int deflate, int fletcher,
                          hsize_t rows_written) {
  hsize_t dims[3] = {NROW, NA, NB};
  hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk) {
    H5Pset_chunk(dcpl, 3, chunk);
    if (fletcher) H5Pset_fletcher32(dcpl);
    if (shuffle) H5Pset_shuffle(dcpl);
    if (deflate) H5Pset_deflate(dcpl, 4);
  }
  hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  assert_true(d >= 0);
  float *v = malloc(sizeof(float) * NROW * NA * NB);
  for (size_t r = 0; r < NROW; r++)
    for (size_t a = 0; a < NA; a++)
      for (size_t b = 0; b < NB; b++) v[(r * NA + a) * NB + b] = value(r, a, b);
  hsize_t start[3] = {0, 0, 0}, cnt[3] = {rows_written, NA, NB};
  hid_t fs = H5Dget_space(d), ms = H5Screate_simple(3, cnt, NULL);
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
  assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, v) >= 0);
  free(v);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Pclose(dcpl);
  H5Sclose(sp);
  return d;
}

static void check_rows(cf_h5_rows *r, size_t first, size_t count) {
  float *got = calloc(count * NA * NB, sizeof *got);
  assert_int_equal(cf_h5_rows_read(r, first, count, got), CF_H5ROWS_OK);
  for (size_t i = 0; i < count; i++)
    for (size_t a = 0; a < NA; a++)
      for (size_t b = 0; b < NB; b++) assert_true(got[(i * NA + a) * NB + b] == value(first + i, a, b));
  free(got);
}

static void shuffled_and_deflated_rows_are_the_written_values(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  hid_t f = H5Fcreate(cf_test_path(dir, "a.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t chunk[3] = {CH, NA, NB};
  for (int shuffle = 0; shuffle < 2; shuffle++) {
    hid_t d = make_dataset(f, shuffle ? "s" : "d", chunk, shuffle, 1, 0, NROW);
    cf_h5_rows *r = cf_h5_rows_open(d, H5T_NATIVE_FLOAT);
    assert_non_null(r);
    check_rows(r, 0, NROW);  /* everything, the partial last chunk included */
    check_rows(r, 3, 6);     /* across a chunk boundary, starting mid-chunk */
    check_rows(r, 9, 2);     /* inside the chunk the previous read ended in (the kept chunk) */
    check_rows(r, 36, 1);    /* the last row alone */
    check_rows(r, 0, 1);     /* back to the start */
    cf_h5_rows_close(r);
    H5Dclose(d);
  }
  H5Fclose(f);
  cf_test_rmtree(dir);
  free(dir);
}

static void unknown_pipelines_and_layouts_are_refused(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  hid_t f = H5Fcreate(cf_test_path(dir, "b.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t chunk[3] = {CH, NA, NB}, part[3] = {CH, 1, NB};
  hid_t contiguous = make_dataset(f, "contiguous", NULL, 0, 0, 0, NROW);
  hid_t plain = make_dataset(f, "plain", chunk, 0, 0, 0, NROW);          /* chunked, no filter */
  hid_t fletcher = make_dataset(f, "fletcher", chunk, 1, 1, 1, NROW);    /* a third filter */
  hid_t split = make_dataset(f, "split", part, 1, 1, 0, NROW);           /* chunks not whole rows */
  hid_t good = make_dataset(f, "good", chunk, 1, 1, 0, NROW);
  assert_null(cf_h5_rows_open(contiguous, H5T_NATIVE_FLOAT));
  assert_null(cf_h5_rows_open(plain, H5T_NATIVE_FLOAT));
  assert_null(cf_h5_rows_open(fletcher, H5T_NATIVE_FLOAT));
  assert_null(cf_h5_rows_open(split, H5T_NATIVE_FLOAT));
  assert_null(cf_h5_rows_open(good, H5T_NATIVE_DOUBLE)); /* a conversion is HDF5's job */
  hid_t ds[5] = {contiguous, plain, fletcher, split, good};
  for (int i = 0; i < 5; i++) H5Dclose(ds[i]);
  H5Fclose(f);
  cf_test_rmtree(dir);
  free(dir);
}

static void unwritten_and_corrupt_chunks_are_not_data(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  hid_t f = H5Fcreate(cf_test_path(dir, "c.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t chunk[3] = {CH, NA, NB};
  hid_t d = make_dataset(f, "partial", chunk, 1, 1, 0, 8); /* chunks 0 and 1 written, the rest never */
  cf_h5_rows *r = cf_h5_rows_open(d, H5T_NATIVE_FLOAT);
  assert_non_null(r);
  check_rows(r, 0, 8);
  float buf[NROW * NA * NB];
  assert_int_equal(cf_h5_rows_read(r, 6, 4, buf), CF_H5ROWS_UNSUPPORTED); /* row 8 is in an unwritten chunk */
  /* chunk 1 overwritten by bytes that are no zlib stream */
  unsigned char junk[64];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
  hsize_t off[3] = {CH, 0, 0};
  assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, sizeof junk, junk) >= 0);
  cf_h5_rows_close(r);
  r = cf_h5_rows_open(d, H5T_NATIVE_FLOAT);
  assert_int_equal(cf_h5_rows_read(r, 4, 2, buf), CF_H5ROWS_FAILED);
  check_rows(r, 0, 4); /* the intact chunk still reads */
  cf_h5_rows_close(r);
  H5Dclose(d);
  H5Fclose(f);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shuffled_and_deflated_rows_are_the_written_values),
      cmocka_unit_test(unknown_pipelines_and_layouts_are_refused),
      cmocka_unit_test(unwritten_and_corrupt_chunks_are_not_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
