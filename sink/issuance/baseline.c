/* Baseline stocks (baseline.h): the crown-cover method and a stock series. */
#include "sink/issuance/baseline.h"

#include <math.h>

double cf_baseline_crown_cover(double cc0, double cc_rate, double t_first, double t) {
  double cc = cc0 + cc_rate * (t - t_first);
  return cc < 0.0 ? 0.0 : cc > 1.0 ? 1.0 : cc;
}

double cf_baseline_crown_cover_stock(double cf, double r, double area_ha, double b_forest, double cc) {
  return CF_CO2_PER_C * cf * (1.0 + r) * area_ha * b_forest * cc;
}

double cf_baseline_series_stock(const cf_stocks_in *r, unsigned pools) {
  double s = 0.0;
  for (int k = 0; k < CF_POOL_COUNT; k++)
    if ((pools & CF_POOL_BIT(k)) && r->pool_estimated[k]) s += r->pools_t_co2e[k];
  return s;
}
