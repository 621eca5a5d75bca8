/* Per-hectare pool arithmetic and project totals; the sources are in
 * pools.h and repeated at each function. */
#include "sink/pools.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *WHERE = "pools";

/* --- below-ground biomass ------------------------------------------------- */

/* AR-TOOL14 v04.2 Appendix 1, the default root-shoot function of AGB per
 * hectare: R = exp(-1.085 + 0.9256 ln b) / b, i.e. the regression BGB =
 * exp(-1.085 + 0.9256 ln AGB) (t d.m./ha; commonly attributed to Cairns et
 * al. 1997, which the tool does not name) divided by AGB. */
double cf_root_shoot_ar_tool14(double b) {
  if (!isfinite(b) || !(b > 0.0)) return NAN;
  return exp(-1.085 + 0.9256 * log(b)) / b;
}

int cf_bgb(cf_ctx *ctx, cf_root_shoot_mode mode, double agb, double ratio, double *bgb,
           double *r_out) {
  if (!isfinite(agb) || agb < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "agb_t_dm_per_ha", "must be finite and >= 0, got %g",
                    agb);
  double r;
  switch (mode) {
  case CF_ROOT_SHOOT_AR_TOOL14:
    r = cf_root_shoot_ar_tool14(agb); /* NaN at agb = 0: R undefined, BGB = 0 */
    break;
  case CF_ROOT_SHOOT_TABLE:
  case CF_ROOT_SHOOT_FIXED:
    if (!isfinite(ratio) || ratio < 0.0)
      return cf_error(ctx, CF_EINVAL, WHERE, "root_shoot", "ratio must be finite and >= 0, got %g",
                      ratio);
    r = ratio;
    break;
  default:
    return cf_error(ctx, CF_EINVAL, WHERE, "root_shoot", "unknown mode %d", (int)mode);
  }
  *bgb = agb > 0.0 ? agb * r : 0.0;
  if (r_out) *r_out = r;
  return CF_OK;
}

/* --- carbon --------------------------------------------------------------- */

/* IPCC 2006 Vol. 4 eq. 2.8 form: C = biomass x CF (CF default 0.47, Table
 * 4.3; the caller passes its setting). */
int cf_biomass_to_carbon(cf_ctx *ctx, double biomass, double cf, double *t_c) {
  if (!isfinite(cf) || !(cf > 0.0 && cf <= 1.0))
    return cf_error(ctx, CF_EINVAL, WHERE, "carbon_fraction", "must be in (0, 1], got %g", cf);
  if (!isfinite(biomass) || biomass < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "biomass", "must be finite and >= 0, got %g", biomass);
  *t_c = biomass * cf;
  return CF_OK;
}

/* 44/12: molar mass of CO2 over that of C, as in every CDM A/R tool. */
double cf_carbon_to_co2e(double t_c) { return CF_CO2_PER_C * t_c; }

/* --- dead wood and litter (AR-TOOL12) ------------------------------------- */

/* The default fractions themselves are rows of the table
 * sink/tables/deadwood_litter_artool12.csv (one copy, with its source),
 * looked up by sink/stocks.c; here only the arithmetic. */
int cf_dom_from_fraction(cf_ctx *ctx, double tree_t_c, double fraction, double *t_c) {
  if (!isfinite(tree_t_c) || tree_t_c < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "tree_t_c_per_ha", "must be finite and >= 0, got %g",
                    tree_t_c);
  if (!isfinite(fraction) || fraction < 0.0 || fraction > 1.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "fraction", "must be in [0, 1], got %g", fraction);
  *t_c = tree_t_c * fraction;
  return CF_OK;
}

/* --- soil organic carbon (AR-TOOL16) -------------------------------------- */

/* AR-TOOL16 "Tool for estimation of change in soil organic carbon stocks
 * due to the implementation of A/R CDM project activities" (v1.1.0):
 * SOC_INITIAL = SOC_REF x f_LU x f_MG x f_IN; the rate of change is
 * (SOC_REF - SOC_INITIAL) / 20 per year, not more than 0.8 t C/ha/yr, for
 * 20 years from planting. The tool's remaining applicability conditions
 * (no organic soils or wetlands, litter left on site, soil disturbance on
 * at most 10 % of the area...) are facts about the site, not numbers, and
 * are the project's to state; the numeric one checked here is that the
 * modelled change is an increase: SOC_INITIAL >= SOC_REF gives rate 0. */
