/*
 * The issuance report (sink/issuance/report.h: the write.report stage and
 * `carbonflux sink report`) on a ledger made by the real chain.
 *
 *  - The demo scene's inventory at three monitoring events (as measured,
 *    the remeasurement 4 years 5 months later, and the first inventory
 *    again 2 years 7 months after that: a reversal), through the stock
 *    stages, sink.change and sink.ledger under CCER-14-001 (dead wood and
 *    litter estimated but excluded), a pool map of the canopy height and
 *    write.report, all in one `carbonflux run`.
 *  - tests/issuance_report_check.py reads the report, its CSV tables, the
 *    ledger and the stock reports with Python's json, csv and html.parser
 *    (nothing of ours) and checks that every number of the ledger tables
 *    is the ledger's own double, that the per-stratum tables carry the
 *    stock reports' numbers and the ledger's counted stocks, that every
 *    input listed has the SHA-256 sha256sum gives, that the
 *    carbonflux-ledger reference names the ledger and its hash, and the
 *    strata and plots in the GeoPackage and KML.
 *  - Headless Chromium (tests/report_chromium.py over the DevTools pipe):
 *    no console error and no load outside the file, the tables the check
 *    counted, both maps decoded, a screenshot written. CF_TEST_KEEP=1
 *    keeps the files (the test prints where) to look at the screenshot.
 *  - The command on the same ledger (strata and plots from the stock
 *    reports), and bad input: an inventory changed after the stocks, a
 *    stock report changed after the ledger,
 *    a ledger of another schema, an unknown setting, a pipeline whose
 *    write.report has no ledger: exit code, message, nothing written.
 *  - A package moved away from where it was written reports where it
 *    lies (the same tables as in place), and a tampered copy beside the
 *    intact original is refused naming the copy's file and both hashes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/fsutil.h"
#include "raster/demo_scene.h"

static int keep(void) { return getenv("CF_TEST_KEEP") != NULL; }

/* The chain: three stock reports, the ledger, a pool map, the report. */
static const char *PIPELINE =
    "pipeline:\n"
    "  - {type: ingest.plots, name: plots, path: forest/plots.csv}\n"
    "  - {type: ingest.strata, name: strata, path: stands.geojson, stratum_field: stand_id}\n"
    "%s"
    "  - type: sink.change\n"
    "    events: [out/stocks_1.json, out/stocks_2.json, out/stocks_3.json]\n"
    "    dates: [2020-06-01, 2024-11-01, 2027-06-01]\n"
    "    policy: ccer-14-001\n"
    "    design: permanent\n"
    "  - {type: sink.ledger, name: ledger, path: out/ledger.json}\n"
    "  - {type: ingest.raster, name: chm, path: chm.tif}\n"
    /* the demo's model (pipelines/demo.yaml): ln AGB = -5.584 + 3.380 ln H */
    "  - {type: sink.biomass_model, name: model, kind: loglog, coefficients: [-5.584, 3.380], residual_sd: 0.40}\n"
    "  - {type: sink.pool_map, name: pools, model: model, features: [chm], pools: [agb, bgb, deadwood, litter],"
    " biome: temperate}\n"
    "  - {type: write.cog, name: write_pools, path: out/pools.tif}\n"
    "  - {type: write.report, input: ledger, path: out/report/report.html, pool_map: out/pools.tif,"
    " strata: stands.geojson, plots: forest/plots.csv}\n";

static const char *EVENT =
    "  - {type: ingest.trees, name: trees_%d, path: forest/%s}\n"
    "  - {type: sink.allometry, name: allometry_%d, plots: plots, trees: trees_%d, strata: strata, allometry: chave2014}\n"
    "  - {type: sink.strata, name: strata_%d, root_shoot: ar-tool14, confidence: 0.90}\n"
    "  - {type: sink.pools, name: pools_%d, pools: [agb, bgb, deadwood, litter], biome: temperate, discount: ar-tool14}\n"
    "  - {type: write.stocks, name: write_%d, path: out/stocks_%d.json}\n";

