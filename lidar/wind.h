/*
 * Wind profile from one scan of a Doppler lidar: a weighted least-squares
 * fit of (u, v, w) per height to the radial velocities of the scan's rays.
 *
 * Model (VAD, DBS, 6-beam and vertical stares alike): a ray at azimuth az
 * (clockwise from true north) and elevation el (above the horizon) sees
 *     v_r = u sin(az) cos(el) + v cos(az) cos(el) + w sin(el),
 * u eastward, v northward, w upward, v_r positive AWAY from the instrument
 * (../shared/spec/lidar-l0.md). The flow is assumed horizontally uniform
 * over the area the scan samples at one height and steady over the scan.
 *
 * Heights. A gate's centre is at height range * sin(el) above the
 * instrument (flat earth: at 7 km range the curvature term r^2 cos^2(el) /
 * 2R is under 1 m for el >= 60 deg and about 4 m at 3 to 15 deg; at 3 deg
 * that is comparable to a gate's height extent of a few metres, but every
 * ray of a sweep is shifted alike, so only the reported height is off by
 * it, not which gates are combined).
 * The caller names the heights to report; at each height every ray
 * contributes at most one gate, the one whose centre height is nearest,
 * and only if it is within the tolerance. The tolerance is either fixed
 * (opts.height_tol_m > 0) or, by default, half of that ray's own gate
 * spacing in height: a ray then contributes exactly when the level falls
 * inside one of its gates' height cells. This handles in one rule
 *  - a single-elevation cone (levels = its gate heights: every ray gives
 *    the gate at exactly that height; cf_wind_levels_from_ray),
 *  - DBS and 6-beam scans whose vertical beam has its own gate grid
 *    (WindCube: 52 m gates at 75 deg and 50 m gates at 90 deg), and
 *  - rays of different lengths (a level past a ray's last gate gets
 *    nothing from that ray).
 * Rays at or below the horizon (sin(el) <= 0) contribute to no level.
 *
 * Per height the fit is weighted least squares with weights 1/sigma^2,
 * solved by the SVD of the weighted design matrix (LAPACKE_dgesvd on
 * caller-owned memory). The SVD gives, from one factorisation, the
 * solution, the covariance (A^T W A)^-1 = V S^-2 V^T and the condition
 * number s_max/s_min used to reject geometries that cannot separate u, v
 * and w. The condition number is that of the weighted matrix, i.e. of the
 * problem actually solved: it is the spread of error amplification
 * between the best and the worst determined combination of (u, v, w).
 *
 * A level gets values only if it passes every check: at least
 * opts.min_beams (>= 4: one more than the unknowns, so the residuals say
 * something) usable gates, a converged SVD and condition <= max_condition.
 * Otherwise its flags say why and its values are NaN: a NaN here always
 * comes with a flag, never alone.
 *
 * Low elevations: w fixed. At elevation el the w column of the design
 * matrix is sin(el), small and the same for every beam of a
 * single-elevation scan, so it is nearly a multiple of the along-sector
 * column cos(az - az_centre) cos(el) of a sector (a PPI): a 90 deg sector
 * has a 3-parameter condition number of 166 at 3 deg and is rejected
 * although u and v are well determined (their own condition is 2.1 at any
 * elevation). So when every beam at a level is below
 * opts.w_free_min_elevation_deg, the fit solves for (u, v) only with w
 * fixed at 0 (not a prior: the data say nothing about w there), flags the
 * level CF_WIND_W_FIXED, reports w, its error and its covariance row as NaN
 * (not measured), and the condition limit applies to the 2-parameter
 * matrix, whose condition is that of the azimuth coverage (2.1 for 90 deg,
 * 6.6 for 30 deg, 40 for 5 deg: a sector too narrow to separate u and v is
 * still rejected). A level with at least one beam at or above the limit
 * (a DBS's vertical beam, a VAD at 75 deg) fits (u, v, w) as before.
 *
 * The assumed w is not free of error: the true w differs from 0 by
 * turbulence (sigma_w of 0.1-1 m/s in a boundary layer), which enters each
 * radial velocity as w sin(el). Beams of a sweep that meet a level are
 * hundreds of metres to kilometres apart, more than a boundary-layer eddy,
 * so these errors are taken as independent between beams: the fit adds
 * (sin(el) * opts.w_fixed_sigma)^2 to each radial variance, in the weights
 * and hence in the propagated covariance of (u, v). A mean w common to all
 * beams (subsidence, a few cm/s) is not in the errors: it biases the
 * along-sector component by about 1.1 w tan(el) for a 90 deg sector (0.006
 * m/s for w = 0.1 m/s at 3 deg) and does not bias a full circle at all
 * (orthogonal columns). Without input sigmas (equal weights) nothing is
 * added: the residual scatter, which the errors then come from, already
 * contains the w term.
 *
 * Errors, and which ones are honest. The covariance of the estimate is
 * (A^T W A)^-1 when the input sigmas are right and the model holds. This is
 * the default (CF_WIND_ERR_PROPAGATED): it is what the noise alone does to
 * the fit, and the tests check it against Monte Carlo. Scaling it by the
 * reduced chi-square is not automatically more honest: with 5 or 6 beams
 * (2 or 3 degrees of freedom) chi2_red has a relative scatter of
 * sqrt(2/dof), 80-100 %, so a scaled error is a noisy number that is often
 * far too small by chance, and
 * what it adds is model error (turbulence across the cone, the wind
 * changing during the scan), which is real but not noise. So scaling is on
 * request: CF_WIND_ERR_SCALED multiplies by sqrt(chi2_red), and
 * CF_WIND_ERR_BIRGE by sqrt(max(1, chi2_red)) (inflate when the residuals
 * show more scatter than the noise explains, never shrink below the noise
 * alone). chi2_red is always reported so that a reader can judge. When the
 * scan carries no sigma at all (a WindCube file has a confidence index, not
 * an uncertainty), the fit uses equal weights and the residual scatter is
 * the only error estimate there is: errors are then sqrt(RSS/(n-p)) times
 * sqrt(diag((A^T A)^-1)) (p = 3 unknowns, 2 with w fixed), and the level is
 * flagged CF_WIND_SIGMA_UNKNOWN.
 *
 * Speed and direction errors are the linear propagation of the (u, v)
 * covariance; they are meaningful when the speed is several times its
 * error (near calm, direction is ill-defined and its linear error is not a
 * 1-sigma bound).
 *
 * Threads and determinism. cf_wind_fit spreads the levels over OpenMP
 * threads (the context's thread setting, limited by the workspace given).
 * Every level is computed alone, from the same inputs, with the same
 * LAPACK workspace length (which depends on the scan, not on the thread),
 * so the output is bitwise the same for any thread count.
 */
