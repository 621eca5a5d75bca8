/*
 * GEDI L2A reader against the real subset in ../shared/data/gedi.
 *
 * The file is shipped zipped; the fixture unpacks it with GDAL's /vsizip/
 * (no `unzip` command is assumed) into a temporary directory. The truth is
 * an independent reading by h5py + numpy (tests/gedi_h5py.py), run from the
 * test and parsed here: every shot's fields and all 101 rh values, and the
 * filter counts computed with numpy masks. Both sides convert the stored
 * float32/float64 values to double exactly and Python prints them with
 * repr (shortest round-trip), so values must be equal, not just close.
 */
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/gedi_l2a.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with h5py and numpy; not a pyenv one from PATH */
#define ZIP CF_SHARED_DATA "/gedi/GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.zip"
#define MEMBER "GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.h5"

typedef struct {
  char *dir;
  char h5[1100];
} fixture;

static const char *script_path(void) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  snprintf(slash ? slash + 1 : buf, sizeof buf - (size_t)(slash ? slash + 1 - buf : 0), "gedi_h5py.py");
  return buf;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = cf_test_tmpdir();
  snprintf(f->h5, sizeof f->h5, "%s/%s", f->dir, MEMBER);
  if (CPLCopyFile(f->h5, "/vsizip/" ZIP "/" MEMBER) != 0) {
    print_error("cannot unpack %s from %s\n", MEMBER, ZIP);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* Run the helper script with `args`; output into DIR/name. */
static void run_py(const fixture *f, const char *args, const char *outname) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >'%s' 2>'%s.err'", f->dir, PYTHON, script_path(), args,
           outname, outname);
  int rc = system(cmd);
  if (rc != 0) print_error("h5py helper failed: %s\n", cmd);
  assert_int_equal(rc, 0);
}

typedef struct {
  char beam[16];
  unsigned long long shot;
  double lat, lon, elev, sens, rh[CF_GEDI_NRH];
  int q, d, full_power;
} py_shot;

typedef struct {
  double minsens;
  int power;
  size_t read, invalid, quality, degrade, sens, beam, kept;
} py_counts;

/* Parse the dump: shots into *shots (malloc'ed), count lines into counts[]. */
static size_t parse_dump(const char *path, py_shot **shots, py_counts *counts, int ncounts) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = 0, cap = 512;
  *shots = malloc(cap * sizeof **shots);
  int nc = 0;
  char tag[4];
  while (fscanf(fp, "%3s", tag) == 1) {
    if (!strcmp(tag, "S")) {
      if (n == cap) *shots = realloc(*shots, (cap *= 2) * sizeof **shots);
      py_shot *s = &(*shots)[n++];
      assert_int_equal(fscanf(fp, "%15s %d %llu %lf %lf %lf %lf %d %d", s->beam, &s->full_power, &s->shot, &s->lat,
                              &s->lon, &s->elev, &s->sens, &s->q, &s->d),
                       9);
      for (int k = 0; k < CF_GEDI_NRH; k++) assert_int_equal(fscanf(fp, "%lf", &s->rh[k]), 1);
    } else {
      assert_string_equal(tag, "C");
      assert_true(nc < ncounts);
      py_counts *c = &counts[nc++];
      assert_int_equal(fscanf(fp, "%lf %d %zu %zu %zu %zu %zu %zu %zu", &c->minsens, &c->power, &c->read,
                              &c->invalid, &c->quality, &c->degrade, &c->sens, &c->beam, &c->kept), 9);
    }
  }
  fclose(fp);
  assert_int_equal(nc, ncounts);
  return n;
}

/* With every test switched off, the reader returns every shot of every
 * beam, field for field as h5py reads them. */
