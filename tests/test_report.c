/*
 * The verifier's report (sink/report_html.h, report_maps.h, report_vector.h).
 *
 *  - Escaping and formats: a model full of <, &, quotes, UTF-8 names and a
 *    byte that is not UTF-8, rendered; Python's html.parser and csv module
 *    (not our code) read the HTML and the CSV back to the strings typed
 *    here; numbers show in their stated formats (written out by hand).
 *  - A misused model, a bad table name, an image that is not a PNG and a
 *    CSV that cannot be renamed into place: the documented code, a message
 *    naming the table or image, and nothing written (an old report stays).
 *  - Map geometry on a synthetic COG whose values, nodata block, rectangle
 *    stratum and plots are placed on known pixels: every pixel of the
 *    rectangle's edges is the line colour, inside pixels have the viridis
 *    colour of their value, the plot's pixel the plot colour.
 *  - Strata and plots as GeoPackage and KML from the real Kootenay cut
 *    blocks (UTM 11N): Python/OGR compares attributes, geometry and the
 *    KML's WGS84 coordinates with its own transformation of the shapefile.
 *  - The whole report on real chain output: the demo scene's inventory at
 *    two events (as given, and grown), `carbonflux forest stocks`'s chain,
 *    the pool COG of a `carbonflux run` pipeline (sink.pool_map ->
 *    write.cog), maps of carbon density and its SE with the stands and
 *    plots, opened in headless Chromium (tests/report_chromium.py over the
 *    DevTools pipe): no console errors and no load outside the file, every
 *    table and both images in the DOM (decoded by the browser and, from
 *    their data: URIs, by Python), a screenshot written. A page with a
 *    console.error and a missing image must be reported with errors, so
 *    the check can fail. Set CF_TEST_KEEP=1 to keep the files (the test
 *    prints where).
 */
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>

#include "cf_test.h"
#include "raster/demo_scene.h"
#include "sink/report_html.h"
#include "sink/report_maps.h"
#include "sink/report_vector.h"
#include "sink/stocks.h"

#define PYTHON "/usr/bin/python3"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"

/* viridis at 0.5 and 1 (matplotlib's table, as published) and our grey */
static const unsigned char VIRIDIS_HALF[3] = {33, 145, 140}, VIRIDIS_TOP[3] = {253, 231, 37},
                           VIRIDIS_BOTTOM[3] = {68, 1, 84}, GREY[3] = {190, 190, 190};

static int keep(void) { return getenv("CF_TEST_KEEP") != NULL; }

static void done_with(char *dir) {
  if (keep()) print_message("kept %s\n", dir);
  else cf_test_rmtree(dir);
  free(dir);
}

/* The PNG decoded by GDAL into RGB rows. */
static unsigned char *decode_png(const unsigned char *png, size_t n, int *w, int *h, char *scale, size_t cap) {
  GDALAllRegister();
  char name[64];
  snprintf(name, sizeof name, "/vsimem/test_report_%p.png", (const void *)png);
  VSIFCloseL(VSIFileFromMemBuffer(name, (GByte *)png, (vsi_l_offset)n, FALSE));
  GDALDatasetH ds = GDALOpen(name, GA_ReadOnly);
  assert_non_null(ds);
  *w = GDALGetRasterXSize(ds), *h = GDALGetRasterYSize(ds);
  assert_int_equal(GDALGetRasterCount(ds), 3);
  unsigned char *px = malloc((size_t)*w * *h * 3);
  assert_int_equal(GDALDatasetRasterIO(ds, GF_Read, 0, 0, *w, *h, px, *w, *h, GDT_Byte, 3, NULL, 3, (GSpacing)*w * 3, 1),
                   CE_None);
  const char *s = GDALGetMetadataItem(ds, "carbonflux_scale", NULL);
  if (scale) snprintf(scale, cap, "%s", s ? s : "");
  GDALClose(ds);
  VSIUnlink(name);
  return px;
}

static const unsigned char *pixel(const unsigned char *px, int w, int x, int y) { return px + ((size_t)y * w + x) * 3; }

static void assert_rgb(const unsigned char *got, const unsigned char *want, int tol, int x, int y) {
  for (int c = 0; c < 3; c++)
    if (abs(got[c] - want[c]) > tol)
      fail_msg("pixel (%d, %d) is (%d, %d, %d), not (%d, %d, %d)", x, y, got[0], got[1], got[2], want[0], want[1],
               want[2]);
}

