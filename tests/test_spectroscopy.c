/*
 * The CO2 spectroscopy and atmosphere layer of the DIAL (lidar/voigt.h,
 * lidar/co2_lines.h, lidar/spectroscopy.h, lidar/atmosphere.h), each checked
 * against something that does not share its code:
 *
 *  - the Faddeeva function against exp(y^2) erfc(y) on the imaginary axis
 *    (C's erfc) and its asymptotic series, and the Voigt function against a
 *    brute-force numerical convolution of the Gaussian and the Lorentzian
 *    (Gauss-Legendre quadrature written here); the exact Lorentz and Gauss
 *    limits; unit area. A published table (Abramowitz & Stegun table 7.9,
 *    Armstrong 1967) was searched for but no reliable transcription was
 *    found, so the quadrature stands in for it.
 *  - the partition-function ratio against TIPS;
 *  - line intensities, widths and cross-sections against hand calculations
 *    written out below;
 *  - the atmosphere against numbers computed by hand from the spec.
 *
 * Measured errors are printed, so the log shows how far inside each
 * tolerance the code is.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "cf_test.h"
#include "lidar/atmosphere.h"
#include "lidar/co2_lines.h"
#include "lidar/spectroscopy.h"
#include "lidar/voigt.h"

#define PI 3.14159265358979323846
#define SQRT_PI 1.77245385090551602729
#define LN2 0.69314718055994530942

/* --- quadrature helpers (written here, independent of lidar/) ------------ */

enum { GL_N = 20 };
static double gl_x[GL_N], gl_w[GL_N];

/* Gauss-Legendre nodes and weights on [-1, 1] by Newton on P_n. */
static void gauss_legendre_init(void) {
  if (gl_w[0] != 0) return;
  for (int i = 0; i < GL_N; i++) {
    double x = cos(PI * (i + 0.75) / (GL_N + 0.5)), dp = 0;
    for (int it = 0; it < 100; it++) {
      double p0 = 1, p1 = x;
      for (int k = 2; k <= GL_N; k++) {
        double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = GL_N * (x * p1 - p0) / (x * x - 1);
      double dx = p1 / dp;
      x -= dx;
      if (fabs(dx) < 1e-16) break;
    }
    gl_x[i] = x;
    gl_w[i] = 2 / ((1 - x * x) * dp * dp);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* K(x, y) = (y/pi) int exp(-t^2) / ((x - t)^2 + y^2) dt: the Voigt function
 * as the convolution it is. Panels: a grid of width 0.25 on [-10, 10] (the
 * Gaussian; beyond 10 it is below e^-100) refined geometrically around the
 * Lorentzian's poles at t = x +- i y (breaks at x +- y 2^k), so each panel
 * is no wider than its distance to a pole and 20-point Gauss-Legendre is
 * exact to rounding on it. */
static double voigt_k_by_convolution(double x, double y) {
  gauss_legendre_init();
  double br[400];
  int n = 0;
  for (int i = 0; i <= 80; i++) br[n++] = -10 + 0.25 * i;
  for (double d = y; d < 20 && n < 396; d *= 2) {
    if (fabs(x - d) < 10) br[n++] = x - d;
    if (fabs(x + d) < 10) br[n++] = x + d;
  }
  if (fabs(x) < 10) br[n++] = x;
  qsort(br, (size_t)n, sizeof br[0], cmp_double);
  double sum = 0;
  for (int i = 0; i + 1 < n; i++) {
    double a = br[i], b = br[i + 1];
    if (b <= a) continue;
    double h = 0.5 * (b - a), c = 0.5 * (a + b);
    for (int k = 0; k < GL_N; k++) {
      double t = c + h * gl_x[k];
      sum += h * gl_w[k] * exp(-t * t) / ((x - t) * (x - t) + y * y);
    }
  }
  return y / PI * sum;
}

static double rel_err(double a, double b) { return fabs(a - b) / fabs(b); }

/* --- the Faddeeva function and the Voigt profile ------------------------- */

/* The expansion coefficients are made at first use (call_once): first use
 * from several threads at once must give the same values as one thread. */
static const double thread_x[4] = {0.3, 2.0, 5.0, 7.0};
static double thread_out[4][64];

static int thread_body(void *arg) {
  int id = (int)(size_t)arg;
  for (int i = 0; i < 64; i++) thread_out[id][i] = cf_voigt_k(thread_x[i % 4], 0.01 * (i + 1));
  return 0;
}

static void faddeeva_first_use_is_thread_safe(void **state) {
  (void)state;
  thrd_t th[4];
  for (int i = 0; i < 4; i++) assert_int_equal(thrd_create(&th[i], thread_body, (void *)(size_t)i), thrd_success);
  for (int i = 0; i < 4; i++) assert_int_equal(thrd_join(th[i], NULL), thrd_success);
  for (int id = 0; id < 4; id++)
    for (int i = 0; i < 64; i++)
      assert_close(thread_out[id][i], cf_voigt_k(thread_x[i % 4], 0.01 * (i + 1)), 0, 0); /* bitwise */
}

static void faddeeva_on_the_imaginary_axis(void **state) {
  (void)state;
  /* w(i y) = exp(y^2) erfc(y), real. C's erfc is accurate to about 1 ulp and
   * y^2 rounds by 1e-16 relative, so the reference is good to ~1e-14 up to
   * y = 25 (exp(y^2) overflows near 26.6). */
  const double ys[] = {0, 1e-4, 0.01, 0.1, 0.5, 1, 2, 3.7, 5, 7.9, 8.1, 10, 15, 20, 25};
  double worst = 0;
  for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
    double y = ys[i], re, im;
    cf_faddeeva_w(0, y, &re, &im);
    double ref = exp(y * y) * erfc(y);
    if (rel_err(re, ref) > worst) worst = rel_err(re, ref);
    assert_close(re, ref, 1e-13, 0); /* ~10x the reference's own rounding */
    assert_close(im, 0, 0, 0);       /* exactly real: the arithmetic keeps it so */
  }
  /* Beyond, the asymptotic series exp(y^2) erfc(y) = 1/(y sqrt(pi)) *
   * sum_k (-1)^k (2k-1)!! / (2y^2)^k (A&S 7.1.23), alternating: its error is
   * below the first omitted term, 13!!/(2 y^2)^7 < 3e-18 at y = 30. */
  const double big[] = {30, 100, 1e3, 1e4, 1e6};
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
    double y = big[i], u = 1 / (2 * y * y), term = 1, series = 1;
    for (int k = 1; k <= 6; k++) {
      term *= -(2 * k - 1) * u;
      series += term;
    }
    double ref = series / (y * SQRT_PI), re, im;
    cf_faddeeva_w(0, y, &re, &im);
    if (rel_err(re, ref) > worst) worst = rel_err(re, ref);
    assert_close(re, ref, 1e-14, 0); /* series exact to 3e-18; continued fraction to rounding */
  }
  print_message("w(iy): worst relative error %.2g\n", worst);
}

static void voigt_against_numerical_convolution(void **state) {
  (void)state;
  /* Over the whole required domain, |x| up to 1e4 and y from 1e-4 to 1e4,
   * including both sides of the switch between the two representations
   * (|z| = 8) and the far wings. */
  const double xs[] = {0, 0.3, 1, 2.5, 4, 5.5, 6.5, 7.9, 8.1, 12, 30, 100, 1e3, 1e4};
  const double ys[] = {1e-4, 1e-3, 1e-2, 0.1, 1, 3, 5.6, 7.9, 8.1, 10, 100, 1e3, 1e4};
  double worst = 0, worst_x = 0, worst_y = 0;
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
    for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++) {
      double ref = voigt_k_by_convolution(xs[i], ys[j]);
      double k = cf_voigt_k(xs[i], ys[j]);
      double km = cf_voigt_k(-xs[i], ys[j]); /* K is even in x */
      double e = fmax(rel_err(k, ref), rel_err(km, ref));
      if (e > worst) {
        worst = e;
        worst_x = xs[i];
        worst_y = ys[j];
      }
      /* The requirement is 1e-4. Weideman's N = 32 expansion is good to
       * ~2e-8 relative there and the quadrature to ~1e-13, so 1e-6 still
       * catches any real regression with margin. */
      assert_close(k, ref, 1e-6, 0);
      assert_close(km, ref, 1e-6, 0);
    }
  print_message("K(x,y) vs convolution: worst relative error %.2g at x=%g y=%g (tolerance 1e-6)\n",
                worst, worst_x, worst_y);
}

