/* The streaming L0 -> L2 driver; see process.h. */
#include "lidar/process.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lidar/optics.h"
#include "lidar/spectra.h"
#include "lidar/spectroscopy.h"

#define CF_PI 3.14159265358979323846

void cf_lidar_opts_default(cf_lidar_opts *o) {
  memset(o, 0, sizeof *o);
  cf_doppler_defaults(&o->doppler);
  cf_dial_defaults(&o->dial);
  cf_wind_opts_default(&o->wind);
  o->do_dial = 1;
  o->do_wind = 1;
  o->co2_prior_ppm = 420.0;
  o->block_rays = 128;
  /* FFTW's heuristic plan by default: every process plans the same
   * algorithm, so a rerun, another rank or another batch child gives the
   * same bits (a measured plan may differ between processes timed under
   * different load); measuring bought 0.98-1.11x on the per-gate plan
   * (README "Performance"), so it is the option, not the default */
  o->fft_plan = CF_LIDAR_FFT_ESTIMATE;
}

/* --- where spectra come from: the file, or raw records turned into spectra --- */

typedef struct {
  cf_l0 *l0;
  float *mem[2];   /* level raw: every ray's spectra, [n_rays][G][NB] */
  float *bg[2];    /* background spectra */
  int32_t bg_pulses[2];
  int32_t *pulses[2]; /* pulses per ray actually found */
  uint8_t *clipped;   /* level raw: [n_rays][G], 1 where the ADC saturated */
} spectra_source;

typedef struct {
  spectra_source *src;
} raw_emit_ctx;

static int raw_emit(cf_ctx *ctx, void *user, int which, int ray, const float *spectra, int32_t pulses,
                    const uint8_t *clipped) {
  spectra_source *s = user;
  size_t per = (size_t)s->l0->cfg.n_gates * cf_l0_nbins(&s->l0->cfg);
  if (ray < 0) {
    memcpy(s->bg[which], spectra, per * sizeof(float));
    s->bg_pulses[which] = pulses;
  } else {
    memcpy(s->mem[which] + (size_t)ray * per, spectra, per * sizeof(float));
    s->pulses[which][ray] += pulses;
    int G = s->l0->cfg.n_gates;
    for (int g = 0; clipped && g < G; g++) s->clipped[(size_t)ray * G + g] |= clipped[g];
  }
  (void)ctx;
  return CF_OK;
}

static void source_free(spectra_source *s) {
  free(s->clipped);
  for (int l = 0; l < 2; l++) {
    free(s->mem[l]);
    if (s->l0 && s->l0->cfg.level == CF_L0_RAW) free(s->bg[l]);
    free(s->pulses[l]);
  }
}

static int source_init(cf_ctx *ctx, spectra_source *s, cf_l0 *l0, int fft_plan) {
  memset(s, 0, sizeof *s);
  s->l0 = l0;
  size_t per = (size_t)l0->cfg.n_gates * cf_l0_nbins(&l0->cfg);
  for (int l = 0; l < 2; l++) {
    s->pulses[l] = calloc((size_t)l0->n_rays, sizeof(int32_t));
    if (!s->pulses[l]) return cf_error(ctx, CF_ENOMEM, l0->path, "", "out of memory");
  }
  if (l0->cfg.level == CF_L0_SPECTRA) {
    for (int l = 0; l < 2; l++) {
      s->bg[l] = l0->background[l];
      s->bg_pulses[l] = l0->background_pulses[l];
      memcpy(s->pulses[l], l0->pulses[l], (size_t)l0->n_rays * sizeof(int32_t));
    }
    return CF_OK;
  }
  /* level raw: the digitiser's job, done here */
  s->clipped = calloc((size_t)l0->n_rays * l0->cfg.n_gates, 1);
  if (!s->clipped) return cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory");
  cf_spectra_plan plan;
  int rc = cf_spectra_plan_create(ctx, &l0->cfg, fft_plan == CF_LIDAR_FFT_ESTIMATE ? FFTW_ESTIMATE : FFTW_MEASURE, &plan);
  if (rc) return rc;
  for (int l = 0; !rc && l < 2; l++) {
    s->mem[l] = calloc((size_t)l0->n_rays * per, sizeof(float));
    s->bg[l] = malloc(per * sizeof(float));
    if (!s->mem[l] || !s->bg[l]) rc = cf_error(ctx, CF_ENOMEM, l0->path, "raw", "out of memory for the spectra of %d rays", l0->n_rays);
    if (!rc) rc = cf_spectra_from_raw(ctx, l0, l, &plan, raw_emit, s);
  }
  cf_spectra_plan_destroy(&plan);
  return rc;
}

