/*
 * Option values of a stage: validation against the option table, and the
 * accessors run functions use afterwards.
 *
 * Validation reports every problem it finds (not just the first) at the
 * line and column of the offending node, so a user fixes a file in one pass.
 */
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/preflight.h"

const cf_option_spec *cf_stage_option(const cf_stage *st, const char *name, int *index) {
  for (int i = 0; st->def->options[i].name; i++) {
    if (strcmp(st->def->options[i].name, name) == 0) {
      if (index) *index = i;
      return &st->def->options[i];
    }
  }
  return NULL;
}

const cf_yaml_node *cf_stage_value(const cf_stage *st, const char *name) {
  int i;
  if (!cf_stage_option(st, name, &i)) return NULL;
  return st->values[i];
}

int cf_stage_has(const cf_stage *st, const char *name) {
  const cf_yaml_node *n = cf_stage_value(st, name);
  return n && !cf_yaml_is_null(n);
}

const char *cf_stage_str(const cf_stage *st, const char *name) {
  const cf_yaml_node *n = cf_stage_value(st, name);
  return n && n->kind == CF_YAML_SCALAR && !cf_yaml_is_null(n) ? n->value : NULL;
}

double cf_stage_double(const cf_stage *st, const char *name) {
  double v = NAN;
  const cf_yaml_node *n = cf_stage_value(st, name);
  if (n && n->kind == CF_YAML_SEQUENCE && n->n > 0) n = n->items[0];
  if (n) cf_yaml_as_double(n, &v);
  return v;
}

long long cf_stage_int(const cf_stage *st, const char *name) {
  long long v = 0;
  const cf_yaml_node *n = cf_stage_value(st, name);
  if (n) cf_yaml_as_int(n, &v);
  return v;
}

int cf_stage_bool(const cf_stage *st, const char *name) {
  int v = 0;
  const cf_yaml_node *n = cf_stage_value(st, name);
  if (n) cf_yaml_as_bool(n, &v);
  return v;
}

int cf_stage_list_len(const cf_stage *st, const char *name) {
  const cf_yaml_node *n = cf_stage_value(st, name);
  if (!n || cf_yaml_is_null(n)) return 0;
  return n->kind == CF_YAML_SEQUENCE ? (int)n->n : 1;
}

static const cf_yaml_node *list_item(const cf_stage *st, const char *name, int i) {
  const cf_yaml_node *n = cf_stage_value(st, name);
  if (!n) return NULL;
  if (n->kind != CF_YAML_SEQUENCE) return i == 0 ? n : NULL;
  return i >= 0 && (size_t)i < n->n ? n->items[i] : NULL;
}

double cf_stage_list_double(const cf_stage *st, const char *name, int i) {
  double v = NAN;
  const cf_yaml_node *n = list_item(st, name, i);
  if (n) cf_yaml_as_double(n, &v);
  return v;
}

const char *cf_stage_list_str(const cf_stage *st, const char *name, int i) {
  const cf_yaml_node *n = list_item(st, name, i);
  return n && n->kind == CF_YAML_SCALAR ? n->value : NULL;
}

/* --- validation ------------------------------------------------------------- */

static const char *type_name(cf_opt_type t) {
  switch (t) {
    case CF_OPT_STRING: return "string";
    case CF_OPT_INT: return "integer";
    case CF_OPT_DOUBLE: return "number";
    case CF_OPT_BOOL: return "boolean";
    case CF_OPT_ENUM: return "choice";
    case CF_OPT_INPUT_PATH: return "input file";
    case CF_OPT_INPUT_PATHS: return "input files";
    case CF_OPT_INPUT_FILESET: return "file set";
    case CF_OPT_OUTPUT_PATH: return "output file";
    case CF_OPT_DOUBLE_LIST: return "list of numbers";
    case CF_OPT_STRING_LIST: return "list of strings";
    case CF_OPT_STAGE_REF: return "stage name";
    case CF_OPT_CRS: return "CRS";
  }
  return "?";
}

const char *cf_opt_type_name(cf_opt_type t) { return type_name(t); }

