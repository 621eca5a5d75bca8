/* The simulator's truth model; see sim_scene.h for what each part stands for. */
#include "lidar/sim_scene.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CF_PI 3.14159265358979323846
#define DEG (CF_PI / 180.0)

void cf_sim_defaults(cf_sim_config *c, cf_scan_kind scan) {
  memset(c, 0, sizeof *c);
  cf_l0_config *i = &c->instrument;
  i->level = CF_L0_SPECTRA;
  snprintf(i->instrument_id, sizeof i->instrument_id, "carbonflux-sim CDAL-1572");
  i->site_lat = 31.9;
  i->site_lon = 117.2;
  i->site_alt = 30.0;
  /* R16e line centre and the off-line in the trough before R18e (spec) */
  i->wavelength[CF_ON] = 0.01 / 6359.967248; /* m; 1/(wavenumber in cm-1) cm */
  i->wavelength[CF_OFF] = 0.01 / 6360.600;
  i->sample_rate = 5.0e8;
  i->aom_frequency = 8.0e7;
  i->pulse_repetition = 1.0e4;
  i->pulse_width = 2.0e-7;
  i->range_offset = 0.0;
  i->gate_first = 400;   /* first gate starts at 120 m */
  i->gate_samples = 400; /* 120 m gates */
  i->gate_step = 400;
  i->n_gates = 40;
  i->fft_size = 512;
  i->window = CF_WINDOW_HANN;

  c->scan = scan;
  c->n_scans = 10;
  c->ray_seconds = 1.0;
  c->t0 = 1782864000.0; /* 2026-07-01T00:00:00Z */
  switch (scan) {
    case CF_SCAN_VAD:
      c->rays_per_scan = 24;
      c->elevation_deg = 75.0;
      break;
    case CF_SCAN_PPI:
      c->rays_per_scan = 31;
      c->elevation_deg = 3.0;
      c->az_start_deg = 30.0;
      c->az_end_deg = 90.0;
      c->ray_seconds = 60.0;
      break;
    default:
      c->rays_per_scan = 60;
      c->elevation_deg = 90.0;
      break;
  }
  c->p0 = 101325.0;
  c->T0 = 298.15;
  c->rh = 0.6;
  c->wind_speed = 8.0;
  c->wind_from_deg = 225.0;
  c->wind_zref = 100.0;
  c->shear_alpha = 0.2;
  c->veer_deg_per_km = 20.0;
  c->w_mean = 0.1;
  c->co2_ppm = 420.0;
  c->mixed_layer_m = 1500.0;
  c->beta_ml = 2.0e-6;
  c->beta_free_ratio = 0.05;
  c->lidar_ratio_sr = 40.0;
  c->cnr_ref_db = -5.0;
  c->r_ref_m = 600.0;
  c->focus_m = 800.0;
  c->rayleigh_m = 400.0;
  c->noise_sigma_counts = 30.0;
  c->noise_gain_slope = 0.03;
  c->noise_taps[0] = 1.0;
  c->noise_taps[1] = 0.7;
  c->noise_taps[2] = 0.35;
  c->noise_taps[3] = 0.1;
  c->energy_j = 1.0e-4;
  c->energy_jitter = 0.03;
  c->raw_pulses = 200;
  /* background records: 1000 s at 10 kHz. Much shorter records would put
   * their sampling error, shared by every ray of a file, above a 1-minute
   * ray's own speckle noise (the DIAL then shows range bands common to
   * all rays); instruments record long backgrounds for that reason */
  c->background_pulses = 10000000;
  c->max_output_gb = 4.0; /* CF_SIM_MAX_OUTPUT_GB: a file the test and demo machines hold easily */
  c->seed = 1;
}

void cf_sim_wind(const cf_sim_config *c, double z, double *u, double *v, double *w) {
  double zz = z > 1.0 ? z : 1.0;
  double speed = c->wind_speed * pow(zz / c->wind_zref, c->shear_alpha);
  double from = (c->wind_from_deg + c->veer_deg_per_km * z / 1000.0) * DEG;
  /* meteorological "from" direction: the air moves towards from + 180 deg */
  *u = -speed * sin(from);
  *v = -speed * cos(from);
  *w = c->w_mean;
}

double cf_sim_co2_ppm(const cf_sim_config *c, double x, double y, double z) {
  double ppm = c->co2_ppm;
  for (int i = 0; i < c->n_plumes; i++) {
    const cf_sim_plume *p = &c->plume[i];
    double dh2 = (x - p->x) * (x - p->x) + (y - p->y) * (y - p->y), dz = z - p->z;
    ppm += p->ppm * exp(-0.5 * dh2 / (p->sigma_h * p->sigma_h) - 0.5 * dz * dz / (p->sigma_z * p->sigma_z));
  }
  return ppm;
}

double cf_sim_backscatter(const cf_sim_config *c, double z) {
  /* a mixed layer with a 100 m-wide top, over a free troposphere */
  double top = 0.5 * (1.0 - tanh((z - c->mixed_layer_m) / 100.0));
  return c->beta_ml * (c->beta_free_ratio + (1.0 - c->beta_free_ratio) * top);
}

void cf_sim_beam(double az_deg, double el_deg, double d[3]) {
  double az = az_deg * DEG, el = el_deg * DEG;
  d[0] = sin(az) * cos(el);
  d[1] = cos(az) * cos(el);
  d[2] = sin(el);
}

double cf_sim_radial_velocity(const cf_sim_config *c, double az_deg, double el_deg, double r) {
  double d[3], u, v, w;
  cf_sim_beam(az_deg, el_deg, d);
  cf_sim_wind(c, r * d[2], &u, &v, &w);
  return u * d[0] + v * d[1] + w * d[2];
}

double cf_sim_overlap(const cf_sim_config *c, double r) {
  /* focused Gaussian beam: 1 / (1 + (r_R (1 - r/F) / r)^2 ... ) normalised to 1 at F */
  double a = c->rayleigh_m * (1.0 - r / c->focus_m) / (r > 1.0 ? r : 1.0);
  return 1.0 / (1.0 + a * a);
}

void cf_sim_noise_acf(const cf_sim_config *c, double *R) {
  double norm = 0;
  for (int j = 0; j < CF_SIM_NOISE_TAPS; j++) norm += c->noise_taps[j] * c->noise_taps[j];
  for (int d = 0; d < CF_SIM_NOISE_TAPS; d++) {
    double s = 0;
    for (int j = 0; j + d < CF_SIM_NOISE_TAPS; j++) s += c->noise_taps[j] * c->noise_taps[j + d];
    R[d] = s / norm;
  }
}

double cf_sim_noise_gain(const cf_sim_config *c, double n, double n_samples) {
  return 1.0 + c->noise_gain_slope * n / n_samples;
}

int cf_sim_ray_count(const cf_sim_config *c) { return c->n_scans * c->rays_per_scan; }

void cf_sim_ray(const cf_sim_config *c, int i, double *t, float *az, float *el, int32_t *scan) {
  int s = i / c->rays_per_scan, k = i % c->rays_per_scan;
  *scan = s;
  *t = c->t0 + (i + 0.5) * c->ray_seconds;
  *el = (float)c->elevation_deg;
  switch (c->scan) {
    case CF_SCAN_VAD:
      *az = (float)(360.0 * k / c->rays_per_scan);
      break;
    case CF_SCAN_PPI: {
      double step = c->rays_per_scan > 1 ? (c->az_end_deg - c->az_start_deg) / (c->rays_per_scan - 1) : 0;
      *az = (float)(c->az_start_deg + step * k);
      break;
    }
    default:
      *az = 0.0f;
      break;
  }
}
