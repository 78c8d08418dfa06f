/* test-hv-pve.c — plugin/hv-pve.c through the ops table (hv.h) on a
 * pve:///?run=DIR&conf=DIR URI: which guests run (conf dir ∩ live
 * pidfiles whose process names the QMP socket), the stats record from a
 * fake monitor (fake-qmp.c) and /proc, the stats period, the balloon and
 * its clamp, vCPUs through a qm stand-in, the calls not supported yet,
 * the URI checks, the back-off of a monitor that does not answer.
 *
 * The "QEMU" of vmid 100 is a shell sleeping with the QMP socket's path
 * among its arguments (so its /proc/<pid>/cmdline names it, as QEMU's
 * does); its monitor is a fake-qmp thread on that path. */
#include "config.h"

#include "hv.h"
#include "fake-qmp.h"
#include "util.h"
#include "vm.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
        char *dir, *run, *conf, *qmp, *uri;
        GPid qemu;
        FakeQmp *fake;
} Fixture;

static void
write_file (const char *dir, const char *name, const char *text)
{
        g_autofree char *path = g_build_filename (dir, name, NULL);

        g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
setup_with (Fixture *fx, FakeQmpMode mode, int timeout_ms)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *arg = NULL, *pid = NULL, *self = NULL;

        fx->dir = g_dir_make_tmp ("augur-pve-XXXXXX", NULL);
        fx->run = g_build_filename (fx->dir, "run", NULL);
        fx->conf = g_build_filename (fx->dir, "conf", NULL);
        g_assert_cmpint (g_mkdir (fx->run, 0700), ==, 0);
        g_assert_cmpint (g_mkdir (fx->conf, 0700), ==, 0);
        fx->qmp = g_build_filename (fx->run, "100.qmp", NULL);
        fx->uri = g_strdup_printf ("pve:///?run=%s&conf=%s&timeout_ms=%d", fx->run, fx->conf, timeout_ms);

        arg = g_strdup_printf ("unix:%s,server=on,wait=off", fx->qmp);
        {
                char *argv[] = { "/bin/sh", "-c", "sleep 60; exit 0", arg, NULL };

                g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                              &fx->qemu, &error));
                g_assert_no_error (error);
        }
        pid = g_strdup_printf ("%d\n", fx->qemu);
        self = g_strdup_printf ("%d\n", (int) getpid ());

        /* 100 runs; 101's pidfile names a process that is not its QEMU;
         * 102 has no pidfile; 103's pidfile is garbage; the rest are not
         * configurations. */
        write_file (fx->conf, "100.conf", "#desc\nname: web\nmemory: 1024\nballoon: 512\ncores: 2\nsockets: 1\n"
                                          "[snap]\nmemory: 9\n");
        write_file (fx->run, "100.pid", pid);
        write_file (fx->conf, "101.conf", "memory: 1024\n");
        write_file (fx->run, "101.pid", self);
        write_file (fx->conf, "102.conf", "memory: 1024\n");
        write_file (fx->conf, "103.conf", "memory: 1024\n");
        write_file (fx->run, "103.pid", "not a pid\n");
        write_file (fx->conf, "abc.conf", "memory: 1024\n");
        write_file (fx->conf, "104.conf.tmp", "memory: 1024\n");
        write_file (fx->run, "104.pid", pid);

        fx->fake = fake_qmp_new (fx->qmp, mode);
        fake_qmp_answer (fx->fake, "query-status", "\"return\": {\"status\": \"running\", \"running\": true}");
        fake_qmp_answer (fx->fake, "query-balloon", "\"return\": {\"actual\": 805306368}");
        fake_qmp_answer (fx->fake, "qom-get",
                         "\"return\": {\"stats\": {\"stat-total-memory\": 1018474496, "
                         "\"stat-available-memory\": 800000000, \"stat-free-memory\": 700000000, "
                         "\"stat-disk-caches\": 51200, \"stat-swap-in\": 0, \"stat-swap-out\": 0, "
                         "\"stat-major-faults\": 12, \"stat-minor-faults\": 3400, \"stat-htlb-pgalloc\": -1}, "
                         "\"last-update\": 1700000000}");
}

static void
setup (Fixture *fx, gconstpointer data)
{
        setup_with (fx, FAKE_QMP_NORMAL, 5000);
}

static void
setup_silent (Fixture *fx, gconstpointer data)
{
        setup_with (fx, FAKE_QMP_SILENT, 100);
}

static void
rm_dir (const char *dir)
{
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name (d))) {
                g_autofree char *path = g_build_filename (dir, name, NULL);

                g_unlink (path);
        }
        g_rmdir (dir);
}

static void
teardown (Fixture *fx, gconstpointer data)
{
        fake_qmp_free (fx->fake);
        kill (fx->qemu, SIGKILL);
        waitpid (fx->qemu, NULL, 0);
        g_spawn_close_pid (fx->qemu);
        rm_dir (fx->run);
        rm_dir (fx->conf);
        g_rmdir (fx->dir);
        g_free (fx->dir);
        g_free (fx->run);
        g_free (fx->conf);
        g_free (fx->qmp);
        g_free (fx->uri);
}

static AugurHv *
open_hv (Fixture *fx)
{
        static const AugurHvCallbacks cb = { 0 };
        AugurHvOptions o = { 0 };
        g_autoptr(GError) error = NULL;
        AugurHv *hv = augur_hv_open (fx->uri, &o, &cb, NULL, &error);

        g_assert_no_error (error);
        g_assert_nonnull (hv);
        return hv;
}

