/*
 * The plots table (one row per plot, or per plot and year): see
 * sink/inventory.h for the rules on areas, nests and years.
 *
 * Nest columns are found by their header: `area_ha.NEST` (a horizontal
 * area) or `radius_m.NEST` (a circle laid out on the plot's slope, its
 * horizontal area computed as sink/plot_geometry.h says). The nest names are
 * shared by the table; each plot has one area per nest, NaN where its cell
 * is blank (a plot without that ring).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink/inventory.h"
#include "sink/inventory_internal.h"
#include "sink/plot_geometry.h"

#define PLOT_AREA_MAX_HA 1000.0 /* the largest permanent plots are 50 ha */
#define PLOT_RADIUS_MAX_M 1000.0

void cf_plots_free(cf_plots *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->p[i].plot);
    free(p->p[i].stratum);
    free(p->p[i].nest_area_ha);
  }
  for (int i = 0; i < p->nnest; i++) free(p->nest[i]);
  free(p->nest);
  free(p->p);
  free(p->path);
  free(p->options);
  memset(p, 0, sizeof *p);
}

int cf_plots_nest_index(const cf_plots *p, const char *name) {
  for (int i = 0; i < p->nnest; i++)
    if (strcasecmp(p->nest[i], name) == 0) return i;
  return -1;
}

static int nest_prefix(const char *h, const char *prefix) {
  size_t n = strlen(prefix);
  return strncasecmp(h, prefix, n) == 0 && h[n] != '\0';
}

