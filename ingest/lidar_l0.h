/*
 * The lidar L0 file (carbonflux-lidar-l0 1.0, ../shared/spec/lidar-l0.md):
 * what it holds, and the reader that validates it.
 *
 * Opening reads and checks everything small (root attributes, the per-ray
 * table, background spectra, meteorology) and the shapes and types of the
 * big datasets; the big ones (spectra, raw pulses) are then streamed a block
 * of rays or pulses at a time into caller-owned buffers, so memory does not
 * grow with the file. HDF5 is read from one thread only (DESIGN.md: its
 * thread safety is one global lock); processing of the buffers is what runs
 * in parallel.
 *
 * Every rejection of the spec's Validity section names the file, the field
 * and the reason. Rays with a pulse count of 0 are not errors: they are
 * flagged (cf_l0.ray_ok) and skipped downstream; non-finite spectra are
 * found when the spectra are read (cf_l0_spectra_finite).
 */
#ifndef CF_INGEST_LIDAR_L0_H
#define CF_INGEST_LIDAR_L0_H

#include <stdint.h>

#include "carbonflux/ctx.h"

#define CF_SPEED_OF_LIGHT 299792458.0 /* m/s, exact (SI) */

typedef enum { CF_L0_SPECTRA = 0, CF_L0_RAW = 1 } cf_l0_level;
typedef enum { CF_WINDOW_RECT = 0, CF_WINDOW_HANN = 1 } cf_window_kind;
enum { CF_ON = 0, CF_OFF = 1 }; /* index of the on-line and off-line wavelength */

/* Root attributes: the instrument and the digitiser's gating. */
typedef struct {
  cf_l0_level level;
  char instrument_id[128];
  double site_lat, site_lon, site_alt;
  double wavelength[2];      /* on, off; m, vacuum */
  double sample_rate;        /* Hz */
  double aom_frequency;      /* Hz */
  double pulse_repetition;   /* Hz */
  double pulse_width;        /* s, FWHM */
  double range_offset;       /* m */
  int gate_first, gate_samples, gate_step, n_gates, fft_size;
  cf_window_kind window;
} cf_l0_config;

/* Range of the centre of gate g (spec formula). */
double cf_l0_gate_range(const cf_l0_config *c, int g);
/* Number of one-sided spectral bins, fft_size/2 + 1. */
static inline int cf_l0_nbins(const cf_l0_config *c) { return c->fft_size / 2 + 1; }

typedef struct {
  int n;
  double *time, *pressure, *temperature, *rh; /* s, Pa, K, 1 */
} cf_l0_meteo;

typedef struct cf_l0 cf_l0;
struct cf_l0 {
  char *path;
  cf_l0_config cfg;
  /* per ray */
  int n_rays;
  double *time;
  float *azimuth, *elevation;
  int32_t *scan_id;
  int32_t *pulses[2];
  float *energy[2];
  uint8_t *ray_ok;            /* 0 when a pulse count is 0 (skipped, not fatal) */
  /* level spectra: background [2][n_gates][nbins] and its pulse counts */
  float *background[2];
  int32_t background_pulses[2];
  /* level raw */
  int64_t n_pulses[2], n_samples, n_bg[2];
  int32_t *pulse_ray[2];      /* ray index of every pulse */
  cf_l0_meteo meteo;
  void *h5;                   /* reader state (HDF5 handles) */
};

/* Open and validate. `max_bytes` bounds any single allocation the file's
 * sizes would need (0 = a default of 4 GiB): larger is rejected as "would
 * not fit in memory", CF_EDATA (the spec's Validity section lists such
 * sizes among the invalid files: the input is rejected, not the run failed).
 * A read that fails on the file's content (a corrupt chunk, a checksum) is
 * CF_EDATA too, one the system fails (EIO) CF_EIO (h5_read_error.h). */
int cf_l0_open(cf_ctx *ctx, const char *path, int64_t max_bytes, cf_l0 **out);
void cf_l0_close(cf_l0 *l0);

/* Level spectra: rays [ray0, ray0+n) of /spectra/on or /off into
 * buf[n][n_gates][nbins]. */
int cf_l0_read_spectra(cf_ctx *ctx, cf_l0 *l0, int which, int ray0, int n, float *buf);
/* Level raw: pulses [p0, p0+n) of /raw/on or /off into buf[n][n_samples];
 * background records likewise from /raw/background_*. */
int cf_l0_read_raw(cf_ctx *ctx, cf_l0 *l0, int which, int64_t p0, int64_t n, int16_t *buf);
int cf_l0_read_raw_background(cf_ctx *ctx, cf_l0 *l0, int which, int64_t r0, int64_t n, int16_t *buf);

/* 1 if all values are finite. */
int cf_l0_spectra_finite(const float *s, int64_t n);

/* Meteorology at time t: nearest record in time (the spec gives surface
 * values; interpolation would invent precision the station does not have). */
int cf_l0_meteo_at(const cf_l0 *l0, double t, double *p, double *T, double *rh);

#endif
