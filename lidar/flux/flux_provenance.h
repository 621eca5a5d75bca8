/*
 * What a flux estimate records of how it was made (README "Outputs"): the
 * inputs with their SHA-256 (the L2 files and the sources layer's files),
 * every setting's value, the command. The writers put them into the
 * summary's `inputs` and `settings` (flux_summary.c), the L3 file's
 * `input_files`, `input_sha256`, `processing_parameters` and `history`
 * (flux_l3.c), and flux_map.tif's CARBONFLUX_* metadata (flux_write.c).
 *
 * Why the sources layer is an input like the scans: its priors and their
 * sigmas decide every rate the inversion reports (a halved prior sigma
 * pulls a rate to its prior), so a summary that hashed only the L2 files
 * could not tell two runs apart that differ in their answer.
 *
 * Why the settings are remade when two runs are merged: the pipeline runs
 * the mass balance and the inversion as two estimates, each recording
 * its own method; the merged result is method `both` and must say so, and
 * must say which values the mass balance ran with where they were not
 * the inversion's (a stage may give blh_m to one of them only).
 */
#ifndef CF_LIDAR_FLUX_PROVENANCE_H
#define CF_LIDAR_FLUX_PROVENANCE_H

#include "ingest/flux_sources.h"
#include "ingest/lidar_l2.h"
#include "lidar/flux/estimate.h"

/* r's inputs (set's files, then src's files, with their SHA-256: the L2
 * files hashed here, the layer's as its reader hashed them), opts and
 * settings_json from `o`. CF_ENOMEM or the hashing's code. */
int cf_flux_fill_provenance(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_sources *src, const cf_flux_opts *o,
                            cf_flux_result *r);
/* {"method": ..., every row of cf_flux_settings} (malloc'ed; NULL: out of memory). */
char *cf_flux_settings_json(const cf_flux_opts *o);
/* r (an inversion) merged with the mass balance mb: settings_json becomes
 * r's settings with method both, and "mass_balance_ran_with": {KEY: VALUE}
 * for each setting whose value in mb's run was another. */
int cf_flux_merge_settings(cf_ctx *ctx, cf_flux_result *r, const cf_flux_result *mb);
/* The command line `carbonflux flux estimate` that makes the same result:
 * the files, --sources, --layer, -o and KEY=VALUE for every setting that
 * is not its default (malloc'ed; NULL: out of memory). */
char *cf_flux_command_line(const char *const *l2_paths, int n_paths, const char *sources_path, const char *sources_layer,
                           const cf_flux_opts *o, const char *outdir);
/* CARBONFLUX_VERSION, CARBONFLUX_INPUTS, CARBONFLUX_SETTINGS of r
 * (core/provenance.h; free with cf_provenance_free). */
char **cf_flux_provenance_lines(cf_ctx *ctx, const cf_flux_result *r);

#endif
