/*
 * What a failed HDF5 read means, for the exit code and the message.
 *
 * Why. A read can fail because the file's content is bad (a chunk whose
 * deflate stream does not inflate, a Fletcher32 checksum that does not
 * match: the input is to be rejected and quarantined, like any invalid
 * file) or because the system failed it (EIO from a disk or a network
 * filesystem: a processing failure, worth retrying tomorrow). H5Dread says
 * only "can't read data"; which of the two it was is in HDF5's error stack:
 * a frame carrying the operating system's errno, or a frame of the filter
 * pipeline or of data storage (H5E_PLINE, H5E_STORAGE) or of the chunk
 * index (H5E_BTREE), or none of these: without a system error the file is
 * what HDF5 tripped over (an address past its end). This reads the stack
 * HDF5 left for the calling thread (its automatic printing may be off: the
 * stack is kept regardless; any later HDF5 call clears it, so read it
 * first) and pushes one frame in our words.
 */
#ifndef CF_INGEST_H5_READ_ERROR_H
#define CF_INGEST_H5_READ_ERROR_H

#include "carbonflux/ctx.h"

/* Push an error for the HDF5 read that just failed: `what` says what was
 * being read ("records 64..127"). The code is CF_EDATA for corrupt content
 * (filter, checksum, storage or chunk-index failures), CF_EIO for an error
 * the system reported (the reason is its strerror), CF_ENOMEM for HDF5 out
 * of resources, and CF_EDATA otherwise; the reason names the failure. */
int cf_h5_read_error(cf_ctx *ctx, const char *path, const char *dataset, const char *what);

/* The code cf_h5_read_error would push for the current stack, and its
 * reason into why[n], without pushing anything. */
int cf_h5_read_failure(char *why, size_t n);

#endif
