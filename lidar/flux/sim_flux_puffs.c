/*
 * The transport of the flux truth simulator (sim_flux.h): a spatially
 * uniform wind whose direction meanders (Ornstein-Uhlenbeck), and the
 * puffs it carries from every (sub-)source. The wind is tabulated on a
 * 1 s grid with its integral, so a puff's centre at any time is its
 * source plus the displacement since its release: two lookups, whatever
 * the puff's age. Everything here is a pure function of the settings and
 * the sources, which is what lets the sweeps run in parallel on it.
 */
#include "lidar/flux/sim_flux_internal.h"

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"

#define PI CF_SIMFLUX_PI
#define D2R CF_SIMFLUX_D2R
#define CUT 6.0 /* puffs count within CUT sigma_h (exp(-18) ~ 1.5e-8 of the peak is left out) */
#define N_IMAGES 4

#define STREAM_OU UINT64_C(1) /* the meander's random stream (sim_flux.c has the others) */

/* ------------------------------------------------------------------ wind */

static void ou_fill(const cf_simflux_config *c, double dt, int n, double *out) {
  cf_rng r;
  cf_rng_seed(&r, c->seed, STREAM_OU);
  double rho = exp(-dt / c->meander_tau), s = c->meander_sigma * sqrt(1.0 - rho * rho);
  double x = c->meander_sigma * cf_rng_normal(&r); /* stationary start */
  for (int k = 0; k < n; k++) {
    if (k) x = rho * x + s * cf_rng_normal(&r);
    out[k] = c->wind_from + x;
  }
}

int cf_simflux_direction_series(cf_ctx *ctx, const cf_simflux_config *c, double dt, int n, double *out) {
  if (!(dt > 0) || n < 1) return cf_error(ctx, CF_EINVAL, "simulate flux", "meander", "dt > 0 and n >= 1 needed");
  ou_fill(c, dt, n, out);
  return CF_OK;
}

/* ----------------------------------------------------------------- model */

typedef struct {
  double e, n, h, q_mol_s, sigma_h0;
} subsource;

struct cf_simflux_model {
  cf_simflux_config c;
  double t_start, dt; /* wind grid */
  int nt;
  double *u, *v, *de, *dn; /* [nt] wind and cumulative displacement */
  int nsub;
  subsource *sub;
  int nrel;   /* releases per sub-source over [t_start, t_end] */
  double *rel_de, *rel_dn; /* [nrel] displacement at each release time (shared by all sources) */
  double n_air;
};

void cf_simflux_model_free(cf_simflux_model *m) {
  if (!m) return;
  free(m->u), free(m->v), free(m->de), free(m->dn), free(m->sub), free(m->rel_de), free(m->rel_dn);
  free(m);
}

static int in_rings(const double *e, const double *n, const int *start, int nrings, double x, double y) {
  int in = 0;
  for (int r = 0; r < nrings; r++)
    for (int i = start[r], j = start[r + 1] - 1; i < start[r + 1]; j = i++)
      if (((n[i] > y) != (n[j] > y)) && x < (e[j] - e[i]) * (y - n[i]) / (n[j] - n[i]) + e[i]) in = !in;
  return in;
}

static int add_sub(cf_simflux_model *m, int *cap, subsource s) {
  if (m->nsub == *cap) {
    int nc = *cap ? 2 * *cap : 64;
    subsource *p = realloc(m->sub, (size_t)nc * sizeof *p);
    if (!p) return -1;
    m->sub = p, *cap = nc;
  }
  m->sub[m->nsub++] = s;
  return 0;
}