static void every_shot_equals_h5py(void **state) {
  fixture *f = *state;
  char args[1400];
  snprintf(args, sizeof args, "dump '%s' 0.95 0", f->h5);
  run_py(f, args, "dump.txt");
  py_shot *py;
  py_counts c;
  size_t n = parse_dump(cf_test_path(f->dir, "dump.txt"), &py, &c, 1);
  /* the subset's known size: 7 beams, 301 shots (h5py agrees, below) */
  assert_int_equal(n, 301);

  cf_ctx *ctx = cf_test_ctx();
  cf_gedi_filter all = {0, 0, -1.0, 0};
  cf_gedi_l2a g;
  assert_int_equal(cf_gedi_l2a_read(ctx, f->h5, &all, &g), CF_OK);
  assert_int_equal(g.n_beams, 7);
  assert_int_equal(g.n_read, n);
  assert_int_equal(g.n_kept, n);
  for (size_t i = 0; i < n; i++) {
    const cf_gedi_shot *s = &g.shots[i];
    assert_string_equal(s->beam_name, py[i].beam);
    assert_int_equal(s->shot_number, py[i].shot);
    /* exact: the same stored binary value converted to double on both sides */
    assert_close(s->lat, py[i].lat, 0, 0);
    assert_close(s->lon, py[i].lon, 0, 0);
    assert_close(s->elev, py[i].elev, 0, 0);
    assert_close(s->sensitivity, py[i].sens, 0, 0);
    assert_int_equal(s->quality_flag, py[i].q);
    assert_int_equal(s->degrade_flag, py[i].d);
    assert_int_equal(s->beam, (int)strtol(py[i].beam + 4, NULL, 2));
    /* power from the name agrees with the group's own description */
    assert_int_equal(s->power, py[i].full_power);
    for (int k = 0; k < CF_GEDI_NRH; k++) assert_close(s->rh[k], py[i].rh[k], 0, 0);
    assert_close(cf_gedi_rh(s, 98), py[i].rh[98], 0, 0);
  }
  /* one shot spelled out, so a reader of this test sees real numbers:
   * the first shot of the first full-power beam (BEAM0101) */
  size_t k = 0;
  while (k < n && strcmp(g.shots[k].beam_name, "BEAM0101")) k++;
  assert_true(k < n);
  print_message("BEAM0101 first shot %llu: lon %.6f lat %.6f rh50 %.2f rh98 %.2f rh100 %.2f sens %.4f\n",
                (unsigned long long)g.shots[k].shot_number, g.shots[k].lon, g.shots[k].lat, g.shots[k].rh[50],
                g.shots[k].rh[98], g.shots[k].rh[100], g.shots[k].sensitivity);
  assert_int_equal(g.shots[k].power, 1);
  assert_true(isnan(cf_gedi_rh(&g.shots[k], 101)));
  cf_gedi_l2a_free(&g);
  free(py);
  cf_ctx_destroy(ctx);
}

/* The filter counts, for the defaults and two other settings, equal what
 * numpy computes from the same datasets. */
static void check_counts(const fixture *f, const char *h5, int with_flags);

static void filter_counts_equal_numpy(void **state) {
  fixture *f = *state;
  check_counts(f, f->h5, 0);
}

/* The same on a copy where shots fail every test, some of them two. */
static void filter_counts_with_failing_flags(void **state) {
  fixture *f = *state;
  char args[1400];
  snprintf(args, sizeof args, "flags '%s' flags.h5", f->h5);
  run_py(f, args, "flags.txt");
  check_counts(f, cf_test_path(f->dir, "flags.h5"), 1);
}

