/*
 * The flux estimate (lidar/flux/estimate.h) against arithmetic done here:
 * that it computes what it says it computes. Its sigma as a statement
 * about the truth (coverage, the fitted depth, the direction and history
 * terms, thread determinism) is tests/test_flux_sigma.c, on the same
 * hand-made scene (tests/flux_scene.c).
 *
 * (1) cf_inv_accumulate_sparse = cf_inv_accumulate on a random sparse H,
 *     and the cf_inv_sums algebra (total minus a half = the other half);
 *     an area source's prior on cells it only partly covers.
 * (2) Exactness (issue 9 item 7): a small scene whose L2 data are built in
 *     memory from the estimator's own forward model plus seeded noise; the
 *     posterior mean and sigma of the point sources (and of the cells, and
 *     the DOFS) against a dense solution of the normal equations computed
 *     here (long double Cholesky, no BLAS/LAPACK).
 * (5) `carbonflux flux estimate` end to end on simulator output.
 * (6) Bad input through the command (issue 9 item 10): exit code, message
 *     naming file and field on stderr, nothing written.
 *
 * The forward model H is the code under test's own (cf_flux_jacobian_row
 * through the internal API of estimate_internal.h): (2) tests what the
 * estimator does with it (observation selection, priors, R, the sparse
 * accumulation, the solve, the result), not the plume physics, which
 * tests/test_plume.c and the simulator's benchmark test.
 */
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cf_test.h"
#include "core/rng.h"
#include "flux_scene.h"
#include "lidar/flux/geometry.h"
#include "lidar/flux/inversion.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-netcdf4 */
#define HELPER CF_SOURCE_DIR "/tests/flux_estimate_check.py"
#define D2R (3.14159265358979323846 / 180.0)

/* --- dense reference: long double Cholesky of the normal equations ---------- */

/* A (n x n, SPD, row-major) := its Cholesky factor L (lower). */
static void chol(int n, long double *A) {
  for (int j = 0; j < n; j++) {
    long double d = A[j * n + j];
    for (int k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    assert_true(d > 0);
    A[j * n + j] = sqrtl(d);
    for (int i = j + 1; i < n; i++) {
      long double s = A[i * n + j];
      for (int k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / A[j * n + j];
    }
  }
}
/* Solve L L^T x = b in place. */
static void chol_solve(int n, const long double *L, long double *b) {
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < i; k++) b[i] -= L[i * n + k] * b[k];
    b[i] /= L[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    for (int k = i + 1; k < n; k++) b[i] -= L[k * n + i] * b[k];
    b[i] /= L[i * n + i];
  }
}

/* x = x_a + (H^T R^-1 H + B^-1)^-1 H^T R^-1 (y - H x_a), P = (...)^-1, B
 * diagonal. H m x n row-major. P [n * n]. */
static void dense_posterior(int n, long m, const double *H, const double *y, const double *s, const double *xa,
                            const double *sa, double *x, double *P) {
  long double *A = calloc((size_t)n * n, sizeof *A), *b = calloc((size_t)n, sizeof *b),
              *e = calloc((size_t)n, sizeof *e);
  assert_non_null(A), assert_non_null(b), assert_non_null(e);
  for (int j = 0; j < n; j++) A[j * n + j] = 1.0L / ((long double)sa[j] * sa[j]);
  for (long i = 0; i < m; i++) {
    const double *r = H + (size_t)i * n;
    long double w = 1.0L / ((long double)s[i] * s[i]), d = y[i];
    for (int j = 0; j < n; j++) d -= (long double)r[j] * xa[j];
    for (int j = 0; j < n; j++) {
      if (r[j] == 0) continue;
      b[j] += w * r[j] * d;
      for (int k = 0; k < n; k++) A[j * n + k] += w * r[j] * r[k];
    }
  }
  chol(n, A);
  chol_solve(n, A, b);
  for (int j = 0; j < n; j++) x[j] = (double)(xa[j] + b[j]);
  for (int c = 0; c < n; c++) {
    for (int j = 0; j < n; j++) e[j] = j == c;
    chol_solve(n, A, e);
    for (int j = 0; j < n; j++) P[j * n + c] = (double)e[j];
  }
  free(A), free(b), free(e);
}

/* --- (1) sparse = dense accumulation ------------------------------------------ */

#define SM 300
#define SN 40

static void make_plan(cf_ctx *ctx, const double *xa, const double *sa, cf_inv_plan **p) {
  cf_inv_params q = {0};
  q.n = SN, q.x_a = xa, q.sigma_a = sa, q.prior = CF_INV_PRIOR_DIAGONAL, q.max_block = SM;
  assert_int_equal(cf_inv_plan_create(ctx, &q, p), CF_OK);
}

/* every element of a and b within rtol of the largest |b| (the off-diagonal
 * elements of P are near 0, where an element-wise relative test means
 * nothing) and of |b| itself */
static double max_rel_diff(const double *a, const double *b, int n) {
  double scale = 0, worst = 0;
  for (int i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
  for (int i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / scale);
  return worst;
}

static void to_csr(const double *H, int r0, int m, int *rp, int *col, double *val) {
  int nnz = 0;
  rp[0] = 0;
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < SN; j++)
      if (H[(size_t)(r0 + i) * SN + j] != 0) col[nnz] = j, val[nnz++] = H[(size_t)(r0 + i) * SN + j];
    rp[i + 1] = nnz;
  }
}

