/*
 * The outputs of a flux estimate (../shared/spec/flux-io.md): the summary
 * JSON, the L3 NetCDF, the flux map as GeoTIFF and its quicklook PNG, in
 * one directory, all written or none.
 *
 * Why all-or-none: the four files are one product. A reader that finds a
 * new summary beside the map of an earlier run draws the wrong
 * conclusions, so every file is filled under a part name (core/fsutil.h)
 * and the four are renamed together (cf_atomic_commit_all); any failure
 * removes every part, and an earlier run's files stay as they were. The
 * COG writer (raster/cog.h) would commit its file on its own, so the
 * GeoTIFF is a plain DEFLATE GTiff copied from an in-memory dataset.
 *
 * Without a grid (the inversion did not run: method=mass_balance) there is
 * no map: flux_summary.json and flux_l3.nc (the source table only) are
 * written, flux_map.tif and flux_map.png are not, and the log says so.
 *
 * What fills the source rates: the inversion's when it ran, else the mass
 * balance's for the sources it isolated (the others have none). The JSON's
 * `sources` and the L3 `rate` follow that rule; the mass balance's own
 * answers are always in `mass_balance` / `mass_balance_rate`.
 *
 * Conventions of the L3 file: the grid's rows run north to south as in the
 * map and the GeoTIFF, so the y coordinate DECREASES along its dimension
 * (CF allows either order; one row order everywhere is less error-prone).
 * Values not estimated are the netCDF default fill (NC_FILL_DOUBLE, 9.97e36,
 * in _FillValue), never NaN, as in the L2 writer; the GeoTIFF's nodata is
 * -9999. netCDF-C is not thread-safe: all of it runs in the calling thread.
 */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <netcdf.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsutil.h"
#include "core/provenance.h"
#include "core/strbuf.h"
#include "core/utc.h"
#include "ingest/gdal_util.h"
#include "lidar/flux/estimate.h"
#include "lidar/flux/flux_png.h"
#include "lidar/flux/flux_provenance.h"
#include "lidar/l0_write.h"
#include "lidar/l2_write.h"

#define MAP_NODATA (-9999.0)

static const char *const method_names[] = {"inversion", "mass_balance", "both"};

void cf_flux_result_free(cf_flux_result *r) {
  if (!r) return;
  free(r->sources); /* names and groups are borrowed from the sources layer */
  for (int g = 0; r->groups && g < r->n_groups; g++) {
    free(r->groups[g].name);
    free(r->groups[g].members);
  }
  free(r->groups);
  free(r->grid.flux_umol_m2_s);
  free(r->grid.sigma_umol_m2_s);
  free(r->grid.prior_umol_m2_s);
  free(r->grid.avg_kernel);
  free(r->sweeps);
  for (int i = 0; r->input_paths && i < r->n_inputs; i++) free(r->input_paths[i]);
  free(r->input_paths);
  free(r->input_sha256);
  free(r->settings_json);
  free(r->history);
  memset(r, 0, sizeof *r);
}

/* What input i is: an L2 file or one of the sources layer's files. */
static const char *input_role(const cf_flux_result *r, int i) {
  return i >= r->n_inputs - r->n_source_files ? "sources" : "l2";
}

static int inversion_ran(const cf_flux_result *r) {
  return r->method == CF_FLUX_INVERSION || r->method == CF_FLUX_BOTH;
}

static int mass_balance_ran(const cf_flux_result *r) {
  return r->method == CF_FLUX_MASS_BALANCE || r->method == CF_FLUX_BOTH;
}

/* The rate and sigma reported for source i (NaN: none): see the top. */
static void reported(const cf_flux_result *r, int i, double *rate, double *sigma) {
  const cf_flux_source_result *s = &r->sources[i];
  *rate = *sigma = NAN;
  if (inversion_ran(r)) {
    if (s->estimated) *rate = s->rate_t_h, *sigma = s->sigma_t_h;
  } else if (s->mb_isolated) {
    *rate = s->mb_rate_t_h, *sigma = s->mb_sigma_t_h;
  }
}

