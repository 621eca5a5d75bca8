/*
 * The fixture of the configuration suites (test_config*.c): a scratch
 * directory with a pipeline file p.yaml beside an input raster that
 * exists, so that only the error under test is reported, and the loading
 * of a YAML text with the check of where its errors are. Why shared: the
 * four suites assert positions in the same file the same way.
 */
#include "config_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"

int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = cf_test_tmpdir();
  snprintf(f->yaml, sizeof f->yaml, "%s/p.yaml", f->dir);
  f->ctx = cf_test_ctx();
  /* an input that exists, so only the error under test is reported */
  double gt[6] = {0, 1, 0, 4, 0, -1}, data[16] = {0};
  cf_test_write_tif(cf_test_path(f->dir, "in.tif"), 4, 4, 1, "Float32", gt, "EPSG:32650", NULL, data, 0);
  *state = f;
  return 0;
}

int teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  cf_ctx_destroy(f->ctx);
  free(f);
  return 0;
}

/* Load `text`; return the status and leave the errors in f->ctx. */
int load(fixture *f, const char *text, const char *const *sets, int nsets) {
  cf_test_write_text(f->yaml, text);
  cf_error_clear(f->ctx);
  cf_pipeline *p = NULL;
  int rc = cf_pipeline_load(f->ctx, f->yaml, sets, nsets, &p);
  cf_pipeline_free(p);
  return rc;
}

/* Is there an error frame at line:col whose reason contains `text`? */
void expect_error_at(fixture *f, int line, int col, const char *text) {
  char where[1100];
  snprintf(where, sizeof where, "%s:%d:%d", f->yaml, line, col);
  for (int i = 0; i < cf_error_count(f->ctx); i++) {
    const cf_error_frame *e = cf_error_get(f->ctx, i);
    if (!strcmp(e->where, where) && strstr(e->reason, text)) return;
  }
  print_error("no error at %s containing '%s'; got: %s\n", where, text, cf_error_message(f->ctx));
  fail();
}
