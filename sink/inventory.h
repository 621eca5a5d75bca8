/*
 * Forest inventory inputs: trees, plots and strata as
 * ../shared/spec/forest-io.md (contract 1) defines them, read into plain C
 * arrays, validated, cross-checked, and rolled up into per-plot biomass per
 * hectare.
 *
 * Why it is shaped so:
 *  - Field inventories come from spreadsheets and R scripts under whatever
 *    names their authors chose, often one column per census year. Rather than
 *    asking users to reshape them, a mapping (`col.FIELD=HEADER`, `{year}` in
 *    a header with `years=...`) says where each contract field lives; a wide
 *    table becomes one record per stem and year. The mapping is parsed from
 *    the same KEY=VALUE strings the command line passes, and every error
 *    names the key.
 *  - Everything is validated on the way in, with the file, the line and the
 *    field in the message (a 612 cm diameter is a typo of 61.2, and a
 *    per-hectare total would hide it). Status codes form a closed
 *    vocabulary: a code that is neither live nor dead stops the run, because
 *    guessing would silently move a stem between the live and dead pools.
 *  - Readers stream (core/csv) and keep each source's SHA-256 for the
 *    report's provenance.
 *  - Cross-checks (tree -> plot -> stratum, duplicate plots, nest areas) run
 *    once all three tables are read (cf_inventory_link), so each reader
 *    stays usable alone.
 *  - Per-stem biomass is not computed here (allometry is its own module):
 *    cf_inventory_plot_totals takes it as an array parallel to the stems.
 *
 * Decisions where the contract is silent (summarised in the README):
 *  - A mapping applies to every table that has the mapped header; a table
 *    without it falls back to the field's own name (col.plot=Plot maps the
 *    trees' "Plot" and a plots table's "plot" alike: names match without
 *    regard to case anyway).
 *  - Status: "live" and "dead" always; `live_codes=` adds live codes;
 *    `dead_codes=` adds dead codes, default DS,DC,DN (ForestGEO: dead
 *    standing, dead fallen, dead/not found, the codes of the TEMPEST
 *    inventory). Matching ignores case; a blank status means live (the
 *    contract's default). Any other code is an error naming it.
 *  - A blank DBH in a listed year (wide table) or row (long table) means the
 *    stem was not measured: the record is skipped and counted
 *    (cf_trees.n_skipped_blank_dbh), whatever its status.
 *  - `col.in_plot=HEADER` (not in the contract): rows whose value is
 *    FALSE/F/0/NO are skipped and counted (n_skipped_out_of_plot); a blank
 *    counts as in the plot. Unmapped, no such column is read.
 *  - `col.subplot=HEADER` (not in the contract): the stem's plot id becomes
 *    "PLOT/SUBPLOT" (TEMPEST: col.plot=Plot col.subplot=Section gives
 *    "Control/East"), for inventories whose sections are the sampling units;
 *    the plots table then lists those composed ids. A blank subplot leaves
 *    the plot id alone.
 *  - Plot area: area_ha wins over radius_m (+ slope_deg, blank or absent
 *    slope = level ground); a plot with neither but with nest areas takes
 *    its largest nest; otherwise it is an error naming the plot and line.
 *    Nest areas come from `area_ha.NEST` or `radius_m.NEST` (+ the plot's
 *    slope) columns.
 *  - Plots per year: a plot row with a year holds for trees of that year; a
 *    plot row without a year holds for every year. Two rows of one plot with
 *    the same year, or a yearless row beside any other row of that plot, are
 *    duplicates.
 *  - Totals: a plot with stems gets its biomass from them (agb_t_dm_per_ha,
 *    if also given, is kept but not used); a plot without stems gets its
 *    agb_t_dm_per_ha, or 0 (a plot with no trees is a zero, not a gap).
 *  - Strata: a path ending in .csv is a CSV; anything else is opened with
 *    OGR. The stratum attribute is `stratum` (any case) or the
 *    `stratum_field=NAME` option; `stratum_field=FID` (when the layer has no
 *    field of that name) labels each feature by its feature id. A layer with
 *    neither is an error listing its fields. The override columns are read
 *    from the layer's attributes too, when present.
 */
#ifndef CF_SINK_INVENTORY_H
#define CF_SINK_INVENTORY_H

#include <stddef.h>

#include "carbonflux/ctx.h"
#include "core/sha256.h"

