/*
 * The L0 reader on files written by other software (issue 6: "any
 * conforming file is read").
 *
 * The simulator writes a small L0 file of each level; Debian's h5py
 * rewrites it from scratch (tests/l0_rewrite_h5py.py) in the forms h5py and
 * other writers produce: every string form HDF5 has (variable or fixed
 * length, ASCII or UTF-8, NUL-terminated, NUL- or space-padded, scalar or
 * one-element), int64 and float32 attributes, chunked datasets with
 * deflate, shuffle and Fletcher32, numpy's int64/float64 datasets, and
 * fields the spec does not list. The reference is always the original
 * file: read here with plain HDF5 calls (never by the reader under test),
 * or, for the retrieval, the L2 product of the original, compared bit for
 * bit with that of the copy.
 *
 * The rewrites need /usr/bin/python3 with h5py (apt-get install
 * python3-h5py); without it the tests fail and say so.
 */
#include <hdf5.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_test.h"
#include "ingest/h5_chunk_rows.h"
#include "ingest/lidar_l0.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-h5py; not a pyenv one from PATH */

typedef struct {
  char *dir;
  char spec[1100], raw[1100]; /* the originals */
  int rewritten;              /* the h5py copies: 1 written, 0 failed, -1 no h5py */
  cf_ctx *ctx;
} fixture;

/* String forms of tests/l0_rewrite_h5py.py */
static const char *const forms[] = {"vlen-utf8",     "vlen-ascii",     "fixed-nullterm",
                                    "fixed-nullpad", "fixed-spacepad", "fixed-utf8"};
enum { NFORMS = sizeof forms / sizeof *forms };

#define UTF8_ID "Lidar Z\xc3\xbcrich \xce\xa9-7" /* "Lidar Zürich Ω-7" */

/* The copies the tests read, IN OUT [options] each; written by one run of
 * the script in the group setup (a start of Python and h5py costs more
 * than all the rewrites), after the copy of every string form. */
static const char *const copies[] = {
    "spec.h5 id-vlen.h5 --instrument-id '" UTF8_ID "'",
    "spec.h5 id-fixed.h5 --strings fixed-utf8 --instrument-id '" UTF8_ID "'",
    "spec.h5 wide-0.h5 --int-attrs int64",
    "spec.h5 wide-1.h5 --int-attrs int64 --attr-shape 1",
    "spec.h5 f32.h5 --float-attrs float32 --int-attrs int64 --attr-shape 1",
    "spec.h5 chunked-spec.h5 --chunked --extras --libver latest",
    "raw.h5 chunked-raw.h5 --chunked --extras --strings fixed-spacepad",
    "spec.h5 lzf.h5 --lzf",
    "spec.h5 rows-spec.h5 --chunked --row-chunks 4",
    "spec.h5 h5py-spec.h5 --int-attrs int64 --wide-datasets --chunked --extras",
    "raw.h5 h5py-raw.h5 --int-attrs int64 --attr-shape 1 --chunked --extras --strings fixed-nullpad",
};

/* --- running the rewrite ------------------------------------------------------ */

/* tests/l0_rewrite_h5py.py, beside this file */
static const char *script_path(void) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  snprintf(slash ? slash + 1 : buf, sizeof buf - (size_t)(slash ? slash + 1 - buf : 0), "l0_rewrite_h5py.py");
  return buf;
}

static int h5py_importable(void) { return system(PYTHON " -c 'import h5py' >/dev/null 2>&1") == 0; }

static void print_file(const char *path) {
  FILE *fp = fopen(path, "r");
  char line[512];
  while (fp && fgets(line, sizeof line, fp)) print_error("  %s", line);
  if (fp) fclose(fp);
}

/* Write every copy: one run of the script over all the jobs, file names
 * relative to the fixture's directory. 1 if it worked, -1 without h5py. */
