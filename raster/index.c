/* Spectral index nodes; formulas and sources in index.h. */
#include "raster/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"ndvi", "evi", "savi"};

int cf_index_kind_parse(const char *name) {
  for (int i = 0; i < 3; i++)
    if (strcasecmp(name, kind_names[i]) == 0) return i;
  return -1;
}

const char *cf_index_kind_name(cf_index_kind k) { return kind_names[k]; }

/* MODIS EVI coefficients (Huete et al. 2002; MOD13 ATBD) and SAVI's L. */
#define EVI_G 2.5
#define EVI_C1 6.0
#define EVI_C2 7.5
#define EVI_L 1.0
#define SAVI_L 0.5

int cf_index_pixel(cf_index_kind k, double red, double nir, double blue, double *out) {
  double num = nir - red, den;
  switch (k) {
    case CF_INDEX_NDVI: den = nir + red; break;
    case CF_INDEX_EVI:
      num *= EVI_G;
      den = nir + EVI_C1 * red - EVI_C2 * blue + EVI_L;
      break;
    default:
      num *= 1.0 + SAVI_L;
      den = nir + red + SAVI_L;
      break;
  }
  if (den == 0.0) return -1;
  *out = num / den;
  return isfinite(*out) ? 0 : -1;
}

typedef struct {
  cf_index_spec spec;
} index_impl;

static int index_read(cf_raster *r, int thread, const cf_window *w, cf_block *out,
                      cf_worker_status *st) {
  const cf_index_spec *s = &((index_impl *)r->impl)->spec;
  cf_block *in;
  int rc = cf_raster_read_input(r, 0, thread, w, &in, st);
  if (rc) return rc;
  size_t n = (size_t)w->nx * w->ny;
  const double *red = cf_block_band(in, s->red), *nir = cf_block_band(in, s->nir);
  const uint8_t *vr = cf_block_valid(in, s->red), *vn = cf_block_valid(in, s->nir);
  const double *blue = s->kind == CF_INDEX_EVI ? cf_block_band(in, s->blue) : NULL;
  const uint8_t *vb = s->kind == CF_INDEX_EVI ? cf_block_valid(in, s->blue) : NULL;
  double *o = out->data;
  uint8_t *ok = out->valid;
  for (size_t i = 0; i < n; i++) {
    double v;
    int good = vr[i] && vn[i] && (!vb || vb[i]) &&
               cf_index_pixel(s->kind, red[i] * s->scale + s->offset, nir[i] * s->scale + s->offset,
                              blue ? blue[i] * s->scale + s->offset : 0.0, &v) == 0;
    o[i] = good ? v : NAN;
    ok[i] = (uint8_t)good;
  }
  return CF_OK;
}

static void index_destroy(cf_raster *r) { free(r->impl); }

static const cf_raster_ops index_ops = {"index", index_read, index_destroy};

cf_raster *cf_index_create(cf_ctx *ctx, cf_raster *input, const cf_index_spec *spec) {
  cf_raster *r = cf_raster_alloc(ctx, &index_ops, 1, input->nthreads);
  if (!r) return NULL;
  index_impl *ii = calloc(1, sizeof *ii);
  r->inputs = malloc(sizeof *r->inputs);
  r->impl = ii;
  if (!ii || !r->inputs || cf_grid_copy(ctx, &r->grid, &input->grid) ||
      cf_raster_set_band_name(r, 0, cf_index_kind_name(spec->kind))) {
    cf_raster_destroy(r);
    cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    return NULL;
  }
  ii->spec = *spec;
  r->inputs[0] = input;
  r->ninputs = 1;
  r->block_w = input->block_w;
  r->block_h = input->block_h;
  return r;
}
