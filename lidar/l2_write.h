/*
 * The L2 product writer (../shared/spec/lidar-l2.md): NetCDF-4, CF-1.8.
 *
 * It is a sink of the processing driver (process.h): dimensions and
 * metadata on begin(), then each block of rays and each scan's wind
 * profile appended along the unlimited `time` and `scan` dimensions, so the
 * file is written while the L0 file is read and memory stays bounded.
 * Masked or rejected values are the variable's _FillValue, never a
 * plausible number; qc_flag says why (flag_masks / flag_meanings). The
 * file is written under a part name and renamed only when complete.
 */
#ifndef CF_LIDAR_L2_WRITE_H
#define CF_LIDAR_L2_WRITE_H

#include "lidar/process.h"

typedef struct {
  const char *title;       /* default "CO2-flux lidar L2: radial wind, CO2 and wind profiles" */
  const char *institution; /* default "unknown" */
  const char *history;     /* the command line; written as "<UTC ISO-8601>Z <history> (carbonflux
                            * <version>, input <L0 file name>)" */
  const char *parameters;  /* effective settings as JSON text */
  const char *input_sha256; /* the L0 file's SHA-256 (hex) if the caller has it (a pipeline notes it when
                             * reading); NULL: the writer hashes the file in a thread of its own while the
                             * rays are processed (the hash was 12 % of the wall time of an hour's file
                             * when it ran before them) */
} cf_l2_meta;

typedef struct cf_l2_writer cf_l2_writer;

int cf_l2_writer_create(cf_ctx *ctx, const char *path, const cf_l2_meta *meta, cf_l2_writer **out);
/* The sink to hand to cf_lidar_process with the writer as user data. */
extern const cf_l2_sink cf_l2_writer_sink;
/* Commit (rename into place) if `ok`, else remove; frees the writer. */
int cf_l2_writer_finish(cf_ctx *ctx, cf_l2_writer *w, int ok);
/* Why netCDF call status `e` failed, the system's reason first ("No space
 * left on device"), else netCDF's; call right after the failing call,
 * with errno cleared before it. Writes into `why` and returns it. */
const char *cf_nc_failure_reason(int e, char *why, size_t n);
/* Run netCDF call `call` (errno cleared first); if it fails, return from
 * the calling function with a CF_EIO frame naming `path` and `var` and
 * cf_nc_failure_reason's text. The caller includes <errno.h>. */
#define CF_NC_TRY(ctx, path, var, call)                                                             \
  do {                                                                                              \
    errno = 0;                                                                                      \
    int e_ = (call);                                                                                \
    if (e_ != NC_NOERR) {                                                                           \
      char why_[320];                                                                               \
      return cf_error((ctx), CF_EIO, (path), (var), "%s", cf_nc_failure_reason(e_, why_, sizeof why_)); \
    }                                                                                               \
  } while (0)

/* Convenience: process `l0_path` with `opts` into `l2_path`. */
int cf_lidar_l0_to_l2(cf_ctx *ctx, const char *l0_path, const char *l2_path, const cf_lidar_opts *opts,
                      const cf_l2_meta *meta);

#endif
