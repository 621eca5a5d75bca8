/*
 * LEDGER.json and LEDGER.csv (ledger.h): one product, written to part
 * files and renamed together (cf_atomic_commit_all), so a reader never
 * sees a ledger without its table.
 *
 * The JSON is self-describing, for `carbonflux verify` and the report:
 * the schema and software version; every input with its path (as given,
 * and relative to the ledger's folder), role, date and SHA-256 (of the very bytes that were parsed); the policy with its
 * rules and whether its references were checked; every setting with its
 * value, the text that sets it again (cf_ledger_settings_set), unit and
 * source (default, or who gave it); every parameter with value, unit and
 * source; and per period the stocks, the change per pool and stratum, the
 * uncertainty, each ledger quantity, the equation it applies and the
 * vintages. Numbers are written in their shortest exact form, so reading
 * the JSON gives back the very doubles; a quantity that does not exist is
 * null, never 0. The CSV has one row per period and vintage (RFC 4180,
 * no comment lines); its provenance is the JSON beside it, which every row
 * names in two last columns, `carbonflux_version` and `json_sha256` (the
 * SHA-256 of the JSON's bytes), as the stocks report's CSV does
 * (core/csv.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "sink/issuance/baseline.h"
#include "sink/issuance/ledger.h"

static void text(cf_strbuf *sb, const char *k, const char *v) {
  cf_strbuf_json_key(sb, k, 0);
  cf_strbuf_json_string(sb, v);
}

static void pool_list(cf_strbuf *sb, unsigned bits) {
  cf_strbuf_puts(sb, "[");
  int first = 1;
  for (int k = 0; k < CF_POOL_COUNT; k++)
    if (bits & CF_POOL_BIT(k)) {
      if (!first) cf_strbuf_puts(sb, ",");
      cf_strbuf_json_string(sb, cf_pool_name((cf_pool_id)k));
      first = 0;
    }
  cf_strbuf_puts(sb, "]");
}

static void pools_obj(cf_strbuf *sb, const double *v) {
  cf_strbuf_puts(sb, "{");
  for (int k = 0; k < CF_POOL_COUNT; k++) {
    cf_strbuf_json_key(sb, cf_pool_name((cf_pool_id)k), k == 0);
    cf_strbuf_json_double(sb, v[k]); /* NaN: null, not estimated */
  }
  cf_strbuf_puts(sb, "}");
}

static void policy_json(cf_strbuf *sb, const cf_policy *p) {
  cf_strbuf_puts(sb, "{\"name\":");
  cf_strbuf_json_string(sb, p->name);
  text(sb, "title", p->title);
  text(sb, "document", p->document);
  text(sb, "credits", p->credits);
  cf_strbuf_json_key(sb, "pools_counted", 0);
  pool_list(sb, p->pools);
  text(sb, "pools_rule", p->pools_rule);
  text(sb, "uncertainty_rule", p->uncertainty_rule);
  text(sb, "leakage_rule", p->leakage_rule);
  text(sb, "buffer_rule", p->buffer_rule);
  cf_strbuf_json_key(sb, "references_checked", 0);
  cf_strbuf_puts(sb, p->checked ? "true" : "false");
  cf_strbuf_puts(sb, "}");
}

static void settings_json(cf_strbuf *sb, const cf_ledger_inputs *in) {
  const cf_kv_table *t = &cf_ledger_settings_table;
  cf_strbuf_puts(sb, "{");
  for (size_t i = 0; i < t->n; i++) {
    const cf_kv_opt *o = &t->opts[i];
    char txt[256];
    cf_strbuf_json_key(sb, o->key, i == 0);
    cf_strbuf_puts(sb, "{\"value\":");
    cf_kv_value_json(sb, o, &in->settings);
    cf_kv_value_text(o, &in->settings, txt, sizeof txt);
    text(sb, "text", txt);
    text(sb, "unit", o->unit ? o->unit : "");
    text(sb, "source", (in->given >> i) & 1 ? in->given_by : "default");
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, "}");
}

