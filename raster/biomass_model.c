/* AGB models: fit, prediction, cross-validation, map node; the method and
 * its sources are in biomass_model.h. */
#include "raster/biomass_model.h"

#include <lapacke.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define LD CF_BIOMASS_MAX_COEF

/* A column whose R diagonal is below this fraction of the column's own
 * norm is (numerically) a combination of the columns before it: its
 * coefficient would be noise amplified by 1/|R_jj|. 1e-10 leaves ~6 digits
 * in double precision, and is far from any real feature set (CHM and its
 * percentiles are strongly but never that tightly correlated). */
#define COLLINEAR_TOL 1e-10

static const char *kind_name(cf_biomass_kind k) { return k == CF_BIOMASS_LOGLOG ? "log-log" : "linear"; }

/* Design row of a point: z[0] = 1, z[j+1] = x_j or ln x_j. -1 outside the
 * domain (non-finite, or x <= 0 for log-log). */
static int design_row(cf_biomass_kind kind, int p, const double *x, double *z) {
  z[0] = 1.0;
  for (int j = 0; j < p; j++) {
    if (!isfinite(x[j])) return -1;
    if (kind == CF_BIOMASS_LOGLOG) {
      if (!(x[j] > 0)) return -1;
      z[j + 1] = log(x[j]);
    } else {
      z[j + 1] = x[j];
    }
  }
  return 0;
}

/* |R^-T z|^2 by forward substitution on the transposed upper triangle. */
static double leverage(const cf_biomass_model *m, const double *z) {
  int q = m->p + 1;
  double w[LD], h = 0.0;
  for (int i = 0; i < q; i++) {
    double v = z[i];
    for (int k = 0; k < i; k++) v -= m->R[k + (size_t)i * LD] * w[k];
    w[i] = v / m->R[i + (size_t)i * LD];
    h += w[i] * w[i];
  }
  return h;
}

static int check_points(cf_ctx *ctx, cf_biomass_kind kind, int n, int p, const double *x, const double *y) {
  if (kind != CF_BIOMASS_LOGLOG && kind != CF_BIOMASS_LINEAR)
    return cf_error(ctx, CF_EINVAL, "", "kind", "unknown biomass model kind %d", (int)kind);
  if (p < 1 || p > CF_BIOMASS_MAX_FEATURES)
    return cf_error(ctx, CF_EINVAL, "", "features", "need 1 to %d features, got %d", CF_BIOMASS_MAX_FEATURES, p);
  if (n < p + 2)
    return cf_error(ctx, CF_EINVAL, "", "points",
                    "%d training points for %d parameters: need at least %d (one more than the parameters, "
                    "so that the residual variance is estimable)",
                    n, p + 1, p + 2);
  if (!x || !y) return cf_error(ctx, CF_EINVAL, "", "points", "no training data given");
  for (int i = 0; i < n; i++) {
    if (!isfinite(y[i])) return cf_error(ctx, CF_EDATA, "", "y", "point %d: AGB is not finite (%g)", i, y[i]);
    if (kind == CF_BIOMASS_LOGLOG && !(y[i] > 0))
      return cf_error(ctx, CF_EDATA, "", "y",
                      "point %d: AGB %g <= 0 cannot enter a log-log model (fit a linear model, or drop "
                      "zero-biomass points)",
                      i, y[i]);
    for (int j = 0; j < p; j++) {
      double v = x[(size_t)i * p + j];
      if (!isfinite(v)) return cf_error(ctx, CF_EDATA, "", "x", "point %d, feature %d: not finite (%g)", i, j, v);
      if (kind == CF_BIOMASS_LOGLOG && !(v > 0))
        return cf_error(ctx, CF_EDATA, "", "x", "point %d, feature %d: value %g <= 0 cannot enter a log-log model",
                        i, j, v);
    }
  }
  return CF_OK;
}

