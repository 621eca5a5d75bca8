/*
 * The forest inventory readers (sink/inventory.h): trees, plots and strata
 * as ../shared/spec/forest-io.md defines them.
 *
 * Expected values are
 *  - for the small tables written here, the numbers in the tables and the
 *    per-plot totals worked out by hand in the comments (stem kg x 1/area /
 *    1000; every area a closed form), checked to 1e-12 relative: the code
 *    does the same few operations, so only rounding (~1e-16) may differ;
 *  - for the real TEMPEST inventory (written by R, not by us), stem counts
 *    per plot, year and status computed by Python's csv module from the
 *    same file (exact integers);
 *  - for the Kootenay cut blocks, areas computed by /usr/bin/python3 with
 *    OGR in a different way: each block projected to a Lambert azimuthal
 *    equal-area projection on the WGS84 ellipsoid centred on the block (an
 *    equal-area projection keeps ellipsoidal area exactly), and its planar
 *    area taken there. The two differ only by the edge shapes (geodesics vs
 *    straight lines in LAEA) and the projection's numerics, both below
 *    1e-9 relative for edges of tens of metres; the tolerance is 1e-7.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_test.h"
#include "sink/inventory.h"

#define PI 3.14159265358979323846
#define TEMPEST CF_SHARED_DATA "/tempest_tree_inventory.csv"
#define BLOCKS CF_SHARED_DATA "/kootenay/kootenayBlocks.shp"

static void opts(cf_ctx *ctx, cf_inv_options *o, int n, const char *const *kv) {
  cf_inv_options_init(o);
  assert_int_equal(cf_inv_options_parse(ctx, o, n, kv), CF_OK);
}

/* The error chain holds every needle. */
static void expect_msg(cf_ctx *ctx, const char *const *needles) {
  const char *m = cf_error_message(ctx);
  for (int i = 0; needles[i]; i++) {
    if (!strstr(m, needles[i])) fail_msg("message '%s' lacks '%s'", m, needles[i]);
  }
  cf_error_clear(ctx);
}
#define EXPECT_MSG(ctx, ...) expect_msg((ctx), (const char *const[]){__VA_ARGS__, NULL})

/* --- options ------------------------------------------------------------- */

static void options_parse_and_errors(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  cf_inv_options o;
  const char *kv[] = {"col.dbh_cm=DBH_{year}", "COL.Status=Status_{year}", "years=2019, 2022",
                      "live_codes=LI,V", "dead_codes=M", "stratum_field=BlockID"};
  opts(ctx, &o, 6, kv);
  assert_string_equal(o.header[CF_INV_DBH_CM], "DBH_{year}");
  assert_string_equal(o.header[CF_INV_STATUS], "Status_{year}");
  assert_int_equal(o.nyears, 2);
  assert_int_equal(o.years[0], 2019);
  assert_int_equal(o.years[1], 2022);
  assert_int_equal(o.nlive, 2);
  assert_string_equal(o.live_codes[1], "V");
  assert_int_equal(o.ndead, 1); /* dead_codes= replaces the default DS,DC,DN */
  assert_string_equal(o.stratum_field, "BlockID");
  assert_true(cf_inv_option_known("col.plot"));
  assert_true(cf_inv_option_known("years"));
  assert_false(cf_inv_option_known("allometry")); /* another module's setting */
  assert_false(cf_inv_option_known("col.colour"));

  assert_int_equal(cf_inv_options_set(ctx, &o, "col.diameter=D"), CF_EINVAL);
  EXPECT_MSG(ctx, "col.diameter", "not an inventory field");
  assert_int_equal(cf_inv_options_set(ctx, &o, "years=2019,twenty"), CF_EINVAL);
  EXPECT_MSG(ctx, "years", "'twenty' is not a year");
  assert_int_equal(cf_inv_options_set(ctx, &o, "years=2019,2019"), CF_EINVAL);
  EXPECT_MSG(ctx, "years", "twice");
  assert_int_equal(cf_inv_options_set(ctx, &o, "live_codes="), CF_EINVAL);
  EXPECT_MSG(ctx, "live_codes", "empty value");
  assert_int_equal(cf_inv_options_set(ctx, &o, "live_codes=LI,,V"), CF_EINVAL);
  EXPECT_MSG(ctx, "live_codes", "empty code");
  assert_int_equal(cf_inv_options_set(ctx, &o, "colour=red"), CF_EINVAL);
  EXPECT_MSG(ctx, "colour", "unknown inventory setting");
  assert_int_equal(cf_inv_options_set(ctx, &o, "col.plot=P_{year}"), CF_EINVAL);
  EXPECT_MSG(ctx, "col.plot", "{year}");
  assert_int_equal(cf_inv_options_set(ctx, &o, "novalue"), CF_EINVAL);
  EXPECT_MSG(ctx, "KEY=VALUE");
  cf_inv_options_free(&o);
  cf_ctx_destroy(ctx);
}

