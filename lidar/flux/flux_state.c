/*
 * The state vector of the flux estimate (estimate.h): what it holds, its
 * prior, how a named source's rate is read from it, and the Jacobian row
 * of one observation.
 *
 * Layout, in this order (indices in cf_flux_state):
 *   cells    nx * ny grid cells, row 0 north, the flux of each in t CO2/h;
 *   points   one per point source, t CO2/h;
 *   sweeps   one background offset per sweep, ppm;
 *   grad     the background's gradient east and north, ppm/km;
 *   drift    the background's drift in time, ppm/h.
 * One offset per sweep and a global offset would be collinear, so there is
 * no global offset: the sweeps' offsets are it.
 *
 * Area sources live in the cells. A cell's weight in an area source is the
 * share of the cell inside the polygon (exact clipping, plume.h's
 * cf_plume_grid_polygon; holes subtract), so the source's rate is
 * w . x over its cells, assuming the flux uniform inside a cell. The prior
 * of a cell is the source's mean flux density over the whole cell
 * (prior / area * cell area), so that w . x_a is the source's prior even
 * for cells the polygon only partly covers, and its sigma is
 * sigma_S w_c / sqrt(sum w^4), so that w . x has the source's prior sigma
 * for independent cells; cells outside every source get the background
 * sigma cell_sigma_umol. A cell whose prior mean is an emission is kept
 * >= 0 (it is part of a source); sinks and unassigned cells are free.
 *
 * Priors of the background: each sweep's offset around the median of its
 * observations (a data-derived centre with a loose sigma, offset_sigma_ppm);
 * gradient and drift around 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/flux/estimate_internal.h"

double cf_flux_cell_t_h_to_umol(double t_h, double area_m2) {
  return t_h / CF_T_PER_H_PER_MOL_S / area_m2 * 1e6;
}

void cf_flux_state_free(cf_flux_state *st) {
  free(st->point_src);
  free(st->pe);
  free(st->pn);
  free(st->ph);
  free(st->x_a);
  free(st->sigma_a);
  free(st->nonneg);
  free(st->pos);
  free(st->w);
  free(st->vt);
  memset(st, 0, sizeof *st);
}

/* The overlap (m^2) of each grid cell with an area source, into ov[n_cells]
 * (added with `sign`). CF_EDATA if the polygon leaves the domain. */
static int rasterise_ring(cf_ctx *ctx, const cf_flux_sources *src, int k, const cf_flux_state *st, const double *ve,
                          const double *vn, int nv, double sign, double *ov) {
  int nc = 0;
  int rc = cf_plume_grid_polygon(ctx, ve, vn, nv, st->res, NULL, 0, &nc, NULL);
  if (rc) return rc;
  cf_plume_cell *cells = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *cells);
  if (!cells) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sources", "out of memory");
  rc = cf_plume_grid_polygon(ctx, ve, vn, nv, st->res, cells, nc, &nc, NULL);
  for (int i = 0; i < nc && !rc; i++) {
    int c = (int)floor((cells[i].e - st->west) / st->res), r = (int)floor((st->north - cells[i].n) / st->res);
    if (c < 0 || c >= st->nx || r < 0 || r >= st->ny)
      rc = cf_error(ctx, CF_EDATA, src->path, src->src[k].name,
                    "area source extends outside the estimation domain (a %g m square centred on the lidar, "
                    "setting domain_m): enlarge domain_m or clip the polygon",
                    st->nx * st->res);
    else
      ov[(size_t)r * st->nx + c] += sign * cells[i].area_m2;
  }
  free(cells);
  return rc;
}

/* Is (e, n) inside the ring (even-odd)? */
static int inside_ring(const double *ve, const double *vn, int nv, double e, double n) {
  int in = 0;
  for (int i = 0, j = nv - 1; i < nv; j = i++)
    if ((vn[i] > n) != (vn[j] > n) && e < (ve[j] - ve[i]) * (n - vn[i]) / (vn[j] - vn[i]) + ve[i]) in = !in;
  return in;
}

/* The cells' overlaps with area source k (holes subtract; a ring inside an
 * odd number of the others is a hole). */
