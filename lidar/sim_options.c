/* The simulator's settings table; see sim_options.h. */
#include "lidar/sim_options.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"

typedef enum { T_DOUBLE, T_INT, T_U64, T_SCAN, T_LEVEL, T_WINDOW } opt_type;

typedef struct {
  const char *key;
  opt_type type;
  size_t offset;
  double min, max;
  const char *unit, *help;
} sim_opt;

#define F(field) offsetof(cf_sim_config, field)
#define I(field) offsetof(cf_sim_config, instrument.field)

static const sim_opt opts[] = {
    {"level", T_LEVEL, I(level), 0, 0, "", "spectra (operational) or raw (heterodyne samples)"},
    {"scan", T_SCAN, F(scan), 0, 0, "", "vad, ppi or stare (sets the scan defaults; give it first)"},
    {"scans", T_INT, F(n_scans), 1, 1e6, "", "number of scans"},
    {"rays_per_scan", T_INT, F(rays_per_scan), 1, 1e5, "", "rays in each scan"},
    {"elevation", T_DOUBLE, F(elevation_deg), 0.5, 90, "deg", "elevation of VAD and PPI rays"},
    {"az_start", T_DOUBLE, F(az_start_deg), -360, 360, "deg", "PPI sector start"},
    {"az_end", T_DOUBLE, F(az_end_deg), -360, 720, "deg", "PPI sector end"},
    {"ray_seconds", T_DOUBLE, F(ray_seconds), 1e-4, 3600, "s", "accumulation time per ray (pulses = s * prf / 2 per wavelength)"},
    {"raw_pulses", T_INT, F(raw_pulses), 1, 1e6, "", "level raw: pulses per wavelength per ray"},
    {"background_pulses", T_INT, F(background_pulses), 1, 2e9, "", "pulses in the background records"},
    {"t0", T_DOUBLE, F(t0), 0, 1e11, "s", "time of the first ray (s since 1970)"},
    {"seed", T_U64, F(seed), 0, 0, "", "random seed"},
    {"gates", T_INT, I(n_gates), 1, 10000, "", "range gates"},
    {"gate_samples", T_INT, I(gate_samples), 8, 1 << 16, "", "samples per gate"},
    {"gate_step", T_INT, I(gate_step), 1, 1 << 16, "", "samples between gate starts"},
    {"gate_first", T_INT, I(gate_first), 0, 1 << 24, "", "first sample of gate 0"},
    {"fft_size", T_INT, I(fft_size), 8, 1 << 20, "", "FFT length (zero padding)"},
    {"window", T_WINDOW, I(window), 0, 0, "", "hann or rect"},
    {"sample_rate", T_DOUBLE, I(sample_rate), 1e6, 1e11, "Hz", "ADC rate"},
    {"aom_frequency", T_DOUBLE, I(aom_frequency), 1e5, 1e10, "Hz", "intermediate frequency"},
    {"prf", T_DOUBLE, I(pulse_repetition), 1, 1e7, "Hz", "pulse repetition frequency"},
    {"pulse_width", T_DOUBLE, I(pulse_width), 1e-9, 1e-5, "s", "pulse FWHM"},
    {"range_offset", T_DOUBLE, I(range_offset), -1e4, 1e5, "m", "range of ADC sample 0"},
    {"p0", T_DOUBLE, F(p0), 5e4, 1.1e5, "Pa", "surface pressure"},
    {"T0", T_DOUBLE, F(T0), 200, 330, "K", "surface temperature"},
    {"rh", T_DOUBLE, F(rh), 0, 1, "1", "surface relative humidity"},
    {"wind_speed", T_DOUBLE, F(wind_speed), 0, 100, "m/s", "wind speed at wind_zref"},
    {"wind_from", T_DOUBLE, F(wind_from_deg), -360, 720, "deg", "wind direction (from) at the surface"},
    {"wind_zref", T_DOUBLE, F(wind_zref), 1, 1e4, "m", "reference height of the power law"},
    {"shear_alpha", T_DOUBLE, F(shear_alpha), 0, 1, "", "power-law shear exponent"},
    {"veer", T_DOUBLE, F(veer_deg_per_km), -90, 90, "deg/km", "turning of the direction with height"},
    {"w", T_DOUBLE, F(w_mean), -10, 10, "m/s", "vertical velocity"},
    {"co2", T_DOUBLE, F(co2_ppm), 100, 2000, "ppm", "background dry-air mole fraction"},
    {"mixed_layer", T_DOUBLE, F(mixed_layer_m), 10, 1e4, "m", "aerosol mixed-layer depth"},
    {"beta", T_DOUBLE, F(beta_ml), 1e-9, 1e-3, "1/(m sr)", "backscatter in the mixed layer"},
    {"beta_free_ratio", T_DOUBLE, F(beta_free_ratio), 0, 1, "", "free-troposphere backscatter / mixed layer"},
    {"lidar_ratio", T_DOUBLE, F(lidar_ratio_sr), 1, 200, "sr", "aerosol extinction / backscatter"},
    {"cnr_ref", T_DOUBLE, F(cnr_ref_db), -60, 40, "dB", "CNR at r_ref in the mixed layer"},
    {"r_ref", T_DOUBLE, F(r_ref_m), 10, 1e5, "m", "reference range of cnr_ref"},
    {"focus", T_DOUBLE, F(focus_m), 10, 1e6, "m", "telescope focus"},
    {"rayleigh", T_DOUBLE, F(rayleigh_m), 0, 1e5, "m", "Rayleigh range of the focused beam"},
    {"noise_sigma", T_DOUBLE, F(noise_sigma_counts), 0.5, 5000, "counts", "receiver noise standard deviation"},
    {"noise_gain_slope", T_DOUBLE, F(noise_gain_slope), -0.5, 0.5, "", "relative noise gain change along a record"},
    {"energy", T_DOUBLE, F(energy_j), 1e-9, 10, "J", "mean pulse energy"},
    {"energy_jitter", T_DOUBLE, F(energy_jitter), 0, 0.3, "", "ray-to-ray relative energy drift (1 sigma)"},
};
enum { NOPTS = sizeof opts / sizeof *opts };

