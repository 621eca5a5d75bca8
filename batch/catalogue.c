/*
 * The batch catalogue in SQLite (catalogue.h): the schema and every query.
 *
 * Settings, chosen for a file that a killed process may leave at any
 * instant: WAL journal (readers never block the writer; a transaction is
 * durable once its commit record is in the WAL), synchronous=FULL (the WAL
 * is synced at every commit, so power loss too keeps every recorded item),
 * foreign_keys=ON (an output row cannot name an item that is not there),
 * and a busy timeout so that `status` reading during a checkpoint waits
 * instead of failing. Every write is one transaction.
 */
#include "batch/catalogue.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/fsutil.h"

struct cf_catalogue {
  sqlite3 *db;
  char *path;
};

static const char *const schema =
    "CREATE TABLE inputs("
    "  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL);"
    "CREATE TABLE runs("
    "  run_id TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL CHECK(state IN ('running','finished','interrupted')),"
    "  started TEXT NOT NULL, finished TEXT, pid INTEGER, host TEXT, argv TEXT,"
    "  pipeline_path TEXT, pipeline_sha256 TEXT NOT NULL, settings TEXT, settings_sha256 TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  n_considered INTEGER, n_to_run INTEGER, n_new INTEGER, n_skipped INTEGER, n_still_quarantined INTEGER,"
    "  n_done INTEGER, n_quarantined INTEGER, n_failed INTEGER, n_cancelled INTEGER,"
    "  seconds REAL, exit_code INTEGER);"
    "CREATE TABLE items("
    "  id INTEGER PRIMARY KEY,"
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  item_index INTEGER NOT NULL, input TEXT NOT NULL, input_sha256 TEXT NOT NULL, why TEXT,"
    "  status TEXT NOT NULL CHECK(status IN ('done','quarantined','failed','cancelled')),"
    "  code TEXT, reason TEXT, stage TEXT, stages_done INTEGER, seconds REAL, finished TEXT);"
    "CREATE INDEX items_by_input ON items(input, id);"
    "CREATE INDEX items_by_run ON items(run_id, item_index);"
    "CREATE TABLE outputs("
    "  item INTEGER NOT NULL REFERENCES items(id), path TEXT NOT NULL, sha256 TEXT, size INTEGER);"
    "CREATE INDEX outputs_by_item ON outputs(item);"
    "CREATE TABLE quarantine("
    "  input TEXT PRIMARY KEY, sha256 TEXT NOT NULL, reason TEXT, run_id TEXT REFERENCES runs(run_id), at TEXT);";

static int db_error(cf_ctx *ctx, cf_catalogue *cat, const char *what) {
  int ec = sqlite3_errcode(cat->db);
  int code = ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB ? CF_EDATA
             : ec == SQLITE_NOMEM                       ? CF_ENOMEM
                                                        : CF_EIO;
  return cf_error(ctx, code, cat->path, "", "catalogue: %s: %s", what, sqlite3_errmsg(cat->db));
}

static int exec(cf_ctx *ctx, cf_catalogue *cat, const char *sql) {
  return sqlite3_exec(cat->db, sql, NULL, NULL, NULL) == SQLITE_OK ? CF_OK : db_error(ctx, cat, sql);
}

int cf_cat_begin(cf_ctx *ctx, cf_catalogue *cat) { return exec(ctx, cat, "BEGIN IMMEDIATE"); }
int cf_cat_commit(cf_ctx *ctx, cf_catalogue *cat) { return exec(ctx, cat, "COMMIT"); }
static void rollback(cf_catalogue *cat) { sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL); }

static int int_query(cf_catalogue *cat, const char *sql, long long *v) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : -1;
}

