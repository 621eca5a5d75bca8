/*
 * The flux outputs (lidar/flux/flux_write.c, flux_summary.c, flux_l3.c,
 * flux_png.c; ../shared/spec/flux-io.md).
 *
 * A result is built by hand: a 4 x 3 grid of 1 km cells west -2 km, north
 * 1.5 km of the lidar with one cell not estimated, three sources (two
 * points in group "park", one area source), two sweeps, two inputs (an L2
 * file and the sources layer), the history a pipeline gives. Every
 * expected value below is written out here, not taken from the writer:
 *  - the JSON read by Debian's python json module: every spec field, the
 *    extras, null for a NaN, the mass-balance-only variant;
 *  - the L3 read by netCDF4-python: values at given cells, the row order
 *    (row 0, column 0 is the north-west cell: x = -1500, y = +1000), the
 *    grid mapping's attributes, the source table, no grid without the
 *    inversion;
 *  - the GeoTIFF read by GDAL: geotransform, nodata at the NaN cell, the
 *    values (Float32: relative 1e-7, the float rounding is at most 2^-24 =
 *    6e-8), an AEQD CRS with the site as its centre, the CARBONFLUX_*
 *    provenance made of the result's inputs and settings, or the lines a
 *    pipeline hands it;
 *  - the PNG: its size (200 pixels per cell, the legend strip under it),
 *    red at the strongest source cell, blue at the strongest sink cell,
 *    black at the lidar;
 *  - all-or-none: a directory in the way of flux_map.png fails the commit,
 *    no new file and no part file is left and the error names the path; an
 *    earlier run's files stay as they were;
 *  - cf_flux_result_free on a zeroed result and twice on a full one.
 */
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cf_test.h"
#include "core/fsutil.h"
#include "core/strbuf.h"
#include "lidar/flux/estimate.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-netcdf4; not a pyenv one from PATH */
#define CRS "+proj=aeqd +lat_0=48 +lon_0=11 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
#define NX 4
#define NY 3
#define SHA "abababababababababababababababababababababababababababababababab"
#define SHA_SRC "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

/* flux (umol m-2 s-1), row 0 the north edge; (1, 2) not estimated. The
 * 98th percentile of the 11 |values| (rank floor(0.98 x 10) = 9 of the
 * sorted 0.1 ... 8) is 6: (0, 0) and (2, 3) are at or beyond the ends of
 * the colour scale. */
static const double FLUX[NY * NX] = {8.0, 1.0, 0.5, -0.25, 0.75, 0.1, NAN, -1.5, -0.5, 0.2, 0.3, -6.0};

static double *copy_of(const double *v, double add, double mul) {
  double *a = malloc(NX * NY * sizeof *a);
  assert_non_null(a);
  for (int i = 0; i < NX * NY; i++) a[i] = isnan(v[i]) ? NAN : v[i] * mul + add;
  return a;
}

