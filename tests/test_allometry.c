/*
 * Allometry (sink/allometry.h) against hand computation.
 *
 * Every expected value is computed here from the published formula with
 * the published coefficients typed into this file, never through the code
 * under test:
 *   - AR-TOOL14 root-to-shoot ratio R = exp(-1.085 + 0.9256 ln b)/b
 *     (CDM AR-TOOL14; Cairns et al. 1997), b in t d.m./ha;
 *   - Chave et al. 2014 (Glob. Change Biol. 20:3177, Eq. 4):
 *     AGB = 0.0673 (rho D^2 H)^0.976, kg, rho g/cm3, D cm, H m;
 *   - Jenkins et al. 2003 (For. Sci. 49(1):12-35, Table 4):
 *     biomass = exp(b0 + b1 ln dbh), kg, dbh cm, with
 *       hard maple/oak/hickory/beech b0 = -2.0127, b1 = 2.4342
 *       mixed hardwood               b0 = -2.4800, b1 = 2.4835 (max dbh 56)
 *       soft maple/birch             b0 = -1.9123, b1 = 2.3651
 *     (coefficients as commonly cited; the table rows say checked=no).
 * Tolerances: the code evaluates the same closed forms with the same
 * doubles, so 1e-12 relative covers any difference in operation order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "sink/allometry.h"

static const double RTOL = 1e-12;

static cf_params *load(cf_ctx *ctx) {
  cf_params *p = NULL;
  int rc = cf_params_load_from(ctx, NULL, &p);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  return p;
}

static double eval(cf_ctx *ctx, const cf_allometry *eq, double d, double h, double rho, unsigned *flags) {
  cf_stem s = {d, h, rho};
  double kg;
  unsigned f;
  int rc = cf_allometry_eval(ctx, eq, &s, &kg, &f);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  if (flags) *flags = f;
  return kg;
}

static void artool14_root_shoot(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  double r;
  assert_int_equal(cf_root_shoot_artool14(ctx, p, 50, &r), CF_OK);
  assert_close(r, exp(-1.085 + 0.9256 * log(50.0)) / 50.0, RTOL, 0);
  assert_close(r, 0.252573114, 1e-8, 0); /* the same by a calculator */
  assert_int_equal(cf_root_shoot_artool14(ctx, p, 150, &r), CF_OK);
  assert_close(r, exp(-1.085 + 0.9256 * log(150.0)) / 150.0, RTOL, 0);
  assert_close(r, 0.232749790, 1e-8, 0);
  assert_int_equal(cf_root_shoot_artool14(ctx, p, 0, &r), CF_EINVAL);
  assert_int_equal(cf_root_shoot_artool14(ctx, p, NAN, &r), CF_EINVAL);
  cf_error_clear(ctx);
  /* the function is not a stem allometry */
  cf_allometry eq;
  assert_int_equal(cf_allometry_from_table(ctx, p, "artool14_root_shoot", &eq), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "root-to-shoot"));
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void ipcc2006_root_shoot_classes(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  cf_param_value v;
  /* temperate conifers: < 50, 50-150, > 150 t/ha give 0.40, 0.29, 0.20 */
  assert_int_equal(cf_root_shoot_ipcc2006(ctx, p, "temperate", "conifer", 40, &v), CF_OK);
  assert_close(v.value, 0.40, 0, 0);
  assert_int_equal(cf_root_shoot_ipcc2006(ctx, p, "temperate", "conifer", 50, &v), CF_OK); /* [min, max) */
  assert_close(v.value, 0.29, 0, 0);
  assert_int_equal(cf_root_shoot_ipcc2006(ctx, p, "temperate", "conifer", 400, &v), CF_OK);
  assert_close(v.value, 0.20, 0, 0);
  assert_non_null(strstr(v.source, "Table 4.4"));
  assert_int_equal(cf_root_shoot_ipcc2006(ctx, p, "boreal", "all", 74.9, &v), CF_OK);
  assert_close(v.value, 0.39, 0, 0);
  /* Quercus rows start at 70 t/ha: below that there is no row */
  assert_int_equal(cf_root_shoot_ipcc2006(ctx, p, "temperate", "quercus", 60, &v), CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "quercus"));
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void chave2014_one_stem(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  cf_allometry eq;
  assert_int_equal(cf_allometry_select(ctx, p, "chave2014", NULL, &eq), CF_OK);
  assert_true(cf_allometry_uses_height(&eq));
  assert_true(cf_allometry_uses_density(&eq));
  /* D = 30 cm, H = 25 m, rho = 0.6: rho D^2 H = 13500;
   * 13500^0.976 = exp(0.976 x 9.510445) = 10745.0; x 0.0673 = 723.14 kg */
  unsigned f;
  double kg = eval(ctx, &eq, 30, 25, 0.6, &f);
  assert_close(kg, 0.0673 * pow(0.6 * 30 * 30 * 25, 0.976), RTOL, 0);
  assert_close(kg, 723.137, 1e-5, 0);
  assert_int_equal(f, 0);
  /* no height: a clear error naming the equation and the input */
  cf_stem s = {30, NAN, 0.6};
  double out;
  assert_int_equal(cf_allometry_eval(ctx, &eq, &s, &out, &f), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "chave2014"));
  assert_non_null(strstr(cf_error_message(ctx), "height_m"));
  assert_true(isnan(out));
  cf_error_clear(ctx);
  s.height_m = 25;
  s.rho_g_cm3 = NAN;
  assert_int_equal(cf_allometry_eval(ctx, &eq, &s, &out, &f), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "wood_density_g_cm3"));
  cf_error_clear(ctx);
  s.rho_g_cm3 = 0.6;
  s.dbh_cm = -3;
  assert_int_equal(cf_allometry_eval(ctx, &eq, &s, &out, &f), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "dbh_cm"));
  cf_error_clear(ctx);
  /* outside the valid D range (5-212 cm): computed and flagged, or an
   * error when the equation is strict */
  kg = eval(ctx, &eq, 3, 4, 0.6, &f);
  assert_close(kg, 0.0673 * pow(0.6 * 3 * 3 * 4, 0.976), RTOL, 0);
  assert_int_equal(f, CF_ALLOM_OUT_OF_RANGE);
  eq.strict_range = 1;
  s.dbh_cm = 3;
  s.height_m = 4;
  assert_int_equal(cf_allometry_eval(ctx, &eq, &s, &out, &f), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "valid range"));
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

