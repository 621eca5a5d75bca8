/*
 * Running a validated pipeline, one batch item at a time.
 *
 * Each item gets a fresh cf_run: products of its stages, the inputs it read
 * (with SHA-256, for provenance) and the outputs it wrote. Failures are
 * classified by their status code: a bad input (missing, unreadable,
 * invalid: CF_ENOENT, CF_EDATA) rejects the item; anything else (a write
 * error, out of memory, a bug) fails it. Either way the other items go on;
 * only cancellation stops the batch. Each item runs in a child process,
 * so that a crash costs one item (below).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/isolate.h"
#include "core/output_journal.h"
#include "core/provenance.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "ingest/library_log.h"
#include "pipelines/pipeline_internal.h"

static void put_record(char type, const void *data, uint32_t len);

const char *cf_run_item_path(const cf_run *run) { return run->item; }

char *cf_stage_path(const cf_stage *st, cf_run *run, const char *name) {
  int idx;
  const cf_option_spec *o = cf_stage_option(st, name, &idx);
  if (!o) return NULL;
  if (o->type == CF_OPT_INPUT_PATHS && run->item && run->p->batch_stage == st->index)
    return strdup(run->item);
  const char *v = cf_stage_str(st, name);
  if (!v) return NULL;
  char *full = cf_path_join(cf_stage_base_dir(st, cf_stage_value(st, name)), v);
  if (full && o->type == CF_OPT_OUTPUT_PATH) {
    char *s = cf_str_replace(full, "stem", run->item_stem ? run->item_stem : "out");
    free(full);
    full = s;
  }
  return full;
}

int cf_stage_ref(const cf_stage *st, cf_run *run, const char *name) {
  const char *v = cf_stage_str(st, name);
  if (!v) return -1;
  for (int i = 0; i < st->index; i++)
    if (strcmp(run->p->stages[i].name, v) == 0) return i;
  return -1;
}

void *cf_run_product(cf_run *run, int stage, cf_product_kind kind) {
  if (stage < 0 || stage >= run->p->nstages) return NULL;
  cf_product *pr = &run->products[stage];
  return pr->kind == kind ? pr->ptr : NULL;
}

void *cf_run_input(cf_run *run, const cf_stage *st) {
  return st->input >= 0 ? cf_run_product(run, st->input, st->def->input) : NULL;
}

void *cf_run_take_input(cf_run *run, const cf_stage *st) {
  void *p = cf_run_input(run, st);
  if (p) run->products[st->input] = (cf_product){CF_PRODUCT_NONE, NULL, NULL};
  return p;
}

void cf_run_set_product(cf_run *run, int stage, cf_product_kind kind, void *p, void (*destroy)(void *)) {
  cf_product *pr = &run->products[stage];
  if (pr->destroy) pr->destroy(pr->ptr);
  pr->kind = kind;
  pr->ptr = p;
  pr->destroy = destroy;
}

int cf_run_note_input(cf_ctx *ctx, cf_run *run, const char *path) {
  char hex[CF_SHA256_HEX_LEN];
  int rc = cf_sha256_file(ctx, path, hex);
  if (rc) return rc;
  char **ni = realloc(run->inputs, (size_t)(run->ninputs + 1) * sizeof *ni);
  char *s = cf_provenance_input(path, hex);
  if (!ni || !s) {
    free(s);
    if (ni) run->inputs = ni;
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  run->inputs = ni;
  run->inputs[run->ninputs++] = s;
  cf_log(ctx, CF_LOG_DEBUG, "input %s", s);
  return CF_OK;
}

const char *cf_run_input_sha256(const cf_run *run, const char *path) {
  size_t n = strlen(path);
  for (int i = run->ninputs - 1; i >= 0; i--) /* "PATH sha256:HEX" */
    if (!strncmp(run->inputs[i], path, n) && !strncmp(run->inputs[i] + n, " sha256:", 8)) return run->inputs[i] + n + 8;
  return NULL;
}

int cf_run_note_output(cf_ctx *ctx, cf_run *run, const char *path) {
  cf_run_summary *s = run->summary;
  char **no = realloc(s->outputs, (size_t)(s->noutputs + 1) * sizeof *no);
  if (no) s->outputs = no;
  char *copy = no ? strdup(path) : NULL;
  if (!copy) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory listing the outputs");
  s->outputs[s->noutputs++] = copy;
  put_record('O', path, (uint32_t)strlen(path)); /* in an isolated child: tell the parent now */
  return CF_OK;
}

