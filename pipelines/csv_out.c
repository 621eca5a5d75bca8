/* Atomic CSV outputs with provenance; see csv_out.h. */
#include "pipelines/csv_out.h"

int cf_csv_open(cf_ctx *ctx, cf_csv_out *c, const char *path, const char *const *provenance, const char *header) {
  c->f = NULL;
  int rc = cf_atomic_begin(ctx, path, &c->af);
  if (rc) return rc;
  c->f = fopen(c->af.part_path, "w");
  if (!c->f) {
    cf_atomic_end(&c->af);
    return cf_error(ctx, CF_EIO, path, "", "cannot create");
  }
  for (const char *const *p = provenance; p && *p; p++) fprintf(c->f, "# %s\n", *p);
  fprintf(c->f, "%s\n", header);
  return CF_OK;
}

int cf_csv_close(cf_ctx *ctx, cf_csv_out *c, int ok) {
  int rc = CF_OK;
  if (c->f && (ferror(c->f) | fclose(c->f)) != 0 && ok) rc = cf_error(ctx, CF_EIO, c->af.final_path, "", "write failed");
  c->f = NULL;
  if (ok && !rc) rc = cf_atomic_commit(ctx, &c->af);
  cf_atomic_end(&c->af);
  return rc;
}
