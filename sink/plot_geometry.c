/* Plot areas on slopes and nested-ring expansion factors; see plot_geometry.h. */
#include "sink/plot_geometry.h"

#include <math.h>

#define PI 3.14159265358979323846

static int check(cf_ctx *ctx, const char *where, double radius_m, double slope_deg) {
  if (!isfinite(radius_m) || radius_m <= 0)
    return cf_error(ctx, CF_EINVAL, where ? where : "", "radius_m",
                    "%g m is not a plot radius (must be > 0)", radius_m);
  if (!isfinite(slope_deg) || slope_deg < 0 || slope_deg > CF_PLOT_MAX_SLOPE_DEG)
    return cf_error(ctx, CF_EINVAL, where ? where : "", "slope_deg",
                    "%g degrees is not a plot slope (0 <= slope <= %g)", slope_deg,
                    CF_PLOT_MAX_SLOPE_DEG);
  return CF_OK;
}

int cf_plot_area_slope_ha(cf_ctx *ctx, const char *where, double radius_m, double slope_deg,
                          double *area_ha) {
  int rc = check(ctx, where, radius_m, slope_deg);
  if (rc) return rc;
  *area_ha = PI * radius_m * radius_m * cos(slope_deg * PI / 180.0) / 10000.0;
  return CF_OK;
}

int cf_plot_radius_slope_corrected_m(cf_ctx *ctx, const char *where, double radius_m,
                                     double slope_deg, double *radius_on_slope_m) {
  int rc = check(ctx, where, radius_m, slope_deg);
  if (rc) return rc;
  *radius_on_slope_m = radius_m / sqrt(cos(slope_deg * PI / 180.0));
  return CF_OK;
}

int cf_plot_expansion_factor(cf_ctx *ctx, const char *where, double area_ha, double *per_ha) {
  if (!isfinite(area_ha) || area_ha <= 0)
    return cf_error(ctx, CF_EINVAL, where ? where : "", "area_ha",
                    "%g ha is not a plot area (must be > 0)", area_ha);
  *per_ha = 1.0 / area_ha;
  return CF_OK;
}

int cf_plot_expansion_factor_circle(cf_ctx *ctx, const char *where, double radius_m,
                                    double slope_deg, double *per_ha) {
  double a;
  int rc = cf_plot_area_slope_ha(ctx, where, radius_m, slope_deg, &a);
  if (rc) return rc;
  return cf_plot_expansion_factor(ctx, where, a, per_ha);
}
