/*
 * A batch over MPI ranks (run_par.h; README, "Running on several nodes
 * (MPI)").
 *
 * The assignment. Rank 0 decides what runs: it asks `select` (the
 * catalogue: new or changed inputs) about every item of the range, in the
 * sorted order of cf_pipeline_items, and broadcasts the list. The j-th
 * item of that list runs on rank j % N. The rule depends only on the
 * sorted inputs, the selection and N, so a rerun after a crash (the
 * catalogue now selecting only what did not finish) assigns the rest the
 * same way on every rank; round-robin rather than contiguous blocks
 * because sorted inputs are usually in time order, and a day's busy hours
 * would otherwise all land on one rank.
 *
 * One owner of shared state. Only rank 0 calls select and on_item: the
 * catalogue (SQLite) is opened by one process. Every other rank sends a
 * report per item (status, code, reason, outputs, time) and, when its share
 * is done, an end message; whether it was cancelled is gathered after. Rank 0 drains the reports that wait
 * (MPI_Iprobe) after each of its own items, then blocks for the rest until
 * every rank has ended. A report longer than MPI's eager limit keeps its
 * sender waiting until rank 0 is between two items.
 *
 * Each item runs as cf_pipeline_run_items runs it (in an isolated child,
 * core/isolate.h), with the context's rank handle detached: a child never
 * calls MPI, and a stage that could spread its own work (the flux
 * inversion) sees one rank, since the ranks are busy with other items.
 *
 * The result is the same on every rank: rank 0 broadcasts the status and
 * the counts, so every rank exits with the same code.
 */
#include "pipelines/run_par.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/par.h"
#include "core/strbuf.h"
#include "pipelines/pipeline_internal.h"

#define TAG_ITEMS 11 /* reports and ends, to rank 0 */

/* What rank 0 keeps of every item that ran, by its place j in the list. */
typedef struct {
  int ran;
  cf_item_status status;
  int code;
  int noutputs;
  char **outputs;
} item_slot;

typedef struct {
  cf_ctx *ctx;
  const cf_par *par;
  cf_pipeline *p;
  const cf_run_options *opts; /* the caller's (rank 0's select and on_item) */
  int pos;                    /* place in the list of the item running here */
  item_slot *slots;           /* rank 0: [nrun] */
  int nrun;
  int comm_rc;                /* first MPI failure */
  int cancelled;              /* rank 0: some rank was cancelled */
} par_state;

/* Rank 0: keep the report of item `pos` and hand it to the caller. */
static void keep(par_state *s, int pos, const cf_item_report *r) {
  if (s->opts && s->opts->on_item) s->opts->on_item(s->opts->user, r);
  if (!s->slots || pos < 0 || pos >= s->nrun) return; /* out of memory: counted by nobody, status says so */
  item_slot *sl = &s->slots[pos];
  sl->ran = 1;
  sl->status = r->status;
  sl->code = r->code;
  sl->outputs = r->noutputs > 0 ? calloc((size_t)r->noutputs, sizeof *sl->outputs) : NULL;
  for (int k = 0; sl->outputs && k < r->noutputs; k++)
    if ((sl->outputs[k] = strdup(r->outputs[k])) != NULL) sl->noutputs++;
}

/* A report as bytes: 'R', int32 pos, index, status, code, noutputs,
 * stages_done, double seconds, then the reason, the stage (empty: none) and
 * each output, each ended by '\0'. */
static void on_item_here(void *user, const cf_item_report *r) {
  par_state *s = user;
  if (cf_par_rank(s->par) == 0) {
    keep(s, s->pos, r);
    return;
  }
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  int32_t h[6] = {s->pos, r->index, (int32_t)r->status, r->code, r->noutputs, r->stages_done};
  cf_strbuf_putn(&sb, "R", 1);
  cf_strbuf_putn(&sb, (const char *)h, sizeof h);
  cf_strbuf_putn(&sb, (const char *)&r->seconds, sizeof r->seconds);
  cf_strbuf_putn(&sb, r->reason ? r->reason : "", strlen(r->reason ? r->reason : "") + 1);
  cf_strbuf_putn(&sb, r->stage ? r->stage : "", strlen(r->stage ? r->stage : "") + 1);
  for (int k = 0; k < r->noutputs; k++) cf_strbuf_putn(&sb, r->outputs[k], strlen(r->outputs[k]) + 1);
  int rc = sb.failed ? cf_error(s->ctx, CF_ENOMEM, "mpi", "report", "out of memory")
                     : cf_par_send(s->ctx, s->par, 0, TAG_ITEMS, cf_strbuf_str(&sb), sb.len);
  if (rc && !s->comm_rc) s->comm_rc = rc;
  cf_strbuf_free(&sb);
}

