/*
 * Clipping and zonal statistics on real data: the airborne-lidar canopy
 * height model kootenayCHM.tif (Float64, 287 x 218, strips of 3 rows) and
 * the three cut-block polygons of kootenayBlocks.shp.
 *
 * The independent reference burns each polygon with GDAL's rasterizer
 * (GDALRasterizeGeometries: a pixel is in when its centre is, the same
 * rule as ours but a different implementation) onto the CHM's grid and
 * averages the valid heights in plain C here.
 */
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"

#define CHM CF_SHARED_DATA "/kootenay/kootenayCHM.tif"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"

typedef struct {
  char id[32];
  long long n;
  double mean;
} ref_zone;

/* Reference: mean CHM height inside each polygon, computed with GDAL's rasterizer. */
static int reference(ref_zone *z, int maxz, unsigned char **inside_any, int *w, int *h) {
  double gt[6], nd;
  int has_nd;
  double *chm = cf_test_read_band(CHM, 1, w, h, gt, &nd, &has_nd);
  assert_true(has_nd);
  GDALDatasetH vds = GDALOpenEx(BLOCKS, GDAL_OF_VECTOR, NULL, NULL, NULL);
  assert_non_null(vds);
  OGRLayerH layer = GDALDatasetGetLayer(vds, 0);
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", *w, *h, 1, GDT_Byte, NULL);
  GDALSetGeoTransform(mem, gt);
  unsigned char *mask = malloc((size_t)*w * *h);
  *inside_any = calloc((size_t)*w * *h, 1);
  int nz = 0, band = 1;
  OGRFeatureH f;
  OGR_L_ResetReading(layer);
  while ((f = OGR_L_GetNextFeature(layer)) != NULL && nz < maxz) {
    GDALRasterBandH b = GDALGetRasterBand(mem, 1);
    GDALFillRaster(b, 0, 0);
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    double burn = 1;
    assert_int_equal(GDALRasterizeGeometries(mem, 1, &band, 1, &g, NULL, NULL, &burn, NULL, NULL, NULL),
                     CE_None);
    assert_int_equal(GDALRasterIO(b, GF_Read, 0, 0, *w, *h, mask, *w, *h, GDT_Byte, 0, 0), CE_None);
    ref_zone *r = &z[nz++];
    snprintf(r->id, sizeof r->id, "%lld", (long long)OGR_F_GetFID(f));
    double sum = 0;
    r->n = 0;
    for (long i = 0; i < (long)*w * *h; i++) {
      if (!mask[i]) continue;
      (*inside_any)[i] = 1;
      if (chm[i] == nd || isnan(chm[i])) continue;
      sum += chm[i];
      r->n++;
    }
    r->mean = sum / (double)r->n;
    OGR_F_Destroy(f);
  }
  GDALClose(mem);
  GDALClose(vds);
  free(mask);
  free(chm);
  return nz;
}

static void kootenay_clip_and_mean_height_per_block(void **state) {
  (void)state;
  GDALAllRegister();
  ref_zone ref[8];
  unsigned char *inside;
  int w, h;
  int nz = reference(ref, 8, &inside, &w, &h);
  assert_int_equal(nz, 3);

  char *dir = cf_test_tmpdir();
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.raster\n"
           "    path: %s\n"
           "  - type: ingest.vector\n"
           "    name: blocks\n"
           "    path: %s\n"
           "  - type: raster.clip\n"
           "    polygons: blocks\n"
           "  - type: write.cog\n"
           "    path: clipped.tif\n"
           "    data_type: Float64\n"
           "  - type: raster.zonal\n"
           "    zones: blocks\n"
           "    path: heights.csv\n",
           CHM, BLOCKS);
  cf_test_write_text(cf_test_path(dir, "p.yaml"), yaml);
  assert_int_equal(cf_test_cli(CF_CLI_QUIET_RUN(dir), NULL), 0);

  /* per-polygon means from the CSV */
  FILE *f = fopen(cf_test_path(dir, "heights.csv"), "r");
  assert_non_null(f);
  char line[4096];
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || !strncmp(line, "zone,", 5)) continue;
    char id[32], band[64];
    long long pixels, valid;
    double mean;
    assert_int_equal(sscanf(line, "\"%31[^\"]\",\"%63[^\"]\",%lld,%lld,%lf", id, band, &pixels, &valid, &mean), 5);
    int k;
    for (k = 0; k < nz && strcmp(ref[k].id, id); k++) {}
    assert_true(k < nz);
    assert_int_equal(valid, ref[k].n);
    /* the same pixels summed in a different order (Welford vs plain sum)
     * and printed with 15 significant digits: 1e-12 relative is rounding */
    assert_close(mean, ref[k].mean, 1e-12, 0);
    rows++;
  }
  fclose(f);
  assert_int_equal(rows, 3);

  /* the clipped raster is nodata exactly outside the polygons */
  int cw, ch;
  double nd;
  double *clip = cf_test_read_band(cf_test_path(dir, "clipped.tif"), 1, &cw, &ch, NULL, &nd, NULL);
  double *chm = cf_test_read_band(CHM, 1, &w, &h, NULL, NULL, NULL);
  assert_int_equal(cw, w);
  assert_int_equal(ch, h);
  for (long i = 0; i < (long)w * h; i++) {
    if (inside[i] && chm[i] > -1e300)
      assert_close(clip[i], chm[i], 0, 0); /* Float64 in and out: exact */
    else
      assert_close(clip[i], nd, 0, 0);
  }
  free(clip);
  free(chm);
  free(inside);
  cf_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kootenay_clip_and_mean_height_per_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
