/*
 * The L3 NetCDF of a flux estimate (flux_l3.nc, ../shared/spec/flux-io.md):
 * the source table (the reported rate and sigma, prior, averaging kernel
 * and the mass balance's answer per source, and the groups) and, when the
 * inversion ran, the flux map on its grid with lat/lon and the grid
 * mapping, plus the CF global attributes (history, inputs, settings,
 * diagnostics).
 *
 * Why a file of its own: it is the one netCDF writer of the flux layer,
 * half of the outputs' code, and reads only the result; flux_write.c
 * hands it the part file to fill (cf_atomic_file) and commits it with the
 * other three.
 *
 * Conventions of the L3 file: the grid's rows run north to south as in the
 * map and the GeoTIFF, so the y coordinate DECREASES along its dimension
 * (CF allows either order; one row order everywhere is less error-prone).
 * Values not estimated are the netCDF default fill (NC_FILL_DOUBLE, 9.97e36,
 * in _FillValue), never NaN, as in the L2 writer. netCDF-C is not
 * thread-safe: all of it runs in the calling thread.
 */
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdlib.h>
#include <string.h>

#include "core/utc.h"
#include "lidar/flux/flux_write_internal.h"
#include "lidar/l0_write.h"
#include "lidar/l2_write.h"

#define NCK(call) CF_NC_TRY(ctx, path, var_, call)

static int put_text(int nc, int var, const char *name, const char *v) {
  return nc_put_att_text(nc, var, name, strlen(v), v);
}

/* A double variable with the default fill, units and long name. */
static int def_double(cf_ctx *ctx, const char *path, int nc, const char *name, int nd, const int *dims, const char *units,
                      const char *long_name, int *id) {
  const char *var_ = name;
  NCK(nc_def_var(nc, name, NC_DOUBLE, nd, dims, id));
  double fill = NC_FILL_DOUBLE;
  NCK(nc_put_att_double(nc, *id, "_FillValue", NC_DOUBLE, 1, &fill));
  if (units) NCK(put_text(nc, *id, "units", units));
  NCK(put_text(nc, *id, "long_name", long_name));
  if (nd == 2) {
    NCK(put_text(nc, *id, "grid_mapping", "crs"));
    NCK(put_text(nc, *id, "coordinates", "lat lon"));
    NCK(nc_def_var_deflate(nc, *id, 1, 1, 4));
  }
  return CF_OK;
}

/* n values (NULL: all missing), non-finite ones as the fill. */
static int put_double(cf_ctx *ctx, const char *path, int nc, int id, const char *var_, const double *v, size_t n) {
  double *b = malloc((n ? n : 1) * sizeof *b);
  if (!b) return cf_error(ctx, CF_ENOMEM, path, var_, "out of memory");
  for (size_t i = 0; i < n; i++) b[i] = v && isfinite(v[i]) ? v[i] : NC_FILL_DOUBLE;
  errno = 0;
  int e = n ? nc_put_var_double(nc, id, b) : NC_NOERR;
  free(b);
  char why[320];
  if (e) return cf_error(ctx, CF_EIO, path, var_, "%s", cf_nc_failure_reason(e, why, sizeof why));
  return CF_OK;
}

static int put_strings(cf_ctx *ctx, const char *path, int nc, int id, const char *var_, const char **v, size_t n) {
  if (n) NCK(nc_put_var_string(nc, id, v));
  return CF_OK;
}

/* Per source: the reported rate and sigma, prior, averaging kernel and the
 * mass balance's answer. */
typedef struct {
  const char *name, *units, *long_name;
} var_desc;

