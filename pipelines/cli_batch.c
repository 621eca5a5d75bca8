/* `carbonflux batch`, `status`, `history` (cli_batch.h): arguments to the
 * library calls of batch/, the exit code, and the three commands' rows in
 * the command table (cli_command.h). */
#include "pipelines/cli_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "batch/status.h"
#include "core/par.h"
#include "pipelines/cli_command.h"

/* "I:J" or "K/N" as two non-negative integers. */
static int two_ints(const char *s, char sep, int *a, int *b) {
  char *end;
  long x = strtol(s, &end, 10);
  if (end == s || *end != sep || x < 0 || x > 1 << 30) return 0;
  const char *t = end + 1;
  long y = strtol(t, &end, 10);
  if (end == t || *end || y < 0 || y > 1 << 30) return 0;
  *a = (int)x;
  *b = (int)y;
  return 1;
}

static int exit_for(int rc) { return rc == CF_EINVAL || rc == CF_ENOENT || rc == CF_EDATA ? 1 : 2; }

int cf_cli_batch(cf_ctx *ctx, int argc, char **argv, const char *cmdline, char *why, size_t cap) {
  why[0] = 0;
  cf_batch_opts o = {0};
  o.argv = cmdline;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets), **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  const char *summary = NULL;
  int json = 0, code = -1;
  if (!sets || !inputs) code = 2;
  for (int i = 0; i < argc && code < 0; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v && !strcmp(a, "--set")) sets[o.nsets++] = argv[++i];
    else if (v && !strcmp(a, "--inputs")) inputs[o.ninputs++] = argv[++i];
    else if (v && !strcmp(a, "--catalogue")) o.catalogue = argv[++i];
    else if (v && !strcmp(a, "--summary")) summary = argv[++i];
    else if (v && !strcmp(a, "--items")) {
      if (!two_ints(argv[++i], ':', &o.first, &o.last) || o.last <= o.first)
        code = 1, snprintf(why, cap, "--items takes I:J with 0 <= I < J, not '%s'", argv[i]);
    } else if (v && !strcmp(a, "--shard")) {
      if (!two_ints(argv[++i], '/', &o.shard_k, &o.shard_n) || o.shard_n < 1 || o.shard_k >= o.shard_n)
        code = 1, snprintf(why, cap, "--shard takes K/N with 0 <= K < N, not '%s'", argv[i]);
    } else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--force")) o.force = 1;
    else if (!strcmp(a, "--dry-run")) o.dry_run = 1;
    else if (!strcmp(a, "--check")) o.check_only = 1;
    else if (!strcmp(a, "--retry-quarantined")) o.retry_quarantined = 1;
    else if (a[0] != '-' && !o.pipeline_path) o.pipeline_path = a;
    else code = 1, snprintf(why, cap, "unexpected argument '%s'", a);
  }
  if (code < 0 && !o.pipeline_path) code = 1, snprintf(why, cap, "which pipeline?");
  if (code >= 0) {
    free(sets);
    free(inputs);
    return code;
  }
  o.sets = sets;
  o.inputs = inputs;
  cf_batch_result r;
  int rc = cf_batch_run(ctx, &o, &r);
  if (rc) {
    cf_log_error_list(ctx);
    code = exit_for(rc);
  } else if (cf_par_rank(cf_ctx_par(ctx)) > 0) {
    code = 0; /* an MPI worker: rank 0 reports, and its code is every rank's */
  } else if (o.check_only) {
    cf_log(ctx, CF_LOG_INFO, "%s is valid: %d input%s; catalogue %s", o.pipeline_path, r.counts.considered,
           r.counts.considered == 1 ? "" : "s", r.catalogue);
    code = 0;
  } else if (o.dry_run) {
    for (int i = 0; i < r.nitems; i++) {
      const cf_batch_item *it = &r.items[i];
      printf("%s %5d %-17s %s%s%s\n", it->run ? "run " : "skip", it->index, it->why, it->path, it->detail[0] ? ": " : "",
             it->detail);
    }
    printf("%d of %d would run (%d new), %d unchanged, %d quarantined; catalogue %s\n", r.counts.to_run,
           r.counts.considered, r.counts.fresh, r.counts.skipped, r.counts.still_quarantined, r.catalogue);
    code = 0;
  } else {
    if (json) cf_batch_summary_json(&r, stdout);
    else cf_batch_summary_text(&r, stdout);
    fflush(stdout);
    code = r.counts.exit_code;
    if (summary && cf_batch_summary_write(ctx, &r, summary)) {
      cf_log_error_chain(ctx);
      code = 2;
    }
  }
  cf_batch_result_free(&r);
  cf_log_set_field(ctx, "run_id", NULL);
  free(sets);
  free(inputs);
  return code;
}

