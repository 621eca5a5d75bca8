/*
 * Student's t (sink/student_t.h), the AR-TOOL14 stratified estimator
 * (sink/stratify.h) and the uncertainty deductions (sink/discount.h).
 *
 * Expected values come from outside the code under test: closed forms of
 * the t distribution for df = 1, 2 and 4, printed t tables (4 decimals),
 * hand arithmetic on small plot sets, and the figures AR-TOOL14 prints
 * (the 60 +- 9 discount example; the worked example mean 45.328 t d.m./ha,
 * n = 34, s = 12.776, U = 8.18 %).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "sink/discount.h"
#include "sink/stratify.h"
#include "sink/student_t.h"

#define PI 3.14159265358979323846

/* --- Student t --------------------------------------------------------------- */

/* Printed tables give 4 decimals: they are within 5e-5 of the true value. */
#define TABLE_ATOL 5e-5

static void t_quantiles_match_printed_tables(void **state) {
  (void)state;
  assert_close(cf_student_t_quantile(0.95, 12), 1.7823, 0, TABLE_ATOL);
  assert_close(cf_student_t_quantile(0.95, 33), 1.6924, 0, TABLE_ATOL);
  assert_close(cf_student_t_quantile(0.975, 10), 2.2281, 0, TABLE_ATOL);
  assert_close(cf_student_t_quantile(0.995, 5), 4.0321, 0, TABLE_ATOL);
  assert_close(cf_student_t_quantile(0.95, 5), 2.0150, 0, TABLE_ATOL);
  /* the two-sided critical value at 90 % is the 0.95 quantile */
  cf_ctx *ctx = cf_test_ctx();
  double t;
  assert_int_equal(cf_student_t_critical(ctx, 0.90, 12, &t), CF_OK);
  assert_close(t, 1.7823, 0, TABLE_ATOL);
  assert_int_equal(cf_student_t_critical(ctx, 0.95, 10, &t), CF_OK);
  assert_close(t, 2.2281, 0, TABLE_ATOL);
  cf_ctx_destroy(ctx);
}

/* df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi, quantile
 * tan(pi (p - 1/2)). df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), quantile
 * (2p - 1) / sqrt(2 p (1 - p)). The module promises 1e-10; the closed forms
 * are good to a few ulps, so 1e-12 relative checks the promise with room. */
static void t_matches_closed_forms_df1_df2(void **state) {
  (void)state;
  const double ps[] = {0.001, 0.01, 0.2, 0.5, 0.6, 0.9, 0.95, 0.975, 0.999, 0.999999};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    double p = ps[i];
    /* near the pole tan(pi (p - 1/2)) loses digits to the rounding of its
     * argument; 1 / tan(pi (1 - p)) is the same function and keeps them
     * (1 - p is exact for p > 1/2) */
    double cauchy = p > 0.5 ? 1.0 / tan(PI * (1 - p)) : tan(PI * (p - 0.5));
    assert_close(cf_student_t_quantile(p, 1), cauchy, 1e-12, 1e-14);
    assert_close(cf_student_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p)), 1e-12, 1e-14);
  }
  const double ts[] = {-50, -3, -1, -0.1, 0, 0.1, 0.5, 1, 2.5, 10, 1e4};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
    double t = ts[i];
    assert_close(cf_student_t_cdf(t, 1), 0.5 + atan(t) / PI, 1e-12, 1e-15);
    assert_close(cf_student_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-12, 1e-15);
  }
  /* the 95 % two-sided critical value at df 2, which a reader took to be
   * off by 4e-11: the closed form 0.95 sqrt(2 / 0.0975) is
   * 4.30265272974946385... (40 digits in Python's decimal), which is what
   * we give to an ulp; 4.302652729911275, quoted as exact, is not */
  assert_close(cf_student_t_quantile(0.975, 2), 4.302652729749463852, 1e-15, 0);
  /* far tails keep relative precision: P(T > 1e4 | df 1) = atan(1e-4)/pi */
  assert_close(cf_student_t_sf(1e4, 1), atan(1e-4) / PI, 1e-12, 0);
}

