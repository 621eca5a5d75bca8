/*
 * Strata: a CSV (stratum, area_ha, optional per-stratum overrides) or any
 * polygon layer OGR reads, with the stratum's area computed on the WGS84
 * ellipsoid. See sink/inventory.h for how the stratum attribute is chosen.
 *
 * Why geodesic: a projected CRS distorts area (UTM by up to 0.08 % inside a
 * zone from its scale factor alone, web Mercator by 1/cos^2(lat)), and
 * strata areas multiply every per-hectare stock in the report. Each ring is
 * taken to geographic WGS84 coordinates with OGR/PROJ and its area is the
 * ellipsoidal area of the geodesic polygon through its vertices
 * (geod_polygonarea, Karney 2013, in libproj). The vertices are exact; only
 * the edges become geodesics instead of straight lines in the source
 * projection, a difference of order (edge length)^3 / R^2 per edge, far
 * below a square metre for field-block edges. A polygon's area is its
 * exterior ring's minus its holes' (absolute values, whatever the ring
 * orientation the format uses); multipolygons add their parts; features of
 * one stratum add.
 */
#include <float.h>
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/utf8.h"
#include "ingest/gdal_util.h"
#include "ingest/vector.h"
#include "sink/inventory.h"
#include "sink/inventory_internal.h"

#define STRATUM_AREA_MAX_HA 1e9 /* more than the land surface of the Earth (1.5e10 ha) is a unit error */

void cf_strata_free(cf_strata *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->s[i].stratum);
    free(s->s[i].ecozone);
  }
  free(s->s);
  free(s->path);
  free(s->options);
  free(s->wkt);
  memset(s, 0, sizeof *s);
}

long cf_strata_find(const cf_strata *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->s[i].stratum, name) == 0) return (long)i;
  return -1;
}

static cf_stratum *add_stratum(cf_strata *out, size_t *cap) {
  if (out->n == *cap) {
    size_t ncap = *cap ? 2 * *cap : 16;
    cf_stratum *ns = realloc(out->s, ncap * sizeof *ns);
    if (!ns) return NULL;
    out->s = ns;
    *cap = ncap;
  }
  cf_stratum *s = &out->s[out->n++];
  memset(s, 0, sizeof *s);
  s->soc_ref_t_c_per_ha = s->f_lu = s->f_mg = s->f_in = s->years_since_planting = NAN;
  for (int k = 0; k < 4; k++) s->ext[k] = s->ext_lonlat[k] = NAN;
  return s;
}

/* The override columns, in cf_stratum order, with their ranges. */
static const struct {
  cf_inv_field f;
  double lo, hi;
  int lo_open;
  const char *unit, *what;
} OVERRIDE[] = {
    {CF_INV_SOC_REF, 0, 2000, 0, "t C/ha", "a soil carbon stock"},
    {CF_INV_F_LU, 0, 5, 1, "", "a stock change factor"},
    {CF_INV_F_MG, 0, 5, 1, "", "a stock change factor"},
    {CF_INV_F_IN, 0, 5, 1, "", "a stock change factor"},
    {CF_INV_YEARS_SINCE_PLANTING, 0, 1000, 0, "years", "an age"},
};
#define NOVR (sizeof OVERRIDE / sizeof *OVERRIDE)

static double *override_slot(cf_stratum *s, size_t k) {
  double *slots[NOVR] = {&s->soc_ref_t_c_per_ha, &s->f_lu, &s->f_mg, &s->f_in, &s->years_since_planting};
  return slots[k];
}

