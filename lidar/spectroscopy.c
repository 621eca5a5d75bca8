/*
 * CO2 cross-sections from a line list (lidar/spectroscopy.h has the
 * equations and their sources). Every line is summed, with no wing cut-off:
 * the lists are short (81 lines in the built-in one) and a cut-off would
 * make the off-line value depend on an arbitrary choice. Lines are summed in
 * list order, so results do not depend on threads.
 */
#include "lidar/spectroscopy.h"

#include <math.h>

#include "lidar/voigt.h"

/* SI 2019 exact values, and the CODATA 2018 atomic mass constant. */
static const double SPEED_OF_LIGHT = 299792458.0;    /* m/s */
static const double BOLTZMANN = 1.380649e-23;        /* J/K */
static const double ATOMIC_MASS = 1.66053906660e-27; /* kg */
static const double LN2 = 0.69314718055994530942;

/* 12C16O2 molecular constants for the partition sum (see the header). */
static const double CO2_B = 0.39021894;   /* cm-1 */
static const double CO2_D = 1.33373e-7;   /* cm-1 */
static const double CO2_SYMMETRY = 2.0;
static const double CO2_NU_BEND = 667.4;     /* cm-1, doubly degenerate */
static const double CO2_NU_SYMMETRIC = 1388.2;
static const double CO2_NU_ASYMMETRIC = 2349.1;

/* Q(T) up to a constant factor, which cancels in every ratio. */
static double co2_partition_sum(double t_k) {
  double u = CF_C2_CM_K * CO2_B / t_k;
  double rotation = (1.0 + u / 3.0 + u * u / 15.0 + 4.0 * u * u * u / 315.0) / (CO2_SYMMETRY * u) *
                    (1.0 + 2.0 * CO2_D * t_k / (CF_C2_CM_K * CO2_B * CO2_B));
  /* 1 / (1 - exp(-c2 nu / T)) per mode; -expm1 keeps it exact for small arguments */
  double bend = -expm1(-CF_C2_CM_K * CO2_NU_BEND / t_k);
  double sym = -expm1(-CF_C2_CM_K * CO2_NU_SYMMETRIC / t_k);
  double asym = -expm1(-CF_C2_CM_K * CO2_NU_ASYMMETRIC / t_k);
  return rotation / (bend * bend * sym * asym);
}

double cf_co2_q_ratio(double t_k) {
  if (!isfinite(t_k) || !(t_k > 0)) return NAN;
  return co2_partition_sum(CF_HITRAN_T_REF) / co2_partition_sum(t_k);
}

/* S(T) given Q(296)/Q(T), which sums over many lines compute only once. */
static double intensity_at(const cf_co2_line *l, double t_k, double q) {
  double boltzmann = exp(-CF_C2_CM_K * l->e_lower * (1.0 / t_k - 1.0 / CF_HITRAN_T_REF));
  double stimulated = expm1(-CF_C2_CM_K * l->nu / t_k) / expm1(-CF_C2_CM_K * l->nu / CF_HITRAN_T_REF);
  return l->s296 * q * boltzmann * stimulated;
}

double cf_co2_line_intensity(const cf_co2_line *l, double t_k) {
  double q = cf_co2_q_ratio(t_k);
  return isnan(q) ? NAN : intensity_at(l, t_k, q);
}

static int gas_usable(const cf_gas_state *g) {
  return isfinite(g->p_pa) && isfinite(g->t_k) && isfinite(g->p_self_pa) && g->p_pa >= 0 &&
         g->t_k > 0 && g->p_self_pa >= 0 && g->p_self_pa <= g->p_pa;
}

double cf_co2_lorentz_hwhm(const cf_co2_line *l, const cf_gas_state *g) {
  if (!gas_usable(g)) return NAN;
  double p = g->p_pa / CF_ATM_PA, p_self = g->p_self_pa / CF_ATM_PA;
  return pow(CF_HITRAN_T_REF / g->t_k, l->n_air) * (l->gamma_air * (p - p_self) + l->gamma_self * p_self);
}

double cf_co2_doppler_hwhm(double nu_cm, double t_k) {
  if (!isfinite(t_k) || !(t_k > 0) || !isfinite(nu_cm)) return NAN;
  double m = CF_CO2_626_MASS_U * ATOMIC_MASS;
  return nu_cm / SPEED_OF_LIGHT * sqrt(2.0 * LN2 * BOLTZMANN * t_k / m);
}

double cf_co2_line_centre(const cf_co2_line *l, double p_pa) {
  if (!isfinite(p_pa) || !(p_pa >= 0)) return NAN;
  return l->nu + l->delta_air * p_pa / CF_ATM_PA;
}

/* One line's profile parameters at given conditions. */
typedef struct {
  double intensity; /* cm/molecule */
  double centre;    /* cm-1 */
  double alpha_d;   /* cm-1 */
  double gamma_l;   /* cm-1 */
} line_shape;

static line_shape shape_at(const cf_co2_line *l, const cf_gas_state *g, double q_ratio) {
  line_shape s;
  s.intensity = intensity_at(l, g->t_k, q_ratio);
  s.centre = cf_co2_line_centre(l, g->p_pa);
  s.alpha_d = cf_co2_doppler_hwhm(l->nu, g->t_k);
  s.gamma_l = cf_co2_lorentz_hwhm(l, g);
  return s;
}

static const double CM2_TO_M2 = 1e-4;

