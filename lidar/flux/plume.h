/*
 * Gaussian plume forward model: the CO2 enhancement (ppm) a lidar gate sees
 * per unit emission (1 t CO2/h) of a candidate source, i.e. the columns
 * H[:, j] of the Jacobian a flux inversion needs (issue 9).
 *
 * Model. A steady source of Q mol/s at effective height H in a uniform
 * wind u from direction theta, with a mixed layer of depth h (the
 * boundary-layer height, BLH) over flat ground, gives at downwind distance
 * x > 0, crosswind offset y and height z (geometry.h for x, y):
 *
 *   C = Q / u * Gy(y) * Gz(z),    Gy = exp(-y^2 / 2 sy^2) / (sqrt(2 pi) sy)
 *   Gz = 1/(sqrt(2 pi) sz) * sum_k [ exp(-(z - H - 2kh)^2 / 2 sz^2)
 *                                  + exp(-(z + H - 2kh)^2 / 2 sz^2) ]
 *
 * (k over all integers: the images of total reflection at the ground and at
 * the top of the mixed layer), in mol/m^3. For k = 0 alone and no lid this
 * is the textbook Q/(2 pi u sy sz) exp(..)[exp(..) + exp(..)].
 * The image series converges fast while sz < h. Its Poisson-summed form
 *
 *   Gz = 1/(2h) * sum_m eps_m exp(-pi^2 m^2 sz^2 / (2 h^2))
 *               * [cos(pi m (z - H)/h) + cos(pi m (z + H)/h)],
 *   eps_0 = 1, eps_m = 2 (m >= 1)
 *
 * is the same function and converges fast once sz >= h; we use it there.
 * Its m = 0 term is the well-mixed limit Gz = 1/h, i.e.
 * C = Q/(sqrt(2 pi) u sy h) exp(-y^2/2sy^2); the first neglected term is
 * 2 exp(-pi^2 sz^2 / (2 h^2)) relative: 1.4e-2 at sz = h, 5e-9 at sz = 2h,
 * under 1e-17 (dropped: the series is then just the limit) beyond sz = 2.9 h.
 * So "well mixed beyond a distance" happens by itself, without a switch
 * and without a jump in the Jacobian. Both series are summed until the
 * next terms are below 1e-17 of the leading one; they agree to ~1e-15 at
 * sz = h. The integral of Gz over [0, h] is exactly 1 (mass conserved):
 * the test integrates u C over the crosswind plane and gets Q.
 *
 * Outside the model: x <= 0 (upwind or abeam) gives 0; a receptor below
 * the ground or above the BLH gives 0 (the plume is trapped below the lid;
 * a gate in the free troposphere sees none of it). A source must be within
 * [0, h] (checked by cf_plume_jacobian).
 *
 * Units. Q = 1 t CO2/h = 1 / 0.158434 mol/s (../shared/spec/flux-io.md);
 * the enhancement in ppm is 1e6 C / n_air with the dry-air molar density
 * n_air (mol/m^3) the caller gives (from p and T, lidar/atmosphere.h:
 * n_dry / N_A). Results are ppm per (t CO2/h): linear in Q, so a negative
 * rate (a sink) simply gives a negative enhancement.
 *
 * Dispersion: Briggs (1973) open-country (rural) curves, as tabulated by
 * Gifford (1976) and reproduced in Boubel, Fox, Turner and Stern,
 * "Fundamentals of Air Pollution", 3rd ed. (1994), Table 19-7, and in
 * Hanna, Briggs and Hosker (1982), "Handbook on Atmospheric Diffusion",
 * DOE/TIC-11223, Table 4.5; x in metres, stated for 100 m < x < 10 km:
 *
 *   class  sigma_y                       sigma_z
 *   A      0.22 x (1 + 0.0001 x)^-1/2    0.20 x
 *   B      0.16 x (1 + 0.0001 x)^-1/2    0.12 x
 *   C      0.11 x (1 + 0.0001 x)^-1/2    0.08 x (1 + 0.0002 x)^-1/2
 *   D      0.08 x (1 + 0.0001 x)^-1/2    0.06 x (1 + 0.0015 x)^-1/2
 *   E      0.06 x (1 + 0.0001 x)^-1/2    0.03 x (1 + 0.0003 x)^-1
 *   F      0.04 x (1 + 0.0001 x)^-1/2    0.016 x (1 + 0.0003 x)^-1
 *
 * Briggs gives no separate cap on sigma_z: for the stable classes the
 * (1 + 0.0003 x)^-1 form IS the cap, sigma_z -> 0.03/0.0003 = 100 m (E) and
 * 0.016/0.0003 = 53.3 m (F) as x grows. The unstable classes grow without
 * bound and are bounded here by the BLH (the reflections, then the
 * well-mixed limit), which is what a cap on sigma_z stands for in models
 * that have no lid. The formulas are used as written outside 100 m..10 km
 * too (they are smooth and monotone; below 100 m they are near-linear,
 * as the Pasquill-Gifford curves are). The curves are for about 10-min to
 * 1-h averages; a lidar scan of a few minutes sees a more meandering plume
 * than they describe: that is model error for the inversion to carry.
 *
 * Direction uncertainty. A forward model whose wind direction is off by
 * an angle d puts the plume axis at crosswind d x too far at downwind x.
 * Averaged over a Gaussian error d ~ N(0, sigma_dir^2), the small-angle
 * expected plume is the same Gaussian with variance sigma_y^2 +
 * (x tan sigma_dir)^2: what the caller knows of its direction's error (a
 * meandering wind, a noisy profile) widens the plume instead of leaving it
 * as an unmodelled error. sigma_dir = 0 leaves Briggs untouched.
 *
 * Vertical spread. The Briggs sigma_z is the least certain part of the
 * model: Turner's Workbook of Atmospheric Dispersion Estimates (EPA
 * AP-26, 1970, ch. 3) expects the Pasquill-Gifford sigma_z within a factor
 * of 2 only near the source and in neutral to moderately unstable air,
 * and worse beyond a few km; and the vertical profile a lidar's gates
 * sample at different heights decides what a unit emission looks like to
 * them. So the model takes a factor on sigma_z (sigma_z_scale), the class
 * keeping the curve's form: the flux estimate fits it to the data
 * (estimate_model_choice.c). Why it matters, measured on the simulator's
 * steady stack (150 m, 8 km upwind, its puffs growing as sqrt(2 K_z t) +
 * sigma_z0 with K_z = 10 m^2/s: 1.29-1.38 times class D's sigma_z between
 * 3 and 16 km): the crosswind integral of the simulator's plume over
 * class D's is 0.71-0.99 at the gates the PPIs put between 20 and 200 m
 * near the plume, and the inversion with class D returns 0.88 of the
 * truth on one steady draw; with sigma_z x 1.35, 0.99. sigma_y is not scaled: it is what the
 * direction term widens, and the crosswind integral does not depend on it.
 *
 * Area sources. cf_plume_grid_polygon cuts a polygon (in the local frame,
 * from geometry.h) into the cells of a square grid aligned on multiples of
 * the resolution, each with the exact area of its part inside (polygon
 * clipping) and that part's centroid. A cell emits in proportion to its
 * area, at ground level (or the height given). Integration over a cell:
 * a cell part of area a is taken as a square of side w = sqrt(a) centred
 * at its centroid (exact for whole cells; for parts cut by the polygon's
 * edge an equal-area square at the right centroid). In the wind's frame
 * the square's cross-section at along-wind coordinate t is a crosswind
 * segment whose ends are linear in t between the corners' t; over that
 * segment Gy is integrated exactly (a difference of error functions), and
 * along the wind the product with Gz by 3-point Gauss-Legendre on pieces
 * cut at the corners, no longer than a factor 1.5 in x nor than
 * 2 sigma_y (where the segment is narrower than the plume, the crosswind
 * capture rises from 0 to 1 within a few sigma_y, a step that three nodes
 * must not straddle), stopping 1 m from the receptor. The test measures a
 * 250 m cell, wind at 45 degrees to the grid, against 400 x 400 point
 * sources: relative error below 2e-5 at 1.5, 3 and 8 cell sides
 * downwind, on and off the plume axis. A far cell costs 3 pieces of 3
 * nodes; a near one more, growing like log(x_far / x_near).
 * The column of a whole area (per 1 t/h over the polygon) is the
 * area-weighted mean of its cells' columns; for a flux MAP each cell can be
 * a source of its own (an area source of one cell).
 *
 * Threads. Model init validates and precomputes; every evaluation is a
 * const, pure function of its arguments (thread-safe, no context).
 * cf_plume_jacobian fills rows on OpenMP threads; each element is computed
 * alone with a fixed summation order, so H is bitwise identical for any
 * thread count.
 */
