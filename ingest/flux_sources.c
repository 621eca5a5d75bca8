/*
 * The sources layer reader (see flux_sources.h for the rules and why).
 *
 * Shape: open with OGR, find the fields once, then per feature: its label
 * for messages (name, else FID), the fields, the geometry kind against
 * the source kind, then a clone of the geometry transformed to WGS84
 * lon/lat, flattened into plain arrays. Uniqueness of names is checked at
 * the end, naming both features. GDAL handles are not shared with
 * threads: call from one thread.
 */
#include "ingest/flux_sources.h"

#include <errno.h>
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/sha256.h"
#include "core/utf8.h"
#include "ingest/gdal_util.h"
#include "ingest/vector.h"

static void source_free(cf_flux_source *s) {
  free(s->name);
  free(s->group);
  free(s->poly.ring_start);
  free(s->poly.xy);
}

void cf_flux_sources_free(cf_flux_sources *s) {
  if (!s) return;
  for (int i = 0; i < s->n && s->src; i++) source_free(&s->src[i]);
  free(s->src);
  free(s->path);
  free(s->layer);
  for (int i = 0; i < s->n_files && s->files; i++) free(s->files[i].path);
  free(s->files);
  memset(s, 0, sizeof *s);
}

int cf_flux_sources_find(const cf_flux_sources *s, const char *name) {
  for (int i = 0; s && name && i < s->n; i++)
    if (strcmp(s->src[i].name, name) == 0) return i;
  return -1;
}

/* --- fields ------------------------------------------------------------------------- */

enum { F_NAME, F_KIND, F_HEIGHT, F_PRIOR, F_SIGMA, F_GROUP, NFIELDS };
static const char *const field_names[NFIELDS] = {"name", "kind", "height_m", "prior_t_per_h",
                                                 "prior_sigma_t_per_h", "group"};

typedef struct {
  cf_ctx *ctx;
  const char *path;
  int idx[NFIELDS];
  char label[160]; /* the current feature, for messages */
} rd;

static int bad(rd *r, int field, const char *fmt, const char *detail) {
  char msg[400];
  snprintf(msg, sizeof msg, fmt, detail);
  return cf_error(r->ctx, CF_EDATA, r->path, field_names[field], "feature %s: %s", r->label, msg);
}

/* A real field: numeric types directly, strings if they parse whole. *set
 * is 0 for a null or unset value. */
static int get_real(rd *r, OGRFeatureH f, int field, double *v, int *set) {
  int i = r->idx[field];
  *set = OGR_F_IsFieldSetAndNotNull(f, i);
  *v = NAN;
  if (!*set) return CF_OK;
  OGRFieldType t = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, i));
  if (t == OFTInteger || t == OFTInteger64 || t == OFTReal) {
    *v = OGR_F_GetFieldAsDouble(f, i);
  } else {
    const char *s = OGR_F_GetFieldAsString(f, i);
    char *end = NULL;
    errno = 0;
    *v = s ? strtod(s, &end) : NAN;
    while (end && *end == ' ') end++;
    if (!s || end == s || *end != '\0' || errno) return bad(r, field, "'%s' is not a number", s ? s : "");
  }
  if (!isfinite(*v)) return bad(r, field, "%s", "is not a finite number");
  return CF_OK;
}

/* --- geometry ------------------------------------------------------------------------- */

/* Append the rings of a Polygon (already in lon/lat) to p
 * (ingest/vector.h); add its geodesic area (exterior minus holes) to *area. */
