/*
 * The lidar stages. As with rasters, the processing stages only describe
 * work: ingest.lidar_l0 opens and validates an L0 file, lidar.* stages
 * copy the job and set their part of the options, and write.l2 runs the
 * whole chain streamed into the NetCDF file (lidar/process.h). write.quicklook
 * then draws from the L2 file. The WindCube stages feed a vendor file set
 * to the same wind fit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/lidar_l0.h"
#include "ingest/windcube.h"
#include "lidar/l2_write.h"
#include "lidar/process_options.h"
#include "lidar/quicklook.h"
#include "lidar/wind.h"
#include "pipelines/csv_out.h"
#include "pipelines/stage_defs.h"

typedef struct {
  cf_l0 *l0;     /* owned by the ingest stage's job, borrowed by the others */
  int owns_l0;
  cf_lidar_opts opts;
} lidar_job;

static void destroy_job(void *p) {
  lidar_job *j = p;
  if (j && j->owns_l0) cf_l0_close(j->l0);
  free(j);
}

/* The options of the lidar.* stages are rows of the processing settings
 * (lidar/process_options.h): the stage lists name them, the table checks
 * and stores them, so a stage and `lidar process` cannot disagree. */
#define LIDAR_SETTING(name_, type_, field, lo, hi, unit, choices, help) \
  {.name = #name_, .type = CF_OPT_##type_, .settings = &cf_lidar_settings},

/* What a processing stage switches on besides its settings. */
typedef enum { STEP_ONLY_SETTINGS, STEP_DIAL, STEP_WIND } step_kind;

/* A lidar.* stage: a copy of the job before it, with the stage's settings
 * stored into the processing options. */
static int run_step(cf_ctx *ctx, cf_run *run, cf_stage *st, step_kind kind) {
  const lidar_job *in = cf_run_input(run, st);
  lidar_job *j = malloc(sizeof *j);
  if (!j) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
  *j = *in;
  j->owns_l0 = 0;
  int rc = cf_stage_apply_settings(ctx, st, &cf_lidar_settings, &j->opts);
  if (rc) {
    free(j);
    return rc;
  }
  if (kind == STEP_DIAL) j->opts.do_dial = 1;
  if (kind == STEP_WIND) j->opts.do_wind = 1;
  cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  return CF_OK;
}

/* --- ingest.lidar_l0 ------------------------------------------------------------- */

static const cf_option_spec l0_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATHS, .required = 1,
     .help = "L0 file(s) (carbonflux-lidar-l0 1.0, HDF5); a glob or list makes a batch"},
    {.name = "max_memory_mb", .type = CF_OPT_INT, .def = "4096", .has_min = 1, .min = 16, .has_max = 1, .max = 1 << 20,
     .help = "reject files whose declared sizes would need more than this in one allocation"},
    {NULL}};

static int run_ingest_l0(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  char *path = cf_stage_path(st, run, "path");
  lidar_job *j = calloc(1, sizeof *j);
  int rc = path && j ? CF_OK : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_l0_open(ctx, path, (int64_t)cf_stage_int(st, "max_memory_mb") << 20, &j->l0);
  if (!rc) rc = cf_run_note_input(ctx, run, path);
  if (!rc) {
    j->owns_l0 = 1;
    cf_lidar_opts_default(&j->opts);
    j->opts.do_dial = 0; /* lidar.dial and lidar.wind switch these on */
    j->opts.do_wind = 0;
    cf_log(ctx, CF_LOG_INFO, "read %s: level %s, %d rays of %d gates", path,
           j->l0->cfg.level == CF_L0_RAW ? "raw" : "spectra", j->l0->n_rays, j->l0->cfg.n_gates);
    cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  } else {
    if (j && j->l0) cf_l0_close(j->l0);
    free(j);
  }
  free(path);
  return rc;
}

/* --- lidar.spectra, lidar.doppler, lidar.dial, lidar.wind ---------------------------- */

static const cf_option_spec spectra_opts[] = {CF_LIDAR_SPECTRA_SETTINGS(LIDAR_SETTING){NULL}};
static const cf_option_spec doppler_opts[] = {CF_LIDAR_DOPPLER_SETTINGS(LIDAR_SETTING){NULL}};
static const cf_option_spec dial_opts[] = {CF_LIDAR_DIAL_SETTINGS(LIDAR_SETTING){NULL}};
static const cf_option_spec wind_opts[] = {CF_LIDAR_WIND_SETTINGS(LIDAR_SETTING){NULL}};

static int run_spectra(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_ONLY_SETTINGS); }
static int run_doppler(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_ONLY_SETTINGS); }
static int run_dial(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_DIAL); }
static int run_wind(cf_ctx *ctx, cf_run *run, cf_stage *st) { return run_step(ctx, run, st, STEP_WIND); }

/* --- write.l2 ---------------------------------------------------------------------- */

static const cf_option_spec l2_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1, .help = "NetCDF file to write (may use {stem})"},
    {.name = "title", .type = CF_OPT_STRING, .help = "global attribute title"},
    {.name = "institution", .type = CF_OPT_STRING, .help = "global attribute institution"},
    {NULL}};

