#!/usr/bin/python3
"""Helpers of tests/test_flux_estimate.c (needs Debian's python3-netcdf4:
run with /usr/bin/python3).

  flux_estimate_check.py prior IN.geojson OUT.geojson
      the sources layer with every prior_t_per_h times 1.3 (the inversion
      must not be handed the truth as its prior)
  flux_estimate_check.py noprior IN.geojson OUT.geojson
      the layer without the required field prior_sigma_t_per_h
  flux_estimate_check.py summary flux_summary.json SCENE.geojson BLH STABILITY
      checks the summary against the spec (flux-io.md); prints one line of
      figures; exit 1 with the reason when a check fails
  flux_estimate_check.py blh flux_summary.json
      prints diagnostics.blh_m
  flux_estimate_check.py nowind IN.nc OUT.nc
      IN rewritten without the wind profiles (eastward_wind ... and their
      scan coordinate variables) and with every radial velocity masked
      (the variable's fill value): an L2 file with no wind at all
  flux_estimate_check.py masked IN.nc OUT.nc
      IN rewritten with every qc_flag non-zero: no usable observation
"""
import json
import math
import sys

WIND = ["eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed",
        "wind_from_direction", "wind_fit_rmse", "wind_valid_beams"]


def edit_geojson(src, dst, how):
    d = json.load(open(src))
    for f in d["features"]:
        p = f["properties"]
        if how == "prior":
            p["prior_t_per_h"] = p["prior_t_per_h"] * 1.3
        else:
            del p["prior_sigma_t_per_h"]
    json.dump(d, open(dst, "w"))


def summary(path, scene, blh, stability):
    s = json.load(open(path))
    names = [f["properties"]["name"] for f in json.load(open(scene))["features"]]
    assert s["schema"] == "carbonflux-flux-summary/1", s["schema"]
    got = [x["name"] for x in s["sources"]]
    assert sorted(got) == sorted(names), (got, names)
    for x in s["sources"]:
        assert math.isfinite(x["rate_t_per_h"]), x
        assert math.isfinite(x["sigma_t_per_h"]) and x["sigma_t_per_h"] > 0, x
    park = [g for g in s["groups"] if g["name"] == "park"]
    assert len(park) == 1, s["groups"]
    assert sorted(park[0]["members"]) == ["PARK_10", "PARK_20", "PARK_40"], park
    assert math.isfinite(park[0]["rate_t_per_h"]) and park[0]["sigma_t_per_h"] > 0, park
    d = s["diagnostics"]
    assert d["n_obs"] > 0 and d["dofs"] > 0, d
    assert abs(d["blh_m"] - float(blh)) < 1e-9, d["blh_m"]
    assert d["stability"] == stability, d["stability"]
    print("sources %d, park %.2f +- %.2f t/h, n_obs %d, dofs %.2f, chi2/obs %.3f, blh %g, stability %s"
          % (len(got), park[0]["rate_t_per_h"], park[0]["sigma_t_per_h"], d["n_obs"], d["dofs"],
             d["chi2_per_obs"], d["blh_m"], d["stability"]))


def rewrite_nc(src, dst, how):
    import netCDF4
    import numpy as np
    a = netCDF4.Dataset(src)
    b = netCDF4.Dataset(dst, "w", format="NETCDF4")
    b.setncatts({k: a.getncattr(k) for k in a.ncattrs()})
    for name, dim in a.dimensions.items():
        b.createDimension(name, None if dim.isunlimited() else len(dim))
    for name, v in a.variables.items():
        if how == "nowind" and name in WIND:
            continue
        v.set_auto_maskandscale(False)
        fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
        w = b.createVariable(name, v.dtype, v.dimensions, fill_value=fill)
        w.setncatts({k: v.getncattr(k) for k in v.ncattrs() if k != "_FillValue"})
        w.set_auto_maskandscale(False)
        data = v[...]
        if how == "nowind" and name in ("radial_velocity", "radial_velocity_uncertainty"):
            f = fill if fill is not None else netCDF4.default_fillvals[v.dtype.str[1:]]
            data = np.full(v.shape, f, dtype=v.dtype)
        if how == "masked" and name == "qc_flag":
            data = np.ones(v.shape, dtype=v.dtype)
        w[...] = data
    b.close()
    a.close()


def main(argv):
    if argv[1] in ("prior", "noprior"):
        edit_geojson(argv[2], argv[3], argv[1])
    elif argv[1] == "summary":
        summary(argv[2], argv[3], argv[4], argv[5])
    elif argv[1] == "blh":
        print(json.load(open(argv[2]))["diagnostics"]["blh_m"])
    elif argv[1] in ("nowind", "masked"):
        rewrite_nc(argv[2], argv[3], argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