enum { S_RATE, S_SIGMA, S_PRIOR, S_PRIOR_SIGMA, S_SIGMA_POST, S_SIGMA_JACK, S_AK, S_MB_RATE, S_MB_SIGMA, S_E, S_N, NS };
static const var_desc source_vars[NS] = {
    {"rate", "t h-1", "CO2 emission rate (t CO2 per hour)"},
    {"rate_sigma", "t h-1", "1-sigma uncertainty of rate (t CO2 per hour)"},
    {"prior", "t h-1", "prior CO2 emission rate (t CO2 per hour)"},
    {"prior_sigma", "t h-1", "1-sigma uncertainty of prior (t CO2 per hour)"},
    {"rate_sigma_posterior", "t h-1", "posterior 1-sigma of the inversion's rate (t CO2 per hour)"},
    {"rate_sigma_jackknife", "t h-1", "delete-a-block jackknife 1-sigma of the inversion's rate (t CO2 per hour)"},
    {"averaging_kernel", "1", "averaging kernel of the source (point: A_jj; area: w^T A w / w^T w over its cells)"},
    {"mass_balance_rate", "t h-1", "CO2 emission rate from the mass balance (t CO2 per hour), where it isolated the source"},
    {"mass_balance_sigma", "t h-1", "1-sigma uncertainty of mass_balance_rate (t CO2 per hour)"},
    {"source_x", "m", "east of the lidar (local azimuthal equidistant frame; area source: centroid)"},
    {"source_y", "m", "north of the lidar (local azimuthal equidistant frame; area source: centroid)"},
};

static int def_source_table(cf_ctx *ctx, const char *path, int nc, int ds, int dg, int *sv, int *sname, int *skind,
                            int *sgroup, int *sreason, int *scons, int *gv) {
  const char *var_ = "source_name";
  NCK(nc_def_var(nc, "source_name", NC_STRING, 1, &ds, sname));
  NCK(put_text(nc, *sname, "long_name", "name of the source (the sources layer's `name`)"));
  var_ = "source_kind";
  NCK(nc_def_var(nc, "source_kind", NC_STRING, 1, &ds, skind));
  NCK(put_text(nc, *skind, "long_name", "point (a stack) or area (a polygon; rates are its total)"));
  var_ = "source_group";
  NCK(nc_def_var(nc, "source_group", NC_STRING, 1, &ds, sgroup));
  NCK(put_text(nc, *sgroup, "long_name", "group the source belongs to (empty: none)"));
  int rc;
  for (int k = 0; k < NS; k++)
    if ((rc = def_double(ctx, path, nc, source_vars[k].name, 1, &ds, source_vars[k].units, source_vars[k].long_name,
                         &sv[k])))
      return rc;
  var_ = "rate";
  NCK(put_text(nc, sv[S_RATE], "comment",
               "negative: a sink; area source: the total over its polygon; the inversion's rate when it ran, else "
               "the mass balance's where it isolated the source (global attribute `method`)"));
  var_ = "constrained";
  NCK(nc_def_var(nc, "constrained", NC_BYTE, 1, &ds, scons));
  NCK(put_text(nc, *scons, "long_name", "1: the inversion pinned the rate at 0 (non-negativity)"));
  var_ = "mass_balance_reason";
  NCK(nc_def_var(nc, "mass_balance_reason", NC_STRING, 1, &ds, sreason));
  NCK(put_text(nc, *sreason, "long_name", "why the mass balance could not isolate the source (empty: isolated or not run)"));
  if (dg < 0) return CF_OK;
  var_ = "group_name";
  NCK(nc_def_var(nc, "group_name", NC_STRING, 1, &dg, &gv[0]));
  NCK(put_text(nc, gv[0], "long_name", "name of the group; its members have it in source_group"));
  if ((rc = def_double(ctx, path, nc, "group_rate", 1, &dg, "t h-1", "CO2 emission rate of the group (sum of its members)",
                       &gv[1])) ||
      (rc = def_double(ctx, path, nc, "group_rate_sigma", 1, &dg, "t h-1",
                       "1-sigma uncertainty of group_rate (from the posterior covariance, w^T P w)", &gv[2])) ||
      (rc = def_double(ctx, path, nc, "group_prior", 1, &dg, "t h-1", "prior CO2 emission rate of the group", &gv[3])))
    return rc;
  return CF_OK;
}

