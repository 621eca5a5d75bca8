/* The issuance ledger (ledger.h): settings, inputs, and the computation
 * of every period with the cumulative-difference logic. */
#include "sink/issuance/ledger.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/discount.h"
#include "sink/issuance/baseline.h"

static const char *WHERE = "sink ledger";

const char *const cf_ledger_design_names[] = {"independent", "permanent", NULL};
const char *const cf_ledger_baseline_names[] = {"none", "crown-cover", "rate", "series", NULL};
const char *const cf_ledger_credit_names[] = {"tcer", "lcer", NULL};

#define KV_ROW(name, type, field, lo, hi, unit, choices, help) \
  {#name, CF_KV_##type, offsetof(cf_ledger_settings, field), lo, hi, unit, help, choices},
static const cf_kv_opt rows[] = {CF_LEDGER_SETTINGS(KV_ROW)};
#undef KV_ROW
enum { NROWS = sizeof rows / sizeof *rows };

void cf_ledger_settings_default(cf_ledger_settings *s) {
  memset(s, 0, sizeof *s);
  s->design = CF_DESIGN_INDEPENDENT;
  s->baseline = CF_BASELINE_NONE;
  s->baseline_rate = s->baseline_b_forest = s->baseline_cc = NAN;
  s->baseline_cc_rate = 0.0;
  s->baseline_area_ha = NAN;
  s->baseline_cf = 0.47; /* IPCC 2006 Vol. 4 Table 4.3 default, as the stocks use */
  s->leakage_fraction = s->risk_rating_pct = s->long_term_average_t_co2e = NAN;
  s->cdm_credit = 0;
}

static void defaults(void *base) { cf_ledger_settings_default(base); }

const cf_kv_table cf_ledger_settings_table = {rows, NROWS, sizeof(cf_ledger_settings), defaults, "sink ledger"};

static int set_row(cf_ctx *ctx, cf_ledger_settings *s, const char *kv, int *which) {
  int rc = cf_kv_set(ctx, rows, NROWS, s, kv, WHERE, which);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, WHERE, "", "unknown setting '%.*s' (see carbonflux sink --help)",
                    eq ? (int)(eq - kv) : (int)strlen(kv), kv);
  }
  return rc;
}

int cf_ledger_settings_set(cf_ctx *ctx, cf_ledger_settings *s, const char *kv) { return set_row(ctx, s, kv, NULL); }

/* --- inputs -------------------------------------------------------------------- */

void cf_ledger_inputs_init(cf_ledger_inputs *in) {
  memset(in, 0, sizeof *in);
  cf_ledger_settings_default(&in->settings);
  snprintf(in->given_by, sizeof in->given_by, "command line");
}

static void free_events(cf_ledger_event *e, int n) {
  for (int i = 0; i < n; i++) cf_stocks_in_free(&e[i].report);
  free(e);
}

void cf_ledger_inputs_free(cf_ledger_inputs *in) {
  free_events(in->events, in->n_events);
  free_events(in->baseline, in->n_baseline);
  free(in->emissions);
  free(in->leakages);
  free(in->maps);
  memset(in, 0, sizeof *in);
}

int cf_ledger_inputs_set(cf_ctx *ctx, cf_ledger_inputs *in, const char *kv) {
  int which = -1;
  int rc = set_row(ctx, &in->settings, kv, &which);
  if (!rc && which >= 0) in->given |= (uint64_t)1 << which;
  return rc;
}

static int add_event(cf_ctx *ctx, cf_ledger_event **list, int *n, const char *date, const char *path, const char *what) {
  int y, m, d;
  if (cf_date_parse(date, &y, &m, &d))
    return cf_error(ctx, CF_EINVAL, path, "date", "the %s date '%s' is not a calendar date YYYY-MM-DD", what, date);
  cf_ledger_event *nl = realloc(*list, (size_t)(*n + 1) * sizeof *nl);
  if (!nl) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  *list = nl;
  cf_ledger_event *e = &nl[*n];
  memset(e, 0, sizeof *e);
  snprintf(e->date, sizeof e->date, "%s", date);
  e->t = cf_date_years(y, m, d);
  e->ymd[0] = y, e->ymd[1] = m, e->ymd[2] = d;
  int rc = cf_stocks_in_read(ctx, path, &e->report);
  if (!rc) (*n)++;
  return rc;
}

