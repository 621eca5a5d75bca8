#!/usr/bin/python3
"""Independent check of `carbonflux forest stocks` on the TEMPEST inventory.

Recomputes, without any carbonflux code or table, the above-ground biomass
of each TEMPEST plot for each monitoring year with Jenkins et al. (2003),
Forest Science 49(1):12-35, Table 4: biomass (kg) = exp(b0 + b1 ln dbh_cm),
and compares it with the reports given on the command line.

Species groups (Jenkins et al. 2003, Table 1, by genus): Acer rubrum is a
soft maple; Fagus, Quercus and Carya are hard maple/oak/hickory/beech;
Liriodendron, Liquidambar, Nyssa, Prunus, Cornus, Ilex and Carpinus are
mixed hardwoods; Pinus is pine. Stems with a blank species are given the
mixed-hardwood equation (the test passes unknown_species= the same).

Usage: tempest_jenkins.py INVENTORY.csv PLOT_AREA_HA REPORT_2019.json ...
Prints one line per plot and year: "year plot ours theirs" and the
project's change in t C between the first and last report; exits 1 on a
mismatch beyond 1e-9 relative.
"""
import csv
import json
import math
import sys

B = {  # (b0, b1), Table 4
    "soft_maple_birch": (-1.9123, 2.3651),
    "mixed_hardwood": (-2.4800, 2.4835),
    "hard_maple_oak_hickory_beech": (-2.0127, 2.4342),
    "pine": (-2.5356, 2.4349),
}
GENUS = {"AC": "soft_maple_birch", "FA": "hard_maple_oak_hickory_beech", "QU": "hard_maple_oak_hickory_beech",
         "CA": None, "PI": "pine"}


def group(code):
    if not code:
        return "mixed_hardwood"
    if code.startswith("CA"):  # Carya (CAGL, CATO) vs Carpinus (CACA)
        return "mixed_hardwood" if code.startswith("CACA") else "hard_maple_oak_hickory_beech"
    return GENUS.get(code[:2]) or "mixed_hardwood"


def main():
    inv, area, reports = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    rows = list(csv.DictReader(open(inv, newline="", encoding="utf-8-sig")))
    bad = 0
    totals = []
    for rep in reports:
        d = json.load(open(rep))
        year = d["year"]
        kg = {}
        for r in rows:
            dbh, st = r["DBH_%d" % year].strip(), r["Status_%d" % year].strip()
            if not dbh or st != "LI":
                continue
            b0, b1 = B[group(r["Species_code"].strip())]
            kg[r["Plot"]] = kg.get(r["Plot"], 0.0) + math.exp(b0 + b1 * math.log(float(dbh)))
        for p in d["plots"]:
            theirs = kg.get(p["plot"], 0.0) / area / 1000.0
            ours = p["agb_t_dm_per_ha"]
            ok = abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs))
            bad += not ok
            print(year, p["plot"], repr(ours), repr(theirs), "ok" if ok else "MISMATCH")
        cf = 0.47  # IPCC 2006 Table 4.3 default
        plots = sorted({r["Plot"] for r in rows})
        t_c_per_ha = sum(kg.get(p, 0.0) for p in plots) / 1000.0 / area / len(plots) * cf  # mean over the plots
        stratum_area = area * len(plots)  # the test's one stratum: the plots' total area
        totals.append((year, t_c_per_ha * stratum_area, d["project"]["pools_t_co2e"]["agb"] * 12 / 44))
    for year, theirs, ours in totals:
        ok = abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs))
        bad += not ok
        print("agb_t_c", year, repr(ours), repr(theirs), "ok" if ok else "MISMATCH")
    (y0, t0, o0), (y1, t1, o1) = totals[0], totals[-1]
    print("change_t_c", y0, y1, repr(o1 - o0), repr(t1 - t0))
    sys.exit(1 if bad else 0)


main()