/* The contract's field names (and the two extensions, in_plot and subplot). */
typedef enum {
  CF_INV_PLOT = 0,
  CF_INV_DBH_CM,
  CF_INV_SPECIES,
  CF_INV_HEIGHT_M,
  CF_INV_STATUS,
  CF_INV_WOOD_DENSITY,
  CF_INV_NEST,
  CF_INV_YEAR,
  CF_INV_IN_PLOT,
  CF_INV_SUBPLOT,
  CF_INV_STRATUM,
  CF_INV_AREA_HA,
  CF_INV_RADIUS_M,
  CF_INV_SLOPE_DEG,
  CF_INV_AGB,
  CF_INV_LON,
  CF_INV_LAT,
  CF_INV_SOC_REF,
  CF_INV_F_LU,
  CF_INV_F_MG,
  CF_INV_F_IN,
  CF_INV_YEARS_SINCE_PLANTING,
  CF_INV_ECOZONE,
  CF_INV_NFIELDS
} cf_inv_field;

#define CF_INV_MAX_YEARS 64
#define CF_INV_MAX_CODES 32
#define CF_INV_DBH_MAX_CM 500.0      /* General Sherman is 770 cm at the base, ~ 500 at 1.3 m */
#define CF_INV_HEIGHT_MAX_M 150.0    /* tallest known tree 116 m */
#define CF_INV_WD_MIN 0.05           /* basic density, g/cm3: balsa ~0.1 */
#define CF_INV_WD_MAX 1.5            /* lignum vitae ~1.2 */
#define CF_INV_AGB_MAX_T_HA 5000.0   /* coast redwood stands reach ~3500 t/ha */

typedef struct {
  char *header[CF_INV_NFIELDS]; /* mapped header, NULL = the field's own name */
  int years[CF_INV_MAX_YEARS];
  int nyears;
  char *live_codes[CF_INV_MAX_CODES];
  int nlive;
  char *dead_codes[CF_INV_MAX_CODES];
  int ndead;
  char *stratum_field; /* NULL: "stratum" */
  /* Validation: the readers open the file, resolve the columns and stop
   * (no rows, no hash); a table without a column fails as in a run. So
   * `run --check` says "column 'dbh_cm' is missing" before a run does. */
  int header_only;
  /* How a message tells to map a column: 0 as a command line's key
   * (col.FIELD=HEADER), 1 as a pipeline stage's option (columns: [FIELD=HEADER]). */
  int pipeline_form;
} cf_inv_options;

/* Defaults (no mapping, dead_codes=DS,DC,DN). */
void cf_inv_options_init(cf_inv_options *o);
void cf_inv_options_free(cf_inv_options *o);
/* Non-zero when `key` (of KEY=VALUE) is one of this module's settings:
 * col.FIELD, years, live_codes, dead_codes, stratum_field. */
int cf_inv_option_known(const char *key);
/* Apply one "KEY=VALUE" string. CF_EINVAL naming the key for an unknown
 * key or field, an empty value, a bad year or list. */
int cf_inv_options_set(cf_ctx *ctx, cf_inv_options *o, const char *kv);
/* The options as a JSON array of the KEY=VALUE words that set them again
 * (["col.dbh_cm=DBH","years=2019,2022","dead_codes=DS,DC,DN"]; o NULL:
 * the defaults), malloc'ed into *json: a reader records them with its
 * input, so `carbonflux verify` can read the input again the same way. */
int cf_inv_options_record(cf_ctx *ctx, const cf_inv_options *o, char **json);
/* Apply `n` strings in order. */
int cf_inv_options_parse(cf_ctx *ctx, cf_inv_options *o, int n, const char *const *kv);
/* The contract name of a field ("dbh_cm"). */
const char *cf_inv_field_name(cf_inv_field f);

/* --- trees -------------------------------------------------------------- */

typedef struct {
  char *plot;           /* plot id (composed with the subplot if mapped) */
  char *species;        /* NULL if none */
  char *nest;           /* NULL if the stem is not in a nest ring */
  double dbh_cm;        /* > 0, <= CF_INV_DBH_MAX_CM */
  double height_m;      /* NaN if not given */
  double wood_density;  /* g/cm3, NaN if not given */
  int year;             /* 0 when the table has none */
  int live;             /* 1 live, 0 dead */
  long line;            /* line of the source row */
  long plot_row;        /* index into cf_plots.p once linked, else -1 */
  int subplot_blank;    /* the subplot is mapped but empty on this row: `plot` is the plot alone */
} cf_tree;