/* A stand-in QEMU for vmid: a shell whose command line names the vmid's
 * QMP socket, and its pidfile. */
static GPid
spawn_qemu (Fixture *fx, int vmid)
{
        g_autofree char *qmp = g_strdup_printf ("%s/%d.qmp", fx->run, vmid);
        g_autofree char *arg = g_strdup_printf ("unix:%s,server=on,wait=off", qmp);
        g_autofree char *name = g_strdup_printf ("%d.pid", vmid);
        g_autofree char *pid = NULL;
        g_autoptr(GError) error = NULL;
        char *argv[] = { "/bin/sh", "-c", "sleep 60; exit 0", arg, NULL };
        GPid child;

        g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &child, &error));
        g_assert_no_error (error);
        pid = g_strdup_printf ("%d\n", child);
        write_file (fx->run, name, pid);
        return child;
}

static void
reap (GPid child)
{
        kill (child, SIGKILL);
        waitpid (child, NULL, 0);
        g_spawn_close_pid (child);
}

/* Run the main context (the run directory's watch, its events) until
 * want guests are listed, for at most 3 s. */
static gboolean
spin_until_running (AugurHv *hv, guint want)
{
        gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;

        while (g_get_monotonic_time () < deadline) {
                g_autoptr(GPtrArray) guests = NULL;

                while (g_main_context_iteration (NULL, FALSE))
                        ;
                guests = augur_hv_list_guests (hv, NULL);
                if (guests && guests->len == want)
                        return TRUE;
                g_usleep (10 * 1000);
        }
        return FALSE;
}

static gboolean
received (FakeQmp *f, const char *want)
{
        g_auto(GStrv) got = fake_qmp_received (f);

        return g_strv_contains ((const char *const *) got, want);
}

static void
test_uri (Fixture *fx, gconstpointer data)
{
        static const AugurHvCallbacks cb = { 0 };
        AugurHvOptions o = { 0 };
        g_autofree char *missing = g_strdup_printf ("pve:///?conf=%s/nowhere", fx->dir);
        const char *bad[] = { "pve://host/", "pve:///etc", "pve:///?foo=1", "pve:///?run=relative",
                              "pve:///?timeout_ms=0x10", "pve:///?timeout_ms=0", "pve:///?timeout_ms=1.5",
                              "pve:///?qm=qm", "pve:///?qm_timeout_ms=0", "pve:///?qm_timeout_ms=600001",
                              "pve:///#x" };

        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_autoptr(GError) error = NULL;

                g_assert_null (augur_hv_open (bad[i], &o, &cb, NULL, &error));
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
                g_test_message ("%s", error->message);
        }
        {
                g_autoptr(GError) error = NULL;

                g_assert_null (augur_hv_open (missing, &o, &cb, NULL, &error));
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST);
        }
        g_assert_true (augur_hv_pve_ops.accepts ("pve:///"));
        g_assert_false (augur_hv_pve_ops.accepts ("qemu:///system"));
        g_assert_false (augur_hv_pve_ops.accepts ("test:///default"));
}

static void
test_list_and_stats (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = open_hv (fx);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = NULL;
        g_autoptr(GArray) samples = NULL;
        g_autoptr(AugurHvGuest) again = NULL;
        AugurHvGuest *g;
        const AugurDomainSample *s;
        char uuid[AUGUR_UUID_STRLEN];

        g_assert_true (augur_hv_is_alive (hv));
        guests = augur_hv_list_guests (hv, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (guests->len, ==, 1);
        g = g_ptr_array_index (guests, 0);
        augur_uuid_v5_from_name ("pve-vmid-100", uuid);
        g_assert_cmpstr (augur_hv_guest_get_uuid (g), ==, uuid);
        g_assert_cmpstr (augur_hv_guest_get_name (g), ==, "web");
        g_assert_cmpint (augur_hv_guest_get_id (g), ==, 100);

        again = augur_hv_lookup_guest (hv, uuid, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (augur_hv_guest_get_name (again), ==, "web");
        g_assert_null (augur_hv_lookup_guest (hv, "00000000-0000-0000-0000-000000000000", &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST);
        g_clear_error (&error);

        g_assert_true (augur_hv_guest_set_stats_period (g, 5, &error));
        g_assert_no_error (error);
        g_assert_true (received (fx->fake, "qom-set {\"path\":\"/machine/peripheral/balloon0\","
                                           "\"property\":\"guest-stats-polling-interval\",\"value\":5}"));

        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &samples, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (samples->len, ==, 1);
        s = &g_array_index (samples, AugurDomainSample, 0);
        g_assert_cmpstr (s->uuid, ==, uuid);
        g_assert_cmpstr (s->name, ==, "web");
        g_assert_cmpint (s->id, ==, 100);
        g_assert_true (augur_sample_has (s, AUGUR_STAT_STATE));
        g_assert_cmpint (s->v[AUGUR_STAT_STATE], ==, AUGUR_GUEST_STATE_RUNNING);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_CURRENT_KIB], ==, 768 * 1024);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_MAXIMUM_KIB], ==, 1024 * 1024);      /* [snap] ignored */
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_AVAILABLE_KIB], ==, 1018474496 / 1024);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_USABLE_KIB], ==, 800000000 / 1024);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_UNUSED_KIB], ==, 700000000 / 1024);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_DISK_CACHES_KIB], ==, 50);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_MAJOR_FAULT], ==, 12);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_MINOR_FAULT], ==, 3400);
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_LAST_UPDATE_S], ==, 1700000000);
        g_assert_cmpint (s->v[AUGUR_STAT_VCPU_CURRENT], ==, 2);
        g_assert_cmpint (s->v[AUGUR_STAT_VCPU_MAXIMUM], ==, 2);
        g_assert_true (augur_sample_has (s, AUGUR_STAT_CPU_TIME_NS));
        g_assert_true (augur_sample_has (s, AUGUR_STAT_BALLOON_RSS_KIB));
        g_assert_cmpint (s->v[AUGUR_STAT_BALLOON_RSS_KIB], >, 0);
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BLOCK_RD_BYTES));   /* no query-blockstats answer */
        g_assert_false (augur_sample_has (s, AUGUR_STAT_NET_RX_BYTES));     /* no netN: */
        /* The period was set on this pid already: not again. */
        {
                g_auto(GStrv) got = fake_qmp_received (fx->fake);
                guint sets = 0;

                for (guint i = 0; got[i]; i++)
                        sets += g_str_has_prefix (got[i], "qom-set");
                g_assert_cmpuint (sets, ==, 1);
        }

        /* The guest stops: its pidfile goes, and once the run directory's
         * watch has seen it, it is not listed. */
        {
                g_autofree char *pidfile = g_build_filename (fx->run, "100.pid", NULL);

                g_unlink (pidfile);
                g_assert_true (spin_until_running (hv, 0));
        }
}

