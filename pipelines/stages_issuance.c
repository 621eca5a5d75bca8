/*
 * The issuance stages: `carbonflux sink ledger` as a pipeline.
 *
 *   sink.change   reads the stock reports of the monitoring events (files,
 *                 in date order, with their dates), checks that they fit
 *                 together (order, lengths, strata, pools) and logs each
 *                 period's change in stocks with its uncertainty
 *   sink.ledger   the baseline, leakage, the policy's deduction and buffer,
 *                 the ledger, written as LEDGER.json and LEDGER.csv
 *   write.report  the verifier's report from that LEDGER.json
 *                 (sink/issuance/report.h), with maps from a pool COG
 *
 * The settings are the rows of the ledger's one settings table
 * (sink/issuance/ledger.h): a pipeline and the command accept the same
 * names and values, and the ledger's "settings" record says which were
 * given in which stage. The reports may be written by earlier stages of
 * the same pipeline (write.stocks), as the demo does: the validator lets
 * an input be an earlier stage's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipelines/pipeline_internal.h"
#include "pipelines/stage_defs.h"
#include "sink/issuance/ledger.h"
#include "sink/issuance/report.h"

#define LEDGER_SETTING(name_, type_) \
  {.name = #name_, .type = CF_SETTING_OPT_##type_, .settings = &cf_ledger_settings_table}

static void destroy_inputs(void *p) {
  cf_ledger_inputs_free(p);
  free(p);
}

/* Mark the table's rows this stage gives, so the ledger records them as given. */
static void note_given(const cf_stage *st, cf_ledger_inputs *in) {
  for (size_t i = 0; i < cf_ledger_settings_table.n; i++)
    if (cf_stage_option(st, cf_ledger_settings_table.opts[i].key, NULL) && cf_stage_has(st, cf_ledger_settings_table.opts[i].key))
      in->given |= (uint64_t)1 << i;
}

static const cf_option_spec change_opts[] = {
    {.name = "events", .type = CF_OPT_INPUT_FILESET, .required = 1,
     .help = "the stock reports (carbonflux-stocks/1) of the monitoring events, in date order"},
    {.name = "dates", .type = CF_OPT_STRING_LIST, .required = 1, .list_min = 2,
     .help = "the events' dates, YYYY-MM-DD, one per report"},
    {.name = "baseline_events", .type = CF_OPT_INPUT_FILESET,
     .help = "baseline stock reports at the same dates (with baseline=series)"},
    {.name = "stratum_map", .type = CF_OPT_STRING_LIST, .help = "FROM=TO: read stratum FROM of any event as TO"},
    {.name = "emissions", .type = CF_OPT_STRING_LIST,
     .help = "DATE=T_CO2E[:WHAT]: project emissions in the period ending on DATE"},
    {.name = "leakage", .type = CF_OPT_STRING_LIST,
     .help = "DATE=T_CO2E[:WHAT]: leakage in the period ending on DATE (instead of leakage_fraction)"},
    LEDGER_SETTING(policy, TEXT),
    LEDGER_SETTING(design, ENUM),
    {NULL}};

/* The stage's entered lists (stratum map, emissions, leakage) into `in`:
 * the same calls at validation and at run time, so --check refuses what
 * the run would. */
static int add_entered(cf_ctx *ctx, cf_stage *st, cf_ledger_inputs *in) {
  int rc = CF_OK;
  for (int i = 0; !rc && cf_stage_has(st, "stratum_map") && i < cf_stage_list_len(st, "stratum_map"); i++)
    rc = cf_ledger_add_map(ctx, in, cf_stage_list_str(st, "stratum_map", i));
  for (int i = 0; !rc && cf_stage_has(st, "emissions") && i < cf_stage_list_len(st, "emissions"); i++)
    rc = cf_ledger_add_emission(ctx, in, cf_stage_list_str(st, "emissions", i));
  for (int i = 0; !rc && cf_stage_has(st, "leakage") && i < cf_stage_list_len(st, "leakage"); i++)
    rc = cf_ledger_add_leakage(ctx, in, cf_stage_list_str(st, "leakage", i));
  return rc;
}

/* Validation: dates, map, emissions and leakage parse, the policy is known, one
 * date per report. */
static int check_change(cf_ctx *ctx, cf_stage *st) {
  cf_ctx *tmp = cf_ctx_create();
  if (!tmp) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  cf_ledger_inputs in;
  cf_ledger_inputs_init(&in);
  const cf_policy *p;
  int rc = cf_stage_apply_settings(tmp, st, &cf_ledger_settings_table, &in.settings);
  if (!rc) rc = cf_policy_lookup(tmp, in.settings.policy, st->name, &p);
  for (int i = 0; !rc && i < cf_stage_list_len(st, "dates"); i++) {
    int y, m, d;
    if (cf_date_parse(cf_stage_list_str(st, "dates", i), &y, &m, &d))
      rc = cf_error(tmp, CF_EINVAL, st->name, "dates", "'%s' is not a calendar date YYYY-MM-DD", cf_stage_list_str(st, "dates", i));
  }
  if (!rc) rc = add_entered(tmp, st, &in);
  char **paths = NULL;
  int n = 0;
  if (!rc && !cf_stage_paths(tmp, st, "events", &paths, &n) && n != cf_stage_list_len(st, "dates"))
    rc = cf_error(tmp, CF_EINVAL, st->name, "dates", "%d dates for %d event reports", cf_stage_list_len(st, "dates"), n);
  cf_stage_paths_free(paths, n);
  if (rc) rc = cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "stage '%s': %s", st->name, cf_error_message(tmp));
  cf_ledger_inputs_free(&in);
  cf_ctx_destroy(tmp);
  return rc;
}

