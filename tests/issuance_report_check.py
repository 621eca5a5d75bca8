#!/usr/bin/python3
"""Check an issuance report (write.report / carbonflux sink report) against
the ledger it names, reading everything with Python's own json, csv,
html.parser and hashlib, the stock reports with json, the geometry with
GDAL/OGR, and the inputs' hashes with sha256sum: nothing of carbonflux.

Usage: issuance_report_check.py REPORT.html LEDGER.json STRATA PLOTS.csv [COG]

Every number of the report's ledger tables must be the ledger's own double
(the CSV beside the report carries the shortest exact form, so equality is
exact); a stratum's stock of the counted pools is summed here in the pool
order agb, bgb, deadwood, litter, soc, the order the ledger lists them.
Prints "tables N" and "images N" (what Chromium must find) and "ok".
"""
import csv
import html.parser
import json
import os
import subprocess
import sys

POOLS = ["agb", "bgb", "deadwood", "litter", "soc"]


class Page(html.parser.HTMLParser):
    """The meta tags, every table's rows (by id or class) and the paragraphs."""

    def __init__(self):
        super().__init__()
        self.meta, self.tables, self.paragraphs, self.images = {}, {}, [], 0
        self.table = self.row = self.cell = self.para = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content")
        elif tag == "table":
            self.table = a.get("id") or a.get("class")
            self.tables[self.table] = []
        elif tag == "tr" and self.table:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "p":
            self.para = ""
        elif tag == "img":
            self.images += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "p" and self.para is not None:
            self.paragraphs.append(self.para)
            self.para = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.para is not None:
            self.para += data


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def same(cell, value, what):
    """A CSV cell against a JSON value: empty for null, else the same double."""
    if value is None:
        assert cell == "", (what, cell, value)
    else:
        assert float(cell) == value, (what, cell, value)


def walk(obj, dotted):
    for part in dotted.split("."):
        obj = obj[part]
    return obj


def sha256sum(path):
    out = subprocess.run(["sha256sum", path], check=True, capture_output=True, text=True).stdout
    return out.split()[0]


