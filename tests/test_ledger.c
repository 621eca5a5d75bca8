/*
 * The issuance ledger (sink/issuance/) against arithmetic done by hand.
 *
 * Every expected value is written out in the comment above its check and
 * was computed from the inputs with a calculator, not by the code under
 * test. Tolerances: results that are a few products and one square root
 * of the inputs are checked to 1e-12 relative (the arithmetic in double
 * loses a few ulps; the hand figures are given to 10+ digits); figures
 * quoted to fewer digits (a methodology's printed example) to half a unit
 * of their last digit.
 *
 * The stock reports are written here as JSON text (the contract's names,
 * see ../shared/spec/forest-io.md), one stratum "A" of 100 ha unless said
 * otherwise; and once by /usr/bin/python3 json.dump, in another key
 * order, with non-ASCII names and numbers written as 1e2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "sink/issuance/ledger.h"
#include "sink/issuance/mortality.h"

/* A report with project pools in t CO2e (NaN = null: not estimated) and
 * U% at 90 %, over strata named in `strata` (comma-separated, equal
 * areas summing to 100 ha), schema `schema`. */
static void write_report_ex(const char *path, const double pools[5], double u90, const char *strata, const char *schema) {
  static const char *const names[5] = {"agb", "bgb", "deadwood", "litter", "soc"};
  char text[8192], pj[512] = "", names_buf[256];
  size_t n = 0;
  int ns = 1;
  for (const char *c = strata; *c; c++) ns += *c == ',';
  double total = 0;
  for (int k = 0; k < 5; k++) {
    char v[64];
    if (isnan(pools[k])) snprintf(v, sizeof v, "null");
    else snprintf(v, sizeof v, "%.17g", pools[k]), total += pools[k];
    snprintf(pj + strlen(pj), sizeof pj - strlen(pj), "%s\"%s\":%s", k ? "," : "", names[k], v);
  }
  n += (size_t)snprintf(text + n, sizeof text - n, "{\"schema\":\"%s\",\"confidence\":0.9,\"strata\":[", schema);
  snprintf(names_buf, sizeof names_buf, "%s", strata);
  int h = 0;
  for (char *tok = strtok(names_buf, ","); tok; tok = strtok(NULL, ","), h++) {
    double area = 100.0 / ns;
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "%s{\"stratum\":\"%s\",\"area_ha\":%.17g,\"n_plots\":5,\"biomass_mean_t_dm_per_ha\":50,"
                          "\"biomass_se_t_dm_per_ha\":2,\"pools_t_c_per_ha\":{",
                          h ? "," : "", tok, area);
    for (int k = 0; k < 5; k++) {
      char v[64];
      if (isnan(pools[k])) snprintf(v, sizeof v, "null");
      else snprintf(v, sizeof v, "%.17g", pools[k] * 12.0 / 44.0 / 100.0);
      n += (size_t)snprintf(text + n, sizeof text - n, "%s\"%s\":%s", k ? "," : "", names[k], v);
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "}}");
  }
  char u[64]; /* NaN: null, as the writer gives it for a mean of 0 */
  if (isnan(u90)) snprintf(u, sizeof u, "null");
  else snprintf(u, sizeof u, "%.17g", u90);
  snprintf(text + n, sizeof text - n,
           "],\"project\":{\"area_ha\":100,\"df\":9,\"uncertainty_pct\":%s,\"pools_t_co2e\":{%s,\"total\":%.17g},"
           "\"discount\":{\"uncertainty_pct_90\":%s},\"total_t_co2e\":%.17g,\"total_discounted_t_co2e\":%.17g}}\n",
           u, pj, total, u, total, total);
  cf_test_write_text(path, text);
}

static void write_report(const char *path, const double pools[5], double u90) {
  write_report_ex(path, pools, u90, "A", "carbonflux-stocks/1");
}

/* Inputs of `n` events (date, file) and settings, computed. */
static int ledger_of(cf_ctx *ctx, const char *dir, int n, const char *const *dates, const char *const *files,
                     const char *const *kv, int nkv, cf_ledger_inputs *in, cf_ledger *l) {
  cf_ledger_inputs_init(in);
  for (int k = 0; k < n; k++) assert_int_equal(cf_ledger_add_event(ctx, in, dates[k], cf_test_path(dir, files[k])), CF_OK);
  for (int k = 0; k < nkv; k++) assert_int_equal(cf_ledger_inputs_set(ctx, in, kv[k]), CF_OK);
  return cf_ledger_compute(ctx, in, l);
}

#define NA NAN

