/* The report model and its HTML and CSV rendering; see report_html.h. */
#include "sink/report_html.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "core/utf8.h"

typedef struct {
  int is_num; /* 0 text (NULL: an empty cell), 1 number */
  char *text;
  double v;
  cf_report_numfmt f;
} cell;

struct cf_report_table {
  cf_report *owner;
  char *name, *caption;
  int ncols, has_source;
  char **headers, **units;
  cell *cells; /* nrows x ncols */
  char **sources; /* nrows (NULL: none) */
  int nrows, filled; /* cells given in the last row */
};

typedef enum { ITEM_PARAGRAPH, ITEM_TABLE, ITEM_IMAGE } item_kind;

typedef struct {
  item_kind kind;
  char *text;               /* paragraph; image caption */
  char *alt;                /* image */
  unsigned char *png;
  size_t npng;
  cf_report_table *table;
} item;

struct cf_report_section {
  cf_report *owner;
  char *heading;
  item *items;
  int nitems;
};

typedef struct {
  char *a, *b, *c, *d; /* input: path, role, sha256; setting: name, value */
} quad;

struct cf_report {
  char *title;
  long long generated;
  quad *inputs, *settings, *metas;
  int ninputs, nsettings, nmetas;
  cf_report_section **sections;
  int nsections;
  cf_report_table *params; /* name, value, unit, source */
  int failed;              /* out of memory */
  char misuse[256];        /* the first misuse, "" if none */
};

/* ---------------------------------------------------------------- building */

static char *sdup(cf_report *r, const char *s) {
  char *d = strdup(s ? s : "");
  if (!d) r->failed = 1;
  return d;
}