static void write_pipeline(const char *dir) {
  const char *trees[3] = {"trees.csv", "trees_t2.csv", "trees.csv"};
  char events[3000] = "", one[700], *yaml = malloc(8000);
  assert_non_null(yaml);
  for (int k = 1; k <= 3; k++) {
    snprintf(one, sizeof one, EVENT, k, trees[k - 1], k, k, k, k, k, k);
    strncat(events, one, sizeof events - strlen(events) - 1);
  }
  snprintf(yaml, 8000, PIPELINE, events);
  cf_test_write_text(cf_test_path(dir, "issuance.yaml"), yaml);
  free(yaml);
}

/* The check script's verdict and what it counted ("tables N", "images N"). */
static void check_report(const char *dir, const char *report, const char *cog, int *tables, int *images) {
  char cmd[6000], out[1100];
  snprintf(out, sizeof out, "%s", cf_test_path(dir, "check.txt"));
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/issuance_report_check.py' '%s' '%s' '%s' '%s' %s%s%s > '%s' 2>&1",
           CF_SOURCE_DIR, report, cf_test_path(dir, "out/ledger.json"), cf_test_path(dir, "stands.geojson"),
           cf_test_path(dir, "forest/plots.csv"), cog ? "'" : "", cog ? cog : "", cog ? "'" : "", out);
  int st = system(cmd);
  if (st != 0) {
    char *text = cf_test_slurp(out);
    fail_msg("issuance_report_check.py failed (%d):\n%s", st, text ? text : "");
  }
  assert_true(cf_test_file_contains(out, "\nok"));
  *tables = cf_test_fact(out, "tables");
  *images = cf_test_fact(out, "images");
}

