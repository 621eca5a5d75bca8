/*
 * Command-line overrides of a loaded pipeline's tree: `--set STAGE.KEY=VALUE`
 * and `@inputs=VALUE` (what `batch --inputs` gives).
 *
 * An override replaces one option's node in the YAML tree before anything
 * is validated, so the override goes through exactly the checks the file's
 * own value would (one declaration per setting: pipelines/stage.h); the
 * new node's origin ("--set STAGE.KEY", "--inputs") stands where a file
 * position would in every message about it.
 *
 * How a stage is named here is how it is named everywhere: its `name`, or
 * else its type, with "-2", "-3", ... for the second and later stages of
 * the same type among the stages without a name (cf_pipeline_stage_name
 * below is the one place that rule lives; pipeline.c names loaded stages
 * with it too). An override may also reach a named stage by its type's
 * name (TYPE the first stage of the type, TYPE-N the N-th, counting named
 * ones), unless an unnamed stage has that very name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "pipelines/pipeline_internal.h"

void cf_pipeline_stage_name(const cf_yaml_node *list, size_t i, char *buf, size_t n) {
  const cf_yaml_node *nm = cf_yaml_map_get(list->items[i], "name");
  const cf_yaml_node *t = cf_yaml_map_get(list->items[i], "type");
  if (nm && nm->kind == CF_YAML_SCALAR) {
    snprintf(buf, n, "%s", nm->value);
    return;
  }
  if (!t || t->kind != CF_YAML_SCALAR) {
    snprintf(buf, n, "#%zu", i + 1);
    return;
  }
  int nth = 1;
  for (size_t j = 0; j < i; j++) {
    if (cf_yaml_map_get(list->items[j], "name")) continue; /* named stages take no number */
    const cf_yaml_node *tj = cf_yaml_map_get(list->items[j], "type");
    if (tj && tj->kind == CF_YAML_SCALAR && strcmp(tj->value, t->value) == 0) nth++;
  }
  if (nth > 1)
    snprintf(buf, n, "%s-%d", t->value, nth);
  else
    snprintf(buf, n, "%s", t->value);
}

/* The stage node called `name`: explicit names first, then the default
 * names of the unnamed stages, then type names counting every stage. */
static cf_yaml_node *stage_node_by_name(cf_yaml_node *list, const char *name) {
  for (size_t i = 0; i < list->n; i++) {
    const cf_yaml_node *nm = cf_yaml_map_get(list->items[i], "name");
    if (nm && nm->kind == CF_YAML_SCALAR && strcmp(nm->value, name) == 0) return list->items[i];
  }
  char buf[300];
  for (size_t i = 0; i < list->n; i++) {
    if (cf_yaml_map_get(list->items[i], "name")) continue;
    cf_pipeline_stage_name(list, i, buf, sizeof buf);
    if (strcmp(buf, name) == 0) return list->items[i];
  }
  /* and, for a stage with a name of its own, its type's name as if it had
   * none: TYPE the first stage of that type, TYPE-N the N-th, named or not
   * (the shipped forest-stocks.yaml names its ingest stages and documents
   * --set ingest.plots.path=...) */
  int seen = 0;
  for (size_t i = 0; i < list->n; i++) {
    const cf_yaml_node *t = cf_yaml_map_get(list->items[i], "type");
    if (!t || t->kind != CF_YAML_SCALAR) continue;
    size_t tl = strlen(t->value);
    if (strncmp(name, t->value, tl) != 0 || (name[tl] != '\0' && name[tl] != '-')) continue;
    seen++;
    int nth = name[tl] == '\0' ? 1 : atoi(name + tl + 1);
    if (nth == seen) return list->items[i];
  }
  return NULL;
}

/* A scalar node with the empty value (YAML's null), or NULL if out of memory. */
static cf_yaml_node *empty_scalar(void) {
  cf_yaml_node *v = calloc(1, sizeof *v);
  if (v && !(v->value = strdup(""))) {
    free(v);
    v = NULL;
  }
  if (v) v->kind = CF_YAML_SCALAR;
  return v;
}

/* Set option `key` of stage node `st` to the YAML `text`, the new node
 * named `origin` in messages. `who` names the override in errors. */
