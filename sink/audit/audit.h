/*
 * The audit trail, checked: `carbonflux verify LEDGER.json` re-hashes every
 * input a ledger records, recomputes the ledger from them through the
 * call the command uses (cf_ledger_compute), and says per table whether
 * the recorded numbers are the ones that follow; then one level deeper,
 * the same for each stock report the ledger read (its plots, trees and
 * strata re-hashed, the report recomputed by the forest-stocks steps with
 * the settings and inventory options it records).
 *
 * Why recompute and not only hash. A hash says a file is the one that was
 * used; it cannot say the numbers written from it follow from it (an
 * edited ledger with its inputs intact hashes fine). Recomputing says
 * that, table by table, and says where: "buffer: DIFFERS at
 * periods[0].buffer_t_co2e: recorded 5, recomputed 4.5".
 *
 * The comparison is exact (core/json_diff.h: every number in our files is
 * written in its shortest round-trip form, so the same computation reads
 * back as the same doubles). A recorded software version other than this
 * one is a warning: the numbers decide. No step of the ledger or of a
 * stock report draws a random number, so both record `random_seeds: []`
 * and there is no seed to set again; a non-empty list is reported, as it
 * would mean a writer this code does not know.
 *
 * Where the inputs are looked for: sink/input_resolve.h, the search the
 * issuance report uses too. In short: under --inputs-dir DIR when given;
 * then the recorded relative path from the recording file's folder; only
 * then the recorded path as it is; last the bare file name beside the
 * recording file. So a copied or moved package is checked where it lies,
 * not at the place it was written (a tampered copy fails, even with the
 * original still in place). The first candidate that exists is hashed and
 * named on its line with how it was found; the hash decides whether it is
 * the one.
 *
 * A report that points at its ledger (the HTML report of write.report)
 * is verified through it: the report holds
 *   <meta name="carbonflux-ledger" content="PATH SHA256">
 * (PATH relative to the report's directory or absolute; attribute
 * entities undone) or, from other writers,
 *   <script type="application/json" id="carbonflux-audit">
 *     {"ledger":{"path":"ledger.json","sha256":"<64 hex>"}}</script>
 * and verify checks that ledger's hash, then the ledger as above. The
 * report's own rendered text is not re-checked (it carries the time it was
 * made): its numbers are the ledger's.
 *
 * Outcomes, one line each (cf_audit_line): an input's hash matches or
 * differs or the file is missing; a table matches or DIFFERS (its first
 * difference, both values); a recompute that could not run (the reason);
 * warnings (another software version) and notes (a stock report written
 * by other software, which records nothing to recompute it from: its
 * numbers are the ledger's inputs, checked by their hash).
 */
#ifndef CF_SINK_AUDIT_AUDIT_H
#define CF_SINK_AUDIT_AUDIT_H

#include <stdio.h>

#include "carbonflux/ctx.h"

typedef enum { CF_AUDIT_MATCH, CF_AUDIT_DIFFERS, CF_AUDIT_WARNING, CF_AUDIT_NOTE } cf_audit_outcome;

typedef struct {
  cf_audit_outcome outcome;
  int depth;          /* 0: the file given (or the ledger an HTML names), 1: a stock report it read */
  char kind[16];      /* "input", "table", "recompute", "software", "seeds", "file" */
  char name[1100];    /* the input (role, date, path) or the table */
  char detail[1600];  /* hashes, the first difference, the reason */
} cf_audit_line;

typedef struct {
  int n, cap;
  cf_audit_line *lines;
  int n_differs, n_warnings;
} cf_audit;

typedef struct {
  const char *inputs_dir; /* NULL: the directory of the file that records an input */
} cf_audit_opts;

/* Verify `path`: a ledger (carbonflux-ledger/1), a stock report
 * (carbonflux-stocks/1) or an HTML report naming its ledger. CF_OK when
 * the verification ran (its outcomes in *out, out->n_differs > 0 when
 * anything does not match); CF_ENOENT for a missing file; CF_EDATA for a
 * file that is none of these (another schema, not JSON), naming it;
 * CF_ENOMEM. Free *out with cf_audit_free in every case. */
int cf_audit_file(cf_ctx *ctx, const char *path, const cf_audit_opts *o, cf_audit *out);
void cf_audit_free(cf_audit *a);

/* One line per outcome, indented by depth, and a last line with the count. */
void cf_audit_print(FILE *out, const cf_audit *a);

#endif
