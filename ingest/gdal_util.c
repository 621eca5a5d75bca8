/* GDAL set-up and error capture; see gdal_util.h. */
#include "ingest/gdal_util.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_init_once(void) {
  GDALAllRegister();
  /* 32 MiB: the tile engine reads whole blocks once, so a large cache buys
   * nothing; measured (bench/ndvi_bench, 10000^2 NDVI): 128 MiB -> peak 418 MB,
   * 32 MiB -> 241 MB, same speed */
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) GDALSetCacheMax64((GIntBig)32 << 20);
}

void cf_gdal_init(void) { pthread_once(&gdal_once, gdal_init_once); }

const char *cf_gdal_last_error(const char *fallback) {
  const char *m = CPLGetLastErrorMsg();
  return m && m[0] ? m : fallback;
}

int cf_gdal_read_status(void) { return CPLGetLastErrorNo() == CPLE_OutOfMemory ? CF_ENOMEM : CF_EDATA; }

void cf_gdal_quiet_push(void) {
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
}

void cf_gdal_quiet_pop(void) { CPLPopErrorHandler(); }

void *cf_srs_from_user(cf_ctx *ctx, const char *text, const char *where, const char *field) {
  cf_gdal_init();
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  cf_gdal_quiet_push();
  OGRErr e = OSRSetFromUserInput(srs, text);
  cf_gdal_quiet_pop();
  if (e != OGRERR_NONE) {
    cf_error(ctx, CF_EINVAL, where, field, "'%s' is not a CRS PROJ/GDAL understands (%s)", text,
             cf_gdal_last_error("unrecognised"));
    OSRDestroySpatialReference(srs);
    return NULL;
  }
  OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

void cf_srs_free(void *srs) {
  if (srs) OSRDestroySpatialReference(srs);
}

/* --- GDAL names ------------------------------------------------------------------ */

static const char *const network_fs[] = {"/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsiadls", "/vsioss",
                                         "/vsiswift", "/vsiwebhdfs", "/vsihdfs", NULL};

/* Length of a leading "/vsiNAME/" (0 if none). */
static size_t vsi_prefix_len(const char *name) {
  if (strncmp(name, "/vsi", 4) != 0) return 0;
  const char *slash = strchr(name + 4, '/');
  if (!slash) return 0;
  for (const char *c = name + 4; c < slash; c++)
    if (!isalnum((unsigned char)*c) && *c != '_') return 0;
  return (size_t)(slash - name) + 1;
}

/* Length of a leading "DRIVER:" (0 if none): two or more capitals, digits or
 * underscores, then a colon, as GDAL's subdataset names are written. */
static size_t driver_prefix_len(const char *name) {
  size_t i = 0;
  while (isupper((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_') i++;
  return i >= 2 && name[i] == ':' && isupper((unsigned char)name[0]) ? i + 1 : 0;
}

int cf_gdal_is_name(const char *name) {
  return name && (vsi_prefix_len(name) > 0 || driver_prefix_len(name) > 0);
}

int cf_gdal_is_network(const char *name) {
  size_t n = name ? vsi_prefix_len(name) : 0;
  for (int i = 0; n && network_fs[i]; i++)
    if (strlen(network_fs[i]) == n - 1 && strncmp(name, network_fs[i], n - 1) == 0) return 1;
  return 0;
}

/* Where the file part inside a GDAL name starts and ends: after "/vsizip/"
 * (inside "{...}" if braced), or the (quoted) file of "DRIVER:file:rest".
 * `*end` is the end of the name for a /vsi name (the file part there is
 * everything, the archive member included). Returns 0 if there is none. */
static int file_span(const char *name, size_t *start, size_t *end) {
  size_t n = vsi_prefix_len(name);
  if (n) {
    if (cf_gdal_is_network(name) || strncmp(name, "/vsimem/", 8) == 0) return 0;
    *start = n + (name[n] == '{');
    const char *close = name[n] == '{' ? strchr(name + n, '}') : NULL;
    *end = close ? (size_t)(close - name) : strlen(name);
    return 1;
  }
  n = driver_prefix_len(name);
  if (!n) return 0;
  if (name[n] == '"') {
    const char *q = strchr(name + n + 1, '"');
    if (!q) return 0;
    *start = n + 1;
    *end = (size_t)(q - name);
    return 1;
  }
  const char *colon = strchr(name + n, ':');
  *start = n;
  *end = colon ? (size_t)(colon - name) : strlen(name);
  return *end > *start;
}

char *cf_gdal_name_resolve(const char *base_dir, const char *name) {
  size_t a, b;
  int rel_base = base_dir && base_dir[0] && strcmp(base_dir, ".") != 0;
  if (!cf_gdal_is_name(name)) {
    if (name[0] == '/' || !rel_base) return strdup(name);
    size_t len = strlen(base_dir) + strlen(name) + 2;
    char *s = malloc(len);
    if (s) snprintf(s, len, "%s/%s", base_dir, name);
    return s;
  }
  if (!rel_base || !file_span(name, &a, &b) || name[a] == '/') return strdup(name);
  /* a relative file inside: a nested name (/vsizip/vsigzip...) is not relative */
  size_t len = strlen(name) + strlen(base_dir) + 2;
  char *s = malloc(len);
  if (s) snprintf(s, len, "%.*s%s/%s", (int)a, name, base_dir, name + a);
  return s;
}

int cf_gdal_name_exists(const char *name) {
  if (cf_gdal_is_network(name)) return 1;
  cf_gdal_init();
  cf_gdal_quiet_push();
  int ok = 0;
  if (vsi_prefix_len(name)) { /* a file inside an archive (VSIStatL needs stat64, not C11) */
    VSILFILE *f = VSIFOpenL(name, "rb");
    ok = f != NULL;
    if (f) VSIFCloseL(f);
  }
  if (!ok) { /* a subdataset name, or an archive GDAL opens as a whole */
    GDALDatasetH ds = GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    ok = ds != NULL;
    if (ds) GDALClose(ds);
  }
  cf_gdal_quiet_pop();
  return ok;
}

char *cf_gdal_name_file(const char *name) {
  size_t a, b;
  if (!cf_gdal_is_name(name)) return strdup(name);
  if (!file_span(name, &a, &b)) return NULL;
  char *inner = strndup(name + a, b - a);
  if (!inner) return NULL;
  if (cf_gdal_is_name(inner)) { /* nested: /vsizip//vsigzip/... */
    char *f = cf_gdal_name_file(inner);
    free(inner);
    return f;
  }
  /* the longest leading part that is a regular file: a.zip of a.zip/d/x.tif */
  struct stat st;
  for (size_t k = strlen(inner);; k--) {
    if (k == strlen(inner) || inner[k] == '/') {
      char c = inner[k];
      inner[k] = 0;
      int reg = k > 0 && stat(inner, &st) == 0 && S_ISREG(st.st_mode);
      if (reg) return inner;
      inner[k] = c;
    }
    if (k == 0) break;
  }
  free(inner);
  return NULL;
}
