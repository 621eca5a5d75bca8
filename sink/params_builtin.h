/* The parameter tables of sink/tables/ compiled into the library
 * (cmake/CfEmbedTables.cmake); read by sink/params.c. */
#ifndef CF_SINK_PARAMS_BUILTIN_H
#define CF_SINK_PARAMS_BUILTIN_H

typedef struct {
  const char *name; /* file name without ".csv", e.g. "carbon_fraction" */
  const char *text; /* the file's bytes, NUL-terminated */
} cf_params_builtin_table;

/* Ends with {NULL, NULL}; in file-name order. */
extern const cf_params_builtin_table cf_params_builtin[];

#endif