static void input_json(cf_strbuf *sb, const cf_ledger_event *e, const char *role, int first, const char *doc_path) {
  cf_strbuf_puts(sb, first ? "\n  {\"role\":" : ",\n  {\"role\":");
  cf_strbuf_json_string(sb, role);
  text(sb, "date", e->date);
  text(sb, "path", e->report.path);
  char *rel = cf_path_recorded_relative(e->report.path, doc_path);
  if (rel) text(sb, "relative_path", rel); /* where verify looks first: the package may have moved */
  free(rel);
  text(sb, "sha256", e->report.sha256);
  text(sb, "schema", CF_STOCKS_SCHEMA);
  cf_strbuf_puts(sb, "}");
}

static void change_json(cf_strbuf *sb, const cf_period_change *c) {
  cf_strbuf_puts(sb, "{\"years\":");
  cf_strbuf_json_double(sb, c->years);
  cf_strbuf_json_key(sb, "pools_counted", 0);
  pool_list(sb, c->counted);
  cf_strbuf_json_key(sb, "pools_excluded_by_policy", 0);
  pool_list(sb, c->excluded);
  cf_strbuf_json_key(sb, "project_t1_t_co2e", 0);
  pools_obj(sb, c->pool1);
  cf_strbuf_json_key(sb, "project_t2_t_co2e", 0);
  pools_obj(sb, c->pool2);
  cf_strbuf_json_key(sb, "change_by_pool_t_co2e", 0);
  pools_obj(sb, c->pool_change);
  cf_strbuf_json_member(sb, "stock_t1_t_co2e", c->stock1);
  cf_strbuf_json_member(sb, "stock_t2_t_co2e", c->stock2);
  cf_strbuf_json_member(sb, "stock_t1_discounted_t_co2e", c->stock1_discounted);
  cf_strbuf_json_member(sb, "stock_t2_discounted_t_co2e", c->stock2_discounted);
  cf_strbuf_json_member(sb, "change_t_co2e", c->change);
  cf_strbuf_json_member(sb, "annual_change_t_co2e_yr", c->annual_change);
  cf_strbuf_json_key(sb, "uncertainty", 0);
  cf_strbuf_puts(sb, "{\"design\":");
  cf_strbuf_json_string(sb, cf_ledger_design_names[c->design]);
  cf_strbuf_json_member(sb, "u1_pct", c->u1_pct);
  cf_strbuf_json_member(sb, "u2_pct", c->u2_pct);
  cf_strbuf_json_member(sb, "sampled_t1_t_co2e", c->sampled1);
  cf_strbuf_json_member(sb, "sampled_t2_t_co2e", c->sampled2);
  cf_strbuf_json_member(sb, "half_width_t_co2e", c->half_width);
  cf_strbuf_json_member(sb, "u_pct", c->u_pct);
  if (c->design == CF_DESIGN_PERMANENT) {
    cf_strbuf_printf(sb, ",\"n_pairs\":%d,\"n_unmatched\":%d,\"df\":%d", c->n_pairs, c->n_unmatched, c->df);
    cf_strbuf_json_member(sb, "mean_diff_t_dm_per_ha", c->mean_diff);
    cf_strbuf_json_member(sb, "se_diff_t_dm_per_ha", c->se_diff);
    cf_strbuf_json_member(sb, "t_value", c->t_value);
  }
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_key(sb, "strata", 0);
  cf_strbuf_puts(sb, "[");
  for (int h = 0; h < c->n_strata; h++) {
    const cf_stratum_change *S = &c->strata[h];
    cf_strbuf_puts(sb, h ? ",{\"stratum\":" : "{\"stratum\":");
    cf_strbuf_json_string(sb, S->name);
    cf_strbuf_json_member(sb, "area_ha", S->area_ha);
    cf_strbuf_json_key(sb, "t1_t_co2e", 0);
    pools_obj(sb, S->stock1);
    cf_strbuf_json_key(sb, "t2_t_co2e", 0);
    pools_obj(sb, S->stock2);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, "]}");
}

