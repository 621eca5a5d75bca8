/*
 * The flux suites' hand-made scene (flux_scene.h): a site at 48 N 11 E,
 * two point sources upwind (west) of the lidar, PPI sweeps whose L2 arrays
 * are filled in memory (no file is read), and their signal through the
 * estimator's own forward model.
 *
 * Why in memory and through the code's own H: the suites compare what the
 * estimator does with its model (observation selection, priors, R, the
 * sparse accumulation, the solve, the sigma terms) against arithmetic done
 * in the test; a file round trip or an independent plume would test other
 * things, which tests/test_plume.c and the simulator's benchmark test do.
 * So everything here mirrors estimate.c's set-up step by step: the
 * observations gathered in its order, heights rounded as it rounds them,
 * the wind models, the prior with each sweep's median.
 */
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/rng.h"
#include "flux_scene.h"
#include "lidar/flux/geometry.h"

#define SITE_LAT 48.0
#define SITE_LON 11.0
#define BG_PPM 400.0
#define D2R (3.14159265358979323846 / 180.0)
/* point sources: local position (m), release height (m), true rate (t/h);
 * inside the 4 km domain, upwind (west) of the lidar so that its gates
 * see their plumes; prior 10 +- 50 t/h, loose, so the data decide */
static const double PT_E[FLUX_SCENE_NPTS] = {-1500, -900}, PT_N[FLUX_SCENE_NPTS] = {400, -700},
                    PT_H[FLUX_SCENE_NPTS] = {60, 30};
const double flux_scene_truth_t_h[FLUX_SCENE_NPTS] = {20, 35};

void flux_scene_set(cf_ctx *ctx, cf_flux_opts *o, const char *kv) {
  assert_int_equal(cf_flux_set(ctx, o, kv), CF_OK);
}

/* The settings of the exactness test: everything given, R the stated
 * noise, no outlier dropped, no jackknife. */
void flux_scene_exact_opts(cf_ctx *ctx, cf_flux_opts *o) {
  cf_flux_defaults(o);
  const char *kv[] = {"method=inversion", "domain_m=4000", "grid_m=1000",      "blh_m=1000",
                      "stability=D",      "sigma_z_scale=1", "sigma_theta_deg=0", "model_error=0", "model_floor_ppm=0",
                      "jackknife_blocks=0", "spike_sigma=1000"};
  for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) flux_scene_set(ctx, o, kv[k]);
}

/* The observations the estimator uses (estimate.c's gather_obs: good gates
 * at or below the BLH, above min_height_m, within max_range_m), in its order
 * (ray-major through the file). */
