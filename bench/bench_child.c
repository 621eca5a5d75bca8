/* Spawning and measuring benchmark contenders; see bench_child.h. */
#define _DEFAULT_SOURCE /* wait4, struct rusage */
#include "bench_child.h"

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

/* Busy CPU seconds of the whole machine so far (all CPUs), or -1. */
static double machine_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq,
                 &softirq, &steal);
  fclose(f);
  if (n != 8) return -1;
  /* steal is time the hypervisor gave to other guests: contention too */
  return (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int bench_child_run(const char *const *argv, const char *log_path, bench_child *out) {
  memset(out, 0, sizeof *out);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);

  /* posix_spawn's argv is char *const[] for historical reasons; it does not
   * write to the strings */
  double busy0 = machine_busy_s(), t0 = now_s();
  pid_t pid;
  int e = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    snprintf(out->how, sizeof out->how, "spawn failed: %s", strerror(e));
    return -1;
  }
  int status;
  struct rusage ru;
  pid_t w;
  do {
    w = wait4(pid, &status, 0, &ru);
  } while (w < 0 && errno == EINTR);
  out->wall_s = now_s() - t0;
  double busy1 = machine_busy_s();
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