int cf_plots_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_plots *out) {
  memset(out, 0, sizeof *out);
  cf_csv *c = NULL;
  int *nest_area_col = NULL, *nest_radius_col = NULL;
  int rc = cf_csv_open(ctx, path, &c);
  if (rc) return rc;
  out->path = strdup(path);
  if (!out->path) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  if (!(o && o->header_only) && (rc = cf_inv_hash(ctx, path, out->sha256))) goto done;
  if ((rc = cf_inv_options_record(ctx, o, &out->options))) goto done;

  enum { P, S, A, R, SL, AGB, Y, LON, LAT, NC };
  const cf_inv_field fld[NC] = {CF_INV_PLOT, CF_INV_STRATUM, CF_INV_AREA_HA, CF_INV_RADIUS_M, CF_INV_SLOPE_DEG,
                                CF_INV_AGB,  CF_INV_YEAR,    CF_INV_LON,     CF_INV_LAT};
  int col[NC];
  char looked[256];
  for (int i = 0; i < NC; i++) {
    col[i] = cf_inv_column(c, o, fld[i], 0, looked, sizeof looked);
    if (col[i] < 0 && (i == P || i == S)) {
      rc = cf_inv_missing_column(ctx, c, o, fld[i], looked);
      goto done;
    }
  }
  if ((col[LON] < 0) != (col[LAT] < 0)) {
    rc = cf_error(ctx, CF_EDATA, path, col[LON] < 0 ? "lon" : "lat", "line 1: lon and lat come together");
    goto done;
  }
  if (o && o->header_only) goto done; /* validation: the columns are there */
  /* nests */
  int ncols = cf_csv_ncols(c);
  nest_area_col = malloc((size_t)ncols * sizeof *nest_area_col);
  nest_radius_col = malloc((size_t)ncols * sizeof *nest_radius_col);
  out->nest = calloc((size_t)ncols, sizeof *out->nest);
  if (!nest_area_col || !nest_radius_col || !out->nest) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  for (int i = 0; i < ncols; i++) {
    const char *h = cf_csv_header(c, i);
    int is_area = nest_prefix(h, "area_ha."), is_radius = nest_prefix(h, "radius_m.");
    if (!is_area && !is_radius) continue;
    const char *name = h + (is_area ? 8 : 9);
    int k = cf_plots_nest_index(out, name);
    if (k < 0) {
      k = out->nnest++;
      out->nest[k] = strdup(name);
      if (!out->nest[k]) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        goto done;
      }
      nest_area_col[k] = nest_radius_col[k] = -1;
    }
    int *slot = is_area ? &nest_area_col[k] : &nest_radius_col[k];
    if (*slot >= 0) {
      rc = cf_error(ctx, CF_EDATA, path, h, "line 1: column '%s' appears twice", h);
      goto done;
    }
    *slot = i;
  }

  size_t cap = 0;
  const cf_csv_row *r;
  int got;
  while ((got = cf_inv_next(ctx, c, &r)) == 1) {
    if (out->n == cap) {
      size_t ncap = cap ? 2 * cap : 64;
      cf_plot *np = realloc(out->p, ncap * sizeof *np);
      if (!np) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory at line %ld", r->line);
        goto done;
      }
      out->p = np;
      cap = ncap;
    }
    cf_plot *p = &out->p[out->n];
    memset(p, 0, sizeof *p);
    out->n++;
    p->line = r->line;
    int oom = 0;
    p->plot = cf_inv_strdup_trim(r->fields[col[P]], 1, &oom);
    p->stratum = cf_inv_strdup_trim(r->fields[col[S]], 1, &oom);
    p->nest_area_ha = malloc((size_t)(out->nnest ? out->nnest : 1) * sizeof *p->nest_area_ha);
    if (oom || !p->nest_area_ha) {
      rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory at line %ld", r->line);
      goto done;
    }
    if (!p->plot) {
      rc = cf_error(ctx, CF_EDATA, path, "plot", "line %ld: the plot id is blank", r->line);
      goto done;
    }
    if (!p->stratum) {
      rc = cf_error(ctx, CF_EDATA, path, "stratum", "line %ld: plot '%s' has no stratum", r->line, p->plot);
      goto done;
    }
    if (col[Y] >= 0 && !cf_inv_blank(r->fields[col[Y]]) &&
        (rc = cf_inv_parse_year(ctx, path, "year", r->line, r->fields[col[Y]], &p->year)))
      goto done;
    int g;
    double area;
    if ((g = cf_inv_number(ctx, c, r, col[A], CF_INV_AREA_HA, 0, 1, PLOT_AREA_MAX_HA, "ha", "a plot area", &area)) < 0 ||
        (g = cf_inv_number(ctx, c, r, col[R], CF_INV_RADIUS_M, 0, 1, PLOT_RADIUS_MAX_M, "m", "a plot radius",
                           &p->radius_m)) < 0 ||
        (g = cf_inv_number(ctx, c, r, col[SL], CF_INV_SLOPE_DEG, 0, 0, CF_PLOT_MAX_SLOPE_DEG, "degrees",
                           "a plot slope", &p->slope_deg)) < 0 ||
        (g = cf_inv_number(ctx, c, r, col[AGB], CF_INV_AGB, 0, 0, CF_INV_AGB_MAX_T_HA, "t/ha",
                           "a plausible biomass", &p->agb_t_dm_per_ha)) < 0 ||
        (g = cf_inv_number(ctx, c, r, col[LON], CF_INV_LON, -180, 0, 180, "", "a longitude", &p->lon)) < 0 ||
        (g = cf_inv_number(ctx, c, r, col[LAT], CF_INV_LAT, -90, 0, 90, "", "a latitude", &p->lat)) < 0) {
      rc = g;
      goto done;
    }
    if (isnan(p->lon) != isnan(p->lat)) {
      rc = cf_error(ctx, CF_EDATA, path, isnan(p->lon) ? "lon" : "lat",
                    "line %ld: plot '%s' has one of lon and lat but not the other", r->line, p->plot);
      goto done;
    }
    double slope = isnan(p->slope_deg) ? 0.0 : p->slope_deg; /* blank: level ground */
    char where[600];
    snprintf(where, sizeof where, "%s: line %ld", path, r->line);
    double largest = NAN;
    for (int k = 0; k < out->nnest; k++) {
      double a = NAN, rad = NAN;
      char name[300];
      if (nest_area_col[k] >= 0) {
        snprintf(name, sizeof name, "area_ha.%s", out->nest[k]);
        if ((g = cf_inv_number(ctx, c, r, nest_area_col[k], CF_INV_AREA_HA, 0, 1, PLOT_AREA_MAX_HA, "ha",
                               "a nest area", &a)) < 0) {
          rc = g;
          goto done;
        }
      }
      if (isnan(a) && nest_radius_col[k] >= 0) {
        if ((g = cf_inv_number(ctx, c, r, nest_radius_col[k], CF_INV_RADIUS_M, 0, 1, PLOT_RADIUS_MAX_M, "m",
                               "a nest radius", &rad)) < 0) {
          rc = g;
          goto done;
        }
        if (g == 1 && (rc = cf_plot_area_slope_ha(ctx, where, rad, slope, &a))) goto done;
      }
      p->nest_area_ha[k] = a;
      if (!isnan(a) && (isnan(largest) || a > largest)) largest = a;
    }
    if (!isnan(area)) {
      p->area_ha = area;
    } else if (!isnan(p->radius_m)) {
      if ((rc = cf_plot_area_slope_ha(ctx, where, p->radius_m, slope, &p->area_ha))) goto done;
    } else if (!isnan(largest)) {
      p->area_ha = largest;
    } else {
      rc = cf_error(ctx, CF_EDATA, path, "area_ha",
                    "line %ld: plot '%s' has no area (give area_ha, or radius_m with slope_deg, or area_ha.NEST)",
                    r->line, p->plot);
      goto done;
    }
  }
  if (got < 0) rc = got;
  if (!rc && out->n == 0) rc = cf_error(ctx, CF_EDATA, path, "", "the plots table has no rows");
done:
  free(nest_area_col);
  free(nest_radius_col);
  cf_csv_close(c);
  if (rc) cf_plots_free(out);
  return rc;
}