static int parse_double(const char *s, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return *s && !*end && !errno && isfinite(*v) ? 0 : -1;
}

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
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) return cf_error(ctx, CF_EINVAL, "simulate", "", "'%s' is not KEY=VALUE", kv);
  size_t kl = (size_t)(eq - kv);
  const char *v = eq + 1;
  if (kl == 5 && !strncmp(kv, "plume", 5)) return set_plume(ctx, c, v);
  for (int i = 0; i < NOPTS; i++) {
    const sim_opt *o = &opts[i];
    if (strlen(o->key) != kl || strncmp(o->key, kv, kl)) continue;
    char *base = (char *)c + o->offset;
    double d;
    switch (o->type) {
      case T_SCAN: {
        int s = !strcasecmp(v, "vad") ? CF_SCAN_VAD : !strcasecmp(v, "ppi") ? CF_SCAN_PPI : !strcasecmp(v, "stare") ? CF_SCAN_STARE : -1;
        if (s < 0) return cf_error(ctx, CF_EINVAL, "simulate", o->key, "'%s' is not vad, ppi or stare", v);
        cf_l0_level level = c->instrument.level;
        cf_sim_defaults(c, (cf_scan_kind)s);
        c->instrument.level = level;
        return CF_OK;
      }
      case T_LEVEL:
        if (!strcasecmp(v, "spectra")) c->instrument.level = CF_L0_SPECTRA;
        else if (!strcasecmp(v, "raw")) c->instrument.level = CF_L0_RAW;
        else return cf_error(ctx, CF_EINVAL, "simulate", o->key, "'%s' is not spectra or raw", v);
        return CF_OK;
      case T_WINDOW:
        if (!strcasecmp(v, "hann")) c->instrument.window = CF_WINDOW_HANN;
        else if (!strcasecmp(v, "rect")) c->instrument.window = CF_WINDOW_RECT;
        else return cf_error(ctx, CF_EINVAL, "simulate", o->key, "'%s' is not hann or rect", v);
        return CF_OK;
      case T_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (!*v || *end || errno) return cf_error(ctx, CF_EINVAL, "simulate", o->key, "'%s' is not an unsigned integer", v);
        *(uint64_t *)base = (uint64_t)u;
        return CF_OK;
      }
      default:
        if (parse_double(v, &d) || (o->type == T_INT && d != floor(d)))
          return cf_error(ctx, CF_EINVAL, "simulate", o->key, "'%s' is not %s", v, o->type == T_INT ? "an integer" : "a number");
        if (d < o->min || d > o->max)
          return cf_error(ctx, CF_EINVAL, "simulate", o->key, "%g is outside %g..%g %s", d, o->min, o->max, o->unit);
        if (o->type == T_INT)
          *(int *)base = (int)d;
        else
          *(double *)base = d;
        return CF_OK;
    }
  }
  return cf_error(ctx, CF_EINVAL, "simulate", "", "unknown setting '%.*s' (see carbonflux simulate lidar --help)", (int)kl, kv);
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
  return CF_OK;
}

