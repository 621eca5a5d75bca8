/*
 * The L2 file of the flux truth simulator (sim_flux.h): the arrays of a
 * run of sweeps written as NetCDF-4 under contract 1.1
 * (../shared/spec/lidar-l2.md), the same variables and attributes the
 * retrieval's writer gives (lidar/l2_write.h), so that the flux estimate
 * cannot tell the two apart. The file appears whole or not at all (a part
 * file renamed at the end, core/fsutil.h).
 */
#include "lidar/flux/sim_flux_internal.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "lidar/l0_write.h"
#include "lidar/l2_write.h"

#define NCK(call) CF_NC_TRY(ctx, path, var_, call)

static int put_text(int nc, int var, const char *name, const char *v) {
  return nc_put_att_text(nc, var, name, strlen(v), v);
}

static int def_f(cf_ctx *ctx, const char *path, int nc, const char *name, int nd, const int *dims, const char *units,
                 const char *long_name, const char *std, int *id) {
  const char *var_ = name;
  NCK(nc_def_var(nc, name, NC_FLOAT, nd, dims, id));
  float fill = NC_FILL_FLOAT;
  NCK(nc_put_att_float(nc, *id, "_FillValue", NC_FLOAT, 1, &fill));
  if (units) NCK(put_text(nc, *id, "units", units));
  NCK(put_text(nc, *id, "long_name", long_name));
  if (std) NCK(put_text(nc, *id, "standard_name", std));
  if (nd == 2) NCK(nc_def_var_deflate(nc, *id, 1, 1, 4));
  return CF_OK;
}

static int put_f(cf_ctx *ctx, const char *path, int nc, int id, const char *var_, const double *v, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  if (!f) return cf_error(ctx, CF_ENOMEM, path, var_, "out of memory");
  for (size_t i = 0; i < n; i++) f[i] = isfinite(v[i]) ? (float)v[i] : NC_FILL_FLOAT;
  errno = 0;
  int e = nc_put_var_float(nc, id, f);
  free(f);
  char why[320];
  if (e) return cf_error(ctx, CF_EIO, path, var_, "%s", cf_nc_failure_reason(e, why, sizeof why));
  return CF_OK;
}

