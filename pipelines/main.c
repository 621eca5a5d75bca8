/*
 * carbonflux: the command-line tool, a thin layer over libcarbonflux.
 *
 * It parses arguments, sets up the context (log format, progress bar,
 * threads, signal-driven cancellation), calls the library, and maps the
 * outcome to the documented exit codes:
 *   0 ok, 1 usage or configuration error, 2 processing failure,
 *   3 finished but some inputs were rejected, 4 every input was rejected,
 *   5 verify: a recorded input or number does not match.
 * It also routes GDAL's and HDF5's own messages into the context's log, so
 * that with --log-format json every line on stderr is one JSON object.
 */
#include <omp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carbonflux/ctx.h"
#include "carbonflux/demo.h"
#include "carbonflux/pipeline.h"
#include "core/fsutil.h"
#include "core/isolate.h"
#include "core/par.h"
#include "core/strbuf.h"
#include "ingest/library_log.h"
#include "lidar/l2_write.h"
#include "lidar/process_options.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"
#include "lidar/flux/estimate.h"
#include "lidar/flux/sim_flux.h"
#include "pipelines/cli.h"
#include "pipelines/cli_batch.h"
#include "pipelines/cli_sink.h"
#include "pipelines/cli_sink_report.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/run_par.h"
#include "sink/issuance/ledger.h"
#include "sink/issuance/report.h"
#include "sink/params.h"
#include "sink/stocks.h"


static cf_ctx *g_ctx; /* for the signal handler only */

static void on_signal(int sig) {
  (void)sig;
  if (g_ctx) cf_cancel(g_ctx);
}

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

static const char *usage_run =
    "Usage: carbonflux run PIPELINE.yaml [--set STAGE.KEY=VALUE]... [--check]\n"
    "\n"
    "Validate the whole pipeline (stage types, options, types, ranges, input\n"
    "files), then run it. Errors name file:line:col. Relative paths in the\n"
    "pipeline are relative to the pipeline file.\n"
    "\n"
    "  --set STAGE.KEY=VALUE  override an option; STAGE is the stage's name\n"
    "                         (or its type when unnamed), VALUE is YAML\n"
    "                         (e.g. --set grid.resolution=[20,20])\n"
    "  --check                validate only; run nothing\n";

static const char *usage_stages =
    "Usage: carbonflux stages [TYPE]\n"
    "\n"
    "List every stage type with its options: name, type, default and help.\n";

static const char *usage_demo =
    "Usage: carbonflux demo [--out DIR]\n"
    "\n"
    "Write a small synthetic scene (4-band reflectance, canopy height, a\n"
    "project boundary and forest stands) into DIR (default carbonflux-demo),\n"
    "run the shipped demo pipeline on it, and list what it wrote.\n";

static const char *usage_simulate =
    "Usage: carbonflux simulate lidar -o OUT.h5 [--truth TRUTH.nc] [KEY=VALUE]...\n"
    "\n"
    "Simulate the coherent CO2 DIAL: an L0 file (../shared/spec/lidar-l0.md) of\n"
    "level spectra or raw from a known wind, CO2 and aerosol truth, and that truth\n"
    "as NetCDF (default OUT with _truth.nc). Settings (KEY=VALUE, defaults shown;\n"
    "give scan= first, it resets the scan defaults):\n\n";

static const char *usage_simulate_flux =
    "\nUsage: carbonflux simulate flux --sources SOURCES -o OUT.nc [--truth TRUTH.json] [KEY=VALUE]...\n"
    "       carbonflux simulate flux --benchmark-scene OUT.geojson [lat=.. lon=..]\n"
    "\n"
    "Truth simulator of the flux estimation: L2 files (contract 1.1) of PPI sweeps\n"
    "through the puffs of a scene of sources (a sources layer, ../shared/spec/flux-io.md;\n"
    "prior_t_per_h is taken as the TRUE rate), advected by a meandering (OU) wind and\n"
    "growing as sqrt(2 K t) + sigma0 (lidar/flux/sim_flux.h), and the truth as JSON\n"
    "(default OUT with _truth.json). scans_per_file splits the sweeps into\n"
    "OUT_000.nc, OUT_001.nc, ... --benchmark-scene writes the issue's scene.\n"
    "Settings (KEY=VALUE, defaults shown):\n\n";

static const char *usage_lidar =
    "Usage: carbonflux lidar process IN.h5 -o OUT.nc [KEY=VALUE]...\n"
    "\n"
    "Radial velocity, CNR, CO2 (DIAL) and wind profiles from a CO2-flux lidar\n"
    "L0 file of either level, written as NetCDF-4/CF-1.8 (../shared/spec/lidar-l2.md).\n"
    "Settings (KEY=VALUE: name, default, accepted values, help; the options of the\n"
    "lidar.* pipeline stages are the same settings under the same names):\n\n";

