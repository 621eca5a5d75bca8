/* The boundary-layer height from CNR profiles; see boundary_layer.h. */
#include "lidar/flux/boundary_layer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/doppler.h"
#include "lidar/flux/geometry.h"

#define PI 3.14159265358979323846
/* gates whose CNR is no measure of the aerosol (see the header) */
#define QC_SKIP (CF_QC_BAD_RAY | CF_QC_HARD_TARGET | CF_QC_NEAR_RANGE)
#define MIN_HALF_POINTS 2
#define MAD_TO_SIGMA 1.4826     /* normal: sigma = 1.4826 MAD */
#define MEDIAN_SE_FACTOR 1.2533 /* sqrt(pi/2): SE of a median / SE of a mean, normal data */

typedef struct {
  double z, s;
} point;

typedef struct {
  int32_t scan;
  long ekey; /* elevation in 0.01 degree */
  int ray;
} ray_key;

/* one accepted sweep */
typedef struct {
  double z, sigma_noise, sigma_sampling, drop_db;
  long ekey;
} sweep_top;

static int cmp_ray_key(const void *pa, const void *pb) {
  const ray_key *a = pa, *b = pb;
  if (a->scan != b->scan) return a->scan < b->scan ? -1 : 1;
  if (a->ekey != b->ekey) return a->ekey < b->ekey ? -1 : 1;
  return (a->ray > b->ray) - (a->ray < b->ray);
}

static int cmp_point(const void *pa, const void *pb) {
  const point *a = pa, *b = pb;
  return (a->z > b->z) - (a->z < b->z);
}

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* Median of v[0..n) (sorts v). */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The first point with z >= x (z > x when `after`): points are sorted by z. */
static int first_at(const point *p, int n, double x, int after) {
  int a = 0, b = n;
  while (a < b) {
    int m = (a + b) / 2;
    if (after ? p[m].z <= x : p[m].z < x)
      a = m + 1;
    else
      b = m;
  }
  return a;
}

/* Points with z in [lo, hi) (or (lo, hi] when right_closed): index range [*i0, *i1). */
static void window(const point *p, int n, double lo, double hi, int right_closed, int *i0, int *i1) {
  *i0 = first_at(p, n, lo, right_closed);
  *i1 = first_at(p, n, hi, right_closed);
}

/* Mean of S over points in [lo, hi] (closed); count in *n. */
static double mean_in(const point *p, const double *cs, int n, double lo, double hi, int *cnt) {
  int i0 = first_at(p, n, lo, 0), i1 = first_at(p, n, hi, 1);
  *cnt = i1 - i0;
  return *cnt ? (cs[i1] - cs[i0]) / *cnt : NAN;
}

/* The Haar covariance at b (NAN where a half holds too few points). */
static double haar(const point *p, const double *cs, int n, double b, double a) {
  int l0, l1, u0, u1;
  window(p, n, b - 0.5 * a, b, 0, &l0, &l1);
  window(p, n, b, b + 0.5 * a, 1, &u0, &u1);
  if (l1 - l0 < MIN_HALF_POINTS || u1 - u0 < MIN_HALF_POINTS) return NAN;
  return (cs[l1] - cs[l0]) / (l1 - l0) - (cs[u1] - cs[u0]) / (u1 - u0);
}

