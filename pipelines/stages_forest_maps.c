/*
 * The forest map stages: GEDI footprints, a fitted biomass model, per-pixel
 * carbon pools and their totals per stratum polygon.
 *
 *   ingest.gedi_l2a   footprints of an L2A file, filtered (product: footprints)
 *   sink.biomass_model  an AGB model fitted on plots or footprints against
 *                     raster features sampled at them, or given by its
 *                     coefficients (product: model)
 *   sink.pool_map     model + feature rasters -> AGB, SE -> pools per pixel
 *                     (product: raster; write.cog writes it)
 *   sink.pool_zonal   pools per polygon and the difference estimator (CSV)
 *
 * As in stages_raster.c the run functions only adapt validated options to
 * library calls (raster/biomass_model.h, raster/sample.h, sink/pool_map.h,
 * sink/pool_zonal.h), where the work and its tests are.
 *
 * Decisions where the issue left a choice:
 *  - A GEDI footprint has no measured AGB. The response at a footprint is
 *    AGB = gedi_agb_a x rh_k ^ gedi_agb_b (k = gedi_rh, default 98), a
 *    power law the USER gives (e.g. their region's GEDI L4A-style model):
 *    we ship no default because any default would be a made-up biomass.
 *    The fit then relates that AGB to the raster features at the
 *    footprint, which is how GEDI is used to calibrate a wall-to-wall map.
 *  - Points take the value of the pixel they fall in (raster/sample.h).
 *    A point outside a feature raster or on an invalid pixel, a
 *    non-finite response, or (log-log) a response or feature <= 0 is left
 *    out of the fit and counted in the log.
 *  - `coefficients` gives a published (or illustrative) model instead of a
 *    fit: b0..bp on the fitted scale (log-log: ln a, b for AGB = a H^b),
 *    with `residual_sd` the model's residual SD (on the log scale for
 *    log-log; 0 = a deterministic model). Its parameter uncertainty is
 *    unknown and taken as zero (leverage 0): the SE band is then the
 *    residual part only.
 *  - Feature lists are stage names resolved when the stage runs (the
 *    option table has no list-of-stage-references type); a wrong name is an
 *    error naming the option's line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "ingest/gedi_l2a.h"
#include "ingest/vector.h"
#include "pipelines/csv_out.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/stage_defs.h"
#include "raster/biomass_model.h"
#include "raster/sample.h"
#include "sink/inventory.h"
#include "sink/stocks.h"
#include "sink/pool_zonal.h"

/* --- products --------------------------------------------------------------- */

static void destroy_gedi(void *p) {
  cf_gedi_l2a_free(p);
  free(p);
}

typedef struct {
  cf_biomass_model m;
  int fitted;          /* 0: given by coefficients */
  char summary[1024];  /* the fit and CV figures, one line of JSON */
  char features[CF_BIOMASS_MAX_FEATURES][64]; /* the fit's feature stages (empty: given model) */
} forest_model;

static void destroy_raster(void *p) { cf_raster_destroy(p); }

/* --- ingest.gedi_l2a ---------------------------------------------------------- */

/* The filter settings, declared once over cf_gedi_filter (ingest/gedi_l2a.h
 * gives the reasons for the defaults). */
static const cf_kv_opt gedi_rows[] = {
    {"sensitivity_min", CF_KV_DOUBLE, offsetof(cf_gedi_filter, min_sensitivity), 0, 1, "", 
     "keep shots whose beam sensitivity is at least this (0.98 over dense canopy)", NULL},
    {"quality", CF_KV_BOOL, offsetof(cf_gedi_filter, require_quality), 0, 1, "", "keep only quality_flag == 1", NULL},
    {"degrade", CF_KV_BOOL, offsetof(cf_gedi_filter, require_no_degrade), 0, 1, "",
     "keep only degrade_flag == 0 (no degraded pointing or ranging)", NULL},
    {"power_only", CF_KV_BOOL, offsetof(cf_gedi_filter, power_beams_only), 0, 1, "",
     "keep only the full-power beams (BEAM0101, 0110, 1000, 1011)", NULL},
};
static void gedi_defaults(void *base) { cf_gedi_filter_default(base); }
static const cf_kv_table gedi_settings = {gedi_rows, sizeof gedi_rows / sizeof *gedi_rows, sizeof(cf_gedi_filter),
                                          gedi_defaults, "GEDI L2A filter"};

