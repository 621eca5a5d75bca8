/* The issuance report (report.h): its settings, the inputs with their
 * SHA-256 (found where verify finds them, sink/input_resolve.h), the
 * maps, the geometry beside it, and the one commit of every file. The
 * sections' contents are in report_tables.c. */
#include "sink/issuance/report.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fsutil.h"
#include "core/strbuf.h"
#include "ingest/gdal_util.h"
#include "sink/input_resolve.h"
#include "sink/inventory.h"
#include "sink/issuance/ledger.h"
#include "sink/issuance/report_internal.h"
#include "sink/report_maps.h"
#include "sink/report_vector.h"

static const char *WHERE = "sink report";

#define KV_ROW(name, type, field, help) \
  {#name, CF_KV_##type, offsetof(cf_ireport_settings, field), 0, 0, "", help, NULL},
static const cf_kv_opt rows[] = {CF_IREPORT_SETTINGS(KV_ROW)};
#undef KV_ROW
enum { NROWS = sizeof rows / sizeof *rows };

void cf_ireport_settings_default(cf_ireport_settings *s) {
  memset(s, 0, sizeof *s);
  snprintf(s->density_band, sizeof s->density_band, "total");
  snprintf(s->se_band, sizeof s->se_band, "total_se");
}

static void defaults(void *base) { cf_ireport_settings_default(base); }

const cf_kv_table cf_ireport_settings_table = {rows, NROWS, sizeof(cf_ireport_settings), defaults, "sink report"};

int cf_ireport_settings_set(cf_ctx *ctx, cf_ireport_settings *s, const char *kv) {
  int rc = cf_kv_set(ctx, rows, NROWS, s, kv, WHERE, NULL);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, WHERE, "", "unknown setting '%.*s' (see carbonflux sink --help)",
                    eq ? (int)(eq - kv) : (int)strlen(kv), kv);
  }
  return rc;
}

/* --- inputs ---------------------------------------------------------------------- */

/* An input record's path from the folder of the file that records it;
 * NULL in records written before there was one. */
static const char *relative_path_of(const cf_json *rec) {
  const cf_json *v = cf_json_get(rec, "relative_path");
  return v && v->type == CF_JSON_STRING ? v->string : NULL;
}

/* The stock reports the ledger lists, each read and checked against the
 * SHA-256 the ledger recorded; the events in the ledger's order. */
static int read_events(cf_ireport_rd *lr, cf_ireport_doc *d) {
  const cf_json *in = cf_ireport_member(lr, d->ledger, "", "inputs", CF_JSON_ARRAY, 0);
  if (lr->rc) return lr->rc;
  d->events = calloc(in->n ? in->n : 1, sizeof *d->events);
  if (!d->events) return cf_error(lr->ctx, CF_ENOMEM, lr->path, "inputs", "out of memory");
  for (size_t i = 0; i < in->n && !lr->rc; i++) {
    char w[32];
    snprintf(w, sizeof w, "inputs[%zu]", i);
    const char *role = cf_ireport_str(lr, in->items[i], w, "role");
    const char *path = cf_ireport_str(lr, in->items[i], w, "path"), *sha = cf_ireport_str(lr, in->items[i], w, "sha256");
    const char *date = cf_ireport_str(lr, in->items[i], w, "date");
    if (lr->rc || strcmp(role, "event")) continue;
    cf_ireport_event *e = &d->events[d->n_events++];
    e->date = date, e->ledger_input = (int)i;
    const char *how = "";
    char *tried = NULL;
    e->path = cf_input_resolve(d->spec->inputs_dir, lr->path, path, relative_path_of(in->items[i]),
                               &how, &tried);
    if (!e->path) {
      lr->rc = cf_error(lr->ctx, CF_ENOENT, lr->path, w, "the stock report %s is not found (looked for %s)", path,
                        tried && tried[0] ? tried : "nothing");
      free(tried);
      return lr->rc;
    }
    free(tried);
    char now[CF_SHA256_HEX_LEN];
    int rc = cf_json_load_file_sha256(lr->ctx, e->path, &e->doc, now);
    if (rc) return lr->rc = rc;
    if (strcmp(now, sha))
      return lr->rc = cf_error(lr->ctx, CF_EDATA, lr->path, w, "the stock report %s (found %s) has SHA-256 %s, the ledger "
                               "was computed from %s: the report would show other numbers than the ledger's", e->path, how,
                               now, sha);
  }
  if (!lr->rc && d->n_events < 2)
    lr->rc = cf_error(lr->ctx, CF_EDATA, lr->path, "inputs", "%d stock reports with role \"event\"; a ledger has at least 2",
                      d->n_events);
  return lr->rc;
}

