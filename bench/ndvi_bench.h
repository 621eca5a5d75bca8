/*
 * What the parts of the NDVI benchmark share: the synthetic scene, the
 * output format every contender must produce, and the plain-copy contender.
 * ndvi_bench.c explains the shape of the benchmark as a whole.
 */
#ifndef CF_BENCH_NDVI_BENCH_H
#define CF_BENCH_NDVI_BENCH_H

#include <stdint.h>
#include <stdio.h>

/* Reflectance = DN * NDVI_SCALE; both bands' nodata is DN 0. */
#define NDVI_SCALE 0.0001
#define NDVI_OUT_NODATA -9999.0

/* The output every contender writes, so that they all do the same work:
 * a single-band Float32 COG, nodata -9999, with these COG creation options
 * (carbonflux's write.cog defaults, spelled out) plus NUM_THREADS = the
 * thread count, which carbonflux passes itself. NULL-terminated. */
extern const char *const ndvi_cog_options[];

/* --- the synthetic scene (ndvi_scene.c) ------------------------------------- */

/* splitmix64's finaliser: a cheap, well-mixed 64-bit hash (no rand(): the
 * scene and the verifier's samples are the same on every run). */
uint64_t ndvi_mix64(uint64_t z);

/* DNs of pixel (x, y) of an n x n scene: a pure function of its arguments.
 * 0 is nodata (outside the tilted image footprint, or a dropped pixel). */
void ndvi_scene_pixel(int x, int y, int n, uint16_t *red, uint16_t *nir);

/* Write the n x n scene as a 2-band UInt16 GeoTIFF (256x256 DEFLATE tiles,
 * band-interleaved, UTM 50N, 10 m), compressing with `threads` threads.
 * Returns 0 or prints why not to stderr and returns -1. */
int ndvi_scene_write(const char *path, int n, int threads);

/* Write the w x h window at (x0, y0) of the n x n scene the same way, with
 * the window's own geotransform: tiles of one large scene, which fit
 * together on the grid and differ in content (the footprint's nodata
 * corners fall in the corner tiles). ndvi_scene_write is the whole window. */
int ndvi_scene_write_window(const char *path, int n, int x0, int y0, int w, int h, int threads);

/* The NDVI pipeline's `pipeline:` list: ingest.raster of `input` (bands
 * red, nir) -> raster.index (ndvi, scale NDVI_SCALE) -> write.cog to
 * `output` with nodata NDVI_OUT_NODATA; the caller writes the header before
 * and may append write.cog options after. Paths are single-quoted (a glob
 * or a {stem} path is a plain string). */
void ndvi_pipeline_write(FILE *f, const char *input, const char *output);

/* --- the I/O limit (ndvi_plain.c) ---------------------------------------------- */

/* Read both bands of `in` and write the NDVI (inline, no framework) as a
 * COG with the shared options, the way raster/cog.c writes: temporary
 * tiled GTiff, then COG CreateCopy.
 * Returns 0 or prints why not to stderr and returns -1. */
int ndvi_plain_copy(const char *in, const char *out, int threads);

/* --- set-up (ndvi_bench.c) ------------------------------------------------------ */

/* GDALAllRegister, and the block cache carbonflux would use (GDAL_CACHEMAX
 * from the environment, else carbonflux's default of 128 MiB), so that every
 * contender and the generator run with the same cache. */
void ndvi_gdal_init(void);

#endif
