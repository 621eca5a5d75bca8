/*
 * The ledger suites' fixture (ledger_fixture.h): stock reports written as
 * JSON text and a ledger computed from a list of them.
 *
 * Why text written here and not the stocks writer: the suites check the
 * ledger against figures done by hand from the report's numbers, so the
 * reports must hold exactly those numbers (%.17g) and nothing the stocks
 * code computes; the names are the contract's (../shared/spec/forest-io.md).
 * A report agrees with itself (stocks_read.c checks that the strata's pools
 * times their areas sum to the project's): each stratum carries the
 * project's pools per hectare over equal areas summing to 100 ha.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cf_test.h"
#include "ledger_fixture.h"

/* A report with project pools in t CO2e (NaN = null: not estimated) and
 * U% at 90 %, over strata named in `strata` (comma-separated, equal
 * areas summing to 100 ha), schema `schema`. */
void write_report_ex(const char *path, const double pools[5], double u90, const char *strata,
                     const char *schema) {
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

void write_report(const char *path, const double pools[5], double u90) {
  write_report_ex(path, pools, u90, "A", "carbonflux-stocks/1");
}

/* Inputs of `n` events (date, file) and settings, computed. */
int ledger_of(cf_ctx *ctx, const char *dir, int n, const char *const *dates, const char *const *files,
                     const char *const *kv, int nkv, cf_ledger_inputs *in, cf_ledger *l) {
  cf_ledger_inputs_init(in);
  for (int k = 0; k < n; k++) assert_int_equal(cf_ledger_add_event(ctx, in, dates[k], cf_test_path(dir, files[k])), CF_OK);
  for (int k = 0; k < nkv; k++) assert_int_equal(cf_ledger_inputs_set(ctx, in, kv[k]), CF_OK);
  return cf_ledger_compute(ctx, in, l);
}
