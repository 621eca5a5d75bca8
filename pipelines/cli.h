/* What the files of the `carbonflux` command (main.c, cli_*.c) share: the
 * documented exit codes and the checks every command makes before it
 * writes. Compiled into the command only, not the library. */
#ifndef CF_PIPELINES_CLI_H
#define CF_PIPELINES_CLI_H

#include "carbonflux/ctx.h"

/* The exit codes of README "Exit codes" (main.c's opening comment). */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_PROCESSING = 2, EXIT_REJECTED = 3, EXIT_ALL_REJECTED = 4, EXIT_MISMATCH = 5 };

/* Exit 1 (nothing written) if output `out` is the file `other` (through
 * symlinks, "..", hard links), naming both roles; or if it exists and
 * overwriting is off; or if it is a directory. `cmd` and `what` name the
 * command and the output in the message. */
int cf_cli_check_output(cf_ctx *ctx, const char *cmd, const char *what, const char *out, const char *other,
                        const char *role);

/* Exit code of a library status: the outermost code says whose fault it is
 * (a setting or a missing file: 1; an input that cannot be used: 4; else 2). */
int cf_cli_exit_for_status(int rc);

#endif
