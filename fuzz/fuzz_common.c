/* The harnesses' shared set-up; see fuzz_common.h. */
#include "fuzz/fuzz_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>

#include "ingest/library_log.h"

static cf_ctx *g_ctx;
static FILE *g_null;
static char g_dir[64];

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  while (d && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (unlink(p) != 0) remove_tree(p); /* a directory (the harnesses make them one level deep) */
  }
  if (d) closedir(d);
  rmdir(dir);
}

static void remove_dir(void) {
  if (g_dir[0]) remove_tree(g_dir);
}

const char *cf_fuzz_dir(void) {
  if (!g_dir[0]) {
    /* /dev/shm where there is one (memory), else the temporary directory */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%.40s/cf-fuzz-XXXXXX", base);
    if (!mkdtemp(g_dir)) {
      perror("cf_fuzz_dir: mkdtemp");
      abort(); /* a harness without its directory tests nothing */
    }
    atexit(remove_dir);
  }
  return g_dir;
}

const char *cf_fuzz_path(const char *name) {
  static char buf[4][256];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", cf_fuzz_dir(), name);
  return p;
}

int cf_fuzz_write(const char *path, const void *data, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return close(fd);
}

char *cf_fuzz_text(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return NULL;
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

void cf_fuzz_gdal_offline(void) {
  static const char *const opts[][2] = {
      {"GDAL_HTTP_PROXY", "127.0.0.1:9"}, /* discard port: refused at once */
      {"GDAL_HTTP_TIMEOUT", "1"},
      {"GDAL_HTTP_CONNECTTIMEOUT", "1"},
      {"GDAL_HTTP_MAX_RETRY", "0"},
      {"GDAL_HTTP_NETRC", "NO"},
      {"AWS_NO_SIGN_REQUEST", "YES"},
      {"AWS_CONFIG_FILE", "/nonexistent"},
      {"CPL_AWS_CREDENTIALS_FILE", "/nonexistent"},
      {"GS_NO_SIGN_REQUEST", "YES"},
      {"CPL_GS_CREDENTIALS_FILE", "/nonexistent"},
      {"AZURE_NO_SIGN_REQUEST", "YES"},
      {"OSS_SECRET_ACCESS_KEY", ""},
      {"GDAL_PAM_ENABLED", "NO"}, /* no .aux.xml written beside anything opened */
  };
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) CPLSetConfigOption(opts[i][0], opts[i][1]);
}

cf_ctx *cf_fuzz_ctx(void) {
  if (!g_ctx) {
    g_ctx = cf_ctx_create();
    g_null = fopen("/dev/null", "w");
    if (!g_ctx || !g_null) abort();
    cf_set_log_stream(g_ctx, g_null);
    cf_set_log_level(g_ctx, CF_LOG_ERROR);
    cf_set_isolation(g_ctx, 0);
    cf_set_threads(g_ctx, 1);
    cf_fuzz_gdal_offline();
    cf_library_log_route(g_ctx); /* GDAL's and HDF5's messages, as the command routes them */
  }
  return g_ctx;
}

void cf_fuzz_done(cf_ctx *ctx) {
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("CF_FUZZ_VERBOSE") != NULL;
  const char *m = cf_error_message(ctx);
  FILE *out = verbose ? stderr : g_null;
  if (m && out) fprintf(out, "%s\n", m);
  cf_error_clear(ctx);
}
