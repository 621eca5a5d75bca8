/*
 * The nightly batch (issue 11, items 1 and 5): the catalogue decides what
 * runs, status and history read it back, every JSON log record carries the
 * run and the item.
 *
 * The batch: three small simulated L0 files (a, b, c: `simulate lidar
 * scans=1 rays_per_scan=6 gates=10`) and "bad.h5", a text file that is not
 * HDF5, which the L0 reader rejects (CF_EDATA): so in byte order the items
 * are 0 a, 1 b, 2 bad, 3 c. Every expected count below follows from that
 * setup and the rules of batch/batch.h, not from a run of the code.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "cf_test.h"

static char *g_inputs; /* the simulated files, made once */

static int make_inputs(void **state) {
  (void)state;
  g_inputs = cf_test_tmpdir();
  const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    char args[2048];
    snprintf(args, sizeof args,
             "-q simulate lidar -o '%s/%s.h5' --truth '%s/%s_truth.nc' scans=1 rays_per_scan=6 gates=10 seed=%d",
             g_inputs, names[i], g_inputs, names[i], i + 1);
    if (cf_test_cli(args, NULL) != 0) return -1;
  }
  /* a second content for a.h5, for "content changed" */
  char args[2048];
  snprintf(args, sizeof args,
           "-q simulate lidar -o '%s/a2.h5' --truth '%s/a2_truth.nc' scans=1 rays_per_scan=6 gates=10 seed=9", g_inputs,
           g_inputs);
  return cf_test_cli(args, NULL) == 0 ? 0 : -1;
}

static int drop_inputs(void **state) {
  (void)state;
  cf_test_rmtree(g_inputs);
  free(g_inputs);
  return 0;
}

static void sh(const char *fmt, const char *a, const char *b) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  assert_int_equal(system(cmd), 0);
}

/* The batch's directory: in/ with a, b, c, bad and the pipeline p.yaml. */
static void setup_batch(const char *dir) {
  char in[1100];
  snprintf(in, sizeof in, "%s/in", dir);
  assert_int_equal(mkdir(in, 0777), 0);
  sh("cp '%s'/a.h5 '%s'/", g_inputs, in);
  sh("cp '%s'/b.h5 '%s'/", g_inputs, in);
  sh("cp '%s'/c.h5 '%s'/", g_inputs, in);
  cf_test_write_text(cf_test_path(in, "bad.h5"), "this is not an HDF5 file\n");
  cf_test_write_l2_pipeline(dir);
}

/* Run the command in `dir` with stdout to out.txt and stderr to err.txt;
 * the exit code. */
