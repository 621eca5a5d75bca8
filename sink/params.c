/*
 * Parameter tables (sink/params.h): load, validate, look up, print.
 *
 * Shape: a table is read once, through core/csv (the same reader as the
 * inventories), into an array of owned cell strings plus, for value columns,
 * the parsed numbers (NAN for an empty cell). Validation happens while
 * reading, so a cf_params that exists is entirely valid; lookups afterwards
 * only compare strings and copy numbers. Tables are kept sorted by name so
 * that listings and the choice between same-named files are deterministic.
 */
#include "sink/params.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/csv.h"
#include "sink/params_builtin.h"

static const char BUILTIN[] = "built-in";

/* Unit suffixes of value columns, longest first within a shared ending. */
static const struct {
  const char *suffix, *unit;
} UNITS[] = {
    {"_t_c_per_t_dm", "t C/t d.m."}, {"_t_dm_per_ha", "t d.m./ha"}, {"_t_c_per_ha", "t C/ha"},
    {"_mm_per_yr", "mm/yr"},         {"_g_cm3", "g/cm3"},           {"_t_m3", "t/m3"},
    {"_ratio", "1 (ratio)"},         {"_fraction", "1 (fraction)"}, {"_factor", "1 (factor)"},
    {"_coef", "1 (coefficient)"},    {"_cm", "cm"},                 {"_kg", "kg"},
    {"_m", "m"},
};

struct cf_param_table {
  char *name, *origin;
  int builtin;
  int ncols, nrows;
  char **headers;
  const char **units; /* per column: unit or NULL for text */
  char **cells;       /* nrows * ncols */
  double *nums;       /* nrows * ncols, NAN for text or empty */
  long *lines;
  int col_source, col_checked;
};

struct cf_params {
  cf_param_table **tables;
  int n, cap;
};

static const char *unit_of(const char *header) {
  size_t hl = strlen(header);
  for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++) {
    size_t sl = strlen(UNITS[i].suffix);
    if (hl > sl && !strcasecmp(header + hl - sl, UNITS[i].suffix)) return UNITS[i].unit;
  }
  return NULL;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static void table_free(cf_param_table *t) {
  if (!t) return;
  if (t->cells)
    for (long i = 0; i < (long)t->nrows * t->ncols; i++) free(t->cells[i]);
  if (t->headers)
    for (int i = 0; i < t->ncols; i++) free(t->headers[i]);
  free(t->cells);
  free(t->nums);
  free(t->lines);
  free(t->headers);
  free((void *)t->units);
  free(t->name);
  free(t->origin);
  free(t);
}

void cf_params_free(cf_params *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) table_free(p->tables[i]);
  free(p->tables);
  free(p);
}

/* Append one record's cells to the table, growing the arrays. */
static int add_row(cf_ctx *ctx, cf_param_table *t, int *cap, const cf_csv_row *r) {
  if (t->nrows == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    char **cells = realloc(t->cells, (size_t)nc * (size_t)t->ncols * sizeof *cells);
    if (!cells) return cf_error(ctx, CF_ENOMEM, t->origin, "", "out of memory");
    t->cells = cells;
    double *nums = realloc(t->nums, (size_t)nc * (size_t)t->ncols * sizeof *nums);
    if (!nums) return cf_error(ctx, CF_ENOMEM, t->origin, "", "out of memory");
    t->nums = nums;
    long *lines = realloc(t->lines, (size_t)nc * sizeof *lines);
    if (!lines) return cf_error(ctx, CF_ENOMEM, t->origin, "", "out of memory");
    t->lines = lines;
    *cap = nc;
  }
  long base = (long)t->nrows * t->ncols;
  for (int c = 0; c < t->ncols; c++) {
    t->cells[base + c] = dupstr(r->fields[c]);
    t->nums[base + c] = NAN;
    if (!t->cells[base + c]) {
      for (int k = 0; k < c; k++) free(t->cells[base + k]);
      return cf_error(ctx, CF_ENOMEM, t->origin, "", "out of memory");
    }
  }
  t->lines[t->nrows] = r->line;
  t->nrows++;
  return CF_OK;
}

/* core/csv reports a short row as "line N: K fields, but the header has M
 * columns"; add the column the row lacks, so the message names file, line
 * and column like every other one here. */
