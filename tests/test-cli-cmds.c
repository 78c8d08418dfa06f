/* test-cli-cmds.c — the built virt-augur's commands end to end, on a
 * history database each case writes with the store's own writer (as
 * augurd does), and on libvirt's test:///default driver for `policy`.
 *
 * test-cli-ops.c tests the pure parts (option tables, plot drawing, the
 * top screen); this file runs the binary, as an operator does, and reads
 * its output: what a command prints, in text and in JSON, and its exit
 * code.  augurd is never running here: every run gets a socket path that
 * does not exist and a config path of the case's own.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#include "store.h"
#include "store-decisions.h"
#include "util.h"
#include "testutil.h"

typedef struct {
        char *dir;
        char *db;
        char *va;               /* the built virt-augur, NULL = skip       */
} Fx;

static void
fx_setup (Fx *fx, gconstpointer data)
{
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");
        g_autoptr(GError) error = NULL;

        fx->dir = g_dir_make_tmp ("augur-cli-XXXXXX", &error);
        g_assert_no_error (error);
        fx->db = g_build_filename (fx->dir, "augur.db", NULL);
        fx->va = g_build_filename (top ? top : "..", "virsh-ext", "virt-augur", NULL);
        if (!g_file_test (fx->va, G_FILE_TEST_IS_EXECUTABLE))
                g_clear_pointer (&fx->va, g_free);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
        augur_test_rm_rf (fx->dir);
        g_free (fx->dir);
        g_free (fx->db);
        g_free (fx->va);
}

static gboolean
fx_skip (const Fx *fx)
{
        if (fx->va)
                return FALSE;
        g_test_skip ("virsh-ext/virt-augur is not built");
        return TRUE;
}

/* Run virt-augur --db DB with the NULL-terminated words; its exit code.
 * stdout and stderr go to *ret_out and *ret_err (each may be NULL). */
static int
va (const Fx *fx, char **ret_out, char **ret_err, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *sock = g_build_filename (fx->dir, "no-augurd.sock", NULL);
        g_autofree char *conf = g_build_filename (fx->dir, "augur.conf", NULL);
        g_auto(GStrv) env = g_get_environ ();
        g_autofree char *out = NULL, *err = NULL;
        const char *a;
        va_list ap;
        int status;

        env = g_environ_unsetenv (env, "AUGUR_DB");
        env = g_environ_setenv (env, "AUGUR_SOCKET", sock, TRUE);
        env = g_environ_setenv (env, "AUGUR_CONFIG", conf, TRUE);
        env = g_environ_setenv (env, "LC_ALL", "C", TRUE);
        g_ptr_array_add (argv, fx->va);
        g_ptr_array_add (argv, "--db");
        g_ptr_array_add (argv, fx->db);
        va_start (ap, ret_err);
        while ((a = va_arg (ap, const char *)))
                g_ptr_array_add (argv, (gpointer) a);
        va_end (ap);
        g_ptr_array_add (argv, NULL);
        g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
                                     &out, &err, &status, &error));
        g_assert_no_error (error);
        g_test_message ("exit %d\n%s%s", WIFEXITED (status) ? WEXITSTATUS (status) : -1, out, err);
        if (ret_out)
                *ret_out = g_steal_pointer (&out);
        if (ret_err)
                *ret_err = g_steal_pointer (&err);
        return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* ---- writing the history as augurd does ---- */

/* A live sample of guest k named name: 2 vCPUs plugged, 1 GiB balloon,
 * 300 MiB used (MemTotal 1000000, MemAvailable 692800 KiB); with
 * mem_stats FALSE only what libvirt reports without the guest's balloon
 * driver (no available/usable/last-update). */
static AugurDomainSample
sample (int k, const char *name, gint64 cpu_ns, gboolean mem_stats)
{
        AugurDomainSample s = { 0 };

        augur_test_uuid (k, s.uuid);
        s.name = g_strdup (name);
        s.id = k;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        augur_sample_set (&s, AUGUR_STAT_CPU_TIME_NS, cpu_ns);
        augur_sample_set (&s, AUGUR_STAT_VCPU_CURRENT, 2);
        augur_sample_set (&s, AUGUR_STAT_VCPU_MAXIMUM, 2);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_CURRENT_KIB, 1048576);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_MAXIMUM_KIB, 1048576);
        if (mem_stats) {
                augur_sample_set (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, 1000000);
                augur_sample_set (&s, AUGUR_STAT_BALLOON_USABLE_KIB, 692800);
                augur_sample_set (&s, AUGUR_STAT_BALLOON_UNUSED_KIB, 600000);
                augur_sample_set (&s, AUGUR_STAT_BALLOON_LAST_UPDATE_S, cpu_ns / 1000000000);
        }
        return s;
}

static AugurStore *
open_rw (const Fx *fx)
{
        g_autoptr(GError) error = NULL;
        AugurStore *st = augur_store_open (fx->db, AUGUR_STORE_READ_WRITE, &error);

        g_assert_no_error (error);
        return st;
}