/* Placement around b: the crossing of the half-drop level nearest b. 0 if found. */
static int crossing(const point *p, const double *cs, int n, double b, double a, double noise, sweep_top *out) {
  int nlo, nhi;
  double mlo = mean_in(p, cs, n, b - 0.5 * a, b - 0.25 * a, &nlo);
  double mhi = mean_in(p, cs, n, b + 0.25 * a, b + 0.5 * a, &nhi);
  if (!nlo || !nhi || !(mlo > mhi)) return -1;
  double T = 0.5 * (mlo + mhi), D = mlo - mhi;
  int best = -1;
  double zbest = 0, tbest = 0;
  for (int k = 0; k + 1 < n; k++) {
    if (p[k + 1].z < b - 0.5 * a) continue;
    if (p[k].z > b + 0.5 * a) break;
    if (!(p[k].s >= T && T > p[k + 1].s)) continue;
    double t = (p[k].s - T) / (p[k].s - p[k + 1].s);
    double zc = p[k].z + t * (p[k + 1].z - p[k].z);
    if (best < 0 || fabs(zc - b) < fabs(zbest - b)) best = k, zbest = zc, tbest = t;
  }
  if (best < 0) return -1;
  double dz = p[best + 1].z - p[best].z, ds = p[best].s - p[best + 1].s;
  double q = ds / D < 1 ? ds / D : 1;
  out->z = zbest;
  out->drop_db = D;
  out->sigma_noise = dz * noise * sqrt((1 - tbest) * (1 - tbest) + tbest * tbest + 0.25 * (1.0 / nlo + 1.0 / nhi)) / ds;
  out->sigma_sampling = q * q * dz / sqrt(12.0);
  return 0;
}

/* The top of one sweep's profile p[0..n) (sorted by z), or -1 (no clear drop). */
static int sweep_profile_top(point *p, int n, double *work, sweep_top *out) {
  if (n < 2 * MIN_HALF_POINTS + 1) return -1;
  /* cumulative sums; median spacing; point noise from successive differences */
  double *cs = work, *tmp = work + n + 1;
  cs[0] = 0;
  for (int k = 0; k < n; k++) cs[k + 1] = cs[k] + p[k].s;
  int nd = 0;
  for (int k = 0; k + 1 < n; k++)
    if (p[k + 1].z > p[k].z) tmp[nd++] = p[k + 1].z - p[k].z;
  if (!nd) return -1;
  double spacing = median(tmp, nd);
  for (int k = 0; k + 1 < n; k++) tmp[k] = p[k + 1].s - p[k].s;
  double mdiff = median(tmp, n - 1);
  for (int k = 0; k + 1 < n; k++) tmp[k] = fabs(tmp[k] - mdiff);
  double noise = MAD_TO_SIGMA * median(tmp, n - 1) / sqrt(2.0);
  double a = CF_BLH_DILATION_M > 4 * spacing ? CF_BLH_DILATION_M : 4 * spacing;
  double b0 = p[0].z + 0.5 * a, b1 = p[n - 1].z - 0.5 * a;
  if (!(b1 > b0)) return -1;
  int nb = (int)floor((b1 - b0) / CF_BLH_STEP_M) + 1;
  double wmax = -INFINITY;
  int kmax = -1, kend = -1;
  for (int k = 0; k < nb; k++) {
    double w = haar(p, cs, n, b0 + k * CF_BLH_STEP_M, a);
    if (isnan(w)) continue;
    if (w > wmax)
      wmax = w, kmax = kend = k;
    else if (w == wmax && kend == k - 1)
      kend = k; /* a plateau of the maximum: take its middle */
  }
  if (kmax < 0 || !(wmax >= CF_BLH_MIN_DROP_DB)) return -1;
  double b = b0 + 0.5 * (kmax + kend) * CF_BLH_STEP_M;
  /* closed peak: W falls to wmax/2 within a on both sides */
  int closed_lo = 0, closed_hi = 0;
  int klo = (int)ceil((b - a - b0) / CF_BLH_STEP_M), khi = (int)floor((b + a - b0) / CF_BLH_STEP_M);
  for (int k = klo > 0 ? klo : 0; k <= khi && k < nb; k++) {
    double bb = b0 + k * CF_BLH_STEP_M;
    double w = haar(p, cs, n, bb, a);
    if (isnan(w) || w > 0.5 * wmax) continue;
    if (bb < b) closed_lo = 1;
    if (bb > b) closed_hi = 1;
  }
  if (!closed_lo || !closed_hi) return -1;
  sweep_top t;
  if (crossing(p, cs, n, b, a, noise, &t)) return -1;
  for (int it = 0; it < 2; it++) { /* recentre the levels on the crossing */
    sweep_top t2;
    if (crossing(p, cs, n, t.z, a, noise, &t2)) break;
    t = t2;
  }
  *out = t;
  return 0;
}