static void make_result(cf_flux_result *r, int method) {
  memset(r, 0, sizeof *r);
  r->lat_deg = 48.0, r->lon_deg = 11.0, r->alt_m = 500.0;
  snprintf(r->crs, sizeof r->crs, "%s", CRS);
  r->method = method;
  r->n_sources = 3;
  r->sources = calloc(3, sizeof *r->sources);
  assert_non_null(r->sources);
  int inv = method != CF_FLUX_MASS_BALANCE;
  const struct {
    const char *name, *group;
    cf_source_kind kind;
    double e, n, prior, prior_sigma, rate, sigma, post, jack, ak;
    int constrained, mb;
    double mb_rate, mb_sigma;
    const char *reason;
  } s[3] = {{"P1", "park", CF_SOURCE_POINT, 500, 800, 80, 40, 97, 12, 9, 12, 0.9, 0, 1, 93, 9, ""},
            {"P2", "park", CF_SOURCE_POINT, -500, -900, 20, 10, 25.5, 4.25, 4.25, NAN, 0.7, 0, 0, NAN, NAN,
             "plume overlaps \"P1\""},
            {"A1", NULL, CF_SOURCE_AREA, 1200, 200, -30, 15, -35.125, 7.5, 6, 7.5, 0.45, 1, 0, NAN, NAN, "area source"}};
  for (int i = 0; i < 3; i++) {
    cf_flux_source_result *o = &r->sources[i];
    o->name = s[i].name, o->group = s[i].group, o->kind = s[i].kind;
    o->e_m = s[i].e, o->n_m = s[i].n, o->prior_t_h = s[i].prior, o->prior_sigma_t_h = s[i].prior_sigma;
    o->estimated = inv;
    o->rate_t_h = inv ? s[i].rate : NAN, o->sigma_t_h = inv ? s[i].sigma : NAN;
    o->sigma_posterior_t_h = inv ? s[i].post : NAN, o->sigma_jackknife_t_h = inv ? s[i].jack : NAN;
    o->avg_kernel = inv ? s[i].ak : NAN, o->constrained = inv && s[i].constrained;
    o->mb_isolated = s[i].mb, o->mb_rate_t_h = s[i].mb_rate, o->mb_sigma_t_h = s[i].mb_sigma;
    snprintf(o->mb_reason, sizeof o->mb_reason, "%s", s[i].reason);
  }
  r->n_groups = 1;
  r->groups = calloc(1, sizeof *r->groups);
  r->groups[0].name = strdup("park");
  r->groups[0].n_members = 2;
  r->groups[0].members = malloc(2 * sizeof(int));
  r->groups[0].members[0] = 0, r->groups[0].members[1] = 1;
  r->groups[0].prior_t_h = 100;
  r->groups[0].rate_t_h = inv ? 122.5 : NAN, r->groups[0].sigma_t_h = inv ? 13 : NAN;
  r->groups[0].sigma_posterior_t_h = inv ? 10 : NAN, r->groups[0].sigma_jackknife_t_h = inv ? 13 : NAN;
  if (inv) {
    cf_flux_grid *g = &r->grid;
    g->nx = NX, g->ny = NY, g->west_m = -2000, g->north_m = 1500, g->res_m = 1000;
    g->flux_umol_m2_s = copy_of(FLUX, 0, 1);
    g->sigma_umol_m2_s = copy_of(FLUX, 0.5, 0.25); /* 0.5 + flux / 4 */
    g->sigma_umol_m2_s[0] = 0.1;                   /* not a float: for the Float32 tolerance */
    g->prior_umol_m2_s = copy_of(FLUX, 0, 0.5);
    g->avg_kernel = copy_of(FLUX, 0.5, 0);
  }
  r->n_sweeps = 2;
  r->sweeps = calloc(2, sizeof *r->sweeps);
  r->sweeps[0] = (cf_flux_sweep){2, 0, 90, 300, 1400, 1718000000, 1718000090, 270, 5};
  r->sweeps[1] = (cf_flux_sweep){5, 180, 300, 500, 1200, 1718000090, 1718000180, 275, 5.4};
  r->diag = (cf_flux_diag){270000, 12, inv ? 1610 : 0, inv ? 37.6 : NAN, inv ? 1.04 : NAN, inv ? 1e-9 : NAN,
                           inv ? 1 : 0, 1000, 1, 'C', 0, 1.25, 0, 8.5, 5.2, 271, 0.3, NAN, 6, 41.6,
                           inv ? 280000.5 : NAN, inv ? 280.25 : NAN};
  r->n_inputs = 2; /* an L2 file and the sources layer */
  r->n_source_files = 1;
  r->input_paths = malloc(2 * sizeof *r->input_paths);
  r->input_paths[0] = strdup("/data/flux_l2_20240615T100000Z.nc");
  r->input_paths[1] = strdup("/data/sources.geojson");
  r->input_sha256 = malloc(2 * sizeof *r->input_sha256);
  snprintf(r->input_sha256[0], 65, "%s", SHA);
  snprintf(r->input_sha256[1], 65, "%s", SHA_SRC);
  r->settings_json = strdup("{\"method\": \"both\", \"blh_m\": \"auto\", \"grid_m\": 1000}");
  r->history = strdup("carbonflux run flux.yaml (stage write.flux)");
}

static void run_python(const char *dir, const char *script, const char *arg) {
  char py[1200], cmd[4000];
  snprintf(py, sizeof py, "%s/check.py", dir);
  cf_test_write_text(py, script);
  snprintf(cmd, sizeof cmd, "%s '%s' '%s'", PYTHON, py, arg);
  assert_int_equal(system(cmd), 0);
}

