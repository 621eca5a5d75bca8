/*
 * Verifying a ledger (audit.h): its inputs re-hashed (and each stock
 * report verified one level deeper), then the ledger recomputed from the
 * recorded inputs as ledger.h says a recompute is done (the events and
 * baseline reports with their dates, the emissions and stratum map as
 * entered, every setting whose source is not "default" set again from its
 * `text`) and compared table by table with what was recorded.
 *
 * The tables are the ledger's quantities, named as a verifier reads them;
 * the input paths are left out of the comparison (they are where the
 * files were, and are checked by their hashes above), as are the
 * software version (a warning line of its own) and the seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/audit/audit_internal.h"
#include "sink/issuance/ledger.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static const cf_json_table ledger_tables[] = {
    {NULL, P("schema", "software", "random_seeds", "inputs")},
    {"policy", P("policy", "units")},
    {"settings", P("settings")},
    {"emissions, leakage and stratum map entered", P("emissions", "leakage", "stratum_map")},
    {"parameters", P("parameters")},
    {"change per pool", P("periods.period", "periods.start", "periods.end", "periods.stocks", "periods.change_t_co2e")},
    {"uncertainty", P("periods.stocks.uncertainty")},
    {"uncertainty deduction", P("periods.uncertainty_deduction_t_co2e", "periods.change_adjusted_t_co2e")},
    {"baseline", P("periods.baseline_t_co2e")},
    {"emissions", P("periods.emissions_t_co2e")},
    {"leakage", P("periods.leakage_t_co2e")},
    {"net and cumulative totals",
     P("periods.net_t_co2e", "periods.cumulative_net_t_co2e", "periods.level_t_co2e", "periods.capped_t_co2e",
       "periods.peak_t_co2e", "periods.credited_t_co2e", "periods.reversal_t_co2e", "periods.deficit_t_co2e")},
    {"buffer", P("periods.buffer_pct", "periods.buffer_t_co2e", "periods.buffer_cancelled_t_co2e",
                 "periods.buffer_pool_t_co2e")},
    {"issuable units", P("periods.tcer_t_co2e", "periods.lcer_t_co2e", "periods.lcer_to_replace_t_co2e",
                         "periods.issuable_t_co2e", "periods.cumulative_issuable_t_co2e", "periods.units",
                         "periods.cumulative_units")},
    {"equations", P("periods.equations")},
    {"vintages", P("periods.vintages")},
    {"totals", P("totals")},
};
#define N_LEDGER_TABLES ((int)(sizeof ledger_tables / sizeof *ledger_tables))

/* The recorded emissions, leakage, stratum map and settings into `in`. */
static int entered(cf_ctx *ctx, const cf_json *doc, cf_ledger_inputs *in) {
  const cf_json *map = cf_json_get(doc, "stratum_map");
  int rc = CF_OK;
  char spec[600];
  for (int q = 0; q < 2; q++) { /* the tonnages entered per period, as ledger_write.c records them */
    const cf_json *em = cf_json_get(doc, q ? "leakage" : "emissions");
    for (size_t i = 0; !rc && em && i < em->n; i++) {
      const cf_json *t = cf_json_get(em->items[i], "t_co2e");
      snprintf(spec, sizeof spec, "%s=%.17g:%s", cf_audit_str(em->items[i], "end"), t ? t->number : -1.0,
               cf_audit_str(em->items[i], "what"));
      rc = q ? cf_ledger_add_leakage(ctx, in, spec) : cf_ledger_add_emission(ctx, in, spec);
    }
  }
  for (size_t i = 0; !rc && map && i < map->n; i++) {
    snprintf(spec, sizeof spec, "%s=%s", cf_audit_str(map->items[i], "from"), cf_audit_str(map->items[i], "to"));
    rc = cf_ledger_add_map(ctx, in, spec);
  }
  const cf_json *set = cf_json_get(doc, "settings");
  for (size_t i = 0; !rc && set && set->type == CF_JSON_OBJECT && i < set->n; i++) {
    const char *source = cf_audit_str(set->items[i], "source");
    if (!strcmp(source, "default")) continue;
    snprintf(in->given_by, sizeof in->given_by, "%s", source);
    snprintf(spec, sizeof spec, "%s=%s", set->keys[i], cf_audit_str(set->items[i], "text"));
    rc = cf_ledger_inputs_set(ctx, in, spec);
  }
  return rc;
}

