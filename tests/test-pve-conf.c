/* test-pve-conf.c — plugin/pve-conf.c: a qemu-server configuration,
 * sections after it, unknown keys, decimal-only numbers, hostile text; the
 * vmid file names, pidfiles, /proc/<pid>/stat and cmdline. */
#include "config.h"

#include "pve-conf.h"
#include "hv.h"

#include <string.h>

static void
parse (const char *text, AugurPveConf *c)
{
        g_autoptr(GError) error = NULL;

        g_assert_true (augur_pve_conf_parse (text, strlen (text), c, &error));
        g_assert_no_error (error);
}

static void
test_typical (void)
{
        const char *text =
                "#Web server\n"
                "#  two lines of description\n"
                "agent: 1,fstrim_cloned_disks=1\n"
                "balloon: 1024\n"
                "boot: order=scsi0;net0\n"
                "cores: 2\n"
                "cpu: x86-64-v2-AES\n"
                "memory: 4096\n"
                "name: web-01\n"
                "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1\n"
                "net31: e1000=BC:24:11:00:00:02,bridge=vmbr1\n"
                "net32: virtio=BC:24:11:00:00:03,bridge=vmbr0\n"
                "net07: virtio=BC:24:11:00:00:04,bridge=vmbr0\n"
                "network: x\n"
                "numa: 0\n"
                "scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G\n"
                "smbios1: uuid=7F3C2A10-0B1E-4C5D-9E8F-0123456789AB,manufacturer=QEMU\n"
                "sockets: 2\n"
                "vcpus: 3\n"
                "vmgenid: 11111111-2222-3333-4444-555555555555\n"
                "\n"
                "[before-upgrade]\n"
                "memory: 99999\n"
                "name: old\n"
                "snaptime: 1700000000\n";
        AugurPveConf c;
        guint64 lo, hi;

        parse (text, &c);
        g_assert_cmpstr (c.name, ==, "web-01");
        g_assert_cmpint (c.memory_mib, ==, 4096);
        g_assert_cmpint (c.balloon_mib, ==, 1024);
        g_assert_cmpint (c.cores, ==, 2);
        g_assert_cmpint (c.sockets, ==, 2);
        g_assert_cmpint (c.vcpus, ==, 3);
        g_assert_cmpint (c.agent, ==, 1);
        g_assert_cmpstr (c.uuid, ==, "7f3c2a10-0b1e-4c5d-9e8f-0123456789ab");
        g_assert_cmpuint (c.nets, ==, 1u | 1u << 31);   /* not net32, net07, network */
        g_assert_cmpuint (c.ignored, ==, 0);
        g_assert_cmpint (augur_pve_conf_max_vcpus (&c), ==, 4);
        g_assert_cmpint (augur_pve_conf_vcpus (&c), ==, 3);
        g_assert_true (augur_pve_conf_balloon_range_kib (&c, &lo, &hi, NULL));
        g_assert_cmpuint (lo, ==, 1024 * 1024);
        g_assert_cmpuint (hi, ==, 4096 * 1024);
        g_assert_cmpstr (c.description, ==, "Web server\n  two lines of description\n");
        g_assert_null (c.policy_xml);
        augur_pve_conf_clear (&c);
}

/* The description as qemu-server writes it (percent-encoded ':' and
 * non-ASCII) and the augur block in it: the first closed one counts, a
 * line that is not "key = value" is counted and skipped, values are
 * escaped for the element; an unclosed block gives no policy. */
static void
test_policy_block (void)
{
        const char *text =
                "#Database%3A do not touch %C3%A9\n"
                "#\n"
                "#```augur\n"
                "#mode = act\n"
                "#mem_max_mib=4096\n"
                "#\n"
                "#not a key line\n"
                "#Bad-Key = 1\n"
                "#quantile = 0.9<&>\n"
                "#```\n"
                "#```augur\n"
                "#mode = observe\n"
                "#```\n"
                "memory: 8192\n"
                "[snap]\n"
                "#```augur\n";
        AugurPveConf c;
        guint ignored = 0;

        parse (text, &c);
        g_assert_true (g_str_has_prefix (c.description, "Database: do not touch \xc3\xa9\n\n```augur\n"));
        g_assert_cmpstr (c.policy_xml, ==,
                         "<policy><mode>act</mode><mem_max_mib>4096</mem_max_mib>"
                         "<quantile>0.9&lt;&amp;&gt;</quantile></policy>");
        g_assert_cmpuint (c.policy_ignored, ==, 2);
        g_assert_cmpint (c.memory_mib, ==, 8192);
        augur_pve_conf_clear (&c);

        g_assert_null (augur_pve_policy_from_description ("notes\n```augur\nmode = act\n", &ignored));
        g_assert_cmpuint (ignored, ==, 1);
        g_assert_null (augur_pve_policy_from_description ("no block\n", &ignored));
        g_assert_cmpuint (ignored, ==, 0);
        g_assert_null (augur_pve_policy_from_description (NULL, &ignored));
        /* %ZZ is not an escape: the line stays as it is. */
        parse ("#100%ZZ\n", &c);
        g_assert_cmpstr (c.description, ==, "100%ZZ\n");
        augur_pve_conf_clear (&c);
}