static void destroy_path(void *p) { free(p); }

static int run_write_l2(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  lidar_job *j = cf_run_input(run, st);
  char *path = cf_stage_path(st, run, "path");
  char *params = cf_lidar_opts_json(&j->opts);
  cf_strbuf hist;
  cf_strbuf_init(&hist);
  cf_strbuf_printf(&hist, "carbonflux run %s (stage %s)", st->source, st->name);
  cf_l2_meta meta = {cf_stage_str(st, "title"), cf_stage_str(st, "institution"), cf_strbuf_str(&hist), params,
                     cf_run_input_sha256(run, j->l0->path)};
  cf_l2_writer *w = NULL;
  int rc = path && params ? cf_l2_writer_create(ctx, path, &meta, &w) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) {
    rc = cf_lidar_process(ctx, j->l0, &j->opts, &cf_l2_writer_sink, w);
    int frc = cf_l2_writer_finish(ctx, w, rc == CF_OK);
    if (!rc) rc = frc;
  }
  if (!rc) rc = cf_run_wrote(ctx, run, path);
  if (!rc) {
    cf_run_set_product(run, st->index, CF_PRODUCT_L2, path, destroy_path);
    path = NULL;
  }
  free(path);
  free(params);
  cf_strbuf_free(&hist);
  return rc;
}

/* --- write.quicklook ------------------------------------------------------------- */

static const cf_option_spec ql_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1,
     .help = "prefix of the PNGs: PREFIX_cnr.png, PREFIX_radial_velocity.png, PREFIX_co2.png (may use {stem})"},
    {NULL}};

static int run_quicklook(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  const char *l2 = cf_run_input(run, st);
  char *prefix = cf_stage_path(st, run, "path");
  char **paths = NULL;
  int n = 0;
  int rc = prefix ? cf_quicklook_write(ctx, l2, prefix, &paths, &n) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  for (int i = 0; i < n; i++) {
    int wrc = cf_run_wrote(ctx, run, paths[i]);
    if (!rc) rc = wrc;
    free(paths[i]);
  }
  free(paths);
  free(prefix);
  return rc;
}

/* --- ingest.windcube and write.wind_csv --------------------------------------------- */

static const cf_option_spec windcube_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_FILESET, .required = 1,
     .help = "the WindCube netCDF files of one scan (a glob or a list; one fixed ray per file)"},
    {.name = "cnr_min", .type = CF_OPT_DOUBLE, .def = "-27", .help = "dB; gates below are not used"},
    {NULL}};

static void destroy_windscan(void *p) {
  cf_windcube_scan_free(p);
  free(p);
}

static int run_ingest_windcube(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  char **paths;
  int n;
  int rc = cf_stage_paths(ctx, st, "path", &paths, &n);
  cf_windcube_scan *scan = calloc(1, sizeof *scan);
  if (!rc && !scan) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_windcube_opts o;
  cf_windcube_opts_default(&o);
  o.cnr_min_db = cf_stage_double(st, "cnr_min");
  if (!rc) rc = cf_windcube_read_scan(ctx, (const char *const *)paths, n, &o, scan);
  for (int i = 0; !rc && i < n; i++) rc = cf_run_note_input(ctx, run, paths[i]);
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "read %d WindCube files: %d rays", n, scan->n_rays);
    cf_run_set_product(run, st->index, CF_PRODUCT_WINDSCAN, scan, destroy_windscan);
  } else if (scan) {
    free(scan);
  }
  cf_stage_paths_free(paths, n);
  return rc;
}

static const cf_option_spec wind_csv_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1, .help = "CSV of the wind profile to write"},
    CF_LIDAR_WIND_SETTINGS(LIDAR_SETTING){NULL}};

