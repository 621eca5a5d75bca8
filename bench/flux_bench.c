/*
 * flux_bench: the flux estimate on the benchmark scene (issue 9,
 * items 6 and 9): time, peak memory and bitwise agreement of 1 and 2
 * threads at the full size, and, over weather draws, the accuracy and the
 * coverage of the reported sigma against the simulator's truth.
 *
 * The scene (lidar/flux/sim_flux_scene.c): a 100 t/h stack 8 km upwind, a park
 * of 10, 20 and 40 t/h stacks 700 m apart, a 150 t/h city of 8 x 8 km, a
 * forest of -10 umol m-2 s-1 over 15 x 15 km; 5 m/s; PPI sweeps at 2, 5
 * and 10 degrees, 150 m gates, 4 ppm noise. The estimate starts from the
 * priors of cf_simflux_write_benchmark_priors (20-60 % off the truth).
 *
 *   flux_bench [--scans N] [--draws D] [--meander DEG] [--threads T] [--keep DIR [--reuse]]
 *              [--compare-threads] [--set KEY=VALUE]...
 *
 * --scans 38 gives about 270,000 observations (90 rays x 80 gates a
 * sweep, less the missing rays). Each draw simulates with seed 1000 + d
 * (meander, noise, offsets all change) and estimates; the report lists
 * per source the median ratio estimate / truth, the share of draws with
 * the truth inside +- 1 sigma, and the timing of every estimate.
 * --keep DIR keeps the scene, priors, L2 file and truth in DIR; with
 * --reuse a draw whose L2 file is already there is not simulated again
 * (one draw only: the file is that of the last draw kept), so that the
 * estimate can be timed again without the simulator's minutes.
 * --set KEY=VALUE passes a setting of `carbonflux flux estimate` (for
 * example sigma_z_scale=1 or stability=D) to every estimate; validated
 * before the first draw.
 * --compare-threads estimates each draw a second time with one thread and
 * reports whether every number of the two results is bitwise the same.
 * Figures only: the exit status is 0 when every run succeeded.
 */
#define _DEFAULT_SOURCE
#include <gdal.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_load.h"
#include "carbonflux/ctx.h"
#include "lidar/flux/estimate.h"
#include "lidar/flux/sim_flux.h"

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec + 1e-6 * tv.tv_usec;
}

/* Every number of two estimates bitwise the same (NaN patterns included):
 * the sources, the groups, the map and the diagnostics. */
static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static int results_identical(const cf_flux_result *a, const cf_flux_result *b) {
  if (a->n_sources != b->n_sources || a->n_groups != b->n_groups || a->grid.nx != b->grid.nx ||
      a->grid.ny != b->grid.ny || a->diag.n_obs != b->diag.n_obs || a->diag.n_outliers != b->diag.n_outliers)
    return 0;
  for (int k = 0; k < a->n_sources; k++) {
    const cf_flux_source_result *x = &a->sources[k], *y = &b->sources[k];
    if (!same_bits(&x->rate_t_h, &y->rate_t_h, sizeof(double)) ||
        !same_bits(&x->sigma_t_h, &y->sigma_t_h, sizeof(double)) ||
        !same_bits(&x->sigma_posterior_t_h, &y->sigma_posterior_t_h, sizeof(double)) ||
        !same_bits(&x->sigma_jackknife_t_h, &y->sigma_jackknife_t_h, sizeof(double)) ||
        !same_bits(&x->avg_kernel, &y->avg_kernel, sizeof(double)) ||
        !same_bits(&x->mb_rate_t_h, &y->mb_rate_t_h, sizeof(double)))
      return 0;
  }
  for (int g = 0; g < a->n_groups; g++)
    if (!same_bits(&a->groups[g].rate_t_h, &b->groups[g].rate_t_h, sizeof(double)) ||
        !same_bits(&a->groups[g].sigma_t_h, &b->groups[g].sigma_t_h, sizeof(double)))
      return 0;
  size_t nc = (size_t)a->grid.nx * (size_t)a->grid.ny * sizeof(double);
  if (nc && (!same_bits(a->grid.flux_umol_m2_s, b->grid.flux_umol_m2_s, nc) ||
             !same_bits(a->grid.sigma_umol_m2_s, b->grid.sigma_umol_m2_s, nc) ||
             !same_bits(a->grid.avg_kernel, b->grid.avg_kernel, nc)))
    return 0;
  return same_bits(&a->diag.dofs, &b->diag.dofs, sizeof(double)) &&
         same_bits(&a->diag.chi2_per_obs, &b->diag.chi2_per_obs, sizeof(double)) &&
         same_bits(&a->diag.model_error_fraction, &b->diag.model_error_fraction, sizeof(double));
}