static int area_overlaps(cf_ctx *ctx, const cf_flux_sources *src, int k, const cf_geo_site *site,
                         const cf_flux_state *st, double *ov) {
  const cf_polygon *p = &src->src[k].poly;
  int rc = CF_OK, max = 0;
  for (int r = 0; r < p->nrings; r++)
    if (p->ring_start[r + 1] - p->ring_start[r] > max) max = p->ring_start[r + 1] - p->ring_start[r];
  double *lon = malloc((size_t)max * 4 * sizeof *lon);
  if (!lon) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sources", "out of memory");
  double *lat = lon + max, *ve = lat + max, *vn = ve + max;
  for (int r = 0; r < p->nrings && !rc; r++) {
    int nv = p->ring_start[r + 1] - p->ring_start[r] - 1; /* rings are closed: drop the repeat */
    if (nv < 3) continue;
    for (int i = 0; i < nv; i++)
      lon[i] = p->xy[2 * (p->ring_start[r] + i)], lat[i] = p->xy[2 * (p->ring_start[r] + i) + 1];
    rc = cf_geo_local_n(ctx, site, lon, lat, nv, ve, vn);
    if (rc) break;
    /* hole or outer: the first vertex inside how many other rings */
    int depth = 0;
    for (int q = 0; q < p->nrings; q++) {
      if (q == r) continue;
      int mv = p->ring_start[q + 1] - p->ring_start[q] - 1;
      if (mv < 3) continue;
      double *qe = malloc((size_t)mv * 2 * sizeof *qe);
      double *qlon = malloc((size_t)mv * 2 * sizeof *qlon);
      if (!qe || !qlon) {
        free(qe), free(qlon);
        rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "sources", "out of memory");
        break;
      }
      for (int i = 0; i < mv; i++)
        qlon[i] = p->xy[2 * (p->ring_start[q] + i)], qlon[mv + i] = p->xy[2 * (p->ring_start[q] + i) + 1];
      rc = cf_geo_local_n(ctx, site, qlon, qlon + mv, mv, qe, qe + mv);
      if (!rc) depth += inside_ring(qe, qe + mv, mv, ve[0], vn[0]);
      free(qe), free(qlon);
      if (rc) break;
    }
    if (!rc) rc = rasterise_ring(ctx, src, k, st, ve, vn, nv, depth % 2 ? -1.0 : 1.0, ov);
    if (rc == CF_EINVAL) /* the gridder's complaint is about this feature's geometry */
      rc = cf_error(ctx, CF_EDATA, src->path, src->src[k].name, "ring %d of the area source cannot be gridded", r);
  }
  free(lon);
  return rc;
}

