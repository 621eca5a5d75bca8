/* `carbonflux sink report`: the command's side of sink/issuance/report.h,
 * compiled into the command only (the `sink` row of cli_sink.c runs it). */
#ifndef CF_PIPELINES_CLI_SINK_REPORT_H
#define CF_PIPELINES_CLI_SINK_REPORT_H

#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_CLI_SINK_REPORT_USAGE                                                                                  \
  "Usage: carbonflux sink report --ledger LEDGER.json -o REPORT.html [--pool-map POOLS.tif] [--strata STRATA]\n"  \
  "                              [--plots PLOTS.csv] [--inputs-dir DIR] [KEY=VALUE]...\n"                         \
  "\n"                                                                                                            \
  "The verifier's report of a ledger: one self-contained HTML file (stocks per stratum of each event, the\n"     \
  "ledger with the equation of every row, the uncertainty statement, maps of carbon density and its SE from\n"   \
  "the pool COG, every parameter and setting with its source, every input with its SHA-256, and the ledger's\n"  \
  "path and SHA-256 for `carbonflux verify`); each table as CSV, the strata and plots as strata_plots.gpkg and\n" \
  "strata_plots.kml beside it; all or none. Strata and plots default to those the stock reports read.\n"          \
  "\n"                                                                                                            \
  "The stock reports and inventories the ledger records are looked for as `carbonflux verify` looks for them:\n"  \
  "under DIR (--inputs-dir), then by their recorded path relative to the file that records them, then at the\n" \
  "recorded path, then by their bare name beside that file; so a moved or copied package reports where it\n"    \
  "lies. The file found must have the recorded SHA-256, else exit 4 naming it and both hashes.\n"                \
  "\n"                                                                                                            \
  "Exit 1: usage, a setting, a missing file; 4: a ledger or stock report that cannot be used (another schema,\n" \
  "a missing field, a stock report or inventory changed since it was recorded); 2: the report could not be\n"   \
  "written.\n"

/* Run the command on its arguments (after "report"). Returns the exit
 * code; for a usage error 1 with the reason in `why` (else why[0] = 0). */
int cf_cli_sink_report(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap);

#endif