static int rewrite_all(const fixture *f) {
  const char *script = script_path();
  if (access(script, R_OK) != 0) {
    print_error("cannot find the rewrite script at %s\n", script);
    return 0;
  }
  char args[8192] = "", job[512];
  for (int i = 0; i < NFORMS; i++)
    for (int shape1 = 0; shape1 < 2; shape1++) {
      snprintf(job, sizeof job, "%sspec.h5 %s-%d.h5 --strings %s --attr-shape %s", i + shape1 ? " + " : "",
               forms[i], shape1, forms[i], shape1 ? "1" : "scalar");
      strcat(args, job);
    }
  for (size_t i = 0; i < sizeof copies / sizeof *copies; i++) {
    snprintf(job, sizeof job, " + %s", copies[i]);
    strcat(args, job);
  }
  char cmd[10000], log[1200];
  snprintf(log, sizeof log, "%s/rewrite.log", f->dir);
  snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >'%s' 2>&1", f->dir, PYTHON, script, args, log);
  if (system(cmd) == 0) return 1;
  if (!h5py_importable()) return -1; /* need_copies says what to install */
  print_error("the h5py rewrite failed: %s\n", cmd);
  print_file(log);
  return 0;
}

/* Every test needs the copies; without h5py, say what to install. */
static void need_copies(const fixture *f) {
  if (f->rewritten == 1) return;
  if (f->rewritten < 0)
    print_error("%s cannot import h5py, which writes the L0 files of these tests: apt-get install python3-h5py\n",
                PYTHON);
  else
    print_error("the h5py copies were not written (see the group setup's messages)\n");
  fail();
}

/* --- the original, read with plain HDF5 ----------------------------------------- */

/* Attribute `name` of object `obj` as one value of `memtype`. */
static void orig_attr(const char *path, const char *obj, const char *name, hid_t memtype, void *v) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(a >= 0);
  assert_true(H5Aread(a, memtype, v) >= 0);
  H5Aclose(a);
  H5Fclose(f);
}

static double orig_double(const char *path, const char *obj, const char *name) {
  double v;
  orig_attr(path, obj, name, H5T_NATIVE_DOUBLE, &v);
  return v;
}

static long long orig_int(const char *path, const char *obj, const char *name) {
  long long v;
  orig_attr(path, obj, name, H5T_NATIVE_LLONG, &v);
  return v;
}

/* Our writer's strings are fixed-length and NUL-terminated: read them with
 * their own type. */
static void orig_text(const char *path, const char *name, char *buf, size_t cap) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  assert_true(a >= 0);
  hid_t t = H5Aget_type(a);
  assert_true(H5Tis_variable_str(t) == 0 && H5Tget_size(t) < cap);
  memset(buf, 0, cap);
  assert_true(H5Aread(a, t, buf) >= 0);
  H5Tclose(t);
  H5Aclose(a);
  H5Fclose(f);
}

/* The whole dataset `name` as `memtype` (malloc'ed); *n values. */
static void *orig_data(const char *path, const char *name, hid_t memtype, size_t *n) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  assert_true(d >= 0);
  hid_t s = H5Dget_space(d);
  *n = (size_t)H5Sget_simple_extent_npoints(s);
  void *buf = malloc(*n * H5Tget_size(memtype) + 1);
  assert_non_null(buf);
  assert_true(H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return buf;
}

/* The reader's `got` (n values of `memtype`) equals dataset `name` of the original, bit for bit. */
static void same_data(const char *orig, const char *name, hid_t memtype, const void *got, size_t n) {
  size_t m;
  void *want = orig_data(orig, name, memtype, &m);
  assert_int_equal(m, n);
  if (memcmp(want, got, n * H5Tget_size(memtype)) != 0) {
    print_error("%s differs from the original\n", name);
    fail();
  }
  free(want);
}

/* --- what the reader must see -------------------------------------------------- */

/* The root attributes of `l0` are those of the original file; with
 * `float32`, its float attributes rounded to float32. */