#ifndef CF_LIDAR_FLUX_PLUME_H
#define CF_LIDAR_FLUX_PLUME_H

#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_T_PER_H_PER_MOL_S 0.158434 /* t CO2/h of 1 mol/s (flux-io.md) */

typedef enum {
  CF_STAB_A = 0, /* very unstable */
  CF_STAB_B,
  CF_STAB_C,
  CF_STAB_D, /* neutral */
  CF_STAB_E,
  CF_STAB_F /* moderately stable */
} cf_stability;
#define CF_STAB_COUNT 6

/* "A".."F" (either case) to a class; `where`/field name the setting. */
int cf_stability_parse(cf_ctx *ctx, const char *text, const char *where, cf_stability *out);
/* 'A'..'F' */
char cf_stability_letter(cf_stability s);

/* Briggs rural sigma_y and sigma_z (m) at downwind distance x_m > 0 (table
 * above). x_m <= 0 gives 0, 0. */
void cf_briggs_rural(cf_stability s, double x_m, double *sigma_y, double *sigma_z);

/* Daytime class from the standard deviation of the horizontal wind
 * direction sigma_A (degree, 1-h value at 10 m), by the sigma_A method of
 * EPA's "Meteorological Monitoring Guidance for Regulatory Modeling
 * Applications" (EPA-454/R-99-005, 2000, sec. 6.4.4, after Irwin 1980):
 * A >= 22.5, B >= 17.5, C >= 12.5, D >= 7.5, E >= 3.8, else F. The
 * night-time adjustment by wind speed of that guidance is NOT applied. */
