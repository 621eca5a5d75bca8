/*
 * Gaussian plume forward model (see plume.h for the physics, the sources
 * of the dispersion curves and the error of the area integration).
 *
 * Shape: cf_plume_model_init and cf_plume_jacobian validate in the calling
 * thread; the evaluation functions below them are pure and take no
 * context, so OpenMP threads call them freely. The only allocation is the
 * clipping scratch of cf_plume_grid_polygon, a set-up step. The one shared
 * table (erfcx, below) is filled once, under pthread_once, by the first
 * cf_plume_model_init: every evaluation needs a model, so it exists
 * before any evaluation runs and is read-only afterwards.
 */
#include "lidar/flux/plume.h"

#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PL_PI 3.14159265358979323846
#define D2R (PL_PI / 180.0)
#define SQRT_2PI 2.50662827463100050242
#define SQRT_2 1.41421356237309504880

/* Terms below this fraction of the leading one are dropped (exp(-39.1)). */
#define SERIES_EPS 1e-17
#define SERIES_EXP_LIMIT 39.1

static const char *const WHERE = "plume model";

/* --- the scaled complementary error function, tabulated -------------------- */

/* The crosswind integral of a cell's cross-section is a difference of two
 * erfc, at every integration node of every cell of every Jacobian row:
 * libm's erfc was a sixth of the whole flux estimate's time. erfcx(u) =
 * exp(u^2) erfc(u) is smooth and bounded on u >= 0 (1 at 0, about
 * 1/(u sqrt(pi)) beyond), with the derivative known in closed form,
 * erfcx'(u) = 2 u erfcx(u) - 2/sqrt(pi); so a cubic Hermite interpolant on
 * ERFCX_N intervals of [0, ERFCX_U] is accurate to about h^4 max|erfcx^(4)|
 * / 384, below 1e-9 relative (h = 0.0088; the test compares it with libm's
 * erfc), and erfc(u) = erfcx(u) exp(-u^2) keeps its relative accuracy deep
 * in the tail, where the plume's far cells need it. Beyond ERFCX_U erfc is
 * below 1e-35: 0 next to any term it is subtracted from. */
#define ERFCX_N 1024
#define ERFCX_U 9.0
static double erfcx_v[ERFCX_N + 1], erfcx_d[ERFCX_N + 1];
static pthread_once_t erfcx_once = PTHREAD_ONCE_INIT;

static void erfcx_fill(void) {
  const double h = ERFCX_U / ERFCX_N, two_over_sqrt_pi = 1.12837916709551257390;
  for (int i = 0; i <= ERFCX_N; i++) {
    double u = i * h;
    /* exp(u^2) erfc(u) directly: at u = 9 erfc is 4e-37 and exp(81) 1.5e35,
     * both far from the double's limits */
    erfcx_v[i] = exp(u * u) * erfc(u);
    erfcx_d[i] = 2.0 * u * erfcx_v[i] - two_over_sqrt_pi;
  }
}

/* erfc(u) for u >= 0 from the table. */
static double erfc_tab(double u) {
  if (!(u < ERFCX_U)) return 0.0;
  const double inv_h = ERFCX_N / ERFCX_U, h = ERFCX_U / ERFCX_N;
  double s = u * inv_h;
  int i = (int)s;
  double t = s - i, t2 = t * t, t3 = t2 * t;
  /* cubic Hermite basis on [u_i, u_i+1] */
  double v = (2 * t3 - 3 * t2 + 1) * erfcx_v[i] + (t3 - 2 * t2 + t) * h * erfcx_d[i] +
             (-2 * t3 + 3 * t2) * erfcx_v[i + 1] + (t3 - t2) * h * erfcx_d[i + 1];
  return v * exp(-u * u);
}

double cf_plume_erfc(double u) {
  pthread_once(&erfcx_once, erfcx_fill);
  return u >= 0 ? erfc_tab(u) : 2.0 - erfc_tab(-u);
}

/* --- stability and dispersion ---------------------------------------------- */

char cf_stability_letter(cf_stability s) {
  return (s >= CF_STAB_A && s <= CF_STAB_F) ? (char)('A' + (int)s) : '?';
}

int cf_stability_parse(cf_ctx *ctx, const char *text, const char *where, cf_stability *out) {
  if (text && text[0] && !text[1]) {
    int c = toupper((unsigned char)text[0]);
    if (c >= 'A' && c <= 'F') {
      *out = (cf_stability)(c - 'A');
      return CF_OK;
    }
  }
  return cf_error(ctx, CF_EINVAL, where ? where : WHERE, "stability",
                  "'%s' is not a Pasquill-Gifford class A..F", text ? text : "(null)");
}

