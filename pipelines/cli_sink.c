/* `carbonflux sink ledger` and `carbonflux verify` (cli_sink.h): arguments
 * to the library calls of sink/issuance/ledger.h and sink/audit/audit.h,
 * the exit code; and the rows of `sink` (ledger and report) and `verify`
 * in the command table (cli_command.h). */
#include "pipelines/cli_sink.h"

#include <stdio.h>
#include <string.h>

#include "core/fsutil.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"
#include "sink/audit/audit.h"
#include "sink/issuance/ledger.h"
#include "sink/issuance/report.h"

int cf_cli_sink_ledger(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap) {
  why[0] = 0;
  const char *out = NULL;
  cf_ledger_inputs in;
  cf_ledger_inputs_init(&in);
  int rc = CF_OK, code = EXIT_OK;
  for (int i = 0; i < argc && !rc && code == EXIT_OK; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char date[11], kv[CF_KV_TEXT_MAX + 16];
    const char *path;
    if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && v) {
      out = argv[++i];
    } else if ((!strcmp(a, "--event") || !strcmp(a, "--baseline")) && v) {
      i++;
      rc = cf_ledger_split_event(ctx, v, a + 2, date, &path);
      if (!rc && !cf_file_exists(path)) rc = cf_error(ctx, CF_ENOENT, path, "", "the stock report does not exist");
      if (!rc) rc = a[2] == 'e' ? cf_ledger_add_event(ctx, &in, date, path) : cf_ledger_add_baseline(ctx, &in, date, path);
    } else if (!strcmp(a, "--emission") && v) {
      rc = cf_ledger_add_emission(ctx, &in, argv[++i]);
    } else if (!strcmp(a, "--leakage") && v) {
      rc = cf_ledger_add_leakage(ctx, &in, argv[++i]);
    } else if (!strcmp(a, "--stratum-map") && v) {
      rc = cf_ledger_add_map(ctx, &in, argv[++i]);
    } else if (!strcmp(a, "--policy") && v) {
      snprintf(kv, sizeof kv, "policy=%s", argv[++i]);
      rc = cf_ledger_inputs_set(ctx, &in, kv);
    } else if (a[0] != '-' && strchr(a, '=')) {
      rc = cf_ledger_inputs_set(ctx, &in, a);
    } else {
      code = EXIT_USAGE, snprintf(why, cap, "unexpected argument '%s'", a);
    }
  }
  if (!rc && code == EXIT_OK && !out) code = EXIT_USAGE, snprintf(why, cap, "give the ledger's file with -o LEDGER.json");
  char csv_out[4096] = "";
  size_t olen = out ? strlen(out) : 0;
  if (!rc && code == EXIT_OK && (olen < 6 || strcmp(out + olen - 5, ".json") != 0 || olen >= sizeof csv_out))
    code = EXIT_USAGE, snprintf(why, cap, "the ledger's name ends in .json (its CSV goes beside it as .csv), not '%s'", out ? out : "");
  if (!rc && code == EXIT_OK) snprintf(csv_out, sizeof csv_out, "%.*s.csv", (int)(olen - 5), out);
  for (int k = 0; !rc && code == EXIT_OK && k < in.n_events + in.n_baseline; k++) {
    const char *ip = k < in.n_events ? in.events[k].report.path : in.baseline[k - in.n_events].report.path;
    code = cf_cli_check_output(ctx, "sink ledger", "ledger", out, ip, "stock report");
    if (code == EXIT_OK) code = cf_cli_check_output(ctx, "sink ledger", "ledger's CSV", csv_out, ip, "stock report");
  }
  cf_ledger ledger = {0};
  if (!rc && code == EXIT_OK) rc = cf_ledger_compute(ctx, &in, &ledger);
  if (!rc && code == EXIT_OK) rc = cf_ledger_write(ctx, &in, &ledger, out);
  if (rc) {
    cf_log_error_chain(ctx);
    code = cf_cli_exit_for_status(rc);
  } else if (code == EXIT_OK) {
    char units[32];
    snprintf(units, sizeof units, "%lld", ledger.total_units);
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, "units", units, (const char *)NULL);
  }
  cf_ledger_free(&ledger);
  cf_ledger_inputs_free(&in);
  return code;
}

int cf_cli_verify(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap) {
  why[0] = 0;
  const char *file = NULL;
  cf_audit_opts o = {NULL};
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--inputs-dir") && i + 1 < argc)
      o.inputs_dir = argv[++i];
    else if (argv[i][0] != '-' && !file)
      file = argv[i];
    else
      return snprintf(why, cap, "unexpected argument '%s'", argv[i]), EXIT_USAGE;
  }
  if (!file) return snprintf(why, cap, "give the ledger (or stock report) to verify"), EXIT_USAGE;
  cf_audit a;
  int rc = cf_audit_file(ctx, file, &o, &a);
  if (!rc) cf_audit_print(stdout, &a);
  int code = rc ? cf_cli_exit_for_status(rc) : a.n_differs ? EXIT_MISMATCH : EXIT_OK;
  if (rc) cf_log_error_chain(ctx);
  cf_audit_free(&a);
  return code;
}

static void help_sink(FILE *out) {
  fputs(CF_CLI_SINK_USAGE, out);
  cf_ledger_settings d;
  cf_ledger_settings_default(&d);
  cf_kv_describe(out, cf_ledger_settings_table.opts, cf_ledger_settings_table.n, &d);
  cf_ireport_settings rd;
  cf_ireport_settings_default(&rd);
  fputs("\nSettings of the report:\n\n", out);
  cf_kv_describe(out, cf_ireport_settings_table.opts, cf_ireport_settings_table.n, &rd);
}

/* sink ledger, sink report (cli_sink_report.h) */
static int run_sink(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  char why[1024];
  int code;
  if (argc >= 1 && !strcmp(argv[0], "report"))
    code = cf_cli_sink_report(ctx, argc - 1, argv + 1, why, sizeof why);
  else if (argc >= 1 && !strcmp(argv[0], "ledger"))
    code = cf_cli_sink_ledger(ctx, argc - 1, argv + 1, why, sizeof why);
  else
    return cf_cli_usage_error("sink", "what to do? ('ledger' or 'report')%s", "");
  return why[0] ? cf_cli_usage_error("sink", "%s", why) : code;
}

static void help_verify(FILE *out) { fputs(CF_CLI_VERIFY_USAGE, out); }

static int run_verify(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  char why[1024];
  int code = cf_cli_verify(ctx, argc, argv, why, sizeof why);
  return why[0] ? cf_cli_usage_error("verify", "%s", why) : code;
}

const cf_cli_command cf_cli_cmd_sink = {"sink", help_sink, run_sink, 0};
const cf_cli_command cf_cli_cmd_verify = {"verify", help_verify, run_verify, 0};
