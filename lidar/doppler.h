/*
 * Doppler: noise floor, wideband CNR, radial velocity and signal power per
 * gate, from accumulated spectra.
 *
 * Noise. The background records give the per-pulse noise spectrum of every
 * gate (summed over `pulses` pulses, so divided by that count). A ray's
 * expected noise is that times its own pulse count, times one factor alpha
 * per ray and wavelength that absorbs receiver drift between the
 * background records and the ray. alpha is measured where no return can
 * be: in the bins outside the Doppler search band (plus the width of a
 * peak's tails), over all gates of the ray. Choosing "signal-free gates"
 * instead would count weak returns as noise and bias the CNR of weak
 * gates low; the out-of-band bins carry no return whatever the CNR. A
 * gate whose out-of-band power is far off the others' (a hard target's
 * broadband leakage, a clipped record) is left out of that sum.
 *
 * Peak. The noise-subtracted per-pulse spectrum D_k = S_k/N - alpha n_k of
 * the on- and off-line are fitted jointly with the instrument's exact peak
 * shape (lidar/response.h): D_{l,k} = a_l H(f_aom - 2 v / lambda_l, k), by
 * weighted Gauss-Newton on (a_on, a_off, v), over the bins within a peak's
 * width (cf_bincov_fit_half) of the current frequency. The weights are the
 * Gamma variances of accumulated periodograms, theta_k^2 / N with theta_k
 * the model's per-pulse level, plus the sampling variance of the
 * subtracted background, (alpha n_k)^2 / N_bg (short background records
 * matter at low CNR). The search starts from the best template match on a
 * grid of half bins inside +-v_max, moved to the vertex of the parabola
 * through its score and its neighbours', so sub-bin accuracy comes from the
 * fit, not from bin picking, and the fit starts close to its optimum. The Jacobian's velocity column is the
 * derivative of the response interpolant itself (response.h), not a
 * finite difference of it: exact for the model the fit evaluates, and one
 * table look-up instead of three. The iteration stops when every step is
 * below 1e-3 of its parameter's predicted sigma (the diagonal of the
 * inverse normal matrix): smaller steps cannot change anything the
 * reported uncertainty would show, and a tolerance fixed in m/s either
 * wastes iterations on weak gates or stops strong ones early.
 *
 * Uncertainty. Neighbouring bins are correlated by the window and the zero
 * padding (lidar/bin_covariance.h), so the weighted fit's inverse Fisher
 * matrix A^-1 is too small. The reported covariance is the sandwich
 * A^-1 B A^-1, B = J^T W V W J, with V the bins' full covariance
 * (return and noise together, plus the background's) derived from the
 * file's window, gate length, FFT size and pulse width. With
 * `bins_correlated` off (only for simulated files drawn with independent
 * bins) V is diagonal and the sandwich is A^-1.
 *
 * a_on and a_off are the signal variances per pulse the DIAL needs; CNR is
 * the wideband carrier-to-noise ratio sum_k D_k / sum_k alpha n_k.
 *
 * Detection. A CNR threshold alone lets noise through: on a signal-free
 * gate the estimated CNR scatters, and the search then locks onto the
 * largest noise ripple. A gate counts as detected only if the fitted
 * peak is significant: sqrt((a_on/s_on)^2 + (a_off/s_off)^2) >=
 * peak_snr_min with the sandwich sigmas (negative amplitudes count as
 * 0). Under noise alone each of the 30 to 80 resolution cells of the
 * search band gives about a chi with two degrees of freedom, one-sided:
 * P(> 5) is about 1e-6 a cell, so some 1e-5..1e-4 per gate before the
 * -27 dB CNR threshold removes most noise gates; measured, 3 of 102,400
 * pure-noise gates of 1 s rays pass (tests/test_doppler_uncertainty.c).
 * A gate below the CNR threshold is not fitted at all: its velocity and
 * powers would be rejected whatever the fit gave (CF_QC_REJECT_VELOCITY,
 * process.h), and noise gates are where Gauss-Newton wanders longest. In
 * a simulated hour (tests' default scene) half the gates were below it
 * and the fit was most of the CPU time. Such a gate reports NaN velocity
 * and powers and qc CF_QC_LOW_CNR (no fit-failed or out-of-band bits from
 * a fit that did not run); its CNR is reported as before.
 */
#ifndef CF_LIDAR_DOPPLER_H
#define CF_LIDAR_DOPPLER_H

#include <stdint.h>

#include "lidar/bin_covariance.h"
#include "lidar/response.h"

