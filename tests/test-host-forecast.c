/* test-host-forecast.c — the host's memory need (model/host-forecast.h):
 * the sum, its own bound and the coverage it reports, which guests count
 * as running, the history window, and data it cannot use. */
#include "config.h"

#include "host-forecast.h"
#include "forecast.h"

#include <math.h>

#define MIB  1024.0
#define STEP 300
#define DAY  288                  /* steps */

/* A guest's series of n steps from t0: base MiB + amp MiB x a daily sine
 * + noise MiB (uniform, seeded), used and provisioned memory. */
static AugurSeries *
guest (const char *vm, gint64 t0, gsize n, double base, double amp, double noise, guint32 seed)
{
        AugurSeries *s = augur_series_new (vm);
        g_autoptr (GRand) r = g_rand_new_with_seed (seed);

        augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
        augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
        for (gsize i = 0; i < n; i++) {
                gsize k = augur_series_append (s, t0 + (gint64) i * STEP);
                double u = base + amp * sin (2 * G_PI * (double) i / DAY) +
                           noise * (g_rand_double (r) * 2 - 1);

                s->col[AUGUR_COL_MEM_USED_KIB][k] = (float) (u * MIB);
                s->col[AUGUR_COL_MEM_PROV_KIB][k] = (float) (8192 * MIB);
        }
        return s;
}

static AugurPredictor *
predictor (void)
{
        AugurPredictorConfig c;
        g_autoptr (GError) error = NULL;
        AugurPredictor *p;

        augur_host_forecast_predictor_config (&c, 0.95f);
        g_assert_cmpint (c.step_s, ==, STEP);
        p = augur_predictor_new (NULL, &c, &error);
        g_assert_no_error (error);
        return p;
}

/* Two steady guests: the need is their sum, the host bound is tight (its
 * residuals are all 0), and it covers what followed. */
static void
test_sum (void)
{
        g_autoptr (GPtrArray) s = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurPredictor) p = predictor ();
        g_autoptr (GError) error = NULL;
        AugurHostForecast hf;

        g_ptr_array_add (s, guest ("a", 1700000000, 3 * DAY, 1024, 0, 0, 1));
        g_ptr_array_add (s, guest ("b", 1700000000, 3 * DAY, 2048, 0, 0, 2));
        g_assert_true (augur_host_forecast (s, p, 0.95f, 0, &hf, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (hf.guests, ==, 2);
        g_assert_cmpuint (hf.H, ==, 48);
        for (guint h = 0; h < hf.H; h++) {
                g_assert_cmpfloat_with_epsilon (hf.p50_kib[h], 3072 * MIB, 1);
                g_assert_cmpfloat_with_epsilon (hf.upper_kib[h], 3072 * MIB, 1);
                g_assert_cmpfloat (hf.coverage_seen[h], ==, 1.0);
                g_assert_cmpuint (hf.scored[h], >, 2 * DAY);
        }
        g_assert_cmpfloat_with_epsilon (hf.held_kib, 3072 * MIB, 1);
        g_assert_cmpfloat_with_epsilon (augur_host_forecast_growth_kib (&hf, 1), 0, 1);
}

/* Noisy daily guests: the bound covers near its target online, is under
 * the all-peak sum (the guests do not all peak at once), and the median
 * beats or matches "used stays" at 4 h on a daily cycle. */
static void
test_coverage (void)
{
        g_autoptr (GPtrArray) s = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurPredictor) p = predictor ();
        g_autoptr (GError) error = NULL;
        AugurHostForecast hf;

        for (guint i = 0; i < 8; i++) {
                g_autofree char *vm = g_strdup_printf ("g%u", i);

                g_ptr_array_add (s, guest (vm, 1700000000, 10 * DAY, 1024 + 256 * i, 300, 200, 10 + i));
        }
        g_assert_true (augur_host_forecast (s, p, 0.95f, 0, &hf, &error));
        g_assert_no_error (error);
        for (guint h = 0; h < hf.H; h += 11) {
                g_test_message ("h=%u coverage %.3f mae %.0f (sum %.0f, last %.0f) upper %.0f all-peak %.0f MiB",
                                h + 1, hf.coverage_seen[h], hf.mae_kib[h] / MIB, hf.mae_sum_kib[h] / MIB,
                                hf.mae_last_kib[h] / MIB, hf.upper_kib[h] / MIB, hf.sum_upper_kib[h] / MIB);
                g_assert_cmpfloat (hf.coverage_seen[h], >=, 0.90);
                g_assert_cmpfloat (hf.coverage_seen[h], <=, 0.99);
                g_assert_cmpfloat (hf.upper_kib[h], >, hf.p50_kib[h]);
                g_assert_cmpfloat (hf.upper_kib[h], <, hf.sum_upper_kib[h]);
        }
        g_assert_cmpfloat (hf.mae_kib[47], <, hf.mae_last_kib[47]);
}

