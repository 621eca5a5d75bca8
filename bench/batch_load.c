/*
 * batch_load: the nightly load (issue 11, item 6). Is a week of 1 Hz lidar
 * files, an hour per file, plus a batch of raster tiles processed in a
 * stated time on 2 cores with bounded memory, and does the second night,
 * with one new file, take seconds?
 *
 * Why a driver and not a library call: the question is about the command a
 * cron job runs (`carbonflux batch`, which catalogues its inputs and runs
 * each item in a forked child), so the benchmark runs that command as a
 * child process like a user would and watches its process tree from
 * outside: wall and CPU time from wait4, the peak RSS of the batch process
 * and of its largest item child sampled from /proc (bench_child.h).
 *
 * Why the inputs are cached: simulating an hour of 1 Hz spectra costs about
 * as much CPU as processing it, so the files are made once into --dir and
 * reused by later runs (a file that exists is kept; simulate commits each
 * file whole, so an interrupted generation leaves no half file). The
 * settings they were made with are written beside them and a different set
 * is refused rather than silently mixed.
 *
 * Why each night works on links: a run's inputs are hard links (no copies,
 * same size and mtime) to the first K cached hours in a fresh run
 * directory, so the same cache serves runs of 6, 24 and all files (memory
 * must not grow with K), and night 2 adds one more link: the one new file.
 *
 * Nothing here asserts a speed: figures are printed (bench/README.md).
 */
#define _GNU_SOURCE /* strdup, timegm-free gmtime_r, link */
#include <cpl_conv.h>
#include <dirent.h>
#include <errno.h>
#include <gdal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_child.h"
#include "bench_load.h"
#include "ndvi_bench.h"

/* --- settings ---------------------------------------------------------------- */

/* The hour files: 150 VAD scans of 24 rays of 1 s = 3600 rays, an hour.
 * 32 gates of 256 samples at the simulator's 500 MHz ADC are 76.8 m gates
 * (a pulsed coherent lidar's typical 30-150 m) reaching 120 m + 2.46 km
 * slant (the mixed layer at 75 deg elevation); the FFT is the gate without
 * zero padding (1.95 MHz bins, 1.9 m/s at 2.05 um; the Doppler fit
 * interpolates the peak). The instrument default (40 gates of 400 samples,
 * 512-point FFT) would make ~215 MB files, 36 GB a week: over the disk
 * budget of this machine; these are 87 MB, 14.5 GB a week. */
static const char LIDAR_SETTINGS[] =
    "scan=vad scans=150 rays_per_scan=24 ray_seconds=1 gates=32 gate_samples=256 gate_step=256 fft_size=256";
#define WEEK_START 1780272000L /* 2026-06-01T00:00:00Z */
#define HOUR_S 3600L

typedef struct {
  char dir[PATH_MAX / 2];
  int hours;            /* night 1's full set; night 2 adds hour `hours` */
  int scales[8], nscales; /* smaller night-1 runs for the memory figures */
  int tiles_side;       /* raster tiles: side x side tiles ... */
  int tile_px;          /* ... of tile_px x tile_px pixels */
  int threads;
  int generate_only, skip_raster, poll_ms;
} load_opts;

static const char *carbonflux_bin(void) {
  const char *env = getenv("CARBONFLUX_BIN");
  return env && *env ? env : CF_BENCH_CARBONFLUX_BIN;
}

/* ndvi_scene.c's set-up hook (ndvi_bench.c is not linked) */
void ndvi_gdal_init(void) {
  GDALAllRegister();
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) GDALSetCacheMax64((GIntBig)32 << 20);
}
const char *const ndvi_cog_options[] = {NULL};

/* --- small helpers --------------------------------------------------------------- */

/* snprintf into a path buffer; a path that does not fit ends the benchmark
 * (a truncated path would name another file) */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(out, n, fmt, ap);
  va_end(ap);
  if (len < 0 || (size_t)len >= n) {
    fprintf(stderr, "batch_load: a path under --dir is too long (%s...)\n", out);
    exit(1);
  }
}