/* QC bits (L2 qc_flag; 0 = good). */
enum {
  CF_QC_LOW_CNR = 1,        /* wideband CNR below cnr_min_db, or no significant peak */
  CF_QC_NEAR_RANGE = 2,     /* gate closer than near_range_m */
  CF_QC_HARD_TARGET = 4,    /* CNR above hard_target_db (cloud, hard target), or ADC saturation in raw records */
  CF_QC_OUT_OF_BAND = 8,    /* fitted peak at the edge of the search band */
  CF_QC_FIT_FAILED = 16,    /* the fit did not converge or has no information */
  CF_QC_BAD_RAY = 32,       /* no pulses, no energy or non-finite spectra */
  CF_QC_NO_CO2 = 64         /* CO2 not retrieved (window incomplete or flagged gates) */
};

typedef struct {
  double cnr_min_db;      /* default -27 */
  double near_range_m;    /* default 200 */
  double hard_target_db;  /* default 20 */
  double v_max;           /* search band half-width, m/s; default 30 */
  double peak_snr_min;    /* fitted peak power / its 1-sigma, on and off combined; default 5 */
  int bins_correlated;    /* 1 (default): bins correlated by the window, as any digitiser's; 0: independent (simulated) */
} cf_doppler_opts;

void cf_doppler_defaults(cf_doppler_opts *o);

/* Set-up shared by all rays of a file. */
typedef struct {
  cf_l0_config cfg;
  cf_response resp;
  cf_doppler_opts opts;
  cf_bincov cov;     /* bin covariance tables (bins_correlated) */
  double *noise[2];  /* per-pulse background spectrum [n_gates][nbins] */
  int fit_half;      /* bins each side of the peak in the fit */
  int oob_lo, oob_hi;/* bins [oob_lo, oob_hi] may hold a return; alpha uses the others */
  double bin_var_factor; /* variance of a sum of noise bins / the sum of their variances */
  double bg_pulses[2]; /* pulses in the background records: their sampling error enters every gate */
  int k_lo, k_hi;    /* bins of the search band (inclusive) */
  /* the search grid's templates, the same for every gate: per wavelength
   * and grid velocity, the first bin of its fit window and the
   * template values (tabulated once instead of per gate) */
  int grid_n;        /* grid velocities: v_i = (i - grid_n/2) * grid_dv */
  double grid_dv;
  int *grid_k0[2];
  int grid_win;      /* 2 fit_half + 1 */
  int grid_pad;      /* grid_win rounded up to a multiple of 4: the table's stride */
  double *grid_h[2]; /* [grid_n][grid_pad], zero past each template's bins */
} cf_doppler_setup;

int cf_doppler_setup_init(cf_ctx *ctx, cf_doppler_setup *s, const cf_l0_config *cfg, const cf_doppler_opts *o,
                          const float *bg_on, int32_t bg_pulses_on, const float *bg_off, int32_t bg_pulses_off);
void cf_doppler_setup_free(cf_doppler_setup *s);

/* Results of one ray, per gate (caller-owned arrays of n_gates). */
typedef struct {
  double *cnr_db[2];        /* NaN where not defined (linear CNR <= 0); qc says why */
  double *v, *v_sigma;      /* radial velocity, m/s, positive away */
  double *power[2], *power_sigma[2]; /* per-pulse signal variance and 1-sigma */
  uint16_t *qc;
  double alpha[2];          /* noise refinement factors */
  double *power_cov;        /* covariance of the on and off powers (through the shared velocity); may be NULL */
} cf_doppler_ray;

/* Per-gate scratch at the end of the workspace: the sandwich's 7 rows of
 * a fit window, or the search's scores of every grid velocity. */
static inline size_t cf_doppler_scratch_size(const cf_doppler_setup *s) {
  size_t cov = (size_t)7 * s->grid_win, grid = (size_t)s->grid_n;
  return cov > grid ? cov : grid;
}

/* Doubles of workspace cf_doppler_process needs (caller-owned, one per thread). */
static inline size_t cf_doppler_work_size(const cf_doppler_setup *s) {
  size_t per_gate = (size_t)8 * s->resp.nbins + (size_t)4 * s->grid_pad, per_ray = (size_t)3 * s->cfg.n_gates;
  return (per_gate > per_ray ? per_gate : per_ray) + cf_doppler_scratch_size(s);
}

/* Process one ray. Thread-safe (the setup is read-only); `work` holds
 * cf_doppler_work_size(s) doubles. */
void cf_doppler_process(const cf_doppler_setup *s, const float *spec_on, const float *spec_off,
                        int32_t pulses_on, int32_t pulses_off, int ray_ok, double *work, cf_doppler_ray *out);

#endif