/* The ledger again from the files found: the call sequence of ledger.h. */
static int recompute(cf_ctx *ctx, const cf_json *doc, const cf_json *inputs, size_t n, char *const *found,
                     cf_ledger_inputs *in, cf_ledger *l) {
  cf_ledger_inputs_init(in);
  int rc = CF_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    const cf_json *r = inputs->items[i];
    const char *date = cf_audit_str(r, "date");
    int base = !strcmp(cf_audit_str(r, "role"), "baseline");
    rc = base ? cf_ledger_add_baseline(ctx, in, date, found[i]) : cf_ledger_add_event(ctx, in, date, found[i]);
    /* read from where it was found, named as recorded (parameter sources quote it) */
    cf_stocks_in *rep = base ? &in->baseline[in->n_baseline - 1].report : &in->events[in->n_events - 1].report;
    char *named = rc ? NULL : strdup(cf_audit_str(r, "path"));
    if (named) free(rep->path), rep->path = named;
    else if (!rc) rc = cf_error(ctx, CF_ENOMEM, found[i], "", "out of memory");
  }
  if (!rc) rc = entered(ctx, doc, in);
  return rc ? rc : cf_ledger_compute(ctx, in, l);
}

int cf_audit_ledger(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *path, const cf_json *doc) {
  char sha[CF_SHA256_HEX_LEN] = "";
  if (cf_sha256_file(ctx, path, sha)) cf_error_clear(ctx);
  cf_audit_add(a, CF_AUDIT_NOTE, depth, "file", "ledger", "%s (%s, sha256 %s, policy %s)", path, CF_LEDGER_SCHEMA, sha,
               cf_audit_str(cf_json_get(doc, "policy"), "name"));
  cf_audit_software(a, depth, doc);
  const cf_json *inputs = cf_json_get(doc, "inputs");
  size_t n = inputs && inputs->type == CF_JSON_ARRAY ? inputs->n : 0;
  char **found = calloc(n ? n : 1, sizeof *found);
  if (!found) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  int missing = 0;
  /* every input's hash first, so a changed file is named before any table */
  for (size_t i = 0; i < n; i++) {
    const cf_json *r = inputs->items[i];
    char label[1100];
    snprintf(label, sizeof label, "%s %s %s", cf_audit_str(r, "role"), cf_audit_str(r, "date"), cf_audit_str(r, "path"));
    int matches;
    found[i] = cf_audit_input(ctx, a, o, depth, path, label, cf_audit_str(r, "path"),
                   cf_audit_str(r, "relative_path"), cf_audit_str(r, "sha256"), &matches);
    missing += !found[i];
  }
  int rc = CF_OK;
  for (size_t i = 0; i < n && !rc; i++) { /* one level deeper: each stock report's own record */
    cf_json *rep = NULL;
    if (!found[i]) continue;
    if (cf_json_load_file(ctx, found[i], &rep) || strcmp(cf_audit_str(rep, "schema"), CF_STOCKS_SCHEMA)) {
      cf_audit_add(a, CF_AUDIT_DIFFERS, depth + 1, "recompute", "stock report", "%s cannot be read as %s: %s", found[i],
                   CF_STOCKS_SCHEMA, cf_error_count(ctx) ? cf_error_message(ctx) : "another schema");
      cf_error_clear(ctx);
    } else {
      rc = cf_audit_stocks(ctx, a, o, depth + 1, found[i], rep);
    }
    cf_json_free(rep);
  }
  /* the recompute, from the files found (a changed one shows in the tables it moves) */
  if (missing) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "ledger", "not possible: %d input%s missing", missing,
                 missing > 1 ? "s are" : " is");
  } else if (!rc) {
    cf_ledger_inputs in;
    cf_ledger l = {0};
    int st = recompute(ctx, doc, inputs, n, found, &in, &l);
    char *text = st ? NULL : cf_ledger_json(&in, &l);
    cf_json *again = NULL;
    if (st == CF_ENOMEM || (!st && !text)) {
      rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    } else if (st) {
      cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", "ledger", "FAILED: %s", cf_error_message(ctx));
      cf_error_clear(ctx);
    } else if (!(rc = cf_json_parse(ctx, "the recomputed ledger", text, strlen(text), &again))) {
      cf_audit_tables(a, depth, "ledger", doc, again, ledger_tables, N_LEDGER_TABLES);
    }
    cf_json_free(again);
    free(text);
    cf_ledger_free(&l);
    cf_ledger_inputs_free(&in);
  }
  for (size_t i = 0; i < n; i++) free(found[i]);
  free(found);
  return rc;
}
