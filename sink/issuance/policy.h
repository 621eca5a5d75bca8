/*
 * Issuance policies: what a standard lets a forestry sink project claim,
 * as plug-ins chosen by name (`--policy NAME`).
 *
 * A policy is data: which pools count, which uncertainty rule applies to
 * the change in stocks (a row of the deduction table of sink/discount.h),
 * whether its applicability conditions make leakage zero, its buffer
 * (a fixed share, or a non-permanence risk rating with a floor), whether
 * it issues temporary credits (CDM tCER/lCER), and the equation each
 * ledger quantity applies (methodology, version, equation). The ledger
 * (ledger.h) reads nothing else, so a new standard is one file
 * (policy_NAME.c defining one cf_policy) plus one line in the registry
 * in policy.c.
 *
 * Honesty about sources. The equation numbers and the rules below come
 * from the methodologies as far as they could be looked up from here; the
 * primary PDFs could not be opened. Each policy's `checked` says whether
 * its references were confirmed against the document (none is, yet), and
 * the ledger copies that flag next to every reference it prints.
 */
#ifndef CF_SINK_ISSUANCE_POLICY_H
#define CF_SINK_ISSUANCE_POLICY_H

#include "carbonflux/ctx.h"

/* The quantities of a ledger row that name the equation they apply. */
typedef enum {
  CF_EQ_CHANGE,      /* change in the project's carbon stocks */
  CF_EQ_UNCERTAINTY, /* uncertainty of the change and its deduction */
  CF_EQ_BASELINE,    /* baseline removals */
  CF_EQ_EMISSIONS,   /* project emissions */
  CF_EQ_LEAKAGE,     /* leakage */
  CF_EQ_NET,         /* net anthropogenic removals */
  CF_EQ_BUFFER,      /* buffer / non-permanence */
  CF_EQ_ISSUABLE,    /* units issued */
  CF_EQ_COUNT
} cf_eq_id;

extern const char *const cf_eq_names[CF_EQ_COUNT]; /* "change", "uncertainty", ... */

typedef struct cf_policy {
  const char *name;     /* what --policy takes: lower case */
  const char *title;    /* "CCER-14-001-V01 Afforestation" */
  const char *document; /* issuer, document, version, date */
  const char *credits;  /* what one unit is called: "CCER", "VCU", ... */
  unsigned pools;       /* CF_POOL_BIT of every pool counted */
  const char *pools_rule;
  const char *discount; /* a row of sink/discount.h, applied to the change */
  const char *uncertainty_rule;
  int leakage_zero;     /* 1: the applicability conditions make leakage zero */
  const char *leakage_rule;
  double buffer_pct;    /* fixed buffer share in %, NaN: from risk_rating_pct */
  double buffer_min_pct; /* floor of a rating-based buffer */
  const char *buffer_rule;
  int temporary;        /* 1: tCER/lCER (CDM) instead of permanent units */
  const char *eq[CF_EQ_COUNT];
  int checked;          /* references confirmed against the document */
} cf_policy;

/* The registry, NULL past the end. */
const cf_policy *cf_policy_at(int i);
/* By exact name, NULL if unknown. */
const cf_policy *cf_policy_find(const char *name);
/* By name, or CF_EINVAL naming `where` and field "policy", the known
 * names and the nearest one ("did you mean 'vm0047'?"). */
int cf_policy_lookup(cf_ctx *ctx, const char *name, const char *where, const cf_policy **out);

#endif
