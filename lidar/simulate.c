/* The instrument simulator; see simulate.h for the model and its parts. */
#include "lidar/simulate.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "lidar/fft_wisdom.h"
#include "lidar/l0_write.h"
#include "lidar/response.h"
#include "lidar/sim_options.h"
#include "lidar/optics.h"
#include "lidar/sim_spectra.h"
#include "lidar/sim_truth.h"

#define CF_PI 3.14159265358979323846

/* Everything rays share, fixed before the parallel loop. */
typedef struct {
  const cf_sim_config *c;
  cf_response resp;
  cf_optics optics;
  int n_samples, nbins;
  double dr;                  /* m per sample */
  double R[CF_SIM_NOISE_TAPS];/* unit noise autocorrelation */
  double *noise_unit;         /* expected per-pulse noise periodogram, unit variance */
  double ksys;                /* lidar-equation constant: CNR = ksys beta O / r^2 T^2 */
  double signal_sum_unit;     /* sum over bins of the unit signal response (mid band) */
  cf_sim_spectra spectra;     /* level spectra: the accumulated-spectrum draws */
} sim_shared;

/* Per-ray results at gate resolution (truth and what the spectra are drawn from). */
typedef struct {
  double *a2[2];     /* per sample signal variance, counts^2 */
  double *gate_a2[2];/* window-weighted per gate */
  double *vr, *ppm, *nco2, *cnr[2]; /* truth per gate */
} ray_work;

static double range_of_sample(const sim_shared *s, double n) { return s->c->instrument.range_offset + n * s->dr; }

/* Signal variance along the beam for both wavelengths, and the truth at
 * gate centres. `energy` is the ray's mean pulse energy per wavelength. */
static void ray_profile(const sim_shared *s, double az, double el, const double energy[2], ray_work *w) {
  const cf_sim_config *c = s->c;
  const cf_l0_config *ic = &c->instrument;
  double d[3];
  cf_sim_beam(az, el, d);
  double tau[2] = {0, 0};
  /* optical depth from the instrument to the first sample (coarse) */
  double r0 = range_of_sample(s, 0);
  if (r0 > 0) {
    int steps = 200;
    for (int k = 0; k < steps; k++) {
      double r = (k + 0.5) * r0 / steps, z = r * d[2];
      double ext = c->lidar_ratio_sr * cf_sim_backscatter(c, z);
      double n = 1e-6 * cf_sim_co2_ppm(c, r * d[0], r * d[1], z) * cf_optics_ndry(&s->optics, z);
      for (int l = 0; l < 2; l++) tau[l] += (ext + n * cf_optics_sigma(&s->optics, l, z)) * r0 / steps;
    }
  }
  for (int i = 0; i < s->n_samples; i++) {
    double r = range_of_sample(s, i), rm = r - 0.5 * s->dr, z = rm * d[2];
    if (i > 0 && rm > 0) {
      double ext = c->lidar_ratio_sr * cf_sim_backscatter(c, z);
      double n = 1e-6 * cf_sim_co2_ppm(c, rm * d[0], rm * d[1], z) * cf_optics_ndry(&s->optics, z);
      for (int l = 0; l < 2; l++) tau[l] += (ext + n * cf_optics_sigma(&s->optics, l, z)) * s->dr;
    }
    double gain = cf_sim_noise_gain(c, i, s->n_samples);
    for (int l = 0; l < 2; l++) {
      double cnr = r > 1.0 ? s->ksys * (energy[l] / c->energy_j) * cf_sim_backscatter(c, r * d[2]) *
                                 cf_sim_overlap(c, r) / (r * r) * exp(-2.0 * tau[l])
                           : 0.0;
      w->a2[l][i] = cnr * c->noise_sigma_counts * c->noise_sigma_counts * gain;
    }
  }
  /* gates: window^2-weighted signal variance (what a gate's periodogram sees) and truth */
  double wsum = 0;
  for (int n = 0; n < s->resp.L; n++) wsum += s->resp.w[n] * s->resp.w[n];
  double noise_sum = 0;
  for (int k = 0; k < s->nbins; k++) noise_sum += s->noise_unit[k];
  for (int g = 0; g < ic->n_gates; g++) {
    int n0 = ic->gate_first + g * ic->gate_step;
    double rg = cf_l0_gate_range(ic, g), zg = rg * d[2];
    for (int l = 0; l < 2; l++) {
      double a = 0;
      for (int n = 0; n < s->resp.L; n++) a += s->resp.w[n] * s->resp.w[n] * w->a2[l][n0 + n];
      w->gate_a2[l][g] = a / wsum;
      double gain = cf_sim_noise_gain(c, n0 + 0.5 * s->resp.L, s->n_samples);
      double sig = w->gate_a2[l][g] * s->signal_sum_unit;
      double noi = c->noise_sigma_counts * c->noise_sigma_counts * gain * noise_sum;
      w->cnr[l][g] = sig > 0 ? 10.0 * log10(sig / noi) : -INFINITY;
    }
    w->vr[g] = cf_sim_radial_velocity(c, az, el, rg);
    w->ppm[g] = cf_sim_co2_ppm(c, rg * d[0], rg * d[1], zg);
    w->nco2[g] = 1e-6 * w->ppm[g] * cf_optics_ndry(&s->optics, zg);
  }
}

