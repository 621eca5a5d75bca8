/*
 * Forest carbon stocks at one monitoring date; see stocks.h for the chain
 * and where each step lives. This file holds the settings table and the
 * driver that walks the chain, recording every parameter it used with its
 * source so that the report can be traced number by number.
 */
#include "sink/stocks.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sink/allometry.h"
#include "sink/discount.h"
#include "sink/student_t.h"

const char *const cf_stocks_pool_names[] = {"agb", "bgb", "deadwood", "litter", "soc", NULL};
const char *const cf_stocks_discount_names[] = {"none", "ar-tool14", "vm0047", "gs403", NULL};
const char *const cf_stocks_biome_names[] = {"tropical", "temperate", "boreal", NULL};
const char *const cf_stocks_root_shoot_names[] = {"ar-tool14", "ipcc2006", NULL};
const char *const cf_stocks_ar_tool12_names[] = {"ar-tool12", NULL};
const char *const cf_stocks_side_names[] = {"project", "baseline", NULL};

enum { ROOT_AR_TOOL14 = 0, ROOT_IPCC2006 = 1 };

#define KV_ROW(name, type, field, lo, hi, unit, choices, help) \
  {#name, CF_KV_##type, offsetof(cf_stocks_opts, field), lo, hi, unit, help, choices},
static const cf_kv_opt rows[] = {CF_STOCKS_SETTINGS(KV_ROW)};
#undef KV_ROW
enum { NROWS = sizeof rows / sizeof *rows };

void cf_stocks_opts_default(cf_stocks_opts *o) {
  memset(o, 0, sizeof *o);
  strcpy(o->allometry, "chave2014");
  o->carbon_fraction = NAN;
  o->root_shoot = (cf_kv_num_or_choice){ROOT_AR_TOOL14, NAN};
  strcpy(o->forest_type, "all");
  o->pools = CF_POOLS_TREES;
  o->deadwood_fraction = o->litter_fraction = (cf_kv_num_or_choice){0, NAN};
  o->biome = 0;
  o->elevation_m = 0;
  o->precipitation_mm = NAN;
  o->soc_ref = NAN;
  o->f_lu = o->f_mg = o->f_in = NAN; /* required with pool soc: no silent 1.0 (AR-TOOL16 has no default) */
  o->years_since_planting = NAN;
  o->discount = 1; /* ar-tool14: the CDM tool this estimator follows */
  o->side = CF_SIDE_PROJECT;
  o->confidence = 0.90;
  o->year = 0;
}

static void defaults(void *base) { cf_stocks_opts_default(base); }

const cf_kv_table cf_stocks_settings = {rows, NROWS, sizeof(cf_stocks_opts), defaults, "forest stocks"};

int cf_stocks_opts_set(cf_ctx *ctx, cf_stocks_opts *o, const char *kv) {
  int rc = cf_kv_set(ctx, rows, NROWS, o, kv, cf_stocks_settings.where, NULL);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, cf_stocks_settings.where, "", "unknown setting '%.*s' (see carbonflux forest --help)",
                    eq ? (int)(eq - kv) : (int)strlen(kv), kv);
  }
  return rc;
}

/* --- the record of parameters ------------------------------------------------ */

static int add_param(cf_ctx *ctx, cf_stocks_result *r, const char *name, const char *stratum, double value,
                     const char *unit, const char *source, int checked) {
  cf_stocks_param *np = realloc(r->params, (size_t)(r->nparams + 1) * sizeof *np);
  if (!np) return cf_error(ctx, CF_ENOMEM, "forest stocks", "", "out of memory");
  r->params = np;
  cf_stocks_param *p = &np[r->nparams++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->stratum, sizeof p->stratum, "%s", stratum ? stratum : "");
  p->value = value;
  snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
  snprintf(p->source, sizeof p->source, "%s", source ? source : "");
  p->checked = checked;
  return CF_OK;
}

static int add_table_param(cf_ctx *ctx, cf_stocks_result *r, const char *name, const char *stratum,
                           const cf_param_value *v) {
  char src[512];
  snprintf(src, sizeof src, "%s (table %s, %s line %ld)", v->source, v->table, v->origin, v->line);
  return add_param(ctx, r, name, stratum, v->value, v->unit, src, v->checked);
}

/* --- stems to plot biomass ------------------------------------------------------- */

/* The monitoring year: the setting, or the latest year in the inventory. */
static int choose_year(const cf_stocks_opts *o, const cf_trees *t, const cf_plots *p) {
  if (o->year) return o->year;
  int y = 0;
  for (size_t i = 0; t && i < t->n; i++)
    if (t->t[i].year > y) y = t->t[i].year;
  for (size_t i = 0; i < p->n; i++)
    if (p->p[i].year > y) y = p->p[i].year;
  return y;
}

/* The allometry settings resolve to equations (a name in the table or a
 * form); jenkins2003 is resolved per stem by species. A bad setting is the
 * user's to fix (CF_EINVAL), found before any stem is read. */
