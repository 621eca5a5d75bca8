/*
 * The table-by-table comparison of json_diff.h: one walk over the union of
 * both documents, carrying the displayed path ("periods[1].units") and the
 * path without indices ("periods.units") that tables are named by.
 */
#include "core/json_diff.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/strbuf.h"


typedef struct {
  const cf_json_table *tables;
  int n;
  cf_json_table_result *out;
} walk;

/* Does table path `p` cover the leaf path `leaf`? (equal, or a parent) */
static size_t covers(const char *p, const char *leaf) {
  size_t n = strlen(p);
  return !strncmp(p, leaf, n) && (leaf[n] == '\0' || leaf[n] == '.') ? n : 0;
}

static int table_of(const walk *w, const char *leaf) {
  int best = w->n; /* other fields */
  size_t best_len = 0;
  for (int t = 0; t < w->n; t++)
    for (const char *const *p = w->tables[t].paths; p && *p; p++) {
      size_t n = covers(*p, leaf);
      if (n > best_len) best_len = n, best = t;
    }
  return best;
}

static void value_text(const cf_json *j, char *buf, size_t cap) {
  if (!j) {
    snprintf(buf, cap, "(absent)");
    return;
  }
  switch (j->type) {
    case CF_JSON_NULL: snprintf(buf, cap, "null"); break;
    case CF_JSON_BOOL: snprintf(buf, cap, "%s", j->boolean ? "true" : "false"); break;
    case CF_JSON_NUMBER: { /* its shortest round-trip form, as our writers print it */
      cf_strbuf sb;
      cf_strbuf_init(&sb);
      cf_strbuf_json_double(&sb, j->number);
      snprintf(buf, cap, "%s", cf_strbuf_str(&sb));
      cf_strbuf_free(&sb);
      break;
    }
    case CF_JSON_STRING: snprintf(buf, cap, "\"%.*s%s\"", 60, j->string, strlen(j->string) > 60 ? "..." : ""); break;
    case CF_JSON_ARRAY: snprintf(buf, cap, "[%zu items]", j->n); break;
    case CF_JSON_OBJECT: snprintf(buf, cap, "{%zu members}", j->n); break;
  }
}

static int same_leaf(const cf_json *a, const cf_json *b) {
  if (!a || !b || a->type != b->type) return 0;
  switch (a->type) {
    case CF_JSON_NULL: return 1;
    case CF_JSON_BOOL: return a->boolean == b->boolean;
    case CF_JSON_NUMBER: return a->number == b->number;
    case CF_JSON_STRING: return !strcmp(a->string, b->string);
    default: return 1; /* containers: their members are compared */
  }
}

static void leaf(walk *w, const char *shown, const char *plain, const cf_json *a, const cf_json *b) {
  int t = table_of(w, plain);
  if (t < w->n && !w->tables[t].name) return;
  cf_json_table_result *r = &w->out[t];
  r->n_compared++;
  if (same_leaf(a, b) || r->differs++) return; /* the first difference is the one shown */
  snprintf(r->where, sizeof r->where, "%s", shown);
  value_text(a, r->recorded, sizeof r->recorded);
  value_text(b, r->recomputed, sizeof r->recomputed);
  r->rel = NAN;
  if (a && b && a->type == CF_JSON_NUMBER && b->type == CF_JSON_NUMBER) {
    double m = fmax(fabs(a->number), fabs(b->number));
    r->rel = m > 0 ? fabs(a->number - b->number) / m : 0;
  }
}

static int is_container(const cf_json *j) { return j && (j->type == CF_JSON_ARRAY || j->type == CF_JSON_OBJECT); }

static void node(walk *w, const char *shown, const char *plain, const cf_json *a, const cf_json *b) {
  /* containers of one type on both sides are walked; anything else is a leaf */
  if (!is_container(a) || !is_container(b) || a->type != b->type || (!a->n && !b->n)) { /* [] and {} count too */
    leaf(w, shown, plain, a, b);
    return;
  }
  char s2[512], p2[512];
  if (a->type == CF_JSON_ARRAY) {
    size_t n = a->n > b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
      snprintf(s2, sizeof s2, "%s[%zu]", shown, i);
      node(w, s2, plain, i < a->n ? a->items[i] : NULL, i < b->n ? b->items[i] : NULL);
    }
    return;
  }
  for (int side = 0; side < 2; side++) { /* a's members, then b's that a lacks */
    const cf_json *x = side ? b : a, *y = side ? a : b;
    for (size_t i = 0; i < x->n; i++) {
      const cf_json *other = cf_json_get(y, x->keys[i]);
      if (side && other) continue;
      snprintf(s2, sizeof s2, "%s%s%s", shown, *shown ? "." : "", x->keys[i]);
      snprintf(p2, sizeof p2, "%s%s%s", plain, *plain ? "." : "", x->keys[i]);
      node(w, s2, p2, side ? other : x->items[i], side ? x->items[i] : other);
    }
  }
}

void cf_json_compare_tables(const cf_json *recorded, const cf_json *recomputed, const cf_json_table *tables,
                            int n_tables, cf_json_table_result *out) {
  memset(out, 0, (size_t)(n_tables + 1) * sizeof *out);
  for (int t = 0; t <= n_tables; t++) out[t].rel = NAN;
  walk w = {tables, n_tables, out};
  node(&w, "", "", recorded, recomputed);
}
