/*
 * The raster and vector stages: thin adapters from validated options to the
 * library calls of ingest/ and raster/. A run function reads its options,
 * makes one product (or writes one file) and hands it to the run; all the
 * work is in the library so that it can be tested and called without YAML.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "ingest/vector.h"
#include "pipelines/csv_out.h"
#include "pipelines/stage_defs.h"
#include "raster/cog.h"
#include "raster/index.h"
#include "raster/polygon.h"
#include "raster/source.h"
#include "raster/warp.h"

static void destroy_raster(void *p) { cf_raster_destroy(p); }

/* Record an input for provenance. A GDAL name (/vsizip/a.zip/x.tif,
 * HDF5:"f.h5"://d) records the plain file it reads, with that file's
 * SHA-256; a name with no plain file behind it (/vsicurl/, /vsimem/) cannot
 * be hashed and is only logged. */
static int note_input(cf_ctx *ctx, cf_run *run, const char *path) {
  if (!cf_gdal_is_name(path)) return cf_run_note_input(ctx, run, path);
  char *file = cf_gdal_name_file(path);
  int rc = CF_OK;
  if (file) {
    cf_log(ctx, CF_LOG_INFO, "input %s is read from %s", path, file);
    rc = cf_run_note_input(ctx, run, file);
  } else {
    cf_log(ctx, CF_LOG_WARN, "input %s: sha256 n/a (virtual, no local file to hash)", path);
  }
  free(file);
  return rc;
}

/* An input option's full name: a GDAL name with its inner file resolved
 * against the pipeline file's folder (the working directory for --set). */
static char *input_name(cf_stage *st, cf_run *run, const char *name) {
  const char *v = cf_stage_str(st, name);
  if (!v || !cf_gdal_is_name(v)) return cf_stage_path(st, run, name);
  return cf_gdal_name_resolve(cf_stage_base_dir(st, cf_stage_value(st, name)), v);
}
static void destroy_vector(void *p) {
  cf_vector_free(p);
  free(p);
}

/* --- ingest.raster -------------------------------------------------------------- */

static const cf_option_spec ingest_raster_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATHS, .required = 1,
     .help = "raster file(s) in any GDAL format: a name, a glob (*.tif) or a list; several files make a batch; "
             "GDAL names too (/vsizip/a.zip/x.tif, NETCDF:\"f.nc\":var, HDF5:\"f.h5\"://ds, /vsicurl/URL)"},
    {.name = "bands", .type = CF_OPT_STRING_LIST,
     .help = "names for the bands in order (e.g. [blue, green, red, nir]); default: the file's band descriptions"},
    {.name = "assign_crs", .type = CF_OPT_CRS, .help = "CRS to assume when the file has none (otherwise such a file is rejected)"},
    {.name = "nodata", .type = CF_OPT_DOUBLE, .help = "nodata value overriding the file's"},
    {NULL}};

static int run_ingest_raster(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  char *path = cf_stage_path(st, run, "path");
  if (!path) return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  cf_raster_open_opts o = {0};
  o.assign_crs = cf_stage_str(st, "assign_crs");
  if (cf_stage_has(st, "nodata")) {
    o.have_nodata = 1;
    o.nodata = cf_stage_double(st, "nodata");
  }
  cf_raster *r = cf_source_create(ctx, path, &o);
  int rc = r ? note_input(ctx, run, path) : cf_error_code(ctx);
  if (!rc && cf_stage_has(st, "bands")) {
    int n = cf_stage_list_len(st, "bands");
    if (n != r->nbands)
      rc = cf_error(ctx, CF_EDATA, path, "bands", "the stage names %d bands but the file has %d", n, r->nbands);
    for (int b = 0; !rc && b < n; b++)
      if (cf_raster_set_band_name(r, b, cf_stage_list_str(st, "bands", b)))
        rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "read %s: %d x %d, %d band(s)", path, r->grid.width, r->grid.height, r->nbands);
    cf_run_set_product(run, st->index, CF_PRODUCT_RASTER, r, destroy_raster);
  } else {
    cf_raster_destroy(r);
  }
  free(path);
  return rc;
}