int cf_run_wrote(cf_ctx *ctx, cf_run *run, const char *path) {
  int rc = cf_run_note_output(ctx, run, path);
  cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", path, (const char *)NULL);
  return rc;
}

static void free_prov(cf_run *run) {
  cf_provenance_free(run->prov);
  run->prov = NULL;
}

const char *const *cf_run_provenance(cf_ctx *ctx, cf_run *run) {
  free_prov(run);
  run->prov = cf_provenance_lines(ctx, (const char *const *)run->inputs, run->ninputs, run->p->settings_json);
  return (const char *const *)run->prov;
}

static void run_clear(cf_run *run) {
  if (run->products)
    for (int i = run->p->nstages - 1; i >= 0; i--) /* later stages borrow from earlier ones */
      if (run->products[i].destroy) run->products[i].destroy(run->products[i].ptr);
  free(run->products);
  for (int i = 0; i < run->ninputs; i++) free(run->inputs[i]);
  free(run->inputs);
  free_prov(run);
  free(run->item_stem);
}

void cf_run_summary_free(cf_run_summary *s) {
  if (!s) return;
  for (int i = 0; i < s->noutputs; i++) free(s->outputs[i]);
  free(s->outputs);
  memset(s, 0, sizeof *s);
}


static int is_input_problem(int code) { return code == CF_EDATA || code == CF_ENOENT; }

/* --- isolation: each item in a child process ------------------------------
 *
 * Each item runs in a child (core/isolate.h): a library that crashes on one
 * corrupted input (libhdf5 overflowing a heap buffer in H5Dread, netCDF-C's
 * SEGV in NC4_open) then costs that item, not the batch, and a single input
 * that crashes is reported, not a process dead with 139. The child runs the
 * item's stages exactly as the in-process path does (same log lines on the
 * same stderr, same progress) and tells the parent what it did: the stage
 * it is in ('S'), each output it committed ('O') and its result ('R'). A
 * child that dies without a result crashed: the parent removes the part
 * files it left next to every output, reports the signal and the stage,
 * and counts the item as rejected (the input is "quarantined": named in
 * the log with the reason, never moved or deleted). */

static int child_report_fd = -1; /* set only in a child that runs one item */

static void put_record(char type, const void *data, uint32_t len) { cf_child_put(child_report_fd, type, data, len); }

/* Test-only (isolated children only): CF_TEST_CRASH_ON=SUBSTRING crashes
 * the item whose path contains SUBSTRING with SIGSEGV as its batch stage
 * starts (a reader's crash); SUBSTRING@STAGE_TYPE crashes it in the first
 * stage of that type after creating that stage's part file as its writer
 * would (a writer's crash), so tests can check that the parent cleans up. */
static void test_crash(cf_ctx *ctx, cf_run *run, const cf_stage *st, const char *spec) {
  const char *at = strchr(spec, '@');
  size_t n = at ? (size_t)(at - spec) : strlen(spec);
  char sub[256];
  if (!run->item || n == 0 || n >= sizeof sub) return;
  memcpy(sub, spec, n);
  sub[n] = '\0';
  if (!strstr(run->item, sub)) return;
  if (!at && st->index == run->p->batch_stage) raise(SIGSEGV);
  if (!at || strcmp(at + 1, st->def->type) != 0) return;
  for (const cf_option_spec *o = st->def->options; o && o->name; o++) {
    if (o->type != CF_OPT_OUTPUT_PATH) continue;
    char *out = cf_stage_path(st, run, o->name);
    cf_atomic_file af;
    if (out && cf_atomic_begin(ctx, out, &af) == CF_OK) {
      FILE *f = fopen(af.part_path, "w");
      if (f) fputs("half-written", f), fclose(f);
    }
    free(out);
  }
  raise(SIGSEGV);
}

/* The outcome of one item, however it was run. */
typedef struct {
  int rc;        /* status of the item (CF_OK or the last failure) */
  int code;      /* the root cause's code, which classifies the failure */
  int cancelled;
  int crashed;   /* the isolated child died without a result */
  int stage;     /* the stage it stopped in (failed), -1 if none started */
  char reason[1024];
} item_result;

