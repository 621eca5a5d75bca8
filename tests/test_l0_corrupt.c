/*
 * An L0 file whose stored data is corrupt is a rejected input (CF_EDATA,
 * exit 4, quarantined by a batch), not a processing failure; a read the
 * system fails stays CF_EIO (exit 2, retried). ingest/h5_read_error.h.
 *
 * The corruption is deterministic: a stored chunk is fetched as it is on
 * disk (H5Dread_chunk), bytes at fixed offsets in its middle are inverted,
 * and it is written back as it is (H5Dwrite_chunk, filter mask 0), so the
 * file's structure stays sound and only the chunk's content is wrong. A
 * deflate stream with inverted bytes cannot inflate to the right length
 * with the right Adler-32 (zlib checks it at the end of the stream), and a
 * chunk under a Fletcher32 filter no longer matches its stored checksum:
 * which of the two HDF5 says is known before the test runs.
 *
 * Both readers: level spectra written by our L0 writer (shuffle + deflate)
 * is read past HDF5's filters (ingest/h5_chunk_rows.c), which on a corrupt
 * chunk hands the block to H5Dread; the same dataset rewritten with a
 * Fletcher32 filter, and level raw, are read by H5Dread alone. And a file
 * h5py wrote (not our writer), damaged at the chunk offset HDF5 gives
 * h5py, classified the same.
 */
#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/h5_chunk_rows.h"
#include "ingest/h5_read_error.h"
#include "ingest/lidar_l0.h"

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = cf_test_tmpdir();
  return 0;
}
static int teardown(void **state) {
  (void)state;
  cf_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

/* simulate a small file of `level` into dir/name (the path: a static buffer) */
static const char *simulate(const char *name, const char *level) {
  static char path[1200];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  char args[3000];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s' --truth '%s.truth.nc' level=%s scans=1 rays_per_scan=6 gates=10",
           path, path, level);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  return path;
}

/* Rewrite spectra/`name` with the same values in chunks of one ray under
 * Fletcher32, shuffle and deflate: a pipeline the direct reader does not
 * take (it knows shuffle and deflate only), so H5Dread reads it. */
static void rewrite_with_fletcher32(const char *path, const char *name) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3];
  assert_int_equal(H5Sget_simple_extent_dims(sp, dims, NULL), 3);
  float *v = malloc(sizeof(float) * dims[0] * dims[1] * dims[2]);
  assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  H5Dclose(d); /* spectra/on has no attributes to carry over */
  H5Ldelete(f, name, H5P_DEFAULT);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[3] = {1, dims[1], dims[2]};
  H5Pset_chunk(dcpl, 3, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 4);
  H5Pset_fletcher32(dcpl); /* last, as h5py puts it: checked first on reading, over the stored bytes */
  d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  assert_true(d >= 0);
  assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  free(v);
  H5Pclose(dcpl);
  H5Dclose(d);
  H5Sclose(sp);
  H5Fclose(f);
}

/* The first frame of the chain: CF_EDATA on `path`, field `field`, reason
 * containing each of the NULL-ended strings. */
static void expect_frame(cf_ctx *ctx, int code, const char *path, const char *field, ...) {
  const cf_error_frame *e = cf_error_get(ctx, 0);
  assert_non_null(e);
  if (e->code != code || strcmp(e->where, path) || strcmp(e->field, field)) {
    print_error("got %s '%s' / '%s' / '%s'\n", cf_strerror(e->code), e->where, e->field, e->reason);
    fail();
  }
  va_list ap;
  va_start(ap, field);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (!strstr(e->reason, s)) {
      print_error("'%s' does not contain '%s'\n", e->reason, s);
      fail();
    }
  va_end(ap);
}

/* 6 rays of 10 gates x 257 bins: one chunk of all 6 rays (our writer's
 * chunks are ~1 MiB, 6 x 10 x 257 x 4 bytes = 61,680). The direct reader
 * takes the dataset, finds the chunk corrupt, and H5Dread says why. */