/* (x, y) in `from` EPSG to `to` EPSG, traditional GIS axis order. */
static void transform(int from, int to, double *x, double *y) {
  OGRSpatialReferenceH a = OSRNewSpatialReference(NULL), b = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(a, from), OSRImportFromEPSG(b, to);
  OSRSetAxisMappingStrategy(a, OAMS_TRADITIONAL_GIS_ORDER), OSRSetAxisMappingStrategy(b, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(a, b);
  double z = 0;
  assert_true(OCTTransform(ct, 1, x, y, &z));
  OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(a), OSRDestroySpatialReference(b);
}

static int run_python(const char *script, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s -c '%s' %s", PYTHON, script, args);
  return system(cmd);
}

/* --- escaping and formats ------------------------------------------------------- */

static void html_escaping_and_csv_quoting(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_report *r = cf_report_create("Stocks <draft> & \"final\" \xE2\x80\x94 Regi\xC3\xA3o");
  assert_non_null(r);
  cf_report_set_generated(r, 1764460800LL); /* 2025-11-30T00:00:00Z */
  cf_report_add_setting(r, "seed", "7");
  cf_report_section *s = cf_report_section_add(r, "Strata & <plots>");
  cf_report_paragraph(s, "a < b && c > \"d\" 'e'");
  const cf_report_column cols[3] = {{"Stratum", NULL}, {"Stock", "t CO2e"}, {"Share", "%"}};
  cf_report_table *t = cf_report_table_add(s, "t1", "Caption <i>", 3, cols, 1);
  cf_report_row(t);
  cf_report_cell_text(t, "M\xE1\xBA\xABu <A&B> \"x\"");
  cf_report_cell_num(t, 12345.678, CF_REPORT_GROUPED(1));
  cf_report_cell_num(t, NAN, CF_REPORT_SIG(3));
  cf_report_row_source(t, "AR-TOOL14 eq. (3)");
  cf_report_row(t);
  cf_report_cell_text(t, "bad\xFF byte, comma");
  cf_report_cell_num(t, -1234567.5, CF_REPORT_GROUPED(2));
  cf_report_cell_num(t, 0.000123456, CF_REPORT_SIG(3));
  cf_report_row_source(t, "line1\nline2");
  cf_report_param(r, "carbon fraction", 0.47, CF_REPORT_FIXED(2), "t C/t d.m.", "IPCC 2006 Vol. 4 Table 4.3");
  cf_report_param_text(r, "allometry", "chave2014", "", "Chave et al. 2014, eq. 4");
  cf_ctx *ctx = cf_test_ctx();
  const char *html = cf_test_path(dir, "report.html");
  int rc = cf_report_write(ctx, r, html);
  if (rc) fail_msg("%s", cf_error_message(ctx));
  cf_ctx_destroy(ctx);
  cf_report_destroy(r);
  char *text = cf_test_slurp(html);
  assert_non_null(text);
  /* the escaped forms, written by hand */
  static const char *const present[] = {
      "<title>Stocks &lt;draft&gt; &amp; &quot;final&quot; \xE2\x80\x94 Regi\xC3\xA3o</title>",
      "M\xE1\xBA\xABu &lt;A&amp;B&gt; &quot;x&quot;",
      "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &#39;e&#39;",
      "title=\"12345.678\">12,345.7</td>",
      "title=\"-1234567.5\">-1,234,567.50</td>",
      "title=\"0.000123456\">0.000123</td>",
      "title=\"not estimated\">\xE2\x80\x94</td>",
      "bad\xEF\xBF\xBD byte, comma",
      "2025-11-30T00:00:00Z"};
  static const char *const absent[] = {"<A&B>", "<draft>", "<script", "http"};
  for (size_t i = 0; i < sizeof present / sizeof *present; i++)
    if (!strstr(text, present[i])) fail_msg("the report lacks %s", present[i]);
  for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
    if (strstr(text, absent[i])) fail_msg("the report has %s", absent[i]);
  free(text);
  /* Python reads back what was typed: the HTML's first data row and every CSV field */
  char args[2048];
  snprintf(args, sizeof args, "'%s' '%s' '%s'", html, cf_test_path(dir, "t1.csv"), cf_test_path(dir, "parameters.csv"));
  assert_int_equal(run_python("import sys, csv, html.parser\n"
                              "class P(html.parser.HTMLParser):\n"
                              "  def __init__(s): super().__init__(); s.rows=[]; s.cell=None; s.title=\"\"; s.t=0\n"
                              "  def handle_starttag(s, tag, a):\n"
                              "    if tag==\"tr\": s.rows.append([])\n"
                              "    if tag in (\"td\",\"th\"): s.cell=\"\"\n"
                              "    if tag==\"title\": s.t=1\n"
                              "  def handle_endtag(s, tag):\n"
                              "    if tag in (\"td\",\"th\"): s.rows[-1].append(s.cell); s.cell=None\n"
                              "    if tag==\"title\": s.t=0\n"
                              "  def handle_data(s, d):\n"
                              "    if s.cell is not None: s.cell+=d\n"
                              "    if s.t: s.title+=d\n"
                              "p=P(); p.feed(open(sys.argv[1], encoding=\"utf-8\").read())\n"
                              "assert p.title==\"Stocks <draft> & \\\"final\\\" \\u2014 Regi\\u00e3o\", p.title\n"
                              "row=[r for r in p.rows if r and r[0].startswith(\"M\")][0]\n"
                              "assert row==[\"M\\u1eabu <A&B> \\\"x\\\"\",\"12,345.7\",\"\\u2014\",\"AR-TOOL14 eq. (3)\"], row\n"
                              "def rows(f): return list(csv.reader([l for l in open(f, encoding=\"utf-8\", newline=\"\") if not l.startswith(\"#\")]))\n"
                              "t=rows(sys.argv[2])\n"
                              "assert t[0]==[\"Stratum\",\"Stock [t CO2e]\",\"Share [%]\",\"source\"], t[0]\n"
                              "assert t[1]==[\"M\\u1eabu <A&B> \\\"x\\\"\",\"12345.678\",\"\",\"AR-TOOL14 eq. (3)\"], t[1]\n"
                              "assert t[2]==[\"bad\\ufffd byte, comma\",\"-1234567.5\",\"0.000123456\",\"line1\\nline2\"], t[2]\n"
                              "q=rows(sys.argv[3])\n"
                              "assert q[1]==[\"carbon fraction\",\"0.47\",\"t C/t d.m.\",\"IPCC 2006 Vol. 4 Table 4.3\"], q[1]\n"
                              "assert q[2]==[\"allometry\",\"chave2014\",\"\",\"Chave et al. 2014, eq. 4\"], q[2]\n"
                              "print(\"ok\")\n",
                              args),
                   0);
  done_with(dir);
}

/* --- bad models write nothing ---------------------------------------------------- */

typedef enum { GOOD, BAD_NAME, BAD_DUPLICATE, BAD_PARAMETERS_NAME, BAD_SHORT_ROW, BAD_LONG_ROW, BAD_IMAGE } bad_kind;

static cf_report *bad_model(bad_kind k) {
  cf_report *r = cf_report_create("bad");
  cf_report_section *s = cf_report_section_add(r, "s");
  const cf_report_column cols[2] = {{"a", NULL}, {"b", "m"}};
  cf_report_table *t = cf_report_table_add(s, k == BAD_NAME ? "a b" : k == BAD_PARAMETERS_NAME ? "parameters" : "t", "c",
                                           2, cols, 0);
  cf_report_row(t);
  cf_report_cell_text(t, "x");
  if (k != BAD_SHORT_ROW) cf_report_cell_num(t, 1, CF_REPORT_FIXED(1));
  if (k == BAD_LONG_ROW) cf_report_cell_num(t, 2, CF_REPORT_FIXED(1));
  if (k == BAD_DUPLICATE) cf_report_table_add(s, "t", "again", 2, cols, 0);
  if (k == BAD_PARAMETERS_NAME) cf_report_param(r, "p", 1, CF_REPORT_FIXED(0), "", "src");
  static const unsigned char gif[40] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0}; /* a GIF's header, zeros */
  if (k == BAD_IMAGE) cf_report_image(s, gif, sizeof gif, "the map", "not a PNG");
  return r;
}

