/* `status` and `history` (status.h). */
#include "batch/status.h"

#include <stdlib.h>
#include <string.h>

#include "batch/catalogue.h"
#include "core/strbuf.h"

/* A query row kept: names and values copied. */
typedef struct {
  int n;
  char **names, **values;
} row;

typedef struct {
  row *rows;
  int nrows;
  int failed;
} rows;

static int keep_row(void *user, int n, const char *const *names, const char *const *values) {
  rows *rs = user;
  row *nr = realloc(rs->rows, (size_t)(rs->nrows + 1) * sizeof *nr);
  if (!nr) return rs->failed = 1;
  rs->rows = nr;
  row *r = &rs->rows[rs->nrows++];
  r->n = n;
  r->names = calloc((size_t)n, sizeof *r->names);
  r->values = calloc((size_t)n, sizeof *r->values);
  for (int i = 0; r->names && r->values && i < n; i++) {
    r->names[i] = strdup(names[i]);
    r->values[i] = strdup(values[i]);
    if (!r->names[i] || !r->values[i]) rs->failed = 1;
  }
  if (!r->names || !r->values) rs->failed = 1, r->n = 0;
  return rs->failed;
}

static void rows_free(rows *rs) {
  for (int i = 0; i < rs->nrows; i++) {
    for (int k = 0; k < rs->rows[i].n; k++) free(rs->rows[i].names[k]), free(rs->rows[i].values[k]);
    free(rs->rows[i].names);
    free(rs->rows[i].values);
  }
  free(rs->rows);
  memset(rs, 0, sizeof *rs);
}

static const char *get(const row *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (r->names[i] && !strcmp(r->names[i], name)) return r->values[i] ? r->values[i] : "";
  return "";
}

static int is_number_column(const char *name) {
  static const char *const cols[] = {"seconds", "pid", "exit_code", "item_index", "stages_done", "outputs",
                                     "quarantine_current", "content_changed", NULL};
  if (!strncmp(name, "n_", 2)) return 1;
  for (int i = 0; cols[i]; i++)
    if (!strcmp(name, cols[i])) return 1;
  return 0;
}

/* A row as a JSON object: counts and times as numbers (null when not yet
 * known, as for a run that never finished), the rest as strings. */
static void row_json(cf_strbuf *sb, const row *r) {
  cf_strbuf_puts(sb, "{");
  for (int i = 0; i < r->n; i++) {
    if (i) cf_strbuf_puts(sb, ",");
    cf_strbuf_json_string(sb, r->names[i]);
    cf_strbuf_puts(sb, ":");
    if (is_number_column(r->names[i]))
      r->values[i][0] ? cf_strbuf_json_double(sb, strtod(r->values[i], NULL)) : cf_strbuf_puts(sb, "null");
    else
      cf_strbuf_json_string(sb, r->values[i]);
  }
  cf_strbuf_puts(sb, "}");
}

