/*
 * The settings of the flux truth simulator (sim_flux.h): declared once in
 * one table, which `KEY=VALUE`, `carbonflux simulate flux --help` and the
 * settings recorded in the L2 files and the truth all read; then the
 * checks across settings that one row cannot make (the elevation list,
 * the azimuth span, the size of the run).
 */
#include "lidar/flux/sim_flux.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

#define R_GAS 8.314462618 /* J mol-1 K-1 */

#define F(field) offsetof(cf_simflux_config, field)
static const cf_kv_opt opts[] = {
    {"seed", CF_KV_U64, F(seed), 0, 0, "", "random seed", NULL},
    {"lat", CF_KV_DOUBLE, F(lat), -90, 90, "deg", "site latitude (WGS84)", NULL},
    {"lon", CF_KV_DOUBLE, F(lon), -180, 360, "deg", "site longitude (WGS84)", NULL},
    {"alt", CF_KV_DOUBLE, F(alt), -500, 9000, "m", "instrument altitude above mean sea level", NULL},
    {"instrument_height", CF_KV_DOUBLE, F(instrument_height), 0, 1000, "m", "instrument above the ground", NULL},
    {"t0", CF_KV_DOUBLE, F(t0), 0, 1e11, "s", "start of the first sweep (s since 1970)", NULL},
    {"scans", CF_KV_INT, F(scans), 1, 1e5, "", "number of PPI sweeps", NULL},
    {"scans_per_file", CF_KV_INT, F(scans_per_file), 0, 1e5, "", "sweeps per L2 file (0: all in one file)", NULL},
    {"rays", CF_KV_INT, F(rays), 1, 1e4, "", "rays per sweep", NULL},
    {"gates", CF_KV_INT, F(gates), 1, 1e4, "", "range gates", NULL},
    {"elevations", CF_KV_TEXT, F(elevations), 0, 0, "deg", "sweep elevations, cycled (comma-separated)", NULL},
    {"az_start", CF_KV_DOUBLE, F(az_start), -360, 360, "deg", "sweep start azimuth", NULL},
    {"az_end", CF_KV_DOUBLE, F(az_end), -360, 720, "deg", "sweep end azimuth", NULL},
    {"sweep_seconds", CF_KV_DOUBLE, F(sweep_seconds), 1, 86400, "s", "duration of a sweep", NULL},
    {"gate_length", CF_KV_DOUBLE, F(gate_length), 1, 1e4, "m", "gate spacing", NULL},
    {"first_gate", CF_KV_DOUBLE, F(first_gate), 0, 1e5, "m", "range of the first gate centre", NULL},
    {"wind_speed", CF_KV_DOUBLE, F(wind_speed), 0.1, 50, "m/s", "wind speed (uniform)", NULL},
    {"wind_from", CF_KV_DOUBLE, F(wind_from), -360, 720, "deg", "mean wind direction (from)", NULL},
    {"meander_sigma", CF_KV_DOUBLE, F(meander_sigma), 0, 90, "deg", "standard deviation of the direction (OU)", NULL},
    {"meander_tau", CF_KV_DOUBLE, F(meander_tau), 1, 1e6, "s", "correlation time of the direction (OU)", NULL},
    {"K_h", CF_KV_DOUBLE, F(k_h), 0, 1e5, "m2/s", "horizontal eddy diffusivity: sigma_h = sqrt(2 K_h age) + sigma_h0", NULL},
    {"K_z", CF_KV_DOUBLE, F(k_z), 0, 1e5, "m2/s", "vertical eddy diffusivity: sigma_z = sqrt(2 K_z age) + sigma_z0", NULL},
    {"sigma_h0", CF_KV_DOUBLE, F(sigma_h0), 0.1, 1e4, "m", "initial horizontal puff width", NULL},
    {"sigma_z0", CF_KV_DOUBLE, F(sigma_z0), 0.1, 1e4, "m", "initial vertical puff width", NULL},
    {"bl_height", CF_KV_DOUBLE, F(bl_height), 50, 5000, "m", "boundary-layer top (reflecting; the CNR drops above it)", NULL},
    {"release_s", CF_KV_DOUBLE, F(release_s), 0.1, 3600, "s", "interval between puffs", NULL},
    {"spinup_s", CF_KV_DOUBLE, F(spinup_s), 0, 86400, "s", "puffs are released from t0 - spinup_s on", NULL},
    {"area_cell", CF_KV_DOUBLE, F(area_cell), 10, 1e5, "m", "grid step of the sub-sources of an area source", NULL},
    {"p0", CF_KV_DOUBLE, F(p0), 5e4, 1.1e5, "Pa", "air pressure (dry-air density p0/(R T0))", NULL},
    {"T0", CF_KV_DOUBLE, F(T0), 200, 330, "K", "air temperature", NULL},
    {"co2", CF_KV_DOUBLE, F(co2), 100, 2000, "ppm", "background CO2", NULL},
    {"sweep_offset_sigma", CF_KV_DOUBLE, F(sweep_offset_sigma), 0, 100, "ppm", "background offset per sweep (1 sigma)", NULL},
    {"gradient_east", CF_KV_DOUBLE, F(gradient_east), -100, 100, "ppm/km", "background gradient towards east", NULL},
    {"gradient_north", CF_KV_DOUBLE, F(gradient_north), -100, 100, "ppm/km", "background gradient towards north", NULL},
    {"noise_ppm", CF_KV_DOUBLE, F(noise_ppm), 0, 1000, "ppm", "gate noise (1 sigma)", NULL},
    {"missing_ray", CF_KV_DOUBLE, F(missing_ray), 0, 1, "1", "probability that a ray is missing", NULL},
    {"spike_prob", CF_KV_DOUBLE, F(spike_prob), 0, 1, "1", "probability of a spike in a gate", NULL},
    {"spike_ppm", CF_KV_DOUBLE, F(spike_ppm), -1e4, 1e4, "ppm", "size of a spike", NULL},
    {"flag_spikes", CF_KV_BOOL, F(flag_spikes), 0, 1, "", "flag spikes in qc_flag (else undetected)", NULL},
    {"vr_noise", CF_KV_DOUBLE, F(vr_noise), 0, 100, "m/s", "radial velocity noise (1 sigma)", NULL},
    {"wind_noise", CF_KV_DOUBLE, F(wind_noise), 0, 100, "m/s", "noise of the fitted wind profile per component", NULL},
    {"wind_levels", CF_KV_INT, F(wind_levels), 1, 1000, "", "wind profile levels at 50, 100, ... m", NULL},
    {"cnr_free_ratio", CF_KV_DOUBLE, F(cnr_free_ratio), 1e-4, 1, "1",
     "aerosol backscatter above bl_height / below it (the CNR drops by -10 log10 of it)", NULL},
    {"cnr_transition_m", CF_KV_DOUBLE, F(cnr_transition_m), 0, 1000, "m",
     "width w of the top: log backscatter follows tanh((z - bl_height) / w) (0: a step)", NULL},
    {"cnr_noise_db", CF_KV_DOUBLE, F(cnr_noise_db), 0, 20, "dB", "CNR noise per gate (1 sigma)", NULL},
};
enum { NOPTS = sizeof opts / sizeof *opts };

