/*
 * carbonflux context: the one object every public function takes first.
 *
 * As in PROJ, there are no hidden globals: the context carries the error
 * chain, the logger, the progress callback, the cancellation flag and the
 * run-wide settings (threads, cache size). A context belongs to one thread of
 * control; the library's OpenMP workers never touch it except through the
 * functions marked "thread-safe" below.
 *
 * Errors follow GSL and libuv: functions return int, 0 on success and a
 * negative CF_E* code on failure. The code says what kind of failure it was
 * (the CLI maps it to an exit code); the chain of frames pushed with
 * cf_error() says which file, which field and why, outermost frame last.
 */
#ifndef CARBONFLUX_CTX_H
#define CARBONFLUX_CTX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; all failures are negative. */
enum {
  CF_OK = 0,
  CF_EINVAL = -1,   /* bad argument or bad configuration (user's to fix) */
  CF_ENOENT = -2,   /* input file missing */
  CF_EIO = -3,      /* read or write failed */
  CF_EDATA = -4,    /* input readable but its content is invalid */
  CF_ENOMEM = -5,   /* allocation failed or sizes would not fit in memory */
  CF_ECANCEL = -6,  /* cancelled by the user or a signal */
  CF_EINTERNAL = -7 /* a bug: an invariant did not hold */
};

/* Log levels, most severe first. */
typedef enum {
  CF_LOG_ERROR = 0,
  CF_LOG_WARN = 1,
  CF_LOG_INFO = 2,
  CF_LOG_DEBUG = 3
} cf_log_level;

typedef enum { CF_LOG_TEXT = 0, CF_LOG_JSON = 1 } cf_log_format;

/* Progress callback with the signature of GDAL's GDALProgressFunc, so that
 * GDALTermProgress or a GDAL-aware caller's function can be passed directly.
 * Returns non-zero to continue, 0 to cancel. */
typedef int (*cf_progress_fn)(double complete, const char *message, void *user);

typedef struct cf_ctx cf_ctx;

/* One frame of the error chain. */
typedef struct {
  int code;
  char where[512];  /* file (or file:line:col) the error is about, may be "" */
  char field[128];  /* field, option or dataset name, may be "" */
  char reason[1024];
} cf_error_frame;

cf_ctx *cf_ctx_create(void);
void cf_ctx_destroy(cf_ctx *ctx);

/* --- errors --------------------------------------------------------------- */

/* Push a frame and return `code` so callers can write
 *   return cf_error(ctx, CF_EDATA, path, "n_gates", "must be > 0, got %d", n); */