static int put_source_table(cf_ctx *ctx, const char *path, int nc, const cf_flux_result *r, const int *sv, int sname,
                            int skind, int sgroup, int sreason, int scons, const int *gv) {
  size_t n = (size_t)r->n_sources, ng = (size_t)r->n_groups;
  const char **s1 = malloc((n ? n : 1) * sizeof *s1), **s2 = malloc((n ? n : 1) * sizeof *s2);
  const char **s3 = malloc((n ? n : 1) * sizeof *s3), **s4 = malloc((n ? n : 1) * sizeof *s4);
  const char **gn = malloc((ng ? ng : 1) * sizeof *gn);
  double *col = malloc((n ? n : 1) * NS * sizeof *col), *gcol = malloc((ng ? ng : 1) * 3 * sizeof *gcol);
  signed char *cons = malloc(n ? n : 1);
  int rc = s1 && s2 && s3 && s4 && gn && col && gcol && cons ? CF_OK : cf_error(ctx, CF_ENOMEM, path, "source", "out of memory");
  int inv = cf_flux_inversion_ran(r);
  for (size_t i = 0; !rc && i < n; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    double *c = col + i * NS;
    s1[i] = s->name, s2[i] = s->kind == CF_SOURCE_AREA ? "area" : "point", s3[i] = s->group ? s->group : "";
    s4[i] = s->mb_isolated ? "" : s->mb_reason;
    cf_flux_reported_rate(r, (int)i, &c[S_RATE], &c[S_SIGMA]);
    c[S_PRIOR] = s->prior_t_h, c[S_PRIOR_SIGMA] = s->prior_sigma_t_h;
    c[S_SIGMA_POST] = inv && s->estimated ? s->sigma_posterior_t_h : NAN;
    c[S_SIGMA_JACK] = inv && s->estimated ? s->sigma_jackknife_t_h : NAN;
    c[S_AK] = inv && s->estimated ? s->avg_kernel : NAN;
    c[S_MB_RATE] = s->mb_isolated ? s->mb_rate_t_h : NAN;
    c[S_MB_SIGMA] = s->mb_isolated ? s->mb_sigma_t_h : NAN;
    c[S_E] = s->e_m, c[S_N] = s->n_m;
    cons[i] = (signed char)(s->constrained != 0);
  }
  /* one column at a time, transposed out of the rows above */
  double *buf = rc ? NULL : malloc((n ? n : 1) * sizeof *buf);
  if (!rc && !buf) rc = cf_error(ctx, CF_ENOMEM, path, "source", "out of memory");
  for (int k = 0; !rc && k < NS; k++) {
    for (size_t i = 0; i < n; i++) buf[i] = col[i * NS + k];
    rc = put_double(ctx, path, nc, sv[k], source_vars[k].name, buf, n);
  }
  if (!rc) rc = put_strings(ctx, path, nc, sname, "source_name", s1, n);
  if (!rc) rc = put_strings(ctx, path, nc, skind, "source_kind", s2, n);
  if (!rc) rc = put_strings(ctx, path, nc, sgroup, "source_group", s3, n);
  if (!rc) rc = put_strings(ctx, path, nc, sreason, "mass_balance_reason", s4, n);
  if (!rc && n) {
    errno = 0;
    int e = nc_put_var_schar(nc, scons, cons);
    char why[320];
    if (e) rc = cf_error(ctx, CF_EIO, path, "constrained", "%s", cf_nc_failure_reason(e, why, sizeof why));
  }
  if (!rc && ng) {
    for (size_t g = 0; g < ng; g++) {
      gn[g] = r->groups[g].name;
      gcol[g] = r->groups[g].rate_t_h, gcol[ng + g] = r->groups[g].sigma_t_h, gcol[2 * ng + g] = r->groups[g].prior_t_h;
    }
    rc = put_strings(ctx, path, nc, gv[0], "group_name", gn, ng);
    if (!rc) rc = put_double(ctx, path, nc, gv[1], "group_rate", gcol, ng);
    if (!rc) rc = put_double(ctx, path, nc, gv[2], "group_rate_sigma", gcol + ng, ng);
    if (!rc) rc = put_double(ctx, path, nc, gv[3], "group_prior", gcol + 2 * ng, ng);
  }
  free(buf);
  free(s1), free(s2), free(s3), free(s4), free(gn), free(col), free(gcol), free(cons);
  return rc;
}

/* The map variables on (y, x). */
enum { G_FLUX, G_SIGMA, G_PRIOR, G_AK, NG };
static const var_desc grid_vars[NG] = {
    {"flux", "umol m-2 s-1", "posterior mean surface CO2 flux (positive: emission)"},
    {"flux_sigma", "umol m-2 s-1", "posterior 1-sigma uncertainty of flux (from the posterior covariance)"},
    {"flux_prior", "umol m-2 s-1", "prior surface CO2 flux"},
    {"averaging_kernel_diagonal", "1", "diagonal of the averaging kernel A (1: the data fix the cell, 0: the prior does)"},
};

typedef struct {
  int dx, dy, vx, vy, vlat, vlon, vcrs, gv[NG];
} l3_grid_ids;

