/*
 * The batch catalogue: one SQLite file that remembers what a nightly batch
 * has done, so that the next night processes only what is new or changed.
 *
 * Why SQLite. The catalogue is written after every item by a process that
 * may be killed at any moment (a scheduler's SIGKILL, a node lost, the
 * out-of-memory killer). A text or JSON file rewritten per item would
 * either cost the whole file per item or tear; SQLite's transactions give
 * "each item's record is there whole or not at all" for free, WAL mode
 * lets `carbonflux status` read while a batch writes, and the sqlite3
 * shell lets an operator query it without us. Every write below is one
 * transaction, and the order of work makes a kill harmless: an item's
 * outputs are committed (renamed into place) before its row is written,
 * so a kill between the two costs a rerun of that item, never a row that
 * claims an output which is not there.
 *
 * Tables (schema version CF_CATALOGUE_SCHEMA in PRAGMA user_version; a file
 * with another version is refused with both numbers named):
 *   inputs(path, size, mtime_ns, sha256)   the last fingerprint of each input:
 *        its content is hashed again only when size or mtime moved;
 *   runs(run_id, state, started, finished, pid, host, argv, pipeline path and
 *        sha256 of its text, settings JSON and its sha256, software version,
 *        counts, seconds, exit code)   state is "running" while the batch
 *        runs, "finished" at its end, "interrupted" once a later batch finds
 *        its process gone (killed) without the end;
 *   items(run_id, item_index, input, input_sha256, why, status, code, reason,
 *        stage, stages_done, seconds, finished)   each item that ran, status
 *        done / quarantined / failed / cancelled, the stage it failed in;
 *   outputs(item, path, sha256, size)   each output an item committed;
 *   quarantine(input, sha256, reason, run_id, at)   inputs rejected as bad,
 *        not retried until their content (sha256) changes.
 */
#ifndef CF_BATCH_CATALOGUE_H
#define CF_BATCH_CATALOGUE_H

#include "carbonflux/ctx.h"
#include "core/sha256.h"

#define CF_CATALOGUE_SCHEMA 1

typedef struct cf_catalogue cf_catalogue;

/* Open (creating it and its schema unless read_only) the catalogue at
 * `path`. CF_ENOENT: read_only and no such file; CF_EDATA: not a
 * catalogue, or another schema version (the message names both). */
int cf_cat_open(cf_ctx *ctx, const char *path, int read_only, cf_catalogue **out);
void cf_cat_close(cf_catalogue *cat);
const char *cf_cat_path(const cf_catalogue *cat);

/* --- runs ----------------------------------------------------------------- */

typedef struct {
  const char *run_id, *started, *host, *argv;
  long pid;
  const char *pipeline_path, *pipeline_sha256, *settings, *settings_sha256, *version;
} cf_cat_run_start;

/* The counts of a run, as its summary gives them. */
typedef struct {
  int considered;        /* items in range (and shard) */
  int to_run;            /* of which selected to run ... */
  int fresh;             /*   ... because never seen ("new") */
  int skipped;           /* unchanged, not run */
  int still_quarantined; /* quarantined before, content unchanged, not run */
  int done, quarantined, failed, cancelled;
  double seconds;
  int exit_code;
} cf_cat_counts;

int cf_cat_run_begin(cf_ctx *ctx, cf_catalogue *cat, const cf_cat_run_start *r);
int cf_cat_run_finish(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, const char *finished,
                      const cf_cat_counts *c);
/* Mark "interrupted" every run still "running" on `host` whose process is
 * gone; *n says how many. */
int cf_cat_mark_interrupted(cf_ctx *ctx, cf_catalogue *cat, const char *host, int *n);

/* --- inputs --------------------------------------------------------------- */

typedef struct {
  long long size, mtime_ns;
  char sha256[CF_SHA256_HEX_LEN];
} cf_cat_input;

/* The stored fingerprint of `path`: 1 found, 0 none, <0 error (in ctx). */
int cf_cat_input_get(cf_ctx *ctx, cf_catalogue *cat, const char *path, cf_cat_input *in);
int cf_cat_input_put(cf_ctx *ctx, cf_catalogue *cat, const char *path, const cf_cat_input *in);
/* Group many writes into one transaction (the fingerprint pass). */
int cf_cat_begin(cf_ctx *ctx, cf_catalogue *cat);
int cf_cat_commit(cf_ctx *ctx, cf_catalogue *cat);

/* --- what an input had --------------------------------------------------- */

/* The latest item of `path` that is done, with the hashes it ran under. */
typedef struct {
  long long item;                       /* its row id, 0 if there is none */
  char input_sha256[CF_SHA256_HEX_LEN];
  char pipeline_sha256[CF_SHA256_HEX_LEN];
  char settings_sha256[CF_SHA256_HEX_LEN];
} cf_cat_done;

int cf_cat_last_done(cf_ctx *ctx, cf_catalogue *cat, const char *path, cf_cat_done *d);
/* 1 if any item of `path` was ever recorded, 0 if not, <0 error. */
int cf_cat_seen(cf_ctx *ctx, cf_catalogue *cat, const char *path);
/* Are the outputs of item `item` all there with their recorded size? 1 yes,
 * 0 no (the first one that is not is copied to `missing`), <0 error. */
int cf_cat_outputs_intact(cf_ctx *ctx, cf_catalogue *cat, long long item, char *missing, size_t cap);
/* Is `path` quarantined with content `sha256`? 1 yes (reason copied), 0 no. */
int cf_cat_quarantined(cf_ctx *ctx, cf_catalogue *cat, const char *path, const char *sha256, char *reason,
                       size_t cap);

/* --- recording an item ----------------------------------------------------- */

typedef struct {
  const char *run_id;
  int index;
  const char *input, *input_sha256, *why;
  const char *status; /* "done", "quarantined", "failed", "cancelled" */
  const char *code, *reason, *stage;
  int stages_done;
  double seconds;
  const char *finished;
  int noutputs;
  const char *const *outputs;
  const char *const *output_sha256; /* "" for one that could not be hashed */
  const long long *output_size;     /* -1 for one that is not a regular file */
} cf_cat_item;

/* The item, its outputs and its quarantine entry (added when quarantined,
 * removed when done) in one transaction. */
int cf_cat_item_record(cf_ctx *ctx, cf_catalogue *cat, const cf_cat_item *it);

/* --- reading for status and history ---------------------------------------- */

/* One row of a query: column names and values (text; NULL as ""), n of each. */
typedef int (*cf_cat_row_fn)(void *user, int n, const char *const *names, const char *const *values);

/* Per input its latest item (status, reason, stage, run, finished) and, if
 * quarantined, whether that is still its content. Ordered by input. */
int cf_cat_each_input_state(cf_ctx *ctx, cf_catalogue *cat, cf_cat_row_fn fn, void *user);
/* Runs, newest first, at most `limit` (<= 0: all). */
int cf_cat_each_run(cf_ctx *ctx, cf_catalogue *cat, int limit, cf_cat_row_fn fn, void *user);
/* One run's row (0 if there is no such run, 1 if found). */
int cf_cat_each_run_by_id(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, cf_cat_row_fn fn, void *user);
/* The items of one run in index order. */
int cf_cat_each_item_of_run(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, cf_cat_row_fn fn, void *user);

#endif
