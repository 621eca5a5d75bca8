/* The simulator's settings table; see sim_options.h. */
#include "lidar/sim_options.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/kvtable.h"
#include "core/strbuf.h"

#define F(field) offsetof(cf_sim_config, field)
#define I(field) offsetof(cf_sim_config, instrument.field)

/* enum orders match cf_l0_level, cf_scan_kind and cf_window_kind */
static const char *const levels[] = {"spectra", "raw", NULL};
static const char *const scans[] = {"vad", "ppi", "stare", NULL};
static const char *const windows[] = {"rect", "hann", NULL};
static const char *const bin_models[] = {"correlated", "independent", NULL};

static const cf_kv_opt opts[] = {
    {"level", CF_KV_ENUM, I(level), 0, 0, "", "spectra (operational) or raw (heterodyne samples)", levels},
    {"scan", CF_KV_ENUM, F(scan), 0, 0, "", "vad, ppi or stare (sets the scan defaults; give it first)", scans},
    {"scans", CF_KV_INT, F(n_scans), 1, 1e6, "", "number of scans", NULL},
    {"rays_per_scan", CF_KV_INT, F(rays_per_scan), 1, 1e5, "", "rays in each scan", NULL},
    {"elevation", CF_KV_DOUBLE, F(elevation_deg), 0.5, 90, "deg", "elevation of VAD and PPI rays", NULL},
    {"az_start", CF_KV_DOUBLE, F(az_start_deg), -360, 360, "deg", "PPI sector start", NULL},
    {"az_end", CF_KV_DOUBLE, F(az_end_deg), -360, 720, "deg", "PPI sector end", NULL},
    {"ray_seconds", CF_KV_DOUBLE, F(ray_seconds), 1e-4, 3600, "s", "accumulation time per ray (pulses = s * prf / 2 per wavelength)", NULL},
    {"raw_pulses", CF_KV_INT, F(raw_pulses), 1, 1e6, "", "level raw: pulses per wavelength per ray", NULL},
    {"bins", CF_KV_ENUM, F(bins_independent), 0, 0, "", "level spectra: correlated (as a digitiser's window makes them) or independent bins", bin_models},
    {"background_pulses", CF_KV_INT, F(background_pulses), 1, 2e9, "", "pulses in the background records (level=raw: 2000 unless given; each is a raw record)", NULL},
    {"t0", CF_KV_DOUBLE, F(t0), 0, 1e11, "s", "time of the first ray (s since 1970)", NULL},
    {"max_output_gb", CF_KV_DOUBLE, F(max_output_gb), 0.001, 1e6, "GB", "refuse to write a file larger than this (uncompressed estimate)", NULL},
    {"seed", CF_KV_U64, F(seed), 0, 0, "", "random seed", NULL},
    {"gates", CF_KV_INT, I(n_gates), 1, 10000, "", "range gates", NULL},
    {"gate_samples", CF_KV_INT, I(gate_samples), 8, 1 << 16, "", "samples per gate", NULL},
    {"gate_step", CF_KV_INT, I(gate_step), 1, 1 << 16, "", "samples between gate starts", NULL},
    {"gate_first", CF_KV_INT, I(gate_first), 0, 1 << 24, "", "first sample of gate 0", NULL},
    {"fft_size", CF_KV_INT, I(fft_size), 8, 1 << 20, "", "FFT length (zero padding)", NULL},
    {"window", CF_KV_ENUM, I(window), 0, 0, "", "hann or rect", windows},
    {"sample_rate", CF_KV_DOUBLE, I(sample_rate), 1e6, 1e11, "Hz", "ADC rate", NULL},
    {"aom_frequency", CF_KV_DOUBLE, I(aom_frequency), 1e5, 1e10, "Hz", "intermediate frequency", NULL},
    {"prf", CF_KV_DOUBLE, I(pulse_repetition), 1, 1e7, "Hz", "pulse repetition frequency", NULL},
    {"pulse_width", CF_KV_DOUBLE, I(pulse_width), 1e-9, 1e-5, "s", "pulse FWHM", NULL},
    {"range_offset", CF_KV_DOUBLE, I(range_offset), -1e4, 1e5, "m", "range of ADC sample 0", NULL},
    {"p0", CF_KV_DOUBLE, F(p0), 5e4, 1.1e5, "Pa", "surface pressure", NULL},
    {"T0", CF_KV_DOUBLE, F(T0), 200, 330, "K", "surface temperature", NULL},
    {"rh", CF_KV_DOUBLE, F(rh), 0, 1, "1", "surface relative humidity", NULL},
    {"wind_speed", CF_KV_DOUBLE, F(wind_speed), 0, 100, "m/s", "wind speed at wind_zref", NULL},
    {"wind_from", CF_KV_DOUBLE, F(wind_from_deg), -360, 720, "deg", "wind direction (from) at the surface", NULL},
    {"wind_zref", CF_KV_DOUBLE, F(wind_zref), 1, 1e4, "m", "reference height of the power law", NULL},
    {"shear_alpha", CF_KV_DOUBLE, F(shear_alpha), 0, 1, "", "power-law shear exponent", NULL},
    {"veer", CF_KV_DOUBLE, F(veer_deg_per_km), -90, 90, "deg/km", "turning of the direction with height", NULL},
    {"w", CF_KV_DOUBLE, F(w_mean), -10, 10, "m/s", "vertical velocity", NULL},
    {"co2", CF_KV_DOUBLE, F(co2_ppm), 100, 2000, "ppm", "background dry-air mole fraction", NULL},
    {"mixed_layer", CF_KV_DOUBLE, F(mixed_layer_m), 10, 1e4, "m", "aerosol mixed-layer depth", NULL},
    {"beta", CF_KV_DOUBLE, F(beta_ml), 1e-9, 1e-3, "1/(m sr)", "backscatter in the mixed layer", NULL},
    {"beta_free_ratio", CF_KV_DOUBLE, F(beta_free_ratio), 0, 1, "", "free-troposphere backscatter / mixed layer", NULL},
    {"lidar_ratio", CF_KV_DOUBLE, F(lidar_ratio_sr), 1, 200, "sr", "aerosol extinction / backscatter", NULL},
    {"cnr_ref", CF_KV_DOUBLE, F(cnr_ref_db), -60, 40, "dB", "CNR at r_ref in the mixed layer", NULL},
    {"r_ref", CF_KV_DOUBLE, F(r_ref_m), 10, 1e5, "m", "reference range of cnr_ref", NULL},
    {"focus", CF_KV_DOUBLE, F(focus_m), 10, 1e6, "m", "telescope focus", NULL},
    {"rayleigh", CF_KV_DOUBLE, F(rayleigh_m), 0, 1e5, "m", "Rayleigh range of the focused beam", NULL},
    {"noise_sigma", CF_KV_DOUBLE, F(noise_sigma_counts), 0.5, 5000, "counts", "receiver noise standard deviation", NULL},
    {"noise_gain_slope", CF_KV_DOUBLE, F(noise_gain_slope), -0.5, 0.5, "", "relative noise gain change along a record", NULL},
    {"energy", CF_KV_DOUBLE, F(energy_j), 1e-9, 10, "J", "mean pulse energy", NULL},
    {"energy_jitter", CF_KV_DOUBLE, F(energy_jitter), 0, 0.3, "", "ray-to-ray relative energy drift (1 sigma)", NULL},
};
enum { NOPTS = sizeof opts / sizeof *opts };