/* An area source on cells it only partly covers (a rectangle offset
 * by half a cell on the 1 km grid; 3.5 x 3 km): its rate is read as w . x with w the
 * covered share of each cell, so its prior must read back as the layer's
 * prior (w . x_a = 100 t/h) with the layer's sigma (sum w^2 sigma_c^2 =
 * 40^2), and the weights must add up to the polygon's area. Independent
 * arithmetic: the square's area and the two sums. Tolerances: the area
 * through lon/lat and back (geodesic vertices, azimuthal-equidistant
 * frame) to 1e-4 relative; the sums are exact up to rounding (1e-9), the
 * background cell sigma is set to 0.001 umol m-2 s-1 (its share of the
 * variance is 1e-10). */
static void test_area_prior_on_partial_cells(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char dir[] = "/tmp/cftest-area-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[512];
  snprintf(path, sizeof path, "%s/area.geojson", dir);
  cf_geo_site site;
  assert_int_equal(cf_geo_site_init(ctx, 48.0, 11.0, 500.0, &site), CF_OK);
  const double x0 = -2500, y0 = 1500, x1 = 1000, y1 = 4500; /* 3.5 x 3 km, edges at half cells */
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": "
             "{\"name\": \"TOWN\", \"kind\": \"area\", \"height_m\": 0, \"prior_t_per_h\": 100, "
             "\"prior_sigma_t_per_h\": 40}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[");
  const double cx[5] = {x0, x1, x1, x0, x0}, cy[5] = {y0, y0, y1, y1, y0};
  int firstp = 1;
  for (int side = 0; side < 4; side++)
    for (int k = 0; k < 16 + (side == 3); k++) {
      double fr = k / 16.0, e = cx[side] + fr * (cx[side + 1] - cx[side]), n = cy[side] + fr * (cy[side + 1] - cy[side]);
      double lat, lon;
      geod_direct(&site.geod, 48.0, 11.0, atan2(e, n) / D2R, hypot(e, n), &lat, &lon, NULL);
      fprintf(f, "%s[%.12f, %.12f]", firstp ? "" : ", ", lon, lat);
      firstp = 0;
    }
  fprintf(f, "]]}}]}\n");
  fclose(f);
  cf_flux_sources src;
  assert_int_equal(cf_flux_sources_read(ctx, path, NULL, &src), CF_OK);
  cf_flux_opts o;
  cf_flux_defaults(&o);
  o.domain_m = 10000, o.grid_m = 1000, o.cell_sigma_umol = 0.001;
  double med[1] = {420};
  cf_flux_state st;
  assert_int_equal(cf_flux_state_build(ctx, &src, &site, &o, 1, med, 0, &st), CF_OK);
  double mean = 0, var = 0, area = 0;
  int partial = 0;
  for (int c = 0; c < st.n_cells; c++) {
    double w = st.w[c];
    mean += w * st.x_a[c], var += w * w * st.sigma_a[c] * st.sigma_a[c], area += w * st.cell_area;
    partial += w > 0 && w < 0.999;
  }
  printf("area source on %d partly covered cells: w.x_a %.10f t/h (prior 100), sqrt(sum w^2 s^2) %.10f (40), "
         "area %.1f m2 (%.1f)\n", partial, mean, sqrt(var), area, (x1 - x0) * (y1 - y0));
  assert_true(partial >= 12);
  assert_close(mean, 100.0, 1e-9, 0);
  assert_close(sqrt(var), 40.0, 1e-9, 0);
  assert_close(area, (x1 - x0) * (y1 - y0), 1e-4, 0);
  cf_flux_state_free(&st);
  cf_flux_sources_free(&src);
  remove(path);
  rmdir(dir);
  cf_ctx_destroy(ctx);
}

