/*
 * RFC 4180 CSV reader; see csv.h for what it accepts and its invariants.
 *
 * A record is parsed by a small state machine into one byte buffer holding
 * its fields one after the other, each ended by a NUL; the field pointers
 * are set once the record is complete (the buffer may move while it grows).
 */
#include "core/csv.h"
#include "core/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cf_csv {
  char *name;
  FILE *fp;         /* a file, or */
  const char *text; /* text in memory */
  size_t text_pos;
  long line;        /* line of the next character */
  int ncols;
  char **header;
  /* the current record */
  char *buf;
  size_t len, cap;
  size_t *starts;   /* offset of each field in buf */
  int nstarts, capstarts;
  cf_csv_row row;
  char **fields;
  int capfields;
};

static int next_char(cf_csv *c) {
  if (c->fp) return getc(c->fp);
  unsigned char ch = (unsigned char)c->text[c->text_pos];
  if (!ch) return EOF;
  c->text_pos++;
  return ch;
}

static void unget_char(cf_csv *c, int ch) {
  if (ch == EOF) return;
  if (c->fp)
    ungetc(ch, c->fp);
  else
    c->text_pos--;
}

static int put_byte(cf_csv *c, char ch) {
  if (c->len == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 256;
    char *nb = realloc(c->buf, cap);
    if (!nb) return -1;
    c->buf = nb;
    c->cap = cap;
  }
  c->buf[c->len++] = ch;
  return 0;
}

static int start_field(cf_csv *c) {
  if (c->nstarts == c->capstarts) {
    int cap = c->capstarts ? 2 * c->capstarts : 16;
    size_t *ns = realloc(c->starts, (size_t)cap * sizeof *ns);
    if (!ns) return -1;
    c->starts = ns;
    c->capstarts = cap;
  }
  c->starts[c->nstarts++] = c->len;
  return 0;
}

/* Read one record into buf/starts. Returns 1, 0 at the end, or a status. */
static int read_record(cf_ctx *ctx, cf_csv *c) {
  for (;;) { /* skip blank lines */
    int ch = next_char(c);
    if (ch == EOF) {
      if (c->fp && ferror(c->fp)) return cf_error(ctx, CF_EIO, c->name, "", "read failed: %s", strerror(errno));
      return 0;
    }
    if (ch == '\n') {
      c->line++;
      continue;
    }
    if (ch == '\r') continue;
    unget_char(c, ch);
    break;
  }
  c->len = 0;
  c->nstarts = 0;
  c->row.line = c->line;
  if (start_field(c)) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
  size_t field_len = 0;
  int quoted = 0, in_quotes = 0, after_quote = 0;
  for (;;) {
    int ch = next_char(c);
    if (ch == EOF && c->fp && ferror(c->fp))
      return cf_error(ctx, CF_EIO, c->name, "", "read failed: %s", strerror(errno));
    if (in_quotes) {
      if (ch == EOF)
        return cf_error(ctx, CF_EDATA, c->name, "", "line %ld: a quoted field is not closed before the end of the file",
                        c->row.line);
      if (ch == '"') {
        int nx = next_char(c);
        if (nx == '"') { /* a doubled quote stands for one */
          if (put_byte(c, '"')) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
          field_len++;
        } else {
          unget_char(c, nx);
          in_quotes = 0;
          after_quote = 1;
        }
        continue;
      }
      if (ch == '\n') c->line++;
      if (put_byte(c, (char)ch)) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
      if (++field_len > CF_CSV_MAX_FIELD)
        return cf_error(ctx, CF_EDATA, c->name, "", "line %ld: a field is longer than %d bytes", c->row.line,
                        CF_CSV_MAX_FIELD);
      continue;
    }
    if (ch == ',' || ch == '\n' || ch == '\r' || ch == EOF) {
      if (put_byte(c, '\0')) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
      if (ch == '\r') {
        int nx = next_char(c);
        if (nx != '\n') unget_char(c, nx);
        ch = '\n';
      }
      if (ch == '\n') c->line++;
      if (ch != ',') return 1;
      if (c->nstarts >= CF_CSV_MAX_FIELDS)
        return cf_error(ctx, CF_EDATA, c->name, "", "line %ld: more than %d fields", c->row.line, CF_CSV_MAX_FIELDS);
      if (start_field(c)) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
      field_len = 0;
      quoted = after_quote = 0;
      continue;
    }
    if (after_quote) {
      /* "abc"x: RFC 4180 has nothing after the closing quote but a separator */
      if (ch == ' ' || ch == '\t') continue;
      return cf_error(ctx, CF_EDATA, c->name, "", "line %ld, field %d: text after the closing quote", c->row.line,
                      c->nstarts);
    }
    if (ch == '"' && field_len == 0 && !quoted) {
      quoted = in_quotes = 1;
      continue;
    }
    if (put_byte(c, (char)ch)) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
    if (++field_len > CF_CSV_MAX_FIELD)
      return cf_error(ctx, CF_EDATA, c->name, "", "line %ld: a field is longer than %d bytes", c->row.line,
                      CF_CSV_MAX_FIELD);
  }
}