/* The JSON checks (exact: every number printed in its shortest exact form). */
static const char *json_check =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1]))\n"
    "assert d['schema'] == 'carbonflux-flux-summary/1', d['schema']\n"
    "assert d['method'] == 'inversion' and d['methods_run'] == 'both'\n"
    "s = {x['name']: x for x in d['sources']}\n"
    "assert list(s) == ['P1', 'P2', 'A1'], list(s)\n"
    "p1, p2, a1 = s['P1'], s['P2'], s['A1']\n"
    "assert (p1['kind'], p1['rate_t_per_h'], p1['sigma_t_per_h'], p1['prior_t_per_h'], p1['prior_sigma_t_per_h']) =="
    " ('point', 97, 12, 80, 40), p1\n"
    "assert (p1['sigma_posterior_t_per_h'], p1['sigma_jackknife_t_per_h'], p1['averaging_kernel'], p1['constrained'],"
    " p1['group']) == (9, 12, 0.9, False, 'park'), p1\n"
    "assert p2['sigma_jackknife_t_per_h'] is None and p2['rate_t_per_h'] == 25.5 and p2['sigma_t_per_h'] == 4.25, p2\n"
    "assert (a1['kind'], a1['rate_t_per_h'], a1['constrained'], a1['group']) == ('area', -35.125, True, None), a1\n"
    "assert (a1['east_m'], a1['north_m']) == (1200, 200)\n"
    "g = d['groups']\n"
    "assert len(g) == 1 and g[0]['name'] == 'park' and g[0]['members'] == ['P1', 'P2'], g\n"
    "assert (g[0]['rate_t_per_h'], g[0]['sigma_t_per_h'], g[0]['prior_t_per_h'], g[0]['sigma_posterior_t_per_h']) =="
    " (122.5, 13, 100, 10), g\n"
    "assert d['mass_balance'] == [{'name': 'P1', 'rate_t_per_h': 93, 'sigma_t_per_h': 9}], d['mass_balance']\n"
    "assert d['mass_balance_not_isolated'] == [{'name': 'P2', 'reason': 'plume overlaps \"P1\"'},"
    " {'name': 'A1', 'reason': 'area source'}], d['mass_balance_not_isolated']\n"
    "x = d['diagnostics']\n"
    "want = {'n_obs': 270000, 'n_state': 1610, 'dofs': 37.6, 'chi2_per_obs': 1.04, 'blh_m': 1000, 'stability': 'C',"
    " 'blh_source': 'auto', 'stability_source': 'given', 'sigma_theta_deg': 8.5, 'wind_speed_ms': 5.2,"
    " 'wind_from_deg': 271, 'model_error_fraction': 0.3, 'model_floor_ppm': None, 'jackknife_blocks': 6,"
    " 'n_outliers': 12, 'rcond': 1e-9, 'n_constrained': 1, 'n_air_mol_m3': 41.6, 'j_obs': 280000.5,"
    " 'j_prior': 280.25}\n"
    "for k, v in want.items(): assert x[k] == v and type(x[k]) == type(v), (k, x[k], v)\n"
    "assert d['inputs'] == [{'path': '/data/flux_l2_20240615T100000Z.nc', 'sha256': 'ab' * 32, 'role': 'l2'},"
    " {'path': '/data/sources.geojson', 'sha256': 'cd' * 32, 'role': 'sources'}], d['inputs']\n"
    "assert d['settings'] == {'method': 'both', 'blh_m': 'auto', 'grid_m': 1000}, d['settings']\n"
    "assert d['site'] == {'latitude': 48, 'longitude': 11, 'altitude': 500, 'crs': '" CRS "'}, d['site']\n"
    "assert d['software']['name'] == 'carbonflux' and d['software']['version'].count('.') == 2, d['software']\n";

/* The L3 checks. Values are stored as doubles: exact. The cell centres'
 * latitude and longitude against a local flat-earth estimate (metres per
 * degree at 48 N: 111213 north, 74625 east, from the WGS 84 radii of
 * curvature): over 1.8 km the AEQD differs from it by well under 1 m,
 * tolerance 1e-5 degree (1.1 m north, 0.75 m east). */
