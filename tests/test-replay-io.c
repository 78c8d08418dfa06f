/* test-replay-io.c — the I/O limit replay (policy/replay-io.c) with the
 * daemon's forecaster (model/io-forecast.c) and planner (policy/io-limit.c).
 *
 *   /replay-io/periodic-burst   one disk with a 3-step write burst of
 *        4.9 MiB/s every 48 steps over a quiet 0.8-1.2 MiB/s (the cap is
 *        1.5 x its p90, 1.7 MiB/s; the ceiling the 4.9 MiB/s peak): static serves no burst step, the
 *        reactive raiser (to the ceiling after a step at the cap) serves
 *        the 2nd and 3rd step of each burst, augur (the period forecast,
 *        censored while capped) serves most burst steps from the first
 *        one: augur > reactive + 15 points > static = 0.
 *   /replay-io/bounds           twelve limits with bursts at clashing
 *        phases under a budget of a third of their room (ceiling - cap): at every
 *        step, for every policy, the sum of raises in force is within the
 *        budget (+1 B/s a limit, the planner's tolerance) and every limit
 *        within [floor, ceiling]; the budget binds (the peak raise reaches
 *        90 % of it); the per-family scores add up to the pooled ones.
 *   /replay-io/absurd           a quiet disk (1 MiB/s +- 1 %) whose trace holds rates above
 *        AUGUR_IO_MAX_BPS and negative ones, every 48 steps (a period to
 *        tempt the detector) and in the training part: no policy ever
 *        raises the limit and the cap is the quiet level's.
 *   /replay-io/backlog          a 3x-cap step under the static cap spills
 *        into the next two steps (backlog carried, the worked numbers
 *        below); with the backlog off it is dropped.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "replay-io.h"
#include "io-forecast.h"
#include "testutil.h"

#define KIB 1024.0
#define STEP_S 300
#define T0 1700000000

static guint32 rng = 12345;

/* Uniform in [0, 1): a fixed LCG, so the traces are the same everywhere. */
static double
urand (void)
{
        rng = rng * 1103515245u + 12345u;
        return (double) (rng >> 8) / (double) (1u << 24);
}

/* A VM with one disk_wr_kibps column, values in KiB/s. */
static AugurSeries *
disk_series (const char *vm, const double *wr_kibps, gsize n)
{
        AugurSeries *s = augur_series_new (vm);

        augur_series_ensure_col (s, AUGUR_COL_DISK_WR_KIBPS);
        for (gsize i = 0; i < n; i++) {
                gsize r = augur_series_append (s, T0 + (gint64) i * STEP_S);

                s->col[AUGUR_COL_DISK_WR_KIBPS][r] = (float) wr_kibps[i];
        }
        return s;
}

/* Quiet 800-1200 KiB/s, and burst_kibps for `len` steps every `period`
 * steps from `phase`. */
static void
periodic (double *wr, gsize n, gsize period, gsize phase, gsize len, double burst_kibps)
{
        for (gsize i = 0; i < n; i++)
                wr[i] = 800 + 400 * urand ();
        for (gsize i = phase; i < n; i += period)
                for (gsize j = i; j < i + len && j < n; j++)
                        wr[j] = burst_kibps;
}

static void
config_write_only (AugurIoReplayConfig *cfg)
{
        augur_io_replay_config_init (cfg);
        cfg->kinds = 1u << AUGUR_IO_KIND_WRITE;
        cfg->score_from = 0.5;
}

/* (transfer full) the replay of one VM's disk writes wr (KiB/s). */
static AugurIoReplay *
replay_of (const double *wr, gsize n, const AugurIoReplayConfig *cfg)
{
        g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (GError) error = NULL;
        AugurIoReplay *r;

        g_ptr_array_add (series, disk_series ("vm-a", wr, n));
        r = augur_io_replay_new (series, STEP_S, cfg, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (augur_io_replay_n_limits (r), ==, 1);
        return r;
}

static double
served_frac (const AugurIoReplayResult *res)
{
        return res->all.burst_steps ? (double) res->all.burst_served / res->all.burst_steps : NAN;
}

static void
test_periodic_burst (void)
{
        const gsize n = 1200;
        g_autofree double *wr = g_new (double, n);
        g_autoptr (AugurIoReplay) r = NULL;
        AugurIoReplayConfig cfg;
        AugurIoReplayResult res[AUGUR_IO_REPLAY_N];

        periodic (wr, n, 48, 20, 3, 5000);
        config_write_only (&cfg);
        cfg.budget_frac = 0;            /* no host bound: the policies alone */
        r = replay_of (wr, n, &cfg);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++) {
                augur_io_replay_run (r, p, &res[p], NULL, NULL);
                g_test_message ("%s: served %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " burst steps, capped %"
                                G_GUINT64_FORMAT ", raise %.0f MiB", augur_io_replay_policy_name (p),
                                res[p].all.burst_served, res[p].all.burst_steps, res[p].all.capped_steps,
                                res[p].all.raise_mib);
        }
        /* 12 or 13 bursts of 3 steps in the scored half */
        g_assert_cmpuint (res[AUGUR_IO_REPLAY_STATIC].all.bursts, >=, 12);
        g_assert_cmpuint (res[AUGUR_IO_REPLAY_STATIC].all.burst_steps, ==, 3 * res[AUGUR_IO_REPLAY_STATIC].all.bursts);
        g_assert_cmpuint (res[AUGUR_IO_REPLAY_STATIC].all.burst_served, ==, 0);
        g_assert_cmpfloat (res[AUGUR_IO_REPLAY_STATIC].all.raise_mib, ==, 0);
        g_assert_cmpfloat (served_frac (&res[AUGUR_IO_REPLAY_REACTIVE]), >, 0.5);
        g_assert_cmpfloat (served_frac (&res[AUGUR_IO_REPLAY_AUGUR]), >, served_frac (&res[AUGUR_IO_REPLAY_REACTIVE]) + 0.15);
        g_assert_cmpuint (res[AUGUR_IO_REPLAY_AUGUR].all.capped_steps, <, res[AUGUR_IO_REPLAY_REACTIVE].all.capped_steps);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++) {
                g_assert_cmpuint (res[p].over_budget_steps, ==, 0);
                g_assert_cmpuint (res[p].floor_breaches, ==, 0);
        }
}

