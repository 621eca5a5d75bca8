/*
 * Isolation in a child process; see isolate.h for why and the invariants.
 */
#include "core/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  cf_isolated_fn fn;
  void *arg;
  int fd, threads;
} child_job;

static void *child_main(void *p) {
  child_job *j = p;
  omp_set_num_threads(j->threads); /* the ICV is per thread: carry it over */
  j->fn(j->arg, j->fd);
  return NULL;
}

static _Noreturn void child_run(cf_isolated_fn fn, void *arg, int fd) {
  child_job j = {fn, arg, fd, omp_get_max_threads()};
  pthread_t t;
  if (pthread_create(&t, NULL, child_main, &j) == 0)
    pthread_join(t, NULL);
  else
    child_main(&j); /* no thread to be had: this one is fine unless the parent ran OpenMP */
  fflush(NULL);
  _exit(0);
}

int cf_child_start(cf_child *c, cf_isolated_fn fn, void *arg) {
  memset(c, 0, sizeof *c);
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  fflush(NULL); /* or the child would write the parent's buffered output again */
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    child_run(fn, arg, fds[1]);
  }
  close(fds[1]);
  c->pid = pid;
  c->fd = fds[0];
  return 0;
}

void cf_child_put(int fd, char type, const void *data, uint32_t len) {
  if (fd < 0) return;
  unsigned char head[5];
  head[0] = (unsigned char)type;
  memcpy(head + 1, &len, 4);
  const unsigned char *parts[2] = {head, data};
  size_t sizes[2] = {5, len};
  for (int k = 0; k < 2; k++)
    for (size_t done = 0; done < sizes[k];) {
      ssize_t w = write(fd, parts[k] + done, sizes[k] - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return; /* the parent is gone: nothing to tell */
      done += (size_t)w;
    }
}

unsigned char *cf_child_read(cf_ctx *ctx, cf_child *c, size_t *len) {
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  int forwarded = 0;
  for (;;) {
    if (buf && n == cap) {
      unsigned char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      } else {
        buf = nb;
        cap *= 2;
      }
    }
    unsigned char sink[4096];
    ssize_t r = buf ? read(c->fd, buf + n, cap - n) : read(c->fd, sink, sizeof sink);
    if (r < 0 && errno == EINTR) {
      if (cf_cancelled(ctx) && !forwarded) kill(c->pid, SIGTERM), forwarded = 1;
      continue;
    }
    if (r <= 0) break;
    if (buf) n += (size_t)r;
  }
  close(c->fd);
  c->fd = -1;
  *len = buf ? n : 0;
  return buf;
}

int cf_child_record(const unsigned char *buf, size_t len, size_t *offset, char *type, const unsigned char **data,
                    uint32_t *n) {
  size_t o = *offset;
  if (!buf || o + 5 > len) return 0;
  uint32_t m;
  memcpy(&m, buf + o + 1, 4);
  if (m > len - o - 5) return 0; /* cut short by a crash */
  *type = (char)buf[o];
  *data = buf + o + 5;
  *n = m;
  *offset = o + 5 + m;
  return 1;
}

int cf_child_wait(cf_ctx *ctx, cf_child *c) {
  memset(&c->exit, 0, sizeof c->exit);
  int forwarded = 0;
  while (waitid(P_PID, (id_t)c->pid, &c->exit, WEXITED | WNOWAIT) != 0 && errno == EINTR)
    if (cf_cancelled(ctx) && !forwarded) kill(c->pid, SIGTERM), forwarded = 1;
  return c->exit.si_code == CLD_EXITED && c->exit.si_status == 0;
}

void cf_child_reap(cf_child *c) {
  while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

static const char *signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGPIPE: return "SIGPIPE";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    default: return NULL;
  }
}

int cf_child_describe(const cf_child *c, char *how, size_t n) {
  const siginfo_t *si = &c->exit;
  int killed = si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED;
  const char *sn = killed ? signal_name(si->si_status) : NULL;
  if (killed && sn)
    snprintf(how, n, "crashed with %s (%s)", sn, strsignal(si->si_status));
  else if (killed)
    snprintf(how, n, "crashed with signal %d (%s)", si->si_status, strsignal(si->si_status));
  else
    snprintf(how, n, "stopped with exit status %d before finishing (a library called exit, or a sanitizer stopped it)",
             si->si_status);
  return killed ? si->si_status : 0;
}
