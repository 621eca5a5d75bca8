/* The strict JSON reader of core/json.h: a recursive descent over the
 * RFC 8259 grammar, depth-limited, one error naming source and line. */
#include "core/json.h"

#include "core/sha256.h"
#include "core/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  cf_ctx *ctx;
  const char *source;
  const char *p, *end;
  int line;
  int rc; /* first error */
} parser;

static int fail(parser *ps, int code, const char *what) {
  if (!ps->rc) ps->rc = cf_error(ps->ctx, code, ps->source, "", "line %d: %s", ps->line, what);
  return ps->rc;
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') ps->line++;
    else if (c != ' ' && c != '\t' && c != '\r') return;
    ps->p++;
  }
}

static cf_json *node(parser *ps, cf_json_type t) {
  cf_json *j = calloc(1, sizeof *j);
  if (!j) {
    fail(ps, CF_ENOMEM, "out of memory");
    return NULL;
  }
  j->type = t;
  j->line = ps->line;
  return j;
}

static int add_item(parser *ps, cf_json *j, cf_json *item, char *key) {
  cf_json **items = realloc(j->items, (j->n + 1) * sizeof *items);
  if (items) j->items = items;
  if (items && j->type == CF_JSON_OBJECT) {
    char **keys = realloc(j->keys, (j->n + 1) * sizeof *keys);
    if (!keys) items = NULL;
    else j->keys = keys;
  }
  if (!items) {
    cf_json_free(item);
    free(key);
    return fail(ps, CF_ENOMEM, "out of memory");
  }
  j->items[j->n] = item;
  if (j->type == CF_JSON_OBJECT) j->keys[j->n] = key;
  j->n++;
  return CF_OK;
}

static int hex4(const char *s, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
    if (d > 15) return -1;
    *v = *v * 16 + d;
  }
  return 0;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
  if (cp < 0x80) {
    out[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    out[(*n)++] = (char)(0xC0 | (cp >> 6));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xE0 | (cp >> 12));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[(*n)++] = (char)(0xF0 | (cp >> 18));
    out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  }
}

/* A string at ps->p (the opening quote); decoded, malloc'ed. The decoded
 * text is never longer than the source, so one buffer of that size does. */
static char *parse_string(parser *ps) {
  const char *s = ps->p + 1, *q = s;
  while (q < ps->end && *q != '"') q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
  if (q >= ps->end) {
    fail(ps, CF_EDATA, "a string is not closed");
    return NULL;
  }
  char *out = malloc((size_t)(q - s) + 1);
  if (!out) {
    fail(ps, CF_ENOMEM, "out of memory");
    return NULL;
  }
  size_t n = 0;
  for (const char *c = s; c < q; c++) {
    unsigned char u = (unsigned char)*c;
    if (u < 0x20) {
      free(out);
      fail(ps, CF_EDATA, "a control character inside a string (escape it)");
      return NULL;
    }
    if (u >= 0x80) { /* RFC 8259 8.1: JSON text is UTF-8 */
      int len = cf_utf8_len((const unsigned char *)c, (size_t)(q - c));
      if (!len) {
        char what[120];
        snprintf(what, sizeof what, "a string holds byte 0x%02X, which is not UTF-8 (a Latin-1 file? save it as UTF-8)", u);
        free(out);
        fail(ps, CF_EDATA, what);
        return NULL;
      }
      memcpy(out + n, c, (size_t)len);
      n += (size_t)len, c += len - 1;
      continue;
    }
    if (u != '\\') {
      out[n++] = (char)u;
      continue;
    }
    char e = *++c;
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      continue;
    }
    unsigned cp, lo;
    if (e != 'u' || q - c < 5 || hex4(c + 1, &cp)) {
      free(out);
      fail(ps, CF_EDATA, "a bad escape in a string");
      return NULL;
    }
    c += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate: its low half must follow */
      if (q - c < 7 || c[1] != '\\' || c[2] != 'u' || hex4(c + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
        free(out);
        fail(ps, CF_EDATA, "a \\u escape of a lone surrogate in a string");
        return NULL;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      c += 6;
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
      free(out);
      fail(ps, CF_EDATA, cp ? "a \\u escape of a lone surrogate in a string" : "a \\u0000 in a string");
      return NULL;
    }
    put_utf8(out, &n, cp);
  }
  out[n] = '\0';
  ps->p = q + 1;
  return out;
}

