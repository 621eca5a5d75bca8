/* The atomic-output protocol and path helpers; see fsutil.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "core/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/output_journal.h"
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
  int rc = cf_error(ctx, CF_EIO, path, "", "cannot create directory '%s': %s", p, strerror(errno));
  free(p);
  return rc;
}

int cf_dir_unwritable(const char *dir, char *why, size_t n) {
  char *p = strdup(dir && dir[0] ? dir : ".");
  if (!p) return snprintf(why, n, "out of memory"), 1;
  struct stat sb;
  /* the nearest part of the path that exists: the rest is to be made in it */
  while (stat(p, &sb) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) { /* ENOTDIR: a file further up, found below */
      snprintf(why, n, "'%s': %s", p, strerror(errno));
      free(p);
      return 1;
    }
    char *slash = strrchr(p, '/');
    if (!slash) {
      snprintf(p, strlen(p) + 1, ".");
    } else if (slash == p) {
      p[1] = '\0';
    } else {
      *slash = '\0';
    }
  }
  int bad = 1;
  if (!S_ISDIR(sb.st_mode))
    snprintf(why, n, "'%s' is not a directory", p);
  else if (access(p, W_OK | X_OK) != 0)
    snprintf(why, n, "cannot write in directory '%s': %s", p, strerror(errno));
  else
    bad = 0;
  free(p);
  return bad;
}

/* Is `name` a part file of `base` (".BASE.part-PID-N" with an optional
 * suffix such as ".src.tif" that a writer derives from the part name)?
 * Sets *pid. */
static int part_file_pid(const char *name, const char *base, long *pid) {
  size_t bl = strlen(base);
  if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 || strncmp(name + 1 + bl, ".part-", 6) != 0) return 0;
  const char *p = name + 1 + bl + 6;
  char *end;
  errno = 0;
  long v = strtol(p, &end, 10);
  if (end == p || *end != '-' || errno || v <= 0) return 0;
  const char *q = end + 1;
  if (*q < '0' || *q > '9') return 0;
  while (*q >= '0' && *q <= '9') q++;
  if (*q && *q != '.') return 0;
  *pid = v;
  return 1;
}

/* Remove the part files of `base` in `dir` left by processes that no longer
 * run (killed with SIGKILL, or by a power cut): their PID is not alive. A
 * live PID's part file is another run's work in progress and stays. */
static void remove_stale_parts(const char *dir, const char *base) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  struct dirent *e;
  long self = (long)getpid();
  while ((e = readdir(d)) != NULL) {
    long pid;
    if (!part_file_pid(e->d_name, base, &pid) || pid == self) continue;
    if (pid > INT_MAX || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
      unlinkat(dfd, e->d_name, 0); /* unlinks a symlink itself, never its target */
  }
  closedir(d);
}

void cf_remove_part_files_of(cf_ctx *ctx, const char *dir, long pid, const char *why) {
  char tag[48];
  snprintf(tag, sizeof tag, ".part-%ld-", pid);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0) close(dfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] == '.' && strstr(e->d_name, tag) && unlinkat(dfd, e->d_name, 0) == 0)
      cf_log(ctx, CF_LOG_INFO, "removed %s/%s, %s", dir, e->d_name, why);
  closedir(d);
}

/* The PID in any part file name ("." NAME ".part-PID-N" [suffix]), else 0. */
static long any_part_pid(const char *name) {
  const char *at = name[0] == '.' ? strstr(name + 1, ".part-") : NULL;
  if (!at) return 0;
  char *end;
  errno = 0;
  long v = strtol(at + 6, &end, 10);
  if (end == at + 6 || *end != '-' || errno || v <= 0 || end[1] < '0' || end[1] > '9') return 0;
  return v;
}

