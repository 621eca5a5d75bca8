/* core/: error chain, logging, progress bar, SHA-256, YAML positions, atomic files. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"
#include "core/fsutil.h"
#include "core/kvtable.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "core/yaml.h"

static void error_chain_names_file_field_reason(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_error_code(ctx), CF_OK);
  int rc = cf_error(ctx, CF_EDATA, "a.h5", "n_gates", "must be > 0, got %d", -3);
  assert_int_equal(rc, CF_EDATA);
  cf_error(ctx, CF_EDATA, "", "", "cannot read input");
  assert_int_equal(cf_error_count(ctx), 2);
  assert_string_equal(cf_error_get(ctx, 0)->where, "a.h5");
  assert_string_equal(cf_error_get(ctx, 0)->field, "n_gates");
  assert_string_equal(cf_error_message(ctx), "cannot read input: a.h5: n_gates: must be > 0, got -3");
  cf_error_clear(ctx);
  assert_int_equal(cf_error_count(ctx), 0);
  cf_ctx_destroy(ctx);
}

static void error_chain_keeps_root_cause_on_overflow(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  for (int i = 0; i < 40; i++) cf_error(ctx, i == 0 ? CF_ENOENT : CF_EIO, "", "", "frame %d", i);
  assert_int_equal(cf_error_get(ctx, 0)->code, CF_ENOENT);
  assert_non_null(strstr(cf_error_message(ctx), "more frames dropped"));
  cf_ctx_destroy(ctx);
}

static void json_log_lines_are_escaped(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cf_set_log_stream(ctx, f);
  cf_set_log_level(ctx, CF_LOG_INFO);
  cf_set_log_format(ctx, CF_LOG_JSON);
  cf_log(ctx, CF_LOG_INFO, "say \"hi\"\n");
  cf_error(ctx, CF_EDATA, "f.tif", "crs", "no CRS");
  cf_log_error_chain(ctx);
  fclose(f);
  assert_non_null(strstr(buf, "\"level\":\"info\",\"msg\":\"say \\\"hi\\\"\\n\"}\n"));
  assert_non_null(strstr(buf, "\"code\":\"CF_EDATA\""));
  assert_non_null(strstr(buf, "{\"where\":\"f.tif\",\"field\":\"crs\",\"reason\":\"no CRS\"}"));
  assert_int_equal(cf_error_count(ctx), 0); /* logging the chain clears it */
  free(buf);
  cf_ctx_destroy(ctx);
}

static void progress_bar_matches_gdal(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cf_progress_term_state st = {f, 0, 0};
  for (int i = 0; i <= 20; i++) cf_progress_term(i / 20.0, NULL, &st);
  cf_progress_term(1.0, NULL, &st); /* a repeated 100 % prints nothing */
  fclose(f);
  /* GDALTermProgress's output for the same calls */
  assert_string_equal(buf, "0...10...20...30...40...50...60...70...80...90...100 - done.\n");
  free(buf);
}

static void cancel_stops_progress(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_progress(ctx, 0.1, "x"), CF_OK);
  cf_cancel(ctx);
  assert_int_equal(cf_progress(ctx, 0.2, "x"), CF_ECANCEL);
  cf_ctx_destroy(ctx);
}