/* --- ingest.vector -------------------------------------------------------------- */

static const cf_option_spec ingest_vector_opts[] = {
    {.name = "path", .type = CF_OPT_INPUT_PATH, .required = 1,
     .help = "polygon layer in any OGR format (Shapefile, GeoJSON, GeoPackage, ...), also as a GDAL name (/vsizip/a.zip/b.shp)"},
    {.name = "layer", .type = CF_OPT_STRING, .help = "layer name; default: the first layer"},
    {.name = "label_field", .type = CF_OPT_STRING, .help = "attribute naming each polygon in reports; default: the feature id"},
    {.name = "assign_crs", .type = CF_OPT_CRS,
     .help = "CRS of the coordinates, replacing the layer's (as ogr2ogr -a_srs): for a layer without one or with a wrong one"},
    {NULL}};

static int run_ingest_vector(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  char *path = input_name(st, run, "path");
  cf_vector *v = calloc(1, sizeof *v);
  int rc = path && v ? CF_OK : cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  if (!rc) rc = cf_vector_read_assign(ctx, path, cf_stage_str(st, "layer"), cf_stage_str(st, "label_field"),
                                       cf_stage_str(st, "assign_crs"), v);
  if (!rc) rc = note_input(ctx, run, path);
  if (!rc) {
    cf_log(ctx, CF_LOG_INFO, "read %s: %d polygon(s)", path, v->n);
    cf_run_set_product(run, st->index, CF_PRODUCT_VECTOR, v, destroy_vector);
  } else {
    free(v);
  }
  free(path);
  return rc;
}

/* --- raster.warp ---------------------------------------------------------------- */

static const cf_option_spec warp_opts[] = {
    {.name = "crs", .type = CF_OPT_CRS, .help = "grid CRS (EPSG:n, WKT or PROJ string); default: the input's"},
    {.name = "resolution", .type = CF_OPT_DOUBLE_LIST, .list_min = 1, .list_max = 2, .has_min = 1, .min = 1e-12,
     .help = "pixel size in grid units, one value or [x, y]; default: the input's (or GDAL's suggestion after reprojection)"},
    {.name = "extent", .type = CF_OPT_DOUBLE_LIST, .list_min = 4, .list_max = 4,
     .help = "[xmin, ymin, xmax, ymax] in the grid CRS; default: the boundary's or the input's"},
    {.name = "boundary", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_VECTOR,
     .help = "ingest.vector stage whose polygons set the extent"},
    {.name = "resampling", .type = CF_OPT_ENUM, .def = "bilinear", .choices = cf_resampling_names,
     .help = "resampling method (gdalwarp names)"},
    {NULL}};

static int check_warp(cf_ctx *ctx, cf_stage *st) {
  if (cf_stage_has(st, "extent") && cf_stage_has(st, "boundary"))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "extent"),
                         "give either 'extent' or 'boundary', not both");
  if (cf_stage_has(st, "extent") &&
      !(cf_stage_list_double(st, "extent", 2) > cf_stage_list_double(st, "extent", 0) &&
        cf_stage_list_double(st, "extent", 3) > cf_stage_list_double(st, "extent", 1)))
    return cf_yaml_error(ctx, CF_EINVAL, st->source, cf_stage_value(st, "extent"),
                         "extent must be [xmin, ymin, xmax, ymax] with xmax > xmin and ymax > ymin");
  return CF_OK;
}

static int run_warp(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *src = cf_run_input(run, st);
  cf_grid_spec spec = {0};
  spec.crs = cf_stage_str(st, "crs");
  if (cf_stage_has(st, "resolution")) {
    spec.res_x = cf_stage_list_double(st, "resolution", 0);
    spec.res_y = cf_stage_list_len(st, "resolution") > 1 ? cf_stage_list_double(st, "resolution", 1) : spec.res_x;
  }
  if (cf_stage_has(st, "extent")) {
    spec.have_extent = 1;
    for (int i = 0; i < 4; i++) spec.extent[i] = cf_stage_list_double(st, "extent", i);
  }
  int b = cf_stage_ref(st, run, "boundary");
  if (b >= 0) spec.boundary = cf_run_product(run, b, CF_PRODUCT_VECTOR);
  spec.where = st->name;
  cf_grid grid;
  int rc = cf_grid_define(ctx, &spec, src, &grid);
  if (rc) return rc;
  cf_raster *r = cf_warp_create(ctx, src, &grid, cf_stage_str(st, "resampling"));
  cf_log(ctx, CF_LOG_INFO, "grid %d x %d pixels of %g x %g", grid.width, grid.height, grid.gt[1], -grid.gt[5]);
  cf_grid_free(&grid);
  if (!r) return cf_error_code(ctx);
  cf_run_set_product(run, st->index, CF_PRODUCT_RASTER, r, destroy_raster);
  return CF_OK;
}