static double lorentz(double dnu, double g) { return g / (PI * (dnu * dnu + g * g)); }
static double gauss(double dnu, double a) { return sqrt(LN2 / PI) / a * exp(-LN2 * dnu * dnu / (a * a)); }

static void voigt_lorentz_and_gaussian_limits(void **state) {
  (void)state;
  const double g = 0.074; /* cm-1, R16e's air width at 1 atm */
  const double offs[] = {0, 0.5, 1, 3, 10, 100, 1e4};
  double worst_l = 0, worst_g = 0;
  /* Doppler width 1e-3 of the Lorentz width (y = 832): the Voigt profile
   * departs from the Lorentzian by at most 1.5/(x^2 + y^2) < 3e-6 relative
   * (second-order term of the Gaussian convolution). The issue asks for
   * 0.5%; 1e-5 is that bound with margin. */
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
    double dnu = offs[i] * g, v = cf_voigt_profile(dnu, 1e-3 * g, g);
    if (rel_err(v, lorentz(dnu, g)) > worst_l) worst_l = rel_err(v, lorentz(dnu, g));
    assert_close(v, lorentz(dnu, g), 1e-5, 0);
    assert_close(cf_voigt_profile(dnu, 0, g), lorentz(dnu, g), 1e-15, 0); /* exact branch */
  }
  /* Lorentz width 1e-10 of the Doppler width: out to x = 3 (1e-4 of the
   * peak) the Lorentz part adds at most 2y/sqrt(pi) + y exp(x^2)/(sqrt(pi) x^2)
   * < 5e-8 relative; 1e-6 leaves room for the expansion's rounding. */
  const double a = 0.0059; /* cm-1, R16e's Doppler HWHM at 296 K */
  for (double x = 0; x <= 3.0; x += 0.25) {
    double dnu = x * a / sqrt(LN2), v = cf_voigt_profile(dnu, a, 1e-10 * a);
    if (rel_err(v, gauss(dnu, a)) > worst_g) worst_g = rel_err(v, gauss(dnu, a));
    assert_close(v, gauss(dnu, a), 1e-6, 0);
  }
  /* gamma_l = 0 is the Gaussian exactly, far into the wing too. Only
   * rounding differs: exp(-x^2) turns a rounding of x by a few ulps into a
   * relative 2 x^2 times that, hence the x-dependent tolerance. */
  for (double x = 0; x <= 20; x += 2.5) {
    double dnu = x * a / sqrt(LN2);
    assert_close(cf_voigt_profile(dnu, a, 0), gauss(dnu, a), 2e-15 * (1 + 2 * x * x), 0);
  }
  print_message("Lorentz limit: worst %.2g (tol 1e-5); Gaussian limit: worst %.2g (tol 1e-6)\n",
                worst_l, worst_g);
}

