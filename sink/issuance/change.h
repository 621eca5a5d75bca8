/*
 * One monitoring period: the change in carbon stocks between two stock
 * reports, per stratum and pool, and its uncertainty (`sink.change`).
 *
 * Stocks. Each event's stocks are taken undiscounted, as the stock report
 * gives them per pool before its own uncertainty deduction: the next
 * period starts from them, so a deduction is made once, on the change,
 * and never compounds. The reports' discounted totals are carried along
 * for the reader (stock1_discounted, stock2_discounted) and used for
 * nothing else. Only the pools the policy counts enter the change; pools
 * a report carries but the policy excludes are kept, with their change,
 * and marked excluded.
 *
 * Uncertainty of the change, at 90 % confidence (AR-TOOL14 v04.2,
 * uncertainty of the change in carbon stock). The sampled part of a stock
 * is its tree-proportional pools (agb, bgb, and dead wood and litter,
 * which the stock report derives as fractions of tree carbon); SOC comes
 * from a model without sampling error. With C_i the sampled part at event
 * i and u_i its relative half-width (the report's U% at 90 %):
 *   independent inventories (new plots each time):
 *       half-width = sqrt((u1 C1)^2 + (u2 C2)^2),  U = half-width / |dC|
 *   remeasured permanent plots: the stratified estimator (sink/stratify.h)
 *       on the per-plot differences d_p = b2_p - b1_p of tree biomass
 *       (plots matched by identifier), t at df = pairs - strata:
 *       U = t SE(d) / |mean(d)|, half-width = U |dC_sampled|
 *   (the covariance of remeasured plots is what makes the second form
 *   narrower; the first would count the plots' shared variation twice).
 *
 * Time. A date is YYYY-MM-DD; the time of a date in years is
 *   t = Y + (M - 1)/12 + (D - 1)/365.25
 * so whole months are exact twelfths (4 years 5 months = 4.41667 years)
 * and periods add up (t is linear in the date's parts). A period of zero
 * or negative length is an error.
 */
#ifndef CF_SINK_ISSUANCE_CHANGE_H
#define CF_SINK_ISSUANCE_CHANGE_H

#include "carbonflux/ctx.h"
#include "sink/issuance/stocks_read.h"

#define CF_LEDGER_NAME_MAX 128

/* "YYYY-MM-DD" (a real calendar day, years 1000-9999) to its parts;
 * -1 if it is not one. */
int cf_date_parse(const char *text, int *y, int *m, int *d);
/* The date's time in years, the formula above. */
double cf_date_years(int y, int m, int d);
/* The years from date a to date b ({y, m, d} each), formed from the
 * differences of the parts, (Y2 - Y1) + (M2 - M1)/12 + (D2 - D1)/365.25,
 * so that 4 years 5 months is 4 + 5/12 to the last bit (the difference of
 * two cf_date_years loses ~1e-13 to the year's magnitude). */
double cf_date_span(const int a[3], const int b[3]);

typedef enum { CF_DESIGN_INDEPENDENT = 0, CF_DESIGN_PERMANENT = 1 } cf_change_design;

/* A stratum renamed between events: `from` in any event is read as `to`. */
typedef struct {
  char from[CF_LEDGER_NAME_MAX], to[CF_LEDGER_NAME_MAX];
} cf_stratum_map;

typedef struct {
  char name[CF_LEDGER_NAME_MAX]; /* after the mapping */
  double area_ha;                /* at the second event */
  double stock1[5], stock2[5];   /* t CO2e per pool (cf_pool_id order); NaN: not estimated */
} cf_stratum_change;

typedef struct {
  double years;                         /* length of the period */
  unsigned counted;                     /* CF_POOL_BIT of the pools that count */
  unsigned excluded;                    /* estimated in the reports, not counted by the policy */
  double pool1[5], pool2[5], pool_change[5]; /* project, t CO2e; NaN: not estimated */
  double stock1, stock2;                /* counted pools, undiscounted */
  double change, annual_change;         /* stock2 - stock1; per year */
  double stock1_discounted, stock2_discounted; /* the reports' own discounted totals */
  int design;                           /* cf_change_design */
  double u1_pct, u2_pct;                /* the events' U% at 90 % */
  double sampled1, sampled2;            /* the counted stocks' sampled part */
  double half_width;                    /* of the change, 90 %, t CO2e */
  double u_pct;                         /* half_width / |change| x 100; NaN if change = 0 */
  /* permanent plots */
  int n_pairs, n_unmatched, df;
  double mean_diff, se_diff, t_value;   /* t d.m./ha */
  int n_strata;
  cf_stratum_change *strata;            /* malloc'ed */
} cf_period_change;

/* The change from e1 to e2 over `years` for the pools in `policy_pools`.
 * CF_EDATA naming e2's file and field when the strata differ after the
 * mapping, a counted pool is estimated in one report only, or permanent
 * plots cannot be paired; CF_EINVAL for years <= 0. */
int cf_period_change_compute(cf_ctx *ctx, const cf_stocks_in *e1, const cf_stocks_in *e2, double years,
                             unsigned policy_pools, cf_change_design design, const cf_stratum_map *maps, int n_maps,
                             cf_period_change *out);
void cf_period_change_free(cf_period_change *c);

#endif
