/*
 * What the writers of a flux estimate's outputs share and their users do
 * not. The outputs are
 *   flux_write.c    the four files together (all or none), the GeoTIFF,
 *                   the result's check and the rule for reported rates;
 *   flux_summary.c  flux_summary.json (cf_flux_summary_json, estimate.h);
 *   flux_l3.c       flux_l3.nc, the source table and the flux map;
 *   flux_png.c      flux_map.png, the quicklook.
 * Why shared: the JSON and the L3 file report the same rate for a source
 * and both refuse a result the same way, so the rule and the check are
 * written once (flux_write.c).
 */
#ifndef CF_LIDAR_FLUX_FLUX_WRITE_INTERNAL_H
#define CF_LIDAR_FLUX_FLUX_WRITE_INTERNAL_H

#include "core/fsutil.h"
#include "lidar/flux/estimate.h"

/* Did the inversion / the mass balance run (the result's method)? */
int cf_flux_inversion_ran(const cf_flux_result *r);
int cf_flux_mass_balance_ran(const cf_flux_result *r);

/* The rate and sigma reported for source i (NaN: none): the inversion's
 * when it ran, else the mass balance's where it isolated the source. */
void cf_flux_reported_rate(const cf_flux_result *r, int i, double *rate, double *sigma);

/* What the writers rely on, checked once: CF_EINVAL names the field, in
 * the message at `where` (the file or directory being written). */
int cf_flux_result_check(cf_ctx *ctx, const cf_flux_result *r, const char *where);

/* Fill the L3 file's part (af->part_path; errors name af->final_path):
 * wkt, lat and lon [ny * nx] are the grid's CRS and cell centres (unused
 * without a grid). The caller commits or discards the part. */
int cf_flux_l3_write(cf_ctx *ctx, const cf_flux_result *r, const cf_atomic_file *af, const char *wkt,
                     const double *lat, const double *lon);

#endif