static void misuse(cf_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void misuse(cf_report *r, const char *fmt, ...) {
  if (r->misuse[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->misuse, sizeof r->misuse, fmt, ap);
  va_end(ap);
}

/* Grow *arr (n elements of size sz) by one zeroed element; NULL on failure. */
static void *grow(cf_report *r, void *arr_p, int *n, size_t sz) {
  void **arr = arr_p;
  void *a = realloc(*arr, (size_t)(*n + 1) * sz);
  if (!a) {
    r->failed = 1;
    return NULL;
  }
  *arr = a;
  memset((char *)a + (size_t)*n * sz, 0, sz);
  return (char *)a + (size_t)(*n)++ * sz;
}

static cf_report_table *table_new(cf_report *r, const char *name, const char *caption, int ncols,
                                  const cf_report_column *cols, int has_source) {
  cf_report_table *t = calloc(1, sizeof *t);
  if (!t || ncols <= 0) {
    if (!t) r->failed = 1;
    else misuse(r, "table \"%s\" has no columns", name ? name : "");
    free(t);
    return NULL;
  }
  t->owner = r;
  t->name = sdup(r, name);
  t->caption = sdup(r, caption);
  t->ncols = ncols, t->has_source = has_source;
  t->headers = calloc((size_t)ncols, sizeof *t->headers);
  t->units = calloc((size_t)ncols, sizeof *t->units);
  if (!t->headers || !t->units) r->failed = 1;
  for (int j = 0; j < ncols && !r->failed; j++) {
    t->headers[j] = sdup(r, cols[j].header);
    t->units[j] = sdup(r, cols[j].unit);
  }
  return t;
}

static void table_free(cf_report_table *t) {
  if (!t) return;
  for (int j = 0; j < t->ncols; j++) {
    if (t->headers) free(t->headers[j]);
    if (t->units) free(t->units[j]);
  }
  for (int i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i].text);
  for (int i = 0; i < t->nrows; i++) free(t->sources[i]);
  free(t->headers), free(t->units), free(t->cells), free(t->sources), free(t->name), free(t->caption);
  free(t);
}

cf_report *cf_report_create(const char *title) {
  cf_report *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->title = sdup(r, title);
  r->generated = (long long)time(NULL);
  static const cf_report_column cols[4] = {{"Parameter", NULL}, {"Value", NULL}, {"Unit", NULL}, {"Source", NULL}};
  r->params = table_new(r, "parameters", "Every parameter used, with its value, unit and source", 4, cols, 0);
  if (r->failed || !r->params) {
    cf_report_destroy(r);
    return NULL;
  }
  return r;
}

void cf_report_destroy(cf_report *r) {
  if (!r) return;
  for (int i = 0; i < r->ninputs; i++) free(r->inputs[i].a), free(r->inputs[i].b), free(r->inputs[i].c);
  for (int i = 0; i < r->nsettings; i++) free(r->settings[i].a), free(r->settings[i].b);
  for (int i = 0; i < r->nmetas; i++) free(r->metas[i].a), free(r->metas[i].b);
  for (int s = 0; s < r->nsections; s++) {
    cf_report_section *S = r->sections[s];
    for (int k = 0; k < S->nitems; k++) {
      free(S->items[k].text), free(S->items[k].alt), free(S->items[k].png);
      table_free(S->items[k].table);
    }
    free(S->items), free(S->heading), free(S);
  }
  free(r->inputs), free(r->settings), free(r->metas), free(r->sections), free(r->title);
  table_free(r->params);
  free(r);
}

void cf_report_set_generated(cf_report *r, long long epoch_s) { r->generated = epoch_s; }

int cf_report_add_input(cf_ctx *ctx, cf_report *r, const char *path, const char *role, const char *sha256) {
  char hex[CF_SHA256_HEX_LEN];
  if (!sha256) {
    int rc = cf_sha256_file(ctx, path, hex);
    if (rc) return rc;
    sha256 = hex;
  }
  quad *q = grow(r, &r->inputs, &r->ninputs, sizeof *q);
  if (!q) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  q->a = sdup(r, path), q->b = sdup(r, role), q->c = sdup(r, sha256);
  return r->failed ? cf_error(ctx, CF_ENOMEM, path, "", "out of memory") : CF_OK;
}

void cf_report_add_setting(cf_report *r, const char *name, const char *value) {
  quad *q = grow(r, &r->settings, &r->nsettings, sizeof *q);
  if (q) q->a = sdup(r, name), q->b = sdup(r, value);
}

void cf_report_add_meta(cf_report *r, const char *name, const char *content) {
  quad *q = grow(r, &r->metas, &r->nmetas, sizeof *q);
  if (q) q->a = sdup(r, name), q->b = sdup(r, content);
}

cf_report_section *cf_report_section_add(cf_report *r, const char *heading) {
  cf_report_section *s = calloc(1, sizeof *s), **slot = s ? grow(r, &r->sections, &r->nsections, sizeof *slot) : NULL;
  if (!slot) {
    r->failed = 1;
    free(s);
    return NULL;
  }
  *slot = s;
  s->owner = r;
  s->heading = sdup(r, heading);
  return s;
}

static item *section_item(cf_report_section *s, item_kind kind) {
  if (!s) return NULL; /* the section's own allocation failed: already remembered */
  item *it = grow(s->owner, &s->items, &s->nitems, sizeof *it);
  if (it) it->kind = kind;
  return it;
}

void cf_report_paragraph(cf_report_section *s, const char *text) {
  item *it = section_item(s, ITEM_PARAGRAPH);
  if (it) it->text = sdup(s->owner, text);
}

cf_report_table *cf_report_table_add(cf_report_section *s, const char *name, const char *caption, int ncols,
                                     const cf_report_column *cols, int has_source) {
  item *it = section_item(s, ITEM_TABLE);
  if (!it) return NULL;
  it->table = table_new(s->owner, name, caption, ncols, cols, has_source);
  return it->table;
}

void cf_report_row(cf_report_table *t) {
  if (!t) return;
  cf_report *r = t->owner;
  if (t->nrows && t->filled < t->ncols)
    misuse(r, "table \"%s\" row %d has %d of its %d cells", t->name, t->nrows, t->filled, t->ncols);
  cell *c = realloc(t->cells, (size_t)(t->nrows + 1) * t->ncols * sizeof *c);
  char **src = c ? realloc(t->sources, (size_t)(t->nrows + 1) * sizeof *src) : NULL;
  if (c) t->cells = c;
  if (src) t->sources = src;
  if (!c || !src) {
    r->failed = 1;
    return;
  }
  memset(t->cells + (size_t)t->nrows * t->ncols, 0, (size_t)t->ncols * sizeof *c);
  t->sources[t->nrows++] = NULL;
  t->filled = 0;
}

static cell *next_cell(cf_report_table *t) {
  if (!t) return NULL;
  if (!t->nrows) {
    misuse(t->owner, "table \"%s\": a cell before cf_report_row", t->name);
    return NULL;
  }
  if (t->filled >= t->ncols) {
    misuse(t->owner, "table \"%s\" row %d: more cells than its %d columns", t->name, t->nrows, t->ncols);
    return NULL;
  }
  return &t->cells[(size_t)(t->nrows - 1) * t->ncols + t->filled++];
}

void cf_report_cell_text(cf_report_table *t, const char *text) {
  cell *c = next_cell(t);
  if (c) c->text = sdup(t->owner, text);
}

void cf_report_cell_num(cf_report_table *t, double v, cf_report_numfmt f) {
  cell *c = next_cell(t);
  if (!c) return;
  c->is_num = 1, c->v = v, c->f = f;
  if ((f.style != 'f' && f.style != 'e' && f.style != 'g') || f.digits < 0 || f.digits > 17)
    misuse(t->owner, "table \"%s\" row %d: number format '%c' with %d digits", t->name, t->nrows, f.style, f.digits);
}

void cf_report_cell_empty(cf_report_table *t) { (void)next_cell(t); }

void cf_report_row_source(cf_report_table *t, const char *source) {
  if (!t) return;
  if (!t->has_source || !t->nrows) {
    misuse(t->owner, "table \"%s\": a source cell %s", t->name, t->has_source ? "before any row" : "in a table without them");
    return;
  }
  free(t->sources[t->nrows - 1]);
  t->sources[t->nrows - 1] = sdup(t->owner, source);
}

void cf_report_image(cf_report_section *s, const void *png, size_t n, const char *alt, const char *caption) {
  item *it = section_item(s, ITEM_IMAGE);
  if (!it) return;
  it->alt = sdup(s->owner, alt);
  it->text = sdup(s->owner, caption);
  it->png = malloc(n ? n : 1);
  if (!it->png) {
    s->owner->failed = 1;
    return;
  }
  memcpy(it->png, png, n);
  it->npng = n;
}

void cf_report_param(cf_report *r, const char *name, double value, cf_report_numfmt f, const char *unit,
                     const char *source) {
  cf_report_row(r->params);
  cf_report_cell_text(r->params, name);
  cf_report_cell_num(r->params, value, f);
  cf_report_cell_text(r->params, unit);
  cf_report_cell_text(r->params, source);
}

void cf_report_param_text(cf_report *r, const char *name, const char *value, const char *unit, const char *source) {
  cf_report_row(r->params);
  cf_report_cell_text(r->params, name);
  cf_report_cell_text(r->params, value);
  cf_report_cell_text(r->params, unit);
  cf_report_cell_text(r->params, source);
}

/* ---------------------------------------------------------------- HTML text */

/* Walk s, handing each piece to put: valid UTF-8 as it is, U+FFFD for a
 * byte that is not UTF-8 and for control characters other than tab, CR
 * and LF; `entities` also turns & < > " ' into HTML entities. */
static void clean_text(cf_strbuf *sb, const char *s, int entities) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    int n = cf_utf8_len(p, 4); /* NUL-terminated: the NUL ends a sequence cut short */
    const char *rep = NULL;
    if (n == 0 || (n == 1 && ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7F)))
      rep = "\xEF\xBF\xBD", n = 1; /* one replacement per bad byte */
    else if (entities && n == 1)
      rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
    if (rep) cf_strbuf_puts(sb, rep);
    else cf_strbuf_putn(sb, (const char *)p, (size_t)n);
    p += n;
  }
}

