/* Gamma quantiles at normal scores; the method is in gamma_quantile.h. */
#include "lidar/gamma_quantile.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CF_PI 3.14159265358979323846

enum { PER_UNIT = 64 };

/* ln of x^a e^-x / Gamma(a) */
static double log_prefactor(double a, double x) { return a * log(x) - x - lgamma(a); }

/* P by its power series (DLMF 8.7.1 as a sum of x^n / (a+1)...(a+n)). */
static double p_series(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * DBL_EPSILON) break;
  }
  return sum * exp(log_prefactor(a, x));
}

/* Q by its continued fraction (DLMF 8.9.2), evaluated by the modified
 * Lentz method; converges quickly for x > a + 1. */
static double q_fraction(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; i++) {
    double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1.0) < DBL_EPSILON) break;
  }
  return exp(log_prefactor(a, x)) * h;
}

/* Temme's expansion: Q = erfc(eta sqrt(a/2))/2 + R, R = e^{-a eta^2/2} /
 * sqrt(2 pi a) (c0 + c1/a); *r gets R so P can be formed without
 * cancellation as erfc(-eta sqrt(a/2))/2 - R. */
static double temme_eta(double a, double x, double *r) {
  double lam = x / a, lm1 = lam - 1.0;
  double eta2 = 2.0 * (lm1 - log1p(lm1));
  double eta = (lm1 < 0 ? -1.0 : 1.0) * sqrt(eta2 > 0 ? eta2 : 0);
  double c0, c1;
  if (fabs(lm1) < 1e-3) {
    /* the removable singularity at lambda = 1: Taylor series in eta (DLMF 8.12.9) */
    c0 = -1.0 / 3 + eta / 12 - 2.0 * eta * eta / 135 + eta * eta * eta / 864;
    c1 = -1.0 / 540 - eta / 288;
  } else {
    c0 = 1.0 / lm1 - 1.0 / eta;
    c1 = 1.0 / (eta * eta * eta) - 1.0 / (lm1 * lm1 * lm1) - 1.0 / (lm1 * lm1) - 1.0 / (12.0 * lm1);
  }
  *r = exp(-0.5 * a * eta * eta) / sqrt(2 * CF_PI * a) * (c0 + c1 / a);
  return eta;
}

double cf_gamma_p(double a, double x) {
  if (!(x > 0)) return 0.0;
  if (a >= 50) {
    double r, eta = temme_eta(a, x, &r);
    return 0.5 * erfc(-eta * sqrt(0.5 * a)) - r;
  }
  return x < a + 1.0 ? p_series(a, x) : 1.0 - q_fraction(a, x);
}

double cf_gamma_q(double a, double x) {
  if (!(x > 0)) return 1.0;
  if (a >= 50) {
    double r, eta = temme_eta(a, x, &r);
    return 0.5 * erfc(eta * sqrt(0.5 * a)) + r;
  }
  return x < a + 1.0 ? 1.0 - p_series(a, x) : q_fraction(a, x);
}

double cf_gamma_quantile_z(double a, double z) {
  /* Phi in the tail that does not round to 1 */
  double target = 0.5 * erfc(fabs(z) / sqrt(2.0)), ltarget = log(target);
  /* Wilson-Hilferty start, kept positive */
  double t = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * sqrt(a));
  double x = t > 0.05 ? a * t * t * t : a * 0.05 * 0.05 * 0.05;
  if (z < -6 && a < 1) x = exp((ltarget + lgamma(a + 1.0)) / a); /* P ~ x^a / Gamma(a+1) */
  double u = log(x);
  for (int it = 0; it < 100; it++) {
    x = exp(u);
    double F = z < 0 ? cf_gamma_p(a, x) : cf_gamma_q(a, x);
    if (!(F > 0)) {
      u += z < 0 ? 1.0 : -1.0; /* far in the tail: walk back */
      continue;
    }
    /* d ln F / d ln x = +-x pdf / F */
    double slope = exp(log_prefactor(a, x)) / F * (z < 0 ? 1.0 : -1.0);
    double du = (ltarget - log(F)) / slope;
    if (du > 1.0) du = 1.0;
    if (du < -1.0) du = -1.0;
    u += du;
    if (fabs(du) < 1e-14) break;
  }
  return exp(u);
}

int cf_gamma_qtable_init(cf_ctx *ctx, cf_gamma_qtable *t, double a) {
  memset(t, 0, sizeof *t);
  t->a = a;
  t->dz = 1.0 / PER_UNIT;
  t->z0 = -CF_GAMMA_QZ_MAX;
  t->n = (int)(2 * CF_GAMMA_QZ_MAX * PER_UNIT) + 1 + 2;
  t->x = malloc((size_t)t->n * sizeof *t->x);
  if (!t->x) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory for a Gamma quantile table");
  for (int i = 0; i < t->n; i++) t->x[i] = cf_gamma_quantile_z(a, t->z0 + (i - 1) * t->dz) / a;
  return CF_OK;
}

void cf_gamma_qtable_free(cf_gamma_qtable *t) {
  free(t->x);
  memset(t, 0, sizeof *t);
}

double cf_gamma_qtable_at(const cf_gamma_qtable *t, double z) {
  double u = (z - t->z0) / t->dz + 1.0;
  if (u < 1.0) u = 1.0;
  if (u > t->n - 2.0) u = t->n - 2.0;
  int i = (int)u;
  if (i > t->n - 3) i = t->n - 3;
  double s = u - i;
  const double *p = t->x + i - 1;
  double v = p[1] + 0.5 * s * (p[2] - p[0] + s * (2 * p[0] - 5 * p[1] + 4 * p[2] - p[3] + s * (3 * (p[1] - p[2]) + p[3] - p[0])));
  return v * t->a;
}
