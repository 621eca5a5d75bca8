/* Raw records to accumulated spectra; see spectra.h. */
#include "lidar/spectra.h"

#include "lidar/fft_wisdom.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846

int cf_spectra_plan_create(cf_ctx *ctx, const cf_l0_config *c, unsigned flags, cf_spectra_plan *p) {
  memset(p, 0, sizeof *p);
  p->L = c->gate_samples;
  p->M = c->fft_size;
  p->nbins = c->fft_size / 2 + 1;
  p->n_gates = c->n_gates;
  p->gate_first = c->gate_first;
  p->gate_step = c->gate_step;
  p->window = malloc((size_t)p->L * sizeof *p->window);
  if (!p->window) return cf_error(ctx, CF_ENOMEM, "", "fft_size", "out of memory for a window of %d points", p->L);
  for (int n = 0; n < p->L; n++)
    p->window[n] = c->window == CF_WINDOW_HANN ? 0.5 - 0.5 * cos(2 * CF_PI * n / (p->L - 1)) : 1.0;
  /* r2c transforms preserve their input (asked for explicitly): the zero
   * padding of a work buffer, written once, stays zero */
  p->plan = cf_fft_plan_r2c(ctx, p->M, flags | FFTW_PRESERVE_INPUT);
  if (!p->plan) {
    free(p->window);
    p->window = NULL;
    return cf_error(ctx, CF_EINTERNAL, "", "fft_size", "FFTW could not plan %d-point transforms", p->M);
  }
  return CF_OK;
}

void cf_spectra_plan_destroy(cf_spectra_plan *p) {
  if (p->plan) cf_fft_destroy(p->plan);
  free(p->window);
  memset(p, 0, sizeof *p);
}

int cf_spectra_work_alloc(cf_spectra_work *w, const cf_spectra_plan *p) {
  w->in = fftw_alloc_real((size_t)p->M);
  w->out = fftw_alloc_complex((size_t)p->nbins);
  if (!w->in || !w->out) {
    cf_spectra_work_free(w);
    return -1;
  }
  memset(w->in, 0, (size_t)p->M * sizeof *w->in); /* the padding, once */
  return 0;
}

void cf_spectra_work_free(cf_spectra_work *w) {
  fftw_free(w->in);
  fftw_free(w->out);
  w->in = NULL;
  w->out = NULL;
}

/* Elementwise loops only (no sums reordered), so the AVX2 and the default
 * clone compute every element identically: same bits on any x86-64. The
 * saturation test is an OR over samples: its order cannot matter. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void cf_spectra_accumulate(const cf_spectra_plan *p, cf_spectra_work *w, const int16_t *records, int npulses,
                           int64_t n_samples, double *acc, uint8_t *clipped) {
  const int L = p->L, NB = p->nbins;
  const double *restrict win = p->window;
  double *restrict in = w->in;
  /* gate-major: one gate's row of accumulated power (2 KB) stays in L1
   * over all the pulses, where pulse-major order fetched every gate's row
   * from L2 for every pulse. Each row still sums its pulses in record
   * order: the same additions in the same order, the same bits. */
  for (int g = 0; g < p->n_gates; g++) {
    double *restrict a = acc + (size_t)g * NB;
    int sat = 0;
    for (int q = 0; q < npulses; q++) {
      const int16_t *restrict s = records + (size_t)q * n_samples + p->gate_first + (size_t)g * p->gate_step;
      for (int n = 0; n < L; n++) {
        in[n] = win[n] * s[n];
        sat |= (s[n] == INT16_MAX) | (s[n] == INT16_MIN);
      }
      /* the next pulse's samples of this gate (or the first pulse's of the
       * next gate) come from memory while this FFT runs: a record is read
       * once, nothing of it is in cache */
      const int16_t *nx = q + 1 < npulses ? s + n_samples
                                          : (g + 1 < p->n_gates ? records + p->gate_first + (size_t)(g + 1) * p->gate_step : NULL);
      for (int b = 0; nx && b < L; b += 32) __builtin_prefetch(nx + b);
      fftw_execute_dft_r2c(p->plan, in, w->out);
      const fftw_complex *restrict X = w->out;
      for (int k = 0; k < NB; k++) a[k] += X[k][0] * X[k][0] + X[k][1] * X[k][1];
    }
    if (clipped) clipped[g] |= (uint8_t)sat;
  }
}

size_t cf_spectra_part_size(const cf_spectra_plan *p, int64_t n) {
  size_t nc = (size_t)((n + CF_SPECTRA_CHUNK - 1) / CF_SPECTRA_CHUNK);
  return nc * ((size_t)p->n_gates * p->nbins * sizeof(double) + (size_t)p->n_gates);
}

