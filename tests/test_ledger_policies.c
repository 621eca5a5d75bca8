/*
 * The issuance ledger's other policies against arithmetic done by hand:
 * Verra VM0047 (UNC_t, the buffer floor, vintages, census mortality), China
 * CCER 14-001 (the pools it credits, its output file), Gold Standard (crown
 * cover, the cap) and remeasured permanent plots. The CDM AR-ACM0003 cases
 * and the reading of reports are tests/test_ledger.c; the two share the
 * report writer of tests/ledger_fixture.c.
 *
 * Every expected value is written out in the comment above its check and
 * was computed from the inputs with a calculator, not by the code under
 * test. Tolerances: results that are a few products and one square root
 * of the inputs are checked to 1e-12 relative (the arithmetic in double
 * loses a few ulps; the hand figures are given to 10+ digits); figures
 * quoted to fewer digits (a methodology's printed example) to half a unit
 * of their last digit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/json.h"
#include "ledger_fixture.h"
#include "sink/issuance/mortality.h"
#include "sink/issuance/ledger.h"

/* VM0047: UNC_t and the 12 % buffer floor.
 *   event 1 2019-01-15: 8000 + 2000 = 10000, U 8 %; event 2 2023-06-15:
 *   12000 + 3000 = 15000, U 9 %. Period 4 years 5 months = 4 + 5/12 =
 *   4.41667 years. dC = 5000; half-width sqrt(800^2 + 1350^2) =
 *   1569.2354826475; U = 31.384709653 %; UNC = U - 10 % = 21.384709653 %;
 *   deduction 5000 x 0.21384709653 = 1069.2354826475; net 3930.7645173525.
 *   risk_rating_pct=10 is below the floor: buffer 12 % x 3930.7645173525 =
 *   471.6917420823; issuable 3459.0727752702, 3459 whole units.
 *   risk_rating_pct=15: buffer 589.6146776029, issuable 3341.1498397496. */
static void test_vm0047_unc_and_buffer(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 8);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){12000, 3000, NA, NA, NA}, 9);
  const char *dates[2] = {"2019-01-15", "2023-06-15"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[2] = {"policy=vm0047", "risk_rating_pct=10"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 2, &in, &l), CF_OK);
  const cf_ledger_period *p = &l.periods[0];
  assert_close(p->c.years, 4.41666666666667, 1e-14, 0);
  assert_close(p->c.annual_change, 5000 / (4 + 5 / 12.0), 1e-14, 0);
  assert_close(p->c.u_pct, 31.384709653, 1e-10, 0);
  assert_close(p->deduction, 1069.2354826475, 1e-12, 0);
  assert_close(p->net, 3930.7645173525, 1e-12, 0);
  assert_close(p->buffer_pct, 12, 0, 0);
  assert_close(p->buffer, 471.6917420823, 1e-12, 0);
  assert_close(p->issuable, 3459.0727752702, 1e-12, 0);
  assert_int_equal(p->units, 3459);
  /* vintages: 2019 holds (2020 - (2019 + 14/365.25)) / 4.41667 = 0.21773662 of
   * the period (t of change.h), 2020-2022 a full year each (1/4.41667 =
   * 0.22641509), 2023 the rest; they sum to the period's issuable */
  assert_int_equal(p->n_vintages, 5);
  assert_close(p->vintages[0].share, (1 - 14 / 365.25) / (4 + 5 / 12.0), 1e-12, 0);
  assert_close(p->vintages[1].share, 1 / (4 + 5 / 12.0), 1e-12, 0);
  double sum = 0;
  for (int v = 0; v < 5; v++) sum += p->vintages[v].issuable;
  assert_close(sum, p->issuable, 1e-15, 0);
  /* whole units by vintage, the cumulative floor within the period (first
   * period: nothing before): issuable per vintage 753.1668, 783.1863 x 3,
   * 356.3471; running sums 753.17, 1536.35, 2319.54, 3102.73, 3459.07;
   * floors 753, 1536, 2319, 3102, 3459: units 753, 783, 783, 783, 357,
   * which sum to the period's 3459 */
  const long long vu[5] = {753, 783, 783, 783, 357};
  for (int v = 0; v < 5; v++) assert_int_equal(p->vintages[v].units, vu[v]);
  cf_ledger_free(&l);
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, "risk_rating_pct=15"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  assert_close(l.periods[0].buffer, 589.6146776029, 1e-12, 0);
  assert_close(l.periods[0].issuable, 3341.1498397496, 1e-12, 0);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  /* no rating: VM0047 needs one */
  const char *kv2[1] = {"policy=vm0047"};
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv2, 1, &in, &l), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "risk_rating_pct"));
  cf_error_clear(ctx);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* CCER-14-001: dead wood, litter and SOC are in both reports and left out.
 *   event 1: agb 8000, bgb 2000, deadwood 500, litter 300, soc 4000; U 5 %
 *   event 2: agb 12000, bgb 3000, deadwood 800, litter 450, soc 4300; U 6 %
 * Counted: agb + bgb only: 10000 -> 15000, dC = 5000 (all pools would give
 * 16800 -> 20550, dC = 3750 + 5000 = ... not this). Half-width
 * sqrt((0.05 x 10000)^2 + (0.06 x 15000)^2) = sqrt(500^2 + 900^2) =
 * 1029.5630140987; U = 20.591260282 % -> band 20-30 %: 75 % =
 * 772.1722605740; net (leakage 0, no buffer) 4227.8277394260. */
