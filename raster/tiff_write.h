/*
 * The Cloud-Optimized GeoTIFF layout, assembled from compressed tiles.
 *
 * The streaming COG writer (raster/cog_stream.c) compresses tiles in any
 * order into a scratch file; this file lays them out as GDAL's COG driver
 * does, so that GDAL reports LAYOUT=COG and its validator accepts the file:
 *  - the TIFF header (classic, or BigTIFF when the file would pass 4 GiB,
 *    known exactly here because every tile's size is), then GDAL's "ghost
 *    header" (GDAL_STRUCTURAL_METADATA: LAYOUT=IFDS_BEFORE_DATA,
 *    BLOCK_ORDER=ROW_MAJOR, BLOCK_LEADER=SIZE_AS_UINT4,
 *    BLOCK_TRAILER=LAST_4_BYTES_REPEATED, KNOWN_INCOMPATIBLE_EDITION=NO);
 *  - every IFD before any data, the full resolution first, then overviews
 *    (NewSubfileType 1) from the largest down, each followed by its
 *    out-of-line values;
 *  - the tile data, smallest overview first and the full resolution last,
 *    each level row-major, each tile as GDAL's block leader (its size as a
 *    little-endian uint32), the data, and the trailer (its last 4 bytes
 *    again), which lets a reader check a range request.
 * The layout depends only on the tiles' sizes and contents, never on the
 * order they were compressed in, so the file is the same for any thread
 * count.
 *
 * Georeferencing and GDAL's own tags are not written by hand: GDAL writes
 * a template GTiff with the dataset's SRS, geotransform, nodata and
 * metadata, and cf_tiff_read_tags copies those tags out of it byte for byte
 * (GeoTIFF 33550, 33922, 34264, 34735-34737; GDAL_METADATA 42112,
 * GDAL_NODATA 42113).
 */
#ifndef CF_RASTER_TIFF_WRITE_H
#define CF_RASTER_TIFF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "carbonflux/ctx.h"

/* One tag with its value bytes (little-endian, as in the file). */
typedef struct {
  uint16_t tag, type;
  uint64_t count;
  uint8_t *bytes;
  size_t nbytes;
} cf_tiff_tag;

typedef struct {
  cf_tiff_tag *tags; /* ascending tag numbers */
  int n;
} cf_tiff_tags;

/* Read from the first IFD of the little-endian TIFF or BigTIFF in buf the
 * tags listed in `keep` (ascending). 0, or -1 with a reason in err. */
int cf_tiff_read_tags(const uint8_t *buf, size_t n, const uint16_t *keep, int nkeep, cf_tiff_tags *out, char *err,
                      size_t errn);
void cf_tiff_tags_free(cf_tiff_tags *t);

/* Bytes a tile's blob takes in the scratch file and the COG: leader, data,
 * trailer. */
#define CF_COG_BLOB_EXTRA 8

typedef struct {
  int width, height, ntx, nty;
  uint64_t *blob_off;  /* ntx*nty: where the tile's blob starts in the scratch file */
  uint32_t *data_bytes;/* ntx*nty: its compressed bytes (the blob is 8 more) */
} cf_cog_level;

typedef struct {
  int tile;                         /* tile width = height */
  int nbands, bytes_per_sample;
  int sample_format;                /* 1 unsigned, 2 signed integer, 3 float */
  int compression, predictor;       /* TIFF tag values */
  int nlevels;                      /* 1 + overviews */
  const cf_cog_level *levels;       /* [0] full resolution, then halving */
  const cf_tiff_tags *main_tags;    /* copied into the full resolution's IFD */
  const cf_tiff_tags *ovr_tags;     /* copied into every overview's IFD */
  int nthreads;                     /* threads copying the tiles into place */
} cf_cog_layout;

/* Write the COG to out_fd (an empty file) from the blobs in scratch_fd.
 * `path` names the output in messages. Progress into [p0, p1]. */
int cf_cog_assemble(cf_ctx *ctx, const cf_cog_layout *L, int scratch_fd, int out_fd, const char *path, double p0,
                    double p1);

/* Test only: the file size from which BigTIFF is written (default 4 GiB - 1),
 * so a test can force BigTIFF on a small file. */
void cf_cog_set_bigtiff_threshold(uint64_t bytes);

#endif
