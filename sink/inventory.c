/*
 * The inventory options (the column mapping, years, status vocabulary),
 * the helpers the three readers share, the cross-checks between trees,
 * plots and strata, and the per-plot totals. See inventory.h for why the
 * mapping and the checks are shaped as they are.
 */
#include "sink/inventory.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/strbuf.h"
#include "sink/inventory_internal.h"

static const char *const FIELD_NAMES[CF_INV_NFIELDS] = {
    "plot",     "dbh_cm",  "species",   "height_m",        "status", "wood_density_g_cm3",
    "nest",     "year",    "in_plot",   "subplot",         "stratum", "area_ha",
    "radius_m", "slope_deg", "agb_t_dm_per_ha", "lon",     "lat",    "soc_ref_t_c_per_ha",
    "f_lu",     "f_mg",    "f_in",      "years_since_planting", "ecozone"};

const char *cf_inv_field_name(cf_inv_field f) {
  return (f >= 0 && f < CF_INV_NFIELDS) ? FIELD_NAMES[f] : "?";
}

/* ForestGEO's dead codes, as the TEMPEST inventory uses them. */
static const char *const DEFAULT_DEAD[] = {"DS", "DC", "DN"};

void cf_inv_options_init(cf_inv_options *o) {
  memset(o, 0, sizeof *o);
  for (size_t i = 0; i < sizeof DEFAULT_DEAD / sizeof *DEFAULT_DEAD; i++)
    o->dead_codes[o->ndead++] = strdup(DEFAULT_DEAD[i]); /* NULL on OOM: matched as absent */
}

static void free_codes(char **codes, int *n) {
  for (int i = 0; i < *n; i++) free(codes[i]);
  *n = 0;
}

void cf_inv_options_free(cf_inv_options *o) {
  if (!o) return;
  for (int i = 0; i < CF_INV_NFIELDS; i++) free(o->header[i]);
  free_codes(o->live_codes, &o->nlive);
  free_codes(o->dead_codes, &o->ndead);
  free(o->stratum_field);
  memset(o, 0, sizeof *o);
}

/* One KEY=VALUE word of cf_inv_options_record, as a JSON string after a ','. */
static void word(cf_strbuf *sb, const char *key, const char *value) {
  cf_strbuf w;
  cf_strbuf_init(&w);
  cf_strbuf_printf(&w, "%s=%s", key, value);
  cf_strbuf_puts(sb, ",");
  cf_strbuf_json_string(sb, cf_strbuf_str(&w));
  cf_strbuf_free(&w);
}

static void list_word(cf_strbuf *sb, const char *key, char *const *codes, const int *years, int n) {
  if (!n) return;
  cf_strbuf v;
  cf_strbuf_init(&v);
  for (int i = 0; i < n; i++) {
    if (i) cf_strbuf_puts(&v, ",");
    if (codes)
      cf_strbuf_puts(&v, codes[i] ? codes[i] : "");
    else
      cf_strbuf_printf(&v, "%d", years[i]);
  }
  word(sb, key, cf_strbuf_str(&v));
  cf_strbuf_free(&v);
}

/* The words are the KEY=VALUE texts cf_inv_options_set reads back; none
 * overrides another, so their order does not matter. */
int cf_inv_options_record(cf_ctx *ctx, const cf_inv_options *o, char **json) {
  cf_inv_options none;
  cf_inv_options_init(&none);
  if (!o) o = &none;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  for (int f = 0; f < CF_INV_NFIELDS; f++) {
    if (!o->header[f]) continue;
    char key[64];
    snprintf(key, sizeof key, "col.%s", FIELD_NAMES[f]);
    word(&sb, key, o->header[f]);
  }
  list_word(&sb, "years", NULL, o->years, o->nyears);
  list_word(&sb, "live_codes", o->live_codes, NULL, o->nlive);
  list_word(&sb, "dead_codes", o->dead_codes, NULL, o->ndead);
  if (o->stratum_field) word(&sb, "stratum_field", o->stratum_field);
  cf_inv_options_free(&none);
  char *words = cf_strbuf_take(&sb); /* ",w1,w2": each word comes with its ',' */
  size_t n = words ? strlen(words) : 0;
  *json = words ? malloc(n + 3) : NULL;
  if (*json) snprintf(*json, n + 3, "[%s]", n ? words + 1 : "");
  free(words);
  return *json ? CF_OK : cf_error(ctx, CF_ENOMEM, "options", "", "out of memory");
}