static void name_missing_column(cf_ctx *ctx, const cf_param_table *t, const char *label) {
  int n = cf_error_count(ctx);
  if (n < 1) return;
  long line;
  int nf;
  if (sscanf(cf_error_get(ctx, n - 1)->reason, "line %ld: %d field", &line, &nf) != 2 || nf < 1 || nf >= t->ncols)
    return;
  char where[600];
  snprintf(where, sizeof where, "%s:%ld", label, line);
  cf_error(ctx, CF_EDATA, where, t->headers[nf], "the row ends before column '%s' (column %d of %d)", t->headers[nf],
           nf + 1, t->ncols);
}

/* Read and validate one table; `label` names it in messages (the path, or
 * "built-in sink/tables/NAME.csv"). */
static int table_read(cf_ctx *ctx, const char *name, const char *origin, const char *label, const char *text,
                      cf_param_table **out) {
  *out = NULL;
  cf_csv *c = NULL;
  int rc = text ? cf_csv_open_text(ctx, label, text, &c) : cf_csv_open(ctx, label, &c);
  if (rc) return rc;
  cf_param_table *t = calloc(1, sizeof *t);
  if (!t) {
    cf_csv_close(c);
    return cf_error(ctx, CF_ENOMEM, label, "", "out of memory");
  }
  t->name = dupstr(name);
  t->origin = dupstr(origin);
  t->builtin = text != NULL;
  t->ncols = cf_csv_ncols(c);
  t->headers = calloc((size_t)t->ncols, sizeof *t->headers);
  t->units = calloc((size_t)t->ncols, sizeof *t->units);
  if (!t->name || !t->origin || !t->headers || !t->units) {
    rc = cf_error(ctx, CF_ENOMEM, label, "", "out of memory");
    goto fail;
  }
  char where[600];
  snprintf(where, sizeof where, "%s:1", label);
  for (int i = 0; i < t->ncols; i++) {
    const char *h = cf_csv_header(c, i);
    if (!h[0]) {
      rc = cf_error(ctx, CF_EDATA, where, "", "column %d has no name", i + 1);
      goto fail;
    }
    for (int j = 0; j < i; j++)
      if (!strcasecmp(h, t->headers[j])) {
        rc = cf_error(ctx, CF_EDATA, where, h, "column '%s' appears twice (columns %d and %d)", h, j + 1, i + 1);
        goto fail;
      }
    if (!(t->headers[i] = dupstr(h))) {
      rc = cf_error(ctx, CF_ENOMEM, label, "", "out of memory");
      goto fail;
    }
    t->units[i] = unit_of(h);
  }
  t->col_source = cf_csv_column(c, "source");
  t->col_checked = cf_csv_column(c, "checked");
  if (t->col_source < 0 || t->col_checked < 0) {
    const char *miss = t->col_source < 0 ? "source" : "checked";
    rc = cf_error(ctx, CF_EDATA, where, miss,
                  "no '%s' column: every parameter table needs 'source' (where each row's numbers come from) "
                  "and 'checked' (yes/no)",
                  miss);
    goto fail;
  }
  int cap = 0;
  const cf_csv_row *r;
  while ((rc = cf_csv_next(ctx, c, &r)) == 1) {
    snprintf(where, sizeof where, "%s:%ld", label, r->line);
    const char *src = r->fields[t->col_source];
    if (strspn(src, " \t") == strlen(src)) {
      rc = cf_error(ctx, CF_EDATA, where, "source", "the source is empty: say where the row's numbers come from");
      goto fail;
    }
    const char *chk = r->fields[t->col_checked];
    if (strcasecmp(chk, "yes") && strcasecmp(chk, "no")) {
      rc = cf_error(ctx, CF_EDATA, where, "checked", "'%s': checked is yes or no", chk);
      goto fail;
    }
    if ((rc = add_row(ctx, t, &cap, r))) goto fail;
    long base = (long)(t->nrows - 1) * t->ncols;
    for (int i = 0; i < t->ncols; i++) {
      double v;
      int k = t->units[i] ? cf_csv_double(ctx, c, r, i, &v) : 0; /* 0: empty, not given */
      if (k < 0) {
        rc = k;
        goto fail;
      }
      if (k == 1) t->nums[base + i] = v;
    }
  }
  if (rc == CF_EDATA) name_missing_column(ctx, t, label);
  if (rc < 0) goto fail;
  if (t->nrows == 0) {
    rc = cf_error(ctx, CF_EDATA, label, "", "the table has a header but no rows");
    goto fail;
  }
  cf_csv_close(c);
  *out = t;
  return CF_OK;
fail:
  cf_csv_close(c);
  table_free(t);
  cf_error(ctx, rc, label, "", "parameter table '%s' not loaded", name);
  return rc;
}

