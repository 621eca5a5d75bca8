/*
 * `carbonflux verify` (sink/audit/): the audit trail of a ledger checked
 * against its inputs, and one level deeper against the stock reports'.
 *
 * Every case starts from files the commands wrote: a plots, trees and
 * strata inventory (the trees under a mapped column, DBH, so the recorded
 * inventory options matter), stock reports of 2019 and 2023 from
 * `carbonflux forest stocks`, and a VM0047 ledger from `carbonflux sink
 * ledger` with a baseline rate and an emission. What is asserted is the
 * outcome, known by construction: untouched files match in every table
 * (exit 0); a changed input byte, an edited number or a missing file
 * fails (exit 5) and names the input or the table, while the tables it
 * cannot move still match. No number of our own code is asserted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/fsutil.h"
#include "core/json_diff.h"

typedef cf_test_dir fixture;

/* The inventories; P4's area byte is the one the tests flip. */
static void write_inventory(const char *d) {
  cf_test_write_text(cf_test_path(d, "plots.csv"), "plot,stratum,area_ha\nP1,A,0.1\nP2,A,0.1\nP3,B,0.1\nP4,B,0.1\n");
  cf_test_write_text(cf_test_path(d, "trees.csv"),
                     "plot,DBH,height_m,year\n"
                     "P1,20,15,2019\nP1,25,18,2019\nP2,30,20,2019\nP3,15,10,2019\nP3,18,12,2019\nP4,22,14,2019\n"
                     "P1,22,16,2023\nP1,27,19,2023\nP2,33,21,2023\nP3,17,11,2023\nP3,20,13,2023\nP4,24,15,2023\n");
  cf_test_write_text(cf_test_path(d, "strata.csv"), "stratum,area_ha\nA,60\nB,40\n");
}

static int setup(void **state) {
  cf_test_dir_setup(state);
  fixture *f = *state;
  const char *d = f->dir;
  write_inventory(d);
  char args[4096];
  for (int k = 0; k < 2; k++) {
    int year = k ? 2023 : 2019;
    snprintf(args, sizeof args,
             "-q forest stocks --plots '%s/plots.csv' --trees '%s/trees.csv' --strata '%s/strata.csv' -o '%s/s%d.json' "
             "col.dbh_cm=DBH allometry=0.1*D^2 year=%d",
             d, d, d, d, year, year);
    assert_int_equal(cf_test_cli(args, f->log), 0);
  }
  snprintf(args, sizeof args,
           "-q sink ledger --event 2019-06-01='%s/s2019.json' --event 2023-11-01='%s/s2023.json' --policy vm0047 "
           "risk_rating_pct=15 design=permanent baseline=rate baseline_rate=1.5 --emission 2023-11-01=2.5:fuel "
           "-o '%s/ledger.json'",
           d, d, d);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  return 0;
}

static int verify(const fixture *f, const char *file, const char *extra) {
  char args[3000];
  snprintf(args, sizeof args, "verify '%s' %s", file, extra ? extra : "");
  return cf_test_cli(args, f->log);
}

/* Replace the first digit after `needle` in the file by another one. */
static void flip_digit_after(const char *path, const char *needle) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  char *p = strstr(buf, needle);
  assert_non_null(p);
  p += strlen(needle);
  while (*p && (*p < '0' || *p > '9')) p++;
  assert_true(*p);
  *p = *p == '1' ? '2' : '1';
  fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(buf, 1, n, fp), n);
  fclose(fp);
}

/* Edit LEDGER.json with Python's json module: `expr` is a statement on d. */
static void edit_json(const char *path, const char *expr) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); %s; json.dump(d, open(p, \"w\"))' '%s'",
           expr, path);
  assert_int_equal(system(cmd), 0);
}

/* The ledger as written, kept and put back between edits (x + 1 - 1 need
 * not be x in doubles). */
static void keep(const fixture *f) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "cp '%s/ledger.json' '%s/ledger.orig'", f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
}
static void restore(const fixture *f) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "cp '%s/ledger.orig' '%s/ledger.json'", f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
}

static const char *const ledger_tables[] = {"change per pool", "uncertainty", "uncertainty deduction", "baseline",
                                            "emissions", "leakage", "net and cumulative totals", "buffer",
                                            "issuable units", "vintages", "totals", "settings", "parameters"};