static void bad_models_write_nothing(void **state) {
  (void)state;
  const struct {
    bad_kind k;
    int rc;
    const char *msg;
  } cases[] = {
      {BAD_NAME, CF_EINVAL, "a b"},
      {BAD_DUPLICATE, CF_EINVAL, "two tables have this name"},
      {BAD_PARAMETERS_NAME, CF_EINVAL, "\"parameters\" is the parameters table's name"},
      {BAD_SHORT_ROW, CF_EINVAL, "row 1 has 1 of its 2 cells"},
      {BAD_LONG_ROW, CF_EINVAL, "more cells than its 2 columns"},
      {BAD_IMAGE, CF_EDATA, "the image \"the map\" is not a PNG"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *dir = cf_test_tmpdir();
    cf_ctx *ctx = cf_test_ctx();
    cf_report *r = bad_model(cases[i].k);
    assert_int_equal(cf_report_write(ctx, r, cf_test_path(dir, "r.html")), cases[i].rc);
    if (!strstr(cf_error_message(ctx), cases[i].msg) || !strstr(cf_error_message(ctx), "r.html"))
      fail_msg("case %zu: \"%s\" lacks \"%s\" or the report's name", i, cf_error_message(ctx), cases[i].msg);
    assert_int_equal(cf_test_count_entries(dir, ""), 0);
    cf_report_destroy(r);
    cf_ctx_destroy(ctx);
    done_with(dir);
  }
  /* a CSV that cannot be renamed into place (a directory has its name):
   * the HTML is not left either, and an earlier report stays whole */
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  cf_test_write_text(cf_test_path(dir, "r.html"), "old report");
  assert_int_equal(mkdir(cf_test_path(dir, "t.csv"), 0755), 0);
  cf_test_write_text(cf_test_path(cf_test_path(dir, "t.csv"), "x"), "keeps the directory non-empty");
  cf_report *r = bad_model(GOOD); /* table "t" */
  assert_int_equal(cf_report_write(ctx, r, cf_test_path(dir, "r.html")), CF_EIO);
  char *old = cf_test_slurp(cf_test_path(dir, "r.html"));
  assert_string_equal(old, "old report");
  free(old);
  assert_int_equal(cf_test_count_entries(dir, ".part-"), 0);
  assert_int_equal(cf_test_count_entries(dir, ""), 2); /* r.html and the t.csv directory */
  cf_report_destroy(r);
  cf_ctx_destroy(ctx);
  done_with(dir);
}

/* --- map geometry ------------------------------------------------------------------
 * A 1000 x 600 raster of 10 m pixels (UTM 50N, west 500000, north 3400000):
 * band "total" is 40 left of column 500 and 80 from it on, nodata (-9999)
 * in rows < 100, columns < 200; "total_se" is 5. The map is 800 wide, so
 * an image pixel is 12.5 m (1.25 raster pixels) and the image 480 rows.
 * The stratum is a rectangle whose corners are at image-pixel centres
 * (columns 80 and 560, rows 96 and 360: x = 500000 + (c + 0.5) 12.5,
 * y = 3400000 - (r + 0.5) 12.5), written in WGS84 (each edge as 20
 * segments) so the map must reproject it; one plot at image pixel (240,
 * 200), one far outside. The colour scale is 80 (the 98th percentile of
 * 40s and 80s, already two digits), so 40 is viridis(0.5), 80 its top. */
#define GW 1000
#define GH 600

static void write_geometry_inputs(const char *dir) {
  GDALAllRegister();
  double gt[6] = {500000, 10, 0, 3400000, 0, -10};
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), cf_test_path(dir, "pools.tif"), GW, GH, 2, GDT_Float32, NULL);
  assert_non_null(ds);
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(srs, 32650);
  GDALSetSpatialRef(ds, srs);
  OSRDestroySpatialReference(srs);
  float *v = malloc(sizeof(float) * GW * GH);
  for (int b = 1; b <= 2; b++) {
    for (int j = 0; j < GH; j++)
      for (int i = 0; i < GW; i++)
        v[j * GW + i] = b == 2 ? 5.0f : (j < 100 && i < 200) ? -9999.0f : i < 500 ? 40.0f : 80.0f;
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    GDALSetDescription(band, b == 1 ? "total" : "total_se");
    GDALSetRasterNoDataValue(band, -9999);
    assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, GW, GH, v, GW, GH, GDT_Float32, 0, 0), CE_None);
  }
  free(v);
  GDALClose(ds);
  /* the rectangle, densified, to WGS84 */
  const double x0 = 500000 + 80.5 * 12.5, x1 = 500000 + 560.5 * 12.5, y0 = 3400000 - 96.5 * 12.5,
               y1 = 3400000 - 360.5 * 12.5;
  const double cx[5] = {x0, x1, x1, x0, x0}, cy[5] = {y0, y0, y1, y1, y0};
  char text[16384];
  size_t n = (size_t)snprintf(text, sizeof text,
                              "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
                              "{\"stratum\":\"R\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[");
  for (int e = 0; e < 4; e++)
    for (int k = 0; k < 20 + (e == 3); k++) {
      double x = cx[e] + (cx[e + 1] - cx[e]) * k / 20.0, y = cy[e] + (cy[e + 1] - cy[e]) * k / 20.0;
      transform(32650, 4326, &x, &y);
      n += (size_t)snprintf(text + n, sizeof text - n, "%s[%.15f,%.15f]", e || k ? "," : "", x, y);
    }
  snprintf(text + n, sizeof text - n, "]]}}]}");
  cf_test_write_text(cf_test_path(dir, "strata.geojson"), text);
}