static int add_rings(OGRGeometryH g, cf_polygon *p, const struct geod_geodesic *gd, double *area) {
  int first = p->nrings;
  if (cf_polygon_append_ogr_rings(g, p)) return -1;
  for (int k = first; k < p->nrings; k++) {
    int start = p->ring_start[k], m = p->ring_start[k + 1] - start - 1; /* geod wants the ring open */
    double *lat = malloc((size_t)m * sizeof *lat), *lon = malloc((size_t)m * sizeof *lon);
    if (!lat || !lon) {
      free(lat);
      free(lon);
      return -1;
    }
    for (int j = 0; j < m; j++) lon[j] = p->xy[2 * (start + j)], lat[j] = p->xy[2 * (start + j) + 1];
    double a = 0, perim = 0;
    geod_polygonarea(gd, lat, lon, m, &a, &perim);
    *area += k == first ? fabs(a) : -fabs(a); /* the first ring is the exterior, the others holes */
    free(lat);
    free(lon);
  }
  return 0;
}

static void poly_ext(cf_polygon *p) {
  int npts = p->ring_start[p->nrings];
  for (int k = 0; k < npts; k++) {
    double x = p->xy[2 * k], y = p->xy[2 * k + 1];
    if (k == 0 || x < p->ext[0]) p->ext[0] = x;
    if (k == 0 || y < p->ext[1]) p->ext[1] = y;
    if (k == 0 || x > p->ext[2]) p->ext[2] = x;
    if (k == 0 || y > p->ext[3]) p->ext[3] = y;
  }
}

/* The geometry of one source, transformed (ct may be NULL: already WGS84). */
static int take_geometry(rd *r, OGRFeatureH f, OGRCoordinateTransformationH ct,
                         const struct geod_geodesic *gd, cf_flux_source *s) {
  OGRGeometryH g0 = OGR_F_GetGeometryRef(f);
  OGRwkbGeometryType t = g0 && !OGR_G_IsEmpty(g0) ? wkbFlatten(OGR_G_GetGeometryType(g0)) : wkbNone;
  int want_point = s->kind == CF_SOURCE_POINT;
  if (want_point && t != wkbPoint)
    return bad(r, F_KIND, "is point but the geometry is %s (a point source needs a Point)",
               t == wkbNone ? "empty" : OGRGeometryTypeToName(t));
  if (!want_point && t != wkbPolygon && t != wkbMultiPolygon)
    return bad(r, F_KIND, "is area but the geometry is %s (an area source needs a (Multi)Polygon)",
               t == wkbNone ? "empty" : OGRGeometryTypeToName(t));
  OGRGeometryH g = OGR_G_Clone(g0);
  if (!g) return cf_error(r->ctx, CF_ENOMEM, r->path, "geometry", "out of memory");
  int rc = CF_OK;
  cf_gdal_quiet_push();
  OGRErr e = ct ? OGR_G_Transform(g, ct) : OGRERR_NONE;
  cf_gdal_quiet_pop();
  if (e != OGRERR_NONE) {
    rc = cf_error(r->ctx, CF_EDATA, r->path, "geometry",
                  "feature %s cannot be transformed to WGS84 longitude/latitude (%s)", r->label,
                  cf_gdal_last_error("PROJ failed"));
    goto done;
  }
  if (want_point) {
    s->lon = OGR_G_GetX(g, 0);
    s->lat = OGR_G_GetY(g, 0);
  } else {
    s->poly.ring_start = calloc(1, sizeof *s->poly.ring_start);
    if (!s->poly.ring_start) goto oom;
    s->area_m2 = 0;
    if (t == wkbPolygon) {
      if (add_rings(g, &s->poly, gd, &s->area_m2)) goto oom;
    } else {
      for (int k = 0; k < OGR_G_GetGeometryCount(g); k++)
        if (add_rings(OGR_G_GetGeometryRef(g, k), &s->poly, gd, &s->area_m2)) goto oom;
    }
    if (s->poly.nrings == 0) {
      rc = bad(r, F_KIND, "%s", "is area but the polygon has no ring of 3 or more points");
      goto done;
    }
    poly_ext(&s->poly);
    OGRGeometryH c = OGR_G_CreateGeometry(wkbPoint);
    if (!c) goto oom;
    if (OGR_G_Centroid(g, c) == OGRERR_NONE) {
      s->lon = OGR_G_GetX(c, 0);
      s->lat = OGR_G_GetY(c, 0);
    } else {
      s->lon = 0.5 * (s->poly.ext[0] + s->poly.ext[2]);
      s->lat = 0.5 * (s->poly.ext[1] + s->poly.ext[3]);
    }
    OGR_G_DestroyGeometry(c);
  }
  if (!isfinite(s->lon) || !isfinite(s->lat) || fabs(s->lat) > 90)
    rc = cf_error(r->ctx, CF_EDATA, r->path, "geometry",
                  "feature %s: position (%g, %g) is not a longitude/latitude after transformation",
                  r->label, s->lon, s->lat);
done:
  OGR_G_DestroyGeometry(g);
  return rc;
oom:
  OGR_G_DestroyGeometry(g);
  return cf_error(r->ctx, CF_ENOMEM, r->path, "geometry", "out of memory");
}

