/* The search for a recorded input (input_resolve.h): the candidates in
 * order, the first that exists, and the list of places for a message. */
#include "sink/input_resolve.h"

#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/strbuf.h"

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

enum { N_CANDIDATES = 7 };
typedef struct {
  char *path[N_CANDIDATES];
  const char *how[N_CANDIDATES];
  int n;
} candidates;

static void candidate(candidates *c, char *path, const char *how) {
  if (!path) return; /* out of memory: one place fewer to look */
  c->path[c->n] = path, c->how[c->n] = how, c->n++;
}

/* The places in the order of input_resolve.h. */
static void candidates_of(candidates *c, const char *in, const char *recorded_by, const char *path, const char *rel) {
  char *dir = cf_path_dirname(recorded_by);
  const char *doc = dir ? dir : ".";
  int relative = path[0] != '/';
  if (in && rel[0]) candidate(c, cf_path_join(in, rel), "under --inputs-dir by the recorded relative path");
  if (in && relative) candidate(c, cf_path_join(in, path), "under --inputs-dir");
  if (in) candidate(c, cf_path_join(in, base_name(path)), "by its name under --inputs-dir");
  if (rel[0]) candidate(c, cf_path_join(doc, rel), "by the recorded path relative to the recording file");
  else if (relative) candidate(c, cf_path_join(doc, path), "relative to the recording file"); /* older records */
  candidate(c, strdup(path), "at the recorded path");
  candidate(c, cf_path_join(doc, base_name(path)), "by its name beside the recording file");
  free(dir);
}

char *cf_input_resolve(const char *inputs_dir, const char *recorded_by, const char *path, const char *rel,
                       const char **how, char **tried) {
  candidates c = {0};
  if (path && path[0]) candidates_of(&c, inputs_dir, recorded_by, path, rel ? rel : "");
  int k = 0;
  while (k < c.n && !cf_file_exists(c.path[k])) k++;
  *how = k < c.n ? c.how[k] : "";
  if (tried) {
    cf_strbuf sb;
    cf_strbuf_init(&sb);
    for (int i = 0; i < c.n; i++) cf_strbuf_printf(&sb, "%s%s", i ? ", " : "", c.path[i]);
    *tried = cf_strbuf_take(&sb);
  }
  for (int i = 0; i < c.n; i++)
    if (i != k) free(c.path[i]);
  return k < c.n ? c.path[k] : NULL;
}
