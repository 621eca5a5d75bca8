/* Validation that opens input headers (band names, HDF5 files); see preflight.h. */
#include "pipelines/preflight.h"

#include <gdal.h>
#include <hdf5.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "ingest/raster_info.h"

/* Where a raster stage's bands come from: the bands of its `path` file (or
 * its `bands` option), or its input's bands unchanged; a stage not listed
 * makes bands of its own (an index, a pool map) and ends the check. (A
 * table here, not a field of cf_stage_def: the defs are positional
 * initializers in every stages_*.c, and a field would have to be added to
 * each.) */
typedef enum { BANDS_UNKNOWN = 0, BANDS_OF_FILE, BANDS_OF_INPUT } band_flow;
static const struct {
  const char *type;
  band_flow flow;
} band_flows[] = {{"ingest.raster", BANDS_OF_FILE}, {"raster.warp", BANDS_OF_INPUT}, {"raster.clip", BANDS_OF_INPUT}};

static band_flow flow_of(const cf_stage *st) {
  for (size_t i = 0; i < sizeof band_flows / sizeof *band_flows; i++)
    if (!strcmp(st->def->type, band_flows[i].type)) return band_flows[i].flow;
  return BANDS_UNKNOWN;
}

/* The stage whose file gives the bands `st`'s input will have: follow
 * inputs through stages that keep their input's bands. -1 when unknown. */
static int band_source(const cf_pipeline *p, const cf_stage *st) {
  int j = st->input;
  while (j >= 0 && flow_of(&p->stages[j]) == BANDS_OF_INPUT) j = p->stages[j].input;
  return j >= 0 && flow_of(&p->stages[j]) == BANDS_OF_FILE ? j : -1;
}

/* The file of raster stage `src` when it is one file known before the run
 * (malloc'ed), else NULL: a batch of several, a network name. */
static char *single_file(const cf_pipeline *p, const cf_stage *src) {
  if (src->index == p->batch_stage) return p->nitems == 1 ? strdup(p->items[0]) : NULL;
  const cf_yaml_node *v = cf_stage_value(src, "path");
  if (!v || v->kind != CF_YAML_SCALAR || strpbrk(v->value, "*?[")) return NULL;
  return cf_gdal_name_resolve(cf_stage_base_dir(src, v), v->value);
}

/* The header of raster stage `src`'s file (its assign_crs applied), read in
 * a quiet context: a file the run cannot read is the run's to report. */
static int header_of(const cf_stage *src, const char *file, cf_raster_info *info) {
  cf_ctx *quiet = cf_ctx_create();
  cf_raster_open_opts o = {0};
  o.assign_crs = cf_stage_str(src, "assign_crs");
  int rc = quiet ? cf_raster_info_read(quiet, file, &o, info) : CF_ENOMEM;
  cf_ctx_destroy(quiet);
  return rc;
}

/* Band names of raster stage `src`: its `bands` option, else the file's
 * band descriptions. 0 and *n set, or -1 when they cannot be known now
 * (the run will say why the file cannot be read). */
static int bands_of(const cf_pipeline *p, const cf_stage *src, char ***names, int *n) {
  *names = NULL;
  *n = 0;
  if (cf_stage_has(src, "bands")) {
    *n = cf_stage_list_len(src, "bands");
    *names = calloc((size_t)*n + 1, sizeof **names);
    for (int b = 0; *names && b < *n; b++) (*names)[b] = strdup(cf_stage_list_str(src, "bands", b));
    return *names ? 0 : -1;
  }
  char *file = single_file(p, src);
  if (!file || cf_gdal_is_network(file)) {
    free(file);
    return -1;
  }
  cf_raster_info info = {0};
  int rc = header_of(src, file, &info);
  free(file);
  if (rc) return -1;
  *names = calloc((size_t)info.nbands + 1, sizeof **names);
  for (int b = 0; *names && b < info.nbands; b++) (*names)[b] = strdup(info.desc[b]);
  *n = info.nbands;
  cf_raster_info_free(&info);
  return *names ? 0 : -1;
}

static void free_names(char **names, int n) {
  for (int b = 0; names && b < n; b++) free(names[b]);
  free(names);
}

/* As cf_raster_find_band: a band's name (case-insensitive) or a 1-based number. */
static int has_band(char **names, int n, const char *key) {
  for (int b = 0; b < n; b++)
    if (names[b] && names[b][0] && strcasecmp(names[b], key) == 0) return 1;
  char *end;
  long k = strtol(key, &end, 10);
  return *key && !*end && k >= 1 && k <= n;
}