int cf_ledger_add_event(cf_ctx *ctx, cf_ledger_inputs *in, const char *date, const char *path) {
  return add_event(ctx, &in->events, &in->n_events, date, path, "event");
}

int cf_ledger_add_baseline(cf_ctx *ctx, cf_ledger_inputs *in, const char *date, const char *path) {
  return add_event(ctx, &in->baseline, &in->n_baseline, date, path, "baseline event");
}

int cf_ledger_split_event(cf_ctx *ctx, const char *spec, const char *what, char date[11], const char **path) {
  const char *eq = strchr(spec, '=');
  if (!eq || eq - spec != 10 || !eq[1])
    return cf_error(ctx, CF_EINVAL, WHERE, what, "'%s' is not DATE=REPORT.json with DATE as YYYY-MM-DD", spec);
  memcpy(date, spec, 10);
  date[10] = '\0';
  *path = eq + 1;
  return CF_OK;
}

/* "DATE=T_CO2E[:WHAT]" appended to *list (emissions and leakage alike);
 * `what` names the option in a message. */
static int add_tonnage(cf_ctx *ctx, cf_ledger_emission **list, int *n, const char *spec, const char *what) {
  const char *eq = strchr(spec, '=');
  int y, m, d;
  char date[11] = "";
  if (eq && eq - spec == 10) memcpy(date, spec, 10);
  char *end = NULL;
  double v = eq ? strtod(eq + 1, &end) : NAN;
  if (!eq || cf_date_parse(date, &y, &m, &d) || end == eq + 1 || !isfinite(v) || v < 0 || (*end && *end != ':'))
    return cf_error(ctx, CF_EINVAL, WHERE, what, "'%s' is not DATE=T_CO2E[:WHAT] (the period ending on DATE, t CO2e >= 0)",
                    spec);
  cf_ledger_emission *ne = realloc(*list, (size_t)(*n + 1) * sizeof *ne);
  if (!ne) return cf_error(ctx, CF_ENOMEM, WHERE, what, "out of memory");
  *list = ne;
  cf_ledger_emission *e = &ne[(*n)++];
  memset(e, 0, sizeof *e);
  memcpy(e->end, date, sizeof e->end);
  e->t_co2e = v;
  snprintf(e->what, sizeof e->what, "%s", *end == ':' ? end + 1 : "");
  return CF_OK;
}

int cf_ledger_add_emission(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec) {
  return add_tonnage(ctx, &in->emissions, &in->n_emissions, spec, "emission");
}

int cf_ledger_add_leakage(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec) {
  return add_tonnage(ctx, &in->leakages, &in->n_leakages, spec, "leakage");
}

int cf_ledger_add_map(cf_ctx *ctx, cf_ledger_inputs *in, const char *spec) {
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= CF_LEDGER_NAME_MAX || strlen(eq + 1) >= CF_LEDGER_NAME_MAX)
    return cf_error(ctx, CF_EINVAL, WHERE, "stratum-map", "'%s' is not FROM=TO (stratum names)", spec);
  cf_stratum_map *nm = realloc(in->maps, (size_t)(in->n_maps + 1) * sizeof *nm);
  if (!nm) return cf_error(ctx, CF_ENOMEM, WHERE, "stratum-map", "out of memory");
  in->maps = nm;
  cf_stratum_map *m = &nm[in->n_maps++];
  snprintf(m->from, sizeof m->from, "%.*s", (int)(eq - spec), spec);
  snprintf(m->to, sizeof m->to, "%s", eq + 1);
  return CF_OK;
}

/* --- checks before computing ------------------------------------------------------ */

static int given(const cf_ledger_inputs *in, const char *key) {
  for (int i = 0; i < NROWS; i++)
    if (!strcmp(rows[i].key, key)) return (in->given >> i) & 1;
  return 0;
}