static void test_sparse_equals_dense(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_rng seed;
  cf_rng_seed(&seed, 9001, 0);
  double *H = calloc(SM * SN, sizeof *H), *y = malloc(SM * sizeof *y), *s = malloc(SM * sizeof *s);
  double xa[SN], sa[SN];
  int *rp = malloc((SM + 1) * sizeof *rp), *col = malloc(SM * SN * sizeof *col);
  double *val = malloc(SM * SN * sizeof *val);
  assert_non_null(H), assert_non_null(y), assert_non_null(s), assert_non_null(rp), assert_non_null(col),
      assert_non_null(val);
  long nnz = 0;
  for (int i = 0; i < SM * SN; i++)
    if (cf_rng_uniform(&seed) < 0.2) H[i] = cf_rng_normal(&seed), nnz++;
  for (int i = 0; i < SM; i++) s[i] = 0.5 + cf_rng_uniform(&seed), y[i] = 3 * cf_rng_normal(&seed);
  for (int j = 0; j < SN; j++) xa[j] = cf_rng_normal(&seed), sa[j] = 0.5 + 2 * cf_rng_uniform(&seed);
  cf_inv_plan *pd, *ps;
  make_plan(ctx, xa, sa, &pd);
  make_plan(ctx, xa, sa, &ps);
  double xd[SN], xs[SN], *Pd = malloc(SN * SN * sizeof *Pd), *Ps = malloc(SN * SN * sizeof *Ps);
  assert_non_null(Pd), assert_non_null(Ps);
  assert_int_equal(cf_inv_accumulate(ctx, pd, H, SM, y, s), CF_OK);
  to_csr(H, 0, SM, rp, col, val);
  assert_int_equal(cf_inv_accumulate_sparse(ctx, ps, SM, rp, col, val, y, s), CF_OK);
  cf_inv_diag dd, ds;
  assert_int_equal(cf_inv_solve(ctx, pd, xd, Pd, NULL, NULL, &dd), CF_OK);
  assert_int_equal(cf_inv_solve(ctx, ps, xs, Ps, NULL, NULL, &ds), CF_OK);
  /* Tolerance 1e-12: both sum the same products in another order; the
   * problem's condition number (printed) times the 1e-16 rounding of the
   * sums stays far below it. */
  double ex = max_rel_diff(xs, xd, SN), eP = max_rel_diff(Ps, Pd, SN * SN);
  print_message("sparse vs dense: %ld non-zeros (%.1f %%), rcond %.3g, max rel diff x %.2e, P %.2e, dofs %.6f\n", nnz,
                100.0 * nnz / (SM * SN), dd.rcond, ex, eP, dd.dofs);
  assert_true(ex < 1e-12 && eP < 1e-12);
  assert_close(ds.dofs, dd.dofs, 1e-12, 0);
  assert_close(ds.j_obs, dd.j_obs, 1e-12, 0);
  /* and against the dense long double reference (independent algebra) */
  double xr[SN], *Pr = malloc(SN * SN * sizeof *Pr);
  assert_non_null(Pr);
  dense_posterior(SN, SM, H, y, s, xa, sa, xr, Pr);
  print_message("sparse vs long double reference: x %.2e, P %.2e\n", max_rel_diff(xs, xr, SN),
                max_rel_diff(Ps, Pr, SN * SN));
  assert_true(max_rel_diff(xs, xr, SN) < 1e-12 && max_rel_diff(Ps, Pr, SN * SN) < 1e-12);

  /* sums: rows [0, h) then [h, SM) into one plan; total minus the first
   * half solves like a plan given only the second half */
  int h = SM / 2;
  cf_inv_reset(ps);
  to_csr(H, 0, h, rp, col, val);
  assert_int_equal(cf_inv_accumulate_sparse(ctx, ps, h, rp, col, val, y, s), CF_OK);
  cf_inv_sums half, total;
  assert_int_equal(cf_inv_sums_init(ctx, SN, &half), CF_OK);
  assert_int_equal(cf_inv_sums_init(ctx, SN, &total), CF_OK);
  cf_inv_get_sums(ps, &half);
  assert_int_equal(half.n_obs, h);
  to_csr(H, h, SM - h, rp, col, val);
  assert_int_equal(cf_inv_accumulate_sparse(ctx, ps, SM - h, rp, col, val, y + h, s + h), CF_OK);
  cf_inv_get_sums(ps, &total);
  assert_int_equal(total.n_obs, SM);
  assert_int_equal(cf_inv_set_sums(ctx, ps, &total, &half), CF_OK);
  assert_int_equal(cf_inv_solve(ctx, ps, xs, Ps, NULL, NULL, &ds), CF_OK);
  cf_inv_reset(pd);
  assert_int_equal(cf_inv_accumulate(ctx, pd, H + (size_t)h * SN, SM - h, y + h, s + h), CF_OK);
  assert_int_equal(cf_inv_solve(ctx, pd, xd, Pd, NULL, NULL, &dd), CF_OK);
  /* total - half differs from the half alone by the rounding of one
   * addition and one subtraction per element: relative 1e-16 of the total's
   * elements, which are at most ~2x the half's: 1e-12 is generous */
  ex = max_rel_diff(xs, xd, SN), eP = max_rel_diff(Ps, Pd, SN * SN);
  print_message("sums: total - first half vs second half alone: x %.2e, P %.2e, n_obs %ld\n", ex, eP, ds.n_obs);
  assert_true(ex < 1e-12 && eP < 1e-12);
  assert_int_equal(ds.n_obs, SM - h);
  /* the half has more observations than nothing: a - b with b larger fails */
  cf_inv_sums empty;
  assert_int_equal(cf_inv_sums_init(ctx, SN, &empty), CF_OK);
  assert_int_equal(cf_inv_set_sums(ctx, ps, &empty, &half), CF_EINVAL);
  cf_inv_sums_free(&empty), cf_inv_sums_free(&half), cf_inv_sums_free(&total);
  cf_inv_plan_destroy(pd), cf_inv_plan_destroy(ps);
  free(H), free(y), free(s), free(rp), free(col), free(val), free(Pd), free(Ps), free(Pr);
  cf_ctx_destroy(ctx);
}