static const char *usage_params =
    "Usage: carbonflux params [TABLE]\n"
    "\n"
    "List the parameter tables (carbon fraction, root-to-shoot ratios, allometric\n"
    "equations, species tables, dead wood and litter, soil carbon) with their rows,\n"
    "origin and sources; with TABLE, print that table's columns with units and each\n"
    "row with its source and whether it was checked against it. Built-in tables are\n"
    "replaced by same-named CSV files in the directories of CARBONFLUX_PARAMS\n"
    "(colon-separated). Exit 1 for an unknown table.\n";

static const char *usage_forest =
    "Usage: carbonflux forest stocks --plots PLOTS.csv [--trees TREES.csv] --strata STRATA\n"
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
    "Settings (KEY=VALUE: name, default, accepted values, help):\n\n";

static const char *usage_flux =
    "Usage: carbonflux flux estimate L2.nc... --sources SOURCES -o OUTDIR [--layer NAME] [KEY=VALUE]...\n\n"
    "Emission rates of candidate sources, with uncertainty, from L2 lidar files of one\n"
    "site (contract 1.1, any writer) and a sources layer (any OGR format; fields name,\n"
    "kind, height_m, prior_t_per_h, prior_sigma_t_per_h, group): a Bayesian inversion\n"
    "on a flux grid with a Gaussian-plume forward model, and a mass balance of the\n"
    "point sources it can isolate (../shared/spec/flux-io.md, lidar/flux/estimate.h).\n"
    "Writes OUTDIR/flux_summary.json, flux_l3.nc, flux_map.tif and flux_map.png, all\n"
    "or none. Exit 1: usage or settings; 4: the inputs cannot give an answer (no wind,\n"
    "no observation, a source outside the domain...; the message names file and field);\n"
    "2: processing failed.\n\n"
    "Settings (KEY=VALUE: name, default, accepted values, help):\n\n";

static const char *usage_version = "Usage: carbonflux version\n\nPrint the version.\n";

static const char *usage_of(const char *cmd) {
  if (!cmd) return usage_main;
  if (!strcmp(cmd, "run")) return usage_run;
  if (!strcmp(cmd, "stages")) return usage_stages;
  if (!strcmp(cmd, "demo")) return usage_demo;
  if (!strcmp(cmd, "version")) return usage_version;
  if (!strcmp(cmd, "simulate")) return usage_simulate;
  if (!strcmp(cmd, "lidar")) return usage_lidar;
  if (!strcmp(cmd, "params")) return usage_params;
  if (!strcmp(cmd, "forest")) return usage_forest;
  if (!strcmp(cmd, "flux")) return usage_flux;
  if (!strcmp(cmd, "sink")) return CF_CLI_SINK_USAGE;
  if (!strcmp(cmd, "verify")) return CF_CLI_VERIFY_USAGE;
  if (!strcmp(cmd, "batch")) return CF_CLI_BATCH_USAGE;
  if (!strcmp(cmd, "status")) return CF_CLI_STATUS_USAGE;
  if (!strcmp(cmd, "history")) return CF_CLI_HISTORY_USAGE;
  return NULL;
}

static void print_usage(const char *cmd, FILE *out);

static cf_ctx *g_json_ctx; /* set when --log-format json is on the command line */

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  if (g_json_ctx) { /* one JSON line, no usage text: stderr stays parseable */
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, arg);
    cf_log(g_json_ctx, CF_LOG_ERROR, "%s (see carbonflux %s%s--help)", msg, usage_of(cmd) && cmd ? cmd : "",
           usage_of(cmd) && cmd ? " " : "");
    return EXIT_USAGE;
  }
  fprintf(stderr, "carbonflux: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n\n");
  print_usage(usage_of(cmd) ? cmd : NULL, stderr);
  return EXIT_USAGE;
}