/* Rank 0: take one message; returns 1 for a rank's end, 0 for a report. */
static int take(par_state *s, const char *msg, size_t len) {
  if (len >= 1 && msg[0] == 'E') return 1;
  int32_t h[6];
  double secs;
  if (len < 1 + sizeof h + sizeof secs || msg[0] != 'R') return 0;
  memcpy(h, msg + 1, sizeof h);
  memcpy(&secs, msg + 1 + sizeof h, sizeof secs);
  const char *at = msg + 1 + sizeof h + sizeof secs, *end = msg + len;
  const char *reason = at;
  at += strnlen(at, (size_t)(end - at)) + 1;
  const char *stage = at < end ? at : "";
  if (at < end) at += strnlen(at, (size_t)(end - at)) + 1;
  int n = h[4] > 0 ? h[4] : 0;
  const char **outs = calloc((size_t)n + 1, sizeof *outs);
  int have = 0;
  for (; outs && have < n && at < end; have++) {
    outs[have] = at;
    at += strnlen(at, (size_t)(end - at)) + 1;
  }
  int idx = h[1];
  cf_item_report r = {.index = idx,
                      .path = s->p->nitems > 0 && idx >= 0 && idx < s->p->nitems ? s->p->items[idx] : NULL,
                      .status = (cf_item_status)h[2],
                      .code = h[3],
                      .reason = reason,
                      .noutputs = have,
                      .outputs = outs,
                      .seconds = secs,
                      .stage = stage[0] ? stage : NULL,
                      .stages_done = h[5]};
  keep(s, h[0], &r);
  free(outs);
  return 0;
}

/* Rank 0: handle what waits (wait = 0) or until `ends` ranks have ended. */
static int drain(par_state *s, int wait, int *ends, int nend) {
  for (;;) {
    if (wait && *ends >= nend) return CF_OK;
    int src = 0;
    void *buf = NULL;
    size_t len = 0;
    int got = cf_par_recv(s->ctx, s->par, TAG_ITEMS, wait, &src, &buf, &len);
    if (got < 0) return got;
    if (got == 0) return CF_OK;
    *ends += take(s, buf, len);
    free(buf);
  }
}

