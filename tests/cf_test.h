/*
 * Shared helpers for the cmocka suites.
 *
 * cmocka 1.1.5 has no assert_double_equal and its assert_float_equal casts
 * to float, so assert_close compares doubles with a relative and an
 * absolute tolerance: |a - b| <= atol + rtol * |b|. Every use states why its
 * tolerance is what it is.
 */
#ifndef CF_TEST_H
#define CF_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "carbonflux/ctx.h"

void cf_assert_close_impl(double a, double b, double rtol, double atol, const char *ea,
                          const char *eb, const char *file, int line);
#define assert_close(a, b, rtol, atol) \
  cf_assert_close_impl((a), (b), (rtol), (atol), #a, #b, __FILE__, __LINE__)

/* A fresh empty directory under $TMPDIR (or /tmp); free() the string.
 * cf_test_rmtree removes it with everything in it. */
char *cf_test_tmpdir(void);
void cf_test_rmtree(const char *dir);
/* Path join into a static rotating buffer (valid for the next 8 calls). */
const char *cf_test_path(const char *dir, const char *name);
void cf_test_write_text(const char *path, const char *text);
/* Does `hay` (a file's content or a string) contain `needle`? */
int cf_test_file_contains(const char *path, const char *needle);
/* Number of entries in `dir` whose name contains `part` (e.g. ".part-"). */
int cf_test_count_entries(const char *dir, const char *part);
/* coreutils' sha256sum of a file (64 hex digits): a hash computed
 * independently of core/sha256. */
void cf_test_sha256sum(const char *path, char hex[65]);

/* Write a north-up GeoTIFF. data is [band][row][col] doubles; srs is
 * "EPSG:n" or WKT, or NULL for no CRS; nodata NULL for none (else one
 * value per band). type is a GDAL type name. Block layout: tiles of
 * `tile` pixels (0 = strips of one row). */
void cf_test_write_tif(const char *path, int w, int h, int nbands, const char *type,
                       const double gt[6], const char *srs, const double *nodata,
                       const double *data, int tile);
/* Read band `band` (1-based) of a raster as doubles (malloc'ed). */
double *cf_test_read_band(const char *path, int band, int *w, int *h, double gt[6], double *nodata,
                          int *has_nodata);

/* Run the carbonflux command with `args` (a shell-quoted string) and
 * return its exit code; stdout and stderr go to `log_path` if not NULL. */
int cf_test_cli(const char *args, const char *log_path);

/* DIR/p.yaml: every L0 file DIR/in/STEM.h5 to DIR/out/STEM_l2.nc (the
 * lidar batch of the isolation and batch suites). */
void cf_test_write_l2_pipeline(const char *dir);

/* "-q run DIR/p.yaml" as CLI arguments (a static buffer). */
const char *cf_test_run_args(const char *dir);
#define CF_CLI_QUIET_RUN(dir) cf_test_run_args(dir)

/* A fixture of a fresh directory and a log file in it, for suites that run
 * the command: use cf_test_dir_setup / cf_test_dir_teardown with
 * cmocka_unit_test_setup_teardown; *state is a cf_test_dir *. */
typedef struct {
  char *dir;
  char log[1100];
} cf_test_dir;
int cf_test_dir_setup(void **state);
int cf_test_dir_teardown(void **state);

/* Open `page` in headless Chromium with tests/report_chromium.py (Debian's
 * /usr/bin/python3), writing the full-page screenshot `shot` and its facts
 * ("errors N", "tables N", ...) to `out`; fails the test, saying why, if
 * Chromium could not run. cf_test_fact reads one fact's number (-1 if
 * absent). */
void cf_test_chromium(const char *page, const char *shot, const char *out);
int cf_test_fact(const char *out, const char *key);
/* The facts of a page a reader sees whole: no console error, exception or
 * failed load, nothing loaded from outside the file, `tables` tables and
 * `images` images, each a data: PNG the browser decoded, and a screenshot
 * `shot` of more than 50 kB (a page of text and maps, not a blank one). */
void cf_test_assert_page_whole(const char *out, const char *shot, int tables, int images);
/* A file's bytes as a NUL-ended string (malloc'ed), NULL if unreadable. */
char *cf_test_slurp(const char *path);

/* The number of random draws of a statistical test: `full` in the normal
 * build, where the test asserts its statistical claim (a sigma's coverage,
 * a false-alarm rate); `sanitized` in a sanitizer build (build-asan, seen
 * as __SANITIZE_ADDRESS__), unless CF_TEST_FULL_DRAWS=1 is set. There
 * every draw is 3 to 5 times slower, and what the sanitizers look for,
 * memory and undefined-behaviour errors, lies on the code paths each draw
 * takes alike. The asserted bands stay as they are; each call says why
 * they still hold for its smaller count. */
int cf_test_draws(int full, int sanitized);

/* Invert 64 bytes in the middle of the stored chunk of HDF5 dataset `name`
 * that starts at row `row0` (rank <= 3), written back as stored (filter mask
 * 0): the file's structure stays sound, the chunk's content is corrupt. */
void cf_test_corrupt_h5_chunk(const char *path, const char *name, unsigned long long row0);

/* A context that logs only errors, to a file under the given dir. */
cf_ctx *cf_test_ctx(void);

#endif
