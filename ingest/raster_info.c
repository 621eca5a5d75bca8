/* Validation and description of a GDAL raster; see raster_info.h. */
#include "ingest/raster_info.h"

#include <errno.h>
#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest/gdal_util.h"

void cf_raster_info_free(cf_raster_info *info) {
  if (!info) return;
  if (info->desc)
    for (int b = 0; b < info->nbands; b++) free(info->desc[b]);
  free(info->desc);
  free(info->path);
  free(info->wkt);
  free(info->gdal_type);
  free(info->nodata);
  free(info->mask);
  memset(info, 0, sizeof *info);
}

static int is_integer_type(GDALDataType t) {
  return !GDALDataTypeIsFloating(t) && !GDALDataTypeIsComplex(t);
}

int cf_raster_info_read(cf_ctx *ctx, const char *path, const cf_raster_open_opts *opts,
                        cf_raster_info *out) {
  static const cf_raster_open_opts defaults = {0};
  if (!opts) opts = &defaults;
  memset(out, 0, sizeof *out);
  cf_gdal_init();
  struct stat st = {0};
  if (!cf_gdal_is_name(path) && stat(path, &st) != 0) /* /vsizip/, HDF5:"f":d: GDAL's to find */
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "",
                    "cannot read raster: %s", strerror(errno));

  if (S_ISREG(st.st_mode) && st.st_size == 0)
    return cf_error(ctx, CF_EDATA, path, "", "file is empty (0 bytes)");
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  cf_gdal_quiet_pop();
  if (!ds)
    return cf_error(ctx, CF_EDATA, path, "", "not a raster GDAL can read (%s)",
                    cf_gdal_last_error("format not recognised"));

  int rc = CF_OK;
  out->path = strdup(path);
  out->width = GDALGetRasterXSize(ds);
  out->height = GDALGetRasterYSize(ds);
  out->nbands = GDALGetRasterCount(ds);
  if (out->width <= 0 || out->height <= 0) {
    rc = cf_error(ctx, CF_EDATA, path, "size", "raster is empty (%d x %d pixels)", out->width,
                  out->height);
    goto done;
  }
  if (out->nbands <= 0) {
    rc = cf_error(ctx, CF_EDATA, path, "bands", "raster has no bands");
    goto done;
  }
  if (GDALGetGeoTransform(ds, out->gt) != CE_None) {
    rc = cf_error(ctx, CF_EDATA, path, "geotransform",
                  "raster is not georeferenced (no geotransform)");
    goto done;
  }
  if (out->gt[2] != 0.0 || out->gt[4] != 0.0) {
    rc = cf_error(ctx, CF_EDATA, path, "geotransform",
                  "rotated rasters are not supported directly; warp it first (gdalwarp)");
    goto done;
  }
  if (!(out->gt[1] > 0) || !(out->gt[5] != 0) || !isfinite(out->gt[0]) || !isfinite(out->gt[3])) {
    rc = cf_error(ctx, CF_EDATA, path, "geotransform", "invalid pixel size %g x %g", out->gt[1],
                  out->gt[5]);
    goto done;
  }

  const char *wkt = GDALGetProjectionRef(ds);
  if (!wkt || !wkt[0]) {
    if (!opts->assign_crs) {
      rc = cf_error(ctx, CF_EDATA, path, "crs",
                    "raster has no coordinate reference system; give one with the stage "
                    "option 'assign_crs' (e.g. EPSG:32650) or fix the file (gdal_edit.py -a_srs)");
      goto done;
    }
    OGRSpatialReferenceH srs = cf_srs_from_user(ctx, opts->assign_crs, path, "assign_crs");
    if (!srs) {
      rc = CF_EINVAL;
      goto done;
    }
    char *w = NULL;
    OSRExportToWkt(srs, &w);
    out->wkt = strdup(w ? w : "");
    CPLFree(w);
    OSRDestroySpatialReference(srs);
  } else {
    out->wkt = strdup(wkt);
  }

  out->gdal_type = calloc((size_t)out->nbands, sizeof *out->gdal_type);
  out->nodata = calloc((size_t)out->nbands, sizeof *out->nodata);
  out->mask = calloc((size_t)out->nbands, sizeof *out->mask);
  out->desc = calloc((size_t)out->nbands, sizeof *out->desc);
  if (!out->path || !out->wkt || !out->gdal_type || !out->nodata || !out->mask || !out->desc) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  GDALGetBlockSize(GDALGetRasterBand(ds, 1), &out->block_w, &out->block_h);
  for (int b = 0; b < out->nbands; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALDataType t = GDALGetRasterDataType(band);
    out->gdal_type[b] = (int)t;
    out->desc[b] = strdup(GDALGetDescription(band));
    if (!out->desc[b]) {
      rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
      goto done;
    }
    if (GDALDataTypeIsComplex(t)) {
      rc = cf_error(ctx, CF_EDATA, path, "band", "band %d is complex (%s); not supported", b + 1,
                    GDALGetDataTypeName(t));
      goto done;
    }
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(band, &has_nd);
    if (opts->have_nodata) {
      has_nd = 1;
      nd = opts->nodata;
    }
    if (has_nd && !isfinite(nd) && is_integer_type(t)) {
      rc = cf_error(ctx, CF_EDATA, path, "nodata",
                    "band %d is %s but its nodata value is %g, which that type cannot hold; "
                    "set a representable nodata value (stage option 'nodata')",
                    b + 1, GDALGetDataTypeName(t), nd);
      goto done;
    }
    int flags = GDALGetMaskFlags(band);
    if (has_nd) {
      out->mask[b] = CF_MASK_NODATA;
      out->nodata[b] = nd;
    } else if (flags & GMF_ALL_VALID) {
      out->mask[b] = CF_MASK_NONE;
    } else {
      out->mask[b] = CF_MASK_BAND; /* per-dataset mask, alpha band or .msk file */
    }
  }
done:
  GDALClose(ds);
  if (rc) cf_raster_info_free(out);
  return rc;
}
