/*
 * Pipeline validation: every configuration error is found before anything
 * runs and reported at its file:line:col. The positions asserted here are
 * counted by hand from the YAML text in each test. The lidar processing
 * settings are checked to mean the same in a pipeline and in `carbonflux
 * lidar process KEY=VALUE`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "lidar/flux/estimate.h"
#include "lidar/process_options.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"
#include "pipelines/pipeline_internal.h" /* a loaded stage, to store its settings */

typedef struct {
  char *dir;
  char yaml[1024];
  cf_ctx *ctx;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = cf_test_tmpdir();
  snprintf(f->yaml, sizeof f->yaml, "%s/p.yaml", f->dir);
  f->ctx = cf_test_ctx();
  /* an input that exists, so only the error under test is reported */
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[16] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "in.tif"), 4, 4, 1, "Float32", gt, "EPSG:32650", NULL, data, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  cf_ctx_destroy(f->ctx);
  free(f);
  return 0;
}

/* Load `text`; return the status and leave the errors in f->ctx. */
static int load(fixture *f, const char *text, const char *const *sets, int nsets) {
  cf_test_write_text(f->yaml, text);
  cf_error_clear(f->ctx);
  cf_pipeline *p = NULL;
  int rc = cf_pipeline_load(f->ctx, f->yaml, sets, nsets, &p);
  cf_pipeline_free(p);
  return rc;
}

/* Is there an error frame at line:col whose reason contains `text`? */
static void expect_error_at(fixture *f, int line, int col, const char *text) {
  char where[1100];
  snprintf(where, sizeof where, "%s:%d:%d", f->yaml, line, col);
  for (int i = 0; i < cf_error_count(f->ctx); i++) {
    const cf_error_frame *e = cf_error_get(f->ctx, i);
    if (!strcmp(e->where, where) && strstr(e->reason, text)) return;
  }
  print_error("no error at %s containing '%s'; got: %s\n", where, text, cf_error_message(f->ctx));
  fail();
}

static void unknown_stage_type(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipeline:\n  - type: raster.wrap\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 2, 11, "unknown stage type 'raster.wrap'; did you mean 'raster.warp'?");
}

static void unknown_key_with_suggestion(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    resolutoin: 30\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 5, "unknown option 'resolutoin' for stage raster.warp (did you mean 'resolution'?)");
}

static void wrong_type_and_out_of_range(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    resolution: thirty\n"
      "  - type: write.cog\n"
      "    path: out.tif\n"
      "    blocksize: 10\n"
      "    overviews: maybe\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  /* all three problems in one pass */
  expect_error_at(f, 5, 17, "must be a number, got 'thirty'");
  expect_error_at(f, 8, 16, "must be between 64 and 4096, got 10");
  expect_error_at(f, 9, 16, "must be one of: AUTO, NONE");
}

static void missing_input_file(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: nothere.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "does not exist");
  expect_error_at(f, 3, 11, "nothere.tif");
}

static void missing_required_option_and_bad_crs(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    crs: EPSG:99999999\n"
      "  - type: raster.index\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 10, "not a CRS PROJ understands");
  expect_error_at(f, 6, 5, "needs option 'index'");
}

static void input_must_name_earlier_stage_of_right_kind(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.vector\n"
      "    name: b\n"
      "    path: in.tif\n"
      "  - type: raster.index\n"
      "    input: b\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    input: later\n"
      "    path: o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 6, 12, "input 'b' gives a polygon layer; raster.index needs a raster");
  expect_error_at(f, 9, 12, "'later' is not the name of an earlier stage");
}

static void no_raster_before_a_raster_stage(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipeline:\n  - type: write.cog\n    path: o.tif\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 2, 5, "needs a raster input, and no earlier stage makes one");
}

