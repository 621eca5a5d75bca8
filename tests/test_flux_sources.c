/*
 * The sources layer reader (ingest/flux_sources.h) on layers written here
 * by GDAL's own Python bindings (/usr/bin/python3 + osgeo.ogr), as a user
 * of QGIS or ogr2ogr would make them: one GeoJSON in EPSG:4326 and one
 * GeoPackage in UTM zone 51N (EPSG:32651) holding the same five sources
 * (three stacks, two of them in a group; a city polygon with a hole; a
 * forest MultiPolygon that is a sink, with no height), and one bad layer
 * per validation rule; and a Shapefile, whose DBF cuts field names to 10
 * characters.
 *
 * The reference for the positions is the lon/lat the script started from
 * (written to expected.txt), not what the reader returns: both files must
 * give them back within 1e-9 degree (1e-4 m; PROJ's UTM round trip is
 * good to about a nanometre, the GeoJSON driver writes 15 decimals). The
 * geodesic areas of the two files agree to 1e-8 relative (the vertices
 * agree to 1e-9 degree) and are checked against the spherical estimate
 * R^2 dlon (sin lat2 - sin lat1) to 0.5 % (the ellipsoid differs from a
 * sphere of the mean radius by less than that at 31 degrees).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "ingest/flux_sources.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with python3-gdal */
#define D2R (3.14159265358979323846 / 180.0)

static const char *make_layers_py =
    "import sys\n"
    "from osgeo import ogr, osr\n"
    "ogr.UseExceptions(); osr.UseExceptions()\n"
    "wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326)\n"
    "wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
    "utm = osr.SpatialReference(); utm.ImportFromEPSG(32651)\n"
    "utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
    "to_utm = osr.CoordinateTransformation(wgs, utm)\n"
    "def square(x0, y0, x1, y1):\n"
    "    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]\n"
    "def poly(rings):\n"
    "    p = ogr.Geometry(ogr.wkbPolygon)\n"
    "    for r in rings:\n"
    "        g = ogr.Geometry(ogr.wkbLinearRing)\n"
    "        for x, y in r: g.AddPoint_2D(x, y)\n"
    "        p.AddGeometry(g)\n"
    "    return p\n"
    "def point(x, y):\n"
    "    g = ogr.Geometry(ogr.wkbPoint); g.AddPoint_2D(x, y); return g\n"
    "city = poly([square(121.48, 31.19, 121.50, 31.20), square(121.485, 31.193, 121.487, 31.195)])\n"
    "forest = ogr.Geometry(ogr.wkbMultiPolygon)\n"
    "forest.AddGeometry(poly([square(121.40, 31.25, 121.41, 31.26)]))\n"
    "forest.AddGeometry(poly([square(121.42, 31.25, 121.43, 31.26)]))\n"
    "GOOD = [  # name, kind, height_m, prior, sigma, group, geometry\n"
    "    ('P1', 'point', 120.0, 80.0, 40.0, None, point(121.512345678, 31.212345678)),\n"
    "    ('P2a', 'point', 60.0, 30.0, 15.0, 'park', point(121.52, 31.205)),\n"
    "    ('P2b', 'Point', 45.5, 20.0, 10.0, 'park', point(121.521, 31.2055)),\n"
    "    ('CITY', 'area', 0.0, 50.0, 25.0, None, city),\n"
    "    ('FOREST', 'area', None, -5.0, 3.0, '', forest),\n"
    "]\n"
    "def write(path, driver, srs, feats, fields=('name', 'kind', 'height_m', 'prior_t_per_h',\n"
    "                                           'prior_sigma_t_per_h', 'group'), ct=None):\n"
    "    ds = ogr.GetDriverByName(driver).CreateDataSource(path)\n"
    "    lyr = ds.CreateLayer('sources', srs, ogr.wkbUnknown)\n"
    "    for f in fields:\n"
    "        t = ogr.OFTString if f in ('name', 'kind', 'group') else ogr.OFTReal\n"
    "        lyr.CreateField(ogr.FieldDefn(f, t))\n"
    "    for row in feats:\n"
    "        ft = ogr.Feature(lyr.GetLayerDefn())\n"
    "        for f, v in zip(('name', 'kind', 'height_m', 'prior_t_per_h', 'prior_sigma_t_per_h', 'group'), row):\n"
    "            if f in fields and v is not None: ft.SetField(fields.index(f), v)\n"
    "        g = row[6].Clone()\n"
    "        if ct: g.Transform(ct)\n"
    "        ft.SetGeometry(g)\n"
    "        lyr.CreateFeature(ft)\n"
    "    ds = None\n"
    "d = sys.argv[1]\n"
    "write(d + '/sources.geojson', 'GeoJSON', wgs, GOOD)\n"
    "write(d + '/sources.gpkg', 'GPKG', utm, GOOD, ct=to_utm)\n"
    "with open(d + '/expected.txt', 'w') as out:\n"
    "    for row in GOOD:\n"
    "        g = row[6]\n"
    "        if g.GetGeometryType() == ogr.wkbPoint:\n"
    "            out.write('%s %.15f %.15f\\n' % (row[0], g.GetX(), g.GetY()))\n"
    "dup = GOOD[:2] + [('P1',) + GOOD[2][1:]]\n"
    "write(d + '/dup.geojson', 'GeoJSON', wgs, dup)\n"
    "write(d + '/kind.geojson', 'GeoJSON', wgs, GOOD[:1] + [('X1', 'point', 10.0, 1.0, 1.0, None, city)])\n"
    "write(d + '/sigma.geojson', 'GeoJSON', wgs, GOOD[:1] + [('S1', 'point', 10.0, 1.0, 0.0, None, point(121.5, 31.2))])\n"
    "write(d + '/nofield.geojson', 'GeoJSON', wgs, GOOD,\n"
    "      fields=('name', 'kind', 'height_m', 'prior_t_per_h', 'group'))\n"
    "write(d + '/height.gpkg', 'GPKG', utm, GOOD[:1] + [('H1', 'point', -3.0, 1.0, 1.0, None, point(121.5, 31.2))], ct=to_utm)\n"
    "write(d + '/areapoint.gpkg', 'GPKG', utm, [('A9', 'area', 0.0, 1.0, 1.0, None, point(121.5, 31.2))], ct=to_utm)\n"
    "write(d + '/sources.shp', 'ESRI Shapefile', utm, [r for r in GOOD if r[1] != 'area'], ct=to_utm)\n"
    "print('layers written')\n";

