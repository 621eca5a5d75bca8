/*
 * `carbonflux status` and `carbonflux history`: the catalogue read back,
 * as text for a person and JSON for a program.
 *
 * Status reads several catalogues together (the shards of a job array each
 * keep their own): an input's state is its latest item in any of them.
 */
#ifndef CF_BATCH_STATUS_H
#define CF_BATCH_STATUS_H

#include <stdio.h>

#include "carbonflux/ctx.h"

/* Per input its latest state, the counts and the last run. CF_ENOENT for a
 * catalogue that is not there, CF_EDATA for one of another version. */
int cf_batch_status(cf_ctx *ctx, const char *const *catalogues, int n, int json, FILE *out);
/* The runs, newest first (limit <= 0: all); with run_id, that run and its
 * items (CF_ENOENT if there is no such run). */
int cf_batch_history(cf_ctx *ctx, const char *catalogue, int limit, const char *run_id, int json, FILE *out);

#endif
