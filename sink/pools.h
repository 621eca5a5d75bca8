/*
 * Per-hectare carbon pool arithmetic for forest carbon stocks: below-ground
 * biomass from above-ground biomass, carbon and CO2e, dead wood and litter
 * as fractions of tree carbon (AR-TOOL12), soil organic carbon
 * (AR-TOOL16), and the project totals with the uncertainty deduction.
 *
 * "Not estimated" is not zero. A pool the project does not estimate (not
 * in `pools`, or no data) is a cf_pool_value with estimated = 0, value NaN
 * and a reason; cf_pool_get refuses to hand out its value and cf_pools_sum
 * skips it and lists it. So a total never silently counts an excluded pool
 * as 0 t, and the report can write null plus the reason.
 *
 * Sources (each repeated at its function):
 *  - BGB: AR-TOOL14 v04.2 Appendix 1 (default root-shoot function, with
 *    eqs. A1.4/A1.5): R(b) = exp(-1.085 + 0.9256 ln b) / b, b = AGB in
 *    t d.m./ha, "unless transparent and verifiable information can be
 *    provided to justify a different value" (the regression is commonly
 *    attributed to Cairns et al. 1997, Oecologia 111:1-11); or a tabulated R (IPCC 2006 Vol. 4
 *    Table 4.4, looked up by the caller); or a fixed ratio.
 *  - carbon: t C = t d.m. x CF (IPCC default 0.47, the caller's setting);
 *    t CO2e = 44/12 t C (molar masses of CO2 and C, the ratio the CDM
 *    tools use).
 *  - dead wood, litter: AR-TOOL12 (v3.1) conservative default method,
 *    C_DW = C_TREE x DF_DW, C_LI = C_TREE x DF_LI; or measured values.
 *    The default factors are NOT verified against the tool (see pools.c).
 *  - SOC: AR-TOOL16 (v1.1.0): SOC_INITIAL = SOC_REF f_LU f_MG f_IN; the
 *    rate of increase (SOC_REF - SOC_INITIAL) / 20 years, at most 0.8 t
 *    C/ha/yr, for at most 20 years after planting.
 */
#ifndef CF_SINK_POOLS_H
#define CF_SINK_POOLS_H

#include "carbonflux/ctx.h"
#include "sink/discount.h"

/* t CO2 per t C: 44/12 */
#define CF_CO2_PER_C (44.0 / 12.0)

/* --- below-ground biomass ------------------------------------------------- */

typedef enum {
  CF_ROOT_SHOOT_AR_TOOL14 = 0, /* R(b) from the AR-TOOL14 function */
  CF_ROOT_SHOOT_TABLE = 1,     /* R from a table (IPCC by ecozone), given by the caller */
  CF_ROOT_SHOOT_FIXED = 2      /* a fixed ratio, given by the caller */
} cf_root_shoot_mode;

/* AR-TOOL14's R(b) = exp(-1.085 + 0.9256 ln b) / b for b > 0 t d.m./ha;
 * NaN for b <= 0 or not finite. */
double cf_root_shoot_ar_tool14(double agb_t_dm_per_ha);

/* BGB (t d.m./ha) from AGB by the chosen mode; `ratio` is used by TABLE and
 * FIXED (finite, >= 0) and ignored by AR_TOOL14. AGB must be finite and
 * >= 0; AGB = 0 gives BGB = 0 in every mode. *r_out (may be NULL) gets R
 * (NaN for AR_TOOL14 at AGB = 0, where R is undefined). */
int cf_bgb(cf_ctx *ctx, cf_root_shoot_mode mode, double agb_t_dm_per_ha, double ratio,
           double *bgb_t_dm_per_ha, double *r_out);

/* --- carbon --------------------------------------------------------------- */

/* t C from t d.m.; CF in (0, 1]. CF_EINVAL otherwise or for a biomass that
 * is not finite and >= 0. */
int cf_biomass_to_carbon(cf_ctx *ctx, double biomass_t_dm, double carbon_fraction, double *t_c);
/* t CO2e = 44/12 t C */
double cf_carbon_to_co2e(double t_c);

/* --- dead wood and litter (AR-TOOL12) ------------------------------------- */

/* The default fractions are rows of the table deadwood_litter_artool12
 * (sink/params.h), looked up by biome, elevation and precipitation. */

/* Dead-wood or litter carbon (t C/ha) = tree carbon (t C/ha, AGB + BGB) x
 * fraction; fraction in [0, 1]. */
