/*
 * The stocks report: REPORT.json and REPORT.csv of ../shared/spec/forest-io.md.
 *
 * Both files are one product: each is written to a part file next to it
 * and the two are renamed together (cf_atomic_commit_all), so a reader
 * never sees a JSON without its CSV or an old CSV beside a new JSON.
 *
 * A pool that was not estimated is null in the JSON and an empty cell in
 * the CSV, never 0, and `excluded_pools` gives the reason. Numbers are
 * written in their shortest exact form (cf_strbuf_json_double), so the
 * report holds the very doubles that were computed. The CSV has no comment
 * lines (strict RFC 4180 readers, Python's csv.DictReader among them, take
 * the first line for the header); its provenance is the JSON beside it,
 * which every row names in two last columns (forest-io.md welcomes more
 * columns): `carbonflux_version` and `json_sha256`, the SHA-256 of that
 * JSON's bytes, whose inputs (with their SHA-256), settings and parameters
 * say how each number was made (core/csv.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "sink/stocks.h"

static void json_pool(cf_strbuf *sb, const cf_pool_value *v) {
  if (v->estimated)
    cf_strbuf_json_double(sb, v->value);
  else
    cf_strbuf_puts(sb, "null");
}

static void stratum_json(cf_strbuf *sb, const cf_stocks_stratum *S) {
  cf_strbuf_puts(sb, "{");
  cf_strbuf_json_key(sb, "stratum", 1);
  cf_strbuf_json_string(sb, S->name);
  cf_strbuf_json_member(sb, "area_ha", S->area_ha);
  cf_strbuf_json_key(sb, "n_plots", 0);
  cf_strbuf_printf(sb, "%d", S->n_plots);
  cf_strbuf_json_member(sb, "agb_mean_t_dm_per_ha", S->agb_mean);
  cf_strbuf_json_member(sb, "biomass_mean_t_dm_per_ha", S->biomass.mean);
  cf_strbuf_json_member(sb, "biomass_sd_t_dm_per_ha", S->biomass.sd);
  cf_strbuf_json_member(sb, "biomass_se_t_dm_per_ha", S->biomass.se);
  cf_strbuf_json_key(sb, "pools_t_c_per_ha", 0);
  cf_strbuf_puts(sb, "{");
  for (int p = 0; p < CF_POOL_COUNT; p++) {
    cf_strbuf_json_key(sb, cf_pool_name((cf_pool_id)p), p == 0);
    json_pool(sb, &S->per_ha.pool[p]);
  }
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_member(sb, "soc_initial_t_c_per_ha", S->soc_initial); /* null when not finite */
  cf_strbuf_json_member(sb, "soc_rate_t_c_per_ha_yr", S->soc_rate);
  cf_strbuf_json_member(sb, "stock_t_co2e", S->stock_t_co2e);
  cf_strbuf_puts(sb, "}");
}