/* --- one feature -------------------------------------------------------------------- */

static int read_feature(rd *r, OGRFeatureH f, OGRCoordinateTransformationH ct,
                        const struct geod_geodesic *gd, cf_flux_source *s) {
  s->fid = (long long)OGR_F_GetFID(f);
  const char *nm = OGR_F_IsFieldSetAndNotNull(f, r->idx[F_NAME]) ? OGR_F_GetFieldAsString(f, r->idx[F_NAME]) : "";
  if (nm && nm[0])
    snprintf(r->label, sizeof r->label, "'%s' (FID %lld)", nm, s->fid);
  else
    snprintf(r->label, sizeof r->label, "FID %lld", s->fid);
  if (!nm || !nm[0]) return bad(r, F_NAME, "%s", "is empty (every source needs a unique name)");
  if (cf_utf8_invalid_at(nm, strlen(nm)) >= 0) /* it reaches the summary JSON and the L3 file */
    return bad(r, F_NAME, "%s", "is not UTF-8; the layer must be UTF-8 (a shapefile needs a .cpg naming its encoding)");
  s->name = strdup(nm);
  if (!s->name) return cf_error(r->ctx, CF_ENOMEM, r->path, "name", "out of memory");

  const char *kind = OGR_F_IsFieldSetAndNotNull(f, r->idx[F_KIND]) ? OGR_F_GetFieldAsString(f, r->idx[F_KIND]) : "";
  char k[16] = "";
  snprintf(k, sizeof k, "%s", kind ? kind : "");
  if (strcasecmp(k, "point") == 0)
    s->kind = CF_SOURCE_POINT;
  else if (strcasecmp(k, "area") == 0)
    s->kind = CF_SOURCE_AREA;
  else
    return bad(r, F_KIND, "'%s' is neither point nor area", kind ? kind : "");

  int rc, set;
  if ((rc = get_real(r, f, F_HEIGHT, &s->height_m, &set))) return rc;
  if (!set) {
    if (s->kind == CF_SOURCE_POINT) return bad(r, F_HEIGHT, "%s", "is empty (a point source needs its release height)");
    s->height_m = 0;
  }
  if (s->height_m < 0) {
    char v[64];
    snprintf(v, sizeof v, "%g m", s->height_m);
    return bad(r, F_HEIGHT, "is %s; a release height above ground must be >= 0", v);
  }
  if ((rc = get_real(r, f, F_PRIOR, &s->prior_t_per_h, &set))) return rc;
  if (!set) return bad(r, F_PRIOR, "%s", "is empty");
  if ((rc = get_real(r, f, F_SIGMA, &s->prior_sigma_t_per_h, &set))) return rc;
  if (!set) return bad(r, F_SIGMA, "%s", "is empty");
  if (!(s->prior_sigma_t_per_h > 0)) {
    char v[64];
    snprintf(v, sizeof v, "%g", s->prior_sigma_t_per_h);
    return bad(r, F_SIGMA, "is %s; a prior uncertainty must be > 0", v);
  }
  if (r->idx[F_GROUP] >= 0 && OGR_F_IsFieldSetAndNotNull(f, r->idx[F_GROUP])) {
    const char *g = OGR_F_GetFieldAsString(f, r->idx[F_GROUP]);
    if (g && cf_utf8_invalid_at(g, strlen(g)) >= 0) return bad(r, F_GROUP, "%s", "is not UTF-8; the layer must be UTF-8");
    if (g && g[0]) {
      s->group = strdup(g);
      if (!s->group) return cf_error(r->ctx, CF_ENOMEM, r->path, "group", "out of memory");
    }
  }
  return take_geometry(r, f, ct, gd, s);
}

