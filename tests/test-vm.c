/* test-vm.c — per-VM policy metadata (plugin/vm.c): valid, partial,
 * invalid and hostile <metadata> never crash and never half-apply. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vm.h"

static void
test_full (void)
{
        AugurVmPolicy p;
        g_autofree char *warn = NULL;
        g_autofree char *back = NULL;
        AugurVmPolicy q;

        g_assert_true (augur_vm_policy_parse (
                "<augur:policy xmlns:augur='urn:augur:policy:1'><augur:mode>act</augur:mode>"
                "<augur:mem_min_mib>256</augur:mem_min_mib><augur:mem_max_mib>4096</augur:mem_max_mib>"
                "<augur:vcpus_min>1</augur:vcpus_min><augur:vcpus_max>4</augur:vcpus_max>"
                "<augur:priority>2000</augur:priority><augur:target_util_pct>60</augur:target_util_pct>"
                "<augur:quantile>0.9</augur:quantile></augur:policy>", &p, &warn));
        g_assert_null (warn);
        g_assert_true (p.mode_set);
        g_assert_cmpint (p.mode, ==, AUGUR_MODE_ACT);
        g_assert_cmpfloat (p.mem_min_kib, ==, 256 * 1024);
        g_assert_cmpfloat (p.mem_max_kib, ==, 4096 * 1024);
        g_assert_cmpint (p.vcpus_min, ==, 1);
        g_assert_cmpint (p.vcpus_max, ==, 4);
        g_assert_cmpint (p.priority, ==, 2000);
        g_assert_cmpfloat_with_epsilon (p.target_util, 0.6, 1e-9);
        g_assert_cmpfloat_with_epsilon (p.quantile, 0.9, 1e-9);
        /* Round trip through the writer (what virt-augur policy --set stores;
         * libvirt returns it without the prefix). */
        back = augur_vm_policy_to_xml (&p);
        g_assert_true (augur_vm_policy_parse (back, &q, NULL));
        g_assert_cmpint (q.mode, ==, p.mode);
        g_assert_cmpfloat (q.mem_max_kib, ==, p.mem_max_kib);
        g_assert_cmpint (q.priority, ==, p.priority);
        g_assert_cmpfloat_with_epsilon (q.quantile, 0.9, 1e-9);
}

/* The two I/O ceilings are separate keys: one set leaves the other
 * unset (a disk raise is no consent to a network one), both round-trip,
 * and 0 is out of range. */
static void
test_io_ceilings (void)
{
        AugurVmPolicy p, q;
        g_autofree char *warn = NULL, *back = NULL;

        g_assert_true (augur_vm_policy_parse ("<policy><net_max_mib_s>8</net_max_mib_s></policy>", &p, &warn));
        g_assert_null (warn);
        g_assert_cmpfloat (p.net_max_mib_s, ==, 8);
        g_assert_true (isnan (p.io_max_mib_s));
        p.io_max_mib_s = 40;
        back = augur_vm_policy_to_xml (&p);
        g_assert_true (augur_vm_policy_parse (back, &q, NULL));
        g_assert_cmpfloat (q.io_max_mib_s, ==, 40);
        g_assert_cmpfloat (q.net_max_mib_s, ==, 8);
        g_assert_true (augur_vm_policy_parse ("<policy><net_max_mib_s>0</net_max_mib_s></policy>", &q, &warn));
        g_assert_nonnull (warn);
        g_assert_true (isnan (q.net_max_mib_s));
}

/* io_max_iops: its own key (a byte ceiling is no IOPS consent), IO/s,
 * round-trips; 0 and above 10^8 are out of range. */
