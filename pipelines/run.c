/*
 * Running a validated pipeline, one batch item at a time.
 *
 * Each item gets a fresh cf_run: products of its stages, the inputs it read
 * (with SHA-256, for provenance) and the outputs it wrote. Failures are
 * classified by their status code: a bad input (missing, unreadable,
 * invalid: CF_ENOENT, CF_EDATA) rejects the item; anything else (a write
 * error, out of memory, a bug) fails it. Either way the other items go on;
 * only cancellation stops the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/sha256.h"
#include "core/strbuf.h"
#include "pipelines/pipeline_internal.h"

const char *cf_run_item_path(const cf_run *run) { return run->item; }

char *cf_stage_path(const cf_stage *st, cf_run *run, const char *name) {
  int idx;
  const cf_option_spec *o = cf_stage_option(st, name, &idx);
  if (!o) return NULL;
  if (o->type == CF_OPT_INPUT_PATHS && run->item && run->p->batch_stage == st->index)
    return strdup(run->item);
  const char *v = cf_stage_str(st, name);
  if (!v) return NULL;
  char *full = cf_path_join(st->base_dir, v);
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
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%s sha256:%s", path, hex);
  char **ni = realloc(run->inputs, (size_t)(run->ninputs + 1) * sizeof *ni);
  char *s = cf_strbuf_take(&sb);
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

int cf_run_note_output(cf_ctx *ctx, cf_run *run, const char *path) {
  cf_run_summary *s = run->summary;
  char **no = realloc(s->outputs, (size_t)(s->noutputs + 1) * sizeof *no);
  if (no) s->outputs = no;
  char *copy = no ? strdup(path) : NULL;
  if (!copy) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory listing the outputs");
  s->outputs[s->noutputs++] = copy;
  return CF_OK;
}

int cf_run_wrote(cf_ctx *ctx, cf_run *run, const char *path) {
  int rc = cf_run_note_output(ctx, run, path);
  cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", path, (const char *)NULL);
  return rc;
}

static void free_prov(cf_run *run) {
  for (char **p = run->prov; p && *p; p++) free(*p);
  free(run->prov);
  run->prov = NULL;
}

const char *const *cf_run_provenance(cf_ctx *ctx, cf_run *run) {
  free_prov(run);
  cf_strbuf in, line;
  cf_strbuf_init(&in);
  cf_strbuf_init(&line);
  cf_strbuf_puts(&in, "[");
  for (int i = 0; i < run->ninputs; i++) {
    if (i) cf_strbuf_puts(&in, ",");
    cf_strbuf_json_string(&in, run->inputs[i]);
  }
  cf_strbuf_puts(&in, "]");
  run->prov = calloc(4, sizeof *run->prov); /* three lines and the NULL that ends them */
  int ok = run->prov != NULL;
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_VERSION=%s", cf_version());
    ok = (run->prov[0] = cf_strbuf_take(&line)) != NULL;
  }
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_INPUTS=%s", cf_strbuf_str(&in));
    ok = !in.failed && (run->prov[1] = cf_strbuf_take(&line)) != NULL;
  }
  if (ok) {
    cf_strbuf_printf(&line, "CARBONFLUX_SETTINGS=%s", run->p->settings_json);
    ok = (run->prov[2] = cf_strbuf_take(&line)) != NULL;
  }
  cf_strbuf_free(&in);
  cf_strbuf_free(&line);
  if (!ok) { /* an output without its provenance would pass for a complete one */
    free_prov(run);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the provenance metadata");
    return NULL;
  }
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

int cf_pipeline_run(cf_ctx *ctx, cf_pipeline *p, cf_run_summary *summary) {
  memset(summary, 0, sizeof *summary);
  int nitems = p->nitems > 0 ? p->nitems : 1;
  int last_rc = CF_OK;
  for (int it = 0; it < nitems; it++) {
    cf_run run = {0};
    run.p = p;
    run.summary = summary;
    run.item = p->nitems > 0 ? p->items[it] : NULL;
    run.item_stem = run.item ? cf_path_stem(run.item) : NULL;
    run.products = calloc((size_t)p->nstages, sizeof *run.products);
    summary->items++;
    /* without its stem an item's outputs would be named "out" */
    int rc = run.products && (!run.item || run.item_stem) ? CF_OK : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    if (nitems > 1) cf_log(ctx, CF_LOG_INFO, "item %d of %d: %s", it + 1, nitems, run.item);
    for (int s = 0; s < p->nstages && !rc; s++) {
      cf_stage *st = &p->stages[s];
      cf_log(ctx, CF_LOG_DEBUG, "stage %s (%s)", st->name, st->def->type);
      rc = st->def->run(ctx, &run, st);
      if (rc) cf_error(ctx, rc, "", "", "stage '%s' (%s, %s:%d)", st->name, st->def->type, st->source, st->node->line);
    }
    run_clear(&run);
    if (!rc) {
      summary->succeeded++;
      continue;
    }
    last_rc = rc;
    int code = cf_error_count(ctx) ? cf_error_get(ctx, 0)->code : rc; /* the root cause decides */
    if (rc == CF_ECANCEL || cf_cancelled(ctx)) {
      summary->cancelled = 1;
      cf_log_error_chain(ctx);
      break;
    }
    if (is_input_problem(code))
      summary->rejected++;
    else
      summary->failed++;
    cf_log_error_chain(ctx);
    if (run.item) cf_log(ctx, CF_LOG_WARN, "skipped %s; going on with the other inputs", run.item);
  }
  return last_rc;
}