/* --- raster.index --------------------------------------------------------------- */

static const char *const index_names[] = {"ndvi", "evi", "savi", NULL};

static int index_is_evi(const cf_stage *st) {
  return cf_index_kind_parse(cf_stage_str(st, "index")) == CF_INDEX_EVI;
}

static const cf_option_spec index_opts[] = {
    {.name = "index", .type = CF_OPT_ENUM, .required = 1, .choices = index_names,
     .help = "ndvi, evi (MODIS coefficients) or savi (L = 0.5)"},
    {.name = "red", .type = CF_OPT_STRING, .def = "red", .band_of_input = 1, .help = "red band: name or 1-based number"},
    {.name = "nir", .type = CF_OPT_STRING, .def = "nir", .band_of_input = 1, .help = "near-infrared band: name or 1-based number"},
    {.name = "blue", .type = CF_OPT_STRING, .def = "blue", .band_of_input = 1, .band_used = index_is_evi, .help = "blue band (EVI only): name or 1-based number"},
    {.name = "scale", .type = CF_OPT_DOUBLE, .def = "1", .help = "reflectance = DN * scale + offset"},
    {.name = "offset", .type = CF_OPT_DOUBLE, .def = "0", .help = "reflectance = DN * scale + offset"},
    {NULL}};

static int band_of(cf_ctx *ctx, cf_stage *st, cf_raster *in, const char *opt, int *out) {
  const char *key = cf_stage_str(st, opt);
  *out = cf_raster_find_band(in, key);
  if (*out >= 0) return CF_OK;
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  for (int b = 0; b < in->nbands; b++)
    cf_strbuf_printf(&sb, "%s%d=%s", b ? ", " : "", b + 1, in->band_names[b][0] ? in->band_names[b] : "(unnamed)");
  int rc = cf_yaml_error(ctx, CF_EDATA, st->source, cf_stage_value(st, opt),
                         "no band '%s' in the input (bands: %s); name them with ingest.raster's 'bands'",
                         key, cf_strbuf_str(&sb));
  cf_strbuf_free(&sb);
  return rc;
}

static int run_index(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *in = cf_run_input(run, st);
  cf_index_spec s = {0};
  s.kind = (cf_index_kind)cf_index_kind_parse(cf_stage_str(st, "index"));
  s.scale = cf_stage_double(st, "scale");
  s.offset = cf_stage_double(st, "offset");
  int rc = band_of(ctx, st, in, "red", &s.red);
  if (!rc) rc = band_of(ctx, st, in, "nir", &s.nir);
  if (!rc && s.kind == CF_INDEX_EVI) rc = band_of(ctx, st, in, "blue", &s.blue);
  if (rc) return rc;
  cf_raster *r = cf_index_create(ctx, in, &s);
  if (!r) return cf_error_code(ctx);
  cf_run_set_product(run, st->index, CF_PRODUCT_RASTER, r, destroy_raster);
  return CF_OK;
}

/* --- raster.clip ---------------------------------------------------------------- */

static const cf_option_spec clip_opts[] = {
    {.name = "polygons", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_VECTOR, .required = 1,
     .help = "ingest.vector stage; pixels whose centre lies outside every polygon become nodata"},
    {NULL}};