/* --- every column, nests, slopes, mapping, totals by hand -------------------- */

/* Strata A and B; A carries every override column. */
static const char *STRATA_CSV =
    "stratum,area_ha,soc_ref_t_c_per_ha,f_lu,f_mg,f_in,years_since_planting,ecozone\n"
    "A,60,50,1,1.1,0.95,12,\"tropical moist forest, lowland\"\n"
    "B,40,,,,,,\n";

/* P1: 0.1 ha with a 0.01 ha "small" nest; P2: r 20 m on a 25 degree slope
 * (pi 400 cos 25 / 1e4 = 0.11389 ha); P3: no area of its own, nests small
 * 0.005 ha and large r 10 m flat (pi 100 / 1e4 = 0.0314159 ha), so the plot
 * area is its largest nest; P4: no trees, biomass measured otherwise. */
static const char *PLOTS_CSV =
    "Plot,stratum,area_ha,radius_m,slope_deg,area_ha.small,radius_m.large,agb_t_dm_per_ha,year,lon,lat\n"
    "P1,A,0.1,,,0.01,,,2022,10.5,-1.25\n"
    "P2,A,,20,25,,,,2022,,\n"
    "P3,B,,,,0.005,10,,2022,,\n"
    "P4,B,0.05,,,,,87.5,2022,,\n";

/* DBH under another name (col.dbh_cm=DBH), status under another name with
 * two extra codes (live_codes=V, dead_codes=M; case ignored). */
static const char *TREES_CSV =
    "PLOT,DBH,species,height_m,cond,wood_density_g_cm3,nest,year\n"
    "P1,30,Tectona grandis,20,live,0.55,,2022\n"
    "P1,12,,,,,small,2022\n"
    "P1,25,\"Swietenia, big-leaf\",18,dead,,,2022\n"
    "P2,40,,,live,,,2022\n"
    "P2,45.5,,,v,,,2022\n"
    "P3,8,,,,,small,2022\n"
    "P3,35,,,LIVE,,large,2022\n"
    "P3,28,,,m,,large,2022\n";