static const char *const stocks_tables[] = {"strata", "project estimate", "project pools", "discount", "plots",
                                            "stems"};

static int says(const fixture *f, const char *table, const char *outcome) {
  char line[256];
  snprintf(line, sizeof line, "table     %s: %s", table, outcome);
  return cf_test_file_contains(f->log, line);
}

/* Untouched: every input's hash and every table of the ledger and of both
 * stock reports match, exit 0; the version and seeds are stated. */
static void everything_matches(void **state) {
  fixture *f = *state;
  assert_int_equal(verify(f, cf_test_path(f->dir, "ledger.json"), NULL), 0);
  for (size_t i = 0; i < sizeof ledger_tables / sizeof *ledger_tables; i++) assert_true(says(f, ledger_tables[i], "matches"));
  for (size_t i = 0; i < sizeof stocks_tables / sizeof *stocks_tables; i++) assert_true(says(f, stocks_tables[i], "matches"));
  assert_true(cf_test_file_contains(f->log, "trees.csv: sha256 matches"));
  assert_true(cf_test_file_contains(f->log, "random seeds: none"));
  assert_true(cf_test_file_contains(f->log, "as this one"));
  assert_false(cf_test_file_contains(f->log, "FAIL"));
  assert_true(cf_test_file_contains(f->log, "verify: all"));
  /* a stock report on its own */
  assert_int_equal(verify(f, cf_test_path(f->dir, "s2023.json"), NULL), 0);
  assert_true(says(f, "strata", "matches"));
}

/* Flip a digit of `file` after `needle`, verify the ledger: exit 5 and
 * the input (its role, `label`, and path) named as differing. */
static void flip_and_verify(const fixture *f, const char *file, const char *needle, const char *label) {
  flip_digit_after(cf_test_path(f->dir, file), needle);
  assert_int_equal(verify(f, cf_test_path(f->dir, "ledger.json"), NULL), 5);
  char line[1200];
  snprintf(line, sizeof line, "input     %s %s/%s: DIFFERS", label, f->dir, file);
  assert_true(cf_test_file_contains(f->log, line));
}

/* One byte of the plots table (P4's area 0.1 -> 0.2): the plots input of
 * both stock reports is named with both hashes, their recomputed tables
 * differ, the ledger itself (whose reports are intact) still matches. */
static void plots_byte_changed(void **state) {
  fixture *f = *state;
  flip_and_verify(f, "plots.csv", "P4,B,0.", "plots");
  assert_true(says(f, "plots", "DIFFERS at plots[3].area_ha: recorded 0.1, recomputed 0.2"));
  assert_true(says(f, "change per pool", "matches"));
  assert_true(cf_test_file_contains(f->log, "do NOT match"));
}

/* One byte of the 2023 stock report (a digit of its project's agb): the
 * ledger's input is named, and the ledger cannot be recomputed from the
 * changed report, whose project pool no longer agrees with its strata
 * (the reader's check, stocks_read.c). */
static void stock_report_byte_changed(void **state) {
  fixture *f = *state;
  flip_and_verify(f, "s2023.json", "\"pools_t_co2e\":{\"agb\":", "event 2023-11-01");
  assert_true(cf_test_file_contains(f->log, "recompute ledger: FAILED: "));
  assert_true(cf_test_file_contains(f->log, "s2023.json: project.pools_t_co2e.agb: is "));
  assert_true(says(f, "project pools", "DIFFERS at project.pools_t_co2e.agb")); /* one level deeper */
}

/* One number of LEDGER.json edited (period 1's buffer + 1 t): that table
 * is named with both values; the others match. */