static double peak_frequency(const cf_l0_config *ic, int l, double vr) {
  return ic->aom_frequency - 2.0 * vr / ic->wavelength[l];
}

/* Per-pulse noise periodogram of gate g, into out[nbins]. */
static void gate_noise(const sim_shared *s, int g, double *out) {
  const cf_l0_config *ic = &s->c->instrument;
  int n0 = ic->gate_first + g * ic->gate_step;
  double level = s->c->noise_sigma_counts * s->c->noise_sigma_counts * cf_sim_noise_gain(s->c, n0 + 0.5 * s->resp.L, s->n_samples);
  for (int k = 0; k < s->nbins; k++) out[k] = level * s->noise_unit[k];
}

/* Accumulated spectra of one ray: out[l][g][k], drawn from ray stream `stream`. */
static void draw_spectra(const sim_shared *s, cf_sim_spectra_work *sw, const ray_work *w, const int32_t pulses[2],
                         uint64_t stream, float *out_on, float *out_off) {
  const cf_l0_config *ic = &s->c->instrument;
  float *out[2] = {out_on, out_off};
  for (int l = 0; l < 2; l++) {
    cf_rng rng;
    cf_rng_seed(&rng, s->c->seed, stream * 2 + (uint64_t)l);
    for (int g = 0; g < ic->n_gates; g++) {
      gate_noise(s, g, sw->nvec);
      double b = peak_frequency(ic, l, w->vr[g]) / ic->sample_rate;
      cf_sim_spectra_gate(&s->spectra, sw, &rng, pulses[l], sw->nvec, w->gate_a2[l][g], b, out[l] + (size_t)g * s->nbins);
    }
  }
}

/* Background: noise only, summed over `pulses` pulses. */
static void draw_background(const sim_shared *s, cf_sim_spectra_work *sw, int l, int32_t pulses, float *out) {
  cf_rng rng;
  cf_rng_seed(&rng, s->c->seed, 0xB0000000ULL + (uint64_t)l);
  for (int g = 0; g < s->c->instrument.n_gates; g++) {
    gate_noise(s, g, sw->nvec);
    cf_sim_spectra_gate(&s->spectra, sw, &rng, pulses, sw->nvec, 0.0, 0.0, out + (size_t)g * s->nbins);
  }
}

/* --- level raw: heterodyne records ---------------------------------------------- */

typedef struct {
  int nfft;
  fftw_plan plan;          /* backward complex FFT of nfft, new-array execute */
  double *speckle_psd;     /* |FFT(g)|^2 normalised so E|z|^2 = 2 */
} raw_shared;

