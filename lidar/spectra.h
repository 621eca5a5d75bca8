/*
 * Raw heterodyne records to accumulated gate spectra, exactly as the L0
 * spec defines them for the digitiser: for every pulse and gate, take
 * gate_samples samples from gate_first + g*gate_step, apply the window,
 * zero-pad to fft_size, real-to-complex FFT, and sum |X_k|^2 over the
 * ray's pulses.
 *
 * FFTW's plan/execute split shapes the code (DESIGN.md): one r2c plan of
 * M points is made once, in the caller's thread, under the planner lock
 * (lidar/fft_wisdom.h: measured once per machine, wisdom kept in a file);
 * workers execute it with fftw_execute_dft_r2c on their own aligned
 * buffers. Determinism: a ray's pulses are cut into fixed chunks of
 * CF_SPECTRA_CHUNK pulses (a property of the data, not of the threads);
 * each chunk is summed in pulse order, and chunks are added in chunk
 * order, so the result is the same bits for any thread count.
 *
 * Where the time goes, and why one gate at a time. The FFT itself is the
 * floor; everything else is memory traffic. Transforming all gates of a
 * pulse in one batched plan (the first version) meant converting and
 * windowing 40 gates into a 160 KB input, transforming them into a 160 KB
 * output, then reading that output again to accumulate |X|^2: three
 * passes over 320 KB, which does not stay in the first-level cache. One
 * gate at a time, the int16 -> window conversion, the transform and the
 * accumulation all touch the same 4 KB input and 4 KB output, which stay
 * in L1; only the gate's raw samples (read once) come from further away.
 * A chunk of pulses is taken gate by gate (all its pulses for gate 0, then
 * gate 1, ...), so the gate's 2 KB row of accumulated power stays in L1
 * too; each row still adds its pulses in record order. Saturation (an int16 limit
 * in a gate's samples) is found in the same pass as the conversion.
 * A transform's result does not depend on which gate it is, so per-gate
 * execution gives the same bits as the batched plan's codelets would for
 * the same algorithm; what FFTW picks (ESTIMATE or measured) can change
 * the last bits, never more (the accuracy tests' tolerances).
 */
#ifndef CF_LIDAR_SPECTRA_H
#define CF_LIDAR_SPECTRA_H

#include <fftw3.h>

#include "ingest/lidar_l0.h"

#define CF_SPECTRA_CHUNK 64

typedef struct {
  int L, M, nbins, n_gates, gate_first, gate_step;
  double *window;   /* L values */
  fftw_plan plan;   /* one r2c transform of M points, executed per gate */
} cf_spectra_plan;

/* Per-thread buffers for executing the plan: one gate's worth, in L1. */
typedef struct {
  double *in;          /* M, zero padded past L */
  fftw_complex *out;   /* nbins */
} cf_spectra_work;

/* `flags`: FFTW_ESTIMATE or FFTW_MEASURE (planning uses scratch arrays of
 * its own, never the caller's data). Planning takes the planner lock of
 * lidar/fft_wisdom.h, so any thread may call this. */
int cf_spectra_plan_create(cf_ctx *ctx, const cf_l0_config *cfg, unsigned flags, cf_spectra_plan *p);
void cf_spectra_plan_destroy(cf_spectra_plan *p);
int cf_spectra_work_alloc(cf_spectra_work *w, const cf_spectra_plan *p);
void cf_spectra_work_free(cf_spectra_work *w);

/* Add the gate periodograms of `npulses` records (each n_samples int16,
 * consecutive) to acc[n_gates][nbins], in record order; where `clipped`
 * is not NULL, set clipped[g] = 1 if any sample of gate g sits at an int16
 * limit. Thread-safe for distinct `w`, `acc` and `clipped`. */
void cf_spectra_accumulate(const cf_spectra_plan *p, cf_spectra_work *w, const int16_t *records, int npulses,
                           int64_t n_samples, double *acc, uint8_t *clipped);

/* The sum of the periodograms of `n` consecutive records in memory into
 * out[n_gates][nbins], over `nthreads` threads: records are cut into
 * chunks of CF_SPECTRA_CHUNK summed in record order, chunks added in chunk
 * order (same bits for any thread count). `part` is caller scratch of
 * cf_spectra_part_size(p, n) bytes. `clipped` (may be NULL) gets the
 * saturation flags of every gate over the n records, OR-ed in. Returns
 * -1 if the per-thread FFT buffers cannot be allocated. */
size_t cf_spectra_part_size(const cf_spectra_plan *p, int64_t n);
int cf_spectra_sum(const cf_spectra_plan *p, const int16_t *records, int64_t n, int64_t n_samples, int nthreads,
                   void *part, double *out, uint8_t *clipped);

/* Accumulated spectra of every ray of a raw L0 file at wavelength `which`:
 * calls `emit(user, ray, spectra, pulses, clipped)` for each ray in order
 * with spectra[n_gates][nbins] (float, as the spectra level stores them)
 * and clipped[n_gates] (1 where any sample of the gate sat at an int16
 * limit: the ADC saturated), and the background spectra once, first, with
 * ray = -1 and clipped = NULL. */
typedef int (*cf_spectra_emit)(cf_ctx *ctx, void *user, int which, int ray, const float *spectra, int32_t pulses,
                               const uint8_t *clipped);
int cf_spectra_from_raw(cf_ctx *ctx, cf_l0 *l0, int which, const cf_spectra_plan *p, cf_spectra_emit emit,
                        void *user);

#endif
