/*
 * Logging: human text on a terminal, JSON lines for batch.
 *
 * Text lines read "carbonflux: warning: ..."; JSON lines are one object per
 * line with at least "ts" (UTC, ISO 8601), "level" and either "msg" or
 * "event", so that a nightly job's log can be filtered with jq and shipped
 * to a log store without parsing prose.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx_internal.h"
#include "core/strbuf.h"

void cf_frame_render(const cf_error_frame *f, cf_strbuf *sb);

static const char *level_name(cf_log_level l) {
  switch (l) {
    case CF_LOG_ERROR: return "error";
    case CF_LOG_WARN: return "warning";
    case CF_LOG_INFO: return "info";
    default: return "debug";
  }
}

static FILE *stream_of(const cf_ctx *ctx) { return ctx->log_stream ? ctx->log_stream : stderr; }

void cf_set_log_level(cf_ctx *ctx, cf_log_level level) { ctx->log_level = level; }
cf_log_level cf_get_log_level(const cf_ctx *ctx) { return ctx->log_level; }
void cf_set_log_format(cf_ctx *ctx, cf_log_format fmt) { ctx->log_format = fmt; }
cf_log_format cf_get_log_format(const cf_ctx *ctx) { return ctx->log_format; }
void cf_set_log_stream(cf_ctx *ctx, FILE *stream) { ctx->log_stream = stream; }

static int is_json_number(const char *s);
static int is_text_key(const char *k);

/* One "key":value member as cf_log_event writes it. */
static void json_member(cf_strbuf *sb, const char *k, const char *v) {
  cf_strbuf_puts(sb, ",");
  cf_strbuf_json_string(sb, k);
  cf_strbuf_puts(sb, ":");
  if (v && !is_text_key(k) && is_json_number(v))
    cf_strbuf_puts(sb, v); /* numbers as numbers, so jq can compare them */
  else
    cf_strbuf_json_string(sb, v ? v : "");
}

/* Fields on every record (a batch's run and item): a nightly log from many
 * hosts and shards is merged and then filtered with jq by run_id and
 * item_id, including the records an isolated item's child writes, which is
 * why the fields live in the context that the fork copies. */
int cf_log_set_field(cf_ctx *ctx, const char *key, const char *value) {
  int i = 0;
  while (i < ctx->nlog_fields && strcmp(ctx->log_keys[i], key) != 0) i++;
  if (!value) {
    if (i == ctx->nlog_fields) return CF_OK;
    free(ctx->log_keys[i]);
    free(ctx->log_values[i]);
    ctx->nlog_fields--;
    memmove(ctx->log_keys + i, ctx->log_keys + i + 1, (size_t)(ctx->nlog_fields - i) * sizeof *ctx->log_keys);
    memmove(ctx->log_values + i, ctx->log_values + i + 1, (size_t)(ctx->nlog_fields - i) * sizeof *ctx->log_values);
    return CF_OK;
  }
  if (i == CF_LOG_FIELDS_MAX) return cf_error(ctx, CF_EINVAL, "", key, "more than %d log fields", CF_LOG_FIELDS_MAX);
  char *v = strdup(value), *k = i == ctx->nlog_fields ? strdup(key) : NULL;
  if (!v || (i == ctx->nlog_fields && !k)) {
    free(v);
    free(k);
    return cf_error(ctx, CF_ENOMEM, "", key, "out of memory");
  }
  if (k) {
    ctx->log_keys[i] = k;
    ctx->log_values[i] = NULL;
    ctx->nlog_fields++;
  }
  free(ctx->log_values[i]);
  ctx->log_values[i] = v;
  return CF_OK;
}

static void json_head(const cf_ctx *ctx, cf_strbuf *sb, cf_log_level level) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char when[40];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  cf_strbuf_printf(sb, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\"", when,
                   ts.tv_nsec / 1000000L, level_name(level));
  for (int i = 0; i < ctx->nlog_fields; i++) json_member(sb, ctx->log_keys[i], ctx->log_values[i]);
}

static void emit(cf_ctx *ctx, cf_strbuf *sb) {
  const char *s = cf_strbuf_str(sb);
  FILE *f = stream_of(ctx);
  fputs(s, f);
  fputc('\n', f);
  fflush(f);
  cf_strbuf_free(sb);
}

static void log_message(cf_ctx *ctx, cf_log_level level, const char *msg) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (ctx->log_format == CF_LOG_JSON) {
    json_head(ctx, &sb, level);
    cf_strbuf_puts(&sb, ",\"msg\":");
    cf_strbuf_json_string(&sb, msg);
    cf_strbuf_puts(&sb, "}");
  } else if (level == CF_LOG_INFO) {
    cf_strbuf_printf(&sb, "carbonflux: %s", msg);
  } else {
    cf_strbuf_printf(&sb, "carbonflux: %s: %s", level_name(level), msg);
  }
  emit(ctx, &sb);
}

