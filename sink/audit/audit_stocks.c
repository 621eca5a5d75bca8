/*
 * Verifying a stock report (audit.h): its plots, trees and strata
 * re-hashed, then the report recomputed by the steps of
 * `carbonflux forest stocks` (sink/stocks.h) with the settings it records
 * and each input read with the inventory options recorded beside it, and
 * compared table by table.
 *
 * What a report must record for that: `software` (carbonflux), `settings`
 * and `inputs`. A report of the contract written by other software has
 * none of it; its numbers are then what the ledger took as given (checked
 * by their hash one level up), and it gets a warning, not a failure.
 * Reports written before the inputs carried their `options` are read with
 * the inventory keys of `settings` when those are the command's flat
 * keys (col.FIELD, years...); a pipeline's per-stage keys cannot be told
 * apart by input, and such a report is not recomputed (a warning).
 *
 * The parameter tables are the verifier's (the built-in ones, or
 * CARBONFLUX_PARAMS): the `parameters` table shows a value that differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"
#include "sink/audit/audit_internal.h"
#include "sink/issuance/stocks_read.h"
#include "sink/stocks.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static const cf_json_table stocks_tables[] = {
    {NULL, P("schema", "settings", "inputs", "software", "random_seeds")},
    {"strata", P("strata")},
    {"project estimate", P("confidence", "year", "project")},
    {"project pools", P("project.pools_t_co2e", "project.excluded_pools", "project.total_t_co2e",
                        "project.total_discounted_t_co2e")},
    {"discount", P("project.discount")},
    {"plots", P("plots")},
    {"stems", P("stems")},
    {"parameters", P("parameters")},
};
#define N_STOCKS_TABLES ((int)(sizeof stocks_tables / sizeof *stocks_tables))

enum { ROLE_PLOTS, ROLE_TREES, ROLE_STRATA, N_ROLES };
static const char *const role_names[N_ROLES] = {"plots", "trees", "strata"};

/* A recorded setting as the text that sets it (NULL: leave the default). */
static int setting_text(const cf_json *v, cf_strbuf *sb) {
  switch (v->type) {
    case CF_JSON_STRING: cf_strbuf_puts(sb, v->string); return v->string[0] != '\0';
    case CF_JSON_NUMBER: cf_strbuf_json_double(sb, v->number); return 1;
    case CF_JSON_BOOL: cf_strbuf_puts(sb, v->boolean ? "yes" : "no"); return 1;
    case CF_JSON_ARRAY:
      for (size_t i = 0; i < v->n; i++) {
        if (i) cf_strbuf_puts(sb, ",");
        if (v->items[i]->type == CF_JSON_STRING) cf_strbuf_puts(sb, v->items[i]->string);
      }
      return 1;
    default: return 0; /* null: not given */
  }
}

/* Settings and the inventory options per role, as the report records
 * them. CF_EINVAL naming what cannot be set again. */
static int settings_of(cf_ctx *ctx, const cf_json *doc, const cf_json *const *input, cf_stocks_opts *o,
                       cf_inv_options inv[N_ROLES]) {
  cf_stocks_opts_default(o);
  const cf_json *set = cf_json_get(doc, "settings");
  int have_options = 1, rc = CF_OK;
  for (int k = 0; k < N_ROLES; k++)
    if (input[k] && !cf_json_get(input[k], "options")) have_options = 0;
  for (size_t i = 0; !rc && i < set->n; i++) {
    const char *key = set->keys[i];
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    cf_strbuf_printf(&sb, "%s=", key);
    int given = setting_text(set->items[i], &sb);
    const char *kv = cf_strbuf_str(&sb);
    if (cf_kv_find(&cf_stocks_settings, key)) {
      if (given) rc = cf_stocks_opts_set(ctx, o, kv);
    } else if (!strncasecmp(key, "col.", 4) || cf_inv_option_known(key)) {
      for (int k = 0; !have_options && !rc && k < N_ROLES; k++) rc = cf_inv_options_set(ctx, &inv[k], kv);
    } else if (!have_options) {
      rc = cf_error(ctx, CF_EINVAL, "settings", key, "a pipeline stage's inventory option, recorded before each input "
                    "carried its own options: which input it belongs to is not recorded");
    }
    cf_strbuf_free(&sb);
  }
  for (int k = 0; have_options && !rc && k < N_ROLES; k++) {
    const cf_json *words = input[k] ? cf_json_get(input[k], "options") : NULL;
    for (size_t i = 0; !rc && words && i < words->n; i++)
      rc = words->items[i]->type == CF_JSON_STRING ? cf_inv_options_set(ctx, &inv[k], words->items[i]->string)
                                                   : cf_error(ctx, CF_EINVAL, role_names[k], "options", "not a string");
  }
  return rc;
}

