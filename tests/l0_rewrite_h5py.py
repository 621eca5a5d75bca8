#!/usr/bin/python3
"""Rewrite a carbonflux L0 file from scratch with h5py, in the forms other
software writes, so that the reader is tested on files it did not write.

    /usr/bin/python3 l0_rewrite_h5py.py IN.h5 OUT.h5 [options] [+ IN2.h5 OUT2.h5 [options]]...

Several rewrites, separated by a lone "+", share one start of Python and
h5py (the tests run many). Every group, dataset and attribute of IN is read
into numpy and written anew (no HDF5 object copy), changing only what the
options ask for. The values stay the same (every type change is an exact
widening), except with --float-attrs float32, which rounds float attributes
to float32, and --instrument-id, which replaces that string.

String forms (--strings), for every string attribute:
  vlen-utf8        variable length, UTF-8 (h5py's default for a Python str)
  vlen-ascii       variable length, ASCII
  fixed-nullterm   fixed length, ASCII, NUL-terminated (size = length + 1)
  fixed-nullpad    fixed length, ASCII, NUL-padded, 8 NULs past the text
                   (numpy bytes_, h5py's default for bytes)
  fixed-spacepad   fixed length, ASCII, padded with 6 spaces
  fixed-utf8       fixed length, UTF-8, NUL-padded, 3 NULs past the text

--corrupt-chunk DATASET:ROW then damages the written file in place: the
stored chunk of DATASET holding record ROW is found with h5py's
`id.get_chunk_info_by_coord` (its byte offset and stored size in the file)
and 64 bytes in its middle are inverted, so the file's structure stays
sound and only that chunk's compressed content is wrong.

Used by tests/test_l0_h5py.c and tests/test_l0_corrupt.c (Debian's
python3-h5py, run as /usr/bin/python3).
"""
import argparse
import sys

import h5py
import numpy as np

FORMS = ("vlen-utf8", "vlen-ascii", "fixed-nullterm", "fixed-nullpad", "fixed-spacepad", "fixed-utf8")


def write_string(obj, name, text, form, shape):
    """Attribute `name` of `obj` holding `text` in string form `form`."""
    if form.startswith("vlen-"):
        utf8 = form == "vlen-utf8"
        dt = h5py.string_dtype("utf-8" if utf8 else "ascii")
        value = text if utf8 else text.encode("ascii")
        obj.attrs.create(name, np.array(value if shape == () else [value], dtype=dt), dtype=dt)
        return
    raw = text.encode("utf-8")
    # (bytes stored after the text, strpad, cset)
    pad, strpad, cset = {
        "fixed-nullterm": (b"\0", h5py.h5t.STR_NULLTERM, h5py.h5t.CSET_ASCII),
        "fixed-nullpad": (b"\0" * 8, h5py.h5t.STR_NULLPAD, h5py.h5t.CSET_ASCII),
        "fixed-spacepad": (b" " * 6, h5py.h5t.STR_SPACEPAD, h5py.h5t.CSET_ASCII),
        "fixed-utf8": (b"\0" * 3, h5py.h5t.STR_NULLPAD, h5py.h5t.CSET_UTF8),
    }[form]
    stored = raw + pad
    if form == "fixed-nullpad":
        # the high-level way: a numpy fixed-length bytes array
        obj.attrs.create(name, np.array(stored if shape == () else [stored], dtype="S%d" % len(stored)))
        return
    # the low-level way: an HDF5 string type with this padding and cset,
    # written byte for byte (memory type = file type, so no conversion
    # touches the padding)
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(stored))
    tid.set_strpad(strpad)
    tid.set_cset(cset)
    space = h5py.h5s.create(h5py.h5s.SCALAR) if shape == () else h5py.h5s.create_simple(shape)
    if name in obj.attrs:
        del obj.attrs[name]
    aid = h5py.h5a.create(obj.id, name.encode("utf-8"), tid, space)
    aid.write(np.array(stored if shape == () else [stored], dtype="S%d" % len(stored)), mtype=tid)
    aid.close()


def is_string(value):
    return isinstance(value, (str, bytes, np.bytes_, np.str_))


def copy_attrs(src, dst, opt):
    shape = () if opt.attr_shape == "scalar" else (1,)
    for name, value in src.attrs.items():
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "OSU":
            value = value.reshape(()).item()  # a one-element string attribute
        if is_string(value):
            text = value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)
            if name == "instrument_id" and opt.instrument_id is not None:
                text = opt.instrument_id
            write_string(dst, name, text, opt.strings, shape)
            continue
        arr = np.asarray(value)
        if arr.size != 1:
            dst.attrs.create(name, arr)
            continue
        if np.issubdtype(arr.dtype, np.integer):
            # int64 is what a Python int becomes in h5py
            arr = arr.astype(np.int64 if opt.int_attrs == "int64" else arr.dtype)
        elif np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32 if opt.float_attrs == "float32" else arr.dtype)
        dst.attrs.create(name, arr.reshape(shape))


def dataset_options(shape, opt):
    """Chunking and filters for a dataset of this shape."""
    if not opt.chunked or len(shape) == 0 or 0 in shape:
        return {}
    if opt.row_chunks:
        # whole rows per chunk, gzip + shuffle only: the layout carbonflux
        # reads past HDF5's filter pipeline (ingest/h5_chunk_rows.c)
        return {
            "chunks": (max(1, min(shape[0], opt.row_chunks)),) + tuple(shape[1:]),
            "maxshape": (None,) + tuple(shape[1:]),
            "compression": "gzip",
            "compression_opts": 6,
            "shuffle": True,
        }
    # chunk edges that do not divide the extents, so that edge chunks are partial
    edges = {1: (5,), 2: (7, 999), 3: (2, 3, 100)}[len(shape)]
    return {
        "chunks": tuple(max(1, min(n, e)) for n, e in zip(shape, edges)),
        "maxshape": (None,) + tuple(shape[1:]),
        "compression": "gzip",
        "compression_opts": 6,
        "shuffle": True,
        "fletcher32": True,
    }


