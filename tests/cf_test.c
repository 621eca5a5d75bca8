/* Shared test helpers; see cf_test.h. */
#include "cf_test.h"

#include <dirent.h>
#include <gdal.h>
#include <hdf5.h>
#include <stdint.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cpl_conv.h>
#include <cpl_string.h>

void cf_assert_close_impl(double a, double b, double rtol, double atol, const char *ea,
                          const char *eb, const char *file, int line) {
  double tol = atol + rtol * fabs(b);
  if (isnan(a) || isnan(b) || !(fabs(a - b) <= tol)) {
    print_error("%s = %.17g is not within %.3g of %s = %.17g (difference %.3g)\n", ea, a, tol, eb, b,
                a - b);
    _fail(file, line);
  }
}

char *cf_test_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/cftest-XXXXXX", base && base[0] ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

void cf_test_rmtree(const char *dir) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

const char *cf_test_path(const char *dir, const char *name) {
  static char buf[8][1024];
  static int k;
  char *b = buf[k++ % 8];
  snprintf(b, 1024, "%s/%s", dir, name);
  return b;
}

void cf_test_write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

int cf_test_file_contains(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  int found = strstr(s, needle) != NULL;
  free(s);
  return found;
}

void cf_test_sha256sum(const char *path, char hex[65]) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%64s", hex), 1);
  pclose(f);
}

int cf_test_count_entries(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, part)) n++;
  closedir(d);
  return n;
}

void cf_test_write_tif(const char *path, int w, int h, int nbands, const char *type,
                       const double gt[6], const char *srs, const double *nodata,
                       const double *data, int tile) {
  GDALAllRegister();
  char **co = NULL;
  if (tile) {
    co = CSLSetNameValue(co, "TILED", "YES");
    co = CSLSetNameValue(co, "BLOCKXSIZE", CPLSPrintf("%d", tile));
    co = CSLSetNameValue(co, "BLOCKYSIZE", CPLSPrintf("%d", tile));
  } else {
    co = CSLSetNameValue(co, "ROWSPERSTRIP", "1");
  }
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, nbands,
                               GDALGetDataTypeByName(type), co);
  CSLDestroy(co);
  assert_non_null(ds);
  GDALSetGeoTransform(ds, (double *)gt);
  if (srs) {
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    assert_int_equal(OSRSetFromUserInput(s, srs), OGRERR_NONE);
    char *wkt = NULL;
    OSRExportToWkt(s, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(s);
  }
  for (int b = 0; b < nbands; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    if (nodata) GDALSetRasterNoDataValue(band, nodata[b]);
    assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, w, h, (void *)(data + (size_t)b * w * h), w, h,
                                  GDT_Float64, 0, 0),
                     CE_None);
  }
  GDALClose(ds);
}

double *cf_test_read_band(const char *path, int band, int *w, int *h, double gt[6], double *nodata,
                          int *has_nodata) {
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  assert_non_null(ds);
  *w = GDALGetRasterXSize(ds);
  *h = GDALGetRasterYSize(ds);
  if (gt) GDALGetGeoTransform(ds, gt);
  GDALRasterBandH b = GDALGetRasterBand(ds, band);
  int hn = 0;
  double nd = GDALGetRasterNoDataValue(b, &hn);
  if (nodata) *nodata = nd;
  if (has_nodata) *has_nodata = hn;
  double *v = malloc((size_t)*w * *h * sizeof *v);
  assert_non_null(v);
  assert_int_equal(GDALRasterIO(b, GF_Read, 0, 0, *w, *h, v, *w, *h, GDT_Float64, 0, 0), CE_None);
  GDALClose(ds);
  return v;
}

int cf_test_cli(const char *args, const char *log_path) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>&1", CF_CLI, args, log_path ? log_path : "/dev/null");
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

char *cf_test_slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
  if (s) s[got] = 0;
  fclose(f);
  return s;
}

void cf_test_chromium(const char *page, const char *shot, const char *out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/report_chromium.py' '%s' '%s' 1200 > '%s' 2> '%s.err'",
           CF_SOURCE_DIR, page, shot, out, out);
  int st = system(cmd);
  if (st != 0) {
    char err[1200];
    snprintf(err, sizeof err, "%s.err", out);
    char *why = cf_test_slurp(err);
    fail_msg("headless Chromium did not run (tests/report_chromium.py, exit %d): %s", st, why ? why : "");
  }
}

int cf_test_fact(const char *out, const char *key) {
  char *text = cf_test_slurp(out), pat[64];
  assert_non_null(text);
  snprintf(pat, sizeof pat, "\n%s ", key);
  char *p = text[0] && !strncmp(text, pat + 1, strlen(pat + 1)) ? text : strstr(text, pat);
  int v = p ? atoi(p + strlen(pat) - (p == text)) : -1;
  free(text);
  return v;
}

void cf_test_assert_page_whole(const char *out, const char *shot, int tables, int images) {
  assert_int_equal(cf_test_fact(out, "errors"), 0);
  assert_int_equal(cf_test_fact(out, "requests_outside"), 0);
  assert_int_equal(cf_test_fact(out, "tables"), tables);
  assert_int_equal(cf_test_fact(out, "images"), images);
  assert_int_equal(cf_test_fact(out, "images_data_png"), images);
  assert_int_equal(cf_test_fact(out, "images_decoded"), images);
  struct stat sb;
  assert_int_equal(stat(shot, &sb), 0);
  assert_true(sb.st_size > 50000);
}

cf_ctx *cf_test_ctx(void) {
  cf_ctx *ctx = cf_ctx_create();
  assert_non_null(ctx);
  cf_set_log_level(ctx, CF_LOG_ERROR);
  return ctx;
}

const char *cf_test_run_args(const char *dir) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "-q run '%s/p.yaml'", dir);
  return buf;
}

int cf_test_dir_setup(void **state) {
  cf_test_dir *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = cf_test_tmpdir();
  snprintf(f->log, sizeof f->log, "%s/log.txt", f->dir);
  *state = f;
  return 0;
}

int cf_test_dir_teardown(void **state) {
  cf_test_dir *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

void cf_test_write_l2_pipeline(const char *dir) {
  cf_test_write_text(cf_test_path(dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.lidar_l0\n"
                     "    path: 'in/*.h5'\n"
                     "  - type: write.l2\n"
                     "    path: out/{stem}_l2.nc\n");
}

int cf_test_draws(int full, int sanitized) {
#if defined(__SANITIZE_ADDRESS__)
  const char *all = getenv("CF_TEST_FULL_DRAWS");
  return all && !strcmp(all, "1") ? full : sanitized;
#else
  (void)sanitized;
  return full;
#endif
}

void cf_test_corrupt_h5_chunk(const char *path, const char *name, unsigned long long row0) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(f >= 0);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  assert_true(d >= 0);
  hsize_t off[3] = {(hsize_t)row0, 0, 0}, size = 0;
  assert_true(H5Dget_chunk_storage_size(d, off, &size) >= 0);
  assert_true(size > 256);
  unsigned char *buf = malloc(size);
  uint32_t mask = 0;
  assert_true(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, buf) >= 0);
  for (hsize_t i = size / 2; i < size / 2 + 64; i++) buf[i] ^= 0xff;
  assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, size, buf) >= 0);
  free(buf);
  H5Dclose(d);
  H5Fclose(f);
}
