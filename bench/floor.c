/* Decode and codec floors of a raster benchmark; see floor.h. */
#include "floor.h"

#include <gdal.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "raster/cog.h"
#include "raster/tile_codec.h"

#define WIN 512

/* CPU seconds (user + system) of this process so far: the floors'
 * CPU time, which other load on the machine inflates far less than wall. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Every band of `path` in WIN x WIN windows, each thread its own dataset. */
static double decode_floor(const char *path, int threads) {
  GDALDatasetH probe = GDALOpen(path, GA_ReadOnly);
  if (!probe) return -1;
  int w = GDALGetRasterXSize(probe), h = GDALGetRasterYSize(probe), nb = GDALGetRasterCount(probe);
  GDALDataType t = GDALGetRasterDataType(GDALGetRasterBand(probe, 1));
  GDALClose(probe);
  int ntx = (w + WIN - 1) / WIN, nty = (h + WIN - 1) / WIN, failed = 0;
  double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(| : failed)
  {
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    void *buf = malloc((size_t)WIN * WIN * nb * GDALGetDataTypeSizeBytes(t));
    failed |= !ds || !buf;
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < ntx * nty; i++) {
      int x0 = i % ntx * WIN, y0 = i / ntx * WIN;
      int nx = x0 + WIN <= w ? WIN : w - x0, ny = y0 + WIN <= h ? WIN : h - y0;
      if (ds && buf && GDALDatasetRasterIO(ds, GF_Read, x0, y0, nx, ny, buf, nx, ny, t, nb, NULL, 0, 0, 0) != CE_None)
        failed = 1;
    }
    free(buf);
    if (ds) GDALClose(ds);
  }
  return failed ? -1 : now_s() - t0;
}

typedef struct {
  unsigned char **tiles; /* raw, pixel-interleaved, padded */
  int n;
} tile_set;

/* Every tile of every level of `cog`, as the file's type, interleaved. */
static int load_tiles(const char *cog, cf_tile_codec *c, tile_set *ts) {
  GDALDatasetH ds = GDALOpen(cog, GA_ReadOnly);
  if (!ds) return -1;
  int nb = GDALGetRasterCount(ds), bw, bh;
  GDALRasterBandH b1 = GDALGetRasterBand(ds, 1);
  GDALGetBlockSize(b1, &bw, &bh);
  GDALDataType t = GDALGetRasterDataType(b1);
  int bps = GDALGetDataTypeSizeBytes(t);
  c->bytes_per_sample = bps, c->samples_per_pixel = nb, c->tile_w = bw, c->tile_h = bh;
  int nlev = 1 + GDALGetOverviewCount(b1), cap = 0;
  size_t raw = cf_tile_codec_raw_bytes(c);
  unsigned char *band = malloc((size_t)bw * bh * bps);
  int rc = band ? 0 : -1;
  for (int k = 0; k < nlev && !rc; k++) {
    GDALRasterBandH lb = k ? GDALGetOverview(b1, k - 1) : b1;
    int ntx = (GDALGetRasterBandXSize(lb) + bw - 1) / bw, nty = (GDALGetRasterBandYSize(lb) + bh - 1) / bh;
    for (int i = 0; i < ntx * nty && !rc; i++) {
      if (ts->n == cap) {
        cap = cap ? 2 * cap : 1024;
        unsigned char **more = realloc(ts->tiles, (size_t)cap * sizeof *more);
        if (!more) { rc = -1; break; }
        ts->tiles = more;
      }
      unsigned char *tile = ts->tiles[ts->n] = malloc(raw);
      if (!tile) { rc = -1; break; }
      ts->n++;
      for (int b = 0; b < nb && !rc; b++) {
        GDALRasterBandH src = k ? GDALGetOverview(GDALGetRasterBand(ds, b + 1), k - 1) : GDALGetRasterBand(ds, b + 1);
        if (GDALReadBlock(src, i % ntx, i / ntx, band) != CE_None) rc = -1;
        for (size_t p = 0; p < (size_t)bw * bh && !rc; p++)
          memcpy(tile + (p * nb + b) * bps, band + p * bps, (size_t)bps);
      }
    }
  }
  free(band);
  GDALClose(ds);
  return rc;
}

