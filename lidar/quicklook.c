/* Quicklook plots with PLplot; see quicklook.h. */
#include "lidar/quicklook.h"

#include <math.h>
#include <netcdf.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/fsutil.h"

#define CO2_SIGMA_MAX 25.0 /* ppm: CO2 gates less certain are not drawn */

typedef struct {
  size_t nt, nr;
  double *time, *range, *az, *el;
} l2_axes;

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
  /* the writes' errno is lost inside cairo: tell a full disk by its free space */
  char *dir = cf_path_dirname(part);
  struct statvfs vs;
  int full = dir && statvfs(dir, &vs) == 0 && (double)vs.f_bavail * vs.f_frsize < 256.0 * 1024;
  free(dir);
  cf_error(ctx, CF_EIO, out, "", "the PNG was not written completely (%lld bytes, no IEND chunk): %s",
           f ? (long long)st.st_size : 0LL, full ? "No space left on device" : "write failed");
  return 1;
}

static int plot_one(cf_ctx *ctx, const char *out, const l2_axes *ax, int ppi, const double *val, const char *title,
                    const char *units, double zmin, double zmax, int diverging) {
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
      /* masked: below the range, so plimage leaves it blank; valid: clamped in */
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
  plinit();
  pladv(0);
  plcol0(1);
  plvpor(0.09, 0.83, 0.12, 0.90);
  plwind(x0, x1, y0, y1);
  set_cmap(diverging);
  /* plimagefr, not plimage: plimage scales colours to the data's own
   * extremes, which the blank (masked) cells would set */
  plimagefr((PLFLT_MATRIX)z, (PLINT)nx, (PLINT)ny, x0, x1, y0, y1, zmin, zmax, zmin, zmax, NULL, NULL);
  plcol0(1);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  char ttl[256];
  snprintf(ttl, sizeof ttl, "%s (%s)", title, units);
  pllab(xlabel, "range (km)", ttl);
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
  plcolorbar(&cw, &ch, PL_COLORBAR_GRADIENT, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.03, 0.78, 0, 1, 1,
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
  double *cnr = read_var(ctx, nc, l2_path, "cnr_off", m, &rc);
  double *vr = read_var(ctx, nc, l2_path, "radial_velocity", m, &rc);
  double *co2 = read_var(ctx, nc, l2_path, "co2_mole_fraction", m, &rc);
  double *co2_sigma = read_var(ctx, nc, l2_path, "co2_mole_fraction_uncertainty", m, &rc);
  nc_close(nc);
  /* CO2 is drawn only where known to better than 25 ppm: single gates of
   * short rays are speckle noise, and would set the colour scale */
  for (size_t i = 0; !rc && i < m; i++)
    if (!(co2_sigma[i] <= CO2_SIGMA_MAX)) co2[i] = NAN;
  if (!rc) {
    /* a PPI: one low elevation and azimuths spreading over more than 10 degrees */
    double elmin = ax.el[0], elmax = ax.el[0], azmin = ax.az[0], azmax = ax.az[0];
    for (size_t i = 1; i < ax.nt; i++) {
      elmin = fmin(elmin, ax.el[i]), elmax = fmax(elmax, ax.el[i]);
      azmin = fmin(azmin, ax.az[i]), azmax = fmax(azmax, ax.az[i]);
    }
    int ppi = elmax - elmin < 1.0 && elmax < 30.0 && azmax - azmin > 10.0 && ax.az[ax.nt - 1] > ax.az[0];
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
    char t_cnr[96], t_vr[96], t_co2[128];
    snprintf(t_cnr, sizeof t_cnr, "wideband CNR, off-line, %.3g s rays", ray_s);
    snprintf(t_vr, sizeof t_vr, "radial velocity (positive away), %.3g s rays", ray_s);
    snprintf(t_co2, sizeof t_co2, "CO2 dry-air mole fraction, %.3g s rays, gates with sigma <= %.0f ppm", ray_s, CO2_SIGMA_MAX);
    struct {
      const char *suffix, *title, *units;
      const double *v;
      double lo, hi;
      int div;
    } plots[3] = {{"cnr", t_cnr, "dB", cnr, -35, 5, 0},
                  {"radial_velocity", t_vr, "m/s", vr, -vlim, vlim, 1},
                  {"co2", t_co2, "ppm", co2, c2, c98, 0}};
    for (int p = 0; p < 3 && !rc; p++) {
      char *out = malloc(strlen(prefix) + 32);
      if (!out) {
        rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
        break;
      }
      sprintf(out, "%s_%s.png", prefix, plots[p].suffix);
      rc = plot_one(ctx, out, &ax, ppi, plots[p].v, plots[p].title, plots[p].units, plots[p].lo, plots[p].hi, plots[p].div);
      char **np = rc ? NULL : realloc(*paths, (size_t)(*n + 1) * sizeof *np);
      if (np) {
        *paths = np;
        (*paths)[(*n)++] = out;
      } else {
        free(out);
      }
    }
  }
  /* the three plots are one product: if one could not be written, the
   * others of this call are removed too (and not reported as written) */
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
  free(cnr);
  free(vr);
  free(co2);
  free(co2_sigma);
  return rc;
}