int cf_cli_status(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap) {
  why[0] = 0;
  const char **cats = calloc((size_t)argc + 1, sizeof *cats);
  int n = 0, json = 0;
  if (!cats) return 2;
  for (int i = 0; i < argc; i++) {
    if (i + 1 < argc && !strcmp(argv[i], "--catalogue")) cats[n++] = argv[++i];
    else if (!strcmp(argv[i], "--json")) json = 1;
    else {
      free(cats);
      return snprintf(why, cap, "unexpected argument '%s'", argv[i]), 1;
    }
  }
  if (!n) cats[n++] = "catalogue.sqlite";
  int rc = cf_batch_status(ctx, cats, n, json, stdout);
  free(cats);
  if (rc) cf_log_error_chain(ctx);
  return rc ? exit_for(rc) : 0;
}

int cf_cli_history(cf_ctx *ctx, int argc, char **argv, char *why, size_t cap) {
  why[0] = 0;
  const char *cat = "catalogue.sqlite", *run = NULL;
  int json = 0, limit = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v && !strcmp(a, "--catalogue")) cat = argv[++i];
    else if (v && !strcmp(a, "--run")) run = argv[++i];
    else if (v && !strcmp(a, "--limit")) {
      char *end;
      long l = strtol(argv[++i], &end, 10);
      if (*end || l < 1 || l > 1 << 30) return snprintf(why, cap, "--limit takes a positive number, not '%s'", argv[i]), 1;
      limit = (int)l;
    } else if (!strcmp(a, "--json")) json = 1;
    else return snprintf(why, cap, "unexpected argument '%s'", a), 1;
  }
  int rc = cf_batch_history(ctx, cat, limit, run, json, stdout);
  if (rc) cf_log_error_chain(ctx);
  return rc ? exit_for(rc) : 0;
}

/* The rows of batch, status and history in the command table
 * (cli_command.h): a usage error's reason comes back in `why`. */
static int run_batch(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  char why[1024];
  int code = cf_cli_batch(ctx, argc, argv, command_line ? command_line : "", why, sizeof why);
  return why[0] ? cf_cli_usage_error("batch", "%s", why) : code;
}

static int run_status(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  char why[1024];
  int code = cf_cli_status(ctx, argc, argv, why, sizeof why);
  return why[0] ? cf_cli_usage_error("status", "%s", why) : code;
}

static int run_history(cf_ctx *ctx, int argc, char **argv, const char *command_line) {
  (void)command_line;
  char why[1024];
  int code = cf_cli_history(ctx, argc, argv, why, sizeof why);
  return why[0] ? cf_cli_usage_error("history", "%s", why) : code;
}

static void help_batch(FILE *out) { fputs(CF_CLI_BATCH_USAGE, out); }
static void help_status(FILE *out) { fputs(CF_CLI_STATUS_USAGE, out); }
static void help_history(FILE *out) { fputs(CF_CLI_HISTORY_USAGE, out); }

const cf_cli_command cf_cli_cmd_batch = {"batch", help_batch, run_batch, 1};
const cf_cli_command cf_cli_cmd_status = {"status", help_status, run_status, 0};
const cf_cli_command cf_cli_cmd_history = {"history", help_history, run_history, 0};