int cf_remove_stale_part_files(cf_ctx *ctx, const char *dir, const char *why) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0) close(dfd);
    return 0;
  }
  struct dirent *e;
  long self = (long)getpid();
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    long pid = any_part_pid(e->d_name);
    if (pid <= 0 || pid == self) continue;
    if ((pid > INT_MAX || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) && unlinkat(dfd, e->d_name, 0) == 0) {
      cf_log(ctx, CF_LOG_INFO, "removed %s/%s, %s", dir, e->d_name, why);
      n++;
    }
  }
  closedir(d);
  return n;
}

int cf_atomic_begin(cf_ctx *ctx, const char *final_path, cf_atomic_file *af) {
  memset(af, 0, sizeof *af);
  if (!cf_get_overwrite(ctx) && cf_file_exists(final_path))
    return cf_error(ctx, CF_EINVAL, final_path, "", "the output exists and --no-overwrite was given");
  int rc = cf_mkdirs(ctx, final_path, 0);
  if (rc) return rc;
  char *dir = cf_path_dirname(final_path);
  const char *base = strrchr(final_path, '/');
  base = base ? base + 1 : final_path;
  af->final_path = strdup(final_path);
  if (!dir || !af->final_path) {
    free(dir);
    cf_atomic_end(af);
    return cf_error(ctx, CF_ENOMEM, final_path, "", "out of memory");
  }
  remove_stale_parts(dir, base);
  /* Reserve the part name: O_EXCL|O_NOFOLLOW never opens an existing file or
   * follows a symlink planted at the (predictable) name; a taken name moves
   * on to the next number. Writers that create the file through a library
   * (GDAL, HDF5, netCDF, PLplot) then truncate this regular file of ours. */
  int err = 0;
  for (int attempt = 0; attempt < 1000 && !af->part_path; attempt++) {
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    cf_strbuf_printf(&sb, "%s/.%s.part-%ld-%d", dir, base, (long)getpid(), atomic_fetch_add(&part_counter, 1));
    char *part = cf_strbuf_take(&sb);
    if (!part) {
      err = ENOMEM;
      break;
    }
    int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) {
      close(fd);
      af->part_path = part;
      break;
    }
    err = errno;
    free(part);
    if (err != EEXIST) break;
  }
  free(dir);
  if (!af->part_path) {
    cf_atomic_end(af);
    return err == ENOMEM ? cf_error(ctx, CF_ENOMEM, final_path, "", "out of memory")
                         : cf_error(ctx, CF_EIO, final_path, "", "cannot create a temporary file next to it: %s",
                                    strerror(err));
  }
  return CF_OK;
}

int cf_create_exclusive(cf_ctx *ctx, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) return cf_error(ctx, CF_EIO, path, "", "cannot create the temporary file: %s", strerror(errno));
  close(fd);
  return CF_OK;
}

int cf_atomic_commit(cf_ctx *ctx, cf_atomic_file *af) {
  cf_output_journal_note(ctx, af->final_path, af->part_path); /* taken back if the run fails */
  if (rename(af->part_path, af->final_path) != 0) {
    int e = errno;
    cf_output_journal_forget(ctx, af->final_path);
    return cf_error(ctx, CF_EIO, af->final_path, "", "cannot rename %s into place: %s", af->part_path, strerror(e));
  }
  free(af->part_path);
  af->part_path = NULL;
  return CF_OK;
}

