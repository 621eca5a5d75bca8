/*
 * The structure-aware L0 writer; see l0_builder.h for why.
 *
 * The input is read a byte at a time, in a fixed order: the sizes, then
 * every root attribute of the spec, then every dataset. Each object takes
 * a "mode" byte: values 0..9 write it as the spec says (so 0, what an
 * exhausted input gives, is valid), 10 leaves it out, 11 gives it the
 * wrong class, 12 the wrong shape, 13 a value or length from the input,
 * 14 a special value or a huge extent, 15 something else in its place.
 */
#include "fuzz/l0_builder.h"

#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- reading the input ------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t n, i;
} input;

static unsigned next_byte(input *in) { return in->i < in->n ? in->p[in->i++] : 0; }
static unsigned pick(input *in, unsigned k) { return next_byte(in) % k; }
static uint64_t next_u64(input *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | next_byte(in);
  return v;
}
static double next_f64(input *in) {
  uint64_t v = next_u64(in);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

enum { MODE_OMIT = 10, MODE_CLASS = 11, MODE_SHAPE = 12, MODE_INPUT = 13, MODE_SPECIAL = 14, MODE_OTHER = 15 };
static unsigned next_mode(input *in) { return pick(in, 16); }

/* --- the file's intended sizes ------------------------------------------------- */

typedef struct {
  int raw;
  int n_rays, n_gates, gate_samples, gate_step, gate_first, fft, nb, n_meteo;
  long long n_samples, n_pulses[2], n_bg[2];
} plan;

static void read_plan(input *in, plan *p) {
  unsigned b = next_byte(in);
  p->raw = b & 1;
  unsigned v = pick(in, 6);
  p->n_rays = v == 0 ? 3 : (int)v - 1; /* 0 rays is a reject */
  v = pick(in, 9);
  p->gate_samples = v == 0 ? 8 : 1 + (int)v; /* 2..9 */
  v = next_byte(in);
  p->gate_step = v == 0 ? p->gate_samples : 1 + (int)(v % (unsigned)p->gate_samples);
  v = pick(in, 7);
  p->n_gates = v == 0 ? 4 : (int)v - 1; /* 0 gates is a reject */
  v = pick(in, 17);
  p->gate_first = v == 0 ? 8 : (int)v - 1;
  int pow2 = 2;
  while (pow2 < 2 * p->gate_samples) pow2 *= 2;
  v = pick(in, 8);
  p->fft = v == 0 ? pow2 : v == 1 ? p->gate_samples : v == 2 ? p->gate_samples - 1 : v == 3 ? 2 * pow2
                                                                                   : (int)v * 5;
  p->nb = p->fft / 2 + 1;
  v = pick(in, 5);
  p->n_meteo = v == 0 ? 2 : (int)v - 1;
  long long need = p->gate_first + (long long)(p->n_gates > 0 ? p->n_gates - 1 : 0) * p->gate_step + p->gate_samples;
  v = pick(in, 5);
  p->n_samples = v == 0 ? need : need + (int)v - 3; /* a sample short, or more */
  if (p->n_samples < 1) p->n_samples = 1;
  for (int k = 0; k < 2; k++) {
    v = pick(in, 8);
    p->n_pulses[k] = v == 0 ? 2LL * p->n_rays : (long long)v - 1;
    v = pick(in, 4);
    p->n_bg[k] = v == 0 ? 2 : (long long)v - 1;
  }
}

/* --- attributes ------------------------------------------------------------------ */

static const double SPECIAL_DOUBLES[8] = {0.0, -1.0, NAN, INFINITY, -INFINITY, 1e300, 5e-324, -0.0};
static const long long SPECIAL_INTS[8] = {0, -1, 1, INT32_MAX, INT32_MIN, INT64_MAX, 1LL << 31, 65536};
static const char *const SPECIAL_STRINGS[8] = {
    "", " ", "spectra ", "carbonflux-lidar-l0   ", "hann\xc3\xa9", "1.0\n", "\xff\xfe\xfd",
    "a long value, longer than any field of the reader holds: "
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"};

/* The dataspace of an attribute or scalar-like value: scalar or [1] when
 * valid; [2], [0] or null for the wrong shape. *nelem = values to write. */
static hid_t attr_space(input *in, unsigned mode, unsigned enc, hsize_t *nelem) {
  if (mode == MODE_SHAPE) {
    unsigned s = pick(in, 3);
    if (s == 2) return *nelem = 0, H5Screate(H5S_NULL);
    hsize_t d = s == 0 ? 2 : 0;
    *nelem = d;
    return H5Screate_simple(1, &d, NULL);
  }
  *nelem = 1;
  if (enc & 0x10) {
    hsize_t one = 1;
    return H5Screate_simple(1, &one, NULL);
  }
  return H5Screate(H5S_SCALAR);
}

static void put_string_attr(hid_t loc, const char *name, hid_t space, hsize_t nelem, unsigned enc, const char *s,
                            size_t len) {
  hid_t t = H5Tcopy(H5T_C_S1);
  int var = enc & 1;
  H5Tset_cset(t, (enc >> 1) & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
  H5T_str_t pad = (enc >> 2) % 3 == 0 ? H5T_STR_NULLTERM : (enc >> 2) % 3 == 1 ? H5T_STR_NULLPAD : H5T_STR_SPACEPAD;
  size_t size = len + ((enc >> 5) & 3); /* 0 extra: no room for a NUL */
  if (size == 0) size = 1;
  if (var)
    H5Tset_size(t, H5T_VARIABLE);
  else
    H5Tset_size(t, size);
  H5Tset_strpad(t, pad);
  hid_t a = H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0 && nelem > 0) {
    if (var) {
      char *copy = malloc(len + 1); /* a C string: an embedded NUL ends it */
      if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
        const char *ptrs[2] = {copy, copy};
        H5Awrite(a, t, ptrs);
        free(copy);
      }
    } else {
      char *buf = malloc(size * nelem);
      if (buf) {
        for (hsize_t e = 0; e < nelem; e++) {
          memset(buf + e * size, pad == H5T_STR_SPACEPAD ? ' ' : 0, size);
          memcpy(buf + e * size, s, len < size ? len : size);
        }
        H5Awrite(a, t, buf);
        free(buf);
      }
    }
  }
  if (a >= 0) H5Aclose(a);
  H5Tclose(t);
}

static hid_t float_type(unsigned sel) {
  static const hid_t *const types[4] = {&H5T_IEEE_F64LE_g, &H5T_IEEE_F32LE_g, &H5T_IEEE_F64BE_g, &H5T_IEEE_F32BE_g};
  H5open();
  return *types[sel % 4];
}

static hid_t int_type(unsigned sel) {
  H5open();
  switch (sel % 10) {
    case 0: return H5T_STD_I32LE;
    case 1: return H5T_STD_I64LE;
    case 2: return H5T_STD_I16LE;
    case 3: return H5T_STD_I8LE;
    case 4: return H5T_STD_U8LE;
    case 5: return H5T_STD_U16LE;
    case 6: return H5T_STD_U32LE;
    case 7: return H5T_STD_U64LE;
    case 8: return H5T_STD_I32BE;
    default: return H5T_STD_I64BE;
  }
}

static void put_number_attr(hid_t loc, const char *name, hid_t space, hsize_t nelem, hid_t ftype, int is_int,
                            double d, long long i) {
  hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return;
  if (nelem > 0) {
    double dv[2] = {d, d};
    long long iv[2] = {i, i};
    H5Awrite(a, is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, is_int ? (void *)iv : (void *)dv);
  }
  H5Aclose(a);
}

/* One attribute of kind 's' (string), 'd' (float64) or 'i' (int32) with its valid value. */
static void write_attr(hid_t loc, input *in, const char *name, char kind, const char *sval, double dval,
                       long long ival) {
  unsigned mode = next_mode(in);
  if (mode == MODE_OMIT) return;
  unsigned enc = next_byte(in);
  char buf[48];
  const char *s = sval;
  size_t slen = sval ? strlen(sval) : 0;
  if (mode == MODE_INPUT) {
    slen = pick(in, sizeof buf);
    for (size_t k = 0; k < slen; k++) buf[k] = (char)next_byte(in);
    s = buf;
    dval = next_f64(in);
    ival = (long long)next_u64(in);
  } else if (mode == MODE_SPECIAL) {
    unsigned k = pick(in, 8);
    s = SPECIAL_STRINGS[k];
    slen = strlen(s);
    dval = SPECIAL_DOUBLES[k];
    ival = SPECIAL_INTS[k];
  }
  if (mode == MODE_CLASS) kind = kind == 's' ? 'i' : kind == 'd' ? 's' : 'd';
  if (mode == MODE_CLASS && kind == 's') s = "1.5", slen = 3;
  if (mode == MODE_CLASS && kind == 'd') dval = (double)ival;
  hsize_t nelem;
  hid_t space = attr_space(in, mode, enc, &nelem);
  if (space < 0) return;
  if (kind == 's')
    put_string_attr(loc, name, space, nelem, enc, s ? s : "", slen);
  else if (kind == 'd')
    put_number_attr(loc, name, space, nelem, float_type(enc >> 6), 0, dval, 0);
  else
    put_number_attr(loc, name, space, nelem, int_type(enc >> 4), 1, 0, ival);
  H5Sclose(space);
}

static void write_root_attrs(hid_t f, input *in, const plan *p) {
  write_attr(f, in, "format", 's', "carbonflux-lidar-l0", 0, 0);
  write_attr(f, in, "format_version", 's', "1.0", 0, 0);
  write_attr(f, in, "level", 's', p->raw ? "raw" : "spectra", 0, 0);
  write_attr(f, in, "instrument_id", 's', "fuzz-cdal", 0, 0);
  write_attr(f, in, "site_latitude_deg", 'd', NULL, 31.0, 0);
  write_attr(f, in, "site_longitude_deg", 'd', NULL, 117.0, 0);
  write_attr(f, in, "site_altitude_m", 'd', NULL, 30.0, 0);
  write_attr(f, in, "wavelength_on_m", 'd', NULL, 1572.3351e-9, 0);
  write_attr(f, in, "wavelength_off_m", 'd', NULL, 1572.1788e-9, 0);
  write_attr(f, in, "sample_rate_hz", 'd', NULL, 5e8, 0);
  write_attr(f, in, "aom_frequency_hz", 'd', NULL, 8e7, 0);
  write_attr(f, in, "pulse_repetition_hz", 'd', NULL, 1e4, 0);
  write_attr(f, in, "pulse_width_s", 'd', NULL, 2e-7, 0);
  write_attr(f, in, "range_offset_m", 'd', NULL, 0.0, 0);
  write_attr(f, in, "gate_first_sample", 'i', NULL, 0, p->gate_first);
  write_attr(f, in, "gate_samples", 'i', NULL, 0, p->gate_samples);
  write_attr(f, in, "gate_step", 'i', NULL, 0, p->gate_step);
  write_attr(f, in, "n_gates", 'i', NULL, 0, p->n_gates);
  write_attr(f, in, "fft_size", 'i', NULL, 0, p->fft);
  write_attr(f, in, "window", 's', "hann", 0, 0);
}

/* --- datasets ---------------------------------------------------------------------- */

typedef enum {
  T_RAY_TIME, T_AZIMUTH, T_ELEVATION, T_SCAN, T_PULSES, T_ENERGY, T_MET_TIME, T_PRESSURE, T_TEMPERATURE, T_RH,
  T_SPECTRA, T_BACKGROUND, T_RAW, T_PULSE_RAY
} tmpl;

/* The valid value of element i of a dataset (its last dimension `inner`). */
static double template_value(tmpl t, size_t i, const plan *p, long long npulses) {
  switch (t) {
    case T_RAY_TIME: return 1.7e9 + (double)i;
    case T_AZIMUTH: return (double)(i * 90 % 360);
    case T_ELEVATION: return 75.0;
    case T_SCAN: return (double)(i / 4);
    case T_PULSES: return 2.0;
    case T_ENERGY: return 1e-4;
    case T_MET_TIME: return 1.7e9 + 60.0 * (double)i;
    case T_PRESSURE: return 101325.0 - (double)i;
    case T_TEMPERATURE: return 288.0;
    case T_RH: return 0.5;
    case T_SPECTRA: return 1.0 + (double)(i % 5);
    case T_BACKGROUND: return 1.0 + 0.5 * (double)(i % 3);
    case T_RAW: return (double)((long long)(i * 37 % 2001) - 1000);
    case T_PULSE_RAY: return p->n_rays > 0 && npulses > 0 ? (double)((long long)i * p->n_rays / npulses) : 0.0;
  }
  return 0.0;
}

enum { MAX_ELEMENTS = 1 << 16 };

/* Dataset `name` of class 'f' (floating point) or 'i' (integer), rank and
 * dims as the spec says, values from template t. Returns the dataset (the
 * caller closes it) or -1 when it was not made a dataset. */
static hid_t write_dset(hid_t f, input *in, const char *name, char cls, int rank, const hsize_t *dims_in, tmpl t,
                        const plan *p) {
  unsigned mode = next_mode(in);
  if (mode == MODE_OMIT) return -1;
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  if (mode == MODE_OTHER) { /* a group, or a link to nothing, where the dataset should be */
    if (pick(in, 2)) {
      hid_t g = H5Gcreate2(f, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
      if (g >= 0) H5Gclose(g);
    } else {
      H5Lcreate_soft("/no/such/object", f, name, lcpl, H5P_DEFAULT);
    }
    H5Pclose(lcpl);
    return -1;
  }
  hsize_t dims[4] = {0, 0, 0, 0};
  memcpy(dims, dims_in, (size_t)rank * sizeof *dims);
  int huge = 0;
  if (mode == MODE_CLASS) cls = cls == 'f' ? 'i' : 'f';
  if (mode == MODE_SHAPE) {
    if (rank == 1 || pick(in, 2)) dims[rank++] = 2; /* one dimension more */
    else rank--;                                     /* one less */
  }
  if (mode == MODE_INPUT) {
    unsigned k = pick(in, (unsigned)rank);
    unsigned how = pick(in, 3);
    dims[k] = how == 0 ? 0 : how == 1 ? dims[k] + 1 : (dims[k] ? dims[k] - 1 : 1);
  }
  if (mode == MODE_SPECIAL) { /* a huge extent: chunked, never written, read as fill values */
    dims[0] = (hsize_t)1 << (16 + pick(in, 47));
    huge = 1;
  }
  unsigned storage = next_byte(in);
  hsize_t total = 1;
  for (int k = 0; k < rank; k++) total = dims[k] && total > (hsize_t)-1 / dims[k] ? (hsize_t)-1 : total * dims[k];
  hid_t ftype = cls == 'f' ? float_type(storage >> 4) : int_type(storage >> 4);
  int layout = huge ? 1 : (int)(storage % 5);
  if (layout == 4 && total * H5Tget_size(ftype) > 32000) layout = 0; /* compact holds at most 64 KiB */
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t maxdims[4], chunk[4];
  for (int k = 0; k < rank; k++) {
    maxdims[k] = layout >= 1 && layout <= 3 ? H5S_UNLIMITED : dims[k];
    chunk[k] = dims[k] == 0 ? 1 : dims[k] > 4 ? 4 : dims[k];
  }
  if (layout >= 1 && layout <= 3) {
    H5Pset_chunk(dcpl, rank, chunk);
    if (layout == 3) {
      H5Pset_shuffle(dcpl);
      H5Pset_fletcher32(dcpl);
    }
    if (layout >= 2) H5Pset_deflate(dcpl, 1);
  } else if (layout == 4) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  hid_t space = H5Screate_simple(rank, dims, maxdims);
  hid_t d = space >= 0 ? H5Dcreate2(f, name, ftype, space, lcpl, dcpl, H5P_DEFAULT) : -1;
  if (d >= 0 && !huge && total > 0 && total <= MAX_ELEMENTS) {
    unsigned style = pick(in, 8); /* 0..5 valid values, 6 one special value, 7 values from the input */
    double *v = malloc(total * sizeof *v);
    long long *iv = malloc(total * sizeof *iv);
    if (v && iv) {
      long long npulses = t == T_PULSE_RAY ? (long long)dims[0] : 0;
      for (hsize_t e = 0; e < total; e++) v[e] = template_value(t, e, p, npulses);
      if (style == 6) v[next_byte(in) % total] = SPECIAL_DOUBLES[pick(in, 8)];
      for (hsize_t e = 0; style == 7 && e < total && e < 64; e++)
        v[e] = cls == 'f' ? next_f64(in) : (double)(int64_t)next_u64(in);
      for (hsize_t e = 0; e < total; e++)
        iv[e] = isfinite(v[e]) && fabs(v[e]) < 9e18 ? (long long)v[e] : (v[e] > 0 ? INT64_MAX : INT64_MIN);
      H5Dwrite(d, cls == 'f' ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT,
               cls == 'f' ? (void *)v : (void *)iv);
    }
    free(v);
    free(iv);
  }
  if (space >= 0) H5Sclose(space);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  return d;
}

static void write_1d(hid_t f, input *in, const char *name, char cls, hsize_t n, tmpl t, const plan *p) {
  hid_t d = write_dset(f, in, name, cls, 1, &n, t, p);
  if (d >= 0) H5Dclose(d);
}

/* The per-ray and meteorological vectors of the spec, in its order. */
static const struct {
  const char *name;
  char cls;
  int meteo; /* length n_meteo, else n_rays */
  tmpl t;
} VECTORS[] = {{"rays/time", 'f', 0, T_RAY_TIME},
               {"rays/azimuth_deg", 'f', 0, T_AZIMUTH},
               {"rays/elevation_deg", 'f', 0, T_ELEVATION},
               {"rays/scan_id", 'i', 0, T_SCAN},
               {"rays/pulses_on", 'i', 0, T_PULSES},
               {"rays/pulses_off", 'i', 0, T_PULSES},
               {"rays/energy_on_j", 'f', 0, T_ENERGY},
               {"rays/energy_off_j", 'f', 0, T_ENERGY},
               {"meteo/time", 'f', 1, T_MET_TIME},
               {"meteo/pressure_pa", 'f', 1, T_PRESSURE},
               {"meteo/temperature_k", 'f', 1, T_TEMPERATURE},
               {"meteo/relative_humidity", 'f', 1, T_RH}};

static void write_datasets(hid_t f, input *in, const plan *p) {
  hsize_t nr = (hsize_t)p->n_rays;
  for (size_t i = 0; i < sizeof VECTORS / sizeof *VECTORS; i++)
    write_1d(f, in, VECTORS[i].name, VECTORS[i].cls, VECTORS[i].meteo ? (hsize_t)p->n_meteo : nr, VECTORS[i].t, p);
  const char *on_off[2] = {"on", "off"};
  char name[64];
  for (int k = 0; k < 2; k++) {
    if (!p->raw) {
      hsize_t sd[3] = {nr, (hsize_t)p->n_gates, (hsize_t)p->nb}, bd[2] = {(hsize_t)p->n_gates, (hsize_t)p->nb};
      snprintf(name, sizeof name, "spectra/%s", on_off[k]);
      hid_t d = write_dset(f, in, name, 'f', 3, sd, T_SPECTRA, p);
      if (d >= 0) H5Dclose(d);
      snprintf(name, sizeof name, "background/%s", on_off[k]);
      d = write_dset(f, in, name, 'f', 2, bd, T_BACKGROUND, p);
      if (d >= 0) {
        write_attr(d, in, "pulses", 'i', NULL, 0, 100);
        H5Dclose(d);
      }
    } else {
      hsize_t rd[2] = {(hsize_t)p->n_pulses[k], (hsize_t)p->n_samples};
      hsize_t bd[2] = {(hsize_t)p->n_bg[k], (hsize_t)p->n_samples};
      snprintf(name, sizeof name, "raw/%s", on_off[k]);
      hid_t d = write_dset(f, in, name, 'i', 2, rd, T_RAW, p);
      if (d >= 0) H5Dclose(d);
      snprintf(name, sizeof name, "raw/ray_%s", on_off[k]);
      write_1d(f, in, name, 'i', (hsize_t)p->n_pulses[k], T_PULSE_RAY, p);
      snprintf(name, sizeof name, "raw/background_%s", on_off[k]);
      d = write_dset(f, in, name, 'i', 2, bd, T_RAW, p);
      if (d >= 0) H5Dclose(d);
    }
  }
}

static int write_file(const char *path, input *in);

int cf_fuzz_l0_write(const char *path, const uint8_t *data, size_t size) {
  input in = {data, size, 0};
  /* objects the input makes impossible are just not written: no report */
  H5E_auto2_t report;
  void *report_data;
  H5Eget_auto2(H5E_DEFAULT, &report, &report_data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int rc = write_file(path, &in);
  H5Eset_auto2(H5E_DEFAULT, report, report_data);
  return rc;
}

static int write_file(const char *path, input *in) {
  plan p;
  read_plan(in, &p);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* built in memory, written out once at close */
  H5Pset_fapl_core(fapl, (size_t)1 << 16, 1);
  unsigned v = next_byte(in) % 3;
  H5Pset_libver_bounds(fapl, v == 0 ? H5F_LIBVER_EARLIEST : v == 1 ? H5F_LIBVER_V18 : H5F_LIBVER_V110,
                       H5F_LIBVER_LATEST);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return -1;
  write_root_attrs(f, in, &p);
  write_datasets(f, in, &p);
  return H5Fclose(f) < 0 ? -1 : 0;
}