/* Guest k's samples every step_s seconds from first_ms to last_ms. */
static void
guest_history (AugurStore *st, int k, const char *name, gint64 first_ms, gint64 last_ms,
               gint64 step_s, gboolean mem_stats)
{
        for (gint64 t = first_ms; t <= last_ms; t += step_s * 1000) {
                AugurDomainSample s = sample (k, name, t * 1000000 / 4, mem_stats);

                augur_test_write_tick (st, t, &s, 1);
        }
}

/* A decision row of guest k at ts_ms as the resize loop writes it: in
 * recommend mode, no change, the forecast over a 7 s lead. */
static AugurDecisionRow
decision (int k, const char *name, gint64 ts_ms)
{
        AugurDecisionRow r = {
                .ts_ms = ts_ms, .mode = "recommend", .policy = "augur", .model = "baselines",
                .mem_used_kib = 307200, .mem_alloc_kib = 1048576, .cpu_cores_used = 0.25,
                .vcpus_online = 2, .horizon_s = 7,
                .mem_p50_kib = 320000, .mem_upper_kib = 400000,
                .cpu_p50_cores = 0.3, .cpu_upper_cores = 0.5,
                .mem_target_kib = 1048576, .vcpus_target = 2,
                .mem_action = "none", .cpu_action = "none",
                .mem_reason = "none", .cpu_reason = "none", .mem_veto = "none", .cpu_veto = "none",
        };

        augur_test_uuid (k, r.uuid);
        g_strlcpy (r.name, name, sizeof r.name);
        return r;
}

static void
write_decisions (AugurStore *st, const AugurDecisionRow *rows, gsize n)
{
        g_autoptr(GError) error = NULL;

        g_assert_true (augur_store_write_decisions (st, rows, n, &error));
        g_assert_no_error (error);
}

/* Now, whole seconds, in ms. */
static gint64
now_s_ms (void)
{
        return augur_now_ms () / 1000 * 1000;
}

static guint
count_lines (const char *text)
{
        guint n = 0;

        for (const char *p = text; *p; p++)
                n += *p == '\n';
        return n;
}

/* ---- list ---- */

/* virsh list: the running domains (here: sampled by augurd in the last 10
 * minutes), --all every one, --name / --uuid one per line, and -q drops
 * the table's header. */
static void
test_list (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        gint64 now_ms = now_s_ms ();
        char u1[AUGUR_UUID_STRLEN], u2[AUGUR_UUID_STRLEN];
        g_autofree char *out = NULL, *want = NULL;

        if (fx_skip (fx))
                return;
        st = open_rw (fx);
        guest_history (st, 2, "old", now_ms - 3600000, now_ms - 3590000, 5, TRUE);
        guest_history (st, 1, "live", now_ms - 10000, now_ms, 5, TRUE);
        g_clear_pointer (&st, augur_store_close);
        augur_test_uuid (1, u1);
        augur_test_uuid (2, u2);

        g_assert_cmpint (va (fx, &out, NULL, "list", NULL), ==, 0);
        g_assert_cmpuint (count_lines (out), ==, 3);             /* header, rule, live */
        g_assert_nonnull (strstr (out, " live "));
        g_assert_null (strstr (out, " old "));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "list", "--all", NULL), ==, 0);
        g_assert_cmpuint (count_lines (out), ==, 4);
        g_assert_nonnull (strstr (out, " old "));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "-q", "list", "--all", NULL), ==, 0);
        g_assert_cmpuint (count_lines (out), ==, 2);             /* no header, no rule */
        g_assert_null (strstr (out, "Name"));
        g_assert_null (strstr (out, "---"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "list", "--name", NULL), ==, 0);
        g_assert_cmpstr (out, ==, "live\n");
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "list", "--all", "--name", NULL), ==, 0);
        g_assert_cmpstr (out, ==, "live\nold\n");
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "list", "--all", "--uuid", NULL), ==, 0);
        want = g_strdup_printf ("%s\n%s\n", u1, u2);
        g_assert_cmpstr (out, ==, want);
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&want, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "list", "--uuid", "--name", NULL), ==, 0);
        want = g_strdup_printf ("%s live\n", u1);
        g_assert_cmpstr (out, ==, want);
}

/* Parse JSON text; (transfer full) the root. */
static JsonNode *
parse_json (const char *text)
{
        g_autoptr(JsonParser) p = json_parser_new ();
        g_autoptr(GError) error = NULL;

        g_assert_true (json_parser_load_from_data (p, text, -1, &error));
        g_assert_no_error (error);
        return json_node_copy (json_parser_get_root (p));
}

/* An integer member: present, the value want, and written as a JSON
 * integer (no ".0"). */
