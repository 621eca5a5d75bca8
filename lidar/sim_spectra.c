/* Correlated accumulated spectra for the simulator; see sim_spectra.h. */
#include "lidar/sim_spectra.h"

#include "lidar/fft_wisdom.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQRT2 1.41421356237309504880
#define SQRT1_2 0.70710678118654752440

/* bins each side of a return where its correlation is drawn exactly:
 * the Doppler fit's window and four more, so that the fit never sees the
 * seam where the return's part of the correlation is dropped */
static int block_half(const cf_response *r) { return cf_bincov_fit_half(r) + 4; }

int cf_sim_spectra_init(cf_ctx *ctx, cf_sim_spectra *s, const cf_response *resp, int independent, int32_t n_ray,
                        int32_t n_bg) {
  memset(s, 0, sizeof *s);
  s->resp = resp;
  s->independent = independent;
  if (independent) return CF_OK; /* Gamma draws per bin need nothing prepared */
  const int M = resp->M;
  int rc = cf_bincov_init(ctx, &s->cov, resp, block_half(resp));
  double *white = malloc((size_t)M * sizeof *white), *acf = malloc((size_t)M * sizeof *acf);
  s->noise_amp = malloc((size_t)M * sizeof *s->noise_amp);
  fftw_complex *a = fftw_alloc_complex((size_t)M), *b = fftw_alloc_complex((size_t)M);
  if (!rc && (!white || !acf || !s->noise_amp || !a || !b))
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the spectra simulator");
  if (!rc) {
    cf_bincov_white(resp, white, acf);
    for (int d = 0; d < M; d++) s->noise_amp[d] = sqrt(acf[d] > 0 ? acf[d] : 0);
    /* FFTW_ESTIMATE does not touch the arrays; workers execute the plan
     * on their own fftw_alloc'ed (equally aligned) buffers */
    s->plan = cf_fft_plan_dft_1d(M, a, b, FFTW_FORWARD, FFTW_ESTIMATE);
    if (!s->plan) rc = cf_error(ctx, CF_EINVAL, "", "", "FFTW could not plan a %d-point transform", M);
  }
  if (!rc) rc = cf_gamma_qtable_init(ctx, &s->qt[0], n_ray);
  if (!rc) rc = cf_gamma_qtable_init(ctx, &s->qt[1], n_bg);
  free(white);
  free(acf);
  fftw_free(a);
  fftw_free(b);
  if (rc) cf_sim_spectra_free(s);
  return rc;
}

void cf_sim_spectra_free(cf_sim_spectra *s) {
  if (s->plan) cf_fft_destroy(s->plan);
  cf_bincov_free(&s->cov);
  free(s->noise_amp);
  cf_gamma_qtable_free(&s->qt[0]);
  cf_gamma_qtable_free(&s->qt[1]);
  memset(s, 0, sizeof *s);
}

int cf_sim_spectra_work_alloc(cf_sim_spectra_work *w, const cf_sim_spectra *s) {
  memset(w, 0, sizeof *w);
  if (!(w->nvec = malloc((size_t)s->resp->nbins * sizeof *w->nvec))) return -1;
  if (s->independent) return 0;
  int n = 2 * s->cov.half + 1;
  w->in = fftw_alloc_complex((size_t)s->resp->M);
  w->out = fftw_alloc_complex((size_t)s->resp->M);
  w->z = malloc((size_t)s->resp->nbins * sizeof *w->z);
  w->blk = malloc((size_t)n * n * sizeof *w->blk);
  w->eps = malloc((size_t)n * sizeof *w->eps);
  w->sd = malloc((size_t)n * sizeof *w->sd);
  w->piv = malloc((size_t)n * sizeof *w->piv);
  w->lwork = malloc((size_t)2 * n * sizeof *w->lwork);
  if (!w->in || !w->out || !w->z || !w->blk || !w->eps || !w->sd || !w->piv || !w->lwork) {
    cf_sim_spectra_work_free(w);
    return -1;
  }
  return 0;
}

void cf_sim_spectra_work_free(cf_sim_spectra_work *w) {
  fftw_free(w->in);
  fftw_free(w->out);
  free(w->z);
  free(w->blk);
  free(w->eps);
  free(w->sd);
  free(w->piv);
  free(w->lwork);
  free(w->nvec);
  memset(w, 0, sizeof *w);
}