static const cf_option_spec gedi_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATH, .required = 1, .read_by_hdf5 = 1, .help = "GEDI L2A HDF5 file (GEDI02_A_*.h5, or a subset of it)"},
    {.name = "sensitivity_min", .type = CF_OPT_DOUBLE, .settings = &gedi_settings},
    {.name = "quality", .type = CF_OPT_BOOL, .settings = &gedi_settings},
    {.name = "degrade", .type = CF_OPT_BOOL, .settings = &gedi_settings},
    {.name = "power_only", .type = CF_OPT_BOOL, .settings = &gedi_settings},
    {NULL}};

static int run_gedi(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_gedi_filter f;
  cf_gedi_filter_default(&f);
  int rc = cf_stage_apply_settings(ctx, st, &gedi_settings, &f);
  if (rc) return rc;
  char *path = cf_stage_path(st, run, "path");
  cf_gedi_l2a *g = calloc(1, sizeof *g);
  if (!path || !g) {
    free(path), free(g);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  rc = cf_gedi_l2a_read(ctx, path, &f, g);
  if (!rc) rc = cf_run_note_input(ctx, run, path);
  if (!rc) {
    char line[512];
    cf_log(ctx, CF_LOG_INFO, "%s: %s", path, cf_gedi_l2a_summary(g, line, sizeof line));
    cf_run_set_product(run, st->index, CF_PRODUCT_FOOTPRINTS, g, destroy_gedi);
  } else {
    cf_gedi_l2a_free(g);
    free(g);
  }
  free(path);
  return rc;
}

/* --- feature rasters by stage name -------------------------------------------- */

/* The rasters and bands named by the list option `features` (and
 * `feature_bands`, band names or numbers, default band 1 each). */
static int features_of(cf_ctx *ctx, cf_run *run, cf_stage *st, cf_raster **r, int *band, int *n) {
  *n = cf_stage_list_len(st, "features");
  int nb = cf_stage_has(st, "feature_bands") ? cf_stage_list_len(st, "feature_bands") : 0;
  if (nb && nb != *n)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "feature_bands"),
                         "feature_bands names %d band(s) for %d feature(s)", nb, *n);
  for (int j = 0; j < *n; j++) {
    const char *name = cf_stage_list_str(st, "features", j);
    int k = -1;
    for (int i = 0; i < st->index; i++)
      if (!strcmp(run->p->stages[i].name, name)) k = i;
    r[j] = k >= 0 ? cf_run_product(run, k, CF_PRODUCT_RASTER) : NULL;
    if (!r[j])
      return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "features"),
                           "feature '%s' is not an earlier stage that gives a raster", name);
    const char *b = nb ? cf_stage_list_str(st, "feature_bands", j) : "1";
    band[j] = cf_raster_find_band(r[j], b);
    if (band[j] < 0)
      return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, nb ? "feature_bands" : "features"),
                           "feature '%s' has no band '%s'", name, b);
  }
  return CF_OK;
}

/* --- sink.biomass_model ---------------------------------------------------------- */

static const char *const model_kinds[] = {"loglog", "linear", NULL};

