/*
 * Loading, validating and running pipelines.
 *
 * A pipeline file is
 *
 *   pipeline:
 *     - type: ingest.raster
 *       name: scene            # optional; default: the type (type-2, ... if repeated)
 *       path: scene.tif
 *     - type: raster.index
 *       input: scene           # optional; default: the nearest earlier raster
 *       index: ndvi
 *
 * Loading is all-or-nothing: --set overrides are applied to the tree, then
 * every stage and option is checked and every problem reported with its
 * position. Only a file that passes completely is run.
 *
 * Running is per batch item. At most one stage may take several input files
 * (a list or a glob); the pipeline runs once per file, with "{stem}" in
 * output paths replaced by the file's stem. A failing item is logged and
 * counted, its products are freed, and the next item starts afresh:
 * nothing of one item leaks into another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "core/suggest.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/preflight.h"

/* --- small helpers ------------------------------------------------------------ */

static const char *suggest_option(const cf_stage_def *def, const char *key) {
  const char *best = NULL;
  int bd = 3;
  const char *builtin[] = {"type", "name", "input"};
  for (int i = 0; i < 3; i++) {
    int d = cf_edit_distance(key, builtin[i]);
    if (d < bd) bd = d, best = builtin[i];
  }
  for (int i = 0; def->options[i].name; i++) {
    int d = cf_edit_distance(key, def->options[i].name);
    if (d < bd) bd = d, best = def->options[i].name;
  }
  return best;
}

const char *cf_stage_suggest(const char *t) {
  const char *best = NULL;
  int bd = 4;
  for (const cf_stage_def *const *d = cf_stage_all(); *d; d++) {
    int e = cf_edit_distance(t, (*d)->type);
    if (e < bd) bd = e, best = (*d)->type;
  }
  return best;
}

void cf_pipeline_free(cf_pipeline *p) {
  if (!p) return;
  for (int i = 0; i < p->nstages; i++) {
    free(p->stages[i].name);
    free(p->stages[i].values);
  }
  free(p->stages);
  for (int i = 0; i < p->ndefaults; i++) cf_yaml_node_free(p->defaults[i]);
  free(p->defaults);
  for (int i = 0; i < p->nitems; i++) free(p->items[i]);
  free(p->items);
  free(p->settings_json);
  for (int i = 0; i < p->nset_origins; i++) free(p->set_origins[i]);
  free(p->set_origins);
  free(p->base_dir);
  cf_yaml_free(&p->doc);
  free(p);
}

/* --- settings as JSON ----------------------------------------------------------- */

static void node_json(cf_strbuf *sb, const cf_yaml_node *n, cf_opt_type t) {
  if (!n || cf_yaml_is_null(n)) {
    cf_strbuf_puts(sb, "null");
  } else if (n->kind == CF_YAML_SEQUENCE) {
    cf_strbuf_puts(sb, "[");
    for (size_t i = 0; i < n->n; i++) {
      if (i) cf_strbuf_puts(sb, ",");
      node_json(sb, n->items[i], t == CF_OPT_DOUBLE_LIST ? CF_OPT_DOUBLE : CF_OPT_STRING);
    }
    cf_strbuf_puts(sb, "]");
  } else if (n->kind == CF_YAML_SCALAR) {
    double v;
    int b;
    if ((t == CF_OPT_DOUBLE || t == CF_OPT_INT || t == CF_OPT_DOUBLE_LIST) && !cf_yaml_as_double(n, &v))
      cf_strbuf_json_double(sb, v);
    else if (t == CF_OPT_BOOL && !cf_yaml_as_bool(n, &b))
      cf_strbuf_puts(sb, b ? "true" : "false");
    else
      cf_strbuf_json_string(sb, n->value);
  } else {
    cf_strbuf_puts(sb, "{}");
  }
}

/* The effective values of a stage's rows of settings table `t` (given, else
 * the table's defaults) in a struct of t's kind (malloc'ed), so provenance
 * records exactly what the run will use, typed by the row. */
