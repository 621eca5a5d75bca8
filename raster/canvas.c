/* The pixel canvas; see canvas.h. */
#include "raster/canvas.h"

#include <gdal.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gdal_util.h"

int cf_canvas_init(cf_ctx *ctx, cf_canvas *c, int w, int h, const unsigned char bg[3], const char *what) {
  memset(c, 0, sizeof *c);
  if (w <= 0 || h <= 0 || (double)w * h > 4e8)
    return cf_error(ctx, CF_EINVAL, what, "", "a %d x %d image is empty or too large", w, h);
  c->px = malloc((size_t)w * h * 3);
  if (!c->px) return cf_error(ctx, CF_ENOMEM, what, "", "out of memory for a %d x %d image", w, h);
  c->w = w, c->h = h, c->clip_h = h;
  for (size_t i = 0; i < (size_t)w * h; i++) memcpy(c->px + 3 * i, bg, 3);
  return CF_OK;
}

void cf_canvas_free(cf_canvas *c) {
  free(c->px);
  memset(c, 0, sizeof *c);
}

void cf_canvas_put(cf_canvas *c, int x, int y, const unsigned char col[3]) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->clip_h) return;
  memcpy(c->px + ((size_t)y * c->w + x) * 3, col, 3);
}

void cf_canvas_fill_rect(cf_canvas *c, int x0, int y0, int x1, int y1, const unsigned char col[3]) {
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) cf_canvas_put(c, x, y, col);
}

void cf_canvas_line(cf_canvas *c, int x0, int y0, int x1, int y1, int th, const unsigned char col[3]) {
  int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
  for (;;) {
    cf_canvas_fill_rect(c, x0 - th / 2, y0 - th / 2, x0 - th / 2 + th - 1, y0 - th / 2 + th - 1, col);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void cf_canvas_colour_bar(cf_canvas *c, int map_h, int top, int bar_h, void (*colour)(double t, unsigned char *out),
                          int *x0_out, int *x1_out) {
  static const unsigned char white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
  c->clip_h = c->h;
  cf_canvas_fill_rect(c, 0, map_h, c->w - 1, c->h - 1, white);
  int x0 = c->w / 8, x1 = c->w - 1 - c->w / 8, y0 = map_h + top, y1 = map_h + top + bar_h;
  if (x1 <= x0) x0 = 0, x1 = c->w - 1;
  for (int x = x0; x <= x1; x++) {
    unsigned char col[3];
    colour((double)(x - x0) / (x1 - x0 > 0 ? x1 - x0 : 1), col);
    cf_canvas_fill_rect(c, x, y0, x, y1, col);
  }
  cf_canvas_line(c, x0, y0, x1, y0, 1, black), cf_canvas_line(c, x0, y1, x1, y1, 1, black);
  cf_canvas_line(c, x0, y0, x0, y1, 1, black), cf_canvas_line(c, x1, y0, x1, y1, 1, black);
  *x0_out = x0, *x1_out = x1;
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
    {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}}, {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}},
    {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}}, {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
};

int cf_canvas_text_width(const char *s) {
  return (int)strlen(s) * CF_CANVAS_GLYPH_ADVANCE - CF_CANVAS_FONT_SCALE;
}

void cf_canvas_text(cf_canvas *c, int x, int y, const char *s, const unsigned char col[3]) {
  const int k = CF_CANVAS_FONT_SCALE;
  for (; *s; s++, x += CF_CANVAS_GLYPH_ADVANCE)
    for (size_t g = 0; g < sizeof glyphs / sizeof *glyphs; g++) {
      if (glyphs[g].ch != *s) continue;
      for (int row = 0; row < 7; row++)
        for (int cl = 0; cl < 5; cl++)
          if (glyphs[g].row[row] & (0x10 >> cl))
            cf_canvas_fill_rect(c, x + cl * k, y + row * k, x + (cl + 1) * k - 1, y + (row + 1) * k - 1, col);
    }
}

/* ------------------------------------------------------------- to GDAL */

int cf_canvas_mem_dataset(cf_ctx *ctx, const cf_canvas *c, const char *final_path, void **mem_out) {
  cf_gdal_init();
  *mem_out = NULL;
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", c->w, c->h, 3, GDT_Byte, NULL);
  if (!mem) return cf_error(ctx, CF_ENOMEM, final_path, "", "cannot make the image: %s", cf_gdal_last_error("MEM driver"));
  if (GDALDatasetRasterIO(mem, GF_Write, 0, 0, c->w, c->h, c->px, c->w, c->h, GDT_Byte, 3, NULL, 3,
                          (GSpacing)c->w * 3, 1) != CE_None) {
    GDALClose(mem);
    return cf_error(ctx, CF_EIO, final_path, "", "cannot fill the image: %s", cf_gdal_last_error("MEM driver"));
  }
  *mem_out = mem;
  return CF_OK;
}