/* Text as HTML character data or attribute value. */
static void esc(cf_strbuf *sb, const char *s) { clean_text(sb, s, 1); }

/* Text as one CSV field, valid UTF-8. */
static void csv_field(cf_strbuf *sb, const char *s) {
  cf_strbuf t;
  cf_strbuf_init(&t);
  clean_text(&t, s, 0);
  if (t.failed) sb->failed = 1;
  else cf_csv_put_field(sb, cf_strbuf_str(&t));
  cf_strbuf_free(&t);
}

/* A number in its stated format; commas between thousands for GROUPED. */
static void format_num(char *out, size_t cap, double v, cf_report_numfmt f) {
  char raw[400];
  snprintf(raw, sizeof raw, f.style == 'e' ? "%.*e" : f.style == 'g' ? "%.*g" : "%.*f", f.digits, v);
  if (f.style != 'f' || !f.group) {
    snprintf(out, cap, "%s", raw);
    return;
  }
  const char *digits = raw + (raw[0] == '-');
  size_t nint = strcspn(digits, ".");
  size_t o = 0;
  if (raw[0] == '-' && o + 1 < cap) out[o++] = '-';
  for (size_t i = 0; i < nint && o + 2 < cap; i++) {
    if (i && (nint - i) % 3 == 0) out[o++] = ',';
    out[o++] = digits[i];
  }
  snprintf(out + o, cap - o, "%s", digits + nint);
}

