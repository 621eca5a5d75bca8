/*
 * A growable string buffer for building messages, JSON and paths. It never
 * fails loudly: on allocation failure it sets `failed` and further appends
 * are ignored, so callers check once at the end (cf_strbuf_take returns NULL).
 */
#ifndef CF_CORE_STRBUF_H
#define CF_CORE_STRBUF_H

#include <stddef.h>

typedef struct {
  char *s;
  size_t len, cap;
  int failed;
} cf_strbuf;

void cf_strbuf_init(cf_strbuf *sb);
void cf_strbuf_free(cf_strbuf *sb);
void cf_strbuf_putn(cf_strbuf *sb, const char *s, size_t n);
void cf_strbuf_puts(cf_strbuf *sb, const char *s);
void cf_strbuf_printf(cf_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append `s` as a JSON string literal, quotes included; a byte that is
 * not UTF-8 (core/utf8.h) is written as \ufffd, so the output is always
 * RFC 8259 JSON. */
void cf_strbuf_json_string(cf_strbuf *sb, const char *s);
/* Append a double as JSON: shortest round-trip form, null if not finite. */
void cf_strbuf_json_double(cf_strbuf *sb, double v);
/* Append an object member's key, `"k":`, after a comma unless `first`
 * (compact JSON, as the stock report and the ledger are written). */
void cf_strbuf_json_key(cf_strbuf *sb, const char *k, int first);
/* Append a member after the first: `,"k":v`, v as cf_strbuf_json_double. */
void cf_strbuf_json_member(cf_strbuf *sb, const char *k, double v);
/* Append a CSV cell after its comma: v in the same shortest round-trip
 * form, the cell left empty if v is not finite (an excluded pool). */
void cf_strbuf_csv_double(cf_strbuf *sb, double v);
/* The string (never NULL unless failed); stays owned by the buffer. */
const char *cf_strbuf_str(const cf_strbuf *sb);
/* Hand the string to the caller (free() it); NULL if any append failed. */
char *cf_strbuf_take(cf_strbuf *sb);

#endif
