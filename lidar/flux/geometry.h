/*
 * Where things are, seen from the lidar: the local frame the plume model
 * (lidar/flux/plume.h) works in.
 *
 * Frame. East-north-up at the lidar site: origin at the instrument, e and n
 * horizontal (m), u up along the ellipsoid normal (m).
 *
 * Gates. A gate at range r, azimuth az (clockwise from true north) and
 * elevation el (above the horizon) is at
 *     e = r cos(el) sin(az),  n = r cos(el) cos(az),  u = r sin(el)
 * in the tangent plane (exact for a straight ray). Its height above the
 * ground, which is what the plume sees, also has the earth's curvature
 * under it: z_agl = h_instr + r sin(el) + (r cos(el))^2 / (2 R) (R the mean
 * earth radius, no refraction: the optical refraction coefficient is about
 * 0.13 and would lower it by 13 %). At 7 km and el = 0 the curvature term is
 * 3.8 m; at 20 km it is 31 m, which matters for a plume tens of metres deep.
 * The ground is taken as level at the site's ground (no terrain).
 *
 * Sources. A point given in longitude/latitude (WGS 84) goes to the
 * site's azimuthal equidistant projection computed on the ellipsoid with
 * PROJ's geodesic routines (Karney 2013, <geodesic.h>): the geodesic from
 * the site has length s and azimuth a at the site, and the point is
 * (s sin a, s cos a). Distances and azimuths FROM THE SITE are therefore
 * exact (to the nm of Karney's algorithm). Between two other points the
 * projection stretches lengths across the radial direction by at most
 * (d/R) / sin(d/R) - 1 ~ d^2 / (6 R^2) at distance d from the site:
 * 1.0e-5 at 50 km, i.e. under 0.5 m over 50 km and 1 m over 100 km -- well
 * below the size of any source we resolve. (A plain tangent plane with
 * local radii of curvature would be off by the meridian convergence, about
 * d^2 tan(lat) / R: ~400 m at 50 km and 45 deg. Hence the geodesics.)
 *
 * Wind frame. For a wind FROM direction theta (meteorological: clockwise
 * from north, the direction it blows from) the air moves towards
 * theta + 180, i.e. along d = (-sin theta, -cos theta) in (e, n). For a
 * receptor r and a source s (both in (e, n)):
 *     x = d . (r - s)            downwind distance (> 0 downwind)
 *     y = d_e (r_n - s_n) - d_n (r_e - s_e)   crosswind, positive to the
 *                                             left of the travel direction
 *
 * Everything here is pure and thread-safe once the site is made; the site
 * holds a geod_geodesic, which geod_inverse only reads.
 */
#ifndef CF_LIDAR_FLUX_GEOMETRY_H
#define CF_LIDAR_FLUX_GEOMETRY_H

#include <geodesic.h>

#include "carbonflux/ctx.h"

#define CF_GEO_WGS84_A 6378137.0
#define CF_GEO_WGS84_F (1.0 / 298.257223563)
#define CF_GEO_EARTH_R 6371008.8 /* mean earth radius R1 (IUGG), m */

typedef struct {
  double lat_deg, lon_deg; /* WGS 84 */
  double alt_m;            /* instrument altitude (as L2 `altitude`; recorded, the frame's
                              origin) */
  struct geod_geodesic geod;
} cf_geo_site;

/* Check and set up a site: latitude in [-90, 90], longitude in [-540, 540],
 * altitude finite. */
int cf_geo_site_init(cf_ctx *ctx, double lat_deg, double lon_deg, double alt_m, cf_geo_site *site);

/* The gate's (e, n, u) in the tangent plane at the site (see above). */
void cf_geo_gate_enu(double range_m, double azimuth_deg, double elevation_deg, double enu[3]);

/* The gate's height above level ground, with the curvature term, for an
 * instrument h_instr_m above the ground. */
double cf_geo_gate_height_agl(double range_m, double elevation_deg, double h_instr_m);

/* A point in lon/lat to the site's azimuthal equidistant (e, n), m. */
void cf_geo_local(const cf_geo_site *site, double lon_deg, double lat_deg, double *e, double *n);

/* The same for n points (a polygon's vertices before cf_plume_grid_polygon):
 * lon/lat arrays in, e/n arrays out (may not alias the inputs). Checks
 * that every coordinate is finite and every latitude within [-90, 90]. */
int cf_geo_local_n(cf_ctx *ctx, const cf_geo_site *site, const double *lon_deg,
                   const double *lat_deg, int n, double *e, double *nn);

/* Downwind x and crosswind y (m) of receptor (re, rn) from source (se, sn)
 * for a wind from `wind_from_deg` (see above). */
void cf_geo_wind_frame(double wind_from_deg, double se, double sn, double re, double rn, double *x,
                       double *y);

#endif
