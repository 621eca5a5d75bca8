/*
 * The spec's atmosphere above the site (lidar/atmosphere.h): formulas only,
 * each written as the spec writes it so that a reviewer can compare them
 * line by line with lidar-l0.md.
 */
#include "lidar/atmosphere.h"

#include <math.h>

static const double ZERO_CELSIUS_K = 273.15;

double cf_magnus_es_pa(double t_k) {
  double t = t_k - ZERO_CELSIUS_K;
  return 610.94 * exp(17.625 * t / (t + 243.04));
}

int cf_surface_met_check(cf_ctx *ctx, const cf_surface_met *s, const char *where) {
  if (!where) where = "";
  int rc = CF_OK;
  if (!isfinite(s->p0_pa) || !(s->p0_pa > 0))
    rc = cf_error(ctx, CF_EDATA, where, "pressure_pa", "surface pressure must be finite and > 0 Pa, got %g",
                  s->p0_pa);
  if (!isfinite(s->t0_k) || !(s->t0_k > 0))
    rc = cf_error(ctx, CF_EDATA, where, "temperature_k",
                  "surface temperature must be finite and > 0 K, got %g", s->t0_k);
  if (!isfinite(s->rh) || !(s->rh >= 0) || !(s->rh <= CF_ATM_RH_MAX))
    rc = cf_error(ctx, CF_EDATA, where, "relative_humidity",
                  "relative humidity must be a fraction in 0..%g, got %g (a percentage?)", CF_ATM_RH_MAX,
                  s->rh);
  if (rc != CF_OK) return rc;
  /* Only possible for hot, thin air, but then n_dry would be negative. */
  double e0 = s->rh * cf_magnus_es_pa(s->t0_k);
  if (!(e0 < s->p0_pa))
    return cf_error(ctx, CF_EDATA, where, "relative_humidity",
                    "water vapour pressure %g Pa (RH %g at %g K) is not below the pressure %g Pa", e0, s->rh,
                    s->t0_k, s->p0_pa);
  return CF_OK;
}

int cf_atmosphere_at(const cf_surface_met *s, double z_m, cf_met_level *out) {
  double t = s->t0_k - CF_ATM_LAPSE_RATE * z_m;
  if (!isfinite(z_m) || !(t > 0)) {
    out->p_pa = out->t_k = out->e_pa = out->n_dry_m3 = NAN;
    return -1;
  }
  double exponent = CF_ATM_G / (CF_ATM_R_DRY * CF_ATM_LAPSE_RATE);
  double p = s->p0_pa * pow(t / s->t0_k, exponent);
  double e0 = s->rh * cf_magnus_es_pa(s->t0_k);
  double e = e0 * p / s->p0_pa;
  out->t_k = t;
  out->p_pa = p;
  out->e_pa = e;
  out->n_dry_m3 = (p - e) / (CF_BOLTZMANN * t);
  return 0;
}
