/*
 * The true floors of a raster benchmark (issue 12 point 1), measured in
 * the same run as carbonflux so that their ratios are fair whatever else
 * the machine is doing:
 *  - the decode floor: every band of the input read in 512 x 512 windows
 *    by `threads` threads, each with its own dataset, in the file's own
 *    type: what the tile engine's reading costs at the least;
 *  - the codec floor: every tile of every level of carbonflux's output COG
 *    (decoded beforehand, outside the clock) compressed again with the same
 *    codec, level and predictor (raster/tile_codec.c: libdeflate and
 *    libzstd, the libraries GDAL uses here), in parallel on `threads`
 *    threads, no file written: what writing that COG costs at the least.
 * Both run in a child process (bench_floor_main) that prints one line,
 *   FLOORS decode_s=<s> codec_s=<s> codec_mb=<MB> tiles=<n> decode_cpu_s=<s> codec_cpu_s=<s>
 * which bench_floor_parse reads back from its log. The CPU seconds are
 * the figure to compare on a loaded machine (other work stretches wall
 * time, hardly CPU time).
 */
#ifndef CF_BENCH_FLOOR_H
#define CF_BENCH_FLOOR_H

/* The child: the decode floor of every input (their sum), the codec floor
 * of `cog` with `compress` (DEFLATE, ZSTD, NONE; or FILE: the codec and
 * predictor the file says, at carbonflux's default level for it), `level`
 * and `predictor`. Returns 0, or prints why not and returns -1. */
int bench_floor_main(const char *const *inputs, int ninputs, const char *cog, const char *compress, int level,
                     int predictor, int threads);

/* Read the FLOORS line of `log_path` (the last one). 0 or -1. */
int bench_floor_parse(const char *log_path, double *decode_s, double *codec_s, double *codec_mb, double *decode_cpu,
                      double *codec_cpu);

#endif
