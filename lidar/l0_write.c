/* The L0 writer; see l0_write.h. */
#include "lidar/l0_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"

struct cf_l0_writer {
  cf_atomic_file af;
  hid_t file;
  hid_t big[2];      /* spectra/on,off or raw/on,off */
  hid_t ray_of[2];   /* raw/ray_on,off */
  hid_t bgraw[2];    /* raw/background_on,off */
  cf_l0_config cfg;
  cf_l0_sizes sz;
  char why[256];     /* reason of the first failure ("No space left on device") */
};

/* --- failures: their reason, and a clean way out -------------------------------
 *
 * HDF5 1.10 does not survive a failed H5Fclose: the file stays half-closed
 * and the library's own atexit handler crashes on it (a full disk made
 * `simulate` and `lidar process` die with SIGSEGV at exit). So a writer
 * that failed points the part file's descriptors at an unlinked scratch
 * file in /dev/shm (memory) first: the closes then succeed, the library stays sound, and the part file, which
 * is removed anyway, is never touched again. A successful writer flushes
 * before it closes, so that a full disk shows as a failed flush, not as a
 * failed close. */

static herr_t why_cb(unsigned n, const H5E_error2_t *e, void *user) {
  char *why = user;
  const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
  if (p) {
    int en = atoi(p + 8);
    if (en > 0) snprintf(why, 256, "%s", strerror(en));
    return 1; /* the system's reason: stop here */
  }
  if (n == 0 && e->desc) snprintf(why, 256, "HDF5: %s", e->desc);
  return 0;
}

void cf_h5_failure_reason(char *why, size_t n) {
  char buf[256] = "";
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, why_cb, buf);
  if (!buf[0]) snprintf(buf, sizeof buf, "%s", errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EIO
                                                    ? strerror(errno)
                                                    : "HDF5 error");
  snprintf(why, n, "%s", buf);
}

void cf_discard_open_file(const char *path) {
  struct stat target;
  if (!path || stat(path, &target) != 0) return;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int dfd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd == dfd) continue;
    struct stat st;
    if (fstat((int)fd, &st) != 0 || st.st_dev != target.st_dev || st.st_ino != target.st_ino) continue;
    /* an unlinked file in memory takes the remaining writes and the final
     * truncate (which /dev/null refuses); /dev/null if there is none */
    char tmp[] = "/dev/shm/.carbonflux-discard-XXXXXX";
    int nul = mkstemp(tmp);
    if (nul >= 0)
      unlink(tmp);
    else
      nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, (int)fd);
      close(nul);
    }
  }
  closedir(d);
}

static int fail(cf_l0_writer *w) {
  if (!w->why[0]) cf_h5_failure_reason(w->why, sizeof w->why);
  return -1;
}

static int attr_str(hid_t loc, const char *name, const char *v) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, t, v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  return e < 0 ? -1 : 0;
}

static int attr_num(hid_t loc, const char *name, hid_t filetype, hid_t memtype, const void *v) {
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, filetype, s, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, memtype, v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  return e < 0 ? -1 : 0;
}

