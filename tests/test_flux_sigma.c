/*
 * The flux estimate's sigma as a statement about the truth
 * (lidar/flux/estimate.h, estimate_inversion.c): on the hand-made scene of
 * tests/flux_scene.c, whose signal is the estimator's own forward model,
 * so the model is right by construction and what is left is whether the
 * reported rates and sigmas behave as the essay says they do.
 *
 * (3') The plume's depth fitted by the data (sigma_z_scale=auto) finds a
 *      truth made 1.4 times deeper, and the rates with it.
 * (3)  The truth recovered when the model is right: coverage of +-1 sigma
 *      over seeded noise draws, chi2 per observation near 1.
 * (3b) The same when each sweep's plumes are turned by a direction error
 *      the sweep's gates share, and the unobserved history by one more:
 *      the direction and history terms must carry it.
 * (4)  Bitwise determinism for 1 and 2 threads, jackknife on.
 *
 * Apart from tests/test_flux_estimate.c (the arithmetic and the command)
 * so that ctest runs the two in parallel: each is tens of estimates, and
 * as one suite they were the longest of all (114 s under the sanitizers).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "cf_test.h"
#include "core/rng.h"
#include "flux_scene.h"

#define D2R (3.14159265358979323846 / 180.0)

/* --- (3') the plume's depth by the data ------------------------------------------
 * The truth made with sigma_z 1.4 times class D's (H x_true of the model
 * with sigma_z_scale=1.4), estimated with sigma_z_scale=auto: the fit
 * (estimate_model_choice.c, cf_flux_choose_sz_scale) must find the factor
 * and, with it, the rates. 1.4 is off the search grid (1.25^k): the
 * parabola's vertex carries it. Tolerances: the factor within 0.1 (J moves by
 * hundreds between grid points on ~2000 gates of 0.8-1.4 ppm noise, its
 * noise is a few units, so the vertex is far better than 1/20 of a grid
 * step; the parabola itself is only exact for a quadratic J, hence 0.1),
 * the rates within 3 posterior sigma; the unscaled model (sigma_z_scale=1)
 * misses at least one source by more than 3 sigma, so the check can fail. */
static void test_depth_by_the_data(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  flux_scene_exact_opts(ctx, &o);
  flux_scene_set(ctx, &o, "grid_m=2000");
  flux_scene_set(ctx, &o, "sigma_z_scale=1.4");
  flux_scene sc;
  flux_scene_make(ctx, &o, 6, 36, 14, &sc);
  flux_scene_draw(&sc, 4242);
  double zmax[2];
  for (int pass = 0; pass < 2; pass++) {
    flux_scene_set(ctx, &o, pass == 0 ? "sigma_z_scale=auto" : "sigma_z_scale=1");
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    assert_int_equal(r.diag.sigma_z_scale_auto, pass == 0);
    zmax[pass] = 0;
    for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[flux_scene_point_index(&sc, p)];
      double z = (s->rate_t_h - flux_scene_truth_t_h[p]) / s->sigma_posterior_t_h;
      print_message("%s: sigma_z x %.3f, P%d %.3f +- %.3f t/h (truth %g, z %.2f)\n", pass ? "given 1" : "auto",
                    r.diag.sigma_z_scale, p + 1, s->rate_t_h, s->sigma_posterior_t_h, flux_scene_truth_t_h[p], z);
      zmax[pass] = fmax(zmax[pass], fabs(z));
    }
    if (pass == 0) assert_close(r.diag.sigma_z_scale, 1.4, 0, 0.1);
    cf_flux_result_free(&r);
  }
  assert_true(zmax[0] < 3);
  assert_true(zmax[1] > 3);
  flux_scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (3) truth recovered when the model is right ------------------------------- */

#define DRAWS 30