static const cf_option_spec model_opts[] = {
    {.name = "plots", .type = CF_OPT_INPUT_PATH,
     .help = "training plots CSV (spec/forest-io.md) with lon, lat and agb_t_dm_per_ha"},
    {.name = "footprints", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_FOOTPRINTS,
     .help = "ingest.gedi_l2a stage whose footprints are the training points (needs gedi_agb_a, gedi_agb_b)"},
    {.name = "coefficients", .type = CF_OPT_DOUBLE_LIST, .list_min = 2, .list_max = CF_BIOMASS_MAX_COEF,
     .help = "a given model instead of a fit: b0, b1 .. bp on the fitted scale (loglog: ln a, b for AGB = a x^b)"},
    {.name = "residual_sd", .type = CF_OPT_DOUBLE, .def = "0", .has_min = 1, .min = 0, .has_max = 1, .max = 1e6,
     .help = "with coefficients: the model's residual SD (log scale for loglog)"},
    {.name = "features", .type = CF_OPT_STRING_LIST, .list_min = 1, .list_max = CF_BIOMASS_MAX_FEATURES,
     .help = "raster stages sampled at the training points, in model order"},
    {.name = "feature_bands", .type = CF_OPT_STRING_LIST, .list_max = CF_BIOMASS_MAX_FEATURES,
     .help = "band of each feature (name or 1-based number); default 1"},
    {.name = "kind", .type = CF_OPT_ENUM, .def = "loglog", .choices = model_kinds,
     .help = "loglog: ln AGB = b0 + sum b ln x (Baskerville-corrected mean); linear: AGB = b0 + sum b x"},
    {.name = "kfold", .type = CF_OPT_INT, .def = "5", .has_min = 2, .min = 2, .has_max = 1, .max = 100000,
     .help = "folds of the cross-validation (at most the points: n = leave-one-out)"},
    {.name = "seed", .type = CF_OPT_INT, .def = "1", .has_min = 1, .min = 0, .has_max = 1, .max = 2147483647,
     .help = "seed of the fold assignment"},
    {.name = "gedi_rh", .type = CF_OPT_INT, .def = "98", .has_min = 1, .min = 0, .has_max = 1, .max = 100,
     .help = "footprints: the rh percentile of the response's power law"},
    {.name = "gedi_agb_a", .type = CF_OPT_DOUBLE, .has_min = 1, .min = 1e-12,
     .help = "footprints: AGB (t/ha) = gedi_agb_a x rh^gedi_agb_b, the user's footprint model"},
    {.name = "gedi_agb_b", .type = CF_OPT_DOUBLE, .has_min = 1, .min = -10, .has_max = 1, .max = 10,
     .help = "footprints: exponent of the footprint model"},
    {NULL}};

static int check_model(cf_ctx *ctx, cf_stage *st) {
  int given = cf_stage_has(st, "plots") + cf_stage_has(st, "footprints") + cf_stage_has(st, "coefficients");
  if (given != 1)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, st->node,
                         "give exactly one of 'plots', 'footprints' (training points) or 'coefficients' (a given model)");
  if (!cf_stage_has(st, "coefficients") && !cf_stage_has(st, "features"))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "a fitted model needs 'features' (raster stages)");
  if (cf_stage_has(st, "footprints") && !(cf_stage_has(st, "gedi_agb_a") && cf_stage_has(st, "gedi_agb_b")))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "footprints"),
                         "footprints carry no AGB: give gedi_agb_a and gedi_agb_b (AGB = a x rh^b, your footprint model)");
  return CF_OK;
}

/* Training points (lon, lat, response) from the plots CSV or the footprints. */
static int training_points(cf_ctx *ctx, cf_run *run, cf_stage *st, int *n, double **lon, double **lat, double **y) {
  *lon = *lat = *y = NULL;
  *n = 0;
  cf_plots plots = {0};
  const cf_gedi_l2a *g = NULL;
  int rc = CF_OK;
  size_t m;
  if (cf_stage_has(st, "plots")) {
    char *path = cf_stage_path(st, run, "plots");
    cf_inv_options o;
    cf_inv_options_init(&o);
    rc = path ? cf_plots_read(ctx, path, &o, &plots) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    if (!rc) rc = cf_run_note_input(ctx, run, path);
    free(path);
    if (rc) {
      cf_plots_free(&plots);
      return rc;
    }
    m = plots.n;
  } else {
    g = cf_run_product(run, cf_stage_ref(st, run, "footprints"), CF_PRODUCT_FOOTPRINTS);
    m = g->n_kept;
  }
  *lon = malloc(sizeof(double) * (m ? m : 1));
  *lat = malloc(sizeof(double) * (m ? m : 1));
  *y = malloc(sizeof(double) * (m ? m : 1));
  if (!*lon || !*lat || !*y) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  for (size_t i = 0; !rc && i < m; i++) {
    if (g) {
      (*lon)[i] = g->shots[i].lon, (*lat)[i] = g->shots[i].lat;
      double rh = cf_gedi_rh(&g->shots[i], (int)cf_stage_int(st, "gedi_rh"));
      (*y)[i] = rh > 0 ? cf_stage_double(st, "gedi_agb_a") * pow(rh, cf_stage_double(st, "gedi_agb_b")) : 0.0;
    } else {
      (*lon)[i] = plots.p[i].lon, (*lat)[i] = plots.p[i].lat, (*y)[i] = plots.p[i].agb_t_dm_per_ha;
    }
  }
  *n = (int)m;
  cf_plots_free(&plots);
  return rc;
}

