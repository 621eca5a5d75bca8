/*
 * Processing settings by name (KEY=VALUE), shared by `carbonflux lidar
 * process` and the pipeline stages: one table sets, checks and documents
 * them.
 */
#ifndef CF_LIDAR_PROCESS_OPTIONS_H
#define CF_LIDAR_PROCESS_OPTIONS_H

#include <stdio.h>

#include "lidar/process.h"

int cf_lidar_opts_set(cf_ctx *ctx, cf_lidar_opts *o, const char *key_value);
void cf_lidar_opts_describe(FILE *out);
/* The settings as JSON (malloc'ed), for the L2 processing_parameters. */
char *cf_lidar_opts_json(const cf_lidar_opts *o);

#endif
