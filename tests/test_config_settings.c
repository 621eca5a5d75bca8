/*
 * The lidar and flux settings: one declaration, two interfaces. Every
 * stage option that is a setting is a row of its table with the row's
 * type; over every (stage, row) pair a value is valid in a pipeline
 * exactly when `carbonflux lidar process KEY=VALUE` accepts it, and then
 * stores the same bytes; the defaults and the recorded provenance agree.
 * Why a suite of its own: these checks walk the stage registry and the
 * settings tables, not YAML positions (test_config).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "config_fixture.h"
#include "lidar/flux/estimate.h"
#include "lidar/process_options.h"
#include "pipelines/pipeline_internal.h" /* a loaded stage, to store its settings */

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

/* The case: a hard-target limit above the range is a configuration
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
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(lidar_settings_agree_in_both_interfaces, setup, teardown),
      cmocka_unit_test_setup_teardown(flux_settings_reach_the_flux_stages, setup, teardown),
      cmocka_unit_test_setup_teardown(hard_target_range_is_checked_before_running, setup, teardown),
      cmocka_unit_test_setup_teardown(lidar_stage_defaults_are_the_command_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(processing_parameters_record_the_wind_error_mode, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
