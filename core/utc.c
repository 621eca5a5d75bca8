/* Civil UTC dates to POSIX seconds; see utc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/utc.h"

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days from 1970-01-01 to y-m-d by counting whole years: simple enough to
 * be obviously right, and the years are bounded by the caller's range. */
static long days_since_1970(int y, int m, int d) {
  static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  long days = 0;
  for (int k = 1970; k < y; k++) days += 365 + is_leap(k);
  for (int k = y; k < 1970; k++) days -= 365 + is_leap(k);
  return days + before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
}

int cf_utc_to_epoch(int y, int mo, int d, int h, int mi, double sec, int y_min, int y_max, double *epoch) {
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < y_min || y > y_max || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && !is_leap(y)) || h < 0 || h > 23 || mi < 0 || mi > 59 || !(sec >= 0 && sec < 61))
    return -1;
  *epoch = (double)days_since_1970(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
  return 0;
}

void cf_utc_product_time(char *out, unsigned long cap) {
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  char *end = NULL;
  long long v = sde && *sde ? strtoll(sde, &end, 10) : -1;
  time_t t = end && !*end && v >= 0 ? (time_t)v : time(NULL);
  struct tm tm;
  snprintf(out, cap, "1970-01-01T00:00:00Z");
  if (gmtime_r(&t, &tm)) strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