/* Briggs (1973) open country, x in m (plume.h for the table and sources). */
static const double BRIGGS_SY[CF_STAB_COUNT] = {0.22, 0.16, 0.11, 0.08, 0.06, 0.04};
static const double BRIGGS_SZ_A[CF_STAB_COUNT] = {0.20, 0.12, 0.08, 0.06, 0.03, 0.016};
static const double BRIGGS_SZ_B[CF_STAB_COUNT] = {0, 0, 0.0002, 0.0015, 0.0003, 0.0003};

void cf_briggs_rural(cf_stability s, double x, double *sy, double *sz) {
  if (!(x > 0) || s < CF_STAB_A || s > CF_STAB_F) {
    *sy = 0;
    *sz = 0;
    return;
  }
  *sy = BRIGGS_SY[s] * x / sqrt(1.0 + 0.0001 * x);
  double a = BRIGGS_SZ_A[s], b = BRIGGS_SZ_B[s];
  if (s <= CF_STAB_B)
    *sz = a * x; /* no (1 + b x) factor */
  else if (s <= CF_STAB_D)
    *sz = a * x / sqrt(1.0 + b * x);
  else
    *sz = a * x / (1.0 + b * x);
}

int cf_stability_from_sigma_theta(cf_ctx *ctx, double sa, cf_stability *out) {
  if (!isfinite(sa) || sa < 0)
    return cf_error(ctx, CF_EINVAL, WHERE, "sigma_theta", "%g degree is not a standard deviation",
                    sa);
  /* lower bounds of A..E (degree); below the last: F */
  static const double lo[5] = {22.5, 17.5, 12.5, 7.5, 3.8};
  int k = 0;
  while (k < 5 && sa < lo[k]) k++;
  *out = (cf_stability)k;
  return CF_OK;
}

/* --- the model -------------------------------------------------------------- */

