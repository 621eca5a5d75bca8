/*
 * carbonflux: the command-line tool, a thin layer over libcarbonflux.
 *
 * It parses the global options, sets up the context (log format, progress
 * bar, threads, signal-driven cancellation, MPI when a launcher started
 * us), looks the command up in the command table (cli_command.h: each
 * command's help and argument handling live in its family's cli_*.c) and
 * returns its exit code, one of the documented ones:
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
#include <unistd.h>

#include "carbonflux/ctx.h"
#include "core/par.h"
#include "ingest/library_log.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"

static cf_ctx *g_ctx; /* for the signal handler only */

static void on_signal(int sig) {
  (void)sig;
  if (g_ctx) cf_cancel(g_ctx);
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

int main(int argc, char **argv) {
  const int argc0 = argc; /* the command line as given, before MPI may take its own arguments out */
  char **const argv0 = argv;
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
      cf_cli_usage_json(ctx);
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
        code = cf_cli_usage_error(cmd, "%s needs a value", a);
        goto out;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--threads")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 1024) {
          code = cf_cli_usage_error(cmd, "--threads takes a number from 1 to 1024, not '%s'", v);
          goto out;
        }
        threads = (int)n;
      } else if (!strcmp(a, "--log-format")) {
        if (strcmp(v, "text") && strcmp(v, "json")) {
          code = cf_cli_usage_error(cmd, "--log-format is text or json, not '%s'", v);
          goto out;
        }
        json = !strcmp(v, "json");
      } else {
        char *end;
        long mb = strtol(v, &end, 10);
        if (*end || mb < 8 || mb > 1 << 20) {
          code = cf_cli_usage_error(cmd, "--cache-mb takes a number of MiB (8 or more), not '%s'", v);
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
    if (topic && !cf_cli_command_find(topic)) {
      code = cf_cli_usage_error(NULL, "no command '%s'", topic);
      goto out;
    }
    cf_cli_print_usage(topic, cmd || help ? stdout : stderr);
    code = cmd || help ? EXIT_OK : EXIT_USAGE;
    goto out;
  }
  const cf_cli_command *command = cf_cli_command_find(cmd);
  if (!command) {
    code = cf_cli_usage_error(NULL, "no command '%s'", cmd);
    goto out;
  }
  if (help) {
    cf_cli_print_usage(cmd, stdout);
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
  if (cf_par_rank(par) > 0 && !command->on_every_rank) {
    cf_log(ctx, CF_LOG_DEBUG, "rank %d: '%s' runs on rank 0 alone", cf_par_rank(par), cmd);
  } else {
    char *line = command_line(argc0, argv0);
    code = command->run(ctx, nrest, rest, line);
    free(line);
  }
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
  cf_cli_usage_json(NULL);
  cf_ctx_destroy(ctx);
  return code;
}
