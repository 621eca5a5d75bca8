/*
 * The verifier's report: a small model the caller fills (sections of
 * paragraphs, tables and images, a parameters table, and the metadata
 * that makes every number traceable) rendered to ONE self-contained HTML
 * file, with every table also written beside it as NAME.csv.
 *
 * Why a model and not a template: the report is read by a DOE/VVB
 * verifier, often offline and years later, and archived as evidence. One
 * file that needs nothing else (styles in <style>, images as data: PNG
 * URIs, no fonts, no scripts, no network) survives e-mail and archives;
 * tables next to it as CSV let the verifier recompute without scraping
 * HTML. The model knows tables, images, parameters and metadata only, not
 * stocks or ledgers, so whatever assembles the issuance report (the
 * `write.report` stage, after the ledger) fills it without this file
 * knowing its rows.
 *
 * Invariants:
 *   - every caller string reaches the HTML escaped (& < > " ' as entities;
 *     bytes that are not UTF-8 and control characters other than tab and
 *     newline become U+FFFD), so a stratum named `<b>&"x"` shows as typed
 *     and cannot end a tag or an attribute;
 *   - a number is kept as a double: the HTML shows it in the cell's stated
 *     format (its exact value in the cell's title), the CSV has its
 *     shortest round-trip form; NaN is "not estimated" (an em dash, an
 *     empty CSV field), never 0;
 *   - nothing is written half: the HTML and every CSV are written to part
 *     files and renamed together (cf_atomic_commit_all), or none is;
 *   - the builders never fail loudly: an allocation failure or a misuse
 *     (a cell without a row, more cells than columns) is remembered and
 *     cf_report_write refuses the report, naming it (as cf_strbuf does).
 */
#ifndef CF_SINK_REPORT_HTML_H
#define CF_SINK_REPORT_HTML_H

#include <stddef.h>

#include "carbonflux/ctx.h"
#include "core/fsutil.h"

typedef struct cf_report cf_report;
typedef struct cf_report_section cf_report_section;
typedef struct cf_report_table cf_report_table;

/* How the HTML shows a number: 'f' with `digits` decimals (thousands
 * separated by commas when `group`), 'e' with `digits` decimals in the
 * mantissa, 'g' with `digits` significant digits. */
typedef struct {
  char style;
  int digits;
  int group;
} cf_report_numfmt;

#define CF_REPORT_FIXED(d) ((cf_report_numfmt){'f', (d), 0})
#define CF_REPORT_GROUPED(d) ((cf_report_numfmt){'f', (d), 1})
#define CF_REPORT_SIG(d) ((cf_report_numfmt){'g', (d), 0})

typedef struct {
  const char *header;
  const char *unit; /* NULL or "" for none */
} cf_report_column;

/* A report titled `title`, generated now (UTC). NULL when out of memory. */
cf_report *cf_report_create(const char *title);
void cf_report_destroy(cf_report *r);
/* The generation time, seconds since 1970 (UTC); for reproducible files. */
void cf_report_set_generated(cf_report *r, long long epoch_s);

/* --- metadata ---------------------------------------------------------------- */

/* An input file with its SHA-256 (`sha256` NULL: computed here, CF_ENOENT
 * or CF_EIO naming the file). `role` says what it is ("stocks 2021"). */
int cf_report_add_input(cf_ctx *ctx, cf_report *r, const char *path, const char *role, const char *sha256);
/* A setting, seed or other run fact shown in the metadata block. */
void cf_report_add_setting(cf_report *r, const char *name, const char *value);
/* A <meta name="NAME" content="CONTENT"> in the document's head, for
 * programs that read the report (the ledger it was built from). */
void cf_report_add_meta(cf_report *r, const char *name, const char *content);

/* --- content ----------------------------------------------------------------- */

cf_report_section *cf_report_section_add(cf_report *r, const char *heading);
void cf_report_paragraph(cf_report_section *s, const char *text);

/* A table; `name` is its CSV file's stem (letters, digits, '_' and '-',
 * unique in the report, not "parameters"). With has_source, each row has
 * a last "Source / equation" cell (cf_report_row_source). */
cf_report_table *cf_report_table_add(cf_report_section *s, const char *name, const char *caption, int ncols,
                                     const cf_report_column *cols, int has_source);
/* Start a row, then give its cells left to right. */
void cf_report_row(cf_report_table *t);
void cf_report_cell_text(cf_report_table *t, const char *text);
void cf_report_cell_num(cf_report_table *t, double v, cf_report_numfmt f);
void cf_report_cell_empty(cf_report_table *t);
void cf_report_row_source(cf_report_table *t, const char *source);

/* A PNG image (the bytes are copied; cf_report_write checks the PNG
 * signature and header) with its alt text and caption. */
void cf_report_image(cf_report_section *s, const void *png, size_t n, const char *alt, const char *caption);

/* A parameter: name, value (number or text), unit, source (document,
 * table or equation, version). Shown in the last section and written as
 * parameters.csv. */
void cf_report_param(cf_report *r, const char *name, double value, cf_report_numfmt f, const char *unit,
                     const char *source);
void cf_report_param_text(cf_report *r, const char *name, const char *value, const char *unit, const char *source);

/* --- output ------------------------------------------------------------------ */

/* Write `html_path` and, in its directory, NAME.csv for every table (and
 * parameters.csv when there are parameters): all or none. CF_EINVAL for a
 * misused model or a bad table name, CF_EDATA for an image that is not a
 * PNG, CF_ENOMEM, CF_EIO; messages name the report and the table. */
int cf_report_write(cf_ctx *ctx, const cf_report *r, const char *html_path);
/* The same, committing `n_extra` part files the caller has filled (files
 * beside the report: a GeoPackage, a KML) in the same all-or-none step.
 * The caller still calls cf_atomic_end on them. */
int cf_report_write_with(cf_ctx *ctx, const cf_report *r, const char *html_path, cf_atomic_file *const *extra,
                         int n_extra);

#endif