static void print_usage(const char *cmd, FILE *out) {
  fputs(usage_of(cmd), out);
  if (cmd && !strcmp(cmd, "simulate")) {
    cf_sim_config d;
    cf_sim_defaults(&d, CF_SCAN_VAD);
    cf_sim_describe(out, &d);
    fputs(usage_simulate_flux, out);
    cf_simflux_config fd;
    cf_simflux_defaults(&fd);
    cf_simflux_describe(out, &fd);
  }
  if (cmd && !strcmp(cmd, "lidar")) cf_lidar_opts_describe(out);
  if (cmd && !strcmp(cmd, "flux")) {
    cf_flux_opts d;
    cf_flux_defaults(&d);
    cf_kv_describe(out, cf_flux_settings.opts, cf_flux_settings.n, &d);
  }
  if (cmd && !strcmp(cmd, "sink")) {
    cf_ledger_settings d;
    cf_ledger_settings_default(&d);
    cf_kv_describe(out, cf_ledger_settings_table.opts, cf_ledger_settings_table.n, &d);
    cf_ireport_settings rd;
    cf_ireport_settings_default(&rd);
    fputs("\nSettings of the report:\n\n", out);
    cf_kv_describe(out, cf_ireport_settings_table.opts, cf_ireport_settings_table.n, &rd);
  }
  if (cmd && !strcmp(cmd, "forest")) {
    cf_stocks_opts d;
    cf_stocks_opts_default(&d);
    cf_kv_describe(out, cf_stocks_settings.opts, cf_stocks_settings.n, &d);
  }
}

static int exit_for_summary(const cf_run_summary *s) {
  if (s->failed || s->cancelled) return EXIT_PROCESSING;
  if (s->rejected && s->succeeded == 0) return EXIT_ALL_REJECTED; /* nothing came out at all */
  if (s->rejected) return EXIT_REJECTED;
  return EXIT_OK;
}

static int exit_for_load(int rc) { return rc == CF_EINVAL || rc == CF_ENOENT ? EXIT_USAGE : EXIT_PROCESSING; }

static void report_summary(cf_ctx *ctx, const cf_run_summary *s) {
  char items[16], ok[16], rej[16], fail[16];
  snprintf(items, sizeof items, "%d", s->items);
  snprintf(ok, sizeof ok, "%d", s->succeeded);
  snprintf(rej, sizeof rej, "%d", s->rejected);
  snprintf(fail, sizeof fail, "%d", s->failed);
  cf_log_event(ctx, s->rejected || s->failed ? CF_LOG_WARN : CF_LOG_INFO, "finished", "items", items, "ok", ok,
               "rejected", rej, "failed", fail, (const char *)NULL);
}

static int cmd_run(cf_ctx *ctx, int argc, char **argv) {
  const char *path = NULL;
  int check_only = 0, nsets = 0;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  if (!sets) return EXIT_PROCESSING;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--set")) {
      if (i + 1 >= argc) {
        free(sets);
        return usage_error("run", "--set needs STAGE.KEY=VALUE%s", "");
      }
      sets[nsets++] = argv[++i];
    } else if (!strncmp(argv[i], "--set=", 6)) {
      sets[nsets++] = argv[i] + 6;
    } else if (!strcmp(argv[i], "--check")) {
      check_only = 1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      free(sets);
      return usage_error("run", "unknown option '%s'", argv[i]);
    } else if (!path) {
      path = argv[i];
    } else {
      free(sets);
      return usage_error("run", "one pipeline file at a time (extra argument '%s')", argv[i]);
    }
  }
  if (!path) {
    free(sets);
    return usage_error("run", "which pipeline?%s", "");
  }
  cf_pipeline *p = NULL;
  int rc = cf_pipeline_load(ctx, path, sets, nsets, &p);
  free(sets);
  if (rc) {
    int n = cf_error_count(ctx);
    cf_log_error_list(ctx); /* independent problems, each on its own line */
    cf_log(ctx, CF_LOG_ERROR, "%s: %d problem%s found; nothing was run", path, n, n == 1 ? "" : "s");
    return exit_for_load(rc);
  }
  if (check_only) {
    cf_log(ctx, CF_LOG_INFO, "%s is valid", path);
    cf_pipeline_free(p);
    return EXIT_OK;
  }
  cf_run_summary s;
  /* under mpirun the items spread over the ranks (pipelines/run_par.c) */
  if (cf_par_run_items(ctx, p, NULL, &s) == CF_EINTERNAL && cf_ctx_par(ctx)) {
    cf_log_error_chain(ctx);
    cf_par_abort(cf_ctx_par(ctx), EXIT_PROCESSING); /* other ranks may wait for this one */
  }
  if (cf_par_rank(cf_ctx_par(ctx)) == 0) report_summary(ctx, &s);
  int code = exit_for_summary(&s);
  cf_run_summary_free(&s);
  cf_pipeline_free(p);
  return code;
}

