/* Atomic CSV outputs with provenance; see csv_out.h. */
#include "pipelines/csv_out.h"

#include <errno.h>
#include <string.h>

/* errno of a stream whose error flag is set: the errno at hand if it is an
 * I/O reason, else a full disk if the disk is full, else EIO */
static int stream_errno(const char *part) {
  int e = cf_write_errno(part, errno, 64.0 * 1024);
  return e ? e : EIO;
}

int cf_csv_out_open(cf_ctx *ctx, cf_csv_out *c, const char *path, const char *const *provenance, const char *header) {
  c->f = NULL;
  int rc = cf_atomic_begin(ctx, path, &c->af);
  if (rc) return rc;
  c->f = fopen(c->af.part_path, "w");
  if (!c->f) {
    int rc2 = cf_error(ctx, CF_EIO, path, "", "cannot create: %s", strerror(errno));
    cf_atomic_end(&c->af);
    return rc2;
  }
  for (const char *const *p = provenance; p && *p; p++) fprintf(c->f, "# %s\n", *p);
  fprintf(c->f, "%s\n", header);
  return CF_OK;
}

int cf_csv_out_close(cf_ctx *ctx, cf_csv_out *c, int ok) {
  int rc = CF_OK;
  if (c->f) {
    /* a full disk shows in the stream's error flag (an earlier fprintf), in
     * the final flush or in fclose; errno of the first failing one is kept */
    int err = 0;
    if (ferror(c->f)) err = stream_errno(c->af.part_path);
    errno = 0;
    if (fflush(c->f) != 0 && !err) err = errno ? errno : EIO;
    errno = 0;
    if (fclose(c->f) != 0 && !err) err = errno ? errno : EIO;
    if (err && ok) rc = cf_error(ctx, CF_EIO, c->af.final_path, "", "write failed: %s", strerror(err));
  }
  c->f = NULL;
  if (ok && !rc) rc = cf_atomic_commit(ctx, &c->af);
  cf_atomic_end(&c->af);
  return rc;
}
