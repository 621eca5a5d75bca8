/*
 * Polygons on the grid: which pixels a polygon covers, clipping, zonal stats.
 *
 * A pixel belongs to a polygon when its centre lies inside under the
 * even-odd rule (the GDAL rasterizer's default, so results match
 * gdal_rasterize). Coverage is computed row by row as spans [i0, i1): the
 * crossings of the row's centre line with every ring edge, sorted and
 * paired. That is O(edges) per row with no per-pixel point-in-polygon test,
 * and it needs nothing but plain arrays, so threads can share the polygons.
 */
#ifndef CF_RASTER_POLYGON_H
#define CF_RASTER_POLYGON_H

#include "ingest/vector.h"
#include "raster/raster.h"

typedef void (*cf_span_fn)(void *user, int row, int i0, int i1);

/* Call fn for every span of pixels of window `w` (row and columns relative
 * to the window) whose centres are inside `p`; `p` is in the grid's CRS. */
int cf_polygon_spans(const cf_polygon *p, const cf_grid *g, const cf_window *w, cf_span_fn fn,
                     void *user);

/* A node that keeps the pixels of `input` inside any polygon of `v` (in the
 * grid CRS) and marks the rest invalid. `v` is copied. */
cf_raster *cf_clip_create(cf_ctx *ctx, cf_raster *input, const cf_vector *v);

/* Statistics of one band over each polygon. */
typedef struct {
  char *label;
  long long pixels;       /* pixel centres inside the polygon */
  long long valid;        /* of those, valid pixels */
  double mean, min, max, stddev; /* of valid pixels (NaN if none) */
} cf_zone_stats;

/* Evaluate `band` of `r` over every polygon of `v` (any CRS; reprojected to
 * the grid). Returns an array of v->n stats (free with cf_zone_stats_free). */
int cf_zonal_stats(cf_ctx *ctx, cf_raster *r, int band, const cf_vector *v, cf_zone_stats **out);
void cf_zone_stats_free(cf_zone_stats *z, int n);

#endif