static int cmd_stages(cf_ctx *ctx, int argc, char **argv) {
  if (argc > 1) return usage_error("stages", "one stage type at a time%s", "");
  if (argc && !cf_stage_find(argv[0])) {
    const char *s = cf_stage_suggest(argv[0]);
    cf_log(ctx, CF_LOG_ERROR, "stages: no stage type '%s'%s%s%s (run 'carbonflux stages' for the list)", argv[0],
           s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
    return EXIT_USAGE;
  }
  fprintf(stdout, "Stages (options: name, type, default, help)\n\n");
  cf_stages_describe(stdout, argc ? argv[0] : NULL);
  return EXIT_OK;
}

/* DIR/STEM<suffix> beside `out` (the default truth file of `simulate`);
 * malloc'ed, NULL if out of memory. */
static char *sibling_path(const char *out, const char *suffix) {
  char *dir = cf_path_dirname(out), *stem = cf_path_stem(out), *path = NULL;
  if (dir && stem) {
    size_t n = strlen(dir) + strlen(stem) + strlen(suffix) + 2;
    path = malloc(n);
    if (path) snprintf(path, n, "%s/%s%s", dir, stem, suffix);
  }
  free(dir);
  free(stem);
  return path;
}

static int cmd_simulate_flux(cf_ctx *ctx, int argc, char **argv) {
  const char *out = NULL, *truth = NULL, *sources = NULL, *scene = NULL;
  cf_simflux_config cfg;
  cf_simflux_defaults(&cfg);
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--truth") && i + 1 < argc) {
      truth = argv[++i];
    } else if (!strcmp(argv[i], "--sources") && i + 1 < argc) {
      sources = argv[++i];
    } else if (!strcmp(argv[i], "--benchmark-scene") && i + 1 < argc) {
      scene = argv[++i];
    } else if (strchr(argv[i], '=') && argv[i][0] != '-') {
      if (cf_simflux_set(ctx, &cfg, argv[i])) {
        cf_log_error_chain(ctx);
        return EXIT_USAGE;
      }
    } else {
      return usage_error("simulate", "unexpected argument '%s'", argv[i]);
    }
  }
  if (scene) {
    int bad = cf_cli_check_output(ctx, "simulate flux", "benchmark scene", scene, NULL, NULL);
    if (bad) return bad;
    int rc = cf_simflux_write_benchmark_scene(ctx, &cfg, scene);
    if (rc) cf_log_error_chain(ctx);
    else cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", scene, (const char *)NULL);
    return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
  }
  if (!out) return usage_error("simulate", "give the output file with -o%s", "");
  if (!sources) return usage_error("simulate", "give the sources layer with --sources%s", "");
  if (cf_simflux_check(ctx, &cfg)) {
    cf_log_error_chain(ctx);
    return EXIT_USAGE;
  }
  char *truth_default = truth ? NULL : sibling_path(out, "_truth.json");
  if (!truth) truth = truth_default;
  int bad = truth ? cf_cli_check_output(ctx, "simulate flux", "truth file", truth, out, "L2 output") : EXIT_PROCESSING;
  if (!bad) bad = cf_cli_check_output(ctx, "simulate flux", "output", out, NULL, NULL);
  if (bad) {
    free(truth_default);
    return bad;
  }
  int rc = cf_simulate_flux(ctx, &cfg, sources, out, truth); /* logs each L2 file it writes */
  if (rc)
    cf_log_error_chain(ctx);
  else
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", truth, (const char *)NULL);
  free(truth_default);
  return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
}

static int cmd_simulate(cf_ctx *ctx, int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "flux")) return cmd_simulate_flux(ctx, argc, argv);
  if (argc < 1 || strcmp(argv[0], "lidar"))
    return usage_error("simulate", "what to simulate? ('lidar' or 'flux')%s", "");
  const char *out = NULL, *truth = NULL;
  cf_sim_config cfg;
  cf_sim_defaults(&cfg, CF_SCAN_VAD);
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--truth") && i + 1 < argc) {
      truth = argv[++i];
    } else if (strchr(argv[i], '=') && argv[i][0] != '-') {
      if (cf_sim_set(ctx, &cfg, argv[i])) {
        cf_log_error_chain(ctx);
        return EXIT_USAGE;
      }
    } else {
      return usage_error("simulate", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!out) return usage_error("simulate", "give the output file with -o%s", "");
  if (cf_sim_check(ctx, &cfg)) {
    cf_log_error_chain(ctx);
    return EXIT_USAGE;
  }
  char *truth_default = truth ? NULL : sibling_path(out, "_truth.nc");
  if (!truth) truth = truth_default;
  int bad = truth ? cf_cli_check_output(ctx, "simulate lidar", "truth file", truth, out, "L0 output") : EXIT_PROCESSING;
  if (!bad) bad = cf_cli_check_output(ctx, "simulate lidar", "output", out, NULL, NULL);
  if (bad) {
    free(truth_default);
    return bad;
  }
  int rc = cf_simulate_lidar(ctx, &cfg, out, truth);
  if (rc) {
    cf_log_error_chain(ctx);
  } else {
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", truth, (const char *)NULL);
  }
  free(truth_default);
  return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
}

