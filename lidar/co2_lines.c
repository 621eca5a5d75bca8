/*
 * Reading CO2 line lists (lidar/co2_lines.h): the built-in one compiled into
 * the library and users' CSV files, through one parser.
 *
 * The parser is strict because a wrong number here becomes a wrong CO2
 * concentration silently: every column must be present exactly once, every
 * row must have all of them, every number must be a finite number in its
 * physical range, and every row must name its source. It reports each
 * problem with file:line and the column (up to MAX_REPORTED of them, so a
 * wrong file does not flood the log) rather than stopping at the first.
 */
#include "lidar/co2_lines.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  COL_NU,
  COL_S296,
  COL_GAMMA_AIR,
  COL_GAMMA_SELF,
  COL_N_AIR,
  COL_DELTA_AIR,
  COL_E_LOWER,
  COL_SOURCE,
  N_COLS
};

static const char *const column_name[N_COLS] = {"nu_cm",     "S296",  "gamma_air", "gamma_self",
                                                "n_air",     "delta_air", "E_lower", "source"};

/* What each numeric column may hold. */
typedef enum { RANGE_POSITIVE, RANGE_NON_NEGATIVE, RANGE_ANY } value_range;
static const value_range column_range[N_COLS] = {RANGE_POSITIVE,     RANGE_POSITIVE, RANGE_NON_NEGATIVE,
                                                 RANGE_NON_NEGATIVE, RANGE_ANY,      RANGE_ANY,
                                                 RANGE_NON_NEGATIVE, RANGE_ANY};

enum { MAX_FIELDS = 64, MAX_REPORTED = 10 };

static const char BUILTIN_NAME[] = "built-in lidar/co2_lines_1572nm.csv";

typedef struct {
  cf_ctx *ctx;
  const char *name;
  int errors;
} parse_state;