void cf_log(cf_ctx *ctx, cf_log_level level, const char *fmt, ...) {
  if (!ctx || level > ctx->log_level) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_message(ctx, level, buf);
}

/* Is `s` a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s) {
  const char *p = s;
  if (*p == '-') p++;
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (*p >= '0' && *p <= '9') p++;
  } else {
    return 0;
  }
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  return *p == '\0';
}

static int is_text_key(const char *k) {
  static const char *const text[] = {"path", "msg", "task", "where", "field", NULL};
  for (int i = 0; text[i]; i++)
    if (!strcmp(k, text[i])) return 1;
  return 0;
}

void cf_log_event(cf_ctx *ctx, cf_log_level level, const char *event, ...) {
  if (!ctx || level > ctx->log_level) return;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  va_list ap;
  va_start(ap, event);
  if (ctx->log_format == CF_LOG_JSON) {
    json_head(ctx, &sb, level);
    cf_strbuf_puts(&sb, ",\"event\":");
    cf_strbuf_json_string(&sb, event);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
      json_member(&sb, k, va_arg(ap, const char *));
    }
    cf_strbuf_puts(&sb, "}");
  } else {
    cf_strbuf_printf(&sb, "carbonflux: %s%s", level == CF_LOG_INFO ? "" : level_name(level),
                     level == CF_LOG_INFO ? "" : ": ");
    cf_strbuf_puts(&sb, event);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
      const char *v = va_arg(ap, const char *);
      cf_strbuf_printf(&sb, " %s=%s", k, v);
    }
  }
  va_end(ap);
  emit(ctx, &sb);
}

void cf_log_error_chain(cf_ctx *ctx) {
  if (!ctx || ctx->nframes == 0) return;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (ctx->log_format == CF_LOG_JSON) {
    const cf_error_frame *outer = &ctx->frames[ctx->nframes - 1];
    json_head(ctx, &sb, CF_LOG_ERROR);
    cf_strbuf_printf(&sb, ",\"code\":\"%s\",\"msg\":", cf_strerror(outer->code));
    cf_strbuf_json_string(&sb, cf_error_message(ctx));
    cf_strbuf_puts(&sb, ",\"chain\":[");
    for (int i = ctx->nframes - 1; i >= 0; i--) {
      const cf_error_frame *f = &ctx->frames[i];
      cf_strbuf_puts(&sb, "{\"where\":");
      cf_strbuf_json_string(&sb, f->where);
      cf_strbuf_puts(&sb, ",\"field\":");
      cf_strbuf_json_string(&sb, f->field);
      cf_strbuf_puts(&sb, ",\"reason\":");
      cf_strbuf_json_string(&sb, f->reason);
      cf_strbuf_puts(&sb, i ? "}," : "}");
    }
    cf_strbuf_puts(&sb, "]}");
    emit(ctx, &sb);
  } else {
    /* outermost frame as the headline, causes indented below it */
    for (int i = ctx->nframes - 1; i >= 0; i--) {
      cf_strbuf_puts(&sb, i == ctx->nframes - 1 ? "carbonflux: error: " : "  because: ");
      cf_frame_render(&ctx->frames[i], &sb);
      emit(ctx, &sb);
      cf_strbuf_init(&sb);
    }
    cf_strbuf_free(&sb);
  }
  cf_error_clear(ctx);
}

void cf_log_error_list(cf_ctx *ctx) {
  if (!ctx) return;
  for (int i = 0; i < ctx->nframes; i++) {
    const cf_error_frame *f = &ctx->frames[i];
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    if (ctx->log_format == CF_LOG_JSON) {
      json_head(ctx, &sb, CF_LOG_ERROR);
      cf_strbuf_printf(&sb, ",\"code\":\"%s\",\"where\":", cf_strerror(f->code));
      cf_strbuf_json_string(&sb, f->where);
      cf_strbuf_puts(&sb, ",\"field\":");
      cf_strbuf_json_string(&sb, f->field);
      cf_strbuf_puts(&sb, ",\"msg\":");
      cf_strbuf_json_string(&sb, f->reason);
      cf_strbuf_puts(&sb, "}");
    } else {
      cf_strbuf_puts(&sb, "carbonflux: error: ");
      cf_frame_render(f, &sb);
    }
    emit(ctx, &sb);
  }
  cf_error_clear(ctx);
}
