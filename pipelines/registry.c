/*
 * The stage registry: the list of every stage type, and the `stages`
 * command's description generated from it. Adding a stage means adding its
 * definition here; the validator, the help and the docs follow.
 */
#include <stdlib.h>
#include <string.h>

#include "pipelines/pipeline_internal.h"
#include "pipelines/embedded.h"
#include "pipelines/stage_defs.h"

static const cf_stage_def *const registry[] = {
    &cf_stage_ingest_raster, &cf_stage_ingest_vector, &cf_stage_raster_warp,   &cf_stage_raster_index,
    &cf_stage_raster_clip,   &cf_stage_raster_zonal,  &cf_stage_write_cog,     &cf_stage_ingest_lidar_l0,
    &cf_stage_lidar_spectra, &cf_stage_lidar_doppler, &cf_stage_lidar_dial,    &cf_stage_lidar_wind,
    &cf_stage_write_l2,      &cf_stage_write_quicklook, &cf_stage_ingest_windcube, &cf_stage_write_wind_csv,
    &cf_stage_ingest_plots,  &cf_stage_ingest_trees,  &cf_stage_ingest_strata, &cf_stage_sink_allometry,
    &cf_stage_sink_strata,   &cf_stage_sink_pools,    &cf_stage_write_stocks,
    &cf_stage_ingest_gedi_l2a, &cf_stage_sink_biomass_model, &cf_stage_sink_pool_map, &cf_stage_sink_pool_zonal,
    &cf_stage_ingest_l2, &cf_stage_lidar_flux_massbalance, &cf_stage_lidar_inversion, &cf_stage_write_flux,
    &cf_stage_sink_change, &cf_stage_sink_ledger, &cf_stage_write_report,
    NULL};

const cf_stage_def *const *cf_stage_all(void) { return registry; }

const cf_stage_def *cf_stage_find(const char *type) {
  for (int i = 0; registry[i]; i++)
    if (strcmp(registry[i]->type, type) == 0) return registry[i];
  return NULL;
}

/* An option that is a row of a settings table: the row's default, accepted
 * values (with the unit) and help, as `carbonflux lidar --help` shows them. */
static void describe_setting(FILE *out, const cf_option_spec *o) {
  const cf_kv_opt *row = cf_kv_find(o->settings, o->name);
  void *defaults = malloc(o->settings->size);
  char def[64] = "=?", value[48], range[256] = "?";
  if (row && defaults) {
    o->settings->defaults(defaults);
    cf_kv_value_text(row, defaults, value, sizeof value);
    snprintf(def, sizeof def, value[0] ? "=%s" : "-", value); /* "-": no default, as below */
    cf_kv_range_text(row, range, sizeof range);
  }
  free(defaults);
  fprintf(out, "    %-20s %-16s %-10s %s [%s]\n", o->name, cf_opt_type_name(o->type), def,
          row ? row->help : "(missing from its settings table)", range);
}

void cf_stages_describe(FILE *out, const char *only) {
  for (int i = 0; registry[i]; i++) {
    const cf_stage_def *d = registry[i];
    if (only && strcmp(only, d->type) != 0) continue;
    fprintf(out, "%s\n    %s\n", d->type, d->help);
    if (d->input != CF_PRODUCT_NONE)
      fprintf(out, "    %-20s %-16s %-10s %s\n", "input", "stage name", "(previous)",
              d->input == CF_PRODUCT_RASTER   ? "stage whose raster to use"
              : d->input == CF_PRODUCT_VECTOR ? "stage whose polygons to use"
              : d->input == CF_PRODUCT_L2     ? "write.l2 stage whose file to use"
              : d->input == CF_PRODUCT_WINDSCAN ? "ingest.windcube stage whose scan to use"
              : d->input == CF_PRODUCT_STOCKS ? "sink.* stage whose stocks to continue"
              : d->input == CF_PRODUCT_ISSUANCE ? "sink.change stage whose events to use"
              : d->input == CF_PRODUCT_LEDGER ? "sink.ledger stage whose ledger to report"
                                              : "lidar stage to continue");
    for (int k = 0; d->options[k].name; k++) {
      const cf_option_spec *o = &d->options[k];
      if (o->settings) {
        describe_setting(out, o);
        continue;
      }
      char type[40], def[48];
      snprintf(type, sizeof type, "%s", cf_opt_type_name(o->type));
      if (o->required)
        snprintf(def, sizeof def, "(required)");
      else if (o->def && o->def[0])
        snprintf(def, sizeof def, "=%s", o->def);
      else
        snprintf(def, sizeof def, "-");
      fprintf(out, "    %-20s %-16s %-10s %s", o->name, type, def, o->help);
      if (o->has_min || o->has_max) {
        fprintf(out, " [");
        if (o->has_min) fprintf(out, "%g", o->min);
        fprintf(out, "..");
        if (o->has_max) fprintf(out, "%g", o->max);
        fprintf(out, "]");
      }
      if (o->choices && o->type == CF_OPT_ENUM) {
        fprintf(out, " {");
        for (int c = 0; o->choices[c]; c++) fprintf(out, "%s%s", c ? "," : "", o->choices[c]);
        fprintf(out, "}");
      }
      fputc('\n', out);
    }
    fputc('\n', out);
  }
}

const char *cf_shipped_pipeline(const char *name) {
  for (int i = 0; cf_embedded_pipelines[i].name; i++)
    if (strcmp(cf_embedded_pipelines[i].name, name) == 0) return cf_embedded_pipelines[i].text;
  return NULL;
}
