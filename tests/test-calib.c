/* test-calib.c — conformal upper bounds (model/calib.c).
 *
 *   /calib/coverage-iid        exchangeable scores (normal, Laplace, skewed):
 *                              coverage of fresh points near the target
 *   /calib/per-vm              two VMs with 10x different spread: each VM
 *                              near target with its own ring, while the
 *                              global margin alone misses both
 *   /calib/online-shift        the spread triples mid-stream: with online
 *                              adds the ring follows and coverage recovers
 *   /calib/fallback            a VM with < min_n scores uses the global one;
 *                              fixed margins from a model file are used as is
 *   /calib/rank                the conformal rank for small n (N-1/N/N+1)
 */
#include "calib.h"
#include "testutil.h"

#include <math.h>

static guint64 rng_state;

static double
uniform (void)
{
        return ((augur_test_lcg (&rng_state) >> 11) + 0.5) / 9007199254740992.0;
}

static double
normal (void)
{
        return sqrt (-2.0 * log (uniform ())) * cos (2.0 * G_PI * uniform ());
}

typedef double (*Sampler) (void);

static double
laplace (void)
{
        double u = uniform () - 0.5;

        return (u < 0 ? 1 : -1) * log (1 - 2 * fabs (u));
}

static double
skewed (void)
{
        double e = -log (uniform ());   /* exponential: one long tail upwards */

        return e * e;
}

static void
test_calib_coverage_iid (void)
{
        static const struct {
                const char *name;
                Sampler f;
        } rows[] = {
                { "normal", normal }, { "laplace", laplace }, { "skewed", skewed },
        };

        for (guint r = 0; r < G_N_ELEMENTS (rows); r++) {
                g_autoptr (AugurCalib) c = augur_calib_new (3, 0.95f, 4096, 0);
                guint64 covered[3] = { 0 }, n = 20000;

                rng_state = 1000 + r;
                for (guint i = 0; i < 2000; i++)
                        for (guint h = 1; h <= 3; h++)
                                augur_calib_add (c, "vm", h, (float) (h * rows[r].f ()), FALSE);
                for (guint64 i = 0; i < n; i++)
                        for (guint h = 1; h <= 3; h++)
                                if (h * rows[r].f () <= augur_calib_margin (c, "vm", h))
                                        covered[h - 1]++;
                for (guint h = 0; h < 3; h++) {
                        double cov = (double) covered[h] / n;

                        g_test_message ("%s h=%u coverage %.4f", rows[r].name, h + 1, cov);
                        g_assert_cmpfloat (cov, >, 0.94);
                        g_assert_cmpfloat (cov, <, 0.96);
                }
        }
}

static void
test_calib_per_vm (void)
{
        g_autoptr (AugurCalib) c = augur_calib_new (1, 0.95f, 2048, 0);
        g_autoptr (AugurCalib) g = augur_calib_new (1, 0.95f, 2048, 0);
        const char *vms[2] = { "quiet", "noisy" };
        const double sd[2] = { 1.0, 10.0 };
        float gm;

        rng_state = 77;
        for (guint i = 0; i < 2000; i++)
                for (guint v = 0; v < 2; v++) {
                        float s = (float) (sd[v] * normal ());

                        augur_calib_add (c, vms[v], 1, s, FALSE);
                        augur_calib_add (g, NULL, 1, s, FALSE);   /* global only */
                }
        gm = augur_calib_margin (g, "quiet", 1);
        for (guint v = 0; v < 2; v++) {
                guint64 own = 0, glob = 0, n = 20000;

                for (guint64 i = 0; i < n; i++) {
                        double s = sd[v] * normal ();

                        own += s <= augur_calib_margin (c, vms[v], 1);
                        glob += s <= gm;
                }
                g_test_message ("%s: own %.4f global %.4f", vms[v], (double) own / n, (double) glob / n);
                g_assert_cmpfloat ((double) own / n, >, 0.94);
                g_assert_cmpfloat ((double) own / n, <, 0.96);
                if (v == 0)
                        g_assert_cmpfloat ((double) glob / n, >, 0.99);   /* far too wide */
                else
                        g_assert_cmpfloat ((double) glob / n, <, 0.93);   /* too narrow   */
        }
}

