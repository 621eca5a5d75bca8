/*
 * What a new user found, through the real command: each case is a report
 * of a black-box tester (README only, real and bad files) turned into the
 * behaviour the README and DESIGN promise, so that it stays fixed.
 *   - a run that fails leaves none of its outputs (DESIGN: "no partial
 *     output files"): not even those of stages that finished before the
 *     failing one, and an output it replaced is back as it was; zones
 *     that overlap none of the pipeline's rasters fail `run --check`;
 *   - `run --check` opens the inventory tables' headers: a column the run
 *     would miss fails the check, with the mapping in the form of where the
 *     user is (a stage's `columns: [dbh_cm=HEADER]`; the command line's
 *     col.dbh_cm=HEADER);
 *   - exit codes as the README's table says: an output folder that cannot
 *     be made is exit 1 on a command as in `run`; a GeoTIFF whose pixels
 *     cannot be read (truncated) is the input rejected (exit 4), not a
 *     processing failure (exit 2) a batch would retry every night;
 *   - a usage error is its message and one line saying where the usage is,
 *     not the message followed by 40 lines of help;
 *   - a bad value names its own setting (unknown_species, not allometry);
 *   - projected coordinates in a layer that declares a geographic CRS are
 *     said to be so, naming the file and the layer (not "no area");
 *   - a VM0047 risk rating below the 12 % floor is raised with a warning
 *     naming the rule, and the setting's help says so;
 *   - a stem whose mapped subplot is empty is said to be so, by line (the
 *     README's TEMPEST recipe with col.subplot=Section stopped on "plot
 *     'Saltwater' is not in the plots table");
 *   - a quicklook's units follow its quantity ("CO2 dry-air mole fraction
 *     (ppm), ... gates with sigma <= 25 ppm", not "... 25 ppm (ppm)");
 * The real files are read in place from ../shared/data; every file a case
 * writes is in its own temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_test.h"
#include "lidar/quicklook.h"

#define RGB CF_SHARED_DATA "/RGB.byte.tif"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"
#define TEMPEST_TREES CF_SHARED_DATA "/tempest_tree_inventory.csv" /* wide: DBH_2019 ... DBH_2026 */

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

static void expect_log(fixture *f, const char *text) {
  if (!cf_test_file_contains(f->log, text)) {
    char *log = cf_test_slurp(f->log);
    print_error("log does not contain '%s'; it has:\n%s\n", text, log ? log : "(nothing)");
    free(log);
    fail();
  }
}

static void expect_no_log(fixture *f, const char *text) {
  if (cf_test_file_contains(f->log, text)) {
    print_error("log contains '%s'\n", text);
    fail();
  }
}

/* The tester's pipeline: a pool map of RGB.byte.tif (UTM 18N) written as a
 * COG, then its totals over polygons (`zones`, a layer file). With the
 * Kootenay cut blocks (UTM 11N) no block overlaps the raster: validation
 * says so (run --check, and before any run). With one polygon inside the
 * raster but smaller than a pixel and away from every pixel centre, the
 * pipeline is valid and the zonal stage rejects the input at run time
 * (exit 4), after the COG stage has committed out/rgb_pools.tif. */
static void write_pool_pipeline(fixture *f, const char *zones) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "version: 1\n"
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    name: chm\n"
           "    path: %s\n"
           "  - type: ingest.vector\n"
           "    name: blocks\n"
           "    path: %s\n"
           "  - type: sink.biomass_model\n"
           "    name: agb_model\n"
           "    kind: loglog\n"
           "    coefficients: [-5.584, 3.380]\n"
           "    residual_sd: 0.40\n"
           "  - type: sink.pool_map\n"
           "    name: pool_map\n"
           "    model: agb_model\n"
           "    features: [chm]\n"
           "    pools: [agb, bgb, deadwood, litter]\n"
           "    biome: temperate\n"
           "  - type: write.cog\n"
           "    path: out/rgb_pools.tif\n"
           "  - type: sink.pool_zonal\n"
           "    input: pool_map\n"
           "    zones: blocks\n"
           "    path: out/rgb_pools_by_block.csv\n",
           RGB, zones);
  cf_test_write_text(cf_test_path(f->dir, "pools.yaml"), yaml);
}

