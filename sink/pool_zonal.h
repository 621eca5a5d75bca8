/*
 * Carbon stocks per stratum polygon from a pool map, and a model-assisted
 * DIFFERENCE estimator that corrects the map's mean with plots.
 *
 * Per polygon (pixels whose centre is inside, the even-odd rule of
 * raster/polygon.h): the pixel count, the valid ones, the area
 * (pixels x pixel area; the grid CRS must be projected, its linear unit is
 * converted to metres), the mean of every band over the valid pixels (t
 * C/ha), and the stock in t CO2e = 44/12 x mean total x area. Invalid
 * pixels inside a polygon (gaps, nodata) are thus represented by the mean
 * of the valid ones; `valid` says how many there were. The mean of the
 * total_se band is the mean per-pixel SE, NOT the SE of the polygon mean
 * (pixel errors are correlated through the model's coefficients).
 *
 * Difference estimator (Sarndal, Swensson & Wretman 1992, Model Assisted
 * Survey Sampling, sec. 6.3; Stahl et al. 2016, Forest Ecosystems 3:5,
 * "model-assisted" estimation with a map): with the map m(.) known for
 * every pixel of the polygon (a census: its mean mbar has no sampling
 * error) and n plots with observed y_i (the plot's AGB put through the same
 * pool chain as the map) at map values m_i,
 *     mu_hat = mbar + (1/n) sum (y_i - m_i)
 *     V_hat  = s_d^2 / n,  s_d^2 = sum (d_i - dbar)^2 / (n - 1),  d_i = y_i - m_i.
 * This is unbiased for the polygon mean under simple random sampling of
 * plot locations whatever the map's errors; a good map makes s_d small.
 * Finite details: the finite-population correction (1 - n/N), N the
 * pixels, is NOT applied (n/N is tiny and omitting it is conservative);
 * when the map's model was fitted on the same plots the residuals are
 * in-sample and s_d^2 is slightly optimistic (by a factor about
 * (n - p - 1)/(n - 1)); plots and pixels differ in support (a plot is not
 * a pixel), which adds to s_d^2 and is thereby counted. A plot belongs to
 * the polygon containing its centre; a plot on an invalid pixel is left
 * out; fewer than 2 plots: no estimate (NaN), never a made-up one.
 */
#ifndef CF_SINK_POOL_ZONAL_H
#define CF_SINK_POOL_ZONAL_H

#include "ingest/vector.h"
#include "raster/raster.h"

typedef struct {
  int n;               /* plots used */
  double mean;         /* mu_hat */
  double se;           /* sqrt(V_hat) */
  double mean_resid;   /* dbar */
  double sd_resid;     /* s_d */
} cf_difference_est;

/* The estimator on n pairs (y_i, m_i) and the census mean mbar; n < 2
 * gives NaN estimate and SE. */
void cf_difference_estimate(int n, const double *y, const double *m, double mbar, cf_difference_est *out);

typedef struct {
  char *label;
  long long pixels, valid;
  double area_ha;
  double *band_mean;   /* [nbands], t C/ha; NaN if no valid pixel */
  double stock_t_co2e; /* 44/12 x mean total x area */
  cf_difference_est diff;
} cf_pool_zone;

/* Zones of `pools` (a pool map with a "total" band) over the polygons of
 * `zones` (any CRS). Plots (optional, nplots may be 0): centres in the
 * grid CRS and their pool totals y (t C/ha). CF_EDATA naming the polygon
 * if one has no pixel centre on the grid (outside the raster, or smaller
 * than a pixel); CF_EINVAL for a grid CRS that is not projected. */
int cf_pool_zonal(cf_ctx *ctx, cf_raster *pools, const cf_vector *zones, int nplots, const double *plot_x,
                  const double *plot_y, const double *plot_total, cf_pool_zone **out);
void cf_pool_zones_free(cf_pool_zone *z, int n);

/* Is (x, y) inside polygon p (even-odd over all rings)? */
int cf_polygon_contains(const cf_polygon *p, double x, double y);

#endif
