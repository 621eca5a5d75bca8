/*
 * The boundary-layer height (BLH) from the L2 CNR profiles of PPI sweeps:
 * what `blh_m=auto` of `carbonflux flux estimate` means
 * (../shared/spec/flux-io.md). The plume model (lidar/flux/plume.h) traps
 * the emissions below this lid, so it sets the well-mixed dilution far
 * downwind.
 *
 * Physics. The carrier-to-noise ratio of a coherent lidar is proportional
 * to the aerosol backscatter times the range and focus factors; for a
 * collimated beam far from focus CNR ~ beta(z) T^2(r) / r^2. Aerosol is
 * mixed through the boundary layer and drops sharply at its top, often by a
 * factor 5-20, into the cleaner free troposphere. So the range-corrected
 * signal
 *     S = cnr_on [dB] + 20 log10(r / 1 km)
 * is 10 log10(beta) plus a constant and plus slow trends (two-way
 * transmission, a residual focus function) that are linear or smooth in
 * range, and the top is where S falls by several dB.
 *
 * Profiles. All rays of one sweep (one file, one scan_id, one elevation
 * to 0.01 degree) are one profile: at each gate the mean of S over the
 * sweep's usable rays, at the gate's height above the ground
 * z = instrument_height + r sin(el) + (r cos(el))^2 / 2R
 * (cf_geo_gate_height_agl). A sweep is horizontally extended (a 10-degree
 * sweep crosses 1000 m at 5.7 km range), so the top is taken as level over
 * it. The heights of one sweep are spaced r_gate sin(el): 5 m at 2 degrees,
 * 51 m at 20 degrees with 150 m gates.
 *
 * Gates used. A gate counts when cnr_on is finite and its qc_flag has none
 * of invalid_ray (no valid data), hard_target_or_saturation (a cloud or
 * a hard target: its CNR is not aerosol) or near_range (the focus and
 * overlap make the CNR there no measure of beta), and is not itself
 * masked. Gates flagged only low_cnr, no_co2_retrieval, fit_failed or
 * peak_outside_search_band ARE used: those flags say the CO2 or the Doppler
 * fit failed, but the wideband CNR is measured regardless, and low_cnr
 * marks exactly the clean free troposphere above the top; dropping them
 * would censor the profile above the drop (keep only the gates that
 * happened to be bright) and hide or shift the very drop we look for. The
 * bit values are those of our writer (lidar/doppler.h, flag_masks of
 * lidar/l2_write.c).
 *
 * Method: a Haar wavelet covariance transform (Brooks 2003, J. Atmos.
 * Oceanic Technol. 20, 1092; Baars et al. 2008, Atmos. Chem. Phys. 8,
 * 7281) to find the drop, then the half-drop crossing to place it:
 *  1. W(b) = mean S over the points in [b - a/2, b) minus the mean over
 *     (b, b + a/2] (the Haar covariance at dilation a, scaled so that W of
 *     a sharp step of D dB peaks at D at the step), at b on a 2 m grid
 *     where both halves lie inside the profile and hold >= 2 points.
 *     Means over points, not over bins: masked gates simply do not count,
 *     and there are no empty bins at high elevations. Slow trends of S
 *     (transmission, focus) add a constant to W, not a shifted peak.
 *  2. The sweep's top is the maximum of W if (a) W_max >= CF_BLH_MIN_DROP_DB
 *     and (b) the peak is closed: W falls to half of W_max or less on both
 *     sides within a. For a step at z0 W is a triangle of half-width a/2,
 *     so (b) holds exactly when the profile reaches 3a/4 above (and below)
 *     z0; a top above the highest gates gives a W that still rises at the
 *     domain's edge and is REJECTED, not guessed: 2-degree sweeps reach
 *     only r sin(2 deg) = 420 m at 12 km.
 *  3. Placement: the threshold T = midway between the mean S over
 *     [b - a/2, b - a/4] and over [b + a/4, b + a/2] (the levels below and
 *     above, the transition excluded); the top is the downward crossing of T
 *     nearest b, linearly interpolated between the two points straddling
 *     it; twice more with the windows recentred on that crossing (a
 *     wide transition sampled asymmetrically otherwise tilts T). For a
 *     symmetric transition in log(beta) (tanh, erf) this is its inflection,
 *     where the gradient method (Flamant et al. 1997, Boundary-Layer
 *     Meteorol. 83, 247: steepest descent of log backscatter) puts it too,
 *     and it resolves it far below the point spacing: with a 30 m tanh
 *     transition the rms error is 0.1, 0.7 and 3 m at 5, 10 and 20 degrees
 *     (spacing 13, 26, 51 m); the Haar maximum alone is 4, 8 and 15 m
 *     (spacing / sqrt 12). The sweep's drop_db is the difference of those
 *     two levels.
 *
 * Dilation. a = max(CF_BLH_DILATION_M, 4 x the profile's median spacing):
 * each half then holds >= 2 points (a steep sweep with wide spacing still
 * works, with a coarser window); 200 m is wider than an entrainment zone of
 * a few tens of metres (the whole drop fits inside a half window) and than
 * the noise's correlation (none: gates are independent), and small against
 * the boundary layers that matter here (300-3000 m): it needs only 150 m of
 * profile above the top (3a/4) and a layer of 200 m or more is resolved.
 *
 * Uncertainty. Per sweep i, two parts: the noise, propagated through the
 * crossing (sigma_n,i = dz sqrt((1-t)^2 + t^2 + (1/n_lo + 1/n_hi)/4) s /
 * (S_k - S_k+1), s the noise of one profile point from the robust spread
 * of successive differences, 1.4826 MAD(dS) / sqrt 2, t the interpolation
 * fraction, dz the spacing of the straddling points), and the sampling:
 * the drop's position between two points is unknown in proportion to how
 * much of the drop happens between them, q = (S_k - S_k+1) / D:
 * sigma_s,i = q^2 dz / sqrt 12 (q = 1, a sharp step, is the uniform
 * quantisation error dz / sqrt 12; a drop spread over several points is
 * located by the points inside it. The q^2 law is empirical: on tanh
 * transitions 0-90 m wide sampled every 13-106 m it is within 15 % of the
 * measured rms error for q >= 0.4, except near q = 0.85 where it is 1.5
 * times too large; for q < 0.4 (transitions much wider than the spacing)
 * it is too small, the error there coming from the levels of a wide
 * transition, a few metres, which the spread term has to catch.) The
 * estimate is the
 * median over the accepted sweeps; its sigma is the larger of
 *   the spread:  1.2533 x 1.4826 MAD / sqrt(n) (the standard error of a
 *                median of n normal values; 0 for n = 1), and
 *   the model:   sqrt(c median(sigma_n,i^2) / n + median(sigma_s,i^2) /
 *                n_elev), c = pi/2 for n >= 3 (a median), 1 below;
 *                the sampling part shrinks only with the number of
 *                distinct elevations, because sweeps repeated at one
 *                elevation sample the top at the same heights and share
 *                the error.
 * Measured on 200 random tops in 750-850 m, sweeps at 2, 5, 10 and 20
 * degrees (tests/test_boundary_layer.c): |estimate - truth| < sigma in 77 %
 * (30 m transition, 2 dB noise per gate, 12 rays), 60.5 % (a step, 0.5 dB,
 * 36 rays) and 71.5 % (30 m, 3 dB, 8 rays) of the draws; 68 % is the aim.
 * A 60 m transition gave 52 % in a prototype (see q < 0.4 above). This
 * sigma is that of
 * locating the aerosol drop; the top of the boundary layer as a
 * meteorological quantity is uncertain by the entrainment zone's depth
 * (tens of metres to 100s), which no CNR profile removes.
 *
 * Stability. The Pasquill-Gifford class from the wind's variability is
 * cf_stability_from_sigma_theta (lidar/flux/plume.h); nothing is added
 * here. Its night-time wind-speed adjustments (EPA-454/R-99-005) need
 * day or night, a 1-h sigma_A at 10 m and a 10-m wind speed; a lidar scan
 * gives a few-minute sigma of the direction aloft, so the adjustment would
 * only dress up a coarser approximation.
 *
 * Cost: one pass over the gates and O(profile points x log) per sweep; no
 * threads needed, so the result is the same for any thread count.
 */
