/*
 * The issuance ledger: from stock reports at two or more monitoring
 * events to net removals, deductions, buffer and issuable units per
 * period and vintage (`carbonflux sink ledger`, stage `sink.ledger`).
 *
 * For the authors of the report and of `carbonflux verify`: everything a
 * ledger holds is in the structs below; LEDGER.json (ledger_write.c,
 * schema "carbonflux-ledger/1") writes them under the same names, and a
 * recompute is one call:
 *     cf_ledger_inputs in;  cf_ledger_inputs_init(&in);
 *     cf_ledger_add_event(ctx, &in, "2019-06-01", "stocks_2019.json");  (each event, any order)
 *     cf_ledger_inputs_set(ctx, &in, "policy=vm0047"); ...    ("KEY=text" of each setting whose
 *                                                            source is not "default"; a default
 *                                                            reads "unset" and needs no call)
 *     cf_ledger_add_emission / cf_ledger_add_leakage / cf_ledger_add_map (each entry of the
 *                                                            JSON's "emissions", "leakage", "stratum_map")
 *     cf_ledger_compute(ctx, &in, &ledger);   ... cf_ledger_free(&ledger); cf_ledger_inputs_free(&in);
 * cf_ledger_compute takes nothing but `in` (events parsed with their
 * SHA-256, baseline events, emissions, leakage, stratum map, settings), touches no
 * file and no clock, and is deterministic: the same inputs give the same
 * doubles, bit for bit.
 *
 * Per period k (from event k-1 to event k), in t CO2e (1 unit = 1 t CO2e):
 *   change       dC_P: counted pools at event k minus event k-1, undiscounted
 *                (change.h), with its 90 % half-width and U%
 *   deduction    the policy's uncertainty rule on the change (>= 0; it
 *                lowers a gain and deepens a loss)
 *   baseline     dC_BSL (baseline.h): crown cover, a rate or a stock series;
 *                a series' change carries the baseline reports' sampling
 *                error, half-width sqrt((u1 B1)^2 + (u2 B2)^2) over their
 *                sampled pools as change.h does for the project, and the
 *                policy's deduction at that U% raises it (AR-TOOL14: a
 *                baseline is made conservative upwards)
 *   emissions    project emissions entered for the period
 *   leakage      0 where the policy's applicability makes it so, else the
 *                tonnage entered for the period (--leakage DATE=T), else
 *                leakage_fraction x max(0, change - deduction - baseline)
 *   net          change - deduction - baseline - emissions - leakage
 *   cum_net      sum of net up to k
 *   level        cum_net, capped at long_term_average_t_co2e where the
 *                project harvests (capped = cum_net - level)
 *   credited     max(0, level - peak), peak = the highest level credited
 *                before (the cumulative difference: a reversal lowers the
 *                level and nothing is credited until it is made good; it
 *                is never silently lost)
 *   reversal     max(0, level(k-1) - level(k)): the loss of this period
 *   deficit      peak - level: loss not yet made good (>= 0)
 *   buffer       buffer_pct x credited; buffer_cancelled = the part of the
 *                buffer pool cancelled for this period's reversal
 *   issuable     credited - buffer; for CDM tCERs: max(0, level)
 *                (tCERs are reissued for the whole at each verification)
 * CDM tCERs (cdm_credit=tcer) are the net removals since the project
 * start (AR-ACM0003), so their change, half-width and deduction are taken
 * from event 1 to event k at every verification (since_start, given beside
 * lCERs too, where it is the tcer figure only): the same
 * events give the same tCERs however many verifications lay between. The
 * period's deduction, leakage and net are then the increments of the
 * since-start figures (a deduction may be negative: a later inventory
 * narrowed the whole's uncertainty) and cum_net is the since-start net.
 * lCERs and permanent units are issued for the increment since the last
 * verification, so their deduction is the period's own: the period's
 * half-width sqrt(h(k-1)^2 + h(k)^2) is that increment's, and their sum
 * over periods deducts more than one deduction on the whole would (each
 * intermediate inventory's error enters two periods) -- the conservative
 * side, kept deliberately: units already issued are never reopened.
 *   units        whole units: floor(cum issuable) - floor(cum issuable
 *                before), so rounding neither loses nor duplicates units
 * and each of these rows names its equation (policy.h, `eq`). A period is
 * split into calendar-year vintages in proportion of time (t of change.h);
 * the last vintage takes the remainder, so the vintages sum exactly. A
 * vintage's whole units follow the units rule within the period, in
 * vintage order: floor(C + S_k) - floor(C + S_(k-1)), C the cumulative
 * issuable before the period (0 for tCERs, reissued whole) and S_k the
 * period's issuable through vintage k; the last takes the period's units
 * less the others', so a registry issuing by vintage issues the period's
 * units exactly.
 */
#ifndef CF_SINK_ISSUANCE_LEDGER_H
#define CF_SINK_ISSUANCE_LEDGER_H

#include <stdint.h>

#include "carbonflux/ctx.h"
#include "core/kvtable.h"
#include "sink/issuance/change.h"
#include "sink/issuance/policy.h"
#include "sink/issuance/stocks_read.h"

