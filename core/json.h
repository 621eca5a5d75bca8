/*
 * A strict JSON (RFC 8259) reader: text to a small tree, every node with
 * the line it started on.
 *
 * Why our own. carbonflux writes JSON (reports, ledgers, summaries) with
 * core/strbuf and now has to read it back: the issuance ledger reads the
 * forest stock reports, and `carbonflux verify` will read the ledger. The
 * YAML loader (core/yaml.h) would accept most JSON, but YAML 1.1 is not a
 * JSON superset (tabs, "1e2" read as a string, duplicate keys, 1024-char
 * keys), and a verifier's input must be read by one exact grammar. So
 * this is that grammar and nothing more, with the limits every reader of
 * an untrusted file has here (size, depth), and errors that say
 * "file:line: reason".
 *
 * Numbers are parsed with strtod after the grammar is checked (the
 * process never calls setlocale, so the decimal point is '.'), giving the
 * nearest double; integers beyond 2^53 lose digits as in any JSON reader.
 * Strings are UTF-8 with the escapes decoded (\uXXXX with surrogate
 * pairs; a lone surrogate is an error); bytes that are not UTF-8 (a
 * Latin-1 0xEA, an overlong or truncated sequence: core/utf8.h) are an
 * error naming the line and the byte, as RFC 8259 8.1 requires UTF-8;
 * a NUL escape (\u0000) is refused, as C strings cannot hold it. A
 * byte-order mark is skipped. Duplicate keys in one object are an error:
 * which one a reader would take is exactly the ambiguity a verification
 * must not have.
 */
#ifndef CF_CORE_JSON_H
#define CF_CORE_JSON_H

#include <stddef.h>

#include "carbonflux/ctx.h"

typedef enum { CF_JSON_NULL, CF_JSON_BOOL, CF_JSON_NUMBER, CF_JSON_STRING, CF_JSON_ARRAY, CF_JSON_OBJECT } cf_json_type;

typedef struct cf_json cf_json;
struct cf_json {
  cf_json_type type;
  int line;        /* 1-based line of the node's first character */
  int boolean;     /* CF_JSON_BOOL */
  double number;   /* CF_JSON_NUMBER */
  char *string;    /* CF_JSON_STRING: decoded UTF-8 */
  size_t n;        /* items (array) or members (object) */
  char **keys;     /* CF_JSON_OBJECT: member names, in file order */
  cf_json **items; /* array items / member values, in file order */
};

#define CF_JSON_MAX_BYTES (64u << 20) /* 64 MiB */
#define CF_JSON_MAX_DEPTH 64

/* Parse `text` (len bytes); `source` names it in messages. CF_EDATA with
 * "source:line: reason" for a syntax error, CF_ENOMEM. */
int cf_json_parse(cf_ctx *ctx, const char *source, const char *text, size_t len, cf_json **out);
/* Read and parse a file (CF_ENOENT if missing, CF_EIO if unreadable,
 * CF_EDATA if larger than CF_JSON_MAX_BYTES). */
int cf_json_load_file(cf_ctx *ctx, const char *path, cf_json **out);
/* The same, and the SHA-256 of the very bytes parsed (hex, 64 digits), so
 * that a provenance record cannot name another version of the file. */
int cf_json_load_file_sha256(cf_ctx *ctx, const char *path, cf_json **out, char sha256_hex[65]);
/* The bytes of a file of at most CF_JSON_MAX_BYTES, NUL-terminated
 * (malloc'ed; the errors of cf_json_load_file): for a caller that looks
 * at them before parsing (`carbonflux verify` tells JSON from HTML). */
int cf_json_read_bytes(cf_ctx *ctx, const char *path, char **bytes, size_t *len);
void cf_json_free(cf_json *j);

/* The member `key` of an object, or NULL (also when j is not an object). */
const cf_json *cf_json_get(const cf_json *j, const char *key);
/* Item i of an array, or NULL. */
const cf_json *cf_json_at(const cf_json *j, size_t i);
/* "number", "string", ... for messages. */
const char *cf_json_type_name(cf_json_type t);

#endif
