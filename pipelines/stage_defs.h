/* Every stage definition, for the registry (registry.c lists them). */
#ifndef CF_PIPELINES_STAGE_DEFS_H
#define CF_PIPELINES_STAGE_DEFS_H

#include "pipelines/stage.h"

extern const cf_stage_def cf_stage_ingest_raster, cf_stage_ingest_vector, cf_stage_raster_warp,
    cf_stage_raster_index, cf_stage_raster_clip, cf_stage_raster_zonal, cf_stage_write_cog;
extern const cf_stage_def cf_stage_ingest_lidar_l0, cf_stage_lidar_spectra, cf_stage_lidar_doppler, cf_stage_lidar_dial,
    cf_stage_lidar_wind, cf_stage_write_l2, cf_stage_write_quicklook, cf_stage_ingest_windcube, cf_stage_write_wind_csv,
    cf_stage_ingest_plots, cf_stage_ingest_trees, cf_stage_ingest_strata, cf_stage_sink_allometry, cf_stage_sink_strata,
    cf_stage_sink_pools, cf_stage_write_stocks;

extern const cf_stage_def cf_stage_ingest_gedi_l2a, cf_stage_sink_biomass_model, cf_stage_sink_pool_map,
    cf_stage_sink_pool_zonal;

extern const cf_stage_def cf_stage_ingest_l2, cf_stage_lidar_flux_massbalance, cf_stage_lidar_inversion,
    cf_stage_write_flux;

extern const cf_stage_def cf_stage_sink_change, cf_stage_sink_ledger, cf_stage_write_report;

#endif