static int source_read(cf_ctx *ctx, spectra_source *s, int ray0, int n, float *on, float *off) {
  if (s->l0->cfg.level == CF_L0_SPECTRA) {
    int rc = cf_l0_read_spectra(ctx, s->l0, CF_ON, ray0, n, on);
    return rc ? rc : cf_l0_read_spectra(ctx, s->l0, CF_OFF, ray0, n, off);
  }
  size_t per = (size_t)s->l0->cfg.n_gates * cf_l0_nbins(&s->l0->cfg);
  memcpy(on, s->mem[CF_ON] + (size_t)ray0 * per, (size_t)n * per * sizeof(float));
  memcpy(off, s->mem[CF_OFF] + (size_t)ray0 * per, (size_t)n * per * sizeof(float));
  return CF_OK;
}

/* --- optics per meteorological record ---------------------------------------- */

typedef struct {
  int n;
  cf_optics *tab; /* one per meteo record, built lazily in the main thread */
  uint8_t *built;
} optics_set;

static int optics_for(cf_ctx *ctx, optics_set *os, const cf_l0 *l0, const cf_co2_linelist *lines, double co2_ppm,
                      double zmax, int rec) {
  if (os->built[rec]) return CF_OK;
  const cf_l0_meteo *m = &l0->meteo;
  cf_surface_met met = {m->pressure[rec], m->temperature[rec], m->rh[rec]};
  char where[600];
  snprintf(where, sizeof where, "%s: /meteo record %d", l0->path, rec);
  int rc = cf_optics_build(ctx, lines, &met, 0.01 / l0->cfg.wavelength[CF_ON], 0.01 / l0->cfg.wavelength[CF_OFF],
                           co2_ppm, zmax, 5.0, where, &os->tab[rec]);
  if (!rc) os->built[rec] = 1;
  return rc;
}

static int nearest_meteo(const cf_l0 *l0, double t) {
  int best = 0;
  for (int i = 1; i < l0->meteo.n; i++)
    if (fabs(l0->meteo.time[i] - t) < fabs(l0->meteo.time[best] - t)) best = i;
  return best;
}

/* --- the scan buffer for the wind fit ------------------------------------------ */

typedef struct {
  int cap, n, scan_id, first_ray;
  double t_first, t_last;
  double *v, *sigma;  /* [cap][G] */
  unsigned char *valid;
  cf_wind_ray *rays;
  double *range;
} scan_buf;

static int scan_push(scan_buf *sb, int G, double az, double el, double t, const double *v, const double *sig,
                     const uint16_t *qc) {
  if (sb->n == sb->cap) {
    int cap = sb->cap ? 2 * sb->cap : 64;
    double *nv = realloc(sb->v, (size_t)cap * G * sizeof *nv);
    if (nv) sb->v = nv;
    double *ns = realloc(sb->sigma, (size_t)cap * G * sizeof *ns);
    if (ns) sb->sigma = ns;
    unsigned char *nvd = realloc(sb->valid, (size_t)cap * G);
    if (nvd) sb->valid = nvd;
    cf_wind_ray *nr = realloc(sb->rays, (size_t)cap * sizeof *nr);
    if (nr) sb->rays = nr;
    if (!nv || !ns || !nvd || !nr) return -1;
    sb->cap = cap;
  }
  int i = sb->n++;
  for (int g = 0; g < G; g++) {
    sb->valid[(size_t)i * G + g] = !(qc[g] & CF_QC_REJECT_VELOCITY) && isfinite(v[g]) && sig[g] > 0;
    sb->v[(size_t)i * G + g] = sb->valid[(size_t)i * G + g] ? v[g] : 0.0;
    sb->sigma[(size_t)i * G + g] = sb->valid[(size_t)i * G + g] ? sig[g] : 1.0;
  }
  sb->rays[i].azimuth_deg = az;
  sb->rays[i].elevation_deg = el;
  sb->rays[i].n_gates = G;
  if (i == 0) sb->t_first = t;
  sb->t_last = t;
  return 0;
}

