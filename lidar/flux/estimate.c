/*
 * The flux estimate (estimate.h): settings, observations, the inversion
 * with its model error and jackknife, the mass balance, the result.
 *
 * The inversion (the stability by the data, two solves, the jackknife)
 * is in estimate_inversion.c; this file gathers the observations, builds
 * the wind history and the state, runs the mass balance and fills the
 * result.
 */
#include "lidar/flux/estimate.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/par.h"
#include "core/sha256.h"
#include "lidar/flux/boundary_layer.h"
#include "lidar/flux/estimate_internal.h"
#include "lidar/flux/flux_provenance.h"
#include "lidar/flux/inversion.h"

const char *const cf_flux_method_names[] = {"inversion", "mass_balance", "both", NULL};
const char *const cf_flux_auto_names[] = {"auto", NULL};
const char *const cf_flux_stability_names[] = {"auto", "A", "B", "C", "D", "E", "F", "wind", NULL};
const char *const cf_flux_mb_top_names[] = {"auto", "constant", "to_zero", NULL};
enum { MB_TOP_AUTO = 0, MB_TOP_CONSTANT = 1, MB_TOP_TO_ZERO = 2 };
enum { STAB_AUTO = 0, STAB_WIND = 7 };

#define CF_FLUX_SETTINGS(X)                                                                                          \
  X(method, ENUM, method, 0, 0, "", cf_flux_method_names, "what fills `sources`: the inversion when it ran")         \
  X(blh_m, NUM_OR_ENUM, blh_m, 50, 5000, "m", cf_flux_auto_names,                                                    \
    "boundary-layer height above the ground; auto estimates it from the L2 CNR profiles")                          \
  X(stability, ENUM, stability, 0, 0, "", cf_flux_stability_names,                                                   \
    "Pasquill-Gifford class of the plume spread; auto: the class that fits the data best; wind: from the wind "    \
    "direction's variability (EPA sigma_A)")                                                                       \
  X(sigma_theta_deg, NUM_OR_ENUM, sigma_theta_deg, 0, 30, "deg", cf_flux_auto_names,                                 \
    "uncertainty of the transport direction, widens the modelled plume; auto: the direction fluctuation inside "   \
    "the sweeps (radial velocities)")                                                                              \
  X(sigma_z_scale, NUM_OR_ENUM, sigma_z_scale, CF_PLUME_SZ_SCALE_MIN, CF_PLUME_SZ_SCALE_MAX, "", cf_flux_auto_names,  \
    "factor on the class's Briggs sigma_z (the plume's depth); auto: fitted to the data with the class (plume.h)")  \
  X(domain_m, DOUBLE, domain_m, 2000, 400000, "m", NULL, "side of the square estimation domain centred on the lidar") \
  X(grid_m, DOUBLE, grid_m, 100, 50000, "m", NULL, "flux-map cell; domain_m / 2 must be a multiple of it")             \
  X(cell_sigma_umol, DOUBLE, cell_sigma_umol, 0.001, 1000, "umol m-2 s-1", NULL,                                      \
    "prior 1-sigma flux of a cell outside every source (added to the sources' own)")                              \
  X(prior_corr_m, DOUBLE, prior_corr_m, 0, 1e6, "m", NULL,                                                          \
    "exponential correlation length of the cells' prior (0: independent cells)")                                  \
  X(offset_sigma_ppm, DOUBLE, offset_sigma_ppm, 0.01, 1000, "ppm", NULL, "prior 1-sigma of each sweep's background offset") \
  X(gradient_sigma_ppm_km, DOUBLE, gradient_sigma_ppm_km, 1e-4, 100, "ppm/km", NULL,                              \
    "prior 1-sigma of the background's horizontal gradient")                                                      \
  X(drift_sigma_ppm_h, DOUBLE, drift_sigma_ppm_h, 1e-4, 1000, "ppm/h", NULL, "prior 1-sigma of the background's drift") \
  X(model_error, NUM_OR_ENUM, model_error, 0, 10, "", cf_flux_auto_names,                                            \
    "model error as a fraction of the predicted enhancement; auto: estimated from the residuals")                  \
  X(model_floor_ppm, NUM_OR_ENUM, model_floor_ppm, 0, 100, "ppm", cf_flux_auto_names,                               \
    "model error away from the plumes (background structure); auto: estimated from the residuals")                \
  X(jackknife_blocks, INT, jackknife_blocks, 0, 100, "", NULL,                                                        \
    "contiguous blocks of sweeps for the jackknife sigma (0: posterior sigma only)")                              \
  X(max_range_m, DOUBLE, max_range_m, 0, 1e6, "m", NULL, "gates farther (horizontally) are not used (0: all)")         \
  X(min_height_m, DOUBLE, min_height_m, 0, 5000, "m", NULL, "gates lower above the ground are not used")             \
  X(instrument_height_m, DOUBLE, instrument_height_m, 0, 1000, "m", NULL, "the lidar above the ground")             \
  X(p_hpa, DOUBLE, p_hpa, 300, 1100, "hPa", NULL, "air pressure for the dry-air density")                           \
  X(t_k, DOUBLE, t_k, 200, 330, "K", NULL, "air temperature for the dry-air density")                               \
  X(mb_x_min_m, DOUBLE, mb_x_min_m, 0, 1e6, "m", NULL, "mass balance: near edge of the downwind band (0: auto)")     \
  X(mb_x_max_m, DOUBLE, mb_x_max_m, 0, 1e6, "m", NULL, "mass balance: far edge of the downwind band (0: auto)")      \
  X(mb_window_m, DOUBLE, mb_window_m, 0, 1e5, "m", NULL, "mass balance: plume window half-width (0: auto)")          \
  X(mb_top, ENUM, mb_top, 0, 0, "", cf_flux_mb_top_names,                                                            \
    "mass balance above the deepest gate: the enhancement held constant to the BLH, linear to zero at it, or auto "  \
    "(to zero while the plume's top, height + 2.15 sigma_z, is below the BLH)")                                      \
  X(spike_sigma, DOUBLE, spike_sigma, 3, 1000, "", NULL, "residuals beyond this many sigma are outliers and dropped")

