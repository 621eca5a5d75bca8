/*
 * Harness: the YAML pipeline loader (core/yaml.c, pipelines/pipeline.c,
 * pipelines/options.c and every stage's validation), as `carbonflux run`
 * and `run --check` call it: load AND validate one pipeline text. Nothing
 * runs: cf_pipeline_load_string never starts a stage.
 *
 * Input: the pipeline text. Lines at its very top of the form
 * "#set STAGE.KEY=VALUE" are also passed as --set overrides (YAML reads
 * them as comments, so every seed stays a valid pipeline).
 *
 * Relative paths resolve against the scratch directory, which holds empty
 * files under the names the shipped pipelines and the seeds use, so that
 * validation gets past "input file does not exist" and on to the stages'
 * own checks (it asks whether files exist; it does not read them).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carbonflux/pipeline.h"
#include "fuzz/fuzz_common.h"

enum { MAX_SETS = 8 };

static void make_inputs(void) {
  static int done;
  if (done) return;
  done = 1;
  static const char *const names[] = {"scene.tif",     "chm.tif",       "in.tif",          "a.tif",
                                      "b.tif",         "boundary.geojson", "stands.geojson", "plots.csv",
                                      "trees.csv",     "strata.csv",    "strata.gpkg",     "flux_l2.nc",
                                      "sources.geojson", "lidar_l0.h5", "gedi.h5",         "windcube/a.nc",
                                      "windcube/b.nc"};
  mkdir(cf_fuzz_path("windcube"), 0700);
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) cf_fuzz_write(cf_fuzz_path(names[i]), "", 0);
}

int cf_fuzz_pipeline(const uint8_t *data, size_t size) {
  cf_ctx *ctx = cf_fuzz_ctx();
  make_inputs();
  char *text = cf_fuzz_text(data, size);
  if (!text) return 0;
  /* the "#set " lines at the top, cut out of a copy */
  char *sets_buf = strdup(text);
  const char *sets[MAX_SETS];
  int nsets = 0;
  char *line = sets_buf;
  while (line && nsets < MAX_SETS && strncmp(line, "#set ", 5) == 0) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    sets[nsets++] = line + 5;
    line = nl ? nl + 1 : NULL;
  }
  cf_pipeline *p = NULL;
  if (sets_buf && cf_pipeline_load_string(ctx, "fuzz.yaml", text, cf_fuzz_dir(), sets, nsets, &p) == CF_OK)
    cf_pipeline_free(p);
  cf_fuzz_done(ctx);
  free(sets_buf);
  free(text);
  return 0;
}

#ifndef CF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cf_fuzz_pipeline(data, size); }
#endif