static void
assert_int_member (JsonObject *o, const char *key, gint64 want)
{
        JsonNode *n = json_object_get_member (o, key);

        g_test_message ("%s", key);
        g_assert_nonnull (n);
        g_assert_true (JSON_NODE_HOLDS_VALUE (n));
        if (json_node_get_value_type (n) == G_TYPE_DOUBLE)
                g_assert_cmpfloat (json_node_get_double (n), ==, (double) want);
        g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_INT64);
        g_assert_cmpint (json_node_get_int (n), ==, want);
}

/* ---- top ---- */

/* top --json printed unix seconds through a 32-bit float (the NAN in
 * "sample_ms < 0 ? NAN : sample_ms / 1000" made the whole expression
 * float): 1796612483 came out as 1796612480.0, off by up to 64 s either
 * way.  Timestamps and counts are integers. */
static void
test_top_json_times (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(JsonNode) root = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL;
        gint64 now_ms = now_s_ms ();
        char u1[AUGUR_UUID_STRLEN];
        JsonObject *guest;

        if (fx_skip (fx))
                return;
        /* A second that a float cannot hold: not a multiple of 128 s. */
        if (now_ms / 1000 % 128 == 0)
                now_ms -= 1000;
        augur_test_uuid (1, u1);
        st = open_rw (fx);
        guest_history (st, 1, "web1", now_ms - 20000, now_ms - 3000, 1, TRUE);
        g_assert_cmpint (augur_store_write_actuation (st, now_ms - 7000, u1, "web1", "balloon",
                                                      1048576, 786432, &error), >, 0);
        g_assert_no_error (error);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "--json", "top", "--once", NULL), ==, 0);
        root = parse_json (out);
        guest = json_array_get_object_element (json_object_get_array_member (json_node_get_object (root), "guests"), 0);
        assert_int_member (guest, "sample_ts", (now_ms - 3000) / 1000);
        assert_int_member (guest, "last_action_ts", (now_ms - 7000) / 1000);
        assert_int_member (guest, "vcpus", 2);
        g_assert_true (json_object_get_int_member (json_node_get_object (root), "ts") >= now_ms / 1000);
}

/* ---- actions ---- */

/* actions --since counted back from the wall clock, history and plot from
 * the newest sample: on a history that ended an hour ago (augurd
 * stopped, a copied database) "--since 30s" showed nothing.  Now all
 * three count from the newest sample: the domain's, or without DOMAIN the
 * newest of any domain. */
static void
test_actions_since (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        gint64 last_ms = now_s_ms () - 3600 * 1000;
        AugurDecisionRow rows[3] = {
                decision (1, "web1", last_ms - 60000),
                decision (1, "web1", last_ms - 10000),
                decision (1, "web1", last_ms),
        };
        const char *const *cmds[] = {
                (const char *const[]) { "--json", "actions", "web1", "--since", "30s", NULL },
                (const char *const[]) { "--json", "actions", "--since", "30s", NULL },
        };

        if (fx_skip (fx))
                return;
        rows[0].mem_action = "recommend-shrink";
        rows[1].mem_action = "recommend-grow";
        st = open_rw (fx);
        guest_history (st, 1, "web1", last_ms - 120000, last_ms, 5, TRUE);
        write_decisions (st, rows, G_N_ELEMENTS (rows));
        g_clear_pointer (&st, augur_store_close);

        for (gsize c = 0; c < G_N_ELEMENTS (cmds); c++) {
                g_autofree char *out = NULL;
                g_autoptr(JsonNode) root = NULL;
                JsonArray *a;

                g_assert_cmpint (va (fx, &out, NULL, cmds[c][0], cmds[c][1], cmds[c][2], cmds[c][3], cmds[c][4],
                                     NULL), ==, 0);
                root = parse_json (out);
                a = json_node_get_array (root);
                g_assert_cmpuint (json_array_get_length (a), ==, 1);
                g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0), "mem_action"),
                                 ==, "recommend-grow");
        }
}

/* ---- vCPUs online ---- */

/* A vCPU the guest agent takes offline is still plugged: libvirt's
 * vcpu.current (samples.vcpus_current) stays at 2.  The resize loop
 * records the agent's count in each decision (vcpus_online); history, top
 * and plot showed vcpus_current, so "top" said 2 next to its own last
 * action "vcpus 2->1", and the plot's vCPU line stayed flat.  They show
 * the online count of the tick's decision (vcpus_current where the tick
 * has none). */
