/*
 * Forest carbon stocks of a project at one monitoring date: from plot and
 * tree inventories and strata to the five IPCC pools per stratum and for
 * the project, with the AR-TOOL14 uncertainty and its discount.
 *
 * The chain (each step in its own file; this one only drives them):
 *   inventories (sink/inventory.h)  -> stems of the monitoring year
 *   allometry (sink/allometry.h)    -> kg d.m. per live stem; dead stems
 *                                      never count as live biomass
 *   plot totals                     -> AGB per plot, t d.m./ha
 *   root-to-shoot (sink/pools.h)    -> tree biomass per plot, AGB x (1 + R):
 *                                      R per plot from the AR-TOOL14
 *                                      function of that plot's AGB, from
 *                                      IPCC 2006 Table 4.4 by the stratum's
 *                                      ecozone, or a fixed ratio
 *   stratified estimate (AR-TOOL14) -> mean, SD, SE per stratum, the
 *                                      area-weighted project mean, t(df =
 *                                      plots - strata) and U%
 *   pools per stratum, t C/ha       -> agb, bgb = CF x stratum means; dead
 *                                      wood and litter as fractions of tree
 *                                      carbon (AR-TOOL12) or given; SOC
 *                                      (AR-TOOL16) = SOC_initial + accrual
 *   project totals, t CO2e          -> the discount of the chosen policy on
 *                                      the tree pools and dead wood and
 *                                      litter, their fractions (their U% is
 *                                      the stratified estimate's)
 * Report and CSV: sink/stocks_report.c, the contract of
 * ../shared/spec/forest-io.md.
 *
 * The settings are the spec's fixed names, each declared once below (an
 * X-macro row: name, type, field, range, unit, choices, help) and read by
 * every interface: `carbonflux forest stocks KEY=VALUE` and its --help,
 * and the report's "settings" object. The inventory's own keys (col.FIELD,
 * years, live_codes, dead_codes, stratum_field) belong to sink/inventory.h
 * and are passed through.
 */
#ifndef CF_SINK_STOCKS_H
#define CF_SINK_STOCKS_H

#include <stdio.h>

#include "carbonflux/ctx.h"
#include "core/kvtable.h"
#include "sink/inventory.h"
#include "sink/params.h"
#include "sink/pool_map.h"
#include "sink/pools.h"
#include "sink/stratify.h"

typedef struct {
  char allometry[CF_KV_TEXT_MAX];
  char unknown_species[CF_KV_TEXT_MAX]; /* "" = a stem without species is an error */
  double carbon_fraction;           /* NaN: from the carbon_fraction table's default row */
  cf_kv_num_or_choice root_shoot;   /* ar-tool14 | ipcc2006 | a ratio */
  char ecozone[CF_KV_TEXT_MAX];     /* for ipcc2006 (a stratum's column overrides) */
  char forest_type[CF_KV_TEXT_MAX]; /* ditto: "all" where Table 4.4 has no split */
  unsigned pools;                   /* bit per cf_pool_id */
  cf_kv_num_or_choice deadwood_fraction, litter_fraction; /* ar-tool12 | a fraction */
  int biome;                        /* AR-TOOL12 class: tropical, temperate, boreal */
  double elevation_m, precipitation_mm;
  double soc_ref, f_lu, f_mg, f_in, years_since_planting; /* NaN: not given */
  int discount;                     /* index in cf_stocks_discount_names */
  int side;                         /* cf_discount_side */
  double confidence;
  int year;                         /* monitoring year; 0 = the latest in the inventory */
} cf_stocks_opts;

extern const char *const cf_stocks_pool_names[];     /* in cf_pool_id order */
extern const char *const cf_stocks_discount_names[]; /* none, ar-tool14, vm0047, gs403 */
extern const char *const cf_stocks_biome_names[];