#define KV_ROW(name, type, field, lo, hi, unit, choices, help) \
  {#name, CF_KV_##type, offsetof(cf_flux_opts, field), lo, hi, unit, help, choices},
static const cf_kv_opt rows[] = {CF_FLUX_SETTINGS(KV_ROW)};
#undef KV_ROW
enum { NROWS = sizeof rows / sizeof *rows };

void cf_flux_defaults(cf_flux_opts *o) {
  memset(o, 0, sizeof *o);
  o->method = CF_FLUX_BOTH;
  o->blh_m = (cf_kv_num_or_choice){0, NAN};
  o->stability = 0;
  o->sigma_theta_deg = (cf_kv_num_or_choice){0, NAN};
  o->sigma_z_scale = (cf_kv_num_or_choice){0, NAN};
  o->domain_m = 40000;
  o->grid_m = 1000;
  o->cell_sigma_umol = 5;
  o->prior_corr_m = 0;
  o->offset_sigma_ppm = 10;
  o->gradient_sigma_ppm_km = 1;
  o->drift_sigma_ppm_h = 10;
  o->model_error = (cf_kv_num_or_choice){0, NAN};
  o->model_floor_ppm = (cf_kv_num_or_choice){0, NAN};
  o->jackknife_blocks = 8;
  o->max_range_m = 0;
  o->min_height_m = 0;
  o->instrument_height_m = 10;
  o->p_hpa = 1013.25;
  o->t_k = 288.15;
  o->spike_sigma = 5;
  o->mb_top = MB_TOP_AUTO;
}

static void defaults(void *base) { cf_flux_defaults(base); }
const cf_kv_table cf_flux_settings = {rows, NROWS, sizeof(cf_flux_opts), defaults, CF_FLUX_WHERE};

int cf_flux_set(cf_ctx *ctx, cf_flux_opts *o, const char *kv) {
  int rc = cf_kv_set(ctx, rows, NROWS, o, kv, CF_FLUX_WHERE, NULL);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "", "unknown setting '%.*s' (see carbonflux flux estimate --help)",
                    eq ? (int)(eq - kv) : (int)strlen(kv), kv);
  }
  return rc;
}