static const char *STYLE =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','DejaVu Sans',sans-serif;"
    "color:#1a1a1a;background:#fff;margin:0 auto;max-width:1100px;padding:1.5em 2em;line-height:1.45}"
    "h1{font-size:1.6em;margin:0 0 .3em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:2px solid #2c5f2d;"
    "padding-bottom:.2em}table{border-collapse:collapse;margin:.4em 0 .3em;font-size:.92em}"
    "caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}"
    "th,td{border:1px solid #c8c8c8;padding:.25em .6em;vertical-align:top}"
    "th{background:#eef3ee;text-align:left}.unit{display:block;font-weight:400;color:#555;font-size:.88em;white-space:nowrap}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.src{color:#444;font-size:.9em}tbody tr:nth-child(even){background:#f8f8f8}"
    ".hash{font-family:'DejaVu Sans Mono',monospace;font-size:.85em;word-break:break-all}"
    "figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #ccc}"
    "figcaption{font-size:.9em;color:#333;margin-top:.3em}.csv{font-size:.85em;margin:0 0 1em}"
    "nav ol{margin:.2em 0;padding-left:1.4em}.meta th{width:12em}"
    "footer{margin-top:2em;font-size:.85em;color:#555}";

static void utc_text(long long t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) {
    snprintf(out, 32, "(time %lld)", t);
    return;
  }
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void html_table(cf_strbuf *sb, const cf_report_table *t, int link_csv) {
  cf_strbuf_puts(sb, "<figure class=\"table\"><table id=\"t-");
  esc(sb, t->name);
  cf_strbuf_puts(sb, "\"><caption>");
  esc(sb, t->caption);
  cf_strbuf_puts(sb, "</caption>\n<thead><tr>");
  for (int j = 0; j < t->ncols; j++) {
    cf_strbuf_puts(sb, "<th scope=\"col\">");
    esc(sb, t->headers[j]);
    if (t->units[j][0]) {
      cf_strbuf_puts(sb, "<span class=\"unit\">");
      esc(sb, t->units[j]);
      cf_strbuf_puts(sb, "</span>");
    }
    cf_strbuf_puts(sb, "</th>");
  }
  if (t->has_source) cf_strbuf_puts(sb, "<th scope=\"col\">Source / equation</th>");
  cf_strbuf_puts(sb, "</tr></thead>\n<tbody>\n");
  for (int i = 0; i < t->nrows; i++) {
    cf_strbuf_puts(sb, "<tr>");
    for (int j = 0; j < t->ncols; j++) {
      const cell *c = &t->cells[(size_t)i * t->ncols + j];
      if (!c->is_num) {
        cf_strbuf_puts(sb, "<td>");
        esc(sb, c->text);
      } else if (!isfinite(c->v)) {
        cf_strbuf_puts(sb, "<td class=\"n\" title=\"not estimated\">\xE2\x80\x94");
      } else {
        char shown[448];
        format_num(shown, sizeof shown, c->v, c->f);
        cf_strbuf_puts(sb, "<td class=\"n\" title=\"");
        cf_strbuf_json_double(sb, c->v); /* the CSV's shortest exact form */
        cf_strbuf_puts(sb, "\">");
        esc(sb, shown);
      }
      cf_strbuf_puts(sb, "</td>");
    }
    if (t->has_source) {
      cf_strbuf_puts(sb, "<td class=\"src\">");
      esc(sb, t->sources[i]);
      cf_strbuf_puts(sb, "</td>");
    }
    cf_strbuf_puts(sb, "</tr>\n");
  }
  cf_strbuf_puts(sb, "</tbody></table>");
  if (link_csv) {
    cf_strbuf_puts(sb, "<p class=\"csv\">Also as <a href=\"");
    esc(sb, t->name);
    cf_strbuf_puts(sb, ".csv\">");
    esc(sb, t->name);
    cf_strbuf_puts(sb, ".csv</a></p>");
  }
  cf_strbuf_puts(sb, "</figure>\n");
}

