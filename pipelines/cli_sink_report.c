/* `carbonflux sink report` (cli_sink_report.h): arguments to a
 * cf_ireport_spec, the library call, the exit code. */
#include "pipelines/cli_sink_report.h"

#include <stdio.h>
#include <string.h>

#include "core/fsutil.h"
#include "sink/issuance/report.h"

int cf_cli_sink_report(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap) {
  why[0] = 0;
  cf_ireport_spec spec = {.generated = -1};
  cf_ireport_settings_default(&spec.settings);
  int rc = CF_OK;
  for (int i = 0; i < argc && !rc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v && (!strcmp(a, "-o") || !strcmp(a, "--out"))) spec.html_path = argv[++i];
    else if (v && !strcmp(a, "--ledger")) spec.ledger_path = argv[++i];
    else if (v && !strcmp(a, "--pool-map")) spec.pool_map = argv[++i];
    else if (v && !strcmp(a, "--strata")) spec.strata_path = argv[++i];
    else if (v && !strcmp(a, "--plots")) spec.plots_path = argv[++i];
    else if (v && !strcmp(a, "--inputs-dir")) spec.inputs_dir = argv[++i];
    else if (a[0] != '-' && strchr(a, '=')) rc = cf_ireport_settings_set(ctx, &spec.settings, a);
    else return snprintf(why, cap, "unexpected argument '%s'", a), 1;
  }
  if (rc) {
    cf_log_error_chain(ctx);
    return 1;
  }
  if (!spec.ledger_path) return snprintf(why, cap, "give the ledger with --ledger LEDGER.json"), 1;
  if (!spec.html_path) return snprintf(why, cap, "give the report's file with -o REPORT.html"), 1;
  size_t n = strlen(spec.html_path);
  if (n < 6 || strcmp(spec.html_path + n - 5, ".html"))
    return snprintf(why, cap, "the report's name ends in .html (its CSV tables go beside it), not '%s'", spec.html_path), 1;
  const char *ins[4] = {spec.ledger_path, spec.pool_map, spec.strata_path, spec.plots_path};
  for (int i = 0; i < 4; i++) {
    if (ins[i] && !cf_file_exists(ins[i])) {
      cf_error(ctx, CF_ENOENT, ins[i], "", "no such file");
      cf_log_error_chain(ctx);
      return 1;
    }
    if (ins[i] && cf_path_same(ins[i], spec.html_path))
      return snprintf(why, cap, "the report '%s' is the input '%s'; it would be overwritten", spec.html_path, ins[i]), 1;
  }
  cf_ireport_info info;
  rc = cf_ireport_write(ctx, &spec, &info);
  if (rc) {
    cf_log_error_chain(ctx);
    return rc == CF_EINVAL || rc == CF_ENOENT ? 1 : rc == CF_EDATA ? 4 : 2;
  }
  char tables[16], maps[16];
  snprintf(tables, sizeof tables, "%d", info.n_tables);
  snprintf(maps, sizeof maps, "%d", info.n_images);
  cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", spec.html_path, "tables", tables, "maps", maps, (const char *)NULL);
  return 0;
}
