/* The processing settings table; see process_options.h. */
#include "lidar/process_options.h"

#include <stddef.h>
#include <string.h>

#include "core/kvtable.h"

#define O(f) offsetof(cf_lidar_opts, f)
static const cf_kv_opt table[] = {
    {"cnr_min", CF_KV_DOUBLE, O(doppler.cnr_min_db), -60, 20, "dB", "gates below this wideband CNR are flagged low_cnr and masked", NULL},
    {"near_range", CF_KV_DOUBLE, O(doppler.near_range_m), 0, 1e5, "m", "gates closer than this are flagged near_range", NULL},
    {"hard_target", CF_KV_DOUBLE, O(doppler.hard_target_db), -20, 60, "dB", "CNR above this flags a hard target or saturation", NULL},
    {"v_max", CF_KV_DOUBLE, O(doppler.v_max), 1, 100, "m/s", "half-width of the Doppler search band", NULL},
    {"peak_snr_min", CF_KV_DOUBLE, O(doppler.peak_snr_min), 0, 1000, "", "fitted peak power / its sigma needed to count as detected", NULL},
    {"bins_correlated", CF_KV_BOOL, O(doppler.bins_correlated), 0, 1, "", "inflate uncertainties for window-correlated bins (always on for raw files)", NULL},
    {"dial", CF_KV_BOOL, O(do_dial), 0, 1, "", "retrieve CO2", NULL},
    {"dial_window", CF_KV_DOUBLE, O(dial.window_m), 10, 1e5, "m", "DIAL fit window along the beam", NULL},
    {"co2_prior", CF_KV_DOUBLE, O(co2_prior_ppm), 100, 2000, "ppm", "CO2 for self-broadening in the cross-sections", NULL},
    {"wind", CF_KV_BOOL, O(do_wind), 0, 1, "", "fit wind profiles per scan", NULL},
    {"wind_min_beams", CF_KV_INT, O(wind.min_beams), 4, 1000, "", "radial velocities needed at a height", NULL},
    {"wind_max_condition", CF_KV_DOUBLE, O(wind.max_condition), 1, 1e6, "", "reject heights whose fit is worse conditioned", NULL},
    {"wind_height_tol", CF_KV_DOUBLE, O(wind.height_tol_m), 0, 1e4, "m", "height matching tolerance (0: half a gate)", NULL},
    {"block_rays", CF_KV_INT, O(block_rays), 1, 1 << 16, "", "rays per processing block (memory vs overhead)", NULL},
};
enum { NTABLE = sizeof table / sizeof *table };

int cf_lidar_opts_set(cf_ctx *ctx, cf_lidar_opts *o, const char *kv) {
  int rc = cf_kv_set(ctx, table, NTABLE, o, kv, "lidar process", NULL);
  if (rc == CF_ENOENT)
    return cf_error(ctx, CF_EINVAL, "lidar process", "", "unknown setting '%.*s' (see carbonflux lidar --help)",
                    (int)(strchr(kv, '=') - kv), kv);
  return rc;
}

void cf_lidar_opts_describe(FILE *out) {
  cf_lidar_opts d;
  cf_lidar_opts_default(&d);
  cf_kv_describe(out, table, NTABLE, &d);
}

char *cf_lidar_opts_json(const cf_lidar_opts *o) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, table, NTABLE, o);
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}