#ifndef CF_LIDAR_WIND_H
#define CF_LIDAR_WIND_H

#include <stddef.h>

#include "carbonflux/ctx.h"

/* One ray of a scan. Arrays are the caller's and are only read. */
typedef struct {
  double azimuth_deg;   /* clockwise from true north */
  double elevation_deg; /* above the horizon, 90 = zenith */
  int n_gates;
  const double *range_m;      /* [n_gates] gate-centre ranges, strictly increasing */
  const double *vr;           /* [n_gates] radial velocity, m/s, positive away */
  const double *sigma;        /* [n_gates] 1-sigma of vr, m/s; NULL = unknown (for
                                 every ray of the scan, or for none) */
  const unsigned char *valid; /* [n_gates] non-zero = usable; NULL = all. A gate
                                 with non-finite vr or sigma <= 0 is never used. */
} cf_wind_ray;

typedef struct {
  int n_rays;
  const cf_wind_ray *rays;
} cf_wind_scan;

typedef enum {
  CF_WIND_ERR_PROPAGATED = 0, /* sqrt(diag((A^T W A)^-1)): the input noise only (default) */
  CF_WIND_ERR_BIRGE = 1,      /* ... times sqrt(max(1, chi2_red)) */
  CF_WIND_ERR_SCALED = 2      /* ... times sqrt(chi2_red) */
} cf_wind_error_mode;

typedef struct {
  double height_tol_m;  /* > 0: fixed tolerance; 0: half the ray's gate height spacing */
  int min_beams;        /* usable gates needed at a level, >= 4 (default 4) */
  double max_condition; /* reject levels whose condition number exceeds it (default 30) */
  cf_wind_error_mode error_mode;
  double w_free_min_elevation_deg; /* w is fitted only at levels with a beam at or above this
                                      elevation; below it w is fixed at 0 (default 20 deg;
                                      0 = always fit w) */
  double w_fixed_sigma; /* m/s, spread of the true w when it is fixed at 0: adds
                           (sin(el) w_fixed_sigma)^2 to each radial variance (default 0.5) */
} cf_wind_opts;

