/*
 * The trees table (one row per stem, or per stem with one column group per
 * census year): sink/inventory.h says what is read and why.
 *
 * The reader finds every column first (so a misspelt mapping fails before
 * any row is read, naming the header it looked for), then streams the rows.
 * In a wide table each listed year of a row is a stem-year of its own; the
 * fields mapped without {year} (plot, species...) are shared by all of them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink/inventory.h"
#include "sink/inventory_internal.h"

/* Tree fields that may be wide (one column per year). */
static const cf_inv_field PER_YEAR[] = {CF_INV_DBH_CM, CF_INV_SPECIES, CF_INV_HEIGHT_M, CF_INV_STATUS,
                                        CF_INV_WOOD_DENSITY, CF_INV_NEST};
#define NPY (sizeof PER_YEAR / sizeof *PER_YEAR)

void cf_trees_free(cf_trees *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->t[i].plot);
    free(t->t[i].species);
    free(t->t[i].nest);
  }
  free(t->t);
  free(t->path);
  free(t->options);
  free(t->subplot_header);
  memset(t, 0, sizeof *t);
}

/* Live (1), dead (0), or CF_EDATA naming the code. */
static int status_of(cf_ctx *ctx, const cf_csv *c, const cf_csv_row *r, int col, const cf_inv_options *o,
                     int *live) {
  *live = 1;
  if (col < 0) return CF_OK;
  char code[128];
  const char *s = r->fields[col];
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0) return CF_OK; /* the contract's default: live */
  if (n >= sizeof code) n = sizeof code - 1;
  memcpy(code, s, n);
  code[n] = '\0';
  if (strcasecmp(code, "live") == 0) return CF_OK;
  for (int i = 0; i < o->nlive; i++)
    if (o->live_codes[i] && strcasecmp(code, o->live_codes[i]) == 0) return CF_OK;
  *live = 0;
  if (strcasecmp(code, "dead") == 0) return CF_OK;
  for (int i = 0; i < o->ndead; i++)
    if (o->dead_codes[i] && strcasecmp(code, o->dead_codes[i]) == 0) return CF_OK;
  return cf_error(ctx, CF_EDATA, cf_csv_name(c), "status",
                  "line %ld: unknown status code '%s' in column %s (live, dead, or map it with live_codes=%s "
                  "or dead_codes=%s)",
                  r->line, code, cf_csv_header(c, col), code, code);
}

/* In-plot flag: 0 for FALSE/F/0/NO (any case), 1 otherwise (blank = in). */
static int in_plot(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char v[8];
  size_t n = 0;
  while (s[n] && s[n] != ' ' && s[n] != '\t' && n + 1 < sizeof v) v[n] = s[n], n++;
  v[n] = '\0';
  return !(strcasecmp(v, "false") == 0 || strcasecmp(v, "f") == 0 || strcmp(v, "0") == 0 ||
           strcasecmp(v, "no") == 0);
}

