/* Reading a `carbonflux-stocks/1` report (stocks_read.h): every field the
 * ledger uses is checked for presence, type and range, and a failure
 * names the file and the field's path in the document. */
#include "sink/issuance/stocks_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "sink/student_t.h"

typedef struct {
  cf_ctx *ctx;
  const char *path;
} rd;

static int bad(rd *r, const char *field, const char *fmt, const char *arg) {
  return cf_error(r->ctx, CF_EDATA, r->path, field, fmt, arg);
}

/* A number member; `nullable`: null gives NaN. */
static int num(rd *r, const cf_json *obj, const char *key, const char *field, int nullable, double *v) {
  const cf_json *j = cf_json_get(obj, key);
  if (j && j->type == CF_JSON_NUMBER) {
    *v = j->number;
    return CF_OK;
  }
  if (j && j->type == CF_JSON_NULL && nullable) {
    *v = NAN;
    return CF_OK;
  }
  return bad(r, field, j ? "must be a number, not %s" : "%smissing", j ? cf_json_type_name(j->type) : "");
}

static int str(rd *r, const cf_json *obj, const char *key, const char *field, char **out) {
  const cf_json *j = cf_json_get(obj, key);
  if (!j || j->type != CF_JSON_STRING || !j->string[0])
    return bad(r, field, j ? "must be a non-empty string, not %s" : "%smissing",
               j ? (j->type == CF_JSON_STRING ? "\"\"" : cf_json_type_name(j->type)) : "");
  if (!(*out = strdup(j->string))) return cf_error(r->ctx, CF_ENOMEM, r->path, field, "out of memory");
  return CF_OK;
}

/* pools_t_c_per_ha / pools_t_co2e: each of the five pools a number >= 0 or null. */
static int pools(rd *r, const cf_json *obj, const char *key, const char *where, double *v, int *est) {
  char field[160];
  snprintf(field, sizeof field, "%s.%s", where, key);
  const cf_json *p = cf_json_get(obj, key);
  if (!p || p->type != CF_JSON_OBJECT) return bad(r, field, "%smust be an object with the five pools", "");
  for (int k = 0; k < CF_POOL_COUNT; k++) {
    const char *name = cf_pool_name((cf_pool_id)k);
    char f[200];
    snprintf(f, sizeof f, "%s.%s", field, name);
    int rc = num(r, p, name, f, 1, &v[k]);
    if (rc) return rc;
    est[k] = !isnan(v[k]);
    if (est[k] && (!isfinite(v[k]) || v[k] < 0)) return bad(r, f, "%smust be finite and >= 0", "");
  }
  return CF_OK;
}

static int read_stratum(rd *r, const cf_json *s, int i, cf_stocks_in_stratum *S) {
  char where[64], f[128];
  snprintf(where, sizeof where, "strata[%d]", i);
  if (!s || s->type != CF_JSON_OBJECT) return bad(r, where, "%smust be an object", "");
  int rc;
  snprintf(f, sizeof f, "%s.stratum", where);
  if ((rc = str(r, s, "stratum", f, &S->name))) return rc;
  snprintf(f, sizeof f, "%s.area_ha", where);
  if ((rc = num(r, s, "area_ha", f, 0, &S->area_ha))) return rc;
  if (!isfinite(S->area_ha) || S->area_ha <= 0) return bad(r, f, "%smust be > 0", "");
  double n;
  snprintf(f, sizeof f, "%s.n_plots", where);
  if ((rc = num(r, s, "n_plots", f, 0, &n))) return rc;
  if (n < 0 || n != floor(n) || n > 1e9) return bad(r, f, "%smust be a whole number >= 0", "");
  S->n_plots = (int)n;
  snprintf(f, sizeof f, "%s.biomass_mean_t_dm_per_ha", where);
  if ((rc = num(r, s, "biomass_mean_t_dm_per_ha", f, 0, &S->biomass_mean))) return rc;
  snprintf(f, sizeof f, "%s.biomass_se_t_dm_per_ha", where);
  if ((rc = num(r, s, "biomass_se_t_dm_per_ha", f, 1, &S->biomass_se))) return rc;
  return pools(r, s, "pools_t_c_per_ha", where, S->pool_t_c_per_ha, S->pool_estimated);
}

static int read_plots(rd *r, const cf_json *arr, cf_stocks_in *out) {
  if (!arr) return CF_OK; /* optional in the contract */
  if (arr->type != CF_JSON_ARRAY) return bad(r, "plots", "must be an array, not %s", cf_json_type_name(arr->type));
  if (!arr->n) return CF_OK;
  out->plots = calloc(arr->n, sizeof *out->plots);
  if (!out->plots) return cf_error(r->ctx, CF_ENOMEM, r->path, "plots", "out of memory");
  out->n_plots = (int)arr->n;
  for (size_t i = 0; i < arr->n; i++) {
    const cf_json *p = arr->items[i];
    char f[96];
    snprintf(f, sizeof f, "plots[%zu]", i);
    if (p->type != CF_JSON_OBJECT) return bad(r, f, "%smust be an object", "");
    cf_stocks_in_plot *P = &out->plots[i];
    int rc;
    snprintf(f, sizeof f, "plots[%zu].plot", i);
    if ((rc = str(r, p, "plot", f, &P->plot))) return rc;
    snprintf(f, sizeof f, "plots[%zu].stratum", i);
    if ((rc = str(r, p, "stratum", f, &P->stratum))) return rc;
    snprintf(f, sizeof f, "plots[%zu].biomass_t_dm_per_ha", i);
    if ((rc = num(r, p, "biomass_t_dm_per_ha", f, 0, &P->biomass))) return rc;
    if (!isfinite(P->biomass)) return bad(r, f, "%smust be finite", "");
  }
  return CF_OK;
}

