/* Reading polygon layers with OGR; see vector.h. */
#include "ingest/vector.h"

#include <errno.h>
#include <float.h>
#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest/gdal_util.h"

void cf_vector_free(cf_vector *v) {
  if (!v) return;
  for (int i = 0; i < v->n; i++) {
    free(v->poly[i].ring_start);
    free(v->poly[i].xy);
    if (v->label) free(v->label[i]);
  }
  free(v->poly);
  free(v->label);
  free(v->path);
  free(v->wkt);
  memset(v, 0, sizeof *v);
}

static void ext_reset(double e[4]) {
  e[0] = e[1] = DBL_MAX;
  e[2] = e[3] = -DBL_MAX;
}

static void poly_update_ext(cf_polygon *p) {
  ext_reset(p->ext);
  int npts = p->ring_start[p->nrings];
  for (int k = 0; k < npts; k++) {
    double x = p->xy[2 * k], y = p->xy[2 * k + 1];
    if (x < p->ext[0]) p->ext[0] = x;
    if (y < p->ext[1]) p->ext[1] = y;
    if (x > p->ext[2]) p->ext[2] = x;
    if (y > p->ext[3]) p->ext[3] = y;
  }
}

static void vector_update_ext(cf_vector *v) {
  ext_reset(v->ext);
  for (int i = 0; i < v->n; i++) {
    const double *e = v->poly[i].ext;
    if (e[0] < v->ext[0]) v->ext[0] = e[0];
    if (e[1] < v->ext[1]) v->ext[1] = e[1];
    if (e[2] > v->ext[2]) v->ext[2] = e[2];
    if (e[3] > v->ext[3]) v->ext[3] = e[3];
  }
}

int cf_polygon_append_ogr_rings(void *ogr_polygon, cf_polygon *p) {
  OGRGeometryH g = ogr_polygon;
  int nr = OGR_G_GetGeometryCount(g);
  for (int r = 0; r < nr; r++) {
    OGRGeometryH ring = OGR_G_GetGeometryRef(g, r);
    int np = OGR_G_GetPointCount(ring);
    if (np < 3) continue;
    int closed = OGR_G_GetX(ring, 0) == OGR_G_GetX(ring, np - 1) &&
                 OGR_G_GetY(ring, 0) == OGR_G_GetY(ring, np - 1);
    int add = np + (closed ? 0 : 1);
    int start = p->ring_start[p->nrings];
    int *rs = realloc(p->ring_start, (size_t)(p->nrings + 2) * sizeof *rs);
    if (!rs) return -1;
    p->ring_start = rs;
    double *xy = realloc(p->xy, (size_t)(start + add) * 2 * sizeof *xy);
    if (!xy) return -1;
    p->xy = xy;
    for (int k = 0; k < np; k++) {
      xy[2 * (start + k)] = OGR_G_GetX(ring, k);
      xy[2 * (start + k) + 1] = OGR_G_GetY(ring, k);
    }
    if (!closed) {
      xy[2 * (start + np)] = xy[2 * start];
      xy[2 * (start + np) + 1] = xy[2 * start + 1];
    }
    p->nrings++;
    p->ring_start[p->nrings] = start + add;
  }
  return 0;
}

int cf_vector_read(cf_ctx *ctx, const char *path, const char *layer_name, const char *label_field,
                   cf_vector *out) {
  return cf_vector_read_assign(ctx, path, layer_name, label_field, NULL, out);
}

int cf_vector_check_lonlat(cf_ctx *ctx, const char *path, const char *layer, void *srs, const double ext[4],
                           const char *fix) {
  if (!srs || !OSRIsGeographic((OGRSpatialReferenceH)srs)) return CF_OK;
  const double tol = 1e-6; /* degrees: a vertex written as 180.0000000001 is still on the globe */
  if (ext[0] >= -180 - tol && ext[2] <= 360 + tol && ext[1] >= -90 - tol && ext[3] <= 90 + tol) return CF_OK;
  const char *name = OSRGetName((OGRSpatialReferenceH)srs);
  return cf_error(ctx, CF_EDATA, path, "crs",
                  "layer '%s': the coordinates reach x %.10g..%.10g, y %.10g..%.10g, which is not longitude/latitude "
                  "(-180..360, -90..90), yet the layer's CRS (%s) is geographic: they look projected (metres) and the "
                  "file declares the wrong CRS; %s",
                  layer ? layer : "", ext[0], ext[2], ext[1], ext[3], name ? name : "geographic", fix);
}

