/* GDAL set-up and error capture; see gdal_util.h. */
#include "ingest/gdal_util.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <pthread.h>

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_init_once(void) {
  GDALAllRegister();
  /* 32 MiB: the tile engine reads whole blocks once, so a large cache buys
   * nothing; measured (bench/ndvi_bench, 10000^2 NDVI): 128 MiB -> peak 418 MB,
   * 32 MiB -> 241 MB, same speed */
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) GDALSetCacheMax64((GIntBig)32 << 20);
}

void cf_gdal_init(void) { pthread_once(&gdal_once, gdal_init_once); }

const char *cf_gdal_last_error(const char *fallback) {
  const char *m = CPLGetLastErrorMsg();
  return m && m[0] ? m : fallback;
}

void cf_gdal_quiet_push(void) {
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
}

void cf_gdal_quiet_pop(void) { CPLPopErrorHandler(); }

void *cf_srs_from_user(cf_ctx *ctx, const char *text, const char *where, const char *field) {
  cf_gdal_init();
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  cf_gdal_quiet_push();
  OGRErr e = OSRSetFromUserInput(srs, text);
  cf_gdal_quiet_pop();
  if (e != OGRERR_NONE) {
    cf_error(ctx, CF_EINVAL, where, field, "'%s' is not a CRS PROJ/GDAL understands (%s)", text,
             cf_gdal_last_error("unrecognised"));
    OSRDestroySpatialReference(srs);
    return NULL;
  }
  OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

void cf_srs_free(void *srs) {
  if (srs) OSRDestroySpatialReference(srs);
}
