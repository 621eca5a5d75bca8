/*
 * The project grid and warping onto it.
 *
 * A project defines one grid (CRS, resolution, extent) and every raster is
 * warped onto it, so pixels of different inputs line up exactly. The extent
 * comes from an explicit box or from a boundary polygon layer, snapped
 * outwards to whole pixels (like gdalwarp -tap), so grids of different runs
 * with the same settings coincide.
 */
#ifndef CF_RASTER_WARP_H
#define CF_RASTER_WARP_H

#include "ingest/vector.h"
#include "raster/raster.h"

typedef struct {
  const char *crs;        /* EPSG:n, WKT or PROJ string; NULL = the source's */
  double res_x, res_y;    /* pixel size in grid units; 0 = from the source */
  int have_extent;
  double extent[4];       /* xmin, ymin, xmax, ymax in the grid CRS */
  const cf_vector *boundary; /* extent from these polygons (any CRS) */
  const char *where;      /* for messages: the stage or file defining the grid */
} cf_grid_spec;

/* Define the grid for warping `src` according to `spec`. Fails with
 * CF_EDATA if the grid and the source's footprint do not overlap. */
int cf_grid_define(cf_ctx *ctx, const cf_grid_spec *spec, const cf_raster *src, cf_grid *out);

/* A node that reads `src` resampled onto `grid`: any node, a file (a source
 * node, warped from the file as GDAL would) or a computed one (an index, a
 * clip: warped block by block from the windows it computes). `resampling`
 * is a gdalwarp name (near, bilinear, cubic, cubicspline, lanczos, average,
 * mode, min, max, med, q1, q3, sum, rms). */
cf_raster *cf_warp_create(cf_ctx *ctx, cf_raster *src, const cf_grid *grid, const char *resampling);

/* The resampling names accepted, NULL-terminated. */
extern const char *const cf_resampling_names[];

#endif