static void every_column_and_totals(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *sp = cf_test_path(dir, "strata.csv"), *pp = cf_test_path(dir, "plots.csv"),
             *tp = cf_test_path(dir, "trees.csv");
  cf_test_write_text(sp, STRATA_CSV);
  cf_test_write_text(pp, PLOTS_CSV);
  cf_test_write_text(tp, TREES_CSV);
  cf_inv_options o;
  const char *kv[] = {"col.dbh_cm=DBH", "col.status=cond", "live_codes=V", "dead_codes=M"};
  opts(ctx, &o, 4, kv);

  cf_strata st;
  assert_int_equal(cf_strata_read(ctx, sp, &o, &st), CF_OK);
  assert_int_equal(st.n, 2);
  assert_string_equal(st.s[0].stratum, "A");
  assert_close(st.s[0].area_ha, 60.0, 0, 0);
  assert_close(st.s[0].soc_ref_t_c_per_ha, 50.0, 0, 0);
  assert_close(st.s[0].f_lu, 1.0, 0, 0);
  assert_close(st.s[0].f_mg, 1.1, 0, 0);
  assert_close(st.s[0].f_in, 0.95, 0, 0);
  assert_close(st.s[0].years_since_planting, 12.0, 0, 0);
  assert_string_equal(st.s[0].ecozone, "tropical moist forest, lowland");
  assert_true(isnan(st.s[1].soc_ref_t_c_per_ha) && isnan(st.s[1].f_lu) && st.s[1].ecozone == NULL);
  assert_null(st.wkt);
  assert_int_equal(strlen(st.sha256), 64);

  cf_plots pl;
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(pl.n, 4);
  assert_int_equal(pl.nnest, 2);
  int small = cf_plots_nest_index(&pl, "SMALL"), large = cf_plots_nest_index(&pl, "large");
  assert_true(small >= 0 && large >= 0);
  const double a2 = PI * 400.0 * cos(25.0 * PI / 180.0) / 1e4, a_large = PI * 100.0 / 1e4;
  assert_close(pl.p[0].area_ha, 0.1, 0, 0);
  assert_close(pl.p[0].nest_area_ha[small], 0.01, 0, 0);
  assert_true(isnan(pl.p[0].nest_area_ha[large]));
  assert_close(pl.p[0].lon, 10.5, 0, 0);
  assert_close(pl.p[0].lat, -1.25, 0, 0);
  assert_int_equal(pl.p[0].year, 2022);
  assert_close(pl.p[1].area_ha, a2, 1e-12, 0);
  assert_close(pl.p[1].area_ha, 0.113890, 0, 5e-7); /* the Winrock example's 0.11 ha */
  assert_close(pl.p[2].nest_area_ha[large], a_large, 1e-12, 0);
  assert_close(pl.p[2].area_ha, a_large, 1e-12, 0); /* largest nest */
  assert_close(pl.p[3].agb_t_dm_per_ha, 87.5, 0, 0);
  assert_true(isnan(pl.p[1].agb_t_dm_per_ha) && isnan(pl.p[1].lon));
  assert_string_equal(pl.p[2].stratum, "B");

  cf_trees tr;
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(tr.n, 8);
  assert_int_equal(tr.n_rows, 8);
  assert_int_equal(tr.n_skipped_blank_dbh, 0);
  assert_string_equal(tr.t[0].species, "Tectona grandis");
  assert_close(tr.t[0].height_m, 20.0, 0, 0);
  assert_close(tr.t[0].wood_density, 0.55, 0, 0);
  assert_null(tr.t[0].nest);
  assert_int_equal(tr.t[0].line, 2);
  assert_string_equal(tr.t[1].nest, "small");
  assert_null(tr.t[1].species);
  assert_true(isnan(tr.t[1].height_m) && isnan(tr.t[1].wood_density));
  assert_string_equal(tr.t[2].species, "Swietenia, big-leaf");
  assert_close(tr.t[4].dbh_cm, 45.5, 0, 0);
  const int live[8] = {1, 1, 0, 1, 1, 1, 1, 0}; /* live, blank, dead, live, v, blank, LIVE, m */
  for (int i = 0; i < 8; i++) {
    assert_int_equal(tr.t[i].live, live[i]);
    assert_int_equal(tr.t[i].year, 2022);
  }

  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, &st), CF_OK);
  assert_int_equal(tr.t[7].plot_row, 2);

  /* Stem biomass (kg), as an allometry would give it. By hand:
   *  P1: 500 kg / 0.1 ha + 20 kg / 0.01 ha (small nest) = 5 + 2 = 7 t/ha
   *      live; 300 kg / 0.1 ha = 3 t/ha dead.
   *  P2: (800 + 200) kg / 0.1138900 ha = 7.024322 + 1.756080 = 8.780402 t/ha.
   *  P3: 10 kg / 0.005 ha + 400 kg / 0.0314159 ha = 2 + 12.732395
   *      = 14.732395 t/ha live; 100 kg / 0.0314159 ha = 3.183099 t/ha dead.
   *  P4: no stems: its measured 87.5 t/ha. */
  const double kg[8] = {500, 20, 300, 800, 200, 10, 400, 100};
  cf_plot_total *tot = NULL;
  size_t nt = 0;
  assert_int_equal(cf_inventory_plot_totals(ctx, &pl, &tr, kg, &tot, &nt), CF_OK);
  assert_int_equal(nt, 4);
  const double live_t[4] = {7.0, 1.0 / a2, 2.0 + 0.4 / a_large, 87.5};
  const double dead_t[4] = {3.0, 0.0, 0.1 / a_large, 0.0};
  const int n_live[4] = {2, 2, 2, 0}, n_dead[4] = {1, 0, 1, 0};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(tot[i].plot_row, i);
    assert_int_equal(tot[i].year, 2022);
    assert_close(tot[i].live_t_dm_per_ha, live_t[i], 1e-12, 0);
    assert_close(tot[i].dead_t_dm_per_ha, dead_t[i], 1e-12, 0);
    assert_int_equal(tot[i].n_live, n_live[i]);
    assert_int_equal(tot[i].n_dead, n_dead[i]);
    assert_int_equal(tot[i].from_measured, i == 3);
  }
  assert_close(tot[1].live_t_dm_per_ha, 8.780402, 0, 5e-7);
  assert_close(tot[2].live_t_dm_per_ha, 14.732395, 0, 5e-7);
  free(tot);

  /* a negative stem biomass is refused, naming the stem's line */
  double bad[8];
  memcpy(bad, kg, sizeof bad);
  bad[5] = -1;
  assert_int_equal(cf_inventory_plot_totals(ctx, &pl, &tr, bad, &tot, &nt), CF_EINVAL);
  EXPECT_MSG(ctx, "trees.csv", "line 7");

  cf_trees_free(&tr);
  cf_plots_free(&pl);
  cf_strata_free(&st);
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* --- a wide table: one column group per year ----------------------------------- */

static const char *WIDE_CSV =
    "Plot,Section,Tag,DBH_2019,Status_2019,DBH_2022,Status_2022,In_Plot\n"
    "C,East,1,10,LI,11,LI,TRUE\n"
    "C,West,2,20,LI,,DS,TRUE\n" /* not measured in 2022: skipped */
    "C,East,3,30,LI,31,DC,FALSE\n";

