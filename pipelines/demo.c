/*
 * `carbonflux demo`: write the synthetic scene and a simulated lidar file,
 * then run the shipped demo.yaml on them. The pipeline file is also written into the demo folder,
 * so a user can edit it and rerun it with `carbonflux run DIR/demo.yaml`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/demo.h"
#include "core/fsutil.h"
#include "lidar/flux/sim_flux.h"
#include "lidar/sim_options.h"
#include "lidar/simulate.h"
#include "raster/demo_scene.h"

int cf_demo_run(cf_ctx *ctx, const char *dir, cf_run_summary *summary) {
  memset(summary, 0, sizeof *summary);
  const char *text = cf_shipped_pipeline("demo.yaml");
  if (!text) return cf_error(ctx, CF_EINTERNAL, "demo.yaml", "", "the demo pipeline is not built in");
  int rc = cf_demo_scene_write(ctx, dir);
  if (rc) return rc;
  /* The lidar part, simulated with a known truth: one 3-degree PPI sweep
   * of 31 rays over a stack's CO2 plume (+40 ppm at 1.5 km range on the
   * 60-degree azimuth, 250 m wide) in an 8 m/s south-westerly. A single
   * 1 s ray measures CO2 to ~100 ppm per gate (speckle), so the demo's
   * rays accumulate 2 minutes each (a one-hour sweep; the quicklooks say
   * so): the plume then stands out at 10-20 ppm per gate. */
  cf_sim_config sim;
  cf_sim_defaults(&sim, CF_SCAN_PPI);
  sim.n_scans = 1;
  sim.ray_seconds = 120.0;
  const double plume_range = 1500.0, plume_az = 60.0 * 3.14159265358979323846 / 180.0,
               el = sim.elevation_deg * 3.14159265358979323846 / 180.0;
  sim.n_plumes = 1;
  sim.plume[0] = (cf_sim_plume){plume_range * cos(el) * sin(plume_az), plume_range * cos(el) * cos(plume_az),
                                plume_range * sin(el), 250.0, 150.0, 40.0};
  char *l0 = cf_path_join(dir, "lidar_l0.h5"), *truth = cf_path_join(dir, "lidar_truth.nc");
  rc = l0 && truth ? cf_simulate_lidar(ctx, &sim, l0, truth) : cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
  free(l0);
  free(truth);
  if (rc) return rc;
  /* The flux part: the benchmark scene (a 100 t/h stack 8 km
   * upwind, a park of three stacks, a city, a forest sink) seen by four PPI
   * sweeps of a simulated L2 lidar in a meandering wind; the estimate
   * starts from priors 20-60 % off the truth (flux/sources.geojson); the
   * truth is flux/truth_sources.geojson and flux/flux_l2_truth.json. */
  cf_simflux_config fc;
  cf_simflux_defaults(&fc);
  fc.scans = 4, fc.rays = 45, fc.gates = 60;
  char *fdir = cf_path_join(dir, "flux");
  char *ftruth = fdir ? cf_path_join(fdir, "truth_sources.geojson") : NULL;
  char *fprior = fdir ? cf_path_join(fdir, "sources.geojson") : NULL;
  char *fl2 = fdir ? cf_path_join(fdir, "flux_l2.nc") : NULL;
  char *fjson = fdir ? cf_path_join(fdir, "flux_l2_truth.json") : NULL;
  rc = fdir && ftruth && fprior && fl2 && fjson ? cf_mkdirs(ctx, fdir, 1) : cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
  if (!rc) rc = cf_simflux_write_benchmark_scene(ctx, &fc, ftruth);
  if (!rc) rc = cf_simflux_write_benchmark_priors(ctx, &fc, fprior);
  if (!rc) rc = cf_simulate_flux(ctx, &fc, ftruth, fl2, fjson);
  free(fdir), free(ftruth), free(fprior), free(fl2), free(fjson);
  if (rc) return rc;
  char *yaml_path = cf_path_join(dir, "demo.yaml");
  if (!yaml_path) return cf_error(ctx, CF_ENOMEM, dir, "", "out of memory");
  cf_atomic_file af;
  rc = cf_atomic_begin(ctx, yaml_path, &af);
  if (!rc) {
    FILE *f = fopen(af.part_path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
      rc = cf_error(ctx, CF_EIO, yaml_path, "", "cannot write the demo pipeline");
    if (!rc) rc = cf_atomic_commit(ctx, &af);
    cf_atomic_end(&af);
  }
  cf_pipeline *p = NULL;
  if (!rc) rc = cf_pipeline_load(ctx, yaml_path, NULL, 0, &p);
  free(yaml_path);
  if (rc) return rc;
  rc = cf_pipeline_run(ctx, p, summary);
  cf_pipeline_free(p);
  return rc;
}
