/*
 * YAML loading with positions; see yaml.h.
 *
 * Anchors and aliases are resolved by libyaml's document loader, so an alias
 * is a copy of its anchor (with the anchor's position). Duplicate keys in a
 * mapping are rejected: silently keeping the last one hides typos.
 */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static cf_yaml_node *new_node(cf_yaml_kind kind, const yaml_mark_t *m) {
  cf_yaml_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->line = (int)m->line + 1;
  n->col = (int)m->column + 1;
  return n;
}

void cf_yaml_node_free(cf_yaml_node *n) {
  if (!n) return;
  for (size_t i = 0; i < (n->kind == CF_YAML_MAPPING ? 2 * n->n : n->n); i++)
    cf_yaml_node_free(n->items[i]);
  free(n->items);
  free(n->value);
  free(n);
}

static size_t slots(const cf_yaml_node *n) { return n->kind == CF_YAML_MAPPING ? 2 * n->n : n->n; }

cf_yaml_node *cf_yaml_node_clone(const cf_yaml_node *src) {
  if (!src) return NULL;
  cf_yaml_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  *n = *src;
  n->value = NULL;
  n->items = NULL;
  if (src->value && !(n->value = strdup(src->value))) goto fail;
  if (slots(src)) {
    n->items = calloc(slots(src), sizeof *n->items);
    if (!n->items) goto fail;
    for (size_t i = 0; i < slots(src); i++)
      if (!(n->items[i] = cf_yaml_node_clone(src->items[i]))) goto fail;
  }
  return n;
fail:
  n->n = n->items ? src->n : 0;
  cf_yaml_node_free(n);
  return NULL;
}

/* Convert libyaml node `id` of `doc` into our tree. depth guards against
 * alias bombs ("billion laughs"): a config never nests this deep. */
static cf_yaml_node *convert(cf_ctx *ctx, const char *src, yaml_document_t *doc, int id, int depth) {
  yaml_node_t *y = yaml_document_get_node(doc, id);
  if (!y) return NULL;
  if (depth > 64) {
    cf_error(ctx, CF_EINVAL, src, "", "nesting deeper than 64 levels");
    return NULL;
  }
  cf_yaml_node *n = NULL;
  switch (y->type) {
    case YAML_SCALAR_NODE:
      n = new_node(CF_YAML_SCALAR, &y->start_mark);
      if (!n) return NULL;
      n->value = malloc(y->data.scalar.length + 1);
      if (!n->value) break;
      memcpy(n->value, y->data.scalar.value, y->data.scalar.length);
      n->value[y->data.scalar.length] = '\0';
      n->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      return n;
    case YAML_SEQUENCE_NODE: {
      n = new_node(CF_YAML_SEQUENCE, &y->start_mark);
      if (!n) return NULL;
      size_t cnt = (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
      n->items = calloc(cnt ? cnt : 1, sizeof *n->items);
      if (!n->items) break;
      for (size_t i = 0; i < cnt; i++) {
        n->items[i] = convert(ctx, src, doc, y->data.sequence.items.start[i], depth + 1);
        n->n = i + 1;
        if (!n->items[i]) goto fail;
      }
      return n;
    }
    case YAML_MAPPING_NODE: {
      n = new_node(CF_YAML_MAPPING, &y->start_mark);
      if (!n) return NULL;
      size_t cnt = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
      n->items = calloc(cnt ? 2 * cnt : 1, sizeof *n->items);
      if (!n->items) break;
      for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &y->data.mapping.pairs.start[i];
        n->n = i + 1;
        n->items[2 * i] = convert(ctx, src, doc, p->key, depth + 1);
        n->items[2 * i + 1] = convert(ctx, src, doc, p->value, depth + 1);
        if (!n->items[2 * i] || !n->items[2 * i + 1]) goto fail;
        cf_yaml_node *k = n->items[2 * i];
        if (k->kind != CF_YAML_SCALAR) {
          cf_yaml_error(ctx, CF_EINVAL, src, k, "mapping keys must be plain words");
          goto fail;
        }
        for (size_t j = 0; j < i; j++) {
          if (strcmp(n->items[2 * j]->value, k->value) == 0) {
            cf_yaml_error(ctx, CF_EINVAL, src, k, "key '%s' given twice (first at line %d)",
                          k->value, n->items[2 * j]->line);
            goto fail;
          }
        }
      }
      return n;
    }
    default:
      return NULL;
  }
  cf_error(ctx, CF_ENOMEM, src, "", "out of memory loading YAML");
fail:
  cf_yaml_node_free(n);
  return NULL;
}

