/*
 * Writing a node to a Cloud-Optimized GeoTIFF.
 *
 * GDAL's COG driver only copies from an existing dataset, so the writer
 * first evaluates the node tile by tile into an uncompressed temporary
 * GTiff (sequential writes, bounded memory), then lets the COG driver
 * compress it with NUM_THREADS and copy it. Both files live next to the
 * destination under part names and the COG is renamed into place only
 * when complete (core/fsutil.h).
 *
 * Overviews (AVERAGE, the default) are built as the tiles stream in: each
 * tile is halved into the temporary file's overview levels in the same
 * ordered pass (cog.c, ovr_stream), so there is no second, single-threaded
 * pass over the full-size file; only levels coarser than a tile are made
 * by GDAL at the end, from the finest of those, and they are small.
 *
 * What was measured and left: the temporary file stays uncompressed. On
 * the 2-core VM compressing it with ZSTD level 1 in GDAL's worker threads
 * cost more (compress + decode + the COG driver's recompression) than the
 * page writes it saved; and GDAL 3.6's COG driver always decodes and
 * recompresses its source's tiles (a ZSTD-1 source copied to ZSTD 9 comes
 * out 12 % smaller, so tiles are not copied raw), so a temporary file
 * already in the final codec would be compressed twice. Doing without the
 * temporary file means writing the COG layout (IFDs first, overviews
 * before the full resolution, GDAL's ghost header) and compressing tiles
 * ourselves: the remaining step of issue 12 point 2.
 *
 * Codec defaults (cf_cog_default_level, default_predictor in cog.c): level
 * 1 for DEFLATE and ZSTD, the floating-point predictor for float types;
 * the measurements are in cog.c.
 */
#ifndef CF_RASTER_COG_H
#define CF_RASTER_COG_H

#include "raster/raster.h"

typedef struct {
  const char *type;        /* GDAL type name, default "Float32" */
  int have_nodata;
  double nodata;           /* default -9999 (255 for Byte, 65535 for UInt16) */
  const char *compress;    /* DEFLATE (default), LZW, ZSTD, NONE, LERC, LERC_DEFLATE, LERC_ZSTD, LZMA */
  double max_z_error;      /* LERC codecs: the largest error allowed per pixel (0 = lossless) */
  int level;               /* compression level, 0 = cf_cog_default_level */
  const char *predictor;   /* YES, NO, STANDARD, FLOATING_POINT; NULL = FLOATING_POINT
                              (3) for float types, STANDARD (2) for integer
                              types with DEFLATE, LZW or ZSTD, none otherwise */
  int blocksize;           /* default 512 */
  const char *overviews;   /* AUTO (default) or NONE */
  const char *overview_resampling; /* default AVERAGE */
  const char *const *metadata;     /* KEY=VALUE strings written to the dataset, NULL-ended */
  int have_scale;          /* integer types only: every band's scale and offset are set */
  double scale, offset;    /* (the raster written holds round((x - offset) / scale):
                              see cf_cog_pack_create) */
} cf_cog_options;

int cf_cog_write(cf_ctx *ctx, cf_raster *r, const char *path, const cf_cog_options *opts);

/* The level used when none is given: 1 for DEFLATE (NULL) and ZSTD (as
 * small as GDAL's 6 and 9 on the benchmark maps for far less CPU: the
 * figures are in cog.c), 0 (the codec's own) for the others. */
int cf_cog_default_level(const char *compress);

/* Validate an options set before anything runs (type known, nodata
 * representable, compression known). `where` names the stage for messages. */
/* A node of round((x - offset) / scale) for every valid pixel of `src`
 * (invalid ones stay invalid): packs physical values into an integer type
 * whose band scale/offset (cf_cog_options) bring them back, as
 * `gdal_translate -scale` with `-a_scale/-a_offset`. Reading back with the
 * scale applied gives x within scale/2. */
cf_raster *cf_cog_pack_create(cf_ctx *ctx, cf_raster *src, double scale, double offset);

int cf_cog_options_check(cf_ctx *ctx, const cf_cog_options *opts, const char *where);

/* The nodata used when none is given: 255 for Byte, 65535 for UInt16,
 * 4294967295 for UInt32, -9999 otherwise. `type` is a GDALDataType. */
double cf_cog_default_nodata(int type);
/* The predictor used when none is given (GDAL's name), or NULL for none. */
const char *cf_cog_default_predictor(int type, const char *compress);

#endif
