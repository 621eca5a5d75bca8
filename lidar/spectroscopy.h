/*
 * CO2 absorption cross-sections near 1572 nm for the coherent DIAL: the sum
 * of Voigt profiles of all lines of a line list (lidar/co2_lines.h), with
 * HITRAN's temperature and pressure scaling.
 *
 * The instrument locks its on-line to the centre of R16e of the
 * 30012<-00001 band of 12C16O2 (6359.967248 cm-1, 1572.3351 nm) and puts the
 * off-line in the trough before R18e (6360.600 cm-1, 1572.1788 nm)
 * (../shared/spec/lidar-l0.md, "Reference spectroscopy").
 *
 * The equations (HITRAN, "Definitions and units",
 * https://hitran.org/docs/definitions-and-units/; L. S. Rothman et al.,
 * JQSRT 60, 665-710, 1998, appendix), with T in K, p and p_self in atm,
 * T_ref = 296 K and c2 = hc/k = 1.4387769 cm K:
 *
 *   S(T)     = S296 * Q(T_ref)/Q(T) * exp(-c2 E''/T) / exp(-c2 E''/T_ref)
 *                   * (1 - exp(-c2 nu0/T)) / (1 - exp(-c2 nu0/T_ref))
 *   gamma    = (T_ref/T)^n_air * (gamma_air (p - p_self) + gamma_self p_self)
 *   nu0*     = nu0 + delta_air p
 *   alpha_D  = nu0 / c * sqrt(2 ln 2 k_B T / m),  m = 43.98983 u (12C16O2)
 *   sigma(nu)= sum over lines of S(T) V(nu - nu0*; alpha_D, gamma)
 *
 * Units: S in cm/molecule times V in 1/cm-1 gives cm^2/molecule; the
 * functions here return m^2/molecule (x 1e-4). Pressures are passed in Pa
 * (1 atm = 101325 Pa) like everywhere else in carbonflux. S296 is HITRAN's,
 * already weighted by the 626 isotopologue's natural abundance, so sigma
 * multiplies the number density of all CO2 molecules.
 *
 * The partition sum Q(T) is computed from physics, not from a table: the
 * harmonic-oscillator product over the observed fundamentals (667.4 cm-1
 * doubly degenerate, 1388.2 and 2349.1 cm-1) times the linear-rotor sum with
 * symmetry number 2 and the ground-state constants B = 0.39021894 cm-1,
 * D = 1.33373e-7 cm-1 (Rothman and Young, JQSRT 25, 505-524, 1981), in the
 * high-temperature expansion (T/(2 c2 B)) (1 + u/3 + u^2/15 + 4u^3/315)
 * (1 + 2 D T/(c2 B^2)), u = c2 B/T. Its ratio Q(296)/Q(T) is
 * within 0.021% of TIPS over 150-330 K (tests/test_spectroscopy.c), against
 * the 0.1% the spec asks for; outside 150-350 K it is not verified, and the
 * checked entry points refuse such temperatures.
 *
 * Two layers, as elsewhere: cf_gas_state_check and the cf_co2_*_checked
 * functions validate with a context and name what is wrong; the plain
 * functions are pure, thread-safe, take no context, and return NaN for
 * arguments they cannot use, for OpenMP loops over range gates.
 */
#ifndef CF_LIDAR_SPECTROSCOPY_H
#define CF_LIDAR_SPECTROSCOPY_H

#include "carbonflux/ctx.h"
#include "lidar/co2_lines.h"

#define CF_CO2_R16E_NU 6359.967248  /* cm-1, R16e of 30012<-00001, the on-line */
#define CF_CO2_OFFLINE_NU 6360.600  /* cm-1, the spec's off-line */
#define CF_CO2_626_MASS_U 43.98983  /* u, 12C16O2 */
#define CF_HITRAN_T_REF 296.0       /* K */
#define CF_C2_CM_K 1.4387769        /* cm K, second radiation constant hc/k */
#define CF_ATM_PA 101325.0          /* Pa per atm */
#define CF_CO2_T_MIN 150.0          /* K, range where Q(T) is verified */
#define CF_CO2_T_MAX 350.0

/* The conditions of the absorbing air. */
typedef struct {
  double p_pa;      /* total pressure, Pa (>= 0) */
  double t_k;       /* temperature, K (150..350) */
  double p_self_pa; /* CO2 partial pressure, Pa (0..p) */
} cf_gas_state;

/* Check a state; `where` names its origin in messages (e.g. "gate 12"). */
int cf_gas_state_check(cf_ctx *ctx, const cf_gas_state *g, const char *where);

/* --- pure, thread-safe functions (NaN for unusable arguments) ------------ */

/* Q(296 K) / Q(T) for 12C16O2. */
double cf_co2_q_ratio(double t_k);
/* S(T) of a line, cm/molecule. */
double cf_co2_line_intensity(const cf_co2_line *l, double t_k);
/* Lorentz HWHM gamma(p, T) of a line, cm-1. */
double cf_co2_lorentz_hwhm(const cf_co2_line *l, const cf_gas_state *g);
/* Doppler HWHM of a line at nu_cm, cm-1. */
double cf_co2_doppler_hwhm(double nu_cm, double t_k);
/* The pressure-shifted centre nu0 + delta_air p of a line, cm-1. */
double cf_co2_line_centre(const cf_co2_line *l, double p_pa);

/* sigma(nu) of all lines, m^2/molecule. */
double cf_co2_sigma(const cf_co2_linelist *lines, double nu_cm, const cf_gas_state *g);
/* sigma(nu_on) - sigma(nu_off), m^2/molecule: the DIAL's differential
 * cross-section, both from one pass over the lines. */
double cf_co2_dsigma(const cf_co2_linelist *lines, double nu_on_cm, double nu_off_cm,
                     const cf_gas_state *g);

/* --- checked entry points ------------------------------------------------ */

int cf_co2_sigma_checked(cf_ctx *ctx, const cf_co2_linelist *lines, double nu_cm,
                         const cf_gas_state *g, double *sigma_m2);
int cf_co2_dsigma_checked(cf_ctx *ctx, const cf_co2_linelist *lines, double nu_on_cm,
                          double nu_off_cm, const cf_gas_state *g, double *dsigma_m2);
/* The on-line centre at pressure p: the position of the list's line nearest
 * to CF_CO2_R16E_NU (which must be within 0.01 cm-1, i.e. R16e itself),
 * shifted by delta_air p. This is where a locked laser sits, cm-1. */
int cf_co2_online_centre(cf_ctx *ctx, const cf_co2_linelist *lines, double p_pa, double *nu_cm);

#endif
