/*
 * The CSV reader against RFC 4180's cases and a real inventory.
 *
 * Expected values are the texts written into each table here, and for the
 * TEMPEST inventory (written by R, not by us) what Python's csv module
 * reads from the same file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "core/csv.h"

static cf_csv *open_text(cf_ctx *ctx, const char *text) {
  cf_csv *c = NULL;
  assert_int_equal(cf_csv_open_text(ctx, "t.csv", text, &c), CF_OK);
  return c;
}

static void quotes_commas_newlines_bom_crlf(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_csv *c = open_text(ctx,
                        "\xEF\xBB\xBF"
                        "Plot, DBH_2019 ,note\r\n"
                        "A,10.5,\"a, b\"\r\n"
                        "\r\n"
                        "B,,\"say \"\"hi\"\"\nnext line\"\n"
                        "C,3e1,\n");
  assert_int_equal(cf_csv_ncols(c), 3);
  assert_string_equal(cf_csv_header(c, 0), "Plot"); /* the BOM is not part of the name */
  assert_int_equal(cf_csv_column(c, "plot"), 0);
  assert_int_equal(cf_csv_column(c, "dbh_2019"), 1); /* case and spaces ignored */
  assert_int_equal(cf_csv_column(c, "nope"), -1);
  const cf_csv_row *r;
  double v = 0;
  assert_int_equal(cf_csv_next(ctx, c, &r), 1);
  assert_int_equal(r->line, 2);
  assert_string_equal(r->fields[2], "a, b");
  assert_int_equal(cf_csv_double(ctx, c, r, 1, &v), 1);
  assert_true(v == 10.5);
  assert_int_equal(cf_csv_next(ctx, c, &r), 1);
  assert_int_equal(r->line, 4); /* the blank line 3 is skipped, the count goes on */
  assert_string_equal(r->fields[2], "say \"hi\"\nnext line");
  assert_int_equal(cf_csv_double(ctx, c, r, 1, &v), 0); /* empty: missing */
  assert_int_equal(cf_csv_next(ctx, c, &r), 1);
  assert_int_equal(r->line, 6); /* the quoted field spanned lines 4 and 5 */
  assert_int_equal(cf_csv_double(ctx, c, r, 1, &v), 1);
  assert_true(v == 30);
  assert_string_equal(r->fields[2], "");
  assert_int_equal(cf_csv_next(ctx, c, &r), 0);
  cf_csv_close(c);
  cf_ctx_destroy(ctx);
}

/* Each malformed table fails with a message naming the line. */
static void malformed_tables_name_the_line(void **state) {
  (void)state;
  struct {
    const char *text, *message;
  } cases[] = {
      {"a,b,c\n1,2,3\n4,5\n", "t.csv: line 3: 2 fields, but the header has 3 columns"},
      {"a,b\n1,2,3\n", "t.csv: line 2: 3 fields, but the header has 2 columns"},
      {"a,b\n1,\"open\n", "t.csv: line 2: a quoted field is not closed"},
      {"a,b\n1,\"x\"y\n", "t.csv: line 2, field 2: text after the closing quote"},
      {"a,b\n1,abc\n", "t.csv: b: line 2: 'abc' is not a finite number"},
      {"a,b\n1,1e999\n", "t.csv: b: line 2: '1e999' is not a finite number"},
      /* bytes that are not UTF-8 (RFC 3629; the cases of tests/test_utf8.c) */
      {"stratum,area_ha\nFor\xEAt,50\n", "t.csv: stratum: line 2: byte 0xEA (byte 4 of the field) is not UTF-8"},
      {"a,b\n1,\xC0\xAF\n", "t.csv: b: line 2: byte 0xC0 (byte 1 of the field) is not UTF-8"},
      {"a,b\n1,2\n3,\"x\n\xE2\x82\"\n", "t.csv: b: line 3: byte 0xE2 (byte 3 of the field) is not UTF-8"},
      {"a,b\n\xED\xA0\x80,2\n", "t.csv: a: line 2: byte 0xED"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    cf_ctx *ctx = cf_test_ctx();
    cf_csv *c = open_text(ctx, cases[k].text);
    const cf_csv_row *r;
    int rc;
    double v;
    while ((rc = cf_csv_next(ctx, c, &r)) == 1)
      if ((rc = cf_csv_double(ctx, c, r, 1, &v)) < 0) break;
    assert_int_equal(rc, CF_EDATA);
    const char *msg = cf_error_message(ctx);
    if (!strstr(msg, cases[k].message)) print_error("case %zu: '%s' lacks '%s'\n", k, msg, cases[k].message);
    assert_non_null(strstr(msg, cases[k].message));
    cf_csv_close(c);
    cf_ctx_destroy(ctx);
  }
  cf_ctx *ctx = cf_test_ctx();
  cf_csv *c = NULL;
  assert_int_equal(cf_csv_open_text(ctx, "e.csv", "", &c), CF_EDATA);
  assert_null(c);
  assert_int_equal(cf_csv_open(ctx, "/nonexistent/x.csv", &c), CF_ENOENT);
  assert_int_equal(cf_csv_open_text(ctx, "h.csv", "plot,Stra\xDF" "e\n1,2\n", &c), CF_EDATA); /* Latin-1 sharp s */
  assert_non_null(strstr(cf_error_message(ctx), "h.csv: line 1, column 2 of the header: byte 0xDF"));
  assert_null(c);
  cf_ctx_destroy(ctx);
}

/* The TEMPEST inventory as R wrote it: 533 records of 32 fields (Python's
 * csv module counts the same), 179 in plot Control, and a note with
 * doubled quotes and a comma read back as Python reads it. */
static void tempest_inventory_as_python_reads_it(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_csv *c = NULL;
  assert_int_equal(cf_csv_open(ctx, CF_SHARED_DATA "/tempest_tree_inventory.csv", &c), CF_OK);
  assert_int_equal(cf_csv_ncols(c), 32);
  int plot = cf_csv_column(c, "plot"), notes = cf_csv_column(c, "Notes");
  assert_int_equal(plot, 0);
  assert_int_equal(notes, 30);
  const cf_csv_row *r;
  int n = 0, control = 0, rc;
  while ((rc = cf_csv_next(ctx, c, &r)) == 1) {
    if (n == 0) assert_string_equal(r->fields[notes], "AS changed \"in plot\" to TRUE; noted in H8");
    n++;
    control += strcmp(r->fields[plot], "Control") == 0;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(n, 533);
  assert_int_equal(control, 179);
  cf_csv_close(c);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quotes_commas_newlines_bom_crlf),
      cmocka_unit_test(malformed_tables_name_the_line),
      cmocka_unit_test(tempest_inventory_as_python_reads_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
