/*
 * DIAL: CO2 number density and dry-air mole fraction per gate.
 *
 * The DIAL equation n = (1 / (2 dsigma)) d/dR ln(P_off / P_on) assumes one
 * dsigma; along a slant beam dsigma changes with height (p and T), so we
 * regress instead
 *
 *   y_g = ln(P_off,g / P_on,g)   on   x_g = 2 int_0^{R_g} dsigma(z(r)) dr,
 *
 * whose slope is n wherever n is constant over the window (the intercept
 * absorbs the system's on/off ratio). P is the fitted per-pulse signal
 * power of lidar/doppler.h divided by the ray's mean pulse energy, so
 * logarithms are taken only after accumulation. The slope is a weighted
 * least-squares fit over a window of gates (window_m, odd number of gates)
 * with weights 1/var(y_g) from the fitted powers' covariance (the on and
 * off powers share the fitted velocity, so they covary); its variance
 * 1 / sum w (x - xbar)^2 is the reported uncertainty. The mole fraction
 * divides by the dry-air number density at the gate (lidar/atmosphere.h).
 */
#ifndef CF_LIDAR_DIAL_H
#define CF_LIDAR_DIAL_H

#include <stdint.h>

#include "ingest/lidar_l0.h"
#include "lidar/optics.h"

typedef struct {
  double window_m;     /* fit window along the beam, default 600 m */
} cf_dial_opts;

void cf_dial_defaults(cf_dial_opts *o);

/* Gates in the window for this gating (odd, >= 3). */
int cf_dial_window_gates(const cf_l0_config *c, const cf_dial_opts *o);

typedef struct {
  const double *power[2], *power_sigma[2]; /* per gate, from Doppler */
  const double *power_cov;                 /* covariance of the on and off powers (NULL: 0) */
  double energy[2];                        /* ray mean pulse energies */
  double elevation_deg;
} cf_dial_input;

typedef struct {
  double *nd, *nd_sigma;   /* m-3 */
  double *ppm, *ppm_sigma; /* dry-air mole fraction, 1e-6 */
} cf_dial_output;

/* Doubles of workspace cf_dial_process needs. */
static inline size_t cf_dial_work_size(const cf_l0_config *c) { return (size_t)4 * c->n_gates; }

/* One ray. Gates whose qc has any of `bad_mask` are not used; gates
 * without a complete window of usable gates get CF_QC_NO_CO2 in qc and NaN
 * outputs. Thread-safe for distinct outputs; `op` is read-only. */
void cf_dial_process(const cf_l0_config *c, const cf_dial_opts *o, const cf_optics *op, const cf_dial_input *in,
                     uint16_t bad_mask, uint16_t *qc, double *work, cf_dial_output *out);

#endif
