/*
 * Per-pixel carbon pools: a lazy raster node that turns an above-ground
 * biomass map (t d.m./ha, with its standard error) into the five IPCC
 * pools in t C/ha, their total and the total's standard error.
 *
 * Why here and not in raster/: the chain is the pool arithmetic of
 * sink/pools.h (the AR-TOOL14 root-shoot function, AR-TOOL12 fractions,
 * AR-TOOL16 soil carbon) applied per pixel. raster/ may not include sink/
 * (DESIGN.md: arrows point down), and a second copy of the AR-TOOL14
 * function in raster/ would be a second place to get a regulatory formula
 * wrong. The node is an ordinary cf_raster (raster/raster.h invariants), so
 * the tile engine, the COG writer and zonal statistics take it as any other.
 *
 * Per pixel, with a = AGB (t d.m./ha), CF the carbon fraction:
 *   bgb(a)   = a R(a)          AR-TOOL14: exp(-1.085 + 0.9256 ln a), or a fixed ratio r a
 *   C_agb    = CF a
 *   C_bgb    = CF bgb(a)
 *   C_tree   = C_agb + C_bgb   (the base of the AR-TOOL12 fractions; BGB is
 *                               computed for it even when the bgb pool is
 *                               not reported, because the tool defines the
 *                               fractions on tree carbon, not on what a
 *                               project chooses to claim)
 *   C_dw     = f_dw C_tree,  C_li = f_li C_tree
 *   C_soc    = a constant per pixel (AR-TOOL16 SOC_initial + accrual,
 *              computed once by the caller with cf_soc_ar_tool16)
 *   total    = sum of the ESTIMATED pools only.
 * An excluded pool has no band at all (not a band of zeros: "not
 * estimated" is not zero, sink/pools.h). Band names are the pool names
 * ("agb", "bgb", "deadwood", "litter", "soc"), then "total" and "total_se".
 *
 * Standard error of the total (first-order delta method): the total is a
 * function T(a) of the pixel's AGB only (SOC is a constant), so
 *   se_T = |dT/da| se_a,
 *   dT/da = CF (w_agb + w_bgb bgb'(a) + (f_dw + f_li)(1 + bgb'(a))),
 * w_agb, w_bgb = 1 when the pool is estimated, else 0; bgb'(a) = 0.9256
 * bgb(a)/a for AR-TOOL14 (d/da of c a^0.9256), r for a fixed ratio. With a
 * fixed ratio T is linear in a and this is exact; with AR-TOOL14 T is
 * concave (a^0.9256) and the linearisation neglects the curvature term
 * 1/2 T'' se_a^2, which is relative order 0.037 (se_a/a)^2: under 0.4 % of
 * T for se_a/a up to 0.33. SE of the constant SOC is not propagated (it is
 * a default-factor value without a per-pixel SE). At a = 0, bgb'(a)
 * diverges (a^0.9256 has an infinite slope at 0); the SE there uses
 * bgb' = 0 and is a lower bound. Pixels with a < 0 (a linear model may
 * predict one) or an invalid AGB or SE are invalid in every band.
 *
 * Pure per-pixel arithmetic in a fixed order: bitwise identical for any
 * thread count (raster.h invariants); read() allocates nothing.
 */
#ifndef CF_SINK_POOL_MAP_H
#define CF_SINK_POOL_MAP_H

#include "raster/raster.h"
#include "sink/pools.h"

typedef struct {
  double carbon_fraction;     /* t C per t d.m., (0, 1] */
  cf_root_shoot_mode root_shoot; /* CF_ROOT_SHOOT_AR_TOOL14 or CF_ROOT_SHOOT_FIXED */
  double root_shoot_ratio;    /* FIXED: R >= 0 */
  double deadwood_fraction;   /* of tree carbon, [0, 1] */
  double litter_fraction;     /* of tree carbon, [0, 1] */
  double soc_t_c_per_ha;      /* constant SOC, >= 0 */
  unsigned pools;             /* CF_POOL_BIT set of the estimated pools (non-empty) */
} cf_pool_map_params;

/* One pixel: pools (t C/ha, all five computed whether estimated or not),
 * total over the estimated ones and dT/da. Returns 0, or -1 for an AGB that
 * is not finite and >= 0. */
typedef struct {
  double pool[CF_POOL_COUNT];
  double total, dtotal_dagb;
} cf_pool_pixel_result;

int cf_pool_pixel(const cf_pool_map_params *p, double agb_t_dm_per_ha, cf_pool_pixel_result *out);

/* Check the parameters; CF_EINVAL naming the field. */
int cf_pool_map_params_check(cf_ctx *ctx, const cf_pool_map_params *p, const char *where);

/* The node: band agb_band of `agb` is the AGB, band se_band its SE
 * (se_band < 0: no SE, the total_se band is then absent). The parameters
 * are copied. */
cf_raster *cf_pool_map_create(cf_ctx *ctx, cf_raster *agb, int agb_band, int se_band,
                              const cf_pool_map_params *p);

/* Make the node own its AGB input (destroyed with it): for a pipeline
 * stage whose product is the pool node alone. */
void cf_pool_map_own_input(cf_raster *r);

/* The parameters of a node made by cf_pool_map_create, or NULL for any
 * other node (so that a consumer can put plot AGB through the same chain). */
const cf_pool_map_params *cf_pool_map_params_of(const cf_raster *r);

#endif
