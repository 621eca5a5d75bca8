/*
 * YAML loading with positions; see yaml.h.
 *
 * The tree is built from libyaml's events. An alias is a copy of its anchor
 * (with the anchor's position). Duplicate keys in a mapping are rejected:
 * silently keeping the last one hides typos. Hostile files are refused in
 * time and memory bounded by the limits in yaml.h (size, depth, nodes,
 * aliases), each with the position where the limit was crossed.
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

/* --- the loader: libyaml events into our tree, within limits -------------------
 *
 * The tree is built from libyaml's event stream, not its document API, so
 * that every limit is enforced as the text is read: a file never holds more
 * than CF_YAML_MAX_NODES nodes (aliases count as the nodes they copy),
 * never nests deeper than CF_YAML_MAX_DEPTH, and the work is linear in the
 * file's size. */

typedef struct {
  char *name;
  cf_yaml_node *node; /* borrowed: a node of the tree */
  size_t count;       /* nodes in its subtree */
} anchor;

typedef struct {
  cf_yaml_node *node;
  size_t slots, cap; /* items filled / allocated */
  char *anchor;      /* the container's anchor, registered when it closes */
  size_t first_node; /* node count when it opened: its subtree's size */
} open_node;

typedef struct {
  cf_ctx *ctx;
  const char *src;
  size_t nodes, aliases;
  anchor *anchors;
  size_t nanchors, capanchors;
  open_node stack[CF_YAML_MAX_DEPTH + 1];
  int depth;
  cf_yaml_node *root;
} builder;