static int cli(const char *dir, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", dir, CF_CLI, args);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

/* out.txt of the last cli() parsed as one JSON document (strict reader). */
static cf_json *stdout_json(const char *dir) {
  cf_ctx *ctx = cf_test_ctx();
  cf_json *j = NULL;
  int rc = cf_json_load_file(ctx, cf_test_path(dir, "out.txt"), &j);
  if (rc) fprintf(stderr, "%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  cf_ctx_destroy(ctx);
  return j;
}

static int num(const cf_json *j, const char *key) {
  const cf_json *v = cf_json_get(j, key);
  assert_non_null(v);
  assert_int_equal(v->type, CF_JSON_NUMBER);
  return (int)v->number;
}

static const char *str(const cf_json *j, const char *key) {
  const cf_json *v = cf_json_get(j, key);
  assert_non_null(v);
  assert_int_equal(v->type, CF_JSON_STRING);
  return v->string;
}

/* The summary's counts: considered, to_run, new, skipped, still
 * quarantined, done, quarantined, failed. */
static void expect_counts(const char *dir, int considered, int to_run, int fresh, int skipped, int still_q, int done,
                          int quarantined, int failed) {
  cf_json *j = stdout_json(dir);
  const cf_json *c = cf_json_get(j, "counts");
  assert_non_null(c);
  assert_int_equal(num(c, "considered"), considered);
  assert_int_equal(num(c, "to_run"), to_run);
  assert_int_equal(num(c, "new"), fresh);
  assert_int_equal(num(c, "skipped"), skipped);
  assert_int_equal(num(c, "still_quarantined"), still_q);
  assert_int_equal(num(c, "done"), done);
  assert_int_equal(num(c, "quarantined"), quarantined);
  assert_int_equal(num(c, "failed"), failed);
  cf_json_free(j);
}

/* The "why" of item `index` in the summary. */
static void expect_why(const char *dir, int index, const char *why) {
  cf_json *j = stdout_json(dir);
  const cf_json *items = cf_json_get(j, "items");
  assert_non_null(items);
  int found = 0;
  for (size_t i = 0; i < items->n; i++)
    if (num(items->items[i], "index") == index) {
      assert_string_equal(str(items->items[i], "why"), why);
      found = 1;
    }
  assert_true(found);
  cf_json_free(j);
}

static void set_mtime(const char *path, time_t t) {
  char cmd[2048], when[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y%m%d%H%M.%S", &tm);
  snprintf(cmd, sizeof cmd, "TZ=UTC touch -t %s '%s'", when, path);
  assert_int_equal(system(cmd), 0);
}

static const char *batch_args = "batch p.yaml --json";

static void catalogue_decides_what_runs(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  const char *cat = cf_test_path(f->dir, "out/catalogue.sqlite");

  /* first night: all four are new; bad.h5 is quarantined: exit 3 */
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 4, 4, 0, 0, 3, 1, 0);
  assert_int_equal(access(cat, F_OK), 0);

  /* second night, nothing changed: nothing runs; bad.h5 is still quarantined */
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 0, 0, 3, 1, 0, 0, 0);

  /* --inputs replaces the glob: a and b only, both unchanged (the list of
   * inputs is not part of the settings hash, so nothing reruns) */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --inputs 'in/[ab].h5'"), 0);
  expect_counts(f->dir, 2, 0, 0, 2, 0, 0, 0, 0);

  /* a.h5 touched (mtime moves, content the same): hashed again, not rerun */
  set_mtime(cf_test_path(f->dir, "in/a.h5"), time(NULL) - 3600);
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 0, 0, 3, 1, 0, 0, 0);

  /* a.h5 with another content: it alone reruns, as "changed" */
  sh("cp '%s'/a2.h5 '%s'/in/a.h5", g_inputs, f->dir);
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 1, 0, 2, 1, 1, 0, 0);
  expect_why(f->dir, 0, "changed");

  /* a setting changed: every good input reruns; bad.h5 stays quarantined */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --set write.l2.title=night2"), 3);
  expect_counts(f->dir, 4, 3, 0, 0, 1, 3, 0, 0);
  expect_why(f->dir, 1, "settings changed");

  /* an output deleted: that item reruns */
  assert_int_equal(unlink(cf_test_path(f->dir, "out/b_l2.nc")), 0);
  assert_int_equal(cli(f->dir, "batch p.yaml --json --set write.l2.title=night2"), 3);
  expect_counts(f->dir, 4, 1, 0, 2, 1, 1, 0, 0);
  expect_why(f->dir, 1, "output missing");
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "b_l2.nc"), 1);

  /* --retry-quarantined: bad.h5 runs again and is rejected again */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --retry-quarantined --set write.l2.title=night2"), 3);
  expect_counts(f->dir, 4, 1, 0, 3, 0, 0, 1, 0);

  /* bad.h5 with another (still bad) content: retried by itself, as
   * "changed", and quarantined again */
  cf_test_write_text(cf_test_path(f->dir, "in/bad.h5"), "still not an HDF5 file, but another one\n");
  assert_int_equal(cli(f->dir, "batch p.yaml --json --set write.l2.title=night2"), 3);
  expect_counts(f->dir, 4, 1, 0, 3, 0, 0, 1, 0);
  expect_why(f->dir, 2, "changed");

  /* --force: everything */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --force --set write.l2.title=night2"), 3);
  expect_counts(f->dir, 4, 4, 0, 0, 0, 3, 1, 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
}

