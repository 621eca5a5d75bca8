/*
 * Allometric equations (sink/allometry.h): construction from table rows and
 * strings, validation per stem, wood density and root-to-shoot lookups.
 *
 * Shape: everything that can be decided before the stems are read is
 * decided at construction (form, coefficients, range, the volume route's
 * density and BEF), so evaluation is a few checks and one pow/exp. The
 * string parser matches whole templates rather than evaluating an
 * expression: the three forms are all the field manuals use, and a
 * template either matches exactly or the string is refused.
 */
#include "sink/allometry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const cf_allom_form_text[3] = {"a*D^b", "a*(rho*D^2*H)^b", "exp(a+b*ln(D))"};

static const char FORMS_HELP[] =
    "write one of a*D^b, a*(rho*D^2*H)^b, exp(a+b*ln(D)) with numbers for a and b "
    "(D cm, H m, rho g/cm3; result kg d.m.), or a name from 'carbonflux params equations'";

static void init(cf_allometry *eq) {
  memset(eq, 0, sizeof *eq);
  eq->dbh_min_cm = NAN;
  eq->dbh_max_cm = NAN;
  eq->density_t_m3 = NAN;
  eq->bef = NAN;
}

static void copy_str(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "");
}

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A plain decimal number at *s ("2.0127", "0.976", "1e-3", "-2.0127"); no
 * inf, nan or hex. `need_sign`: the number must start with + or - (the b of
 * exp(a+b*ln(D)), whose sign is the operator; spaces may follow it). */
static int take_number(const char **s, int need_sign, double *v) {
  const char *p = *s;
  double sign = 1;
  if (need_sign) {
    if (*p != '+' && *p != '-') return 0;
    sign = *p == '-' ? -1 : 1;
    p++;
    while (is_space(*p)) p++;
  }
  const char *q = p;
  if (!need_sign && (*q == '+' || *q == '-')) q++;
  if (!((*q >= '0' && *q <= '9') || (*q == '.' && q[1] >= '0' && q[1] <= '9'))) return 0;
  if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) return 0;
  char *end;
  double x = strtod(p, &end);
  if (end == p || !isfinite(x)) return 0;
  *v = sign * x;
  *s = end;
  return 1;
}

/* Match `s` against `tmpl`, where '#' is a number and '~' a number with an
 * explicit sign; literal parts compare case-sensitively. Spaces are allowed
 * between tokens (not inside a number or a name such as "rho"). Returns 1
 * and the numbers, or 0. */
static int match(const char *s, const char *tmpl, double *nums) {
  int k = 0;
  for (const char *t = tmpl; *t; t++) {
    if (!(t > tmpl && is_alpha(t[-1]) && is_alpha(*t)))
      while (is_space(*s)) s++;
    if (*t == '#' || *t == '~') {
      if (!take_number(&s, *t == '~', &nums[k++])) return 0;
    } else if (*s++ != *t) {
      return 0;
    }
  }
  while (is_space(*s)) s++;
  return *s == '\0';
}

/* Which form, with a and b, a string has; -1 if none. */
static int parse_form(const char *text, double *a, double *b) {
  double x[2];
  if (match(text, "#*D^#", x)) {
    *a = x[0], *b = x[1];
    return CF_ALLOM_POWER;
  }
  if (match(text, "#*(rho*D^2*H)^#", x)) {
    *a = x[0], *b = x[1];
    return CF_ALLOM_RHO_D2H;
  }
  if (match(text, "exp(#~*ln(D))", x)) {
    *a = x[0], *b = x[1];
    return CF_ALLOM_EXP_LN;
  }
  return -1;
}

static int check_coefs(cf_ctx *ctx, const cf_allometry *eq, const char *where) {
  if (eq->form != CF_ALLOM_EXP_LN && !(eq->a > 0))
    return cf_error(ctx, CF_EINVAL, where, "a", "equation '%s': a must be > 0 in %s (got %g): biomass would not be "
                    "positive", eq->name, cf_allom_form_text[eq->form], eq->a);
  return CF_OK;
}

