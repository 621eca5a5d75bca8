/*
 * The settings of a pool map, each declared once (as lidar/process_options.h):
 * name, type, field, range, unit, choices, help. The default is what
 * cf_pool_map_settings_default puts in the field. The sink.pool_map stage
 * exposes every row as an option (checked by `carbonflux run --check` with
 * the row), and the names are those of `carbonflux forest stocks`
 * (spec/forest-io.md) so a project sets a map and its plot report alike.
 *
 * Row: X(name, TYPE, field, min, max, unit, choices, help).
 */
#ifndef CF_SINK_POOL_MAP_OPTIONS_H
#define CF_SINK_POOL_MAP_OPTIONS_H

#include "core/kvtable.h"
#include "sink/pool_map.h"

typedef struct {
  double carbon_fraction;
  cf_kv_num_or_choice root_shoot; /* choice 0: ar-tool14; else a fixed ratio */
  double deadwood_fraction, litter_fraction;
  unsigned pools;                 /* bits in cf_pool_id order */
  double soc_ref, f_lu, f_mg, f_in, years_since_planting;
} cf_pool_map_settings;

#define CF_POOL_MAP_SETTINGS(X)                                                                                   \
  X(carbon_fraction, DOUBLE, carbon_fraction, 0.3, 0.6, "t C/t d.m.", NULL,                                     \
    "carbon fraction of dry matter (IPCC 2006 Vol. 4 Table 4.3 default 0.47)")                                    \
  X(root_shoot, NUM_OR_ENUM, root_shoot, 0, 10, "", cf_pool_map_root_shoot_names,                                 \
    "below-ground biomass: ar-tool14 (R as a function of the pixel's AGB) or a fixed root-shoot ratio")           \
  X(deadwood_fraction, DOUBLE, deadwood_fraction, 0, 1, "", NULL, "dead wood carbon as a fraction of tree carbon (AR-TOOL12)") \
  X(litter_fraction, DOUBLE, litter_fraction, 0, 1, "", NULL, "litter carbon as a fraction of tree carbon (AR-TOOL12)") \
  X(pools, FLAGS, pools, 0, 0, "", cf_pool_map_pool_names,                                                        \
    "pools estimated, a band each; the others are excluded and have no band")                                     \
  X(soc_ref, DOUBLE, soc_ref, 0, 1000, "t C/ha", NULL, "AR-TOOL16 reference SOC stock (needed when soc is in pools)") \
  X(f_lu, DOUBLE, f_lu, 0.01, 5, "", NULL, "AR-TOOL16 land-use factor")                                            \
  X(f_mg, DOUBLE, f_mg, 0.01, 5, "", NULL, "AR-TOOL16 management factor")                                          \
  X(f_in, DOUBLE, f_in, 0.01, 5, "", NULL, "AR-TOOL16 input factor")                                               \
  X(years_since_planting, DOUBLE, years_since_planting, 0, 1000, "yr", NULL,                                      \
    "age of the planting at the map's date (SOC accrues for at most 20 years)")

extern const char *const cf_pool_map_root_shoot_names[]; /* {"ar-tool14", NULL} */
extern const char *const cf_pool_map_pool_names[];       /* the pool names in cf_pool_id order */
extern const cf_kv_table cf_pool_map_settings_table;

void cf_pool_map_settings_default(cf_pool_map_settings *s);
/* The node's parameters from the settings; the SOC constant is AR-TOOL16's
 * SOC_initial + rate x min(years, 20) (cf_soc_ar_tool16), computed once
 * when soc is in pools (then soc_ref must be > 0). *soc (may be NULL) gets
 * the AR-TOOL16 result for the log. */
int cf_pool_map_settings_resolve(cf_ctx *ctx, const cf_pool_map_settings *s, cf_pool_map_params *p,
                                 cf_soc_result *soc);

#endif