/* CDM AR-ACM0003, lCER and tCER, three events, the second period a fire.
 *   event 1 2015-01-01: agb 8000 + bgb 2000 = 10000 t CO2e, U 8 %
 *   event 2 2019-01-01: 14000 + 3500 = 17500, U 6 %
 *   event 3 2021-07-01: 11000 + 2750 = 13750, U 9 %
 * baseline=rate 100 t CO2e/yr, leakage_fraction 0.05, emission 50 t in period 1.
 * Period 1 (4 years): dC = 7500; half-width = sqrt((0.08 x 10000)^2 +
 *   (0.06 x 17500)^2) = sqrt(800^2 + 1050^2) = sqrt(1742500) = 1320.0378782444;
 *   U = 1320.0378782444 / 7500 = 17.600505043 % -> AR-TOOL14 band 15-20 %:
 *   50 % of the half-width = 660.0189391222; adjusted 6839.9810608778;
 *   baseline 100 x 4 = 400; leakage 0.05 x (6839.9810608778 - 400) =
 *   321.9990530439; net = 6839.9810608778 - 400 - 50 - 321.9990530439 =
 *   6067.9820078339 = credited = lCER; tCER = 6067.9820078339.
 * Period 2 (2.5 years): dC = 13750 - 17500 = -3750; half-width =
 *   sqrt(1050^2 + (0.09 x 13750)^2) = sqrt(1102500 + 1531406.25) =
 *   1622.9313756287; U = 43.278 % > 30 % -> all of it deducted (a loss is
 *   deepened): adjusted -5372.9313756287; baseline 250; leakage 0 (no
 *   gain); net -5622.9313756287. cum_net = 6067.9820078339 - 5622.9313756287
 *   = 445.0506322052. Nothing credited; reversal = deficit = 5622.9313756287;
 *   lCERs to replace: 5622.93...
 * tCERs (the default) are the whole since event 1, taken against event 1
 * (AR-ACM0003: net removals since the project start, reissued): at event 3
 *   dC = 13750 - 10000 = 3750; half-width sqrt(800^2 + (0.09 x 13750)^2) =
 *   sqrt(640000 + 1531406.25) = 1473.5692213127; U = 39.295 % > 30 %: all
 *   of it deducted; adjusted 2276.4307786873; baseline 100 x 6.5 = 650;
 *   emissions 50; leakage 0.05 x (2276.4307786873 - 650) = 81.3215389344;
 *   net 2276.4307786873 - 650 - 50 - 81.3215389344 = 1495.1092397529 =
 *   tCERs (the chained sum of the two periods' nets, 445.05, would count
 *   event 2's error twice). The period's row holds the increments: deduction
 *   1473.5692213127 - 660.0189391222 = 813.5502821905, net 1495.1092397529
 *   - 6067.9820078339 = -4572.8727680810.
 */