int cf_flux_opts_check(cf_ctx *ctx, const cf_flux_opts *o) {
  double cells = o->domain_m / o->grid_m;
  if (fabs(cells / 2 - round(cells / 2)) > 1e-9)
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "grid_m",
                    "domain_m / 2 = %g m is not a whole number of grid_m = %g m cells (the grid is aligned on the "
                    "lidar)", o->domain_m / 2, o->grid_m);
  if (cells > 200)
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "grid_m",
                    "%g x %g cells (domain_m / grid_m): at most 200 x 200 (the posterior covariance is n^2)", cells,
                    cells);
  /* the inversion holds about jackknife_blocks + 7 matrices of n x n
   * doubles (n ~ cells^2): refuse what cannot fit in 8 GB rather than
   * fail an hour later */
  double n_state = cells * cells + 100, mats = (o->jackknife_blocks > 1 ? o->jackknife_blocks : 0) + 7;
  if (8.0 * n_state * n_state * mats > 8e9)
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "grid_m",
                    "%g x %g cells with %d jackknife blocks needs about %.0f GB for the inversion (at most 8): a "
                    "coarser grid_m, a smaller domain_m or fewer jackknife_blocks", cells, cells, o->jackknife_blocks,
                    8.0 * n_state * n_state * mats / 1e9);
  if (o->mb_x_min_m > 0 && o->mb_x_max_m > 0 && !(o->mb_x_min_m < o->mb_x_max_m))
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "mb_x_max_m", "the band's far edge %g m is not beyond its near edge %g m",
                    o->mb_x_max_m, o->mb_x_min_m);
  if (o->jackknife_blocks == 1)
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "jackknife_blocks", "a jackknife needs at least 2 blocks (0: none)");
  return CF_OK;
}

/* --- the result ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The observations of every file in the local frame, those inside the BLH
 * and the settings' limits. */
static int gather_obs(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_met *met, const cf_flux_opts *o, double blh,
                      cf_flux_obs **out, long *n_out) {
  *out = NULL, *n_out = 0;
  long cap = 0, n = 0;
  cf_flux_obs *obs = NULL;
  for (int f = 0; f < set->n; f++) {
    cf_l2_obs *lo = NULL;
    size_t nl = 0;
    int rc = cf_l2_observations(ctx, &set->files[f], &lo, &nl);
    if (rc) {
      free(obs);
      return rc;
    }
    if (n + (long)nl > cap) {
      cap = n + (long)nl;
      cf_flux_obs *p = realloc(obs, (size_t)(cap > 0 ? cap : 1) * sizeof *p);
      if (!p) {
        free(lo), free(obs);
        return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "observations", "out of memory for %ld", cap);
      }
      obs = p;
    }
    for (size_t i = 0; i < nl; i++) {
      const cf_l2_obs *g = &lo[i];
      double range = hypot(g->horizontal_m, g->height_m);
      double el = set->files[f].elevation_deg[g->ray];
      /* heights to 0.25 m: the plume cannot tell them apart, and gates of
       * one nominal elevation (jittering by hundredths of a degree in real
       * files) then share their Gz table (cf_flux_state_tables) */
      double z = 0.25 * round(4.0 * cf_geo_gate_height_agl(range, el, o->instrument_height_m));
      if (!(z <= blh) || z < o->min_height_m) continue;
      if (o->max_range_m > 0 && g->horizontal_m > o->max_range_m) continue;
      obs[n++] = (cf_flux_obs){g->east_m, g->north_m, z, g->time, g->value_ppm, g->sigma_ppm,
                               met->ray_sweep[f][g->ray], 0};
    }
    free(lo);
  }
  *out = obs, *n_out = n;
  return CF_OK;
}