#define CF_STOCKS_SETTINGS(X)                                                                                      \
  X(allometry, TEXT, allometry, 0, 0, "", NULL,                                                                    \
    "stem biomass: chave2014, jenkins2003 (by each stem's species), a name from `carbonflux params equations`, "  \
    "or a form such as 0.0673*(rho*D^2*H)^0.976")                                                                  \
  X(unknown_species, TEXT, unknown_species, 0, 0, "", NULL,                                                        \
    "with allometry=jenkins2003: the equation for live stems whose species is blank (unset: such a stem is an "   \
    "error); they are counted in the report")                                                                      \
  X(carbon_fraction, DOUBLE, carbon_fraction, 0.3, 0.6, "t C/t d.m.", NULL,                                        \
    "carbon per dry matter (unset: the carbon_fraction table's default row, IPCC 2006 Table 4.3)")                 \
  X(root_shoot, NUM_OR_ENUM, root_shoot, 0, 2, "", cf_stocks_root_shoot_names,                                     \
    "below-ground biomass: the AR-TOOL14 function, IPCC 2006 Table 4.4 by ecozone, or a fixed ratio")               \
  X(ecozone, TEXT, ecozone, 0, 0, "", NULL, "IPCC ecozone for root_shoot=ipcc2006 (a strata column overrides)")     \
  X(forest_type, TEXT, forest_type, 0, 0, "", NULL, "forest type for root_shoot=ipcc2006 (see the table)")         \
  X(pools, FLAGS, pools, 0, 0, "", cf_stocks_pool_names, "the pools estimated; the others are reported excluded")   \
  X(deadwood_fraction, NUM_OR_ENUM, deadwood_fraction, 0, 1, "", cf_stocks_ar_tool12_names,                        \
    "dead wood as a fraction of tree carbon: AR-TOOL12's default by biome, elevation and precipitation, or given")  \
  X(litter_fraction, NUM_OR_ENUM, litter_fraction, 0, 1, "", cf_stocks_ar_tool12_names,                            \
    "litter as a fraction of tree carbon: AR-TOOL12's default, or given")                                         \
  X(biome, ENUM, biome, 0, 0, "", cf_stocks_biome_names, "AR-TOOL12 default class")                                \
  X(elevation_m, DOUBLE, elevation_m, 0, 9000, "m", NULL, "AR-TOOL12 default class")                               \
  X(precipitation_mm, DOUBLE, precipitation_mm, 0, 20000, "mm/yr", NULL,                                           \
    "AR-TOOL12 default class (needed for tropical sites below 2000 m)")                                            \
  X(soc_ref, DOUBLE, soc_ref, 0, 1000, "t C/ha", NULL, "AR-TOOL16 reference soil carbon stock (a strata column overrides)") \
  X(f_lu, DOUBLE, f_lu, 0, 2, "", NULL, "AR-TOOL16 land-use factor of the pre-project land (required with pool soc; a strata column overrides)")                       \
  X(f_mg, DOUBLE, f_mg, 0, 2, "", NULL, "AR-TOOL16 management factor (required with pool soc; a strata column overrides)")                                             \
  X(f_in, DOUBLE, f_in, 0, 2, "", NULL, "AR-TOOL16 input factor (required with pool soc; a strata column overrides)")                                                 \
  X(years_since_planting, DOUBLE, years_since_planting, 0, 500, "yr", NULL,                                        \
    "age of the planting at the monitoring date (AR-TOOL16 accrual, at most 20 years)")                            \
  X(discount, ENUM, discount, 0, 0, "", cf_stocks_discount_names, "the uncertainty deduction policy")              \
  X(side, ENUM, side, 0, 0, "", cf_stocks_side_names, "project stocks are reduced, baseline stocks increased")     \
  X(confidence, DOUBLE, confidence, 0.5, 0.999, "", NULL,                                                          \
    "two-sided confidence level of the reported uncertainty (the discount always uses U at 90 %)")                \
  X(year, INT, year, 0, 3000, "", NULL, "monitoring year to report (0: the latest in the inventory)")

extern const char *const cf_stocks_root_shoot_names[]; /* ar-tool14, ipcc2006 */
extern const char *const cf_stocks_ar_tool12_names[];  /* ar-tool12 */
extern const char *const cf_stocks_side_names[];       /* project, baseline */

/* The table of every row above, over cf_stocks_opts. */
extern const cf_kv_table cf_stocks_settings;

void cf_stocks_opts_default(cf_stocks_opts *o);
/* KEY=VALUE of the table; CF_EINVAL naming the key (unknown keys too). */
int cf_stocks_opts_set(cf_ctx *ctx, cf_stocks_opts *o, const char *kv);

/* The settings' own consistency, before any input is read (as `run
 * --check` does): the allometry names an equation this run can use, the
 * AR-TOOL12 defaults have a class for the biome, elevation and
 * precipitation given. CF_EINVAL naming the setting. */
enum { CF_STOCKS_CHECK_ALLOMETRY = 1, CF_STOCKS_CHECK_POOLS = 2 };
int cf_stocks_opts_check(cf_ctx *ctx, const cf_stocks_opts *o, unsigned what);

/* The parameters of a per-pixel pool map (sink/pool_map.h) from the same
 * settings: the carbon fraction, AR-TOOL14 or a fixed root-to-shoot ratio
 * (ipcc2006 needs a stratum's ecozone: CF_EINVAL), AR-TOOL12's or the given
 * dead wood and litter fractions, and the AR-TOOL16 SOC as one value.
 * *soc (may be NULL) gets the AR-TOOL16 figures when soc is in pools. */