static void
test_vcpus_online (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) hist = NULL, top = NULL;
        g_autofree char *out = NULL;
        gint64 now_ms = now_s_ms ();
        char u1[AUGUR_UUID_STRLEN];
        AugurDecisionRow rows[4];
        JsonArray *a;
        JsonObject *guest;

        if (fx_skip (fx))
                return;
        augur_test_uuid (1, u1);
        st = open_rw (fx);
        /* 5 ticks; decisions for the last 4: 2 online, then the agent took
         * one offline (an actuation 2 -> 1). */
        guest_history (st, 1, "web1", now_ms - 20000, now_ms, 5, TRUE);
        for (int i = 0; i < 4; i++) {
                rows[i] = decision (1, "web1", now_ms - 15000 + i * 5000);
                rows[i].vcpus_online = i < 2 ? 2 : 1;
                rows[i].vcpus_target = 1;
        }
        write_decisions (st, rows, G_N_ELEMENTS (rows));
        g_assert_cmpint (augur_store_write_actuation (st, now_ms - 7000, u1, "web1", "vcpus", 2, 1, &error), >, 0);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "--json", "history", "web1", NULL), ==, 0);
        hist = parse_json (out);
        a = json_node_get_array (hist);
        g_assert_cmpuint (json_array_get_length (a), ==, 5);
        for (guint i = 0; i < 5; i++) {
                JsonObject *o = json_array_get_object_element (a, i);

                g_test_message ("row %u", i);
                assert_int_member (o, "vcpus_current", 2);             /* plugged: unchanged */
                assert_int_member (o, "vcpus_online", i < 3 ? 2 : 1);  /* row 0: no decision */
        }
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "history", "web1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "vcpus_online"));
        g_clear_pointer (&out, g_free);

        g_assert_cmpint (va (fx, &out, NULL, "--json", "top", "--once", NULL), ==, 0);
        top = parse_json (out);
        guest = json_array_get_object_element (json_object_get_array_member (json_node_get_object (top), "guests"), 0);
        g_assert_cmpstr (json_object_get_string_member (guest, "last_action"), ==, "vcpus 2->1");
        assert_int_member (guest, "vcpus", 1);
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "top", "--once", NULL), ==, 0);
        /* VCPU column: "1", then CPU^ and AGE */
        g_assert_nonnull (strstr (out, "    1  0.50 "));
}

/* ---- explain ---- */

/* A guest without balloon stats (no balloon device, the stats period off,
 * no balloon driver in the guest): explain said "the guest used ? of ?
 * ... vCPUs: 0 online".  It says plainly that the guest reports no memory
 * statistics, why that happens and how to fix it; an unknown vCPU count
 * is said to be unknown. */
static void
test_explain_no_stats (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autofree char *out = NULL;
        gint64 now_ms = now_s_ms ();
        AugurDecisionRow r = decision (1, "nostats", now_ms);

        if (fx_skip (fx))
                return;
        st = open_rw (fx);
        guest_history (st, 1, "nostats", now_ms - 10000, now_ms, 5, FALSE);
        /* as augurd writes it for such a guest (vcpus_online 0: a NaN
         * vcpu.current cast to int, as older augurd did) */
        r.mem_used_kib = r.mem_p50_kib = r.mem_upper_kib = NAN;
        r.mem_target_kib = 1048576;
        r.cpu_cores_used = r.cpu_p50_cores = r.cpu_upper_cores = NAN;
        r.vcpus_online = 0;
        r.vcpus_target = 0;
        r.model = NULL;
        r.mem_veto = "stale-stats";
        write_decisions (st, &r, 1);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "explain", "nostats", NULL), ==, 0);
        g_assert_null (strstr (out, "used ?"));
        g_assert_null (strstr (out, "of ?"));
        g_assert_null (strstr (out, "0 online"));
        g_assert_nonnull (strstr (out, "reports no memory statistics"));
        /* why, and what to do */
        g_assert_nonnull (strstr (out, "balloon device"));
        g_assert_nonnull (strstr (out, "<memballoon model='virtio'"));
        g_assert_nonnull (strstr (out, "stats period"));
        g_assert_nonnull (strstr (out, "virtio_balloon"));
        g_assert_nonnull (strstr (out, "virsh dommemstat"));
        g_assert_nonnull (strstr (out, "vCPUs: unknown"));
        g_clear_pointer (&out, g_free);
        /* the actions table says unknown as it does for memory: "?" */
        g_assert_cmpint (va (fx, &out, NULL, "-q", "actions", "--all", NULL), ==, 0);
        g_assert_null (strstr (out, "-1 -> -1"));
        g_assert_null (strstr (out, "0 -> 0"));
        g_assert_nonnull (strstr (out, "   none (stale-stats)   ?   none (none)"));
}

/* The I/O paragraph of explain and the I/O table of actions name the
 * device and the limit: an interface's outbound raise and its restore,
 * beside a disk's read limit (issue 20: "raised vnet0's outbound limit
 * from X to Y"). */