/* Writing the policy into a description: the old block replaced in place
 * of nothing else, a new one appended, removed when no key is left, and
 * an element that is not <policy> of keys refused. */
static void
test_policy_write (void)
{
        static const struct {
                const char *descr, *xml, *want;
        } rows[] = {
                { NULL, "<policy><mode>act</mode></policy>", "```augur\nmode = act\n```\n" },
                { "", "<policy><mode>act</mode></policy>", "```augur\nmode = act\n```\n" },
                { "Web server\n", "<policy><mode>act</mode><mem_max_mib>4096</mem_max_mib></policy>",
                  "Web server\n\n```augur\nmode = act\nmem_max_mib = 4096\n```\n" },
                { "Web server\n\n```augur\nmode = observe\n```\n", "<policy><mode>act</mode></policy>",
                  "Web server\n\n```augur\nmode = act\n```\n" },
                { "Top\n```augur\nmode = observe\n```\nBottom\n", "<policy><quantile>0.950</quantile></policy>",
                  "Top\nBottom\n\n```augur\nquantile = 0.950\n```\n" },
                { "Web server\n\n```augur\nmode = observe\n```\n", "<policy></policy>", "Web server\n" },
                { "```augur\nmode = observe\n```\n", "<policy/>", "" },
        };
        const char *bad[] = { "not xml", "<other><mode>act</mode></other>", "<policy><a><b>1</b></a></policy>",
                              "<policy><Mode>act</Mode></policy>" };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                g_autofree char *got = augur_pve_description_set_policy (rows[i].descr, rows[i].xml, &error);

                g_test_message ("row %zu", i);
                g_assert_no_error (error);
                g_assert_cmpstr (got, ==, rows[i].want);
        }
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_autoptr(GError) error = NULL;

                g_assert_null (augur_pve_description_set_policy ("x\n", bad[i], &error));
                g_assert_nonnull (error);
        }
}

/* Defaults, PVE 8's "memory: current=N", CRLF, a [PENDING] section. */
static void
test_minimal (void)
{
        AugurPveConf c;
        guint64 lo, hi;
        g_autoptr(GError) error = NULL;

        parse ("memory: current=2048\r\nagent: enabled=0\r\n[PENDING]\r\nballoon: 512\r\n", &c);
        g_assert_null (c.name);
        g_assert_cmpint (c.memory_mib, ==, 2048);
        g_assert_cmpint (c.balloon_mib, ==, -1);
        g_assert_cmpint (c.agent, ==, 0);
        g_assert_cmpstr (c.uuid, ==, "");
        g_assert_cmpint (augur_pve_conf_max_vcpus (&c), ==, 1);
        g_assert_cmpint (augur_pve_conf_vcpus (&c), ==, 1);
        /* No balloon: the minimum is memory: itself. */
        g_assert_true (augur_pve_conf_balloon_range_kib (&c, &lo, &hi, NULL));
        g_assert_cmpuint (lo, ==, hi);
        g_assert_cmpuint (hi, ==, 2048 * 1024);
        augur_pve_conf_clear (&c);

        parse ("memory: 2048\nballoon: 0\n", &c);
        g_assert_false (augur_pve_conf_balloon_range_kib (&c, &lo, &hi, &error));
        g_assert_nonnull (strstr (error->message, "balloon: 0"));
        g_clear_error (&error);
        augur_pve_conf_clear (&c);

        parse ("balloon: 512\n", &c);
        g_assert_false (augur_pve_conf_balloon_range_kib (&c, &lo, &hi, &error));
        g_assert_nonnull (strstr (error->message, "memory:"));
        augur_pve_conf_clear (&c);

        /* A balloon above memory: is held at memory:. */
        parse ("memory: 1024\nballoon: 4096\n", &c);
        g_assert_true (augur_pve_conf_balloon_range_kib (&c, &lo, &hi, NULL));
        g_assert_cmpuint (lo, ==, hi);
        g_assert_false (augur_pve_conf_auto_ballooned (&c));
        augur_pve_conf_clear (&c);
}

