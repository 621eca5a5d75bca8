/*
 * CSV outputs of stages: written under a part name and renamed when
 * complete, with the run's provenance as '#' comment lines first (CSV
 * readers such as pandas and R take them as comments) and then the header.
 */
#ifndef CF_PIPELINES_CSV_OUT_H
#define CF_PIPELINES_CSV_OUT_H

#include <stdio.h>

#include "core/fsutil.h"

typedef struct {
  cf_atomic_file af;
  FILE *f;
} cf_csv_out;

int cf_csv_out_open(cf_ctx *ctx, cf_csv_out *c, const char *path, const char *const *provenance, const char *header);
/* Close; rename into place if `ok` and every write succeeded, else remove. */
int cf_csv_out_close(cf_ctx *ctx, cf_csv_out *c, int ok);

#endif
