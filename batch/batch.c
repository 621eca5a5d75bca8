/*
 * The batch driver (batch.h): what to run, running it, recording it.
 *
 * Order of work, chosen so that a SIGKILL at any instant leaves nothing
 * wrong behind:
 *   1. runs a previous batch left "running" whose process is gone are marked
 *      "interrupted" (they never reached their end; their recorded items
 *      stand, as each was recorded only after its outputs were in place);
 *   2. part files of dead processes are removed from every output directory
 *      (a killed batch's isolated child dies with its process group or
 *      finishes alone; a live PID's part file is left to it);
 *   3. every input in range is fingerprinted and the decision made;
 *   4. the run's row is written ("running"), then each item as it ends;
 *   5. the run's row is closed with its counts ("finished").
 */
#include "batch/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/par.h"
#include "core/strbuf.h"
#include "pipelines/pipeline_internal.h"
#include "pipelines/run_par.h"

static void utc_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000L % 1000));
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* UTC time, PID and 32 random bits: unique across hosts and shards that
 * start in the same second, and sortable by start time. */
static void make_run_id(char *out, size_t cap) {
  unsigned int rnd = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, &rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rnd = (unsigned int)ts.tv_nsec ^ (unsigned int)getpid() * 2654435761u;
  }
  if (fd >= 0) close(fd);
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  char when[24];
  strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(out, cap, "%s-%ld-%08x", when, (long)getpid(), rnd);
}

/* YAML single-quoted scalar: ' doubled, nothing else special. */
static void yaml_quote(cf_strbuf *sb, const char *s) {
  cf_strbuf_puts(sb, "'");
  for (; *s; s++) cf_strbuf_puts(sb, *s == '\'' ? "''" : (char[2]){*s, 0});
  cf_strbuf_puts(sb, "'");
}

/* Load the pipeline; with --inputs, load it once to learn which stage takes
 * the batch and again with that stage's paths set to the globs. */
static int load_pipeline(cf_ctx *ctx, const cf_batch_opts *o, cf_pipeline **out) {
  if (o->ninputs == 0) return cf_pipeline_load(ctx, o->pipeline_path, o->sets, o->nsets, out);
  /* --inputs replaces the batch stage's files before validation, so the
   * example input a shipped pipeline names need not exist */
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, CF_PIPELINE_SET_INPUTS "=[");
  for (int i = 0; i < o->ninputs; i++) {
    if (i) cf_strbuf_puts(&sb, ", ");
    yaml_quote(&sb, o->inputs[i]);
  }
  cf_strbuf_puts(&sb, "]");
  char *set = cf_strbuf_take(&sb);
  const char **sets = calloc((size_t)o->nsets + 1, sizeof *sets);
  if (!set || !sets) {
    free(set);
    free(sets);
    return cf_error(ctx, CF_ENOMEM, o->pipeline_path, "", "out of memory");
  }
  for (int i = 0; i < o->nsets; i++) sets[i] = o->sets[i];
  sets[o->nsets] = set;
  int rc = cf_pipeline_load(ctx, o->pipeline_path, sets, o->nsets + 1, out);
  free(sets);
  free(set);
  return rc;
}

/* The directory of an output path pattern, up to its first "{". */
static char *pattern_dir(const char *base, const char *pattern) {
  size_t n = strcspn(pattern, "{");
  while (n > 0 && pattern[n - 1] != '/') n--;
  /* n == 0: no directory part; n == 1: the root */
  char *dir = n == 0 ? strdup(".") : strndup(pattern, n > 1 ? n - 1 : 1);
  char *full = dir ? cf_path_join(base, dir) : NULL;
  free(dir);
  return full;
}

char *cf_batch_default_catalogue(cf_ctx *ctx, const cf_pipeline *p) {
  for (int s = 0; s < p->nstages; s++) {
    const cf_stage *st = &p->stages[s];
    for (const cf_option_spec *o = st->def->options; o && o->name; o++) {
      const char *v = o->type == CF_OPT_OUTPUT_PATH ? cf_stage_str(st, o->name) : NULL;
      if (!v) continue;
      char *dir = pattern_dir(cf_stage_base_dir(st, cf_stage_value(st, o->name)), v);
      char *path = dir ? cf_path_join(dir, "catalogue.sqlite") : NULL;
      free(dir);
      if (!path) cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
      return path;
    }
  }
  cf_error(ctx, CF_EINVAL, p->doc.source, "", "the pipeline writes no output, so there is no default catalogue beside "
                                            "it; give one with --catalogue FILE");
  return NULL;
}