int cf_plume_model_init(cf_ctx *ctx, const cf_plume_met *met, cf_plume_model *m) {
  if (!met || !m) return cf_error(ctx, CF_EINVAL, WHERE, "met", "no input or no output");
  if (!isfinite(met->wind_from_deg))
    return cf_error(ctx, CF_EINVAL, WHERE, "wind_from_deg", "is not finite");
  if (!isfinite(met->wind_speed_ms) || !(met->wind_speed_ms > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "wind_speed_ms",
                    "%g m/s: a steady plume needs a positive transport speed",
                    met->wind_speed_ms);
  if (met->stability < CF_STAB_A || met->stability > CF_STAB_F)
    return cf_error(ctx, CF_EINVAL, WHERE, "stability", "%d is not a class A..F (0..5)",
                    (int)met->stability);
  if (!isfinite(met->blh_m) || !(met->blh_m > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "blh_m", "%g m is not a positive height", met->blh_m);
  if (!isfinite(met->n_air_mol_m3) || !(met->n_air_mol_m3 > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "n_air_mol_m3", "%g mol/m^3 is not a positive density",
                    met->n_air_mol_m3);
  if (!(met->sigma_dir_deg >= 0 && met->sigma_dir_deg < 45))
    return cf_error(ctx, CF_EINVAL, WHERE, "sigma_dir_deg",
                    "%g degree: a direction uncertainty must be in [0, 45)", met->sigma_dir_deg);
  if (!(met->sigma_z_scale == 0 ||
        (met->sigma_z_scale >= CF_PLUME_SZ_SCALE_MIN && met->sigma_z_scale <= CF_PLUME_SZ_SCALE_MAX)))
    return cf_error(ctx, CF_EINVAL, WHERE, "sigma_z_scale", "%g: a factor on sigma_z must be 0 (none) or in [%g, %g]",
                    met->sigma_z_scale, CF_PLUME_SZ_SCALE_MIN, CF_PLUME_SZ_SCALE_MAX);
  pthread_once(&erfcx_once, erfcx_fill); /* before any evaluation (see the top) */
  memset(m, 0, sizeof *m);
  m->met = *met;
  m->tan_dir = tan(met->sigma_dir_deg * D2R);
  m->sz_scale = met->sigma_z_scale == 0 ? 1.0 : met->sigma_z_scale;
  double t = met->wind_from_deg * D2R;
  m->de = -sin(t);
  m->dn = -cos(t);
  m->ppm_factor = 1e6 / CF_T_PER_H_PER_MOL_S / (met->wind_speed_ms * met->n_air_mol_m3);
  return CF_OK;
}

/* Gz (1/m): the vertical density with reflections at 0 and h, for z and
 * H in [0, h] and sz > 0 (plume.h). */
static double vertical(double z, double H, double h, double sz) {
  if (sz < h) { /* images */
    double inv = 1.0 / (2.0 * sz * sz);
    double a = z - H, b = z + H;
    double sum = exp(-a * a * inv) + exp(-b * b * inv);
    for (int k = 1;; k++) {
      /* every image of this k is at least 2(k-1)h away from z */
      double dmin = 2.0 * (k - 1) * h;
      if (dmin * dmin * inv > SERIES_EXP_LIMIT) break;
      double s = 2.0 * k * h, t = 0;
      t += exp(-(a - s) * (a - s) * inv) + exp(-(a + s) * (a + s) * inv);
      t += exp(-(b - s) * (b - s) * inv) + exp(-(b + s) * (b + s) * inv);
      sum += t;
    }
    return sum / (SQRT_2PI * sz);
  }
  /* Fourier (Poisson-summed) form; m = 0 is the well-mixed 1/h */
  double q = PL_PI * PL_PI * sz * sz / (2.0 * h * h);
  double sum = 1.0;
  for (int k = 1;; k++) {
    double w = exp(-q * k * k);
    if (w < SERIES_EPS) break;
    double ph = PL_PI * k / h;
    sum += w * (cos(ph * (z - H)) + cos(ph * (z + H)));
  }
  return sum / h;
}

static double lateral_point(double y, double sy) {
  return exp(-y * y / (2.0 * sy * sy)) / (SQRT_2PI * sy);
}

/* Gy averaged over a crosswind segment of width w centred at offset 0:
 * (Phi((y + w/2)/sy) - Phi((y - w/2)/sy)) / w, written with erfc on the
 * side away from the centre so that the far tails keep their digits. */
static double lateral_segment(double y, double sy, double w) {
  if (w < 1e-4 * sy) return lateral_point(y, sy); /* relative error < (w/sy)^2/24 < 1e-9 */
  double ay = fabs(y); /* symmetric in y */
  double u1 = (ay - 0.5 * w) / (SQRT_2 * sy), u2 = (ay + 0.5 * w) / (SQRT_2 * sy);
  /* whole tails: erfc(6.5) = 3.8e-20, below a double's resolution of 1 */
  if (u1 > 6.5) return 0.0;
  if (u1 < -6.5 && u2 > 6.5) return 1.0 / w;
  double d;
  if (u1 >= 0)
    d = 0.5 * (erfc_tab(u1) - erfc_tab(u2));
  else /* erf(u2) - erf(u1) = 2 - erfc(u2) - erfc(-u1), both arguments >= 0 */
    d = 1.0 - 0.5 * (erfc_tab(u2) + erfc_tab(-u1));
  return d / w;
}

/* ppm per t/h for downwind x, crosswind lateral density gy, given z, H. */
/* Briggs' sigmas widened by the direction uncertainty (plume.h). */
static void spread(const cf_plume_model *m, double x, double *sy, double *sz) {
  cf_briggs_rural(m->met.stability, x, sy, sz);
  *sz *= m->sz_scale;
  if (m->tan_dir > 0) *sy = sqrt(*sy * *sy + x * m->tan_dir * x * m->tan_dir);
}

static double column(const cf_plume_model *m, double x, double y, double z, double H, double w) {
  if (!(x > 0)) return 0.0;
  double sy, sz;
  spread(m, x, &sy, &sz);
  double gy = w > 0 ? lateral_segment(y, sy, w) : lateral_point(y, sy);
  if (gy == 0.0) return 0.0;
  return m->ppm_factor * gy * vertical(z, H, m->met.blh_m, sz);
}

static int receptor_inside(const cf_plume_model *m, const cf_plume_receptor *r) {
  return r->z >= 0 && r->z <= m->met.blh_m;
}

double cf_plume_point(const cf_plume_model *m, double se, double sn, double H,
                      const cf_plume_receptor *r) {
  if (!(H >= 0 && H <= m->met.blh_m)) return NAN;
  if (!receptor_inside(m, r)) return 0.0;
  double ve = r->e - se, vn = r->n - sn;
  double x = m->de * ve + m->dn * vn;
  double y = m->de * vn - m->dn * ve;
  return column(m, x, y, r->z, H, 0.0);
}

/* 3-point Gauss-Legendre on [-1, 1] */
static const double GL_X[3] = {-0.77459666924148337704, 0.0, 0.77459666924148337704};
static const double GL_W[3] = {5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0};

#define SWAP(a, b)      \
  do {                  \
    double tmp_ = (a);  \
    (a) = (b);          \
    (b) = tmp_;         \
  } while (0)

/* The crosswind extent [*lo, *hi] of the cell (side w, centred at 0) at
 * along-wind coordinate t, for travel direction (de, dn): the points
 * a = de t - dn s, b = dn t + de s with |a|, |b| <= w/2. 0 if empty. */
static int cross_section(double de, double dn, double w, double t, double *lo, double *hi) {
  double l = -INFINITY, h = INFINITY, hw = 0.5 * w;
  const double eps = 1e-12;
  /* |de t - dn s| <= w/2 */
  if (fabs(dn) > eps) {
    double s1 = (de * t - hw) / dn, s2 = (de * t + hw) / dn;
    if (s1 > s2) SWAP(s1, s2);
    if (s1 > l) l = s1;
    if (s2 < h) h = s2;
  } else if (fabs(de * t) > hw) {
    return 0;
  }
  /* |dn t + de s| <= w/2 */
  if (fabs(de) > eps) {
    double s1 = (-hw - dn * t) / de, s2 = (hw - dn * t) / de;
    if (s1 > s2) SWAP(s1, s2);
    if (s1 > l) l = s1;
    if (s2 < h) h = s2;
  } else if (fabs(dn * t) > hw) {
    return 0;
  }
  if (!(h > l)) return 0;
  *lo = l, *hi = h;
  return 1;
}

/* Along-wind step limit as a multiple of sigma_y (see slab) */
#define SIGMA_STEP 2.0

void cf_plume_vtable_init(const cf_plume_model *m, double z, double H, double x_max, cf_plume_vtable *t) {
  t->stability = m->met.stability, t->blh_m = m->met.blh_m, t->z = z, t->h_src = H, t->sz_scale = m->sz_scale;
  t->x_max = x_max > 2.0 ? x_max : 2.0;
  t->log_x0 = 0.0; /* 1 m */
  double dl = log(t->x_max) / (CF_PLUME_VTABLE_N - 1);
  t->inv_dlog = 1.0 / dl;
  for (int i = 0; i < CF_PLUME_VTABLE_N; i++) {
    double x = exp(i * dl), sy, sz;
    spread(m, x, &sy, &sz);
    double g = vertical(z, H, m->met.blh_m, sz);
    t->log_g[i] = g > 0 ? log(g) : -INFINITY;
  }
}

/* Gz at x from the table (vertical() outside it). */
static double vertical_at(const cf_plume_model *m, const cf_plume_vtable *t, double x, double z, double H,
                          double sz) {
  if (!t || !(x >= 1.0) || x >= t->x_max) return vertical(z, H, m->met.blh_m, sz);
  double u = log(x) * t->inv_dlog;
  int i = (int)u;
  if (i >= CF_PLUME_VTABLE_N - 1) i = CF_PLUME_VTABLE_N - 2;
  double f = u - i, a = t->log_g[i], b = t->log_g[i + 1];
  if (a == -INFINITY || b == -INFINITY) return vertical(z, H, m->met.blh_m, sz); /* the steep edge: exact */
  return exp(a + f * (b - a));
}

/* The integral over downwind distances [xa, xb] (0 < xa < xb) of the
 * column times the crosswind integral of the cell's cross-section, by
 * 3-point Gauss-Legendre on pieces no longer than a factor 2 in x. */
static double slab(const cf_plume_model *m, const cf_plume_vtable *vt, double x0, double y0, double z, double H,
                   double w, double xa, double xb) {
  double sum = 0;
  while (xb > xa) {
    /* pieces no longer than a factor 1.5 in x (the column varies like a
     * power of x) and than sigma_y (where the cell's cross-section is
     * narrower than the plume, the crosswind capture rises from 0 to 1
     * within a few sigma_y: a step that 3 nodes must not straddle) */
    double sy_lo, sz_lo;
    spread(m, xb / 1.5, &sy_lo, &sz_lo);
    double step = xb - xb / 1.5;
    if (SIGMA_STEP * sy_lo < step) step = SIGMA_STEP * sy_lo;
    double lo = xb - step > xa ? xb - step : xa;
    double half = 0.5 * (xb - lo), mid = 0.5 * (xb + lo);
    for (int k = 0; k < 3; k++) {
      double x = mid + half * GL_X[k], t = x0 - x, slo, shi;
      if (!cross_section(m->de, m->dn, w, t, &slo, &shi)) continue;
      double sy, sz;
      spread(m, x, &sy, &sz);
      double width = shi - slo;
      double gy = width * lateral_segment(y0 - 0.5 * (slo + shi), sy, width); /* integral of Gy over s */
      if (gy == 0.0) continue;
      sum += GL_W[k] * half * gy * vertical_at(m, vt, x, z, H, sz);
    }
    xb = lo;
  }
  return sum;
}

/* The nearest downwind distance integrated: below it the receptor sees
 * nothing of a ground-level cell part unless it sits on the ground. */
#define X_FLOOR_M 1.0

static double cell_ppm(const cf_plume_model *m, const cf_plume_vtable *vt, const cf_plume_cell *c, double H,
                       const cf_plume_receptor *r) {
  if (!(H >= 0 && H <= m->met.blh_m)) return NAN;
  if (!receptor_inside(m, r)) return 0.0;
  double w = sqrt(c->area_m2);
  double ve = r->e - c->e, vn = r->n - c->n;
  double x0 = m->de * ve + m->dn * vn, y0 = m->de * vn - m->dn * ve;
  double ext = 0.5 * w * (fabs(m->de) + fabs(m->dn)); /* along-wind half extent of the square */
  if (x0 + ext <= 0) return 0.0; /* the whole cell is downwind of the gate */
  /* pieces between the corners' along-wind coordinates, where the
   * cross-section's edges are linear in t */
  double tc[4] = {0.5 * w * (m->de + m->dn), 0.5 * w * (m->de - m->dn), -0.5 * w * (m->de - m->dn),
                  -0.5 * w * (m->de + m->dn)};
  for (int i = 1; i < 4; i++) /* sort ascending */
    for (int j = i; j > 0 && tc[j - 1] > tc[j]; j--) {
      double tmp = tc[j];
      tc[j] = tc[j - 1], tc[j - 1] = tmp;
    }
  double sum = 0;
  for (int k = 0; k < 3; k++) {
    if (!(tc[k + 1] > tc[k])) continue;
    double xa = x0 - tc[k + 1], xb = x0 - tc[k]; /* x = x0 - t */
    if (xb <= 0) continue;
    if (xa < X_FLOOR_M) xa = xb > X_FLOOR_M ? X_FLOOR_M : 0.5 * xb;
    sum += slab(m, vt, x0, y0, r->z, H, w, xa, xb);
  }
  return m->ppm_factor * sum / c->area_m2;
}

double cf_plume_cell_ppm(const cf_plume_model *m, const cf_plume_cell *c, double H, const cf_plume_receptor *r) {
  return cell_ppm(m, NULL, c, H, r);
}

/* The far-cell rule (plume.h): where to use it. Each factor of the
 * integrand must be smooth on the scale of the cell side w, judged by the
 * sixth-derivative error term of the 3-point Gauss-Legendre rule,
 * w^7 f^(6) / 2016000 on an interval of length w:
 *  - crosswind, Gy = N(y; sigma_y): relative error
 *    (w/sigma_y)^6 |He6(u)| / 2016000 at u = y/sigma_y, |He6(u)| <= 15 +
 *    u^6 (He6 = u^6 - 15u^4 + 45u^2 - 15); required below FAR_ERR with
 *    sigma_y the narrowest over the cell and u at its centre;
 *  - along-wind, a power law x^-p (p <= 2 for Gy Gz): (w/x)^6 5040 /
 *    2016000, below 4e-6 once the nearest point is FAR_X_CELLS sides away;
 *  - Gz, which can rise steeply where the plume first reaches the gate's
 *    height: its change across the cell stays within a factor e^FAR_LOG_GZ.
 * The test measures the rule against the exact integration over thousands
 * of random cells (test_plume, far_cell_rule). */
#define FAR_X_CELLS 3.0
#define FAR_LOG_GZ 0.5
#define FAR_ERR 1e-4

double cf_plume_cell_ppm_far(const cf_plume_model *m, const cf_plume_vtable *t, const cf_plume_cell *c,
                             const cf_plume_receptor *r) {
  if (t->stability != m->met.stability || t->blh_m != m->met.blh_m || t->sz_scale != m->sz_scale || t->z != r->z) return NAN;
  if (!receptor_inside(m, r)) return NAN;
  double w = sqrt(c->area_m2), hw = 0.5 * w;
  double ve = r->e - c->e, vn = r->n - c->n;
  double x0 = m->de * ve + m->dn * vn, y0 = m->de * vn - m->dn * ve;
  double ext = hw * (fabs(m->de) + fabs(m->dn));
  double xn = x0 - ext, xf = x0 + ext;
  if (!(xn >= FAR_X_CELLS * w) || !(xf < t->x_max)) return NAN;
  double sy_n, sz_n, sy_c, sz_c, sy_f, sz_f;
  spread(m, xn, &sy_n, &sz_n);
  spread(m, x0, &sy_c, &sz_c);
  double q = w / sy_n, u = y0 / sy_c, q2 = q * q, u2 = u * u;
  if (q2 * q2 * q2 * (15.0 + u2 * u2 * u2) / 2016000.0 > FAR_ERR) return NAN;
  spread(m, xf, &sy_f, &sz_f);
  double gn = vertical_at(m, t, xn, r->z, t->h_src, sz_n), gf = vertical_at(m, t, xf, r->z, t->h_src, sz_f);
  if (!(gn > 0 && gf > 0) || fabs(log(gf / gn)) > FAR_LOG_GZ) return NAN;
  double sum = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      /* the node (c.e + hw GL_X[i], c.n + hw GL_X[j]) seen from the receptor */
      double x = x0 - hw * (m->de * GL_X[i] + m->dn * GL_X[j]);
      double y = y0 - hw * (m->de * GL_X[j] - m->dn * GL_X[i]);
      double sy, sz;
      spread(m, x, &sy, &sz);
      sum += GL_W[i] * GL_W[j] * lateral_point(y, sy) * vertical_at(m, t, x, r->z, t->h_src, sz);
    }
  return m->ppm_factor * 0.25 * sum; /* the weights sum to 2 x 2: the mean over the square */
}

double cf_plume_cell_ppm_vt(const cf_plume_model *m, const cf_plume_vtable *t, const cf_plume_cell *c,
                            const cf_plume_receptor *r) {
  if (t->stability != m->met.stability || t->blh_m != m->met.blh_m || t->sz_scale != m->sz_scale || t->z != r->z) return cell_ppm(m, NULL, c, t->h_src, r);
  double far = cf_plume_cell_ppm_far(m, t, c, r);
  return isnan(far) ? cell_ppm(m, t, c, t->h_src, r) : far;
}

double cf_plume_area(const cf_plume_model *m, const cf_plume_cell *cells, int n_cells, double H,
                     const cf_plume_receptor *r) {
  double num = 0, den = 0;
  for (int i = 0; i < n_cells; i++) {
    num += cells[i].area_m2 * cf_plume_cell_ppm(m, &cells[i], H, r);
    den += cells[i].area_m2;
  }
  return den > 0 ? num / den : NAN;
}

/* --- polygon gridding --------------------------------------------------------
 * Sutherland-Hodgman clipping against axis-parallel half-planes. Clipping a
 * simple (even concave) polygon by a convex window may leave zero-width
 * bridges along the window's edges; they have no area, so areas and
 * centroids come out right. One clip at most doubles the vertex count
 * (every output vertex is an inside vertex or a crossing, at most one of
 * each per input edge). */

typedef struct {
  double *x, *y;
} pts;

/* keep side: axis 0 = x, 1 = y; sign +1 keeps coord >= v, -1 keeps <= v */
static int clip(const pts in, int n, pts out, int axis, double v, double sign) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    int j = (i + 1) % n;
    double ci = axis ? in.y[i] : in.x[i], cj = axis ? in.y[j] : in.x[j];
    int ini = sign * (ci - v) >= 0, inj = sign * (cj - v) >= 0;
    if (ini) {
      out.x[k] = in.x[i];
      out.y[k] = in.y[i];
      k++;
    }
    if (ini != inj) {
      double t = (v - ci) / (cj - ci);
      double px = in.x[i] + t * (in.x[j] - in.x[i]), py = in.y[i] + t * (in.y[j] - in.y[i]);
      if (axis)
        py = v;
      else
        px = v;
      out.x[k] = px;
      out.y[k] = py;
      k++;
    }
  }
  return k;
}

