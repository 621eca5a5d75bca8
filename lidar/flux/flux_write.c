/*
 * The outputs of a flux estimate (../shared/spec/flux-io.md): the summary
 * JSON (flux_summary.c), the L3 NetCDF (flux_l3.c), the flux map as
 * GeoTIFF (here) and its quicklook PNG (flux_png.c), in one directory, all
 * written or none; and what the writers share (flux_write_internal.h).
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
 * `sources` and the L3 `rate` follow that rule (cf_flux_reported_rate);
 * the mass balance's own answers are always in `mass_balance` /
 * `mass_balance_rate`.
 *
 * The grid's rows run north to south in the map, the GeoTIFF and the L3
 * file alike; the GeoTIFF's nodata is -9999.
 */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>

#include "core/provenance.h"
#include "ingest/gdal_util.h"
#include "lidar/flux/flux_png.h"
#include "lidar/flux/flux_provenance.h"
#include "lidar/flux/flux_write_internal.h"

#define MAP_NODATA (-9999.0)

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

/* What the writers share (flux_write_internal.h says what each is). */

int cf_flux_inversion_ran(const cf_flux_result *r) {
  return r->method == CF_FLUX_INVERSION || r->method == CF_FLUX_BOTH;
}

int cf_flux_mass_balance_ran(const cf_flux_result *r) {
  return r->method == CF_FLUX_MASS_BALANCE || r->method == CF_FLUX_BOTH;
}

void cf_flux_reported_rate(const cf_flux_result *r, int i, double *rate, double *sigma) {
  const cf_flux_source_result *s = &r->sources[i];
  *rate = *sigma = NAN;
  if (cf_flux_inversion_ran(r)) {
    if (s->estimated) *rate = s->rate_t_h, *sigma = s->sigma_t_h;
  } else if (s->mb_isolated) {
    *rate = s->mb_rate_t_h, *sigma = s->mb_sigma_t_h;
  }
}

int cf_flux_result_check(cf_ctx *ctx, const cf_flux_result *r, const char *where) {
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
  int rc = cf_flux_result_check(ctx, r, outdir);
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
  if (!rc) rc = cf_flux_l3_write(ctx, r, &af[F_L3], wkt, lat, lon);
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
