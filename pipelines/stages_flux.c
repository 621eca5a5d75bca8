/*
 * Flux stages: the pipeline form of `carbonflux flux estimate`
 * (lidar/flux/estimate.h, ../shared/spec/flux-io.md).
 *
 *   ingest.l2               L2 files of one site and the sources layer
 *   lidar.flux_massbalance  the mass balance of the point sources it can isolate
 *   lidar.inversion         the Bayesian inversion on the flux grid
 *   write.flux              OUTDIR/flux_summary.json, flux_l3.nc, flux_map.tif, flux_map.png
 *
 * The estimate's options are the rows of its one settings table
 * (cf_flux_settings), so a pipeline and the command accept the same names,
 * ranges and defaults, and --check validates them with the same rows. The
 * stages pass one job along (cf_run_take_input): each applies its own
 * options onto the job's settings, so an option given to the mass balance
 * (blh_m, say) holds for the inversion after it unless that stage gives it
 * again. With both stages the summary's method is "both", as the
 * command's default, in either order. One difference from the command:
 * with stability=auto the command's mass balance uses the class the
 * inversion fitted, while this stage, running alone, uses the class of
 * the wind's variability (EPA sigma_A); give `stability` to both stages to
 * make the two routes agree.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "lidar/flux/estimate.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/stage_defs.h"

typedef struct {
  cf_l2_set set;
  cf_flux_sources src;
  cf_flux_opts opts;
  cf_flux_result mb;  /* the mass balance's run (n_sources 0: none) */
  cf_flux_result inv; /* the inversion's run, the mass balance merged in */
} flux_job;

static void destroy_job(void *p) {
  flux_job *j = p;
  if (!j) return;
  cf_flux_result_free(&j->mb); /* results borrow the sources' names: free them first */
  cf_flux_result_free(&j->inv);
  cf_flux_sources_free(&j->src);
  cf_l2_set_free(&j->set);
  free(j);
}

#define FLUX_SETTING(name_, type_) {.name = #name_, .type = CF_SETTING_OPT_##type_, .settings = &cf_flux_settings}
#define FLUX_MET_SETTINGS                                                                                           \
  FLUX_SETTING(blh_m, NUM_OR_ENUM), FLUX_SETTING(stability, ENUM), FLUX_SETTING(sigma_theta_deg, NUM_OR_ENUM),      \
      FLUX_SETTING(sigma_z_scale, NUM_OR_ENUM),                                                                     \
      FLUX_SETTING(instrument_height_m, DOUBLE), FLUX_SETTING(p_hpa, DOUBLE), FLUX_SETTING(t_k, DOUBLE),           \
      FLUX_SETTING(max_range_m, DOUBLE), FLUX_SETTING(min_height_m, DOUBLE)

/* --- ingest.l2 ---------------------------------------------------------------------- */

static const cf_option_spec l2_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_FILESET, .required = 1,
     .help = "the L2 files (contract 1.1, one site): a file, a glob or a list"},
    {.name = "sources", .type = CF_OPT_INPUT_PATH, .required = 1,
     .help = "the candidate sources: any OGR vector layer (flux-io spec fields)"},
    {.name = "layer", .type = CF_OPT_STRING, .help = "the sources layer's name (default: the first)"},
    {NULL}};

static int run_ingest_l2(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  char **paths = NULL;
  int n = 0;
  flux_job *j = calloc(1, sizeof *j);
  if (!j) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  cf_flux_defaults(&j->opts);
  char *sources = cf_stage_path(st, run, "sources");
  int rc = sources ? cf_stage_paths(ctx, st, "path", &paths, &n) : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  if (!rc) rc = cf_l2_read_set(ctx, (const char *const *)paths, n, 0, 0, &j->set);
  if (!rc) rc = cf_flux_sources_read(ctx, sources, cf_stage_has(st, "layer") ? cf_stage_str(st, "layer") : NULL, &j->src);
  for (int i = 0; !rc && i < n; i++) rc = cf_run_note_input(ctx, run, paths[i]);
  /* the layer's files (a Shapefile's .shp, .shx, .dbf, .prj), as its reader hashed them */
  for (int i = 0; !rc && i < j->src.n_files; i++) rc = cf_run_note_input(ctx, run, j->src.files[i].path);
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "read %d L2 file(s) and %d sources", n, j->src.n);
    cf_run_set_product(run, st->index, CF_PRODUCT_FLUX, j, destroy_job);
  } else {
    destroy_job(j);
  }
  if (paths) cf_stage_paths_free(paths, n);
  free(sources);
  return rc;
}

