/*
 * The inversion of the flux estimate (estimate.h, estimate_internal.h):
 * two solves, the jackknife and the reported rates and sigmas of every
 * source and group. estimate.c gathers the observations, builds the wind
 * history and the state, and calls cf_flux_run_inversion; it first has
 * the plume model chosen by the data (the stability class, the factor on
 * sigma_z, the class term: estimate_model_choice.c), on subsamples
 * accumulated through this file's workspace (cf_flux_inv_accumulate).
 *
 * Two solves. The model error cannot be known before the model has been
 * fitted: a first solve on every third observation, with R the stated
 * measurement noise alone, gives x1; its residuals r_i = y_i - H_i x1 on
 * that subsample give the model error as a function of the predicted
 * enhancement p_i = (H x1)_i over the emission elements:
 *     E[r^2] = sigma_i^2 + floor^2 + (f p_i)^2,
 * floor from the gates the plumes do not reach (p_i below 0.1 sigma_i),
 * f from those they do (p_i above sigma_i), both by the method of moments
 * on residuals with the outliers (beyond spike_sigma) left out, both
 * >= 0. The second solve uses every observation with that R, drops those
 * whose residual from x1 exceeds spike_sigma times their sigma (spikes,
 * hard targets the L2 did not flag: a 40 ppm spike in 4 ppm noise would
 * otherwise pull a stack by tens of t/h), and is the answer.
 *
 * Jackknife. R stays diagonal, but one sweep's model errors are not
 * independent: a meander displaces the whole plume at once, so the
 * posterior covariance, which counts every gate as independent evidence,
 * is too small by a factor that depends on the weather. The sweeps are
 * cut into K contiguous blocks (default 8), each block's normal equations
 * are kept (cf_inv_sums), and the estimate is redone K times without one
 * block. The delete-a-group jackknife variance
 *     var_jk(w.x) = (K - 1) / K * sum_k (w.x_(k) - mean)^2
 * measures the spread the data really have, including what is correlated
 * within a block (Efron and Tibshirani 1993, ch. 11; blocks of contiguous
 * sweeps so that the correlation between blocks is small: a block spans
 * several meander correlation times). What the jackknife cannot see is an
 * error every block shares in the same way: the split between sources the
 * data barely tell apart (the park's stacks, 700 m apart along the wind)
 * rests on where the model puts each plume, and a direction error moves
 * that split in every block alike. The posterior therefore carries the
 * direction error each sweep's gates share ("Direction error" below, a
 * sandwich term that the sources close together feel and a lone plume's
 * total hardly does). A source's or group's reported sigma is
 * max(sqrt(posterior^2 + direction^2), jackknife): the jackknife cannot be
 * below the noise the posterior already counts except by chance, and with
 * K = 8 it is itself uncertain (7 degrees of freedom), so the posterior
 * floors it.
 *
 * Rows computed once. The plumes are most of the time (the cells' exact
 * integration above all), and the first solve's every-third rows are the
 * same numbers the second solve needs for those observations: they are
 * kept sparse (about 400 of 1,650 elements are non-zero) from the first
 * solve to the second, which computes only the other two thirds. The
 * memory is what the first solve's residuals already needed.
 *
 * Determinism: rows are computed on OpenMP threads, each alone; blocks of
 * BLOCK rows are accumulated in observation order, block sums added in
 * index order.
 *
 * Ranks (MPI; README, "Running on several nodes (MPI)"). Every pass (the
 * stability choice, the first and the second solve) cuts the observations
 * into the same nb pieces: the jackknife blocks, contiguous runs of sweeps,
 * a number fixed by the data and the settings, never by the ranks. Each
 * piece's normal equations are accumulated from zero (cf_inv_reset), in
 * observation order, and the total is ((S_0 + S_1) + S_2) + ... in piece
 * order. Piece b is computed by rank cf_par_owner(b, nb, N) alone (so only
 * it evaluates the plumes of its rows), then broadcast from it (share_sums);
 * every rank adds the pieces in the same order and solves the same
 * equations, so x, P and everything after them have the same bits for 1, 2,
 * 4 or any N ranks, and a one-process run is the same computation with one
 * owner. A plain MPI_Reduce of per-rank partial sums would not be: each
 * partition rounds differently. The first solve's kept rows stay with
 * their owner, the only rank that needs them in the second solve; their
 * residuals (three numbers a row) are broadcast per piece, so that every
 * rank estimates the model error from all of them in observation order.
 * At most nb ranks have work in an inversion (jackknife_blocks, default 8;
 * one piece when the jackknife is off); the rest wait in the broadcasts.
 */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/par.h"
#include "lidar/flux/estimate_internal.h"
#include "lidar/flux/estimate_model_choice.h"
#include "lidar/flux/inversion.h"

#define BLOCK 256

static int threads_of(cf_ctx *ctx) {
  int nt = cf_get_threads(ctx);
  if (nt <= 0) nt = omp_get_max_threads();
  return nt < 1 ? 1 : nt;
}

/* Inversion workspace (cf_flux_inv_ws to estimate_model_choice.c). */
typedef struct cf_flux_inv_ws {
  const cf_flux_state *st;
  const cf_flux_met *met;
  const cf_flux_obs *obs;
  long n_obs;
  double *H;     /* [BLOCK * n] dense rows */
  double *y, *s; /* [BLOCK] */
  int nt;
  int *row_ptr, *col; /* the kept rows as CSR: [BLOCK + 1], [BLOCK * n] */
  double *val;        /* [BLOCK * n] */
  /* the first solve's rows (observations 0, 3, 6, ...), kept for the
   * second: row k is observation 3 k, its values first_val[first_at[k] ..
   * + first_len[k]] (first_at[k] < 0: another rank's row); NULL before the
   * first solve */
  long n_first, *first_at;
  int *first_len, *first_col;
  double *first_val;
  /* the pieces (see Ranks above) */
  const cf_par *par;
  int nb, rank;
  /* the sweep-correlated direction error (see "Direction error" below):
   * du [BLOCK] the derivative of a block's rows' point-source prediction
   * by the direction, vdir [n_sweeps * n] H^T R^-1 du of each sweep;
   * dh and vhist the same for the unobserved history's rotation (see
   * "History error") */
  double *du, *vdir, *dh, *vhist;
  int use_dir;        /* 0: no direction uncertainty (sigma_theta_deg 0), nothing to compute */
} inv_ws;