static void report_of_a_real_ledger(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_demo_scene_write(ctx, dir), CF_OK);
  write_pipeline(dir);
  char args[1400], log[1100];
  snprintf(log, sizeof log, "%s", cf_test_path(dir, "run.log"));
  snprintf(args, sizeof args, "-q run '%s'", cf_test_path(dir, "issuance.yaml"));
  int code = cf_test_cli(args, log);
  if (code) fail_msg("run exit %d (see %s)", code, log);

  /* the numbers, read independently */
  char report[1100], cog[1100];
  snprintf(report, sizeof report, "%s", cf_test_path(dir, "out/report/report.html"));
  snprintf(cog, sizeof cog, "%s", cf_test_path(dir, "out/pools.tif"));
  int tables, images;
  check_report(dir, report, cog, &tables, &images);
  /* about, inputs, totals, 3 events, 2 periods, change by pool, vintages, parameters */
  assert_int_equal(tables, 11);
  assert_int_equal(images, 2);

  /* what a verifier's browser shows */
  char shot[1100], out[1100];
  snprintf(shot, sizeof shot, "%s", cf_test_path(dir, "out/report/report.png"));
  snprintf(out, sizeof out, "%s", cf_test_path(dir, "chromium.txt"));
  cf_test_chromium(report, shot, out);
  cf_test_assert_page_whole(out, shot, tables, 2);

  /* the command on the same ledger: strata and plots as the stock reports read them */
  snprintf(args, sizeof args, "-q sink report --ledger '%s' -o '%s'", cf_test_path(dir, "out/ledger.json"),
           cf_test_path(dir, "cmd/report.html"));
  assert_int_equal(cf_test_cli(args, log), 0);
  snprintf(report, sizeof report, "%s", cf_test_path(dir, "cmd/report.html"));
  check_report(dir, report, NULL, &tables, &images);
  assert_int_equal(tables, 11);
  assert_int_equal(images, 0);

  /* an inventory changed after the stocks were computed: exit 4 naming it */
  FILE *f = fopen(cf_test_path(dir, "forest/trees_t2.csv"), "a");
  assert_non_null(f);
  fputs("S1-P1,10.0,8.0,0.55,live\n", f);
  fclose(f);
  snprintf(args, sizeof args, "-q sink report --ledger '%s' -o '%s'", cf_test_path(dir, "out/ledger.json"),
           cf_test_path(dir, "bad/report.html"));
  assert_int_equal(cf_test_cli(args, log), 4);
  assert_true(cf_test_file_contains(log, "trees_t2.csv"));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);

  /* a stock report changed after the ledger: exit 4 naming it, nothing written */
  f = fopen(cf_test_path(dir, "out/stocks_2.json"), "a");
  assert_non_null(f);
  fputs("\n", f); /* still the same JSON, no longer the same bytes */
  fclose(f);
  snprintf(args, sizeof args, "-q sink report --ledger '%s' -o '%s'", cf_test_path(dir, "out/ledger.json"),
           cf_test_path(dir, "bad/report.html"));
  assert_int_equal(cf_test_cli(args, log), 4);
  assert_true(cf_test_file_contains(log, "stocks_2.json"));
  assert_true(cf_test_file_contains(log, "SHA-256"));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);

  /* a ledger of another schema */
  cf_test_write_text(cf_test_path(dir, "other.json"), "{\"schema\":\"carbonflux-ledger/2\"}\n");
  snprintf(args, sizeof args, "-q sink report --ledger '%s' -o '%s'", cf_test_path(dir, "other.json"),
           cf_test_path(dir, "bad/report.html"));
  assert_int_equal(cf_test_cli(args, log), 4);
  assert_true(cf_test_file_contains(log, "schema"));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);

  /* an unknown setting; a report without a ledger before it */
  snprintf(args, sizeof args, "-q sink report --ledger '%s' -o '%s' stratum_feild=x", cf_test_path(dir, "out/ledger.json"),
           cf_test_path(dir, "bad/report.html"));
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "stratum_feild"));
  cf_test_write_text(cf_test_path(dir, "alone.yaml"), "pipeline:\n  - {type: write.report, path: out/r.html}\n");
  snprintf(args, sizeof args, "-q run --check '%s'", cf_test_path(dir, "alone.yaml"));
  assert_int_equal(cf_test_cli(args, log), 1);
  assert_true(cf_test_file_contains(log, "ledger"));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);

  cf_ctx_destroy(ctx);
  if (keep()) print_message("kept %s\n", dir);
  else cf_test_rmtree(dir);
  free(dir);
}

/* Two stock reports from plot AGB (strata a CSV of areas, plots without
 * coordinates) and their Gold Standard ledger: INV/strata.csv,
 * INV/plots_{1,2}.csv, OUT/s{1,2}.json, OUT/ledger.json, all named by
 * absolute paths. */
static void two_event_ledger(const char *inv, const char *out, const char *log) {
  char args[2400];
  cf_test_write_text(cf_test_path(inv, "strata.csv"), "stratum,area_ha\nA,60\nB,40\n");
  /* plot AGB (t d.m./ha) at the two events, illustrative */
  const char *agb[2][4] = {{"100", "120", "80", "90"}, {"110", "135", "86", "99"}};
  for (int e = 0; e < 2; e++) {
    char text[300], name[32];
    snprintf(text, sizeof text, "plot,stratum,area_ha,agb_t_dm_per_ha\np1,A,0.05,%s\np2,A,0.05,%s\np3,B,0.05,%s\n"
                                "p4,B,0.05,%s\n", agb[e][0], agb[e][1], agb[e][2], agb[e][3]);
    snprintf(name, sizeof name, "plots_%d.csv", e + 1);
    cf_test_write_text(cf_test_path(inv, name), text);
    snprintf(args, sizeof args, "-q forest stocks --plots '%s/%s' --strata '%s/strata.csv' -o '%s/s%d.json' root_shoot=0.25",
             inv, name, inv, out, e + 1);
    assert_int_equal(cf_test_cli(args, log), 0);
  }
  snprintf(args, sizeof args, "-q sink ledger --event 2020-01-01='%s/s1.json' --event 2025-01-01='%s/s2.json' "
           "--policy gold-standard design=permanent -o '%s/ledger.json'", out, out, out);
  assert_int_equal(cf_test_cli(args, log), 0);
}