static void project_json(cf_strbuf *sb, const cf_stocks_result *r) {
  const cf_project_totals *T = &r->totals;
  const cf_stratified_estimate *E = &r->estimate;
  cf_strbuf_puts(sb, "{");
  cf_strbuf_json_key(sb, "area_ha", 1);
  cf_strbuf_json_double(sb, E->area_ha);
  cf_strbuf_json_key(sb, "n_plots", 0);
  cf_strbuf_printf(sb, "%d", E->n_plots);
  cf_strbuf_json_key(sb, "n_strata", 0);
  cf_strbuf_printf(sb, "%d", E->n_strata);
  cf_strbuf_json_key(sb, "df", 0);
  cf_strbuf_printf(sb, "%d", E->df);
  cf_strbuf_json_member(sb, "t_value", E->t_value);
  cf_strbuf_json_member(sb, "biomass_mean_t_dm_per_ha", E->mean);
  cf_strbuf_json_member(sb, "biomass_se_t_dm_per_ha", E->se);
  cf_strbuf_json_member(sb, "uncertainty_pct", E->uncertainty_pct);
  cf_strbuf_json_key(sb, "pools_t_co2e", 0);
  cf_strbuf_puts(sb, "{");
  for (int p = 0; p < CF_POOL_COUNT; p++) {
    cf_strbuf_json_key(sb, cf_pool_name((cf_pool_id)p), p == 0);
    json_pool(sb, &T->t_co2e.pool[p]);
  }
  cf_strbuf_json_member(sb, "total", T->total_t_co2e);
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_key(sb, "excluded_pools", 0);
  cf_strbuf_puts(sb, "{");
  int first = 1;
  for (int p = 0; p < CF_POOL_COUNT; p++)
    if (!T->t_co2e.pool[p].estimated) {
      cf_strbuf_json_key(sb, cf_pool_name((cf_pool_id)p), first);
      cf_strbuf_json_string(sb, T->t_co2e.pool[p].reason);
      first = 0;
    }
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_key(sb, "discount", 0);
  cf_strbuf_puts(sb, "{");
  cf_strbuf_json_key(sb, "policy", 1);
  cf_strbuf_json_string(sb, cf_stocks_discount_names[r->discount]);
  cf_strbuf_json_key(sb, "side", 0);
  cf_strbuf_json_string(sb, cf_stocks_side_names[r->side]);
  cf_strbuf_json_key(sb, "pools", 0);
  cf_strbuf_puts(sb, "[");
  first = 1;
  for (int p = 0; p < CF_POOL_COUNT; p++)
    if ((T->discount_pools & CF_POOL_BIT(p)) && T->t_co2e.pool[p].estimated) {
      if (!first) cf_strbuf_puts(sb, ",");
      cf_strbuf_json_string(sb, cf_pool_name((cf_pool_id)p));
      first = 0;
    }
  cf_strbuf_puts(sb, "]");
  cf_strbuf_json_member(sb, "uncertainty_pct_90", r->uncertainty_pct_90);
  cf_strbuf_json_member(sb, "fraction_of_half_width", T->discount.fraction_of_half_width);
  cf_strbuf_json_member(sb, "deducted_t_co2e", T->discount.deduction);
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_member(sb, "total_t_co2e", T->total_t_co2e);
  cf_strbuf_json_member(sb, "total_discounted_t_co2e", T->total_discounted_t_co2e);
  cf_strbuf_puts(sb, "}");
}

/* The report's text; `doc_path` (NULL: none) is where it will lie, for the
 * inputs' paths relative to it. */