static int set_plume(cf_ctx *ctx, cf_sim_config *c, const char *v) {
  if (c->n_plumes >= CF_SIM_MAX_PLUMES)
    return cf_error(ctx, CF_EINVAL, "simulate", "plume", "at most %d plumes", CF_SIM_MAX_PLUMES);
  double x[6];
  const char *p = v;
  for (int i = 0; i < 6; i++) {
    char *end;
    x[i] = strtod(p, &end);
    if (end == p || (i < 5 && *end != ',') || (i == 5 && *end) || !isfinite(x[i]))
      return cf_error(ctx, CF_EINVAL, "simulate", "plume", "'%s' is not x,y,z,sigma_h,sigma_z,ppm", v);
    p = end + 1;
  }
  if (!(x[3] > 0) || !(x[4] > 0))
    return cf_error(ctx, CF_EINVAL, "simulate", "plume", "plume widths must be > 0 in '%s'", v);
  cf_sim_plume *pl = &c->plume[c->n_plumes++];
  pl->x = x[0], pl->y = x[1], pl->z = x[2], pl->sigma_h = x[3], pl->sigma_z = x[4], pl->ppm = x[5];
  return CF_OK;
}

int cf_sim_set(cf_ctx *ctx, cf_sim_config *c, const char *kv) {
  if (!strncmp(kv, "plume=", 6)) return set_plume(ctx, c, kv + 6);
  int which = -1;
  int rc = cf_kv_set(ctx, opts, NOPTS, c, kv, "simulate", &which);
  if (rc == CF_ENOENT)
    return cf_error(ctx, CF_EINVAL, "simulate", "", "unknown setting '%.*s' (see carbonflux simulate lidar --help)",
                    (int)(strchr(kv, '=') - kv), kv);
  if (!rc && which == 0 && c->instrument.level == CF_L0_RAW) {
    /* raw background records are written sample by sample: the spectra
     * level's default would be ~650 GB, so the raw level has its own,
     * unless background_pulses was already given */
    cf_sim_config d;
    cf_sim_defaults(&d, c->scan);
    if (c->background_pulses == d.background_pulses) c->background_pulses = CF_SIM_RAW_BACKGROUND_DEFAULT;
  }
  if (!rc && which == 1) {
    /* a scan kind brings its own defaults; the level is kept */
    cf_scan_kind scan = c->scan;
    cf_l0_level level = c->instrument.level;
    int background = c->background_pulses;
    cf_sim_defaults(c, scan);
    c->instrument.level = level;
    if (level == CF_L0_RAW) c->background_pulses = background;
  }
  return rc;
}

