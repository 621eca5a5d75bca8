/*
 * lidar_bench: how fast the CO2-flux lidar chain is, against references
 * measured in the same run (issue 3, item 12).
 *
 * Part 1, spectra to L2: one hour of 1 Hz rays (150 VAD scans of 24 rays,
 * 40 gates, 512-point FFTs, spectra level) is simulated, then processed by
 * `carbonflux lidar process` as a child process, with 1 and 2 threads: the
 * figure is hours of data per hour of computing ("x real time", target
 * >= 150 on 2 cores). A 4-hour file shows that memory does not grow with
 * the file (target < 500 MB whatever the size). Children run first, while
 * this process is still small: Linux carries a parent's RSS high-water mark
 * into its children's ru_maxrss.
 *
 * Part 2, raw records to spectra, in memory (no HDF5): our chain
 * (int16 -> window -> zero pad -> batched r2c -> |X|^2 accumulation, in
 * deterministic chunks) against a bare FFTW execution of the same batched
 * r2c plan on prepared input (target >= 70 % of it), and against the same
 * chain in numpy (target >= 2x faster); and our speed-up from 1 to 2
 * threads (target >= 1.7).
 */
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_child.h"
#include "carbonflux/ctx.h"
#include "lidar/spectra.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static const char *bin(void) {
  const char *e = getenv("CARBONFLUX_BIN");
  return e && e[0] ? e : CF_BENCH_CARBONFLUX_BIN;
}

/* Part 1 ------------------------------------------------------------------------ */

static int simulate(const char *dir, const char *name, int scans, const char *log) {
  char out[1024], sc[64];
  snprintf(out, sizeof out, "%s/%s", dir, name);
  snprintf(sc, sizeof sc, "scans=%d", scans);
  const char *argv[] = {bin(), "-q", "simulate", "lidar", "-o", out, sc, NULL};
  bench_child c;
  if (bench_child_run(argv, log, &c)) {
    fprintf(stderr, "simulation failed (%s)\n", c.how);
    bench_log_tail(log, 20);
    return -1;
  }
  return 0;
}

static int process(const char *dir, const char *name, int threads, const char *log, bench_child *c) {
  char in[1024], out[1024], th[16];
  snprintf(in, sizeof in, "%s/%s", dir, name);
  snprintf(out, sizeof out, "%s/%s_l2.nc", dir, name);
  snprintf(th, sizeof th, "%d", threads);
  const char *argv[] = {bin(), "-q", "--threads", th, "lidar", "process", in, "-o", out, NULL};
  if (bench_child_run(argv, log, c)) {
    fprintf(stderr, "processing failed (%s)\n", c->how);
    bench_log_tail(log, 20);
    return -1;
  }
  return 0;
}

/* Part 2 ------------------------------------------------------------------------ */

enum { G = 40, L = 400, STEP = 400, FIRST = 400, M = 512, NB = M / 2 + 1 };
#define NS ((int64_t)FIRST + (G - 1) * STEP + L)

static void fill_records(int16_t *x, int64_t n) {
  uint64_t s = 88172645463325252ULL;
  for (int64_t i = 0; i < n * NS; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = (int16_t)((int)(s % 241) - 120);
  }
}

/* ours: cf_spectra_sum over `n` records, best of `reps` */
static double ours(const cf_spectra_plan *p, const int16_t *x, int64_t n, int threads, int reps) {
  size_t per = (size_t)G * NB;
  double *part = malloc((size_t)((n + CF_SPECTRA_CHUNK - 1) / CF_SPECTRA_CHUNK) * per * sizeof *part);
  double *out = malloc(per * sizeof *out);
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t = now();
    if (cf_spectra_sum(p, x, n, NS, threads, part, out)) {
      fprintf(stderr, "cf_spectra_sum failed\n");
      exit(2);
    }
    t = now() - t;
    if (t < best) best = t;
  }
  free(part);
  free(out);
  return best;
}

/* bare FFTW: the same plan executed n times on prepared input, no
 * conversion, no window, no accumulation; parallel over records */