static void report(parse_state *ps, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(parse_state *ps, int line, const char *field, const char *fmt, ...) {
  ps->errors++;
  if (ps->errors > MAX_REPORTED) return;
  char where[512];
  if (line > 0)
    snprintf(where, sizeof where, "%s:%d", ps->name, line);
  else
    snprintf(where, sizeof where, "%s", ps->name);
  va_list ap;
  va_start(ap, fmt);
  cf_errorv(ps->ctx, CF_EDATA, where, field, fmt, ap);
  va_end(ap);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Split one record (NUL-terminated, modified in place) into NUL-terminated
 * fields. Unquoted fields are trimmed of blanks; a field that starts with a
 * double quote runs to the matching quote, with "" standing for one quote.
 * Returns the number of fields, or -1 with *why set. */
static int split_fields(char *rec, char **fields, const char **why) {
  int n = 0;
  char *r = rec, *w = rec; /* read and write positions; w never passes r */
  for (;;) {
    if (n == MAX_FIELDS) {
      *why = "too many fields";
      return -1;
    }
    while (is_blank(*r)) r++;
    fields[n++] = w;
    if (*r == '"') {
      r++;
      for (;;) {
        if (*r == '\0') {
          *why = "a quoted field is not closed on this line";
          return -1;
        }
        if (*r == '"') {
          if (r[1] == '"') {
            *w++ = '"';
            r += 2;
            continue;
          }
          r++;
          break;
        }
        *w++ = *r++;
      }
      while (is_blank(*r)) r++;
      if (*r != ',' && *r != '\0') {
        *why = "text after a closing quote";
        return -1;
      }
    } else {
      char *start = w;
      while (*r != ',' && *r != '\0') *w++ = *r++;
      while (w > start && is_blank(w[-1])) w--;
    }
    int more = (*r == ',');
    *w++ = '\0'; /* may overwrite the comma just read: `more` remembers it */
    if (!more) return n;
    r++;
  }
}

static int parse_value(parse_state *ps, int line, int col, const char *text, double *out) {
  if (text[0] == '\0') {
    report(ps, line, column_name[col], "empty; a number is required");
    return -1;
  }
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || !isfinite(v)) {
    report(ps, line, column_name[col], "'%s' is not a finite number", text);
    return -1;
  }
  if (column_range[col] == RANGE_POSITIVE && !(v > 0)) {
    report(ps, line, column_name[col], "must be > 0, got %s", text);
    return -1;
  }
  if (column_range[col] == RANGE_NON_NEGATIVE && !(v >= 0)) {
    report(ps, line, column_name[col], "must be >= 0, got %s", text);
    return -1;
  }
  *out = v;
  return 0;
}

/* Map header fields to columns: order[i] is the column of field i. */
static int parse_header(parse_state *ps, int line, char **fields, int nf, int *order) {
  int seen[N_COLS] = {0};
  int bad = 0;
  for (int i = 0; i < nf; i++) {
    order[i] = -1;
    for (int c = 0; c < N_COLS; c++)
      if (strcmp(fields[i], column_name[c]) == 0) order[i] = c;
    if (order[i] < 0) {
      report(ps, line, fields[i],
             "unknown column '%s'; expected nu_cm, S296, gamma_air, gamma_self, n_air, "
             "delta_air, E_lower, source",
             fields[i]);
      bad = 1;
    } else if (seen[order[i]]++) {
      report(ps, line, fields[i], "column '%s' appears twice", fields[i]);
      bad = 1;
    }
  }
  for (int c = 0; c < N_COLS; c++)
    if (!seen[c]) {
      report(ps, line, column_name[c], "missing column '%s'", column_name[c]);
      bad = 1;
    }
  return bad ? -1 : 0;
}

static int append_line(cf_co2_linelist *list, size_t *cap, const cf_co2_line *l) {
  if (list->n == *cap) {
    size_t ncap = *cap ? 2 * *cap : 128;
    cf_co2_line *p = realloc(list->lines, ncap * sizeof *p);
    if (!p) return -1;
    list->lines = p;
    *cap = ncap;
  }
  list->lines[list->n++] = *l;
  return 0;
}

void cf_co2_lines_free(cf_co2_linelist *list) {
  if (!list) return;
  for (size_t i = 0; i < list->n; i++) free(list->lines[i].source);
  free(list->lines);
  free(list->origin);
  memset(list, 0, sizeof *list);
}

int cf_co2_lines_parse(cf_ctx *ctx, const char *text, size_t len, const char *name,
                       cf_co2_linelist *out) {
  memset(out, 0, sizeof *out);
  if (!name) name = "line list";
  parse_state ps = {ctx, name, 0};
  char *rec = malloc(len + 1); /* one record at a time, split in place */
  out->origin = malloc(strlen(name) + 1);
  if (!rec || !out->origin) {
    free(rec);
    cf_co2_lines_free(out);
    return cf_error(ctx, CF_ENOMEM, name, "", "out of memory reading the line list");
  }
  strcpy(out->origin, name);

  size_t cap = 0, pos = 0;
  int line = 0, header_fields = 0, nomem = 0; /* header_fields: 0 until the header is read */
  int order[MAX_FIELDS];
  char *fields[MAX_FIELDS];
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* UTF-8 byte-order mark */
  while (pos < len && !nomem) {
    size_t end = pos;
    while (end < len && text[end] != '\n') end++;
    size_t n = end - pos;
    if (n > 0 && text[pos + n - 1] == '\r') n--;
    memcpy(rec, text + pos, n);
    rec[n] = '\0';
    pos = end + 1;
    line++;
    if (strlen(rec) != n) {
      report(&ps, line, "", "contains a NUL byte: not a CSV text file");
      break;
    }
    size_t k = 0;
    while (k < n && is_blank(rec[k])) k++;
    if (k == n) continue; /* blank line */

    const char *why = NULL;
    int nf = split_fields(rec, fields, &why);
    if (nf < 0) {
      report(&ps, line, "", "%s", why);
      if (!header_fields) break;
      continue;
    }
    if (!header_fields) {
      if (parse_header(&ps, line, fields, nf, order) < 0) break;
      header_fields = nf;
      continue;
    }
    if (nf != header_fields) {
      report(&ps, line, "", "%d fields where the header has %d", nf, header_fields);
      continue;
    }
    cf_co2_line l = {0};
    double v[N_COLS] = {0};
    const char *source = NULL;
    int row_bad = 0;
    for (int i = 0; i < nf; i++) {
      int c = order[i];
      if (c == COL_SOURCE) {
        source = fields[i];
        if (source[0] == '\0') {
          report(&ps, line, "source", "empty; every line must name where its values come from");
          row_bad = 1;
        }
      } else if (parse_value(&ps, line, c, fields[i], &v[c]) < 0) {
        row_bad = 1;
      }
    }
    if (row_bad) continue;
    l.nu = v[COL_NU];
    l.s296 = v[COL_S296];
    l.gamma_air = v[COL_GAMMA_AIR];
    l.gamma_self = v[COL_GAMMA_SELF];
    l.n_air = v[COL_N_AIR];
    l.delta_air = v[COL_DELTA_AIR];
    l.e_lower = v[COL_E_LOWER];
    l.source = malloc(strlen(source) + 1);
    if (l.source) strcpy(l.source, source);
    if (!l.source || append_line(out, &cap, &l) < 0) {
      free(l.source);
      nomem = 1;
    }
  }
  free(rec);

  if (nomem) {
    cf_co2_lines_free(out);
    return cf_error(ctx, CF_ENOMEM, name, "", "out of memory reading the line list");
  }
  if (ps.errors == 0 && !header_fields) report(&ps, 0, "", "empty: no header and no lines");
  if (ps.errors == 0 && out->n == 0) report(&ps, 0, "", "the header is not followed by any line");
  if (ps.errors > 0) {
    if (ps.errors > MAX_REPORTED)
      cf_error(ctx, CF_EDATA, name, "", "%d more problems not shown", ps.errors - MAX_REPORTED);
    cf_co2_lines_free(out);
    return cf_error(ctx, CF_EDATA, name, "", "not a valid CO2 line list (%d problem%s)", ps.errors,
                    ps.errors == 1 ? "" : "s");
  }
  return CF_OK;
}

int cf_co2_lines_builtin(cf_ctx *ctx, cf_co2_linelist *out) {
  int rc = cf_co2_lines_parse(ctx, cf_co2_lines_1572nm_csv, cf_co2_lines_1572nm_csv_len,
                              BUILTIN_NAME, out);
  /* Our own table failing to parse is a bug, not a user error. */
  if (rc == CF_EDATA) return cf_error(ctx, CF_EINTERNAL, BUILTIN_NAME, "", "the built-in line list is invalid");
  return rc;
}

int cf_co2_lines_load(cf_ctx *ctx, const char *path, cf_co2_linelist *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "",
                    "cannot open the line list: %s", strerror(errno));
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  int rc = CF_OK;
  while (buf) {
    if (len == cap) {
      char *p = realloc(buf, cap * 2);
      if (!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (!buf)
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory reading the line list");
  else if (ferror(f))
    rc = cf_error(ctx, CF_EIO, path, "", "read failed: %s", strerror(errno));
  fclose(f);
  if (rc == CF_OK) rc = cf_co2_lines_parse(ctx, buf, len, path, out);
  free(buf);
  return rc;
}

const cf_co2_line *cf_co2_lines_nearest(const cf_co2_linelist *list, double nu_cm) {
  const cf_co2_line *best = NULL;
  for (size_t i = 0; i < list->n; i++)
    if (!best || fabs(list->lines[i].nu - nu_cm) < fabs(best->nu - nu_cm)) best = &list->lines[i];
  return best;
}
