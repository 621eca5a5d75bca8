/*
 * The flux truth simulator (sim_flux.h): the PPI sweeps through the puffs
 * of sim_flux_puffs.c, with the background, the noise, the lost rays and
 * the spikes an L2 file carries, and the truth of the run.
 *
 * Every random number comes from a stream of its own (seed, purpose,
 * index), so a ray is the same whichever thread draws it and in whichever
 * order: the rays are computed in parallel into one file's arrays, which
 * one thread then writes (sim_flux_l2.c).
 */
#include "lidar/flux/sim_flux_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsutil.h"
#include "core/rng.h"
#include "core/strbuf.h"
#include "lidar/doppler.h"
#include "lidar/l0_write.h"

#define D2R CF_SIMFLUX_D2R
#define N_AVOGADRO 6.02214076e23

/* random streams: one purpose per high word (the meander's, 1, is in sim_flux_puffs.c) */
#define STREAM_RAY (UINT64_C(1) << 32)
#define STREAM_SWEEP (UINT64_C(2) << 32)
#define STREAM_WIND (UINT64_C(3) << 32)
#define STREAM_CNR (UINT64_C(4) << 32) /* + ray: drawn after the others, so adding it changed none of them */

#define CNR_1KM_DB (-15.0) /* cnr_on of the mixed layer at 1 km range */
#define CNR_OFF_EXCESS_DB 1.0 /* cnr_off - cnr_on (less absorption off-line) */

double cf_simflux_cnr_db(const cf_simflux_config *c, double range_m, double z_agl_m) {
  double x = c->cnr_transition_m > 0 ? tanh((z_agl_m - c->bl_height) / c->cnr_transition_m)
                                     : (z_agl_m > c->bl_height) - (z_agl_m < c->bl_height);
  return CNR_1KM_DB - 20.0 * log10(range_m / 1000.0) + 10.0 * log10(c->cnr_free_ratio) * 0.5 * (1.0 + x);
}

typedef struct {
  long long spikes, missing_rays;
} sim_counts;

/* The true wind averaged over sweep s (1 s steps): what a wind fit of the sweep sees. */
static void sweep_mean_wind(const cf_simflux_model *m, int s, double *su, double *sv) {
  const cf_simflux_config *c = cf_simflux_model_config(m);
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
                           cf_simflux_l2 *d, sim_counts *cnt) {
  const cf_simflux_config *c = cf_simflux_model_config(m);
  int R = c->rays, G = c->gates;
  double nA = cf_simflux_n_air(c) * N_AVOGADRO * 1e-6; /* m-3 per ppm */
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
    cf_simflux_ray_excess(m, t, az, el, d->range, G, ppm);
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
                   cf_simflux_n_air(c), cf_simflux_model_subsources(m));
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
  int rc = cf_write_text_file_atomic(ctx, path, cf_strbuf_str(&sb));
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
    cf_simflux_l2 d;
    if (cf_simflux_l2_alloc(&d, ns * c->rays, c->gates, ns, c->wind_levels)) {
      rc = cf_error(ctx, CF_ENOMEM, out, "", "out of memory for %d sweeps", ns);
      break;
    }
    char *name = file_name(out, f, nfiles);
    if (!name) rc = cf_error(ctx, CF_ENOMEM, out, "", "out of memory");
    if (!rc) rc = simulate_sweeps(ctx, m, elev, nelev, s0, ns, &d, &cnt);
    if (!rc) rc = cf_simflux_l2_write(ctx, name, &d, c, cf_strbuf_str(&hist), params ? params : "{}");
    if (!rc) cf_log_event(ctx, CF_LOG_INFO, "wrote", "path", name, (const char *)NULL);
    free(name);
    cf_simflux_l2_free(&d);
  }
  if (!rc && truth_path) rc = write_truth(ctx, truth_path, c, &src, m, &cnt, nfiles, out);
  cf_strbuf_free(&hist);
  free(params);
  cf_simflux_model_free(m);
  cf_flux_sources_free(&src);
  return rc;
}
