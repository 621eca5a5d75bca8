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

#define PI 3.14159265358979323846
#define D2R (PI / 180.0)
#define FONT_SCALE 2 /* each font pixel is FONT_SCALE x FONT_SCALE image pixels */

typedef unsigned char rgb[3];

static const rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255}, SCAN = {90, 90, 90};
static const rgb NO_DATA = {190, 190, 190}; /* the L2 quicklooks' "no data" grey */

typedef struct {
  int w, h;    /* image */
  int clip_h;  /* rows drawing may touch: the map's while marks are drawn on it */
  unsigned char *px; /* w * h * 3, rows top down */
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

static void put(canvas *c, int x, int y, const unsigned char *col) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->clip_h) return;
  memcpy(c->px + ((size_t)y * c->w + x) * 3, col, 3);
}

static void fill_rect(canvas *c, int x0, int y0, int x1, int y1, const unsigned char *col) {
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) put(c, x, y, col);
}

/* A line `th` pixels thick (Bresenham, each point a th x th square). */
static void line(canvas *c, int x0, int y0, int x1, int y1, int th, const unsigned char *col) {
  int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
  for (;;) {
    fill_rect(c, x0 - th / 2, y0 - th / 2, x0 - th / 2 + th - 1, y0 - th / 2 + th - 1, col);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
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
    line(c, xp, yp, x, y, 2, SCAN);
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
    line(c, x0, y0, x1, y1, 2, SCAN);
  }
}

/* ------------------------------------------------------------------ text */

/* 5 x 7 glyphs, one byte per row, bit 4 the leftmost column. */
static const struct {
  char ch;
  unsigned char row[7];
} glyphs[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}}, {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}}, {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}},
    {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E}}, {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}},
};
#define GLYPH_ADVANCE (6 * FONT_SCALE)

static int text_width(const char *s) { return (int)strlen(s) * GLYPH_ADVANCE - FONT_SCALE; }

/* Characters without a glyph (space) advance blank. */
static void text(canvas *c, int x, int y, const char *s) {
  for (; *s; s++, x += GLYPH_ADVANCE)
    for (size_t g = 0; g < sizeof glyphs / sizeof *glyphs; g++) {
      if (glyphs[g].ch != *s) continue;
      for (int row = 0; row < 7; row++)
        for (int col = 0; col < 5; col++)
          if (glyphs[g].row[row] & (0x10 >> col))
            fill_rect(c, x + col * FONT_SCALE, y + row * FONT_SCALE, x + (col + 1) * FONT_SCALE - 1,
                      y + (row + 1) * FONT_SCALE - 1, BLACK);
    }
}

/* The strip under the map: the colour bar from -scale to +scale with a
 * tick at 0, and its three values. */
static void legend(canvas *c, int map_h, double scale) {
  c->clip_h = c->h;
  fill_rect(c, 0, map_h, c->w - 1, c->h - 1, WHITE);
  int x0 = c->w / 8, x1 = c->w - 1 - c->w / 8, y0 = map_h + 6, y1 = map_h + 20;
  if (x1 <= x0) x0 = 0, x1 = c->w - 1;
  for (int x = x0; x <= x1; x++) {
    unsigned char col[3];
    ramp(2.0 * (x - x0) / (x1 - x0 > 0 ? x1 - x0 : 1) - 1.0, col);
    fill_rect(c, x, y0, x, y1, col);
  }
  line(c, x0, y0, x1, y0, 1, BLACK), line(c, x0, y1, x1, y1, 1, BLACK);
  line(c, x0, y0, x0, y1, 1, BLACK), line(c, x1, y0, x1, y1, 1, BLACK);
  int xm = (x0 + x1) / 2;
  line(c, xm, y0 - 3, xm, y1 + 3, 1, BLACK);
  char lo[48], hi[64];
  snprintf(lo, sizeof lo, "-%.3g", scale);
  snprintf(hi, sizeof hi, "+%.3g umol m-2 s-1", scale);
  int ty = y1 + 5;
  text(c, x0, ty, lo);
  text(c, xm - text_width("0") / 2, ty, "0");
  text(c, x1 + 1 - text_width(hi), ty, hi);
}

static void render(const cf_flux_result *r, canvas *c, double scale) {
  const cf_flux_grid *g = &r->grid;
  int p = (int)c->cell_px, map_h = g->ny * p;
  c->clip_h = map_h;
  for (int row = 0; row < g->ny; row++)
    for (int col = 0; col < g->nx; col++) {
      unsigned char v[3];
      ramp(g->flux_umol_m2_s[(size_t)row * g->nx + col] / scale, v);
      fill_rect(c, col * p, row * p, col * p + p - 1, row * p + p - 1, v);
    }
  for (int k = 0; k < r->n_sweeps; k++) sweep_outline(c, &r->sweeps[k]);
  for (int i = 0; i < r->n_sources; i++) {
    const cf_flux_source_result *s = &r->sources[i];
    if (!isfinite(s->e_m) || !isfinite(s->n_m)) continue;
    int x, y;
    to_px(c, s->e_m, s->n_m, &x, &y);
    if (s->kind == CF_SOURCE_AREA) {
      for (int k = 0; k < 2; k++) { /* hollow, two pixels thick */
        line(c, x - 6 + k, y - 6 + k, x + 6 - k, y - 6 + k, 1, BLACK);
        line(c, x - 6 + k, y + 6 - k, x + 6 - k, y + 6 - k, 1, BLACK);
        line(c, x - 6 + k, y - 6 + k, x - 6 + k, y + 6 - k, 1, BLACK);
        line(c, x + 6 - k, y - 6 + k, x + 6 - k, y + 6 - k, 1, BLACK);
      }
    } else {
      fill_rect(c, x - 5, y - 5, x + 5, y + 5, WHITE);
      fill_rect(c, x - 4, y - 4, x + 4, y + 4, BLACK);
    }
  }
  int lx, ly;
  to_px(c, 0.0, 0.0, &lx, &ly);
  line(c, lx - 10, ly, lx + 10, ly, 3, BLACK);
  line(c, lx, ly - 10, lx, ly + 10, 3, BLACK);
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
  canvas c = {g->nx * p, g->ny * p + CF_FLUX_PNG_LEGEND_H, 0, NULL, g->west_m, g->north_m, g->res_m, (double)p};
  c.px = malloc((size_t)c.w * c.h * 3);
  if (!c.px) return cf_error(ctx, CF_ENOMEM, final_path, "", "out of memory for a %d x %d image", c.w, c.h);
  double scale = cf_flux_png_scale(g);
  render(r, &c, scale);
  cf_gdal_init();
  int rc = CF_OK;
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", c.w, c.h, 3, GDT_Byte, NULL);
  if (!mem) rc = cf_error(ctx, CF_ENOMEM, final_path, "", "cannot make the image: %s", cf_gdal_last_error("MEM driver"));
  if (!rc && GDALDatasetRasterIO(mem, GF_Write, 0, 0, c.w, c.h, c.px, c.w, c.h, GDT_Byte, 3, NULL, 3, (GSpacing)c.w * 3,
                                 1) != CE_None)
    rc = cf_error(ctx, CF_EIO, final_path, "", "cannot fill the image: %s", cf_gdal_last_error("MEM driver"));
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
  free(c.px);
  return rc;
}
