/* The AR-TOOL14 stratified estimator; equations and sources in stratify.h. */
#include "sink/stratify.h"

#include <math.h>
#include <stdio.h>

#include "sink/student_t.h"

static const char *WHERE = "stratified estimate";

static const char *stratum_name(const char *const *names, int h, char *buf, size_t len) {
  if (names && names[h]) return names[h];
  snprintf(buf, len, "#%d", h);
  return buf;
}

int cf_stratified_estimate_compute(cf_ctx *ctx, int n_plots, const double *values,
                                   const int *stratum, int n_strata, const double *area_ha,
                                   const char *const *names, double confidence,
                                   cf_stratum_estimate *strata_out, cf_stratified_estimate *out) {
  char buf[32];
  if (n_plots < 1 || !values || !stratum)
    return cf_error(ctx, CF_EINVAL, WHERE, "plots", "no plots (%d given)", n_plots);
  if (n_strata < 1 || !area_ha || !strata_out || !out)
    return cf_error(ctx, CF_EINVAL, WHERE, "strata", "no strata (%d given)", n_strata);
  if (!(confidence > 0.0 && confidence < 1.0))
    return cf_error(ctx, CF_EINVAL, WHERE, "confidence", "must be in (0, 1), got %g", confidence);

  double area = 0.0;
  for (int h = 0; h < n_strata; h++) {
    const char *nm = stratum_name(names, h, buf, sizeof buf);
    if (!isfinite(area_ha[h]) || !(area_ha[h] > 0.0))
      return cf_error(ctx, CF_EINVAL, WHERE, nm, "stratum \"%s\": area must be > 0 ha, got %g", nm,
                      area_ha[h]);
    area += area_ha[h];
    cf_stratum_estimate *s = &strata_out[h];
    s->name = names ? names[h] : NULL;
    s->n = 0;
    s->area_ha = area_ha[h];
    s->mean = s->sd = s->se = 0.0;
  }
  for (int i = 0; i < n_plots; i++) {
    char pf[32];
    snprintf(pf, sizeof pf, "plot %d", i);
    if (stratum[i] < 0 || stratum[i] >= n_strata)
      return cf_error(ctx, CF_EINVAL, WHERE, pf,
                      "plot %d: stratum index %d is unknown (%d strata)", i, stratum[i], n_strata);
    if (!isfinite(values[i]))
      return cf_error(ctx, CF_EINVAL, WHERE, pf, "plot %d: value is not finite (%g)", i, values[i]);
    strata_out[stratum[i]].n++;
    strata_out[stratum[i]].mean += values[i]; /* sum for now */
  }
  for (int h = 0; h < n_strata; h++) {
    cf_stratum_estimate *s = &strata_out[h];
    if (s->n < 2) {
      const char *nm = stratum_name(names, h, buf, sizeof buf);
      return cf_error(ctx, CF_EINVAL, WHERE, nm, "stratum \"%s\": needs at least 2 plots, has %d",
                      nm, s->n);
    }
    s->mean /= s->n;
  }
  for (int i = 0; i < n_plots; i++) { /* second pass: squared deviations */
    cf_stratum_estimate *s = &strata_out[stratum[i]];
    double d = values[i] - s->mean;
    s->sd += d * d;
  }
  double mean = 0.0, var = 0.0;
  for (int h = 0; h < n_strata; h++) {
    cf_stratum_estimate *s = &strata_out[h];
    double s2 = s->sd / (s->n - 1);
    s->sd = sqrt(s2);
    s->se = s->sd / sqrt((double)s->n);
    s->weight = s->area_ha / area;
    mean += s->weight * s->mean;
    var += s->weight * s->weight * s2 / s->n;
  }
  out->n_plots = n_plots;
  out->n_strata = n_strata;
  out->df = n_plots - n_strata; /* >= n_strata >= 1: every stratum has 2 plots */
  out->area_ha = area;
  out->confidence = confidence;
  out->mean = mean;
  out->se = sqrt(var);
  int rc = cf_student_t_critical(ctx, confidence, (double)out->df, &out->t_value);
  if (rc) return rc;
  out->half_width = out->t_value * out->se;
  out->uncertainty_pct = mean > 0.0 ? out->half_width / mean * 100.0 : NAN;
  return CF_OK;
}