/* The command line as one string, for the L2 history attribute. */
static char *command_line(int argc, char **argv) {
  size_t n = 1;
  for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
  char *s = malloc(n);
  if (!s) return NULL;
  s[0] = '\0';
  for (int i = 0; i < argc; i++) {
    if (i) strcat(s, " ");
    strcat(s, argv[i]);
  }
  return s;
}

static int g_argc;
static char **g_argv;

/* `lidar process` runs in a child process (core/isolate.h), as every
 * pipeline item does: a library crashing on a corrupted L0 file is reported
 * with its signal and exit code 4, and the part file it left is removed. */
typedef struct {
  cf_ctx *ctx;
  const char *in, *out;
  const cf_lidar_opts *opts;
  const cf_l2_meta *meta;
  int32_t code; /* the exit code */
} lidar_job;

static void lidar_job_run(void *arg, int report_fd) {
  lidar_job *j = arg;
  int rc = cf_lidar_l0_to_l2(j->ctx, j->in, j->out, j->opts, j->meta);
  if (rc) {
    int code = cf_error_count(j->ctx) ? cf_error_get(j->ctx, 0)->code : rc;
    cf_log_error_chain(j->ctx);
    /* its one input rejected: every input was */
    j->code = code == CF_EDATA || code == CF_ENOENT ? EXIT_ALL_REJECTED : EXIT_PROCESSING;
  } else {
    cf_log_event(j->ctx, CF_LOG_INFO, "wrote", "path", j->out, (const char *)NULL);
    j->code = EXIT_OK;
  }
  cf_child_put(report_fd, 'R', &j->code, sizeof j->code);
}

static int run_lidar_isolated(lidar_job *j) {
  cf_child child;
  if (!cf_get_isolation(j->ctx) || cf_child_start(&child, lidar_job_run, j) != 0) {
    lidar_job_run(j, -1); /* no child to be had: run it here */
    return j->code;
  }
  size_t len, at = 0;
  unsigned char *rep = cf_child_read(j->ctx, &child, &len);
  int clean = cf_child_wait(j->ctx, &child);
  char type;
  const unsigned char *d;
  uint32_t n;
  int have = 0;
  while (cf_child_record(rep, len, &at, &type, &d, &n))
    if (type == 'R' && n == sizeof j->code) memcpy(&j->code, d, n), have = 1;
  free(rep);
  if (!have || !clean) {
    char *dir = cf_path_dirname(j->out);
    if (dir) cf_remove_part_files_of(j->ctx, dir, (long)child.pid, "left by the crashed process");
    free(dir);
    char how[200];
    int sig = cf_child_describe(&child, how, sizeof how);
    if (cf_cancelled(j->ctx) || sig == SIGTERM || sig == SIGINT) {
      cf_log(j->ctx, CF_LOG_ERROR, "lidar process: %s: cancelled (%s); nothing was written", j->in, how);
      j->code = EXIT_PROCESSING;
    } else if (sig == SIGKILL) {
      cf_log(j->ctx, CF_LOG_ERROR, "lidar process: %s: %s: killed from outside, often by the kernel's out-of-memory "
             "killer; nothing was written", j->in, how);
      j->code = EXIT_PROCESSING;
    } else {
      cf_log(j->ctx, CF_LOG_ERROR, "lidar process: %s: %s while reading or processing it; the input is quarantined: "
             "rejected, no partial output left", j->in, how);
      j->code = EXIT_ALL_REJECTED;
    }
  }
  cf_child_reap(&child);
  return j->code;
}

static int cmd_lidar(cf_ctx *ctx, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "process")) return usage_error("lidar", "what to do? (only 'process' for now)%s", "");
  const char *in = NULL, *out = NULL;
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
      out = argv[++i];
    } else if (strchr(argv[i], '=') && argv[i][0] != '-') {
      if (cf_lidar_opts_set(ctx, &o, argv[i])) {
        cf_log_error_chain(ctx);
        return EXIT_USAGE;
      }
    } else if (argv[i][0] != '-' && !in) {
      in = argv[i];
    } else {
      return usage_error("lidar", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!in || !out) return usage_error("lidar", "give the L0 file and -o OUT.nc%s", "");
  if (!cf_file_exists(in)) {
    cf_log(ctx, CF_LOG_ERROR, "lidar process: input file '%s' does not exist (nothing was written)", in);
    return EXIT_USAGE;
  }
  int bad = cf_cli_check_output(ctx, "lidar process", "output", out, in, "input");
  if (bad) return bad;
  char *history = command_line(g_argc, g_argv);
  cf_l2_meta meta = {.history = history};
  lidar_job job = {ctx, in, out, &o, &meta, EXIT_PROCESSING};
  int code = run_lidar_isolated(&job);
  free(history);
  return code;
}

