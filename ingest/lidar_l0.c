/*
 * Reader of lidar L0 files; see lidar_l0.h and ../shared/spec/lidar-l0.md.
 *
 * Shape of the code: small typed accessors (attribute as double, int or
 * string; dataset as float/int/double vector) that each check presence,
 * type class and rank, and push an error naming the file and the field.
 * cf_l0_open then reads the spec section by section. HDF5's own error
 * printing is switched off while we read: its stack dumps are noise to a
 * user, and our messages say the same thing in their terms.
 */
#include "ingest/lidar_l0.h"

#include "ingest/h5_chunk_rows.h"
#include "ingest/h5_read_error.h"

#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hid_t file;
  hid_t dset[2];    /* spectra on/off or raw on/off */
  hid_t bg_raw[2];  /* raw background records */
  cf_h5_rows *rows[2]; /* spectra on/off read past HDF5's filters where it applies (h5_chunk_rows.h), else NULL */
} h5_state;

/* --- HDF5 error silencing --------------------------------------------------- */

typedef struct {
  H5E_auto2_t fn;
  void *data;
} h5_quiet;

static void quiet_on(h5_quiet *q) {
  H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
static void quiet_off(const h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

/* --- typed accessors ---------------------------------------------------------- */

typedef struct {
  cf_ctx *ctx;
  const char *path;
  hid_t file;
  int64_t limit; /* max_bytes of cf_l0_open: no one allocation larger */
} rd;

static int exists(hid_t loc, const char *name) {
  /* H5Lexists on "a/b" fails if "a" is missing: check each component */
  char buf[256];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (buf[0] && H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
    *p = '/';
  }
  return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

typedef enum { ATTR_OK, ATTR_MISSING, ATTR_UNOPENED, ATTR_WRONG_CLASS, ATTR_NOT_SINGLE } attr_status;

/* Open attribute `name` of object `loc` if it is of class `want` and holds
 * one value: a scalar or a one-element dataspace (both are common). *npts
 * is the number of values found. */
static attr_status attr_find(hid_t loc, const char *name, H5T_class_t want, hid_t *a, long long *npts) {
  if (H5Aexists(loc, name) <= 0) return ATTR_MISSING;
  *a = H5Aopen(loc, name, H5P_DEFAULT);
  if (*a < 0) return ATTR_UNOPENED;
  hid_t t = H5Aget_type(*a), s = H5Aget_space(*a);
  H5T_class_t cls = H5Tget_class(t);
  *npts = (long long)H5Sget_simple_extent_npoints(s);
  H5Tclose(t);
  H5Sclose(s);
  attr_status st = cls != want ? ATTR_WRONG_CLASS : *npts != 1 ? ATTR_NOT_SINGLE : ATTR_OK;
  if (st != ATTR_OK) H5Aclose(*a);
  return st;
}

/* A root attribute, with the spec's rejection messages. */
static int attr_open(rd *r, const char *name, hid_t *a, H5T_class_t want, const char *want_name) {
  long long npts = 0;
  switch (attr_find(r->file, name, want, a, &npts)) {
  case ATTR_OK:
    return CF_OK;
  case ATTR_MISSING:
    return cf_error(r->ctx, CF_EDATA, r->path, name, "required root attribute is missing");
  case ATTR_UNOPENED:
    return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot open attribute");
  case ATTR_WRONG_CLASS:
    return cf_error(r->ctx, CF_EDATA, r->path, name, "wrong type: expected %s", want_name);
  default:
    return cf_error(r->ctx, CF_EDATA, r->path, name, "expected a single value, found %lld", npts);
  }
}

/* float32 and float64 alike: HDF5 converts to double. */
static int attr_double(rd *r, const char *name, double *v) {
  hid_t a;
  int rc = attr_open(r, name, &a, H5T_FLOAT, "a floating-point number (float64)");
  if (rc) return rc;
  herr_t e = H5Aread(a, H5T_NATIVE_DOUBLE, v);
  H5Aclose(a);
  if (e < 0) return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read attribute");
  if (!isfinite(*v)) return cf_error(r->ctx, CF_EDATA, r->path, name, "value is not finite (%g)", *v);
  return CF_OK;
}

static int attr_positive(rd *r, const char *name, double *v) {
  int rc = attr_double(r, name, v);
  if (!rc && !(*v > 0)) rc = cf_error(r->ctx, CF_EDATA, r->path, name, "must be > 0, got %g", *v);
  return rc;
}

/* Any integer width or signedness (h5py writes a Python int as int64), as
 * long as the value fits in an int32. */
static int attr_int(rd *r, const char *name, int *v) {
  hid_t a;
  int rc = attr_open(r, name, &a, H5T_INTEGER, "an integer (int32)");
  if (rc) return rc;
  long long x;
  herr_t e = H5Aread(a, H5T_NATIVE_LLONG, &x);
  H5Aclose(a);
  if (e < 0) return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read attribute");
  if (x < INT32_MIN || x > INT32_MAX)
    return cf_error(r->ctx, CF_EDATA, r->path, name, "value %lld out of int32 range", x);
  *v = (int)x;
  return CF_OK;
}

/* Copy `len` bytes of text into buf[cap], cut short (at a UTF-8 character
 * boundary) if it does not fit. */
static void copy_text(char *buf, size_t cap, const char *s, size_t len) {
  if (len >= cap) {
    len = cap - 1;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--; /* s[len] continues a character */
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
}

/* A string attribute in any form HDF5 stores: variable or fixed length,
 * ASCII or UTF-8, NUL-terminated, NUL-padded or space-padded. HDF5 does not
 * convert between character sets, so a variable-length string is read with
 * the file's cset; a fixed-length one is read byte for byte with a copy of
 * the file's own type, and its padding (trailing NULs and spaces) trimmed
 * here, whatever its pad flag claims. */
static int attr_string(rd *r, const char *name, char *buf, size_t cap) {
  hid_t a;
  int rc = attr_open(r, name, &a, H5T_STRING, "a string");
  if (rc) return rc;
  hid_t ft = H5Aget_type(a), mt = -1;
  if (H5Tis_variable_str(ft) > 0) {
    char *s = NULL;
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Aread(a, mt, &s) < 0)
      rc = cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read string");
    else
      copy_text(buf, cap, s ? s : "", s ? strlen(s) : 0); /* a NULL pointer is an empty string */
    H5free_memory(s);
  } else {
    size_t n = H5Tget_size(ft);
    char *s = calloc(n + 1, 1);
    mt = H5Tcopy(ft);
    if (!s || H5Aread(a, mt, s) < 0) {
      rc = cf_error(r->ctx, CF_EDATA, r->path, name, "cannot read string");
    } else {
      const char *nul = memchr(s, '\0', n);
      size_t len = nul ? (size_t)(nul - s) : n;
      while (len > 0 && s[len - 1] == ' ') len--;
      copy_text(buf, cap, s, len);
    }
    free(s);
  }
  H5Tclose(mt);
  H5Tclose(ft);
  H5Aclose(a);
  return rc;
}

/* The int32 attribute `pulses` of a background dataset (any integer width). */
static int attr_pulses(rd *r, hid_t d, const char *field, int32_t *out) {
  hid_t a;
  long long npts = 0, v = 0;
  switch (attr_find(d, "pulses", H5T_INTEGER, &a, &npts)) {
  case ATTR_OK:
    break;
  case ATTR_MISSING:
  case ATTR_UNOPENED:
    return cf_error(r->ctx, CF_EDATA, r->path, field, "integer attribute 'pulses' is missing");
  case ATTR_WRONG_CLASS:
    return cf_error(r->ctx, CF_EDATA, r->path, field,
                    "attribute 'pulses' has the wrong type: expected an integer (int32)");
  default:
    return cf_error(r->ctx, CF_EDATA, r->path, field, "attribute 'pulses': expected a single value, found %lld", npts);
  }
  herr_t e = H5Aread(a, H5T_NATIVE_LLONG, &v);
  H5Aclose(a);
  if (e < 0) return cf_error(r->ctx, CF_EDATA, r->path, field, "cannot read attribute 'pulses'");
  if (v <= 0 || v > INT32_MAX)
    return cf_error(r->ctx, CF_EDATA, r->path, field, "attribute 'pulses' must be > 0, got %lld", v);
  *out = (int32_t)v;
  return CF_OK;
}

/* Chunking, deflate and shuffle are read as they come (the spec); a filter
 * this HDF5 cannot apply (a plugin not installed, h5py's own LZF) would only
 * fail at the first read of a block, so name it when the dataset opens. */
static int filters_readable(rd *r, const char *name, hid_t d) {
  hid_t dcpl = H5Dget_create_plist(d);
  int nf = dcpl < 0 ? 0 : H5Pget_nfilters(dcpl), rc = CF_OK;
  for (int i = 0; i < nf && !rc; i++) {
    unsigned flags = 0, cfg = 0;
    size_t nvals = 0;
    char fname[80] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, NULL, sizeof fname, fname, &cfg);
    if (id < 0 || H5Zfilter_avail(id) <= 0)
      rc = cf_error(r->ctx, CF_EDATA, r->path, name,
                    "is stored with HDF5 filter %d (%s), which this HDF5 library cannot decode", (int)id,
                    fname[0] ? fname : "unnamed");
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  return rc;
}

/* Open dataset `name`, check class, rank and filters, return dims. */
static int dset_open(rd *r, const char *name, H5T_class_t want, const char *want_name, int rank,
                     hsize_t *dims, hid_t *out) {
  if (!exists(r->file, name)) return cf_error(r->ctx, CF_EDATA, r->path, name, "required dataset is missing");
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  /* a 16 MiB chunk cache per dataset: enough for a block of rays of any
   * realistic chunking, and the file's default (1 MiB) would thrash */
  H5Pset_chunk_cache(dapl, 12421, (size_t)16 << 20, 1.0);
  hid_t d = H5Dopen2(r->file, name, dapl);
  H5Pclose(dapl);
  if (d < 0) return cf_error(r->ctx, CF_EDATA, r->path, name, "cannot open dataset");
  hid_t t = H5Dget_type(d), s = H5Dget_space(d);
  H5T_class_t cls = H5Tget_class(t);
  int rk = H5Sget_simple_extent_ndims(s);
  if (rk == rank) H5Sget_simple_extent_dims(s, dims, NULL);
  H5Tclose(t);
  H5Sclose(s);
  if (cls != want) {
    H5Dclose(d);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "wrong type: expected %s", want_name);
  }
  if (rk != rank) {
    H5Dclose(d);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "wrong rank: expected %d dimension%s, found %d", rank,
                    rank == 1 ? "" : "s", rk);
  }
  int rc = filters_readable(r, name, d);
  if (rc) {
    H5Dclose(d);
    return rc;
  }
  *out = d;
  return CF_OK;
}

/* Read a whole 1-D dataset of length `n` (checked) as `memtype` into a new buffer. */
static int read_vector(rd *r, const char *name, H5T_class_t cls, hid_t memtype, size_t elsize, hsize_t n,
                       void **out) {
  hid_t d;
  hsize_t dims[1];
  int rc = dset_open(r, name, cls, cls == H5T_FLOAT ? "floating point" : "integer", 1, dims, &d);
  if (rc) return rc;
  if (dims[0] != n) {
    H5Dclose(d);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "has %llu values, expected %llu (inconsistent lengths)",
                    (unsigned long long)dims[0], (unsigned long long)n);
  }
  /* in double: n may be any 64-bit extent a file declares (n * elsize
   * could wrap to a small number) */
  if ((double)n * (double)elsize > (double)r->limit) {
    H5Dclose(d);
    return cf_error(r->ctx, CF_EDATA, r->path, name, "%llu values would not fit in memory (more than %lld bytes)",
                    (unsigned long long)n, (long long)r->limit);
  }
  *out = malloc(n ? n * elsize : 1);
  if (!*out) {
    H5Dclose(d);
    return cf_error(r->ctx, CF_ENOMEM, r->path, name, "out of memory");
  }
  if (n && H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
    rc = cf_h5_read_error(r->ctx, r->path, name, "read");
  H5Dclose(d);
  return rc;
}

/* Length of 1-D dataset `name` (any numeric class). */
static int vector_length(rd *r, const char *name, H5T_class_t cls, hsize_t *n) {
  hid_t d;
  int rc = dset_open(r, name, cls, cls == H5T_FLOAT ? "floating point" : "integer", 1, n, &d);
  if (!rc) H5Dclose(d);
  return rc;
}

/* --- public ------------------------------------------------------------------ */

double cf_l0_gate_range(const cf_l0_config *c, int g) {
  return c->range_offset + (c->gate_first + (double)g * c->gate_step + c->gate_samples / 2.0) *
                               CF_SPEED_OF_LIGHT / (2.0 * c->sample_rate);
}

int cf_l0_spectra_finite(const float *s, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(s[i])) return 0;
  return 1;
}