/* zones.geojson: a 10 m square 1 m inside the raster's top-left corner
 * (its pixels are ~300 m: no pixel centre within 140 m of it). */
static void write_pixel_corner_zone(fixture *f) {
  int w, h, has_nd;
  double gt[6], nd;
  free(cf_test_read_band(RGB, 1, &w, &h, gt, &nd, &has_nd));
  double x0 = gt[0] + 1, x1 = gt[0] + 11, y1 = gt[3] - 1, y0 = gt[3] - 11;
  char json[1024];
  snprintf(json, sizeof json,
           "{\"type\": \"FeatureCollection\", \"name\": \"speck\", \"crs\": {\"type\": \"name\", \"properties\": "
           "{\"name\": \"urn:ogc:def:crs:EPSG::32618\"}}, \"features\": [{\"type\": \"Feature\", \"properties\": {}, "
           "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[%.3f, %.3f], [%.3f, %.3f], [%.3f, %.3f], "
           "[%.3f, %.3f], [%.3f, %.3f]]]}}]}\n",
           x0, y0, x1, y0, x1, y1, x0, y1, x0, y0);
  cf_test_write_text(cf_test_path(f->dir, "zones.geojson"), json);
  write_pool_pipeline(f, "zones.geojson");
}

static int run_pools(fixture *f, const char *extra) {
  char args[1200];
  snprintf(args, sizeof args, "run '%s/pools.yaml'%s", f->dir, extra);
  return cf_test_cli(args, f->log);
}

/* The same when the item's process crashes in the last stage (the test
 * hook: SIGSEGV as sink.pool_zonal starts): its journal died with it, and
 * the parent takes the COG back (the old one restored from the child's
 * kept link, or the new one removed). */
static void crashed_item_leaves_none_of_its_outputs(void **state) {
  fixture *f = *state;
  write_pixel_corner_zone(f);
  setenv("CF_TEST_CRASH_ON", "RGB.byte@sink.pool_zonal", 1);
  assert_int_equal(run_pools(f, ""), 4);
  expect_log(f, "removed ");
  expect_log(f, "rgb_pools.tif, written by the crashed item");
  const char *out = cf_test_path(f->dir, "out");
  assert_int_equal(cf_test_count_entries(out, "rgb_pools"), 0);
  /* an earlier map is put back as it was */
  const char *old = "the pool map of an earlier run\n";
  cf_test_write_text(cf_test_path(f->dir, "out/rgb_pools.tif"), old);
  assert_int_equal(run_pools(f, ""), 4);
  unsetenv("CF_TEST_CRASH_ON");
  expect_log(f, "restored ");
  char *now = cf_test_slurp(cf_test_path(f->dir, "out/rgb_pools.tif"));
  assert_non_null(now);
  assert_string_equal(now, old);
  free(now);
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
}

static void zones_that_miss_the_raster_fail_the_check(void **state) {
  fixture *f = *state;
  write_pool_pipeline(f, BLOCKS);
  assert_int_equal(run_pools(f, " --check"), 1);
  expect_log(f, "option 'zones' of stage 'sink.pool_zonal': the polygons of stage 'blocks' and the raster");
  expect_log(f, "do not overlap");
  assert_int_equal(run_pools(f, ""), 1); /* and the run refuses before anything */
  assert_int_equal(cf_test_count_entries(f->dir, "out"), 0);
  /* zones inside the raster pass */
  write_pixel_corner_zone(f);
  assert_int_equal(run_pools(f, " --check"), 0);
}

