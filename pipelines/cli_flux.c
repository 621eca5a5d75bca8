/*
 * `carbonflux flux estimate`: the command's side of lidar/flux/estimate.h.
 * Every input is checked to exist and not to be the output directory
 * before anything is read, so a mistyped name costs nothing; the library
 * then writes all of its products or none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "lidar/flux/estimate.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"

static void help_flux(FILE *out) {
  fputs("Usage: carbonflux flux estimate L2.nc... --sources SOURCES -o OUTDIR [--layer NAME] [KEY=VALUE]...\n\n"
        "Emission rates of candidate sources, with uncertainty, from L2 lidar files of one\n"
        "site (contract 1.1, any writer) and a sources layer (any OGR format; fields name,\n"
        "kind, height_m, prior_t_per_h, prior_sigma_t_per_h, group): a Bayesian inversion\n"
        "on a flux grid with a Gaussian-plume forward model, and a mass balance of the\n"
        "point sources it can isolate (../shared/spec/flux-io.md, lidar/flux/estimate.h).\n"
        "Writes OUTDIR/flux_summary.json, flux_l3.nc, flux_map.tif and flux_map.png, all\n"
        "or none. Exit 1: usage or settings; 4: the inputs cannot give an answer (no wind,\n"
        "no observation, a source outside the domain...; the message names file and field);\n"
        "2: processing failed.\n\n"
        "Settings (KEY=VALUE: name, default, accepted values, help):\n\n",
        out);
  cf_flux_opts d;
  cf_flux_defaults(&d);
  cf_kv_describe(out, cf_flux_settings.opts, cf_flux_settings.n, &d);
}

static int run_flux(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  if (argc < 1 || strcmp(argv[0], "estimate"))
    return cf_cli_usage_error("flux", "what to do? (only 'estimate' for now)%s", "");
  const char *sources = NULL, *layer = NULL, *out = NULL;
  const char **l2 = calloc((size_t)argc + 1, sizeof *l2);
  if (!l2) return EXIT_PROCESSING;
  int n = 0, code = EXIT_OK;
  cf_flux_opts o;
  cf_flux_defaults(&o);
  for (int i = 1; i < argc && code == EXIT_OK; i++) {
    const char *a = argv[i];
    const char **slot = !strcmp(a, "--sources") ? &sources : !strcmp(a, "--layer") ? &layer
                        : !strcmp(a, "-o") || !strcmp(a, "--out") ? &out : NULL;
    if (slot && i + 1 < argc) {
      *slot = argv[++i];
    } else if (a[0] != '-' && strchr(a, '=')) {
      if (cf_flux_set(ctx, &o, a)) {
        cf_log_error_chain(ctx);
        code = EXIT_USAGE;
      }
    } else if (a[0] != '-') {
      l2[n++] = a;
    } else {
      code = cf_cli_usage_error("flux", "unexpected argument '%s'", a);
    }
  }
  if (code == EXIT_OK && (!n || !sources || !out))
    code = cf_cli_usage_error("flux", "give the L2 files, --sources SOURCES and -o OUTDIR%s", "");
  if (code == EXIT_OK && cf_flux_opts_check(ctx, &o)) {
    cf_log_error_chain(ctx);
    code = EXIT_USAGE;
  }
  for (int k = 0; k <= n && code == EXIT_OK; k++) {
    const char *in = k < n ? l2[k] : sources;
    if (!cf_file_exists(in)) {
      cf_log(ctx, CF_LOG_ERROR, "flux estimate: the %s '%s' does not exist (nothing was written)",
             k < n ? "L2 file" : "sources layer", in);
      code = EXIT_USAGE;
    } else if (cf_path_same(in, out)) {
      cf_log(ctx, CF_LOG_ERROR, "flux estimate: the output directory '%s' is the input '%s' (nothing was written)", out,
             in);
      code = EXIT_USAGE;
    }
  }
  if (code == EXIT_OK) {
    int rc = cf_flux_run_as(ctx, l2, n, sources, layer, &o, out, command_line); /* the history: the words typed */
    if (rc) {
      cf_log_error_chain(ctx);
      code = cf_cli_exit_for_status(rc);
    } else {
      cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
    }
  }
  free(l2);
  return code;
}

const cf_cli_command cf_cli_cmd_flux = {"flux", help_flux, run_flux, 1};
