/*
 * Verra VM0047 "Afforestation, Reforestation and Revegetation" v1.1, with
 * the VCS AFOLU Non-Permanence Risk Tool.
 *
 * Pools: above- and below-ground tree biomass mandatory; dead wood,
 * litter and SOC where the project estimates them. Uncertainty: UNC_t =
 * max(0, U - 10 %) of the removals deducted, all of them when U > 100 %
 * (the vm0047 row of sink/discount.h, transcribed for v1.0; v1.1 is taken
 * to be unchanged, not confirmed). Buffer: the project's non-permanence
 * risk rating from the AFOLU tool, never below 12 %, withheld from the
 * units of each verification. Leakage as a fraction (activity shifting).
 */
#include <math.h>

#include "sink/issuance/policy.h"
#include "sink/pools.h"

const cf_policy cf_policy_vm0047 = {
    .name = "vm0047",
    .title = "Verra VM0047 Afforestation, Reforestation and Revegetation",
    .document = "Verra VM0047 v1.1 with the VCS AFOLU Non-Permanence Risk Tool",
    .credits = "VCU",
    .pools = CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_BGB) | CF_POOL_BIT(CF_POOL_DEADWOOD) |
             CF_POOL_BIT(CF_POOL_LITTER) | CF_POOL_BIT(CF_POOL_SOC),
    .pools_rule = "VM0047 v1.1: tree biomass mandatory; dead wood, litter and SOC as the project estimates them",
    .discount = "vm0047",
    .uncertainty_rule = "VM0047 sec. 8.4: UNC_t = min(100 %, max(0, U - 10 %)) of the removals deducted (U at 90 %); "
                        "all of them when U > 100 %",
    .leakage_zero = 0,
    .leakage_rule = "VM0047 v1.1 leakage (activity shifting) as a fraction of the net change",
    .buffer_pct = NAN,
    .buffer_min_pct = 12.0,
    .buffer_rule = "VCS AFOLU Non-Permanence Risk Tool rating (risk_rating_pct), at least 12 %, of the units credited",
    .temporary = 0,
    .eq = {"VM0047 v1.1 sec. 8 change in project carbon stocks between monitoring events",
           "VM0047 v1.1 sec. 8.4 UNC_t",
           "VM0047 v1.1 baseline removals (dynamic performance benchmark or given)",
           "VM0047 v1.1 project emissions GHG_WPS",
           "VM0047 v1.1 leakage LK",
           "VM0047 v1.1 net removals CR_t = (dC_P x (1 - UNC_t)) - dC_BSL - GHG - LK",
           "VCS AFOLU Non-Permanence Risk Tool: buffer = rating x credited removals",
           "VCS Standard: VCUs = credited removals - buffer (cumulative difference)"},
    .checked = 0,
};