static void wide_table(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *tp = cf_test_path(dir, "wide.csv"), *pp = cf_test_path(dir, "plots.csv");
  cf_test_write_text(tp, WIDE_CSV);
  cf_inv_options o;
  const char *kv[] = {"col.plot=Plot", "col.dbh_cm=DBH_{year}", "col.status=Status_{year}", "years=2019,2022",
                      "live_codes=LI"};
  opts(ctx, &o, 5, kv);
  cf_trees tr;
  /* plain: 3 rows x 2 years = 6 stem-years, one without a DBH */
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(tr.n, 5);
  assert_int_equal(tr.n_skipped_blank_dbh, 1);
  const int year[5] = {2019, 2022, 2019, 2019, 2022}, live[5] = {1, 1, 1, 1, 0};
  const double dbh[5] = {10, 11, 20, 30, 31};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(tr.t[i].year, year[i]);
    assert_int_equal(tr.t[i].live, live[i]);
    assert_close(tr.t[i].dbh_cm, dbh[i], 0, 0);
    assert_string_equal(tr.t[i].plot, "C");
  }
  cf_trees_free(&tr);

  /* sections as plots, and the trees out of the plot left out */
  assert_int_equal(cf_inv_options_set(ctx, &o, "col.subplot=Section"), CF_OK);
  assert_int_equal(cf_inv_options_set(ctx, &o, "col.in_plot=In_Plot"), CF_OK);
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(tr.n, 3);
  assert_int_equal(tr.n_skipped_out_of_plot, 1);
  assert_int_equal(tr.n_skipped_blank_dbh, 1);
  assert_string_equal(tr.t[0].plot, "C/East");
  assert_string_equal(tr.t[2].plot, "C/West");

  /* one plot row per section, without a year: it holds for both years.
   * 100 kg per stem on 0.1 ha = 1 t/ha per stem. */
  cf_test_write_text(pp, "plot,stratum,area_ha\nC/East,S,0.1\nC/West,S,0.1\n");
  cf_plots pl;
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, NULL), CF_OK);
  const double kg[3] = {100, 100, 100};
  cf_plot_total *tot;
  size_t nt;
  assert_int_equal(cf_inventory_plot_totals(ctx, &pl, &tr, kg, &tot, &nt), CF_OK);
  assert_int_equal(nt, 3); /* East 2019, East 2022, West 2019 */
  const long row[3] = {0, 0, 1};
  const int yr[3] = {2019, 2022, 2019};
  for (size_t i = 0; i < nt; i++) {
    assert_int_equal(tot[i].plot_row, row[i]);
    assert_int_equal(tot[i].year, yr[i]);
    assert_close(tot[i].live_t_dm_per_ha, 1.0, 1e-12, 0);
    assert_int_equal(tot[i].n_live, 1);
  }
  free(tot);
  cf_plots_free(&pl);
  cf_trees_free(&tr);

  /* {year} without years=, and a listed year without its column */
  cf_inv_options o2;
  const char *kv2[] = {"col.dbh_cm=DBH_{year}"};
  opts(ctx, &o2, 1, kv2);
  assert_int_equal(cf_trees_read(ctx, tp, &o2, &tr), CF_EINVAL);
  EXPECT_MSG(ctx, "years", "{year}");
  assert_int_equal(cf_inv_options_set(ctx, &o2, "years=2019,2020"), CF_OK);
  assert_int_equal(cf_trees_read(ctx, tp, &o2, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "wide.csv", "dbh_cm", "line 1", "DBH_2020");
  cf_inv_options_free(&o2);
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* --- a long table with a year column; plots with one row per year ----------- */

static void long_table_years(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *tp = cf_test_path(dir, "trees.csv"), *pp = cf_test_path(dir, "plots.csv");
  cf_test_write_text(tp, "plot,dbh_cm,year\nP1,10,2019\nP1,12,2022\nP1,13,2023\n");
  cf_test_write_text(pp, "plot,stratum,area_ha,year\nP1,A,0.1,2019\nP1,A,0.2,2022\n");
  cf_inv_options o;
  const char *kv[] = {"years=2019,2022"};
  opts(ctx, &o, 1, kv);
  cf_trees tr;
  cf_plots pl;
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(tr.n, 2); /* 2023 is not listed */
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, NULL), CF_OK);
  assert_int_equal(tr.t[0].plot_row, 0);
  assert_int_equal(tr.t[1].plot_row, 1);
  /* 100 kg on 0.1 ha in 2019 = 1 t/ha; on 0.2 ha in 2022 = 0.5 t/ha */
  const double kg[2] = {100, 100};
  cf_plot_total *tot;
  size_t nt;
  assert_int_equal(cf_inventory_plot_totals(ctx, &pl, &tr, kg, &tot, &nt), CF_OK);
  assert_int_equal(nt, 2);
  assert_int_equal(tot[0].year, 2019);
  assert_close(tot[0].live_t_dm_per_ha, 1.0, 1e-12, 0);
  assert_int_equal(tot[1].year, 2022);
  assert_close(tot[1].live_t_dm_per_ha, 0.5, 1e-12, 0);
  free(tot);
  cf_trees_free(&tr);
  /* every year read: the 2023 stem has no plot row of its year */
  cf_inv_options_free(&o);
  cf_inv_options_init(&o);
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, NULL), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "year", "line 4", "'P1'", "2023");
  cf_trees_free(&tr);
  cf_plots_free(&pl);
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* --- the real TEMPEST inventory -------------------------------------------- */

