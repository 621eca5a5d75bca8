/*
 * Checks at validation that open the inputs' headers: what a pipeline's own
 * options say about its input files.
 *
 * Why. "A pipeline that passes --check never fails at run time on its own
 * options." Option values alone cannot tell that `nir` names no band of
 * the scene, or that a GEDI file named through /vsizip/ is out of HDF5's
 * reach; a run found out after its other stages had worked for minutes.
 * Validation (both `run --check` and the start of every run) therefore
 * opens what it can open cheaply: a raster's header (GDALOpen: the band
 * count and descriptions, no pixels) and an HDF5 file's signature. The
 * band names a raster stage gives follow a small table (preflight.c), so a band
 * option is checked through warps and clips back to the file; a stage whose
 * bands depend on its computation (an index) ends the check (unknown). A
 * batch of several rasters is not checked here: each file's bands are that
 * item's content, and a file without the band is that item rejected at run
 * time (exit 3), not the pipeline refused.
 */
#ifndef CF_PIPELINES_PREFLIGHT_H
#define CF_PIPELINES_PREFLIGHT_H

#include "pipelines/pipeline_internal.h"

/* Every band option (cf_option_spec.band_of_input) checked against the
 * bands its input will have; one error each, at the option's position.
 * Returns the number of errors (CF_ENOMEM pushes one too). */
int cf_preflight_bands(cf_ctx *ctx, const cf_pipeline *p);

/* Every `zones` option naming an ingest.vector stage: the layer's extent
 * (in each raster's CRS) must overlap at least one of the rasters the
 * pipeline reads, else "the polygons and the raster do not overlap" at
 * the option's position (a pool map of one place with the blocks of
 * another ran, wrote its map and only then found no polygon covered a
 * pixel). Said only when every raster is one file known now and each
 * header and the layer's extent can be read and compared. Returns the
 * number of errors. */
int cf_preflight_overlap(cf_ctx *ctx, const cf_pipeline *p);

/* An input option read by HDF5 (cf_option_spec.read_by_hdf5): 0 if `full`
 * can be read by it, else 1 and why in why[n] (a GDAL /vsi name: "unzip it
 * first"; with `open_it`, a plain file that is not HDF5). */
int cf_preflight_hdf5_input(const char *full, int open_it, char *why, size_t n);

#endif