static void top_level_shape(void **state) {
  fixture *f = *state;
  assert_int_equal(load(f, "pipline:\n  - type: write.cog\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 1, 1, "unknown top-level key 'pipline'");
  assert_int_equal(load(f, "pipeline: []\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 1, 11, "non-empty list");
}

static void set_overrides_and_its_errors(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    name: grid\n"
      "    resolution: 30\n";
  const char *good[] = {"grid.resolution=[10, 20]", "grid.resampling=cubic"};
  assert_int_equal(load(f, y, good, 2), CF_OK);
  const char *bad_value[] = {"grid.resolution=-5"};
  assert_int_equal(load(f, y, bad_value, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "--set grid.resolution:1:1"));
  assert_non_null(strstr(cf_error_message(f->ctx), "must be at least"));
  const char *bad_stage[] = {"nosuch.resolution=5"};
  assert_int_equal(load(f, y, bad_stage, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "no stage named 'nosuch'"));
  const char *bad_form[] = {"resolution5"};
  assert_int_equal(load(f, y, bad_form, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "STAGE.KEY=VALUE"));
  /* unnamed stages answer to their type; a named one too, when no
   * unnamed stage has that name (grid is the only raster.warp) */
  const char *by_type[] = {"ingest.raster.nodata=0", "raster.warp.resampling=bilinear"};
  assert_int_equal(load(f, y, by_type, 2), CF_OK);
}

/* A stage's default name counts only the unnamed stages of its type (as
 * the loaded pipeline names them): with a named raster.warp first, the
 * unnamed second one is "raster.warp", and --set raster.warp.* must reach
 * it, not the named one (it once reached the first of the type). The
 * settings JSON says which stage holds the value. */
static void set_reaches_the_stage_of_that_default_name(void **state) {
  fixture *f = *state;
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: raster.warp\n"
      "    name: grid\n"
      "    resolution: 30\n"
      "  - type: raster.warp\n"
      "    resolution: 60\n";
  cf_test_write_text(f->yaml, y);
  const char *sets[] = {"raster.warp.resolution=90"};
  cf_pipeline *p = NULL;
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, sets, 1, &p), CF_OK);
  const char *js = cf_pipeline_settings(p);
  const char *grid = strstr(js, "\"name\":\"grid\"");
  const char *second = strstr(js, "\"name\":\"raster.warp\"");
  assert_non_null(grid);
  assert_non_null(second);
  assert_true(grid < second);
  assert_non_null(strstr(grid, "30")); /* the named stage keeps its value */
  assert_true(strstr(grid, "30") < second);
  assert_non_null(strstr(second, "90"));
  cf_pipeline_free(p);
  /* the named stage still answers to its type's position among every
   * stage of the type (the shipped forest-stocks.yaml's documented
   * --set ingest.plots.path): raster.warp-2 is the second warp, the same
   * unnamed one; a third does not exist */
  const char *second_by_position[] = {"raster.warp-2.resolution=120"};
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, second_by_position, 1, &p), CF_OK);
  js = cf_pipeline_settings(p);
  second = strstr(js, "\"name\":\"raster.warp\"");
  assert_non_null(second);
  assert_non_null(strstr(second, "120"));
  cf_pipeline_free(p);
  const char *no_third[] = {"raster.warp-3.resolution=90"};
  assert_int_equal(load(f, y, no_third, 1), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(f->ctx), "no stage named 'raster.warp-3'"));
}

static void batch_outputs_need_stem(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[16] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "in2.tif"), 4, 4, 1, "Float32", gt, "EPSG:32650", NULL, data, 0);
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: 'in*.tif'\n"
      "  - type: write.cog\n"
      "    path: out.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 11, "2 input files would all write 'out.tif'; put {stem} in the output path");
}

/* --- the lidar settings: one declaration, two interfaces ------------------------- */

/* Every stage that takes lidar settings, at its defaults. The inputs only
 * need to exist: validation does not read them. */
static const char *lidar_yaml =
    "pipeline:\n"
    "  - type: ingest.lidar_l0\n"
    "    path: l0.h5\n"
    "  - type: lidar.spectra\n"
    "  - type: lidar.doppler\n"
    "  - type: lidar.dial\n"
    "  - type: lidar.wind\n"
    "  - type: write.l2\n"
    "    path: out.nc\n"
    "  - type: ingest.windcube\n"
    "    path: wc.nc\n"
    "  - type: write.wind_csv\n"
    "    path: wind.csv\n";