static int check_number(cf_ctx *ctx, const cf_stage *st, const cf_option_spec *o,
                        const cf_yaml_node *n, int integer) {
  double v;
  long long iv;
  if (integer ? cf_yaml_as_int(n, &iv) : cf_yaml_as_double(n, &v))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be %s, got '%s'",
                         o->name, st->def->type, integer ? "an integer" : "a number",
                         n->kind == CF_YAML_SCALAR ? n->value : "a list or mapping");
  if (integer) v = (double)iv;
  if ((o->has_min && v < o->min) || (o->has_max && v > o->max)) {
    char range[96];
    if (o->has_min && o->has_max)
      snprintf(range, sizeof range, "between %g and %g", o->min, o->max);
    else if (o->has_min)
      snprintf(range, sizeof range, "at least %g", o->min);
    else
      snprintf(range, sizeof range, "at most %g", o->max);
    return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be %s, got %s",
                         o->name, st->def->type, range, n->value);
  }
  return CF_OK;
}

static int has_glob_chars(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Append `path` (taken: freed on failure) to items. */
/* A GDAL name (/vsizip/..., HDF5:"f.h5"://d) is asked of GDAL, a network
 * name (/vsicurl/...) is not checked before the run (opening it fails with
 * GDAL's reason then), a plain path is asked of the file system. */
static int input_missing(const char *full) {
  return cf_gdal_is_name(full) ? !cf_gdal_name_exists(full) : !cf_file_exists(full);
}

/* Is `full` an output of a stage before `st`? A stage may read what an
 * earlier one wrote, so that file need not exist at validation. Only
 * literal output paths count ({stem} names one per batch item). The
 * stages of a pipeline are one array in pipeline order, so the first is
 * st - st->index. */
static int written_before(const cf_stage *st, const char *full) {
  const cf_stage *first = st - st->index;
  for (int i = 0; i < st->index; i++) {
    const cf_stage *w = &first[i];
    for (int k = 0; w->def->options[k].name; k++) {
      const cf_yaml_node *v = w->values[k];
      if (w->def->options[k].type != CF_OPT_OUTPUT_PATH || !v || v->kind != CF_YAML_SCALAR || cf_yaml_is_null(v) ||
          strstr(v->value, "{stem}"))
        continue;
      char *out = cf_path_join(cf_stage_base_dir(w, v), v->value);
      int same = out && cf_path_same(out, full);
      free(out);
      if (same) return 1;
    }
  }
  return 0;
}

static int push_item(cf_ctx *ctx, const cf_stage *st, char *path, char ***items, int *nitems) {
  char **ni = path ? realloc(*items, (size_t)(*nitems + 1) * sizeof *ni) : NULL;
  if (!ni) {
    free(path);
    return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory listing input files");
  }
  *items = ni;
  (*items)[(*nitems)++] = path;
  return CF_OK;
}

/* Expand an input-paths option into `items` (absolute or base-relative
 * paths). Each pattern must match at least one file. */
int cf_expand_paths(cf_ctx *ctx, const cf_stage *st, const cf_yaml_node *n, char ***items,
                    int *nitems) {
  int rc = CF_OK;
  size_t count = n->kind == CF_YAML_SEQUENCE ? n->n : 1;
  for (size_t k = 0; k < count; k++) {
    const cf_yaml_node *it = n->kind == CF_YAML_SEQUENCE ? n->items[k] : n;
    if (it->kind != CF_YAML_SCALAR || !it->value[0]) {
      rc = cf_yaml_error(ctx, CF_EINVAL, st->source, it, "expected a file name or pattern");
      continue;
    }
    char *full = cf_gdal_name_resolve(cf_stage_base_dir(st, it), it->value);
    if (!full) return cf_error(ctx, CF_ENOMEM, st->source, "", "out of memory");
    if (!cf_gdal_is_name(it->value) && has_glob_chars(it->value)) {
      glob_t g;
      int grc = glob(full, 0, NULL, &g);
      if (grc != 0 || g.gl_pathc == 0) {
        rc = cf_yaml_error(ctx, CF_EINVAL, st->source, it, "no file matches '%s'", full);
      } else {
        for (size_t m = 0; m < g.gl_pathc; m++) {
          int prc = push_item(ctx, st, strdup(g.gl_pathv[m]), items, nitems);
          if (prc) { /* a batch silently missing files would look complete */
            globfree(&g);
            free(full);
            return prc;
          }
        }
      }
      globfree(&g);
      free(full);
    } else {
      if (input_missing(full) && !written_before(st, full))
        rc = cf_yaml_error(ctx, CF_EINVAL, st->source, it, "input file '%s' does not exist", full);
      int prc = push_item(ctx, st, full, items, nitems);
      if (prc) return prc;
    }
  }
  return rc;
}

/* --- options that are rows of a settings table ------------------------------ */

static const cf_kv_opt *setting_row(const cf_option_spec *o) {
  return o->settings ? cf_kv_find(o->settings, o->name) : NULL;
}

/* A YAML value as the number the row's check and store take: numbers as
 * they are, booleans 0 or 1, a choice its index. -1 if it is none of these.
 * Validation and cf_stage_apply_settings both read values through here, so
 * what was checked is what is stored. */
static int setting_number(const cf_kv_opt *row, const cf_yaml_node *n, double *v) {
  if (n->kind != CF_YAML_SCALAR) return -1;
  if (row->type == CF_KV_BOOL) {
    int b;
    if (cf_yaml_as_bool(n, &b)) return -1;
    *v = b;
    return 0;
  }
  if (row->type == CF_KV_ENUM) {
    for (int c = 0; row->choices[c]; c++)
      if (!strcasecmp(n->value, row->choices[c])) return *v = c, 0;
    return -1;
  }
  return cf_yaml_as_double(n, v) ? -1 : 0;
}

/* Rows whose values are text (a name, a list of choices, a choice or a
 * number) are checked and stored through their KEY=VALUE form, so the
 * pipeline and the command line accept exactly the same values. */
static int text_row(const cf_kv_opt *row) {
  return row->type == CF_KV_TEXT || row->type == CF_KV_FLAGS || row->type == CF_KV_NUM_OR_ENUM;
}

/* "KEY=VALUE" for a text row: a scalar as it is, a list of scalars (for
 * CF_KV_FLAGS) joined by commas. NULL if the node is neither. */
static char *setting_kv_text(const cf_kv_opt *row, const cf_yaml_node *n) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%s=", row->key);
  if (n->kind == CF_YAML_SCALAR) {
    cf_strbuf_puts(&sb, n->value);
  } else if (n->kind == CF_YAML_SEQUENCE && row->type == CF_KV_FLAGS) {
    for (size_t i = 0; i < n->n; i++) {
      if (n->items[i]->kind != CF_YAML_SCALAR) {
        cf_strbuf_free(&sb);
        return NULL;
      }
      cf_strbuf_printf(&sb, "%s%s", i ? "," : "", n->items[i]->value);
    }
  } else {
    cf_strbuf_free(&sb);
    return NULL;
  }
  return cf_strbuf_take(&sb);
}

