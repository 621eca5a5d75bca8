/* Per-pixel carbon pools from an AGB map; the chain, its sources and the
 * SE approximation are in pool_map.h. */
#include "sink/pool_map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* AR-TOOL14 exponent of AGB in BGB = exp(-1.085 + 0.9256 ln AGB): the
 * derivative of BGB is this times BGB / AGB. The function itself is
 * cf_root_shoot_ar_tool14 (sink/pools.c), the single copy of the formula. */
#define AR_TOOL14_EXPONENT 0.9256

/* BGB and its derivative in AGB: the one costly step (an exp and a log). */
static inline void root_part(const cf_pool_map_params *p, double a, double *bgb_out, double *dbgb_out) {
  double bgb, dbgb;
  if (p->root_shoot == CF_ROOT_SHOOT_AR_TOOL14) {
    bgb = a > 0.0 ? a * cf_root_shoot_ar_tool14(a) : 0.0;
    dbgb = a > 0.0 ? AR_TOOL14_EXPONENT * bgb / a : 0.0; /* a = 0: see pool_map.h */
  } else {
    bgb = a * p->root_shoot_ratio;
    dbgb = p->root_shoot_ratio;
  }
  *bgb_out = bgb, *dbgb_out = dbgb;
}

/* The pools, their total and its derivative from AGB, BGB and dBGB/dAGB. */
static inline void pools_from(const cf_pool_map_params *p, double a, double bgb, double dbgb,
                              cf_pool_pixel_result *out) {
  const double cf = p->carbon_fraction, fd = p->deadwood_fraction, fl = p->litter_fraction;
  double c_agb = cf * a, c_bgb = cf * bgb, c_tree = c_agb + c_bgb;
  out->pool[CF_POOL_AGB] = c_agb;
  out->pool[CF_POOL_BGB] = c_bgb;
  out->pool[CF_POOL_DEADWOOD] = fd * c_tree;
  out->pool[CF_POOL_LITTER] = fl * c_tree;
  out->pool[CF_POOL_SOC] = p->soc_t_c_per_ha;
  double total = 0.0, d = 0.0;
  for (int k = 0; k < CF_POOL_COUNT; k++)
    if (p->pools & CF_POOL_BIT(k)) total += out->pool[k]; /* fixed order: pool id */
  if (p->pools & CF_POOL_BIT(CF_POOL_AGB)) d += cf;
  if (p->pools & CF_POOL_BIT(CF_POOL_BGB)) d += cf * dbgb;
  double fsum = ((p->pools & CF_POOL_BIT(CF_POOL_DEADWOOD)) ? fd : 0.0) +
                ((p->pools & CF_POOL_BIT(CF_POOL_LITTER)) ? fl : 0.0);
  d += fsum * cf * (1.0 + dbgb);
  out->total = total;
  out->dtotal_dagb = d;
}

int cf_pool_pixel(const cf_pool_map_params *p, double a, cf_pool_pixel_result *out) {
  if (!isfinite(a) || a < 0.0) return -1;
  double bgb, dbgb;
  root_part(p, a, &bgb, &dbgb);
  pools_from(p, a, bgb, dbgb, out);
  return 0;
}

int cf_pool_map_params_check(cf_ctx *ctx, const cf_pool_map_params *p, const char *where) {
  if (!(p->carbon_fraction > 0.0 && p->carbon_fraction <= 1.0))
    return cf_error(ctx, CF_EINVAL, where, "carbon_fraction", "must be in (0, 1], got %g", p->carbon_fraction);
  if (p->root_shoot != CF_ROOT_SHOOT_AR_TOOL14 && p->root_shoot != CF_ROOT_SHOOT_FIXED)
    return cf_error(ctx, CF_EINVAL, where, "root_shoot", "a map takes ar-tool14 or a fixed ratio");
  if (p->root_shoot == CF_ROOT_SHOOT_FIXED && !(isfinite(p->root_shoot_ratio) && p->root_shoot_ratio >= 0.0))
    return cf_error(ctx, CF_EINVAL, where, "root_shoot", "ratio must be finite and >= 0, got %g",
                    p->root_shoot_ratio);
  if (!(p->deadwood_fraction >= 0.0 && p->deadwood_fraction <= 1.0))
    return cf_error(ctx, CF_EINVAL, where, "deadwood_fraction", "must be in [0, 1], got %g", p->deadwood_fraction);
  if (!(p->litter_fraction >= 0.0 && p->litter_fraction <= 1.0))
    return cf_error(ctx, CF_EINVAL, where, "litter_fraction", "must be in [0, 1], got %g", p->litter_fraction);
  if ((p->pools & CF_POOL_BIT(CF_POOL_SOC)) && !(isfinite(p->soc_t_c_per_ha) && p->soc_t_c_per_ha >= 0.0))
    return cf_error(ctx, CF_EINVAL, where, "soc", "must be finite and >= 0 t C/ha, got %g", p->soc_t_c_per_ha);
  if (!(p->pools & ((1u << CF_POOL_COUNT) - 1)) || (p->pools >> CF_POOL_COUNT))
    return cf_error(ctx, CF_EINVAL, where, "pools", "at least one of agb, bgb, deadwood, litter, soc");
  return CF_OK;
}

typedef struct {
  cf_pool_map_params p;
  int agb_band, se_band;
  int nout;                  /* estimated pools */
  cf_raster *owned;          /* input destroyed with the node (cf_pool_map_own_input) */
  int pool_of[CF_POOL_COUNT];/* output band k -> pool id */
} pool_impl;

static const char *const WHERE = "pool_map";

