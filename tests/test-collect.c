/* test-collect.c — the stats-record parser (plugin/collect.c), fed records
 * captured from real guests with `virsh domstats --raw` (tests/data/) and
 * hand-built typed parameters for the hostile cases. */
#include "config.h"

#include <string.h>

#include "collect.h"

static GArray *
load_fixture (const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
        g_autofree char *text = NULL;
        GArray *a;

        g_assert_true (g_file_get_contents (path, &text, NULL, &error));
        a = augur_collect_parse_domstats_text (text, &error);
        g_assert_no_error (error);
        return a;
}

static const AugurDomainSample *
find (GArray *a, const char *name)
{
        for (guint i = 0; i < a->len; i++)
                if (g_strcmp0 (g_array_index (a, AugurDomainSample, i).name, name) == 0)
                        return &g_array_index (a, AugurDomainSample, i);
        g_assert_not_reached ();
}

static void
test_captured_full (void)
{
        g_autoptr(GArray) a = load_fixture ("domstats-2guests.txt");
        const AugurDomainSample *s = find (a, "full");

        /* Every balloon field a running guest reports after its driver
         * loaded: the 34 fields of a real TCG guest's domstats (the
         * fixture was captured from one). */
        for (int f = AUGUR_STAT_BALLOON_CURRENT_KIB; f <= AUGUR_STAT_VCPU_MAXIMUM; f++) {
                g_test_message ("field %s", augur_stat_info[f].column);
                g_assert_true (augur_sample_has (s, f));
        }
        g_assert_cmpint (s->v[AUGUR_STAT_STATE], ==, 1);
        g_assert_cmpint (s->v[AUGUR_STAT_VCPU_MAXIMUM], ==, 4);
        /* vcpu.0.time must not be mistaken for cpu.time */
        g_assert_cmpint (s->v[AUGUR_STAT_CPU_TIME_NS], !=, 0);
}

static void
test_captured_missing (void)
{
        g_autoptr(GArray) a = load_fixture ("domstats-2guests.txt");
        const AugurDomainSample *s = find (a, "booting");

        /* Before the guest's balloon driver reports, the fields are absent:
         * they must stay absent (NULL in the store), not become 0. */
        g_assert_true (augur_sample_has (s, AUGUR_STAT_BALLOON_CURRENT_KIB));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BALLOON_UNUSED_KIB));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BALLOON_AVAILABLE_KIB));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BALLOON_USABLE_KIB));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BLOCK_RD_BYTES));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_NET_RX_BYTES));
}

static virTypedParameter
param_ull (const char *field, unsigned long long v)
{
        virTypedParameter p = { 0 };

        g_strlcpy (p.field, field, sizeof p.field);
        p.type = VIR_TYPED_PARAM_ULLONG;
        p.value.ul = v;
        return p;
}

static void
test_devices_summed (void)
{
        virTypedParameter p[] = {
                param_ull ("block.count", 2),
                param_ull ("block.0.rd.bytes", 1000),
                param_ull ("block.1.rd.bytes", 500),
                param_ull ("block.0.wr.bytes", 7),
                param_ull ("net.0.rx.bytes", 10),
                param_ull ("net.1.rx.bytes", 20),
                param_ull ("net.0.tx.bytes", 3),
                param_ull ("block.x.rd.bytes", 999999),   /* malformed index: ignored */
                param_ull ("block.2.rd.bytesX", 999999),  /* different field: ignored */
        };
        AugurDomainSample s = { 0 };

        augur_collect_parse_params (p, G_N_ELEMENTS (p), &s, NULL);
        g_assert_cmpint (s.v[AUGUR_STAT_BLOCK_RD_BYTES], ==, 1500);
        g_assert_cmpint (s.v[AUGUR_STAT_BLOCK_WR_BYTES], ==, 7);
        g_assert_cmpint (s.v[AUGUR_STAT_NET_RX_BYTES], ==, 30);
        g_assert_cmpint (s.v[AUGUR_STAT_NET_TX_BYTES], ==, 3);
}

/* The per-device counters the I/O limits read (units.h PER DEVICE): a
 * disk's and an interface's, by name, in their own slots; an index past
 * the slots and a negative counter are left out. */