/* The layer's files and their SHA-256 (cf_flux_sources_file, in the header). */
static int add_file(cf_ctx *ctx, cf_flux_sources *out, const char *file) {
  for (int i = 0; i < out->n_files; i++)
    if (!strcmp(out->files[i].path, file)) return CF_OK;
  cf_flux_sources_file *nf = realloc(out->files, (size_t)(out->n_files + 1) * sizeof *nf);
  if (!nf) return cf_error(ctx, CF_ENOMEM, out->path, "", "out of memory");
  out->files = nf;
  cf_flux_sources_file *f = &out->files[out->n_files];
  if (!(f->path = strdup(file))) return cf_error(ctx, CF_ENOMEM, out->path, "", "out of memory");
  out->n_files++;
  return cf_sha256_file(ctx, file, f->sha256);
}

static int list_files(cf_ctx *ctx, GDALDatasetH ds, const char *path, cf_flux_sources *out) {
  int rc = CF_OK;
  if (cf_gdal_is_name(path)) {
    char *file = cf_gdal_name_file(path);
    if (file)
      rc = add_file(ctx, out, file);
    else
      cf_log(ctx, CF_LOG_WARN, "sources %s: sha256 n/a (virtual, no local file to hash)", path);
    free(file);
    return rc;
  }
  char **list = GDALGetFileList(ds);
  for (char **p = list; p && *p && !rc; p++) {
    struct stat st;
    if (stat(*p, &st) == 0 && S_ISREG(st.st_mode)) rc = add_file(ctx, out, *p);
  }
  CSLDestroy(list);
  /* a driver that lists nothing (a directory of layers): the name given */
  if (!rc && out->n_files == 0) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) rc = add_file(ctx, out, path);
    else cf_log(ctx, CF_LOG_WARN, "sources %s: GDAL names no file of the layer: no SHA-256 recorded", path);
  }
  return rc;
}

/* --- public ------------------------------------------------------------------------- */