/* Run the stages of item `it`; the error chain is logged here. */
static void run_stages(cf_ctx *ctx, cf_pipeline *p, cf_run_summary *summary, int it, item_result *res) {
  memset(res, 0, sizeof *res);
  res->stage = -1;
  cf_run run = {0};
  run.p = p;
  run.summary = summary;
  run.item = p->nitems > 0 ? p->items[it] : NULL;
  run.item_stem = run.item ? cf_path_stem(run.item) : NULL;
  run.products = calloc((size_t)p->nstages, sizeof *run.products);
  /* without its stem an item's outputs would be named "out" */
  int rc = run.products && (!run.item || run.item_stem) ? CF_OK : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  /* all of the item's outputs or none: a stage that fails takes back what
   * the stages before it committed (core/output_journal.h) */
  if (!rc) rc = cf_output_journal_begin(ctx);
  const char *crash_on = child_report_fd >= 0 ? getenv("CF_TEST_CRASH_ON") : NULL;
  for (int s = 0; s < p->nstages && !rc; s++) {
    cf_stage *st = &p->stages[s];
    int32_t si = s;
    put_record('S', &si, sizeof si);
    res->stage = s;
    cf_log(ctx, CF_LOG_DEBUG, "stage %s (%s)", st->name, st->def->type);
    if (crash_on && crash_on[0]) test_crash(ctx, &run, st, crash_on);
    rc = st->def->run(ctx, &run, st);
    if (rc) cf_error(ctx, rc, "", "", "stage '%s' (%s, %s:%d)", st->name, st->def->type, st->source, st->node->line);
  }
  run_clear(&run);
  cf_output_journal_end(ctx, rc == CF_OK);
  res->rc = rc;
  if (!rc) {
    res->stage = -1;
    return;
  }
  res->code = cf_error_count(ctx) ? cf_error_get(ctx, 0)->code : rc;
  res->cancelled = rc == CF_ECANCEL || cf_cancelled(ctx);
  snprintf(res->reason, sizeof res->reason, "%s", cf_error_count(ctx) ? cf_error_message(ctx) : cf_strerror(rc));
  cf_log_error_chain(ctx);
}

typedef struct {
  cf_ctx *ctx;
  cf_pipeline *p;
  cf_run_summary *summary;
  int it;
} child_job;

static void child_main(void *arg, int fd) {
  child_job *j = arg;
  child_report_fd = fd;
  cf_library_log_thread_attach(); /* a fresh thread: HDF5's per-thread report is on again */
  item_result res;
  run_stages(j->ctx, j->p, j->summary, j->it, &res);
  unsigned char buf[3 * sizeof(int32_t) + sizeof res.reason];
  int32_t head[3] = {res.rc, res.code, res.cancelled};
  memcpy(buf, head, sizeof head);
  size_t n = strlen(res.reason);
  memcpy(buf + sizeof head, res.reason, n);
  put_record('R', buf, (uint32_t)(sizeof head + n));
}

/* Remove the part files a dead child left next to the item's outputs: in
 * the directory of every output path of every stage (a quicklook's prefix
 * names several files, so the whole directory is searched for the child's
 * PID). */
static void remove_part_files(cf_ctx *ctx, cf_pipeline *p, int it, pid_t pid) {
  cf_run run = {0};
  run.p = p;
  run.item = p->nitems > 0 ? p->items[it] : NULL;
  run.item_stem = run.item ? cf_path_stem(run.item) : NULL;
  for (int s = 0; s < p->nstages; s++) {
    const cf_stage *st = &p->stages[s];
    for (const cf_option_spec *o = st->def->options; o && o->name; o++) {
      if (o->type != CF_OPT_OUTPUT_PATH) continue;
      char *out = cf_stage_path(st, &run, o->name);
      char *dir = out ? cf_path_dirname(out) : NULL;
      if (dir) cf_remove_part_files_of(ctx, dir, (long)pid, "left by the crashed item");
      free(dir);
      free(out);
    }
  }
  free(run.item_stem);
}

/* Take back the outputs a crashed child committed (its 'O' records, from
 * `first` on): the child's journal (core/output_journal.h) died with it,
 * but the file each output replaced is still kept next to it under the
 * child's part name ("." NAME ".part-PID-N.keep"): put it back, or remove
 * the new output where there was none. */
