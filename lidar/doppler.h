/*
 * Doppler: noise floor, wideband CNR, radial velocity and signal power per
 * gate, from accumulated spectra.
 *
 * Noise. The background records give the per-pulse noise spectrum of every
 * gate (summed over `pulses` pulses, so divided by that count). A ray's
 * expected noise is that times its own pulse count, times one factor alpha
 * per ray and wavelength refined on the ray's signal-free gates (gates
 * whose excess power is statistically zero), which absorbs receiver drift
 * between the background records and the ray.
 *
 * Peak. The noise-subtracted per-pulse spectrum D_k = S_k/N - alpha n_k of
 * the on- and off-line are fitted jointly with the instrument's exact peak
 * shape (lidar/response.h): D_{l,k} = a_l H(f_aom - 2 v / lambda_l, k), by
 * weighted Gauss-Newton on (a_on, a_off, v). The weights are the Gamma
 * variances of accumulated periodograms, theta_k^2 / N with theta_k the
 * model's per-pulse level, plus the sampling variance of the subtracted
 * background, (alpha n_k)^2 / N_bg (short background records matter at
 * low CNR), and the uncertainties are the inverse Fisher information. The search starts from the best template match on a grid of
 * quarter bins inside +-v_max, so sub-bin accuracy comes from the fit, not
 * from bin picking.
 *
 * a_on and a_off are the signal variances per pulse the DIAL needs; CNR is
 * the wideband carrier-to-noise ratio sum_k D_k / sum_k alpha n_k.
 *
 * Detection. A CNR threshold alone lets noise through: on a signal-free
 * gate the estimated CNR scatters, and the search then locks onto the
 * largest noise ripple. A gate counts as detected only if the fitted
 * peak is significant: sqrt((a_on/s_on)^2 + (a_off/s_off)^2) >=
 * peak_snr_min. At 5 (default), with about 160 search positions per gate,
 * noise passes about once in 1e5 gates.
 */
#ifndef CF_LIDAR_DOPPLER_H
#define CF_LIDAR_DOPPLER_H

#include <stdint.h>

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
  int bins_correlated;    /* 1: inflate uncertainties for window-correlated bins (spectra we made by FFT) */
} cf_doppler_opts;

void cf_doppler_defaults(cf_doppler_opts *o);

/* Set-up shared by all rays of a file. */
typedef struct {
  cf_l0_config cfg;
  cf_response resp;
  cf_doppler_opts opts;
  double *noise[2];  /* per-pulse background spectrum [n_gates][nbins] */
  double inflation;  /* variance factor for correlated bins (1 if independent) */
  double bg_pulses[2]; /* pulses in the background records: their sampling error enters every gate */
  int k_lo, k_hi;    /* bins of the search band (inclusive) */
  /* the search grid's templates, the same for every gate: per wavelength
   * and grid velocity, the first bin of its fit window, its width and the
   * template values (tabulated once instead of per gate) */
  int grid_n;        /* grid velocities: v_i = (i - grid_n/2) * grid_dv */
  double grid_dv;
  int *grid_k0[2], *grid_nk[2];
  double *grid_h[2]; /* [grid_n][GRID_WIN] */
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
} cf_doppler_ray;

/* Doubles of workspace cf_doppler_process needs (caller-owned, one per thread). */
static inline size_t cf_doppler_work_size(const cf_doppler_setup *s) { return (size_t)4 * s->resp.nbins; }

/* Process one ray. Thread-safe (the setup is read-only); `work` holds
 * cf_doppler_work_size(s) doubles. */
void cf_doppler_process(const cf_doppler_setup *s, const float *spec_on, const float *spec_off,
                        int32_t pulses_on, int32_t pulses_off, int ray_ok, double *work, cf_doppler_ray *out);

#endif