static int def_grid(cf_ctx *ctx, const char *path, int nc, const cf_flux_result *r, const char *wkt, l3_grid_ids *d) {
  const char *var_ = "";
  NCK(nc_def_dim(nc, "y", (size_t)r->grid.ny, &d->dy));
  NCK(nc_def_dim(nc, "x", (size_t)r->grid.nx, &d->dx));
  var_ = "x";
  NCK(nc_def_var(nc, "x", NC_DOUBLE, 1, &d->dx, &d->vx));
  NCK(put_text(nc, d->vx, "units", "m"));
  NCK(put_text(nc, d->vx, "standard_name", "projection_x_coordinate"));
  NCK(put_text(nc, d->vx, "long_name", "cell centre, east of the lidar"));
  NCK(put_text(nc, d->vx, "axis", "X"));
  var_ = "y";
  NCK(nc_def_var(nc, "y", NC_DOUBLE, 1, &d->dy, &d->vy));
  NCK(put_text(nc, d->vy, "units", "m"));
  NCK(put_text(nc, d->vy, "standard_name", "projection_y_coordinate"));
  NCK(put_text(nc, d->vy, "long_name", "cell centre, north of the lidar (decreasing: row 0 is the north edge)"));
  NCK(put_text(nc, d->vy, "axis", "Y"));
  int d2[2] = {d->dy, d->dx};
  const struct {
    int *id;
    const char *name, *units, *std;
  } ll[2] = {{&d->vlat, "lat", "degrees_north", "latitude"}, {&d->vlon, "lon", "degrees_east", "longitude"}};
  for (int k = 0; k < 2; k++) {
    var_ = ll[k].name;
    NCK(nc_def_var(nc, ll[k].name, NC_DOUBLE, 2, d2, ll[k].id));
    NCK(put_text(nc, *ll[k].id, "units", ll[k].units));
    NCK(put_text(nc, *ll[k].id, "standard_name", ll[k].std));
    NCK(put_text(nc, *ll[k].id, "long_name", k ? "longitude of the cell centre (WGS 84)" : "latitude of the cell centre (WGS 84)"));
  }
  var_ = "crs";
  NCK(nc_def_var(nc, "crs", NC_INT, 0, NULL, &d->vcrs));
  NCK(put_text(nc, d->vcrs, "grid_mapping_name", "azimuthal_equidistant"));
  const struct {
    const char *name;
    double v;
  } p[6] = {{"longitude_of_projection_origin", r->lon_deg}, {"latitude_of_projection_origin", r->lat_deg},
            {"false_easting", 0.0}, {"false_northing", 0.0}, {"semi_major_axis", 6378137.0},
            {"inverse_flattening", 298.257223563}};
  for (int k = 0; k < 6; k++) NCK(nc_put_att_double(nc, d->vcrs, p[k].name, NC_DOUBLE, 1, &p[k].v));
  NCK(put_text(nc, d->vcrs, "crs_wkt", wkt));
  NCK(put_text(nc, d->vcrs, "spatial_ref", wkt)); /* where GDAL looks first */
  NCK(put_text(nc, d->vcrs, "proj4_params", r->crs));
  int rc;
  for (int k = 0; k < NG; k++)
    if ((rc = def_double(ctx, path, nc, grid_vars[k].name, 2, d2, grid_vars[k].units, grid_vars[k].long_name, &d->gv[k])))
      return rc;
  var_ = "flux";
  NCK(put_text(nc, d->gv[G_FLUX], "standard_name", "surface_upward_mole_flux_of_carbon_dioxide"));
  return CF_OK;
}

