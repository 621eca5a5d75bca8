/* The outputs a run committed, taken back if it fails; see output_journal.h. */
#include "core/output_journal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx_internal.h"
#include "core/fsutil.h"
#include "core/strbuf.h"

typedef struct {
  char *final_path;
  char *kept;  /* hard link to the file it replaced, NULL if none kept */
  int existed; /* a file was there before */
} journal_entry;

struct cf_output_journal {
  pthread_mutex_t lock; /* writers of one run may commit from several threads */
  journal_entry *e;
  int n, cap;
};

static void free_entries(struct cf_output_journal *j) {
  for (int i = 0; i < j->n; i++) {
    free(j->e[i].final_path);
    free(j->e[i].kept);
  }
  j->n = 0;
}

int cf_output_journal_begin(cf_ctx *ctx) {
  if (ctx->journal) cf_output_journal_end(ctx, 1);
  struct cf_output_journal *j = calloc(1, sizeof *j);
  if (!j) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  pthread_mutex_init(&j->lock, NULL);
  ctx->journal = j;
  return CF_OK;
}

int cf_output_journal_end(cf_ctx *ctx, int keep) {
  struct cf_output_journal *j = ctx->journal;
  if (!j) return 0;
  ctx->journal = NULL;
  int undone = 0;
  for (int i = j->n - 1; i >= 0; i--) { /* newest first: an output committed twice ends as it began */
    journal_entry *e = &j->e[i];
    if (keep) {
      if (e->kept) unlink(e->kept);
      continue;
    }
    if (e->kept && rename(e->kept, e->final_path) == 0) {
      cf_log(ctx, CF_LOG_INFO, "restored %s as it was before: the run failed", e->final_path);
      undone++;
    } else if (unlink(e->final_path) == 0 || errno == ENOENT) {
      if (e->existed)
        cf_log(ctx, CF_LOG_WARN, "removed %s: the run failed (the file it replaced could not be kept)", e->final_path);
      else
        cf_log(ctx, CF_LOG_INFO, "removed %s: the run failed, no partial output is left", e->final_path);
      undone++;
    }
  }
  free_entries(j);
  free(j->e);
  pthread_mutex_destroy(&j->lock);
  free(j);
  return undone;
}

void cf_output_journal_note(cf_ctx *ctx, const char *final_path, const char *part_path) {
  struct cf_output_journal *j = ctx->journal;
  if (!j) return;
  journal_entry e = {strdup(final_path), NULL, cf_file_exists(final_path)};
  if (e.existed) {
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    cf_strbuf_printf(&sb, "%s.keep", part_path); /* the part name is ours, so is this one */
    e.kept = cf_strbuf_take(&sb);
    if (e.kept && link(final_path, e.kept) != 0) {
      free(e.kept);
      e.kept = NULL;
    }
  }
  pthread_mutex_lock(&j->lock);
  if (e.final_path && j->n == j->cap) {
    int cap = j->cap ? 2 * j->cap : 8;
    journal_entry *ne = realloc(j->e, (size_t)cap * sizeof *ne);
    if (ne) j->e = ne, j->cap = cap;
  }
  int stored = e.final_path && j->n < j->cap;
  if (stored) j->e[j->n++] = e;
  pthread_mutex_unlock(&j->lock);
  if (!stored) { /* out of memory: this output would outlive a failed run */
    if (e.kept) unlink(e.kept);
    free(e.kept);
    free(e.final_path);
  }
}

void cf_output_journal_forget(cf_ctx *ctx, const char *final_path) {
  struct cf_output_journal *j = ctx->journal;
  if (!j) return;
  pthread_mutex_lock(&j->lock);
  for (int i = j->n - 1; i >= 0; i--) {
    if (strcmp(j->e[i].final_path, final_path) != 0) continue;
    if (j->e[i].kept) unlink(j->e[i].kept);
    free(j->e[i].final_path);
    free(j->e[i].kept);
    memmove(&j->e[i], &j->e[i + 1], (size_t)(j->n - i - 1) * sizeof *j->e);
    j->n--;
    break;
  }
  pthread_mutex_unlock(&j->lock);
}
