/*
 * Stages: the vocabulary of pipelines (as in PDAL).
 *
 * A stage type is a cf_stage_def: a name such as "raster.warp", one line of
 * help, a table of options (type, default, range, help) and a run function.
 * The tables are the single source of truth: the validator checks pipeline
 * files against them, `carbonflux stages` prints them, and run functions
 * read option values through accessors that cannot fail because validation
 * already ran. A stage produces at most one product (a raster node, a
 * polygon layer) that later stages refer to by the stage's name.
 *
 * An option may instead be a row of a settings table (core/kvtable.h) that
 * a library module declares for all its interfaces (lidar/process_options.h):
 * then only its name and `settings` are given here, and the row supplies
 * the type, range, unit, default and help; the validator checks values with
 * the row and cf_stage_apply_settings stores them through it.
 */
#ifndef CF_PIPELINES_STAGE_H
#define CF_PIPELINES_STAGE_H

#include "core/kvtable.h"
#include "core/yaml.h"
#include "carbonflux/ctx.h"

typedef enum {
  CF_OPT_STRING,
  CF_OPT_INT,
  CF_OPT_DOUBLE,
  CF_OPT_BOOL,
  CF_OPT_ENUM,        /* one of `choices` (case-insensitive) */
  CF_OPT_INPUT_PATH,  /* an existing file; relative to the pipeline file */
  CF_OPT_INPUT_PATHS, /* a file, a glob or a list of them: one batch item each */
  CF_OPT_INPUT_FILESET, /* a glob or a list of files read together by one stage (not a batch) */
  CF_OPT_OUTPUT_PATH, /* a file to write; may use {stem} of the batch item */
  CF_OPT_DOUBLE_LIST, /* `list_min`..`list_max` numbers */
  CF_OPT_STRING_LIST,
  CF_OPT_STAGE_REF,   /* the name of an earlier stage with a product of `ref_kind` */
  CF_OPT_CRS          /* EPSG:n, WKT or PROJ string, checked with PROJ */
} cf_opt_type;

typedef enum {
  CF_PRODUCT_NONE = 0,
  CF_PRODUCT_RASTER,   /* a raster node (raster/raster.h) */
  CF_PRODUCT_VECTOR,   /* polygons (ingest/vector.h) */
  CF_PRODUCT_LIDAR,    /* an L0 file and the processing asked of it (stages_lidar.c) */
  CF_PRODUCT_L2,       /* an L2 file written by write.l2 */
  CF_PRODUCT_WINDSCAN, /* radial velocities of one scan from a vendor file set */
  CF_PRODUCT_PLOTS,    /* a plots table (sink/inventory.h) */
  CF_PRODUCT_TREES,    /* a trees table */
  CF_PRODUCT_STRATA,   /* strata with their areas */
  CF_PRODUCT_STOCKS,   /* forest stocks in the making (stages_forest.c) */
  CF_PRODUCT_FOOTPRINTS, /* GEDI footprints (ingest/gedi_l2a.h cf_gedi_l2a) */
  CF_PRODUCT_MODEL,    /* a biomass model (stages_forest_maps.c) */
  CF_PRODUCT_FLUX,     /* L2 files, sources and a flux estimate in the making (stages_flux.c) */
  CF_PRODUCT_ISSUANCE, /* monitoring events for the ledger (stages_issuance.c, cf_ledger_inputs) */
  CF_PRODUCT_LEDGER    /* the path of a LEDGER.json written by sink.ledger (a malloc'ed string) */
} cf_product_kind;

typedef struct cf_stage cf_stage;

typedef struct {
  const char *name;
  cf_opt_type type;
  const char *def;         /* default as YAML text; NULL = no default */
  int required;
  int has_min, has_max;
  double min, max;         /* numeric range, also per list item */
  const char *const *choices; /* CF_OPT_ENUM */
  int list_min, list_max;  /* list lengths (0 = no limit) */
  cf_product_kind ref_kind; /* CF_OPT_STAGE_REF */
  const char *help;
  /* Non-NULL: the option is the row `name` of this table; `type` must match
   * the row's (CF_OPT_DOUBLE, _INT, _BOOL, _ENUM) and the other fields
   * above are unused. Unset, it keeps the table's default. */
  const cf_kv_table *settings;
  /* CF_OPT_STRING naming a band of the stage's raster input (a name or a
   * 1-based number): validation checks it against the bands the input
   * file has, where they can be known before the run (preflight.c). */
  int band_of_input;
  /* With band_of_input: does the stage use this band as set (e.g. EVI's
   * blue, not NDVI's)? NULL: always. */
  int (*band_used)(const cf_stage *st);
  /* An input read by HDF5, which opens plain local files only (not GDAL's
   * /vsizip/ and the like): validation says so, and opens the file. */
  int read_by_hdf5;
} cf_option_spec;


/* The stage option type of a settings row of each kvtable type (for
 * {.name = ..., .type = CF_SETTING_OPT_DOUBLE, .settings = &table}). */
