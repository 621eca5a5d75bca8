/*
 * The report's geometry for GIS users and for Google Earth: the strata and
 * the plots written beside the report as STEM.gpkg (layers "strata" and
 * "plots") and STEM.kml (the same two layers, as KML requires in WGS84).
 *
 * Why both: a verifier checks the strata against the project's land
 * records in a GIS (GeoPackage keeps the strata's own CRS and attributes
 * unchanged), and walks the plots in the field or in Google Earth (KML).
 *
 * Invariants: the strata features keep their attributes (all fields) and
 * their geometry (GeoPackage: as read; KML: reprojected to WGS84 by
 * OGR/PROJ); the plots are points at their WGS84 lon/lat with fields
 * "plot" and "stratum"; a plot without coordinates is left out (and
 * counted). In KML a placemark's name is its stratum (a "Name" field
 * first, from stratum_field) or its plot id (the plot field is "Name"). Both files are made in memory (/vsimem/) and written to part
 * files renamed together: both or none.
 */
#ifndef CF_SINK_REPORT_VECTOR_H
#define CF_SINK_REPORT_VECTOR_H

#include "carbonflux/ctx.h"
#include "core/fsutil.h"

typedef struct {
  const char *strata_path;   /* polygons, any OGR source with a CRS */
  const char *strata_layer;  /* NULL: the first layer */
  const char *stratum_field; /* the strata's placemark name in KML; NULL: none */
  const char *const *plot_id, *const *plot_stratum;
  const double *plot_lon, *plot_lat; /* WGS84; NaN: no coordinates */
  int n_plots;
} cf_report_vector_spec;

/* Write STEM.gpkg and STEM.kml (`stem_path` without extension). Returns
 * CF_OK and *n_plots_written, or CF_ENOENT / CF_EDATA naming the strata
 * file and field, CF_EIO naming the output. */
int cf_report_vector_write(cf_ctx *ctx, const cf_report_vector_spec *s, const char *stem_path, int *n_plots_written);
/* The same up to the commit: parts[0] (STEM.gpkg) and parts[1] (STEM.kml)
 * are filled part files for the caller to commit with other files of one
 * product (cf_report_write_with) and then cf_atomic_end. On failure they
 * are already ended (nothing left). */
int cf_report_vector_prepare(cf_ctx *ctx, const cf_report_vector_spec *s, const char *stem_path, cf_atomic_file parts[2],
                             int *n_plots_written);

#endif