static int raw_setup(cf_ctx *ctx, const sim_shared *s, raw_shared *rs) {
  int half = (int)ceil(5.0 * s->resp.sigma);
  rs->nfft = 1;
  while (rs->nfft < s->n_samples + 2 * half) rs->nfft <<= 1;
  fftw_complex *a = fftw_alloc_complex((size_t)rs->nfft), *b = fftw_alloc_complex((size_t)rs->nfft);
  rs->speckle_psd = malloc((size_t)rs->nfft * sizeof *rs->speckle_psd);
  if (!a || !b || !rs->speckle_psd) {
    fftw_free(a);
    fftw_free(b);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for raw simulation");
  }
  /* plan in this (the main) thread: only fftw_execute* is thread-safe */
  rs->plan = cf_fft_plan_dft_1d(rs->nfft, a, b, FFTW_BACKWARD, FFTW_ESTIMATE);
  /* speckle: complex white noise through the Gaussian field envelope
   * g_m = exp(-m^2 / (2 s^2)), whose autocorrelation is exp(-d^2 / (4 s^2)).
   * In the frequency domain: PSD = |G_k|^2; z = IFFT(sqrt(PSD) xi). */
  for (int m = 0; m < rs->nfft; m++) {
    int mm = m <= rs->nfft / 2 ? m : m - rs->nfft;
    a[m] = exp(-(double)mm * mm / (2.0 * s->resp.sigma * s->resp.sigma));
  }
  fftw_plan fwd = cf_fft_plan_dft_1d(rs->nfft, a, b, FFTW_FORWARD, FFTW_ESTIMATE);
  fftw_execute(fwd);
  cf_fft_destroy(fwd);
  double total = 0;
  for (int k = 0; k < rs->nfft; k++) {
    rs->speckle_psd[k] = creal(b[k]) * creal(b[k]) + cimag(b[k]) * cimag(b[k]);
    total += rs->speckle_psd[k];
  }
  /* with xi of unit variance per component (E|xi|^2 = 2) and FFTW's
   * unnormalised inverse, E|z_n|^2 = 2 sum_k PSD_k: scale so that is 2 */
  for (int k = 0; k < rs->nfft; k++) rs->speckle_psd[k] /= total;
  fftw_free(a);
  fftw_free(b);
  return CF_OK;
}

static void raw_free(raw_shared *rs) {
  if (rs->plan) cf_fft_destroy(rs->plan);
  free(rs->speckle_psd);
}

/* One pulse: signal variance profile a2 (scaled by the pulse energy ratio),
 * Doppler per sample, into int16 samples. Scratch: two complex arrays of
 * nfft and one double array of n_samples + taps. */
static void draw_pulse(const sim_shared *s, const raw_shared *rs, cf_rng *rng, const double *a2, double escale,
                       const double *freq, fftw_complex *zf, fftw_complex *z, double *eps, int16_t *out, int signal) {
  const cf_sim_config *c = s->c;
  int n = s->n_samples;
  if (signal) {
    /* the pulse spectrum is narrow: frequencies whose PSD is below 1e-30
     * of the total carry nothing a double can hold after the transform */
    for (int k = 0; k < rs->nfft; k++) {
      if (rs->speckle_psd[k] < 1e-30) {
        zf[k] = 0;
        continue;
      }
      double amp = sqrt(rs->speckle_psd[k]);
      double re = cf_rng_normal(rng), im = cf_rng_normal(rng);
      zf[k] = amp * re + I * amp * im;
    }
    fftw_execute_dft(rs->plan, zf, z);
  }
  for (int i = 0; i < n + CF_SIM_NOISE_TAPS; i++) eps[i] = cf_rng_normal(rng);
  double norm = 0;
  for (int j = 0; j < CF_SIM_NOISE_TAPS; j++) norm += c->noise_taps[j] * c->noise_taps[j];
  norm = 1.0 / sqrt(norm);
  double phase = 2 * CF_PI * cf_rng_uniform(rng);
  for (int i = 0; i < n; i++) {
    double x = 0;
    if (signal) {
      phase += 2 * CF_PI * freq[i] / s->resp.fs;
      phase = fmod(phase, 2 * CF_PI);
      x = sqrt(a2[i] * escale) * (creal(z[i]) * cos(phase) - cimag(z[i]) * sin(phase));
    }
    double e = 0;
    for (int j = 0; j < CF_SIM_NOISE_TAPS; j++) e += c->noise_taps[j] * eps[i + CF_SIM_NOISE_TAPS - 1 - j];
    x += sqrt(cf_sim_noise_gain(c, i, n)) * c->noise_sigma_counts * norm * e;
    double q = nearbyint(x);
    out[i] = (int16_t)(q > 32767 ? 32767 : q < -32768 ? -32768 : q);
  }
}

/* --- the driver ----------------------------------------------------------------- */

