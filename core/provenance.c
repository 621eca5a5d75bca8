/* Provenance KEY=VALUE lines; see provenance.h. */
#include "core/provenance.h"

#include <stdlib.h>

#include "core/strbuf.h"

char *cf_provenance_input(const char *path, const char *sha256_hex) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%s sha256:%s", path, sha256_hex);
  return cf_strbuf_take(&sb);
}

void cf_provenance_free(char **lines) {
  for (char **p = lines; p && *p; p++) free(*p);
  free(lines);
}

char **cf_provenance_lines(cf_ctx *ctx, const char *const *inputs, int n_inputs, const char *settings_json) {
  cf_strbuf in, line;
  cf_strbuf_init(&in);
  cf_strbuf_init(&line);
  cf_strbuf_puts(&in, "[");
  for (int i = 0; i < n_inputs; i++) {
    if (i) cf_strbuf_puts(&in, ",");
    cf_strbuf_json_string(&in, inputs[i]);
  }
  cf_strbuf_puts(&in, "]");
  char **lines = calloc(4, sizeof *lines); /* three lines and the NULL that ends them */
  int ok = lines != NULL && !in.failed;
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_VERSION=%s", cf_version());
    ok = (lines[0] = cf_strbuf_take(&line)) != NULL;
  }
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_INPUTS=%s", cf_strbuf_str(&in));
    ok = (lines[1] = cf_strbuf_take(&line)) != NULL;
  }
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_SETTINGS=%s", settings_json && settings_json[0] ? settings_json : "{}");
    ok = (lines[2] = cf_strbuf_take(&line)) != NULL;
  }
  cf_strbuf_free(&in);
  cf_strbuf_free(&line);
  if (!ok) { /* an output without its provenance would pass for a complete one */
    cf_provenance_free(lines);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the provenance metadata");
    return NULL;
  }
  return lines;
}