int cf_allometry_parse(cf_ctx *ctx, const char *text, cf_allometry *out) {
  init(out);
  double a, b;
  int form = text ? parse_form(text, &a, &b) : -1;
  if (form < 0)
    return cf_error(ctx, CF_EINVAL, "allometry", "allometry", "'%s' is not an equation carbonflux reads: %s",
                    text ? text : "(null)", FORMS_HELP);
  out->form = (cf_allom_form)form;
  out->a = a;
  out->b = b;
  out->output = CF_ALLOM_KG_DM;
  copy_str(out->name, sizeof out->name, text);
  copy_str(out->source, sizeof out->source, "given as text in the settings");
  return check_coefs(ctx, out, "allometry");
}

/* The equations table's row `name` as an equation object. */
int cf_allometry_from_table(cf_ctx *ctx, const cf_params *p, const char *name, cf_allometry *out) {
  init(out);
  const cf_param_table *t;
  int rc = cf_params_find(ctx, p, "equations", &t), row;
  if (rc) return rc;
  const char *key = "name";
  if ((rc = cf_param_table_find_row(ctx, t, 1, &key, &name, &row))) return rc;
  char where[600];
  snprintf(where, sizeof where, "%s:%ld", cf_param_table_origin(t), cf_param_table_line(t, row));
  const char *form_text = cf_param_table_text(t, row, cf_param_table_column(t, "form"));
  const char *output = cf_param_table_text(t, row, cf_param_table_column(t, "output"));
  int form = -1;
  char f[128]; /* the form without spaces */
  size_t n = 0;
  for (const char *q = form_text; *q && n + 1 < sizeof f; q++)
    if (!is_space(*q)) f[n++] = *q;
  f[n] = '\0';
  for (int i = 0; i < 3; i++)
    if (!strcmp(f, cf_allom_form_text[i])) form = i;
  if (!strcasecmp(output, "ratio"))
    return cf_error(ctx, CF_EINVAL, where, "output", "equation '%s' (%s) is a root-to-shoot function, not a stem "
                    "allometry", name, form_text);
  if (form < 0)
    return cf_error(ctx, CF_EDATA, where, "form", "equation '%s': form '%s' is not one of a*D^b, a*(rho*D^2*H)^b, "
                    "exp(a+b*ln(D))", name, form_text);
  if (strcasecmp(output, "kg_dm") && strcasecmp(output, "m3"))
    return cf_error(ctx, CF_EDATA, where, "output", "equation '%s': output '%s' is not kg_dm or m3", name, output);
  cf_param_value a, b;
  if ((rc = cf_param_table_number(ctx, t, row, "a_coef", &a))) return rc;
  if ((rc = cf_param_table_number(ctx, t, row, "b_coef", &b))) return rc;
  out->form = (cf_allom_form)form;
  out->a = a.value;
  out->b = b.value;
  out->output = strcasecmp(output, "m3") ? CF_ALLOM_KG_DM : CF_ALLOM_VOLUME_M3;
  int cmin = cf_param_table_column(t, "dbh_min_cm"), cmax = cf_param_table_column(t, "dbh_max_cm");
  out->dbh_min_cm = cf_param_table_value(t, row, cmin);
  out->dbh_max_cm = cf_param_table_value(t, row, cmax);
  copy_str(out->name, sizeof out->name, name);
  copy_str(out->source, sizeof out->source, a.source);
  return check_coefs(ctx, out, where);
}

int cf_allometry_jenkins_species(cf_ctx *ctx, const cf_params *p, const char *usda_code, cf_allometry *out) {
  init(out);
  if (!usda_code || !usda_code[0])
    return cf_error(ctx, CF_EINVAL, "allometry", "species", "jenkins2003 needs the stem's species (a USDA PLANTS "
                    "code); this stem has none");
  const cf_param_table *t;
  int rc = cf_params_find(ctx, p, "species_jenkins2003", &t), row;
  if (rc) return rc;
  const char *key = "usda_code";
  if ((rc = cf_param_table_find_row(ctx, t, 1, &key, &usda_code, &row))) {
    return cf_error(ctx, rc, "allometry", "species", "species '%s' has no Jenkins 2003 group: add it to a "
                    "species_jenkins2003 table (CARBONFLUX_PARAMS)", usda_code);
  }
  const char *group = cf_param_table_text(t, row, cf_param_table_column(t, "jenkins_group"));
  char name[160];
  snprintf(name, sizeof name, "jenkins2003_%s", group);
  return cf_allometry_from_table(ctx, p, name, out);
}