typedef struct {
  cf_tree *t;
  size_t n;
  char *path;
  char sha256[CF_SHA256_HEX_LEN];
  char *options; /* cf_inv_options_record of the options it was read with */
  char *subplot_header;         /* the column col.subplot maps, NULL if none (for messages) */
  size_t n_rows;                /* data rows read */
  size_t n_skipped_blank_dbh;   /* stem-years with no diameter */
  size_t n_skipped_out_of_plot; /* rows with in_plot false */
} cf_trees;

int cf_trees_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_trees *out);
void cf_trees_free(cf_trees *t);

/* --- plots ---------------------------------------------------------------- */

typedef struct {
  char *plot;
  char *stratum;
  int year;               /* 0: every year */
  double area_ha;         /* horizontal */
  double radius_m;        /* NaN if not given (area_ha wins when both are) */
  double slope_deg;       /* NaN when not given */
  double *nest_area_ha;   /* [cf_plots.nnest], NaN where blank */
  double agb_t_dm_per_ha; /* NaN if not given */
  double lon, lat;        /* NaN if not given */
  long line;
} cf_plot;

typedef struct {
  cf_plot *p;
  size_t n;
  int nnest;
  char **nest; /* nest names, from the area_ha.NEST / radius_m.NEST headers */
  char *path;
  char sha256[CF_SHA256_HEX_LEN];
  char *options; /* cf_inv_options_record of the options it was read with */
} cf_plots;

int cf_plots_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_plots *out);
void cf_plots_free(cf_plots *p);
/* Index of nest `name` (case-insensitive) or -1. */
int cf_plots_nest_index(const cf_plots *p, const char *name);

/* --- strata --------------------------------------------------------------- */

typedef struct {
  char *stratum;
  double area_ha;
  double soc_ref_t_c_per_ha, f_lu, f_mg, f_in, years_since_planting; /* NaN: not given */
  char *ecozone;     /* NULL: not given */
  long line;         /* CSV line, or 0 for a layer */
  int n_features;    /* polygon features summed (0 for a CSV) */
  double ext[4];     /* xmin, ymin, xmax, ymax in the layer's CRS (NaN for a CSV) */
  double ext_lonlat[4]; /* the same in WGS84 longitude/latitude */
} cf_stratum;

typedef struct {
  cf_stratum *s;
  size_t n;
  char *path;
  char *wkt; /* the layer's CRS, NULL for a CSV */
  char sha256[CF_SHA256_HEX_LEN]; /* of the file read ("" for a GDAL name without one) */
  char *options; /* cf_inv_options_record of the options it was read with */
} cf_strata;

int cf_strata_read(cf_ctx *ctx, const char *path, const cf_inv_options *o, cf_strata *out);
void cf_strata_free(cf_strata *s);
/* Index of stratum `name` (exact) or -1. */
long cf_strata_find(const cf_strata *s, const char *name);

/* --- cross-checks and totals ----------------------------------------------- */

/* Duplicate plots; every plot's stratum among the strata (if strata given);
 * every tree's plot (and year) among the plots, and its nest with an area in
 * that plot (if trees given). Sets each tree's plot_row. */
int cf_inventory_link(cf_ctx *ctx, cf_trees *trees, const cf_plots *plots, const cf_strata *strata);

typedef struct {
  long plot_row;      /* index into cf_plots.p */
  int year;           /* the trees' year (the plot row's year when it has no trees) */
  double live_t_dm_per_ha;
  double dead_t_dm_per_ha;
  int n_live, n_dead;
  int from_measured;  /* 1: live_t_dm_per_ha is the plot's agb_t_dm_per_ha (no trees) */
} cf_plot_total;

/* Per plot row and year: sum over its stems of biomass (kg, stem_kg[i] for
 * trees->t[i]) x expansion factor (1 / nest area, or 1 / plot area when the
 * stem has no nest) / 1000. Dead stems go to dead_t_dm_per_ha only. A plot
 * row with no stems gives one row: its agb_t_dm_per_ha if given, else 0.
 * Rows sorted by plot row, then year. Needs cf_inventory_link first. */
int cf_inventory_plot_totals(cf_ctx *ctx, const cf_plots *plots, const cf_trees *trees,
                             const double *stem_kg, cf_plot_total **out, size_t *n_out);

#endif
