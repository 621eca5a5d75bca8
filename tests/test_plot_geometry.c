/*
 * Plot geometry (sink/plot_geometry.h) against published and closed-form
 * numbers.
 *
 *  - Pearson, Walker & Brown (2005), Sourcebook for Land Use, Land-Use
 *    Change and Forestry Projects (Winrock International): a circular plot
 *    of 20 m radius laid out on a 25 degree slope covers 0.11 ha of
 *    horizontal area (not the nominal 0.126 ha).
 *  - The per-hectare expansion factors of nested rings of 4, 14 and 20 m
 *    radius, as printed in nested-plot designs: 198.9, 16.2 and 8.0.
 * Both are checked to the digits printed (|x - printed| < half a unit in
 * the last printed digit), and also against the closed form evaluated here
 * (pi r^2 cos s), to 1e-12 relative: the code does the same few
 * floating-point operations, so only rounding (~1e-16) may differ.
 */
#include <math.h>
#include <string.h>

#include "cf_test.h"
#include "sink/plot_geometry.h"

#define PI 3.14159265358979323846

static void winrock_slope_example(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double a = 0;
  assert_int_equal(cf_plot_area_slope_ha(ctx, "test", 20.0, 25.0, &a), CF_OK);
  assert_close(a, 0.11, 0.0, 0.005); /* printed as 0.11 ha: two decimals */
  /* pi 400 cos(25 deg) = 1256.637 x 0.906308 = 1138.900 m2 */
  assert_close(a, 0.1138900, 0.0, 5e-8);
  assert_close(a, PI * 400.0 * cos(25.0 * PI / 180.0) / 1e4, 1e-12, 0.0);
  /* flat ground: the nominal area, 0.1257 ha */
  assert_int_equal(cf_plot_area_slope_ha(ctx, "test", 20.0, 0.0, &a), CF_OK);
  assert_close(a, PI * 0.04, 1e-12, 0.0);
  cf_ctx_destroy(ctx);
}

static void slope_corrected_radius(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double r = 0, a = 0;
  assert_int_equal(cf_plot_radius_slope_corrected_m(ctx, "test", 20.0, 25.0, &r), CF_OK);
  /* 20 / sqrt(0.906308) = 21.0084 m */
  assert_close(r, 21.0084, 0.0, 5e-5);
  /* laid out with r' on the slope, the horizontal area is the nominal one */
  assert_int_equal(cf_plot_area_slope_ha(ctx, "test", r, 25.0, &a), CF_OK);
  assert_close(a, PI * 0.04, 1e-12, 0.0);
  cf_ctx_destroy(ctx);
}

static void nested_expansion_factors(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const double radius[3] = {4.0, 14.0, 20.0}, printed[3] = {198.9, 16.2, 8.0};
  for (int i = 0; i < 3; i++) {
    double ef = 0;
    assert_int_equal(cf_plot_expansion_factor_circle(ctx, "test", radius[i], 0.0, &ef), CF_OK);
    assert_close(ef, printed[i], 0.0, 0.05); /* one printed decimal */
    assert_close(ef, 1e4 / (PI * radius[i] * radius[i]), 1e-12, 0.0);
  }
  double ef = 0;
  assert_int_equal(cf_plot_expansion_factor(ctx, "test", 0.25, &ef), CF_OK);
  assert_close(ef, 4.0, 1e-15, 0.0);
  cf_ctx_destroy(ctx);
}

static void bad_geometry(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double a = 0;
  assert_int_equal(cf_plot_area_slope_ha(ctx, "plots.csv: line 4", -5.0, 10.0, &a), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "radius_m"));
  assert_non_null(strstr(cf_error_message(ctx), "plots.csv: line 4"));
  cf_error_clear(ctx);
  assert_int_equal(cf_plot_area_slope_ha(ctx, "x", 10.0, 95.0, &a), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "slope_deg"));
  cf_error_clear(ctx);
  assert_int_equal(cf_plot_area_slope_ha(ctx, "x", NAN, 0.0, &a), CF_EINVAL);
  cf_error_clear(ctx);
  assert_int_equal(cf_plot_expansion_factor(ctx, "x", 0.0, &a), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "area_ha"));
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(winrock_slope_example),
      cmocka_unit_test(slope_corrected_radius),
      cmocka_unit_test(nested_expansion_factors),
      cmocka_unit_test(bad_geometry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