/* A volume equation from a table name or a parsed form. */
static int volume_equation(cf_ctx *ctx, const cf_params *p, const char *volume, cf_allometry *out) {
  int rc;
  const cf_param_table *t = cf_params_table(p, "equations");
  int is_name = 0, col = t ? cf_param_table_column(t, "name") : -1;
  for (int r = 0; col >= 0 && r < cf_param_table_rows(t); r++)
    if (!strcmp(cf_param_table_text(t, r, col), volume)) is_name = 1;
  if (is_name) {
    if ((rc = cf_allometry_from_table(ctx, p, volume, out))) return rc;
    if (out->output != CF_ALLOM_VOLUME_M3)
      return cf_error(ctx, CF_EINVAL, "allometry", "volume", "equation '%s' gives biomass, not stem volume (m3)",
                      volume);
    return CF_OK;
  }
  if ((rc = cf_allometry_parse(ctx, volume, out))) return rc;
  out->output = CF_ALLOM_VOLUME_M3;
  return CF_OK;
}

int cf_allometry_volume(cf_ctx *ctx, const cf_params *p, const char *volume, double density_t_m3, double bef,
                        cf_allometry *out) {
  int rc = volume_equation(ctx, p, volume, out);
  if (rc) return rc;
  if (!(bef > 0) || !isfinite(bef))
    return cf_error(ctx, CF_EINVAL, "allometry", "bef", "volume route '%s': the BEF must be a number > 0, got %g",
                    volume, bef);
  if (!isnan(density_t_m3) && (!(density_t_m3 > 0) || !isfinite(density_t_m3)))
    return cf_error(ctx, CF_EINVAL, "allometry", "wood_density", "volume route '%s': the wood density must be > 0 "
                    "t/m3, got %g", volume, density_t_m3);
  out->density_t_m3 = density_t_m3;
  out->bef = bef;
  return CF_OK;
}

int cf_allometry_volume_china(cf_ctx *ctx, const cf_params *p, const char *volume, const char *species_group,
                              cf_allometry *out) {
  cf_param_value d, bef;
  int rc = cf_params_get(ctx, p, "species_china", "species_group", species_group, "wood_density_t_m3", &d);
  if (!rc) rc = cf_params_get(ctx, p, "species_china", "species_group", species_group, "bef_ratio", &bef);
  if (!rc) rc = cf_allometry_volume(ctx, p, volume, d.value, bef.value, out);
  if (!rc) snprintf(out->source + strlen(out->source), sizeof out->source - strlen(out->source),
                    "; density and BEF: %s", d.source);
  return rc;
}

int cf_allometry_select(cf_ctx *ctx, const cf_params *p, const char *setting, const char *species,
                        cf_allometry *out) {
  if (!setting || !setting[0]) return cf_error(ctx, CF_EINVAL, "allometry", "allometry", "no equation given: %s",
                                               FORMS_HELP);
  if (!strcmp(setting, "jenkins2003")) return cf_allometry_jenkins_species(ctx, p, species, out);
  const cf_param_table *t = cf_params_table(p, "equations");
  int col = t ? cf_param_table_column(t, "name") : -1;
  for (int r = 0; col >= 0 && r < cf_param_table_rows(t); r++)
    if (!strcmp(cf_param_table_text(t, r, col), setting)) return cf_allometry_from_table(ctx, p, setting, out);
  return cf_allometry_parse(ctx, setting, out);
}

int cf_allometry_uses_height(const cf_allometry *eq) { return eq->form == CF_ALLOM_RHO_D2H; }
int cf_allometry_uses_density(const cf_allometry *eq) {
  return eq->form == CF_ALLOM_RHO_D2H || (eq->output == CF_ALLOM_VOLUME_M3 && isnan(eq->density_t_m3));
}

