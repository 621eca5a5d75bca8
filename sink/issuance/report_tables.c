/* The issuance report's sections, filled from LEDGER.json and the stock
 * reports it lists (report.h). Every number shown is a number of one of
 * those files, taken as it is (the CSV beside the report carries the
 * same double); the few that are formed here (a project's pools per
 * hectare, a deduction as a share) say how in their source cell. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "sink/issuance/report_internal.h"
#include "sink/pools.h"

#define T_CO2E CF_REPORT_GROUPED(1)
#define PCT CF_REPORT_FIXED(2)

/* --- reading ------------------------------------------------------------------ */

static void rd_fail(cf_ireport_rd *r, const char *where, const char *key, const char *why) {
  if (r->rc) return;
  char field[256];
  snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "", key);
  r->rc = cf_error(r->ctx, CF_EDATA, r->path, field, "%s", why);
}

const cf_json *cf_ireport_member(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key,
                                 cf_json_type t, int optional) {
  if (r->rc || !obj) return NULL;
  const cf_json *j = cf_json_get(obj, key);
  if ((!j || j->type == CF_JSON_NULL) && optional) return NULL;
  if (!j || j->type != t) {
    char why[96];
    snprintf(why, sizeof why, j ? "must be a%s %s, not %s" : "missing (a%s %s)", t == CF_JSON_OBJECT || t == CF_JSON_ARRAY ? "n" : "",
             cf_json_type_name(t), j ? cf_json_type_name(j->type) : "");
    rd_fail(r, where, key, why);
    return NULL;
  }
  return j;
}

double cf_ireport_num(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key) {
  const cf_json *j = cf_ireport_member(r, obj, where, key, CF_JSON_NUMBER, 1);
  if (!j && !r->rc && !cf_json_get(obj, key)) rd_fail(r, where, key, "missing (a number or null)");
  return j ? j->number : NAN;
}

const char *cf_ireport_str(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key) {
  const cf_json *j = cf_ireport_member(r, obj, where, key, CF_JSON_STRING, 0);
  return j ? j->string : "";
}

void cf_ireport_value_text(const cf_json *v, char *out, size_t cap) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  if (!v || v->type == CF_JSON_NULL) cf_strbuf_puts(&sb, "unset");
  else if (v->type == CF_JSON_STRING) cf_strbuf_puts(&sb, v->string[0] ? v->string : "(empty)");
  else if (v->type == CF_JSON_NUMBER) cf_strbuf_json_double(&sb, v->number);
  else if (v->type == CF_JSON_BOOL) cf_strbuf_puts(&sb, v->boolean ? "yes" : "no");
  else if (v->type == CF_JSON_ARRAY)
    for (size_t i = 0; i < v->n; i++) {
      char item[256];
      cf_ireport_value_text(v->items[i], item, sizeof item);
      cf_strbuf_printf(&sb, "%s%s", i ? "," : "", item);
    }
  else cf_strbuf_puts(&sb, "(object)");
  snprintf(out, cap, "%s", sb.failed ? "" : cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
}

/* A number at a dotted path below `obj` ("stocks.uncertainty.u_pct"). */
static double num_at(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *path) {
  char buf[128], w[192];
  snprintf(buf, sizeof buf, "%s", path);
  snprintf(w, sizeof w, "%s", where);
  char *part = buf, *dot;
  while ((dot = strchr(part, '.')) != NULL) {
    *dot = 0;
    obj = cf_ireport_member(r, obj, w, part, CF_JSON_OBJECT, 0);
    size_t n = strlen(w);
    snprintf(w + n, sizeof w - n, "%s%s", n ? "." : "", part);
    part = dot + 1;
  }
  return cf_ireport_num(r, obj, w, part);
}

static const cf_json *period_at(cf_ireport_rd *lr, const cf_ireport_doc *d, int k) {
  const cf_json *ps = cf_ireport_member(lr, d->ledger, "", "periods", CF_JSON_ARRAY, 0);
  const cf_json *p = cf_json_at(ps, (size_t)k);
  if (!lr->rc && (!p || p->type != CF_JSON_OBJECT)) rd_fail(lr, "", "periods", "one object per period between events");
  return lr->rc ? NULL : p;
}

/* periods[k].stocks, its path in `w` for messages. */
static const cf_json *period_stocks(cf_ireport_rd *lr, const cf_ireport_doc *d, int k, char *w, size_t cap) {
  char pw[32];
  snprintf(pw, sizeof pw, "periods[%d]", k);
  snprintf(w, cap, "periods[%d].stocks", k);
  return cf_ireport_member(lr, period_at(lr, d, k), pw, "stocks", CF_JSON_OBJECT, 0);
}

static int n_periods(cf_ireport_rd *lr, const cf_ireport_doc *d) {
  const cf_json *ps = cf_ireport_member(lr, d->ledger, "", "periods", CF_JSON_ARRAY, 0);
  return ps ? (int)ps->n : 0;
}

static int in_list(const cf_json *arr, const char *s) {
  for (size_t i = 0; arr && i < arr->n; i++)
    if (arr->items[i]->type == CF_JSON_STRING && !strcmp(arr->items[i]->string, s)) return 1;
  return 0;
}

