/*
 * `carbonflux forest stocks` and `carbonflux params`: the command's side
 * of the forest carbon stocks (sink/stocks.h, sink/inventory.h) and of the
 * parameter tables they read (sink/params.h).
 *
 * forest stocks takes two kinds of KEY=VALUE: the inventory's keys (col.*,
 * years, ...: how to read the tables) and the stocks settings (how to
 * estimate); both are recorded in the report, so the run can be repeated
 * from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"
#include "sink/params.h"
#include "sink/stocks.h"

/* Is KEY=VALUE one of the inventory's keys (col.*, years, ...)? A col.
 * key goes there even when its field is unknown, so that the inventory's
 * message (which lists the fields) is the one a user sees. */
static int inventory_key(const char *kv) {
  const char *eq = strchr(kv, '=');
  char key[128];
  snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - kv) : (int)strlen(kv), kv);
  return !strncasecmp(key, "col.", 4) || cf_inv_option_known(key);
}

/* The run's settings as JSON for the report: every stocks setting, then
 * the inventory keys as given. */
static char *forest_settings_json(const cf_stocks_opts *o, int argc, char **argv) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, cf_stocks_settings.opts, cf_stocks_settings.n, o);
  for (int i = 0; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    if (!eq || argv[i][0] == '-' || !inventory_key(argv[i])) continue;
    cf_strbuf_puts(&sb, ",");
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
    cf_strbuf_json_string(&sb, key);
    cf_strbuf_puts(&sb, ":");
    cf_strbuf_json_string(&sb, eq + 1);
  }
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}

static void help_forest(FILE *out) {
  fputs("Usage: carbonflux forest stocks --plots PLOTS.csv [--trees TREES.csv] --strata STRATA\n"
        "                                -o REPORT.json [KEY=VALUE]...\n"
        "\n"
        "Forest carbon stocks at one monitoring date in the five IPCC pools, per stratum and\n"
        "for the project, with the AR-TOOL14 stratified estimate, its uncertainty at the\n"
        "chosen confidence and the discount policy (../shared/spec/forest-io.md). Writes\n"
        "REPORT.json and, beside it, REPORT.csv. STRATA is a CSV (stratum, area_ha) or any\n"
        "polygon layer OGR reads (areas on the ellipsoid). Exit 1 for a bad setting or a\n"
        "missing file, 4 for an inventory that cannot be used (the message names the file,\n"
        "line and field).\n"
        "\n"
        "Inventory keys: col.FIELD=HEADER (a column under another name; {year} in HEADER\n"
        "reads a wide table), years=Y1,Y2,..., live_codes=..., dead_codes=...,\n"
        "stratum_field=NAME (the strata layer's field).\n"
        "Settings (KEY=VALUE: name, default, accepted values, help):\n\n",
        out);
  cf_stocks_opts d;
  cf_stocks_opts_default(&d);
  cf_kv_describe(out, cf_stocks_settings.opts, cf_stocks_settings.n, &d);
}

