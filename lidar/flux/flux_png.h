/*
 * The flux quicklook (flux_map.png of ../shared/spec/flux-io.md) and the
 * one GDAL copy step both flux maps are written through.
 *
 * Why pixels and not PLplot, which draws the L2 quicklooks
 * (lidar/quicklook.c): the picture is a small grid of cells with a few
 * marks on it, and a cell must land on known pixels (a test reads the
 * colour of a cell back); PLplot places the map inside a viewport of its
 * own, keeps global state, and its cairo device does not report a failed
 * write. Here every cell is a square of whole pixels, the marks are drawn
 * with Bresenham lines (raster/canvas.h, shared with the report's maps),
 * and GDAL's PNG driver reports what it could not write. The only text is the colour bar's: the scale value in a 5 x 7
 * bitmap font (digits, sign, exponent and the unit); the scale is also in
 * the PNG's text chunk "flux_scale_umol_m2_s".
 *
 * The picture: north up, `px` pixels per cell so that the image is about
 * 800 pixels wide (never fewer than one per cell); a diverging colour scale
 * symmetric about 0 (blue sinks, white 0, red sources) whose end is the
 * 98th percentile of |flux|; grey where the flux is not estimated; the
 * scan footprint of every sweep in dark grey (arcs at its minimum and
 * maximum horizontal range, the two radial edges unless it is a full
 * circle); area sources as hollow black squares at their centroid, point
 * sources as filled black squares in a white rim, the lidar as a black
 * cross; under the map a strip with the colour bar and its scale.
 */
#ifndef CF_LIDAR_FLUX_FLUX_PNG_H
#define CF_LIDAR_FLUX_FLUX_PNG_H

#include "lidar/flux/estimate.h"

#define CF_FLUX_PNG_TARGET_WIDTH 800
#define CF_FLUX_PNG_LEGEND_H 46 /* rows of the colour-bar strip under the map */

/* Pixels per cell of the quicklook of an nx-column grid. */
int cf_flux_png_cell_px(int nx);
/* The colour scale: the 98th percentile of |flux| over the estimated cells
 * (rank floor(0.98 (m - 1)) of the m sorted values), 1 if there is none or
 * it is 0. */
double cf_flux_png_scale(const cf_flux_grid *g);

/* Render r's flux map and write it as PNG into `part_path` (the part file
 * of `final_path`, which messages name). r->grid must exist (nx > 0). */
int cf_flux_png_write(cf_ctx *ctx, const cf_flux_result *r, const char *part_path, const char *final_path);

/* GDALCreateCopy of `src` with `driver` into `part_path`, closed and
 * checked (GDAL 3.6's close returns nothing: a failed flush shows as the
 * thread's last error). GDAL's .aux.xml side files are switched off for
 * the copy, so nothing but the part file is created. Errors name
 * `final_path`. `src` is a GDALDatasetH. */
int cf_flux_gdal_copy(cf_ctx *ctx, void *src, const char *driver, char **options, const char *part_path,
                      const char *final_path);

#endif