static void write_lidar_inputs(fixture *f) {
  cf_test_write_text(cf_test_path(f->dir, "l0.h5"), "placeholder");
  cf_test_write_text(cf_test_path(f->dir, "wc.nc"), "placeholder");
  cf_test_write_text(f->yaml, lidar_yaml);
}

static const cf_stage *stage_named(const cf_pipeline *p, const char *name) {
  for (int i = 0; i < p->nstages; i++)
    if (!strcmp(p->stages[i].name, name)) return &p->stages[i];
  return NULL;
}

/* Give `text` to setting `row` as `lidar process` does (KEY=VALUE) and as a
 * pipeline does (--set STAGE.KEY=VALUE). Both must accept it (`ok`) and
 * then store the same bytes, or both reject it, the pipeline at the --set
 * position with the declared range. */
static void same_in_both(fixture *f, const char *stage, const cf_kv_opt *row, const char *text, int ok) {
  char kv[160], set[200], where[240];
  snprintf(kv, sizeof kv, "%s=%s", row->key, text);
  snprintf(set, sizeof set, "%s.%s=%s", stage, row->key, text);
  snprintf(where, sizeof where, "--set %s.%s:1:1", stage, row->key);
  cf_lidar_opts by_kv, by_stage;
  cf_lidar_opts_default(&by_kv);
  cf_lidar_opts_default(&by_stage);
  cf_error_clear(f->ctx);
  int kv_rc = cf_lidar_opts_set(f->ctx, &by_kv, kv);
  cf_error_clear(f->ctx);
  const char *sets[] = {set};
  cf_pipeline *p = NULL;
  int stage_rc = cf_pipeline_load(f->ctx, f->yaml, sets, 1, &p);
  if ((kv_rc == CF_OK) != ok || (stage_rc == CF_OK) != ok) {
    print_error("%s: lidar process %s it, the pipeline %s it; both should %s (%s)\n", set,
                kv_rc ? "rejects" : "accepts", stage_rc ? "rejects" : "accepts", ok ? "accept" : "reject",
                cf_error_message(f->ctx));
    fail();
  }
  if (ok) {
    const cf_stage *st = stage_named(p, stage);
    assert_non_null(st);
    assert_int_equal(cf_stage_apply_settings(f->ctx, st, &cf_lidar_settings, &by_stage), CF_OK);
    /* both start from cf_lidar_opts_default (which clears the struct), so
     * equal bytes mean the same field got the same value */
    assert_memory_equal(&by_kv, &by_stage, sizeof by_kv);
  } else {
    char range[256];
    cf_kv_range_text(row, range, sizeof range);
    const char *msg = cf_error_message(f->ctx);
    if (!strstr(msg, where) || !strstr(msg, range)) {
      print_error("%s: expected '%s' and '%s' in: %s\n", set, where, range, msg);
      fail();
    }
  }
  cf_pipeline_free(p);
}

/* A number as text that reads back as exactly that double. */
static const char *num(double v, char *buf) {
  snprintf(buf, 40, "%.17g", v);
  return buf;
}

/* The bounds of a row, and just outside them. */
static void bounds_in_both(fixture *f, const char *stage, const cf_kv_opt *row) {
  char b[40];
  if (row->type == CF_KV_BOOL) {
    same_in_both(f, stage, row, "yes", 1);
    same_in_both(f, stage, row, "no", 1);
    same_in_both(f, stage, row, "maybe", 0);
    return;
  }
  if (row->type == CF_KV_ENUM) {
    for (int c = 0; row->choices[c]; c++) same_in_both(f, stage, row, row->choices[c], 1);
    same_in_both(f, stage, row, "bogus", 0);
    return;
  }
  /* INT: the next integers out; DOUBLE: a millionth of the bound (or of 1) out */
  double dlo = row->type == CF_KV_INT ? 1 : 1e-6 * fmax(1, fabs(row->min));
  double dhi = row->type == CF_KV_INT ? 1 : 1e-6 * fmax(1, fabs(row->max));
  same_in_both(f, stage, row, num(row->min, b), 1);
  same_in_both(f, stage, row, num(row->max, b), 1);
  same_in_both(f, stage, row, num(row->min - dlo, b), 0);
  same_in_both(f, stage, row, num(row->max + dhi, b), 0);
  if (row->type == CF_KV_INT) same_in_both(f, stage, row, num(row->min + 0.5, b), 0);
}

