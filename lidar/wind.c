/*
 * Wind-profile fit (see wind.h for the model, the height matching and the
 * error conventions).
 *
 * Shape: the public entry validates everything once, in the calling
 * thread, and then hands levels to OpenMP threads. A level's work touches
 * only its own output and its thread's slice of the caller's workspace;
 * it never touches the context, so threads need no locking and a level's
 * result cannot depend on which thread ran it. Nothing is allocated here:
 * LAPACKE's column-major *_work entry points pass the caller's memory
 * straight to LAPACK (the row-major ones would allocate transposes).
 */
#include "lidar/wind.h"

#include "ingest/windcube.h"

#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* M_PI is not in strict C11. */
#define CF_WIND_PI 3.14159265358979323846
#define DEG2RAD (CF_WIND_PI / 180.0)

static const char *const WHERE = "wind fit";

void cf_wind_opts_default(cf_wind_opts *o) {
  memset(o, 0, sizeof *o);
  o->height_tol_m = 0; /* half of each ray's own gate spacing in height */
  o->min_beams = 4;
  /* A full VAD or a 5-beam DBS at 60-85 deg elevation has a condition
   * number of 2-20 (the u, v columns carry cos(el), the w column sin(el));
   * 30 leaves room for a missing beam while rejecting geometries whose
   * worst component is more than 30 times noisier than the best. */
  o->max_condition = 30;
  o->error_mode = CF_WIND_ERR_PROPAGATED;
  /* From the conditioning. A 90 deg sector (the narrowest PPI we serve)
   * has a 3-parameter condition number of 166 at 3 deg elevation, 51 at
   * 10, 35 at 15 and 27.6 at 20 deg (31 rays; 28.9 for a continuous
   * sector): under the limit of 30 it can carry w only from about 19 deg
   * up. A full circle's u and v are the same whether w is fitted or not
   * (orthogonal columns), so fixing w below 20 deg costs a VAD only its w,
   * which is poor there anyway (error cot(el)/sqrt(2) = 1.9 times that of
   * u, v at 20 deg), and gives every sector of 90 deg or more a wind. */
  o->w_free_min_elevation_deg = 20;
  /* Turbulent w in a daytime boundary layer: about 0.6 w* (w* 1-2 m/s)
   * in convection, 1.25 u* (u* 0.3-0.5 m/s) when neutral; less at night.
   * 0.5 m/s sits between, averaged somewhat by the ray and the gate. */
  o->w_fixed_sigma = 0.5;
}

/* Bit order of the CF_WIND_* flags: one name per bit, the last bit last. */
_Static_assert(CF_WIND_W_FIXED == 1u << (CF_WIND_FLAG_COUNT - 1), "a flag without a name");
const char *const cf_wind_flag_names[CF_WIND_FLAG_COUNT] = {
    "few_beams", "ill_conditioned", "svd_failed", "calm", "sigma_unknown", "errors_inflated", "w_fixed"};

double cf_wind_direction_deg(double u, double v) {
  if (u == 0 && v == 0) return NAN; /* calm: no direction (the fit flags it) */
  double d = atan2(-u, -v) / DEG2RAD;
  if (d < 0) d += 360;
  if (d >= 360) d -= 360; /* -1e-15 + 360 rounds to 360 */
  return d + 0.0;         /* -0 -> +0 */
}

/* --- workspace -------------------------------------------------------------
 * One thread's slice, in doubles, for at most m rows:
 *   geo [3m]  unweighted design rows (sin az cos el, cos az cos el, sin el)
 *   y   [m]   radial velocities
 *   sg  [m]   sigmas (1 when unknown), with the w term when w is fixed
 *   a   [3m]  weighted design matrix (p = 3 or 2 columns), column-major,
 *             overwritten by U
 *   b   [m]   weighted right-hand side
 *   s   [3], vt [9] (p x p), udummy [1]
 *   lw  [lwork] LAPACK's work array
 */
typedef struct {
  double *geo, *y, *sg, *a, *b, *s, *vt, *udummy, *lw;
} slice;

/* LAPACK work length for up to m rows and 3 or 2 columns: the larger of
 * the workspace queries' optima, and never less than dgesvd's documented
 * minimum. It depends on the scan only, so every level uses the same code
 * path whatever the thread. */
static lapack_int svd_lwork(int m) {
  lapack_int mm = m < 4 ? 4 : m;
  lapack_int best = 3 * 3 + mm > 5 * 3 ? 3 * 3 + mm : 5 * 3; /* the minimum for 3 columns */
  for (lapack_int p = 2; p <= 3; p++) {
    double q = 0, dummy[9] = {0};
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'O', 'S', mm, p, dummy, mm, dummy,
                                          dummy, 1, dummy, p, &q, -1);
    lapack_int opt = info == 0 && q > 0 && q < 1e9 ? (lapack_int)q : 0;
    if (opt > best) best = opt;
  }
  return best;
}