static double median_of(double *v, long n) {
  if (n <= 0) return NAN;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* --- mass balance ------------------------------------------------------------------ */

static int run_mass_balance(cf_ctx *ctx, const cf_flux_state *st, const cf_flux_met *met, const cf_flux_obs *obs,
                            long n_obs, const cf_flux_sources *src, const cf_geo_site *site, const cf_flux_opts *o,
                            double blh, double n_air, cf_flux_result *res) {
  if (met->n_sweeps > CF_MB_MAX_SWEEPS) {
    cf_log(ctx, CF_LOG_WARN, "flux: mass balance uses the first %d of %d sweeps", CF_MB_MAX_SWEEPS, met->n_sweeps);
  }
  int nsw = met->n_sweeps < CF_MB_MAX_SWEEPS ? met->n_sweeps : CF_MB_MAX_SWEEPS;
  cf_mb_obs *mo = malloc((size_t)(n_obs > 0 ? n_obs : 1) * sizeof *mo);
  cf_mb_wind *wind = calloc((size_t)nsw, sizeof *wind);
  double *oe = malloc((size_t)(src->n + 1) * 2 * sizeof *oe);
  if (!mo || !wind || !oe) {
    free(mo), free(wind), free(oe);
    return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "mass balance", "out of memory");
  }
  long m = 0;
  for (long i = 0; i < n_obs; i++)
    if (obs[i].sweep < nsw) mo[m++] = (cf_mb_obs){obs[i].e, obs[i].n, obs[i].z, obs[i].y, obs[i].sigma, obs[i].sweep};
  double R = 0;
  for (int s = 0; s < nsw; s++)
    if (met->sw[s].range_max_m > R) R = met->sw[s].range_max_m;
  int rc = CF_OK;
  void *work = NULL;
  size_t work_bytes = 0;
  for (int k = 0; k < src->n && !rc; k++) {
    cf_flux_source_result *r = &res->sources[k];
    const cf_flux_source *s = &src->src[k];
    r->mb_rate_t_h = r->mb_sigma_t_h = NAN;
    if (s->kind != CF_SOURCE_POINT) {
      snprintf(r->mb_reason, sizeof r->mb_reason, "an area source: the mass balance here isolates point sources");
      continue;
    }
    double se, sn;
    cf_geo_local(site, s->lon, s->lat, &se, &sn);
    double d = hypot(se, sn);
    int no = 0;
    for (int j = 0; j < src->n; j++) {
      if (j == k) continue;
      cf_geo_local(site, src->src[j].lon, src->src[j].lat, &oe[2 * no], &oe[2 * no + 1]);
      no++;
    }
    /* others as separate arrays */
    double *other_e = malloc((size_t)(no + 1) * sizeof *other_e), *other_n = malloc((size_t)(no + 1) * sizeof *other_n);
    if (!other_e || !other_n) {
      free(other_e), free(other_n);
      rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "mass balance", "out of memory");
      break;
    }
    for (int j = 0; j < no; j++) other_e[j] = oe[2 * j], other_n[j] = oe[2 * j + 1];
    for (int w = 0; w < nsw; w++) {
      const cf_plume_model *pm = cf_flux_met_model(met, w, d);
      wind[w].speed_ms = met->sw[w].speed_ms;
      wind[w].from_deg = pm->met.wind_from_deg;
      wind[w].sigma_speed_ms = 0.05 * met->sw[w].speed_ms;
      wind[w].sigma_dir_deg = met->sigma_dir_deg > 2 ? met->sigma_dir_deg : 2;
    }
    cf_mb_settings ms;
    cf_mass_balance_defaults(&ms);
    ms.source_e = se, ms.source_n = sn;
    ms.x_min_m = o->mb_x_min_m > 0 ? o->mb_x_min_m : fmax(500.0, d - 0.7 * R);
    ms.x_max_m = o->mb_x_max_m > 0 ? o->mb_x_max_m : d + 0.7 * R;
    if (!(ms.x_max_m > ms.x_min_m)) ms.x_max_m = ms.x_min_m + 1000;
    double xm = 0.5 * (ms.x_min_m + ms.x_max_m), sy, sz;
    cf_briggs_rural((cf_stability)(res->diag.stability - 'A'), xm, &sy, &sz);
    sz *= met->sigma_z_scale; /* the plume models' vertical spread (plume.h) */
    ms.window_half_m = o->mb_window_m > 0 ? o->mb_window_m
                                          : 2.5 * hypot(sy, xm * tan(met->sigma_theta_deg * 3.14159265358979 / 180));
    /* a neighbour downwind of this source whose plume would share the
     * window ends the band short of it (cf_mass_balance refuses a band
     * with such a neighbour upwind of its far edge) */
    const cf_plume_model *pm0 = cf_flux_met_model(met, 0, d);
    for (int j = 0; j < no; j++) {
      double xo, yo;
      cf_geo_wind_frame(pm0->met.wind_from_deg, se, sn, other_e[j], other_n[j], &xo, &yo);
      if (xo > 0 && fabs(yo) < 2 * ms.window_half_m && xo - 300 < ms.x_max_m) ms.x_max_m = xo - 300;
    }
    if (ms.x_max_m < ms.x_min_m + 1000) ms.x_max_m = ms.x_min_m + 1000; /* too short: the module says why */
    ms.bin_m = ms.window_half_m / 10;
    ms.bg_outer_m = 3 * ms.window_half_m;
    /* Above the deepest gate: a plume whose top (its centre height plus
     * 2.15 sigma_z, where Gz has fallen to a tenth) is still below the BLH
     * at the band's middle has not filled the boundary layer, and holding
     * its highest layer's enhancement up to the BLH overstates it (the
     * benchmark's stack, 8 km upwind: 1.6 times the truth over 12 draws;
     * linear to zero: 1.1 over 6). The other rule's half-difference stays
     * in the error budget. */
    if (o->mb_top == MB_TOP_AUTO)
      ms.extrap = s->height_m + 2.15 * sz < blh ? CF_MB_EXTRAP_TO_ZERO : CF_MB_EXTRAP_CONSTANT;
    else
      ms.extrap = o->mb_top == MB_TOP_CONSTANT ? CF_MB_EXTRAP_CONSTANT : CF_MB_EXTRAP_TO_ZERO;
    ms.n_air_mol_m3 = n_air;
    ms.blh_m = blh;
    ms.n_other = no, ms.other_e = other_e, ms.other_n = other_n;
    size_t need = cf_mass_balance_work_size((size_t)m, &ms);
    if (need > work_bytes) {
      void *p = realloc(work, need);
      if (!p) {
        free(other_e), free(other_n);
        rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "mass balance", "out of memory");
        break;
      }
      work = p, work_bytes = need;
    }
    cf_mb_result mr;
    rc = cf_mass_balance(ctx, mo, (size_t)m, wind, nsw, &ms, work, work_bytes, &mr);
    free(other_e), free(other_n);
    if (rc) break;
    r->mb_isolated = mr.isolated;
    if (mr.isolated) {
      r->mb_rate_t_h = mr.rate_t_h, r->mb_sigma_t_h = mr.sigma_t_h;
      cf_log(ctx, CF_LOG_INFO, "flux: mass balance of %s: %.2f +- %.2f t/h from %d of %d sweeps", s->name, mr.rate_t_h,
             mr.sigma_t_h, mr.n_used, mr.n_sweeps);
    } else {
      snprintf(r->mb_reason, sizeof r->mb_reason, "%s", mr.reason);
      cf_log(ctx, CF_LOG_INFO, "flux: mass balance cannot isolate %s: %s", s->name, mr.reason);
    }
  }
  (void)st;
  free(work), free(mo), free(wind), free(oe);
  return rc;
}