int cf_biomass_fit(cf_ctx *ctx, cf_biomass_kind kind, int n, int p, const double *x, const double *y,
                   cf_biomass_model *m) {
  int rc = check_points(ctx, kind, n, p, x, y);
  if (rc) return rc;
  int q = p + 1;
  memset(m, 0, sizeof *m);
  /* A is overwritten by the factorisation; X keeps the design for residuals */
  double *A = malloc((size_t)n * q * sizeof *A), *X = malloc((size_t)n * q * sizeof *X),
         *b = malloc((size_t)n * sizeof *b), *t = malloc((size_t)n * sizeof *t);
  if (!A || !X || !b || !t) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory for a %d x %d design matrix", n, q);
    goto done;
  }
  double z[LD];
  for (int i = 0; i < n; i++) {
    design_row(kind, p, x + (size_t)i * p, z); /* domain checked above */
    for (int j = 0; j < q; j++) X[i + (size_t)j * n] = z[j];
    t[i] = b[i] = kind == CF_BIOMASS_LOGLOG ? log(y[i]) : y[i];
  }
  memcpy(A, X, (size_t)n * q * sizeof *A);
  lapack_int info = LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', n, q, 1, A, n, b, n);
  if (info < 0) {
    rc = cf_error(ctx, CF_EINTERNAL, "", "", "LAPACKE_dgels: argument %d invalid", (int)-info);
    goto done;
  }
  for (int j = 0; j < q; j++) {
    double norm = 0.0;
    for (int i = 0; i < n; i++) norm += X[i + (size_t)j * n] * X[i + (size_t)j * n];
    norm = sqrt(norm);
    if (info > 0 || !(fabs(A[j + (size_t)j * n]) > COLLINEAR_TOL * norm)) {
      rc = j ? cf_error(ctx, CF_EDATA, "", "x",
                        "feature %d is (nearly) a linear combination of the intercept and the features "
                        "before it: its coefficient cannot be estimated",
                        j - 1)
             : cf_error(ctx, CF_EDATA, "", "intercept", "the intercept column is degenerate");
      goto done;
    }
  }
  m->kind = kind;
  m->p = p;
  m->n = n;
  m->df = n - q;
  for (int j = 0; j < q; j++) {
    m->coef[j] = b[j];
    for (int i = 0; i <= j; i++) m->R[i + (size_t)j * LD] = A[i + (size_t)j * n];
  }
  /* residuals from the original design, in point order */
  double rss = 0.0, mean = 0.0, sst = 0.0;
  for (int i = 0; i < n; i++) mean += t[i];
  mean /= n;
  for (int i = 0; i < n; i++) {
    double fit = 0.0;
    for (int j = 0; j < q; j++) fit += X[i + (size_t)j * n] * m->coef[j];
    rss += (t[i] - fit) * (t[i] - fit);
    sst += (t[i] - mean) * (t[i] - mean);
  }
  m->s = sqrt(rss / m->df);
  m->r2 = sst > 0 ? 1.0 - rss / sst : NAN;
  for (int j = 0; j < q; j++) {
    double e[LD] = {0};
    e[j] = 1.0;
    m->coef_se[j] = m->s * sqrt(leverage(m, e));
  }
done:
  free(A);
  free(X);
  free(b);
  free(t);
  return rc;
}

/* The linear predictor mu = z . coef and the leverage h of one pixel's
 * features; -1 outside the model's domain. Shared by cf_biomass_predict
 * and the map (map_read), so a map pixel is the prediction bit for bit. */
static int predictor(const cf_biomass_model *m, const double *x0, double *mu, double *h) {
  double z[LD];
  if (design_row(m->kind, m->p, x0, z)) return -1;
  double sum = 0.0;
  for (int j = 0; j <= m->p; j++) sum += m->coef[j] * z[j];
  *mu = sum;
  *h = leverage(m, z);
  return 0;
}

/* The prediction and its prediction SE from mu and h (see the header). */
static void value_and_se(const cf_biomass_model *m, double mu, double h, double *value, double *se_pred) {
  double s2 = m->s * m->s;
  if (m->kind == CF_BIOMASS_LINEAR) {
    *value = mu;
    *se_pred = m->s * sqrt(1.0 + h);
  } else {
    *value = exp(mu) * exp(0.5 * s2);
    *se_pred = *value * sqrt(expm1(s2) + s2 * h);
  }
}

int cf_biomass_predict(const cf_biomass_model *m, const double *x0, cf_biomass_pred *out) {
  out->value = out->se_pred = out->se_mean = out->median = out->se_log = out->h0 = NAN;
  double mu, h;
  if (predictor(m, x0, &mu, &h)) return -1;
  value_and_se(m, mu, h, &out->value, &out->se_pred);
  if (m->kind == CF_BIOMASS_LINEAR) {
    out->median = mu;
    out->se_mean = m->s * sqrt(h);
  } else {
    out->median = exp(mu);
    out->se_mean = out->value * m->s * sqrt(h);
    out->se_log = m->s * sqrt(1.0 + h);
  }
  out->h0 = h;
  if (!isfinite(out->value) || !isfinite(out->se_pred)) {
    out->value = out->se_pred = out->se_mean = out->median = out->se_log = out->h0 = NAN;
    return -1;
  }
  return 0;
}

