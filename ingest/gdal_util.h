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
/* The status of a failed read of an input's pixels, from GDAL's last error
 * of this thread: CF_ENOMEM when GDAL ran out of memory, else CF_EDATA.
 * A read that fails in a file GDAL opened (a truncated GeoTIFF:
 * "TIFFReadEncodedStrip() failed", a corrupt block) is the input's fault:
 * the item is rejected (exit 3/4, a batch quarantines it) rather than
 * failed (exit 2, retried every night with the same result). GDAL does not
 * tell a short read at the end of a truncated file from one the operating
 * system failed, so both count as the file's. */
int cf_gdal_read_status(void);
/* Silence GDAL's stderr output for the calling thread (push/pop pairs). */
void cf_gdal_quiet_push(void);
void cf_gdal_quiet_pop(void);
/* An OGRSpatialReferenceH from "EPSG:n", WKT or a PROJ string, with
 * traditional GIS axis order (x = easting/longitude). NULL + error frame on
 * failure; `where`/`field` name the source of the text. */
void *cf_srs_from_user(cf_ctx *ctx, const char *text, const char *where, const char *field);
void cf_srs_free(void *srs);

/* --- names GDAL opens that are not plain files ---------------------------------
 * "/vsizip/a.zip/x.tif" (and /vsigzip/, /vsitar/, /vsimem/, ...),
 * "/vsicurl/https://..." (and the other network file systems) and
 * subdataset names "DRIVER:..." such as HDF5:"f.h5"://ds or NETCDF:"f.nc":v.
 * Validation asks GDAL about them, never the POSIX file system. */

/* Nonzero when `name` is such a GDAL name (not a plain file path). */
int cf_gdal_is_name(const char *name);
/* Nonzero for a name on a network file system (/vsicurl/, /vsis3/, ...):
 * it gets no existence check before the run. */
int cf_gdal_is_network(const char *name);
/* `name` with a relative file inside it made relative to `base_dir`
 * ("/vsizip/d/a.zip/x.tif" -> "/vsizip/BASE/d/a.zip/x.tif",
 * HDF5:"f.h5"://d -> HDF5:"BASE/f.h5"://d). A plain path is joined as
 * cf_path_join does. NULL when out of memory. */
char *cf_gdal_name_resolve(const char *base_dir, const char *name);
/* Nonzero when GDAL can see `name`: VSIStatL for /vsi names, GDALOpenEx
 * (raster or vector) for subdataset names; always nonzero for network names. */
int cf_gdal_name_exists(const char *name);
/* The plain file a GDAL name reads (the .zip of /vsizip/a.zip/x.tif, the
 * .h5 of HDF5:"f.h5"://d), or NULL when there is none (network, /vsimem/). */
char *cf_gdal_name_file(const char *name);

#endif