/* "a.nc", "a.nc and b.nc", "a.nc, b.nc and 3 more files" */
static void name_files(const cf_l2_set *set, char *buf, size_t cap) {
  if (set->n <= 0) {
    snprintf(buf, cap, "(no L2 file)");
    return;
  }
  const char *a = set->files[0].path ? set->files[0].path : "(unnamed)";
  if (set->n == 1)
    snprintf(buf, cap, "%s", a);
  else if (set->n == 2)
    snprintf(buf, cap, "%s and %s", a, set->files[1].path ? set->files[1].path : "(unnamed)");
  else
    snprintf(buf, cap, "%s and %d more files", a, set->n - 1);
}

int cf_blh_from_cnr(cf_ctx *ctx, const cf_l2_set *set, double instrument_height_m, cf_blh_estimate *out) {
  if (out) memset(out, 0, sizeof *out);
  if (!set || !out || (set->n > 0 && !set->files))
    return cf_error(ctx, CF_EINVAL, "boundary layer", "", "no L2 set or no result given");
  if (!isfinite(instrument_height_m) || instrument_height_m < 0)
    return cf_error(ctx, CF_EINVAL, "boundary layer", "instrument_height_m", "must be >= 0, got %g",
                    instrument_height_m);
  int max_rays = 0, max_gates = 0;
  long total_rays = 0;
  for (int f = 0; f < set->n; f++) {
    if (set->files[f].n_rays > max_rays) max_rays = set->files[f].n_rays;
    if (set->files[f].n_gates > max_gates) max_gates = set->files[f].n_gates;
    total_rays += set->files[f].n_rays;
  }
  ray_key *keys = malloc((size_t)(max_rays ? max_rays : 1) * sizeof *keys);
  double *sum = malloc((size_t)(max_gates ? max_gates : 1) * sizeof *sum);
  int *cnt = malloc((size_t)(max_gates ? max_gates : 1) * sizeof *cnt);
  point *pts = malloc((size_t)(max_gates ? max_gates : 1) * sizeof *pts);
  double *work = malloc((size_t)(2 * max_gates + 2) * sizeof *work);
  sweep_top *tops = malloc((size_t)(total_rays ? total_rays : 1) * sizeof *tops);
  int rc = CF_OK;
  if (!keys || !sum || !cnt || !pts || !work || !tops) {
    rc = cf_error(ctx, CF_ENOMEM, "boundary layer", "", "out of memory for %d gates", max_gates);
    goto done;
  }
  int ntop = 0, nrej = 0;
  double zmax = -INFINITY; /* the highest usable gate, for the message */
  for (int f = 0; f < set->n; f++) {
    const cf_l2 *l2 = &set->files[f];
    int nk = 0;
    for (int i = 0; i < l2->n_rays; i++) {
      double el = l2->elevation_deg[i];
      if (!(el > 0 && el <= 90)) continue; /* no height gained along the ray */
      keys[nk++] = (ray_key){l2->scan_id[i], lround(el * 100.0), i};
    }
    qsort(keys, (size_t)nk, sizeof *keys, cmp_ray_key);
    for (int g0 = 0; g0 < nk;) {
      int g1 = g0 + 1;
      while (g1 < nk && keys[g1].scan == keys[g0].scan && keys[g1].ekey == keys[g0].ekey) g1++;
      double el = 0;
      for (int g = 0; g < l2->n_gates; g++) sum[g] = 0, cnt[g] = 0;
      for (int k = g0; k < g1; k++) {
        int i = keys[k].ray;
        el += l2->elevation_deg[i] / (g1 - g0);
        const double *cnr = l2->cnr_on + (size_t)i * l2->n_gates;
        const int32_t *qc = l2->qc_flag + (size_t)i * l2->n_gates;
        for (int g = 0; g < l2->n_gates; g++) {
          double r = l2->range_m[g];
          if (!isfinite(cnr[g]) || !(r > 0) || qc[g] == CF_L2_QC_MISSING || (qc[g] & QC_SKIP)) continue;
          sum[g] += cnr[g] + 20.0 * log10(r / 1000.0);
          cnt[g]++;
        }
      }
      int n = 0;
      for (int g = 0; g < l2->n_gates; g++)
        if (cnt[g]) pts[n++] = (point){cf_geo_gate_height_agl(l2->range_m[g], el, instrument_height_m), sum[g] / cnt[g]};
      qsort(pts, (size_t)n, sizeof *pts, cmp_point);
      if (n && pts[n - 1].z > zmax) zmax = pts[n - 1].z;
      if (n) {
        if (sweep_profile_top(pts, n, work, &tops[ntop]) == 0) {
          tops[ntop++].ekey = keys[g0].ekey;
        } else {
          nrej++;
        }
      }
      g0 = g1;
    }
  }
  out->n_profiles = ntop;
  out->n_rejected = nrej;
  if (!ntop) {
    char files[1200];
    name_files(set, files, sizeof files);
    if (isfinite(zmax))
      rc = cf_error(ctx, CF_EDATA, files, "cnr_on",
                    "no sweep shows a clear drop of the range-corrected CNR (>= %.0f dB) at a boundary-layer top "
                    "(%d sweeps examined; the highest usable gate is %.0f m above the ground: the top may be above "
                    "it); give the boundary-layer height as blh_m=<metres>",
                    CF_BLH_MIN_DROP_DB, nrej, zmax);
    else
      rc = cf_error(ctx, CF_EDATA, files, "cnr_on",
                    "no usable CNR (every gate masked or flagged) to estimate the boundary-layer height from; "
                    "give it as blh_m=<metres>");
    goto done;
  }
  /* the median, its spread and the model sigma over the accepted sweeps */
  double *v = malloc((size_t)ntop * sizeof *v);
  if (!v) {
    rc = cf_error(ctx, CF_ENOMEM, "boundary layer", "", "out of memory");
    goto done;
  }
  for (int k = 0; k < ntop; k++) v[k] = tops[k].z;
  double med = median(v, ntop);
  for (int k = 0; k < ntop; k++) v[k] = fabs(tops[k].z - med);
  double spread = ntop > 1 ? MEDIAN_SE_FACTOR * MAD_TO_SIGMA * median(v, ntop) / sqrt((double)ntop) : 0.0;
  for (int k = 0; k < ntop; k++) v[k] = tops[k].sigma_noise * tops[k].sigma_noise;
  double var_noise = median(v, ntop) * (ntop >= 3 ? PI / 2 : 1.0) / ntop;
  for (int k = 0; k < ntop; k++) v[k] = tops[k].sigma_sampling * tops[k].sigma_sampling;
  double var_sampling = median(v, ntop);
  for (int k = 0; k < ntop; k++) v[k] = tops[k].drop_db;
  out->drop_db = median(v, ntop);
  /* distinct elevations among the accepted sweeps */
  for (int k = 0; k < ntop; k++) v[k] = (double)tops[k].ekey;
  qsort(v, (size_t)ntop, sizeof *v, cmp_double);
  int nelev = 1;
  for (int k = 1; k < ntop; k++) nelev += v[k] != v[k - 1];
  free(v);
  double model = sqrt(var_noise + var_sampling / nelev);
  out->blh_m = med;
  out->sigma_m = spread > model ? spread : model;
  {
    char b1[32], b2[32], b3[16], b4[16];
    snprintf(b1, sizeof b1, "%.1f", out->blh_m);
    snprintf(b2, sizeof b2, "%.1f", out->sigma_m);
    snprintf(b3, sizeof b3, "%d", ntop);
    snprintf(b4, sizeof b4, "%d", nrej);
    cf_log_event(ctx, CF_LOG_INFO, "blh_from_cnr", "blh_m", b1, "sigma_m", b2, "sweeps", b3, "rejected", b4,
                 (const char *)NULL);
  }
done:
  free(keys), free(sum), free(cnt), free(pts), free(work), free(tops);
  return rc;
}