static size_t slice_doubles(int m, lapack_int lwork) {
  size_t mm = (size_t)(m < 4 ? 4 : m);
  return 9 * mm + 13 + (size_t)lwork;
}

static slice slice_at(double *base, int m) {
  size_t mm = (size_t)(m < 4 ? 4 : m);
  slice s;
  s.geo = base;
  s.y = s.geo + 3 * mm;
  s.sg = s.y + mm;
  s.a = s.sg + mm;
  s.b = s.a + 3 * mm;
  s.s = s.b + mm;
  s.vt = s.s + 3;
  s.udummy = s.vt + 9;
  s.lw = s.udummy + 1;
  return s;
}

static int resolve_threads(cf_ctx *ctx, int n_threads) {
  if (n_threads <= 0) n_threads = cf_get_threads(ctx);
  if (n_threads <= 0) n_threads = omp_get_max_threads();
  return n_threads < 1 ? 1 : n_threads;
}

/* --- validation ------------------------------------------------------------ */

static int check_scan(cf_ctx *ctx, const cf_wind_scan *scan, int *sigma_known) {
  char f[64];
  if (!scan || scan->n_rays < 0 || (scan->n_rays > 0 && !scan->rays))
    return cf_error(ctx, CF_EINVAL, WHERE, "scan", "no scan, or a negative ray count");
  int with_sigma = 0;
  for (int r = 0; r < scan->n_rays; r++) {
    const cf_wind_ray *ray = &scan->rays[r];
    snprintf(f, sizeof f, "rays[%d]", r);
    if (!isfinite(ray->azimuth_deg) || !isfinite(ray->elevation_deg))
      return cf_error(ctx, CF_EINVAL, WHERE, f, "azimuth %g or elevation %g is not finite",
                      ray->azimuth_deg, ray->elevation_deg);
    if (ray->elevation_deg < -90 || ray->elevation_deg > 90)
      return cf_error(ctx, CF_EINVAL, WHERE, f, "elevation %g is outside [-90, 90] degrees",
                      ray->elevation_deg);
    if (ray->n_gates < 1 || !ray->range_m || !ray->vr)
      return cf_error(ctx, CF_EINVAL, WHERE, f, "needs n_gates >= 1 (got %d), range_m and vr",
                      ray->n_gates);
    for (int g = 0; g < ray->n_gates; g++) {
      /* the nearest-gate search is a bisection on range */
      if (!isfinite(ray->range_m[g]) || (g > 0 && !(ray->range_m[g] > ray->range_m[g - 1]))) {
        snprintf(f, sizeof f, "rays[%d].range_m", r);
        return cf_error(ctx, CF_EINVAL, WHERE, f,
                        "gate ranges must be finite and strictly increasing (gate %d: %g)", g,
                        ray->range_m[g]);
      }
    }
    if (r == 0) with_sigma = ray->sigma != NULL;
    if ((ray->sigma != NULL) != with_sigma) {
      snprintf(f, sizeof f, "rays[%d].sigma", r);
      return cf_error(ctx, CF_EINVAL, WHERE, f,
                      "either every ray of a scan has sigma or none has (mixed weights "
                      "with unknown ones have no meaning)");
    }
  }
  *sigma_known = with_sigma;
  return CF_OK;
}

static int check_opts(cf_ctx *ctx, const cf_wind_opts *o) {
  if (!isfinite(o->height_tol_m) || o->height_tol_m < 0)
    return cf_error(ctx, CF_EINVAL, WHERE, "height_tol_m", "must be finite and >= 0, got %g",
                    o->height_tol_m);
  if (o->min_beams < 4)
    return cf_error(ctx, CF_EINVAL, WHERE, "min_beams",
                    "must be >= 4 (3 unknowns and at least one degree of freedom), got %d",
                    o->min_beams);
  if (!isfinite(o->max_condition) || o->max_condition < 1)
    return cf_error(ctx, CF_EINVAL, WHERE, "max_condition", "must be finite and >= 1, got %g",
                    o->max_condition);
  if (o->error_mode != CF_WIND_ERR_PROPAGATED && o->error_mode != CF_WIND_ERR_BIRGE &&
      o->error_mode != CF_WIND_ERR_SCALED)
    return cf_error(ctx, CF_EINVAL, WHERE, "error_mode", "unknown error mode %d",
                    (int)o->error_mode);
  if (!(o->w_free_min_elevation_deg >= 0 && o->w_free_min_elevation_deg <= 90))
    return cf_error(ctx, CF_EINVAL, WHERE, "w_free_min_elevation_deg",
                    "must be in [0, 90] degrees, got %g", o->w_free_min_elevation_deg);
  if (!isfinite(o->w_fixed_sigma) || o->w_fixed_sigma < 0)
    return cf_error(ctx, CF_EINVAL, WHERE, "w_fixed_sigma", "must be finite and >= 0 m/s, got %g",
                    o->w_fixed_sigma);
  return CF_OK;
}

