/*
 * The machine's other load while a benchmark measured: every benchmark
 * prints it, because on a shared machine another job on the same cores
 * can double a wall time and a ratio taken under it means little.
 *
 * The kernel's /proc/stat counts the busy time of all CPUs (user, nice,
 * system, irq, softirq, steal); what our own processes used (this process
 * and its waited-for children, from getrusage) is taken off, and the rest
 * over wall time x CPUs is the share of the machine others used. Steal is
 * time the hypervisor gave to other guests: contention too.
 */
#ifndef CF_BENCH_LOAD_H
#define CF_BENCH_LOAD_H

/* Busy CPU seconds of the whole machine so far (all CPUs), or -1. */
double bench_machine_busy_s(void);

typedef struct {
  double t0, busy0, own0; /* wall clock, machine busy and own CPU seconds at the start */
} bench_load;

/* Start a window over which to measure others' load. */
void bench_load_start(bench_load *b);
/* The share (0..1) of the machine's CPUs that other processes used since
 * bench_load_start, or NaN if /proc/stat cannot be read. */
double bench_load_others(const bench_load *b);
/* "other load on the machine  x.x % of its N CPU(s) ..." and a warning above 5 %. */
void bench_load_print(const char *what, double share);

#endif
