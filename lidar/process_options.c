/* The processing settings table, expanded from the rows of process_options.h. */
#include "lidar/process_options.h"

#include <stddef.h>
#include <string.h>

const char *const cf_lidar_wind_error_names[] = {"propagated", "birge", "scaled", NULL};
const char *const cf_lidar_fft_plan_names[] = {"measure", "estimate", NULL};

#define KV_ROW(name, type, field, lo, hi, unit, choices, help) \
  {#name, CF_KV_##type, offsetof(cf_lidar_opts, field), lo, hi, unit, help, choices},
static const cf_kv_opt rows[] = {
    CF_LIDAR_SPECTRA_SETTINGS(KV_ROW) CF_LIDAR_DOPPLER_SETTINGS(KV_ROW) CF_LIDAR_DIAL_SETTINGS(KV_ROW)
        CF_LIDAR_WIND_SETTINGS(KV_ROW) CF_LIDAR_COMMAND_SETTINGS(KV_ROW)};
#undef KV_ROW
enum { NROWS = sizeof rows / sizeof *rows };

static void defaults(void *base) { cf_lidar_opts_default(base); }

const cf_kv_table cf_lidar_settings = {rows, NROWS, sizeof(cf_lidar_opts), defaults, "lidar process"};

/* Names the command took before each setting was declared once (0.1):
 * accepted, with a warning, so that scripts keep working. */
static const char *const renamed[][2] = {{"dial_window", "window"},
                                         {"wind_min_beams", "min_beams"},
                                         {"wind_max_condition", "max_condition"},
                                         {"wind_height_tol", "height_tol"}};

int cf_lidar_opts_set(cf_ctx *ctx, cf_lidar_opts *o, const char *kv) {
  const char *eq = strchr(kv, '=');
  char buf[512];
  for (size_t i = 0; eq && i < sizeof renamed / sizeof *renamed; i++)
    if ((size_t)(eq - kv) == strlen(renamed[i][0]) && !strncmp(kv, renamed[i][0], (size_t)(eq - kv)) &&
        strlen(renamed[i][1]) + strlen(eq) < sizeof buf) {
      size_t a = strlen(renamed[i][1]);
      memcpy(buf, renamed[i][1], a);
      memcpy(buf + a, eq, strlen(eq) + 1); /* fits: checked above */
      cf_log(ctx, CF_LOG_WARN, "setting '%s' is now called '%s'", renamed[i][0], renamed[i][1]);
      kv = buf;
      break;
    }
  int rc = cf_kv_set(ctx, rows, NROWS, o, kv, cf_lidar_settings.where, NULL);
  if (rc == CF_ENOENT)
    return cf_error(ctx, CF_EINVAL, cf_lidar_settings.where, "", "unknown setting '%.*s' (see carbonflux lidar --help)",
                    (int)(strchr(kv, '=') - kv), kv);
  return rc;
}

void cf_lidar_opts_describe(FILE *out) {
  cf_lidar_opts d;
  cf_lidar_opts_default(&d);
  cf_kv_describe(out, rows, NROWS, &d);
}

char *cf_lidar_opts_json(const cf_lidar_opts *o) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, rows, NROWS, o);
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}