/* TEMPEST stems: the first stem of each species in the inventory with its
 * DBH_2019 (tree ids 1308, 1323, 1312, 1314, 1304, 1416, 1302, 1301). */
static void jenkins2003_tempest_stems(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  const struct {
    const char *code;
    double dbh, b0, b1;
  } stems[] = {
      {"FAGR", 5.9, -2.0127, 2.4342},   /* American beech: hard maple/oak/hickory/beech */
      {"QUAL", 28.7, -2.0127, 2.4342},  /* white oak */
      {"CAGL8", 26.3, -2.0127, 2.4342}, /* pignut hickory */
      {"LITU", 9.5, -2.4800, 2.4835},   /* yellow-poplar: mixed hardwood */
      {"LIST2", 51.8, -2.4800, 2.4835}, /* sweetgum */
      {"NYSY", 11.9, -2.4800, 2.4835},  /* blackgum */
      {"ACRU", 11.7, -1.9123, 2.3651},  /* red maple: soft maple/birch */
      {"COFL2", 10.7, -2.4800, 2.4835}, /* flowering dogwood */
  };
  for (size_t i = 0; i < sizeof stems / sizeof *stems; i++) {
    cf_allometry eq;
    assert_int_equal(cf_allometry_select(ctx, p, "jenkins2003", stems[i].code, &eq), CF_OK);
    assert_false(cf_allometry_uses_height(&eq));
    unsigned f;
    double kg = eval(ctx, &eq, stems[i].dbh, NAN, NAN, &f); /* needs neither H nor rho */
    assert_close(kg, exp(stems[i].b0 + stems[i].b1 * log(stems[i].dbh)), RTOL, 0);
    assert_int_equal(f, 0);
    assert_non_null(strstr(eq.source, "Jenkins"));
  }
  /* the mixed-hardwood equation was fitted up to 56 cm: a 60 cm sweetgum is
   * computed and flagged */
  cf_allometry eq;
  assert_int_equal(cf_allometry_jenkins_species(ctx, p, "LIST2", &eq), CF_OK);
  unsigned f;
  double kg = eval(ctx, &eq, 60, NAN, NAN, &f);
  assert_close(kg, exp(-2.4800 + 2.4835 * log(60.0)), RTOL, 0);
  assert_int_equal(f, CF_ALLOM_OUT_OF_RANGE);
  /* unknown species, no species */
  assert_int_equal(cf_allometry_select(ctx, p, "jenkins2003", "ZZTOP", &eq), CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "ZZTOP"));
  cf_error_clear(ctx);
  assert_int_equal(cf_allometry_select(ctx, p, "jenkins2003", "", &eq), CF_EINVAL);
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void parsed_forms_match_hand_formulas(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_allometry eq;
  const double d = 27.5, h = 19.0, rho = 0.55;
  assert_int_equal(cf_allometry_parse(ctx, "0.1*D^2.5", &eq), CF_OK);
  assert_int_equal(eq.form, CF_ALLOM_POWER);
  assert_close(eval(ctx, &eq, d, NAN, NAN, NULL), 0.1 * pow(d, 2.5), RTOL, 0);
  assert_int_equal(cf_allometry_parse(ctx, " 0.0673 * ( rho * D^2 * H ) ^ 0.976 ", &eq), CF_OK);
  assert_int_equal(eq.form, CF_ALLOM_RHO_D2H);
  assert_close(eval(ctx, &eq, d, h, rho, NULL), 0.0673 * pow(rho * d * d * h, 0.976), RTOL, 0);
  assert_int_equal(cf_allometry_parse(ctx, "exp(-2.0127+2.4342*ln(D))", &eq), CF_OK);
  assert_int_equal(eq.form, CF_ALLOM_EXP_LN);
  assert_close(eval(ctx, &eq, d, NAN, NAN, NULL), exp(-2.0127 + 2.4342 * log(d)), RTOL, 0);
  assert_int_equal(cf_allometry_parse(ctx, "exp( 1.5 - 0.5 * ln( D ) )", &eq), CF_OK); /* the sign is b's */
  assert_close(eq.b, -0.5, 0, 0);
  assert_close(eval(ctx, &eq, d, NAN, NAN, NULL), exp(1.5 - 0.5 * log(d)), RTOL, 0);
  assert_int_equal(cf_allometry_parse(ctx, "2e-2*D^2.6", &eq), CF_OK);
  assert_close(eq.a, 0.02, 0, 0);
  /* the parsed Chave string and the table's chave2014 agree */
  cf_params *p = load(ctx);
  cf_allometry t;
  assert_int_equal(cf_allometry_select(ctx, p, "0.0673*(rho*D^2*H)^0.976", NULL, &eq), CF_OK);
  assert_int_equal(cf_allometry_select(ctx, p, "chave2014", NULL, &t), CF_OK);
  assert_close(eval(ctx, &eq, d, h, rho, NULL), eval(ctx, &t, d, h, rho, NULL), 0, 0);
  cf_params_free(p);
  /* anything else is refused, with the forms in the message */
  const char *bad[] = {"",
                       "0.1*D^",
                       "0.1*x^2",
                       "D^2",
                       "0.1*D^2+3",
                       "exp(-2+2*log(D))",
                       "exp(-2 2*ln(D))",
                       "inf*D^2",
                       "nan*D^2",
                       "0x10*D^2",
                       "0.1*(rho*D^2)^0.9",
                       "-0.1*D^2",
                       "0.1 2*D^2",
                       "0.1*D^2 .5",
                       "0.0673*(r ho*D^2*H)^0.976",
                       "0.0673*(rho*D^2*H)^0.976; rm -rf /"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (cf_allometry_parse(ctx, bad[i], &eq) == CF_OK) {
      fprintf(stderr, "'%s' was accepted\n", bad[i]);
      fail();
    }
    assert_non_null(strstr(cf_error_message(ctx), "a*D^b"));
    cf_error_clear(ctx);
  }
  cf_ctx_destroy(ctx);
}

