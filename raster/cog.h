/*
 * Writing a node to a Cloud-Optimized GeoTIFF.
 *
 * Two writers behind one call, chosen by the options
 * (cf_cog_stream_supports):
 *
 * The streaming writer (raster/cog_stream.c), for DEFLATE, ZSTD and NONE
 * with AVERAGE overviews (or none) - every default. One pass: the tile
 * engine evaluates the node in COG tiles, in Z order; each worker thread
 * converts its tile to the file's type, runs the predictor and codec
 * (raster/tile_codec.c) and appends it to a scratch file beside the
 * output; overviews of every level, down to one tile, are built as the
 * tiles stream in and compressed by the workers too; at the end
 * raster/tiff_write.c lays the COG out (GDAL's ghost header, every IFD
 * first, the smallest overview's tiles first, BigTIFF only past 4 GiB) and
 * the part file is renamed into place. GDAL writes only a header-only
 * template in memory, whose GeoTIFF and GDAL tags (CRS, geotransform,
 * nodata, metadata, band descriptions, scale/offset) are copied into our
 * IFDs byte for byte. No uncompressed temporary file, no second pass, no
 * decode-and-recompress: what GDAL 3.6's COG driver forced on the writer
 * before it (three passes and a 400 MB temporary file at 10000^2, the
 * overviews single-threaded). Memory is a few tiles per thread plus one
 * tile per overview level; the file is the same bytes for any thread count.
 *
 * GDAL's COG driver (gdal_cog_write in cog.c), for the rest (LZW, LZMA,
 * the LERC codecs with max_z_error, resamplings other than AVERAGE, tiles
 * not a multiple of 16): the node is evaluated into an uncompressed
 * temporary GTiff whose overviews are streamed in as the tiles come (the
 * levels a tile holds whole pixels of; GDAL builds the deeper ones), then
 * the COG driver compresses it with NUM_THREADS. Both files live next to
 * the destination under part names.
 *
 * Codec defaults (cf_cog_default_level, cf_cog_default_predictor, and
 * write.cog's `compress` in pipelines/stages_raster.c): the floating-point
 * predictor for float types, horizontal differencing for integers, level 1
 * for DEFLATE and ZSTD; the measurements are in cog.c and README
 * "Performance".
 */
#ifndef CF_RASTER_COG_H
#define CF_RASTER_COG_H

#include "raster/raster.h"

typedef struct {
  const char *type;        /* GDAL type name, default "Float32" */
  int have_nodata;
  double nodata;           /* default -9999 (255 for Byte, 65535 for UInt16) */
  const char *compress;    /* DEFLATE (NULL: the library's default; write.cog's stage default is ZSTD), LZW, ZSTD, NONE,
                              LERC, LERC_DEFLATE, LERC_ZSTD, LZMA */
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