static void map_pixels_where_the_geometry_is(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  write_geometry_inputs(dir);
  double lon[2] = {500000 + 240.5 * 12.5, 600000}, lat[2] = {3400000 - 200.5 * 12.5, 3400000};
  for (int k = 0; k < 2; k++) transform(32650, 4326, &lon[k], &lat[k]);
  char cog[1100], strata[1100];
  snprintf(cog, sizeof cog, "%s", cf_test_path(dir, "pools.tif"));
  snprintf(strata, sizeof strata, "%s", cf_test_path(dir, "strata.geojson"));
  cf_report_map_spec spec = {cog, "total", "t C/ha", strata, NULL, lon, lat, 2, 0};
  cf_ctx *ctx = cf_test_ctx();
  unsigned char *png;
  size_t n;
  cf_report_map_info info;
  int rc = cf_report_map_png(ctx, &spec, &png, &n, &info);
  if (rc) fail_msg("%s", cf_error_message(ctx));
  assert_int_equal(info.w, 800);
  assert_int_equal(info.map_h, 480);
  assert_int_equal(info.h, 480 + CF_REPORT_MAP_LEGEND_H);
  assert_int_equal(info.n_rings, 1);
  assert_int_equal(info.n_plots_in, 1);
  assert_close(info.scale, 80.0, 0, 0);
  int w, h;
  char scale[64];
  unsigned char *px = decode_png(png, n, &w, &h, scale, sizeof scale);
  assert_int_equal(w, 800);
  assert_int_equal(h, 480 + CF_REPORT_MAP_LEGEND_H);
  assert_close(atof(scale), 80.0, 0, 0);
  /* every pixel of the four edges is the line colour */
  for (int x = 80; x <= 560; x++)
    for (int k = 0; k < 2; k++) assert_rgb(pixel(px, w, x, k ? 360 : 96), CF_REPORT_MAP_LINE_RGB, 0, x, k ? 360 : 96);
  for (int y = 96; y <= 360; y++)
    for (int k = 0; k < 2; k++) assert_rgb(pixel(px, w, k ? 560 : 80, y), CF_REPORT_MAP_LINE_RGB, 0, k ? 560 : 80, y);
  /* values: image column 300 is raster columns 375-376 (40), column 700
   * is 875-876 (80); (50, 40) is raster (62.5, 50): nodata */
  assert_rgb(pixel(px, w, 300, 150), VIRIDIS_HALF, 0, 300, 150);
  assert_rgb(pixel(px, w, 700, 150), VIRIDIS_TOP, 0, 700, 150);
  assert_rgb(pixel(px, w, 50, 40), GREY, 0, 50, 40);
  /* the plot: its pixel and the rim's edge (5 pixels out) */
  assert_rgb(pixel(px, w, 240, 200), CF_REPORT_MAP_PLOT_RGB, 0, 240, 200);
  static const unsigned char white[3] = {255, 255, 255};
  assert_rgb(pixel(px, w, 245, 200), white, 0, 245, 200);
  /* the colour bar from x = w/8 to w - 1 - w/8 (rows 480+8 .. 480+24): its
   * ends one pixel inside the frame are viridis 0 and 1 within one step
   * of the ramp (1/598 of the range: at most 2 units per channel) */
  assert_rgb(pixel(px, w, 101, 496), VIRIDIS_BOTTOM, 2, 101, 496);
  assert_rgb(pixel(px, w, 800 - 1 - 100 - 1, 496), VIRIDIS_TOP, 2, 698, 496);
  free(px);
  free(png);
  /* the SE band: another band, its own scale (5) */
  spec.band = "total_se";
  assert_int_equal(cf_report_map_png(ctx, &spec, &png, &n, &info), CF_OK);
  assert_close(info.scale, 5.0, 0, 0);
  free(png);
  /* a band that is not there, strata without polygons */
  spec.band = "agb";
  assert_int_equal(cf_report_map_png(ctx, &spec, &png, &n, &info), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "no band described \"agb\""));
  assert_null(png);
  cf_test_write_text(strata, "{\"type\":\"FeatureCollection\",\"features\":[]}");
  spec.band = "total";
  assert_int_equal(cf_report_map_png(ctx, &spec, &png, &n, &info), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "no polygons"));
  cf_ctx_destroy(ctx);
  done_with(dir);
}

/* --- vector exports ------------------------------------------------------------ */

