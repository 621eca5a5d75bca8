/*
 * GDAL's and HDF5's messages into the context's log; see library_log.h.
 */
#include "ingest/library_log.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <hdf5.h>
#include <stdio.h>

static cf_ctx *g_log_ctx;

static void gdal_to_log(CPLErr cls, CPLErrorNum num, const char *msg) {
  cf_log_level level = cls == CE_Debug ? CF_LOG_DEBUG : cls == CE_Warning ? CF_LOG_WARN : cls == CE_None ? CF_LOG_INFO : CF_LOG_ERROR;
  if (cf_get_log_format(g_log_ctx) == CF_LOG_TEXT) { /* a sentence, as GDAL's own "ERROR 1: ..." */
    cf_log(g_log_ctx, level, "GDAL (%d): %s", (int)num, msg ? msg : "");
    return;
  }
  char code[16];
  snprintf(code, sizeof code, "%d", (int)num);
  cf_log_event(g_log_ctx, level, "gdal", "code", code, "msg", msg ? msg : "", (const char *)NULL);
}

static herr_t hdf5_frame_to_log(unsigned n, const H5E_error2_t *e, void *user) {
  char num[16], line[16];
  snprintf(num, sizeof num, "%u", n);
  snprintf(line, sizeof line, "%u", e->line);
  char msg[1024];
  snprintf(msg, sizeof msg, "%s(): %s", e->func_name ? e->func_name : "?", e->desc ? e->desc : "");
  if (cf_get_log_format(user) == CF_LOG_TEXT) {
    cf_log(user, CF_LOG_WARN, "HDF5: %s (%s line %u)", msg, e->file_name ? e->file_name : "?", e->line);
    return 0;
  }
  cf_log_event(user, CF_LOG_WARN, "hdf5", "frame", num, "msg", msg, "where", e->file_name ? e->file_name : "",
               "line", line, (const char *)NULL);
  return 0;
}

/* HDF5's automatic error report (printed by default to stderr), walked
 * frame by frame into the log instead. */
static herr_t hdf5_to_log(hid_t stack, void *user) {
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, hdf5_frame_to_log, user);
  return 0;
}

void cf_library_log_route(cf_ctx *ctx) {
  g_log_ctx = ctx;
  CPLSetErrorHandler(gdal_to_log);
  /* Where the library silences GDAL (CPLQuietErrorHandler pushed), GDAL
   * still hands CPL_DEBUG messages to its default handler, which prints raw
   * text to stderr: in JSON mode send those to CPL_LOG=/dev/null instead
   * (unless the user chose a CPL_LOG file). */
  if (cf_get_log_format(ctx) == CF_LOG_JSON && !CPLGetConfigOption("CPL_LOG", NULL))
    CPLSetConfigOption("CPL_LOG", "/dev/null");
  H5Eset_auto2(H5E_DEFAULT, hdf5_to_log, ctx);
}

void cf_library_log_unroute(void) {
  if (!g_log_ctx) return;
  CPLSetErrorHandler(NULL);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  g_log_ctx = NULL;
}

void cf_library_log_thread_attach(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