static void test_cdm_two_periods_with_reversal(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 8);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){14000, 3500, NA, NA, NA}, 6);
  write_report(cf_test_path(dir, "e3.json"), (double[5]){11000, 2750, NA, NA, NA}, 9);
  const char *dates[3] = {"2015-01-01", "2019-01-01", "2021-07-01"}, *files[3] = {"e1.json", "e2.json", "e3.json"};
  const char *kv[4] = {"policy=cdm-ar-acm0003", "baseline=rate", "baseline_rate=100", "leakage_fraction=0.05"};
  cf_ledger_inputs in;
  cf_ledger l;
  cf_ledger_inputs_init(&in);
  for (int k = 0; k < 3; k++) assert_int_equal(cf_ledger_add_event(ctx, &in, dates[k], cf_test_path(dir, files[k])), CF_OK);
  for (int k = 0; k < 4; k++) assert_int_equal(cf_ledger_inputs_set(ctx, &in, kv[k]), CF_OK);
  assert_int_equal(cf_ledger_add_emission(ctx, &in, "2019-01-01=50:fertiliser N2O"), CF_OK);
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, "cdm_credit=lcer"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  assert_int_equal(l.n_periods, 2);
  const cf_ledger_period *p1 = &l.periods[0], *p2 = &l.periods[1];
  assert_close(p1->c.years, 4.0, 0, 0);
  assert_close(p1->c.change, 7500, 1e-12, 0);
  assert_close(p1->c.half_width, 1320.0378782444, 1e-12, 0);
  assert_close(p1->c.u_pct, 17.600505043, 1e-10, 0);
  assert_close(p1->deduction, 660.0189391222, 1e-12, 0);
  assert_close(p1->baseline, 400, 1e-12, 0);
  assert_close(p1->emissions, 50, 0, 0);
  assert_close(p1->leakage, 321.9990530439, 1e-12, 0);
  assert_close(p1->net, 6067.9820078339, 1e-12, 0);
  assert_close(p1->lcer, 6067.9820078339, 1e-12, 0);
  assert_close(p1->tcer, 6067.9820078339, 1e-12, 0);
  assert_close(p1->buffer, 0, 0, 0);
  assert_close(p2->c.years, 2.5, 0, 0);
  assert_close(p2->c.change, -3750, 1e-12, 0);
  assert_close(p2->c.half_width, 1622.9313756287, 1e-12, 0);
  assert_close(p2->deduction, 1622.9313756287, 1e-12, 0);
  assert_close(p2->leakage, 0, 0, 0);
  assert_close(p2->net, -5622.9313756287, 1e-12, 0);
  assert_close(p2->cum_net, 445.0506322052, 1e-10, 0);
  assert_close(p2->credited, 0, 0, 0);
  assert_close(p2->reversal, 5622.9313756287, 1e-12, 0);
  assert_close(p2->deficit, 5622.9313756287, 1e-12, 0);
  assert_close(p2->lcer_to_replace, 5622.9313756287, 1e-12, 0);
  assert_close(l.deficit, 5622.9313756287, 1e-12, 0);
  assert_close(p2->tcer, 1495.1092397529, 1e-12, 0); /* the tCER figure is the since-start one */
  /* every row names its equation */
  assert_non_null(strstr(l.policy->eq[CF_EQ_NET], "AR-ACM0003"));
  cf_ledger_free(&l);
  /* tCERs: the whole since event 1, reissued */
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, "cdm_credit=tcer"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  p1 = &l.periods[0], p2 = &l.periods[1];
  assert_close(p1->tcer, 6067.9820078339, 1e-12, 0);
  assert_close(p1->net, 6067.9820078339, 1e-12, 0);
  assert_close(p2->since_start.half_width, 1473.5692213127, 1e-12, 0);
  assert_close(p2->since_start.deduction, 1473.5692213127, 1e-12, 0);
  assert_close(p2->since_start.baseline, 650, 1e-12, 0);
  assert_close(p2->since_start.emissions, 50, 0, 0);
  assert_close(p2->since_start.leakage, 81.3215389344, 1e-10, 0);
  assert_close(p2->since_start.net, 1495.1092397529, 1e-12, 0);
  assert_close(p2->deduction, 813.5502821905, 1e-11, 0);
  assert_close(p2->net, -4572.8727680810, 1e-12, 0);
  assert_close(p2->cum_net, 1495.1092397529, 1e-12, 0);
  assert_close(p2->tcer, 1495.1092397529, 1e-12, 0);
  assert_close(p2->issuable, 1495.1092397529, 1e-12, 0);
  assert_int_equal(p2->units, 1495);
  cf_ledger_free(&l);
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, "cdm_credit=lcer"), CF_OK);
  /* lCERs: incremental; the reversal is carried, the next gain makes it good
   * first. Same events plus a fourth, 2024-07-01, at 20000 t CO2e (U 5 %):
   * dC = 6250, half-width sqrt(1237.5^2 + 1000^2) = 1591.0435..., U = 25.457 %
   * -> 75 %: 1193.2826...; adjusted 5056.7173...; baseline 300; leakage 0.05 x
   * 4756.7173... = 237.8358...; net 4518.8814... The level rises from
   * 445.0506 to 4963.9321, still below the peak 6067.9820: nothing credited,
   * the deficit shrinks to 1104.0499. */
  write_report(cf_test_path(dir, "e4.json"), (double[5]){16000, 4000, NA, NA, NA}, 5);
  assert_int_equal(cf_ledger_add_event(ctx, &in, "2024-07-01", cf_test_path(dir, "e4.json")), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  const cf_ledger_period *p3 = &l.periods[2];
  double hw3 = sqrt(1237.5 * 1237.5 + 1000.0 * 1000.0); /* 1591.0435... (written out above) */
  assert_close(p3->c.half_width, hw3, 1e-12, 0);
  assert_close(p3->deduction, 0.75 * hw3, 1e-12, 0);
  double adj = 6250 - 0.75 * hw3, net3 = adj - 300 - 0.05 * (adj - 300);
  assert_close(p3->net, net3, 1e-12, 0);
  assert_close(p3->credited, 0, 0, 0);
  assert_close(p3->deficit, 6067.9820078339 - (445.0506322052 + net3), 1e-9, 0);
  assert_close(l.total_issuable, 6067.9820078339, 1e-12, 0); /* the lCERs of period 1 only */
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* tCERs do not depend on how many verifications were made (the
 * reviewer's case): 1250 -> 10000 -> 20000 t CO2e, U 8 % at each event,
 * cdm-ar-acm0003, no baseline, leakage or emission.
 *   Against event 1 at the last verification: dC = 18750; half-width
 *   sqrt((0.08 x 1250)^2 + (0.08 x 20000)^2) = sqrt(100^2 + 1600^2) =
 *   1603.1219541881; U = 8.550 % <= 10 %: nothing deducted; tCERs 18750,
 *   with the verification in 2021 or without it.
 *   (The per-period chain gave 8750 + 10000 - 50 % x sqrt(800^2 + 1600^2) =
 *   18750 - 894.4271909999 = 17855.5728090001 with it.)
 * lCERs keep the period's own deduction (ledger.h): 17855.5728090001. */
static void test_tcer_independent_of_verifications(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){1000, 250, NA, NA, NA}, 8);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){8000, 2000, NA, NA, NA}, 8);
  write_report(cf_test_path(dir, "e3.json"), (double[5]){16000, 4000, NA, NA, NA}, 8);
  const char *dates[3] = {"2019-01-01", "2021-01-01", "2023-01-01"}, *files[3] = {"e1.json", "e2.json", "e3.json"};
  const char *dates2[2] = {"2019-01-01", "2023-01-01"}, *files2[2] = {"e1.json", "e3.json"};
  const char *kv[2] = {"policy=cdm-ar-acm0003", "cdm_credit=lcer"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 3, dates, files, kv, 1, &in, &l), CF_OK);
  assert_close(l.periods[1].since_start.half_width, 1603.1219541881, 1e-12, 0);
  assert_close(l.periods[1].tcer, 18750, 1e-12, 0);
  assert_close(l.total_issuable, 18750, 1e-12, 0);
  assert_int_equal(l.total_units, 18750);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  assert_int_equal(ledger_of(ctx, dir, 2, dates2, files2, kv, 1, &in, &l), CF_OK);
  assert_close(l.periods[0].tcer, 18750, 1e-12, 0);
  assert_int_equal(l.total_units, 18750);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  assert_int_equal(ledger_of(ctx, dir, 3, dates, files, kv, 2, &in, &l), CF_OK);
  assert_close(l.total_issuable, 17855.5728090001, 1e-12, 0);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* baseline=series carries the baseline reports' sampling error: the
 * baseline change gets its half-width as the project's does and the
 * policy's deduction raises it (AR-TOOL14: conservative upwards).
 *   project 2020-01-01 10000 (U 5 %) -> 2025-01-01 15000 (U 5 %): dC 5000,
 *   half-width sqrt(500^2 + 750^2) = 901.3878188660, U 18.03 % -> 50 %:
 *   450.6939094330; adjusted 4549.3060905670.
 *   baseline 1000 (U 20 %) -> 1500 (U 20 %): dB 500, half-width
 *   sqrt(200^2 + 300^2) = 360.5551275464, U 72.11 % > 30 %: all of it
 *   added: baseline 860.5551275464 (was 500 undiscounted).
 *   net = tCERs = 4549.3060905670 - 860.5551275464 = 3688.7509630206. */
