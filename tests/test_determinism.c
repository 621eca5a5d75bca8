/*
 * Results are bitwise identical for any thread count (DESIGN.md). The
 * pipeline here reprojects (bilinear), computes NDVI, clips to a polygon,
 * writes a COG and zonal statistics, over enough tiles (about 30) that two
 * threads really interleave; then the same with one thread. COG pixels and
 * the CSV must match byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc(*n + 1);
  assert_int_equal(fread(s, 1, *n, f), *n);
  s[*n] = '\0';
  fclose(f);
  return s;
}

static void one_and_two_threads_give_identical_bits(void **state) {
  (void)state;
  char *dir = cf_test_tmpdir();
  const int w = 1800, h = 1500;
  double *d = malloc((size_t)2 * w * h * sizeof *d);
  for (long i = 0; i < (long)w * h; i++) {
    d[i] = 300 + (double)(mix((uint64_t)i) % 700);              /* red */
    d[(long)w * h + i] = 2000 + (double)(mix((uint64_t)i + 7u) % 3000); /* nir */
  }
  double gt[6] = {500000, 10, 0, 3415000, 0, -10};
  cf_test_write_tif(cf_test_path(dir, "in.tif"), w, h, 2, "UInt16", gt, "EPSG:32650", NULL, d, 256);
  free(d);
  cf_test_write_text(cf_test_path(dir, "zones.geojson"),
                     "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"id\":\"A\"},"
                     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[117.002,30.70],[117.15,30.71],"
                     "[117.14,30.82],[117.01,30.80],[117.002,30.70]]]}}]}");
  cf_test_write_text(cf_test_path(dir, "p.yaml"),
                     "pipeline:\n"
                     "  - type: ingest.raster\n"
                     "    path: in.tif\n"
                     "    bands: [red, nir]\n"
                     "  - type: ingest.vector\n"
                     "    name: zones\n"
                     "    path: zones.geojson\n"
                     "    label_field: id\n"
                     "  - type: raster.warp\n"
                     "    crs: EPSG:4326\n"
                     "    resolution: 0.0001\n"
                     "    resampling: bilinear\n"
                     "  - type: raster.index\n"
                     "    index: ndvi\n"
                     "  - type: raster.clip\n"
                     "    polygons: zones\n"
                     "  - type: write.cog\n"
                     "    path: out/ndvi.tif\n"
                     "  - type: raster.zonal\n"
                     "    zones: zones\n"
                     "    path: out/zones.csv\n");
  char args[2048];
  for (int t = 1; t <= 2; t++) {
    snprintf(args, sizeof args, "-q --threads %d run '%s/p.yaml' --set write.cog.path='%s/out%d/ndvi.tif' "
             "--set raster.zonal.path='%s/out%d/zones.csv'", t, dir, dir, t, dir, t);
    assert_int_equal(cf_test_cli(args, NULL), 0);
  }
  int w1, h1, w2, h2;
  double *a = cf_test_read_band(cf_test_path(dir, "out1/ndvi.tif"), 1, &w1, &h1, NULL, NULL, NULL);
  double *b = cf_test_read_band(cf_test_path(dir, "out2/ndvi.tif"), 1, &w2, &h2, NULL, NULL, NULL);
  assert_int_equal(w1, w2);
  assert_int_equal(h1, h2);
  assert_true((long)w1 * h1 > 9 * 512 * 512); /* enough tiles to interleave */
  assert_memory_equal(a, b, (size_t)w1 * h1 * sizeof *a);
  size_t n1, n2;
  char *c1 = read_all(cf_test_path(dir, "out1/zones.csv"), &n1);
  char *c2 = read_all(cf_test_path(dir, "out2/zones.csv"), &n2);
  /* the settings line names the output folder; compare from the header on */
  char *s1 = strstr(c1, "zone,band"), *s2 = strstr(c2, "zone,band");
  assert_non_null(s1);
  assert_non_null(s2);
  assert_string_equal(s1, s2);
  free(c1);
  free(c2);
  free(a);
  free(b);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_and_two_threads_give_identical_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