static void gather(cf_ctx *ctx, const cf_l2 *l2, const cf_flux_opts *o, double blh, long *cell, long *n_out) {
  cf_l2_obs *lo = NULL;
  size_t nl = 0;
  assert_int_equal(cf_l2_observations(ctx, l2, &lo, &nl), CF_OK);
  long n = 0;
  for (size_t i = 0; i < nl; i++) {
    double range = hypot(lo[i].horizontal_m, lo[i].height_m);
    double z = cf_geo_gate_height_agl(range, l2->elevation_deg[lo[i].ray], o->instrument_height_m);
    if (!(z <= blh) || z < o->min_height_m) continue;
    if (o->max_range_m > 0 && lo[i].horizontal_m > o->max_range_m) continue;
    cell[n++] = (long)lo[i].ray * l2->n_gates + lo[i].gate;
  }
  free(lo);
  *n_out = n;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The scene's observations (its current data) and wind history with the
 * plume models of the given settings, as cf_flux_estimate sets them up
 * through the internal API. The caller frees *ob and met. */
static void scene_models_ex(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, int narrow_history,
                            cf_flux_met *met_out, cf_flux_obs **ob_out, double *max_dist_out) {
  const cf_l2 *l2 = &sc->set.files[0];
  double blh = o->blh_m.value, n_air = o->p_hpa * 100.0 / (8.314462618 * o->t_k);
  cf_flux_met met;
  assert_int_equal(cf_flux_met_build(ctx, &sc->set, o, blh, &met), CF_OK);
  assert_int_equal(met.n_sweeps, sc->n_sweeps);
  double max_h = 0;
  cf_flux_obs *ob = malloc((size_t)sc->n_obs * sizeof *ob);
  assert_non_null(ob);
  for (long i = 0; i < sc->n_obs; i++) {
    long c = sc->cell[i];
    int r = (int)(c / l2->n_gates), g = (int)(c % l2->n_gates);
    double el = l2->elevation_deg[r] * D2R, hor = l2->range_m[g] * cos(el);
    /* heights to 0.25 m, as estimate.c gathers them (gates of one
     * elevation share a Gz table) */
    double z = 0.25 * round(4.0 * cf_geo_gate_height_agl(l2->range_m[g], l2->elevation_deg[r], o->instrument_height_m));
    ob[i] = (cf_flux_obs){hor * sin(l2->azimuth_deg[r] * D2R), hor * cos(l2->azimuth_deg[r] * D2R), z, l2->time[r],
                          l2->co2_mole_fraction[c], l2->co2_mole_fraction_uncertainty[c], met.ray_sweep[0][r], 0};
    max_h = fmax(max_h, hypot(ob[i].e, ob[i].n));
  }
  double max_dist = o->domain_m * 1.4142135623730951 + max_h;
  double sdir = o->sigma_theta_deg.value;
  met.sigma_z_scale = o->sigma_z_scale.value; /* the settings give it (exact_opts: 1) */
  double sigma_between = met.sigma_between_deg;
  if (narrow_history) met.sigma_between_deg = 0; /* no widening before the first sweep */
  assert_int_equal(cf_flux_met_models(ctx, &met, (cf_stability)(o->stability - 1), blh, n_air, sdir, max_dist), CF_OK);
  met.sigma_between_deg = sigma_between;
  *met_out = met, *ob_out = ob, *max_dist_out = max_dist;
}

static void scene_models(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, cf_flux_met *met_out,
                         cf_flux_obs **ob_out, double *max_dist_out) {
  scene_models_ex(ctx, sc, o, 0, met_out, ob_out, max_dist_out);
}

/* H (n_obs x n) for the scene's current data through the internal API, as
 * cf_flux_estimate sets it up; with the prior (x_a with each sweep's median,
 * sigma_a) and the state layout. The caller frees *H, *xa, *sa. */
void flux_scene_jacobian(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, double **H, double **xa,
                         double **sa, cf_flux_state *st_out) {
  const cf_l2 *l2 = &sc->set.files[0];
  cf_flux_met met;
  cf_flux_obs *ob;
  double max_dist;
  scene_models(ctx, sc, o, &met, &ob, &max_dist);
  /* each sweep's median of its observations: the centre of its offset prior */
  double *med = malloc((size_t)sc->n_sweeps * sizeof *med), *buf = malloc((size_t)sc->n_obs * sizeof *buf);
  assert_non_null(med), assert_non_null(buf);
  for (int s = 0; s < sc->n_sweeps; s++) {
    long k = 0;
    for (long i = 0; i < sc->n_obs; i++)
      if (ob[i].sweep == s) buf[k++] = ob[i].y;
    assert_true(k > 0);
    qsort(buf, (size_t)k, sizeof *buf, cmp_d);
    med[s] = k % 2 ? buf[k / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
  }
  cf_geo_site site;
  assert_int_equal(cf_geo_site_init(ctx, l2->latitude_deg, l2->longitude_deg, l2->altitude_m, &site), CF_OK);
  double t_ref = 0.5 * (met.sw[0].t_start + met.sw[met.n_sweeps - 1].t_end);
  cf_flux_state st;
  assert_int_equal(cf_flux_state_build(ctx, &sc->src, &site, o, met.n_sweeps, med, t_ref, &st), CF_OK);
  st.x_max = max_dist;
  assert_int_equal(cf_flux_state_tables(ctx, &st, &met, ob, sc->n_obs), CF_OK);
  size_t n = (size_t)st.n;
  *H = malloc((size_t)sc->n_obs * n * sizeof **H);
  *xa = malloc(n * sizeof **xa), *sa = malloc(n * sizeof **sa);
  assert_non_null(*H), assert_non_null(*xa), assert_non_null(*sa);
  for (long i = 0; i < sc->n_obs; i++) cf_flux_jacobian_row(&st, &met, &ob[i], *H + (size_t)i * n);
  memcpy(*xa, st.x_a, n * sizeof **xa);
  memcpy(*sa, st.sigma_a, n * sizeof **sa);
  *st_out = st; /* layout only: the arrays are freed here */
  st_out->point_src = NULL, st_out->pe = st_out->pn = st_out->ph = NULL, st_out->x_a = st_out->sigma_a = NULL;
  st_out->nonneg = NULL, st_out->pos = NULL, st_out->w = NULL;
  cf_flux_state_free(&st);
  cf_flux_met_free(&met);
  free(ob), free(med), free(buf);
}

/* lon/lat of the point (e, n) m of the site's azimuthal equidistant frame:
 * the geodesic from the site at azimuth atan2(e, n) over hypot(e, n). */
static void lonlat_of(double e, double n, double *lon, double *lat) {
  struct geod_geodesic g;
  geod_init(&g, CF_GEO_WGS84_A, CF_GEO_WGS84_F);
  geod_direct(&g, SITE_LAT, SITE_LON, atan2(e, n) / D2R, hypot(e, n), lat, lon, NULL);
}

/* A scene: n_sweeps PPI sweeps at 2, 5, 10 degrees in turn, `rays` rays
 * over the full circle, `gates` gates from 150 m every 100 m; 60 s a
 * sweep; a wind profile per sweep of 5 m/s from 270 +- 4 degrees (the
 * direction varies sweep to sweep, so the trailing-wind models differ);
 * sigma 0.8 .. 1.4 ppm growing with range. The CO2 is background + H
 * x_true (x_true: the points' true rates, no cell flux, sweep offsets of a
 * few ppm, a gradient and a drift); noise is added per draw. */
void flux_scene_make(cf_ctx *ctx, const cf_flux_opts *o, int n_sweeps, int rays, int gates, flux_scene *sc) {
  memset(sc, 0, sizeof *sc);
  sc->dir = cf_test_tmpdir();
  sc->n_sweeps = n_sweeps, sc->rays = rays, sc->gates = gates;
  char path[1100], text[4096];
  /* the sources layer */
  int len = snprintf(text, sizeof text, "{\"type\": \"FeatureCollection\", \"features\": [\n");
  for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
    double lon, lat;
    lonlat_of(PT_E[p], PT_N[p], &lon, &lat);
    len += snprintf(text + len, sizeof text - (size_t)len,
                    "%s{\"type\": \"Feature\", \"properties\": {\"name\": \"P%d\", \"kind\": \"point\", \"height_m\": "
                    "%g, \"prior_t_per_h\": 10, \"prior_sigma_t_per_h\": 50}, \"geometry\": {\"type\": \"Point\", "
                    "\"coordinates\": [%.12f, %.12f]}}\n",
                    p ? "," : "", p + 1, PT_H[p], lon, lat);
  }
  snprintf(text + len, sizeof text - (size_t)len, "]}\n");
  snprintf(path, sizeof path, "%s/points.geojson", sc->dir);
  cf_test_write_text(path, text);
  assert_int_equal(cf_flux_sources_read(ctx, path, NULL, &sc->src), CF_OK);
  /* the L2 "file": in memory; the path exists for the inputs' sha256 */
  snprintf(path, sizeof path, "%s/hand_made_l2.nc", sc->dir);
  cf_test_write_text(path, "made in memory by tests/flux_scene.c\n");
  sc->set.n = 1;
  sc->set.files = calloc(1, sizeof *sc->set.files);
  assert_non_null(sc->set.files);
  cf_l2 *l = &sc->set.files[0];
  l->path = strdup(path);
  int nr = n_sweeps * rays, nh = 4;
  size_t ng = (size_t)nr * gates;
  l->n_rays = nr, l->n_gates = gates, l->n_scans = n_sweeps, l->n_heights = nh;
  l->latitude_deg = SITE_LAT, l->longitude_deg = SITE_LON, l->altitude_m = 500;
  l->time = malloc((size_t)nr * sizeof(double));
  l->azimuth_deg = malloc((size_t)nr * sizeof(double));
  l->elevation_deg = malloc((size_t)nr * sizeof(double));
  l->scan_id = malloc((size_t)nr * sizeof(int32_t));
  l->range_m = malloc((size_t)gates * sizeof(double));
  l->co2_mole_fraction = malloc(ng * sizeof(double));
  l->co2_mole_fraction_uncertainty = malloc(ng * sizeof(double));
  l->qc_flag = calloc(ng, sizeof(int32_t));
  l->scan = malloc((size_t)n_sweeps * sizeof(int32_t));
  l->height_m = malloc((size_t)nh * sizeof(double));
  l->eastward_wind = malloc((size_t)n_sweeps * nh * sizeof(double));
  l->northward_wind = malloc((size_t)n_sweeps * nh * sizeof(double));
  assert_true(l->path && l->time && l->azimuth_deg && l->elevation_deg && l->scan_id && l->range_m &&
              l->co2_mole_fraction && l->co2_mole_fraction_uncertainty && l->qc_flag && l->scan && l->height_m &&
              l->eastward_wind && l->northward_wind);
  static const double elev[3] = {2, 5, 10}, hgt[4] = {50, 150, 300, 600};
  double t0 = 1782820800.0;
  for (int s = 0; s < n_sweeps; s++) {
    l->scan[s] = s;
    double from = (270 + 4 * sin(1.3 * s + 0.4)) * D2R;
    for (int k = 0; k < nh; k++) {
      l->eastward_wind[s * nh + k] = -5 * sin(from) * (0.95 + 0.03 * k);
      l->northward_wind[s * nh + k] = -5 * cos(from) * (0.95 + 0.03 * k);
    }
    for (int r = 0; r < rays; r++) {
      int i = s * rays + r;
      l->time[i] = t0 + 60.0 * s + 60.0 * r / rays;
      l->azimuth_deg[i] = fmod(360.0 * r / rays + 1.7 * s, 360.0);
      l->elevation_deg[i] = elev[s % 3];
      l->scan_id[i] = s;
    }
  }
  for (int k = 0; k < nh; k++) l->height_m[k] = hgt[k];
  for (int g = 0; g < gates; g++) l->range_m[g] = 150.0 + 100.0 * g;
  for (size_t k = 0; k < ng; k++)
    l->co2_mole_fraction[k] = BG_PPM,
    l->co2_mole_fraction_uncertainty[k] = 0.8 + 0.6 * (double)(k % (size_t)gates) / gates;
  /* the observations and their noise-free values */
  sc->cell = malloc(ng * sizeof *sc->cell);
  assert_non_null(sc->cell);
  gather(ctx, l, o, o->blh_m.value, sc->cell, &sc->n_obs);
  assert_true(sc->n_obs > 0);
  double *H, *xa, *sa;
  cf_flux_state st;
  flux_scene_jacobian(ctx, sc, o, &H, &xa, &sa, &st);
  double *xt = calloc((size_t)st.n, sizeof *xt);
  assert_non_null(xt);
  for (int p = 0; p < FLUX_SCENE_NPTS; p++) xt[st.i_points + p] = flux_scene_truth_t_h[p];
  for (int s = 0; s < n_sweeps; s++) xt[st.i_sweeps + s] = BG_PPM + 3 * sin(0.7 * s);
  xt[st.i_grad] = 0.3, xt[st.i_grad + 1] = -0.2, xt[st.i_drift] = 1.5;
  sc->signal = malloc((size_t)sc->n_obs * sizeof *sc->signal);
  sc->sig = malloc((size_t)sc->n_obs * sizeof *sc->sig);
  assert_non_null(sc->signal), assert_non_null(sc->sig);
  for (long i = 0; i < sc->n_obs; i++) {
    double v = 0;
    for (int j = 0; j < st.n; j++) v += H[(size_t)i * st.n + j] * xt[j];
    sc->signal[i] = v;
    sc->sig[i] = l->co2_mole_fraction_uncertainty[sc->cell[i]];
  }
  free(H), free(xa), free(sa), free(xt);
}

/* y = signal + noise of the stated sigma, into the L2 arrays. */
void flux_scene_draw(flux_scene *sc, uint64_t seed) {
  cf_l2 *l = &sc->set.files[0];
  cf_rng rng;
  cf_rng_seed(&rng, seed, 0);
  for (long i = 0; i < sc->n_obs; i++) l->co2_mole_fraction[sc->cell[i]] = sc->signal[i] + sc->sig[i] * cf_rng_normal(&rng);
}

void flux_scene_free(flux_scene *sc) {
  cf_flux_sources_free(&sc->src);
  cf_l2_set_free(&sc->set);
  cf_test_rmtree(sc->dir);
  free(sc->dir), free(sc->cell), free(sc->signal), free(sc->sig);
}

int flux_scene_point_index(const flux_scene *sc, int p) {
  char name[16];
  snprintf(name, sizeof name, "P%d", p + 1);
  int k = cf_flux_sources_find(&sc->src, name);
  assert_true(k >= 0);
  return k;
}

/* The scene of (2) and (4): 6 sweeps of 48 rays and 16 gates, 16 cells of
 * 1 km, one noise draw; *o the exactness settings. */
void flux_scene_small(cf_ctx *ctx, cf_flux_opts *o, uint64_t seed, flux_scene *sc) {
  flux_scene_exact_opts(ctx, o);
  flux_scene_make(ctx, o, 6, 48, 16, sc);
  flux_scene_draw(sc, seed);
}

/* The points' part of the scene's signal with each sweep's plumes turned
 * by turn[s] and, for the share f of a plume's travel time before the
 * first sweep (cf_flux_met_unobserved), by f * history more: the
 * unobserved wind's one rotation. The estimator widens that share of the
 * plume by the meander (the mean plume of all the rotations it does not
 * know); one member of that ensemble is the narrow plume turned, so with
 * narrow_history the truth's plume is not widened there. *sigma_between:
 * the estimator's measure of the sweeps' direction spread, which sizes
 * that rotation. The travel direction of the models is rotated exactly
 * (not linearised). */
void flux_scene_point_part(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, const double *turn,
                           double history, int narrow_history, double *out, double *sigma_between) {
  cf_flux_met met;
  cf_flux_obs *ob;
  double max_dist;
  scene_models_ex(ctx, sc, o, narrow_history, &met, &ob, &max_dist);
  for (long i = 0; i < sc->n_obs; i++) {
    cf_plume_receptor rec = {ob[i].e, ob[i].n, ob[i].z};
    double v = 0;
    for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
      double d = hypot(ob[i].e - PT_E[p], ob[i].n - PT_N[p]);
      double a = turn[ob[i].sweep] + cf_flux_met_unobserved(&met, ob[i].sweep, d) * history;
      double c = cos(a), sn = sin(a);
      cf_plume_model m = *cf_flux_met_model(&met, ob[i].sweep, d);
      double de = m.de, dn = m.dn;
      m.de = c * de - sn * dn, m.dn = sn * de + c * dn;
      v += flux_scene_truth_t_h[p] * cf_plume_point(&m, PT_E[p], PT_N[p], PT_H[p], &rec);
    }
    out[i] = v;
  }
  if (sigma_between) *sigma_between = met.sigma_between_deg;
  free(ob);
  cf_flux_met_free(&met);
}