/* What the writers rely on, checked once: CF_EINVAL names the field. */
static int check_result(cf_ctx *ctx, const cf_flux_result *r, const char *where) {
  if (!r) return cf_error(ctx, CF_EINVAL, where, "", "no result");
  if (r->method < CF_FLUX_INVERSION || r->method > CF_FLUX_BOTH)
    return cf_error(ctx, CF_EINVAL, where, "method", "unknown method %d", r->method);
  if (r->n_sources < 0 || (r->n_sources && !r->sources))
    return cf_error(ctx, CF_EINVAL, where, "sources", "%d sources without their array", r->n_sources);
  for (int i = 0; i < r->n_sources; i++)
    if (!r->sources[i].name) return cf_error(ctx, CF_EINVAL, where, "sources", "source %d has no name", i);
  if (r->n_groups < 0 || (r->n_groups && !r->groups))
    return cf_error(ctx, CF_EINVAL, where, "groups", "%d groups without their array", r->n_groups);
  for (int g = 0; g < r->n_groups; g++) {
    const cf_flux_group_result *G = &r->groups[g];
    if (!G->name || G->n_members < 0 || (G->n_members && !G->members))
      return cf_error(ctx, CF_EINVAL, where, "groups", "group %d has no name or no members array", g);
    for (int k = 0; k < G->n_members; k++)
      if (G->members[k] < 0 || G->members[k] >= r->n_sources)
        return cf_error(ctx, CF_EINVAL, where, "groups", "group %s: member %d is not a source", G->name, G->members[k]);
  }
  const cf_flux_grid *g = &r->grid;
  if (g->nx < 0 || g->ny < 0 || (g->nx > 0) != (g->ny > 0))
    return cf_error(ctx, CF_EINVAL, where, "grid", "a %d x %d grid", g->nx, g->ny);
  if (g->nx > 0 && (!g->flux_umol_m2_s || !g->sigma_umol_m2_s || !(g->res_m > 0) || !isfinite(g->res_m) ||
                    !isfinite(g->west_m) || !isfinite(g->north_m)))
    return cf_error(ctx, CF_EINVAL, where, "grid", "a grid without its flux and sigma arrays or with no extent");
  if (r->n_sweeps < 0 || (r->n_sweeps && !r->sweeps))
    return cf_error(ctx, CF_EINVAL, where, "sweeps", "%d sweeps without their array", r->n_sweeps);
  if (r->n_inputs < 0 || (r->n_inputs && (!r->input_paths || !r->input_sha256)))
    return cf_error(ctx, CF_EINVAL, where, "inputs", "%d inputs without their paths and digests", r->n_inputs);
  if (r->n_source_files < 0 || r->n_source_files > r->n_inputs)
    return cf_error(ctx, CF_EINVAL, where, "inputs", "%d of %d inputs are the sources layer's", r->n_source_files,
                    r->n_inputs);
  for (int i = 0; i < r->n_inputs; i++)
    if (!r->input_paths[i]) return cf_error(ctx, CF_EINVAL, where, "inputs", "input %d has no path", i);
  return CF_OK;
}

/* ---------------------------------------------------------------- JSON */

static void key(cf_strbuf *sb, const char *k, int first) {
  if (!first) cf_strbuf_puts(sb, ", ");
  cf_strbuf_json_string(sb, k);
  cf_strbuf_puts(sb, ": ");
}

static void num(cf_strbuf *sb, const char *k, double v) {
  key(sb, k, 0);
  cf_strbuf_json_double(sb, v);
}

static void str_or_null(cf_strbuf *sb, const char *k, const char *v) {
  key(sb, k, 0);
  if (v)
    cf_strbuf_json_string(sb, v);
  else
    cf_strbuf_puts(sb, "null");
}

