/* Census mortality uncertainty (mortality.h). */
#include "sink/issuance/mortality.h"

#include <math.h>

#include "sink/student_t.h"

int cf_census_mortality_uncertainty(cf_ctx *ctx, double m, int n, double *u_m, double *t_value) {
  if (!(m >= 0.0 && m < 1.0))
    return cf_error(ctx, CF_EINVAL, "census mortality", "M", "must be in [0, 1), got %g", m);
  if (n < 2) return cf_error(ctx, CF_EINVAL, "census mortality", "n", "needs at least 2 sampled trees, got %d", n);
  int rc = cf_student_t_critical(ctx, 0.90, (double)(n - 1), t_value);
  if (rc) return rc;
  *u_m = *t_value * sqrt(m * (1.0 - m) / (n - 1)) / (1.0 - m);
  return CF_OK;
}