void cf_biomass_folds(int n, int k, uint64_t seed, int *fold) {
  /* balanced labels 0,1,..,k-1,0,1,.. shuffled by Fisher-Yates: every
   * assignment with these fold sizes is equally likely */
  cf_rng r;
  cf_rng_seed(&r, seed, 0);
  for (int i = 0; i < n; i++) fold[i] = i % k;
  for (int i = n - 1; i > 0; i--) {
    /* modulo bias < (i+1)/2^64: negligible */
    int j = (int)(cf_rng_next(&r) % (uint64_t)(i + 1));
    int tmp = fold[i];
    fold[i] = fold[j];
    fold[j] = tmp;
  }
}

int cf_biomass_cv_run(cf_ctx *ctx, cf_biomass_kind kind, int n, int p, const double *x, const double *y, int k,
                      uint64_t seed, cf_biomass_cv *out, double *pred) {
  int rc = check_points(ctx, kind, n, p, x, y);
  if (rc) return rc;
  if (k < 2 || k > n) return cf_error(ctx, CF_EINVAL, "", "folds", "need 2 <= k <= n = %d folds, got %d", n, k);
  int largest = (n + k - 1) / k; /* the smallest training set leaves this many out */
  if (n - largest < p + 2)
    return cf_error(ctx, CF_EINVAL, "", "folds",
                    "%d folds of %d points leave %d training points, fewer than the %d a %d-feature fit needs", k,
                    n, n - largest, p + 2, p);
  int *fold = malloc((size_t)n * sizeof *fold);
  double *tx = malloc((size_t)n * p * sizeof *tx), *ty = malloc((size_t)n * sizeof *ty);
  double *own = pred ? NULL : malloc((size_t)n * sizeof *own), *yp = pred ? pred : own;
  if (!fold || !tx || !ty || !yp) {
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory for cross-validation of %d points", n);
    goto done;
  }
  cf_biomass_folds(n, k, seed, fold);
  for (int f = 0; f < k && !rc; f++) {
    int nt = 0;
    for (int i = 0; i < n; i++)
      if (fold[i] != f) {
        memcpy(tx + (size_t)nt * p, x + (size_t)i * p, (size_t)p * sizeof *tx);
        ty[nt++] = y[i];
      }
    cf_biomass_model m;
    if ((rc = cf_biomass_fit(ctx, kind, nt, p, tx, ty, &m))) {
      cf_error(ctx, rc, "", "folds", "cross-validation fold %d of %d (%d training points) cannot be fitted", f + 1,
               k, nt);
      break;
    }
    for (int i = 0; i < n; i++)
      if (fold[i] == f) {
        cf_biomass_pred pr;
        cf_biomass_predict(&m, x + (size_t)i * p, &pr); /* in the domain: checked above */
        yp[i] = pr.value;
      }
  }
  if (!rc) {
    /* sums in point order: independent of the fold order */
    double mean = 0.0, sse = 0.0, sst = 0.0, bias = 0.0;
    for (int i = 0; i < n; i++) mean += y[i];
    mean /= n;
    for (int i = 0; i < n; i++) {
      double e = yp[i] - y[i];
      bias += e;
      sse += e * e;
      sst += (y[i] - mean) * (y[i] - mean);
    }
    out->n = n;
    out->k = k;
    out->rmse = sqrt(sse / n);
    out->bias = bias / n;
    out->r2 = sst > 0 ? 1.0 - sse / sst : NAN;
  }
done:
  free(fold);
  free(tx);
  free(ty);
  free(own);
  return rc;
}

/* --- the map node ---------------------------------------------------------- */

typedef struct {
  cf_biomass_model m;
  int bands[CF_BIOMASS_MAX_FEATURES];
} map_impl;

/* The map evaluates cf_biomass_predict's value and SE in chunks of pixels,
 * one step of the formula over the whole chunk at a time (design column by
 * column, the sum term by term, the forward substitution row by row): each
 * pixel sees the very operations of `predictor` and `value_and_se` in the
 * same order, so the bits are the same, but the loops run over pixels, which
 * the compiler vectorises (a per-pixel loop over 3 coefficients cannot be,
 * and its 2-wide attempt at it stalled on store forwarding). A pixel
 * outside the domain computes on a stand-in 1.0 and is masked at the end. */