int cf_stability_from_sigma_theta(cf_ctx *ctx, double sigma_a_deg, cf_stability *out);

/* The transport conditions of one scan. */
typedef struct {
  double wind_from_deg;  /* meteorological direction the wind comes FROM, degree */
  double wind_speed_ms;  /* transport speed u > 0 (a steady plume needs u >~ 1 m/s) */
  cf_stability stability;
  double blh_m;          /* boundary-layer (mixing) height h > 0, m */
  double n_air_mol_m3;   /* dry-air molar density, mol/m^3 (about 41.6 at 15 C, 1013 hPa) */
  double sigma_dir_deg;  /* 1-sigma uncertainty of wind_from_deg (>= 0; 0: none): the plume's
                            axis is then known only to +- x tan(sigma), and the crosswind
                            spread becomes sqrt(sigma_y^2 + (x tan(sigma_dir))^2), the
                            expected plume over that direction error (see below) */
  double sigma_z_scale;  /* multiplies the Briggs sigma_z (see "Vertical spread" below); 0 or 1:
                            the curves as written, else in [CF_PLUME_SZ_SCALE_MIN, _MAX] */
} cf_plume_met;

#define CF_PLUME_SZ_SCALE_MIN 0.25
#define CF_PLUME_SZ_SCALE_MAX 4.0

/* Validated met and its precomputed factors. Plain data: copy freely. */
typedef struct {
  cf_plume_met met;
  double de, dn;      /* unit vector of travel (downwind) in (e, n) */
  double ppm_factor;  /* 1e6 * (1 / 0.158434) / (u * n_air): ppm per (t/h) per (Gy Gz) */
  double tan_dir;     /* tan(sigma_dir): the direction uncertainty's crosswind growth per m */
  double sz_scale;    /* the factor on the Briggs sigma_z (1: as written) */
} cf_plume_model;

int cf_plume_model_init(cf_ctx *ctx, const cf_plume_met *met, cf_plume_model *model);

/* A receptor (a gate): local (e, n) in m, z its height above the ground, m
 * (cf_geo_gate_enu, cf_geo_gate_height_agl). */
typedef struct {
  double e, n, z;
} cf_plume_receptor;

/* ppm at `r` per 1 t CO2/h from a point source at (se, sn), effective
 * height h_src_m in [0, blh] (NaN if not). */
double cf_plume_point(const cf_plume_model *m, double se, double sn, double h_src_m,
                      const cf_plume_receptor *r);

/* erfc(u) from the table the cell integration uses (plume.c): for the
 * test, which compares it with libm's. */
double cf_plume_erfc(double u);

/* One cell (or cell part) of an area source. */
typedef struct {
  double e, n;    /* centroid of the part inside the polygon, local m */
  double area_m2; /* area of that part, > 0 */
} cf_plume_cell;

/* ppm at `r` per 1 t CO2/h from ONE cell (the sub-cell integration above),
 * released at height h_src_m (0 for a surface area). */
double cf_plume_cell_ppm(const cf_plume_model *m, const cf_plume_cell *c, double h_src_m,
                         const cf_plume_receptor *r);

