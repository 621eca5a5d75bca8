/*
 * The lidar commands and shipped pipelines, as a user runs them:
 * simulate -> lidar-l2.yaml (L2 + quicklooks) checked with ncdump and
 * Debian's python3-xarray; every name of the L2 contract 1.1, with the
 * instrument position and scans checked against the L0 file read with
 * h5py; a bad L0 file; the WindCube pipeline on the real files in
 * ../shared/data/windcube.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbonflux/pipeline.h"
#include "cf_test.h"

typedef cf_test_dir fixture;
#define setup cf_test_dir_setup
#define teardown cf_test_dir_teardown

static int is_png(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  unsigned char h[8] = {0};
  size_t n = fread(h, 1, 8, fp);
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fclose(fp);
  static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return n == 8 && !memcmp(h, magic, 8) && size > 2000;
}

static void simulate_then_shipped_pipeline(void **state) {
  fixture *f = *state;
  char args[4096];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/site_l0.h5' scans=2 gates=20", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  /* the shipped pipeline, as installed, with --set for the paths */
  const char *yaml = cf_shipped_pipeline("lidar-l2.yaml");
  assert_non_null(yaml);
  cf_test_write_text(cf_test_path(f->dir, "lidar-l2.yaml"), yaml);
  /* a --set path is relative to the working directory (here: absolute);
   * the outputs the file names stay relative to the file */
  snprintf(args, sizeof args, "run '%s/lidar-l2.yaml' --set ingest.lidar_l0.path='%s/site_l0.h5'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  const char *l2 = cf_test_path(f->dir, "out/site_l0_l2.nc");
  /* ncdump -h reads it and sees the CF conventions and our variables */
  snprintf(args, sizeof args, "ncdump -h '%s' > '%s/ncdump.txt' 2>&1", l2, f->dir);
  assert_int_equal(system(args), 0);
  const char *nd = cf_test_path(f->dir, "ncdump.txt");
  assert_true(cf_test_file_contains(nd, ":Conventions = \"CF-1.8\""));
  assert_true(cf_test_file_contains(nd, "radial_velocity:standard_name = \"radial_velocity_of_scatterers_away_from_instrument\""));
  assert_true(cf_test_file_contains(nd, "co2_mole_fraction:standard_name = \"mole_fraction_of_carbon_dioxide_in_air\""));
  assert_true(cf_test_file_contains(nd, ":input_sha256 = "));
  assert_true(cf_test_file_contains(nd, "qc_flag:flag_meanings"));
  /* Debian's xarray opens it and decodes the CF time */
  snprintf(args, sizeof args,
           "/usr/bin/python3 -c \"import xarray as xr; d = xr.open_dataset('%s'); "
           "assert str(d.time.dtype).startswith('datetime64'); assert d.sizes['range'] == 20; "
           "assert d.wind_speed.dims == ('scan', 'height'); print(d.sizes['time'])\" > '%s/xr.txt' 2>&1",
           l2, f->dir);
  int rc = system(args);
  if (rc) {
    snprintf(args, sizeof args, "cat '%s/xr.txt' >&2", f->dir);
    system(args);
  }
  assert_int_equal(rc, 0);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "xr.txt"), "48")); /* 2 scans x 24 rays */
  assert_true(is_png(cf_test_path(f->dir, "out/site_l0_cnr.png")));
  assert_true(is_png(cf_test_path(f->dir, "out/site_l0_radial_velocity.png")));
  assert_true(is_png(cf_test_path(f->dir, "out/site_l0_co2.png")));
}

/* The L2 contract (../shared/spec/lidar-l2.md, 1.1), name by name, checked
 * by Debian's python3-netcdf4 (a reader that is not ours), with the values
 * the contract ties to the L0 file read independently with h5py: the site
 * position (copied doubles: exactly equal), scan_id per ray, the scan
 * coordinate (scans in the order of their first ray) and scan_time (the
 * mid-time between a scan's first and last ray, the same two doubles
 * averaged: exactly equal). */