static double wall_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * t.tv_nsec;
}

static double load1(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1;
    fclose(f);
  }
  return l;
}

static int mkdirs(const char *path) {
  char tmp[PATH_MAX];
  pathf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
      *p = '/';
    }
  return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static int rm_rf(const char *path) {
  char cmd[PATH_MAX + 32];
  pathf(cmd, sizeof cmd, "rm -rf '%s'", path);
  return system(cmd) == 0 ? 0 : -1;
}

static void hour_name(int h, char *out, size_t n) {
  time_t t = (time_t)(WEEK_START + h * HOUR_S);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, n, "lidar_%Y%m%dT%H%M", &tm);
}

/* The settings file beside the cache: written once, then must match. */
static int check_settings(const char *dir, const char *what, const char *settings) {
  char path[PATH_MAX];
  pathf(path, sizeof path, "%s/SETTINGS", dir);
  FILE *f = fopen(path, "r");
  if (f) {
    char line[1024] = "";
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, settings)) {
      fprintf(stderr, "batch_load: %s in %s were made with other settings:\n  %s\n(now: %s); use another --dir\n", what,
              dir, line, settings);
      return -1;
    }
    return 0;
  }
  f = fopen(path, "w");
  if (!f || fprintf(f, "%s\n", settings) < 0 || fclose(f)) {
    fprintf(stderr, "batch_load: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* --- generation ------------------------------------------------------------------ */

/* hours 0..n-1 into DIR/l0 (truth into DIR/truth); existing files are kept */
static int generate_lidar(const load_opts *o, int n) {
  char l0[PATH_MAX], truth[PATH_MAX], log[PATH_MAX];
  pathf(l0, sizeof l0, "%s/l0", o->dir);
  pathf(truth, sizeof truth, "%s/truth", o->dir);
  pathf(log, sizeof log, "%s/generate.log", o->dir);
  if (mkdirs(l0) || mkdirs(truth) || check_settings(l0, "the lidar hours", LIDAR_SETTINGS)) return -1;
  int made = 0;
  double wall = 0, cpu = 0;
  for (int h = 0; h < n; h++) {
    char name[64], out[PATH_MAX], tr[PATH_MAX];
    hour_name(h, name, sizeof name);
    pathf(out, sizeof out, "%s/%s.h5", l0, name);
    if (exists(out)) continue;
    pathf(tr, sizeof tr, "%s/%s_truth.nc", truth, name);
    /* the argument vector: carbonflux -q --threads T simulate lidar -o OUT
     * --truth TR <settings...> t0=.. seed=.. */
    char th[16], t0[48], seed[32], settings[sizeof LIDAR_SETTINGS];
    snprintf(th, sizeof th, "%d", o->threads);
    snprintf(t0, sizeof t0, "t0=%ld", WEEK_START + h * HOUR_S);
    snprintf(seed, sizeof seed, "seed=%d", h + 1);
    memcpy(settings, LIDAR_SETTINGS, sizeof settings);
    const char *argv[32] = {carbonflux_bin(), "-q", "--threads", th, "simulate", "lidar", "-o", out, "--truth", tr};
    int argc = 10;
    for (char *save = NULL, *tok = strtok_r(settings, " ", &save); tok && argc < 28; tok = strtok_r(NULL, " ", &save))
      argv[argc++] = tok;
    argv[argc++] = t0;
    argv[argc++] = seed;
    argv[argc] = NULL;
    bench_child c;
    if (bench_child_run(argv, log, &c)) {
      fprintf(stderr, "batch_load: simulating %s failed (%s)\n", name, c.how);
      bench_log_tail(log, 20);
      return -1;
    }
    made++, wall += c.wall_s, cpu += c.cpu_s;
    printf("  simulated %s (%d of %d): %.1f s, %.1f CPU s\n", name, h + 1, n, c.wall_s, c.cpu_s);
    fflush(stdout);
  }
  if (made)
    printf("  lidar: %d hour files simulated, %.1f s and %.1f CPU s each on average (load now %.2f)\n", made,
           wall / made, cpu / made, load1());
  return 0;
}

static int generate_tiles(const load_opts *o, const char *self) {
  char dir[PATH_MAX], log[PATH_MAX], settings[128];
  pathf(dir, sizeof dir, "%s/tiles", o->dir);
  pathf(log, sizeof log, "%s/generate.log", o->dir);
  snprintf(settings, sizeof settings, "ndvi_scene %d x %d tiles of %d px", o->tiles_side, o->tiles_side, o->tile_px);
  if (mkdirs(dir) || check_settings(dir, "the raster tiles", settings)) return -1;
  int n = o->tiles_side * o->tile_px;
  for (int r = 0; r < o->tiles_side; r++)
    for (int c = 0; c < o->tiles_side; c++) {
      char path[PATH_MAX], sn[16], sx[16], sy[16], sw[16], st[16];
      pathf(path, sizeof path, "%s/tile_r%dc%d.tif", dir, r, c);
      if (exists(path)) continue;
      /* in a child: GDAL's cache and the generator's buffers stay out of
       * this process, whose RSS Linux would carry into later children */
      snprintf(sn, sizeof sn, "%d", n);
      snprintf(sx, sizeof sx, "%d", c * o->tile_px);
      snprintf(sy, sizeof sy, "%d", r * o->tile_px);
      snprintf(sw, sizeof sw, "%d", o->tile_px);
      snprintf(st, sizeof st, "%d", o->threads);
      char tmp[PATH_MAX + 8];
      pathf(tmp, sizeof tmp, "%s.part", path);
      const char *argv[] = {self, "--generate-tile", tmp, sn, sx, sy, sw, st, NULL};
      bench_child ch;
      if (bench_child_run(argv, log, &ch) || rename(tmp, path)) {
        fprintf(stderr, "batch_load: generating %s failed (%s)\n", path, ch.how);
        bench_log_tail(log, 20);
        return -1;
      }
      printf("  made %s: %.1f s\n", path, ch.wall_s);
      fflush(stdout);
    }
  return 0;
}

/* --- a run directory ------------------------------------------------------------ */

/* Hard-link `name` from the cache into the run's input folder; returns its
 * size in bytes or -1. */
static long long link_input(const char *from_dir, const char *to_dir, const char *name) {
  char from[PATH_MAX], to[PATH_MAX];
  pathf(from, sizeof from, "%s/%s", from_dir, name);
  pathf(to, sizeof to, "%s/%s", to_dir, name);
  struct stat st;
  if (stat(from, &st)) {
    fprintf(stderr, "batch_load: %s: %s\n", from, strerror(errno));
    return -1;
  }
  if (link(from, to) && errno != EEXIST && symlink(from, to)) {
    fprintf(stderr, "batch_load: cannot link %s to %s: %s\n", from, to, strerror(errno));
    return -1;
  }
  return (long long)st.st_size;
}

/* Files in `dir` whose name ends in `suffix`, and how many were modified at
 * or after `since` (wall clock seconds). */
static int count_outputs(const char *dir, const char *suffix, double since, int *newer) {
  DIR *d = opendir(dir);
  int n = 0;
  *newer = 0;
  if (!d) return 0;
  struct dirent *e;
  size_t ls = strlen(suffix);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < ls || strcmp(e->d_name + l - ls, suffix)) continue;
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st)) continue;
    n++;
    if ((double)st.st_mtim.tv_sec + 1e-9 * st.st_mtim.tv_nsec >= since) (*newer)++;
  }
  closedir(d);
  return n;
}

