/* test-replay-cpu.c — the contended host in replay (policy/replay-cpu.h):
 * the host is work-conserving (the weights move the shortfall between
 * guests, never change its total), and a guest whose bursts the forecast
 * foresees is served more in its bursts with the weight than without. */
#include "config.h"

#include "replay-cpu.h"
#include "dataset.h"

#include <math.h>

#define N_STEPS 2000
#define PERIOD 24                       /* steps between a guest's bursts  */

/* A VM of 2 cores, 1000 MiB used of 2000: cpu_pct[i] (of its 2 cores). */
static AugurSeries *
vm_of (const char *name, const double *cpu_pct, gsize n)
{
        AugurSeries *s = augur_series_new (name);

        augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
        augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
        augur_series_ensure_col (s, AUGUR_COL_CPU_PCT);
        augur_series_ensure_col (s, AUGUR_COL_CPU_CORES);
        for (gsize i = 0; i < n; i++) {
                gsize r = augur_series_append (s, 1700000000 + (gint64) i * 300);

                s->col[AUGUR_COL_MEM_USED_KIB][r] = 1000 * 1024.0f;
                s->col[AUGUR_COL_MEM_PROV_KIB][r] = 2000 * 1024.0f;
                s->col[AUGUR_COL_CPU_PCT][r] = (float) cpu_pct[i];
                s->col[AUGUR_COL_CPU_CORES][r] = 2;
        }
        return s;
}

static void
test_contended (void)
{
        g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autofree double *burst = g_new (double, N_STEPS), *steady = g_new (double, N_STEPS);
        g_autoptr (AugurPredictor) pred = NULL;
        g_autoptr (AugurReplay) r = NULL;
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig pcfg;
        AugurReplayConfig cfg;
        AugurReplayCpuConfig cc;
        AugurReplayCpuResult res;

        /* A guest idle but for a 3-step burst of both cores every PERIOD
         * steps, and two busy background guests of 1.6 cores each. */
        for (gsize i = 0; i < N_STEPS; i++) {
                burst[i] = i % PERIOD < 3 ? 95 : 3;
                steady[i] = 80;
        }
        g_ptr_array_add (series, vm_of ("bursty", burst, N_STEPS));
        g_ptr_array_add (series, vm_of ("steady1", steady, N_STEPS));
        g_ptr_array_add (series, vm_of ("steady2", steady, N_STEPS));
        augur_predictor_config_init (&pcfg);
        pred = augur_predictor_new (NULL, &pcfg, &error);
        g_assert_no_error (error);
        r = augur_replay_new (series, 300, pred, &error);
        g_assert_no_error (error);
        augur_replay_config_init (&cfg, AUGUR_REPLAY_AUGUR, 300);
        augur_replay_cpu_config_init (&cc);
        cc.host_quantile = 0.8;         /* 3.26 cores: short only in the bursts */
        g_assert_true (augur_replay_cpu_contended (r, &cfg, &cc, &res, &error));
        g_assert_no_error (error);
        g_test_message ("host %.2f cores, contended %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                        "; unserved all %.4f/%.4f, in bursts %.4f/%.4f (hotplug alone / + weight); raises %"
                        G_GUINT64_FORMAT, res.host_cores, res.contended_steps, res.host_steps,
                        res.unserved[AUGUR_REPLAY_CPU_HOTPLUG_EQUAL] / res.demand,
                        res.unserved[AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT] / res.demand,
                        res.burst_unserved[AUGUR_REPLAY_CPU_HOTPLUG_EQUAL] / res.burst_demand,
                        res.burst_unserved[AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT] / res.burst_demand, res.raises);
        g_assert_cmpfloat_with_epsilon (res.host_cores, 3.26, 1e-3);
        g_assert_cmpuint (res.contended_steps, >, 0);
        g_assert_cmpuint (res.raises, >, 0);
        g_assert_cmpuint (res.burst_steps, >, 0);
        /* Work-conserving: the weights never change the total. */
        g_assert_cmpfloat_with_epsilon (res.unserved[AUGUR_REPLAY_CPU_STATIC_EQUAL],
                                        res.unserved[AUGUR_REPLAY_CPU_STATIC_WEIGHT], 1e-6 * res.demand);
        /* The bursting guest is served more in its bursts with the weight. */
        g_assert_cmpfloat (res.burst_unserved[AUGUR_REPLAY_CPU_STATIC_WEIGHT], <,
                           res.burst_unserved[AUGUR_REPLAY_CPU_STATIC_EQUAL]);
        g_assert_cmpfloat (res.burst_unserved[AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT], <=,
                           res.burst_unserved[AUGUR_REPLAY_CPU_HOTPLUG_EQUAL]);
        /* Only augur's policy replays here. */
        cfg.policy = AUGUR_REPLAY_STATIC;
        g_assert_false (augur_replay_cpu_contended (r, &cfg, &cc, &res, &error));
        g_assert_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_INVAL);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/replay-cpu/contended", test_contended);
        return g_test_run ();
}