static void same_config(const cf_l0 *l0, const char *orig, int float32) {
  const cf_l0_config *c = &l0->cfg;
  const struct {
    const char *name;
    double got;
  } dbl[] = {{"site_latitude_deg", c->site_lat},     {"site_longitude_deg", c->site_lon},
             {"site_altitude_m", c->site_alt},       {"wavelength_on_m", c->wavelength[CF_ON]},
             {"wavelength_off_m", c->wavelength[CF_OFF]}, {"sample_rate_hz", c->sample_rate},
             {"aom_frequency_hz", c->aom_frequency}, {"pulse_repetition_hz", c->pulse_repetition},
             {"pulse_width_s", c->pulse_width},      {"range_offset_m", c->range_offset}};
  for (size_t i = 0; i < sizeof dbl / sizeof *dbl; i++) {
    double want = orig_double(orig, "/", dbl[i].name);
    if (float32) want = (float)want;
    assert_close(dbl[i].got, want, 0, 0); /* bitwise */
  }
  const struct {
    const char *name;
    int got;
  } ints[] = {{"gate_first_sample", c->gate_first},
              {"gate_samples", c->gate_samples},
              {"gate_step", c->gate_step},
              {"n_gates", c->n_gates},
              {"fft_size", c->fft_size}};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
    assert_int_equal(ints[i].got, orig_int(orig, "/", ints[i].name));
  char want[256];
  orig_text(orig, "instrument_id", want, sizeof want);
  assert_string_equal(c->instrument_id, want);
  orig_text(orig, "level", want, sizeof want);
  assert_int_equal(c->level, strcmp(want, "raw") ? CF_L0_SPECTRA : CF_L0_RAW);
  assert_true(!strcmp(want, "raw") || !strcmp(want, "spectra"));
  orig_text(orig, "window", want, sizeof want);
  assert_true(!strcmp(want, "hann") || !strcmp(want, "rect"));
  assert_int_equal(c->window, strcmp(want, "hann") ? CF_WINDOW_RECT : CF_WINDOW_HANN);
  if (c->level == CF_L0_SPECTRA) {
    assert_int_equal(l0->background_pulses[CF_ON], orig_int(orig, "background/on", "pulses"));
    assert_int_equal(l0->background_pulses[CF_OFF], orig_int(orig, "background/off", "pulses"));
  }
}

/* Every value `l0` hands out (rays, meteorology, background, spectra or raw
 * records, read in blocks) is the original's, bit for bit. */