int cf_trees_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_trees *out) {
  memset(out, 0, sizeof *out);
  cf_inv_options defaults;
  int own = 0;
  if (!o) {
    cf_inv_options_init(&defaults);
    o = &defaults;
    own = 1;
  }
  int wide = 0;
  for (size_t f = 0; f < NPY; f++) wide |= cf_inv_is_wide(o, PER_YEAR[f]);
  cf_csv *c = NULL;
  int rc = CF_OK;
  if (wide && o->nyears == 0) {
    rc = cf_error(ctx, CF_EINVAL, "options", "years",
                  "a mapped header has {year}: list the years to read (years=2019,2022)");
    goto done;
  }
  if ((rc = cf_csv_open(ctx, path, &c))) goto done;
  out->path = strdup(path);
  if (!out->path) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  if (!o->header_only && (rc = cf_inv_hash(ctx, path, out->sha256))) goto done;
  if ((rc = cf_inv_options_record(ctx, o, &out->options))) goto done;

  /* columns: cols[f][y] for the per-year fields (y over the years, or one) */
  int ny = wide ? o->nyears : 1;
  int cols[NPY][CF_INV_MAX_YEARS];
  char looked[256];
  for (size_t f = 0; f < NPY; f++) {
    cf_inv_field fld = PER_YEAR[f];
    int fw = cf_inv_is_wide(o, fld);
    for (int y = 0; y < ny; y++) {
      cols[f][y] = cf_inv_column(c, o, fld, fw ? o->years[y] : 0, looked, sizeof looked);
      if (cols[f][y] < 0 && (fld == CF_INV_DBH_CM || o->header[fld])) {
        rc = cf_inv_missing_column(ctx, c, o, fld, looked);
        goto done;
      }
    }
  }
  int col_plot = cf_inv_column(c, o, CF_INV_PLOT, 0, looked, sizeof looked);
  if (col_plot < 0) {
    rc = cf_inv_missing_column(ctx, c, o, CF_INV_PLOT, looked);
    goto done;
  }
  int col_other[3];
  const cf_inv_field other[3] = {CF_INV_YEAR, CF_INV_IN_PLOT, CF_INV_SUBPLOT};
  for (int i = 0; i < 3; i++) {
    col_other[i] = cf_inv_column(c, o, other[i], 0, looked, sizeof looked);
    /* in_plot and subplot are read only when mapped: an unrelated column
     * of that name must not change which stems count */
    if (other[i] != CF_INV_YEAR && !o->header[other[i]]) col_other[i] = -1;
    if (col_other[i] < 0 && o->header[other[i]]) {
      rc = cf_inv_missing_column(ctx, c, o, other[i], looked);
      goto done;
    }
  }
  int col_year = wide ? -1 : col_other[0], col_in = col_other[1], col_sub = col_other[2];
  if (!wide && o->nyears > 0 && col_year < 0) {
    rc = cf_error(ctx, CF_EINVAL, path, "years",
                  "years= selects rows by their year, but the table has no year column (or map {year} in a header)");
    goto done;
  }
  if (o->header_only) goto done; /* validation: the columns are there */
  if (col_sub >= 0 && !(out->subplot_header = strdup(cf_csv_header(c, col_sub)))) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }

  size_t cap = 0;
  const cf_csv_row *r;
  int got;
  while ((got = cf_inv_next(ctx, c, &r)) == 1) {
    out->n_rows++;
    if (col_in >= 0 && !in_plot(r->fields[col_in])) {
      out->n_skipped_out_of_plot++;
      continue;
    }
    if (cf_inv_blank(r->fields[col_plot])) {
      rc = cf_error(ctx, CF_EDATA, path, "plot", "line %ld: the plot id is blank", r->line);
      goto done;
    }
    int row_year = 0;
    if (col_year >= 0 && !cf_inv_blank(r->fields[col_year])) {
      if ((rc = cf_inv_parse_year(ctx, path, "year", r->line, r->fields[col_year], &row_year))) goto done;
    }
    if (!wide && o->nyears > 0) {
      int listed = 0;
      for (int y = 0; y < o->nyears; y++) listed |= o->years[y] == row_year;
      if (!listed) continue;
    }
    for (int y = 0; y < ny; y++) {
      double dbh, h, wd;
      int g = cf_inv_number(ctx, c, r, cols[0][y], CF_INV_DBH_CM, 0, 1, CF_INV_DBH_MAX_CM, "cm",
                            "a plausible diameter", &dbh);
      if (g < 0) {
        rc = g;
        goto done;
      }
      if (g == 0) {
        out->n_skipped_blank_dbh++;
        continue;
      }
      if ((g = cf_inv_number(ctx, c, r, cols[2][y], CF_INV_HEIGHT_M, 0, 1, CF_INV_HEIGHT_MAX_M, "m",
                             "a plausible tree height", &h)) < 0 ||
          (g = cf_inv_number(ctx, c, r, cols[4][y], CF_INV_WOOD_DENSITY, CF_INV_WD_MIN, 0, CF_INV_WD_MAX, "g/cm3",
                             "a plausible basic wood density", &wd)) < 0) {
        rc = g;
        goto done;
      }
      int live;
      if ((rc = status_of(ctx, c, r, cols[3][y], o, &live))) goto done;
      if (out->n == cap) {
        size_t ncap = cap ? 2 * cap : 256;
        cf_tree *nt = realloc(out->t, ncap * sizeof *nt);
        if (!nt) {
          rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory at line %ld", r->line);
          goto done;
        }
        out->t = nt;
        cap = ncap;
      }
      cf_tree *t = &out->t[out->n];
      memset(t, 0, sizeof *t);
      out->n++;
      t->dbh_cm = dbh;
      t->height_m = h;
      t->wood_density = wd;
      t->live = live;
      t->year = wide ? o->years[y] : row_year;
      t->line = r->line;
      t->plot_row = -1;
      int oom = 0;
      if (col_sub >= 0 && !cf_inv_blank(r->fields[col_sub])) {
        char *a = cf_inv_strdup_trim(r->fields[col_plot], 0, &oom);
        char *b = cf_inv_strdup_trim(r->fields[col_sub], 0, &oom);
        if (a && b && (t->plot = malloc(strlen(a) + strlen(b) + 2)) != NULL)
          strcat(strcat(strcpy(t->plot, a), "/"), b);
        else
          oom = 1;
        free(a);
        free(b);
      } else {
        t->plot = cf_inv_strdup_trim(r->fields[col_plot], 0, &oom);
        t->subplot_blank = col_sub >= 0;
      }
      if (cols[1][y] >= 0) t->species = cf_inv_strdup_trim(r->fields[cols[1][y]], 1, &oom);
      if (cols[5][y] >= 0) t->nest = cf_inv_strdup_trim(r->fields[cols[5][y]], 1, &oom);
      if (oom) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory at line %ld", r->line);
        goto done;
      }
    }
  }
  if (got < 0) rc = got;
done:
  cf_csv_close(c);
  if (own) cf_inv_options_free(&defaults);
  if (rc) cf_trees_free(out);
  return rc;
}