/* Remove dead processes' part files from every directory an item's output
 * goes to. */
static void clean_output_dirs(cf_ctx *ctx, cf_pipeline *p) {
  char **dirs = NULL;
  int ndirs = 0;
  for (int it = 0; it < (p->nitems > 0 ? p->nitems : 1); it++) {
    cf_run run = {0};
    run.p = p;
    run.item = p->nitems > 0 ? p->items[it] : NULL;
    run.item_stem = run.item ? cf_path_stem(run.item) : NULL;
    for (int s = 0; s < p->nstages; s++)
      for (const cf_option_spec *o = p->stages[s].def->options; o && o->name; o++) {
        if (o->type != CF_OPT_OUTPUT_PATH) continue;
        char *out = cf_stage_path(&p->stages[s], &run, o->name);
        char *dir = out ? cf_path_dirname(out) : NULL;
        free(out);
        int seen = !dir;
        for (int d = 0; d < ndirs && !seen; d++) seen = !strcmp(dirs[d], dir);
        char **nd = seen ? NULL : realloc(dirs, (size_t)(ndirs + 1) * sizeof *dirs);
        if (nd) {
          dirs = nd;
          dirs[ndirs++] = dir;
        } else {
          free(dir);
        }
      }
    free(run.item_stem);
  }
  for (int d = 0; d < ndirs; d++) {
    cf_remove_stale_part_files(ctx, dirs[d], "left by a batch that was killed");
    free(dirs[d]);
  }
  free(dirs);
}

/* The item's current content hash, from the stored one when size and mtime
 * have not moved (hashed and stored otherwise unless dry). */
static int fingerprint(cf_ctx *ctx, cf_catalogue *cat, const char *path, int dry, char sha[CF_SHA256_HEX_LEN]) {
  struct stat sb;
  if (stat(path, &sb) != 0) return cf_error(ctx, CF_ENOENT, path, "", "cannot read the input: %s", strerror(errno));
  cf_cat_input now = {(long long)sb.st_size, (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec, ""};
  cf_cat_input was;
  int found = cat ? cf_cat_input_get(ctx, cat, path, &was) : 0;
  if (found < 0) return cf_error_code(ctx);
  if (found && was.size == now.size && was.mtime_ns == now.mtime_ns) {
    memcpy(sha, was.sha256, CF_SHA256_HEX_LEN);
    return CF_OK;
  }
  int rc = cf_sha256_file(ctx, path, now.sha256);
  if (rc) return rc;
  memcpy(sha, now.sha256, CF_SHA256_HEX_LEN);
  return cat && !dry ? cf_cat_input_put(ctx, cat, path, &now) : CF_OK;
}

/* Rules of batch.h, in their order. */
static int decide(cf_ctx *ctx, cf_catalogue *cat, const cf_batch_opts *o, const char *pipe_sha,
                  const char *settings_sha, cf_batch_item *it) {
  it->run = 1;
  if (o->force) return it->why = "forced", CF_OK;
  if (!cat) return it->why = "new", CF_OK;
  int q = cf_cat_quarantined(ctx, cat, it->path, it->sha256, it->detail, sizeof it->detail);
  if (q < 0) return cf_error_code(ctx);
  if (q == 1 && !o->retry_quarantined) return it->run = 0, it->why = "quarantined", CF_OK;
  if (q == 2) it->detail[0] = '\0'; /* the old content's reason */
  int seen = cf_cat_seen(ctx, cat, it->path);
  if (seen < 0) return cf_error_code(ctx);
  if (!seen) return it->why = "new", CF_OK;
  cf_cat_done d;
  int rc = cf_cat_last_done(ctx, cat, it->path, &d);
  if (rc) return rc;
  if (!d.item) return it->why = q == 1 ? "retry quarantined" : q == 2 ? "changed" : "not done", CF_OK;
  if (strcmp(d.input_sha256, it->sha256)) return it->why = "changed", CF_OK;
  if (strcmp(d.settings_sha256, settings_sha)) return it->why = "settings changed", CF_OK;
  if (strcmp(d.pipeline_sha256, pipe_sha)) return it->why = "pipeline changed", CF_OK;
  int intact = cf_cat_outputs_intact(ctx, cat, d.item, it->detail, sizeof it->detail);
  if (intact < 0) return cf_error_code(ctx);
  if (!intact) return it->why = "output missing", CF_OK;
  return it->run = 0, it->why = "unchanged", CF_OK;
}

/* --- during the run --------------------------------------------------------- */

typedef struct {
  cf_ctx *ctx;
  cf_catalogue *cat;
  cf_batch_result *r;
} run_state;

/* The item of batch index `index` (the items are in index order). */
static cf_batch_item *item_of(run_state *s, int index) {
  int lo = 0, hi = s->r->nitems;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->r->items[mid].index < index) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->r->nitems && s->r->items[lo].index == index ? &s->r->items[lo] : NULL;
}