static void paragraph(cf_report_section *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void paragraph(cf_report_section *s, const char *fmt, ...) {
  char text[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  cf_report_paragraph(s, text);
}

/* "12,345.6" for a paragraph, as the tables show it. */
static const char *grouped(double v, char *buf, size_t cap) {
  if (!isfinite(v)) return snprintf(buf, cap, "(not estimated)"), buf;
  char raw[64];
  snprintf(raw, sizeof raw, "%.1f", fabs(v));
  size_t nint = strcspn(raw, "."), o = 0;
  if (v < 0 && o + 1 < cap) buf[o++] = '-';
  for (size_t i = 0; i < nint && o + 2 < cap; i++) {
    if (i && (nint - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = raw[i];
  }
  snprintf(buf + o, cap - o, "%s", raw + nint);
  return buf;
}

/* The value of the ledger parameter whose name starts with `prefix`, NaN
 * when there is none; its full name in `name` (may be NULL). */
static double ledger_param(cf_ireport_rd *lr, const cf_ireport_doc *d, const char *prefix, char *name, size_t cap) {
  const cf_json *ps = cf_ireport_member(lr, d->ledger, "", "parameters", CF_JSON_ARRAY, 0);
  if (name) snprintf(name, cap, "%s...]", prefix);
  for (size_t i = 0; ps && i < ps->n; i++) {
    const cf_json *n = cf_json_get(ps->items[i], "name"), *v = cf_json_get(ps->items[i], "value");
    if (n && n->type == CF_JSON_STRING && !strncmp(n->string, prefix, strlen(prefix)) && v && v->type == CF_JSON_NUMBER) {
      if (name) snprintf(name, cap, "%s", n->string);
      return v->number;
    }
  }
  return NAN;
}

/* --- summary -------------------------------------------------------------------- */

typedef struct {
  const char *label, *field, *unit;
  cf_report_numfmt f;
  const char *eq;    /* the period's equation of this name, or NULL */
  const char *how;   /* else: how the number is formed */
  int optional;      /* only in some ledgers (CDM's tCER/lCER) */
} quantity;

static const quantity TOTALS[] = {
    {"Net removals", "net_t_co2e", "t CO2e", T_CO2E, NULL, "sum over the periods", 0},
    {"Credited removals", "credited_t_co2e", "t CO2e", T_CO2E, NULL, "sum over the periods", 0},
    {"Buffer", "buffer_t_co2e", "t CO2e", T_CO2E, NULL, "sum over the periods", 0},
    {"Issuable", "issuable_t_co2e", "t CO2e", T_CO2E, NULL, "sum over the periods", 0},
    {"Deficit not yet made good", "deficit_t_co2e", "t CO2e", T_CO2E, NULL, "of the last period", 0},
    {"Units", "units", "units", CF_REPORT_GROUPED(0), NULL, "whole units over the periods (1 unit = 1 t CO2e)", 0},
};

static cf_report_table *quantity_table(cf_report_section *s, const char *name, const char *caption) {
  static const cf_report_column cols[4] = {{"Quantity", NULL}, {"Ledger field", NULL}, {"Value", NULL}, {"Unit", NULL}};
  return cf_report_table_add(s, name, caption, 4, cols, 1);
}

static void quantity_rows(cf_ireport_rd *lr, cf_report_table *t, const cf_json *obj, const char *where,
                          const quantity *q, int n, const cf_json *equations, const char *eq_where) {
  for (int i = 0; i < n && !lr->rc; i++) {
    if (q[i].optional && !cf_json_get(obj, q[i].field)) continue;
    double v = num_at(lr, obj, where, q[i].field);
    cf_report_row(t);
    cf_report_cell_text(t, q[i].label);
    char field[160];
    snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "", q[i].field);
    cf_report_cell_text(t, field);
    cf_report_cell_num(t, v, q[i].f);
    cf_report_cell_text(t, q[i].unit);
    cf_report_row_source(t, q[i].eq ? cf_ireport_str(lr, equations, eq_where, q[i].eq) : q[i].how);
  }
}

int cf_ireport_summary(cf_ireport_rd *lr, cf_ireport_doc *d) {
  const cf_json *pol = cf_ireport_member(lr, d->ledger, "", "policy", CF_JSON_OBJECT, 0);
  const cf_json *tot = cf_ireport_member(lr, d->ledger, "", "totals", CF_JSON_OBJECT, 0);
  const char *title = cf_ireport_str(lr, pol, "policy", "title"), *doc = cf_ireport_str(lr, pol, "policy", "document");
  const char *credits = cf_ireport_str(lr, pol, "policy", "credits");
  const cf_json *checked = cf_ireport_member(lr, pol, "policy", "references_checked", CF_JSON_BOOL, 0);
  int np = n_periods(lr, d);
  if (lr->rc) return lr->rc;
  cf_report_section *s = cf_report_section_add(d->r, "Summary");
  char a[64], b[64], c[64];
  paragraph(s, "Policy: %s (%s); one unit (%s) is 1 t CO2e. %d monitoring events from %s to %s, %d period%s. "
               "Net removals %s t CO2e, buffer %s t CO2e, issuable %s t CO2e: %lld %s.",
            title, doc, credits, d->n_events, d->events[0].date, d->events[d->n_events - 1].date, np, np == 1 ? "" : "s",
            grouped(cf_ireport_num(lr, tot, "totals", "net_t_co2e"), a, sizeof a),
            grouped(cf_ireport_num(lr, tot, "totals", "buffer_t_co2e"), b, sizeof b),
            grouped(cf_ireport_num(lr, tot, "totals", "issuable_t_co2e"), c, sizeof c),
            (long long)cf_ireport_num(lr, tot, "totals", "units"), credits);
  double deficit = cf_ireport_num(lr, tot, "totals", "deficit_t_co2e");
  if (deficit > 0)
    paragraph(s, "A reversal is not yet made good: a deficit of %s t CO2e stays in the ledger, and later removals "
                 "are credited only once they lift the cumulative net removals above the peak credited before "
                 "(the cumulative difference).", grouped(deficit, a, sizeof a));
  if (checked && !checked->boolean)
    paragraph(s, "The policy's equation references were taken from the methodologies as far as they could be looked "
                 "up; they have not yet been checked against the documents (the ledger says references_checked: "
                 "false), and each parameter below says whether it was.");
  cf_report_table *t = quantity_table(s, "ledger_totals", "Ledger totals");
  quantity_rows(lr, t, tot, "totals", TOTALS, (int)(sizeof TOTALS / sizeof *TOTALS), NULL, "");
  d->n_tables++;
  return lr->rc;
}

/* --- stocks per event -------------------------------------------------------------- */

/* The stratum name of a stock report as the ledger names it (stratum_map). */
static const char *mapped(const cf_json *maps, const char *name) {
  for (size_t i = 0; maps && i < maps->n; i++) {
    const cf_json *f = cf_json_get(maps->items[i], "from"), *t = cf_json_get(maps->items[i], "to");
    if (f && t && f->type == CF_JSON_STRING && t->type == CF_JSON_STRING && !strcmp(f->string, name)) return t->string;
  }
  return name;
}

/* The ledger's t CO2e of stratum `name` at event k, summed over the pools
 * the policy counts; NaN if the ledger has no such stratum. */
static double counted_stock(cf_ireport_rd *lr, const cf_ireport_doc *d, int k, const char *name, char *where,
                            size_t cap) {
  int p = k ? k - 1 : 0;
  const char *side = k ? "t2_t_co2e" : "t1_t_co2e";
  char w[64];
  const cf_json *st = period_stocks(lr, d, p, w, sizeof w);
  const cf_json *counted = cf_ireport_member(lr, st, w, "pools_counted", CF_JSON_ARRAY, 0);
  const cf_json *strata = cf_ireport_member(lr, st, w, "strata", CF_JSON_ARRAY, 0);
  for (size_t h = 0; strata && h < strata->n; h++) {
    const cf_json *S = strata->items[h], *nm = cf_json_get(S, "stratum");
    if (!nm || nm->type != CF_JSON_STRING || strcmp(nm->string, name)) continue;
    char sw[96];
    snprintf(sw, sizeof sw, "%s.strata[%zu]", w, h);
    const cf_json *pools = cf_ireport_member(lr, S, sw, side, CF_JSON_OBJECT, 0);
    double sum = 0;
    for (int q = 0; q < CF_POOL_COUNT; q++)
      if (in_list(counted, cf_pool_name((cf_pool_id)q))) {
        double v = cf_ireport_num(lr, pools, sw, cf_pool_name((cf_pool_id)q));
        if (isfinite(v)) sum += v;
      }
    snprintf(where, cap, "%s.%s", sw, side);
    return sum;
  }
  snprintf(where, cap, "not in the ledger");
  return NAN;
}

int cf_ireport_stocks_tables(cf_ireport_rd *lr, cf_ireport_doc *d) {
  static const cf_report_column cols[11] = {
      {"Stratum", NULL},       {"Area", "ha"},          {"Plots", NULL},         {"AGB", "t C/ha"},
      {"BGB", "t C/ha"},       {"Dead wood", "t C/ha"}, {"Litter", "t C/ha"},    {"SOC", "t C/ha"},
      {"Stock, estimated pools", "t CO2e"}, {"Stock, pools counted", "t CO2e"}, {"U90", "%"}};
  const cf_json *maps = cf_ireport_member(lr, d->ledger, "", "stratum_map", CF_JSON_ARRAY, 1);
  cf_report_section *s = cf_report_section_add(d->r, "Carbon stocks per stratum");
  paragraph(s, "Each monitoring event's stocks as its stock report gives them (carbonflux-stocks/1: pools per "
               "hectare, the stock of every estimated pool), and the stock of the pools the policy counts as the "
               "ledger took it (undiscounted). U is the project's tree-biomass estimate at 90 %% as the ledger used it.");
  for (int k = 0; k < d->n_events && !lr->rc; k++) {
    cf_ireport_rd r = {lr->ctx, d->events[k].path, CF_OK};
    const cf_json *doc = d->events[k].doc;
    const cf_json *strata = cf_ireport_member(&r, doc, "", "strata", CF_JSON_ARRAY, 0);
    const cf_json *proj = cf_ireport_member(&r, doc, "", "project", CF_JSON_OBJECT, 0);
    char name[32], caption[1200];
    snprintf(name, sizeof name, "stocks_event%d", k + 1);
    snprintf(caption, sizeof caption, "Event %d, %s: stocks per stratum (%s)", k + 1, d->events[k].date,
             d->events[k].path);
    cf_report_table *t = cf_report_table_add(s, name, caption, 11, cols, 1);
    d->n_tables++;
    for (size_t h = 0; strata && h < strata->n && !r.rc && !lr->rc; h++) {
      char w[48], lw[160], src[400];
      snprintf(w, sizeof w, "strata[%zu]", h);
      const cf_json *S = strata->items[h];
      const char *nm = cf_ireport_str(&r, S, w, "stratum");
      const cf_json *pools = cf_ireport_member(&r, S, w, "pools_t_c_per_ha", CF_JSON_OBJECT, 0);
      cf_report_row(t);
      cf_report_cell_text(t, nm);
      cf_report_cell_num(t, cf_ireport_num(&r, S, w, "area_ha"), CF_REPORT_GROUPED(1));
      cf_report_cell_num(t, cf_ireport_num(&r, S, w, "n_plots"), CF_REPORT_FIXED(0));
      char pw[80];
      snprintf(pw, sizeof pw, "%s.pools_t_c_per_ha", w);
      for (int q = 0; q < CF_POOL_COUNT; q++)
        cf_report_cell_num(t, cf_ireport_num(&r, pools, pw, cf_pool_name((cf_pool_id)q)), CF_REPORT_FIXED(2));
      cf_report_cell_num(t, cf_ireport_num(&r, S, w, "stock_t_co2e"), T_CO2E);
      cf_report_cell_num(t, counted_stock(lr, d, k, mapped(maps, nm), lw, sizeof lw), T_CO2E);
      cf_report_cell_empty(t); /* the stock report estimates U for the project only */
      snprintf(src, sizeof src, "stock report %s; counted: ledger %s", w, lw);
      cf_report_row_source(t, src);
    }
    if (!r.rc && !lr->rc) {
      double area = cf_ireport_num(&r, proj, "project", "area_ha");
      const cf_json *pt = cf_ireport_member(&r, proj, "project", "pools_t_co2e", CF_JSON_OBJECT, 0);
      const cf_json *P = period_at(lr, d, k ? k - 1 : 0);
      char u_name[48];
      snprintf(u_name, sizeof u_name, "u90_pct[event %d,", k + 1);
      cf_report_row(t);
      cf_report_cell_text(t, "project");
      cf_report_cell_num(t, area, CF_REPORT_GROUPED(1));
      cf_report_cell_num(t, cf_ireport_num(&r, proj, "project", "n_plots"), CF_REPORT_FIXED(0));
      for (int q = 0; q < CF_POOL_COUNT; q++)
        cf_report_cell_num(t, cf_ireport_num(&r, pt, "project.pools_t_co2e", cf_pool_name((cf_pool_id)q)) * 12.0 / 44.0 / area,
                           CF_REPORT_FIXED(2));
      cf_report_cell_num(t, cf_ireport_num(&r, proj, "project", "total_t_co2e"), T_CO2E);
      cf_report_cell_num(t, num_at(lr, P, "", k ? "stocks.stock_t2_t_co2e" : "stocks.stock_t1_t_co2e"), T_CO2E);
      char u_full[160], src[400];
      cf_report_cell_num(t, ledger_param(lr, d, u_name, u_full, sizeof u_full), PCT);
      snprintf(src, sizeof src, "pools: stock report project.pools_t_co2e x 12/44 / area; counted: ledger "
                                "periods[%d].stocks.stock_%s_t_co2e; U: ledger parameter %s",
               k ? k - 1 : 0, k ? "t2" : "t1", u_full);
      cf_report_row_source(t, src);
    }
    if (r.rc) return r.rc;
  }
  return lr->rc;
}

/* --- the ledger ---------------------------------------------------------------------- */

static const quantity PERIOD[] = {
    {"Length of the period", "stocks.years", "years", CF_REPORT_FIXED(4), NULL,
     "(Y2 - Y1) + (M2 - M1)/12 + (D2 - D1)/365.25 of the events' dates", 0},
    {"Stock at the start, pools counted (undiscounted)", "stocks.stock_t1_t_co2e", "t CO2e", T_CO2E, NULL,
     "stock report of the start: the counted pools' t CO2e", 0},
    {"Stock at the end, pools counted (undiscounted)", "stocks.stock_t2_t_co2e", "t CO2e", T_CO2E, NULL,
     "stock report of the end: the counted pools' t CO2e", 0},
    {"Change in carbon stocks", "change_t_co2e", "t CO2e", T_CO2E, "change", NULL, 0},
    {"Change per year", "stocks.annual_change_t_co2e_yr", "t CO2e/yr", T_CO2E, NULL, "change / length", 0},
    {"Uncertainty of the change, U (90 %)", "stocks.uncertainty.u_pct", "%", PCT, "uncertainty", NULL, 0},
    {"Uncertainty deduction", "uncertainty_deduction_t_co2e", "t CO2e", T_CO2E, "uncertainty", NULL, 0},
    {"Change after the deduction", "change_adjusted_t_co2e", "t CO2e", T_CO2E, NULL, "change - uncertainty deduction", 0},
    {"Baseline removals", "baseline_t_co2e", "t CO2e", T_CO2E, "baseline", NULL, 0},
    {"Project emissions", "emissions_t_co2e", "t CO2e", T_CO2E, "emissions", NULL, 0},
    {"Leakage", "leakage_t_co2e", "t CO2e", T_CO2E, "leakage", NULL, 0},
    {"Net removals", "net_t_co2e", "t CO2e", T_CO2E, "net", NULL, 0},
    {"Cumulative net removals", "cumulative_net_t_co2e", "t CO2e", T_CO2E, NULL, "sum of the net removals to this period", 0},
    {"Level (cumulative net, capped)", "level_t_co2e", "t CO2e", T_CO2E, NULL,
     "cumulative net removals, capped at long_term_average_t_co2e where the project harvests", 0},
    {"Capped", "capped_t_co2e", "t CO2e", T_CO2E, NULL, "cumulative net removals - level", 0},
    {"Peak level credited", "peak_t_co2e", "t CO2e", T_CO2E, NULL, "the highest level credited so far", 0},
    {"Credited removals", "credited_t_co2e", "t CO2e", T_CO2E, NULL,
     "cumulative difference: max(0, level - the peak credited before)", 0},
    {"Reversal", "reversal_t_co2e", "t CO2e", T_CO2E, NULL, "max(0, level of the period before - level)", 0},
    {"Deficit not yet made good", "deficit_t_co2e", "t CO2e", T_CO2E, NULL, "peak - level", 0},
    {"Buffer share", "buffer_pct", "%", PCT, "buffer", NULL, 0},
    {"Buffer contribution", "buffer_t_co2e", "t CO2e", T_CO2E, "buffer", NULL, 0},
    {"Buffer cancelled for a reversal", "buffer_cancelled_t_co2e", "t CO2e", T_CO2E, "buffer", NULL, 0},
    {"Buffer pool after the period", "buffer_pool_t_co2e", "t CO2e", T_CO2E, "buffer", NULL, 0},
    {"tCERs", "tcer_t_co2e", "t CO2e", T_CO2E, "issuable", NULL, 1},
    {"lCERs", "lcer_t_co2e", "t CO2e", T_CO2E, "issuable", NULL, 1},
    {"lCERs to replace", "lcer_to_replace_t_co2e", "t CO2e", T_CO2E, "issuable", NULL, 1},
    {"Issuable", "issuable_t_co2e", "t CO2e", T_CO2E, "issuable", NULL, 0},
    {"Cumulative issuable", "cumulative_issuable_t_co2e", "t CO2e", T_CO2E, NULL, "sum of issuable to this period", 0},
    {"Units issued", "units", "units", CF_REPORT_GROUPED(0), "issuable", NULL, 0},
    {"Cumulative units", "cumulative_units", "units", CF_REPORT_GROUPED(0), NULL,
     "floor(cumulative issuable): rounding neither loses nor duplicates a unit", 0},
};

int cf_ireport_ledger_tables(cf_ireport_rd *lr, cf_ireport_doc *d) {
  int np = n_periods(lr, d);
  cf_report_section *s = cf_report_section_add(d->r, "Ledger");
  paragraph(s, "Per period, every quantity of the ledger with its field in LEDGER.json, its value and the equation "
               "it applies (t CO2e; one unit = 1 t CO2e).");
  for (int k = 0; k < np && !lr->rc; k++) {
    const cf_json *P = period_at(lr, d, k);
    char w[32], name[32], caption[160], ew[48];
    snprintf(w, sizeof w, "periods[%d]", k);
    snprintf(ew, sizeof ew, "%s.equations", w);
    snprintf(name, sizeof name, "ledger_period%d", k + 1);
    snprintf(caption, sizeof caption, "Period %d: %s to %s", k + 1, cf_ireport_str(lr, P, w, "start"),
             cf_ireport_str(lr, P, w, "end"));
    const cf_json *eqs = cf_ireport_member(lr, P, w, "equations", CF_JSON_OBJECT, 0);
    cf_report_table *t = quantity_table(s, name, caption);
    d->n_tables++;
    for (int i = 0; i < (int)(sizeof PERIOD / sizeof *PERIOD) && !lr->rc; i++) {
      const quantity *q = &PERIOD[i];
      if (q->optional && !cf_json_get(P, q->field)) continue;
      cf_report_row(t);
      cf_report_cell_text(t, q->label);
      char field[96];
      snprintf(field, sizeof field, "%s.%s", w, q->field);
      cf_report_cell_text(t, field);
      cf_report_cell_num(t, num_at(lr, P, w, q->field), q->f);
      cf_report_cell_text(t, q->unit);
      cf_report_row_source(t, q->eq ? cf_ireport_str(lr, eqs, ew, q->eq) : q->how);
    }
  }
  /* the change by pool: what the policy counts and what it leaves out */
  static const cf_report_column pc[6] = {{"Period", NULL}, {"Pool", NULL}, {"Start", "t CO2e"},
                                         {"End", "t CO2e"}, {"Change", "t CO2e"}, {"In the credits", NULL}};
  cf_report_table *t = cf_report_table_add(s, "change_by_pool", "Change in stocks by pool", 6, pc, 0);
  d->n_tables++;
  for (int k = 0; k < np && !lr->rc; k++) {
    char w[48];
    const cf_json *st = period_stocks(lr, d, k, w, sizeof w);
    const cf_json *counted = cf_ireport_member(lr, st, w, "pools_counted", CF_JSON_ARRAY, 0);
    const cf_json *excluded = cf_ireport_member(lr, st, w, "pools_excluded_by_policy", CF_JSON_ARRAY, 0);
    const char *objs[3] = {"project_t1_t_co2e", "project_t2_t_co2e", "change_by_pool_t_co2e"};
    for (int q = 0; q < CF_POOL_COUNT && !lr->rc; q++) {
      const char *pool = cf_pool_name((cf_pool_id)q);
      cf_report_row(t);
      cf_report_cell_num(t, k + 1, CF_REPORT_FIXED(0));
      cf_report_cell_text(t, pool);
      for (int o = 0; o < 3; o++) {
        char ow[96];
        snprintf(ow, sizeof ow, "%s.%s", w, objs[o]);
        cf_report_cell_num(t, cf_ireport_num(lr, cf_ireport_member(lr, st, w, objs[o], CF_JSON_OBJECT, 0), ow, pool), T_CO2E);
      }
      cf_report_cell_text(t, in_list(counted, pool) ? "counted" : in_list(excluded, pool) ? "excluded by the policy"
                                                                                            : "not estimated");
    }
  }
  static const cf_report_column vc[7] = {{"Period", NULL},         {"Vintage", NULL},       {"Share of the period", NULL},
                                         {"Net", "t CO2e"},        {"Credited", "t CO2e"}, {"Buffer", "t CO2e"},
                                         {"Issuable", "t CO2e"}};
  t = cf_report_table_add(s, "vintages", "Vintages: each period split into calendar years in proportion of time", 7, vc, 0);
  d->n_tables++;
  for (int k = 0; k < np && !lr->rc; k++) {
    const cf_json *P = period_at(lr, d, k);
    char w[32];
    snprintf(w, sizeof w, "periods[%d]", k);
    const cf_json *vs = cf_ireport_member(lr, P, w, "vintages", CF_JSON_ARRAY, 0);
    for (size_t v = 0; vs && v < vs->n && !lr->rc; v++) {
      char vw[64];
      snprintf(vw, sizeof vw, "%s.vintages[%zu]", w, v);
      const cf_json *V = vs->items[v];
      cf_report_row(t);
      cf_report_cell_num(t, k + 1, CF_REPORT_FIXED(0));
      cf_report_cell_num(t, cf_ireport_num(lr, V, vw, "vintage"), CF_REPORT_FIXED(0));
      cf_report_cell_num(t, cf_ireport_num(lr, V, vw, "share"), CF_REPORT_FIXED(4));
      const char *f[4] = {"net_t_co2e", "credited_t_co2e", "buffer_t_co2e", "issuable_t_co2e"};
      for (int i = 0; i < 4; i++) cf_report_cell_num(t, cf_ireport_num(lr, V, vw, f[i]), T_CO2E);
    }
  }
  return lr->rc;
}

/* --- the uncertainty statement ----------------------------------------------------------- */

int cf_ireport_uncertainty(cf_ireport_rd *lr, cf_ireport_doc *d) {
  const cf_json *pol = cf_ireport_member(lr, d->ledger, "", "policy", CF_JSON_OBJECT, 0);
  const char *rule = cf_ireport_str(lr, pol, "policy", "uncertainty_rule");
  const char *pname = cf_ireport_str(lr, pol, "policy", "name");
  if (lr->rc) return lr->rc;
  cf_report_section *s = cf_report_section_add(d->r, "Uncertainty");
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "U of each event's stock estimate (tree biomass, 90 % confidence):");
  for (int k = 0; k < d->n_events; k++) {
    char u_name[48];
    snprintf(u_name, sizeof u_name, "u90_pct[event %d,", k + 1);
    cf_strbuf_printf(&sb, "%s event %d (%s) %.2f %%", k ? ";" : "", k + 1, d->events[k].date, ledger_param(lr, d, u_name, NULL, 0));
  }
  cf_strbuf_puts(&sb, ".");
  if (!sb.failed) cf_report_paragraph(s, cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
  int np = n_periods(lr, d);
  for (int k = 0; k < np && !lr->rc; k++) {
    const cf_json *P = period_at(lr, d, k);
    char w[48], uw[64], a[64], b[64], c[64];
    snprintf(w, sizeof w, "periods[%d]", k);
    snprintf(uw, sizeof uw, "periods[%d].stocks.uncertainty", k);
    const cf_json *st = cf_ireport_member(lr, P, w, "stocks", CF_JSON_OBJECT, 0);
    const cf_json *u = cf_ireport_member(lr, st, w, "uncertainty", CF_JSON_OBJECT, 0);
    const char *design = cf_ireport_str(lr, u, uw, "design");
    double upct = cf_ireport_num(lr, u, uw, "u_pct"), hw = cf_ireport_num(lr, u, uw, "half_width_t_co2e");
    double change = cf_ireport_num(lr, P, w, "change_t_co2e");
    double ded = cf_ireport_num(lr, P, w, "uncertainty_deduction_t_co2e");
    double adj = cf_ireport_num(lr, P, w, "change_adjusted_t_co2e");
    if (lr->rc) break;
    char how[400];
    if (!strcmp(design, "permanent"))
      snprintf(how, sizeof how, "remeasured permanent plots: %d plot pairs, the AR-TOOL14 estimator on the per-plot "
                                "differences with t = %.4f (df %d)",
               (int)cf_ireport_num(lr, u, uw, "n_pairs"), cf_ireport_num(lr, u, uw, "t_value"),
               (int)cf_ireport_num(lr, u, uw, "df"));
    else
      snprintf(how, sizeof how, "independent inventories: U = sqrt((u1 C1)^2 + (u2 C2)^2) / |dC| with u1 = %.2f %%, "
                                "u2 = %.2f %%", cf_ireport_num(lr, u, uw, "u1_pct"), cf_ireport_num(lr, u, uw, "u2_pct"));
    if (isfinite(upct))
      paragraph(s, "Period %d (%s to %s), %s: U = %.2f %% of the change of %s t CO2e at 90 %% (half-width %s t CO2e).",
                k + 1, cf_ireport_str(lr, P, w, "start"), cf_ireport_str(lr, P, w, "end"), how, upct,
                grouped(change, a, sizeof a), grouped(hw, b, sizeof b));
    else
      paragraph(s, "Period %d (%s to %s), %s: the change is 0, so U is not defined.", k + 1,
                cf_ireport_str(lr, P, w, "start"), cf_ireport_str(lr, P, w, "end"), how);
    if (ded > 0)
      paragraph(s, "Rule applied (%s): %s. Outcome: a deduction of %s t CO2e, %.2f %% of the change (%.1f %% of its "
                   "90 %% half-width); the change counts as %s t CO2e.",
                pname, rule, grouped(ded, a, sizeof a), 100.0 * ded / fabs(change),
                hw > 0 ? 100.0 * ded / hw : NAN, grouped(adj, c, sizeof c));
    else if (ded < 0) /* tCERs: the deduction on the whole since the start fell (ledger.h) */
      paragraph(s, "Rule applied (%s): %s, to the change since the first event (tCERs). Outcome: that deduction is "
                   "%s t CO2e smaller than at the last verification; the period's change counts as %s t CO2e.",
                pname, rule, grouped(-ded, a, sizeof a), grouped(adj, c, sizeof c));
    else
      paragraph(s, "Rule applied (%s): %s. Outcome: no deduction; the change counts in full (%s t CO2e).", pname, rule,
                grouped(adj, c, sizeof c));
  }
  return lr->rc;
}

/* --- parameters and settings ---------------------------------------------------------------- */

typedef struct {
  char *name, *value, *unit, *source;
  double num; /* NaN: value is text */
  unsigned events;
} stock_row;

static void free_rows(stock_row *v, int n) {
  for (int i = 0; i < n; i++) free(v[i].name), free(v[i].value), free(v[i].unit), free(v[i].source);
  free(v);
}

/* Add (or mark for event k) a stock report's parameter or setting. */
static int stock_row_add(stock_row **v, int *n, const char *name, const char *value, const char *unit,
                         const char *source, double num, int k) {
  for (int i = 0; i < *n; i++)
    if (!strcmp((*v)[i].name, name) && !strcmp((*v)[i].value, value) && !strcmp((*v)[i].unit, unit) &&
        !strcmp((*v)[i].source, source)) {
      (*v)[i].events |= 1u << k;
      return 0;
    }
  stock_row *g = realloc(*v, (size_t)(*n + 1) * sizeof *g);
  if (!g) return -1;
  *v = g;
  stock_row *r = &g[(*n)++];
  r->name = strdup(name), r->value = strdup(value), r->unit = strdup(unit), r->source = strdup(source);
  r->num = num, r->events = 1u << k;
  return r->name && r->value && r->unit && r->source ? 0 : -1;
}

static void events_text(unsigned mask, int n_events, char *out, size_t cap) {
  size_t o = 0;
  int count = 0;
  for (int k = 0; k < n_events && k < 32; k++) count += (mask >> k) & 1;
  o += (size_t)snprintf(out, cap, "%s", count > 1 ? "events " : "event ");
  for (int k = 0, first = 1; k < n_events && k < 32 && o < cap; k++)
    if ((mask >> k) & 1) o += (size_t)snprintf(out + o, cap - o, "%s%d", first ? "" : ", ", k + 1), first = 0;
}

int cf_ireport_parameters(cf_ireport_rd *lr, cf_ireport_doc *d) {
  const cf_json *ps = cf_ireport_member(lr, d->ledger, "", "parameters", CF_JSON_ARRAY, 0);
  for (size_t i = 0; ps && i < ps->n && !lr->rc; i++) {
    char w[48], src[1200];
    snprintf(w, sizeof w, "parameters[%zu]", i);
    const cf_json *p = ps->items[i];
    const cf_json *checked = cf_ireport_member(lr, p, w, "checked", CF_JSON_BOOL, 0);
    double v = cf_ireport_num(lr, p, w, "value");
    snprintf(src, sizeof src, "%s [%s]", cf_ireport_str(lr, p, w, "source"),
             checked && checked->boolean ? "checked against its document" : "not yet checked against its document");
    if (isfinite(v)) cf_report_param(d->r, cf_ireport_str(lr, p, w, "name"), v, CF_REPORT_SIG(8), cf_ireport_str(lr, p, w, "unit"), src);
    else cf_report_param_text(d->r, cf_ireport_str(lr, p, w, "name"), "(a rule: see its source)", cf_ireport_str(lr, p, w, "unit"), src);
  }
  const cf_json *set = cf_ireport_member(lr, d->ledger, "", "settings", CF_JSON_OBJECT, 0);
  for (size_t i = 0; set && i < set->n && !lr->rc; i++) {
    char w[96], name[128], src[160];
    snprintf(w, sizeof w, "settings.%s", set->keys[i]);
    snprintf(name, sizeof name, "ledger setting %s", set->keys[i]);
    const char *from = cf_ireport_str(lr, set->items[i], w, "source");
    if (!strcmp(from, "default")) snprintf(src, sizeof src, "default of the ledger's settings (carbonflux sink --help)");
    else snprintf(src, sizeof src, "given in the %s", from);
    cf_report_param_text(d->r, name, cf_ireport_str(lr, set->items[i], w, "text"), cf_ireport_str(lr, set->items[i], w, "unit"), src);
  }
  /* the stock reports' parameters and settings, identical rows once */
  stock_row *rows = NULL;
  int n = 0, rc = CF_OK;
  for (int k = 0; k < d->n_events && !rc && !lr->rc; k++) {
    cf_ireport_rd r = {lr->ctx, d->events[k].path, CF_OK};
    const cf_json *doc = d->events[k].doc;
    const cf_json *sp = cf_ireport_member(&r, doc, "", "parameters", CF_JSON_ARRAY, 0);
    for (size_t i = 0; sp && i < sp->n && !r.rc && !rc; i++) {
      char w[48], name[256], val[64];
      snprintf(w, sizeof w, "parameters[%zu]", i);
      const cf_json *p = sp->items[i];
      const cf_json *checked = cf_ireport_member(&r, p, w, "checked", CF_JSON_BOOL, 1);
      double v = cf_ireport_num(&r, p, w, "value");
      snprintf(name, sizeof name, "stocks: %s", cf_ireport_str(&r, p, w, "name"));
      snprintf(val, sizeof val, isfinite(v) ? "%.17g" : "(a rule: see its source)", v);
      char src[1200];
      snprintf(src, sizeof src, "%s [%s]", cf_ireport_str(&r, p, w, "source"),
               checked && checked->boolean ? "checked against its document" : "not yet checked against its document");
      if (!r.rc && stock_row_add(&rows, &n, name, val, cf_ireport_str(&r, p, w, "unit"), src, v, k)) rc = CF_ENOMEM;
    }
    const cf_json *ss = cf_ireport_member(&r, doc, "", "settings", CF_JSON_OBJECT, 1);
    for (size_t i = 0; ss && i < ss->n && !r.rc && !rc; i++) {
      char name[256], val[512];
      snprintf(name, sizeof name, "stocks setting %s", ss->keys[i]);
      cf_ireport_value_text(ss->items[i], val, sizeof val);
      if (stock_row_add(&rows, &n, name, val, "", "", NAN, k)) rc = CF_ENOMEM;
    }
    if (r.rc) rc = r.rc;
  }
  for (int i = 0; i < n && !rc; i++) {
    char ev[160], src[1400];
    events_text(rows[i].events, d->n_events, ev, sizeof ev);
    if (rows[i].source[0]) snprintf(src, sizeof src, "%s (stock report of %s)", rows[i].source, ev);
    else snprintf(src, sizeof src, "as the stock report of %s sets it", ev);
    if (isfinite(rows[i].num)) cf_report_param(d->r, rows[i].name, rows[i].num, CF_REPORT_SIG(8), rows[i].unit, src);
    else cf_report_param_text(d->r, rows[i].name, rows[i].value, rows[i].unit, src);
  }
  free_rows(rows, n);
  if (rc == CF_ENOMEM) return cf_error(lr->ctx, CF_ENOMEM, d->spec->html_path, "parameters", "out of memory");
  if (!rc && !lr->rc) d->n_tables++;
  return rc ? rc : lr->rc;
}