static void failed_run_takes_back_the_outputs_of_earlier_stages(void **state) {
  fixture *f = *state;
  write_pixel_corner_zone(f);
  assert_int_equal(run_pools(f, ""), 4);
  expect_log(f, "covers no pixel centre");
  expect_log(f, "removed ");
  const char *out = cf_test_path(f->dir, "out");
  assert_int_equal(cf_test_count_entries(out, "rgb_pools"), 0); /* the COG, its CSV, any part or kept file */
  assert_int_equal(cf_test_count_entries(out, ".part-"), 0);
}

static void failed_run_puts_back_the_output_it_replaced(void **state) {
  fixture *f = *state;
  write_pixel_corner_zone(f);
  const char *old = "the pool map of an earlier run\n";
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/out'", f->dir);
  assert_int_equal(system(cmd), 0);
  cf_test_write_text(cf_test_path(f->dir, "out/rgb_pools.tif"), old);
  assert_int_equal(run_pools(f, ""), 4);
  expect_log(f, "restored ");
  char *now = cf_test_slurp(cf_test_path(f->dir, "out/rgb_pools.tif"));
  assert_non_null(now);
  assert_string_equal(now, old);
  free(now);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
  expect_no_log(f, "could not be kept");
}

/* The TEMPEST plots and one stratum (the tester's plots_whole.csv, strata_one.csv). */
static void write_tempest_tables(fixture *f) {
  cf_test_write_text(cf_test_path(f->dir, "plots.csv"),
                     "plot,stratum,area_ha\nControl,SERC,0.2\nFreshwater,SERC,0.2\nSaltwater,SERC,0.2\n");
  cf_test_write_text(cf_test_path(f->dir, "strata.csv"), "stratum,area_ha\nSERC,0.6\n");
}

static void check_opens_the_inventory_headers(void **state) {
  fixture *f = *state;
  write_tempest_tables(f);
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "version: 1\n"
           "pipeline:\n"
           "  - {type: ingest.plots, name: plots, path: plots.csv}\n"
           "  - {type: ingest.trees, name: trees, path: %s}\n"
           "  - {type: ingest.strata, name: strata, path: strata.csv}\n"
           "  - {type: sink.allometry, plots: plots, trees: trees, strata: strata, allometry: chave2014}\n"
           "  - {type: sink.strata}\n"
           "  - {type: sink.pools, biome: temperate}\n"
           "  - {type: write.stocks, path: out/stocks.json}\n",
           TEMPEST_TREES);
  cf_test_write_text(cf_test_path(f->dir, "fs.yaml"), yaml);
  char args[1400];
  snprintf(args, sizeof args, "run '%s/fs.yaml' --check", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "stage 'trees'");
  expect_log(f, "column 'dbh_cm' is missing");
  expect_log(f, "'columns: [dbh_cm=HEADER]'");
  expect_log(f, "DBH_2019"); /* the header's names, to pick from */
  expect_no_log(f, "col.dbh_cm");
  /* mapped as the hint says, the check passes */
  char *mapped = cf_test_slurp(cf_test_path(f->dir, "fs.yaml"));
  assert_non_null(mapped);
  char *at = strstr(mapped, "name: trees, ");
  assert_non_null(at);
  char yaml2[1400];
  snprintf(yaml2, sizeof yaml2, "%.*sname: trees, columns: [\"dbh_cm=DBH_{year}\"], years: [2026], %s",
           (int)(at - mapped), mapped, at + strlen("name: trees, "));
  free(mapped);
  cf_test_write_text(cf_test_path(f->dir, "fs2.yaml"), yaml2);
  snprintf(args, sizeof args, "run '%s/fs2.yaml' --check", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  /* the command line says it in its own form */
  snprintf(args, sizeof args,
           "forest stocks --plots '%s/plots.csv' --trees '%s' --strata '%s/strata.csv' -o '%s/out/s.json' biome=temperate",
           f->dir, TEMPEST_TREES, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "column 'dbh_cm' is missing (name another with col.dbh_cm=HEADER)");
}