static int check_allometry(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o) {
  cf_allometry eq;
  int rc = CF_OK;
  if (strcmp(o->allometry, "jenkins2003") != 0) rc = cf_allometry_select(ctx, P, o->allometry, NULL, &eq);
  if (rc) return cf_error(ctx, CF_EINVAL, "forest stocks", "allometry", "not an equation this run can use");
  if (!o->unknown_species[0]) return CF_OK;
  cf_ctx *why = cf_ctx_create(); /* the parser names its own setting, allometry: this one is unknown_species */
  rc = why ? cf_allometry_select(why, P, o->unknown_species, NULL, &eq) : CF_ENOMEM;
  if (rc)
    cf_error(ctx, CF_EINVAL, "forest stocks", "unknown_species", "%s",
             why && cf_error_count(why) ? cf_error_get(why, 0)->reason : "out of memory");
  cf_ctx_destroy(why);
  return rc ? CF_EINVAL : CF_OK;
}

/* The `checked` flag of equation `name`'s row in the equations table; an
 * equation given as a form in the settings is the user's own: 1. */
static int equation_checked(const cf_params *P, const char *name) {
  const cf_param_table *t = cf_params_table(P, "equations");
  int col = t ? cf_param_table_column(t, "name") : -1, chk = t ? cf_param_table_column(t, "checked") : -1;
  for (int i = 0; t && col >= 0 && chk >= 0 && i < cf_param_table_rows(t); i++)
    if (!strcmp(cf_param_table_text(t, i, col), name)) return !strcmp(cf_param_table_text(t, i, chk), "yes");
  return 1;
}

/* kg d.m. of each live stem of `year` (0 for dead stems and other years). */
static int stem_biomass(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o, cf_stocks_result *r, int year,
                        double *kg) {
  const cf_trees *T = r->trees;
  char first_eq[CF_KV_TEXT_MAX + 64] = "";
  for (size_t i = 0; i < T->n; i++) {
    const cf_tree *t = &T->t[i];
    kg[i] = 0;
    if (t->year && year && t->year != year) continue;
    if (!t->live) {
      r->n_dead_stems++;
      continue;
    }
    cf_allometry eq;
    int blank = !t->species || !t->species[0];
    int fallback = blank && o->unknown_species[0] && !strcmp(o->allometry, "jenkins2003");
    int rc = cf_allometry_select(ctx, P, fallback ? o->unknown_species : o->allometry, fallback ? NULL : t->species, &eq);
    if (!rc && fallback) r->n_unknown_species++;
    if (rc && blank && !strcmp(o->allometry, "jenkins2003"))
      cf_error(ctx, rc, "forest stocks", "unknown_species",
               "give unknown_species=EQUATION (e.g. jenkins2003_mixed_hardwood) to use one for such stems");
    cf_stem stem = {t->dbh_cm, t->height_m, NAN};
    if (!rc && cf_allometry_uses_density(&eq))
      rc = cf_wood_density(ctx, P, t->species, t->wood_density, &stem.rho_g_cm3);
    unsigned flags = 0;
    if (!rc) rc = cf_allometry_eval(ctx, &eq, &stem, &kg[i], &flags);
    /* the settings were checked up front: what fails here is this stem's data */
    if (rc) return cf_error(ctx, rc == CF_ENOMEM ? rc : CF_EDATA, T->path, "", "line %ld: stem of plot %s", t->line, t->plot);
    r->n_stems++;
    r->n_out_of_range += (flags & CF_ALLOM_OUT_OF_RANGE) != 0;
    if (!first_eq[0] || fallback || strcmp(o->allometry, "jenkins2003") == 0) {
      /* one parameter row per distinct equation */
      int seen = 0;
      char name[192];
      snprintf(name, sizeof name, "allometry:%s", eq.name);
      for (int k = 0; k < r->nparams && !seen; k++) seen = !strcmp(r->params[k].name, name);
      if (!seen) {
        char src[700];
        snprintf(src, sizeof src, "%s; form %s with a=%.17g, b=%.17g", eq.source, cf_allom_form_text[eq.form], eq.a,
                 eq.b);
        rc = add_param(ctx, r, name, "", NAN, eq.output == CF_ALLOM_VOLUME_M3 ? "m3" : "kg d.m.", src,
                       equation_checked(P, eq.name));
        if (rc) return rc;
      }
      snprintf(first_eq, sizeof first_eq, "%s", eq.name);
    }
  }
  return CF_OK;
}

/* The plots of `year` with their AGB (t d.m./ha), from the plot totals:
 * the sum of the plot's stems of that year and of its stems without a year
 * (a long table may mix them). A plot with stems in other years but none
 * in this one holds none this year, which is possible (a harvest) but
 * more often a plot not measured that year: it is counted and said. A
 * plot of a plots-only inventory needs its measured AGB. */