static int on_select(void *user, int index, const char *path) {
  cf_batch_item *it = item_of(user, index);
  return it && it->run;
}

static void on_start(void *user, int index, const char *path) {
  run_state *s = user;
  cf_batch_item *it = item_of(s, index);
  char id[16];
  snprintf(id, sizeof id, "%d", index);
  if (cf_log_set_field(s->ctx, "item_id", id)) cf_log_error_chain(s->ctx);
  cf_log_event(s->ctx, CF_LOG_INFO, "item_start", "path", path, "why", it ? it->why : "", "sha256",
               it ? it->sha256 : "", (const char *)NULL);
}

static const char *status_name(cf_item_status st) {
  switch (st) {
    case CF_ITEM_DONE: return "done";
    case CF_ITEM_REJECTED: return "quarantined";
    case CF_ITEM_CANCELLED: return "cancelled";
    default: return "failed";
  }
}

static void on_item(void *user, const cf_item_report *rep) {
  run_state *s = user;
  cf_batch_item *it = item_of(s, rep->index);
  int n = rep->noutputs;
  char **sha = calloc((size_t)n + 1, sizeof *sha);
  long long *size = calloc((size_t)n + 1, sizeof *size);
  for (int i = 0; sha && size && i < n; i++) {
    struct stat sb;
    size[i] = stat(rep->outputs[i], &sb) == 0 && S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1;
    sha[i] = calloc(CF_SHA256_HEX_LEN, 1);
    if (sha[i] && size[i] >= 0 && cf_sha256_file(s->ctx, rep->outputs[i], sha[i])) cf_error_clear(s->ctx);
  }
  char when[32];
  utc_now(when);
  const char *status = status_name(rep->status);
  cf_cat_item row = {s->r->run_id, rep->index, rep->path, it ? it->sha256 : "", it ? it->why : "", status,
                     cf_strerror(rep->code), rep->reason, rep->stage, rep->stages_done, rep->seconds, when, n,
                     rep->outputs, (const char *const *)sha, size};
  int rc = sha && size ? cf_cat_item_record(s->ctx, s->cat, &row)
                       : cf_error(s->ctx, CF_ENOMEM, rep->path, "", "out of memory recording the item");
  if (rc) {
    cf_log_error_chain(s->ctx);
    s->r->catalogue_failed = 1;
  }
  for (int i = 0; sha && i < n; i++) free(sha[i]);
  free(sha);
  free(size);
  if (it) {
    it->status = status;
    it->reason = rep->reason && rep->reason[0] ? strdup(rep->reason) : NULL;
    it->seconds = rep->seconds;
  }
  cf_cat_counts *c = &s->r->counts;
  if (rep->status == CF_ITEM_DONE) c->done++;
  else if (rep->status == CF_ITEM_REJECTED) c->quarantined++;
  else if (rep->status == CF_ITEM_CANCELLED) c->cancelled++;
  else c->failed++;
  char secs[32];
  snprintf(secs, sizeof secs, "%.3f", rep->seconds);
  cf_log_event(s->ctx, rep->status == CF_ITEM_DONE ? CF_LOG_INFO : CF_LOG_WARN, "item_end", "status", status,
               "seconds", secs, (const char *)NULL);
  cf_log_set_field(s->ctx, "item_id", NULL);
}

int cf_batch_exit_code(const cf_cat_counts *c, int catalogue_failed) {
  if (c->failed || c->cancelled || catalogue_failed) return 2;
  int q = c->quarantined + c->still_quarantined;
  if (q && c->done + c->skipped == 0) return 4;
  return q ? 3 : 0;
}

/* --- the batch ----------------------------------------------------------------- */

