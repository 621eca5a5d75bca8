/*
 * Harness: the flux sources reader (ingest/flux_sources.c), as the
 * ingest.l2 stage and `carbonflux flux estimate --sources` call it: one
 * layer read, validated and transformed to WGS84 longitude/latitude.
 *
 * Input: the layer's file, usually GeoJSON (the seeds and the dictionary
 * are GeoJSON; GDAL recognises a format by content, so the fuzzer may
 * wander into others, which is fine). It is handed to GDAL as a /vsimem/
 * file without copying.
 */
#include <cpl_vsi.h>

#include "fuzz/fuzz_common.h"
#include "ingest/flux_sources.h"

int cf_fuzz_flux_sources(const uint8_t *data, size_t size) {
  cf_ctx *ctx = cf_fuzz_ctx();
  static const char *const name = "/vsimem/cf_fuzz/sources.geojson";
  VSILFILE *f = VSIFileFromMemBuffer(name, (GByte *)data, (vsi_l_offset)size, FALSE);
  if (!f) return 0;
  VSIFCloseL(f);
  cf_flux_sources s;
  if (cf_flux_sources_read(ctx, name, NULL, &s) == CF_OK) {
    (void)cf_flux_sources_find(&s, s.src[0].name);
    cf_flux_sources_free(&s);
  }
  VSIUnlink(name);
  cf_fuzz_done(ctx);
  return 0;
}

#ifndef CF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cf_fuzz_flux_sources(data, size); }
#endif