static void sources_json(cf_strbuf *sb, const cf_flux_result *r) {
  int inv = inversion_ran(r), first = 1;
  cf_strbuf_puts(sb, "  \"sources\": [");
  for (int i = 0; i < r->n_sources; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    if (!inv && !s->mb_isolated) continue;
    double rate, sigma;
    reported(r, i, &rate, &sigma);
    cf_strbuf_puts(sb, first ? "\n    {" : ",\n    {");
    first = 0;
    key(sb, "name", 1);
    cf_strbuf_json_string(sb, s->name);
    key(sb, "kind", 0);
    cf_strbuf_json_string(sb, s->kind == CF_SOURCE_AREA ? "area" : "point");
    num(sb, "rate_t_per_h", rate);
    num(sb, "sigma_t_per_h", sigma);
    num(sb, "prior_t_per_h", s->prior_t_h);
    num(sb, "prior_sigma_t_per_h", s->prior_sigma_t_h);
    if (inv) {
      num(sb, "sigma_posterior_t_per_h", s->estimated ? s->sigma_posterior_t_h : NAN);
      num(sb, "sigma_jackknife_t_per_h", s->estimated ? s->sigma_jackknife_t_h : NAN);
      num(sb, "sigma_direction_t_per_h", s->estimated ? s->sigma_direction_t_h : NAN);
      num(sb, "averaging_kernel", s->estimated ? s->avg_kernel : NAN);
      key(sb, "constrained", 0);
      cf_strbuf_puts(sb, s->constrained ? "true" : "false");
    }
    str_or_null(sb, "group", s->group);
    num(sb, "east_m", s->e_m);
    num(sb, "north_m", s->n_m);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, first ? "],\n" : "\n  ],\n");
}

static void groups_json(cf_strbuf *sb, const cf_flux_result *r) {
  cf_strbuf_puts(sb, "  \"groups\": [");
  for (int g = 0; g < r->n_groups; g++) {
    const cf_flux_group_result *G = &r->groups[g];
    cf_strbuf_puts(sb, g ? ",\n    {" : "\n    {");
    key(sb, "name", 1);
    cf_strbuf_json_string(sb, G->name);
    key(sb, "members", 0);
    cf_strbuf_puts(sb, "[");
    for (int k = 0; k < G->n_members; k++) {
      if (k) cf_strbuf_puts(sb, ", ");
      cf_strbuf_json_string(sb, r->sources[G->members[k]].name);
    }
    cf_strbuf_puts(sb, "]");
    num(sb, "rate_t_per_h", G->rate_t_h);
    num(sb, "sigma_t_per_h", G->sigma_t_h);
    num(sb, "prior_t_per_h", G->prior_t_h);
    num(sb, "sigma_posterior_t_per_h", G->sigma_posterior_t_h);
    num(sb, "sigma_jackknife_t_per_h", G->sigma_jackknife_t_h);
    num(sb, "sigma_direction_t_per_h", G->sigma_direction_t_h);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, r->n_groups ? "\n  ],\n" : "],\n");
}

/* `mass_balance`: the isolated sources; `mass_balance_not_isolated`: the
 * others and why (empty when the mass balance did not run). */
static void mass_balance_json(cf_strbuf *sb, const cf_flux_result *r) {
  for (int pass = 0; pass < 2; pass++) {
    cf_strbuf_puts(sb, pass ? "  \"mass_balance_not_isolated\": [" : "  \"mass_balance\": [");
    int first = 1;
    for (int i = 0; mass_balance_ran(r) && i < r->n_sources; i++) {
      const cf_flux_source_result *s = &r->sources[i];
      int listed = pass ? !s->mb_isolated : s->mb_isolated != 0;
      if (!listed) continue;
      cf_strbuf_puts(sb, first ? "\n    {" : ",\n    {");
      first = 0;
      key(sb, "name", 1);
      cf_strbuf_json_string(sb, s->name);
      if (pass) {
        key(sb, "reason", 0);
        cf_strbuf_json_string(sb, s->mb_reason[0] ? s->mb_reason : "not isolated");
      } else {
        num(sb, "rate_t_per_h", s->mb_rate_t_h);
        num(sb, "sigma_t_per_h", s->mb_sigma_t_h);
      }
      cf_strbuf_puts(sb, "}");
    }
    cf_strbuf_puts(sb, first ? "],\n" : "\n  ],\n");
  }
}

