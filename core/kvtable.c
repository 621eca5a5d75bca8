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

static int nchoices(const cf_kv_opt *o) {
  int n = 0;
  while (o->choices && o->choices[n]) n++;
  return n;
}

/* A number in its shortest form that reads back exactly, so a message or a
 * help line never shows a bound the check does not use. */
static void num_text(double v, char *buf, size_t cap) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

void cf_kv_range_text(const cf_kv_opt *o, char *buf, size_t cap) {
  char lo[32], hi[32];
  size_t len = 0;
  buf[0] = '\0';
  switch (o->type) {
    case CF_KV_BOOL: snprintf(buf, cap, "yes|no"); break;
    case CF_KV_U64: snprintf(buf, cap, "unsigned integer"); break;
    case CF_KV_ENUM:
    case CF_KV_FLAGS:
      for (int c = 0; c < nchoices(o) && len < cap; c++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", c ? (o->type == CF_KV_FLAGS ? "," : "|") : "",
                                o->choices[c]);
      break;
    case CF_KV_TEXT: snprintf(buf, cap, "name"); break;
    case CF_KV_NUM_OR_ENUM:
      for (int c = 0; c < nchoices(o) && len < cap; c++)
        len += (size_t)snprintf(buf + len, cap - len, "%s|", o->choices[c]);
      num_text(o->min, lo, sizeof lo);
      num_text(o->max, hi, sizeof hi);
      if (len < cap)
        snprintf(buf + len, cap - len, "%s..%s%s%s", lo, hi, o->unit && o->unit[0] ? " " : "", o->unit ? o->unit : "");
      break;
    default:
      num_text(o->min, lo, sizeof lo);
      num_text(o->max, hi, sizeof hi);
      snprintf(buf, cap, "%s..%s%s%s", lo, hi, o->unit && o->unit[0] ? " " : "", o->unit ? o->unit : "");
  }
}

int cf_kv_check(const cf_kv_opt *o, double v, char *why, size_t cap) {
  char vt[32], range[256];
  num_text(v, vt, sizeof vt);
  cf_kv_range_text(o, range, sizeof range);
  switch (o->type) {
    case CF_KV_U64:
    case CF_KV_TEXT: snprintf(why, cap, "set from text only"); return -1;
    case CF_KV_FLAGS:
      if (v >= 0 && v < (double)(1u << nchoices(o)) && v == floor(v)) return 0;
      snprintf(why, cap, "%s is not a subset of %s", vt, range);
      return -1;
    case CF_KV_BOOL:
      if (v == 0 || v == 1) return 0;
      snprintf(why, cap, "%s is not yes or no", vt);
      return -1;
    case CF_KV_ENUM:
      if (v >= 0 && v < nchoices(o) && v == floor(v)) return 0;
      snprintf(why, cap, "%s is not one of %s", vt, range);
      return -1;
    default:
      if (!isfinite(v)) {
        snprintf(why, cap, "%s is not a number", vt);
        return -1;
      }
      if (o->type == CF_KV_INT && v != floor(v)) {
        snprintf(why, cap, "%s is not an integer in %s", vt, range);
        return -1;
      }
      if (v < o->min || v > o->max) {
        snprintf(why, cap, "%s is outside %s", vt, range);
        return -1;
      }
      return 0;
  }
}

int cf_kv_put(cf_ctx *ctx, const cf_kv_opt *o, void *base, double v, const char *where) {
  char why[320];
  if (cf_kv_check(o, v, why, sizeof why)) return cf_error(ctx, CF_EINVAL, where, o->key, "%s", why);
  char *field = (char *)base + o->offset;
  if (o->type == CF_KV_DOUBLE)
    *(double *)field = v;
  else if (o->type == CF_KV_NUM_OR_ENUM)
    *(cf_kv_num_or_choice *)field = (cf_kv_num_or_choice){-1, v};
  else if (o->type == CF_KV_FLAGS)
    *(unsigned *)field = (unsigned)v;
  else
    *(int *)field = (int)v; /* INT, BOOL and ENUM fields are ints */
  return CF_OK;
}