static int run_clip(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *in = cf_run_input(run, st);
  cf_vector *v = cf_run_product(run, cf_stage_ref(st, run, "polygons"), CF_PRODUCT_VECTOR);
  cf_raster *r = cf_clip_create(ctx, in, v);
  if (!r) return cf_error_code(ctx);
  cf_run_set_product(run, st->index, CF_PRODUCT_RASTER, r, destroy_raster);
  return CF_OK;
}

/* --- raster.zonal --------------------------------------------------------------- */

static const cf_option_spec zonal_opts[] = {
    {.name = "zones", .type = CF_OPT_STAGE_REF, .ref_kind = CF_PRODUCT_VECTOR, .required = 1,
     .help = "ingest.vector stage with one polygon per zone"},
    {.name = "band", .type = CF_OPT_STRING, .def = "1", .band_of_input = 1, .help = "band: name or 1-based number"},
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1, .help = "CSV file to write (may use {stem})"},
    {NULL}};

static int write_zonal_csv(cf_ctx *ctx, const char *path, const cf_zone_stats *z, int n, const char *band,
                           const char *const *prov) {
  cf_csv_out c;
  int rc = cf_csv_out_open(ctx, &c, path, prov, "zone,band,pixels,valid_pixels,mean,min,max,stddev");
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    fprintf(c.f, "\"%s\",\"%s\",%lld,%lld,", z[i].label, band, z[i].pixels, z[i].valid);
    if (z[i].valid)
      fprintf(c.f, "%.15g,%.15g,%.15g,%.15g\n", z[i].mean, z[i].min, z[i].max, z[i].stddev);
    else
      fprintf(c.f, ",,,\n"); /* no valid pixel: empty fields, never a made-up number */
  }
  return cf_csv_out_close(ctx, &c, 1);
}

static int run_zonal(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *in = cf_run_input(run, st);
  cf_vector *v = cf_run_product(run, cf_stage_ref(st, run, "zones"), CF_PRODUCT_VECTOR);
  int band;
  int rc = band_of(ctx, st, in, "band", &band);
  if (rc) return rc;
  cf_zone_stats *z = NULL;
  if ((rc = cf_zonal_stats(ctx, in, band, v, &z))) return rc;
  char *path = cf_stage_path(st, run, "path");
  const char *const *prov = path ? cf_run_provenance(ctx, run) : NULL;
  if (!path)
    rc = cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  else if (!prov)
    rc = cf_error_code(ctx);
  else
    rc = write_zonal_csv(ctx, path, z, v->n, in->band_names[band][0] ? in->band_names[band] : cf_stage_str(st, "band"),
                         prov);
  if (!rc) rc = cf_run_wrote(ctx, run, path);
  cf_zone_stats_free(z, v->n);
  free(path);
  return rc;
}

/* --- write.cog ---------------------------------------------------------------- */

static const char *const compress_names[] = {"DEFLATE", "LZW", "ZSTD", "LERC", "LERC_DEFLATE", "LERC_ZSTD",
                                             "LZMA", "NONE", NULL};
static const char *const type_names[] = {"Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64", NULL};
static const char *const predictor_names[] = {"YES", "NO", "STANDARD", "FLOATING_POINT", NULL};
static const char *const overview_names[] = {"AUTO", "NONE", NULL};
static const char *const ovr_resampling_names[] = {"NEAREST", "AVERAGE", "BILINEAR", "CUBIC", "MODE", "RMS", NULL};