void cf_l0_close(cf_l0 *l0) {
  if (!l0) return;
  h5_state *h = l0->h5;
  if (h) {
    for (int k = 0; k < 2; k++) {
      if (h->dset[k] > 0) H5Dclose(h->dset[k]);
      if (h->bg_raw[k] > 0) H5Dclose(h->bg_raw[k]);
      cf_h5_rows_close(h->rows[k]);
    }
    if (h->file > 0) H5Fclose(h->file);
    free(h);
  }
  free(l0->path);
  free(l0->time);
  free(l0->azimuth);
  free(l0->elevation);
  free(l0->scan_id);
  free(l0->ray_ok);
  for (int k = 0; k < 2; k++) {
    free(l0->pulses[k]);
    free(l0->energy[k]);
    free(l0->background[k]);
    free(l0->pulse_ray[k]);
  }
  free(l0->meteo.time);
  free(l0->meteo.pressure);
  free(l0->meteo.temperature);
  free(l0->meteo.rh);
  free(l0);
}

/* elsize*a*b*c in bytes, or -1 if over the limit. Computed in double:
 * 53 bits are plenty to compare with a limit, and it cannot overflow. */
static int64_t checked_bytes(int64_t limit, int64_t elsize, int64_t a, int64_t b, int64_t c) {
  double v = (double)elsize * (double)a * (double)b * (double)c;
  return v > (double)limit ? -1 : (int64_t)v;
}

