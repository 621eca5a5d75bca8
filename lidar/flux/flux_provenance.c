/* Inputs, settings and the command of a flux estimate; see flux_provenance.h. */
#include "lidar/flux/flux_provenance.h"

#include <stdlib.h>
#include <string.h>

#include "core/provenance.h"
#include "core/sha256.h"

int cf_flux_fill_provenance(cf_ctx *ctx, const cf_l2_set *set, const cf_flux_sources *src, const cf_flux_opts *o,
                            cf_flux_result *r) {
  int nsrc = src ? src->n_files : 0, n = set->n + nsrc;
  r->n_inputs = n;
  r->n_source_files = nsrc;
  r->input_paths = calloc((size_t)n + 1, sizeof *r->input_paths);
  r->input_sha256 = calloc((size_t)n + 1, sizeof *r->input_sha256);
  if (!r->input_paths || !r->input_sha256) return cf_error(ctx, CF_ENOMEM, "flux estimate", "inputs", "out of memory");
  for (int f = 0; f < n; f++) {
    const char *path = f < set->n ? set->files[f].path : src->files[f - set->n].path;
    if (!(r->input_paths[f] = strdup(path))) return cf_error(ctx, CF_ENOMEM, "flux estimate", "inputs", "out of memory");
    if (f >= set->n) {
      memcpy(r->input_sha256[f], src->files[f - set->n].sha256, sizeof r->input_sha256[f]);
    } else {
      int rc = cf_sha256_file(ctx, path, r->input_sha256[f]);
      if (rc) return rc;
    }
  }
  r->opts = *o;
  r->settings_json = cf_flux_settings_json(o);
  return r->settings_json ? CF_OK : cf_error(ctx, CF_ENOMEM, "flux estimate", "settings", "out of memory");
}

char *cf_flux_settings_json(const cf_flux_opts *o) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, cf_flux_settings.opts, cf_flux_settings.n, o);
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}

int cf_flux_merge_settings(cf_ctx *ctx, cf_flux_result *r, const cf_flux_result *mb) {
  cf_flux_opts both = r->opts;
  both.method = CF_FLUX_BOTH;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, cf_flux_settings.opts, cf_flux_settings.n, &both);
  int differ = 0;
  for (size_t k = 0; k < cf_flux_settings.n; k++) {
    const cf_kv_opt *row = &cf_flux_settings.opts[k];
    char a[128], b[128];
    cf_kv_value_text(row, &r->opts, a, sizeof a);
    cf_kv_value_text(row, &mb->opts, b, sizeof b);
    if (!strcmp(row->key, "method") || !strcmp(a, b)) continue;
    cf_strbuf_puts(&sb, differ++ ? "," : ",\"mass_balance_ran_with\":{"); /* cf_kv_json's spacing */
    cf_strbuf_json_string(&sb, row->key);
    cf_strbuf_puts(&sb, ":");
    cf_kv_value_json(&sb, row, &mb->opts);
  }
  cf_strbuf_puts(&sb, differ ? "}}" : "}");
  char *s = cf_strbuf_take(&sb);
  if (!s) return cf_error(ctx, CF_ENOMEM, "flux estimate", "settings", "out of memory");
  free(r->settings_json);
  r->settings_json = s;
  r->opts = both;
  return CF_OK;
}

/* A word as a POSIX shell reads it back: as it is when it is made of
 * characters no shell treats specially, else in single quotes. */
static void shell_word(cf_strbuf *sb, const char *w) {
  size_t plain = strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=+-,@%");
  cf_strbuf_puts(sb, " ");
  if (w[0] && !w[plain]) {
    cf_strbuf_puts(sb, w);
    return;
  }
  cf_strbuf_puts(sb, "'");
  for (const char *p = w; *p; p++) {
    if (*p == '\'')
      cf_strbuf_puts(sb, "'\\''");
    else
      cf_strbuf_printf(sb, "%c", *p);
  }
  cf_strbuf_puts(sb, "'");
}

char *cf_flux_command_line(const char *const *l2_paths, int n_paths, const char *sources_path, const char *sources_layer,
                           const cf_flux_opts *o, const char *outdir) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "carbonflux flux estimate");
  for (int i = 0; i < n_paths; i++) shell_word(&sb, l2_paths[i]);
  cf_strbuf_puts(&sb, " --sources");
  shell_word(&sb, sources_path ? sources_path : "");
  if (sources_layer) {
    cf_strbuf_puts(&sb, " --layer");
    shell_word(&sb, sources_layer);
  }
  cf_strbuf_puts(&sb, " -o");
  shell_word(&sb, outdir ? outdir : "");
  cf_flux_opts d;
  cf_flux_defaults(&d);
  for (size_t k = 0; k < cf_flux_settings.n; k++) {
    const cf_kv_opt *row = &cf_flux_settings.opts[k];
    char v[128], dv[128], kv[300];
    cf_kv_value_text(row, o, v, sizeof v);
    cf_kv_value_text(row, &d, dv, sizeof dv);
    if (!strcmp(v, dv)) continue;
    snprintf(kv, sizeof kv, "%s=%s", row->key, v);
    shell_word(&sb, kv);
  }
  return cf_strbuf_take(&sb);
}

char **cf_flux_provenance_lines(cf_ctx *ctx, const cf_flux_result *r) {
  char **in = calloc((size_t)r->n_inputs + 1, sizeof *in);
  int ok = in != NULL;
  for (int i = 0; ok && i < r->n_inputs; i++) ok = (in[i] = cf_provenance_input(r->input_paths[i], r->input_sha256[i])) != NULL;
  char **lines = ok ? cf_provenance_lines(ctx, (const char *const *)in, r->n_inputs, r->settings_json) : NULL;
  if (!ok) cf_error(ctx, CF_ENOMEM, "flux_map.tif", "", "out of memory for the provenance metadata");
  cf_provenance_free(in);
  return lines;
}