int cf_allometry_eval(cf_ctx *ctx, const cf_allometry *eq, const cf_stem *s, double *kg_dm, unsigned *flags) {
  *kg_dm = NAN;
  *flags = 0;
  double d = s->dbh_cm, h = s->height_m, rho = s->rho_g_cm3;
  if (!isfinite(d) || !(d > 0))
    return cf_error(ctx, CF_EINVAL, eq->name, "dbh_cm", "the diameter must be a number > 0 cm, got %g", d);
  if (cf_allometry_uses_height(eq) && (!isfinite(h) || !(h > 0)))
    return cf_error(ctx, CF_EINVAL, eq->name, "height_m", "equation '%s' (%s) uses the height H: the stem needs "
                    "height_m > 0 (got %g)", eq->name, cf_allom_form_text[eq->form], h);
  if (cf_allometry_uses_density(eq) && (!isfinite(rho) || !(rho > 0)))
    return cf_error(ctx, CF_EINVAL, eq->name, "wood_density_g_cm3", "equation '%s' uses the wood density: the stem "
                    "needs a density > 0 g/cm3 (got %g)", eq->name, rho);
  if ((!isnan(eq->dbh_min_cm) && d < eq->dbh_min_cm) || (!isnan(eq->dbh_max_cm) && d > eq->dbh_max_cm)) {
    if (eq->strict_range)
      return cf_error(ctx, CF_EDATA, eq->name, "dbh_cm", "D = %g cm is outside the equation's valid range "
                      "%g-%g cm", d, eq->dbh_min_cm, eq->dbh_max_cm);
    *flags |= CF_ALLOM_OUT_OF_RANGE;
  }
  double y;
  switch (eq->form) {
  case CF_ALLOM_POWER: y = eq->a * pow(d, eq->b); break;
  case CF_ALLOM_RHO_D2H: y = eq->a * pow(rho * d * d * h, eq->b); break;
  case CF_ALLOM_EXP_LN: y = exp(eq->a + eq->b * log(d)); break;
  default: return cf_error(ctx, CF_EINTERNAL, eq->name, "", "unknown form %d", (int)eq->form);
  }
  if (eq->output == CF_ALLOM_VOLUME_M3) {
    if (isnan(eq->bef))
      return cf_error(ctx, CF_EINVAL, eq->name, "bef", "equation '%s' gives stem volume: use it through the volume "
                      "route (density and BEF)", eq->name);
    double dens = isnan(eq->density_t_m3) ? rho : eq->density_t_m3;
    y = y * dens * eq->bef * 1000.0; /* m3 x t/m3 x BEF -> t, x 1000 -> kg */
  }
  if (!isfinite(y))
    return cf_error(ctx, CF_EDATA, eq->name, "dbh_cm", "biomass is not finite for D = %g cm", d);
  *kg_dm = y;
  return CF_OK;
}

int cf_wood_density(cf_ctx *ctx, const cf_params *p, const char *species, double stem_rho, double *rho) {
  *rho = NAN;
  if (isfinite(stem_rho) && stem_rho > 0) {
    *rho = stem_rho;
    return CF_OK;
  }
  if (species && species[0]) {
    const cf_param_table *t = cf_params_table(p, "species_jenkins2003");
    int kc = t ? cf_param_table_column(t, "usda_code") : -1;
    int vc = t ? cf_param_table_column(t, "wood_density_g_cm3") : -1;
    for (int r = 0; kc >= 0 && vc >= 0 && r < cf_param_table_rows(t); r++)
      if (!strcasecmp(cf_param_table_text(t, r, kc), species) && !isnan(cf_param_table_value(t, r, vc))) {
        *rho = cf_param_table_value(t, r, vc);
        return CF_OK;
      }
    t = cf_params_table(p, "species_china");
    kc = t ? cf_param_table_column(t, "species_group") : -1;
    vc = t ? cf_param_table_column(t, "wood_density_t_m3") : -1;
    for (int r = 0; kc >= 0 && vc >= 0 && r < cf_param_table_rows(t); r++)
      if (!strcasecmp(cf_param_table_text(t, r, kc), species) && !isnan(cf_param_table_value(t, r, vc))) {
        *rho = cf_param_table_value(t, r, vc); /* t/m3 = g/cm3 */
        return CF_OK;
      }
  }
  return cf_error(ctx, CF_EINVAL, "wood density", "species",
                  "no wood density for species '%s': give the stem's wood_density_g_cm3, or add the species to "
                  "species_jenkins2003 (wood_density_g_cm3) or species_china (wood_density_t_m3)",
                  species && species[0] ? species : "(none)");
}