static int shared_init(cf_ctx *ctx, const cf_sim_config *c, sim_shared *s) {
  memset(s, 0, sizeof *s);
  s->c = c;
  const cf_l0_config *ic = &c->instrument;
  int rc = cf_response_init(ctx, &s->resp, ic);
  if (rc) return rc;
  s->nbins = s->resp.nbins;
  s->n_samples = ic->gate_first + (ic->n_gates - 1) * ic->gate_step + ic->gate_samples;
  s->dr = CF_SPEED_OF_LIGHT / (2.0 * ic->sample_rate);
  cf_sim_noise_acf(c, s->R);
  s->noise_unit = malloc((size_t)s->nbins * sizeof *s->noise_unit);
  if (!s->noise_unit) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_response_noise(&s->resp, s->R, CF_SIM_NOISE_TAPS, s->noise_unit);
  s->signal_sum_unit = 0;
  for (int k = 0; k < s->nbins; k++) s->signal_sum_unit += cf_response_signal(&s->resp, ic->aom_frequency, k);
  double cnr_ref = pow(10.0, c->cnr_ref_db / 10.0);
  s->ksys = cnr_ref * c->r_ref_m * c->r_ref_m / (c->beta_ml * cf_sim_overlap(c, c->r_ref_m));
  double zmax = (range_of_sample(s, s->n_samples) + 10.0) * fabs(sin(c->elevation_deg * CF_PI / 180.0)) + 100.0;
  cf_co2_linelist lines;
  if ((rc = cf_co2_lines_builtin(ctx, &lines))) return rc;
  cf_surface_met met = {c->p0, c->T0, c->rh};
  rc = cf_optics_build(ctx, &lines, &met, 0.01 / ic->wavelength[CF_ON], 0.01 / ic->wavelength[CF_OFF], c->co2_ppm,
                       zmax, 5.0, "simulator", &s->optics);
  cf_co2_lines_free(&lines);
  return rc;
}

static void shared_free(sim_shared *s) {
  cf_sim_spectra_free(&s->spectra);
  cf_response_free(&s->resp);
  cf_optics_free(&s->optics);
  free(s->noise_unit);
}

static int ray_work_alloc(ray_work *w, int n_samples, int n_gates) {
  memset(w, 0, sizeof *w);
  for (int l = 0; l < 2; l++) {
    w->a2[l] = malloc((size_t)n_samples * sizeof(double));
    w->gate_a2[l] = malloc((size_t)n_gates * sizeof(double));
    w->cnr[l] = malloc((size_t)n_gates * sizeof(double));
    if (!w->a2[l] || !w->gate_a2[l] || !w->cnr[l]) return -1;
  }
  w->vr = malloc((size_t)n_gates * sizeof(double));
  w->ppm = malloc((size_t)n_gates * sizeof(double));
  w->nco2 = malloc((size_t)n_gates * sizeof(double));
  return w->vr && w->ppm && w->nco2 ? 0 : -1;
}

static void ray_work_free(ray_work *w) {
  for (int l = 0; l < 2; l++) {
    free(w->a2[l]);
    free(w->gate_a2[l]);
    free(w->cnr[l]);
  }
  free(w->vr);
  free(w->ppm);
  free(w->nco2);
}

/* Ray energies per wavelength: a drift of `energy_jitter` between rays. */
static void ray_energy(const cf_sim_config *c, int ray, double e[2]) {
  cf_rng rng;
  cf_rng_seed(&rng, c->seed, 0xE0000000ULL + (uint64_t)ray);
  for (int l = 0; l < 2; l++) e[l] = c->energy_j * (1.0 + c->energy_jitter * cf_rng_normal(&rng));
}

/* Raw level: the pulses of rays [r0, r0+nb) at wavelength l into pbuf
 * (pulse-major), with each pulse's energy factor into escale. Returns -1
 * if a thread could not allocate its scratch, 1 if cancelled (nothing is
 * then valid). */