static int point_fields(cf_ctx *ctx, cf_csv *c) {
  if (c->nstarts > c->capfields) {
    char **nf = realloc(c->fields, (size_t)c->nstarts * sizeof *nf);
    if (!nf) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
    c->fields = nf;
    c->capfields = c->nstarts;
  }
  for (int i = 0; i < c->nstarts; i++) c->fields[i] = c->buf + c->starts[i];
  c->row.fields = c->fields;
  c->row.nfields = c->nstarts;
  return CF_OK;
}

/* Every field of the record just read is UTF-8 (csv.h), else CF_EDATA
 * naming the line and the column (by its header once there is one). */
static int check_utf8(cf_ctx *ctx, const cf_csv *c) {
  for (int i = 0; i < c->nstarts; i++) {
    const char *f = c->buf + c->starts[i];
    long at = cf_utf8_invalid_at(f, strlen(f));
    if (at < 0) continue;
    char where[64] = ""; /* the header's own fields have no column name yet */
    if (!c->header) snprintf(where, sizeof where, ", column %d of the header", i + 1);
    return cf_error(ctx, CF_EDATA, c->name, c->header && i < c->ncols ? c->header[i] : "",
                    "line %ld%s: byte 0x%02X (byte %ld of the field) is not UTF-8; the file must be UTF-8 "
                    "(a Latin-1 or Windows-1252 export? save it again as UTF-8)",
                    c->row.line, where, (unsigned char)f[at], at + 1);
  }
  return CF_OK;
}

static char *trimmed_copy(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  char *t = malloc(n + 1);
  if (t) {
    memcpy(t, s, n);
    t[n] = '\0';
  }
  return t;
}

static int read_header(cf_ctx *ctx, cf_csv *c) {
  /* a UTF-8 byte-order mark is not part of the first column's name */
  int b0 = next_char(c);
  if (b0 == 0xEF) {
    int b1 = next_char(c), b2 = next_char(c);
    if (b1 != 0xBB || b2 != 0xBF)
      return cf_error(ctx, CF_EDATA, c->name, "", "line 1: not UTF-8 text (a broken byte-order mark)");
  } else {
    unget_char(c, b0);
  }
  int rc = read_record(ctx, c);
  if (rc == 0) return cf_error(ctx, CF_EDATA, c->name, "", "empty file: no header row");
  if (rc < 0) return rc;
  if ((rc = check_utf8(ctx, c))) return rc;
  c->ncols = c->nstarts;
  c->header = calloc((size_t)c->ncols, sizeof *c->header);
  if (!c->header) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
  for (int i = 0; i < c->ncols; i++) {
    c->header[i] = trimmed_copy(c->buf + c->starts[i]);
    if (!c->header[i]) return cf_error(ctx, CF_ENOMEM, c->name, "", "out of memory");
  }
  return CF_OK;
}