static int cmd_params(cf_ctx *ctx, int argc, char **argv) {
  if (argc > 1) return usage_error("params", "one table at a time (extra argument '%s')", argv[1]);
  cf_params *p = NULL;
  int rc = cf_params_load(ctx, &p);
  if (!rc) rc = cf_params_print(ctx, p, argc ? argv[0] : NULL, stdout);
  if (rc) cf_log_error_chain(ctx);
  cf_params_free(p);
  return rc == CF_OK ? EXIT_OK : rc == CF_EINVAL || rc == CF_ENOENT || rc == CF_EDATA ? EXIT_USAGE : EXIT_PROCESSING;
}

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

static int cmd_forest(cf_ctx *ctx, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "stocks")) return usage_error("forest", "what to do? (only 'stocks' for now)%s", "");
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
      code = usage_error("forest", "unexpected argument '%s'", a);
    }
  }
  if (code == EXIT_OK && (!plots || !strata || !out))
    code = usage_error("forest", "give --plots, --strata and -o REPORT.json%s", "");
  /* the report's CSV goes beside it: both are outputs, checked alike */
  char csv_out[4096] = "";
  size_t olen = out ? strlen(out) : 0;
  if (code == EXIT_OK && (olen < 6 || strcmp(out + olen - 5, ".json") != 0 || olen >= sizeof csv_out))
    code = usage_error("forest", "the report's name ends in .json (its CSV goes beside it as .csv), not '%s'", out);
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
    return rc == CF_EINVAL || rc == CF_ENOENT ? EXIT_USAGE : rc == CF_EDATA ? EXIT_ALL_REJECTED : EXIT_PROCESSING;
  }
  cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
  return EXIT_OK;
}

static int cmd_flux(cf_ctx *ctx, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "estimate")) return usage_error("flux", "what to do? (only 'estimate' for now)%s", "");
  const char *sources = NULL, *layer = NULL, *out = NULL;
  const char **l2 = calloc((size_t)argc + 1, sizeof *l2);
  if (!l2) return EXIT_PROCESSING;
  int n = 0, code = EXIT_OK;
  cf_flux_opts o;
  cf_flux_defaults(&o);
  for (int i = 1; i < argc && code == EXIT_OK; i++) {
    const char *a = argv[i];
    const char **slot = !strcmp(a, "--sources") ? &sources : !strcmp(a, "--layer") ? &layer
                        : !strcmp(a, "-o") || !strcmp(a, "--out") ? &out : NULL;
    if (slot && i + 1 < argc) {
      *slot = argv[++i];
    } else if (a[0] != '-' && strchr(a, '=')) {
      if (cf_flux_set(ctx, &o, a)) {
        cf_log_error_chain(ctx);
        code = EXIT_USAGE;
      }
    } else if (a[0] != '-') {
      l2[n++] = a;
    } else {
      code = usage_error("flux", "unexpected argument '%s'", a);
    }
  }
  if (code == EXIT_OK && (!n || !sources || !out))
    code = usage_error("flux", "give the L2 files, --sources SOURCES and -o OUTDIR%s", "");
  if (code == EXIT_OK && cf_flux_opts_check(ctx, &o)) {
    cf_log_error_chain(ctx);
    code = EXIT_USAGE;
  }
  for (int k = 0; k <= n && code == EXIT_OK; k++) {
    const char *in = k < n ? l2[k] : sources;
    if (!cf_file_exists(in)) {
      cf_log(ctx, CF_LOG_ERROR, "flux estimate: the %s '%s' does not exist (nothing was written)",
             k < n ? "L2 file" : "sources layer", in);
      code = EXIT_USAGE;
    } else if (cf_path_same(in, out)) {
      cf_log(ctx, CF_LOG_ERROR, "flux estimate: the output directory '%s' is the input '%s' (nothing was written)", out, in);
      code = EXIT_USAGE;
    }
  }
  if (code == EXIT_OK) {
    int rc = cf_flux_run(ctx, l2, n, sources, layer, &o, out);
    if (rc) {
      cf_log_error_chain(ctx);
      code = rc == CF_EINVAL || rc == CF_ENOENT ? EXIT_USAGE : rc == CF_EDATA ? EXIT_ALL_REJECTED : EXIT_PROCESSING;
    } else {
      cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
    }
  }
  free(l2);
  return code;
}

/* sink ledger, sink report, verify (cli_sink.h, cli_sink_report.h) */
static int cmd_sink(cf_ctx *ctx, int argc, char **argv) {
  char why[1024];
  int code;
  if (argc >= 1 && !strcmp(argv[0], "report"))
    code = cf_cli_sink_report(ctx, argc - 1, argv + 1, why, sizeof why);
  else if (argc >= 1 && !strcmp(argv[0], "ledger"))
    code = cf_cli_sink_ledger(ctx, argc - 1, argv + 1, why, sizeof why);
  else
    return usage_error("sink", "what to do? ('ledger' or 'report')%s", "");
  return why[0] ? usage_error("sink", "%s", why) : code;
}

