/*
 * Civil UTC dates to seconds since 1970-01-01T00:00:00Z.
 *
 * Readers of other programs' files (WindCube, L2 files from netCDF4-python
 * or xarray) meet dates as text; the arithmetic lives here once. Proleptic
 * Gregorian calendar, no leap seconds (as POSIX time and CF's "gregorian").
 */
#ifndef CF_CORE_UTC_H
#define CF_CORE_UTC_H

/* y-mo-d h:mi:sec UTC to seconds since 1970; -1 if a field is out of its
 * range (the year in [y_min, y_max], seconds in [0, 61)), else 0. */
int cf_utc_to_epoch(int y, int mo, int d, int h, int mi, double sec, int y_min, int y_max, double *epoch);

/* The time a product records as written ("YYYY-MM-DDTHH:MM:SSZ" into
 * `out`, at least 21 bytes): now, or SOURCE_DATE_EPOCH when that is set to
 * seconds since 1970 (reproducible-builds.org's convention), so that a
 * rerun, another rank count or a crash test can compare NetCDF outputs
 * byte for byte (netCDF-C does not record HDF5 object times). */
void cf_utc_product_time(char *out, unsigned long cap);

#endif
