/* `carbonflux batch`, `status` and `history`: the command's side of
 * batch/batch.h and batch/status.h (their rows in the command table are
 * in cli_batch.c). */
#ifndef CF_PIPELINES_CLI_BATCH_H
#define CF_PIPELINES_CLI_BATCH_H

#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_CLI_BATCH_USAGE                                                                                         \
  "Usage: carbonflux batch PIPELINE.yaml [--inputs GLOB]... [--catalogue FILE] [--set STAGE.KEY=VALUE]...\n"      \
  "                        [--items I:J] [--shard K/N] [--summary FILE] [--json] [--force] [--retry-quarantined]\n" \
  "                        [--dry-run] [--check]\n"                                                                 \
  "\n"                                                                                                            \
  "Run the pipeline over those of its batch inputs that are new or changed since the catalogue last saw\n"       \
  "them, each in its own process, recording each item (status, reason, the stage it failed in, outputs with\n"   \
  "SHA-256 and size) the moment it ends. An input runs when it is new, its content changed (hashed only when\n"  \
  "its size or mtime moved), the settings or the pipeline file's text changed since it was done, or an output\n" \
  "recorded for it is missing or has another size; else it is skipped as unchanged. An input rejected as bad\n"  \
  "is quarantined and not retried until its content changes.\n"                                                   \
  "\n"                                                                                                            \
  "  --inputs GLOB        replaces the batch stage's paths (repeat for a list); relative to the current directory\n" \
  "  --catalogue FILE     the SQLite catalogue; default: catalogue.sqlite in the directory of the pipeline's\n"   \
  "                       first output path (the part before any {stem}, e.g. out/ for out/{stem}_l2.nc)\n"      \
  "  --set STAGE.KEY=VAL  override an option, as for `run`; a changed setting reruns every input\n"              \
  "  --items I:J          only the sorted items I..J-1 (0-based)\n"                                              \
  "  --shard K/N          only items whose index % N == K (a Slurm job array: K = $SLURM_ARRAY_TASK_ID); give\n" \
  "                       each shard its own --catalogue, `status` reads them together\n"                        \
  "  --summary FILE       also write the text summary to FILE (atomically): for a cron job to mail\n"           \
  "  --json               the summary on stdout as JSON\n"                                                        \
  "  --force              run every item    --retry-quarantined   retry quarantined inputs too\n"               \
  "  --dry-run            list what would run and why, run nothing, write nothing\n"                              \
  "  --check              validate the pipeline with these options and inputs, as `run --check`; the\n"             \
  "                       catalogue is not opened\n"                                                                \
  "\n"                                                                                                            \
  "With --log-format json every log record carries \"run_id\", and a record written during an item (by the\n"   \
  "item's own process too) its \"item_id\" (the item's index). Exit 0: all done or unchanged; 3: some inputs\n" \
  "are quarantined (this run or still); 4: all are; 2: an item failed or the catalogue could not be written;\n"  \
  "1: usage, the pipeline, a catalogue of another schema version.\n"

#define CF_CLI_STATUS_USAGE                                                                                         \
  "Usage: carbonflux status [--catalogue FILE]... [--json]\n"                                                      \
  "\n"                                                                                                              \
  "Per input its latest state (done, quarantined with the reason, failed with the reason), the counts and the\n" \
  "last run. Several catalogues (the shards of a job array) are read together. Default catalogue:\n"              \
  "./catalogue.sqlite. Exit 1 for a catalogue that is missing or of another schema version.\n"

#define CF_CLI_HISTORY_USAGE                                                                                     \
  "Usage: carbonflux history [--catalogue FILE] [--json] [--limit N] [--run ID]\n"                              \
  "\n"                                                                                                           \
  "The runs of a catalogue, newest first: state (finished, or interrupted for one killed before its end),\n"     \
  "start, time, counts, exit code, software version and settings hash; with --run ID that run and its items\n" \
  "(why each ran, its status and reason). Default catalogue: ./catalogue.sqlite.\n"

/* Each runs its command on the arguments after the command's name and
 * returns the exit code; a usage error is 1 with the reason in `why`. */
int cf_cli_batch(cf_ctx *ctx, int argc, char **argv, const char *cmdline, char *why, size_t cap);
int cf_cli_status(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap);
int cf_cli_history(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap);

#endif