static void
test_io_max_iops (void)
{
        AugurVmPolicy p, q;
        g_autofree char *warn = NULL, *warn2 = NULL, *back = NULL;

        g_assert_true (augur_vm_policy_parse ("<policy><io_max_mib_s>40</io_max_mib_s></policy>", &p, &warn));
        g_assert_true (isnan (p.io_max_iops));
        g_assert_true (augur_vm_policy_parse ("<policy><io_max_iops>800</io_max_iops></policy>", &p, &warn));
        g_assert_null (warn);
        g_assert_cmpfloat (p.io_max_iops, ==, 800);
        g_assert_true (isnan (p.io_max_mib_s));
        back = augur_vm_policy_to_xml (&p);
        g_assert_nonnull (strstr (back, "<io_max_iops>800</io_max_iops>"));
        g_assert_true (augur_vm_policy_parse (back, &q, NULL));
        g_assert_cmpfloat (q.io_max_iops, ==, 800);
        g_assert_true (augur_vm_policy_parse ("<policy><io_max_iops>0</io_max_iops></policy>", &q, &warn));
        g_assert_nonnull (warn);
        g_assert_true (isnan (q.io_max_iops));
        g_assert_true (augur_vm_policy_parse ("<policy><io_max_iops>100000001</io_max_iops></policy>", &q, &warn2));
        g_assert_nonnull (warn2);
        g_assert_true (isnan (q.io_max_iops));
}

static void
test_invalid_values (void)
{
        static const char *const rows[] = {
                "<policy><mode>yolo</mode></policy>",
                "<policy><mem_min_mib>-5</mem_min_mib></policy>",
                "<policy><mem_min_mib>nan</mem_min_mib></policy>",
                "<policy><vcpus_max>2.5</vcpus_max></policy>",
                "<policy><priority>0</priority></policy>",
                "<policy><quantile>1.5</quantile></policy>",
                "<policy><target_util_pct>1e400</target_util_pct></policy>",
                "<policy><unknown>1</unknown></policy>",
                "<policy><mem_min_mib>4096</mem_min_mib><mem_max_mib>256</mem_max_mib></policy>",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurVmPolicy p, d;
                g_autofree char *warn = NULL;

                g_test_message ("row %zu: %s", i, rows[i]);
                g_assert_true (augur_vm_policy_parse (rows[i], &p, &warn));
                g_assert_nonnull (warn);
                augur_vm_policy_init (&d);
                /* Defaults for what was invalid. */
                g_assert_false (p.mode_set);
                g_assert_true (isnan (p.mem_min_kib));
                g_assert_true (isnan (p.mem_max_kib));
                g_assert_cmpint (p.vcpus_max, ==, d.vcpus_max);
                g_assert_cmpint (p.priority, ==, d.priority);
                g_assert_true (isnan (p.quantile));
                g_assert_true (isnan (p.target_util));
        }
}

static void
test_not_xml (void)
{
        static const char *const rows[] = {
                "", "not xml", "<policy><mode>act</policy>", "<policy>\x01\xff</policy>", NULL,
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurVmPolicy p;
                g_autofree char *warn = NULL;
                gboolean ok = augur_vm_policy_parse (rows[i], &p, &warn);

                g_test_message ("row %zu -> %s", i, warn ? warn : "(none)");
                if (!ok)
                        g_assert_nonnull (warn);
                g_assert_false (p.mode_set);
        }
}

static void
test_set_errors (void)
{
        AugurVmPolicy p;
        g_autoptr(GError) error = NULL;

        augur_vm_policy_init (&p);
        g_assert_true (augur_vm_policy_set (&p, "mem_max_mib", "2048", NULL));
        g_assert_false (augur_vm_policy_set (&p, "mem_max_mib", "lots", &error));
        g_assert_nonnull (strstr (error->message, "mem_max_mib"));
        g_assert_nonnull (strstr (error->message, "allowed"));
        g_assert_cmpfloat (p.mem_max_kib, ==, 2048 * 1024);   /* unchanged */
        g_clear_error (&error);
        g_assert_false (augur_vm_policy_set (&p, "colour", "blue", &error));
        g_assert_nonnull (strstr (error->message, "unknown"));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/vm/policy/full", test_full);
        g_test_add_func ("/vm/io-max-iops", test_io_max_iops);
        g_test_add_func ("/vm/policy/invalid-values", test_invalid_values);
        g_test_add_func ("/vm/policy/io-ceilings", test_io_ceilings);
        g_test_add_func ("/vm/policy/not-xml", test_not_xml);
        g_test_add_func ("/vm/policy/set-errors", test_set_errors);
        return g_test_run ();
}