/* pvestatd's auto-ballooning moves a balloon: below memory: unless
 * shares: is 0 (PVE::AutoBalloon skips such a guest); no balloon:,
 * balloon: 0 or balloon: = memory: leaves it nothing to move. */
static void
test_auto_ballooned (void)
{
        static const struct {
                const char *text;
                gint64 shares;
                gboolean auto_ballooned;
        } cases[] = {
                { "memory: 2048\nballoon: 512\n", -1, TRUE },
                { "memory: 2048\nballoon: 512\nshares: 2000\n", 2000, TRUE },
                { "memory: 2048\nballoon: 512\nshares: 0\n", 0, FALSE },
                { "memory: 2048\nballoon: 512\nshares: -1\n", -1, TRUE },   /* not a value: default */
                { "memory: 2048\nballoon: 512\nshares: 50001\n", -1, TRUE },
                { "memory: 2048\n", -1, FALSE },
                { "memory: 2048\nballoon: 0\n", -1, FALSE },
                { "memory: 2048\nballoon: 2048\n", -1, FALSE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                AugurPveConf c;

                parse (cases[i].text, &c);
                g_assert_cmpint (c.shares, ==, cases[i].shares);
                g_assert_cmpint (augur_pve_conf_auto_ballooned (&c), ==, cases[i].auto_ballooned);
                augur_pve_conf_clear (&c);
        }
}

/* Numbers are decimal digits only; a bad value leaves its field absent
 * and is counted; the last good line of a key wins. */
static void
test_decimal_only (void)
{
        static const char *const bad[] = {
                "memory: 0x1000", "memory: 1e3", "memory: -512", "memory: +512", "memory: 512MB",
                "memory: 5 12", "memory: inf", "memory: 99999999999999999999999", "memory: 4294967297",
                "memory: current=0x10", "memory: ", "cores: 0", "sockets: 0", "vcpus: 5000", "balloon: 1.5",
                "agent: maybe", "smbios1: uuid=not-a-uuid", "name: two words", "name: tab\there",
        };
        AugurPveConf c;

        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_test_message ("%s", bad[i]);
                parse (bad[i], &c);
                g_assert_cmpint (c.memory_mib, ==, -1);
                g_assert_cmpint (c.cores, ==, -1);
                g_assert_cmpint (c.sockets, ==, -1);
                g_assert_cmpint (c.vcpus, ==, -1);
                g_assert_cmpint (c.balloon_mib, ==, -1);
                g_assert_cmpint (c.agent, ==, -1);
                g_assert_cmpstr (c.uuid, ==, "");
                g_assert_null (c.name);
                g_assert_cmpuint (c.ignored, ==, 1);
                augur_pve_conf_clear (&c);
        }
        parse ("memory: 1024\nmemory: 0x10\nmemory: 2048\n", &c);
        g_assert_cmpint (c.memory_mib, ==, 2048);
        g_assert_cmpuint (c.ignored, ==, 1);
        augur_pve_conf_clear (&c);
}