static void same_data_as_original(cf_ctx *ctx, cf_l0 *l0, const char *orig) {
  size_t nr = (size_t)l0->n_rays;
  same_data(orig, "rays/time", H5T_NATIVE_DOUBLE, l0->time, nr);
  same_data(orig, "rays/azimuth_deg", H5T_NATIVE_FLOAT, l0->azimuth, nr);
  same_data(orig, "rays/elevation_deg", H5T_NATIVE_FLOAT, l0->elevation, nr);
  same_data(orig, "rays/scan_id", H5T_NATIVE_INT32, l0->scan_id, nr);
  same_data(orig, "rays/pulses_on", H5T_NATIVE_INT32, l0->pulses[CF_ON], nr);
  same_data(orig, "rays/pulses_off", H5T_NATIVE_INT32, l0->pulses[CF_OFF], nr);
  same_data(orig, "rays/energy_on_j", H5T_NATIVE_FLOAT, l0->energy[CF_ON], nr);
  same_data(orig, "rays/energy_off_j", H5T_NATIVE_FLOAT, l0->energy[CF_OFF], nr);
  size_t nm = (size_t)l0->meteo.n;
  same_data(orig, "meteo/time", H5T_NATIVE_DOUBLE, l0->meteo.time, nm);
  same_data(orig, "meteo/pressure_pa", H5T_NATIVE_DOUBLE, l0->meteo.pressure, nm);
  same_data(orig, "meteo/temperature_k", H5T_NATIVE_DOUBLE, l0->meteo.temperature, nm);
  same_data(orig, "meteo/relative_humidity", H5T_NATIVE_DOUBLE, l0->meteo.rh, nm);
  const char *which[2] = {"on", "off"};
  char name[64];
  if (l0->cfg.level == CF_L0_SPECTRA) {
    size_t per = (size_t)l0->cfg.n_gates * cf_l0_nbins(&l0->cfg);
    float *buf = malloc(nr * per * sizeof *buf);
    assert_non_null(buf);
    for (int k = 0; k < 2; k++) {
      snprintf(name, sizeof name, "background/%s", which[k]);
      same_data(orig, name, H5T_NATIVE_FLOAT, l0->background[k], per);
      /* blocks of 4 rays: they straddle the copy's chunks of 2 or 7 */
      for (int r0 = 0; r0 < l0->n_rays; r0 += 4) {
        int n = l0->n_rays - r0 < 4 ? l0->n_rays - r0 : 4;
        assert_int_equal(cf_l0_read_spectra(ctx, l0, k, r0, n, buf + (size_t)r0 * per), CF_OK);
      }
      snprintf(name, sizeof name, "spectra/%s", which[k]);
      same_data(orig, name, H5T_NATIVE_FLOAT, buf, nr * per);
    }
    free(buf);
  } else {
    size_t ns = (size_t)l0->n_samples;
    for (int k = 0; k < 2; k++) {
      size_t np = (size_t)l0->n_pulses[k], nb = (size_t)l0->n_bg[k];
      int16_t *buf = malloc((np > nb ? np : nb) * ns * sizeof *buf);
      assert_non_null(buf);
      for (size_t p0 = 0; p0 < np; p0 += 16) {
        size_t n = np - p0 < 16 ? np - p0 : 16;
        assert_int_equal(cf_l0_read_raw(ctx, l0, k, (int64_t)p0, (int64_t)n, buf + p0 * ns), CF_OK);
      }
      snprintf(name, sizeof name, "raw/%s", which[k]);
      same_data(orig, name, H5T_NATIVE_INT16, buf, np * ns);
      snprintf(name, sizeof name, "raw/ray_%s", which[k]);
      same_data(orig, name, H5T_NATIVE_INT32, l0->pulse_ray[k], np);
      assert_int_equal(cf_l0_read_raw_background(ctx, l0, k, 0, (int64_t)nb, buf), CF_OK);
      snprintf(name, sizeof name, "raw/background_%s", which[k]);
      same_data(orig, name, H5T_NATIVE_INT16, buf, nb * ns);
      free(buf);
    }
  }
}

static cf_l0 *open_copy(fixture *f, const char *name) {
  cf_l0 *l0 = NULL;
  cf_error_clear(f->ctx);
  int rc = cf_l0_open(f->ctx, cf_test_path(f->dir, name), 0, &l0);
  if (rc != CF_OK) {
    print_error("%s: %s\n", name, cf_error_message(f->ctx));
    fail();
  }
  return l0;
}

/* --- L2 products compared bit for bit -------------------------------------------- */

/* The run-specific global attributes: the command line and the input's hash. */
static int run_specific(int varid, const char *att) {
  return varid == NC_GLOBAL && (!strcmp(att, "history") || !strcmp(att, "input_sha256"));
}

/* The n values of type `type` of attribute `att` of variable va/vb (att
 * NULL: of the variable itself) in the two products: the same bits
 * (strings: the same text)? */
static int same_bits(nc_type type, size_t n, int ga, int va, int gb, int vb, const char *att) {
  size_t size;
  assert_true(type <= NC_MAX_ATOMIC_TYPE);
  assert_int_equal(nc_inq_type(ga, type, NULL, &size), NC_NOERR);
  void *a = calloc(n + 1, size), *b = calloc(n + 1, size);
  assert_int_equal(att ? nc_get_att(ga, va, att, a) : nc_get_var(ga, va, a), NC_NOERR);
  assert_int_equal(att ? nc_get_att(gb, vb, att, b) : nc_get_var(gb, vb, b), NC_NOERR);
  int same = 1;
  if (type != NC_STRING) {
    same = memcmp(a, b, n * size) == 0;
  } else {
    for (size_t i = 0; i < n; i++) same &= strcmp(((char **)a)[i], ((char **)b)[i]) == 0;
    nc_free_string(n, a);
    nc_free_string(n, b);
  }
  free(a);
  free(b);
  return same;
}