static int find_index(const cf_params *p, const char *name) {
  for (int i = 0; i < p->n; i++)
    if (!strcmp(p->tables[i]->name, name)) return i;
  return -1;
}

/* Insert in name order. */
static int params_add(cf_ctx *ctx, cf_params *p, cf_param_table *t) {
  if (p->n == p->cap) {
    int nc = p->cap ? 2 * p->cap : 16;
    cf_param_table **tt = realloc(p->tables, (size_t)nc * sizeof *tt);
    if (!tt) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    p->tables = tt;
    p->cap = nc;
  }
  int at = p->n;
  while (at > 0 && strcmp(p->tables[at - 1]->name, t->name) > 0) at--;
  memmove(p->tables + at + 1, p->tables + at, (size_t)(p->n - at) * sizeof *p->tables);
  p->tables[at] = t;
  p->n++;
  return CF_OK;
}

static int has_csv_suffix(const char *s) {
  size_t n = strlen(s);
  return n > 4 && !strcasecmp(s + n - 4, ".csv");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Load every *.csv of one user directory (in name order). */
static int load_dir(cf_ctx *ctx, cf_params *p, const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return cf_error(ctx, CF_ENOENT, dir, "CARBONFLUX_PARAMS", "not a directory (%s)",
                    stat(dir, &sb) != 0 ? strerror(errno) : "a file");
  DIR *d = opendir(dir);
  if (!d) return cf_error(ctx, CF_EIO, dir, "CARBONFLUX_PARAMS", "cannot list: %s", strerror(errno));
  char **names = NULL;
  int n = 0, cap = 0, rc = CF_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !has_csv_suffix(e->d_name)) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      char **nn = realloc(names, (size_t)cap * sizeof *nn);
      if (!nn) {
        rc = cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
        break;
      }
      names = nn;
    }
    if (!(names[n] = dupstr(e->d_name))) {
      rc = cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
      break;
    }
    n++;
  }
  closedir(d);
  if (!rc) qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n && !rc; i++) {
    char name[256], path[4096];
    size_t nl = strlen(names[i]) - 4;
    if (nl >= sizeof name) continue;
    memcpy(name, names[i], nl);
    name[nl] = '\0';
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    int at = find_index(p, name);
    if (at >= 0 && !p->tables[at]->builtin) {
      cf_log(ctx, CF_LOG_WARN, "params: %s ignored: table '%s' already comes from %s (earlier in CARBONFLUX_PARAMS)",
             path, name, p->tables[at]->origin);
      continue;
    }
    cf_param_table *t;
    if ((rc = table_read(ctx, name, path, path, NULL, &t))) break;
    if (at >= 0) {
      cf_log(ctx, CF_LOG_INFO, "params: user table %s replaces the built-in table '%s'", path, name);
      table_free(p->tables[at]);
      p->tables[at] = t;
    } else {
      cf_log(ctx, CF_LOG_INFO, "params: user table '%s' from %s", name, path);
      if ((rc = params_add(ctx, p, t))) table_free(t);
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

int cf_params_load_from(cf_ctx *ctx, const char *dirs, cf_params **out) {
  *out = NULL;
  cf_params *p = calloc(1, sizeof *p);
  if (!p) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  int rc = CF_OK;
  for (int i = 0; cf_params_builtin[i].name && !rc; i++) {
    char label[300];
    snprintf(label, sizeof label, "built-in sink/tables/%s.csv", cf_params_builtin[i].name);
    cf_param_table *t;
    rc = table_read(ctx, cf_params_builtin[i].name, BUILTIN, label, cf_params_builtin[i].text, &t);
    if (!rc && (rc = params_add(ctx, p, t))) table_free(t);
  }
  if (!rc && dirs && dirs[0]) {
    char *list = dupstr(dirs);
    if (!list) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    for (char *s = list, *next; s && !rc; s = next) {
      next = strchr(s, ':');
      if (next) *next++ = '\0';
      if (!s[0]) continue; /* "a::b" or a trailing colon */
      rc = load_dir(ctx, p, s);
    }
    free(list);
  }
  if (rc) {
    cf_params_free(p);
    return rc;
  }
  *out = p;
  return CF_OK;
}

int cf_params_load(cf_ctx *ctx, cf_params **out) {
  return cf_params_load_from(ctx, getenv("CARBONFLUX_PARAMS"), out);
}

/* --- access --------------------------------------------------------------- */

int cf_params_count(const cf_params *p) { return p->n; }
const cf_param_table *cf_params_at(const cf_params *p, int i) { return i >= 0 && i < p->n ? p->tables[i] : NULL; }
const cf_param_table *cf_params_table(const cf_params *p, const char *name) {
  int i = find_index(p, name);
  return i < 0 ? NULL : p->tables[i];
}

static void known_tables(const cf_params *p, char *buf, size_t n) {
  buf[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < p->n && used + 1 < n; i++) {
    int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", p->tables[i]->name);
    if (k < 0) break;
    used += (size_t)k;
  }
}

int cf_params_find(cf_ctx *ctx, const cf_params *p, const char *name, const cf_param_table **out) {
  *out = cf_params_table(p, name);
  if (*out) return CF_OK;
  char known[2048];
  known_tables(p, known, sizeof known);
  return cf_error(ctx, CF_EINVAL, "params", "table", "no parameter table '%s' (tables: %s)", name, known);
}

const char *cf_param_table_name(const cf_param_table *t) { return t->name; }
const char *cf_param_table_origin(const cf_param_table *t) { return t->origin; }
int cf_param_table_is_builtin(const cf_param_table *t) { return t->builtin; }
int cf_param_table_rows(const cf_param_table *t) { return t->nrows; }
int cf_param_table_cols(const cf_param_table *t) { return t->ncols; }
const char *cf_param_table_header(const cf_param_table *t, int col) {
  return col >= 0 && col < t->ncols ? t->headers[col] : NULL;
}
int cf_param_table_column(const cf_param_table *t, const char *name) {
  for (int i = 0; i < t->ncols; i++)
    if (!strcasecmp(t->headers[i], name)) return i;
  return -1;
}
const char *cf_param_table_unit(const cf_param_table *t, int col) {
  return col >= 0 && col < t->ncols ? t->units[col] : NULL;
}
const char *cf_param_table_text(const cf_param_table *t, int row, int col) {
  if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols) return "";
  return t->cells[(long)row * t->ncols + col];
}
double cf_param_table_value(const cf_param_table *t, int row, int col) {
  if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols) return NAN;
  return t->nums[(long)row * t->ncols + col];
}
long cf_param_table_line(const cf_param_table *t, int row) {
  return row >= 0 && row < t->nrows ? t->lines[row] : 0;
}