static void strata_and_plots_as_gpkg_and_kml(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const char *ids[3] = {"P1", "P<2>", "P3"}, *strata[3] = {"A", "B & C", "A"};
  const double lon[3] = {-115.80123456789, -115.79, NAN}, lat[3] = {49.55123456789, 49.56, NAN};
  cf_report_vector_spec s = {BLOCKS, NULL, "BlockID", ids, strata, lon, lat, 3};
  cf_ctx *ctx = cf_test_ctx();
  char stem[1100];
  snprintf(stem, sizeof stem, "%s", cf_test_path(dir, "geo"));
  int written = -1;
  int rc = cf_report_vector_write(ctx, &s, stem, &written);
  if (rc) fail_msg("%s", cf_error_message(ctx));
  assert_int_equal(written, 2); /* the third plot has no coordinates */
  char args[4096];
  snprintf(args, sizeof args, "'%s' '%s.gpkg' '%s.kml'", BLOCKS, stem, stem);
  assert_int_equal(
      run_python("import sys\n"
                 "from osgeo import ogr, osr\n"
                 "sds=ogr.Open(sys.argv[1]); src=sds.GetLayer(0)\n"
                 "g=ogr.Open(sys.argv[2]); k=ogr.Open(sys.argv[3])\n"
                 "assert sorted(g.GetLayer(i).GetName() for i in range(g.GetLayerCount()))==[\"plots\",\"strata\"]\n"
                 "gs=g.GetLayerByName(\"strata\"); ks=k.GetLayerByName(\"strata\")\n"
                 "assert gs.GetFeatureCount()==src.GetFeatureCount()==ks.GetFeatureCount()==3\n"
                 "assert gs.GetSpatialRef().IsSame(src.GetSpatialRef())\n"
                 "wgs=osr.SpatialReference(); wgs.ImportFromEPSG(4326); wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                 "s0=src.GetSpatialRef().Clone(); s0.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                 "ct=osr.CoordinateTransformation(s0, wgs)\n"
                 "def pts(geom):\n"
                 "  if geom.GetPointCount(): return geom.GetPoints()\n"
                 "  return [p for i in range(geom.GetGeometryCount()) for p in pts(geom.GetGeometryRef(i))]\n"
                 "src.ResetReading()\n"
                 "for f in src:\n"
                 "  a=[x for x in gs if x.GetField(\"BlockID\")==f.GetField(\"BlockID\")]; gs.ResetReading()\n"
                 "  assert len(a)==1 and a[0].GetGeometryRef().Equals(ogr.ForceToMultiPolygon(f.GetGeometryRef().Clone()))\n"
                 "  b=[x for x in ks if x.GetField(\"Name\")==str(f.GetField(\"BlockID\"))]; ks.ResetReading()\n"
                 "  assert len(b)==1, f.GetField(\"BlockID\")\n"
                 "  want=f.GetGeometryRef().Clone(); want.Transform(ct)\n"
                 "  p, q = pts(b[0].GetGeometryRef()), pts(want)\n"
                 "  assert len(p)==len(q)\n"
                 /* KML keeps 15 significant digits: 1e-9 degrees is 0.1 mm */
                 "  assert max(max(abs(u[0]-v[0]), abs(u[1]-v[1])) for u, v in zip(p, q)) < 1e-9\n"
                 "for lay in (g.GetLayerByName(\"plots\"), k.GetLayerByName(\"plots\")):\n"
                 "  f=[x for x in lay]\n"
                 "  assert len(f)==2\n"
                 "  key=\"plot\" if lay.GetLayerDefn().GetFieldIndex(\"plot\")>=0 else \"Name\"\n"
                 "  assert [(x.GetField(key), x.GetField(\"stratum\")) for x in f]==[(\"P1\",\"A\"),(\"P<2>\",\"B & C\")], key\n"
                 "  p=f[0].GetGeometryRef()\n"
                 "  assert abs(p.GetX()+115.80123456789)<1e-11 and abs(p.GetY()-49.55123456789)<1e-11, (p.GetX(), p.GetY())\n"
                 "print(\"ok\")\n",
                 args),
      0);
  /* bad strata: nothing written */
  char *dir2 = cf_test_tmpdir();
  snprintf(stem, sizeof stem, "%s", cf_test_path(dir2, "geo"));
  s.strata_path = "/nonexistent/strata.gpkg";
  assert_int_equal(cf_report_vector_write(ctx, &s, stem, &written), CF_ENOENT);
  s.strata_path = BLOCKS, s.stratum_field = "NoSuchField";
  assert_int_equal(cf_report_vector_write(ctx, &s, stem, &written), CF_EDATA);
  assert_non_null(strstr(cf_error_message(ctx), "NoSuchField"));
  assert_int_equal(cf_test_count_entries(dir2, ""), 0);
  cf_ctx_destroy(ctx);
  done_with(dir2);
  done_with(dir);
}

/* --- the whole report in Chromium ----------------------------------------------------- */

/* The demo's inventory grown for a second event: every DBH x 1.08 and
 * height x 1.05 (ILLUSTRATIVE growth over a few years, only to have two
 * different stock results of one inventory). */
static void write_grown_trees(const char *in, const char *out) {
  FILE *f = fopen(in, "r"), *g = fopen(out, "w");
  assert_non_null(f);
  assert_non_null(g);
  char line[512];
  assert_non_null(fgets(line, sizeof line, f));
  fputs(line, g);
  while (fgets(line, sizeof line, f)) {
    char plot[64], status[32];
    double d, h, rho;
    assert_int_equal(sscanf(line, "%63[^,],%lf,%lf,%lf,%31s", plot, &d, &h, &rho, status), 5);
    fprintf(g, "%s,%.1f,%.1f,%.2f,%s\n", plot, d * 1.08, h * 1.05, rho, status);
  }
  fclose(f);
  fclose(g);
}

static void stocks(const char *dir, const char *trees, cf_stocks_result *r) {
  cf_ctx *ctx = cf_test_ctx();
  cf_stocks_opts o;
  cf_stocks_opts_default(&o);
  const char *kv[] = {"allometry=chave2014", "root_shoot=ar-tool14", "pools=agb,bgb,deadwood,litter", "biome=temperate",
                      "discount=ar-tool14"};
  for (int k = 0; k < 5; k++) assert_int_equal(cf_stocks_opts_set(ctx, &o, kv[k]), CF_OK);
  cf_inv_options inv;
  cf_inv_options_init(&inv);
  assert_int_equal(cf_inv_options_set(ctx, &inv, "stratum_field=stand_id"), CF_OK);
  char plots[1100], strata[1100], tr[1100];
  snprintf(plots, sizeof plots, "%s/forest/plots.csv", dir);
  snprintf(strata, sizeof strata, "%s/stands.geojson", dir);
  snprintf(tr, sizeof tr, "%s", trees);
  int rc = cf_forest_stocks(ctx, plots, tr, strata, &inv, &o, r);
  if (rc) fail_msg("%s", cf_error_message(ctx));
  cf_inv_options_free(&inv);
  cf_ctx_destroy(ctx);
}

/* The demo's plots have no coordinates (its plots.csv has none); they lie
 * on a ring at 0.45 of each stand's radius, the stand polygon being a
 * circle of 0.8 of that radius (raster/demo_scene.c). Here, from the
 * polygons alone: centre = the polygon's centroid and radius = centroid to
 * first vertex / 0.8, in UTM 50N; six plots at 60-degree steps. Only for
 * drawing them: the stocks do not use plot positions. */
