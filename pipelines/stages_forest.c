/*
 * The forest-stocks stages: the steps of sink/stocks.h as a pipeline.
 *
 *   ingest.plots, ingest.trees, ingest.strata    read one inventory table each
 *   sink.allometry   links them; AGB of every plot of the monitoring year
 *   sink.strata      tree biomass per plot and the AR-TOOL14 stratified
 *                    estimate with its uncertainty
 *   sink.pools       the five pools per stratum and the project totals with
 *                    the discount
 *   write.stocks     REPORT.json and REPORT.csv (the forest-io spec)
 *
 * The sink.* options are the rows of the one settings table of
 * `carbonflux forest stocks` (sink/stocks.h), so a pipeline and the command
 * accept the same names and values. The sink.* stages pass one result
 * along: each takes its input's product over (cf_run_take_input) and adds
 * its step, so the chain holds one copy however long it is. The inventory
 * keys (col.FIELD=HEADER, years, live_codes, dead_codes, stratum_field)
 * are options of the ingest stages, checked at validation by the
 * inventory's own parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/stage_defs.h"
#include "sink/inventory.h"
#include "sink/stocks.h"

/* --- inventory keys as options ------------------------------------------------------ */

#define INV_COLUMNS                                                                                                \
  {.name = "columns", .type = CF_OPT_STRING_LIST,                                                                  \
   .help = "columns under other names, FIELD=HEADER (e.g. dbh_cm=DBH_{year}: {year} reads a wide table)"}
#define INV_YEARS                                                                                                  \
  {.name = "years", .type = CF_OPT_DOUBLE_LIST, .has_min = 1, .min = 1000, .has_max = 1, .max = 3000,             \
   .help = "monitoring years of a wide table (or those kept of a long one)"}

/* The stage's inventory options as a cf_inv_options. */
static int inv_options(cf_ctx *ctx, const cf_stage *st, cf_inv_options *o) {
  cf_inv_options_init(o);
  o->pipeline_form = 1; /* a missing column's hint: the stage's `columns: [FIELD=HEADER]` */
  int rc = CF_OK;
  char kv[1024];
  for (int i = 0; !rc && cf_stage_has(st, "columns") && i < cf_stage_list_len(st, "columns"); i++) {
    snprintf(kv, sizeof kv, "col.%s", cf_stage_list_str(st, "columns", i));
    if (!strchr(kv, '='))
      rc = cf_error(ctx, CF_EINVAL, st->source, "columns", "'%s' is not FIELD=HEADER", kv + 4);
    else
      rc = cf_inv_options_set(ctx, o, kv);
  }
  const char *lists[3] = {"years", "live_codes", "dead_codes"};
  for (int k = 0; !rc && k < 3; k++) {
    if (!cf_stage_has(st, lists[k])) continue;
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    cf_strbuf_printf(&sb, "%s=", lists[k]);
    for (int i = 0; i < cf_stage_list_len(st, lists[k]); i++) {
      if (k == 0)
        cf_strbuf_printf(&sb, "%s%d", i ? "," : "", (int)cf_stage_list_double(st, lists[k], i));
      else
        cf_strbuf_printf(&sb, "%s%s", i ? "," : "", cf_stage_list_str(st, lists[k], i));
    }
    char *text = cf_strbuf_take(&sb);
    rc = text ? cf_inv_options_set(ctx, o, text) : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
    free(text);
  }
  if (!rc && cf_stage_has(st, "stratum_field")) {
    snprintf(kv, sizeof kv, "stratum_field=%s", cf_stage_str(st, "stratum_field"));
    rc = cf_inv_options_set(ctx, o, kv);
  }
  if (rc) cf_inv_options_free(o);
  return rc;
}

/* The table's header read with the stage's options, as a run reads it up to
 * its first row (cf_inv_options.header_only): a column the mapping names
 * that the file lacks is the pipeline's error at validation, so that `run
 * --check` fails where the run would. Only mapping errors (those naming a
 * field) are reported here: a file that is missing, not text or empty is
 * the run's to reject as an input (exit 4), as a batch would. */
