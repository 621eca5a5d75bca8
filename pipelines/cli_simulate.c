/*
 * `carbonflux simulate lidar` and `simulate flux`: the command's side of
 * the two truth simulators (lidar/simulate.h, lidar/flux/sim_flux.h).
 * Both write a product and the truth it was made from; the truth file
 * defaults to the product's name with a suffix, and both outputs are
 * checked (not an input, not each other, --no-overwrite) before anything
 * is simulated, so a refused run costs nothing and leaves nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "lidar/flux/sim_flux.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"
#include "pipelines/cli.h"
#include "pipelines/cli_command.h"

/* DIR/STEM<suffix> beside `out` (the default truth file of `simulate`);
 * malloc'ed, NULL if out of memory. */
static char *sibling_path(const char *out, const char *suffix) {
  char *dir = cf_path_dirname(out), *stem = cf_path_stem(out), *path = NULL;
  if (dir && stem) {
    size_t n = strlen(dir) + strlen(stem) + strlen(suffix) + 2;
    path = malloc(n);
    if (path) snprintf(path, n, "%s/%s%s", dir, stem, suffix);
  }
  free(dir);
  free(stem);
  return path;
}

/* The truth file (`*truth` as given, else beside `out` with `suffix`, then
 * owned by the caller in `*owned`) and both outputs checked for command
 * `cmd`, whose product is the `product` (named in the messages). Returns
 * EXIT_OK, or the exit code with *owned freed. */
static int check_product_and_truth(cf_ctx *ctx, const char *cmd, const char *out, const char *product,
                                   const char *suffix, const char **truth, char **owned) {
  *owned = *truth ? NULL : sibling_path(out, suffix);
  if (!*truth) *truth = *owned;
  int bad = *truth ? cf_cli_check_output(ctx, cmd, "truth file", *truth, out, product) : EXIT_PROCESSING;
  if (!bad) bad = cf_cli_check_output(ctx, cmd, "output", out, NULL, NULL);
  if (bad) {
    free(*owned);
    *owned = NULL;
  }
  return bad;
}

static const char *usage_simulate =
    "Usage: carbonflux simulate lidar -o OUT.h5 [--truth TRUTH.nc] [KEY=VALUE]...\n"
    "\n"
    "Simulate the coherent CO2 DIAL: an L0 file (../shared/spec/lidar-l0.md) of\n"
    "level spectra or raw from a known wind, CO2 and aerosol truth, and that truth\n"
    "as NetCDF (default OUT with _truth.nc). Settings (KEY=VALUE, defaults shown;\n"
    "give scan= first, it resets the scan defaults):\n\n";

static const char *usage_simulate_flux =
    "\nUsage: carbonflux simulate flux --sources SOURCES -o OUT.nc [--truth TRUTH.json] [KEY=VALUE]...\n"
    "       carbonflux simulate flux --benchmark-scene OUT.geojson [lat=.. lon=..]\n"
    "\n"
    "Truth simulator of the flux estimation: L2 files (contract 1.1) of PPI sweeps\n"
    "through the puffs of a scene of sources (a sources layer, ../shared/spec/flux-io.md;\n"
    "prior_t_per_h is taken as the TRUE rate), advected by a meandering (OU) wind and\n"
    "growing as sqrt(2 K t) + sigma0 (lidar/flux/sim_flux.h), and the truth as JSON\n"
    "(default OUT with _truth.json). scans_per_file splits the sweeps into\n"
    "OUT_000.nc, OUT_001.nc, ... --benchmark-scene writes the issue's scene.\n"
    "Settings (KEY=VALUE, defaults shown):\n\n";

static void help_simulate(FILE *out) {
  fputs(usage_simulate, out);
  cf_sim_config d;
  cf_sim_defaults(&d, CF_SCAN_VAD);
  cf_sim_describe(out, &d);
  fputs(usage_simulate_flux, out);
  cf_simflux_config fd;
  cf_simflux_defaults(&fd);
  cf_simflux_describe(out, &fd);
}