static int flush(cf_ctx *ctx, cf_strbuf *sb, FILE *out) {
  if (sb->failed) {
    cf_strbuf_free(sb);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  fputs(cf_strbuf_str(sb), out);
  cf_strbuf_free(sb);
  return CF_OK;
}

/* --- status ------------------------------------------------------------------- */

static int by_input(const void *a, const void *b) {
  const row *x = a, *y = b;
  int c = strcmp(get(x, "input"), get(y, "input"));
  return c ? c : strcmp(get(x, "finished"), get(y, "finished"));
}

static const char *state_note(const row *r) {
  if (strcmp(get(r, "status"), "quarantined")) return "";
  if (!strcmp(get(r, "content_changed"), "1")) return " (content changed since: retried next run)";
  return " (not retried until its content changes, or with --retry-quarantined)";
}

int cf_batch_status(cf_ctx *ctx, const char *const *catalogues, int n, int json, FILE *out) {
  rows states = {0}, last = {0};
  int rc = CF_OK;
  for (int c = 0; c < n && !rc; c++) {
    cf_catalogue *cat;
    rc = cf_cat_open(ctx, catalogues[c], 1, &cat);
    if (rc) break;
    if (cf_cat_each_input_state(ctx, cat, keep_row, &states) < 0 || cf_cat_each_run(ctx, cat, 1, keep_row, &last) < 0)
      rc = cf_error_code(ctx);
    cf_cat_close(cat);
  }
  if (!rc && (states.failed || last.failed)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (rc) {
    rows_free(&states);
    rows_free(&last);
    return rc;
  }
  /* one row per input: the latest (rows of one input sort by finished) */
  qsort(states.rows, (size_t)states.nrows, sizeof *states.rows, by_input);
  int kept = 0, done = 0, quarantined = 0, failed = 0;
  for (int i = 0; i < states.nrows; i++) {
    if (i + 1 < states.nrows && !strcmp(get(&states.rows[i], "input"), get(&states.rows[i + 1], "input"))) continue;
    row tmp = states.rows[kept];
    states.rows[kept] = states.rows[i];
    states.rows[i] = tmp;
    const char *s = get(&states.rows[kept++], "status");
    done += !strcmp(s, "done");
    quarantined += !strcmp(s, "quarantined");
    failed += !strcmp(s, "failed");
  }
  const row *lr = NULL;
  for (int i = 0; i < last.nrows; i++)
    if (!lr || strcmp(get(&last.rows[i], "started"), get(lr, "started")) > 0) lr = &last.rows[i];
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (json) {
    cf_strbuf_puts(&sb, "{\"catalogues\":[");
    for (int c = 0; c < n; c++) {
      if (c) cf_strbuf_puts(&sb, ",");
      cf_strbuf_json_string(&sb, catalogues[c]);
    }
    cf_strbuf_printf(&sb, "],\"counts\":{\"inputs\":%d,\"done\":%d,\"quarantined\":%d,\"failed\":%d},\"last_run\":",
                     kept, done, quarantined, failed);
    if (lr) row_json(&sb, lr);
    else cf_strbuf_puts(&sb, "null");
    cf_strbuf_puts(&sb, ",\"inputs\":[");
    for (int i = 0; i < kept; i++) {
      if (i) cf_strbuf_puts(&sb, ",");
      row_json(&sb, &states.rows[i]);
    }
    cf_strbuf_puts(&sb, "]}\n");
  } else {
    for (int c = 0; c < n; c++) cf_strbuf_printf(&sb, "catalogue: %s\n", catalogues[c]);
    if (lr)
      cf_strbuf_printf(&sb, "last run: %s, %s, started %s%s%s, exit %s\n", get(lr, "run_id"), get(lr, "state"),
                       get(lr, "started"), get(lr, "finished")[0] ? ", finished " : "", get(lr, "finished"),
                       get(lr, "exit_code")[0] ? get(lr, "exit_code") : "none");
    else
      cf_strbuf_puts(&sb, "last run: none\n");
    cf_strbuf_printf(&sb, "inputs: %d (done %d, quarantined %d, failed %d)\n", kept, done, quarantined, failed);
    for (int i = 0; i < kept; i++) {
      const row *r = &states.rows[i];
      cf_strbuf_printf(&sb, "%-12s %s", get(r, "status"), get(r, "input"));
      if (get(r, "reason")[0]) cf_strbuf_printf(&sb, ": %s%s", get(r, "reason"), state_note(r));
      cf_strbuf_puts(&sb, "\n");
    }
  }
  rows_free(&states);
  rows_free(&last);
  return flush(ctx, &sb, out);
}

/* --- history -------------------------------------------------------------------- */

static void run_text(cf_strbuf *sb, const row *r) {
  cf_strbuf_printf(sb, "%s  %-11s started %s  %8.1f s  items %s, ran %s (new %s), skipped %s, done %s, quarantined %s, "
                       "failed %s  exit %s  version %s  settings %.12s\n",
                   get(r, "run_id"), get(r, "state"), get(r, "started"), strtod(get(r, "seconds"), NULL),
                   get(r, "n_considered"), get(r, "n_to_run"), get(r, "n_new"), get(r, "n_skipped"), get(r, "n_done"),
                   get(r, "n_quarantined"), get(r, "n_failed"), get(r, "exit_code")[0] ? get(r, "exit_code") : "-",
                   get(r, "version"), get(r, "settings_sha256"));
}

int cf_batch_history(cf_ctx *ctx, const char *catalogue, int limit, const char *run_id, int json, FILE *out) {
  cf_catalogue *cat;
  int rc = cf_cat_open(ctx, catalogue, 1, &cat);
  if (rc) return rc;
  rows runs = {0}, items = {0};
  int nr = run_id ? cf_cat_each_run_by_id(ctx, cat, run_id, keep_row, &runs)
                  : cf_cat_each_run(ctx, cat, limit, keep_row, &runs);
  if (nr < 0) rc = cf_error_code(ctx);
  else if (run_id && nr == 0) rc = cf_error(ctx, CF_ENOENT, catalogue, "--run", "no run '%s' in this catalogue", run_id);
  else if (run_id && cf_cat_each_item_of_run(ctx, cat, run_id, keep_row, &items) < 0) rc = cf_error_code(ctx);
  cf_cat_close(cat);
  if (!rc && (runs.failed || items.failed)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (!rc && json) {
    cf_strbuf_puts(&sb, run_id ? "{\"run\":" : "{\"runs\":[");
    for (int i = 0; i < runs.nrows; i++) {
      if (i) cf_strbuf_puts(&sb, ",");
      row_json(&sb, &runs.rows[i]);
    }
    cf_strbuf_puts(&sb, run_id ? ",\"items\":[" : "");
    for (int i = 0; i < items.nrows; i++) {
      if (i) cf_strbuf_puts(&sb, ",");
      row_json(&sb, &items.rows[i]);
    }
    cf_strbuf_puts(&sb, "]}\n");
  } else if (!rc) {
    for (int i = 0; i < runs.nrows; i++) run_text(&sb, &runs.rows[i]);
    if (!runs.nrows) cf_strbuf_puts(&sb, "no runs\n");
    for (int i = 0; i < items.nrows; i++) {
      const row *r = &items.rows[i];
      cf_strbuf_printf(&sb, "  %5s %-11s %-16s %7.2f s  %s", get(r, "item_index"), get(r, "status"), get(r, "why"),
                       strtod(get(r, "seconds"), NULL), get(r, "input"));
      if (get(r, "reason")[0]) cf_strbuf_printf(&sb, ": %s", get(r, "reason"));
      cf_strbuf_puts(&sb, "\n");
    }
  }
  rows_free(&runs);
  rows_free(&items);
  if (rc) {
    cf_strbuf_free(&sb);
    return rc;
  }
  return flush(ctx, &sb, out);
}