def dataset_dtype(dtype, opt):
    if opt.wide_datasets and np.issubdtype(dtype, np.integer):
        return np.dtype(np.int64)
    if opt.wide_datasets and np.issubdtype(dtype, np.floating):
        return np.dtype(np.float64)
    return dtype


def rewrite(src, dst, opt):
    copy_attrs(src, dst, opt)
    for name, item in src.items():
        if isinstance(item, h5py.Group):
            rewrite(item, dst.create_group(name), opt)
        else:
            data = item[()]
            dt = dataset_dtype(item.dtype, opt)
            d = dst.create_dataset(name, data=data.astype(dt), dtype=dt, **dataset_options(data.shape, opt))
            copy_attrs(item, d, opt)
            if opt.extras:
                d.attrs["long_name"] = "an attribute no reader asked for"
                d.attrs.create("valid_range", np.array([-1e30, 1e30]))


def add_extras(f, opt):
    """Fields the spec does not list; a reader must ignore them."""
    f.attrs["comment"] = "rewritten by l0_rewrite_h5py.py"
    f.attrs.create("calibration_coefficients", np.array([1.5, -2.0, 3.25]))
    f.attrs["processing_flags"] = ["a", "list", "of", "strings"]
    f.attrs["is_test"] = True
    f["rays"].create_dataset("quality_flag", data=np.zeros(f["rays/time"].shape, dtype=np.int8))
    f["rays"].attrs["note"] = "group attribute"
    hk = f.create_group("housekeeping")
    hk.create_dataset("laser_temperature_k", data=np.linspace(290.0, 291.0, 17), **dataset_options((17,), opt))
    det = hk.create_group("detector")
    det.attrs["model"] = np.bytes_(b"InGaAs APD")
    det.create_dataset("bias_v", data=np.float32(41.5))
    f["spectrum_t"] = np.dtype("<f4")  # a committed datatype
    f["latest_rays"] = h5py.SoftLink("/rays")
    f["calibration"] = h5py.ExternalLink("no-such-calibration-file.h5", "/table")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--strings", choices=FORMS, default="vlen-utf8", help="string attribute form")
    p.add_argument("--attr-shape", choices=("scalar", "1"), default="scalar",
                   help="dataspace of single-valued attributes: scalar or one element")
    p.add_argument("--int-attrs", choices=("same", "int64"), default="same")
    p.add_argument("--float-attrs", choices=("same", "float32"), default="same")
    p.add_argument("--wide-datasets", action="store_true",
                   help="every integer dataset as int64, every float dataset as float64 (numpy's defaults)")
    p.add_argument("--chunked", action="store_true", help="chunked datasets with gzip, shuffle and fletcher32")
    p.add_argument("--row-chunks", type=int, default=0,
                   help="with --chunked: N whole rows per chunk, gzip and shuffle, no checksum")
    p.add_argument("--lzf", action="store_true", help="the big datasets compressed with h5py's own LZF filter")
    p.add_argument("--extras", action="store_true", help="add attributes, datasets, groups and links nobody asked for")
    p.add_argument("--libver", choices=("earliest", "latest"), default="earliest")
    p.add_argument("--instrument-id", help="replace the instrument_id text (e.g. non-ASCII)")
    p.add_argument("--corrupt-chunk", metavar="DATASET:ROW",
                   help="afterwards, invert 64 bytes in the middle of DATASET's stored chunk holding record ROW")
    return p.parse_args(argv)


def run(opt):
    with h5py.File(opt.src, "r") as src, h5py.File(opt.dst, "w", libver=opt.libver) as dst:
        rewrite(src, dst, opt)
        if opt.extras:
            add_extras(dst, opt)
        if opt.lzf:
            for group in ("spectra", "raw"):
                if group in dst:
                    for name in list(dst[group]):
                        data = dst[group][name][()]
                        del dst[group][name]
                        dst[group].create_dataset(name, data=data, compression="lzf")
    if opt.corrupt_chunk:
        corrupt_chunk(opt.dst, opt.corrupt_chunk)


def corrupt_chunk(path, spec):
    """Invert 64 bytes in the middle of the stored chunk of dataset:row,
    located by HDF5's own chunk index (offset and size in the file)."""
    name, row = spec.rsplit(":", 1)
    with h5py.File(path, "r") as f:
        d = f[name]
        if d.chunks is None:
            raise SystemExit("%s: %s is not chunked" % (path, name))
        coord = (int(row) // d.chunks[0] * d.chunks[0],) + (0,) * (len(d.shape) - 1)
        info = d.id.get_chunk_info_by_coord(coord)
    if info.byte_offset is None or info.size < 128:
        raise SystemExit("%s: %s's chunk at %s is not stored or too small (%s bytes)" % (path, name, coord, info.size))
    start = info.byte_offset + info.size // 2 - 32
    with open(path, "r+b") as raw:
        raw.seek(start)
        stored = raw.read(64)
        raw.seek(start)
        raw.write(bytes(b ^ 0xFF for b in stored))


def main(argv):
    jobs, job = [], []
    for arg in argv + ["+"]:
        if arg == "+":
            jobs.append(parse(job))  # all parsed (and checked) before any is run
            job = []
        else:
            job.append(arg)
    for opt in jobs:
        run(opt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