static int check_inventory_header(cf_ctx *ctx, cf_stage *st, cf_inv_options *o) {
  const cf_yaml_node *v = cf_stage_value(st, "path");
  if (!v || v->kind != CF_YAML_SCALAR || strpbrk(v->value, "{*?[")) return CF_OK;
  char *path = cf_path_join(cf_stage_base_dir(st, v), v->value);
  if (!path || !cf_file_exists(path)) {
    free(path);
    return CF_OK; /* a missing input is reported as missing */
  }
  cf_ctx *tmp = cf_ctx_create();
  int rc = tmp ? CF_OK : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  o->header_only = 1;
  const char *type = st->def->type;
  if (!rc) {
    if (!strcmp(type, "ingest.plots")) {
      cf_plots t;
      if (cf_plots_read(tmp, path, o, &t) == CF_OK) cf_plots_free(&t);
    } else if (!strcmp(type, "ingest.trees")) {
      cf_trees t;
      if (cf_trees_read(tmp, path, o, &t) == CF_OK) cf_trees_free(&t);
    } else {
      cf_strata t;
      if (cf_strata_read(tmp, path, o, &t) == CF_OK) cf_strata_free(&t);
    }
    const cf_error_frame *e = cf_error_count(tmp) ? cf_error_get(tmp, 0) : NULL;
    if (e && e->field[0] && e->code != CF_ENOMEM)
      rc = cf_yaml_error(ctx, CF_EINVAL, st->source, v, "stage '%s': %s", st->name, cf_error_message(tmp));
  }
  cf_ctx_destroy(tmp);
  free(path);
  return rc;
}

/* Validation: the keys parse (the message is the inventory's, placed at the
 * stage), and the file's header has the columns they map. */
static int check_inventory(cf_ctx *ctx, cf_stage *st) {
  cf_inv_options o;
  cf_ctx *tmp = cf_ctx_create();
  if (!tmp) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  int rc = inv_options(tmp, st, &o);
  if (rc) {
    rc = cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "stage '%s': %s", st->name, cf_error_message(tmp));
  } else {
    rc = check_inventory_header(ctx, st, &o);
    cf_inv_options_free(&o);
  }
  cf_ctx_destroy(tmp);
  return rc;
}

static void destroy_plots(void *p) {
  cf_plots_free(p);
  free(p);
}
static void destroy_trees(void *p) {
  cf_trees_free(p);
  free(p);
}
static void destroy_strata(void *p) {
  cf_strata_free(p);
  free(p);
}

typedef enum { INV_PLOTS, INV_TREES, INV_STRATA } inv_kind;

static int run_ingest_inventory(cf_ctx *ctx, cf_run *run, cf_stage *st, inv_kind kind) {
  char *path = cf_stage_path(st, run, "path");
  cf_inv_options o;
  int rc = path ? inv_options(ctx, st, &o) : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  if (rc) {
    free(path);
    return rc;
  }
  void *table = calloc(1, kind == INV_PLOTS ? sizeof(cf_plots) : kind == INV_TREES ? sizeof(cf_trees) : sizeof(cf_strata));
  rc = table ? CF_OK : cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  if (!rc && kind == INV_PLOTS) {
    rc = cf_plots_read(ctx, path, &o, table);
    if (!rc) cf_log(ctx, CF_LOG_INFO, "read %s: %zu plot rows", path, ((cf_plots *)table)->n);
    if (!rc) cf_run_set_product(run, st->index, CF_PRODUCT_PLOTS, table, destroy_plots);
  } else if (!rc && kind == INV_TREES) {
    rc = cf_trees_read(ctx, path, &o, table);
    if (!rc) cf_log(ctx, CF_LOG_INFO, "read %s: %zu stem records", path, ((cf_trees *)table)->n);
    if (!rc) cf_run_set_product(run, st->index, CF_PRODUCT_TREES, table, destroy_trees);
  } else if (!rc) {
    rc = cf_strata_read(ctx, path, &o, table);
    if (!rc) cf_log(ctx, CF_LOG_INFO, "read %s: %zu strata", path, ((cf_strata *)table)->n);
    if (!rc) cf_run_set_product(run, st->index, CF_PRODUCT_STRATA, table, destroy_strata);
  }
  if (rc) free(table);
  if (!rc) rc = cf_run_note_input(ctx, run, path); /* its SHA-256 in the run's provenance */
  cf_inv_options_free(&o);
  free(path);
  return rc;
}

static int run_plots(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_ingest_inventory(ctx, run, st, INV_PLOTS); }
static int run_trees(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_ingest_inventory(ctx, run, st, INV_TREES); }
static int run_strata(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_ingest_inventory(ctx, run, st, INV_STRATA); }

static const cf_option_spec plots_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATH, .required = 1, .help = "plots CSV (forest-io spec)"},
    INV_COLUMNS,
    INV_YEARS,
    {NULL}};