/* VALUE of a row as a number for cf_kv_put, or a message saying why not. */
static int parse_value(cf_ctx *ctx, const cf_kv_opt *o, const char *v, const char *where, double *out) {
  if (o->type == CF_KV_BOOL) {
    int b;
    if (parse_bool(v, &b)) return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not yes or no", v);
    *out = b;
    return CF_OK;
  }
  if (o->type == CF_KV_ENUM) {
    for (int c = 0; c < nchoices(o); c++)
      if (!strcasecmp(v, o->choices[c])) return *out = c, CF_OK;
    char range[256];
    cf_kv_range_text(o, range, sizeof range);
    return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not one of %s", v, range);
  }
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (!*v || *end || errno || !isfinite(d))
    return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not %s", v, o->type == CF_KV_INT ? "an integer" : "a number");
  *out = d;
  return CF_OK;
}

/* "a,b,c": each a choice, none twice; the empty text is the empty set. */
static int set_flags(cf_ctx *ctx, const cf_kv_opt *o, void *base, const char *v, const char *where) {
  unsigned mask = 0;
  for (const char *p = v; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    int found = -1;
    for (int c = 0; c < nchoices(o) && found < 0; c++)
      if (strlen(o->choices[c]) == len && !strncasecmp(p, o->choices[c], len)) found = c;
    if (found < 0) {
      char range[256];
      cf_kv_range_text(o, range, sizeof range);
      return cf_error(ctx, CF_EINVAL, where, o->key, "'%.*s' is not one of %s", (int)len, p, range);
    }
    if (mask & (1u << found)) return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is listed twice", o->choices[found]);
    mask |= 1u << found;
    p = comma ? comma + 1 : p + len;
  }
  *(unsigned *)((char *)base + o->offset) = mask;
  return CF_OK;
}

/* A name: printable, no spaces or quotes, shorter than CF_KV_TEXT_MAX. */
static int set_text(cf_ctx *ctx, const cf_kv_opt *o, void *base, const char *v, const char *where) {
  size_t n = strlen(v);
  if (n == 0 || n >= CF_KV_TEXT_MAX)
    return cf_error(ctx, CF_EINVAL, where, o->key, "a name of 1 to %d characters, not '%s'", CF_KV_TEXT_MAX - 1, v);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] <= ' ' || v[i] == '"' || v[i] == '\\' || v[i] == 127)
      return cf_error(ctx, CF_EINVAL, where, o->key, "'%s': a name has no spaces, quotes or control characters", v);
  memcpy((char *)base + o->offset, v, n + 1);
  return CF_OK;
}

/* A choice's name, or a number in the row's range. */
static int set_num_or_choice(cf_ctx *ctx, const cf_kv_opt *o, void *base, const char *v, const char *where) {
  for (int c = 0; c < nchoices(o); c++)
    if (!strcasecmp(v, o->choices[c])) {
      *(cf_kv_num_or_choice *)((char *)base + o->offset) = (cf_kv_num_or_choice){c, NAN};
      return CF_OK;
    }
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (!*v || *end || errno || !isfinite(d)) {
    char range[256];
    cf_kv_range_text(o, range, sizeof range);
    return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not one of %s", v, range);
  }
  return cf_kv_put(ctx, o, base, d, where);
}

