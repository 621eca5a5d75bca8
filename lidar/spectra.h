/*
 * Raw heterodyne records to accumulated gate spectra, exactly as the L0
 * spec defines them for the digitiser: for every pulse and gate, take
 * gate_samples samples from gate_first + g*gate_step, apply the window,
 * zero-pad to fft_size, real-to-complex FFT, and sum |X_k|^2 over the
 * ray's pulses.
 *
 * FFTW's plan/execute split shapes the code (DESIGN.md): one batched r2c
 * plan over all gates of a pulse is made once, in the caller's thread;
 * workers execute it with fftw_execute_dft_r2c on their own aligned
 * buffers. Determinism: a ray's pulses are cut into fixed chunks of
 * CF_SPECTRA_CHUNK pulses (a property of the data, not of the threads);
 * each chunk is summed in pulse order, and chunks are added in chunk
 * order, so the result is the same bits for any thread count.
 */
#ifndef CF_LIDAR_SPECTRA_H
#define CF_LIDAR_SPECTRA_H

#include <fftw3.h>

#include "ingest/lidar_l0.h"

#define CF_SPECTRA_CHUNK 64

typedef struct {
  int L, M, nbins, n_gates, gate_first, gate_step;
  double *window;   /* L values */
  fftw_plan plan;   /* n_gates batched r2c transforms of M points */
} cf_spectra_plan;

/* Per-thread buffers for executing the plan. */
typedef struct {
  double *in;          /* n_gates x M, zero padded */
  fftw_complex *out;   /* n_gates x nbins */
} cf_spectra_work;

/* `flags`: FFTW_ESTIMATE or FFTW_MEASURE (planning overwrites scratch
 * arrays of its own, never the caller's data). */
int cf_spectra_plan_create(cf_ctx *ctx, const cf_l0_config *cfg, unsigned flags, cf_spectra_plan *p);
void cf_spectra_plan_destroy(cf_spectra_plan *p);
int cf_spectra_work_alloc(cf_spectra_work *w, const cf_spectra_plan *p);
void cf_spectra_work_free(cf_spectra_work *w);

/* Add the gate periodograms of `npulses` records (each n_samples int16,
 * consecutive) to acc[n_gates][nbins], in record order. Thread-safe for
 * distinct `w` and `acc`. */
void cf_spectra_accumulate(const cf_spectra_plan *p, cf_spectra_work *w, const int16_t *records, int npulses,
                           int64_t n_samples, double *acc);

/* The sum of the periodograms of `n` consecutive records in memory into
 * out[n_gates][nbins], over `nthreads` threads: records are cut into
 * chunks of CF_SPECTRA_CHUNK summed in record order, chunks added in chunk
 * order (same bits for any thread count). `part` is caller scratch of
 * ceil(n / CF_SPECTRA_CHUNK) * n_gates * nbins doubles. Returns -1 if the
 * per-thread FFT buffers cannot be allocated. */
int cf_spectra_sum(const cf_spectra_plan *p, const int16_t *records, int64_t n, int64_t n_samples, int nthreads,
                   double *part, double *out);

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
