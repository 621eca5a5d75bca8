/*
 * Routing GDAL's and HDF5's own messages into the context's log.
 *
 * Both libraries print their diagnostics themselves by default (GDAL's
 * "ERROR 1: ...", HDF5's multi-line error stack on stderr), which breaks a
 * log whose every line is meant to be one JSON object (--log-format json)
 * and says nothing in our words. cf_library_log_route installs handlers
 * that hand each message to the context's logger: in text mode as one
 * sentence ("GDAL (4): ...", "HDF5: H5Fopen(): unable to open file"),
 * in JSON mode as an event ("gdal" with the CPLE code, "hdf5" with the
 * frame, function, file and line), numbers as numbers.
 *
 * GDAL's handler and HDF5's automatic error report are process-wide, so
 * this is for a program's main (the command-line tool), once, with the
 * context it logs through; the library itself never calls it.
 */
#ifndef CF_INGEST_LIBRARY_LOG_H
#define CF_INGEST_LIBRARY_LOG_H

#include "carbonflux/ctx.h"

/* Route both libraries' messages to `ctx`'s log until unrouted. */
void cf_library_log_route(cf_ctx *ctx);
/* Back to silence (not to the libraries' own printing): for the end of a
 * program, after which `ctx` may be destroyed. */
void cf_library_log_unroute(void);
/* For the calling thread: HDF5's automatic report off, as netCDF-C leaves
 * it in the thread it initialised in (every HDF5 failure our readers care
 * about is returned, walked and reported in our words; what the automatic
 * report would add here is netCDF-C's probes for attributes a file does not
 * have: some 90 stacks for the demo's flux step). */
void cf_library_log_thread_attach(void);

#endif