static int draw_raw_block(cf_ctx *ctx, const sim_shared *s, const raw_shared *rs, ray_work *work, const float *az,
                           const float *el, int r0, int nb, int pulses, int l, int nthreads, int16_t *pbuf,
                           double *escale) {
  const cf_sim_config *c = s->c;
  const cf_l0_config *ic = &c->instrument;
  int failed = 0;
#pragma omp parallel num_threads(nthreads)
  {
    fftw_complex *zf = fftw_alloc_complex((size_t)rs->nfft), *z = fftw_alloc_complex((size_t)rs->nfft);
    double *eps = malloc((size_t)(s->n_samples + CF_SIM_NOISE_TAPS) * sizeof *eps);
    double *freq = malloc((size_t)s->n_samples * sizeof *freq);
    int have_freq_for = -1, ok = zf && z && eps && freq;
    if (!ok) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(static)
    for (int j = 0; j < nb * pulses; j++) {
      int b = j / pulses, p = j % pulses, ray = r0 + b;
      if (!ok) continue; /* the block is reported failed below */
      /* a block of long rays can take seconds: a signal skips its remaining
       * pulses (cf_cancelled is thread-safe; the caller reports it) */
      if (cf_cancelled(ctx)) ok = 0; /* one load: nothing next to a pulse's FFTs */
      if (!ok) continue;
      if (have_freq_for != ray) {
        for (int i = 0; i < s->n_samples; i++)
          freq[i] = peak_frequency(ic, l, cf_sim_radial_velocity(c, az[ray], el[ray], range_of_sample(s, i)));
        have_freq_for = ray;
      }
      cf_rng rng;
      cf_rng_seed(&rng, c->seed, (((uint64_t)ray * 2 + (uint64_t)l) << 24) | (uint64_t)p);
      /* each pulse's energy scatters 10 % around the ray's mean */
      escale[j] = 1.0 + 0.1 * cf_rng_normal(&rng);
      draw_pulse(s, rs, &rng, work[b].a2[l], escale[j], freq, zf, z, eps, pbuf + (size_t)j * s->n_samples, 1);
    }
    fftw_free(zf);
    fftw_free(z);
    free(eps);
    free(freq);
  }
  return failed ? -1 : cf_cancelled(ctx) ? 1 : 0;
}

/* Raw background records (noise only) for wavelength l. */
static int write_raw_background(cf_ctx *ctx, const sim_shared *s, const raw_shared *rs, cf_l0_writer *wr, int l,
                                int nbg, int16_t *buf, int nbuf) {
  int rc = CF_OK, nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();
  for (int r0 = 0; !rc && r0 < nbg; r0 += nbuf) {
    int n = r0 + nbuf <= nbg ? nbuf : nbg - r0;
    /* each record has its own stream: any thread may draw it */
    int failed = 0;
#pragma omp parallel num_threads(nthreads)
    {
      double *e = malloc((size_t)(s->n_samples + CF_SIM_NOISE_TAPS) * sizeof *e);
      if (!e) {
#pragma omp atomic write
        failed = 1;
      }
#pragma omp for schedule(static)
      for (int j = 0; j < n; j++) {
        if (!e) continue; /* the block is reported failed below */
        if (cf_cancelled(ctx)) continue; /* reported below, after the block */
        cf_rng rng;
        cf_rng_seed(&rng, s->c->seed, 0xBB000000ULL + ((uint64_t)l << 32) + (uint64_t)(r0 + j));
        draw_pulse(s, rs, &rng, NULL, 0, NULL, NULL, NULL, e, buf + (size_t)j * s->n_samples, 0);
      }
      free(e);
    }
    rc = failed               ? cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the background records' scratch")
         : cf_cancelled(ctx) ? CF_OK /* the block is incomplete: not written, reported below */
                             : cf_l0_writer_raw_background(ctx, wr, l, r0, n, buf);
    /* a scheduler's SIGTERM must stop this phase too, between blocks */
    if (!rc) rc = cf_check_cancel(ctx, "simulate", NULL);
  }
  return rc;
}

