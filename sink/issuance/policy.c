/*
 * The policy registry: one line per policy. A new standard is a file
 * policy_NAME.c defining one cf_policy and its line here.
 */
#include "sink/issuance/policy.h"

#include <stdio.h>
#include <string.h>

#include "core/suggest.h"

extern const cf_policy cf_policy_ccer_14_001, cf_policy_cdm_ar_acm0003, cf_policy_vm0047, cf_policy_gold_standard;

static const cf_policy *const REGISTRY[] = {
    &cf_policy_ccer_14_001,   /* policy_ccer.c */
    &cf_policy_cdm_ar_acm0003, /* policy_cdm.c */
    &cf_policy_vm0047,        /* policy_vm0047.c */
    &cf_policy_gold_standard, /* policy_gs.c */
    NULL};

const char *const cf_eq_names[CF_EQ_COUNT] = {"change",  "uncertainty", "baseline", "emissions",
                                              "leakage", "net",         "buffer",   "issuable"};

const cf_policy *cf_policy_at(int i) {
  for (int k = 0; REGISTRY[k]; k++)
    if (k == i) return REGISTRY[k];
  return NULL;
}

const cf_policy *cf_policy_find(const char *name) {
  for (int k = 0; name && REGISTRY[k]; k++)
    if (!strcmp(REGISTRY[k]->name, name)) return REGISTRY[k];
  return NULL;
}

int cf_policy_lookup(cf_ctx *ctx, const char *name, const char *where, const cf_policy **out) {
  *out = cf_policy_find(name);
  if (*out) return CF_OK;
  char known[256] = "", near[96] = "";
  int best = 4;
  for (int k = 0; REGISTRY[k]; k++) {
    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", REGISTRY[k]->name);
    int d = name && name[0] ? cf_edit_distance(name, REGISTRY[k]->name) : 99;
    if (d < best) best = d, snprintf(near, sizeof near, "; did you mean '%s'?", REGISTRY[k]->name);
  }
  if (!name || !name[0])
    return cf_error(ctx, CF_EINVAL, where, "policy", "no policy given (known: %s)", known);
  return cf_error(ctx, CF_EINVAL, where, "policy", "unknown policy '%s'%s (known: %s)", name, near, known);
}