static const cf_option_spec trees_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATH, .required = 1, .help = "trees CSV, one row per stem (forest-io spec)"},
    INV_COLUMNS,
    INV_YEARS,
    {.name = "live_codes", .type = CF_OPT_STRING_LIST, .help = "status codes of live stems (live is always one)"},
    {.name = "dead_codes", .type = CF_OPT_STRING_LIST, .help = "status codes of dead stems (default DS, DC, DN; dead)"},
    {NULL}};
static const cf_option_spec strata_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATH, .required = 1,
     .help = "strata: a CSV (stratum, area_ha) or any polygon layer OGR reads (areas on the ellipsoid)"},
    {.name = "stratum_field", .type = CF_OPT_STRING, .help = "the layer's field naming the stratum (default: stratum)"},
    INV_COLUMNS,
    {NULL}};

/* --- the sink.* steps ------------------------------------------------------------------ */

/* The result passed along the sink.* stages, with the settings applied so far. */
typedef struct {
  cf_stocks_result r;
  cf_stocks_opts opts;
} stocks_job;

static void destroy_job(void *p) {
  stocks_job *j = p;
  if (!j) return;
  cf_stocks_result_free(&j->r);
  free(j);
}

#define STOCK_SETTING(name_, type_) {.name = #name_, .type = CF_SETTING_OPT_##type_, .settings = &cf_stocks_settings}

static const cf_option_spec allometry_opts[] = {
    {.name = "plots", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_PLOTS, .required = 1,
     .help = "ingest.plots stage"},
    {.name = "trees", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_TREES,
     .help = "ingest.trees stage (none: plots with measured agb_t_dm_per_ha)"},
    {.name = "strata", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_STRATA, .required = 1,
     .help = "ingest.strata stage"},
    STOCK_SETTING(allometry, TEXT),
    STOCK_SETTING(unknown_species, TEXT),
    STOCK_SETTING(year, INT),
    {NULL}};

static int run_allometry(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  int pi = cf_stage_ref(st, run, "plots"), ti = cf_stage_ref(st, run, "trees"), si = cf_stage_ref(st, run, "strata");
  const cf_plots *plots = cf_run_product(run, pi, CF_PRODUCT_PLOTS);
  cf_trees *trees = ti >= 0 ? cf_run_product(run, ti, CF_PRODUCT_TREES) : NULL;
  const cf_strata *strata = cf_run_product(run, si, CF_PRODUCT_STRATA);
  stocks_job *j = calloc(1, sizeof *j);
  if (!j) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  cf_stocks_opts_default(&j->opts);
  int rc = cf_stage_apply_settings(ctx, st, &cf_stocks_settings, &j->opts);
  if (!rc) rc = cf_stocks_begin(ctx, trees, plots, strata, &j->r);
  if (!rc) rc = cf_stocks_allometry(ctx, &j->opts, &j->r);
  if (rc) {
    destroy_job(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_STOCKS, j, destroy_job);
  return CF_OK;
}

static const cf_option_spec strata_step_opts[] = {
    STOCK_SETTING(root_shoot, NUM_OR_ENUM),
    STOCK_SETTING(ecozone, TEXT),
    STOCK_SETTING(forest_type, TEXT),
    STOCK_SETTING(confidence, DOUBLE),
    {NULL}};

static const cf_option_spec pools_opts[] = {
    STOCK_SETTING(pools, FLAGS),
    STOCK_SETTING(carbon_fraction, DOUBLE),
    STOCK_SETTING(deadwood_fraction, NUM_OR_ENUM),
    STOCK_SETTING(litter_fraction, NUM_OR_ENUM),
    STOCK_SETTING(biome, ENUM),
    STOCK_SETTING(elevation_m, DOUBLE),
    STOCK_SETTING(precipitation_mm, DOUBLE),
    STOCK_SETTING(soc_ref, DOUBLE),
    STOCK_SETTING(f_lu, DOUBLE),
    STOCK_SETTING(f_mg, DOUBLE),
    STOCK_SETTING(f_in, DOUBLE),
    STOCK_SETTING(years_since_planting, DOUBLE),
    STOCK_SETTING(discount, ENUM),
    STOCK_SETTING(side, ENUM),
    {NULL}};

/* The sink.* steps take their input's result over (one copy along the
 * chain): a second stage using the same input after one took it would find
 * nothing. Such a fork is refused at validation. */
static int is_taker(const cf_stage_def *d);
static int check_chain(cf_ctx *ctx, cf_stage *st) {
  const cf_stage *first = st - st->index;
  for (int i = 0; i < st->index; i++) {
    const cf_stage *o = &first[i];
    if (o->input == st->input && st->input >= 0 && is_taker(o->def))
      return cf_yaml_error(ctx, CF_EINVAL, st->source, st->node,
                           "stage '%s' continues the stocks of '%s', which stage '%s' has already continued; a second "
                           "branch needs its own sink.allometry (or its own pipeline)",
                           st->name, first[st->input].name, o->name);
  }
  return CF_OK;
}

/* Validation: the stage's settings as `forest stocks` checks them before
 * reading anything, so that a pipeline passing --check does not fail at
 * run time on its own options. */
static int check_stocks_stage(cf_ctx *ctx, cf_stage *st, unsigned what) {
  cf_stocks_opts o;
  cf_stocks_opts_default(&o);
  cf_ctx *tmp = cf_ctx_create();
  if (!tmp) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  int rc = cf_stage_apply_settings(tmp, st, &cf_stocks_settings, &o);
  if (!rc) rc = cf_stocks_opts_check(tmp, &o, what);
  if (rc) rc = cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "stage '%s': %s", st->name, cf_error_message(tmp));
  cf_ctx_destroy(tmp);
  return rc;
}
static int check_allometry_stage(cf_ctx *ctx, cf_stage *st) { return check_stocks_stage(ctx, st, CF_STOCKS_CHECK_ALLOMETRY); }
static int check_pools_stage(cf_ctx *ctx, cf_stage *st) {
  return check_chain(ctx, st) ? CF_EINVAL : check_stocks_stage(ctx, st, CF_STOCKS_CHECK_POOLS);
}