static double bare_fftw(const cf_spectra_plan *p, int64_t n, int threads, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t = now();
#pragma omp parallel num_threads(threads)
    {
      cf_spectra_work w;
      if (cf_spectra_work_alloc(&w, p) == 0) {
        for (int64_t i = 0; i < (int64_t)G * M; i++) w.in[i] = (double)(i % 97) - 48.0;
#pragma omp for schedule(static)
        for (int64_t q = 0; q < n; q++) fftw_execute_dft_r2c(p->plan, w.in, w.out);
        cf_spectra_work_free(&w);
      }
    }
    t = now() - t;
    if (t < best) best = t;
  }
  return best;
}

/* numpy: the same chain, timed inside Python (data generation excluded) */
static double numpy_chain(const char *dir, int64_t n, const char *log) {
  char script[1024];
  snprintf(script, sizeof script, "%s/chain.py", dir);
  FILE *f = fopen(script, "w");
  if (!f) return NAN;
  fprintf(f,
          "import numpy as np, time\n"
          "G, L, STEP, FIRST, M, P = %d, %d, %d, %d, %d, %lld\n"
          "NS = FIRST + (G - 1) * STEP + L\n"
          "x = np.random.default_rng(1).integers(-120, 121, size=(P, NS), dtype=np.int16)\n"
          "w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(L) / (L - 1))\n"
          "idx = FIRST + np.arange(G)[:, None] * STEP + np.arange(L)[None, :]\n"
          "best = 1e30\n"
          "for rep in range(2):\n"
          "    t = time.perf_counter()\n"
          "    acc = np.zeros((G, M // 2 + 1))\n"
          "    for c in range(0, P, 64):\n"
          "        g = x[c:c + 64][:, idx] * w\n"
          "        X = np.fft.rfft(g, n=M, axis=-1)\n"
          "        acc += (X.real ** 2 + X.imag ** 2).sum(axis=0)\n"
          "    best = min(best, time.perf_counter() - t)\n"
          "print('NUMPY_SECONDS', best)\n",
          G, L, STEP, FIRST, M, (long long)n);
  fclose(f);
  const char *argv[] = {"/usr/bin/python3", script, NULL};
  bench_child c;
  if (access("/usr/bin/python3", X_OK) || bench_child_run(argv, log, &c)) return NAN;
  f = fopen(log, "r");
  double s = NAN;
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "NUMPY_SECONDS ", 14)) s = atof(line + 14);
  if (f) fclose(f);
  return s;
}

