/* Classifying a failed HDF5 read from its error stack; see h5_read_error.h. */
#include "ingest/h5_read_error.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int os_errno;       /* > 0: the system failed the read */
  int corrupt;        /* a filter, storage or chunk-index frame */
  int resource;       /* HDF5 ran out of memory */
  char filter[64];    /* innermost filter function ("H5Z__filter_deflate"), "" none */
  char desc[160];     /* innermost frame's description */
} h5_failure;

static herr_t scan_frame(unsigned n, const H5E_error2_t *e, void *user) {
  h5_failure *f = user;
  const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
  if (p && f->os_errno <= 0) f->os_errno = atoi(p + 8);
  if (e->maj_num == H5E_PLINE || e->maj_num == H5E_STORAGE || e->maj_num == H5E_BTREE) f->corrupt = 1;
  if (e->maj_num == H5E_RESOURCE) f->resource = 1;
  if (n == 0) snprintf(f->desc, sizeof f->desc, "%s", e->desc ? e->desc : "");
  if (!f->filter[0] && e->func_name && strncmp(e->func_name, "H5Z__filter_", 12) == 0)
    snprintf(f->filter, sizeof f->filter, "%s", e->func_name + 12);
  return 0;
}

int cf_h5_read_failure(char *why, size_t n) {
  h5_failure f = {0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, scan_frame, &f);
  if (f.os_errno > 0) {
    snprintf(why, n, "the system failed the read: %s", strerror(f.os_errno));
    return CF_EIO;
  }
  if (f.resource) {
    snprintf(why, n, "HDF5 ran out of memory (%s)", f.desc);
    return CF_ENOMEM;
  }
  if (f.corrupt) {
    if (!strcmp(f.filter, "deflate"))
      snprintf(why, n, "deflate data error: the stored chunk does not inflate (HDF5: %s)", f.desc);
    else if (!strcmp(f.filter, "fletcher32"))
      snprintf(why, n, "Fletcher32 checksum mismatch: the stored chunk is not what was written (HDF5: %s)", f.desc);
    else if (f.filter[0])
      snprintf(why, n, "the %s filter failed on the stored chunk (HDF5: %s)", f.filter, f.desc);
    else
      snprintf(why, n, "corrupt storage (HDF5: %s)", f.desc);
    return CF_EDATA;
  }
  /* no system error and no resource: what HDF5 tripped over is in the file
   * (an address past the end, a damaged header); our reads convert no types
   * HDF5 cannot convert, so the content is what was wrong */
  snprintf(why, n, "the file's structure is damaged (HDF5: %s)", f.desc[0] ? f.desc : "read failed");
  return CF_EDATA;
}

int cf_h5_read_error(cf_ctx *ctx, const char *path, const char *dataset, const char *what) {
  char why[400];
  int code = cf_h5_read_failure(why, sizeof why);
  return cf_error(ctx, code, path, dataset, "%s: %s", what, why);
}