static void *effective_settings(cf_ctx *ctx, const cf_stage *st, const cf_kv_table *t) {
  void *base = malloc(t->size);
  if (!base) return NULL;
  t->defaults(base);
  if (cf_stage_apply_settings(ctx, st, t, base)) {
    free(base);
    return NULL;
  }
  return base;
}

/* One stage's options as JSON members (",\"key\":value..."). */
static int stage_options_json(cf_ctx *ctx, cf_strbuf *sb, const cf_stage *st, const char *skip) {
  const cf_kv_table *table = NULL;
  void *eff = NULL;
  int rc = CF_OK;
  for (int k = 0; !rc && st->def->options[k].name; k++) {
    const cf_option_spec *o = &st->def->options[k];
    if (skip && !strcmp(o->name, skip)) continue;
    cf_strbuf_puts(sb, ",");
    cf_strbuf_json_string(sb, o->name);
    cf_strbuf_puts(sb, ":");
    if (!o->settings) {
      node_json(sb, st->values[k], o->type);
      continue;
    }
    if (o->settings != table) {
      free(eff);
      table = o->settings;
      eff = effective_settings(ctx, st, table);
    }
    const cf_kv_opt *row = cf_kv_find(table, o->name);
    if (eff && row)
      cf_kv_value_json(sb, row, eff);
    else
      rc = cf_error(ctx, eff ? CF_EINTERNAL : CF_ENOMEM, st->source, o->name, "cannot record the settings of stage '%s'", st->name);
  }
  free(eff);
  return rc;
}

/* Every stage's effective options as a JSON list (malloc'ed), or NULL with
 * the reason in the context. */
static char *settings_json(cf_ctx *ctx, const cf_pipeline *p, int without_items) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "[");
  int rc = CF_OK;
  for (int i = 0; !rc && i < p->nstages; i++) {
    const cf_stage *st = &p->stages[i];
    cf_strbuf_puts(&sb, i ? ",{\"type\":" : "{\"type\":");
    cf_strbuf_json_string(&sb, st->def->type);
    cf_strbuf_puts(&sb, ",\"name\":");
    cf_strbuf_json_string(&sb, st->name);
    if (st->input >= 0) {
      cf_strbuf_puts(&sb, ",\"input\":");
      cf_strbuf_json_string(&sb, p->stages[st->input].name);
    }
    rc = stage_options_json(ctx, &sb, st, without_items && i == p->batch_stage ? p->batch_option : NULL);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "]");
  char *json = rc ? NULL : cf_strbuf_take(&sb);
  if (!rc && !json) cf_error(ctx, CF_ENOMEM, p->doc.source, "", "out of memory");
  cf_strbuf_free(&sb);
  return json;
}

/* --- validation ----------------------------------------------------------------- */

static int find_stage(const cf_pipeline *p, int before, const char *name) {
  for (int i = 0; i < before; i++)
    if (strcmp(p->stages[i].name, name) == 0) return i;
  return -1;
}

static const char *kind_name(cf_product_kind k) {
  switch (k) {
    case CF_PRODUCT_RASTER: return "raster";
    case CF_PRODUCT_VECTOR: return "polygon layer";
    case CF_PRODUCT_LIDAR: return "lidar L0 file";
    case CF_PRODUCT_L2: return "lidar L2 file";
    case CF_PRODUCT_WINDSCAN: return "wind lidar scan";
    case CF_PRODUCT_PLOTS: return "plots table";
    case CF_PRODUCT_TREES: return "trees table";
    case CF_PRODUCT_STRATA: return "strata";
    case CF_PRODUCT_STOCKS: return "forest stocks";
    case CF_PRODUCT_FOOTPRINTS: return "set of GEDI footprints";
    case CF_PRODUCT_MODEL: return "biomass model";
    case CF_PRODUCT_FLUX: return "flux estimate";
    case CF_PRODUCT_ISSUANCE: return "set of monitoring events";
    case CF_PRODUCT_LEDGER: return "ledger";
    default: return "nothing";
  }
}