int cf_preflight_bands(cf_ctx *ctx, const cf_pipeline *p) {
  int errors = 0;
  for (int i = 0; i < p->nstages; i++) {
    const cf_stage *st = &p->stages[i];
    int src = -1;
    char **names = NULL;
    int n = 0, known = 0;
    for (int k = 0; st->def->options[k].name; k++) {
      const cf_option_spec *o = &st->def->options[k];
      const cf_yaml_node *v = st->values[k];
      if (!o->band_of_input || !v || v->kind != CF_YAML_SCALAR || (o->band_used && !o->band_used(st))) continue;
      if (!known) { /* the input's bands, once per stage */
        src = band_source(p, st);
        known = src >= 0 && bands_of(p, &p->stages[src], &names, &n) == 0 ? 1 : -1;
      }
      if (known < 0 || has_band(names, n, v->value)) continue;
      cf_strbuf sb;
      cf_strbuf_init(&sb);
      for (int b = 0; b < n; b++)
        cf_strbuf_printf(&sb, "%s%d=%s", b ? ", " : "", b + 1, names[b] && names[b][0] ? names[b] : "(unnamed)");
      cf_yaml_error(ctx, CF_EINVAL, st->source, v,
                    "option '%s' of stage '%s': no band '%s' in the input of stage '%s' (bands: %s); name them with "
                    "ingest.raster's 'bands'",
                    o->name, st->name, v->value, p->stages[src].name, cf_strbuf_str(&sb));
      cf_strbuf_free(&sb);
      errors++;
    }
    free_names(names, n);
  }
  return errors;
}

int cf_preflight_hdf5_input(const char *full, int open_it, char *why, size_t n) {
  if (cf_gdal_is_name(full)) {
    int zip = strncmp(full, "/vsizip/", 8) == 0 || strncmp(full, "/vsitar/", 8) == 0 ||
              strncmp(full, "/vsigzip/", 9) == 0;
    snprintf(why, n, "'%s' is a GDAL name, and this input is read by HDF5, which opens plain local files only: %s", full,
             zip ? "unzip it first" : "copy it to a plain file first");
    return 1;
  }
  if (!open_it || !cf_file_exists(full)) return 0; /* a missing file is reported as missing */
  htri_t is = -1;
  H5E_BEGIN_TRY { is = H5Fis_hdf5(full); }
  H5E_END_TRY;
  if (is > 0) return 0;
  snprintf(why, n, "'%s' is not an HDF5 file (no HDF5 signature)", full);
  return 1;
}

/* --- do the zones touch the rasters? ----------------------------------------- */

/* The layer's extent (xmin, ymin, xmax, ymax) in the CRS `wkt`, from its
 * own extent's corners and edge midpoints transformed; 0, or -1 when it
 * cannot be known now (not one plain file, no CRS, a transform PROJ
 * refuses: the run says why, or finds the overlap itself). */
