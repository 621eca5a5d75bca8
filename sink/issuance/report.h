/*
 * The issuance report (`write.report`, `carbonflux sink report`): the
 * verifier's one self-contained HTML file, assembled from a ledger.
 *
 * Why from LEDGER.json and not from the ledger in memory. The report is
 * evidence for a verifier who recomputes it (`carbonflux verify
 * REPORT.html`): it must show exactly the ledger whose SHA-256 it names,
 * so it is built from the very bytes of that file (read once, hashed as
 * parsed), and the stage and the command take the same path through it.
 * The stock reports the ledger lists are read again for what the ledger
 * does not carry (per-stratum pools in t C/ha, plots, U%, the stocks'
 * parameters and inventories); each must still have the SHA-256 the
 * ledger recorded, or the report is refused (it would mix two versions).
 * Recorded inputs are looked for as `carbonflux verify` looks for them
 * (sink/input_resolve.h: --inputs-dir, then the recorded relative path
 * from the recording file, then the recorded path, then the bare name), so
 * a package moved or copied to another machine reports where it lies; the
 * file found is the one hashed and listed, and a file found with another
 * hash is refused, naming it and both hashes (never passed over for a
 * later candidate).
 *
 * What the report holds (sink/report_html.h renders it):
 *   - metadata: software and version, generation time, the ledger (path
 *     and SHA-256, also as <meta name="carbonflux-ledger" content="PATH
 *     SHA256">: PATH relative to the report's folder when the ledger lies
 *     in it or below, else absolute; the hash is the last word), and every
 *     input with its SHA-256: the ledger, the stock reports, their
 *     inventories (plots, trees, strata: each must still hash to what its
 *     stock report recorded; one no longer present is listed with the
 *     recorded hash and says so), the pool COG, and strata or plots given
 *     explicitly;
 *   - per event a per-stratum table (area, plots, pools t C/ha, stock of
 *     the estimated pools and of the pools the policy counts, t CO2e; U% at
 *     90 % on the project row), from the stock report and the ledger;
 *   - per period the ledger as rows of quantity, ledger field, value,
 *     unit and the equation it applies; the change by pool; the vintages;
 *     the totals;
 *   - the uncertainty statement: each event's U, then per period the
 *     design, U of the change, the policy's rule and its outcome (the
 *     deduction, as a share of the change and of the 90 % half-width);
 *   - maps of carbon density and its per-pixel SE from the pool COG with
 *     the strata and plots (sink/report_maps.h), when a COG is given;
 *   - every parameter and setting with value, unit and source: the
 *     ledger's parameters (and whether each was checked against its
 *     document), the ledger's settings (given or default), the stock
 *     reports' parameters and settings (identical rows of several events
 *     once, naming the events);
 *   - beside it: NAME.csv per table, and the strata and plots as
 *     strata_plots.gpkg and strata_plots.kml (sink/report_vector.h).
 * All of these files are committed together: all or none.
 *
 * Strata and plots default to the last event's stock report inputs (roles
 * "strata" and "plots"; strata given as a CSV of areas have no geometry,
 * and the report then has no boundaries and no GPKG/KML); the plots file
 * is read by the forest-io names (plot, stratum, lon, lat): plots without
 * lon/lat are neither drawn nor exported.
 */
#ifndef CF_SINK_ISSUANCE_REPORT_H
#define CF_SINK_ISSUANCE_REPORT_H

#include "carbonflux/ctx.h"
#include "core/kvtable.h"

/* --- settings: each declared once (name, type, field, unit, help) --- */

typedef struct {
  char stratum_field[CF_KV_TEXT_MAX]; /* "": the stock report's, else none */
  char strata_layer[CF_KV_TEXT_MAX];  /* "": the first layer */
  char density_band[CF_KV_TEXT_MAX];
  char se_band[CF_KV_TEXT_MAX];
} cf_ireport_settings;

#define CF_IREPORT_SETTINGS(X)                                                                                      \
  X(stratum_field, TEXT, stratum_field, "the strata's field naming the stratum, for KML placemarks (unset: as the " \
    "stock report read them)")                                                                                      \
  X(strata_layer, TEXT, strata_layer, "the strata's layer (unset: the first)")                                      \
  X(density_band, TEXT, density_band, "the pool COG's band of carbon density, t C/ha (sink.pool_map: total)")       \
  X(se_band, TEXT, se_band, "the pool COG's band of its per-pixel standard error, t C/ha (sink.pool_map: total_se)")

extern const cf_kv_table cf_ireport_settings_table;
void cf_ireport_settings_default(cf_ireport_settings *s);
/* KEY=VALUE of the table; CF_EINVAL naming the key (unknown keys too). */
int cf_ireport_settings_set(cf_ctx *ctx, cf_ireport_settings *s, const char *kv);

typedef struct {
  const char *ledger_path; /* LEDGER.json (carbonflux-ledger/1) */
  const char *html_path;   /* REPORT.html; the CSVs, GPKG and KML go beside it */
  const char *pool_map;    /* the pool COG for the maps; NULL: no maps */
  const char *strata_path; /* NULL: the last event's stock report's strata */
  const char *plots_path;  /* NULL: the last event's stock report's plots */
  const char *inputs_dir;  /* looked in first for recorded inputs (sink/input_resolve.h); NULL: none */
  cf_ireport_settings settings;
  long long generated;     /* seconds since 1970 (UTC); < 0: now */
} cf_ireport_spec;

typedef struct {
  int n_tables, n_images, n_plots_drawn; /* tables: with the metadata and inputs tables */
} cf_ireport_info;

/* Write the report. CF_ENOENT for a missing file; CF_EDATA naming the file
 * and field for a ledger that is not carbonflux-ledger/1 or incomplete, a
 * stock report or inventory whose SHA-256 differs from the one recorded,
 * a band, layer or field that is not there; CF_EIO, CF_ENOMEM. Nothing is
 * written unless everything is. `info` may be NULL. */
int cf_ireport_write(cf_ctx *ctx, const cf_ireport_spec *spec, cf_ireport_info *info);

#endif
