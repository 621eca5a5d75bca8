/* FFT planning under one lock, with wisdom kept per machine; see fft_wisdom.h. */
#include "lidar/fft_wisdom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"

static char *imported_from; /* the file last looked at in this process (under the lock) */

char *cf_fft_wisdom_path(void) {
  const char *env = getenv("CARBONFLUX_FFTW_WISDOM");
  if (env) return env[0] && strcmp(env, "off") ? strdup(env) : NULL;
  char host[256] = "unknown";
  if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "unknown");
  host[sizeof host - 1] = '\0';
  for (char *c = host; *c; c++) /* a file name, whatever the host is called */
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
      *c = '_';
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char path[4096];
  int n;
  if (xdg && xdg[0] == '/')
    n = snprintf(path, sizeof path, "%s/carbonflux/fftw-wisdom-%s", xdg, host);
  else if (home && home[0] == '/')
    n = snprintf(path, sizeof path, "%s/.cache/carbonflux/fftw-wisdom-%s", home, host);
  else
    return NULL;
  return n > 0 && (size_t)n < sizeof path ? strdup(path) : NULL;
}

/* Import the wisdom file once per process (again only if the file in use
 * changes); anything wrong is logged and ignored. */
static void wisdom_import(cf_ctx *ctx, const char *path) {
  if (!path || (imported_from && !strcmp(imported_from, path))) return;
  free(imported_from);
  imported_from = strdup(path);
  if (access(path, F_OK) != 0) return;
  if (fftw_import_wisdom_from_filename(path)) {
    cf_log(ctx, CF_LOG_DEBUG, "%s: FFTW wisdom imported", path);
  } else {
    fftw_forget_wisdom(); /* nothing half-imported stays */
    cf_log(ctx, CF_LOG_WARN,
           "%s: not readable as wisdom of this FFTW (unreadable, corrupt, or from another FFTW version): ignored; "
           "plans are measured afresh and the file is replaced",
           path);
  }
}

/* Write `wisdom` to `path` through a part file renamed into place; a
 * failure (read-only cache, full disk) is logged, never returned. */
static void wisdom_export(cf_ctx *ctx, const char *path, const char *wisdom) {
  cf_atomic_file af = {0};
  int rc = cf_mkdirs(ctx, path, 0);
  if (!rc) rc = cf_atomic_begin(ctx, path, &af);
  if (!rc) rc = cf_atomic_write_text(ctx, &af, wisdom);
  if (!rc) rc = cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  if (rc) {
    cf_log(ctx, CF_LOG_INFO, "%s: FFTW wisdom not kept (%s); the next run measures again", path,
           cf_error_message(ctx));
    cf_error_clear(ctx);
  } else {
    cf_log(ctx, CF_LOG_DEBUG, "%s: FFTW wisdom written", path);
  }
}

fftw_plan cf_fft_plan_r2c(cf_ctx *ctx, int n, unsigned flags) {
  fftw_plan p = NULL;
  int measuring = !(flags & (FFTW_ESTIMATE | FFTW_WISDOM_ONLY));
#pragma omp critical(cf_fftw_planner)
  {
    char *path = measuring ? cf_fft_wisdom_path() : NULL, *before = NULL;
    if (measuring) {
      wisdom_import(ctx, path);
      before = fftw_export_wisdom_to_string();
    }
    /* planning arrays of our own: FFTW_MEASURE overwrites them */
    double *in = fftw_alloc_real((size_t)n);
    fftw_complex *out = fftw_alloc_complex((size_t)n / 2 + 1);
    if (in && out) p = fftw_plan_dft_r2c_1d(n, in, out, flags);
    fftw_free(in);
    fftw_free(out);
    if (p && path) {
      char *after = fftw_export_wisdom_to_string();
      if (after && (!before || strcmp(before, after))) wisdom_export(ctx, path, after);
      fftw_free(after);
    }
    fftw_free(before);
    free(path);
  }
  return p;
}

fftw_plan cf_fft_plan_dft_1d(int n, fftw_complex *in, fftw_complex *out, int sign, unsigned flags) {
  fftw_plan p;
#pragma omp critical(cf_fftw_planner)
  p = fftw_plan_dft_1d(n, in, out, sign, flags);
  return p;
}

void cf_fft_destroy(fftw_plan p) {
#pragma omp critical(cf_fftw_planner)
  fftw_destroy_plan(p);
}