/* int V over [-L, L] by Gauss-Legendre on panels growing geometrically from
 * the centre (each panel no wider than its distance from it), plus the
 * Lorentzian tails beyond L in closed form, (2/pi) atan(gamma/L): beyond
 * 1e4 widths the Voigt wing is Lorentzian to 1e-8. */
static double voigt_area(double a, double g) {
  gauss_legendre_init();
  double w = fmax(a, g), h = 0.05 * fmin(a > 0 ? a : g, g > 0 ? g : a), lim = 1e4 * w;
  double sum = 0, lo = 0;
  for (double hi = h; lo < lim; lo = hi, hi = fmin(2 * hi, lim)) {
    for (int q = 0; q < 4; q++) { /* each doubling split in 4 */
      double p0 = lo + (hi - lo) * q / 4, p1 = lo + (hi - lo) * (q + 1) / 4;
      double hh = 0.5 * (p1 - p0), c = 0.5 * (p0 + p1);
      for (int k = 0; k < GL_N; k++) sum += hh * gl_w[k] * cf_voigt_profile(c + hh * gl_x[k], a, g);
    }
    if (hi >= lim) break;
  }
  return 2 * sum + 2 / PI * atan(g / lim);
}

static void voigt_profile_has_unit_area(void **state) {
  (void)state;
  const double cases[][2] = {{1, 1e-4}, {1, 0.1}, {1, 1}, {1, 30}, {0.0059, 0.074}, {0.0059, 0}};
  double worst = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double area = voigt_area(cases[i][0], cases[i][1]);
    if (fabs(area - 1) > worst) worst = fabs(area - 1);
    /* profile good to ~2e-8 relative; quadrature and tail to ~1e-12 */
    assert_close(area, 1, 0, 1e-7);
  }
  print_message("Voigt area: worst |area - 1| = %.2g (tolerance 1e-7)\n", worst);
}

static void voigt_rejects_bad_arguments(void **state) {
  (void)state;
  double re, im;
  cf_faddeeva_w(1, -0.5, &re, &im); /* lower half-plane: not our domain */
  assert_true(isnan(re) && isnan(im));
  cf_faddeeva_w(NAN, 1, &re, &im);
  assert_true(isnan(re) && isnan(im));
  assert_true(isnan(cf_voigt_profile(0, 0, 0)));     /* a delta function */
  assert_true(isnan(cf_voigt_profile(0, -1, 1)));    /* negative width */
  assert_true(isnan(cf_voigt_profile(NAN, 1, 1)));
  assert_true(isnan(cf_voigt_profile(0, INFINITY, 1)));
  /* huge offsets stay finite: the wing of a Lorentzian */
  assert_close(cf_voigt_profile(1e200, 1, 1), lorentz(1e200, 1), 1e-12, 0);
}

/* --- line lists ----------------------------------------------------------- */

/* R16e as the reference list gives it. */
static const char r16e_csv[] =
    "nu_cm,S296,gamma_air,gamma_self,n_air,delta_air,E_lower,source\n"
    "6359.967248,1.76E-23,0.074086053,0.102,0.67,-0.005407741,106.1297,R16e from the spec list\n";