static void corrupt_spectra_chunk_direct_reader(void **state) {
  (void)state;
  const char *path = simulate("spectra.h5", "spectra");
  cf_test_corrupt_h5_chunk(path, "spectra/on", 0);
  cf_ctx *ctx = cf_test_ctx();
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(ctx, path, 0, &l0), CF_OK); /* open reads no spectra */
  /* the direct reader applies to this dataset, and fails on its chunk */
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "spectra/on", H5P_DEFAULT);
  cf_h5_rows *rows = cf_h5_rows_open(d, H5T_NATIVE_FLOAT);
  assert_non_null(rows);
  size_t n = (size_t)l0->n_rays * (size_t)l0->cfg.n_gates * (size_t)cf_l0_nbins(&l0->cfg);
  float *buf = malloc(n * sizeof *buf);
  assert_int_equal(cf_h5_rows_read(rows, 0, (size_t)l0->n_rays, buf), CF_H5ROWS_FAILED);
  cf_h5_rows_close(rows);
  H5Dclose(d);
  H5Fclose(f);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 0, l0->n_rays, buf), CF_EDATA);
  expect_frame(ctx, CF_EDATA, path, "spectra/on", "records 0..5", "the chunk at records 0..5", "deflate data error",
               (char *)NULL);
  /* the other wavelength is intact */
  cf_error_clear(ctx);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_OFF, 0, l0->n_rays, buf), CF_OK);
  free(buf);
  cf_l0_close(l0);
  cf_ctx_destroy(ctx);
}

/* Chunks of one ray under Fletcher32: ray 3's chunk corrupt. A block of
 * rays 1..4 names the chunk (3..3) and the checksum. */
static void corrupt_chunk_under_fletcher32_h5dread(void **state) {
  (void)state;
  const char *path = simulate("f32.h5", "spectra");
  rewrite_with_fletcher32(path, "spectra/on");
  cf_test_corrupt_h5_chunk(path, "spectra/on", 3);
  cf_ctx *ctx = cf_test_ctx();
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(ctx, path, 0, &l0), CF_OK);
  size_t n = (size_t)l0->n_rays * (size_t)l0->cfg.n_gates * (size_t)cf_l0_nbins(&l0->cfg);
  float *buf = malloc(n * sizeof *buf);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 0, 3, buf), CF_OK); /* rays 0..2 are intact */
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 1, 4, buf), CF_EDATA);
  expect_frame(ctx, CF_EDATA, path, "spectra/on", "records 1..4", "the chunk at records 3..3",
               "Fletcher32 checksum mismatch", (char *)NULL);
  free(buf);
  cf_l0_close(l0);
  cf_ctx_destroy(ctx);
}

/* Level raw is read by H5Dread only: a deflate error in raw/on. */
static void corrupt_raw_chunk_h5dread(void **state) {
  (void)state;
  const char *path = simulate("raw.h5", "raw");
  cf_test_corrupt_h5_chunk(path, "raw/on", 0);
  cf_ctx *ctx = cf_test_ctx();
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(ctx, path, 0, &l0), CF_OK);
  int16_t *buf = malloc((size_t)l0->n_pulses[CF_ON] * (size_t)l0->n_samples * sizeof *buf);
  assert_int_equal(cf_l0_read_raw(ctx, l0, CF_ON, 0, l0->n_pulses[CF_ON], buf), CF_EDATA);
  expect_frame(ctx, CF_EDATA, path, "raw/on", "deflate data error", "the chunk at records 0..", (char *)NULL);
  free(buf);
  cf_l0_close(l0);
  cf_ctx_destroy(ctx);
}

/* The command: exit 4 (README "Exit codes": lidar process of a corrupt
 * file), the message naming the file, the dataset and the reason, and no
 * output left. */
static void lidar_process_of_a_corrupt_file_exits_4(void **state) {
  (void)state;
  const char *path = simulate("cmd.h5", "spectra");
  cf_test_corrupt_h5_chunk(path, "spectra/off", 0);
  char out[1200], args[3000];
  snprintf(out, sizeof out, "%s/cmd.nc", g_dir);
  snprintf(args, sizeof args, "lidar process '%s' -o '%s'", path, out);
  char log[1200];
  snprintf(log, sizeof log, "%s/cmd.log", g_dir);
  assert_int_equal(cf_test_cli(args, log), 4);
  assert_true(cf_test_file_contains(log, "cmd.h5: spectra/off: records 0.."));
  assert_true(cf_test_file_contains(log, "deflate data error"));
  assert_int_equal(cf_test_count_entries(g_dir, "cmd.nc"), 0);
}

/* The same on a file other software wrote: our simulation rewritten from
 * scratch by h5py (tests/l0_rewrite_h5py.py, Debian's python3-h5py, per
 * ../shared/spec/lidar-l0.md) in chunks of 2 whole rays under gzip and
 * shuffle (the layout the direct reader takes), then the stored chunk of
 * spectra/on holding rays 2..3 damaged in place at the offset HDF5's chunk
 * index gives h5py (dataset.id.get_chunk_info_by_coord): 64 bytes in its
 * middle inverted. Known before the test runs: rays 0..1 and 4..5 read
 * intact, a block over rays 2..3 is CF_EDATA naming the file, the dataset,
 * the chunk and zlib's reason, and `lidar process` exits 4 with nothing
 * left. */
