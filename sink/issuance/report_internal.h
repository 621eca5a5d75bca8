/* Shared by report.c (inputs, maps, writing) and report_tables.c (the
 * tables and statements filled from the ledger): the JSON documents read
 * and a reader that keeps the first error. */
#ifndef CF_SINK_ISSUANCE_REPORT_INTERNAL_H
#define CF_SINK_ISSUANCE_REPORT_INTERNAL_H

#include "core/json.h"
#include "core/sha256.h"
#include "sink/issuance/report.h"
#include "sink/report_html.h"

/* Reads members of one JSON document; the first missing or mistyped one
 * sets rc (CF_EDATA naming the file and the field's path) and later reads
 * give NaN, "" or NULL, so a caller reads everything and checks rc once. */
typedef struct {
  cf_ctx *ctx;
  const char *path;
  int rc;
} cf_ireport_rd;

/* The member `key` of `obj` (at `where`, "" for the root) of type t; NULL
 * if absent or null and `optional`, else an error. */
const cf_json *cf_ireport_member(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key,
                                 cf_json_type t, int optional);
/* A number member; null is NaN (not estimated). */
double cf_ireport_num(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key);
/* A string member ("" after an error). */
const char *cf_ireport_str(cf_ireport_rd *r, const cf_json *obj, const char *where, const char *key);
/* A value as text for the parameters table: a string as it is, a number
 * in its shortest exact form, yes/no, "unset" for null, a list joined by
 * commas. */
void cf_ireport_value_text(const cf_json *v, char *out, size_t cap);

/* One monitoring event: its stock report as the ledger lists it. */
typedef struct {
  const char *date;        /* from the ledger */
  char *path;              /* where it was found (sink/input_resolve.h), malloc'ed */
  int ledger_input;        /* index in the ledger's inputs */
  cf_json *doc;            /* the stock report */
} cf_ireport_event;

typedef struct {
  const cf_ireport_spec *spec;
  cf_json *ledger;
  char ledger_sha[CF_SHA256_HEX_LEN];
  int n_events;
  cf_ireport_event *events;
  cf_report *r;
  int n_tables, n_images;
  char **listed;           /* "SHA256 PATH" of every input listed, to list each once */
  int n_listed;
} cf_ireport_doc;

/* The sections from the ledger and the stock reports (report_tables.c);
 * rc of the reader. */
int cf_ireport_summary(cf_ireport_rd *lr, cf_ireport_doc *d);
int cf_ireport_stocks_tables(cf_ireport_rd *lr, cf_ireport_doc *d);
int cf_ireport_ledger_tables(cf_ireport_rd *lr, cf_ireport_doc *d);
int cf_ireport_uncertainty(cf_ireport_rd *lr, cf_ireport_doc *d);
int cf_ireport_parameters(cf_ireport_rd *lr, cf_ireport_doc *d);

#endif