int cf_sim_check(cf_ctx *ctx, const cf_sim_config *c) {
  const cf_l0_config *i = &c->instrument;
  if (i->fft_size < i->gate_samples)
    return cf_error(ctx, CF_EINVAL, "simulate", "fft_size", "%d is smaller than gate_samples %d", i->fft_size, i->gate_samples);
  if (i->aom_frequency >= i->sample_rate / 2)
    return cf_error(ctx, CF_EINVAL, "simulate", "aom_frequency", "must be below the Nyquist frequency");
  if (i->level == CF_L0_RAW && (double)c->raw_pulses * cf_sim_ray_count(c) > 1e7)
    return cf_error(ctx, CF_EINVAL, "simulate", "raw_pulses", "a raw dump of %g pulses is too large; raw files are short research dumps",
                    (double)c->raw_pulses * cf_sim_ray_count(c));
  return cf_sim_check_size(ctx, c);
}

double cf_sim_output_bytes(const cf_sim_config *c) {
  const cf_l0_config *i = &c->instrument;
  double rays = (double)c->n_scans * c->rays_per_scan;
  if (i->level == CF_L0_RAW) {
    double samples = (double)i->gate_first + (double)(i->n_gates - 1) * i->gate_step + i->gate_samples;
    return (rays * c->raw_pulses + c->background_pulses) * samples * 2.0 * 2.0;
  }
  double bins = (double)i->fft_size / 2 + 1;
  return (rays + 1) * i->n_gates * bins * 2.0 * 4.0; /* + 1: the background spectra */
}

int cf_sim_check_size(cf_ctx *ctx, const cf_sim_config *c) {
  const cf_l0_config *i = &c->instrument;
  double gb = cf_sim_output_bytes(c) / 1e9;
  if (gb <= c->max_output_gb) return CF_OK;
  long long rays = (long long)c->n_scans * c->rays_per_scan;
  if (i->level == CF_L0_RAW) {
    long long samples = (long long)i->gate_first + (long long)(i->n_gates - 1) * i->gate_step + i->gate_samples;
    return cf_error(ctx, CF_EINVAL, "simulate", "background_pulses",
                    "level=raw would write %.1f GB, more than max_output_gb=%g GB: (%lld rays x "
                    "raw_pulses=%d + background_pulses=%d) records x %lld samples (gate_first, gates, gate_step, "
                    "gate_samples) x 2 wavelengths x 2 bytes; reduce background_pulses, raw_pulses, scans or "
                    "rays_per_scan, or raise max_output_gb",
                    gb, c->max_output_gb, rays, c->raw_pulses, c->background_pulses, samples);
  }
  return cf_error(ctx, CF_EINVAL, "simulate", "scans",
                  "level=spectra would write %.1f GB, more than max_output_gb=%g GB: %lld rays (scans=%d x "
                  "rays_per_scan=%d) x gates=%d x %d bins (fft_size=%d) x 2 wavelengths x 4 bytes; reduce scans, "
                  "rays_per_scan, gates or fft_size, or raise max_output_gb",
                  gb, c->max_output_gb, rays, c->n_scans, c->rays_per_scan, i->n_gates, i->fft_size / 2 + 1,
                  i->fft_size);
}

void cf_sim_describe(FILE *out, const cf_sim_config *d) {
  cf_kv_describe(out, opts, NOPTS, d);
  fprintf(out, "  %-20s %-10s %-8s %s\n", "plume", "(none)", "m,ppm", "x,y,z,sigma_h,sigma_z,ppm: a Gaussian CO2 plume (repeatable)");
  fprintf(out,
          "\nA file larger than %g GB (uncompressed) is refused, naming the settings and the size:\n"
          "level=spectra writes rays x gates x (fft_size/2+1) bins x 8 bytes, level=raw\n"
          "(rays x raw_pulses + background_pulses) records x samples x 4 bytes.\n"
          "level=raw sets background_pulses to %d unless it was given (each is a raw record).\n",
          CF_SIM_MAX_OUTPUT_GB, CF_SIM_RAW_BACKGROUND_DEFAULT);
}

char *cf_sim_json(const cf_sim_config *c) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_kv_json(&sb, opts, NOPTS, c);
  cf_strbuf_puts(&sb, ",\"plumes\":[");
  for (int i = 0; i < c->n_plumes; i++) {
    const cf_sim_plume *p = &c->plume[i];
    cf_strbuf_printf(&sb, "%s[%.17g,%.17g,%.17g,%.17g,%.17g,%.17g]", i ? "," : "", p->x, p->y, p->z, p->sigma_h, p->sigma_z, p->ppm);
  }
  cf_strbuf_puts(&sb, "]}");
  return cf_strbuf_take(&sb);
}
