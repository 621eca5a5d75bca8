/*
 * cf_ctx lifetime, the error chain and settings.
 *
 * The error chain is a fixed array of frames: pushing an error never
 * allocates, so an out-of-memory failure can still be reported. When more
 * frames are pushed than fit, the innermost ones (the root cause) are kept
 * and the count of dropped frames is reported with the message.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ctx_internal.h"
#include "core/output_journal.h"
#include "core/strbuf.h"

#ifndef CF_VERSION_STRING
#define CF_VERSION_STRING "0.0.0"
#endif

const char *cf_version(void) { return CF_VERSION_STRING; }

cf_ctx *cf_ctx_create(void) {
  cf_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return NULL;
  ctx->log_level = CF_LOG_INFO;
  ctx->log_format = CF_LOG_TEXT;
  ctx->log_stream = NULL; /* stderr, resolved at use: stderr is not a constant */
  return ctx;
}

void cf_ctx_destroy(cf_ctx *ctx) {
  if (!ctx) return;
  cf_output_journal_end(ctx, 1);
  free(ctx->message);
  for (int i = 0; i < ctx->nlog_fields; i++) free(ctx->log_keys[i]), free(ctx->log_values[i]);
  free(ctx);
}

static void copy_trunc(char *dst, size_t cap, const char *src) {
  if (!src) src = "";
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int cf_errorv(cf_ctx *ctx, int code, const char *where, const char *field,
              const char *fmt, va_list ap) {
  if (!ctx) return code;
  if (ctx->nframes >= CF_ERROR_FRAMES_MAX) {
    ctx->dropped_frames++;
    return code;
  }
  cf_error_frame *f = &ctx->frames[ctx->nframes++];
  f->code = code;
  copy_trunc(f->where, sizeof f->where, where);
  copy_trunc(f->field, sizeof f->field, field);
  vsnprintf(f->reason, sizeof f->reason, fmt ? fmt : "", ap);
  return code;
}

int cf_error(cf_ctx *ctx, int code, const char *where, const char *field,
             const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = cf_errorv(ctx, code, where, field, fmt, ap);
  va_end(ap);
  return rc;
}

int cf_error_count(const cf_ctx *ctx) { return ctx ? ctx->nframes : 0; }

const cf_error_frame *cf_error_get(const cf_ctx *ctx, int i) {
  if (!ctx || i < 0 || i >= ctx->nframes) return NULL;
  return &ctx->frames[i];
}

int cf_error_code(const cf_ctx *ctx) {
  if (!ctx || ctx->nframes == 0) return CF_OK;
  return ctx->frames[ctx->nframes - 1].code;
}

/* Render a frame as "where: field: reason" leaving out empty parts. */
void cf_frame_render(const cf_error_frame *f, cf_strbuf *sb) {
  if (f->where[0]) cf_strbuf_printf(sb, "%s: ", f->where);
  if (f->field[0]) cf_strbuf_printf(sb, "%s: ", f->field);
  cf_strbuf_puts(sb, f->reason);
}

const char *cf_error_message(cf_ctx *ctx) {
  if (!ctx) return "no context";
  if (ctx->nframes == 0) return "no error";
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  /* outermost first reads naturally: "cannot run stage x: file: field: why" */
  for (int i = ctx->nframes - 1; i >= 0; i--) {
    cf_frame_render(&ctx->frames[i], &sb);
    if (i > 0) cf_strbuf_puts(&sb, ": ");
  }
  if (ctx->dropped_frames)
    cf_strbuf_printf(&sb, " (%d more frames dropped)", ctx->dropped_frames);
  free(ctx->message);
  ctx->message = cf_strbuf_take(&sb);
  return ctx->message ? ctx->message : "out of memory rendering the error";
}

void cf_error_clear(cf_ctx *ctx) {
  if (!ctx) return;
  ctx->nframes = 0;
  ctx->dropped_frames = 0;
}

const char *cf_strerror(int code) {
  switch (code) {
    case CF_OK: return "CF_OK";
    case CF_EINVAL: return "CF_EINVAL";
    case CF_ENOENT: return "CF_ENOENT";
    case CF_EIO: return "CF_EIO";
    case CF_EDATA: return "CF_EDATA";
    case CF_ENOMEM: return "CF_ENOMEM";
    case CF_ECANCEL: return "CF_ECANCEL";
    case CF_EINTERNAL: return "CF_EINTERNAL";
    default: return "CF_E?";
  }
}

void cf_set_threads(cf_ctx *ctx, int n) { ctx->threads = n < 0 ? 0 : n; }
int cf_get_threads(const cf_ctx *ctx) { return ctx->threads; }
void cf_set_overwrite(cf_ctx *ctx, int overwrite) { ctx->no_overwrite = !overwrite; }
int cf_get_overwrite(const cf_ctx *ctx) { return ctx ? !ctx->no_overwrite : 1; }
void cf_set_isolation(cf_ctx *ctx, int isolate) { ctx->no_isolation = !isolate; }
int cf_get_isolation(const cf_ctx *ctx) { return ctx ? !ctx->no_isolation : 1; }
