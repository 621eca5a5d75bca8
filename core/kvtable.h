/*
 * KEY=VALUE settings over a C struct, GDAL style ("-co KEY=VALUE").
 *
 * A table lists each setting's name, type, offset in the struct, range,
 * unit and help; the defaults are whatever the struct's defaults function
 * puts there (cf_kv_table), so a default lives next to the code that
 * justifies it. One table then sets values from text (with range checks
 * and messages naming the key), prints the help with the defaults, and
 * serialises the settings as JSON for provenance, so a setting cannot be
 * settable without being documented or recorded.
 *
 * Other interfaces to the same settings (a pipeline stage's options) read
 * the same rows: they check a value with cf_kv_check and store it with
 * cf_kv_put, as a number, never as text to be parsed again.
 */
#ifndef CF_CORE_KVTABLE_H
#define CF_CORE_KVTABLE_H

#include <stddef.h>
#include <stdio.h>

#include "carbonflux/ctx.h"
#include "core/strbuf.h"

typedef enum {
  CF_KV_DOUBLE, /* double */
  CF_KV_INT,    /* int */
  CF_KV_BOOL,   /* int, 0 or 1; yes/no/true/false/on/off/1/0 */
  CF_KV_U64,    /* uint64_t */
  CF_KV_ENUM,   /* int (or an enum), the index of the value in `choices` */
  CF_KV_NUM_OR_ENUM, /* cf_kv_num_or_choice: a choice's name or a number in [min, max] */
  CF_KV_FLAGS,  /* unsigned, bit i set for choice i: "agb,bgb,soc" (a subset, any order) */
  CF_KV_TEXT    /* char[CF_KV_TEXT_MAX]: a name checked where it is used (a table's row) */
} cf_kv_type;

#define CF_KV_TEXT_MAX 64

/* The field of a CF_KV_NUM_OR_ENUM row ("root_shoot=ar-tool14" or
 * "root_shoot=0.25"): choice >= 0 names a choice, -1 means `value`. */
typedef struct {
  int choice;
  double value;
} cf_kv_num_or_choice;

typedef struct {
  const char *key;
  cf_kv_type type;
  size_t offset;
  double min, max;             /* numbers */
  const char *unit, *help;
  const char *const *choices;  /* CF_KV_ENUM, NULL-ended */
} cf_kv_opt;

/* A table together with the struct it describes. */
typedef struct {
  const cf_kv_opt *opts;
  size_t n;
  size_t size;                  /* sizeof the struct the offsets point into */
  void (*defaults)(void *base); /* fills such a struct with the defaults */
  const char *where;            /* names the table in messages ("lidar process") */
} cf_kv_table;

/* Set "KEY=VALUE" in `base`. Returns CF_OK and the entry's index in *which,
 * or CF_EINVAL with a message (where = e.g. "simulate"). An unknown key is
 * CF_ENOENT with no message, so a caller can try its own keys first. */
int cf_kv_set(cf_ctx *ctx, const cf_kv_opt *t, size_t n, void *base, const char *key_value, const char *where,
              int *which);
/* The row named `key`, or NULL. */
const cf_kv_opt *cf_kv_find(const cf_kv_table *t, const char *key);
/* Does `v` fit the row? Numbers: inside [min, max] (CF_KV_INT: whole);
 * CF_KV_BOOL: 0 or 1; CF_KV_ENUM: the index of a choice. Returns 0, or -1
 * with the reason ("100 is outside -20..60 dB") in `why`. CF_KV_U64 rows
 * are set from text only (a double cannot hold every value): always -1. */
int cf_kv_check(const cf_kv_opt *o, double v, char *why, size_t cap);
/* Check `v` (cf_kv_check) and store it in `base` through the row's offset
 * and type (CF_KV_NUM_OR_ENUM: as the number; CF_KV_FLAGS: the bit mask;
 * CF_KV_TEXT rows are set from text only). CF_EINVAL with a message naming `where` and the key if it
 * does not fit. */
int cf_kv_put(cf_ctx *ctx, const cf_kv_opt *o, void *base, double v, const char *where);
/* The row's value in `base` as text: numbers in their shortest exact form,
 * yes/no, the choice's name. */
void cf_kv_value_text(const cf_kv_opt *o, const void *base, char *buf, size_t cap);
/* The values the row accepts: "-60..20 dB", "yes|no", "propagated|birge|scaled". */
void cf_kv_range_text(const cf_kv_opt *o, char *buf, size_t cap);
/* The row's value in `base` as a JSON value. */
void cf_kv_value_json(cf_strbuf *sb, const cf_kv_opt *o, const void *base);
/* One line per row: key, default, accepted values, help. */
void cf_kv_describe(FILE *out, const cf_kv_opt *t, size_t n, const void *defaults);
/* Append {"key":value,...} without the closing brace (callers may add more). */
void cf_kv_json(cf_strbuf *sb, const cf_kv_opt *t, size_t n, const void *base);

#endif