static int read_config(rd *r, cf_l0_config *c) {
  int rc;
  char s[128];
  if ((rc = attr_string(r, "format", s, sizeof s))) return rc;
  if (strcmp(s, "carbonflux-lidar-l0"))
    return cf_error(r->ctx, CF_EDATA, r->path, "format", "is '%s', expected 'carbonflux-lidar-l0'", s);
  if ((rc = attr_string(r, "format_version", s, sizeof s))) return rc;
  if (strcmp(s, "1.0"))
    return cf_error(r->ctx, CF_EDATA, r->path, "format_version", "is '%s'; this reader knows version 1.0", s);
  if ((rc = attr_string(r, "level", s, sizeof s))) return rc;
  if (!strcmp(s, "spectra"))
    c->level = CF_L0_SPECTRA;
  else if (!strcmp(s, "raw"))
    c->level = CF_L0_RAW;
  else
    return cf_error(r->ctx, CF_EDATA, r->path, "level", "is '%s', expected 'spectra' or 'raw'", s);
  if ((rc = attr_string(r, "instrument_id", c->instrument_id, sizeof c->instrument_id))) return rc;
  if ((rc = attr_double(r, "site_latitude_deg", &c->site_lat))) return rc;
  if ((rc = attr_double(r, "site_longitude_deg", &c->site_lon))) return rc;
  if ((rc = attr_double(r, "site_altitude_m", &c->site_alt))) return rc;
  if (fabs(c->site_lat) > 90) return cf_error(r->ctx, CF_EDATA, r->path, "site_latitude_deg", "%g is not a latitude", c->site_lat);
  if ((rc = attr_positive(r, "wavelength_on_m", &c->wavelength[CF_ON]))) return rc;
  if ((rc = attr_positive(r, "wavelength_off_m", &c->wavelength[CF_OFF]))) return rc;
  if ((rc = attr_positive(r, "sample_rate_hz", &c->sample_rate))) return rc;
  if ((rc = attr_positive(r, "aom_frequency_hz", &c->aom_frequency))) return rc;
  if ((rc = attr_positive(r, "pulse_repetition_hz", &c->pulse_repetition))) return rc;
  if ((rc = attr_positive(r, "pulse_width_s", &c->pulse_width))) return rc;
  if ((rc = attr_double(r, "range_offset_m", &c->range_offset))) return rc;
  if ((rc = attr_int(r, "gate_first_sample", &c->gate_first))) return rc;
  if ((rc = attr_int(r, "gate_samples", &c->gate_samples))) return rc;
  if ((rc = attr_int(r, "gate_step", &c->gate_step))) return rc;
  if ((rc = attr_int(r, "n_gates", &c->n_gates))) return rc;
  if ((rc = attr_int(r, "fft_size", &c->fft_size))) return rc;
  if (c->gate_first < 0) return cf_error(r->ctx, CF_EDATA, r->path, "gate_first_sample", "must be >= 0, got %d", c->gate_first);
  if (c->gate_samples < 2) return cf_error(r->ctx, CF_EDATA, r->path, "gate_samples", "must be >= 2, got %d", c->gate_samples);
  if (c->gate_step < 1) return cf_error(r->ctx, CF_EDATA, r->path, "gate_step", "must be >= 1, got %d", c->gate_step);
  if (c->n_gates < 1) return cf_error(r->ctx, CF_EDATA, r->path, "n_gates", "must be >= 1, got %d", c->n_gates);
  if (c->fft_size < c->gate_samples)
    return cf_error(r->ctx, CF_EDATA, r->path, "fft_size", "%d is smaller than gate_samples (%d)", c->fft_size,
                    c->gate_samples);
  if ((rc = attr_string(r, "window", s, sizeof s))) return rc;
  if (!strcmp(s, "hann"))
    c->window = CF_WINDOW_HANN;
  else if (!strcmp(s, "rect"))
    c->window = CF_WINDOW_RECT;
  else
    return cf_error(r->ctx, CF_EDATA, r->path, "window", "is '%s', expected 'hann' or 'rect'", s);
  /* the Doppler search needs the zero-velocity frequency inside the band */
  if (c->aom_frequency >= c->sample_rate / 2)
    return cf_error(r->ctx, CF_EDATA, r->path, "aom_frequency_hz", "%g Hz is not below the Nyquist frequency %g Hz",
                    c->aom_frequency, c->sample_rate / 2);
  return CF_OK;
}

