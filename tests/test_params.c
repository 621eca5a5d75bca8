/*
 * Parameter tables (sink/params.h): the built-in tables, user tables from
 * CARBONFLUX_PARAMS, validation messages, lookups and `carbonflux params`.
 *
 * Expected numbers are the ones written in the sink/tables CSV files or in the
 * tables written here; the species list is what the TEMPEST inventory
 * (../shared/data, written by R, not by us) holds in Species_code.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/csv.h"
#include "sink/params.h"

static const char *const BUILTIN_TABLES[] = {"carbon_fraction",     "root_shoot_ipcc2006", "equations",
                                             "species_jenkins2003", "species_china",       "deadwood_litter_artool12",
                                             "soc_ref_ipcc2006",    "soc_factors"};

static cf_params *load_builtin(cf_ctx *ctx) {
  cf_params *p = NULL;
  int rc = cf_params_load_from(ctx, NULL, &p);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  return p;
}

static void builtin_tables_load_with_sources(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load_builtin(ctx);
  assert_int_equal(cf_params_count(p), 8);
  for (size_t i = 0; i < sizeof BUILTIN_TABLES / sizeof *BUILTIN_TABLES; i++) {
    const cf_param_table *t = cf_params_table(p, BUILTIN_TABLES[i]);
    assert_non_null(t);
    assert_true(cf_param_table_is_builtin(t));
    assert_string_equal(cf_param_table_origin(t), "built-in");
    assert_true(cf_param_table_rows(t) > 0);
    int cs = cf_param_table_column(t, "source"), cc = cf_param_table_column(t, "checked");
    assert_true(cs >= 0 && cc >= 0);
    for (int r = 0; r < cf_param_table_rows(t); r++) {
      assert_true(strlen(cf_param_table_text(t, r, cs)) > 10); /* names a document */
      const char *c = cf_param_table_text(t, r, cc);
      assert_true(!strcmp(c, "yes") || !strcmp(c, "no"));
    }
  }
  /* units come from the column names */
  const cf_param_table *rs = cf_params_table(p, "root_shoot_ipcc2006");
  assert_string_equal(cf_param_table_unit(rs, cf_param_table_column(rs, "agb_min_t_dm_per_ha")), "t d.m./ha");
  assert_string_equal(cf_param_table_unit(rs, cf_param_table_column(rs, "r_ratio")), "1 (ratio)");
  assert_null(cf_param_table_unit(rs, cf_param_table_column(rs, "ecozone")));
  /* the ten Jenkins groups, Chave 2014 and the AR-TOOL14 function are rows */
  const cf_param_table *eq = cf_params_table(p, "equations");
  int ng = 0, cn = cf_param_table_column(eq, "name");
  for (int r = 0; r < cf_param_table_rows(eq); r++) ng += !strncmp(cf_param_table_text(eq, r, cn), "jenkins2003_", 12);
  assert_int_equal(ng, 10);
  cf_param_value v;
  assert_int_equal(cf_params_get(ctx, p, "equations", "name", "chave2014", "b_coef", &v), CF_OK);
  assert_close(v.value, 0.976, 0, 0);
  assert_int_equal(cf_params_get(ctx, p, "equations", "name", "artool14_root_shoot", "a_coef", &v), CF_OK);
  assert_close(v.value, -1.085, 0, 0);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void lookups_give_value_unit_source(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load_builtin(ctx);
  cf_param_value v;
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "climate_domain", "default", "cf_t_c_per_t_dm", &v), CF_OK);
  assert_close(v.value, 0.47, 0, 0);
  assert_string_equal(v.unit, "t C/t d.m.");
  assert_non_null(strstr(v.source, "Table 4.3"));
  assert_string_equal(v.table, "carbon_fraction");
  assert_int_equal(v.line, 2);
  assert_int_equal(v.checked, 0);
  /* two keys */
  const cf_param_table *t = cf_params_table(p, "soc_ref_ipcc2006");
  const char *cols[2] = {"climate_region", "soil_type"}, *vals[2] = {"warm_temperate_moist", "HAC"};
  int row;
  assert_int_equal(cf_param_table_find_row(ctx, t, 2, cols, vals, &row), CF_OK);
  assert_int_equal(cf_param_table_number(ctx, t, row, "soc_ref_t_c_per_ha", &v), CF_OK);
  assert_close(v.value, 88, 0, 0);
  assert_string_equal(v.unit, "t C/ha");
  /* several rows for one key: ambiguous, said so */
  cf_error_clear(ctx);
  const cf_param_table *rs = cf_params_table(p, "root_shoot_ipcc2006");
  const char *c2[2] = {"ecozone", "forest_type"}, *v2[2] = {"temperate", "conifer"};
  assert_int_equal(cf_param_table_find_row(ctx, rs, 2, c2, v2, &row), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "more than one row"));
  /* no row, no column, a text column, an empty cell */
  cf_error_clear(ctx);
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "climate_domain", "martian", "cf_t_c_per_t_dm", &v),
                   CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "martian"));
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "nope", "default", "cf_t_c_per_t_dm", &v), CF_EINVAL);
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "climate_domain", "default", "tissue", &v), CF_EINVAL);
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "climate_domain", "default", "cf_min_t_c_per_t_dm", &v),
                   CF_ENOENT);
  assert_int_equal(cf_params_get(ctx, p, "nosuch", "a", "b", "c", &v), CF_EINVAL);
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

