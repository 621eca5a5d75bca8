/*
 * The CO2 line list the lidar's cross-sections are computed from.
 *
 * A line list is a CSV table with one 12C16O2 line per row and exactly these
 * columns (any order, header first; HITRAN's names and units):
 *
 *   nu_cm       vacuum wavenumber at zero pressure, cm-1
 *   S296        line intensity at 296 K, cm/molecule (as HITRAN gives it:
 *               already multiplied by the isotopologue's natural abundance,
 *               0.984204 for 626, so that sigma * n(all CO2) is the absorption)
 *   gamma_air   air-broadened Lorentz half-width (HWHM) at 296 K, cm-1/atm
 *   gamma_self  self-broadened HWHM at 296 K, cm-1/atm
 *   n_air       temperature exponent of the half-widths, 1
 *   delta_air   air pressure shift of the line position, cm-1/atm
 *   E_lower     lower-state energy, cm-1
 *   source      where the row's values come from (free text, required)
 *
 * Fields may be double-quoted as in RFC 4180 (then they may hold commas).
 * Errors name the file, the line number and the column.
 *
 * The built-in list is lidar/co2_lines_1572nm.csv, compiled into the library
 * at build time (cmake/CfEmbedLines.cmake), so a cross-section never depends
 * on a data file being found at run time. It is the shared reference list
 * ../shared/spec/co2_lines_1572nm.csv (spec lidar-l0.md, "Reference
 * spectroscopy"): the 81 lines of 12C16O2 between 6350 and 6370 cm-1 from a
 * HITRAN-online export (HITRAN2016 era) kept in the usnistgov/MATS repository
 * at commit 9cd3c66 (MATS/Linelists/CO2_30012.csv), each row naming its
 * HITRAN transition id; the ASCENDS line R16e (6359.967248 cm-1) and its
 * neighbours are cross-checked there against Long et al. 2015 (FARS-CRDS) and
 * older HITRAN values. Each row's `source` column says which.
 *
 * A list is parsed into a caller-owned cf_co2_linelist (no global state):
 * parse once, share it read-only between threads, free it with
 * cf_co2_lines_free.
 */
#ifndef CF_LIDAR_CO2_LINES_H
#define CF_LIDAR_CO2_LINES_H

#include <stddef.h>

#include "carbonflux/ctx.h"

typedef struct {
  double nu;         /* cm-1 */
  double s296;       /* cm/molecule at 296 K */
  double gamma_air;  /* cm-1/atm, HWHM at 296 K */
  double gamma_self; /* cm-1/atm, HWHM at 296 K */
  double n_air;      /* 1 */
  double delta_air;  /* cm-1/atm */
  double e_lower;    /* cm-1 */
  char *source;
} cf_co2_line;

typedef struct {
  cf_co2_line *lines;
  size_t n;
  char *origin; /* the file path, or "built-in lidar/co2_lines_1572nm.csv" */
} cf_co2_linelist;

/* The built-in reference list. */
int cf_co2_lines_builtin(cf_ctx *ctx, cf_co2_linelist *out);
/* A user's list from a CSV file (CF_ENOENT if missing, CF_EDATA if invalid). */
int cf_co2_lines_load(cf_ctx *ctx, const char *path, cf_co2_linelist *out);
/* A list from CSV text of `len` bytes; `name` is used in error messages. */
int cf_co2_lines_parse(cf_ctx *ctx, const char *text, size_t len, const char *name,
                       cf_co2_linelist *out);
/* Frees everything the list owns and zeroes it; safe on a zeroed list. */
void cf_co2_lines_free(cf_co2_linelist *list);

/* The line whose position is nearest to nu_cm (NULL for an empty list). */
const cf_co2_line *cf_co2_lines_nearest(const cf_co2_linelist *list, double nu_cm);

/* The embedded CSV text, generated into the build tree from
 * lidar/co2_lines_1572nm.csv by cmake/CfEmbedLines.cmake. */
extern const char *const cf_co2_lines_1572nm_csv;
extern const size_t cf_co2_lines_1572nm_csv_len;

#endif