static char *report_json(const cf_stocks_result *r, const char *settings_json, const char *doc_path) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\n");
  cf_strbuf_json_key(&sb, "schema", 1);
  cf_strbuf_json_string(&sb, "carbonflux-stocks/1");
  cf_strbuf_puts(&sb, ",\n");
  cf_strbuf_json_key(&sb, "confidence", 1);
  cf_strbuf_json_double(&sb, r->confidence);
  cf_strbuf_puts(&sb, ",\n");
  cf_strbuf_json_key(&sb, "year", 1);
  if (r->year)
    cf_strbuf_printf(&sb, "%d,\n", r->year);
  else
    cf_strbuf_puts(&sb, "null,\n"); /* the inventory has no years */
  cf_strbuf_json_key(&sb, "strata", 1);
  cf_strbuf_puts(&sb, "[\n");
  for (int h = 0; h < r->n_strata; h++) {
    cf_strbuf_puts(&sb, h ? ",\n  " : "  ");
    stratum_json(&sb, &r->strata[h]);
  }
  cf_strbuf_puts(&sb, "\n],\n");
  cf_strbuf_json_key(&sb, "project", 1);
  project_json(&sb, r);
  cf_strbuf_puts(&sb, ",\n");
  /* the plots behind the estimate (welcome extras: a verifier re-computes from them) */
  cf_strbuf_json_key(&sb, "plots", 1);
  cf_strbuf_puts(&sb, "[\n");
  for (int i = 0; i < r->n_est_plots; i++) {
    const cf_plot *p = &r->plots->p[r->plot_index[i]];
    cf_strbuf_puts(&sb, i ? ",\n  {" : "  {");
    cf_strbuf_json_key(&sb, "plot", 1);
    cf_strbuf_json_string(&sb, p->plot);
    cf_strbuf_json_key(&sb, "stratum", 0);
    cf_strbuf_json_string(&sb, p->stratum);
    cf_strbuf_json_key(&sb, "area_ha", 0);
    cf_strbuf_json_double(&sb, p->area_ha);
    cf_strbuf_json_key(&sb, "agb_t_dm_per_ha", 0);
    cf_strbuf_json_double(&sb, r->plot_agb[i]);
    cf_strbuf_json_key(&sb, "root_shoot", 0);
    cf_strbuf_json_double(&sb, r->plot_r[i]);
    cf_strbuf_json_key(&sb, "biomass_t_dm_per_ha", 0);
    cf_strbuf_json_double(&sb, r->plot_biomass[i]);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "\n],\n");
  cf_strbuf_json_key(&sb, "stems", 1);
  cf_strbuf_printf(&sb,
                   "{\"live\":%ld,\"dead_not_counted\":%ld,\"outside_equation_range\":%ld,\"species_blank\":%ld}",
                   r->n_stems, r->n_dead_stems, r->n_out_of_range, r->n_unknown_species);
  cf_strbuf_puts(&sb, ",\n");
  cf_strbuf_json_key(&sb, "parameters", 1);
  cf_strbuf_puts(&sb, "[\n");
  for (int k = 0; k < r->nparams; k++) {
    const cf_stocks_param *p = &r->params[k];
    cf_strbuf_puts(&sb, k ? ",\n  {" : "  {");
    cf_strbuf_json_key(&sb, "name", 1);
    cf_strbuf_json_string(&sb, p->name);
    if (p->stratum[0]) {
      cf_strbuf_json_key(&sb, "stratum", 0);
      cf_strbuf_json_string(&sb, p->stratum);
    }
    cf_strbuf_json_key(&sb, "value", 0);
    cf_strbuf_json_double(&sb, p->value);
    cf_strbuf_json_key(&sb, "unit", 0);
    cf_strbuf_json_string(&sb, p->unit);
    cf_strbuf_json_key(&sb, "source", 0);
    cf_strbuf_json_string(&sb, p->source);
    cf_strbuf_json_key(&sb, "checked", 0);
    cf_strbuf_puts(&sb, p->checked ? "true" : "false");
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "\n],\n");
  cf_strbuf_json_key(&sb, "settings", 1);
  cf_strbuf_puts(&sb, settings_json ? settings_json : "{}");
  cf_strbuf_puts(&sb, ",\n");
  cf_strbuf_json_key(&sb, "inputs", 1);
  cf_strbuf_puts(&sb, "[");
  for (int i = 0; i < r->ninputs; i++) {
    cf_strbuf_puts(&sb, i ? ",{" : "{");
    cf_strbuf_json_key(&sb, "path", 1);
    cf_strbuf_json_string(&sb, r->inputs[i].path);
    char *rel = cf_path_recorded_relative(r->inputs[i].path, doc_path);
    if (rel) { /* where verify looks first: the package may have moved (forest-io welcomes more keys) */
      cf_strbuf_json_key(&sb, "relative_path", 0);
      cf_strbuf_json_string(&sb, rel);
      free(rel);
    }
    cf_strbuf_json_key(&sb, "sha256", 0);
    cf_strbuf_json_string(&sb, r->inputs[i].sha256);
    cf_strbuf_json_key(&sb, "role", 0);
    cf_strbuf_json_string(&sb, r->inputs[i].role);
    cf_strbuf_json_key(&sb, "options", 0); /* the words that read it again the same way */
    cf_strbuf_puts(&sb, r->inputs[i].options ? r->inputs[i].options : "[]");
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "],\n");
  cf_strbuf_json_key(&sb, "random_seeds", 1); /* no step of the estimate draws a random number */
  cf_strbuf_puts(&sb, "[],\n");
  cf_strbuf_json_key(&sb, "software", 1);
  cf_strbuf_puts(&sb, "{\"name\":\"carbonflux\",\"version\":");
  cf_strbuf_json_string(&sb, cf_version());
  cf_strbuf_puts(&sb, "}\n}\n");
  return cf_strbuf_take(&sb);
}