static void test_truth_recovered(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  /* 2 km cells (4 of them): the cells' Jacobian (plume integrals over
   * each cell) is most of the cost of a draw, and the point sources are
   * what is counted */
  cf_flux_opts o;
  flux_scene_exact_opts(ctx, &o);
  flux_scene_set(ctx, &o, "grid_m=2000");
  flux_scene sc;
  flux_scene_make(ctx, &o, 6, 36, 14, &sc);
  int inside = 0, trials = 0;
  double worst_z = 0, chi2 = 0;
  for (int d = 0; d < DRAWS; d++) {
    flux_scene_draw(&sc, 1000 + (uint64_t)d);
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[flux_scene_point_index(&sc, p)];
      double z = (s->rate_t_h - flux_scene_truth_t_h[p]) / s->sigma_posterior_t_h;
      if (d == 0)
        print_message("draw 0: P%d %.3f +- %.3f t/h (truth %g, z %.2f)\n", p + 1, s->rate_t_h, s->sigma_posterior_t_h,
                      flux_scene_truth_t_h[p], z);
      /* the first draw: within 3 sigma (fails by chance with p = 0.27 %) */
      if (d == 0) assert_true(fabs(z) < 3);
      worst_z = fmax(worst_z, fabs(z));
      inside += fabs(z) <= 1, trials++;
    }
    chi2 += r.diag.chi2_per_obs / DRAWS;
    cf_flux_result_free(&r);
  }
  /* Coverage of +-1 sigma: 68.3 % expected when the model and R are right
   * and the prior is weak (averaging kernel ~1 for the points). Over
   * `trials` = 2 x 30 draws (the two sources' errors are nearly
   * independent: their plumes are 1.1 km apart) the binomial SD of the
   * coverage is sqrt(0.683 x 0.317 / 60) = 6.0 %: the band 55-80 % is
   * -2.2 / +2.0 SD around 68.3 %. Every |z| below 4 (p = 6e-5 a trial).
   * chi2 per observation: E = 1 at the optimum of a right linear Gaussian
   * model; SD per draw sqrt(2 / n_obs) ~ 0.03 (n_obs ~ 2000), of the mean
   * of 30 draws 0.005: tolerance 0.025. */
  double cov = (double)inside / trials;
  print_message("truth recovered: %d observations, %d of %d inside +-1 sigma (%.1f %%), max |z| %.2f, mean chi2/obs "
                "%.4f\n", (int)sc.n_obs, inside, trials, 100 * cov, worst_z, chi2);
  assert_true(cov >= 0.55 && cov <= 0.80);
  assert_true(worst_z < 4);
  assert_close(chi2, 1.0, 0, 0.025);
  flux_scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (3b) a direction error shared by each sweep ---------------------------------- */

#define TURN_DEG 1.5

/* The truth of (3) with each sweep's plumes turned by an angle drawn from
 * N(0, TURN_DEG^2), the direction uncertainty the estimate is told
 * (sigma_theta_deg): an error every gate of a sweep shares, which a
 * diagonal R cannot know; and the share of each plume's travel before
 * the first sweep turned by one more angle drawn from N(0, sigma_b^2),
 * sigma_b the spread of the sweeps' directions the estimator measures
 * (about 3 degrees here): the unobserved history's rotation, which all
 * sweeps share. The reported sigma carries both (the sandwich terms of
 * estimate_inversion.c, "Direction error" and "History error") and must
 * cover the truth as (3) does: 55-80 % of 2 x 30 trials (binomial SD 6 %,
 * see (3)).
 * The posterior alone covers almost never here (2 of 60 when this was
 * written): 1 ppm gates resolve each plume's position far better than
 * 1.5 degrees. The term is linear in the turn; at 1.5 degrees (a shift of
 * about 0.3 sigma_y at the gates) that holds, at 3 degrees it covered 47 %:
 * a turned plume also lowers the estimate by a second-order amount
 * (mean z -0.8 at 1.5 degrees, printed) that no linear term carries. */
static void test_direction_error_covered(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  flux_scene_exact_opts(ctx, &o);
  flux_scene_set(ctx, &o, "grid_m=2000");
  char kv[64];
  snprintf(kv, sizeof kv, "sigma_theta_deg=%g", TURN_DEG);
  flux_scene_set(ctx, &o, kv);
  flux_scene sc;
  flux_scene_make(ctx, &o, 6, 36, 14, &sc);
  double *straight = malloc((size_t)sc.n_obs * sizeof *straight), *turned = malloc((size_t)sc.n_obs * sizeof *turned);
  assert_non_null(straight), assert_non_null(turned);
  double zero[6] = {0}, turn[6], sigma_b = 0;
  flux_scene_point_part(ctx, &sc, &o, zero, 0.0, 0, straight, &sigma_b);
  assert_true(sigma_b > 1.0); /* the scene's sweeps differ by +-4 degrees */
  int in_rep = 0, in_post = 0, in_nohist = 0, trials = 0;
  double dir_share = 0, hist_share = 0, bias = 0;
  for (int d = 0; d < DRAWS; d++) {
    cf_rng rng;
    cf_rng_seed(&rng, 7000 + (uint64_t)d, 1);
    for (int s = 0; s < sc.n_sweeps; s++) turn[s] = TURN_DEG * D2R * cf_rng_normal(&rng);
    double history = sigma_b * D2R * cf_rng_normal(&rng);
    flux_scene_point_part(ctx, &sc, &o, turn, history, 1, turned, NULL);
    cf_rng_seed(&rng, 7000 + (uint64_t)d, 0);
    cf_l2 *l = &sc.set.files[0];
    for (long i = 0; i < sc.n_obs; i++)
      l->co2_mole_fraction[sc.cell[i]] = sc.signal[i] - straight[i] + turned[i] + sc.sig[i] * cf_rng_normal(&rng);
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[flux_scene_point_index(&sc, p)];
      double e = fabs(s->rate_t_h - flux_scene_truth_t_h[p]);
      /* no jackknife, a given class: sigma^2 = posterior^2 + direction^2 + history^2 */
      assert_close(s->sigma_t_h, hypot(hypot(s->sigma_posterior_t_h, s->sigma_direction_t_h), s->sigma_history_t_h),
                   1e-12, 0);
      assert_true(s->sigma_class_t_h == 0.0);
      hist_share += s->sigma_history_t_h / s->sigma_t_h / (DRAWS * FLUX_SCENE_NPTS);
      in_rep += e <= s->sigma_t_h, in_post += e <= s->sigma_posterior_t_h, trials++;
      in_nohist += e <= hypot(s->sigma_posterior_t_h, s->sigma_direction_t_h);
      bias += (s->rate_t_h - flux_scene_truth_t_h[p]) / s->sigma_t_h / (DRAWS * FLUX_SCENE_NPTS);
      dir_share += s->sigma_direction_t_h / s->sigma_t_h / (DRAWS * FLUX_SCENE_NPTS);
    }
    cf_flux_result_free(&r);
  }
  print_message("direction error: %d of %d inside the reported 1 sigma (%.1f %%), %d inside the posterior's alone "
                "(%.1f %%); the direction and history terms are %.2f and %.2f of the reported sigma on average "
                "(sigma_b %.2f deg), mean z %.2f; %d inside without the history term\n",
                in_rep, trials, 100.0 * in_rep / trials, in_post, 100.0 * in_post / trials, dir_share, hist_share, sigma_b,
                bias, in_nohist);
  double cov = (double)in_rep / trials;
  assert_true(cov >= 0.55 && cov <= 0.80);
  free(straight), free(turned);
  flux_scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (4) thread determinism --------------------------------------------------------- */

