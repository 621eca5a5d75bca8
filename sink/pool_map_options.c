/* The pool map settings table, expanded from the rows of pool_map_options.h. */
#include "sink/pool_map_options.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

const char *const cf_pool_map_root_shoot_names[] = {"ar-tool14", NULL};
const char *const cf_pool_map_pool_names[] = {"agb", "bgb", "deadwood", "litter", "soc", NULL};

#define KV_ROW(name, type, field, lo, hi, unit, choices, help) \
  {#name, CF_KV_##type, offsetof(cf_pool_map_settings, field), lo, hi, unit, help, choices},
static const cf_kv_opt rows[] = {CF_POOL_MAP_SETTINGS(KV_ROW)};
#undef KV_ROW

/* Defaults: CF 0.47 (IPCC 2006 Vol. 4 Table 4.3), AR-TOOL14's root-shoot
 * function, the tree pools only (dead wood, litter and soil are claimed by
 * a project that measures or justifies them: their fractions default to 0
 * and the pools to excluded), AR-TOOL16 factors 1. */
void cf_pool_map_settings_default(cf_pool_map_settings *s) {
  memset(s, 0, sizeof *s);
  s->carbon_fraction = 0.47;
  s->root_shoot = (cf_kv_num_or_choice){0, NAN};
  s->pools = CF_POOLS_TREES;
  s->f_lu = s->f_mg = s->f_in = 1.0;
}

static void defaults(void *base) { cf_pool_map_settings_default(base); }

const cf_kv_table cf_pool_map_settings_table = {rows, sizeof rows / sizeof *rows, sizeof(cf_pool_map_settings),
                                                defaults, "pool map"};

int cf_pool_map_settings_resolve(cf_ctx *ctx, const cf_pool_map_settings *s, cf_pool_map_params *p,
                                 cf_soc_result *soc) {
  memset(p, 0, sizeof *p);
  p->carbon_fraction = s->carbon_fraction;
  p->root_shoot = s->root_shoot.choice == 0 ? CF_ROOT_SHOOT_AR_TOOL14 : CF_ROOT_SHOOT_FIXED;
  p->root_shoot_ratio = s->root_shoot.choice == 0 ? NAN : s->root_shoot.value;
  p->deadwood_fraction = s->deadwood_fraction;
  p->litter_fraction = s->litter_fraction;
  p->pools = s->pools;
  p->soc_t_c_per_ha = NAN;
  if (s->pools & CF_POOL_BIT(CF_POOL_SOC)) {
    if (!(s->soc_ref > 0.0))
      return cf_error(ctx, CF_EINVAL, "pool map", "soc_ref", "soc is in pools: give soc_ref (t C/ha, > 0)");
    cf_soc_result r;
    int rc = cf_soc_ar_tool16(ctx, s->soc_ref, s->f_lu, s->f_mg, s->f_in, s->years_since_planting, &r);
    if (rc) return rc;
    p->soc_t_c_per_ha = r.soc_initial + r.accrued;
    if (soc) *soc = r;
  }
  return cf_pool_map_params_check(ctx, p, "pool map");
}
