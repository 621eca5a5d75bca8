/*
 * The layout of cf_ctx, shared by the files of core/ that implement its
 * parts (errors, logging, progress). Nothing outside core/ includes this:
 * everyone else goes through the accessors of carbonflux/ctx.h.
 */
#ifndef CF_CORE_CTX_INTERNAL_H
#define CF_CORE_CTX_INTERNAL_H

#include <signal.h>

#include "carbonflux/ctx.h"

#define CF_ERROR_FRAMES_MAX 16

struct cf_ctx {
  /* error chain, first pushed = innermost; overflow keeps the first frames */
  cf_error_frame frames[CF_ERROR_FRAMES_MAX];
  int nframes;
  int dropped_frames;
  char *message;            /* rendering cache for cf_error_message */

  cf_log_level log_level;
  cf_log_format log_format;
  FILE *log_stream;
  char *log_keys[CF_LOG_FIELDS_MAX]; /* cf_log_set_field: carried on every JSON record */
  char *log_values[CF_LOG_FIELDS_MAX];
  int nlog_fields;

  cf_progress_fn progress;
  void *progress_user;
  volatile sig_atomic_t cancel;
  int json_progress_last; /* last 10 % step logged by cf_progress_json */
  double progress_last;

  int threads;
  int no_overwrite; /* 0 (the default): outputs may be replaced */
  int no_isolation; /* 0 (the default): each item in a child process */
  struct cf_par *par; /* the ranks the work may spread over (core/par.h); NULL: one */
  struct cf_output_journal *journal; /* open during a pipeline run (core/output_journal.h) */
};

#endif