/* The sweeps of piece b: [*s0, *s1). */
static void piece_sweeps(const inv_ws *ws, int b, int *s0, int *s1) {
  *s0 = (int)((long)b * ws->st->n_sweeps / ws->nb);
  *s1 = (int)((long)(b + 1) * ws->st->n_sweeps / ws->nb);
}

static int mine(const inv_ws *ws, int b) { return cf_par_owner(b, ws->nb, cf_par_size(ws->par)) == ws->rank; }

/* Every piece's sums from its owner to every rank (sums[b], b < nb; the
 * owner's rc and `count[b]` travel with them), then sums[nb] = their total
 * in piece order and the plan's sums := it. Called by every rank, with the
 * rank's own status: a failure anywhere is a failure everywhere (the
 * same status on every rank; the message is in the owner's log). */
static int share_sums(cf_ctx *ctx, inv_ws *ws, cf_inv_plan *plan, cf_inv_sums *sums, long *count, int rc) {
  size_t n = (size_t)ws->st->n;
  int any = CF_OK;
  for (int b = 0; b < ws->nb; b++) {
    int owner = cf_par_owner(b, ws->nb, cf_par_size(ws->par));
    int64_t head[3] = {owner == ws->rank ? rc : 0, sums[b].n_obs, count ? count[b] : 0};
    int crc = cf_par_bcast(ctx, ws->par, head, sizeof head, owner);
    if (crc) return crc;
    if (head[0] && !any) any = (int)head[0];
    if (any) continue; /* every rank saw the same headers: all skip alike */
    sums[b].n_obs = head[1];
    if (count) count[b] = head[2];
    crc = cf_par_bcast(ctx, ws->par, sums[b].hrh, n * n * sizeof *sums[b].hrh, owner);
    if (!crc) crc = cf_par_bcast(ctx, ws->par, sums[b].hrd, n * sizeof *sums[b].hrd, owner);
    if (!crc) crc = cf_par_bcast(ctx, ws->par, &sums[b].sumsq, sizeof sums[b].sumsq, owner);
    if (crc) return crc;
  }
  if (any) return rc ? rc : cf_error(ctx, any, CF_FLUX_WHERE, "inversion", "another rank failed (see its log)");
  cf_inv_sums *total = &sums[ws->nb];
  memset(total->hrh, 0, n * n * sizeof *total->hrh);
  memset(total->hrd, 0, n * sizeof *total->hrd);
  total->sumsq = 0, total->n_obs = 0;
  for (int b = 0; b < ws->nb; b++) cf_inv_sums_add(total, &sums[b]);
  return cf_inv_set_sums(ctx, plan, total, NULL);
}

#define FIRST_EVERY 3 /* the first solve's subsample */

/* Accumulate the dense rows k < m with keep[k] (NULL: all), y and s already
 * compacted to the kept rows, through the sparse path. */
static int accumulate_rows(cf_ctx *ctx, inv_ws *ws, cf_inv_plan *plan, int m, const unsigned char *keep) {
  /* every pass comes here each BLOCK rows (tens of ms): the place to see
   * a cancellation (SIGINT, SIGTERM, a scheduler's kill) within a second */
  if (cf_check_cancel(ctx, CF_FLUX_WHERE, NULL)) return CF_ECANCEL;
  size_t n = (size_t)ws->st->n;
  int kept = 0, nnz = 0;
  ws->row_ptr[0] = 0;
  for (int k = 0; k < m; k++) {
    if (keep && !keep[k]) continue;
    const double *row = ws->H + (size_t)k * n;
    for (size_t j = 0; j < n; j++)
      if (row[j] != 0.0) ws->col[nnz] = (int)j, ws->val[nnz++] = row[j];
    ws->row_ptr[++kept] = nnz;
  }
  return kept ? cf_inv_accumulate_sparse(ctx, plan, kept, ws->row_ptr, ws->col, ws->val, ws->y, ws->s) : CF_OK;
}

/* Rows of the observations idx[0..m-1] into ws->H, in parallel; a row
 * the first solve kept is copied, not computed again. */
static void rows_of(inv_ws *ws, const long *idx, int m) {
  size_t n = (size_t)ws->st->n;
#pragma omp parallel for schedule(dynamic, 8) num_threads(ws->nt)
  for (int i = 0; i < m; i++) {
    double *row = ws->H + (size_t)i * n;
    long k = idx[i] / FIRST_EVERY;
    if (ws->first_at && idx[i] % FIRST_EVERY == 0 && k < ws->n_first && ws->first_at[k] >= 0) {
      memset(row, 0, n * sizeof *row);
      for (long q = ws->first_at[k]; q < ws->first_at[k] + ws->first_len[k]; q++) row[ws->first_col[q]] = ws->first_val[q];
    } else {
      cf_flux_jacobian_row(ws->st, ws->met, &ws->obs[idx[i]], row);
    }
  }
}

/* Piece b's observations 0, every, 2 every, ... (those of its sweeps) with
 * their stated noise, from zero, into sums[b]; after each block of rows,
 * kept(idx, m, user) if given (the first solve keeps the rows). */