/* New file: the schema. Else: the version it says it has. */
static int check_schema(cf_ctx *ctx, cf_catalogue *cat, int read_only) {
  long long version = -1, ntables = -1;
  if (int_query(cat, "PRAGMA user_version", &version) ||
      int_query(cat, "SELECT count(*) FROM sqlite_master", &ntables))
    return db_error(ctx, cat, "reading the schema version");
  if (version == CF_CATALOGUE_SCHEMA) return CF_OK;
  if (version == 0 && ntables == 0 && !read_only) {
    int rc = exec(ctx, cat, "BEGIN IMMEDIATE");
    if (!rc) rc = exec(ctx, cat, schema);
    if (!rc) rc = exec(ctx, cat, "PRAGMA user_version = 1"); /* CF_CATALOGUE_SCHEMA */
    if (!rc) rc = exec(ctx, cat, "COMMIT");
    if (rc) rollback(cat);
    return rc;
  }
  if (version == 0)
    return cf_error(ctx, CF_EDATA, cat->path, "user_version",
                    ntables ? "an SQLite file, but not a carbonflux catalogue (no schema version)"
                            : "an empty file, not a carbonflux catalogue");
  return cf_error(ctx, CF_EDATA, cat->path, "user_version",
                  "catalogue schema version %lld; this carbonflux (%s) reads version %d only", version,
                  cf_version(), CF_CATALOGUE_SCHEMA);
}

int cf_cat_open(cf_ctx *ctx, const char *path, int read_only, cf_catalogue **out) {
  *out = NULL;
  struct stat sb;
  if (read_only && stat(path, &sb) != 0) return cf_error(ctx, CF_ENOENT, path, "", "no catalogue here: %s", strerror(errno));
  if (!read_only) {
    int rc = cf_mkdirs(ctx, path, 0);
    if (rc) return rc;
  }
  cf_catalogue *cat = calloc(1, sizeof *cat);
  if (!cat || !(cat->path = strdup(path))) {
    free(cat);
    return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  }
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = CF_OK;
  if (sqlite3_open_v2(path, &cat->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    rc = cat->db ? db_error(ctx, cat, "opening") : cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  } else {
    sqlite3_busy_timeout(cat->db, 30000); /* a writer's checkpoint takes far less */
    rc = exec(ctx, cat, "PRAGMA foreign_keys = ON");
    if (!rc && !read_only) rc = exec(ctx, cat, "PRAGMA journal_mode = WAL");
    if (!rc) rc = exec(ctx, cat, "PRAGMA synchronous = FULL");
    if (!rc) rc = check_schema(ctx, cat, read_only);
  }
  if (rc) {
    cf_cat_close(cat);
    return rc;
  }
  *out = cat;
  return CF_OK;
}

void cf_cat_close(cf_catalogue *cat) {
  if (!cat) return;
  sqlite3_close(cat->db);
  free(cat->path);
  free(cat);
}

const char *cf_cat_path(const cf_catalogue *cat) { return cat->path; }

/* --- statements ------------------------------------------------------------- */

static int prepare(cf_ctx *ctx, cf_catalogue *cat, const char *sql, sqlite3_stmt **st) {
  return sqlite3_prepare_v2(cat->db, sql, -1, st, NULL) == SQLITE_OK ? CF_OK : db_error(ctx, cat, sql);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

/* Bind n texts to parameters first, first + 1, ... */
static void bind_texts(sqlite3_stmt *st, int first, int n, const char *const *v) {
  for (int i = 0; i < n; i++) bind_text(st, first + i, v[i]);
}

/* Step a statement that returns no rows and finalize it. */
static int step_done(cf_ctx *ctx, cf_catalogue *cat, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st) == SQLITE_DONE ? CF_OK : db_error(ctx, cat, what);
  sqlite3_finalize(st);
  return rc;
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t cap) {
  const unsigned char *s = sqlite3_column_text(st, i);
  snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

/* --- runs ------------------------------------------------------------------ */

int cf_cat_run_begin(cf_ctx *ctx, cf_catalogue *cat, const cf_cat_run_start *r) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "INSERT INTO runs(run_id, state, started, pid, host, argv, pipeline_path, pipeline_sha256,"
                   " settings, settings_sha256, version) VALUES(?1,'running',?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                   &st);
  if (rc) return rc;
  bind_texts(st, 1, 2, (const char *const[]){r->run_id, r->started});
  sqlite3_bind_int64(st, 3, r->pid);
  bind_texts(st, 4, 7,
             (const char *const[]){r->host, r->argv, r->pipeline_path, r->pipeline_sha256, r->settings,
                                   r->settings_sha256, r->version});
  return step_done(ctx, cat, st, "recording the run's start");
}

int cf_cat_run_finish(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, const char *finished,
                      const cf_cat_counts *c) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "UPDATE runs SET state='finished', finished=?2, n_considered=?3, n_to_run=?4, n_new=?5,"
                   " n_skipped=?6, n_still_quarantined=?7, n_done=?8, n_quarantined=?9, n_failed=?10,"
                   " n_cancelled=?11, seconds=?12, exit_code=?13 WHERE run_id=?1",
                   &st);
  if (rc) return rc;
  bind_text(st, 1, run_id);
  bind_text(st, 2, finished);
  const int v[] = {c->considered, c->to_run, c->fresh, c->skipped, c->still_quarantined,
                   c->done, c->quarantined, c->failed, c->cancelled};
  for (int i = 0; i < 9; i++) sqlite3_bind_int(st, 3 + i, v[i]);
  sqlite3_bind_double(st, 12, c->seconds);
  sqlite3_bind_int(st, 13, c->exit_code);
  return step_done(ctx, cat, st, "recording the run's end");
}