typedef enum { STEP_ESTIMATE, STEP_POOLS } stocks_step;

static int run_step(cf_ctx *ctx, cf_run *run, cf_stage *st, stocks_step step) {
  stocks_job *j = cf_run_take_input(run, st);
  if (!j) return cf_error(ctx, CF_EINTERNAL, st->source, "", "stage '%s' has no stocks to work on", st->name);
  int rc = cf_stage_apply_settings(ctx, st, &cf_stocks_settings, &j->opts);
  if (!rc) rc = step == STEP_ESTIMATE ? cf_stocks_estimate(ctx, &j->opts, &j->r) : cf_stocks_pools(ctx, &j->opts, &j->r);
  if (rc) {
    destroy_job(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_STOCKS, j, destroy_job);
  return CF_OK;
}

static int run_estimate(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_ESTIMATE); }
static int run_pools(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_POOLS); }

/* --- write.stocks ------------------------------------------------------------------------ */

static const cf_option_spec write_stocks_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1,
     .help = "REPORT.json (REPORT.csv is written beside it); may use {stem}"},
    {NULL}};

/* Validation: REPORT.json, and its CSV beside it is no input of the
 * pipeline (the runner checks the .json path itself against every input). */
static int check_write_stocks(cf_ctx *ctx, cf_stage *st) {
  if (check_chain(ctx, st)) return CF_EINVAL;
  const cf_yaml_node *v = cf_stage_value(st, "path");
  const char *path = cf_stage_str(st, "path");
  size_t n = path ? strlen(path) : 0;
  if (n < 6 || strcmp(path + n - 5, ".json") != 0)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, v, "the report's name ends in .json (its CSV goes beside it)");
  char *full = cf_path_join(cf_stage_base_dir(st, v), path);
  if (!full) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  memcpy(full + strlen(full) - 5, ".csv", 5);
  const cf_stage *first = st - st->index; /* the stages are one array in pipeline order */
  int rc = CF_OK;
  for (int i = 0; i < st->index && !rc; i++) {
    const cf_stage *in = &first[i];
    for (int k = 0; in->def->options[k].name && !rc; k++) {
      const cf_yaml_node *iv = in->values[k];
      if (in->def->options[k].type != CF_OPT_INPUT_PATH || !iv || iv->kind != CF_YAML_SCALAR) continue;
      char *ip = cf_path_join(cf_stage_base_dir(in, iv), iv->value);
      if (ip && cf_path_same(ip, full))
        rc = cf_yaml_error(ctx, CF_EINVAL, st->source, v, "the report's CSV '%s' is the input of stage '%s'; it would be "
                           "overwritten", full, in->name);
      free(ip);
    }
  }
  free(full);
  return rc;
}

/* Pipeline provenance: the inventory options of the ingest stages, as the
 * command's KEY=VALUE words would give them. */