static int area_subsources(cf_ctx *ctx, cf_simflux_model *m, const cf_geo_site *site, const cf_flux_source *s,
                           int *cap) {
  const cf_polygon *p = &s->poly;
  int np = p->ring_start[p->nrings];
  double *lon = malloc((size_t)np * sizeof *lon), *lat = malloc((size_t)np * sizeof *lat);
  double *e = malloc((size_t)np * sizeof *e), *n = malloc((size_t)np * sizeof *n);
  int rc = CF_OK;
  if (!lon || !lat || !e || !n) {
    rc = cf_error(ctx, CF_ENOMEM, s->name, "geometry", "out of memory");
    goto done;
  }
  for (int i = 0; i < np; i++) lon[i] = p->xy[2 * i], lat[i] = p->xy[2 * i + 1];
  if ((rc = cf_geo_local_n(ctx, site, lon, lat, np, e, n))) goto done;
  double x0 = e[0], x1 = e[0], y0 = n[0], y1 = n[0];
  for (int i = 1; i < np; i++) {
    x0 = fmin(x0, e[i]), x1 = fmax(x1, e[i]);
    y0 = fmin(y0, n[i]), y1 = fmax(y1, n[i]);
  }
  double cell = m->c.area_cell;
  int first = m->nsub;
  for (double y = y0 + 0.5 * cell; y < y1; y += cell)
    for (double x = x0 + 0.5 * cell; x < x1; x += cell)
      if (in_rings(e, n, p->ring_start, p->nrings, x, y) &&
          add_sub(m, cap, (subsource){x, y, s->height_m, 0.0, fmax(m->c.sigma_h0, cell / sqrt(12.0))})) {
        rc = cf_error(ctx, CF_ENOMEM, s->name, "geometry", "out of memory");
        goto done;
      }
  int k = m->nsub - first;
  if (!k) { /* smaller than a cell: one sub-source at the centroid */
    double ce, cn;
    cf_geo_local(site, s->lon, s->lat, &ce, &cn);
    if (add_sub(m, cap, (subsource){ce, cn, s->height_m, 0.0, fmax(m->c.sigma_h0, sqrt(s->area_m2 / 12.0))})) {
      rc = cf_error(ctx, CF_ENOMEM, s->name, "geometry", "out of memory");
      goto done;
    }
    k = 1;
  }
  double q = s->prior_t_per_h / CF_SIMFLUX_T_PER_H_PER_MOL_S / k;
  for (int i = first; i < m->nsub; i++) m->sub[i].q_mol_s = q;
done:
  free(lon), free(lat), free(e), free(n);
  return rc;
}

static void interp(const cf_simflux_model *m, const double *a, double t, double *out) {
  double x = (t - m->t_start) / m->dt;
  if (x < 0) x = 0;
  int k = (int)x;
  if (k > m->nt - 2) k = m->nt - 2;
  double f = x - k;
  *out = a[k] + f * (a[k + 1] - a[k]);
}

int cf_simflux_model_create(cf_ctx *ctx, const cf_simflux_config *c, const cf_flux_sources *src, double t_end,
                            cf_simflux_model **out) {
  *out = NULL;
  cf_simflux_model *m = calloc(1, sizeof *m);
  if (!m) return cf_error(ctx, CF_ENOMEM, "simulate flux", "", "out of memory");
  m->c = *c;
  m->n_air = cf_simflux_n_air(c);
  m->t_start = c->t0 - c->spinup_s;
  m->dt = 1.0;
  m->nt = (int)ceil((t_end - m->t_start) / m->dt) + 3;
  int rc = CF_OK;
  m->u = malloc((size_t)m->nt * sizeof *m->u), m->v = malloc((size_t)m->nt * sizeof *m->v);
  m->de = malloc((size_t)m->nt * sizeof *m->de), m->dn = malloc((size_t)m->nt * sizeof *m->dn);
  if (!m->u || !m->v || !m->de || !m->dn) {
    cf_simflux_model_free(m);
    return cf_error(ctx, CF_ENOMEM, "simulate flux", "", "out of memory for %d wind steps", m->nt);
  }
  ou_fill(c, m->dt, m->nt, m->u); /* directions first, then turned into the wind */
  for (int k = 0; k < m->nt; k++) {
    double th = m->u[k] * D2R;
    m->u[k] = -c->wind_speed * sin(th), m->v[k] = -c->wind_speed * cos(th);
    m->de[k] = k ? m->de[k - 1] + 0.5 * m->dt * (m->u[k - 1] + m->u[k]) : 0.0;
    m->dn[k] = k ? m->dn[k - 1] + 0.5 * m->dt * (m->v[k - 1] + m->v[k]) : 0.0;
  }
  cf_geo_site site;
  if ((rc = cf_geo_site_init(ctx, c->lat, c->lon, c->alt, &site))) goto fail;
  int cap = 0;
  for (int i = 0; i < src->n; i++) {
    const cf_flux_source *s = &src->src[i];
    if (s->kind == CF_SOURCE_POINT) {
      double e, n;
      cf_geo_local(&site, s->lon, s->lat, &e, &n);
      if (add_sub(m, &cap, (subsource){e, n, s->height_m, s->prior_t_per_h / CF_SIMFLUX_T_PER_H_PER_MOL_S, c->sigma_h0})) {
        rc = cf_error(ctx, CF_ENOMEM, "simulate flux", "", "out of memory");
        goto fail;
      }
    } else if ((rc = area_subsources(ctx, m, &site, s, &cap))) {
      goto fail;
    }
  }
  m->nrel = (int)floor((t_end - m->t_start) / c->release_s) + 1;
  m->rel_de = malloc((size_t)m->nrel * sizeof *m->rel_de), m->rel_dn = malloc((size_t)m->nrel * sizeof *m->rel_dn);
  if (!m->rel_de || !m->rel_dn) {
    rc = cf_error(ctx, CF_ENOMEM, "simulate flux", "release_s", "out of memory for %d releases", m->nrel);
    goto fail;
  }
  for (int j = 0; j < m->nrel; j++) {
    interp(m, m->de, m->t_start + j * c->release_s, &m->rel_de[j]);
    interp(m, m->dn, m->t_start + j * c->release_s, &m->rel_dn[j]);
  }
  *out = m;
  return CF_OK;
fail:
  cf_simflux_model_free(m);
  return rc;
}