/* U% at 90 %: the writer's own figure, or the report's U converted. */
static int read_u90(rd *r, const cf_json *proj, cf_stocks_in *out) {
  const cf_json *disc = cf_json_get(proj, "discount");
  const cf_json *u90 = disc ? cf_json_get(disc, "uncertainty_pct_90") : NULL;
  if (u90 && u90->type == CF_JSON_NUMBER) {
    out->u90_pct = u90->number;
    snprintf(out->u90_from, sizeof out->u90_from, "project.discount.uncertainty_pct_90");
  } else {
    double u;
    int rc = num(r, proj, "uncertainty_pct", "project.uncertainty_pct", 1, &u);
    if (rc) return rc;
    if (isnan(u)) {
      /* A writer gives no U where the mean is 0 (bare land at planting, a
       * treeless baseline): no relative uncertainty, but no sampled stock
       * either, so its half-width is 0 whatever U would be. Read as U = 0
       * only then; null beside a sampled stock above 0 is an error. */
      for (int k = 0; k < CF_POOL_COUNT; k++)
        if (k != CF_POOL_SOC && out->pool_estimated[k] && out->pools_t_co2e[k] != 0.0)
          return cf_error(r->ctx, CF_EDATA, r->path, "project.uncertainty_pct",
                          "is null but project.pools_t_co2e.%s is %g: a sampled stock needs its uncertainty",
                          cf_pool_name((cf_pool_id)k), out->pools_t_co2e[k]);
      out->u90_pct = 0.0;
      snprintf(out->u90_from, sizeof out->u90_from, "project.uncertainty_pct null, every sampled pool 0: U = 0");
    } else if (fabs(out->confidence - 0.90) < 1e-12) {
      out->u90_pct = u;
      snprintf(out->u90_from, sizeof out->u90_from, "project.uncertainty_pct (confidence 0.90)");
    } else {
      if (out->df < 1)
        return bad(r, "project.df", "%sis needed to convert uncertainty_pct to 90 %% confidence (a whole number >= 1)", "");
      double t90, tc;
      cf_ctx *tmp = cf_ctx_create();
      int bad_t = !tmp || cf_student_t_critical(tmp, 0.90, out->df, &t90) ||
                  cf_student_t_critical(tmp, out->confidence, out->df, &tc);
      cf_ctx_destroy(tmp);
      if (bad_t) return bad(r, "confidence", "%scannot give a t value", "");
      out->u90_pct = u * t90 / tc;
      snprintf(out->u90_from, sizeof out->u90_from, "project.uncertainty_pct x t90(df %d) / t(%.4g, df %d)", out->df,
               out->confidence, out->df);
    }
  }
  if (!isfinite(out->u90_pct) || out->u90_pct < 0)
    return bad(r, out->u90_from, "%smust be finite and >= 0 (a project mean <= 0 has no relative uncertainty)", "");
  return CF_OK;
}

/* a and b agree to 1e-9 relative: the writer gives each number as its
 * shortest exact double, so only the order of its sums differs from ours
 * (a few ulps); 1e-9 leaves room for a writer that rounds to 10 digits. */