/* Stock reports whose strata are a CSV of areas (no geometry) and whose
 * plots have no coordinates: the report has its tables, no boundaries, no
 * GeoPackage or KML; the per-stratum stocks are the reports' own. */
static void report_without_geometry(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char args[2400], log[1100];
  snprintf(log, sizeof log, "%s", cf_test_path(dir, "log.txt"));
  two_event_ledger(dir, dir, log);
  snprintf(args, sizeof args, "-q sink report --ledger '%s/ledger.json' -o '%s/r/report.html'", dir, dir);
  assert_int_equal(cf_test_cli(args, log), 0);
  assert_true(cf_file_exists(cf_test_path(dir, "r/report.html")));
  assert_true(cf_file_exists(cf_test_path(dir, "r/ledger_period1.csv")));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "r"), "strata_plots"), 0);
  /* the stocks of stratum A at event 2 are the stock report's, read by Python */
  snprintf(args, sizeof args,
           "/usr/bin/python3 -c 'import sys, json, csv\n"
           "s=json.load(open(sys.argv[1]))\n"
           "r=list(csv.DictReader(l for l in open(sys.argv[2]) if l[0] != \"#\"))\n"
           "assert float(r[0][\"Stock, estimated pools [t CO2e]\"]) == s[\"strata\"][0][\"stock_t_co2e\"]\n"
           "assert r[0][\"Stratum\"] == \"A\" and r[-1][\"Stratum\"] == \"project\"' '%s/s2.json' '%s/r/stocks_event2.csv'",
           dir, dir);
  assert_int_equal(system(args), 0);
  if (keep()) print_message("kept %s\n", dir);
  else cf_test_rmtree(dir);
  free(dir);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (system(cmd) != 0) fail_msg("failed: %s", cmd);
}

/* A package in the demo's layout (PKG/forest/ inventories, PKG/out/ stock
 * reports and ledger, written with absolute paths) moved away from where
 * it was written: the report is made from the files where they lie (the
 * recorded paths point at nothing), and its tables are byte for byte the
 * ones made in place but for their "# ..." header lines (the time the
 * table was made, and the inputs named where they now are): the same
 * ledger and stock reports, and no number may depend on where the files
 * lie. A copy beside the
 * untouched original with one inventory byte or one stock report byte
 * changed is refused (exit 4) naming the copy's file and both hashes
 * (sha256sum's, not ours), also with --inputs-dir, and nothing is written:
 * the original the recorded paths name is never used in its place. */