int cf_stocks_map_params(cf_ctx *ctx, const cf_stocks_opts *o, cf_pool_map_params *p, cf_soc_result *soc);

/* --- the result -------------------------------------------------------------- */

/* A parameter as the report lists it. */
typedef struct {
  char name[192];
  char stratum[64]; /* "" for the project */
  double value;
  char unit[32];
  char source[512];
  int checked; /* the table row's flag; 1 for values the user set */
} cf_stocks_param;

typedef struct {
  char path[1024];
  char sha256[CF_SHA256_HEX_LEN];
  char role[16]; /* plots, trees, strata */
  const char *options; /* the inventory options it was read with, a JSON array of KEY=VALUE
                          words (cf_inv_options_record; owned by the table, NULL: none) */
} cf_stocks_input;

typedef struct {
  const char *name; /* the strata's own string */
  double area_ha;
  int n_plots;
  double agb_mean;  /* t d.m./ha */
  cf_stratum_estimate biomass; /* tree biomass AGB x (1 + R), t d.m./ha */
  cf_pools per_ha;  /* t C/ha */
  double soc_initial, soc_rate; /* t C/ha, t C/ha/yr; NaN when SOC is not estimated */
  double stock_t_co2e;          /* estimated pools x area x 44/12 */
} cf_stocks_stratum;

typedef struct {
  int year;
  int n_strata;
  cf_stocks_stratum *strata;
  cf_stratified_estimate estimate; /* of tree biomass */
  cf_project_totals totals;
  cf_stocks_param *params;
  int nparams;
  cf_stocks_input inputs[3];
  int ninputs;
  /* counts, for the report and the log */
  long n_stems, n_dead_stems, n_out_of_range, n_unknown_species;
  /* the inventories (not owned, unless own_* is set) and the tables */
  cf_trees *trees; /* NULL: plots with measured AGB only */
  const cf_plots *plots;
  const cf_strata *inv_strata;
  cf_trees *own_trees;
  cf_plots *own_plots;
  cf_strata *own_strata;
  cf_params *tables;
  double *areas;                            /* per stratum, ha */
  double *plot_agb, *plot_biomass, *plot_r; /* per plot in the estimate, t d.m./ha */
  int *plot_index;                          /* the plot rows they belong to */
  int n_est_plots;
  int n_empty_plots; /* plots with stems in other years but none in this one */
  double uncertainty_pct_90; /* U% at 90 %, which the discount policies are defined on */
  /* the settings the report repeats */
  int discount, side;
  double confidence;
} cf_stocks_result;

/* The chain in steps (the pipeline's stages call them one by one on one
 * result): begin links the inventories (not copied: they must outlive the
 * result) and loads the parameter tables; allometry gives each plot of the
 * monitoring year its AGB; estimate its tree biomass and the stratified
 * estimate; pools the five pools and the project totals. */
int cf_stocks_begin(cf_ctx *ctx, cf_trees *trees, const cf_plots *plots, const cf_strata *strata, cf_stocks_result *r);
int cf_stocks_allometry(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r);
int cf_stocks_estimate(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r);
int cf_stocks_pools(cf_ctx *ctx, const cf_stocks_opts *o, cf_stocks_result *r);

/* All of it from files. trees_path may be NULL (plots with measured AGB).
 * `inv` carries the inventory keys. */
int cf_forest_stocks(cf_ctx *ctx, const char *plots_path, const char *trees_path, const char *strata_path,
                     const cf_inv_options *inv, const cf_stocks_opts *o, cf_stocks_result *out);
void cf_stocks_result_free(cf_stocks_result *r);

/* Write REPORT.json and, beside it, REPORT.csv (the same stem), each to a
 * part file renamed when complete. Each input is recorded with its path
 * as given and, for a plain file, its `relative_path` from the report's
 * folder (cf_path_recorded_relative). `settings_json` is the run's settings
 * as a JSON object (cf_kv_json over cf_stocks_settings and the inventory
 * keys), copied into the report. */
int cf_stocks_write(cf_ctx *ctx, const cf_stocks_result *r, const char *json_path,
                    const char *settings_json);
/* REPORT.json's text (malloc'ed; NULL when out of memory), as written
 * but for the inputs' `relative_path` (which needs the report's place):
 * `carbonflux verify` compares a recomputation with a report through it. */
char *cf_stocks_report_json(const cf_stocks_result *r, const char *settings_json);

#endif