/* The map runs cf_pool_pixel's two steps (root_part, pools_from: the same
 * code, so the same bits) over a chunk of pixels each, the exp and log of
 * every pixel first, then the arithmetic, inlined, not a call per pixel. A
 * pixel not valid computes on a stand-in AGB of 0 and is masked. */
#define POOL_CHUNK 256

static void pool_chunk(const pool_impl *m, const double *a, const uint8_t *va, const double *se, const uint8_t *vs,
                       size_t n, double *const *band, uint8_t *const *valid, int nb) {
  double ac[POOL_CHUNK], bgb[POOL_CHUNK], dbgb[POOL_CHUNK];
  uint8_t good[POOL_CHUNK];
  for (size_t i = 0; i < n; i++) {
    int g = va[i] && (!vs || (vs[i] && isfinite(se[i]) && se[i] >= 0.0)) && isfinite(a[i]) && a[i] >= 0.0;
    good[i] = (uint8_t)g;
    ac[i] = g ? a[i] : 0.0;
  }
  for (size_t i = 0; i < n; i++) root_part(&m->p, ac[i], &bgb[i], &dbgb[i]);
  const int nout = m->nout;
  for (size_t i = 0; i < n; i++) {
    cf_pool_pixel_result px;
    pools_from(&m->p, ac[i], bgb[i], dbgb[i], &px);
    int g = good[i];
    for (int k = 0; k < nout; k++) band[k][i] = g ? px.pool[m->pool_of[k]] : NAN;
    band[nout][i] = g ? px.total : NAN;
    if (se) band[nout + 1][i] = g ? fabs(px.dtotal_dagb) * se[i] : NAN;
  }
  for (int b = 0; b < nb; b++) memcpy(valid[b], good, n);
}

static int pool_read(cf_raster *r, int thread, const cf_window *w, cf_block *out, cf_worker_status *st) {
  const pool_impl *m = r->impl;
  cf_block *in;
  int rc = cf_raster_read_input(r, 0, thread, w, &in, st);
  if (rc) return rc;
  size_t n = (size_t)w->nx * w->ny;
  const double *a = cf_block_band(in, m->agb_band);
  const uint8_t *va = cf_block_valid(in, m->agb_band);
  const double *se = m->se_band >= 0 ? cf_block_band(in, m->se_band) : NULL;
  const uint8_t *vs = m->se_band >= 0 ? cf_block_valid(in, m->se_band) : NULL;
  const int nb = r->nbands;
  double *band[CF_POOL_COUNT + 2];
  uint8_t *valid[CF_POOL_COUNT + 2];
  for (size_t i0 = 0; i0 < n; i0 += POOL_CHUNK) {
    size_t c = n - i0 < POOL_CHUNK ? n - i0 : POOL_CHUNK;
    for (int b = 0; b < nb; b++) band[b] = cf_block_band(out, b) + i0, valid[b] = cf_block_valid(out, b) + i0;
    pool_chunk(m, a + i0, va + i0, se ? se + i0 : NULL, vs ? vs + i0 : NULL, c, band, valid, nb);
  }
  return CF_OK;
}

static void pool_destroy(cf_raster *r) {
  pool_impl *m = r->impl;
  if (m) cf_raster_destroy(m->owned);
  free(m);
}

void cf_pool_map_own_input(cf_raster *r) {
  if (cf_pool_map_params_of(r)) ((pool_impl *)r->impl)->owned = r->inputs[0];
}

static const cf_raster_ops pool_ops = {"pool_map", pool_read, pool_destroy};

const cf_pool_map_params *cf_pool_map_params_of(const cf_raster *r) {
  return r && r->ops == &pool_ops ? &((const pool_impl *)r->impl)->p : NULL;
}

cf_raster *cf_pool_map_create(cf_ctx *ctx, cf_raster *agb, int agb_band, int se_band, const cf_pool_map_params *p) {
  if (cf_pool_map_params_check(ctx, p, WHERE)) return NULL;
  if (agb_band < 0 || agb_band >= agb->nbands || se_band >= agb->nbands) {
    cf_error(ctx, CF_EINVAL, WHERE, "band", "the AGB input has %d band(s); AGB band %d, SE band %d asked",
             agb->nbands, agb_band + 1, se_band + 1);
    return NULL;
  }
  pool_impl *m = calloc(1, sizeof *m);
  if (!m) {
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    return NULL;
  }
  m->p = *p;
  m->agb_band = agb_band;
  m->se_band = se_band;
  for (int k = 0; k < CF_POOL_COUNT; k++)
    if (p->pools & CF_POOL_BIT(k)) m->pool_of[m->nout++] = k;
  int nb = m->nout + 1 + (se_band >= 0);
  cf_raster *r = cf_raster_alloc(ctx, &pool_ops, nb, agb->nthreads);
  if (!r) {
    free(m);
    return NULL;
  }
  r->impl = m;
  r->inputs = malloc(sizeof *r->inputs);
  int bad = !r->inputs || cf_grid_copy(ctx, &r->grid, &agb->grid);
  for (int k = 0; !bad && k < m->nout; k++) bad = cf_raster_set_band_name(r, k, cf_pool_name((cf_pool_id)m->pool_of[k]));
  if (!bad) bad = cf_raster_set_band_name(r, m->nout, "total");
  if (!bad && se_band >= 0) bad = cf_raster_set_band_name(r, m->nout + 1, "total_se");
  if (bad) {
    cf_raster_destroy(r);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    return NULL;
  }
  r->inputs[0] = agb;
  r->ninputs = 1;
  r->block_w = agb->block_w;
  r->block_h = agb->block_h;
  return r;
}