typedef int (*rows_kept_fn)(cf_ctx *ctx, inv_ws *ws, const long *idx, int m, void *user);
static int accumulate_piece(cf_ctx *ctx, inv_ws *ws, cf_inv_plan *plan, int b, long every, cf_inv_sums *sums,
                            rows_kept_fn kept, void *user) {
  long idx[BLOCK];
  int s0, s1, m = 0, rc = CF_OK;
  piece_sweeps(ws, b, &s0, &s1);
  cf_inv_reset(plan);
  for (long i = 0; i < ws->n_obs && !rc; i += every) {
    if (ws->obs[i].sweep >= s0 && ws->obs[i].sweep < s1) idx[m++] = i;
    if (m == BLOCK || (i + every >= ws->n_obs && m > 0)) {
      rows_of(ws, idx, m);
      for (int k = 0; k < m; k++) ws->y[k] = ws->obs[idx[k]].y, ws->s[k] = ws->obs[idx[k]].sigma;
      rc = accumulate_rows(ctx, ws, plan, m, NULL);
      if (!rc && kept) rc = kept(ctx, ws, idx, m, user);
      m = 0;
    }
  }
  if (!rc) cf_inv_get_sums(plan, &sums[b]);
  return rc;
}

long cf_flux_inv_n_obs(const cf_flux_inv_ws *ws) { return ws->n_obs; }

int cf_flux_inv_accumulate(cf_ctx *ctx, cf_flux_inv_ws *ws, cf_inv_plan *plan, long every, cf_inv_sums *sums) {
  int rc = CF_OK;
  for (int b = 0; b < ws->nb && !rc; b++) /* the pieces (see Ranks above) */
    if (mine(ws, b)) rc = accumulate_piece(ctx, ws, plan, b, every, sums, NULL, NULL);
  return share_sums(ctx, ws, plan, sums, NULL, rc);
}

/* Prediction of row i: total H x and the emission part. */
static void predict(const cf_flux_state *st, const double *row, const double *x, double *total, double *emis) {
  double e = 0, t = 0;
  for (int j = 0; j < st->i_sweeps; j++) e += row[j] * x[j];
  t = e;
  for (int j = st->i_sweeps; j < st->n; j++) t += row[j] * x[j];
  *total = t, *emis = e;
}

typedef struct {
  double f, floor_ppm;
  long n_plume, n_clear;
} model_error_est;

/* The first solve's rows as the pieces make them: row k's values at
 * cols/vals[at[k] .. + len[k]]. */
typedef struct {
  long *at;
  int *len, *cols;
  double *vals;
  long nnz, cap;
} kept_rows;

static int keep_rows(cf_ctx *ctx, inv_ws *ws, const long *idx, int m, void *user) {
  kept_rows *kr = user;
  long add = ws->row_ptr[m];
  if (kr->nnz + add > kr->cap) {
    long cap = 2 * (kr->nnz + add) + 1024;
    int *c2 = realloc(kr->cols, (size_t)cap * sizeof *c2);
    if (c2) kr->cols = c2;
    double *v2 = c2 ? realloc(kr->vals, (size_t)cap * sizeof *v2) : NULL;
    if (v2) kr->vals = v2;
    if (!c2 || !v2) return cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "residuals", "out of memory for %ld values", cap);
    kr->cap = cap;
  }
  memcpy(kr->cols + kr->nnz, ws->col, (size_t)add * sizeof *kr->cols);
  memcpy(kr->vals + kr->nnz, ws->val, (size_t)add * sizeof *kr->vals);
  for (int k = 0; k < m; k++) {
    kr->at[idx[k] / FIRST_EVERY] = kr->nnz + ws->row_ptr[k];
    kr->len[idx[k] / FIRST_EVERY] = ws->row_ptr[k + 1] - ws->row_ptr[k];
  }
  kr->nnz += add;
  return CF_OK;
}

/* Pass 1: a solve on every third observation with the noise alone, and the
 * model error from its residuals. x1 [n] gets the pass-1 estimate; the
 * rows of this rank's pieces stay in ws->first_* for the second pass
 * (freed by the caller). sums: [nb + 1] (pieces and total). */
