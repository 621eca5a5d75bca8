/*
 * The end-of-batch summary (batch.h): what a cron job mails and what a
 * program reads. The text names every input that was quarantined or
 * failed, with its reason, because that list is the only part of a
 * nightly mail anyone acts on.
 */
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "core/fsutil.h"
#include "core/strbuf.h"

static void text(const cf_batch_result *r, cf_strbuf *sb) {
  const cf_cat_counts *c = &r->counts;
  cf_strbuf_printf(sb, "carbonflux batch %s: exit %d\n", r->run_id, c->exit_code);
  cf_strbuf_printf(sb, "catalogue: %s\n", r->catalogue ? r->catalogue : "");
  cf_strbuf_printf(sb, "started %s, finished %s, %.1f s\n", r->started, r->finished, c->seconds);
  cf_strbuf_printf(sb,
                   "items: %d considered, %d to run (%d new, %d changed or rerun), %d skipped (unchanged), "
                   "%d still quarantined\n",
                   c->considered, c->to_run, c->fresh, c->to_run - c->fresh, c->skipped, c->still_quarantined);
  cf_strbuf_printf(sb, "ran: %d done, %d quarantined, %d failed, %d cancelled\n", c->done, c->quarantined, c->failed,
                   c->cancelled);
  static const char *const heads[] = {"quarantined", "failed", "cancelled"};
  for (int h = 0; h < 3; h++) {
    int first = 1;
    for (int i = 0; i < r->nitems; i++) {
      const cf_batch_item *it = &r->items[i];
      if (!it->status || strcmp(it->status, heads[h])) continue;
      if (first) cf_strbuf_printf(sb, "%s this run:\n", heads[h]);
      first = 0;
      cf_strbuf_printf(sb, "  %s: %s\n", it->path, it->reason ? it->reason : "");
    }
  }
  int first = 1;
  for (int i = 0; i < r->nitems; i++) {
    const cf_batch_item *it = &r->items[i];
    if (it->run || strcmp(it->why, "quarantined")) continue;
    if (first) cf_strbuf_puts(sb, "still quarantined (content unchanged; not retried without --retry-quarantined):\n");
    first = 0;
    cf_strbuf_printf(sb, "  %s: %s\n", it->path, it->detail);
  }
}

void cf_batch_summary_text(const cf_batch_result *r, FILE *out) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  text(r, &sb);
  fputs(cf_strbuf_str(&sb), out);
  cf_strbuf_free(&sb);
}

void cf_batch_summary_json(const cf_batch_result *r, FILE *out) {
  const cf_cat_counts *c = &r->counts;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\"run_id\":");
  cf_strbuf_json_string(&sb, r->run_id);
  cf_strbuf_puts(&sb, ",\"catalogue\":");
  cf_strbuf_json_string(&sb, r->catalogue ? r->catalogue : "");
  cf_strbuf_puts(&sb, ",\"started\":");
  cf_strbuf_json_string(&sb, r->started);
  cf_strbuf_puts(&sb, ",\"finished\":");
  cf_strbuf_json_string(&sb, r->finished);
  cf_strbuf_puts(&sb, ",\"seconds\":");
  cf_strbuf_json_double(&sb, c->seconds);
  cf_strbuf_printf(&sb,
                   ",\"exit_code\":%d,\"counts\":{\"considered\":%d,\"to_run\":%d,\"new\":%d,\"skipped\":%d,"
                   "\"still_quarantined\":%d,\"done\":%d,\"quarantined\":%d,\"failed\":%d,\"cancelled\":%d},\"items\":[",
                   c->exit_code, c->considered, c->to_run, c->fresh, c->skipped, c->still_quarantined, c->done,
                   c->quarantined, c->failed, c->cancelled);
  for (int i = 0; i < r->nitems; i++) {
    const cf_batch_item *it = &r->items[i];
    cf_strbuf_printf(&sb, "%s{\"index\":%d,\"path\":", i ? "," : "", it->index);
    cf_strbuf_json_string(&sb, it->path);
    cf_strbuf_printf(&sb, ",\"run\":%s,\"why\":", it->run ? "true" : "false");
    cf_strbuf_json_string(&sb, it->why);
    cf_strbuf_puts(&sb, ",\"status\":");
    if (it->status) cf_strbuf_json_string(&sb, it->status);
    else cf_strbuf_puts(&sb, "null");
    cf_strbuf_puts(&sb, ",\"reason\":");
    cf_strbuf_json_string(&sb, it->reason ? it->reason : it->run ? "" : it->detail);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "]}\n");
  fputs(cf_strbuf_str(&sb), out);
  cf_strbuf_free(&sb);
}

int cf_batch_summary_write(cf_ctx *ctx, const cf_batch_result *r, const char *path) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  text(r, &sb);
  char *s = cf_strbuf_take(&sb);
  if (!s) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (!rc) rc = cf_atomic_write_text(ctx, &af, s);
  if (!rc) rc = cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  free(s);
  return rc;
}