int cf_param_table_find_row(cf_ctx *ctx, const cf_param_table *t, int nkeys, const char *const *cols,
                            const char *const *vals, int *row) {
  *row = -1;
  int idx[16];
  if (nkeys < 1 || nkeys > 16) return cf_error(ctx, CF_EINVAL, t->name, "", "give 1 to 16 key columns, not %d", nkeys);
  char key[1024];
  size_t used = 0;
  key[0] = '\0';
  for (int k = 0; k < nkeys; k++) {
    idx[k] = cf_param_table_column(t, cols[k]);
    if (idx[k] < 0)
      return cf_error(ctx, CF_EINVAL, t->origin, cols[k], "table '%s' has no column '%s'", t->name, cols[k]);
    int w = snprintf(key + used, sizeof key - used, "%s%s=%s", k ? ", " : "", cols[k], vals[k]);
    if (w > 0 && (size_t)w < sizeof key - used) used += (size_t)w;
  }
  for (int r = 0; r < t->nrows; r++) {
    int match = 1;
    for (int k = 0; k < nkeys && match; k++)
      match = !strcasecmp(t->cells[(long)r * t->ncols + idx[k]], vals[k]);
    if (!match) continue;
    if (*row >= 0) {
      char where[600];
      snprintf(where, sizeof where, "%s:%ld", t->origin, t->lines[r]);
      return cf_error(ctx, CF_EDATA, where, cols[0], "table '%s': more than one row for %s (also line %ld)", t->name,
                      key, t->lines[*row]);
    }
    *row = r;
  }
  if (*row < 0) return cf_error(ctx, CF_ENOENT, t->origin, cols[0], "table '%s' has no row for %s", t->name, key);
  return CF_OK;
}

