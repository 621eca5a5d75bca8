/*
 * Cross-sectional mass balance (mass_balance.h has the method and its
 * error budget). Implementation notes:
 *  - one sweep at one wind direction is sweep_rate(); the direction error
 *    calls it again at from_deg +- sigma_dir;
 *  - everything linear in the gate values (the layer means, trapezoids and
 *    the crosswind mean) is carried with its weights, so the noise variance
 *    and dQ/dchi_bg are exact for the estimator, not approximations.
 */
#include "lidar/flux/mass_balance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/flux/geometry.h"

#define WHERE "mass_balance"
#define T_PER_H_PER_MOL_S 0.158434

typedef struct {
  double y, z, v, var;
  int bin;
} mb_gate;

typedef struct {
  double rate, alt_rate; /* t/h, with the chosen and the other extrapolation rule */
  double var_noise;      /* (t/h)^2 */
  double dq_dbg;         /* t/h per ppm of background */
  double sigma_bg_ppm, bg_ppm;
  int n_gates;
} sweep_out;

void cf_mass_balance_defaults(cf_mb_settings *s) {
  memset(s, 0, sizeof *s);
  s->bg_rule = CF_MB_BG_MEDIAN;
  s->bg_percentile = 50;
  s->extrap = CF_MB_EXTRAP_CONSTANT;
  s->bin_m = 100;
  s->layer_gap_m = 50;
  s->min_gates = 20;
  s->min_bg_gates = 10;
  s->min_coverage = 0.6;
}

static int n_bins_of(const cf_mb_settings *s) {
  return (int)ceil(2 * s->window_half_m / s->bin_m);
}

