/*
 * Comparing a recorded JSON document with its recomputation, table by
 * table (`carbonflux verify`).
 *
 * Why tables and not one verdict. A verifier asks "which number no longer
 * follows from the inputs": a ledger whose buffer was edited should say
 * "buffer: DIFFERS at periods[0].buffer_t_co2e", and leave the change per
 * pool, the baseline and the vintages saying "matches". So the caller
 * names its tables by the dotted paths of the members that belong to them
 * ("periods.stocks.uncertainty", array indices left out), every leaf of
 * either document goes to the table with the longest such path that is a
 * prefix of its own, and a leaf no table claims goes to a last table of
 * "other fields": nothing escapes the comparison unseen. A table without
 * a name is skipped (members a caller checks another way, such as the
 * input paths).
 *
 * The rule is exact: numbers equal as doubles, strings byte for byte,
 * the same members and array lengths. Our writers print every number in
 * its shortest round-trip form (cf_strbuf_json_double), so a document
 * written from the same doubles reads back as the same doubles, and any
 * tolerance would only let an edited last digit through. A difference
 * gives its relative size, so a reader can tell a last-place difference
 * (another libm) from an edit.
 */
#ifndef CF_CORE_JSON_DIFF_H
#define CF_CORE_JSON_DIFF_H

#include "core/json.h"

typedef struct {
  const char *name;          /* NULL: not compared */
  const char *const *paths;  /* NULL-ended dotted paths without indices */
} cf_json_table;

typedef struct {
  long n_compared;           /* leaves compared */
  long differs;              /* leaves that differ; 0: the table matches */
  char where[512];           /* the first difference, "periods[1].buffer_t_co2e" */
  char recorded[96], recomputed[96]; /* its two values as text ("(absent)" when missing) */
  double rel;                /* |a - b| / max(|a|, |b|) when both are numbers, else NaN */
} cf_json_table_result;

/* Compare leaf by leaf; out has n_tables + 1 entries, the last for the
 * leaves no table claims. Skipped tables count nothing. */
void cf_json_compare_tables(const cf_json *recorded, const cf_json *recomputed, const cf_json_table *tables,
                            int n_tables, cf_json_table_result *out);

#endif