static void same_atts(int ga, int gb, int va, int vb, const char *where) {
  int na, nb;
  assert_int_equal(nc_inq_varnatts(ga, va, &na), NC_NOERR);
  assert_int_equal(nc_inq_varnatts(gb, vb, &nb), NC_NOERR);
  assert_int_equal(na, nb);
  for (int i = 0; i < na; i++) {
    char name[NC_MAX_NAME + 1];
    nc_type ta, tb;
    size_t la, lb;
    assert_int_equal(nc_inq_attname(ga, va, i, name), NC_NOERR);
    if (run_specific(va, name)) continue;
    assert_int_equal(nc_inq_att(ga, va, name, &ta, &la), NC_NOERR);
    if (nc_inq_att(gb, vb, name, &tb, &lb) != NC_NOERR) {
      print_error("%s: attribute %s is missing from the copy's product\n", where, name);
      fail();
    }
    assert_int_equal(ta, tb);
    assert_int_equal(la, lb);
    if (!same_bits(ta, la, ga, va, gb, vb, name)) {
      print_error("%s: attribute %s differs\n", where, name);
      fail();
    }
  }
}

/* Every variable (shape, type, attributes, values) of group ga is in gb,
 * the same bits; and so for every subgroup. Returns the values compared. */
static size_t same_group(int ga, int gb) {
  size_t compared = 0;
  same_atts(ga, gb, NC_GLOBAL, NC_GLOBAL, "(global)");
  int nva, nvb;
  assert_int_equal(nc_inq_nvars(ga, &nva), NC_NOERR);
  assert_int_equal(nc_inq_nvars(gb, &nvb), NC_NOERR);
  assert_int_equal(nva, nvb);
  for (int v = 0; v < nva; v++) {
    char name[NC_MAX_NAME + 1];
    nc_type ta, tb;
    int nda, ndb, da[NC_MAX_VAR_DIMS], db[NC_MAX_VAR_DIMS], vb;
    assert_int_equal(nc_inq_var(ga, v, name, &ta, &nda, da, NULL), NC_NOERR);
    if (nc_inq_varid(gb, name, &vb) != NC_NOERR) {
      print_error("variable %s is missing from the copy's product\n", name);
      fail();
    }
    assert_int_equal(nc_inq_var(gb, vb, NULL, &tb, &ndb, db, NULL), NC_NOERR);
    assert_int_equal(ta, tb);
    assert_int_equal(nda, ndb);
    size_t n = 1;
    for (int i = 0; i < nda; i++) {
      size_t la, lb;
      assert_int_equal(nc_inq_dimlen(ga, da[i], &la), NC_NOERR);
      assert_int_equal(nc_inq_dimlen(gb, db[i], &lb), NC_NOERR);
      assert_int_equal(la, lb);
      n *= la;
    }
    same_atts(ga, gb, v, vb, name);
    if (!same_bits(ta, n, ga, v, gb, vb, NULL)) {
      print_error("variable %s differs between the products of the original and of the copy\n", name);
      fail();
    }
    compared += n;
  }
  int nga, ngb, ida[64], idb;
  assert_int_equal(nc_inq_grps(ga, &nga, NULL), NC_NOERR);
  assert_int_equal(nc_inq_grps(gb, &ngb, NULL), NC_NOERR);
  assert_int_equal(nga, ngb);
  assert_true(nga <= 64);
  nc_inq_grps(ga, NULL, ida);
  for (int i = 0; i < nga; i++) {
    char name[NC_MAX_NAME + 1];
    nc_inq_grpname(ida[i], name);
    assert_int_equal(nc_inq_grp_ncid(gb, name, &idb), NC_NOERR);
    compared += same_group(ida[i], idb);
  }
  return compared;
}