/* FIPS 180-2, appendix B.1 and B.2. */
static void sha256_known_vectors(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char hex[CF_SHA256_HEX_LEN];
  assert_int_equal(cf_sha256_buffer(ctx, "abc", 3, hex), CF_OK);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char *dir = cf_test_tmpdir();
  const char *p = cf_test_path(dir, "v2.txt");
  cf_test_write_text(p, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  assert_int_equal(cf_sha256_file(ctx, p, hex), CF_OK);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  assert_int_equal(cf_sha256_file(ctx, cf_test_path(dir, "missing"), hex), CF_ENOENT);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void yaml_nodes_keep_line_and_column(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_yaml_doc d;
  const char *text = "a: 1\nlist:\n  - x\n  -   {k: 'q'}\n";
  assert_int_equal(cf_yaml_load_string(ctx, "t.yaml", text, &d), CF_OK);
  cf_yaml_node *list = cf_yaml_map_get(d.root, "list");
  assert_non_null(list);
  assert_int_equal(list->n, 2);
  assert_int_equal(list->items[0]->line, 3);
  assert_int_equal(list->items[0]->col, 5);
  cf_yaml_node *k = cf_yaml_map_get(list->items[1], "k");
  assert_int_equal(k->line, 4);
  assert_int_equal(k->col, 11); /* "  -   {k: 'q'}": the quote is the 11th character */
  assert_true(k->quoted);
  double v;
  assert_int_equal(cf_yaml_as_double(cf_yaml_map_get(d.root, "a"), &v), 0);
  assert_close(v, 1.0, 0, 0); /* exact: parsed from "1" */
  assert_int_equal(cf_yaml_as_double(k, &v), -1); /* quoted text is never a number */
  cf_yaml_free(&d);
  cf_ctx_destroy(ctx);
}

static void yaml_errors_have_positions(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_yaml_doc d;
  assert_int_equal(cf_yaml_load_string(ctx, "bad.yaml", "a: [1, 2\nb: 3\n", &d), CF_EINVAL);
  assert_non_null(strstr(cf_error_get(ctx, 0)->where, "bad.yaml:"));
  cf_error_clear(ctx);
  assert_int_equal(cf_yaml_load_string(ctx, "dup.yaml", "a: 1\nb: 2\na: 3\n", &d), CF_EINVAL);
  assert_string_equal(cf_error_get(ctx, 0)->where, "dup.yaml:3:1");
  assert_non_null(strstr(cf_error_get(ctx, 0)->reason, "given twice (first at line 1)"));
  cf_ctx_destroy(ctx);
}

static void atomic_file_appears_only_on_commit(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *final = cf_test_path(dir, "sub/out.txt");
  cf_atomic_file af;
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  cf_test_write_text(af.part_path, "half");
  assert_false(cf_file_exists(final));
  cf_atomic_end(&af); /* abandoned: the part file goes, nothing appears */
  assert_false(cf_file_exists(final));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "sub"), ".part-"), 0);
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  cf_test_write_text(af.part_path, "whole");
  assert_int_equal(cf_atomic_commit(ctx, &af), CF_OK);
  cf_atomic_end(&af);
  assert_true(cf_test_file_contains(final, "whole"));
  assert_int_equal(cf_test_count_entries(cf_test_path(dir, "sub"), ".part-"), 0);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void json_doubles_round_trip(void **state) {
  (void)state;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_json_double(&sb, 0.1);
  cf_strbuf_puts(&sb, " ");
  cf_strbuf_json_double(&sb, 1.0 / 3.0);
  cf_strbuf_puts(&sb, " ");
  cf_strbuf_json_double(&sb, 0.0 / 0.0);
  assert_string_equal(cf_strbuf_str(&sb), "0.1 0.3333333333333333 null");
  cf_strbuf_free(&sb);
}

/* The number N of a part path ".NAME.part-PID-N". */
static int part_number(const char *part) {
  const char *dash = strrchr(part, '-');
  assert_non_null(dash);
  return atoi(dash + 1);
}