static void status_and_history(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  assert_int_equal(cli(f->dir, batch_args), 3);
  assert_int_equal(cli(f->dir, batch_args), 3);

  /* status, text: four inputs, three done, one quarantined with the reader's reason */
  assert_int_equal(cli(f->dir, "status --catalogue out/catalogue.sqlite"), 0);
  const char *out = cf_test_path(f->dir, "out.txt");
  assert_true(cf_test_file_contains(out, "inputs: 4 (done 3, quarantined 1, failed 0)"));
  assert_true(cf_test_file_contains(out, "in/bad.h5: "));
  assert_true(cf_test_file_contains(out, "not retried until its content changes"));
  assert_true(cf_test_file_contains(out, "finished"));

  /* status, JSON */
  assert_int_equal(cli(f->dir, "status --catalogue out/catalogue.sqlite --json"), 0);
  cf_json *j = stdout_json(f->dir);
  const cf_json *c = cf_json_get(j, "counts");
  assert_int_equal(num(c, "inputs"), 4);
  assert_int_equal(num(c, "done"), 3);
  assert_int_equal(num(c, "quarantined"), 1);
  const cf_json *inputs = cf_json_get(j, "inputs");
  assert_int_equal(inputs->n, 4);
  const cf_json *bad = inputs->items[2]; /* by input: a, b, bad, c */
  assert_non_null(strstr(str(bad, "input"), "in/bad.h5"));
  assert_string_equal(str(bad, "status"), "quarantined");
  assert_string_equal(str(bad, "stage"), "ingest.lidar_l0");
  assert_true(strlen(str(bad, "reason")) > 10);
  assert_string_equal(str(cf_json_get(j, "last_run"), "state"), "finished");
  assert_int_equal(num(cf_json_get(j, "last_run"), "exit_code"), 3);
  cf_json_free(j);

  /* history: two runs, newest first; the first ran 4 items, the second none */
  assert_int_equal(cli(f->dir, "history --catalogue out/catalogue.sqlite --json"), 0);
  j = stdout_json(f->dir);
  const cf_json *runs = cf_json_get(j, "runs");
  assert_int_equal(runs->n, 2);
  assert_int_equal(num(runs->items[0], "n_to_run"), 0);
  assert_int_equal(num(runs->items[0], "n_skipped"), 3);
  assert_int_equal(num(runs->items[1], "n_to_run"), 4);
  assert_int_equal(num(runs->items[1], "n_done"), 3);
  assert_string_equal(str(runs->items[1], "version"), cf_version());
  assert_int_equal(strlen(str(runs->items[1], "settings_sha256")), 64);
  char first_run[128];
  snprintf(first_run, sizeof first_run, "%s", str(runs->items[1], "run_id"));
  cf_json_free(j);

  /* history of the first run: its four items in index order */
  char args[512];
  snprintf(args, sizeof args, "history --catalogue out/catalogue.sqlite --json --run %s", first_run);
  assert_int_equal(cli(f->dir, args), 0);
  j = stdout_json(f->dir);
  const cf_json *items = cf_json_get(j, "items");
  assert_int_equal(items->n, 4);
  assert_string_equal(str(items->items[0], "status"), "done");
  assert_int_equal(num(items->items[0], "outputs"), 1);
  assert_string_equal(str(items->items[2], "status"), "quarantined");
  assert_string_equal(str(items->items[2], "why"), "new");
  cf_json_free(j);

  /* text history and a run that is not there */
  assert_int_equal(cli(f->dir, "history --catalogue out/catalogue.sqlite"), 0);
  assert_true(cf_test_file_contains(out, "finished"));
  assert_int_equal(cli(f->dir, "history --catalogue out/catalogue.sqlite --run nosuchrun"), 1);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "no run 'nosuchrun'"));
}

/* An L0 file whose stored data is corrupt (a deflated chunk of spectra/on
 * with 64 bytes inverted: ingest/h5_read_error.h) is a rejected input like
 * the text file: quarantined with the reader's reason, not "failed" and
 * retried every night. Same four items as above, bad.h5 now a corrupt copy
 * of b.h5: the expected counts are the first two nights' above. */
static void corrupt_chunk_is_quarantined(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  const char *bad = cf_test_path(f->dir, "in/bad.h5");
  sh("cp '%s'/b.h5 '%s'", g_inputs, bad);
  cf_test_corrupt_h5_chunk(bad, "spectra/on", 0);
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 4, 4, 0, 0, 3, 1, 0);
  assert_int_equal(cli(f->dir, batch_args), 3);
  expect_counts(f->dir, 4, 0, 0, 3, 1, 0, 0, 0);
  assert_int_equal(cli(f->dir, "status --catalogue out/catalogue.sqlite"), 0);
  const char *out = cf_test_path(f->dir, "out.txt");
  assert_true(cf_test_file_contains(out, "quarantined 1, failed 0"));
  assert_true(cf_test_file_contains(out, "spectra/on: records 0.."));
  assert_true(cf_test_file_contains(out, "deflate data error"));
}