static int add_events(cf_ctx *ctx, cf_run *run, cf_stage *st, const char *option, int baseline, cf_ledger_inputs *in) {
  char **paths = NULL;
  int n = 0, rc = cf_stage_paths(ctx, st, option, &paths, &n);
  for (int i = 0; !rc && i < n; i++) {
    const char *date = i < cf_stage_list_len(st, "dates") ? cf_stage_list_str(st, "dates", i) : "";
    rc = baseline ? cf_ledger_add_baseline(ctx, in, date, paths[i]) : cf_ledger_add_event(ctx, in, date, paths[i]);
    if (!rc) rc = cf_run_note_input(ctx, run, paths[i]);
  }
  cf_stage_paths_free(paths, n);
  return rc;
}

static int run_change(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_ledger_inputs *in = calloc(1, sizeof *in);
  if (!in) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  cf_ledger_inputs_init(in);
  snprintf(in->given_by, sizeof in->given_by, "pipeline stage");
  int rc = cf_stage_apply_settings(ctx, st, &cf_ledger_settings_table, &in->settings);
  note_given(st, in);
  if (!rc) rc = add_events(ctx, run, st, "events", 0, in);
  if (!rc && cf_stage_has(st, "baseline_events")) rc = add_events(ctx, run, st, "baseline_events", 1, in);
  if (!rc) rc = add_entered(ctx, st, in);
  /* the periods' change now, so that reports which do not fit stop here
   * (order, lengths, strata, pools) and the log shows each change; the
   * ledger's settings come in sink.ledger, so a policy-neutral rate and
   * buffer stand in (nothing of this result is kept) */
  const cf_policy *p = NULL;
  if (!rc) rc = cf_policy_lookup(ctx, in->settings.policy, st->name, &p);
  for (int k = 1; !rc && k < in->n_events; k++) {
    const cf_ledger_event *a = &in->events[k - 1], *b = &in->events[k];
    if (b->t <= a->t) {
      rc = cf_error(ctx, CF_EINVAL, b->report.path, "date", "event %d (%s) is not after event %d (%s): give the events "
                    "in date order, each period of positive length", k + 1, b->date, k, a->date);
      break;
    }
    cf_period_change c;
    rc = cf_period_change_compute(ctx, &a->report, &b->report, cf_date_span(a->ymd, b->ymd), p->pools,
                                  (cf_change_design)in->settings.design, in->maps, in->n_maps, &c);
    if (!rc)
      cf_log(ctx, CF_LOG_INFO, "period %d (%s to %s, %.4f years): change %.1f t CO2e (%.1f t CO2e/yr), U %.2f %% at 90 %%",
             k, a->date, b->date, c.years, c.change, c.annual_change, c.u_pct);
    cf_period_change_free(&c);
  }
  if (rc) {
    destroy_inputs(in);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_ISSUANCE, in, destroy_inputs);
  return CF_OK;
}

static const cf_option_spec ledger_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1,
     .help = "LEDGER.json (LEDGER.csv is written beside it); may use {stem}"},
    LEDGER_SETTING(baseline, ENUM),
    LEDGER_SETTING(baseline_rate, DOUBLE),
    LEDGER_SETTING(baseline_b_forest, DOUBLE),
    LEDGER_SETTING(baseline_cc, DOUBLE),
    LEDGER_SETTING(baseline_cc_rate, DOUBLE),
    LEDGER_SETTING(baseline_area_ha, DOUBLE),
    LEDGER_SETTING(baseline_cf, DOUBLE),
    LEDGER_SETTING(leakage_fraction, DOUBLE),
    LEDGER_SETTING(risk_rating_pct, DOUBLE),
    LEDGER_SETTING(long_term_average_t_co2e, DOUBLE),
    LEDGER_SETTING(cdm_credit, ENUM),
    {NULL}};

static int check_ledger(cf_ctx *ctx, cf_stage *st) {
  const char *path = cf_stage_str(st, "path");
  size_t n = path ? strlen(path) : 0;
  if (n < 6 || strcmp(path + n - 5, ".json") != 0)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "path"),
                         "the ledger's name ends in .json (its CSV goes beside it)");
  return CF_OK;
}