def main():
    report, ledger_path, strata, plots = sys.argv[1:5]
    cog = sys.argv[5] if len(sys.argv) > 5 else None
    folder = os.path.dirname(os.path.abspath(report))
    L = json.load(open(ledger_path, encoding="utf-8"))
    page = Page()
    page.feed(open(report, encoding="utf-8").read())

    # the ledger's reference: PATH (relative to the report's folder) and its SHA-256
    ref_path, ref_sha = page.meta["carbonflux-ledger"].rsplit(" ", 1)
    assert os.path.samefile(os.path.join(folder, ref_path), ledger_path), ref_path
    assert ref_sha == sha256sum(ledger_path), ref_sha

    # every input listed has the SHA-256 that sha256sum gives
    listed = {r[0]: r[2] for r in page.tables["inputs"][1:]}
    for path, sha in listed.items():
        assert sha == sha256sum(path), (path, sha)
    want = [ledger_path] + [i["path"] for i in L["inputs"]] + [strata, plots] + ([cog] if cog else [])
    events = [json.load(open(i["path"], encoding="utf-8")) for i in L["inputs"] if i["role"] == "event"]
    for e in events:
        want += [i["path"] for i in e["inputs"]]
    for w in want:
        assert any(os.path.samefile(w, p) for p in listed), ("not listed", w)

    # the ledger, period by period: every number of the period is a row
    for k, P in enumerate(L["periods"]):
        table = rows(os.path.join(folder, "ledger_period%d.csv" % (k + 1)))
        fields = {}
        for r in table:
            prefix = "periods[%d]." % k
            assert r["Ledger field"].startswith(prefix), r
            f = r["Ledger field"][len(prefix):]
            same(r["Value"], walk(P, f), f)
            assert r["source"], ("no source or equation", f)
            fields[f] = r
        numeric = {f for f, v in P.items() if f != "period" and (v is None or isinstance(v, (int, float)))
                   and not isinstance(v, bool)}
        assert numeric <= set(fields), ("ledger fields not in the report", numeric - set(fields))
        for f, eq in [("change_t_co2e", "change"), ("uncertainty_deduction_t_co2e", "uncertainty"),
                      ("baseline_t_co2e", "baseline"), ("leakage_t_co2e", "leakage"), ("net_t_co2e", "net"),
                      ("buffer_t_co2e", "buffer"), ("issuable_t_co2e", "issuable")]:
            assert fields[f]["source"] == P["equations"][eq], (f, fields[f]["source"])
        same(fields["stocks.uncertainty.u_pct"]["Value"], P["stocks"]["uncertainty"]["u_pct"], "u_pct")
        # the uncertainty statement names the rule and its outcome
        rule = "Rule applied (%s): %s" % (L["policy"]["name"], L["policy"]["uncertainty_rule"])
        assert any(p.startswith(rule) for p in page.paragraphs), rule
    for r in rows(os.path.join(folder, "ledger_totals.csv")):
        same(r["Value"], walk(L, r["Ledger field"]), r["Ledger field"])
    assert len(rows(os.path.join(folder, "ledger_totals.csv"))) == len(L["totals"])

    # vintages and the change by pool
    vint = rows(os.path.join(folder, "vintages.csv"))
    want_v = [(k + 1, V) for k, P in enumerate(L["periods"]) for V in P["vintages"]]
    assert len(vint) == len(want_v)
    for r, (k, V) in zip(vint, want_v):
        assert int(r["Period"]) == k and int(r["Vintage"]) == V["vintage"], r
        same(r["Share of the period"], V["share"], "share")
        for col, f in [("Net [t CO2e]", "net_t_co2e"), ("Credited [t CO2e]", "credited_t_co2e"),
                       ("Buffer [t CO2e]", "buffer_t_co2e"), ("Issuable [t CO2e]", "issuable_t_co2e")]:
            same(r[col], V[f], f)
    bypool = rows(os.path.join(folder, "change_by_pool.csv"))
    assert len(bypool) == 5 * len(L["periods"])
    for r in bypool:
        S = L["periods"][int(r["Period"]) - 1]["stocks"]
        p = r["Pool"]
        same(r["Start [t CO2e]"], S["project_t1_t_co2e"][p], p)
        same(r["End [t CO2e]"], S["project_t2_t_co2e"][p], p)
        same(r["Change [t CO2e]"], S["change_by_pool_t_co2e"][p], p)
        status = ("counted" if p in S["pools_counted"] else
                  "excluded by the policy" if p in S["pools_excluded_by_policy"] else "not estimated")
        assert r["In the credits"] == status, (r, status)

    # stocks per stratum of each event: the stock report's numbers, the ledger's counted stock
    for k, E in enumerate(events):
        P = L["periods"][max(k - 1, 0)]
        side = "t2_t_co2e" if k else "t1_t_co2e"
        counted = P["stocks"]["pools_counted"]
        t = rows(os.path.join(folder, "stocks_event%d.csv" % (k + 1)))
        assert len(t) == len(E["strata"]) + 1
        for r, S in zip(t, E["strata"]):
            assert r["Stratum"] == S["stratum"]
            same(r["Area [ha]"], S["area_ha"], "area")
            same(r["Plots"], S["n_plots"], "plots")
            for p, col in zip(POOLS, ["AGB", "BGB", "Dead wood", "Litter", "SOC"]):
                same(r[col + " [t C/ha]"], S["pools_t_c_per_ha"][p], p)
            same(r["Stock, estimated pools [t CO2e]"], S["stock_t_co2e"], "stock")
            LS = next(x for x in P["stocks"]["strata"] if x["stratum"] == S["stratum"])
            total = 0.0
            for p in POOLS:
                if p in counted and LS[side][p] is not None:
                    total += LS[side][p]
            same(r["Stock, pools counted [t CO2e]"], total, "counted")
        proj = t[-1]
        assert proj["Stratum"] == "project"
        same(proj["Stock, estimated pools [t CO2e]"], E["project"]["total_t_co2e"], "project stock")
        same(proj["Stock, pools counted [t CO2e]"], P["stocks"]["stock_t2_t_co2e" if k else "stock_t1_t_co2e"], "counted")
        same(proj["U90 [%]"], E["project"]["discount"]["uncertainty_pct_90"], "U90")

    # every parameter and setting of the ledger, with its value
    params = {r["Parameter"]: r for r in rows(os.path.join(folder, "parameters.csv"))}
    for p in L["parameters"]:
        if p["value"] is not None:
            same(params[p["name"]]["Value"], p["value"], p["name"])
        assert params[p["name"]]["Source"].startswith(p["source"]), p["name"]
    for name, s in L["settings"].items():
        assert params["ledger setting " + name]["Value"] == s["text"], name

    # the geometry beside it
    from osgeo import ogr
    src = ogr.Open(strata)
    g = ogr.Open(os.path.join(folder, "strata_plots.gpkg"))
    k = ogr.Open(os.path.join(folder, "strata_plots.kml"))
    n_strata = src.GetLayer(0).GetFeatureCount()
    with open(plots, newline="") as f:
        n_plots = sum(1 for r in csv.DictReader(f) if r.get("lon") and r.get("lat"))
    assert g.GetLayerByName("strata").GetFeatureCount() == n_strata
    assert g.GetLayerByName("plots").GetFeatureCount() == n_plots
    assert k.GetLayerByName("strata").GetFeatureCount() == n_strata
    assert k.GetLayerByName("plots").GetFeatureCount() == n_plots

    # what the browser must find: about, inputs, totals, the events, the periods,
    # change by pool, vintages, parameters; two maps with a COG
    print("tables %d" % (2 + 1 + len(events) + len(L["periods"]) + 2 + 1))
    print("images %d" % (2 if cog else 0))
    assert page.images == (2 if cog else 0)
    print("ok")


if __name__ == "__main__":
    main()