static void check_counts(const fixture *f, const char *h5, int with_flags) {
  char args[1400];
  snprintf(args, sizeof args, "dump '%s' 0.95 0 0.98 0 0.9 1", h5);
  run_py(f, args, "counts.txt");
  py_shot *py;
  py_counts c[3];
  size_t n = parse_dump(cf_test_path(f->dir, "counts.txt"), &py, c, 3);
  cf_ctx *ctx = cf_test_ctx();
  for (int t = 0; t < 3; t++) {
    cf_gedi_filter flt;
    cf_gedi_filter_default(&flt);
    if (t == 0) assert_close(flt.min_sensitivity, 0.95, 0, 0); /* the documented default */
    flt.min_sensitivity = c[t].minsens;
    flt.power_beams_only = c[t].power;
    cf_gedi_l2a g;
    assert_int_equal(cf_gedi_l2a_read(ctx, h5, t == 0 ? NULL : &flt, &g), CF_OK);
    if (with_flags) {
      /* what the flags copy planted, by first failing reason (3 + 2, the
       * shot with both degrade and quality failing counts as quality) */
      assert_int_equal(g.n_invalid, 2);
      assert_int_equal(g.n_quality, 4);
      assert_int_equal(g.n_degrade, 2);
    }
    char line[256], want[256];
    print_message("sensitivity >= %.2f%s: %s\n", c[t].minsens, c[t].power ? ", power beams only" : "",
                  cf_gedi_l2a_summary(&g, line, sizeof line));
    snprintf(want, sizeof want,
             "%zu shots read from 7 beams, %zu kept; rejected: %zu invalid position, %zu quality_flag, "
             "%zu degrade_flag, %zu sensitivity, %zu coverage beam",
             c[t].read, c[t].kept, c[t].invalid, c[t].quality, c[t].degrade, c[t].sens, c[t].beam);
    assert_string_equal(line, want);
    assert_int_equal(g.n_read, n);
    assert_int_equal(g.n_read, c[t].read);
    assert_int_equal(g.n_invalid, c[t].invalid);
    assert_int_equal(g.n_quality, c[t].quality);
    assert_int_equal(g.n_degrade, c[t].degrade);
    assert_int_equal(g.n_sensitivity, c[t].sens);
    assert_int_equal(g.n_beam, c[t].beam);
    assert_int_equal(g.n_kept, c[t].kept);
    assert_int_equal(g.n_read, g.n_kept + g.n_invalid + g.n_quality + g.n_degrade + g.n_sensitivity + g.n_beam);
    /* every kept shot passes the filter; kept shots are the h5py shots that pass */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
      int power = strtol(py[i].beam + 4, NULL, 2) >= 4;
      int pass = isfinite(py[i].lat) && isfinite(py[i].lon) && fabs(py[i].lat) <= 90 && fabs(py[i].lon) <= 180 &&
                 py[i].q == 1 && py[i].d == 0 && py[i].sens >= c[t].minsens && (!c[t].power || power);
      if (!pass) continue;
      assert_true(j < g.n_kept);
      assert_int_equal(g.shots[j].shot_number, py[i].shot);
      j++;
    }
    assert_int_equal(j, g.n_kept);
    cf_gedi_l2a_free(&g);
  }
  /* a NaN minimum is a configuration error, named */
  cf_gedi_filter bad;
  cf_gedi_filter_default(&bad);
  bad.min_sensitivity = NAN;
  cf_gedi_l2a g;
  assert_int_equal(cf_gedi_l2a_read(ctx, h5, &bad, &g), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "min_sensitivity"));
  free(py);
  cf_ctx_destroy(ctx);
}

/* Expect `path` to fail with `code` and a message holding both `want`
 * strings; the output must be left empty. */
static void expect_fail(const char *path, int code, const char *want1, const char *want2) {
  cf_ctx *ctx = cf_test_ctx();
  cf_gedi_l2a g;
  memset(&g, 0x5a, sizeof g);
  int rc = cf_gedi_l2a_read(ctx, path, NULL, &g);
  const char *msg = cf_error_message(ctx);
  print_message("%s -> %s: %s\n", strrchr(path, '/') + 1, cf_strerror(rc), msg);
  assert_int_equal(rc, code);
  assert_non_null(strstr(msg, want1));
  if (want2) assert_non_null(strstr(msg, want2));
  assert_null(g.shots);
  assert_int_equal(g.n_kept, 0);
  cf_ctx_destroy(ctx);
}