typedef struct {
  const char *what; /* "lidar" or "ndvi" */
  int night, items;
  double input_mb;
  bench_child c;
  bench_tree tree;
  double load_before, load_after;
  int outputs, outputs_new;
} night_run;

static int use_batch; /* 1: `carbonflux batch` exists; 0: `carbonflux run` */

/* every lidar night 1, for the closing table */
static night_run lidar_firsts[10];
static int n_lidar_firsts;

/* One pipeline over a run directory's inputs, measured. */
static int run_pipeline(const load_opts *o, const char *run, const char *pipeline, const char *const *sets, int nsets,
                        night_run *r) {
  char th[16], cat[PATH_MAX], summary[PATH_MAX], log[PATH_MAX];
  snprintf(th, sizeof th, "%d", o->threads);
  pathf(cat, sizeof cat, "%s/%s.catalogue", run, r->what);
  pathf(summary, sizeof summary, "%s/%s_night%d.summary", run, r->what, r->night);
  pathf(log, sizeof log, "%s/%s_night%d.log", run, r->what, r->night);
  const char *argv[40] = {carbonflux_bin(), "-q", "--threads", th, use_batch ? "batch" : "run", pipeline};
  int argc = 6;
  if (use_batch) {
    argv[argc++] = "--catalogue", argv[argc++] = cat;
    argv[argc++] = "--summary", argv[argc++] = summary;
  }
  for (int i = 0; i < nsets && argc < 36; i++) argv[argc++] = "--set", argv[argc++] = sets[i];
  argv[argc] = NULL;
  r->load_before = load1();
  int rc = bench_child_run_watched(argv, log, o->poll_ms, &r->c, &r->tree);
  r->load_after = load1();
  if (rc) {
    fprintf(stderr, "batch_load: %s night %d failed (%s); log %s\n", r->what, r->night, r->c.how, log);
    bench_log_tail(log, 20);
  }
  FILE *f = fopen(summary, "r");
  if (f) {
    char line[512];
    printf("  summary (%s):\n", summary);
    while (fgets(line, sizeof line, f)) printf("    %s", line);
    fclose(f);
  }
  return rc;
}

