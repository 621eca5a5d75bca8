/*
 * The Faddeeva function w(z) and the normalised Voigt line profile.
 *
 * A spectral line in the lower atmosphere is neither Doppler (Gaussian) nor
 * pressure (Lorentzian) shaped but their convolution, the Voigt profile. With
 * alpha_D the Doppler and gamma_L the Lorentz half-width at half-maximum
 * (HWHM) and
 *
 *   x = sqrt(ln 2) (nu - nu0) / alpha_D,   y = sqrt(ln 2) gamma_L / alpha_D,
 *
 * the profile normalised to unit area over nu is
 *
 *   V(nu) = sqrt(ln 2 / pi) / alpha_D * Re w(x + i y),
 *
 * where w(z) = exp(-z^2) erfc(-i z) is the Faddeeva function (Abramowitz &
 * Stegun 7.1.3; its real part is the Voigt function K(x, y)). V is in 1/cm-1
 * when widths and offsets are in cm-1, so that S (cm/molecule) * V is a
 * cross-section in cm^2/molecule.
 *
 * These are pure functions of their arguments: thread-safe, no context, and
 * NaN for arguments outside their domain (the callers validate user input
 * with a context before they get here). voigt.c says how w is computed and
 * how accurate it is.
 */
#ifndef CF_LIDAR_VOIGT_H
#define CF_LIDAR_VOIGT_H

/* w(x + i y) for y >= 0, returned as its real and imaginary parts.
 * y < 0 or a NaN argument gives NaN in both. Thread-safe. */
void cf_faddeeva_w(double x, double y, double *re, double *im);

/* The Voigt function K(x, y) = Re w(x + i y), y >= 0. Thread-safe. */
double cf_voigt_k(double x, double y);

/* The Voigt profile in 1/cm-1 at an offset dnu = nu - nu0 (cm-1) from the
 * line centre, for a Doppler HWHM alpha_d and a Lorentz HWHM gamma_l (both
 * cm-1, >= 0, not both 0). alpha_d = 0 gives the Lorentzian exactly and
 * gamma_l = 0 the Gaussian exactly. Invalid arguments give NaN.
 * Thread-safe. */
double cf_voigt_profile(double dnu, double alpha_d, double gamma_l);

#endif