static int field_from_name(const char *s) {
  for (int i = 0; i < CF_INV_NFIELDS; i++)
    if (strcasecmp(s, FIELD_NAMES[i]) == 0) return i;
  return -1;
}

int cf_inv_option_known(const char *key) {
  if (!key) return 0;
  if (strncasecmp(key, "col.", 4) == 0) return field_from_name(key + 4) >= 0;
  return strcasecmp(key, "years") == 0 || strcasecmp(key, "live_codes") == 0 ||
         strcasecmp(key, "dead_codes") == 0 || strcasecmp(key, "stratum_field") == 0;
}

int cf_inv_blank(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return *s == '\0';
}

char *cf_inv_strdup_trim(const char *s, int blank_null, int *oom) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 && blank_null) return NULL;
  char *d = malloc(n + 1);
  if (!d) {
    *oom = 1;
    return NULL;
  }
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

int cf_inv_parse_year(cf_ctx *ctx, const char *where, const char *field, long line, const char *s, int *year) {
  while (*s == ' ' || *s == '\t') s++;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  while (*end == ' ' || *end == '\t') end++;
  if (end == s || *end || errno || v < 1000 || v > 3000) {
    if (line > 0)
      return cf_error(ctx, CF_EDATA, where, field, "line %ld: '%s' is not a year (1000..3000)", line, s);
    return cf_error(ctx, CF_EINVAL, where, field, "'%s' is not a year (1000..3000)", s);
  }
  *year = (int)v;
  return CF_OK;
}

/* Split a comma list into trimmed, non-empty items. */
static int set_codes(cf_ctx *ctx, const char *key, const char *val, char **codes, int *n) {
  free_codes(codes, n);
  const char *p = val;
  while (*p) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    char tmp[256];
    if (len >= sizeof tmp) return cf_error(ctx, CF_EINVAL, "options", key, "a code is too long");
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    int oom = 0;
    char *c = cf_inv_strdup_trim(tmp, 1, &oom);
    if (oom) return cf_error(ctx, CF_ENOMEM, "options", key, "out of memory");
    if (!c) return cf_error(ctx, CF_EINVAL, "options", key, "empty code in '%s'", val);
    if (*n == CF_INV_MAX_CODES) {
      free(c);
      return cf_error(ctx, CF_EINVAL, "options", key, "more than %d codes", CF_INV_MAX_CODES);
    }
    codes[(*n)++] = c;
    p = q ? q + 1 : p + len;
  }
  if (*n == 0) return cf_error(ctx, CF_EINVAL, "options", key, "needs at least one code");
  return CF_OK;
}