int cf_flux_sources_read(cf_ctx *ctx, const char *path, const char *layer_name,
                         cf_flux_sources *out) {
  if (!out) return cf_error(ctx, CF_EINVAL, path ? path : "", "", "no output structure");
  memset(out, 0, sizeof *out);
  if (!path) return cf_error(ctx, CF_EINVAL, "", "sources", "no file name");
  cf_gdal_init();
  struct stat st;
  if (!cf_gdal_is_name(path) && stat(path, &st) != 0)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot read sources: %s",
                    strerror(errno));
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  cf_gdal_quiet_pop();
  if (!ds)
    return cf_error(ctx, CF_EDATA, path, "", "not a vector file OGR can read (%s)",
                    cf_gdal_last_error("format not recognised"));
  int rc = CF_OK;
  OGRSpatialReferenceH src_srs = NULL, wgs = NULL;
  OGRCoordinateTransformationH ct = NULL;
  OGRLayerH layer = layer_name ? GDALDatasetGetLayerByName(ds, layer_name)
                               : (GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL);
  if (!layer) {
    rc = layer_name ? cf_error(ctx, CF_EDATA, path, "layer", "no layer named '%s'", layer_name)
                    : cf_error(ctx, CF_EDATA, path, "layer", "the file has no layers");
    goto done;
  }
  out->path = strdup(path);
  out->layer = strdup(OGR_L_GetName(layer));
  if (!out->path || !out->layer) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }

  /* fields: exact names, or a Shapefile's 10-character truncation */
  rd r = {.ctx = ctx, .path = path};
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
  GDALDriverH drv = GDALGetDatasetDriver(ds);
  int is_shp = drv && strcmp(GDALGetDriverShortName(drv), "ESRI Shapefile") == 0;
  for (int k = 0; k < NFIELDS; k++) {
    r.idx[k] = OGR_FD_GetFieldIndex(defn, field_names[k]);
    if (r.idx[k] < 0 && is_shp && strlen(field_names[k]) > 10) {
      char shortname[11];
      memcpy(shortname, field_names[k], 10);
      shortname[10] = '\0';
      r.idx[k] = OGR_FD_GetFieldIndex(defn, shortname);
    }
    if (r.idx[k] < 0 && k != F_GROUP) {
      rc = cf_error(ctx, CF_EDATA, path, field_names[k],
                    "layer '%s' has no field '%s' (required by flux-io.md)", out->layer,
                    field_names[k]);
      goto done;
    }
  }

  /* CRS: the layer's own, to WGS84 with x = longitude */
  OGRSpatialReferenceH lsrs = OGR_L_GetSpatialRef(layer);
  if (!lsrs) {
    rc = cf_error(ctx, CF_EDATA, path, "crs",
                  "layer '%s' declares no coordinate reference system (add one: a .prj, or "
                  "ogr2ogr -a_srs)",
                  out->layer);
    goto done;
  }
  src_srs = OSRClone(lsrs);
  wgs = OSRNewSpatialReference(NULL);
  if (!src_srs || !wgs || OSRImportFromEPSG(wgs, 4326) != OGRERR_NONE) {
    rc = cf_error(ctx, CF_EDATA, path, "crs", "cannot set up WGS84 (%s)", cf_gdal_last_error("PROJ failed"));
    goto done;
  }
  OSRSetAxisMappingStrategy(src_srs, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
  if (!OSRIsSame(src_srs, wgs)) {
    cf_gdal_quiet_push();
    ct = OCTNewCoordinateTransformation(src_srs, wgs);
    cf_gdal_quiet_pop();
    if (!ct) {
      rc = cf_error(ctx, CF_EDATA, path, "crs", "no transformation from the layer's CRS to WGS84 (%s)",
                    cf_gdal_last_error("PROJ failed"));
      goto done;
    }
  }
  struct geod_geodesic gd;
  geod_init(&gd, 6378137.0, 1.0 / 298.257223563); /* WGS 84 */

  OGR_L_ResetReading(layer);
  OGRFeatureH f;
  int cap = 0;
  while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
    if (out->n == cap) {
      cap = cap ? 2 * cap : 16;
      cf_flux_source *ns = realloc(out->src, (size_t)cap * sizeof *ns);
      if (!ns) {
        OGR_F_Destroy(f);
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory reading sources");
        goto done;
      }
      out->src = ns;
    }
    cf_flux_source *s = &out->src[out->n++];
    memset(s, 0, sizeof *s);
    rc = read_feature(&r, f, ct, &gd, s);
    OGR_F_Destroy(f);
    if (rc) goto done;
  }
  if (out->n == 0) {
    rc = cf_error(ctx, CF_EDATA, path, "", "layer '%s' has no features (no candidate sources)", out->layer);
    goto done;
  }
  for (int i = 0; i < out->n && !rc; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(out->src[i].name, out->src[j].name) == 0) {
        rc = cf_error(ctx, CF_EDATA, path, "name",
                      "feature '%s' (FID %lld): the name is also that of FID %lld; names must be unique",
                      out->src[i].name, out->src[i].fid, out->src[j].fid);
        break;
      }
  if (!rc) rc = list_files(ctx, ds, path, out);
done:
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (src_srs) OSRDestroySpatialReference(src_srs);
  if (wgs) OSRDestroySpatialReference(wgs);
  GDALClose(ds);
  if (rc) cf_flux_sources_free(out);
  return rc;
}