int cf_root_shoot_artool14(cf_ctx *ctx, const cf_params *p, double b, double *r) {
  *r = NAN;
  if (!isfinite(b) || !(b > 0))
    return cf_error(ctx, CF_EINVAL, "root_shoot", "agb_t_dm_per_ha", "AR-TOOL14's R needs above-ground biomass "
                    "> 0 t d.m./ha, got %g", b);
  cf_param_value a, c;
  int rc = cf_params_get(ctx, p, "equations", "name", "artool14_root_shoot", "a_coef", &a);
  if (!rc) rc = cf_params_get(ctx, p, "equations", "name", "artool14_root_shoot", "b_coef", &c);
  if (rc) return rc;
  *r = exp(a.value + c.value * log(b)) / b;
  return CF_OK;
}

int cf_root_shoot_ipcc2006(cf_ctx *ctx, const cf_params *p, const char *ecozone, const char *forest_type,
                           double agb, cf_param_value *out) {
  const cf_param_table *t;
  int rc = cf_params_find(ctx, p, "root_shoot_ipcc2006", &t), row;
  if (rc) return rc;
  if (!isfinite(agb) || agb < 0)
    return cf_error(ctx, CF_EINVAL, "root_shoot", "agb_t_dm_per_ha", "above-ground biomass must be >= 0, got %g", agb);
  const char *cols[2] = {"ecozone", "forest_type"}, *vals[2] = {ecozone, forest_type};
  const char *lo = "agb_min_t_dm_per_ha", *hi = "agb_max_t_dm_per_ha";
  rc = cf_param_table_find_class(ctx, t, 2, cols, vals, 1, &lo, &hi, &agb, &row);
  if (!rc) rc = cf_param_table_number(ctx, t, row, "r_ratio", out);
  return rc;
}

int cf_root_shoot_ipcc2006_nearest(cf_ctx *ctx, const cf_params *p, const char *ecozone, const char *forest_type,
                                   double agb, cf_param_value *out, double *class_agb) {
  *class_agb = agb;
  cf_ctx *tmp = cf_ctx_create();
  if (!tmp) return cf_error(ctx, CF_ENOMEM, "root_shoot", "", "out of memory");
  int rc = cf_root_shoot_ipcc2006(tmp, p, ecozone, forest_type, agb, out);
  cf_ctx_destroy(tmp);
  if (rc != CF_ENOENT) return rc ? cf_root_shoot_ipcc2006(ctx, p, ecozone, forest_type, agb, out) : CF_OK;
  /* no class holds agb: the nearest bound of the forest type's classes */
  const cf_param_table *t;
  if ((rc = cf_params_find(ctx, p, "root_shoot_ipcc2006", &t))) return rc;
  int ce = cf_param_table_column(t, "ecozone"), cft = cf_param_table_column(t, "forest_type");
  int clo = cf_param_table_column(t, "agb_min_t_dm_per_ha"), chi = cf_param_table_column(t, "agb_max_t_dm_per_ha");
  double best = INFINITY, at = NAN;
  for (int i = 0; i < cf_param_table_rows(t); i++) {
    if (strcasecmp(cf_param_table_text(t, i, ce), ecozone) || strcasecmp(cf_param_table_text(t, i, cft), forest_type))
      continue;
    double lo = cf_param_table_value(t, i, clo), hi = cf_param_table_value(t, i, chi);
    /* the class is [lo, hi): its nearest point to agb (hi itself is outside, so a hair below it) */
    double x = !isnan(lo) && agb < lo ? lo : !isnan(hi) && agb >= hi ? nextafter(hi, -INFINITY) : agb;
    if (fabs(x - agb) < best) best = fabs(x - agb), at = x;
  }
  if (isnan(at)) return cf_root_shoot_ipcc2006(ctx, p, ecozone, forest_type, agb, out); /* no such type: its error */
  *class_agb = at;
  return cf_root_shoot_ipcc2006(ctx, p, ecozone, forest_type, at, out);
}
