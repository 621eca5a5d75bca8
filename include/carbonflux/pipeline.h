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
