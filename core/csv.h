/*
 * CSV tables as RFC 4180 defines them, read record by record.
 *
 * Inventories and parameter tables reach us from spreadsheets, R, field
 * tablets and other people's scripts, so the reader takes what RFC 4180
 * allows and nothing silently: a header row; fields separated by commas;
 * a field in double quotes may hold commas, line breaks and doubled quotes
 * ("" for "); records end with CRLF or LF; a UTF-8 byte-order mark before
 * the header is ignored. Blank lines are skipped (a trailing newline, or a
 * spreadsheet's empty last rows).
 *
 * Invariants:
 *   - every record has exactly as many fields as the header; a record
 *     with fewer or more is an error naming the file, the line and both
 *     counts (a shifted column would put numbers in the wrong field);
 *   - a record's line number is the line on which it starts, so a message
 *     points at the row a user sees in an editor;
 *   - work and memory are bounded: a field is at most CF_CSV_MAX_FIELD
 *     bytes and a record at most CF_CSV_MAX_FIELDS fields, each limit an
 *     error naming the line (a binary file fed by mistake ends there);
 *   - every field (the header's too) is UTF-8 (core/utf8.h): a byte that
 *     is not is an error naming the file, the line and the column, so a
 *     Latin-1 name never reaches a JSON, CSV or NetCDF output;
 *   - column names are matched without regard to ASCII case, after
 *     trimming surrounding spaces (as the forest-io spec requires).
 *
 * Reading is streaming (one record in memory at a time); the table may come
 * from a file or from text in memory (tables embedded in the library).
 */
#ifndef CF_CORE_CSV_H
#define CF_CORE_CSV_H

#include "carbonflux/ctx.h"
#include "core/strbuf.h"

#define CF_CSV_MAX_FIELD (1 << 20) /* bytes in one field */
#define CF_CSV_MAX_FIELDS 10000    /* fields in one record */

typedef struct cf_csv cf_csv;

/* One record: fields[i] is the text of column i (never NULL, "" if empty),
 * valid until the next cf_csv_next or cf_csv_close. */
typedef struct {
  char **fields;
  int nfields;
  long line; /* 1-based line on which the record starts */
} cf_csv_row;

/* Open `path` and read its header. CF_ENOENT if it does not exist, CF_EDATA
 * for an empty file or a malformed header. */
int cf_csv_open(cf_ctx *ctx, const char *path, cf_csv **out);
/* The same over `text` (not copied: it must outlive the reader); `name`
 * stands for the file in messages. */
int cf_csv_open_text(cf_ctx *ctx, const char *name, const char *text, cf_csv **out);
void cf_csv_close(cf_csv *c);

/* The file name messages use. */
const char *cf_csv_name(const cf_csv *c);
int cf_csv_ncols(const cf_csv *c);
/* Header text of column i (trimmed). */
const char *cf_csv_header(const cf_csv *c, int i);
/* Index of the column named `name` (case-insensitive), or -1. */
int cf_csv_column(const cf_csv *c, const char *name);

/* Next record: 1 and *row set, 0 at the end of the table, or a negative
 * status (CF_EDATA with the line, CF_EIO, CF_ENOMEM). */
int cf_csv_next(cf_ctx *ctx, cf_csv *c, const cf_csv_row **row);

/* Field `col` of `row` as a finite number (surrounding spaces allowed).
 * Returns 1 and *v, 0 if the field is empty (a missing value), or CF_EDATA
 * with a message naming file:line and the column's header for text that
 * is not a number or is not finite. */
int cf_csv_double(cf_ctx *ctx, const cf_csv *c, const cf_csv_row *row, int col, double *v);

/* --- writing --------------------------------------------------------------- */

/* Append `s` as one RFC 4180 field: in double quotes (each quote doubled)
 * when it holds a comma, a quote, CR or LF, else as it is; so the reader
 * above, Python's csv module and spreadsheets read back the same text. */
void cf_csv_put_field(cf_strbuf *sb, const char *s);

/* Provenance of a CSV that is the table twin of a JSON (the stocks
 * report's, the ledger's). Their readers are strict RFC 4180 ones (the
 * header is the first line), so no '#' lines as the pipeline CSVs have;
 * every row ends in two columns instead: the software version and the
 * SHA-256 of the JSON written beside it, which holds the inputs with their
 * SHA-256 and the settings. The header's last two names, and the cells
 * that end a row (with its CRLF). */
#define CF_CSV_PROVENANCE_HEADER "carbonflux_version,json_sha256"
void cf_csv_provenance_row_end(cf_strbuf *sb, const char *json_sha256);

#endif
