/* Student's t distribution; the method and its sources are in student_t.h. */
#include "sink/student_t.h"

#include <float.h>
#include <math.h>

#define CF_PI 3.14159265358979323846

/* ln Gamma(a + 1/2) - ln Gamma(a). Below 20 from lgamma (the difference of
 * two numbers of size a ln a loses ~1e-14 relative, fine there); above,
 * the asymptotic series 1/2 ln a - 1/(8a) + 1/(192 a^3) - 1/(640 a^5)
 * + 17/(14336 a^7), which avoids the cancellation for large a. */
static double lgamma_half_ratio(double a) {
  if (a < 20.0) return lgamma(a + 0.5) - lgamma(a);
  double r = 1.0 / a, r2 = r * r;
  return 0.5 * log(a) - r / 8.0 + r * r2 / 192.0 - r * r2 * r2 / 640.0 +
         17.0 * r * r2 * r2 * r2 / 14336.0;
}

/* ln B(a, b) */
static double lbeta(double a, double b) {
  if (b == 0.5 && a >= 20.0) return lgamma(0.5) - lgamma_half_ratio(a);
  if (a == 0.5 && b >= 20.0) return lgamma(0.5) - lgamma_half_ratio(b);
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* The continued fraction of I_x(a,b) x^-a (1-x)^-b B(a,b) a (DLMF 8.17.22):
 * 1/(1+ d1/(1+ d2/(1+ ...))) with
 *   d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),
 *   d_{2m}   =  m (b-m) x / ((a+2m-1)(a+2m)),
 * by the modified Lentz method. Converges quickly for x < (a+1)/(a+b+2). */
static double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < 10000; m++) {
    double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)); /* even step */
    d = 1.0 + num * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)); /* odd step */
    d = 1.0 + num * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1.0) < DBL_EPSILON) break;
  }
  return h;
}

/* I_x(a,b) and its complement 1 - I_x(a,b), each without cancellation;
 * y = 1 - x is passed in so the caller can form it exactly. */
static void beta_inc_pair(double a, double b, double x, double y, double *ix, double *iy) {
  if (x <= 0.0) {
    *ix = 0.0;
    *iy = 1.0;
    return;
  }
  if (y <= 0.0) {
    *ix = 1.0;
    *iy = 0.0;
    return;
  }
  double lpre = a * log(x) + b * log(y) - lbeta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    *ix = exp(lpre) * beta_fraction(a, b, x) / a;
    *iy = 1.0 - *ix;
  } else {
    *iy = exp(lpre) * beta_fraction(b, a, y) / b;
    *ix = 1.0 - *iy;
  }
}

double cf_beta_inc(double a, double b, double x) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0) || isinf(a) || isinf(b)) return NAN;
  double ix, iy;
  beta_inc_pair(a, b, x, 1.0 - x, &ix, &iy);
  return ix;
}

static int df_ok(double df) { return isfinite(df) && df >= 1.0; }

/* P(T > |t|) for t >= 0 */
static double upper_tail(double t, double df) {
  if (isinf(t)) return 0.0;
  double t2 = t * t, den = df + t2;
  double ix, iy;
  /* x = df/(df+t^2), 1-x = t^2/(df+t^2); Q = I_x(df/2, 1/2) / 2 */
  beta_inc_pair(0.5 * df, 0.5, df / den, t2 / den, &ix, &iy);
  return 0.5 * ix;
}

double cf_student_t_sf(double t, double df) {
  if (!df_ok(df) || isnan(t)) return NAN;
  return t >= 0.0 ? upper_tail(t, df) : 1.0 - upper_tail(-t, df);
}

double cf_student_t_cdf(double t, double df) {
  if (!df_ok(df) || isnan(t)) return NAN;
  return t >= 0.0 ? 1.0 - upper_tail(t, df) : upper_tail(-t, df);
}

/* density */
static double pdf(double t, double df) {
  double h = 0.5 * df;
  /* Gamma((df+1)/2) / (sqrt(df pi) Gamma(df/2)) (1 + t^2/df)^{-(df+1)/2} */
  double lc = lgamma_half_ratio(h) - 0.5 * log(df * CF_PI);
  return exp(lc - (h + 0.5) * log1p(t * t / df));
}

double cf_student_t_quantile(double p, double df) {
  if (!df_ok(df) || !(p > 0.0 && p < 1.0)) return NAN;
  if (p == 0.5) return 0.0;
  double q = p > 0.5 ? 1.0 - p : p; /* the tail probability to hit */
  double sign = p > 0.5 ? 1.0 : -1.0;
  /* bracket: upper_tail decreases from 1/2 at 0 to 0 at infinity */
  double lo = 0.0, hi = 1.0;
  while (upper_tail(hi, df) > q) {
    lo = hi;
    hi *= 2.0;
    if (isinf(hi)) return sign * INFINITY;
  }
  double t = 0.5 * (lo + hi);
  for (int it = 0; it < 500; it++) {
    double g = upper_tail(t, df) - q; /* decreasing in t */
    if (g > 0.0)
      lo = t;
    else if (g < 0.0)
      hi = t;
    else
      break;
    double tn = t + g / pdf(t, df); /* Newton: dQ/dt = -pdf */
    if (!(tn > lo && tn < hi)) tn = 0.5 * (lo + hi);
    double step = fabs(tn - t);
    t = tn;
    if (step <= 1e-15 * t || hi - lo <= 4.0 * DBL_EPSILON * hi) break;
  }
  return sign * t;
}

int cf_student_t_critical(cf_ctx *ctx, double confidence, double df, double *t) {
  static const char *WHERE = "student_t";
  if (!(confidence > 0.0 && confidence < 1.0))
    return cf_error(ctx, CF_EINVAL, WHERE, "confidence", "must be in (0, 1), got %g", confidence);
  if (!df_ok(df))
    return cf_error(ctx, CF_EINVAL, WHERE, "df",
                    "degrees of freedom must be finite and >= 1, got %g", df);
  *t = cf_student_t_quantile(0.5 * (1.0 + confidence), df);
  return CF_OK;
}