/* The growth a policy may plan on: the largest host bound over the
 * horizons asked for, above where the guests stand (held: their newest
 * used summed); NAN while no horizon's bound is the host's own; a set
 * cancel flag stops the replay with its own error. */
static void
test_growth (void)
{
        g_autoptr (GPtrArray) s = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (GPtrArray) young = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurPredictor) p = predictor ();
        g_autoptr (AugurPredictor) p2 = predictor ();
        g_autoptr (AugurPredictor) p3 = predictor ();
        g_autoptr (GError) error = NULL;
        AugurHostForecast hf;
        double held = 0, want1 = 0, want30 = 0;
        const gint cancel = 1;

        for (guint i = 0; i < 4; i++) {
                g_autofree char *vm = g_strdup_printf ("g%u", i);
                AugurSeries *g = guest (vm, 1700000000, 5 * DAY + 40, 1024 + 256 * i, 300, 100, 20 + i);

                held += g->col[AUGUR_COL_MEM_USED_KIB][g->n - 1];
                g_ptr_array_add (s, g);
        }
        g_assert_true (augur_host_forecast (s, p, 0.95f, 0, &hf, &error));
        g_assert_no_error (error);
        g_assert_cmpfloat_with_epsilon (hf.held_kib, held, 1);
        for (guint h = 0; h < hf.H; h++) {
                want1 = MAX (want1, hf.upper_kib[h] - held);
                if (h >= 29)
                        want30 = MAX (want30, hf.upper_kib[h] - held);
        }
        g_test_message ("growth from h=1 %.0f MiB, from h=30 %.0f MiB", want1 / MIB, want30 / MIB);
        g_assert_cmpfloat (want1, >, 0);
        g_assert_cmpfloat_with_epsilon (augur_host_forecast_growth_kib (&hf, 1), want1, 1);
        g_assert_cmpfloat_with_epsilon (augur_host_forecast_growth_kib (&hf, 30), want30, 1);
        g_assert_true (isnan (augur_host_forecast_growth_kib (&hf, 49)));

        /* Ten steps of history: no horizon has scored AUGUR_HOST_FC_WARM. */
        g_ptr_array_add (young, guest ("young", 1700000000, 10, 1024, 300, 100, 7));
        g_assert_true (augur_host_forecast (young, p2, 0.95f, 0, &hf, &error));
        g_assert_no_error (error);
        g_assert_true (isnan (augur_host_forecast_growth_kib (&hf, 1)));

        g_assert_false (augur_host_forecast_full (s, p3, 0.95f, 0, &cancel, &hf, &error));
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_CANCELLED);
}

/* A guest whose history ended a day ago ran then (its residuals count)
 * but is not on the host now; the window keeps only the newest day. */
static void
test_running_and_window (void)
{
        g_autoptr (GPtrArray) s = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurPredictor) p = predictor ();
        g_autoptr (AugurPredictor) p2 = predictor ();
        g_autoptr (GError) error = NULL;
        AugurHostForecast hf;

        g_ptr_array_add (s, guest ("now", 1700000000, 4 * DAY, 1024, 0, 0, 1));
        g_ptr_array_add (s, guest ("gone", 1700000000, 3 * DAY - 10, 4096, 0, 0, 2));
        g_assert_true (augur_host_forecast (s, p, 0.95f, 0, &hf, &error));
        g_assert_cmpuint (hf.guests_seen, ==, 2);
        g_assert_cmpuint (hf.guests, ==, 1);
        g_assert_cmpfloat_with_epsilon (hf.p50_kib[0], 1024 * MIB, 1);

        /* The newest day only: "gone" ended before it. */
        g_assert_true (augur_host_forecast (s, p2, 0.95f, 86400, &hf, &error));
        g_assert_cmpuint (hf.guests_seen, ==, 1);
        g_assert_cmpuint (hf.scored[0], <=, DAY);
}

/* No memory history at all: a clear error, not a zero forecast. */
static void
test_no_memory (void)
{
        g_autoptr (GPtrArray) s = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr (AugurPredictor) p = predictor ();
        g_autoptr (GError) error = NULL;
        AugurSeries *cpu = augur_series_new ("cpu-only");
        AugurHostForecast hf;

        augur_series_ensure_col (cpu, AUGUR_COL_CPU_PCT);
        for (gsize i = 0; i < 100; i++) {
                gsize k = augur_series_append (cpu, 1700000000 + (gint64) i * STEP);

                cpu->col[AUGUR_COL_CPU_PCT][k] = 50;
        }
        g_ptr_array_add (s, cpu);
        g_assert_false (augur_host_forecast (s, p, 0.95f, 0, &hf, &error));
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/host-forecast/sum", test_sum);
        g_test_add_func ("/host-forecast/coverage", test_coverage);
        g_test_add_func ("/host-forecast/running-and-window", test_running_and_window);
        g_test_add_func ("/host-forecast/growth", test_growth);
        g_test_add_func ("/host-forecast/no-memory", test_no_memory);
        return g_test_run ();
}