double cf_co2_sigma(const cf_co2_linelist *lines, double nu_cm, const cf_gas_state *g) {
  if (!lines || lines->n == 0 || !isfinite(nu_cm) || !gas_usable(g)) return NAN;
  double q = cf_co2_q_ratio(g->t_k), sum = 0.0; /* cm^2/molecule */
  for (size_t i = 0; i < lines->n; i++) {
    line_shape s = shape_at(&lines->lines[i], g, q);
    sum += s.intensity * cf_voigt_profile(nu_cm - s.centre, s.alpha_d, s.gamma_l);
  }
  return sum * CM2_TO_M2;
}

double cf_co2_dsigma(const cf_co2_linelist *lines, double nu_on_cm, double nu_off_cm,
                     const cf_gas_state *g) {
  if (!lines || lines->n == 0 || !isfinite(nu_on_cm) || !isfinite(nu_off_cm) || !gas_usable(g))
    return NAN;
  double q = cf_co2_q_ratio(g->t_k), on = 0.0, off = 0.0; /* cm^2/molecule */
  for (size_t i = 0; i < lines->n; i++) {
    line_shape s = shape_at(&lines->lines[i], g, q);
    on += s.intensity * cf_voigt_profile(nu_on_cm - s.centre, s.alpha_d, s.gamma_l);
    off += s.intensity * cf_voigt_profile(nu_off_cm - s.centre, s.alpha_d, s.gamma_l);
  }
  return (on - off) * CM2_TO_M2;
}

/* --- checked entry points ------------------------------------------------ */

int cf_gas_state_check(cf_ctx *ctx, const cf_gas_state *g, const char *where) {
  if (!where) where = "";
  int rc = CF_OK;
  if (!isfinite(g->p_pa) || !(g->p_pa >= 0))
    rc = cf_error(ctx, CF_EINVAL, where, "pressure", "must be finite and >= 0 Pa, got %g", g->p_pa);
  if (!isfinite(g->t_k) || !(g->t_k >= CF_CO2_T_MIN) || !(g->t_k <= CF_CO2_T_MAX))
    rc = cf_error(ctx, CF_EINVAL, where, "temperature",
                  "must be within %g..%g K, where the CO2 partition function is verified, got %g",
                  CF_CO2_T_MIN, CF_CO2_T_MAX, g->t_k);
  if (!isfinite(g->p_self_pa) || !(g->p_self_pa >= 0) || (isfinite(g->p_pa) && g->p_self_pa > g->p_pa))
    rc = cf_error(ctx, CF_EINVAL, where, "co2_partial_pressure",
                  "must be within 0..p (%g Pa), got %g Pa", g->p_pa, g->p_self_pa);
  return rc;
}

static int check_inputs(cf_ctx *ctx, const cf_co2_linelist *lines, const double *nu, int nnu,
                        const cf_gas_state *g) {
  int rc = CF_OK;
  if (!lines || lines->n == 0)
    rc = cf_error(ctx, CF_EINVAL, "", "lines", "the CO2 line list is empty");
  for (int i = 0; i < nnu; i++)
    if (!isfinite(nu[i]) || !(nu[i] > 0))
      rc = cf_error(ctx, CF_EINVAL, "", "wavenumber", "must be finite and > 0 cm-1, got %g", nu[i]);
  int grc = cf_gas_state_check(ctx, g, "");
  return rc != CF_OK ? rc : grc;
}

int cf_co2_sigma_checked(cf_ctx *ctx, const cf_co2_linelist *lines, double nu_cm,
                         const cf_gas_state *g, double *sigma_m2) {
  *sigma_m2 = NAN;
  int rc = check_inputs(ctx, lines, &nu_cm, 1, g);
  if (rc != CF_OK) return rc;
  *sigma_m2 = cf_co2_sigma(lines, nu_cm, g);
  return CF_OK;
}

int cf_co2_dsigma_checked(cf_ctx *ctx, const cf_co2_linelist *lines, double nu_on_cm,
                          double nu_off_cm, const cf_gas_state *g, double *dsigma_m2) {
  *dsigma_m2 = NAN;
  double nu[2] = {nu_on_cm, nu_off_cm};
  int rc = check_inputs(ctx, lines, nu, 2, g);
  if (rc != CF_OK) return rc;
  *dsigma_m2 = cf_co2_dsigma(lines, nu_on_cm, nu_off_cm, g);
  return CF_OK;
}

/* How far the list's nearest line may be from R16e's position: 0.01 cm-1 is
 * 300 MHz, far more than any list's disagreement on R16e (< 1e-5 cm-1) and far
 * less than the distance to the next line (0.10 cm-1). */
static const double R16E_MATCH_CM = 0.01;

int cf_co2_online_centre(cf_ctx *ctx, const cf_co2_linelist *lines, double p_pa, double *nu_cm) {
  *nu_cm = NAN;
  if (!isfinite(p_pa) || !(p_pa >= 0))
    return cf_error(ctx, CF_EINVAL, "", "pressure", "must be finite and >= 0 Pa, got %g", p_pa);
  const cf_co2_line *l = lines ? cf_co2_lines_nearest(lines, CF_CO2_R16E_NU) : NULL;
  if (!l || fabs(l->nu - CF_CO2_R16E_NU) > R16E_MATCH_CM)
    return cf_error(ctx, CF_EDATA, lines && lines->origin ? lines->origin : "", "nu_cm",
                    "the line list has no R16e line at %.6f cm-1 (nearest: %.6f cm-1)", CF_CO2_R16E_NU,
                    l ? l->nu : NAN);
  *nu_cm = cf_co2_line_centre(l, p_pa);
  return CF_OK;
}