/* One run of equal scan_id values: its id and first ray. */
typedef struct {
  int32_t id;
  hsize_t first;
} scan_run;

static int by_id_then_first(const void *a, const void *b) {
  const scan_run *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return x->first < y->first ? -1 : x->first > y->first;
}

/* The spec's "the rays of a scan are contiguous": no scan_id may start a
 * second run. The runs sorted by id put two runs of one scan side by side,
 * O(R log R) in the number of runs (a check of every run against every
 * earlier ray was quadratic in staring files, where each ray is a scan).
 * The message names the first rays of the scan's first two runs. */
static int scans_contiguous(rd *r, const cf_l0 *l0) {
  size_t nruns = 1;
  for (int i = 1; i < l0->n_rays; i++) nruns += l0->scan_id[i] != l0->scan_id[i - 1];
  scan_run *runs = malloc(nruns * sizeof *runs);
  if (!runs) return cf_error(r->ctx, CF_ENOMEM, r->path, "rays/scan_id", "out of memory");
  size_t k = 0;
  for (int i = 0; i < l0->n_rays; i++)
    if (i == 0 || l0->scan_id[i] != l0->scan_id[i - 1]) runs[k++] = (scan_run){l0->scan_id[i], (hsize_t)i};
  qsort(runs, nruns, sizeof *runs, by_id_then_first);
  int rc = CF_OK;
  for (size_t j = 1; j < nruns && !rc; j++)
    if (runs[j].id == runs[j - 1].id)
      rc = cf_error(r->ctx, CF_EDATA, r->path, "rays/scan_id", "scan %d is not contiguous (rays %llu and %llu)",
                    runs[j].id, (unsigned long long)runs[j - 1].first, (unsigned long long)runs[j].first);
  free(runs);
  return rc;
}

