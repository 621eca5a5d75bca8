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
/* Check the whole configuration (ranges that involve several settings). */
int cf_sim_check(cf_ctx *ctx, const cf_sim_config *c);
void cf_sim_describe(FILE *out, const cf_sim_config *defaults);
/* The configuration as JSON text (malloc'ed), for provenance. */
char *cf_sim_json(const cf_sim_config *c);

#endif