static void print_run(const night_run *r) {
  double w = r->c.wall_s, ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
  printf("  %-5s night %d, %4d inputs: wall %8.1f s  CPU %8.1f s  %7.1f files/h  %7.1f MB in  %6.2f MB/s\n",
         r->what, r->night, r->items, w, r->c.cpu_s, r->items / w * 3600.0, r->input_mb, r->input_mb / w);
  char child[64] = "none ran";
  if (r->tree.children_seen) snprintf(child, sizeof child, "%.1f MB", r->tree.child_hwm_kb / 1024.0);
  printf("        peak RSS: batch process %.1f MB, largest item child %s (%d children seen, %d samples), "
         "kernel tree max %.1f MB\n",
         r->tree.root_hwm_kb / 1024.0, child, r->tree.children_seen, r->tree.samples, r->c.maxrss_kb / 1024.0);
  printf("        outputs %d, written this night %d; load %.2f -> %.2f, other processes used %.0f %% of the CPUs\n",
         r->outputs, r->outputs_new, r->load_before, r->load_after, 100.0 * r->c.others_cpu_s / (w * ncpu));
  printf("RESULT what=%s night=%d items=%d wall_s=%.2f cpu_s=%.2f files_per_h=%.1f input_mb=%.1f mb_per_s=%.2f "
         "batch_peak_mb=%.1f child_peak_mb=%.1f tree_peak_mb=%.1f outputs_new=%d load=%.2f driver=%s\n",
         r->what, r->night, r->items, w, r->c.cpu_s, r->items / w * 3600.0, r->input_mb, r->input_mb / w,
         r->tree.root_hwm_kb / 1024.0, r->tree.child_hwm_kb / 1024.0, r->c.maxrss_kb / 1024.0, r->outputs_new,
         r->load_after, use_batch ? "batch" : "run");
  fflush(stdout);
}

/* The lidar pipeline of one night over RUN/l0 (the shipped L0 -> L2 and
 * quicklooks pipeline, with the run's paths set on the command line). */