static void
test_explain_io (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autofree char *out = NULL, *uuid = g_malloc (AUGUR_UUID_STRLEN);
        gint64 now_ms = now_s_ms ();
        AugurDecisionRow r = decision (1, "net1", now_ms);

        if (fx_skip (fx))
                return;
        augur_test_uuid (1, uuid);
        st = open_rw (fx);
        guest_history (st, 1, "net1", now_ms - 10000, now_ms, 5, TRUE);
        write_decisions (st, &r, 1);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 9000, uuid, "net1", "io-read", "vda",
                                                         5 * 1048576.0, 40 * 1048576.0, "forecast-burst", NULL),
                         >, 0);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 8000, uuid, "net1", "net-out", "vnet0",
                                                         1048576.0, 8 * 1048576.0, "forecast-burst", NULL),
                         >, 0);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "explain", "net1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "Network I/O: at "));
        g_assert_nonnull (strstr (out, "augur raised vnet0's outbound limit from 1 to 8 MiB/s for the forecast burst."));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "actions", "net1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "outbound limit"));
        g_assert_nonnull (strstr (out, "vnet0"));
        g_assert_nonnull (strstr (out, "read limit"));
        g_assert_nonnull (strstr (out, "vda"));
        g_clear_pointer (&out, g_free);

        st = open_rw (fx);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 1000, uuid, "net1", "net-out", "vnet0",
                                                         8 * 1048576.0, 1048576.0, "restore", NULL), >, 0);
        g_clear_pointer (&st, augur_store_close);
        g_assert_cmpint (va (fx, &out, NULL, "explain", "net1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "augur restored vnet0's outbound limit from 8 to 1 MiB/s after sustained quiet."));
}

/* The CPU weight rows (plugin/resize-cpu.h AUDIT): explain says what
 * augur last did with them, actions lists them in a table of their own
 * (not among the I/O limits), report counts them; on a backend that
 * cannot move the weight (pve), explain says why. */
static void
test_explain_cpu_weight (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autofree char *out = NULL, *uuid = g_malloc (AUGUR_UUID_STRLEN), *uuid2 = g_malloc (AUGUR_UUID_STRLEN);
        gint64 now_ms = now_s_ms ();
        AugurDecisionRow r = decision (1, "cpu1", now_ms), r2 = decision (2, "pve1", now_ms);

        if (fx_skip (fx))
                return;
        augur_test_uuid (1, uuid);
        augur_test_uuid (2, uuid2);
        st = open_rw (fx);
        guest_history (st, 1, "cpu1", now_ms - 10000, now_ms, 5, TRUE);
        write_decisions (st, &r, 1);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 9000, uuid, "cpu1", "cpu-shares", NULL,
                                                         1024, 8192, "forecast-burst", NULL), >, 0);
        g_clear_pointer (&st, augur_store_close);
        g_assert_cmpint (va (fx, &out, NULL, "explain", "cpu1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "augur raised its CPU weight from 1024 to 8192 shares ahead of a forecast "
                                       "CPU burst"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "actions", "cpu1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "CPU weight (cpu_shares):"));
        g_assert_nonnull (strstr (out, "1024 -> 8192"));
        g_assert_null (strstr (out, "I/O limits"));
        g_clear_pointer (&out, g_free);

        st = open_rw (fx);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 4000, uuid, "cpu1", "cpu-shares", NULL,
                                                         8192, 1024, "restore", NULL), >, 0);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 3000, uuid, "cpu1", "cpu-shares", NULL,
                                                         NAN, 2048, "yield", NULL), >, 0);
        guest_history (st, 2, "pve1", now_ms - 10000, now_ms, 5, TRUE);
        write_decisions (st, &r2, 1);
        g_assert_cmpint (augur_store_write_io_actuation (st, now_ms - 2000, uuid2, "pve1", "cpu-shares", NULL,
                                                         NAN, NAN, "unsupported", NULL), >, 0);
        g_clear_pointer (&st, augur_store_close);
        g_assert_cmpint (va (fx, &out, NULL, "explain", "cpu1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "someone else set its CPU weight to 2048 shares while augur held a raise"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "explain", "pve1", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "cpuunits in the VM's .conf, which augur does not write"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, &out, NULL, "report", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "cpu1: 1 raises, 1 restore steps, 1 yields to a hand change"));
        g_assert_nonnull (strstr (out, "pve1: not supported by its hypervisor backend"));
}

/* ---- plot ---- */

/* A guest with samples but nothing to draw (no memory, no CPU figures:
 * only its state): plot drew empty axes and exited 0.  It is an error,
 * exit 1, and no file is written. */
static void
test_plot_no_data (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *svg = g_build_filename (fx->dir, "empty.svg", NULL);
        gint64 now_ms = now_s_ms ();

        if (fx_skip (fx))
                return;
        st = open_rw (fx);
        for (int i = 0; i < 4; i++) {
                AugurDomainSample smp = { 0 };

                augur_test_uuid (1, smp.uuid);
                smp.name = g_strdup ("bare");
                smp.id = 1;
                augur_sample_set (&smp, AUGUR_STAT_STATE, 1);
                augur_test_write_tick (st, now_ms - 15000 + 5000 * i, &smp, 1);
        }
        g_clear_pointer (&st, augur_store_close);
        g_assert_cmpint (va (fx, &out, &err, "plot", "bare", "--out", svg, NULL), ==, 1);
        g_assert_true (g_str_has_prefix (err, "error: bare: nothing to plot"));
        g_assert_false (g_file_test (svg, G_FILE_TEST_EXISTS));
}

/* Each forecast is drawn where it was made: the band is the decisions'
 * forecasts (p50 and upper bound over the lead window, at the time each
 * was made), nothing else.  The newest forecasts-table row, up to a
 * minute old, was drawn from its own time on, over the past, and out to
 * its last horizon (an hour at a 300 s step): a wedge up to the largest
 * upper bound that also stretched the time axis. */
/* forecast --host over two guests' 3 hours of history (300 MiB used each,
 * steady): the need is their sum at every horizon, both are running, and
 * the options that belong to --host are refused without it. */
static void
test_forecast_host (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *out = NULL, *err = NULL;
        gint64 now_ms = now_s_ms ();
        JsonObject *o;
        JsonArray *hz;

        if (fx_skip (fx))
                return;
        st = open_rw (fx);
        guest_history (st, 1, "web1", now_ms - 3 * 3600 * 1000, now_ms, 60, TRUE);
        guest_history (st, 2, "db1", now_ms - 3 * 3600 * 1000 + 1000, now_ms + 1000, 60, TRUE);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "--json", "forecast", "--host", NULL), ==, 0);
        root = parse_json (out);
        o = json_node_get_object (root);
        assert_int_member (o, "guests", 2);
        hz = json_object_get_array_member (o, "horizons");
        g_assert_cmpuint (json_array_get_length (hz), ==, 48);
        for (guint h = 0; h < 48; h++) {
                JsonObject *e = json_array_get_object_element (hz, h);

                g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "need_p50_kib"), 614400, 1024);
                g_assert_cmpfloat (json_object_get_double_member (e, "need_upper_kib"), >=,
                                   json_object_get_double_member (e, "need_p50_kib"));
        }
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (va (fx, NULL, &err, "forecast", "web1", "--traces", "/nonexistent", NULL), ==, 2);
        g_assert_nonnull (strstr (err, "--traces goes with --host"));
        g_clear_pointer (&err, g_free);
        g_assert_cmpint (va (fx, NULL, &err, "forecast", NULL), ==, 2);
        g_assert_nonnull (strstr (err, "a DOMAIN, or --host"));
}