/* Width and height from a PNG's IHDR; 0 when the bytes are not a PNG. */
static int png_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 33 || memcmp(p, sig, 8) || memcmp(p + 12, "IHDR", 4)) return 0;
  *w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
  *h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
  return *w > 0 && *h > 0;
}

static int html_image(cf_strbuf *sb, const item *it) {
  unsigned w, h;
  if (!png_size(it->png, it->npng, &w, &h) || it->npng > (size_t)1 << 30) return -1;
  char *b64 = CPLBase64Encode((int)it->npng, it->png);
  if (!b64) return -2;
  cf_strbuf_printf(sb, "<figure><img width=\"%u\" height=\"%u\" alt=\"", w, h);
  esc(sb, it->alt);
  cf_strbuf_puts(sb, "\" src=\"data:image/png;base64,");
  cf_strbuf_puts(sb, b64);
  cf_strbuf_puts(sb, "\"><figcaption>");
  esc(sb, it->text);
  cf_strbuf_puts(sb, "</figcaption></figure>\n");
  CPLFree(b64);
  return 0;
}

static void meta_row(cf_strbuf *sb, const char *k, const char *v, const char *cls) {
  cf_strbuf_puts(sb, "<tr><th scope=\"row\">");
  esc(sb, k);
  cf_strbuf_printf(sb, "</th><td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
  esc(sb, v);
  cf_strbuf_puts(sb, "</td></tr>\n");
}

static void html_meta(cf_strbuf *sb, const cf_report *r, const char *file_name) {
  char when[32];
  utc_text(r->generated, when);
  cf_strbuf_puts(sb, "<table class=\"meta\"><caption>About this report</caption>\n<tbody>\n");
  meta_row(sb, "Software", "carbonflux", NULL);
  meta_row(sb, "Version", cf_version(), NULL);
  meta_row(sb, "Generated (UTC)", when, NULL);
  meta_row(sb, "File", file_name, NULL);
  for (int i = 0; i < r->nsettings; i++) meta_row(sb, r->settings[i].a, r->settings[i].b, NULL);
  cf_strbuf_puts(sb, "</tbody></table>\n");
  if (!r->ninputs) return;
  cf_strbuf_puts(sb, "<table class=\"inputs\"><caption>Input files</caption>\n<thead><tr><th scope=\"col\">File</th>"
                     "<th scope=\"col\">Role</th><th scope=\"col\">SHA-256</th></tr></thead>\n<tbody>\n");
  for (int i = 0; i < r->ninputs; i++) {
    cf_strbuf_puts(sb, "<tr><td>");
    esc(sb, r->inputs[i].a);
    cf_strbuf_puts(sb, "</td><td>");
    esc(sb, r->inputs[i].b);
    cf_strbuf_puts(sb, "</td><td class=\"hash\">");
    esc(sb, r->inputs[i].c);
    cf_strbuf_puts(sb, "</td></tr>\n");
  }
  cf_strbuf_puts(sb, "</tbody></table>\n");
}

/* The whole page; *bad_image set to the first image that is not a PNG. */
static char *render_html(const cf_report *r, const char *file_name, const item **bad_image) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<meta name=\"generator\" content=\"carbonflux ");
  esc(&sb, cf_version());
  /* an empty icon: without it a browser asks the file system for favicon.ico */
  cf_strbuf_puts(&sb, "\">\n");
  for (int i = 0; i < r->nmetas; i++) {
    cf_strbuf_puts(&sb, "<meta name=\"");
    esc(&sb, r->metas[i].a);
    cf_strbuf_puts(&sb, "\" content=\"");
    esc(&sb, r->metas[i].b);
    cf_strbuf_puts(&sb, "\">\n");
  }
  cf_strbuf_puts(&sb, "<link rel=\"icon\" href=\"data:,\">\n<title>");
  esc(&sb, r->title);
  cf_strbuf_printf(&sb, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>", STYLE);
  esc(&sb, r->title);
  cf_strbuf_puts(&sb, "</h1>\n");
  html_meta(&sb, r, file_name);
  cf_strbuf_puts(&sb, "</header>\n<nav><strong>Contents</strong><ol>\n");
  for (int s = 0; s < r->nsections; s++) {
    cf_strbuf_printf(&sb, "<li><a href=\"#s%d\">", s + 1);
    esc(&sb, r->sections[s]->heading);
    cf_strbuf_puts(&sb, "</a></li>\n");
  }
  if (r->params->nrows) cf_strbuf_puts(&sb, "<li><a href=\"#parameters\">Parameters</a></li>\n");
  cf_strbuf_puts(&sb, "</ol></nav>\n");
  for (int s = 0; s < r->nsections; s++) {
    const cf_report_section *S = r->sections[s];
    cf_strbuf_printf(&sb, "<section id=\"s%d\"><h2>", s + 1);
    esc(&sb, S->heading);
    cf_strbuf_puts(&sb, "</h2>\n");
    for (int k = 0; k < S->nitems; k++) {
      const item *it = &S->items[k];
      if (it->kind == ITEM_PARAGRAPH) {
        cf_strbuf_puts(&sb, "<p>");
        esc(&sb, it->text);
        cf_strbuf_puts(&sb, "</p>\n");
      } else if (it->kind == ITEM_TABLE) {
        html_table(&sb, it->table, 1);
      } else {
        int rc = html_image(&sb, it);
        if (rc == -1 && !*bad_image) *bad_image = it;
        if (rc == -2) sb.failed = 1;
      }
    }
    cf_strbuf_puts(&sb, "</section>\n");
  }
  if (r->params->nrows) {
    cf_strbuf_puts(&sb, "<section id=\"parameters\"><h2>Parameters</h2>\n");
    html_table(&sb, r->params, 1);
    cf_strbuf_puts(&sb, "</section>\n");
  }
  cf_strbuf_puts(&sb, "<footer>Written by carbonflux ");
  esc(&sb, cf_version());
  cf_strbuf_puts(&sb, ". Every table is also a CSV file beside this one; each number's exact value is in its "
                      "cell's tooltip.</footer>\n</body>\n</html>\n");
  return cf_strbuf_take(&sb);
}

