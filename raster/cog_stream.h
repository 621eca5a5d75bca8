/*
 * The streaming COG writer: tiles compressed in the tile engine's worker
 * threads, overviews built as the tiles stream in, the COG layout
 * assembled by us (raster/tiff_write.h). See raster/cog.h for when it is
 * used and what it writes.
 */
#ifndef CF_RASTER_COG_STREAM_H
#define CF_RASTER_COG_STREAM_H

#include "raster/cog.h"

/* 1 if cf_cog_stream_write writes `o` for a raster of `nbands` (codec
 * DEFLATE, ZSTD or NONE; overviews NONE or AVERAGE; a predictor the type
 * allows; a block size that is a multiple of 16), else 0: cf_cog_write
 * then takes GDAL's COG driver. `o` has passed cf_cog_options_check. */
int cf_cog_stream_supports(const cf_cog_options *o);

/* Put on GDAL dataset `dataset` (a GDALDatasetH) what every COG of `r`
 * carries: georeferencing, per band nodata, description and scale/offset,
 * the metadata items (raster/cog.c). */
void cf_cog_describe(void *dataset, cf_raster *r, const cf_cog_options *o, double nodata);

int cf_cog_stream_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *o);

#endif
