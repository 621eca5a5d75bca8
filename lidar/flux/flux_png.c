/* The flux quicklook, drawn in pixels; see flux_png.h. */
#include "lidar/flux/flux_png.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "ingest/gdal_util.h"
#include "raster/canvas.h"

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)

typedef unsigned char rgb[3];

static const rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255}, SCAN = {90, 90, 90};
static const rgb NO_DATA = {190, 190, 190}; /* the L2 quicklooks' "no data" grey */

/* The image (clip_h is the map's height while marks are drawn on it) and
 * the grid's place in it. */
typedef struct {
  cf_canvas pix;
  double west, north, res, cell_px;
} canvas;

int cf_flux_png_cell_px(int nx) {
  int p = nx > 0 ? (CF_FLUX_PNG_TARGET_WIDTH + nx / 2) / nx : 1;
  return p > 0 ? p : 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double cf_flux_png_scale(const cf_flux_grid *g) {
  size_t n = (size_t)g->nx * g->ny, m = 0;
  double *a = malloc((n ? n : 1) * sizeof *a);
  if (!a) return 1.0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(g->flux_umol_m2_s[i])) a[m++] = fabs(g->flux_umol_m2_s[i]);
  double s = 0;
  if (m) {
    qsort(a, m, sizeof *a, cmp_double);
    s = a[(size_t)(0.98 * (double)(m - 1))];
  }
  free(a);
  return s > 0 && isfinite(s) ? s : 1.0;
}

/* t in [-1, 1]: blue (a sink), white (0), red (a source); the L2
 * quicklooks' diverging ramp, linear in each half. */
static void ramp(double t, unsigned char *out) {
  static const double blue[3] = {33, 77, 161}, white[3] = {247, 247, 247}, red[3] = {179, 23, 43};
  if (!isfinite(t)) {
    memcpy(out, NO_DATA, 3);
    return;
  }
  t = t < -1 ? -1 : t > 1 ? 1 : t;
  const double *end = t < 0 ? blue : red;
  for (int k = 0; k < 3; k++) out[k] = (unsigned char)lround(white[k] + fabs(t) * (end[k] - white[k]));
}

/* Local east/north (m) to the image pixel holding it. */
static void to_px(const canvas *c, double e, double n, int *x, int *y) {
  double fx = (e - c->west) / c->res * c->cell_px, fy = (c->north - n) / c->res * c->cell_px;
  /* far outside the map: kept well inside int, still clipped */
  *x = (int)floor(fmax(-1e6, fmin(1e6, fx)));
  *y = (int)floor(fmax(-1e6, fmin(1e6, fy)));
}

/* The point at horizontal range r and azimuth az (clockwise from north). */
static void polar_px(const canvas *c, double r, double az_deg, int *x, int *y) {
  to_px(c, r * sin(az_deg * D2R), r * cos(az_deg * D2R), x, y);
}

static void arc(canvas *c, double r, double a0, double a1) {
  double r_px = r / c->res * c->cell_px;
  int n = (int)ceil((a1 - a0) * D2R * r_px / 4.0) + 1; /* segments of about 4 pixels */
  if (n > 20000) n = 20000;
  int xp, yp;
  polar_px(c, r, a0, &xp, &yp);
  for (int k = 1; k <= n; k++) {
    int x, y;
    polar_px(c, r, a0 + (a1 - a0) * k / n, &x, &y);
    cf_canvas_line(&c->pix, xp, yp, x, y, 2, SCAN);
    xp = x, yp = y;
  }
}

static void sweep_outline(canvas *c, const cf_flux_sweep *s) {
  double a0 = s->az_min_deg, a1 = s->az_max_deg;
  if (!isfinite(a0) || !isfinite(a1) || !isfinite(s->range_min_m) || !isfinite(s->range_max_m)) return;
  if (a1 < a0) a1 += 360.0 * ceil((a0 - a1) / 360.0); /* az_max may be given below az_min */
  int full = a1 - a0 >= 360.0 - 1e-9;
  if (full) a1 = a0 + 360.0;
  arc(c, s->range_min_m, a0, a1);
  arc(c, s->range_max_m, a0, a1);
  if (full) return;
  for (int k = 0; k < 2; k++) {
    int x0, y0, x1, y1;
    polar_px(c, s->range_min_m, k ? a1 : a0, &x0, &y0);
    polar_px(c, s->range_max_m, k ? a1 : a0, &x1, &y1);
    cf_canvas_line(&c->pix, x0, y0, x1, y1, 2, SCAN);
  }
}

/* The strip under the map: the colour bar from -scale to +scale with a
 * tick at 0, and its three values. */
/* The bar's t in [0, 1] on the ramp's [-1, 1] (2t is exact, so the
 * colours are those of 2 (x - x0) / (x1 - x0) - 1). */
static void bar_colour(double t, unsigned char *out) { ramp(2.0 * t - 1.0, out); }

static void legend(canvas *c, int map_h, double scale) {
  cf_canvas *pix = &c->pix;
  int x0, x1, y0 = map_h + 6, y1 = map_h + 20;
  cf_canvas_colour_bar(pix, map_h, 6, 14, bar_colour, &x0, &x1);
  int xm = (x0 + x1) / 2;
  cf_canvas_line(&c->pix, xm, y0 - 3, xm, y1 + 3, 1, BLACK);
  char lo[48], hi[64];
  snprintf(lo, sizeof lo, "-%.3g", scale);
  snprintf(hi, sizeof hi, "+%.3g umol m-2 s-1", scale);
  int ty = y1 + 5;
  cf_canvas_text(pix, x0, ty, lo, BLACK);
  cf_canvas_text(pix, xm - cf_canvas_text_width("0") / 2, ty, "0", BLACK);
  cf_canvas_text(pix, x1 + 1 - cf_canvas_text_width(hi), ty, hi, BLACK);
}