static int attr_f64(hid_t loc, const char *name, double v) {
  return attr_num(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}
static int attr_i32(hid_t loc, const char *name, int v) {
  return attr_num(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v);
}

/* A chunked, deflated dataset; chunk = one record (row) x whole inner dims,
 * capped so a chunk stays around 1 MiB. Integer records are mostly
 * receiver noise, which deflate barely shrinks: level 1 there (3x faster
 * than 4 for the same size within a few per cent), level 4 elsewhere. */
static hid_t make_dset(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims, size_t elsize) {
  hid_t s = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[3];
  size_t inner = elsize;
  for (int i = 1; i < rank; i++) chunk[i] = dims[i], inner *= dims[i];
  hsize_t rows = inner ? (1u << 20) / inner : 1;
  if (rows < 1) rows = 1;
  if (rows > dims[0]) rows = dims[0] ? dims[0] : 1;
  chunk[0] = rows;
  H5Pset_chunk(dcpl, rank, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, H5Tget_class(type) == H5T_INTEGER && elsize == 2 ? 1 : 4);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t d = H5Dcreate2(file, name, type, s, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Sclose(s);
  return d;
}

static int write_vec(cf_l0_writer *w, const char *name, hid_t ftype, hid_t mtype, size_t elsize, hsize_t n,
                     const void *v) {
  hid_t d = make_dset(w->file, name, ftype, 1, &n, elsize);
  if (d < 0) return fail(w);
  herr_t e = n ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0;
  if (e < 0) fail(w);
  if (H5Dclose(d) < 0) e = fail(w);
  return e < 0 ? -1 : 0;
}

static int write_rows(cf_l0_writer *w, hid_t d, int rank, hsize_t first, hsize_t count, hid_t mtype, const void *buf) {
  hid_t fs = H5Dget_space(d);
  hsize_t dims[3], start[3] = {first, 0, 0}, cnt[3];
  H5Sget_simple_extent_dims(fs, dims, NULL);
  cnt[0] = count;
  for (int i = 1; i < rank; i++) cnt[i] = dims[i];
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
  hid_t ms = H5Screate_simple(rank, cnt, NULL);
  herr_t e = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf);
  if (e < 0) fail(w);
  H5Sclose(ms);
  H5Sclose(fs);
  return e < 0 ? -1 : 0;
}

void cf_l0_writer_abort(cf_l0_writer *w) {
  if (!w) return;
  if (w->file > 0) cf_discard_open_file(w->af.part_path);
  for (int k = 0; k < 2; k++) {
    if (w->big[k] > 0) H5Dclose(w->big[k]);
    if (w->ray_of[k] > 0) H5Dclose(w->ray_of[k]);
    if (w->bgraw[k] > 0) H5Dclose(w->bgraw[k]);
  }
  if (w->file > 0) H5Fclose(w->file);
  cf_atomic_end(&w->af);
  free(w);
}

int cf_l0_writer_create(cf_ctx *ctx, const char *path, const cf_l0_config *c, const cf_l0_sizes *sz,
                        cf_l0_writer **out) {
  *out = NULL;
  cf_l0_writer *w = calloc(1, sizeof *w);
  if (!w) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  w->file = w->big[0] = w->big[1] = w->ray_of[0] = w->ray_of[1] = w->bgraw[0] = w->bgraw[1] = -1;
  w->cfg = *c;
  w->sz = *sz;
  int rc = cf_atomic_begin(ctx, path, &w->af);
  if (rc) {
    free(w);
    return rc;
  }
  w->file = H5Fcreate(w->af.part_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (w->file < 0) {
    fail(w);
    cf_l0_writer_abort(w);
    return cf_error(ctx, CF_EIO, path, "", "cannot create the HDF5 file: %s", w->why);
  }
  hid_t f = w->file;
  int e = 0;
  e |= attr_str(f, "format", "carbonflux-lidar-l0");
  e |= attr_str(f, "format_version", "1.0");
  e |= attr_str(f, "level", c->level == CF_L0_RAW ? "raw" : "spectra");
  e |= attr_str(f, "instrument_id", c->instrument_id);
  e |= attr_f64(f, "site_latitude_deg", c->site_lat);
  e |= attr_f64(f, "site_longitude_deg", c->site_lon);
  e |= attr_f64(f, "site_altitude_m", c->site_alt);
  e |= attr_f64(f, "wavelength_on_m", c->wavelength[CF_ON]);
  e |= attr_f64(f, "wavelength_off_m", c->wavelength[CF_OFF]);
  e |= attr_f64(f, "sample_rate_hz", c->sample_rate);
  e |= attr_f64(f, "aom_frequency_hz", c->aom_frequency);
  e |= attr_f64(f, "pulse_repetition_hz", c->pulse_repetition);
  e |= attr_f64(f, "pulse_width_s", c->pulse_width);
  e |= attr_f64(f, "range_offset_m", c->range_offset);
  e |= attr_i32(f, "gate_first_sample", c->gate_first);
  e |= attr_i32(f, "gate_samples", c->gate_samples);
  e |= attr_i32(f, "gate_step", c->gate_step);
  e |= attr_i32(f, "n_gates", c->n_gates);
  e |= attr_i32(f, "fft_size", c->fft_size);
  e |= attr_str(f, "window", c->window == CF_WINDOW_HANN ? "hann" : "rect");
  if (c->level == CF_L0_SPECTRA) {
    hsize_t d3[3] = {(hsize_t)sz->n_rays, (hsize_t)c->n_gates, (hsize_t)cf_l0_nbins(c)};
    w->big[0] = make_dset(f, "spectra/on", H5T_IEEE_F32LE, 3, d3, 4);
    w->big[1] = make_dset(f, "spectra/off", H5T_IEEE_F32LE, 3, d3, 4);
  } else {
    const char *n[2] = {"raw/on", "raw/off"}, *r[2] = {"raw/ray_on", "raw/ray_off"};
    const char *b[2] = {"raw/background_on", "raw/background_off"};
    for (int k = 0; k < 2; k++) {
      hsize_t d2[2] = {(hsize_t)sz->n_pulses[k], (hsize_t)sz->n_samples};
      hsize_t db[2] = {(hsize_t)sz->n_bg[k], (hsize_t)sz->n_samples};
      hsize_t d1 = (hsize_t)sz->n_pulses[k];
      w->big[k] = make_dset(f, n[k], H5T_STD_I16LE, 2, d2, 2);
      w->ray_of[k] = make_dset(f, r[k], H5T_STD_I32LE, 1, &d1, 4);
      w->bgraw[k] = make_dset(f, b[k], H5T_STD_I16LE, 2, db, 2);
      if (w->ray_of[k] < 0 || w->bgraw[k] < 0) e = 1;
    }
  }
  if (e || w->big[0] < 0 || w->big[1] < 0) {
    fail(w);
    int rc2 = cf_error(ctx, CF_EIO, path, "", "cannot create the file's attributes and datasets: %s", w->why);
    cf_l0_writer_abort(w);
    return rc2;
  }
  *out = w;
  return CF_OK;
}

int cf_l0_writer_rays(cf_ctx *ctx, cf_l0_writer *w, const double *time, const float *az, const float *el,
                      const int32_t *scan_id, const int32_t *pulses_on, const int32_t *pulses_off,
                      const float *energy_on, const float *energy_off) {
  hsize_t n = (hsize_t)w->sz.n_rays;
  int e = 0;
  e |= write_vec(w, "rays/time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, n, time);
  e |= write_vec(w, "rays/azimuth_deg", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, az);
  e |= write_vec(w, "rays/elevation_deg", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, el);
  e |= write_vec(w, "rays/scan_id", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, n, scan_id);
  e |= write_vec(w, "rays/pulses_on", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, n, pulses_on);
  e |= write_vec(w, "rays/pulses_off", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, n, pulses_off);
  e |= write_vec(w, "rays/energy_on_j", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, energy_on);
  e |= write_vec(w, "rays/energy_off_j", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, energy_off);
  return e ? cf_error(ctx, CF_EIO, w->af.final_path, "rays", "write failed: %s", w->why) : CF_OK;
}

int cf_l0_writer_meteo(cf_ctx *ctx, cf_l0_writer *w, const double *time, const float *p, const float *T,
                       const float *rh) {
  hsize_t n = (hsize_t)w->sz.n_meteo;
  int e = 0;
  e |= write_vec(w, "meteo/time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, n, time);
  e |= write_vec(w, "meteo/pressure_pa", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, p);
  e |= write_vec(w, "meteo/temperature_k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, T);
  e |= write_vec(w, "meteo/relative_humidity", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, n, rh);
  return e ? cf_error(ctx, CF_EIO, w->af.final_path, "meteo", "write failed: %s", w->why) : CF_OK;
}

int cf_l0_writer_spectra(cf_ctx *ctx, cf_l0_writer *w, int which, int ray0, int n, const float *buf) {
  if (write_rows(w, w->big[which], 3, (hsize_t)ray0, (hsize_t)n, H5T_NATIVE_FLOAT, buf))
    return cf_error(ctx, CF_EIO, w->af.final_path, which == CF_ON ? "spectra/on" : "spectra/off", "write failed: %s",
                    w->why);
  return CF_OK;
}

int cf_l0_writer_background(cf_ctx *ctx, cf_l0_writer *w, int which, const float *bg, int32_t pulses) {
  const char *name = which == CF_ON ? "background/on" : "background/off";
  hsize_t d2[2] = {(hsize_t)w->cfg.n_gates, (hsize_t)cf_l0_nbins(&w->cfg)};
  hid_t d = make_dset(w->file, name, H5T_IEEE_F32LE, 2, d2, 4);
  int e = d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bg) < 0 || attr_i32(d, "pulses", pulses);
  if (e) fail(w);
  if (d >= 0 && H5Dclose(d) < 0) e = fail(w);
  return e ? cf_error(ctx, CF_EIO, w->af.final_path, name, "write failed: %s", w->why) : CF_OK;
}

int cf_l0_writer_raw(cf_ctx *ctx, cf_l0_writer *w, int which, int64_t p0, int64_t n, const int16_t *buf,
                     const int32_t *ray_of_pulse) {
  if (write_rows(w, w->big[which], 2, (hsize_t)p0, (hsize_t)n, H5T_NATIVE_INT16, buf) ||
      write_rows(w, w->ray_of[which], 1, (hsize_t)p0, (hsize_t)n, H5T_NATIVE_INT32, ray_of_pulse))
    return cf_error(ctx, CF_EIO, w->af.final_path, which == CF_ON ? "raw/on" : "raw/off", "write failed: %s", w->why);
  return CF_OK;
}

int cf_l0_writer_raw_background(cf_ctx *ctx, cf_l0_writer *w, int which, int64_t r0, int64_t n,
                                const int16_t *buf) {
  if (write_rows(w, w->bgraw[which], 2, (hsize_t)r0, (hsize_t)n, H5T_NATIVE_INT16, buf))
    return cf_error(ctx, CF_EIO, w->af.final_path, "raw/background", "write failed: %s", w->why);
  return CF_OK;
}

int cf_l0_writer_close(cf_ctx *ctx, cf_l0_writer *w, cf_atomic_file *part) {
  memset(part, 0, sizeof *part);
  int e = 0;
  for (int k = 0; k < 2; k++) {
    hid_t *ids[3] = {&w->big[k], &w->ray_of[k], &w->bgraw[k]};
    for (int j = 0; j < 3; j++) {
      if (*ids[j] > 0 && H5Dclose(*ids[j]) < 0) e = fail(w);
      *ids[j] = -1;
    }
  }
  /* everything reaches the disk here, where a failure can still be undone */
  if (!e && H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0) e = fail(w);
  if (e) {
    int rc = cf_error(ctx, CF_EIO, w->af.final_path, "", "writing the HDF5 file failed: %s", w->why);
    cf_l0_writer_abort(w);
    return rc;
  }
  herr_t c = H5Fclose(w->file);
  if (c < 0) fail(w);
  w->file = -1;
  int rc = c < 0 ? cf_error(ctx, CF_EIO, w->af.final_path, "", "closing the HDF5 file failed: %s", w->why) : CF_OK;
  if (!rc) {
    *part = w->af; /* handed over: the caller commits or ends it */
    memset(&w->af, 0, sizeof w->af);
  }
  cf_l0_writer_abort(w);
  return rc;
}

int cf_l0_writer_finish(cf_ctx *ctx, cf_l0_writer *w) {
  cf_atomic_file part;
  int rc = cf_l0_writer_close(ctx, w, &part);
  if (!rc) rc = cf_atomic_commit(ctx, &part);
  cf_atomic_end(&part);
  return rc;
}