/* The steps of cf_forest_stocks, each input read with its own options. */
static int recompute(cf_ctx *ctx, char *const *found, const cf_stocks_opts *o, const cf_inv_options *inv,
                     cf_plots *plots, cf_trees *trees, cf_strata *strata, cf_stocks_result *r) {
  memset(r, 0, sizeof *r);
  int rc = cf_stocks_opts_check(ctx, o, CF_STOCKS_CHECK_ALLOMETRY | CF_STOCKS_CHECK_POOLS);
  if (!rc) rc = cf_strata_read(ctx, found[ROLE_STRATA], &inv[ROLE_STRATA], strata);
  if (!rc) rc = cf_plots_read(ctx, found[ROLE_PLOTS], &inv[ROLE_PLOTS], plots);
  if (!rc && found[ROLE_TREES]) rc = cf_trees_read(ctx, found[ROLE_TREES], &inv[ROLE_TREES], trees);
  if (!rc) rc = cf_stocks_begin(ctx, found[ROLE_TREES] ? trees : NULL, plots, strata, r);
  if (!rc) rc = cf_stocks_allometry(ctx, o, r);
  if (!rc) rc = cf_stocks_estimate(ctx, o, r);
  if (!rc) rc = cf_stocks_pools(ctx, o, r);
  return rc;
}

static void compare(cf_ctx *ctx, cf_audit *a, int depth, const cf_json *doc, char *const *found,
                    const cf_json *const *input) {
  cf_stocks_opts o;
  cf_inv_options inv[N_ROLES];
  for (int k = 0; k < N_ROLES; k++) cf_inv_options_init(&inv[k]);
  cf_plots plots = {0};
  cf_trees trees = {0};
  cf_strata strata = {0};
  cf_stocks_result r = {0};
  int rc = settings_of(ctx, doc, input, &o, inv);
  if (rc) {
    cf_audit_add(a, CF_AUDIT_WARNING, depth, "recompute", "stock report", "not possible from its record: %s",
                 cf_error_message(ctx));
  } else if ((rc = recompute(ctx, found, &o, inv, &plots, &trees, &strata, &r))) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "stock report", "FAILED: %s", cf_error_message(ctx));
  } else {
    char *text = cf_stocks_report_json(&r, NULL);
    cf_json *again = NULL;
    if (text && !cf_json_parse(ctx, "the recomputed stock report", text, strlen(text), &again))
      cf_audit_tables(a, depth, "stock report", doc, again, stocks_tables, N_STOCKS_TABLES);
    else
      cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "stock report", "FAILED: out of memory");
    cf_json_free(again);
    free(text);
  }
  cf_error_clear(ctx);
  cf_stocks_result_free(&r);
  cf_trees_free(&trees);
  cf_plots_free(&plots);
  cf_strata_free(&strata);
  for (int k = 0; k < N_ROLES; k++) cf_inv_options_free(&inv[k]);
}

int cf_audit_stocks(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *path, const cf_json *doc) {
  char sha[CF_SHA256_HEX_LEN] = "";
  if (cf_sha256_file(ctx, path, sha)) cf_error_clear(ctx);
  cf_audit_add(a, CF_AUDIT_NOTE, depth, "file", "stock report", "%s (%s, sha256 %s)", path, CF_STOCKS_SCHEMA, sha);
  const cf_json *inputs = cf_json_get(doc, "inputs"), *set = cf_json_get(doc, "settings");
  if (strcmp(cf_audit_str(cf_json_get(doc, "software"), "name"), "carbonflux") || !inputs ||
      inputs->type != CF_JSON_ARRAY || !set || set->type != CF_JSON_OBJECT) {
    cf_audit_add(a, CF_AUDIT_WARNING, depth, "recompute", "stock report",
                 "not possible: it records no carbonflux software, settings and inputs (written by other software?); "
                 "its numbers are checked only by its hash");
    return CF_OK;
  }
  cf_audit_software(a, depth, doc);
  char *found[N_ROLES] = {NULL};
  const cf_json *input[N_ROLES] = {NULL};
  int missing = 0;
  for (size_t i = 0; i < inputs->n; i++) {
    const cf_json *r = inputs->items[i];
    const char *role = cf_audit_str(r, "role");
    int k = 0;
    while (k < N_ROLES && strcmp(role, role_names[k])) k++;
    char label[1100];
    snprintf(label, sizeof label, "%s %s", role, cf_audit_str(r, "path"));
    int matches;
    char *f = cf_audit_input(ctx, a, o, depth, path, label, cf_audit_str(r, "path"),
                   cf_audit_str(r, "relative_path"), cf_audit_str(r, "sha256"), &matches);
    missing += !f;
    if (k < N_ROLES && !input[k]) {
      found[k] = f, input[k] = r;
    } else {
      free(f);
      if (k == N_ROLES) cf_audit_add(a, CF_AUDIT_WARNING, depth, "input", label, "a role verify does not know");
    }
  }
  if (missing)
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "stock report", "not possible: %d input%s missing", missing,
                 missing > 1 ? "s are" : " is");
  else if (!found[ROLE_PLOTS] || !found[ROLE_STRATA])
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "stock report", "not possible: no plots or no strata recorded");
  else
    compare(ctx, a, depth, doc, found, input);
  for (int k = 0; k < N_ROLES; k++) free(found[k]);
  return CF_OK;
}