static int read_csv(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_strata *out) {
  cf_csv *c = NULL;
  int rc = cf_csv_open(ctx, path, &c);
  if (rc) return rc;
  char looked[256];
  int col_s = cf_inv_column(c, o, CF_INV_STRATUM, 0, looked, sizeof looked);
  if (col_s < 0) {
    rc = cf_inv_missing_column(ctx, c, o, CF_INV_STRATUM, looked);
    goto done;
  }
  int col_a = cf_inv_column(c, o, CF_INV_AREA_HA, 0, looked, sizeof looked);
  if (col_a < 0) {
    rc = cf_inv_missing_column(ctx, c, o, CF_INV_AREA_HA, looked);
    goto done;
  }
  int col_o[NOVR];
  for (size_t k = 0; k < NOVR; k++) col_o[k] = cf_inv_column(c, o, OVERRIDE[k].f, 0, looked, sizeof looked);
  int col_eco = cf_inv_column(c, o, CF_INV_ECOZONE, 0, looked, sizeof looked);
  if (o && o->header_only) goto done; /* validation: the columns are there */
  size_t cap = 0;
  const cf_csv_row *r;
  int got;
  while ((got = cf_inv_next(ctx, c, &r)) == 1) {
    cf_stratum *s = add_stratum(out, &cap);
    int oom = 0;
    if (!s || !(s->stratum = cf_inv_strdup_trim(r->fields[col_s], 1, &oom)) || oom) {
      if (!s || oom) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory at line %ld", r->line);
      } else {
        rc = cf_error(ctx, CF_EDATA, path, "stratum", "line %ld: the stratum name is blank", r->line);
      }
      goto done;
    }
    s->line = r->line;
    long prev = cf_strata_find(out, s->stratum);
    if (prev >= 0 && (size_t)prev != out->n - 1) {
      rc = cf_error(ctx, CF_EDATA, path, "stratum", "line %ld: stratum '%s' is given twice (first on line %ld)",
                    r->line, s->stratum, out->s[prev].line);
      goto done;
    }
    int g = cf_inv_number(ctx, c, r, col_a, CF_INV_AREA_HA, 0, 1, STRATUM_AREA_MAX_HA, "ha", "a stratum area",
                          &s->area_ha);
    if (g == 0)
      g = cf_error(ctx, CF_EDATA, path, "area_ha", "line %ld: stratum '%s' has no area", r->line, s->stratum);
    if (g < 0) {
      rc = g;
      goto done;
    }
    for (size_t k = 0; k < NOVR; k++) {
      g = cf_inv_number(ctx, c, r, col_o[k], OVERRIDE[k].f, OVERRIDE[k].lo, OVERRIDE[k].lo_open, OVERRIDE[k].hi,
                        OVERRIDE[k].unit, OVERRIDE[k].what, override_slot(s, k));
      if (g < 0) {
        rc = g;
        goto done;
      }
    }
    if (col_eco >= 0) {
      s->ecozone = cf_inv_strdup_trim(r->fields[col_eco], 1, &oom);
      if (oom) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        goto done;
      }
    }
  }
  if (got < 0) rc = got;
  if (!rc && out->n == 0) rc = cf_error(ctx, CF_EDATA, path, "", "the strata table has no rows");
done:
  cf_csv_close(c);
  return rc;
}

/* Area (m^2) of a Polygon geometry in lon/lat: exterior minus holes. */
static double polygon_area_m2(const struct geod_geodesic *gd, OGRGeometryH poly, double **lat, double **lon,
                              int *cap, int *oom) {
  double total = 0;
  int nr = OGR_G_GetGeometryCount(poly);
  for (int r = 0; r < nr; r++) {
    OGRGeometryH ring = OGR_G_GetGeometryRef(poly, r);
    int np = OGR_G_GetPointCount(ring);
    if (np >= 2 && OGR_G_GetX(ring, 0) == OGR_G_GetX(ring, np - 1) &&
        OGR_G_GetY(ring, 0) == OGR_G_GetY(ring, np - 1))
      np--; /* geod_polygonarea closes the ring itself */
    if (np < 3) continue;
    if (np > *cap) {
      double *a = realloc(*lat, (size_t)np * sizeof *a);
      if (a) *lat = a;
      double *b = a ? realloc(*lon, (size_t)np * sizeof *b) : NULL;
      if (b) *lon = b;
      if (!a || !b) {
        *oom = 1;
        return 0;
      }
      *cap = np;
    }
    for (int k = 0; k < np; k++) {
      (*lon)[k] = OGR_G_GetX(ring, k);
      (*lat)[k] = OGR_G_GetY(ring, k);
    }
    double area = 0, perim = 0;
    geod_polygonarea(gd, *lat, *lon, np, &area, &perim);
    total += r == 0 ? fabs(area) : -fabs(area);
  }
  return total;
}

static void ext_merge(double e[4], const OGREnvelope *env) {
  if (isnan(e[0]) || env->MinX < e[0]) e[0] = env->MinX;
  if (isnan(e[1]) || env->MinY < e[1]) e[1] = env->MinY;
  if (isnan(e[2]) || env->MaxX > e[2]) e[2] = env->MaxX;
  if (isnan(e[3]) || env->MaxY > e[3]) e[3] = env->MaxY;
}