static void part_file_never_follows_a_planted_symlink(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char victim[1100], final[1100], link[1200];
  snprintf(victim, sizeof victim, "%s/victim.txt", dir);
  snprintf(final, sizeof final, "%s/out.txt", dir);
  cf_test_write_text(victim, "precious\n");
  cf_atomic_file af;
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  int n = part_number(af.part_path);
  struct stat st;
  assert_int_equal(lstat(af.part_path, &st), 0); /* reserved: an empty regular file of ours */
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal((int)st.st_size, 0);
  cf_atomic_end(&af);
  /* plant symlinks at the next names this process would choose: one to the
   * victim, one dangling (following it would create a file elsewhere) */
  for (int k = 1; k <= 4; k++) {
    snprintf(link, sizeof link, "%s/.out.txt.part-%ld-%d", dir, (long)getpid(), n + k);
    assert_int_equal(symlink(k % 2 ? victim : "/nonexistent-cf-dir/planted", link), 0);
  }
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  assert_int_equal(part_number(af.part_path), n + 5); /* every planted name was skipped */
  assert_int_equal(lstat(af.part_path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  cf_test_write_text(af.part_path, "new output\n"); /* as a library would: open and truncate */
  assert_int_equal(cf_atomic_commit(ctx, &af), CF_OK);
  cf_atomic_end(&af);
  assert_true(cf_test_file_contains(victim, "precious"));
  assert_false(cf_test_file_contains(victim, "new output"));
  assert_true(cf_test_file_contains(final, "new output"));
  assert_int_equal(lstat(final, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  /* the planted links are still links (ours to leave: this PID is alive) */
  snprintf(link, sizeof link, "%s/.out.txt.part-%ld-%d", dir, (long)getpid(), n + 1);
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* The COG writers' side files have predictable names too: the streaming
 * writer's scratch file "<part>.tiles" (the default codecs) and the GDAL
 * path's "<part>.src.tif". A symlink planted at either is never followed
 * (the write fails, naming the file, and the link's target is untouched).
 * Run in this process (isolation off) so that the part names are this
 * PID's. */
static void cog_side_file_never_follows_a_planted_symlink(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  double gt[6] = {500000, 30, 0, 4000000, 0, -30}, d[12];
  for (int i = 0; i < 12; i++) d[i] = i;
  cf_test_write_tif(cf_test_path(dir, "in.tif"), 4, 3, 1, "Float32", gt, "EPSG:32650", NULL, d, 0);
  cf_test_write_text(cf_test_path(dir, "p.yaml"),
                     "pipeline:\n  - type: ingest.raster\n    path: in.tif\n  - type: write.cog\n    path: out.tif\n");
  char victim[1100], final[1100], link[1200];
  snprintf(victim, sizeof victim, "%s/victim.txt", dir);
  snprintf(final, sizeof final, "%s/out.tif", dir);
  cf_test_write_text(victim, "precious\n");
  cf_ctx *ctx = cf_test_ctx();
  cf_set_isolation(ctx, 0);
  cf_atomic_file af;
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  int n = part_number(af.part_path);
  cf_atomic_end(&af);
  for (int k = 1; k <= 50; k++) {
    snprintf(link, sizeof link, "%s/.out.tif.part-%ld-%d.src.tif", dir, (long)getpid(), n + k);
    assert_int_equal(symlink(victim, link), 0);
    snprintf(link, sizeof link, "%s/.out.tif.part-%ld-%d.tiles", dir, (long)getpid(), n + k);
    assert_int_equal(symlink(victim, link), 0);
  }
  cf_pipeline *p;
  assert_int_equal(cf_pipeline_load(ctx, cf_test_path(dir, "p.yaml"), NULL, 0, &p), CF_OK);
  cf_run_summary sum;
  assert_int_equal(cf_pipeline_run(ctx, p, &sum), CF_EIO);
  assert_int_equal(sum.failed, 1);
  cf_run_summary_free(&sum);
  cf_pipeline_free(p);
  cf_ctx_destroy(ctx);
  assert_true(cf_test_file_contains(victim, "precious"));
  struct stat st;
  assert_int_equal(lstat(victim, &st), 0);
  assert_int_equal((int)st.st_size, 9); /* not truncated, not grown */
  assert_int_equal(cf_test_count_entries(dir, "out.tif"), 100); /* the 2 x 50 planted links; no output, no part */
  cf_test_rmtree(dir);
  free(dir);
}

/* Two files committed as one product (an L0 file and its truth): when the
 * second rename fails (its final name is a directory), the first file is
 * its old self again and no part or kept file is left; when both succeed,
 * both are new and nothing else is left. */
static void commit_all_or_none(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char a[1100], b[1100], c[1100];
  snprintf(a, sizeof a, "%s/a.h5", dir);
  snprintf(b, sizeof b, "%s/b.nc", dir);
  snprintf(c, sizeof c, "%s/c.nc", dir);
  cf_test_write_text(a, "old a\n");
  assert_int_equal(mkdir(b, 0755), 0);
  for (int round = 0; round < 2; round++) {
    const char *second = round == 0 ? b : c; /* b: a directory, the rename fails; c: new */
    cf_atomic_file fa, fb;
    assert_int_equal(cf_atomic_begin(ctx, a, &fa), CF_OK);
    assert_int_equal(cf_atomic_begin(ctx, second, &fb), CF_OK);
    cf_test_write_text(fa.part_path, "new a\n");
    cf_test_write_text(fb.part_path, "new second\n");
    cf_atomic_file *const both[2] = {&fa, &fb};
    int rc = cf_atomic_commit_all(ctx, both, 2);
    cf_atomic_end(&fa);
    cf_atomic_end(&fb);
    if (round == 0) {
      assert_int_equal(rc, CF_EIO);
      assert_true(cf_test_file_contains(a, "old a"));
    } else {
      assert_int_equal(rc, CF_OK);
      assert_true(cf_test_file_contains(a, "new a"));
      assert_true(cf_test_file_contains(c, "new second"));
    }
    assert_int_equal(cf_test_count_entries(dir, ".part-"), 0); /* no part, no kept ".old" */
  }
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* The text-valued settings rows: a name, a subset of choices, a choice or
 * a number; each set from KEY=VALUE, rejected with the key named, and
 * written back as text and JSON. */
typedef struct {
  char name[CF_KV_TEXT_MAX];
  unsigned pools;
  cf_kv_num_or_choice ratio;
} kv_demo;
static const char *const kv_pools[] = {"agb", "bgb", "soc", NULL};
static const char *const kv_ratio_names[] = {"ar-tool14", "ipcc2006", NULL};
static const cf_kv_opt kv_rows[] = {
    {"allometry", CF_KV_TEXT, offsetof(kv_demo, name), 0, 0, "", "an equation", NULL},
    {"pools", CF_KV_FLAGS, offsetof(kv_demo, pools), 0, 0, "", "pools", kv_pools},
    {"root_shoot", CF_KV_NUM_OR_ENUM, offsetof(kv_demo, ratio), 0, 10, "", "ratio", kv_ratio_names},
};

static void text_valued_settings(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  kv_demo d = {"chave2014", 1u, {0, 0}};
  assert_int_equal(cf_kv_set(ctx, kv_rows, 3, &d, "allometry=jenkins_mixed_hardwood", "t", NULL), CF_OK);
  assert_string_equal(d.name, "jenkins_mixed_hardwood");
  assert_int_equal(cf_kv_set(ctx, kv_rows, 3, &d, "pools=soc, AGB", "t", NULL), CF_OK);
  assert_int_equal(d.pools, 1u | 4u);
  assert_int_equal(cf_kv_set(ctx, kv_rows, 3, &d, "root_shoot=ipcc2006", "t", NULL), CF_OK);
  assert_int_equal(d.ratio.choice, 1);
  assert_int_equal(cf_kv_set(ctx, kv_rows, 3, &d, "root_shoot=0.25", "t", NULL), CF_OK);
  assert_int_equal(d.ratio.choice, -1);
  assert_true(d.ratio.value == 0.25);
  char buf[128];
  cf_kv_value_text(&kv_rows[1], &d, buf, sizeof buf);
  assert_string_equal(buf, "agb,soc");
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, kv_rows, 3, &d);
  assert_string_equal(cf_strbuf_str(&sb), "{\"allometry\":\"jenkins_mixed_hardwood\",\"pools\":[\"agb\",\"soc\"],\"root_shoot\":0.25");
  cf_strbuf_free(&sb);
  const char *bad[] = {"pools=agb,wood", "pools=agb,agb", "root_shoot=11", "root_shoot=tool", "allometry=a b", "allometry="};
  const char *why[] = {"'wood' is not one of agb,bgb,soc", "'agb' is listed twice", "11 is outside", "'tool' is not one of ar-tool14|ipcc2006|0..10",
                       "no spaces", "a name of 1 to 63 characters"};
  for (int k = 0; k < 6; k++) {
    cf_error_clear(ctx);
    assert_int_equal(cf_kv_set(ctx, kv_rows, 3, &d, bad[k], "t", NULL), CF_EINVAL);
    if (!strstr(cf_error_message(ctx), why[k])) print_error("%s: %s\n", bad[k], cf_error_message(ctx));
    assert_non_null(strstr(cf_error_message(ctx), why[k]));
  }
  assert_true(d.ratio.value == 0.25); /* a refused value changes nothing */
  cf_ctx_destroy(ctx);
}

static void stale_part_of_a_dead_process_is_removed(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) _exit(0);
  assert_int_equal(waitpid(child, NULL, 0), child); /* reaped: its PID no longer runs */
  char dead1[1200], dead2[1200], live[1200], other[1200], final[1100];
  snprintf(final, sizeof final, "%s/out.tif", dir);
  snprintf(dead1, sizeof dead1, "%s/.out.tif.part-%ld-0", dir, (long)child);
  snprintf(dead2, sizeof dead2, "%s/.out.tif.part-%ld-7.src.tif", dir, (long)child);
  snprintf(live, sizeof live, "%s/.out.tif.part-%ld-0", dir, (long)getppid());
  snprintf(other, sizeof other, "%s/.other.tif.part-%ld-0", dir, (long)child);
  cf_test_write_text(dead1, "killed half-way");
  cf_test_write_text(dead2, "killed half-way");
  cf_test_write_text(live, "another run at work");
  cf_test_write_text(other, "another output's");
  assert_int_equal(kill(child, 0), -1);
  cf_atomic_file af;
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  assert_false(cf_file_exists(dead1));
  assert_false(cf_file_exists(dead2));
  assert_true(cf_test_file_contains(live, "another run at work"));
  assert_true(cf_test_file_contains(other, "another output's")); /* not this output's */
  cf_atomic_end(&af);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void no_overwrite_refuses_an_existing_output(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  char final[1100];
  snprintf(final, sizeof final, "%s/out.txt", dir);
  cf_test_write_text(final, "old\n");
  assert_int_equal(cf_get_overwrite(ctx), 1); /* the default: replace */
  cf_set_overwrite(ctx, 0);
  cf_atomic_file af;
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_EINVAL);
  assert_non_null(strstr(cf_error_get(ctx, 0)->reason, "--no-overwrite"));
  assert_int_equal(cf_test_count_entries(dir, ".part-"), 0);
  assert_true(cf_test_file_contains(final, "old"));
  cf_error_clear(ctx);
  cf_set_overwrite(ctx, 1);
  assert_int_equal(cf_atomic_begin(ctx, final, &af), CF_OK);
  cf_test_write_text(af.part_path, "new\n");
  assert_int_equal(cf_atomic_commit(ctx, &af), CF_OK);
  cf_atomic_end(&af);
  assert_true(cf_test_file_contains(final, "new"));
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

static void same_file_through_symlinks_and_dotdot(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  char a[1100], sub[1100], lnk[1100], viadot[1200], hard[1100], newf[1200], newf2[1200];
  snprintf(a, sizeof a, "%s/a.h5", dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  snprintf(lnk, sizeof lnk, "%s/sub/l.h5", dir);
  snprintf(viadot, sizeof viadot, "%s/sub/../a.h5", dir);
  snprintf(hard, sizeof hard, "%s/h.h5", dir);
  cf_test_write_text(a, "x");
  assert_int_equal(mkdir(sub, 0777), 0);
  assert_int_equal(symlink(a, lnk), 0);
  assert_int_equal(link(a, hard), 0);
  assert_true(cf_path_same(a, lnk));
  assert_true(cf_path_same(a, viadot));
  assert_true(cf_path_same(lnk, hard));
  /* not existing yet: the real directory plus the name */
  snprintf(newf, sizeof newf, "%s/sub/../new.nc", dir);
  snprintf(newf2, sizeof newf2, "%s/./new.nc", dir);
  assert_true(cf_path_same(newf, newf2));
  snprintf(newf, sizeof newf, "%s/nodir/../new.nc", dir);
  assert_true(cf_path_same(newf, newf2));
  assert_false(cf_path_same(a, newf2));
  char *r1 = cf_path_real(newf2), *r2 = cf_path_real(dir);
  assert_non_null(r1);
  assert_non_null(r2);
  assert_true(strncmp(r1, r2, strlen(r2)) == 0);
  assert_string_equal(r1 + strlen(r2), "/new.nc");
  free(r1);
  free(r2);
  assert_true(cf_stem_is_safe("scene_01"));
  assert_false(cf_stem_is_safe(".."));
  assert_false(cf_stem_is_safe("."));
  assert_false(cf_stem_is_safe(""));
  assert_false(cf_stem_is_safe("a/b"));
  cf_test_rmtree(dir);
  free(dir);
}

static void json_events_write_numbers_as_numbers(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_set_log_level(ctx, CF_LOG_INFO);
  cf_set_log_format(ctx, CF_LOG_JSON);
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  assert_non_null(mem);
  cf_set_log_stream(ctx, mem);
  cf_log_event(ctx, CF_LOG_INFO, "finished", "items", "3", "ok", "0", "ratio", "-0.25", "exp", "1e3", "path", "2024",
               "name", "07", "word", "3a", (const char *)NULL);
  fclose(mem);
  assert_non_null(strstr(buf, "\"items\":3,\"ok\":0,\"ratio\":-0.25,\"exp\":1e3,"));
  assert_non_null(strstr(buf, "\"path\":\"2024\"")); /* paths stay strings */
  assert_non_null(strstr(buf, "\"name\":\"07\""));   /* not a JSON number */
  assert_non_null(strstr(buf, "\"word\":\"3a\"}"));
  free(buf);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_chain_names_file_field_reason),
      cmocka_unit_test(error_chain_keeps_root_cause_on_overflow),
      cmocka_unit_test(json_log_lines_are_escaped),
      cmocka_unit_test(progress_bar_matches_gdal),
      cmocka_unit_test(cancel_stops_progress),
      cmocka_unit_test(sha256_known_vectors),
      cmocka_unit_test(yaml_nodes_keep_line_and_column),
      cmocka_unit_test(yaml_errors_have_positions),
      cmocka_unit_test(atomic_file_appears_only_on_commit),
      cmocka_unit_test(json_doubles_round_trip),
      cmocka_unit_test(part_file_never_follows_a_planted_symlink),
      cmocka_unit_test(cog_side_file_never_follows_a_planted_symlink),
      cmocka_unit_test(commit_all_or_none),
      cmocka_unit_test(text_valued_settings),
      cmocka_unit_test(stale_part_of_a_dead_process_is_removed),
      cmocka_unit_test(no_overwrite_refuses_an_existing_output),
      cmocka_unit_test(same_file_through_symlinks_and_dotdot),
      cmocka_unit_test(json_events_write_numbers_as_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
