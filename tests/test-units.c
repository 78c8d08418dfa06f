/* test-units.c — the units contract (common/units.c), the pure helpers
 * (common/util.c) and AugurSeries ordering (common/series.c). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "series.h"
#include "units.h"
#include "util.h"

static AugurDomainSample
sample (gint64 cpu_ns, gint64 avail, gint64 usable, gint64 actual, gint64 max, gint64 vcpus)
{
        AugurDomainSample s = { 0 };

        if (cpu_ns >= 0)
                augur_sample_set (&s, AUGUR_STAT_CPU_TIME_NS, cpu_ns);
        if (avail >= 0)
                augur_sample_set (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, avail);
        if (usable >= 0)
                augur_sample_set (&s, AUGUR_STAT_BALLOON_USABLE_KIB, usable);
        if (actual >= 0)
                augur_sample_set (&s, AUGUR_STAT_BALLOON_CURRENT_KIB, actual);
        if (max >= 0)
                augur_sample_set (&s, AUGUR_STAT_BALLOON_MAXIMUM_KIB, max);
        if (vcpus >= 0)
                augur_sample_set (&s, AUGUR_STAT_VCPU_CURRENT, vcpus);
        return s;
}

static void
test_derive_rates (void)
{
        AugurDomainSample a = sample (1000000000, 500000, 300000, 524288, 1048576, 2);
        AugurDomainSample b = sample (4000000000, 500000, 200000, 524288, 1048576, 2);
        AugurDerived d;
        AugurDeltas dl;

        /* 3 s of CPU over 2 s on 2 vCPUs = 1.5 cores = 75 % */
        augur_units_derive (&a, &b, 2.0, &d, &dl);
        g_assert_cmpfloat_with_epsilon (d.cpu_cores_used, 1.5, 1e-9);
        g_assert_cmpfloat_with_epsilon (d.cpu_pct, 75.0, 1e-9);
        g_assert_cmpfloat_with_epsilon (d.mem_used_kib, 300000, 1e-9);
        /* capacity: the <memory> maximum, not the balloon (units.h) */
        g_assert_cmpfloat_with_epsilon (d.mem_prov_kib, 1048576, 1e-9);
        g_assert_cmpfloat_with_epsilon (dl.d[AUGUR_STAT_CPU_TIME_NS], 3e9, 1);
}

static void
test_derive_reset_and_gap (void)
{
        AugurDomainSample a = sample (9000000000, 500000, 300000, -1, -1, 1);
        AugurDomainSample b = sample (1000000000, 500000, 300000, -1, -1, 1);
        AugurDerived d;
        AugurDeltas dl;

        /* cpu.time went backwards: the domain restarted.  Unknown, not negative. */
        augur_units_derive (&a, &b, 5.0, &d, &dl);
        g_assert_true (isnan (d.cpu_cores_used));
        g_assert_true (isnan (dl.d[AUGUR_STAT_CPU_TIME_NS]));
        /* A gap longer than AUGUR_MAX_RATE_GAP_S gives no rate either. */
        augur_units_derive (&b, &a, AUGUR_MAX_RATE_GAP_S + 1, &d, NULL);
        g_assert_true (isnan (d.cpu_cores_used));
        /* N-1 / N boundary: exactly the max gap still derives. */
        augur_units_derive (&b, &a, AUGUR_MAX_RATE_GAP_S, &d, NULL);
        g_assert_false (isnan (d.cpu_cores_used));
        /* No previous sample at all. */
        augur_units_derive (NULL, &a, 5.0, &d, NULL);
        g_assert_true (isnan (d.cpu_cores_used));
}

static void
test_derive_missing (void)
{
        AugurDomainSample a = sample (-1, 500000, -1, -1, -1, -1);
        AugurDerived d;

        /* Balloon stats not reported yet: used is unknown, never 0. */
        augur_units_derive (NULL, &a, 5.0, &d, NULL);
        g_assert_true (isnan (d.mem_used_kib));
        g_assert_true (isnan (d.mem_prov_kib));
        g_assert_true (isnan (d.cpu_pct));
}

static void
test_derive_autodeflate (void)
{
        /* Balloon at 512 MiB of 1 GiB max.  Without autodeflate the guest's
         * MemTotal follows the balloon (~490 MiB); with it MemTotal stays
         * near the max (~1000 MiB) and the ballooned 512 MiB read as used. */
        AugurDomainSample normal = sample (-1, 490 * 1024, 390 * 1024, 512 * 1024, 1024 * 1024, 1);
        AugurDomainSample deflate = sample (-1, 1000 * 1024, 388 * 1024, 512 * 1024, 1024 * 1024, 1);
        AugurDerived d;

        augur_units_derive (NULL, &normal, 1, &d, NULL);
        g_assert_cmpfloat_with_epsilon (d.mem_used_kib, 100 * 1024, 1e-6);
        augur_units_derive (NULL, &deflate, 1, &d, NULL);
        g_assert_cmpfloat_with_epsilon (d.mem_used_kib, 100 * 1024, 1e-6);
}