static int err_at(builder *b, int code, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int err_at(builder *b, int code, const yaml_mark_t *m, const char *fmt, ...) {
  char where[600];
  snprintf(where, sizeof where, "%s:%zu:%zu", b->src, m->line + 1, m->column + 1);
  va_list ap;
  va_start(ap, fmt);
  int rc = cf_errorv(b->ctx, code, where, "", fmt, ap);
  va_end(ap);
  return rc;
}

static int add_anchor(builder *b, char *name, cf_yaml_node *n, size_t count) {
  if (b->nanchors == b->capanchors) {
    size_t cap = b->capanchors ? 2 * b->capanchors : 8;
    anchor *a = realloc(b->anchors, cap * sizeof *a);
    if (!a) return -1;
    b->anchors = a;
    b->capanchors = cap;
  }
  /* a later anchor of the same name hides the earlier one (YAML 1.2) */
  b->anchors[b->nanchors++] = (anchor){name, n, count};
  return 0;
}

/* Put a finished node into the open container (or make it the root). */
static int attach(builder *b, cf_yaml_node *n) {
  if (b->depth == 0) {
    if (!b->root) b->root = n;
    else cf_yaml_node_free(n);
    return CF_OK;
  }
  open_node *o = &b->stack[b->depth - 1];
  if (o->node->kind == CF_YAML_MAPPING && o->slots % 2 == 0 && n->kind != CF_YAML_SCALAR) {
    int rc = cf_yaml_error(b->ctx, CF_EINVAL, b->src, n, "mapping keys must be plain words");
    cf_yaml_node_free(n);
    return rc;
  }
  if (o->slots == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 4;
    cf_yaml_node **items = realloc(o->node->items, cap * sizeof *items);
    if (!items) {
      cf_yaml_node_free(n);
      return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
    }
    o->node->items = items;
    o->cap = cap;
  }
  o->node->items[o->slots++] = n;
  o->node->n = o->node->kind == CF_YAML_MAPPING ? o->slots / 2 : o->slots;
  return CF_OK;
}

/* Count one more node at mark m. */
static int count_node(builder *b, size_t k, const yaml_mark_t *m) {
  if (b->nodes + k > CF_YAML_MAX_NODES)
    return err_at(b, CF_EINVAL, m, "more than %d YAML nodes (aliases count as the nodes they copy); "
                  "a pipeline file never needs that many", CF_YAML_MAX_NODES);
  b->nodes += k;
  return CF_OK;
}

static int key_cmp(const void *a, const void *b) {
  const cf_yaml_node *x = *(cf_yaml_node *const *)a, *y = *(cf_yaml_node *const *)b;
  int c = strcmp(x->value, y->value);
  if (c) return c;
  return x->line != y->line ? (x->line < y->line ? -1 : 1) : (x->col < y->col ? -1 : x->col > y->col);
}

/* Duplicate keys of a closed mapping, in O(n log n): the first repeat in
 * document order is reported, with the line of the key it repeats. */
static int check_duplicates(builder *b, const cf_yaml_node *map) {
  if (map->n < 2) return CF_OK;
  cf_yaml_node **k = malloc(map->n * sizeof *k);
  if (!k) return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
  for (size_t i = 0; i < map->n; i++) k[i] = map->items[2 * i];
  qsort(k, map->n, sizeof *k, key_cmp);
  const cf_yaml_node *dup = NULL, *first = NULL;
  for (size_t i = 1; i < map->n; i++) {
    if (strcmp(k[i]->value, k[i - 1]->value)) continue;
    size_t j = i - 1;
    while (j > 0 && !strcmp(k[j - 1]->value, k[i]->value)) j--;
    if (!dup || k[i]->line < dup->line || (k[i]->line == dup->line && k[i]->col < dup->col))
      dup = k[i], first = k[j];
  }
  int rc = CF_OK;
  if (dup)
    rc = cf_yaml_error(b->ctx, CF_EINVAL, b->src, dup, "key '%s' given twice (first at line %d)", dup->value,
                       first->line);
  free(k);
  return rc;
}

static char *take_anchor(yaml_char_t *a) { return a ? strdup((const char *)a) : NULL; }

/* One event. Returns CF_OK, an error, or 1 when the document is complete. */
static int on_event(builder *b, yaml_event_t *e) {
  const yaml_mark_t *m = &e->start_mark;
  switch (e->type) {
    case YAML_SCALAR_EVENT: {
      int rc = count_node(b, 1, m);
      if (rc) return rc;
      cf_yaml_node *n = new_node(CF_YAML_SCALAR, m);
      if (n) n->value = malloc(e->data.scalar.length + 1);
      if (!n || !n->value) {
        cf_yaml_node_free(n);
        return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
      }
      memcpy(n->value, e->data.scalar.value, e->data.scalar.length);
      n->value[e->data.scalar.length] = '\0';
      n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      if (e->data.scalar.anchor) {
        char *name = take_anchor(e->data.scalar.anchor);
        if (!name || add_anchor(b, name, n, 1)) {
          free(name);
          cf_yaml_node_free(n);
          return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
        }
      }
      return attach(b, n);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      if (b->depth >= CF_YAML_MAX_DEPTH)
        return err_at(b, CF_EINVAL, m, "nesting deeper than %d levels", CF_YAML_MAX_DEPTH);
      int rc = count_node(b, 1, m);
      if (rc) return rc;
      int seq = e->type == YAML_SEQUENCE_START_EVENT;
      cf_yaml_node *n = new_node(seq ? CF_YAML_SEQUENCE : CF_YAML_MAPPING, m);
      yaml_char_t *an = seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
      char *name = an ? take_anchor(an) : NULL;
      if (!n || (an && !name)) {
        free(n);
        free(name);
        return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
      }
      b->stack[b->depth++] = (open_node){n, 0, 0, name, b->nodes - 1};
      return CF_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      open_node o = b->stack[--b->depth];
      int rc = o.node->kind == CF_YAML_MAPPING ? check_duplicates(b, o.node) : CF_OK;
      if (!rc && o.anchor && add_anchor(b, o.anchor, o.node, b->nodes - o.first_node))
        rc = cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
      else if (!rc)
        o.anchor = NULL; /* owned by the anchor table now */
      free(o.anchor);
      if (rc) {
        cf_yaml_node_free(o.node);
        return rc;
      }
      return attach(b, o.node);
    }
    case YAML_ALIAS_EVENT: {
      const anchor *a = NULL;
      for (size_t i = b->nanchors; i-- > 0;)
        if (!strcmp(b->anchors[i].name, (const char *)e->data.alias.anchor)) {
          a = &b->anchors[i];
          break;
        }
      if (!a) return err_at(b, CF_EINVAL, m, "alias '*%s' names no finished anchor", e->data.alias.anchor);
      if (++b->aliases > CF_YAML_MAX_ALIASES)
        return err_at(b, CF_EINVAL, m, "more than %d aliases; a pipeline file never needs that many",
                      CF_YAML_MAX_ALIASES);
      int rc = count_node(b, a->count, m);
      if (rc) return rc;
      cf_yaml_node *n = cf_yaml_node_clone(a->node);
      if (!n) return cf_error(b->ctx, CF_ENOMEM, b->src, "", "out of memory loading YAML");
      return attach(b, n);
    }
    case YAML_DOCUMENT_END_EVENT:
      return 1; /* only the first document is read */
    default:
      return CF_OK;
  }
}

static int load(cf_ctx *ctx, const char *src, yaml_parser_t *parser, cf_yaml_doc *out) {
  builder b = {.ctx = ctx, .src = src};
  int rc = CF_OK;
  for (unsigned long nev = 0;; nev++) {
    /* a signal stops a large file within a batch of events, not at its end */
    if (nev % 4096 == 0 && (rc = cf_check_cancel(ctx, src, "loading"))) break;
    yaml_event_t e;
    if (!yaml_parser_parse(parser, &e)) {
      char where[600];
      snprintf(where, sizeof where, "%s:%zu:%zu", src, parser->problem_mark.line + 1,
               parser->problem_mark.column + 1);
      rc = cf_error(ctx, CF_EINVAL, where, "", "YAML syntax error: %s%s%s",
                    parser->problem ? parser->problem : "unknown problem", parser->context ? " " : "",
                    parser->context ? parser->context : "");
      break;
    }
    int done = e.type == YAML_STREAM_END_EVENT;
    rc = on_event(&b, &e);
    yaml_event_delete(&e);
    if (rc == 1) rc = CF_OK, done = 1;
    if (rc || done) break;
  }
  while (b.depth > 0) {
    open_node *o = &b.stack[--b.depth];
    if (o->node->kind == CF_YAML_MAPPING && o->slots % 2) cf_yaml_node_free(o->node->items[o->slots - 1]); /* a key still without its value */
    cf_yaml_node_free(o->node);
    free(o->anchor);
  }
  for (size_t i = 0; i < b.nanchors; i++) free(b.anchors[i].name);
  free(b.anchors);
  if (rc) {
    cf_yaml_node_free(b.root);
    return rc;
  }
  out->root = b.root;
  return CF_OK;
}

static int too_large(cf_ctx *ctx, const char *src, size_t bytes) {
  return cf_error(ctx, CF_EINVAL, src, "", "%zu bytes or more; YAML files may have at most %d bytes (1 MiB)", bytes,
                  CF_YAML_MAX_BYTES);
}

int cf_yaml_load_string(cf_ctx *ctx, const char *source_name, const char *text, cf_yaml_doc *doc) {
  memset(doc, 0, sizeof *doc);
  size_t len = strnlen(text, (size_t)CF_YAML_MAX_BYTES + 1);
  if (len > CF_YAML_MAX_BYTES) return too_large(ctx, source_name ? source_name : "<string>", len);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return cf_error(ctx, CF_ENOMEM, source_name, "", "out of memory");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
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
  /* read at most one byte more than allowed: a larger file (or an endless
   * pipe) is refused without reading it all */
  char *text = malloc((size_t)CF_YAML_MAX_BYTES + 2);
  size_t len = text ? fread(text, 1, (size_t)CF_YAML_MAX_BYTES + 1, f) : 0;
  int bad = text && ferror(f);
  fclose(f);
  if (!text) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  if (bad) {
    free(text);
    return cf_error(ctx, CF_EIO, path, "", "read error");
  }
  if (len > CF_YAML_MAX_BYTES) {
    free(text);
    return too_large(ctx, path, len);
  }
  if (memchr(text, '\0', len)) {
    free(text);
    return cf_error(ctx, CF_EINVAL, path, "", "not a text file (it contains a NUL byte)");
  }
  text[len] = '\0';
  int rc = cf_yaml_load_string(ctx, path, text, doc);
  free(text);
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