static int run_model(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  forest_model *fm = calloc(1, sizeof *fm);
  if (!fm) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_biomass_kind kind = strcmp(cf_stage_str(st, "kind"), "linear") ? CF_BIOMASS_LOGLOG : CF_BIOMASS_LINEAR;
  int rc = CF_OK;
  if (cf_stage_has(st, "coefficients")) {
    /* a given model: leverage 0 (R's diagonal infinite: R^-T x0 = 0) */
    cf_biomass_model *m = &fm->m;
    m->kind = kind;
    m->p = cf_stage_list_len(st, "coefficients") - 1;
    m->n = 0;
    m->df = 1 << 30;
    m->s = cf_stage_double(st, "residual_sd");
    m->r2 = NAN;
    for (int j = 0; j <= m->p; j++) {
      m->coef[j] = cf_stage_list_double(st, "coefficients", j);
      m->coef_se[j] = NAN;
      m->R[j + (size_t)j * CF_BIOMASS_MAX_COEF] = INFINITY;
    }
    snprintf(fm->summary, sizeof fm->summary, "{\"kind\":\"%s\",\"given\":true,\"p\":%d,\"residual_sd\":%.17g}",
             model_kinds[kind], m->p, m->s);
    cf_log(ctx, CF_LOG_INFO, "%s: given %s model with %d feature(s), residual SD %g", st->name, model_kinds[kind],
           m->p, m->s);
    cf_run_set_product(run, st->index, CF_PRODUCT_MODEL, fm, free);
    return CF_OK;
  }
  cf_raster *feat[CF_BIOMASS_MAX_FEATURES];
  int band[CF_BIOMASS_MAX_FEATURES], p = 0, n = 0;
  double *lon = NULL, *lat = NULL, *y = NULL, *x = NULL, *xs = NULL, *ys = NULL, *vals = NULL, *gx = NULL, *gy = NULL;
  uint8_t *ok = NULL;
  if ((rc = features_of(ctx, run, st, feat, band, &p)) || (rc = training_points(ctx, run, st, &n, &lon, &lat, &y)))
    goto done;
  x = malloc(sizeof(double) * (size_t)(n ? n : 1) * p);
  gx = malloc(sizeof(double) * (size_t)(n ? n : 1));
  gy = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!x || !gx || !gy) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  int *use = calloc((size_t)(n ? n : 1), sizeof *use);
  if (!use) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) use[i] = isfinite(y[i]) && (kind == CF_BIOMASS_LINEAR || y[i] > 0);
  for (int j = 0; !rc && j < p; j++) {
    int nb = feat[j]->nbands;
    free(vals), free(ok);
    vals = malloc(sizeof(double) * (size_t)(n ? n : 1) * nb);
    ok = malloc((size_t)(n ? n : 1) * nb);
    if (!vals || !ok) {
      rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
      break;
    }
    if ((rc = cf_lonlat_to_crs(ctx, feat[j]->grid.wkt, n, lon, lat, gx, gy)) ||
        (rc = cf_raster_sample_xy(ctx, feat[j], n, gx, gy, vals, ok)))
      break;
    for (int i = 0; i < n; i++) {
      double v = vals[(size_t)i * nb + band[j]];
      x[(size_t)i * p + j] = v;
      if (!ok[(size_t)i * nb + band[j]] || !isfinite(v) || (kind == CF_BIOMASS_LOGLOG && !(v > 0))) use[i] = 0;
    }
  }
  int nu = 0;
  for (int i = 0; !rc && i < n; i++)
    if (use[i]) {
      for (int j = 0; j < p; j++) x[(size_t)nu * p + j] = x[(size_t)i * p + j];
      y[nu++] = y[i];
    }
  free(use);
  if (rc) goto done;
  cf_log(ctx, CF_LOG_INFO, "%s: %d training point(s), %d usable, %d left out (outside a feature raster, invalid "
         "pixel or response, or <= 0 for loglog)", st->name, n, nu, n - nu);
  if (nu < p + 2) {
    rc = cf_error(ctx, CF_EDATA, st->name, cf_stage_has(st, "plots") ? "plots" : "footprints",
                  "%d usable training point(s) for %d feature(s): a fit needs at least %d (one residual degree of "
                  "freedom), and cross-validation more", nu, p, p + 2);
    goto done;
  }
  if ((rc = cf_biomass_fit(ctx, kind, nu, p, x, y, &fm->m))) goto done;
  for (int j = 0; j < p; j++) snprintf(fm->features[j], sizeof fm->features[j], "%s", cf_stage_list_str(st, "features", j));
  fm->fitted = 1;
  cf_biomass_cv cv;
  int k = (int)cf_stage_int(st, "kfold");
  if (k > nu) k = nu;
  if ((rc = cf_biomass_cv_run(ctx, kind, nu, p, x, y, k, (uint64_t)cf_stage_int(st, "seed"), &cv, NULL))) goto done;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "{\"kind\":\"%s\",\"n\":%d,\"p\":%d,\"coef\":[", model_kinds[kind], nu, p);
  for (int j = 0; j <= p; j++) cf_strbuf_printf(&sb, "%s%.10g", j ? "," : "", fm->m.coef[j]);
  cf_strbuf_printf(&sb, "],\"s\":%.6g,\"r2\":%.6g,\"cv\":{\"k\":%d,\"rmse\":%.6g,\"r2\":%.6g,\"bias\":%.6g}}",
                   fm->m.s, fm->m.r2, cv.k, cv.rmse, cv.r2, cv.bias);
  snprintf(fm->summary, sizeof fm->summary, "%s", cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
  cf_log(ctx, CF_LOG_INFO, "%s: fit %s", st->name, fm->summary);
  cf_run_set_product(run, st->index, CF_PRODUCT_MODEL, fm, free);
  fm = NULL;
done:
  free(fm);
  free(lon), free(lat), free(y), free(x), free(xs), free(ys), free(vals), free(ok), free(gx), free(gy);
  return rc;
}