/* Give option i of st its default (o->def, YAML text of the stage table),
 * parsed once and owned by the pipeline. */
static int add_default(cf_ctx *ctx, cf_pipeline *p, cf_stage *st, int i) {
  const cf_option_spec *o = &st->def->options[i];
  cf_yaml_doc d;
  int rc = cf_yaml_load_string(ctx, "default", o->def, &d);
  if (rc) return rc; /* a bad default in a stage table: the message names it */
  cf_yaml_node **nd = d.root ? realloc(p->defaults, (size_t)(p->ndefaults + 1) * sizeof *nd) : NULL;
  if (d.root && !nd) {
    cf_yaml_free(&d);
    return cf_error(ctx, CF_ENOMEM, st->source, o->name, "out of memory");
  }
  if (d.root) {
    p->defaults = nd;
    p->defaults[p->ndefaults++] = d.root;
    st->values[i] = d.root;
    d.root->line = st->node->line;
    d.root->col = st->node->col;
    d.root = NULL;
  }
  cf_yaml_free(&d);
  return CF_OK;
}

/* Check one stage's mapping; fills st->values. Returns the number of errors. */
static int validate_stage(cf_ctx *ctx, cf_pipeline *p, cf_stage *st) {
  int errors = 0;
  const cf_stage_def *def = st->def;
  int nopt = 0;
  while (def->options[nopt].name) nopt++;
  st->values = calloc((size_t)nopt + 1, sizeof *st->values);
  if (!st->values) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory"), 1;

  for (size_t k = 0; k < st->node->n; k++) {
    cf_yaml_node *key = cf_yaml_map_key(st->node, k), *val = cf_yaml_map_value(st->node, k);
    if (!strcmp(key->value, "type") || !strcmp(key->value, "name") || !strcmp(key->value, "input")) continue;
    int idx;
    const cf_option_spec *o = cf_stage_option(st, key->value, &idx);
    if (!o) {
      const char *s = suggest_option(def, key->value);
      cf_yaml_error(ctx, CF_EINVAL, st->source, key, "unknown option '%s' for stage %s%s%s%s",
                    key->value, def->type, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
      errors++;
      continue;
    }
    st->values[idx] = val;
    if (!cf_yaml_is_null(val) && cf_option_check(ctx, st, o, val)) errors++;
  }
  for (int i = 0; i < nopt; i++) {
    const cf_option_spec *o = &def->options[i];
    if (st->values[i] && !cf_yaml_is_null(st->values[i])) continue;
    if (o->required) {
      cf_yaml_error(ctx, CF_EINVAL, st->source, st->node, "stage %s (%s) needs option '%s': %s",
                    st->name, def->type, o->name, o->help);
      errors++;
    } else if (o->def && !st->values[i] && add_default(ctx, p, st, i)) {
      errors++;
    }
  }
  /* implicit input */
  st->input = -1;
  cf_yaml_node *in = cf_yaml_map_get(st->node, "input");
  if (def->input != CF_PRODUCT_NONE) {
    if (in) {
      int j = in->kind == CF_YAML_SCALAR ? find_stage(p, st->index, in->value) : -1;
      if (j < 0) {
        cf_yaml_error(ctx, CF_EINVAL, st->source, in, "input '%s' is not the name of an earlier stage",
                      in->kind == CF_YAML_SCALAR ? in->value : "?");
        errors++;
      } else if (p->stages[j].def->product != def->input) {
        cf_yaml_error(ctx, CF_EINVAL, st->source, in, "input '%s' gives a %s; %s needs a %s",
                      in->value, kind_name(p->stages[j].def->product), def->type, kind_name(def->input));
        errors++;
      } else {
        st->input = j;
      }
    } else {
      for (int j = st->index - 1; j >= 0 && st->input < 0; j--)
        if (p->stages[j].def->product == def->input) st->input = j;
      if (st->input < 0) {
        cf_yaml_error(ctx, CF_EINVAL, st->source, st->node,
                      "stage %s needs a %s input, and no earlier stage makes one", def->type,
                      kind_name(def->input));
        errors++;
      }
    }
  } else if (in) {
    cf_yaml_error(ctx, CF_EINVAL, st->source, in, "stage %s takes no input", def->type);
    errors++;
  }
  /* stage references */
  for (int i = 0; i < nopt; i++) {
    const cf_option_spec *o = &def->options[i];
    const cf_yaml_node *v = st->values[i];
    /* a list or mapping is no name: cf_option_check reported it above */
    if (o->type != CF_OPT_STAGE_REF || !v || cf_yaml_is_null(v) || v->kind != CF_YAML_SCALAR) continue;
    int j = find_stage(p, st->index, v->value);
    if (j < 0) {
      cf_yaml_error(ctx, CF_EINVAL, st->source, v, "option '%s': '%s' is not the name of an earlier stage",
                    o->name, v->value);
      errors++;
    } else if (p->stages[j].def->product != o->ref_kind) {
      cf_yaml_error(ctx, CF_EINVAL, st->source, v, "option '%s': stage '%s' gives a %s, not a %s",
                    o->name, v->value, kind_name(p->stages[j].def->product), kind_name(o->ref_kind));
      errors++;
    }
  }
  if (!errors && def->check && def->check(ctx, st)) errors++;
  return errors;
}

/* --- outputs never overwrite inputs -------------------------------------------------- */

/* A file named in the pipeline: its identity key (an existing file is
 * "#dev:inode", so symlinks, "..", hard links all meet; a file still to be
 * written is its cf_path_real), and where it was named. */
typedef struct {
  char *key;
  char *path;
  const cf_stage *st;         /* NULL for the pipeline file itself */
  const cf_yaml_node *node;
  const char *item;           /* batch item of an output, NULL if none */
} named_file;

typedef struct {
  named_file *v;
  int n, cap;
  int oom;
} file_list;

static void list_add(file_list *l, char *path, const cf_stage *st, const cf_yaml_node *node, const char *item) {
  char *key = path ? cf_path_identity(path) : NULL;
  if (key && l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    named_file *nv = realloc(l->v, (size_t)cap * sizeof *nv);
    if (nv) l->v = nv, l->cap = cap;
  }
  if (!key || l->n == l->cap) {
    free(key);
    free(path);
    l->oom = 1;
    return;
  }
  l->v[l->n++] = (named_file){key, path, st, node, item};
}

static void list_free(file_list *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->v[i].key);
    free(l->v[i].path);
  }
  free(l->v);
}