typedef struct {
  char *dir;
  char log[1100];
  int ok;
} fixture;

static int group_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->dir = cf_test_tmpdir();
  snprintf(f->log, sizeof f->log, "%s/log.txt", f->dir);
  *state = f;
  cf_test_write_text(cf_test_path(f->dir, "make_layers.py"), make_layers_py);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, PYTHON " '%s/make_layers.py' '%s' > '%s' 2>&1", f->dir, f->dir, f->log);
  if (system(cmd) == 0) {
    f->ok = 1;
  } else {
    snprintf(cmd, sizeof cmd, "cat '%s' >&2", f->log);
    if (system(cmd)) {
    }
  }
  return 0;
}

static int group_teardown(void **state) {
  fixture *f = *state;
  cf_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static cf_ctx *read_ok(fixture *f, const char *name, cf_flux_sources *s) {
  if (!f->ok) {
    print_error("the layers were not written (needs " PYTHON " with osgeo.ogr)\n");
    fail();
  }
  cf_ctx *ctx = cf_test_ctx();
  int rc = cf_flux_sources_read(ctx, cf_test_path(f->dir, name), NULL, s);
  if (rc) print_error("%s\n", cf_error_message(ctx));
  assert_int_equal(rc, CF_OK);
  return ctx;
}

/* The spherical area of a lon/lat box, R = 6371008.8 m (mean radius). */
static double box_area(double x0, double y0, double x1, double y1) {
  const double R = 6371008.8;
  return R * R * (x1 - x0) * D2R * (sin(y1 * D2R) - sin(y0 * D2R));
}

static void check_layer(fixture *f, const cf_flux_sources *s) {
  assert_int_equal(s->n, 5);
  assert_string_equal(s->layer, "sources");
  /* fields */
  int p1 = cf_flux_sources_find(s, "P1"), p2a = cf_flux_sources_find(s, "P2a"),
      p2b = cf_flux_sources_find(s, "P2b"), city = cf_flux_sources_find(s, "CITY"),
      forest = cf_flux_sources_find(s, "FOREST");
  assert_true(p1 >= 0 && p2a >= 0 && p2b >= 0 && city >= 0 && forest >= 0);
  assert_int_equal(cf_flux_sources_find(s, "nope"), -1);
  assert_int_equal(s->src[p1].kind, CF_SOURCE_POINT);
  assert_int_equal(s->src[p2b].kind, CF_SOURCE_POINT); /* "Point": case-insensitive */
  assert_int_equal(s->src[city].kind, CF_SOURCE_AREA);
  assert_int_equal(s->src[forest].kind, CF_SOURCE_AREA);
  assert_close(s->src[p1].height_m, 120, 0, 0);
  assert_close(s->src[p2b].height_m, 45.5, 0, 0);
  assert_close(s->src[forest].height_m, 0, 0, 0); /* empty for an area: 0 */
  assert_close(s->src[p1].prior_t_per_h, 80, 0, 0);
  assert_close(s->src[p1].prior_sigma_t_per_h, 40, 0, 0);
  assert_close(s->src[forest].prior_t_per_h, -5, 0, 0); /* a sink */
  assert_null(s->src[p1].group);
  assert_null(s->src[forest].group); /* empty string: no group */
  assert_string_equal(s->src[p2a].group, "park");
  assert_string_equal(s->src[p2b].group, "park");
  /* points: the lon/lat the script started from */
  FILE *fp = fopen(cf_test_path(f->dir, "expected.txt"), "r");
  assert_non_null(fp);
  char name[64];
  double lon, lat;
  int n = 0;
  while (fscanf(fp, "%63s %lf %lf", name, &lon, &lat) == 3) {
    int i = cf_flux_sources_find(s, name);
    assert_true(i >= 0);
    assert_close(s->src[i].lon, lon, 0, 1e-9);
    assert_close(s->src[i].lat, lat, 0, 1e-9);
    assert_int_equal(s->src[i].poly.nrings, 0);
    n++;
  }
  fclose(fp);
  assert_int_equal(n, 3);
  /* the city: outer ring and a hole, in lon/lat */
  const cf_polygon *pc = &s->src[city].poly;
  assert_int_equal(pc->nrings, 2);
  assert_close(pc->ext[0], 121.48, 0, 1e-9);
  assert_close(pc->ext[1], 31.19, 0, 1e-9);
  assert_close(pc->ext[2], 121.50, 0, 1e-9);
  assert_close(pc->ext[3], 31.20, 0, 1e-9);
  double want = box_area(121.48, 31.19, 121.50, 31.20) - box_area(121.485, 31.193, 121.487, 31.195);
  assert_close(s->src[city].area_m2, want, 5e-3, 0);
  assert_close(s->src[city].lon, 121.49, 0, 1e-3); /* centroid, shifted a little by the hole */
  assert_close(s->src[city].lat, 31.195, 0, 1e-3);
  /* the forest: two rings */
  assert_int_equal(s->src[forest].poly.nrings, 2);
  assert_close(s->src[forest].area_m2, 2 * box_area(121.40, 31.25, 121.41, 31.26), 5e-3, 0);
  assert_close(s->src[p1].area_m2, 0, 0, 0);
}

static void geojson_wgs84(void **state) {
  fixture *f = *state;
  cf_flux_sources s;
  cf_ctx *ctx = read_ok(f, "sources.geojson", &s);
  check_layer(f, &s);
  cf_flux_sources_free(&s);
  cf_ctx_destroy(ctx);
}

static void geopackage_utm(void **state) {
  fixture *f = *state;
  cf_flux_sources s;
  cf_ctx *ctx = read_ok(f, "sources.gpkg", &s);
  check_layer(f, &s);
  cf_flux_sources_free(&s);
  cf_ctx_destroy(ctx);
}

/* The two files, vertex by vertex. */
static void same_sources_either_way(void **state) {
  fixture *f = *state;
  cf_flux_sources a, b;
  cf_ctx *ctx = read_ok(f, "sources.geojson", &a);
  assert_int_equal(cf_flux_sources_read(ctx, cf_test_path(f->dir, "sources.gpkg"), "sources", &b), CF_OK);
  assert_int_equal(a.n, b.n);
  double worst = 0;
  for (int i = 0; i < a.n; i++) {
    const cf_flux_source *x = &a.src[i], *y = &b.src[i];
    assert_string_equal(x->name, y->name);
    assert_close(x->lon, y->lon, 0, 1e-9);
    assert_close(x->lat, y->lat, 0, 1e-9);
    assert_int_equal(x->poly.nrings, y->poly.nrings);
    if (!x->poly.nrings) continue;
    int np = x->poly.ring_start[x->poly.nrings];
    assert_int_equal(np, y->poly.ring_start[y->poly.nrings]);
    for (int k = 0; k < 2 * np; k++) {
      assert_close(x->poly.xy[k], y->poly.xy[k], 0, 1e-9);
      if (fabs(x->poly.xy[k] - y->poly.xy[k]) > worst) worst = fabs(x->poly.xy[k] - y->poly.xy[k]);
    }
    assert_close(x->area_m2, y->area_m2, 1e-8, 0);
  }
  print_message("GeoJSON (EPSG:4326) vs GeoPackage (EPSG:32651): largest vertex difference %.2e degree\n",
                worst);
  cf_flux_sources_free(&a);
  cf_flux_sources_free(&b);
  cf_ctx_destroy(ctx);
}

/* A Shapefile (DBF names are cut to 10 characters: prior_t_pe,
 * prior_sigm) in UTM, points only (a .shp holds one geometry type). */
static void shapefile_truncated_names(void **state) {
  fixture *f = *state;
  cf_flux_sources s, ref;
  cf_ctx *ctx = read_ok(f, "sources.shp", &s);
  assert_int_equal(cf_flux_sources_read(ctx, cf_test_path(f->dir, "sources.geojson"), NULL, &ref), CF_OK);
  assert_int_equal(s.n, 3);
  for (int i = 0; i < s.n; i++) {
    int j = cf_flux_sources_find(&ref, s.src[i].name);
    assert_true(j >= 0);
    assert_close(s.src[i].lon, ref.src[j].lon, 0, 1e-9);
    assert_close(s.src[i].lat, ref.src[j].lat, 0, 1e-9);
    assert_close(s.src[i].prior_t_per_h, ref.src[j].prior_t_per_h, 0, 0);
    assert_close(s.src[i].prior_sigma_t_per_h, ref.src[j].prior_sigma_t_per_h, 0, 0);
    assert_close(s.src[i].height_m, ref.src[j].height_m, 0, 0);
  }
  cf_flux_sources_free(&s);
  cf_flux_sources_free(&ref);
  cf_ctx_destroy(ctx);
}

static void expect_bad(fixture *f, const char *file, const char *const *needles) {
  assert_true(f->ok);
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_sources s;
  const char *path = cf_test_path(f->dir, file);
  int rc = cf_flux_sources_read(ctx, path, NULL, &s);
  const char *msg = cf_error_message(ctx);
  print_message("expected error: %s\n", msg);
  assert_int_equal(rc, CF_EDATA);
  assert_int_equal(s.n, 0);
  assert_null(s.src);
  assert_non_null(strstr(msg, path));
  for (; *needles; needles++)
    if (!strstr(msg, *needles)) {
      print_error("'%s' is not in the message\n", *needles);
      fail();
    }
  cf_ctx_destroy(ctx);
}

static void bad_layers(void **state) {
  fixture *f = *state;
  expect_bad(f, "dup.geojson", (const char *[]){"'P1'", "name", "unique", NULL});
  expect_bad(f, "kind.geojson", (const char *[]){"'X1'", "kind", "Polygon", NULL});
  expect_bad(f, "sigma.geojson", (const char *[]){"'S1'", "prior_sigma_t_per_h", "> 0", NULL});
  expect_bad(f, "nofield.geojson", (const char *[]){"prior_sigma_t_per_h", "no field", NULL});
  expect_bad(f, "height.gpkg", (const char *[]){"'H1'", "height_m", "-3 m", NULL});
  expect_bad(f, "areapoint.gpkg", (const char *[]){"'A9'", "kind", "Point", NULL});
  cf_test_write_text(cf_test_path(f->dir, "junk.geojson"), "this is not a vector layer\n");
  expect_bad(f, "junk.geojson", (const char *[]){"OGR", NULL});
  cf_ctx *ctx = cf_test_ctx();
  cf_flux_sources s;
  assert_int_equal(cf_flux_sources_read(ctx, cf_test_path(f->dir, "absent.gpkg"), NULL, &s), CF_ENOENT);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(geojson_wgs84),
      cmocka_unit_test(geopackage_utm),
      cmocka_unit_test(same_sources_either_way),
      cmocka_unit_test(shapefile_truncated_names),
      cmocka_unit_test(bad_layers),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