static void bad_inputs_are_named_errors(void **state) {
  fixture *f = *state;
  /* truncated copies at several lengths: the superblock only, half, all but
   * the last 4 KiB (data chunks cut off); none may crash */
  FILE *in = fopen(f->h5, "rb");
  assert_non_null(in);
  fseek(in, 0, SEEK_END);
  long size = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *buf = malloc((size_t)size);
  assert_int_equal(fread(buf, 1, (size_t)size, in), (size_t)size);
  fclose(in);
  long cuts[] = {0, 512, size / 2, size - 4096};
  for (int i = 0; i < 4; i++) {
    char name[64];
    snprintf(name, sizeof name, "cut%d.h5", i);
    const char *p = cf_test_path(f->dir, name);
    FILE *out = fopen(p, "wb");
    assert_int_equal(fwrite(buf, 1, (size_t)cuts[i], out), (size_t)cuts[i]);
    fclose(out);
    expect_fail(p, CF_EDATA, p, NULL);
  }
  /* garbage over 4 KiB at places through the file (object headers, B-tree
   * nodes, deflated rh chunks, contiguous vectors): the reader either
   * reads (garbage values in a contiguous vector are still numbers) or
   * fails with a named error; it never crashes */
  for (int i = 1; i < 16; i++) {
    char name[64];
    snprintf(name, sizeof name, "garbled%d.h5", i);
    const char *p = cf_test_path(f->dir, name);
    char *copy = malloc((size_t)size);
    memcpy(copy, buf, (size_t)size);
    long at = size / 16 * i;
    for (long k = at; k < at + 4096 && k < size; k++) copy[k] = (char)(0xA5 ^ (k * 31));
    FILE *out = fopen(p, "wb");
    assert_int_equal(fwrite(copy, 1, (size_t)size, out), (size_t)size);
    fclose(out);
    free(copy);
    cf_ctx *ctx = cf_test_ctx();
    cf_gedi_l2a g;
    int rc = cf_gedi_l2a_read(ctx, p, NULL, &g);
    print_message("%s (4 KiB garbled at byte %ld) -> %s%s%s\n", name, at, cf_strerror(rc), rc ? ": " : "",
                  rc ? cf_error_message(ctx) : "");
    assert_true(rc == CF_OK || rc == CF_EDATA);
    if (rc) {
      assert_non_null(strstr(cf_error_message(ctx), p));
      assert_null(g.shots);
    }
    cf_gedi_l2a_free(&g);
    cf_ctx_destroy(ctx);
  }
  /* targeted: the first deflated chunk of BEAM0101/rh, the object header
   * of that dataset and of its group (addresses from h5py): each must be a
   * named error about that beam */
  char args0[1400];
  snprintf(args0, sizeof args0, "offsets '%s'", f->h5);
  run_py(f, args0, "offsets.txt");
  FILE *fo = fopen(cf_test_path(f->dir, "offsets.txt"), "r");
  long chunk, chunk_size, dset_hdr, group_hdr;
  assert_int_equal(fscanf(fo, "%ld %ld %ld %ld", &chunk, &chunk_size, &dset_hdr, &group_hdr), 4);
  fclose(fo);
  long where[3] = {chunk, dset_hdr, group_hdr}, len[3] = {chunk_size, 64, 64};
  const char *what[3] = {"BEAM0101/rh: read failed", "BEAM0101/rh: cannot open", "BEAM0101: cannot read"};
  for (int i = 0; i < 3; i++) {
    char name[64];
    snprintf(name, sizeof name, "target%d.h5", i);
    const char *p = cf_test_path(f->dir, name);
    char *copy = malloc((size_t)size);
    memcpy(copy, buf, (size_t)size);
    for (long k = where[i]; k < where[i] + len[i] && k < size; k++) copy[k] = (char)(0xA5 ^ (k * 31));
    FILE *out = fopen(p, "wb");
    assert_int_equal(fwrite(copy, 1, (size_t)size, out), (size_t)size);
    fclose(out);
    free(copy);
    expect_fail(p, CF_EDATA, p, what[i]);
  }
  free(buf);

  expect_fail(cf_test_path(f->dir, "missing.h5"), CF_ENOENT, "missing.h5", NULL);
  char args[1400];
  run_py(f, "nobeam nobeam.h5", "nobeam.txt");
  expect_fail(cf_test_path(f->dir, "nobeam.h5"), CF_EDATA, "nobeam.h5", "no BEAM groups");
  snprintf(args, sizeof args, "drop '%s' norh.h5 BEAM0110/rh", f->h5);
  run_py(f, args, "norh.txt");
  expect_fail(cf_test_path(f->dir, "norh.h5"), CF_EDATA, "BEAM0110/rh", "missing");
  snprintf(args, sizeof args, "shorten '%s' short.h5 BEAM0101/sensitivity", f->h5);
  run_py(f, args, "short.txt");
  expect_fail(cf_test_path(f->dir, "short.h5"), CF_EDATA, "BEAM0101/sensitivity", "inconsistent lengths");
  /* not HDF5 at all */
  const char *txt = cf_test_path(f->dir, "text.h5");
  cf_test_write_text(txt, "BEAM0101 is not a group in a text file\n");
  expect_fail(txt, CF_EDATA, "not an HDF5 file", NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_shot_equals_h5py),
      cmocka_unit_test(filter_counts_equal_numpy),
      cmocka_unit_test(filter_counts_with_failing_flags),
      cmocka_unit_test(bad_inputs_are_named_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