void cf_simflux_wind(const cf_simflux_model *m, double t, double *u, double *v) {
  interp(m, m->u, t, u);
  interp(m, m->v, t, v);
}

/* Vertical factor (m-1): reflections at 0 and zi; well mixed once sz > zi. */
static double vert(double z, double h, double sz, double zi) {
  if (z < 0 || z > zi) return 0.0;
  if (sz > zi) return 1.0 / zi;
  double s = 0;
  for (int k = -N_IMAGES; k <= N_IMAGES; k++) {
    double a = z - (h + 2 * k * zi), b = z - (-h + 2 * k * zi);
    if (fabs(a) < CUT * sz) s += exp(-0.5 * a * a / (sz * sz));
    if (fabs(b) < CUT * sz) s += exp(-0.5 * b * b / (sz * sz));
  }
  return s / (sqrt(2 * PI) * sz);
}

/* Puff j of sub-source s at time t: centre, widths and moles; 0 if not yet released. */
static int puff(const cf_simflux_model *m, const subsource *s, int j, double t, double de_t, double dn_t, double *pe,
                double *pn, double *sh, double *sz, double *mol) {
  double tr = m->t_start + j * m->c.release_s;
  double age = t - tr;
  if (age <= 0) return 0;
  *pe = s->e + de_t - m->rel_de[j], *pn = s->n + dn_t - m->rel_dn[j];
  *sh = sqrt(2 * m->c.k_h * age) + s->sigma_h0;
  *sz = sqrt(2 * m->c.k_z * age) + m->c.sigma_z0;
  *mol = s->q_mol_s * m->c.release_s;
  return 1;
}

double cf_simflux_excess_ppm(const cf_simflux_model *m, double t, double e, double n, double z) {
  double de_t, dn_t, sum = 0;
  interp(m, m->de, t, &de_t);
  interp(m, m->dn, t, &dn_t);
  for (int i = 0; i < m->nsub; i++)
    for (int j = 0; j < m->nrel; j++) {
      double pe, pn, sh, sz, mol;
      if (!puff(m, &m->sub[i], j, t, de_t, dn_t, &pe, &pn, &sh, &sz, &mol)) break;
      double r2 = (e - pe) * (e - pe) + (n - pn) * (n - pn);
      if (r2 > CUT * CUT * sh * sh) continue;
      sum += mol / (2 * PI * sh * sh) * exp(-0.5 * r2 / (sh * sh)) * vert(z, m->sub[i].h, sz, m->c.bl_height);
    }
  return 1e6 * sum / m->n_air;
}

void cf_simflux_ray_excess(const cf_simflux_model *m, double t, double az_deg, double el_deg, const double *range,
                           int ng, double *ex) {
  double sa = sin(az_deg * D2R), ca = cos(az_deg * D2R), ce = cos(el_deg * D2R);
  double de_t, dn_t;
  interp(m, m->de, t, &de_t);
  interp(m, m->dn, t, &dn_t);
  const cf_simflux_config *c = &m->c;
  for (int i = 0; i < m->nsub; i++)
    for (int j = 0; j < m->nrel; j++) {
      double pe, pn, sh, sz, mol;
      if (!puff(m, &m->sub[i], j, t, de_t, dn_t, &pe, &pn, &sh, &sz, &mol)) break;
      double along = pe * sa + pn * ca, perp = pe * ca - pn * sa;
      if (fabs(perp) > CUT * sh) continue;
      double rlo = (along - CUT * sh) / ce, rhi = (along + CUT * sh) / ce;
      int g0 = (int)floor((rlo - c->first_gate) / c->gate_length), g1 = (int)ceil((rhi - c->first_gate) / c->gate_length);
      if (g0 < 0) g0 = 0;
      if (g1 > ng - 1) g1 = ng - 1;
      double a = mol / (2 * PI * sh * sh);
      for (int g = g0; g <= g1; g++) {
        double h = range[g] * ce, dx = h - along, r2 = dx * dx + perp * perp;
        if (r2 > CUT * CUT * sh * sh) continue;
        double z = cf_geo_gate_height_agl(range[g], el_deg, c->instrument_height);
        ex[g] += a * exp(-0.5 * r2 / (sh * sh)) * vert(z, m->sub[i].h, sz, c->bl_height);
      }
    }
  for (int g = 0; g < ng; g++) ex[g] *= 1e6 / m->n_air;
}


const cf_simflux_config *cf_simflux_model_config(const cf_simflux_model *m) { return &m->c; }

int cf_simflux_model_subsources(const cf_simflux_model *m) { return m->nsub; }
