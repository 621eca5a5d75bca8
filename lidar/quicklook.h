/*
 * Quicklook PNGs of an L2 file: CNR (off- and on-line), radial velocity
 * and CO2 mole fraction.
 *
 * PLplot renders headless through its pngcairo device. Layout follows the
 * scan: a PPI (one low elevation, many azimuths) is drawn range against
 * azimuth, one image per sweep when the file holds several (sweeps are
 * never concatenated along the azimuth axis); stares and VAD sequences
 * range against time. Masked gates are light grey: the plot area is
 * filled grey first and plimagefr draws only values inside the colour
 * range (fill values are left out, valid values are clamped into it), so
 * "no data" is not the diverging map's white (0 m/s). Titles give the ray
 * duration and, on a second line, the UTC time span, the site (`source`,
 * `latitude`, `longitude`) and the L0 file name (from `history`). PLplot
 * keeps global state: call from one thread only.
 */
#ifndef CF_LIDAR_QUICKLOOK_H
#define CF_LIDAR_QUICKLOOK_H

#include <stddef.h>

#include "carbonflux/ctx.h"

/* Writes <prefix>_cnr.png (off-line CNR), <prefix>_cnr_on.png,
 * <prefix>_radial_velocity.png and <prefix>_co2.png; for a PPI file of
 * several sweeps also <prefix>_<plot>_sweepN.png for each sweep N (from
 * 1), the plain names then holding the last sweep. The paths written are
 * appended to *paths (malloc'ed strings, *n updated); if one cannot be
 * written, none of this call's are left. */
int cf_quicklook_write(cf_ctx *ctx, const char *l2_path, const char *prefix, char ***paths, int *n);

/* A plot's title: "QUANTITY (UNITS), DETAIL" (DETAIL may be empty). The
 * units go with the quantity they are of: after the details they read as
 * the details' ("gates with sigma <= 25 ppm (ppm)"). */
void cf_quicklook_title(char *out, size_t n, const char *quantity, const char *units, const char *detail);

#endif