/* --- (2) exactness ----------------------------------------------------------------- */

static void test_exact_small_problem(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  flux_scene sc;
  flux_scene_small(ctx, &o, 77, &sc);
  cf_flux_result r;
  assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
  /* the reference: H for the same observations in the same order, the
   * prior as the estimator builds it, R = the stated sigma */
  double *H, *xa, *sa;
  cf_flux_state st;
  flux_scene_jacobian(ctx, &sc, &o, &H, &xa, &sa, &st);
  int n = st.n;
  double *y = malloc((size_t)sc.n_obs * sizeof *y), *x = malloc((size_t)n * sizeof *x),
         *P = malloc((size_t)n * n * sizeof *P);
  assert_non_null(y), assert_non_null(x), assert_non_null(P);
  for (long i = 0; i < sc.n_obs; i++) y[i] = sc.set.files[0].co2_mole_fraction[sc.cell[i]];
  dense_posterior(n, sc.n_obs, H, y, sc.sig, xa, sa, x, P);
  assert_int_equal(r.diag.n_obs, sc.n_obs);
  assert_int_equal(r.diag.n_outliers, 0);
  assert_int_equal(r.diag.n_state, n);
  assert_int_equal(r.diag.n_constrained, 0);
  /* Tolerance 1e-8 (issue 9 item 7): the two solutions differ only by the
   * order of the sums and the factorisation (double vs long double); the
   * rcond printed bounds the amplification of ~1e-16 rounding to ~1e-12. */
  double worst = 0;
  for (int p = 0; p < FLUX_SCENE_NPTS; p++) {
    const cf_flux_source_result *s = &r.sources[flux_scene_point_index(&sc, p)];
    int j = st.i_points + p;
    double sd = sqrt(P[(size_t)j * n + j]);
    print_message("P%d: estimate %.10f +- %.10f t/h, reference %.10f +- %.10f (truth %g)\n", p + 1, s->rate_t_h,
                  s->sigma_posterior_t_h, x[j], sd, flux_scene_truth_t_h[p]);
    assert_close(s->rate_t_h, x[j], 1e-8, 0);
    assert_close(s->sigma_posterior_t_h, sd, 1e-8, 0);
    assert_close(s->sigma_t_h, s->sigma_posterior_t_h, 0, 0); /* no jackknife: the posterior */
    assert_true(isnan(s->sigma_jackknife_t_h));
    worst = fmax(worst, fmax(fabs(s->rate_t_h - x[j]) / fabs(x[j]), fabs(s->sigma_posterior_t_h - sd) / sd));
  }
  /* the map: every cell's flux within 1e-8 of its sigma (the fluxes are
   * near 0: relative to themselves means nothing), its sigma to 1e-8
   * relative; umol m-2 s-1 = t/h / 0.158434 / area * 1e6 */
  double to_umol = 1e6 / 0.158434 / (st.res * st.res);
  for (int c = 0; c < st.n_cells; c++) {
    double sd = sqrt(P[(size_t)c * n + c]) * to_umol;
    assert_close(r.grid.sigma_umol_m2_s[c], sd, 1e-8, 0);
    assert_close(r.grid.flux_umol_m2_s[c], x[c] * to_umol, 0, 1e-8 * sd);
    worst = fmax(worst, fabs(r.grid.sigma_umol_m2_s[c] - sd) / sd);
  }
  /* DOFS = tr(I - P B^-1) */
  double dofs = 0;
  for (int j = 0; j < n; j++) dofs += 1 - P[(size_t)j * n + j] / (sa[j] * sa[j]);
  assert_close(r.diag.dofs, dofs, 1e-8, 0);
  print_message("exactness: %ld observations, %d state elements, rcond %.3g, dofs %.6f (ref %.6f), worst rel diff "
                "%.2e\n", sc.n_obs, n, r.diag.rcond, r.diag.dofs, dofs, worst);
  cf_flux_result_free(&r);
  free(H), free(xa), free(sa), free(y), free(x), free(P);
  flux_scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (5) the command end to end ------------------------------------------------------ */

static void sh(const char *cmd) {
  int st = system(cmd);
  if (st != 0) fprintf(stderr, "failed (%d): %s\n", st, cmd);
  assert_int_equal(st, 0);
}

static void test_command_end_to_end(void **state) {
  cf_test_dir *f = *state;
  char cmd[8000], scene_p[1100], prior[1100], l2[1100], out[1100], out2[1100], blhf[1100];
  snprintf(scene_p, sizeof scene_p, "%s/scene.geojson", f->dir);
  snprintf(prior, sizeof prior, "%s/scene_prior.geojson", f->dir);
  snprintf(l2, sizeof l2, "%s/l2.nc", f->dir);
  snprintf(out, sizeof out, "%s/out", f->dir);
  snprintf(out2, sizeof out2, "%s/out_auto", f->dir);
  snprintf(blhf, sizeof blhf, "%s/blh.txt", f->dir);
  snprintf(cmd, sizeof cmd, "simulate flux --benchmark-scene '%s'", scene_p);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "simulate flux --sources '%s' -o '%s' scans=4 rays=45 gates=60", scene_p, l2);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' prior '%s' '%s'", PYTHON, HELPER, scene_p, prior);
  sh(cmd);
  snprintf(cmd, sizeof cmd, "flux estimate '%s' --sources '%s' -o '%s' blh_m=1000 stability=D", l2, prior, out);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  const char *files[] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png"};
  for (size_t k = 0; k < 4; k++) assert_int_equal(cf_test_count_entries(out, files[k]), 1);
  assert_int_equal(cf_test_count_entries(out, ".part"), 0);
  /* the summary (flux-io.md): schema, every source with a finite rate and a
   * positive sigma, the park of three, diagnostics; no physics asserted:
   * 4 sweeps cannot pin the forest's sign */
  snprintf(cmd, sizeof cmd, "%s '%s' summary '%s/flux_summary.json' '%s' 1000 D", PYTHON, HELPER, out, scene_p);
  sh(cmd);
  /* blh_m=auto: the simulator puts the aerosol top at bl_height = 1000 m
   * (its default); the CNR drop finds it within 50 m. A 2 km grid and the
   * inversion alone: the BLH is decided before either matters. */
  snprintf(cmd, sizeof cmd, "flux estimate '%s' --sources '%s' -o '%s' blh_m=auto stability=D grid_m=2000 "
                            "method=inversion", l2, prior, out2);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' blh '%s/flux_summary.json' > '%s'", PYTHON, HELPER, out2, blhf);
  sh(cmd);
  FILE *fp = fopen(blhf, "r");
  assert_non_null(fp);
  double blh = NAN;
  assert_int_equal(fscanf(fp, "%lf", &blh), 1);
  fclose(fp);
  print_message("blh_m=auto: %.1f m (simulator's bl_height 1000 m)\n", blh);
  assert_close(blh, 1000.0, 0, 50.0);
}

