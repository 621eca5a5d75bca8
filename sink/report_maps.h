/*
 * The report's maps: one band of the forest pool COG (carbon density
 * "total" or its per-pixel standard error "total_se", the bands
 * sink/pool_map.h names and write.cog writes) as a PNG, with the stratum
 * boundaries and the plots drawn on top and a colour bar with its scale
 * and unit underneath.
 *
 * Why pixels (raster/canvas.h) and not PLplot: the verifier compares the
 * map with the strata and plots it was given, and the test checks that a
 * boundary is drawn where the polygon is and a plot mark sits at its
 * pixel; every mark here lands on pixels computable from the geotransform.
 *
 * The picture:
 *   - north up, about CF_REPORT_MAP_WIDTH pixels wide: a wider raster is
 *     read into a buffer of that width with GDAL's average resampling (GDAL
 *     uses the COG's overviews when they fit; memory is the buffer's, not
 *     the raster's), a narrower one is repeated by a whole factor;
 *     image pixel (i, j) covers the raster's west + i pw ... west + (i+1) pw
 *     with pw = raster width x pixel size / image width (likewise rows);
 *   - the viridis colour ramp from 0 to the 98th percentile of the valid
 *     pixels rounded up to two significant digits (so the bar's numbers are
 *     short), values above it in its top colour; light grey where a pixel
 *     is invalid; no value below 0 is expected (pools, SEs) and one is drawn
 *     in the bottom colour;
 *   - strata: every ring of every polygon reprojected to the raster's CRS
 *     (OGR/PROJ; any OGR format, any CRS), drawn 2 pixels black on a
 *     4-pixel white halo;
 *   - plots (WGS84 lon/lat, the forest-io plot coordinates): an 11 x 11
 *     white square with a 7 x 7 red one (CF_REPORT_MAP_PLOT_RGB) at the
 *     plot's pixel;
 *   - under the map a white strip of CF_REPORT_MAP_LEGEND_H rows: the
 *     colour bar from 0 to the scale, ticks at 0, half and the scale, and
 *     the numbers with the unit.
 * The scale is also in the PNG's text chunk "carbonflux_scale".
 */
#ifndef CF_SINK_REPORT_MAPS_H
#define CF_SINK_REPORT_MAPS_H

#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_REPORT_MAP_WIDTH 800
#define CF_REPORT_MAP_LEGEND_H 52

extern const unsigned char CF_REPORT_MAP_PLOT_RGB[3];
extern const unsigned char CF_REPORT_MAP_LINE_RGB[3];

typedef struct {
  const char *cog_path;     /* the pool raster (any GDAL raster) */
  const char *band;         /* band description, e.g. "total" or "total_se" */
  const char *unit;         /* of the band, for the colour bar: "t C/ha" */
  const char *strata_path;  /* polygons, any OGR source; NULL: none */
  const char *strata_layer; /* NULL: the first layer */
  const double *plot_lon, *plot_lat; /* WGS84 degrees */
  int n_plots;
  int target_width; /* 0: CF_REPORT_MAP_WIDTH */
} cf_report_map_spec;

typedef struct {
  int w, h;        /* the image */
  int map_h;       /* rows of the map above the legend strip */
  double gt[6];    /* geotransform of the map's image pixels, raster CRS */
  double scale;    /* the colour bar's top value */
  long n_valid;    /* valid image pixels */
  int n_rings;     /* stratum rings drawn */
  int n_plots_in;  /* plots inside the map */
} cf_report_map_info;

/* Render the map; *png (malloc'ed) and *npng receive the PNG file's bytes.
 * CF_ENOENT for a missing file, CF_EDATA naming the file and the field for
 * a band that is not there, a raster without a CRS or rotated, strata
 * without a CRS or polygons; CF_ENOMEM, CF_EIO. `info` may be NULL. */
int cf_report_map_png(cf_ctx *ctx, const cf_report_map_spec *spec, unsigned char **png, size_t *npng,
                      cf_report_map_info *info);

#endif