static int plots_of_year(cf_ctx *ctx, cf_stocks_result *r, int year, const cf_plot_total *tot, size_t ntot) {
  const cf_plots *P = r->plots;
  r->plot_index = malloc((P->n ? P->n : 1) * sizeof *r->plot_index);
  r->plot_agb = malloc((P->n ? P->n : 1) * sizeof *r->plot_agb);
  r->plot_biomass = malloc((P->n ? P->n : 1) * sizeof *r->plot_biomass);
  r->plot_r = malloc((P->n ? P->n : 1) * sizeof *r->plot_r);
  if (!r->plot_index || !r->plot_agb || !r->plot_biomass || !r->plot_r)
    return cf_error(ctx, CF_ENOMEM, P->path, "", "out of memory");
  int n = 0, empty = 0;
  long stems_of_year = 0;
  for (size_t k = 0; k < ntot; k++)
    if (tot[k].year == year || tot[k].year == 0) stems_of_year += tot[k].n_live + tot[k].n_dead;
  if (r->trees && r->trees->n && !stems_of_year)
    return cf_error(ctx, CF_EDATA, r->trees->path, "year", "no stem is measured in %d (year=)", year);
  for (size_t row = 0; row < P->n; row++) {
    const cf_plot *p = &P->p[row];
    if (p->year && year && p->year != year) continue;
    double agb = 0;
    int stems = 0, elsewhere = 0, measured = 0;
    for (size_t k = 0; k < ntot; k++) {
      if (tot[k].plot_row != (long)row) continue;
      if (tot[k].year == year || tot[k].year == 0) {
        agb += tot[k].live_t_dm_per_ha;
        stems += tot[k].n_live + tot[k].n_dead;
        measured |= tot[k].from_measured;
      } else {
        elsewhere += tot[k].n_live + tot[k].n_dead;
      }
    }
    if (!stems && !measured && !(r->trees && r->trees->n))
      return cf_error(ctx, CF_EDATA, P->path, "agb_t_dm_per_ha",
                      "line %ld: plot %s has no trees and no measured above-ground biomass", p->line, p->plot);
    if (!stems && elsewhere) empty++;
    r->plot_index[n] = (int)row;
    r->plot_agb[n++] = agb;
  }
  if (n == 0) return cf_error(ctx, CF_EDATA, P->path, "year", "no plot is measured in %d", year);
  if (empty)
    cf_log(ctx, CF_LOG_WARN, "%d plot(s) have stems in other years but none in %d: counted as holding none that year",
           empty, year);
  r->n_empty_plots = empty;
  r->n_est_plots = n;
  return CF_OK;
}

/* IPCC 2006 Table 4.4's R of each stratum (ratio[h]; NaN for a stratum
 * without plots this year). Table 4.4 classes a forest by its AGB per
 * hectare, a property of the stand, not of one plot: the class is chosen
 * from the stratum's mean AGB, so all of a stratum's plots take one R (a
 * plot's own AGB would put a sparse plot of a dense stand in another
 * class, and a plot of 0 in a class that may not exist). Where no class
 * of the forest type holds that mean (Quercus spp. is given only above
 * 70 t/ha) the nearest class of the type is used, said in the parameter's
 * source and the log, and marked unchecked. */
static int ipcc2006_ratios(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o, cf_stocks_result *r,
                           double *ratio) {
  size_t ns = r->inv_strata->n;
  double *sum = calloc(ns + 1, sizeof *sum);
  int *n = calloc(ns + 1, sizeof *n), rc = CF_OK;
  if (!sum || !n) rc = cf_error(ctx, CF_ENOMEM, "forest stocks", "", "out of memory");
  for (int i = 0; !rc && i < r->n_est_plots; i++) {
    long h = cf_strata_find(r->inv_strata, r->plots->p[r->plot_index[i]].stratum);
    if (h >= 0) sum[h] += r->plot_agb[i], n[h]++;
  }
  for (size_t h = 0; !rc && h < ns; h++) {
    const cf_stratum *s = &r->inv_strata->s[h];
    ratio[h] = NAN;
    if (!n[h]) continue;
    const char *eco = s->ecozone ? s->ecozone : o->ecozone;
    if (!eco[0]) {
      rc = cf_error(ctx, CF_EINVAL, "forest stocks", "ecozone",
                    "root_shoot=ipcc2006 needs the ecozone (setting ecozone= or a strata column) for stratum '%s'",
                    s->stratum);
      break;
    }
    double mean = sum[h] / n[h], at;
    cf_param_value v;
    rc = cf_root_shoot_ipcc2006_nearest(ctx, P, eco, o->forest_type, mean, &v, &at);
    if (rc) break;
    ratio[h] = v.value;
    char src[640];
    if (at == mean) {
      snprintf(src, sizeof src, "%s, class of the stratum's mean AGB %.6g t d.m./ha (table %s, %s line %ld)", v.source,
               mean, v.table, v.origin, v.line);
    } else {
      snprintf(src, sizeof src, "%s: no %s class holds the stratum's mean AGB %.6g t d.m./ha, the nearest (at %.6g) "
               "is used (table %s, %s line %ld)", v.source, o->forest_type, mean, at, v.table, v.origin, v.line);
      cf_log(ctx, CF_LOG_WARN, "root_shoot=ipcc2006: stratum '%s' has a mean AGB of %g t d.m./ha, which no %s class "
             "of Table 4.4 holds: the nearest class's R = %g is used", s->stratum, mean, o->forest_type, v.value);
    }
    rc = add_param(ctx, r, "root_shoot", s->stratum, v.value, v.unit, src, v.checked && at == mean);
  }
  free(sum);
  free(n);
  return rc;
}