/* --- (6) bad input ---------------------------------------------------------------------- */

/* Run the command with stderr alone into err; its exit code. */
static int cli_stderr(const char *args, const char *err) {
  char cmd[10000];
  snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>'%s'", CF_CLI, args, err);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void expect_refused(const char *dir, const char *what, const char *args, int code, const char *file,
                           const char *field) {
  char err[1100], out[1100], full[8200];
  snprintf(err, sizeof err, "%s/err.txt", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(full, sizeof full, "flux estimate %s -o '%s'", args, out);
  int rc = cli_stderr(full, err);
  FILE *fp = fopen(err, "r");
  char msg[2048] = "";
  if (fp) {
    size_t n = fread(msg, 1, sizeof msg - 1, fp);
    msg[n] = 0;
    fclose(fp);
  }
  char *nl = strstr(msg, "error:");
  print_message("%s: exit %d: %.160s\n", what, rc, nl ? nl : msg);
  assert_int_equal(rc, code);
  assert_true(cf_test_file_contains(err, field));
  if (file) assert_true(cf_test_file_contains(err, file));
  /* nothing written: no output directory content, no partial file beside it */
  assert_int_equal(cf_test_count_entries(out, ""), 0);
  assert_int_equal(cf_test_count_entries(dir, ".part"), 0);
}

static const char *one_stack =
    "{\"type\": \"FeatureCollection\", \"features\": [\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"S1\", \"kind\": \"point\", \"height_m\": 80, "
    "\"prior_t_per_h\": 60, \"prior_sigma_t_per_h\": 30}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [10.95, "
    "48.0]}}\n]}\n";
/* 0.4 degree of longitude east at 48 N: 29.8 km, outside a 40 km domain's 20 km half */
static const char *far_stack =
    "{\"type\": \"FeatureCollection\", \"features\": [\n"
    "{\"type\": \"Feature\", \"properties\": {\"name\": \"FAR\", \"kind\": \"point\", \"height_m\": 80, "
    "\"prior_t_per_h\": 60, \"prior_sigma_t_per_h\": 30}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [11.4, "
    "48.0]}}\n]}\n";

static void test_bad_input(void **state) {
  cf_test_dir *f = *state;
  char src[1100], far[1100], nop[1100], a[1100], b[1100], nowind[1100], masked[1100], cmd[8000], args[6000];
  snprintf(src, sizeof src, "%s/stack.geojson", f->dir);
  snprintf(far, sizeof far, "%s/far.geojson", f->dir);
  snprintf(nop, sizeof nop, "%s/noprior.geojson", f->dir);
  snprintf(a, sizeof a, "%s/site_a.nc", f->dir);
  snprintf(b, sizeof b, "%s/site_b.nc", f->dir);
  snprintf(nowind, sizeof nowind, "%s/nowind.nc", f->dir);
  snprintf(masked, sizeof masked, "%s/masked.nc", f->dir);
  cf_test_write_text(src, one_stack);
  cf_test_write_text(far, far_stack);
  snprintf(cmd, sizeof cmd, "simulate flux --sources '%s' -o '%s' scans=2 rays=12 gates=20", src, a);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "simulate flux --sources '%s' -o '%s' scans=2 rays=12 gates=20 lat=48.1", src, b);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(cmd, sizeof cmd, "%s '%s' nowind '%s' '%s' && %s '%s' masked '%s' '%s' && %s '%s' noprior '%s' '%s'",
           PYTHON, HELPER, a, nowind, PYTHON, HELPER, a, masked, PYTHON, HELPER, src, nop);
  sh(cmd);
  /* the good file runs (so each refusal below is the bad part's) */
  snprintf(cmd, sizeof cmd, "flux estimate '%s' --sources '%s' -o '%s/good' blh_m=1000 stability=D grid_m=2000",
           a, src, f->dir);
  assert_int_equal(cf_test_cli(cmd, f->log), 0);
  snprintf(args, sizeof args, "'%s' --sources '%s' blh_m=1000", nowind, src);
  expect_refused(f->dir, "missing wind", args, 4, "nowind.nc", "radial_velocity");
  snprintf(args, sizeof args, "'%s' '%s' --sources '%s' blh_m=1000", a, b, src);
  expect_refused(f->dir, "two sites", args, 4, "site_b.nc", "latitude");
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "site_a.nc"));
  snprintf(args, sizeof args, "'%s' --sources '%s' blh_m=1000", masked, src);
  expect_refused(f->dir, "all masked", args, 4, "masked.nc", "co2_mole_fraction");
  snprintf(args, sizeof args, "'%s' --sources '%s' blh_m=1000 domain_m=40000", a, far);
  expect_refused(f->dir, "source outside the domain", args, 4, "far.geojson", "FAR");
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "domain_m"));
  snprintf(args, sizeof args, "'%s' --sources '%s' blh_m=1000", a, nop);
  expect_refused(f->dir, "no prior sigma field", args, 4, "noprior.geojson", "prior_sigma_t_per_h");
  snprintf(args, sizeof args, "'%s' --sources '%s' grid_m=333 domain_m=40000", a, src);
  expect_refused(f->dir, "bad setting", args, 1, NULL, "grid_m");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_equals_dense),
      cmocka_unit_test(test_area_prior_on_partial_cells),
      cmocka_unit_test(test_exact_small_problem),
      cmocka_unit_test_setup_teardown(test_command_end_to_end, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
