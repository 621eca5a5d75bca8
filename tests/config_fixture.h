/*
 * The fixture the configuration suites (test_config*.c) share: a scratch
 * directory holding the pipeline file under test (p.yaml) and an input
 * raster (in.tif, 4 x 4 Float32 in EPSG:32650) that exists, so that only
 * the error under test is reported.
 */
#ifndef CF_TESTS_CONFIG_FIXTURE_H
#define CF_TESTS_CONFIG_FIXTURE_H

#include "carbonflux/ctx.h"

typedef struct {
  char *dir;
  char yaml[1024];
  cf_ctx *ctx;
} fixture;

/* cmocka setup and teardown: *state is the fixture. */
int setup(void **state);
int teardown(void **state);
/* Load `text` as p.yaml with the --set overrides `sets`; return the status
 * and leave the errors in f->ctx. */
int load(fixture *f, const char *text, const char *const *sets, int nsets);
/* Fail unless an error frame at line:col has a reason containing `text`. */
void expect_error_at(fixture *f, int line, int col, const char *text);

#endif