/* --- lidar.flux_massbalance ---------------------------------------------------------- */

static const cf_option_spec mb_opts[] = {FLUX_MET_SETTINGS, FLUX_SETTING(mb_x_min_m, DOUBLE),
                                         FLUX_SETTING(mb_x_max_m, DOUBLE), FLUX_SETTING(mb_window_m, DOUBLE),
                                         FLUX_SETTING(mb_top, ENUM),
                                         FLUX_SETTING(domain_m, DOUBLE), FLUX_SETTING(grid_m, DOUBLE), {NULL}};

static int run_massbalance(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  flux_job *j = cf_run_take_input(run, st);
  if (!j) return cf_error(ctx, CF_EINVAL, st->source, "input", "stage '%s' needs an ingest.l2 stage as input", st->name);
  int rc = cf_stage_apply_settings(ctx, st, &cf_flux_settings, &j->opts);
  cf_flux_opts o = j->opts;
  o.method = CF_FLUX_MASS_BALANCE;
  cf_flux_result_free(&j->mb);
  if (!rc) rc = cf_flux_estimate(ctx, &j->set, &j->src, &o, &j->mb);
  /* after an inversion: its result takes the mass balance in (write.flux writes the inversion's) */
  if (!rc && j->inv.n_sources) rc = cf_flux_merge_mass_balance(ctx, &j->inv, &j->mb);
  if (rc) {
    destroy_job(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_FLUX, j, destroy_job);
  return CF_OK;
}

/* --- lidar.inversion ----------------------------------------------------------------- */

static const cf_option_spec inv_opts[] = {
    FLUX_MET_SETTINGS,
    FLUX_SETTING(domain_m, DOUBLE),
    FLUX_SETTING(grid_m, DOUBLE),
    FLUX_SETTING(cell_sigma_umol, DOUBLE),
    FLUX_SETTING(prior_corr_m, DOUBLE),
    FLUX_SETTING(offset_sigma_ppm, DOUBLE),
    FLUX_SETTING(gradient_sigma_ppm_km, DOUBLE),
    FLUX_SETTING(drift_sigma_ppm_h, DOUBLE),
    FLUX_SETTING(model_error, NUM_OR_ENUM),
    FLUX_SETTING(model_floor_ppm, NUM_OR_ENUM),
    FLUX_SETTING(jackknife_blocks, INT),
    FLUX_SETTING(spike_sigma, DOUBLE),
    {NULL}};

static int is_flux_step(const cf_stage_def *d);

/* Validation: the settings across rows (grid and domain) as the command
 * checks them, with what the earlier flux stages of this chain set (the
 * run applies them in that order onto one job), so that a domain_m given
 * to the mass balance and a grid_m given to the inversion are checked
 * together. */
static int check_flux_settings(cf_ctx *ctx, cf_stage *st) {
  const cf_stage *first = st - st->index;
  int chain[64], nc = 0;
  for (int i = st->index; i >= 0 && nc < 64 && is_flux_step(first[i].def); i = first[i].input) chain[nc++] = i;
  cf_flux_opts o;
  cf_flux_defaults(&o);
  int rc = CF_OK;
  for (int k = nc - 1; k >= 0 && !rc; k--) rc = cf_stage_apply_settings(ctx, &first[chain[k]], &cf_flux_settings, &o);
  if (!rc) rc = cf_flux_opts_check(ctx, &o);
  return rc ? cf_error(ctx, CF_EINVAL, st->source, st->name, "stage '%s': invalid flux settings", st->name) : CF_OK;
}

static int run_inversion(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  flux_job *j = cf_run_take_input(run, st);
  if (!j) return cf_error(ctx, CF_EINVAL, st->source, "input", "stage '%s' needs an ingest.l2 stage as input", st->name);
  int rc = cf_stage_apply_settings(ctx, st, &cf_flux_settings, &j->opts);
  cf_flux_opts o = j->opts;
  o.method = CF_FLUX_INVERSION;
  cf_flux_result_free(&j->inv);
  if (!rc) rc = cf_flux_estimate(ctx, &j->set, &j->src, &o, &j->inv);
  if (!rc && j->mb.n_sources) rc = cf_flux_merge_mass_balance(ctx, &j->inv, &j->mb);
  if (rc) {
    destroy_job(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_FLUX, j, destroy_job);
  return CF_OK;
}

/* --- write.flux ---------------------------------------------------------------------- */

static const cf_option_spec write_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1,
     .help = "OUTDIR: flux_summary.json, flux_l3.nc, flux_map.tif and flux_map.png go in it (all or none)"},
    {NULL}};

