/* The flux truth simulator; see sim_flux.h. */
#include "lidar/flux/sim_flux.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsutil.h"
#include "core/rng.h"
#include "core/strbuf.h"
#include "lidar/doppler.h"
#include "lidar/l0_write.h"
#include "lidar/l2_write.h"

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)
#define R_GAS 8.314462618     /* J mol-1 K-1 */
#define N_AVOGADRO 6.02214076e23
#define CUT 6.0 /* puffs count within CUT sigma_h (exp(-18) ~ 1.5e-8 of the peak is left out) */
#define N_IMAGES 4

/* random streams: one purpose per high word */
#define STREAM_OU UINT64_C(1)
#define STREAM_RAY (UINT64_C(1) << 32)
#define STREAM_SWEEP (UINT64_C(2) << 32)
#define STREAM_WIND (UINT64_C(3) << 32)
#define STREAM_CNR (UINT64_C(4) << 32) /* + ray: drawn after the others, so adding it changed none of them */

#define CNR_1KM_DB (-15.0) /* cnr_on of the mixed layer at 1 km range */
#define CNR_OFF_EXCESS_DB 1.0 /* cnr_off - cnr_on (less absorption off-line) */

#define F(field) offsetof(cf_simflux_config, field)
static const cf_kv_opt opts[] = {
    {"seed", CF_KV_U64, F(seed), 0, 0, "", "random seed", NULL},
    {"lat", CF_KV_DOUBLE, F(lat), -90, 90, "deg", "site latitude (WGS84)", NULL},
    {"lon", CF_KV_DOUBLE, F(lon), -180, 360, "deg", "site longitude (WGS84)", NULL},
    {"alt", CF_KV_DOUBLE, F(alt), -500, 9000, "m", "instrument altitude above mean sea level", NULL},
    {"instrument_height", CF_KV_DOUBLE, F(instrument_height), 0, 1000, "m", "instrument above the ground", NULL},
    {"t0", CF_KV_DOUBLE, F(t0), 0, 1e11, "s", "start of the first sweep (s since 1970)", NULL},
    {"scans", CF_KV_INT, F(scans), 1, 1e5, "", "number of PPI sweeps", NULL},
    {"scans_per_file", CF_KV_INT, F(scans_per_file), 0, 1e5, "", "sweeps per L2 file (0: all in one file)", NULL},
    {"rays", CF_KV_INT, F(rays), 1, 1e4, "", "rays per sweep", NULL},
    {"gates", CF_KV_INT, F(gates), 1, 1e4, "", "range gates", NULL},
    {"elevations", CF_KV_TEXT, F(elevations), 0, 0, "deg", "sweep elevations, cycled (comma-separated)", NULL},
    {"az_start", CF_KV_DOUBLE, F(az_start), -360, 360, "deg", "sweep start azimuth", NULL},
    {"az_end", CF_KV_DOUBLE, F(az_end), -360, 720, "deg", "sweep end azimuth", NULL},
    {"sweep_seconds", CF_KV_DOUBLE, F(sweep_seconds), 1, 86400, "s", "duration of a sweep", NULL},
    {"gate_length", CF_KV_DOUBLE, F(gate_length), 1, 1e4, "m", "gate spacing", NULL},
    {"first_gate", CF_KV_DOUBLE, F(first_gate), 0, 1e5, "m", "range of the first gate centre", NULL},
    {"wind_speed", CF_KV_DOUBLE, F(wind_speed), 0.1, 50, "m/s", "wind speed (uniform)", NULL},
    {"wind_from", CF_KV_DOUBLE, F(wind_from), -360, 720, "deg", "mean wind direction (from)", NULL},
    {"meander_sigma", CF_KV_DOUBLE, F(meander_sigma), 0, 90, "deg", "standard deviation of the direction (OU)", NULL},
    {"meander_tau", CF_KV_DOUBLE, F(meander_tau), 1, 1e6, "s", "correlation time of the direction (OU)", NULL},
    {"K_h", CF_KV_DOUBLE, F(k_h), 0, 1e5, "m2/s", "horizontal eddy diffusivity: sigma_h = sqrt(2 K_h age) + sigma_h0", NULL},
    {"K_z", CF_KV_DOUBLE, F(k_z), 0, 1e5, "m2/s", "vertical eddy diffusivity: sigma_z = sqrt(2 K_z age) + sigma_z0", NULL},
    {"sigma_h0", CF_KV_DOUBLE, F(sigma_h0), 0.1, 1e4, "m", "initial horizontal puff width", NULL},
    {"sigma_z0", CF_KV_DOUBLE, F(sigma_z0), 0.1, 1e4, "m", "initial vertical puff width", NULL},
    {"bl_height", CF_KV_DOUBLE, F(bl_height), 50, 5000, "m", "boundary-layer top (reflecting; the CNR drops above it)", NULL},
    {"release_s", CF_KV_DOUBLE, F(release_s), 0.1, 3600, "s", "interval between puffs", NULL},
    {"spinup_s", CF_KV_DOUBLE, F(spinup_s), 0, 86400, "s", "puffs are released from t0 - spinup_s on", NULL},
    {"area_cell", CF_KV_DOUBLE, F(area_cell), 10, 1e5, "m", "grid step of the sub-sources of an area source", NULL},
    {"p0", CF_KV_DOUBLE, F(p0), 5e4, 1.1e5, "Pa", "air pressure (dry-air density p0/(R T0))", NULL},
    {"T0", CF_KV_DOUBLE, F(T0), 200, 330, "K", "air temperature", NULL},
    {"co2", CF_KV_DOUBLE, F(co2), 100, 2000, "ppm", "background CO2", NULL},
    {"sweep_offset_sigma", CF_KV_DOUBLE, F(sweep_offset_sigma), 0, 100, "ppm", "background offset per sweep (1 sigma)", NULL},
    {"gradient_east", CF_KV_DOUBLE, F(gradient_east), -100, 100, "ppm/km", "background gradient towards east", NULL},
    {"gradient_north", CF_KV_DOUBLE, F(gradient_north), -100, 100, "ppm/km", "background gradient towards north", NULL},
    {"noise_ppm", CF_KV_DOUBLE, F(noise_ppm), 0, 1000, "ppm", "gate noise (1 sigma)", NULL},
    {"missing_ray", CF_KV_DOUBLE, F(missing_ray), 0, 1, "1", "probability that a ray is missing", NULL},
    {"spike_prob", CF_KV_DOUBLE, F(spike_prob), 0, 1, "1", "probability of a spike in a gate", NULL},
    {"spike_ppm", CF_KV_DOUBLE, F(spike_ppm), -1e4, 1e4, "ppm", "size of a spike", NULL},
    {"flag_spikes", CF_KV_BOOL, F(flag_spikes), 0, 1, "", "flag spikes in qc_flag (else undetected)", NULL},
    {"vr_noise", CF_KV_DOUBLE, F(vr_noise), 0, 100, "m/s", "radial velocity noise (1 sigma)", NULL},
    {"wind_noise", CF_KV_DOUBLE, F(wind_noise), 0, 100, "m/s", "noise of the fitted wind profile per component", NULL},
    {"wind_levels", CF_KV_INT, F(wind_levels), 1, 1000, "", "wind profile levels at 50, 100, ... m", NULL},
    {"cnr_free_ratio", CF_KV_DOUBLE, F(cnr_free_ratio), 1e-4, 1, "1",
     "aerosol backscatter above bl_height / below it (the CNR drops by -10 log10 of it)", NULL},
    {"cnr_transition_m", CF_KV_DOUBLE, F(cnr_transition_m), 0, 1000, "m",
     "width w of the top: log backscatter follows tanh((z - bl_height) / w) (0: a step)", NULL},
    {"cnr_noise_db", CF_KV_DOUBLE, F(cnr_noise_db), 0, 20, "dB", "CNR noise per gate (1 sigma)", NULL},
};
enum { NOPTS = sizeof opts / sizeof *opts };

