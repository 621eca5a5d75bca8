/*
 * Where a recorded input is found: one search, used by `carbonflux verify`
 * (sink/audit/) and by the issuance report (`carbonflux sink report`,
 * `write.report`; sink/issuance/report.h), so that a package that checks
 * also reports, and from the same files.
 *
 * Why a search and not the recorded path. Our documents record each input
 * with its path as it was given (absolute, or relative to the writer's
 * working directory: for people) and, for a plain file, `relative_path`:
 * the path from the folder of the file that records it (the ledger's for
 * its stock reports, each stock report's for its inventories). A package
 * is copied to the verifier's machine or moved; its recorded paths then
 * point at nothing, or worse at the original (so a tampered copy would
 * pass by being checked against files it does not contain). So the copy
 * is read where it lies, and the recorded path as it is comes late.
 *
 * The order (the first that exists wins):
 *   1. under --inputs-dir DIR, when given: the recorded relative path,
 *      then a relative recorded path, then the bare file name;
 *   2. the recorded relative path from the recording file's folder (older
 *      records without one: their recorded path there, when relative);
 *   3. the recorded path as it is;
 *   4. the bare file name beside the recording file.
 * The recording file is named as it was found (a stock report found by
 * this search is where its own inventories are looked for from).
 *
 * What is found is not thereby the one: the caller hashes it against the
 * recorded SHA-256, and a file that differs is never used in place of the
 * recorded one (verify says DIFFERS, the report refuses, both naming the
 * file found and the two hashes). The search does not go on to a later
 * candidate when the first differs: that would let an untouched original
 * stand in for a tampered copy.
 */
#ifndef CF_SINK_INPUT_RESOLVE_H
#define CF_SINK_INPUT_RESOLVE_H

/* Find the input recorded as `path` (as given) and `rel` (its relative
 * path; NULL or "" in older records) by the file `recorded_by`, with DIR
 * `inputs_dir` (NULL: none). Returns the first candidate that exists,
 * malloc'ed, with *how the phrase saying how it was found ("by the recorded
 * path relative to the recording file"); NULL when none exists (or out of
 * memory, or no path was recorded). When `tried` is given it receives
 * (malloc'ed, possibly NULL when out of memory) every place looked at,
 * comma-separated, "" when there was nothing to look for. */
char *cf_input_resolve(const char *inputs_dir, const char *recorded_by, const char *path, const char *rel,
                       const char **how, char **tried);

#endif