/* List an input in the report unless the same file with the same hash is
 * listed already (the strata the stocks read and the strata of the maps). */
static int add_input(cf_ctx *ctx, cf_ireport_doc *d, const char *path, const char *role, const char *sha) {
  char hex[CF_SHA256_HEX_LEN];
  int rc = sha ? CF_OK : cf_sha256_file(ctx, path, hex);
  if (rc) return rc;
  sha = sha ? sha : hex;
  for (int i = 0; i < d->n_listed; i++)
    if (!strncmp(d->listed[i], sha, 64) && cf_path_same(d->listed[i] + 65, path)) return CF_OK;
  char **g = realloc(d->listed, (size_t)(d->n_listed + 1) * sizeof *g);
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_printf(&sb, "%.64s %s", sha, path);
  char *entry = g ? cf_strbuf_take(&sb) : (cf_strbuf_free(&sb), NULL);
  if (g) d->listed = g;
  if (!entry) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  d->listed[d->n_listed++] = entry;
  return cf_report_add_input(ctx, d->r, path, role, sha);
}

/* A file a document recorded with its hash (at `field` of `doc_path`, the
 * document as found), looked for as verify does (sink/input_resolve.h) and
 * listed as `role`: what is found must have that hash, else the report is
 * refused naming the file found and both hashes; one not found anywhere is
 * listed with the recorded hash, saying so. */
static int add_recorded(cf_ctx *ctx, cf_ireport_doc *d, const cf_json *rec, const char *path, const char *sha,
                        const char *role, const char *doc_path, const char *field) {
  char label[400];
  const char *how = "";
  char *found = cf_input_resolve(d->spec->inputs_dir, doc_path, path, relative_path_of(rec), &how, NULL);
  int rc = CF_OK;
  if (found) {
    snprintf(label, sizeof label, "%s", role);
    char now[CF_SHA256_HEX_LEN];
    rc = cf_sha256_file(ctx, found, now);
    if (!rc && strcmp(now, sha))
      rc = cf_error(ctx, CF_EDATA, doc_path, field, "%s (found %s) has SHA-256 %s now; %s recorded %s", found, how, now,
                    doc_path, sha);
  } else {
    snprintf(label, sizeof label, "%s (not found here: the SHA-256 recorded)", role);
  }
  if (!rc) rc = add_input(ctx, d, found ? found : path, label, sha);
  free(found);
  return rc;
}

/* Every input with its SHA-256: the ledger, its stock reports, and their
 * inventories (each once, named by the first event that used it). */
static int list_inputs(cf_ireport_rd *lr, cf_ireport_doc *d) {
  cf_ctx *ctx = lr->ctx;
  int rc = add_input(ctx, d, d->spec->ledger_path, "ledger (carbonflux-ledger/1)", d->ledger_sha);
  const cf_json *in = cf_ireport_member(lr, d->ledger, "", "inputs", CF_JSON_ARRAY, 0);
  for (size_t i = 0; in && i < in->n && !rc && !lr->rc; i++) {
    char w[32], role[128];
    snprintf(w, sizeof w, "inputs[%zu]", i);
    const char *r = cf_ireport_str(lr, in->items[i], w, "role");
    int k = -1;
    for (int e = 0; e < d->n_events; e++)
      if (d->events[e].ledger_input == (int)i) k = e;
    const char *path = cf_ireport_str(lr, in->items[i], w, "path"), *sha = cf_ireport_str(lr, in->items[i], w, "sha256");
    if (k >= 0) snprintf(role, sizeof role, "stock report, event %d (%s)", k + 1, d->events[k].date);
    else snprintf(role, sizeof role, "%s stock report (%s)", r, cf_ireport_str(lr, in->items[i], w, "date"));
    if (!lr->rc) /* an event's hash is checked as it is read (read_events) */
      rc = k >= 0 ? add_input(ctx, d, d->events[k].path, role, sha)
                  : add_recorded(ctx, d, in->items[i], path, sha, role, lr->path, w);
  }
  /* the inventories behind the stocks, as each stock report recorded them */
  for (int k = 0; k < d->n_events && !rc && !lr->rc; k++) {
    cf_ireport_rd r = {ctx, d->events[k].path, CF_OK};
    const cf_json *inv = cf_ireport_member(&r, d->events[k].doc, "", "inputs", CF_JSON_ARRAY, 1);
    for (size_t i = 0; inv && i < inv->n && !r.rc && !rc; i++) {
      char w[32];
      snprintf(w, sizeof w, "inputs[%zu]", i);
      const char *path = cf_ireport_str(&r, inv->items[i], w, "path"), *sha = cf_ireport_str(&r, inv->items[i], w, "sha256");
      const char *role = cf_ireport_str(&r, inv->items[i], w, "role");
      if (r.rc) continue;
      char label[256];
      snprintf(label, sizeof label, "%s of the stocks from event %d on", role, k + 1);
      rc = add_recorded(ctx, d, inv->items[i], path, sha, label, d->events[k].path, w);
    }
    if (r.rc) rc = r.rc;
  }
  return rc ? rc : lr->rc;
}