int cf_dom_from_fraction(cf_ctx *ctx, double tree_t_c_per_ha, double fraction, double *t_c_per_ha);

/* --- soil organic carbon (AR-TOOL16) -------------------------------------- */

typedef struct {
  double soc_initial;  /* t C/ha: SOC_REF f_LU f_MG f_IN */
  double rate;         /* t C/ha/yr, >= 0, <= 0.8 */
  int capped;          /* the 0.8 t C/ha/yr cap applied */
  double years_counted;/* min(years since planting, 20) */
  double accrued;      /* t C/ha gained since planting: rate x years_counted */
} cf_soc_result;

#define CF_SOC_RATE_CAP 0.8
#define CF_SOC_YEARS 20.0

/* SOC_REF (t C/ha) finite > 0, factors finite > 0, years finite >= 0. When
 * SOC_INITIAL >= SOC_REF the tool gives no increase: rate 0. */
int cf_soc_ar_tool16(cf_ctx *ctx, double soc_ref, double f_lu, double f_mg, double f_in,
                     double years_since_planting, cf_soc_result *out);

/* --- pools: a value or a reason, never a silent zero ---------------------- */

typedef enum {
  CF_POOL_AGB = 0,
  CF_POOL_BGB,
  CF_POOL_DEADWOOD,
  CF_POOL_LITTER,
  CF_POOL_SOC,
  CF_POOL_COUNT
} cf_pool_id;

#define CF_POOL_BIT(id) (1u << (id))
#define CF_POOLS_TREES (CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_BGB))

typedef struct {
  int estimated;   /* 1: value holds; 0: excluded, value is NaN */
  double value;
  char reason[96]; /* why excluded ("not in pools"); empty when estimated */
} cf_pool_value;

typedef struct {
  cf_pool_value pool[CF_POOL_COUNT];
} cf_pools;

/* "agb", "bgb", "deadwood", "litter", "soc"; NULL for a bad id. */
const char *cf_pool_name(cf_pool_id id);
/* CF_EINVAL for an unknown name. */
int cf_pool_parse(cf_ctx *ctx, const char *name, cf_pool_id *id);

cf_pool_value cf_pool_estimated(double value);
cf_pool_value cf_pool_excluded(const char *reason);
/* Every pool excluded with `reason` (a starting point to fill in). */
void cf_pools_init_excluded(cf_pools *p, const char *reason);

/* The value of an estimated pool; CF_EINVAL naming the pool and its
 * reason if it is excluded (it has no value to give). */
int cf_pool_get(cf_ctx *ctx, const cf_pools *p, cf_pool_id id, double *value);

/* Sum of the estimated pools; *excluded (may be NULL) gets the bit set of
 * the excluded ones (their reasons are in p). CF_EDATA for an estimated
 * pool whose value is not finite, or an excluded one without a reason. */
int cf_pools_sum(cf_ctx *ctx, const cf_pools *p, double *sum, unsigned *excluded);

/* --- project totals ------------------------------------------------------- */

typedef struct {
  double area_ha;
  cf_pools t_co2e;               /* per pool over all strata; excluded stay excluded */
  unsigned excluded;             /* bit set of excluded pools */
  double total_t_co2e;           /* sum of the estimated pools, undiscounted */
  const char *policy;            /* the policy's name (static) */
  cf_discount_side side;
  unsigned discount_pools;       /* the pools the deduction was computed on */
  double discount_base_t_co2e;   /* their sum */
  double half_width_t_co2e;      /* U% x base / 100 */
  cf_discount_result discount;   /* deduction, discounted base, fraction of the half-width */
  double total_discounted_t_co2e;/* total -/+ deduction */
} cf_project_totals;

/* per_ha[h] holds stratum h's pools in t C/ha; every pool must be estimated
 * in all strata or in none (CF_EDATA otherwise, naming both strata). The
 * deduction of `policy` at `uncertainty_pct` (the tree-biomass U% of the
 * stratified estimate) is computed on the estimated pools in
 * `discount_pools` (CF_POOLS_TREES by default use) and subtracted from
 * (project) or added to (baseline) the total. */
int cf_project_totals_compute(cf_ctx *ctx, int n_strata, const cf_pools *per_ha,
                              const double *area_ha, const char *policy, cf_discount_side side,
                              unsigned discount_pools, double uncertainty_pct,
                              cf_project_totals *out);

#endif
