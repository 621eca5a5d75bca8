/*
 * CDM AR-ACM0003 "Afforestation and reforestation of lands except
 * wetlands", v2.0, with AR-TOOL14 v04.2 (trees and shrubs), AR-TOOL12
 * (dead wood, litter) and AR-TOOL16 (SOC).
 *
 * Every pool the project estimates counts (the methodology lets the
 * participants choose dead wood, litter and SOC; trees are mandatory).
 * Uncertainty: AR-TOOL14's discount when the uncertainty of the change at
 * 90 % exceeds 10 % (the band table of sink/discount.h). Leakage: AR-TOOL15
 * (displacement of pre-project agriculture), entered as a fraction.
 * Non-permanence is handled by temporary credits, not a buffer: tCERs are
 * issued for the net removals since the project start and expire at the
 * end of the next commitment period; lCERs for the removals since the
 * last verification, to be replaced on a reversal (Decision 5/CMP.1
 * annex). Equation numbers: unconfirmed against the PDF.
 */
#include <math.h>

#include "sink/issuance/policy.h"
#include "sink/pools.h"

const cf_policy cf_policy_cdm_ar_acm0003 = {
    .name = "cdm-ar-acm0003",
    .title = "CDM AR-ACM0003 Afforestation and reforestation of lands except wetlands",
    .document = "UNFCCC CDM AR-ACM0003 v2.0 with AR-TOOL14 v04.2",
    .credits = "tCER/lCER",
    .pools = CF_POOL_BIT(CF_POOL_AGB) | CF_POOL_BIT(CF_POOL_BGB) | CF_POOL_BIT(CF_POOL_DEADWOOD) |
             CF_POOL_BIT(CF_POOL_LITTER) | CF_POOL_BIT(CF_POOL_SOC),
    .pools_rule = "AR-ACM0003 v2.0: trees mandatory; shrubs, dead wood, litter and SOC as the project estimates them",
    .discount = "ar-tool14",
    .uncertainty_rule = "AR-TOOL14 v04.2 Appendix 2 Table 1: 0/25/50/75/100 % of the half-width of the 90 % interval "
                        "of the change for U <= 10/15/20/30/> 30 %",
    .leakage_zero = 0,
    .leakage_rule = "AR-ACM0003 v2.0 leakage LK (AR-TOOL15, displacement of agricultural activities) as t CO2e "
                    "entered per period, or as a fraction of the net change",
    .buffer_pct = 0.0,
    .buffer_min_pct = 0.0,
    .buffer_rule = "no buffer: non-permanence by temporary credits (tCER expire, lCER are replaced on reversal)",
    .temporary = 1,
    .eq = {"AR-ACM0003 v2.0 eq. (3) dC_P = dC_TREE + dC_SHRUB + dC_DW + dC_LI + dSOC (AR-TOOL14 change in stocks)",
           "AR-TOOL14 v04.2 uncertainty of the change, Appendix 2 Table 1 discount",
           "AR-ACM0003 v2.0 eq. (1) dC_BSL = dC_TREE_BSL + dC_SHRUB_BSL",
           "AR-ACM0003 v2.0 eq. (2) dC_ACTUAL = dC_P - GHG_E",
           "AR-ACM0003 v2.0 LK (AR-TOOL15)",
           "AR-ACM0003 v2.0 eq. (4) dC_AR = dC_ACTUAL - dC_BSL - LK",
           "none (temporary credits)",
           "Decision 5/CMP.1 annex: tCER = dC_AR since project start; lCER = dC_AR since last verification"},
    .checked = 0,
};
