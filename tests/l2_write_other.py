#!/usr/bin/python3
"""L2 files as other software writes them, and what that software reads.

Used by tests/test_l2_read.c (issue 9: the L2 reader relies only on the
names of ../shared/spec/lidar-l2.md, so it must read L2 files written by
netCDF4-python and xarray too). Needs Debian's python3-netcdf4 and
python3-xarray (/usr/bin/python3).

  l2_write_other.py dump IN OUT.txt
      every contract variable of IN as netCDF4-python reads it (masked and
      unpacked, masked as nan; times as seconds since 1970 through
      netCDF4.num2date, so in any units), plus the count of good gates
      numpy finds: the reference the C reader is compared against.
  l2_write_other.py nc4 IN OUT [--pack] [--drop VAR] [--transpose VAR]
                                [--shift-lat DEG] [--time-hours]
      rewrite IN with netCDF4-python, from scratch: every text attribute as
      NC_STRING, fixed (not unlimited) dims, other chunk shapes, zlib with
      shuffle, float fill -999 instead of netCDF's default, variables in
      another order, qc_flag as int32; --pack stores co2_mole_fraction and
      its uncertainty as int16 with scale_factor/add_offset (fill -32767);
      --drop leaves VAR out; --transpose writes VAR as (range, time);
      --shift-lat moves the site north by DEG; --time-hours stores time and
      scan_time as "hours since 2026-06-30T12:00Z".
  l2_write_other.py xarray IN OUT
      xarray.open_dataset (CF decoding: times to datetime64, fills to nan)
      then to_netcdf with every variable's encoding dropped, so xarray
      chooses its own (time in "<unit> since <first time>" as int64, NaN
      fills, NC_CHAR attributes).
"""
import sys

import netCDF4
import numpy as np

GATE = ["co2_mole_fraction", "co2_mole_fraction_uncertainty", "co2_number_density",
        "radial_velocity", "radial_velocity_uncertainty", "cnr_on", "cnr_off", "qc_flag"]
RAY = ["time", "azimuth", "elevation", "scan_id"]
WIND = ["eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed",
        "wind_from_direction", "wind_fit_rmse", "wind_valid_beams"]
OTHER = ["range", "latitude", "longitude", "altitude", "scan_time", "height"]
PACKED = ["co2_mole_fraction", "co2_mole_fraction_uncertainty"]
HOURS_EPOCH = 1782820800.0  # 2026-06-30T12:00:00Z in seconds since 1970


def as_float(v):
    v.set_auto_maskandscale(True)  # the Variable object is shared: nc4() turns it off
    a = v[:]
    if np.ma.isMaskedArray(a):
        a = a.astype(np.float64).filled(np.nan)
    return np.asarray(a, dtype=np.float64)


def seconds_1970(v):
    dates = netCDF4.num2date(v[:], v.units, getattr(v, "calendar", "standard"),
                             only_use_cftime_datetimes=False, only_use_python_datetimes=True)
    import datetime
    epoch = datetime.datetime(1970, 1, 1)
    return np.array([(d.replace(tzinfo=None) - epoch).total_seconds()
                     for d in np.ravel(dates)])


def dump(src, out):
    with netCDF4.Dataset(src) as d, open(out, "w") as f:
        for name in RAY + OTHER + GATE + WIND:
            if name not in d.variables:
                continue
            v = d[name]
            a = seconds_1970(v) if name in ("time", "scan_time") else as_float(v).ravel()
            f.write("%s %d\n" % (name, a.size))
            f.write("".join("%.17g\n" % x for x in a))
        co2 = as_float(d["co2_mole_fraction"])
        unc = as_float(d["co2_mole_fraction_uncertainty"])
        qc = as_float(d["qc_flag"])
        with np.errstate(invalid="ignore"):
            good = (qc == 0) & np.isfinite(co2) & np.isfinite(unc) & (unc > 0)
        f.write("n_obs 1\n%d\n" % int(good.sum()))
        print("dump", src, "rays", d.dimensions["time"].size, "gates",
              d.dimensions["range"].size, "good gates", int(good.sum()),
              "co2[0,:3]", co2.ravel()[:3])


