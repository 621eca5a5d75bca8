/*
 * The flux estimate (lidar/flux/estimate.h) against arithmetic done here.
 *
 * (1) cf_inv_accumulate_sparse = cf_inv_accumulate on a random sparse H,
 *     and the cf_inv_sums algebra (total minus a half = the other half).
 * (2) Exactness (issue 9 item 7): a small scene whose L2 data are built in
 *     memory from the estimator's own forward model plus seeded noise; the
 *     posterior mean and sigma of the point sources (and of the cells, and
 *     the DOFS) against a dense solution of the normal equations computed
 *     here (long double Cholesky, no BLAS/LAPACK).
 * (3) The truth recovered when the model is right: coverage of +-1 sigma
 *     over seeded noise draws; (3b) the same when each sweep's plumes are
 *     turned by a direction error the sweep's gates share.
 * (4) Bitwise determinism for 1 and 2 threads, jackknife on.
 * (5) `carbonflux flux estimate` end to end on simulator output.
 * (6) Bad input through the command (issue 9 item 10): exit code, message
 *     naming file and field on stderr, nothing written.
 *
 * The forward model H is the code under test's own (cf_flux_jacobian_row
 * through the internal API of estimate_internal.h): (2)-(4) test what the
 * estimator does with it (observation selection, priors, R, the sparse
 * accumulation, the solve, the result), not the plume physics, which
 * tests/test_plume.c and the simulator's benchmark test.
 */
#include <geodesic.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cf_test.h"
#include "core/rng.h"
#include "ingest/flux_sources.h"
#include "ingest/lidar_l2.h"
#include "lidar/flux/estimate.h"
#include "lidar/flux/estimate_internal.h"
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

/* --- a scene built by hand ------------------------------------------------------ */

#define SITE_LAT 48.0
#define SITE_LON 11.0
#define BG_PPM 400.0
#define NPTS 2
/* point sources: local position (m), release height (m), true rate (t/h);
 * inside the 4 km domain, upwind (west) of the lidar so that its gates
 * see their plumes; prior 10 +- 50 t/h, loose, so the data decide */
static const double PT_E[NPTS] = {-1500, -900}, PT_N[NPTS] = {400, -700}, PT_H[NPTS] = {60, 30},
                    PT_TRUE[NPTS] = {20, 35};

typedef struct {
  char *dir;
  cf_l2_set set;
  cf_flux_sources src;
  int n_sweeps, rays, gates;
  long n_obs;
  long *cell;      /* [n_obs] index of the gate in the L2 arrays */
  double *signal;  /* [n_obs] noise-free H x_true */
  double *sig;     /* [n_obs] stated sigma */
} scene;

static void set_opt(cf_ctx *ctx, cf_flux_opts *o, const char *kv) { assert_int_equal(cf_flux_set(ctx, o, kv), CF_OK); }

/* The settings of the exactness test: everything given, R the stated
 * noise, no outlier dropped, no jackknife. */
static void exact_opts(cf_ctx *ctx, cf_flux_opts *o) {
  cf_flux_defaults(o);
  const char *kv[] = {"method=inversion", "domain_m=4000", "grid_m=1000",      "blh_m=1000",
                      "stability=D",      "sigma_z_scale=1", "sigma_theta_deg=0", "model_error=0", "model_floor_ppm=0",
                      "jackknife_blocks=0", "spike_sigma=1000"};
  for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) set_opt(ctx, o, kv[k]);
}

/* The observations the estimator uses (estimate.c's gather_obs: good gates
 * at or below the BLH, above min_height_m, within max_range_m), in its order
 * (ray-major through the file). */