/* df = 4 has a closed-form quantile: with a = 4p(1-p), q = cos(acos(sqrt
 * a) / 3) / sqrt a, t = sign(p - 1/2) 2 sqrt(q - 1) (checked beforehand by
 * numerical integration of the density to 1e-15). */
static void t_matches_closed_form_df4(void **state) {
  (void)state;
  const double ps[] = {0.55, 0.9, 0.95, 0.975, 0.995, 0.9999};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    double p = ps[i], a = 4 * p * (1 - p), q = cos(acos(sqrt(a)) / 3) / sqrt(a);
    assert_close(cf_student_t_quantile(p, 4), 2 * sqrt(q - 1), 1e-12, 0);
  }
  /* printed: t(0.975, 4) = 2.7764 */
  assert_close(cf_student_t_quantile(0.975, 4), 2.7764, 0, TABLE_ATOL);
}

/* Symmetry, round trips for real df, and the normal limit. The p are
 * dyadic, so 1 - p is exact and symmetry can be checked to 1e-12. */
static void t_symmetry_round_trip_and_limit(void **state) {
  (void)state;
  const double dfs[] = {1, 1.5, 3.3, 7.5, 30, 250, 1e5};
  const double ps[] = {0x1p-20, 0x1p-7, 0.3125, 0.75, 0.875, 0.96875, 1 - 0x1p-20};
  for (size_t i = 0; i < sizeof dfs / sizeof dfs[0]; i++)
    for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
      double df = dfs[i], p = ps[j];
      double t = cf_student_t_quantile(p, df);
      assert_close(cf_student_t_quantile(1 - p, df), -t, 1e-12, 1e-14);
      assert_close(cf_student_t_cdf(-t, df), 1 - cf_student_t_cdf(t, df), 1e-12, 1e-15);
      /* tails compared as tails: relative 1e-11 of the smaller probability */
      double tail = p < 0.5 ? cf_student_t_cdf(t, df) : cf_student_t_sf(t, df);
      assert_close(tail, p < 0.5 ? p : 1 - p, 1e-11, 0);
    }
  /* df -> infinity: t(0.975) -> z = 1.959963984540054; the gap is
   * (z^3 + z)/(4 df) = 2.4e-8 at df = 1e8 */
  assert_close(cf_student_t_quantile(0.975, 1e8), 1.959963984540054, 5e-8, 0);
  /* I_x(a, b) at a point with a closed form: I_x(1, b) = 1 - (1-x)^b */
  assert_close(cf_beta_inc(1, 3.5, 0.3), 1 - pow(0.7, 3.5), 1e-13, 0);
}

static void t_rejects_bad_arguments(void **state) {
  (void)state;
  assert_true(isnan(cf_student_t_quantile(0.9, 0.5)));
  assert_true(isnan(cf_student_t_quantile(1.0, 5)));
  assert_true(isnan(cf_student_t_cdf(1.0, INFINITY)));
  cf_ctx *ctx = cf_test_ctx();
  double t;
  assert_int_equal(cf_student_t_critical(ctx, 1.0, 5, &t), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "confidence"));
  cf_error_clear(ctx);
  assert_int_equal(cf_student_t_critical(ctx, 0.9, 0, &t), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "df"));
  cf_ctx_destroy(ctx);
}

/* --- stratified estimator ---------------------------------------------------- */

/* Two strata computed by hand:
 *  A (60 ha): 80 90 100 110 -> mean 95, s^2 = 500/3, SE^2 = 125/3
 *  B (40 ha): 40 50 60      -> mean 50, s^2 = 100,   SE^2 = 100/3
 * w = 0.6, 0.4: mean = 57 + 20 = 77; SE^2 = 0.36 x 125/3 + 0.16 x 100/3
 * = 15 + 16/3 = 61/3; df = 7 - 2 = 5, t(0.95, 5) = 2.015048 (tables). */