int cf_cat_mark_interrupted(cf_ctx *ctx, cf_catalogue *cat, const char *host, int *n) {
  *n = 0;
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat, "SELECT run_id, pid FROM runs WHERE state='running' AND host=?1", &st);
  if (rc) return rc;
  bind_text(st, 1, host);
  char ids[64][128];
  int nids = 0, s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW && nids < 64) {
    long long pid = sqlite3_column_int64(st, 1);
    if (pid > 0 && pid <= 0x7fffffff && kill((pid_t)pid, 0) == 0) continue; /* still running */
    if (pid > 0 && pid <= 0x7fffffff && errno == EPERM) continue;          /* alive, someone else's */
    copy_col(st, 0, ids[nids++], sizeof ids[0]);
  }
  sqlite3_finalize(st);
  for (int i = 0; i < nids && !rc; i++) {
    rc = prepare(ctx, cat, "UPDATE runs SET state='interrupted' WHERE run_id=?1 AND state='running'", &st);
    if (rc) break;
    bind_text(st, 1, ids[i]);
    rc = step_done(ctx, cat, st, "marking an interrupted run");
    if (!rc) (*n)++;
  }
  return rc;
}

/* --- inputs ---------------------------------------------------------------- */

int cf_cat_input_get(cf_ctx *ctx, cf_catalogue *cat, const char *path, cf_cat_input *in) {
  sqlite3_stmt *st;
  if (prepare(ctx, cat, "SELECT size, mtime_ns, sha256 FROM inputs WHERE path=?1", &st)) return -1;
  bind_text(st, 1, path);
  int s = sqlite3_step(st), found = s == SQLITE_ROW;
  if (found) {
    in->size = sqlite3_column_int64(st, 0);
    in->mtime_ns = sqlite3_column_int64(st, 1);
    copy_col(st, 2, in->sha256, sizeof in->sha256);
  }
  sqlite3_finalize(st);
  if (!found && s != SQLITE_DONE) return db_error(ctx, cat, "reading an input"), -1;
  return found;
}

int cf_cat_input_put(cf_ctx *ctx, cf_catalogue *cat, const char *path, const cf_cat_input *in) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat, "INSERT OR REPLACE INTO inputs(path, size, mtime_ns, sha256) VALUES(?1,?2,?3,?4)", &st);
  if (rc) return rc;
  bind_text(st, 1, path);
  sqlite3_bind_int64(st, 2, in->size);
  sqlite3_bind_int64(st, 3, in->mtime_ns);
  bind_text(st, 4, in->sha256);
  return step_done(ctx, cat, st, "recording an input");
}

/* --- what an input had -------------------------------------------------------- */

int cf_cat_last_done(cf_ctx *ctx, cf_catalogue *cat, const char *path, cf_cat_done *d) {
  memset(d, 0, sizeof *d);
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "SELECT i.id, i.input_sha256, r.pipeline_sha256, r.settings_sha256 FROM items i"
                   " JOIN runs r ON r.run_id = i.run_id WHERE i.input=?1 AND i.status='done'"
                   " ORDER BY i.id DESC LIMIT 1",
                   &st);
  if (rc) return rc;
  bind_text(st, 1, path);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    d->item = sqlite3_column_int64(st, 0);
    copy_col(st, 1, d->input_sha256, sizeof d->input_sha256);
    copy_col(st, 2, d->pipeline_sha256, sizeof d->pipeline_sha256);
    copy_col(st, 3, d->settings_sha256, sizeof d->settings_sha256);
  }
  sqlite3_finalize(st);
  return s == SQLITE_ROW || s == SQLITE_DONE ? CF_OK : db_error(ctx, cat, "reading an input's last item");
}