static int select_items(cf_ctx *ctx, cf_catalogue *cat, const cf_batch_opts *o, cf_pipeline *p, const char *pipe_sha,
                        const char *settings_sha, cf_batch_result *r) {
  int n = p->nitems, first = o->first > 0 ? o->first : 0, last = o->last > 0 && o->last < n ? o->last : n;
  r->items = calloc((size_t)(last > first ? last - first : 1), sizeof *r->items);
  if (!r->items) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  int rc = cat && !o->dry_run ? cf_cat_begin(ctx, cat) : CF_OK; /* the fingerprints in one transaction */
  for (int i = first; i < last && !rc; i++) {
    if (o->shard_n > 0 && i % o->shard_n != o->shard_k) continue;
    cf_batch_item *it = &r->items[r->nitems++];
    it->index = i;
    it->path = strdup(p->items[i]);
    if (!it->path) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    if (rc) break;
    if (fingerprint(ctx, cat, it->path, o->dry_run, it->sha256) == CF_OK) {
      rc = decide(ctx, cat, o, pipe_sha, settings_sha, it);
    } else { /* gone or unreadable since the glob: the runner rejects it with the reason */
      snprintf(it->detail, sizeof it->detail, "%s", cf_error_message(ctx));
      cf_error_clear(ctx);
      it->run = 1;
      it->why = "unreadable";
    }
    r->counts.considered++;
    if (it->run) {
      r->counts.to_run++;
      r->counts.fresh += !strcmp(it->why, "new");
    } else if (!strcmp(it->why, "quarantined")) {
      r->counts.still_quarantined++;
    } else {
      r->counts.skipped++;
    }
  }
  if (cat && !o->dry_run) rc = rc ? (cf_cat_commit(ctx, cat), rc) : cf_cat_commit(ctx, cat);
  return rc;
}

/* The summary's counts as the run's last log record, for a log collector. */
static void report_counts(cf_ctx *ctx, const cf_batch_result *r) {
  const cf_cat_counts *c = &r->counts;
  char v[9][16];
  const int n[9] = {c->considered, c->to_run, c->fresh, c->skipped, c->still_quarantined,
                    c->done, c->quarantined, c->failed, c->exit_code};
  for (int i = 0; i < 9; i++) snprintf(v[i], sizeof v[i], "%d", n[i]);
  char secs[32];
  snprintf(secs, sizeof secs, "%.3f", c->seconds);
  cf_log_event(ctx, c->exit_code ? CF_LOG_WARN : CF_LOG_INFO, "batch_finished", "items", v[0], "to_run", v[1], "new",
               v[2], "skipped", v[3], "still_quarantined", v[4], "done", v[5], "quarantined", v[6], "failed", v[7],
               "seconds", secs, "exit_code", v[8], (const char *)NULL);
}

/* Rank 0 under MPI, when it ends without running items: the other ranks
 * wait in cf_par_run_items, so it runs none with them. */
static int select_none(void *user, int index, const char *path) { return 0; }

static void release_workers(cf_ctx *ctx, cf_pipeline *p) {
  if (!p || cf_par_size(cf_ctx_par(ctx)) == 1) return;
  cf_run_options none = {.select = select_none};
  cf_run_summary sum;
  cf_par_run_items(ctx, p, &none, &sum);
  cf_run_summary_free(&sum);
}

static int run_batch(cf_ctx *ctx, const cf_batch_opts *o, cf_pipeline *p, cf_catalogue *cat, const char *pipe_sha,
                     char *settings, const char *settings_sha, cf_batch_result *r) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  cf_cat_run_start start = {r->run_id, r->started, host, o->argv, (long)getpid(), o->pipeline_path, pipe_sha,
                            settings, settings_sha, cf_version()};
  int rc = cf_cat_run_begin(ctx, cat, &start);
  if (rc) return release_workers(ctx, p), rc;
  double t0 = now_seconds();
  run_state s = {ctx, cat, r};
  cf_run_options ro = {o->first, o->last, on_select, on_item, &s, on_start};
  cf_run_summary sum;
  /* over the ranks of an MPI run (their items' reports come back to
   * on_item here); with other ranks waiting, even for nothing */
  if (r->counts.to_run || cf_par_size(cf_ctx_par(ctx)) > 1) {
    if (cf_par_run_items(ctx, p, &ro, &sum) == CF_EINTERNAL) r->catalogue_failed = 1; /* MPI failed: exit 2 */
  } else {
    memset(&sum, 0, sizeof sum);
  }
  if (sum.cancelled && !r->counts.cancelled) r->counts.cancelled = 1;
  cf_run_summary_free(&sum);
  r->counts.seconds = now_seconds() - t0;
  r->counts.exit_code = cf_batch_exit_code(&r->counts, r->catalogue_failed);
  utc_now(r->finished);
  report_counts(ctx, r);
  rc = cf_cat_run_finish(ctx, cat, r->run_id, r->finished, &r->counts);
  if (rc) {
    r->catalogue_failed = 1;
    r->counts.exit_code = 2;
    cf_log_error_chain(ctx);
  }
  return CF_OK;
}