/* ---------------------------------------------------------------- CSV */

static char *render_csv(const cf_report *r, const cf_report_table *t, const char *file_name) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  char when[32];
  utc_text(r->generated, when);
  /* provenance as '#' comment lines, as every CSV output of ours (README "Outputs") */
  cf_strbuf_printf(&sb, "# carbonflux %s, table \"%s\" of the report %s, generated %s\n", cf_version(), t->name,
                   file_name, when);
  for (int i = 0; i < r->ninputs; i++) cf_strbuf_printf(&sb, "# input %s sha256 %s\n", r->inputs[i].a, r->inputs[i].c);
  for (int j = 0; j < t->ncols; j++) {
    char h[1024];
    snprintf(h, sizeof h, "%s%s%s%s", t->headers[j], t->units[j][0] ? " [" : "", t->units[j],
             t->units[j][0] ? "]" : "");
    if (j) cf_strbuf_puts(&sb, ",");
    csv_field(&sb, h);
  }
  if (t->has_source) cf_strbuf_puts(&sb, ",source");
  cf_strbuf_puts(&sb, "\r\n");
  for (int i = 0; i < t->nrows; i++) {
    for (int j = 0; j < t->ncols; j++) {
      const cell *c = &t->cells[(size_t)i * t->ncols + j];
      if (j) cf_strbuf_puts(&sb, ",");
      if (c->is_num && isfinite(c->v)) cf_strbuf_json_double(&sb, c->v);
      else if (!c->is_num && c->text) csv_field(&sb, c->text);
    }
    if (t->has_source) {
      cf_strbuf_puts(&sb, ",");
      if (t->sources[i]) csv_field(&sb, t->sources[i]);
    }
    cf_strbuf_puts(&sb, "\r\n");
  }
  return cf_strbuf_take(&sb);
}

/* ---------------------------------------------------------------- writing */

