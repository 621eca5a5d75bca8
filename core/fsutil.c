/* The atomic-output protocol and path helpers; see fsutil.h. */
#include "core/fsutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strbuf.h"

static atomic_int part_counter;

int cf_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* mkdir that accepts an existing directory but not an existing file. */
static int make_dir(const char *p) {
  if (mkdir(p, 0777) == 0) return 0;
  if (errno != EEXIST) return -1;
  struct stat st;
  if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  errno = ENOTDIR;
  return -1;
}

int cf_mkdirs(cf_ctx *ctx, const char *path, int is_dir) {
  char *p = strdup(path);
  if (!p) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  if (!is_dir) {
    char *slash = strrchr(p, '/');
    if (!slash) {
      free(p);
      return CF_OK;
    }
    *slash = '\0';
  }
  for (char *q = p + 1; *q; q++) {
    if (*q != '/') continue;
    *q = '\0';
    if (make_dir(p)) goto fail;
    *q = '/';
  }
  if (p[0] && make_dir(p)) goto fail;
  free(p);
  return CF_OK;
fail:;
  int rc = cf_error(ctx, CF_EIO, p, "", "cannot create directory: %s", strerror(errno));
  free(p);
  return rc;
}

int cf_atomic_begin(cf_ctx *ctx, const char *final_path, cf_atomic_file *af) {
  memset(af, 0, sizeof *af);
  int rc = cf_mkdirs(ctx, final_path, 0);
  if (rc) return rc;
  char *dir = cf_path_dirname(final_path);
  const char *base = strrchr(final_path, '/');
  base = base ? base + 1 : final_path;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%s/.%s.part-%ld-%d", dir ? dir : ".", base, (long)getpid(),
                   atomic_fetch_add(&part_counter, 1));
  free(dir);
  af->part_path = cf_strbuf_take(&sb);
  af->final_path = strdup(final_path);
  if (!af->part_path || !af->final_path) {
    cf_atomic_end(af);
    return cf_error(ctx, CF_ENOMEM, final_path, "", "out of memory");
  }
  return CF_OK;
}

int cf_atomic_commit(cf_ctx *ctx, cf_atomic_file *af) {
  if (rename(af->part_path, af->final_path) != 0)
    return cf_error(ctx, CF_EIO, af->final_path, "", "cannot rename %s into place: %s",
                    af->part_path, strerror(errno));
  free(af->part_path);
  af->part_path = NULL;
  return CF_OK;
}

void cf_atomic_end(cf_atomic_file *af) {
  if (af->part_path) unlink(af->part_path);
  free(af->part_path);
  free(af->final_path);
  memset(af, 0, sizeof *af);
}

char *cf_path_join(const char *base_dir, const char *rel) {
  if (!rel) return NULL;
  if (rel[0] == '/' || !base_dir || !base_dir[0] || strcmp(base_dir, ".") == 0) return strdup(rel);
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%s/%s", base_dir, rel);
  return cf_strbuf_take(&sb);
}

char *cf_path_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

char *cf_path_stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? strndup(base, (size_t)(dot - base)) : strdup(base);
}

char *cf_str_replace(const char *tmpl, const char *key, const char *value) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  char pat[128];
  snprintf(pat, sizeof pat, "{%s}", key);
  size_t plen = strlen(pat);
  const char *p = tmpl, *hit;
  while ((hit = strstr(p, pat)) != NULL) {
    cf_strbuf_putn(&sb, p, (size_t)(hit - p));
    cf_strbuf_puts(&sb, value);
    p = hit + plen;
  }
  cf_strbuf_puts(&sb, p);
  return cf_strbuf_take(&sb);
}