int cf_error(cf_ctx *ctx, int code, const char *where, const char *field,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int cf_errorv(cf_ctx *ctx, int code, const char *where, const char *field,
              const char *fmt, va_list ap);
/* Number of frames and access to them, innermost (first pushed) first. */
int cf_error_count(const cf_ctx *ctx);
const cf_error_frame *cf_error_get(const cf_ctx *ctx, int i);
/* Code of the last frame, or CF_OK. */
int cf_error_code(const cf_ctx *ctx);
/* One-line rendering of the whole chain: "where: field: reason; ..." */
const char *cf_error_message(cf_ctx *ctx);
void cf_error_clear(cf_ctx *ctx);
/* Short name of a status code ("CF_EDATA"). */
const char *cf_strerror(int code);

/* --- logging -------------------------------------------------------------- */

void cf_set_log_level(cf_ctx *ctx, cf_log_level level);
cf_log_level cf_get_log_level(const cf_ctx *ctx);
void cf_set_log_format(cf_ctx *ctx, cf_log_format fmt);
cf_log_format cf_get_log_format(const cf_ctx *ctx);
/* Where log lines go (default stderr). The stream is not owned. */
void cf_set_log_stream(cf_ctx *ctx, FILE *stream);
void cf_log(cf_ctx *ctx, cf_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Log the current error chain at ERROR level (one line per frame in text,
 * one JSON object in JSON mode) and clear it. */
void cf_log_error_chain(cf_ctx *ctx);
/* Log every frame as an error of its own, in the order they were pushed
 * (for independent problems such as a configuration's), and clear. */
void cf_log_error_list(cf_ctx *ctx);
/* Log one structured event with extra key/value string pairs (NULL-ended):
 * cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", p, "sha256", h, NULL).
 * In JSON a value that is a JSON number ("3", "-0.5", "1e3") is written as
 * a number, except under the keys "path", "msg", "task", "where" and
 * "field", which are always strings. */
void cf_log_event(cf_ctx *ctx, cf_log_level level, const char *event, ...);
/* A field carried on every JSON log record from now on (a batch's "run_id",
 * the current "item_id"), after "level"; the value is written as
 * cf_log_event writes values. Setting a key again replaces its value; a
 * NULL value removes it. A forked child (an isolated item) inherits the
 * fields set before the fork. Text logs do not show them. Returns CF_OK,
 * CF_ENOMEM, or CF_EINVAL beyond CF_LOG_FIELDS_MAX keys. */
#define CF_LOG_FIELDS_MAX 8
int cf_log_set_field(cf_ctx *ctx, const char *key, const char *value);

/* --- progress and cancellation -------------------------------------------- */

void cf_set_progress(cf_ctx *ctx, cf_progress_fn fn, void *user);
/* Report progress in [0,1]. Returns CF_OK, or CF_ECANCEL (with an error frame)
 * if the callback asked to stop or cf_cancel() was called. Call it from the
 * thread that owns the context. */
int cf_progress(cf_ctx *ctx, double complete, const char *message);
/* Ask running work to stop at its next check. Async-signal-safe and
 * thread-safe: it only stores to a sig_atomic_t. */
void cf_cancel(cf_ctx *ctx);
/* Thread-safe: non-zero once cancellation was requested. */
int cf_cancelled(const cf_ctx *ctx);
/* The one "is the run cancelled?" check of long work (SIGINT/SIGTERM set
 * the flag through cf_cancel): CF_OK, or CF_ECANCEL with the frame
 * `where`: "cancelled" ("cancelled while DURING" when `during` is given),
 * so every place that stops says so in the same words. Call it from the
 * thread that owns the context (it pushes an error frame); inside a
 * parallel region read cf_cancelled and report after the region. */
int cf_check_cancel(cf_ctx *ctx, const char *where, const char *during);

/* State of a terminal progress bar; zero-initialise, stream NULL = stderr. */
typedef struct {
  FILE *stream;
  int ticks; /* 2.5 % ticks printed so far in the current bar, -1 = none */
  int started;
} cf_progress_term_state;

/* GDAL's terminal bar "0...10...20...30...40...50...60...70...80...90...100 - done."
 * User data is a cf_progress_term_state *. A new bar starts whenever
 * `complete` goes backwards (the next task). */
int cf_progress_term(double complete, const char *message, void *user);
/* Progress as JSON-lines log events every 10 % through the context logger;
 * user data is the cf_ctx *. */
int cf_progress_json(double complete, const char *message, void *user);

/* --- settings ------------------------------------------------------------- */

/* Worker threads for OpenMP regions (0 = OpenMP's default). */
void cf_set_threads(cf_ctx *ctx, int n);
int cf_get_threads(const cf_ctx *ctx);

/* Whether an existing output may be replaced (default 1: yes, atomically,
 * once the new file is complete). 0 (the CLI's --no-overwrite): writers
 * refuse an existing output with CF_EINVAL and validation reports it. */
void cf_set_overwrite(cf_ctx *ctx, int overwrite);
int cf_get_overwrite(const cf_ctx *ctx);

/* Whether cf_pipeline_run runs each item in a child process (default 1),
 * so that a library crashing on a corrupted input costs that item and the
 * crash is reported with its signal. The progress callback and the log
 * then run in the child: a cancellation it asks for reaches the caller's
 * context, other effects on the caller's memory do not. 0 runs items in the
 * calling process (for a debugger, or a caller that cannot fork). */
void cf_set_isolation(cf_ctx *ctx, int isolate);
int cf_get_isolation(const cf_ctx *ctx);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *cf_version(void);

#ifdef __cplusplus
}
#endif
#endif