/* The input of role `role` the last event's stock report recorded, found
 * as add_recorded finds it (malloc'ed; the recorded path when it is not
 * found, a GDAL name say), NULL if none. */
static char *recorded_input(const cf_ireport_doc *d, const char *role) {
  const cf_ireport_event *last = &d->events[d->n_events - 1];
  const cf_json *inv = cf_json_get(last->doc, "inputs");
  for (size_t i = 0; inv && inv->type == CF_JSON_ARRAY && i < inv->n; i++) {
    const cf_json *r = cf_json_get(inv->items[i], "role"), *p = cf_json_get(inv->items[i], "path");
    if (!r || !p || r->type != CF_JSON_STRING || p->type != CF_JSON_STRING || strcmp(r->string, role)) continue;
    const char *how = "";
    char *found = cf_input_resolve(d->spec->inputs_dir, last->path, p->string,
                                   relative_path_of(inv->items[i]), &how, NULL);
    return found ? found : strdup(p->string);
  }
  return NULL;
}

/* The stratum field the stock report read the strata by ("stratum_field"
 * of the command, "STAGE.stratum_field" of a pipeline), NULL if none. */
static const char *recorded_stratum_field(const cf_ireport_doc *d) {
  const cf_json *set = cf_json_get(d->events[d->n_events - 1].doc, "settings");
  for (size_t i = 0; set && set->type == CF_JSON_OBJECT && i < set->n; i++) {
    size_t n = strlen(set->keys[i]);
    if (n >= 13 && !strcmp(set->keys[i] + n - 13, "stratum_field") && (n == 13 || set->keys[i][n - 14] == '.') &&
        set->items[i]->type == CF_JSON_STRING && set->items[i]->string[0])
      return set->items[i]->string;
  }
  return NULL;
}

/* PATH of the ledger as the report names it: relative to the report's
 * folder ("../ledger.json") when the two share a folder below the root,
 * so that they can be moved together; else absolute. */
static char *ledger_reference(const char *ledger, const char *html) {
  char *dir = cf_path_dirname(html);
  int shared = 0;
  char *rel = dir ? cf_path_relative(ledger, dir, &shared) : NULL;
  free(dir);
  if (!rel || shared > 0) return rel; /* NULL if it ran out of memory */
  free(rel);
  return cf_path_real(ledger);
}

/* --- maps and geometry ---------------------------------------------------------------- */

typedef struct {
  cf_plots plots;
  int have;
  double *lon, *lat;
  const char **id, **stratum;
  int n;
} plot_marks;

static int read_plots(cf_ctx *ctx, const char *path, plot_marks *m) {
  cf_inv_options o;
  cf_inv_options_init(&o);
  int rc = cf_plots_read(ctx, path, &o, &m->plots);
  cf_inv_options_free(&o);
  if (rc) return rc;
  m->have = 1;
  size_t n = m->plots.n ? m->plots.n : 1;
  m->lon = malloc(n * sizeof *m->lon), m->lat = malloc(n * sizeof *m->lat);
  m->id = malloc(n * sizeof *m->id), m->stratum = malloc(n * sizeof *m->stratum);
  if (!m->lon || !m->lat || !m->id || !m->stratum) return cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
  for (size_t i = 0; i < m->plots.n; i++) {
    const cf_plot *p = &m->plots.p[i];
    m->lon[i] = p->lon, m->lat[i] = p->lat, m->id[i] = p->plot, m->stratum[i] = p->stratum;
  }
  m->n = (int)m->plots.n;
  return CF_OK;
}