void cf_simflux_defaults(cf_simflux_config *c) {
  memset(c, 0, sizeof *c);
  c->seed = 1;
  c->lat = 48.0, c->lon = 11.0, c->alt = 500.0, c->instrument_height = 10.0;
  c->t0 = 1719820800.0; /* 2024-07-01T08:00:00Z */
  c->scans = 6, c->scans_per_file = 0, c->rays = 90, c->gates = 80;
  snprintf(c->elevations, sizeof c->elevations, "2,5,10");
  c->az_start = 0, c->az_end = 360, c->sweep_seconds = 90, c->gate_length = 150, c->first_gate = 300;
  c->wind_speed = 5, c->wind_from = 270, c->meander_sigma = 8, c->meander_tau = 300;
  c->k_h = 50, c->k_z = 10, c->sigma_h0 = 10, c->sigma_z0 = 5, c->bl_height = 1000;
  c->release_s = 10, c->spinup_s = 3600, c->area_cell = 1000;
  c->p0 = 101325, c->T0 = 288.15;
  c->co2 = 420, c->sweep_offset_sigma = 0.5, c->gradient_east = 0.02, c->gradient_north = 0;
  c->noise_ppm = 4, c->missing_ray = 0.02, c->spike_prob = 0.002, c->spike_ppm = 40, c->flag_spikes = 0;
  c->vr_noise = 0.2, c->wind_noise = 0.3, c->wind_levels = 10;
  c->cnr_free_ratio = 0.1, c->cnr_transition_m = 30, c->cnr_noise_db = 0.5;
}

double cf_simflux_cnr_db(const cf_simflux_config *c, double range_m, double z_agl_m) {
  double x = c->cnr_transition_m > 0 ? tanh((z_agl_m - c->bl_height) / c->cnr_transition_m)
                                     : (z_agl_m > c->bl_height) - (z_agl_m < c->bl_height);
  return CNR_1KM_DB - 20.0 * log10(range_m / 1000.0) + 10.0 * log10(c->cnr_free_ratio) * 0.5 * (1.0 + x);
}

int cf_simflux_set(cf_ctx *ctx, cf_simflux_config *c, const char *kv) {
  int which = -1;
  int rc = cf_kv_set(ctx, opts, NOPTS, c, kv, "simulate flux", &which);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, "simulate flux", "", "unknown setting '%.*s' (see carbonflux simulate flux --help)",
                    (int)(eq ? eq - kv : (ptrdiff_t)strlen(kv)), kv);
  }
  return rc;
}

int cf_simflux_elevations(cf_ctx *ctx, const cf_simflux_config *c, double *elev, int *n) {
  *n = 0;
  const char *p = c->elevations;
  while (*p) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !(v > 0 && v < 90))
      return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "'%s' is not a list of angles in (0, 90) degrees",
                      c->elevations);
    if (*n == CF_SIMFLUX_MAX_ELEV)
      return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "at most %d elevations", CF_SIMFLUX_MAX_ELEV);
    elev[(*n)++] = v;
    p = *end ? end + 1 : end;
  }
  if (!*n) return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "give at least one elevation");
  return CF_OK;
}

int cf_simflux_check(cf_ctx *ctx, const cf_simflux_config *c) {
  double e[CF_SIMFLUX_MAX_ELEV];
  int n;
  int rc = cf_simflux_elevations(ctx, c, e, &n);
  if (rc) return rc;
  if (!(c->az_end > c->az_start) || c->az_end - c->az_start > 360)
    return cf_error(ctx, CF_EINVAL, "simulate flux", "az_end", "must be above az_start by at most 360 degrees");
  if ((double)c->rays * c->gates * c->scans > 2e8)
    return cf_error(ctx, CF_EINVAL, "simulate flux", "scans", "scans x rays x gates = %g gates is too many (max 2e8)",
                    (double)c->rays * c->gates * c->scans);
  return CF_OK;
}

