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

static int derive_job(cf_ctx *ctx, cf_run *run, cf_stage *st, lidar_job **out) {
  const lidar_job *in = cf_run_input(run, st);
  lidar_job *j = malloc(sizeof *j);
  if (!j) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  *j = *in;
  j->owns_l0 = 0;
  *out = j;
  return CF_OK;
}

/* Set a processing option from a stage option of the same meaning. */
static int set_num(cf_ctx *ctx, cf_stage *st, lidar_job *j, const char *stage_key, const char *opts_key) {
  if (!cf_stage_has(st, stage_key)) return CF_OK;
  char kv[128];
  const cf_option_spec *o = cf_stage_option(st, stage_key, NULL);
  if (o->type == CF_OPT_BOOL)
    snprintf(kv, sizeof kv, "%s=%s", opts_key, cf_stage_bool(st, stage_key) ? "yes" : "no");
  else
    snprintf(kv, sizeof kv, "%s=%.17g", opts_key, cf_stage_double(st, stage_key));
  return cf_lidar_opts_set(ctx, &j->opts, kv);
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

/* --- lidar.spectra ----------------------------------------------------------------- */

static const cf_option_spec spectra_opts[] = {
    {.name = "bins_correlated", .type = CF_OPT_BOOL,
     .help = "treat spectral bins as correlated by the window (default: yes for raw files we transform, no for the digitiser's spectra)"},
    {NULL}};

static int run_spectra(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  lidar_job *j;
  int rc = derive_job(ctx, run, st, &j);
  if (!rc) rc = set_num(ctx, st, j, "bins_correlated", "bins_correlated");
  if (rc) {
    free(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  return CF_OK;
}

/* --- lidar.doppler ----------------------------------------------------------------- */

static const cf_option_spec doppler_opts[] = {
    {.name = "cnr_min", .type = CF_OPT_DOUBLE, .def = "-27", .has_min = 1, .min = -60, .has_max = 1, .max = 20,
     .help = "dB; gates below are flagged low_cnr and masked"},
    {.name = "peak_snr_min", .type = CF_OPT_DOUBLE, .def = "5", .has_min = 1, .min = 0, .has_max = 1, .max = 1000,
     .help = "fitted peak power over its sigma needed for a detection"},
    {.name = "near_range", .type = CF_OPT_DOUBLE, .def = "200", .has_min = 1, .min = 0, .help = "m; closer gates are flagged"},
    {.name = "hard_target", .type = CF_OPT_DOUBLE, .def = "20", .help = "dB; CNR above flags a hard target or saturation"},
    {.name = "v_max", .type = CF_OPT_DOUBLE, .def = "30", .has_min = 1, .min = 1, .has_max = 1, .max = 100,
     .help = "m/s; half-width of the Doppler search band"},
    {NULL}};

static int run_doppler(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  lidar_job *j;
  int rc = derive_job(ctx, run, st, &j);
  const char *k[][2] = {{"cnr_min", "cnr_min"}, {"peak_snr_min", "peak_snr_min"}, {"near_range", "near_range"},
                        {"hard_target", "hard_target"}, {"v_max", "v_max"}};
  for (int i = 0; !rc && i < 5; i++) rc = set_num(ctx, st, j, k[i][0], k[i][1]);
  if (rc) {
    free(j);
    return rc;
  }
  cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  return CF_OK;
}

/* --- lidar.dial ---------------------------------------------------------------------- */

static const cf_option_spec dial_opts[] = {
    {.name = "window", .type = CF_OPT_DOUBLE, .def = "600", .has_min = 1, .min = 10, .help = "m; fit window along the beam"},
    {.name = "co2_prior", .type = CF_OPT_DOUBLE, .def = "420", .has_min = 1, .min = 100, .has_max = 1, .max = 2000,
     .help = "ppm; only for CO2 self-broadening in the cross-sections"},
    {NULL}};

static int run_dial(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  lidar_job *j;
  int rc = derive_job(ctx, run, st, &j);
  if (!rc) rc = set_num(ctx, st, j, "window", "dial_window");
  if (!rc) rc = set_num(ctx, st, j, "co2_prior", "co2_prior");
  if (rc) {
    free(j);
    return rc;
  }
  j->opts.do_dial = 1;
  cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  return CF_OK;
}

/* --- lidar.wind ---------------------------------------------------------------------- */

static const char *const error_modes[] = {"propagated", "birge", "scaled", NULL};

static const cf_option_spec wind_opts[] = {
    {.name = "min_beams", .type = CF_OPT_INT, .def = "4", .has_min = 1, .min = 4, .help = "radial velocities needed at a height"},
    {.name = "max_condition", .type = CF_OPT_DOUBLE, .def = "30", .has_min = 1, .min = 1,
     .help = "reject heights whose fit is worse conditioned"},
    {.name = "height_tol", .type = CF_OPT_DOUBLE, .def = "0", .has_min = 1, .min = 0,
     .help = "m; height matching tolerance (0: half a gate)"},
    {.name = "errors", .type = CF_OPT_ENUM, .def = "propagated", .choices = error_modes,
     .help = "propagated (input sigmas), birge (inflate by chi2 if > 1) or scaled (by chi2)"},
    {NULL}};

static int wind_opts_from_stage(cf_stage *st, cf_wind_opts *w) {
  cf_wind_opts_default(w);
  w->min_beams = (int)cf_stage_int(st, "min_beams");
  w->max_condition = cf_stage_double(st, "max_condition");
  w->height_tol_m = cf_stage_double(st, "height_tol");
  const char *e = cf_stage_str(st, "errors");
  for (int i = 0; error_modes[i]; i++)
    if (!strcmp(e, error_modes[i])) w->error_mode = (cf_wind_error_mode)i;
  return CF_OK;
}

static int run_wind(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  lidar_job *j;
  int rc = derive_job(ctx, run, st, &j);
  if (rc) return rc;
  wind_opts_from_stage(st, &j->opts.wind);
  j->opts.do_wind = 1;
  cf_run_set_product(run, st->index, CF_PRODUCT_LIDAR, j, destroy_job);
  return CF_OK;
}

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
  cf_l2_meta meta = {cf_stage_str(st, "title"), cf_stage_str(st, "institution"), cf_strbuf_str(&hist), params};
  cf_l2_writer *w = NULL;
  int rc = path && params ? cf_l2_writer_create(ctx, path, &meta, &w) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) {
    rc = cf_lidar_process(ctx, j->l0, &j->opts, &cf_l2_writer_sink, w);
    int frc = cf_l2_writer_finish(ctx, w, rc == CF_OK);
    if (!rc) rc = frc;
  }
  if (!rc) {
    cf_run_wrote(ctx, run, path);
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
    cf_run_wrote(ctx, run, paths[i]);
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
    {.name = "min_beams", .type = CF_OPT_INT, .def = "4", .has_min = 1, .min = 4, .help = "radial velocities needed at a height"},
    {.name = "max_condition", .type = CF_OPT_DOUBLE, .def = "30", .has_min = 1, .min = 1,
     .help = "reject heights whose fit is worse conditioned"},
    {.name = "height_tol", .type = CF_OPT_DOUBLE, .def = "0", .has_min = 1, .min = 0, .help = "m; 0: half a gate"},
    {.name = "errors", .type = CF_OPT_ENUM, .def = "propagated", .choices = error_modes,
     .help = "propagated, birge or scaled (see README)"},
    {NULL}};

static int run_wind_csv(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_windcube_scan *wc = cf_run_input(run, st);
  cf_wind_opts wo;
  wind_opts_from_stage(st, &wo);
  cf_wind_ray *rays = calloc((size_t)wc->n_rays, sizeof *rays);
  cf_wind_scan scan;
  int rc = rays ? cf_wind_rays_from_windcube(ctx, wc, rays, wc->n_rays, &scan) : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
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
  cf_csv_out csv;
  if (!rc)
    rc = path ? cf_csv_open(ctx, &csv, path, cf_run_provenance(ctx, run),
                            "height_m,eastward_wind,northward_wind,upward_air_velocity,eastward_wind_uncertainty,"
                            "northward_wind_uncertainty,upward_air_velocity_uncertainty,wind_speed,wind_from_direction,"
                            "wind_fit_rmse,wind_valid_beams,flags")
              : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) {
    for (int k = 0; k < nh; k++) {
      const cf_wind_level *L = &lv[k];
      if (L->flags & CF_WIND_REJECTED)
        fprintf(csv.f, "%.3f,,,,,,,,,,%d,%u\n", L->height_m, L->n_beams, L->flags); /* no value: empty fields */
      else
        fprintf(csv.f, "%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f,%.4f,%d,%u\n", L->height_m, L->u, L->v, L->w,
                L->u_err, L->v_err, L->w_err, L->speed, L->direction_deg, L->rmse, L->n_beams, L->flags);
    }
    rc = cf_csv_close(ctx, &csv, 1);
  }
  if (!rc) cf_run_wrote(ctx, run, path);
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
