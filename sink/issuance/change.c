/* The change in stocks over one monitoring period and its uncertainty
 * (change.h). */
#include "sink/issuance/change.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/stratify.h"

int cf_date_parse(const char *text, int *y, int *m, int *d) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-') return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) return -1;
  *y = atoi(text), *m = atoi(text + 5), *d = atoi(text + 8);
  if (*y < 1000 || *m < 1 || *m > 12 || *d < 1) return -1;
  int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  return *d > mdays[*m - 1] + (*m == 2 && leap) ? -1 : 0;
}

double cf_date_years(int y, int m, int d) { return y + (m - 1) / 12.0 + (d - 1) / 365.25; }

double cf_date_span(const int a[3], const int b[3]) {
  return (b[0] - a[0]) + (b[1] - a[1]) / 12.0 + (b[2] - a[2]) / 365.25;
}

static const char *mapped(const char *name, const cf_stratum_map *maps, int n_maps) {
  for (int i = 0; i < n_maps; i++)
    if (!strcmp(maps[i].from, name)) return maps[i].to;
  return name;
}

static int find_stratum(const cf_stocks_in *e, const char *name, const cf_stratum_map *maps, int n_maps) {
  for (int h = 0; h < e->n_strata; h++)
    if (!strcmp(mapped(e->strata[h].name, maps, n_maps), name)) return h;
  return -1;
}

/* The strata of e1 and e2 are one set after the mapping. */
static int check_strata(cf_ctx *ctx, const cf_stocks_in *e1, const cf_stocks_in *e2, const cf_stratum_map *maps,
                        int n_maps) {
  for (int k = 0; k < 2; k++) {
    const cf_stocks_in *a = k ? e1 : e2, *b = k ? e2 : e1;
    for (int h = 0; h < a->n_strata; h++) {
      const char *name = mapped(a->strata[h].name, maps, n_maps);
      if (find_stratum(b, name, maps, n_maps) >= 0) continue;
      char field[64];
      snprintf(field, sizeof field, "strata[%d].stratum", h);
      return cf_error(ctx, CF_EDATA, a->path, field,
                      "stratum \"%s\" is not among the strata of the other event '%s'; strata must be the same at "
                      "every event, or be mapped with --stratum-map FROM=TO",
                      name, b->path);
    }
  }
  return CF_OK;
}

/* Permanent plots: the stratified estimate of the per-plot differences. */
static int permanent(cf_ctx *ctx, const cf_stocks_in *e1, const cf_stocks_in *e2, const cf_stratum_map *maps,
                     int n_maps, cf_period_change *c) {
  if (!e1->n_plots || !e2->n_plots)
    return cf_error(ctx, CF_EDATA, e1->n_plots ? e2->path : e1->path, "plots",
                    "design=permanent needs the report's per-plot biomass ('plots'), which it does not list");
  double *d = calloc((size_t)e2->n_plots, sizeof *d), *area = calloc((size_t)e2->n_strata, sizeof *area);
  int *st = calloc((size_t)e2->n_plots, sizeof *st);
  const char **names = calloc((size_t)e2->n_strata, sizeof *names);
  cf_stratum_estimate *se = calloc((size_t)e2->n_strata, sizeof *se);
  int rc = d && area && st && names && se ? CF_OK : cf_error(ctx, CF_ENOMEM, e2->path, "plots", "out of memory");
  int n = 0;
  for (int i = 0; !rc && i < e2->n_plots; i++) {
    const cf_stocks_in_plot *p2 = &e2->plots[i];
    int j = 0;
    while (j < e1->n_plots && strcmp(e1->plots[j].plot, p2->plot)) j++;
    if (j == e1->n_plots) {
      c->n_unmatched++;
      continue;
    }
    const char *s2 = mapped(p2->stratum, maps, n_maps), *s1 = mapped(e1->plots[j].stratum, maps, n_maps);
    char field[64];
    snprintf(field, sizeof field, "plots[%d].stratum", i);
    if (strcmp(s1, s2))
      rc = cf_error(ctx, CF_EDATA, e2->path, field, "permanent plot \"%s\" is in stratum \"%s\" here and \"%s\" in '%s'",
                    p2->plot, s2, s1, e1->path);
    int h = rc ? -1 : find_stratum(e2, s2, maps, n_maps);
    if (!rc && h < 0)
      rc = cf_error(ctx, CF_EDATA, e2->path, field, "plot \"%s\": stratum \"%s\" is not in the report's strata", p2->plot, s2);
    if (rc) break;
    d[n] = p2->biomass - e1->plots[j].biomass;
    st[n++] = h;
  }
  for (int h = 0; !rc && h < e2->n_strata; h++) area[h] = e2->strata[h].area_ha, names[h] = e2->strata[h].name;
  cf_stratified_estimate est;
  if (!rc) {
    rc = cf_stratified_estimate_compute(ctx, n, d, st, e2->n_strata, area, names, 0.90, se, &est);
    if (rc) rc = cf_error(ctx, CF_EDATA, e2->path, "plots", "the per-plot differences against '%s' (%d pairs) give no estimate",
                          e1->path, n);
  }
  if (!rc) {
    c->n_pairs = n, c->df = est.df;
    c->mean_diff = est.mean, c->se_diff = est.se, c->t_value = est.t_value;
    double u = est.mean != 0.0 ? est.half_width / fabs(est.mean) : INFINITY;
    c->half_width = u * fabs(c->sampled2 - c->sampled1);
  }
  free(d), free(area), free(st), free(names), free(se);
  return rc;
}

