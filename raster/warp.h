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

/* --- nodata that never collides with data ---------------------------------------
 * A raster written as an integer type needs a nodata value that no valid
 * pixel has, or valid pixels are lost (a Byte image with valid 255s written
 * with nodata 255). The default candidate: the file's nodata when the node
 * is a file seen through warps only, all its bands share one nodata and
 * `type` holds it (its valid pixels never have it); otherwise 255 for Byte,
 * 65535 for UInt16, 4294967295 for UInt32, -9999 for the rest.
 * A guard node passes `src` through unchanged and records which values the
 * valid pixels take once converted to `type` (as GDAL converts them), so
 * that after writing it can say whether the nodata collided and which
 * value is free. */
double cf_nodata_candidate(const cf_raster *src, const char *type);
cf_raster *cf_nodata_guard_create(cf_ctx *ctx, cf_raster *src, const char *type, double nodata);
/* After the guard was read everywhere: 0 if no valid pixel has the nodata;
 * 1 if some do, with *free_value a value no valid pixel has (the type's
 * default if free, else the one nearest the type's top); -1 if every value
 * of the type occurs in the data. */
int cf_nodata_guard_result(const cf_raster *guard, double *free_value);

/* The resampling names accepted, NULL-terminated. */
extern const char *const cf_resampling_names[];

#endif