static int check_text_setting(cf_ctx *ctx, const cf_stage *st, const cf_option_spec *o, const cf_kv_opt *row,
                              const cf_yaml_node *n) {
  char *kv = setting_kv_text(row, n);
  if (!kv)
    return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be %s", o->name, st->def->type,
                         row->type == CF_KV_FLAGS ? "a list of names" : "a single value");
  const cf_kv_table *t = o->settings;
  void *scratch = calloc(1, t->size);
  cf_ctx *tmp = cf_ctx_create();
  int rc = scratch && tmp ? CF_OK : cf_error(ctx, CF_ENOMEM, st->source, o->name, "out of memory");
  if (!rc) {
    t->defaults(scratch);
    if (cf_kv_set(tmp, t->opts, t->n, scratch, kv, st->def->type, NULL) != CF_OK)
      rc = cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s: %s", o->name, st->def->type,
                         cf_error_count(tmp) ? cf_error_get(tmp, 0)->reason : "invalid");
  }
  if (tmp) cf_ctx_destroy(tmp);
  free(scratch);
  free(kv);
  return rc;
}

static int check_setting(cf_ctx *ctx, const cf_stage *st, const cf_option_spec *o, const cf_yaml_node *n) {
  const cf_kv_opt *row = setting_row(o);
  if (!row)
    return cf_yaml_error(ctx, CF_EINTERNAL, st->source, n, "option '%s' of %s is not in its settings table (%s)",
                         o->name, st->def->type, o->settings->where);
  if (text_row(row)) return check_text_setting(ctx, st, o, row, n);
  char range[256], what[300], why[320];
  double v;
  cf_kv_range_text(row, range, sizeof range);
  if (setting_number(row, n, &v)) {
    snprintf(what, sizeof what, "%s %s",
             row->type == CF_KV_INT ? "an integer in" : row->type == CF_KV_DOUBLE ? "a number in" : "one of", range);
    return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be %s, got '%s'", o->name,
                         st->def->type, what, n->kind == CF_YAML_SCALAR ? n->value : "a list or mapping");
  }
  if (cf_kv_check(row, v, why, sizeof why))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s: %s", o->name, st->def->type, why);
  return CF_OK;
}