void cf_simflux_describe(FILE *out, const cf_simflux_config *d) { cf_kv_describe(out, opts, NOPTS, d); }

char *cf_simflux_json(const cf_simflux_config *c) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, opts, NOPTS, c);
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}

double cf_simflux_n_air(const cf_simflux_config *c) { return c->p0 / (R_GAS * c->T0); }

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

/* Excess ppm at every gate of one ray (added into `ex`). */
static void ray_excess(const cf_simflux_model *m, double t, double az_deg, double el_deg, const double *range, int ng,
                       double *ex) {
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

/* ------------------------------------------------------------ the L2 file */

typedef struct {
  int nr, ng, ns, nh;
  double *time, *az, *el;
  int *scan_id;
  double *range;
  double *ppm, *ppm_u, *nd, *nd_u, *vr, *vr_u, *cnr_on, *cnr_off; /* [nr*ng], NaN = masked */
  unsigned short *qc;
  int *scan;
  double *scan_time, *height;
  double *u, *v, *w, *speed, *dir, *rmse; /* [ns*nh] */
  int *beams;
} l2_data;

#define NCK(call) CF_NC_TRY(ctx, path, var_, call)

static int put_text(int nc, int var, const char *name, const char *v) {
  return nc_put_att_text(nc, var, name, strlen(v), v);
}

static int def_f(cf_ctx *ctx, const char *path, int nc, const char *name, int nd, const int *dims, const char *units,
                 const char *long_name, const char *std, int *id) {
  const char *var_ = name;
  NCK(nc_def_var(nc, name, NC_FLOAT, nd, dims, id));
  float fill = NC_FILL_FLOAT;
  NCK(nc_put_att_float(nc, *id, "_FillValue", NC_FLOAT, 1, &fill));
  if (units) NCK(put_text(nc, *id, "units", units));
  NCK(put_text(nc, *id, "long_name", long_name));
  if (std) NCK(put_text(nc, *id, "standard_name", std));
  if (nd == 2) NCK(nc_def_var_deflate(nc, *id, 1, 1, 4));
  return CF_OK;
}

static int put_f(cf_ctx *ctx, const char *path, int nc, int id, const char *var_, const double *v, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  if (!f) return cf_error(ctx, CF_ENOMEM, path, var_, "out of memory");
  for (size_t i = 0; i < n; i++) f[i] = isfinite(v[i]) ? (float)v[i] : NC_FILL_FLOAT;
  errno = 0;
  int e = nc_put_var_float(nc, id, f);
  free(f);
  char why[320];
  if (e) return cf_error(ctx, CF_EIO, path, var_, "%s", cf_nc_failure_reason(e, why, sizeof why));
  return CF_OK;
}

static int write_l2_body(cf_ctx *ctx, const char *path, int nc, const l2_data *d, const cf_simflux_config *c,
                         const char *history, const char *params) {
  const char *var_ = "";
  int dt, dr, ds, dh;
  NCK(nc_def_dim(nc, "time", (size_t)d->nr, &dt));
  NCK(nc_def_dim(nc, "range", (size_t)d->ng, &dr));
  NCK(nc_def_dim(nc, "scan", (size_t)d->ns, &ds));
  NCK(nc_def_dim(nc, "height", (size_t)d->nh, &dh));
  int d2[2] = {dt, dr}, dw[2] = {ds, dh};
  int vt, vr_, vaz, vel, vsid, vlat, vlon, valt, vqc, vscan, vst, vh, vbeams;
  var_ = "time";
  NCK(nc_def_var(nc, "time", NC_DOUBLE, 1, &dt, &vt));
  NCK(put_text(nc, vt, "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NCK(put_text(nc, vt, "standard_name", "time"));
  NCK(put_text(nc, vt, "long_name", "mid-time of the ray"));
  NCK(put_text(nc, vt, "calendar", "standard"));
  var_ = "range";
  NCK(nc_def_var(nc, "range", NC_DOUBLE, 1, &dr, &vr_));
  NCK(put_text(nc, vr_, "units", "m"));
  NCK(put_text(nc, vr_, "long_name", "range of the gate centre from the instrument"));
  int rc;
  if ((rc = def_f(ctx, path, nc, "azimuth", 1, &dt, "degree", "azimuth of the ray, clockwise from true north",
                  "sensor_azimuth_angle", &vaz)) ||
      (rc = def_f(ctx, path, nc, "elevation", 1, &dt, "degree", "elevation of the ray above the horizon", NULL, &vel)))
    return rc;
  var_ = "scan_id";
  NCK(nc_def_var(nc, "scan_id", NC_INT, 1, &dt, &vsid));
  NCK(put_text(nc, vsid, "long_name", "scan each ray belongs to (a value of the scan coordinate)"));
  const struct {
    int *id;
    const char *name, *units, *long_name;
  } pos[3] = {{&vlat, "latitude", "degree_north", "latitude of the instrument (WGS84)"},
              {&vlon, "longitude", "degree_east", "longitude of the instrument (WGS84)"},
              {&valt, "altitude", "m", "altitude of the instrument above mean sea level"}};
  for (int k = 0; k < 3; k++) {
    var_ = pos[k].name;
    NCK(nc_def_var(nc, pos[k].name, NC_DOUBLE, 0, NULL, pos[k].id));
    NCK(put_text(nc, *pos[k].id, "units", pos[k].units));
    NCK(put_text(nc, *pos[k].id, "standard_name", pos[k].name));
    NCK(put_text(nc, *pos[k].id, "long_name", pos[k].long_name));
  }
  enum { G_VR, G_VRU, G_ON, G_OFF, G_ND, G_NDU, G_PPM, G_PPMU, NG };
  int gv[NG];
  const double *gd[NG] = {d->vr, d->vr_u, d->cnr_on, d->cnr_off, d->nd, d->nd_u, d->ppm, d->ppm_u};
  const char *gn[NG] = {"radial_velocity", "radial_velocity_uncertainty", "cnr_on", "cnr_off", "co2_number_density",
                        "co2_number_density_uncertainty", "co2_mole_fraction", "co2_mole_fraction_uncertainty"};
  const char *gu[NG] = {"m s-1", "m s-1", "dB", "dB", "m-3", "m-3", "1e-6", "1e-6"};
  const char *gl[NG] = {"radial velocity of scatterers, positive away from the instrument",
                        "1-sigma uncertainty of radial_velocity",
                        "wideband carrier-to-noise ratio, on-line (nominal, simulated)",
                        "wideband carrier-to-noise ratio, off-line (nominal, simulated)",
                        "CO2 number density",
                        "1-sigma uncertainty of co2_number_density",
                        "CO2 dry-air mole fraction",
                        "1-sigma uncertainty of co2_mole_fraction"};
  const char *gs[NG] = {"radial_velocity_of_scatterers_away_from_instrument", NULL, NULL, NULL, NULL, NULL,
                        "mole_fraction_of_carbon_dioxide_in_air", NULL};
  for (int k = 0; k < NG; k++) {
    if ((rc = def_f(ctx, path, nc, gn[k], 2, d2, gu[k], gl[k], gs[k], &gv[k]))) return rc;
    var_ = gn[k];
    NCK(put_text(nc, gv[k], "coordinates", "azimuth elevation"));
  }
  var_ = "qc_flag";
  NCK(nc_def_var(nc, "qc_flag", NC_USHORT, 2, d2, &vqc));
  NCK(nc_def_var_deflate(nc, vqc, 1, 1, 4));
  NCK(put_text(nc, vqc, "long_name", "quality flags of the gate (0 = good)"));
  NCK(put_text(nc, vqc, "coordinates", "azimuth elevation"));
  unsigned short masks[7] = {CF_QC_LOW_CNR, CF_QC_NEAR_RANGE, CF_QC_HARD_TARGET, CF_QC_OUT_OF_BAND, CF_QC_FIT_FAILED,
                             CF_QC_BAD_RAY, CF_QC_NO_CO2};
  NCK(nc_put_att_ushort(nc, vqc, "flag_masks", NC_USHORT, 7, masks));
  NCK(put_text(nc, vqc, "flag_meanings",
               "low_cnr near_range hard_target_or_saturation peak_outside_search_band fit_failed invalid_ray "
               "no_co2_retrieval"));
  var_ = "scan";
  NCK(nc_def_var(nc, "scan", NC_INT, 1, &ds, &vscan));
  NCK(put_text(nc, vscan, "long_name", "scan identifier (sweep number), in the order of each scan's first ray"));
  var_ = "scan_time";
  NCK(nc_def_var(nc, "scan_time", NC_DOUBLE, 1, &ds, &vst));
  NCK(put_text(nc, vst, "units", "seconds since 1970-01-01 00:00:00 UTC"));
  NCK(put_text(nc, vst, "long_name", "mid-time of the scan"));
  NCK(put_text(nc, vst, "standard_name", "time"));
  NCK(put_text(nc, vst, "calendar", "standard"));
  var_ = "height";
  NCK(nc_def_var(nc, "height", NC_DOUBLE, 1, &dh, &vh));
  NCK(put_text(nc, vh, "units", "m"));
  NCK(put_text(nc, vh, "long_name", "height above the instrument"));
  NCK(put_text(nc, vh, "positive", "up"));
  enum { W_U, W_V, W_W, W_S, W_D, W_R, NW };
  int wv[NW];
  const double *wd[NW] = {d->u, d->v, d->w, d->speed, d->dir, d->rmse};
  const char *wn[NW] = {"eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed", "wind_from_direction",
                        "wind_fit_rmse"};
  const char *wl[NW] = {"eastward wind", "northward wind", "upward air velocity", "horizontal wind speed",
                        "direction the wind blows from", "RMS residual of the wind fit (simulated)"};
  const char *ws[NW] = {"eastward_wind", "northward_wind", "upward_air_velocity", "wind_speed", "wind_from_direction",
                        NULL};
  for (int k = 0; k < NW; k++)
    if ((rc = def_f(ctx, path, nc, wn[k], 2, dw, k == W_D ? "degree" : "m s-1", wl[k], ws[k], &wv[k]))) return rc;
  var_ = "wind_valid_beams";
  NCK(nc_def_var(nc, "wind_valid_beams", NC_INT, 2, dw, &vbeams));
  NCK(put_text(nc, vbeams, "units", "1"));
  NCK(put_text(nc, vbeams, "long_name", "radial velocities used in the wind fit"));
  var_ = "";
  NCK(put_text(nc, NC_GLOBAL, "Conventions", "CF-1.8"));
  NCK(put_text(nc, NC_GLOBAL, "title", "Simulated CO2-flux lidar L2 (truth simulator, puff transport)"));
  NCK(put_text(nc, NC_GLOBAL, "institution", "unknown"));
  NCK(put_text(nc, NC_GLOBAL, "source", "carbonflux simulate flux"));
  NCK(put_text(nc, NC_GLOBAL, "history", history));
  NCK(put_text(nc, NC_GLOBAL, "carbonflux_version", cf_version()));
  NCK(put_text(nc, NC_GLOBAL, "input_sha256", "none (simulated)"));
  NCK(put_text(nc, NC_GLOBAL, "processing_parameters", params));
  NCK(put_text(nc, NC_GLOBAL, "featureType", "timeSeriesProfile"));
  NCK(nc_enddef(nc));
  var_ = "time";
  NCK(nc_put_var_double(nc, vt, d->time));
  var_ = "range";
  NCK(nc_put_var_double(nc, vr_, d->range));
  if ((rc = put_f(ctx, path, nc, vaz, "azimuth", d->az, (size_t)d->nr)) ||
      (rc = put_f(ctx, path, nc, vel, "elevation", d->el, (size_t)d->nr)))
    return rc;
  var_ = "scan_id";
  NCK(nc_put_var_int(nc, vsid, d->scan_id));
  var_ = "latitude";
  NCK(nc_put_var_double(nc, vlat, &c->lat));
  var_ = "longitude";
  NCK(nc_put_var_double(nc, vlon, &c->lon));
  var_ = "altitude";
  NCK(nc_put_var_double(nc, valt, &c->alt));
  for (int k = 0; k < NG; k++)
    if ((rc = put_f(ctx, path, nc, gv[k], gn[k], gd[k], (size_t)d->nr * d->ng))) return rc;
  var_ = "qc_flag";
  NCK(nc_put_var_ushort(nc, vqc, d->qc));
  var_ = "scan";
  NCK(nc_put_var_int(nc, vscan, d->scan));
  var_ = "scan_time";
  NCK(nc_put_var_double(nc, vst, d->scan_time));
  var_ = "height";
  NCK(nc_put_var_double(nc, vh, d->height));
  for (int k = 0; k < NW; k++)
    if ((rc = put_f(ctx, path, nc, wv[k], wn[k], wd[k], (size_t)d->ns * d->nh))) return rc;
  var_ = "wind_valid_beams";
  NCK(nc_put_var_int(nc, vbeams, d->beams));
  return CF_OK;
}

static int write_l2(cf_ctx *ctx, const char *path, const l2_data *d, const cf_simflux_config *c, const char *history,
                    const char *params) {
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (rc) return rc;
  int nc;
  errno = 0;
  int e = nc_create(af.part_path, NC_NETCDF4 | NC_CLOBBER, &nc);
  char why[320];
  if (e != NC_NOERR) {
    rc = cf_error(ctx, CF_EIO, path, "", "cannot create: %s", cf_nc_failure_reason(e, why, sizeof why));
    cf_atomic_end(&af);
    return rc;
  }
  rc = write_l2_body(ctx, path, nc, d, c, history, params);
  if (rc) cf_discard_open_file(af.part_path);
  errno = 0;
  e = nc_close(nc);
  if (e != NC_NOERR && !rc) rc = cf_error(ctx, CF_EIO, path, "", "closing failed: %s", cf_nc_failure_reason(e, why, sizeof why));
  if (!rc) rc = cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  return rc;
}

/* ------------------------------------------------------------ simulation */

static void l2_free(l2_data *d) {
  free(d->time), free(d->az), free(d->el), free(d->scan_id), free(d->range);
  free(d->ppm), free(d->ppm_u), free(d->nd), free(d->nd_u), free(d->vr), free(d->vr_u);
  free(d->cnr_on), free(d->cnr_off), free(d->qc), free(d->scan), free(d->scan_time), free(d->height);
  free(d->u), free(d->v), free(d->w), free(d->speed), free(d->dir), free(d->rmse), free(d->beams);
  memset(d, 0, sizeof *d);
}

static int l2_alloc(l2_data *d, int nr, int ng, int ns, int nh) {
  memset(d, 0, sizeof *d);
  d->nr = nr, d->ng = ng, d->ns = ns, d->nh = nh;
  size_t g = (size_t)nr * ng, w = (size_t)ns * nh;
#define A(p, n) ((p) = calloc((n) ? (n) : 1, sizeof *(p)), (p) != NULL)
  int ok = A(d->time, nr) && A(d->az, nr) && A(d->el, nr) && A(d->scan_id, nr) && A(d->range, ng) && A(d->ppm, g) &&
           A(d->ppm_u, g) && A(d->nd, g) && A(d->nd_u, g) && A(d->vr, g) && A(d->vr_u, g) && A(d->cnr_on, g) &&
           A(d->cnr_off, g) && A(d->qc, g) && A(d->scan, ns) && A(d->scan_time, ns) && A(d->height, nh) &&
           A(d->u, w) && A(d->v, w) && A(d->w, w) && A(d->speed, w) && A(d->dir, w) && A(d->rmse, w) && A(d->beams, w);
#undef A
  if (!ok) l2_free(d);
  return ok ? 0 : -1;
}

typedef struct {
  long long spikes, missing_rays;
} sim_counts;

/* The true wind averaged over sweep s (1 s steps): what a wind fit of the sweep sees. */
static void sweep_mean_wind(const cf_simflux_model *m, int s, double *su, double *sv) {
  const cf_simflux_config *c = &m->c;
  double ta = c->t0 + s * c->sweep_seconds;
  int nstep = (int)ceil(c->sweep_seconds);
  *su = *sv = 0;
  for (int q = 0; q < nstep; q++) {
    double u, v;
    cf_simflux_wind(m, ta + (q + 0.5) * c->sweep_seconds / nstep, &u, &v);
    *su += u / nstep, *sv += v / nstep;
  }
}

/* Fill the rays and profiles of sweeps [s0, s0 + ns) into d. */
static int simulate_sweeps(cf_ctx *ctx, const cf_simflux_model *m, const double *elev, int nelev, int s0, int ns,
                           l2_data *d, sim_counts *cnt) {
  const cf_simflux_config *c = &m->c;
  int R = c->rays, G = c->gates;
  double nA = m->n_air * N_AVOGADRO * 1e-6; /* m-3 per ppm */
  for (int g = 0; g < G; g++) d->range[g] = c->first_gate + g * c->gate_length;
  for (int h = 0; h < d->nh; h++) d->height[h] = 50.0 * (h + 1);
  int nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();
  long long spikes = 0, missing = 0;
  int nrays = ns * R;
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 4) reduction(+ : spikes, missing)
  for (int i = 0; i < nrays; i++) {
    int s = s0 + i / R, j = i % R;
    double el = elev[s % nelev];
    double az = c->az_start + (j + 0.5) * (c->az_end - c->az_start) / R;
    az = fmod(az, 360.0);
    if (az < 0) az += 360.0;
    double t = c->t0 + s * c->sweep_seconds + (j + 0.5) * c->sweep_seconds / R;
    d->time[i] = t, d->az[i] = az, d->el[i] = el, d->scan_id[i] = s;
    double *ppm = d->ppm + (size_t)i * G;
    unsigned short *qc = d->qc + (size_t)i * G;
    cf_rng r;
    cf_rng_seed(&r, c->seed, STREAM_RAY + (uint64_t)s * (uint64_t)R + (uint64_t)j);
    cf_rng rs, rcnr;
    cf_rng_seed(&rs, c->seed, STREAM_SWEEP + (uint64_t)s);
    cf_rng_seed(&rcnr, c->seed, STREAM_CNR + (uint64_t)s * (uint64_t)R + (uint64_t)j);
    double offset = c->sweep_offset_sigma * cf_rng_normal(&rs);
    int lost = cf_rng_uniform(&r) < c->missing_ray;
    if (lost) {
      missing++;
      for (int g = 0; g < G; g++) {
        size_t k = (size_t)i * G + g;
        d->ppm[k] = d->ppm_u[k] = d->nd[k] = d->nd_u[k] = d->vr[k] = d->vr_u[k] = d->cnr_on[k] = d->cnr_off[k] = NAN;
        qc[g] = CF_QC_BAD_RAY | CF_QC_NO_CO2 | CF_QC_LOW_CNR;
      }
      continue;
    }
    for (int g = 0; g < G; g++) ppm[g] = 0;
    ray_excess(m, t, az, el, d->range, G, ppm);
    double u, v;
    cf_simflux_wind(m, t, &u, &v);
    double saz = sin(az * D2R), caz = cos(az * D2R), ce = cos(el * D2R);
    for (int g = 0; g < G; g++) {
      size_t k = (size_t)i * G + g;
      double enu[3];
      cf_geo_gate_enu(d->range[g], az, el, enu);
      double bg = c->co2 + offset + c->gradient_east * enu[0] / 1000.0 + c->gradient_north * enu[1] / 1000.0;
      double x = bg + ppm[g] + c->noise_ppm * cf_rng_normal(&r);
      qc[g] = 0;
      if (cf_rng_uniform(&r) < c->spike_prob) {
        x += c->spike_ppm;
        spikes++;
        if (c->flag_spikes) qc[g] = CF_QC_HARD_TARGET;
      }
      ppm[g] = x;
      d->ppm_u[k] = c->noise_ppm > 0 ? c->noise_ppm : 1e-3;
      d->nd[k] = x * nA;
      d->nd_u[k] = d->ppm_u[k] * nA;
      d->vr[k] = (u * saz + v * caz) * ce + c->vr_noise * cf_rng_normal(&r);
      d->vr_u[k] = c->vr_noise > 0 ? c->vr_noise : 1e-3;
      double cnr = cf_simflux_cnr_db(c, d->range[g], cf_geo_gate_height_agl(d->range[g], el, c->instrument_height));
      d->cnr_on[k] = cnr + c->cnr_noise_db * cf_rng_normal(&rcnr);
      d->cnr_off[k] = cnr + CNR_OFF_EXCESS_DB + c->cnr_noise_db * cf_rng_normal(&rcnr);
    }
  }
  cnt->spikes += spikes, cnt->missing_rays += missing;
  /* wind profiles: the true wind averaged over the sweep (1 s steps) plus noise */
  for (int k = 0; k < ns; k++) {
    int s = s0 + k;
    double ta = c->t0 + s * c->sweep_seconds, su, sv;
    sweep_mean_wind(m, s, &su, &sv);
    d->scan[k] = s;
    d->scan_time[k] = ta + 0.5 * c->sweep_seconds;
    int beams = 0;
    for (int j = 0; j < R; j++) beams += isfinite(d->vr[((size_t)k * R + j) * G]) ? 1 : 0;
    cf_rng r;
    cf_rng_seed(&r, c->seed, STREAM_WIND + (uint64_t)s);
    for (int h = 0; h < d->nh; h++) {
      size_t q = (size_t)k * d->nh + h;
      d->u[q] = su + c->wind_noise * cf_rng_normal(&r);
      d->v[q] = sv + c->wind_noise * cf_rng_normal(&r);
      d->w[q] = c->wind_noise * cf_rng_normal(&r);
      d->speed[q] = hypot(d->u[q], d->v[q]);
      double dir = atan2(-d->u[q], -d->v[q]) / D2R;
      d->dir[q] = dir < 0 ? dir + 360.0 : dir;
      d->rmse[q] = c->vr_noise;
      d->beams[q] = beams;
    }
  }
  return CF_OK;
}

static char *file_name(const char *out, int k, int nfiles) {
  if (nfiles == 1) return strdup(out);
  size_t n = strlen(out) + 16;
  char *p = malloc(n);
  if (!p) return NULL;
  const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
  if (!dot || (slash && dot < slash)) dot = out + strlen(out);
  snprintf(p, n, "%.*s_%03d%s", (int)(dot - out), out, k, dot);
  return p;
}

static int write_truth(cf_ctx *ctx, const char *path, const cf_simflux_config *c, const cf_flux_sources *src,
                       const cf_simflux_model *m, const sim_counts *cnt, int nfiles, const char *out) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\n  \"software\": \"carbonflux\",\n  \"version\": ");
  cf_strbuf_json_string(&sb, cf_version());
  cf_strbuf_printf(&sb, ",\n  \"seed\": %llu,\n  \"sources_file\": ", (unsigned long long)c->seed);
  cf_strbuf_json_string(&sb, src->path ? src->path : "");
  cf_strbuf_puts(&sb, ",\n  \"rate_units\": \"t CO2/h\",\n  \"sources\": [");
  for (int i = 0; i < src->n; i++) {
    const cf_flux_source *s = &src->src[i];
    cf_strbuf_puts(&sb, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
    cf_strbuf_json_string(&sb, s->name);
    cf_strbuf_printf(&sb, ", \"kind\": \"%s\", \"rate_t_per_h\": %.17g, \"height_m\": %.17g, \"lon\": %.17g, \"lat\": %.17g, \"area_m2\": %.17g}",
                     s->kind == CF_SOURCE_POINT ? "point" : "area", s->prior_t_per_h, s->height_m, s->lon, s->lat, s->area_m2);
  }
  cf_strbuf_printf(&sb,
                   "\n  ],\n  \"transport\": {\"model\": \"puffs, OU-meandering uniform wind, sigma = sqrt(2 K age) + sigma0, "
                   "reflection at ground and bl_height\", \"wind_speed_m_s\": %.17g, \"wind_from_deg\": %.17g, "
                   "\"meander_sigma_deg\": %.17g, \"meander_tau_s\": %.17g, \"K_h_m2_s\": %.17g, \"K_z_m2_s\": %.17g, "
                   "\"bl_height_m\": %.17g, \"n_air_mol_m3\": %.17g, \"subsources\": %d},\n",
                   c->wind_speed, c->wind_from, c->meander_sigma, c->meander_tau, c->k_h, c->k_z, c->bl_height,
                   m->n_air, m->nsub);
  /* the true wind of each sweep, averaged over it (what the profiles in the L2 carry before noise) */
  cf_strbuf_puts(&sb, "  \"sweep_true_wind\": [");
  for (int s = 0; s < c->scans; s++) {
    double su, sv;
    sweep_mean_wind(m, s, &su, &sv);
    cf_strbuf_printf(&sb, "%s{\"scan\": %d, \"eastward_wind\": %.17g, \"northward_wind\": %.17g}", s ? ", " : "", s, su, sv);
  }
  cf_strbuf_puts(&sb, "],\n");
  cf_strbuf_printf(&sb, "  \"spikes\": %lld,\n  \"spikes_flagged\": %s,\n  \"missing_rays\": %lld,\n  \"l2_files\": [",
                   cnt->spikes, c->flag_spikes ? "true" : "false", cnt->missing_rays);
  for (int k = 0; k < nfiles; k++) {
    char *f = file_name(out, k, nfiles);
    if (k) cf_strbuf_puts(&sb, ", ");
    cf_strbuf_json_string(&sb, f ? f : "");
    free(f);
  }
  char *js = cf_simflux_json(c);
  cf_strbuf_printf(&sb, "],\n  \"settings\": %s\n}\n", js ? js : "{}");
  free(js);
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, path, &af);
  if (!rc) {
    FILE *f = fopen(af.part_path, "w");
    const char *txt = cf_strbuf_str(&sb);
    int bad = !f || fputs(txt, f) < 0;
    if (f && fclose(f)) bad = 1;
    if (bad)
      rc = cf_error(ctx, CF_EIO, path, "", "writing failed: %s", strerror(errno ? errno : EIO));
    else
      rc = cf_atomic_commit(ctx, &af);
    cf_atomic_end(&af);
  }
  cf_strbuf_free(&sb);
  return rc;
}

