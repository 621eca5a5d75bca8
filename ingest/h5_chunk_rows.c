/* Rows of a shuffled, deflated HDF5 dataset through libdeflate; see h5_chunk_rows.h. */
#include "ingest/h5_chunk_rows.h"

#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Two buffers of a chunk are kept per dataset (inflated, unshuffled) for
 * as long as the file is open: past this size HDF5, which holds one chunk
 * at a time, is the better reader (an hour's spectra come in 1 MB chunks) */
#define CF_H5ROWS_MAX_CHUNK ((size_t)64 << 20)

struct cf_h5_rows {
  hid_t d;
  int rank;
  hsize_t rows;         /* extent of dimension 0 */
  hsize_t chunk_rows;   /* chunk extent along dimension 0 */
  size_t row_bytes;     /* bytes of one row (every other dimension whole) */
  size_t elem;          /* bytes per element: the shuffle's stride */
  int shuffled;         /* the pipeline is shuffle, deflate (else deflate alone) */
  struct libdeflate_decompressor *inflater;
  unsigned char *stored, *inflated, *chunk; /* the stored chunk, inflated, unshuffled */
  size_t stored_cap;
  long long cached;     /* index of the chunk held in `chunk`, -1 none */
};

cf_h5_rows *cf_h5_rows_open(hid_t d, hid_t memtype) {
  hid_t dcpl = H5Dget_create_plist(d), ft = H5Dget_type(d), fs = H5Dget_space(d);
  cf_h5_rows *r = NULL;
  int rank = fs >= 0 ? H5Sget_simple_extent_ndims(fs) : -1;
  hsize_t dims[H5S_MAX_RANK], cdims[H5S_MAX_RANK];
  int ok = dcpl >= 0 && ft >= 0 && rank >= 1 && rank <= H5S_MAX_RANK && H5Tequal(ft, memtype) > 0 &&
           H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, rank, cdims) == rank &&
           H5Sget_simple_extent_dims(fs, dims, NULL) == rank;
  for (int i = 1; ok && i < rank; i++) ok = cdims[i] == dims[i];
  int nf = ok ? H5Pget_nfilters(dcpl) : 0, shuffled = 0;
  if (ok && (nf < 1 || nf > 2)) ok = 0;
  for (int i = 0; ok && i < nf; i++) { /* shuffle (optional, first), then deflate, nothing else */
    unsigned flags, cd[8];
    size_t ncd = 8;
    char name[64];
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
    if (nf == 2 && i == 0)
      ok = id == H5Z_FILTER_SHUFFLE, shuffled = 1;
    else
      ok = id == H5Z_FILTER_DEFLATE;
  }
  if (ok) {
    r = calloc(1, sizeof *r);
    if (r) {
      r->d = d;
      r->rank = rank;
      r->rows = dims[0];
      r->chunk_rows = cdims[0];
      r->elem = H5Tget_size(ft);
      r->row_bytes = r->elem;
      for (int i = 1; i < rank; i++) r->row_bytes *= (size_t)dims[i];
      r->shuffled = shuffled;
      r->cached = -1;
      size_t cb = r->row_bytes * (size_t)r->chunk_rows;
      if (cb > CF_H5ROWS_MAX_CHUNK) cb = 0; /* refused below: HDF5 reads it one chunk at a time */
      r->inflater = libdeflate_alloc_decompressor();
      r->inflated = cb ? malloc(cb) : NULL;
      r->chunk = shuffled && cb ? malloc(cb) : r->inflated;
      if (!r->inflater || !r->inflated || !r->chunk || r->elem == 0 || cb == 0) {
        cf_h5_rows_close(r);
        r = NULL;
      }
    }
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  if (ft >= 0) H5Tclose(ft);
  if (fs >= 0) H5Sclose(fs);
  return r;
}

void cf_h5_rows_close(cf_h5_rows *r) {
  if (!r) return;
  if (r->inflater) libdeflate_free_decompressor(r->inflater);
  if (r->chunk != r->inflated) free(r->chunk);
  free(r->inflated);
  free(r->stored);
  free(r);
}

/* HDF5's shuffle stores byte b of every element together, b = 0..elem-1,
 * then the bytes past the last whole element as they were */
static void unshuffle(const unsigned char *in, unsigned char *out, size_t nbytes, size_t elem) {
  size_t n = nbytes / elem;
  if (elem == 4) {
    const unsigned char *b0 = in, *b1 = in + n, *b2 = in + 2 * n, *b3 = in + 3 * n;
    for (size_t i = 0; i < n; i++) {
      out[4 * i] = b0[i];
      out[4 * i + 1] = b1[i];
      out[4 * i + 2] = b2[i];
      out[4 * i + 3] = b3[i];
    }
  } else {
    for (size_t b = 0; b < elem; b++)
      for (size_t i = 0; i < n; i++) out[i * elem + b] = in[b * n + i];
  }
  memcpy(out + n * elem, in + n * elem, nbytes - n * elem);
}

/* Chunk `c` into r->chunk: CF_H5ROWS_OK, _UNSUPPORTED or _FAILED. */
static int load_chunk(cf_h5_rows *r, long long c) {
  if (r->cached == c) return CF_H5ROWS_OK;
  r->cached = -1;
  hsize_t off[H5S_MAX_RANK] = {0};
  off[0] = (hsize_t)c * r->chunk_rows;
  hsize_t stored = 0;
  herr_t got_size = -1;
  H5E_BEGIN_TRY { /* an unwritten chunk is an answer here, not an error to print */
    got_size = H5Dget_chunk_storage_size(r->d, off, &stored);
  }
  H5E_END_TRY;
  if (got_size < 0 || stored == 0) return CF_H5ROWS_UNSUPPORTED; /* never written */
  /* deflate never stores more than its bound: a larger size is a corrupt
   * index, left to H5Dread to report rather than allocated */
  if (stored > libdeflate_zlib_compress_bound(NULL, r->row_bytes * (size_t)r->chunk_rows)) return CF_H5ROWS_UNSUPPORTED;
  if (stored > r->stored_cap) {
    unsigned char *p = realloc(r->stored, (size_t)stored);
    if (!p) return CF_H5ROWS_UNSUPPORTED;
    r->stored = p;
    r->stored_cap = (size_t)stored;
  }
  uint32_t mask = 0;
  if (H5Dread_chunk(r->d, H5P_DEFAULT, off, &mask, r->stored) < 0) return CF_H5ROWS_FAILED;
  if (mask != 0) return CF_H5ROWS_UNSUPPORTED; /* a filter was skipped for this chunk */
  size_t want = r->row_bytes * (size_t)r->chunk_rows, got = 0;
  if (libdeflate_zlib_decompress(r->inflater, r->stored, (size_t)stored, r->inflated, want, &got) != LIBDEFLATE_SUCCESS ||
      got != want)
    return CF_H5ROWS_FAILED;
  if (r->shuffled) unshuffle(r->inflated, r->chunk, want, r->elem);
  r->cached = c;
  return CF_H5ROWS_OK;
}

int cf_h5_rows_read(cf_h5_rows *r, size_t first, size_t count, void *buf) {
  unsigned char *out = buf;
  size_t row = first, end = first + count;
  while (row < end) {
    long long c = (long long)(row / r->chunk_rows);
    int rc = load_chunk(r, c);
    if (rc != CF_H5ROWS_OK) return rc;
    size_t in0 = row - (size_t)c * r->chunk_rows, n = (size_t)r->chunk_rows - in0;
    if (n > end - row) n = end - row;
    memcpy(out + (row - first) * r->row_bytes, r->chunk + in0 * r->row_bytes, n * r->row_bytes);
    row += n;
  }
  return CF_H5ROWS_OK;
}