static const char *nc_check =
    "import sys, netCDF4, numpy as np\n"
    "d = netCDF4.Dataset(sys.argv[1])\n"
    "assert d.Conventions == 'CF-1.8' and d.source.startswith('carbonflux ') and d.method == 'inversion'\n"
    "assert list(d['x'][:]) == [-1500, -500, 500, 1500], d['x'][:]\n"
    "assert list(d['y'][:]) == [1000, 0, -1000], d['y'][:]\n"
    "assert d['x'].standard_name == 'projection_x_coordinate' and d['y'].standard_name == 'projection_y_coordinate'\n"
    "assert d['x'].units == 'm' and d['y'].units == 'm'\n"
    "f = d['flux']\n"
    "assert f.dimensions == ('y', 'x') and f.units == 'umol m-2 s-1' and f.grid_mapping == 'crs', f\n"
    "v = f[:]\n"
    "assert (v[0, 0], v[0, 3], v[1, 1], v[2, 3]) == (8, -0.25, 0.1, -6), v\n"
    "assert np.ma.is_masked(v[1, 2]) and np.ma.count_masked(v) == 1, v\n"
    "s = d['flux_sigma'][:]\n"
    "assert (s[0, 0], s[0, 1], s[2, 3]) == (0.1, 0.75, -1.0) and np.ma.is_masked(s[1, 2]), s\n"
    "assert d['flux_prior'][0, 0] == 4 and d['averaging_kernel_diagonal'][2, 3] == 0.5\n"
    "lat, lon = d['lat'][:], d['lon'][:]\n"
    "assert abs(lat[0, 0] - (48 + 1000 / 111213.)) < 1e-5 and abs(lon[0, 0] - (11 - 1500 / 74625.)) < 1e-5,"
    " (lat[0, 0], lon[0, 0])\n"
    "c = d['crs']\n"
    "assert c.grid_mapping_name == 'azimuthal_equidistant'\n"
    "assert (c.latitude_of_projection_origin, c.longitude_of_projection_origin, c.false_easting, c.false_northing) =="
    " (48, 11, 0, 0)\n"
    "assert c.semi_major_axis == 6378137 and c.inverse_flattening == 298.257223563\n"
    "assert 'Azimuthal' in c.crs_wkt and '+proj=aeqd' in c.proj4_params, c.crs_wkt\n"
    "assert list(d['source_name'][:]) == ['P1', 'P2', 'A1'] and list(d['source_kind'][:]) == ['point', 'point', 'area']\n"
    "assert list(d['source_group'][:]) == ['park', 'park', '']\n"
    "assert list(d['rate'][:]) == [97, 25.5, -35.125] and list(d['rate_sigma'][:]) == [12, 4.25, 7.5]\n"
    "assert list(d['prior'][:]) == [80, 20, -30] and list(d['prior_sigma'][:]) == [40, 10, 15]\n"
    "assert list(d['averaging_kernel'][:]) == [0.9, 0.7, 0.45]\n"
    "assert d['rate'].units == 't h-1' and 't CO2 per hour' in d['rate'].long_name\n"
    "mb = d['mass_balance_rate'][:]\n"
    "assert mb[0] == 93 and d['mass_balance_sigma'][0] == 9 and np.ma.count_masked(mb) == 2, mb\n"
    "assert list(d['mass_balance_reason'][:]) == ['', 'plume overlaps \"P1\"', 'area source']\n"
    "assert np.ma.is_masked(d['rate_sigma_jackknife'][1]) and list(d['constrained'][:]) == [0, 0, 1]\n"
    "assert list(d['group_name'][:]) == ['park'] and d['group_rate'][0] == 122.5 and d['group_rate_sigma'][0] == 13\n"
    "assert (d.n_obs, d.n_state, d.dofs, d.chi2_per_obs, d.blh_m, d.stability) == (270000, 1610, 37.6, 1.04, 1000, 'C')\n"
    "assert (d.j_obs, d.j_prior) == (280000.5, 280.25)\n"
    "assert (d.j_obs, d.j_prior) == (280000.5, 280.25)\n"
    "assert d.input_files == '/data/flux_l2_20240615T100000Z.nc\\n/data/sources.geojson', d.input_files\n"
    "assert d.input_sha256 == 'ab' * 32 + '\\n' + 'cd' * 32, d.input_sha256\n"
    "assert d.history[:4].isdigit() and d.history[19] == 'Z', d.history\n"
    "assert d.history[21:].startswith('carbonflux run flux.yaml (stage write.flux) (carbonflux '), d.history\n"
    "assert d.history.endswith(', inputs flux_l2_20240615T100000Z.nc; sources sources.geojson)'), d.history\n"
    "assert d.processing_parameters == '{\"method\": \"both\", \"blh_m\": \"auto\", \"grid_m\": 1000}'\n";