#define NPLOTS 18
static void demo_plot_positions(const char *dir, double *lon, double *lat, char ids[NPLOTS][16], char st[NPLOTS][8]) {
  GDALDatasetH ds = GDALOpenEx(cf_test_path(dir, "stands.geojson"), GDAL_OF_VECTOR, NULL, NULL, NULL);
  assert_non_null(ds);
  OGRLayerH l = GDALDatasetGetLayer(ds, 0);
  OGRFeatureH f;
  int n = 0;
  while ((f = OGR_L_GetNextFeature(l)) != NULL) {
    OGRGeometryH ring = OGR_G_GetGeometryRef(OGR_F_GetGeometryRef(f), 0);
    int np = OGR_G_GetPointCount(ring) - 1;
    double cx = 0, cy = 0, vx = OGR_G_GetX(ring, 0), vy = OGR_G_GetY(ring, 0);
    transform(4326, 32650, &vx, &vy);
    for (int k = 0; k < np; k++) {
      double x = OGR_G_GetX(ring, k), y = OGR_G_GetY(ring, k);
      transform(4326, 32650, &x, &y);
      cx += x / np, cy += y / np; /* a regular polygon: the vertex mean is its centroid */
    }
    double rad = hypot(vx - cx, vy - cy) / 0.8;
    for (int k = 0; k < 6 && n < NPLOTS; k++, n++) {
      double a = k * M_PI / 3; /* image rows grow southwards: the demo's angle runs clockwise */
      lon[n] = cx + 0.45 * rad * cos(a), lat[n] = cy - 0.45 * rad * sin(a);
      transform(32650, 4326, &lon[n], &lat[n]);
      snprintf(ids[n], 16, "%s-P%d", OGR_F_GetFieldAsString(f, 0), k + 1);
      snprintf(st[n], 8, "%s", OGR_F_GetFieldAsString(f, 0));
    }
    OGR_F_Destroy(f);
  }
  GDALClose(ds);
  assert_int_equal(n, NPLOTS);
}

static void stocks_table(cf_report_section *s, const char *name, const char *caption, const cf_stocks_result *r) {
  const cf_report_column cols[10] = {{"Stratum", NULL},         {"Area", "ha"},     {"Plots", NULL},
                                     {"AGB", "t d.m./ha"},      {"Tree biomass", "t d.m./ha"},
                                     {"SE", "t d.m./ha"},       {"AGB carbon", "t C/ha"},
                                     {"BGB carbon", "t C/ha"},  {"Dead wood + litter", "t C/ha"},
                                     {"Stock", "t CO2e"}};
  cf_report_table *t = cf_report_table_add(s, name, caption, 10, cols, 1);
  for (int h = 0; h < r->n_strata; h++) {
    const cf_stocks_stratum *S = &r->strata[h];
    cf_report_row(t);
    cf_report_cell_text(t, S->name);
    cf_report_cell_num(t, S->area_ha, CF_REPORT_GROUPED(1));
    cf_report_cell_num(t, S->n_plots, CF_REPORT_FIXED(0));
    cf_report_cell_num(t, S->agb_mean, CF_REPORT_FIXED(1));
    cf_report_cell_num(t, S->biomass.mean, CF_REPORT_FIXED(1));
    cf_report_cell_num(t, S->biomass.se, CF_REPORT_FIXED(1));
    cf_report_cell_num(t, S->per_ha.pool[CF_POOL_AGB].value, CF_REPORT_FIXED(2));
    cf_report_cell_num(t, S->per_ha.pool[CF_POOL_BGB].value, CF_REPORT_FIXED(2));
    cf_report_cell_num(t, S->per_ha.pool[CF_POOL_DEADWOOD].value + S->per_ha.pool[CF_POOL_LITTER].value,
                       CF_REPORT_FIXED(2));
    cf_report_cell_num(t, S->stock_t_co2e, CF_REPORT_GROUPED(0));
    cf_report_row_source(t, "AR-TOOL14 stratum mean; pools x area x 44/12");
  }
  cf_report_row(t);
  cf_report_cell_text(t, "project");
  cf_report_cell_num(t, r->estimate.area_ha, CF_REPORT_GROUPED(1));
  cf_report_cell_num(t, r->estimate.n_plots, CF_REPORT_FIXED(0));
  /* per hectare: area-weighted means, as the stocks CSV's project row */
  double agb = 0, c[CF_POOL_COUNT];
  for (int h = 0; h < r->n_strata; h++) agb += r->strata[h].agb_mean * r->strata[h].area_ha / r->estimate.area_ha;
  for (int p = 0; p < CF_POOL_COUNT; p++) c[p] = r->totals.t_co2e.pool[p].value * 12.0 / 44.0 / r->estimate.area_ha;
  cf_report_cell_num(t, agb, CF_REPORT_FIXED(1));
  cf_report_cell_num(t, r->estimate.mean, CF_REPORT_FIXED(1));
  cf_report_cell_num(t, r->estimate.se, CF_REPORT_FIXED(1));
  cf_report_cell_num(t, c[CF_POOL_AGB], CF_REPORT_FIXED(2));
  cf_report_cell_num(t, c[CF_POOL_BGB], CF_REPORT_FIXED(2));
  cf_report_cell_num(t, c[CF_POOL_DEADWOOD] + c[CF_POOL_LITTER], CF_REPORT_FIXED(2));
  cf_report_cell_num(t, r->totals.total_t_co2e, CF_REPORT_GROUPED(0));
  cf_report_row_source(t, "AR-TOOL14: area-weighted mean, SE = sqrt(sum w_h^2 s_h^2 / n_h)");
}

