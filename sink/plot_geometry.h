/*
 * Plot geometry: the horizontal area a field plot stands for, and the
 * per-hectare expansion factor of a nested-plot ring.
 *
 * Biomass per hectare is biomass per unit of HORIZONTAL area (strata areas
 * come from maps, which are horizontal projections). A circular plot whose
 * radius tape is laid along the ground on a slope of angle s covers, seen
 * from above, an ellipse with semi-axes r and r cos(s): its horizontal area
 * is pi r^2 cos(s), smaller than the nominal pi r^2. The example in
 * tests/test_plot_geometry.c is Winrock International's guidance on plot
 * layout (Pearson, Walker and Brown 2005, "Sourcebook for Land Use,
 * Land-Use Change and Forestry Projects", BioCarbon Fund): a 20 m radius
 * plot on a 25 degree slope covers 0.11 ha, not 0.126 ha (quoted as the
 * project's brief gives it; the formula gives it: 1256.6 m2 x cos 25 =
 * 1138.9 m2). Two ways out follow
 * from it, and both are here:
 *   - keep the tape radius and use the smaller horizontal area in the
 *     expansion factor (cf_plot_area_slope_ha; what the forest-io contract's
 *     radius_m + slope_deg columns mean), or
 *   - lengthen the radius on the slope so that the horizontal area is the
 *     nominal one: pi r'^2 cos(s) = pi r^2, i.e. r' = r / sqrt(cos s)
 *     (cf_plot_radius_slope_corrected_m; the field crew's table).
 * The ellipse is exact for a plane slope; real terrain is not a plane, and
 * that error is the field protocol's, not ours.
 *
 * Nested plots measure small stems in a small inner circle and large stems
 * in the larger rings; each stem then stands for 1 / (ring area) stems per
 * hectare: the expansion factor 10000 / (pi r^2) for a flat circle of
 * radius r metres (4, 14 and 20 m: 198.9, 16.24 and 7.96 per hectare).
 *
 * These functions are pure arithmetic on validated numbers; the readers
 * (sink/inventory.h) validate the table values and name the line.
 */
#ifndef CF_SINK_PLOT_GEOMETRY_H
#define CF_SINK_PLOT_GEOMETRY_H

#include "carbonflux/ctx.h"

#define CF_PLOT_MAX_SLOPE_DEG 89.0 /* a plot "laid out" on a steeper face is a typo */

/* Horizontal area (ha) of a circle of radius `radius_m` laid out along a
 * plane slope of `slope_deg`: pi r^2 cos(slope) / 10000. `where` names the
 * source in messages. CF_EINVAL for r <= 0, a non-finite value, or a slope
 * outside [0, CF_PLOT_MAX_SLOPE_DEG]. */
int cf_plot_area_slope_ha(cf_ctx *ctx, const char *where, double radius_m, double slope_deg,
                          double *area_ha);

/* The radius to lay out along the slope so that the horizontal area is
 * pi r^2: r / sqrt(cos(slope)). Same checks as above. */
int cf_plot_radius_slope_corrected_m(cf_ctx *ctx, const char *where, double radius_m,
                                     double slope_deg, double *radius_on_slope_m);

/* Stems per hectare each measured stem stands for in a plot (or ring) of
 * horizontal area `area_ha`: 1 / area_ha. CF_EINVAL unless area_ha > 0. */
int cf_plot_expansion_factor(cf_ctx *ctx, const char *where, double area_ha, double *per_ha);

/* The same for a circle of radius `radius_m` on a slope: 10000 /
 * (pi r^2 cos(slope)) (slope 0: a flat nested ring). */
int cf_plot_expansion_factor_circle(cf_ctx *ctx, const char *where, double radius_m,
                                    double slope_deg, double *per_ha);

#endif