/* --- one level ------------------------------------------------------------- */

/* Gate of `ray` whose centre height is nearest to z (ties: the lower gate).
 * Heights grow with range because sin_el > 0. */
static int nearest_gate(const cf_wind_ray *ray, double sin_el, double z) {
  double target = z / sin_el;
  int lo = 0, hi = ray->n_gates;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (ray->range_m[mid] < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == ray->n_gates) return lo - 1;
  if (lo == 0) return 0;
  double d_lo = fabs(ray->range_m[lo - 1] * sin_el - z), d_hi = fabs(ray->range_m[lo] * sin_el - z);
  return d_hi < d_lo ? lo : lo - 1;
}

/* Half the ray's gate spacing around gate g, in height. */
static double auto_tolerance(const cf_wind_ray *ray, double sin_el, int g) {
  int n = ray->n_gates;
  if (n < 2) return 0;
  double spacing;
  if (g == 0)
    spacing = ray->range_m[1] - ray->range_m[0];
  else if (g == n - 1)
    spacing = ray->range_m[n - 1] - ray->range_m[n - 2];
  else
    spacing = 0.5 * (ray->range_m[g + 1] - ray->range_m[g - 1]);
  return 0.5 * spacing * sin_el;
}

static void set_rejected(cf_wind_level *L) {
  L->u = L->v = L->w = NAN;
  L->u_err = L->v_err = L->w_err = NAN;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) L->cov[i][j] = NAN;
  L->speed = L->speed_err = L->direction_deg = L->direction_err_deg = NAN;
  L->rmse = L->chi2_red = NAN;
}

