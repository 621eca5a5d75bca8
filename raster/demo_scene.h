/*
 * The synthetic demo scene: small, deterministic, and shaped like real work.
 *
 * `carbonflux demo` must run anywhere with nothing downloaded, so it makes
 * its inputs: a 4-band surface-reflectance image (UInt16, reflectance x
 * 10000, 30 m, UTM 50N) with forest stands, grassland, bare soil, a lake and
 * a cloud marked nodata; a 10 m canopy-height model (Float32); a project
 * boundary and three forest stands as GeoJSON in WGS84 (so the pipeline has
 * to reproject them). Texture comes from a hash of the pixel index, not
 * from a random generator, so every run and every machine makes the same
 * bytes.
 */
#ifndef CF_RASTER_DEMO_SCENE_H
#define CF_RASTER_DEMO_SCENE_H

#include "carbonflux/ctx.h"

/* Writes scene.tif, chm.tif, boundary.geojson, stands.geojson and the
 * forest inventory forest/plots.csv and forest/trees.csv into `dir`
 * (created if missing). */
int cf_demo_scene_write(cf_ctx *ctx, const char *dir);

/* The scene's truth, for tests: land cover at a 30 m pixel (0 forest,
 * 1 grass, 2 bare soil, 3 water, 4 cloud) and the canopy height at a 10 m
 * pixel of chm.tif. */
int cf_demo_cover(int col30, int row30);
double cf_demo_height(int col10, int row10);

#define CF_DEMO_EPSG 32650
#define CF_DEMO_X0 500000.0
#define CF_DEMO_Y0 3400000.0
#define CF_DEMO_SIZE30 300 /* 30 m pixels per side: 9 km */

#endif
