/*
 * Reader of GEDI L2A footprints (HDF5) as training and validation points.
 *
 * GEDI L2A (Dubayah et al. 2020; product user guide / data dictionary of
 * LP DAAC) holds one group per beam, BEAM0000 ... BEAM1011, with one row per
 * laser shot. We read, for every beam group, the datasets a biomass model
 * needs and nothing else:
 *   shot_number (uint64), lat_lowestmode / lon_lowestmode (degrees, WGS84,
 *   the location of the lowest detected mode = the ground), elev_lowestmode
 *   (m), rh (n x 101: relative height of energy quantiles 0..100 %, metres
 *   above the ground mode), quality_flag, degrade_flag, sensitivity.
 * Each of these must be present with the same row count in a beam group; a
 * file with no BEAM group is an error (it is not an L2A file, or a subset
 * that kept nothing). HDF5 is read in the calling thread only (DESIGN.md).
 *
 * Shot selection: the filter commonly applied for vegetation structure
 * and biomass work (quality_flag == 1, degrade_flag == 0, beam sensitivity
 * - the largest canopy cover the waveform can still see the ground
 * through - of at least 0.95; stricter values such as 0.98 are used over
 * dense canopy, hence configurable); optionally the full-power beams only
 * (BEAM0101, BEAM0110, BEAM1000, BEAM1011, whose groups say "Full power
 * beam"; the coverage beams penetrate dense canopy less). A rejected shot
 * is counted under the FIRST test it fails, in the order: invalid
 * (non-finite or out-of-range lon/lat), quality, degrade, sensitivity,
 * beam, so the counts add up:
 *   n_read = n_kept + n_invalid + n_quality + n_degrade + n_sensitivity + n_beam.
 */
#ifndef CF_INGEST_GEDI_L2A_H
#define CF_INGEST_GEDI_L2A_H

#include <stddef.h>
#include <stdint.h>

#include "carbonflux/ctx.h"

#define CF_GEDI_NRH 101

typedef struct {
  int require_quality;    /* keep only quality_flag == 1 (default 1) */
  int require_no_degrade; /* keep only degrade_flag == 0 (default 1) */
  double min_sensitivity; /* keep only sensitivity >= this (default 0.95) */
  int power_beams_only;   /* keep only full-power beams (default 0) */
} cf_gedi_filter;

/* The documented defaults above. */
void cf_gedi_filter_default(cf_gedi_filter *f);

typedef struct {
  uint64_t shot_number;
  double lon, lat;         /* lon_lowestmode, lat_lowestmode, degrees */
  double elev;             /* elev_lowestmode, m */
  double sensitivity;
  int quality_flag, degrade_flag;
  int beam;                /* beam number: BEAM0101 -> 5 (the name is binary) */
  int power;               /* 1 for a full-power beam */
  char beam_name[16];      /* "BEAM0101" */
  double rh[CF_GEDI_NRH];  /* rh[k]: relative height of the k % energy quantile, m */
} cf_gedi_shot;

typedef struct {
  cf_gedi_shot *shots; /* the kept shots, in file order (beam groups by name) */
  size_t n_read, n_kept;
  size_t n_invalid, n_quality, n_degrade, n_sensitivity, n_beam; /* rejected, by first reason */
  int n_beams;         /* BEAM groups read */
} cf_gedi_l2a;

/* Read every BEAM group of `path` and keep the shots `filter` (NULL: the
 * defaults) accepts. On failure *out is left empty and the error names the
 * file and the dataset. */
int cf_gedi_l2a_read(cf_ctx *ctx, const char *path, const cf_gedi_filter *filter, cf_gedi_l2a *out);
void cf_gedi_l2a_free(cf_gedi_l2a *g);

/* One line for a report or log: "301 shots read from 7 beams, 247 kept;
 * rejected: 0 invalid position, 0 quality_flag, 0 degrade_flag, 54
 * sensitivity, 0 coverage beam". Truncated to cap; returns buf. */
const char *cf_gedi_l2a_summary(const cf_gedi_l2a *g, char *buf, size_t cap);

/* rh at percentile `pct` (0..100) of a shot; NaN outside the range. */
double cf_gedi_rh(const cf_gedi_shot *s, int pct);

#endif