int cf_spectra_sum(const cf_spectra_plan *p, const int16_t *records, int64_t n, int64_t n_samples, int nthreads,
                   void *part, double *out, uint8_t *clipped) {
  const size_t per = (size_t)p->n_gates * p->nbins;
  int64_t nc = (n + CF_SPECTRA_CHUNK - 1) / CF_SPECTRA_CHUNK;
  double *psum = part;
  uint8_t *pclip = (uint8_t *)(psum + (size_t)nc * per); /* [nc][n_gates] */
  int failed = 0;
#pragma omp parallel num_threads(nthreads)
  {
    cf_spectra_work w;
    int ok = cf_spectra_work_alloc(&w, p) == 0;
    if (!ok) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < nc; c++) {
      double *acc = psum + (size_t)c * per;
      uint8_t *cl = pclip + (size_t)c * p->n_gates;
      memset(acc, 0, per * sizeof *acc);
      memset(cl, 0, (size_t)p->n_gates);
      int64_t q0 = c * CF_SPECTRA_CHUNK;
      int np = (int)(q0 + CF_SPECTRA_CHUNK <= n ? CF_SPECTRA_CHUNK : n - q0);
      if (ok) cf_spectra_accumulate(p, &w, records + (size_t)q0 * n_samples, np, n_samples, acc, clipped ? cl : NULL);
    }
    cf_spectra_work_free(&w);
  }
  if (failed) return -1;
  memset(out, 0, per * sizeof *out);
  for (int64_t c = 0; c < nc; c++) { /* chunk order: deterministic */
    for (size_t k = 0; k < per; k++) out[k] += psum[(size_t)c * per + k];
    for (int g = 0; clipped && g < p->n_gates; g++) clipped[g] |= pclip[(size_t)c * p->n_gates + g];
  }
  return 0;
}

/* Sum the periodograms of records [first, first+n) of dataset `which`
 * (or of the background records) into out[n_gates][nbins], reading in
 * blocks and accumulating chunks in parallel, reduced in chunk order. */
static int sum_records(cf_ctx *ctx, cf_l0 *l0, int which, int background, int64_t first, int64_t n,
                       const cf_spectra_plan *p, double *out, uint8_t *clipped) {
  const int64_t ns = l0->n_samples;
  const size_t per = (size_t)p->n_gates * p->nbins;
  int64_t nchunks = (n + CF_SPECTRA_CHUNK - 1) / CF_SPECTRA_CHUNK;
  /* a read block: whole chunks, at most ~64 MiB of samples */
  int64_t chunks_per_read = ((int64_t)64 << 20) / (2 * ns * CF_SPECTRA_CHUNK);
  if (chunks_per_read < 1) chunks_per_read = 1;
  int16_t *buf = malloc((size_t)chunks_per_read * CF_SPECTRA_CHUNK * ns * sizeof *buf);
  void *part = malloc(cf_spectra_part_size(p, chunks_per_read * CF_SPECTRA_CHUNK));
  double *acc = malloc(per * sizeof *acc);
  if (!buf || !part || !acc) {
    free(buf);
    free(part);
    free(acc);
    return cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory for a read block");
  }
  memset(out, 0, per * sizeof *out);
  int rc = CF_OK;
  int nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();
  for (int64_t c0 = 0; !rc && c0 < nchunks; c0 += chunks_per_read) {
    int64_t nc = c0 + chunks_per_read <= nchunks ? chunks_per_read : nchunks - c0;
    int64_t r0 = first + c0 * CF_SPECTRA_CHUNK;
    int64_t nr = (c0 + nc) * CF_SPECTRA_CHUNK <= n ? nc * CF_SPECTRA_CHUNK : n - c0 * CF_SPECTRA_CHUNK;
    /* HDF5 is read from this thread only */
    rc = background ? cf_l0_read_raw_background(ctx, l0, which, r0, nr, buf) : cf_l0_read_raw(ctx, l0, which, r0, nr, buf);
    if (rc) break;
    if (cf_spectra_sum(p, buf, nr, ns, nthreads, part, acc, clipped)) {
      rc = cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory for FFT buffers");
      break;
    }
    for (size_t k = 0; k < per; k++) out[k] += acc[k]; /* read blocks in order: deterministic */
  }
  free(buf);
  free(part);
  free(acc);
  return rc;
}

int cf_spectra_from_raw(cf_ctx *ctx, cf_l0 *l0, int which, const cf_spectra_plan *p, cf_spectra_emit emit,
                        void *user) {
  if (l0->cfg.level != CF_L0_RAW) return cf_error(ctx, CF_EINVAL, l0->path, "level", "not a raw-level file");
  const size_t per = (size_t)p->n_gates * p->nbins;
  double *acc = malloc(per * sizeof *acc);
  float *spec = malloc(per * sizeof *spec);
  if (!acc || !spec) {
    free(acc);
    free(spec);
    return cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory");
  }
  uint8_t *clipped = calloc((size_t)p->n_gates, 1);
  int rc = clipped ? sum_records(ctx, l0, which, 1, 0, l0->n_bg[which], p, acc, NULL)
                   : cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory");
  for (size_t k = 0; !rc && k < per; k++) spec[k] = (float)acc[k];
  if (!rc) rc = emit(ctx, user, which, -1, spec, (int32_t)l0->n_bg[which], NULL);
  /* pulses of a ray are contiguous in a raw dump: find each ray's run */
  const int32_t *ray = l0->pulse_ray[which];
  int64_t np = l0->n_pulses[which];
  for (int64_t p0 = 0; !rc && p0 < np;) {
    int64_t p1 = p0;
    while (p1 < np && ray[p1] == ray[p0]) p1++;
    memset(clipped, 0, (size_t)p->n_gates);
    rc = sum_records(ctx, l0, which, 0, p0, p1 - p0, p, acc, clipped);
    for (size_t k = 0; !rc && k < per; k++) spec[k] = (float)acc[k];
    if (!rc) rc = emit(ctx, user, which, ray[p0], spec, (int32_t)(p1 - p0), clipped);
    p0 = p1;
  }
  free(acc);
  free(spec);
  free(clipped);
  return rc;
}
