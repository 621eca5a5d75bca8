/* The shipped pipelines compiled into the library (cmake/CfEmbed.cmake). */
#ifndef CF_PIPELINES_EMBEDDED_H
#define CF_PIPELINES_EMBEDDED_H

typedef struct {
  const char *name; /* file name, e.g. "demo.yaml" */
  const char *text;
} cf_embedded_file;

extern const cf_embedded_file cf_embedded_pipelines[];

#endif