static int scan_flush(cf_ctx *ctx, scan_buf *sb, int G, const cf_lidar_opts *o, const double *heights, int nh,
                      cf_wind_level *levels, int *index, const cf_l2_sink *sink, void *user) {
  if (sb->n == 0) return CF_OK;
  for (int i = 0; i < sb->n; i++) {
    sb->rays[i].range_m = sb->range;
    sb->rays[i].vr = sb->v + (size_t)i * G;
    sb->rays[i].sigma = sb->sigma + (size_t)i * G;
    sb->rays[i].valid = sb->valid + (size_t)i * G;
  }
  cf_wind_scan scan = {sb->n, sb->rays};
  size_t nwork = 0;
  int nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();
  int rc = cf_wind_work_size(ctx, &scan, nthreads, &nwork);
  double *work = rc ? NULL : malloc((nwork ? nwork : 1) * sizeof *work);
  if (!rc && !work) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory for the wind fit");
  if (!rc) rc = cf_wind_fit(ctx, &o->wind, &scan, heights, nh, work, nwork, levels);
  free(work);
  if (!rc) {
    cf_l2_wind w = {(*index)++, sb->scan_id, 0.5 * (sb->t_first + sb->t_last), nh, levels};
    rc = sink->wind ? sink->wind(ctx, user, &w) : CF_OK;
  }
  sb->n = 0;
  return rc;
}

/* --- the driver --------------------------------------------------------------------- */

typedef struct {
  double *cnr[2], *v, *vs, *pw[2], *ps[2], *pc, *nd, *nds, *ppm, *ppms;
  uint16_t *qc;
} block_out;

static int block_alloc(block_out *b, size_t n) {
  memset(b, 0, sizeof *b);
  double **d[] = {&b->cnr[0], &b->cnr[1], &b->v, &b->vs, &b->pw[0], &b->pw[1], &b->ps[0], &b->ps[1], &b->pc,
                  &b->nd, &b->nds, &b->ppm, &b->ppms};
  for (size_t i = 0; i < sizeof d / sizeof *d; i++)
    if (!(*d[i] = malloc(n * sizeof(double)))) return -1;
  b->qc = malloc(n * sizeof(uint16_t));
  return b->qc ? 0 : -1;
}

static void block_free(block_out *b) {
  double *d[] = {b->cnr[0], b->cnr[1], b->v,  b->vs,  b->pw[0], b->pw[1], b->ps[0],
                 b->ps[1],  b->pc,     b->nd, b->nds, b->ppm,   b->ppms};
  for (size_t i = 0; i < sizeof d / sizeof *d; i++) free(d[i]);
  free(b->qc);
}

static int count_scans(const cf_l0 *l0) {
  int n = l0->n_rays > 0;
  for (int i = 1; i < l0->n_rays; i++) n += l0->scan_id[i] != l0->scan_id[i - 1];
  return n;
}

/* What a fitted block still needs, in ray order: its rays to the sink,
 * its velocities into the scan buffer, the wind fit of each scan it
 * completes, progress. Runs in one thread at a time (it calls the sink:
 * HDF5), while the team fits the next block. */
typedef struct {
  cf_ctx *ctx;
  const cf_l0 *l0;
  const cf_lidar_opts *o;
  const cf_l2_sink *sink;
  void *user;
  scan_buf *sb;
  const double *heights;
  int nh;
  cf_wind_level *levels;
  int *scan_index;
} block_done;

