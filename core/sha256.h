/*
 * SHA-256 of files and buffers, for the provenance every output carries
 * ("input_sha256"). OpenSSL's libcrypto does the hashing: a digest is not
 * something to hand-write, and libcrypto is already loaded by GDAL.
 */
#ifndef CF_CORE_SHA256_H
#define CF_CORE_SHA256_H

#include <stdatomic.h>
#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_SHA256_HEX_LEN 65 /* 64 hex digits and the terminating NUL */

int cf_sha256_file(cf_ctx *ctx, const char *path, char hex[CF_SHA256_HEX_LEN]);
/* The same without a context, for a thread of its own (a context is not
 * shared between threads): 0, or a CF_E* code with the reason in `why`. */
int cf_sha256_file_quiet(const char *path, char hex[CF_SHA256_HEX_LEN], char *why, size_t n);
/* The same, giving up with CF_ECANCEL as soon as *stop is set (checked
 * every 64 KiB): for a hash whose result is no longer wanted. */
int cf_sha256_file_until(const char *path, char hex[CF_SHA256_HEX_LEN], char *why, size_t n, const atomic_int *stop);
int cf_sha256_buffer(cf_ctx *ctx, const void *data, size_t n, char hex[CF_SHA256_HEX_LEN]);

#endif