int cf_flux_state_build(cf_ctx *ctx, const cf_flux_sources *src, const cf_geo_site *site, const cf_flux_opts *o,
                        int n_sweeps, const double *sweep_median, double t_ref, cf_flux_state *st) {
  memset(st, 0, sizeof *st);
  st->res = o->grid_m;
  st->nx = st->ny = (int)lround(o->domain_m / o->grid_m);
  st->west = -0.5 * st->nx * st->res;
  st->north = 0.5 * st->ny * st->res;
  st->cell_area = st->res * st->res;
  st->n_cells = st->nx * st->ny;
  st->n_sources = src->n;
  for (int k = 0; k < src->n; k++) st->n_points += src->src[k].kind == CF_SOURCE_POINT;
  st->n_sweeps = n_sweeps;
  st->i_points = st->n_cells;
  st->i_sweeps = st->i_points + st->n_points;
  st->i_grad = st->i_sweeps + n_sweeps;
  st->i_drift = st->i_grad + 2;
  st->n = st->i_drift + 1;
  st->t_ref = t_ref;
  size_t n = (size_t)st->n;
  st->point_src = calloc((size_t)st->n_points + 1, sizeof *st->point_src);
  st->pe = calloc((size_t)st->n_points + 1, sizeof *st->pe);
  st->pn = calloc((size_t)st->n_points + 1, sizeof *st->pn);
  st->ph = calloc((size_t)st->n_points + 1, sizeof *st->ph);
  st->x_a = calloc(n, sizeof *st->x_a);
  st->sigma_a = calloc(n, sizeof *st->sigma_a);
  st->nonneg = calloc(n, 1);
  st->pos = calloc(2 * n, sizeof *st->pos);
  st->w = calloc((size_t)(src->n ? src->n : 1) * n, sizeof *st->w);
  double *ov = calloc((size_t)st->n_cells, sizeof *ov);
  double *var = calloc((size_t)st->n_cells, sizeof *var);
  if (!st->point_src || !st->pe || !st->pn || !st->ph || !st->x_a || !st->sigma_a || !st->nonneg || !st->pos ||
      !st->w || !ov || !var) {
    free(ov), free(var);
    cf_flux_state_free(st);
    return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "state", "out of memory for %zu elements", n);
  }
  int rc = CF_OK, ip = 0;
  double half = 0.5 * st->nx * st->res;
  for (int k = 0; k < src->n && !rc; k++) {
    const cf_flux_source *s = &src->src[k];
    double *w = st->w + (size_t)k * n;
    if (s->kind == CF_SOURCE_POINT) {
      double e, nn;
      cf_geo_local(site, s->lon, s->lat, &e, &nn);
      if (!(fabs(e) < half && fabs(nn) < half)) {
        rc = cf_error(ctx, CF_EDATA, src->path, s->name,
                      "point source at %.0f m east, %.0f m north of the lidar is outside the estimation domain "
                      "(a %g m square centred on the lidar, setting domain_m)",
                      e, nn, 2 * half);
        break;
      }
      int j = st->i_points + ip;
      st->point_src[ip] = k, st->pe[ip] = e, st->pn[ip] = nn, st->ph[ip] = s->height_m;
      st->x_a[j] = s->prior_t_per_h;
      st->sigma_a[j] = s->prior_sigma_t_per_h;
      st->nonneg[j] = s->prior_t_per_h >= 0;
      w[j] = 1.0;
      ip++;
      continue;
    }
    memset(ov, 0, (size_t)st->n_cells * sizeof *ov);
    rc = area_overlaps(ctx, src, k, site, st, ov);
    if (rc) break;
    double area = 0, w4 = 0;
    for (int c = 0; c < st->n_cells; c++) {
      double wc = ov[c] / st->cell_area;
      area += ov[c], w4 += wc * wc * wc * wc;
    }
    if (!(area > 0)) {
      rc = cf_error(ctx, CF_EDATA, src->path, s->name, "area source has no area on the estimation grid");
      break;
    }
    for (int c = 0; c < st->n_cells; c++) {
      if (ov[c] == 0) continue;
      w[c] = ov[c] / st->cell_area;
      /* the cell's whole flux at the source's mean density, so that
       * w . x_a = prior (the rate reads the cell as uniform) */
      st->x_a[c] += s->prior_t_per_h / area * st->cell_area;
      /* and sigmas with sum w^2 sigma_c^2 = sigma_S^2 */
      double sc = s->prior_sigma_t_per_h * w[c] / sqrt(w4);
      var[c] += sc * sc;
    }
  }
  if (!rc) {
    double base = o->cell_sigma_umol * 1e-6 * st->cell_area * CF_T_PER_H_PER_MOL_S; /* t/h per cell */
    for (int c = 0; c < st->n_cells; c++) {
      st->sigma_a[c] = sqrt(base * base + var[c]);
      st->nonneg[c] = st->x_a[c] > 0;
      int r = c / st->nx, col = c % st->nx;
      st->pos[2 * c] = st->west + (col + 0.5) * st->res;
      st->pos[2 * c + 1] = st->north - (r + 0.5) * st->res;
    }
    for (int s = 0; s < n_sweeps; s++) {
      st->x_a[st->i_sweeps + s] = sweep_median[s];
      st->sigma_a[st->i_sweeps + s] = o->offset_sigma_ppm;
    }
    st->sigma_a[st->i_grad] = st->sigma_a[st->i_grad + 1] = o->gradient_sigma_ppm_km;
    st->sigma_a[st->i_drift] = o->drift_sigma_ppm_h;
    /* non-cell elements far apart: uncorrelated under an exponential prior */
    for (int j = st->n_cells; j < st->n; j++) st->pos[2 * j] = 1e12 * (j - st->n_cells + 1), st->pos[2 * j + 1] = -1e12;
  }
  free(ov), free(var);
  if (rc) cf_flux_state_free(st);
  return rc;
}

