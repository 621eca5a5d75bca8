/* Strata and plots as GeoPackage and KML; see report_vector.h. */
#include "sink/report_vector.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"

/* Copy the strata layer into `out` (reprojected by ct unless NULL). */
static int copy_strata(cf_ctx *ctx, const cf_report_vector_spec *s, OGRLayerH src, GDALDatasetH out,
                       OGRSpatialReferenceH srs, OGRCoordinateTransformationH ct, const char *final) {
  OGRLayerH dst = GDALDatasetCreateLayer(out, "strata", srs, wkbMultiPolygon, NULL);
  if (!dst) return cf_error(ctx, CF_EIO, final, "strata", "cannot create the layer: %s", cf_gdal_last_error("OGR"));
  OGRFeatureDefnH sd = OGR_L_GetLayerDefn(src);
  int nf = OGR_FD_GetFieldCount(sd);
  int *map = malloc(sizeof(int) * (size_t)(nf ? nf : 1));
  if (!map) return cf_error(ctx, CF_ENOMEM, final, "strata", "out of memory");
  /* KML: the placemark's name is the driver's "Name" field, first */
  int label = ct && s->stratum_field && OGR_FD_GetFieldIndex(sd, "Name") < 0 ? OGR_FD_GetFieldIndex(sd, s->stratum_field)
                                                                             : -1;
  if (label >= 0) {
    OGRFieldDefnH fd = OGR_Fld_Create("Name", OFTString);
    OGR_L_CreateField(dst, fd, TRUE);
    OGR_Fld_Destroy(fd);
  }
  for (int i = 0; i < nf; i++) {
    OGRFieldDefnH fd = OGR_FD_GetFieldDefn(sd, i);
    map[i] = -1;
    if (!strcasecmp(OGR_Fld_GetNameRef(fd), "fid")) continue; /* GeoPackage's own key */
    if (OGR_L_CreateField(dst, fd, TRUE) == OGRERR_NONE) map[i] = OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(dst)) - 1;
  }
  int rc = CF_OK;
  OGRFeatureH f;
  OGR_L_ResetReading(src);
  while (!rc && (f = OGR_L_GetNextFeature(src)) != NULL) {
    OGRFeatureH g = OGR_F_Create(OGR_L_GetLayerDefn(dst));
    OGR_F_SetFromWithMap(g, f, TRUE, map);
    if (label >= 0) OGR_F_SetFieldString(g, 0, OGR_F_GetFieldAsString(f, label));
    OGRGeometryH geom = OGR_F_GetGeometryRef(f);
    if (geom) {
      OGRGeometryH c = OGR_G_ForceToMultiPolygon(OGR_G_Clone(geom));
      if (ct && OGR_G_Transform(c, ct) != OGRERR_NONE)
        rc = cf_error(ctx, CF_EDATA, s->strata_path, "geometry", "feature %lld cannot be reprojected to WGS84",
                      (long long)OGR_F_GetFID(f));
      OGR_F_SetGeometryDirectly(g, c);
    }
    if (!rc && OGR_L_CreateFeature(dst, g) != OGRERR_NONE)
      rc = cf_error(ctx, CF_EIO, final, "strata", "cannot write a feature: %s", cf_gdal_last_error("OGR"));
    OGR_F_Destroy(g);
    OGR_F_Destroy(f);
  }
  free(map);
  return rc;
}

static int write_plots(cf_ctx *ctx, const cf_report_vector_spec *s, GDALDatasetH out, OGRSpatialReferenceH wgs,
                       int kml, const char *final, int *written) {
  OGRLayerH dst = GDALDatasetCreateLayer(out, "plots", wgs, wkbPoint, NULL);
  if (!dst) return cf_error(ctx, CF_EIO, final, "plots", "cannot create the layer: %s", cf_gdal_last_error("OGR"));
  const char *names[2] = {kml ? "Name" : "plot", "stratum"}; /* KML: the plot names its placemark */
  for (int k = 0; k < 2; k++) {
    OGRFieldDefnH fd = OGR_Fld_Create(names[k], OFTString);
    OGR_L_CreateField(dst, fd, TRUE);
    OGR_Fld_Destroy(fd);
  }
  *written = 0;
  for (int k = 0; k < s->n_plots; k++) {
    if (!isfinite(s->plot_lon[k]) || !isfinite(s->plot_lat[k])) continue;
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(dst));
    OGR_F_SetFieldString(f, 0, s->plot_id[k]);
    OGR_F_SetFieldString(f, 1, s->plot_stratum ? s->plot_stratum[k] : "");
    OGRGeometryH p = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(p, 0, s->plot_lon[k], s->plot_lat[k]);
    OGR_F_SetGeometryDirectly(f, p);
    int bad = OGR_L_CreateFeature(dst, f) != OGRERR_NONE;
    OGR_F_Destroy(f);
    if (bad) return cf_error(ctx, CF_EIO, final, "plots", "cannot write plot %s: %s", s->plot_id[k], cf_gdal_last_error("OGR"));
    (*written)++;
  }
  return CF_OK;
}