/* Returns 0, or LAPACK's negative `info` (an argument error: a bug). */
static int fit_level(const cf_wind_opts *o, const cf_wind_scan *scan, int sigma_known, double z,
                     slice *w, lapack_int lwork, cf_wind_level *L) {
  memset(L, 0, sizeof *L);
  L->height_m = z;
  L->flags = sigma_known ? 0 : CF_WIND_SIGMA_UNKNOWN;
  L->condition = NAN;
  set_rejected(L);

  /* gather one gate per ray, in ray order */
  int m = 0;
  double max_el = -90; /* highest beam at this level, degrees */
  for (int r = 0; r < scan->n_rays; r++) {
    const cf_wind_ray *ray = &scan->rays[r];
    double el = ray->elevation_deg * DEG2RAD, az = ray->azimuth_deg * DEG2RAD;
    double sin_el = sin(el), cos_el = cos(el);
    if (!(sin_el > 0)) continue;
    int g = nearest_gate(ray, sin_el, z);
    double tol = o->height_tol_m > 0 ? o->height_tol_m : auto_tolerance(ray, sin_el, g);
    if (!(fabs(ray->range_m[g] * sin_el - z) <= tol)) continue;
    if (ray->valid && !ray->valid[g]) continue;
    double vr = ray->vr[g], sg = sigma_known ? ray->sigma[g] : 1.0;
    if (!isfinite(vr) || !isfinite(sg) || !(sg > 0)) continue;
    w->geo[3 * m + 0] = sin(az) * cos_el;
    w->geo[3 * m + 1] = cos(az) * cos_el;
    w->geo[3 * m + 2] = sin_el;
    w->y[m] = vr;
    w->sg[m] = sg;
    if (ray->elevation_deg > max_el) max_el = ray->elevation_deg;
    m++;
  }
  L->n_beams = m;
  if (m < o->min_beams) {
    L->flags |= CF_WIND_FEW_BEAMS;
    return 0;
  }

  /* p unknowns: (u, v, w), or (u, v) with w = 0 when no beam is steep
   * enough to see w (wind.h). The assumed w's spread joins each known
   * sigma in quadrature; unknown sigmas stay equal weights (wind.h). */
  int p = 3;
  if (max_el < o->w_free_min_elevation_deg) {
    p = 2;
    L->flags |= CF_WIND_W_FIXED;
    for (int i = 0; sigma_known && i < m; i++)
      w->sg[i] = hypot(w->sg[i], w->geo[3 * i + 2] * o->w_fixed_sigma);
  }

  /* weighted system, column-major with lda = m */
  for (int i = 0; i < m; i++) {
    double wt = 1.0 / w->sg[i];
    for (int k = 0; k < p; k++) w->a[(size_t)k * m + i] = w->geo[3 * i + k] * wt;
    w->b[i] = w->y[i] * wt;
  }
  /* A = U S V^T; jobu 'O' leaves the p columns of U in a. */
  lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'O', 'S', m, p, w->a, m, w->s, w->udummy,
                                        1, w->vt, p, w->lw, lwork);
  if (info < 0) return (int)info;
  if (info > 0) {
    L->flags |= CF_WIND_SVD_FAILED;
    return 0;
  }
  const double *s = w->s; /* descending */
  L->condition = s[p - 1] > 0 ? s[0] / s[p - 1] : INFINITY;
  if (!(L->condition <= o->max_condition)) {
    L->flags |= CF_WIND_ILL_CONDITIONED;
    return 0;
  }

  /* x = V S^-1 U^T b; C = V S^-2 V^T. vt is column-major: V^T(k, j) = vt[k + p j].
   * With w fixed, x[2] = 0 enters the residuals and the w entries are NaN. */
  double t[3], x[3] = {0, 0, 0}, c[3][3];
  for (int k = 0; k < p; k++) {
    double dot = 0;
    for (int i = 0; i < m; i++) dot += w->a[(size_t)k * m + i] * w->b[i];
    t[k] = dot / s[k];
  }
  for (int j = 0; j < p; j++) {
    double sum = 0;
    for (int k = 0; k < p; k++) sum += w->vt[k + p * j] * t[k];
    x[j] = sum;
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double sum = 0;
      for (int k = 0; i < p && j < p && k < p; k++)
        sum += w->vt[k + p * i] * w->vt[k + p * j] / (s[k] * s[k]);
      c[i][j] = i < p && j < p ? sum : NAN;
    }

  /* residuals from the model itself (not from U), in m/s */
  double rss = 0, chi2 = 0;
  for (int i = 0; i < m; i++) {
    double model = w->geo[3 * i] * x[0] + w->geo[3 * i + 1] * x[1] + w->geo[3 * i + 2] * x[2];
    double r = w->y[i] - model;
    rss += r * r;
    chi2 += (r / w->sg[i]) * (r / w->sg[i]);
  }
  int dof = m - p;
  double chi2_red = chi2 / dof;
  double f2 = 1; /* variance scale */
  if (!sigma_known) {
    f2 = chi2_red; /* unit weights: this is RSS/(n-p), the residual variance */
    chi2_red = NAN;
  } else if (o->error_mode == CF_WIND_ERR_SCALED ||
             (o->error_mode == CF_WIND_ERR_BIRGE && chi2_red > 1)) {
    f2 = chi2_red;
    L->flags |= CF_WIND_ERR_INFLATED;
  }

  L->u = x[0];
  L->v = x[1];
  L->w = p == 3 ? x[2] : NAN; /* fixed, not measured */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) L->cov[i][j] = c[i][j] * f2;
  L->u_err = sqrt(L->cov[0][0]);
  L->v_err = sqrt(L->cov[1][1]);
  L->w_err = sqrt(L->cov[2][2]);
  L->rmse = sqrt(rss / m);
  L->chi2_red = chi2_red;

  double u = x[0], v = x[1], cuu = L->cov[0][0], cvv = L->cov[1][1], cuv = L->cov[0][1];
  L->speed = hypot(u, v);
  if (L->speed > 0) {
    double s2 = L->speed * L->speed;
    /* d|V|/du = u/|V|, d|V|/dv = v/|V|; for atan2(-u, -v): dD/du = v/|V|^2, dD/dv = -u/|V|^2 */
    L->speed_err = sqrt(fmax(0, u * u * cuu + v * v * cvv + 2 * u * v * cuv)) / L->speed;
    L->direction_deg = cf_wind_direction_deg(u, v);
    L->direction_err_deg =
        sqrt(fmax(0, v * v * cuu + u * u * cvv - 2 * u * v * cuv)) / s2 / DEG2RAD;
  } else {
    L->flags |= CF_WIND_CALM; /* no derivative at 0: speed error and direction undefined */
  }
  return 0;
}

/* --- public ----------------------------------------------------------------- */

