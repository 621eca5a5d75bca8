/* AVERAGE overview halving; see overview.h. */
#include "raster/overview.h"

#include <stddef.h>

void cf_ovr_halve(const double *in, const uint8_t *iv, int w, int h, int nb, double *out, uint8_t *ov) {
  int ow = (w + 1) / 2, oh = (h + 1) / 2;
  for (int b = 0; b < nb; b++) {
    const double *src = in + (size_t)b * w * h;
    const uint8_t *sv = iv + (size_t)b * w * h;
    double *dst = out + (size_t)b * ow * oh;
    uint8_t *dv = ov + (size_t)b * ow * oh;
    for (int Y = 0; Y < oh; Y++) {
      int y1 = 2 * Y, y2 = 2 * Y + 1 < h ? 2 * Y + 1 : 2 * Y;
      for (int X = 0; X < ow; X++) {
        int x1 = 2 * X, x2 = 2 * X + 1 < w ? 2 * X + 1 : 2 * X;
        double sum = 0.0; /* fixed order: row by row, left to right */
        int n = 0;
        for (int yy = y1; yy <= y2; yy++)
          for (int xx = x1; xx <= x2; xx++) {
            size_t i = (size_t)yy * w + xx;
            if (sv[i]) sum += src[i], n++;
          }
        dst[(size_t)Y * ow + X] = n ? sum / n : 0.0;
        dv[(size_t)Y * ow + X] = (uint8_t)(n > 0);
      }
    }
  }
}
