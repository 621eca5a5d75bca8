/*
 * A double as a GeoTIFF of a given type stores it.
 *
 * The writers convert each pixel to the file's type, and the nodata guard
 * (raster/warp.h) must see exactly the value a reader will get back, or a
 * valid pixel could be written as the nodata value unnoticed. Both use
 * these conversions, which are GDAL's (GDALCopyWords, gdal_priv_templates.hpp
 * GDALCopyWord, GDAL 3.6): integers rounded half away from zero and clamped
 * to the type's range, NaN as 0; Float32 clamped to +-FLT_MAX for finite
 * values beyond it, infinities and NaN kept, else rounded to nearest;
 * Float64 as is.
 */
#ifndef CF_RASTER_STORED_VALUE_H
#define CF_RASTER_STORED_VALUE_H

#include <float.h>
#include <math.h>

/* v as an integer type of range [lo, hi] stores it. */
#define CF_STORED_INT(v, lo, hi) (isnan(v) ? 0 : (v) <= (lo) ? (lo) : (v) >= (hi) ? (hi) : round(v))

/* v as Float32 stores it. */
static inline float cf_stored_float32(double v) {
  if (v >= FLT_MAX && isfinite(v)) return FLT_MAX;
  if (v <= -FLT_MAX && isfinite(v)) return -FLT_MAX;
  return (float)v;
}

#endif