int cf_param_table_find_class(cf_ctx *ctx, const cf_param_table *t, int nkeys, const char *const *cols,
                              const char *const *vals, int nvars, const char *const *min_cols,
                              const char *const *max_cols, const double *x, int *row) {
  *row = -1;
  int idx[16], lo[8], hi[8];
  if (nkeys < 0 || nkeys > 16 || nvars < 0 || nvars > 8)
    return cf_error(ctx, CF_EINVAL, t->name, "", "at most 16 keys and 8 class variables");
  char key[1024];
  size_t used = 0;
  key[0] = '\0';
  for (int k = 0; k < nkeys; k++) {
    idx[k] = cf_param_table_column(t, cols[k]);
    if (idx[k] < 0)
      return cf_error(ctx, CF_EINVAL, t->origin, cols[k], "table '%s' has no column '%s'", t->name, cols[k]);
    int w = snprintf(key + used, sizeof key - used, "%s%s=%s", used ? ", " : "", cols[k], vals[k]);
    if (w > 0 && (size_t)w < sizeof key - used) used += (size_t)w;
  }
  for (int v = 0; v < nvars; v++) {
    lo[v] = cf_param_table_column(t, min_cols[v]);
    hi[v] = cf_param_table_column(t, max_cols[v]);
    const char *bad = lo[v] < 0 || !t->units[lo[v]] ? min_cols[v] : hi[v] < 0 || !t->units[hi[v]] ? max_cols[v] : NULL;
    if (bad)
      return cf_error(ctx, CF_EINVAL, t->origin, bad, "table '%s' has no value column '%s'", t->name, bad);
    int w = snprintf(key + used, sizeof key - used, "%s%s..%s=%g", used ? ", " : "", min_cols[v], max_cols[v], x[v]);
    if (w > 0 && (size_t)w < sizeof key - used) used += (size_t)w;
  }
  for (int r = 0; r < t->nrows; r++) {
    int match = 1;
    for (int k = 0; k < nkeys && match; k++) match = !strcasecmp(t->cells[(long)r * t->ncols + idx[k]], vals[k]);
    for (int v = 0; v < nvars && match; v++) {
      double a = t->nums[(long)r * t->ncols + lo[v]], b = t->nums[(long)r * t->ncols + hi[v]];
      match = !isnan(x[v]) && (isnan(a) || x[v] >= a) && (isnan(b) || x[v] < b);
    }
    if (!match) continue;
    if (*row >= 0) {
      char where[600];
      snprintf(where, sizeof where, "%s:%ld", t->origin, t->lines[r]);
      return cf_error(ctx, CF_EDATA, where, "", "table '%s': classes overlap: lines %ld and %ld both hold %s", t->name,
                      t->lines[*row], t->lines[r], key);
    }
    *row = r;
  }
  if (*row < 0) return cf_error(ctx, CF_ENOENT, t->origin, "", "table '%s' has no row for %s", t->name, key);
  return CF_OK;
}