static int run_wind_csv(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_windcube_scan *wc = cf_run_input(run, st);
  cf_lidar_opts lo; /* the wind rows are over the whole processing options */
  cf_lidar_opts_default(&lo);
  int rc = cf_stage_apply_settings(ctx, st, &cf_lidar_settings, &lo);
  const cf_wind_opts wo = lo.wind;
  cf_wind_ray *rays = rc ? NULL : calloc((size_t)wc->n_rays, sizeof *rays);
  cf_wind_scan scan;
  if (!rc) rc = rays ? cf_wind_rays_from_windcube(ctx, wc, rays, wc->n_rays, &scan) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  /* levels: the gate heights of the first slanted ray */
  int r0 = 0;
  for (int i = 0; !rc && i < scan.n_rays; i++)
    if (scan.rays[i].elevation_deg < 89.0) {
      r0 = i;
      break;
    }
  int nh = rc ? 0 : scan.rays[r0].n_gates;
  double *h = rc ? NULL : malloc((size_t)nh * sizeof *h);
  cf_wind_level *lv = rc ? NULL : malloc((size_t)nh * sizeof *lv);
  if (!rc && (!h || !lv)) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_wind_levels_from_ray(ctx, &scan.rays[r0], h, nh);
  size_t nwork = 0;
  double *work = NULL;
  if (!rc) rc = cf_wind_work_size(ctx, &scan, cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : 1, &nwork);
  if (!rc && !(work = malloc((nwork ? nwork : 1) * sizeof *work))) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_wind_fit(ctx, &wo, &scan, h, nh, work, nwork, lv);
  char *path = rc ? NULL : cf_stage_path(st, run, "path");
  if (!rc && !path) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  const char *const *prov = rc ? NULL : cf_run_provenance(ctx, run);
  if (!rc && !prov) rc = cf_error_code(ctx);
  cf_csv_out csv;
  if (!rc)
    rc = cf_csv_out_open(ctx, &csv, path, prov,
                     "height_m,eastward_wind,northward_wind,upward_air_velocity,eastward_wind_uncertainty,"
                     "northward_wind_uncertainty,upward_air_velocity_uncertainty,wind_speed,wind_from_direction,"
                     "wind_fit_rmse,wind_valid_beams,flags");
  if (!rc) {
    for (int k = 0; k < nh; k++) {
      const cf_wind_level *L = &lv[k];
      /* a value that was not determined is an empty field, never "nan" or 0:
       * the whole row for a rejected height, w and its error where it was
       * fixed (CF_WIND_W_FIXED) */
      char w[32] = "", w_err[32] = "";
      if (isfinite(L->w)) snprintf(w, sizeof w, "%.4f", L->w);
      if (isfinite(L->w_err)) snprintf(w_err, sizeof w_err, "%.4f", L->w_err);
      if (L->flags & CF_WIND_REJECTED)
        fprintf(csv.f, "%.3f,,,,,,,,,,%d,%u\n", L->height_m, L->n_beams, L->flags);
      else
        fprintf(csv.f, "%.3f,%.4f,%.4f,%s,%.4f,%.4f,%s,%.4f,%.3f,%.4f,%d,%u\n", L->height_m, L->u, L->v, w, L->u_err,
                L->v_err, w_err, L->speed, L->direction_deg, L->rmse, L->n_beams, L->flags);
    }
    rc = cf_csv_out_close(ctx, &csv, 1);
  }
  if (!rc) rc = cf_run_wrote(ctx, run, path);
  free(path);
  free(work);
  free(h);
  free(lv);
  free(rays);
  return rc;
}

/* --- the table ----------------------------------------------------------------------- */

const cf_stage_def cf_stage_ingest_lidar_l0 = {
    "ingest.lidar_l0", "read and validate a CO2-flux lidar L0 file (either level of ../shared/spec/lidar-l0.md)",
    CF_PRODUCT_LIDAR, CF_PRODUCT_NONE, l0_opts, NULL, run_ingest_l0};
const cf_stage_def cf_stage_lidar_spectra = {
    "lidar.spectra", "raw heterodyne records to accumulated gate spectra (FFTW); spectra-level files pass through",
    CF_PRODUCT_LIDAR, CF_PRODUCT_LIDAR, spectra_opts, NULL, run_spectra};
const cf_stage_def cf_stage_lidar_doppler = {
    "lidar.doppler", "noise floor, wideband CNR, radial velocity with uncertainty and QC flags",
    CF_PRODUCT_LIDAR, CF_PRODUCT_LIDAR, doppler_opts, NULL, run_doppler};
const cf_stage_def cf_stage_lidar_dial = {
    "lidar.dial", "CO2 number density and dry-air mole fraction by differential absorption",
    CF_PRODUCT_LIDAR, CF_PRODUCT_LIDAR, dial_opts, NULL, run_dial};
const cf_stage_def cf_stage_lidar_wind = {
    "lidar.wind", "wind profile per scan by least squares (VAD/DBS)",
    CF_PRODUCT_LIDAR, CF_PRODUCT_LIDAR, wind_opts, NULL, run_wind};
const cf_stage_def cf_stage_write_l2 = {
    "write.l2", "run the lidar chain and write the L2 product (NetCDF-4, CF-1.8)",
    CF_PRODUCT_L2, CF_PRODUCT_LIDAR, l2_opts, NULL, run_write_l2};
const cf_stage_def cf_stage_write_quicklook = {
    "write.quicklook", "PNG quicklooks of CNR, radial velocity and CO2 from an L2 file",
    CF_PRODUCT_NONE, CF_PRODUCT_L2, ql_opts, NULL, run_quicklook};
const cf_stage_def cf_stage_ingest_windcube = {
    "ingest.windcube", "read the Leosphere WindCube netCDF files of one scan",
    CF_PRODUCT_WINDSCAN, CF_PRODUCT_NONE, windcube_opts, NULL, run_ingest_windcube};
const cf_stage_def cf_stage_write_wind_csv = {
    "write.wind_csv", "fit the wind profile of a vendor scan and write it as CSV",
    CF_PRODUCT_NONE, CF_PRODUCT_WINDSCAN, wind_csv_opts, NULL, run_wind_csv};