static int run_ledger(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_ledger_inputs *in = cf_run_input(run, st);
  if (!in) return cf_error(ctx, CF_EINTERNAL, st->source, "", "stage '%s' has no events to work on", st->name);
  int rc = cf_stage_apply_settings(ctx, st, &cf_ledger_settings_table, &in->settings);
  note_given(st, in);
  char *path = rc ? NULL : cf_stage_path(st, run, "path");
  if (!rc && !path) rc = cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  cf_ledger l = {0};
  if (!rc) rc = cf_ledger_compute(ctx, in, &l);
  if (!rc) rc = cf_ledger_write(ctx, in, &l, path);
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "ledger (%s): %d periods, net %.1f t CO2e, buffer %.1f, issuable %.1f t CO2e (%lld units)",
           l.policy->name, l.n_periods, l.total_net, l.total_buffer, l.total_issuable, l.total_units);
    rc = cf_run_note_output(ctx, run, path);
  }
  cf_ledger_free(&l);
  if (!rc) {
    cf_run_set_product(run, st->index, CF_PRODUCT_LEDGER, path, free); /* for write.report */
    path = NULL;
  }
  free(path);
  return rc;
}

/* --- write.report --------------------------------------------------------------- */

#define REPORT_SETTING(name_) {.name = #name_, .type = CF_OPT_STRING, .settings = &cf_ireport_settings_table}

static const cf_option_spec report_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1,
     .help = "REPORT.html (its tables as CSV, strata_plots.gpkg and .kml beside it); may use {stem}"},
    {.name = "pool_map", .type = CF_OPT_INPUT_PATH,
     .help = "the pool COG (sink.pool_map -> write.cog, bands total and total_se) for the maps; none: no maps"},
    {.name = "strata", .type = CF_OPT_INPUT_PATH,
     .help = "strata polygons for the maps and the GPKG/KML (default: the strata the last stock report read)"},
    {.name = "plots", .type = CF_OPT_INPUT_PATH,
     .help = "plots CSV with lon, lat for the maps and the GPKG/KML (default: the plots the last stock report read)"},
    REPORT_SETTING(stratum_field),
    REPORT_SETTING(strata_layer),
    REPORT_SETTING(density_band),
    REPORT_SETTING(se_band),
    {NULL}};

static int check_report(cf_ctx *ctx, cf_stage *st) {
  const char *path = cf_stage_str(st, "path");
  size_t n = path ? strlen(path) : 0;
  if (!(n > 5 && !strcmp(path + n - 5, ".html")))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "path"),
                         "the report's name ends in .html (its CSV tables go beside it)");
  return CF_OK;
}

static int run_report(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  const char *ledger = cf_run_input(run, st);
  if (!ledger) return cf_error(ctx, CF_EINTERNAL, st->source, "", "stage '%s' has no ledger to report", st->name);
  cf_ireport_spec spec = {.ledger_path = ledger, .generated = -1};
  cf_ireport_settings_default(&spec.settings);
  int rc = cf_stage_apply_settings(ctx, st, &cf_ireport_settings_table, &spec.settings);
  char *out = rc ? NULL : cf_stage_path(st, run, "path");
  char *cog = cf_stage_has(st, "pool_map") ? cf_stage_path(st, run, "pool_map") : NULL;
  char *strata = cf_stage_has(st, "strata") ? cf_stage_path(st, run, "strata") : NULL;
  char *plots = cf_stage_has(st, "plots") ? cf_stage_path(st, run, "plots") : NULL;
  if (!rc && (!out || (cf_stage_has(st, "pool_map") && !cog) || (cf_stage_has(st, "strata") && !strata) ||
              (cf_stage_has(st, "plots") && !plots)))
    rc = cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  spec.html_path = out, spec.pool_map = cog, spec.strata_path = strata, spec.plots_path = plots;
  cf_ireport_info info;
  if (!rc) rc = cf_ireport_write(ctx, &spec, &info);
  if (!rc) {
    if (info.n_images)
      cf_log(ctx, CF_LOG_INFO, "report: %d tables, %d maps with %d plots", info.n_tables, info.n_images, info.n_plots_drawn);
    else
      cf_log(ctx, CF_LOG_INFO, "report: %d tables, no maps (no pool_map given)", info.n_tables);
    rc = cf_run_wrote(ctx, run, out);
  }
  free(out), free(cog), free(strata), free(plots);
  return rc;
}

const cf_stage_def cf_stage_sink_change = {
    "sink.change", "monitoring periods: the change in carbon stocks between stock reports, with its uncertainty",
    CF_PRODUCT_ISSUANCE, CF_PRODUCT_NONE, change_opts, check_change, run_change};
const cf_stage_def cf_stage_sink_ledger = {
    "sink.ledger", "the issuance ledger: baseline, leakage, deductions, buffer and units per period and vintage "
    "(LEDGER.json and LEDGER.csv)",
    CF_PRODUCT_LEDGER, CF_PRODUCT_ISSUANCE, ledger_opts, check_ledger, run_ledger};
const cf_stage_def cf_stage_write_report = {
    "write.report", "the verifier's report from the ledger: one self-contained HTML file with the stocks per stratum, "
    "the ledger with its equations, the uncertainty statement, maps, every parameter with its source; CSV tables, "
    "GeoPackage and KML beside it",
    CF_PRODUCT_NONE, CF_PRODUCT_LEDGER, report_opts, check_report, run_report};
