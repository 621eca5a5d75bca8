/*
 * One TIFF tile through its predictor and codec, as the COG writer's worker
 * threads do it (raster/cog_stream.c).
 *
 * Why our own: GDAL 3.6's COG driver can only copy an existing dataset and
 * always decodes and recompresses its source, so a streaming writer must
 * compress its tiles itself. The codecs are the libraries GDAL itself uses
 * here (libdeflate for DEFLATE, libzstd for ZSTD: `ldd libgdal.so`); the
 * predictors are written from their definitions:
 *  - 2, horizontal differencing (TIFF 6.0, section 14): in each row of the
 *    tile, every sample is replaced by its difference from the same band's
 *    sample one pixel to the left, modulo 2^bits (integer types);
 *  - 3, floating point (Adobe TIFF Technical Note 3, 2005): each row's
 *    samples are split into byte planes, most significant byte first
 *    (plane k holds byte k of every sample, counting from the most
 *    significant), and the bytes of that row are then differenced
 *    horizontally with a stride of the samples per pixel.
 * Decoding is GDAL's (libtiff's): the tests read our files back with it,
 * which is what makes it an independent check of both.
 *
 * A tile is always full size (tile_w x tile_h, pixel-interleaved samples,
 * little-endian as the file is "II"); the writer pads edge tiles.
 */
#ifndef CF_RASTER_TILE_CODEC_H
#define CF_RASTER_TILE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* TIFF Compression tag values */
enum { CF_TIFF_NONE = 1, CF_TIFF_DEFLATE = 8, CF_TIFF_ZSTD = 50000 };

typedef struct {
  int compression;      /* CF_TIFF_NONE, CF_TIFF_DEFLATE or CF_TIFF_ZSTD */
  int level;            /* DEFLATE 1-12, ZSTD 1-22 (ignored for NONE) */
  int predictor;        /* 1 none, 2 horizontal (integers), 3 floating point */
  int bytes_per_sample; /* 1, 2, 4 or 8 */
  int samples_per_pixel;
  int tile_w, tile_h;
} cf_tile_codec;

/* Per-thread compressor state and buffers (caller-owned workspace). */
typedef struct {
  void *deflate;  /* struct libdeflate_compressor * */
  void *zstd;     /* ZSTD_CCtx * */
  uint8_t *row;   /* one row, for predictor 3's byte planes */
  uint8_t *out;   /* compressed tile */
  size_t out_cap;
} cf_tile_coder;

/* Allocate `w` for `c`; 0 or -1 (out of memory). */
int cf_tile_coder_init(cf_tile_coder *w, const cf_tile_codec *c);
void cf_tile_coder_free(cf_tile_coder *w);

/* Bytes of one uncompressed tile. */
size_t cf_tile_codec_raw_bytes(const cf_tile_codec *c);

/* Apply the predictor to `tile` in place (cf_tile_codec_raw_bytes bytes). */
void cf_tile_predict(const cf_tile_codec *c, cf_tile_coder *w, uint8_t *tile);

/* Predictor then codec: `tile` is modified in place; the compressed bytes
 * are left in w->out (*n of them). 0, or -1 if the codec failed. */
int cf_tile_encode(const cf_tile_codec *c, cf_tile_coder *w, uint8_t *tile, size_t *n);

#endif