static int set_value(cf_ctx *ctx, cf_pipeline *p, cf_yaml_node *st, const char *key, const char *text,
                     const char *origin_text, const char *who) {
  char **origins = realloc(p->set_origins, (size_t)(p->nset_origins + 1) * sizeof *origins);
  if (origins) p->set_origins = origins;
  char *origin = origins ? strdup(origin_text) : NULL;
  if (!origin) return cf_error(ctx, CF_ENOMEM, who, "", "out of memory");
  p->set_origins[p->nset_origins++] = origin;
  cf_yaml_doc d;
  int rc = cf_yaml_load_string(ctx, origin, text, &d);
  if (rc) return rc;
  cf_yaml_node *v = d.root ? d.root : empty_scalar(); /* an empty value is an explicit null */
  d.root = NULL;
  cf_yaml_set_origin(v, origin);
  if (!v || cf_yaml_map_set(st, key, v)) { /* the map did not take v: it is still ours */
    cf_yaml_node_free(v);
    rc = cf_error(ctx, CF_ENOMEM, who, "", "out of memory");
  }
  cf_yaml_free(&d);
  return rc;
}

/* "@inputs=VALUE" names no stage: it replaces the files of the batch stage,
 * the first stage that sets an option taking several files (or else the
 * first stage that has such an option), so that the example input a
 * shipped pipeline names need not exist. */
static int set_inputs(cf_ctx *ctx, cf_pipeline *p, cf_yaml_node *list, const char *value) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < list->n; i++) {
      const cf_yaml_node *t = cf_yaml_map_get(list->items[i], "type");
      const cf_stage_def *def = t && t->kind == CF_YAML_SCALAR ? cf_stage_find(t->value) : NULL;
      for (const cf_option_spec *o = def ? def->options : NULL; o && o->name; o++) {
        if (o->type != CF_OPT_INPUT_PATHS || (pass == 0 && !cf_yaml_map_get(list->items[i], o->name))) continue;
        char name[300], origin[400];
        cf_pipeline_stage_name(list, i, name, sizeof name);
        snprintf(origin, sizeof origin, "--inputs (%s.%s)", name, o->name);
        return set_value(ctx, p, list->items[i], o->name, value, origin, "--inputs");
      }
    }
  }
  return cf_error(ctx, CF_EINVAL, "--inputs", "",
                  "no stage of this pipeline takes a list of files, so --inputs has nothing to replace");
}

int cf_pipeline_apply_override(cf_ctx *ctx, cf_pipeline *p, cf_yaml_node *list, const char *set) {
  static const char inputs[] = CF_PIPELINE_SET_INPUTS "=";
  if (strncmp(set, inputs, strlen(inputs)) == 0) return set_inputs(ctx, p, list, set + strlen(inputs));
  /* STAGE.KEY=VALUE: the key is after the last '.' before the '=' (stage
   * names may hold dots: lidar.doppler) */
  const char *eq = strchr(set, '=');
  const char *dot = eq;
  while (dot && dot > set && *dot != '.') dot--;
  if (!eq || !dot || *dot != '.' || dot == set || dot + 1 == eq)
    return cf_error(ctx, CF_EINVAL, "--set", "", "'%s' is not of the form STAGE.KEY=VALUE", set);
  char *stage = strndup(set, (size_t)(dot - set));
  char *key = strndup(dot + 1, (size_t)(eq - dot - 1));
  int rc;
  cf_yaml_node *st = stage && key ? stage_node_by_name(list, stage) : NULL;
  if (!stage || !key) {
    rc = cf_error(ctx, CF_ENOMEM, "--set", "", "out of memory");
  } else if (!st) {
    rc = cf_error(ctx, CF_EINVAL, "--set", "", "'%s': no stage named '%s' in the pipeline", set, stage);
  } else {
    cf_strbuf origin;
    cf_strbuf_init(&origin);
    cf_strbuf_printf(&origin, "--set %s.%s", stage, key);
    rc = set_value(ctx, p, st, key, eq + 1, cf_strbuf_str(&origin), "--set");
    cf_strbuf_free(&origin);
  }
  free(stage);
  free(key);
  return rc;
}