static const cf_option_spec cog_opts[] = {
    {.name = "path", .type = CF_OPT_OUTPUT_PATH, .required = 1, .help = "GeoTIFF (COG) to write (may use {stem})"},
    {.name = "data_type", .type = CF_OPT_ENUM, .def = "Float32", .choices = type_names, .help = "pixel type"},
    {.name = "nodata", .type = CF_OPT_DOUBLE, .help = "nodata value (an error if valid pixels have it); default: the input file's nodata for an integer "
             "type if every band has the same, else -9999 (255 for Byte, 65535 for UInt16), replaced by a free "
             "value if valid pixels have it"},
    {.name = "compress", .type = CF_OPT_ENUM, .def = "ZSTD", .choices = compress_names,
     .help = "compression; ZSTD level 1 by default: on the benchmark maps within 1-4 % of DEFLATE's size for less than half its codec CPU (README, Performance)"},
    {.name = "level", .type = CF_OPT_INT, .has_min = 1, .min = 1, .has_max = 1, .max = 22,
     .help = "compression level (DEFLATE 1-12, ZSTD 1-22); default 1 for both (level 6 bought nothing on the benchmark maps), the codec's own for the others"},
    {.name = "predictor", .type = CF_OPT_ENUM, .choices = predictor_names, .help = "TIFF predictor; default: FLOATING_POINT for float types, STANDARD for integer types (with DEFLATE, LZW or ZSTD)"},
    {.name = "max_z_error", .type = CF_OPT_DOUBLE, .def = "0", .has_min = 1, .min = 0,
     .help = "LERC, LERC_DEFLATE, LERC_ZSTD only: the largest error allowed in any pixel, in the map's units "
             "(GDAL's MAX_Z_ERROR; 0 = lossless); for maps whose precision is known"},
    {.name = "blocksize", .type = CF_OPT_INT, .def = "512", .has_min = 1, .min = 64, .has_max = 1, .max = 4096,
     .help = "tile size of the COG in pixels"},
    {.name = "overviews", .type = CF_OPT_ENUM, .def = "AUTO", .choices = overview_names, .help = "build overviews"},
    {.name = "overview_resampling", .type = CF_OPT_ENUM, .def = "AVERAGE", .choices = ovr_resampling_names,
     .help = "resampling for overviews"},
    {.name = "scale", .type = CF_OPT_DOUBLE,
     .help = "integer data_type only: store round((x - offset) / scale) and set the bands' scale (default 1 if offset is given)"},
    {.name = "offset", .type = CF_OPT_DOUBLE,
     .help = "integer data_type only: the bands' offset (default 0 if scale is given); see scale"},
    {NULL}};

static void cog_opts_from_stage(const cf_stage *st, cf_cog_options *o) {
  memset(o, 0, sizeof *o);
  o->type = cf_stage_str(st, "data_type");
  if (cf_stage_has(st, "nodata")) o->have_nodata = 1, o->nodata = cf_stage_double(st, "nodata");
  o->compress = cf_stage_str(st, "compress");
  o->level = (int)cf_stage_int(st, "level");
  o->predictor = cf_stage_str(st, "predictor");
  o->max_z_error = cf_stage_double(st, "max_z_error");
  o->blocksize = (int)cf_stage_int(st, "blocksize");
  o->overviews = cf_stage_str(st, "overviews");
  o->overview_resampling = cf_stage_str(st, "overview_resampling");
  if (cf_stage_has(st, "scale") || cf_stage_has(st, "offset")) {
    o->have_scale = 1;
    o->scale = cf_stage_has(st, "scale") ? cf_stage_double(st, "scale") : 1;
    o->offset = cf_stage_has(st, "offset") ? cf_stage_double(st, "offset") : 0;
  }
}

static int check_cog(cf_ctx *ctx, cf_stage *st) {
  cf_cog_options o;
  cog_opts_from_stage(st, &o);
  cf_ctx *tmp = cf_ctx_create();
  int rc = tmp ? cf_cog_options_check(tmp, &o, "") : CF_ENOMEM;
  if (rc && tmp) {
    const cf_error_frame *f = cf_error_get(tmp, 0);
    const cf_yaml_node *n = cf_stage_value(st, f->field);
    rc = cf_yaml_error(ctx, rc, st->source, n ? n : st->node, "%s: %s", f->field, f->reason);
  }
  cf_ctx_destroy(tmp);
  return rc;
}

/* Write through a nodata guard (raster/warp.h): the nodata value must be a
 * value no valid pixel has. A default that collides is replaced by a free
 * value and the file written again (said in the log); a given nodata that
 * collides is an error; a type with no free value is an error that names a
 * wider type. */