static void ledger_number_edited(void **state) {
  fixture *f = *state;
  const char *lg = cf_test_path(f->dir, "ledger.json");
  keep(f);
  edit_json(lg, "d[\"periods\"][0][\"buffer_t_co2e\"] += 1");
  assert_int_equal(verify(f, lg, NULL), 5);
  assert_true(says(f, "buffer", "DIFFERS at periods[0].buffer_t_co2e"));
  assert_true(says(f, "change per pool", "matches"));
  assert_true(says(f, "issuable units", "matches"));
  /* an edited setting moves what follows from it: the buffer again */
  restore(f);
  edit_json(lg, "d[\"settings\"][\"risk_rating_pct\"][\"text\"] = \"20\"");
  assert_int_equal(verify(f, lg, NULL), 5);
  assert_true(says(f, "buffer", "DIFFERS at periods[0].buffer_pct"));
  /* another software version is a warning, not a failure */
  restore(f);
  edit_json(lg, "d[\"software\"][\"version\"] = \"0.0.1\"");
  assert_int_equal(verify(f, lg, NULL), 0);
  assert_true(cf_test_file_contains(f->log, "written by carbonflux 0.0.1"));
}

/* A missing input is named (the trees table of the reports; a stock
 * report of the ledger, which then cannot be recomputed). */
static void missing_inputs(void **state) {
  fixture *f = *state;
  remove(cf_test_path(f->dir, "trees.csv"));
  assert_int_equal(verify(f, cf_test_path(f->dir, "ledger.json"), NULL), 5);
  assert_true(cf_test_file_contains(f->log, "MISSING"));
  assert_true(cf_test_file_contains(f->log, "trees.csv"));
  remove(cf_test_path(f->dir, "s2019.json"));
  assert_int_equal(verify(f, cf_test_path(f->dir, "ledger.json"), NULL), 5);
  assert_true(cf_test_file_contains(f->log, "s2019.json' (recorded sha256"));
  assert_true(cf_test_file_contains(f->log, "recompute ledger: not possible: 1 input is missing"));
}

/* A moved package: found by the bare name beside the ledger, or under
 * --inputs-dir when the ledger is elsewhere. */
static void moved_package(void **state) {
  fixture *f = *state;
  char *moved = cf_test_tmpdir(), *alone = cf_test_tmpdir(), cmd[4000];
  snprintf(cmd, sizeof cmd, "mv '%s'/*.csv '%s'/*.json '%s' && cp '%s/ledger.json' '%s'", f->dir, f->dir, moved, moved, alone);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(verify(f, cf_test_path(moved, "ledger.json"), NULL), 0);
  assert_true(cf_test_file_contains(f->log, "(found as "));
  char opt[1200];
  snprintf(opt, sizeof opt, "--inputs-dir '%s'", moved);
  assert_int_equal(verify(f, cf_test_path(alone, "ledger.json"), opt), 0);
  assert_int_equal(verify(f, cf_test_path(alone, "ledger.json"), NULL), 5); /* its inputs are not beside it */
  cf_test_rmtree(moved), cf_test_rmtree(alone);
  free(moved), free(alone);
}