static int lidar_night(const load_opts *o, const char *run, int night, int items, double input_mb, night_run *r) {
  char in[PATH_MAX + 16], l2[PATH_MAX + 32], ql[PATH_MAX + 32], l2dir[PATH_MAX], qldir[PATH_MAX];
  pathf(l2dir, sizeof l2dir, "%s/l2", run);
  pathf(qldir, sizeof qldir, "%s/ql", run);
  if (mkdirs(l2dir) || mkdirs(qldir)) return -1;
  pathf(in, sizeof in, "%s/l0/*.h5", run);
  pathf(l2, sizeof l2, "write.l2.path=%s/{stem}_l2.nc", l2dir);
  pathf(ql, sizeof ql, "write.quicklook.path=%s/{stem}", qldir);
  /* the inputs by --set, the same glob every night (batch's --inputs
   * replaces the list of a stage whose path is already a glob or list; the
   * shipped pipeline names one file) */
  char in_set[PATH_MAX + 32];
  pathf(in_set, sizeof in_set, "ingest.lidar_l0.path=%s", in);
  const char *sets[] = {l2, ql, in_set};
  memset(r, 0, sizeof *r);
  r->what = "lidar", r->night = night, r->items = items, r->input_mb = input_mb;
  double t0 = wall_now();
  int rc = run_pipeline(o, run, CF_BENCH_SOURCE_DIR "/pipelines/lidar-l2.yaml", sets, 3, r);
  r->outputs = count_outputs(l2dir, "_l2.nc", t0, &r->outputs_new);
  print_run(r);
  return rc;
}

static int ndvi_night(const load_opts *o, const char *run, int night, int items, double input_mb, night_run *r) {
  char yaml[PATH_MAX], out[PATH_MAX];
  pathf(yaml, sizeof yaml, "%s/ndvi.yaml", run);
  pathf(out, sizeof out, "%s/ndvi", run);
  if (mkdirs(out)) return -1;
  FILE *f = fopen(yaml, "w");
  if (!f) return -1;
  /* NDVI of every tile into a Float32 COG (write.cog's defaults) */
  char in[PATH_MAX + 16], outs[PATH_MAX + 32];
  pathf(in, sizeof in, "%s/tiles/*.tif", run);
  pathf(outs, sizeof outs, "%s/{stem}_ndvi.tif", out);
  fprintf(f,
          "# written by batch_load: NDVI of each raster tile\n"
          "version: 1\n"
          "description: batch_load raster tiles\n");
  ndvi_pipeline_write(f, in, outs);
  if (fclose(f)) return -1;
  memset(r, 0, sizeof *r);
  r->what = "ndvi", r->night = night, r->items = items, r->input_mb = input_mb;
  double t0 = wall_now();
  int rc = run_pipeline(o, run, yaml, NULL, 0, r);
  r->outputs = count_outputs(out, "_ndvi.tif", t0, &r->outputs_new);
  print_run(r);
  return rc;
}

/* Night 1 over the first k hours (and, for the full set, the tiles), then
 * for the full set night 2 with one hour more. */