int cf_vector_read_assign(cf_ctx *ctx, const char *path, const char *layer_name, const char *label_field,
                          const char *assign_crs, cf_vector *out) {
  memset(out, 0, sizeof *out);
  cf_gdal_init();
  struct stat st;
  if (!cf_gdal_is_name(path) && stat(path, &st) != 0) /* GDAL names are GDAL's to find */
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot read vector: %s",
                    strerror(errno));
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  cf_gdal_quiet_pop();
  if (!ds)
    return cf_error(ctx, CF_EDATA, path, "", "not a vector file OGR can read (%s)",
                    cf_gdal_last_error("format not recognised"));
  int rc = CF_OK;
  OGRSpatialReferenceH declared = NULL;
  OGRLayerH layer = layer_name ? GDALDatasetGetLayerByName(ds, layer_name)
                               : (GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL);
  if (!layer) {
    rc = cf_error(ctx, CF_EDATA, path, "layer", layer_name ? "no layer named '%s'" : "no layers%s",
                  layer_name ? layer_name : "");
    goto done;
  }
  void *assigned = NULL;
  if (assign_crs && !(assigned = cf_srs_from_user(ctx, assign_crs, path, "assign_crs"))) {
    rc = cf_error_code(ctx);
    goto done;
  }
  OGRSpatialReferenceH srs = assigned ? (OGRSpatialReferenceH)assigned : OGR_L_GetSpatialRef(layer);
  if (!srs) {
    rc = cf_error(ctx, CF_EDATA, path, "crs",
                  "layer has no coordinate reference system (add a .prj, or give assign_crs)");
    goto done;
  }
  char *wkt = NULL;
  OSRExportToWkt(srs, &wkt);
  declared = OSRClone(srs); /* for the check of the coordinates read */
  cf_srs_free(assigned);
  out->wkt = strdup(wkt ? wkt : "");
  CPLFree(wkt);
  out->path = strdup(path);
  if (!out->wkt || !out->path) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  int label_idx = -1;
  if (label_field) {
    label_idx = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), label_field);
    if (label_idx < 0) {
      rc = cf_error(ctx, CF_EDATA, path, label_field, "no such attribute field");
      goto done;
    }
  }
  OGR_L_ResetReading(layer);
  OGRFeatureH f;
  int cap = 0;
  while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    long long fid = (long long)OGR_F_GetFID(f);
    OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbNone;
    if (t != wkbPolygon && t != wkbMultiPolygon) {
      rc = cf_error(ctx, CF_EDATA, path, "geometry", "feature %lld is %s, not a polygon", fid,
                    g ? OGRGeometryTypeToName(t) : "empty");
      OGR_F_Destroy(f);
      goto done;
    }
    if (out->n == cap) {
      cap = cap ? 2 * cap : 16;
      cf_polygon *np = realloc(out->poly, (size_t)cap * sizeof *np);
      char **nl = np ? realloc(out->label, (size_t)cap * sizeof *nl) : NULL;
      if (np) out->poly = np;
      if (nl) out->label = nl;
      if (!np || !nl) goto oom_f;
    }
    cf_polygon *p = &out->poly[out->n];
    memset(p, 0, sizeof *p);
    out->label[out->n] = NULL;
    out->n++;
    p->ring_start = calloc(1, sizeof *p->ring_start);
    if (!p->ring_start) goto oom_f;
    if (t == wkbPolygon) {
      if (cf_polygon_append_ogr_rings(g, p)) goto oom_f;
    } else {
      for (int k = 0; k < OGR_G_GetGeometryCount(g); k++)
        if (cf_polygon_append_ogr_rings(OGR_G_GetGeometryRef(g, k), p)) goto oom_f;
    }
    char buf[64];
    const char *lab = buf;
    if (label_idx >= 0)
      lab = OGR_F_GetFieldAsString(f, label_idx);
    else
      snprintf(buf, sizeof buf, "%lld", fid);
    out->label[out->n - 1] = strdup(lab);
    if (!out->label[out->n - 1]) goto oom_f;
    poly_update_ext(p);
    OGR_F_Destroy(f);
    continue;
  oom_f:
    OGR_F_Destroy(f);
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory reading polygons");
    goto done;
  }
  if (out->n == 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "layer has no polygon features");
    goto done;
  }
  vector_update_ext(out);
  rc = cf_vector_check_lonlat(ctx, path, OGR_L_GetName(layer), declared, out->ext,
                              "give the stage assign_crs with their real CRS (e.g. EPSG:32617 for UTM 17N)");