/* Run a shell command (printf-style). */
__attribute__((format(printf, 1, 2))) static void run_sh(const char *fmt, ...) {
  char cmd[4000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  assert_int_equal(system(cmd), 0);
}

/* The demo's layout, PKG/forest/ (inventories) and PKG/out/ (stock reports
 * and the ledger), written with absolute paths as the demo does. A copy of
 * the package is checked where it lies: a tampered copy fails naming the
 * copy's file and both hashes (sha256sum's), even with the untouched
 * original in place (which the recorded absolute paths point at); the
 * original still verifies; moved away from where it was written, the
 * package verifies from its relative paths, and says so per file. */
static void package_copied_and_moved(void **state) {
  fixture *f = *state;
  char pkg[512], copy[512], moved[512], args[8192];
  snprintf(pkg, sizeof pkg, "%s/pkg", f->dir);
  snprintf(copy, sizeof copy, "%s/copy", f->dir);
  snprintf(moved, sizeof moved, "%s/moved", f->dir);
  run_sh("mkdir -p '%s/forest' '%s/out' && mv '%s'/*.csv '%s/forest/'", pkg, pkg, f->dir, pkg);
  for (int k = 0; k < 2; k++) {
    int year = k ? 2023 : 2019;
    snprintf(args, sizeof args,
             "-q forest stocks --plots '%s/forest/plots.csv' --trees '%s/forest/trees.csv' --strata '%s/forest/strata.csv' "
             "-o '%s/out/s%d.json' col.dbh_cm=DBH allometry=0.1*D^2 year=%d", pkg, pkg, pkg, pkg, year, year);
    assert_int_equal(cf_test_cli(args, f->log), 0);
  }
  snprintf(args, sizeof args, "-q sink ledger --event 2019-06-01='%s/out/s2019.json' --event 2023-11-01='%s/out/s2023.json' "
           "--policy vm0047 risk_rating_pct=15 -o '%s/out/ledger.json'", pkg, pkg, pkg);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  /* the records: the path as given and the one from the recording file's folder */
  assert_true(cf_test_file_contains(cf_test_path(pkg, "out/s2019.json"), "\"relative_path\":\"../forest/plots.csv\""));
  assert_true(cf_test_file_contains(cf_test_path(pkg, "out/ledger.json"), "\"relative_path\":\"s2019.json\""));
  char orig_path[1200];
  snprintf(orig_path, sizeof orig_path, "\"path\":\"%s/forest/plots.csv\"", pkg);
  assert_true(cf_test_file_contains(cf_test_path(pkg, "out/s2019.json"), orig_path));

  /* a copy with one plot's area changed (P4 0.1 -> 0.2) */
  run_sh("cp -r '%s' '%s'", pkg, copy);
  flip_digit_after(cf_test_path(copy, "forest/plots.csv"), "P4,B,0.");
  char was[80], now[80], line[1600];
  cf_test_sha256sum(cf_test_path(pkg, "forest/plots.csv"), was);
  cf_test_sha256sum(cf_test_path(copy, "forest/plots.csv"), now);
  assert_int_equal(verify(f, cf_test_path(copy, "out/ledger.json"), NULL), 5);
  snprintf(line, sizeof line, "DIFFERS: %s/out/../forest/plots.csv (found by the recorded path relative to the recording "
           "file) has sha256 %s, the record says %s", copy, now, was);
  assert_true(cf_test_file_contains(f->log, line));
  assert_true(says(f, "plots", "DIFFERS at plots[3].area_ha: recorded 0.1, recomputed 0.2"));
  snprintf(line, sizeof line, "--inputs-dir '%s/out'", copy); /* the tester's second try: the same outcome */
  assert_int_equal(verify(f, cf_test_path(copy, "out/ledger.json"), line), 5);
  snprintf(line, sizeof line, "DIFFERS: %s/out/../forest/plots.csv (found under --inputs-dir", copy);
  assert_true(cf_test_file_contains(f->log, line));
  assert_int_equal(verify(f, cf_test_path(pkg, "out/ledger.json"), NULL), 0); /* the original is intact */

  /* the package moved away from where it was written */
  run_sh("mv '%s' '%s'", pkg, moved);
  assert_int_equal(verify(f, cf_test_path(moved, "out/ledger.json"), NULL), 0);
  snprintf(line, sizeof line, "sha256 matches (found as %s/out/../forest/plots.csv, by the recorded path relative", moved);
  assert_true(cf_test_file_contains(f->log, line));
  snprintf(line, sizeof line, "sha256 matches (found as %s/out/s2023.json, by the recorded path relative", moved);
  assert_true(cf_test_file_contains(f->log, line));
  assert_true(says(f, "stems", "matches"));
  assert_true(says(f, "vintages", "matches"));
}

/* Documents written before `relative_path` (removed here with Python's
 * json module) verify as before: in place, found at the recorded path;
 * moved together, by the bare name beside the recording file. */
static void documents_without_relative_paths(void **state) {
  fixture *f = *state;
  const char *strip = "[r.pop(\"relative_path\") for r in d[\"inputs\"]]";
  const char *lg = cf_test_path(f->dir, "ledger.json");
  edit_json(lg, strip);
  assert_false(cf_test_file_contains(lg, "relative_path"));
  assert_int_equal(verify(f, lg, NULL), 0);
  char line[1600];
  snprintf(line, sizeof line, "sha256 matches (found as %s/s2019.json, at the recorded path)", f->dir);
  assert_true(cf_test_file_contains(f->log, line));
  /* a stock report of that time, on its own (its hash is the ledger's business) */
  const char *s23 = cf_test_path(f->dir, "s2023.json");
  edit_json(s23, strip);
  assert_int_equal(verify(f, s23, NULL), 0);
  snprintf(line, sizeof line, "sha256 matches (found as %s/plots.csv, at the recorded path)", f->dir);
  assert_true(cf_test_file_contains(f->log, line));
  assert_true(says(f, "strata", "matches"));
  char *moved = cf_test_tmpdir();
  run_sh("mv '%s'/*.csv '%s'/*.json '%s'", f->dir, f->dir, moved);
  assert_int_equal(verify(f, cf_test_path(moved, "s2023.json"), NULL), 0);
  snprintf(line, sizeof line, "sha256 matches (found as %s/plots.csv, by its name beside the recording file)", moved);
  assert_true(cf_test_file_contains(f->log, line));
  cf_test_rmtree(moved);
  free(moved);
}

/* Not a ledger: another schema version and a CSV are exit 4 naming the
 * file; a missing ledger and no file at all are exit 1. */
static void not_a_ledger(void **state) {
  fixture *f = *state;
  const char *lg = cf_test_path(f->dir, "ledger.json");
  edit_json(lg, "d[\"schema\"] = \"carbonflux-ledger/2\"");
  assert_int_equal(verify(f, lg, NULL), 4);
  assert_true(cf_test_file_contains(f->log, "ledger.json: schema: 'carbonflux-ledger/2' is not a schema"));
  assert_int_equal(verify(f, cf_test_path(f->dir, "plots.csv"), NULL), 4);
  assert_true(cf_test_file_contains(f->log, "plots.csv: not a carbonflux ledger"));
  assert_int_equal(verify(f, cf_test_path(f->dir, "none.json"), NULL), 1);
  assert_int_equal(cf_test_cli("verify", f->log), 1);
}

/* Stock reports of other software (the contract without software,
 * settings and inputs): the ledger still verifies against them (exit 0),
 * and their own recompute is a warning, not a failure. */
static void reports_of_other_software(void **state) {
  fixture *f = *state;
  const char *d = f->dir;
  char args[4096];
  for (int k = 0; k < 2; k++) {
    int year = k ? 2023 : 2019;
    snprintf(args, sizeof args, "/usr/bin/python3 -c 'import json; d = json.load(open(\"%s/s%d.json\")); "
             "[d.pop(k) for k in (\"software\", \"settings\", \"inputs\", \"random_seeds\")]; "
             "json.dump(d, open(\"%s/o%d.json\", \"w\"), indent=1)'", d, year, d, year);
    assert_int_equal(system(args), 0);
  }
  snprintf(args, sizeof args, "-q sink ledger --event 2019-06-01='%s/o2019.json' --event 2023-11-01='%s/o2023.json' "
           "--policy gold-standard -o '%s/other.json'", d, d, d);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_int_equal(verify(f, cf_test_path(d, "other.json"), NULL), 0);
  assert_true(cf_test_file_contains(f->log, "warning recompute stock report: not possible"));
  assert_true(says(f, "change per pool", "matches"));
}

/* Leakage entered as a tonnage (`--leakage`, AR-ACM0003's AR-TOOL15 form)
 * is recorded in the ledger's "leakage" list: verify must enter it again
 * when it recomputes, or its leakage table reads "recorded 120,
 * recomputed 0". And an edited tonnage is caught. */
static void entered_leakage(void **state) {
  fixture *f = *state;
  const char *d = f->dir;
  char args[4096];
  snprintf(args, sizeof args, "-q sink ledger --event 2019-06-01='%s/s2019.json' --event 2023-11-01='%s/s2023.json' "
           "--policy cdm-ar-acm0003 --leakage 2023-11-01=120:grazing -o '%s/leak.json'", d, d, d);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_int_equal(verify(f, cf_test_path(d, "leak.json"), NULL), 0);
  assert_true(says(f, "leakage", "matches"));
  assert_true(says(f, "emissions, leakage and stratum map entered", "matches"));
  edit_json(cf_test_path(d, "leak.json"), "d[\"leakage\"][0][\"t_co2e\"] = 150");
  assert_int_equal(verify(f, cf_test_path(d, "leak.json"), NULL), 5);
  assert_true(says(f, "leakage", "DIFFERS"));
}

/* The hook of an HTML report: it names its ledger and that ledger's hash. */
static void report_names_its_ledger(void **state) {
  fixture *f = *state;
  char sha[80] = "", html[1000];
  cf_test_sha256sum(cf_test_path(f->dir, "ledger.json"), sha);
  const char *tmpl = "<!doctype html><html><head><title>r</title>\n<script type=\"application/json\" id=\"carbonflux-audit\">"
                     "{\"ledger\":{\"path\":\"ledger.json\",\"sha256\":\"%s\"}}</script></head><body></body></html>\n";
  snprintf(html, sizeof html, tmpl, sha);
  cf_test_write_text(cf_test_path(f->dir, "report.html"), html);
  assert_int_equal(verify(f, cf_test_path(f->dir, "report.html"), NULL), 0);
  assert_true(cf_test_file_contains(f->log, "ledger of the report ledger.json: sha256 matches"));
  assert_true(says(f, "vintages", "matches"));
  sha[0] = sha[0] == '0' ? '1' : '0'; /* a report built from another ledger */
  snprintf(html, sizeof html, tmpl, sha);
  cf_test_write_text(cf_test_path(f->dir, "report.html"), html);
  assert_int_equal(verify(f, cf_test_path(f->dir, "report.html"), NULL), 5);
  assert_true(cf_test_file_contains(f->log, "ledger of the report ledger.json: DIFFERS"));
}

/* The comparison itself (core/json_diff.h) on two small documents: each
 * leaf goes to the table of its longest path, the first difference is
 * shown with both values, unclaimed leaves land in "other fields",
 * skipped tables count nothing, a missing member is a difference. */
static void table_comparison(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  const char *a = "{\"skip\":1,\"p\":[{\"x\":1,\"y\":{\"u\":2,\"v\":[]}},{\"x\":3,\"y\":{\"u\":4,\"v\":[]}}],\"z\":\"s\",\"w\":5}";
  const char *b = "{\"skip\":9,\"p\":[{\"x\":1,\"y\":{\"u\":2,\"v\":[]}},{\"x\":3,\"y\":{\"u\":4.5,\"v\":[]}}],\"z\":\"s\"}";
  cf_json *ja, *jb;
  assert_int_equal(cf_json_parse(ctx, "a", a, strlen(a), &ja), CF_OK);
  assert_int_equal(cf_json_parse(ctx, "b", b, strlen(b), &jb), CF_OK);
  const cf_json_table t[] = {{NULL, (const char *const[]){"skip", NULL}},
                             {"x", (const char *const[]){"p.x", "z", NULL}},
                             {"y", (const char *const[]){"p.y", NULL}},
                             {"v", (const char *const[]){"p.y.v", NULL}}};
  cf_json_table_result r[5];
  cf_json_compare_tables(ja, jb, t, 4, r);
  assert_int_equal(r[0].n_compared, 0);
  assert_int_equal(r[1].n_compared, 3); /* p[0].x, p[1].x, z */
  assert_int_equal(r[1].differs, 0);
  assert_int_equal(r[2].n_compared, 2); /* u twice; v is the table v's */
  assert_int_equal(r[2].differs, 1);
  assert_string_equal(r[2].where, "p[1].y.u");
  assert_string_equal(r[2].recorded, "4");
  assert_string_equal(r[2].recomputed, "4.5");
  assert_close(r[2].rel, 0.5 / 4.5, 1e-15, 0); /* |4 - 4.5| / 4.5, exact to the last bits */
  assert_int_equal(r[3].n_compared, 2); /* two empty arrays, equal */
  assert_int_equal(r[3].differs, 0);
  assert_int_equal(r[4].differs, 1); /* w: in a only */
  assert_string_equal(r[4].where, "w");
  assert_string_equal(r[4].recomputed, "(absent)");
  cf_json_free(ja), cf_json_free(jb);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(everything_matches, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(plots_byte_changed, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(stock_report_byte_changed, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(ledger_number_edited, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(missing_inputs, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(moved_package, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(package_copied_and_moved, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(documents_without_relative_paths, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(not_a_ledger, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(report_names_its_ledger, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(entered_leakage, setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(reports_of_other_software, setup, cf_test_dir_teardown),
      cmocka_unit_test(table_comparison),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