int cf_simulate_lidar(cf_ctx *ctx, const cf_sim_config *c, const char *l0_path, const char *truth_path) {
  const cf_l0_config *ic = &c->instrument;
  int n_rays = cf_sim_ray_count(c);
  if (n_rays <= 0) return cf_error(ctx, CF_EINVAL, l0_path, "rays", "the scan has no rays");
  int size_rc = cf_sim_check_size(ctx, c); /* never a file of hundreds of GB */
  if (size_rc) return size_rc;
  int raw = ic->level == CF_L0_RAW;
  int32_t pulses = raw ? c->raw_pulses : (int32_t)llround(c->ray_seconds * ic->pulse_repetition / 2.0);
  if (pulses < 1) return cf_error(ctx, CF_EINVAL, l0_path, "ray_seconds", "rays must hold at least one pulse");

  enum { BLOCK = 16, WRITE_RECORDS = 256 };
  sim_shared s;
  raw_shared rs = {0};
  cf_sim_truth truth = {0};
  cf_l0_writer *wr = NULL;
  ray_work work[BLOCK];
  memset(work, 0, sizeof work);
  float *spec[2] = {NULL, NULL};
  int16_t *pbuf = NULL;
  double *escale = NULL;
  int32_t *pray = NULL;
  int rc = shared_init(ctx, c, &s);
  int G = ic->n_gates, NB = s.nbins;
  int nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();

  /* the per-ray table */
  double *t = malloc((size_t)n_rays * sizeof *t);
  float *az = malloc((size_t)n_rays * sizeof *az), *el = malloc((size_t)n_rays * sizeof *el);
  int32_t *scan = malloc((size_t)n_rays * sizeof *scan), *np = malloc((size_t)n_rays * sizeof *np);
  float *en[2] = {malloc((size_t)n_rays * sizeof(float)), malloc((size_t)n_rays * sizeof(float))};
  if (!rc && (!t || !az || !el || !scan || !np || !en[0] || !en[1])) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_sim_truth_alloc(ctx, &truth, c, n_rays, G);
  for (int i = 0; !rc && i < n_rays; i++) {
    cf_sim_ray(c, i, &t[i], &az[i], &el[i], &scan[i]);
    np[i] = pulses;
  }
  cf_l0_sizes sz = {n_rays, 1, {0, 0}, s.n_samples, {0, 0}};
  if (raw) {
    sz.n_pulses[0] = sz.n_pulses[1] = (int64_t)n_rays * pulses;
    sz.n_bg[0] = sz.n_bg[1] = c->background_pulses;
  }
  if (!rc) rc = cf_l0_writer_create(ctx, l0_path, ic, &sz, &wr);
  for (int b = 0; !rc && b < BLOCK; b++)
    if (ray_work_alloc(&work[b], s.n_samples, G)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_sim_spectra_work *sw = NULL;
  if (!rc && !raw) {
    spec[0] = malloc((size_t)BLOCK * G * NB * sizeof(float));
    spec[1] = malloc((size_t)BLOCK * G * NB * sizeof(float));
    sw = calloc((size_t)nthreads, sizeof *sw);
    if (!spec[0] || !spec[1] || !sw) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    if (!rc) rc = cf_sim_spectra_init(ctx, &s.spectra, &s.resp, c->bins_independent, pulses, c->background_pulses);
    for (int th = 0; !rc && th < nthreads; th++)
      if (cf_sim_spectra_work_alloc(&sw[th], &s.spectra)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  if (!rc && raw) {
    rc = raw_setup(ctx, &s, &rs);
    pbuf = malloc((size_t)BLOCK * pulses * s.n_samples * sizeof *pbuf);
    escale = malloc((size_t)BLOCK * pulses * sizeof *escale);
    pray = malloc((size_t)BLOCK * pulses * sizeof *pray);
    if (!rc && (!pbuf || !escale || !pray)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }

  for (int r0 = 0; !rc && r0 < n_rays; r0 += BLOCK) {
    int nb = r0 + BLOCK <= n_rays ? BLOCK : n_rays - r0;
    /* profiles (and, for level spectra, the spectra) ray by ray in parallel */
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int b = 0; b < nb; b++) {
      double e[2];
      ray_energy(c, r0 + b, e);
      en[0][r0 + b] = (float)e[0];
      en[1][r0 + b] = (float)e[1];
      ray_profile(&s, az[r0 + b], el[r0 + b], e, &work[b]);
      int32_t pp[2] = {pulses, pulses};
      if (!raw)
        draw_spectra(&s, &sw[omp_get_thread_num()], &work[b], pp, (uint64_t)(r0 + b), spec[0] + (size_t)b * G * NB,
                     spec[1] + (size_t)b * G * NB);
    }
    for (int b = 0; b < nb; b++)
      cf_sim_truth_set_ray(&truth, r0 + b, work[b].vr, work[b].ppm, work[b].nco2, work[b].cnr[0], work[b].cnr[1]);
    if (!raw) {
      rc = cf_l0_writer_spectra(ctx, wr, CF_ON, r0, nb, spec[0]);
      if (!rc) rc = cf_l0_writer_spectra(ctx, wr, CF_OFF, r0, nb, spec[1]);
      if (!rc) rc = cf_progress(ctx, (double)(r0 + nb) / n_rays, "simulate");
      continue;
    }
    for (int l = 0; !rc && l < 2; l++) {
      int drc = draw_raw_block(ctx, &s, &rs, work, az, el, r0, nb, pulses, l, nthreads, pbuf, escale);
      if (!drc && cf_cancelled(ctx)) drc = 1;
      if (drc) {
        rc = drc > 0 ? cf_error(ctx, CF_ECANCEL, "simulate", "", "cancelled")
                     : cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the raw pulses' scratch");
        break;
      }
      for (int b = 0; b < nb; b++) {
        double m = 0;
        for (int p = 0; p < pulses; p++) {
          m += escale[b * pulses + p];
          pray[b * pulses + p] = r0 + b;
        }
        en[l][r0 + b] = (float)(en[l][r0 + b] * m / pulses); /* the monitor records the mean */
      }
      /* a block is up to 16 x raw_pulses records (100 MB): written in pieces
       * of WRITE_RECORDS, with a check between, so that a signal does not
       * wait for one long HDF5 write */
      int64_t nrec = (int64_t)nb * pulses;
      for (int64_t k = 0; !rc && k < nrec; k += WRITE_RECORDS) {
        int64_t m = nrec - k < WRITE_RECORDS ? nrec - k : WRITE_RECORDS;
        rc = cf_l0_writer_raw(ctx, wr, l, (int64_t)r0 * pulses + k, m, pbuf + (size_t)k * s.n_samples, pray + k);
        if (!rc) rc = cf_check_cancel(ctx, "simulate", NULL);
      }
    }
    if (!rc) rc = cf_progress(ctx, (double)(r0 + nb) / n_rays, "simulate");
  }
  if (!rc) rc = cf_l0_writer_rays(ctx, wr, t, az, el, scan, np, np, en[0], en[1]);
  if (!rc) {
    double mt = c->t0;
    float p0 = (float)c->p0, T0 = (float)c->T0, rh = (float)c->rh;
    rc = cf_l0_writer_meteo(ctx, wr, &mt, &p0, &T0, &rh);
  }
  for (int l = 0; !rc && l < 2; l++) {
    if (raw) {
      /* chunks of at most WRITE_RECORDS: a signal waits for one chunk only */
      int chunk = BLOCK * pulses < WRITE_RECORDS ? BLOCK * pulses : WRITE_RECORDS;
      rc = write_raw_background(ctx, &s, &rs, wr, l, c->background_pulses, pbuf, chunk);
    } else {
      draw_background(&s, &sw[0], l, c->background_pulses, spec[0]);
      rc = cf_l0_writer_background(ctx, wr, l, spec[0], c->background_pulses);
    }
    if (!rc) rc = cf_check_cancel(ctx, "simulate", NULL);
  }
  /* The L0 file and its truth are one product: both are closed as part
   * files and only then renamed into place together, so a failure or a
   * signal leaves neither (and an older pair of the same names intact). */
  cf_atomic_file l0_part = {0}, truth_part = {0};
  if (!rc) {
    rc = cf_l0_writer_close(ctx, wr, &l0_part);
    wr = NULL;
  }
  if (!rc && truth_path) {
    for (int i = 0; i < n_rays; i++) cf_sim_truth_set_geometry(&truth, i, t[i], az[i], el[i], scan[i]);
    rc = cf_sim_truth_write(ctx, &truth, &s.optics, truth_path, &truth_part);
  }
  if (!rc) rc = cf_check_cancel(ctx, "simulate", NULL);
  cf_atomic_file *const parts[2] = {&l0_part, &truth_part};
  if (!rc) rc = cf_atomic_commit_all(ctx, parts, truth_path ? 2 : 1);
  cf_atomic_end(&l0_part);
  cf_atomic_end(&truth_part);

  for (int b = 0; b < BLOCK; b++) ray_work_free(&work[b]);
  for (int th = 0; sw && th < nthreads; th++) cf_sim_spectra_work_free(&sw[th]);
  free(sw);
  free(spec[0]);
  free(spec[1]);
  free(pbuf);
  free(escale);
  free(pray);
  raw_free(&rs);
  if (wr) cf_l0_writer_abort(wr);
  cf_sim_truth_free(&truth);
  free(t);
  free(az);
  free(el);
  free(scan);
  free(np);
  free(en[0]);
  free(en[1]);
  shared_free(&s);
  return rc;
}