static void
test_devices_per_device (void)
{
        virTypedParameter p[] = {
                param_ull ("block.0.rd.bytes", 1000),
                param_ull ("net.0.rx.bytes", 10),
                param_ull ("net.0.tx.bytes", 3),
                param_ull ("net.1.tx.bytes", 40),
                param_ull ("net.8.tx.bytes", 99),          /* past the slots: ignored */
                param_ull ("net.0.name", 0),                /* strings: below */
                param_ull ("net.1.name", 0),
        };
        AugurDomainSample s = { 0 };

        p[5].type = VIR_TYPED_PARAM_STRING;
        p[5].value.s = (char *) "vnet0";
        p[6].type = VIR_TYPED_PARAM_STRING;
        p[6].value.s = (char *) "vnet1";
        augur_collect_parse_params (p, G_N_ELEMENTS (p), &s, NULL);
        g_assert_cmpuint (s.n_disks, ==, 1);
        g_assert_cmpint (s.disk[0].v[AUGUR_DISK_RD_BYTES], ==, 1000);
        g_assert_cmpuint (s.n_ifaces, ==, 2);
        g_assert_cmpstr (s.iface[0].name, ==, "vnet0");
        g_assert_cmpint (s.iface[0].v[AUGUR_IFACE_RX_BYTES], ==, 10);
        g_assert_cmpint (s.iface[0].v[AUGUR_IFACE_TX_BYTES], ==, 3);
        g_assert_cmpuint (s.iface[0].present, ==, 1u << AUGUR_IFACE_RX_BYTES | 1u << AUGUR_IFACE_TX_BYTES);
        g_assert_cmpstr (s.iface[1].name, ==, "vnet1");
        g_assert_cmpuint (s.iface[1].present, ==, 1u << AUGUR_IFACE_TX_BYTES);
        g_assert_cmpint (s.v[AUGUR_STAT_NET_TX_BYTES], ==, 3 + 40 + 99);   /* the sum still counts it */
}

static void
test_hostile_values (void)
{
        virTypedParameter p[4];
        AugurDomainSample s = { 0 };
        guint rejected = 0;

        p[0] = param_ull ("cpu.time", G_MAXUINT64);          /* > INT64_MAX */
        p[1] = param_ull ("balloon.unused", 100);
        p[2].type = VIR_TYPED_PARAM_STRING;                   /* wrong type */
        g_strlcpy (p[2].field, "balloon.usable", sizeof p[2].field);
        p[2].value.s = (char *) "lots";
        p[3].type = VIR_TYPED_PARAM_LLONG;                    /* negative size */
        g_strlcpy (p[3].field, "balloon.available", sizeof p[3].field);
        p[3].value.l = -5;
        augur_collect_parse_params (p, G_N_ELEMENTS (p), &s, &rejected);
        g_assert_cmpuint (rejected, ==, 3);
        g_assert_false (augur_sample_has (&s, AUGUR_STAT_CPU_TIME_NS));
        g_assert_false (augur_sample_has (&s, AUGUR_STAT_BALLOON_USABLE_KIB));
        g_assert_false (augur_sample_has (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB));
        g_assert_true (augur_sample_has (&s, AUGUR_STAT_BALLOON_UNUSED_KIB));
}

static void
test_device_sum_overflow (void)
{
        virTypedParameter p[] = {
                param_ull ("block.0.rd.bytes", G_MAXINT64 - 1),
                param_ull ("block.1.rd.bytes", 10),
        };
        AugurDomainSample s = { 0 };
        guint rejected = 0;

        augur_collect_parse_params (p, G_N_ELEMENTS (p), &s, &rejected);
        g_assert_cmpuint (rejected, ==, 1);
        g_assert_cmpint (s.v[AUGUR_STAT_BLOCK_RD_BYTES], ==, G_MAXINT64 - 1);
}

static void
test_text_garbage (void)
{
        g_autoptr(GError) error = NULL;
        GArray *a = augur_collect_parse_domstats_text ("  cpu.time=5\n", &error);

        g_assert_null (a);
        g_assert_error (error, AUGUR_COLLECT_ERROR, AUGUR_COLLECT_ERROR_TRANSIENT);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/collect/captured/full", test_captured_full);
        g_test_add_func ("/collect/captured/missing-balloon", test_captured_missing);
        g_test_add_func ("/collect/params/devices-summed", test_devices_summed);
        g_test_add_func ("/collect/params/per-device", test_devices_per_device);
        g_test_add_func ("/collect/params/hostile-values", test_hostile_values);
        g_test_add_func ("/collect/params/device-sum-overflow", test_device_sum_overflow);
        g_test_add_func ("/collect/text/garbage", test_text_garbage);
        return g_test_run ();
}
