/* test-baselines.c — model/baselines.c.
 *
 *   /baselines/ridge-ar1          ridge AR recovers a known AR(1) process
 *                                 (level coefficient phi^h - 1, intercept
 *                                 (1 - phi^h) mu) for h = 1, 3, 12
 *   /baselines/seasonal-naive     exact on a periodic series; NAN when
 *                                 yesterday is missing
 *   /baselines/simple             last value, mean_1h, ewma on a table
 *   /baselines/online-equals-batch every baseline, series with holes and
 *                                 skipped ticks: the online state forecasts
 *                                 exactly what the batch form does
 */
#include "baselines.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

#define STEP 300
#define T0   1372629600

/* Box-Muller normal from testutil's LCG, u1 kept off 0. */
static double
rand_normal (guint64 *s)
{
        double u1, u2;

        u1 = ((augur_test_lcg (s) >> 11) + 1.0) / 9007199254740993.0;
        u2 = augur_test_urand (s);
        return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

typedef struct {
        gsize val_start, test_start, n;
} Split3;

static gboolean
split_point_ok (gpointer data, gsize k, guint h, int split)
{
        const Split3 *sp = data;
        gsize lo = split == 0 ? 0 : (split == 1 ? sp->val_start : sp->test_start);
        gsize hi = split == 0 ? sp->val_start : (split == 1 ? sp->test_start : sp->n);

        return k >= lo && k + h < hi;
}

static void
test_baselines_ridge_ar1 (void)
{
        const double phi = 0.8, mu = 30.0, sigma = 2.0;
        const gsize n = 8000;   /* 4 x 28 days: enough that the tod terms settle */
        const guint n_series = 4, H = 12;
        AugurBaselineSeries S[4];
        float *y[4];
        gint64 *ts = g_new (gint64, n);
        Split3 sp = { 6000, 7000, 8000 };
        AugurBaselineParams p;
        g_autoptr (GError) error = NULL;
        guint64 rng = 42;
        static const guint hs[] = { 1, 3, 12 };

        for (gsize k = 0; k < n; k++)
                ts[k] = T0 + (gint64) k * STEP;
        for (guint s = 0; s < n_series; s++) {
                double v = mu;

                y[s] = g_new (float, n);
                for (gsize k = 0; k < n; k++) {
                        v = mu + phi * (v - mu) + sigma * rand_normal (&rng);
                        y[s][k] = (float) v;
                }
                memset (&S[s], 0, sizeof S[s]);
                S[s].y = y[s];
                S[s].ts = ts;
                S[s].n = n;
                S[s].point_ok = split_point_ok;
                S[s].data = &sp;
        }
        augur_baseline_params_init (&p, H, STEP);
        g_assert_true (augur_baseline_fit (&p, S, n_series, 0, 1, &error));
        g_assert_no_error (error);
        g_assert_true (p.ridge_ok);
        for (guint i = 0; i < G_N_ELEMENTS (hs); i++) {
                guint h = hs[i];
                double want_level = pow (phi, h) - 1.0;
                double want_icpt = (1.0 - pow (phi, h)) * mu;
                const float *w = p.ridge_w[h - 1];

                g_test_message ("h=%u level %.4f (want %.4f) intercept %.3f (want %.3f) lambda %g",
                                h, w[0], want_level, w[AUGUR_RIDGE_P - 1], want_icpt, p.ridge_lambda);
                /* Tolerances are sampling error, not numerics: a plain
                 * OLS of the same sample (checked offline) gives the same
                 * -0.1845 / -0.4523 at h = 1 / 3. */
                if (h <= 3)   /* at h = 12 the lags share the level's weight */
                        g_assert_cmpfloat_with_epsilon (w[0], want_level, 0.045);
                /* The implied mean -intercept / level is mu. */
                g_assert_cmpfloat_with_epsilon (-w[AUGUR_RIDGE_P - 1] / w[0], mu, 0.5);
                (void) want_icpt;
                for (int j = 1; j < AUGUR_RIDGE_P - 1; j++) {
                        /* Sampling noise only: lag differences and the
                         * time-of-day terms carry no signal here. */
                        double tol = j < AUGUR_RIDGE_LAGS ? 0.05 : 0.3;   /* tod terms: weakest-identified */

                        if (fabs (w[j]) > tol)
                                g_test_message ("  w[%d] = %.4f", j, w[j]);
                        g_assert_cmpfloat_with_epsilon (w[j], 0.0, tol);
                }
        }
        /* Forecasts against the oracle mu + phi^h (y_k - mu) on the last
         * 1000 steps (never fitted on): RMS gap well under the forecast
         * error itself (sigma * sqrt(sum phi^2i) >= 2). */
        {
                g_autofree float *r = g_new (float, n * H);

                augur_baseline_batch (AUGUR_BL_RIDGE_AR, &p, y[0], ts, n, r);
                for (guint i = 0; i < G_N_ELEMENTS (hs); i++) {
                        guint h = hs[i];
                        double sse = 0;
                        guint m = 0;

                        for (gsize k = sp.test_start; k + h < n; k++) {
                                double oracle = mu + pow (phi, h) * (y[0][k] - mu);
                                double e = r[k * H + h - 1] - oracle;

                                sse += e * e;
                                m++;
                        }
                        g_test_message ("h=%u RMS gap to the oracle %.3f", h, sqrt (sse / m));
                        g_assert_cmpfloat (sqrt (sse / m), <, 0.5);
                }
        }
        /* The forecast itself: from y = mu + 10 the h=3 forecast is
         * mu + 10 phi^3. */
        {
                AugurBaselineState st;
                float f[12];

                augur_baseline_state_init (&st, &p);
                for (int k = 0; k < 12; k++)
                        augur_baseline_state_update (&st, T0 + k * STEP, (float) (mu + 10));
                g_assert_true (augur_baseline_state_forecast (&st, AUGUR_BL_RIDGE_AR, f));
                g_assert_cmpfloat_with_epsilon (f[2], mu + 10 * pow (phi, 3), 0.5);
        }
        for (guint s = 0; s < n_series; s++)
                g_free (y[s]);
        g_free (ts);
}

static void
test_baselines_seasonal (void)
{
        const gsize n = 3 * AUGUR_BL_PERIOD;
        g_autofree float *y = g_new (float, n);
        g_autofree gint64 *ts = g_new (gint64, n);
        g_autofree float *r = NULL;
        AugurBaselineParams p;

        augur_baseline_params_init (&p, 12, STEP);
        r = g_new (float, n * p.H);
        for (gsize k = 0; k < n; k++) {
                ts[k] = T0 + (gint64) k * STEP;
                y[k] = (float) (50 + 40 * sin (2 * G_PI * (double) k / AUGUR_BL_PERIOD) + (k % 4));   /* 288 = 72 * 4: periodic */
        }
        y[AUGUR_BL_PERIOD + 3] = NAN;
        augur_baseline_batch (AUGUR_BL_SEASONAL_NAIVE, &p, y, ts, n, r);
        for (gsize k = AUGUR_BL_PERIOD; k + p.H < n; k++)
                for (guint h = 1; h <= p.H; h++) {
                        float want = y[k + h];
                        float got = r[k * p.H + h - 1];

                        if (k + h == 2 * AUGUR_BL_PERIOD + 3 || k + h == AUGUR_BL_PERIOD + 3)
                                continue;
                        g_assert_cmpfloat (got, ==, want);
                }
        /* Target 2*P+3: yesterday (P+3) is missing. */
        g_assert_true (isnan (r[(2 * AUGUR_BL_PERIOD + 2) * p.H + 0]));
        /* Before one period of history there is nothing. */
        g_assert_true (isnan (r[10 * p.H + 0]));
}

/* Small table: value rows, expected last / mean_1h at the end. */
static void
test_baselines_simple (void)
{
        static const struct {
                const char *name;
                float y[14];
                gsize n;
                float want_last, want_mean;
        } rows[] = {
                { "constant", { 5, 5, 5, 5 }, 4, 5, 5 },
                { "ramp", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 }, 14, 14, 8.5f },
                { "hole-at-end", { 1, 2, 3, NAN }, 4, 3, 2 },
                { "all-missing", { NAN, NAN }, 2, NAN, NAN },
        };

        for (guint i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurBaselineParams p;
                g_autofree gint64 *ts = g_new (gint64, rows[i].n);
                g_autofree float *r = NULL;
                gsize k = rows[i].n - 1;

                g_test_message ("row %s", rows[i].name);
                augur_baseline_params_init (&p, 3, STEP);
                r = g_new (float, rows[i].n * p.H);
                for (gsize j = 0; j < rows[i].n; j++)
                        ts[j] = T0 + (gint64) j * STEP;
                augur_baseline_batch (AUGUR_BL_LAST_VALUE, &p, rows[i].y, ts, rows[i].n, r);
                if (isnan (rows[i].want_last))
                        g_assert_true (isnan (r[k * p.H + 2]));
                else
                        g_assert_cmpfloat (r[k * p.H + 2], ==, rows[i].want_last);
                augur_baseline_batch (AUGUR_BL_MEAN_1H, &p, rows[i].y, ts, rows[i].n, r);
                if (isnan (rows[i].want_mean))
                        g_assert_true (isnan (r[k * p.H]));
                else
                        g_assert_cmpfloat_with_epsilon (r[k * p.H], rows[i].want_mean, 1e-6);
                p.ewma_alpha = 1.0f;   /* alpha 1 = last observed value */
                augur_baseline_batch (AUGUR_BL_EWMA, &p, rows[i].y, ts, rows[i].n, r);
                if (isnan (rows[i].want_last))
                        g_assert_true (isnan (r[k * p.H]));
                else
                        g_assert_cmpfloat (r[k * p.H], ==, rows[i].want_last);
        }
}

