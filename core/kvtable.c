/* KEY=VALUE settings tables; see kvtable.h. */
#include "core/kvtable.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_bool(const char *v, int *out) {
  const char *t[] = {"yes", "true", "on", "1"}, *f[] = {"no", "false", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (!strcasecmp(v, t[i])) return *out = 1, 0;
    if (!strcasecmp(v, f[i])) return *out = 0, 0;
  }
  return -1;
}

int cf_kv_set(cf_ctx *ctx, const cf_kv_opt *t, size_t n, void *base, const char *kv, const char *where, int *which) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) return cf_error(ctx, CF_EINVAL, where, "", "'%s' is not KEY=VALUE", kv);
  size_t kl = (size_t)(eq - kv);
  const char *v = eq + 1;
  for (size_t i = 0; i < n; i++) {
    const cf_kv_opt *o = &t[i];
    if (strlen(o->key) != kl || strncmp(o->key, kv, kl)) continue;
    if (which) *which = (int)i;
    char *field = (char *)base + o->offset;
    switch (o->type) {
      case CF_KV_BOOL: {
        int b;
        if (parse_bool(v, &b)) return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not yes or no", v);
        *(int *)field = b;
        return CF_OK;
      }
      case CF_KV_ENUM:
        for (int c = 0; o->choices[c]; c++)
          if (!strcasecmp(v, o->choices[c])) {
            *(int *)field = c;
            return CF_OK;
          }
        return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not one of the choices (%s%s%s...)", v,
                        o->choices[0], o->choices[1] ? ", " : "", o->choices[1] ? o->choices[1] : "");
      case CF_KV_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (!*v || *end || errno || *v == '-') return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not an unsigned integer", v);
        *(uint64_t *)field = (uint64_t)u;
        return CF_OK;
      }
      default: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(d) || (o->type == CF_KV_INT && d != floor(d)))
          return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not %s", v, o->type == CF_KV_INT ? "an integer" : "a number");
        if (d < o->min || d > o->max)
          return cf_error(ctx, CF_EINVAL, where, o->key, "%g is outside %g..%g %s", d, o->min, o->max, o->unit ? o->unit : "");
        if (o->type == CF_KV_INT)
          *(int *)field = (int)d;
        else
          *(double *)field = d;
        return CF_OK;
      }
    }
  }
  return CF_ENOENT;
}

static void value_text(const cf_kv_opt *o, const void *base, char *buf, size_t cap, int json) {
  const char *field = (const char *)base + o->offset;
  switch (o->type) {
    case CF_KV_DOUBLE: {
      cf_strbuf sb;
      cf_strbuf_init(&sb);
      cf_strbuf_json_double(&sb, *(const double *)field);
      snprintf(buf, cap, "%s", cf_strbuf_str(&sb));
      cf_strbuf_free(&sb);
      break;
    }
    case CF_KV_INT: snprintf(buf, cap, "%d", *(const int *)field); break;
    case CF_KV_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case CF_KV_BOOL: snprintf(buf, cap, json ? "%s" : "%s", *(const int *)field ? (json ? "true" : "yes") : (json ? "false" : "no")); break;
    case CF_KV_ENUM: snprintf(buf, cap, json ? "\"%s\"" : "%s", o->choices[*(const int *)field]); break;
  }
}

void cf_kv_describe(FILE *out, const cf_kv_opt *t, size_t n, const void *defaults) {
  for (size_t i = 0; i < n; i++) {
    char def[48];
    value_text(&t[i], defaults, def, sizeof def, 0);
    fprintf(out, "  %-20s %-10s %-8s %s\n", t[i].key, def, t[i].unit ? t[i].unit : "", t[i].help);
  }
}

void cf_kv_json(cf_strbuf *sb, const cf_kv_opt *t, size_t n, const void *base) {
  cf_strbuf_puts(sb, "{");
  for (size_t i = 0; i < n; i++) {
    char v[48];
    value_text(&t[i], base, v, sizeof v, 1);
    cf_strbuf_printf(sb, "%s\"%s\":%s", i ? "," : "", t[i].key, v);
  }
}
