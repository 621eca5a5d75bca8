/*
 * The summary JSON of a flux estimate (flux_summary.json,
 * ../shared/spec/flux-io.md): what a user or a script reads first, the
 * rates per source and group, the mass balance's own answers, the
 * diagnostics, the inputs with their roles and digests, every setting and
 * the site.
 *
 * Why a file of its own: the JSON is text built in memory (cf_strbuf) and
 * is wanted alone too (cf_flux_summary_json: the pipeline's stage and the
 * tests read it without writing anything), while flux_write.c puts the
 * four files on disk together. Its fields follow the rule of flux_write.c
 * for the reported rates (cf_flux_reported_rate); NaN is written as null.
 */
#include <math.h>
#include <string.h>

#include "lidar/flux/flux_write_internal.h"

/* What input i is: an L2 file or one of the sources layer's files. */
static const char *input_role(const cf_flux_result *r, int i) {
  return i >= r->n_inputs - r->n_source_files ? "sources" : "l2";
}

static void key(cf_strbuf *sb, const char *k, int first) {
  if (!first) cf_strbuf_puts(sb, ", ");
  cf_strbuf_json_string(sb, k);
  cf_strbuf_puts(sb, ": ");
}

static void num(cf_strbuf *sb, const char *k, double v) {
  key(sb, k, 0);
  cf_strbuf_json_double(sb, v);
}

static void str_or_null(cf_strbuf *sb, const char *k, const char *v) {
  key(sb, k, 0);
  if (v)
    cf_strbuf_json_string(sb, v);
  else
    cf_strbuf_puts(sb, "null");
}

static void sources_json(cf_strbuf *sb, const cf_flux_result *r) {
  int inv = cf_flux_inversion_ran(r), first = 1;
  cf_strbuf_puts(sb, "  \"sources\": [");
  for (int i = 0; i < r->n_sources; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    if (!inv && !s->mb_isolated) continue;
    double rate, sigma;
    cf_flux_reported_rate(r, i, &rate, &sigma);
    cf_strbuf_puts(sb, first ? "\n    {" : ",\n    {");
    first = 0;
    key(sb, "name", 1);
    cf_strbuf_json_string(sb, s->name);
    key(sb, "kind", 0);
    cf_strbuf_json_string(sb, s->kind == CF_SOURCE_AREA ? "area" : "point");
    num(sb, "rate_t_per_h", rate);
    num(sb, "sigma_t_per_h", sigma);
    num(sb, "prior_t_per_h", s->prior_t_h);
    num(sb, "prior_sigma_t_per_h", s->prior_sigma_t_h);
    if (inv) {
      num(sb, "sigma_posterior_t_per_h", s->estimated ? s->sigma_posterior_t_h : NAN);
      num(sb, "sigma_jackknife_t_per_h", s->estimated ? s->sigma_jackknife_t_h : NAN);
      num(sb, "sigma_direction_t_per_h", s->estimated ? s->sigma_direction_t_h : NAN);
      num(sb, "sigma_history_t_per_h", s->estimated ? s->sigma_history_t_h : NAN);
      num(sb, "sigma_class_t_per_h", s->estimated ? s->sigma_class_t_h : NAN);
      num(sb, "averaging_kernel", s->estimated ? s->avg_kernel : NAN);
      key(sb, "constrained", 0);
      cf_strbuf_puts(sb, s->constrained ? "true" : "false");
    }
    str_or_null(sb, "group", s->group);
    num(sb, "east_m", s->e_m);
    num(sb, "north_m", s->n_m);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, first ? "],\n" : "\n  ],\n");
}

static void groups_json(cf_strbuf *sb, const cf_flux_result *r) {
  cf_strbuf_puts(sb, "  \"groups\": [");
  for (int g = 0; g < r->n_groups; g++) {
    const cf_flux_group_result *G = &r->groups[g];
    cf_strbuf_puts(sb, g ? ",\n    {" : "\n    {");
    key(sb, "name", 1);
    cf_strbuf_json_string(sb, G->name);
    key(sb, "members", 0);
    cf_strbuf_puts(sb, "[");
    for (int k = 0; k < G->n_members; k++) {
      if (k) cf_strbuf_puts(sb, ", ");
      cf_strbuf_json_string(sb, r->sources[G->members[k]].name);
    }
    cf_strbuf_puts(sb, "]");
    num(sb, "rate_t_per_h", G->rate_t_h);
    num(sb, "sigma_t_per_h", G->sigma_t_h);
    num(sb, "prior_t_per_h", G->prior_t_h);
    num(sb, "sigma_posterior_t_per_h", G->sigma_posterior_t_h);
    num(sb, "sigma_jackknife_t_per_h", G->sigma_jackknife_t_h);
    num(sb, "sigma_direction_t_per_h", G->sigma_direction_t_h);
    num(sb, "sigma_history_t_per_h", G->sigma_history_t_h);
    num(sb, "sigma_class_t_per_h", G->sigma_class_t_h);
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, r->n_groups ? "\n  ],\n" : "],\n");
}

/* `mass_balance`: the isolated sources; `mass_balance_not_isolated`: the
 * others and why (empty when the mass balance did not run). */