/* Values of float variable `name` that are not the fill value. */
static int count_valid(int nc, const char *name) {
  int id, nd, dims[NC_MAX_VAR_DIMS], valid = 0;
  size_t n = 1;
  assert_int_equal(nc_inq_varid(nc, name, &id), NC_NOERR);
  assert_int_equal(nc_inq_var(nc, id, NULL, NULL, &nd, dims, NULL), NC_NOERR);
  for (int i = 0; i < nd; i++) {
    size_t len;
    nc_inq_dimlen(nc, dims[i], &len);
    n *= len;
  }
  float *v = malloc(n * sizeof *v + 1);
  assert_int_equal(nc_get_var_float(nc, id, v), NC_NOERR);
  for (size_t i = 0; i < n; i++) valid += v[i] < NC_FILL_FLOAT / 2 && v[i] > -NC_FILL_FLOAT / 2;
  free(v);
  return valid;
}

/* `carbonflux lidar process` on the original and on the copy: the two L2
 * files hold the same bits in every variable and attribute, but for the
 * run-specific global attributes. */
static void same_retrieval(fixture *f, const char *orig, const char *copy) {
  char args[4096];
  const char *a = cf_test_path(f->dir, "orig_l2.nc"), *b = cf_test_path(f->dir, "copy_l2.nc");
  const char *log = cf_test_path(f->dir, "process.log");
  snprintf(args, sizeof args, "-q lidar process '%s' -o '%s'", orig, a);
  assert_int_equal(cf_test_cli(args, log), 0);
  snprintf(args, sizeof args, "-q lidar process '%s' -o '%s'", cf_test_path(f->dir, copy), b);
  if (cf_test_cli(args, log) != 0) {
    print_file(log);
    fail();
  }
  int na, nb;
  assert_int_equal(nc_open(a, NC_NOWRITE, &na), NC_NOERR);
  assert_int_equal(nc_open(b, NC_NOWRITE, &nb), NC_NOERR);
  /* the comparison means something only if the retrieval produced values:
   * radial velocities, CO2 (DIAL) and a wind profile */
  assert_true(count_valid(na, "radial_velocity") > 0);
  assert_true(count_valid(na, "co2_mole_fraction") > 0);
  assert_true(count_valid(na, "eastward_wind") > 0);
  size_t n = same_group(na, nb);
  print_message("%s: %zu values of the L2 product identical\n", copy, n);
  assert_true(n > 100);
  nc_close(na);
  nc_close(nb);
}

/* --- tests ----------------------------------------------------------------------- */

static void h5py_is_installed(void **state) {
  fixture *f = *state;
  need_copies(f);
}

/* Every string form, as a scalar and as a one-element attribute (the
 * numbers, too, then have one element). */
static void every_string_form_reads_as_the_original(void **state) {
  fixture *f = *state;
  need_copies(f);
  for (int i = 0; i < NFORMS; i++)
    for (int shape1 = 0; shape1 < 2; shape1++) {
      char name[64];
      snprintf(name, sizeof name, "%s-%d.h5", forms[i], shape1);
      cf_l0 *l0 = open_copy(f, name);
      same_config(l0, f->spec, 0);
      cf_l0_close(l0);
    }
}

/* instrument_id is free text: UTF-8 beyond ASCII arrives byte for byte,
 * from a variable- and from a fixed-length string. */
static void utf8_text_arrives_unchanged(void **state) {
  fixture *f = *state;
  need_copies(f);
  const char *names[2] = {"id-vlen.h5", "id-fixed.h5"};
  for (int i = 0; i < 2; i++) {
    cf_l0 *l0 = open_copy(f, names[i]);
    assert_string_equal(l0->cfg.instrument_id, UTF8_ID);
    cf_l0_close(l0);
  }
}

/* int64 integers (h5py's Python int) and float32 floats, as scalars and as
 * one-element attributes, root and background 'pulses' alike. */
static void int64_and_float32_attributes(void **state) {
  fixture *f = *state;
  need_copies(f);
  const char *names[3] = {"wide-0.h5", "wide-1.h5", "f32.h5"};
  for (int i = 0; i < 3; i++) {
    cf_l0 *l0 = open_copy(f, names[i]);
    same_config(l0, f->spec, i == 2);
    cf_l0_close(l0);
  }
}

/* Chunked, deflated, shuffled and checksummed datasets (chunks that do not
 * divide the extents, unlimited first dimension), with attributes,
 * datasets, groups, a committed type and links nobody asked for, in the
 * latest file format: both levels read back bit for bit. */