static void
test_plot_band (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *out = NULL;
        g_autofree char *svg = g_build_filename (fx->dir, "web1.svg", NULL);
        gint64 now_ms = now_s_ms ();
        AugurDecisionRow rows[10];
        float p50[12], upper[12], cp50[12], cupper[12];
        char u1[AUGUR_UUID_STRLEN];
        JsonObject *o;

        if (fx_skip (fx))
                return;
        augur_test_uuid (1, u1);
        st = open_rw (fx);
        guest_history (st, 1, "web1", now_ms - 45000, now_ms, 5, TRUE);
        for (int i = 0; i < 10; i++)
                rows[i] = decision (1, "web1", now_ms - 45000 + 5000 * i);
        write_decisions (st, rows, G_N_ELEMENTS (rows));
        for (int h = 0; h < 12; h++) {
                p50[h] = 320000 + 10000 * h;
                upper[h] = 400000 + 100000 * h;
                cp50[h] = 0.3f;
                cupper[h] = 0.5f + h;
        }
        g_assert_true (augur_store_write_forecast (st, now_ms - 40000, u1, "web1", "baselines", 300, 12,
                                                   p50, upper, cp50, cupper, &error));
        g_assert_no_error (error);
        g_clear_pointer (&st, augur_store_close);

        g_assert_cmpint (va (fx, &out, NULL, "--json", "plot", "web1", "--out", svg, NULL), ==, 0);
        root = parse_json (out);
        o = json_node_get_object (root);
        assert_int_member (o, "forecasts", 10);
        assert_int_member (o, "from_ts", (now_ms - 45000) / 1000);
        assert_int_member (o, "to_ts", now_ms / 1000);
        g_assert_true (g_file_test (svg, G_FILE_TEST_EXISTS));
}

/* ---- JSON ---- */

/* "domain" is {"name", "uuid"} wherever an object is about a domain. */
static void
assert_domain (JsonObject *o, const char *name, const char *uuid)
{
        JsonNode *n = json_object_get_member (o, "domain");
        JsonObject *d;

        g_assert_nonnull (n);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (n));
        d = json_node_get_object (n);
        g_assert_cmpstr (json_object_get_string_member (d, "name"), ==, name);
        g_assert_cmpstr (json_object_get_string_member (d, "uuid"), ==, uuid);
        g_assert_false (json_object_has_member (o, "uuid"));
}

/* No %.17g tails (0.90000000000000002, 0.29999999999999999) in text. */
static void
assert_short_numbers (const char *text)
{
        g_assert_null (strstr (text, "0000000000000"));
        g_assert_null (strstr (text, "9999999999999"));
}