static void take_back_crashed_outputs(cf_ctx *ctx, const cf_run_summary *summary, int first, pid_t pid) {
  for (int i = summary->noutputs - 1; i >= first; i--) {
    const char *out = summary->outputs[i];
    char *dir = cf_path_dirname(out);
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    char prefix[600];
    snprintf(prefix, sizeof prefix, ".%s.part-%ld-", base, (long)pid);
    DIR *d = dir ? opendir(dir) : NULL;
    char *kept = NULL;
    struct dirent *e;
    while (d && !kept && (e = readdir(d)) != NULL) {
      size_t n = strlen(e->d_name);
      if (!strncmp(e->d_name, prefix, strlen(prefix)) && n > 5 && !strcmp(e->d_name + n - 5, ".keep"))
        kept = cf_path_join(dir, e->d_name);
    }
    if (d) closedir(d);
    if (kept && rename(kept, out) == 0)
      cf_log(ctx, CF_LOG_INFO, "restored %s as it was before the crashed item", out);
    else if (unlink(out) == 0)
      cf_log(ctx, CF_LOG_INFO, "removed %s, written by the crashed item", out);
    free(kept);
    free(dir);
  }
}

/* Run item `it` in a child; on return `res` says what happened and the
 * outputs the child committed are in the summary. Returns -1 if no child
 * could be made. */
static int run_isolated(cf_ctx *ctx, cf_pipeline *p, cf_run_summary *summary, int it, item_result *res) {
  memset(res, 0, sizeof *res);
  int outputs_before = summary->noutputs;
  child_job job = {ctx, p, summary, it};
  cf_child child;
  if (cf_child_start(&child, child_main, &job) != 0) return -1;
  size_t len, at = 0;
  unsigned char *rep = cf_child_read(ctx, &child, &len);
  int clean_exit = cf_child_wait(ctx, &child);
  /* what the child said */
  int stage = -1, have_result = 0;
  char type;
  const unsigned char *d;
  uint32_t n;
  while (cf_child_record(rep, len, &at, &type, &d, &n)) {
    if (type == 'S' && n == sizeof(int32_t)) {
      int32_t s;
      memcpy(&s, d, sizeof s);
      stage = s;
    } else if (type == 'O') {
      char *path = strndup((const char *)d, n);
      char **no = path ? realloc(summary->outputs, (size_t)(summary->noutputs + 1) * sizeof *no) : NULL;
      if (no) {
        summary->outputs = no;
        summary->outputs[summary->noutputs++] = path;
      } else {
        free(path);
      }
    } else if (type == 'R' && n >= 3 * sizeof(int32_t)) {
      int32_t h[3];
      memcpy(h, d, sizeof h);
      res->rc = h[0];
      res->code = h[1];
      res->cancelled = h[2];
      size_t m = n - sizeof h < sizeof res->reason - 1 ? n - sizeof h : sizeof res->reason - 1;
      memcpy(res->reason, d + sizeof h, m);
      res->reason[m] = '\0';
      have_result = 1;
    }
  }
  free(rep);
  res->stage = res->rc ? stage : -1;
  if (!have_result || !clean_exit) {
    res->stage = stage;
    take_back_crashed_outputs(ctx, summary, outputs_before, child.pid);
    remove_part_files(ctx, p, it, child.pid);
    const cf_stage *st = stage >= 0 && stage < p->nstages ? &p->stages[stage] : NULL;
    char where[300] = "";
    if (st && strcmp(st->name, st->def->type) == 0)
      snprintf(where, sizeof where, " in stage %s", st->name);
    else if (st)
      snprintf(where, sizeof where, " in stage '%s' (%s)", st->name, st->def->type);
    char how[200];
    int sig = cf_child_describe(&child, how, sizeof how);
    /* what was being read: the item, or else the crashed stage's inputs */
    char *inputs = NULL;
    for (const cf_option_spec *o = st && p->nitems == 0 ? st->def->options : NULL; o && o->name && !inputs; o++)
      if (o->type == CF_OPT_INPUT_PATH || o->type == CF_OPT_INPUT_PATHS || o->type == CF_OPT_INPUT_FILESET) {
        cf_run run = {0};
        run.p = p;
        inputs = cf_stage_path(st, &run, o->name);
      }
    const char *item = p->nitems > 0 ? p->items[it] : inputs ? inputs : "";
    res->crashed = 1;
    if (cf_cancelled(ctx) || sig == SIGTERM || sig == SIGINT) {
      res->rc = res->code = CF_ECANCEL;
      res->cancelled = 1;
      cf_error(ctx, CF_ECANCEL, item, "", "cancelled (%s)", how);
    } else if (sig == SIGKILL) {
      /* not the input's fault as far as anyone can tell: a failure */
      res->rc = res->code = CF_ENOMEM;
      cf_error(ctx, CF_ENOMEM, item, "", "%s%s: killed from outside, often by the kernel's out-of-memory killer", how,
               where);
    } else {
      res->rc = res->code = CF_EDATA;
      cf_error(ctx, CF_EDATA, item, "", "%s%s; the input is quarantined: rejected, no partial output left", how, where);
    }
    snprintf(res->reason, sizeof res->reason, "%s%s", how, where);
    cf_log_error_chain(ctx);
    free(inputs);
  } else if (res->cancelled) {
    cf_cancel(ctx); /* the child was told to stop (its progress callback): so is the batch */
  }
  cf_child_reap(&child);
  return 0;
}