static int set_u64(cf_ctx *ctx, const cf_kv_opt *o, void *base, const char *v, const char *where) {
  char *end;
  errno = 0;
  unsigned long long u = strtoull(v, &end, 10);
  if (!*v || *end || errno || *v == '-') return cf_error(ctx, CF_EINVAL, where, o->key, "'%s' is not an unsigned integer", v);
  *(uint64_t *)((char *)base + o->offset) = (uint64_t)u;
  return CF_OK;
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
    if (o->type == CF_KV_U64) return set_u64(ctx, o, base, v, where);
    if (o->type == CF_KV_FLAGS) return set_flags(ctx, o, base, v, where);
    if (o->type == CF_KV_TEXT) return set_text(ctx, o, base, v, where);
    if (o->type == CF_KV_NUM_OR_ENUM) return set_num_or_choice(ctx, o, base, v, where);
    double d;
    int rc = parse_value(ctx, o, v, where, &d);
    return rc ? rc : cf_kv_put(ctx, o, base, d, where);
  }
  return CF_ENOENT;
}

const cf_kv_opt *cf_kv_find(const cf_kv_table *t, const char *key) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->opts[i].key, key)) return &t->opts[i];
  return NULL;
}

static void value_text(const cf_kv_opt *o, const void *base, char *buf, size_t cap, int json) {
  const char *field = (const char *)base + o->offset;
  switch (o->type) {
    case CF_KV_DOUBLE:
      if (!isfinite(*(const double *)field))
        snprintf(buf, cap, json ? "null" : "unset"); /* NaN: a setting not given */
      else
        num_text(*(const double *)field, buf, cap);
      break;
    case CF_KV_INT: snprintf(buf, cap, "%d", *(const int *)field); break;
    case CF_KV_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case CF_KV_BOOL: snprintf(buf, cap, "%s", *(const int *)field ? (json ? "true" : "yes") : (json ? "false" : "no")); break;
    case CF_KV_ENUM: snprintf(buf, cap, json ? "\"%s\"" : "%s", o->choices[*(const int *)field]); break;
    case CF_KV_TEXT: snprintf(buf, cap, json ? "\"%s\"" : "%s", field); break; /* set_text: nothing to escape */
    case CF_KV_NUM_OR_ENUM: {
      const cf_kv_num_or_choice *nc = (const cf_kv_num_or_choice *)field;
      if (nc->choice >= 0)
        snprintf(buf, cap, json ? "\"%s\"" : "%s", o->choices[nc->choice]);
      else if (!isfinite(nc->value))
        snprintf(buf, cap, json ? "null" : "unset");
      else
        num_text(nc->value, buf, cap);
      break;
    }
    case CF_KV_FLAGS: {
      unsigned mask = *(const unsigned *)field;
      size_t len = (size_t)snprintf(buf, cap, "%s", json ? "[" : "");
      int k = 0;
      for (int c = 0; c < nchoices(o) && len < cap; c++)
        if (mask & (1u << c))
          len += (size_t)snprintf(buf + len, cap - len, json ? "%s\"%s\"" : "%s%s", k++ ? "," : "", o->choices[c]);
      if (json && len < cap) snprintf(buf + len, cap - len, "]");
      break;
    }
  }
}

void cf_kv_value_text(const cf_kv_opt *o, const void *base, char *buf, size_t cap) { value_text(o, base, buf, cap, 0); }

void cf_kv_value_json(cf_strbuf *sb, const cf_kv_opt *o, const void *base) {
  char v[512];
  value_text(o, base, v, sizeof v, 1);
  cf_strbuf_puts(sb, v);
}

void cf_kv_describe(FILE *out, const cf_kv_opt *t, size_t n, const void *defaults) {
  for (size_t i = 0; i < n; i++) {
    char def[512], range[256];
    value_text(&t[i], defaults, def, sizeof def, 0);
    cf_kv_range_text(&t[i], range, sizeof range);
    fprintf(out, "  %-20s %-11s %-24s %s\n", t[i].key, def, range, t[i].help);
  }
}

void cf_kv_json(cf_strbuf *sb, const cf_kv_opt *t, size_t n, const void *base) {
  cf_strbuf_puts(sb, "{");
  for (size_t i = 0; i < n; i++) {
    cf_strbuf_printf(sb, "%s\"%s\":", i ? "," : "", t[i].key);
    cf_kv_value_json(sb, &t[i], base);
  }
}
