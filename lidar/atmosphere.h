/*
 * Pressure, temperature and humidity above the lidar site, exactly as the L0
 * specification defines them from the surface values in /meteo
 * (../shared/spec/lidar-l0.md, "Meteorology"). DIAL turns an absorption
 * coefficient into a CO2 mole fraction with these: the cross-section needs p
 * and T, the mole fraction needs the dry-air number density.
 *
 * With z the height above the site (m) and p0, T0, RH the surface values:
 *
 *   T(z)    = T0 - 0.0065 K/m * z
 *   p(z)    = p0 (T(z) / T0)^(g / (R_d * 0.0065)),  g = 9.80665 m/s^2,
 *                                                  R_d = 287.05 J/(kg K)
 *   e(z)    = e0 p(z) / p0,  e0 = RH e_s(T0)        (vapour at a constant
 *                                                   mole fraction)
 *   e_s(T)  = 610.94 exp(17.625 t / (t + 243.04)) Pa, t = T - 273.15 in deg C
 *             (Magnus form over water, Alduchov and Eskridge 1996, J. Appl.
 *             Meteor. 35, 601-609; fitted for -40..50 deg C)
 *   n_dry   = (p - e) / (k_B T),  k_B = 1.380649e-23 J/K (exact, SI 2019)
 *
 * The spec's formulas are used as written, not "improved": two
 * implementations of the spec must agree to rounding.
 *
 * Validate the surface values once with cf_surface_met_check (it names the
 * /meteo dataset at fault); cf_atmosphere_at is then a pure, thread-safe
 * function to call for every range gate.
 */
#ifndef CF_LIDAR_ATMOSPHERE_H
#define CF_LIDAR_ATMOSPHERE_H

#include "carbonflux/ctx.h"

/* The spec's constants. */
#define CF_ATM_LAPSE_RATE 0.0065  /* K/m */
#define CF_ATM_G 9.80665          /* m/s^2 */
#define CF_ATM_R_DRY 287.05       /* J/(kg K) */
#define CF_BOLTZMANN 1.380649e-23 /* J/K, exact */
#define CF_ATM_RH_MAX 1.05        /* above 1: humidity sensors overshoot near saturation */

/* Surface values at the site (L0 /meteo). */
typedef struct {
  double p0_pa; /* pressure, Pa (/meteo/pressure_pa) */
  double t0_k;  /* temperature, K (/meteo/temperature_k) */
  double rh;    /* relative humidity over water, 0..1 (/meteo/relative_humidity) */
} cf_surface_met;

/* The state of the air at one height. */
typedef struct {
  double p_pa;       /* total pressure, Pa */
  double t_k;        /* temperature, K */
  double e_pa;       /* water vapour partial pressure, Pa */
  double n_dry_m3;   /* dry-air number density, molecules/m^3 */
} cf_met_level;

/* Check surface values: all finite, p0 > 0, T0 > 0, 0 <= RH <= 1.05, and
 * the vapour pressure e0 below p0. `where` names the source in messages
 * (e.g. "ray.h5:/meteo"); fields are named as the /meteo datasets. */
int cf_surface_met_check(cf_ctx *ctx, const cf_surface_met *s, const char *where);

/* The saturation vapour pressure over water e_s(T), Pa (Magnus form above). */
double cf_magnus_es_pa(double t_k);

/* The air at height z_m (m above the site) for checked surface values.
 * Returns 0, or -1 (out left as NaN) when z is not finite or is so high that
 * T(z) <= 0, where the profile has no meaning. Thread-safe. */
int cf_atmosphere_at(const cf_surface_met *s, double z_m, cf_met_level *out);

#endif