static int cmp_z(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int cf_flux_state_tables(cf_ctx *ctx, cf_flux_state *st, const cf_flux_met *met, cf_flux_obs *obs, long n_obs) {
  free(st->vt);
  st->vt = NULL, st->n_vt = 0;
  double *z = malloc((size_t)(n_obs > 0 ? n_obs : 1) * sizeof *z);
  if (!z) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "tables", "out of memory");
  for (long i = 0; i < n_obs; i++) z[i] = obs[i].z;
  qsort(z, (size_t)n_obs, sizeof *z, cmp_z);
  long nu = 0;
  for (long i = 0; i < n_obs; i++)
    if (!nu || z[i] != z[nu - 1]) z[nu++] = z[i];
  st->vt = malloc((size_t)(nu > 0 ? nu : 1) * sizeof *st->vt);
  if (!st->vt) {
    free(z);
    return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "tables", "out of memory for %ld Gz tables", nu);
  }
  st->n_vt = (int)nu;
  for (long k = 0; k < nu; k++) cf_plume_vtable_init(&met->models[0], z[k], 0.0, st->x_max, &st->vt[k]);
  for (long i = 0; i < n_obs; i++) { /* exact match: the value came from this list */
    long lo = 0, hi = nu - 1;
    while (lo < hi) {
      long mid = (lo + hi) / 2;
      if (z[mid] < obs[i].z) lo = mid + 1; else hi = mid;
    }
    obs[i].vt = (int)lo;
  }
  free(z);
  return CF_OK;
}

/* A cell whose every point lies more than this many sigma_y (the largest,
 * at the cell's far edge) off the plume axis is left out: its share is at
 * most exp(-25/2) = 3.7e-6 of the plume's centreline value, and the whole
 * Gaussian tail beyond 5 sigma is 2.9e-7 of its mass: far below the
 * model's own error (tens of %) and the 4 ppm noise. The test is on the
 * cell's centre, |y| - 0.75 w > 5 sigma_y (0.75 w: more than the
 * half-diagonal of the square, so the nearest corner is farther still).
 * The cells examined cost most of the forward model: at 6 sigma and a
 * full w the benchmark evaluated about 20 % more of them. */
#define PRUNE_SIGMAS 5.0

void cf_flux_jacobian_row(const cf_flux_state *st, const cf_flux_met *met, const cf_flux_obs *ob, double *row) {
  memset(row, 0, (size_t)st->n * sizeof *row);
  cf_plume_receptor rec = {ob->e, ob->n, ob->z};
  double w = st->res;
  const cf_plume_vtable *vt = &st->vt[ob->vt]; /* Gz of this gate's height (ground-level cells) */
  for (int c = 0; c < st->n_cells; c++) {
    int r = c / st->nx, col = c % st->nx;
    double ce = st->west + (col + 0.5) * w, cn = st->north - (r + 0.5) * w;
    double ve = ob->e - ce, vn = ob->n - cn;
    const cf_plume_model *m = cf_flux_met_model(met, ob->sweep, sqrt(ve * ve + vn * vn));
    double x = m->de * ve + m->dn * vn;
    if (x + 0.75 * w <= 0) continue;
    double y = m->de * vn - m->dn * ve, sy, sz;
    double xs = x > w ? x : w;
    cf_briggs_rural(m->met.stability, xs + 0.75 * w, &sy, &sz);
    double dy = (xs + 0.75 * w) * m->tan_dir;
    sy = sqrt(sy * sy + dy * dy);
    if (fabs(y) > PRUNE_SIGMAS * sy + 0.75 * w) continue;
    cf_plume_cell cell = {ce, cn, st->cell_area};
    row[c] = cf_plume_cell_ppm_vt(m, vt, &cell, &rec);
  }
  for (int p = 0; p < st->n_points; p++) {
    const cf_plume_model *m = cf_flux_met_model(met, ob->sweep, hypot(ob->e - st->pe[p], ob->n - st->pn[p]));
    row[st->i_points + p] = cf_plume_point(m, st->pe[p], st->pn[p], st->ph[p], &rec);
  }
  row[st->i_sweeps + ob->sweep] = 1.0;
  row[st->i_grad] = ob->e / 1000.0;
  row[st->i_grad + 1] = ob->n / 1000.0;
  row[st->i_drift] = (ob->t - st->t_ref) / 3600.0;
}