#define MAP_CHUNK 256

static void map_chunk(const cf_biomass_model *m, const double *const *v, const uint8_t *const *ok, size_t n,
                      double *agb, double *se, uint8_t *va, uint8_t *vs) {
  const int p = m->p, q = p + 1, loglog = m->kind == CF_BIOMASS_LOGLOG;
  double z[LD][MAP_CHUNK], w[LD][MAP_CHUNK], mu[MAP_CHUNK], h[MAP_CHUNK];
  uint8_t good[MAP_CHUNK];
  for (size_t i = 0; i < n; i++) good[i] = 1, z[0][i] = 1.0;
  for (int j = 0; j < p; j++) { /* design_row */
    const double *x = v[j];
    const uint8_t *o = ok[j];
    double *zj = z[j + 1];
    for (size_t i = 0; i < n; i++) {
      int in = o[i] && isfinite(x[i]) && (!loglog || x[i] > 0);
      good[i] &= (uint8_t)in;
      zj[i] = in ? x[i] : 1.0;
    }
    if (loglog)
      for (size_t i = 0; i < n; i++) zj[i] = log(zj[i]);
  }
  for (size_t i = 0; i < n; i++) mu[i] = 0.0, h[i] = 0.0;
  for (int j = 0; j < q; j++) { /* predictor: sum += coef[j] z[j] */
    const double c = m->coef[j];
    for (size_t i = 0; i < n; i++) mu[i] += c * z[j][i];
  }
  for (int r = 0; r < q; r++) { /* leverage */
    double *wr = w[r];
    for (size_t i = 0; i < n; i++) wr[i] = z[r][i];
    for (int k = 0; k < r; k++) {
      const double rk = m->R[k + (size_t)r * LD];
      for (size_t i = 0; i < n; i++) wr[i] -= rk * w[k][i];
    }
    const double rr = m->R[r + (size_t)r * LD];
    for (size_t i = 0; i < n; i++) {
      wr[i] = wr[i] / rr;
      h[i] += wr[i] * wr[i];
    }
  }
  const double s = m->s, s2 = m->s * m->s;
  if (!loglog) { /* value_and_se */
    for (size_t i = 0; i < n; i++) agb[i] = mu[i], se[i] = s * sqrt(1.0 + h[i]);
  } else {
    const double bias = exp(0.5 * s2), e1 = expm1(s2);
    for (size_t i = 0; i < n; i++) {
      agb[i] = exp(mu[i]) * bias;
      se[i] = agb[i] * sqrt(e1 + s2 * h[i]);
    }
  }
  for (size_t i = 0; i < n; i++) {
    int g = good[i] && isfinite(agb[i]) && isfinite(se[i]);
    agb[i] = g ? agb[i] : NAN;
    se[i] = g ? se[i] : NAN;
    va[i] = vs[i] = (uint8_t)g;
  }
}

static int map_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  const map_impl *mi = r->impl;
  int p = mi->m.p;
  const double *v[CF_BIOMASS_MAX_FEATURES];
  const uint8_t *ok[CF_BIOMASS_MAX_FEATURES];
  /* each input lands in its own block of this node (cf_raster_read_input:
   * one block per edge and thread), so all p stay valid together, also
   * when one raster is given twice */
  for (int j = 0; j < p; j++) {
    cf_block *in;
    int rc = cf_raster_read_input(r, j, thread, w, &in, st);
    if (rc) return rc;
    v[j] = cf_block_band(in, mi->bands[j]);
    ok[j] = cf_block_valid(in, mi->bands[j]);
  }
  size_t n = (size_t)w->nx * w->ny;
  double *agb = cf_block_band(out, 0), *se = cf_block_band(out, 1);
  uint8_t *va = cf_block_valid(out, 0), *vs = cf_block_valid(out, 1);
  for (size_t i0 = 0; i0 < n; i0 += MAP_CHUNK) {
    size_t c = n - i0 < MAP_CHUNK ? n - i0 : MAP_CHUNK;
    const double *vc[CF_BIOMASS_MAX_FEATURES];
    const uint8_t *okc[CF_BIOMASS_MAX_FEATURES];
    for (int j = 0; j < p; j++) vc[j] = v[j] + i0, okc[j] = ok[j] + i0;
    map_chunk(&mi->m, vc, okc, c, agb + i0, se + i0, va + i0, vs + i0);
  }
  return CF_OK;
}

