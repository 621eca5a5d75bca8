/* A GDAL raster file as a tile-graph node in its own grid (see source.c). */
#ifndef CF_RASTER_SOURCE_H
#define CF_RASTER_SOURCE_H

#include "ingest/raster_info.h"
#include "raster/raster.h"

/* Open and validate `path` (see cf_raster_info_read); NULL + error frame on failure. */
cf_raster *cf_source_create(cf_ctx *ctx, const char *path, const cf_raster_open_opts *opts);
/* The description of a source node, or NULL if `r` is not one. */
const cf_raster_info *cf_source_info(const cf_raster *r);

#endif