int cf_inv_options_set(cf_ctx *ctx, cf_inv_options *o, const char *kv) {
  const char *eq = kv ? strchr(kv, '=') : NULL;
  if (!eq || eq == kv)
    return cf_error(ctx, CF_EINVAL, "options", kv ? kv : "", "expected KEY=VALUE, got '%s'", kv ? kv : "");
  char key[128];
  size_t klen = (size_t)(eq - kv);
  if (klen >= sizeof key) return cf_error(ctx, CF_EINVAL, "options", "", "key too long in '%s'", kv);
  memcpy(key, kv, klen);
  key[klen] = '\0';
  const char *val = eq + 1;
  if (cf_inv_blank(val)) return cf_error(ctx, CF_EINVAL, "options", key, "empty value");
  if (strncasecmp(key, "col.", 4) == 0) {
    int f = field_from_name(key + 4);
    if (f < 0)
      return cf_error(ctx, CF_EINVAL, "options", key,
                      "'%s' is not an inventory field (plot, dbh_cm, species, height_m, status, "
                      "wood_density_g_cm3, nest, year, in_plot, subplot, stratum, area_ha, radius_m, "
                      "slope_deg, agb_t_dm_per_ha, lon, lat, soc_ref_t_c_per_ha, f_lu, f_mg, f_in, "
                      "years_since_planting, ecozone)",
                      key + 4);
    if ((f == CF_INV_YEAR || f == CF_INV_PLOT || f == CF_INV_SUBPLOT || f == CF_INV_IN_PLOT) &&
        strstr(val, "{year}"))
      return cf_error(ctx, CF_EINVAL, "options", key, "{year} cannot appear in the %s column's name",
                      FIELD_NAMES[f]);
    int oom = 0;
    char *h = cf_inv_strdup_trim(val, 0, &oom);
    if (!h) return cf_error(ctx, CF_ENOMEM, "options", key, "out of memory");
    free(o->header[f]);
    o->header[f] = h;
    return CF_OK;
  }
  if (strcasecmp(key, "years") == 0) {
    int n = 0;
    const char *p = val;
    while (*p) {
      const char *q = strchr(p, ',');
      size_t len = q ? (size_t)(q - p) : strlen(p);
      char tmp[32];
      if (len >= sizeof tmp || n == CF_INV_MAX_YEARS)
        return cf_error(ctx, CF_EINVAL, "options", key, "'%s' is not a list of at most %d years", val,
                        CF_INV_MAX_YEARS);
      memcpy(tmp, p, len);
      tmp[len] = '\0';
      int y;
      int rc = cf_inv_parse_year(ctx, "options", key, 0, tmp, &y);
      if (rc) return rc;
      for (int i = 0; i < n; i++)
        if (o->years[i] == y) return cf_error(ctx, CF_EINVAL, "options", key, "year %d listed twice", y);
      o->years[n++] = y;
      p = q ? q + 1 : p + len;
    }
    o->nyears = n;
    return CF_OK;
  }
  if (strcasecmp(key, "live_codes") == 0) return set_codes(ctx, key, val, o->live_codes, &o->nlive);
  if (strcasecmp(key, "dead_codes") == 0) return set_codes(ctx, key, val, o->dead_codes, &o->ndead);
  if (strcasecmp(key, "stratum_field") == 0) {
    int oom = 0;
    char *s = cf_inv_strdup_trim(val, 0, &oom);
    if (!s) return cf_error(ctx, CF_ENOMEM, "options", key, "out of memory");
    free(o->stratum_field);
    o->stratum_field = s;
    return CF_OK;
  }
  return cf_error(ctx, CF_EINVAL, "options", key,
                  "unknown inventory setting (col.FIELD, years, live_codes, dead_codes, stratum_field)");
}

int cf_inv_options_parse(cf_ctx *ctx, cf_inv_options *o, int n, const char *const *kv) {
  for (int i = 0; i < n; i++) {
    int rc = cf_inv_options_set(ctx, o, kv[i]);
    if (rc) return rc;
  }
  return CF_OK;
}

/* --- helpers for the readers ------------------------------------------------ */

const char *cf_inv_header_for(const cf_inv_options *o, cf_inv_field f, int year, char *buf, size_t n) {
  const char *h = o && o->header[f] ? o->header[f] : FIELD_NAMES[f];
  size_t k = 0;
  for (const char *p = h; *p && k + 1 < n;) {
    if (year && strncmp(p, "{year}", 6) == 0) {
      int w = snprintf(buf + k, n - k, "%d", year);
      if (w < 0 || (size_t)w >= n - k) break;
      k += (size_t)w;
      p += 6;
    } else {
      buf[k++] = *p++;
    }
  }
  buf[k] = '\0';
  return buf;
}

int cf_inv_is_wide(const cf_inv_options *o, cf_inv_field f) {
  return o && o->header[f] && strstr(o->header[f], "{year}") != NULL;
}

int cf_inv_column(const cf_csv *c, const cf_inv_options *o, cf_inv_field f, int year, char *looked,
                  size_t n) {
  cf_inv_header_for(o, f, year, looked, n);
  int col = cf_csv_column(c, looked);
  if (col < 0 && o && o->header[f] && !cf_inv_is_wide(o, f)) col = cf_csv_column(c, FIELD_NAMES[f]);
  return col;
}