static int read_layer(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_strata *out) {
  cf_gdal_init();
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  cf_gdal_quiet_pop();
  if (!ds)
    return cf_error(ctx, cf_gdal_name_exists(path) ? CF_EDATA : CF_ENOENT, path, "",
                    "not a strata CSV (*.csv) nor a vector file OGR can read (%s)",
                    cf_gdal_last_error("format not recognised"));
  int rc = CF_OK;
  OGRSpatialReferenceH wgs = NULL;
  OGRCoordinateTransformationH ct = NULL;
  double *lat = NULL, *lon = NULL;
  int cap_ll = 0;
  OGRLayerH layer = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
  if (!layer) {
    rc = cf_error(ctx, CF_EDATA, path, "layer", "no layers");
    goto done;
  }
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
  const char *want = o && o->stratum_field ? o->stratum_field : "stratum";
  int fidx = OGR_FD_GetFieldIndex(defn, want); /* OGR matches field names without regard to case */
  int use_fid = fidx < 0 && strcasecmp(want, "fid") == 0;
  if (fidx < 0 && !use_fid) {
    char list[400] = "";
    size_t k = 0;
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++) {
      int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
      if (w < 0 || (size_t)w >= sizeof list - k) break;
      k += (size_t)w;
    }
    rc = cf_error(ctx, CF_EDATA, path, "stratum",
                  "the layer has no field '%s' (its fields: %s); name the stratum field with stratum_field=NAME, "
                  "or stratum_field=FID to use the feature ids",
                  want, list);
    goto done;
  }
  int ovr_idx[NOVR], eco_idx;
  char hb[256];
  for (size_t k = 0; k < NOVR; k++)
    ovr_idx[k] = OGR_FD_GetFieldIndex(defn, cf_inv_header_for(o, OVERRIDE[k].f, 0, hb, sizeof hb));
  eco_idx = OGR_FD_GetFieldIndex(defn, cf_inv_header_for(o, CF_INV_ECOZONE, 0, hb, sizeof hb));

  OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
  if (!srs) {
    rc = cf_error(ctx, CF_EDATA, path, "crs",
                  "the layer has no coordinate reference system: its area on the ellipsoid is unknown (add a .prj)");
    goto done;
  }
  OGREnvelope layer_env;
  if (OGR_L_GetExtent(layer, &layer_env, TRUE) == OGRERR_NONE) {
    const double ext[4] = {layer_env.MinX, layer_env.MinY, layer_env.MaxX, layer_env.MaxY};
    rc = cf_vector_check_lonlat(ctx, path, OGR_L_GetName(layer), srs, ext,
                                "write the layer with its real CRS (ogr2ogr -a_srs EPSG:32617 for UTM 17N)");
    if (rc) goto done;
  }
  char *wkt = NULL;
  OSRExportToWkt(srs, &wkt);
  out->wkt = strdup(wkt ? wkt : "");
  CPLFree(wkt);
  if (!out->wkt) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  OGRSpatialReferenceH src = OSRClone(srs);
  wgs = OSRNewSpatialReference(NULL);
  if (!src || !wgs || OSRImportFromEPSG(wgs, 4326) != OGRERR_NONE) {
    if (src) OSRDestroySpatialReference(src);
    rc = cf_error(ctx, CF_EDATA, path, "crs", "cannot set up WGS 84 (%s)", cf_gdal_last_error("PROJ failed"));
    goto done;
  }
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER); /* x = longitude */
  cf_gdal_quiet_push();
  ct = OCTNewCoordinateTransformation(src, wgs);
  cf_gdal_quiet_pop();
  OSRDestroySpatialReference(src);
  if (!ct) {
    rc = cf_error(ctx, CF_EDATA, path, "crs", "no transformation to WGS 84 longitude/latitude (%s)",
                  cf_gdal_last_error("PROJ failed"));
    goto done;
  }
  struct geod_geodesic gd;
  geod_init(&gd, 6378137.0, 1.0 / 298.257223563); /* WGS 84 */
  size_t cap = 0;
  OGR_L_ResetReading(layer);
  OGRFeatureH f;
  while (!rc && (f = OGR_L_GetNextFeature(layer)) != NULL) {
    long long fid = (long long)OGR_F_GetFID(f);
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbNone;
    char name[64];
    const char *label = name;
    if (use_fid)
      snprintf(name, sizeof name, "%lld", fid);
    else if (!OGR_F_IsFieldSetAndNotNull(f, fidx) || cf_inv_blank(OGR_F_GetFieldAsString(f, fidx)))
      label = NULL;
    else
      label = OGR_F_GetFieldAsString(f, fidx);
    long bad_at = label ? cf_utf8_invalid_at(label, strlen(label)) : -1;
    if (!label) {
      rc = cf_error(ctx, CF_EDATA, path, want, "feature %lld has no stratum", fid);
    } else if (bad_at >= 0) { /* the layer's encoding is not what GDAL was told (a .dbf without .cpg) */
      rc = cf_error(ctx, CF_EDATA, path, want, "feature %lld: byte 0x%02X (byte %ld of the stratum) is not UTF-8; "
                    "the layer must be UTF-8 (for a shapefile, a .cpg file naming its encoding lets GDAL convert it)",
                    fid, (unsigned char)label[bad_at], bad_at + 1);
    } else if (t != wkbPolygon && t != wkbMultiPolygon) {
      rc = cf_error(ctx, CF_EDATA, path, "geometry", "feature %lld (stratum '%s') is %s, not a polygon", fid, label,
                    g ? OGRGeometryTypeToName(t) : "empty");
    } else {
      long si = cf_strata_find(out, label);
      cf_stratum *s = si >= 0 ? &out->s[si] : add_stratum(out, &cap);
      OGRGeometryH ll = OGR_G_Clone(g);
      int oom = !s || !ll;
      if (s && si < 0 && !(s->stratum = strdup(label))) oom = 1;
      if (oom) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
      } else {
        OGREnvelope env;
        OGR_G_GetEnvelope(g, &env);
        ext_merge(s->ext, &env);
        if (OGR_G_Transform(ll, ct) != OGRERR_NONE) {
          rc = cf_error(ctx, CF_EDATA, path, "geometry", "feature %lld (stratum '%s') cannot be taken to WGS 84",
                        fid, label);
        } else {
          OGR_G_GetEnvelope(ll, &env);
          ext_merge(s->ext_lonlat, &env);
          double m2 = 0;
          if (t == wkbPolygon) {
            m2 = polygon_area_m2(&gd, ll, &lat, &lon, &cap_ll, &oom);
          } else {
            for (int k = 0; k < OGR_G_GetGeometryCount(ll) && !oom; k++)
              m2 += polygon_area_m2(&gd, OGR_G_GetGeometryRef(ll, k), &lat, &lon, &cap_ll, &oom);
          }
          if (oom) rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
          s->area_ha += m2 / 10000.0;
          s->n_features++;
          for (size_t k = 0; k < NOVR && !rc; k++) {
            if (ovr_idx[k] < 0 || !OGR_F_IsFieldSetAndNotNull(f, ovr_idx[k])) continue;
            double v = OGR_F_GetFieldAsDouble(f, ovr_idx[k]);
            double *slot = override_slot(s, k);
            if (!isnan(*slot) && *slot != v)
              rc = cf_error(ctx, CF_EDATA, path, cf_inv_field_name(OVERRIDE[k].f),
                            "feature %lld: stratum '%s' has %g here and %g in an earlier feature", fid, label, v,
                            *slot);
            *slot = v;
          }
          const char *eco = eco_idx >= 0 && OGR_F_IsFieldSetAndNotNull(f, eco_idx) ? OGR_F_GetFieldAsString(f, eco_idx) : NULL;
          long eco_bad = eco ? cf_utf8_invalid_at(eco, strlen(eco)) : -1;
          if (!rc && eco_bad >= 0)
            rc = cf_error(ctx, CF_EDATA, path, "ecozone", "feature %lld: byte 0x%02X is not UTF-8; the layer must be UTF-8",
                          fid, (unsigned char)eco[eco_bad]);
          if (!rc && eco && !s->ecozone && !(s->ecozone = strdup(eco)))
            rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        }
      }
      if (ll) OGR_G_DestroyGeometry(ll);
    }
    OGR_F_Destroy(f);
  }
  for (size_t i = 0; i < out->n && !rc; i++)
    if (!(out->s[i].area_ha > 0))
      rc = cf_error(ctx, CF_EDATA, path, "geometry", "stratum '%s' has no area", out->s[i].stratum);
  if (!rc && out->n == 0) rc = cf_error(ctx, CF_EDATA, path, "", "the layer has no polygon features");
done:
  free(lat);
  free(lon);
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (wgs) OSRDestroySpatialReference(wgs);
  GDALClose(ds);
  return rc;
}

int cf_strata_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_strata *out) {
  memset(out, 0, sizeof *out);
  size_t n = strlen(path);
  int is_csv = n > 4 && strcasecmp(path + n - 4, ".csv") == 0;
  int rc = CF_OK;
  out->path = strdup(path);
  if (!out->path) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  if (is_csv)
    rc = read_csv(ctx, path, o, out);
  else if (!(o && o->header_only)) /* a layer's fields are checked as it is read */
    rc = read_layer(ctx, path, o, out);
  if (!rc && o && o->header_only) return rc; /* the caller frees */
  if (!rc) rc = cf_inv_hash(ctx, path, out->sha256);
  if (!rc) rc = cf_inv_options_record(ctx, o, &out->options);
  if (rc) cf_strata_free(out);
  return rc;
}
