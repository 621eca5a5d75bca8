/*
 * Polygons from any OGR vector format (Shapefile, GeoJSON, GeoPackage...).
 *
 * Boundaries and strata arrive as polygon layers. The reader flattens each
 * feature's (multi)polygon into plain rings of doubles, because everything
 * downstream (grid extent, clipping, zonal statistics) needs only the rings
 * under the even-odd rule, and plain arrays can be shared by threads without
 * the thread-safety questions OGR geometry objects raise.
 */
#ifndef CF_INGEST_VECTOR_H
#define CF_INGEST_VECTOR_H

#include "carbonflux/ctx.h"

typedef struct {
  int nrings;
  int *ring_start; /* nrings+1 offsets into xy (in points) */
  double *xy;      /* x0,y0,x1,y1,... every ring closed (first == last) */
  double ext[4];   /* xmin, ymin, xmax, ymax */
} cf_polygon;

/* Append the rings of an OGR Polygon (an OGRGeometryH) to p, each closed,
 * rings of fewer than 3 points skipped. -1 if out of memory. For readers
 * of other polygon layers (ingest/flux_sources.c). */
int cf_polygon_append_ogr_rings(void *ogr_polygon, cf_polygon *p);

typedef struct {
  char *path;
  char *wkt;          /* CRS of the coordinates */
  int n;              /* features */
  cf_polygon *poly;
  char **label;       /* value of the label field, or the feature id */
  double ext[4];
} cf_vector;

/* Read every polygon feature of `layer` (NULL: the first layer). Labels come
 * from `label_field` if given, else from the feature id. A layer with no
 * polygons, or a feature that is not a polygon, is an error. */
int cf_vector_read(cf_ctx *ctx, const char *path, const char *layer, const char *label_field,
                   cf_vector *out);
/* As cf_vector_read, with the coordinates taken to be in `assign_crs`
 * (EPSG:n, WKT or a PROJ string) whatever the layer says, as
 * `ogr2ogr -a_srs`: for a layer without a CRS, or with a wrong one (a
 * GeoJSON file always says WGS 84). NULL: the layer's own CRS. */
int cf_vector_read_assign(cf_ctx *ctx, const char *path, const char *layer, const char *label_field,
                          const char *assign_crs, cf_vector *out);
/* A layer whose CRS `srs` (an OGRSpatialReferenceH) is geographic but
 * whose extent `ext` (xmin, ymin, xmax, ymax) is not longitude/latitude
 * (outside -180..360 by -90..90): projected coordinates (metres) in a file
 * that declares the wrong CRS, as a GeoJSON, which always says WGS 84,
 * written from UTM. Read as degrees they would make every polygon a
 * nonsense shape ("stratum 'S1' has no area"); this says what is wrong,
 * naming the file and the layer, and `fix` says what to do. CF_EDATA, or
 * CF_OK when the coordinates fit. */
int cf_vector_check_lonlat(cf_ctx *ctx, const char *path, const char *layer, void *srs, const double ext[4],
                           const char *fix);
/* Reproject every vertex into the CRS `wkt`. */
int cf_vector_transform(cf_ctx *ctx, cf_vector *v, const char *wkt);
void cf_vector_free(cf_vector *v);



/* Deep copy of `src` into `dst`. */
int cf_vector_clone(cf_ctx *ctx, const cf_vector *src, cf_vector *dst);
#endif
