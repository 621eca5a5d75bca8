/*
 * A batch over the ranks of an MPI run (run_par.c): what
 * cf_pipeline_run_items does in one process, with the items spread.
 */
#ifndef CF_PIPELINES_RUN_PAR_H
#define CF_PIPELINES_RUN_PAR_H

#include "carbonflux/pipeline.h"

/* cf_pipeline_run_items over the ranks of cf_ctx_par(ctx) (one rank: the
 * same call). Every rank calls it with the same pipeline and range.
 *
 * Rank 0 alone calls opts->select (for every item of the range, in index
 * order) and opts->on_item (for every item that ran, on any rank, as its
 * report arrives: not in index order). The items to run are numbered
 * j = 0, 1, ... in index order; item j runs on rank j % N. On return every
 * rank has the same status and the same counts in *summary; the outputs'
 * paths are listed on rank 0 only, in item order. The status is CF_OK if
 * every item succeeded, CF_ECANCEL after a cancellation, else the root
 * cause's code of the last failed item in index order; CF_EINTERNAL if
 * MPI itself failed (the caller should then cf_par_abort: other ranks may
 * be waiting). */
int cf_par_run_items(cf_ctx *ctx, cf_pipeline *p, const cf_run_options *opts, cf_run_summary *summary);

#endif
