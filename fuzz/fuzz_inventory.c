/*
 * Harness: the CSV inventory readers (core/csv.c, sink/trees.c,
 * sink/plots.c, sink/strata.c's CSV path, sink/inventory.c's options,
 * cross-checks and per-plot totals), in the order `carbonflux forest
 * stocks` and the ingest.* stages call them: options, the three tables,
 * cf_inventory_link, cf_inventory_plot_totals.
 *
 * Input: sections separated by lines "%%":
 *
 *   col.dbh_cm=DBH_{year}      <- inventory options, one KEY=VALUE a line
 *   years=2019,2022
 *   %%
 *   plot,dbh_cm,...            <- trees.csv
 *   %%
 *   plot,stratum,area_ha,...   <- plots.csv
 *   %%
 *   stratum,area_ha            <- strata.csv
 *
 * A missing or empty section is a table not given (the trees are optional
 * to the program too; plots and strata are read when present). The tables are
 * written to the scratch directory under those names, because the readers
 * take paths (and hash the file for provenance). Stem biomass for the
 * totals is the diameter in kg: any non-negative number does, the totals'
 * arithmetic is not what is fuzzed, their indexing is.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "sink/inventory.h"

enum { NSECTIONS = 4 };

/* Split text in place at lines "%%"; returns the number of sections. */
static int split_sections(char *text, char *sec[NSECTIONS]) {
  int n = 0;
  sec[n++] = text;
  for (char *p = text; n < NSECTIONS && (p = strstr(p, "%%")) != NULL;) {
    int at_line_start = p == text || p[-1] == '\n';
    char *end = p + 2;
    if (*end == '\r') end++;
    if (at_line_start && (*end == '\n' || *end == '\0')) {
      *p = '\0';
      sec[n++] = *end ? end + 1 : end;
      p = sec[n - 1];
    } else {
      p += 2;
    }
  }
  for (int i = n; i < NSECTIONS; i++) sec[i] = NULL;
  return n;
}

static int parse_options(cf_ctx *ctx, char *text, cf_inv_options *o) {
  cf_inv_options_init(o);
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    if (*line && cf_inv_options_set(ctx, o, line) != CF_OK) {
      cf_inv_options_free(o);
      return -1;
    }
    line = nl ? nl + 1 : NULL;
  }
  return 0;
}

int cf_fuzz_inventory(const uint8_t *data, size_t size) {
  cf_ctx *ctx = cf_fuzz_ctx();
  char *text = cf_fuzz_text(data, size);
  if (!text) return 0;
  char *sec[NSECTIONS];
  split_sections(text, sec);
  cf_inv_options o;
  if (parse_options(ctx, sec[0], &o) != 0) {
    cf_fuzz_done(ctx);
    free(text);
    return 0;
  }
  static const char *const names[3] = {"trees.csv", "plots.csv", "strata.csv"};
  int have[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++)
    if (sec[k + 1] && sec[k + 1][0]) have[k] = cf_fuzz_write(cf_fuzz_path(names[k]), sec[k + 1], strlen(sec[k + 1])) == 0;

  cf_trees trees = {0};
  cf_plots plots = {0};
  cf_strata strata = {0};
  int ok_trees = have[0] && cf_trees_read(ctx, cf_fuzz_path(names[0]), &o, &trees) == CF_OK;
  int ok_plots = have[1] && cf_plots_read(ctx, cf_fuzz_path(names[1]), &o, &plots) == CF_OK;
  int ok_strata = have[2] && cf_strata_read(ctx, cf_fuzz_path(names[2]), &o, &strata) == CF_OK;
  if (ok_plots && cf_inventory_link(ctx, ok_trees ? &trees : NULL, &plots, ok_strata ? &strata : NULL) == CF_OK) {
    double *kg = malloc((trees.n ? trees.n : 1) * sizeof *kg);
    for (size_t i = 0; kg && i < trees.n; i++) kg[i] = trees.t[i].dbh_cm;
    cf_plot_total *tot = NULL;
    size_t ntot = 0;
    if (kg && cf_inventory_plot_totals(ctx, &plots, ok_trees ? &trees : NULL, kg, &tot, &ntot) == CF_OK) free(tot);
    free(kg);
  }
  cf_trees_free(&trees);
  cf_plots_free(&plots);
  cf_strata_free(&strata);
  cf_inv_options_free(&o);
  cf_fuzz_done(ctx);
  free(text);
  return 0;
}

#ifndef CF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cf_fuzz_inventory(data, size); }
#endif
