/*
 * KEY=VALUE settings over a C struct, GDAL style ("-co KEY=VALUE").
 *
 * A table lists each setting's name, type, offset in the struct, range,
 * unit and help. One table then sets values from text (with range checks
 * and messages naming the key), prints the help with the defaults, and
 * serialises the settings as JSON for provenance, so a setting cannot be
 * settable without being documented or recorded.
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
  CF_KV_ENUM    /* int (or an enum), the index of the value in `choices` */
} cf_kv_type;

typedef struct {
  const char *key;
  cf_kv_type type;
  size_t offset;
  double min, max;             /* numbers */
  const char *unit, *help;
  const char *const *choices;  /* CF_KV_ENUM, NULL-ended */
} cf_kv_opt;

/* Set "KEY=VALUE" in `base`. Returns CF_OK and the entry's index in *which,
 * or CF_EINVAL with a message (where = e.g. "simulate"). An unknown key is
 * CF_ENOENT with no message, so a caller can try its own keys first. */
int cf_kv_set(cf_ctx *ctx, const cf_kv_opt *t, size_t n, void *base, const char *key_value, const char *where,
              int *which);
void cf_kv_describe(FILE *out, const cf_kv_opt *t, size_t n, const void *defaults);
/* Append {"key":value,...} without the closing brace (callers may add more). */
void cf_kv_json(cf_strbuf *sb, const cf_kv_opt *t, size_t n, const void *base);

#endif