static int cmd_verify(cf_ctx *ctx, int argc, char **argv) {
  char why[1024];
  int code = cf_cli_verify(ctx, argc, argv, why, sizeof why);
  return why[0] ? usage_error("verify", "%s", why) : code;
}

/* batch, status, history (cli_batch.h) */
static int cmd_batch_family(cf_ctx *ctx, const char *cmd, int argc, char **argv) {
  char why[1024];
  int code;
  if (!strcmp(cmd, "batch")) {
    char *line = command_line(g_argc, g_argv);
    code = cf_cli_batch(ctx, argc, argv, line ? line : "", why, sizeof why);
    free(line);
  } else if (!strcmp(cmd, "status")) {
    code = cf_cli_status(ctx, argc, argv, why, sizeof why);
  } else {
    code = cf_cli_history(ctx, argc, argv, why, sizeof why);
  }
  return why[0] ? usage_error(cmd, "%s", why) : code;
}

static int cmd_demo(cf_ctx *ctx, int argc, char **argv) {
  const char *dir = "carbonflux-demo";
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc)
      dir = argv[++i];
    else if (!strncmp(argv[i], "--out=", 6))
      dir = argv[i] + 6;
    else
      return usage_error("demo", "unexpected argument '%s'", argv[i]);
  }
  cf_run_summary s;
  int rc = cf_demo_run(ctx, dir, &s);
  if (rc && s.items == 0) {
    cf_log_error_chain(ctx);
    cf_run_summary_free(&s);
    return EXIT_PROCESSING;
  }
  int code = exit_for_summary(&s);
  if (code == EXIT_OK) {
    printf("carbonflux demo: synthetic inputs and pipeline in %s/ (scene.tif, chm.tif, boundary.geojson,\n"
           "stands.geojson, lidar_l0.h5 with its truth lidar_truth.nc, demo.yaml);\n"
           "rerun with: carbonflux run %s/demo.yaml\nwrote:\n",
           dir, dir);
    for (int i = 0; i < s.noutputs; i++) printf("  %s\n", s.outputs[i]);
  }
  cf_run_summary_free(&s);
  return code;
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  cf_ctx *ctx = cf_ctx_create();
  if (!ctx) {
    fprintf(stderr, "carbonflux: out of memory\n");
    return EXIT_PROCESSING;
  }
  /* MPI only when an MPI launcher started us: a plain run never touches it
   * (core/par.h). Initialised before anything else, as MPI asks. */
  cf_par *par = NULL;
  long launched = cf_par_launched();
  if (launched > 1 || (launched == 1 && cf_par_available())) {
    if (!cf_par_available()) {
      fprintf(stderr, "carbonflux: started by an MPI launcher with several ranks, but built without MPI "
                      "(configure with -DCF_MPI=ON and libopenmpi-dev installed); every rank would do the whole "
                      "work and write the same files\n");
      cf_ctx_destroy(ctx);
      return EXIT_USAGE;
    }
    if (cf_par_init(ctx, &argc, &argv, &par)) {
      cf_log_error_chain(ctx);
      cf_ctx_destroy(ctx);
      return EXIT_PROCESSING;
    }
    cf_ctx_set_par(ctx, par);
  }
  /* cancellation from the first moment: a scheduler's SIGTERM during
   * argument parsing stops the run cleanly, like one during the work */
  g_ctx = ctx;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  int quiet = 0, verbose = 0, json = 0, threads = 0, no_overwrite = 0;
  const char *cmd = NULL;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0, code = EXIT_OK;
  for (int i = 1; i + 1 < argc; i++) /* known before any message, so that every line is JSON */
    if (!strcmp(argv[i], "--log-format") && !strcmp(argv[i + 1], "json")) {
      cf_set_log_format(ctx, CF_LOG_JSON);
      g_json_ctx = ctx;
    }
  if (!rest) return EXIT_PROCESSING;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      verbose = 1;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      help = 1;
    } else if (!strcmp(a, "--no-overwrite")) {
      no_overwrite = 1;
    } else if (!strcmp(a, "--version")) {
      printf("carbonflux %s\n", cf_version());
      goto out;
    } else if (!strcmp(a, "--threads") || !strcmp(a, "--log-format") || !strcmp(a, "--cache-mb")) {
      if (i + 1 >= argc) {
        code = usage_error(cmd, "%s needs a value", a);
        goto out;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--threads")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 1024) {
          code = usage_error(cmd, "--threads takes a number from 1 to 1024, not '%s'", v);
          goto out;
        }
        threads = (int)n;
      } else if (!strcmp(a, "--log-format")) {
        if (strcmp(v, "text") && strcmp(v, "json")) {
          code = usage_error(cmd, "--log-format is text or json, not '%s'", v);
          goto out;
        }
        json = !strcmp(v, "json");
      } else {
        char *end;
        long mb = strtol(v, &end, 10);
        if (*end || mb < 8 || mb > 1 << 20) {
          code = usage_error(cmd, "--cache-mb takes a number of MiB (8 or more), not '%s'", v);
          goto out;
        }
        setenv("GDAL_CACHEMAX", v, 1);
      }
    } else if (!cmd && a[0] != '-') {
      cmd = a;
    } else {
      rest[nrest++] = argv[i];
    }
  }
  if (!cmd || !strcmp(cmd, "help")) {
    const char *topic = cmd && nrest ? rest[0] : NULL;
    const char *u = usage_of(topic);
    if (!u) {
      code = usage_error(NULL, "no command '%s'", topic);
      goto out;
    }
    print_usage(topic, cmd || help ? stdout : stderr);
    code = cmd || help ? EXIT_OK : EXIT_USAGE;
    goto out;
  }
  if (!usage_of(cmd)) {
    code = usage_error(NULL, "no command '%s'", cmd);
    goto out;
  }
  if (help) {
    print_usage(cmd, stdout);
    goto out;
  }

  /* under MPI the other ranks say only what goes wrong (or all with -v):
   * rank 0 reports the run */
  cf_set_log_level(ctx, quiet ? CF_LOG_ERROR : verbose ? CF_LOG_DEBUG : cf_par_rank(par) ? CF_LOG_WARN : CF_LOG_INFO);
  cf_set_log_format(ctx, json ? CF_LOG_JSON : CF_LOG_TEXT);
  cf_set_overwrite(ctx, !no_overwrite);
  cf_library_log_route(ctx);
  static cf_progress_term_state bar;
  if (cf_par_rank(par) > 0)
    ; /* one progress report: rank 0's */
  else if (!quiet && json)
    cf_set_progress(ctx, cf_progress_json, ctx);
  else if (!quiet && isatty(fileno(stderr)))
    cf_set_progress(ctx, cf_progress_term, &bar);
  if (threads) {
    cf_set_threads(ctx, threads);
    omp_set_num_threads(threads);
  }

  /* under MPI, `run`, `batch` and `flux` spread their work over the ranks;
   * every other command runs on rank 0 alone (the others wait for its code) */
  if (cf_par_rank(par) > 0 && strcmp(cmd, "run") && strcmp(cmd, "batch") && strcmp(cmd, "flux"))
    cf_log(ctx, CF_LOG_DEBUG, "rank %d: '%s' runs on rank 0 alone", cf_par_rank(par), cmd);
  else if (!strcmp(cmd, "run"))
    code = cmd_run(ctx, nrest, rest);
  else if (!strcmp(cmd, "stages"))
    code = cmd_stages(ctx, nrest, rest);
  else if (!strcmp(cmd, "demo"))
    code = cmd_demo(ctx, nrest, rest);
  else if (!strcmp(cmd, "simulate"))
    code = cmd_simulate(ctx, nrest, rest);
  else if (!strcmp(cmd, "lidar"))
    code = cmd_lidar(ctx, nrest, rest);
  else if (!strcmp(cmd, "params"))
    code = cmd_params(ctx, nrest, rest);
  else if (!strcmp(cmd, "forest"))
    code = cmd_forest(ctx, nrest, rest);
  else if (!strcmp(cmd, "flux"))
    code = cmd_flux(ctx, nrest, rest);
  else if (!strcmp(cmd, "sink"))
    code = cmd_sink(ctx, nrest, rest);
  else if (!strcmp(cmd, "verify"))
    code = cmd_verify(ctx, nrest, rest);
  else if (!strcmp(cmd, "batch") || !strcmp(cmd, "status") || !strcmp(cmd, "history"))
    code = cmd_batch_family(ctx, cmd, nrest, rest);
  else
    printf("carbonflux %s\n", cf_version());
out:
  if (par) { /* the same exit code on every rank: rank 0's */
    int32_t c = code;
    if (cf_par_bcast(ctx, par, &c, sizeof c, 0) == CF_OK) code = c;
    cf_ctx_set_par(ctx, NULL);
    cf_par_finalize(par);
  }
  free(rest);
  cf_library_log_unroute();
  g_ctx = NULL;
  g_json_ctx = NULL;
  cf_ctx_destroy(ctx);
  return code;
}