/* Root-to-shoot ratio of each plot, and its tree biomass AGB x (1 + R). */
static int plot_biomass(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o, cf_stocks_result *r) {
  /* R and the tree biomass are computed whatever `pools` says: the
   * stratified estimate is of AGB x (1 + R) (the spec's biomass_*), and dead
   * wood and litter are fractions of tree carbon, above and below ground
   * (AR-TOOL12); leaving bgb out of the claim only leaves out its pool */
  int recorded = 0, rc = CF_OK;
  double *stratum_r = NULL;
  if (o->root_shoot.choice == ROOT_IPCC2006) {
    stratum_r = malloc((r->inv_strata->n + 1) * sizeof *stratum_r);
    rc = stratum_r ? ipcc2006_ratios(ctx, P, o, r, stratum_r) : cf_error(ctx, CF_ENOMEM, "forest stocks", "", "out of memory");
  }
  for (int i = 0; !rc && i < r->n_est_plots; i++) {
    const cf_plot *p = &r->plots->p[r->plot_index[i]];
    double agb = r->plot_agb[i], ratio = 0;
    if (o->root_shoot.choice < 0) {
      ratio = o->root_shoot.value;
      if (!recorded++) rc = add_param(ctx, r, "root_shoot", "", ratio, "t d.m./t d.m.", "setting root_shoot", 1);
    } else if (o->root_shoot.choice == ROOT_AR_TOOL14) {
      if (agb > 0) rc = cf_root_shoot_artool14(ctx, P, agb, &ratio);
      if (!rc && !recorded++) {
        cf_param_value v;
        rc = cf_params_get(ctx, P, "equations", "name", "artool14_root_shoot", "a_coef", &v);
        if (!rc) {
          char src[600];
          snprintf(src, sizeof src, "R = exp(a + b ln AGB)/AGB per plot; %s (table equations, %s line %ld)", v.source,
                   v.origin, v.line);
          rc = add_param(ctx, r, "root_shoot", "", NAN, "t d.m./t d.m.", src, v.checked);
        }
      }
      /* what fails here is this plot's data */
      if (rc && rc != CF_ENOMEM)
        rc = cf_error(ctx, CF_EDATA, r->plots->path, "agb_t_dm_per_ha", "line %ld: plot %s", p->line, p->plot);
    } else {
      ratio = stratum_r[cf_strata_find(r->inv_strata, p->stratum)];
    }
    r->plot_r[i] = ratio;
    r->plot_biomass[i] = agb * (1 + ratio); /* a plot of AGB 0 has no roots either */
  }
  free(stratum_r);
  return rc;
}

/* --- pools ------------------------------------------------------------------------- */

static int carbon_fraction(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o, cf_stocks_result *r, double *cf) {
  if (isfinite(o->carbon_fraction)) {
    *cf = o->carbon_fraction;
    return add_param(ctx, r, "carbon_fraction", "", *cf, "t C/t d.m.", "setting carbon_fraction", 1);
  }
  cf_param_value v;
  int rc = cf_params_get(ctx, P, "carbon_fraction", "climate_domain", "default", "cf_t_c_per_t_dm", &v);
  if (rc) return rc;
  *cf = v.value;
  return add_table_param(ctx, r, "carbon_fraction", "", &v);
}

/* AR-TOOL12 default fraction of tree carbon (column `col`), or the setting. */
static int dom_fraction(cf_ctx *ctx, const cf_params *P, const cf_stocks_opts *o, cf_stocks_result *r,
                        const cf_kv_num_or_choice *setting, const char *name, const char *col, double *f) {
  if (setting->choice < 0) {
    *f = setting->value;
    return add_param(ctx, r, name, "", *f, "t C/t C", "setting", 1);
  }
  const cf_param_table *t;
  int rc = cf_params_find(ctx, P, "deadwood_litter_artool12", &t), row;
  if (rc) return rc;
  const char *keys[1] = {"biome"}, *vals[1] = {cf_stocks_biome_names[o->biome]};
  const char *lo[2] = {"elevation_min_m", "precip_min_mm_per_yr"}, *hi[2] = {"elevation_max_m", "precip_max_mm_per_yr"};
  double x[2] = {o->elevation_m, o->precipitation_mm};
  int nvars = 2;
  if (!isfinite(x[1])) {
    /* classes that do not split by precipitation take any value; a class
     * that does needs it, and the lookup then says so */
    x[1] = 0;
    int probe;
    cf_ctx *tmp = cf_ctx_create();
    double x2[2] = {x[0], 1e6};
    int a = tmp ? cf_param_table_find_class(tmp, t, 1, keys, vals, 2, lo, hi, x, &probe) : CF_ENOMEM;
    int b = tmp ? cf_param_table_find_class(tmp, t, 1, keys, vals, 2, lo, hi, x2, &row) : CF_ENOMEM;
    if (tmp) cf_ctx_destroy(tmp);
    if (a != CF_OK || b != CF_OK || probe != row)
      return cf_error(ctx, CF_EINVAL, "forest stocks", "precipitation_mm",
                      "%s=ar-tool12 for biome %s at %g m needs precipitation_mm (the AR-TOOL12 classes split by it)",
                      name, vals[0], o->elevation_m);
  }
  rc = cf_param_table_find_class(ctx, t, 1, keys, vals, nvars, lo, hi, x, &row);
  cf_param_value v;
  if (!rc) rc = cf_param_table_number(ctx, t, row, col, &v);
  if (rc) return rc;
  *f = v.value;
  return add_table_param(ctx, r, name, "", &v);
}