int cf_simulate_flux(cf_ctx *ctx, const cf_simflux_config *c, const char *sources_path, const char *out,
                     const char *truth_path) {
  int rc = cf_simflux_check(ctx, c);
  if (rc) return rc;
  double elev[CF_SIMFLUX_MAX_ELEV];
  int nelev;
  if ((rc = cf_simflux_elevations(ctx, c, elev, &nelev))) return rc;
  cf_flux_sources src;
  if ((rc = cf_flux_sources_read(ctx, sources_path, NULL, &src))) return rc;
  cf_simflux_model *m = NULL;
  double t_end = c->t0 + c->scans * c->sweep_seconds;
  if ((rc = cf_simflux_model_create(ctx, c, &src, t_end, &m))) {
    cf_flux_sources_free(&src);
    return rc;
  }
  int per = c->scans_per_file > 0 && c->scans_per_file < c->scans ? c->scans_per_file : c->scans;
  int nfiles = (c->scans + per - 1) / per;
  char *params = cf_simflux_json(c);
  cf_strbuf hist;
  cf_strbuf_init(&hist);
  {
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "1970-01-01T00:00:00Z";
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cf_strbuf_printf(&hist, "%s carbonflux simulate flux (carbonflux %s, sources %s)", when, cf_version(), sources_path);
  }
  sim_counts cnt = {0, 0};
  for (int f = 0; !rc && f < nfiles; f++) {
    int s0 = f * per, ns = c->scans - s0 < per ? c->scans - s0 : per;
    l2_data d;
    if (l2_alloc(&d, ns * c->rays, c->gates, ns, c->wind_levels)) {
      rc = cf_error(ctx, CF_ENOMEM, out, "", "out of memory for %d sweeps", ns);
      break;
    }
    char *name = file_name(out, f, nfiles);
    if (!name) rc = cf_error(ctx, CF_ENOMEM, out, "", "out of memory");
    if (!rc) rc = simulate_sweeps(ctx, m, elev, nelev, s0, ns, &d, &cnt);
    if (!rc) rc = write_l2(ctx, name, &d, c, cf_strbuf_str(&hist), params ? params : "{}");
    if (!rc) cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", name, (const char *)NULL);
    free(name);
    l2_free(&d);
  }
  if (!rc && truth_path) rc = write_truth(ctx, truth_path, c, &src, m, &cnt, nfiles, out);
  cf_strbuf_free(&hist);
  free(params);
  cf_simflux_model_free(m);
  cf_flux_sources_free(&src);
  return rc;
}