static int name_ok(const char *s) {
  if (!s[0] || strlen(s) > 100) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

/* Every table of the report in order, the parameters last (if any). */
static int collect_tables(const cf_report *r, const cf_report_table **out) {
  int n = 0;
  for (int s = 0; s < r->nsections; s++)
    for (int k = 0; k < r->sections[s]->nitems; k++)
      if (r->sections[s]->items[k].kind == ITEM_TABLE) {
        if (out) out[n] = r->sections[s]->items[k].table;
        n++;
      }
  if (r->params->nrows) {
    if (out) out[n] = r->params;
    n++;
  }
  return n;
}

static int check_model(cf_ctx *ctx, const cf_report *r, const char *html_path, const cf_report_table **t, int nt) {
  if (r->failed) return cf_error(ctx, CF_ENOMEM, html_path, "", "out of memory building the report");
  if (r->misuse[0]) return cf_error(ctx, CF_EINVAL, html_path, "", "%s", r->misuse);
  for (int i = 0; i < nt; i++) {
    if (!name_ok(t[i]->name))
      return cf_error(ctx, CF_EINVAL, html_path, t[i]->name,
                      "a table name is its CSV file's stem: letters, digits, '_' and '-' only");
    if (t[i]->nrows && t[i]->filled < t[i]->ncols)
      return cf_error(ctx, CF_EINVAL, html_path, t[i]->name, "row %d has %d of its %d cells", t[i]->nrows,
                      t[i]->filled, t[i]->ncols);
    for (int j = 0; j < i; j++)
      if (!strcmp(t[i]->name, t[j]->name))
        return cf_error(ctx, CF_EINVAL, html_path, t[i]->name,
                        t[i] == r->params || t[j] == r->params ? "\"parameters\" is the parameters table's name"
                                                               : "two tables have this name (one CSV file each)");
  }
  return CF_OK;
}

int cf_report_write(cf_ctx *ctx, const cf_report *r, const char *html_path) {
  return cf_report_write_with(ctx, r, html_path, NULL, 0);
}

int cf_report_write_with(cf_ctx *ctx, const cf_report *r, const char *html_path, cf_atomic_file *const *extra,
                         int n_extra) {
  int nt = collect_tables(r, NULL);
  const cf_report_table **t = calloc((size_t)nt + 1, sizeof *t);
  cf_atomic_file *af = calloc((size_t)nt + 1, sizeof *af);
  cf_atomic_file **afp = calloc((size_t)nt + 1 + (size_t)n_extra, sizeof *afp);
  char *dir = cf_path_dirname(html_path), *base = strrchr(html_path, '/');
  base = base ? base + 1 : (char *)html_path;
  int rc = t && af && afp && dir ? CF_OK : cf_error(ctx, CF_ENOMEM, html_path, "", "out of memory");
  if (!rc) collect_tables(r, t), rc = check_model(ctx, r, html_path, t, nt);
  const item *bad = NULL;
  char *html = rc ? NULL : render_html(r, base, &bad);
  if (!rc && !html) rc = cf_error(ctx, CF_ENOMEM, html_path, "", "out of memory rendering the report");
  if (!rc && bad)
    rc = cf_error(ctx, CF_EDATA, html_path, "image", "the image \"%s\" is not a PNG (no PNG signature and header)",
                  bad->alt);
  if (!rc) rc = cf_atomic_begin(ctx, html_path, &af[0]);
  if (!rc) rc = cf_atomic_write_text(ctx, &af[0], html);
  for (int i = 0; i < nt && !rc; i++) {
    char name[160];
    snprintf(name, sizeof name, "%s.csv", t[i]->name);
    char *path = cf_path_join(dir, name), *csv = render_csv(r, t[i], base);
    if (!path || !csv) rc = cf_error(ctx, CF_ENOMEM, html_path, t[i]->name, "out of memory");
    if (!rc) rc = cf_atomic_begin(ctx, path, &af[i + 1]);
    if (!rc) rc = cf_atomic_write_text(ctx, &af[i + 1], csv);
    free(path), free(csv);
  }
  if (!rc) rc = cf_check_cancel(ctx, html_path, NULL);
  for (int i = 0; i <= nt && afp; i++) afp[i] = &af[i];
  for (int i = 0; i < n_extra && afp; i++) afp[nt + 1 + i] = extra[i];
  if (!rc) rc = cf_atomic_commit_all(ctx, afp, nt + 1 + n_extra);
  for (int i = 0; af && i <= nt; i++) cf_atomic_end(&af[i]);
  free(html), free(dir), free(t), free(af), free(afp);
  return rc;
}