static const char contract_py[] =
    "import sys, h5py, numpy as np, netCDF4\n"
    "l0, l2, wind = sys.argv[1], sys.argv[2], sys.argv[3] == '1'\n"
    "with h5py.File(l0, 'r') as f:\n"
    "    site = {k: float(f.attrs[k]) for k in ('site_latitude_deg', 'site_longitude_deg', 'site_altitude_m')}\n"
    "    sid = f['rays/scan_id'][:]\n"
    "    t = f['rays/time'][:]\n"
    "d = netCDF4.Dataset(l2)\n"
    "for dim in ('time', 'range', 'scan', 'height'):\n"
    "    assert dim in d.dimensions, dim\n"
    "gate = {'radial_velocity': 'm s-1', 'radial_velocity_uncertainty': 'm s-1', 'cnr_on': 'dB', 'cnr_off': 'dB',\n"
    "        'co2_number_density': 'm-3', 'co2_mole_fraction': '1e-6', 'co2_mole_fraction_uncertainty': '1e-6'}\n"
    "for k, u in gate.items():\n"
    "    v = d[k]; assert v.dimensions == ('time', 'range') and v.units == u and '_FillValue' in v.ncattrs(), k\n"
    "assert d['radial_velocity'].standard_name == 'radial_velocity_of_scatterers_away_from_instrument'\n"
    "assert d['co2_mole_fraction'].standard_name == 'mole_fraction_of_carbon_dioxide_in_air'\n"
    "q = d['qc_flag']; assert q.dimensions == ('time', 'range')\n"
    "assert len(q.flag_masks) == len(q.flag_meanings.split()) > 0\n"
    "assert d['time'].units == 'seconds since 1970-01-01 00:00:00 UTC' and d['time'].dimensions == ('time',)\n"
    "for k in ('azimuth', 'elevation'):\n"
    "    assert d[k].units == 'degree' and d[k].dimensions == ('time',), k\n"
    "pos = {'latitude': ('degree_north', 'site_latitude_deg'), 'longitude': ('degree_east', 'site_longitude_deg'),\n"
    "       'altitude': ('m', 'site_altitude_m')}\n"
    "for k, (u, a) in pos.items():\n"
    "    v = d[k]; assert v.dimensions == () and v.units == u and v.standard_name == k, k\n"
    "    assert float(v[...]) == site[a], (k, float(v[...]), site[a])\n"
    "assert 'mean sea level' in d['altitude'].long_name\n"
    "s = d['scan_id']; assert s.dimensions == ('time',) and s.dtype == np.int32\n"
    "assert (s[:] == sid).all()\n"
    "first = [i for i in range(len(sid)) if i == 0 or sid[i] != sid[i - 1]]\n"
    "last = [i - 1 for i in first[1:]] + [len(sid) - 1]\n"
    "assert d.dimensions['scan'].size == len(first) > 1\n"
    "assert list(d['scan'][:]) == [sid[i] for i in first]\n"
    "assert list(d['scan_time'][:]) == [0.5 * (t[a] + t[b]) for a, b in zip(first, last)]\n"
    "wv = {'eastward_wind': 'm s-1', 'northward_wind': 'm s-1', 'upward_air_velocity': 'm s-1', 'wind_speed': 'm s-1',\n"
    "      'wind_from_direction': 'degree', 'wind_fit_rmse': 'm s-1', 'wind_valid_beams': '1'}\n"
    "for k, u in wv.items():\n"
    "    assert d[k].dimensions == ('scan', 'height') and d[k].units == u, k\n"
    "wf = d['wind_flag']; assert wf.dimensions == ('scan', 'height')\n"
    "names = wf.flag_meanings.split()\n"
    "assert list(wf.flag_masks) == [1 << k for k in range(len(names))]\n"
    "assert names[:3] == ['few_beams', 'ill_conditioned', 'svd_failed'] and 'w_fixed' in names\n"
    "if wind:\n"
    "    assert d['wind_speed'][:].count() > 0  # a VAD at 75 deg: valid winds\n"
    "else:\n"
    "    assert d['wind_speed'][:].count() == 0  # no fit: every value is the fill\n"
    "for a in ('Conventions', 'title', 'institution', 'source', 'history', 'carbonflux_version', 'input_sha256',\n"
    "          'processing_parameters'):\n"
    "    assert a in d.ncattrs(), a\n"
    "assert d.Conventions == 'CF-1.8'\n"
    "print('contract ok', len(first), 'scans')\n";

static void l2_carries_the_contract(void **state) {
  fixture *f = *state;
  char args[4096];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/c_l0.h5' scans=3 rays_per_scan=8 gates=12", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  cf_test_write_text(cf_test_path(f->dir, "contract.py"), contract_py);
  /* with winds, and with the wind fit off: the scans are listed either way */
  for (int wind = 1; wind >= 0; wind--) {
    snprintf(args, sizeof args, "-q lidar process '%s/c_l0.h5' -o '%s/c_l2_%d.nc' wind=%d", f->dir, f->dir, wind,
             wind);
    assert_int_equal(cf_test_cli(args, f->log), 0);
    snprintf(args, sizeof args, "/usr/bin/python3 '%s/contract.py' '%s/c_l0.h5' '%s/c_l2_%d.nc' %d > '%s/py.txt' 2>&1",
             f->dir, f->dir, f->dir, wind, wind, f->dir);
    int rc = system(args);
    if (rc) {
      snprintf(args, sizeof args, "cat '%s/py.txt' >&2", f->dir);
      system(args);
    }
    assert_int_equal(rc, 0);
    assert_true(cf_test_file_contains(cf_test_path(f->dir, "py.txt"), "contract ok 3 scans"));
  }
}

