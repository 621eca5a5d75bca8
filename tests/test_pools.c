/*
 * Per-hectare pool arithmetic (sink/pools.h): below-ground biomass, carbon,
 * dead wood and litter, soil carbon, excluded pools and project totals.
 *
 * Expected values are computed here from the documents' equations by a
 * different route (powers instead of exp/log, hand arithmetic), never by
 * calling the code under test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "sink/pools.h"

/* AR-TOOL14: R(b) = exp(-1.085 + 0.9256 ln b) / b = e^-1.085 b^-0.0744.
 * At b = 100: 0.23987803751240178 (Python, math.exp/log); the pow route
 * agrees to a few ulps, hence 1e-14. */
static void root_shoot_ar_tool14_analytic(void **state) {
  (void)state;
  const double bs[] = {1, 10, 100, 250.5};
  for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++)
    assert_close(cf_root_shoot_ar_tool14(bs[i]), exp(-1.085) * pow(bs[i], -0.0744), 1e-14, 0);
  assert_close(cf_root_shoot_ar_tool14(100), 0.23987803751240178, 1e-14, 0);
  assert_true(isnan(cf_root_shoot_ar_tool14(0)));

  cf_ctx *ctx = cf_test_ctx();
  double bgb, r;
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_AR_TOOL14, 100, NAN, &bgb, &r), CF_OK);
  assert_close(bgb, 100 * 0.23987803751240178, 1e-14, 0);
  assert_close(r, 0.23987803751240178, 1e-14, 0);
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_FIXED, 80, 0.25, &bgb, &r), CF_OK);
  assert_close(bgb, 20, 0, 0);
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_TABLE, 80, 0.37, &bgb, NULL), CF_OK);
  assert_close(bgb, 80 * 0.37, 1e-15, 0);
  /* no biomass, no roots, in every mode (R itself is undefined at 0) */
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_AR_TOOL14, 0, NAN, &bgb, &r), CF_OK);
  assert_close(bgb, 0, 0, 0);
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_AR_TOOL14, -1, NAN, &bgb, &r), CF_EINVAL);
  cf_error_clear(ctx);
  assert_int_equal(cf_bgb(ctx, CF_ROOT_SHOOT_FIXED, 10, NAN, &bgb, &r), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "root_shoot"));
  cf_ctx_destroy(ctx);
}

/* 100 t d.m. x 0.47 = 47 t C; x 44/12 = 172.333... t CO2e. */
static void carbon_and_co2e(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double c;
  assert_int_equal(cf_biomass_to_carbon(ctx, 100, 0.47, &c), CF_OK);
  assert_close(c, 47, 1e-15, 0);
  assert_close(cf_carbon_to_co2e(47), 47.0 * 44 / 12, 1e-15, 0);
  assert_close(cf_carbon_to_co2e(12), 44, 1e-15, 0);
  assert_int_equal(cf_biomass_to_carbon(ctx, 100, 1.2, &c), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "carbon_fraction"));
  cf_ctx_destroy(ctx);
}

/* AR-TOOL16 by hand:
 *  SOC_REF 60, f = 0.5, 1, 1: initial 30, (60 - 30)/20 = 1.5 -> capped 0.8;
 *    after 5 years 4.0, after 25 years 0.8 x 20 = 16.
 *  SOC_REF 60, f_LU 0.8: initial 48, rate 0.6 (not capped), 10 years: 6.
 *  initial above the reference (f = 1.1 x 1 x 1): no increase. */
static void soc_ar_tool16(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_soc_result r;
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 0.5, 1, 1, 5, &r), CF_OK);
  assert_close(r.soc_initial, 30, 1e-15, 0);
  assert_close(r.rate, 0.8, 0, 0);
  assert_int_equal(r.capped, 1);
  assert_close(r.accrued, 4.0, 1e-15, 0);
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 0.5, 1, 1, 25, &r), CF_OK);
  assert_close(r.years_counted, 20, 0, 0);
  assert_close(r.accrued, 16, 1e-15, 0);
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 0.8, 1, 1, 10, &r), CF_OK);
  assert_close(r.soc_initial, 48, 1e-15, 0);
  assert_close(r.rate, 0.6, 1e-14, 0);
  assert_int_equal(r.capped, 0);
  assert_close(r.accrued, 6, 1e-14, 0);
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 1.1, 1, 1, 10, &r), CF_OK);
  assert_close(r.rate, 0, 0, 0);
  assert_close(r.accrued, 0, 0, 0);
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 1, 0, 1, 10, &r), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "f_mg"));
  cf_error_clear(ctx);
  assert_int_equal(cf_soc_ar_tool16(ctx, 60, 1, 1, 1, -1, &r), CF_EINVAL);
  cf_ctx_destroy(ctx);
}

/* An excluded pool has no value: cf_pool_get refuses it, cf_pools_sum skips
 * it even when garbage sits in its value field, and it is listed. */
