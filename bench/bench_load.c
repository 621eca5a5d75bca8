/* The machine's other load during a benchmark; see bench_load.h. */
#define _DEFAULT_SOURCE /* getrusage's RUSAGE_CHILDREN */
#include "bench_load.h"

#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double bench_machine_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq,
                 &softirq, &steal);
  fclose(f);
  if (n != 8) return -1;
  return (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void) {
  double s = 0;
  int who[2] = {RUSAGE_SELF, RUSAGE_CHILDREN};
  for (int i = 0; i < 2; i++) {
    struct rusage ru;
    if (getrusage(who[i], &ru) == 0)
      s += (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
  }
  return s;
}

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void bench_load_start(bench_load *b) {
  b->t0 = wall_s();
  b->busy0 = bench_machine_busy_s();
  b->own0 = own_cpu_s();
}

double bench_load_others(const bench_load *b) {
  double busy1 = bench_machine_busy_s(), wall = wall_s() - b->t0, own = own_cpu_s() - b->own0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (b->busy0 < 0 || busy1 < 0 || !(wall > 0)) return NAN;
  double others = busy1 - b->busy0 - own;
  return (others > 0 ? others : 0.0) / (wall * (ncpu > 0 ? ncpu : 1));
}

void bench_load_print(const char *what, double share) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (!isfinite(share)) {
    printf("  other load on the machine: unknown (no /proc/stat) %s\n", what);
    return;
  }
  printf("  other load on the machine %6.1f%%     of its %ld CPU(s) %s\n", 100 * share, ncpu, what);
  if (share > 0.05)
    printf("  WARNING: other processes competed for the CPUs; wall times and their ratios are distorted.\n");
}
