/*
 * The audit's frame (audit.h): what a file is (a ledger, a stock report,
 * an HTML report naming its ledger), the outcome lines, re-hashing an
 * input (found by sink/input_resolve.h, the search `sink report` uses
 * too), the software and seeds lines, and the per-table lines of a
 * comparison. The ledger and the stock report each have their
 * own file (audit_ledger.c, audit_stocks.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/input_resolve.h"
#include "sink/audit/audit_internal.h"
#include "sink/issuance/ledger.h"

void cf_audit_add(cf_audit *a, cf_audit_outcome oc, int depth, const char *kind, const char *name, const char *fmt,
                  ...) {
  if (oc == CF_AUDIT_DIFFERS) a->n_differs++;
  if (oc == CF_AUDIT_WARNING) a->n_warnings++;
  if (a->n == a->cap) {
    int cap = a->cap ? 2 * a->cap : 32;
    cf_audit_line *nl = realloc(a->lines, (size_t)cap * sizeof *nl);
    if (!nl) return; /* the counts above still tell the outcome */
    a->lines = nl, a->cap = cap;
  }
  cf_audit_line *l = &a->lines[a->n++];
  memset(l, 0, sizeof *l);
  l->outcome = oc;
  l->depth = depth;
  snprintf(l->kind, sizeof l->kind, "%s", kind);
  snprintf(l->name, sizeof l->name, "%s", name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->detail, sizeof l->detail, fmt, ap);
  va_end(ap);
}

void cf_audit_free(cf_audit *a) {
  if (!a) return;
  free(a->lines);
  memset(a, 0, sizeof *a);
}

const char *cf_audit_str(const cf_json *j, const char *key) {
  const cf_json *v = cf_json_get(j, key);
  return v && v->type == CF_JSON_STRING ? v->string : "";
}

char *cf_audit_input(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *recorded_by,
                     const char *label, const char *path, const char *rel, const char *sha256, int *matches) {
  *matches = 0;
  const char *how = "";
  char *tried = NULL;
  char *found = cf_input_resolve(o ? o->inputs_dir : NULL, recorded_by, path, rel, &how, &tried);
  if (!found) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "input", label, "MISSING: '%s' (recorded sha256 %s) is not found (looked for %s)",
                 path, sha256, tried && tried[0] ? tried : "nothing: no path recorded");
    free(tried);
    return NULL;
  }
  free(tried);
  char hex[CF_SHA256_HEX_LEN] = "";
  if (cf_sha256_file(ctx, found, hex)) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "input", label, "UNREADABLE: %s", cf_error_message(ctx));
    cf_error_clear(ctx);
  } else if (!sha256[0]) {
    cf_audit_add(a, CF_AUDIT_WARNING, depth, "input", label, "no sha256 recorded (not a plain file when it was read); "
                 "%s (%s) hashes to %s", found, how, hex);
    *matches = 1;
  } else if (strcmp(hex, sha256)) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "input", label, "DIFFERS: %s (found %s) has sha256 %s, the record says %s",
                 found, how, hex, sha256);
  } else {
    cf_audit_add(a, CF_AUDIT_MATCH, depth, "input", label, "sha256 matches (found as %s, %s)", found, how);
    *matches = 1;
  }
  return found;
}

void cf_audit_software(cf_audit *a, int depth, const cf_json *doc) {
  const char *v = cf_audit_str(cf_json_get(doc, "software"), "version");
  if (!strcmp(v, cf_version()))
    cf_audit_add(a, CF_AUDIT_MATCH, depth, "software", "version", "carbonflux %s, as this one", v);
  else
    cf_audit_add(a, CF_AUDIT_WARNING, depth, "software", "version",
                 "written by carbonflux %s, verified with %s (a warning: the numbers decide)", v[0] ? v : "(none)",
                 cf_version());
  const cf_json *seeds = cf_json_get(doc, "random_seeds");
  if (!seeds || (seeds->type == CF_JSON_ARRAY && seeds->n == 0))
    cf_audit_add(a, CF_AUDIT_MATCH, depth, "seeds", "random seeds", "none: no step draws a random number");
  else
    cf_audit_add(a, CF_AUDIT_WARNING, depth, "seeds", "random seeds",
                 "the file records seeds, which no step of this version uses");
}

