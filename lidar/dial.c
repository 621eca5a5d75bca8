/* The DIAL retrieval; the method is in dial.h. */
#include "lidar/dial.h"

#include <math.h>

#include "lidar/doppler.h"

#define CF_PI 3.14159265358979323846

void cf_dial_defaults(cf_dial_opts *o) { o->window_m = 600.0; }

int cf_dial_window_gates(const cf_l0_config *c, const cf_dial_opts *o) {
  double spacing = c->gate_step * CF_SPEED_OF_LIGHT / (2.0 * c->sample_rate);
  int w = (int)lround(o->window_m / spacing);
  if (w < 3) w = 3;
  if (w % 2 == 0) w++;
  return w;
}

void cf_dial_process(const cf_l0_config *c, const cf_dial_opts *o, const cf_optics *op, const cf_dial_input *in,
                     uint16_t bad_mask, uint16_t *qc, double *work, cf_dial_output *out) {
  const int G = c->n_gates;
  double *x = work, *y = work + G, *w = work + 2 * G;
  double sel = sin(in->elevation_deg * CF_PI / 180.0);
  /* x_g: twice the differential cross-section integrated along the beam */
  double acc = 0, r_prev = 0;
  for (int g = 0; g < G; g++) {
    double r = cf_l0_gate_range(c, g);
    int steps = (int)ceil((r - r_prev) / 5.0);
    if (steps < 1) steps = 1;
    double dr = (r - r_prev) / steps;
    for (int k = 0; k < steps; k++) {
      double z = (r_prev + (k + 0.5) * dr) * sel;
      acc += (cf_optics_sigma(op, 0, z) - cf_optics_sigma(op, 1, z)) * dr;
    }
    x[g] = 2.0 * acc;
    r_prev = r;
    double pon = in->power[0][g], poff = in->power[1][g];
    int usable = !(qc[g] & bad_mask) && pon > 0 && poff > 0 && in->power_sigma[0][g] > 0 && in->power_sigma[1][g] > 0;
    if (usable) {
      y[g] = log((poff / in->energy[1]) / (pon / in->energy[0]));
      /* var ln(Poff/Pon) = r_on^2 + r_off^2 - 2 cov / (Pon Poff) */
      double ron = in->power_sigma[0][g] / pon, roff = in->power_sigma[1][g] / poff;
      double cov = in->power_cov && isfinite(in->power_cov[g]) ? in->power_cov[g] / (pon * poff) : 0.0;
      double var = ron * ron + roff * roff - 2.0 * cov;
      w[g] = var > 0 ? 1.0 / var : 0.0;
    } else {
      y[g] = NAN;
      w[g] = 0;
    }
  }
  int W = cf_dial_window_gates(c, o), h = W / 2;
  for (int g = 0; g < G; g++) {
    out->nd[g] = out->nd_sigma[g] = out->ppm[g] = out->ppm_sigma[g] = NAN;
    int complete = g - h >= 0 && g + h < G;
    for (int j = g - h; complete && j <= g + h; j++) complete = w[j] > 0;
    if (!complete) {
      qc[g] |= CF_QC_NO_CO2;
      continue;
    }
    double sw = 0, sx = 0, sy = 0;
    for (int j = g - h; j <= g + h; j++) sw += w[j], sx += w[j] * x[j], sy += w[j] * y[j];
    double xb = sx / sw, yb = sy / sw, sxx = 0, sxy = 0;
    for (int j = g - h; j <= g + h; j++) {
      sxx += w[j] * (x[j] - xb) * (x[j] - xb);
      sxy += w[j] * (x[j] - xb) * (y[j] - yb);
    }
    if (!(sxx > 0)) {
      qc[g] |= CF_QC_NO_CO2;
      continue;
    }
    out->nd[g] = sxy / sxx;
    out->nd_sigma[g] = sqrt(1.0 / sxx);
    double nd_air = cf_optics_ndry(op, cf_l0_gate_range(c, g) * sel);
    out->ppm[g] = 1e6 * out->nd[g] / nd_air;
    out->ppm_sigma[g] = 1e6 * out->nd_sigma[g] / nd_air;
  }
}