static int first_pass(cf_ctx *ctx, inv_ws *ws, cf_inv_plan *plan, const cf_flux_opts *o, double *x1, double *P,
                      cf_inv_sums *sums, model_error_est *me) {
  const cf_flux_state *st = ws->st;
  int rc = CF_OK;
  /* the rows are kept (sparse) for the residuals after the solve and for
   * the second pass: a second evaluation of the plumes would cost as much
   * again */
  long n_sub = (ws->n_obs + FIRST_EVERY - 1) / FIRST_EVERY;
  long *at = malloc((size_t)(n_sub + 1) * sizeof *at);
  int *len = malloc((size_t)(n_sub + 1) * sizeof *len);
  double *res = calloc((size_t)(n_sub + 1) * 3, sizeof *res); /* residual, emission part, sigma per row */
  kept_rows kr = {at, len, NULL, NULL, 0, 0};
  if (!at || !len || !res) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "residuals", "out of memory");
  for (long k = 0; k < n_sub && !rc; k++) at[k] = -1, len[k] = 0;
  for (int b = 0; b < ws->nb && !rc; b++)
    if (mine(ws, b)) rc = accumulate_piece(ctx, ws, plan, b, FIRST_EVERY, sums, keep_rows, &kr);
  int *cols = kr.cols;
  double *vals = kr.vals;
  rc = share_sums(ctx, ws, plan, sums, NULL, rc);
  if (!rc) rc = cf_inv_solve(ctx, plan, x1, P, NULL, NULL, NULL);
  /* residuals: each rank those of its rows, then every piece's from its
   * owner (by piece, each in observation order: every rank knows which
   * rows a piece has) */
  for (long k = 0; k < n_sub && !rc; k++) {
    if (at[k] < 0) continue;
    const cf_flux_obs *ob = &ws->obs[FIRST_EVERY * k];
    double t = 0, e = 0;
    for (long q = at[k]; q < at[k] + len[k]; q++) {
      double v = vals[q] * x1[cols[q]];
      t += v;
      if (cols[q] < st->i_sweeps) e += v;
    }
    res[3 * k] = ob->y - t, res[3 * k + 1] = e, res[3 * k + 2] = ob->sigma;
  }
  double *pack = NULL;
  if (!rc && cf_par_size(ws->par) > 1) {
    pack = malloc((size_t)(n_sub + 1) * 3 * sizeof *pack);
    if (!pack) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "residuals", "out of memory");
  }
  for (int b = 0; b < ws->nb && pack && !rc; b++) {
    int s0, s1;
    long np = 0;
    piece_sweeps(ws, b, &s0, &s1);
    int owner = cf_par_owner(b, ws->nb, cf_par_size(ws->par));
    for (long k = 0; k < n_sub; k++)
      if (ws->obs[FIRST_EVERY * k].sweep >= s0 && ws->obs[FIRST_EVERY * k].sweep < s1) memcpy(pack + 3 * np++, res + 3 * k, 3 * sizeof *res);
    rc = cf_par_bcast(ctx, ws->par, pack, (size_t)np * 3 * sizeof *pack, owner);
    np = 0;
    for (long k = 0; k < n_sub && !rc; k++)
      if (ws->obs[FIRST_EVERY * k].sweep >= s0 && ws->obs[FIRST_EVERY * k].sweep < s1) memcpy(res + 3 * k, pack + 3 * np++, 3 * sizeof *res);
  }
  free(pack);
  if (rc) {
    free(at), free(len), free(cols), free(vals), free(res);
    return rc;
  }
  ws->n_first = n_sub, ws->first_at = at, ws->first_len = len, ws->first_col = cols, ws->first_val = vals;
  long nr = n_sub;
  /* residual moments */
  double clear_num = 0, plume_num = 0, plume_den = 0;
  long n_clear = 0, n_plume = 0;
  double fixed_f = o->model_error.choice == 0 ? NAN : o->model_error.value;
  double fixed_floor = o->model_floor_ppm.choice == 0 ? NAN : o->model_floor_ppm.value;
  /* two sweeps over the residuals: the floor first (needed by f) */
  for (long k = 0; k < nr; k++) {
    double r = res[3 * k], p = fabs(res[3 * k + 1]), s = res[3 * k + 2];
    if (fabs(r) > o->spike_sigma * s * 2) continue; /* spikes: far outside even a doubled noise */
    if (p < 0.1 * s) clear_num += r * r - s * s, n_clear++;
  }
  double floor2 = n_clear ? clear_num / n_clear : 0.0;
  if (floor2 < 0) floor2 = 0;
  if (isfinite(fixed_floor)) floor2 = fixed_floor * fixed_floor;
  for (long k = 0; k < nr; k++) {
    double r = res[3 * k], p = fabs(res[3 * k + 1]), s = res[3 * k + 2];
    double tot = sqrt(s * s + floor2 + p * p); /* generous: f <= 1 assumed for the outlier cut */
    if (fabs(r) > o->spike_sigma * tot) continue;
    if (p > s) plume_num += r * r - s * s - floor2, plume_den += p * p, n_plume++;
  }
  free(res);
  double f2 = plume_den > 0 ? plume_num / plume_den : 0.0;
  if (f2 < 0) f2 = 0;
  me->f = isfinite(fixed_f) ? fixed_f : sqrt(f2);
  me->floor_ppm = sqrt(floor2);
  me->n_plume = n_plume, me->n_clear = n_clear;
  return CF_OK;
}

/* Direction error. The diagonal R counts every gate of a sweep as
 * independent evidence, but the largest error of a sweep is shared by all
 * its gates: the plume axis is off by the error of the transport
 * direction, the same for the whole sweep (a meander moves every plume at
 * once). For sources close together (the park's stacks 700 m apart) that
 * error is what tells them apart in the model: a rotation about each
 * source displaces their plumes at the gates by different amounts, so the
 * split between them rests on the direction the model assumed. The error
 * of sweep s is e_i = u_i delta_s for its gates, with
 *     u_i = d(H_i x)/d(theta)     (the point sources' plumes, at x1),
 *     delta_s ~ N(0, sigma_dir^2)  (the plume axis uncertainty the models use),
 * independent between sweeps (what is correlated between sweeps is the
 * jackknife's, whose blocks are contiguous sweeps). The estimate keeps the
 * diagonal R; its error covariance is then the sandwich
 *     P + G U S U^T G^T,  G = P H^T R^-1,  so  G u_s = P v_s,
 *     v_s = sum over sweep s of h_i u_i / sigma_i^2,
 * and a quantity w . x gets the variance sigma_dir^2 sum_s (w^T P v_s)^2
 * on top of w^T P w. The diagonal of U S U^T is also in R already (the
 * model error fitted from the residuals): counted twice, but it is the
 * sum of thousands of gates' small terms against the coherent sum of the
 * correlated part, a fraction about 1 / (gates in a plume crossing) of it.
 * The cells (a city, a forest) are left out of u: a broad area's plume is
 * barely changed by a rotation, and a row's cells are the costly part;
 * the point sources' are a handful of plume evaluations. u_i by a central
 * difference of the rotated plume (+-DIR_STEP radians: the truncation is
 * (DIR_STEP x / sigma_y)^2 / 6 relative, below 1e-3 for x / sigma_y < 40). */
#define DIR_STEP 0.005

