/*
 * Sweeps and their winds, for the flux estimate (estimate.h).
 *
 * A sweep is the rays of one scan_id in one L2 file. Its transport wind is
 * the vector mean of the file's wind profile for that scan over the levels
 * inside the boundary layer, or, when the file has no profile for it, the
 * horizontal wind fitted to the sweep's radial velocities (a PPI sees
 * v_r = cos(el) (u sin az + v cos az) + w sin(el); w is dropped, which at
 * el <= 10 degrees and |w| ~ 0.1 m/s is a bias under 0.02 m/s). No wind at
 * all for a sweep is an error naming the file: the plume needs one.
 *
 * Why a trailing wind. CO2 seen at a gate at time t left a source a
 * distance d upwind at about t - d/u; in a wind uniform in space (the
 * mesoscale assumption of a single lidar) it travelled the integral of the
 * wind over [t - d/u, t], i.e. along the MEAN wind vector of that window,
 * not along the wind of the sweep that sees it. With a direction that
 * meanders on scales of minutes the difference is the plume's whole width
 * at 8 km (sigma 8 degrees, 1600 s of travel). So each sweep gets plume
 * models for travel times k * dt: the wind vector averaged over the
 * sweeps' piecewise-constant history from t_mid - k dt to t_mid (before
 * the first sweep the first sweep's wind is held). What the history does
 * not resolve (the fluctuations inside a sweep, the profile's noise) is the
 * direction uncertainty sigma_dir the models widen the plume by
 * (plume.h).
 *
 * Direction statistics. Inside a sweep, the radial velocities' scatter
 * about the fitted uniform wind, less their own stated noise, is the
 * variance of the wind fluctuation along the beams; for isotropic
 * horizontal fluctuations of variance s^2 per component it is
 * s^2 cos^2(el), and the direction fluctuates by s / U. Between sweeps,
 * the circular standard deviation of the sweeps' directions. The total,
 * sqrt(between^2 + within^2), is the sigma_theta of the stability class
 * (plume.h, EPA's sigma_A method).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/flux/estimate_internal.h"

#define D2R (3.14159265358979323846 / 180.0)

static double from_deg_of(double u, double v) {
  double d = atan2(-u, -v) / D2R;
  return d < 0 ? d + 360.0 : d;
}

void cf_flux_met_free(cf_flux_met *m) {
  if (m->ray_sweep)
    for (int f = 0; f < m->n_files; f++) free(m->ray_sweep[f]);
  free(m->ray_sweep);
  free(m->sw);
  free(m->models);
  memset(m, 0, sizeof *m);
}

static int cmp_sweep(const void *a, const void *b) {
  const cf_flux_sweep_met *x = a, *y = b;
  if (x->t_start != y->t_start) return x->t_start < y->t_start ? -1 : 1;
  if (x->file != y->file) return x->file < y->file ? -1 : 1;
  return x->scan_id < y->scan_id ? -1 : x->scan_id > y->scan_id;
}

/* The profile row of a sweep in its file, or -1. */
static int profile_row(const cf_l2 *l2, const cf_flux_sweep_met *s) {
  if (!l2->eastward_wind || !l2->northward_wind || l2->n_scans < 1 || !l2->height_m) return -1;
  if (l2->scan) {
    for (int k = 0; k < l2->n_scans; k++)
      if (l2->scan[k] == s->scan_id) return k;
    return -1;
  }
  if (!l2->scan_time) return l2->n_scans == 1 ? 0 : -1;
  int best = -1;
  double bd = 0.5 * (s->t_end - s->t_start) + 1.0;
  for (int k = 0; k < l2->n_scans; k++) {
    double d = fabs(l2->scan_time[k] - s->t_mid);
    if (isfinite(d) && d <= bd) best = k, bd = d;
  }
  return best;
}

/* Mean wind of the profile levels inside the BLH; 0 if there is none. */
static int profile_wind(const cf_l2 *l2, int k, double h_instr, double blh, double *u, double *v) {
  double su = 0, sv = 0;
  int n = 0;
  for (int j = 0; j < l2->n_heights; j++) {
    double z = h_instr + l2->height_m[j];
    double a = l2->eastward_wind[(size_t)k * l2->n_heights + j], b = l2->northward_wind[(size_t)k * l2->n_heights + j];
    if (!(z <= blh) || !isfinite(a) || !isfinite(b)) continue;
    su += a, sv += b, n++;
  }
  if (!n) return 0;
  *u = su / n, *v = sv / n;
  return 1;
}

/* Uniform horizontal wind fitted to the sweep's radial velocities inside
 * the BLH, and the direction scatter (degree, NaN if not estimable). */