/* --------------------------------------------------------- benchmark scene
 * The scene in the site frame (x east, y north, km), lidar at the
 * origin, wind 5 m/s from the west (wind_from=270, the default):
 *   STACK   100 t/h, 150 m high, at (-8, 0): 8 km upwind of the lidar;
 *   PARK_10, PARK_20, PARK_40: 10, 20, 40 t/h, 50 m high, at (-4, 2.5),
 *           (-3.3, 2.5), (-2.6, 2.5): 700 m apart, group "park";
 *   CITY    150 t/h over the 8 x 8 km square [-14, -6] x [-12, -4];
 *   FOREST  -10 umol m-2 s-1 over the 15 x 15 km square [-18, -3] x [3, 18]:
 *           -10e-6 x 225e6 mol/s = -2250 mol/s = -356.48 t/h.
 * All inside the 40 x 40 km domain [-20, 20]^2. Positions are placed with
 * geodesics from the site (geod_direct), the inverse of cf_geo_local. */
static void local_to_lonlat(const cf_geo_site *site, double e, double n, double *lon, double *lat) {
  double s = hypot(e, n), az = atan2(e, n) / D2R;
  geod_direct(&site->geod, site->lat_deg, site->lon_deg, az, s, lat, lon, NULL);
}

static void json_point(cf_strbuf *sb, const cf_geo_site *site, double e, double n) {
  double lon, lat;
  local_to_lonlat(site, e, n, &lon, &lat);
  cf_strbuf_printf(sb, "{\"type\": \"Point\", \"coordinates\": [%.12f, %.12f]}", lon, lat);
}

