/*
 * What the ledger suites (test_ledger*.c) share: a stock report written as
 * JSON text with given pools and uncertainty, and a ledger computed from
 * events of such reports.
 */
#ifndef CF_TESTS_LEDGER_FIXTURE_H
#define CF_TESTS_LEDGER_FIXTURE_H

#include "sink/issuance/ledger.h"

/* a pool not estimated (null in the report) */
#define NA NAN

/* A report at `path` with project pools in t CO2e (agb, bgb, deadwood,
 * litter, soc; NaN = null: not estimated) and U% at 90 % (NaN = null), over
 * the strata named in `strata` (comma-separated, equal areas summing to
 * 100 ha), schema `schema`. */
void write_report_ex(const char *path, const double pools[5], double u90, const char *strata,
                     const char *schema);
/* The same, one stratum "A", schema carbonflux-stocks/1. */
void write_report(const char *path, const double pools[5], double u90);
/* Inputs of `n` events (dates[k], the file files[k] in dir) and the
 * settings kv[0..nkv), computed into *l; cf_ledger_compute's status. The
 * caller frees *in and *l. */
int ledger_of(cf_ctx *ctx, const char *dir, int n, const char *const *dates, const char *const *files,
              const char *const *kv, int nkv, cf_ledger_inputs *in, cf_ledger *l);

#endif
