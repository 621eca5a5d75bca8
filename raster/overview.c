/* AVERAGE overview halving; see overview.h. */
#include "raster/overview.h"

#include <stddef.h>

/* One output pixel from the valid pixels among rows y1..y2, columns
 * x1..x2, summed row by row, left to right: the reference order. */
static void halve_pixel(const double *src, const uint8_t *sv, int w, int x1, int x2, int y1, int y2, double *dst,
                        uint8_t *dv) {
  double sum = 0.0;
  int n = 0;
  for (int yy = y1; yy <= y2; yy++)
    for (int xx = x1; xx <= x2; xx++) {
      size_t i = (size_t)yy * w + xx;
      if (sv[i]) sum += src[i], n++;
    }
  *dst = n ? sum / n : 0.0;
  *dv = (uint8_t)(n > 0);
}

void cf_ovr_halve(const double *in, const uint8_t *iv, int w, int h, int nb, double *out, uint8_t *ov) {
  int ow = (w + 1) / 2, oh = (h + 1) / 2, full_x = w / 2; /* output columns with both inputs */
  for (int b = 0; b < nb; b++) {
    const double *src = in + (size_t)b * w * h;
    const uint8_t *sv = iv + (size_t)b * w * h;
    double *dst = out + (size_t)b * ow * oh;
    uint8_t *dv = ov + (size_t)b * ow * oh;
    for (int Y = 0; Y < oh; Y++) {
      int y1 = 2 * Y, y2 = 2 * Y + 1 < h ? 2 * Y + 1 : 2 * Y;
      double *drow = dst + (size_t)Y * ow;
      uint8_t *vrow = dv + (size_t)Y * ow;
      int X = 0;
      if (y2 > y1) {
        /* 2 x 2 blocks, branch-free: an invalid pixel adds +0.0 instead of
         * being skipped, which is the same bits, since a sum that starts
         * at +0.0 is never -0.0 (and invalid values are NaN, so they are
         * selected away, not multiplied) */
        const double *r1 = src + (size_t)y1 * w, *r2 = src + (size_t)y2 * w;
        const uint8_t *v1 = sv + (size_t)y1 * w, *v2 = sv + (size_t)y2 * w;
        for (; X < full_x; X++) {
          int x = 2 * X;
          double sum = 0.0;
          sum += v1[x] ? r1[x] : 0.0;
          sum += v1[x + 1] ? r1[x + 1] : 0.0;
          sum += v2[x] ? r2[x] : 0.0;
          sum += v2[x + 1] ? r2[x + 1] : 0.0;
          int n = (v1[x] != 0) + (v1[x + 1] != 0) + (v2[x] != 0) + (v2[x + 1] != 0);
          drow[X] = n ? sum / n : 0.0;
          vrow[X] = (uint8_t)(n > 0);
        }
      }
      for (; X < ow; X++) {
        int x1 = 2 * X, x2 = 2 * X + 1 < w ? 2 * X + 1 : 2 * X;
        halve_pixel(src, sv, w, x1, x2, y1, y2, drow + X, vrow + X);
      }
    }
  }
}