static void diagnostics_json(cf_strbuf *sb, const cf_flux_result *r) {
  const cf_flux_diag *d = &r->diag;
  char stab[2] = {d->stability, '\0'};
  int stab_ok = d->stability >= 'A' && d->stability <= 'F';
  cf_strbuf_puts(sb, "  \"diagnostics\": {");
  key(sb, "n_obs", 1);
  cf_strbuf_printf(sb, "%ld", d->n_obs);
  key(sb, "n_state", 0);
  cf_strbuf_printf(sb, "%d", d->n_state);
  num(sb, "dofs", d->dofs);
  num(sb, "chi2_per_obs", d->chi2_per_obs);
  num(sb, "j_obs", d->j_obs);
  num(sb, "j_prior", d->j_prior);
  num(sb, "blh_m", d->blh_m);
  str_or_null(sb, "stability", stab_ok ? stab : NULL);
  cf_strbuf_puts(sb, ",\n                  ");
  key(sb, "blh_source", 1);
  cf_strbuf_json_string(sb, d->blh_auto ? "auto" : "given");
  key(sb, "stability_source", 0);
  cf_strbuf_json_string(sb, d->stability_auto ? "auto" : "given");
  num(sb, "sigma_z_scale", d->sigma_z_scale);
  key(sb, "sigma_z_scale_source", 0);
  cf_strbuf_json_string(sb, d->sigma_z_scale_auto ? "auto" : "given");
  num(sb, "sigma_theta_deg", d->sigma_theta_deg);
  num(sb, "wind_speed_ms", d->wind_speed_ms);
  num(sb, "wind_from_deg", d->wind_from_deg);
  num(sb, "model_error_fraction", d->model_error_fraction);
  num(sb, "model_floor_ppm", d->model_floor_ppm);
  cf_strbuf_puts(sb, ",\n                  ");
  key(sb, "jackknife_blocks", 1);
  cf_strbuf_printf(sb, "%d", d->jackknife_blocks);
  key(sb, "n_outliers", 0);
  cf_strbuf_printf(sb, "%ld", d->n_outliers);
  num(sb, "rcond", d->rcond);
  key(sb, "n_constrained", 0);
  cf_strbuf_printf(sb, "%d", d->n_constrained);
  num(sb, "n_air_mol_m3", d->n_air_mol_m3);
  cf_strbuf_puts(sb, "},\n");
}