static void test_ccer_excludes_dead_wood_litter_soc(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, 500, 300, 4000}, 5);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){12000, 3000, 800, 450, 4300}, 6);
  const char *dates[2] = {"2019-01-15", "2023-06-15"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[1] = {"policy=ccer-14-001"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 1, &in, &l), CF_OK);
  const cf_ledger_period *p = &l.periods[0];
  assert_int_equal(p->c.counted, CF_POOLS_TREES);
  assert_int_equal(p->c.excluded, CF_POOL_BIT(CF_POOL_DEADWOOD) | CF_POOL_BIT(CF_POOL_LITTER) | CF_POOL_BIT(CF_POOL_SOC));
  assert_close(p->c.stock1, 10000, 1e-12, 0);
  assert_close(p->c.stock2, 15000, 1e-12, 0);
  assert_close(p->c.pool_change[CF_POOL_SOC], 300, 1e-12, 0); /* kept, shown, not counted */
  assert_close(p->c.half_width, 1029.5630140987, 1e-12, 0);
  assert_close(p->deduction, 772.1722605740, 1e-12, 0);
  assert_close(p->net, 4227.8277394260, 1e-12, 0);
  assert_close(p->issuable, 4227.8277394260, 1e-12, 0);
  /* the JSON says so */
  char *out = strdup(cf_test_path(dir, "ledger.json"));
  assert_int_equal(cf_ledger_write(ctx, &in, &l, out), CF_OK);
  assert_true(cf_test_file_contains(out, "\"pools_excluded_by_policy\":[\"deadwood\",\"litter\",\"soc\"]"));
  assert_true(cf_test_file_contains(cf_test_path(dir, "ledger.csv"), "4227.82773942"));
  /* the CSV's provenance: every row names the JSON beside it by the
   * SHA-256 Python's hashlib computes of its bytes, and the version the
   * JSON records; Python's csv module reads the header from line one */
  char py[4000];
  snprintf(py, sizeof py,
           "/usr/bin/python3 -c 'import csv, hashlib, json, sys\n"
           "h = hashlib.sha256(open(sys.argv[1], \"rb\").read()).hexdigest()\n"
           "v = json.load(open(sys.argv[1]))[\"software\"][\"version\"]\n"
           "rows = list(csv.DictReader(open(sys.argv[2], newline=\"\")))\n"
           "assert rows and rows[0][\"period\"] == \"1\", rows\n"
           "assert all(r[\"json_sha256\"] == h and r[\"carbonflux_version\"] == v for r in rows), (h, v, rows)\n"
           "' '%s' '%s'",
           out, cf_test_path(dir, "ledger.csv"));
  assert_int_equal(system(py), 0);
  cf_json *doc = NULL;
  assert_int_equal(cf_json_load_file(ctx, out, &doc), CF_OK); /* our own reader reads it back */
  assert_string_equal(cf_json_get(doc, "schema")->string, "carbonflux-ledger/1");
  cf_json_free(doc);
  free(out);
  cf_ledger_free(&l);
  /* leakage is zero by the policy: a fraction is refused, naming it */
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, "leakage_fraction=0.1"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "leakage_fraction"));
  cf_error_clear(ctx);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* Gold Standard with the AR-TOOL14 crown-cover baseline and a long-term
 * average cap (a harvested project).
 *   events 2019-01-15 and 2023-06-15 (4 + 5/12 years): 10000 -> 15000 t CO2e,
 *   U 1 % each: half-width sqrt(100^2 + 150^2) = 180.2776, U = 3.6056 % <= 20 %:
 *   no deduction. Baseline trees on the project's 100 ha: b_FOREST 100 t d.m./ha,
 *   crown cover 0.10 rising 0.02 a year: dCC = 0.02 x 4.416667 = 0.0883333;
 *   dC_BSL = 44/12 x 0.47 x (1 + 0.25) x 100 x 100 x 0.0883333 = 1902.8472222.
 *   net = 5000 - 1902.8472222 = 3097.1527778; the long-term average 2500 caps
 *   it: level 2500, capped 597.1527778, credited 2500, buffer 20 % = 500,
 *   issuable 2000. */
