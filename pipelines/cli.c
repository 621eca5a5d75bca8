/* The command's shared checks (cli.h). */
#include "pipelines/cli.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "core/fsutil.h"

int cf_cli_check_output(cf_ctx *ctx, const char *cmd, const char *what, const char *out, const char *other,
                        const char *role) {
  if (other && cf_path_same(out, other)) {
    cf_log(ctx, CF_LOG_ERROR, "%s: the %s '%s' is the %s '%s'; it would be overwritten (nothing was written)", cmd, what,
           out, role, other);
    return EXIT_USAGE;
  }
  if (!cf_get_overwrite(ctx) && cf_file_exists(out)) {
    cf_log(ctx, CF_LOG_ERROR, "%s: the %s '%s' exists and --no-overwrite was given (nothing was written)", cmd, what, out);
    return EXIT_USAGE;
  }
  struct stat sb;
  if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    cf_log(ctx, CF_LOG_ERROR, "%s: the %s '%s' is a directory; give a file name (nothing was written)", cmd, what, out);
    return EXIT_USAGE;
  }
  /* a folder that cannot be made or written in is the command line's
   * error, found before any work (exit 1, as `run` says at validation) */
  char why[1200];
  char *dir = cf_path_dirname(out);
  int unwritable = dir && cf_dir_unwritable(dir, why, sizeof why);
  free(dir);
  if (unwritable) {
    cf_log(ctx, CF_LOG_ERROR, "%s: the %s '%s' cannot be written: %s (nothing was run)", cmd, what, out, why);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

int cf_cli_exit_for_status(int rc) {
  return rc == CF_OK                            ? EXIT_OK
         : rc == CF_EINVAL || rc == CF_ENOENT ? EXIT_USAGE
         : rc == CF_EDATA                     ? EXIT_ALL_REJECTED
                                              : EXIT_PROCESSING;
}
