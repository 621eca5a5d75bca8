/*
 * GEDI L2A reader; what is read and why in gedi_l2a.h.
 *
 * Shape: one helper opens a dataset of a beam group and checks class, rank
 * and row count (naming "BEAMxxxx/dataset" in the error); the beam loop
 * reads the eight datasets whole (a beam of a granule is at most a few
 * hundred thousand shots: rh, the largest, is 101 doubles per shot) and
 * filters them. HDF5's own error printing is off while we read (its stack
 * dumps say in HDF5's terms what our message says in the user's), and
 * everything runs in the caller's thread: HDF5 1.10 serialises on one
 * global lock anyway.
 */
#include "ingest/gedi_l2a.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cf_gedi_filter_default(cf_gedi_filter *f) {
  f->require_quality = 1;
  f->require_no_degrade = 1;
  f->min_sensitivity = 0.95;
  f->power_beams_only = 0;
}

double cf_gedi_rh(const cf_gedi_shot *s, int pct) {
  return pct >= 0 && pct < CF_GEDI_NRH ? s->rh[pct] : NAN;
}

const char *cf_gedi_l2a_summary(const cf_gedi_l2a *g, char *buf, size_t cap) {
  if (cap)
    snprintf(buf, cap,
             "%zu shots read from %d beam%s, %zu kept; rejected: %zu invalid position, %zu quality_flag, "
             "%zu degrade_flag, %zu sensitivity, %zu coverage beam",
             g->n_read, g->n_beams, g->n_beams == 1 ? "" : "s", g->n_kept, g->n_invalid, g->n_quality,
             g->n_degrade, g->n_sensitivity, g->n_beam);
  return buf;
}

void cf_gedi_l2a_free(cf_gedi_l2a *g) {
  if (!g) return;
  free(g->shots);
  memset(g, 0, sizeof *g);
}

typedef struct {
  cf_ctx *ctx;
  const char *path;
  hid_t group;
  const char *beam; /* group name, for messages */
} beam_rd;

/* Open `name` in the beam group; check its class and that it is n rows
 * (rank 1) or n x cols (rank 2). n == 0 on entry: take n from this one. */
static int beam_dset(beam_rd *b, const char *name, H5T_class_t cls, int rank, hsize_t cols, hsize_t *n,
                     hid_t *out) {
  char field[160];
  snprintf(field, sizeof field, "%s/%s", b->beam, name);
  if (H5Lexists(b->group, name, H5P_DEFAULT) <= 0)
    return cf_error(b->ctx, CF_EDATA, b->path, field, "required dataset is missing");
  hid_t d = H5Dopen2(b->group, name, H5P_DEFAULT);
  if (d < 0) return cf_error(b->ctx, CF_EDATA, b->path, field, "cannot open dataset");
  hid_t t = H5Dget_type(d), s = H5Dget_space(d);
  H5T_class_t c = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
  int rk = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
  hsize_t dims[2] = {0, 0};
  if (rk == rank) H5Sget_simple_extent_dims(s, dims, NULL);
  if (t >= 0) H5Tclose(t);
  if (s >= 0) H5Sclose(s);
  int rc = CF_OK;
  if (c != cls)
    rc = cf_error(b->ctx, CF_EDATA, b->path, field, "wrong type: expected %s",
                  cls == H5T_FLOAT ? "floating point" : "integer");
  else if (rk != rank)
    rc = cf_error(b->ctx, CF_EDATA, b->path, field, "wrong rank: expected %d, found %d", rank, rk);
  else if (rank == 2 && dims[1] != cols)
    rc = cf_error(b->ctx, CF_EDATA, b->path, field, "has %llu columns, expected %llu",
                  (unsigned long long)dims[1], (unsigned long long)cols);
  else if (*n && dims[0] != *n)
    rc = cf_error(b->ctx, CF_EDATA, b->path, field,
                  "has %llu rows, expected %llu as shot_number (inconsistent lengths)",
                  (unsigned long long)dims[0], (unsigned long long)*n);
  if (rc) {
    H5Dclose(d);
    return rc;
  }
  if (!*n) *n = dims[0];
  *out = d;
  return CF_OK;
}