static int radial_fit(const cf_l2 *l2, const int *ray_sweep, int s, double h_instr, double blh, double *u,
                      double *v, double *dir_within) {
  /* pass 0: the normal equations of v_r = a u + b v; pass 1: the residuals
   * about the fitted wind, over the same gates */
  double saa = 0, sab = 0, sbb = 0, sav = 0, sbv = 0, sr = 0, su2 = 0, c2 = 0;
  long n = 0, m = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (int r = 0; r < l2->n_rays; r++) {
      if (ray_sweep[r] != s) continue;
      double el = l2->elevation_deg[r] * D2R, az = l2->azimuth_deg[r] * D2R;
      double a = cos(el) * sin(az), b = cos(el) * cos(az);
      for (int g = 0; g < l2->n_gates; g++) {
        size_t k = (size_t)r * l2->n_gates + g;
        double vr = l2->radial_velocity[k];
        if (l2->qc_flag[k] != 0 || !isfinite(vr) || !(h_instr + l2->range_m[g] * sin(el) <= blh)) continue;
        if (pass == 0) {
          saa += a * a, sab += a * b, sbb += b * b, sav += a * vr, sbv += b * vr, n++;
        } else {
          double e = vr - a * *u - b * *v;
          double unc = l2->radial_velocity_uncertainty ? l2->radial_velocity_uncertainty[k] : NAN;
          sr += e * e, m++, c2 += cos(el) * cos(el);
          su2 += isfinite(unc) ? unc * unc : 0.0;
        }
      }
    }
    if (pass == 0) {
      double det = saa * sbb - sab * sab;
      /* the azimuths must span enough of the circle to separate u and v: a
       * sector narrower than ~20 degrees gives det/(n^2) < 1e-3 */
      if (n < 10 || !(det > 1e-3 * (double)n * n)) return 0;
      *u = (sbb * sav - sab * sbv) / det;
      *v = (saa * sbv - sab * sav) / det;
    }
  }
  double excess = (sr - su2) / m, speed = hypot(*u, *v);
  *dir_within = speed > 0.5 ? sqrt(excess > 0 ? excess / (c2 / m) : 0.0) / speed / D2R : NAN;
  return 1;
}