char *cf_stocks_report_json(const cf_stocks_result *r, const char *settings_json) {
  return report_json(r, settings_json, NULL);
}

static char *report_csv(const cf_stocks_result *r, const char *json_sha256) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "stratum,area_ha,n_plots,agb_mean_t_dm_per_ha,biomass_mean_t_dm_per_ha,biomass_sd_t_dm_per_ha,"
                      "biomass_se_t_dm_per_ha,agb_t_c_per_ha,bgb_t_c_per_ha,deadwood_t_c_per_ha,litter_t_c_per_ha,"
                      "soc_t_c_per_ha,stock_t_co2e,uncertainty_pct,t_value,stock_discounted_t_co2e," CF_CSV_PROVENANCE_HEADER "\r\n");
  for (int h = 0; h < r->n_strata; h++) {
    const cf_stocks_stratum *S = &r->strata[h];
    cf_csv_put_field(&sb, S->name);
    cf_strbuf_csv_double(&sb, S->area_ha);
    cf_strbuf_printf(&sb, ",%d", S->n_plots);
    cf_strbuf_csv_double(&sb, S->agb_mean);
    cf_strbuf_csv_double(&sb, S->biomass.mean);
    cf_strbuf_csv_double(&sb, S->biomass.sd);
    cf_strbuf_csv_double(&sb, S->biomass.se);
    for (int p = 0; p < CF_POOL_COUNT; p++) cf_strbuf_csv_double(&sb, S->per_ha.pool[p].estimated ? S->per_ha.pool[p].value : NAN);
    cf_strbuf_csv_double(&sb, S->stock_t_co2e);
    cf_strbuf_puts(&sb, ",,,"); /* U%, t and the discount are the project's */
    cf_csv_provenance_row_end(&sb, json_sha256);
  }
  /* the project row: per-hectare values are area-weighted means */
  const cf_stratified_estimate *E = &r->estimate;
  const cf_project_totals *T = &r->totals;
  double agb = 0;
  for (int h = 0; h < r->n_strata; h++) agb += r->strata[h].agb_mean * r->strata[h].area_ha;
  cf_strbuf_puts(&sb, "project");
  cf_strbuf_csv_double(&sb, E->area_ha);
  cf_strbuf_printf(&sb, ",%d", E->n_plots);
  cf_strbuf_csv_double(&sb, agb / E->area_ha);
  cf_strbuf_csv_double(&sb, E->mean);
  cf_strbuf_puts(&sb, ","); /* a project SD is not defined for a stratified sample */
  cf_strbuf_csv_double(&sb, E->se);
  for (int p = 0; p < CF_POOL_COUNT; p++) {
    double v = NAN;
    if (T->t_co2e.pool[p].estimated) v = T->t_co2e.pool[p].value * 12.0 / 44.0 / E->area_ha;
    cf_strbuf_csv_double(&sb, v);
  }
  cf_strbuf_csv_double(&sb, T->total_t_co2e);
  cf_strbuf_csv_double(&sb, E->uncertainty_pct);
  cf_strbuf_csv_double(&sb, E->t_value);
  cf_strbuf_csv_double(&sb, T->total_discounted_t_co2e);
  cf_csv_provenance_row_end(&sb, json_sha256);
  return cf_strbuf_take(&sb);
}

int cf_stocks_write(cf_ctx *ctx, const cf_stocks_result *r, const char *json_path,
                    const char *settings_json) {
  char *json = report_json(r, settings_json, json_path), hex[CF_SHA256_HEX_LEN];
  char *csv = json && !cf_sha256_buffer(ctx, json, strlen(json), hex) ? report_csv(r, hex) : NULL;
  int rc = cf_atomic_write_json_csv(ctx, json_path, json, csv, "report");
  free(json);
  free(csv);
  return rc;
}