static void mass_balance_json(cf_strbuf *sb, const cf_flux_result *r) {
  for (int pass = 0; pass < 2; pass++) {
    cf_strbuf_puts(sb, pass ? "  \"mass_balance_not_isolated\": [" : "  \"mass_balance\": [");
    int first = 1;
    for (int i = 0; cf_flux_mass_balance_ran(r) && i < r->n_sources; i++) {
      const cf_flux_source_result *s = &r->sources[i];
      int listed = pass ? !s->mb_isolated : s->mb_isolated != 0;
      if (!listed) continue;
      cf_strbuf_puts(sb, first ? "\n    {" : ",\n    {");
      first = 0;
      key(sb, "name", 1);
      cf_strbuf_json_string(sb, s->name);
      if (pass) {
        key(sb, "reason", 0);
        cf_strbuf_json_string(sb, s->mb_reason[0] ? s->mb_reason : "not isolated");
      } else {
        num(sb, "rate_t_per_h", s->mb_rate_t_h);
        num(sb, "sigma_t_per_h", s->mb_sigma_t_h);
      }
      cf_strbuf_puts(sb, "}");
    }
    cf_strbuf_puts(sb, first ? "],\n" : "\n  ],\n");
  }
}

static void diagnostics_json(cf_strbuf *sb, const cf_flux_result *r) {
  const cf_flux_diag *d = &r->diag;
  char stab[2] = {d->stability, '\0'};
  int stab_ok = d->stability >= 'A' && d->stability <= 'F';
  cf_strbuf_puts(sb, "  \"diagnostics\": {");
  key(sb, "n_obs", 1);
  cf_strbuf_printf(sb, "%ld", d->n_obs);
  key(sb, "n_state", 0);
  cf_strbuf_printf(sb, "%d", d->n_state);
  num(sb, "dofs", d->dofs);
  num(sb, "chi2_per_obs", d->chi2_per_obs);
  num(sb, "j_obs", d->j_obs);
  num(sb, "j_prior", d->j_prior);
  num(sb, "blh_m", d->blh_m);
  str_or_null(sb, "stability", stab_ok ? stab : NULL);
  cf_strbuf_puts(sb, ",\n                  ");
  key(sb, "blh_source", 1);
  cf_strbuf_json_string(sb, d->blh_auto ? "auto" : "given");
  key(sb, "stability_source", 0);
  cf_strbuf_json_string(sb, d->stability_auto ? "auto" : "given");
  num(sb, "sigma_z_scale", d->sigma_z_scale);
  key(sb, "sigma_z_scale_source", 0);
  cf_strbuf_json_string(sb, d->sigma_z_scale_auto ? "auto" : "given");
  num(sb, "sigma_theta_deg", d->sigma_theta_deg);
  num(sb, "wind_speed_ms", d->wind_speed_ms);
  num(sb, "wind_from_deg", d->wind_from_deg);
  num(sb, "model_error_fraction", d->model_error_fraction);
  num(sb, "model_floor_ppm", d->model_floor_ppm);
  cf_strbuf_puts(sb, ",\n                  ");
  key(sb, "jackknife_blocks", 1);
  cf_strbuf_printf(sb, "%d", d->jackknife_blocks);
  key(sb, "n_outliers", 0);
  cf_strbuf_printf(sb, "%ld", d->n_outliers);
  num(sb, "rcond", d->rcond);
  key(sb, "n_constrained", 0);
  cf_strbuf_printf(sb, "%d", d->n_constrained);
  num(sb, "n_air_mol_m3", d->n_air_mol_m3);
  cf_strbuf_puts(sb, "},\n");
}

int cf_flux_summary_json(cf_ctx *ctx, const cf_flux_result *r, cf_strbuf *out) {
  int rc = cf_flux_result_check(ctx, r, "flux_summary.json");
  if (rc) return rc;
  cf_strbuf *sb = out;
  cf_strbuf_puts(sb, "{\n  \"schema\": \"carbonflux-flux-summary/1\",\n  \"method\": ");
  cf_strbuf_json_string(sb, cf_flux_inversion_ran(r) ? "inversion" : "mass_balance");
  cf_strbuf_puts(sb, ",\n  \"methods_run\": ");
  cf_strbuf_json_string(sb, cf_flux_method_names[r->method]);
  cf_strbuf_puts(sb, ",\n");
  sources_json(sb, r);
  groups_json(sb, r);
  mass_balance_json(sb, r);
  diagnostics_json(sb, r);
  cf_strbuf_puts(sb, "  \"inputs\": [");
  for (int i = 0; i < r->n_inputs; i++) {
    cf_strbuf_puts(sb, i ? ",\n    {" : "\n    {");
    key(sb, "path", 1);
    cf_strbuf_json_string(sb, r->input_paths[i]);
    key(sb, "sha256", 0);
    cf_strbuf_json_string(sb, r->input_sha256[i]);
    key(sb, "role", 0);
    cf_strbuf_json_string(sb, input_role(r, i));
    cf_strbuf_puts(sb, "}");
  }
  cf_strbuf_puts(sb, r->n_inputs ? "\n  ],\n" : "],\n");
  /* the settings are a JSON object already (every setting's value) */
  cf_strbuf_puts(sb, "  \"settings\": ");
  cf_strbuf_puts(sb, r->settings_json && r->settings_json[0] ? r->settings_json : "{}");
  cf_strbuf_puts(sb, ",\n  \"site\": {");
  key(sb, "latitude", 1);
  cf_strbuf_json_double(sb, r->lat_deg);
  num(sb, "longitude", r->lon_deg);
  num(sb, "altitude", r->alt_m);
  key(sb, "crs", 0);
  cf_strbuf_json_string(sb, r->crs);
  cf_strbuf_puts(sb, "},\n  \"software\": {\"name\": \"carbonflux\", \"version\": ");
  cf_strbuf_json_string(sb, cf_version());
  cf_strbuf_puts(sb, "}\n}\n");
  return sb->failed ? cf_error(ctx, CF_ENOMEM, "flux_summary.json", "", "out of memory") : CF_OK;
}
