/*
 * A structure-aware writer of lidar L0 files for fuzzing the L0 reader.
 *
 * Why not feed the reader mutated bytes: a mutated HDF5 file mostly tests
 * libhdf5's own parser, which is known to crash on corrupted files (README,
 * "A crash costs one input": items are isolated with fork for that
 * reason), and almost never reaches our validation. Here the fuzz input is
 * a program that drives the writing of a well-formed HDF5 file, object by
 * object, following ../shared/spec/lidar-l0.md: for every root attribute
 * and dataset of the spec it chooses to write it as the spec says (in any
 * of the encodings HDF5 allows: fixed or variable-length strings, ASCII or
 * UTF-8, NUL-terminated, NUL- or space-padded; any integer width and
 * signedness; float32 or float64; either byte order; contiguous, chunked,
 * deflated, shuffled, checksummed or compact storage), or to leave it out,
 * give it the wrong class, rank or length, a huge extent, a value from the
 * input (NaN, Inf, negative, zero), a group or a dangling link in its
 * place. libhdf5 writes the file, so it is always a valid HDF5 file and
 * every reject or crash is about our reading of it.
 *
 * An empty input writes a valid file of level spectra; an input runs out
 * into valid choices, so short inputs are small variations of a valid file.
 */
#ifndef CF_FUZZ_L0_BUILDER_H
#define CF_FUZZ_L0_BUILDER_H

#include <stddef.h>
#include <stdint.h>

/* Write the file the input describes at `path` (replaced). Returns 0, or
 * -1 when HDF5 could not write it (the input is then simply skipped). */
int cf_fuzz_l0_write(const char *path, const uint8_t *data, size_t size);

#endif