static void test_gold_standard_crown_cover_and_cap(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 1);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){12000, 3000, NA, NA, NA}, 1);
  const char *dates[2] = {"2019-01-15", "2023-06-15"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[6] = {"policy=gold-standard", "baseline=crown-cover", "baseline_b_forest=100", "baseline_cc=0.1",
                       "baseline_cc_rate=0.02", "long_term_average_t_co2e=2500"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 6, &in, &l), CF_OK);
  const cf_ledger_period *p = &l.periods[0];
  assert_close(p->c.u_pct, 3.6055512755, 1e-10, 0);
  assert_close(p->deduction, 0, 0, 0);
  assert_close(p->baseline, 1902.8472222222, 1e-12, 0);
  assert_close(p->net, 3097.1527777778, 1e-12, 0);
  assert_close(p->level, 2500, 0, 0);
  assert_close(p->capped, 597.1527777778, 1e-11, 0);
  assert_close(p->buffer, 500, 1e-12, 0);
  assert_close(p->issuable, 2000, 1e-12, 0);
  int r = 0;
  for (int i = 0; i < l.n_params; i++) r |= !strcmp(l.params[i].name, "baseline_root_shoot") && l.params[i].value == 0.25;
  assert_true(r); /* R = 0.25 is listed with its source */
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* VM0047 census mortality: M = 0.20, n = 50: sqrt(0.2 x 0.8 / 49) / 0.8 =
 * 0.0714286; x T(49) = 1.6766 -> 0.11975 (the quoted figure; 0.5e-5 is
 * half its last digit). T(49) itself: 1.6766 to its 4 decimals. */
static void test_vm0047_mortality_uncertainty(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  double u, t;
  assert_int_equal(cf_census_mortality_uncertainty(ctx, 0.20, 50, &u, &t), CF_OK);
  assert_close(t, 1.6766, 0, 0.5e-4);
  assert_close(u, 0.11975, 0, 0.5e-5);
  assert_int_equal(cf_census_mortality_uncertainty(ctx, 1.0, 50, &u, &t), CF_EINVAL);
  cf_error_clear(ctx);
  cf_ctx_destroy(ctx);
}

/* Remeasured permanent plots: the estimator on per-plot differences.
 * Stratum A (60 ha): plots a1..a3 grow 10, 12, 14 t d.m./ha; B (40 ha):
 * b1..b3 grow 5, 7, 9. Means 12 and 7, both s = 2, s^2/n = 4/3. Mean
 * difference 0.6 x 12 + 0.4 x 7 = 10; SE = sqrt((0.36 + 0.16) x 4/3) =
 * sqrt(0.693333) = 0.8326664; df = 6 - 2 = 4, t(0.95, 4) = 2.1318468 (tables:
 * 2.132); half-width 1.7751178, U = 17.751178 % of the change.
 * The reports agree with their plots (stocks_read.c checks the pools
 * against the strata): tree biomass means A 50 -> 62, B 35 -> 42 t d.m./ha,
 * CF 0.47 and R = 0.25 (agb = 0.8 x biomass, bgb = 0.2 x biomass), so the
 * stocks are 0.47 x (50 x 60 + 35 x 40) x 44/12 = 7582.6666667 -> 0.47 x
 * (62 x 60 + 42 x 40) x 44/12 = 9306 t CO2e: dC = 1723.3333333 (= the mean
 * difference 10 x 100 ha x 0.47 x 44/12); half-width 0.177511719 x
 * 1723.3333333 = 305.91186. */