/* One shape per entity: "domain" was the UUID in forecast, the name in
 * actions, explain and policy (with the UUID beside it in some); counts
 * came out as floats (vcpus_online 2.0) and decimals as json-glib's
 * "%.17g" (quantile 0.90000000000000002). */
static void
test_json_shapes (Fx *fx, gconstpointer data)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        gint64 now_ms = now_s_ms ();
        AugurDecisionRow rows[2] = { decision (1, "web1", now_ms - 5000), decision (1, "web1", now_ms) };
        float p50[3] = { 320000.5f, 321000, 322000 }, upper[3] = { 400000, 410000, 420000 };
        float cp50[3] = { 0.3f, 0.3f, 0.3f }, cupper[3] = { 0.5f, 0.6f, 0.7f };
        char u1[AUGUR_UUID_STRLEN];
        const char *const *cmds[] = {
                (const char *const[]) { "--json", "actions", "web1", "--all", NULL },
                (const char *const[]) { "--json", "explain", "web1", NULL },
                (const char *const[]) { "--json", "forecast", "web1", NULL },
                (const char *const[]) { "--json", "top", "--once", NULL },
                (const char *const[]) { "--json", "list", "--all", NULL },
                (const char *const[]) { "--json", "history", "web1", NULL },
        };

        if (fx_skip (fx))
                return;
        augur_test_uuid (1, u1);
        rows[1].mem_action = "recommend-shrink";
        rows[1].mem_target_kib = 786432;
        rows[1].cpu_cores_used = 0.1 + 0.2;
        st = open_rw (fx);
        guest_history (st, 1, "web1", now_ms - 10000, now_ms, 5, TRUE);
        write_decisions (st, rows, 2);
        g_assert_true (augur_store_write_forecast (st, now_ms, u1, "web1", "baselines", 5, 3,
                                                   p50, upper, cp50, cupper, &error));
        g_assert_no_error (error);
        g_clear_pointer (&st, augur_store_close);

        for (gsize c = 0; c < G_N_ELEMENTS (cmds); c++) {
                g_autofree char *out = NULL;
                g_autoptr(JsonNode) root = NULL;
                JsonObject *o = NULL;

                g_assert_cmpint (va (fx, &out, NULL, cmds[c][0], cmds[c][1], cmds[c][2], cmds[c][3], NULL), ==, 0);
                assert_short_numbers (out);
                root = parse_json (out);
                switch (c) {
                case 0:                 /* actions: an array of decision rows */
                        g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 2);
                        o = json_array_get_object_element (json_node_get_array (root), 1);
                        assert_domain (o, "web1", u1);
                        assert_int_member (o, "vcpus_online", 2);
                        assert_int_member (o, "vcpus_target", 2);
                        assert_int_member (o, "mem_target_kib", 786432);
                        assert_int_member (o, "ts", now_ms / 1000);
                        g_assert_nonnull (strstr (out, "\"cpu_cores_used\" : 0.3,"));
                        break;
                case 1:                 /* explain: one decision row */
                        assert_domain (json_node_get_object (root), "web1", u1);
                        break;
                case 2:                 /* forecast */
                        o = json_node_get_object (root);
                        assert_domain (o, "web1", u1);
                        assert_int_member (o, "ts", now_ms / 1000);
                        o = json_array_get_object_element (json_object_get_array_member (o, "horizons"), 0);
                        assert_int_member (o, "h", 1);
                        assert_int_member (o, "s", 5);
                        g_assert_nonnull (strstr (out, "\"mem_p50_kib\" : 320000"));
                        g_assert_nonnull (strstr (out, "\"cpu_p50_cores\" : 0.3,"));
                        break;
                case 3:                 /* top: a guest is a domain */
                        o = json_array_get_object_element (
                                json_object_get_array_member (json_node_get_object (root), "guests"), 0);
                        g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "web1");
                        g_assert_cmpstr (json_object_get_string_member (o, "uuid"), ==, u1);
                        break;
                case 4:                 /* list: each entry is a domain */
                        o = json_array_get_object_element (json_node_get_array (root), 0);
                        g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "web1");
                        g_assert_cmpstr (json_object_get_string_member (o, "uuid"), ==, u1);
                        assert_int_member (o, "samples", 3);
                        break;
                case 5:                 /* history: counts are integers */
                        o = json_array_get_object_element (json_node_get_array (root), 0);
                        assert_int_member (o, "vcpus_current", 2);
                        assert_int_member (o, "mem_actual_kib", 1048576);
                        break;
                }
        }
}

/* policy --json (libvirt's test:///default: no root, no guest): the same
 * domain shape, integers for integral keys, a short quantile. */
