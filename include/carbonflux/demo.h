/* The demo: a synthetic scene and the shipped demo pipeline run on it. */
#ifndef CARBONFLUX_DEMO_H
#define CARBONFLUX_DEMO_H

#include "carbonflux/ctx.h"
#include "carbonflux/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write the demo inputs and demo.yaml into `dir`, run it, fill `summary`. */
int cf_demo_run(cf_ctx *ctx, const char *dir, cf_run_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