static int put_grid(cf_ctx *ctx, const char *path, int nc, const cf_flux_result *r, const l3_grid_ids *d,
                    const double *lat, const double *lon) {
  const cf_flux_grid *g = &r->grid;
  double *x = malloc((size_t)g->nx * sizeof *x), *y = malloc((size_t)g->ny * sizeof *y);
  int rc = x && y ? CF_OK : cf_error(ctx, CF_ENOMEM, path, "x", "out of memory");
  for (int c = 0; !rc && c < g->nx; c++) x[c] = g->west_m + (c + 0.5) * g->res_m;
  for (int k = 0; !rc && k < g->ny; k++) y[k] = g->north_m - (k + 0.5) * g->res_m;
  if (!rc) rc = put_double(ctx, path, nc, d->vx, "x", x, (size_t)g->nx);
  if (!rc) rc = put_double(ctx, path, nc, d->vy, "y", y, (size_t)g->ny);
  free(x), free(y);
  size_t n = (size_t)g->nx * g->ny;
  if (!rc) rc = put_double(ctx, path, nc, d->vlat, "lat", lat, n);
  if (!rc) rc = put_double(ctx, path, nc, d->vlon, "lon", lon, n);
  const double *v[NG] = {g->flux_umol_m2_s, g->sigma_umol_m2_s, g->prior_umol_m2_s, g->avg_kernel};
  for (int k = 0; !rc && k < NG; k++) rc = put_double(ctx, path, nc, d->gv[k], grid_vars[k].name, v[k], n);
  return rc;
}

static int put_globals(cf_ctx *ctx, const char *path, int nc, const cf_flux_result *r) {
  const char *var_ = "";
  cf_strbuf hist, files, sums, src;
  cf_strbuf_init(&hist), cf_strbuf_init(&files), cf_strbuf_init(&sums), cf_strbuf_init(&src);
  char when[32]; /* now, or SOURCE_DATE_EPOCH (core/utc.h) */
  cf_utc_product_time(when, sizeof when);
  /* CF history: the UTC time, the command, and the inputs' names last (as the L2 writer's) */
  cf_strbuf_printf(&hist, "%s %s (carbonflux %s, inputs", when, r->history ? r->history : "carbonflux flux estimate",
                   cf_version());
  for (int i = 0; i < r->n_inputs; i++) {
    const char *base = strrchr(r->input_paths[i], '/');
    int first_source = i == r->n_inputs - r->n_source_files;
    cf_strbuf_printf(&hist, "%s%s %s", i ? (first_source ? ";" : ",") : "", first_source ? " sources" : "",
                     base ? base + 1 : r->input_paths[i]);
    cf_strbuf_printf(&files, "%s%s", i ? "\n" : "", r->input_paths[i]);
    cf_strbuf_printf(&sums, "%s%s", i ? "\n" : "", r->input_sha256[i]);
  }
  cf_strbuf_puts(&hist, ")");
  cf_strbuf_printf(&src, "carbonflux %s", cf_version());
  int rc = hist.failed || files.failed || sums.failed || src.failed ? cf_error(ctx, CF_ENOMEM, path, "", "out of memory")
                                                                      : CF_OK;
  const struct {
    const char *name, *v;
  } t[] = {{"Conventions", "CF-1.8"},
           {"title", cf_flux_inversion_ran(r) ? "CO2 surface flux and emission rates from CO2-flux lidar (Bayesian inversion)"
                                      : "CO2 emission rates from CO2-flux lidar (mass balance)"},
           {"source", cf_strbuf_str(&src)},
           {"history", cf_strbuf_str(&hist)},
           {"carbonflux_version", cf_version()},
           {"method", cf_flux_inversion_ran(r) ? "inversion" : "mass_balance"},
           {"methods_run", cf_flux_method_names[r->method]},
           {"input_files", cf_strbuf_str(&files)},
           {"input_sha256", cf_strbuf_str(&sums)},
           {"processing_parameters", r->settings_json && r->settings_json[0] ? r->settings_json : "{}"},
           {"crs_proj4", r->crs}};
  for (size_t k = 0; !rc && k < sizeof t / sizeof *t; k++) {
    errno = 0;
    int e = put_text(nc, NC_GLOBAL, t[k].name, t[k].v);
    char why[320];
    if (e) rc = cf_error(ctx, CF_EIO, path, t[k].name, "%s", cf_nc_failure_reason(e, why, sizeof why));
  }
  cf_strbuf_free(&hist), cf_strbuf_free(&files), cf_strbuf_free(&sums), cf_strbuf_free(&src);
  if (rc) return rc;
  const cf_flux_diag *d = &r->diag;
  const struct {
    const char *name;
    double v;
  } dv[] = {{"site_latitude_deg", r->lat_deg},     {"site_longitude_deg", r->lon_deg},
            {"site_altitude_m", r->alt_m},         {"dofs", d->dofs},
            {"chi2_per_obs", d->chi2_per_obs},     {"j_obs", d->j_obs},
            {"j_prior", d->j_prior},               {"blh_m", d->blh_m},
            {"sigma_theta_deg", d->sigma_theta_deg}, {"model_error_fraction", d->model_error_fraction},
            {"model_floor_ppm", d->model_floor_ppm}, {"rcond", d->rcond}};
  /* a diagnostic that was not computed is left out (an attribute has no fill) */
  for (size_t k = 0; k < sizeof dv / sizeof *dv; k++)
    if (isfinite(dv[k].v)) {
      var_ = dv[k].name;
      NCK(nc_put_att_double(nc, NC_GLOBAL, dv[k].name, NC_DOUBLE, 1, &dv[k].v));
    }
  long long n_obs = d->n_obs, n_out = d->n_outliers;
  var_ = "n_obs";
  NCK(nc_put_att_longlong(nc, NC_GLOBAL, "n_obs", NC_INT64, 1, &n_obs));
  var_ = "n_outliers";
  NCK(nc_put_att_longlong(nc, NC_GLOBAL, "n_outliers", NC_INT64, 1, &n_out));
  var_ = "n_state";
  NCK(nc_put_att_int(nc, NC_GLOBAL, "n_state", NC_INT, 1, &d->n_state));
  char stab[2] = {d->stability >= 'A' && d->stability <= 'F' ? d->stability : '?', '\0'};
  var_ = "stability";
  NCK(put_text(nc, NC_GLOBAL, "stability", stab));
  NCK(put_text(nc, NC_GLOBAL, "blh_source", d->blh_auto ? "auto" : "given"));
  NCK(put_text(nc, NC_GLOBAL, "stability_source", d->stability_auto ? "auto" : "given"));
  var_ = "sigma_z_scale";
  NCK(nc_put_att_double(nc, NC_GLOBAL, "sigma_z_scale", NC_DOUBLE, 1, &d->sigma_z_scale));
  NCK(put_text(nc, NC_GLOBAL, "sigma_z_scale_source", d->sigma_z_scale_auto ? "auto" : "given"));
  return CF_OK;
}

