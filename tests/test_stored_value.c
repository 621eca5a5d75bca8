/*
 * raster/stored_value.h against GDAL itself.
 *
 * The streaming COG writer converts pixels to the file's type with these
 * functions, the nodata guard predicts with them what a reader will get
 * back, and the GDAL path (raster/cog.c, for the codecs the streaming
 * writer does not do) converts with GDALCopyWords64. All three must agree,
 * or the guard could miss a valid pixel written as the nodata value. The
 * expected value of every case is GDAL's own conversion on this build,
 * compared exactly: halves and the values next to them (where rounding
 * half away from zero and adding 0.5 then truncating part ways), the ends
 * of each type's range and one ulp beyond, +-FLT_MAX and past it,
 * infinities and NaN.
 */
#include <float.h>
#include <gdal.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cf_test.h"
#include "raster/stored_value.h"

static const double cases[] = {
    0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
    0.5000000000000001, -0.5000000000000001, 254.5, 255.0, 255.49999999999997, 255.5, 256.0, -1.0,
    -0.9999999999999999, 32767.5, -32768.5, 65535.5, 65536.0, 2147483647.5, -2147483648.5,
    4294967295.5, 4294967296.0, 1e300, -1e300, 123.456, -7.25, 3.4028234663852886e38,
    3.4028235677973366e38, -3.4028235677973366e38, 3.5e38, -3.5e38, 1e-46, -1e-46,
};

static double gdal_stored(double v, GDALDataType t) {
  uint8_t buf[8] = {0};
  double back = 0.0;
  GDALCopyWords64(&v, GDT_Float64, 8, buf, t, GDALGetDataTypeSizeBytes(t), 1);
  GDALCopyWords64(buf, t, GDALGetDataTypeSizeBytes(t), &back, GDT_Float64, 8, 1);
  return back;
}

static void conversions_are_gdals(void **state) {
  (void)state;
  const GDALDataType types[] = {GDT_Byte, GDT_UInt16, GDT_Int16, GDT_UInt32, GDT_Int32, GDT_Float32};
  const double extra[] = {INFINITY, -INFINITY, NAN};
  int bad = 0, n = 0;
  for (size_t k = 0; k < sizeof types / sizeof *types; k++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases + 3; i++) {
      double v = i < sizeof cases / sizeof *cases ? cases[i] : extra[i - sizeof cases / sizeof *cases];
      double g = gdal_stored(v, types[k]), o = cf_stored_value(types[k], v);
      int same = (isnan(g) && isnan(o)) || (g == o && signbit(g) == signbit(o)) || (g == 0 && o == 0);
      n++;
      if (!same) {
        bad++;
        print_error("%s: %.17g -> GDAL %.17g, ours %.17g\n", GDALGetDataTypeName(types[k]), v, g, o);
      }
    }
  assert_int_equal(bad, 0);
  assert_true(n > 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(conversions_are_gdals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