static void
test_calib_online_shift (void)
{
        g_autoptr (AugurCalib) c = augur_calib_new (1, 0.95f, 0, 0);   /* ring 576 */
        guint64 covered = 0, n = 0;

        rng_state = 5;
        for (guint i = 0; i < 2000; i++)
                augur_calib_add (c, "vm", 1, (float) normal (), FALSE);
        /* The spread triples; score each point, then learn it (online). */
        for (guint i = 0; i < 6000; i++) {
                float s = (float) (3.0 * normal ());

                if (i >= 1000) {   /* after one ring length or so */
                        covered += s <= augur_calib_margin (c, "vm", 1);
                        n++;
                }
                augur_calib_add (c, "vm", 1, s, TRUE);
        }
        g_test_message ("coverage after the shift %.4f", (double) covered / n);
        g_assert_cmpfloat ((double) covered / n, >, 0.935);
        g_assert_cmpfloat ((double) covered / n, <, 0.965);
}

static void
test_calib_fallback (void)
{
        g_autoptr (AugurCalib) c = augur_calib_new (2, 0.9f, 100, 10);
        float fixed[2] = { 1.5f, 2.5f };
        float m;

        /* Global from 1..100 (conformal 0.9 quantile: rank ceil(101 * 0.9) = 91). */
        for (int i = 1; i <= 100; i++)
                augur_calib_add (c, "big", 1, (float) i, FALSE);
        g_assert_cmpfloat (augur_calib_margin (c, "big", 1), ==, 91.0f);
        g_assert_cmpfloat (augur_calib_margin (c, "new", 1), ==, 91.0f);   /* no scores: global */
        g_assert_cmpfloat (augur_calib_margin (c, NULL, 1), ==, 91.0f);
        for (int i = 0; i < 9; i++)
                augur_calib_add (c, "new", 1, 1000.0f, TRUE);
        g_assert_cmpfloat (augur_calib_margin (c, "new", 1), ==, 91.0f);   /* 9 < min_n */
        m = -1;
        g_assert_false (augur_calib_vm_margin (c, "new", 1, &m));
        g_assert_cmpfloat (m, ==, -1);                                     /* not written */
        augur_calib_add (c, "new", 1, 1000.0f, TRUE);
        g_assert_cmpfloat (augur_calib_margin (c, "new", 1), ==, 1000.0f); /* 10: its own */
        g_assert_true (augur_calib_vm_margin (c, "new", 1, &m));
        g_assert_cmpfloat (m, ==, 1000.0f);
        g_assert_false (augur_calib_vm_margin (c, NULL, 1, &m));
        g_assert_cmpfloat (augur_calib_margin (c, "big", 2), ==, 0.0f);    /* nothing at h=2 */
        /* Non-finite scores are ignored. */
        augur_calib_add (c, "big", 1, NAN, FALSE);
        augur_calib_add (c, "big", 1, INFINITY, FALSE);
        g_assert_cmpfloat (augur_calib_margin (c, "big", 1), ==, 91.0f);
        /* Fixed global margins (model file). */
        augur_calib_set_global_margins (c, fixed);
        g_assert_cmpfloat (augur_calib_margin (c, "other", 2), ==, 2.5f);
        augur_calib_add (c, "x", 2, 99.0f, FALSE);                          /* global stays fixed */
        g_assert_cmpfloat (augur_calib_margin (c, "other", 2), ==, 2.5f);
}

static void
test_calib_rank (void)
{
        /* With n scores 1..n and coverage 0.95 the margin is the
         * ceil((n+1) 0.95)-th smallest, capped at n. */
        static const struct {
                guint n;
                float want;
        } rows[] = {
                { 1, 1 }, { 18, 18 }, { 19, 19 }, { 20, 20 }, { 39, 38 }, { 40, 39 }, { 41, 40 },
        };

        for (guint r = 0; r < G_N_ELEMENTS (rows); r++) {
                g_autoptr (AugurCalib) c = augur_calib_new (1, 0.95f, 64, 1);

                /* Insert in a scrambled order: the ring keeps a sorted copy. */
                for (guint i = 0; i < rows[r].n; i++)
                        augur_calib_add (c, "vm", 1, (float) ((i * 7) % rows[r].n + 1), TRUE);
                g_test_message ("n=%u", rows[r].n);
                g_assert_cmpfloat (augur_calib_margin (c, "vm", 1), ==, rows[r].want);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/calib/coverage-iid", test_calib_coverage_iid);
        g_test_add_func ("/calib/per-vm", test_calib_per_vm);
        g_test_add_func ("/calib/online-shift", test_calib_online_shift);
        g_test_add_func ("/calib/fallback", test_calib_fallback);
        g_test_add_func ("/calib/rank", test_calib_rank);
        return g_test_run ();
}