/* Pivoted Cholesky of the n x n positive semi-definite block A, P^T A P =
 * L L^T, stopping at pivots below 1e-8 of the largest diagonal: the block
 * is nearly singular (neighbouring bins of a zero-padded FFT are
 * correlated above 0.99), and a plain Cholesky then divides rounding and
 * interpolation errors by pivots of their own size, drawing variance that
 * is not there. Directions dropped carry < 1e-8 of the block's variance.
 * A is symmetric and stored row-major, which is its transpose in column
 * major: LAPACK's column-major 'U' factor U^T U is our row-major L L^T,
 * and the column-major call needs no transposed copy (the row-major
 * LAPACKE wrapper allocates one per call). Returns the rank (0 on any
 * failure, with A zeroed); columns from the rank on are zeroed. */
_Static_assert(sizeof(lapack_int) == sizeof(int), "LAPACK's integers are the C int (LP64 OpenBLAS)");
static int factor_psd(double *A, int n, int *piv, double *work) {
  double dmax = 0;
  for (int i = 0; i < n; i++) dmax = A[i * n + i] > dmax ? A[i * n + i] : dmax;
  lapack_int rank = 0, info = -1;
  if (dmax > 0) info = LAPACKE_dpstrf_work(LAPACK_COL_MAJOR, 'U', n, A, n, piv, &rank, 1e-8 * dmax, work);
  if (info < 0) rank = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (j > i || j >= rank) A[i * n + j] = 0;
  return (int)rank;
}

void cf_sim_spectra_gate(const cf_sim_spectra *s, cf_sim_spectra_work *w, cf_rng *rng, int32_t pulses,
                         const double *noise, double a2, double b, float *out) {
  const cf_response *r = s->resp;
  const int NB = r->nbins, M = r->M;
  const double f = b * r->fs;
  if (s->independent) {
    for (int k = 0; k < NB; k++) {
      double theta = noise[k] + a2 * cf_response_signal(r, f, k);
      out[k] = (float)(theta * cf_rng_gamma(rng, pulses));
    }
    return;
  }
  /* the noise part: z = sqrt(2) Re FFT(sqrt(acf) u), u complex normal of unit variance */
  for (int d = 0; d < M; d++) {
    double re = cf_rng_normal(rng), im = cf_rng_normal(rng), a = s->noise_amp[d] * SQRT1_2;
    w->in[d][0] = a * re;
    w->in[d][1] = a * im;
  }
  fftw_execute_dft(s->plan, w->in, w->out);
  for (int k = 0; k < NB; k++) w->z[k] = SQRT2 * w->out[k][0];
  /* the return's part, in a block around its frequency */
  int kc = (int)lround(b * M), hb = s->cov.half;
  int k0 = kc - hb < 0 ? 0 : kc - hb, k1 = kc + hb > NB - 1 ? NB - 1 : kc + hb;
  int significant = a2 > 0 && kc >= 0 && kc < NB && a2 * cf_response_signal(r, f, kc) > 1e-6 * noise[kc];
  if (significant && k1 >= k0) {
    int n = k1 - k0 + 1;
    double *A = w->blk;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double sr, si, gr, gi;
        cf_bincov_signal(&s->cov, k0 + i, k0 + j, b, &sr, &si);
        cf_bincov_noise(&s->cov, i - j, &gr, &gi);
        double nq = sqrt(noise[k0 + i] * noise[k0 + j]);
        double re = a2 * sr + nq * gr, im = a2 * si + nq * gi;
        A[i * n + j] = re * re + im * im - nq * nq * (gr * gr + gi * gi);
      }
    /* each bin's total standard deviation |Gamma_kk|, before A is factored */
    for (int i = 0; i < n; i++) w->sd[i] = sqrt(noise[k0 + i] * noise[k0 + i] + (A[i * n + i] > 0 ? A[i * n + i] : 0));
    /* rank 0 (no return's part, or LAPACK refused): the noise part alone */
    int rank = factor_psd(A, n, w->piv, w->lwork);
    for (int i = 0; i < n; i++) w->eps[i] = cf_rng_normal(rng);
    for (int i = 0; i < n && rank == 0; i++) w->piv[i] = i + 1;
    /* y = P L eps: row i of L L^T belongs to bin piv[i] - 1 */
    for (int i = 0; i < n; i++) {
      double y = 0;
      for (int j = 0; j <= i; j++) y += A[i * n + j] * w->eps[j];
      int b0 = w->piv[i] - 1;
      w->z[k0 + b0] = (noise[k0 + b0] * w->z[k0 + b0] + y) / w->sd[b0];
    }
  }
  const cf_gamma_qtable *qt = pulses == (int32_t)s->qt[0].a ? &s->qt[0] : &s->qt[1];
  for (int k = 0; k < NB; k++) {
    double theta = noise[k] + a2 * cf_response_signal(r, f, k);
    out[k] = (float)(theta * cf_gamma_qtable_at(qt, w->z[k]));
  }
}