/* --- sink.pool_map --------------------------------------------------------------- */

/* The pool settings are rows of the one table of `forest stocks`
 * (sink/stocks.h): a map and a plot report take the same names and values. */
#define POOL_SETTING(name_, type_) {.name = #name_, .type = type_, .settings = &cf_stocks_settings}
static const cf_option_spec pool_map_opts[] = {
    {.name = "model", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_MODEL, .required = 1,
     .help = "sink.biomass_model stage"},
    {.name = "features", .type = CF_OPT_STRING_LIST, .required = 1, .list_min = 1, .list_max = CF_BIOMASS_MAX_FEATURES,
     .help = "raster stages of the model's features, in the order of the fit, on one grid"},
    {.name = "feature_bands", .type = CF_OPT_STRING_LIST, .list_max = CF_BIOMASS_MAX_FEATURES,
     .help = "band of each feature (name or 1-based number); default 1"},
    POOL_SETTING(pools, CF_OPT_STRING_LIST),
    POOL_SETTING(carbon_fraction, CF_OPT_DOUBLE),
    POOL_SETTING(root_shoot, CF_OPT_STRING),
    POOL_SETTING(deadwood_fraction, CF_OPT_STRING),
    POOL_SETTING(litter_fraction, CF_OPT_STRING),
    POOL_SETTING(biome, CF_OPT_ENUM),
    POOL_SETTING(elevation_m, CF_OPT_DOUBLE),
    POOL_SETTING(precipitation_mm, CF_OPT_DOUBLE),
    POOL_SETTING(soc_ref, CF_OPT_DOUBLE),
    POOL_SETTING(f_lu, CF_OPT_DOUBLE),
    POOL_SETTING(f_mg, CF_OPT_DOUBLE),
    POOL_SETTING(f_in, CF_OPT_DOUBLE),
    POOL_SETTING(years_since_planting, CF_OPT_DOUBLE),
    {NULL}};