static void test_baseline_series_uncertainty(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 5);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){12000, 3000, NA, NA, NA}, 5);
  write_report(cf_test_path(dir, "b1.json"), (double[5]){800, 200, NA, NA, NA}, 20);
  write_report(cf_test_path(dir, "b2.json"), (double[5]){1200, 300, NA, NA, NA}, 20);
  const char *dates[2] = {"2020-01-01", "2025-01-01"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[2] = {"policy=cdm-ar-acm0003", "baseline=series"};
  cf_ledger_inputs in;
  cf_ledger l;
  cf_ledger_inputs_init(&in);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(cf_ledger_add_event(ctx, &in, dates[k], cf_test_path(dir, files[k])), CF_OK);
    assert_int_equal(cf_ledger_add_baseline(ctx, &in, dates[k], cf_test_path(dir, k ? "b2.json" : "b1.json")), CF_OK);
    assert_int_equal(cf_ledger_inputs_set(ctx, &in, kv[k]), CF_OK);
  }
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  const cf_ledger_period *p = &l.periods[0];
  assert_close(p->deduction, 450.6939094330, 1e-12, 0);
  assert_close(p->own.baseline_change, 500, 1e-12, 0);
  assert_close(p->own.baseline_half_width, 360.5551275464, 1e-12, 0);
  assert_close(p->own.baseline_deduction, 360.5551275464, 1e-12, 0);
  assert_close(p->baseline, 860.5551275464, 1e-12, 0);
  assert_close(p->net, 3688.7509630206, 1e-12, 0);
  assert_close(p->tcer, 3688.7509630206, 1e-12, 0);
  char *out = strdup(cf_test_path(dir, "ledger.json"));
  assert_int_equal(cf_ledger_write(ctx, &in, &l, out), CF_OK);
  assert_true(cf_test_file_contains(out, "\"baseline_uncertainty\":{\"change_t_co2e\":500"));
  free(out);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

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