static void foreign_catalogue_version(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  const char *cat = cf_test_path(f->dir, "other.sqlite");
  sqlite3 *db;
  assert_int_equal(sqlite3_open(cat, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 7;", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(cli(f->dir, "batch p.yaml --catalogue other.sqlite"), 1);
  const char *err = cf_test_path(f->dir, "err.txt");
  assert_true(cf_test_file_contains(err, "other.sqlite"));
  assert_true(cf_test_file_contains(err, "schema version 7"));
  assert_int_equal(access(cf_test_path(f->dir, "out"), F_OK), -1); /* nothing ran */
  assert_int_equal(cli(f->dir, "status --catalogue other.sqlite"), 1);
  assert_true(cf_test_file_contains(err, "schema version 7"));
  /* a file that is not SQLite at all */
  cf_test_write_text(cf_test_path(f->dir, "text.sqlite"), "hello, this is not a database, it is a text file....\n");
  assert_int_equal(cli(f->dir, "status --catalogue text.sqlite"), 1);
  assert_true(cf_test_file_contains(err, "text.sqlite"));
}

/* Every stderr line is one JSON object with this run's run_id; a record
 * between an item's item_start and item_end has that item's item_id (the
 * "wrote" record comes from the item's child process). */
static void json_logs_carry_run_and_item(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  assert_int_equal(cli(f->dir, "--log-format json batch p.yaml --json"), 3);
  cf_json *summary = stdout_json(f->dir);
  char run_id[128];
  snprintf(run_id, sizeof run_id, "%s", str(summary, "run_id"));
  cf_json_free(summary);
  char *log = cf_test_slurp(cf_test_path(f->dir, "err.txt"));
  assert_non_null(log);
  cf_ctx *ctx = cf_test_ctx();
  int lines = 0, starts = 0, in_item = -1, item_records = 0, wrote_in_item = 0;
  for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
    cf_json *j = NULL;
    if (cf_json_parse(ctx, "log", line, strlen(line), &j) != CF_OK) fail_msg("not JSON: %s", line);
    lines++;
    assert_string_equal(str(j, "run_id"), run_id);
    const cf_json *ev = cf_json_get(j, "event");
    const char *event = ev && ev->type == CF_JSON_STRING ? ev->string : "";
    if (!strcmp(event, "item_start")) {
      starts++;
      in_item = num(j, "item_id");
      assert_non_null(strstr(str(j, "path"), "in/"));
    }
    if (in_item >= 0) {
      assert_int_equal(num(j, "item_id"), in_item);
      item_records++;
      wrote_in_item += !strcmp(event, "wrote");
    } else {
      assert_null(cf_json_get(j, "item_id"));
    }
    if (!strcmp(event, "item_end")) in_item = -1;
    cf_json_free(j);
  }
  cf_ctx_destroy(ctx);
  free(log);
  assert_int_equal(starts, 4);
  assert_int_equal(wrote_in_item, 3); /* one L2 file per good input */
  assert_true(item_records >= 4 * 2 + 3);
  assert_true(lines > item_records);     /* the run's own records, outside any item */
}

static void dry_run_shard_items_summary(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  /* --check validates the pipeline with its overrides and inputs, as `run
   * --check`, without opening the catalogue: exit 0 and nothing written;
   * an unknown stage or a glob matching nothing: exit 1, said */
  assert_int_equal(cli(f->dir, "batch p.yaml --check"), 0);
  const char *err = cf_test_path(f->dir, "err.txt");
  assert_true(cf_test_file_contains(err, "p.yaml is valid: 4 inputs; catalogue out/catalogue.sqlite"));
  assert_int_equal(cli(f->dir, "batch p.yaml --check --set nosuch.key=1"), 1);
  assert_true(cf_test_file_contains(err, "no stage named 'nosuch'"));
  assert_int_equal(cli(f->dir, "batch p.yaml --check --inputs 'in/zz*.h5'"), 1);
  assert_true(cf_test_file_contains(err, "--inputs"));
  assert_true(cf_test_file_contains(err, "no file matches"));
  assert_int_equal(cf_test_count_entries(f->dir, "out"), 1); /* out.txt only: no out/ */
  /* dry run: four would run, as new; nothing written, not even the catalogue */
  assert_int_equal(cli(f->dir, "batch p.yaml --dry-run"), 0);
  const char *out = cf_test_path(f->dir, "out.txt");
  assert_true(cf_test_file_contains(out, "4 of 4 would run (4 new)"));
  assert_int_equal(cf_test_count_entries(f->dir, "out"), 1); /* out.txt only: no out/ */
  /* shard 1 of 2: items 1 (b) and 3 (c) */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --shard 1/2 --catalogue s1.sqlite"), 0);
  expect_counts(f->dir, 2, 2, 2, 0, 0, 2, 0, 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "_l2.nc"), 2);
  /* items 0:3 (a, b, bad) with a summary file: b unchanged in s1, a new, bad quarantined */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --items 0:3 --catalogue s1.sqlite --summary night.txt"), 3);
  expect_counts(f->dir, 3, 2, 2, 1, 0, 1, 1, 0);
  const char *night = cf_test_path(f->dir, "night.txt");
  assert_true(cf_test_file_contains(night, "quarantined this run:"));
  assert_true(cf_test_file_contains(night, "in/bad.h5: "));
  assert_true(cf_test_file_contains(night, "ran: 1 done, 1 quarantined, 0 failed"));
  /* the dry run now says why: a is unchanged, bad is quarantined */
  assert_int_equal(cli(f->dir, "batch p.yaml --dry-run --catalogue s1.sqlite"), 0);
  assert_true(cf_test_file_contains(out, "skip     2 quarantined"));
  assert_true(cf_test_file_contains(out, "skip     0 unchanged"));
  /* two shards' catalogues read together */
  assert_int_equal(cli(f->dir, "batch p.yaml --json --shard 0/2 --catalogue s0.sqlite"), 3);
  assert_int_equal(cli(f->dir, "status --catalogue s0.sqlite --catalogue s1.sqlite --json"), 0);
  cf_json *j = stdout_json(f->dir);
  assert_int_equal(num(cf_json_get(j, "counts"), "inputs"), 4);
  assert_int_equal(num(cf_json_get(j, "counts"), "done"), 3);
  cf_json_free(j);
  /* usage */
  assert_int_equal(cli(f->dir, "batch p.yaml --shard 2/2"), 1);
  assert_int_equal(cli(f->dir, "batch p.yaml --items 3:1"), 1);
}