/* The names `lidar process` took before each setting was declared once
 * still work, with a warning, and set the same field. */
static void renamed_settings_still_work(void **state) {
  fixture *f = *state;
  char args[4096];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/r_l0.h5' scans=1 rays_per_scan=6 gates=12", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  snprintf(args, sizeof args, "lidar process '%s/r_l0.h5' -o '%s/r_l2.nc' dial_window=840 wind_min_beams=5", f->dir,
           f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  assert_true(cf_test_file_contains(f->log, "setting 'dial_window' is now called 'window'"));
  snprintf(args, sizeof args, "ncdump -h '%s/r_l2.nc' > '%s/h.txt'", f->dir, f->dir);
  assert_int_equal(system(args), 0);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "h.txt"), "\\\"window\\\":840"));
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "h.txt"), "\\\"min_beams\\\":5"));
}

static void bad_l0_is_rejected_without_output(void **state) {
  fixture *f = *state;
  cf_test_write_text(cf_test_path(f->dir, "bad.h5"), "not hdf5");
  char args[2048];
  snprintf(args, sizeof args, "lidar process '%s/bad.h5' -o '%s/out/bad_l2.nc'", f->dir, f->dir);
  /* its only input rejected: exit 4 (README, Exit codes) */
  assert_int_equal(cf_test_cli(args, f->log), 4);
  assert_true(cf_test_file_contains(f->log, "bad.h5: not an HDF5 file"));
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), "nc"), 0);
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".part-"), 0);
  /* a bad setting is a usage error */
  snprintf(args, sizeof args, "lidar process '%s/bad.h5' -o x.nc cnr_min=abc", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 1);
  assert_true(cf_test_file_contains(f->log, "cnr_min: 'abc' is not a number"));
}

/* The README's WindCube command, word for word, from the repository root:
 * a --set path is relative to where the command is typed, not to the
 * pipeline file. (The output is redirected to the test folder.) */
static void readme_windcube_command_works_from_the_repository_root(void **state) {
  fixture *f = *state;
  char args[4096];
  snprintf(args, sizeof args,
           "cd '%s' && '%s' -q run pipelines/windcube.yaml --set ingest.windcube.path='../shared/data/windcube/*.nc' "
           "--set write.wind_csv.path='%s/readme_wind.csv' > '%s' 2>&1",
           CF_SOURCE_DIR, CF_CLI, f->dir, f->log);
  int rc = system(args);
  if (rc) {
    snprintf(args, sizeof args, "cat '%s' >&2", f->log);
    system(args);
  }
  assert_int_equal(rc, 0);
  /* the README's table: 6 beams and 7.29 m/s from 13.1 deg at 301.4 m */
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "readme_wind.csv"), "301.369,"));
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "readme_wind.csv"), ",7.2918,13.145,"));
}

static void windcube_pipeline_on_real_files(void **state) {
  fixture *f = *state;
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "pipeline:\n"
           "  - type: ingest.windcube\n"
           "    path: '%s/windcube/*.nc'\n"
           "  - type: write.wind_csv\n"
           "    path: wind.csv\n",
           CF_SHARED_DATA);
  cf_test_write_text(cf_test_path(f->dir, "p.yaml"), yaml);
  assert_int_equal(cf_test_cli(CF_CLI_QUIET_RUN(f->dir), f->log), 0);
  FILE *in = fopen(cf_test_path(f->dir, "wind.csv"), "r");
  assert_non_null(in);
  char line[1024];
  int rows = 0, valid = 0;
  double h0 = NAN;
  while (fgets(line, sizeof line, in)) {
    if (line[0] == '#' || !strncmp(line, "height_m", 8)) continue;
    double h, u;
    int k = sscanf(line, "%lf,%lf", &h, &u);
    if (rows == 0) h0 = h;
    rows++;
    valid += k == 2;
  }
  fclose(in);
  /* 137 gates of the 75 degree rays (ncdump); the first at 104 m range,
   * so at 104 sin(75 deg) = 100.456 m */
  assert_int_equal(rows, 137);
  assert_close(h0, 104.0 * sin(75.0 * 3.14159265358979323846 / 180.0), 0, 1e-3);
  assert_true(valid >= 40);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(simulate_then_shipped_pipeline, setup, teardown),
      cmocka_unit_test_setup_teardown(l2_carries_the_contract, setup, teardown),
      cmocka_unit_test_setup_teardown(renamed_settings_still_work, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_l0_is_rejected_without_output, setup, teardown),
      cmocka_unit_test_setup_teardown(windcube_pipeline_on_real_files, setup, teardown),
      cmocka_unit_test_setup_teardown(readme_windcube_command_works_from_the_repository_root, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