static int agree(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

/* The report agrees with itself: the project's area is its strata's, each
 * project pool (t CO2e) is the strata's t C/ha x area x 44/12, and the
 * total is the sum of the estimated pools. A report that does not (edited
 * by hand, written by a faulty writer) would give a change that none of its
 * numbers support; the ledger refuses it, naming the field. */
static int check_sums(rd *r, const cf_stocks_in *out) {
  char msg[300];
  double area = 0, total = 0;
  for (int h = 0; h < out->n_strata; h++) area += out->strata[h].area_ha;
  if (!agree(out->area_ha, area)) {
    snprintf(msg, sizeof msg, "is %.17g ha but the strata's areas sum to %.17g ha", out->area_ha, area);
    return bad(r, "project.area_ha", "%s", msg);
  }
  for (int k = 0; k < CF_POOL_COUNT; k++) {
    if (!out->pool_estimated[k]) continue;
    double sum = 0;
    for (int h = 0; h < out->n_strata; h++)
      sum += out->strata[h].pool_t_c_per_ha[k] * out->strata[h].area_ha * CF_CO2_PER_C;
    total += out->pools_t_co2e[k];
    if (!agree(out->pools_t_co2e[k], sum)) {
      char f[64];
      snprintf(f, sizeof f, "project.pools_t_co2e.%s", cf_pool_name((cf_pool_id)k));
      snprintf(msg, sizeof msg, "is %.17g t CO2e but the strata give %.17g (pools_t_c_per_ha x area_ha x 44/12)",
               out->pools_t_co2e[k], sum);
      return bad(r, f, "%s", msg);
    }
  }
  if (!agree(out->total_t_co2e, total)) {
    snprintf(msg, sizeof msg, "is %.17g t CO2e but the estimated pools sum to %.17g", out->total_t_co2e, total);
    return bad(r, "project.total_t_co2e", "%s", msg);
  }
  return CF_OK;
}

static int read_doc(rd *r, const cf_json *doc, cf_stocks_in *out) {
  if (doc->type != CF_JSON_OBJECT) return bad(r, "", "the report is %s, not a JSON object", cf_json_type_name(doc->type));
  const cf_json *schema = cf_json_get(doc, "schema");
  if (!schema || schema->type != CF_JSON_STRING) return bad(r, "schema", "%smissing: not a carbonflux stock report", "");
  if (strcmp(schema->string, CF_STOCKS_SCHEMA)) {
    char msg[300];
    snprintf(msg, sizeof msg, "is \"%.200s\"; this version reads %s", schema->string, CF_STOCKS_SCHEMA);
    return bad(r, "schema", "%s", msg);
  }
  int rc = num(r, doc, "confidence", "confidence", 0, &out->confidence);
  if (rc) return rc;
  if (!(out->confidence > 0 && out->confidence < 1)) return bad(r, "confidence", "%smust be in (0, 1)", "");
  const cf_json *strata = cf_json_get(doc, "strata");
  if (!strata || strata->type != CF_JSON_ARRAY || !strata->n)
    return bad(r, "strata", "%smust be a non-empty array", "");
  out->strata = calloc(strata->n, sizeof *out->strata);
  if (!out->strata) return cf_error(r->ctx, CF_ENOMEM, r->path, "strata", "out of memory");
  out->n_strata = (int)strata->n;
  for (int h = 0; h < out->n_strata; h++) {
    if ((rc = read_stratum(r, strata->items[h], h, &out->strata[h]))) return rc;
    for (int g = 0; g < h; g++)
      if (!strcmp(out->strata[g].name, out->strata[h].name)) return bad(r, "strata", "stratum \"%s\" is listed twice", out->strata[h].name);
  }
  const cf_json *proj = cf_json_get(doc, "project");
  if (!proj || proj->type != CF_JSON_OBJECT) return bad(r, "project", "%smust be an object", "");
  if ((rc = num(r, proj, "area_ha", "project.area_ha", 0, &out->area_ha))) return rc;
  double df;
  const cf_json *dfj = cf_json_get(proj, "df");
  out->df = -1;
  if (dfj && dfj->type == CF_JSON_NUMBER && (df = dfj->number) >= 1 && df == floor(df) && df < 1e9) out->df = (int)df;
  if ((rc = pools(r, proj, "pools_t_co2e", "project", out->pools_t_co2e, out->pool_estimated))) return rc;
  if ((rc = num(r, proj, "total_t_co2e", "project.total_t_co2e", 0, &out->total_t_co2e))) return rc;
  if ((rc = num(r, proj, "total_discounted_t_co2e", "project.total_discounted_t_co2e", 0, &out->total_discounted_t_co2e)))
    return rc;
  if ((rc = read_u90(r, proj, out))) return rc;
  /* the strata and the project must agree on which pools were estimated */
  for (int h = 0; h < out->n_strata; h++)
    for (int k = 0; k < CF_POOL_COUNT; k++)
      if (out->strata[h].pool_estimated[k] != out->pool_estimated[k]) {
        char f[160];
        snprintf(f, sizeof f, "strata[%d].pools_t_c_per_ha.%s", h, cf_pool_name((cf_pool_id)k));
        return bad(r, f, "is %s where project.pools_t_co2e has it the other way", out->pool_estimated[k] ? "null" : "a number");
      }
  if ((rc = check_sums(r, out))) return rc;
  return read_plots(r, cf_json_get(doc, "plots"), out);
}

int cf_stocks_in_read(cf_ctx *ctx, const char *path, cf_stocks_in *out) {
  memset(out, 0, sizeof *out);
  if (!(out->path = strdup(path))) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  cf_json *doc = NULL;
  int rc = cf_json_load_file_sha256(ctx, path, &doc, out->sha256);
  rd r = {ctx, path};
  if (!rc) rc = read_doc(&r, doc, out);
  cf_json_free(doc);
  if (rc) cf_stocks_in_free(out);
  return rc;
}

void cf_stocks_in_free(cf_stocks_in *r) {
  if (!r) return;
  for (int h = 0; h < r->n_strata; h++) free(r->strata[h].name);
  for (int i = 0; i < r->n_plots; i++) free(r->plots[i].plot), free(r->plots[i].stratum);
  free(r->strata);
  free(r->plots);
  free(r->path);
  memset(r, 0, sizeof *r);
}