/* Per-stratum value: the strata column when given, else the setting. */
static double stratum_or(double column, double setting) { return isfinite(column) ? column : setting; }

/* The AR-TOOL16 factors a stratum's SOC needs, each from the strata
 * column or the setting, never a silent default: an f of 1.0 (no change
 * from the reference) is a claim about the pre-project land that the user
 * makes, so they must say it. `setting` names what to give. */
static int soc_factor(cf_ctx *ctx, const cf_stratum *s, const char *name, double column, double setting, double *v,
                      const char **from) {
  *v = stratum_or(column, setting);
  *from = isfinite(column) ? "strata column" : "setting";
  if (isfinite(*v)) return CF_OK;
  return cf_error(ctx, CF_EINVAL, "forest stocks", name,
                  "pool soc needs %s for stratum '%s' (setting %s= or the strata column %s; AR-TOOL16's factor of the "
                  "pre-project land, 1 for no change from SOC_REF)",
                  name, s->stratum, name, name);
}

static int soc_of(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r, const cf_stratum *s, cf_stocks_stratum *out,
                  double *t_c) {
  double ref = stratum_or(s->soc_ref_t_c_per_ha, o->soc_ref), yrs = stratum_or(s->years_since_planting, o->years_since_planting);
  if (!isfinite(ref))
    return cf_error(ctx, CF_EINVAL, "forest stocks", "soc_ref",
                    "pool soc needs SOC_REF for stratum '%s' (setting soc_ref= or the strata column soc_ref_t_c_per_ha)",
                    s->stratum);
  double lu, mg, in;
  const char *from[5] = {isfinite(s->soc_ref_t_c_per_ha) ? "strata column" : "setting", "", "", "",
                         isfinite(s->years_since_planting) ? "strata column" : "setting"};
  int rc = soc_factor(ctx, s, "f_lu", s->f_lu, o->f_lu, &lu, &from[1]);
  if (!rc) rc = soc_factor(ctx, s, "f_mg", s->f_mg, o->f_mg, &mg, &from[2]);
  if (!rc) rc = soc_factor(ctx, s, "f_in", s->f_in, o->f_in, &in, &from[3]);
  if (rc) return rc;
  if (!isfinite(yrs))
    return cf_error(ctx, CF_EINVAL, "forest stocks", "years_since_planting",
                    "pool soc needs the years since planting for stratum '%s' (setting or strata column)", s->stratum);
  cf_soc_result soc;
  rc = cf_soc_ar_tool16(ctx, ref, lu, mg, in, yrs, &soc);
  if (rc) return cf_error(ctx, rc, "forest stocks", "soc", "stratum '%s'", s->stratum);
  out->soc_initial = soc.soc_initial;
  out->soc_rate = soc.rate;
  *t_c = soc.soc_initial + soc.accrued;
  /* each value is the user's (a setting or a strata column), said so; the
   * AR-TOOL16 formula it enters is named beside it */
  const char *formula = "in CDM AR-TOOL16: SOC_initial = SOC_REF x f_LU x f_MG x f_IN; (SOC_REF - SOC_initial)/20 per "
                        "year, at most 0.8 t C/ha/yr, for at most 20 years";
  const char *names[5] = {"soc_ref", "f_lu", "f_mg", "f_in", "years_since_planting"};
  const char *cols[5] = {"soc_ref_t_c_per_ha", "f_lu", "f_mg", "f_in", "years_since_planting"};
  double vals[5] = {ref, lu, mg, in, yrs};
  const char *units[5] = {"t C/ha", "", "", "", "yr"};
  for (int k = 0; k < 5 && !rc; k++) {
    char src[400];
    if (!strcmp(from[k], "setting"))
      snprintf(src, sizeof src, "setting %s, %s", names[k], formula);
    else
      snprintf(src, sizeof src, "strata column %s of %s, %s", cols[k], r->inv_strata->path, formula);
    rc = add_param(ctx, r, names[k], s->stratum, vals[k], units[k], src, 1);
  }
  return rc;
}

static int stratum_pools(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r, double cf, double dw_frac,
                         double li_frac) {
  for (int h = 0; h < r->n_strata; h++) {
    cf_stocks_stratum *S = &r->strata[h];
    const cf_stratum *s = &r->inv_strata->s[h];
    cf_pools_init_excluded(&S->per_ha, "not in pools");
    S->soc_initial = S->soc_rate = NAN;
    double agb_c = S->agb_mean * cf, tree_c = S->biomass.mean * cf;
    if (o->pools & CF_POOL_BIT(CF_POOL_AGB)) S->per_ha.pool[CF_POOL_AGB] = cf_pool_estimated(agb_c);
    if (o->pools & CF_POOL_BIT(CF_POOL_BGB)) S->per_ha.pool[CF_POOL_BGB] = cf_pool_estimated(tree_c - agb_c);
    if (o->pools & CF_POOL_BIT(CF_POOL_DEADWOOD)) S->per_ha.pool[CF_POOL_DEADWOOD] = cf_pool_estimated(dw_frac * tree_c);
    if (o->pools & CF_POOL_BIT(CF_POOL_LITTER)) S->per_ha.pool[CF_POOL_LITTER] = cf_pool_estimated(li_frac * tree_c);
    if (o->pools & CF_POOL_BIT(CF_POOL_SOC)) {
      double soc = 0;
      int rc = soc_of(ctx, o, r, s, S, &soc);
      if (rc) return rc;
      S->per_ha.pool[CF_POOL_SOC] = cf_pool_estimated(soc);
    }
    double sum;
    int rc = cf_pools_sum(ctx, &S->per_ha, &sum, NULL);
    if (rc) return rc;
    S->stock_t_co2e = cf_carbon_to_co2e(sum * S->area_ha);
  }
  return CF_OK;
}

