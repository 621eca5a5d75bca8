/*
 * Processing an L0 file into the L2 quantities, streamed.
 *
 * The driver reads rays in blocks (one thread: HDF5), processes each ray
 * of a block in parallel (Doppler, then DIAL), and hands finished blocks
 * in ray order to a sink; when a scan is complete its rays' velocities go
 * to the wind fit and the profile goes to the sink too. While a block is
 * fitted, one thread of the team hands the block before it to the sink
 * (and the wind fit), then reads the next block, then joins the fits
 * (double buffers with one I/O thread: HDF5 is never called by two
 * threads at once, DESIGN.md), so reading and writing cost wall time only
 * for the first block's read and the last block's write. Memory is two
 * blocks of spectra, two of results and one scan's velocities, whatever
 * the length of the file: the L2 writer (l2_write.h) is a sink that
 * appends to the NetCDF file as blocks arrive.
 *
 * Raw-level files are turned into spectra first (lidar/spectra.h); they are
 * short research dumps, so their spectra are kept in memory.
 */
#ifndef CF_LIDAR_PROCESS_H
#define CF_LIDAR_PROCESS_H

#include "ingest/lidar_l0.h"
#include "lidar/dial.h"
#include "lidar/doppler.h"
#include "lidar/wind.h"

typedef struct {
  cf_doppler_opts doppler;
  cf_dial_opts dial;
  cf_wind_opts wind;
  int do_dial, do_wind;
  double co2_prior_ppm; /* only for CO2 self-broadening in the cross-sections */
  int block_rays;       /* rays per processing block (default 128) */
  int fft_plan;         /* raw files: CF_LIDAR_FFT_ESTIMATE (default) or CF_LIDAR_FFT_MEASURE (lidar/fft_wisdom.h) */
} cf_lidar_opts;

enum { CF_LIDAR_FFT_MEASURE = 0, CF_LIDAR_FFT_ESTIMATE = 1 };

void cf_lidar_opts_default(cf_lidar_opts *o);

/* QC bits that reject a radial velocity, and that exclude a gate from the DIAL. */
#define CF_QC_REJECT_VELOCITY (CF_QC_LOW_CNR | CF_QC_FIT_FAILED | CF_QC_BAD_RAY | CF_QC_OUT_OF_BAND | CF_QC_HARD_TARGET)

/* A block of processed rays [ray0, ray0+n), arrays [n][n_gates]. */
typedef struct {
  int ray0, n, n_gates;
  const double *cnr[2], *v, *v_sigma, *nd, *nd_sigma, *ppm, *ppm_sigma;
  const uint16_t *qc;
} cf_l2_rays;

/* One scan's wind profile. */
typedef struct {
  int index;   /* 0, 1, ... in file order */
  int scan_id;
  double time; /* mid-time of the scan */
  int n_levels;
  const cf_wind_level *levels;
} cf_l2_wind;

typedef struct {
  int (*begin)(cf_ctx *ctx, void *user, const cf_l0 *l0, const double *heights, int n_heights, int n_scans);
  int (*rays)(cf_ctx *ctx, void *user, const cf_l2_rays *block);
  int (*wind)(cf_ctx *ctx, void *user, const cf_l2_wind *profile);
  int (*end)(cf_ctx *ctx, void *user);
} cf_l2_sink;

int cf_lidar_process(cf_ctx *ctx, cf_l0 *l0, const cf_lidar_opts *o, const cf_l2_sink *sink, void *user);

#endif