static int load(cf_ctx *ctx, const char *src, yaml_parser_t *parser, cf_yaml_doc *out) {
  yaml_document_t doc;
  if (!yaml_parser_load(parser, &doc)) {
    char where[600];
    snprintf(where, sizeof where, "%s:%zu:%zu", src, parser->problem_mark.line + 1,
             parser->problem_mark.column + 1);
    int rc = cf_error(ctx, CF_EINVAL, where, "", "YAML syntax error: %s%s%s",
                      parser->problem ? parser->problem : "unknown problem",
                      parser->context ? " " : "", parser->context ? parser->context : "");
    return rc;
  }
  int rc = CF_OK;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  out->root = NULL;
  if (root) {
    out->root = convert(ctx, src, &doc, 1, 0);
    if (!out->root) rc = cf_error_code(ctx) ? cf_error_code(ctx) : CF_EINVAL;
  }
  yaml_document_delete(&doc);
  return rc;
}

int cf_yaml_load_string(cf_ctx *ctx, const char *source_name, const char *text, cf_yaml_doc *doc) {
  memset(doc, 0, sizeof *doc);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return cf_error(ctx, CF_ENOMEM, source_name, "", "out of memory");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  doc->source = strdup(source_name ? source_name : "<string>");
  int rc = doc->source ? load(ctx, doc->source, &parser, doc) : CF_ENOMEM;
  yaml_parser_delete(&parser);
  if (rc) cf_yaml_free(doc);
  return rc;
}

int cf_yaml_load_file(cf_ctx *ctx, const char *path, cf_yaml_doc *doc) {
  memset(doc, 0, sizeof *doc);
  FILE *f = fopen(path, "rb");
  if (!f)
    return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot open: %s",
                    strerror(errno));
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    fclose(f);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  yaml_parser_set_input_file(&parser, f);
  doc->source = strdup(path);
  int rc = doc->source ? load(ctx, doc->source, &parser, doc) : CF_ENOMEM;
  yaml_parser_delete(&parser);
  fclose(f);
  if (rc) cf_yaml_free(doc);
  return rc;
}

void cf_yaml_free(cf_yaml_doc *doc) {
  if (!doc) return;
  cf_yaml_node_free(doc->root);
  free(doc->source);
  memset(doc, 0, sizeof *doc);
}

int cf_yaml_error(cf_ctx *ctx, int code, const char *source, const cf_yaml_node *n,
                  const char *fmt, ...) {
  char where[600];
  if (n)
    snprintf(where, sizeof where, "%s:%d:%d", n->origin ? n->origin : source ? source : "", n->line, n->col);
  else
    snprintf(where, sizeof where, "%s", source ? source : "");
  va_list ap;
  va_start(ap, fmt);
  int rc = cf_errorv(ctx, code, where, "", fmt, ap);
  va_end(ap);
  return rc;
}

void cf_yaml_set_origin(cf_yaml_node *n, const char *origin) {
  if (!n) return;
  n->origin = origin;
  for (size_t i = 0; i < slots(n); i++) cf_yaml_set_origin(n->items[i], origin);
}

cf_yaml_node *cf_yaml_map_get(const cf_yaml_node *map, const char *key) {
  if (!map || map->kind != CF_YAML_MAPPING) return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->items[2 * i]->value, key) == 0) return map->items[2 * i + 1];
  return NULL;
}

int cf_yaml_map_set(cf_yaml_node *map, const char *key, cf_yaml_node *value) {
  for (size_t i = 0; i < map->n; i++) {
    if (strcmp(map->items[2 * i]->value, key) == 0) {
      cf_yaml_node_free(map->items[2 * i + 1]);
      map->items[2 * i + 1] = value;
      return 0;
    }
  }
  cf_yaml_node **items = realloc(map->items, (2 * map->n + 2) * sizeof *items);
  if (!items) return -1;
  map->items = items;
  cf_yaml_node *k = calloc(1, sizeof *k);
  if (!k || !(k->value = strdup(key))) {
    free(k);
    return -1;
  }
  k->kind = CF_YAML_SCALAR;
  k->line = value->line;
  k->col = value->col;
  items[2 * map->n] = k;
  items[2 * map->n + 1] = value;
  map->n++;
  return 0;
}

int cf_yaml_is_null(const cf_yaml_node *n) {
  return n && n->kind == CF_YAML_SCALAR && !n->quoted &&
         (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcasecmp(n->value, "null") == 0);
}

int cf_yaml_as_double(const cf_yaml_node *n, double *out) {
  if (!n || n->kind != CF_YAML_SCALAR || n->quoted || !n->value[0]) return -1;
  char *end;
  errno = 0;
  double v = strtod(n->value, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cf_yaml_as_int(const cf_yaml_node *n, long long *out) {
  if (!n || n->kind != CF_YAML_SCALAR || n->quoted || !n->value[0]) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(n->value, &end, 10);
  if (*end || errno == ERANGE) return -1;
  *out = v;
  return 0;
}

int cf_yaml_as_bool(const cf_yaml_node *n, int *out) {
  if (!n || n->kind != CF_YAML_SCALAR || n->quoted) return -1;
  const char *t[] = {"true", "yes", "on"}, *f[] = {"false", "no", "off"};
  for (int i = 0; i < 3; i++) {
    if (strcasecmp(n->value, t[i]) == 0) return *out = 1, 0;
    if (strcasecmp(n->value, f[i]) == 0) return *out = 0, 0;
  }
  return -1;
}