/* History error. Before the first sweep no wind was observed: the
 * history holds the first sweep's wind there (flux_met.c), and the plume
 * is widened by the meander the record shows for that share of its path
 * (the ensemble's mean plume). That widening is right for the plume's
 * expected shape and wrong for its error's correlation: the path the
 * CO2 of every sweep took before the record began is one path, so its
 * error is one rotation, shared by all sweeps, which neither the
 * per-sweep term above (independent between sweeps) nor the jackknife
 * (whose blocks all share it) can see. Model the unobserved history's
 * mean direction as off by delta ~ N(0, sigma_between^2): held over a
 * past much longer than the meander's memory, the first sweep's
 * direction is one draw of the meander about a mean the record does not
 * know better, so the error of the held direction is of the size of the
 * meander itself (the circular SD of the sweeps' directions, a lower
 * estimate from a record of a few correlation times). A plume model
 * whose travel time has the share f before the first sweep
 * (cf_flux_met_unobserved) turns by f delta, so with
 *     u^h_i = sum over the point sources p of f_ip d(H_ip x_p)/d(theta)
 * a quantity w . x gets the variance sigma_between^2 (w^T P sum_s v^h_s)^2,
 * v^h_s the sweep sums of h_i u^h_i / sigma_i^2, added in quadrature
 * outside the jackknife. The stack 8 km upwind of the benchmark's lidar
 * travels 27 minutes, all of it before the first of 12 sweeps for the
 * first and a third for the last. */

static void direction_sums(inv_ws *ws, const long *idx, int m, const unsigned char *keep, const double *x1) {
  const cf_flux_state *st = ws->st;
  size_t n = (size_t)st->n;
  if (!ws->use_dir || st->n_points == 0) return;
  const double c = cos(DIR_STEP), s = sin(DIR_STEP);
#pragma omp parallel for schedule(static) num_threads(ws->nt)
  for (int k = 0; k < m; k++) {
    const cf_flux_obs *ob = &ws->obs[idx[k]];
    cf_plume_receptor rec = {ob->e, ob->n, ob->z};
    double d = 0, h = 0;
    for (int p = 0; p < st->n_points; p++) {
      double xp = x1[st->i_points + p];
      if (xp == 0.0) continue;
      double dist = hypot(ob->e - st->pe[p], ob->n - st->pn[p]);
      const cf_plume_model *m0 = cf_flux_met_model(ws->met, ob->sweep, dist);
      cf_plume_model a = *m0, b = *m0; /* the travel direction turned by +DIR_STEP and -DIR_STEP */
      a.de = c * m0->de - s * m0->dn, a.dn = s * m0->de + c * m0->dn;
      b.de = c * m0->de + s * m0->dn, b.dn = -s * m0->de + c * m0->dn;
      double dp = xp * (cf_plume_point(&a, st->pe[p], st->pn[p], st->ph[p], &rec) -
                        cf_plume_point(&b, st->pe[p], st->pn[p], st->ph[p], &rec)) / (2 * DIR_STEP);
      d += dp;
      h += dp * cf_flux_met_unobserved(ws->met, ob->sweep, dist);
    }
    ws->du[k] = d;
    ws->dh[k] = h;
  }
  /* v_s += h_i u_i / sigma_i^2 over the kept rows, in observation order */
  int r = 0;
  for (int k = 0; k < m; k++) {
    if (keep && !keep[k]) continue;
    double f = ws->du[k] / (ws->s[r] * ws->s[r]), g = ws->dh[k] / (ws->s[r] * ws->s[r]);
    double *v = ws->vdir + (size_t)ws->obs[idx[k]].sweep * n, *vh = ws->vhist + (size_t)ws->obs[idx[k]].sweep * n;
    if (f != 0.0)
      for (int q = ws->row_ptr[r]; q < ws->row_ptr[r + 1]; q++) v[ws->col[q]] += ws->val[q] * f;
    if (g != 0.0)
      for (int q = ws->row_ptr[r]; q < ws->row_ptr[r + 1]; q++) vh[ws->col[q]] += ws->val[q] * g;
    r++;
  }
}

/* Pass 2: every observation with the model error, outliers dropped, the
 * sums of each jackknife block (= piece) kept in sums[b] and their total
 * in sums[nb] and the plan, on every rank. */
static int second_pass(cf_ctx *ctx, inv_ws *ws, cf_inv_plan *plan, const model_error_est *me, const double *x1,
                       double spike_sigma, cf_inv_sums *sums, long *n_used, long *n_outliers) {
  const cf_flux_state *st = ws->st;
  long idx[BLOCK];
  long *outl = calloc((size_t)ws->nb + 1, sizeof *outl); /* outliers by piece */
  int rc = outl ? CF_OK : cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "inversion", "out of memory");
  *n_used = *n_outliers = 0;
  for (int b = 0; b < ws->nb && !rc; b++) {
    if (!mine(ws, b)) continue;
    cf_inv_reset(plan);
    /* the observations of this block's sweeps: obs are in file order, sweeps
     * in time order, so select by sweep (one pass over all per block) */
    int s0, s1, m = 0;
    piece_sweeps(ws, b, &s0, &s1);
    for (long i = 0; i < ws->n_obs && !rc; i++) {
      int sw = ws->obs[i].sweep;
      if (sw >= s0 && sw < s1) idx[m++] = i;
      if (m == BLOCK || (i + 1 == ws->n_obs && m > 0)) {
        rows_of(ws, idx, m);
        int kept = 0;
        unsigned char keep[BLOCK];
        for (int k = 0; k < m; k++) {
          const double *row = ws->H + (size_t)k * st->n;
          double t, e;
          predict(st, row, x1, &t, &e);
          const cf_flux_obs *ob = &ws->obs[idx[k]];
          double sig = sqrt(ob->sigma * ob->sigma + me->floor_ppm * me->floor_ppm + (me->f * e) * (me->f * e));
          keep[k] = !(fabs(ob->y - t) > spike_sigma * sig);
          if (!keep[k]) {
            outl[b]++;
            continue;
          }
          ws->y[kept] = ob->y, ws->s[kept] = sig;
          kept++;
        }
        rc = accumulate_rows(ctx, ws, plan, m, keep);
        if (!rc) direction_sums(ws, idx, m, keep, x1);
        m = 0;
      }
    }
    if (!rc) cf_inv_get_sums(plan, &sums[b]);
  }
  if (outl) rc = share_sums(ctx, ws, plan, sums, outl, rc);
  for (int b = 0; b < ws->nb && !rc; b++) *n_used += sums[b].n_obs, *n_outliers += outl[b];
  free(outl);
  return rc;
}