static void builtin_line_list(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist l;
  assert_int_equal(cf_co2_lines_builtin(ctx, &l), CF_OK);
  assert_int_equal(l.n, 81); /* 6350-6370 cm-1 in the spec's list */
  assert_string_equal(l.origin, "built-in lidar/co2_lines_1572nm.csv");
  const cf_co2_line *r = cf_co2_lines_nearest(&l, CF_CO2_R16E_NU);
  /* the values of the CSV row, as text -> double gives them */
  assert_close(r->nu, 6359.967248, 0, 0);
  assert_close(r->s296, 1.76e-23, 0, 0);
  assert_close(r->gamma_air, 0.074086053, 0, 0);
  assert_close(r->gamma_self, 0.102, 0, 0);
  assert_close(r->n_air, 0.67, 0, 0);
  assert_close(r->delta_air, -0.005407741, 0, 0);
  assert_close(r->e_lower, 106.1297, 0, 0);
  assert_non_null(strstr(r->source, "trans_id=6797270"));
  assert_close(l.lines[0].nu, 6350.069281, 0, 0);
  assert_close(l.lines[80].nu, 6369.969906, 0, 0);
  cf_co2_lines_free(&l);
  cf_co2_lines_free(&l); /* freeing twice is harmless */
  cf_ctx_destroy(ctx);
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = malloc(1 << 20);
  assert_non_null(buf);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

static void repository_list_is_the_spec_list(void **state) {
  (void)state;
  /* lidar/co2_lines_1572nm.csv must be the shared reference list byte for
   * byte, and the library must carry exactly those bytes. */
  char repo[1024];
  snprintf(repo, sizeof repo, "%s", __FILE__);
  char *slash = strrchr(repo, '/');
  assert_non_null(slash);
  snprintf(slash, sizeof repo - (size_t)(slash - repo), "/../lidar/co2_lines_1572nm.csv");
  size_t n_repo, n_spec;
  char *a = read_all(repo, &n_repo);
  char *b = read_all(CF_SHARED_DATA "/../spec/co2_lines_1572nm.csv", &n_spec);
  assert_int_equal(n_repo, n_spec);
  assert_memory_equal(a, b, n_repo);
  assert_int_equal(cf_co2_lines_1572nm_csv_len, n_repo);
  assert_memory_equal(cf_co2_lines_1572nm_csv, a, n_repo);

  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist from_file, builtin;
  assert_int_equal(cf_co2_lines_load(ctx, repo, &from_file), CF_OK);
  assert_int_equal(cf_co2_lines_builtin(ctx, &builtin), CF_OK);
  assert_int_equal(from_file.n, builtin.n);
  for (size_t i = 0; i < builtin.n; i++) {
    assert_close(from_file.lines[i].s296, builtin.lines[i].s296, 0, 0);
    assert_string_equal(from_file.lines[i].source, builtin.lines[i].source);
  }
  assert_string_equal(from_file.origin, repo);
  cf_co2_lines_free(&from_file);
  cf_co2_lines_free(&builtin);
  cf_ctx_destroy(ctx);
  free(a);
  free(b);
}

static void user_line_list_formats(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  /* columns in another order, a UTF-8 byte-order mark, CRLF, blank lines,
   * blanks around fields, and a quoted source holding commas and quotes */
  const char *text =
      "\xEF\xBB\xBF" "source, E_lower ,nu_cm,S296,gamma_air,gamma_self,n_air,delta_air\r\n"
      "\r\n"
      "\"lab, 2015, \"\"FARS\"\"\", 106.1297 , 6359.967248,1.76e-23,0.0745,0.102,0.67,-0.0054\r\n"
      "plain source,0,6358.0,1e-24,0.07,0.09,0.7,0\r\n";
  const char *p = cf_test_path(dir, "mine.csv");
  cf_test_write_text(p, text);
  cf_co2_linelist l;
  assert_int_equal(cf_co2_lines_load(ctx, p, &l), CF_OK);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.lines[0].source, "lab, 2015, \"FARS\"");
  assert_close(l.lines[0].e_lower, 106.1297, 0, 0);
  assert_close(l.lines[0].gamma_air, 0.0745, 0, 0);
  assert_close(l.lines[1].nu, 6358.0, 0, 0);
  cf_co2_lines_free(&l);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* Parse `text` and expect CF_EDATA with a frame whose where and field are
 * as given and whose reason contains `reason`. */
static void expect_error(const char *text, const char *where, const char *field, const char *reason) {
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist l;
  assert_int_equal(cf_co2_lines_parse(ctx, text, strlen(text), "my.csv", &l), CF_EDATA);
  assert_null(l.lines);
  assert_int_equal(l.n, 0);
  int found = 0;
  for (int i = 0; i < cf_error_count(ctx); i++) {
    const cf_error_frame *f = cf_error_get(ctx, i);
    if (strcmp(f->where, where) == 0 && strcmp(f->field, field) == 0 && strstr(f->reason, reason))
      found = 1;
  }
  if (!found) print_error("no error '%s: %s: ...%s...' in: %s\n", where, field, reason, cf_error_message(ctx));
  assert_true(found);
  cf_ctx_destroy(ctx);
}

#define HDR "nu_cm,S296,gamma_air,gamma_self,n_air,delta_air,E_lower,source\n"

static void user_line_list_errors(void **state) {
  (void)state;
  expect_error(HDR "6359.9,abc,0.07,0.1,0.7,0,10,x\n", "my.csv:2", "S296", "'abc' is not a finite number");
  expect_error(HDR "6359.9,1e-23,-0.07,0.1,0.7,0,10,x\n", "my.csv:2", "gamma_air", "must be >= 0");
  expect_error(HDR "6359.9,0,0.07,0.1,0.7,0,10,x\n", "my.csv:2", "S296", "must be > 0");
  expect_error(HDR "\n6359.9,1e-23,0.07,0.1,0.7,0,,x\n", "my.csv:3", "E_lower", "empty");
  expect_error(HDR "6359.9,1e-23,0.07,0.1,0.7,0,10,\n", "my.csv:2", "source", "must name where");
  expect_error(HDR "6359.9,1e-23,0.07,0.1,0.7,0,10\n", "my.csv:2", "", "7 fields where the header has 8");
  expect_error(HDR "6359.9,1e-23,0.07,0.1,0.7,nan,10,x\n", "my.csv:2", "delta_air", "not a finite number");
  expect_error(HDR "6359.9,1e-23,0.07,0.1,0.7,0,10,\"x\n", "my.csv:2", "", "not closed");
  expect_error("nu_cm,S296,gamma_air,gamma_self,n_air,delta_air,E_lower\n6359.9,1,1,1,1,1,1\n", "my.csv:1",
               "source", "missing column 'source'");
  expect_error("nu_cm,S296,gama_air,gamma_self,n_air,delta_air,E_lower,source\n", "my.csv:1", "gama_air",
               "unknown column 'gama_air'");
  expect_error("nu_cm,nu_cm,S296,gamma_air,gamma_self,n_air,delta_air,E_lower,source\n", "my.csv:1",
               "nu_cm", "appears twice");
  expect_error(HDR, "my.csv", "", "not followed by any line");
  expect_error("", "my.csv", "", "empty");
  /* every bad row is reported, not only the first */
  expect_error(HDR "1,x,1,1,1,1,1,a\n1,1,1,1,1,1,1,b\n1,1,y,1,1,1,1,c\n", "my.csv:4", "gamma_air", "'y'");

  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist l;
  assert_int_equal(cf_co2_lines_load(ctx, "/nonexistent/lines.csv", &l), CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "/nonexistent/lines.csv"));
  cf_ctx_destroy(ctx);
}