#ifndef CF_LIDAR_FLUX_BOUNDARY_LAYER_H
#define CF_LIDAR_FLUX_BOUNDARY_LAYER_H

#include "carbonflux/ctx.h"
#include "ingest/lidar_l2.h"

#define CF_BLH_DILATION_M 200.0 /* Haar dilation a (minimum; see above) */
#define CF_BLH_MIN_DROP_DB 3.0  /* a sweep needs a drop of S at least this large */
#define CF_BLH_STEP_M 2.0       /* grid of the transform */

typedef struct {
  double blh_m;   /* above the ground */
  double sigma_m; /* 1-sigma: spread of the per-profile estimates / sqrt(n), combined with the height resolution */
  int n_profiles; /* profiles that gave an estimate */
  int n_rejected; /* profiles without a clear drop */
  double drop_db; /* the median size of the CNR drop at the top, dB */
} cf_blh_estimate;

/* instrument_height_m: the lidar above the ground. CF_EDATA with a message
 * naming the file(s) and the variable (cnr_on) when no profile shows a
 * clear drop (the top is above the highest gate, or no CNR): the message
 * tells the user to give blh_m=. CF_EINVAL: a bad argument; CF_ENOMEM. */
int cf_blh_from_cnr(cf_ctx *ctx, const cf_l2_set *set, double instrument_height_m, cf_blh_estimate *out);

#endif