/* baseline=series: the baseline change, its half-width and the deduction that raised it */
static void baseline_uncertainty_json(cf_strbuf *sb, const cf_ledger_net *n) {
  cf_strbuf_json_key(sb, "baseline_uncertainty", 0);
  cf_strbuf_puts(sb, "{");
  cf_strbuf_json_key(sb, "change_t_co2e", 1);
  cf_strbuf_json_double(sb, n->baseline_change);
  cf_strbuf_json_member(sb, "half_width_t_co2e", n->baseline_half_width);
  cf_strbuf_json_member(sb, "u_pct", n->baseline_u_pct);
  cf_strbuf_json_member(sb, "deduction_t_co2e", n->baseline_deduction);
  cf_strbuf_json_member(sb, "baseline_t_co2e", n->baseline);
  cf_strbuf_puts(sb, "}");
}

static void period_json(cf_strbuf *sb, const cf_policy *p, const cf_ledger_period *P, const char *start_date,
                        int series) {
  cf_strbuf_printf(sb, "{\"period\":%d", P->index);
  text(sb, "start", P->start);
  text(sb, "end", P->end);
  cf_strbuf_json_key(sb, "stocks", 0);
  change_json(sb, &P->c);
  cf_strbuf_json_member(sb, "change_t_co2e", P->c.change);
  cf_strbuf_json_member(sb, "uncertainty_deduction_t_co2e", P->deduction);
  cf_strbuf_json_member(sb, "change_adjusted_t_co2e", P->change_adjusted);
  cf_strbuf_json_member(sb, "baseline_t_co2e", P->baseline);
  cf_strbuf_json_member(sb, "emissions_t_co2e", P->emissions);
  cf_strbuf_json_member(sb, "leakage_t_co2e", P->leakage);
  cf_strbuf_json_member(sb, "net_t_co2e", P->net);
  cf_strbuf_json_member(sb, "cumulative_net_t_co2e", P->cum_net);
  cf_strbuf_json_member(sb, "level_t_co2e", P->level);
  cf_strbuf_json_member(sb, "capped_t_co2e", P->capped);
  cf_strbuf_json_member(sb, "peak_t_co2e", P->peak);
  cf_strbuf_json_member(sb, "credited_t_co2e", P->credited);
  cf_strbuf_json_member(sb, "reversal_t_co2e", P->reversal);
  cf_strbuf_json_member(sb, "deficit_t_co2e", P->deficit);
  cf_strbuf_json_member(sb, "buffer_pct", P->buffer_pct);
  cf_strbuf_json_member(sb, "buffer_t_co2e", P->buffer);
  cf_strbuf_json_member(sb, "buffer_cancelled_t_co2e", P->buffer_cancelled);
  cf_strbuf_json_member(sb, "buffer_pool_t_co2e", P->buffer_pool);
  if (p->temporary) {
    cf_strbuf_json_member(sb, "tcer_t_co2e", P->tcer);
    cf_strbuf_json_member(sb, "lcer_t_co2e", P->lcer);
    cf_strbuf_json_member(sb, "lcer_to_replace_t_co2e", P->lcer_to_replace);
  }
  if (P->has_since_start) { /* tCERs: the whole since event 1 (ledger.h) */
    const cf_ledger_net *n = &P->since_start;
    cf_strbuf_json_key(sb, "since_start", 0);
    cf_strbuf_puts(sb, "{");
    cf_strbuf_json_key(sb, "start", 1);
    cf_strbuf_json_string(sb, start_date);
    cf_strbuf_json_member(sb, "change_t_co2e", n->change);
    cf_strbuf_json_member(sb, "half_width_t_co2e", n->half_width);
    cf_strbuf_json_member(sb, "u_pct", n->u_pct);
    cf_strbuf_json_member(sb, "uncertainty_deduction_t_co2e", n->deduction);
    cf_strbuf_json_member(sb, "baseline_t_co2e", n->baseline);
    cf_strbuf_json_member(sb, "emissions_t_co2e", n->emissions);
    cf_strbuf_json_member(sb, "leakage_t_co2e", n->leakage);
    cf_strbuf_json_member(sb, "net_t_co2e", n->net);
    if (series) baseline_uncertainty_json(sb, n);
    cf_strbuf_puts(sb, "}");
  }
  if (series) baseline_uncertainty_json(sb, &P->own);
  cf_strbuf_json_member(sb, "issuable_t_co2e", P->issuable);
  cf_strbuf_json_member(sb, "cumulative_issuable_t_co2e", P->cum_issuable);
  cf_strbuf_printf(sb, ",\"units\":%lld,\"cumulative_units\":%lld", P->units, P->cum_units);
  cf_strbuf_json_key(sb, "equations", 0);
  cf_strbuf_puts(sb, "{");
  for (int e = 0; e < CF_EQ_COUNT; e++) {
    cf_strbuf_json_key(sb, cf_eq_names[e], e == 0);
    cf_strbuf_json_string(sb, p->eq[e]);
  }
  cf_strbuf_puts(sb, "}");
  cf_strbuf_json_key(sb, "vintages", 0);
  cf_strbuf_puts(sb, "[");
  for (int v = 0; v < P->n_vintages; v++) {
    const cf_ledger_vintage *V = &P->vintages[v];
    cf_strbuf_printf(sb, "%s{\"vintage\":%d", v ? "," : "", V->year);
    cf_strbuf_json_member(sb, "share", V->share);
    cf_strbuf_json_member(sb, "net_t_co2e", V->net);
    cf_strbuf_json_member(sb, "credited_t_co2e", V->credited);
    cf_strbuf_json_member(sb, "buffer_t_co2e", V->buffer);
    cf_strbuf_json_member(sb, "issuable_t_co2e", V->issuable);
    cf_strbuf_printf(sb, ",\"units\":%lld", V->units);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, "]}");
}