static int nights(const load_opts *o, int k, int full) {
  char run[PATH_MAX], l0run[PATH_MAX], l0[PATH_MAX], tiles[PATH_MAX], tilesrun[PATH_MAX];
  pathf(run, sizeof run, "%s/runs/%d", o->dir, k);
  pathf(l0run, sizeof l0run, "%s/l0", run);
  pathf(l0, sizeof l0, "%s/l0", o->dir);
  pathf(tiles, sizeof tiles, "%s/tiles", o->dir);
  pathf(tilesrun, sizeof tilesrun, "%s/tiles", run);
  /* a fresh run directory: night 1 has no catalogue and no outputs */
  if (rm_rf(run) || mkdirs(l0run) || mkdirs(tilesrun)) return -1;
  double mb = 0;
  for (int h = 0; h < k; h++) {
    char name[80];
    hour_name(h, name, sizeof name - 3);
    strcat(name, ".h5");
    long long sz = link_input(l0, l0run, name);
    if (sz < 0) return -1;
    mb += sz / 1e6;
  }
  printf("\nnight 1: %d hour files (%.1f MB)%s, %d threads, %s\n", k, mb,
         full && !o->skip_raster ? " and the raster tiles" : "", o->threads,
         use_batch ? "carbonflux batch" : "carbonflux run (no batch command in this build)");
  night_run lid, nd;
  int rc = lidar_night(o, run, 1, k, mb, &lid);
  if (!rc && n_lidar_firsts < 10) lidar_firsts[n_lidar_firsts++] = lid;
  double tiles_mb = 0;
  int ntiles = o->tiles_side * o->tiles_side;
  if (!rc && full && !o->skip_raster) {
    for (int r = 0; r < o->tiles_side && tiles_mb >= 0; r++)
      for (int c = 0; c < o->tiles_side; c++) {
        char name[64];
        snprintf(name, sizeof name, "tile_r%dc%d.tif", r, c);
        long long sz = link_input(tiles, tilesrun, name);
        if (sz < 0) return -1;
        tiles_mb += sz / 1e6;
      }
    rc = ndvi_night(o, run, 1, ntiles, tiles_mb, &nd);
    if (!rc)
      printf("  night 1 total: %.1f s wall, %.1f CPU s for %d lidar files and %d tiles\n", lid.c.wall_s + nd.c.wall_s,
             lid.c.cpu_s + nd.c.cpu_s, k, ntiles);
  }
  if (rc || !full) return rc;
  if (!use_batch) {
    printf("\nnight 2: skipped: without `carbonflux batch` every input would be processed again\n");
    return 0;
  }
  char name[80];
  hour_name(k, name, sizeof name - 3);
  strcat(name, ".h5");
  long long sz = link_input(l0, l0run, name);
  if (sz < 0) return -1;
  printf("\nnight 2: one new hour file (%s) beside the %d of night 1\n", name, k);
  rc = lidar_night(o, run, 2, k + 1, mb + sz / 1e6, &lid);
  if (!rc)
    printf("  items that ran: %d (L2 files written during night 2; target exactly 1), L2 files now %d\n",
           lid.outputs_new, lid.outputs);
  if (!rc && !o->skip_raster) {
    rc = ndvi_night(o, run, 2, ntiles, tiles_mb, &nd);
    if (!rc) printf("  tiles that ran: %d (target 0: none changed)\n", nd.outputs_new);
  }
  /* night 3, nothing new: what the catalogue costs alone (stat of every
   * input, no hashing, no item), night 2 less its one item */
  if (!rc) {
    printf("\nnight 3: nothing new (the catalogue's own cost over %d unchanged inputs)\n", k + 1);
    rc = lidar_night(o, run, 3, k + 1, mb + sz / 1e6, &lid);
    if (!rc) printf("  items that ran: %d (target 0)\n", lid.outputs_new);
  }
  return rc;
}

/* Night 1 against the number of files: per-file time (constant if the
 * batch scales linearly), memory (constant if it is bounded), and the week
 * extrapolated from the largest run. */
static void summarize_firsts(void) {
  if (!n_lidar_firsts) return;
  printf("\nlidar night 1 by number of files:\n");
  printf("  %6s %10s %12s %12s %14s %14s %8s\n", "files", "wall s", "wall s/file", "CPU s/file", "batch peak MB",
         "child peak MB", "load");
  for (int i = 0; i < n_lidar_firsts; i++) {
    const night_run *r = &lidar_firsts[i];
    printf("  %6d %10.1f %12.2f %12.2f %14.1f %14.1f %8.2f\n", r->items, r->c.wall_s, r->c.wall_s / r->items,
           r->c.cpu_s / r->items, r->tree.root_hwm_kb / 1024.0, r->tree.child_hwm_kb / 1024.0, r->load_after);
  }
  const night_run *big = &lidar_firsts[n_lidar_firsts - 1];
  if (big->items != 168)
    printf("  a week (168 files) at the largest run's rate: %.0f s wall (%.1f h), %.0f CPU s; that CPU time "
           "over %ld cores (an idle machine's wall time cannot be lower): %.0f s\n",
           168.0 * big->c.wall_s / big->items, 168.0 * big->c.wall_s / big->items / 3600.0,
           168.0 * big->c.cpu_s / big->items, sysconf(_SC_NPROCESSORS_ONLN),
           168.0 * big->c.cpu_s / big->items / (double)sysconf(_SC_NPROCESSORS_ONLN));
}