/* CPU seconds of the whole process (user + system, every thread): on a
 * shared machine the wall time of a run depends on the others' load, its
 * CPU time much less, and CPU / threads is the wall time it would take
 * alone when the threads keep busy. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#define NQ 7 /* 6 sources and the park */
static const char *QN[NQ] = {"STACK", "PARK_10", "PARK_20", "PARK_40", "CITY", "FOREST", "park (sum)"};

/* The L2 file and truth of draw d in dir: draw 0 keeps the names of a
 * single-draw --keep (l2.nc), so that a kept directory is reused as before. */
#define PATH_LEN 600
static void draw_paths(const char *dir, int d, char *l2, char *truth) {
  if (d == 0) {
    snprintf(l2, PATH_LEN, "%s/l2.nc", dir);
    snprintf(truth, PATH_LEN, "%s/truth.json", dir);
  } else {
    snprintf(l2, PATH_LEN, "%s/l2_%04d.nc", dir, d);
    snprintf(truth, PATH_LEN, "%s/truth_%04d.json", dir, d);
  }
}

static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  int scans = 38, draws = 1, threads = 2, reuse = 0, compare = 0, steady = 0, first = 0;
  double meander = 8.0;
  const char *keep = NULL;
  const char *sets[32];
  int n_sets = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scans") && i + 1 < argc) scans = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--draws") && i + 1 < argc) draws = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--first") && i + 1 < argc) first = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--meander") && i + 1 < argc) meander = atof(argv[++i]);
    else if (!strcmp(argv[i], "--steady")) steady = 1;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
    else if (!strcmp(argv[i], "--reuse")) reuse = 1;
    else if (!strcmp(argv[i], "--compare-threads")) compare = 1;
    else if (!strcmp(argv[i], "--set") && i + 1 < argc && n_sets < 32) sets[n_sets++] = argv[++i];
    else {
      fprintf(stderr, "usage: flux_bench [--scans N] [--draws D] [--first F] [--meander DEG | --steady] [--threads T]\n"
                      "                  [--keep DIR [--reuse]] [--compare-threads] [--set KEY=VALUE]...\n");
      return 1;
    }
  }
  if (steady) meander = 0.0; /* the simulator's steady truth: no meander (meander_sigma=0) */
  GDALAllRegister();
  char tmpl[] = "/tmp/flux_bench.XXXXXX";
  const char *dir = keep ? keep : mkdtemp(tmpl);
  if (!dir) return 2;
  char scene[512], prior[512], l2[PATH_LEN], truth[PATH_LEN];
  snprintf(scene, sizeof scene, "%s/scene.geojson", dir);
  snprintf(prior, sizeof prior, "%s/prior.geojson", dir);
  cf_ctx *ctx = cf_ctx_create();
  cf_set_log_level(ctx, CF_LOG_WARN);
  cf_flux_opts opts;
  cf_flux_defaults(&opts);
  for (int k = 0; k < n_sets; k++)
    if (cf_flux_set(ctx, &opts, sets[k])) {
      fprintf(stderr, "--set %s: %s\n", sets[k], cf_error_message(ctx));
      return 1;
    }
  cf_set_threads(ctx, threads);
  omp_set_num_threads(threads);
  double load[3] = {0};
  getloadavg(load, 3);
  bench_load others;
  bench_load_start(&others);
  printf("flux_bench: %d scans, %d draw(s) from seed %d, %s, %d threads, load average %.2f before\n", scans, draws,
         1000 + first, steady ? "STEADY wind (no meander)" : "meandering wind", threads, load[0]);
  if (!steady) printf("  meander %.1f deg\n", meander);
  for (int k = 0; k < n_sets; k++) printf("  estimate setting %s\n", sets[k]);
  cf_simflux_config c;
  cf_simflux_defaults(&c);
  c.scans = scans;
  c.meander_sigma = meander;
  const double truth_q[NQ] = {100, 10, 20, 40, 150, -10e-6 * 15000.0 * 15000.0 * CF_SIMFLUX_T_PER_H_PER_MOL_S, 70};
  if (cf_simflux_write_benchmark_scene(ctx, &c, scene) || cf_simflux_write_benchmark_priors(ctx, &c, prior)) {
    fprintf(stderr, "%s\n", cf_error_message(ctx));
    return 2;
  }
  double *ratio = calloc((size_t)draws * NQ, sizeof *ratio), *rel = calloc((size_t)draws * NQ, sizeof *rel);
  double *jm = calloc((size_t)draws + 1, sizeof *jm), *mb = calloc((size_t)draws + 1, sizeof *mb);
  int inside[NQ] = {0}, runs = 0, fail = 0, mb_n = 0, sum_tighter = 0;
  if (!ratio || !rel || !jm || !mb) return 2;
  printf("  draw   n_obs  state   est s   cpu s   peak MB  J/m    STACK            park sum        CITY             "
         "FOREST\n");
  for (int d = first; d < first + draws; d++) {
    c.seed = 1000 + (uint64_t)d;
    draw_paths(dir, d, l2, truth);
    cf_flux_sources src;
    cf_l2_set set;
    const char *paths[1] = {l2};
    cf_flux_result r;
    memset(&r, 0, sizeof r);
    int have = reuse && keep && access(l2, R_OK) == 0;
    if ((!have && cf_simulate_flux(ctx, &c, scene, l2, truth)) || cf_l2_read_set(ctx, paths, 1, 0, 0, &set)) {
      fprintf(stderr, "draw %d: %s\n", d, cf_error_message(ctx));
      fail++;
      continue;
    }
    cf_flux_opts o = opts;
    double t0 = now(), c0 = cpu_s();
    int rc = cf_flux_sources_read(ctx, prior, NULL, &src);
    if (!rc) rc = cf_flux_estimate(ctx, &set, &src, &o, &r);
    double dt = now() - t0, dc = cpu_s() - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc) {
      fprintf(stderr, "draw %d: %s\n", d, cf_error_message(ctx));
      fail++;
    } else {
      double q[NQ], s[NQ];
      for (int k = 0; k < 6; k++) q[k] = r.sources[k].rate_t_h, s[k] = r.sources[k].sigma_t_h;
      q[6] = r.groups[0].rate_t_h, s[6] = r.groups[0].sigma_t_h;
      for (int k = 0; k < NQ; k++) {
        ratio[(size_t)runs * NQ + k] = q[k] / truth_q[k];
        rel[(size_t)runs * NQ + k] = s[k] / fabs(q[k]);
        inside[k] += fabs(q[k] - truth_q[k]) <= s[k];
      }
      /* the park's sum tighter than its members: its relative sigma below every member's */
      sum_tighter += rel[(size_t)runs * NQ + 6] < fmin(rel[(size_t)runs * NQ + 1],
                                                        fmin(rel[(size_t)runs * NQ + 2], rel[(size_t)runs * NQ + 3]));
      jm[runs] = r.diag.chi2_per_obs;
      if (r.sources[0].mb_isolated) mb[mb_n++] = r.sources[0].mb_rate_t_h / 100.0;
      if (compare) {
        cf_flux_result r1;
        memset(&r1, 0, sizeof r1);
        cf_set_threads(ctx, 1);
        omp_set_num_threads(1);
        double t1 = now();
        int rc1 = cf_flux_estimate(ctx, &set, &src, &o, &r1);
        printf("  draw %d again with 1 thread: %.1f s, %s\n", d, now() - t1,
               rc1 ? cf_error_message(ctx) : results_identical(&r, &r1) ? "bitwise identical" : "DIFFERENT");
        if (rc1 || !results_identical(&r, &r1)) fail++;
        cf_flux_result_free(&r1);
        cf_set_threads(ctx, threads);
        omp_set_num_threads(threads);
      }
      printf("  %4d %7ld %6d %7.1f %7.1f %9.0f %6.3f  %6.1f +- %5.1f  %6.1f +- %5.1f  %6.1f +- %5.1f  %7.1f +- %5.1f\n",
             d, r.diag.n_obs, r.diag.n_state, dt, dc, ru.ru_maxrss / 1024.0, r.diag.chi2_per_obs, q[0], s[0], q[6],
             s[6], q[4], s[4], q[5], s[5]);
      printf("        park members");
      for (int k = 1; k <= 3; k++)
        printf("  %5.1f +- %4.1f (posterior %4.1f, direction %4.1f, jackknife %4.1f)", q[k], s[k],
               r.sources[k].sigma_posterior_t_h, r.sources[k].sigma_direction_t_h, r.sources[k].sigma_jackknife_t_h);
      printf("  class %c, sigma_z x %.3f", r.diag.stability, r.diag.sigma_z_scale);
      printf("\n");
      fflush(stdout);
      runs++;
    }
    cf_flux_result_free(&r);
    cf_flux_sources_free(&src);
    cf_l2_set_free(&set);
  }
  if (runs) {
    printf("\n  quantity      truth t/h  median est/truth  truth within 1 sigma  median sigma/|estimate|\n");
    double *col = malloc((size_t)runs * sizeof *col);
    if (!col) return 2;
    for (int k = 0; k < NQ; k++) {
      for (int i = 0; i < runs; i++) col[i] = ratio[(size_t)i * NQ + k];
      double med = median_of(col, runs);
      for (int i = 0; i < runs; i++) col[i] = rel[(size_t)i * NQ + k];
      printf("  %-12s %10.1f  %16.3f  %4d of %d (%3.0f %%)  %10.3f\n", QN[k], truth_q[k], med, inside[k], runs,
             100.0 * inside[k] / runs, median_of(col, runs));
    }
    free(col);
    int jm_in = 0;
    for (int i = 0; i < runs; i++) jm_in += jm[i] >= 0.8 && jm[i] <= 1.2;
    double jm_min = jm[0], jm_max = jm[0];
    for (int i = 1; i < runs; i++) jm_min = fmin(jm_min, jm[i]), jm_max = fmax(jm_max, jm[i]);
    printf("  J/m (cost at the optimum over the observations): median %.3f, range %.3f..%.3f, in [0.8, 1.2] in %d of "
           "%d draws\n", median_of(jm, runs), jm_min, jm_max, jm_in, runs);
    printf("  park sum's sigma/|estimate| below every member's in %d of %d draws\n", sum_tighter, runs);
    if (mb_n) {
      printf("  mass balance of STACK isolated in %d of %d draws, median est/truth %.3f\n", mb_n, runs,
             median_of(mb, mb_n));
    } else {
      printf("  mass balance of STACK: not isolated in any draw\n");
    }
  }
  getloadavg(load, 3);
  printf("load average %.2f after\n", load[0]);
  bench_load_print("while the flux estimates ran (this process and its children excluded)", bench_load_others(&others));
  free(ratio), free(rel), free(jm), free(mb);
  cf_ctx_destroy(ctx);
  if (!keep) {
    for (int d = first; d < first + draws; d++) {
      draw_paths(dir, d, l2, truth);
      remove(l2), remove(truth);
    }
    remove(scene), remove(prior), rmdir(dir);
  }
  return fail ? 2 : 0;
}