static int read_rays(rd *r, cf_l0 *l0) {
  hsize_t n;
  int rc = vector_length(r, "rays/time", H5T_FLOAT, &n);
  if (rc) return rc;
  if (n == 0) return cf_error(r->ctx, CF_EDATA, r->path, "rays/time", "the file has no rays");
  if (n > 100000000) return cf_error(r->ctx, CF_EDATA, r->path, "rays/time", "%llu rays would not fit in memory", (unsigned long long)n);
  l0->n_rays = (int)n;
  if ((rc = read_vector(r, "rays/time", H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, (void **)&l0->time))) return rc;
  if ((rc = read_vector(r, "rays/azimuth_deg", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, n, (void **)&l0->azimuth))) return rc;
  if ((rc = read_vector(r, "rays/elevation_deg", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, n, (void **)&l0->elevation))) return rc;
  if ((rc = read_vector(r, "rays/scan_id", H5T_INTEGER, H5T_NATIVE_INT32, 4, n, (void **)&l0->scan_id))) return rc;
  if ((rc = read_vector(r, "rays/pulses_on", H5T_INTEGER, H5T_NATIVE_INT32, 4, n, (void **)&l0->pulses[CF_ON]))) return rc;
  if ((rc = read_vector(r, "rays/pulses_off", H5T_INTEGER, H5T_NATIVE_INT32, 4, n, (void **)&l0->pulses[CF_OFF]))) return rc;
  if ((rc = read_vector(r, "rays/energy_on_j", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, n, (void **)&l0->energy[CF_ON]))) return rc;
  if ((rc = read_vector(r, "rays/energy_off_j", H5T_FLOAT, H5T_NATIVE_FLOAT, 4, n, (void **)&l0->energy[CF_OFF]))) return rc;
  l0->ray_ok = malloc(n);
  if (!l0->ray_ok) return cf_error(r->ctx, CF_ENOMEM, r->path, "rays", "out of memory");
  for (hsize_t i = 0; i < n; i++) {
    if (!isfinite(l0->time[i]))
      return cf_error(r->ctx, CF_EDATA, r->path, "rays/time", "ray %llu has a non-finite time", (unsigned long long)i);
    if (!isfinite(l0->azimuth[i]) || !isfinite(l0->elevation[i]) || l0->elevation[i] < -90 || l0->elevation[i] > 90)
      return cf_error(r->ctx, CF_EDATA, r->path, "rays/elevation_deg", "ray %llu has invalid angles (az %g, el %g)",
                      (unsigned long long)i, l0->azimuth[i], l0->elevation[i]);
    if (l0->pulses[CF_ON][i] < 0 || l0->pulses[CF_OFF][i] < 0)
      return cf_error(r->ctx, CF_EDATA, r->path, "rays/pulses_on", "ray %llu has a negative pulse count", (unsigned long long)i);
    /* a ray with no pulses (or no usable energy) is skipped, not fatal */
    l0->ray_ok[i] = l0->pulses[CF_ON][i] > 0 && l0->pulses[CF_OFF][i] > 0 && l0->energy[CF_ON][i] > 0 &&
                    l0->energy[CF_OFF][i] > 0 && isfinite(l0->energy[CF_ON][i]) && isfinite(l0->energy[CF_OFF][i]);
  }
  return scans_contiguous(r, l0);
}