#define CF_LEDGER_SCHEMA "carbonflux-ledger/1"

/* --- settings: each declared once (name, type, field, range, unit, choices, help) --- */

typedef struct {
  char policy[CF_KV_TEXT_MAX];
  int design;                   /* cf_change_design */
  int baseline;                 /* cf_baseline_method (baseline.h) */
  double baseline_rate;         /* t CO2e/yr */
  double baseline_b_forest;     /* t d.m./ha */
  double baseline_cc;           /* crown cover fraction at the first event */
  double baseline_cc_rate;      /* per year */
  double baseline_area_ha;      /* NaN: the project area of the first event */
  double baseline_cf;           /* t C/t d.m. */
  double leakage_fraction;      /* NaN: not given (0, and must stay so where the policy makes leakage zero) */
  double risk_rating_pct;       /* NaN: not given (VM0047 needs it) */
  double long_term_average_t_co2e; /* NaN: no harvest, no cap */
  int cdm_credit;               /* 0 tcer, 1 lcer */
} cf_ledger_settings;

extern const char *const cf_ledger_design_names[];   /* independent, permanent */
extern const char *const cf_ledger_baseline_names[]; /* none, crown-cover, rate, series */
extern const char *const cf_ledger_credit_names[];   /* tcer, lcer */

#define CF_LEDGER_SETTINGS(X)                                                                                       \
  X(policy, TEXT, policy, 0, 0, "", NULL, "the issuance policy: ccer-14-001, cdm-ar-acm0003, vm0047, gold-standard") \
  X(design, ENUM, design, 0, 0, "", cf_ledger_design_names,                                                          \
    "plots: new independent inventories at each event, or remeasured permanent plots (paired by plot id)")          \
  X(baseline, ENUM, baseline, 0, 0, "", cf_ledger_baseline_names,                                                    \
    "baseline removals: none, AR-TOOL14 crown cover, a rate, or baseline stock reports (--baseline DATE=REPORT)")   \
  X(baseline_rate, DOUBLE, baseline_rate, -1e9, 1e9, "t CO2e/yr", NULL, "baseline=rate: baseline removals per year") \
  X(baseline_b_forest, DOUBLE, baseline_b_forest, 0, 2000, "t d.m./ha", NULL,                                       \
    "baseline=crown-cover: above-ground biomass of forest at full crown cover (e.g. IPCC 2006 Table 4.7)")          \
  X(baseline_cc, DOUBLE, baseline_cc, 0, 1, "", NULL, "baseline=crown-cover: crown cover of the baseline trees at the first event") \
  X(baseline_cc_rate, DOUBLE, baseline_cc_rate, -1, 1, "1/yr", NULL,                                                \
    "baseline=crown-cover: change of that crown cover per year")                                                   \
  X(baseline_area_ha, DOUBLE, baseline_area_ha, 0, 1e9, "ha", NULL,                                                 \
    "baseline=crown-cover: area of the baseline trees (unset: the project area)")                                  \
  X(baseline_cf, DOUBLE, baseline_cf, 0.3, 0.6, "t C/t d.m.", NULL, "baseline=crown-cover: carbon fraction")       \
  X(leakage_fraction, DOUBLE, leakage_fraction, 0, 1, "", NULL,                                                      \
    "leakage as a fraction of the net change (refused where the policy makes leakage zero)")                       \
  X(risk_rating_pct, DOUBLE, risk_rating_pct, 0, 100, "%", NULL,                                                     \
    "VM0047: non-permanence risk rating from the VCS AFOLU Non-Permanence Risk Tool; the buffer is the rating, "     \
    "never below 12 % (a lower rating is raised to 12 %, with a warning)")                                          \
  X(long_term_average_t_co2e, DOUBLE, long_term_average_t_co2e, 0, 1e12, "t CO2e", NULL,                            \
    "where the project harvests: the long-term average net removals, the cap on credited removals")                \
  X(cdm_credit, ENUM, cdm_credit, 0, 0, "", cf_ledger_credit_names, "cdm-ar-acm0003: issue tCERs or lCERs")

extern const cf_kv_table cf_ledger_settings_table;
void cf_ledger_settings_default(cf_ledger_settings *s);
/* KEY=VALUE of the table; CF_EINVAL naming the key (unknown keys too). */
int cf_ledger_settings_set(cf_ctx *ctx, cf_ledger_settings *s, const char *kv);

/* --- inputs --- */

typedef struct {
  char date[11];    /* YYYY-MM-DD */
  double t;         /* cf_date_years */
  int ymd[3];       /* the date's parts (cf_date_span) */
  cf_stocks_in report;
} cf_ledger_event;

typedef struct {
  char end[11];     /* the end date of the period it belongs to (an event's date) */
  double t_co2e;    /* >= 0 */
  char what[256];   /* its source, as given */
} cf_ledger_emission;