static void run_threads(cf_ctx *ctx, const flux_scene *sc, const cf_flux_opts *o, int nt, cf_flux_result *r) {
  cf_set_threads(ctx, nt);
  omp_set_num_threads(nt);
  assert_int_equal(cf_flux_estimate(ctx, &sc->set, &sc->src, o, r), CF_OK);
}

static void test_thread_determinism(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  flux_scene sc;
  flux_scene_small(ctx, &o, 5, &sc);
  /* the full estimate: model error and floor from the residuals, outliers
   * dropped at 5 sigma, the jackknife over 3 blocks of 2 sweeps */
  const char *kv[] = {"model_error=auto", "model_floor_ppm=auto", "spike_sigma=5", "jackknife_blocks=3"};
  for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) flux_scene_set(ctx, &o, kv[k]);
  cf_flux_result a, b;
  run_threads(ctx, &sc, &o, 1, &a);
  run_threads(ctx, &sc, &o, 2, &b);
  assert_int_equal(a.diag.jackknife_blocks, 3);
  assert_int_equal(a.n_sources, b.n_sources);
  for (int k = 0; k < a.n_sources; k++) {
    const cf_flux_source_result *x = &a.sources[k], *y = &b.sources[k];
    assert_true(isfinite(x->sigma_jackknife_t_h));
    assert_memory_equal(&x->rate_t_h, &y->rate_t_h, sizeof(double));
    assert_memory_equal(&x->sigma_t_h, &y->sigma_t_h, sizeof(double));
    assert_memory_equal(&x->sigma_posterior_t_h, &y->sigma_posterior_t_h, sizeof(double));
    assert_memory_equal(&x->sigma_jackknife_t_h, &y->sigma_jackknife_t_h, sizeof(double));
    assert_memory_equal(&x->avg_kernel, &y->avg_kernel, sizeof(double));
  }
  size_t nc = (size_t)a.grid.nx * a.grid.ny;
  assert_int_equal(nc, (size_t)b.grid.nx * b.grid.ny);
  assert_memory_equal(a.grid.flux_umol_m2_s, b.grid.flux_umol_m2_s, nc * sizeof(double));
  assert_memory_equal(a.grid.sigma_umol_m2_s, b.grid.sigma_umol_m2_s, nc * sizeof(double));
  assert_memory_equal(a.grid.avg_kernel, b.grid.avg_kernel, nc * sizeof(double));
  assert_memory_equal(&a.diag.dofs, &b.diag.dofs, sizeof(double));
  assert_memory_equal(&a.diag.chi2_per_obs, &b.diag.chi2_per_obs, sizeof(double));
  assert_memory_equal(&a.diag.model_error_fraction, &b.diag.model_error_fraction, sizeof(double));
  assert_memory_equal(&a.diag.model_floor_ppm, &b.diag.model_floor_ppm, sizeof(double));
  assert_int_equal(a.diag.n_obs, b.diag.n_obs);
  assert_int_equal(a.diag.n_outliers, b.diag.n_outliers);
  print_message("threads 1 and 2: identical; P1 %.6f +- %.6f (posterior %.6f, jackknife %.6f), model error %.4f, "
                "floor %.4f ppm, %ld obs\n", a.sources[0].rate_t_h, a.sources[0].sigma_t_h,
                a.sources[0].sigma_posterior_t_h, a.sources[0].sigma_jackknife_t_h, a.diag.model_error_fraction,
                a.diag.model_floor_ppm, a.diag.n_obs);
  cf_flux_result_free(&a), cf_flux_result_free(&b);
  cf_set_threads(ctx, 0);
  flux_scene_free(&sc);
  cf_ctx_destroy(ctx);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_truth_recovered),
      cmocka_unit_test(test_depth_by_the_data),
      cmocka_unit_test(test_direction_error_covered),
      cmocka_unit_test(test_thread_determinism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
