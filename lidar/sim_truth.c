/* Writing the simulator's truth as NetCDF-4; see sim_truth.h. */
#include "lidar/sim_truth.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "lidar/l0_write.h"
#include "lidar/l2_write.h"

int cf_sim_truth_alloc(cf_ctx *ctx, cf_sim_truth *t, const cf_sim_config *c, int n_rays, int n_gates) {
  memset(t, 0, sizeof *t);
  t->cfg = c;
  t->n_rays = n_rays;
  t->n_gates = n_gates;
  size_t n = (size_t)n_rays, ng = (size_t)n_rays * n_gates;
  t->time = malloc(n * sizeof(double));
  t->azimuth = malloc(n * sizeof(double));
  t->elevation = malloc(n * sizeof(double));
  t->scan_id = malloc(n * sizeof(int));
  t->radial_velocity = malloc(ng * sizeof(double));
  t->co2_ppm = malloc(ng * sizeof(double));
  t->co2_nd = malloc(ng * sizeof(double));
  t->cnr_on = malloc(ng * sizeof(double));
  t->cnr_off = malloc(ng * sizeof(double));
  if (!t->time || !t->azimuth || !t->elevation || !t->scan_id || !t->radial_velocity || !t->co2_ppm ||
      !t->co2_nd || !t->cnr_on || !t->cnr_off) {
    cf_sim_truth_free(t);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the truth");
  }
  return CF_OK;
}

void cf_sim_truth_free(cf_sim_truth *t) {
  free(t->time);
  free(t->azimuth);
  free(t->elevation);
  free(t->scan_id);
  free(t->radial_velocity);
  free(t->co2_ppm);
  free(t->co2_nd);
  free(t->cnr_on);
  free(t->cnr_off);
  memset(t, 0, sizeof *t);
}

void cf_sim_truth_set_geometry(cf_sim_truth *t, int i, double time, double az, double el, int scan) {
  t->time[i] = time;
  t->azimuth[i] = az;
  t->elevation[i] = el;
  t->scan_id[i] = scan;
}

void cf_sim_truth_set_ray(cf_sim_truth *t, int i, const double *vr, const double *ppm, const double *nd,
                          const double *cnr_on, const double *cnr_off) {
  size_t o = (size_t)i * t->n_gates, n = (size_t)t->n_gates * sizeof(double);
  memcpy(t->radial_velocity + o, vr, n);
  memcpy(t->co2_ppm + o, ppm, n);
  memcpy(t->co2_nd + o, nd, n);
  memcpy(t->cnr_on + o, cnr_on, n);
  memcpy(t->cnr_off + o, cnr_off, n);
}

#define NC(call)                                                                  \
  do {                                                                            \
    errno = 0;                                                                    \
    int e_ = (call);                                                              \
    if (e_ != NC_NOERR) {                                                         \
      char why_[320];                                                             \
      rc = cf_error(ctx, CF_EIO, path, "", "%s", cf_nc_failure_reason(e_, why_, sizeof why_)); \
      goto done;                                                                  \
    }                                                                             \
  } while (0)

static int def_var(int nc, const char *name, nc_type type, int ndims, const int *dims, const char *units,
                   const char *long_name, int *id) {
  int e = nc_def_var(nc, name, type, ndims, dims, id);
  if (e) return e;
  if (units && (e = nc_put_att_text(nc, *id, "units", strlen(units), units))) return e;
  if (long_name) e = nc_put_att_text(nc, *id, "long_name", strlen(long_name), long_name);
  return e;
}