static int simulate_flux(cf_ctx *ctx, int argc, char **argv) {
  const char *out = NULL, *truth = NULL, *sources = NULL, *scene = NULL;
  cf_simflux_config cfg;
  cf_simflux_defaults(&cfg);
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--truth") && i + 1 < argc) {
      truth = argv[++i];
    } else if (!strcmp(argv[i], "--sources") && i + 1 < argc) {
      sources = argv[++i];
    } else if (!strcmp(argv[i], "--benchmark-scene") && i + 1 < argc) {
      scene = argv[++i];
    } else if (strchr(argv[i], '=') && argv[i][0] != '-') {
      if (cf_simflux_set(ctx, &cfg, argv[i])) {
        cf_log_error_chain(ctx);
        return EXIT_USAGE;
      }
    } else {
      return cf_cli_usage_error("simulate", "unexpected argument '%s'", argv[i]);
    }
  }
  if (scene) {
    int bad = cf_cli_check_output(ctx, "simulate flux", "benchmark scene", scene, NULL, NULL);
    if (bad) return bad;
    int rc = cf_simflux_write_benchmark_scene(ctx, &cfg, scene);
    if (rc) cf_log_error_chain(ctx);
    else cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", scene, (const char *)NULL);
    return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
  }
  if (!out) return cf_cli_usage_error("simulate", "give the output file with -o%s", "");
  if (!sources) return cf_cli_usage_error("simulate", "give the sources layer with --sources%s", "");
  if (cf_simflux_check(ctx, &cfg)) {
    cf_log_error_chain(ctx);
    return EXIT_USAGE;
  }
  char *truth_default;
  int bad = check_product_and_truth(ctx, "simulate flux", out, "L2 output", "_truth.json", &truth, &truth_default);
  if (bad) return bad;
  int rc = cf_simulate_flux(ctx, &cfg, sources, out, truth); /* logs each L2 file it writes */
  if (rc)
    cf_log_error_chain(ctx);
  else
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", truth, (const char *)NULL);
  free(truth_default);
  return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
}

static int simulate_lidar(cf_ctx *ctx, int argc, char **argv) {
  const char *out = NULL, *truth = NULL;
  cf_sim_config cfg;
  cf_sim_defaults(&cfg, CF_SCAN_VAD);
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--truth") && i + 1 < argc) {
      truth = argv[++i];
    } else if (strchr(argv[i], '=') && argv[i][0] != '-') {
      if (cf_sim_set(ctx, &cfg, argv[i])) {
        cf_log_error_chain(ctx);
        return EXIT_USAGE;
      }
    } else {
      return cf_cli_usage_error("simulate", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!out) return cf_cli_usage_error("simulate", "give the output file with -o%s", "");
  if (cf_sim_check(ctx, &cfg)) {
    cf_log_error_chain(ctx);
    return EXIT_USAGE;
  }
  char *truth_default;
  int bad = check_product_and_truth(ctx, "simulate lidar", out, "L0 output", "_truth.nc", &truth, &truth_default);
  if (bad) return bad;
  int rc = cf_simulate_lidar(ctx, &cfg, out, truth);
  if (rc) {
    cf_log_error_chain(ctx);
  } else {
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", out, (const char *)NULL);
    cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", truth, (const char *)NULL);
  }
  free(truth_default);
  return rc == CF_EINVAL ? EXIT_USAGE : rc ? EXIT_PROCESSING : EXIT_OK;
}

static int run_simulate(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  if (argc >= 1 && !strcmp(argv[0], "flux")) return simulate_flux(ctx, argc, argv);
  if (argc < 1 || strcmp(argv[0], "lidar"))
    return cf_cli_usage_error("simulate", "what to simulate? ('lidar' or 'flux')%s", "");
  return simulate_lidar(ctx, argc, argv);
}

const cf_cli_command cf_cli_cmd_simulate = {"simulate", help_simulate, run_simulate, 0};