/* Per-level flags. The first three reject the level (values are NaN). */
enum {
  CF_WIND_FEW_BEAMS = 1u << 0,       /* fewer than min_beams usable gates */
  CF_WIND_ILL_CONDITIONED = 1u << 1, /* condition > max_condition (or singular) */
  CF_WIND_SVD_FAILED = 1u << 2,      /* LAPACK's SVD did not converge */
  CF_WIND_CALM = 1u << 3,            /* u = v = 0 exactly: direction, its error and the
                                        speed error are NaN (no derivative at 0) */
  CF_WIND_SIGMA_UNKNOWN = 1u << 4,   /* no input sigma: equal weights, errors from the
                                        residuals, chi2_red NaN */
  CF_WIND_ERR_INFLATED = 1u << 5,    /* errors were multiplied by sqrt(chi2_red) */
  CF_WIND_W_FIXED = 1u << 6          /* every beam below w_free_min_elevation_deg: (u, v)
                                        fitted with w = 0; w, w_err and the w row of cov
                                        are NaN */
};
/* The flags as CF flag_meanings words, in bit order (for file writers). */
#define CF_WIND_FLAG_COUNT 7
extern const char *const cf_wind_flag_names[CF_WIND_FLAG_COUNT];
#define CF_WIND_REJECTED (CF_WIND_FEW_BEAMS | CF_WIND_ILL_CONDITIONED | CF_WIND_SVD_FAILED)

typedef struct {
  double height_m;            /* the requested level */
  unsigned flags;             /* CF_WIND_*; (flags & CF_WIND_REJECTED) == 0 means valid */
  int n_beams;                /* usable gates that entered the fit */
  double condition;           /* s_max/s_min of the weighted design matrix (2 columns if
                                 CF_WIND_W_FIXED); NaN if CF_WIND_FEW_BEAMS (not
                                 computed), +inf if singular */
  double u, v, w;             /* m/s */
  double u_err, v_err, w_err; /* 1-sigma, m/s (see the error modes) */
  double cov[3][3];           /* covariance of (u, v, w), m^2/s^2, same scaling as the errors */
  double speed, speed_err;    /* horizontal, m/s */
  double direction_deg, direction_err_deg; /* wind_from_direction in [0, 360), degree */
  double rmse;                             /* sqrt(mean of residual^2), unweighted, m/s */
  double chi2_red; /* sum((residual/sigma)^2) / (n_beams - p), p = 3 unknowns, or 2 if
                      CF_WIND_W_FIXED (sigma including the w term) */
} cf_wind_level;

void cf_wind_opts_default(cf_wind_opts *opts);

/* Meteorological direction the wind blows FROM, clockwise from north, in
 * [0, 360): atan2(-u, -v). u = 0, v = -5 (from the north) gives 0; u = +5
 * (from the west) gives 270. NaN when u = v = 0 (undefined; the fit flags
 * such a level CF_WIND_CALM). */
double cf_wind_direction_deg(double u, double v);

/* Doubles of workspace cf_wind_fit needs to run `n_threads` threads on
 * `scan` (n_threads <= 0: the context's thread setting). */
int cf_wind_work_size(cf_ctx *ctx, const cf_wind_scan *scan, int n_threads, size_t *n_doubles);

/* Fit every level. `work` holds `n_work` doubles (cf_wind_work_size); the
 * number of threads used is the context's setting limited by how many
 * per-thread slices fit in it. Rejected levels are not errors: they are
 * flagged in out[i]. Errors (CF_EINVAL) are bad arguments: an invalid
 * option, a ray with non-finite angles or non-increasing ranges, a
 * workspace too small. */
int cf_wind_fit(cf_ctx *ctx, const cf_wind_opts *opts, const cf_wind_scan *scan,
                const double *heights_m, int n_levels, double *work, size_t n_work,
                cf_wind_level *out);

/* Heights of a ray's gate centres, range * sin(el), into heights[0..n_gates-1]
 * (`cap` is the room in `heights`): the natural levels of a single-elevation
 * cone. The ray must point above the horizon. */
int cf_wind_levels_from_ray(cf_ctx *ctx, const cf_wind_ray *ray, double *heights, int cap);

/* --- input from vendor readers ------------------------------------------------
 * A reader in ingest/ cannot know this header (layers point down), so the
 * bridge from its plain structs to rays is here. */

/* Every ray of a WindCube scan (ingest/windcube.h) into rays[0..*n_rays-1]
 * (`cap` is the room in `rays`), pointing into the scan's buffers: sigma
 * NULL (the files carry no uncertainty), valid = the reader's mask. */
struct cf_windcube_scan;
int cf_wind_rays_from_windcube(cf_ctx *ctx, const struct cf_windcube_scan *wc, cf_wind_ray *rays,
                               int cap, cf_wind_scan *scan);

#endif