/* --- settings checked before any input is read ---------------------------------------- */

int cf_stocks_opts_check(cf_ctx *ctx, const cf_stocks_opts *o, unsigned what) {
  cf_params *P = NULL;
  int rc = cf_params_load(ctx, &P);
  cf_stocks_result scratch;
  memset(&scratch, 0, sizeof scratch);
  double f;
  if (!rc && (what & CF_STOCKS_CHECK_POOLS) && !o->pools)
    rc = cf_error(ctx, CF_EINVAL, "forest stocks", "pools", "name at least one pool (agb,bgb,deadwood,litter,soc)");
  if (!rc && (what & CF_STOCKS_CHECK_ALLOMETRY)) rc = check_allometry(ctx, P, o);
  if (!rc && (what & CF_STOCKS_CHECK_POOLS) && (o->pools & CF_POOL_BIT(CF_POOL_DEADWOOD)))
    rc = dom_fraction(ctx, P, o, &scratch, &o->deadwood_fraction, "deadwood_fraction", "deadwood_fraction", &f);
  if (!rc && (what & CF_STOCKS_CHECK_POOLS) && (o->pools & CF_POOL_BIT(CF_POOL_LITTER)))
    rc = dom_fraction(ctx, P, o, &scratch, &o->litter_fraction, "litter_fraction", "litter_fraction", &f);
  free(scratch.params);
  cf_params_free(P);
  return rc ? (rc == CF_ENOMEM ? rc : CF_EINVAL) : CF_OK;
}

/* --- a pool map's parameters from the same settings ------------------------------------- */

int cf_stocks_map_params(cf_ctx *ctx, const cf_stocks_opts *o, cf_pool_map_params *p, cf_soc_result *soc) {
  memset(p, 0, sizeof *p);
  cf_params *P = NULL;
  cf_stocks_result scratch;
  memset(&scratch, 0, sizeof scratch);
  int rc = cf_params_load(ctx, &P);
  if (!rc) rc = carbon_fraction(ctx, P, o, &scratch, &p->carbon_fraction);
  if (!rc && o->root_shoot.choice == ROOT_IPCC2006)
    rc = cf_error(ctx, CF_EINVAL, "pool map", "root_shoot",
                  "ipcc2006 takes the stratum's ecozone, which a pixel does not have: give ar-tool14 or a ratio");
  p->root_shoot = o->root_shoot.choice == ROOT_AR_TOOL14 ? CF_ROOT_SHOOT_AR_TOOL14 : CF_ROOT_SHOOT_FIXED;
  p->root_shoot_ratio = o->root_shoot.choice < 0 ? o->root_shoot.value : NAN;
  if (!rc && (o->pools & CF_POOL_BIT(CF_POOL_DEADWOOD)))
    rc = dom_fraction(ctx, P, o, &scratch, &o->deadwood_fraction, "deadwood_fraction", "deadwood_fraction",
                      &p->deadwood_fraction);
  if (!rc && (o->pools & CF_POOL_BIT(CF_POOL_LITTER)))
    rc = dom_fraction(ctx, P, o, &scratch, &o->litter_fraction, "litter_fraction", "litter_fraction",
                      &p->litter_fraction);
  p->pools = o->pools;
  p->soc_t_c_per_ha = NAN;
  if (!rc && (o->pools & CF_POOL_BIT(CF_POOL_SOC))) {
    if (!(o->soc_ref > 0))
      rc = cf_error(ctx, CF_EINVAL, "pool map", "soc_ref", "soc is in pools: give soc_ref (t C/ha, > 0)");
    else if (!isfinite(o->years_since_planting))
      rc = cf_error(ctx, CF_EINVAL, "pool map", "years_since_planting", "soc is in pools: give years_since_planting");
    const char *fn[3] = {"f_lu", "f_mg", "f_in"};
    double fv[3] = {o->f_lu, o->f_mg, o->f_in};
    for (int k = 0; k < 3 && !rc; k++)
      if (!isfinite(fv[k]))
        rc = cf_error(ctx, CF_EINVAL, "pool map", fn[k],
                      "soc is in pools: give %s (AR-TOOL16's factor of the pre-project land, 1 for no change)", fn[k]);
    cf_soc_result r;
    if (!rc) rc = cf_soc_ar_tool16(ctx, o->soc_ref, o->f_lu, o->f_mg, o->f_in, o->years_since_planting, &r);
    if (!rc) {
      p->soc_t_c_per_ha = r.soc_initial + r.accrued;
      if (soc) *soc = r;
    }
  }
  free(scratch.params);
  cf_params_free(P);
  return rc ? rc : cf_pool_map_params_check(ctx, p, "pool map");
}