/* Every Species_code in the TEMPEST inventory has a Jenkins group whose
 * equation is a row of `equations`. Empty codes (stems not identified) are
 * not codes; the allometry reports them per stem. */
/* AR-TOOL12's classes by biome, elevation and precipitation, [min, max). */
static void class_lookup_artool12(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load_builtin(ctx);
  const cf_param_table *t = cf_params_table(p, "deadwood_litter_artool12");
  const char *k = "biome";
  const char *lo[2] = {"elevation_min_m", "precip_min_mm_per_yr"}, *hi[2] = {"elevation_max_m", "precip_max_mm_per_yr"};
  const struct {
    const char *biome;
    double elev, precip, dw, li;
  } cases[] = {{"tropical", 300, 800, 0.02, 0.04},  {"tropical", 300, 1000, 0.01, 0.01},
               {"tropical", 1999, 2500, 0.06, 0.01}, {"tropical", 2000, 500, 0.07, 0.01},
               {"temperate", 800, 700, 0.08, 0.04},  {"boreal", 0, 0, 0.08, 0.04}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double x[2] = {cases[i].elev, cases[i].precip};
    int row;
    assert_int_equal(cf_param_table_find_class(ctx, t, 1, &k, &cases[i].biome, 2, lo, hi, x, &row), CF_OK);
    cf_param_value dw, li;
    assert_int_equal(cf_param_table_number(ctx, t, row, "deadwood_fraction", &dw), CF_OK);
    assert_int_equal(cf_param_table_number(ctx, t, row, "litter_fraction", &li), CF_OK);
    assert_close(dw.value, cases[i].dw, 0, 0);
    assert_close(li.value, cases[i].li, 0, 0);
    assert_string_equal(dw.unit, "1 (fraction)");
    assert_non_null(strstr(dw.source, "AR-TOOL12"));
  }
  double x[2] = {100, 100};
  int row;
  const char *polar = "polar";
  assert_int_equal(cf_param_table_find_class(ctx, t, 1, &k, &polar, 2, lo, hi, x, &row), CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "biome=polar"));
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void tempest_species_all_mapped(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load_builtin(ctx);
  const cf_param_table *sp = cf_params_table(p, "species_jenkins2003"), *eq = cf_params_table(p, "equations");
  cf_csv *c = NULL;
  assert_int_equal(cf_csv_open(ctx, CF_SHARED_DATA "/tempest_tree_inventory.csv", &c), CF_OK);
  int col = cf_csv_column(c, "Species_code");
  assert_true(col >= 0);
  const cf_csv_row *r;
  int n = 0, rc;
  while ((rc = cf_csv_next(ctx, c, &r)) == 1) {
    const char *code = r->fields[col];
    if (!code[0]) continue;
    const char *k = "usda_code";
    int row;
    if (cf_param_table_find_row(ctx, sp, 1, &k, &code, &row) != CF_OK) {
      fprintf(stderr, "species %s (line %ld) not in species_jenkins2003\n", code, r->line);
      fail();
    }
    char name[160];
    snprintf(name, sizeof name, "jenkins2003_%s",
             cf_param_table_text(sp, row, cf_param_table_column(sp, "jenkins_group")));
    const char *kn = "name", *vn = name;
    int erow;
    assert_int_equal(cf_param_table_find_row(ctx, eq, 1, &kn, &vn, &erow), CF_OK);
    n++;
  }
  assert_int_equal(rc, 0);
  assert_true(n > 400); /* the inventory's stems with a code */
  cf_csv_close(c);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void user_table_overrides_builtin(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir(), *dir2 = cf_test_tmpdir();
  cf_test_write_text(cf_test_path(dir, "carbon_fraction.csv"),
                     "climate_domain,tissue,cf_t_c_per_t_dm,source,checked\n"
                     "default,all,0.5,\"project measurement, lab report 2026-01\",yes\n");
  cf_test_write_text(cf_test_path(dir, "local_density.csv"),
                     "species,wood_density_g_cm3,source,checked\nX1,0.61,\"lab\",yes\n");
  cf_test_write_text(cf_test_path(dir, "notes.txt"), "not a table\n");
  /* the same name in a later directory loses to the earlier one */
  cf_test_write_text(cf_test_path(dir2, "carbon_fraction.csv"),
                     "climate_domain,cf_t_c_per_t_dm,source,checked\ndefault,0.3,x,no\n");
  char env[2200];
  snprintf(env, sizeof env, "%s::%s", dir, dir2);
  setenv("CARBONFLUX_PARAMS", env, 1);
  cf_ctx *ctx = cf_test_ctx();
  cf_set_log_level(ctx, CF_LOG_INFO);
  char *logpath = strdup(cf_test_path(dir, "log.txt"));
  FILE *log = fopen(logpath, "w");
  assert_non_null(log);
  cf_set_log_stream(ctx, log);
  cf_params *p = NULL;
  int rc = cf_params_load(ctx, &p);
  fclose(log);
  cf_set_log_stream(ctx, stderr);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  assert_int_equal(cf_params_count(p), 9);
  const cf_param_table *t = cf_params_table(p, "carbon_fraction");
  assert_false(cf_param_table_is_builtin(t));
  assert_string_equal(cf_param_table_origin(t), cf_test_path(dir, "carbon_fraction.csv"));
  cf_param_value v;
  assert_int_equal(cf_params_get(ctx, p, "carbon_fraction", "climate_domain", "default", "cf_t_c_per_t_dm", &v), CF_OK);
  assert_close(v.value, 0.5, 0, 0);
  assert_int_equal(v.checked, 1);
  assert_string_equal(v.source, "project measurement, lab report 2026-01");
  assert_non_null(cf_params_table(p, "local_density"));
  assert_true(cf_param_table_is_builtin(cf_params_table(p, "equations"))); /* the others stay */
  assert_true(cf_test_file_contains(logpath, "replaces the built-in table 'carbon_fraction'"));
  assert_true(cf_test_file_contains(logpath, "ignored"));
  /* the command sees the same */
  char args[2400], *cli_log = strdup(cf_test_path(dir, "cli.txt"));
  assert_int_equal(cf_test_cli("params carbon_fraction", cli_log), 0);
  assert_true(cf_test_file_contains(cli_log, "lab report 2026-01"));
  assert_true(cf_test_file_contains(cli_log, "replaces the built-in table"));
  /* a directory that does not exist is an error, not a silent fallback */
  snprintf(env, sizeof env, "%s/nope", dir);
  setenv("CARBONFLUX_PARAMS", env, 1);
  cf_params_free(p);
  p = NULL;
  assert_int_equal(cf_params_load(ctx, &p), CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "nope"));
  cf_error_clear(ctx);
  snprintf(args, sizeof args, "params");
  assert_int_equal(cf_test_cli(args, cli_log), 1);
  unsetenv("CARBONFLUX_PARAMS");
  free(cli_log);
  free(logpath);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  cf_test_rmtree(dir2);
  free(dir);
  free(dir2);
}