static void corrupt_chunk_of_an_h5py_file(void **state) {
  (void)state;
  const char *ours = simulate("ours.h5", "spectra");
  char path[1200], cmd[4000], log[1200];
  snprintf(path, sizeof path, "%s/h5py.h5", g_dir);
  snprintf(log, sizeof log, "%s/h5py.log", g_dir);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/l0_rewrite_h5py.py' '%s' '%s' --chunked --row-chunks 2 "
           "--corrupt-chunk spectra/on:2 > '%s' 2>&1", CF_SOURCE_DIR, ours, path, log);
  if (system(cmd) != 0) fail_msg("the h5py rewrite failed (needs Debian's python3-h5py): %s\n%s", cmd, cf_test_slurp(log));
  cf_ctx *ctx = cf_test_ctx();
  cf_l0 *l0;
  assert_int_equal(cf_l0_open(ctx, path, 0, &l0), CF_OK);
  assert_int_equal(l0->n_rays, 6);
  size_t n = (size_t)l0->n_rays * (size_t)l0->cfg.n_gates * (size_t)cf_l0_nbins(&l0->cfg);
  float *buf = malloc(n * sizeof *buf);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 0, 2, buf), CF_OK);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 4, 2, buf), CF_OK);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_ON, 0, l0->n_rays, buf), CF_EDATA);
  expect_frame(ctx, CF_EDATA, path, "spectra/on", "records 0..5", "the chunk at records 2..3", "deflate data error",
               (char *)NULL);
  cf_error_clear(ctx);
  assert_int_equal(cf_l0_read_spectra(ctx, l0, CF_OFF, 0, l0->n_rays, buf), CF_OK); /* the other wavelength */
  free(buf);
  cf_l0_close(l0);
  cf_ctx_destroy(ctx);

  char out[1200], args[3000], needle[1400];
  snprintf(out, sizeof out, "%s/h5py.nc", g_dir);
  snprintf(args, sizeof args, "lidar process '%s' -o '%s'", path, out);
  assert_int_equal(cf_test_cli(args, log), 4);
  snprintf(needle, sizeof needle, "%s: spectra/on: records ", path);
  if (!cf_test_file_contains(log, needle)) fail_msg("no '%s' in:\n%s", needle, cf_test_slurp(log));
  assert_true(cf_test_file_contains(log, "deflate data error"));
  assert_int_equal(cf_test_count_entries(g_dir, "h5py.nc"), 0);
}

/* The classifier on the stack HDF5's sec2 driver leaves for a read the
 * system failed (H5FD_sec2_read's own wording, errno 5 = EIO), pushed by
 * hand: no filesystem here fails on demand. It must stay a processing
 * failure (CF_EIO, exit 2: retried, not quarantined). */
static void a_system_read_error_stays_eio(void **state) {
  (void)state;
  H5E_auto2_t fn;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &fn, &data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  H5Eclear2(H5E_DEFAULT);
  H5Epush2(H5E_DEFAULT, "H5FDsec2.c", "H5FD_sec2_read", 700, H5E_ERR_CLS, H5E_IO, H5E_READERROR,
           "file read failed: time = Mon Nov 30 22:00:00 2026, filename = 'x.h5', file descriptor = 3, errno = 5, "
           "error message = 'Input/output error', buf = 0x1, total read size = 4096, bytes this sub-read = 4096, "
           "bytes actually read = 18446744073709551615, offset = 0");
  H5Epush2(H5E_DEFAULT, "H5Dio.c", "H5Dread", 180, H5E_ERR_CLS, H5E_DATASET, H5E_READERROR, "can't read data");
  char why[256];
  assert_int_equal(cf_h5_read_failure(why, sizeof why), CF_EIO);
  assert_non_null(strstr(why, "Input/output error"));
  /* and a filter frame without an errno is the content's */
  H5Eclear2(H5E_DEFAULT);
  H5Epush2(H5E_DEFAULT, "H5Zdeflate.c", "H5Z__filter_deflate", 130, H5E_ERR_CLS, H5E_PLINE, H5E_CANTINIT,
           "inflate() failed");
  assert_int_equal(cf_h5_read_failure(why, sizeof why), CF_EDATA);
  assert_non_null(strstr(why, "deflate data error"));
  H5Eclear2(H5E_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, fn, data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(corrupt_spectra_chunk_direct_reader),
      cmocka_unit_test(corrupt_chunk_under_fletcher32_h5dread),
      cmocka_unit_test(corrupt_raw_chunk_h5dread),
      cmocka_unit_test(lidar_process_of_a_corrupt_file_exits_4),
      cmocka_unit_test(corrupt_chunk_of_an_h5py_file),
      cmocka_unit_test(a_system_read_error_stays_eio),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
