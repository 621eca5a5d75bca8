/*
 * The candidate-sources layer of the flux estimation (../shared/spec/
 * flux-io.md): one feature per source, with fields name, kind (point |
 * area), height_m, prior_t_per_h, prior_sigma_t_per_h and an optional
 * group, in any vector format OGR reads and any CRS the layer declares.
 *
 * Why its own reader and not ingest/vector.h: that one reads polygons
 * only, and labels them; sources mix points and polygons, carry typed
 * fields that must each be validated, and are always wanted in WGS84
 * longitude/latitude (the plume model and the inversion work around the
 * lidar's site, which L2 files give in WGS84). Every vertex is transformed
 * here with OGR (axis order forced to longitude, latitude, whatever the
 * CRS's own order), so that a GeoJSON in EPSG:4326 and a GeoPackage in UTM
 * describing the same sources give the same numbers.
 *
 * Validation, each error naming the file, the feature (its name, else its
 * FID) and the field: the five required fields exist in the layer (a
 * Shapefile's 10-character truncations of them are accepted, since DBF
 * cannot hold longer names); name is non-empty and unique; kind is point
 * or area (case-insensitive); a point source has a Point geometry and an
 * area source a Polygon or MultiPolygon; the numbers are finite, height_m
 * >= 0 and prior_sigma_t_per_h > 0; group is optional (absent field or
 * empty value: no group). An area source's height_m may be empty (taken
 * as 0, the spec's value for areas).
 *
 * Area sources keep their rings in lon/lat (ingest/vector.h's cf_polygon,
 * x = longitude) for gridding, with their geodesic area (PROJ's
 * geod_polygonarea on WGS84, Karney 2013; holes subtracted) and a
 * representative point (OGR's centroid of the lon/lat polygon).
 */
#ifndef CF_INGEST_FLUX_SOURCES_H
#define CF_INGEST_FLUX_SOURCES_H

#include "carbonflux/ctx.h"
#include "core/sha256.h"
#include "ingest/vector.h"

typedef enum { CF_SOURCE_POINT = 0, CF_SOURCE_AREA = 1 } cf_source_kind;

typedef struct {
  char *name;
  cf_source_kind kind;
  double height_m;            /* release height above ground */
  double prior_t_per_h;       /* t CO2 per hour; negative for a sink */
  double prior_sigma_t_per_h; /* 1 sigma, > 0 */
  char *group;                /* NULL: no group */
  long long fid;              /* the feature's id in the layer */
  double lon, lat;            /* point: the point; area: the centroid (WGS84 degrees) */
  cf_polygon poly;            /* area: rings in lon/lat (x = lon); point: nrings = 0 */
  double area_m2;             /* area: geodesic area on WGS84; point: 0 */
} cf_flux_source;

/* The files that define the layer, for provenance: GDAL's own list of the
 * dataset's files (GDALGetFileList: a Shapefile's .shp, .shx, .dbf, .prj
 * and .cpg; a GeoJSON's or GeoPackage's one file), local regular files
 * only, in GDAL's order (the file named first). A GDAL name inside an
 * archive (/vsizip/a.zip/s.shp) records the plain file behind it (a.zip);
 * a name with no local file (/vsicurl/) records none, and a warning says
 * so. Each with the SHA-256 of its bytes, hashed right after the read. */
typedef struct {
  char *path;
  char sha256[CF_SHA256_HEX_LEN];
} cf_flux_sources_file;

typedef struct {
  char *path;
  char *layer; /* the layer read */
  int n;
  cf_flux_source *src;
  int n_files;
  cf_flux_sources_file *files;
} cf_flux_sources;

/* Read the layer `layer` of `path` (NULL: the first layer). CF_ENOENT,
 * CF_EDATA (unreadable, no CRS, a validation error), CF_ENOMEM. On error
 * `out` is empty. */
int cf_flux_sources_read(cf_ctx *ctx, const char *path, const char *layer, cf_flux_sources *out);
void cf_flux_sources_free(cf_flux_sources *s);
/* Index of the source named `name`, or -1. */
int cf_flux_sources_find(const cf_flux_sources *s, const char *name);

#endif