/* The codec, level and predictor `cog` was written with, as far as the
 * file says (the level it does not: carbonflux's default for the codec). */
static void codec_of_file(const char *cog, char *compress, size_t n, int *level, int *predictor) {
  GDALDatasetH ds = GDALOpen(cog, GA_ReadOnly);
  const char *c = ds ? GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE") : NULL;
  const char *p = ds ? GDALGetMetadataItem(ds, "PREDICTOR", "IMAGE_STRUCTURE") : NULL;
  snprintf(compress, n, "%s", c ? c : "NONE");
  *predictor = p ? atoi(p) : 1;
  *level = cf_cog_default_level(compress);
  if (ds) GDALClose(ds);
}

int bench_floor_main(const char *const *inputs, int ninputs, const char *cog, const char *compress, int level,
                     int predictor, int threads) {
  GDALAllRegister();
  char file_codec[32];
  if (!strcmp(compress, "FILE")) {
    codec_of_file(cog, file_codec, sizeof file_codec, &level, &predictor);
    compress = file_codec;
  }
  double c0 = cpu_s(), decode_s = 0;
  for (int i = 0; i < ninputs; i++) {
    double s = decode_floor(inputs[i], threads);
    if (s < 0) {
      fprintf(stderr, "floor: cannot read %s\n", inputs[i]);
      return -1;
    }
    decode_s += s;
  }
  double decode_cpu = cpu_s() - c0;
  cf_tile_codec c = {0};
  c.compression = !strcasecmp(compress, "DEFLATE") ? CF_TIFF_DEFLATE : !strcasecmp(compress, "ZSTD") ? CF_TIFF_ZSTD
                                                                                                     : CF_TIFF_NONE;
  c.level = level, c.predictor = predictor;
  tile_set ts = {0};
  if (load_tiles(cog, &c, &ts)) {
    fprintf(stderr, "floor: cannot load the tiles of %s\n", cog);
    return -1;
  }
  int failed = 0;
  double bytes = 0;
  double t0 = now_s();
  c0 = cpu_s();
#pragma omp parallel num_threads(threads) reduction(| : failed) reduction(+ : bytes)
  {
    cf_tile_coder w;
    failed |= cf_tile_coder_init(&w, &c) != 0;
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < ts.n; i++) {
      size_t n = 0;
      if (!failed && cf_tile_encode(&c, &w, ts.tiles[i], &n)) failed = 1;
      bytes += (double)n;
    }
    cf_tile_coder_free(&w);
  }
  double codec_s = now_s() - t0, codec_cpu = cpu_s() - c0;
  for (int i = 0; i < ts.n; i++) free(ts.tiles[i]);
  free(ts.tiles);
  if (failed) {
    fprintf(stderr, "floor: compressing failed\n");
    return -1;
  }
  printf("codec floor: %s level %d predictor %d\n", compress, level, predictor);
  printf("FLOORS decode_s=%.4f codec_s=%.4f codec_mb=%.2f tiles=%d decode_cpu_s=%.4f codec_cpu_s=%.4f\n", decode_s,
         codec_s, bytes / 1e6, ts.n, decode_cpu, codec_cpu);
  fflush(stdout);
  return 0;
}

int bench_floor_parse(const char *log_path, double *decode_s, double *codec_s, double *codec_mb, double *decode_cpu,
                      double *codec_cpu) {
  FILE *f = fopen(log_path, "r");
  if (!f) return -1;
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "FLOORS decode_s=%lf codec_s=%lf codec_mb=%lf tiles=%*d decode_cpu_s=%lf codec_cpu_s=%lf",
               decode_s, codec_s, codec_mb, decode_cpu, codec_cpu) == 5)
      found = 1;
  fclose(f);
  return found ? 0 : -1;
}