static void free_marks(plot_marks *m) {
  if (m->have) cf_plots_free(&m->plots);
  free(m->lon), free(m->lat), free(m->id), free(m->stratum);
}

static int maps_section(cf_ctx *ctx, cf_ireport_doc *d, const char *strata, const plot_marks *m, int *n_drawn) {
  const cf_ireport_spec *sp = d->spec;
  cf_report_section *s = cf_report_section_add(d->r, "Maps");
  char text[1400];
  snprintf(text, sizeof text, "From the pool map %s: carbon density (band %s) and its per-pixel standard error (band "
                              "%s), t C/ha, with the strata%s and the plots%s. Light grey: no value (outside the map's data, or where the "
                              "model gives none, as on ground without canopy).",
           sp->pool_map, sp->settings.density_band, sp->settings.se_band, strata ? " (black)" : " (none given)",
           m->n ? " (red)" : " (none with coordinates)");
  cf_report_paragraph(s, text);
  const char *bands[2] = {sp->settings.density_band, sp->settings.se_band};
  for (int b = 0; b < 2; b++) {
    cf_report_map_spec ms = {sp->pool_map, bands[b], "t C/ha", strata,
                             strata && sp->settings.strata_layer[0] ? sp->settings.strata_layer : NULL,
                             m->lon, m->lat, m->n, 0};
    unsigned char *png = NULL;
    size_t npng = 0;
    cf_report_map_info info;
    int rc = cf_report_map_png(ctx, &ms, &png, &npng, &info);
    if (rc) return rc;
    *n_drawn = info.n_plots_in;
    char alt[200], cap[400];
    snprintf(alt, sizeof alt, b ? "Map of the per-pixel standard error of the carbon density (band %s)"
                                : "Map of carbon density (band %s)", bands[b]);
    snprintf(cap, sizeof cap, "%s (t C/ha, scale 0 to %g), %d stratum rings, %d plots", b ? "Standard error of the carbon density"
                                                                                           : "Carbon density",
             info.scale, info.n_rings, info.n_plots_in);
    cf_report_image(s, png, npng, alt, cap);
    free(png);
    d->n_images++;
  }
  return CF_OK;
}

/* --- the report ------------------------------------------------------------------------- */

