#!/usr/bin/python3
"""Independent reference for test_forest_maps: Kootenay CHM -> AGB -> pools per cut block.

Reads the CHM with GDAL into numpy, burns each block polygon with
gdal.RasterizeLayer (pixel-centre rule) onto the CHM grid, and computes per
pixel, with numpy, the illustrative power law AGB = A * H**B (H > 0 only:
the log-log model's domain), BGB by AR-TOOL14 exp(-1.085 + 0.9256 ln AGB),
carbon with CF, dead wood and litter as fractions of tree carbon; then per
block the pixel count, valid count, area (ha) and the mean of each pool and
of the total over valid pixels, and the stock 44/12 * mean total * area.

usage: kootenay_pools.py CHM BLOCKS A B CF DW LI COG
prints one line per block: id pixels valid area_ha agb bgb dw li total stock
and a line "bands" with the band descriptions of COG.
"""
import sys

import numpy as np
from osgeo import gdal, ogr

chm_path, blocks_path = sys.argv[1], sys.argv[2]
A, B, CF, DW, LI = (float(v) for v in sys.argv[3:8])
cog = sys.argv[8]

ds = gdal.Open(chm_path)
h = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
nd = ds.GetRasterBand(1).GetNoDataValue()
gt = ds.GetGeoTransform()
valid = (h != nd) & np.isfinite(h) & (h > 0)
hv = np.where(valid, h, 1.0)
agb = A * hv ** B
bgb = np.exp(-1.085 + 0.9256 * np.log(agb))
c_agb = CF * agb
c_bgb = CF * bgb
tree = c_agb + c_bgb
pools = [c_agb, c_bgb, DW * tree, LI * tree]
total = c_agb + c_bgb + DW * tree + LI * tree

vec = ogr.Open(blocks_path)
layer = vec.GetLayer(0)
drv = gdal.GetDriverByName("MEM")
for feat in layer:
    mem = drv.Create("", ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Byte)
    mem.SetGeoTransform(gt)
    mem.SetProjection(ds.GetProjection())
    one = ogr.GetDriverByName("Memory").CreateDataSource("")
    lyr = one.CreateLayer("b", layer.GetSpatialRef(), ogr.wkbPolygon)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetGeometry(feat.GetGeometryRef().Clone())
    lyr.CreateFeature(f)
    gdal.RasterizeLayer(mem, [1], lyr, burn_values=[1])
    inside = mem.ReadAsArray().astype(bool)
    n = int(inside.sum())
    sel = inside & valid
    nv = int(sel.sum())
    area = n * abs(gt[1] * gt[5]) / 1e4
    means = [float(p[sel].mean()) for p in pools]
    mt = float(total[sel].mean())
    stock = 44.0 / 12.0 * mt * area
    print(feat.GetField("BlockID"), n, nv, repr(area), *(repr(m) for m in means), repr(mt), repr(stock))

c = gdal.Open(cog)
print("bands", ",".join(c.GetRasterBand(i + 1).GetDescription() for i in range(c.RasterCount)))
