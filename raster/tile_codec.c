/* Predictors and codecs of one TIFF tile; see tile_codec.h. */
#include "raster/tile_codec.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

size_t cf_tile_codec_raw_bytes(const cf_tile_codec *c) {
  return (size_t)c->tile_w * c->tile_h * c->samples_per_pixel * c->bytes_per_sample;
}

int cf_tile_coder_init(cf_tile_coder *w, const cf_tile_codec *c) {
  memset(w, 0, sizeof *w);
  size_t raw = cf_tile_codec_raw_bytes(c);
  size_t bound = raw;
  if (c->compression == CF_TIFF_DEFLATE) {
    w->deflate = libdeflate_alloc_compressor(c->level);
    if (!w->deflate) return -1;
    bound = libdeflate_zlib_compress_bound(w->deflate, raw);
  } else if (c->compression == CF_TIFF_ZSTD) {
    w->zstd = ZSTD_createCCtx();
    if (!w->zstd) return -1;
    bound = ZSTD_compressBound(raw);
  }
  w->row = malloc((size_t)c->tile_w * c->samples_per_pixel * c->bytes_per_sample);
  w->out = malloc(bound);
  w->out_cap = bound;
  if (!w->row || !w->out) {
    cf_tile_coder_free(w);
    return -1;
  }
  return 0;
}

void cf_tile_coder_free(cf_tile_coder *w) {
  if (w->deflate) libdeflate_free_compressor(w->deflate);
  if (w->zstd) ZSTD_freeCCtx(w->zstd);
  free(w->row);
  free(w->out);
  memset(w, 0, sizeof *w);
}

/* Horizontal differencing of one row of `n` samples of type T, stride
 * `spp`, from the right so each sample loses its original left neighbour;
 * unsigned arithmetic is the modulo 2^bits the definition asks for. */
#define DIFF_ROW(T, row, n, spp)                                           \
  do {                                                                     \
    T *p_ = (T *)(row);                                                    \
    for (size_t i_ = (n); i_-- > (size_t)(spp);) p_[i_] = (T)(p_[i_] - p_[i_ - (spp)]); \
  } while (0)

static void predict_horizontal(const cf_tile_codec *c, uint8_t *tile) {
  size_t n = (size_t)c->tile_w * c->samples_per_pixel;
  size_t row_bytes = n * c->bytes_per_sample;
  for (int y = 0; y < c->tile_h; y++) {
    uint8_t *row = tile + (size_t)y * row_bytes;
    switch (c->bytes_per_sample) {
      case 1: DIFF_ROW(uint8_t, row, n, c->samples_per_pixel); break;
      case 2: DIFF_ROW(uint16_t, row, n, c->samples_per_pixel); break;
      case 4: DIFF_ROW(uint32_t, row, n, c->samples_per_pixel); break;
      default: DIFF_ROW(uint64_t, row, n, c->samples_per_pixel); break;
    }
  }
}

/* Technical Note 3: byte planes, most significant first, then bytes
 * differenced with the pixel's sample count as stride. The samples are
 * little-endian in memory, so byte k of the significance order is byte
 * (bps - 1 - k) of the sample. The planes go to the coder's row buffer and
 * the differences come back into the tile, both passes forward and
 * branch-free (an in-place backward difference over a runtime stride does
 * not vectorise). */
static void predict_float(const cf_tile_codec *c, cf_tile_coder *w, uint8_t *tile) {
  size_t n = (size_t)c->tile_w * c->samples_per_pixel, spp = (size_t)c->samples_per_pixel;
  int bps = c->bytes_per_sample;
  size_t row_bytes = n * bps;
  uint8_t *planes = w->row;
  for (int y = 0; y < c->tile_h; y++) {
    uint8_t *row = tile + (size_t)y * row_bytes;
    if (bps == 4) {
      uint8_t *p0 = planes, *p1 = planes + n, *p2 = planes + 2 * n, *p3 = planes + 3 * n;
      for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, row + 4 * i, 4);
        p0[i] = (uint8_t)(v >> 24), p1[i] = (uint8_t)(v >> 16), p2[i] = (uint8_t)(v >> 8), p3[i] = (uint8_t)v;
      }
    } else {
      for (int k = 0; k < bps; k++) {
        uint8_t *plane = planes + (size_t)k * n;
        const uint8_t *src = row + (bps - 1 - k);
        for (size_t i = 0; i < n; i++) plane[i] = src[i * bps];
      }
    }
    memcpy(row, planes, spp);
    for (size_t j = spp; j < row_bytes; j++) row[j] = (uint8_t)(planes[j] - planes[j - spp]);
  }
}

void cf_tile_predict(const cf_tile_codec *c, cf_tile_coder *w, uint8_t *tile) {
  if (c->predictor == 2) predict_horizontal(c, tile);
  else if (c->predictor == 3) predict_float(c, w, tile);
}

int cf_tile_encode(const cf_tile_codec *c, cf_tile_coder *w, uint8_t *tile, size_t *n) {
  size_t raw = cf_tile_codec_raw_bytes(c);
  cf_tile_predict(c, w, tile);
  if (c->compression == CF_TIFF_DEFLATE) {
    *n = libdeflate_zlib_compress(w->deflate, tile, raw, w->out, w->out_cap);
    return *n ? 0 : -1;
  }
  if (c->compression == CF_TIFF_ZSTD) {
    size_t r = ZSTD_compressCCtx(w->zstd, w->out, w->out_cap, tile, raw, c->level);
    if (ZSTD_isError(r)) return -1;
    *n = r;
    return 0;
  }
  memcpy(w->out, tile, raw);
  *n = raw;
  return 0;
}