static void json_square(cf_strbuf *sb, const cf_geo_site *site, double x0, double y0, double x1, double y1) {
  /* 8 points per side, so the square stays a square on the ground */
  cf_strbuf_puts(sb, "{\"type\": \"Polygon\", \"coordinates\": [[");
  const double cx[5] = {x0, x1, x1, x0, x0}, cy[5] = {y0, y0, y1, y1, y0};
  int first = 1;
  for (int s = 0; s < 4; s++)
    for (int k = 0; k < 8 + (s == 3); k++) {
      double f = k / 8.0, lon, lat;
      local_to_lonlat(site, cx[s] + f * (cx[s + 1] - cx[s]), cy[s] + f * (cy[s + 1] - cy[s]), &lon, &lat);
      cf_strbuf_printf(sb, "%s[%.12f, %.12f]", first ? "" : ", ", lon, lat);
      first = 0;
    }
  cf_strbuf_puts(sb, "]]}");
}

/* The priors a user would start from for the benchmark scene: each off
 * the truth by 20-60 % with a sigma that covers it (flux-io.md fields). */
static const double BENCH_PRIOR[6][2] = {{60, 60}, {20, 20}, {20, 20}, {20, 20}, {100, 100}, {-200, 300}};

static int write_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path, int priors);

int cf_simflux_write_benchmark_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path) {
  return write_scene(ctx, c, path, 0);
}