static int read_meteo(rd *r, cf_l0 *l0) {
  hsize_t n;
  int rc = vector_length(r, "meteo/time", H5T_FLOAT, &n);
  if (rc) return rc;
  if (n == 0) return cf_error(r->ctx, CF_EDATA, r->path, "meteo/time", "no meteorological records");
  if (n > 100000000)
    return cf_error(r->ctx, CF_EDATA, r->path, "meteo/time", "%llu records would not fit in memory", (unsigned long long)n);
  cf_l0_meteo *m = &l0->meteo;
  m->n = (int)n;
  if ((rc = read_vector(r, "meteo/time", H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, (void **)&m->time))) return rc;
  if ((rc = read_vector(r, "meteo/pressure_pa", H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, (void **)&m->pressure))) return rc;
  if ((rc = read_vector(r, "meteo/temperature_k", H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, (void **)&m->temperature))) return rc;
  if ((rc = read_vector(r, "meteo/relative_humidity", H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, (void **)&m->rh))) return rc;
  for (hsize_t i = 0; i < n; i++) {
    if (!(m->pressure[i] > 10000 && m->pressure[i] < 120000))
      return cf_error(r->ctx, CF_EDATA, r->path, "meteo/pressure_pa", "record %llu: %g Pa is not a surface pressure",
                      (unsigned long long)i, m->pressure[i]);
    if (!(m->temperature[i] > 180 && m->temperature[i] < 340))
      return cf_error(r->ctx, CF_EDATA, r->path, "meteo/temperature_k", "record %llu: %g K is out of range",
                      (unsigned long long)i, m->temperature[i]);
    if (!(m->rh[i] >= 0 && m->rh[i] <= 1.05))
      return cf_error(r->ctx, CF_EDATA, r->path, "meteo/relative_humidity", "record %llu: %g is not in 0..1",
                      (unsigned long long)i, m->rh[i]);
    if (!isfinite(m->time[i]))
      return cf_error(r->ctx, CF_EDATA, r->path, "meteo/time", "record %llu has a non-finite time", (unsigned long long)i);
  }
  return CF_OK;
}

static int read_level_spectra(rd *r, cf_l0 *l0, h5_state *h, int64_t limit) {
  const cf_l0_config *c = &l0->cfg;
  int nb = cf_l0_nbins(c);
  if (checked_bytes(limit, 4, 2, c->n_gates, nb) < 0)
    return cf_error(r->ctx, CF_EDATA, r->path, "n_gates", "%d gates of %d bins would not fit in memory", c->n_gates, nb);
  const char *names[2] = {"spectra/on", "spectra/off"}, *bg[2] = {"background/on", "background/off"};
  for (int k = 0; k < 2; k++) {
    hsize_t d[3];
    int rc = dset_open(r, names[k], H5T_FLOAT, "floating point (float32)", 3, d, &h->dset[k]);
    if (rc) return rc;
    if (d[0] != (hsize_t)l0->n_rays || d[1] != (hsize_t)c->n_gates || d[2] != (hsize_t)nb)
      return cf_error(r->ctx, CF_EDATA, r->path, names[k],
                      "shape [%llu][%llu][%llu] does not match [n_rays=%d][n_gates=%d][fft_size/2+1=%d]",
                      (unsigned long long)d[0], (unsigned long long)d[1], (unsigned long long)d[2], l0->n_rays,
                      c->n_gates, nb);
    h->rows[k] = cf_h5_rows_open(h->dset[k], H5T_NATIVE_FLOAT);
    hid_t bd;
    hsize_t bdim[2];
    if ((rc = dset_open(r, bg[k], H5T_FLOAT, "floating point (float32)", 2, bdim, &bd))) return rc;
    if (bdim[0] != (hsize_t)c->n_gates || bdim[1] != (hsize_t)nb) {
      H5Dclose(bd);
      return cf_error(r->ctx, CF_EDATA, r->path, bg[k], "shape [%llu][%llu] does not match [n_gates=%d][%d]",
                      (unsigned long long)bdim[0], (unsigned long long)bdim[1], c->n_gates, nb);
    }
    l0->background[k] = malloc((size_t)c->n_gates * nb * sizeof(float));
    if (!l0->background[k]) {
      H5Dclose(bd);
      return cf_error(r->ctx, CF_ENOMEM, r->path, bg[k], "out of memory");
    }
    herr_t e = H5Dread(bd, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, l0->background[k]);
    rc = e < 0 ? cf_h5_read_error(r->ctx, r->path, bg[k], "read")
               : attr_pulses(r, bd, bg[k], &l0->background_pulses[k]);
    H5Dclose(bd);
    if (rc) return rc;
    if (!cf_l0_spectra_finite(l0->background[k], (int64_t)c->n_gates * nb))
      return cf_error(r->ctx, CF_EDATA, r->path, bg[k], "contains non-finite values");
  }
  return CF_OK;
}