/* The ledger's text; `doc_path` (NULL: none) is where it will lie, for the
 * inputs' paths relative to it. */
static char *ledger_json(const cf_ledger_inputs *in, const cf_ledger *l, const char *doc_path) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\"schema\":");
  cf_strbuf_json_string(&sb, CF_LEDGER_SCHEMA);
  cf_strbuf_puts(&sb, ",\n\"software\":{\"name\":\"carbonflux\",\"version\":");
  cf_strbuf_json_string(&sb, cf_version());
  /* no step of the ledger draws a random number: no seed to record */
  cf_strbuf_puts(&sb, "},\n\"random_seeds\":[],\n\"units\":\"t CO2e (one issuable unit = 1 t CO2e)\",\n\"policy\":");
  policy_json(&sb, l->policy);
  cf_strbuf_puts(&sb, ",\n\"settings\":");
  settings_json(&sb, in);
  cf_strbuf_puts(&sb, ",\n\"inputs\":[");
  for (int k = 0; k < in->n_events; k++) input_json(&sb, &in->events[k], "event", k == 0, doc_path);
  for (int k = 0; k < in->n_baseline; k++) input_json(&sb, &in->baseline[k], "baseline", 0, doc_path);
  for (int q = 0; q < 2; q++) { /* "emissions" and "leakage": entered tonnages per period */
    const cf_ledger_emission *list = q ? in->leakages : in->emissions;
    cf_strbuf_puts(&sb, q ? "],\n\"leakage\":[" : "],\n\"emissions\":[");
    for (int i = 0; i < (q ? in->n_leakages : in->n_emissions); i++) {
      cf_strbuf_puts(&sb, i ? ",{\"end\":" : "{\"end\":");
      cf_strbuf_json_string(&sb, list[i].end);
      cf_strbuf_json_member(&sb, "t_co2e", list[i].t_co2e);
      text(&sb, "what", list[i].what);
      cf_strbuf_puts(&sb, "}");
    }
  }
  cf_strbuf_puts(&sb, "],\n\"stratum_map\":[");
  for (int i = 0; i < in->n_maps; i++) {
    cf_strbuf_puts(&sb, i ? ",{\"from\":" : "{\"from\":");
    cf_strbuf_json_string(&sb, in->maps[i].from);
    text(&sb, "to", in->maps[i].to);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "],\n\"parameters\":[");
  for (int i = 0; i < l->n_params; i++) {
    const cf_ledger_param *p = &l->params[i];
    cf_strbuf_puts(&sb, i ? ",\n  {\"name\":" : "\n  {\"name\":");
    cf_strbuf_json_string(&sb, p->name);
    cf_strbuf_json_member(&sb, "value", p->value);
    text(&sb, "unit", p->unit);
    text(&sb, "source", p->source);
    cf_strbuf_json_key(&sb, "checked", 0);
    cf_strbuf_puts(&sb, p->checked ? "true}" : "false}");
  }
  cf_strbuf_puts(&sb, "],\n\"periods\":[");
  for (int k = 0; k < l->n_periods; k++) {
    cf_strbuf_puts(&sb, k ? ",\n" : "\n");
    period_json(&sb, l->policy, &l->periods[k], l->periods[0].start, in->settings.baseline == CF_BASELINE_SERIES);
  }
  cf_strbuf_puts(&sb, "],\n\"totals\":{\"net_t_co2e\":");
  cf_strbuf_json_double(&sb, l->total_net);
  cf_strbuf_json_member(&sb, "credited_t_co2e", l->total_credited);
  cf_strbuf_json_member(&sb, "buffer_t_co2e", l->total_buffer);
  cf_strbuf_json_member(&sb, "issuable_t_co2e", l->total_issuable);
  cf_strbuf_json_member(&sb, "deficit_t_co2e", l->deficit);
  cf_strbuf_printf(&sb, ",\"units\":%lld}}\n", l->total_units);
  return cf_strbuf_take(&sb);
}