static void render(const cf_flux_result *r, canvas *c, double scale) {
  const cf_flux_grid *g = &r->grid;
  int p = (int)c->cell_px, map_h = g->ny * p;
  c->pix.clip_h = map_h;
  for (int row = 0; row < g->ny; row++)
    for (int col = 0; col < g->nx; col++) {
      unsigned char v[3];
      ramp(g->flux_umol_m2_s[(size_t)row * g->nx + col] / scale, v);
      cf_canvas_fill_rect(&c->pix, col * p, row * p, col * p + p - 1, row * p + p - 1, v);
    }
  for (int k = 0; k < r->n_sweeps; k++) sweep_outline(c, &r->sweeps[k]);
  for (int i = 0; i < r->n_sources; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    if (!isfinite(s->e_m) || !isfinite(s->n_m)) continue;
    int x, y;
    to_px(c, s->e_m, s->n_m, &x, &y);
    if (s->kind == CF_SOURCE_AREA) {
      for (int k = 0; k < 2; k++) { /* hollow, two pixels thick */
        cf_canvas_line(&c->pix, x - 6 + k, y - 6 + k, x + 6 - k, y - 6 + k, 1, BLACK);
        cf_canvas_line(&c->pix, x - 6 + k, y + 6 - k, x + 6 - k, y + 6 - k, 1, BLACK);
        cf_canvas_line(&c->pix, x - 6 + k, y - 6 + k, x - 6 + k, y + 6 - k, 1, BLACK);
        cf_canvas_line(&c->pix, x + 6 - k, y - 6 + k, x + 6 - k, y + 6 - k, 1, BLACK);
      }
    } else {
      cf_canvas_fill_rect(&c->pix, x - 5, y - 5, x + 5, y + 5, WHITE);
      cf_canvas_fill_rect(&c->pix, x - 4, y - 4, x + 4, y + 4, BLACK);
    }
  }
  int lx, ly;
  to_px(c, 0.0, 0.0, &lx, &ly);
  cf_canvas_line(&c->pix, lx - 10, ly, lx + 10, ly, 3, BLACK);
  cf_canvas_line(&c->pix, lx, ly - 10, lx, ly + 10, 3, BLACK);
  legend(c, map_h, scale);
}

/* ------------------------------------------------------------- writing */

int cf_flux_gdal_copy(cf_ctx *ctx, void *src, const char *driver, char **options, const char *part_path,
                      const char *final_path) {
  GDALDriverH drv = GDALGetDriverByName(driver);
  if (!drv) return cf_error(ctx, CF_EIO, final_path, "", "GDAL has no %s driver", driver);
  /* no .aux.xml beside the part file: it would stay behind under the part's name */
  const char *was = CPLGetThreadLocalConfigOption("GDAL_PAM_ENABLED", NULL);
  char *pam = was ? CPLStrdup(was) : NULL; /* NULL: unset again afterwards */
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO");
  CPLErrorReset();
  cf_gdal_quiet_push();
  errno = 0;
  GDALDatasetH out = GDALCreateCopy(drv, part_path, (GDALDatasetH)src, FALSE, options, NULL, NULL);
  int e = errno;
  if (out) {
    GDALClose(out);
    e = errno;
  }
  cf_gdal_quiet_pop();
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", pam);
  CPLFree(pam);
  if (out && CPLGetLastErrorType() < CE_Failure) return CF_OK;
  /* GDAL reports a full disk in an earlier error than its last one: the
   * system's reason from errno, else from the free space left */
  int why = cf_write_errno(part_path, e, 64.0 * 1024);
  return cf_error(ctx, CF_EIO, final_path, "", "writing the %s file failed: %s%s%s", driver, why ? strerror(why) : "",
                  why ? "; GDAL: " : "", cf_gdal_last_error("unknown GDAL error"));
}

int cf_flux_png_write(cf_ctx *ctx, const cf_flux_result *r, const char *part_path, const char *final_path) {
  const cf_flux_grid *g = &r->grid;
  int p = cf_flux_png_cell_px(g->nx);
  if ((double)g->nx * p * ((double)g->ny * p + CF_FLUX_PNG_LEGEND_H) > 4e8)
    return cf_error(ctx, CF_EINVAL, final_path, "", "a %d x %d grid is too large for a quicklook", g->nx, g->ny);
  static const unsigned char white[3] = {255, 255, 255};
  canvas c = {{0}, g->west_m, g->north_m, g->res_m, (double)p};
  int rc = cf_canvas_init(ctx, &c.pix, g->nx * p, g->ny * p + CF_FLUX_PNG_LEGEND_H, white, final_path);
  if (rc) return rc;
  double scale = cf_flux_png_scale(g);
  render(r, &c, scale);
  GDALDatasetH mem = NULL;
  rc = cf_canvas_mem_dataset(ctx, &c.pix, final_path, (void **)&mem);
  if (!rc) {
    char v[64];
    snprintf(v, sizeof v, "%.17g", scale);
    GDALSetMetadataItem(mem, "flux_scale_umol_m2_s", v, NULL);
    GDALSetMetadataItem(mem, "Description",
                        "carbonflux posterior CO2 flux, north up; blue sink, red source, colour bar from "
                        "-flux_scale_umol_m2_s to +flux_scale_umol_m2_s",
                        NULL);
    char **co = CSLSetNameValue(NULL, "WRITE_METADATA_AS_TEXT", "YES");
    rc = cf_flux_gdal_copy(ctx, mem, "PNG", co, part_path, final_path);
    CSLDestroy(co);
  }
  if (mem) GDALClose(mem);
  cf_canvas_free(&c.pix);
  return rc;
}