/* --- partition function, intensities, widths ------------------------------ */

static void partition_function_against_tips(void **state) {
  (void)state;
  /* TIPS total internal partition sums of 12C16O2 (HITRAN isotopologue 626)
   * as tabulated, one value per kelvin, in atmtools/arts
   * src/partfun/CO2-626.xml (commit 731d668a63c9e4e8193a9008e0e1cfa8ae270de5;
   * data of Gamache et al., JQSRT 2017 and 2021). Q(296) = 286.09382 agrees
   * with HITRAN's reference value for 626. */
  static const double tips[][2] = {
      {150, 134.21899}, {175, 157.34556}, {200, 181.29088}, {225, 206.35969},
      {250, 232.83719}, {275, 260.98429}, {296, 286.09382}, {300, 291.04046},
      {310, 303.64788}, {320, 316.61031}, {330, 329.94124}};
  double worst = 0;
  for (size_t i = 0; i < sizeof tips / sizeof tips[0]; i++) {
    double ref = 286.09382 / tips[i][1];
    double r = cf_co2_q_ratio(tips[i][0]);
    if (rel_err(r, ref) > worst) worst = rel_err(r, ref);
    assert_close(r, ref, 1e-3, 0); /* the spec: within 0.1% of TIPS */
  }
  assert_close(cf_co2_q_ratio(296), 1, 1e-15, 0);
  assert_true(isnan(cf_co2_q_ratio(0)));
  print_message("Q(296)/Q(T) vs TIPS 150-330 K: worst relative error %.2g (spec: 1e-3)\n", worst);
}

static const cf_co2_line r16e = {6359.967248, 1.76e-23, 0.074086053, 0.102, 0.67, -0.005407741, 106.1297, NULL};

static void line_intensity_and_widths_by_hand(void **state) {
  (void)state;
  /* At 296 K, S = S296 exactly. */
  assert_close(cf_co2_line_intensity(&r16e, 296), 1.76e-23, 1e-15, 0);
  /* At 250 K with the TIPS ratio: S = S296 * (286.09382/232.83719)
   *   * exp(-1.4387769 * 106.1297 * (1/250 - 1/296))
   *   * (1 - exp(-1.4387769 * 6359.967248/250)) / (1 - exp(-1.4387769 * 6359.967248/296))
   * (the last factor is 1 to 1e-16 at these wavenumbers). */
  double hand = 1.76e-23 * (286.09382 / 232.83719) * exp(-1.4387769 * 106.1297 * (1.0 / 250 - 1.0 / 296)) *
                (1 - exp(-1.4387769 * 6359.967248 / 250)) / (1 - exp(-1.4387769 * 6359.967248 / 296));
  assert_close(cf_co2_line_intensity(&r16e, 250), hand, 3e-4, 0); /* the Q model vs TIPS, 2e-4 */

  /* gamma at 296 K, 1 atm of air: gamma_air itself */
  cf_gas_state air = {101325, 296, 0};
  assert_close(cf_co2_lorentz_hwhm(&r16e, &air), 0.074086053, 1e-15, 0);
  /* 250 K, 0.5 atm with 0.1 atm of CO2:
   * (296/250)^0.67 * (0.074086053 * 0.4 + 0.102 * 0.1) = 0.04460711664018666 */
  cf_gas_state mix = {0.5 * 101325, 250, 0.1 * 101325};
  assert_close(cf_co2_lorentz_hwhm(&r16e, &mix), 0.04460711664018666, 1e-14, 0);
  /* alpha_D = nu/c sqrt(2 ln2 k T / m), m = 43.98983 u = 43.98983 * 1.66053906660e-27 kg:
   * 296 K: 6359.967248/299792458 * sqrt(2 ln2 * 1.380649e-23 * 296 / 7.30459e-26)
   *        = 0.005908111881301989 cm-1; 288 K: 0.005827725661036778 cm-1
   * (30-digit arithmetic). */
  assert_close(cf_co2_doppler_hwhm(6359.967248, 296), 0.005908111881301989, 1e-14, 0);
  assert_close(cf_co2_doppler_hwhm(6359.967248, 288), 0.005827725661036778, 1e-14, 0);
  /* centre shifted by delta_air p: 6359.967248 - 0.005407741 at 1 atm */
  assert_close(cf_co2_line_centre(&r16e, 101325), 6359.967248 - 0.005407741, 1e-15, 0);
}

/* --- cross-sections ------------------------------------------------------- */

static cf_co2_linelist one_line_list(cf_ctx *ctx) {
  cf_co2_linelist l;
  assert_int_equal(cf_co2_lines_parse(ctx, r16e_csv, strlen(r16e_csv), "r16e", &l), CF_OK);
  assert_int_equal(l.n, 1);
  return l;
}