int cf_period_change_compute(cf_ctx *ctx, const cf_stocks_in *e1, const cf_stocks_in *e2, double years,
                             unsigned policy_pools, cf_change_design design, const cf_stratum_map *maps, int n_maps,
                             cf_period_change *c) {
  memset(c, 0, sizeof *c);
  if (!(years > 0) || !isfinite(years))
    return cf_error(ctx, CF_EINVAL, e2->path, "date", "the period from '%s' has length %g years; it must be > 0", e1->path,
                    years);
  int rc = check_strata(ctx, e1, e2, maps, n_maps);
  if (rc) return rc;
  c->years = years;
  c->design = design;
  for (int k = 0; k < CF_POOL_COUNT; k++) {
    unsigned bit = CF_POOL_BIT(k);
    c->pool1[k] = e1->pools_t_co2e[k], c->pool2[k] = e2->pools_t_co2e[k];
    c->pool_change[k] = c->pool2[k] - c->pool1[k]; /* NaN when either is not estimated */
    int in1 = e1->pool_estimated[k], in2 = e2->pool_estimated[k];
    if ((policy_pools & bit) && in1 != in2)
      return cf_error(ctx, CF_EDATA, in1 ? e2->path : e1->path, "project.pools_t_co2e",
                      "pool %s is estimated in '%s' but not here; a counted pool must be in every event",
                      cf_pool_name((cf_pool_id)k), in1 ? e1->path : e2->path);
    if (!in1 || !in2) continue;
    if (policy_pools & bit) {
      c->counted |= bit;
      c->stock1 += c->pool1[k], c->stock2 += c->pool2[k];
      if (k != CF_POOL_SOC) c->sampled1 += c->pool1[k], c->sampled2 += c->pool2[k];
    } else {
      c->excluded |= bit;
    }
  }
  c->change = c->stock2 - c->stock1;
  c->annual_change = c->change / years;
  c->stock1_discounted = e1->total_discounted_t_co2e, c->stock2_discounted = e2->total_discounted_t_co2e;
  c->u1_pct = e1->u90_pct, c->u2_pct = e2->u90_pct;
  if (design == CF_DESIGN_PERMANENT) {
    rc = permanent(ctx, e1, e2, maps, n_maps, c);
    if (rc) return rc;
  } else {
    double h1 = c->u1_pct / 100.0 * c->sampled1, h2 = c->u2_pct / 100.0 * c->sampled2;
    c->half_width = sqrt(h1 * h1 + h2 * h2);
  }
  c->u_pct = c->change != 0.0 ? c->half_width / fabs(c->change) * 100.0 : NAN;
  /* per stratum, t CO2e = t C/ha x ha x 44/12, in e2's order */
  c->strata = calloc((size_t)e2->n_strata, sizeof *c->strata);
  if (!c->strata) return cf_error(ctx, CF_ENOMEM, e2->path, "strata", "out of memory");
  c->n_strata = e2->n_strata;
  for (int h = 0; h < e2->n_strata; h++) {
    cf_stratum_change *S = &c->strata[h];
    const char *name = mapped(e2->strata[h].name, maps, n_maps);
    snprintf(S->name, sizeof S->name, "%s", name);
    const cf_stocks_in_stratum *s1 = &e1->strata[find_stratum(e1, name, maps, n_maps)], *s2 = &e2->strata[h];
    S->area_ha = s2->area_ha;
    for (int k = 0; k < CF_POOL_COUNT; k++) {
      S->stock1[k] = s1->pool_t_c_per_ha[k] * s1->area_ha * CF_CO2_PER_C;
      S->stock2[k] = s2->pool_t_c_per_ha[k] * s2->area_ha * CF_CO2_PER_C;
    }
  }
  return CF_OK;
}

void cf_period_change_free(cf_period_change *c) {
  if (!c) return;
  free(c->strata);
  c->strata = NULL;
  c->n_strata = 0;
}
