/*
 * UTF-8 as RFC 3629 defines it, checked at the edges of the program.
 *
 * Why here and not left to each writer. Text from inventories, parameter
 * tables and vector layers ends up in JSON (RFC 8259 requires UTF-8), CSV
 * and NetCDF attributes that other tools read; a Latin-1 byte such as
 * "For\xEAt" copied through makes a report Python's json.loads refuses.
 * The readers reject such text where it enters, naming the file, line and
 * field (the user can re-save the file as UTF-8); the writers never emit
 * it whatever they are handed. One definition of "valid" serves both.
 *
 * Valid: the shortest encoding of a code point up to U+10FFFF that is not
 * a surrogate (so no overlong forms such as C0 AF for '/', no ED A0 80,
 * no F5..FF lead bytes, no sequence cut short by the end of the text).
 */
#ifndef CF_CORE_UTF8_H
#define CF_CORE_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, which has `avail` bytes
 * left (avail >= 1), or 0 if the bytes there are not UTF-8. */
int cf_utf8_len(const unsigned char *s, size_t avail);

/* Offset of the first byte of s[0..n) that is not part of valid UTF-8,
 * or -1 when all of it is valid. */
long cf_utf8_invalid_at(const char *s, size_t n);

#endif
