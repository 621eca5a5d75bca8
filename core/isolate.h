/*
 * Isolation: run one piece of work (one batch item, one `lidar process`)
 * in a child process, so that a library that crashes on a corrupted input
 * (libhdf5 overflowing a heap buffer in H5Dread, netCDF-C's SEGV in
 * NC4_open) costs that piece, not the run.
 *
 * The child runs `fn` on a fresh thread and talks to the parent through a
 * pipe in records (one type byte, a 4-byte length, the data), which the
 * parent reads until the child closes the pipe or dies. A child that dies
 * without its result record crashed; the parent then describes how
 * (cf_child_describe) and removes the part files it left
 * (cf_remove_part_files_of).
 *
 * Invariants:
 *   - the child never returns into the caller: it _exit()s after `fn`, so
 *     the parent's atexit handlers (GDAL, HDF5, a test harness) and stdio
 *     buffers (flushed before fork) are the parent's alone;
 *   - until cf_child_reap the child is a zombie, so its PID cannot have
 *     been given to another process while the parent cleans up after it;
 *   - a cancellation of the parent (SIGINT, SIGTERM: cf_cancel) is passed on
 *     to the child as SIGTERM, once, and the child stops cleanly by itself.
 *
 * OpenMP: GNU libgomp keeps its thread pool per master thread and is not
 * fork-safe once a team exists (a child that opens a parallel region after
 * the parent did waits forever for the parent's pool threads). `fn` runs
 * on a fresh thread, for which libgomp builds a fresh pool, with the
 * caller's thread count carried over.
 */
#ifndef CF_CORE_ISOLATE_H
#define CF_CORE_ISOLATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carbonflux/ctx.h"

/* The work: runs in the child; reports through cf_child_put(report_fd, ...). */
typedef void (*cf_isolated_fn)(void *arg, int report_fd);

typedef struct {
  pid_t pid;
  int fd;         /* read end of the report pipe */
  siginfo_t exit; /* how the child ended, after cf_child_wait */
} cf_child;

/* Fork a child that runs fn(arg, fd) and exits. Returns 0 in the parent,
 * -1 (errno set) if no child could be made. */
int cf_child_start(cf_child *c, cf_isolated_fn fn, void *arg);
/* Send one record to the parent (in the child); quietly nothing if the
 * parent is gone. */
void cf_child_put(int report_fd, char type, const void *data, uint32_t len);
/* Everything the child sent, until it closed the pipe or died (malloc'ed,
 * NULL if out of memory; *len bytes). Passes a cancellation of `ctx` on. */
unsigned char *cf_child_read(cf_ctx *ctx, cf_child *c, size_t *len);
/* Walk the records of cf_child_read's buffer: returns the record at
 * *offset (advancing it) or 0 at the end or at a record cut short by a
 * crash. */
int cf_child_record(const unsigned char *buf, size_t len, size_t *offset, char *type, const unsigned char **data,
                    uint32_t *n);
/* Wait for the child to end without reaping it; 1 if it exited with 0. */
int cf_child_wait(cf_ctx *ctx, cf_child *c);
/* Reap it: after this its PID may be reused. */
void cf_child_reap(cf_child *c);
/* How it ended, for a message: "crashed with SIGSEGV (Segmentation fault)"
 * or "stopped with exit status N ...". Returns the killing signal, 0 if
 * it was not killed. */
int cf_child_describe(const cf_child *c, char *how, size_t n);

#endif