int cf_soc_ar_tool16(cf_ctx *ctx, double soc_ref, double f_lu, double f_mg, double f_in,
                     double years, cf_soc_result *out) {
  if (!isfinite(soc_ref) || !(soc_ref > 0.0))
    return cf_error(ctx, CF_EINVAL, WHERE, "soc_ref", "must be > 0 t C/ha, got %g", soc_ref);
  const double f[3] = {f_lu, f_mg, f_in};
  static const char *fname[3] = {"f_lu", "f_mg", "f_in"};
  for (int i = 0; i < 3; i++)
    if (!isfinite(f[i]) || !(f[i] > 0.0))
      return cf_error(ctx, CF_EINVAL, WHERE, fname[i], "must be finite and > 0, got %g", f[i]);
  if (!isfinite(years) || years < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "years_since_planting",
                    "must be finite and >= 0, got %g", years);
  out->soc_initial = soc_ref * f_lu * f_mg * f_in;
  double rate = (soc_ref - out->soc_initial) / CF_SOC_YEARS;
  if (!(rate > 0.0)) rate = 0.0;
  out->capped = rate > CF_SOC_RATE_CAP;
  out->rate = out->capped ? CF_SOC_RATE_CAP : rate;
  out->years_counted = years < CF_SOC_YEARS ? years : CF_SOC_YEARS;
  out->accrued = out->rate * out->years_counted;
  return CF_OK;
}

/* --- pools ---------------------------------------------------------------- */

static const char *POOL_NAMES[CF_POOL_COUNT] = {"agb", "bgb", "deadwood", "litter", "soc"};

const char *cf_pool_name(cf_pool_id id) {
  return (int)id >= 0 && id < CF_POOL_COUNT ? POOL_NAMES[id] : NULL;
}

int cf_pool_parse(cf_ctx *ctx, const char *name, cf_pool_id *id) {
  for (int i = 0; name && i < CF_POOL_COUNT; i++)
    if (strcmp(name, POOL_NAMES[i]) == 0) {
      *id = (cf_pool_id)i;
      return CF_OK;
    }
  return cf_error(ctx, CF_EINVAL, WHERE, "pools",
                  "unknown pool \"%s\" (known: agb, bgb, deadwood, litter, soc)",
                  name ? name : "(null)");
}

cf_pool_value cf_pool_estimated(double value) {
  cf_pool_value v;
  v.estimated = 1;
  v.value = value;
  v.reason[0] = '\0';
  return v;
}

cf_pool_value cf_pool_excluded(const char *reason) {
  cf_pool_value v;
  v.estimated = 0;
  v.value = NAN;
  snprintf(v.reason, sizeof v.reason, "%s", reason && reason[0] ? reason : "not estimated");
  return v;
}

void cf_pools_init_excluded(cf_pools *p, const char *reason) {
  for (int i = 0; i < CF_POOL_COUNT; i++) p->pool[i] = cf_pool_excluded(reason);
}

int cf_pool_get(cf_ctx *ctx, const cf_pools *p, cf_pool_id id, double *value) {
  if ((int)id < 0 || id >= CF_POOL_COUNT)
    return cf_error(ctx, CF_EINVAL, WHERE, "pool", "unknown pool id %d", (int)id);
  const cf_pool_value *v = &p->pool[id];
  if (!v->estimated)
    return cf_error(ctx, CF_EINVAL, WHERE, POOL_NAMES[id],
                    "pool %s is not estimated (%s): it has no value, not even 0", POOL_NAMES[id],
                    v->reason);
  *value = v->value;
  return CF_OK;
}

int cf_pools_sum(cf_ctx *ctx, const cf_pools *p, double *sum, unsigned *excluded) {
  double s = 0.0;
  unsigned ex = 0;
  for (int i = 0; i < CF_POOL_COUNT; i++) {
    const cf_pool_value *v = &p->pool[i];
    if (!v->estimated) {
      if (!v->reason[0])
        return cf_error(ctx, CF_EDATA, WHERE, POOL_NAMES[i],
                        "pool %s is excluded without a reason", POOL_NAMES[i]);
      ex |= CF_POOL_BIT(i);
      continue;
    }
    if (!isfinite(v->value))
      return cf_error(ctx, CF_EDATA, WHERE, POOL_NAMES[i],
                      "pool %s is marked estimated but its value is %g", POOL_NAMES[i], v->value);
    s += v->value;
  }
  *sum = s;
  if (excluded) *excluded = ex;
  return CF_OK;
}