void cf_audit_tables(cf_audit *a, int depth, const char *what, const cf_json *recorded, const cf_json *recomputed,
                     const cf_json_table *tables, int n_tables) {
  cf_json_table_result *r = calloc((size_t)n_tables + 1, sizeof *r);
  if (!r) {
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "recompute", what, "out of memory comparing the tables");
    return;
  }
  cf_json_compare_tables(recorded, recomputed, tables, n_tables, r);
  for (int t = 0; t <= n_tables; t++) {
    const char *name = t < n_tables ? tables[t].name : "other fields";
    if (!name || (t == n_tables && !r[t].n_compared)) continue;
    if (!r[t].differs) {
      cf_audit_add(a, CF_AUDIT_MATCH, depth, "table", name, "matches (%ld value%s)", r[t].n_compared,
                   r[t].n_compared == 1 ? "" : "s");
      continue;
    }
    char rel[64] = "";
    if (isfinite(r[t].rel)) snprintf(rel, sizeof rel, ", relative difference %.3g", r[t].rel);
    cf_audit_add(a, CF_AUDIT_DIFFERS, depth, "table", name,
                 "DIFFERS at %s: recorded %s, recomputed %s%s (%ld of %ld values differ)", r[t].where, r[t].recorded,
                 r[t].recomputed, rel, r[t].differs, r[t].n_compared);
  }
  free(r);
}

/* The HTML report's reference to its ledger (audit.h): the meta element
 * write.report puts in the head, or the JSON block other writers may use. */
#define AUDIT_META "<meta name=\"carbonflux-ledger\" content=\""
#define AUDIT_MARK "<script type=\"application/json\" id=\"carbonflux-audit\">"

/* The attribute value up to its closing quote, with the five entities the
 * report's writer makes (report_html.c) turned back into characters. */
