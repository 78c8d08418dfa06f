/* test-cpu-loop.c — the CPU weight loop (plugin/resize-cpu.c) through the
 * fake hypervisor: raised before each forecast burst and back at the
 * admin's value between them, never above cpu_weight_max; a hand change
 * yielded to once (one audit row) and kept as the floor; recommend mode
 * sets nothing; a backend without a weight is said once; a guest that did
 * not opt in costs no call.  The forecast is given (the loop takes the
 * vCPU decisions' demand as input): here it leads each burst by two
 * ticks, as the period detector's phase does on a real guest
 * (tests/integration/cpu-weight.sh). */
#include "config.h"

#include "fake-hv.h"
#include "resize-cpu.h"
#include "store-decisions.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define T0_MS 1700000000000
#define TICK_MS 2000
#define PERIOD_MS 40000                 /* one burst every 40 s               */
#define BURST_MS 8000                   /* lasting 8 s                        */
#define LEAD_MS 4000                    /* forecast ahead of it               */
#define FLOOR 1024                      /* the fake's default cpu_shares      */
#define CEILING 8192.0                  /* cpu_weight_max                     */

typedef struct {
        char *dir;
        AugurStore *store;
        AugurFake *fake;
        AugurHv *hv;
        AugurResizeCpu *rc;
        AugurMetrics *metrics;
        AugurConfig *config;
        AugurFakeGuest *g;
        AugurDomainSample rec;
        AugurCpuGuest gi;
} Fx;

static void
fx_init (Fx *fx)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *db = NULL;
        AugurHvCallbacks cb = { 0 };

        fx->dir = g_dir_make_tmp ("augur-cpu-XXXXXX", &error);
        g_assert_no_error (error);
        db = g_build_filename (fx->dir, "augur.db", NULL);
        fx->store = augur_store_open (db, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        fx->fake = augur_fake_new (T0_MS);
        fx->hv = augur_fake_open (fx->fake, &cb, NULL);
        fx->rc = augur_resize_cpu_new ();
        fx->metrics = augur_metrics_new ();
        fx->config = augur_config_new_default ();
        augur_sample_set (&fx->rec, AUGUR_STAT_STATE, AUGUR_GUEST_STATE_RUNNING);
        fx->g = augur_fake_add_guest (fx->fake, "g1", &fx->rec);
        g_strlcpy (fx->rec.uuid, augur_fake_guest_uuid (fx->g), sizeof fx->rec.uuid);
        fx->rec.name = g_strdup ("g1");
        fx->gi = (AugurCpuGuest) { .s = &fx->rec, .mode = AUGUR_MODE_ACT, .ceiling = CEILING,
                                   .priority = 1000, .vcpus_max = 2, .fresh = TRUE };
}

static void
fx_clear (Fx *fx)
{
        g_autofree char *db = g_build_filename (fx->dir, "augur.db", NULL);
        g_autofree char *wal = g_strconcat (db, "-wal", NULL), *shm = g_strconcat (db, "-shm", NULL);

        augur_resize_cpu_free (fx->rc);
        augur_metrics_free (fx->metrics);
        augur_hv_close (fx->hv);
        augur_fake_free (fx->fake);
        augur_config_free (fx->config);
        augur_store_close (fx->store);
        g_free (fx->rec.name);
        g_unlink (db);
        g_unlink (wal);
        g_unlink (shm);
        g_rmdir (fx->dir);
        g_free (fx->dir);
}

/* One tick at the fake's clock: the periodic load, and its forecast
 * leading each burst by LEAD_MS. */
static void
tick (Fx *fx)
{
        gint64 t = augur_fake_now_ms (fx->fake) - T0_MS;
        gint64 phase = t % PERIOD_MS;
        gboolean busy = t > PERIOD_MS / 2 && phase < BURST_MS;
        gboolean soon = t > PERIOD_MS / 2 - LEAD_MS &&
                        (phase < BURST_MS || phase >= PERIOD_MS - LEAD_MS);

        fx->gi.cores_used = busy ? 1.0 : 0.05;
        fx->gi.demand_cores = soon ? 1.4 : 0.1;
        augur_resize_cpu_tick (fx->rc, fx->hv, fx->store, fx->metrics, fx->config, &fx->gi, 1,
                               augur_fake_now_ms (fx->fake));
        augur_fake_advance (fx->fake, TICK_MS);
}

static GArray *
cpu_rows (Fx *fx)
{
        g_autoptr(GArray) all = augur_store_actuations (fx->store, -1, G_MININT64, G_MAXINT64, 0, NULL);
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurActuationRow));

        for (guint i = 0; all && i < all->len; i++) {
                const AugurActuationRow *a = &g_array_index (all, AugurActuationRow, i);

                g_assert_null (a->device);
                if (g_strcmp0 (a->kind, AUGUR_CPU_SHARES_KIND) == 0)
                        g_array_append_val (out, *a);
        }
        return out;
}