static int vector_extent_in(const cf_stage *vst, const char *wkt, double out[4]) {
  const cf_yaml_node *v = cf_stage_value(vst, "path");
  if (!v || v->kind != CF_YAML_SCALAR || !wkt || !wkt[0]) return -1;
  char *file = cf_gdal_name_resolve(cf_stage_base_dir(vst, v), v->value);
  if (!file || cf_gdal_is_network(file)) {
    free(file);
    return -1;
  }
  cf_gdal_quiet_push();
  GDALDatasetH ds = GDALOpenEx(file, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  free(file);
  const char *layer_name = cf_stage_str(vst, "layer"), *assign = cf_stage_str(vst, "assign_crs");
  OGRLayerH layer = !ds ? NULL
                    : layer_name ? GDALDatasetGetLayerByName(ds, layer_name)
                    : GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0)
                                                       : NULL;
  OGREnvelope e;
  OGRSpatialReferenceH src = NULL, dst = NULL;
  OGRCoordinateTransformationH ct = NULL;
  int rc = -1;
  if (layer && OGR_L_GetExtent(layer, &e, TRUE) == OGRERR_NONE) {
    if (assign) {
      src = OSRNewSpatialReference(NULL);
      if (src && OSRSetFromUserInput(src, assign) != OGRERR_NONE) OSRDestroySpatialReference(src), src = NULL;
    } else if (OGR_L_GetSpatialRef(layer)) {
      src = OSRClone(OGR_L_GetSpatialRef(layer));
    }
    dst = OSRNewSpatialReference(wkt);
    if (src && dst) {
      OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
      OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
      ct = OCTNewCoordinateTransformation(src, dst);
    }
    double x[8] = {e.MinX, e.MaxX, e.MaxX, e.MinX, 0.5 * (e.MinX + e.MaxX), e.MaxX, 0.5 * (e.MinX + e.MaxX), e.MinX};
    double y[8] = {e.MinY, e.MinY, e.MaxY, e.MaxY, e.MinY, 0.5 * (e.MinY + e.MaxY), e.MaxY, 0.5 * (e.MinY + e.MaxY)};
    int ok[8] = {0};
    if (ct && OCTTransformEx(ct, 8, x, y, NULL, ok)) {
      out[0] = out[1] = HUGE_VAL;
      out[2] = out[3] = -HUGE_VAL;
      int n = 0;
      for (int i = 0; i < 8; i++) {
        if (!ok[i] || !isfinite(x[i]) || !isfinite(y[i])) continue;
        n++;
        out[0] = fmin(out[0], x[i]), out[1] = fmin(out[1], y[i]);
        out[2] = fmax(out[2], x[i]), out[3] = fmax(out[3], y[i]);
      }
      rc = n == 8 ? 0 : -1; /* a corner off the target projection: leave it to the run */
    }
  }
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (src) OSRDestroySpatialReference(src);
  if (dst) OSRDestroySpatialReference(dst);
  if (ds) GDALClose(ds);
  cf_gdal_quiet_pop();
  return rc;
}

int cf_preflight_overlap(cf_ctx *ctx, const cf_pipeline *p) {
  int errors = 0;
  for (int i = 0; i < p->nstages; i++) {
    const cf_stage *st = &p->stages[i];
    int zi = -1;
    const cf_option_spec *o = cf_stage_option(st, "zones", &zi);
    const cf_yaml_node *zv = o ? st->values[zi] : NULL;
    if (!o || o->type != CF_OPT_STAGE_REF || !zv || zv->kind != CF_YAML_SCALAR) continue;
    const cf_stage *vst = NULL;
    for (int j = 0; j < i && !vst; j++)
      if (!strcmp(p->stages[j].name, zv->value) && !strcmp(p->stages[j].def->type, "ingest.vector")) vst = &p->stages[j];
    if (!vst) continue;
    /* every raster file the pipeline reads: the zones must touch one of
     * them (the zonal stage's grid comes from one; which one depends on the
     * stages between, so none touched is what is certain) */
    int known = 0, touched = 0;
    char names[600] = "";
    for (int j = 0; j < p->nstages && !touched; j++) {
      const cf_stage *rst = &p->stages[j];
      if (strcmp(rst->def->type, "ingest.raster") != 0) continue;
      char *file = single_file(p, rst);
      if (!file || cf_gdal_is_network(file)) {
        free(file);
        known = -1; /* a raster not known now: say nothing */
        break;
      }
      cf_raster_info info = {0};
      int rc = header_of(rst, file, &info);
      double ve[4];
      if (rc || vector_extent_in(vst, info.wkt, ve) != 0) {
        if (!rc) cf_raster_info_free(&info);
        free(file);
        known = -1;
        break;
      }
      const double *g = info.gt;
      double rx0 = g[0], rx1 = g[0] + g[1] * info.width, ry0 = g[3] + g[5] * info.height, ry1 = g[3];
      if (g[2] != 0 || g[4] != 0) { /* rotated: leave it to the run */
        cf_raster_info_free(&info);
        free(file);
        known = -1;
        break;
      }
      double xmin = fmin(rx0, rx1), xmax = fmax(rx0, rx1), ymin = fmin(ry0, ry1), ymax = fmax(ry0, ry1);
      touched = ve[0] < xmax && ve[2] > xmin && ve[1] < ymax && ve[3] > ymin;
      size_t len = strlen(names);
      snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", file);
      known = 1;
      cf_raster_info_free(&info);
      free(file);
    }
    if (known != 1 || touched) continue;
    cf_yaml_error(ctx, CF_EINVAL, st->source, zv,
                  "option 'zones' of stage '%s': the polygons of stage '%s' and the raster (%s) do not overlap: "
                  "no polygon can cover a pixel (are they of the same place? is a CRS wrong?)",
                  st->name, vst->name, names);
    errors++;
  }
  return errors;
}