static void json_and_l3_carry_the_spec_fields(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_flux_result r;
  make_result(&r, CF_FLUX_BOTH);
  const char *out = cf_test_path(dir, "out/sub"); /* created, parents too */
  assert_int_equal(cf_flux_write_outputs(ctx, &r, out), CF_OK);
  const char *names[4] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png"};
  for (int k = 0; k < 4; k++) assert_true(cf_file_exists(cf_test_path(out, names[k])));
  assert_int_equal(cf_test_count_entries(out, ""), 4); /* no part file, no .aux.xml */
  /* the file is the summary function's text */
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  assert_int_equal(cf_flux_summary_json(ctx, &r, &sb), CF_OK);
  FILE *f = fopen(cf_test_path(out, "flux_summary.json"), "rb");
  assert_non_null(f);
  char *buf = calloc(1, sb.len + 16);
  assert_int_equal(fread(buf, 1, sb.len + 8, f), sb.len);
  fclose(f);
  assert_string_equal(buf, cf_strbuf_str(&sb));
  assert_null(strstr(buf, "NaN"));
  assert_null(strstr(buf, "nan"));
  free(buf);
  cf_strbuf_free(&sb);
  char path[1200];
  snprintf(path, sizeof path, "%s", cf_test_path(out, "flux_summary.json"));
  run_python(dir, json_check, path);
  snprintf(path, sizeof path, "%s", cf_test_path(out, "flux_l3.nc"));
  run_python(dir, nc_check, path);
  cf_flux_result_free(&r);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void geotiff_georeferenced_with_nodata(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_flux_result r;
  make_result(&r, CF_FLUX_INVERSION);
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_OK);
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(cf_test_path(dir, "flux_map.tif"), GA_ReadOnly);
  assert_non_null(ds);
  assert_int_equal(GDALGetRasterXSize(ds), NX);
  assert_int_equal(GDALGetRasterYSize(ds), NY);
  assert_int_equal(GDALGetRasterCount(ds), 2);
  double gt[6];
  assert_int_equal(GDALGetGeoTransform(ds, gt), CE_None);
  const double want_gt[6] = {-2000, 1000, 0, 1500, 0, -1000};
  for (int k = 0; k < 6; k++) assert_close(gt[k], want_gt[k], 0, 0);
  for (int b = 1; b <= 2; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    int has;
    assert_close(GDALGetRasterNoDataValue(band, &has), -9999, 0, 0);
    assert_true(has);
    assert_string_equal(GDALGetDescription(band), b == 1 ? "flux umol m-2 s-1" : "flux_sigma umol m-2 s-1");
    float v[NX * NY];
    assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, NX, NY, v, NX, NY, GDT_Float32, 0, 0), CE_None);
    for (int i = 0; i < NX * NY; i++) {
      double want = b == 1 ? FLUX[i] : i == 0 ? 0.1 : 0.5 + 0.25 * FLUX[i];
      if (isnan(FLUX[i]))
        assert_close(v[i], -9999, 0, 0);
      else
        assert_close(v[i], want, 1e-7, 0); /* Float32 storage */
    }
  }
  OGRSpatialReferenceH srs = OSRNewSpatialReference(GDALGetProjectionRef(ds));
  assert_non_null(srs);
  const char *proj = OSRGetAttrValue(srs, "PROJECTION", 0);
  assert_non_null(proj);
  assert_string_equal(proj, SRS_PT_AZIMUTHAL_EQUIDISTANT);
  assert_close(OSRGetProjParm(srs, SRS_PP_LATITUDE_OF_CENTER, NAN, NULL), 48.0, 0, 1e-12);
  assert_close(OSRGetProjParm(srs, SRS_PP_LONGITUDE_OF_CENTER, NAN, NULL), 11.0, 0, 1e-12);
  assert_close(OSRGetSemiMajor(srs, NULL), 6378137.0, 0, 1e-6);
  OSRDestroySpatialReference(srs);
  /* the provenance every raster carries (README "Outputs"), from the
   * result's inputs and settings: written out here */
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_VERSION", NULL), cf_version());
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_INPUTS", NULL),
                      "[\"/data/flux_l2_20240615T100000Z.nc sha256:" SHA "\",\"/data/sources.geojson sha256:" SHA_SRC "\"]");
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_SETTINGS", NULL),
                      "{\"method\": \"both\", \"blh_m\": \"auto\", \"grid_m\": 1000}");
  GDALClose(ds);
  /* a pipeline hands its run's lines (pipelines/stage.h): those, not the result's */
  const char *run_md[] = {"CARBONFLUX_VERSION=run", "CARBONFLUX_INPUTS=[\"a.nc sha256:00\"]",
                          "CARBONFLUX_SETTINGS={\"pipeline\":[]}", NULL};
  r.map_metadata = run_md;
  char sub[1200];
  snprintf(sub, sizeof sub, "%s", cf_test_path(dir, "run"));
  assert_int_equal(cf_flux_write_outputs(ctx, &r, sub), CF_OK);
  ds = GDALOpen(cf_test_path(sub, "flux_map.tif"), GA_ReadOnly);
  assert_non_null(ds);
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_VERSION", NULL), "run");
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_INPUTS", NULL), "[\"a.nc sha256:00\"]");
  assert_string_equal(GDALGetMetadataItem(ds, "CARBONFLUX_SETTINGS", NULL), "{\"pipeline\":[]}");
  GDALClose(ds);
  r.map_metadata = NULL;
  cf_flux_result_free(&r);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void rgb_at(GDALDatasetH ds, int x, int y, int *rgb) {
  for (int b = 0; b < 3; b++) {
    unsigned char v;
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Read, x, y, 1, 1, &v, 1, 1, GDT_Byte, 0, 0), CE_None);
    rgb[b] = v;
  }
}