char *cf_ledger_json(const cf_ledger_inputs *in, const cf_ledger *l) { return ledger_json(in, l, NULL); }

static char *ledger_csv(const cf_ledger *l, const char *json_sha256) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "period,start,end,vintage,share,years,stock_t1_t_co2e,stock_t2_t_co2e,change_t_co2e,u_pct,"
                      "uncertainty_deduction_t_co2e,baseline_t_co2e,emissions_t_co2e,leakage_t_co2e,net_t_co2e,"
                      "cumulative_net_t_co2e,credited_t_co2e,reversal_t_co2e,deficit_t_co2e,buffer_pct,buffer_t_co2e,"
                      "issuable_t_co2e,cumulative_issuable_t_co2e,vintage_net_t_co2e,vintage_credited_t_co2e,"
                      "vintage_buffer_t_co2e,vintage_issuable_t_co2e,vintage_units,policy," CF_CSV_PROVENANCE_HEADER
                      "\r\n");
  for (int k = 0; k < l->n_periods; k++) {
    const cf_ledger_period *P = &l->periods[k];
    for (int v = 0; v < P->n_vintages; v++) {
      const cf_ledger_vintage *V = &P->vintages[v];
      cf_strbuf_printf(&sb, "%d,%s,%s,%d", P->index, P->start, P->end, V->year);
      const double row[] = {V->share, P->c.years, P->c.stock1, P->c.stock2, P->c.change, P->c.u_pct, P->deduction,
                            P->baseline, P->emissions, P->leakage, P->net, P->cum_net, P->credited, P->reversal,
                            P->deficit, P->buffer_pct, P->buffer, P->issuable, P->cum_issuable, V->net, V->credited,
                            V->buffer, V->issuable};
      for (size_t i = 0; i < sizeof row / sizeof *row; i++) cf_strbuf_csv_double(&sb, row[i]);
      cf_strbuf_printf(&sb, ",%lld,%s", V->units, l->policy->name);
      cf_csv_provenance_row_end(&sb, json_sha256);
    }
  }
  return cf_strbuf_take(&sb);
}

int cf_ledger_write(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_ledger *l, const char *json_path) {
  char *json = ledger_json(in, l, json_path), hex[CF_SHA256_HEX_LEN];
  char *csv = json && !cf_sha256_buffer(ctx, json, strlen(json), hex) ? ledger_csv(l, hex) : NULL;
  int rc = cf_atomic_write_json_csv(ctx, json_path, json, csv, "ledger");
  free(json);
  free(csv);
  return rc;
}