static void stratified_two_strata_by_hand(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const double v[] = {80, 40, 90, 50, 100, 60, 110}; /* interleaved on purpose */
  const int s[] = {0, 1, 0, 1, 0, 1, 0};
  const double area[] = {60, 40};
  const char *names[] = {"A", "B"};
  cf_stratum_estimate st[2];
  cf_stratified_estimate e;
  assert_int_equal(cf_stratified_estimate_compute(ctx, 7, v, s, 2, area, names, 0.90, st, &e), CF_OK);
  /* sums of a few integers: exact up to rounding, 1e-14 */
  assert_int_equal(st[0].n, 4);
  assert_int_equal(st[1].n, 3);
  assert_close(st[0].mean, 95, 1e-14, 0);
  assert_close(st[1].mean, 50, 1e-14, 0);
  assert_close(st[0].sd, sqrt(500.0 / 3), 1e-14, 0);
  assert_close(st[1].sd, 10, 1e-14, 0);
  assert_close(st[0].se, sqrt(125.0 / 3), 1e-14, 0);
  assert_close(st[0].weight, 0.6, 1e-15, 0);
  assert_string_equal(st[1].name, "B");
  assert_int_equal(e.n_plots, 7);
  assert_int_equal(e.n_strata, 2);
  assert_int_equal(e.df, 5);
  assert_close(e.area_ha, 100, 0, 0);
  assert_close(e.mean, 77, 1e-14, 0);
  assert_close(e.se, sqrt(61.0 / 3), 1e-14, 0);
  /* t from the 6-decimal table: 5e-7 */
  assert_close(e.t_value, 2.015048, 0, 5e-7);
  assert_close(e.half_width, e.t_value * sqrt(61.0 / 3), 1e-14, 0);
  assert_close(e.uncertainty_pct, 2.015048 * sqrt(61.0 / 3) / 77 * 100, 3e-7, 0);
  cf_ctx_destroy(ctx);
}

/* 34 plot values with mean exactly 45.328 and sample SD exactly 12.776:
 * any fixed deviates, centred and scaled to unit sample SD, then shifted. */
static void worked_example_plots(double *v) {
  double m = 0, ss = 0;
  for (int i = 0; i < 34; i++) {
    v[i] = sin(1.7 * i + 0.3) + 0.05 * i; /* arbitrary, not symmetric */
    m += v[i];
  }
  m /= 34;
  for (int i = 0; i < 34; i++) ss += (v[i] - m) * (v[i] - m);
  double sd = sqrt(ss / 33);
  for (int i = 0; i < 34; i++) v[i] = 45.328 + 12.776 * (v[i] - m) / sd;
}

/* AR-TOOL14's worked example: one stratum, n = 34, mean 45.328, s = 12.776
 * at 90 %: t(0.95, 33) = 1.6924, SE = 12.776/sqrt(34) = 2.19106, U = 8.18 %
 * (the tool prints two decimals: 5e-3), no discount under its table. */
static void ar_tool14_worked_example(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double v[34];
  int s[34] = {0};
  worked_example_plots(v);
  const double area[] = {250};
  cf_stratum_estimate st[1];
  cf_stratified_estimate e;
  assert_int_equal(cf_stratified_estimate_compute(ctx, 34, v, s, 1, area, NULL, 0.90, st, &e), CF_OK);
  assert_close(st[0].mean, 45.328, 1e-13, 0); /* construction rounding only */
  assert_close(st[0].sd, 12.776, 1e-13, 0);
  assert_int_equal(e.df, 33);
  assert_close(e.t_value, 1.6924, 0, TABLE_ATOL);
  assert_close(e.se, 12.776 / sqrt(34.0), 1e-13, 0);
  assert_close(e.uncertainty_pct, 8.18, 0, 5e-3);
  /* and against the table's t: U scales with t, so its 3e-5 relative */
  assert_close(e.uncertainty_pct, 1.6924 * 12.776 / sqrt(34.0) / 45.328 * 100, 3e-5, 0);
  cf_discount_result d;
  assert_int_equal(cf_discount_apply(ctx, "ar-tool14", e.mean, e.uncertainty_pct, e.half_width,
                                     CF_SIDE_PROJECT, &d),
                   CF_OK);
  assert_close(d.deduction, 0, 0, 0);
  assert_close(d.discounted, e.mean, 0, 0);
  cf_ctx_destroy(ctx);
}