/* Validation: the parameters resolve (AR-TOOL12 has a class, SOC has its
 * inputs), so a pipeline passing --check does not fail here on its options. */
static int check_pool_map(cf_ctx *ctx, cf_stage *st) {
  cf_stocks_opts s;
  cf_stocks_opts_default(&s);
  cf_pool_map_params pp;
  cf_ctx *tmp = cf_ctx_create();
  if (!tmp) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  int rc = cf_stage_apply_settings(tmp, st, &cf_stocks_settings, &s);
  if (!rc) rc = cf_stocks_map_params(tmp, &s, &pp, NULL);
  if (rc) rc = cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "stage '%s': %s", st->name, cf_error_message(tmp));
  cf_ctx_destroy(tmp);
  return rc;
}

static int run_pool_map(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  const forest_model *fm = cf_run_product(run, cf_stage_ref(st, run, "model"), CF_PRODUCT_MODEL);
  cf_raster *feat[CF_BIOMASS_MAX_FEATURES];
  int band[CF_BIOMASS_MAX_FEATURES], p;
  int rc = features_of(ctx, run, st, feat, band, &p);
  if (rc) return rc;
  if (p != fm->m.p)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "features"),
                         "the model '%s' has %d feature(s) but %d are given here; list the rasters of the fit, in "
                         "its order", cf_stage_str(st, "model"), fm->m.p, p);
  /* other stages than the fit's are allowed (a map of another epoch with
   * the same kind of rasters), but said: a swapped order is a wrong map */
  for (int j = 0; j < p; j++)
    if (fm->features[j][0] && strcmp(fm->features[j], cf_stage_list_str(st, "features", j)))
      cf_log(ctx, CF_LOG_WARN, "%s: feature %d is '%s' but the model was fitted on '%s'; check the order", st->name,
             j + 1, cf_stage_list_str(st, "features", j), fm->features[j]);
  cf_stocks_opts s;
  cf_stocks_opts_default(&s);
  cf_pool_map_params pp;
  cf_soc_result soc;
  if ((rc = cf_stage_apply_settings(ctx, st, &cf_stocks_settings, &s)) || (rc = cf_stocks_map_params(ctx, &s, &pp, &soc)))
    return rc;
  if (pp.pools & CF_POOL_BIT(CF_POOL_SOC))
    cf_log(ctx, CF_LOG_INFO, "%s: SOC %g t C/ha per pixel (AR-TOOL16: initial %g + %g t C/ha/yr x %g yr)", st->name,
           pp.soc_t_c_per_ha, soc.soc_initial, soc.rate, soc.years_counted);
  for (int j = 1; j < p; j++)
    if (feat[j]->grid.width != feat[0]->grid.width || feat[j]->grid.height != feat[0]->grid.height ||
        memcmp(feat[j]->grid.gt, feat[0]->grid.gt, sizeof feat[0]->grid.gt))
      return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "features"),
                           "features '%s' and '%s' are on different grids; warp them onto one (raster.warp)",
                           cf_stage_list_str(st, "features", 0), cf_stage_list_str(st, "features", j));
  cf_raster *agb = cf_biomass_map_create(ctx, &fm->m, feat, band);
  if (!agb) return cf_error_code(ctx);
  cf_raster *pools = cf_pool_map_create(ctx, agb, 0, 1, &pp);
  if (!pools) {
    cf_raster_destroy(agb);
    return cf_error_code(ctx);
  }
  cf_pool_map_own_input(pools);
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  for (int b = 0; b < pools->nbands; b++) cf_strbuf_printf(&sb, "%s%s", b ? ", " : "", pools->band_names[b]);
  cf_log(ctx, CF_LOG_INFO, "%s: bands %s (t C/ha)", st->name, cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
  cf_run_set_product(run, st->index, CF_PRODUCT_RASTER, pools, destroy_raster);
  return CF_OK;
}

