/*
 * Quicklook PNGs of an L2 file: CNR, radial velocity and CO2 mole fraction.
 *
 * PLplot renders headless through its pngcairo device. Layout follows the
 * scan: a PPI (one low elevation, many azimuths) is drawn range against
 * azimuth; stares and VAD sequences range against time. Masked gates stay
 * white (plimage draws only values inside the colour range, so fill
 * values are left out and valid values are clamped into it). PLplot keeps
 * global state: call from one thread only.
 */
#ifndef CF_LIDAR_QUICKLOOK_H
#define CF_LIDAR_QUICKLOOK_H

#include "carbonflux/ctx.h"

/* Writes <prefix>_cnr.png, <prefix>_radial_velocity.png and
 * <prefix>_co2.png; the paths written are appended to *paths (malloc'ed
 * strings, *n updated). */
int cf_quicklook_write(cf_ctx *ctx, const char *l2_path, const char *prefix, char ***paths, int *n);

#endif
