/*
 * The simulator's world: the truth a simulated L0 file is made from.
 *
 * Everything here is a closed-form function of position, so the truth can
 * be evaluated anywhere (at gate centres for the truth file, at every ADC
 * sample for raw records) and written out exactly:
 *  - wind: power-law speed profile with directional veer and a constant
 *    vertical velocity; radial velocity is its projection on the beam
 *    (positive away from the instrument, spec sign convention);
 *  - CO2: a background dry-air mole fraction plus Gaussian plumes;
 *  - aerosol backscatter: a mixed layer with a smooth top and a free
 *    troposphere, with extinction from a lidar ratio;
 *  - instrument: CNR(r) from the lidar equation (backscatter, 1/r^2,
 *    telescope focus, two-way transmission) scaled to a reference CNR,
 *    a non-white receiver noise (white noise through a short FIR filter)
 *    whose gain drifts slightly along the record, and ray-to-ray pulse
 *    energy jitter.
 * Coordinates: x east, y north, z up, metres from the instrument.
 */
#ifndef CF_LIDAR_SIM_SCENE_H
#define CF_LIDAR_SIM_SCENE_H

#include <stdint.h>

#include "ingest/lidar_l0.h"

typedef enum { CF_SCAN_VAD = 0, CF_SCAN_PPI = 1, CF_SCAN_STARE = 2 } cf_scan_kind;

typedef struct {
  double x, y, z;        /* centre, m */
  double sigma_h, sigma_z; /* Gaussian widths, m */
  double ppm;            /* peak excess mole fraction */
} cf_sim_plume;

#define CF_SIM_MAX_PLUMES 8
#define CF_SIM_NOISE_TAPS 4

typedef struct {
  cf_l0_config instrument;
  /* scanning */
  cf_scan_kind scan;
  int n_scans, rays_per_scan;
  double elevation_deg;          /* VAD and PPI */
  double az_start_deg, az_end_deg; /* PPI sector */
  double ray_seconds;            /* accumulation per ray; pulses per wavelength = ray_seconds * prf / 2 */
  double t0;                     /* time of the first ray, s since 1970 */
  /* meteorology at the site */
  double p0, T0, rh;
  /* wind */
  double wind_speed, wind_from_deg, wind_zref, shear_alpha, veer_deg_per_km, w_mean;
  /* CO2 */
  double co2_ppm;
  int n_plumes;
  cf_sim_plume plume[CF_SIM_MAX_PLUMES];
  /* aerosol and signal */
  double mixed_layer_m, beta_free_ratio, lidar_ratio_sr, beta_ml; /* beta in 1/(m sr) */
  double cnr_ref_db, r_ref_m, focus_m, rayleigh_m;
  double noise_sigma_counts;     /* receiver noise standard deviation (ADC counts) */
  double noise_gain_slope;       /* relative gain change over the record */
  double noise_taps[CF_SIM_NOISE_TAPS];
  double energy_j, energy_jitter;
  /* level raw: pulses per wavelength per ray (short research dumps) */
  int raw_pulses;
  int background_pulses;
  int bins_independent;          /* level spectra: 0 = bins correlated as a digitiser's (default), 1 = independent */
  double max_output_gb;          /* refuse larger files (uncompressed estimate); default CF_SIM_MAX_OUTPUT_GB */
  uint64_t seed;
} cf_sim_config;

/* Defaults of a typical instrument and a summer boundary layer. */
void cf_sim_defaults(cf_sim_config *c, cf_scan_kind scan);

/* Truth at a point. */
void cf_sim_wind(const cf_sim_config *c, double z, double *u, double *v, double *w);
double cf_sim_co2_ppm(const cf_sim_config *c, double x, double y, double z);
double cf_sim_backscatter(const cf_sim_config *c, double z);
/* Unit vector of a beam (az clockwise from north, el above horizon). */
void cf_sim_beam(double az_deg, double el_deg, double dir[3]);
double cf_sim_radial_velocity(const cf_sim_config *c, double az_deg, double el_deg, double r);
/* Telescope overlap/focus factor (1 at the focus). */
double cf_sim_overlap(const cf_sim_config *c, double r);
/* Noise autocorrelation R(d), d = 0..CF_SIM_NOISE_TAPS-1, unit variance. */
void cf_sim_noise_acf(const cf_sim_config *c, double *R);
/* Receiver noise gain at sample n of a record of n_samples. */
double cf_sim_noise_gain(const cf_sim_config *c, double n, double n_samples);

/* The rays of the scan pattern: total count and each ray's time, angles, scan. */
int cf_sim_ray_count(const cf_sim_config *c);
void cf_sim_ray(const cf_sim_config *c, int i, double *t, float *az, float *el, int32_t *scan);

#endif
