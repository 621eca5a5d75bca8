/*
 * Raster values at points: the features of a biomass model at its training
 * plots or footprints, and the map at the plots of a difference estimator.
 *
 * Points arrive as WGS84 lon/lat (plots tables, GEDI) and are taken to the
 * grid's CRS with OGR/PROJ (traditional lon, lat axis order). A point takes
 * the value of the pixel that contains it (nearest-centre sampling, as
 * gdallocationinfo): the models here are fitted between a plot and the
 * pixel it falls in, so no interpolation is wanted. The values come through
 * the tile engine like any consumer's, so a point's value is what the map
 * writer writes for that pixel, bit for bit.
 */
#ifndef CF_RASTER_SAMPLE_H
#define CF_RASTER_SAMPLE_H

#include <stdint.h>

#include "raster/raster.h"

/* lon/lat (degrees, WGS84) to the CRS `wkt` (x[i], y[i]); a point PROJ
 * cannot transform gets NaN. */
int cf_lonlat_to_crs(cf_ctx *ctx, const char *wkt, int n, const double *lon, const double *lat, double *x,
                     double *y);

/* Every band of `r` at n points in the grid CRS: values[i*nbands + b] and
 * valid[i*nbands + b] (0 for a point outside the grid or an invalid pixel;
 * the value is then NaN). */
int cf_raster_sample_xy(cf_ctx *ctx, cf_raster *r, int n, const double *x, const double *y, double *values,
                        uint8_t *valid);

#endif
