/*
 * A double as a GeoTIFF of a given type stores it.
 *
 * The writers convert each pixel to the file's type, and the nodata guard
 * (raster/warp.h) must see exactly the value a reader will get back, or a
 * valid pixel could be written as the nodata value unnoticed. The
 * streaming writer and the guard use these conversions; the GDAL path
 * (raster/cog.c) converts with GDALCopyWords64. They are GDAL's own, as
 * GDAL 3.6 does them here (test_stored_value compares every case against
 * GDALCopyWords64 on the build's GDAL, the values next to halves and past
 * each type's range included): to an integer type, v + 0.5 (v - 0.5 below
 * zero) truncated toward zero and clamped to the type's range, NaN as 0 (so
 * 0.49999999999999994 becomes 1, where round() would give 0); to Float32,
 * C's conversion: rounded to nearest, past the range +-inf; Float64 as is.
 */
#ifndef CF_RASTER_STORED_VALUE_H
#define CF_RASTER_STORED_VALUE_H

#include <gdal.h>
#include <math.h>

/* v as an integer type of range [lo, hi] stores it. */
static inline double cf_stored_int(double v, double lo, double hi) {
  if (isnan(v)) return 0.0;
  double r = v >= 0.0 ? v + 0.5 : v - 0.5;
  return trunc(r < lo ? lo : r > hi ? hi : r);
}

/* v as Float32 stores it. */
static inline float cf_stored_float32(double v) { return (float)v; }

/* v as type t stores it, read back as a double. */
static inline double cf_stored_value(GDALDataType t, double v) {
  switch (t) {
    case GDT_Byte: return cf_stored_int(v, 0, 255);
    case GDT_UInt16: return cf_stored_int(v, 0, 65535);
    case GDT_Int16: return cf_stored_int(v, -32768, 32767);
    case GDT_UInt32: return cf_stored_int(v, 0, 4294967295.0);
    case GDT_Int32: return cf_stored_int(v, -2147483648.0, 2147483647.0);
    case GDT_Float32: return cf_stored_float32(v);
    default: return v;
  }
}

#endif