/* A rejected or failed item, for the list at the end of a batch. */
typedef struct {
  const char *item;
  char *reason;
  int rejected;
} bad_item;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cf_pipeline_run(cf_ctx *ctx, cf_pipeline *p, cf_run_summary *summary) {
  return cf_pipeline_run_items(ctx, p, NULL, summary);
}

int cf_pipeline_run_items(cf_ctx *ctx, cf_pipeline *p, const cf_run_options *opts, cf_run_summary *summary) {
  memset(summary, 0, sizeof *summary);
  int nitems = p->nitems > 0 ? p->nitems : 1;
  int first = opts && opts->first > 0 ? opts->first : 0;
  int last = opts && opts->last > 0 && opts->last < nitems ? opts->last : nitems;
  int isolate = cf_get_isolation(ctx); /* one child per item; see "isolation" above */
  int last_rc = CF_OK, nbad = 0;
  bad_item *bad = calloc((size_t)nitems, sizeof *bad);
  for (int it = first; it < last; it++) {
    if (cf_check_cancel(ctx, "", NULL)) {
      cf_log_error_chain(ctx);
      summary->cancelled = 1;
      last_rc = CF_ECANCEL;
      break;
    }
    const char *item = p->nitems > 0 ? p->items[it] : NULL;
    if (opts && opts->select && !opts->select(opts->user, it, item)) continue;
    if (opts && opts->on_start) opts->on_start(opts->user, it, item);
    summary->items++;
    if (nitems > 1) cf_log(ctx, CF_LOG_INFO, "item %d of %d: %s", it + 1, nitems, item);
    int outputs_before = summary->noutputs;
    double t0 = now_seconds();
    item_result res;
    if (!isolate || run_isolated(ctx, p, summary, it, &res) != 0) {
      if (isolate) cf_log(ctx, CF_LOG_WARN, "cannot start a process for %s (%s); running it in this one", item,
                          strerror(errno));
      run_stages(ctx, p, summary, it, &res);
    }
    int rejected = res.rc && !res.cancelled && is_input_problem(res.code);
    if (res.rc) { /* its outputs were taken back (run_stages): none to list */
      for (int i = outputs_before; i < summary->noutputs; i++) free(summary->outputs[i]);
      summary->noutputs = outputs_before;
    }
    if (opts && opts->on_item) {
      cf_item_report r = {it,
                          item,
                          !res.rc ? CF_ITEM_DONE
                          : res.cancelled ? CF_ITEM_CANCELLED
                          : rejected      ? CF_ITEM_REJECTED
                                          : CF_ITEM_FAILED,
                          res.rc ? res.code : CF_OK,
                          res.rc ? res.reason : "",
                          summary->noutputs - outputs_before,
                          (const char *const *)summary->outputs + outputs_before,
                          now_seconds() - t0,
                          res.rc && res.stage >= 0 && res.stage < p->nstages ? p->stages[res.stage].name : NULL,
                          res.rc ? (res.stage > 0 ? res.stage : 0) : p->nstages};
      opts->on_item(opts->user, &r);
    }
    if (!res.rc) {
      summary->succeeded++;
      continue;
    }
    last_rc = res.rc;
    if (res.cancelled) {
      summary->cancelled = 1;
      break;
    }
    if (rejected)
      summary->rejected++;
    else
      summary->failed++;
    if (bad && item) {
      bad[nbad].item = item;
      bad[nbad].reason = strdup(res.reason);
      bad[nbad++].rejected = rejected;
    }
    if (item) cf_log(ctx, CF_LOG_WARN, "skipped %s; going on with the other inputs", item);
  }
  /* the quarantine list: every input the batch could not use, and why */
  for (int i = 0; i < nbad; i++) {
    cf_log_event(ctx, CF_LOG_WARN, bad[i].rejected ? "rejected" : "failed", "path", bad[i].item, "reason",
                 bad[i].reason ? bad[i].reason : "", (const char *)NULL);
    free(bad[i].reason);
  }
  free(bad);
  return last_rc;
}