int cf_inv_missing_column(cf_ctx *ctx, const cf_csv *c, const cf_inv_options *o, cf_inv_field f, const char *looked) {
  char list[400];
  size_t k = 0;
  list[0] = '\0';
  for (int i = 0; i < cf_csv_ncols(c) && k + 1 < sizeof list; i++) {
    int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", cf_csv_header(c, i));
    if (w < 0 || (size_t)w >= sizeof list - k) {
      snprintf(list + (sizeof list - 5), 5, "...");
      break;
    }
    k += (size_t)w;
  }
  /* the mapping in the form the user writes it where they are */
  char map[160];
  if (o && o->pipeline_form)
    snprintf(map, sizeof map, "the stage's 'columns: [%s=HEADER]'", FIELD_NAMES[f]);
  else
    snprintf(map, sizeof map, "col.%s=HEADER", FIELD_NAMES[f]);
  if (strcasecmp(looked, FIELD_NAMES[f]) != 0)
    return cf_error(ctx, CF_EDATA, cf_csv_name(c), FIELD_NAMES[f],
                    "line 1: no column '%s' (mapped by %s) nor '%s'; the header has: %s", looked, map, FIELD_NAMES[f],
                    list);
  return cf_error(ctx, CF_EDATA, cf_csv_name(c), FIELD_NAMES[f],
                  "line 1: column '%s' is missing (name another with %s); the header has: %s", FIELD_NAMES[f], map,
                  list);
}

int cf_inv_number(cf_ctx *ctx, const cf_csv *c, const cf_csv_row *r, int col, cf_inv_field f, double lo,
                  int lo_open, double hi, const char *unit, const char *what, double *v) {
  *v = NAN;
  if (col < 0) return 0;
  double x;
  int rc = cf_csv_double(ctx, c, r, col, &x);
  if (rc <= 0) {
    if (rc < 0) /* the csv frame names the header; add the contract field */
      return cf_error(ctx, rc, cf_csv_name(c), FIELD_NAMES[f], "line %ld: %s is not a number", r->line,
                      cf_csv_header(c, col));
    return 0;
  }
  if ((lo_open ? !(x > lo) : !(x >= lo)) || !(x <= hi)) {
    char hdr[160] = "";
    if (strcasecmp(cf_csv_header(c, col), FIELD_NAMES[f]) != 0)
      snprintf(hdr, sizeof hdr, " (column %s)", cf_csv_header(c, col));
    return cf_error(ctx, CF_EDATA, cf_csv_name(c), FIELD_NAMES[f],
                    "line %ld: %g%s%s is not %s (%g %s %s <= %g%s%s)%s", r->line, x, *unit ? " " : "", unit,
                    what, lo, lo_open ? "<" : "<=", FIELD_NAMES[f], hi, *unit ? " " : "", unit, hdr);
  }
  *v = x;
  return 1;
}

int cf_inv_next(cf_ctx *ctx, cf_csv *c, const cf_csv_row **row) {
  int got = cf_csv_next(ctx, c, row);
  if (got != CF_EDATA) return got;
  const cf_error_frame *e = cf_error_get(ctx, cf_error_count(ctx) - 1);
  long line;
  int nf;
  /* core/csv's wording: "line L: K field(s), but the header has N columns" */
  if (e && sscanf(e->reason, "line %ld: %d field", &line, &nf) == 2 && nf >= 0 && nf < cf_csv_ncols(c))
    return cf_error(ctx, CF_EDATA, cf_csv_name(c), cf_csv_header(c, nf), "line %ld: the row ends before column %s",
                    line, cf_csv_header(c, nf));
  return got;
}

int cf_inv_hash(cf_ctx *ctx, const char *path, char hex[CF_SHA256_HEX_LEN]) {
  hex[0] = '\0';
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return CF_OK;
  return cf_sha256_file(ctx, path, hex);
}

/* --- cross-checks ---------------------------------------------------------- */

/* qsort has no user pointer in C11: sort (id, year, index) triples instead. */
typedef struct {
  const char *id;
  int year;
  long row;
} plot_key;

