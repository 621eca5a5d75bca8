/*
 * Spectral indices as band algebra on a node (NDVI, EVI, SAVI).
 *
 * Formulas (reflectance r = DN * scale + offset):
 *   NDVI = (nir - red) / (nir + red)                          Rouse et al. 1974
 *   EVI  = G (nir - red) / (nir + C1 red - C2 blue + L)       Huete et al. 2002,
 *          G = 2.5, C1 = 6, C2 = 7.5, L = 1 (MODIS MOD13 ATBD v3, 1999)
 *   SAVI = (1 + L) (nir - red) / (nir + red + L), L = 0.5     Huete 1988
 * A pixel is valid only if every band used is valid and the denominator is
 * not zero; the result is then finite by construction.
 */
#ifndef CF_RASTER_INDEX_H
#define CF_RASTER_INDEX_H

#include "raster/raster.h"

typedef enum { CF_INDEX_NDVI, CF_INDEX_EVI, CF_INDEX_SAVI } cf_index_kind;

typedef struct {
  cf_index_kind kind;
  int red, nir, blue;   /* 0-based bands of the input; blue only for EVI */
  double scale, offset; /* DN -> reflectance */
} cf_index_spec;

/* Parse "ndvi", "evi", "savi"; -1 if unknown. */
int cf_index_kind_parse(const char *name);
const char *cf_index_kind_name(cf_index_kind k);

cf_raster *cf_index_create(cf_ctx *ctx, cf_raster *input, const cf_index_spec *spec);

/* The formula on one pixel (reflectances), for reuse and tests. Returns 0 and
 * sets *out, or -1 where the index is undefined (zero denominator). */
int cf_index_pixel(cf_index_kind k, double red, double nir, double blue, double *out);

#endif