static void quicklook_colours_and_marks(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_flux_result r;
  make_result(&r, CF_FLUX_BOTH);
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_OK);
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(cf_test_path(dir, "flux_map.png"), GA_ReadOnly);
  assert_non_null(ds);
  /* 4 columns: (800 + 2) / 4 = 200 pixels per cell; 46 rows of legend */
  assert_int_equal(GDALGetRasterXSize(ds), 800);
  assert_int_equal(GDALGetRasterYSize(ds), 3 * 200 + 46);
  assert_int_equal(GDALGetRasterCount(ds), 3);
  int c[3];
  rgb_at(ds, 100, 100, c); /* centre of (0, 0): +8, beyond the scale's +6 */
  print_message("source cell %d %d %d\n", c[0], c[1], c[2]);
  assert_true(c[0] > 150 && c[1] < 60 && c[2] < 60);
  rgb_at(ds, 700, 500, c); /* centre of (2, 3): -6, the scale's end */
  print_message("sink cell %d %d %d\n", c[0], c[1], c[2]);
  assert_true(c[2] > 140 && c[0] < 60 && c[2] > c[1] + 50);
  rgb_at(ds, 400, 300, c); /* the lidar at (0, 0) m */
  assert_true(c[0] < 30 && c[1] < 30 && c[2] < 30);
  rgb_at(ds, 500, 140, c); /* the point source P1 at (500, 800) m */
  assert_true(c[0] < 30 && c[1] < 30 && c[2] < 30);
  rgb_at(ds, 550, 250, c); /* in the cell not estimated, clear of the marks: grey */
  assert_true(c[0] == c[1] && c[1] == c[2] && c[0] > 150 && c[0] < 220);
  /* the scan's far arc: sweep 1 at 1400 m, azimuth 45: (990, 990) m */
  int hit = 0;
  for (int dy = -2; dy <= 2; dy++)
    for (int dx = -2; dx <= 2; dx++) {
      rgb_at(ds, 598 + dx, 102 + dy, c);
      hit |= c[0] == 90 && c[1] == 90 && c[2] == 90;
    }
  assert_true(hit);
  const char *scale = GDALGetMetadataItem(ds, "flux_scale_umol_m2_s", NULL);
  assert_non_null(scale);
  assert_close(atof(scale), 6.0, 0, 0);
  GDALClose(ds);
  cf_flux_result_free(&r);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static const char *mb_check =
    "import sys, json, netCDF4, numpy as np\n"
    "d = json.load(open(sys.argv[1] + '/flux_summary.json'))\n"
    "assert d['method'] == 'mass_balance' and d['methods_run'] == 'mass_balance'\n"
    "assert d['sources'] == [{'name': 'P1', 'kind': 'point', 'rate_t_per_h': 93, 'sigma_t_per_h': 9,"
    " 'prior_t_per_h': 80, 'prior_sigma_t_per_h': 40, 'group': 'park', 'east_m': 500, 'north_m': 800}], d['sources']\n"
    "assert d['groups'][0]['rate_t_per_h'] is None and d['diagnostics']['dofs'] is None\n"
    "assert [x['name'] for x in d['mass_balance']] == ['P1']\n"
    "n = netCDF4.Dataset(sys.argv[1] + '/flux_l3.nc')\n"
    "assert 'x' not in n.variables and 'flux' not in n.variables and 'crs' not in n.variables, list(n.variables)\n"
    "r = n['rate'][:]\n"
    "assert r[0] == 93 and np.ma.count_masked(r) == 2 and n.method == 'mass_balance', r\n";