/* The RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(parser *ps, double *v) {
  const char *s = ps->p, *c = s;
  if (c < ps->end && *c == '-') c++;
  if (c < ps->end && *c == '0') c++;
  else if (c < ps->end && *c >= '1' && *c <= '9') while (c < ps->end && *c >= '0' && *c <= '9') c++;
  else return fail(ps, CF_EDATA, "a value was expected");
  if (c < ps->end && *c == '.') {
    if (++c >= ps->end || *c < '0' || *c > '9') return fail(ps, CF_EDATA, "a digit must follow the decimal point");
    while (c < ps->end && *c >= '0' && *c <= '9') c++;
  }
  if (c < ps->end && (*c == 'e' || *c == 'E')) {
    c++;
    if (c < ps->end && (*c == '+' || *c == '-')) c++;
    if (c >= ps->end || *c < '0' || *c > '9') return fail(ps, CF_EDATA, "a digit must follow the exponent");
    while (c < ps->end && *c >= '0' && *c <= '9') c++;
  }
  char buf[512];
  size_t len = (size_t)(c - s);
  if (len >= sizeof buf) return fail(ps, CF_EDATA, "a number of more than 511 characters");
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  *v = strtod(buf, NULL);
  if (errno == ERANGE && (*v > 1.0 || *v < -1.0)) return fail(ps, CF_EDATA, "a number beyond the range of a double");
  ps->p = c;
  return CF_OK;
}

static cf_json *parse_value(parser *ps, int depth);

static int parse_members(parser *ps, cf_json *j, int depth) {
  char close = j->type == CF_JSON_OBJECT ? '}' : ']';
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    return CF_OK;
  }
  for (;;) {
    char *key = NULL;
    if (j->type == CF_JSON_OBJECT) {
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != '"') return fail(ps, CF_EDATA, "a member name (a string) was expected");
      if (!(key = parse_string(ps))) return ps->rc;
      for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->keys[i], key)) {
          char msg[300];
          snprintf(msg, sizeof msg, "the member \"%.200s\" appears twice in one object", key);
          free(key);
          return fail(ps, CF_EDATA, msg);
        }
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        free(key);
        return fail(ps, CF_EDATA, "a ':' was expected after a member name");
      }
      ps->p++;
    }
    cf_json *item = parse_value(ps, depth + 1);
    if (!item) {
      free(key);
      return ps->rc;
    }
    if (add_item(ps, j, item, key)) return ps->rc;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) {
      ps->p++;
      return CF_OK;
    }
    return fail(ps, CF_EDATA, close == '}' ? "a ',' or '}' was expected" : "a ',' or ']' was expected");
  }
}

static cf_json *parse_value(parser *ps, int depth) {
  if (depth > CF_JSON_MAX_DEPTH) {
    fail(ps, CF_EDATA, "nested deeper than 64 levels");
    return NULL;
  }
  skip_ws(ps);
  if (ps->p >= ps->end) {
    fail(ps, CF_EDATA, "the text ends where a value was expected");
    return NULL;
  }
  char c = *ps->p;
  cf_json *j = NULL;
  static const char *const words[3] = {"null", "true", "false"};
  for (int w = 0; w < 3; w++) {
    size_t len = strlen(words[w]);
    if ((size_t)(ps->end - ps->p) >= len && !memcmp(ps->p, words[w], len)) {
      if (!(j = node(ps, w == 0 ? CF_JSON_NULL : CF_JSON_BOOL))) return NULL;
      j->boolean = w == 1;
      ps->p += len;
      return j;
    }
  }
  if (c == '{' || c == '[') {
    if (!(j = node(ps, c == '{' ? CF_JSON_OBJECT : CF_JSON_ARRAY))) return NULL;
    if (parse_members(ps, j, depth)) {
      cf_json_free(j);
      return NULL;
    }
    return j;
  }
  if (c == '"') {
    if (!(j = node(ps, CF_JSON_STRING))) return NULL;
    if (!(j->string = parse_string(ps))) {
      cf_json_free(j);
      return NULL;
    }
    return j;
  }
  double v;
  if (parse_number(ps, &v)) return NULL;
  if ((j = node(ps, CF_JSON_NUMBER))) j->number = v;
  return j;
}

int cf_json_parse(cf_ctx *ctx, const char *source, const char *text, size_t len, cf_json **out) {
  *out = NULL;
  parser ps = {ctx, source ? source : "(json)", text, text + len, 1, CF_OK};
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) ps.p += 3;
  if (memchr(text, '\0', len)) return fail(&ps, CF_EDATA, "a NUL byte in the text (not a JSON file?)");
  cf_json *j = parse_value(&ps, 0);
  if (j) {
    skip_ws(&ps);
    if (ps.p < ps.end) fail(&ps, CF_EDATA, "text after the end of the JSON value");
  }
  if (ps.rc) {
    cf_json_free(j);
    return ps.rc;
  }
  *out = j;
  return CF_OK;
}

int cf_json_load_file(cf_ctx *ctx, const char *path, cf_json **out) {
  return cf_json_load_file_sha256(ctx, path, out, NULL);
}

int cf_json_read_bytes(cf_ctx *ctx, const char *path, char **bytes, size_t *len) {
  *bytes = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return cf_error(ctx, errno == ENOENT ? CF_ENOENT : CF_EIO, path, "", "cannot open: %s", strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int rc = CF_OK;
  for (;;) {
    if (n + 65536 > cap) {
      if (cap >= CF_JSON_MAX_BYTES) {
        rc = cf_error(ctx, CF_EDATA, path, "", "larger than %u MiB: not a report this reader takes",
                      CF_JSON_MAX_BYTES >> 20);
        break;
      }
      char *nb = realloc(buf, cap + 65536 + 1);
      if (!nb) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        break;
      }
      buf = nb, cap += 65536;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) rc = cf_error(ctx, CF_EIO, path, "", "read failed");
      break;
    }
  }
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0'; /* cap always keeps one byte spare */
  *bytes = buf;
  *len = n;
  return CF_OK;
}