int cf_flux_met_build(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_opts *o, double blh, cf_flux_met *met) {
  memset(met, 0, sizeof *met);
  met->n_files = set->n;
  met->ray_sweep = calloc((size_t)set->n, sizeof *met->ray_sweep);
  if (!met->ray_sweep) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
  int cap = 0, rc = CF_OK;
  for (int f = 0; f < set->n && !rc; f++) {
    const cf_l2 *l2 = &set->files[f];
    met->ray_sweep[f] = malloc((size_t)(l2->n_rays > 0 ? l2->n_rays : 1) * sizeof(int));
    if (!met->ray_sweep[f]) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
    int first = met->n_sweeps;
    for (int r = 0; r < l2->n_rays; r++) {
      int s = first;
      while (s < met->n_sweeps && met->sw[s].scan_id != l2->scan_id[r]) s++;
      if (s == met->n_sweeps) {
        if (met->n_sweeps == cap) {
          cap = cap ? 2 * cap : 64;
          cf_flux_sweep_met *p = realloc(met->sw, (size_t)cap * sizeof *p);
          if (!p) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
          met->sw = p;
        }
        cf_flux_sweep_met *n = &met->sw[met->n_sweeps++];
        memset(n, 0, sizeof *n);
        n->file = f, n->scan_id = l2->scan_id[r];
        n->t_start = n->t_end = l2->time[r];
        n->az_min = n->az_max = l2->azimuth_deg[r];
        n->elevation_deg = 0;
        n->range_min_m = INFINITY, n->range_max_m = 0;
      }
      cf_flux_sweep_met *w = &met->sw[s];
      if (l2->time[r] < w->t_start) w->t_start = l2->time[r];
      if (l2->time[r] > w->t_end) w->t_end = l2->time[r];
      if (l2->azimuth_deg[r] < w->az_min) w->az_min = l2->azimuth_deg[r];
      if (l2->azimuth_deg[r] > w->az_max) w->az_max = l2->azimuth_deg[r];
      w->elevation_deg += l2->elevation_deg[r]; /* summed; divided below */
      met->ray_sweep[f][r] = s;
    }
  }
  if (met->n_sweeps == 0)
    return cf_error(ctx, CF_EDATA, set->n ? set->files[0].path : CF_FLUX_WHERE, "time", "no rays in the L2 files");
  /* ray counts for the mean elevation, good-gate ranges */
  int *nray = calloc((size_t)met->n_sweeps, sizeof *nray);
  if (!nray) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
  for (int f = 0; f < set->n; f++) {
    const cf_l2 *l2 = &set->files[f];
    for (int r = 0; r < l2->n_rays; r++) {
      cf_flux_sweep_met *w = &met->sw[met->ray_sweep[f][r]];
      nray[met->ray_sweep[f][r]]++;
      double ce = cos(l2->elevation_deg[r] * D2R);
      for (int g = 0; g < l2->n_gates; g++) {
        size_t k = (size_t)r * l2->n_gates + g;
        if (l2->qc_flag[k] != 0 || !isfinite(l2->co2_mole_fraction[k])) continue;
        double h = l2->range_m[g] * ce;
        if (h < w->range_min_m) w->range_min_m = h;
        if (h > w->range_max_m) w->range_max_m = h;
      }
    }
  }
  for (int s = 0; s < met->n_sweeps; s++) {
    cf_flux_sweep_met *w = &met->sw[s];
    w->elevation_deg /= nray[s];
    w->t_mid = 0.5 * (w->t_start + w->t_end);
    if (!isfinite(w->range_min_m)) w->range_min_m = w->range_max_m = 0;
  }
  free(nray);

  /* winds, before sorting (ray_sweep indexes the unsorted order) */
  for (int s = 0; s < met->n_sweeps && !rc; s++) {
    cf_flux_sweep_met *w = &met->sw[s];
    const cf_l2 *l2 = &set->files[w->file];
    double u = NAN, v = NAN, within = NAN;
    int have_vr = l2->radial_velocity &&
                  radial_fit(l2, met->ray_sweep[w->file], s, o->instrument_height_m, blh, &u, &v, &within);
    w->dir_within_deg = have_vr ? within : NAN;
    int k = profile_row(l2, w);
    if (k >= 0 && profile_wind(l2, k, o->instrument_height_m, blh, &u, &v))
      w->wind_from_profile = 1;
    else if (!have_vr)
      rc = cf_error(ctx, CF_EDATA, l2->path, l2->eastward_wind ? "eastward_wind" : "radial_velocity",
                    "no wind for scan %d: no profile level below the boundary-layer top (%g m) and no radial "
                    "velocities spread over enough azimuths to fit one; the plume needs the wind",
                    w->scan_id, blh);
    w->u = u, w->v = v;
    w->speed_ms = hypot(u, v);
    if (!rc && !(w->speed_ms > 0.5))
      rc = cf_error(ctx, CF_EDATA, l2->path, w->wind_from_profile ? "eastward_wind" : "radial_velocity",
                    "scan %d: transport wind %.2f m/s: a plume needs at least 0.5 m/s (calm conditions are "
                    "outside the Gaussian plume's validity)", w->scan_id, w->speed_ms);
  }
  if (rc) return rc;

  /* time order: sort, then renumber rays */
  size_t ns = (size_t)(met->n_sweeps > 0 ? met->n_sweeps : 1);
  int *order = malloc(ns * sizeof *order);
  cf_flux_sweep_met *sorted = malloc(ns * sizeof *sorted);
  if (!order || !sorted) {
    free(order), free(sorted);
    return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
  }
  for (int s = 0; s < met->n_sweeps; s++) order[s] = s;
  /* sort the indices by (t_start, file, scan_id) */
  for (int i = 1; i < met->n_sweeps; i++) { /* insertion sort: sweeps are nearly in order */
    int x = order[i], j = i - 1;
    while (j >= 0 && cmp_sweep(&met->sw[order[j]], &met->sw[x]) > 0) order[j + 1] = order[j], j--;
    order[j + 1] = x;
  }
  int *new_of_old = malloc(ns * sizeof *new_of_old);
  if (!new_of_old) {
    free(order), free(sorted);
    return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sweeps", "out of memory");
  }
  for (int s = 0; s < met->n_sweeps; s++) sorted[s] = met->sw[order[s]], new_of_old[order[s]] = s;
  memcpy(met->sw, sorted, ns * sizeof *sorted);
  for (int f = 0; f < set->n; f++)
    for (int r = 0; r < set->files[f].n_rays; r++) met->ray_sweep[f][r] = new_of_old[met->ray_sweep[f][r]];
  free(order), free(sorted), free(new_of_old);

  /* direction statistics */
  double su = 0, sv = 0, ss = 0, w2 = 0;
  int nw = 0;
  met->min_speed_ms = INFINITY;
  for (int s = 0; s < met->n_sweeps; s++) {
    const cf_flux_sweep_met *w = &met->sw[s];
    su += w->u / w->speed_ms, sv += w->v / w->speed_ms, ss += w->speed_ms;
    if (isfinite(w->dir_within_deg)) w2 += w->dir_within_deg * w->dir_within_deg, nw++;
    if (w->speed_ms < met->min_speed_ms) met->min_speed_ms = w->speed_ms;
  }
  double rbar = hypot(su, sv) / met->n_sweeps; /* mean resultant length of the unit vectors */
  /* circular SD; a wind turning through the whole circle has none (rbar
   * -> 0): capped at 90 degrees, far beyond any class boundary */
  double between = rbar >= 1.0 ? 0.0 : rbar > 1e-6 ? fmin(sqrt(-2.0 * log(rbar)) / D2R, 90.0) : 90.0;
  double within = nw ? sqrt(w2 / nw) : 0.0;
  met->sigma_theta_deg = hypot(between, within);
  met->sigma_between_deg = between;
  met->mean_speed_ms = ss / met->n_sweeps;
  met->mean_from_deg = from_deg_of(su, sv);
  /* The direction uncertainty of the trailing wind: the fluctuations
   * inside a sweep, which the sweep means do not resolve; at most 30
   * degrees (the setting's range): beyond it the plume is no plume, and
   * the jackknife and the model error carry the rest. */
  met->sigma_dir_deg = within > 30.0 ? 30.0 : within;
  return CF_OK;
}