/* --- the whole estimate ----------------------------------------------------------- */

int cf_flux_estimate(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_sources *src, const cf_flux_opts *o,
                     cf_flux_result *out) {
  memset(out, 0, sizeof *out);
  int rc = cf_flux_opts_check(ctx, o);
  if (rc) return rc;
  if (!set || set->n < 1) return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "inputs", "no L2 file");
  if (!src || src->n < 1)
    return cf_error(ctx, CF_EDATA, src && src->path ? src->path : CF_FLUX_WHERE, "name", "the sources layer has no source");
  /* the inputs' hashes first: the same file given twice (a glob and its
   * path) would count every observation twice and shrink every sigma */
  rc = cf_flux_fill_provenance(ctx, set, src, o, out);
  int n_l2 = out->n_inputs - out->n_source_files;
  for (int a = 0; a < n_l2 && !rc; a++)
    for (int b = a + 1; b < n_l2 && !rc; b++)
      if (!strcmp(out->input_sha256[a], out->input_sha256[b]))
        rc = cf_error(ctx, CF_EDATA, out->input_paths[b], "sha256",
                      "is the same file as %s (identical content): each L2 file may be given once",
                      out->input_paths[a]);
  if (rc) {
    cf_flux_result_free(out);
    return rc;
  }
  const cf_l2 *l0 = &set->files[0];
  cf_geo_site site;
  rc = cf_geo_site_init(ctx, l0->latitude_deg, l0->longitude_deg, l0->altitude_m, &site);
  if (rc) {
    cf_flux_result_free(out);
    return rc;
  }
  out->lat_deg = l0->latitude_deg, out->lon_deg = l0->longitude_deg, out->alt_m = l0->altitude_m;
  snprintf(out->crs, sizeof out->crs, "+proj=aeqd +lat_0=%.10f +lon_0=%.10f +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
           l0->latitude_deg, l0->longitude_deg);
  out->method = o->method;
  double blh;
  if (o->blh_m.choice == 0) {
    cf_blh_estimate be;
    rc = cf_blh_from_cnr(ctx, set, o->instrument_height_m, &be);
    if (rc) {
      cf_flux_result_free(out);
      return rc;
    }
    blh = be.blh_m;
    out->diag.blh_auto = 1;
    cf_log(ctx, CF_LOG_INFO, "flux: boundary-layer top %.0f +- %.0f m from the CNR drop (%.1f dB) of %d sweeps (%d "
                             "without a clear drop)", be.blh_m, be.sigma_m, be.drop_db, be.n_profiles, be.n_rejected);
  } else {
    blh = o->blh_m.value;
  }
  out->diag.blh_m = blh;
  double n_air = o->p_hpa * 100.0 / (8.314462618 * o->t_k);
  out->diag.n_air_mol_m3 = n_air;

  cf_flux_met met;
  cf_flux_obs *obs = NULL;
  long n_obs = 0;
  cf_flux_state st;
  memset(&st, 0, sizeof st);
  double max_dist = 0;
  rc = cf_flux_met_build(ctx, set, o, blh, &met);
  /* the factor on sigma_z: given, or 1 (Briggs as written) until the inversion fits it */
  met.sigma_z_scale = o->sigma_z_scale.choice == 0 ? 1.0 : o->sigma_z_scale.value;
  out->diag.sigma_z_scale = met.sigma_z_scale;
  out->diag.sigma_z_scale_auto = o->sigma_z_scale.choice == 0;
  if (!rc) {
    double sdir = o->sigma_theta_deg.choice == 0 ? met.sigma_dir_deg : o->sigma_theta_deg.value;
    if (o->sigma_theta_deg.choice == 0 && met.sigma_dir_deg >= 30.0)
      cf_log(ctx, CF_LOG_WARN, "flux: the wind direction scatters by more than 30 degrees inside the sweeps (%s): the "
                               "plume model is widened by 30 degrees only; do not trust the rates", l0->path);
    cf_stability stab = CF_STAB_D;
    if (o->stability == STAB_AUTO || o->stability == STAB_WIND) {
      /* auto starts from the wind's class and then fits (choose_stability) */
      rc = cf_stability_from_sigma_theta(ctx, met.sigma_theta_deg, &stab);
      out->diag.stability_auto = 1;
    } else {
      stab = (cf_stability)(o->stability - 1);
    }
    out->diag.stability = cf_stability_letter(stab);
    out->diag.sigma_theta_deg = sdir;
    out->diag.wind_speed_ms = met.mean_speed_ms, out->diag.wind_from_deg = met.mean_from_deg;
    cf_log(ctx, CF_LOG_INFO, "flux: %d sweeps, wind %.1f m/s from %.0f deg, direction spread %.1f deg (class %c by EPA's sigma_A), "
                             "plume axis uncertainty %.1f deg, BLH %.0f m",
           met.n_sweeps, met.mean_speed_ms, met.mean_from_deg, met.sigma_theta_deg, out->diag.stability, sdir, blh);
    if (!rc) rc = gather_obs(ctx, set, &met, o, blh, &obs, &n_obs);
    if (!rc && n_obs == 0)
      rc = cf_error(ctx, CF_EDATA, l0->path, "co2_mole_fraction",
                    "no usable observation in %d file(s): every gate is masked, flagged (qc_flag != 0), above the "
                    "boundary layer (%g m) or outside max_range_m", set->n, blh);
    double max_h = 0;
    for (long i = 0; i < n_obs; i++) max_h = fmax(max_h, hypot(obs[i].e, obs[i].n));
    max_dist = o->domain_m * 1.4142135623730951 + max_h;
    if (!rc) rc = cf_flux_met_models(ctx, &met, stab, blh, n_air, sdir, max_dist);
    for (int k = 0; k < src->n && !rc; k++)
      if (src->src[k].kind == CF_SOURCE_POINT && !(src->src[k].height_m <= blh))
        rc = cf_error(ctx, CF_EDATA, src->path, src->src[k].name,
                      "height_m %g m is above the boundary layer (%g m): the plume model traps emissions below it",
                      src->src[k].height_m, blh);
  }
  double *med = NULL;
  if (!rc) {
    /* each sweep's median for its offset prior */
    med = malloc((size_t)met.n_sweeps * sizeof *med);
    long *cnt = calloc((size_t)met.n_sweeps + 1, sizeof *cnt);
    double *buf = malloc((size_t)n_obs * sizeof *buf);
    if (!med || !cnt || !buf) {
      rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "observations", "out of memory");
    } else {
      /* sort observations' values by sweep with a counting pass */
      for (long i = 0; i < n_obs; i++) cnt[obs[i].sweep + 1]++;
      for (int s = 0; s < met.n_sweeps; s++) cnt[s + 1] += cnt[s];
      long *pos = malloc((size_t)met.n_sweeps * sizeof *pos);
      if (!pos) {
        rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "observations", "out of memory");
      } else {
        memcpy(pos, cnt, (size_t)met.n_sweeps * sizeof *pos);
        for (long i = 0; i < n_obs; i++) buf[pos[obs[i].sweep]++] = obs[i].y;
        double *all = malloc((size_t)n_obs * sizeof *all);
        double gmed = NAN;
        if (all) {
          memcpy(all, buf, (size_t)n_obs * sizeof *all);
          gmed = median_of(all, n_obs);
          free(all);
        }
        for (int s = 0; s < met.n_sweeps; s++) {
          long a = cnt[s], b = cnt[s + 1];
          med[s] = b > a ? median_of(buf + a, b - a) : gmed;
        }
        free(pos);
      }
    }
    free(cnt), free(buf);
  }
  if (!rc) {
    double t_ref = 0.5 * (met.sw[0].t_start + met.sw[met.n_sweeps - 1].t_end);
    rc = cf_flux_state_build(ctx, src, &site, o, met.n_sweeps, med, t_ref, &st);
    st.x_max = max_dist;
    if (!rc) rc = cf_flux_state_tables(ctx, &st, &met, obs, n_obs);
  }
  free(med);
  if (!rc && o->method != CF_FLUX_MASS_BALANCE) {
    cf_flux_model_args ma = {&met, &st, obs, blh, n_air, out->diag.sigma_theta_deg, max_dist, o->stability == STAB_AUTO,
                             o->sigma_z_scale.choice == 0};
    rc = cf_flux_run_inversion(ctx, &st, &ma, obs, n_obs, src, o, out);
  }
  if (!rc && !out->sources) {
    out->n_sources = src->n;
    out->sources = calloc((size_t)src->n + 1, sizeof *out->sources);
    if (!out->sources) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "result", "out of memory");
    out->diag.n_obs = n_obs;
    out->diag.n_state = st.n;
  }
  for (int k = 0; k < src->n && !rc; k++) {
    cf_flux_source_result *r = &out->sources[k];
    const cf_flux_source *s = &src->src[k];
    r->name = s->name, r->kind = s->kind, r->group = s->group;
    r->prior_t_h = s->prior_t_per_h, r->prior_sigma_t_h = s->prior_sigma_t_per_h;
    cf_geo_local(&site, s->lon, s->lat, &r->e_m, &r->n_m);
    if (!r->estimated) r->rate_t_h = r->sigma_t_h = r->sigma_posterior_t_h = r->sigma_jackknife_t_h = r->sigma_direction_t_h = r->avg_kernel = NAN;
    if (!r->estimated) r->sigma_history_t_h = r->sigma_class_t_h = NAN;
  }
  if (!rc && o->method != CF_FLUX_INVERSION)
    rc = run_mass_balance(ctx, &st, &met, obs, n_obs, src, &site, o, blh, n_air, out);
  if (!rc) {
    out->n_sweeps = met.n_sweeps;
    out->sweeps = calloc((size_t)met.n_sweeps, sizeof *out->sweeps);
    if (!out->sweeps) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "result", "out of memory");
    for (int s = 0; s < met.n_sweeps && !rc; s++) {
      const cf_flux_sweep_met *w = &met.sw[s];
      out->sweeps[s] = (cf_flux_sweep){w->elevation_deg, w->az_min, w->az_max, w->range_min_m, w->range_max_m,
                                       w->t_start, w->t_end, fmod(atan2(-w->u, -w->v) * 180 / 3.14159265358979323846 + 360, 360), w->speed_ms};
    }
  }
  if (!rc) cf_progress(ctx, 1.0, "flux: done");
  cf_flux_state_free(&st);
  free(obs);
  cf_flux_met_free(&met);
  if (rc) cf_flux_result_free(out);
  return rc;
}