static void cross_section_gaussian_and_lorentz_limits(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist all, one = one_line_list(ctx);
  assert_int_equal(cf_co2_lines_builtin(ctx, &all), CF_OK);
  double worst_g = 0, worst_l = 0;
  /* 0.01 Pa: gamma = 7.3e-9 cm-1 against alpha_D = 5.9e-3 (y = 1e-6), so the
   * line is Gaussian to < 1e-5 out to two Doppler widths, and the other
   * lines (>= 0.1 cm-1 = 17 Doppler widths away) add exp(-290) of nothing.
   * Sigma in m^2 = 1e-4 * S (cm/molecule) * G (1/cm-1). */
  cf_gas_state thin = {0.01, 296, 0};
  double a = cf_co2_doppler_hwhm(r16e.nu, 296), c = cf_co2_line_centre(&r16e, 0.01);
  for (double k = -2; k <= 2; k += 0.5) {
    double ref = 1e-4 * 1.76e-23 * gauss(k * a, a);
    double s = cf_co2_sigma(&all, c + k * a, &thin);
    if (rel_err(s, ref) > worst_g) worst_g = rel_err(s, ref);
    assert_close(s, ref, 1e-4, 0); /* issue: 0.5%; physics allows 1e-5 */
  }
  /* 100 atm, one line: gamma = 7.4 cm-1, y = 1044: Lorentzian to 1.5/y^2 =
   * 1.4e-6 about the shifted centre nu0 + 100 delta_air. */
  cf_gas_state dense = {100 * 101325, 296, 0};
  double g = 100 * 0.074086053, c100 = 6359.967248 + 100 * -0.005407741;
  for (double k = -20; k <= 20; k += 2.5) {
    double ref = 1e-4 * 1.76e-23 * lorentz(k * g, g);
    double s = cf_co2_sigma(&one, c100 + k * g, &dense);
    if (rel_err(s, ref) > worst_l) worst_l = rel_err(s, ref);
    assert_close(s, ref, 1e-5, 0); /* issue: 0.5% */
  }
  print_message("cross-section limits: Gaussian %.2g (tol 1e-4), Lorentzian %.2g (tol 1e-5)\n", worst_g,
                worst_l);
  cf_co2_lines_free(&all);
  cf_co2_lines_free(&one);
  cf_ctx_destroy(ctx);
}

/* A line's Voigt profile far from its centre (|dnu| >> alpha_D): the
 * Lorentzian convolved with a Gaussian of variance s2 = alpha_D^2 / (2 ln 2),
 * to second order: L (1 + s2 (3 dnu^2 - g^2) / (dnu^2 + g^2)^2). The next
 * term is below 15 s2^2 / (dnu^2 + g^2)^2 < 4e-5 of the line's own
 * contribution for every line >= 0.1 cm-1 away. */
static double wing_by_hand(double dnu, double a, double g) {
  double s2 = a * a / (2 * LN2), d2 = dnu * dnu, g2 = g * g;
  return lorentz(dnu, g) * (1 + s2 * (3 * d2 - g2) / ((d2 + g2) * (d2 + g2)));
}

/* sigma at 296 K, 1 atm of dry air (p_self = 0), where S = S296, gamma =
 * gamma_air and alpha_D = nu/c sqrt(2 ln2 kT/m), written out from the table;
 * the line at `exact_index` (or none, -1) by its exact centre value. */
static double sigma_296_by_hand(const cf_co2_linelist *l, double nu, long exact_index) {
  const double c = 299792458.0, k = 1.380649e-23, m = 43.98983 * 1.66053906660e-27;
  double sum = 0;
  for (size_t i = 0; i < l->n; i++) {
    const cf_co2_line *x = &l->lines[i];
    double a = x->nu / c * sqrt(2 * LN2 * k * 296 / m), g = x->gamma_air, centre = x->nu + x->delta_air;
    if ((long)i == exact_index) {
      /* at the centre: V(0) = sqrt(ln2/pi)/alpha_D exp(y^2) erfc(y), y = sqrt(ln2) g/alpha_D */
      double y = sqrt(LN2) * g / a;
      assert_close(nu, centre, 1e-15, 0);
      sum += x->s296 * sqrt(LN2 / PI) / a * exp(y * y) * erfc(y);
    } else {
      sum += x->s296 * wing_by_hand(nu - centre, a, g);
    }
  }
  return 1e-4 * sum;
}

static void r16e_line_centre_and_offline_by_hand(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist all, one = one_line_list(ctx);
  assert_int_equal(cf_co2_lines_builtin(ctx, &all), CF_OK);
  cf_gas_state air = {101325, 296, 0};
  double on = 6359.967248 - 0.005407741; /* the centre at 1 atm */
  long idx = (long)(cf_co2_lines_nearest(&all, CF_CO2_R16E_NU) - all.lines);

  /* R16e alone: alpha_D = 0.00590811 cm-1, gamma = 0.0740861 cm-1, y = 10.4400,
   * V(0) = sqrt(ln2/pi)/alpha_D exp(y^2) erfc(y) = 4.277044 1/cm-1, so
   * sigma = 1.76e-23 * 4.277044 = 7.527598e-23 cm^2 = 7.527598e-27 m^2.
   * The hand value uses C's erfc, the library its continued fraction:
   * they agree to rounding (1e-12). */
  double s1 = cf_co2_sigma(&one, on, &air), h1 = sigma_296_by_hand(&one, on, 0);
  assert_close(s1, h1, 1e-12, 0);
  /* All 81 lines: R16e exactly, the others by their second-order wings.
   * The neglected terms are < 1e-7 of the total; 1e-6 allows the Voigt
   * function's own 2e-8. */
  double s_on = cf_co2_sigma(&all, on, &air), h_on = sigma_296_by_hand(&all, on, idx);
  assert_close(s_on, h_on, 1e-6, 0);
  /* Off-line 6360.600 cm-1: every line is >= 0.21 cm-1 away, all wings. */
  double s_off = cf_co2_sigma(&all, CF_CO2_OFFLINE_NU, &air);
  double h_off = sigma_296_by_hand(&all, CF_CO2_OFFLINE_NU, -1);
  assert_close(s_off, h_off, 1e-6, 0);
  print_message("296 K, 1 atm air: sigma(R16e alone) = %.6g m^2 (hand %.6g), sigma_on = %.6g (hand %.6g, "
                "rel %.2g), sigma_off = %.6g (hand %.6g, rel %.2g)\n",
                s1, h1, s_on, h_on, rel_err(s_on, h_on), s_off, h_off, rel_err(s_off, h_off));
  cf_co2_lines_free(&all);
  cf_co2_lines_free(&one);
  cf_ctx_destroy(ctx);
}

