/*
 * The local frame at the lidar (see geometry.h for the model and its
 * error). Only cf_geo_site_init can fail; the rest are pure functions.
 */
#include "lidar/flux/geometry.h"

#include <math.h>

#define GEO_PI 3.14159265358979323846
#define D2R (GEO_PI / 180.0)

int cf_geo_site_init(cf_ctx *ctx, double lat_deg, double lon_deg, double alt_m, cf_geo_site *site) {
  static const char *const where = "lidar site";
  if (!site) return cf_error(ctx, CF_EINVAL, where, "site", "no output");
  if (!isfinite(lat_deg) || lat_deg < -90 || lat_deg > 90)
    return cf_error(ctx, CF_EINVAL, where, "latitude", "%g is not in [-90, 90] degrees", lat_deg);
  if (!isfinite(lon_deg) || lon_deg < -540 || lon_deg > 540)
    return cf_error(ctx, CF_EINVAL, where, "longitude", "%g is not in [-540, 540] degrees",
                    lon_deg);
  if (!isfinite(alt_m)) return cf_error(ctx, CF_EINVAL, where, "altitude", "is not finite");
  site->lat_deg = lat_deg;
  site->lon_deg = lon_deg;
  site->alt_m = alt_m;
  geod_init(&site->geod, CF_GEO_WGS84_A, CF_GEO_WGS84_F);
  return CF_OK;
}

void cf_geo_gate_enu(double range_m, double azimuth_deg, double elevation_deg, double enu[3]) {
  double az = azimuth_deg * D2R, el = elevation_deg * D2R;
  double h = range_m * cos(el);
  enu[0] = h * sin(az);
  enu[1] = h * cos(az);
  enu[2] = range_m * sin(el);
}

double cf_geo_gate_height_agl(double range_m, double elevation_deg, double h_instr_m) {
  double el = elevation_deg * D2R;
  double h = range_m * cos(el);
  return h_instr_m + range_m * sin(el) + h * h / (2.0 * CF_GEO_EARTH_R);
}

void cf_geo_local(const cf_geo_site *site, double lon_deg, double lat_deg, double *e, double *n) {
  double s12 = 0, azi1 = 0, azi2 = 0;
  geod_inverse(&site->geod, site->lat_deg, site->lon_deg, lat_deg, lon_deg, &s12, &azi1, &azi2);
  double a = azi1 * D2R;
  *e = s12 * sin(a);
  *n = s12 * cos(a);
}

int cf_geo_local_n(cf_ctx *ctx, const cf_geo_site *site, const double *lon_deg,
                   const double *lat_deg, int n, double *e, double *nn) {
  static const char *const where = "local frame";
  if (!site || n < 0 || (n > 0 && (!lon_deg || !lat_deg || !e || !nn)))
    return cf_error(ctx, CF_EINVAL, where, "points", "no site, no arrays or a negative count %d", n);
  for (int i = 0; i < n; i++)
    if (!isfinite(lon_deg[i]) || !isfinite(lat_deg[i]) || lat_deg[i] < -90 || lat_deg[i] > 90)
      return cf_error(ctx, CF_EINVAL, where, "points", "point %d (%g, %g) is not a lon/lat", i,
                      lon_deg[i], lat_deg[i]);
  for (int i = 0; i < n; i++) cf_geo_local(site, lon_deg[i], lat_deg[i], &e[i], &nn[i]);
  return CF_OK;
}

void cf_geo_wind_frame(double wind_from_deg, double se, double sn, double re, double rn, double *x,
                       double *y) {
  double t = wind_from_deg * D2R;
  double de = -sin(t), dn = -cos(t);
  double ve = re - se, vn = rn - sn;
  *x = de * ve + dn * vn;
  *y = de * vn - dn * ve;
}