/* One file made in /vsimem/ by `driver`, its bytes written to af's part. */
static int make_file(cf_ctx *ctx, const cf_report_vector_spec *s, OGRLayerH src, const char *driver, int to_wgs84,
                     const cf_atomic_file *af, int *written) {
  char mem[128];
  snprintf(mem, sizeof mem, "/vsimem/cf_report_vector_%p.%s", (void *)af, to_wgs84 ? "kml" : "gpkg");
  OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL), from = OSRClone(OGR_L_GetSpatialRef(src));
  OSRImportFromEPSG(wgs, 4326);
  OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(from, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = to_wgs84 ? OCTNewCoordinateTransformation(from, wgs) : NULL;
  GDALDatasetH out = NULL;
  int rc = CF_OK;
  if (to_wgs84 && !ct)
    rc = cf_error(ctx, CF_EDATA, s->strata_path, "crs", "no transformation to WGS84: %s", cf_gdal_last_error("PROJ"));
  if (!rc && !(out = GDALCreate(GDALGetDriverByName(driver), mem, 0, 0, 0, GDT_Unknown, NULL)))
    rc = cf_error(ctx, CF_EIO, af->final_path, "", "cannot create the %s file: %s", driver, cf_gdal_last_error("OGR"));
  if (!rc) rc = copy_strata(ctx, s, src, out, to_wgs84 ? wgs : from, ct, af->final_path);
  if (!rc) rc = write_plots(ctx, s, out, wgs, to_wgs84, af->final_path, written);
  if (out) GDALClose(out);
  vsi_l_offset len = 0;
  GByte *buf = out ? VSIGetMemFileBuffer(mem, &len, TRUE) : NULL;
  if (!rc && !buf) rc = cf_error(ctx, CF_EIO, af->final_path, "", "the %s driver wrote nothing", driver);
  if (!rc) rc = cf_atomic_write_bytes(ctx, af, buf, (size_t)len);
  CPLFree(buf);
  VSIUnlink(mem);
  if (ct) OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(wgs);
  OSRDestroySpatialReference(from);
  return rc;
}

int cf_report_vector_prepare(cf_ctx *ctx, const cf_report_vector_spec *s, const char *stem_path, cf_atomic_file a[2],
                             int *n_plots_written) {
  cf_gdal_init();
  *n_plots_written = 0;
  memset(a, 0, 2 * sizeof *a);
  if (!cf_gdal_is_name(s->strata_path) && !cf_file_exists(s->strata_path))
    return cf_error(ctx, CF_ENOENT, s->strata_path, "", "no such file");
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(s->strata_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  OGRLayerH src = !ds ? NULL : s->strata_layer ? GDALDatasetGetLayerByName(ds, s->strata_layer) : GDALDatasetGetLayer(ds, 0);
  int rc = CF_OK;
  if (!ds) rc = cf_error(ctx, CF_EDATA, s->strata_path, "", "cannot open the strata: %s", cf_gdal_last_error("not a vector dataset"));
  else if (!src) rc = cf_error(ctx, CF_EDATA, s->strata_path, "layer", "no layer %s", s->strata_layer ? s->strata_layer : "");
  else if (!OGR_L_GetSpatialRef(src)) rc = cf_error(ctx, CF_EDATA, s->strata_path, "crs", "the strata have no CRS");
  if (!rc && s->stratum_field && OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(src), s->stratum_field) < 0)
    rc = cf_error(ctx, CF_EDATA, s->strata_path, s->stratum_field, "no such field in the strata");
  cf_strbuf gp, km;
  cf_strbuf_init(&gp), cf_strbuf_init(&km);
  cf_strbuf_printf(&gp, "%s.gpkg", stem_path), cf_strbuf_printf(&km, "%s.kml", stem_path);
  if (!rc && (gp.failed || km.failed)) rc = cf_error(ctx, CF_ENOMEM, stem_path, "", "out of memory");
  int w_gpkg = 0, w_kml = 0;
  if (!rc) rc = cf_atomic_begin(ctx, cf_strbuf_str(&gp), &a[0]);
  if (!rc) rc = cf_atomic_begin(ctx, cf_strbuf_str(&km), &a[1]);
  if (!rc) rc = make_file(ctx, s, src, "GPKG", 0, &a[0], &w_gpkg);
  if (!rc) rc = make_file(ctx, s, src, "LIBKML", 1, &a[1], &w_kml);
  cf_gdal_quiet_pop();
  if (!rc) rc = cf_check_cancel(ctx, stem_path, NULL);
  if (!rc) *n_plots_written = w_gpkg;
  else cf_atomic_end(&a[0]), cf_atomic_end(&a[1]);
  cf_strbuf_free(&gp), cf_strbuf_free(&km);
  if (ds) GDALClose(ds);
  return rc;
}

int cf_report_vector_write(cf_ctx *ctx, const cf_report_vector_spec *s, const char *stem_path, int *n_plots_written) {
  cf_atomic_file a[2];
  int rc = cf_report_vector_prepare(ctx, s, stem_path, a, n_plots_written);
  if (rc) return rc;
  cf_atomic_file *const both[2] = {&a[0], &a[1]};
  rc = cf_atomic_commit_all(ctx, both, 2);
  if (rc) *n_plots_written = 0;
  cf_atomic_end(&a[0]), cf_atomic_end(&a[1]);
  return rc;
}
