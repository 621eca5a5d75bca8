#!/usr/bin/python3
"""Helper of tests/test_flux_provenance.c (Debian's python3 with GDAL and
netCDF4: run with /usr/bin/python3).

  flux_provenance_check.py shapefile IN.geojson OUT.shp
      the sources layer as an ESRI Shapefile (.shp, .shx, .dbf, .prj, ...)
  flux_provenance_check.py check CMD_OUT PIPE_OUT L2.nc SHP PIPELINE.yaml
      the provenance of the command's and the pipeline's outputs, every
      SHA-256 computed here with hashlib from the files themselves; exit 1
      with the reason when a check fails
"""
import glob
import hashlib
import json
import os
import sys


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def shapefile(src, dst):
    from osgeo import gdal, ogr
    ogr.UseExceptions()
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # DBF's 10-character field names, which the reader accepts
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    ds = ogr.Open(src)
    ogr.GetDriverByName("ESRI Shapefile").CopyDataSource(ds, dst)


def check(cmd_out, pipe_out, l2, shp, yaml):
    import netCDF4
    from osgeo import gdal
    gdal.UseExceptions()
    # the files that make the Shapefile: every file beside it with its stem
    # (the test writes it into a folder of its own)
    stem = os.path.splitext(shp)[0]
    layer_files = sorted(glob.glob(stem + ".*"))
    assert {os.path.splitext(f)[1] for f in layer_files} >= {".shp", ".shx", ".dbf", ".prj"}, layer_files
    summaries = {}
    for out in (cmd_out, pipe_out):
        d = json.load(open(os.path.join(out, "flux_summary.json")))
        summaries[out] = d
        ins = d["inputs"]
        l2s = [i for i in ins if i["role"] == "l2"]
        srcs = [i for i in ins if i["role"] == "sources"]
        assert len(l2s) + len(srcs) == len(ins), ins
        assert [os.path.realpath(i["path"]) for i in l2s] == [os.path.realpath(l2)], l2s
        assert l2s[0]["sha256"] == sha(l2), l2s
        assert sorted(os.path.realpath(i["path"]) for i in srcs) == [os.path.realpath(f) for f in layer_files], srcs
        for i in srcs:
            assert i["sha256"] == sha(i["path"]), i
        assert d["methods_run"] == "both" and d["settings"]["method"] == "both", (out, d["settings"])
        # the L3 file lists the same inputs, one per line
        n = netCDF4.Dataset(os.path.join(out, "flux_l3.nc"))
        assert n.input_files.split("\n") == [i["path"] for i in ins], n.input_files
        assert n.input_sha256.split("\n") == [sha(i["path"]) for i in ins], n.input_sha256
        assert json.loads(n.processing_parameters) == d["settings"], n.processing_parameters
        assert n.methods_run == "both"
        hist = n.history
        n.close()
        # "(carbonflux V, inputs L2; sources S.shp, S.shx, ...)", the layer's file named first
        assert hist.endswith(", inputs %s; sources %s)" % (os.path.basename(l2), ", ".join(
            os.path.basename(i["path"]) for i in srcs))), hist
        assert os.path.realpath(srcs[0]["path"]) == os.path.realpath(shp), srcs
        # the GeoTIFF: CARBONFLUX_VERSION, _INPUTS (each "PATH sha256:HEX"), _SETTINGS
        t = gdal.Open(os.path.join(out, "flux_map.tif"))
        md = t.GetMetadata()
        t = None
        assert md["CARBONFLUX_VERSION"] == d["software"]["version"], md
        listed = json.loads(md["CARBONFLUX_INPUTS"])
        hashed = {}
        for entry in listed:
            path, h = entry.rsplit(" sha256:", 1)
            assert h == sha(path), entry
            hashed[os.path.realpath(path)] = h
        assert set(hashed) == {os.path.realpath(p) for p in [l2] + layer_files}, (sorted(hashed), layer_files)
        settings = json.loads(md["CARBONFLUX_SETTINGS"])
        if out == cmd_out:
            assert settings == d["settings"], settings
            # the words typed (the binary's path and global options before them)
            assert ("carbonflux -q flux estimate %s --sources %s -o %s " % (l2, shp, cmd_out)) in hist, hist
            for kv in ("blh_m=1000", "stability=D", "grid_m=2000"):
                assert (" " + kv + " ") in hist, (kv, hist)
            assert "method=" not in hist, hist
        else:
            assert settings, settings  # the pipeline's stages
            assert ("carbonflux run %s (stage write.flux) (carbonflux " % yaml) in hist, hist
    # the pipeline records the settings the command records for the same run
    a, b = summaries[cmd_out]["settings"], summaries[pipe_out]["settings"]
    assert a == b, {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    print("inputs: 1 L2 file and %d files of the Shapefile, every SHA-256 as hashlib's; settings of the command "
          "and the pipeline equal (%d keys)" % (len(layer_files), len(a)))


if __name__ == "__main__":
    if sys.argv[1] == "shapefile":
        shapefile(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "check":
        check(*sys.argv[2:7])
    else:
        sys.exit("unknown command " + sys.argv[1])