static void differential_cross_section_at_surface(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist all;
  assert_int_equal(cf_co2_lines_builtin(ctx, &all), CF_OK);
  /* surface air, 288 K, 420 ppm CO2 */
  cf_gas_state g = {101325, 288, 420e-6 * 101325};
  double on;
  assert_int_equal(cf_co2_online_centre(ctx, &all, g.p_pa, &on), CF_OK);
  double ds;
  assert_int_equal(cf_co2_dsigma_checked(ctx, &all, on, CF_CO2_OFFLINE_NU, &g, &ds), CF_OK);
  double s_on = cf_co2_sigma(&all, on, &g), s_off = cf_co2_sigma(&all, CF_CO2_OFFLINE_NU, &g);
  /* one pass or two, the same numbers up to rounding of the sums */
  assert_close(ds, s_on - s_off, 1e-12, 0);
  /* Sanity, not a reference: no published value for this line list was
   * found, so the figure is our own. A Lorentzian peak S/(pi gamma) with
   * S ~ 1.8e-23 cm/molecule and gamma ~ 0.076 cm-1 is 7.5e-23 cm^2, i.e.
   * 7.5e-27 m^2, and the off-line is two orders lower: the bracket
   * 5e-27..1e-26 m^2 catches unit errors (factors of 1e4, pi, 2). */
  assert_true(ds > 5e-27 && ds < 1e-26);
  print_message("288 K, 101325 Pa: sigma_on = %.5g m^2, sigma_off = %.5g m^2, dsigma = %.5g m^2\n", s_on,
                s_off, ds);
  cf_co2_lines_free(&all);
  cf_ctx_destroy(ctx);
}

static void online_centre(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist all;
  assert_int_equal(cf_co2_lines_builtin(ctx, &all), CF_OK);
  double nu;
  assert_int_equal(cf_co2_online_centre(ctx, &all, 0, &nu), CF_OK);
  assert_close(nu, 6359.967248, 0, 0);
  assert_int_equal(cf_co2_online_centre(ctx, &all, 0.8 * 101325, &nu), CF_OK);
  assert_close(nu, 6359.967248 - 0.8 * 0.005407741, 1e-15, 0);
  assert_int_equal(cf_co2_online_centre(ctx, &all, -1, &nu), CF_EINVAL);
  assert_true(isnan(nu));
  cf_co2_lines_free(&all);
  cf_error_clear(ctx);
  /* a list without R16e */
  const char *text = HDR "6358.654325,1.75E-23,0.0754,0.104,0.68,-0.005,81.94,R14e\n";
  assert_int_equal(cf_co2_lines_parse(ctx, text, strlen(text), "r14e.csv", &all), CF_OK);
  assert_int_equal(cf_co2_online_centre(ctx, &all, 101325, &nu), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "no R16e"));
  cf_co2_lines_free(&all);
  cf_ctx_destroy(ctx);
}

static void checked_entry_points_reject_bad_conditions(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_co2_linelist all;
  assert_int_equal(cf_co2_lines_builtin(ctx, &all), CF_OK);
  double s;
  cf_gas_state cold = {101325, 100, 0};
  assert_int_equal(cf_co2_sigma_checked(ctx, &all, CF_CO2_R16E_NU, &cold, &s), CF_EINVAL);
  assert_true(isnan(s));
  assert_string_equal(cf_error_get(ctx, 0)->field, "temperature");
  cf_error_clear(ctx);
  cf_gas_state self = {1000, 280, 2000};
  assert_int_equal(cf_co2_sigma_checked(ctx, &all, CF_CO2_R16E_NU, &self, &s), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "co2_partial_pressure");
  cf_error_clear(ctx);
  cf_gas_state ok = {101325, 280, 40};
  assert_int_equal(cf_co2_sigma_checked(ctx, &all, -6360, &ok, &s), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->field, "wavenumber");
  cf_error_clear(ctx);
  cf_co2_linelist empty = {0};
  assert_int_equal(cf_co2_dsigma_checked(ctx, &empty, 6360, 6361, &ok, &s), CF_EINVAL);
  cf_error_clear(ctx);
  assert_int_equal(cf_co2_sigma_checked(ctx, &all, CF_CO2_R16E_NU, &ok, &s), CF_OK);
  assert_close(s, cf_co2_sigma(&all, CF_CO2_R16E_NU, &ok), 0, 0);
  /* the pure functions give NaN, not garbage */
  cf_gas_state bad = {NAN, 280, 0};
  assert_true(isnan(cf_co2_sigma(&all, CF_CO2_R16E_NU, &bad)));
  assert_true(isnan(cf_co2_dsigma(&all, CF_CO2_R16E_NU, 6360.6, &self)));
  cf_co2_lines_free(&all);
  cf_ctx_destroy(ctx);
}

/* --- atmosphere ------------------------------------------------------------ */