static int by_key(const void *a, const void *b) {
  const named_file *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  /* equal keys in the order they were named, so the later one is reported */
  return x < y ? -1 : x > y;
}

static const named_file *find_key(const file_list *l, const char *key) {
  int lo = 0, hi = l->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(l->v[mid].key, key);
    if (!c) return &l->v[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return NULL;
}

/* An input that `o` (an output) would overwrite: one with o's key read by
 * the pipeline file, the batch, or a stage at or before the writer. A
 * stage after the writer reading that file reads what the writer made,
 * which is the point of writing it (a COG written, then read for zonal
 * statistics). */
static const named_file *find_clash(const file_list *in, const named_file *o) {
  const named_file *hit = find_key(in, o->key);
  if (!hit) return NULL;
  const named_file *lo = hit, *hi = hit, *end = in->v + in->n;
  while (lo > in->v && !strcmp(lo[-1].key, o->key)) lo--;
  while (hi + 1 < end && !strcmp(hi[1].key, o->key)) hi++;
  for (const named_file *f = lo; f <= hi; f++)
    if (!f->st || f->st->index <= o->st->index) return f;
  return NULL;
}

/* Every input a pipeline reads: the batch items, single input files and
 * file sets, and the pipeline file itself (when it is a file). */
static int collect_inputs(cf_ctx *ctx, const cf_pipeline *p, file_list *in) {
  if (p->from_file) list_add(in, strdup(p->doc.source), NULL, NULL, NULL);
  for (int i = 0; i < p->nitems; i++)
    list_add(in, strdup(p->items[i]), &p->stages[p->batch_stage],
             cf_stage_value(&p->stages[p->batch_stage], p->batch_option), NULL);
  for (int i = 0; i < p->nstages; i++) {
    const cf_stage *st = &p->stages[i];
    for (int k = 0; st->def->options[k].name; k++) {
      const cf_option_spec *o = &st->def->options[k];
      const cf_yaml_node *v = st->values[k];
      if (!v || cf_yaml_is_null(v)) continue;
      if (o->type == CF_OPT_INPUT_PATH && v->kind == CF_YAML_SCALAR) {
        list_add(in, cf_path_join(cf_stage_base_dir(st, v), v->value), st, v, NULL);
      } else if (o->type == CF_OPT_INPUT_FILESET || (o->type == CF_OPT_INPUT_PATHS && i != p->batch_stage)) {
        char **paths = NULL;
        int n = 0;
        int rc = cf_expand_paths(ctx, st, v, &paths, &n);
        for (int m = 0; m < n; m++) list_add(in, paths[m], st, v, NULL);
        free(paths);
        if (rc) return rc;
      }
    }
  }
  return in->oom ? cf_error(ctx, CF_ENOMEM, p->doc.source, "", "out of memory") : CF_OK;
}

static void describe_input(char *buf, size_t n, const cf_pipeline *p, const named_file *f) {
  if (!f->st)
    snprintf(buf, n, "the pipeline file itself");
  else
    snprintf(buf, n, "input '%s' of stage '%s' (%s:%d)", f->path, f->st->name, p->doc.source, f->node->line);
}

/* An output that is an input, the pipeline file or another output would
 * destroy data (or silently lose one of two results): each is an error at
 * the output's position. Checked for every batch item's resolved paths, so
 * `run --check` already refuses them and nothing is written. With
 * overwriting off, an existing output is an error too. */
static int check_outputs(cf_ctx *ctx, const cf_pipeline *p) {
  file_list in = {0}, out = {0};
  int rc = collect_inputs(ctx, p, &in);
  int errors = 0;
  int nitems = p->nitems > 0 ? p->nitems : 1;
  for (int it = 0; !rc && it < nitems; it++) {
    const char *item = p->nitems > 0 ? p->items[it] : NULL;
    const char *batch_item = p->nitems > 1 ? item : NULL; /* named in messages */
    char *stem = item ? cf_path_stem(item) : NULL;
    for (int i = 0; i < p->nstages; i++) {
      const cf_stage *st = &p->stages[i];
      if ((rc = cf_check_cancel(ctx, p->doc.source, "validating"))) break;
      int prefix_only = !strcmp(st->def->type, "write.quicklook"); /* a prefix, not a file name */
      for (int k = 0; st->def->options[k].name; k++) {
        const cf_yaml_node *v = st->values[k];
        if (st->def->options[k].type != CF_OPT_OUTPUT_PATH || !v || v->kind != CF_YAML_SCALAR || cf_yaml_is_null(v))
          continue;
        if (item && strstr(v->value, "{stem}") && !cf_stem_is_safe(stem)) {
          cf_yaml_error(ctx, CF_EINVAL, p->doc.source, v,
                        "the stem '%s' of input '%s' cannot stand for {stem} in '%s': it would leave the output's directory",
                        stem ? stem : "", item, v->value);
          errors++;
          continue;
        }
        char *full = cf_path_join(cf_stage_base_dir(st, v), v->value);
        char *path = full ? cf_str_replace(full, "stem", stem ? stem : "out") : NULL;
        free(full);
        /* its directory: once per option, or per item where {stem} is in it */
        const char *slash = strrchr(v->value, '/'), *stem_at = strstr(v->value, "{stem}");
        if (path && (it == 0 || (slash && stem_at && stem_at < slash))) {
          char why[1200];
          char *dir = cf_path_dirname(path);
          if (dir && cf_dir_unwritable(dir, why, sizeof why)) {
            cf_yaml_error(ctx, CF_EINVAL, p->doc.source, v, "output '%s' (option '%s' of stage '%s') cannot be written: %s",
                          path, st->def->options[k].name, st->name, why);
            errors++;
          }
          free(dir);
        }
        if (prefix_only) {
          free(path);
          continue;
        }
        list_add(&out, path, st, v, batch_item);
      }
    }
    free(stem);
  }
  if (!rc && (in.oom || out.oom)) rc = cf_error(ctx, CF_ENOMEM, p->doc.source, "", "out of memory");
  if (!rc) {
    if (in.n > 1) qsort(in.v, (size_t)in.n, sizeof *in.v, by_key);
    if (out.n > 1) qsort(out.v, (size_t)out.n, sizeof *out.v, by_key);
    char what[1200], item_note[600];
    for (int i = 0; i < out.n; i++) {
      const named_file *o = &out.v[i];
      const named_file *hit = find_clash(&in, o);
      snprintf(item_note, sizeof item_note, "%s%s%s", o->item ? " (for input " : "", o->item ? o->item : "",
               o->item ? ")" : "");
      if (hit) {
        describe_input(what, sizeof what, p, hit);
        cf_yaml_error(ctx, CF_EINVAL, p->doc.source, o->node,
                      "output '%s'%s of stage '%s' is %s; it would be overwritten", o->path, item_note, o->st->name,
                      what);
        errors++;
      } else if (i > 0 && !strcmp(out.v[i - 1].key, o->key)) {
        const named_file *first = &out.v[i - 1];
        cf_yaml_error(ctx, CF_EINVAL, p->doc.source, o->node,
                      "output '%s'%s of stage '%s' is also written by stage '%s' (%s:%d); one would silently replace the other",
                      o->path, item_note, o->st->name, first->st->name, p->doc.source, first->node->line);
        errors++;
      } else if (!cf_get_overwrite(ctx) && o->key[0] == '#') {
        cf_yaml_error(ctx, CF_EINVAL, p->doc.source, o->node,
                      "output '%s'%s exists and --no-overwrite was given", o->path, item_note);
        errors++;
      }
    }
  }
  list_free(&in);
  list_free(&out);
  return rc ? rc : errors ? CF_EINVAL : CF_OK;
}

static int cmp_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int build(cf_ctx *ctx, cf_pipeline *p, const char *const *sets, int nsets) {
  const char *src = p->doc.source;
  cf_yaml_node *root = p->doc.root;
  if (!root || root->kind != CF_YAML_MAPPING)
    return cf_yaml_error(ctx, CF_EINVAL, src, root, "a pipeline file is a mapping with a 'pipeline' list");
  for (size_t k = 0; k < root->n; k++) {
    const char *key = cf_yaml_map_key(root, k)->value;
    if (strcmp(key, "pipeline") && strcmp(key, "description") && strcmp(key, "version"))
      return cf_yaml_error(ctx, CF_EINVAL, src, cf_yaml_map_key(root, k),
                           "unknown top-level key '%s' (expected pipeline, description, version)", key);
  }
  cf_yaml_node *version = cf_yaml_map_get(root, "version");
  if (version && (version->kind != CF_YAML_SCALAR || strcmp(version->value, "1") != 0))
    return cf_yaml_error(ctx, CF_EINVAL, src, version, "unsupported pipeline version (this software reads version 1)");
  cf_yaml_node *list = cf_yaml_map_get(root, "pipeline");
  if (!list || list->kind != CF_YAML_SEQUENCE || list->n == 0)
    return cf_yaml_error(ctx, CF_EINVAL, src, list ? list : root, "'pipeline' must be a non-empty list of stages");
  for (size_t i = 0; i < list->n; i++)
    if (list->items[i]->kind != CF_YAML_MAPPING)
      return cf_yaml_error(ctx, CF_EINVAL, src, list->items[i], "each stage must be a mapping with a 'type'");

  int errors = 0;
  for (int i = 0; i < nsets; i++)
    if (cf_pipeline_apply_override(ctx, p, list, sets[i])) errors++;
  if (errors) return CF_EINVAL;

  p->stages = calloc(list->n, sizeof *p->stages);
  if (!p->stages) return cf_error(ctx, CF_ENOMEM, src, "", "out of memory");
  p->batch_stage = -1;
  for (size_t i = 0; i < list->n; i++) {
    /* a signal stops validation between stages (each is cheap on its own) */
    if (cf_check_cancel(ctx, src, "validating")) return CF_ECANCEL;
    cf_stage *st = &p->stages[p->nstages];
    cf_yaml_node *node = list->items[i];
    cf_yaml_node *type = cf_yaml_map_get(node, "type");
    if (!type || type->kind != CF_YAML_SCALAR) {
      cf_yaml_error(ctx, CF_EINVAL, src, node, "stage %zu has no 'type'", i + 1);
      errors++;
      continue;
    }
    const cf_stage_def *def = cf_stage_find(type->value);
    if (!def) {
      const char *s = cf_stage_suggest(type->value);
      cf_yaml_error(ctx, CF_EINVAL, src, type, "unknown stage type '%s'%s%s%s (see 'carbonflux stages')",
                    type->value, s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
      errors++;
      continue;
    }
    st->def = def;
    st->node = node;
    st->index = p->nstages;
    st->source = src;
    st->base_dir = p->base_dir;
    cf_yaml_node *name = cf_yaml_map_get(node, "name");
    char buf[300];
    if (name && (name->kind != CF_YAML_SCALAR || !name->value[0] || strchr(name->value, '.'))) {
      cf_yaml_error(ctx, CF_EINVAL, src, name, "'name' must be a word without dots");
      errors++;
    }
    cf_pipeline_stage_name(list, i, buf, sizeof buf);
    if (find_stage(p, p->nstages, buf) >= 0) {
      cf_yaml_error(ctx, CF_EINVAL, src, name ? name : node, "stage name '%s' is used twice", buf);
      errors++;
    }
    st->name = strdup(buf);
    p->nstages++;
    if (!st->name) return cf_error(ctx, CF_ENOMEM, src, "", "out of memory");
    errors += validate_stage(ctx, p, st);
  }
  if (errors) return CF_EINVAL;

  /* the batch stage: at most one stage may take several files */
  int single = 0; /* items hold one plainly named input, not a batch */
  for (int i = 0; i < p->nstages; i++) {
    cf_stage *st = &p->stages[i];
    for (int k = 0; st->def->options[k].name; k++) {
      const cf_option_spec *o = &st->def->options[k];
      const cf_yaml_node *v = st->values[k];
      if (o->type != CF_OPT_INPUT_PATHS || !v) continue;
      /* a single plain file name is an ordinary input, not a batch; the
       * first one still names the item, so {stem} means its stem */
      if (v->kind == CF_YAML_SCALAR && !strpbrk(v->value, "*?[")) {
        if (p->batch_stage < 0 && p->nitems == 0) {
          int rc = cf_expand_paths(ctx, st, v, &p->items, &p->nitems);
          if (rc) return rc;
          p->batch_stage = i;
          p->batch_option = o->name;
          single = 1;
        }
        continue;
      }
      if (p->batch_stage >= 0 && !single)
        return cf_yaml_error(ctx, CF_EINVAL, src, st->values[k],
                             "only one stage may take several input files (stage '%s' already does)",
                             p->stages[p->batch_stage].name);
      if (single) { /* a batch after a single named input: the batch names the items */
        for (int m = 0; m < p->nitems; m++) free(p->items[m]);
        free(p->items);
        p->items = NULL;
        p->nitems = 0;
        single = 0;
      }
      p->batch_stage = i;
      p->batch_option = o->name;
      int rc = cf_expand_paths(ctx, st, st->values[k], &p->items, &p->nitems);
      if (rc) return rc;
    }
  }
  /* Items in byte order, each once: an item's index is then the same in
   * every rerun and on every rank (the catalogue and MPI rely on it). */
  if (p->nitems > 1) {
    qsort(p->items, (size_t)p->nitems, sizeof *p->items, cmp_path);
    int n = 1;
    for (int i = 1; i < p->nitems; i++) {
      if (strcmp(p->items[i], p->items[n - 1]) == 0)
        free(p->items[i]);
      else
        p->items[n++] = p->items[i];
    }
    p->nitems = n;
  }
  if (p->nitems > 1) {
    for (int i = 0; i < p->nstages; i++) {
      cf_stage *st = &p->stages[i];
      for (int k = 0; st->def->options[k].name; k++) {
        const cf_yaml_node *v = st->values[k];
        if (st->def->options[k].type == CF_OPT_OUTPUT_PATH && v && !cf_yaml_is_null(v) &&
            !strstr(v->value, "{stem}"))
          return cf_yaml_error(ctx, CF_EINVAL, src, v,
                               "%d input files would all write '%s'; put {stem} in the output path",
                               p->nitems, v->value);
      }
    }
  }
  if (cf_check_cancel(ctx, src, "validating")) return CF_ECANCEL;
  int orc = check_outputs(ctx, p);
  int band_errors = cf_preflight_bands(ctx, p); /* reported with the outputs' problems */
  band_errors += cf_preflight_overlap(ctx, p);
  if (orc) return orc;
  if (band_errors) return CF_EINVAL;
  p->settings_json = settings_json(ctx, p, 0);
  return p->settings_json ? CF_OK : cf_error_code(ctx);
}

int cf_pipeline_items(const cf_pipeline *p, const char *const **items) {
  *items = p->nitems > 0 ? (const char *const *)p->items : NULL;
  return p->nitems;
}

const char *cf_pipeline_settings(const cf_pipeline *p) { return p->settings_json; }

char *cf_pipeline_settings_without_items(cf_ctx *ctx, const cf_pipeline *p) { return settings_json(ctx, p, 1); }

static int load_common(cf_ctx *ctx, cf_pipeline *p, const char *const *sets, int nsets, cf_pipeline **out) {
  int rc = build(ctx, p, sets, nsets);
  if (rc) {
    cf_pipeline_free(p);
    return rc;
  }
  *out = p;
  return CF_OK;
}

int cf_pipeline_load(cf_ctx *ctx, const char *path, const char *const *sets, int nsets, cf_pipeline **out) {
  *out = NULL;
  cf_pipeline *p = calloc(1, sizeof *p);
  if (!p) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  int rc = cf_yaml_load_file(ctx, path, &p->doc);
  if (rc) {
    free(p);
    return rc == CF_ENOENT ? CF_EINVAL : rc;
  }
  p->base_dir = cf_path_dirname(path);
  p->from_file = 1;
  if (!p->base_dir) {
    cf_pipeline_free(p);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  return load_common(ctx, p, sets, nsets, out);
}

int cf_pipeline_load_string(cf_ctx *ctx, const char *source_name, const char *text, const char *base_dir,
                            const char *const *sets, int nsets, cf_pipeline **out) {
  *out = NULL;
  cf_pipeline *p = calloc(1, sizeof *p);
  if (!p) return cf_error(ctx, CF_ENOMEM, source_name, "", "out of memory");
  int rc = cf_yaml_load_string(ctx, source_name, text, &p->doc);
  if (rc) {
    free(p);
    return rc;
  }
  p->base_dir = strdup(base_dir ? base_dir : ".");
  if (!p->base_dir) {
    cf_pipeline_free(p);
    return cf_error(ctx, CF_ENOMEM, source_name, "", "out of memory");
  }
  return load_common(ctx, p, sets, nsets, out);
}