typedef struct {
  char mode[8], plot[32];
  int year, live, dead;
} count_row;

/* Python's csv module counts stems per plot, year and status, with the
 * same rules stated independently: a stem-year is a non-blank DBH_{year};
 * status blank or LI is live, anything else dead; "inplot" drops rows
 * whose In_Plot is FALSE. */
static int python_counts(const char *dir, count_row *rows, int max, long *blank) {
  const char *py = cf_test_path(dir, "count.py");
  cf_test_write_text(py,
                     "import csv, sys\n"
                     "rows = list(csv.DictReader(open(sys.argv[1], encoding='utf-8-sig', newline='')))\n"
                     "blank = 0\n"
                     "for mode in ('all', 'inplot'):\n"
                     "    c = {}\n"
                     "    for r in rows:\n"
                     "        if mode == 'inplot' and r['In_Plot'].strip().upper() in ('FALSE', 'F', '0', 'NO'):\n"
                     "            continue\n"
                     "        for y in (2019, 2020, 2021, 2022):\n"
                     "            if not r['DBH_%d' % y].strip():\n"
                     "                blank += mode == 'all'\n"
                     "                continue\n"
                     "            live = r['Status_%d' % y].strip().upper() in ('', 'LI')\n"
                     "            k = (r['Plot'].strip(), y)\n"
                     "            c.setdefault(k, [0, 0])[0 if live else 1] += 1\n"
                     "    for k in sorted(c):\n"
                     "        print(mode, k[0], k[1], c[k][0], c[k][1])\n"
                     "print('blank', blank)\n");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", py, TEMPEST);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  int n = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "blank %ld", blank) == 1) continue;
    assert_true(n < max);
    assert_int_equal(sscanf(line, "%7s %31s %d %d %d", rows[n].mode, rows[n].plot, &rows[n].year, &rows[n].live,
                            &rows[n].dead),
                     5);
    n++;
  }
  assert_int_equal(pclose(f), 0);
  return n;
}

static void count_in(const cf_trees *tr, const char *plot, int year, int *live, int *dead) {
  *live = *dead = 0;
  for (size_t i = 0; i < tr->n; i++)
    if (tr->t[i].year == year && strcmp(tr->t[i].plot, plot) == 0) (tr->t[i].live ? (*live)++ : (*dead)++);
}

static void tempest_inventory(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  count_row ref[64];
  long blank = -1;
  int nref = python_counts(dir, ref, 64, &blank);
  assert_true(nref >= 12); /* 3 plots x 4 years, twice */

  cf_inv_options o;
  const char *kv[] = {"col.plot=Plot", "col.dbh_cm=DBH_{year}", "col.status=Status_{year}",
                      "col.species=Species_code", "years=2019,2020,2021,2022", "live_codes=LI"};
  opts(ctx, &o, 6, kv);
  for (int pass = 0; pass < 2; pass++) {
    const char *mode = pass ? "inplot" : "all";
    if (pass) assert_int_equal(cf_inv_options_set(ctx, &o, "col.in_plot=In_Plot"), CF_OK);
    cf_trees tr;
    assert_int_equal(cf_trees_read(ctx, TEMPEST, &o, &tr), CF_OK);
    assert_int_equal(tr.n_rows, 533);
    if (!pass) assert_int_equal((long)tr.n_skipped_blank_dbh, blank);
    long total = 0;
    for (int i = 0; i < nref; i++) {
      if (strcmp(ref[i].mode, mode) != 0) continue;
      int live, dead;
      count_in(&tr, ref[i].plot, ref[i].year, &live, &dead);
      assert_int_equal(live, ref[i].live);
      assert_int_equal(dead, ref[i].dead);
      total += live + dead;
    }
    assert_int_equal((long)tr.n, total); /* no stem-year outside Python's cells */
    if (!pass) {
      assert_int_equal(tr.n_skipped_out_of_plot, 0);
      assert_string_equal(tr.t[0].species, "COFL2"); /* first row: Control, 1301 */
      assert_string_equal(tr.t[0].plot, "Control");
      assert_close(tr.t[0].dbh_cm, 10.7, 0, 0);
      assert_int_equal(strlen(tr.sha256), 64);
    } else {
      assert_true(tr.n_skipped_out_of_plot > 0);
    }
    /* every stem finds its plot (one yearless row per TEMPEST plot) */
    const char *pp = cf_test_path(dir, "tempest_plots.csv");
    cf_test_write_text(pp, "plot,stratum,area_ha\nControl,tempest,0.2\nFreshwater,tempest,0.2\nSaltwater,tempest,0.2\n");
    cf_plots pl;
    assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
    assert_int_equal(cf_inventory_link(ctx, &tr, &pl, NULL), CF_OK);
    cf_plots_free(&pl);
    cf_trees_free(&tr);
  }
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* --- strata from a polygon layer ---------------------------------------------- */

typedef struct {
  char label[32];
  long fid;
  double m2, planar_m2;
} area_row;

/* Per feature: its label (field `field`), feature id, area in an
 * equal-area projection centred on it (see the top of the file) and its
 * planar area in the layer's own CRS, from /usr/bin/python3 with OGR. */
static int python_areas(const char *dir, const char *path, const char *field, area_row *rows, int max) {
  const char *py = cf_test_path(dir, "area.py");
  cf_test_write_text(py,
                     "import sys\n"
                     "from osgeo import ogr, osr\n"
                     "ds = ogr.Open(sys.argv[1]); lyr = ds.GetLayer(0)\n"
                     "src = lyr.GetSpatialRef(); src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                     "wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326)\n"
                     "wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                     "for f in lyr:\n"
                     "    g = f.GetGeometryRef()\n"
                     "    c = g.Centroid(); c.Transform(osr.CoordinateTransformation(src, wgs))\n"
                     "    laea = osr.SpatialReference()\n"
                     "    laea.ImportFromProj4('+proj=laea +lat_0=%.10f +lon_0=%.10f +ellps=WGS84 +units=m +no_defs'\n"
                     "                         % (c.GetY(), c.GetX()))\n"
                     "    laea.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                     "    h = g.Clone(); h.Transform(osr.CoordinateTransformation(src, laea))\n"
                     "    print(f.GetField(sys.argv[2]), f.GetFID(), '%.6f' % h.GetArea(), '%.6f' % g.GetArea())\n");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", py, path, field);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  int n = 0;
  while (n < max && fscanf(f, "%31s %ld %lf %lf", rows[n].label, &rows[n].fid, &rows[n].m2, &rows[n].planar_m2) == 4) n++;
  assert_int_equal(pclose(f), 0);
  return n;
}

