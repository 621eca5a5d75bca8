/*
 * The issuance ledger (sink/issuance/) against arithmetic done by hand:
 * the CDM AR-ACM0003 cases (lCER, tCER, reversals, baselines, leakage),
 * the stock reports it reads (their sums, other writers, strict JSON) and
 * bad input through the command. The other policies (VM0047, CCER, Gold
 * Standard, permanent plots) are tests/test_ledger_policies.c.
 *
 * Every expected value is written out in the comment above its check and
 * was computed from the inputs with a calculator, not by the code under
 * test. Tolerances: results that are a few products and one square root
 * of the inputs are checked to 1e-12 relative (the arithmetic in double
 * loses a few ulps; the hand figures are given to 10+ digits); figures
 * quoted to fewer digits (a methodology's printed example) to half a unit
 * of their last digit.
 *
 * The stock reports are written as JSON text by tests/ledger_fixture.c
 * (the contract's names, see ../shared/spec/forest-io.md), one stratum "A"
 * of 100 ha unless said otherwise; and once by /usr/bin/python3 json.dump,
 * in another key order, with non-ASCII names and numbers written as 1e2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "ledger_fixture.h"
#include "sink/issuance/ledger.h"

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
      cmocka_unit_test(test_zero_first_event),
      cmocka_unit_test(test_leakage_tonnage),
      cmocka_unit_test(test_report_sums_checked),
      cmocka_unit_test(test_report_from_other_software),
      cmocka_unit_test(test_json_strict),
      cmocka_unit_test_setup_teardown(test_bad_input, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