static int opt_type_of(cf_kv_type t) {
  return t == CF_KV_DOUBLE ? CF_OPT_DOUBLE : t == CF_KV_INT ? CF_OPT_INT : t == CF_KV_BOOL ? CF_OPT_BOOL
         : t == CF_KV_NUM_OR_ENUM ? CF_SETTING_OPT_NUM_OR_ENUM : CF_OPT_ENUM;
}

/* How many stage options are each row of `table` (calloc'ed, one count a
 * row), each checked to have the row's type; with `f`, a value of every
 * such (stage, row) pair is also checked to be valid in a pipeline exactly
 * when it is on the command line. */
static int *stages_exposing(const cf_kv_table *table, fixture *f) {
  int *exposed = calloc(table->n, sizeof *exposed);
  assert_non_null(exposed);
  for (const cf_stage_def *const *d = cf_stage_all(); *d; d++)
    for (int k = 0; (*d)->options[k].name; k++) {
      const cf_option_spec *o = &(*d)->options[k];
      if (o->settings != table) continue;
      const cf_kv_opt *row = cf_kv_find(table, o->name);
      assert_non_null(row);
      assert_int_equal(o->type, opt_type_of(row->type));
      exposed[row - table->opts]++;
      if (f) bounds_in_both(f, (*d)->type, row);
    }
  return exposed;
}

/* Every stage option that is a lidar setting is a row of the one table with
 * the row's type; every row but the three `lidar process` switches is some
 * stage's option; and over every (stage, row) pair a value is valid in a
 * pipeline exactly when it is valid on the command line. */
static void lidar_settings_agree_in_both_interfaces(void **state) {
  fixture *f = *state;
  write_lidar_inputs(f);
  size_t n = cf_lidar_settings.n;
  int *exposed = stages_exposing(&cf_lidar_settings, f);
  for (size_t i = 0; i < n; i++) {
    const char *key = cf_lidar_settings.opts[i].key;
    int command_only = !strcmp(key, "dial") || !strcmp(key, "wind") || !strcmp(key, "block_rays");
    if ((exposed[i] == 0) != command_only) print_error("row %s: exposed by %d stages\n", key, exposed[i]);
    assert_int_equal(exposed[i] == 0, command_only);
  }
  /* the wind rows are both lidar.wind's and write.wind_csv's */
  assert_int_equal(exposed[cf_kv_find(&cf_lidar_settings, "errors") - cf_lidar_settings.opts], 2);
  free(exposed);
}

/* The flux estimate's settings (cf_flux_settings, lidar/flux/estimate.c)
 * reach a pipeline through the two flux stages: every row but `method`
 * (which the stage's own type sets) must be an option of at least one of
 * them, with the row's type, so that a setting added to the command cannot
 * be forgotten in the pipeline (sigma_z_scale once was). */
static void flux_settings_reach_the_flux_stages(void **state) {
  (void)state;
  size_t n = cf_flux_settings.n;
  int *exposed = stages_exposing(&cf_flux_settings, NULL);
  for (size_t i = 0; i < n; i++) {
    const char *key = cf_flux_settings.opts[i].key;
    int stage_sets_it = !strcmp(key, "method");
    if ((exposed[i] == 0) != stage_sets_it) print_error("flux row %s: exposed by %d stages\n", key, exposed[i]);
    assert_int_equal(exposed[i] == 0, stage_sets_it);
  }
  /* the met rows (the plume model's) are options of both stages */
  assert_int_equal(exposed[cf_kv_find(&cf_flux_settings, "sigma_z_scale") - cf_flux_settings.opts], 2);
  free(exposed);
}

/* The issue's case: a hard-target limit above the range is a configuration
 * error found by validation (before: accepted, then a failure mid-run). */
static void hard_target_range_is_checked_before_running(void **state) {
  fixture *f = *state;
  write_lidar_inputs(f);
  const char *sets[] = {"lidar.doppler.hard_target=100"};
  cf_error_clear(f->ctx);
  cf_pipeline *p = NULL;
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, sets, 1, &p), CF_EINVAL);
  assert_null(p);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  assert_string_equal(e->where, "--set lidar.doppler.hard_target:1:1");
  assert_non_null(strstr(e->reason, "100 is outside -20..60 dB"));
}