static void kootenay_strata(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  area_row ref[3];
  int nref = python_areas(dir, BLOCKS, "BlockID", ref, 3);
  assert_int_equal(nref, 3);
  char id[3][32];
  long fid[3];
  double ref_m2[3], planar_m2[3];
  for (int i = 0; i < 3; i++) {
    memcpy(id[i], ref[i].label, sizeof id[i]);
    fid[i] = ref[i].fid;
    ref_m2[i] = ref[i].m2;
    planar_m2[i] = ref[i].planar_m2;
  }

  /* the layer has no `stratum` field: an error naming its fields */
  cf_inv_options o;
  cf_inv_options_init(&o);
  cf_strata st;
  assert_int_equal(cf_strata_read(ctx, BLOCKS, &o, &st), CF_EDATA);
  EXPECT_MSG(ctx, "kootenayBlocks.shp", "stratum", "BlockID", "stratum_field=");

  for (int pass = 0; pass < 2; pass++) {
    assert_int_equal(cf_inv_options_set(ctx, &o, pass ? "stratum_field=FID" : "stratum_field=blockid"), CF_OK);
    assert_int_equal(cf_strata_read(ctx, BLOCKS, &o, &st), CF_OK);
    assert_int_equal(st.n, 3);
    assert_non_null(st.wkt);
    assert_non_null(strstr(st.wkt, "UTM zone 11N"));
    assert_int_equal(strlen(st.sha256), 64);
    for (int i = 0; i < 3; i++) {
      char want[32];
      if (pass)
        snprintf(want, sizeof want, "%ld", fid[i]);
      else
        snprintf(want, sizeof want, "%s", id[i]);
      long k = cf_strata_find(&st, want);
      assert_true(k >= 0);
      const cf_stratum *s = &st.s[k];
      assert_int_equal(s->n_features, 1);
      assert_close(s->area_ha * 1e4, ref_m2[i], 1e-7, 0); /* see the top of the file */
      /* and against UTM's planar area: the area scale factor k^2 of the
       * transverse Mercator at easting E is k0^2 (1 + x^2 / (k0^2 R^2))
       * to first order, x = E - 500 km, R the mean radius of curvature
       * (6.38e6 m here); the neglected terms (x^4/R^4, the change of k
       * across a 150 m block, the choice of R) are all below 1e-6 */
      double x = 0.5 * (s->ext[0] + s->ext[2]) - 500000.0, k0 = 0.9996, r = 6.38e6;
      double scale2 = k0 * k0 * (1.0 + x * x / (k0 * k0 * r * r));
      assert_close(s->area_ha * 1e4 * scale2, planar_m2[i], 2e-6, 0);
      assert_true(s->ext[0] > 439689.0 && s->ext[2] < 439832.6 && s->ext[1] > 5526453.7 &&
                  s->ext[3] < 5526562.6); /* inside the layer's extent (ogrinfo) */
      assert_true(s->ext_lonlat[0] > -117.9 && s->ext_lonlat[2] < -117.8 && s->ext_lonlat[1] > 49.88 &&
                  s->ext_lonlat[3] < 49.89);
    }
    cf_strata_free(&st);
  }
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* A GeoJSON layer: a polygon with a hole (wound like its exterior, as
 * some writers do), a multipolygon of the same stratum (features add), and
 * a stratum at 60 N with override attributes. */
static const char *GEOJSON =
    "{\"type\":\"FeatureCollection\",\"features\":[\n"
    "{\"type\":\"Feature\",\"properties\":{\"Stratum\":\"S1\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":["
    "[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]],"
    "[[0.0025,0.0025],[0.0075,0.0025],[0.0075,0.0075],[0.0025,0.0075],[0.0025,0.0025]]]}},\n"
    "{\"type\":\"Feature\",\"properties\":{\"Stratum\":\"S1\"},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":["
    "[[[0.02,0],[0.03,0],[0.03,0.01],[0.02,0.01],[0.02,0]]],"
    "[[[0.04,0],[0.045,0],[0.045,0.005],[0.04,0.005],[0.04,0]]]]}},\n"
    "{\"type\":\"Feature\",\"properties\":{\"Stratum\":\"S2\",\"soc_ref_t_c_per_ha\":40,\"ecozone\":\"boreal\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[10,60],[10.01,60],[10.01,60.01],[10,60.01],[10,60]]]}}\n"
    "]}\n";

static void strata_holes_parts_overrides(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *gj = cf_test_path(dir, "strata.geojson");
  cf_test_write_text(gj, GEOJSON);
  area_row ref[3];
  assert_int_equal(python_areas(dir, gj, "Stratum", ref, 3), 3);
  /* S1 = feature 0 (exterior minus hole) + feature 1 (both parts) */
  double s1 = ref[0].m2 + ref[1].m2, s2 = ref[2].m2;
  /* sanity of the reference itself: at the equator 0.01 deg is ~1.1 km,
   * so S1 is about (1 - 0.25 + 1 + 0.25) x 1.23 km2 = 2.46 km2 */
  assert_close(s1, 2.0 * 1.2308e6, 0.01, 0);
  cf_inv_options o;
  cf_inv_options_init(&o); /* "stratum" matches "Stratum": OGR ignores case */
  cf_strata st;
  assert_int_equal(cf_strata_read(ctx, gj, &o, &st), CF_OK);
  assert_int_equal(st.n, 2);
  assert_string_equal(st.s[0].stratum, "S1");
  assert_int_equal(st.s[0].n_features, 2);
  assert_close(st.s[0].area_ha * 1e4, s1, 1e-7, 0);
  assert_close(st.s[1].area_ha * 1e4, s2, 1e-7, 0);
  assert_true(isnan(st.s[0].soc_ref_t_c_per_ha));
  assert_close(st.s[1].soc_ref_t_c_per_ha, 40.0, 0, 0);
  assert_string_equal(st.s[1].ecozone, "boreal");
  const double e1[4] = {0, 0, 0.045, 0.01}, e2[4] = {10, 60, 10.01, 60.01};
  for (int k = 0; k < 4; k++) {
    assert_close(st.s[0].ext_lonlat[k], e1[k], 0, 1e-12);
    assert_close(st.s[1].ext_lonlat[k], e2[k], 0, 1e-12);
  }
  cf_strata_free(&st);
  /* a plot in S3 is not in these strata */
  const char *pp = cf_test_path(dir, "plots.csv");
  cf_test_write_text(pp, "plot,stratum,area_ha\nP1,S1,0.1\nP2,S3,0.1\n");
  cf_plots pl;
  assert_int_equal(cf_strata_read(ctx, gj, &o, &st), CF_OK);
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, NULL, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "stratum", "line 3", "'S3'", "strata.geojson");
  cf_plots_free(&pl);
  cf_strata_free(&st);
  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

/* --- bad inputs: status and a message naming file, line and field ----------- */

static void bad_inputs(void **state) {
  (void)state;
  cf_ctx *ctx = cf_test_ctx();
  char *dir = cf_test_tmpdir();
  const char *tp = cf_test_path(dir, "trees.csv"), *pp = cf_test_path(dir, "plots.csv"),
             *sp = cf_test_path(dir, "strata.csv");
  cf_inv_options o;
  cf_inv_options_init(&o);
  cf_trees tr;
  cf_plots pl;
  cf_strata st;

  /* missing required column */
  cf_test_write_text(tp, "plot,diameter\nP1,20\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "dbh_cm", "line 1", "diameter");
  /* negative DBH */
  cf_test_write_text(tp, "plot,dbh_cm\nP1,20\nP1,-3\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "dbh_cm", "line 3", "-3 cm");
  /* 612 cm */
  cf_test_write_text(tp, "plot,dbh_cm\nP1,612\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "dbh_cm", "line 2", "612 cm is not a plausible diameter");
  /* not a number */
  cf_test_write_text(tp, "plot,dbh_cm\nP1,12,5\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "line 2");
  cf_test_write_text(tp, "plot,dbh_cm\nP1,twelve\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "dbh_cm", "line 2", "twelve");
  /* unknown status code */
  cf_test_write_text(tp, "plot,dbh_cm,status\nP1,20,live\nP1,20,XX\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "status", "line 3", "'XX'", "live_codes=XX");
  /* implausible height and wood density */
  cf_test_write_text(tp, "plot,dbh_cm,height_m\nP1,20,300\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "height_m", "line 2", "300 m");
  cf_test_write_text(tp, "plot,dbh_cm,wood_density_g_cm3\nP1,20,550\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "wood_density_g_cm3", "line 2", "550");
  /* missing file */
  assert_int_equal(cf_trees_read(ctx, cf_test_path(dir, "none.csv"), &o, &tr), CF_ENOENT);
  cf_error_clear(ctx);

  /* stratum CSV row with too few fields */
  cf_test_write_text(sp, "stratum,area_ha,ecozone\nA,10,x\nB,20\n");
  assert_int_equal(cf_strata_read(ctx, sp, &o, &st), CF_EDATA);
  EXPECT_MSG(ctx, "strata.csv", "line 3", "2 fields", "3 columns", "ecozone: line 3: the row ends before column ecozone");
  /* duplicate stratum, stratum without area */
  cf_test_write_text(sp, "stratum,area_ha\nA,10\nA,20\n");
  assert_int_equal(cf_strata_read(ctx, sp, &o, &st), CF_EDATA);
  EXPECT_MSG(ctx, "strata.csv", "stratum", "line 3", "twice");
  cf_test_write_text(sp, "stratum,area_ha\nA,\n");
  assert_int_equal(cf_strata_read(ctx, sp, &o, &st), CF_EDATA);
  EXPECT_MSG(ctx, "strata.csv", "area_ha", "line 2", "'A'");

  /* plot without area */
  cf_test_write_text(pp, "plot,stratum,area_ha,radius_m\nP1,A,0.1,\nP2,A,,\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "area_ha", "line 3", "'P2'");
  /* a slope of 95 degrees */
  cf_test_write_text(pp, "plot,stratum,radius_m,slope_deg\nP1,A,10,95\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "slope_deg", "line 2", "95 degrees");

  /* cross-checks */
  cf_test_write_text(sp, "stratum,area_ha\nA,10\n");
  assert_int_equal(cf_strata_read(ctx, sp, &o, &st), CF_OK);
  /* unknown stratum */
  cf_test_write_text(pp, "plot,stratum,area_ha\nP1,A,0.1\nP2,Z,0.1\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, NULL, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "stratum", "line 3", "'Z'", "strata.csv");
  cf_plots_free(&pl);
  /* duplicate plot (same year; and a yearless row beside a yearly one) */
  cf_test_write_text(pp, "plot,stratum,area_ha,year\nP1,A,0.1,2020\nP2,A,0.1,2020\nP1,A,0.1,2020\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, NULL, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "plot", "line 4", "'P1'", "line 2");
  cf_plots_free(&pl);
  cf_test_write_text(pp, "plot,stratum,area_ha,year\nP1,A,0.1,2020\nP1,A,0.1,2022\nP1,A,0.1,\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, NULL, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "plots.csv", "line 4", "every year");
  cf_plots_free(&pl);
  /* tree whose plot is not in the plots table; a nest without an area column */
  cf_test_write_text(pp, "plot,stratum,area_ha,area_ha.n1\nP1,A,0.1,0.01\nP2,A,0.1,\n");
  assert_int_equal(cf_plots_read(ctx, pp, &o, &pl), CF_OK);
  cf_test_write_text(tp, "plot,dbh_cm,nest\nP1,20,\nP9,30,\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "plot", "line 3", "'P9'", "plots.csv");
  cf_trees_free(&tr);
  cf_test_write_text(tp, "plot,dbh_cm,nest\nP1,20,n1\nP1,30,n2\n");
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "nest", "line 3", "area_ha.n2");
  cf_trees_free(&tr);
  cf_test_write_text(tp, "plot,dbh_cm,nest\nP2,20,n1\n"); /* P2 has the column but no value */
  assert_int_equal(cf_trees_read(ctx, tp, &o, &tr), CF_OK);
  assert_int_equal(cf_inventory_link(ctx, &tr, &pl, &st), CF_EDATA);
  EXPECT_MSG(ctx, "trees.csv", "nest", "line 2", "'P2'", "'n1'");
  cf_trees_free(&tr);
  cf_plots_free(&pl);
  cf_strata_free(&st);

  cf_inv_options_free(&o);
  cf_test_rmtree(dir);
  free(dir);
  cf_ctx_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_parse_and_errors), cmocka_unit_test(every_column_and_totals),
      cmocka_unit_test(wide_table),               cmocka_unit_test(tempest_inventory),
      cmocka_unit_test(kootenay_strata),          cmocka_unit_test(bad_inputs),
      cmocka_unit_test(long_table_years),         cmocka_unit_test(strata_holes_parts_overrides),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