static int write_l3_body(cf_ctx *ctx, const char *path, int nc, const cf_flux_result *r, const char *wkt,
                         const double *lat, const double *lon) {
  const char *var_ = "";
  int ds, dg = -1, sv[NS], sname, skind, sgroup, sreason, scons, gv[4];
  l3_grid_ids gi;
  NCK(nc_def_dim(nc, "source", (size_t)r->n_sources, &ds));
  if (r->n_groups > 0) NCK(nc_def_dim(nc, "group", (size_t)r->n_groups, &dg));
  int rc = r->grid.nx > 0 ? def_grid(ctx, path, nc, r, wkt, &gi) : CF_OK;
  if (!rc) rc = def_source_table(ctx, path, nc, ds, dg, sv, &sname, &skind, &sgroup, &sreason, &scons, gv);
  if (!rc) rc = put_globals(ctx, path, nc, r);
  if (rc) return rc;
  NCK(nc_enddef(nc));
  if (r->grid.nx > 0 && (rc = put_grid(ctx, path, nc, r, &gi, lat, lon))) return rc;
  return put_source_table(ctx, path, nc, r, sv, sname, skind, sgroup, sreason, scons, gv);
}

int cf_flux_l3_write(cf_ctx *ctx, const cf_flux_result *r, const cf_atomic_file *af, const char *wkt,
                     const double *lat, const double *lon) {
  const char *path = af->final_path;
  int nc;
  char why[320];
  errno = 0;
  int e = nc_create(af->part_path, NC_NETCDF4 | NC_CLOBBER, &nc);
  if (e != NC_NOERR) return cf_error(ctx, CF_EIO, path, "", "cannot create: %s", cf_nc_failure_reason(e, why, sizeof why));
  int rc = write_l3_body(ctx, path, nc, r, wkt, lat, lon);
  /* everything reaches the disk in the sync, where a failure (a full disk)
   * is still reported; a failed file's descriptors are then pointed at a
   * scratch file, so that its close cannot fail (lidar/l0_write.h) */
  errno = 0;
  if (!rc && (e = nc_sync(nc)) != NC_NOERR)
    rc = cf_error(ctx, CF_EIO, path, "", "writing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
  if (rc) cf_discard_open_file(af->part_path);
  errno = 0;
  e = nc_close(nc);
  if (e != NC_NOERR && !rc) rc = cf_error(ctx, CF_EIO, path, "", "closing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
  return rc;
}
