/* Uncertainty deduction policies; the rules and their sources are in
 * discount.h. */
#include "sink/discount.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *WHERE = "discount";

static double rule_none(double s, double u, double hw) {
  (void)s, (void)u, (void)hw;
  return 0.0;
}

/* AR-TOOL14 v04.2 (EB 85, 24 July 2015), Appendix 2, Table 1: the
 * discount as a share of the half-width, by band of U (upper limits
 * inclusive). */
static double rule_ar_tool14(double s, double u, double hw) {
  (void)s;
  if (u <= 10.0) return 0.0;
  if (u <= 15.0) return 0.25 * hw;
  if (u <= 20.0) return 0.50 * hw;
  if (u <= 30.0) return 0.75 * hw;
  return hw;
}

/* VM0047 v1.0, section 8.4 (eq. 27/28): UNC = min(100 %, max(0, U - 10 %)),
 * removals x (1 - UNC); and no removals at all when the half-width
 * exceeds 100 % of the estimate (the section's last paragraph). */
static double rule_vm0047(double s, double u, double hw) {
  (void)hw;
  if (u > 100.0) return s;
  double unc = u > 10.0 ? (u - 10.0) / 100.0 : 0.0;
  return s * (unc < 1.0 ? unc : 1.0);
}

/* GS 403 v2.1 (A/R methodology), section 3.11.5: precision must be +-20 %
 * at 90 % confidence, the excess is deducted from the mean:
 * mean x (1 - max(0, E - 20 %)) (its example: 100 m3/ha at 23 % -> 97). */
static double rule_gs403(double s, double u, double hw) {
  (void)hw;
  double ex = u > 20.0 ? (u - 20.0) / 100.0 : 0.0;
  return s * (ex < 1.0 ? ex : 1.0);
}

static const cf_discount_policy POLICIES[] = {
    {"none", "no uncertainty deduction", rule_none},
    {"ar-tool14",
     "CDM AR-TOOL14 v04.2 (EB 85), Appendix 2 Table 1: 0 / 25 / 50 / 75 / 100 % of the half-width "
     "of the 90 % interval for U <= 10 / 15 / 20 / 30 / > 30 %",
     rule_ar_tool14},
    {"vm0047",
     "Verra VM0047 v1.0 section 8.4 (eq. 27-28): estimate x min(100 %, max(0, U - 10 %)); all of it "
     "when U > 100 %",
     rule_vm0047},
    {"gs403",
     "Gold Standard 403 A/R methodology v2.1 section 3.11.5: estimate x max(0, U - 20 %) (precision "
     "+-20 % at 90 % confidence, the excess deducted)",
     rule_gs403},
};
enum { N_POLICIES = (int)(sizeof POLICIES / sizeof POLICIES[0]) };

const cf_discount_policy *cf_discount_policy_at(int i) {
  return i >= 0 && i < N_POLICIES ? &POLICIES[i] : NULL;
}

const cf_discount_policy *cf_discount_policy_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < N_POLICIES; i++)
    if (strcmp(POLICIES[i].name, name) == 0) return &POLICIES[i];
  return NULL;
}

int cf_discount_side_parse(cf_ctx *ctx, const char *text, cf_discount_side *side) {
  if (text && strcmp(text, "project") == 0) {
    *side = CF_SIDE_PROJECT;
    return CF_OK;
  }
  if (text && strcmp(text, "baseline") == 0) {
    *side = CF_SIDE_BASELINE;
    return CF_OK;
  }
  return cf_error(ctx, CF_EINVAL, WHERE, "side", "must be project or baseline, got \"%s\"",
                  text ? text : "(null)");
}

const char *cf_discount_side_name(cf_discount_side side) {
  return side == CF_SIDE_BASELINE ? "baseline" : "project";
}

int cf_discount_apply(cf_ctx *ctx, const char *policy, double stock, double u_pct,
                      double half_width, cf_discount_side side, cf_discount_result *out) {
  const cf_discount_policy *p = cf_discount_policy_find(policy);
  if (!p) {
    char known[256] = "";
    for (int i = 0; i < N_POLICIES; i++) {
      if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
      strncat(known, POLICIES[i].name, sizeof known - strlen(known) - 1);
    }
    return cf_error(ctx, CF_EINVAL, WHERE, "discount", "unknown policy \"%s\" (known: %s)",
                    policy ? policy : "(null)", known);
  }
  if (side != CF_SIDE_PROJECT && side != CF_SIDE_BASELINE)
    return cf_error(ctx, CF_EINVAL, WHERE, "side", "unknown side %d", (int)side);
  if (!isfinite(stock))
    return cf_error(ctx, CF_EINVAL, WHERE, "stock", "must be finite, got %g", stock);
  if (!isfinite(u_pct) || u_pct < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "uncertainty_pct", "must be finite and >= 0, got %g",
                    u_pct);
  if (!isfinite(half_width) || half_width < 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "half_width", "must be finite and >= 0, got %g",
                    half_width);
  double s = fabs(stock), expect = u_pct / 100.0 * s;
  if (fabs(half_width - expect) > 1e-9 * fmax(half_width, expect) + 1e-300)
    return cf_error(ctx, CF_EINVAL, WHERE, "half_width",
                    "%g is not U x |stock| = %g%% x %g = %g (different units?)", half_width,
                    u_pct, s, expect);
  double d = p->deduction(s, u_pct, half_width);
  out->deduction = d;
  out->discounted = side == CF_SIDE_PROJECT ? stock - d : stock + d;
  out->fraction_of_half_width = d == 0.0 ? 0.0 : half_width > 0.0 ? d / half_width : NAN;
  return CF_OK;
}