static void mass_balance_only_writes_no_map(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_flux_result r;
  make_result(&r, CF_FLUX_MASS_BALANCE);
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_OK);
  assert_int_equal(cf_test_count_entries(dir, ""), 2);
  assert_true(cf_file_exists(cf_test_path(dir, "flux_summary.json")));
  assert_true(cf_file_exists(cf_test_path(dir, "flux_l3.nc")));
  char d[1200];
  snprintf(d, sizeof d, "%s", dir);
  char sub[1200];
  snprintf(sub, sizeof sub, "%s/py", dir);
  assert_int_equal(mkdir(sub, 0777), 0);
  run_python(sub, mb_check, d);
  cf_flux_result_free(&r);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void all_or_none(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  cf_flux_result r;
  make_result(&r, CF_FLUX_BOTH);
  /* a fresh directory: the last rename fails, the three before are undone */
  char png[1200];
  snprintf(png, sizeof png, "%s/flux_map.png", dir);
  assert_int_equal(mkdir(png, 0777), 0);
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_EIO);
  assert_non_null(strstr(cf_error_message(ctx), png));
  assert_int_equal(cf_test_count_entries(dir, ""), 1); /* the directory in the way, nothing else */
  assert_int_equal(cf_test_count_entries(dir, ".part-"), 0);
  cf_error_clear(ctx);
  /* an earlier run's product stays whole */
  assert_int_equal(rmdir(png), 0);
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_OK);
  assert_true(cf_test_file_contains(cf_test_path(dir, "flux_summary.json"), "\"rate_t_per_h\": 97,"));
  assert_int_equal(unlink(png), 0);
  assert_int_equal(mkdir(png, 0777), 0);
  r.sources[0].rate_t_h = 55.0;
  assert_int_equal(cf_flux_write_outputs(ctx, &r, dir), CF_EIO);
  assert_non_null(strstr(cf_error_message(ctx), png));
  assert_true(cf_test_file_contains(cf_test_path(dir, "flux_summary.json"), "\"rate_t_per_h\": 97,"));
  assert_false(cf_test_file_contains(cf_test_path(dir, "flux_summary.json"), "\"rate_t_per_h\": 55,"));
  assert_int_equal(cf_test_count_entries(dir, ""), 4);
  assert_int_equal(cf_test_count_entries(dir, ".part-"), 0);
  cf_error_clear(ctx);
  cf_flux_result_free(&r);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void bad_results_are_named(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_result r;
  make_result(&r, CF_FLUX_BOTH);
  r.groups[0].members[1] = 7;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  assert_int_equal(cf_flux_summary_json(ctx, &r, &sb), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "groups"));
  cf_error_clear(ctx);
  cf_strbuf_free(&sb);
  cf_flux_result_free(&r);
  cf_ctx_destroy(ctx);
}

static void result_free_is_safe(void **state) {
  (void)state;
  cf_flux_result z;
  memset(&z, 0, sizeof z);
  cf_flux_result_free(&z);
  cf_flux_result_free(&z);
  cf_flux_result_free(NULL);
  cf_flux_result r;
  make_result(&r, CF_FLUX_BOTH);
  cf_flux_result_free(&r);
  assert_null(r.sources);
  assert_null(r.grid.flux_umol_m2_s);
  assert_int_equal(r.n_groups, 0);
  cf_flux_result_free(&r); /* the second is a no-op (ASan would see a double free) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_and_l3_carry_the_spec_fields),
      cmocka_unit_test(geotiff_georeferenced_with_nodata),
      cmocka_unit_test(quicklook_colours_and_marks),
      cmocka_unit_test(mass_balance_only_writes_no_map),
      cmocka_unit_test(all_or_none),
      cmocka_unit_test(bad_results_are_named),
      cmocka_unit_test(result_free_is_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
