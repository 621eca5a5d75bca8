/*
 * Progress reporting and cancellation.
 *
 * Long work calls cf_progress() from the thread that owns the context (the
 * tile engine reports from its ordered writer section), so callbacks need
 * no locking; work that has no progress to report at a point where it can
 * still stop cleanly calls cf_check_cancel(), the one check and message.
 * cf_cancel() only stores a flag and is safe from a signal handler: the
 * CLI installs one for SIGINT/SIGTERM so that an interrupted nightly job
 * removes its temporary files instead of leaving them behind.
 */
#include "core/ctx_internal.h"

void cf_set_progress(cf_ctx *ctx, cf_progress_fn fn, void *user) {
  ctx->progress = fn;
  ctx->progress_user = user;
}

void cf_cancel(cf_ctx *ctx) { ctx->cancel = 1; }

int cf_cancelled(const cf_ctx *ctx) { return ctx && ctx->cancel; }

int cf_check_cancel(cf_ctx *ctx, const char *where, const char *during) {
  if (!cf_cancelled(ctx)) return CF_OK;
  if (during) return cf_error(ctx, CF_ECANCEL, where, "", "cancelled while %s", during);
  return cf_error(ctx, CF_ECANCEL, where, "", "cancelled");
}

int cf_progress(cf_ctx *ctx, double complete, const char *message) {
  int rc = cf_check_cancel(ctx, "", NULL);
  if (rc) return rc;
  if (ctx->progress && !ctx->progress(complete, message, ctx->progress_user)) {
    ctx->cancel = 1;
    return cf_error(ctx, CF_ECANCEL, "", "", "cancelled by the progress callback");
  }
  return CF_OK;
}

int cf_progress_term(double complete, const char *message, void *user) {
  cf_progress_term_state *st = user;
  FILE *f = st && st->stream ? st->stream : stderr;
  if (!st) return 1;
  if (complete < 0) complete = 0;
  if (complete > 1) complete = 1;
  int target = (int)(complete * 40.0 + 1e-9); /* one tick per 2.5 % */
  if (!st->started && st->ticks >= 40 && target >= 40) return 1; /* 100 % repeated */
  if (!st->started || target < st->ticks) {
    st->started = 1;
    st->ticks = -1;
    if (message && message[0]) fprintf(f, "%s: ", message);
  }
  while (st->ticks < target) {
    st->ticks++;
    if (st->ticks % 4 == 0)
      fprintf(f, "%d", st->ticks / 4 * 10);
    else
      fputc('.', f);
  }
  if (target == 40 && st->started) {
    fputs(" - done.\n", f);
    st->started = 0;
  }
  fflush(f);
  return 1;
}

int cf_progress_json(double complete, const char *message, void *user) {
  cf_ctx *ctx = user;
  int step = (int)(complete * 10.0 + 1e-9);
  if (step < ctx->json_progress_last || complete <= 0.0) ctx->json_progress_last = -1;
  if (step > ctx->json_progress_last) {
    ctx->json_progress_last = step;
    char pct[8];
    snprintf(pct, sizeof pct, "%d", step * 10);
    cf_log_event(ctx, CF_LOG_INFO, "progress", "task", message ? message : "", "percent", pct,
                 (const char *)NULL);
  }
  return 1;
}
