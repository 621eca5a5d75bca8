/* Every stage definition, for the registry (registry.c lists them). */
#ifndef CF_PIPELINES_STAGE_DEFS_H
#define CF_PIPELINES_STAGE_DEFS_H

#include "pipelines/stage.h"

extern const cf_stage_def cf_stage_ingest_raster, cf_stage_ingest_vector, cf_stage_raster_warp,
    cf_stage_raster_index, cf_stage_raster_clip, cf_stage_raster_zonal, cf_stage_write_cog;

#endif