/* Defaults are the same in both interfaces: the provenance of a pipeline
 * left at its defaults records the values `lidar process` uses (the issue's
 * list: cnr_min -27 dB, min_beams 4, max_condition 30; bins_correlated
 * yes; wind errors propagated). */
static void lidar_stage_defaults_are_the_command_defaults(void **state) {
  fixture *f = *state;
  write_lidar_inputs(f);
  cf_error_clear(f->ctx);
  cf_pipeline *p = NULL;
  assert_int_equal(cf_pipeline_load(f->ctx, f->yaml, NULL, 0, &p), CF_OK);
  const char *expect[] = {"\"bins_correlated\":true", "\"cnr_min\":-27", "\"hard_target\":20", "\"window\":600",
                          "\"min_beams\":4", "\"max_condition\":30", "\"errors\":\"propagated\""};
  for (int i = 0; i < 7; i++) {
    if (!strstr(p->settings_json, expect[i])) print_error("%s not in %s\n", expect[i], p->settings_json);
    assert_non_null(strstr(p->settings_json, expect[i]));
  }
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  char *json = cf_lidar_opts_json(&o);
  for (int i = 0; i < 7; i++) assert_non_null(strstr(json, expect[i]));
  free(json);
  cf_pipeline_free(p);
}

/* The L2 provenance names the wind error mode as it was set. */
static void processing_parameters_record_the_wind_error_mode(void **state) {
  fixture *f = *state;
  cf_lidar_opts o;
  cf_lidar_opts_default(&o);
  assert_int_equal(cf_lidar_opts_set(f->ctx, &o, "errors=Birge"), CF_OK);
  assert_int_equal(o.wind.error_mode, CF_WIND_ERR_BIRGE);
  char *json = cf_lidar_opts_json(&o);
  assert_non_null(strstr(json, "\"errors\":\"birge\""));
  free(json);
}

/* --- hostile files: refused quickly, where they cross a limit ------------------
 * Positions are counted from the generated text (see each comment); the
 * bound of 5 s is generous for the sanitizer build (the loader needs
 * milliseconds). Before the limits, the alias bomb expanded 10^9 nodes, the
 * deep nesting was refused without a position, and the long list and the
 * 2 MB file were loaded whole. */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Load `text`, expect CF_EINVAL within 5 s and an error at line:col (or,
 * with line 0, at the file itself) containing `reason`. */
static void expect_refused(fixture *f, const char *what, const char *text, int line, int col, const char *reason) {
  double t0 = now_s();
  int rc = load(f, text, NULL, 0);
  double dt = now_s() - t0;
  print_message("%s: refused in %.3f s: %s\n", what, dt, cf_error_message(f->ctx));
  assert_int_equal(rc, CF_EINVAL);
  assert_true(dt < 5.0);
  if (line) {
    expect_error_at(f, line, col, reason);
  } else {
    const cf_error_frame *e = cf_error_get(f->ctx, 0);
    assert_string_equal(e->where, f->yaml);
    assert_non_null(strstr(e->reason, reason));
  }
}

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hu = strlen(head), u = strlen(unit), tl = strlen(tail);
  char *s = malloc(hu + u * (size_t)n + tl + 1), *p = s;
  memcpy(p, head, hu), p += hu;
  for (int i = 0; i < n; i++) memcpy(p, unit, u), p += u;
  memcpy(p, tail, tl + 1);
  return s;
}

static void alias_bomb_is_refused(void **state) {
  fixture *f = *state;
  /* nine levels of ten aliases each ("billion laughs": 10^9 nodes). Nodes:
   * root 1, then per line a key and a list: line 1 has 1 + 1 + 11, lines
   * 2-4 lists of 111, 1111, 11111 nodes: 12349 after line 4. Line 5 adds
   * its key and list (12351) and 11111 per alias of *d, so its 8th alias
   * (column 8 + 7 * 4 = 36) crosses 100,000. */
  const char *y =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
      "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
      "pipeline: *i\n";
  expect_refused(f, "alias bomb", y, 5, 36, "more than 100000 YAML nodes");
}