done:
  if (declared) OSRDestroySpatialReference(declared);
  GDALClose(ds);
  if (rc) cf_vector_free(out);
  return rc;
}

int cf_vector_transform(cf_ctx *ctx, cf_vector *v, const char *wkt) {
  OGRSpatialReferenceH src = OSRNewSpatialReference(v->wkt);
  OGRSpatialReferenceH dst = OSRNewSpatialReference(wkt);
  int rc = CF_OK;
  if (!src || !dst) {
    rc = cf_error(ctx, CF_EINVAL, v->path, "crs", "cannot parse CRS");
    goto done;
  }
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
  if (OSRIsSame(src, dst)) goto done;
  cf_gdal_quiet_push();
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, dst);
  cf_gdal_quiet_pop();
  if (!ct) {
    rc = cf_error(ctx, CF_EDATA, v->path, "crs", "no transformation to the grid CRS (%s)",
                  cf_gdal_last_error("PROJ failed"));
    goto done;
  }
  for (int i = 0; i < v->n && !rc; i++) {
    cf_polygon *p = &v->poly[i];
    int npts = p->ring_start[p->nrings];
    double *x = malloc((size_t)npts * sizeof *x), *y = malloc((size_t)npts * sizeof *y);
    int *ok = malloc((size_t)npts * sizeof *ok);
    if (!x || !y || !ok) {
      rc = cf_error(ctx, CF_ENOMEM, v->path, "", "out of memory");
    } else {
      for (int k = 0; k < npts; k++) x[k] = p->xy[2 * k], y[k] = p->xy[2 * k + 1];
      if (!OCTTransformEx(ct, npts, x, y, NULL, ok)) {
        rc = cf_error(ctx, CF_EDATA, v->path, "geometry",
                      "feature %s cannot be transformed to the grid CRS", v->label[i]);
      } else {
        for (int k = 0; k < npts; k++) p->xy[2 * k] = x[k], p->xy[2 * k + 1] = y[k];
        poly_update_ext(p);
      }
    }
    free(x);
    free(y);
    free(ok);
  }
  OCTDestroyCoordinateTransformation(ct);
  if (!rc) {
    vector_update_ext(v);
    /* the coordinates are now in `wkt`: a layer must not keep naming the old CRS */
    char *w = strdup(wkt);
    if (w) {
      free(v->wkt);
      v->wkt = w;
    } else {
      rc = cf_error(ctx, CF_ENOMEM, v->path, "crs", "out of memory");
    }
  }
done:
  if (src) OSRDestroySpatialReference(src);
  if (dst) OSRDestroySpatialReference(dst);
  return rc;
}

int cf_vector_clone(cf_ctx *ctx, const cf_vector *src, cf_vector *dst) {
  memset(dst, 0, sizeof *dst);
  dst->path = strdup(src->path);
  dst->wkt = strdup(src->wkt);
  dst->poly = calloc((size_t)src->n, sizeof *dst->poly);
  dst->label = calloc((size_t)src->n, sizeof *dst->label);
  memcpy(dst->ext, src->ext, sizeof dst->ext);
  if (!dst->path || !dst->wkt || !dst->poly || !dst->label) goto oom;
  for (int i = 0; i < src->n; i++) {
    const cf_polygon *s = &src->poly[i];
    cf_polygon *d = &dst->poly[i];
    dst->n = i + 1;
    int npts = s->ring_start[s->nrings];
    *d = *s;
    d->ring_start = malloc((size_t)(s->nrings + 1) * sizeof *d->ring_start);
    d->xy = malloc((size_t)(npts ? npts : 1) * 2 * sizeof *d->xy);
    dst->label[i] = strdup(src->label[i]);
    if (!d->ring_start || !d->xy || !dst->label[i]) goto oom;
    memcpy(d->ring_start, s->ring_start, (size_t)(s->nrings + 1) * sizeof *d->ring_start);
    memcpy(d->xy, s->xy, (size_t)npts * 2 * sizeof *d->xy);
  }
  return CF_OK;
oom:
  cf_vector_free(dst);
  return cf_error(ctx, CF_ENOMEM, src->path, "", "out of memory copying polygons");
}
