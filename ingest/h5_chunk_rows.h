/*
 * Reading whole rows of a chunked, deflated HDF5 dataset without HDF5's
 * filter pipeline: the stored chunks are fetched as they are on disk
 * (H5Dread_chunk) and inflated here with libdeflate, the shuffle filter
 * undone here.
 *
 * Why. The Doppler processing of an hour of spectra reads 300 MB of
 * shuffled, deflated float32 in blocks of rays, in one thread (HDF5 is
 * never called by two threads at once, DESIGN.md), while the others fit.
 * That thread had become the critical path: H5Dread of an hour's spectra
 * took 3.2 CPU seconds here through h5py (zlib's inflate, HDF5's unshuffle,
 * the chunk cache's copies), where zlib alone inflated the stored chunks in
 * about 0.6 s. In `carbonflux lidar process` the hour's reading went from
 * 4.2-4.4 s (load 6) to 1.0-1.4 s (load 4-9) with libdeflate, which decodes
 * the same zlib streams faster still; the bytes are the same (a lossless
 * filter has one inverse).
 *
 * It applies only where it knows the pipeline exactly: a chunked dataset
 * whose chunks span every dimension but the first, whose filters are
 * shuffle (optional) then deflate and nothing else, and whose file type
 * equals the memory type (no conversion), in chunks of at most 64 MiB
 * (two are kept per dataset). Anything else, a chunk never
 * written (it holds the fill value), or a chunk whose stored size is not
 * what inflating gives, returns CF_H5ROWS_UNSUPPORTED and the caller reads
 * with H5Dread as before. The last chunk read is kept (a block of rays
 * rarely ends on a chunk boundary: the next block starts in the same
 * chunk).
 */
#ifndef CF_INGEST_H5_CHUNK_ROWS_H
#define CF_INGEST_H5_CHUNK_ROWS_H

#include <hdf5.h>
#include <stddef.h>

enum { CF_H5ROWS_OK = 0, CF_H5ROWS_UNSUPPORTED = 1, CF_H5ROWS_FAILED = -1 };

typedef struct cf_h5_rows cf_h5_rows;

/* Inspect dataset `d` for rows of type `memtype`; returns NULL where the
 * direct path does not apply (the caller then uses H5Dread). */
cf_h5_rows *cf_h5_rows_open(hid_t d, hid_t memtype);
void cf_h5_rows_close(cf_h5_rows *r);

/* Rows [first, first+count) into buf (count x the row's elements):
 * CF_H5ROWS_OK, CF_H5ROWS_UNSUPPORTED (nothing useful written: read with
 * H5Dread instead) or CF_H5ROWS_FAILED (an HDF5 read or a corrupt
 * stream). The caller checks the range against the dataset's extent. */
int cf_h5_rows_read(cf_h5_rows *r, size_t first, size_t count, void *buf);

#endif