static void excluded_pool_is_never_zero(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_pools p;
  cf_pools_init_excluded(&p, "not in pools");
  p.pool[CF_POOL_AGB] = cf_pool_estimated(10);
  p.pool[CF_POOL_BGB] = cf_pool_estimated(2);
  p.pool[CF_POOL_SOC] = cf_pool_excluded("no soil data");
  p.pool[CF_POOL_LITTER].value = 1e9; /* must not leak into the total */
  assert_true(isnan(p.pool[CF_POOL_DEADWOOD].value));
  double v = -1, sum;
  unsigned ex;
  assert_int_equal(cf_pool_get(ctx, &p, CF_POOL_SOC, &v), CF_EINVAL);
  assert_close(v, -1, 0, 0); /* untouched */
  assert_non_null(strstr(cf_error_message(ctx), "soc is not estimated (no soil data)"));
  cf_error_clear(ctx);
  assert_int_equal(cf_pool_get(ctx, &p, CF_POOL_AGB, &v), CF_OK);
  assert_close(v, 10, 0, 0);
  assert_int_equal(cf_pools_sum(ctx, &p, &sum, &ex), CF_OK);
  assert_close(sum, 12, 0, 0);
  assert_int_equal(ex, CF_POOL_BIT(CF_POOL_DEADWOOD) | CF_POOL_BIT(CF_POOL_LITTER) |
                           CF_POOL_BIT(CF_POOL_SOC));
  assert_string_equal(p.pool[CF_POOL_SOC].reason, "no soil data");
  /* an "estimated" pool without a value is an error, not a zero */
  p.pool[CF_POOL_BGB] = cf_pool_estimated(NAN);
  assert_int_equal(cf_pools_sum(ctx, &p, &sum, &ex), CF_EDATA);
  cf_error_clear(ctx);
  /* names round-trip */
  cf_pool_id id;
  assert_int_equal(cf_pool_parse(ctx, "deadwood", &id), CF_OK);
  assert_int_equal(id, CF_POOL_DEADWOOD);
  assert_string_equal(cf_pool_name(CF_POOL_SOC), "soc");
  assert_int_equal(cf_pool_parse(ctx, "roots", &id), CF_EINVAL);
  cf_ctx_destroy(ctx);
}

/* Two strata by hand (t C/ha):
 *  A 60 ha: agb 40, bgb 10, soc 2;  B 40 ha: agb 20, bgb 5, soc 1;
 *  dead wood and litter excluded.
 *  trees: 60 x 50 + 40 x 25 = 4000 t C = 14666.67 t CO2e; soc 160 t C.
 *  total 4160 t C = 15253.33 t CO2e. At U = 15 % (AR-TOOL14's 10-15 % band)
 *  the tree pools' half-width is 2200 t CO2e; a quarter of it (550) is
 *  deducted. */
static void project_totals_with_discount(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_pools s[2];
  for (int h = 0; h < 2; h++) cf_pools_init_excluded(&s[h], "not in pools");
  s[0].pool[CF_POOL_AGB] = cf_pool_estimated(40);
  s[0].pool[CF_POOL_BGB] = cf_pool_estimated(10);
  s[0].pool[CF_POOL_SOC] = cf_pool_estimated(2);
  s[1].pool[CF_POOL_AGB] = cf_pool_estimated(20);
  s[1].pool[CF_POOL_BGB] = cf_pool_estimated(5);
  s[1].pool[CF_POOL_SOC] = cf_pool_estimated(1);
  const double area[] = {60, 40};
  const double k = 44.0 / 12.0;
  cf_project_totals t;
  assert_int_equal(cf_project_totals_compute(ctx, 2, s, area, "ar-tool14", CF_SIDE_PROJECT,
                                             CF_POOLS_TREES, 15, &t),
                   CF_OK);
  /* a few products and sums: 1e-14 relative */
  assert_close(t.area_ha, 100, 0, 0);
  assert_close(t.t_co2e.pool[CF_POOL_AGB].value, 3200 * k, 1e-14, 0);
  assert_close(t.t_co2e.pool[CF_POOL_BGB].value, 800 * k, 1e-14, 0);
  assert_close(t.t_co2e.pool[CF_POOL_SOC].value, 160 * k, 1e-14, 0);
  assert_int_equal(t.t_co2e.pool[CF_POOL_DEADWOOD].estimated, 0);
  assert_true(isnan(t.t_co2e.pool[CF_POOL_DEADWOOD].value));
  assert_string_equal(t.t_co2e.pool[CF_POOL_LITTER].reason, "not in pools");
  assert_int_equal(t.excluded, CF_POOL_BIT(CF_POOL_DEADWOOD) | CF_POOL_BIT(CF_POOL_LITTER));
  assert_close(t.total_t_co2e, 4160 * k, 1e-14, 0);
  assert_close(t.discount_base_t_co2e, 4000 * k, 1e-14, 0);
  assert_close(t.half_width_t_co2e, 600 * k, 1e-14, 0);
  assert_close(t.discount.deduction, 150 * k, 1e-14, 0);
  assert_close(t.discount.fraction_of_half_width, 0.25, 1e-14, 0);
  assert_close(t.total_discounted_t_co2e, 4010 * k, 1e-14, 0);
  assert_string_equal(t.policy, "ar-tool14");

  assert_int_equal(cf_project_totals_compute(ctx, 2, s, area, "ar-tool14", CF_SIDE_BASELINE,
                                             CF_POOLS_TREES, 15, &t),
                   CF_OK);
  assert_close(t.total_discounted_t_co2e, 4310 * k, 1e-14, 0);
  /* no discount: the two totals agree, U need not be known */
  assert_int_equal(cf_project_totals_compute(ctx, 2, s, area, "none", CF_SIDE_PROJECT,
                                             CF_POOLS_TREES, NAN, &t),
                   CF_OK);
  assert_close(t.total_discounted_t_co2e, t.total_t_co2e, 0, 0);
  /* a pool estimated in one stratum only is refused */
  s[1].pool[CF_POOL_LITTER] = cf_pool_estimated(0.3);
  assert_int_equal(cf_project_totals_compute(ctx, 2, s, area, "none", CF_SIDE_PROJECT,
                                             CF_POOLS_TREES, 0, &t),
                   CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "litter"));
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(root_shoot_ar_tool14_analytic),
      cmocka_unit_test(carbon_and_co2e),
      cmocka_unit_test(soc_ar_tool16),
      cmocka_unit_test(excluded_pool_is_never_zero),
      cmocka_unit_test(project_totals_with_discount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