/* --- the command and the pipeline ------------------------------------------------ */

int cf_flux_run(cf_ctx *ctx, const char *const *l2_paths, int n_paths, const char *sources_path,
                const char *sources_layer, const cf_flux_opts *o, const char *outdir) {
  return cf_flux_run_as(ctx, l2_paths, n_paths, sources_path, sources_layer, o, outdir, NULL);
}

int cf_flux_run_as(cf_ctx *ctx, const char *const *l2_paths, int n_paths, const char *sources_path,
                   const char *sources_layer, const cf_flux_opts *o, const char *outdir, const char *command_line) {
  int rc = cf_flux_opts_check(ctx, o);
  if (rc) return rc;
  cf_l2_set set;
  cf_flux_sources src;
  memset(&set, 0, sizeof set);
  memset(&src, 0, sizeof src);
  rc = cf_l2_read_set(ctx, l2_paths, n_paths, 0, 0, &set);
  if (!rc) rc = cf_flux_sources_read(ctx, sources_path, sources_layer, &src);
  cf_flux_result r;
  memset(&r, 0, sizeof r);
  if (!rc) rc = cf_flux_estimate(ctx, &set, &src, o, &r);
  if (!rc) {
    r.history = command_line ? strdup(command_line)
                             : cf_flux_command_line(l2_paths, n_paths, sources_path, sources_layer, o, outdir);
    if (!r.history) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "history", "out of memory");
  }
  /* under MPI every rank has the same result (estimate_inversion.c, "Ranks"); one writes it */
  if (!rc && cf_par_rank(cf_ctx_par(ctx)) == 0) rc = cf_flux_write_outputs(ctx, &r, outdir);
  cf_flux_result_free(&r); /* borrows names from src: free first */
  cf_flux_sources_free(&src);
  cf_l2_set_free(&set);
  return rc;
}

int cf_flux_merge_mass_balance(cf_ctx *ctx, cf_flux_result *r, const cf_flux_result *mb) {
  if (r->n_sources != mb->n_sources)
    return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "sources", "the mass balance ran on %d sources, the inversion on %d",
                    mb->n_sources, r->n_sources);
  for (int k = 0; k < r->n_sources; k++) {
    if (strcmp(r->sources[k].name, mb->sources[k].name))
      return cf_error(ctx, CF_EINVAL, CF_FLUX_WHERE, "sources", "source %d is '%s' in one run and '%s' in the other", k,
                      r->sources[k].name, mb->sources[k].name);
    r->sources[k].mb_isolated = mb->sources[k].mb_isolated;
    r->sources[k].mb_rate_t_h = mb->sources[k].mb_rate_t_h;
    r->sources[k].mb_sigma_t_h = mb->sources[k].mb_sigma_t_h;
    memcpy(r->sources[k].mb_reason, mb->sources[k].mb_reason, sizeof r->sources[k].mb_reason);
  }
  r->method = CF_FLUX_BOTH;
  return cf_flux_merge_settings(ctx, r, mb);
}