static int run_cog(cf_ctx *ctx, cf_run *run, cf_stage *st) {
  cf_raster *in = cf_run_input(run, st);
  cf_cog_options o;
  cog_opts_from_stage(st, &o);
  o.metadata = cf_run_provenance(ctx, run);
  if (!o.metadata) return cf_error_code(ctx);
  cf_raster *pack = NULL; /* values packed for the bands' scale and offset */
  if (o.have_scale && !(in = pack = cf_cog_pack_create(ctx, in, o.scale, o.offset))) return cf_error_code(ctx);
  char *path = cf_stage_path(st, run, "path");
  if (!path) {
    cf_raster_destroy(pack);
    return cf_error(ctx, CF_ENOMEM, "", "", "out of memory");
  }
  const char *type = o.type ? o.type : "Float32";
  int given = o.have_nodata;
  if (!given) o.have_nodata = 1, o.nodata = cf_nodata_candidate(in, type);
  cf_raster *g = cf_nodata_guard_create(ctx, in, type, o.nodata);
  int rc = g ? cf_cog_write(ctx, g, path, &o) : cf_error_code(ctx);
  double free_value = 0;
  int res = rc ? 0 : cf_nodata_guard_result(g, &free_value);
  if (res) {
    remove(path); /* a file whose nodata hides valid pixels is never left */
    if (given)
      rc = cf_error(ctx, CF_EDATA, path, "nodata",
                    "nodata %.17g is the value of valid pixels once written as %s; give another nodata%s",
                    o.nodata, type, res > 0 ? "" : " or a wider data_type");
    else if (res < 0)
      rc = cf_error(ctx, CF_EDATA, path, "data_type",
                    "every %s value occurs in the valid pixels, so none is free for nodata; write a wider "
                    "data_type (e.g. %s)", type, strcmp(type, "Byte") ? "Float32" : "UInt16 or Int16");
    else {
      cf_log(ctx, CF_LOG_WARN, "%s: nodata %.17g occurs in the valid pixels; written with nodata %.17g instead",
             path, o.nodata, free_value);
      cf_raster_destroy(g);
      o.nodata = free_value;
      g = cf_nodata_guard_create(ctx, in, type, o.nodata);
      rc = g ? cf_cog_write(ctx, g, path, &o) : cf_error_code(ctx);
    }
  }
  cf_raster_destroy(g);
  cf_raster_destroy(pack);
  if (!rc) rc = cf_run_wrote(ctx, run, path);
  free(path);
  return rc;
}

/* --- the table ------------------------------------------------------------------ */

const cf_stage_def cf_stage_ingest_raster = {
    "ingest.raster", "read a raster in any GDAL format (validated: size, georeferencing, CRS, nodata)",
    CF_PRODUCT_RASTER, CF_PRODUCT_NONE, ingest_raster_opts, NULL, run_ingest_raster};
const cf_stage_def cf_stage_ingest_vector = {
    "ingest.vector", "read a polygon layer in any OGR format (boundaries, strata, plots)",
    CF_PRODUCT_VECTOR, CF_PRODUCT_NONE, ingest_vector_opts, NULL, run_ingest_vector};
const cf_stage_def cf_stage_raster_warp = {
    "raster.warp", "resample the input onto the project grid (CRS, resolution, extent from a box or a boundary)",
    CF_PRODUCT_RASTER, CF_PRODUCT_RASTER, warp_opts, check_warp, run_warp};
const cf_stage_def cf_stage_raster_index = {
    "raster.index", "spectral index (NDVI, EVI, SAVI) from named bands",
    CF_PRODUCT_RASTER, CF_PRODUCT_RASTER, index_opts, NULL, run_index};
const cf_stage_def cf_stage_raster_clip = {
    "raster.clip", "keep pixels inside polygons, nodata elsewhere",
    CF_PRODUCT_RASTER, CF_PRODUCT_RASTER, clip_opts, NULL, run_clip};
const cf_stage_def cf_stage_raster_zonal = {
    "raster.zonal", "statistics of a band per polygon (count, mean, min, max, stddev) to CSV",
    CF_PRODUCT_NONE, CF_PRODUCT_RASTER, zonal_opts, NULL, run_zonal};
const cf_stage_def cf_stage_write_cog = {
    "write.cog", "write the input as a Cloud-Optimized GeoTIFF with provenance metadata",
    CF_PRODUCT_NONE, CF_PRODUCT_RASTER, cog_opts, check_cog, run_cog};