static int block_finish(const block_done *d, const block_out *b, int r0, int n) {
  cf_ctx *ctx = d->ctx;
  const cf_l0 *l0 = d->l0;
  const int G = l0->cfg.n_gates;
  cf_l2_rays blk = {r0, n, G, {b->cnr[0], b->cnr[1]}, b->v, b->vs, b->nd, b->nds, b->ppm, b->ppms, b->qc};
  int rc = d->sink->rays ? d->sink->rays(ctx, d->user, &blk) : CF_OK;
  scan_buf *sb = d->sb;
  for (int i = 0; !rc && d->o->do_wind && i < n; i++) {
    int ray = r0 + i;
    if (sb->n > 0 && l0->scan_id[ray] != sb->scan_id)
      rc = scan_flush(ctx, sb, G, d->o, d->heights, d->nh, d->levels, d->scan_index, d->sink, d->user);
    if (!rc && sb->n == 0) sb->scan_id = l0->scan_id[ray], sb->first_ray = ray;
    if (!rc && scan_push(sb, G, l0->azimuth[ray], l0->elevation[ray], l0->time[ray], b->v + (size_t)i * G,
                         b->vs + (size_t)i * G, b->qc + (size_t)i * G))
      rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory for a scan");
  }
  if (!rc) rc = cf_progress(ctx, (double)(r0 + n) / l0->n_rays, l0->path);
  return rc;
}