int cf_simflux_write_benchmark_priors(cf_ctx *ctx, const cf_simflux_config *c, const char *path) {
  return write_scene(ctx, c, path, 1);
}

static int write_scene(cf_ctx *ctx, const cf_simflux_config *c, const char *path, int priors) {
  cf_geo_site site;
  int rc = cf_geo_site_init(ctx, c->lat, c->lon, c->alt, &site);
  if (rc) return rc;
  const struct {
    const char *name, *kind, *group;
    double h, rate, sigma, x0, y0, x1, y1;
  } f[] = {
      {"STACK", "point", NULL, 150, 100, 50, -8000, 0, 0, 0},
      {"PARK_10", "point", "park", 50, 10, 5, -4000, 2500, 0, 0},
      {"PARK_20", "point", "park", 50, 20, 10, -3300, 2500, 0, 0},
      {"PARK_40", "point", "park", 50, 40, 20, -2600, 2500, 0, 0},
      {"CITY", "area", NULL, 0, 150, 75, -14000, -12000, -6000, -4000},
      {"FOREST", "area", NULL, 0, -10e-6 * 15000.0 * 15000.0 * CF_SIMFLUX_T_PER_H_PER_MOL_S, 200, -18000, 3000, -3000, 18000},
  };
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{\"type\": \"FeatureCollection\", \"name\": \"benchmark_scene\",\n\"features\": [\n");
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    cf_strbuf_printf(&sb, "%s{\"type\": \"Feature\", \"properties\": {\"name\": \"%s\", \"kind\": \"%s\", \"height_m\": %.17g, "
                          "\"prior_t_per_h\": %.17g, \"prior_sigma_t_per_h\": %.17g, \"group\": %s%s%s}, \"geometry\": ",
                     i ? ",\n" : "", f[i].name, f[i].kind, f[i].h, priors ? BENCH_PRIOR[i][0] : f[i].rate,
                     priors ? BENCH_PRIOR[i][1] : f[i].sigma, f[i].group ? "\"" : "",
                     f[i].group ? f[i].group : "null", f[i].group ? "\"" : "");
    if (!strcmp(f[i].kind, "point"))
      json_point(&sb, &site, f[i].x0, f[i].y0);
    else
      json_square(&sb, &site, f[i].x0, f[i].y0, f[i].x1, f[i].y1);
    cf_strbuf_puts(&sb, "}");
  }
  cf_strbuf_puts(&sb, "\n]}\n");
  cf_atomic_file af;
  rc = cf_atomic_begin(ctx, path, &af);
  if (!rc) {
    errno = 0;
    FILE *fp = fopen(af.part_path, "w");
    int bad = !fp || fputs(cf_strbuf_str(&sb), fp) < 0;
    if (fp && fclose(fp)) bad = 1;
    if (bad)
      rc = cf_error(ctx, CF_EIO, path, "", "writing failed: %s", strerror(errno ? errno : EIO));
    else
      rc = cf_atomic_commit(ctx, &af);
    cf_atomic_end(&af);
  }
  cf_strbuf_free(&sb);
  return rc;
}
