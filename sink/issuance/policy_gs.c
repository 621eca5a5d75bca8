/*
 * Gold Standard for the Global Goals, A/R: the Afforestation/Reforestation
 * GHG Emissions Reduction & Sequestration Product Requirements with the
 * GS 403 A/R methodology v2.1.
 *
 * Pools: those the project estimates (trees mandatory). Uncertainty: the
 * gs403 row of sink/discount.h (precision +-20 % at 90 %, the excess
 * deducted). Buffer: 20 % of the units of each verification into the GS
 * buffer. Leakage as a fraction. References unconfirmed against the PDF.
 */
#include <math.h>

#include "sink/issuance/policy.h"
#include "sink/pools.h"

const cf_policy cf_policy_gold_standard = {
    .name = "gold-standard",
    .title = "Gold Standard A/R (GS 403 v2.1)",
    .document = "Gold Standard A/R Requirements with the GS 403 A/R methodology v2.1",
    .credits = "VER",
    .pools = CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_BGB) | CF_POOL_BIT(CF_POOL_DEADWOOD) |
             CF_POOL_BIT(CF_POOL_LITTER) | CF_POOL_BIT(CF_POOL_SOC),
    .pools_rule = "GS A/R: tree biomass mandatory; other pools as the project estimates them",
    .discount = "gs403",
    .uncertainty_rule = "GS 403 v2.1 sec. 3.11.5: precision +-20 % at 90 % confidence; the excess over 20 % deducted",
    .leakage_zero = 0,
    .leakage_rule = "GS A/R leakage as a fraction of the net change",
    .buffer_pct = 20.0,
    .buffer_min_pct = 0.0,
    .buffer_rule = "GS A/R Requirements: 20 % of the credited removals into the GS buffer",
    .temporary = 0,
    .eq = {"GS 403 v2.1 change in project carbon stocks",
           "GS 403 v2.1 sec. 3.11.5 precision rule",
           "GS 403 v2.1 baseline removals",
           "GS 403 v2.1 project emissions",
           "GS 403 v2.1 leakage",
           "GS 403 v2.1 net removals = change - baseline - emissions - leakage",
           "GS A/R Requirements: buffer 20 %",
           "GS: VERs = credited removals - buffer (cumulative difference)"},
    .checked = 0,
};