static void
test_duration (void)
{
        static const struct {
                const char *text;
                double s;        /* < 0: must fail */
        } rows[] = {
                { "90s", 90 }, { "15m", 900 }, { "1h", 3600 }, { "2d", 172800 },
                { "1.5h", 5400 }, { "42", 42 }, { "0", 0 },
                { "", -1 }, { "h", -1 }, { "-5m", -1 }, { "5x", -1 }, { "5mm", -1 },
                { "nan", -1 }, { "1e300d", -1 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                double v = -1;
                gboolean ok = augur_parse_duration_s (rows[i].text, &v, &error);

                g_test_message ("row %zu: '%s'", i, rows[i].text);
                if (rows[i].s < 0) {
                        g_assert_false (ok);
                        g_assert_nonnull (error);
                } else {
                        g_assert_true (ok);
                        g_assert_cmpfloat_with_epsilon (v, rows[i].s, 1e-9);
                }
        }
}

static void
test_time (void)
{
        gint64 t = 0;

        g_assert_true (augur_parse_time_s ("1372629804", &t, NULL));
        g_assert_cmpint (t, ==, 1372629804);
        g_assert_true (augur_parse_time_s ("2013-07-01T00:00:00Z", &t, NULL));
        g_assert_cmpint (t, ==, 1372636800);
        g_assert_true (augur_parse_time_s ("2013-07-01T00:00:00", &t, NULL));
        g_assert_cmpint (t, ==, 1372636800);
        g_assert_false (augur_parse_time_s ("yesterday", &t, NULL));
        g_assert_false (augur_parse_time_s ("", &t, NULL));
}

static void
test_uuid_v5 (void)
{
        char a[37], b[37], c[37];

        augur_uuid_v5_from_name ("bb-1", a);
        augur_uuid_v5_from_name ("bb-1", b);
        augur_uuid_v5_from_name ("bb-2", c);
        g_assert_cmpstr (a, ==, b);
        g_assert_cmpstr (a, !=, c);
        g_assert_true (augur_is_uuid (a));
        g_assert_cmpint (a[14], ==, '5');                       /* version 5 */
        g_assert_true (strchr ("89ab", a[19]) != NULL);         /* RFC 4122 variant */
        g_assert_false (augur_is_uuid ("bb-1"));
        g_assert_false (augur_is_uuid ("6695eb01-f6a4-8304-79aa-97f2502e193"));
}

/* The first element >= x: before, between, on and after the elements,
 * with duplicates and the empty array, for both element types. */
static void
test_lower_bound (void)
{
        static const float f[] = { 1, 3, 3, 5 };
        static const gint64 i[] = { 10, 30, 30, 50 };
        static const struct {
                double x;
                guint want;
        } rows[] = {
                { 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 3 }, { 5, 3 }, { 6, 4 },
        };

        for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
                g_test_message ("row %" G_GSIZE_FORMAT ": x = %g", r, rows[r].x);
                g_assert_cmpuint (augur_lower_bound_f (f, G_N_ELEMENTS (f), (float) rows[r].x), ==, rows[r].want);
                g_assert_cmpuint (augur_lower_bound_i64 (i, G_N_ELEMENTS (i), (gint64) (rows[r].x * 10)), ==,
                                  rows[r].want);
        }
        g_assert_cmpuint (augur_lower_bound_f (f, 0, 1), ==, 0);
        g_assert_cmpuint (augur_lower_bound_i64 (i, 0, 10), ==, 0);
}

static void
test_series_sort_dedup (void)
{
        g_autoptr(AugurSeries) s = augur_series_new ("vm");
        static const gint64 ts[] = { 300, 100, 200, 100 };
        static const float v[] = { 3, 1, 2, NAN };

        augur_series_ensure_col (s, AUGUR_COL_CPU_PCT);
        for (gsize i = 0; i < G_N_ELEMENTS (ts); i++) {
                gsize r = augur_series_append (s, ts[i]);

                s->col[AUGUR_COL_CPU_PCT][r] = v[i];
        }
        augur_series_sort_dedup (s);
        g_assert_cmpuint (s->n, ==, 3);
        g_assert_cmpint (s->ts[0], ==, 100);
        g_assert_cmpint (s->ts[2], ==, 300);
        /* The later duplicate was missing: the earlier value stays. */
        g_assert_cmpfloat (s->col[AUGUR_COL_CPU_PCT][0], ==, 1);
        g_assert_cmpfloat (s->col[AUGUR_COL_CPU_PCT][1], ==, 2);
        g_assert_null (s->col[AUGUR_COL_MEM_USED_KIB]);
        g_assert_cmpint (augur_col_from_name ("mem_used_kib"), ==, AUGUR_COL_MEM_USED_KIB);
        g_assert_cmpint (augur_col_from_name ("nope"), ==, -1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/units/derive/rates", test_derive_rates);
        g_test_add_func ("/units/derive/reset-and-gap", test_derive_reset_and_gap);
        g_test_add_func ("/units/derive/missing", test_derive_missing);
        g_test_add_func ("/units/derive/autodeflate", test_derive_autodeflate);
        g_test_add_func ("/util/duration", test_duration);
        g_test_add_func ("/util/time", test_time);
        g_test_add_func ("/util/uuid-v5", test_uuid_v5);
        g_test_add_func ("/util/lower-bound", test_lower_bound);
        g_test_add_func ("/series/sort-dedup", test_series_sort_dedup);
        return g_test_run ();
}
