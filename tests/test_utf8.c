/*
 * Text inputs are UTF-8 (the forest-io contract), and nothing we write is
 * not: core/utf8.h on its own, a BOM from Python (the CSV reader's
 * rejections are with its other malformed tables in tests/test_csv.c),
 * the strict JSON reader, the JSON writer, and `forest stocks` / `sink ledger` / `verify` on files
 * another program wrote in Latin-1.
 *
 * What is valid comes from RFC 3629 (section 3: the encoding and its
 * shortest form; section 10: overlong forms and surrogates are invalid)
 * and, for what our writers emit, from Python's json module (another
 * reader's verdict, not ours). The Latin-1 and BOM files are written by
 * Python's own codecs ("latin-1", "utf-8-sig" as Excel saves).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/csv.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "core/utf8.h"

/* The offset of the first invalid byte, by RFC 3629 read by hand. */
static void sequences_by_rfc3629(void **state) {
  (void)state;
  static const struct {
    const char *s;
    long bad_at;
    const char *why;
  } cases[] = {
      {"For\xC3\xAAt", -1, "U+00EA in two bytes"},
      {"\xE6\x9E\x97", -1, "U+6797 in three"},
      {"\xF0\x9F\x8C\xB2", -1, "U+1F332 in four"},
      {"\xF4\x8F\xBF\xBF", -1, "U+10FFFF, the last code point"},
      {"\xEF\xBB\xBF" "a", -1, "U+FEFF (a BOM) is a character"},
      {"For\xEAt", 3, "Latin-1 0xEA: a 3-byte lead followed by 't'"},
      {"\xE9", 0, "Latin-1 0xE9 alone: cut short"},
      {"\xC0\xAF", 0, "'/' overlong in two bytes"},
      {"\xE0\x80\xAF", 0, "'/' overlong in three"},
      {"\xF0\x80\x80\xAF", 0, "'/' overlong in four"},
      {"ab\xE2\x82", 2, "U+20AC cut short"},
      {"\xED\xA0\x80", 0, "U+D800, a surrogate"},
      {"\xF4\x90\x80\x80", 0, "U+110000, beyond Unicode"},
      {"\xF8\x88\x80\x80\x80", 0, "a five-byte form"},
      {"a\x80", 1, "a lone continuation byte"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    long at = cf_utf8_invalid_at(cases[k].s, strlen(cases[k].s));
    if (at != cases[k].bad_at) print_error("case %zu (%s): %ld, not %ld\n", k, cases[k].why, at, cases[k].bad_at);
    assert_int_equal(at, cases[k].bad_at);
  }
}

/* A file Python writes with "utf-8-sig" (a BOM, as Excel saves CSV): the
 * BOM is not part of the first column's name, the UTF-8 text reads back. */
static void csv_bom_from_python(void **state) {
  cf_test_dir *t = *state;
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'open(\"%s/b.csv\", \"w\", encoding=\"utf-8-sig\").write("
           "\"stratum,area_ha\\nFor\\u00eat,50\\n\")'", t->dir);
  assert_int_equal(system(cmd), 0);
  cf_ctx *ctx = cf_test_ctx();
  cf_csv *c = NULL;
  assert_int_equal(cf_csv_open(ctx, cf_test_path(t->dir, "b.csv"), &c), CF_OK);
  assert_string_equal(cf_csv_header(c, 0), "stratum");
  const cf_csv_row *r;
  assert_int_equal(cf_csv_next(ctx, c, &r), 1);
  assert_string_equal(r->fields[0], "For\xC3\xAAt");
  cf_csv_close(c);
  cf_ctx_destroy(ctx);
}

/* The strict JSON reader: bytes that are not UTF-8 in a string are an
 * error with the line and the byte (RFC 8259 8.1); UTF-8 reads back. */
static void json_reader_rejects_what_is_not_utf8(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_json *j = NULL;
  static const struct {
    const char *text, *message;
  } bad[] = {
      {"{\n\"stratum\":\"For\xEAt\"}", "t.json: line 2: a string holds byte 0xEA, which is not UTF-8"},
      {"{\"k\":\"\xC0\xAF\"}", "byte 0xC0"},
      {"{\"k\":\"ab\xE2\x82\"}", "byte 0xE2"}, /* cut short by the closing quote */
      {"{\"k\xED\xA0\x80\":1}", "byte 0xED"},     /* in a key too */
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    assert_int_equal(cf_json_parse(ctx, "t.json", bad[k].text, strlen(bad[k].text), &j), CF_EDATA);
    assert_null(j);
    const char *msg = cf_error_message(ctx);
    if (!strstr(msg, bad[k].message)) print_error("case %zu: '%s' lacks '%s'\n", k, msg, bad[k].message);
    assert_non_null(strstr(msg, bad[k].message));
    cf_error_clear(ctx);
  }
  const char *good = "{\"s\":\"For\xC3\xAAt \xF0\x9F\x8C\xB2\"}";
  assert_int_equal(cf_json_parse(ctx, "t.json", good, strlen(good), &j), CF_OK);
  assert_string_equal(cf_json_get(j, "s")->string, "For\xC3\xAAt \xF0\x9F\x8C\xB2");
  cf_json_free(j);
  cf_ctx_destroy(ctx);
}

/* The JSON writer, handed bytes that are not UTF-8, still writes JSON:
 * Python's json.loads reads it, each bad byte as U+FFFD, the valid
 * characters as they were. */
