/*
 * Baseline removals over a monitoring period: what the land would have
 * taken up without the project, subtracted from the project's change.
 *
 *  none         0 (no baseline trees or shrubs; AR-ACM0003 lets the change
 *               in baseline stocks be 0 where pre-project trees are few)
 *  crown-cover  AR-TOOL14 v04.2, carbon stock of trees estimated from their
 *               crown cover: C = 44/12 x CF x (1 + R) x A x b_FOREST x CC,
 *               with R = 0.25 for baseline trees (the tool's default
 *               root-shoot ratio for this method), b_FOREST the above-ground
 *               biomass of a forest at full crown cover and CC the crown
 *               cover fraction. The crown cover at a date is CC(t) =
 *               min(1, max(0, CC0 + rate x (t - t_first))), so the
 *               period's baseline removal is C(CC(t2)) - C(CC(t1)).
 *               (The equation numbers could not be confirmed here.)
 *  rate         a given removal rate in t CO2e/yr times the period length
 *  series       baseline stock reports at the same dates as the project's
 *               events: the change of their counted pools, undiscounted,
 *               which the ledger then raises by the policy's deduction at
 *               the change's half-width sqrt((u1 B1)^2 + (u2 B2)^2) over
 *               the reports' sampled pools (ledger.h; a report's own
 *               side=baseline deduction is on its stock, not the change)
 */
#ifndef CF_SINK_ISSUANCE_BASELINE_H
#define CF_SINK_ISSUANCE_BASELINE_H

#include "sink/issuance/stocks_read.h"

typedef enum { CF_BASELINE_NONE = 0, CF_BASELINE_CROWN_COVER, CF_BASELINE_RATE, CF_BASELINE_SERIES } cf_baseline_method;

#define CF_BASELINE_R_TREES 0.25 /* AR-TOOL14 v04.2 root-shoot ratio of baseline trees, crown-cover method */

/* Crown cover at time t (years) from CC0 at t_first and its yearly change, clamped to [0, 1]. */
double cf_baseline_crown_cover(double cc0, double cc_rate, double t_first, double t);
/* t CO2e of trees at crown cover cc: 44/12 x cf x (1 + r) x area x b_forest x cc. */
double cf_baseline_crown_cover_stock(double cf, double r, double area_ha, double b_forest, double cc);
/* The counted pools of a baseline report, t CO2e (pools not estimated are skipped). */
double cf_baseline_series_stock(const cf_stocks_in *r, unsigned pools);

#endif