/* The vertical factor Gz of one receptor height z and release height H
 * as a function of the downwind distance, tabulated: Gz depends on x only
 * through sigma_z (Briggs, by stability class) and on the BLH, so one
 * table serves every wind direction and speed of a run, and a Jacobian
 * row (one gate, every cell) computes its reflections series once
 * instead of at every integration node. Nodes at log-spaced x (2.2 %
 * apart) from 1 m to x_max; linear interpolation in log Gz. The test
 * integrates 1 km cells with and without the table at gate heights 12,
 * 80 and 300 m: relative differences 2e-5 to 4e-4 (bound 1e-3), against
 * a model error of tens of per cent. */
#define CF_PLUME_VTABLE_N 512
typedef struct {
  cf_stability stability;
  double blh_m, z, h_src, x_max;
  double sz_scale; /* the model's factor on sigma_z */
  double log_x0, inv_dlog;
  double log_g[CF_PLUME_VTABLE_N]; /* -inf where Gz underflows */
} cf_plume_vtable;

void cf_plume_vtable_init(const cf_plume_model *m, double z, double h_src_m, double x_max_m, cf_plume_vtable *t);

/* cf_plume_cell_ppm with Gz from the table (made for this receptor's z,
 * this H and the model's stability and BLH; beyond x_max computed), and a
 * cheaper rule for far cells (below). */
double cf_plume_cell_ppm_vt(const cf_plume_model *m, const cf_plume_vtable *t, const cf_plume_cell *c,
                            const cf_plume_receptor *r);

/* The far-cell rule: most cells of a Jacobian row are kilometres upwind of
 * the gate, where the plume is wider than the cell and every factor of the
 * integrand is smooth across it. There the exact integration (three
 * along-wind pieces between the square's corners, each with 3 nodes and
 * two erfc for the cross-section) is replaced by the 3 x 3 Gauss-Legendre
 * product rule over the square: 9 point columns (one exp each for Gy, Gz
 * from the table). NaN where the cell is not far enough by the criteria
 * in plume.c; cf_plume_cell_ppm_vt then integrates exactly. The test
 * compares it with the exact integration (cf_plume_cell_ppm) over random
 * cells, gate heights, stabilities and directions: relative difference
 * below 1e-3 (the table's own bound), measured figures in the test. */
double cf_plume_cell_ppm_far(const cf_plume_model *m, const cf_plume_vtable *t, const cf_plume_cell *c,
                             const cf_plume_receptor *r);

/* ppm at `r` per 1 t CO2/h emitted by the whole area (cells weighted by
 * area, summed in index order). */
double cf_plume_area(const cf_plume_model *m, const cf_plume_cell *cells, int n_cells,
                     double h_src_m, const cf_plume_receptor *r);

/* Grid a simple polygon (vertices ve[i], vn[i] in the local frame, either
 * orientation, not repeated at the end; no holes) into cells of res_m.
 * With cells == NULL only counts: *n_cells = the number needed. Otherwise
 * fills up to `cap` cells (CF_EINVAL, with *n_cells = the number needed,
 * if they do not fit). *area_m2 (may be NULL) = the polygon's area. */
int cf_plume_grid_polygon(cf_ctx *ctx, const double *ve, const double *vn, int nv, double res_m,
                          cf_plume_cell *cells, int cap, int *n_cells, double *area_m2);

typedef enum { CF_PLUME_POINT = 0, CF_PLUME_AREA = 1 } cf_plume_kind;

/* One column of the Jacobian. */
typedef struct {
  cf_plume_kind kind;
  double e, n;     /* CF_PLUME_POINT: position, local m */
  double height_m; /* effective release height (0 for a surface area) */
  const cf_plume_cell *cells; /* CF_PLUME_AREA: the caller's cells */
  int n_cells;
} cf_plume_source;

/* Fill H[i * ld + j] (ppm per t CO2/h) for receptors i < n_rec and sources
 * j < n_src; ld >= n_src. H is the caller's (n_rec rows of ld doubles);
 * columns j >= n_src are not touched. Validates everything first
 * (CF_EINVAL: finite positions, 0 <= height <= blh, cells with area > 0).
 * Rows are spread over the context's threads. */
int cf_plume_jacobian(cf_ctx *ctx, const cf_plume_model *m, const cf_plume_receptor *rec, int n_rec,
                      const cf_plume_source *src, int n_src, double *H, size_t ld);

#endif
