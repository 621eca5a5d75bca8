/* Spawning and measuring benchmark contenders; see bench_child.h. */
#define _DEFAULT_SOURCE /* wait4, struct rusage */
#include "bench_child.h"
#include "bench_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* VmHWM of a process in KiB, or -1 (gone, or a zombie without memory). */
static long proc_hwm_kb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

enum { SEEN_MAX = 65536 };
typedef struct {
  bench_tree *tree;
  long *seen; /* distinct descendant pids so far, for children_seen */
} tree_walk;

/* Sample the descendants of `pid` (every thread's children file, and
 * theirs in turn, to `depth` generations). */
static void sample_descendants(tree_walk *w, long pid, int depth) {
  if (depth <= 0) return;
  char path[96];
  snprintf(path, sizeof path, "/proc/%ld/task", pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/proc/%ld/task/%.20s/children", pid, e->d_name);
    FILE *f = fopen(cpath, "r");
    if (!f) continue;
    long child;
    while (fscanf(f, "%ld", &child) == 1) {
      long kb = proc_hwm_kb(child);
      if (kb > w->tree->child_hwm_kb) w->tree->child_hwm_kb = kb;
      int known = 0;
      for (int i = 0; i < w->tree->children_seen && !known; i++) known = w->seen[i] == child;
      if (!known && w->tree->children_seen < SEEN_MAX) w->seen[w->tree->children_seen++] = child;
      sample_descendants(w, child, depth - 1);
    }
    fclose(f);
  }
  closedir(d);
}

static int run(const char *const *argv, const char *log_path, int poll_ms, bench_child *out, bench_tree *tree) {
  memset(out, 0, sizeof *out);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);

  tree_walk walk = {tree, NULL};
  if (tree) {
    memset(tree, 0, sizeof *tree);
    tree->root_hwm_kb = tree->child_hwm_kb = -1;
    walk.seen = malloc(SEEN_MAX * sizeof *walk.seen);
    if (!walk.seen) {
      posix_spawn_file_actions_destroy(&fa);
      snprintf(out->how, sizeof out->how, "out of memory");
      return -1;
    }
  }
  /* posix_spawn's argv is char *const[] for historical reasons; it does not
   * write to the strings */
  double busy0 = bench_machine_busy_s(), t0 = now_s();
  pid_t pid;
  int e = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    free(walk.seen);
    snprintf(out->how, sizeof out->how, "spawn failed: %s", strerror(e));
    return -1;
  }
  int status;
  struct rusage ru;
  pid_t w;
  for (;;) {
    w = wait4(pid, &status, tree ? WNOHANG : 0, &ru);
    if (w < 0 && errno == EINTR) continue;
    if (w != 0) break;
    /* still running: sample the tree, then sleep */
    long kb = proc_hwm_kb(pid);
    if (kb > tree->root_hwm_kb) tree->root_hwm_kb = kb;
    sample_descendants(&walk, pid, 4);
    tree->samples++;
    struct timespec nap = {poll_ms / 1000, (long)(poll_ms % 1000) * 1000000L};
    nanosleep(&nap, NULL);
  }
  free(walk.seen);
  out->wall_s = now_s() - t0;
  double busy1 = bench_machine_busy_s();
  if (w < 0) {
    snprintf(out->how, sizeof out->how, "wait4 failed: %s", strerror(errno));
    return -1;
  }
  out->maxrss_kb = ru.ru_maxrss; /* Linux reports KiB */
  out->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec * 1e-6;
  if (busy0 >= 0 && busy1 >= 0)
    out->others_cpu_s = busy1 - busy0 > out->cpu_s ? busy1 - busy0 - out->cpu_s : 0.0;
  if (WIFEXITED(status)) {
    snprintf(out->how, sizeof out->how, "exit %d", WEXITSTATUS(status));
    out->ok = WEXITSTATUS(status) == 0;
  } else if (WIFSIGNALED(status)) {
    snprintf(out->how, sizeof out->how, "signal %d", WTERMSIG(status));
  } else {
    snprintf(out->how, sizeof out->how, "status 0x%x", status);
  }
  return out->ok ? 0 : -1;
}

int bench_child_run(const char *const *argv, const char *log_path, bench_child *out) {
  return run(argv, log_path, 0, out, NULL);
}

int bench_child_run_watched(const char *const *argv, const char *log_path, int poll_ms, bench_child *out,
                            bench_tree *tree) {
  return run(argv, log_path, poll_ms > 0 ? poll_ms : 1, out, tree);
}

void bench_log_tail(const char *log_path, int lines) {
  FILE *f = fopen(log_path, "r");
  if (!f) return;
  /* a ring of line starts is overkill here: read the last 8 KiB */
  char buf[8192];
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
  fseek(f, from, SEEK_SET);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = buf + n;
  int seen = 0;
  while (p > buf && seen <= lines)
    if (*--p == '\n') seen++;
  if (*p == '\n') p++;
  fprintf(stderr, "--- last lines of %s ---\n%s%s", log_path, p, n && buf[n - 1] != '\n' ? "\n" : "");
}

long bench_self_hwm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}