static void too_many_aliases_are_refused(void **state) {
  fixture *f = *state;
  /* 101 aliases of one scalar: the 101st is at column 5 + 100 * 4 = 405 */
  char *y = repeat("a: &a x\nb: [", "*a, ", 101, "]\n");
  expect_refused(f, "101 aliases", y, 2, 405, "more than 100 aliases");
  free(y);
}

static void deep_nesting_is_refused(void **state) {
  fixture *f = *state;
  /* 200,000 nested lists: the root mapping is level 1 and the first '['
   * (column 11) level 2, so the 64th '[' (column 74) would be level 65 */
  char *open = repeat("pipeline: ", "[", 200000, ""), *y = repeat(open, "]", 200000, "\n");
  expect_refused(f, "200,000 nested lists", y, 1, 74, "nesting deeper than 64 levels");
  free(open);
  free(y);
}

static void huge_lists_and_files_are_refused(void **state) {
  fixture *f = *state;
  /* 200,000 stages in 600 kB: root, key and list are 3 nodes, so stage
   * 99,998 (column 12 + 99,997 * 3 = 300003) is node 100,001 */
  char *y = repeat("pipeline: [", "{},", 200000, "{}]\n");
  expect_refused(f, "200,000 empty stages", y, 1, 300003, "more than 100000 YAML nodes");
  free(y);
  /* 200,000 real stages need 4.6 MB: refused before parsing */
  y = repeat("pipeline:\n", "  - type: raster.index\n", 200000, "");
  expect_refused(f, "200,000 stages", y, 0, 0, "YAML files may have at most 1048576 bytes (1 MiB)");
  free(y);
  /* a file of exactly 1 MiB is fine as far as size goes (a comment) */
  const char *head = "pipeline:\n  - type: ingest.raster\n    path: in.tif\n  - type: write.cog\n    path: o.tif\n#";
  y = repeat(head, "x", (1 << 20) - (int)strlen(head) - 1, "\n");
  assert_int_equal(strlen(y), 1 << 20);
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  free(y);
}

/* The simulator refuses a file beyond CF_SIM_MAX_OUTPUT_GB, naming the
 * settings and the size; level=raw has its own background default (the
 * spectra level's 10,000,000 background pulses of raw samples were ~650 GB).
 * Sizes are recomputed here from the settings. */
static void simulator_output_size_is_bounded(void **state) {
  fixture *f = *state;
  cf_sim_config c;
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_OK); /* the defaults are fine */
  assert_int_equal(cf_sim_set(f->ctx, &c, "level=raw"), CF_OK);
  assert_int_equal(c.background_pulses, 2000);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_OK);
  const cf_l0_config *i = &c.instrument;
  double samples = i->gate_first + (double)(i->n_gates - 1) * i->gate_step + i->gate_samples;
  double rays = (double)c.n_scans * c.rays_per_scan;
  /* the old default background, given explicitly */
  cf_error_clear(f->ctx);
  assert_int_equal(cf_sim_set(f->ctx, &c, "background_pulses=10000000"), CF_OK);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_EINVAL);
  double gb = (rays * c.raw_pulses + 1e7) * samples * 4 / 1e9;
  char want[64];
  snprintf(want, sizeof want, "would write %.1f GB", gb);
  const cf_error_frame *e = cf_error_get(f->ctx, 0);
  print_message("%s: %s\n", e->field, e->reason);
  assert_true(gb > 600);
  assert_string_equal(e->field, "background_pulses");
  assert_non_null(strstr(e->reason, want));
  /* an explicit background survives level=raw given after it */
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_set(f->ctx, &c, "background_pulses=40"), CF_OK);
  assert_int_equal(cf_sim_set(f->ctx, &c, "level=raw"), CF_OK);
  assert_int_equal(c.background_pulses, 40);
  /* the spectra level: rays x gates x bins x 8 bytes */
  cf_sim_defaults(&c, CF_SCAN_VAD);
  assert_int_equal(cf_sim_set(f->ctx, &c, "scans=100000"), CF_OK);
  cf_error_clear(f->ctx);
  assert_int_equal(cf_sim_check(f->ctx, &c), CF_EINVAL);
  gb = ((double)c.n_scans * c.rays_per_scan + 1) * c.instrument.n_gates * (c.instrument.fft_size / 2 + 1) * 8 / 1e9;
  snprintf(want, sizeof want, "would write %.1f GB", gb);
  e = cf_error_get(f->ctx, 0);
  print_message("%s: %s\n", e->field, e->reason);
  assert_non_null(strstr(e->reason, want));
  assert_non_null(strstr(e->reason, "scans=100000"));
  /* and the library call refuses it too, before writing anything */
  char l0[1100];
  snprintf(l0, sizeof l0, "%s/big.h5", f->dir);
  cf_error_clear(f->ctx);
  assert_int_equal(cf_simulate_lidar(f->ctx, &c, l0, NULL), CF_EINVAL);
  assert_int_equal(cf_test_count_entries(f->dir, "big"), 0);
}