/* --- sink.pool_zonal ------------------------------------------------------------- */

static const cf_option_spec pool_zonal_opts[] = {
    {.name = "zones", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_VECTOR, .required = 1,
     .help = "ingest.vector stage with one polygon per stratum"},
    {.name = "plots", .type = CF_OPT_INPUT_PATH,
     .help = "plots CSV (lon, lat, agb_t_dm_per_ha) for the difference estimator; the input must be a sink.pool_map"},
    {.name = "model", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_MODEL,
     .help = "sink.biomass_model stage whose fit figures go into the CSV's provenance lines"},
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1, .help = "CSV file to write (may use {stem})"},
    {NULL}};

static int plots_for_zonal(cf_ctx *ctx, cf_run *run, cf_stage *st, cf_raster *in, int *n, double **x, double **y,
                           double **tot) {
  const cf_pool_map_params *pp = cf_pool_map_params_of(in);
  if (!pp)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "plots"),
                         "the difference estimator needs the pool chain of the map: the input must be a sink.pool_map stage");
  char *path = cf_stage_path(st, run, "plots");
  cf_inv_options o;
  cf_inv_options_init(&o);
  cf_plots pl = {0};
  int rc = path ? cf_plots_read(ctx, path, &o, &pl) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_run_note_input(ctx, run, path);
  free(path);
  size_t m = rc ? 0 : pl.n;
  double *lon = malloc(sizeof(double) * (m ? m : 1)), *lat = malloc(sizeof(double) * (m ? m : 1));
  *x = malloc(sizeof(double) * (m ? m : 1)), *y = malloc(sizeof(double) * (m ? m : 1));
  *tot = malloc(sizeof(double) * (m ? m : 1));
  if (!rc && (!lon || !lat || !*x || !*y || !*tot)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  for (size_t i = 0; !rc && i < m; i++) {
    cf_pool_pixel_result r;
    lon[i] = pl.p[i].lon, lat[i] = pl.p[i].lat;
    (*tot)[i] = cf_pool_pixel(pp, pl.p[i].agb_t_dm_per_ha, &r) == 0 ? r.total : NAN;
  }
  if (!rc) rc = cf_lonlat_to_crs(ctx, in->grid.wkt, (int)m, lon, lat, *x, *y);
  *n = (int)m;
  free(lon), free(lat);
  cf_plots_free(&pl);
  return rc;
}