static void gather(cf_ctx *ctx, const cf_l2 *l2, const cf_flux_opts *o, double blh, long *cell, long *n_out) {
  cf_l2_obs *lo = NULL;
  size_t nl = 0;
  assert_int_equal(cf_l2_observations(ctx, l2, &lo, &nl), CF_OK);
  long n = 0;
  for (size_t i = 0; i < nl; i++) {
    double range = hypot(lo[i].horizontal_m, lo[i].height_m);
    double z = cf_geo_gate_height_agl(range, l2->elevation_deg[lo[i].ray], o->instrument_height_m);
    if (!(z <= blh) || z < o->min_height_m) continue;
    if (o->max_range_m > 0 && lo[i].horizontal_m > o->max_range_m) continue;
    cell[n++] = (long)lo[i].ray * l2->n_gates + lo[i].gate;
  }
  free(lo);
  *n_out = n;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The scene's observations (its current data) and wind history with the
 * plume models of the given settings, as cf_flux_estimate sets them up
 * through the internal API. The caller frees *ob and met. */
static void scene_models_ex(cf_ctx *ctx, const scene *sc, const cf_flux_opts *o, int narrow_history,
                            cf_flux_met *met_out, cf_flux_obs **ob_out, double *max_dist_out) {
  const cf_l2 *l2 = &sc->set.files[0];
  double blh = o->blh_m.value, n_air = o->p_hpa * 100.0 / (8.314462618 * o->t_k);
  cf_flux_met met;
  assert_int_equal(cf_flux_met_build(ctx, &sc->set, o, blh, &met), CF_OK);
  assert_int_equal(met.n_sweeps, sc->n_sweeps);
  double max_h = 0;
  cf_flux_obs *ob = malloc((size_t)sc->n_obs * sizeof *ob);
  assert_non_null(ob);
  for (long i = 0; i < sc->n_obs; i++) {
    long c = sc->cell[i];
    int r = (int)(c / l2->n_gates), g = (int)(c % l2->n_gates);
    double el = l2->elevation_deg[r] * D2R, hor = l2->range_m[g] * cos(el);
    /* heights to 0.25 m, as estimate.c gathers them (gates of one
     * elevation share a Gz table) */
    double z = 0.25 * round(4.0 * cf_geo_gate_height_agl(l2->range_m[g], l2->elevation_deg[r], o->instrument_height_m));
    ob[i] = (cf_flux_obs){hor * sin(l2->azimuth_deg[r] * D2R), hor * cos(l2->azimuth_deg[r] * D2R), z, l2->time[r],
                          l2->co2_mole_fraction[c], l2->co2_mole_fraction_uncertainty[c], met.ray_sweep[0][r], 0};
    max_h = fmax(max_h, hypot(ob[i].e, ob[i].n));
  }
  double max_dist = o->domain_m * 1.4142135623730951 + max_h;
  double sdir = o->sigma_theta_deg.value;
  met.sigma_z_scale = o->sigma_z_scale.value; /* the settings give it (exact_opts: 1) */
  double sigma_between = met.sigma_between_deg;
  if (narrow_history) met.sigma_between_deg = 0; /* no widening before the first sweep */
  assert_int_equal(cf_flux_met_models(ctx, &met, (cf_stability)(o->stability - 1), blh, n_air, sdir, max_dist), CF_OK);
  met.sigma_between_deg = sigma_between;
  *met_out = met, *ob_out = ob, *max_dist_out = max_dist;
}

static void scene_models(cf_ctx *ctx, const scene *sc, const cf_flux_opts *o, cf_flux_met *met_out, cf_flux_obs **ob_out,
                         double *max_dist_out) {
  scene_models_ex(ctx, sc, o, 0, met_out, ob_out, max_dist_out);
}

/* H (n_obs x n) for the scene's current data through the internal API, as
 * cf_flux_estimate sets it up; with the prior (x_a with each sweep's median,
 * sigma_a) and the state layout. The caller frees *H, *xa, *sa. */
static void jacobian(cf_ctx *ctx, const scene *sc, const cf_flux_opts *o, double **H, double **xa, double **sa,
                     cf_flux_state *st_out) {
  const cf_l2 *l2 = &sc->set.files[0];
  cf_flux_met met;
  cf_flux_obs *ob;
  double max_dist;
  scene_models(ctx, sc, o, &met, &ob, &max_dist);
  /* each sweep's median of its observations: the centre of its offset prior */
  double *med = malloc((size_t)sc->n_sweeps * sizeof *med), *buf = malloc((size_t)sc->n_obs * sizeof *buf);
  assert_non_null(med), assert_non_null(buf);
  for (int s = 0; s < sc->n_sweeps; s++) {
    long k = 0;
    for (long i = 0; i < sc->n_obs; i++)
      if (ob[i].sweep == s) buf[k++] = ob[i].y;
    assert_true(k > 0);
    qsort(buf, (size_t)k, sizeof *buf, cmp_d);
    med[s] = k % 2 ? buf[k / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
  }
  cf_geo_site site;
  assert_int_equal(cf_geo_site_init(ctx, l2->latitude_deg, l2->longitude_deg, l2->altitude_m, &site), CF_OK);
  double t_ref = 0.5 * (met.sw[0].t_start + met.sw[met.n_sweeps - 1].t_end);
  cf_flux_state st;
  assert_int_equal(cf_flux_state_build(ctx, &sc->src, &site, o, met.n_sweeps, med, t_ref, &st), CF_OK);
  st.x_max = max_dist;
  assert_int_equal(cf_flux_state_tables(ctx, &st, &met, ob, sc->n_obs), CF_OK);
  size_t n = (size_t)st.n;
  *H = malloc((size_t)sc->n_obs * n * sizeof **H);
  *xa = malloc(n * sizeof **xa), *sa = malloc(n * sizeof **sa);
  assert_non_null(*H), assert_non_null(*xa), assert_non_null(*sa);
  for (long i = 0; i < sc->n_obs; i++) cf_flux_jacobian_row(&st, &met, &ob[i], *H + (size_t)i * n);
  memcpy(*xa, st.x_a, n * sizeof **xa);
  memcpy(*sa, st.sigma_a, n * sizeof **sa);
  *st_out = st; /* layout only: the arrays are freed here */
  st_out->point_src = NULL, st_out->pe = st_out->pn = st_out->ph = NULL, st_out->x_a = st_out->sigma_a = NULL;
  st_out->nonneg = NULL, st_out->pos = NULL, st_out->w = NULL;
  cf_flux_state_free(&st);
  cf_flux_met_free(&met);
  free(ob), free(med), free(buf);
}

/* lon/lat of the point (e, n) m of the site's azimuthal equidistant frame:
 * the geodesic from the site at azimuth atan2(e, n) over hypot(e, n). */
static void lonlat_of(double e, double n, double *lon, double *lat) {
  struct geod_geodesic g;
  geod_init(&g, CF_GEO_WGS84_A, CF_GEO_WGS84_F);
  geod_direct(&g, SITE_LAT, SITE_LON, atan2(e, n) / D2R, hypot(e, n), lat, lon, NULL);
}

/* A scene: n_sweeps PPI sweeps at 2, 5, 10 degrees in turn, `rays` rays
 * over the full circle, `gates` gates from 150 m every 100 m; 60 s a
 * sweep; a wind profile per sweep of 5 m/s from 270 +- 4 degrees (the
 * direction varies sweep to sweep, so the trailing-wind models differ);
 * sigma 0.8 .. 1.4 ppm growing with range. The CO2 is background + H
 * x_true (x_true: the points' true rates, no cell flux, sweep offsets of a
 * few ppm, a gradient and a drift); noise is added per draw. */
static void scene_make(cf_ctx *ctx, const cf_flux_opts *o, int n_sweeps, int rays, int gates, scene *sc) {
  memset(sc, 0, sizeof *sc);
  sc->dir = cf_test_tmpdir();
  sc->n_sweeps = n_sweeps, sc->rays = rays, sc->gates = gates;
  char path[1100], text[4096];
  /* the sources layer */
  int len = snprintf(text, sizeof text, "{\"type\": \"FeatureCollection\", \"features\": [\n");
  for (int p = 0; p < NPTS; p++) {
    double lon, lat;
    lonlat_of(PT_E[p], PT_N[p], &lon, &lat);
    len += snprintf(text + len, sizeof text - (size_t)len,
                    "%s{\"type\": \"Feature\", \"properties\": {\"name\": \"P%d\", \"kind\": \"point\", \"height_m\": "
                    "%g, \"prior_t_per_h\": 10, \"prior_sigma_t_per_h\": 50}, \"geometry\": {\"type\": \"Point\", "
                    "\"coordinates\": [%.12f, %.12f]}}\n",
                    p ? "," : "", p + 1, PT_H[p], lon, lat);
  }
  snprintf(text + len, sizeof text - (size_t)len, "]}\n");
  snprintf(path, sizeof path, "%s/points.geojson", sc->dir);
  cf_test_write_text(path, text);
  assert_int_equal(cf_flux_sources_read(ctx, path, NULL, &sc->src), CF_OK);
  /* the L2 "file": in memory; the path exists for the inputs' sha256 */
  snprintf(path, sizeof path, "%s/hand_made_l2.nc", sc->dir);
  cf_test_write_text(path, "made in memory by tests/test_flux_estimate.c\n");
  sc->set.n = 1;
  sc->set.files = calloc(1, sizeof *sc->set.files);
  assert_non_null(sc->set.files);
  cf_l2 *l = &sc->set.files[0];
  l->path = strdup(path);
  int nr = n_sweeps * rays, nh = 4;
  size_t ng = (size_t)nr * gates;
  l->n_rays = nr, l->n_gates = gates, l->n_scans = n_sweeps, l->n_heights = nh;
  l->latitude_deg = SITE_LAT, l->longitude_deg = SITE_LON, l->altitude_m = 500;
  l->time = malloc((size_t)nr * sizeof(double));
  l->azimuth_deg = malloc((size_t)nr * sizeof(double));
  l->elevation_deg = malloc((size_t)nr * sizeof(double));
  l->scan_id = malloc((size_t)nr * sizeof(int32_t));
  l->range_m = malloc((size_t)gates * sizeof(double));
  l->co2_mole_fraction = malloc(ng * sizeof(double));
  l->co2_mole_fraction_uncertainty = malloc(ng * sizeof(double));
  l->qc_flag = calloc(ng, sizeof(int32_t));
  l->scan = malloc((size_t)n_sweeps * sizeof(int32_t));
  l->height_m = malloc((size_t)nh * sizeof(double));
  l->eastward_wind = malloc((size_t)n_sweeps * nh * sizeof(double));
  l->northward_wind = malloc((size_t)n_sweeps * nh * sizeof(double));
  assert_true(l->path && l->time && l->azimuth_deg && l->elevation_deg && l->scan_id && l->range_m &&
              l->co2_mole_fraction && l->co2_mole_fraction_uncertainty && l->qc_flag && l->scan && l->height_m &&
              l->eastward_wind && l->northward_wind);
  static const double elev[3] = {2, 5, 10}, hgt[4] = {50, 150, 300, 600};
  double t0 = 1782820800.0;
  for (int s = 0; s < n_sweeps; s++) {
    l->scan[s] = s;
    double from = (270 + 4 * sin(1.3 * s + 0.4)) * D2R;
    for (int k = 0; k < nh; k++) {
      l->eastward_wind[s * nh + k] = -5 * sin(from) * (0.95 + 0.03 * k);
      l->northward_wind[s * nh + k] = -5 * cos(from) * (0.95 + 0.03 * k);
    }
    for (int r = 0; r < rays; r++) {
      int i = s * rays + r;
      l->time[i] = t0 + 60.0 * s + 60.0 * r / rays;
      l->azimuth_deg[i] = fmod(360.0 * r / rays + 1.7 * s, 360.0);
      l->elevation_deg[i] = elev[s % 3];
      l->scan_id[i] = s;
    }
  }
  for (int k = 0; k < nh; k++) l->height_m[k] = hgt[k];
  for (int g = 0; g < gates; g++) l->range_m[g] = 150.0 + 100.0 * g;
  for (size_t k = 0; k < ng; k++)
    l->co2_mole_fraction[k] = BG_PPM,
    l->co2_mole_fraction_uncertainty[k] = 0.8 + 0.6 * (double)(k % (size_t)gates) / gates;
  /* the observations and their noise-free values */
  sc->cell = malloc(ng * sizeof *sc->cell);
  assert_non_null(sc->cell);
  gather(ctx, l, o, o->blh_m.value, sc->cell, &sc->n_obs);
  assert_true(sc->n_obs > 0);
  double *H, *xa, *sa;
  cf_flux_state st;
  jacobian(ctx, sc, o, &H, &xa, &sa, &st);
  double *xt = calloc((size_t)st.n, sizeof *xt);
  assert_non_null(xt);
  for (int p = 0; p < NPTS; p++) xt[st.i_points + p] = PT_TRUE[p];
  for (int s = 0; s < n_sweeps; s++) xt[st.i_sweeps + s] = BG_PPM + 3 * sin(0.7 * s);
  xt[st.i_grad] = 0.3, xt[st.i_grad + 1] = -0.2, xt[st.i_drift] = 1.5;
  sc->signal = malloc((size_t)sc->n_obs * sizeof *sc->signal);
  sc->sig = malloc((size_t)sc->n_obs * sizeof *sc->sig);
  assert_non_null(sc->signal), assert_non_null(sc->sig);
  for (long i = 0; i < sc->n_obs; i++) {
    double v = 0;
    for (int j = 0; j < st.n; j++) v += H[(size_t)i * st.n + j] * xt[j];
    sc->signal[i] = v;
    sc->sig[i] = l->co2_mole_fraction_uncertainty[sc->cell[i]];
  }
  free(H), free(xa), free(sa), free(xt);
}

/* y = signal + noise of the stated sigma, into the L2 arrays. */
static void scene_draw(scene *sc, uint64_t seed) {
  cf_l2 *l = &sc->set.files[0];
  cf_rng rng;
  cf_rng_seed(&rng, seed, 0);
  for (long i = 0; i < sc->n_obs; i++) l->co2_mole_fraction[sc->cell[i]] = sc->signal[i] + sc->sig[i] * cf_rng_normal(&rng);
}

static void scene_free(scene *sc) {
  cf_flux_sources_free(&sc->src);
  cf_l2_set_free(&sc->set);
  cf_test_rmtree(sc->dir);
  free(sc->dir), free(sc->cell), free(sc->signal), free(sc->sig);
}

static int point_index(const scene *sc, int p) {
  char name[16];
  snprintf(name, sizeof name, "P%d", p + 1);
  int k = cf_flux_sources_find(&sc->src, name);
  assert_true(k >= 0);
  return k;
}

/* The scene of (2) and (4): 6 sweeps of 48 rays and 16 gates, 16 cells of
 * 1 km, one noise draw; *o the exactness settings. */
static void small_scene(cf_ctx *ctx, cf_flux_opts *o, uint64_t seed, scene *sc) {
  exact_opts(ctx, o);
  scene_make(ctx, o, 6, 48, 16, sc);
  scene_draw(sc, seed);
}

/* --- (2) exactness ----------------------------------------------------------------- */

static void test_exact_small_problem(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  scene sc;
  small_scene(ctx, &o, 77, &sc);
  cf_flux_result r;
  assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
  /* the reference: H for the same observations in the same order, the
   * prior as the estimator builds it, R = the stated sigma */
  double *H, *xa, *sa;
  cf_flux_state st;
  jacobian(ctx, &sc, &o, &H, &xa, &sa, &st);
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
  for (int p = 0; p < NPTS; p++) {
    const cf_flux_source_result *s = &r.sources[point_index(&sc, p)];
    int j = st.i_points + p;
    double sd = sqrt(P[(size_t)j * n + j]);
    print_message("P%d: estimate %.10f +- %.10f t/h, reference %.10f +- %.10f (truth %g)\n", p + 1, s->rate_t_h,
                  s->sigma_posterior_t_h, x[j], sd, PT_TRUE[p]);
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
  scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (3') the plume's depth by the data ------------------------------------------
 * The truth made with sigma_z 1.4 times class D's (H x_true of the model
 * with sigma_z_scale=1.4), estimated with sigma_z_scale=auto: the fit
 * (estimate_inversion.c, choose_sz_scale) must find the factor and, with
 * it, the rates. 1.4 is off the search grid (1.25^k): the parabola's
 * vertex carries it. Tolerances: the factor within 0.1 (J moves by
 * hundreds between grid points on ~2000 gates of 0.8-1.4 ppm noise, its
 * noise is a few units, so the vertex is far better than 1/20 of a grid
 * step; the parabola itself is only exact for a quadratic J, hence 0.1),
 * the rates within 3 posterior sigma; the unscaled model (sigma_z_scale=1)
 * misses at least one source by more than 3 sigma, so the check can fail. */
static void test_depth_by_the_data(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  exact_opts(ctx, &o);
  set_opt(ctx, &o, "grid_m=2000");
  set_opt(ctx, &o, "sigma_z_scale=1.4");
  scene sc;
  scene_make(ctx, &o, 6, 36, 14, &sc);
  scene_draw(&sc, 4242);
  double zmax[2];
  for (int pass = 0; pass < 2; pass++) {
    set_opt(ctx, &o, pass == 0 ? "sigma_z_scale=auto" : "sigma_z_scale=1");
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    assert_int_equal(r.diag.sigma_z_scale_auto, pass == 0);
    zmax[pass] = 0;
    for (int p = 0; p < NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[point_index(&sc, p)];
      double z = (s->rate_t_h - PT_TRUE[p]) / s->sigma_posterior_t_h;
      print_message("%s: sigma_z x %.3f, P%d %.3f +- %.3f t/h (truth %g, z %.2f)\n", pass ? "given 1" : "auto",
                    r.diag.sigma_z_scale, p + 1, s->rate_t_h, s->sigma_posterior_t_h, PT_TRUE[p], z);
      zmax[pass] = fmax(zmax[pass], fabs(z));
    }
    if (pass == 0) assert_close(r.diag.sigma_z_scale, 1.4, 0, 0.1);
    cf_flux_result_free(&r);
  }
  assert_true(zmax[0] < 3);
  assert_true(zmax[1] > 3);
  scene_free(&sc);
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
  exact_opts(ctx, &o);
  set_opt(ctx, &o, "grid_m=2000");
  scene sc;
  scene_make(ctx, &o, 6, 36, 14, &sc);
  int inside = 0, trials = 0;
  double worst_z = 0, chi2 = 0;
  for (int d = 0; d < DRAWS; d++) {
    scene_draw(&sc, 1000 + (uint64_t)d);
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    for (int p = 0; p < NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[point_index(&sc, p)];
      double z = (s->rate_t_h - PT_TRUE[p]) / s->sigma_posterior_t_h;
      if (d == 0)
        print_message("draw 0: P%d %.3f +- %.3f t/h (truth %g, z %.2f)\n", p + 1, s->rate_t_h, s->sigma_posterior_t_h,
                      PT_TRUE[p], z);
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
  scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (3b) a direction error shared by each sweep ---------------------------------- */

/* The point sources' part of every observation (their true rates) with each
 * sweep's plumes turned by turn[s] radians about their sources: the travel
 * direction of the models rotated, exactly (not linearised). */
/* The points' part of the scene's signal with each sweep's plumes turned
 * by turn[s] and, for the share f of a plume's travel time before the
 * first sweep (cf_flux_met_unobserved), by f * history more: the
 * unobserved wind's one rotation. The estimator widens that share of the
 * plume by the meander (the mean plume of all the rotations it does not
 * know); one member of that ensemble is the narrow plume turned, so with
 * narrow_history the truth's plume is not widened there. *sigma_between:
 * the estimator's measure of the sweeps' direction spread, which sizes
 * that rotation. */
static void point_part(cf_ctx *ctx, const scene *sc, const cf_flux_opts *o, const double *turn, double history,
                       int narrow_history, double *out, double *sigma_between) {
  cf_flux_met met;
  cf_flux_obs *ob;
  double max_dist;
  scene_models_ex(ctx, sc, o, narrow_history, &met, &ob, &max_dist);
  for (long i = 0; i < sc->n_obs; i++) {
    cf_plume_receptor rec = {ob[i].e, ob[i].n, ob[i].z};
    double v = 0;
    for (int p = 0; p < NPTS; p++) {
      double d = hypot(ob[i].e - PT_E[p], ob[i].n - PT_N[p]);
      double a = turn[ob[i].sweep] + cf_flux_met_unobserved(&met, ob[i].sweep, d) * history;
      double c = cos(a), sn = sin(a);
      cf_plume_model m = *cf_flux_met_model(&met, ob[i].sweep, d);
      double de = m.de, dn = m.dn;
      m.de = c * de - sn * dn, m.dn = sn * de + c * dn;
      v += PT_TRUE[p] * cf_plume_point(&m, PT_E[p], PT_N[p], PT_H[p], &rec);
    }
    out[i] = v;
  }
  if (sigma_between) *sigma_between = met.sigma_between_deg;
  free(ob);
  cf_flux_met_free(&met);
}

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
  exact_opts(ctx, &o);
  set_opt(ctx, &o, "grid_m=2000");
  char kv[64];
  snprintf(kv, sizeof kv, "sigma_theta_deg=%g", TURN_DEG);
  set_opt(ctx, &o, kv);
  scene sc;
  scene_make(ctx, &o, 6, 36, 14, &sc);
  double *straight = malloc((size_t)sc.n_obs * sizeof *straight), *turned = malloc((size_t)sc.n_obs * sizeof *turned);
  assert_non_null(straight), assert_non_null(turned);
  double zero[6] = {0}, turn[6], sigma_b = 0;
  point_part(ctx, &sc, &o, zero, 0.0, 0, straight, &sigma_b);
  assert_true(sigma_b > 1.0); /* the scene's sweeps differ by +-4 degrees */
  int in_rep = 0, in_post = 0, in_nohist = 0, trials = 0;
  double dir_share = 0, hist_share = 0, bias = 0;
  for (int d = 0; d < DRAWS; d++) {
    cf_rng rng;
    cf_rng_seed(&rng, 7000 + (uint64_t)d, 1);
    for (int s = 0; s < sc.n_sweeps; s++) turn[s] = TURN_DEG * D2R * cf_rng_normal(&rng);
    double history = sigma_b * D2R * cf_rng_normal(&rng);
    point_part(ctx, &sc, &o, turn, history, 1, turned, NULL);
    cf_rng_seed(&rng, 7000 + (uint64_t)d, 0);
    cf_l2 *l = &sc.set.files[0];
    for (long i = 0; i < sc.n_obs; i++)
      l->co2_mole_fraction[sc.cell[i]] = sc.signal[i] - straight[i] + turned[i] + sc.sig[i] * cf_rng_normal(&rng);
    cf_flux_result r;
    assert_int_equal(cf_flux_estimate(ctx, &sc.set, &sc.src, &o, &r), CF_OK);
    for (int p = 0; p < NPTS; p++) {
      const cf_flux_source_result *s = &r.sources[point_index(&sc, p)];
      double e = fabs(s->rate_t_h - PT_TRUE[p]);
      /* no jackknife, a given class: sigma^2 = posterior^2 + direction^2 + history^2 */
      assert_close(s->sigma_t_h, hypot(hypot(s->sigma_posterior_t_h, s->sigma_direction_t_h), s->sigma_history_t_h),
                   1e-12, 0);
      assert_true(s->sigma_class_t_h == 0.0);
      hist_share += s->sigma_history_t_h / s->sigma_t_h / (DRAWS * NPTS);
      in_rep += e <= s->sigma_t_h, in_post += e <= s->sigma_posterior_t_h, trials++;
      in_nohist += e <= hypot(s->sigma_posterior_t_h, s->sigma_direction_t_h);
      bias += (s->rate_t_h - PT_TRUE[p]) / s->sigma_t_h / (DRAWS * NPTS);
      dir_share += s->sigma_direction_t_h / s->sigma_t_h / (DRAWS * NPTS);
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
  scene_free(&sc);
  cf_ctx_destroy(ctx);
}

/* --- (4) thread determinism --------------------------------------------------------- */

static void run_threads(cf_ctx *ctx, const scene *sc, const cf_flux_opts *o, int nt, cf_flux_result *r) {
  cf_set_threads(ctx, nt);
  omp_set_num_threads(nt);
  assert_int_equal(cf_flux_estimate(ctx, &sc->set, &sc->src, o, r), CF_OK);
}

static void test_thread_determinism(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_opts o;
  scene sc;
  small_scene(ctx, &o, 5, &sc);
  /* the full estimate: model error and floor from the residuals, outliers
   * dropped at 5 sigma, the jackknife over 3 blocks of 2 sweeps */
  const char *kv[] = {"model_error=auto", "model_floor_ppm=auto", "spike_sigma=5", "jackknife_blocks=3"};
  for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) set_opt(ctx, &o, kv[k]);
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
  scene_free(&sc);
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
      cmocka_unit_test(test_truth_recovered),
      cmocka_unit_test(test_depth_by_the_data),
      cmocka_unit_test(test_direction_error_covered),
      cmocka_unit_test(test_thread_determinism),
      cmocka_unit_test_setup_teardown(test_command_end_to_end, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