int cf_stage_apply_settings(cf_ctx *ctx, const cf_stage *st, const cf_kv_table *t, void *base) {
  for (int k = 0; st->def->options[k].name; k++) {
    const cf_option_spec *o = &st->def->options[k];
    const cf_yaml_node *n = st->values[k];
    if (o->settings != t || !n || cf_yaml_is_null(n)) continue;
    const cf_kv_opt *row = setting_row(o);
    if (row && text_row(row)) {
      char *kv = setting_kv_text(row, n);
      int rc = kv ? cf_kv_set(ctx, t->opts, t->n, base, kv, st->name, NULL)
                  : cf_error(ctx, CF_EINTERNAL, st->source, o->name, "option of stage '%s' was not validated", st->name);
      free(kv);
      if (rc) return rc;
      continue;
    }
    double v;
    if (!row || setting_number(row, n, &v)) /* validation let it through: a bug, not a user error */
      return cf_error(ctx, CF_EINTERNAL, st->source, o->name, "option of stage '%s' was not validated", st->name);
    int rc = cf_kv_put(ctx, row, base, v, st->name);
    if (rc) return rc;
  }
  return CF_OK;
}

/* --- validation of one value --------------------------------------------------- */

int cf_option_check(cf_ctx *ctx, const cf_stage *st, const cf_option_spec *o,
                    const cf_yaml_node *n) {
  int rc = CF_OK;
  if (o->settings) return check_setting(ctx, st, o, n);
  switch (o->type) {
    case CF_OPT_INT:
    case CF_OPT_DOUBLE:
      if (n->kind != CF_YAML_SCALAR)
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be a %s",
                             o->name, st->def->type, type_name(o->type));
      return check_number(ctx, st, o, n, o->type == CF_OPT_INT);
    case CF_OPT_BOOL: {
      int b;
      if (cf_yaml_as_bool(n, &b))
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n,
                             "option '%s' of %s must be true or false", o->name, st->def->type);
      return CF_OK;
    }
    case CF_OPT_ENUM: {
      if (n->kind == CF_YAML_SCALAR)
        for (int i = 0; o->choices[i]; i++)
          if (strcasecmp(n->value, o->choices[i]) == 0) return CF_OK;
      char list[512] = "";
      for (int i = 0; o->choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, o->choices[i], sizeof list - strlen(list) - 1);
      }
      return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be one of: %s",
                           o->name, st->def->type, list);
    }
    case CF_OPT_DOUBLE_LIST:
    case CF_OPT_STRING_LIST: {
      size_t cnt = n->kind == CF_YAML_SEQUENCE ? n->n : 1;
      if (n->kind == CF_YAML_MAPPING)
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be a %s",
                             o->name, st->def->type, type_name(o->type));
      if ((o->list_min && (int)cnt < o->list_min) || (o->list_max && (int)cnt > o->list_max)) {
        if (o->list_min == o->list_max)
          return cf_yaml_error(ctx, CF_EINVAL, st->source, n,
                               "option '%s' of %s needs exactly %d values, got %zu", o->name,
                               st->def->type, o->list_min, cnt);
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n,
                             "option '%s' of %s needs %d to %d values, got %zu", o->name,
                             st->def->type, o->list_min, o->list_max, cnt);
      }
      for (size_t k = 0; k < cnt; k++) {
        const cf_yaml_node *it = n->kind == CF_YAML_SEQUENCE ? n->items[k] : n;
        if (it->kind != CF_YAML_SCALAR) {
          rc = cf_yaml_error(ctx, CF_EINVAL, st->source, it, "list items must be plain values");
        } else if (o->type == CF_OPT_DOUBLE_LIST && check_number(ctx, st, o, it, 0)) {
          rc = CF_EINVAL;
        }
      }
      return rc;
    }
    case CF_OPT_CRS: {
      if (n->kind != CF_YAML_SCALAR)
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' must be a CRS string", o->name);
      cf_ctx *tmp = cf_ctx_create(); /* PROJ's complaint is replaced by ours, with the position */
      if (!tmp) return cf_error(ctx, CF_ENOMEM, st->source, o->name, "out of memory");
      void *srs = cf_srs_from_user(tmp, n->value, "", "");
      cf_ctx_destroy(tmp);
      if (!srs)
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n,
                             "option '%s' of %s: '%s' is not a CRS PROJ understands (use EPSG:n, "
                             "WKT or a PROJ string)", o->name, st->def->type, n->value);
      cf_srs_free(srs);
      return CF_OK;
    }
    case CF_OPT_INPUT_PATH:
      if (n->kind != CF_YAML_SCALAR || !n->value[0])
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be a file name",
                             o->name, st->def->type);
      {
        char *full = cf_gdal_name_resolve(cf_stage_base_dir(st, n), n->value);
        if (!full) return cf_error(ctx, CF_ENOMEM, st->source, o->name, "out of memory");
        char why[1200];
        if (input_missing(full) && !written_before(st, full))
          rc = cf_yaml_error(ctx, CF_EINVAL, st->source, n, "input file '%s' does not exist", full);
        else if (o->read_by_hdf5 && cf_preflight_hdf5_input(full, !written_before(st, full), why, sizeof why))
          rc = cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s: %s", o->name, st->def->type, why);
        free(full);
      }
      return rc;
    case CF_OPT_INPUT_FILESET:
    case CF_OPT_INPUT_PATHS: {
      char **items = NULL;
      int nitems = 0;
      rc = cf_expand_paths(ctx, st, n, &items, &nitems);
      for (int i = 0; i < nitems; i++) free(items[i]);
      free(items);
      return rc;
    }
    default:
      if (n->kind != CF_YAML_SCALAR || !n->value[0])
        return cf_yaml_error(ctx, CF_EINVAL, st->source, n, "option '%s' of %s must be a %s",
                             o->name, st->def->type, type_name(o->type));
      return CF_OK;
  }
}

int cf_stage_paths(cf_ctx *ctx, const cf_stage *st, const char *name, char ***paths, int *n) {
  *paths = NULL;
  *n = 0;
  const cf_yaml_node *v = cf_stage_value(st, name);
  if (!v) return CF_OK;
  return cf_expand_paths(ctx, st, v, paths, n);
}

void cf_stage_paths_free(char **paths, int n) {
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths);
}

/* A value given on the command line (an override's origin starts with "--":
 * "--set STAGE.KEY", "--inputs (...)", pipelines/overrides.c) names paths
 * from the working directory, as every command-line path does; a value in
 * the file, from the file's directory. */
const char *cf_stage_base_dir(const cf_stage *st, const cf_yaml_node *n) {
  return n && n->origin && strncmp(n->origin, "--", 2) == 0 ? "." : st->base_dir;
}