static void stratified_errors_name_the_culprit(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const double v[] = {10, 12, 14, 20};
  const int s1[] = {0, 0, 0, 1}; /* stratum B has one plot */
  const double area[] = {5, 7};
  const char *names[] = {"A", "B"};
  cf_stratum_estimate st[2];
  cf_stratified_estimate e;
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, v, s1, 2, area, names, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "stratum \"B\": needs at least 2 plots, has 1"));
  cf_error_clear(ctx);

  const int s2[] = {0, 0, 1, 1};
  const double bad_area[] = {5, 0};
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, v, s2, 2, bad_area, names, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "\"B\": area must be > 0"));
  cf_error_clear(ctx);
  const double neg_area[] = {-1, 7};
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, v, s2, 2, neg_area, names, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "\"A\""));
  cf_error_clear(ctx);

  const int s3[] = {0, 0, 1, 2}; /* index 2 of 2 strata */
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, v, s3, 2, area, names, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "plot 3: stratum index 2 is unknown"));
  cf_error_clear(ctx);

  assert_int_equal(cf_stratified_estimate_compute(ctx, 0, v, s2, 2, area, names, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "no plots"));
  cf_error_clear(ctx);

  const double nanv[] = {10, NAN, 14, 20};
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, nanv, s2, 2, area, names, 0.9, st, &e),
                   CF_EINVAL);
  cf_error_clear(ctx);
  /* unnamed strata are called by index */
  assert_int_equal(cf_stratified_estimate_compute(ctx, 4, v, s1, 2, area, NULL, 0.9, st, &e),
                   CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "stratum \"#1\""));
  cf_ctx_destroy(ctx);
}

/* --- discount policies ------------------------------------------------------- */

/* AR-TOOL14's example: 60 +- 9 at 90 % (U = 15 %) -> a quarter of the
 * half-width, 2.25: 57.75 for a project stock, 62.25 for a baseline. */
static void ar_tool14_discount_example(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_discount_result d;
  assert_int_equal(cf_discount_apply(ctx, "ar-tool14", 60, 15, 9, CF_SIDE_PROJECT, &d), CF_OK);
  assert_close(d.deduction, 2.25, 1e-15, 0);
  assert_close(d.discounted, 57.75, 1e-15, 0);
  assert_close(d.fraction_of_half_width, 0.25, 1e-15, 0);
  assert_int_equal(cf_discount_apply(ctx, "ar-tool14", 60, 15, 9, CF_SIDE_BASELINE, &d), CF_OK);
  assert_close(d.discounted, 62.25, 1e-15, 0);
  cf_ctx_destroy(ctx);
}

typedef struct {
  const char *policy;
  double u, deduction, fraction;
} boundary_case;

/* Each policy at the band edges, stock 100 (so half-width = U):
 * AR-TOOL14 v04.2 Appendix 2 bands include their upper limits (10, 15, 20,
 * 30 %) and take 0 / 25 / 50 / 75 / 100 % of the half-width; VM0047
 * deducts 100 x min(1, (U - 10)/100) and everything above U = 100 %;
 * GS 403 deducts 100 x (U - 20)/100, with the methodology's own example
 * 100 at 23 % -> 97. Products of short binary fractions: 1e-15. */
