/*
 * Optics along height: dry-air number density and the on/off-line CO2
 * cross-sections, tabulated every `dz` metres from the surface meteorology
 * (lidar/atmosphere.h, the L0 spec's profile) and the line list
 * (lidar/spectroscopy.h).
 *
 * Both the simulator (to attenuate its beams) and the DIAL retrieval (to
 * turn differential optical depth into number density) need sigma at every
 * height a beam crosses. Cross-sections depend on height only, through p
 * and T, so one sum over the lines per table entry replaces one per sample
 * or gate; with dz = 5 m, linear interpolation changes sigma by under 1e-6
 * relative (p's scale height is 8 km, and T changes by 0.03 K per 5 m).
 */
#ifndef CF_LIDAR_OPTICS_H
#define CF_LIDAR_OPTICS_H

#include "lidar/atmosphere.h"
#include "lidar/co2_lines.h"

typedef struct {
  double dz;
  int nz;
  double *p, *t, *ndry, *sigma[2]; /* Pa, K, m-3, m^2 per molecule (on, off) */
} cf_optics;

/* Tabulate from the surface up to zmax. `co2_ppm` only sets the CO2
 * self-broadening (its effect is ~1e-5 relative, so a nominal value is
 * fine); nu_on/nu_off in cm-1. `where` names the source in messages. */
int cf_optics_build(cf_ctx *ctx, const cf_co2_linelist *lines, const cf_surface_met *met, double nu_on,
                    double nu_off, double co2_ppm, double zmax, double dz, const char *where, cf_optics *op);
void cf_optics_free(cf_optics *op);
double cf_optics_ndry(const cf_optics *op, double z);
double cf_optics_sigma(const cf_optics *op, int which, double z);

#endif
