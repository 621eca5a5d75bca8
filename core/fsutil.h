/*
 * File-system helpers: the atomic-output protocol and path arithmetic.
 *
 * Invariant: an output file either does not exist or is complete. Every
 * writer creates "<dir>/.<name>.part-<pid>-<n>" next to the final path (same
 * file system, so rename is atomic), fills it, and renames it only after
 * every byte is written and closed; on any failure the part file is removed.
 */
#ifndef CF_CORE_FSUTIL_H
#define CF_CORE_FSUTIL_H

#include "carbonflux/ctx.h"

typedef struct {
  char *final_path;
  char *part_path;
} cf_atomic_file;

/* Choose the part path for `final_path` (nothing is created yet). Creates
 * missing parent directories of the final path. */
int cf_atomic_begin(cf_ctx *ctx, const char *final_path, cf_atomic_file *af);
/* Rename part -> final. */
int cf_atomic_commit(cf_ctx *ctx, cf_atomic_file *af);
/* Remove the part file if it exists and free; safe after commit too. */
void cf_atomic_end(cf_atomic_file *af);

int cf_file_exists(const char *path);
/* mkdir -p for the directory part of `path` (or for `path` if is_dir). */
int cf_mkdirs(cf_ctx *ctx, const char *path, int is_dir);
/* Join `base_dir` and `rel` unless rel is absolute or base_dir is empty.
 * Returns a malloc'ed string. */
char *cf_path_join(const char *base_dir, const char *rel);
/* Directory part of a path ("." if none), malloc'ed. */
char *cf_path_dirname(const char *path);
/* File name without directory and last extension, malloc'ed. */
char *cf_path_stem(const char *path);
/* Replace every "{key}" in `tmpl` by `value`; malloc'ed. */
char *cf_str_replace(const char *tmpl, const char *key, const char *value);

#endif
