/* Height tables of air density and CO2 cross-sections; see optics.h. */
#include "lidar/optics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/spectroscopy.h"

int cf_optics_build(cf_ctx *ctx, const cf_co2_linelist *lines, const cf_surface_met *met, double nu_on,
                    double nu_off, double co2_ppm, double zmax, double dz, const char *where, cf_optics *op) {
  memset(op, 0, sizeof *op);
  int rc = cf_surface_met_check(ctx, met, where);
  if (rc) return rc;
  op->dz = dz;
  op->nz = (int)ceil((zmax > 0 ? zmax : 0) / dz) + 2;
  op->p = malloc((size_t)op->nz * sizeof(double));
  op->t = malloc((size_t)op->nz * sizeof(double));
  op->ndry = malloc((size_t)op->nz * sizeof(double));
  op->sigma[0] = malloc((size_t)op->nz * sizeof(double));
  op->sigma[1] = malloc((size_t)op->nz * sizeof(double));
  if (!op->p || !op->t || !op->ndry || !op->sigma[0] || !op->sigma[1]) {
    cf_optics_free(op);
    return cf_error(ctx, CF_ENOMEM, where, "", "out of memory");
  }
  double nu[2] = {nu_on, nu_off};
  for (int i = 0; i < op->nz && !rc; i++) {
    cf_met_level m;
    if (cf_atmosphere_at(met, i * dz, &m)) {
      rc = cf_error(ctx, CF_EINVAL, where, "height", "no atmosphere at %g m above the site", i * dz);
      break;
    }
    op->p[i] = m.p_pa;
    op->t[i] = m.t_k;
    op->ndry[i] = m.n_dry_m3;
    cf_gas_state g = {m.p_pa, m.t_k, 1e-6 * co2_ppm * (m.p_pa - m.e_pa)};
    for (int l = 0; l < 2; l++) {
      op->sigma[l][i] = cf_co2_sigma(lines, nu[l], &g);
      if (!isfinite(op->sigma[l][i]))
        rc = cf_error(ctx, CF_EINVAL, where, "temperature", "no cross-section at %g m (T %g K)", i * dz, m.t_k);
    }
  }
  if (rc) cf_optics_free(op);
  return rc;
}

void cf_optics_free(cf_optics *op) {
  free(op->p);
  free(op->t);
  free(op->ndry);
  free(op->sigma[0]);
  free(op->sigma[1]);
  memset(op, 0, sizeof *op);
}

static double interp(const cf_optics *op, const double *a, double z) {
  double x = z / op->dz;
  if (x <= 0) return a[0];
  int i = (int)x;
  if (i >= op->nz - 1) return a[op->nz - 1];
  double t = x - i;
  return a[i] + t * (a[i + 1] - a[i]);
}

double cf_optics_ndry(const cf_optics *op, double z) { return interp(op, op->ndry, z); }
double cf_optics_sigma(const cf_optics *op, int which, double z) { return interp(op, op->sigma[which], z); }
