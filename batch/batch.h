/*
 * The nightly batch: run a pipeline over only those inputs that are new or
 * changed since the catalogue (catalogue.h) last saw them, and record
 * every item as it finishes.
 *
 * Why a driver over cf_pipeline_run_items and not a second runner. The
 * runner already isolates each item in a child process, quarantines a bad
 * input and commits outputs atomically; what a night needs on top is the
 * memory of the nights before. So this file decides, before anything
 * runs, which items to run and why (cf_batch_decide), hands that choice to
 * the runner as its `select`, and writes each item's row from the runner's
 * `on_item` the moment the item ends, so that a batch killed at any point
 * has recorded exactly the items whose outputs are complete.
 *
 * An item runs when (first rule that applies):
 *   forced         --force;
 *   quarantined    (skipped) rejected before with the same content
 *                  (SHA-256), unless --retry-quarantined;
 *   new            never recorded under this path;
 *   changed        its content differs from the last time it was done or
 *                  quarantined;
 *   settings changed / pipeline changed   the effective settings (less the
 *                  list of inputs) or the pipeline file's text differ from
 *                  those it was last done under;
 *   output missing an output recorded for it is gone or has another size;
 *   not done       recorded, never done (failed, or cancelled);
 * else it is skipped as unchanged. The content is hashed only when the
 * size or the modification time (ns) differs from the stored ones: a
 * second night over unchanged files reads no file.
 */
#ifndef CF_BATCH_BATCH_H
#define CF_BATCH_BATCH_H

#include <stdio.h>

#include "batch/catalogue.h"
#include "carbonflux/pipeline.h"

typedef struct {
  const char *pipeline_path;
  const char *const *sets; /* "STAGE.KEY=VALUE" */
  int nsets;
  const char *const *inputs; /* globs replacing the batch stage's paths (none: the pipeline's) */
  int ninputs;
  const char *catalogue; /* NULL: the default, cf_batch_default_catalogue */
  int first, last;       /* --items I:J (last <= 0: to the end) */
  int shard_k, shard_n;  /* --shard K/N: items with index % N == K (shard_n 0: all) */
  int force, dry_run, retry_quarantined;
  int check_only; /* --check: load and validate the pipeline with these overrides; no catalogue, no items */
  const char *argv; /* the command line, recorded with the run */
} cf_batch_opts;

/* One item of the batch and what the catalogue made of it. */
typedef struct {
  int index;
  char *path;
  int run;        /* selected to run */
  const char *why; /* "new", "changed", ..., or for a skipped item "unchanged" / "quarantined" */
  char sha256[CF_SHA256_HEX_LEN];
  char detail[512]; /* the missing output, or the quarantine reason */
  const char *status; /* after the run: "done", "quarantined", "failed", "cancelled"; NULL if it did not run */
  char *reason;       /* why it was quarantined or failed (malloc'ed) */
  double seconds;
} cf_batch_item;

typedef struct {
  char run_id[96];
  char *catalogue;
  char started[32], finished[32];
  cf_cat_counts counts;
  int nitems;
  cf_batch_item *items; /* every item in range and shard, in index order */
  int catalogue_failed; /* an item could not be recorded (exit 2) */
} cf_batch_result;

/* The default catalogue: "catalogue.sqlite" in the directory of the
 * pipeline's first output path (the part before any "{stem}"), resolved
 * as the runner resolves that path. malloc'ed; NULL with the reason in ctx
 * (a pipeline without an output). */
char *cf_batch_default_catalogue(cf_ctx *ctx, const cf_pipeline *p);

/* Load, decide, run (unless dry_run), record. Returns CF_OK when the batch
 * ran (its items' fates are in the result and its exit code in
 * counts.exit_code), else the reason it could not start (in ctx): CF_EINVAL
 * for the pipeline or options, CF_EDATA for a catalogue of another
 * version. */
int cf_batch_run(cf_ctx *ctx, const cf_batch_opts *o, cf_batch_result *r);
void cf_batch_result_free(cf_batch_result *r);

/* The summary a cron job mails (text) or a program reads (JSON): counts,
 * time, and the inputs quarantined and failed with their reasons. */
void cf_batch_summary_text(const cf_batch_result *r, FILE *out);
void cf_batch_summary_json(const cf_batch_result *r, FILE *out);
/* The text summary written atomically to `path`. */
int cf_batch_summary_write(cf_ctx *ctx, const cf_batch_result *r, const char *path);

/* The documented exit code of a batch from its counts: 2 if an item failed
 * or was cancelled, 4 if every input is quarantined (none done or
 * unchanged), 3 if some are (this night or still, from an earlier one), 0. */
int cf_batch_exit_code(const cf_cat_counts *c, int catalogue_failed);

#endif