static void unknown_setting_names_the_choices(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  cf_allometry eq;
  assert_int_equal(cf_allometry_select(ctx, p, "chave2015", NULL, &eq), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "chave2015"));
  assert_non_null(strstr(cf_error_message(ctx), "carbonflux params equations"));
  cf_error_clear(ctx);
  assert_int_equal(cf_allometry_select(ctx, p, "jenkins2003_pine", NULL, &eq), CF_OK);
  assert_close(eq.dbh_max_cm, 180, 0, 0);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void volume_density_bef_route(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  cf_allometry eq;
  /* an illustrative stem-volume equation V = 5e-5 D^2.6 m3 */
  const double d = 20;
  assert_int_equal(cf_allometry_volume(ctx, p, "5e-5*D^2.6", 0.45, 1.4, &eq), CF_OK);
  assert_close(eval(ctx, &eq, d, NAN, NAN, NULL), 5e-5 * pow(d, 2.6) * 0.45 * 1.4 * 1000, RTOL, 0);
  /* density from each stem */
  assert_int_equal(cf_allometry_volume(ctx, p, "5e-5*D^2.6", NAN, 1.4, &eq), CF_OK);
  assert_true(cf_allometry_uses_density(&eq));
  assert_close(eval(ctx, &eq, d, NAN, 0.5, NULL), 5e-5 * pow(d, 2.6) * 0.5 * 1.4 * 1000, RTOL, 0);
  /* density and BEF of Chinese fir from species_china */
  cf_param_value dens, bef;
  assert_int_equal(cf_params_get(ctx, p, "species_china", "species_group", "chinese_fir", "wood_density_t_m3", &dens),
                   CF_OK);
  assert_int_equal(cf_params_get(ctx, p, "species_china", "species_group", "chinese_fir", "bef_ratio", &bef), CF_OK);
  assert_close(dens.value, 0.307, 0, 0);
  assert_close(bef.value, 1.634, 0, 0);
  assert_int_equal(cf_allometry_volume_china(ctx, p, "exp(-9.5+2.6*ln(D))", "chinese_fir", &eq), CF_OK);
  assert_close(eval(ctx, &eq, d, NAN, NAN, NULL), exp(-9.5 + 2.6 * log(d)) * 0.307 * 1.634 * 1000, RTOL, 0);
  assert_non_null(strstr(eq.source, "CCER"));
  /* a BEF is required, a biomass equation is not a volume equation */
  assert_int_equal(cf_allometry_volume(ctx, p, "5e-5*D^2.6", 0.45, NAN, &eq), CF_EINVAL);
  assert_int_equal(cf_allometry_volume(ctx, p, "chave2014", 0.45, 1.4, &eq), CF_EINVAL);
  assert_int_equal(cf_allometry_volume_china(ctx, p, "5e-5*D^2.6", "baobab", &eq), CF_ENOENT);
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

static void wood_density_sources(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = load(ctx);
  double rho;
  assert_int_equal(cf_wood_density(ctx, p, "FAGR", 0.62, &rho), CF_OK); /* the stem's own wins */
  assert_close(rho, 0.62, 0, 0);
  assert_int_equal(cf_wood_density(ctx, p, "FAGR", NAN, &rho), CF_OK); /* species_jenkins2003 */
  assert_close(rho, 0.56, 0, 0);
  assert_int_equal(cf_wood_density(ctx, p, "masson_pine", NAN, &rho), CF_OK); /* species_china */
  assert_close(rho, 0.380, 0, 0);
  assert_int_equal(cf_wood_density(ctx, p, "COFL2", NAN, &rho), CF_EINVAL); /* in the table, no density */
  assert_non_null(strstr(cf_error_message(ctx), "COFL2"));
  cf_error_clear(ctx);
  assert_int_equal(cf_wood_density(ctx, p, "XYZ1", -1, &rho), CF_EINVAL);
  assert_non_null(strstr(cf_error_message(ctx), "XYZ1"));
  assert_true(isnan(rho));
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
}

/* A project's own equation, added at run time through CARBONFLUX_PARAMS,
 * is selected by name like a built-in one; a row with a form carbonflux
 * does not know is refused naming the file, the line and the column. */
static void user_equation_table(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_test_write_text(cf_test_path(dir, "equations.csv"),
                     "name,form,a_coef,b_coef,output,dbh_min_cm,dbh_max_cm,source,checked\n"
                     "local_fir,a*D^b,0.08,2.45,kg_dm,4,40,\"project destructive sample, 2025\",yes\n"
                     "local_odd,a*D^b*H,0.08,2.45,kg_dm,,,x,no\n");
  cf_ctx *ctx = cf_test_ctx();
  cf_params *p = NULL;
  assert_int_equal(cf_params_load_from(ctx, dir, &p), CF_OK);
  cf_allometry eq;
  assert_int_equal(cf_allometry_select(ctx, p, "local_fir", NULL, &eq), CF_OK);
  unsigned f;
  assert_close(eval(ctx, &eq, 25, NAN, NAN, &f), 0.08 * pow(25.0, 2.45), RTOL, 0);
  assert_int_equal(f, 0);
  assert_string_equal(eq.source, "project destructive sample, 2025");
  assert_int_equal(cf_allometry_select(ctx, p, "local_odd", NULL, &eq), CF_EDATA);
  char where[1200];
  snprintf(where, sizeof where, "%s:3: form", cf_test_path(dir, "equations.csv"));
  assert_non_null(strstr(cf_error_message(ctx), where));
  cf_error_clear(ctx);
  /* the user table replaced the built-in one: chave2014 is gone */
  assert_int_equal(cf_allometry_select(ctx, p, "chave2014", NULL, &eq), CF_EINVAL);
  cf_error_clear(ctx);
  cf_params_free(p);
  cf_ctx_destroy(ctx);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(artool14_root_shoot),
      cmocka_unit_test(ipcc2006_root_shoot_classes),
      cmocka_unit_test(chave2014_one_stem),
      cmocka_unit_test(jenkins2003_tempest_stems),
      cmocka_unit_test(parsed_forms_match_hand_formulas),
      cmocka_unit_test(unknown_setting_names_the_choices),
      cmocka_unit_test(volume_density_bef_route),
      cmocka_unit_test(wood_density_sources),
      cmocka_unit_test(user_equation_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