static int read_level_raw(rd *r, cf_l0 *l0, h5_state *h, int64_t limit) {
  const cf_l0_config *c = &l0->cfg;
  const char *names[2] = {"raw/on", "raw/off"}, *rays[2] = {"raw/ray_on", "raw/ray_off"};
  const char *bg[2] = {"raw/background_on", "raw/background_off"};
  for (int k = 0; k < 2; k++) {
    hsize_t d[2];
    int rc = dset_open(r, names[k], H5T_INTEGER, "integer (int16)", 2, d, &h->dset[k]);
    if (rc) return rc;
    if (k == 0) l0->n_samples = (int64_t)d[1];
    if ((int64_t)d[1] != l0->n_samples)
      return cf_error(r->ctx, CF_EDATA, r->path, names[k], "has %llu samples per pulse, raw/on has %lld",
                      (unsigned long long)d[1], (long long)l0->n_samples);
    l0->n_pulses[k] = (int64_t)d[0];
    int64_t need = (int64_t)c->gate_first + (int64_t)(c->n_gates - 1) * c->gate_step + c->gate_samples;
    if (l0->n_samples < need)
      return cf_error(r->ctx, CF_EDATA, r->path, "n_gates",
                      "gates run past the end of a pulse record: they need %lld samples, %s has %lld",
                      (long long)need, names[k], (long long)l0->n_samples);
    if (checked_bytes(limit, 2, 64, l0->n_samples, 1) < 0)
      return cf_error(r->ctx, CF_EDATA, r->path, names[k], "%lld samples per pulse would not fit in memory",
                      (long long)l0->n_samples);
    if ((rc = read_vector(r, rays[k], H5T_INTEGER, H5T_NATIVE_INT32, 4, d[0], (void **)&l0->pulse_ray[k]))) return rc;
    for (int64_t p = 0; p < l0->n_pulses[k]; p++)
      if (l0->pulse_ray[k][p] < 0 || l0->pulse_ray[k][p] >= l0->n_rays)
        return cf_error(r->ctx, CF_EDATA, r->path, rays[k], "pulse %lld points to ray %d of %d", (long long)p,
                        l0->pulse_ray[k][p], l0->n_rays);
    hsize_t bd[2];
    if ((rc = dset_open(r, bg[k], H5T_INTEGER, "integer (int16)", 2, bd, &h->bg_raw[k]))) return rc;
    if ((int64_t)bd[1] != l0->n_samples)
      return cf_error(r->ctx, CF_EDATA, r->path, bg[k], "has %llu samples per record, the pulses have %lld",
                      (unsigned long long)bd[1], (long long)l0->n_samples);
    if (bd[0] == 0) return cf_error(r->ctx, CF_EDATA, r->path, bg[k], "no background records");
    l0->n_bg[k] = (int64_t)bd[0];
  }
  return CF_OK;
}

int cf_l0_open(cf_ctx *ctx, const char *path, int64_t max_bytes, cf_l0 **out) {
  *out = NULL;
  if (max_bytes <= 0) max_bytes = (int64_t)4 << 30;
  h5_quiet q;
  quiet_on(&q);
  int rc = CF_OK;
  cf_l0 *l0 = calloc(1, sizeof *l0);
  h5_state *h = calloc(1, sizeof *h);
  if (!l0 || !h || !(l0->path = strdup(path))) {
    free(h);
    cf_l0_close(l0);
    quiet_off(&q);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  l0->h5 = h;
  h->file = -1;
  h->dset[0] = h->dset[1] = h->bg_raw[0] = h->bg_raw[1] = -1;
  FILE *probe = fopen(path, "rb");
  if (!probe) {
    rc = cf_error(ctx, CF_ENOENT, path, "", "cannot open the lidar file");
    goto done;
  }
  fclose(probe);
  if (H5Fis_hdf5(path) <= 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "not an HDF5 file");
    goto done;
  }
  h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (h->file < 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "HDF5 cannot open the file");
    goto done;
  }
  rd r = {ctx, path, h->file, max_bytes};
  if ((rc = read_config(&r, &l0->cfg))) goto done;
  if ((rc = read_rays(&r, l0))) goto done;
  if ((rc = read_meteo(&r, l0))) goto done;
  rc = l0->cfg.level == CF_L0_SPECTRA ? read_level_spectra(&r, l0, h, max_bytes) : read_level_raw(&r, l0, h, max_bytes);
done:
  quiet_off(&q);
  if (rc) {
    cf_l0_close(l0);
    return rc;
  }
  *out = l0;
  return CF_OK;
}

/* Rows [first, first+count) of `d` (every other dimension whole) into buf:
 * CF_OK, or the failure's code with its reason in why[256], taken from
 * HDF5's error stack before any other HDF5 call (each clears it). */
static int read_rows(hid_t d, hid_t fs, int rank, const hsize_t *dims, hsize_t first, hsize_t count, hid_t memtype,
                     void *buf, char *why) {
  hsize_t start[3] = {first, 0, 0}, cnt[3] = {count, 0, 0};
  for (int i = 1; i < rank; i++) cnt[i] = dims[i];
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
  hid_t ms = H5Screate_simple(rank, cnt, NULL);
  int rc = H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf) < 0 ? cf_h5_read_failure(why, 256) : CF_OK;
  H5Sclose(ms);
  return rc;
}

/* A block that failed to read: read it again chunk by chunk, so that the
 * message can name the chunk whose content is bad (a block of rays spans
 * several chunks), and say why from HDF5's error stack (h5_read_error.h). */