/* Bare land at planting: the first report has every pool 0 and U null
 * (no relative uncertainty for a mean of 0). Read as U = 0, its
 * half-width is 0 whatever U would be.
 *   event 1 2020-01-01: 0 + 0 t CO2e, U null; event 2 2024-01-01:
 *   8000 + 2000 = 10000, U 12 %. dC = 10000; half-width sqrt(0^2 +
 *   (0.12 x 10000)^2) = 1200, U = 12 % -> AR-TOOL14 band 10-15 %: 25 % x
 *   1200 = 300; net 9700 (no baseline, leakage, emission); tCERs 9700.
 * A null U beside a sampled stock above 0 stays an error naming the field. */
static void test_zero_first_event(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){0, 0, NA, NA, NA}, NA);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){8000, 2000, NA, NA, NA}, 12);
  write_report(cf_test_path(dir, "bad.json"), (double[5]){10, 0, NA, NA, NA}, NA);
  const char *dates[2] = {"2020-01-01", "2024-01-01"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[1] = {"policy=cdm-ar-acm0003"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 1, &in, &l), CF_OK);
  const cf_ledger_period *p = &l.periods[0];
  assert_close(p->c.u1_pct, 0, 0, 0);
  assert_close(p->c.half_width, 1200, 1e-12, 0);
  assert_close(p->deduction, 300, 1e-12, 0);
  assert_close(p->net, 9700, 1e-12, 0);
  assert_close(p->tcer, 9700, 1e-12, 0);
  cf_ledger_free(&l);
  cf_ledger_inputs_free(&in);
  cf_stocks_in r;
  assert_int_equal(cf_stocks_in_read(ctx, cf_test_path(dir, "bad.json"), &r), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "bad.json"));
  assert_non_null(strstr(cf_error_message(ctx), "project.uncertainty_pct"));
  cf_error_clear(ctx);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* AR-ACM0003 leakage as t CO2e per period (--leakage), instead of a
 * fraction. Events 2015-01-01 10000 (U 8 %) -> 2019-01-01 17500 (U 6 %):
 * dC 7500, half-width sqrt(800^2 + 1050^2) = 1320.0378782444, U 17.6 % ->
 * 50 %: 660.0189391222; adjusted 6839.9810608778; leakage 120 t entered:
 * net = tCERs = 6839.9810608778 - 120 = 6719.9810608778. Both a fraction
 * and tonnages, tonnages where the policy makes leakage zero, or a date that
 * ends no period: refused, naming the option. */
static void test_leakage_tonnage(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  write_report(cf_test_path(dir, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 8);
  write_report(cf_test_path(dir, "e2.json"), (double[5]){14000, 3500, NA, NA, NA}, 6);
  const char *dates[2] = {"2015-01-01", "2019-01-01"}, *files[2] = {"e1.json", "e2.json"};
  const char *kv[2] = {"policy=cdm-ar-acm0003", "leakage_fraction=0.05"};
  cf_ledger_inputs in;
  cf_ledger l;
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 1, &in, &l), CF_OK);
  cf_ledger_free(&l);
  assert_int_equal(cf_ledger_add_leakage(ctx, &in, "2019-01-01=120:displaced grazing"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_OK);
  assert_close(l.periods[0].leakage, 120, 0, 0);
  assert_close(l.periods[0].net, 6719.9810608778, 1e-12, 0);
  assert_close(l.periods[0].tcer, 6719.9810608778, 1e-12, 0);
  char *out = strdup(cf_test_path(dir, "ledger.json"));
  assert_int_equal(cf_ledger_write(ctx, &in, &l, out), CF_OK);
  assert_true(cf_test_file_contains(out, "\"leakage\":[{\"end\":\"2019-01-01\",\"t_co2e\":120,\"what\":\"displaced grazing\"}]"));
  free(out);
  cf_ledger_free(&l);
  /* both ways at once */
  assert_int_equal(cf_ledger_inputs_set(ctx, &in, kv[1]), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "leakage_fraction"));
  cf_error_clear(ctx);
  cf_ledger_inputs_free(&in);
  /* a policy that makes leakage zero */
  const char *kv2[1] = {"policy=ccer-14-001"};
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv2, 1, &in, &l), CF_OK);
  cf_ledger_free(&l);
  assert_int_equal(cf_ledger_add_leakage(ctx, &in, "2019-01-01=120"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "leakage"));
  cf_error_clear(ctx);
  cf_ledger_inputs_free(&in);
  /* a date that ends no period */
  assert_int_equal(ledger_of(ctx, dir, 2, dates, files, kv, 1, &in, &l), CF_OK);
  cf_ledger_free(&l);
  assert_int_equal(cf_ledger_add_leakage(ctx, &in, "2018-01-01=120"), CF_OK);
  assert_int_equal(cf_ledger_compute(ctx, &in, &l), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "2018-01-01"));
  cf_error_clear(ctx);
  assert_int_equal(cf_ledger_add_leakage(ctx, &in, "2019-01-01=-5"), CF_EINVAL);
  cf_error_clear(ctx);
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* A report must agree with itself (stocks_read.c): one stratum of 100 ha
 * at agb 12 t C/ha gives 12 x 100 x 44/12 = 4400 t CO2e; a project that
 * says 4000, an area of 90 ha or a total other than the pools' sum is
 * refused, naming the file and the field. */