static void map_destroy(cf_raster *r) { free(r->impl); }

static const cf_raster_ops map_ops = {"biomass_map", map_read, map_destroy};

/* Same CRS: both absent, equal text, or equal to OSR (one WKT may spell
 * the same CRS differently, e.g. with or without an AUTHORITY node). */
static int same_crs(const char *a, const char *b) {
  int ea = !a || !*a, eb = !b || !*b;
  if (ea || eb) return ea && eb;
  if (!strcmp(a, b)) return 1;
  OGRSpatialReferenceH sa = OSRNewSpatialReference(a), sb = OSRNewSpatialReference(b);
  int same = sa && sb && OSRIsSame(sa, sb);
  if (sa) OSRDestroySpatialReference(sa);
  if (sb) OSRDestroySpatialReference(sb);
  return same;
}

/* Same size and geotransform (the CRS is compared apart, to say which); origins may differ by rounding only (1e-9
 * of a pixel), since the grids come from the same warp spec. */
static int same_grid(const cf_grid *a, const cf_grid *b) {
  if (a->width != b->width || a->height != b->height) return 0;
  double tol = 1e-9 * fmax(fabs(a->gt[1]), fabs(a->gt[5]));
  for (int k = 0; k < 6; k++)
    if (!(fabs(a->gt[k] - b->gt[k]) <= tol)) return 0;
  return 1;
}

cf_raster *cf_biomass_map_create(cf_ctx *ctx, const cf_biomass_model *m, cf_raster *const *features,
                                 const int *bands) {
  if (!m || m->p < 1 || m->p > CF_BIOMASS_MAX_FEATURES || m->df < 1) {
    cf_error(ctx, CF_EINVAL, "", "model", "not a fitted biomass model");
    return NULL;
  }
  int p = m->p, nthreads = 0;
  for (int j = 0; j < p; j++) {
    if (!features || !features[j] || !bands) {
      cf_error(ctx, CF_EINVAL, "", "features", "feature %d: no raster given (the %s model has %d features)", j,
               kind_name(m->kind), p);
      return NULL;
    }
    if (bands[j] < 0 || bands[j] >= features[j]->nbands) {
      cf_error(ctx, CF_EINVAL, "", "features", "feature %d: band %d does not exist (the raster has %d)", j,
               bands[j] + 1, features[j]->nbands);
      return NULL;
    }
    const cf_grid *a = &features[0]->grid, *b = &features[j]->grid;
    if (!same_grid(a, b)) {
      cf_error(ctx, CF_EINVAL, "", "features",
               "feature %d is on another grid than feature 0 (%dx%d px at %.10g, %.10g, pixel %.10g x %.10g, "
               "vs %dx%d px at %.10g, %.10g, pixel %.10g x %.10g): warp the features onto one project grid "
               "first (raster.warp)",
               j, b->width, b->height, b->gt[0], b->gt[3], b->gt[1], b->gt[5], a->width, a->height, a->gt[0],
               a->gt[3], a->gt[1], a->gt[5]);
      return NULL;
    }
    if (!same_crs(a->wkt, b->wkt)) {
      cf_error(ctx, CF_EINVAL, "", "features",
               "feature %d is on another grid than feature 0: same pixels, another CRS; warp the features onto "
               "one project grid first (raster.warp)",
               j);
      return NULL;
    }
    if (!j || features[j]->nthreads < nthreads) nthreads = features[j]->nthreads;
  }
  cf_raster *r = cf_raster_alloc(ctx, &map_ops, 2, nthreads);
  if (!r) return NULL;
  map_impl *mi = calloc(1, sizeof *mi);
  r->inputs = malloc((size_t)p * sizeof *r->inputs);
  r->impl = mi;
  if (!mi || !r->inputs || cf_grid_copy(ctx, &r->grid, &features[0]->grid) || cf_raster_set_band_name(r, 0, "agb") ||
      cf_raster_set_band_name(r, 1, "agb_se")) {
    cf_raster_destroy(r);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    return NULL;
  }
  mi->m = *m;
  for (int j = 0; j < p; j++) {
    mi->bands[j] = bands[j];
    r->inputs[j] = features[j];
  }
  r->ninputs = p;
  r->block_w = features[0]->block_w;
  r->block_h = features[0]->block_h;
  return r;
}