int cf_wind_work_size(cf_ctx *ctx, const cf_wind_scan *scan, int n_threads, size_t *n_doubles) {
  int sigma_known;
  if (!n_doubles) return cf_error(ctx, CF_EINVAL, WHERE, "n_doubles", "is NULL");
  int rc = check_scan(ctx, scan, &sigma_known);
  if (rc) return rc;
  int nt = resolve_threads(ctx, n_threads);
  *n_doubles = slice_doubles(scan->n_rays, svd_lwork(scan->n_rays)) * (size_t)nt;
  return CF_OK;
}

int cf_wind_fit(cf_ctx *ctx, const cf_wind_opts *opts, const cf_wind_scan *scan,
                const double *heights_m, int n_levels, double *work, size_t n_work,
                cf_wind_level *out) {
  cf_wind_opts defaults;
  if (!opts) {
    cf_wind_opts_default(&defaults);
    opts = &defaults;
  }
  int rc = check_opts(ctx, opts);
  if (rc) return rc;
  int sigma_known;
  if ((rc = check_scan(ctx, scan, &sigma_known))) return rc;
  if (n_levels < 0 || (n_levels > 0 && (!heights_m || !out)))
    return cf_error(ctx, CF_EINVAL, WHERE, "heights_m", "needs n_levels >= 0, heights and output");
  for (int i = 0; i < n_levels; i++)
    if (!isfinite(heights_m[i]))
      return cf_error(ctx, CF_EINVAL, WHERE, "heights_m", "level %d is not finite (%g)", i,
                      heights_m[i]);
  if (n_levels == 0) return CF_OK;

  lapack_int lwork = svd_lwork(scan->n_rays);
  size_t per = slice_doubles(scan->n_rays, lwork);
  if (!work || n_work < per)
    return cf_error(ctx, CF_EINVAL, WHERE, "work",
                    "workspace of %zu doubles is too small: one thread needs %zu "
                    "(see cf_wind_work_size)",
                    work ? n_work : (size_t)0, per);
  size_t fit = n_work / per;
  int nt = resolve_threads(ctx, 0);
  if ((size_t)nt > fit) nt = (int)fit;
  if (nt > n_levels) nt = n_levels;

  int lapack_err = 0;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int i = 0; i < n_levels; i++) {
    slice sl = slice_at(work + (size_t)omp_get_thread_num() * per, scan->n_rays);
    int e = fit_level(opts, scan, sigma_known, heights_m[i], &sl, lwork, &out[i]);
    if (e) {
#pragma omp atomic write
      lapack_err = e;
    }
  }
  if (lapack_err)
    return cf_error(ctx, CF_EINTERNAL, WHERE, "dgesvd", "LAPACK rejected argument %d", -lapack_err);
  return CF_OK;
}

int cf_wind_levels_from_ray(cf_ctx *ctx, const cf_wind_ray *ray, double *heights, int cap) {
  if (!ray || !ray->range_m || ray->n_gates < 1 || !heights)
    return cf_error(ctx, CF_EINVAL, WHERE, "ray", "needs a ray with gates and an output array");
  if (cap < ray->n_gates)
    return cf_error(ctx, CF_EINVAL, WHERE, "heights", "room for %d levels, the ray has %d gates",
                    cap, ray->n_gates);
  double sin_el = sin(ray->elevation_deg * DEG2RAD);
  if (!isfinite(sin_el) || !(sin_el > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "elevation_deg",
                    "the ray must point above the horizon (elevation %g)", ray->elevation_deg);
  for (int g = 0; g < ray->n_gates; g++) heights[g] = ray->range_m[g] * sin_el;
  return CF_OK;
}

int cf_wind_rays_from_windcube(cf_ctx *ctx, const struct cf_windcube_scan *wc, cf_wind_ray *rays,
                               int cap, cf_wind_scan *scan) {
  if (!wc || !rays || !scan)
    return cf_error(ctx, CF_EINVAL, WHERE, "windcube scan", "needs a scan, rays and an output");
  if (cap < wc->n_rays)
    return cf_error(ctx, CF_EINVAL, WHERE, "rays", "room for %d rays, the scan has %d", cap,
                    wc->n_rays);
  int k = 0;
  for (int f = 0; f < wc->n_files; f++) {
    const cf_windcube_file *file = &wc->files[f];
    for (int r = 0; r < file->n_rays && k < cap; r++, k++) {
      size_t off = (size_t)r * file->n_gates;
      rays[k].azimuth_deg = file->azimuth_deg[r];
      rays[k].elevation_deg = file->elevation_deg[r];
      rays[k].n_gates = file->n_gates;
      rays[k].range_m = file->range_m + off;
      rays[k].vr = file->radial_velocity + off;
      rays[k].sigma = NULL;
      rays[k].valid = file->valid + off;
    }
  }
  scan->n_rays = k;
  scan->rays = rays;
  return CF_OK;
}