/* --- the steps and the driver ------------------------------------------------------ */

static void add_input(cf_stocks_result *r, const char *role, const char *path, const char *sha, const char *options) {
  cf_stocks_input *in = &r->inputs[r->ninputs++];
  in->options = options;
  snprintf(in->role, sizeof in->role, "%s", role);
  snprintf(in->path, sizeof in->path, "%s", path);
  snprintf(in->sha256, sizeof in->sha256, "%s", sha);
}

int cf_stocks_begin(cf_ctx *ctx, cf_trees *trees, const cf_plots *plots, const cf_strata *strata, cf_stocks_result *r) {
  memset(r, 0, sizeof *r);
  r->trees = trees;
  r->plots = plots;
  r->inv_strata = strata;
  int rc = cf_params_load(ctx, &r->tables);
  if (!rc) rc = cf_inventory_link(ctx, trees, plots, strata);
  if (rc) return rc;
  add_input(r, "plots", plots->path, plots->sha256, plots->options);
  if (trees) add_input(r, "trees", trees->path, trees->sha256, trees->options);
  add_input(r, "strata", strata->path, strata->sha256, strata->options);
  return CF_OK;
}

int cf_stocks_allometry(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r) {
  r->year = choose_year(o, r->trees, r->plots);
  size_t nt = r->trees ? r->trees->n : 0;
  double *kg = calloc(nt ? nt : 1, sizeof *kg);
  cf_plot_total *tot = NULL;
  size_t ntot = 0;
  int rc = kg ? CF_OK : cf_error(ctx, CF_ENOMEM, r->plots->path, "", "out of memory");
  if (!rc && r->trees) rc = check_allometry(ctx, r->tables, o);
  if (!rc && r->trees) rc = stem_biomass(ctx, r->tables, o, r, r->year, kg);
  if (!rc) rc = cf_inventory_plot_totals(ctx, r->plots, r->trees, kg, &tot, &ntot);
  if (!rc) rc = plots_of_year(ctx, r, r->year, tot, ntot);
  free(kg);
  free(tot);
  return rc;
}

int cf_stocks_estimate(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r) {
  int rc = plot_biomass(ctx, r->tables, o, r);
  if (rc) return rc;
  r->n_strata = (int)r->inv_strata->n;
  r->strata = calloc((size_t)r->n_strata + 1, sizeof *r->strata);
  r->areas = malloc(((size_t)r->n_strata + 1) * sizeof *r->areas);
  int *stratum_of = malloc(((size_t)r->n_est_plots + 1) * sizeof *stratum_of);
  const char **names = malloc(((size_t)r->n_strata + 1) * sizeof *names);
  cf_stratum_estimate *est = calloc((size_t)r->n_strata + 1, sizeof *est);
  if (!r->strata || !r->areas || !stratum_of || !names || !est) {
    rc = cf_error(ctx, CF_ENOMEM, r->plots->path, "", "out of memory");
    goto done;
  }
  for (int h = 0; h < r->n_strata; h++) {
    r->areas[h] = r->inv_strata->s[h].area_ha;
    names[h] = r->inv_strata->s[h].stratum;
  }
  for (int i = 0; i < r->n_est_plots; i++)
    stratum_of[i] = (int)cf_strata_find(r->inv_strata, r->plots->p[r->plot_index[i]].stratum);
  rc = cf_stratified_estimate_compute(ctx, r->n_est_plots, r->plot_biomass, stratum_of, r->n_strata, r->areas, names,
                                      o->confidence, est, &r->estimate);
  if (rc) { /* a stratum with too few plots, an area of 0: the inventory cannot be used */
    rc = cf_error(ctx, rc == CF_ENOMEM ? rc : CF_EDATA, r->plots->path, "", "monitoring year %d", r->year);
    goto done;
  }
  for (int h = 0; h < r->n_strata; h++) {
    cf_stocks_stratum *S = &r->strata[h];
    S->name = names[h];
    S->area_ha = r->areas[h];
    S->biomass = est[h];
    S->n_plots = est[h].n;
    double sum = 0;
    for (int i = 0; i < r->n_est_plots; i++)
      if (stratum_of[i] == h) sum += r->plot_agb[i];
    S->agb_mean = est[h].n ? sum / est[h].n : NAN;
  }
  rc = add_param(ctx, r, "t_value", "", r->estimate.t_value, "",
                 "Student t, two-sided at the confidence level, df = plots - strata (AR-TOOL14)", 1);
done:
  free(stratum_of);
  free(names);
  free(est);
  return rc;
}

