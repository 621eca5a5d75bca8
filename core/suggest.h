/*
 * "Did you mean": the nearest known name to a mistyped one.
 *
 * One edit distance (Levenshtein: insertions, deletions, substitutions,
 * each 1) for every place that suggests a name (stage types, stage
 * options, issuance policies), so their suggestions agree.
 */
#ifndef CF_CORE_SUGGEST_H
#define CF_CORE_SUGGEST_H

/* Edit distance of a and b; 99 for names longer than 63 bytes. */
int cf_edit_distance(const char *a, const char *b);

#endif
