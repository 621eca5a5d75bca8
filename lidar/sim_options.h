/*
 * Simulator settings by name: `carbonflux simulate lidar KEY=VALUE ...`.
 * One table lists every setting with its type, unit and help; it sets
 * values, validates ranges and prints the help, so the three cannot drift
 * apart.
 */
#ifndef CF_LIDAR_SIM_OPTIONS_H
#define CF_LIDAR_SIM_OPTIONS_H

#include <stdio.h>

#include "lidar/sim_scene.h"

/* Apply "KEY=VALUE". Plumes: plume=x,y,z,sigma_h,sigma_z,ppm (repeatable). */
int cf_sim_set(cf_ctx *ctx, cf_sim_config *c, const char *key_value);
/* Check the whole configuration (ranges that involve several settings),
 * including the output size (cf_sim_check_size). */
int cf_sim_check(cf_ctx *ctx, const cf_sim_config *c);

/* The largest L0 file the simulator writes, and the background records of
 * the raw level when `level=raw` is given and background_pulses was left at
 * the spectra level's default (10,000,000 background pulses of raw samples
 * would be ~650 GB; at the spectra level they are one accumulated spectrum
 * per gate and cost nothing). */
#define CF_SIM_MAX_OUTPUT_GB 4.0
#define CF_SIM_RAW_BACKGROUND_DEFAULT 2000
/* Bytes of the L0 file `c` describes (its sample or spectrum datasets):
 * level spectra: rays x gates x (fft_size/2+1) bins x 2 wavelengths x 4 bytes;
 * level raw: (rays x raw_pulses + background_pulses) x samples per record x
 * 2 wavelengths x 2 bytes. */
double cf_sim_output_bytes(const cf_sim_config *c);
/* Refuse a configuration whose file would exceed c->max_output_gb (default
 * CF_SIM_MAX_OUTPUT_GB); the message names the settings and the size. */
int cf_sim_check_size(cf_ctx *ctx, const cf_sim_config *c);
void cf_sim_describe(FILE *out, const cf_sim_config *defaults);
/* The configuration as JSON text (malloc'ed), for provenance. */
char *cf_sim_json(const cf_sim_config *c);

#endif