static int check_settings(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_policy *p) {
  const cf_ledger_settings *s = &in->settings;
  if (p->leakage_zero && !isnan(s->leakage_fraction) && s->leakage_fraction != 0.0)
    return cf_error(ctx, CF_EINVAL, WHERE, "leakage_fraction",
                    "policy %s makes leakage zero (%s); leakage_fraction=%g does not apply", p->name, p->leakage_rule,
                    s->leakage_fraction);
  if (p->leakage_zero && in->n_leakages)
    return cf_error(ctx, CF_EINVAL, WHERE, "leakage", "policy %s makes leakage zero (%s); --leakage does not apply",
                    p->name, p->leakage_rule);
  if (in->n_leakages && !isnan(s->leakage_fraction))
    return cf_error(ctx, CF_EINVAL, WHERE, "leakage_fraction",
                    "leakage is given both as leakage_fraction and as tonnages (--leakage): give one of them");
  if (isnan(p->buffer_pct) && isnan(s->risk_rating_pct))
    return cf_error(ctx, CF_EINVAL, WHERE, "risk_rating_pct",
                    "policy %s takes its buffer from the non-permanence risk rating: give risk_rating_pct (%s)", p->name,
                    p->buffer_rule);
  if (!isnan(p->buffer_pct) && !isnan(s->risk_rating_pct))
    return cf_error(ctx, CF_EINVAL, WHERE, "risk_rating_pct", "policy %s does not take a risk rating (%s)", p->name,
                    p->buffer_rule);
  if (isnan(p->buffer_pct) && s->risk_rating_pct < p->buffer_min_pct) /* raised, never silently */
    cf_log(ctx, CF_LOG_WARN, "risk_rating_pct=%g is below the floor of policy %s: the buffer is %g %% (%s)",
           s->risk_rating_pct, p->name, p->buffer_min_pct, p->buffer_rule);
  if (!p->temporary && given(in, "cdm_credit"))
    return cf_error(ctx, CF_EINVAL, WHERE, "cdm_credit", "policy %s issues %s, not tCER/lCER", p->name, p->credits);
  const char *need = NULL;
  if (s->baseline == CF_BASELINE_RATE && isnan(s->baseline_rate)) need = "baseline_rate";
  if (s->baseline == CF_BASELINE_CROWN_COVER && isnan(s->baseline_b_forest)) need = "baseline_b_forest";
  if (s->baseline == CF_BASELINE_CROWN_COVER && isnan(s->baseline_cc)) need = "baseline_cc";
  if (need)
    return cf_error(ctx, CF_EINVAL, WHERE, need, "baseline=%s needs %s", cf_ledger_baseline_names[s->baseline], need);
  if (s->baseline != CF_BASELINE_SERIES && in->n_baseline)
    return cf_error(ctx, CF_EINVAL, WHERE, "baseline", "baseline stock reports were given but baseline=%s (use baseline=series)",
                    cf_ledger_baseline_names[s->baseline]);
  return CF_OK;
}

/* Events in date order, every period of positive length; baseline
 * reports and emissions on event dates. */
static int check_events(cf_ctx *ctx, const cf_ledger_inputs *in) {
  if (in->n_events < 2)
    return cf_error(ctx, CF_EINVAL, WHERE, "event", "a ledger needs two or more monitoring events (--event DATE=REPORT.json), "
                    "got %d", in->n_events);
  for (int k = 1; k < in->n_events; k++) {
    const cf_ledger_event *a = &in->events[k - 1], *b = &in->events[k];
    if (b->t < a->t)
      return cf_error(ctx, CF_EINVAL, b->report.path, "date",
                      "event %d (%s) is dated before event %d ('%s', %s): give the events in date order", k + 1, b->date,
                      k, a->report.path, a->date);
    if (b->t == a->t)
      return cf_error(ctx, CF_EINVAL, b->report.path, "date",
                      "event %d has the date of event %d ('%s', %s): a monitoring period of zero length", k + 1, k,
                      a->report.path, a->date);
  }
  if (in->settings.baseline == CF_BASELINE_SERIES) {
    if (in->n_baseline != in->n_events)
      return cf_error(ctx, CF_EINVAL, WHERE, "baseline", "baseline=series needs one baseline report per event (%d), got %d",
                      in->n_events, in->n_baseline);
    for (int k = 0; k < in->n_events; k++)
      if (strcmp(in->baseline[k].date, in->events[k].date))
        return cf_error(ctx, CF_EINVAL, in->baseline[k].report.path, "date",
                        "baseline report %d is dated %s, event %d %s: the series must have the events' dates", k + 1,
                        in->baseline[k].date, k + 1, in->events[k].date);
  }
  for (int q = 0; q < 2; q++) {
    const cf_ledger_emission *list = q ? in->leakages : in->emissions;
    const char *what = q ? "leakage" : "emission";
    for (int i = 0; i < (q ? in->n_leakages : in->n_emissions); i++) {
      int k = 1;
      while (k < in->n_events && strcmp(in->events[k].date, list[i].end)) k++;
      if (k == in->n_events)
        return cf_error(ctx, CF_EINVAL, WHERE, what, "%s %d is for the period ending %s, which is no event's date "
                        "after the first", what, i + 1, list[i].end);
    }
  }
  return CF_OK;
}

