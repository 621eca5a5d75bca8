/*
 * `carbonflux lidar process`: an L0 file to the L2 product
 * (lidar/process_options.h, lidar/l2_write.h).
 *
 * It runs in a child process (core/isolate.h), as every pipeline item does:
 * a library crashing on a corrupted L0 file is reported with its signal and
 * exit code 4, and the part file it left is removed. The command line goes
 * into the L2 file's history attribute.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/isolate.h"
#include "lidar/l2_write.h"
#include "lidar/process_options.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"

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

static void help_lidar(FILE *out) {
  fputs("Usage: carbonflux lidar process IN.h5 -o OUT.nc [KEY=VALUE]...\n"
        "\n"
        "Radial velocity, CNR, CO2 (DIAL) and wind profiles from a CO2-flux lidar\n"
        "L0 file of either level, written as NetCDF-4/CF-1.8 (../shared/spec/lidar-l2.md).\n"
        "Settings (KEY=VALUE: name, default, accepted values, help; the options of the\n"
        "lidar.* pipeline stages are the same settings under the same names):\n\n",
        out);
  cf_lidar_opts_describe(out);
}

static int run_lidar(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  if (argc < 1 || strcmp(argv[0], "process"))
    return cf_cli_usage_error("lidar", "what to do? (only 'process' for now)%s", "");
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
      return cf_cli_usage_error("lidar", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!in || !out) return cf_cli_usage_error("lidar", "give the L0 file and -o OUT.nc%s", "");
  if (!cf_file_exists(in)) {
    cf_log(ctx, CF_LOG_ERROR, "lidar process: input file '%s' does not exist (nothing was written)", in);
    return EXIT_USAGE;
  }
  int bad = cf_cli_check_output(ctx, "lidar process", "output", out, in, "input");
  if (bad) return bad;
  cf_l2_meta meta = {.history = command_line};
  lidar_job job = {ctx, in, out, &o, &meta, EXIT_PROCESSING};
  return run_lidar_isolated(&job);
}

const cf_cli_command cf_cli_cmd_lidar = {"lidar", help_lidar, run_lidar, 0};