int cf_cat_seen(cf_ctx *ctx, cf_catalogue *cat, const char *path) {
  sqlite3_stmt *st;
  if (prepare(ctx, cat, "SELECT 1 FROM items WHERE input=?1 LIMIT 1", &st)) return -1;
  bind_text(st, 1, path);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  if (s != SQLITE_ROW && s != SQLITE_DONE) return db_error(ctx, cat, "reading an input's items"), -1;
  return s == SQLITE_ROW;
}

int cf_cat_outputs_intact(cf_ctx *ctx, cf_catalogue *cat, long long item, char *missing, size_t cap) {
  sqlite3_stmt *st;
  if (prepare(ctx, cat, "SELECT path, size FROM outputs WHERE item=?1 ORDER BY rowid", &st)) return -1;
  sqlite3_bind_int64(st, 1, item);
  int s, intact = 1;
  while (intact && (s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *p = (const char *)sqlite3_column_text(st, 0);
    long long size = sqlite3_column_int64(st, 1);
    struct stat sb;
    if (!p || stat(p, &sb) != 0 || (size >= 0 && (!S_ISREG(sb.st_mode) || (long long)sb.st_size != size))) {
      snprintf(missing, cap, "%s", p ? p : "");
      intact = 0;
    }
  }
  sqlite3_finalize(st);
  return intact;
}

int cf_cat_quarantined(cf_ctx *ctx, cf_catalogue *cat, const char *path, const char *sha256, char *reason,
                       size_t cap) {
  sqlite3_stmt *st;
  if (prepare(ctx, cat, "SELECT reason FROM quarantine WHERE input=?1 AND sha256=?2", &st)) return -1;
  bind_text(st, 1, path);
  bind_text(st, 2, sha256);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) copy_col(st, 0, reason, cap);
  sqlite3_finalize(st);
  if (s != SQLITE_ROW && s != SQLITE_DONE) return db_error(ctx, cat, "reading the quarantine"), -1;
  return s == SQLITE_ROW;
}

/* --- recording an item -------------------------------------------------------- */

static int item_rows(cf_ctx *ctx, cf_catalogue *cat, const cf_cat_item *it) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "INSERT INTO items(run_id, item_index, input, input_sha256, why, status, code, reason, stage,"
                   " stages_done, seconds, finished) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                   &st);
  if (rc) return rc;
  bind_text(st, 1, it->run_id);
  sqlite3_bind_int(st, 2, it->index);
  bind_texts(st, 3, 7,
             (const char *const[]){it->input, it->input_sha256, it->why, it->status, it->code, it->reason, it->stage});
  sqlite3_bind_int(st, 10, it->stages_done);
  sqlite3_bind_double(st, 11, it->seconds);
  bind_text(st, 12, it->finished);
  rc = step_done(ctx, cat, st, "recording an item");
  long long id = sqlite3_last_insert_rowid(cat->db);
  for (int i = 0; i < it->noutputs && !rc; i++) {
    rc = prepare(ctx, cat, "INSERT INTO outputs(item, path, sha256, size) VALUES(?1,?2,?3,?4)", &st);
    if (rc) break;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, it->outputs[i]);
    bind_text(st, 3, it->output_sha256[i]);
    sqlite3_bind_int64(st, 4, it->output_size[i]);
    rc = step_done(ctx, cat, st, "recording an output");
  }
  if (rc) return rc;
  if (!strcmp(it->status, "quarantined")) {
    rc = prepare(ctx, cat,
                 "INSERT OR REPLACE INTO quarantine(input, sha256, reason, run_id, at) VALUES(?1,?2,?3,?4,?5)", &st);
    if (rc) return rc;
    bind_texts(st, 1, 5, (const char *const[]){it->input, it->input_sha256, it->reason, it->run_id, it->finished});
    return step_done(ctx, cat, st, "quarantining an input");
  }
  if (!strcmp(it->status, "done")) {
    rc = prepare(ctx, cat, "DELETE FROM quarantine WHERE input=?1", &st);
    if (rc) return rc;
    bind_text(st, 1, it->input);
    return step_done(ctx, cat, st, "releasing an input from quarantine");
  }
  return CF_OK;
}