/* Hostile text: not "key: value" lines, huge lines, a NUL, invalid UTF-8. */
static void
test_hostile (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *huge = NULL;
        AugurPveConf c;
        const char nul[] = "memory: 1024\n\0name: x\n";

        parse ("garbage\n: no key\nMemory: 1024\n1memory: 2\nmemory 1024\nmemory:1024\n", &c);
        g_assert_cmpint (c.memory_mib, ==, 1024);             /* "memory:1024" is fine */
        g_assert_cmpuint (c.ignored, ==, 5);
        augur_pve_conf_clear (&c);

        g_autofree char *as = g_strnfill (100000, 'a');

        huge = g_strdup_printf ("name: %s\nmemory: 512\n", as);
        parse (huge, &c);
        g_assert_null (c.name);
        g_assert_cmpint (c.memory_mib, ==, 512);
        augur_pve_conf_clear (&c);

        parse ("", &c);
        g_assert_cmpint (c.memory_mib, ==, -1);
        augur_pve_conf_clear (&c);

        g_assert_false (augur_pve_conf_parse (nul, sizeof nul - 1, &c, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_false (augur_pve_conf_parse ("name: \xff\xfe\n", 9, &c, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
}

static void
test_filenames (void)
{
        static const char *const bad[] = {
                "abc.conf", "100.conf.tmp", "0100.conf", "99.conf", "1000000000.conf", ".conf", "100",
                "-100.conf", "+100.conf", "1e3.conf", "0x64.conf", "100 .conf", "100.CONF", "100.conf~",
        };
        int vmid = 0;

        g_assert_true (augur_pve_vmid_from_filename ("100.conf", &vmid));
        g_assert_cmpint (vmid, ==, 100);
        g_assert_true (augur_pve_vmid_from_filename ("999999999.conf", &vmid));
        g_assert_cmpint (vmid, ==, 999999999);
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
                g_assert_false (augur_pve_vmid_from_filename (bad[i], &vmid));
}

static void
test_pidfile (void)
{
        static const char *const bad[] = { "", "\n", "0", "1", "-5", "0x10", "12 34", "abc", "99999999999", "1e3" };
        int pid = 0;

        g_assert_true (augur_pve_parse_pidfile ("4242\n", 5, &pid));
        g_assert_cmpint (pid, ==, 4242);
        g_assert_true (augur_pve_parse_pidfile ("77", 2, &pid));
        g_assert_cmpint (pid, ==, 77);
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
                g_assert_false (augur_pve_parse_pidfile (bad[i], strlen (bad[i]), &pid));
        g_assert_false (augur_pve_parse_pidfile ("12\0003", 4, &pid));
}

static void
test_proc_stat (void)
{
        /* A command name with spaces and parentheses. */
        const char *text = "4242 (kvm (x) y) S 1 4242 4242 0 -1 138412416 1000 0 0 0 "
                           "1234 567 0 0 20 0 5 0 100 4000000000 262144 18446744073709551615 1 1 0 0 0 0\n";
        guint64 ut = 0, st = 0, rss = 0;

        g_assert_true (augur_pve_parse_proc_stat (text, strlen (text), &ut, &st, &rss));
        g_assert_cmpuint (ut, ==, 1234);
        g_assert_cmpuint (st, ==, 567);
        g_assert_cmpuint (rss, ==, 262144);
        g_assert_false (augur_pve_parse_proc_stat ("4242 (kvm) S 1 2 3", 18, &ut, &st, &rss));
        g_assert_false (augur_pve_parse_proc_stat ("no parenthesis", 14, &ut, &st, &rss));
        text = "1 (a) S 1 1 1 0 -1 0 0 0 0 0 -5 567 0 0 20 0 5 0 100 4000000000 262144\n";
        g_assert_false (augur_pve_parse_proc_stat (text, strlen (text), &ut, &st, &rss));
}

static void
test_cmdline (void)
{
        const char cmd[] = "/usr/bin/kvm\0-id\0" "100\0-chardev\0"
                           "socket,id=qmp,path=/var/run/qemu-server/100.qmp,server=on,wait=off\0"
                           "-pidfile\0/var/run/qemu-server/100.pid";
        const char cmd2[] = "qemu\0-qmp\0unix:/run/x/100.qmp,server,nowait";
        const char cmd3[] = "qemu\0-qmp\0unix:/run/x/100.qmp";

        g_assert_true (augur_pve_cmdline_names (cmd, sizeof cmd - 1, "/var/run/qemu-server/100.qmp"));
        g_assert_false (augur_pve_cmdline_names (cmd, sizeof cmd - 1, "/var/run/qemu-server/10.qmp"));
        g_assert_false (augur_pve_cmdline_names (cmd, sizeof cmd - 1, "/var/run/qemu-server/1100.qmp"));
        g_assert_false (augur_pve_cmdline_names (cmd, sizeof cmd - 1, "/var/run/qemu-server/100.qm"));
        g_assert_false (augur_pve_cmdline_names (cmd, sizeof cmd - 1, "qemu-server/100.qmp"));
        g_assert_true (augur_pve_cmdline_names (cmd2, sizeof cmd2 - 1, "/run/x/100.qmp"));
        g_assert_true (augur_pve_cmdline_names (cmd3, sizeof cmd3 - 1, "/run/x/100.qmp"));
        g_assert_false (augur_pve_cmdline_names (cmd3, sizeof cmd3 - 3, "/run/x/100.qmp"));
        g_assert_false (augur_pve_cmdline_names ("", 0, "/run/x/100.qmp"));
        g_assert_false (augur_pve_cmdline_names (cmd3, sizeof cmd3 - 1, ""));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/pve-conf/typical", test_typical);
        g_test_add_func ("/pve-conf/minimal", test_minimal);
        g_test_add_func ("/pve-conf/auto-ballooned", test_auto_ballooned);
        g_test_add_func ("/pve-conf/decimal-only", test_decimal_only);
        g_test_add_func ("/pve-conf/hostile", test_hostile);
        g_test_add_func ("/pve-conf/policy-block", test_policy_block);
        g_test_add_func ("/pve-conf/policy-write", test_policy_write);
        g_test_add_func ("/pve-conf/filenames", test_filenames);
        g_test_add_func ("/pve-conf/pidfile", test_pidfile);
        g_test_add_func ("/pve-conf/proc-stat", test_proc_stat);
        g_test_add_func ("/pve-conf/cmdline", test_cmdline);
        return g_test_run ();
}