/* A catalogue written by another program, the sqlite3 shell: its .backup
 * of night 1's catalogue (the shell's own copy, page by page, header and
 * user_version with it). status reads the same four inputs from it, and a
 * batch on it recognises every input: nothing runs, 3 skipped, 1 still
 * quarantined. A .dump loaded into a new file by a second shell loses
 * PRAGMA user_version (the shell's .dump does not write it), and is
 * refused with the reason rather than read as some other version. */
static void catalogue_written_by_the_sqlite3_shell(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  assert_int_equal(cli(f->dir, batch_args), 3);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && sqlite3 out/catalogue.sqlite '.backup shell.sqlite' && "
           "sqlite3 out/catalogue.sqlite .dump > dump.sql && sqlite3 dumped.sqlite < dump.sql", f->dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(cli(f->dir, "status --catalogue dumped.sqlite"), 1);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "err.txt"), "no schema version"));
  assert_int_equal(cli(f->dir, "status --catalogue shell.sqlite --json"), 0);
  cf_json *j = stdout_json(f->dir);
  const cf_json *c = cf_json_get(j, "counts");
  assert_int_equal(num(c, "inputs"), 4);
  assert_int_equal(num(c, "done"), 3);
  assert_int_equal(num(c, "quarantined"), 1);
  cf_json_free(j);
  char args[1024];
  snprintf(args, sizeof args, "%s --catalogue shell.sqlite", batch_args);
  assert_int_equal(cli(f->dir, args), 3); /* the quarantined input still counts */
  expect_counts(f->dir, 4, 0, 0, 3, 1, 0, 0, 0);
}

/* --inputs on a shipped pipeline whose own example input does not exist
 * (pipelines/lidar-l2.yaml names lidar_l0.h5 beside it): the files are
 * replaced before validation, so the batch runs (it once stopped with
 * "input file '.../pipelines/lidar_l0.h5' does not exist"). Three good
 * inputs: three done, exit 0. */
static void inputs_replace_a_missing_example(void **state) {
  cf_test_dir *f = *state;
  setup_batch(f->dir);
  char args[4096];
  snprintf(args, sizeof args,
           "batch '%s/pipelines/lidar-l2.yaml' --json --inputs 'in/[abc].h5' --catalogue cat.sqlite "
           "--set 'write.l2.path=%s/out/{stem}_l2.nc' --set 'write.quicklook.path=%s/out/{stem}'",
           CF_SOURCE_DIR, f->dir, f->dir);
  assert_int_equal(cli(f->dir, args), 0);
  cf_json *j = stdout_json(f->dir);
  const cf_json *c = cf_json_get(j, "counts");
  assert_non_null(c);
  assert_int_equal(num(c, "done"), 3);
  cf_json_free(j);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "_l2.nc"), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(catalogue_decides_what_runs, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(status_and_history, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(corrupt_chunk_is_quarantined, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(foreign_catalogue_version, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(json_logs_carry_run_and_item, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(dry_run_shard_items_summary, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(inputs_replace_a_missing_example, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(catalogue_written_by_the_sqlite3_shell, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, make_inputs, drop_inputs);
}
