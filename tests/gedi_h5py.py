"""Independent reading (h5py + numpy) of a GEDI L2A file for tests/test_gedi.c.

  gedi_h5py.py dump FILE [MINSENS POWER_ONLY]...
      one line per shot, all beams in name order:
        S beam full_power shot_number lat lon elev sensitivity quality degrade rh0 .. rh100
      (full_power: 1 if the group's description attribute says "Full power")
      then, for each (MINSENS, POWER_ONLY) pair, the filter counts computed
      with numpy masks (first failing reason, in the reader's documented
      order: invalid, quality, degrade, sensitivity, beam):
        C minsens power read invalid quality degrade sensitivity beam kept
  gedi_h5py.py offsets FILE
      byte offsets (and sizes) of BEAM0101/rh's first chunk, the object
      header of BEAM0101/rh and of group BEAM0101, to garble them
  gedi_h5py.py flags SRC OUT
      a copy where some shots fail each test (the real subset has no
      quality or degrade failures): BEAM0101 quality_flag 0 at rows 0-2,
      BEAM0110 degrade_flag 1 at rows 3-5 and quality_flag 0 at row 5 (a
      shot failing two tests), BEAM1000 lat NaN at row 1 and lon 200 at row 2
  gedi_h5py.py nobeam OUT          an HDF5 file with METADATA and no BEAM group
  gedi_h5py.py drop SRC OUT DSET   a copy of SRC without dataset DSET
  gedi_h5py.py shorten SRC OUT DSET  a copy with DSET one row shorter
Floats print with repr (shortest round-trip), so the C side can compare
exactly.
"""
import shutil
import sys

import h5py
import numpy as np


def beams(f):
    return sorted(k for k in f.keys() if k.startswith("BEAM") and isinstance(f[k], h5py.Group))


def dump(path, pairs):
    with h5py.File(path, "r") as f:
        cols = {}
        for b in beams(f):
            g = f[b]
            sn = g["shot_number"][:]
            lat = g["lat_lowestmode"][:].astype(np.float64)
            lon = g["lon_lowestmode"][:].astype(np.float64)
            el = g["elev_lowestmode"][:].astype(np.float64)
            se = g["sensitivity"][:].astype(np.float64)
            q = g["quality_flag"][:].astype(np.int64)
            d = g["degrade_flag"][:].astype(np.int64)
            rh = g["rh"][:].astype(np.float64)
            desc = g.attrs.get("description", [b""])
            desc = desc[0] if isinstance(desc, np.ndarray) else desc
            desc = desc.decode() if isinstance(desc, bytes) else str(desc)
            full = int(desc.startswith("Full power"))
            for i in range(len(sn)):
                vals = [lat[i], lon[i], el[i], se[i]]
                print("S", b, full, int(sn[i]), " ".join(repr(float(v)) for v in vals), int(q[i]), int(d[i]),
                      " ".join(repr(float(v)) for v in rh[i]))
            power = int(b[4:], 2) >= 4
            for k, v in (("lat", lat), ("lon", lon), ("q", q), ("d", d), ("s", se)):
                cols.setdefault(k, []).append(v)
            cols.setdefault("p", []).append(np.full(len(sn), power))
        c = {k: np.concatenate(v) for k, v in cols.items()}
        for minsens, power_only in pairs:
            invalid = ~(np.isfinite(c["lat"]) & np.isfinite(c["lon"]) & (np.abs(c["lat"]) <= 90)
                        & (np.abs(c["lon"]) <= 180))
            left = ~invalid
            counts = [int(invalid.sum())]
            for fail in (c["q"] != 1, c["d"] != 0, ~(c["s"] >= minsens),
                         (~c["p"]) if power_only else np.zeros_like(left)):
                hit = left & fail
                counts.append(int(hit.sum()))
                left &= ~fail
            print("C", repr(minsens), int(power_only), len(c["lat"]), " ".join(map(str, counts)), int(left.sum()))


def main():
    mode = sys.argv[1]
    if mode == "dump":
        a = sys.argv[3:]
        dump(sys.argv[2], [(float(a[i]), int(a[i + 1])) for i in range(0, len(a), 2)])
    elif mode == "offsets":
        with h5py.File(sys.argv[2], "r") as f:
            d = f["BEAM0101/rh"]
            ci = d.id.get_chunk_info(0)
            print(ci.byte_offset, ci.size, h5py.h5o.get_info(d.id).addr, h5py.h5o.get_info(f["BEAM0101"].id).addr)
    elif mode == "flags":
        shutil.copyfile(sys.argv[2], sys.argv[3])
        with h5py.File(sys.argv[3], "r+") as f:
            f["BEAM0101/quality_flag"][0:3] = 0
            f["BEAM0110/degrade_flag"][3:6] = 1
            f["BEAM0110/quality_flag"][5] = 0
            f["BEAM1000/lat_lowestmode"][1] = np.nan
            f["BEAM1000/lon_lowestmode"][2] = 200.0
    elif mode == "nobeam":
        with h5py.File(sys.argv[2], "w") as f:
            f.create_group("METADATA").attrs["note"] = "no beams here"
    else:
        src, out, dset = sys.argv[2:5]
        shutil.copyfile(src, out)
        with h5py.File(out, "r+") as f:
            if mode == "drop":
                del f[dset]
            else:
                v = f[dset][:-1]
                del f[dset]
                f[dset] = v


main()
