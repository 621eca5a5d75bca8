/* What the files of pipelines/ share about loaded pipelines and runs. */
#ifndef CF_PIPELINES_PIPELINE_INTERNAL_H
#define CF_PIPELINES_PIPELINE_INTERNAL_H

#include "carbonflux/pipeline.h"
#include "pipelines/stage.h"

struct cf_pipeline {
  cf_yaml_doc doc;
  char *base_dir;
  int nstages;
  cf_stage *stages;
  cf_yaml_node **defaults; /* parsed default values, owned */
  int ndefaults;
  int batch_stage;         /* stage with CF_OPT_INPUT_PATHS, -1 if none */
  const char *batch_option;
  char **items;            /* batch item paths (at least one entry) */
  int nitems;
  char *settings_json;     /* effective settings of every stage */
  char **set_origins;      /* "--set STAGE.KEY" names of override nodes, owned */
  int nset_origins;
  int from_file;           /* doc.source is the pipeline's file (not a string) */
};

typedef struct {
  cf_product_kind kind;
  void *ptr;
  void (*destroy)(void *);
} cf_product;

struct cf_run {
  cf_pipeline *p;
  const char *item;        /* batch item path, NULL if no batch stage */
  char *item_stem;
  cf_product *products;    /* one per stage */
  char **inputs;           /* "path sha256" lines */
  int ninputs;
  char **prov;             /* KEY=VALUE provenance, NULL-ended */
  cf_run_summary *summary;
};

int cf_option_check(cf_ctx *ctx, const cf_stage *st, const cf_option_spec *o, const cf_yaml_node *n);
int cf_expand_paths(cf_ctx *ctx, const cf_stage *st, const cf_yaml_node *n, char ***items, int *nitems);
const char *cf_opt_type_name(cf_opt_type t);
/* The effective settings as cf_pipeline_settings gives them, less the batch
 * stage's list of inputs (malloc'ed; NULL with the reason in ctx): what
 * decides whether an item's result would change (the batch catalogue), as
 * adding a file to the list changes no other item's result. */
char *cf_pipeline_settings_without_items(cf_ctx *ctx, const cf_pipeline *p);
/* The name of the stage at position i of the pipeline list `list`: its
 * `name`, or else its type, "-2", "-3", ... for the second and later
 * unnamed stages of that type (pipelines/overrides.c). */
void cf_pipeline_stage_name(const cf_yaml_node *list, size_t i, char *buf, size_t n);
/* Apply one override to the pipeline list before validation:
 * "STAGE.KEY=VALUE" (--set) or CF_PIPELINE_SET_INPUTS "=VALUE" (--inputs). */
int cf_pipeline_apply_override(cf_ctx *ctx, cf_pipeline *p, cf_yaml_node *list, const char *set);
/* The stage type nearest to `type` (for "did you mean"), or NULL. */
const char *cf_stage_suggest(const char *type);

#endif