int cf_lidar_process(cf_ctx *ctx, cf_l0 *l0, const cf_lidar_opts *o, const cf_l2_sink *sink, void *user) {
  const cf_l0_config *c = &l0->cfg;
  const int G = c->n_gates, NB = cf_l0_nbins(c), B = o->block_rays > 0 ? o->block_rays : 128;
  const size_t per = (size_t)G * NB;
  int nthreads = cf_get_threads(ctx) > 0 ? cf_get_threads(ctx) : omp_get_max_threads();
  spectra_source src;
  cf_doppler_setup ds;
  memset(&ds, 0, sizeof ds);
  optics_set os = {l0->meteo.n, calloc((size_t)l0->meteo.n, sizeof(cf_optics)), calloc((size_t)l0->meteo.n, 1)};
  cf_co2_linelist lines = {0};
  block_out bo[2]; /* results of the block being fitted and of the one being written */
  memset(bo, 0, sizeof bo);
  scan_buf sb = {0};
  /* two blocks of spectra: the rays of one are fitted while the next is read */
  float *specbuf[2][2] = {{malloc((size_t)B * per * sizeof(float)), malloc((size_t)B * per * sizeof(float))},
                          {malloc((size_t)B * per * sizeof(float)), malloc((size_t)B * per * sizeof(float))}};
  double *dwork = malloc((size_t)nthreads * cf_dial_work_size(c) * sizeof(double));
  double *range = malloc((size_t)G * sizeof *range);
  double *heights = malloc((size_t)G * sizeof *heights);
  cf_wind_level *levels = malloc((size_t)G * sizeof *levels);
  int *met_of_ray = malloc((size_t)B * sizeof *met_of_ray);
  double *pwork = NULL;
  int rc = source_init(ctx, &src, l0, o->fft_plan);
  if (!rc && (!os.tab || !os.built || !specbuf[0][0] || !specbuf[0][1] || !specbuf[1][0] || !specbuf[1][1] || !dwork || !range || !heights || !levels || !met_of_ray ||
              block_alloc(&bo[0], (size_t)B * G) || block_alloc(&bo[1], (size_t)B * G)))
    rc = cf_error(ctx, CF_ENOMEM, l0->path, "", "out of memory for a block of %d rays", B);
  /* the FFTs we make of raw records always correlate neighbouring bins:
   * the user's choice is applied (and recorded) as given, but said */
  if (!rc && c->level == CF_L0_RAW && !o->doppler.bins_correlated)
    cf_log(ctx, CF_LOG_WARN, "%s: bins_correlated=no on a raw file: its spectra are made here by windowed, "
                             "zero-padded FFTs whose bins are correlated, so the uncertainties will be too small",
           l0->path);
  if (!rc) rc = cf_doppler_setup_init(ctx, &ds, c, &o->doppler, src.bg[CF_ON], src.bg_pulses[CF_ON], src.bg[CF_OFF], src.bg_pulses[CF_OFF]);
  if (!rc) {
    pwork = malloc((size_t)nthreads * cf_doppler_work_size(&ds) * sizeof(double));
    if (!pwork) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  if (!rc && o->do_dial) rc = cf_co2_lines_builtin(ctx, &lines);
  double maxsin = 0;
  for (int i = 0; i < l0->n_rays; i++) {
    double sn = sin(l0->elevation[i] * CF_PI / 180.0);
    if (sn > maxsin) maxsin = sn;
  }
  for (int g = 0; range && g < G; g++) range[g] = cf_l0_gate_range(c, g); /* NULL: rc says out of memory */
  double zmax = range ? (range[G - 1] + 200.0) * maxsin + 100.0 : 0;
  /* wind levels: the gate heights of the file's first ray */
  int nh = 0;
  if (!rc && o->do_wind) {
    cf_wind_ray r0 = {l0->azimuth[0], l0->elevation[0], G, range, NULL, NULL, NULL};
    /* a ray at or below the horizon has no heights: then there is no wind */
    if (cf_wind_levels_from_ray(ctx, &r0, heights, G) == CF_OK)
      nh = G;
    else
      cf_error_clear(ctx);
  }
  sb.range = range;
  int nscans = count_scans(l0), scan_index = 0;
  double t_read = 0, t_rays = 0, t_sink = 0;
  if (!rc && sink->begin) rc = sink->begin(ctx, user, l0, heights, nh, o->do_wind ? nscans : 0);

  /* Block k's spectra are in specbuf[k % 2] and its results go to bo[k %
   * 2]. While the team fits block k, one of its threads hands block k-1's
   * finished results to the sink (the L2 file's writes and deflate, the
   * wind fit of the scans it completes), then reads block k+1 into the
   * other pair of spectra, then joins the fits. So neither reading nor
   * writing costs wall time but for the first block's read and the last
   * block's write. HDF5 (the L0 read, NetCDF-4's writes) is called by that
   * one thread only, or by this one outside the team: never two HDF5 calls
   * at once (DESIGN.md). The sink gets the blocks in order, as before. */
  block_done done = {ctx, l0, o, sink, user, &sb, heights, nh, levels, &scan_index};
  if (!rc && l0->n_rays > 0) {
    double t_a = omp_get_wtime();
    rc = source_read(ctx, &src, 0, B <= l0->n_rays ? B : l0->n_rays, specbuf[0][0], specbuf[0][1]);
    t_read += omp_get_wtime() - t_a;
  }
  int prev_r0 = -1, prev_n = 0, prev_slot = 0; /* the fitted block not yet handed to the sink */
  for (int r0 = 0, blk_i = 0; !rc && r0 < l0->n_rays; r0 += B, blk_i++) {
    int n = r0 + B <= l0->n_rays ? B : l0->n_rays - r0;
    float *const *spec = specbuf[blk_i % 2], *const *next = specbuf[(blk_i + 1) % 2];
    block_out *cur = &bo[blk_i % 2], *prev = &bo[(blk_i + 1) % 2];
    int r1 = r0 + n, n1 = r1 + B <= l0->n_rays ? B : l0->n_rays - r1, rc_next = CF_OK, rc_prev = CF_OK;
    double t_b = omp_get_wtime(), t_next = 0, t_prev = 0;
    for (int i = 0; !rc && o->do_dial && i < n; i++) {
      met_of_ray[i] = nearest_meteo(l0, l0->time[r0 + i]);
      rc = optics_for(ctx, &os, l0, &lines, o->co2_prior_ppm, zmax, met_of_ray[i]);
    }
    if (rc) break;
#pragma omp parallel num_threads(nthreads)
    {
#pragma omp single nowait
    {
      double t_a = omp_get_wtime();
      if (prev_r0 >= 0) rc_prev = block_finish(&done, prev, prev_r0, prev_n);
      t_prev = omp_get_wtime() - t_a;
      if (n1 > 0 && !rc_prev) rc_next = source_read(ctx, &src, r1, n1, next[0], next[1]);
      t_next = omp_get_wtime() - t_a - t_prev;
    }
#pragma omp for schedule(dynamic, 4)
    for (int i = 0; i < n; i++) {
      int me = omp_get_thread_num(), ray = r0 + i;
      size_t off = (size_t)i * G;
      cf_doppler_ray out = {{cur->cnr[0] + off, cur->cnr[1] + off}, cur->v + off, cur->vs + off,
                            {cur->pw[0] + off, cur->pw[1] + off}, {cur->ps[0] + off, cur->ps[1] + off},
                            cur->qc + off, {0, 0}, cur->pc + off};
      cf_doppler_process(&ds, spec[0] + (size_t)i * per, spec[1] + (size_t)i * per, src.pulses[CF_ON][ray],
                         src.pulses[CF_OFF][ray], l0->ray_ok[ray], pwork + (size_t)me * cf_doppler_work_size(&ds), &out);
      for (int g = 0; g < G; g++) cur->nd[off + g] = cur->nds[off + g] = cur->ppm[off + g] = cur->ppms[off + g] = NAN;
      /* a saturated ADC distorts the spectrum: such gates are rejected */
      for (int g = 0; src.clipped && g < G; g++)
        if (src.clipped[(size_t)ray * G + g]) cur->qc[off + g] |= CF_QC_HARD_TARGET;
      if (o->do_dial && l0->ray_ok[ray]) {
        cf_dial_input in = {{cur->pw[0] + off, cur->pw[1] + off}, {cur->ps[0] + off, cur->ps[1] + off}, cur->pc + off,
                            {l0->energy[0][ray], l0->energy[1][ray]}, l0->elevation[ray]};
        cf_dial_output dout = {cur->nd + off, cur->nds + off, cur->ppm + off, cur->ppms + off};
        cf_dial_process(c, &o->dial, &os.tab[met_of_ray[i]], &in, CF_QC_REJECT_VELOCITY, cur->qc + off,
                        dwork + (size_t)me * cf_dial_work_size(c), &dout);
      } else {
        for (int g = 0; g < G; g++) cur->qc[off + g] |= CF_QC_NO_CO2;
      }
    }
    } /* the team: the previous block written, the next read and this one fitted */
    double t_c = omp_get_wtime();
    t_rays += t_c - t_b - t_next - t_prev;
    t_read += t_next;
    t_sink += t_prev;
    rc = rc_prev ? rc_prev : rc_next; /* the write first: a read error after a failed write is its echo */
    prev_r0 = r0, prev_n = n, prev_slot = blk_i % 2;
  }
  if (!rc && prev_r0 >= 0) { /* the last block, after the team */
    double t_c = omp_get_wtime();
    rc = block_finish(&done, &bo[prev_slot], prev_r0, prev_n);
    t_sink += omp_get_wtime() - t_c;
  }
  cf_log(ctx, CF_LOG_DEBUG, "%s: reading %.2f s (overlapped with the fits but the first block's), writing and "
         "wind %.2f s (overlapped but the last block's), Doppler and DIAL after the I/O thread's share %.2f s",
         l0->path, t_read, t_sink, t_rays);
  if (!rc && o->do_wind) rc = scan_flush(ctx, &sb, G, o, heights, nh, levels, &scan_index, sink, user);
  if (!rc && sink->end) rc = sink->end(ctx, user);

  for (int i = 0; os.tab && i < os.n; i++)
    if (os.built && os.built[i]) cf_optics_free(&os.tab[i]);
  free(os.tab);
  free(os.built);
  cf_co2_lines_free(&lines);
  block_free(&bo[0]);
  block_free(&bo[1]);
  free(sb.v);
  free(sb.sigma);
  free(sb.valid);
  free(sb.rays);
  for (int b = 0; b < 2; b++) free(specbuf[b][0]), free(specbuf[b][1]);
  free(dwork);
  free(pwork);
  free(range);
  free(heights);
  free(levels);
  free(met_of_ray);
  cf_doppler_setup_free(&ds);
  source_free(&src);
  return rc;
}
