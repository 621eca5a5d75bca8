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

static int file_exists(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (fp) fclose(fp);
  return fp != NULL;
}

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

/* A complete PNG: the signature, and the IEND chunk last (a full disk
 * leaves a truncated one behind a successful PLplot call). */
static int png_complete(const char *path) {
  static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  unsigned char tail[12];
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  int ok = is_png(path) && fseek(fp, -12L, SEEK_END) == 0 && fread(tail, 1, 12, fp) == 12 && !memcmp(tail, iend, 12);
  fclose(fp);
  return ok;
}

/* The L2's CF structure and the quicklooks' pixels, checked with Debian's
 * python3-netcdf4 and a PNG decoder of the standard library (zlib; no
 * PIL on the build hosts): the history starts with an ISO-8601 UTC time
 * and names the input file, per-gate variables name their auxiliary
 * coordinates, every flag variable has flag_masks and flag_meanings; a
 * masked radial-velocity gate is drawn in the mask grey, not in the
 * white of 0 m/s, and a valid one is not grey. The pixel of gate (i, j)
 * follows from the plot's viewport (quicklook.c: x 0.09-0.83, y 0.12-0.88
 * of 1000 x 600) and plimagefr's nx x ny cells spanning it. */
static const char ql_py[] =
    "import sys, re, zlib, struct, netCDF4, numpy as np\n"
    "l2, png, inp = sys.argv[1], sys.argv[2], sys.argv[3]\n"
    "d = netCDF4.Dataset(l2)\n"
    "assert re.match(r'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ carbonflux ', d.history), d.history\n"
    "assert d.history.endswith(', input %s)' % inp), d.history\n"
    "for k in ('radial_velocity', 'radial_velocity_uncertainty', 'cnr_on', 'cnr_off', 'co2_number_density', 'co2_number_density_uncertainty',\n"
    "          'co2_mole_fraction', 'co2_mole_fraction_uncertainty', 'qc_flag'):\n"
    "    assert d[k].coordinates.split() == ['azimuth', 'elevation'], k\n"
    "for k in ('time', 'range', 'scan', 'height'):\n"
    "    assert d[k].dimensions == (k,), k\n"
    "flags = [k for k in d.variables if 'flag' in k]\n"
    "assert sorted(flags) == ['qc_flag', 'wind_flag'], flags\n"
    "for k in flags:\n"
    "    v = d[k]; assert len(v.flag_masks) == len(v.flag_meanings.split()) > 0, k\n"
    "    assert all(int(m) > 0 and int(m) & (int(m) - 1) == 0 for m in v.flag_masks), k\n"
    "vr = d['radial_velocity'][:]; mask = np.ma.getmaskarray(vr)\n"
    "nx, ny = mask.shape\n"
    "raw = open(png, 'rb').read(); pos = 8; idat = b''\n"
    "while pos < len(raw):\n"
    "    n, typ = struct.unpack('>I4s', raw[pos:pos + 8]); body = raw[pos + 8:pos + 8 + n]; pos += 12 + n\n"
    "    if typ == b'IHDR': W, H, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)\n"
    "    elif typ == b'IDAT': idat += body\n"
    "assert depth == 8 and ctype in (2, 6) and inter == 0, (depth, ctype, inter)\n"
    "bpp = 4 if ctype == 6 else 3; stride = W * bpp; data = zlib.decompress(idat); rows = []; prev = bytearray(stride)\n"
    "for y in range(H):\n"
    "    f = data[y * (stride + 1)]; line = bytearray(data[y * (stride + 1) + 1:(y + 1) * (stride + 1)])\n"
    "    for x in range(stride):\n"
    "        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0\n"
    "        if f == 1: line[x] = (line[x] + a) & 255\n"
    "        elif f == 2: line[x] = (line[x] + b) & 255\n"
    "        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255\n"
    "        elif f == 4:\n"
    "            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)\n"
    "            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255\n"
    "    rows.append(line); prev = line\n"
    "def pixel(i, j):\n"
    "    x = int(W * (0.09 + 0.74 * (i + 0.5) / nx)); y = int(H * (1 - (0.12 + 0.76 * (j + 0.5) / ny)))\n"
    "    return tuple(rows[y][x * bpp:x * bpp + 3])\n"
    "def inner(m):\n"
    "    return [(i, j) for i in range(1, nx - 1) for j in range(1, ny - 1)\n"
    "            if m[i - 1:i + 2, j - 1:j + 2].all()]\n"
    "grey, white = (190, 190, 190), (247, 247, 247)\n"
    "masked = inner(mask); valid = inner(~mask)\n"
    "assert masked and valid, (len(masked), len(valid))\n"
    "for i, j in masked[:5]:\n"
    "    assert pixel(i, j) == grey and pixel(i, j) != white, (i, j, pixel(i, j))\n"
    "for i, j in valid[:20]:\n"
    "    assert pixel(i, j) != grey, (i, j, pixel(i, j))\n"
    "print('quicklook ok', len(masked), 'masked', len(valid), 'valid')\n";

/* Runs shell command `cmd` with its output in <dir>/<out>: exit 0 and the
 * output contains `expect`, or the output is shown and the test fails. */