static int cmp_plot_key(const void *a, const void *b) {
  const plot_key *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c) return c;
  if (x->year != y->year) return x->year < y->year ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* First key with id >= `id`. */
static size_t lower_bound(const plot_key *k, size_t n, const char *id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(k[mid].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int cf_inventory_link(cf_ctx *ctx, cf_trees *trees, const cf_plots *plots, const cf_strata *strata) {
  if (!plots) return cf_error(ctx, CF_EINVAL, "inventory", "plots", "a plots table is required");
  plot_key *k = malloc((plots->n ? plots->n : 1) * sizeof *k);
  if (!k) return cf_error(ctx, CF_ENOMEM, plots->path, "", "out of memory");
  for (size_t i = 0; i < plots->n; i++) k[i] = (plot_key){plots->p[i].plot, plots->p[i].year, (long)i};
  qsort(k, plots->n, sizeof *k, cmp_plot_key);
  int rc = CF_OK;
  for (size_t i = 1; i < plots->n && !rc; i++) {
    if (strcmp(k[i - 1].id, k[i].id) != 0) continue;
    const cf_plot *a = &plots->p[k[i - 1].row], *b = &plots->p[k[i].row];
    if (a->year == b->year || a->year == 0 || b->year == 0) {
      const cf_plot *first = a->line < b->line ? a : b, *second = a->line < b->line ? b : a;
      char yr[32] = "";
      if (a->year == b->year && a->year) snprintf(yr, sizeof yr, " for year %d", a->year);
      rc = cf_error(ctx, CF_EDATA, plots->path, "plot",
                    "line %ld: plot '%s' is given twice%s (first on line %ld)%s", second->line, second->plot, yr,
                    first->line,
                    a->year != b->year ? "; a row without a year holds for every year" : "");
    }
  }
  if (!rc && strata) {
    for (size_t i = 0; i < plots->n && !rc; i++)
      if (cf_strata_find(strata, plots->p[i].stratum) < 0)
        rc = cf_error(ctx, CF_EDATA, plots->path, "stratum", "line %ld: plot '%s' is in stratum '%s', which is not in %s",
                      plots->p[i].line, plots->p[i].plot, plots->p[i].stratum, strata->path);
  }
  for (size_t i = 0; trees && i < trees->n && !rc; i++) {
    cf_tree *t = &trees->t[i];
    t->plot_row = -1;
    size_t lo = lower_bound(k, plots->n, t->plot), hi = lo;
    while (hi < plots->n && strcmp(k[hi].id, t->plot) == 0) hi++;
    if (lo == hi && t->subplot_blank) { /* the reason is the empty subplot, not the plot */
      rc = cf_error(ctx, CF_EDATA, trees->path, "subplot",
                    "line %ld: the %s (col.subplot) is empty, so the stem's plot id is '%s' alone, which is not in the "
                    "plots table %s (ids there are PLOT/%s); fill in the row's %s, or read whole plots without "
                    "col.subplot",
                    t->line, trees->subplot_header ? trees->subplot_header : "subplot", t->plot, plots->path,
                    trees->subplot_header ? trees->subplot_header : "SUBPLOT",
                    trees->subplot_header ? trees->subplot_header : "subplot");
      break;
    }
    if (lo == hi) {
      rc = cf_error(ctx, CF_EDATA, trees->path, "plot", "line %ld: plot '%s' is not in the plots table %s", t->line,
                    t->plot, plots->path);
      break;
    }
    long any = -1;
    for (size_t j = lo; j < hi; j++) {
      if (k[j].year == t->year) t->plot_row = k[j].row;
      if (k[j].year == 0) any = k[j].row;
    }
    if (t->plot_row < 0) t->plot_row = any;
    if (t->plot_row < 0 && t->year == 0 && hi - lo == 1) t->plot_row = k[lo].row;
    if (t->plot_row < 0) {
      if (t->year)
        rc = cf_error(ctx, CF_EDATA, trees->path, "year", "line %ld: plot '%s' has no row for %d in %s", t->line,
                      t->plot, t->year, plots->path);
      else
        rc = cf_error(ctx, CF_EDATA, trees->path, "year",
                      "line %ld: the stem has no year and plot '%s' has one row per year in %s", t->line, t->plot,
                      plots->path);
      break;
    }
    if (t->nest) {
      int ni = cf_plots_nest_index(plots, t->nest);
      const cf_plot *p = &plots->p[t->plot_row];
      if (ni < 0)
        rc = cf_error(ctx, CF_EDATA, trees->path, "nest",
                      "line %ld: nest '%s' has no area_ha.%s (or radius_m.%s) column in %s", t->line, t->nest,
                      t->nest, t->nest, plots->path);
      else if (!isfinite(p->nest_area_ha[ni]))
        rc = cf_error(ctx, CF_EDATA, trees->path, "nest",
                      "line %ld: plot '%s' (line %ld of %s) gives no area for nest '%s'", t->line, t->plot,
                      p->line, plots->path, t->nest);
    }
  }
  free(k);
  return rc;
}

/* --- per-plot totals --------------------------------------------------------- */

typedef struct {
  long row;
  int year;
  size_t i;
} stem_key;

static int cmp_stem_key(const void *a, const void *b) {
  const stem_key *x = a, *y = b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  if (x->year != y->year) return x->year < y->year ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

int cf_inventory_plot_totals(cf_ctx *ctx, const cf_plots *plots, const cf_trees *trees,
                             const double *stem_kg, cf_plot_total **out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  size_t nt = trees ? trees->n : 0;
  for (size_t i = 0; i < nt; i++) {
    const cf_tree *t = &trees->t[i];
    if (t->plot_row < 0 || (size_t)t->plot_row >= plots->n)
      return cf_error(ctx, CF_EINVAL, trees->path, "plot", "line %ld: stem not linked to a plot (call cf_inventory_link)",
                      t->line);
    if (!stem_kg || !isfinite(stem_kg[i]) || stem_kg[i] < 0)
      return cf_error(ctx, CF_EINVAL, trees->path, "biomass_kg", "line %ld: stem biomass %g kg is not >= 0", t->line,
                      stem_kg ? stem_kg[i] : NAN);
  }
  stem_key *k = malloc((nt ? nt : 1) * sizeof *k);
  cf_plot_total *res = malloc((nt + plots->n + 1) * sizeof *res); /* at most one row per stem or plot */
  if (!k || !res) {
    free(k);
    free(res);
    return cf_error(ctx, CF_ENOMEM, plots->path, "", "out of memory");
  }
  for (size_t i = 0; i < nt; i++) k[i] = (stem_key){trees->t[i].plot_row, trees->t[i].year, i};
  qsort(k, nt, sizeof *k, cmp_stem_key);
  size_t nr = 0, j = 0;
  for (size_t r = 0; r < plots->n; r++) {
    const cf_plot *p = &plots->p[r];
    if (j >= nt || k[j].row != (long)r) { /* no stems in this plot */
      int measured = isfinite(p->agb_t_dm_per_ha);
      res[nr++] = (cf_plot_total){(long)r, p->year, measured ? p->agb_t_dm_per_ha : 0.0, 0.0, 0, 0, measured};
      continue;
    }
    while (j < nt && k[j].row == (long)r) {
      cf_plot_total tot = {(long)r, k[j].year, 0.0, 0.0, 0, 0, 0};
      int year = k[j].year;
      for (; j < nt && k[j].row == (long)r && k[j].year == year; j++) {
        const cf_tree *t = &trees->t[k[j].i];
        double area = p->area_ha;
        if (t->nest) area = p->nest_area_ha[cf_plots_nest_index(plots, t->nest)];
        double per_ha_t = stem_kg[k[j].i] / area / 1000.0;
        if (t->live) {
          tot.live_t_dm_per_ha += per_ha_t;
          tot.n_live++;
        } else {
          tot.dead_t_dm_per_ha += per_ha_t;
          tot.n_dead++;
        }
      }
      res[nr++] = tot;
    }
  }
  free(k);
  *out = res;
  *n_out = nr;
  return CF_OK;
}
