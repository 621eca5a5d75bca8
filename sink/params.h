/*
 * Parameter tables: the published numbers a carbon-stock estimate rests on
 * (carbon fraction, root-to-shoot ratios, allometric equations, wood
 * densities, dead wood and litter fractions, soil carbon factors), kept as
 * data files with their sources rather than as constants in code.
 *
 * Why tables and not code: a verifier asks "where does 0.47 come from?" and
 * a project developer in another country needs other species groups. A
 * number in a table carries its source on the same row, `carbonflux params`
 * prints it, the stocks report copies it into its "parameters" array, and a
 * user can replace a table without recompiling.
 *
 * Table format (sink/tables/README.md says the same with examples):
 *   - CSV as core/csv.h reads it (RFC 4180, header row, UTF-8, BOM ignored);
 *     the table's name is the file name without ".csv";
 *   - a column whose name ends in a unit suffix is a value column: every
 *     non-empty cell must be a finite number; an empty cell means "not
 *     given" (an open class bound, a coefficient a form does not use). The
 *     suffixes and the units they stand for are (longest match wins):
 *       _t_c_per_t_dm  t C/t d.m.      _t_dm_per_ha  t d.m./ha
 *       _t_c_per_ha    t C/ha          _mm_per_yr    mm/yr
 *       _g_cm3         g/cm3           _t_m3         t/m3
 *       _ratio         1 (ratio)       _fraction     1 (fraction)
 *       _factor        1 (factor)      _coef         1 (coefficient)
 *       _cm            cm              _m            m
 *       _kg            kg
 *     Every other column is text (keys, names, forms, notes);
 *   - every row says where its numbers come from: a `source` column
 *     (document, table or equation, version; never empty) and a `checked`
 *     column, `yes` when the row was compared with that primary document,
 *     `no` when it holds the commonly cited value but was not;
 *   - an optional `note` column says anything else (why unchecked, how a
 *     code was mapped).
 *
 * Where tables come from: the tables in sink/tables/ are compiled into the
 * library at build time (cmake/CfEmbedTables.cmake), so nothing depends on a
 * search path; the files in the repository stay the source of truth. At run
 * time the environment variable CARBONFLUX_PARAMS may name directories
 * (colon-separated, like PATH); every *.csv in them is loaded as a user
 * table. A user table with a built-in table's name replaces it (logged at
 * INFO); when two directories hold the same name the earlier directory wins
 * (the later one is logged at WARN and ignored). A directory that does not
 * exist is an error: a mistyped path must not silently fall back to the
 * built-in numbers.
 *
 * Validation is complete before any number is handed out: a table without
 * `source` or `checked`, a row with the wrong number of fields, a value that
 * is not a finite number, an empty source, or `checked` other than yes/no
 * fails the load with CF_EDATA and a message naming file:line and the
 * column. A loaded cf_params is read-only and may be shared by threads.
 */
#ifndef CF_SINK_PARAMS_H
#define CF_SINK_PARAMS_H

#include <stdio.h>

#include "carbonflux/ctx.h"

typedef struct cf_params cf_params;
typedef struct cf_param_table cf_param_table;

/* A number as a table gives it, with what it means. The strings point into
 * the cf_params and live as long as it does. */
typedef struct {
  double value;
  const char *unit;    /* "t C/t d.m." */
  const char *source;  /* the row's source */
  int checked;         /* 1 yes, 0 no */
  const char *table;   /* table name */
  const char *origin;  /* "built-in" or the user file's path */
  long line;           /* the row's line in its file */
} cf_param_value;

/* Load the built-in tables and the user tables of CARBONFLUX_PARAMS. */
int cf_params_load(cf_ctx *ctx, cf_params **out);
/* The same with an explicit directory list (colon-separated; NULL or "" for
 * built-in tables only): what cf_params_load calls with the variable. */
int cf_params_load_from(cf_ctx *ctx, const char *dirs, cf_params **out);
void cf_params_free(cf_params *p);

/* Number of tables and the i-th (in name order). */
int cf_params_count(const cf_params *p);
const cf_param_table *cf_params_at(const cf_params *p, int i);
/* The table `name` (case-sensitive, as file names), or NULL. */
const cf_param_table *cf_params_table(const cf_params *p, const char *name);
/* The same, but an unknown name is CF_EINVAL naming the known tables. */
int cf_params_find(cf_ctx *ctx, const cf_params *p, const char *name, const cf_param_table **out);

const char *cf_param_table_name(const cf_param_table *t);
const char *cf_param_table_origin(const cf_param_table *t); /* "built-in" or a path */
int cf_param_table_is_builtin(const cf_param_table *t);
int cf_param_table_rows(const cf_param_table *t);
int cf_param_table_cols(const cf_param_table *t);
const char *cf_param_table_header(const cf_param_table *t, int col);
/* Column index by name (case-insensitive), or -1. */
int cf_param_table_column(const cf_param_table *t, const char *name);
/* Unit of a value column ("t d.m./ha"), or NULL for a text column. */
const char *cf_param_table_unit(const cf_param_table *t, int col);
/* Text of a cell (never NULL, "" when empty) and the row's line. */
const char *cf_param_table_text(const cf_param_table *t, int row, int col);
long cf_param_table_line(const cf_param_table *t, int row);
/* The number in a value column's cell, or NAN when the cell is empty or the
 * column is text (no message: for optional values such as class bounds). */
double cf_param_table_value(const cf_param_table *t, int row, int col);

/* The row whose text columns cols[0..nkeys) equal vals[0..nkeys) (ASCII
 * case-insensitive). CF_EINVAL if a column does not exist, CF_ENOENT (with
 * a message naming the table and the key) if no row matches, CF_EDATA if
 * more than one does (the table is ambiguous for that key). */
int cf_param_table_find_row(cf_ctx *ctx, const cf_param_table *t, int nkeys, const char *const *cols,
                            const char *const *vals, int *row);
/* The row of a class table: text columns cols[0..nkeys) equal vals (as in
 * cf_param_table_find_row) and, for each of nvars variables, x[i] lies in
 * [min_cols[i], max_cols[i]) of the row (an empty bound is open). Used for
 * IPCC Table 4.4's AGB classes and AR-TOOL12's elevation and precipitation
 * classes. CF_ENOENT if no row matches, CF_EDATA if several do. */
int cf_param_table_find_class(cf_ctx *ctx, const cf_param_table *t, int nkeys, const char *const *cols,
                              const char *const *vals, int nvars, const char *const *min_cols,
                              const char *const *max_cols, const double *x, int *row);
/* Value column `col` of `row` with its unit and source. CF_EINVAL if the
 * column is not a value column, CF_ENOENT if the cell is empty. */
int cf_param_table_number(cf_ctx *ctx, const cf_param_table *t, int row, const char *col, cf_param_value *out);

/* One-call lookup by a single key: table `table`, the row whose column
 * `keycol` is `key`, its value column `col`. */
int cf_params_get(cf_ctx *ctx, const cf_params *p, const char *table, const char *keycol, const char *key,
                  const char *col, cf_param_value *out);

/* Print the list of tables (name, rows, columns, origin, sources) when
 * `table` is NULL, or one table (its columns with units, then each row
 * with its values, source and checked flag). An unknown table is
 * CF_EINVAL with a message listing the known ones. */
int cf_params_print(cf_ctx *ctx, const cf_params *p, const char *table, FILE *out);

#endif