static void run_expect(fixture *f, const char *cmd, const char *out, const char *expect) {
  char args[8192];
  snprintf(args, sizeof args, "%s > '%s/%s' 2>&1", cmd, f->dir, out);
  int rc = system(args);
  if (rc) {
    snprintf(args, sizeof args, "cat '%s/%s' >&2", f->dir, out);
    system(args);
  }
  assert_int_equal(rc, 0);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, out), expect));
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
  assert_true(cf_test_file_contains(nd, "qc_flag:flag_meanings"));
  /* input_sha256 is coreutils' sha256sum of the L0 file, both as the
   * pipeline hands it over (noted when reading) and as `lidar process`
   * hashes it in the writer's own thread while the rays are processed */
  snprintf(args, sizeof args, "sha256sum '%s/site_l0.h5' | cut -c1-64 > '%s/sha.txt'", f->dir, f->dir);
  assert_int_equal(system(args), 0);
  char want[128] = ":input_sha256 = \"";
  FILE *sf = fopen(cf_test_path(f->dir, "sha.txt"), "r");
  assert_non_null(sf);
  assert_non_null(fgets(want + strlen(want), 65, sf));
  fclose(sf);
  strcat(want, "\"");
  assert_int_equal(strlen(want), strlen(":input_sha256 = \"\"") + 64);
  assert_true(cf_test_file_contains(nd, want));
  snprintf(args, sizeof args, "-q lidar process '%s/site_l0.h5' -o '%s/direct_l2.nc'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  snprintf(args, sizeof args, "ncdump -h '%s/direct_l2.nc' > '%s/ncdump2.txt' 2>&1", f->dir, f->dir);
  assert_int_equal(system(args), 0);
  assert_true(cf_test_file_contains(cf_test_path(f->dir, "ncdump2.txt"), want));
  /* Debian's xarray opens it and decodes the CF time */
  snprintf(args, sizeof args,
           "/usr/bin/python3 -c \"import xarray as xr; d = xr.open_dataset('%s'); "
           "assert str(d.time.dtype).startswith('datetime64'); assert d.sizes['range'] == 20; "
           "assert d.wind_speed.dims == ('scan', 'height'); print(d.sizes['time'])\"",
           l2);
  run_expect(f, args, "xr.txt", "48"); /* 2 scans x 24 rays */
  /* four quicklooks, complete (two scans of a VAD: one image each, against time) */
  const char *kinds[4] = {"cnr", "cnr_on", "radial_velocity", "co2"};
  for (int k = 0; k < 4; k++) {
    char name[128];
    snprintf(name, sizeof name, "out/site_l0_%s.png", kinds[k]);
    assert_true(png_complete(cf_test_path(f->dir, name)));
    snprintf(name, sizeof name, "out/site_l0_%s_sweep1.png", kinds[k]);
    assert_false(file_exists(cf_test_path(f->dir, name)));
  }
  cf_test_write_text(cf_test_path(f->dir, "ql.py"), ql_py);
  snprintf(args, sizeof args, "/usr/bin/python3 '%s/ql.py' '%s/out/site_l0_l2.nc' '%s/out/site_l0_radial_velocity.png' site_l0.h5",
           f->dir, f->dir, f->dir);
  run_expect(f, args, "ql.txt", "quicklook ok");
}

/* A PPI file of three sweeps: one image per sweep and plot, in true
 * azimuth, and the plain name (the last sweep) as before. */
static void ppi_sweeps_one_image_each(void **state) {
  fixture *f = *state;
  char args[4096];
  snprintf(args, sizeof args, "-q simulate lidar -o '%s/ppi.h5' scan=ppi scans=3 gates=20", f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  cf_test_write_text(cf_test_path(f->dir, "lidar-l2.yaml"), cf_shipped_pipeline("lidar-l2.yaml"));
  snprintf(args, sizeof args, "-q run '%s/lidar-l2.yaml' --set ingest.lidar_l0.path='%s/ppi.h5'", f->dir, f->dir);
  assert_int_equal(cf_test_cli(args, f->log), 0);
  const char *kinds[4] = {"cnr", "cnr_on", "radial_velocity", "co2"};
  for (int k = 0; k < 4; k++) {
    char name[128];
    snprintf(name, sizeof name, "out/ppi_%s.png", kinds[k]);
    assert_true(png_complete(cf_test_path(f->dir, name)));
    for (int s = 1; s <= 4; s++) {
      snprintf(name, sizeof name, "out/ppi_%s_sweep%d.png", kinds[k], s);
      if (s <= 3)
        assert_true(png_complete(cf_test_path(f->dir, name)));
      else
        assert_false(file_exists(cf_test_path(f->dir, name)));
    }
  }
  assert_int_equal(cf_test_count_entries(cf_test_path(f->dir, "out"), ".png"), 16);
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
    snprintf(args, sizeof args, "/usr/bin/python3 '%s/contract.py' '%s/c_l0.h5' '%s/c_l2_%d.nc' %d", f->dir, f->dir,
             f->dir, wind, wind);
    run_expect(f, args, "py.txt", "contract ok 3 scans");
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
      cmocka_unit_test_setup_teardown(ppi_sweeps_one_image_each, setup, teardown),
      cmocka_unit_test_setup_teardown(l2_carries_the_contract, setup, teardown),
      cmocka_unit_test_setup_teardown(renamed_settings_still_work, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_l0_is_rejected_without_output, setup, teardown),
      cmocka_unit_test_setup_teardown(windcube_pipeline_on_real_files, setup, teardown),
      cmocka_unit_test_setup_teardown(readme_windcube_command_works_from_the_repository_root, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
