/* test-model-row.c — one definition of the model's input row
 * (common/units.h).  The same history of one guest, whose balloon moves
 * and whose vCPUs are hot-plugged, goes through
 *   - the store: augurd's tick writes it, augur_store_load_series() reads
 *     it back — what periodic retraining, `virt-augur train --db` and
 *     `virt-augur export` (whose CSV `replay` reads) all use;
 *   - the live forecaster's row (augur_forecaster_input_row(), what
 *     plugin/resize.c feeds the predictor every tick);
 * and the two give the same trace columns and the same feature vectors,
 * step for step.  The capacities are the <memory> and <vcpu> maxima: a
 * moving balloon must not move them. */
#include "config.h"

#include <math.h>

#include "augur-features.h"
#include "forecaster.h"
#include "store.h"
#include "units.h"
#include "testutil.h"

#define N_TICKS 240
#define STEP_MS 5000
#define T0_MS G_GINT64_CONSTANT (1800000000000)

/* The balloon (KiB) at tick t: it moves between 1 and 2 GiB. */
static gint64
balloon_at (int t)
{
        return 1048576 + (t / 30 % 2) * 1048576 - (t % 30) * 4096;
}

/* Tick t of guest "rowvm": 2 GiB maximum, a balloon that moves between
 * 1 and 2 GiB, 1..4 of 4 vCPUs online, a memory job every 20 ticks. */
static AugurDomainSample
sample_at (int t)
{
        AugurDomainSample s = { 0 };
        gint64 balloon = balloon_at (t);
        gint64 used = 400000 + (t % 20 < 5 ? 300000 : 0) + t * 100;

        g_strlcpy (s.uuid, "00000000-0000-4000-8000-000000000042", sizeof s.uuid);
        s.name = g_strdup ("rowvm");
        s.id = 42;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        augur_sample_set (&s, AUGUR_STAT_CPU_TIME_NS, (gint64) t * 3000000000 + (gint64) (t % 7) * 500000000);
        augur_sample_set (&s, AUGUR_STAT_VCPU_CURRENT, 1 + t / 40 % 4);
        augur_sample_set (&s, AUGUR_STAT_VCPU_MAXIMUM, 4);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_MAXIMUM_KIB, 2097152);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_CURRENT_KIB, balloon);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, balloon - 56000);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_USABLE_KIB, balloon - 56000 - used);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_LAST_UPDATE_S, t);
        augur_sample_set (&s, AUGUR_STAT_BLOCK_WR_BYTES, (gint64) t * 1000000);
        return s;
}

static void
test_store_equals_live (void)
{
        g_autofree char *dir = g_dir_make_tmp ("augur-row-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "augur.db", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurSeries) back = NULL;
        g_autoptr(AugurFeatState) fs_store = NULL, fs_live = NULL;
        AugurFeatSample live[N_TICKS];
        AugurDomainSample prev = { 0 };
        AugurFeatConfig fcfg;
        AugurHostSample host = { 0 };
        guint F, compared = 0, moved = 0;
        g_autofree float *va = NULL, *vb = NULL;

        st = augur_store_open (path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        for (int t = 0; t < N_TICKS; t++) {
                AugurDomainSample s = sample_at (t);
                AugurDerived d;

                augur_units_derive (t > 0 ? &prev : NULL, &s, STEP_MS / 1000.0, &d, NULL);
                augur_forecaster_input_row (&d, NULL, &host, (T0_MS + t * STEP_MS) / 1000, &live[t]);
                g_assert_true (augur_store_write_tick (st, T0_MS + t * STEP_MS, &s, 1, &host, 10, NULL, &error));
                g_assert_no_error (error);
                augur_domain_sample_clear (&prev);
                prev = s;
        }
        augur_domain_sample_clear (&prev);
        back = augur_store_load_series (st, "rowvm", G_MININT64, G_MAXINT64, AUGUR_RES_RAW, &error);
        g_assert_no_error (error);
        g_assert_nonnull (back);
        g_assert_cmpuint (back->n, ==, N_TICKS);

        /* The trace columns, step for step. */
        for (gsize i = 0; i < back->n; i++) {
                g_assert_cmpint (back->ts[i], ==, live[i].ts);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                        float a = back->col[c] ? back->col[c][i] : NAN, b = live[i].v[c];

                        if (isnan (a) || isnan (b)) {
                                g_assert_true (isnan (a) && isnan (b));
                                continue;
                        }
                        g_assert_cmpfloat_with_epsilon (a, b, 1e-3 * MAX (1, fabsf (b)));
                        compared++;
                }
                /* Capacities: the maxima, however the balloon moved. */
                g_assert_cmpfloat (back->col[AUGUR_COL_MEM_PROV_KIB][i], ==, 2097152);
                g_assert_cmpfloat (back->col[AUGUR_COL_CPU_CORES][i], ==, 4);
                if (i > 0 && balloon_at ((int) i) != balloon_at ((int) i - 1))
                        moved++;
        }
        g_assert_cmpuint (compared, >, N_TICKS * 4);
        g_assert_cmpuint (moved, >, N_TICKS / 2);

        /* The feature vectors the model is fed, step for step. */
        augur_features_config_init (&fcfg);
        fcfg.step_s = STEP_MS / 1000;
        F = augur_features_count (fcfg.groups);
        fs_store = augur_features_state_new (&fcfg);
        fs_live = augur_features_state_new (&fcfg);
        va = g_new (float, F);
        vb = g_new (float, F);
        for (gsize i = 0; i < back->n; i++) {
                AugurFeatSample xs;
                gboolean ha, hb;

                augur_features_sample_from_series (&xs, back, i);
                ha = augur_features_update (fs_store, &xs, va);
                hb = augur_features_update (fs_live, &live[i], vb);
                g_assert_cmpint (ha, ==, hb);
                for (guint k = 0; ha && k < F; k++) {
                        if (isnan (va[k]) || isnan (vb[k])) {
                                g_assert_true (isnan (va[k]) && isnan (vb[k]));
                                continue;
                        }
                        g_assert_cmpfloat_with_epsilon (va[k], vb[k], 1e-4 * MAX (1, fabsf (vb[k])));
                }
        }
        augur_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/model-row/store-equals-live", test_store_equals_live);
        return g_test_run ();
}