static int run_forest(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  if (argc < 1 || strcmp(argv[0], "stocks"))
    return cf_cli_usage_error("forest", "what to do? (only 'stocks' for now)%s", "");
  const char *plots = NULL, *trees = NULL, *strata = NULL, *out = NULL;
  cf_stocks_opts o;
  cf_stocks_opts_default(&o);
  cf_inv_options inv;
  cf_inv_options_init(&inv);
  int code = EXIT_OK;
  for (int i = 1; i < argc && code == EXIT_OK; i++) {
    const char *a = argv[i];
    const char **slot = !strcmp(a, "--plots") ? &plots : !strcmp(a, "--trees") ? &trees
                        : !strcmp(a, "--strata") ? &strata : !strcmp(a, "-o") || !strcmp(a, "--out") ? &out : NULL;
    if (slot && i + 1 < argc) {
      *slot = argv[++i];
    } else if (a[0] != '-' && strchr(a, '=')) {
      int rc = inventory_key(a) ? cf_inv_options_set(ctx, &inv, a) : cf_stocks_opts_set(ctx, &o, a);
      if (rc) {
        cf_log_error_chain(ctx);
        code = EXIT_USAGE;
      }
    } else {
      code = cf_cli_usage_error("forest", "unexpected argument '%s'", a);
    }
  }
  if (code == EXIT_OK && (!plots || !strata || !out))
    code = cf_cli_usage_error("forest", "give --plots, --strata and -o REPORT.json%s", "");
  /* the report's CSV goes beside it: both are outputs, checked alike */
  char csv_out[4096] = "";
  size_t olen = out ? strlen(out) : 0;
  if (code == EXIT_OK && (olen < 6 || strcmp(out + olen - 5, ".json") != 0 || olen >= sizeof csv_out))
    code = cf_cli_usage_error("forest", "the report's name ends in .json (its CSV goes beside it as .csv), not '%s'",
                              out);
  if (code == EXIT_OK) snprintf(csv_out, sizeof csv_out, "%.*s.csv", (int)(olen - 5), out);
  const char *ins[3] = {plots, trees, strata}, *roles[3] = {"plots table", "trees table", "strata"};
  for (int k = 0; k < 3 && code == EXIT_OK; k++) {
    if (!ins[k]) continue;
    if (!cf_file_exists(ins[k])) {
      cf_log(ctx, CF_LOG_ERROR, "forest stocks: the %s '%s' does not exist (nothing was written)", roles[k], ins[k]);
      code = EXIT_USAGE;
    } else {
      code = cf_cli_check_output(ctx, "forest stocks", "report", out, ins[k], roles[k]);
      if (code == EXIT_OK) code = cf_cli_check_output(ctx, "forest stocks", "report's CSV", csv_out, ins[k], roles[k]);
    }
  }
  if (code != EXIT_OK) {
    cf_inv_options_free(&inv);
    return code;
  }
  cf_stocks_result r;
  int rc = cf_forest_stocks(ctx, plots, trees, strata, &inv, &o, &r);
  char *settings = rc ? NULL : forest_settings_json(&o, argc, argv);
  if (!rc) rc = settings ? cf_stocks_write(ctx, &r, out, settings) : cf_error(ctx, CF_ENOMEM, out, "", "out of memory");
  free(settings);
  cf_stocks_result_free(&r);
  cf_inv_options_free(&inv);
  if (rc) { /* the outermost code classifies: the driver says whose fault it is */
    cf_log_error_chain(ctx);
    return cf_cli_exit_for_status(rc);
  }
  cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
  return EXIT_OK;
}

static void help_params(FILE *out) {
  fputs("Usage: carbonflux params [TABLE]\n"
        "\n"
        "List the parameter tables (carbon fraction, root-to-shoot ratios, allometric\n"
        "equations, species tables, dead wood and litter, soil carbon) with their rows,\n"
        "origin and sources; with TABLE, print that table's columns with units and each\n"
        "row with its source and whether it was checked against it. Built-in tables are\n"
        "replaced by same-named CSV files in the directories of CARBONFLUX_PARAMS\n"
        "(colon-separated). Exit 1 for an unknown table.\n",
        out);
}

static int run_params(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  if (argc > 1) return cf_cli_usage_error("params", "one table at a time (extra argument '%s')", argv[1]);
  cf_params *p = NULL;
  int rc = cf_params_load(ctx, &p);
  if (!rc) rc = cf_params_print(ctx, p, argc ? argv[0] : NULL, stdout);
  if (rc) cf_log_error_chain(ctx);
  cf_params_free(p);
  /* a table that cannot be read (CF_EDATA) is a configuration error here */
  return rc == CF_OK ? EXIT_OK : rc == CF_EINVAL || rc == CF_ENOENT || rc == CF_EDATA ? EXIT_USAGE : EXIT_PROCESSING;
}

const cf_cli_command cf_cli_cmd_forest = {"forest", help_forest, run_forest, 0};
const cf_cli_command cf_cli_cmd_params = {"params", help_params, run_params, 0};