int cf_flux_summary_json(cf_ctx *ctx, const cf_flux_result *r, cf_strbuf *out) {
  int rc = check_result(ctx, r, "flux_summary.json");
  if (rc) return rc;
  cf_strbuf *sb = out;
  cf_strbuf_puts(sb, "{\n  \"schema\": \"carbonflux-flux-summary/1\",\n  \"method\": ");
  cf_strbuf_json_string(sb, inversion_ran(r) ? "inversion" : "mass_balance");
  cf_strbuf_puts(sb, ",\n  \"methods_run\": ");
  cf_strbuf_json_string(sb, method_names[r->method]);
  cf_strbuf_puts(sb, ",\n");
  sources_json(sb, r);
  groups_json(sb, r);
  mass_balance_json(sb, r);
  diagnostics_json(sb, r);
  cf_strbuf_puts(sb, "  \"inputs\": [");
  for (int i = 0; i < r->n_inputs; i++) {
    cf_strbuf_puts(sb, i ? ",\n    {" : "\n    {");
    key(sb, "path", 1);
    cf_strbuf_json_string(sb, r->input_paths[i]);
    key(sb, "sha256", 0);
    cf_strbuf_json_string(sb, r->input_sha256[i]);
    key(sb, "role", 0);
    cf_strbuf_json_string(sb, input_role(r, i));
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, r->n_inputs ? "\n  ],\n" : "],\n");
  /* the settings are a JSON object already (every setting's value) */
  cf_strbuf_puts(sb, "  \"settings\": ");
  cf_strbuf_puts(sb, r->settings_json && r->settings_json[0] ? r->settings_json : "{}");
  cf_strbuf_puts(sb, ",\n  \"site\": {");
  key(sb, "latitude", 1);
  cf_strbuf_json_double(sb, r->lat_deg);
  num(sb, "longitude", r->lon_deg);
  num(sb, "altitude", r->alt_m);
  key(sb, "crs", 0);
  cf_strbuf_json_string(sb, r->crs);
  cf_strbuf_puts(sb, "},\n  \"software\": {\"name\": \"carbonflux\", \"version\": ");
  cf_strbuf_json_string(sb, cf_version());
  cf_strbuf_puts(sb, "}\n}\n");
  return sb->failed ? cf_error(ctx, CF_ENOMEM, "flux_summary.json", "", "out of memory") : CF_OK;
}

/* ------------------------------------------------------------------ CRS */

/* The grid's CRS as WKT (malloc'ed) and, if lat/lon are wanted, the cell
 * centres' geographic coordinates [ny * nx]. */
static int grid_crs(cf_ctx *ctx, const cf_flux_result *r, const char *where, char **wkt, double *lat, double *lon) {
  *wkt = NULL;
  OGRSpatialReferenceH srs = cf_srs_from_user(ctx, r->crs, where, "crs");
  if (!srs) return cf_error_code(ctx);
  char *w = NULL;
  int rc = CF_OK;
  if (OSRExportToWkt(srs, &w) != OGRERR_NONE || !w || !(*wkt = strdup(w)))
    rc = cf_error(ctx, CF_EINVAL, where, "crs", "'%s' cannot be written as WKT", r->crs);
  CPLFree(w);
  const cf_flux_grid *g = &r->grid;
  if (!rc && lat && lon) {
    OGRSpatialReferenceH geo = OSRCloneGeogCS(srs);
    OGRCoordinateTransformationH ct = NULL;
    if (geo) {
      OSRSetAxisMappingStrategy(geo, OAMS_TRADITIONAL_GIS_ORDER);
      cf_gdal_quiet_push();
      ct = OCTNewCoordinateTransformation(srs, geo);
      cf_gdal_quiet_pop();
    }
    size_t n = (size_t)g->nx * g->ny;
    for (int row = 0; row < g->ny; row++)
      for (int col = 0; col < g->nx; col++) {
        size_t k = (size_t)row * g->nx + col;
        lon[k] = g->west_m + (col + 0.5) * g->res_m;
        lat[k] = g->north_m - (row + 0.5) * g->res_m;
      }
    if (!ct || !OCTTransform(ct, (int)n, lon, lat, NULL))
      rc = cf_error(ctx, CF_EINVAL, where, "crs", "cannot turn '%s' coordinates into latitude and longitude: %s", r->crs,
                    cf_gdal_last_error("no transformation"));
    if (ct) OCTDestroyCoordinateTransformation(ct);
    if (geo) OSRDestroySpatialReference(geo);
  }
  cf_srs_free(srs);
  if (rc) {
    free(*wkt);
    *wkt = NULL;
  }
  return rc;
}