static void report_opens_in_chromium(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  cf_ctx *ctx = cf_test_ctx();
  assert_int_equal(cf_demo_scene_write(ctx, dir), CF_OK);
  char trees1[1100], trees2[1100];
  snprintf(trees1, sizeof trees1, "%s", cf_test_path(dir, "forest/trees.csv"));
  snprintf(trees2, sizeof trees2, "%s", cf_test_path(dir, "forest/trees_grown.csv"));
  write_grown_trees(trees1, trees2);
  cf_stocks_result ev[2];
  stocks(dir, trees1, &ev[0]);
  stocks(dir, trees2, &ev[1]);
  /* the pool COG, by the pipeline stages that make it */
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n    name: chm\n    path: chm.tif\n"
           "  - type: sink.biomass_model\n    name: model\n    kind: loglog\n"
           "    coefficients: [0.69314718055994530942, 1.5]\n    residual_sd: 0.3\n" /* AGB = 2 H^1.5: illustrative */
           "  - type: sink.pool_map\n    name: pools\n    model: model\n    features: [chm]\n"
           "    pools: [agb, bgb, deadwood, litter]\n    deadwood_fraction: 0.08\n    litter_fraction: 0.04\n"
           "  - type: write.cog\n    path: out/pools.tif\n    data_type: Float32\n");
  cf_test_write_text(cf_test_path(dir, "pools.yaml"), yaml);
  char args[2400];
  snprintf(args, sizeof args, "-q run '%s'", cf_test_path(dir, "pools.yaml"));
  assert_int_equal(cf_test_cli(args, cf_test_path(dir, "run.log")), 0);
  char cog[1100], stands[1100];
  snprintf(cog, sizeof cog, "%s", cf_test_path(dir, "out/pools.tif"));
  snprintf(stands, sizeof stands, "%s", cf_test_path(dir, "stands.geojson"));
  double lon[NPLOTS], lat[NPLOTS];
  char ids[NPLOTS][16], st[NPLOTS][8];
  demo_plot_positions(dir, lon, lat, ids, st);

  /* the model */
  cf_report *r = cf_report_create("Forest carbon stocks at two monitoring events \xE2\x80\x94 demo project");
  cf_report_set_generated(r, 1764460800LL);
  for (int e = 0; e < 2; e++)
    for (int i = 0; i < ev[e].ninputs; i++) {
      char role[64];
      snprintf(role, sizeof role, "event %d %s", e + 1, ev[e].inputs[i].role);
      assert_int_equal(cf_report_add_input(ctx, r, ev[e].inputs[i].path, role, ev[e].inputs[i].sha256), CF_OK);
    }
  assert_int_equal(cf_report_add_input(ctx, r, cog, "pool map", NULL), CF_OK);
  cf_report_add_setting(r, "allometry", "chave2014");
  cf_report_add_setting(r, "discount", "ar-tool14");
  cf_report_section *s1 = cf_report_section_add(r, "Carbon stocks per stratum");
  cf_report_paragraph(s1, "Event 1 is the demo inventory as measured; event 2 the same stems grown (DBH x 1.08, "
                          "height x 1.05), an illustrative second monitoring event.");
  stocks_table(s1, "stocks_event1", "Event 1: stocks per stratum (Chave 2014, AR-TOOL14 root-to-shoot)", &ev[0]);
  stocks_table(s1, "stocks_event2", "Event 2: stocks per stratum", &ev[1]);
  const cf_report_column ccols[4] = {{"Stratum", NULL}, {"Event 1", "t CO2e"}, {"Event 2", "t CO2e"},
                                     {"Change", "t CO2e"}};
  cf_report_table *ch = cf_report_table_add(s1, "stock_change", "Stock per stratum at both events", 4, ccols, 0);
  for (int h = 0; h < ev[0].n_strata; h++) {
    cf_report_row(ch);
    cf_report_cell_text(ch, ev[0].strata[h].name);
    cf_report_cell_num(ch, ev[0].strata[h].stock_t_co2e, CF_REPORT_GROUPED(0));
    cf_report_cell_num(ch, ev[1].strata[h].stock_t_co2e, CF_REPORT_GROUPED(0));
    cf_report_cell_num(ch, ev[1].strata[h].stock_t_co2e - ev[0].strata[h].stock_t_co2e, CF_REPORT_GROUPED(0));
  }
  cf_report_section *s2 = cf_report_section_add(r, "Uncertainty");
  for (int e = 0; e < 2; e++) {
    char u[512];
    snprintf(u, sizeof u,
             "Event %d: U = %.1f %% at 90 %% (t = %.4f, df = %d); AR-TOOL14 deducts %.0f %% of the half-width, "
             "%.0f t CO2e: %.0f t CO2e after the discount.",
             e + 1, ev[e].uncertainty_pct_90, ev[e].estimate.t_value, ev[e].estimate.df,
             100 * ev[e].totals.discount.fraction_of_half_width, ev[e].totals.discount.deduction,
             ev[e].totals.total_discounted_t_co2e);
    cf_report_paragraph(s2, u);
  }
  cf_report_section *s3 = cf_report_section_add(r, "Maps");
  const char *bands[2] = {"total", "total_se"};
  unsigned char *png[2];
  size_t npng[2];
  cf_report_map_info info[2];
  for (int b = 0; b < 2; b++) {
    cf_report_map_spec spec = {cog, bands[b], "t C/ha", stands, NULL, lon, lat, NPLOTS, 0};
    int rc = cf_report_map_png(ctx, &spec, &png[b], &npng[b], &info[b]);
    if (rc) fail_msg("%s", cf_error_message(ctx));
    cf_report_image(s3, png[b], npng[b], b ? "Map of the per-pixel standard error of the carbon density"
                                         : "Map of carbon density",
                    b ? "Standard error of the carbon density (t C/ha), stands (black) and plots (red)"
                      : "Carbon density, all estimated pools (t C/ha), stands (black) and plots (red)");
  }
  for (int p = 0; p < ev[0].nparams; p++) {
    const cf_stocks_param *P = &ev[0].params[p];
    char name[300];
    snprintf(name, sizeof name, "%s%s%s", P->name, P->stratum[0] ? " / " : "", P->stratum);
    if (isfinite(P->value)) cf_report_param(r, name, P->value, CF_REPORT_SIG(6), P->unit, P->source);
    else cf_report_param_text(r, name, "(see source)", P->unit, P->source); /* an equation or a policy */
  }
  char html[1100], geo[1100];
  snprintf(html, sizeof html, "%s", cf_test_path(dir, "out/report.html"));
  snprintf(geo, sizeof geo, "%s", cf_test_path(dir, "out/strata_plots"));
  int rc = cf_report_write(ctx, r, html);
  if (rc) fail_msg("%s", cf_error_message(ctx));
  const char *pid[NPLOTS], *pst[NPLOTS];
  for (int k = 0; k < NPLOTS; k++) pid[k] = ids[k], pst[k] = st[k];
  cf_report_vector_spec vs = {stands, NULL, "stand_id", pid, pst, lon, lat, NPLOTS};
  int written;
  assert_int_equal(cf_report_vector_write(ctx, &vs, geo, &written), CF_OK);
  assert_int_equal(written, NPLOTS);
  cf_report_destroy(r);

  /* the map on the real raster: stand boundaries where the polygons are
   * and plot marks at their pixels, from the COG's own geotransform */
  GDALDatasetH ds = GDALOpen(cog, GA_ReadOnly);
  double gt[6];
  GDALGetGeoTransform(ds, gt);
  int cw = GDALGetRasterXSize(ds), chh = GDALGetRasterYSize(ds);
  GDALClose(ds);
  int w, h;
  unsigned char *px = decode_png(png[0], npng[0], &w, &h, NULL, 0);
  assert_int_equal(w, 800);
  assert_int_equal(h, (int)lround(800.0 * chh / cw) + CF_REPORT_MAP_LEGEND_H);
  double pw = gt[1] * cw / 800.0, ph = gt[5] * chh / (h - CF_REPORT_MAP_LEGEND_H);
  GDALDatasetH vds = GDALOpenEx(stands, GDAL_OF_VECTOR, NULL, NULL, NULL);
  OGRFeatureH f;
  int vertices = 0;
  while ((f = OGR_L_GetNextFeature(GDALDatasetGetLayer(vds, 0))) != NULL) {
    OGRGeometryH ring = OGR_G_GetGeometryRef(OGR_F_GetGeometryRef(f), 0);
    for (int k = 0; k < OGR_G_GetPointCount(ring); k += 5, vertices++) {
      double x = OGR_G_GetX(ring, k), y = OGR_G_GetY(ring, k);
      transform(4326, 32650, &x, &y);
      int ix = (int)floor((x - gt[0]) / pw), iy = (int)floor((y - gt[3]) / ph);
      assert_rgb(pixel(px, w, ix, iy), CF_REPORT_MAP_LINE_RGB, 0, ix, iy);
    }
    OGR_F_Destroy(f);
  }
  GDALClose(vds);
  assert_true(vertices >= 12);
  for (int k = 0; k < NPLOTS; k++) {
    double x = lon[k], y = lat[k];
    transform(4326, 32650, &x, &y);
    int ix = (int)floor((x - gt[0]) / pw), iy = (int)floor((y - gt[3]) / ph);
    assert_rgb(pixel(px, w, ix, iy), CF_REPORT_MAP_PLOT_RGB, 0, ix, iy);
  }
  free(px);
  free(png[0]), free(png[1]);

  /* the CSV beside the report has the stocks' numbers (the stocks CSV of
   * `forest stocks` for the same result, read by Python's csv module) */
  char sj[1100];
  snprintf(sj, sizeof sj, "%s", cf_test_path(dir, "forest_stocks_event1.json"));
  assert_int_equal(cf_stocks_write(ctx, &ev[0], sj, "{}"), CF_OK);
  snprintf(args, sizeof args, "'%s' '%s'", cf_test_path(dir, "forest_stocks_event1.csv"),
           cf_test_path(dir, "out/stocks_event1.csv"));
  assert_int_equal(run_python("import sys, csv\n"
                              "a={r[\"stratum\"]: r for r in csv.DictReader(open(sys.argv[1]))}\n"
                              "b=list(csv.DictReader([l for l in open(sys.argv[2], newline=\"\") if l[0] != \"#\"]))\n"
                              "assert len(b)==4 and b[-1][\"Stratum\"]==\"project\"\n"
                              "for r in b[:-1]:\n"
                              "  s=a[r[\"Stratum\"]]\n"
                              "  assert float(r[\"Stock [t CO2e]\"])==float(s[\"stock_t_co2e\"]), (r, s)\n"
                              "  assert float(r[\"Area [ha]\"])==float(s[\"area_ha\"])\n"
                              "  assert float(r[\"AGB [t d.m./ha]\"])==float(s[\"agb_mean_t_dm_per_ha\"])\n"
                              "p=b[-1]; q=a[\"project\"]\n"
                              "assert float(p[\"Stock [t CO2e]\"])==float(q[\"stock_t_co2e\"])\n"
                              /* the project's per-hectare values: the same formula, summed in another order */
                              "assert abs(float(p[\"AGB [t d.m./ha]\"])/float(q[\"agb_mean_t_dm_per_ha\"])-1)<1e-14\n"
                              "assert abs(float(p[\"AGB carbon [t C/ha]\"])/float(q[\"agb_t_c_per_ha\"])-1)<1e-14\n"
                              "print(\"ok\")\n",
                              args),
                   0);

  /* headless Chromium */
  char shot[1100], out[1100];
  snprintf(shot, sizeof shot, "%s", cf_test_path(dir, "out/report.png"));
  snprintf(out, sizeof out, "%s", cf_test_path(dir, "chromium.txt"));
  cf_test_chromium(html, shot, out);
  char *facts = cf_test_slurp(out);
  print_message("%s", facts);
  free(facts);
  /* about, inputs, 2 event tables, change, parameters; 2 maps */
  cf_test_assert_page_whole(out, shot, 6, 2);
  /* the control: a console error and a missing image are found */
  cf_test_write_text(cf_test_path(dir, "bad.html"), "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>x</title>"
                                                    "</head><body><img src=\"missing.png\" alt=\"\"><script>"
                                                    "console.error(\"boom\")</script></body></html>");
  char bad[1100], badshot[1100];
  snprintf(bad, sizeof bad, "%s", cf_test_path(dir, "bad.html"));
  snprintf(badshot, sizeof badshot, "%s", cf_test_path(dir, "bad.png"));
  cf_test_chromium(bad, badshot, out);
  assert_true(cf_test_fact(out, "errors") >= 2);
  assert_int_equal(cf_test_fact(out, "requests_outside"), 1);
  assert_int_equal(cf_test_fact(out, "images_decoded"), 0);
  cf_stocks_result_free(&ev[0]);
  cf_stocks_result_free(&ev[1]);
  cf_ctx_destroy(ctx);
  done_with(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(html_escaping_and_csv_quoting),
      cmocka_unit_test(bad_models_write_nothing),
      cmocka_unit_test(map_pixels_where_the_geometry_is),
      cmocka_unit_test(strata_and_plots_as_gpkg_and_kml),
      cmocka_unit_test(report_opens_in_chromium),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