static void json_writer_output_is_json_to_python(void **state) {
  cf_test_dir *t = *state;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "[");
  cf_strbuf_json_string(&sb, "For\xEAt");
  cf_strbuf_puts(&sb, ",");
  cf_strbuf_json_string(&sb, "\xC0\xAF|\xE2\x82|\xF0\x9F\x8C\xB2|\xC3\xAA");
  cf_strbuf_puts(&sb, "]");
  char *text = cf_strbuf_take(&sb);
  assert_non_null(text);
  cf_test_write_text(cf_test_path(t->dir, "w.json"), text);
  free(text);
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json,sys; d = json.loads(open(sys.argv[1], \"rb\").read()); "
           "sys.exit(0 if d == [\"For\\ufffdt\", \"\\ufffd\\ufffd|\\ufffd\\ufffd|\\U0001f332|\\u00ea\"] else 1)' '%s'",
           cf_test_path(t->dir, "w.json"));
  assert_int_equal(system(cmd), 0);
}

/* Write the plots and strata of stratum `name` (a Python string literal)
 * in `encoding`: two plots with measured AGB, so no trees are needed. */
static void write_inventory(const char *dir, const char *name, const char *encoding) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import sys; d, n, e = sys.argv[1], %s, \"%s\"; "
           "open(d + \"/plots.csv\", \"w\", encoding=e).write(\"plot,stratum,area_ha,agb_t_dm_per_ha\\n"
           "P1,%%s,0.1,100\\nP2,%%s,0.1,120\\n\" %% (n, n)); "
           "open(d + \"/strata.csv\", \"w\", encoding=e).write(\"stratum,area_ha\\n%%s,50\\n\" %% n)' '%s'",
           name, encoding, dir);
  assert_int_equal(system(cmd), 0);
}

static int stocks(const cf_test_dir *t) {
  char args[3000];
  snprintf(args, sizeof args, "-q forest stocks --plots '%s/plots.csv' --strata '%s/strata.csv' -o '%s/out/s.json'",
           t->dir, t->dir, t->dir);
  return cf_test_cli(args, t->log);
}

/* The tester's case: a Latin-1 stratum name "For\xEAt" is exit 4 (an
 * inventory that cannot be used) naming the file, the line and the
 * field, and nothing is written; the same name saved as UTF-8 with a BOM
 * gives a report whose JSON Python reads with the name as typed. */
static void forest_stocks_latin1_and_bom(void **state) {
  cf_test_dir *t = *state;
  write_inventory(t->dir, "\"For\\u00eat\"", "latin-1");
  assert_int_equal(stocks(t), 4);
  char line[1400];
  snprintf(line, sizeof line, "%s/strata.csv: stratum: line 2: byte 0xEA", t->dir);
  if (!cf_test_file_contains(t->log, line)) snprintf(line, sizeof line, "%s/plots.csv: stratum: line 2: byte 0xEA", t->dir);
  assert_true(cf_test_file_contains(t->log, line)); /* whichever the command reads first */
  assert_false(cf_file_exists(cf_test_path(t->dir, "out/s.json")));
  assert_false(cf_file_exists(cf_test_path(t->dir, "out/s.csv")));
  if (cf_file_exists(cf_test_path(t->dir, "out"))) assert_int_equal(cf_test_count_entries(cf_test_path(t->dir, "out"), ".part-"), 0);

  write_inventory(t->dir, "\"For\\u00eat\"", "utf-8-sig");
  assert_int_equal(stocks(t), 0);
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json,sys; d = json.loads(open(sys.argv[1], \"rb\").read()); "
           "sys.exit(0 if d[\"strata\"][0][\"stratum\"] == \"For\\u00eat\" else 1)' '%s'",
           cf_test_path(t->dir, "out/s.json"));
  assert_int_equal(system(cmd), 0);
}

/* A stock report with a Latin-1 byte (another program's, or edited): the
 * ledger refuses it (exit 4, the file and line named) and verify says it
 * is not a document it can read (exit 4). */
static void ledger_and_verify_refuse_latin1_reports(void **state) {
  cf_test_dir *t = *state;
  write_inventory(t->dir, "\"Fo\"", "utf-8");
  assert_int_equal(stocks(t), 0);
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import sys; p = sys.argv[1]; b = open(p, \"rb\").read(); "
           "open(p, \"wb\").write(b.replace(b\"\\\"Fo\\\"\", b\"\\\"Fo\\xea\\\"\"))' '%s'", cf_test_path(t->dir, "out/s.json"));
  assert_int_equal(system(cmd), 0);
  assert_true(cf_test_file_contains(cf_test_path(t->dir, "out/s.json"), "Fo\xEA"));
  char args[3000];
  snprintf(args, sizeof args, "-q sink ledger --event 2019-06-01='%s/out/s.json' --event 2023-06-01='%s/out/s.json' "
           "--policy vm0047 -o '%s/l.json'", t->dir, t->dir, t->dir);
  assert_int_equal(cf_test_cli(args, t->log), 4);
  assert_true(cf_test_file_contains(t->log, "which is not UTF-8"));
  assert_false(cf_file_exists(cf_test_path(t->dir, "l.json")));
  snprintf(args, sizeof args, "verify '%s/out/s.json'", t->dir);
  assert_int_equal(cf_test_cli(args, t->log), 4);
  assert_true(cf_test_file_contains(t->log, "byte 0xEA, which is not UTF-8"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sequences_by_rfc3629),
      cmocka_unit_test_setup_teardown(csv_bom_from_python, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test(json_reader_rejects_what_is_not_utf8),
      cmocka_unit_test_setup_teardown(json_writer_output_is_json_to_python, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(forest_stocks_latin1_and_bom, cf_test_dir_setup, cf_test_dir_teardown),
      cmocka_unit_test_setup_teardown(ledger_and_verify_refuse_latin1_reports, cf_test_dir_setup, cf_test_dir_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