int cf_json_load_file_sha256(cf_ctx *ctx, const char *path, cf_json **out, char sha256_hex[65]) {
  *out = NULL;
  char *buf;
  size_t n;
  int rc = cf_json_read_bytes(ctx, path, &buf, &n);
  if (!rc && sha256_hex) rc = cf_sha256_buffer(ctx, buf, n, sha256_hex);
  if (!rc) rc = cf_json_parse(ctx, path, buf, n, out);
  free(buf);
  return rc;
}

void cf_json_free(cf_json *j) {
  if (!j) return;
  for (size_t i = 0; i < j->n; i++) {
    cf_json_free(j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j->string);
  free(j);
}

const cf_json *cf_json_get(const cf_json *j, const char *key) {
  if (!j || j->type != CF_JSON_OBJECT) return NULL;
  for (size_t i = 0; i < j->n; i++)
    if (!strcmp(j->keys[i], key)) return j->items[i];
  return NULL;
}

const cf_json *cf_json_at(const cf_json *j, size_t i) {
  return j && j->type == CF_JSON_ARRAY && i < j->n ? j->items[i] : NULL;
}

const char *cf_json_type_name(cf_json_type t) {
  static const char *const names[] = {"null", "true/false", "number", "string", "array", "object"};
  return (unsigned)t < 6 ? names[t] : "?";
}