/* Read a whole checked dataset as `memtype` into a new buffer of n*cols*elsize. */
static int beam_read(beam_rd *b, const char *name, H5T_class_t cls, int rank, hsize_t cols, hsize_t *n,
                     hid_t memtype, size_t elsize, void **buf) {
  hid_t d = -1;
  int rc = beam_dset(b, name, cls, rank, cols, n, &d);
  if (rc) return rc;
  char field[160];
  snprintf(field, sizeof field, "%s/%s", b->beam, name);
  size_t count = (size_t)*n * (size_t)(rank == 2 ? cols : 1);
  if (*n > ((size_t)1 << 40) / elsize / (rank == 2 ? cols : 1)) {
    H5Dclose(d);
    return cf_error(b->ctx, CF_ENOMEM, b->path, field, "%llu rows would not fit in memory",
                    (unsigned long long)*n);
  }
  *buf = malloc(count ? count * elsize : 1);
  if (!*buf) {
    H5Dclose(d);
    return cf_error(b->ctx, CF_ENOMEM, b->path, field, "out of memory");
  }
  if (count && H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
    rc = cf_error(b->ctx, CF_EDATA, b->path, field, "read failed (corrupt or truncated file?)");
  H5Dclose(d);
  return rc;
}

/* "BEAM0101" -> 5; -1 if the suffix is not four binary digits. */
static int beam_number(const char *name) {
  if (strncmp(name, "BEAM", 4) != 0 || strlen(name) != 8) return -1;
  int v = 0;
  for (int i = 4; i < 8; i++) {
    if (name[i] != '0' && name[i] != '1') return -1;
    v = 2 * v + (name[i] - '0');
  }
  return v;
}

typedef struct {
  uint64_t *shot;
  double *lat, *lon, *elev, *sens, *rh;
  int *qual, *degr;
} beam_data;

static void beam_data_free(beam_data *d) {
  free(d->shot);
  free(d->lat);
  free(d->lon);
  free(d->elev);
  free(d->sens);
  free(d->rh);
  free(d->qual);
  free(d->degr);
}

static int read_beam(cf_ctx *ctx, const char *path, hid_t file, const char *name, const cf_gedi_filter *f,
                     cf_gedi_l2a *out, size_t *cap) {
  hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
  if (g < 0) return cf_error(ctx, CF_EDATA, path, name, "cannot open beam group");
  beam_rd b = {ctx, path, g, name};
  beam_data d = {0};
  hsize_t n = 0;
  int rc;
  if ((rc = beam_read(&b, "shot_number", H5T_INTEGER, 1, 1, &n, H5T_NATIVE_UINT64, 8, (void **)&d.shot)) ||
      (rc = beam_read(&b, "lat_lowestmode", H5T_FLOAT, 1, 1, &n, H5T_NATIVE_DOUBLE, 8, (void **)&d.lat)) ||
      (rc = beam_read(&b, "lon_lowestmode", H5T_FLOAT, 1, 1, &n, H5T_NATIVE_DOUBLE, 8, (void **)&d.lon)) ||
      (rc = beam_read(&b, "elev_lowestmode", H5T_FLOAT, 1, 1, &n, H5T_NATIVE_DOUBLE, 8, (void **)&d.elev)) ||
      (rc = beam_read(&b, "quality_flag", H5T_INTEGER, 1, 1, &n, H5T_NATIVE_INT, sizeof(int), (void **)&d.qual)) ||
      (rc = beam_read(&b, "degrade_flag", H5T_INTEGER, 1, 1, &n, H5T_NATIVE_INT, sizeof(int), (void **)&d.degr)) ||
      (rc = beam_read(&b, "sensitivity", H5T_FLOAT, 1, 1, &n, H5T_NATIVE_DOUBLE, 8, (void **)&d.sens)) ||
      (rc = beam_read(&b, "rh", H5T_FLOAT, 2, CF_GEDI_NRH, &n, H5T_NATIVE_DOUBLE, 8, (void **)&d.rh)))
    goto done;
  /* a beam without shots is legal (a subset may miss a beam's track) */
  int beam = beam_number(name), power = beam >= 4; /* 0000..0011 coverage, 0101.. full power */
  for (hsize_t i = 0; i < n; i++) {
    out->n_read++;
    if (!isfinite(d.lat[i]) || !isfinite(d.lon[i]) || fabs(d.lat[i]) > 90 || fabs(d.lon[i]) > 180) {
      out->n_invalid++;
      continue;
    }
    if (f->require_quality && d.qual[i] != 1) {
      out->n_quality++;
      continue;
    }
    if (f->require_no_degrade && d.degr[i] != 0) {
      out->n_degrade++;
      continue;
    }
    if (!(d.sens[i] >= f->min_sensitivity)) { /* NaN fails too */
      out->n_sensitivity++;
      continue;
    }
    if (f->power_beams_only && !power) {
      out->n_beam++;
      continue;
    }
    if (out->n_kept == *cap) {
      size_t nc = *cap ? 2 * *cap : 256;
      cf_gedi_shot *p = realloc(out->shots, nc * sizeof *p);
      if (!p) {
        rc = cf_error(ctx, CF_ENOMEM, path, name, "out of memory for %zu shots", nc);
        goto done;
      }
      out->shots = p;
      *cap = nc;
    }
    cf_gedi_shot *s = &out->shots[out->n_kept++];
    memset(s, 0, sizeof *s);
    s->shot_number = d.shot[i];
    s->lon = d.lon[i];
    s->lat = d.lat[i];
    s->elev = d.elev[i];
    s->sensitivity = d.sens[i];
    s->quality_flag = d.qual[i];
    s->degrade_flag = d.degr[i];
    s->beam = beam;
    s->power = power;
    snprintf(s->beam_name, sizeof s->beam_name, "%s", name);
    memcpy(s->rh, d.rh + (size_t)i * CF_GEDI_NRH, sizeof s->rh);
  }
  out->n_beams++;
done:
  beam_data_free(&d);
  H5Gclose(g);
  return rc;
}

int cf_gedi_l2a_read(cf_ctx *ctx, const char *path, const cf_gedi_filter *filter, cf_gedi_l2a *out) {
  memset(out, 0, sizeof *out);
  cf_gedi_filter f;
  if (filter)
    f = *filter;
  else
    cf_gedi_filter_default(&f);
  if (!isfinite(f.min_sensitivity))
    return cf_error(ctx, CF_EINVAL, path, "min_sensitivity", "must be a finite number, got %g", f.min_sensitivity);

  FILE *probe = fopen(path, "rb");
  if (!probe) return cf_error(ctx, CF_ENOENT, path, "", "cannot open the GEDI L2A file");
  fclose(probe);

  H5E_auto2_t efn;
  void *edata;
  H5Eget_auto2(H5E_DEFAULT, &efn, &edata);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int rc = CF_OK;
  hid_t file = -1;
  if (H5Fis_hdf5(path) <= 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "not an HDF5 file (or its superblock is damaged)");
    goto done;
  }
  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "HDF5 cannot open the file (truncated or corrupt?)");
    goto done;
  }
  H5G_info_t info;
  if (H5Gget_info(file, &info) < 0) {
    rc = cf_error(ctx, CF_EDATA, path, "/", "cannot list the root group");
    goto done;
  }
  size_t cap = 0;
  /* by name, so the shot order is the same whatever order the file was
   * written in */
  for (hsize_t i = 0; i < info.nlinks && !rc; i++) {
    char name[64];
    ssize_t len = H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
    if (len < 0) {
      rc = cf_error(ctx, CF_EDATA, path, "/", "cannot read the name of root link %llu", (unsigned long long)i);
      break;
    }
    if ((size_t)len >= sizeof name || strncmp(name, "BEAM", 4) != 0) continue;
    H5O_info_t oi;
    if (H5Oget_info_by_name2(file, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
      rc = cf_error(ctx, CF_EDATA, path, name, "cannot read the beam group's header (corrupt file?)");
      break;
    }
    if (oi.type != H5O_TYPE_GROUP) {
      rc = cf_error(ctx, CF_EDATA, path, name, "is not a group");
      break;
    }
    rc = read_beam(ctx, path, file, name, &f, out, &cap);
  }
  if (!rc && out->n_beams == 0)
    rc = cf_error(ctx, CF_EDATA, path, "BEAM*", "no BEAM groups: not a GEDI L2A file");
done:
  if (file >= 0) H5Fclose(file);
  H5Eset_auto2(H5E_DEFAULT, efn, edata);
  if (rc) cf_gedi_l2a_free(out);
  return rc;
}