static int write_l2_body(cf_ctx *ctx, const char *path, int nc, const cf_simflux_l2 *d, const cf_simflux_config *c,
                         const char *history, const char *params) {
  const char *var_ = "";
  int dt, dr, ds, dh;
  NCK(nc_def_dim(nc, "time", (size_t)d->nr, &dt));
  NCK(nc_def_dim(nc, "range", (size_t)d->ng, &dr));
  NCK(nc_def_dim(nc, "scan", (size_t)d->ns, &ds));
  NCK(nc_def_dim(nc, "height", (size_t)d->nh, &dh));
  int d2[2] = {dt, dr}, dw[2] = {ds, dh};
  int vt, vr_, vaz, vel, vsid, vlat, vlon, valt, vqc, vscan, vst, vh, vbeams;
  var_ = "time";
  NCK(nc_def_var(nc, "time", NC_DOUBLE, 1, &dt, &vt));
  NCK(put_text(nc, vt, "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NCK(put_text(nc, vt, "standard_name", "time"));
  NCK(put_text(nc, vt, "long_name", "mid-time of the ray"));
  NCK(put_text(nc, vt, "calendar", "standard"));
  var_ = "range";
  NCK(nc_def_var(nc, "range", NC_DOUBLE, 1, &dr, &vr_));
  NCK(put_text(nc, vr_, "units", "m"));
  NCK(put_text(nc, vr_, "long_name", "range of the gate centre from the instrument"));
  int rc;
  if ((rc = def_f(ctx, path, nc, "azimuth", 1, &dt, "degree", "azimuth of the ray, clockwise from true north",
                  "sensor_azimuth_angle", &vaz)) ||
      (rc = def_f(ctx, path, nc, "elevation", 1, &dt, "degree", "elevation of the ray above the horizon", NULL, &vel)))
    return rc;
  var_ = "scan_id";
  NCK(nc_def_var(nc, "scan_id", NC_INT, 1, &dt, &vsid));
  NCK(put_text(nc, vsid, "long_name", "scan each ray belongs to (a value of the scan coordinate)"));
  const struct {
    int *id;
    const char *name, *units, *long_name;
  } pos[3] = {{&vlat, "latitude", "degree_north", "latitude of the instrument (WGS84)"},
              {&vlon, "longitude", "degree_east", "longitude of the instrument (WGS84)"},
              {&valt, "altitude", "m", "altitude of the instrument above mean sea level"}};
  for (int k = 0; k < 3; k++) {
    var_ = pos[k].name;
    NCK(nc_def_var(nc, pos[k].name, NC_DOUBLE, 0, NULL, pos[k].id));
    NCK(put_text(nc, *pos[k].id, "units", pos[k].units));
    NCK(put_text(nc, *pos[k].id, "standard_name", pos[k].name));
    NCK(put_text(nc, *pos[k].id, "long_name", pos[k].long_name));
  }
  enum { G_VR, G_VRU, G_ON, G_OFF, G_ND, G_NDU, G_PPM, G_PPMU, NG };
  int gv[NG];
  const double *gd[NG] = {d->vr, d->vr_u, d->cnr_on, d->cnr_off, d->nd, d->nd_u, d->ppm, d->ppm_u};
  const char *gn[NG] = {"radial_velocity", "radial_velocity_uncertainty", "cnr_on", "cnr_off", "co2_number_density",
                        "co2_number_density_uncertainty", "co2_mole_fraction", "co2_mole_fraction_uncertainty"};
  const char *gu[NG] = {"m s-1", "m s-1", "dB", "dB", "m-3", "m-3", "1e-6", "1e-6"};
  const char *gl[NG] = {"radial velocity of scatterers, positive away from the instrument",
                        "1-sigma uncertainty of radial_velocity",
                        "wideband carrier-to-noise ratio, on-line (nominal, simulated)",
                        "wideband carrier-to-noise ratio, off-line (nominal, simulated)",
                        "CO2 number density",
                        "1-sigma uncertainty of co2_number_density",
                        "CO2 dry-air mole fraction",
                        "1-sigma uncertainty of co2_mole_fraction"};
  const char *gs[NG] = {"radial_velocity_of_scatterers_away_from_instrument", NULL, NULL, NULL, NULL, NULL,
                        "mole_fraction_of_carbon_dioxide_in_air", NULL};
  for (int k = 0; k < NG; k++) {
    if ((rc = def_f(ctx, path, nc, gn[k], 2, d2, gu[k], gl[k], gs[k], &gv[k]))) return rc;
    var_ = gn[k];
    NCK(put_text(nc, gv[k], "coordinates", "azimuth elevation"));
  }
  var_ = "qc_flag";
  NCK(nc_def_var(nc, "qc_flag", NC_USHORT, 2, d2, &vqc));
  NCK(nc_def_var_deflate(nc, vqc, 1, 1, 4));
  NCK(put_text(nc, vqc, "long_name", "quality flags of the gate (0 = good)"));
  NCK(put_text(nc, vqc, "coordinates", "azimuth elevation"));
  unsigned short masks[7] = {CF_QC_LOW_CNR, CF_QC_NEAR_RANGE, CF_QC_HARD_TARGET, CF_QC_OUT_OF_BAND, CF_QC_FIT_FAILED,
                             CF_QC_BAD_RAY, CF_QC_NO_CO2};
  NCK(nc_put_att_ushort(nc, vqc, "flag_masks", NC_USHORT, 7, masks));
  NCK(put_text(nc, vqc, "flag_meanings",
               "low_cnr near_range hard_target_or_saturation peak_outside_search_band fit_failed invalid_ray "
               "no_co2_retrieval"));
  var_ = "scan";
  NCK(nc_def_var(nc, "scan", NC_INT, 1, &ds, &vscan));
  NCK(put_text(nc, vscan, "long_name", "scan identifier (sweep number), in the order of each scan's first ray"));
  var_ = "scan_time";
  NCK(nc_def_var(nc, "scan_time", NC_DOUBLE, 1, &ds, &vst));
  NCK(put_text(nc, vst, "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NCK(put_text(nc, vst, "long_name", "mid-time of the scan"));
  NCK(put_text(nc, vst, "standard_name", "time"));
  NCK(put_text(nc, vst, "calendar", "standard"));
  var_ = "height";
  NCK(nc_def_var(nc, "height", NC_DOUBLE, 1, &dh, &vh));
  NCK(put_text(nc, vh, "units", "m"));
  NCK(put_text(nc, vh, "long_name", "height above the instrument"));
  NCK(put_text(nc, vh, "positive", "up"));
  enum { W_U, W_V, W_W, W_S, W_D, W_R, NW };
  int wv[NW];
  const double *wd[NW] = {d->u, d->v, d->w, d->speed, d->dir, d->rmse};
  const char *wn[NW] = {"eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed", "wind_from_direction",
                        "wind_fit_rmse"};
  const char *wl[NW] = {"eastward wind", "northward wind", "upward air velocity", "horizontal wind speed",
                        "direction the wind blows from", "RMS residual of the wind fit (simulated)"};
  const char *ws[NW] = {"eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed", "wind_from_direction",
                        NULL};
  for (int k = 0; k < NW; k++)
    if ((rc = def_f(ctx, path, nc, wn[k], 2, dw, k == W_D ? "degree" : "m s-1", wl[k], ws[k], &wv[k]))) return rc;
  var_ = "wind_valid_beams";
  NCK(nc_def_var(nc, "wind_valid_beams", NC_INT, 2, dw, &vbeams));
  NCK(put_text(nc, vbeams, "units", "1"));
  NCK(put_text(nc, vbeams, "long_name", "radial velocities used in the wind fit"));
  var_ = "";
  NCK(put_text(nc, NC_GLOBAL, "Conventions", "CF-1.8"));
  NCK(put_text(nc, NC_GLOBAL, "title", "Simulated CO2-flux lidar L2 (truth simulator, puff transport)"));
  NCK(put_text(nc, NC_GLOBAL, "institution", "unknown"));
  NCK(put_text(nc, NC_GLOBAL, "source", "carbonflux simulate flux"));
  NCK(put_text(nc, NC_GLOBAL, "history", history));
  NCK(put_text(nc, NC_GLOBAL, "carbonflux_version", cf_version()));
  NCK(put_text(nc, NC_GLOBAL, "input_sha256", "none (simulated)"));
  NCK(put_text(nc, NC_GLOBAL, "processing_parameters", params));
  NCK(put_text(nc, NC_GLOBAL, "featureType", "timeSeriesProfile"));
  NCK(nc_enddef(nc));
  var_ = "time";
  NCK(nc_put_var_double(nc, vt, d->time));
  var_ = "range";
  NCK(nc_put_var_double(nc, vr_, d->range));
  if ((rc = put_f(ctx, path, nc, vaz, "azimuth", d->az, (size_t)d->nr)) ||
      (rc = put_f(ctx, path, nc, vel, "elevation", d->el, (size_t)d->nr)))
    return rc;
  var_ = "scan_id";
  NCK(nc_put_var_int(nc, vsid, d->scan_id));
  var_ = "latitude";
  NCK(nc_put_var_double(nc, vlat, &c->lat));
  var_ = "longitude";
  NCK(nc_put_var_double(nc, vlon, &c->lon));
  var_ = "altitude";
  NCK(nc_put_var_double(nc, valt, &c->alt));
  for (int k = 0; k < NG; k++)
    if ((rc = put_f(ctx, path, nc, gv[k], gn[k], gd[k], (size_t)d->nr * d->ng))) return rc;
  var_ = "qc_flag";
  NCK(nc_put_var_ushort(nc, vqc, d->qc));
  var_ = "scan";
  NCK(nc_put_var_int(nc, vscan, d->scan));
  var_ = "scan_time";
  NCK(nc_put_var_double(nc, vst, d->scan_time));
  var_ = "height";
  NCK(nc_put_var_double(nc, vh, d->height));
  for (int k = 0; k < NW; k++)
    if ((rc = put_f(ctx, path, nc, wv[k], wn[k], wd[k], (size_t)d->ns * d->nh))) return rc;
  var_ = "wind_valid_beams";
  NCK(nc_put_var_int(nc, vbeams, d->beams));
  return CF_OK;
}

int cf_simflux_l2_write(cf_ctx *ctx, const char *path, const cf_simflux_l2 *d, const cf_simflux_config *c,
                        const char *history, const char *params) {
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (rc) return rc;
  int nc;
  errno = 0;
  int e = nc_create(af.part_path, NC_NETCDF4 | NC_CLOBBER, &nc);
  char why[320];
  if (e != NC_NOERR) {
    rc = cf_error(ctx, CF_EIO, path, "", "cannot create: %s", cf_nc_failure_reason(e, why, sizeof why));
    cf_atomic_end(&af);
    return rc;
  }
  rc = write_l2_body(ctx, path, nc, d, c, history, params);
  if (rc) cf_discard_open_file(af.part_path);
  errno = 0;
  e = nc_close(nc);
  if (e != NC_NOERR && !rc) rc = cf_error(ctx, CF_EIO, path, "", "closing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
  if (!rc) rc = cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  return rc;
}


void cf_simflux_l2_free(cf_simflux_l2 *d) {
  free(d->time), free(d->az), free(d->el), free(d->scan_id), free(d->range);
  free(d->ppm), free(d->ppm_u), free(d->nd), free(d->nd_u), free(d->vr), free(d->vr_u);
  free(d->cnr_on), free(d->cnr_off), free(d->qc), free(d->scan), free(d->scan_time), free(d->height);
  free(d->u), free(d->v), free(d->w), free(d->speed), free(d->dir), free(d->rmse), free(d->beams);
  memset(d, 0, sizeof *d);
}

int cf_simflux_l2_alloc(cf_simflux_l2 *d, int nr, int ng, int ns, int nh) {
  memset(d, 0, sizeof *d);
  d->nr = nr, d->ng = ng, d->ns = ns, d->nh = nh;
  size_t g = (size_t)nr * ng, w = (size_t)ns * nh;
#define A(p, n) ((p) = calloc((n) ? (n) : 1, sizeof *(p)), (p) != NULL)
  int ok = A(d->time, nr) && A(d->az, nr) && A(d->el, nr) && A(d->scan_id, nr) && A(d->range, ng) && A(d->ppm, g) &&
           A(d->ppm_u, g) && A(d->nd, g) && A(d->nd_u, g) && A(d->vr, g) && A(d->vr_u, g) && A(d->cnr_on, g) &&
           A(d->cnr_off, g) && A(d->qc, g) && A(d->scan, ns) && A(d->scan_time, ns) && A(d->height, nh) &&
           A(d->u, w) && A(d->v, w) && A(d->w, w) && A(d->speed, w) && A(d->dir, w) && A(d->rmse, w) && A(d->beams, w);
#undef A
  if (!ok) cf_simflux_l2_free(d);
  return ok ? 0 : -1;
}
