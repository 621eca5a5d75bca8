/*
 * `carbonflux run`, `stages` and `demo`: the commands whose work is a
 * pipeline (include/carbonflux/pipeline.h). A run's outcome is a summary of
 * its items, and one rule maps that summary to the exit code (README "Exit
 * codes"), so `run` and `demo` cannot count a rejected input differently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carbonflux/demo.h"
#include "carbonflux/pipeline.h"
#include "core/par.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/run_par.h"

static int exit_for_summary(const cf_run_summary *s) {
  if (s->failed || s->cancelled) return EXIT_PROCESSING;
  if (s->rejected && s->succeeded == 0) return EXIT_ALL_REJECTED; /* nothing came out at all */
  if (s->rejected) return EXIT_REJECTED;
  return EXIT_OK;
}

static int exit_for_load(int rc) { return rc == CF_EINVAL || rc == CF_ENOENT ? EXIT_USAGE : EXIT_PROCESSING; }

static void report_summary(cf_ctx *ctx, const cf_run_summary *s) {
  char items[16], ok[16], rej[16], fail[16];
  snprintf(items, sizeof items, "%d", s->items);
  snprintf(ok, sizeof ok, "%d", s->succeeded);
  snprintf(rej, sizeof rej, "%d", s->rejected);
  snprintf(fail, sizeof fail, "%d", s->failed);
  cf_log_event(ctx, s->rejected || s->failed ? CF_LOG_WARN : CF_LOG_INFO, "finished", "items", items, "ok", ok,
               "rejected", rej, "failed", fail, (const char *)NULL);
}

static void help_run(FILE *out) {
  fputs("Usage: carbonflux run PIPELINE.yaml [--set STAGE.KEY=VALUE]... [--check]\n"
        "\n"
        "Validate the whole pipeline (stage types, options, types, ranges, input\n"
        "files), then run it. Errors name file:line:col. Relative paths in the\n"
        "pipeline are relative to the pipeline file.\n"
        "\n"
        "  --set STAGE.KEY=VALUE  override an option; STAGE is the stage's name\n"
        "                         (or its type when unnamed), VALUE is YAML\n"
        "                         (e.g. --set grid.resolution=[20,20])\n"
        "  --check                validate only; run nothing\n",
        out);
}

static int run_run(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  const char *path = NULL;
  int check_only = 0, nsets = 0;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  if (!sets) return EXIT_PROCESSING;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--set")) {
      if (i + 1 >= argc) {
        free(sets);
        return cf_cli_usage_error("run", "--set needs STAGE.KEY=VALUE%s", "");
      }
      sets[nsets++] = argv[++i];
    } else if (!strncmp(argv[i], "--set=", 6)) {
      sets[nsets++] = argv[i] + 6;
    } else if (!strcmp(argv[i], "--check")) {
      check_only = 1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      free(sets);
      return cf_cli_usage_error("run", "unknown option '%s'", argv[i]);
    } else if (!path) {
      path = argv[i];
    } else {
      free(sets);
      return cf_cli_usage_error("run", "one pipeline file at a time (extra argument '%s')", argv[i]);
    }
  }
  if (!path) {
    free(sets);
    return cf_cli_usage_error("run", "which pipeline?%s", "");
  }
  cf_pipeline *p = NULL;
  int rc = cf_pipeline_load(ctx, path, sets, nsets, &p);
  free(sets);
  if (rc) {
    int n = cf_error_count(ctx);
    cf_log_error_list(ctx); /* independent problems, each on its own line */
    cf_log(ctx, CF_LOG_ERROR, "%s: %d problem%s found; nothing was run", path, n, n == 1 ? "" : "s");
    return exit_for_load(rc);
  }
  if (check_only) {
    cf_log(ctx, CF_LOG_INFO, "%s is valid", path);
    cf_pipeline_free(p);
    return EXIT_OK;
  }
  cf_run_summary s;
  /* under mpirun the items spread over the ranks (pipelines/run_par.c) */
  if (cf_par_run_items(ctx, p, NULL, &s) == CF_EINTERNAL && cf_ctx_par(ctx)) {
    cf_log_error_chain(ctx);
    cf_par_abort(cf_ctx_par(ctx), EXIT_PROCESSING); /* other ranks may wait for this one */
  }
  if (cf_par_rank(cf_ctx_par(ctx)) == 0) report_summary(ctx, &s);
  int code = exit_for_summary(&s);
  cf_run_summary_free(&s);
  cf_pipeline_free(p);
  return code;
}

static void help_stages(FILE *out) {
  fputs("Usage: carbonflux stages [TYPE]\n"
        "\n"
        "List every stage type with its options: name, type, default and help.\n",
        out);
}

static int run_stages(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  if (argc > 1) return cf_cli_usage_error("stages", "one stage type at a time%s", "");
  if (argc && !cf_stage_find(argv[0])) {
    const char *s = cf_stage_suggest(argv[0]);
    cf_log(ctx, CF_LOG_ERROR, "stages: no stage type '%s'%s%s%s (run 'carbonflux stages' for the list)", argv[0],
           s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
    return EXIT_USAGE;
  }
  fprintf(stdout, "Stages (options: name, type, default, help)\n\n");
  cf_stages_describe(stdout, argc ? argv[0] : NULL);
  return EXIT_OK;
}

static void help_demo(FILE *out) {
  fputs("Usage: carbonflux demo [--out DIR]\n"
        "\n"
        "Write a small synthetic scene (4-band reflectance, canopy height, a\n"
        "project boundary and forest stands) into DIR (default carbonflux-demo),\n"
        "run the shipped demo pipeline on it, and list what it wrote.\n",
        out);
}

static int run_demo(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  const char *dir = "carbonflux-demo";
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc)
      dir = argv[++i];
    else if (!strncmp(argv[i], "--out=", 6))
      dir = argv[i] + 6;
    else
      return cf_cli_usage_error("demo", "unexpected argument '%s'", argv[i]);
  }
  cf_run_summary s;
  int rc = cf_demo_run(ctx, dir, &s);
  if (rc && s.items == 0) {
    cf_log_error_chain(ctx);
    cf_run_summary_free(&s);
    return EXIT_PROCESSING;
  }
  int code = exit_for_summary(&s);
  if (code == EXIT_OK) {
    /* the command as it can be pasted: this binary's own path (after
     * scripts/setup.sh it is ./build/carbonflux, not on PATH) */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0)
      self[len] = '\0';
    else
      snprintf(self, sizeof self, "carbonflux");
    char *gone = strstr(self, " (deleted)"); /* rebuilt while it ran: the path is still the one to use */
    if (gone) *gone = '\0';
    printf("carbonflux demo: synthetic inputs and pipeline in %s/ (scene.tif, chm.tif, boundary.geojson,\n"
           "stands.geojson, lidar_l0.h5 with its truth lidar_truth.nc, demo.yaml);\n"
           "rerun with: %s run %s/demo.yaml\nwrote:\n",
           dir, self, dir);
    for (int i = 0; i < s.noutputs; i++) printf("  %s\n", s.outputs[i]);
  }
  cf_run_summary_free(&s);
  return code;
}

const cf_cli_command cf_cli_cmd_run = {"run", help_run, run_run, 1};
const cf_cli_command cf_cli_cmd_stages = {"stages", help_stages, run_stages, 0};
const cf_cli_command cf_cli_cmd_demo = {"demo", help_demo, run_demo, 0};
