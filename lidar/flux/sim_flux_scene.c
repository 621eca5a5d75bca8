/*
 * The benchmark scene for the flux truth simulator (sim_flux.h),
 * written as a sources layer (GeoJSON, ../shared/spec/flux-io.md): with
 * the true rates for `carbonflux simulate flux --benchmark-scene`, or with
 * the priors an estimate starts from for the demo and the benchmark's
 * inversions. The layout is given in the site frame and placed on the
 * ellipsoid with geodesics, so it is the same scene at any latitude.
 */
#include "lidar/flux/sim_flux_internal.h"

#include <math.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/strbuf.h"

#define D2R CF_SIMFLUX_D2R

/* --------------------------------------------------------- benchmark scene
 * The scene in the site frame (x east, y north, km), lidar at the
 * origin, wind 5 m/s from the west (wind_from=270, the default):
 *   STACK   100 t/h, 150 m high, at (-8, 0): 8 km upwind of the lidar;
 *   PARK_10, PARK_20, PARK_40: 10, 20, 40 t/h, 50 m high, at (-4, 2.5),
 *           (-3.3, 2.5), (-2.6, 2.5): 700 m apart, group "park";
 *   CITY    150 t/h over the 8 x 8 km square [-14, -6] x [-12, -4];
 *   FOREST  -10 umol m-2 s-1 over the 15 x 15 km square [-18, -3] x [3, 18]:
 *           -10e-6 x 225e6 mol/s = -2250 mol/s = -356.48 t/h.
 * All inside the 40 x 40 km domain [-20, 20]^2. Positions are placed with
 * geodesics from the site (geod_direct), the inverse of cf_geo_local. */
static void local_to_lonlat(const cf_geo_site *site, double e, double n, double *lon, double *lat) {
  double s = hypot(e, n), az = atan2(e, n) / D2R;
  geod_direct(&site->geod, site->lat_deg, site->lon_deg, az, s, lat, lon, NULL);
}

static void json_point(cf_strbuf *sb, const cf_geo_site *site, double e, double n) {
  double lon, lat;
  local_to_lonlat(site, e, n, &lon, &lat);
  cf_strbuf_printf(sb, "{\"type\": \"Point\", \"coordinates\": [%.12f, %.12f]}", lon, lat);
}

static void json_square(cf_strbuf *sb, const cf_geo_site *site, double x0, double y0, double x1, double y1) {
  /* 8 points per side, so the square stays a square on the ground */
  cf_strbuf_puts(sb, "{\"type\": \"Polygon\", \"coordinates\": [[");
  const double cx[5] = {x0, x1, x1, x0, x0}, cy[5] = {y0, y0, y1, y1, y0};
  int first = 1;
  for (int s = 0; s < 4; s++)
    for (int k = 0; k < 8 + (s == 3); k++) {
      double f = k / 8.0, lon, lat;
      local_to_lonlat(site, cx[s] + f * (cx[s + 1] - cx[s]), cy[s] + f * (cy[s + 1] - cy[s]), &lon, &lat);
      cf_strbuf_printf(sb, "%s[%.12f, %.12f]", first ? "" : ", ", lon, lat);
      first = 0;
    }
  cf_strbuf_puts(sb, "]]}");
}

/* The priors a user would start from for the benchmark scene: each off
 * the truth by 20-60 % with a sigma that covers it (flux-io.md fields). */
static const double BENCH_PRIOR[6][2] = {{60, 60}, {20, 20}, {20, 20}, {20, 20}, {100, 100}, {-200, 300}};

static int write_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path, int priors);

int cf_simflux_write_benchmark_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path) {
  return write_scene(ctx, c, path, 0);
}

int cf_simflux_write_benchmark_priors(cf_ctx *ctx, const cf_simflux_config *c, const char *path) {
  return write_scene(ctx, c, path, 1);
}

static int write_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path, int priors) {
  cf_geo_site site;
  int rc = cf_geo_site_init(ctx, c->lat, c->lon, c->alt, &site);
  if (rc) return rc;
  const struct {
    const char *name, *kind, *group;
    double h, rate, sigma, x0, y0, x1, y1;
  } f[] = {
      {"STACK", "point", NULL, 150, 100, 50, -8000, 0, 0, 0},
      {"PARK_10", "point", "park", 50, 10, 5, -4000, 2500, 0, 0},
      {"PARK_20", "point", "park", 50, 20, 10, -3300, 2500, 0, 0},
      {"PARK_40", "point", "park", 50, 40, 20, -2600, 2500, 0, 0},
      {"CITY", "area", NULL, 0, 150, 75, -14000, -12000, -6000, -4000},
      {"FOREST", "area", NULL, 0, -10e-6 * 15000.0 * 15000.0 * CF_SIMFLUX_T_PER_H_PER_MOL_S, 200, -18000, 3000, -3000, 18000},
  };
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\"type\": \"FeatureCollection\", \"name\": \"benchmark_scene\",\n\"features\": [\n");
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    cf_strbuf_printf(&sb, "%s{\"type\": \"Feature\", \"properties\": {\"name\": \"%s\", \"kind\": \"%s\", \"height_m\": %.17g, "
                          "\"prior_t_per_h\": %.17g, \"prior_sigma_t_per_h\": %.17g, \"group\": %s%s%s}, \"geometry\": ",
                     i ? ",\n" : "", f[i].name, f[i].kind, f[i].h, priors ? BENCH_PRIOR[i][0] : f[i].rate,
                     priors ? BENCH_PRIOR[i][1] : f[i].sigma, f[i].group ? "\"" : "",
                     f[i].group ? f[i].group : "null", f[i].group ? "\"" : "");
    if (!strcmp(f[i].kind, "point"))
      json_point(&sb, &site, f[i].x0, f[i].y0);
    else
      json_square(&sb, &site, f[i].x0, f[i].y0, f[i].x1, f[i].y1);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "\n]}\n");
  rc = cf_write_text_file_atomic(ctx, path, cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
  return rc;
}
