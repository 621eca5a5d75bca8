/* RFC 3629 UTF-8 validation (utf8.h). */
#include "core/utf8.h"

int cf_utf8_len(const unsigned char *s, size_t avail) {
  unsigned c = s[0];
  int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n <= 1) return n;
  if ((size_t)n > avail) return 0; /* cut short */
  unsigned cp = c & (0x3Fu >> (n - 1));
  for (int k = 1; k < n; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[k] & 0x3Fu);
  }
  static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000}; /* below: an overlong form */
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

long cf_utf8_invalid_at(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) { /* the common case, one byte at a time */
      i++;
      continue;
    }
    int len = cf_utf8_len(p + i, n - i);
    if (!len) return (long)i;
    i += (size_t)len;
  }
  return -1;
}