int cf_flux_run_inversion(cf_ctx *ctx, const cf_flux_state *st, const cf_flux_model_args *ma, const cf_flux_obs *obs,
                         long n_obs, const cf_flux_sources *src, const cf_flux_opts *o, cf_flux_result *res) {
  const cf_flux_met *met = ma->met;
  size_t n = (size_t)st->n;
  cf_inv_params q = {0};
  q.n = st->n;
  q.x_a = st->x_a;
  q.sigma_a = st->sigma_a;
  q.prior = o->prior_corr_m > 0 ? CF_INV_PRIOR_EXPONENTIAL : CF_INV_PRIOR_DIAGONAL;
  q.dim = 2;
  q.pos = st->pos;
  q.corr_length = o->prior_corr_m;
  q.source = st->nonneg;
  q.max_block = BLOCK;
  cf_inv_plan *plan = NULL;
  int rc = cf_inv_plan_create(ctx, &q, &plan);
  if (rc) return rc;
  inv_ws ws = {0};
  ws.st = st, ws.met = met, ws.obs = obs, ws.n_obs = n_obs, ws.nt = threads_of(ctx);
  ws.par = cf_ctx_par(ctx), ws.rank = cf_par_rank(ws.par);
  ws.H = malloc((size_t)BLOCK * n * sizeof *ws.H);
  ws.row_ptr = malloc((BLOCK + 1) * sizeof *ws.row_ptr);
  ws.col = malloc((size_t)BLOCK * n * sizeof *ws.col);
  ws.val = malloc((size_t)BLOCK * n * sizeof *ws.val);
  ws.y = malloc(BLOCK * sizeof *ws.y);
  ws.s = malloc(BLOCK * sizeof *ws.s);
  ws.du = malloc(BLOCK * sizeof *ws.du);
  ws.vdir = calloc((size_t)st->n_sweeps * n + 1, sizeof *ws.vdir);
  ws.dh = malloc(BLOCK * sizeof *ws.dh);
  ws.vhist = calloc((size_t)st->n_sweeps * n + 1, sizeof *ws.vhist);
  ws.use_dir = ma->sdir > 0;
  double *pw = malloc(n * sizeof *pw); /* P0 w of a quantity (the direction error) */
  double *x1 = malloc(n * sizeof *x1), *x = malloc(n * sizeof *x), *P = malloc(n * n * sizeof *P);
  double *P0 = malloc(n * n * sizeof *P0);
  double *Pj = NULL, *xj = NULL, *adiag = malloc(n * sizeof *adiag);
  unsigned char *pinned = calloc(n, 1);
  int K = o->jackknife_blocks;
  if (K > st->n_sweeps / 2) K = st->n_sweeps / 2; /* at least 2 sweeps a block */
  if (K < 2) K = 0;
  int nb = K ? K : 1;
  ws.nb = nb;
  {
    int size = cf_par_size(ws.par), lo = nb, hi = -1;
    for (int b = 0; b < nb; b++)
      if (mine(&ws, b)) lo = b < lo ? b : lo, hi = b;
    if (hi >= 0)
      cf_log(ctx, CF_LOG_DEBUG, "flux: rank %d of %d computes pieces %d..%d of %d", ws.rank, size, lo, hi, nb);
    else
      cf_log(ctx, CF_LOG_DEBUG, "flux: rank %d of %d has none of the %d pieces", ws.rank, size, nb);
  }
  cf_inv_sums *sums = calloc((size_t)nb + 1, sizeof *sums);
  if (!ws.H || !ws.row_ptr || !ws.col || !ws.val || !ws.y || !ws.s || !ws.du || !ws.vdir || !ws.dh || !ws.vhist || !pw || !x1 || !x || !P || !P0 || !adiag || !pinned || !sums)
    rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "inversion", "out of memory for %zu state elements", n);
  for (int b = 0; b <= nb && !rc; b++) rc = cf_inv_sums_init(ctx, st->n, &sums[b]);
  /* the reported quantities: every source, then every group (W: their weights) */
  int ng = 0;
  char **gname = NULL;
  if (!rc) {
    gname = calloc((size_t)src->n + 1, sizeof *gname);
    if (!gname) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "groups", "out of memory");
    for (int k = 0; k < src->n && !rc; k++) {
      if (!src->src[k].group) continue;
      int g = 0;
      while (g < ng && strcmp(gname[g], src->src[k].group)) g++;
      if (g == ng) gname[ng++] = src->src[k].group;
    }
  }
  int nq = src->n + ng;
  double *W = NULL, *jk = NULL;
  if (!rc) {
    W = calloc((size_t)nq * n, sizeof *W);
    jk = calloc((size_t)(K ? K : 1) * nq, sizeof *jk);
    if (!W || !jk) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "groups", "out of memory");
  }
  if (!rc) {
    memcpy(W, st->w, (size_t)src->n * n * sizeof *W);
    for (int k = 0; k < src->n; k++)
      for (int g = 0; g < ng; g++)
        if (src->src[k].group && !strcmp(src->src[k].group, gname[g]))
          for (size_t j = 0; j < n; j++) W[(size_t)(src->n + g) * n + j] += st->w[(size_t)k * n + j];
  }
  double *spread = NULL; /* [nq] half the difference between the two best-fitting classes */
  if (!rc) {
    spread = calloc((size_t)nq + 1, sizeof *spread);
    if (!spread) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "stability", "out of memory");
  }
  double j_class = NAN; /* the class selection's J of the class kept, at sigma_z_scale 1 */
  if (!rc && ma->auto_stab) rc = cf_flux_choose_stability(ctx, &ws, plan, ma, W, nq, sums, x1, P, spread, &j_class, res);
  if (!rc && ma->auto_sz) {
    cf_stability stab = (cf_stability)(res->diag.stability - 'A');
    double s = 1;
    rc = cf_flux_choose_sz_scale(ctx, &ws, plan, ma, stab, j_class, sums, x1, P, &s);
    if (!rc) {
      res->diag.sigma_z_scale = s;
      ma->met->sigma_z_scale = s;
      rc = cf_flux_met_models(ctx, ma->met, stab, ma->blh, ma->n_air, ma->sdir, ma->max_dist);
      if (!rc) rc = cf_flux_state_tables(ctx, ma->st, ma->met, ma->obs, ws.n_obs);
    }
  }
  model_error_est me = {0};
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "flux: inversion of %d state elements from %ld observations (%d sweeps, %d jackknife "
                             "blocks)", st->n, n_obs, st->n_sweeps, K);
    rc = cf_progress(ctx, 0.05, "flux: first solve (model error)");
  }
  if (!rc) rc = first_pass(ctx, &ws, plan, o, x1, P, sums, &me);
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "flux: model error %.3f of the enhancement, floor %.3f ppm (%ld plume, %ld clear gates)",
           me.f, me.floor_ppm, me.n_plume, me.n_clear);
    rc = cf_progress(ctx, 0.3, "flux: second solve");
  }
  long n_used = 0, n_out = 0;
  if (!rc) rc = second_pass(ctx, &ws, plan, &me, x1, o->spike_sigma, sums, &n_used, &n_out);
  /* each piece's direction sums from its owner (see Ranks above) */
  for (int b = 0; b < ws.nb && !rc && cf_par_size(ws.par) > 1; b++) {
    int s0, s1;
    piece_sweeps(&ws, b, &s0, &s1);
    rc = cf_par_bcast(ctx, ws.par, ws.vdir + (size_t)s0 * n, (size_t)(s1 - s0) * n * sizeof *ws.vdir,
                      cf_par_owner(b, ws.nb, cf_par_size(ws.par)));
    if (!rc)
      rc = cf_par_bcast(ctx, ws.par, ws.vhist + (size_t)s0 * n, (size_t)(s1 - s0) * n * sizeof *ws.vhist,
                        cf_par_owner(b, ws.nb, cf_par_size(ws.par)));
  }
  cf_inv_diag dg = {0};
  if (!rc) rc = cf_inv_solve_ex(ctx, plan, x, P, P0, adiag, pinned, &dg); /* the plan holds the total */
  if (!rc && K) {
    Pj = malloc(n * n * sizeof *Pj);
    xj = malloc(n * sizeof *xj);
    if (!Pj || !xj) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "jackknife", "out of memory");
    /* replicates only for blocks with observations (an empty block's
     * replicate is the full estimate and would shrink the spread) */
    int kept = 0;
    for (int b = 0; b < K && !rc; b++) {
      if (sums[b].n_obs == 0) continue;
      rc = cf_progress(ctx, 0.6 + 0.35 * b / K, "flux: jackknife");
      if (!rc) rc = cf_inv_set_sums(ctx, plan, &sums[nb], &sums[b]);
      if (!rc) rc = cf_inv_solve(ctx, plan, xj, Pj, NULL, NULL, NULL);
      if (rc == CF_EDATA) { /* a replicate without enough data: no jackknife, not no answer */
        cf_log(ctx, CF_LOG_WARN, "flux: jackknife replicate without block %d cannot be solved (%s): sigma is the "
                                 "posterior's and the model error's alone", b, cf_error_message(ctx));
        cf_error_clear(ctx);
        rc = CF_OK;
        kept = 0;
        break;
      }
      for (int qk = 0; qk < nq && !rc; qk++) {
        double t = 0;
        for (size_t j = 0; j < n; j++) t += W[(size_t)qk * n + j] * xj[j];
        jk[(size_t)kept * nq + qk] = t;
      }
      kept++;
    }
    K = kept >= 2 ? kept : 0;
  }
  if (!rc) {
    res->n_sources = src->n;
    res->sources = calloc((size_t)src->n + 1, sizeof *res->sources);
    res->n_groups = ng;
    res->groups = calloc((size_t)ng + 1, sizeof *res->groups);
    if (!res->sources || !res->groups) rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "result", "out of memory");
  }
  for (int qk = 0; qk < nq && !rc; qk++) {
    const double *w = W + (size_t)qk * n;
    double tot, sig, sjk = NAN;
    /* The rate from the constrained x; its sigma from the UNCONSTRAINED
     * posterior covariance P0: an element pinned at 0 by non-negativity
     * has zero variance in the conditioned P, and its correlated
     * neighbours (a park's stacks 700 m apart) lose what they share with
     * it, which would report them as better known than the data make
     * them. P0 is honest, if conservative about the bound at 0. */
    double tot0;
    rc = cf_inv_group(ctx, st->n, w, x, P0, &tot0, &sig);
    if (rc) break;
    /* the direction error shared by each sweep's gates (see "Direction
     * error"): sigma_dir^2 sum_s (w^T P0 v_s)^2 on top of w^T P0 w */
    for (size_t i = 0; i < n; i++) {
      double t = 0;
      for (size_t j = 0; j < n; j++) t += P0[i * n + j] * w[j];
      pw[i] = t;
    }
    double sdir = ma->sdir * 3.14159265358979323846 / 180, var_dir = 0;
    for (int sw = 0; sw < st->n_sweeps; sw++) {
      double a = 0;
      for (size_t j = 0; j < n; j++) a += pw[j] * ws.vdir[(size_t)sw * n + j];
      var_dir += sdir * sdir * a * a;
    }
    /* the unobserved history's rotation, shared by every sweep (see
     * "History error"): sigma_between^2 (w^T P0 sum_s vhist_s)^2 */
    double ah = 0, sb = met->sigma_between_deg * 3.14159265358979323846 / 180;
    for (int sw = 0; sw < st->n_sweeps; sw++)
      for (size_t j = 0; j < n; j++) ah += pw[j] * ws.vhist[(size_t)sw * n + j];
    double shist = ws.use_dir ? sb * fabs(ah) : 0.0;
    double sdirt = sqrt(var_dir), sig_dir = sqrt(sig * sig + var_dir);
    tot = 0;
    for (size_t j = 0; j < n; j++) tot += w[j] * x[j];
    if (K) {
      double mean = 0, ss = 0;
      for (int b = 0; b < K; b++) mean += jk[(size_t)b * nq + qk];
      mean /= K;
      for (int b = 0; b < K; b++) ss += (jk[(size_t)b * nq + qk] - mean) * (jk[(size_t)b * nq + qk] - mean);
      sjk = sqrt((K - 1.0) / K * ss);
    }
    double sigma = isfinite(sjk) && sjk > sig_dir ? sjk : sig_dir;
    sigma = sqrt(sigma * sigma + shist * shist + spread[qk] * spread[qk]);
    if (qk < src->n) {
      cf_flux_source_result *r = &res->sources[qk];
      const cf_flux_source *s = &src->src[qk];
      r->estimated = 1;
      r->rate_t_h = tot, r->sigma_t_h = sigma, r->sigma_posterior_t_h = sig, r->sigma_jackknife_t_h = sjk;
      r->sigma_direction_t_h = sdirt, r->sigma_history_t_h = shist, r->sigma_class_t_h = spread[qk];
      double num = 0, den = 0;
      int pin = 0;
      for (size_t j = 0; j < n; j++)
        if (w[j] != 0) num += w[j] * w[j] * adiag[j], den += w[j] * w[j], pin |= pinned[j] && s->kind == CF_SOURCE_POINT;
      r->avg_kernel = den > 0 ? num / den : NAN;
      r->constrained = pin;
    } else {
      cf_flux_group_result *g = &res->groups[qk - src->n];
      g->name = strdup(gname[qk - src->n]);
      if (!g->name) {
        rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "groups", "out of memory");
        break;
      }
      g->rate_t_h = tot, g->sigma_t_h = sigma, g->sigma_posterior_t_h = sig, g->sigma_jackknife_t_h = sjk;
      g->sigma_direction_t_h = sdirt, g->sigma_history_t_h = shist, g->sigma_class_t_h = spread[qk];
      for (int k = 0; k < src->n; k++)
        if (src->src[k].group && !strcmp(src->src[k].group, g->name)) g->n_members++, g->prior_t_h += src->src[k].prior_t_per_h;
      g->members = malloc((size_t)g->n_members * sizeof *g->members);
      if (!g->members) {
        rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "groups", "out of memory");
        break;
      }
      int c = 0;
      for (int k = 0; k < src->n; k++)
        if (src->src[k].group && !strcmp(src->src[k].group, g->name)) g->members[c++] = k;
    }
  }
  /* the map */
  if (!rc) {
    cf_flux_grid *gr = &res->grid;
    size_t nc = (size_t)st->n_cells;
    gr->nx = st->nx, gr->ny = st->ny, gr->west_m = st->west, gr->north_m = st->north, gr->res_m = st->res;
    gr->flux_umol_m2_s = malloc(nc * sizeof(double));
    gr->sigma_umol_m2_s = malloc(nc * sizeof(double));
    gr->prior_umol_m2_s = malloc(nc * sizeof(double));
    gr->avg_kernel = malloc(nc * sizeof(double));
    if (!gr->flux_umol_m2_s || !gr->sigma_umol_m2_s || !gr->prior_umol_m2_s || !gr->avg_kernel)
      rc = cf_error(ctx, CF_ENOMEM, CF_FLUX_WHERE, "map", "out of memory");
    for (size_t c = 0; c < nc && !rc; c++) {
      gr->flux_umol_m2_s[c] = cf_flux_cell_t_h_to_umol(x[c], st->cell_area);
      gr->sigma_umol_m2_s[c] = cf_flux_cell_t_h_to_umol(sqrt(P0[c * n + c]), st->cell_area);
      gr->prior_umol_m2_s[c] = cf_flux_cell_t_h_to_umol(st->x_a[c], st->cell_area);
      gr->avg_kernel[c] = adiag[c];
    }
  }
  if (!rc) {
    cf_flux_diag *d = &res->diag;
    d->n_obs = n_used, d->n_outliers = n_out, d->n_state = st->n;
    d->dofs = dg.dofs, d->chi2_per_obs = dg.chi2_per_obs, d->j_obs = dg.j_obs, d->j_prior = dg.j_prior, d->rcond = dg.rcond, d->n_constrained = dg.n_constrained;
    d->model_error_fraction = me.f, d->model_floor_ppm = me.floor_ppm, d->jackknife_blocks = K;
  }
  free(W), free(jk), free(gname), free(spread);
  for (int b = 0; b <= nb && sums; b++) cf_inv_sums_free(&sums[b]);
  free(sums);
  free(ws.first_at), free(ws.first_len), free(ws.first_col), free(ws.first_val);
  free(ws.H), free(ws.row_ptr), free(ws.col), free(ws.val), free(ws.y), free(ws.s), free(ws.du), free(ws.vdir), free(ws.dh), free(ws.vhist), free(pw), free(x1), free(x), free(P), free(P0), free(Pj), free(xj), free(adiag), free(pinned);
  cf_inv_plan_destroy(plan);
  return rc;
}