int cf_sim_truth_write(cf_ctx *ctx, const cf_sim_truth *t, const cf_optics *op, const char *path, cf_atomic_file *part) {
  const cf_sim_config *c = t->cfg;
  const cf_l0_config *ic = &c->instrument;
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (rc) return rc;
  int nc = -1, dt, dr, dh, dz, v_op[5], v_time, v_range, v_az, v_el, v_scan, v_vr, v_ppm, v_nd, v_con, v_coff, v_h, v_u, v_v, v_w;
  enum { NH = 500 };
  double *range = malloc((size_t)t->n_gates * sizeof *range);
  double h[NH], u[NH], v[NH], w[NH];
  if (!range) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  for (int g = 0; g < t->n_gates; g++) range[g] = cf_l0_gate_range(ic, g);
  for (int i = 0; i < NH; i++) {
    h[i] = 10.0 * i;
    cf_sim_wind(c, h[i], &u[i], &v[i], &w[i]);
  }
  NC(nc_create(af.part_path, NC_NETCDF4 | NC_CLOBBER, &nc));
  NC(nc_def_dim(nc, "time", (size_t)t->n_rays, &dt));
  NC(nc_def_dim(nc, "range", (size_t)t->n_gates, &dr));
  NC(nc_def_dim(nc, "height", NH, &dh));
  int d2[2] = {dt, dr};
  NC(def_var(nc, "time", NC_DOUBLE, 1, &dt, "seconds since 1970-01-01 00:00:00 UTC", "ray mid-time", &v_time));
  NC(def_var(nc, "range", NC_DOUBLE, 1, &dr, "m", "gate centre range", &v_range));
  NC(def_var(nc, "azimuth", NC_DOUBLE, 1, &dt, "degree", "clockwise from north", &v_az));
  NC(def_var(nc, "elevation", NC_DOUBLE, 1, &dt, "degree", "above horizon", &v_el));
  NC(def_var(nc, "scan_id", NC_INT, 1, &dt, NULL, "scan of each ray", &v_scan));
  NC(def_var(nc, "radial_velocity", NC_DOUBLE, 2, d2, "m s-1", "true radial velocity at the gate centre, positive away", &v_vr));
  NC(def_var(nc, "co2_mole_fraction", NC_DOUBLE, 2, d2, "1e-6", "true CO2 dry-air mole fraction at the gate centre", &v_ppm));
  NC(def_var(nc, "co2_number_density", NC_DOUBLE, 2, d2, "m-3", "true CO2 number density at the gate centre", &v_nd));
  NC(def_var(nc, "cnr_on", NC_DOUBLE, 2, d2, "dB", "expected wideband CNR, on-line", &v_con));
  NC(def_var(nc, "cnr_off", NC_DOUBLE, 2, d2, "dB", "expected wideband CNR, off-line", &v_coff));
  NC(def_var(nc, "height", NC_DOUBLE, 1, &dh, "m", "height above the instrument", &v_h));
  NC(def_var(nc, "eastward_wind", NC_DOUBLE, 1, &dh, "m s-1", "true u", &v_u));
  NC(def_var(nc, "northward_wind", NC_DOUBLE, 1, &dh, "m s-1", "true v", &v_v));
  NC(def_var(nc, "upward_air_velocity", NC_DOUBLE, 1, &dh, "m s-1", "true w", &v_w));
  /* the optics the simulator used, for checking a retrieval's own */
  NC(nc_def_dim(nc, "optics_height", (size_t)op->nz, &dz));
  NC(def_var(nc, "optics_pressure", NC_DOUBLE, 1, &dz, "Pa", "pressure every optics_dz above the site", &v_op[0]));
  NC(def_var(nc, "optics_temperature", NC_DOUBLE, 1, &dz, "K", "temperature", &v_op[1]));
  NC(def_var(nc, "optics_dry_air_number_density", NC_DOUBLE, 1, &dz, "m-3", "dry-air number density", &v_op[2]));
  NC(def_var(nc, "optics_sigma_on", NC_DOUBLE, 1, &dz, "m2", "CO2 cross-section at the on-line", &v_op[3]));
  NC(def_var(nc, "optics_sigma_off", NC_DOUBLE, 1, &dz, "m2", "CO2 cross-section at the off-line", &v_op[4]));
  NC(nc_put_att_double(nc, NC_GLOBAL, "optics_dz", NC_DOUBLE, 1, &op->dz));
  const char *title = "carbonflux simulator truth";
  NC(nc_put_att_text(nc, NC_GLOBAL, "title", strlen(title), title));
  NC(nc_put_att_text(nc, NC_GLOBAL, "carbonflux_version", strlen(cf_version()), cf_version()));
  unsigned long long seed = (unsigned long long)c->seed;
  NC(nc_put_att_ulonglong(nc, NC_GLOBAL, "seed", NC_UINT64, 1, &seed));
  NC(nc_put_att_double(nc, NC_GLOBAL, "co2_background_ppm", NC_DOUBLE, 1, &c->co2_ppm));
  NC(nc_enddef(nc));
  NC(nc_put_var_double(nc, v_time, t->time));
  NC(nc_put_var_double(nc, v_range, range));
  NC(nc_put_var_double(nc, v_az, t->azimuth));
  NC(nc_put_var_double(nc, v_el, t->elevation));
  NC(nc_put_var_int(nc, v_scan, t->scan_id));
  NC(nc_put_var_double(nc, v_vr, t->radial_velocity));
  NC(nc_put_var_double(nc, v_ppm, t->co2_ppm));
  NC(nc_put_var_double(nc, v_nd, t->co2_nd));
  NC(nc_put_var_double(nc, v_con, t->cnr_on));
  NC(nc_put_var_double(nc, v_coff, t->cnr_off));
  NC(nc_put_var_double(nc, v_h, h));
  NC(nc_put_var_double(nc, v_u, u));
  NC(nc_put_var_double(nc, v_v, v));
  NC(nc_put_var_double(nc, v_w, w));
  const double *tabs[5] = {op->p, op->t, op->ndry, op->sigma[0], op->sigma[1]};
  for (int k = 0; k < 5; k++) NC(nc_put_var_double(nc, v_op[k], tabs[k]));
  NC(nc_sync(nc)); /* a full disk fails here, where the file can still be dropped cleanly */
  NC(nc_close(nc));
  nc = -1;
  /* the last moment a signal can still leave nothing behind */
  rc = cf_check_cancel(ctx, path, NULL);
  if (!rc && part)
    *part = af, memset(&af, 0, sizeof af); /* handed over, uncommitted */
  else if (!rc)
    rc = cf_atomic_commit(ctx, &af);
done:
  if (nc >= 0) {
    cf_discard_open_file(af.part_path); /* so that this close cannot fail too (l0_write.h) */
    nc_close(nc);
  }
  free(range);
  cf_atomic_end(&af);
  return rc;
}