/* Load `text` as the user table `name` and expect CF_EDATA with every
 * needle in the message. */
static void expect_bad(const char *name, const char *text, const char *const *needles, int n) {
  char *dir = cf_test_tmpdir();
  char file[300];
  snprintf(file, sizeof file, "%s.csv", name);
  cf_test_write_text(cf_test_path(dir, file), text);
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = NULL;
  assert_int_equal(cf_params_load_from(ctx, dir, &p), CF_EDATA);
  assert_null(p);
  const char *msg = cf_error_message(ctx);
  for (int i = 0; i < n; i++)
    if (!strstr(msg, needles[i])) {
      fprintf(stderr, "'%s' not in: %s\n", needles[i], msg);
      fail();
    }
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

static void bad_tables_name_file_line_column(void **state) {
  (void)state;
  /* no source column */
  const char *a[] = {"bad_nosource.csv:1", "source"};
  expect_bad("bad_nosource", "key,r_ratio,checked\nx,0.2,no\n", a, 2);
  /* no checked column */
  const char *a2[] = {"bad_nochecked.csv:1", "checked"};
  expect_bad("bad_nochecked", "key,r_ratio,source\nx,0.2,doc\n", a2, 2);
  /* a row with too few fields (line 3): it lacks 'source' onwards */
  const char *b[] = {"bad_short.csv", "line 3", "2 fields", "4 columns", "bad_short.csv:3: source: the row ends"};
  expect_bad("bad_short", "key,r_ratio,source,checked\nx,0.2,doc,no\ny,0.3\n", b, 5);
  /* a value that is not a number (line 2, column r_ratio) */
  const char *c[] = {"bad_value.csv", "line 2", "r_ratio", "'0.2x'"};
  expect_bad("bad_value", "key,r_ratio,source,checked\nx,0.2x,doc,no\n", c, 4);
  /* infinite values are not values */
  const char *c2[] = {"bad_inf.csv", "line 3", "agb_min_t_dm_per_ha"};
  expect_bad("bad_inf", "key,agb_min_t_dm_per_ha,source,checked\nx,1,doc,no\ny,inf,doc,no\n", c2, 3);
  /* checked must be yes or no; source must not be empty */
  const char *d[] = {"bad_checked.csv:2", "checked", "'maybe'"};
  expect_bad("bad_checked", "key,r_ratio,source,checked\nx,0.2,doc,maybe\n", d, 3);
  const char *e[] = {"bad_source.csv:3", "source", "empty"};
  expect_bad("bad_source", "key,r_ratio,source,checked\nx,0.2,doc,no\ny,0.1, ,no\n", e, 3);
  /* a replacement for a built-in table is held to the same rules */
  const char *f[] = {"carbon_fraction.csv", "line 2", "cf_t_c_per_t_dm"};
  expect_bad("carbon_fraction", "climate_domain,cf_t_c_per_t_dm,source,checked\ndefault,forty-seven,doc,no\n", f, 3);
}

static void print_lists_and_shows_tables(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load_builtin(ctx);
  char *dir = cf_test_tmpdir();
  char *path = strdup(cf_test_path(dir, "out.txt"));
  FILE *f = fopen(path, "w");
  assert_int_equal(cf_params_print(ctx, p, NULL, f), CF_OK);
  assert_int_equal(cf_params_print(ctx, p, "root_shoot_ipcc2006", f), CF_OK);
  assert_int_equal(cf_params_print(ctx, p, "nosuch", f), CF_EINVAL);
  fclose(f);
  assert_non_null(strstr(cf_error_message(ctx), "nosuch"));
  cf_error_clear(ctx);
  assert_true(cf_test_file_contains(path, "species_jenkins2003"));
  assert_true(cf_test_file_contains(path, "source: Jenkins"));
  assert_true(cf_test_file_contains(path, "agb_min_t_dm_per_ha        t d.m./ha"));
  assert_true(cf_test_file_contains(path, "r_ratio=0.37 1 (ratio)"));
  free(path);
  cf_test_rmtree(dir);
  free(dir);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void command_params(void **state) {
  cf_test_dir *d = *state;
  unsetenv("CARBONFLUX_PARAMS");
  assert_int_equal(cf_test_cli("params", d->log), 0);
  assert_true(cf_test_file_contains(d->log, "carbon_fraction"));
  assert_true(cf_test_file_contains(d->log, "source: IPCC 2006 GL Vol. 4 Ch. 4 Table 4.4"));
  assert_true(cf_test_file_contains(d->log, "source: CDM AR-TOOL12"));
  assert_int_equal(cf_test_cli("params carbon_fraction", d->log), 0);
  assert_true(cf_test_file_contains(d->log, "cf_t_c_per_t_dm=0.47 t C/t d.m."));
  assert_true(cf_test_file_contains(d->log, "source: IPCC 2006 GL Vol. 4 Ch. 4 Table 4.3"));
  assert_true(cf_test_file_contains(d->log, "checked: no"));
  assert_int_equal(cf_test_cli("params nosuch", d->log), 1);
  assert_true(cf_test_file_contains(d->log, "no parameter table 'nosuch'"));
  assert_int_equal(cf_test_cli("params --help", d->log), 0);
  assert_true(cf_test_file_contains(d->log, "CARBONFLUX_PARAMS"));
  assert_int_equal(cf_test_cli("params a b", d->log), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(builtin_tables_load_with_sources),
      cmocka_unit_test(lookups_give_value_unit_source),
      cmocka_unit_test(class_lookup_artool12),
      cmocka_unit_test(tempest_species_all_mapped),
      cmocka_unit_test(user_table_overrides_builtin),
      cmocka_unit_test(bad_tables_name_file_line_column),
      cmocka_unit_test(print_lists_and_shows_tables),
      cmocka_unit_test_setup_teardown(command_params, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