static void discount_policies_at_boundaries(void **state) {
  (void)state;
  const boundary_case cases[] = {
      {"none", 35, 0, 0},
      {"ar-tool14", 10, 0, 0},
      {"ar-tool14", 10.5, 0.25 * 10.5, 0.25},
      {"ar-tool14", 15, 3.75, 0.25},
      {"ar-tool14", 15.5, 0.5 * 15.5, 0.5},
      {"ar-tool14", 20, 10, 0.5},
      {"ar-tool14", 20.5, 0.75 * 20.5, 0.75},
      {"ar-tool14", 30, 22.5, 0.75},
      {"ar-tool14", 30.5, 30.5, 1.0},
      {"vm0047", 10, 0, 0},
      {"vm0047", 20, 10, 0.5},
      {"vm0047", 30, 20, 2.0 / 3},
      {"vm0047", 100, 90, 0.9},
      {"vm0047", 100.5, 100, 100 / 100.5},
      {"gs403", 10, 0, 0},
      {"gs403", 20, 0, 0},
      {"gs403", 23, 3, 3 / 23.0},
      {"gs403", 30, 10, 1.0 / 3},
  };
  cf_ctx *ctx = cf_test_ctx();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const boundary_case *c = &cases[i];
    cf_discount_result d;
    assert_int_equal(cf_discount_apply(ctx, c->policy, 100, c->u, c->u, CF_SIDE_PROJECT, &d), CF_OK);
    assert_close(d.deduction, c->deduction, 1e-15, 0);
    assert_close(d.discounted, 100 - c->deduction, 1e-15, 0);
    assert_close(d.fraction_of_half_width, c->fraction, 1e-15, 0);
    assert_int_equal(cf_discount_apply(ctx, c->policy, 100, c->u, c->u, CF_SIDE_BASELINE, &d), CF_OK);
    assert_close(d.discounted, 100 + c->deduction, 1e-15, 0);
  }
  cf_ctx_destroy(ctx);
}

static void discount_table_and_errors(void **state) {
  (void)state;
  const char *want[] = {"none", "ar-tool14", "vm0047", "gs403"};
  for (int i = 0; i < 4; i++) {
    const cf_discount_policy *p = cf_discount_policy_at(i);
    assert_non_null(p);
    assert_string_equal(p->name, want[i]);
    assert_true(strlen(p->source) > 0);
    assert_ptr_equal(cf_discount_policy_find(want[i]), p);
  }
  assert_null(cf_discount_policy_at(4));
  cf_ctx *ctx = cf_test_ctx();
  cf_discount_result d;
  assert_int_equal(cf_discount_apply(ctx, "vcs", 100, 15, 15, CF_SIDE_PROJECT, &d), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "known: none, ar-tool14, vm0047, gs403"));
  cf_error_clear(ctx);
  /* a half-width per hectare against a total stock is caught */
  assert_int_equal(cf_discount_apply(ctx, "ar-tool14", 6000, 15, 9, CF_SIDE_PROJECT, &d), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "half_width"));
  cf_error_clear(ctx);
  assert_int_equal(cf_discount_apply(ctx, "ar-tool14", 60, NAN, 9, CF_SIDE_PROJECT, &d), CF_EINVAL);
  cf_error_clear(ctx);
  cf_discount_side side;
  assert_int_equal(cf_discount_side_parse(ctx, "baseline", &side), CF_OK);
  assert_int_equal(side, CF_SIDE_BASELINE);
  assert_int_equal(cf_discount_side_parse(ctx, "both", &side), CF_EINVAL);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_quantiles_match_printed_tables),
      cmocka_unit_test(t_matches_closed_forms_df1_df2),
      cmocka_unit_test(t_matches_closed_form_df4),
      cmocka_unit_test(t_symmetry_round_trip_and_limit),
      cmocka_unit_test(t_rejects_bad_arguments),
      cmocka_unit_test(stratified_two_strata_by_hand),
      cmocka_unit_test(ar_tool14_worked_example),
      cmocka_unit_test(stratified_errors_name_the_culprit),
      cmocka_unit_test(ar_tool14_discount_example),
      cmocka_unit_test(discount_policies_at_boundaries),
      cmocka_unit_test(discount_table_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