/* --- project totals ------------------------------------------------------- */

int cf_project_totals_compute(cf_ctx *ctx, int n_strata, const cf_pools *per_ha,
                              const double *area_ha, const char *policy, cf_discount_side side,
                              unsigned discount_pools, double u_pct, cf_project_totals *out) {
  static const char *W = "project totals";
  if (n_strata < 1 || !per_ha || !area_ha)
    return cf_error(ctx, CF_EINVAL, W, "strata", "no strata (%d given)", n_strata);
  if (discount_pools & ~((1u << CF_POOL_COUNT) - 1u))
    return cf_error(ctx, CF_EINVAL, W, "discount_pools", "unknown pool bits 0x%x",
                    discount_pools);
  double area = 0.0;
  for (int h = 0; h < n_strata; h++) {
    if (!isfinite(area_ha[h]) || !(area_ha[h] > 0.0))
      return cf_error(ctx, CF_EINVAL, W, "area_ha", "stratum %d: area must be > 0 ha, got %g", h,
                      area_ha[h]);
    area += area_ha[h];
  }
  out->area_ha = area;
  out->excluded = 0;
  for (int i = 0; i < CF_POOL_COUNT; i++) {
    const cf_pool_value *first = &per_ha[0].pool[i];
    if (!first->estimated) {
      for (int h = 1; h < n_strata; h++)
        if (per_ha[h].pool[i].estimated)
          return cf_error(ctx, CF_EDATA, W, POOL_NAMES[i],
                          "pool %s is estimated in stratum %d but not in stratum 0 (%s)",
                          POOL_NAMES[i], h, first->reason);
      out->t_co2e.pool[i] = cf_pool_excluded(first->reason);
      out->excluded |= CF_POOL_BIT(i);
      continue;
    }
    double t_c = 0.0;
    for (int h = 0; h < n_strata; h++) {
      const cf_pool_value *v = &per_ha[h].pool[i];
      if (!v->estimated)
        return cf_error(ctx, CF_EDATA, W, POOL_NAMES[i],
                        "pool %s is estimated in stratum 0 but not in stratum %d (%s)",
                        POOL_NAMES[i], h, v->reason);
      if (!isfinite(v->value))
        return cf_error(ctx, CF_EDATA, W, POOL_NAMES[i], "pool %s in stratum %d is %g",
                        POOL_NAMES[i], h, v->value);
      t_c += v->value * area_ha[h];
    }
    out->t_co2e.pool[i] = cf_pool_estimated(cf_carbon_to_co2e(t_c));
  }
  int rc = cf_pools_sum(ctx, &out->t_co2e, &out->total_t_co2e, NULL);
  if (rc) return rc;

  out->side = side;
  out->discount_pools = discount_pools & ~out->excluded;
  double base = 0.0;
  for (int i = 0; i < CF_POOL_COUNT; i++)
    if (out->discount_pools & CF_POOL_BIT(i)) base += out->t_co2e.pool[i].value;
  out->discount_base_t_co2e = base;
  const cf_discount_policy *p = cf_discount_policy_find(policy);
  out->policy = p ? p->name : NULL;
  if (p && strcmp(p->name, "none") == 0 && !isfinite(u_pct)) u_pct = 0.0; /* U not needed */
  out->half_width_t_co2e = isfinite(u_pct) && u_pct >= 0.0 ? u_pct / 100.0 * fabs(base) : NAN;
  rc = cf_discount_apply(ctx, policy, base, u_pct, out->half_width_t_co2e, side, &out->discount);
  if (rc) return cf_error(ctx, rc, W, "discount", "the deduction could not be computed");
  out->total_discounted_t_co2e = side == CF_SIDE_PROJECT ? out->total_t_co2e - out->discount.deduction
                                                         : out->total_t_co2e + out->discount.deduction;
  return CF_OK;
}
