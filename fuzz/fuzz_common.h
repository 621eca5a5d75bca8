/*
 * What the libFuzzer harnesses share (README, "Fuzzing").
 *
 * Each harness is a function cf_fuzz_NAME(data, size) that hands one input
 * to the reader the program uses, the way the program calls it, and frees
 * everything again; fuzz_NAME.c ends with libFuzzer's entry point calling
 * it. The regression suite (tests/test_fuzz_regressions.c) compiles the
 * same files with CF_FUZZ_NO_ENTRY and replays fuzz/regressions/ through
 * the same functions, so a crash once found stays tested in the normal
 * build.
 *
 * Readers that take a path get a file in one directory per process under
 * /dev/shm (memory, not disk; removed at exit); GDAL readers get /vsimem/.
 * The context logs errors only, to /dev/null (a log line per input would
 * be the harness's main cost), with GDAL's and HDF5's messages routed into
 * it as the command routes them, and runs nothing in child processes.
 */
#ifndef CF_FUZZ_COMMON_H
#define CF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "carbonflux/ctx.h"

/* The harness context (see above). Created on first use, kept for the life
 * of the process; its error chain is cleared by cf_fuzz_done. */
cf_ctx *cf_fuzz_ctx(void);
/* Render and clear the error chain (the rendering is code under test too);
 * with CF_FUZZ_VERBOSE set in the environment it goes to stderr, to see
 * why an input was rejected ("no error": it was not). */
void cf_fuzz_done(cf_ctx *ctx);
/* The process's scratch directory (created on first use). */
const char *cf_fuzz_dir(void);
/* "<dir>/<name>" in one of 4 rotating static buffers: valid until the
 * fourth call after it. */
const char *cf_fuzz_path(const char *name);
/* Write `n` bytes to `path` (replacing it); 0 on success. */
int cf_fuzz_write(const char *path, const void *data, size_t n);
/* The input as a NUL-terminated string (malloc'ed; an embedded NUL ends
 * the text, as for any C reader of text). */
char *cf_fuzz_text(const uint8_t *data, size_t size);
/* GDAL with no network and no credentials: whatever a fuzzed name asks
 * for (/vsicurl/, WMS:http..., /vsis3/), GDAL fails at once and reads no
 * key or token of this machine. Called by cf_fuzz_ctx. */
void cf_fuzz_gdal_offline(void);

/* Harnesses (one per fuzz_NAME.c). */
int cf_fuzz_pipeline(const uint8_t *data, size_t size);
int cf_fuzz_l0(const uint8_t *data, size_t size);
int cf_fuzz_inventory(const uint8_t *data, size_t size);
int cf_fuzz_flux_sources(const uint8_t *data, size_t size);

#endif
