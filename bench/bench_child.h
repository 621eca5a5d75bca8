/*
 * Running one contender of a benchmark as a child process and measuring it.
 *
 * Each contender runs in its own process so that its figures are its own:
 * wall time from a monotonic clock around spawn..exit, and peak resident
 * memory from the kernel's accounting of that process (wait4's ru_maxrss).
 * A caveat the caller must respect: Linux carries the *spawning* process's
 * RSS high-water mark into the child's ru_maxrss at exec time, so the
 * parent must stay small (do heavy work in children, not in the parent).
 */
#ifndef CF_BENCH_CHILD_H
#define CF_BENCH_CHILD_H

typedef struct {
  double wall_s;   /* spawn to exit, CLOCK_MONOTONIC */
  double cpu_s;    /* user + system CPU time of the child (and its waited-for children) */
  long maxrss_kb;  /* peak resident set of the child, KiB */
  double others_cpu_s; /* CPU time the rest of the machine used meanwhile (other
                          processes, kernel writeback): contention, if large */
  int ok;          /* exited normally with status 0 */
  char how[64];    /* "exit 0", "exit 2", "signal 9", "spawn failed: ..." */
} bench_child;

/* Run argv[0] (a path, not searched in PATH) with argv, stdin from
 * /dev/null and stdout+stderr appended to log_path. Returns 0 if the child
 * ran and exited 0, -1 otherwise (details in out->how). */
int bench_child_run(const char *const *argv, const char *log_path, bench_child *out);

/* The peak resident sets of a process tree, sampled from /proc while it
 * runs: a batch parent runs each item in a forked child, and the question
 * "is memory bounded?" is about both. Sampling every `poll_ms` can miss a
 * peak younger than the interval, so each figure is a lower bound; VmHWM is
 * a high-water mark, so a process sampled at least once after its peak is
 * exact. wait4's ru_maxrss (bench_child.maxrss_kb) is the kernel's exact
 * maximum over the child and all its waited-for descendants together. */
typedef struct {
  long root_hwm_kb;    /* the spawned process itself */
  long child_hwm_kb;   /* the largest of its descendants */
  int children_seen;   /* distinct descendant pids sampled */
  int samples;         /* sampling rounds */
} bench_tree;

/* bench_child_run, also sampling the tree's peak RSS every poll_ms. */
int bench_child_run_watched(const char *const *argv, const char *log_path, int poll_ms, bench_child *out,
                            bench_tree *tree);

/* Print the last `lines` lines of a log file to stderr (for failures). */
void bench_log_tail(const char *log_path, int lines);

/* Peak RSS of the calling process so far, KiB (VmHWM), or -1. */
long bench_self_hwm_kb(void);

#endif