static void atmosphere_by_hand(void **state) {
  (void)state;
  /* Computed by hand (30-digit arithmetic) from lidar-l0.md "Meteorology":
   * exponent g/(R_d 0.0065) = 9.80665/(287.05 * 0.0065) = 5.255932362359814.
   * Site 1: p0 = 101325 Pa, T0 = 288.15 K, RH = 0.5.
   *   e_s(15 C) = 610.94 exp(17.625 * 15 / 258.04) = 1701.982814715586 Pa,
   *   e0 = 850.9914073577932 Pa, n_dry(0) = (101325 - e0)/(1.380649e-23 * 288.15)
   *      = 2.525525878413497e25 m^-3;
   *   z = 1000 m: T = 281.65 K, p = 101325 (281.65/288.15)^5.2559 = 89874.45515908133 Pa,
   *      e = 754.8224927840267 Pa, n_dry = 2.291819179131190e25 m^-3.
   * Site 2: p0 = 85000 Pa, T0 = 300 K, RH = 0.8, z = 2500 m:
   *   T = 283.75 K, p = 63431.09089802130 Pa, e = 2106.073877370008 Pa,
   *   n_dry = 1.565375471986691e25 m^-3.
   * Tolerance 1e-13: a pow and an exp of double arguments, a few ulps each. */
  cf_surface_met s1 = {101325, 288.15, 0.5};
  cf_met_level m;
  assert_close(cf_magnus_es_pa(288.15), 1701.982814715586, 1e-13, 0);
  assert_int_equal(cf_atmosphere_at(&s1, 0, &m), 0);
  assert_close(m.t_k, 288.15, 1e-15, 0);
  assert_close(m.p_pa, 101325, 1e-15, 0);
  assert_close(m.e_pa, 850.9914073577932, 1e-13, 0);
  assert_close(m.n_dry_m3, 2.525525878413497e25, 1e-13, 0);
  assert_int_equal(cf_atmosphere_at(&s1, 1000, &m), 0);
  assert_close(m.t_k, 281.65, 1e-15, 0);
  assert_close(m.p_pa, 89874.45515908133, 1e-13, 0);
  assert_close(m.e_pa, 754.8224927840267, 1e-13, 0);
  assert_close(m.n_dry_m3, 2.291819179131190e25, 1e-13, 0);
  cf_surface_met s2 = {85000, 300, 0.8};
  assert_int_equal(cf_atmosphere_at(&s2, 2500, &m), 0);
  assert_close(m.t_k, 283.75, 1e-15, 0);
  assert_close(m.p_pa, 63431.09089802130, 1e-13, 0);
  assert_close(m.e_pa, 2106.073877370008, 1e-13, 0);
  assert_close(m.n_dry_m3, 1.565375471986691e25, 1e-13, 0);
  /* above the height where T would reach 0 K there is no atmosphere */
  assert_int_equal(cf_atmosphere_at(&s1, 288.15 / 0.0065 + 1, &m), -1);
  assert_true(isnan(m.p_pa));
  assert_int_equal(cf_atmosphere_at(&s1, NAN, &m), -1);
}

static void expect_met_error(cf_surface_met s, const char *field) {
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_surface_met_check(ctx, &s, "ray.h5:/meteo"), CF_EDATA);
  assert_string_equal(cf_error_get(ctx, 0)->where, "ray.h5:/meteo");
  assert_string_equal(cf_error_get(ctx, 0)->field, field);
  cf_ctx_destroy(ctx);
}

static void atmosphere_rejects_bad_surface_values(void **state) {
  (void)state;
  expect_met_error((cf_surface_met){NAN, 288, 0.5}, "pressure_pa");
  expect_met_error((cf_surface_met){0, 288, 0.5}, "pressure_pa");
  expect_met_error((cf_surface_met){101325, -5, 0.5}, "temperature_k");
  expect_met_error((cf_surface_met){101325, INFINITY, 0.5}, "temperature_k");
  expect_met_error((cf_surface_met){101325, 288, 50}, "relative_humidity"); /* a percentage */
  expect_met_error((cf_surface_met){101325, 288, -0.01}, "relative_humidity");
  expect_met_error((cf_surface_met){101325, 288, NAN}, "relative_humidity");
  /* 1 kPa of hot saturated air: e0 = 12.3 kPa would exceed p */
  expect_met_error((cf_surface_met){1000, 323, 1.0}, "relative_humidity");
  cf_ctx *ctx = cf_test_ctx();
  cf_surface_met ok = {101325, 288, 1.05}; /* slight supersaturation is accepted */
  assert_int_equal(cf_surface_met_check(ctx, &ok, "x"), CF_OK);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(faddeeva_first_use_is_thread_safe),
      cmocka_unit_test(faddeeva_on_the_imaginary_axis),
      cmocka_unit_test(voigt_against_numerical_convolution),
      cmocka_unit_test(voigt_lorentz_and_gaussian_limits),
      cmocka_unit_test(voigt_profile_has_unit_area),
      cmocka_unit_test(voigt_rejects_bad_arguments),
      cmocka_unit_test(builtin_line_list),
      cmocka_unit_test(repository_list_is_the_spec_list),
      cmocka_unit_test(user_line_list_formats),
      cmocka_unit_test(user_line_list_errors),
      cmocka_unit_test(partition_function_against_tips),
      cmocka_unit_test(line_intensity_and_widths_by_hand),
      cmocka_unit_test(cross_section_gaussian_and_lorentz_limits),
      cmocka_unit_test(r16e_line_centre_and_offline_by_hand),
      cmocka_unit_test(differential_cross_section_at_surface),
      cmocka_unit_test(online_centre),
      cmocka_unit_test(checked_entry_points_reject_bad_conditions),
      cmocka_unit_test(atmosphere_by_hand),
      cmocka_unit_test(atmosphere_rejects_bad_surface_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