void cf_sim_describe(FILE *out, const cf_sim_config *d) {
  for (int i = 0; i < NOPTS; i++) {
    const sim_opt *o = &opts[i];
    const char *base = (const char *)d + o->offset;
    char def[48];
    switch (o->type) {
      case T_DOUBLE: snprintf(def, sizeof def, "%g", *(const double *)base); break;
      case T_INT: snprintf(def, sizeof def, "%d", *(const int *)base); break;
      case T_U64: snprintf(def, sizeof def, "%llu", (unsigned long long)*(const uint64_t *)base); break;
      case T_SCAN: snprintf(def, sizeof def, "%s", d->scan == CF_SCAN_VAD ? "vad" : d->scan == CF_SCAN_PPI ? "ppi" : "stare"); break;
      case T_LEVEL: snprintf(def, sizeof def, "%s", d->instrument.level == CF_L0_RAW ? "raw" : "spectra"); break;
      default: snprintf(def, sizeof def, "%s", d->instrument.window == CF_WINDOW_HANN ? "hann" : "rect"); break;
    }
    fprintf(out, "  %-18s %-10s %-9s %s\n", o->key, def, o->unit, o->help);
  }
  fprintf(out, "  %-18s %-10s %-9s %s\n", "plume", "(none)", "m,ppm", "x,y,z,sigma_h,sigma_z,ppm: a Gaussian CO2 plume (repeatable)");
}

char *cf_sim_json(const cf_sim_config *c) {
  cf_strbuf sb;
  cf_strbuf_init(&sb);
  cf_strbuf_puts(&sb, "{");
  for (int i = 0; i < NOPTS; i++) {
    const sim_opt *o = &opts[i];
    const char *base = (const char *)c + o->offset;
    cf_strbuf_printf(&sb, "%s\"%s\":", i ? "," : "", o->key);
    switch (o->type) {
      case T_DOUBLE: cf_strbuf_json_double(&sb, *(const double *)base); break;
      case T_INT: cf_strbuf_printf(&sb, "%d", *(const int *)base); break;
      case T_U64: cf_strbuf_printf(&sb, "%llu", (unsigned long long)*(const uint64_t *)base); break;
      case T_SCAN: cf_strbuf_printf(&sb, "\"%s\"", c->scan == CF_SCAN_VAD ? "vad" : c->scan == CF_SCAN_PPI ? "ppi" : "stare"); break;
      case T_LEVEL: cf_strbuf_printf(&sb, "\"%s\"", c->instrument.level == CF_L0_RAW ? "raw" : "spectra"); break;
      default: cf_strbuf_printf(&sb, "\"%s\"", c->instrument.window == CF_WINDOW_HANN ? "hann" : "rect"); break;
    }
  }
  cf_strbuf_puts(&sb, ",\"plumes\":[");
  for (int i = 0; i < c->n_plumes; i++) {
    const cf_sim_plume *p = &c->plume[i];
    cf_strbuf_printf(&sb, "%s[%.17g,%.17g,%.17g,%.17g,%.17g,%.17g]", i ? "," : "", p->x, p->y, p->z, p->sigma_h, p->sigma_z, p->ppm);
  }
  cf_strbuf_puts(&sb, "]}");
  return cf_strbuf_take(&sb);
}