static char *meta_content(const char *p) {
  const char *q = strchr(p, '"');
  if (!q) return NULL;
  char *out = malloc((size_t)(q - p) + 1), *o = out;
  if (!out) return NULL;
  static const char *const ent[5][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
  while (p < q) {
    int k = 0;
    while (k < 5 && strncmp(p, ent[k][0], strlen(ent[k][0]))) k++;
    if (k < 5) *o++ = ent[k][1][0], p += strlen(ent[k][0]);
    else *o++ = *p++;
  }
  *o = 0;
  return out;
}

static int audit_html(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, const char *path, const char *text) {
  const char *meta = strstr(text, AUDIT_META);
  const char *start = meta ? NULL : strstr(text, AUDIT_MARK);
  const char *end = start ? strstr(start, "</script>") : NULL;
  if (!meta && !end)
    return cf_error(ctx, CF_EDATA, path, "", "not a carbonflux ledger (%s), stock report (%s) or report naming its "
                    "ledger (no JSON object and no %s...\">)", CF_LEDGER_SCHEMA, CF_STOCKS_SCHEMA, AUDIT_META);
  cf_json *ref = NULL;
  char *content = NULL, lpath_buf[1024] = "", lsha_buf[80] = "";
  const char *lpath = "", *lsha = "";
  int rc = CF_OK;
  if (meta) { /* "PATH SHA256": the hash is the last word, the path may hold spaces */
    content = meta_content(meta + strlen(AUDIT_META));
    if (!content) return cf_error(ctx, CF_ENOMEM, path, "carbonflux-ledger", "out of memory");
    char *sp = strrchr(content, ' ');
    if (sp && (size_t)(sp - content) < sizeof lpath_buf && strlen(sp + 1) < sizeof lsha_buf) {
      memcpy(lpath_buf, content, (size_t)(sp - content));
      lpath_buf[sp - content] = 0;
      snprintf(lsha_buf, sizeof lsha_buf, "%s", sp + 1);
      lpath = lpath_buf, lsha = lsha_buf;
    }
    free(content);
  } else {
    start += strlen(AUDIT_MARK);
    rc = cf_json_parse(ctx, path, start, (size_t)(end - start), &ref);
    const cf_json *lg = cf_json_get(ref, "ledger");
    lpath = cf_audit_str(lg, "path"), lsha = cf_audit_str(lg, "sha256");
  }
  if (!rc && (!lpath[0] || !lsha[0]))
    rc = cf_error(ctx, CF_EDATA, path, meta ? "carbonflux-ledger" : "carbonflux-audit",
                  "the reference names no ledger path and sha256");
  int matches = 0;
  char label[1100];
  snprintf(label, sizeof label, "ledger of the report %s", lpath);
  char *found = rc ? NULL : cf_audit_input(ctx, a, o, 0, path, label, lpath, NULL, lsha, &matches);
  cf_json *doc = NULL;
  if (found && !(rc = cf_json_load_file(ctx, found, &doc))) {
    if (strcmp(cf_audit_str(doc, "schema"), CF_LEDGER_SCHEMA))
      rc = cf_error(ctx, CF_EDATA, found, "schema", "the report's ledger is not %s", CF_LEDGER_SCHEMA);
    else
      rc = cf_audit_ledger(ctx, a, o, 0, found, doc);
  }
  cf_json_free(doc);
  cf_json_free(ref);
  free(found);
  return rc;
}

int cf_audit_file(cf_ctx *ctx, const char *path, const cf_audit_opts *o, cf_audit *out) {
  memset(out, 0, sizeof *out);
  char *text = NULL;
  size_t n = 0;
  int rc = cf_json_read_bytes(ctx, path, &text, &n);
  if (rc) return rc;
  const char *p = text;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  if (!strncmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  if (*p != '{') {
    rc = audit_html(ctx, out, o, path, text);
    free(text);
    return rc;
  }
  cf_json *doc = NULL;
  rc = cf_json_parse(ctx, path, text, n, &doc);
  free(text);
  if (rc) return rc;
  const char *schema = cf_audit_str(doc, "schema");
  if (!strcmp(schema, CF_LEDGER_SCHEMA))
    rc = cf_audit_ledger(ctx, out, o, 0, path, doc);
  else if (!strcmp(schema, CF_STOCKS_SCHEMA))
    rc = cf_audit_stocks(ctx, out, o, 0, path, doc);
  else
    rc = cf_error(ctx, CF_EDATA, path, "schema", "'%s' is not a schema verify knows (%s, %s)",
                  schema[0] ? schema : "(none)", CF_LEDGER_SCHEMA, CF_STOCKS_SCHEMA);
  cf_json_free(doc);
  return rc;
}

void cf_audit_print(FILE *out, const cf_audit *a) {
  static const char *const word[] = {"ok", "FAIL", "warning", "note"};
  for (int i = 0; i < a->n; i++) {
    const cf_audit_line *l = &a->lines[i];
    if (!strcmp(l->kind, "file")) {
      fprintf(out, "%*s%s %s\n", 2 * l->depth, "", l->name, l->detail);
      continue;
    }
    fprintf(out, "%*s  %-7s %-9s %s: %s\n", 2 * l->depth, "", word[l->outcome], l->kind, l->name, l->detail);
  }
  int checks = 0;
  for (int i = 0; i < a->n; i++) checks += a->lines[i].outcome == CF_AUDIT_MATCH || a->lines[i].outcome == CF_AUDIT_DIFFERS;
  if (a->n_differs)
    fprintf(out, "verify: %d of %d checks do NOT match%s\n", a->n_differs, checks, a->n_warnings ? " (and warnings)" : "");
  else
    fprintf(out, "verify: all %d checks match%s\n", checks, a->n_warnings ? " (see the warnings)" : "");
}