static void test_report_sums_checked(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  const char *fmt = "{\"schema\":\"carbonflux-stocks/1\",\"confidence\":0.9,\"strata\":[{\"stratum\":\"A\","
                    "\"area_ha\":100,\"n_plots\":5,\"biomass_mean_t_dm_per_ha\":50,\"biomass_se_t_dm_per_ha\":2,"
                    "\"pools_t_c_per_ha\":{\"agb\":12,\"bgb\":null,\"deadwood\":null,\"litter\":null,\"soc\":null}}],"
                    "\"project\":{\"area_ha\":%s,\"uncertainty_pct\":5,\"pools_t_co2e\":{\"agb\":%s,\"bgb\":null,"
                    "\"deadwood\":null,\"litter\":null,\"soc\":null},\"total_t_co2e\":%s,\"total_discounted_t_co2e\":1}}";
  const char *cases[4][4] = {{"100", "4400", "4400", NULL},
                             {"100", "4000", "4000", "project.pools_t_co2e.agb"},
                             {"90", "4400", "4400", "project.area_ha"},
                             {"100", "4400", "4500", "project.total_t_co2e"}};
  for (int k = 0; k < 4; k++) {
    char text[2048];
    snprintf(text, sizeof text, fmt, cases[k][0], cases[k][1], cases[k][2]);
    cf_test_write_text(cf_test_path(dir, "r.json"), text);
    cf_stocks_in r;
    int rc = cf_stocks_in_read(ctx, cf_test_path(dir, "r.json"), &r);
    if (!cases[k][3]) {
      assert_int_equal(rc, CF_OK);
      cf_stocks_in_free(&r);
      continue;
    }
    assert_int_equal(rc, CF_EDATA);
    assert_non_null(strstr(cf_error_message(ctx), "r.json"));
    assert_non_null(strstr(cf_error_message(ctx), cases[k][3]));
    cf_error_clear(ctx);
  }
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

/* A report written by other software: Python's json.dump, keys sorted
 * (another order than ours), a non-ASCII stratum name both raw and
 * escaped, an area written 1e2, indentation with tabs. */
static void test_report_from_other_software(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import json,sys\n"
           "pools={\"agb\":8000.0,\"bgb\":2000.0,\"deadwood\":None,\"litter\":None,\"soc\":None}\n"
           "r={\"schema\":\"carbonflux-stocks/1\",\"confidence\":0.9,\"strata\":[{\"stratum\":\"\\u6797\\u73ed-\\u00c4\","
           "\"area_ha\":100.0,\"n_plots\":9,\"biomass_mean_t_dm_per_ha\":40.5,\"biomass_se_t_dm_per_ha\":None,"
           "\"pools_t_c_per_ha\":{k:(v*12/44/100 if v else None) for k,v in pools.items()}}],"
           "\"project\":{\"area_ha\":100.0,\"df\":8,\"uncertainty_pct\":8.0,\"pools_t_co2e\":dict(pools,total=10000.0),"
           "\"total_t_co2e\":10000.0,\"total_discounted_t_co2e\":10000.0},\"writer\":\"python\"}\n"
           "t=json.dumps(r,sort_keys=True,ensure_ascii=(sys.argv[2]==\"ascii\"),indent=\"\\t\").replace(\"100.0\",\"1e2\")\n"
           "open(sys.argv[1],\"w\",encoding=\"utf-8\").write(t)' '%s' %s",
           cf_test_path(dir, "py.json"), "utf8");
  assert_int_equal(system(cmd), 0);
  cf_ctx *ctx = cf_test_ctx();
  cf_stocks_in r;
  assert_int_equal(cf_stocks_in_read(ctx, cf_test_path(dir, "py.json"), &r), CF_OK);
  assert_string_equal(r.strata[0].name, "\xe6\x9e\x97\xe7\x8f\xad-\xc3\x84"); /* 林班-Ä in UTF-8 */
  assert_close(r.strata[0].area_ha, 100, 0, 0);
  assert_close(r.area_ha, 100, 0, 0);
  assert_true(isnan(r.strata[0].biomass_se));
  assert_close(r.pools_t_co2e[CF_POOL_AGB], 8000, 0, 0);
  assert_close(r.u90_pct, 8, 0, 0); /* confidence 0.9: the report's U as it is */
  assert_int_equal(r.pool_estimated[CF_POOL_SOC], 0);
  cf_stocks_in_free(&r);
  /* the same escaped as \uXXXX (ensure_ascii) reads to the same name */
  snprintf(strstr(cmd, " utf8"), 8, " ascii");
  assert_int_equal(system(cmd), 0);
  assert_true(cf_test_file_contains(cf_test_path(dir, "py.json"), "\\u6797"));
  assert_int_equal(cf_stocks_in_read(ctx, cf_test_path(dir, "py.json"), &r), CF_OK);
  assert_string_equal(r.strata[0].name, "\xe6\x9e\x97\xe7\x8f\xad-\xc3\x84");
  cf_stocks_in_free(&r);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

/* The JSON reader refuses what is not JSON, with the line. */
static void test_json_strict(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_json *j = NULL;
  const char *bad[] = {"{\"a\":1,}", "{\"a\":1,\"a\":2}", "[1 2]", "{\"a\":01}", "\"\\ud800\"", "{\"a\":.5}",
                       "{'a':1}", "[1]\n[2]", "[\"tab\there\"]", "{\"a\":NaN}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(cf_json_parse(ctx, "t.json", bad[i], strlen(bad[i]), &j), CF_EDATA);
    assert_null(j);
    cf_error_clear(ctx);
  }
  const char *good = "\xEF\xBB\xBF {\"s\":\"\\u00e9\\ud83d\\ude00\\/\",\n\t\"n\":[-0,1e2,2.5E-1,true,null]}";
  assert_int_equal(cf_json_parse(ctx, "t.json", good, strlen(good), &j), CF_OK);
  assert_string_equal(cf_json_get(j, "s")->string, "\xc3\xa9\xf0\x9f\x98\x80/");
  assert_close(cf_json_at(cf_json_get(j, "n"), 1)->number, 100, 0, 0);
  assert_close(cf_json_at(cf_json_get(j, "n"), 2)->number, 0.25, 0, 0);
  assert_int_equal(cf_json_get(j, "n")->items[4]->type, CF_JSON_NULL);
  assert_int_equal(cf_json_get(j, "n")->line, 2);
  cf_json_free(j);
  const char *late = "{\n\"a\": 1,\n\"b\": [1,\n2,,3]}";
  assert_int_equal(cf_json_parse(ctx, "late.json", late, strlen(late), &j), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "line 4"));
  cf_error_clear(ctx);
  cf_ctx_destroy(ctx);
}