static void
test_json_policy (Fx *fx, gconstpointer data)
{
        g_autofree char *out = NULL;
        g_autoptr(JsonNode) root = NULL;
        JsonObject *o;

        if (fx_skip (fx))
                return;
        if (va (fx, &out, NULL, "-c", "test:///default", "--json", "policy", "test", "--set", "quantile=0.9",
                "--set", "vcpus_max=2", "--set", "mem_max_mib=4096", NULL) != 0) {
                g_test_skip ("libvirt's test:///default driver is not available");
                return;
        }
        assert_short_numbers (out);
        root = parse_json (out);
        o = json_node_get_object (root);
        assert_domain (o, "test", "6695eb01-f6a4-8304-79aa-97f2502e193f");
        g_assert_cmpfloat (json_object_get_double_member (o, "quantile"), ==, 0.9);
        g_assert_nonnull (strstr (out, "\"quantile\" : 0.9"));
        assert_int_member (o, "vcpus_max", 2);
        assert_int_member (o, "mem_max_mib", 4096);
}

/* ---- policy (libvirt's test:///default) ---- */

/* --set takes several pairs ("--set a=1 b=2" was "unexpected argument
 * 'b=2'"); mem_max_mib above the domain's <memory> is refused with both
 * numbers (it was accepted and did nothing); unset keys show the value in
 * effect and where it comes from (they said "- (augurd's default)"). */
static void
test_policy (Fx *fx, gconstpointer data)
{
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *conf = g_build_filename (fx->dir, "augur.conf", NULL);

        if (fx_skip (fx))
                return;
        if (va (fx, NULL, NULL, "-c", "test:///default", "policy", "test", NULL) != 0) {
                g_test_skip ("libvirt's test:///default driver is not available");
                return;
        }
        g_assert_true (g_file_set_contents (conf, "[daemon]\nmode = observe\n", -1, NULL));
        g_assert_cmpint (va (fx, &out, &err, "-c", "test:///default", "policy", "test",
                             "--set", "mode=act", "vcpus_max=1", "target_util_pct=50", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "\n mode             act      metadata\n"));
        g_assert_nonnull (strstr (out, "\n vcpus_max        1        metadata\n"));
        g_assert_nonnull (strstr (out, "\n target_util_pct  50       metadata\n"));
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);

        /* unset: what augurd uses, and from where (test's <memory> is 8 GiB) */
        g_assert_cmpint (va (fx, &out, &err, "-c", "test:///default", "policy", "test", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "\n mode             observe  augur.conf [daemon] mode\n"));
        g_assert_nonnull (strstr (out, "\n mem_max_mib      8192     the domain's <memory>\n"));
        g_assert_nonnull (strstr (out, "\n vcpus_max        2        the domain's <vcpu>\n"));
        g_assert_nonnull (strstr (out, "\n target_util_pct  70       augurd's default ([policy] target_util_pct)\n"));
        g_assert_nonnull (strstr (out, "\n priority         1000     augurd's default\n"));
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);

        g_assert_cmpint (va (fx, &out, &err, "-c", "test:///default", "policy", "test",
                             "--set", "mem_max_mib=9000", NULL), ==, 1);
        g_assert_true (g_str_has_prefix (err, "error: test: mem_max_mib (9000) is above the domain's <memory> "
                                              "(8192 MiB)"));
        g_assert_cmpstr (out, ==, "");
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add ("/cli-cmds/list", Fx, NULL, fx_setup, test_list, fx_teardown);
        g_test_add ("/cli-cmds/top/json-times", Fx, NULL, fx_setup, test_top_json_times, fx_teardown);
        g_test_add ("/cli-cmds/actions/since", Fx, NULL, fx_setup, test_actions_since, fx_teardown);
        g_test_add ("/cli-cmds/vcpus-online", Fx, NULL, fx_setup, test_vcpus_online, fx_teardown);
        g_test_add ("/cli-cmds/explain/no-stats", Fx, NULL, fx_setup, test_explain_no_stats, fx_teardown);
        g_test_add ("/cli-cmds/explain/io", Fx, NULL, fx_setup, test_explain_io, fx_teardown);
        g_test_add ("/cli-cmds/explain/cpu-weight", Fx, NULL, fx_setup, test_explain_cpu_weight, fx_teardown);
        g_test_add ("/cli-cmds/plot/no-data", Fx, NULL, fx_setup, test_plot_no_data, fx_teardown);
        g_test_add ("/cli-cmds/plot/band", Fx, NULL, fx_setup, test_plot_band, fx_teardown);
        g_test_add ("/cli-cmds/forecast/host", Fx, NULL, fx_setup, test_forecast_host, fx_teardown);
        g_test_add ("/cli-cmds/json/shapes", Fx, NULL, fx_setup, test_json_shapes, fx_teardown);
        g_test_add ("/cli-cmds/json/policy", Fx, NULL, fx_setup, test_json_policy, fx_teardown);
        g_test_add ("/cli-cmds/policy", Fx, NULL, fx_setup, test_policy, fx_teardown);
        return g_test_run ();
}