static void command_output_folder_that_cannot_be_made_is_exit_1(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "plots.csv"),
                     "plot,stratum,area_ha,agb_t_dm_per_ha\nA,S,0.1,100\nB,S,0.1,120\nC,S,0.1,90\n");
  cf_test_write_text(cf_test_path(f->dir, "strata.csv"), "stratum,area_ha\nS,10\n");
  cf_test_write_text(cf_test_path(f->dir, "out"), "a file where the output folder should be");
  char args[1400];
  snprintf(args, sizeof args, "forest stocks --plots '%s/plots.csv' --strata '%s/strata.csv' -o '%s/out/r.json' biome=temperate",
           f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "cannot be written");
  expect_log(f, "/out' is not a directory");
  /* and with a folder it runs: the exit 1 was the folder's */
  unlink(cf_test_path(f->dir, "out"));
  assert_int_equal(cf_test_cli(args, f->log), 0);
}

static void truncated_geotiff_is_a_rejected_input(void **state) {
  fixture *f = *state;
  enum { W = 64, H = 64 };
  static double d[W * H];
  for (int i = 0; i < W * H; i++) d[i] = 5 + (i % 17);
  double gt[6] = {500000, 10, 0, 5000000, 0, -10};
  const char *tif = cf_test_path(f->dir, "chm.tif");
  cf_test_write_tif(tif, W, H, 1, "Float64", gt, "EPSG:32611", NULL, d, 0); /* strips of one row */
  struct stat sb;
  assert_int_equal(stat(tif, &sb), 0);
  assert_int_equal(truncate(tif, sb.st_size / 2), 0); /* the header is first: the file opens, half its rows do not read */
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"),
                     "pipeline:\n"
                     "  - {type: ingest.raster, path: chm.tif}\n"
                     "  - {type: write.cog, path: out/chm.tif}\n");
  char args[1200];
  snprintf(args, sizeof args, "run '%s/p.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "chm.tif: read of window");
  expect_log(f, "rejected");
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "chm"), 0);
}

/* Lines in a file (its newlines). */
static int count_lines(const char *path) {
  char *text = cf_test_slurp(path);
  int n = 0;
  for (const char *c = text; c && *c; c++) n += *c == '\n';
  free(text);
  return n;
}

static void usage_errors_say_what_is_wrong_and_where_the_help_is(void **state) {
  fixture *f = *state;
  static const struct {
    const char *args, *message, *pointer;
  } cases[] = {
      {"forest stocks --plots p.csv --strata s.csv -o o/r.txt", "not 'o/r.txt'", "run 'carbonflux forest --help' for usage"},
      {"--threads 0 version", "--threads takes a number from 1 to 1024, not '0'", "run 'carbonflux --help' for usage"},
      {"--log-format xml version", "--log-format is text or json, not 'xml'", "run 'carbonflux --help' for usage"},
      {"batch --shard 2/1 x.yaml", "not '2/1'", "run 'carbonflux batch --help' for usage"},
      {"frobnicate", "no command 'frobnicate'", "run 'carbonflux --help' for usage"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(cf_test_cli(cases[i].args, f->log), 1);
    expect_log(f, cases[i].message);
    expect_log(f, cases[i].pointer);
    expect_no_log(f, "Usage: carbonflux");
    assert_int_equal(count_lines(f->log), 2);
  }
}

static void a_bad_unknown_species_names_its_setting(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "plots.csv"), "plot,stratum,area_ha\nA,S,0.1\nB,S,0.1\n");
  cf_test_write_text(cf_test_path(f->dir, "trees.csv"), "plot,dbh_cm,species\nA,20,\nB,25,\n");
  cf_test_write_text(cf_test_path(f->dir, "strata.csv"), "stratum,area_ha\nS,10\n");
  char args[1400];
  snprintf(args, sizeof args,
           "forest stocks --plots '%s/plots.csv' --trees '%s/trees.csv' --strata '%s/strata.csv' -o '%s/out/r.json' "
           "biome=temperate allometry=jenkins2003 unknown_species=mixed_hardwood",
           f->dir, f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  expect_log(f, "unknown_species: 'mixed_hardwood' is not an equation");
  expect_no_log(f, "allometry: allometry");
  expect_no_log(f, "allometry: not an equation");
}

