/*
 * What every GDAL-using file needs: one-time registration with our defaults,
 * and turning GDAL's last error into an error frame.
 *
 * GDAL reports errors through a global handler that prints to stderr by
 * default. We install a quiet handler while we call GDAL and read the
 * (thread-local) last error message instead, so the text reaches the user
 * inside our error chain, next to the file name and field it concerns.
 */
#ifndef CF_INGEST_GDAL_UTIL_H
#define CF_INGEST_GDAL_UTIL_H

#include "carbonflux/ctx.h"

/* GDALAllRegister once, and a bounded block cache of 32 MiB (GDAL_CACHEMAX
 * defaults to 5 % of RAM, which would break our memory bound) unless the
 * user set one. */
void cf_gdal_init(void);
/* GDAL's last error text for this thread, or `fallback`. */
const char *cf_gdal_last_error(const char *fallback);
/* Silence GDAL's stderr output for the calling thread (push/pop pairs). */
void cf_gdal_quiet_push(void);
void cf_gdal_quiet_pop(void);
/* An OGRSpatialReferenceH from "EPSG:n", WKT or a PROJ string, with
 * traditional GIS axis order (x = easting/longitude). NULL + error frame on
 * failure; `where`/`field` name the source of the text. */
void *cf_srs_from_user(cf_ctx *ctx, const char *text, const char *where, const char *field);
void cf_srs_free(void *srs);

#endif