/* ------------------------------------------------------------ the L3 file */

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
  int inv = inversion_ran(r);
  for (size_t i = 0; !rc && i < n; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    double *c = col + i * NS;
    s1[i] = s->name, s2[i] = s->kind == CF_SOURCE_AREA ? "area" : "point", s3[i] = s->group ? s->group : "";
    s4[i] = s->mb_isolated ? "" : s->mb_reason;
    reported(r, (int)i, &c[S_RATE], &c[S_SIGMA]);
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
           {"title", inversion_ran(r) ? "CO2 surface flux and emission rates from CO2-flux lidar (Bayesian inversion)"
                                      : "CO2 emission rates from CO2-flux lidar (mass balance)"},
           {"source", cf_strbuf_str(&src)},
           {"history", cf_strbuf_str(&hist)},
           {"carbonflux_version", cf_version()},
           {"method", inversion_ran(r) ? "inversion" : "mass_balance"},
           {"methods_run", method_names[r->method]},
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

static int write_l3(cf_ctx *ctx, const cf_flux_result *r, const cf_atomic_file *af, const char *wkt, const double *lat,
                    const double *lon) {
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

/* ------------------------------------------------------------ the GeoTIFF */

static int write_map_tif(cf_ctx *ctx, const cf_flux_result *r, const cf_atomic_file *af, const char *wkt) {
  const cf_flux_grid *g = &r->grid;
  cf_gdal_init();
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", g->nx, g->ny, 2, GDT_Float32, NULL);
  if (!mem) return cf_error(ctx, CF_ENOMEM, af->final_path, "", "cannot make the map: %s", cf_gdal_last_error("MEM driver"));
  size_t n = (size_t)g->nx * g->ny;
  float *buf = malloc(n * sizeof *buf);
  int rc = buf ? CF_OK : cf_error(ctx, CF_ENOMEM, af->final_path, "", "out of memory");
  double gt[6] = {g->west_m, g->res_m, 0.0, g->north_m, 0.0, -g->res_m};
  if (!rc && (GDALSetGeoTransform(mem, gt) != CE_None || GDALSetProjection(mem, wkt) != CE_None))
    rc = cf_error(ctx, CF_EINVAL, af->final_path, "crs", "GDAL refuses the grid: %s", cf_gdal_last_error("?"));
  const double *v[2] = {g->flux_umol_m2_s, g->sigma_umol_m2_s};
  const char *desc[2] = {"flux umol m-2 s-1", "flux_sigma umol m-2 s-1"};
  for (int b = 0; !rc && b < 2; b++) {
    GDALRasterBandH band = GDALGetRasterBand(mem, b + 1);
    for (size_t i = 0; i < n; i++) buf[i] = isfinite(v[b][i]) ? (float)v[b][i] : (float)MAP_NODATA;
    GDALSetRasterNoDataValue(band, MAP_NODATA);
    GDALSetDescription(band, desc[b]);
    GDALSetRasterUnitType(band, "umol m-2 s-1");
    if (GDALRasterIO(band, GF_Write, 0, 0, g->nx, g->ny, buf, g->nx, g->ny, GDT_Float32, 0, 0) != CE_None)
      rc = cf_error(ctx, CF_EIO, af->final_path, "", "cannot fill the map: %s", cf_gdal_last_error("MEM driver"));
  }
  /* the provenance every raster of ours carries (README "Outputs") */
  char **own = !rc && !r->map_metadata ? cf_flux_provenance_lines(ctx, r) : NULL;
  const char *const *md = r->map_metadata ? r->map_metadata : (const char *const *)own;
  if (!rc && !md) rc = cf_error_code(ctx);
  for (const char *const *m = md; !rc && *m; m++) { /* as raster/cog.c sets a COG's */
    char *k = NULL;
    const char *val = CPLParseNameValue(*m, &k);
    if (k && val && GDALSetMetadataItem(mem, k, val, NULL) != CE_None)
      rc = cf_error(ctx, CF_ENOMEM, af->final_path, k, "cannot set the metadata: %s", cf_gdal_last_error("MEM driver"));
    CPLFree(k);
  }
  cf_provenance_free(own);
  if (!rc) {
    GDALSetMetadataItem(mem, "TIFFTAG_SOFTWARE", "carbonflux", NULL);
    char **co = NULL;
    co = CSLSetNameValue(co, "COMPRESS", "DEFLATE");
    co = CSLSetNameValue(co, "PREDICTOR", "3");
    rc = cf_flux_gdal_copy(ctx, mem, "GTiff", co, af->part_path, af->final_path);
    CSLDestroy(co);
  }
  free(buf);
  GDALClose(mem);
  return rc;
}

/* ------------------------------------------------------------- the whole */

enum { F_JSON, F_L3, F_TIF, F_PNG, NF };
static const char *const file_names[NF] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png"};

int cf_flux_write_outputs(cf_ctx *ctx, const cf_flux_result *r, const char *outdir) {
  if (!outdir || !outdir[0]) return cf_error(ctx, CF_EINVAL, "flux estimate", "outdir", "no output directory given");
  int rc = check_result(ctx, r, outdir);
  if (rc) return rc;
  if ((rc = cf_mkdirs(ctx, outdir, 1))) return rc;
  int has_map = r->grid.nx > 0, nf = has_map ? NF : F_TIF;
  cf_atomic_file af[NF];
  memset(af, 0, sizeof af);
  char *paths[NF] = {NULL}, *wkt = NULL;
  double *lat = NULL, *lon = NULL;
  cf_strbuf json;
  cf_strbuf_init(&json);
  for (int k = 0; !rc && k < NF; k++)
    if (!(paths[k] = cf_path_join(outdir, file_names[k]))) rc = cf_error(ctx, CF_ENOMEM, outdir, "", "out of memory");
  if (!rc) rc = cf_flux_summary_json(ctx, r, &json);
  if (!rc && has_map) {
    size_t n = (size_t)r->grid.nx * r->grid.ny;
    lat = malloc(n * sizeof *lat), lon = malloc(n * sizeof *lon);
    rc = lat && lon ? grid_crs(ctx, r, paths[F_L3], &wkt, lat, lon) : cf_error(ctx, CF_ENOMEM, paths[F_L3], "", "out of memory");
  }
  for (int k = 0; !rc && k < nf; k++) rc = cf_atomic_begin(ctx, paths[k], &af[k]);
  if (!rc) rc = cf_atomic_write_text(ctx, &af[F_JSON], cf_strbuf_str(&json));
  if (!rc) rc = write_l3(ctx, r, &af[F_L3], wkt, lat, lon);
  if (!rc && has_map) rc = write_map_tif(ctx, r, &af[F_TIF], wkt);
  if (!rc && has_map) rc = cf_flux_png_write(ctx, r, af[F_PNG].part_path, af[F_PNG].final_path);
  if (!rc) rc = cf_check_cancel(ctx, outdir, NULL);
  if (!rc) {
    cf_atomic_file *all[NF] = {&af[0], &af[1], &af[2], &af[3]};
    rc = cf_atomic_commit_all(ctx, all, nf);
  }
  for (int k = 0; k < NF; k++) cf_atomic_end(&af[k]);
  if (!rc) {
    for (int k = 0; k < nf; k++) cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", paths[k], (const char *)NULL);
    if (!has_map) {
      cf_log(ctx, CF_LOG_INFO, "%s: no flux map (the inversion did not run): flux_map.tif and flux_map.png not written",
             outdir);
      for (int k = F_TIF; k < NF; k++)
        if (cf_file_exists(paths[k]))
          cf_log(ctx, CF_LOG_WARN, "%s is from an earlier run, not from this estimate", paths[k]);
    }
  }
  cf_strbuf_free(&json);
  for (int k = 0; k < NF; k++) free(paths[k]);
  free(wkt), free(lat), free(lon);
  return rc;
}