static void
test_periodic (void)
{
        Fx fx;
        guint raised = 0, restored = 0, periods = 0;
        g_autoptr(GArray) rows = NULL;
        g_autoptr(GString) text = g_string_new (NULL);

        fx_init (&fx);
        for (int p = 1; p <= 6; p++) {
                guint64 lowest = G_MAXUINT64;

                /* Ticks up to the burst's start: the weight at its start. */
                while (augur_fake_now_ms (fx.fake) - T0_MS < (gint64) p * PERIOD_MS)
                        tick (&fx);
                raised += augur_fake_guest_cpu_shares (fx.g) == CEILING;
                /* Through the burst and the quiet after it. */
                while (augur_fake_now_ms (fx.fake) - T0_MS < (gint64) (p + 1) * PERIOD_MS - LEAD_MS - TICK_MS) {
                        tick (&fx);
                        g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), <=, CEILING);
                        g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), >=, FLOOR);
                        lowest = MIN (lowest, augur_fake_guest_cpu_shares (fx.g));
                }
                restored += lowest == FLOOR;
                periods++;
        }
        g_test_message ("raised at %u of %u burst starts, back at the floor between %u", raised, periods, restored);
        g_assert_cmpuint (raised, ==, periods);
        g_assert_cmpuint (restored, ==, periods);
        rows = cpu_rows (&fx);
        g_assert_cmpuint (rows->len, ==, periods * 4);   /* one raise, three restore steps */
        g_assert_cmpstr (g_array_index (rows, AugurActuationRow, 0).reason, ==, "forecast-burst");
        g_assert_cmpfloat (g_array_index (rows, AugurActuationRow, 0).from_value, ==, FLOOR);
        g_assert_cmpfloat (g_array_index (rows, AugurActuationRow, 0).to_value, ==, CEILING);
        g_assert_cmpstr (g_array_index (rows, AugurActuationRow, 1).reason, ==, "restore");
        augur_metrics_format (fx.metrics, text);
        g_assert_nonnull (strstr (text->str, "augur_cpu_shares{"));
        g_assert_nonnull (strstr (text->str, "augur_cpu_shares_floor{"));
        fx_clear (&fx);
}

static void
test_yield (void)
{
        Fx fx;
        g_autoptr(GArray) rows = NULL;
        guint sets, yields = 0;

        fx_init (&fx);
        while (augur_fake_guest_cpu_shares (fx.g) != CEILING)
                tick (&fx);
        /* The admin sets 2048 by hand (virsh schedinfo --live). */
        augur_fake_guest_set_cpu_shares (fx.g, 2048);
        sets = augur_fake_count (fx.fake, AUGUR_FAKE_CALL_SET_CPU_SHARES, NULL);
        tick (&fx);
        g_assert_cmpuint (augur_fake_count (fx.fake, AUGUR_FAKE_CALL_SET_CPU_SHARES, NULL), ==, sets);
        g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), ==, 2048);
        for (int i = 0; i < 100; i++) {
                tick (&fx);
                g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), >=, 2048);
        }
        rows = cpu_rows (&fx);
        for (guint i = 0; i < rows->len; i++)
                yields += g_strcmp0 (g_array_index (rows, AugurActuationRow, i).reason, "yield") == 0;
        g_assert_cmpuint (yields, ==, 1);
        /* Between bursts it is the admin's new value. */
        while ((augur_fake_now_ms (fx.fake) - T0_MS) % PERIOD_MS != PERIOD_MS - LEAD_MS - 2 * TICK_MS)
                tick (&fx);
        g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), ==, 2048);
        fx_clear (&fx);
}

static void
test_recommend_unsupported_optout (void)
{
        Fx fx;
        g_autoptr(GArray) rows = NULL;

        /* recommend: planned, never set. */
        fx_init (&fx);
        fx.gi.mode = AUGUR_MODE_RECOMMEND;
        for (int i = 0; i < 60; i++)
                tick (&fx);
        g_assert_cmpuint (augur_fake_count (fx.fake, AUGUR_FAKE_CALL_SET_CPU_SHARES, NULL), ==, 0);
        g_assert_cmpuint (augur_fake_guest_cpu_shares (fx.g), ==, FLOOR);
        fx_clear (&fx);

        /* Not opted in: not one call. */
        fx_init (&fx);
        fx.gi.ceiling = NAN;
        for (int i = 0; i < 60; i++)
                tick (&fx);
        g_assert_cmpuint (augur_fake_count (fx.fake, AUGUR_FAKE_CALL_GET_CPU_SHARES, NULL), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx.fake, AUGUR_FAKE_CALL_SET_CPU_SHARES, NULL), ==, 0);
        fx_clear (&fx);

        /* A backend without a weight: one read, one row, then silence. */
        fx_init (&fx);
        augur_fake_guest_set_cpu_shares (fx.g, 0);
        for (int i = 0; i < 60; i++)
                tick (&fx);
        g_assert_cmpuint (augur_fake_count (fx.fake, AUGUR_FAKE_CALL_GET_CPU_SHARES, NULL), ==, 1);
        rows = cpu_rows (&fx);
        g_assert_cmpuint (rows->len, ==, 1);
        g_assert_cmpstr (g_array_index (rows, AugurActuationRow, 0).reason, ==, "unsupported");
        fx_clear (&fx);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/cpu-loop/periodic", test_periodic);
        g_test_add_func ("/cpu-loop/yield", test_yield);
        g_test_add_func ("/cpu-loop/recommend-unsupported-optout", test_recommend_unsupported_optout);
        return g_test_run ();
}
