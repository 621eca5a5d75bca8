/*
 * One overview level from the level below: AVERAGE resampling by 2 x 2.
 *
 * Level k pixel (X, Y) is the mean of the valid pixels among level k-1
 * pixels (2X..2X+1, 2Y..2Y+1), invalid if none is; at the right and bottom
 * edges the missing pixels simply do not count, so level sizes are
 * ceil(size / 2), as GDAL makes them. Means are taken in double from
 * double, in a fixed order (row by row, left to right), so a level is the
 * mean of its level below as the writer holds it, not of the file's
 * rounded values, and the same for any thread count. A fragment whose
 * origin is even (a tile of a partition into even-sized tiles) halves into
 * exactly the pixels of the level it covers, which is what lets the COG
 * writers build overviews tile by tile (raster/cog.c, raster/cog_stream.c).
 */
#ifndef CF_RASTER_OVERVIEW_H
#define CF_RASTER_OVERVIEW_H

#include <stdint.h>

/* Halve a w x h, nb-band fragment (band-sequential data and validity) into
 * ceil(w/2) x ceil(h/2), band-sequential. */
void cf_ovr_halve(const double *in, const uint8_t *iv, int w, int h, int nb, double *out, uint8_t *ov);

#endif