/* Row checks of /replay-io/bounds: per step, the sum of raises. */
typedef struct {
        GHashTable *raise;              /* ts -> double* sum of raises       */
        guint64 rows, outside;
} Bounds;

static void
bounds_row (const char *vm, AugurIoKind kind, gint64 ts, double demand_bps, double served_bps, double limit_bps,
            double floor_bps, double ceiling_bps, gpointer user_data)
{
        Bounds *b = user_data;
        double *sum = g_hash_table_lookup (b->raise, GINT_TO_POINTER ((gint) (ts - T0)));

        if (!sum) {
                sum = g_new0 (double, 1);
                g_hash_table_insert (b->raise, GINT_TO_POINTER ((gint) (ts - T0)), sum);
        }
        *sum += limit_bps - floor_bps;
        b->rows++;
        b->outside += limit_bps < floor_bps || limit_bps > ceiling_bps || served_bps > limit_bps;
}

static void
test_bounds (void)
{
        const gsize n = 1000, nvm = 12;
        g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurIoReplay) r = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *fam_path = NULL;
        g_autoptr (GString) fam = g_string_new ("vm,family,other\n");
        AugurIoReplayConfig cfg;
        int fd;

        for (gsize v = 0; v < nvm; v++) {
                g_autofree double *wr = g_new (double, n);
                g_autofree char *name = g_strdup_printf ("vm-%02zu", v);

                periodic (wr, n, 24 + 12 * (v % 3), v % 4, 2 + v % 3, 3000 + 1000 * (double) (v % 4));
                g_ptr_array_add (series, disk_series (name, wr, n));
                g_string_append_printf (fam, "%s,%s,x\n", name, v % 2 ? "odd" : "even");
        }
        config_write_only (&cfg);
        cfg.budget_frac = 1.0 / 3;
        r = augur_io_replay_new (series, STEP_S, &cfg, &error);
        g_assert_no_error (error);
        fd = g_file_open_tmp ("replay-io-XXXXXX.csv", &fam_path, &error);
        g_assert_no_error (error);
        g_assert_true (g_file_set_contents (fam_path, fam->str, -1, &error));
        close (fd);
        g_assert_true (augur_io_replay_load_families (r, fam_path, &error));
        g_assert_no_error (error);
        g_unlink (fam_path);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++) {
                Bounds b = { g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free), 0, 0 };
                AugurIoReplayResult res;
                GHashTableIter it;
                gpointer v;
                AugurIoReplayScore sum = { 0 };

                augur_io_replay_run (r, p, &res, bounds_row, &b);
                g_test_message ("%s: peak raise %.0f of %.0f B/s, served %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                augur_io_replay_policy_name (p), res.peak_raise_bps, res.budget_bps,
                                res.all.burst_served, res.all.burst_steps);
                g_assert_cmpuint (b.rows, ==, n * nvm);
                g_assert_cmpuint (b.outside, ==, 0);
                g_hash_table_iter_init (&it, b.raise);
                while (g_hash_table_iter_next (&it, NULL, &v))
                        g_assert_cmpfloat (*(double *) v, <=, res.budget_bps + nvm * 1.0);
                g_assert_cmpuint (res.over_budget_steps, ==, 0);
                g_assert_cmpuint (res.floor_breaches, ==, 0);
                if (p != AUGUR_IO_REPLAY_STATIC)
                        g_assert_cmpfloat (res.peak_raise_bps, >=, 0.9 * res.budget_bps);
                g_assert_cmpuint (res.n_families, ==, 2);
                for (guint f = 0; f < res.n_families; f++) {
                        sum.burst_steps += res.family[f].s.burst_steps;
                        sum.burst_served += res.family[f].s.burst_served;
                        sum.limits += res.family[f].s.limits;
                }
                g_assert_cmpuint (sum.limits, ==, nvm);
                g_assert_cmpuint (sum.burst_steps, ==, res.all.burst_steps);
                g_assert_cmpuint (sum.burst_served, ==, res.all.burst_served);
                g_hash_table_unref (b.raise);
        }
}

