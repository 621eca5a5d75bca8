/*
 * CCER-14-001-V01 "Afforestation carbon sink" (温室气体自愿减排项目方法学
 * 造林碳汇, Ministry of Ecology and Environment of China, October 2023).
 *
 * What counts: the biomass of trees, bamboo and shrubs, above and below
 * ground, and nothing else: dead wood, litter and soil organic carbon are
 * left out of the project's carbon pools even when a stock report carries
 * them (they are listed as excluded in the ledger, with this reason).
 * carbonflux's stock reports hold tree (and bamboo/shrub) biomass in the
 * agb and bgb pools, so those two are counted.
 *
 * Precision rule: the methodology asks for a sampling precision of 90 %
 * at 90 % confidence (U <= 10 %). What it prescribes when that is not met
 * could not be read from the document here; this policy applies the
 * AR-TOOL14 discount table to the change (the CDM tool the CCER forestry
 * methodologies follow). Leakage: the applicability conditions (planning
 * land not meeting the forest definition for three years, no removal of
 * existing trees) make it zero. No buffer: the CCER rules handle
 * non-permanence outside the methodology. All of this is marked unchecked.
 */
#include <math.h>

#include "sink/issuance/policy.h"
#include "sink/pools.h"

const cf_policy cf_policy_ccer_14_001 = {
    .name = "ccer-14-001",
    .title = "CCER-14-001-V01 Afforestation carbon sink",
    .document = "MEE (China) CCER-14-001-V01, 2023",
    .credits = "CCER",
    .pools = CF_POOLS_TREES,
    .pools_rule = "CCER-14-001-V01 project carbon pools: above- and below-ground biomass of trees, bamboo and shrubs "
                  "only; dead wood, litter and soil organic carbon are not counted",
    .discount = "ar-tool14",
    .uncertainty_rule = "precision 90 % at 90 % confidence required (U <= 10 %); beyond it the AR-TOOL14 v04.2 "
                        "Appendix 2 discount of the change is applied (a carbonflux choice: the methodology's own "
                        "remedy was not confirmed)",
    .leakage_zero = 1,
    .leakage_rule = "CCER-14-001-V01: leakage zero under its applicability conditions",
    .buffer_pct = 0.0,
    .buffer_min_pct = 0.0,
    .buffer_rule = "no buffer in the methodology (non-permanence handled by the CCER registry rules; unconfirmed)",
    .temporary = 0,
    .eq = {"CCER-14-001-V01 sec. 5 (change in carbon stock of trees/bamboo/shrubs between monitoring events)",
           "CCER-14-001-V01 sampling precision 90 %/90 %; AR-TOOL14 v04.2 Appendix 2 Table 1",
           "CCER-14-001-V01 sec. 5 baseline removals (AR-TOOL14 for pre-existing trees)",
           "CCER-14-001-V01 project emissions (as monitored)",
           "CCER-14-001-V01: leakage = 0",
           "CCER-14-001-V01 project net removals = change - baseline - emissions - leakage",
           "none",
           "net removals since the last verification (cumulative difference)"},
    .checked = 0,
};
