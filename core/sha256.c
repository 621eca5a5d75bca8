/* SHA-256 through OpenSSL's EVP interface; see sha256.h. */
#include "core/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *md, char hex[CF_SHA256_HEX_LEN]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[64] = '\0';
}

int cf_sha256_buffer(cf_ctx *ctx, const void *data, size_t n, char hex[CF_SHA256_HEX_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32)
    return cf_error(ctx, CF_EINTERNAL, "", "", "SHA-256 failed in libcrypto");
  to_hex(md, hex);
  return CF_OK;
}

int cf_sha256_file_quiet(const char *path, char hex[CF_SHA256_HEX_LEN], char *why, size_t n) {
  return cf_sha256_file_until(path, hex, why, n, NULL);
}

int cf_sha256_file_until(const char *path, char hex[CF_SHA256_HEX_LEN], char *why, size_t n, const atomic_int *stop) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    snprintf(why, n, "cannot open to hash: %s", strerror(e));
    return e == ENOENT ? CF_ENOENT : CF_EIO;
  }
  EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
  int rc = CF_OK;
  if (!md_ctx || !EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL)) {
    rc = CF_ENOMEM, snprintf(why, n, "cannot start SHA-256");
    goto done;
  }
  unsigned char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
    if (stop && atomic_load(stop)) {
      rc = CF_ECANCEL, snprintf(why, n, "hashing stopped: the result is no longer wanted");
      goto done;
    }
    if (!EVP_DigestUpdate(md_ctx, buf, got)) {
      rc = CF_EINTERNAL, snprintf(why, n, "SHA-256 update failed");
      goto done;
    }
  }
  if (ferror(f)) {
    rc = CF_EIO, snprintf(why, n, "read error while hashing");
    goto done;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_DigestFinal_ex(md_ctx, md, &len) || len != 32) {
    rc = CF_EINTERNAL, snprintf(why, n, "SHA-256 final failed");
    goto done;
  }
  to_hex(md, hex);
done:
  EVP_MD_CTX_free(md_ctx);
  fclose(f);
  return rc;
}

int cf_sha256_file(cf_ctx *ctx, const char *path, char hex[CF_SHA256_HEX_LEN]) {
  char why[300];
  int rc = cf_sha256_file_quiet(path, hex, why, sizeof why);
  return rc ? cf_error(ctx, rc, path, "", "%s", why) : CF_OK;
}