/* --- validation that opens the inputs ------------------------------------------------
 *
 * pipelines/preflight.h and the output directory check in pipeline.c: "a pipeline that passes --check never
 * fails at run time on its own options". Each case is a pipeline whose
 * options are each valid alone but cannot work with its files: a band the
 * raster does not have, an output whose directory cannot be made, an HDF5
 * input named through /vsizip/. Each must be refused at load (what both
 * `run --check` and a run's start do), CF_EINVAL, at the option's
 * file:line:col, naming the file and the option. Line and column numbers
 * are counted by hand from the YAML text; the band lists follow from the
 * files the tests write or name (RGB.byte.tif has three bands and no band
 * descriptions: `gdalinfo` shows none).
 */

#define RGB CF_SHARED_DATA "/RGB.byte.tif"
#define GEDI_ZIP CF_SHARED_DATA "/gedi/GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.zip"
#define GEDI_MEMBER "GEDI02_A_2019108080338_O01964_T05337_02_001_01_sub.h5"

/* RGB.byte.tif named red, green, blue: `nir` is none of them; a number
 * within 1..3 is a band, 4 is not. */
static void band_names_are_checked_against_the_file(void **state) {
  fixture *f = *state;
  char y[4096];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "    bands: [red, green, blue]\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "    nir: nir\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "option 'nir' of stage 'raster.index': no band 'nir'");
  expect_error_at(f, 7, 10, "(bands: 1=red, 2=green, 3=blue)");
  assert_int_equal(cf_error_count(f->ctx), 1); /* red is there */
  /* by number: band 3 exists, band 4 does not */
  char *at = strstr(y, "nir: nir");
  memcpy(at, "nir: 3  ", 8);
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  memcpy(at, "nir: 4  ", 8);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "no band '4'");
  /* without `bands`: the file's descriptions, none here */
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "    red: 1\n"
           "    nir: nir\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 7, 10, "(bands: 1=(unnamed), 2=(unnamed), 3=(unnamed))");
}

/* EVI uses blue, NDVI does not: blue's default ("blue") is checked for EVI
 * only. A file of bands red and nir: NDVI is valid, EVI is not. */
static void a_band_the_stage_does_not_use_is_not_checked(void **state) {
  fixture *f = *state;
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[32] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "rn.tif"), 4, 4, 2, "Float32", gt, "EPSG:32650", NULL, data, 0);
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: rn.tif\n"
      "    bands: [red, nir]\n"
      "  - type: raster.index\n"
      "    index: ndvi\n"
      "  - type: write.cog\n"
      "    path: out/i.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  char evi[1024];
  snprintf(evi, sizeof evi, "%s", y);
  memcpy(strstr(evi, "ndvi"), "evi ", 4);
  assert_int_equal(load(f, evi, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 5, "option 'blue' of stage 'raster.index': no band 'blue'"); /* the default: the stage's position */
}

/* The output's directory would be made under a regular file, or in a
 * directory nobody may write in (procfs refuses new entries under
 * /proc/sys to every user, root too). */