typedef struct {
        guint64 rows, raised;
        double floor_bps;
} Raised;

static void
raised_row (const char *vm, AugurIoKind kind, gint64 ts, double demand_bps, double served_bps, double limit_bps,
            double floor_bps, double ceiling_bps, gpointer user_data)
{
        Raised *x = user_data;

        x->rows++;
        x->raised += limit_bps > floor_bps;
        x->floor_bps = floor_bps;
}

static void
test_absurd (void)
{
        const gsize n = 1200;
        g_autofree double *wr = g_new (double, n);
        g_autoptr (AugurIoReplay) r = NULL;
        AugurIoReplayConfig cfg;

        /* A quiet level with 2 % noise: the forecast of a quiet disk
         * stays far below the raise bar (0.8 x the cap, 1.2 x the level),
         * so a raise could only come from the absurd rates. */
        for (gsize i = 0; i < n; i++)
                wr[i] = 990 + 20 * urand ();
        for (gsize i = 5; i < n; i += 48) {
                /* 2^37 KiB/s = 128 TiB/s, past AUGUR_IO_MAX_BPS; then a
                 * counter that went backwards */
                wr[i] = 137438953472.0;
                wr[i + 1] = -5e6;
        }
        g_assert_cmpfloat (wr[5] * KIB, >, AUGUR_IO_MAX_BPS);
        config_write_only (&cfg);
        r = replay_of (wr, n, &cfg);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++) {
                Raised x = { 0 };
                AugurIoReplayResult res;

                augur_io_replay_run (r, p, &res, raised_row, &x);
                g_test_message ("%s: %" G_GUINT64_FORMAT " raised steps, %" G_GUINT64_FORMAT " burst steps",
                                augur_io_replay_policy_name (p), x.raised, res.all.burst_steps);
                g_assert_cmpuint (x.rows, ==, n);
                g_assert_cmpuint (x.raised, ==, 0);
                g_assert_cmpuint (res.all.raises, ==, 0);
                g_assert_cmpuint (res.all.burst_steps, ==, 0);
                /* the cap is 1.5 x the quiet level's p90, not the
                 * absurd rate's */
                g_assert_cmpfloat (x.floor_bps, <=, 1.5 * 1010 * KIB);
                g_assert_cmpfloat (x.floor_bps, >=, 1.5 * 990 * KIB);
        }
}

static void
test_backlog (void)
{
        /* training: 100 KiB/s (the cap, with headroom 1: 102400 B/s);
         * scored: 300 KiB/s once */
        const double wr[8] = { 100, 100, 100, 100, 300, 0, 0, 0 };
        AugurIoReplayConfig cfg;
        AugurIoReplayResult res;

        config_write_only (&cfg);
        cfg.ceiling_mult = 4;
        cfg.floor_mult = 1;
        cfg.min_floor_bps = 64 * KIB;
        for (int carry = 1; carry >= 0; carry--) {
                g_autoptr (AugurIoReplay) r = NULL;

                cfg.backlog = carry;
                r = replay_of (wr, 8, &cfg);
                augur_io_replay_run (r, AUGUR_IO_REPLAY_STATIC, &res, NULL, NULL);
                g_assert_cmpuint (res.all.steps, ==, 4);
                g_assert_cmpuint (res.all.bursts, ==, 1);
                g_assert_cmpuint (res.all.burst_steps, ==, 1);
                if (carry) {
                        /* 300 at a 100 cap: 200 x 300 s left, then 100 x
                         * 300 s, then none: capped at steps 4 and 5 (step 6
                         * wants exactly the cap); backlog sum = (200 + 100)
                         * KiB/s x 300 s x 300 s */
                        g_assert_cmpuint (res.all.capped_steps, ==, 2);
                        g_assert_cmpfloat_with_epsilon (res.all.backlog_mib_s, 300.0 * 300 * 300 / 1024, 1e-6);
                } else {
                        g_assert_cmpuint (res.all.capped_steps, ==, 1);
                        g_assert_cmpfloat (res.all.backlog_mib_s, ==, 0);
                }
                g_assert_cmpfloat_with_epsilon (res.all.demand_mib, 300.0 * 300 / 1024, 1e-6);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/replay-io/periodic-burst", test_periodic_burst);
        g_test_add_func ("/replay-io/bounds", test_bounds);
        g_test_add_func ("/replay-io/absurd", test_absurd);
        g_test_add_func ("/replay-io/backlog", test_backlog);
        return g_test_run ();
}