#define CF_SETTING_OPT_TEXT CF_OPT_STRING
#define CF_SETTING_OPT_NUM_OR_ENUM CF_OPT_STRING
#define CF_SETTING_OPT_FLAGS CF_OPT_STRING_LIST
#define CF_SETTING_OPT_DOUBLE CF_OPT_DOUBLE
#define CF_SETTING_OPT_INT CF_OPT_INT
#define CF_SETTING_OPT_ENUM CF_OPT_ENUM

typedef struct cf_run cf_run;

typedef struct {
  const char *type;
  const char *help;
  cf_product_kind product;  /* what run() leaves for later stages */
  cf_product_kind input;    /* kind taken through the implicit `input` option */
  const cf_option_spec *options; /* ends with {NULL} */
  /* Extra checks across options, at validation time (may be NULL). */
  int (*check)(cf_ctx *ctx, cf_stage *st);
  int (*run)(cf_ctx *ctx, cf_run *run, cf_stage *st);
} cf_stage_def;

/* One stage of a loaded pipeline. */
struct cf_stage {
  const cf_stage_def *def;
  char *name;
  int index;
  const char *source;        /* pipeline file name for messages */
  const char *base_dir;      /* relative paths resolve against it */
  cf_yaml_node *node;        /* the stage's mapping (owned by the pipeline) */
  cf_yaml_node **values;     /* per option: the given node or the default's */
  int input;                 /* stage index of `input`, -1 if none */
};

/* The registry. */
const cf_stage_def *cf_stage_find(const char *type);
const cf_stage_def *const *cf_stage_all(void);

/* --- option accessors for run functions ------------------------------------- */

const cf_option_spec *cf_stage_option(const cf_stage *st, const char *name, int *index);
/* Node of an option's value, or NULL if unset and without default. */
const cf_yaml_node *cf_stage_value(const cf_stage *st, const char *name);
int cf_stage_has(const cf_stage *st, const char *name);
const char *cf_stage_str(const cf_stage *st, const char *name);
double cf_stage_double(const cf_stage *st, const char *name);
long long cf_stage_int(const cf_stage *st, const char *name);
int cf_stage_bool(const cf_stage *st, const char *name);
/* List items (n set to the count). */
int cf_stage_list_len(const cf_stage *st, const char *name);
double cf_stage_list_double(const cf_stage *st, const char *name, int i);
const char *cf_stage_list_str(const cf_stage *st, const char *name, int i);
/* Path option resolved against the pipeline directory (malloc'ed);
 * output paths get {stem} of the current batch item substituted. */
char *cf_stage_path(const cf_stage *st, cf_run *run, const char *name);
/* A CF_OPT_INPUT_FILESET option expanded (malloc'ed array of malloc'ed
 * paths; free with cf_stage_paths_free). */
int cf_stage_paths(cf_ctx *ctx, const cf_stage *st, const char *name, char ***paths, int *n);
void cf_stage_paths_free(char **paths, int n);
/* Store every option of `st` that is a row of `t` and was given into
 * `base` (a struct of t's kind, holding its defaults) through the row, as
 * a number: the value validation checked, never text parsed again. */
int cf_stage_apply_settings(cf_ctx *ctx, const cf_stage *st, const cf_kv_table *t, void *base);
/* The folder a relative path in option value `n` is relative to: the
 * pipeline file's folder for values written in the file, the current
 * working directory (".") for values given on the command line with
 * --set, as a user typing a shell command expects. */
const char *cf_stage_base_dir(const cf_stage *st, const cf_yaml_node *n);
/* Stage index named by a CF_OPT_STAGE_REF option, -1 if unset. */
int cf_stage_ref(const cf_stage *st, cf_run *run, const char *name);

/* --- products ----------------------------------------------------------------- */

void *cf_run_product(cf_run *run, int stage, cf_product_kind kind);
/* The product of the stage's `input`. */
void *cf_run_input(cf_run *run, const cf_stage *st);
/* The input's product, handed over: the earlier stage no longer holds it
 * (for a chain of stages that each add a step to one object). */
void *cf_run_take_input(cf_run *run, const cf_stage *st);
/* Hand a product to the run (freed with `destroy` when the item is done). */
void cf_run_set_product(cf_run *run, int stage, cf_product_kind kind, void *p, void (*destroy)(void *));
/* Record an input file for provenance (hashes it) and an output written. */
int cf_run_note_input(cf_ctx *ctx, cf_run *run, const char *path);
/* The SHA-256 (hex) cf_run_note_input noted for `path` in this run, or NULL:
 * a stage that records its input's hash reuses it rather than reading the
 * file again. */
const char *cf_run_input_sha256(const cf_run *run, const char *path);
int cf_run_note_output(cf_ctx *ctx, cf_run *run, const char *path);
/* Note an output and log the "wrote" event for it. */
int cf_run_wrote(cf_ctx *ctx, cf_run *run, const char *path);
/* Provenance as KEY=VALUE strings for output metadata (NULL-ended, owned by
 * the run): CARBONFLUX_VERSION, CARBONFLUX_INPUTS, CARBONFLUX_SETTINGS.
 * NULL (with the reason in the context) if it cannot be made. */
const char *const *cf_run_provenance(cf_ctx *ctx, cf_run *run);
/* The batch item being processed (path of the batch input, its stem). */
const char *cf_run_item_path(const cf_run *run);

#endif