/* signed area and area-weighted centroid sums, relative to (ox, oy) */
static double shoelace(const pts p, int n, double ox, double oy, double *cx, double *cy) {
  double a2 = 0, sx = 0, sy = 0;
  for (int i = 0; i < n; i++) {
    int j = (i + 1) % n;
    double xi = p.x[i] - ox, yi = p.y[i] - oy, xj = p.x[j] - ox, yj = p.y[j] - oy;
    double cr = xi * yj - xj * yi;
    a2 += cr;
    sx += (xi + xj) * cr;
    sy += (yi + yj) * cr;
  }
  double a = 0.5 * a2;
  if (a != 0) {
    *cx = ox + sx / (6.0 * a);
    *cy = oy + sy / (6.0 * a);
  } else {
    *cx = ox;
    *cy = oy;
  }
  return a;
}

#define GRID_MAX_CELLS 100000000.0 /* refuse grids of more than 1e8 candidate cells */

int cf_plume_grid_polygon(cf_ctx *ctx, const double *ve, const double *vn, int nv, double res,
                          cf_plume_cell *cells, int cap, int *n_cells, double *area_m2) {
  static const char *const where = "area source grid";
  if (!n_cells) return cf_error(ctx, CF_EINVAL, where, "n_cells", "no output");
  *n_cells = 0;
  if (!ve || !vn || nv < 3)
    return cf_error(ctx, CF_EINVAL, where, "polygon", "needs at least 3 vertices, got %d", nv);
  if (!isfinite(res) || !(res > 0))
    return cf_error(ctx, CF_EINVAL, where, "resolution", "%g m is not a positive length", res);
  double x0 = ve[0], x1 = ve[0], y0 = vn[0], y1 = vn[0];
  for (int i = 0; i < nv; i++) {
    if (!isfinite(ve[i]) || !isfinite(vn[i]))
      return cf_error(ctx, CF_EINVAL, where, "polygon", "vertex %d is not finite", i);
    x0 = fmin(x0, ve[i]);
    x1 = fmax(x1, ve[i]);
    y0 = fmin(y0, vn[i]);
    y1 = fmax(y1, vn[i]);
  }
  double gx0 = floor(x0 / res), gy0 = floor(y0 / res);
  double gnx = ceil(x1 / res) - gx0, gny = ceil(y1 / res) - gy0;
  if (gnx < 1) gnx = 1;
  if (gny < 1) gny = 1;
  if (gnx * gny > GRID_MAX_CELLS)
    return cf_error(ctx, CF_EINVAL, where, "resolution",
                    "%g m gives %.0f x %.0f cells over the polygon's extent (limit %.0f)", res, gnx,
                    gny, GRID_MAX_CELLS);
  int nx = (int)gnx, ny = (int)gny;

  /* scratch: input copy, strip (<= 4 nv after two clips), cell (<= 16 nv) */
  size_t cap_pts = (size_t)nv * 16 + 16;
  double *buf = malloc(sizeof(double) * 2 * (nv + 3 * cap_pts));
  if (!buf) return cf_error(ctx, CF_ENOMEM, where, "scratch", "no memory for %d vertices", nv);
  pts poly = {buf, buf + nv};
  pts s1 = {poly.y + nv, poly.y + nv + cap_pts};
  pts s2 = {s1.y + cap_pts, s1.y + 2 * cap_pts};
  pts s3 = {s2.y + cap_pts, s2.y + 2 * cap_pts};
  memcpy(poly.x, ve, sizeof(double) * nv);
  memcpy(poly.y, vn, sizeof(double) * nv);

  double cxd, cyd;
  double total = shoelace(poly, nv, x0, y0, &cxd, &cyd);
  if (!(fabs(total) > 0)) {
    free(buf);
    return cf_error(ctx, CF_EINVAL, where, "polygon", "has no area");
  }
  double orient = total > 0 ? 1.0 : -1.0; /* clockwise polygons give negative areas */
  double min_area = 1e-12 * res * res;

  int count = 0, rc = CF_OK;
  for (int j = 0; j < ny; j++) {
    double ya = (gy0 + j) * res, yb = (gy0 + j + 1) * res;
    int n1 = clip(poly, nv, s1, 1, ya, +1);
    int n2 = n1 ? clip(s1, n1, s2, 1, yb, -1) : 0;
    if (n2 < 3) continue;
    for (int i = 0; i < nx; i++) {
      double xa = (gx0 + i) * res, xb = (gx0 + i + 1) * res;
      int n3 = clip(s2, n2, s3, 0, xa, +1);
      int n4 = n3 ? clip(s3, n3, s1, 0, xb, -1) : 0; /* s1 is free again */
      if (n4 < 3) continue;
      double cx, cy;
      double a = orient * shoelace(s1, n4, xa, ya, &cx, &cy);
      if (!(a > min_area)) continue;
      if (cells) {
        if (count < cap) {
          cells[count].e = cx;
          cells[count].n = cy;
          cells[count].area_m2 = a;
        } else {
          rc = CF_EINVAL;
        }
      }
      count++;
    }
  }
  free(buf);
  *n_cells = count;
  if (area_m2) *area_m2 = fabs(total);
  if (rc != CF_OK)
    return cf_error(ctx, rc, where, "cells", "room for %d cells, the polygon needs %d", cap, count);
  return CF_OK;
}

