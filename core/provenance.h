/*
 * The provenance lines every raster and CSV output carries (README
 * "Outputs"): CARBONFLUX_VERSION, CARBONFLUX_INPUTS and CARBONFLUX_SETTINGS
 * as KEY=VALUE strings, the form GDAL takes as dataset metadata and the
 * CSV writers print after "# ".
 *
 * Why one function: a pipeline's rasters (pipelines/run.c) and the flux
 * command's GeoTIFF (lidar/flux/flux_write.c) are read by the same tools
 * (gdalinfo, a script grepping CARBONFLUX_INPUTS); two hand-made copies of
 * the format would drift apart. The inputs are JSON strings "PATH
 * sha256:HEX", the settings a JSON object, both as the caller has them.
 */
#ifndef CF_CORE_PROVENANCE_H
#define CF_CORE_PROVENANCE_H

#include "carbonflux/ctx.h"

/* "PATH sha256:HEX" for one input (malloc'ed; NULL when out of memory). */
char *cf_provenance_input(const char *path, const char *sha256_hex);
/* The three lines and a NULL after them (malloc'ed, free with
 * cf_provenance_free); NULL with CF_ENOMEM in the context. `settings_json`
 * NULL or "" is written as {}. */
char **cf_provenance_lines(cf_ctx *ctx, const char *const *inputs, int n_inputs, const char *settings_json);
void cf_provenance_free(char **lines);

#endif
