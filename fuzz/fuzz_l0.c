/*
 * Harness: the lidar L0 reader (ingest/lidar_l0.c), as the ingest.lidar_l0
 * stage and `carbonflux lidar process` use it (lidar/process.c): open and
 * validate, then read the first and last block of spectra (or of raw
 * pulses and background records) into buffers sized from the validated
 * configuration, and look up the meteorology at a ray's time.
 *
 * Input: a program for the structure-aware writer (l0_builder.h: why not
 * raw bytes), which writes a well-formed HDF5 file into the scratch
 * directory; the reader opens it by path as the program does. The memory
 * bound is 1 MiB instead of the program's default 4 GiB: a file whose
 * sizes pass the check then still reads in a millisecond, and the check
 * itself is what is fuzzed.
 */
#include <hdf5.h>
#include <stdlib.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/l0_builder.h"
#include "ingest/lidar_l0.h"

enum { MAX_BYTES = 1 << 20 };

static void read_blocks(cf_ctx *ctx, cf_l0 *l0) {
  const cf_l0_config *c = &l0->cfg;
  if (c->level == CF_L0_SPECTRA) {
    size_t per = (size_t)c->n_gates * (size_t)cf_l0_nbins(c);
    float *buf = malloc(per * sizeof *buf);
    for (int k = 0; buf && k < 2; k++) {
      if (cf_l0_read_spectra(ctx, l0, k, 0, 1, buf) == CF_OK) (void)cf_l0_spectra_finite(buf, (int64_t)per);
      if (cf_l0_read_spectra(ctx, l0, k, l0->n_rays - 1, 1, buf) == CF_OK) (void)cf_l0_spectra_finite(buf, (int64_t)per);
    }
    free(buf);
  } else {
    int16_t *buf = malloc((size_t)l0->n_samples * sizeof *buf);
    for (int k = 0; buf && k < 2; k++) {
      if (l0->n_pulses[k] > 0) {
        cf_l0_read_raw(ctx, l0, k, 0, 1, buf);
        cf_l0_read_raw(ctx, l0, k, l0->n_pulses[k] - 1, 1, buf);
      }
      cf_l0_read_raw_background(ctx, l0, k, l0->n_bg[k] - 1, 1, buf);
    }
    free(buf);
  }
  double p, T, rh;
  cf_l0_meteo_at(l0, l0->time[l0->n_rays - 1], &p, &T, &rh);
  (void)cf_l0_gate_range(c, c->n_gates - 1);
}

int cf_fuzz_l0(const uint8_t *data, size_t size) {
  cf_ctx *ctx = cf_fuzz_ctx();
  static int once;
  if (!once) {
    /* HDF5 frees the blocks of a closed file back to malloc beyond small
     * limits; kept on its own free lists instead, the next file reuses
     * them (under ASan every fresh block costs page faults) */
    H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
    once = 1;
  }
  const char *path = cf_fuzz_path("l0.h5");
  if (cf_fuzz_l0_write(path, data, size) != 0) return 0;
  cf_l0 *l0 = NULL;
  if (cf_l0_open(ctx, path, MAX_BYTES, &l0) == CF_OK) {
    read_blocks(ctx, l0);
    cf_l0_close(l0);
  }
  cf_fuzz_done(ctx);
  return 0;
}

#ifndef CF_FUZZ_NO_ENTRY
/* ASan's defaults for this harness (ASAN_OPTIONS still wins): libhdf5
 * (not instrumented, but its malloc is ASan's) makes thousands of small
 * allocations per file; a 16 MiB quarantine instead of 256 MiB and no
 * 0xbe fill of new blocks make an input 2-3 times faster. Freed blocks
 * still wait in quarantine before reuse, so a use after free in our code
 * is still caught. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16:max_malloc_fill_size=0"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cf_fuzz_l0(data, size); }
#endif