/* A GeoJSON of one 200 m square stand in UTM metres that says CRS84. */
static void write_utm_as_wgs84(const char *path) {
  cf_test_write_text(path,
                     "{\"type\": \"FeatureCollection\", \"name\": \"stands\", \"crs\": {\"type\": \"name\", "
                     "\"properties\": {\"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\"}}, \"features\": [{\"type\": "
                     "\"Feature\", \"properties\": {\"stratum\": \"S1\"}, \"geometry\": {\"type\": \"Polygon\", "
                     "\"coordinates\": [[[503000, 3405000], [503200, 3405000], [503200, 3405200], [503000, 3405200], "
                     "[503000, 3405000]]]}}]}\n");
}

static void projected_coordinates_in_a_geographic_layer_are_named(void **state) {
  fixture *f = *state;
  write_utm_as_wgs84(cf_test_path(f->dir, "stands.geojson"));
  cf_test_write_text(cf_test_path(f->dir, "plots.csv"),
                     "plot,stratum,area_ha,agb_t_dm_per_ha\nA,S1,0.1,100\nB,S1,0.1,120\n");
  char args[1400];
  snprintf(args, sizeof args,
           "forest stocks --plots '%s/plots.csv' --strata '%s/stands.geojson' -o '%s/out/r.json' biome=temperate",
           f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "stands.geojson: crs: layer 'stands': the coordinates reach x 503000..503200, y 3405000..3405200");
  expect_log(f, "not longitude/latitude");
  expect_no_log(f, "has no area");
  /* the same file as a pipeline's zones (ingest.vector): read, then refused */
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - {type: ingest.raster, name: chm, path: %s}\n"
           "  - {type: ingest.vector, name: zones, path: stands.geojson}\n"
           "  - {type: raster.zonal, input: chm, zones: zones, path: out/z.csv}\n",
           RGB);
  cf_test_write_text(cf_test_path(f->dir, "z.yaml"), yaml);
  snprintf(args, sizeof args, "run '%s/z.yaml'", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "layer 'stands': the coordinates reach");
  expect_log(f, "assign_crs");
}

/* Two stock reports of one stratum (plots with measured AGB) by the command. */
static void write_two_stock_reports(fixture *f) {
  cf_test_write_text(cf_test_path(f->dir, "strata.csv"), "stratum,area_ha\nS,100\n");
  cf_test_write_text(cf_test_path(f->dir, "p1.csv"),
                     "plot,stratum,area_ha,agb_t_dm_per_ha\nA,S,0.1,100\nB,S,0.1,110\nC,S,0.1,105\n");
  cf_test_write_text(cf_test_path(f->dir, "p2.csv"),
                     "plot,stratum,area_ha,agb_t_dm_per_ha\nA,S,0.1,150\nB,S,0.1,160\nC,S,0.1,155\n");
  char args[1400];
  for (int e = 1; e <= 2; e++) {
    snprintf(args, sizeof args, "forest stocks --plots '%s/p%d.csv' --strata '%s/strata.csv' -o '%s/s%d.json' biome=temperate",
             f->dir, e, f->dir, f->dir, e);
    assert_int_equal(cf_test_cli(args, f->log), 0);
  }
}