/* Integral of the wind (m) from the first sweep's start to t, piecewise
 * constant per sweep (each holds until the next starts; before the first,
 * the first). scalar: the speed instead of the vector. */
static void wind_integral(const cf_flux_met *m, double t, double *iu, double *iv, double *is) {
  const cf_flux_sweep_met *s0 = &m->sw[0];
  double au = 0, av = 0, as = 0;
  if (t <= s0->t_start) {
    double d = t - s0->t_start;
    *iu = s0->u * d, *iv = s0->v * d, *is = s0->speed_ms * d;
    return;
  }
  for (int k = 0; k < m->n_sweeps; k++) {
    const cf_flux_sweep_met *w = &m->sw[k];
    double end = k + 1 < m->n_sweeps ? m->sw[k + 1].t_start : INFINITY;
    double d = (t < end ? t : end) - w->t_start;
    au += w->u * d, av += w->v * d, as += w->speed_ms * d;
    if (t <= end) break;
  }
  *iu = au, *iv = av, *is = as;
}

/* The share of travel-time bin b of sweep s that lies before the first
 * sweep, where the history holds the first sweep's wind. */
static double unobserved_share(const cf_flux_met *m, int s, long b) {
  double T = b * m->dt_s, early = T > 0 ? (m->sw[0].t_start - (m->sw[s].t_mid - T)) / T : 0.0;
  return early < 0 ? 0.0 : early > 1 ? 1.0 : early;
}

static long bin_of(const cf_flux_met *m, int s, double d) {
  long b = lround(d / m->sw[s].speed_ms / m->dt_s);
  return b >= m->n_bins ? m->n_bins - 1 : b;
}

int cf_flux_met_models(cf_ctx *ctx, cf_flux_met *m, cf_stability stab, double blh, double n_air, double sigma_dir,
                       double max_dist) {
  m->dt_s = 60.0;
  m->sigma_dir_deg = sigma_dir;
  double tmax = max_dist / m->min_speed_ms;
  m->n_bins = (int)ceil(tmax / m->dt_s) + 2;
  free(m->models);
  m->models = malloc((size_t)m->n_sweeps * m->n_bins * sizeof *m->models);
  if (!m->models) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "models", "out of memory");
  for (int s = 0; s < m->n_sweeps; s++) {
    const cf_flux_sweep_met *w = &m->sw[s];
    double u1, v1, s1;
    wind_integral(m, w->t_mid, &u1, &v1, &s1);
    for (int b = 0; b < m->n_bins; b++) {
      double u = w->u, v = w->v, sp = w->speed_ms;
      if (b > 0) {
        double T = b * m->dt_s, u0, v0, s0;
        wind_integral(m, w->t_mid - T, &u0, &v0, &s0);
        u = (u1 - u0) / T, v = (v1 - v0) / T, sp = (s1 - s0) / T;
        if (!(hypot(u, v) > 1e-3)) u = w->u, v = w->v; /* a window that cancels: keep the sweep's own */
      }
      /* The part of the travel time before the first sweep has no
       * observed wind (the first sweep's is held): for that share of the
       * path the direction is uncertain by the meander the record shows,
       * and the plume is widened by it (plume.h) instead of being placed
       * with a confidence the data do not give. */
      double early = unobserved_share(m, s, b);
      double sd = sqrt(sigma_dir * sigma_dir + early * early * m->sigma_between_deg * m->sigma_between_deg);
      if (sd > 30.0) sd = 30.0;
      cf_plume_met pm = {from_deg_of(u, v), sp, stab, blh, n_air, sd, m->sigma_z_scale};
      int rc = cf_plume_model_init(ctx, &pm, &m->models[(size_t)s * m->n_bins + b]);
      if (rc) return rc;
    }
  }
  return CF_OK;
}

const cf_plume_model *cf_flux_met_model(const cf_flux_met *m, int s, double d) {
  return &m->models[(size_t)s * m->n_bins + (size_t)bin_of(m, s, d)];
}

double cf_flux_met_unobserved(const cf_flux_met *m, int s, double d) { return unobserved_share(m, s, bin_of(m, s, d)); }