/* Under MPI the ranks other than 0 only run items (README, "Running on
 * several nodes (MPI)"): rank 0 alone opens the catalogue, decides what is
 * new, records and reports; the others load the same pipeline (the same
 * sorted items) and run the share cf_par_run_items hands them. */
static int run_worker(cf_ctx *ctx, const cf_batch_opts *o, cf_batch_result *r) {
  cf_pipeline *p = NULL;
  int rc = load_pipeline(ctx, o, &p);
  if (rc) return rc;
  cf_run_options ro = {.first = o->first, .last = o->last};
  cf_run_summary sum;
  rc = cf_par_run_items(ctx, p, &ro, &sum);
  r->counts.exit_code = sum.failed || sum.cancelled ? 2 : sum.rejected ? 3 : 0;
  cf_run_summary_free(&sum);
  cf_pipeline_free(p);
  return rc == CF_EINTERNAL ? rc : CF_OK;
}

int cf_batch_run(cf_ctx *ctx, const cf_batch_opts *o, cf_batch_result *r) {
  memset(r, 0, sizeof *r);
  if (cf_par_rank(cf_ctx_par(ctx)) > 0) return run_worker(ctx, o, r);
  make_run_id(r->run_id, sizeof r->run_id);
  utc_now(r->started);
  int rc = cf_log_set_field(ctx, "run_id", r->run_id);
  cf_pipeline *p = NULL;
  if (!rc) rc = load_pipeline(ctx, o, &p);
  if (!rc && p->batch_stage < 0)
    rc = cf_error(ctx, CF_EINVAL, o->pipeline_path, "", "no stage takes a list or glob of files: nothing to batch "
                                                        "(use `carbonflux run`)");
  if (!rc && o->check_only) { /* the catalogue is neither opened nor created */
    const char *const *items;
    r->counts.considered = cf_pipeline_items(p, &items);
    r->catalogue = o->catalogue ? strdup(o->catalogue) : cf_batch_default_catalogue(ctx, p);
    if (!r->catalogue) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    release_workers(ctx, p);
    cf_pipeline_free(p);
    return rc;
  }
  char pipe_sha[CF_SHA256_HEX_LEN] = "", settings_sha[CF_SHA256_HEX_LEN] = "";
  char *settings = NULL;
  if (!rc) rc = cf_sha256_file(ctx, o->pipeline_path, pipe_sha);
  if (!rc) rc = (settings = cf_pipeline_settings_without_items(ctx, p)) ? CF_OK : cf_error_code(ctx);
  if (!rc) rc = cf_sha256_buffer(ctx, settings, strlen(settings), settings_sha);
  if (!rc) rc = (r->catalogue = o->catalogue ? strdup(o->catalogue) : cf_batch_default_catalogue(ctx, p))
                    ? CF_OK
                    : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_catalogue *cat = NULL;
  if (!rc && (!o->dry_run || cf_file_exists(r->catalogue))) rc = cf_cat_open(ctx, r->catalogue, o->dry_run, &cat);
  if (!rc && !o->dry_run) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    int n = 0;
    rc = cf_cat_mark_interrupted(ctx, cat, host, &n);
    if (n) cf_log(ctx, CF_LOG_WARN, "%d earlier run%s of this catalogue never finished (killed); marked interrupted", n,
                  n == 1 ? "" : "s");
    if (!rc) clean_output_dirs(ctx, p);
  }
  if (!rc) rc = select_items(ctx, cat, o, p, pipe_sha, settings_sha, r);
  if (!rc && o->dry_run) r->counts.exit_code = 0;
  if (!rc && !o->dry_run) rc = run_batch(ctx, o, p, cat, pipe_sha, settings, settings_sha, r);
  else release_workers(ctx, p);
  cf_cat_close(cat);
  free(settings);
  cf_pipeline_free(p);
  return rc;
}

void cf_batch_result_free(cf_batch_result *r) {
  for (int i = 0; i < r->nitems; i++) free(r->items[i].reason), free(r->items[i].path);
  free(r->items);
  free(r->catalogue);
  memset(r, 0, sizeof *r);
}
