/*
 * Pipelines: load, validate and run a YAML list of stages.
 *
 *   cf_pipeline *p;
 *   if (cf_pipeline_load(ctx, "job.yaml", sets, nsets, &p) == CF_OK) {
 *     cf_run_summary s;
 *     cf_pipeline_run(ctx, p, &s);
 *     ...
 *     cf_pipeline_free(p);
 *   }
 *
 * Loading validates the whole file against the stage registry before
 * anything runs; every problem is reported as "file:line:col: message".
 * Running processes each batch item (each file matched by the one stage
 * whose path is a list or glob) through all stages; an item whose input is
 * bad is reported and skipped while the others go on.
 */
#ifndef CARBONFLUX_PIPELINE_H
#define CARBONFLUX_PIPELINE_H

#include <stdio.h>

#include "carbonflux/ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_pipeline cf_pipeline;

typedef struct {
  int items;      /* batch items attempted */
  int succeeded;
  int rejected;   /* items skipped because an input was bad (missing, unreadable, invalid) */
  int failed;     /* items that failed for other reasons (write error, out of memory) */
  int cancelled;
  int noutputs;
  char **outputs; /* paths written, in order; freed by cf_run_summary_free */
} cf_run_summary;

/* Load and validate. `sets` are "STAGE.KEY=VALUE" overrides (VALUE is YAML). */
int cf_pipeline_load(cf_ctx *ctx, const char *path, const char *const *sets, int nsets,
                     cf_pipeline **out);
/* Same from text; relative paths resolve against `base_dir`. */
int cf_pipeline_load_string(cf_ctx *ctx, const char *source_name, const char *text,
                            const char *base_dir, const char *const *sets, int nsets,
                            cf_pipeline **out);
/* Run every batch item. Returns CF_OK if all succeeded, else the status of
 * the last failure; each failure is logged through the context (and its
 * chain cleared) as it happens, and the summary counts them. */
int cf_pipeline_run(cf_ctx *ctx, cf_pipeline *p, cf_run_summary *summary);

/* The batch items, in the order they run: the batch stage's paths sorted
 * (byte order), so that an item's index is the same on every machine and
 * in every rerun. A pipeline without a batch stage has none (*items NULL). */
int cf_pipeline_items(const cf_pipeline *p, const char *const **items);
/* The effective settings of every stage, as one JSON object (what outputs
 * record as CARBONFLUX_SETTINGS); owned by the pipeline. */
const char *cf_pipeline_settings(const cf_pipeline *p);

/* What became of one item, as cf_pipeline_run_items reports it. */
typedef enum {
  CF_ITEM_DONE,      /* every stage succeeded */
  CF_ITEM_REJECTED,  /* an input was bad (missing, unreadable, invalid, or crashed its reader): quarantined */
  CF_ITEM_FAILED,    /* anything else: write error, out of memory, killed from outside */
  CF_ITEM_CANCELLED  /* stopped by cancellation; the batch stops too */
} cf_item_status;

typedef struct {
  int index;                  /* in cf_pipeline_items order (0 if the pipeline has no batch stage) */
  const char *path;           /* the item's input, NULL without a batch stage */
  cf_item_status status;
  int code;                   /* root cause's status code (CF_OK when done) */
  const char *reason;         /* why it was rejected or failed; "" when done */
  int noutputs;               /* the outputs this item committed */
  const char *const *outputs;
  double seconds;             /* wall time of the item */
  const char *stage;          /* the stage (its name) it failed or crashed in; NULL when done or unknown */
  int stages_done;            /* stages that finished: all of them when done */
} cf_item_report;

typedef struct {
  int first, last;            /* run items first..last-1; last <= 0 means to the end */
  /* If set, an item in range runs only when select returns nonzero (the
   * catalogue's "new or changed"); skipped items are not counted. */
  int (*select)(void *user, int index, const char *path);
  /* If set, called in this process after each item that ran, in order. */
  void (*on_item)(void *user, const cf_item_report *report);
  void *user;
  /* If set, called in this process just before an item runs (before its
   * child is forked: what it sets in the context, such as a log field,
   * the child inherits). */
  void (*on_start)(void *user, int index, const char *path);
} cf_run_options;

/* cf_pipeline_run over a range or selection of items, reporting each one.
 * NULL options run every item (cf_pipeline_run is this with NULL). */
int cf_pipeline_run_items(cf_ctx *ctx, cf_pipeline *p, const cf_run_options *opts, cf_run_summary *summary);
void cf_pipeline_free(cf_pipeline *p);
void cf_run_summary_free(cf_run_summary *s);

/* Describe every registered stage with its options (the `stages` command). */
void cf_stages_describe(FILE *out, const char *only_type);

/* Shipped pipeline by file name ("demo.yaml"), or NULL. */
const char *cf_shipped_pipeline(const char *name);

#ifdef __cplusplus
}
#endif
#endif