static void vm0047_rating_below_its_floor_is_raised_with_a_warning(void **state) {
  fixture *f = *state;
  write_two_stock_reports(f);
  char args[1400];
  snprintf(args, sizeof args,
           "sink ledger --event 2020-01-01='%s/s1.json' --event 2025-01-01='%s/s2.json' --policy vm0047 "
           "risk_rating_pct=5 -o '%s/ledger.json'",
           f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  expect_log(f, "warning: risk_rating_pct=5 is below the floor of policy vm0047: the buffer is 12 %");
  expect_log(f, "at least 12 %"); /* the rule, as the policy states it */
  char *ledger = cf_test_slurp(cf_test_path(f->dir, "ledger.json"));
  assert_non_null(ledger);
  assert_non_null(strstr(ledger, "the rating given is below the floor"));
  free(ledger);
  /* at the floor or above: no warning */
  snprintf(args, sizeof args,
           "sink ledger --event 2020-01-01='%s/s1.json' --event 2025-01-01='%s/s2.json' --policy vm0047 "
           "risk_rating_pct=12 -o '%s/ledger.json'",
           f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  expect_no_log(f, "below the floor");
  /* the setting's help says it */
  assert_int_equal(cf_test_cli("sink --help", f->log), 0);
  expect_log(f, "a lower rating is raised to 12 %, with a warning");
}

static void an_empty_subplot_is_named_with_its_line(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "plots.csv"),
                     "plot,stratum,area_ha\nC/East,S,0.1\nC/West,S,0.1\nF/East,S,0.1\n");
  cf_test_write_text(cf_test_path(f->dir, "trees.csv"),
                     "Plot,Section,DBH,Species\nC,East,20,\nC,West,22,\nF,,25,\nF,East,21,\n");
  cf_test_write_text(cf_test_path(f->dir, "strata.csv"), "stratum,area_ha\nS,10\n");
  char args[1400];
  snprintf(args, sizeof args,
           "forest stocks --plots '%s/plots.csv' --trees '%s/trees.csv' --strata '%s/strata.csv' -o '%s/out/r.json' "
           "col.plot=Plot col.subplot=Section col.dbh_cm=DBH col.species=Species allometry=jenkins2003 "
           "unknown_species=jenkins2003_mixed_hardwood biome=temperate",
           f->dir, f->dir, f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 4);
  expect_log(f, "trees.csv: subplot: line 4: the Section (col.subplot) is empty, so the stem's plot id is 'F' alone");
  expect_no_log(f, "plot 'F' is not in the plots table");
}

static void quicklook_units_follow_their_quantity(void **state) {
  (void)state;
  char t[160];
  cf_quicklook_title(t, sizeof t, "CO2 dry-air mole fraction", "ppm", "0.5 s rays, gates with sigma <= 25 ppm");
  assert_string_equal(t, "CO2 dry-air mole fraction (ppm), 0.5 s rays, gates with sigma <= 25 ppm");
  cf_quicklook_title(t, sizeof t, "wideband CNR, off-line", "dB", "");
  assert_string_equal(t, "wideband CNR, off-line (dB)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(failed_run_takes_back_the_outputs_of_earlier_stages, setup, teardown),
      cmocka_unit_test_setup_teardown(zones_that_miss_the_raster_fail_the_check, setup, teardown),
      cmocka_unit_test_setup_teardown(crashed_item_leaves_none_of_its_outputs, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_run_puts_back_the_output_it_replaced, setup, teardown),
      cmocka_unit_test_setup_teardown(check_opens_the_inventory_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(command_output_folder_that_cannot_be_made_is_exit_1, setup, teardown),
      cmocka_unit_test_setup_teardown(truncated_geotiff_is_a_rejected_input, setup, teardown),
      cmocka_unit_test_setup_teardown(usage_errors_say_what_is_wrong_and_where_the_help_is, setup, teardown),
      cmocka_unit_test_setup_teardown(a_bad_unknown_species_names_its_setting, setup, teardown),
      cmocka_unit_test_setup_teardown(projected_coordinates_in_a_geographic_layer_are_named, setup, teardown),
      cmocka_unit_test_setup_teardown(vm0047_rating_below_its_floor_is_raised_with_a_warning, setup, teardown),
      cmocka_unit_test_setup_teardown(an_empty_subplot_is_named_with_its_line, setup, teardown),
      cmocka_unit_test(quicklook_units_follow_their_quantity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