static int open_common(cf_ctx *ctx, cf_csv *c, cf_csv **out) {
  c->line = 1;
  int rc = c->name ? read_header(ctx, c) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (rc) {
    cf_csv_close(c);
    return rc;
  }
  *out = c;
  return CF_OK;
}

int cf_csv_open(cf_ctx *ctx, const char *path, cf_csv **out) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot open: %s", strerror(errno));
  cf_csv *c = calloc(1, sizeof *c);
  if (!c) {
    fclose(fp);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  c->fp = fp;
  c->name = strdup(path);
  return open_common(ctx, c, out);
}

int cf_csv_open_text(cf_ctx *ctx, const char *name, const char *text, cf_csv **out) {
  *out = NULL;
  cf_csv *c = calloc(1, sizeof *c);
  if (!c) return cf_error(ctx, CF_ENOMEM, name, "", "out of memory");
  c->text = text;
  c->name = strdup(name);
  return open_common(ctx, c, out);
}

void cf_csv_close(cf_csv *c) {
  if (!c) return;
  if (c->fp) fclose(c->fp);
  for (int i = 0; c->header && i < c->ncols; i++) free(c->header[i]);
  free(c->header);
  free(c->name);
  free(c->buf);
  free(c->starts);
  free(c->fields);
  free(c);
}

const char *cf_csv_name(const cf_csv *c) { return c->name; }
int cf_csv_ncols(const cf_csv *c) { return c->ncols; }
const char *cf_csv_header(const cf_csv *c, int i) { return i >= 0 && i < c->ncols ? c->header[i] : NULL; }

static int same_name(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

int cf_csv_column(const cf_csv *c, const char *name) {
  char *t = trimmed_copy(name);
  int found = -1;
  for (int i = 0; t && i < c->ncols && found < 0; i++)
    if (same_name(c->header[i], t)) found = i;
  free(t);
  return found;
}

int cf_csv_next(cf_ctx *ctx, cf_csv *c, const cf_csv_row **row) {
  *row = NULL;
  int rc = read_record(ctx, c);
  if (rc <= 0) return rc;
  if (c->nstarts != c->ncols)
    return cf_error(ctx, CF_EDATA, c->name, "", "line %ld: %d field%s, but the header has %d columns", c->row.line,
                    c->nstarts, c->nstarts == 1 ? "" : "s", c->ncols);
  if ((rc = check_utf8(ctx, c))) return rc;
  rc = point_fields(ctx, c);
  if (rc) return rc;
  *row = &c->row;
  return 1;
}

int cf_csv_double(cf_ctx *ctx, const cf_csv *c, const cf_csv_row *row, int col, double *v) {
  const char *s = row->fields[col];
  while (*s == ' ' || *s == '\t') s++;
  if (!*s) return 0;
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  while (*end == ' ' || *end == '\t') end++;
  if (end == s || *end || !isfinite(x) || errno == ERANGE)
    return cf_error(ctx, CF_EDATA, c->name, c->header[col], "line %ld: '%s' is not a finite number", row->line,
                    row->fields[col]);
  *v = x;
  return 1;
}

void cf_csv_put_field(cf_strbuf *sb, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    cf_strbuf_puts(sb, s);
    return;
  }
  cf_strbuf_puts(sb, "\"");
  for (const char *p = s; *p; p++) {
    cf_strbuf_putn(sb, p, 1);
    if (*p == '"') cf_strbuf_puts(sb, "\""); /* a quote is doubled */
  }
  cf_strbuf_puts(sb, "\"");
}

void cf_csv_provenance_row_end(cf_strbuf *sb, const char *json_sha256) {
  cf_strbuf_puts(sb, ",");
  cf_csv_put_field(sb, cf_version());
  cf_strbuf_printf(sb, ",%s\r\n", json_sha256);
}