/* --- main ------------------------------------------------------------------------ */

static int parse_scales(load_opts *o, const char *s) {
  o->nscales = 0;
  for (const char *p = s; *p && o->nscales < 8;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1) return -1;
    o->scales[o->nscales++] = (int)v;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: batch_load --dir DIR [--hours N] [--scales K1,K2,..] [--tiles SIDE] [--tile-px PX]\n"
          "                  [--threads T] [--poll-ms MS] [--generate-only] [--skip-raster]\n");
}

int main(int argc, char **argv) {
  if (argc == 8 && !strcmp(argv[1], "--generate-tile"))
    return ndvi_scene_write_window(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                                   atoi(argv[6]), atoi(argv[7]) > 0 ? atoi(argv[7]) : 1)
               ? 2
               : 0;
  load_opts o = {.hours = 168, .scales = {6, 24}, .nscales = 2, .tiles_side = 3, .tile_px = 4000, .threads = 2,
                 .poll_ms = 20};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--dir") && v) snprintf(o.dir, sizeof o.dir, "%s", argv[++i]);
    else if (!strcmp(a, "--hours") && v) o.hours = atoi(argv[++i]);
    else if (!strcmp(a, "--scales") && v) {
      if (parse_scales(&o, argv[++i])) return usage(), 1;
    } else if (!strcmp(a, "--tiles") && v) o.tiles_side = atoi(argv[++i]);
    else if (!strcmp(a, "--tile-px") && v) o.tile_px = atoi(argv[++i]);
    else if (!strcmp(a, "--threads") && v) o.threads = atoi(argv[++i]);
    else if (!strcmp(a, "--poll-ms") && v) o.poll_ms = atoi(argv[++i]);
    else if (!strcmp(a, "--generate-only")) o.generate_only = 1;
    else if (!strcmp(a, "--skip-raster")) o.skip_raster = 1;
    else return usage(), 1;
  }
  if (!o.dir[0] || o.hours < 1 || o.hours > 10000 || o.tiles_side < 1 || o.tile_px < 256 || o.threads < 1 ||
      o.poll_ms < 1)
    return usage(), 1;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 2;
  self[n] = '\0';
  if (mkdirs(o.dir)) {
    fprintf(stderr, "batch_load: cannot create %s: %s\n", o.dir, strerror(errno));
    return 1;
  }

  /* which command a night runs */
  char log[PATH_MAX];
  pathf(log, sizeof log, "%s/probe.log", o.dir);
  const char *probe[] = {carbonflux_bin(), "batch", "--help", NULL};
  bench_child pc;
  use_batch = bench_child_run(probe, log, &pc) == 0;
  printf("carbonflux batch load (%ld cores, --threads %d), cache and runs in %s, load %.2f\n",
         sysconf(_SC_NPROCESSORS_ONLN), o.threads, o.dir, load1());
  printf("lidar hours: %s\n", LIDAR_SETTINGS);

  printf("\ngenerating (kept in %s; existing files are reused)\n", o.dir);
  if (generate_lidar(&o, o.hours + 1)) return 2;
  if (!o.skip_raster && generate_tiles(&o, self)) return 2;
  if (o.generate_only) return 0;

  bench_load others; /* over every night measured, generation excluded */
  bench_load_start(&others);
  for (int i = 0; i < o.nscales; i++)
    if (o.scales[i] < o.hours && nights(&o, o.scales[i], 0)) return 2;
  if (nights(&o, o.hours, 1)) return 2;
  summarize_firsts();
  printf("\nload at the end %.2f\n", load1());
  bench_load_print("over all nights (the batch children excluded)", bench_load_others(&others));
  return 0;
}
