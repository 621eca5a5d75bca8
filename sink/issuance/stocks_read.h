/*
 * Reading a forest stock report (`carbonflux-stocks/1`, the contract of
 * ../shared/spec/forest-io.md) back in: one monitoring event of the
 * issuance ledger.
 *
 * Why a reader of our own report. The ledger may be computed years after
 * the stocks, on another machine, from reports written by another version
 * of carbonflux or by other software that follows the contract; it must
 * therefore rely on the contract's names only, not on our writer's key
 * order or number formatting. Everything is checked on the way in (schema
 * and version, every field's type and range), and a message names the
 * file and the field ("REPORT.json: strata[2].area_ha: must be > 0").
 *
 * What is taken:
 *  - per stratum: name, area, plots, the tree-biomass mean and SE, and
 *    the five pools in t C/ha (null = not estimated, kept as such);
 *  - for the project: the pools in t CO2e, the total, the discounted
 *    total, and U% of the tree-biomass estimate at 90 % confidence
 *    (project.discount.uncertainty_pct_90 when the writer gives it, else
 *    project.uncertainty_pct converted from the report's confidence to
 *    90 % with Student's t at the report's df: U90 = U x t90(df)/tc(df));
 *    a null U (the writer's "no relative uncertainty" for a mean of 0:
 *    bare land at planting, a treeless baseline) is read as U = 0 when
 *    every sampled pool (all but soc) is 0, whose half-width is 0 at any
 *    U, and is an error beside a sampled stock above 0;
 *  - the plots behind the estimate (plot, stratum, tree biomass t d.m./ha),
 *    optional in the contract: the ledger needs them only for remeasured
 *    permanent plots.
 * The report must agree with itself (to 1e-9 relative: the writer gives
 * shortest exact doubles, so only the order of sums differs): the project
 * area is the strata's sum, each project pool in t CO2e is the strata's
 * t C/ha x area x 44/12, and the total is the estimated pools' sum.
 * The file's SHA-256 is computed from the very bytes parsed.
 */
#ifndef CF_SINK_ISSUANCE_STOCKS_READ_H
#define CF_SINK_ISSUANCE_STOCKS_READ_H

#include "carbonflux/ctx.h"
#include "core/sha256.h"
#include "sink/pools.h"

#define CF_STOCKS_SCHEMA "carbonflux-stocks/1"

typedef struct {
  char *name;
  double area_ha;
  int n_plots;
  double biomass_mean, biomass_se;          /* t d.m./ha (tree biomass, AGB x (1 + R)) */
  double pool_t_c_per_ha[CF_POOL_COUNT];    /* NaN where not estimated */
  int pool_estimated[CF_POOL_COUNT];
} cf_stocks_in_stratum;

typedef struct {
  char *plot, *stratum;
  double biomass; /* t d.m./ha */
} cf_stocks_in_plot;

typedef struct {
  char *path;
  char sha256[CF_SHA256_HEX_LEN];
  double confidence;
  int n_strata;
  cf_stocks_in_stratum *strata;
  int n_plots;                 /* 0 when the report lists no plots */
  cf_stocks_in_plot *plots;
  double area_ha;
  int df;                      /* plots - strata (-1 if not given) */
  double pools_t_co2e[CF_POOL_COUNT]; /* NaN where not estimated */
  int pool_estimated[CF_POOL_COUNT];
  double total_t_co2e, total_discounted_t_co2e;
  double u90_pct;              /* U% of the tree-biomass estimate at 90 % */
  char u90_from[96];           /* where u90 came from (for the ledger's provenance) */
} cf_stocks_in;

/* Read `path`. CF_ENOENT/CF_EIO for the file, CF_EDATA naming the file and
 * field for a report that is not `carbonflux-stocks/1` or not complete. */
int cf_stocks_in_read(cf_ctx *ctx, const char *path, cf_stocks_in *out);
void cf_stocks_in_free(cf_stocks_in *r);

#endif