int cf_param_table_number(cf_ctx *ctx, const cf_param_table *t, int row, const char *col, cf_param_value *out) {
  int c = cf_param_table_column(t, col);
  if (c < 0) return cf_error(ctx, CF_EINVAL, t->origin, col, "table '%s' has no column '%s'", t->name, col);
  if (!t->units[c])
    return cf_error(ctx, CF_EINVAL, t->origin, col, "column '%s' of table '%s' is text, not a value with a unit", col,
                    t->name);
  if (row < 0 || row >= t->nrows) return cf_error(ctx, CF_EINVAL, t->origin, col, "no row %d", row);
  double v = t->nums[(long)row * t->ncols + c];
  char where[600];
  snprintf(where, sizeof where, "%s:%ld", t->origin, t->lines[row]);
  if (isnan(v)) return cf_error(ctx, CF_ENOENT, where, col, "table '%s' gives no value here (empty cell)", t->name);
  out->value = v;
  out->unit = t->units[c];
  out->source = t->cells[(long)row * t->ncols + t->col_source];
  out->checked = !strcasecmp(t->cells[(long)row * t->ncols + t->col_checked], "yes");
  out->table = t->name;
  out->origin = t->origin;
  out->line = t->lines[row];
  return CF_OK;
}

int cf_params_get(cf_ctx *ctx, const cf_params *p, const char *table, const char *keycol, const char *key,
                  const char *col, cf_param_value *out) {
  const cf_param_table *t;
  int rc = cf_params_find(ctx, p, table, &t), row;
  if (!rc) rc = cf_param_table_find_row(ctx, t, 1, &keycol, &key, &row);
  if (!rc) rc = cf_param_table_number(ctx, t, row, col, out);
  return rc;
}

/* --- printing ------------------------------------------------------------- */

static void print_list(const cf_params *p, FILE *out) {
  fprintf(out, "Parameter tables (name, rows, columns, origin), each with its sources\n");
  fprintf(out, "(user tables from CARBONFLUX_PARAMS replace built-in ones of the same name)\n\n");
  for (int i = 0; i < p->n; i++) {
    const cf_param_table *t = p->tables[i];
    fprintf(out, "%-26s %3d rows %2d columns  %s\n", t->name, t->nrows, t->ncols, t->origin);
    int unchecked = 0;
    for (int r = 0; r < t->nrows; r++) {
      const char *src = t->cells[(long)r * t->ncols + t->col_source];
      int seen = 0;
      for (int q = 0; q < r && !seen; q++) seen = !strcmp(src, t->cells[(long)q * t->ncols + t->col_source]);
      if (!seen) fprintf(out, "    source: %s\n", src);
      unchecked += !strcasecmp(t->cells[(long)r * t->ncols + t->col_checked], "no");
    }
    fprintf(out, "    checked against the source: %d of %d rows\n", t->nrows - unchecked, t->nrows);
  }
}

static void print_table(const cf_param_table *t, FILE *out) {
  fprintf(out, "%s: %d rows, from %s\n\nColumns:\n", t->name, t->nrows, t->origin);
  for (int c = 0; c < t->ncols; c++)
    fprintf(out, "  %-26s %s\n", t->headers[c], t->units[c] ? t->units[c] : "text");
  fprintf(out, "\nRows:\n");
  for (int r = 0; r < t->nrows; r++) {
    fprintf(out, "line %ld:", t->lines[r]);
    const char *sep = " ";
    for (int c = 0; c < t->ncols; c++) {
      if (c == t->col_source || c == t->col_checked || !strcasecmp(t->headers[c], "note")) continue;
      const char *v = t->cells[(long)r * t->ncols + c];
      if (!v[0]) continue;
      if (t->units[c])
        fprintf(out, "%s%s=%.10g %s", sep, t->headers[c], t->nums[(long)r * t->ncols + c], t->units[c]);
      else
        fprintf(out, "%s%s=%s", sep, t->headers[c], v);
      sep = "; ";
    }
    fprintf(out, "\n    source: %s\n    checked: %s\n", t->cells[(long)r * t->ncols + t->col_source],
            t->cells[(long)r * t->ncols + t->col_checked]);
    int nc = cf_param_table_column(t, "note");
    const char *note = nc >= 0 ? t->cells[(long)r * t->ncols + nc] : "";
    if (note[0]) fprintf(out, "    note: %s\n", note);
  }
}

int cf_params_print(cf_ctx *ctx, const cf_params *p, const char *table, FILE *out) {
  if (!table) {
    print_list(p, out);
    return CF_OK;
  }
  const cf_param_table *t;
  int rc = cf_params_find(ctx, p, table, &t);
  if (rc) return rc;
  print_table(t, out);
  return CF_OK;
}
