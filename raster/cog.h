/*
 * Writing a node to a Cloud-Optimized GeoTIFF.
 *
 * GDAL's COG driver only copies from an existing dataset, so the writer
 * first evaluates the node tile by tile into an uncompressed temporary
 * GTiff (sequential writes, bounded memory), then lets the COG driver
 * compress it with NUM_THREADS and build overviews. Both files live next to
 * the destination under part names and the COG is renamed into place only
 * when complete (core/fsutil.h).
 */
#ifndef CF_RASTER_COG_H
#define CF_RASTER_COG_H

#include "raster/raster.h"

typedef struct {
  const char *type;        /* GDAL type name, default "Float32" */
  int have_nodata;
  double nodata;           /* default -9999 (255 for Byte, 65535 for UInt16) */
  const char *compress;    /* DEFLATE (default), LZW, ZSTD, NONE */
  int level;               /* compression level, 0 = driver default */
  const char *predictor;   /* YES, NO, STANDARD, FLOATING_POINT; NULL = driver default */
  int blocksize;           /* default 512 */
  const char *overviews;   /* AUTO (default) or NONE */
  const char *overview_resampling; /* default AVERAGE */
  const char *const *metadata;     /* KEY=VALUE strings written to the dataset, NULL-ended */
} cf_cog_options;

int cf_cog_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *opts);

/* Validate an options set before anything runs (type known, nodata
 * representable, compression known). `where` names the stage for messages. */
int cf_cog_options_check(cf_ctx *ctx, const cf_cog_options *opts, const char *where);

#endif