int cf_ireport_write(cf_ctx *ctx, const cf_ireport_spec *spec, cf_ireport_info *info) {
  cf_ireport_doc d = {.spec = spec};
  plot_marks marks = {0};
  cf_atomic_file parts[2];
  memset(parts, 0, sizeof parts);
  int have_parts = 0, n_drawn = 0;
  char *ledger_ref = NULL, *stem = NULL;
  if (info) memset(info, 0, sizeof *info);
  cf_ireport_rd lr = {ctx, spec->ledger_path, CF_OK};
  int rc = cf_json_load_file_sha256(ctx, spec->ledger_path, &d.ledger, d.ledger_sha);
  if (!rc) {
    const char *schema = cf_ireport_str(&lr, d.ledger, "", "schema");
    if (!lr.rc && strcmp(schema, CF_LEDGER_SCHEMA))
      lr.rc = cf_error(ctx, CF_EDATA, spec->ledger_path, "schema", "is \"%s\", not %s", schema, CF_LEDGER_SCHEMA);
    rc = lr.rc ? lr.rc : read_events(&lr, &d);
  }
  /* strata and plots: as given, else as the last stock report read them
   * (strata given as a CSV of areas have no geometry to draw or export) */
  char *strata_found = spec->strata_path || rc ? NULL : recorded_input(&d, "strata");
  char *plots_found = spec->plots_path || rc ? NULL : recorded_input(&d, "plots");
  const char *strata = spec->strata_path ? spec->strata_path : strata_found;
  size_t ns = strata && !spec->strata_path ? strlen(strata) : 0;
  if (ns > 4 && !strcasecmp(strata + ns - 4, ".csv")) strata = NULL;
  const char *plots = spec->plots_path ? spec->plots_path : plots_found;
  const char *field = spec->settings.stratum_field[0] ? spec->settings.stratum_field
                      : rc || spec->strata_path ? NULL : recorded_stratum_field(&d);
  if (!rc) {
    const cf_json *pol = cf_ireport_member(&lr, d.ledger, "", "policy", CF_JSON_OBJECT, 0);
    char title[400];
    snprintf(title, sizeof title, "Issuance report \xE2\x80\x94 %s", cf_ireport_str(&lr, pol, "policy", "title"));
    rc = lr.rc;
    if (!rc && !(d.r = cf_report_create(title))) rc = cf_error(ctx, CF_ENOMEM, spec->html_path, "", "out of memory");
  }
  if (!rc && !(ledger_ref = ledger_reference(spec->ledger_path, spec->html_path)))
    rc = cf_error(ctx, CF_ENOMEM, spec->html_path, "", "out of memory");
  if (!rc) {
    if (spec->generated >= 0) cf_report_set_generated(d.r, spec->generated);
    char meta[4200], row[4200];
    snprintf(meta, sizeof meta, "%s %s", ledger_ref, d.ledger_sha);
    cf_report_add_meta(d.r, "carbonflux-ledger", meta);
    snprintf(row, sizeof row, "%s (%sSHA-256 %s)", ledger_ref, ledger_ref[0] == '/' ? "" : "relative to this file's folder; ",
             d.ledger_sha);
    cf_report_add_setting(d.r, "Ledger", row);
    rc = list_inputs(&lr, &d);
  }
  if (!rc && spec->pool_map) rc = add_input(ctx, &d, spec->pool_map, "pool map (COG) of the maps", NULL);
  if (!rc && strata && spec->strata_path) rc = add_input(ctx, &d, strata, "strata of the maps and exports", NULL);
  if (!rc && plots && spec->plots_path) rc = add_input(ctx, &d, plots, "plots of the maps and exports", NULL);
  if (!rc && strata && !cf_gdal_is_name(strata) && !cf_file_exists(strata))
    rc = cf_error(ctx, CF_ENOENT, strata, "", "the strata %s do not exist; give them with strata=", spec->strata_path ? "given" : "the stock report read");
  if (!rc && plots) rc = read_plots(ctx, plots, &marks);
  if (!rc) rc = cf_ireport_summary(&lr, &d);
  if (!rc) rc = cf_ireport_stocks_tables(&lr, &d);
  if (!rc) rc = cf_ireport_ledger_tables(&lr, &d);
  if (!rc) rc = cf_ireport_uncertainty(&lr, &d);
  if (!rc && spec->pool_map) rc = maps_section(ctx, &d, strata, &marks, &n_drawn);
  if (!rc) rc = cf_ireport_parameters(&lr, &d);
  if (!rc && strata) {
    char *dir = cf_path_dirname(spec->html_path);
    stem = dir ? cf_path_join(dir, "strata_plots") : NULL;
    free(dir);
    if (!stem) rc = cf_error(ctx, CF_ENOMEM, spec->html_path, "", "out of memory");
    cf_report_vector_spec vs = {strata, spec->settings.strata_layer[0] ? spec->settings.strata_layer : NULL, field,
                                marks.id, marks.stratum, marks.lon, marks.lat, marks.n};
    int written = 0;
    if (!rc) rc = cf_report_vector_prepare(ctx, &vs, stem, parts, &written);
    have_parts = !rc;
    if (!rc) {
      cf_report_section *s = cf_report_section_add(d.r, "Files beside this report");
      char text[3000];
      snprintf(text, sizeof text, "Every table above is also a CSV file beside this report (its name is under the "
                                  "table). The strata (%s) and %d plot%s with coordinates (%s) are in strata_plots.gpkg "
                                  "(GeoPackage, the strata in their own CRS) and strata_plots.kml (WGS 84).",
               strata, written, written == 1 ? "" : "s", plots ? plots : "no plots file");
      cf_report_paragraph(s, text);
    }
  }
  if (!rc) {
    cf_atomic_file *const extra[2] = {&parts[0], &parts[1]};
    rc = cf_report_write_with(ctx, d.r, spec->html_path, extra, have_parts ? 2 : 0);
  }
  if (!rc && info) {
    info->n_tables = d.n_tables + 2; /* and the metadata and input tables */
    info->n_images = d.n_images;
    info->n_plots_drawn = n_drawn;
  }
  cf_atomic_end(&parts[0]), cf_atomic_end(&parts[1]);
  free_marks(&marks);
  for (int k = 0; k < d.n_events; k++) cf_json_free(d.events[k].doc), free(d.events[k].path);
  for (int i = 0; i < d.n_listed; i++) free(d.listed[i]);
  free(d.listed);
  free(d.events);
  cf_json_free(d.ledger);
  cf_report_destroy(d.r);
  free(ledger_ref), free(stem), free(strata_found), free(plots_found);
  return rc;
}
