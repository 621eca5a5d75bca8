/*
 * Opening a GDAL raster for the pipeline: validate once, describe it fully.
 *
 * The reader opens the file in the calling thread, checks everything a later
 * stage would otherwise trip over (size, bands, geotransform, CRS, nodata
 * that cannot be represented), and returns a plain description. Pixel reads
 * happen later, per thread, in raster/source.c; this file never keeps a
 * dataset handle open.
 */
#ifndef CF_INGEST_RASTER_INFO_H
#define CF_INGEST_RASTER_INFO_H

#include "carbonflux/ctx.h"

/* How a band marks invalid pixels (resolved from GDAL's mask flags). */
typedef enum {
  CF_MASK_NONE = 0,   /* all valid (still: NaN is never valid) */
  CF_MASK_NODATA = 1, /* pixel == nodata value (compared in the band's type) */
  CF_MASK_BAND = 2    /* a mask or alpha band must be read */
} cf_mask_kind;

typedef struct {
  char *path;
  int width, height, nbands;
  double gt[6];
  char *wkt;            /* CRS as WKT */
  int block_w, block_h; /* block of band 1 */
  int *gdal_type;       /* GDALDataType per band */
  double *nodata;       /* per band, meaningful if mask == CF_MASK_NODATA */
  cf_mask_kind *mask;
  char **desc;          /* band descriptions ("" if none) */
} cf_raster_info;

typedef struct {
  const char *assign_crs; /* use this CRS if the file has none (NULL: reject) */
  int have_nodata;        /* override the file's nodata with `nodata` */
  double nodata;
} cf_raster_open_opts;

int cf_raster_info_read(cf_ctx *ctx, const char *path, const cf_raster_open_opts *opts,
                        cf_raster_info *out);
void cf_raster_info_free(cf_raster_info *info);

#endif
