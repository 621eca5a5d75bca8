/* Helpers the inventory readers share (sink/inventory.h); not public. */
#ifndef CF_SINK_INVENTORY_INTERNAL_H
#define CF_SINK_INVENTORY_INTERNAL_H

#include "core/csv.h"
#include "sink/inventory.h"

/* Header for field f in year `year` ({year} substituted; year 0 leaves it),
 * into buf. Returns buf. */
const char *cf_inv_header_for(const cf_inv_options *o, cf_inv_field f, int year, char *buf, size_t n);
/* Non-zero when field f's mapped header contains {year}. */
int cf_inv_is_wide(const cf_inv_options *o, cf_inv_field f);
/* Column of field f (year as above): the mapped header, else the field's
 * own name. -1 if neither; *looked names what was looked for. */
int cf_inv_column(const cf_csv *c, const cf_inv_options *o, cf_inv_field f, int year, char *looked,
                  size_t n);
/* Error for a missing column, listing the table's headers. */
int cf_inv_missing_column(cf_ctx *ctx, const cf_csv *c, const cf_inv_options *o, cf_inv_field f, const char *looked);
/* A number in [lo, hi] (lo_open: lo excluded) from column col (-1: absent).
 * Returns 1 with *v, 0 for blank/absent (*v = NaN), or CF_EDATA naming file,
 * field, line and value, with `what` ("a plausible diameter") and unit. */
int cf_inv_number(cf_ctx *ctx, const cf_csv *c, const cf_csv_row *r, int col, cf_inv_field f, double lo,
                  int lo_open, double hi, const char *unit, const char *what, double *v);
/* A year (integer 1000..3000) from text; `where`/`field` for messages. */
int cf_inv_parse_year(cf_ctx *ctx, const char *where, const char *field, long line, const char *s, int *year);
/* Trimmed copy of a field (NULL for blank when blank_null), or NULL + *oom. */
char *cf_inv_strdup_trim(const char *s, int blank_null, int *oom);
/* Nonzero when s is blank (spaces only). */
int cf_inv_blank(const char *s);
/* cf_csv_next, and when a record has fewer fields than the header, a
 * second frame naming the first column the row lacks (core/csv names the
 * line and both counts, not the field). */
int cf_inv_next(cf_ctx *ctx, cf_csv *c, const cf_csv_row **row);
/* SHA-256 of path into hex when it is a plain file, else "" (no error). */
int cf_inv_hash(cf_ctx *ctx, const char *path, char hex[CF_SHA256_HEX_LEN]);

#endif
