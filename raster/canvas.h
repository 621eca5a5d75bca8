/*
 * A pixel canvas for pictures whose marks must land on known pixels: the
 * flux quicklook (lidar/flux/flux_png.h) and the report's maps
 * (sink/report_maps.h). A test reads a colour back at a pixel it computed
 * from the geometry, so everything here is whole pixels: filled
 * rectangles, Bresenham lines of a given thickness, and text in a 5 x 7
 * bitmap font drawn at CF_CANVAS_FONT_SCALE image pixels per font pixel.
 *
 * Why not PLplot (lidar/quicklook.c): it places a map inside a viewport of
 * its own, keeps global state and its cairo device does not report a
 * failed write. GDAL's MEM and PNG drivers turn the canvas into a file
 * and report what they could not write.
 *
 * Invariants: px is w x h RGB triples, rows top down; drawing outside
 * [0, w) x [0, clip_h) is silently clipped (a mark near the edge is cut,
 * never wrapped to the next row), so a caller may draw a map's marks with
 * clip_h at the map's height and the legend strip stays untouched.
 */
#ifndef CF_RASTER_CANVAS_H
#define CF_RASTER_CANVAS_H

#include <stddef.h>

#include "carbonflux/ctx.h"

#define CF_CANVAS_FONT_SCALE 2 /* each font pixel is FONT_SCALE x FONT_SCALE image pixels */
#define CF_CANVAS_GLYPH_ADVANCE (6 * CF_CANVAS_FONT_SCALE)
#define CF_CANVAS_TEXT_H (7 * CF_CANVAS_FONT_SCALE)

typedef struct {
  int w, h;
  int clip_h;        /* rows drawing may touch */
  unsigned char *px; /* w * h * 3, rows top down */
} cf_canvas;

/* Allocate a w x h canvas filled with `bg` (clip_h = h). CF_ENOMEM or
 * CF_EINVAL (an empty or over-large image: more than 4e8 pixels) naming
 * `what`. */
int cf_canvas_init(cf_ctx *ctx, cf_canvas *c, int w, int h, const unsigned char bg[3], const char *what);
void cf_canvas_free(cf_canvas *c);

void cf_canvas_put(cf_canvas *c, int x, int y, const unsigned char col[3]);
/* Inclusive corners. */
void cf_canvas_fill_rect(cf_canvas *c, int x0, int y0, int x1, int y1, const unsigned char col[3]);
/* A line `th` pixels thick (Bresenham, each point a th x th square whose
 * top-left is th/2 up and left of the point). */
void cf_canvas_line(cf_canvas *c, int x0, int y0, int x1, int y1, int th, const unsigned char col[3]);

/* The strip under a map: white from row map_h down (clip_h becomes h),
 * and a colour bar over columns w/8 .. w - 1 - w/8 (the whole width if
 * that is empty) and rows map_h + top .. map_h + top + bar_h, column x in
 * colour(t), t = (x - x0) / (x1 - x0) from 0 at the left to 1 at the right,
 * framed by 1-pixel black lines. *x0, *x1 receive its ends. */
void cf_canvas_colour_bar(cf_canvas *c, int map_h, int top, int bar_h, void (*colour)(double t, unsigned char *out),
                          int *x0, int *x1);

/* Text in the bitmap font: digits, . - + / %, and the letters of the
 * units drawn (a e h l m o s t u C); any other character (a space)
 * advances blank. */
int cf_canvas_text_width(const char *s);
void cf_canvas_text(cf_canvas *c, int x, int y, const char *s, const unsigned char col[3]);

/* The canvas as a 3-band Byte GDAL MEM dataset (a GDALDatasetH; close it
 * with GDALClose), for a copy to PNG. Errors name `final_path`. */
int cf_canvas_mem_dataset(cf_ctx *ctx, const cf_canvas *c, const char *final_path, void **mem);

#endif