/* --- the Jacobian -------------------------------------------------------------- */

static int check_sources(cf_ctx *ctx, const cf_plume_model *m, const cf_plume_source *src,
                         int n_src) {
  char f[64];
  for (int j = 0; j < n_src; j++) {
    const cf_plume_source *s = &src[j];
    snprintf(f, sizeof f, "sources[%d]", j);
    if (!isfinite(s->height_m) || s->height_m < 0 || s->height_m > m->met.blh_m)
      return cf_error(ctx, CF_EINVAL, WHERE, f,
                      "release height %g m is not within the boundary layer [0, %g] m",
                      s->height_m, m->met.blh_m);
    if (s->kind == CF_PLUME_POINT) {
      if (!isfinite(s->e) || !isfinite(s->n))
        return cf_error(ctx, CF_EINVAL, WHERE, f, "position is not finite");
    } else if (s->kind == CF_PLUME_AREA) {
      if (!s->cells || s->n_cells < 1)
        return cf_error(ctx, CF_EINVAL, WHERE, f, "an area source without cells");
      for (int i = 0; i < s->n_cells; i++) {
        const cf_plume_cell *c = &s->cells[i];
        if (!isfinite(c->e) || !isfinite(c->n) || !isfinite(c->area_m2) || !(c->area_m2 > 0))
          return cf_error(ctx, CF_EINVAL, WHERE, f,
                          "cell %d: position not finite or area %g m^2 not positive", i,
                          c->area_m2);
      }
    } else {
      return cf_error(ctx, CF_EINVAL, WHERE, f, "unknown kind %d", (int)s->kind);
    }
  }
  return CF_OK;
}

