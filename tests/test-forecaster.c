/* test-forecaster.c — the predictor behind augurd's resize loop
 * (plugin/forecaster.c): the realized coverage it exports for metrics and
 * alerts (REALIZED COVERAGE). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "forecaster.h"
#include "metrics.h"

#define UUID "11111111-1111-4111-8111-111111111111"
#define TICK_S 5.0

/* Feed n ticks of a guest using mem_kib, at 0.5 of 2 cores. */
static void
feed (AugurForecastHooks *h, double *now_s, double mem_kib, guint n)
{
        for (guint i = 0; i < n; i++, *now_s += TICK_S) {
                AugurDerived d = {
                        .mem_used_kib = mem_kib, .mem_prov_kib = 4194304,
                        .cpu_cores_used = 0.5, .cpu_cores = 2, .cpu_pct = 25,
                        .disk_rd_kibps = 0, .disk_wr_kibps = 0, .net_rx_kibps = 0, .net_tx_kibps = 0,
                        .vcpus = 2,
                };
                AugurForecast f;

                h->forecast (h->ctx, UUID, "vm", &d, NULL, *now_s, &f);
        }
}

/* The exported coverage of resource, NAN when absent. */
static double
coverage (AugurForecaster *fc, const char *resource)
{
        g_autoptr(AugurMetrics) m = augur_metrics_new ();
        g_autoptr(GString) s = g_string_new (NULL);
        g_autofree char *key = g_strdup_printf ("augur_guest_forecast_coverage_ratio{domain=\"%s\",uuid=\"%s\","
                                                "resource=\"%s\"} ", UUID, UUID, resource);
        const char *p;

        augur_forecaster_export_errors (fc, m);
        augur_metrics_format (m, s);
        p = strstr (s->str, key);
        return p ? g_ascii_strtod (p + strlen (key), NULL) : NAN;
}

/* A steady guest stays under its bound.  Then its use jumps
 * past every bound, and the misses show at once; they fade (6 h
 * half-life) once the bound has caught up.  Fails when misses are not
 * scored, or every step is.  (The very first bound, served before any
 * history, is a miss too.) */
static void
test_coverage (void)
{
        g_autoptr(AugurForecaster) fc = augur_forecaster_new (NULL, TICK_S, 0, TRUE, 0, NULL);
        AugurForecastHooks h = { 0 };
        double now_s = 1.8e9, before, after, later;

        g_assert_nonnull (fc);
        augur_forecaster_hooks (fc, &h);
        feed (&h, &now_s, 1048576, 5);
        g_assert_true (isnan (coverage (fc, "memory")));        /* too few steps */
        feed (&h, &now_s, 1048576, 600);
        /* one miss: the first bound, served before any history */
        before = coverage (fc, "memory");
        g_assert_cmpfloat (before, >, 0.998);
        g_assert_cmpfloat (coverage (fc, "cpu"), >, 0.998);
        for (guint k = 0; k < 5; k++)                           /* doubling each step */
                feed (&h, &now_s, 1048576 * exp2 (k + 1), 1);
        after = coverage (fc, "memory");
        g_test_message ("coverage %.4f before the jumps, %.4f after", before, after);
        g_assert_cmpfloat (after, <, before);
        g_assert_cmpfloat (after, >, 0.95);                     /* 4-5 misses in ~600 */
        feed (&h, &now_s, 1048576 * 32, 600);
        later = coverage (fc, "memory");
        g_assert_cmpfloat (later, >, after);
}

/* A guest newer than the model's window is forecast by the baselines, and
 * the forecast says how long until the model serves (explain's note):
 * the whole window at the first step, nothing once the window is full. */
static void
test_window_short (void)
{
        g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "model", "default.augur", NULL);
        g_autoptr(AugurForecaster) fc = augur_forecaster_new (model, 300, 0, TRUE, 0, NULL);
        AugurForecastHooks h = { 0 };
        AugurDerived d = {
                .mem_used_kib = 1048576, .mem_prov_kib = 4194304, .cpu_cores_used = 0.5, .cpu_cores = 2,
                .cpu_pct = 25, .disk_rd_kibps = 0, .disk_wr_kibps = 0, .net_rx_kibps = 0, .net_tx_kibps = 0,
                .vcpus = 2,
        };
        AugurForecast f;
        double now_s = 1.8e9, window_s = 0, first_wait_s = 0;
        guint steps = 0;

        g_assert_nonnull (fc);
        g_assert_cmpstr (augur_forecaster_model_name (fc), !=, "baselines");
        augur_forecaster_hooks (fc, &h);
        do {
                g_assert_true (h.forecast (h.ctx, UUID, "vm", &d, NULL, now_s, &f));
                if (steps == 0) {
                        first_wait_s = f.model_wait_s;
                        window_s = f.model_window_s;
                }
                now_s += 300;
        } while (f.model_wait_s > 0 && ++steps < 1000);
        g_test_message ("window %.0f s, first wait %.0f s, served after %u steps", window_s, first_wait_s, steps);
        g_assert_cmpfloat (window_s, >=, 600);
        g_assert_cmpfloat (first_wait_s, >, 0);
        g_assert_cmpfloat (first_wait_s, <=, window_s);
        g_assert_cmpuint (steps, ==, (guint) (window_s / 300) - 1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/forecaster/coverage", test_coverage);
        g_test_add_func ("/forecaster/window-short", test_window_short);
        return g_test_run ();
}