typedef struct {
  int n_events;
  cf_ledger_event *events;     /* in the order given; compute checks the order */
  int n_baseline;
  cf_ledger_event *baseline;   /* baseline=series: one per project event, same dates */
  int n_emissions;
  cf_ledger_emission *emissions;
  int n_leakages;
  cf_ledger_emission *leakages; /* leakage in t CO2e per period (instead of leakage_fraction) */
  int n_maps;
  cf_stratum_map *maps;
  cf_ledger_settings settings;
  uint64_t given;              /* bit i: settings row i was set (else its default) */
  char given_by[32];           /* "command line", "pipeline stage", ... */
} cf_ledger_inputs;

void cf_ledger_inputs_init(cf_ledger_inputs *in);
void cf_ledger_inputs_free(cf_ledger_inputs *in);
/* Read the report at `path` as the event on `date` (CF_EINVAL for a bad
 * date naming it; the reader's errors for the report). */
int cf_ledger_add_event(cf_ctx *ctx, cf_ledger_inputs *in, const char *date, const char *path);
int cf_ledger_add_baseline(cf_ctx *ctx, cf_ledger_inputs *in, const char *date, const char *path);
/* "DATE=VALUE[:WHAT]" (t CO2e >= 0, for the period ending on DATE). */
int cf_ledger_add_emission(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec);
/* "DATE=VALUE[:WHAT]": leakage (AR-ACM0003 LK) of the period ending on DATE
 * in t CO2e >= 0; with any such entry the leakage of every period is the
 * tonnage entered for it (0 where none), and leakage_fraction is refused. */
int cf_ledger_add_leakage(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec);
/* "FROM=TO" */
int cf_ledger_add_map(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec);
/* Parse "DATE=PATH" into its two parts (date[11]); CF_EINVAL naming `what`. */
int cf_ledger_split_event(cf_ctx *ctx, const char *spec, const char *what, char date[11], const char **path);
/* Set a setting from text and remember it was given. */
int cf_ledger_inputs_set(cf_ctx *ctx, cf_ledger_inputs *in, const char *kv);

/* --- the result --- */

typedef struct {
  char name[96];
  double value;
  char unit[32];
  char source[400];
  int checked; /* confirmed against the source document */
} cf_ledger_param;

typedef struct {
  int year;
  double share;                 /* of the period's time */
  double net, credited, buffer, issuable;
  long long units;              /* whole units: the period's by the cumulative floor, in vintage order */
} cf_ledger_vintage;

/* The net removal from one event to a later one (t CO2e): the change of
 * the counted pools with its 90 % half-width and U%, the policy's
 * deduction on it, baseline, emissions, leakage and net. */
typedef struct {
  double change, half_width, u_pct;
  double deduction, baseline, emissions, leakage, net;
  /* baseline = baseline_change + baseline_deduction (baseline=series: the
   * policy's rule at the baseline change's own half-width and U%; else 0) */
  double baseline_change, baseline_half_width, baseline_u_pct, baseline_deduction;
} cf_ledger_net;

typedef struct {
  int index;                    /* 1-based */
  char start[11], end[11];
  cf_period_change c;           /* stocks, change, uncertainty (change.h) */
  double deduction, change_adjusted;
  double baseline, emissions, leakage, net;
  double cum_net, level, capped, credited, peak, reversal, deficit;
  double buffer_pct, buffer, buffer_cancelled, buffer_pool; /* pool: after this period */
  double issuable, cum_issuable;
  long long units, cum_units;
  double tcer, lcer, lcer_to_replace; /* CDM */
  cf_ledger_net own;             /* the period's own figures (= the rows above but for tCERs) */
  int has_since_start;          /* CDM (tCER or lCER): since_start holds */
  cf_ledger_net since_start;    /* CDM: from event 1 to this period's end; tcer = max(0, its net, capped) */
  int n_vintages;
  cf_ledger_vintage *vintages;
} cf_ledger_period;

typedef struct {
  const cf_policy *policy;
  int n_periods;
  cf_ledger_period *periods;
  int n_params;
  cf_ledger_param *params;
  /* totals over the periods */
  double total_net, total_credited, total_buffer, total_issuable, deficit;
  long long total_units;
} cf_ledger;

/* Check the settings against the policy, the events' order and lengths,
 * then compute. CF_EINVAL: an unknown policy (with "did you mean"), a
 * setting the policy refuses or needs, events out of order or a period of
 * zero length (naming the files and dates), an emission or baseline date
 * that is no event's; CF_EDATA: reports that do not fit together (strata,
 * pools), naming the file and field. */
int cf_ledger_compute(cf_ctx *ctx, const cf_ledger_inputs *in, cf_ledger *out);
void cf_ledger_free(cf_ledger *l);

/* Write LEDGER.json and, beside it, LEDGER.csv (one row per period and
 * vintage), all or none (part files renamed together). Each stock report
 * is recorded with its path as given and its `relative_path` from the
 * ledger's folder (cf_path_recorded_relative). */
int cf_ledger_write(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_ledger *l, const char *json_path);
/* LEDGER.json's text (malloc'ed; NULL when out of memory), as written
 * but for the inputs' `relative_path`:
 * `carbonflux verify` compares a recomputation with a ledger through it. */
char *cf_ledger_json(const cf_ledger_inputs *in, const cf_ledger *l);

#endif
