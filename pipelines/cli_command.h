/* A command of `carbonflux` is one row of the command table
 * (cli_commands.c): its name, its --help and its runner. Each command
 * family's file (cli_pipeline.c, cli_simulate.c, cli_lidar.c, cli_forest.c,
 * cli_flux.c, cli_sink.c, cli_batch.c) defines its rows, so a command's
 * help text sits beside the code that reads its arguments; main.c only
 * sets up the process and looks the command up. Compiled into the command
 * only, not the library. */
#ifndef CF_PIPELINES_CLI_COMMAND_H
#define CF_PIPELINES_CLI_COMMAND_H

#include <stdio.h>

#include "carbonflux/ctx.h"

typedef struct {
  const char *name;       /* the command word: "run", "simulate", ... */
  void (*help)(FILE *out); /* the whole --help text, settings tables included */
  /* Run on the arguments after the command word (global options taken
   * out); `command_line` is the whole command line for history attributes
   * (NULL when out of memory). Returns the exit code (cli.h). */
  int (*run)(cf_ctx *ctx, int argc, char **argv, const char *command_line);
  int on_every_rank; /* under MPI the command spreads its work over the ranks;
                        every other command runs on rank 0 alone */
} cf_cli_command;

/* The rows, each defined in its family's file. */
extern const cf_cli_command cf_cli_cmd_run, cf_cli_cmd_stages, cf_cli_cmd_demo; /* cli_pipeline.c */
extern const cf_cli_command cf_cli_cmd_simulate;                                /* cli_simulate.c */
extern const cf_cli_command cf_cli_cmd_lidar;                                   /* cli_lidar.c */
extern const cf_cli_command cf_cli_cmd_forest, cf_cli_cmd_params;               /* cli_forest.c */
extern const cf_cli_command cf_cli_cmd_flux;                                    /* cli_flux.c */
extern const cf_cli_command cf_cli_cmd_sink, cf_cli_cmd_verify;                 /* cli_sink.c */
extern const cf_cli_command cf_cli_cmd_batch, cf_cli_cmd_status, cf_cli_cmd_history; /* cli_batch.c */

/* The row of command `name`; NULL for an unknown one (and for NULL). */
const cf_cli_command *cf_cli_command_find(const char *name);

/* The help of `cmd` (NULL or unknown: the command's own usage) on `out`. */
void cf_cli_print_usage(const char *cmd, FILE *out);

/* A usage error: "carbonflux: " + fmt (with `arg` for its one %s) and one
 * line "run 'carbonflux CMD --help' for usage" on stderr, or, once cf_cli_usage_json has been given a
 * context, one JSON log line that points at the help instead (stderr stays
 * parseable). Returns EXIT_USAGE. */
int cf_cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* Route usage errors through `ctx`'s JSON log (NULL: back to plain text). */
void cf_cli_usage_json(cf_ctx *ctx);

#endif