size_t cf_mass_balance_work_size(size_t n_obs, const cf_mb_settings *s) {
  size_t nb = (s && s->bin_m > 0 && s->window_half_m > 0) ? (size_t)n_bins_of(s) : 0;
  return (n_obs + 1) * sizeof(mb_gate) + 2 * (n_obs + 1) * sizeof(double) +
         4 * (nb + 1) * sizeof(double);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_gate(const void *a, const void *b) {
  const mb_gate *g = a, *h = b;
  if (g->bin != h->bin) return (g->bin > h->bin) - (g->bin < h->bin);
  return (g->z > h->z) - (g->z < h->z);
}

/* Percentile p (0..100) of sorted v[n] by linear interpolation. */
static double percentile_sorted(const double *v, size_t n, double p) {
  if (n == 1) return v[0];
  double r = p / 100.0 * (double)(n - 1);
  size_t i = (size_t)floor(r);
  if (i >= n - 1) return v[n - 1];
  double f = r - (double)i;
  return v[i] + f * (v[i + 1] - v[i]);
}

static double speed_at(const cf_mb_wind *w, double z) {
  if (w->n_profile < 2) return w->speed_ms;
  const double *zz = w->profile_z_m, *uu = w->profile_speed_ms;
  int n = w->n_profile;
  if (z <= zz[0]) return uu[0];
  if (z >= zz[n - 1]) return uu[n - 1];
  int k = 0;
  while (k < n - 2 && z > zz[k + 1]) k++;
  double f = (z - zz[k]) / (zz[k + 1] - zz[k]);
  return uu[k] + f * (uu[k + 1] - uu[k]);
}

/* Median of sorted v[n] and its standard error (1.2533 * 1.4826 MAD /
 * sqrt(n)); tmp[n] scratch. */
static void median_se(const double *v, size_t n, double *tmp, double *med, double *se) {
  *med = percentile_sorted(v, n, 50);
  for (size_t i = 0; i < n; i++) tmp[i] = fabs(v[i] - *med);
  qsort(tmp, n, sizeof *tmp, cmp_double);
  double mad = percentile_sorted(tmp, n, 50);
  *se = 1.2533 * 1.4826 * mad / sqrt((double)n);
}

/* One sweep. Returns 1 and out, or 0 and a reason. */
static int sweep_rate(const cf_mb_obs *obs, size_t n_obs, int sweep, const cf_mb_wind *w,
                      double from_deg, const cf_mb_settings *s, void *work, sweep_out *out,
                      char *reason) {
  const double hw = s->window_half_m;
  const int nb = n_bins_of(s);
  mb_gate *g = work;
  double *bg = (double *)(g + n_obs + 1);
  double *tmp = bg + n_obs + 1;
  double *col = tmp + n_obs + 1, *alt = col + nb + 1, *var = alt + nb + 1, *dq = var + nb + 1;

  /* Another listed source whose plume crosses the window. */
  double xo[64], yo[64];
  int no = s->n_other < 64 ? s->n_other : 64;
  for (int k = 0; k < no; k++) {
    cf_geo_wind_frame(from_deg, s->source_e, s->source_n, s->other_e[k], s->other_n[k], &xo[k],
                      &yo[k]);
    if (xo[k] < s->x_max_m && fabs(yo[k]) < 2 * hw) {
      snprintf(reason, CF_MB_REASON_LEN,
               "other source %d (%.0f m downwind, %.0f m crosswind of this one) has its plume "
               "within the window: cannot isolate",
               k, xo[k], yo[k]);
      return 0;
    }
  }

  size_t ng = 0, n_left = 0, n_right = 0, n_band = 0;
  /* left values fill bg from the front, right values tmp from the front */
  for (size_t i = 0; i < n_obs; i++) {
    const cf_mb_obs *o = &obs[i];
    if (o->sweep != sweep || o->height_m > s->blh_m) continue;
    double x, y;
    cf_geo_wind_frame(from_deg, s->source_e, s->source_n, o->east_m, o->north_m, &x, &y);
    if (x < s->x_min_m || x > s->x_max_m) continue;
    n_band++;
    if (fabs(y) < hw) {
      int b = (int)floor((y + hw) / s->bin_m);
      if (b < 0) b = 0;
      if (b >= nb) b = nb - 1;
      g[ng++] = (mb_gate){y, o->height_m > 0 ? o->height_m : 0, o->value_ppm,
                          o->sigma_ppm * o->sigma_ppm, b};
      continue;
    }
    if (s->bg_outer_m > 0 && fabs(y) > s->bg_outer_m) continue;
    int in_other = 0;
    for (int k = 0; k < no && !in_other; k++)
      in_other = (x - xo[k] > 0 && fabs(y - yo[k]) < hw);
    if (in_other) continue;
    if (y > 0)
      bg[n_left++] = o->value_ppm;
    else
      tmp[n_right++] = o->value_ppm;
  }
  if (n_band == 0 || ng == 0) {
    snprintf(reason, CF_MB_REASON_LEN,
             "no gate in the window |y| < %.0f m of the band %.0f..%.0f m downwind (%zu in the "
             "band): the plume is not in the scanned sector",
             hw, s->x_min_m, s->x_max_m, n_band);
    return 0;
  }
  if (ng < (size_t)s->min_gates) {
    snprintf(reason, CF_MB_REASON_LEN, "too few gates in the window: %zu < %d", ng,
             s->min_gates);
    return 0;
  }
  size_t nbg = n_left + n_right;
  if (nbg < (size_t)s->min_bg_gates) {
    snprintf(reason, CF_MB_REASON_LEN, "too few background gates: %zu < %d", nbg,
             s->min_bg_gates);
    return 0;
  }
  /* Side medians, then all together (left at bg[0..n_left), right appended). */
  double med_l = NAN, med_r = NAN;
  qsort(bg, n_left, sizeof *bg, cmp_double);
  qsort(tmp, n_right, sizeof *tmp, cmp_double);
  if (n_left > 0) med_l = percentile_sorted(bg, n_left, 50);
  if (n_right > 0) med_r = percentile_sorted(tmp, n_right, 50);
  memcpy(bg + n_left, tmp, n_right * sizeof *bg);
  qsort(bg, nbg, sizeof *bg, cmp_double);
  double med, se;
  median_se(bg, nbg, tmp, &med, &se);
  double chi_bg = s->bg_rule == CF_MB_BG_PERCENTILE ? percentile_sorted(bg, nbg, s->bg_percentile)
                                                    : med;
  double sig_bg = se;
  size_t half_min = (size_t)(s->min_bg_gates / 2);
  if (n_left >= half_min && n_right >= half_min && n_left > 0 && n_right > 0)
    sig_bg = hypot(se, 0.5 * (med_l - med_r));

  /* Columns per bin. */
  for (int b = 0; b < nb; b++) col[b] = alt[b] = var[b] = dq[b] = NAN;
  qsort(g, ng, sizeof *g, cmp_gate);
  int filled = 0;
  const double H = s->blh_m;
  for (size_t i = 0; i < ng;) {
    int b = g[i].bin;
    size_t j = i;
    while (j < ng && g[j].bin == b) j++;
    /* Layers of gates i..j-1 (sorted by height), compacted in place into
     * g[i .. i+L): y unused, z mean height, v mean enhancement, var its
     * variance. */
    size_t L = 0;
    for (size_t k = i; k < j;) {
      size_t m = k + 1;
      while (m < j && g[m].z - g[m - 1].z <= s->layer_gap_m) m++;
      double zs = 0, cs = 0, vs = 0;
      for (size_t q = k; q < m; q++) zs += g[q].z, cs += g[q].v - chi_bg, vs += g[q].var;
      double nl = (double)(m - k);
      g[i + L].z = zs / nl;
      g[i + L].v = cs / nl;
      g[i + L].var = vs / (nl * nl);
      L++;
      k = m;
    }
    /* Weight w_l of each layer in the column sum_l w_l c_l (m^2/s):
     * ground piece z_1 u(z_1/2) to layer 1, trapezoid halves h u_l to both
     * ends of each gap, the top piece to layer L. */
    double c_in = 0, d_in = 0, v_in = 0, c_top = 0, top_c = 0, top_z = 0;
    for (size_t l = 0; l < L; l++) {
      const mb_gate *y = &g[i + l];
      double wl = 0, ul = speed_at(w, y->z);
      if (l == 0) wl += y->z * speed_at(w, 0.5 * y->z);
      if (l > 0) wl += 0.5 * (y->z - g[i + l - 1].z) * ul;
      if (l + 1 < L) wl += 0.5 * (g[i + l + 1].z - y->z) * ul;
      if (l + 1 == L) {
        double umid = speed_at(w, 0.5 * (y->z + H));
        top_c = (H - y->z) * umid;
        top_z = 0.5 * (H - y->z) * umid;
        c_top = y->v;
        double wt = wl + (s->extrap == CF_MB_EXTRAP_CONSTANT ? top_c : top_z);
        v_in += wt * wt * y->var;
      } else {
        v_in += wl * wl * y->var;
      }
      c_in += wl * y->v;
      d_in += wl;
    }
    double c_const = c_in + c_top * top_c, c_zero = c_in + c_top * top_z;
    if (s->extrap == CF_MB_EXTRAP_CONSTANT) {
      col[b] = c_const, alt[b] = c_zero, dq[b] = d_in + top_c;
    } else {
      col[b] = c_zero, alt[b] = c_const, dq[b] = d_in + top_z;
    }
    var[b] = v_in;
    filled++;
    i = j;
  }
  if ((double)filled < s->min_coverage * nb) {
    snprintf(reason, CF_MB_REASON_LEN,
             "too few gates across the window: %d of %d crosswind bins filled (< %.0f %%)", filled,
             nb, 100 * s->min_coverage);
    return 0;
  }
  double sc = 0, sa = 0, sv = 0, sd = 0;
  for (int b = 0; b < nb; b++) {
    if (isnan(col[b])) continue;
    sc += col[b], sa += alt[b], sv += var[b], sd += dq[b];
  }
  /* mol/s = n_air * 1e-6 * (2 hw / filled) * sum; to t/h */
  double f = s->n_air_mol_m3 * 1e-6 * (2 * hw / filled) * T_PER_H_PER_MOL_S;
  out->rate = f * sc;
  out->alt_rate = f * sa;
  out->var_noise = f * f * sv;
  out->dq_dbg = f * sd; /* Q = f * sum(w (v - bg)): dQ/dbg = -f sum w; magnitude kept */
  out->sigma_bg_ppm = sig_bg;
  out->bg_ppm = chi_bg;
  out->n_gates = (int)ng;
  return 1;
}

int cf_mass_balance(cf_ctx *ctx, const cf_mb_obs *obs, size_t n_obs, const cf_mb_wind *winds,
                    int n_sweeps, const cf_mb_settings *s, void *work, size_t work_bytes,
                    cf_mb_result *out) {
  if (!s || !out || !winds || (!obs && n_obs > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "input", "missing input or output");
  if (n_sweeps < 1 || n_sweeps > CF_MB_MAX_SWEEPS)
    return cf_error(ctx, CF_EINVAL, WHERE, "n_sweeps", "must be 1..%d, got %d", CF_MB_MAX_SWEEPS,
                    n_sweeps);
  if (!(isfinite(s->source_e) && isfinite(s->source_n)))
    return cf_error(ctx, CF_EINVAL, WHERE, "source", "position not finite");
  if (!(s->x_min_m > 0 && s->x_max_m > s->x_min_m && isfinite(s->x_max_m)))
    return cf_error(ctx, CF_EINVAL, WHERE, "band", "need 0 < x_min < x_max, got %g, %g",
                    s->x_min_m, s->x_max_m);
  if (!(s->window_half_m > 0 && isfinite(s->window_half_m)))
    return cf_error(ctx, CF_EINVAL, WHERE, "window_half_m", "must be > 0, got %g",
                    s->window_half_m);
  if (!(s->bin_m > 0 && s->bin_m <= s->window_half_m))
    return cf_error(ctx, CF_EINVAL, WHERE, "bin_m", "must be in (0, window_half], got %g",
                    s->bin_m);
  if (!(s->layer_gap_m > 0))
    return cf_error(ctx, CF_EINVAL, WHERE, "layer_gap_m", "must be > 0, got %g", s->layer_gap_m);
  if (!(s->n_air_mol_m3 > 0 && isfinite(s->n_air_mol_m3)))
    return cf_error(ctx, CF_EINVAL, WHERE, "n_air_mol_m3", "must be > 0, got %g", s->n_air_mol_m3);
  if (!(s->blh_m > 0 && isfinite(s->blh_m)))
    return cf_error(ctx, CF_EINVAL, WHERE, "blh_m", "must be > 0, got %g", s->blh_m);
  if (s->min_gates < 1 || s->min_bg_gates < 2)
    return cf_error(ctx, CF_EINVAL, WHERE, "min_gates", "need min_gates >= 1, min_bg_gates >= 2");
  if (!(s->min_coverage > 0 && s->min_coverage <= 1))
    return cf_error(ctx, CF_EINVAL, WHERE, "min_coverage", "must be in (0, 1], got %g",
                    s->min_coverage);
  if (s->bg_rule == CF_MB_BG_PERCENTILE && !(s->bg_percentile > 0 && s->bg_percentile < 100))
    return cf_error(ctx, CF_EINVAL, WHERE, "bg_percentile", "must be in (0, 100), got %g",
                    s->bg_percentile);
  if (s->n_other < 0 || s->n_other > 64 || (s->n_other > 0 && (!s->other_e || !s->other_n)))
    return cf_error(ctx, CF_EINVAL, WHERE, "n_other", "0..64 other sources with positions");
  for (int k = 0; k < n_sweeps; k++) {
    const cf_mb_wind *w = &winds[k];
    if (!(w->speed_ms > 0 && isfinite(w->speed_ms) && isfinite(w->from_deg) &&
          w->sigma_speed_ms >= 0 && w->sigma_dir_deg >= 0 && w->n_profile >= 0))
      return cf_error(ctx, CF_EINVAL, WHERE, "wind", "sweep %d: bad speed, direction or sigma",
                      k);
    if (w->n_profile == 1 || (w->n_profile >= 2 && (!w->profile_z_m || !w->profile_speed_ms)))
      return cf_error(ctx, CF_EINVAL, WHERE, "wind", "sweep %d: a profile needs >= 2 levels", k);
    for (int i = 0; i < w->n_profile; i++)
      if (!(w->profile_speed_ms[i] > 0) || (i > 0 && !(w->profile_z_m[i] > w->profile_z_m[i - 1])))
        return cf_error(ctx, CF_EINVAL, WHERE, "wind",
                        "sweep %d: profile level %d: speeds > 0, heights increasing", k, i);
  }
  for (size_t i = 0; i < n_obs; i++) {
    const cf_mb_obs *o = &obs[i];
    if (o->sweep < 0 || o->sweep >= n_sweeps || !isfinite(o->east_m) || !isfinite(o->north_m) ||
        !isfinite(o->height_m) || !isfinite(o->value_ppm) || !(o->sigma_ppm > 0))
      return cf_error(ctx, CF_EINVAL, WHERE, "obs", "observation %zu: bad sweep, position, value "
                      "or sigma", i);
  }
  if (!work || work_bytes < cf_mass_balance_work_size(n_obs, s))
    return cf_error(ctx, CF_EINVAL, WHERE, "work", "need %zu bytes of workspace",
                    cf_mass_balance_work_size(n_obs, s));

  memset(out, 0, sizeof *out);
  out->n_sweeps = n_sweeps;
  double sum = 0, var_noise = 0, var_bg = 0, wind_speed = 0, extrap = 0;
  int dir_any = 0;
  double dir_plus = 0, dir_minus = 0; /* sums over sweeps of the signed changes */
  int used = 0;
  char reason[CF_MB_REASON_LEN] = "";
  for (int k = 0; k < n_sweeps; k++) {
    sweep_out so;
    char r[CF_MB_REASON_LEN];
    out->sweep_rate_t_h[k] = NAN;
    out->sweep_bg_ppm[k] = NAN;
    if (!sweep_rate(obs, n_obs, k, &winds[k], winds[k].from_deg, s, work, &so, r)) {
      if (!reason[0]) snprintf(reason, sizeof reason, "sweep %d: %.200s", k, r);
      continue;
    }
    const cf_mb_wind *w = &winds[k];
    double ws = so.rate * w->sigma_speed_ms / w->speed_ms;
    if (w->sigma_dir_deg > 0) {
      sweep_out sp, sm;
      int okp = sweep_rate(obs, n_obs, k, w, w->from_deg + w->sigma_dir_deg, s, work, &sp, r);
      int okm = sweep_rate(obs, n_obs, k, w, w->from_deg - w->sigma_dir_deg, s, work, &sm, r);
      /* a side that loses the plume counts as losing all of it */
      dir_any = 1;
      dir_plus += okp ? sp.rate - so.rate : -so.rate;
      dir_minus += okm ? sm.rate - so.rate : -so.rate;
    }
    out->sweep_rate_t_h[k] = so.rate;
    out->sweep_bg_ppm[k] = so.bg_ppm;
    out->sweep_n_gates[k] = so.n_gates;
    sum += so.rate;
    var_noise += so.var_noise;
    var_bg += pow(so.dq_dbg * so.sigma_bg_ppm, 2);
    wind_speed += ws;
    extrap += 0.5 * fabs(so.rate - so.alt_rate);
    used++;
  }
  out->n_used = used;
  if (used == 0) {
    out->isolated = 0;
    snprintf(out->reason, sizeof out->reason, "%.240s", reason);
    out->rate_t_h = out->sigma_t_h = NAN;
    out->sigma_wind_t_h = out->sigma_bg_t_h = out->sigma_noise_t_h = NAN;
    out->sigma_extrap_t_h = out->sigma_spread_t_h = NAN;
    return CF_OK;
  }
  double n = used, mean = sum / n;
  out->isolated = 1;
  if (used < n_sweeps) snprintf(out->reason, sizeof out->reason, "left out: %.200s", reason);
  out->rate_t_h = mean;
  out->sigma_noise_t_h = sqrt(var_noise) / n;
  out->sigma_bg_t_h = sqrt(var_bg) / n;
  /* Wind errors fully correlated between sweeps: the terms of the mean
   * rate come from the means of the per-sweep changes (signed, so that the
   * noise of the gates moving in and out of the window averages down). The
   * direction term is the curvature one, sqrt(3) |b| sigma^2 with
   * b sigma^2 = (Q+ + Q- - 2 Q) / 2: see mass_balance.h. */
  double curv = 0.5 * (dir_plus + dir_minus) / n; /* b sigma^2, t/h */
  /* its noise: the re-binned sweeps carry partly new noise; var of
   * (Q+ + Q- - 2Q)/2 <= (1 + 1 + 4) / 4 var(Q) = 1.5 var(Q): removed */
  double curv2 = fmax(0, curv * curv - (dir_any ? 1.5 * var_noise / (n * n) : 0));
  out->sigma_wind_t_h = hypot(wind_speed / n, sqrt(3.0 * curv2));
  out->sigma_extrap_t_h = extrap / n;
  double ss = 0; /* two passes: identical sweeps give exactly 0 */
  for (int k = 0; k < n_sweeps; k++)
    if (!isnan(out->sweep_rate_t_h[k])) ss += pow(out->sweep_rate_t_h[k] - mean, 2);
  out->sigma_spread_t_h = used >= 2 ? sqrt(ss / (n - 1) / n) : 0;
  double rnd = fmax(hypot(out->sigma_noise_t_h, out->sigma_bg_t_h), out->sigma_spread_t_h);
  out->sigma_t_h = sqrt(out->sigma_wind_t_h * out->sigma_wind_t_h +
                        out->sigma_extrap_t_h * out->sigma_extrap_t_h + rnd * rnd);
  return CF_OK;
}