static void test_permanent_plots(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  const double b1[6] = {40, 50, 60, 30, 35, 40}, d[6] = {10, 12, 14, 5, 7, 9};
  for (int e = 0; e < 2; e++) {
    /* tree biomass means per stratum at this event, and the pools they give */
    double mA = e ? 62 : 50, mB = e ? 42 : 35, c = 0.47, q = 44.0 / 12.0;
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"schema\":\"carbonflux-stocks/1\",\"confidence\":0.9,\"strata\":["
                                "{\"stratum\":\"A\",\"area_ha\":60,\"n_plots\":3,\"biomass_mean_t_dm_per_ha\":%.17g,"
                                "\"biomass_se_t_dm_per_ha\":5,\"pools_t_c_per_ha\":{\"agb\":%.17g,\"bgb\":%.17g,\"deadwood\":null,"
                                "\"litter\":null,\"soc\":null}},"
                                "{\"stratum\":\"B\",\"area_ha\":40,\"n_plots\":3,\"biomass_mean_t_dm_per_ha\":%.17g,"
                                "\"biomass_se_t_dm_per_ha\":3,\"pools_t_c_per_ha\":{\"agb\":%.17g,\"bgb\":%.17g,\"deadwood\":null,"
                                "\"litter\":null,\"soc\":null}}],"
                                "\"project\":{\"area_ha\":100,\"uncertainty_pct\":7,\"pools_t_co2e\":{\"agb\":%.17g,\"bgb\":%.17g,"
                                "\"deadwood\":null,\"litter\":null,\"soc\":null},\"total_t_co2e\":%.17g,"
                                "\"total_discounted_t_co2e\":%.17g},\"plots\":[",
                                mA, 0.8 * c * mA, 0.2 * c * mA, mB, 0.8 * c * mB, 0.2 * c * mB,
                                0.8 * c * (60 * mA + 40 * mB) * q, 0.2 * c * (60 * mA + 40 * mB) * q,
                                c * (60 * mA + 40 * mB) * q, c * (60 * mA + 40 * mB) * q);
    for (int i = 0; i < 6; i++)
      n += (size_t)snprintf(text + n, sizeof text - n, "%s{\"plot\":\"%c%d\",\"stratum\":\"%c\",\"biomass_t_dm_per_ha\":%g}",
                            i ? "," : "", i < 3 ? 'a' : 'b', i % 3 + 1, i < 3 ? 'A' : 'B', b1[i] + (e ? d[i] : 0));
    snprintf(text + n, sizeof text - n, "]}");
    cf_test_write_text(cf_test_path(dir, e ? "e2.json" : "e1.json"), text);
  }
  const char *dates[2] = {"2020-01-01", "2025-01-01"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[2] = {"policy=gold-standard", "design=permanent"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 2, &in, &l), CF_OK);
  const cf_period_change *c = &l.periods[0].c;
  assert_int_equal(c->n_pairs, 6);
  assert_int_equal(c->df, 4);
  assert_close(c->mean_diff, 10, 1e-14, 0);
  assert_close(c->se_diff, 0.8326664, 1e-7, 0);
  assert_close(c->t_value, 2.1318468, 1e-7, 0);
  assert_close(c->change, 1723.3333333333, 1e-12, 0);
  assert_close(c->half_width, 305.91186, 1e-6, 0);
  /* gold standard: U 17.75 % <= 20 %: nothing deducted; buffer 20 % of 1723.3333333 */
  assert_close(l.periods[0].deduction, 0, 0, 0);
  assert_close(l.periods[0].buffer, 344.6666666667, 1e-12, 0);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vm0047_unc_and_buffer),
      cmocka_unit_test(test_ccer_excludes_dead_wood_litter_soc),
      cmocka_unit_test(test_gold_standard_crown_cover_and_cap),
      cmocka_unit_test(test_vm0047_mortality_uncertainty),
      cmocka_unit_test(test_permanent_plots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