static void inventory_settings_json(cf_strbuf *sb, const cf_stage *st) {
  const cf_stage *first = st - st->index;
  for (int i = 0; i < st->index; i++) {
    const cf_stage *in = &first[i];
    if (strncmp(in->def->type, "ingest.", 7) || (in->def->product != CF_PRODUCT_PLOTS &&
                                                 in->def->product != CF_PRODUCT_TREES &&
                                                 in->def->product != CF_PRODUCT_STRATA))
      continue;
    const char *lists[4] = {"columns", "years", "live_codes", "dead_codes"};
    for (int k = 0; k < 4; k++) {
      if (!cf_stage_option(in, lists[k], NULL) || !cf_stage_has(in, lists[k])) continue;
      cf_strbuf_printf(sb, ",\"%s.%s\":[", in->name, lists[k]);
      for (int j = 0; j < cf_stage_list_len(in, lists[k]); j++) {
        if (j) cf_strbuf_puts(sb, ",");
        if (k == 1)
          cf_strbuf_printf(sb, "%d", (int)cf_stage_list_double(in, lists[k], j));
        else
          cf_strbuf_json_string(sb, cf_stage_list_str(in, lists[k], j));
      }
      cf_strbuf_puts(sb, "]");
    }
    if (cf_stage_option(in, "stratum_field", NULL) && cf_stage_has(in, "stratum_field")) {
      cf_strbuf_printf(sb, ",\"%s.stratum_field\":", in->name);
      cf_strbuf_json_string(sb, cf_stage_str(in, "stratum_field"));
    }
  }
}

static int run_write_stocks(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  const stocks_job *j = cf_run_input(run, st);
  if (!j || !j->r.totals.policy)
    return cf_error(ctx, CF_EINVAL, st->source, "", "stage '%s': its input has no pools yet (put sink.pools before it)",
                    st->name);
  char *path = cf_stage_path(st, run, "path");
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, cf_stocks_settings.opts, cf_stocks_settings.n, &j->opts);
  inventory_settings_json(&sb, st);
  cf_strbuf_puts(&sb, "}");
  char *settings = cf_strbuf_take(&sb);
  int rc = path && settings ? cf_stocks_write(ctx, &j->r, path, settings) : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  if (!rc) rc = cf_run_note_output(ctx, run, path);
  free(settings);
  free(path);
  return rc;
}

const cf_stage_def cf_stage_ingest_plots = {"ingest.plots", "read a plots table (forest-io spec)", CF_PRODUCT_PLOTS,
                                            CF_PRODUCT_NONE, plots_opts, check_inventory, run_plots};
const cf_stage_def cf_stage_ingest_trees = {"ingest.trees", "read a trees table, one row per stem (forest-io spec)",
                                            CF_PRODUCT_TREES, CF_PRODUCT_NONE, trees_opts, check_inventory, run_trees};
const cf_stage_def cf_stage_ingest_strata = {"ingest.strata", "read the strata: a CSV or a polygon layer (forest-io spec)",
                                             CF_PRODUCT_STRATA, CF_PRODUCT_NONE, strata_opts, check_inventory, run_strata};
const cf_stage_def cf_stage_sink_allometry = {
    "sink.allometry", "stem biomass by allometry and the AGB of every plot of the monitoring year (t d.m./ha)",
    CF_PRODUCT_STOCKS, CF_PRODUCT_NONE, allometry_opts, check_allometry_stage, run_allometry};
const cf_stage_def cf_stage_sink_strata = {
    "sink.strata", "tree biomass per plot (root-to-shoot) and the AR-TOOL14 stratified estimate with its uncertainty",
    CF_PRODUCT_STOCKS, CF_PRODUCT_STOCKS, strata_step_opts, check_chain, run_estimate};
const cf_stage_def cf_stage_sink_pools = {
    "sink.pools", "the five pools per stratum and the project totals with the uncertainty discount",
    CF_PRODUCT_STOCKS, CF_PRODUCT_STOCKS, pools_opts, check_pools_stage, run_pools};
const cf_stage_def cf_stage_write_stocks = {"write.stocks", "the stocks report: REPORT.json and REPORT.csv (forest-io spec)",
                                            CF_PRODUCT_NONE, CF_PRODUCT_STOCKS, write_stocks_opts, check_write_stocks, run_write_stocks};

static int is_taker(const cf_stage_def *d) { return d == &cf_stage_sink_strata || d == &cf_stage_sink_pools; }