int cf_atomic_commit_all(cf_ctx *ctx, cf_atomic_file *const *files, int n) {
  char **kept = calloc((size_t)n + 1, sizeof *kept); /* hard links to the old files */
  int *existed = calloc((size_t)n + 1, sizeof *existed);
  if (!kept || !existed) {
    free(kept);
    free(existed);
    return cf_error(ctx, CF_ENOMEM, n ? files[0]->final_path : "", "", "out of memory");
  }
  int rc = CF_OK, committed = 0;
  for (int i = 0; i < n && !rc; i++) {
    cf_atomic_file *af = files[i];
    existed[i] = cf_file_exists(af->final_path);
    if (existed[i]) {
      cf_strbuf sb;
      cf_strbuf_init(&sb);
      cf_strbuf_printf(&sb, "%s.old", af->part_path); /* the part name is ours, so is this one */
      kept[i] = cf_strbuf_take(&sb);
      if (kept[i] && link(af->final_path, kept[i]) != 0) {
        free(kept[i]);
        kept[i] = NULL;
      }
    }
    rc = cf_atomic_commit(ctx, af);
    if (!rc) committed++;
  }
  for (int i = 0; i < n; i++) {
    if (rc && i < committed) { /* undo: the old file back, or none where there was none */
      if (kept[i])
        rename(kept[i], files[i]->final_path);
      else if (!existed[i])
        unlink(files[i]->final_path);
    } else if (kept[i]) {
      unlink(kept[i]);
    }
    free(kept[i]);
  }
  free(kept);
  free(existed);
  return rc;
}

int cf_atomic_write_text(cf_ctx *ctx, const cf_atomic_file *af, const char *text) {
  return cf_atomic_write_bytes(ctx, af, text, strlen(text));
}

int cf_write_text_file_atomic(cf_ctx *ctx, const char *path, const char *text) {
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (!rc) rc = cf_atomic_write_text(ctx, &af, text);
  if (!rc) rc = cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  return rc;
}

int cf_atomic_write_bytes(cf_ctx *ctx, const cf_atomic_file *af, const void *data, size_t n) {
  errno = 0;
  FILE *f = fopen(af->part_path, "wb");
  if (!f) return cf_error(ctx, CF_EIO, af->final_path, "", "cannot write: %s", strerror(errno));
  int ok = fwrite(data, 1, n, f) == n;
  int e = errno;
  if (fclose(f) != 0) ok = 0, e = errno;
  if (ok) return CF_OK;
  int why = cf_write_errno(af->part_path, e, 65536.0);
  return cf_error(ctx, CF_EIO, af->final_path, "", "write failed: %s", strerror(why ? why : e ? e : EIO));
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

/* The existing part of an absolute path resolved by realpath, the rest (not
 * existing yet, so no symlinks in it) appended with "." and ".." applied. */
char *cf_path_real(const char *path) {
  if (!path || !path[0]) return NULL;
  char *abs;
  if (path[0] == '/') {
    abs = strdup(path);
  } else {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    abs = cf_path_join(cwd, path);
  }
  if (!abs) return NULL;
  size_t n = strlen(abs);
  char *head = strdup(abs);
  char *real = NULL;
  size_t tail = n; /* abs + tail: components that do not exist */
  while (head && !(real = realpath(head, NULL))) {
    if (errno != ENOENT && errno != ENOTDIR) break;
    char *slash = strrchr(head, '/');
    if (!slash) break;
    tail = (size_t)(slash - head) + 1;
    if (slash == head) {
      real = strdup("/");
      break;
    }
    *slash = '\0';
  }
  free(head);
  if (!real) {
    free(abs);
    return NULL;
  }
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, strcmp(real, "/") ? real : "");
  free(real);
  for (char *c = abs + (tail < n ? tail : n); *c;) {
    char *e = strchr(c, '/');
    size_t len = e ? (size_t)(e - c) : strlen(c);
    if (len == 0 || (len == 1 && c[0] == '.')) {
      /* nothing */
    } else if (len == 2 && c[0] == '.' && c[1] == '.') {
      const char *s = cf_strbuf_str(&sb);
      const char *last = strrchr(s, '/');
      if (last && sb.s) { /* drop the last component */
        sb.len = (size_t)(last - s);
        sb.s[sb.len] = '\0';
      }
    } else {
      cf_strbuf_puts(&sb, "/");
      cf_strbuf_putn(&sb, c, len);
    }
    c += len;
    if (*c == '/') c++;
  }
  if (cf_strbuf_str(&sb)[0] == '\0') cf_strbuf_puts(&sb, "/");
  free(abs);
  return cf_strbuf_take(&sb);
}