static void report_of_a_moved_package(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char pkg[600], moved[600], copy[600], log[1100], args[4000], line[2000];
  snprintf(pkg, sizeof pkg, "%s/pkg", dir);
  snprintf(moved, sizeof moved, "%s/moved", dir);
  snprintf(copy, sizeof copy, "%s/copy", dir);
  snprintf(log, sizeof log, "%s", cf_test_path(dir, "log.txt"));
  sh("mkdir -p '%s/forest' '%s/out'", pkg, pkg);
  char inv[700], out[700];
  snprintf(inv, sizeof inv, "%s/forest", pkg);
  snprintf(out, sizeof out, "%s/out", pkg);
  two_event_ledger(inv, out, log);
  snprintf(args, sizeof args, "-q sink report --ledger '%s/out/ledger.json' -o '%s/r0/report.html'", pkg, dir);
  assert_int_equal(cf_test_cli(args, log), 0);

  /* moved: the recorded paths name nothing; the report lists the files where they lie */
  sh("mv '%s' '%s'", pkg, moved);
  snprintf(args, sizeof args, "-q sink report --ledger '%s/out/ledger.json' -o '%s/r1/report.html'", moved, dir);
  int code = cf_test_cli(args, log);
  if (code) fail_msg("sink report of the moved package: exit %d\n%s", code, cf_test_slurp(log));
  snprintf(line, sizeof line, "%s/out/../forest/plots_2.csv", moved);
  assert_true(cf_test_file_contains(cf_test_path(dir, "r1/report.html"), line));
  snprintf(line, sizeof line, "%s/out/s2.json", moved);
  assert_true(cf_test_file_contains(cf_test_path(dir, "r1/report.html"), line));
  assert_false(cf_test_file_contains(cf_test_path(dir, "r1/report.html"), "not found here"));
  const char *tables[] = {"stocks_event1.csv", "stocks_event2.csv", "ledger_period1.csv", "ledger_totals.csv"};
  for (int t = 0; t < 4; t++) sh("diff -I '^# ' '%s/r0/%s' '%s/r1/%s' >/dev/null", dir, tables[t], dir, tables[t]);

  /* back in place, and a copy beside it with one plot's AGB changed (99 -> 98) */
  sh("mv '%s' '%s' && cp -r '%s' '%s'", moved, pkg, pkg, copy);
  sh("sed -i 's/^p4,B,0.05,99$/p4,B,0.05,98/' '%s/forest/plots_2.csv'", copy);
  char was[80], now[80];
  cf_test_sha256sum(cf_test_path(pkg, "forest/plots_2.csv"), was);
  cf_test_sha256sum(cf_test_path(copy, "forest/plots_2.csv"), now);
  assert_string_not_equal(was, now);
  for (int with_dir = 0; with_dir < 2; with_dir++) {
    char extra[700] = "";
    if (with_dir) snprintf(extra, sizeof extra, "--inputs-dir '%s/out'", copy);
    snprintf(args, sizeof args, "-q sink report --ledger '%s/out/ledger.json' -o '%s/bad/report.html' %s", copy, dir, extra);
    assert_int_equal(cf_test_cli(args, log), 4);
    snprintf(line, sizeof line, "%s/out/../forest/plots_2.csv (found %s", copy,
             with_dir ? "under --inputs-dir" : "by the recorded path relative");
    if (!cf_test_file_contains(log, line)) fail_msg("no '%s' in:\n%s", line, cf_test_slurp(log));
    snprintf(line, sizeof line, "has SHA-256 %s now", now);
    assert_true(cf_test_file_contains(log, line));
    snprintf(line, sizeof line, "recorded %s", was);
    assert_true(cf_test_file_contains(log, line));
    assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);
  }

  /* the copy's stock report changed (its inventory restored): refused naming it and both hashes */
  sh("cp '%s/forest/plots_2.csv' '%s/forest/plots_2.csv'", pkg, copy);
  cf_test_sha256sum(cf_test_path(pkg, "out/s2.json"), was);
  FILE *f = fopen(cf_test_path(copy, "out/s2.json"), "a");
  assert_non_null(f);
  fputs("\n", f); /* still the same JSON, no longer the same bytes */
  fclose(f);
  cf_test_sha256sum(cf_test_path(copy, "out/s2.json"), now);
  snprintf(args, sizeof args, "-q sink report --ledger '%s/out/ledger.json' -o '%s/bad/report.html'", copy, dir);
  assert_int_equal(cf_test_cli(args, log), 4);
  snprintf(line, sizeof line, "the stock report %s/out/s2.json (found by the recorded path relative to the recording file) "
           "has SHA-256 %s, the ledger was computed from %s", copy, now, was);
  if (!cf_test_file_contains(log, line)) fail_msg("no '%s' in:\n%s", line, cf_test_slurp(log));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "bad"), ""), 0);

  if (keep()) print_message("kept %s\n", dir);
  else cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(report_of_a_real_ledger),
      cmocka_unit_test(report_without_geometry),
      cmocka_unit_test(report_of_a_moved_package),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