void cf_simflux_defaults(cf_simflux_config *c) {
  memset(c, 0, sizeof *c);
  c->seed = 1;
  c->lat = 48.0, c->lon = 11.0, c->alt = 500.0, c->instrument_height = 10.0;
  c->t0 = 1719820800.0; /* 2024-07-01T08:00:00Z */
  c->scans = 6, c->scans_per_file = 0, c->rays = 90, c->gates = 80;
  snprintf(c->elevations, sizeof c->elevations, "2,5,10");
  c->az_start = 0, c->az_end = 360, c->sweep_seconds = 90, c->gate_length = 150, c->first_gate = 300;
  c->wind_speed = 5, c->wind_from = 270, c->meander_sigma = 8, c->meander_tau = 300;
  c->k_h = 50, c->k_z = 10, c->sigma_h0 = 10, c->sigma_z0 = 5, c->bl_height = 1000;
  c->release_s = 10, c->spinup_s = 3600, c->area_cell = 1000;
  c->p0 = 101325, c->T0 = 288.15;
  c->co2 = 420, c->sweep_offset_sigma = 0.5, c->gradient_east = 0.02, c->gradient_north = 0;
  c->noise_ppm = 4, c->missing_ray = 0.02, c->spike_prob = 0.002, c->spike_ppm = 40, c->flag_spikes = 0;
  c->vr_noise = 0.2, c->wind_noise = 0.3, c->wind_levels = 10;
  c->cnr_free_ratio = 0.1, c->cnr_transition_m = 30, c->cnr_noise_db = 0.5;
}


int cf_simflux_set(cf_ctx *ctx, cf_simflux_config *c, const char *kv) {
  int which = -1;
  int rc = cf_kv_set(ctx, opts, NOPTS, c, kv, "simulate flux", &which);
  if (rc == CF_ENOENT) {
    const char *eq = strchr(kv, '=');
    return cf_error(ctx, CF_EINVAL, "simulate flux", "", "unknown setting '%.*s' (see carbonflux simulate flux --help)",
                    (int)(eq ? eq - kv : (ptrdiff_t)strlen(kv)), kv);
  }
  return rc;
}

int cf_simflux_elevations(cf_ctx *ctx, const cf_simflux_config *c, double *elev, int *n) {
  *n = 0;
  const char *p = c->elevations;
  while (*p) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !(v > 0 && v < 90))
      return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "'%s' is not a list of angles in (0, 90) degrees",
                      c->elevations);
    if (*n == CF_SIMFLUX_MAX_ELEV)
      return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "at most %d elevations", CF_SIMFLUX_MAX_ELEV);
    elev[(*n)++] = v;
    p = *end ? end + 1 : end;
  }
  if (!*n) return cf_error(ctx, CF_EINVAL, "simulate flux", "elevations", "give at least one elevation");
  return CF_OK;
}

int cf_simflux_check(cf_ctx *ctx, const cf_simflux_config *c) {
  double e[CF_SIMFLUX_MAX_ELEV];
  int n;
  int rc = cf_simflux_elevations(ctx, c, e, &n);
  if (rc) return rc;
  if (!(c->az_end > c->az_start) || c->az_end - c->az_start > 360)
    return cf_error(ctx, CF_EINVAL, "simulate flux", "az_end", "must be above az_start by at most 360 degrees");
  if ((double)c->rays * c->gates * c->scans > 2e8)
    return cf_error(ctx, CF_EINVAL, "simulate flux", "scans", "scans x rays x gates = %g gates is too many (max 2e8)",
                    (double)c->rays * c->gates * c->scans);
  return CF_OK;
}

void cf_simflux_describe(FILE *out, const cf_simflux_config *d) { cf_kv_describe(out, opts, NOPTS, d); }

char *cf_simflux_json(const cf_simflux_config *c) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, opts, NOPTS, c);
  cf_strbuf_puts(&sb, "}");
  return cf_strbuf_take(&sb);
}

double cf_simflux_n_air(const cf_simflux_config *c) { return c->p0 / (R_GAS * c->T0); }