static void chunked_copy_with_extras_reads_back_bitwise(void **state) {
  fixture *f = *state;
  need_copies(f);
  /* the copy is what it claims to be (plain HDF5) */
  hid_t fh = H5Fopen(cf_test_path(f->dir, "chunked-spec.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(fh >= 0);
  hid_t d = H5Dopen2(fh, "spectra/on", H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(d);
  assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
  unsigned flags, cfg;
  size_t nv = 8;
  unsigned vals[8];
  assert_true(H5Pget_filter_by_id2(dcpl, H5Z_FILTER_DEFLATE, &flags, &nv, vals, 0, NULL, &cfg) >= 0);
  nv = 8;
  assert_true(H5Pget_filter_by_id2(dcpl, H5Z_FILTER_SHUFFLE, &flags, &nv, vals, 0, NULL, &cfg) >= 0);
  H5Pclose(dcpl);
  H5Dclose(d);
  assert_true(H5Lexists(fh, "housekeeping", H5P_DEFAULT) > 0);
  assert_true(H5Lexists(fh, "rays/quality_flag", H5P_DEFAULT) > 0);
  H5Fclose(fh);

  /* whole-row chunks with gzip + shuffle (4 rows of the 6: the second
   * chunk partial)
   * are read past HDF5's filters (ingest/h5_chunk_rows.c): the reader
   * takes them, and the L0 reads back bitwise */
  fh = H5Fopen(cf_test_path(f->dir, "rows-spec.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(fh >= 0);
  d = H5Dopen2(fh, "spectra/on", H5P_DEFAULT);
  cf_h5_rows *rows = cf_h5_rows_open(d, H5T_NATIVE_FLOAT);
  assert_non_null(rows);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3] = {0};
  H5Sget_simple_extent_dims(sp, dims, NULL);
  size_t row = (size_t)dims[1] * (dims[2] ? dims[2] : 1);
  assert_int_equal(dims[0], 6);
  float *fast = malloc(row * 4 * sizeof *fast), *plain = malloc(row * 4 * sizeof *plain);
  assert_int_equal(cf_h5_rows_read(rows, 2, 4, fast), CF_H5ROWS_OK); /* rows 2..5: across the chunk edge */
  hsize_t start[3] = {2, 0, 0}, count[3] = {4, dims[1], dims[2]};
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t ms = H5Screate_simple(3, count, NULL);
  assert_true(H5Dread(d, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, plain) >= 0);
  assert_memory_equal(fast, plain, row * 4 * sizeof *fast);
  free(fast), free(plain);
  H5Sclose(ms), H5Sclose(sp);
  cf_h5_rows_close(rows);
  H5Dclose(d);
  H5Fclose(fh);

  cf_l0 *l0 = open_copy(f, "rows-spec.h5");
  same_config(l0, f->spec, 0);
  same_data_as_original(f->ctx, l0, f->spec);
  cf_l0_close(l0);
  l0 = open_copy(f, "chunked-spec.h5");
  same_config(l0, f->spec, 0);
  same_data_as_original(f->ctx, l0, f->spec);
  cf_l0_close(l0);
  l0 = open_copy(f, "chunked-raw.h5");
  same_config(l0, f->raw, 0);
  same_data_as_original(f->ctx, l0, f->raw);
  cf_l0_close(l0);
}

/* A filter stock HDF5 does not have (h5py's LZF) is named when the file
 * opens, not met as a failed read later; if a plugin provides it, the file
 * simply reads. */
static void unavailable_filter_is_named(void **state) {
  fixture *f = *state;
  need_copies(f);
  cf_l0 *l0 = NULL;
  cf_error_clear(f->ctx);
  int rc = cf_l0_open(f->ctx, cf_test_path(f->dir, "lzf.h5"), 0, &l0);
  if (H5Zfilter_avail(32000) > 0) {
    assert_int_equal(rc, CF_OK);
    same_data_as_original(f->ctx, l0, f->spec);
    cf_l0_close(l0);
    return;
  }
  assert_int_equal(rc, CF_EDATA);
  assert_null(l0);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  assert_non_null(e);
  assert_string_equal(e->where, cf_test_path(f->dir, "lzf.h5"));
  assert_string_equal(e->field, "spectra/on");
  assert_non_null(strstr(e->reason, "HDF5 filter 32000 (lzf)"));
}

/* 'pulses' written as a list (h5py makes an array of any list) is one
 * value too many: rejected, not read past the end of one integer. */
static void pulses_with_several_values_is_rejected(void **state) {
  fixture *f = *state;
  need_copies(f);
  char cmd[2600];
  snprintf(cmd, sizeof cmd, "cp '%s/wide-0.h5' '%s/pulses3.h5'", f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
  const char *path = cf_test_path(f->dir, "pulses3.h5");
  hid_t fh = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(fh, "background/off", H5P_DEFAULT);
  assert_true(H5Adelete(d, "pulses") >= 0);
  hsize_t three = 3;
  long long v[3] = {100, 100, 100};
  hid_t s = H5Screate_simple(1, &three, NULL);
  hid_t a = H5Acreate2(d, "pulses", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Awrite(a, H5T_NATIVE_LLONG, v) >= 0);
  H5Aclose(a);
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(fh);
  cf_l0 *l0 = NULL;
  cf_error_clear(f->ctx);
  assert_int_equal(cf_l0_open(f->ctx, path, 0, &l0), CF_EDATA);
  assert_null(l0);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  assert_non_null(e);
  assert_string_equal(e->field, "background/off");
  assert_string_equal(e->reason, "attribute 'pulses': expected a single value, found 3");
}

/* What a script that writes with h5py's defaults produces (UTF-8 strings,
 * int64 attributes and integer datasets, float64 float datasets), chunked
 * and with extras: the retrieval is the same, bit for bit. */
static void retrieval_on_h5py_copy_is_identical_spectra(void **state) {
  fixture *f = *state;
  need_copies(f);
  cf_l0 *l0 = open_copy(f, "h5py-spec.h5");
  same_config(l0, f->spec, 0);
  same_data_as_original(f->ctx, l0, f->spec);
  cf_l0_close(l0);
  same_retrieval(f, f->spec, "h5py-spec.h5");
}

static void retrieval_on_h5py_copy_is_identical_raw(void **state) {
  fixture *f = *state;
  need_copies(f);
  same_retrieval(f, f->raw, "h5py-raw.h5");
}

/* --- fixture: the two originals, simulated once ------------------------------------ */

static int group_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = cf_test_tmpdir();
  snprintf(f->spec, sizeof f->spec, "%s/spec.h5", f->dir);
  snprintf(f->raw, sizeof f->raw, "%s/raw.h5", f->dir);
  char args[2600];
  /* small: one VAD scan of 6 rays, a few gates; raw records of 20 pulses */
  snprintf(args, sizeof args, "-q simulate lidar -o '%s' scans=1 rays_per_scan=6 gates=8", f->spec);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  snprintf(args, sizeof args,
           "-q simulate lidar -o '%s' level=raw scans=1 rays_per_scan=6 gates=6 raw_pulses=20 background_pulses=40",
           f->raw);
  assert_int_equal(cf_test_cli(args, NULL), 0);
  f->rewritten = rewrite_all(f);
  f->ctx = cf_test_ctx();
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  cf_ctx_destroy(f->ctx);
  free(f);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(h5py_is_installed),
      cmocka_unit_test(every_string_form_reads_as_the_original),
      cmocka_unit_test(utf8_text_arrives_unchanged),
      cmocka_unit_test(int64_and_float32_attributes),
      cmocka_unit_test(chunked_copy_with_extras_reads_back_bitwise),
      cmocka_unit_test(unavailable_filter_is_named),
      cmocka_unit_test(pulses_with_several_values_is_rejected),
      cmocka_unit_test(retrieval_on_h5py_copy_is_identical_spectra),
      cmocka_unit_test(retrieval_on_h5py_copy_is_identical_raw),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
