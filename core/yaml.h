/*
 * A YAML document as a tree that remembers where every node came from.
 *
 * libyaml's document API parses; this file copies its nodes into a small
 * tree of our own so that every scalar, sequence and mapping keeps the line
 * and column (1-based) it started at. Configuration errors then read
 * "pipeline.yaml:12:5: unknown option 'resolutoin' for stage raster.warp",
 * which is the whole point of loading YAML this way.
 */
#ifndef CF_CORE_YAML_H
#define CF_CORE_YAML_H

#include "carbonflux/ctx.h"

typedef enum { CF_YAML_SCALAR, CF_YAML_SEQUENCE, CF_YAML_MAPPING } cf_yaml_kind;

typedef struct cf_yaml_node cf_yaml_node;
struct cf_yaml_node {
  cf_yaml_kind kind;
  int line, col;      /* 1-based position of the node's start */
  char *value;        /* scalar text (CF_YAML_SCALAR) */
  int quoted;         /* scalar was quoted: never a number/bool/null */
  const char *origin; /* where the node came from if not the document's
                         source (e.g. a --set argument); borrowed */
  size_t n;           /* items (sequence) or pairs (mapping) */
  cf_yaml_node **items; /* sequence items; mapping: keys[i] = items[2i], values = items[2i+1] */
};

typedef struct {
  char *source;       /* file name used in messages */
  cf_yaml_node *root; /* NULL for an empty document */
} cf_yaml_doc;

/* Limits on any YAML file or string (pipeline files, --set values): a
 * hostile file (an alias bomb, deep nesting, a huge list) is refused in
 * bounded time and memory, at the position where it crosses a limit.
 * Aliases count as the nodes they copy. */
#define CF_YAML_MAX_BYTES (1 << 20) /* 1 MiB */
#define CF_YAML_MAX_DEPTH 64
#define CF_YAML_MAX_NODES 100000
#define CF_YAML_MAX_ALIASES 100

/* Parse a file or a string. On a syntax error, push "source:line:col: ..."
 * and return CF_EINVAL (CF_ENOENT/CF_EIO if the file cannot be read). */
int cf_yaml_load_file(cf_ctx *ctx, const char *path, cf_yaml_doc *doc);
int cf_yaml_load_string(cf_ctx *ctx, const char *source_name, const char *text, cf_yaml_doc *doc);
void cf_yaml_free(cf_yaml_doc *doc);
void cf_yaml_node_free(cf_yaml_node *node);
cf_yaml_node *cf_yaml_node_clone(const cf_yaml_node *node);
/* Set `origin` on a node and all its children. */
void cf_yaml_set_origin(cf_yaml_node *node, const char *origin);

/* Push an error located at node `n` of document `source` (or of n->origin
 * when set): the frame's `where` reads "source:line:col", so it renders as
 * "file:line:col: reason". */
int cf_yaml_error(cf_ctx *ctx, int code, const char *source, const cf_yaml_node *n,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Mapping access: value for `key`, or NULL. */
cf_yaml_node *cf_yaml_map_get(const cf_yaml_node *map, const char *key);
static inline cf_yaml_node *cf_yaml_map_key(const cf_yaml_node *map, size_t i) { return map->items[2 * i]; }
static inline cf_yaml_node *cf_yaml_map_value(const cf_yaml_node *map, size_t i) { return map->items[2 * i + 1]; }
/* Replace or add `key` in a mapping; takes ownership of `value`. */
int cf_yaml_map_set(cf_yaml_node *map, const char *key, cf_yaml_node *value);

/* Scalar conversions; return 0 on success, -1 if the text is not of the type. */
int cf_yaml_as_double(const cf_yaml_node *n, double *out);
int cf_yaml_as_int(const cf_yaml_node *n, long long *out);
int cf_yaml_as_bool(const cf_yaml_node *n, int *out);
int cf_yaml_is_null(const cf_yaml_node *n);

#endif