int cf_stocks_pools(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r) {
  const cf_params *P = r->tables;
  double cf = 0, dw = 0, li = 0;
  int rc = carbon_fraction(ctx, P, o, r, &cf);
  if (!rc && (o->pools & CF_POOL_BIT(CF_POOL_DEADWOOD)))
    rc = dom_fraction(ctx, P, o, r, &o->deadwood_fraction, "deadwood_fraction", "deadwood_fraction", &dw);
  if (!rc && (o->pools & CF_POOL_BIT(CF_POOL_LITTER)))
    rc = dom_fraction(ctx, P, o, r, &o->litter_fraction, "litter_fraction", "litter_fraction", &li);
  if (!rc) rc = stratum_pools(ctx, o, r, cf, dw, li);
  if (rc) return rc;
  cf_pools *per_ha = malloc(((size_t)r->n_strata + 1) * sizeof *per_ha);
  if (!per_ha) return cf_error(ctx, CF_ENOMEM, r->plots->path, "", "out of memory");
  for (int h = 0; h < r->n_strata; h++) per_ha[h] = r->strata[h].per_ha;
  /* The policies' bands are defined on the half-width of the 90 % interval
   * (AR-TOOL14, VM0047, GS): the deduction takes U at 90 % whatever
   * `confidence` the report states U at. A project without trees (every
   * plot 0, the usual baseline) has no relative uncertainty: nothing to
   * deduct. */
  const cf_stratified_estimate *E = &r->estimate;
  double t90 = NAN, u90 = 0;
  if (E->mean > 0) {
    rc = cf_student_t_critical(ctx, 0.90, E->df, &t90);
    if (rc) {
      free(per_ha);
      return rc;
    }
    u90 = t90 * E->se / E->mean * 100.0;
  } else if (E->se > 0) {
    free(per_ha);
    return cf_error(ctx, CF_EDATA, r->plots->path, "", "the mean tree biomass is %g with a standard error of %g: "
                    "no relative uncertainty to discount", E->mean, E->se);
  }
  r->uncertainty_pct_90 = E->mean > 0 ? u90 : NAN;
  /* Dead wood and litter are fractions of tree carbon here (AR-TOOL12, a
   * given fraction or the tool's default), so they carry the tree
   * biomass's sampling error at the same U: the deduction is on all the
   * tree-proportional pools, as the ledger's change takes them as sampled
   * (sink/issuance/change.h). SOC is modelled, not sampled. */
  const unsigned sampled = CF_POOLS_TREES | CF_POOL_BIT(CF_POOL_DEADWOOD) | CF_POOL_BIT(CF_POOL_LITTER);
  rc = cf_project_totals_compute(ctx, r->n_strata, per_ha, r->areas, cf_stocks_discount_names[o->discount],
                                 (cf_discount_side)o->side, sampled, u90, &r->totals);
  free(per_ha);
  if (!rc) {
    const cf_discount_policy *pol = cf_discount_policy_find(cf_stocks_discount_names[o->discount]);
    /* the band table is transcribed, not compared with the tool's PDF: not checked */
    rc = add_param(ctx, r, "discount", "", NAN, "", pol ? pol->source : "", o->discount == 0);
  }
  r->discount = o->discount;
  r->side = o->side;
  r->confidence = o->confidence;
  if (!rc)
    cf_log(ctx, CF_LOG_INFO, "forest stocks%s%.0d: %d plots in %d strata, %ld live stems (%ld dead not counted, %ld "
           "outside their equation's DBH range), U = %.2f %%", r->year ? " " : "", r->year, r->n_est_plots,
           r->n_strata, r->n_stems, r->n_dead_stems, r->n_out_of_range, r->estimate.uncertainty_pct);
  return rc;
}

int cf_forest_stocks(cf_ctx *ctx, const char *plots_path, const char *trees_path, const char *strata_path,
                     const cf_inv_options *inv, const cf_stocks_opts *o, cf_stocks_result *r) {
  memset(r, 0, sizeof *r);
  cf_trees *trees = calloc(1, sizeof *trees);
  cf_plots *plots = calloc(1, sizeof *plots);
  cf_strata *strata = calloc(1, sizeof *strata);
  int rc = trees && plots && strata ? CF_OK : cf_error(ctx, CF_ENOMEM, plots_path, "", "out of memory");
  if (!rc) rc = cf_stocks_opts_check(ctx, o, CF_STOCKS_CHECK_ALLOMETRY | CF_STOCKS_CHECK_POOLS);
  if (!rc) rc = cf_strata_read(ctx, strata_path, inv, strata);
  if (!rc) rc = cf_plots_read(ctx, plots_path, inv, plots);
  if (!rc && trees_path) rc = cf_trees_read(ctx, trees_path, inv, trees);
  if (!rc) rc = cf_stocks_begin(ctx, trees_path ? trees : NULL, plots, strata, r);
  /* the result owns what it read */
  r->own_trees = trees;
  r->own_plots = plots;
  r->own_strata = strata;
  if (!rc) rc = cf_stocks_allometry(ctx, o, r);
  if (!rc) rc = cf_stocks_estimate(ctx, o, r);
  if (!rc) rc = cf_stocks_pools(ctx, o, r);
  return rc;
}

void cf_stocks_result_free(cf_stocks_result *r) {
  if (!r) return;
  free(r->strata);
  free(r->areas);
  free(r->params);
  free(r->plot_agb);
  free(r->plot_biomass);
  free(r->plot_r);
  free(r->plot_index);
  cf_params_free(r->tables);
  if (r->own_plots) cf_plots_free(r->own_plots);
  if (r->own_trees) cf_trees_free(r->own_trees);
  if (r->own_strata) cf_strata_free(r->own_strata);
  free(r->own_plots);
  free(r->own_trees);
  free(r->own_strata);
  memset(r, 0, sizeof *r);
}