static int run_pool_zonal(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *in = cf_run_input(run, st);
  cf_vector *v = cf_run_product(run, cf_stage_ref(st, run, "zones"), CF_PRODUCT_VECTOR);
  int np = 0, rc = CF_OK;
  double *px = NULL, *py = NULL, *pt = NULL;
  cf_pool_zone *z = NULL;
  char *path = NULL;
  const char **prov = NULL;
  cf_strbuf hdr;
  cf_strbuf_init(&hdr);
  if (cf_stage_has(st, "plots") && (rc = plots_for_zonal(ctx, run, st, in, &np, &px, &py, &pt))) goto done;
  if ((rc = cf_pool_zonal(ctx, in, v, np, px, py, pt, &z))) goto done;
  path = cf_stage_path(st, run, "path");
  const char *const *base = path ? cf_run_provenance(ctx, run) : NULL;
  if (!path || !base) {
    rc = path ? cf_error_code(ctx) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  int nprov = 0;
  while (base[nprov]) nprov++;
  prov = calloc((size_t)nprov + 2, sizeof *prov);
  char model_line[1100] = "";
  if (!prov) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    goto done;
  }
  for (int i = 0; i < nprov; i++) prov[i] = base[i];
  int mref = cf_stage_ref(st, run, "model");
  if (mref >= 0) {
    const forest_model *fm = cf_run_product(run, mref, CF_PRODUCT_MODEL);
    snprintf(model_line, sizeof model_line, "CARBONFLUX_BIOMASS_MODEL=%s", fm->summary);
    prov[nprov] = model_line;
  }
  cf_strbuf_puts(&hdr, "zone,pixels,valid_pixels,area_ha");
  for (int b = 0; b < in->nbands; b++) cf_strbuf_printf(&hdr, ",mean_%s_t_c_per_ha", in->band_names[b]);
  cf_strbuf_puts(&hdr, ",stock_t_co2e,n_plots,diff_mean_t_c_per_ha,diff_se_t_c_per_ha,diff_stock_t_co2e,diff_stock_se_t_co2e");
  cf_csv_out c;
  if ((rc = cf_csv_out_open(ctx, &c, path, prov, cf_strbuf_str(&hdr)))) goto done;
  for (int i = 0; i < v->n; i++) {
    const cf_pool_zone *q = &z[i];
    fprintf(c.f, "\"%s\",%lld,%lld,%.15g", q->label, q->pixels, q->valid, q->area_ha);
    for (int b = 0; b < in->nbands; b++)
      if (isfinite(q->band_mean[b])) fprintf(c.f, ",%.15g", q->band_mean[b]); else fputs(",", c.f);
    if (isfinite(q->stock_t_co2e)) fprintf(c.f, ",%.15g", q->stock_t_co2e); else fputs(",", c.f);
    fprintf(c.f, ",%d", q->diff.n);
    if (isfinite(q->diff.mean))
      fprintf(c.f, ",%.15g,%.15g,%.15g,%.15g\n", q->diff.mean, q->diff.se, CF_CO2_PER_C * q->diff.mean * q->area_ha,
              CF_CO2_PER_C * q->diff.se * q->area_ha);
    else
      fputs(",,,,\n", c.f); /* fewer than 2 plots: no estimate, never a made-up number */
    cf_log(ctx, CF_LOG_INFO, "%s: zone %s: %.4g ha, %lld/%lld valid pixels, %.6g t CO2e (map)%s", st->name, q->label,
           q->area_ha, q->valid, q->pixels, q->stock_t_co2e, q->diff.n >= 2 ? "" : "; under 2 plots: no difference estimate");
  }
  if ((rc = cf_csv_out_close(ctx, &c, 1))) goto done;
  rc = cf_run_wrote(ctx, run, path);
done:
  cf_strbuf_free(&hdr);
  cf_pool_zones_free(z, v->n);
  free(prov), free(path), free(px), free(py), free(pt);
  return rc;
}

/* --- the table ------------------------------------------------------------------ */

const cf_stage_def cf_stage_ingest_gedi_l2a = {
    "ingest.gedi_l2a", "read GEDI L2A footprints (lon/lat, rh) and keep those the filter accepts; logs the counts",
    CF_PRODUCT_FOOTPRINTS, CF_PRODUCT_NONE, gedi_opts, NULL, run_gedi};
const cf_stage_def cf_stage_sink_biomass_model = {
    "sink.biomass_model", "fit an AGB model (loglog or linear) on plots or GEDI footprints against raster features, "
                          "with k-fold cross-validation; or take a given one",
    CF_PRODUCT_MODEL, CF_PRODUCT_NONE, model_opts, check_model, run_model};
const cf_stage_def cf_stage_sink_pool_map = {
    "sink.pool_map", "per-pixel carbon pools (t C/ha) from a biomass model: a band per estimated pool, total, total_se",
    CF_PRODUCT_RASTER, CF_PRODUCT_NONE, pool_map_opts, check_pool_map, run_pool_map};
const cf_stage_def cf_stage_sink_pool_zonal = {
    "sink.pool_zonal", "pools per stratum polygon (area, mean t C/ha per band, t CO2e) and the model-assisted "
                       "difference estimate with plots, to CSV",
    CF_PRODUCT_NONE, CF_PRODUCT_RASTER, pool_zonal_opts, NULL, run_pool_zonal};