char *cf_path_relative(const char *path, const char *from_dir, int *shared) {
  char *rp = cf_path_real(path), *rd = cf_path_real(from_dir);
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (!rp || !rd) sb.failed = 1;
  size_t common = 0; /* length of the shared folder prefix of rd, ending before a '/' or at its end */
  int n_shared = 0;
  if (rp && rd && strcmp(rd, "/")) {
    for (size_t i = 1; rd[i - 1] && rd[i - 1] == rp[i - 1]; i++)
      if ((rd[i] == '/' || !rd[i]) && (rp[i] == '/' || !rp[i])) common = i, n_shared++;
    for (const char *p = rd + common; *p; p++)
      if (*p == '/') cf_strbuf_puts(&sb, "../");
  }
  if (rp) cf_strbuf_puts(&sb, rp[common] == '/' ? rp + common + 1 : rp + common);
  if (rp && !rp[common] && !sb.len) cf_strbuf_puts(&sb, "."); /* path is from_dir itself */
  if (shared) *shared = n_shared;
  free(rp), free(rd);
  return cf_strbuf_take(&sb);
}

char *cf_path_recorded_relative(const char *path, const char *doc_path) {
  if (!doc_path || !path || !cf_file_exists(path)) return NULL;
  char *dir = cf_path_dirname(doc_path);
  char *rel = dir ? cf_path_relative(path, dir, NULL) : NULL;
  free(dir);
  return rel;
}

char *cf_path_identity(const char *path) {
  char *real = cf_path_real(path);
  struct stat st;
  if (!real || stat(real, &st) != 0) return real;
  free(real);
  char buf[64];
  snprintf(buf, sizeof buf, "#%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
  return strdup(buf);
}

int cf_path_same(const char *a, const char *b) {
  char *ia = cf_path_identity(a), *ib = cf_path_identity(b);
  int same = ia && ib ? strcmp(ia, ib) == 0 : strcmp(a, b) == 0;
  free(ia);
  free(ib);
  return same;
}

int cf_stem_is_safe(const char *stem) {
  return stem && stem[0] && strcmp(stem, ".") != 0 && strcmp(stem, "..") != 0 && !strchr(stem, '/');
}

int cf_write_errno(const char *path, int e, double min_free) {
  if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS) return e;
  char *dir = cf_path_dirname(path);
  struct statvfs vs;
  int full = dir && statvfs(dir[0] ? dir : "/", &vs) == 0 && (double)vs.f_bavail * vs.f_frsize < min_free;
  free(dir);
  return full ? ENOSPC : 0;
}

int cf_atomic_write_json_csv(cf_ctx *ctx, const char *json_path, const char *json, const char *csv, const char *what) {
  size_t n = strlen(json_path);
  if (n < 6 || strcmp(json_path + n - 5, ".json") != 0)
    return cf_error(ctx, CF_EINVAL, json_path, "", "the %s's name ends in .json (its CSV goes beside it as .csv)", what);
  char *csv_path = strdup(json_path);
  int rc = csv_path && json && csv ? CF_OK : cf_error(ctx, CF_ENOMEM, json_path, "", "out of memory");
  if (!rc) memcpy(csv_path + n - 5, ".csv", 5);
  cf_atomic_file aj = {0}, ac = {0};
  if (!rc) rc = cf_atomic_begin(ctx, json_path, &aj);
  if (!rc) rc = cf_atomic_begin(ctx, csv_path, &ac);
  if (!rc) rc = cf_atomic_write_text(ctx, &aj, json);
  if (!rc) rc = cf_atomic_write_text(ctx, &ac, csv);
  if (!rc) rc = cf_check_cancel(ctx, json_path, NULL);
  cf_atomic_file *const both[2] = {&aj, &ac};
  if (!rc) rc = cf_atomic_commit_all(ctx, both, 2);
  cf_atomic_end(&aj);
  cf_atomic_end(&ac);
  free(csv_path);
  return rc;
}