int cf_cat_item_record(cf_ctx *ctx, cf_catalogue *cat, const cf_cat_item *it) {
  int rc = cf_cat_begin(ctx, cat);
  if (rc) return rc;
  rc = item_rows(ctx, cat, it);
  if (!rc) rc = cf_cat_commit(ctx, cat);
  if (rc) rollback(cat);
  return rc;
}

/* --- reading ------------------------------------------------------------------- */

static int each_row(cf_ctx *ctx, cf_catalogue *cat, sqlite3_stmt *st, cf_cat_row_fn fn, void *user) {
  int s, n = sqlite3_column_count(st), rows = 0;
  const char *names[32], *values[32];
  if (n > 32) n = 32;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < n; i++) {
      names[i] = sqlite3_column_name(st, i);
      const unsigned char *v = sqlite3_column_text(st, i);
      values[i] = v ? (const char *)v : "";
    }
    rows++;
    if (fn(user, n, names, values)) break;
  }
  int ok = s == SQLITE_ROW || s == SQLITE_DONE;
  sqlite3_finalize(st);
  return ok ? rows : (db_error(ctx, cat, "reading"), -1);
}

int cf_cat_each_input_state(cf_ctx *ctx, cf_catalogue *cat, cf_cat_row_fn fn, void *user) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "SELECT i.input, i.status, i.reason, i.stage, i.run_id, i.finished, i.input_sha256,"
                   " (SELECT count(*) FROM quarantine q WHERE q.input = i.input AND q.sha256 = i.input_sha256)"
                   "   AS quarantine_current,"
                   " (SELECT count(*) FROM inputs n WHERE n.path = i.input AND n.sha256 <> i.input_sha256)"
                   "   AS content_changed"
                   " FROM items i WHERE i.id = (SELECT max(id) FROM items j WHERE j.input = i.input"
                   "   AND j.status <> 'cancelled') ORDER BY i.input",
                   &st);
  return rc ? -1 : each_row(ctx, cat, st, fn, user);
}

#define RUN_COLUMNS                                                                                    \
  "run_id, state, started, finished, seconds, host, pid, version, pipeline_path, pipeline_sha256,"  \
  " settings_sha256, n_considered, n_to_run, n_new, n_skipped, n_still_quarantined, n_done,"       \
  " n_quarantined, n_failed, n_cancelled, exit_code, argv"

int cf_cat_each_run(cf_ctx *ctx, cf_catalogue *cat, int limit, cf_cat_row_fn fn, void *user) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat, "SELECT " RUN_COLUMNS " FROM runs ORDER BY started DESC, rowid DESC LIMIT ?1", &st);
  if (rc) return -1;
  sqlite3_bind_int(st, 1, limit > 0 ? limit : -1);
  return each_row(ctx, cat, st, fn, user);
}

int cf_cat_each_run_by_id(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, cf_cat_row_fn fn, void *user) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat, "SELECT " RUN_COLUMNS " FROM runs WHERE run_id=?1", &st);
  if (rc) return -1;
  bind_text(st, 1, run_id);
  return each_row(ctx, cat, st, fn, user);
}

int cf_cat_each_item_of_run(cf_ctx *ctx, cf_catalogue *cat, const char *run_id, cf_cat_row_fn fn, void *user) {
  sqlite3_stmt *st;
  int rc = prepare(ctx, cat,
                   "SELECT item_index, input, status, why, code, reason, stage, stages_done, seconds, finished,"
                   " (SELECT count(*) FROM outputs o WHERE o.item = items.id) AS outputs"
                   " FROM items WHERE run_id=?1 ORDER BY item_index",
                   &st);
  if (rc) return -1;
  bind_text(st, 1, run_id);
  return each_row(ctx, cat, st, fn, user);
}
