/*
 * Uncertainty deductions: how much of an uncertain stock estimate a
 * standard lets a project claim. One row per policy in a table, looked up
 * by name (the `discount` setting of `carbonflux forest stocks`).
 *
 * Each policy maps (stock, U%, half-width, side) to a deduction >= 0 and a
 * discounted stock. U% is the half-width of the two-sided confidence
 * interval (90 % in all three standards) as a percentage of the stock; the
 * half-width is in the stock's unit and must equal U% x |stock| / 100 (a
 * check that catches a half-width given per hectare against a total). The
 * deduction makes the estimate conservative: a project stock is lowered,
 * a baseline stock is raised (AR-TOOL14 says so in as many words; the
 * other policies are applied the same way).
 *
 *  "none"       no deduction.
 *  "ar-tool14"  AR-TOOL14 v4.2, the stepped uncertainty discount:
 *                 U <= 10 %        no deduction
 *                 10 < U <= 20 %   25 % of the half-width
 *                 20 < U <= 30 %   50 % of the half-width
 *                 U > 30 %         100 % of the half-width
 *               with the tool's example 60 +- 9 (U = 15 %) -> 57.75 for a
 *               project, 62.25 for a baseline stock.
 *  "vm0047"     Verra VM0047 v1.0: deduction = |stock| x (U - 10 %) when
 *               U > 10 %, nothing otherwise (the excess of the relative
 *               half-width over 10 %, applied as a fraction of the estimate).
 *  "gs403"      Gold Standard A/R: deduction = |stock| x (U - 20 %) when
 *               U > 20 % (the same excess rule with a 20 % allowance).
 *
 * Sources checked: the table bands and the 60 +- 9 example are those the
 * project's issue quotes for AR-TOOL14 v4.2; the VM0047 and Gold Standard
 * rules could not be confirmed against the primary documents from here and
 * are implemented as commonly cited (see the report of issue 8). Each row
 * carries its source string so the report's parameters list can name it.
 *
 * fraction_of_half_width is deduction / half-width: the band's fraction for
 * "ar-tool14", the equivalent fraction for the proportional rules
 * ((U - 10)/U for vm0047), 0 when nothing is deducted and NaN when the
 * half-width is 0 and something would be (cannot happen: U = 0 deducts 0).
 */
#ifndef CF_SINK_DISCOUNT_H
#define CF_SINK_DISCOUNT_H

#include "carbonflux/ctx.h"

typedef enum { CF_SIDE_PROJECT = 0, CF_SIDE_BASELINE = 1 } cf_discount_side;

typedef struct {
  double deduction;              /* >= 0, unit of the stock */
  double discounted;             /* stock - deduction (project), + (baseline) */
  double fraction_of_half_width; /* deduction / half-width */
} cf_discount_result;

/* A policy's rule: deduction from |stock|, U% and the half-width (all
 * validated by cf_discount_apply before the call). */
typedef double (*cf_discount_rule)(double abs_stock, double u_pct, double half_width);

typedef struct {
  const char *name;
  const char *source; /* document, version, section */
  cf_discount_rule deduction;
} cf_discount_policy;

/* The table: NULL past the end. */
const cf_discount_policy *cf_discount_policy_at(int i);
/* By name (exact, lower case); NULL if unknown. */
const cf_discount_policy *cf_discount_policy_find(const char *name);

/* "project" / "baseline" -> side; CF_EINVAL otherwise. */
int cf_discount_side_parse(cf_ctx *ctx, const char *text, cf_discount_side *side);
const char *cf_discount_side_name(cf_discount_side side);

/* Apply the named policy. CF_EINVAL: unknown policy (the message lists the
 * known ones), stock not finite, U% or half-width not finite and >= 0, or
 * a half-width that is not U% x |stock| / 100 (relative tolerance 1e-9). */
int cf_discount_apply(cf_ctx *ctx, const char *policy, double stock, double u_pct,
                      double half_width, cf_discount_side side, cf_discount_result *out);

#endif