int cf_par_run_items(cf_ctx *ctx, cf_pipeline *p, const cf_run_options *opts, cf_run_summary *summary) {
  cf_par *par = cf_ctx_par(ctx);
  int size = cf_par_size(par), rank = cf_par_rank(par);
  cf_ctx_set_par(ctx, NULL); /* items see one rank (above) */
  if (size == 1) {
    int rc = cf_pipeline_run_items(ctx, p, opts, summary);
    cf_ctx_set_par(ctx, par);
    return rc;
  }
  memset(summary, 0, sizeof *summary);
  int nitems = p->nitems > 0 ? p->nitems : 1;
  int first = opts && opts->first > 0 ? opts->first : 0;
  int last = opts && opts->last > 0 && opts->last < nitems ? opts->last : nitems;
  if (first > last) first = last;
  /* rank 0 selects; the list travels as its length, then int32 indices */
  int32_t *list = malloc((size_t)(last - first + 1) * sizeof *list), nrun = 0;
  if (!list) { /* the others would wait for this rank in the broadcasts below */
    cf_ctx_set_par(ctx, par);
    return cf_error(ctx, CF_EINTERNAL, "mpi", "items", "out of memory for the list of items: stop every rank");
  }
  int rc = CF_OK;
  if (rank == 0)
    for (int it = first; it < last; it++)
      if (!opts || !opts->select || opts->select(opts->user, it, p->nitems > 0 ? p->items[it] : NULL)) list[nrun++] = it;
  int crc = cf_par_bcast(ctx, par, &nrun, sizeof nrun, 0);
  if (!crc) crc = cf_par_bcast(ctx, par, list, (size_t)nrun * sizeof *list, 0);
  par_state s = {ctx, par, p, opts, 0, NULL, nrun, crc, 0};
  if (rank == 0 && !crc) {
    s.slots = calloc((size_t)nrun + 1, sizeof *s.slots);
    if (!s.slots) rc = cf_error(ctx, CF_ENOMEM, "mpi", "items", "out of memory");
  }
  cf_run_options one = {.on_item = on_item_here, .user = &s};
  int cancelled = 0, ends = 0;
  for (int j = rank; j < nrun && !s.comm_rc && !rc; j += size) {
    if (cf_cancelled(ctx)) {
      cancelled = 1;
      break;
    }
    cf_run_summary one_sum;
    s.pos = j;
    one.first = list[j];
    one.last = list[j] + 1;
    if (cf_pipeline_run_items(ctx, p, &one, &one_sum) == CF_ECANCEL) cancelled = 1;
    cf_run_summary_free(&one_sum);
    if (rank == 0 && drain(&s, 0, &ends, size - 1) < 0) s.comm_rc = CF_EINTERNAL;
    if (cancelled) break;
  }
  if (rank != 0 && !s.comm_rc) s.comm_rc = cf_par_send(ctx, par, 0, TAG_ITEMS, "E", 1);
  if (rank == 0 && !s.comm_rc && drain(&s, 1, &ends, size - 1) < 0) s.comm_rc = CF_EINTERNAL;
  /* which ranks were cancelled (a signal may reach some ranks only) */
  int32_t mine_cancelled = cancelled;
  int32_t *all = NULL;
  if (!s.comm_rc && cf_par_gather(ctx, par, &mine_cancelled, sizeof mine_cancelled, (void **)&all)) s.comm_rc = CF_EINTERNAL;
  for (int r = 0; all && r < size; r++) s.cancelled |= all[r] != 0;
  free(all);
  /* rank 0 adds up, in list order, and tells every rank: status, items,
   * succeeded, rejected, failed, cancelled */
  int32_t res[6] = {0};
  if (rank == 0) {
    int last_rc = CF_OK;
    for (int j = 0; j < nrun && s.slots; j++) {
      item_slot *sl = &s.slots[j];
      if (!sl->ran) continue;
      res[1]++;
      if (sl->status == CF_ITEM_DONE) res[2]++;
      if (sl->status == CF_ITEM_REJECTED) res[3]++;
      if (sl->status == CF_ITEM_FAILED) res[4]++;
      if (sl->status == CF_ITEM_CANCELLED) cancelled = 1;
      if (sl->status != CF_ITEM_DONE) last_rc = sl->code ? sl->code : CF_EINTERNAL;
      char **no = sl->noutputs ? realloc(summary->outputs, (size_t)(summary->noutputs + sl->noutputs) * sizeof *no) : NULL;
      if (no) {
        summary->outputs = no;
        memcpy(no + summary->noutputs, sl->outputs, (size_t)sl->noutputs * sizeof *no);
        summary->noutputs += sl->noutputs;
        sl->noutputs = 0; /* the summary owns them now */
      }
      for (int k = 0; k < sl->noutputs; k++) free(sl->outputs[k]);
      free(sl->outputs);
    }
    res[0] = rc ? rc : s.comm_rc ? s.comm_rc : last_rc;
    res[5] = cancelled || s.cancelled;
  }
  if (!s.comm_rc && cf_par_bcast(ctx, par, res, sizeof res, 0)) s.comm_rc = CF_EINTERNAL;
  /* a rank that was cancelled while rank 0 was not still says so */
  summary->items = res[1], summary->succeeded = res[2], summary->rejected = res[3], summary->failed = res[4];
  summary->cancelled = res[5] || cancelled;
  int out_rc = s.comm_rc ? CF_EINTERNAL : summary->cancelled ? CF_ECANCEL : res[0];
  free(s.slots);
  free(list);
  cf_ctx_set_par(ctx, par);
  return out_rc;
}