static int block_failure(cf_ctx *ctx, const char *path, const char *name, hid_t d, hid_t fs, int rank,
                         const hsize_t *dims, hsize_t first, hsize_t count, hid_t memtype, void *buf, int code,
                         const char *why) {
  char chunk_why[256];
  hsize_t chunk[3] = {0, 0, 0};
  hid_t dcpl = H5Dget_create_plist(d);
  int chunked = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, rank, chunk) == rank &&
                chunk[0] > 0;
  if (dcpl >= 0) H5Pclose(dcpl);
  chunked = chunked && code != CF_EIO; /* a system error is not a chunk's: no chunk to name */
  size_t row_bytes = H5Tget_size(memtype);
  for (int i = 1; i < rank; i++) row_bytes *= (size_t)dims[i];
  for (hsize_t row = first; chunked && row < first + count;) {
    hsize_t c0 = row / chunk[0] * chunk[0], end = c0 + chunk[0] < first + count ? c0 + chunk[0] : first + count;
    int rc = read_rows(d, fs, rank, dims, row, end - row, memtype, (char *)buf + (row - first) * row_bytes, chunk_why);
    if (rc) {
      hsize_t c1 = c0 + chunk[0] < dims[0] ? c0 + chunk[0] : dims[0];
      return cf_error(ctx, rc, path, name, "records %llu..%llu: the chunk at records %llu..%llu: %s",
                      (unsigned long long)first, (unsigned long long)(first + count - 1), (unsigned long long)c0,
                      (unsigned long long)(c1 - 1), chunk_why);
    }
    row = end;
  }
  /* not chunked, or every chunk read on its own: the block's own failure */
  return cf_error(ctx, code, path, name, "records %llu..%llu: %s", (unsigned long long)first,
                  (unsigned long long)(first + count - 1), why);
}

static int read_block(cf_ctx *ctx, const char *path, const char *name, hid_t d, int rank, hsize_t first,
                      hsize_t count, hid_t memtype, void *buf) {
  hid_t fs = H5Dget_space(d);
  hsize_t dims[3];
  H5Sget_simple_extent_dims(fs, dims, NULL);
  if (first + count > dims[0]) {
    H5Sclose(fs);
    return cf_error(ctx, CF_EINVAL, path, name, "block %llu+%llu is past the end (%llu)", (unsigned long long)first,
                    (unsigned long long)count, (unsigned long long)dims[0]);
  }
  h5_quiet q;
  quiet_on(&q);
  char why[256];
  int rc = read_rows(d, fs, rank, dims, first, count, memtype, buf, why);
  if (rc) rc = block_failure(ctx, path, name, d, fs, rank, dims, first, count, memtype, buf, rc, why);
  quiet_off(&q);
  H5Sclose(fs);
  return rc;
}

int cf_l0_read_spectra(cf_ctx *ctx, cf_l0 *l0, int which, int ray0, int n, float *buf) {
  h5_state *h = l0->h5;
  if (l0->cfg.level != CF_L0_SPECTRA) return cf_error(ctx, CF_EINVAL, l0->path, "level", "not a spectra-level file");
  /* the direct path where it applies; anything it cannot do (or a chunk it
   * finds corrupt) is read by HDF5, which then also says what is wrong */
  if (h->rows[which] && ray0 >= 0 && n >= 0 && ray0 + n <= l0->n_rays) {
    h5_quiet q;
    quiet_on(&q);
    int d = cf_h5_rows_read(h->rows[which], (size_t)ray0, (size_t)n, buf);
    quiet_off(&q);
    if (d == CF_H5ROWS_OK) return CF_OK;
  }
  return read_block(ctx, l0->path, which == CF_ON ? "spectra/on" : "spectra/off", h->dset[which], 3, (hsize_t)ray0,
                    (hsize_t)n, H5T_NATIVE_FLOAT, buf);
}

int cf_l0_read_raw(cf_ctx *ctx, cf_l0 *l0, int which, int64_t p0, int64_t n, int16_t *buf) {
  h5_state *h = l0->h5;
  if (l0->cfg.level != CF_L0_RAW) return cf_error(ctx, CF_EINVAL, l0->path, "level", "not a raw-level file");
  return read_block(ctx, l0->path, which == CF_ON ? "raw/on" : "raw/off", h->dset[which], 2, (hsize_t)p0, (hsize_t)n,
                    H5T_NATIVE_INT16, buf);
}

int cf_l0_read_raw_background(cf_ctx *ctx, cf_l0 *l0, int which, int64_t r0, int64_t n, int16_t *buf) {
  h5_state *h = l0->h5;
  if (l0->cfg.level != CF_L0_RAW) return cf_error(ctx, CF_EINVAL, l0->path, "level", "not a raw-level file");
  return read_block(ctx, l0->path, which == CF_ON ? "raw/background_on" : "raw/background_off", h->bg_raw[which], 2,
                    (hsize_t)r0, (hsize_t)n, H5T_NATIVE_INT16, buf);
}

int cf_l0_meteo_at(const cf_l0 *l0, double t, double *p, double *T, double *rh) {
  const cf_l0_meteo *m = &l0->meteo;
  int best = 0;
  for (int i = 1; i < m->n; i++)
    if (fabs(m->time[i] - t) < fabs(m->time[best] - t)) best = i;
  *p = m->pressure[best];
  *T = m->temperature[best];
  *rh = m->rh[best];
  return CF_OK;
}