int cf_plume_jacobian(cf_ctx *ctx, const cf_plume_model *m, const cf_plume_receptor *rec, int n_rec,
                      const cf_plume_source *src, int n_src, double *H, size_t ld) {
  if (!m) return cf_error(ctx, CF_EINVAL, WHERE, "model", "none");
  if (n_rec < 0 || n_src < 0 || (n_rec > 0 && !rec) || (n_src > 0 && !src))
    return cf_error(ctx, CF_EINVAL, WHERE, "sizes", "%d receptors, %d sources", n_rec, n_src);
  if (n_rec == 0 || n_src == 0) return CF_OK;
  if (!H || ld < (size_t)n_src)
    return cf_error(ctx, CF_EINVAL, WHERE, "H", "no output, or leading dimension %zu < %d sources",
                    ld, n_src);
  /* a model not made by cf_plume_model_init (or changed since) */
  if (!(m->met.blh_m > 0) || !(m->ppm_factor > 0) || m->met.stability < CF_STAB_A ||
      m->met.stability > CF_STAB_F)
    return cf_error(ctx, CF_EINVAL, WHERE, "model", "not initialised by cf_plume_model_init");
  for (int i = 0; i < n_rec; i++)
    if (!isfinite(rec[i].e) || !isfinite(rec[i].n) || !isfinite(rec[i].z))
      return cf_error(ctx, CF_EINVAL, WHERE, "receptors", "receptor %d is not finite", i);
  int rc = check_sources(ctx, m, src, n_src);
  if (rc) return rc;

  int nt = cf_get_threads(ctx);
  if (nt <= 0) nt = omp_get_max_threads();
  if (nt < 1) nt = 1;
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int i = 0; i < n_rec; i++) {
    double *row = H + (size_t)i * ld;
    for (int j = 0; j < n_src; j++) {
      const cf_plume_source *s = &src[j];
      row[j] = s->kind == CF_PLUME_POINT ? cf_plume_point(m, s->e, s->n, s->height_m, &rec[i])
                                         : cf_plume_area(m, s->cells, s->n_cells, s->height_m,
                                                         &rec[i]);
    }
  }
  return CF_OK;
}
