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

#include <stddef.h>

#include "carbonflux/ctx.h"

typedef struct {
  char *final_path;
  char *part_path;
} cf_atomic_file;

/* Create the part file for `final_path`: an empty regular file made with
 * O_CREAT|O_EXCL|O_NOFOLLOW (mode 0666 less the umask) in the final path's
 * directory, so a file or symlink planted at the predictable name is never
 * opened or followed (the next number is tried instead). Writers then
 * write into, or let their library truncate, that file. Part files of the
 * same output left by a process that no longer runs (SIGKILL) are removed
 * first. Creates missing parent directories of the final path. Refuses an
 * existing final path when the context says not to overwrite
 * (cf_set_overwrite). */
int cf_atomic_begin(cf_ctx *ctx, const char *final_path, cf_atomic_file *af);
/* Create `path` as an empty regular file of ours, failing if anything
 * (a file, a symlink) is already there: for a writer's side files derived
 * from the part name (e.g. "<part>.src.tif") before a library opens them. */
int cf_create_exclusive(cf_ctx *ctx, const char *path);
/* Rename part -> final. */
int cf_atomic_commit(cf_ctx *ctx, cf_atomic_file *af);
/* Commit several part files as one product: all are renamed into place or
 * none is. A final path that exists is first kept under a hard link next
 * to it; if a later rename fails, the files already renamed are put back
 * (the kept old file, or removed if there was none). Where the file system
 * has no hard links the old files cannot be kept and the renames are only
 * in order. */
int cf_atomic_commit_all(cf_ctx *ctx, cf_atomic_file *const *files, int n);
/* Write `text` into af's part file (every write and the close checked);
 * a failure names the final path and says why (cf_write_errno). */
int cf_atomic_write_text(cf_ctx *ctx, const cf_atomic_file *af, const char *text);
/* The whole protocol for one text file: `text` to `path` through a part
 * file, committed only when written and closed. */
int cf_write_text_file_atomic(cf_ctx *ctx, const char *path, const char *text);
/* A JSON product with its CSV table beside it: `json` to json_path (its
 * name must end in .json) and `csv` to the same stem with .csv, both via
 * part files committed together (all or none). `json` or `csv` NULL (a
 * failed cf_strbuf_take) is CF_ENOMEM; `what` names the product in the
 * message about its name ("report", "ledger"). */
int cf_atomic_write_json_csv(cf_ctx *ctx, const char *json_path, const char *json, const char *csv, const char *what);
/* The same for `n` bytes of `data` (a PNG, a GeoPackage made in memory). */
int cf_atomic_write_bytes(cf_ctx *ctx, const cf_atomic_file *af, const void *data, size_t n);
/* Remove the part file if it exists and free; safe after commit too. */
void cf_atomic_end(cf_atomic_file *af);
/* Remove, from directory `dir`, every part file process `pid` made there
 * (".*.part-PID-*", side files included), logging each: the clean-up after
 * an isolated child that crashed (core/isolate.h). */
void cf_remove_part_files_of(cf_ctx *ctx, const char *dir, long pid, const char *why);
/* Remove, from directory `dir`, every part file (of any output) whose
 * process no longer runs, logging each: what a run killed with SIGKILL left
 * (its isolated children die with it or finish on their own). A live PID's
 * part file is another run's work in progress and stays. Returns how many
 * were removed. */
int cf_remove_stale_part_files(cf_ctx *ctx, const char *dir, const char *why);

int cf_file_exists(const char *path);
/* mkdir -p for the directory part of `path` (or for `path` if is_dir). */
int cf_mkdirs(cf_ctx *ctx, const char *path, int is_dir);
/* Could cf_mkdirs make directory `dir` and a file be written in it? Looks,
 * makes nothing: the nearest existing part of the path must be a directory
 * we may write in (not a regular file, not on a read-only filesystem).
 * 0 if so; else 1 and the reason in why[n]. For validation, so that a run
 * fails before any work rather than after it. */
int cf_dir_unwritable(const char *dir, char *why, size_t n);
/* Join `base_dir` and `rel` unless rel is absolute or base_dir is empty.
 * Returns a malloc'ed string. */
char *cf_path_join(const char *base_dir, const char *rel);
/* Directory part of a path ("." if none), malloc'ed. */
char *cf_path_dirname(const char *path);
/* File name without directory and last extension, malloc'ed. */
char *cf_path_stem(const char *path);
/* Absolute path with symlinks and "." / ".." resolved, for telling whether
 * two names are one file: the longest existing prefix through realpath, the
 * part that does not exist yet appended lexically. malloc'ed; NULL if out
 * of memory or the current directory is unknown. */
char *cf_path_real(const char *path);
/* What makes a file itself, as a string (malloc'ed, NULL if out of memory):
 * "#DEV:INODE" if cf_path_real(path) exists (so symlinks, "..", hard links
 * meet), else that real path. Equal strings: one file. */
char *cf_path_identity(const char *path);
/* `path` relative to directory `from_dir` ("../forest/plots.csv"), both
 * first made real (cf_path_real), so that a document can name a file it
 * records by where it lies from the document: a package moved or copied
 * as a whole still finds its files. *shared (if given) is the number of
 * leading folders the two have in common (0: only the root). malloc'ed;
 * NULL if out of memory or the current directory is unknown. */
char *cf_path_relative(const char *path, const char *from_dir, int *shared);
/* The path a document at `doc_path` records for an input file `path`
 * beside the path as given: relative to the document's folder
 * (cf_path_relative). NULL when doc_path is NULL, when `path` is not an
 * existing file (a GDAL connection string, /vsi... name), or out of
 * memory: the record then carries the path as given only. */
char *cf_path_recorded_relative(const char *path, const char *doc_path);
/* Non-zero if `a` and `b` are the same file (equal cf_path_identity). */
int cf_path_same(const char *a, const char *b);
/* Non-zero if `stem` can stand for {stem} in a path: not empty, ".", ".."
 * and without '/', so it never climbs out of the output's directory. */
int cf_stem_is_safe(const char *stem);
/* Replace every "{key}" in `tmpl` by `value`; malloc'ed. */
char *cf_str_replace(const char *tmpl, const char *key, const char *value);

/* The errno a failed write to `path` stands for: `e` itself if it is a
 * storage reason (ENOSPC, EDQUOT, EFBIG, EIO, EROFS), else ENOSPC if the
 * file system holding `path` has under `min_free` bytes left (libraries
 * such as GDAL and cairo lose the write's errno before they report), else
 * 0 (unknown). One rule for every writer's message. */
int cf_write_errno(const char *path, int e, double min_free);

#endif