def nc4(src, dst, opts):
    pack = "--pack" in opts
    drop = opts[opts.index("--drop") + 1] if "--drop" in opts else None
    transpose = opts[opts.index("--transpose") + 1] if "--transpose" in opts else None
    shift = float(opts[opts.index("--shift-lat") + 1]) if "--shift-lat" in opts else 0.0
    hours = "--time-hours" in opts
    with netCDF4.Dataset(src) as s, netCDF4.Dataset(dst, "w", format="NETCDF4") as d:
        for name, dim in s.dimensions.items():
            d.createDimension(name, len(dim))  # fixed, even where the source is unlimited
        for k in s.ncattrs():
            val = s.getncattr(k)
            if isinstance(val, str):
                d.setncattr_string(k, val)
            else:
                d.setncattr(k, val)
        # another order than the source's: wind first, gates reversed
        names = [n for n in s.variables if n in WIND] + \
                [n for n in reversed(list(s.variables)) if n not in WIND]
        for name in names:
            if name == drop:
                continue
            v = s[name]
            v.set_auto_maskandscale(False)
            data = np.asarray(v[:])
            dims = v.dimensions
            if name == transpose:
                dims = tuple(reversed(dims))
                data = data.T
            kind, fill, att = v.dtype, None, {}
            if name == "qc_flag":
                kind = np.int32
                data = data.astype(np.int32)
            elif pack and name in PACKED:
                f = as_float(s[name])
                lo, hi = np.nanmin(f), np.nanmax(f)
                scale = (hi - lo) / 65000.0
                offset = 0.5 * (hi + lo)
                kind, fill = np.int16, np.int16(-32767)
                q = np.where(np.isfinite(f), np.round((np.nan_to_num(f) - offset) / scale), fill)
                data = q.astype(np.int16)
                att = {"scale_factor": np.float64(scale), "add_offset": np.float64(offset)}
            elif v.dtype.kind == "f" and len(dims) == 2:
                f = as_float(s[name])
                if name == transpose:
                    f = f.T
                fill = v.dtype.type(-999.0)
                data = np.where(np.isfinite(f), f, fill).astype(v.dtype)
            chunks = None
            if len(dims) == 2:
                chunks = (min(5, len(s.dimensions[dims[0]])), min(7, len(s.dimensions[dims[1]])))
            elif len(dims) == 1:
                chunks = (min(3, len(s.dimensions[dims[0]])),)
            nv = d.createVariable(name, kind, dims, zlib=len(dims) > 0, shuffle=True, complevel=6,
                                  chunksizes=chunks, fill_value=fill)
            nv.set_auto_maskandscale(False)
            for k in v.ncattrs():
                if k in ("_FillValue",):
                    continue
                if name == "qc_flag" and k == "flag_masks":
                    nv.setncattr(k, np.asarray(v.getncattr(k)).astype(np.int32))
                    continue
                val = v.getncattr(k)
                if isinstance(val, str):
                    nv.setncattr_string(k, val)
                else:
                    nv.setncattr(k, val)
            for k, val in att.items():
                nv.setncattr(k, val)
            if name == "latitude":
                data = data + shift
            if hours and name in ("time", "scan_time"):
                data = (as_float(s[name]) - HOURS_EPOCH) / 3600.0
                nv.setncattr_string("units", "hours since 2026-06-30T12:00Z")
            nv[...] = data
    print("nc4", dst, "pack" if pack else "", "drop", drop, "transpose", transpose, "shift", shift)


def xr(src, dst):
    import xarray
    ds = xarray.open_dataset(src)
    for name in ds.variables:
        ds[name].encoding = {}
    ds.to_netcdf(dst, engine="netcdf4")
    with netCDF4.Dataset(dst) as d:
        print("xarray", dst, "time", d["time"].dtype, d["time"].units,
              "co2", d["co2_mole_fraction"].dtype, getattr(d["co2_mole_fraction"], "_FillValue", None))


def main(argv):
    if len(argv) >= 4 and argv[1] == "dump":
        dump(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "nc4":
        nc4(argv[2], argv[3], argv[4:])
    elif len(argv) == 4 and argv[1] == "xarray":
        xr(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