static void output_directories_are_checked(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "afile"), "a file where a folder should be\n");
  const char *y =
      "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: afile/sub/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  char want[1500];
  snprintf(want, sizeof want, "output '%s/afile/sub/o.tif' (option 'path' of stage 'write.cog') cannot be written: "
           "'%s/afile' is not a directory", f->dir, f->dir);
  expect_error_at(f, 5, 11, want);
  y = "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: /proc/sys/carbonflux-test/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 5, 11, "cannot write in directory '/proc/sys'");
  /* a directory still to be made under one we may write in is fine */
  y = "pipeline:\n"
      "  - type: ingest.raster\n"
      "    path: in.tif\n"
      "  - type: write.cog\n"
      "    path: new/deeper/o.tif\n";
  assert_int_equal(load(f, y, NULL, 0), CF_OK);
  assert_int_equal(access(cf_test_path(f->dir, "new"), F_OK), -1); /* looked, made nothing */
}

/* A GEDI file inside the shared zip: GDAL sees the member, HDF5 cannot
 * open it; a plain file that is not HDF5 is refused too. */
static void hdf5_inputs_are_opened(void **state) {
  fixture *f = *state;
  char y[2048];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.gedi_l2a\n"
           "    path: /vsizip/%s/%s\n",
           GEDI_ZIP, GEDI_MEMBER);
  assert_int_equal(load(f, y, NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "read by HDF5, which opens plain local files only: unzip it first");
  cf_test_write_text(cf_test_path(f->dir, "g.h5"), "not HDF5\n");
  assert_int_equal(load(f, "pipeline:\n  - type: ingest.gedi_l2a\n    path: g.h5\n", NULL, 0), CF_EINVAL);
  expect_error_at(f, 3, 11, "is not an HDF5 file");
}

/* The command: `run --check` exits 1 (README "Exit codes": invalid
 * pipeline, nothing run), and so does the run itself, before any work:
 * no output directory made. */
static void check_and_run_refuse_the_same(void **state) {
  fixture *f = *state;
  char y[2048], args[3000], log[1200];
  snprintf(y, sizeof y,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "  - type: raster.index\n"
           "    index: ndvi\n"
           "  - type: write.cog\n"
           "    path: out/ndvi.tif\n",
           RGB);
  cf_test_write_text(f->yaml, y);
  snprintf(log, sizeof log, "%s/log.txt", f->dir);
  snprintf(args, sizeof args, "run '%s' --check", f->yaml);
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "no band 'nir'"));
  snprintf(args, sizeof args, "run '%s'", f->yaml);
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "no band 'nir'"));
  assert_int_equal(access(cf_test_path(f->dir, "out"), F_OK), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(band_names_are_checked_against_the_file, setup, teardown),
      cmocka_unit_test_setup_teardown(a_band_the_stage_does_not_use_is_not_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(output_directories_are_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(hdf5_inputs_are_opened, setup, teardown),
      cmocka_unit_test_setup_teardown(check_and_run_refuse_the_same, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_stage_type, setup, teardown),
      cmocka_unit_test_setup_teardown(alias_bomb_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(simulator_output_size_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(too_many_aliases_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(deep_nesting_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(huge_lists_and_files_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_key_with_suggestion, setup, teardown),
      cmocka_unit_test_setup_teardown(wrong_type_and_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_input_file, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_required_option_and_bad_crs, setup, teardown),
      cmocka_unit_test_setup_teardown(input_must_name_earlier_stage_of_right_kind, setup, teardown),
      cmocka_unit_test_setup_teardown(no_raster_before_a_raster_stage, setup, teardown),
      cmocka_unit_test_setup_teardown(top_level_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(set_overrides_and_its_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(set_reaches_the_stage_of_that_default_name, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_outputs_need_stem, setup, teardown),
      cmocka_unit_test_setup_teardown(lidar_settings_agree_in_both_interfaces, setup, teardown),
      cmocka_unit_test_setup_teardown(flux_settings_reach_the_flux_stages, setup, teardown),
      cmocka_unit_test_setup_teardown(hard_target_range_is_checked_before_running, setup, teardown),
      cmocka_unit_test_setup_teardown(lidar_stage_defaults_are_the_command_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(processing_parameters_record_the_wind_error_mode, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
