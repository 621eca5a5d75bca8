/*
 * Allometry: the biomass of one tree from what a field crew measures
 * (diameter at breast height, sometimes height) and the wood's basic
 * density.
 *
 * An equation is a small value object (cf_allometry) made once, before the
 * stems are read, from one of:
 *   - a row of the `equations` parameter table, by name (`chave2014`,
 *     `jenkins2003_mixed_hardwood`, ...; `carbonflux params equations`);
 *   - a pipeline string in one of three forms with explicit coefficients:
 *       a*D^b                  e.g. "0.1*D^2.5" (illustrative)
 *       a*(rho*D^2*H)^b        e.g. "0.0673*(rho*D^2*H)^0.976"
 *       exp(a+b*ln(D))         e.g. "exp(-2.0127+2.4342*ln(D))"
 *     (spaces allowed; a and b plain decimal numbers; anything else is
 *     refused with a message listing the forms: an expression language
 *     would accept typos as equations);
 *   - the Jenkins et al. 2003 group of a USDA PLANTS species code, through
 *     the `species_jenkins2003` table;
 *   - the volume route: a stem-volume equation (m3, same three forms) times
 *     basic wood density (t/m3) times a biomass expansion factor (BEF),
 *     with density and BEF given or taken from the `species_china` table.
 * Units are fixed by the forms: D in cm, H in m, rho in g/cm3 (numerically
 * t/m3), result in kg of dry matter (m3 for a volume equation).
 *
 * Evaluation (cf_allometry_eval) validates each stem: D must be a finite
 * number > 0; a form that uses H needs a finite height > 0 and one that
 * uses rho a density > 0, else CF_EINVAL naming the equation and the
 * missing input. Policy for D outside the equation's valid range (the DBH
 * range of its calibration data, from the table): the value is still
 * computed (extrapolated) and CF_ALLOM_OUT_OF_RANGE is set in *flags, so the
 * caller counts and reports such stems (the stocks report lists them); with
 * `strict_range` set on the equation it is an error instead (CF_EDATA). A
 * parsed string has no range unless the caller sets one.
 *
 * Wood density for a stem (cf_wood_density): the stem's own value when
 * given, else the species' value from `species_jenkins2003` (by USDA code)
 * or `species_china` (by species group), else an error naming the species.
 *
 * Evaluation touches the context only to report an error, reads nothing
 * but its arguments, and may run in parallel on one shared equation.
 */
#ifndef CF_SINK_ALLOMETRY_H
#define CF_SINK_ALLOMETRY_H

#include "carbonflux/ctx.h"
#include "sink/params.h"

typedef enum {
  CF_ALLOM_POWER = 0, /* a*D^b */
  CF_ALLOM_RHO_D2H,   /* a*(rho*D^2*H)^b */
  CF_ALLOM_EXP_LN     /* exp(a+b*ln(D)) */
} cf_allom_form;

typedef enum {
  CF_ALLOM_KG_DM = 0, /* the equation gives biomass, kg d.m. */
  CF_ALLOM_VOLUME_M3  /* it gives stem volume, m3: biomass = V x density x BEF */
} cf_allom_output;

typedef struct {
  char name[128];   /* table name, or the parsed text */
  cf_allom_form form;
  double a, b;
  cf_allom_output output;
  double dbh_min_cm, dbh_max_cm; /* valid range; NAN = open */
  int strict_range;              /* 1: D outside the range is an error */
  double density_t_m3;           /* volume route: NAN = the stem's rho */
  double bef;                    /* volume route: biomass expansion factor; NAN = not set */
  char source[512];
} cf_allometry;

/* One stem's inputs; NAN for "not measured". */
typedef struct {
  double dbh_cm;
  double height_m;
  double rho_g_cm3;
} cf_stem;

enum { CF_ALLOM_OUT_OF_RANGE = 1u };

/* The forms as text, for messages and --help. */
extern const char *const cf_allom_form_text[3];

/* Parse "0.0673*(rho*D^2*H)^0.976" and the other two forms (kg d.m.). */
int cf_allometry_parse(cf_ctx *ctx, const char *text, cf_allometry *out);
/* The `equations` table row `name` (a biomass or volume equation). */
int cf_allometry_from_table(cf_ctx *ctx, const cf_params *p, const char *name, cf_allometry *out);
/* The Jenkins 2003 equation of a species (USDA PLANTS code). */
int cf_allometry_jenkins_species(cf_ctx *ctx, const cf_params *p, const char *usda_code, cf_allometry *out);
/* Volume route: `volume` (a table name or a parsed form, giving m3) x
 * density (t/m3, NAN = each stem's rho) x bef. */
int cf_allometry_volume(cf_ctx *ctx, const cf_params *p, const char *volume, double density_t_m3, double bef,
                        cf_allometry *out);
/* Volume route with density and BEF of a `species_china` group. */
int cf_allometry_volume_china(cf_ctx *ctx, const cf_params *p, const char *volume, const char *species_group,
                              cf_allometry *out);
/* The forest-io `allometry` setting: "jenkins2003" (by the stem's species),
 * a name in `equations`, or one of the three forms; `species` may be NULL
 * except for jenkins2003. */
int cf_allometry_select(cf_ctx *ctx, const cf_params *p, const char *setting, const char *species,
                        cf_allometry *out);

/* Whether the equation needs the stem's height / wood density. */
int cf_allometry_uses_height(const cf_allometry *eq);
int cf_allometry_uses_density(const cf_allometry *eq);

/* Biomass of one stem, kg d.m.; *flags gets CF_ALLOM_OUT_OF_RANGE. */
int cf_allometry_eval(cf_ctx *ctx, const cf_allometry *eq, const cf_stem *stem, double *kg_dm, unsigned *flags);

/* Wood density (g/cm3) for a stem: stem_rho when finite and > 0, else the
 * species tables, else CF_EINVAL naming the species. */
int cf_wood_density(cf_ctx *ctx, const cf_params *p, const char *species, double stem_rho, double *rho_g_cm3);

/* Root-to-shoot ratio by the AR-TOOL14 function of above-ground biomass b
 * (t d.m./ha, > 0), coefficients from the `equations` row
 * artool14_root_shoot. */
int cf_root_shoot_artool14(cf_ctx *ctx, const cf_params *p, double agb_t_dm_per_ha, double *r);
/* Root-to-shoot ratio from IPCC 2006 Table 4.4 (`root_shoot_ipcc2006`) for
 * an ecozone, forest type ("all" where the table has no split) and AGB. */
int cf_root_shoot_ipcc2006(cf_ctx *ctx, const cf_params *p, const char *ecozone, const char *forest_type,
                           double agb_t_dm_per_ha, cf_param_value *r);
/* The same, but where no class of the forest type holds agb (Table 4.4
 * gives Quercus spp. only above 70 t/ha) the nearest class of that type is
 * used: *class_agb is the AGB looked up (= agb when a class holds it). The
 * errors of cf_root_shoot_ipcc2006 for an ecozone or type the table does
 * not have. */
int cf_root_shoot_ipcc2006_nearest(cf_ctx *ctx, const cf_params *p, const char *ecozone, const char *forest_type,
                                   double agb, cf_param_value *out, double *class_agb);

#endif
