/* What the audit's files share (sink/audit/audit.h); not public. */
#ifndef CF_SINK_AUDIT_INTERNAL_H
#define CF_SINK_AUDIT_INTERNAL_H

#include "core/json.h"
#include "core/json_diff.h"
#include "core/sha256.h"
#include "sink/audit/audit.h"

/* Append a line (printf-style detail). Counts differences and warnings. */
void cf_audit_add(cf_audit *a, cf_audit_outcome oc, int depth, const char *kind, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Find the file an input record names (`path` as recorded and `rel`, its
 * path relative to the folder of the file `recorded_by`, NULL or "" in
 * older records; the order of audit.h), re-hash it and add its line,
 * which says where it was found and how. Returns the path found
 * (malloc'ed) or NULL when it is missing; *matches is 1 when its SHA-256
 * is the recorded one. */
char *cf_audit_input(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *recorded_by,
                     const char *label, const char *path, const char *rel, const char *sha256, int *matches);

/* The software version line (a warning when it is not this one) and the
 * seeds line of a document with "software" and "random_seeds". */
void cf_audit_software(cf_audit *a, int depth, const cf_json *doc);

/* Compare and add one line per table (and the "other fields" line when
 * anything fell there). */
void cf_audit_tables(cf_audit *a, int depth, const char *what, const cf_json *recorded, const cf_json *recomputed,
                     const cf_json_table *tables, int n_tables);

/* A string member, or "" when absent or not a string. */
const char *cf_audit_str(const cf_json *j, const char *key);

/* The two documents (doc parsed from `path`, whose bytes hash to sha256). */
int cf_audit_ledger(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *path, const cf_json *doc);
int cf_audit_stocks(cf_ctx *ctx, cf_audit *a, const cf_audit_opts *o, int depth, const char *path, const cf_json *doc);

#endif
