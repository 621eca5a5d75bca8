/* `carbonflux sink ledger` and `carbonflux verify`: the command's side of
 * sink/issuance/ledger.h and sink/audit/audit.h (their rows in the
 * command table are in cli_sink.c; `sink report` is cli_sink_report.h). */
#ifndef CF_PIPELINES_CLI_SINK_H
#define CF_PIPELINES_CLI_SINK_H

#include <stddef.h>

#include "carbonflux/ctx.h"
#include "pipelines/cli_sink_report.h"

#define CF_CLI_SINK_USAGE \
  "Usage: carbonflux sink ledger --event DATE=REPORT.json --event DATE=REPORT.json [--event ...]\n" \
  "                              --policy NAME -o LEDGER.json [--baseline DATE=REPORT.json]...\n" \
  "                              [--emission DATE=T_CO2E[:WHAT]]... [--leakage DATE=T_CO2E[:WHAT]]...\n" \
  "                              [--stratum-map FROM=TO]... [KEY=VALUE]...\n" \
  "\n" \
  "The issuance ledger of a forestry sink project: from its stock reports (carbonflux-stocks/1, written by\n" \
  "`carbonflux forest stocks`) at two or more monitoring events (DATE = YYYY-MM-DD, in date order) to the\n" \
  "change in stocks per period with its uncertainty, baseline removals, emissions, leakage, the policy's\n" \
  "uncertainty deduction and buffer, and net issuable units per period and vintage, with the cumulative-\n" \
  "difference logic (a reversal is netted against later gains). Writes LEDGER.json (self-describing: inputs\n" \
  "with SHA-256, policy, settings, parameters with sources, the equation of every row) and LEDGER.csv\n" \
  "beside it, both or neither.\n" \
  "\n" \
  "  --policy NAME          ccer-14-001, cdm-ar-acm0003, vm0047 or gold-standard (also policy=NAME)\n" \
  "  --baseline DATE=FILE   baseline stock report at an event's date (with baseline=series)\n" \
  "  --emission DATE=T[:W]  project emissions of T t CO2e in the period ending on DATE (W: what they are)\n" \
  "  --leakage DATE=T[:W]   leakage of T t CO2e in the period ending on DATE (instead of leakage_fraction)\n" \
  "  --stratum-map FROM=TO  read stratum FROM of any event as TO (strata must match between events)\n" \
  "\n" \
  "Exit 1: usage, a setting, an unknown policy, events out of order or a period of zero length, a missing\n" \
  "file; 4: a stock report that cannot be used (another schema version, a missing field, strata that differ\n" \
  "between events); 2: the ledger could not be written. Nothing is written unless everything succeeded.\n" \
  "\n" CF_CLI_SINK_REPORT_USAGE "\n" \
  "Settings of the ledger (KEY=VALUE: name, default, accepted values, help):\n\n"

#define CF_CLI_VERIFY_USAGE \
  "Usage: carbonflux verify FILE [--inputs-dir DIR]\n" \
  "\n" \
  "Check the audit trail of a ledger (carbonflux-ledger/1), a stock report (carbonflux-stocks/1) or a\n" \
  "report that names its ledger: re-hash every recorded input (a file missing or with another SHA-256\n" \
  "is named), recompute the ledger from the recorded inputs and settings, and one level deeper each\n" \
  "stock report it read from its plots, trees and strata, and say for each table whether it matches\n" \
  "(exactly: the files hold round-trip numbers) or where it first differs. Inputs are looked for under\n" \
  "DIR (default: the directory of the file that records them), then at the recorded path, then by\n" \
  "their bare name. Another software version is a warning.\n" \
  "\n" \
  "Exit 0: every input and table matches; 5: something does not match (the lines marked FAIL);\n" \
  "1: usage or FILE missing; 4: FILE is not a ledger, stock report or report naming its ledger.\n"

/* Each runs its command on its arguments (after "ledger", after "verify")
 * and returns the exit code; for a usage error 1 with the reason in `why`
 * (else why[0] = 0). */
int cf_cli_sink_ledger(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap);
int cf_cli_verify(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap);

#endif
