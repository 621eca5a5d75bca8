/*
 * Writing lidar L0 files (the simulator's output, and crafted test files).
 *
 * The writer follows ../shared/spec/lidar-l0.md to the letter, streams the
 * big datasets a block of rays or pulses at a time (chunked, deflate), and
 * writes under a part name that is renamed into place by finish().
 */
#ifndef CF_LIDAR_L0_WRITE_H
#define CF_LIDAR_L0_WRITE_H

#include "core/fsutil.h"
#include "ingest/lidar_l0.h"

typedef struct cf_l0_writer cf_l0_writer;

/* Sizes the file will have. Raw level: n_pulses, n_samples, n_bg; spectra
 * level: only n_rays. */
typedef struct {
  int n_rays;
  int n_meteo;
  int64_t n_pulses[2], n_samples, n_bg[2];
} cf_l0_sizes;

int cf_l0_writer_create(cf_ctx *ctx, const char *path, const cf_l0_config *cfg, const cf_l0_sizes *sz,
                        cf_l0_writer **out);
/* The per-ray table, all rays at once (it is small). */
int cf_l0_writer_rays(cf_ctx *ctx, cf_l0_writer *w, const double *time, const float *az, const float *el,
                      const int32_t *scan_id, const int32_t *pulses_on, const int32_t *pulses_off,
                      const float *energy_on, const float *energy_off);
int cf_l0_writer_meteo(cf_ctx *ctx, cf_l0_writer *w, const double *time, const float *p, const float *T,
                       const float *rh);
/* Level spectra. */
int cf_l0_writer_spectra(cf_ctx *ctx, cf_l0_writer *w, int which, int ray0, int n, const float *buf);
int cf_l0_writer_background(cf_ctx *ctx, cf_l0_writer *w, int which, const float *bg, int32_t pulses);
/* Level raw. */
int cf_l0_writer_raw(cf_ctx *ctx, cf_l0_writer *w, int which, int64_t p0, int64_t n, const int16_t *buf,
                     const int32_t *ray_of_pulse);
int cf_l0_writer_raw_background(cf_ctx *ctx, cf_l0_writer *w, int which, int64_t r0, int64_t n,
                                const int16_t *buf);
/* Shared by the lidar writers (HDF5 and netCDF-4), for failures:
 * the reason of the last HDF5 failure, the system's when there is one
 * ("No space left on device"), from HDF5's error stack (read it right
 * after the failing call), else errno's when it says why; and pointing
 * every descriptor this process holds on `path` at an unlinked scratch file
 * in /dev/shm (or /dev/null), so that
 * closing a failed file cannot fail again (HDF5 1.10 crashes at exit on a
 * file whose close failed). Use only on a part file about to be removed. */
void cf_h5_failure_reason(char *why, size_t n);
void cf_discard_open_file(const char *path);

/* Close and rename into place; abort removes the part file. Both free w. */
int cf_l0_writer_finish(cf_ctx *ctx, cf_l0_writer *w);
/* Close, and hand the complete part file to the caller instead of
 * renaming it (*part: commit it with cf_atomic_commit, then cf_atomic_end;
 * cf_atomic_end alone drops it): for a product of several files that are
 * all committed together or none. Frees w. */
int cf_l0_writer_close(cf_ctx *ctx, cf_l0_writer *w, cf_atomic_file *part);
void cf_l0_writer_abort(cf_l0_writer *w);

#endif