/* Disks and networks: query-blockstats per disk as qemu-server names them
 * (drive-scsi0 -> scsi0; a -blockdev qdev path -> virtio1; a name that is
 * not one is skipped), summed into the block counters; the taps of the
 * netN: lines, rx and tx swapped (what the tap transmits the guest
 * receives), one that cannot be read left out; the disk limits read with
 * query-block and set with block_set_io_throttle (a byte limit or an IOPS
 * limit), every other limit of the disk sent back as it was. */
static void
test_disks_and_nets (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = NULL;
        g_autoptr(GArray) samples = NULL;
        g_autofree char *net = g_build_filename (fx->dir, "net", NULL);
        g_autofree char *stats = g_build_filename (net, "tap100i0", "statistics", NULL);
        g_autofree char *uri = g_strdup_printf ("%s&net=%s", fx->uri, net);
        const AugurDomainSample *s;
        AugurBlockIoTune t;
        AugurHvGuest *g;

        write_file (fx->conf, "100.conf", "name: web\nmemory: 1024\nballoon: 512\n"
                                          "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n"
                                          "net2: virtio=BC:24:11:00:00:02,bridge=vmbr0\n"
                                          "scsi0: local-lvm:vm-100-disk-0,mbps=5\n");
        g_assert_cmpint (g_mkdir_with_parents (stats, 0700), ==, 0);
        write_file (stats, "rx_bytes", "300\n");       /* the guest sent */
        write_file (stats, "tx_bytes", "4000\n");      /* the guest received */
        fake_qmp_answer (fx->fake, "query-blockstats",
                         "\"return\": ["
                         "{\"device\": \"drive-scsi0\", \"stats\": {\"rd_bytes\": 1000, \"wr_bytes\": 2000, "
                         "\"rd_operations\": 10, \"wr_operations\": 20}},"
                         "{\"device\": \"\", \"qdev\": \"/machine/peripheral/virtio1/virtio-backend\", "
                         "\"stats\": {\"rd_bytes\": 5, \"wr_bytes\": 7}},"
                         "{\"device\": \"drive-../x\", \"stats\": {\"rd_bytes\": 99999}},"
                         "{\"device\": \"floppy0\", \"stats\": {\"rd_bytes\": 99999}},"
                         "{\"device\": \"drive-ide2\", \"stats\": {\"rd_bytes\": -1}}]");
        fake_qmp_answer (fx->fake, "query-block",
                         "\"return\": ["
                         "{\"device\": \"drive-scsi0\", \"inserted\": {\"bps\": 5242880, \"bps_rd\": 0, "
                         "\"bps_wr\": 0, \"iops\": 100, \"iops_rd\": 0, \"iops_wr\": 0, \"bps_max\": 0, "
                         "\"iops_max\": 200, \"iops_max_length\": 2, \"bps_max_length\": 1, "
                         "\"group\": \"drive-scsi0\"}},"
                         "{\"device\": \"drive-ide2\"}]");

        hv = augur_hv_open (uri, &(AugurHvOptions) { 0 }, &(AugurHvCallbacks) { 0 }, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &samples, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (samples->len, ==, 1);
        s = &g_array_index (samples, AugurDomainSample, 0);
        g_assert_cmpint (s->v[AUGUR_STAT_BLOCK_RD_BYTES], ==, 1005);
        g_assert_cmpint (s->v[AUGUR_STAT_BLOCK_WR_BYTES], ==, 2007);
        g_assert_cmpuint (s->n_disks, ==, 3);
        g_assert_cmpstr (s->disk[0].name, ==, "scsi0");
        g_assert_cmpint (s->disk[0].v[AUGUR_DISK_WR_REQS], ==, 20);
        g_assert_cmpstr (s->disk[1].name, ==, "virtio1");
        g_assert_cmpint (s->disk[1].v[AUGUR_DISK_WR_BYTES], ==, 7);
        g_assert_cmpstr (s->disk[2].name, ==, "ide2");
        g_assert_cmpuint (s->disk[2].present, ==, 0);
        g_assert_cmpint (s->v[AUGUR_STAT_NET_RX_BYTES], ==, 4000);
        g_assert_cmpint (s->v[AUGUR_STAT_NET_TX_BYTES], ==, 300);

        guests = augur_hv_list_guests (hv, &error);
        g_assert_no_error (error);
        g = g_ptr_array_index (guests, 0);
        g_assert_true (augur_hv_guest_get_block_iotune (g, "scsi0", &t, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (t.total_bytes_sec, ==, 5242880);
        g_assert_cmpuint (t.read_bytes_sec, ==, 0);
        g_assert_cmpuint (t.total_iops_sec, ==, 100);
        g_assert_cmpuint (t.read_iops_sec, ==, 0);
        /* an IOPS raise: iops set, every other limit sent back as read */
        t = (AugurBlockIoTune) { .total_iops_sec = 800 };
        g_assert_true (augur_hv_guest_set_block_iotune (g, "scsi0", &t, &error));
        g_assert_no_error (error);
        g_assert_true (received (fx->fake, "block_set_io_throttle {\"device\":\"drive-scsi0\",\"bps\":5242880,"
                                           "\"bps_rd\":0,\"bps_wr\":0,\"iops\":800,\"iops_rd\":0,\"iops_wr\":0,"
                                           "\"iops_max\":200,\"iops_max_length\":2,\"group\":\"drive-scsi0\"}"));
        t = (AugurBlockIoTune) { .total_bytes_sec = 41943040 };
        g_assert_true (augur_hv_guest_set_block_iotune (g, "scsi0", &t, &error));
        g_assert_no_error (error);
        g_assert_true (received (fx->fake, "block_set_io_throttle {\"device\":\"drive-scsi0\",\"bps\":41943040,"
                                           "\"bps_rd\":0,\"bps_wr\":0,\"iops\":100,\"iops_rd\":0,\"iops_wr\":0,"
                                           "\"iops_max\":200,\"iops_max_length\":2,\"group\":\"drive-scsi0\"}"));
        /* no medium; no such disk */
        g_assert_false (augur_hv_guest_get_block_iotune (g, "ide2", &t, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_false (augur_hv_guest_set_block_iotune (g, "sata9", &t, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);

        /* an unreadable counter: the tap is left out, and with none left
         * the counters are absent (never 0) */
        write_file (stats, "tx_bytes", "-5\n");
        g_clear_pointer (&samples, g_array_unref);
        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &samples, &error));
        s = &g_array_index (samples, AugurDomainSample, 0);
        g_assert_false (augur_sample_has (s, AUGUR_STAT_NET_RX_BYTES));
        {
                g_autofree char *f1 = g_build_filename (stats, "rx_bytes", NULL);
                g_autofree char *f2 = g_build_filename (stats, "tx_bytes", NULL);
                g_autofree char *d1 = g_build_filename (net, "tap100i0", NULL);

                g_unlink (f1);
                g_unlink (f2);
                g_rmdir (stats);
                g_rmdir (d1);
                g_rmdir (net);
        }
}

static void
test_balloon (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = open_hv (fx);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);
        g_autofree char *conf = g_build_filename (fx->conf, "100.conf", NULL);
        AugurHvGuest *g;
        AugurVcpuCaps caps;
        gint64 users;

        g_assert_cmpuint (guests->len, ==, 1);
        g = g_ptr_array_index (guests, 0);
        g_assert_true (augur_hv_guest_set_balloon (g, 700 * 1024, &error));
        g_assert_no_error (error);
        g_assert_true (received (fx->fake, "balloon {\"value\":734003200}"));
        /* Clamped within balloon: .. memory:. */
        g_assert_true (augur_hv_guest_set_balloon (g, 100 * 1024, &error));
        g_assert_true (received (fx->fake, "balloon {\"value\":536870912}"));
        g_assert_true (augur_hv_guest_set_balloon (g, 10 * 1024 * 1024, &error));
        g_assert_true (received (fx->fake, "balloon {\"value\":1073741824}"));
        g_assert_no_error (error);

        /* balloon: 512 below memory: 1024 without shares: 0 is pvestatd's
         * to move; shares: 0 hands it to augur. */
        {
                AugurHvDevices dev;

                g_assert_true (augur_hv_guest_read_devices (g, &dev, &error));
                g_assert_nonnull (dev.balloon_owner);
                g_assert_nonnull (strstr (dev.balloon_owner, "shares"));
                augur_hv_devices_clear (&dev);
                g_assert_true (g_file_set_contents (conf, "memory: 1024\nballoon: 512\nshares: 0\n", -1, NULL));
                g_assert_true (augur_hv_guest_read_devices (g, &dev, &error));
                g_assert_null (dev.balloon_owner);
                augur_hv_devices_clear (&dev);
        }

        /* balloon: 0 is ballooning off: refused, nothing sent. */
        g_assert_true (g_file_set_contents (conf, "memory: 1024\nballoon: 0\n", -1, NULL));
        g_assert_false (augur_hv_guest_set_balloon (g, 600 * 1024, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_assert_nonnull (strstr (error->message, "balloon: 0"));
        g_clear_error (&error);
        g_assert_false (received (fx->fake, "balloon {\"value\":629145600}"));

        g_assert_false (augur_hv_guest_agent_users (g, &users, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_null (augur_hv_guest_read_metadata (g, "https://example.org/ns", &error));
        g_assert_no_error (error);
        augur_hv_guest_probe_vcpus (g, &caps);
        g_assert_cmpint (caps.plugged, ==, 1);
        g_assert_cmpint (caps.maximum, ==, 1);
        g_assert_false (caps.agent);
}

/* The guest agent at <vmid>.qga (agent: 1): the vCPUs online from
 * guest-get-vcpus, a give-back through guest-set-vcpus (the highest that
 * can go offline first, never one that cannot), the users from
 * guest-get-users; agent: 0 or absent is no agent, without a call; an
 * agent that does not answer is none. */
static void
test_agent (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = open_hv (fx);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);
        g_autofree char *qga = g_build_filename (fx->run, "100.qga", NULL);
        g_autoptr(FakeQmp) agent = fake_qmp_new (qga, FAKE_QMP_QGA);
        AugurHvGuest *g = g_ptr_array_index (guests, 0);
        AugurVcpuCaps caps;
        gint64 users = -1;

        fake_qmp_answer (agent, "guest-get-vcpus",
                         "\"return\": [{\"logical-id\": 0, \"online\": true, \"can-offline\": false}, "
                         "{\"logical-id\": 1, \"online\": true, \"can-offline\": true}, "
                         "{\"logical-id\": 2, \"online\": true, \"can-offline\": true}, "
                         "{\"logical-id\": 3, \"online\": false, \"can-offline\": true}]");
        fake_qmp_answer (agent, "guest-set-vcpus", "\"return\": 1");
        fake_qmp_answer (agent, "guest-get-users", "\"return\": [{\"user\": \"ann\", \"login-time\": 1.5}, "
                                                   "{\"user\": \"bob\", \"login-time\": 2.5}]");
        /* no agent: in the conf */
        augur_hv_guest_probe_vcpus (g, &caps);
        g_assert_false (caps.agent);
        g_assert_false (augur_hv_guest_agent_users (g, &users, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_cmpuint (fake_qmp_sessions (agent), ==, 0);

        write_file (fx->conf, "100.conf", "name: web\nmemory: 1024\ncores: 4\nvcpus: 4\nagent: 1,fstrim_cloned_disks=1\n");
        augur_hv_guest_probe_vcpus (g, &caps);
        g_assert_true (caps.agent);
        g_assert_cmpint (caps.online, ==, 3);
        g_assert_cmpint (caps.plugged, ==, 4);
        g_assert_true (augur_hv_guest_agent_users (g, &users, &error));
        g_assert_no_error (error);
        g_assert_cmpint (users, ==, 2);
        g_assert_true (augur_hv_guest_set_vcpus (g, 2, AUGUR_HV_VCPUS_AGENT, &error));
        g_assert_no_error (error);
        g_assert_true (received (agent, "guest-set-vcpus {\"vcpus\":[{\"logical-id\":2,\"online\":false}]}"));
        /* one: cpu0 cannot go offline */
        g_assert_false (augur_hv_guest_set_vcpus (g, 0, AUGUR_HV_VCPUS_AGENT, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_true (augur_hv_guest_set_vcpus (g, 4, AUGUR_HV_VCPUS_AGENT, &error));
        g_assert_true (received (agent, "guest-set-vcpus {\"vcpus\":[{\"logical-id\":3,\"online\":true}]}"));
        g_assert_no_error (error);
}

/* An agent port nobody answers on (qemu-ga not running in the guest): no
 * agent, within the deadline augurd set. */
static void
test_agent_silent (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = open_hv (fx);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);
        g_autofree char *qga = g_build_filename (fx->run, "100.qga", NULL);
        g_autoptr(FakeQmp) agent = fake_qmp_new (qga, FAKE_QMP_SILENT);
        AugurHvGuest *g = g_ptr_array_index (guests, 0);
        AugurVcpuCaps caps;
        gint64 t0;

        write_file (fx->conf, "100.conf", "name: web\nmemory: 1024\nagent: 1\n");
        g_assert_true (augur_hv_guest_set_agent_timeout (g, 1, &error));
        t0 = g_get_monotonic_time ();
        augur_hv_guest_probe_vcpus (g, &caps);
        g_assert_false (caps.agent);
        g_assert_cmpint (g_get_monotonic_time () - t0, <, 3 * G_USEC_PER_SEC);
}

/* A qm stand-in (shell) of the test's own at PATH: it logs its arguments
 * and the directories it was given, then runs body. */
static char *
write_qm (Fixture *fx, const char *body)
{
        g_autofree char *text = g_strdup_printf ("#!/bin/sh\n"
                                                 "echo \"$* run=$AUGUR_PVE_RUN_DIR conf=$AUGUR_PVE_CONF_DIR\" "
                                                 ">>\"%s/qm.log\"\n%s\n", fx->dir, body);
        char *path = g_build_filename (fx->dir, "qm", NULL);

        g_assert_true (g_file_set_contents (path, text, -1, NULL));
        g_assert_cmpint (g_chmod (path, 0755), ==, 0);
        return path;
}

static AugurHvGuest *
first_guest (AugurHv *hv)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (guests->len, ==, 1);
        return augur_hv_guest_ref (g_ptr_array_index (guests, 0));
}

/* vCPUs go through `qm set <vmid> --vcpus N` (the qm=PATH hook); the conf
 * qm rewrites is what probe_vcpus reads next.  A qm that fails, or hangs
 * (its child holding the pipe), fails the call with its output, within
 * qm_timeout_ms; the agent method and a missing qm are refused. */
static void
test_vcpus_qm (Fixture *fx, gconstpointer data)
{
        g_autofree char *conf = g_build_filename (fx->conf, "100.conf", NULL);
        g_autofree char *log = g_build_filename (fx->dir, "qm.log", NULL);
        g_autofree char *body = g_strdup_printf ("c=%s\n[ \"$4\" = 9 ] && { echo 'you cannot add more vcpus' >&2; exit 3; }\n"
                                                 "[ \"$4\" = 7 ] && { sleep 30 & sleep 30; }\n"
                                                 "{ echo \"vcpus: $4\"; cat \"$c\"; } >\"$c.new\" && mv \"$c.new\" \"$c\"",
                                                 conf);
        g_autofree char *qm = write_qm (fx, body);
        g_autofree char *expect = NULL, *text = NULL;
        g_autoptr(GError) error = NULL;
        AugurVcpuCaps caps;
        gint64 t0;

        g_free (fx->uri);
        fx->uri = g_strdup_printf ("pve:///?run=%s&conf=%s&qm=%s&qm_timeout_ms=300", fx->run, fx->conf, qm);
        {
                g_autoptr(AugurHv) hv = open_hv (fx);
                g_autoptr(AugurHvGuest) g = first_guest (hv);

                augur_hv_guest_probe_vcpus (g, &caps);
                g_assert_cmpint (caps.plugged, ==, 2);                  /* cores: 2, no vcpus: */
                g_assert_true (augur_hv_guest_set_vcpus (g, 1, AUGUR_HV_VCPUS_HOTPLUG, &error));
                g_assert_no_error (error);
                g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
                expect = g_strdup_printf ("set 100 --vcpus 1 run=%s conf=%s\n", fx->run, fx->conf);
                g_assert_cmpstr (text, ==, expect);
                augur_hv_guest_probe_vcpus (g, &caps);
                g_assert_cmpint (caps.plugged, ==, 1);
                g_assert_cmpint (caps.maximum, ==, 2);

                g_assert_false (augur_hv_guest_set_vcpus (g, 9, AUGUR_HV_VCPUS_HOTPLUG, &error));
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
                g_test_message ("%s", error->message);
                g_assert_nonnull (strstr (error->message, "vmid 100: "));
                g_assert_nonnull (strstr (error->message, "exit status 3: you cannot add more vcpus"));
                g_clear_error (&error);

                t0 = g_get_monotonic_time ();
                g_assert_false (augur_hv_guest_set_vcpus (g, 7, AUGUR_HV_VCPUS_HOTPLUG, &error));
                g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * G_USEC_PER_SEC);
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
                g_test_message ("%s", error->message);
                g_assert_nonnull (strstr (error->message, "no exit within 300 ms, killed"));
                g_clear_error (&error);

                g_assert_false (augur_hv_guest_set_vcpus (g, 1, AUGUR_HV_VCPUS_AGENT, &error));
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
                g_assert_nonnull (strstr (error->message, "guest agent"));
                g_clear_error (&error);
        }
        if (!g_file_test ("/usr/sbin/qm", G_FILE_TEST_IS_EXECUTABLE)) {
                g_autoptr(AugurHv) hv = NULL;
                g_autoptr(AugurHvGuest) g = NULL;

                g_free (fx->uri);
                fx->uri = g_strdup_printf ("pve:///?run=%s&conf=%s", fx->run, fx->conf);
                hv = open_hv (fx);
                g = first_guest (hv);
                g_assert_false (augur_hv_guest_set_vcpus (g, 2, AUGUR_HV_VCPUS_HOTPLUG, &error));
                g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
                g_assert_nonnull (strstr (error->message, "qm=PATH"));
        }
        g_unlink (qm);
        g_unlink (log);
}

typedef struct {
        GPtrArray *log;                 /* "started 105", "stopped 105"      */
} Events;

static void
on_event (AugurHv *hv, AugurHvGuest *g, const AugurHvEvent *e, gpointer data)
{
        Events *ev = data;

        const char *what = "stopped";

        if (e->kind == AUGUR_HV_EVENT_METADATA)
                what = "metadata";
        else if (e->lifecycle == AUGUR_HV_LIFECYCLE_STARTED)
                what = "started";
        g_ptr_array_add (ev->log, g_strdup_printf ("%s %d %s", what, augur_hv_guest_get_id (g),
                                                   augur_hv_guest_get_name (g)));
}

/* Guests starting and stopping are noticed through the run directory's
 * watch (no full scan per call), and told as lifecycle events from the
 * main loop: a pidfile that appears (STARTED), one that goes (STOPPED), a
 * QEMU killed without its pidfile going (STOPPED, seen by the next call). */
static void
test_events (Fixture *fx, gconstpointer data)
{
        AugurHvCallbacks cb = { .event = on_event };
        AugurHvOptions o = { 0 };
        Events ev = { g_ptr_array_new_with_free_func (g_free) };
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurHv) hv = augur_hv_open (fx->uri, &o, &cb, &ev, &error);
        g_autofree char *pidfile = g_build_filename (fx->run, "105.pid", NULL);
        GPid other;

        g_assert_no_error (error);
        g_assert_true (spin_until_running (hv, 1));
        g_assert_cmpuint (ev.log->len, ==, 0);          /* running before: no event */

        write_file (fx->conf, "105.conf", "name: db\nmemory: 512\n");
        other = spawn_qemu (fx, 105);
        g_assert_true (spin_until_running (hv, 2));
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (ev.log->len, ==, 1);
        g_assert_cmpstr (g_ptr_array_index (ev.log, 0), ==, "started 105 db");

        g_unlink (pidfile);
        g_assert_true (spin_until_running (hv, 1));
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (ev.log->len, ==, 2);
        g_assert_cmpstr (g_ptr_array_index (ev.log, 1), ==, "stopped 105 db");

        /* 100's QEMU dies and leaves its pidfile. */
        kill (fx->qemu, SIGKILL);
        waitpid (fx->qemu, NULL, 0);
        g_assert_true (spin_until_running (hv, 0));
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (ev.log->len, ==, 3);
        g_assert_cmpstr (g_ptr_array_index (ev.log, 2), ==, "stopped 100 web");

        reap (other);
        g_clear_pointer (&hv, augur_hv_close);
        g_ptr_array_unref (ev.log);
}

/* The per-VM policy is the description's augur block: read as the
 * <policy> element, written through qm set --description (the rest of
 * the description kept), and a change of the block (by anyone) is a
 * METADATA event. */
static void
test_policy (Fixture *fx, gconstpointer data)
{
        g_autofree char *conf = g_build_filename (fx->conf, "100.conf", NULL);
        g_autofree char *log = g_build_filename (fx->dir, "qm.log", NULL);
        g_autofree char *body = g_strdup_printf ("c=%s\n"
                                                 "{ printf '%%s' \"$4\" | sed 's/^/#/'; grep -v '^#' \"$c\"; } "
                                                 ">\"$c.new\" && mv \"$c.new\" \"$c\"", conf);
        g_autofree char *qm = write_qm (fx, body);
        AugurHvCallbacks cb = { .event = on_event };
        AugurHvOptions o = { 0 };
        Events ev = { g_ptr_array_new_with_free_func (g_free) };
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurHv) hv = NULL;
        g_autoptr(AugurHvGuest) g = NULL;
        g_autofree char *xml = NULL, *xml2 = NULL, *text = NULL;

        write_file (fx->conf, "100.conf", "#Web server\n#\n#```augur\n#mode = act\n#```\n"
                                          "name: web\nmemory: 1024\nballoon: 512\n");
        g_free (fx->uri);
        fx->uri = g_strdup_printf ("pve:///?run=%s&conf=%s&qm=%s", fx->run, fx->conf, qm);
        hv = augur_hv_open (fx->uri, &o, &cb, &ev, &error);
        g_assert_no_error (error);
        g = first_guest (hv);
        xml = augur_hv_guest_read_metadata (g, AUGUR_POLICY_NS_URI, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (xml, ==, "<policy><mode>act</mode></policy>");

        g_assert_true (augur_hv_guest_write_metadata (g, AUGUR_POLICY_NS_URI,
                                                      "<policy><mode>observe</mode><vcpus_max>2</vcpus_max></policy>",
                                                      &error));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (conf, &text, NULL, NULL));
        g_assert_cmpstr (text, ==, "#Web server\n#\n#```augur\n#mode = observe\n#vcpus_max = 2\n#```\n"
                                   "name: web\nmemory: 1024\nballoon: 512\n");
        xml2 = augur_hv_guest_read_metadata (g, AUGUR_POLICY_NS_URI, &error);
        g_assert_cmpstr (xml2, ==, "<policy><mode>observe</mode><vcpus_max>2</vcpus_max></policy>");
        g_assert_true (spin_until_running (hv, 1));
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (ev.log->len, ==, 1);
        g_assert_cmpstr (g_ptr_array_index (ev.log, 0), ==, "metadata 100 web");

        /* Another namespace: none, and not written. */
        g_assert_null (augur_hv_guest_read_metadata (g, "https://example.org/ns", &error));
        g_assert_no_error (error);
        g_assert_false (augur_hv_guest_write_metadata (g, "https://example.org/ns", "<x/>", &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);
        g_assert_false (augur_hv_guest_write_metadata (g, AUGUR_POLICY_NS_URI, "<policy><a><b/></a></policy>", &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED);
        g_clear_error (&error);

        g_clear_pointer (&g, augur_hv_guest_unref);
        g_clear_pointer (&hv, augur_hv_close);
        g_ptr_array_unref (ev.log);
        g_unlink (qm);
        g_unlink (log);
}

/* The messages logged (level MESSAGE) while it is not NULL, for counting
 * (keep_writer is the test's log writer from main on). */
static GPtrArray *messages;

static GLogWriterOutput
keep_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (messages && (level & G_LOG_LEVEL_MESSAGE))
                for (gsize i = 0; i < n_fields; i++)
                        if (strcmp (fields[i].key, "MESSAGE") == 0)
                                g_ptr_array_add (messages, g_strdup (fields[i].value));
        return g_log_writer_default (level, fields, n_fields, data);
}

static guint
count_messages (const char *needle)
{
        guint n = 0;

        for (guint i = 0; i < messages->len; i++)
                n += strstr (g_ptr_array_index (messages, i), needle) != NULL;
        return n;
}

/* The bad input, side by side with a good guest (100, whose conf
 * also has keys augur does not know): a non-numeric vmid (abc.conf), a
 * pidfile naming another process (101) or garbage (103), a monitor that
 * answers garbage (105), one whose QEMU lacks the commands (106, an old
 * version): each is skipped, or listed without memory fields, with one
 * message over two full scans, and 100 keeps its whole record. */
static void
test_bad_input (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) s1 = NULL, s2 = NULL;
        g_autofree char *q105 = g_build_filename (fx->run, "105.qmp", NULL);
        g_autofree char *q106 = g_build_filename (fx->run, "106.qmp", NULL);
        g_autofree char *pid100 = NULL, *pidfile = g_build_filename (fx->run, "100.pid", NULL);
        g_autoptr(FakeQmp) garbage = fake_qmp_new (q105, FAKE_QMP_GARBAGE_REPLY);
        g_autoptr(FakeQmp) old = fake_qmp_new (q106, FAKE_QMP_NORMAL);
        const char *missing = "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command has not been found\"}";
        GPid g105, g106;

        messages = g_ptr_array_new_with_free_func (g_free);
        write_file (fx->conf, "100.conf", "#desc\nname: web\nmemory: 1024\nballoon: 512\ncores: 2\n"
                                          "cpu: host\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\nfuture_key: 1\n");
        write_file (fx->conf, "105.conf", "name: garbage\nmemory: 512\n");
        write_file (fx->conf, "106.conf", "name: old\nmemory: 512\n");
        g105 = spawn_qemu (fx, 105);
        g106 = spawn_qemu (fx, 106);
        fake_qmp_answer (old, "(greeting)", "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 5, "
                                            "\"major\": 2}}, \"capabilities\": []}}\r\n");
        fake_qmp_answer (old, "query-status", missing);
        fake_qmp_answer (old, "query-balloon", missing);
        fake_qmp_answer (old, "qom-get", missing);
        fake_qmp_answer (old, "qom-set", missing);

        hv = open_hv (fx);
        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &s1, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (s1->len, ==, 3);
        for (guint i = 0; i < s1->len; i++) {
                const AugurDomainSample *s = &g_array_index (s1, AugurDomainSample, i);

                g_assert_true (augur_sample_has (s, AUGUR_STAT_CPU_TIME_NS));
                g_assert_cmpint (augur_sample_has (s, AUGUR_STAT_BALLOON_CURRENT_KIB), ==, s->id == 100);
                g_assert_cmpint (augur_sample_has (s, AUGUR_STAT_BALLOON_USABLE_KIB), ==, s->id == 100);
        }
        g_assert_cmpint (g_array_index (s1, AugurDomainSample, 0).id, ==, 100);
        g_assert_cmpint (g_array_index (s1, AugurDomainSample, 0).v[AUGUR_STAT_BALLOON_CURRENT_KIB], ==, 768 * 1024);

        /* A full scan again (a pidfile rewritten) and the monitors again
         * (out of their back-off: a new connection). */
        g_assert_true (g_file_get_contents (pidfile, &pid100, NULL, NULL));
        write_file (fx->run, "100.pid", pid100);
        g_assert_true (spin_until_running (hv, 3));
        g_clear_pointer (&hv, augur_hv_close);
        hv = open_hv (fx);
        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &s2, &error));
        g_assert_cmpuint (s2->len, ==, 3);

        for (guint i = 0; i < messages->len; i++)
                g_test_message ("logged: %s", (char *) g_ptr_array_index (messages, i));
        /* Once per connection: augurd keeps one. */
        g_assert_cmpuint (count_messages ("vmid 101: pid"), ==, 2);
        g_assert_cmpuint (count_messages ("vmid 103:"), ==, 2);
        g_assert_cmpuint (count_messages ("vmid 105: QMP"), ==, 2);
        g_assert_cmpuint (count_messages ("not a JSON object"), ==, 2);
        g_assert_cmpuint (count_messages ("vmid 106: QMP"), ==, 2);
        g_assert_cmpuint (count_messages ("version 2.5.0, lacks it"), ==, 2);
        g_assert_cmpuint (count_messages ("vmid 100"), ==, 0);
        g_assert_cmpuint (count_messages ("abc"), ==, 0);

        g_clear_pointer (&messages, g_ptr_array_unref);
        g_clear_pointer (&hv, augur_hv_close);
        reap (g105);
        reap (g106);
}

/* A monitor that never answers: the tick still gets the guest (CPU from
 * /proc, no memory fields) within the deadline, and the next tick does not
 * try the monitor again (backed off). */
static void
test_backoff (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurHv) hv = open_hv (fx);
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) s1 = NULL, s2 = NULL;
        const AugurDomainSample *s;
        gint64 t0 = g_get_monotonic_time ();

        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &s1, &error));
        g_assert_no_error (error);
        g_assert_cmpint (g_get_monotonic_time () - t0, <, 1500 * 1000);
        g_assert_cmpuint (s1->len, ==, 1);
        s = &g_array_index (s1, AugurDomainSample, 0);
        g_assert_true (augur_sample_has (s, AUGUR_STAT_CPU_TIME_NS));
        g_assert_false (augur_sample_has (s, AUGUR_STAT_BALLOON_CURRENT_KIB));
        g_assert_cmpuint (fake_qmp_sessions (fx->fake), ==, 1);

        g_assert_true (augur_hv_guests_with_stats (hv, NULL, NULL, &s2, &error));
        g_assert_cmpuint (s2->len, ==, 1);
        g_assert_cmpuint (fake_qmp_sessions (fx->fake), ==, 1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_log_set_writer_func (keep_writer, NULL, NULL);
        g_test_add ("/hv-pve/uri", Fixture, NULL, setup, test_uri, teardown);
        g_test_add ("/hv-pve/list-and-stats", Fixture, NULL, setup, test_list_and_stats, teardown);
        g_test_add ("/hv-pve/disks-and-nets", Fixture, NULL, setup, test_disks_and_nets, teardown);
        g_test_add ("/hv-pve/balloon", Fixture, NULL, setup, test_balloon, teardown);
        g_test_add ("/hv-pve/vcpus-qm", Fixture, NULL, setup, test_vcpus_qm, teardown);
        g_test_add ("/hv-pve/agent", Fixture, NULL, setup, test_agent, teardown);
        g_test_add ("/hv-pve/agent-silent", Fixture, NULL, setup, test_agent_silent, teardown);
        g_test_add ("/hv-pve/events", Fixture, NULL, setup, test_events, teardown);
        g_test_add ("/hv-pve/policy", Fixture, NULL, setup, test_policy, teardown);
        g_test_add ("/hv-pve/bad-input", Fixture, NULL, setup, test_bad_input, teardown);
        g_test_add ("/hv-pve/backoff", Fixture, NULL, setup_silent, test_backoff, teardown);
        return g_test_run ();
}
