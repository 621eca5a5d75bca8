/* Growable string buffer; see strbuf.h. */
#include "core/strbuf.h"
#include "core/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cf_strbuf_init(cf_strbuf *sb) { memset(sb, 0, sizeof *sb); }

void cf_strbuf_free(cf_strbuf *sb) {
  free(sb->s);
  cf_strbuf_init(sb);
}

static int reserve(cf_strbuf *sb, size_t extra) {
  if (sb->failed) return -1;
  if (sb->len + extra + 1 <= sb->cap) return 0;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < sb->len + extra + 1) cap *= 2;
  char *p = realloc(sb->s, cap);
  if (!p) {
    sb->failed = 1;
    return -1;
  }
  sb->s = p;
  sb->cap = cap;
  return 0;
}

void cf_strbuf_putn(cf_strbuf *sb, const char *s, size_t n) {
  if (reserve(sb, n)) return;
  memcpy(sb->s + sb->len, s, n);
  sb->len += n;
  sb->s[sb->len] = '\0';
}

void cf_strbuf_puts(cf_strbuf *sb, const char *s) { cf_strbuf_putn(sb, s, strlen(s)); }

void cf_strbuf_printf(cf_strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || reserve(sb, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

void cf_strbuf_json_string(cf_strbuf *sb, const char *s) {
  cf_strbuf_putn(sb, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
      case '"': cf_strbuf_puts(sb, "\\\""); break;
      case '\\': cf_strbuf_puts(sb, "\\\\"); break;
      case '\n': cf_strbuf_puts(sb, "\\n"); break;
      case '\r': cf_strbuf_puts(sb, "\\r"); break;
      case '\t': cf_strbuf_puts(sb, "\\t"); break;
      default:
        if (*p < 0x20) {
          cf_strbuf_printf(sb, "\\u%04x", *p);
        } else if (*p < 0x80) {
          cf_strbuf_putn(sb, (const char *)p, 1);
        } else {
          /* RFC 8259 JSON is UTF-8: a byte that is not (the readers reject
           * such input; this is the last guard) becomes U+FFFD, one each */
          int n = cf_utf8_len(p, 4); /* NUL-terminated: the NUL ends a sequence cut short */
          if (n) cf_strbuf_putn(sb, (const char *)p, (size_t)n), p += n - 1;
          else cf_strbuf_puts(sb, "\\ufffd");
        }
    }
  }
  cf_strbuf_putn(sb, "\"", 1);
}

void cf_strbuf_json_double(cf_strbuf *sb, double v) {
  if (!isfinite(v)) {
    cf_strbuf_puts(sb, "null");
    return;
  }
  /* %.17g round-trips; try shorter first so 0.1 prints as 0.1 */
  char buf[40];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  cf_strbuf_puts(sb, buf);
}

const char *cf_strbuf_str(const cf_strbuf *sb) { return sb->s ? sb->s : ""; }

char *cf_strbuf_take(cf_strbuf *sb) {
  if (sb->failed) {
    cf_strbuf_free(sb);
    return NULL;
  }
  char *s = sb->s ? sb->s : calloc(1, 1);
  cf_strbuf_init(sb);
  return s;
}

void cf_strbuf_json_key(cf_strbuf *sb, const char *k, int first) {
  if (!first) cf_strbuf_puts(sb, ",");
  cf_strbuf_json_string(sb, k);
  cf_strbuf_puts(sb, ":");
}

void cf_strbuf_json_member(cf_strbuf *sb, const char *k, double v) {
  cf_strbuf_json_key(sb, k, 0);
  cf_strbuf_json_double(sb, v);
}

void cf_strbuf_csv_double(cf_strbuf *sb, double v) {
  cf_strbuf_puts(sb, ",");
  if (isfinite(v)) cf_strbuf_json_double(sb, v);
}