static int run_write_flux(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  flux_job *j = cf_run_input(run, st);
  cf_flux_result *r = j ? (j->inv.n_sources ? &j->inv : &j->mb) : NULL;
  if (!r || !r->n_sources)
    return cf_error(ctx, CF_EINVAL, st->source, "input",
                    "stage '%s': its input has no estimate yet (put lidar.flux_massbalance or lidar.inversion before it)",
                    st->name);
  char *dir = cf_stage_path(st, run, "path");
  if (!dir) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  /* provenance as every output of a run has it: the command (as write.l2
   * records it) and the run's inputs and every stage's settings on the map */
  cf_strbuf hist;
  cf_strbuf_init(&hist);
  cf_strbuf_printf(&hist, "carbonflux run %s (stage %s)", st->source, st->name);
  free(r->history);
  r->history = cf_strbuf_take(&hist);
  r->map_metadata = cf_run_provenance(ctx, run);
  int rc = r->history && r->map_metadata ? CF_OK : cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  if (!rc) rc = cf_flux_write_outputs(ctx, r, dir);
  r->map_metadata = NULL; /* the run's, freed with it */
  const char *names[4] = {"flux_summary.json", "flux_l3.nc", "flux_map.tif", "flux_map.png"};
  for (int k = 0; k < 4 && !rc; k++) {
    char *f = cf_path_join(dir, names[k]);
    if (!f) rc = cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
    if (!rc && cf_file_exists(f)) rc = cf_run_note_output(ctx, run, f);
    free(f);
  }
  free(dir);
  return rc;
}

const cf_stage_def cf_stage_ingest_l2 = {"ingest.l2", "read L2 lidar files of one site and a sources layer (flux-io spec)",
                                         CF_PRODUCT_FLUX, CF_PRODUCT_NONE, l2_opts, NULL, run_ingest_l2};
const cf_stage_def cf_stage_lidar_flux_massbalance = {
    "lidar.flux_massbalance", "cross-sectional mass balance of the point sources the sweeps isolate",
    CF_PRODUCT_FLUX, CF_PRODUCT_FLUX, mb_opts, check_flux_settings, run_massbalance};
const cf_stage_def cf_stage_lidar_inversion = {
    "lidar.inversion", "Bayesian inversion of the sources and a flux grid, with model error and a jackknife sigma",
    CF_PRODUCT_FLUX, CF_PRODUCT_FLUX, inv_opts, check_flux_settings, run_inversion};
const cf_stage_def cf_stage_write_flux = {"write.flux", "write the flux summary, the L3 file and the flux maps",
                                          CF_PRODUCT_NONE, CF_PRODUCT_FLUX, write_opts, NULL, run_write_flux};

static int is_flux_step(const cf_stage_def *d) {
  return d == &cf_stage_lidar_flux_massbalance || d == &cf_stage_lidar_inversion;
}