int main(int argc, char **argv) {
  int threads = 2, skip_numpy = 0, long_hours = 4, skip_l2 = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--skip-numpy")) skip_numpy = 1;
    else if (!strcmp(argv[i], "--skip-l2")) skip_l2 = 1;
    else if (!strcmp(argv[i], "--long-hours") && i + 1 < argc) long_hours = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: lidar_bench [--threads N] [--long-hours H] [--skip-numpy] [--skip-l2]\n");
      return 1;
    }
  }
  char dir[] = "/tmp/cf-lidar-bench-XXXXXX";
  if (!mkdtemp(dir)) return 2;
  char log[1100];
  snprintf(log, sizeof log, "%s/log.txt", dir);

  printf("carbonflux lidar benchmark (%d cores, --threads %d), work in %s\n", (int)sysconf(_SC_NPROCESSORS_ONLN),
         threads, dir);
  /* Part 1 */
  bench_child p1 = {0}, pT = {0}, pL = {0};
  double rt1 = NAN, rtT = NAN;
  p1.wall_s = pT.wall_s = pL.wall_s = NAN;
  if (!skip_l2) {
  printf("\n1. spectra to L2: 1 h of 1 Hz rays, 40 gates, 512-point FFT\n");
  if (simulate(dir, "hour.h5", 150, log) || simulate(dir, "long.h5", 150 * long_hours, log)) return 2;
  if (process(dir, "hour.h5", 1, log, &p1) || process(dir, "hour.h5", threads, log, &pT) ||
      process(dir, "long.h5", threads, log, &pL))
    return 2;
  rt1 = 3600.0 / p1.wall_s, rtT = 3600.0 / pT.wall_s;
  printf("   %-34s %8.2f s  %7.0f x real time  peak %6.1f MB\n", "1 thread, 1 h file", p1.wall_s, rt1, p1.maxrss_kb / 1024.0);
  printf("   %-34s %8.2f s  %7.0f x real time  peak %6.1f MB\n", "N threads, 1 h file", pT.wall_s, rtT, pT.maxrss_kb / 1024.0);
  printf("   %d threads, %d h file %17s %8.2f s  %7.0f x real time  peak %6.1f MB\n", threads, long_hours, "",
         pL.wall_s, 3600.0 * long_hours / pL.wall_s, pL.maxrss_kb / 1024.0);
  }

  /* Part 2 */
  const int64_t n = 2048;
  printf("\n2. raw to spectra, in memory: %lld records of %lld samples, %d gates x %d samples, FFT %d\n", (long long)n,
         (long long)NS, G, L, M);
  int16_t *x = malloc((size_t)n * NS * sizeof *x);
  if (!x) return 2;
  fill_records(x, n);
  cf_l0_config cfg = {0};
  cfg.gate_first = FIRST, cfg.gate_samples = L, cfg.gate_step = STEP, cfg.n_gates = G, cfg.fft_size = M;
  cfg.window = CF_WINDOW_HANN;
  cf_ctx *ctx = cf_ctx_create();
  cf_spectra_plan plan;
  if (cf_spectra_plan_create(ctx, &cfg, FFTW_MEASURE, &plan)) return 2;
  double samples = (double)n * G * L;
  double o1 = ours(&plan, x, n, 1, 3), oT = ours(&plan, x, n, threads, 3);
  double f1 = bare_fftw(&plan, n, 1, 3), fT = bare_fftw(&plan, n, threads, 3);
  double np_s = skip_numpy ? NAN : numpy_chain(dir, n, log);
  printf("   %-34s %8.3f s  %8.1f Msamples/s\n", "carbonflux, 1 thread", o1, samples / o1 / 1e6);
  printf("   %-34s %8.3f s  %8.1f Msamples/s\n", "carbonflux, N threads", oT, samples / oT / 1e6);
  printf("   %-34s %8.3f s  %8.1f Msamples/s\n", "bare FFTW r2c, 1 thread", f1, samples / f1 / 1e6);
  printf("   %-34s %8.3f s  %8.1f Msamples/s\n", "bare FFTW r2c, N threads", fT, samples / fT / 1e6);
  if (isfinite(np_s))
    printf("   %-34s %8.3f s  %8.1f Msamples/s\n", "numpy (same chain, 1 thread)", np_s, samples / np_s / 1e6);
  else
    printf("   numpy: skipped (needs /usr/bin/python3 with python3-numpy)\n");

  printf("\nratios (targets in brackets):\n");
  printf("   spectra to L2, %d threads: %.0f x real time [>= 150]  %s\n", threads, rtT, rtT >= 150 ? "met" : "NOT met");
  printf("   peak memory, %d h file: %.1f MB, 1 h file: %.1f MB [< 500, not growing]  %s\n", long_hours,
         pL.maxrss_kb / 1024.0, pT.maxrss_kb / 1024.0, pL.maxrss_kb < 500 * 1024 ? "met" : "NOT met");
  printf("   raw to spectra vs bare FFTW, %d threads: %.0f %% [>= 70 %%]  %s\n", threads, 100 * fT / oT,
         fT / oT >= 0.7 ? "met" : "NOT met");
  if (isfinite(np_s))
    printf("   raw to spectra vs numpy (1 thread each): %.1fx [>= 2x]  %s\n", np_s / o1, np_s / o1 >= 2 ? "met" : "NOT met");
  printf("   speed-up 1 -> %d threads: %.2fx [>= 1.7]  %s\n", threads, o1 / oT, o1 / oT >= 1.7 ? "met" : "NOT met");
  printf("RESULT threads=%d rt_1h=%.0f rt_1h_1thread=%.0f peak_1h_mb=%.1f peak_long_mb=%.1f ours_msps=%.1f "
         "fftw_msps=%.1f fftw_ratio=%.2f numpy_ratio=%.2f speedup=%.2f\n",
         threads, rtT, rt1, pT.maxrss_kb / 1024.0, pL.maxrss_kb / 1024.0, samples / oT / 1e6, samples / fT / 1e6,
         fT / oT, np_s / o1, o1 / oT);
  cf_spectra_plan_destroy(&plan);
  cf_ctx_destroy(ctx);
  free(x);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return 0;
}