/* --- parameters ---------------------------------------------------------------------- */

static int add_param(cf_ctx *ctx, cf_ledger *l, const char *name, double value, const char *unit, const char *source,
                     int checked) {
  cf_ledger_param *np = realloc(l->params, (size_t)(l->n_params + 1) * sizeof *np);
  if (!np) return cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory");
  l->params = np;
  cf_ledger_param *p = &np[l->n_params++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->value = value;
  snprintf(p->unit, sizeof p->unit, "%s", unit);
  snprintf(p->source, sizeof p->source, "%s", source);
  p->checked = checked;
  return CF_OK;
}

static double buffer_pct_of(const cf_policy *p, const cf_ledger_settings *s) {
  return isnan(p->buffer_pct) ? fmax(s->risk_rating_pct, p->buffer_min_pct) : p->buffer_pct;
}

static int record_params(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_policy *p, cf_ledger *l) {
  const cf_ledger_settings *s = &in->settings;
  const cf_discount_policy *dp = cf_discount_policy_find(p->discount);
  char src[400];
  int rc = add_param(ctx, l, "co2_per_c", CF_CO2_PER_C, "t CO2/t C", "molar masses 44/12 (IPCC 2006 Vol. 4)", 1);
  if (!rc) rc = add_param(ctx, l, "confidence", 0.90, "", "two-sided level of every U% in the ledger (AR-TOOL14 v04.2, "
                          "VM0047 sec. 8.4, GS 403 sec. 3.11.5 all state uncertainty at 90 %)", p->checked);
  snprintf(src, sizeof src, "%s (sink/discount.h)", dp ? dp->source : p->discount);
  if (!rc) rc = add_param(ctx, l, "uncertainty_rule", NAN, "", src, p->checked);
  if (!rc) {
    snprintf(src, sizeof src, "%s%s", p->buffer_rule,
             isnan(p->buffer_pct) ? (s->risk_rating_pct < p->buffer_min_pct ? "; the rating given is below the floor, "
                                                                            "the floor applies" : "; the rating given")
                                  : "");
    rc = add_param(ctx, l, "buffer_pct", buffer_pct_of(p, s), "%", src, p->checked);
  }
  if (!rc && isnan(p->buffer_pct)) rc = add_param(ctx, l, "buffer_min_pct", p->buffer_min_pct, "%", p->buffer_rule, 0);
  for (int k = 0; !rc && k < in->n_events; k++) {
    char name[96];
    snprintf(name, sizeof name, "u90_pct[event %d, %s]", k + 1, in->events[k].date);
    snprintf(src, sizeof src, "%s: %s", in->events[k].report.path, in->events[k].report.u90_from);
    rc = add_param(ctx, l, name, in->events[k].report.u90_pct, "%", src, 1);
  }
  if (!rc && s->baseline == CF_BASELINE_CROWN_COVER) {
    rc = add_param(ctx, l, "baseline_root_shoot", CF_BASELINE_R_TREES, "t d.m./t d.m.",
                   "AR-TOOL14 v04.2, crown-cover method: R = 0.25 for baseline trees (equation number unconfirmed)", 0);
    if (!rc) rc = add_param(ctx, l, "baseline_cf", s->baseline_cf, "t C/t d.m.",
                            given(in, "baseline_cf") ? in->given_by : "IPCC 2006 Vol. 4 Table 4.3 default (0.47)", 1);
    if (!rc) rc = add_param(ctx, l, "baseline_b_forest", s->baseline_b_forest, "t d.m./ha", in->given_by, 1);
  }
  return rc;
}

/* --- the periods ------------------------------------------------------------------------ */

/* Baseline removals from event j to event k (j < k). */
static double baseline_between(const cf_ledger_inputs *in, const cf_policy *p, int j, int k) {
  const cf_ledger_settings *s = &in->settings;
  const cf_ledger_event *a = &in->events[j], *b = &in->events[k];
  switch (s->baseline) {
    case CF_BASELINE_RATE: return s->baseline_rate * cf_date_span(a->ymd, b->ymd);
    case CF_BASELINE_CROWN_COVER: {
      double area = isnan(s->baseline_area_ha) ? in->events[0].report.area_ha : s->baseline_area_ha;
      double t0 = in->events[0].t;
      double c1 = cf_baseline_crown_cover(s->baseline_cc, s->baseline_cc_rate, t0, a->t);
      double c2 = cf_baseline_crown_cover(s->baseline_cc, s->baseline_cc_rate, t0, b->t);
      return cf_baseline_crown_cover_stock(s->baseline_cf, CF_BASELINE_R_TREES, area, s->baseline_b_forest, c2) -
             cf_baseline_crown_cover_stock(s->baseline_cf, CF_BASELINE_R_TREES, area, s->baseline_b_forest, c1);
    }
    case CF_BASELINE_SERIES:
      return cf_baseline_series_stock(&in->baseline[k].report, p->pools) -
             cf_baseline_series_stock(&in->baseline[j].report, p->pools);
    default: return 0.0;
  }
}

/* baseline=series: the 90 % half-width of the baseline change from event
 * j to k, as change.h takes the project's for independent inventories:
 * sqrt((u_j S_j)^2 + (u_k S_k)^2) over the counted sampled pools S (all
 * but soc) of the two baseline reports. */
static double baseline_half_width(const cf_ledger_inputs *in, const cf_policy *p, int j, int k) {
  double h[2];
  const cf_stocks_in *rep[2] = {&in->baseline[j].report, &in->baseline[k].report};
  for (int e = 0; e < 2; e++)
    h[e] = rep[e]->u90_pct / 100.0 * cf_baseline_series_stock(rep[e], p->pools & ~CF_POOL_BIT(CF_POOL_SOC));
  return sqrt(h[0] * h[0] + h[1] * h[1]);
}

/* The t CO2e entered for the periods ending after event j up to event k. */
static double tonnage_between(const cf_ledger_inputs *in, const cf_ledger_emission *list, int n, int j, int k) {
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    for (int e = j + 1; e <= k; e++)
      if (!strcmp(list[i].end, in->events[e].date)) sum += list[i].t_co2e;
  return sum;
}

/* From event j to event k, given the change c of the counted pools between
 * them: the policy's deduction on it, the baseline, the emissions of the
 * periods ending after j up to k, leakage and the net removal. One
 * formula for a period (j = k - 1) and for tCERs' whole since the start
 * (j = 0). */
static int net_between(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_policy *p, int j, int k,
                       const cf_period_change *c, cf_ledger_net *n) {
  memset(n, 0, sizeof *n);
  n->change = c->change, n->half_width = c->half_width, n->u_pct = c->u_pct;
  /* the policy's uncertainty rule on the change; a change of 0 has nothing to deduct */
  if (c->change != 0.0 && isfinite(c->u_pct)) {
    cf_discount_result dr;
    int rc = cf_discount_apply(ctx, p->discount, c->change, c->u_pct, c->half_width, CF_SIDE_PROJECT, &dr);
    if (rc) return rc;
    n->deduction = dr.deduction;
  } else if (c->change != 0.0) {
    n->deduction = fabs(c->change); /* an unbounded uncertainty: nothing can be claimed */
  }
  /* the baseline change, raised by the policy's rule on its uncertainty
   * (AR-TOOL14: a baseline estimate is made conservative upwards) */
  n->baseline_change = n->baseline = baseline_between(in, p, j, k);
  n->baseline_u_pct = NAN;
  if (in->settings.baseline == CF_BASELINE_SERIES) {
    n->baseline_half_width = baseline_half_width(in, p, j, k);
    if (n->baseline_change != 0.0) {
      n->baseline_u_pct = n->baseline_half_width / fabs(n->baseline_change) * 100.0;
      cf_discount_result dr;
      int rc = cf_discount_apply(ctx, p->discount, n->baseline_change, n->baseline_u_pct, n->baseline_half_width,
                                 CF_SIDE_BASELINE, &dr);
      if (rc) return rc;
      n->baseline_deduction = dr.deduction;
      n->baseline = dr.discounted;
    }
  }
  n->emissions = tonnage_between(in, in->emissions, in->n_emissions, j, k);
  double lf = p->leakage_zero || isnan(in->settings.leakage_fraction) ? 0.0 : in->settings.leakage_fraction;
  double adjusted = c->change - n->deduction;
  /* leakage as tonnages entered per period (AR-ACM0003 LK in t CO2e), or as a fraction */
  n->leakage = in->n_leakages ? tonnage_between(in, in->leakages, in->n_leakages, j, k)
                              : lf * fmax(0.0, adjusted - n->baseline);
  n->net = adjusted - n->baseline - n->emissions - n->leakage;
  return CF_OK;
}

/* Calendar-year vintages of a period, in proportion of time; the last
 * takes the remainder so that the vintages sum to the period exactly. */
static int split_vintages(cf_ctx *ctx, double t1, double t2, double base, cf_ledger_period *P) {
  int y1 = (int)floor(t1), y2 = (int)floor(t2);
  if (t2 == floor(t2)) y2--; /* a period ending on 1 January has nothing in that year */
  P->vintages = calloc((size_t)(y2 - y1 + 1), sizeof *P->vintages);
  if (!P->vintages) return cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory");
  double sum[4] = {0, 0, 0, 0}, whole[4] = {P->net, P->credited, P->buffer, P->issuable};
  for (int y = y1; y <= y2; y++) {
    cf_ledger_vintage *v = &P->vintages[P->n_vintages++];
    v->year = y;
    v->share = (fmin(t2, y + 1.0) - fmax(t1, (double)y)) / (t2 - t1);
    double *f[4] = {&v->net, &v->credited, &v->buffer, &v->issuable};
    long long before = (long long)floor(base + sum[3]);
    for (int q = 0; q < 4; q++) {
      *f[q] = y == y2 ? whole[q] - sum[q] : whole[q] * v->share;
      sum[q] += *f[q];
    }
    v->units = (long long)floor(base + sum[3]) - before;
  }
  /* the last vintage closes the period's units exactly, whatever the sum's rounding */
  long long others = 0;
  for (int k = 0; k + 1 < P->n_vintages; k++) others += P->vintages[k].units;
  if (P->n_vintages) P->vintages[P->n_vintages - 1].units = P->units - others;
  return CF_OK;
}

typedef struct {
  double cum_net, prev_level, peak, buffer_pool, cum_issuable, cum_lcer;
  long long cum_units;
  cf_ledger_net since; /* tCERs: from event 1 to the last event so far */
} running;

static int compute_period(cf_ctx *ctx, const cf_ledger_inputs *in, const cf_policy *p, int k, running *r,
                          cf_ledger_period *P) {
  const cf_ledger_settings *s = &in->settings;
  const cf_ledger_event *a = &in->events[k - 1], *b = &in->events[k];
  P->index = k;
  memcpy(P->start, a->date, sizeof P->start);
  memcpy(P->end, b->date, sizeof P->end);
  int rc = cf_period_change_compute(ctx, &a->report, &b->report, cf_date_span(a->ymd, b->ymd), p->pools, (cf_change_design)s->design,
                                    in->maps, in->n_maps, &P->c);
  if (rc) return rc;
  cf_ledger_net n;
  rc = net_between(ctx, in, p, k - 1, k, &P->c, &n);
  if (rc) return rc;
  P->deduction = n.deduction, P->baseline = n.baseline, P->emissions = n.emissions, P->leakage = n.leakage;
  P->net = n.net;
  P->own = n;
  if (p->temporary) {
    /* tCERs are the whole net removal since the start, re-issued at each
     * verification: its change, half-width and deduction are taken against
     * event 1 (a sum of per-period deductions would depend on how many
     * verifications were made, each intermediate inventory's error entering
     * two periods). With cdm_credit=tcer the period's row holds the
     * increments of those since-start figures, so that the rows still add
     * up to the whole; with lcer the row keeps the period's own. */
    cf_period_change c0;
    const cf_ledger_event *e0 = &in->events[0];
    rc = cf_period_change_compute(ctx, &e0->report, &b->report, cf_date_span(e0->ymd, b->ymd), p->pools,
                                  (cf_change_design)s->design, in->maps, in->n_maps, &c0);
    if (!rc) rc = net_between(ctx, in, p, 0, k, &c0, &P->since_start);
    cf_period_change_free(&c0);
    if (rc) return rc;
    P->has_since_start = 1;
  }
  int tcers = p->temporary && s->cdm_credit == 0;
  if (tcers) {
    P->deduction = P->since_start.deduction - r->since.deduction;
    P->baseline = P->since_start.baseline - r->since.baseline;
    P->leakage = P->since_start.leakage - r->since.leakage;
    P->net = P->since_start.net - r->since.net;
    r->since = P->since_start;
  }
  P->change_adjusted = P->c.change - P->deduction;
  /* the cumulative difference */
  r->cum_net = tcers ? P->since_start.net : r->cum_net + P->net;
  P->cum_net = r->cum_net;
  P->level = isnan(s->long_term_average_t_co2e) ? r->cum_net : fmin(r->cum_net, s->long_term_average_t_co2e);
  P->capped = r->cum_net - P->level;
  P->credited = fmax(0.0, P->level - r->peak);
  P->reversal = fmax(0.0, r->prev_level - P->level);
  r->peak = fmax(r->peak, P->level);
  P->peak = r->peak;
  P->deficit = r->peak - P->level;
  r->prev_level = P->level;
  /* buffer and units */
  P->buffer_pct = buffer_pct_of(p, s);
  P->buffer = P->buffer_pct / 100.0 * P->credited;
  P->buffer_cancelled = fmin(P->reversal, r->buffer_pool);
  r->buffer_pool += P->buffer - P->buffer_cancelled;
  P->buffer_pool = r->buffer_pool;
  long long units_before = (long long)floor(r->cum_issuable);
  double cum_before = r->cum_issuable;
  if (p->temporary) {
    double whole = P->since_start.net;
    P->tcer = fmax(0.0, isnan(s->long_term_average_t_co2e) ? whole : fmin(whole, s->long_term_average_t_co2e));
    P->lcer = P->credited;
    P->lcer_to_replace = fmin(P->reversal, r->cum_lcer);
    r->cum_lcer += P->lcer - P->lcer_to_replace;
  }
  if (tcers) { /* the whole, reissued at each verification */
    P->issuable = P->tcer;
    r->cum_issuable = P->issuable;
    P->units = (long long)floor(P->issuable);
    r->cum_units = P->units;
  } else {
    P->issuable = P->credited - P->buffer;
    r->cum_issuable += P->issuable;
    P->units = (long long)floor(r->cum_issuable) - units_before;
    r->cum_units += P->units;
  }
  P->cum_issuable = r->cum_issuable;
  P->cum_units = r->cum_units;
  return split_vintages(ctx, a->t, b->t, tcers ? 0.0 : cum_before, P);
}

int cf_ledger_compute(cf_ctx *ctx, const cf_ledger_inputs *in, cf_ledger *out) {
  memset(out, 0, sizeof *out);
  const cf_policy *p = NULL;
  int rc = cf_policy_lookup(ctx, in->settings.policy, WHERE, &p);
  if (!rc) rc = check_settings(ctx, in, p);
  if (!rc) rc = check_events(ctx, in);
  if (rc) return rc;
  out->policy = p;
  rc = record_params(ctx, in, p, out);
  out->periods = rc ? NULL : calloc((size_t)(in->n_events - 1), sizeof *out->periods);
  if (!rc && !out->periods) rc = cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory");
  running r = {0};
  for (int k = 1; !rc && k < in->n_events; k++) {
    out->n_periods = k;
    rc = compute_period(ctx, in, p, k, &r, &out->periods[k - 1]);
    if (!rc && in->settings.design == CF_DESIGN_PERMANENT) {
      char name[96], src[200];
      const cf_period_change *c = &out->periods[k - 1].c;
      snprintf(name, sizeof name, "t90[period %d, df %d]", k, c->df);
      snprintf(src, sizeof src, "Student's t, two-sided 90 %%, df = %d pairs - %d strata (sink/student_t.h)", c->n_pairs,
               c->n_strata);
      rc = add_param(ctx, out, name, c->t_value, "", src, 1);
    }
  }
  for (int k = 0; !rc && k < out->n_periods; k++) {
    const cf_ledger_period *P = &out->periods[k];
    out->total_net += P->net;
    out->total_credited += P->credited;
    out->total_buffer += P->buffer;
  }
  if (!rc && out->n_periods) {
    const cf_ledger_period *last = &out->periods[out->n_periods - 1];
    out->total_issuable = last->cum_issuable;
    out->total_units = last->cum_units;
    out->deficit = last->deficit;
  }
  if (rc) cf_ledger_free(out);
  return rc;
}

void cf_ledger_free(cf_ledger *l) {
  if (!l) return;
  for (int k = 0; k < l->n_periods; k++) {
    cf_period_change_free(&l->periods[k].c);
    free(l->periods[k].vintages);
  }
  free(l->periods);
  free(l->params);
  memset(l, 0, sizeof *l);
}
