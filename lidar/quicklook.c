/* Quicklook plots with PLplot; see quicklook.h. */
#include "lidar/quicklook.h"

#include <math.h>
#include <netcdf.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fsutil.h"

#define CO2_SIGMA_MAX 25.0 /* ppm: CO2 gates less certain are not drawn */

typedef struct {
  size_t nt, nr;
  double *time, *range, *az, *el;
} l2_axes;

/* What the second title line says: where and from what the data come. */
typedef struct {
  char *source, *input; /* instrument id, L0 file name (NULL if unknown) */
  double lat, lon;      /* NAN if unknown */
} l2_site;

/* Masked gates are painted this grey, a colour neither map has: the
 * diverging map's white is 0 m/s, not "no data". */
#define MASK_R 190
#define MASK_G 190
#define MASK_B 190
#define MASK_COL0 15

static double *read_var(cf_ctx *ctx, int nc, const char *path, const char *name, size_t expect, int *rc) {
  int id;
  double *v = NULL;
  if (*rc) return NULL;
  if (nc_inq_varid(nc, name, &id) != NC_NOERR) {
    *rc = cf_error(ctx, CF_EDATA, path, name, "variable missing from the L2 file");
    return NULL;
  }
  v = malloc((expect ? expect : 1) * sizeof *v);
  if (!v || nc_get_var_double(nc, id, v) != NC_NOERR) {
    free(v);
    *rc = cf_error(ctx, CF_EIO, path, name, "cannot read");
    return NULL;
  }
  float fill;
  if (nc_get_att_float(nc, id, "_FillValue", &fill) == NC_NOERR)
    for (size_t i = 0; i < expect; i++)
      if (v[i] == (double)fill) v[i] = NAN;
  return v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* p-quantile of the finite values (NAN if none). */
static double quantile(const double *v, size_t n, double p) {
  double *c = malloc((n ? n : 1) * sizeof *c);
  size_t m = 0;
  for (size_t i = 0; c && i < n; i++)
    if (isfinite(v[i])) c[m++] = v[i];
  double q = NAN;
  if (c && m) {
    qsort(c, m, sizeof *c, cmp_double);
    q = c[(size_t)(p * (m - 1))];
  }
  free(c);
  return q;
}

/* Colour map 1: a blue-white-red ramp for signed quantities, a dark-blue to
 * yellow ramp (viridis-like) otherwise. */
static void set_cmap(int diverging) {
  if (diverging) {
    PLFLT pos[3] = {0, 0.5, 1}, r[3] = {0.13, 0.97, 0.70}, g[3] = {0.30, 0.97, 0.09}, b[3] = {0.63, 0.97, 0.17};
    plscmap1l(1, 3, pos, r, g, b, NULL);
  } else {
    PLFLT pos[5] = {0, 0.25, 0.5, 0.75, 1}, r[5] = {0.27, 0.23, 0.13, 0.37, 0.99}, g[5] = {0.00, 0.32, 0.57, 0.79, 0.91},
          b[5] = {0.33, 0.55, 0.55, 0.38, 0.14};
    plscmap1l(1, 5, pos, r, g, b, NULL);
  }
}

/* PLplot and cairo do not report a failed write: a full disk leaves a
 * 0-byte or truncated PNG behind a successful plend1(). A PNG is complete
 * when it ends with its IEND chunk (length 0, "IEND", fixed CRC). Returns
 * non-zero, with the error in the context, if it is not. */
static int png_complete(cf_ctx *ctx, const char *out, const char *part) {
  static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  unsigned char tail[12];
  struct stat st;
  FILE *f = fopen(part, "rb");
  int ok = f && stat(part, &st) == 0 && st.st_size >= 8 + 12 && fseek(f, -12L, SEEK_END) == 0 &&
           fread(tail, 1, 12, f) == 12 && memcmp(tail, iend, 12) == 0;
  if (f) fclose(f);
  if (ok) return 0;
  /* the writes' errno is lost inside cairo: tell a full disk by its free
   * space (a quicklook is ~100 KB, so under 256 KB left is full for it) */
  int full = cf_write_errno(part, 0, 256.0 * 1024) == ENOSPC;
  cf_error(ctx, CF_EIO, out, "", "the PNG was not written completely (%lld bytes, no IEND chunk): %s",
           f ? (long long)st.st_size : 0LL, full ? "No space left on device" : "write failed");
  return 1;
}

/* A global or variable text attribute (NC_CHAR or NC_STRING) as a
 * malloc'ed string, NULL if absent. */
static char *text_att(int nc, int var, const char *name) {
  nc_type type;
  size_t len;
  if (nc_inq_att(nc, var, name, &type, &len) != NC_NOERR) return NULL;
  if (type == NC_CHAR) {
    char *t = malloc(len + 1);
    if (t && nc_get_att_text(nc, var, name, t) == NC_NOERR) {
      t[len] = '\0';
      return t;
    }
    free(t);
  } else if (type == NC_STRING && len == 1) {
    char *sp = NULL;
    char *t = NULL;
    if (nc_get_att_string(nc, var, name, &sp) == NC_NOERR && sp) {
      t = malloc(strlen(sp) + 1);
      if (t) strcpy(t, sp);
      nc_free_string(1, &sp);
    }
    return t;
  }
  return NULL;
}

static double scalar_or_nan(int nc, const char *name) {
  int id;
  double v = NAN;
  if (nc_inq_varid(nc, name, &id) != NC_NOERR || nc_get_var_double(nc, id, &v) != NC_NOERR) return NAN;
  return v;
}

/* The input file's name from `history` ("... (carbonflux V, input NAME)",
 * l2_write.c); NULL if it does not say. */
static char *input_from_history(const char *h) {
  const char *key = ", input ";
  const char *p = NULL;
  for (const char *q = h ? strstr(h, key) : NULL; q; q = strstr(q + 1, key)) p = q;
  if (!p) return NULL;
  p += strlen(key);
  const char *e = strrchr(p, ')');
  size_t n = e ? (size_t)(e - p) : strlen(p);
  char *t = malloc(n + 1);
  if (t) memcpy(t, p, n), t[n] = '\0';
  return t;
}

/* "2026-11-30 10:00:00 to 10:48:00 UTC | site LIDSIM-01, 47.3800 N 8.5400 E | input a.h5" */
static void subtitle(char *buf, size_t n, const double *t, size_t nt, const l2_site *site) {
  char a[32] = "?", b[32] = "?";
  time_t t0 = (time_t)floor(t[0]), t1 = (time_t)floor(t[nt - 1]);
  struct tm m0, m1;
  int same_day = 0;
  if (isfinite(t[0]) && gmtime_r(&t0, &m0)) strftime(a, sizeof a, "%Y-%m-%d %H:%M:%S", &m0);
  if (isfinite(t[nt - 1]) && gmtime_r(&t1, &m1)) {
    same_day = isfinite(t[0]) && m0.tm_year == m1.tm_year && m0.tm_yday == m1.tm_yday;
    strftime(b, sizeof b, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &m1);
  }
  size_t k = (size_t)snprintf(buf, n, "%s to %s UTC | site %s", a, b, site->source ? site->source : "unknown");
  if (k < n && isfinite(site->lat) && isfinite(site->lon))
    k += (size_t)snprintf(buf + k, n - k, ", %.4f %c %.4f %c", fabs(site->lat), site->lat < 0 ? 'S' : 'N',
                          fabs(site->lon), site->lon < 0 ? 'W' : 'E');
  if (k < n && site->input) snprintf(buf + k, n - k, " | input %s", site->input);
}

void cf_quicklook_title(char *out, size_t n, const char *quantity, const char *units, const char *detail) {
  snprintf(out, n, "%s (%s)%s%s", quantity, units, detail && detail[0] ? ", " : "", detail ? detail : "");
}

static int plot_one(cf_ctx *ctx, const char *out, const l2_axes *ax, int ppi, const double *val, const char *title,
                    const char *sub, const char *units, double zmin, double zmax, int diverging) {
  cf_atomic_file af;
  int rc = cf_atomic_begin(ctx, out, &af);
  if (rc) return rc;
  size_t nx = ax->nt, ny = ax->nr;
  PLFLT **z = malloc(nx * sizeof *z);
  PLFLT *store = malloc(nx * ny * sizeof *store);
  if (!z || !store) {
    free(z);
    free(store);
    cf_atomic_end(&af);
    return cf_error(ctx, CF_ENOMEM, out, "", "out of memory");
  }
  for (size_t i = 0; i < nx; i++) {
    z[i] = store + i * ny;
    for (size_t j = 0; j < ny; j++) {
      double v = val[i * ny + j];
      /* masked: below the range, so plimagefr leaves it out (the grey
       * background shows); valid: clamped in */
      z[i][j] = isfinite(v) ? fmin(fmax(v, zmin), zmax) : zmin - 1e30;
    }
  }
  double x0, x1;
  const char *xlabel;
  if (ppi) {
    x0 = ax->az[0], x1 = ax->az[nx - 1];
    xlabel = "azimuth (degree from north)";
  } else {
    x0 = 0, x1 = (ax->time[nx - 1] - ax->time[0]) / 60.0;
    if (x1 <= x0) x1 = x0 + 1.0 / 60;
    xlabel = "time since first ray (min)";
  }
  double y0 = ax->range[0] / 1000.0, y1 = ax->range[ny - 1] / 1000.0;
  PLINT strm;
  plmkstrm(&strm);
  plsdev("pngcairo");
  plsfnam(af.part_path);
  plspage(0, 0, 1000, 600, 0, 0);
  /* white paper, dark ink (PLplot's default is red on black) */
  plscol0(0, 255, 255, 255);
  plscol0(1, 20, 20, 20);
  plscol0(MASK_COL0, MASK_R, MASK_G, MASK_B);
  plinit();
  pladv(0);
  plcol0(1);
  plvpor(0.09, 0.83, 0.12, 0.88);
  plwind(x0, x1, y0, y1);
  /* the no-data colour under the image */
  PLFLT bx[4] = {x0, x1, x1, x0}, by[4] = {y0, y0, y1, y1};
  plcol0(MASK_COL0);
  plfill(4, bx, by);
  set_cmap(diverging);
  /* plimagefr, not plimage: plimage scales colours to the data's own
   * extremes, which the blank (masked) cells would set */
  plimagefr((PLFLT_MATRIX)z, (PLINT)nx, (PLINT)ny, x0, x1, y0, y1, zmin, zmax, zmin, zmax, NULL, NULL);
  plcol0(1);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab(xlabel, "range (km)", title);
  /* the second title line: date and UTC span, site, input file */
  plschr(0, 0.6);
  plmtex("t", 0.9, 0.5, 0.5, sub);
  plmtex("b", 3.4, 1.12, 0.5, "grey: no data");
  plschr(0, 1.0);
  /* colour bar with the units */
  PLINT label_opts[1] = {PL_COLORBAR_LABEL_RIGHT};
  const char *labels[1] = {units};
  const char *axis_opts[1] = {"bcvtm"};
  PLFLT ticks[1] = {0.0};
  PLINT sub_ticks[1] = {0};
  PLINT n_values[1] = {2};
  PLFLT cvals[2] = {zmin, zmax};
  const PLFLT *values[1] = {cvals};
  PLFLT cw, ch;
  plcolorbar(&cw, &ch, PL_COLORBAR_GRADIENT, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.03, 0.76, 0, 1, 1,
             0.0, 0.0, 0, 0.0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks, n_values, values);
  plend1();
  free(z);
  free(store);
  rc = !cf_file_exists(af.part_path)
           ? cf_error(ctx, CF_EIO, out, "", "PLplot wrote nothing (is plplot-driver-cairo installed?)")
           : png_complete(ctx, out, af.part_path) ? cf_error_code(ctx) : cf_atomic_commit(ctx, &af);
  cf_atomic_end(&af);
  return rc;
}

/* A PPI: one low elevation and azimuths spreading over more than 10
 * degrees, clockwise, in rays [i0, i0+n). */
static int is_ppi(const l2_axes *ax, size_t i0, size_t n) {
  if (n < 2) return 0;
  double elmin = ax->el[i0], elmax = elmin, azmin = ax->az[i0], azmax = azmin;
  for (size_t i = i0 + 1; i < i0 + n; i++) {
    elmin = fmin(elmin, ax->el[i]), elmax = fmax(elmax, ax->el[i]);
    azmin = fmin(azmin, ax->az[i]), azmax = fmax(azmax, ax->az[i]);
  }
  return elmax - elmin < 1.0 && elmax < 30.0 && azmax - azmin > 10.0 && ax->az[i0 + n - 1] > ax->az[i0];
}

/* Rays [i0, i0+n) as axes of their own (pointers into ax). */
static l2_axes sub_axes(const l2_axes *ax, size_t i0, size_t n) {
  l2_axes s = *ax;
  s.nt = n;
  s.time += i0, s.az += i0, s.el += i0;
  return s;
}

static int add_path(cf_ctx *ctx, char ***paths, int *n, char *out) {
  char **np = realloc(*paths, (size_t)(*n + 1) * sizeof *np);
  if (!np) {
    free(out);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  *paths = np;
  (*paths)[(*n)++] = out;
  return CF_OK;
}

int cf_quicklook_write(cf_ctx *ctx, const char *l2_path, const char *prefix, char ***paths, int *n) {
  int nc;
  if (nc_open(l2_path, NC_NOWRITE, &nc) != NC_NOERR) return cf_error(ctx, CF_EDATA, l2_path, "", "cannot open as NetCDF");
  int dt, dr, rc = CF_OK, n0 = *n;
  l2_axes ax = {0};
  if (nc_inq_dimid(nc, "time", &dt) || nc_inq_dimid(nc, "range", &dr) || nc_inq_dimlen(nc, dt, &ax.nt) ||
      nc_inq_dimlen(nc, dr, &ax.nr)) {
    nc_close(nc);
    return cf_error(ctx, CF_EDATA, l2_path, "time", "not an L2 file (no time and range dimensions)");
  }
  if (ax.nt < 2 || ax.nr < 2) {
    nc_close(nc);
    return cf_error(ctx, CF_EDATA, l2_path, "time", "too few rays or gates to plot (%zu x %zu)", ax.nt, ax.nr);
  }
  size_t m = ax.nt * ax.nr;
  ax.time = read_var(ctx, nc, l2_path, "time", ax.nt, &rc);
  ax.range = read_var(ctx, nc, l2_path, "range", ax.nr, &rc);
  ax.az = read_var(ctx, nc, l2_path, "azimuth", ax.nt, &rc);
  ax.el = read_var(ctx, nc, l2_path, "elevation", ax.nt, &rc);
  double *cnr_on = read_var(ctx, nc, l2_path, "cnr_on", m, &rc);
  double *cnr = read_var(ctx, nc, l2_path, "cnr_off", m, &rc);
  double *vr = read_var(ctx, nc, l2_path, "radial_velocity", m, &rc);
  double *co2 = read_var(ctx, nc, l2_path, "co2_mole_fraction", m, &rc);
  double *co2_sigma = read_var(ctx, nc, l2_path, "co2_mole_fraction_uncertainty", m, &rc);
  int sid_var;
  double *scan_id = nc_inq_varid(nc, "scan_id", &sid_var) == NC_NOERR ? read_var(ctx, nc, l2_path, "scan_id", ax.nt, &rc) : NULL;
  l2_site site = {text_att(nc, NC_GLOBAL, "source"), NULL, scalar_or_nan(nc, "latitude"), scalar_or_nan(nc, "longitude")};
  {
    char *h = text_att(nc, NC_GLOBAL, "history");
    site.input = text_att(nc, NC_GLOBAL, "input_file"); /* if a writer gives it its own attribute */
    if (!site.input) site.input = input_from_history(h);
    free(h);
  }
  nc_close(nc);
  /* CO2 is drawn only where known to better than 25 ppm: single gates of
   * short rays are speckle noise, and would set the colour scale */
  for (size_t i = 0; !rc && i < m; i++)
    if (!(co2_sigma[i] <= CO2_SIGMA_MAX)) co2[i] = NAN;
  if (!rc) {
    /* scans: runs of rays with the same scan_id (one if not given) */
    size_t n_seg = 1;
    for (size_t i = 1; scan_id && i < ax.nt; i++) n_seg += scan_id[i] != scan_id[i - 1];
    size_t *seg0 = malloc((n_seg + 1) * sizeof *seg0);
    if (!seg0) rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
    size_t k = 0;
    for (size_t i = 0; seg0 && i < ax.nt; i++)
      if (i == 0 || (scan_id && scan_id[i] != scan_id[i - 1])) seg0[k++] = i;
    if (seg0) seg0[n_seg] = ax.nt;
    /* several PPI sweeps: one image per sweep in true azimuth (never the
     * sweeps concatenated along the azimuth axis); any other sequence of
     * scans is drawn against time */
    int sweeps = seg0 && n_seg > 1;
    for (size_t s = 0; sweeps && s < n_seg; s++) sweeps = is_ppi(&ax, seg0[s], seg0[s + 1] - seg0[s]);
    int ppi = n_seg == 1 && is_ppi(&ax, 0, ax.nt);
    double vmax = quantile(vr, m, 0.98), vmin = quantile(vr, m, 0.02);
    double vlim = fmax(1.0, fmax(fabs(isfinite(vmax) ? vmax : 1), fabs(isfinite(vmin) ? vmin : 1)));
    double c2 = quantile(co2, m, 0.05), c98 = quantile(co2, m, 0.95);
    if (!isfinite(c2)) c2 = 380, c98 = 460;
    if (c98 - c2 < 20) c2 -= 10, c98 += 10;
    /* the rays' accumulation time, said in every title: what a gate's noise
     * means depends on it (median spacing of consecutive rays) */
    double *spacing = malloc((ax.nt - 1) * sizeof *spacing);
    double ray_s = NAN;
    if (spacing) {
      for (size_t i = 0; i + 1 < ax.nt; i++) spacing[i] = ax.time[i + 1] - ax.time[i];
      ray_s = quantile(spacing, ax.nt - 1, 0.5);
      free(spacing);
    }
    char t_cnr_on[128], t_cnr[128], t_vr[128], t_co2[160], detail[96];
    snprintf(detail, sizeof detail, "%.3g s rays", ray_s);
    cf_quicklook_title(t_cnr_on, sizeof t_cnr_on, "wideband CNR, on-line", "dB", detail);
    cf_quicklook_title(t_cnr, sizeof t_cnr, "wideband CNR, off-line", "dB", detail);
    cf_quicklook_title(t_vr, sizeof t_vr, "radial velocity, positive away", "m/s", detail);
    snprintf(detail, sizeof detail, "%.3g s rays, gates with sigma <= %.0f ppm", ray_s, CO2_SIGMA_MAX);
    cf_quicklook_title(t_co2, sizeof t_co2, "CO2 dry-air mole fraction", "ppm", detail);
    /* <prefix>_cnr.png stays the off-line CNR (its name before the on-line
     * one was drawn too) */
    struct {
      const char *suffix, *title, *units;
      const double *v;
      double lo, hi;
      int div;
    } plots[4] = {{"cnr", t_cnr, "dB", cnr, -35, 5, 0},
                  {"cnr_on", t_cnr_on, "dB", cnr_on, -35, 5, 0},
                  {"radial_velocity", t_vr, "m/s", vr, -vlim, vlim, 1},
                  {"co2", t_co2, "ppm", co2, c2, c98, 0}};
    /* per plot: each sweep (if several), then the whole file under the
     * plain name (with several sweeps: the last sweep, so said) */
    size_t n_img = sweeps ? n_seg + 1 : 1;
    for (int p = 0; p < 4 && !rc; p++) {
      for (size_t s = 0; s < n_img && !rc; s++) {
        int whole = s == n_img - 1;
        size_t seg = sweeps ? (whole ? n_seg - 1 : s) : 0;
        size_t i0 = sweeps ? seg0[seg] : 0, nr = sweeps ? seg0[seg + 1] - seg0[seg] : ax.nt;
        l2_axes sa = sub_axes(&ax, i0, nr);
        /* the sweep is said first on the second line (the first is full) */
        char sub[400], *rest = sub;
        size_t room = sizeof sub;
        if (sweeps) {
          int len = snprintf(sub, sizeof sub, "sweep %zu/%zu%s (scan_id %.0f) | ", seg + 1, n_seg, whole ? ", last" : "",
                           scan_id[i0]);
          if (len > 0 && (size_t)len < room) rest += len, room -= (size_t)len;
        }
        subtitle(rest, room, sa.time, sa.nt, &site);
        char *out = malloc(strlen(prefix) + 64);
        if (!out) {
          rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
          break;
        }
        if (whole)
          sprintf(out, "%s_%s.png", prefix, plots[p].suffix);
        else
          sprintf(out, "%s_%s_sweep%zu.png", prefix, plots[p].suffix, s + 1);
        rc = plot_one(ctx, out, &sa, sweeps || ppi, plots[p].v + i0 * ax.nr, plots[p].title, sub, plots[p].units, plots[p].lo,
                      plots[p].hi, plots[p].div);
        if (rc)
          free(out);
        else
          rc = add_path(ctx, paths, n, out);
      }
    }
    free(seg0);
  }
  /* the plots are one product: if one could not be written, the others of
   * this call are removed too (and not reported as written) */
  if (rc) {
    for (int i = n0; i < *n; i++) {
      unlink((*paths)[i]);
      free((*paths)[i]);
    }
    *n = n0;
  }
  free(ax.time);
  free(ax.range);
  free(ax.az);
  free(ax.el);
  free(cnr_on);
  free(cnr);
  free(vr);
  free(co2);
  free(co2_sigma);
  free(scan_id);
  free(site.source);
  free(site.input);
  return rc;
}