/* --- bad input through the command (item 8): the documented exit code,
 * a message naming the file and the field, nothing written --------------- */

static int ledger_cli(const cf_test_dir *t, const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "sink ledger %s -o '%s'", args, cf_test_path(t->dir, "out/ledger.json"));
  return cf_test_cli(cmd, t->log);
}

static void assert_nothing_written(const cf_test_dir *t) {
  assert_false(cf_file_exists(cf_test_path(t->dir, "out/ledger.json")));
  assert_false(cf_file_exists(cf_test_path(t->dir, "out/ledger.csv")));
  assert_int_equal(cf_test_count_entries(t->dir, ".part-"), 0);
  if (cf_file_exists(cf_test_path(t->dir, "out"))) assert_int_equal(cf_test_count_entries(cf_test_path(t->dir, "out"), ".part-"), 0);
}

static void test_bad_input(void **state) {
  cf_test_dir *t = *state;
  const char *d = t->dir;
  write_report(cf_test_path(d, "e1.json"), (double[5]){8000, 2000, NA, NA, NA}, 8);
  write_report(cf_test_path(d, "e2.json"), (double[5]){12000, 3000, NA, NA, NA}, 9);
  write_report_ex(cf_test_path(d, "e2b.json"), (double[5]){12000, 3000, NA, NA, NA}, 9, "A1", "carbonflux-stocks/1");
  write_report_ex(cf_test_path(d, "v2.json"), (double[5]){12000, 3000, NA, NA, NA}, 9, "A", "carbonflux-stocks/2");
  char args[3000], e1[1100], e2[1100];
  snprintf(e1, sizeof e1, "'%s'", cf_test_path(d, "e1.json"));
  snprintf(e2, sizeof e2, "'%s'", cf_test_path(d, "e2.json"));
  /* events out of order: exit 1, both files and "date order" named */
  snprintf(args, sizeof args, "--event 2023-06-15=%s --event 2019-01-15=%s --policy gold-standard", e2, e1);
  assert_int_equal(ledger_cli(t, args), 1);
  assert_true(cf_test_file_contains(t->log, "date order"));
  assert_true(cf_test_file_contains(t->log, "e1.json"));
  assert_nothing_written(t);
  /* a period of zero length: exit 1 */
  snprintf(args, sizeof args, "--event 2019-01-15=%s --event 2019-01-15=%s --policy gold-standard", e1, e2);
  assert_int_equal(ledger_cli(t, args), 1);
  assert_true(cf_test_file_contains(t->log, "zero length"));
  assert_nothing_written(t);
  /* an unknown policy: exit 1 with "did you mean" */
  snprintf(args, sizeof args, "--event 2019-01-15=%s --event 2023-06-15=%s --policy vm047", e1, e2);
  assert_int_equal(ledger_cli(t, args), 1);
  assert_true(cf_test_file_contains(t->log, "did you mean 'vm0047'?"));
  assert_nothing_written(t);
  /* strata that differ without a mapping: exit 4, the file and field named */
  snprintf(args, sizeof args, "--event 2019-01-15=%s --event 2023-06-15='%s' --policy gold-standard", e1,
           cf_test_path(d, "e2b.json"));
  assert_int_equal(ledger_cli(t, args), 4);
  assert_true(cf_test_file_contains(t->log, "e2b.json"));
  assert_true(cf_test_file_contains(t->log, "strata[0].stratum"));
  assert_nothing_written(t);
  /* ... and with the mapping it runs */
  char mapped[3100];
  snprintf(mapped, sizeof mapped, "%s --stratum-map A1=A", args);
  assert_int_equal(ledger_cli(t, mapped), 0);
  assert_true(cf_file_exists(cf_test_path(d, "out/ledger.csv")));
  assert_true(cf_test_file_contains(cf_test_path(d, "out/ledger.json"), "\"stratum_map\":[{\"from\":\"A1\",\"to\":\"A\"}]"));
  remove(cf_test_path(d, "out/ledger.json"));
  remove(cf_test_path(d, "out/ledger.csv"));
  /* a stock report of another schema version: exit 4, file and field */
  snprintf(args, sizeof args, "--event 2019-01-15=%s --event 2023-06-15='%s' --policy gold-standard", e1,
           cf_test_path(d, "v2.json"));
  assert_int_equal(ledger_cli(t, args), 4);
  assert_true(cf_test_file_contains(t->log, "v2.json"));
  assert_true(cf_test_file_contains(t->log, "schema"));
  assert_true(cf_test_file_contains(t->log, "carbonflux-stocks/2"));
  assert_nothing_written(t);
  /* an emission for a date that ends no period: exit 1 */
  snprintf(args, sizeof args, "--event 2019-01-15=%s --event 2023-06-15=%s --policy gold-standard --emission 2020-01-01=5",
           e1, e2);
  assert_int_equal(ledger_cli(t, args), 1);
  assert_nothing_written(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cdm_two_periods_with_reversal),
      cmocka_unit_test(test_tcer_independent_of_verifications),
      cmocka_unit_test(test_baseline_series_uncertainty),
      cmocka_unit_test(test_vm0047_unc_and_buffer),
      cmocka_unit_test(test_ccer_excludes_dead_wood_litter_soc),
      cmocka_unit_test(test_gold_standard_crown_cover_and_cap),
      cmocka_unit_test(test_zero_first_event),
      cmocka_unit_test(test_leakage_tonnage),
      cmocka_unit_test(test_report_sums_checked),
      cmocka_unit_test(test_vm0047_mortality_uncertainty),
      cmocka_unit_test(test_permanent_plots),
      cmocka_unit_test(test_report_from_other_software),
      cmocka_unit_test(test_json_strict),
      cmocka_unit_test_setup_teardown(test_bad_input, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
