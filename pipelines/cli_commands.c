/*
 * The command table of `carbonflux` (cli_command.h): which commands there
 * are, the command's own usage (the list of them and the global options),
 * and how a usage error is told. One place answers "is this a command?"
 * for the dispatcher, `help COMMAND` and the usage error alike, so the
 * three cannot disagree.
 */
#include <stdio.h>
#include <string.h>

#include "pipelines/cli.h"
#include "pipelines/cli_command.h"

static const char *usage_main =
    "Usage: carbonflux [global options] <command> [options]\n"
    "\n"
    "CO2-flux lidar processing and forest carbon-stock mapping.\n"
    "\n"
    "Commands:\n"
    "  run PIPELINE.yaml   validate and run a pipeline\n"
    "  batch PIPELINE.yaml run only the new or changed inputs of a pipeline, recorded in a catalogue\n"
    "  status              per input its latest state in a batch catalogue\n"
    "  history             the runs of a batch catalogue\n"
    "  stages [TYPE]       list every stage type with its options\n"
    "  demo                make a synthetic scene and run the demo pipeline on it\n"
    "  simulate lidar      write a simulated CO2-flux lidar L0 file and its truth\n"
    "  simulate flux       write simulated L2 files of a scene of CO2 sources and the truth\n"
    "  lidar process       turn a lidar L0 file into the L2 product (NetCDF-CF)\n"
    "  forest stocks       carbon stocks in the five pools from plot inventories (AR-TOOL14)\n"
    "  sink ledger         creditable removals per period and vintage from stock reports at monitoring events\n"
    "  sink report         the verifier's HTML report of a ledger (tables, maps, parameters, SHA-256 of inputs)\n"
    "  verify LEDGER.json  recompute a ledger (and the stock reports it read) from its recorded inputs\n"
    "  flux estimate       emission rates of sources from L2 lidar scans (inversion, mass balance)\n"
    "  params [TABLE]      list the parameter tables, or print one with units and sources\n"
    "  version             print the version\n"
    "  help [COMMAND]      help on a command\n"
    "\n"
    "Global options (before or after the command):\n"
    "  -q, --quiet             only errors; no progress bar\n"
    "  -v, --verbose           debug messages\n"
    "  --threads N             worker threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --log-format text|json  json: one JSON object per line, for batch jobs\n"
    "  --cache-mb N            GDAL block cache in MiB (default 32)\n"
    "  --no-overwrite          refuse to replace an existing output (exit 1)\n"
    "  --version               print the version\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit codes: 0 ok, 1 usage or configuration error, 2 processing failure,\n"
    "            3 finished but some inputs were rejected, 4 every input was rejected,\n"
    "            5 verify: a recorded input or number does not match.\n";

static void help_version(FILE *out) { fputs("Usage: carbonflux version\n\nPrint the version.\n", out); }

static int run_version(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)ctx, (void)argc, (void)argv, (void)command_line;
  printf("carbonflux %s\n", cf_version());
  return EXIT_OK;
}

static const cf_cli_command cmd_version = {"version", help_version, run_version, 0};

static const cf_cli_command *const commands[] = {
    &cf_cli_cmd_run,   &cf_cli_cmd_stages, &cf_cli_cmd_demo,  &cmd_version,      &cf_cli_cmd_simulate,
    &cf_cli_cmd_lidar, &cf_cli_cmd_params, &cf_cli_cmd_forest, &cf_cli_cmd_flux, &cf_cli_cmd_sink,
    &cf_cli_cmd_verify, &cf_cli_cmd_batch, &cf_cli_cmd_status, &cf_cli_cmd_history,
};

const cf_cli_command *cf_cli_command_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(commands[i]->name, name)) return commands[i];
  return NULL;
}

void cf_cli_print_usage(const char *cmd, FILE *out) {
  const cf_cli_command *c = cf_cli_command_find(cmd);
  if (c)
    c->help(out);
  else
    fputs(usage_main, out);
}

static cf_ctx *g_json_ctx; /* set when --log-format json is on the command line */

void cf_cli_usage_json(cf_ctx *ctx) { g_json_ctx = ctx; }

int cf_cli_usage_error(const char *cmd, const char *fmt, const char *arg) {
  const char *known = cf_cli_command_find(cmd) ? cmd : NULL;
  if (g_json_ctx) { /* one JSON line, no usage text: stderr stays parseable */
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, arg);
    cf_log(g_json_ctx, CF_LOG_ERROR, "%s (see carbonflux %s%s--help)", msg, known ? known : "", known ? " " : "");
    return EXIT_USAGE;
  }
  /* the message and where the usage is: 40 lines of help after it would
   * push the one line that says what is wrong off the screen */
  fprintf(stderr, "carbonflux: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nrun 'carbonflux %s%s--help' for usage\n", known ? known : "", known ? " " : "");
  return EXIT_USAGE;
}