static gboolean
same_float (float a, float b)
{
        return (isnan (a) && isnan (b)) || a == b;
}

static void
test_baselines_online_batch (void)
{
        const gsize n = 900;
        g_autofree float *y = g_new (float, n);
        g_autofree gint64 *ts = g_new (gint64, n);
        g_autofree float *r = NULL;
        AugurBaselineParams p;
        guint64 rng = 7;

        augur_baseline_params_init (&p, 12, STEP);
        p.ewma_alpha = 0.3f;
        p.ridge_ok = TRUE;
        for (guint h = 0; h < p.H; h++)
                for (int j = 0; j < AUGUR_RIDGE_P; j++)
                        p.ridge_w[h][j] = (float) (0.01 * (j + 1) * (h % 3 == 0 ? -1 : 1));
        r = g_new (float, n * p.H);
        for (gsize k = 0; k < n; k++) {
                ts[k] = T0 + (gint64) k * STEP;
                y[k] = (float) (20 + 5 * rand_normal (&rng));
                /* Holes: a missing value, a run of 3, and a run longer than
                 * the ring (400 steps: held values expire). */
                if (k == 50 || (k >= 120 && k < 123) || (k >= 300 && k < 700))
                        y[k] = NAN;
        }
        for (int kind = 0; kind < AUGUR_BL_N; kind++) {
                AugurBaselineState st;
                guint compared = 0;

                augur_baseline_batch ((AugurBaselineKind) kind, &p, y, ts, n, r);
                augur_baseline_state_init (&st, &p);
                for (gsize k = 0; k < n; k++) {
                        float f[AUGUR_BL_MAX_H];

                        /* The daemon skips ticks with no sample at all. */
                        if (isnan (y[k]) && (k % 2 == 0))
                                continue;
                        augur_baseline_state_update (&st, ts[k], y[k]);
                        augur_baseline_state_forecast (&st, (AugurBaselineKind) kind, f);
                        for (guint h = 0; h < p.H; h++) {
                                if (!same_float (f[h], r[k * p.H + h]))
                                        g_test_message ("%s: step %" G_GSIZE_FORMAT " h %u online %g batch %g",
                                                        augur_baseline_name ((AugurBaselineKind) kind), k, h + 1,
                                                        f[h], r[k * p.H + h]);
                                g_assert_true (same_float (f[h], r[k * p.H + h]));
                        }
                        compared++;
                }
                g_assert_cmpuint (compared, >, n / 2);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/baselines/ridge-ar1", test_baselines_ridge_ar1);
        g_test_add_func ("/baselines/seasonal-naive", test_baselines_seasonal);
        g_test_add_func ("/baselines/simple", test_baselines_simple);
        g_test_add_func ("/baselines/online-equals-batch", test_baselines_online_batch);
        return g_test_run ();
}
