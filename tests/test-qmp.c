/* test-qmp.c — plugin/qmp.c against a fake QEMU monitor (fake-qmp.c):
 * greeting and capabilities, commands with arguments, error replies,
 * events skipped, garbage, a wrong id, an oversize line, a monitor that
 * never answers (the deadline), no socket, a full listen queue (busy), and
 * the back-off arithmetic. */
#include "config.h"

#include "qmp.h"
#include "fake-qmp.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Generous: the machine may be loaded (CI boots guests beside us). */
#define SLOW_MS 5000

typedef struct {
        char *dir;
        char *path;
} Fixture;

static void
setup (Fixture *fx, gconstpointer data)
{
        fx->dir = g_dir_make_tmp ("augur-qmp-XXXXXX", NULL);
        g_assert_nonnull (fx->dir);
        fx->path = g_build_filename (fx->dir, "100.qmp", NULL);
}

static void
teardown (Fixture *fx, gconstpointer data)
{
        g_unlink (fx->path);
        g_rmdir (fx->dir);
        g_free (fx->path);
        g_free (fx->dir);
}

static void
assert_received (FakeQmp *f, const char *const *want)
{
        g_auto(GStrv) got = fake_qmp_received (f);

        g_assert_cmpuint (g_strv_length (got), ==, g_strv_length ((char **) want));
        for (guint i = 0; want[i]; i++)
                g_assert_cmpstr (got[i], ==, want[i]);
}

static void
test_command (Fixture *fx, gconstpointer data)
{
        g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_NORMAL);
        g_autoptr(JsonNode) ret = NULL;
        g_autoptr(JsonNode) args = NULL;
        g_autoptr(GError) error = NULL;
        const char *want[] = { "qmp_capabilities", "query-balloon", "qmp_capabilities",
                               "balloon {\"value\":536870912}", NULL };

        fake_qmp_answer (f, "query-balloon", "\"return\": {\"actual\": 1073741824}");
        g_assert_true (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, &ret, &error));
        g_assert_no_error (error);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
        g_assert_cmpint (json_object_get_int_member (json_node_get_object (ret), "actual"), ==, 1073741824);

        args = json_from_string ("{\"value\": 536870912}", NULL);
        g_assert_true (augur_qmp_call (fx->path, SLOW_MS, "balloon", args, NULL, &error));
        g_assert_no_error (error);
        assert_received (f, want);
        g_assert_cmpuint (fake_qmp_sessions (f), ==, 2);
}

/* Several commands in one session; an error reply leaves it usable. */
static void
test_session_error (Fixture *fx, gconstpointer data)
{
        g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_NORMAL);
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) ret = NULL;

        fake_qmp_answer (f, "balloon", "\"error\": {\"class\": \"DeviceNotActive\", "
                                       "\"desc\": \"No balloon device has been activated\"}");
        fake_qmp_answer (f, "query-status", "\"return\": {\"status\": \"running\", \"running\": true}");
        q = augur_qmp_open (fx->path, SLOW_MS, &error);
        g_assert_no_error (error);
        g_assert_false (augur_qmp_execute (q, "balloon", NULL, NULL, &error));
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND);
        g_assert_nonnull (strstr (error->message, "DeviceNotActive: No balloon device has been activated"));
        g_clear_error (&error);
        g_assert_true (augur_qmp_execute (q, "query-status", NULL, &ret, &error));
        g_assert_no_error (error);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"), ==, "running");
        g_assert_cmpuint (fake_qmp_sessions (f), ==, 1);
}

/* Any QEMU version is accepted while its commands exist; a command it
 * lacks fails with NO_COMMAND and the greeting's version named (or "?"
 * for a greeting without one). */
static void
test_versions (Fixture *fx, gconstpointer data)
{
        static const struct {
                const char *greeting, *version;
        } rows[] = {
                { "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 1, \"major\": 99}, "
                  "\"package\": \"pve-qemu-kvm_99.1.3-1\"}, \"capabilities\": [\"oob\"]}}\r\n", "99.1.3" },
                { "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 2, \"minor\": 5, \"micro\": 0}}, "
                  "\"capabilities\": []}}\r\n", "2.5.0" },
                { "{\"QMP\": {\"version\": \"new\", \"capabilities\": []}}\r\n", "?" },
                { "{\"QMP\": {}}\r\n", "?" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_NORMAL);
                g_autoptr(AugurQmp) q = NULL;
                g_autoptr(GError) error = NULL;
                g_autoptr(JsonNode) ret = NULL;
                g_autofree char *want = g_strdup_printf ("(this QEMU, version %s, lacks it)", rows[i].version);

                g_test_message ("row %zu", i);
                fake_qmp_answer (f, "(greeting)", rows[i].greeting);
                fake_qmp_answer (f, "query-balloon", "\"return\": {\"actual\": 42}");
                fake_qmp_answer (f, "qom-get", "\"error\": {\"class\": \"CommandNotFound\", "
                                               "\"desc\": \"The command qom-get has not been found\"}");
                q = augur_qmp_open (fx->path, SLOW_MS, &error);
                g_assert_no_error (error);
                g_assert_true (augur_qmp_execute (q, "query-balloon", NULL, &ret, &error));
                g_assert_no_error (error);
                g_assert_false (augur_qmp_execute (q, "qom-get", NULL, NULL, &error));
                g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_NO_COMMAND);
                g_test_message ("%s", error->message);
                g_assert_nonnull (strstr (error->message, want));
        }
}

static void
test_events_skipped (Fixture *fx, gconstpointer data)
{
        g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_EVENTS);
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) ret = NULL;

        fake_qmp_answer (f, "query-balloon", "\"return\": {\"actual\": 42}");
        g_assert_true (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, &ret, &error));
        g_assert_no_error (error);
        g_assert_cmpint (json_object_get_int_member (json_node_get_object (ret), "actual"), ==, 42);
}

static void
expect_protocol (Fixture *fx, FakeQmpMode mode, const char *fragment)
{
        g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, mode);
        g_autoptr(GError) error = NULL;
        gint64 t0 = g_get_monotonic_time ();

        g_assert_false (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, NULL, &error));
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL);
        g_test_message ("%s", error->message);
        g_assert_nonnull (strstr (error->message, fragment));
        /* Refused as it came, not at the deadline. */
        g_assert_cmpint (g_get_monotonic_time () - t0, <, SLOW_MS * 1000 / 2);
}

static void
test_garbage_greeting (Fixture *fx, gconstpointer data)
{
        expect_protocol (fx, FAKE_QMP_GARBAGE_GREETING, "not a JSON object");
}

static void
test_garbage_reply (Fixture *fx, gconstpointer data)
{
        expect_protocol (fx, FAKE_QMP_GARBAGE_REPLY, "not a JSON object");
}

static void
test_wrong_id (Fixture *fx, gconstpointer data)
{
        expect_protocol (fx, FAKE_QMP_WRONG_ID, "without our id");
}

static void
test_oversize (Fixture *fx, gconstpointer data)
{
        expect_protocol (fx, FAKE_QMP_OVERSIZE, "longer than");
}

/* A monitor that never answers: the whole session gives up at its
 * deadline (200 ms), not later. */
static void
test_deadline (Fixture *fx, gconstpointer data)
{
        g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_SILENT);
        g_autoptr(GError) error = NULL;
        gint64 t0 = g_get_monotonic_time (), dt;

        g_assert_false (augur_qmp_call (fx->path, 200, "query-balloon", NULL, NULL, &error));
        dt = g_get_monotonic_time () - t0;
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_TIMEOUT);
        g_assert_cmpint (dt, >=, 190 * 1000);
        g_assert_cmpint (dt, <, 1500 * 1000);         /* slack for a loaded machine */
}

/* No socket file, and a socket file nobody listens on: GONE, at once. */
static void
test_gone (Fixture *fx, gconstpointer data)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autoptr(GError) error = NULL;
        int fd;

        g_assert_false (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, NULL, &error));
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_GONE);
        g_clear_error (&error);

        strcpy (sa.sun_path, fx->path);
        fd = socket (AF_UNIX, SOCK_STREAM, 0);
        g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        close (fd);                                     /* the file stays */
        g_assert_false (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, NULL, &error));
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_GONE);
}

/* A listen queue that is full (another client waits for QEMU): BUSY at
 * once, without waiting for the deadline. */
static void
test_busy (Fixture *fx, gconstpointer data)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
        gboolean full = FALSE;
        gint64 t0;
        int lfd;

        strcpy (sa.sun_path, fx->path);
        lfd = socket (AF_UNIX, SOCK_STREAM, 0);
        g_assert_cmpint (bind (lfd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint (listen (lfd, 0), ==, 0);
        for (int i = 0; i < 64 && !full; i++) {
                int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

                if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        g_assert_cmpint (errno, ==, EAGAIN);
                        full = TRUE;
                        close (fd);
                } else {
                        g_array_append_val (fds, fd);
                }
        }
        g_assert_true (full);
        t0 = g_get_monotonic_time ();
        g_assert_false (augur_qmp_call (fx->path, SLOW_MS, "query-balloon", NULL, NULL, &error));
        g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_BUSY);
        g_assert_cmpint (g_get_monotonic_time () - t0, <, SLOW_MS * 1000 / 2);
        for (guint i = 0; i < fds->len; i++)
                close (g_array_index (fds, int, i));
        close (lfd);
}

static void
test_backoff (void)
{
        AugurQmpBackoff b = { 0 };
        const gint64 s = G_USEC_PER_SEC;

        g_assert_true (augur_qmp_backoff_ready (&b, 0));
        augur_qmp_backoff_failed (&b, 100 * s, 5 * s, 60 * s);
        g_assert_false (augur_qmp_backoff_ready (&b, 104 * s));
        g_assert_true (augur_qmp_backoff_ready (&b, 105 * s));
        augur_qmp_backoff_failed (&b, 105 * s, 5 * s, 60 * s);
        g_assert_cmpint (b.next_us, ==, 115 * s);                /* 10 s */
        for (int i = 0; i < 10; i++)
                augur_qmp_backoff_failed (&b, 200 * s, 5 * s, 60 * s);
        g_assert_cmpint (b.next_us, ==, 260 * s);                /* capped */
        augur_qmp_backoff_succeeded (&b);
        g_assert_true (augur_qmp_backoff_ready (&b, 0));
        augur_qmp_backoff_failed (&b, 300 * s, 5 * s, 60 * s);
        g_assert_cmpint (b.next_us, ==, 305 * s);                /* from the start again */
}

/* A guest agent session: no greeting, a stale reply of an earlier client
 * skipped up to the 0xFF sentinel, the sync id checked, then commands as
 * on a monitor; an agent that never answers (not running in the guest) is
 * a timeout at the deadline. */
static void
test_guest_agent (Fixture *fx, gconstpointer data)
{
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) ret = NULL;
        g_auto(GStrv) got = NULL;

        {
                g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_QGA);

                fake_qmp_answer (f, "guest-get-users", "\"return\": [{\"user\": \"ann\", \"login-time\": 1.5}]");
                q = augur_qga_open (fx->path, SLOW_MS, &error);
                g_assert_no_error (error);
                g_assert_true (augur_qmp_execute (q, "guest-get-users", NULL, &ret, &error));
                g_assert_no_error (error);
                g_assert_cmpuint (json_array_get_length (json_node_get_array (ret)), ==, 1);
                g_clear_pointer (&q, augur_qmp_close);
                got = fake_qmp_received (f);
                g_assert_true (g_str_has_prefix (got[0], "guest-sync-delimited {\"id\":"));
                g_assert_cmpstr (got[1], ==, "guest-get-users");
                g_assert_null (got[2]);         /* no qmp_capabilities */
        }
        {
                g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_SILENT);
                gint64 t0 = g_get_monotonic_time ();

                g_assert_null (augur_qga_open (fx->path, 100, &error));
                g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_TIMEOUT);
                g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * G_USEC_PER_SEC);
                g_clear_error (&error);
        }
        {
                /* a monitor is not an agent: its greeting has no sentinel */
                g_autoptr(FakeQmp) f = fake_qmp_new (fx->path, FAKE_QMP_NORMAL);

                g_assert_null (augur_qga_open (fx->path, 100, &error));
                g_assert_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_TIMEOUT);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
        ADD ("/qmp/command", test_command);
        ADD ("/qmp/session-error", test_session_error);
        ADD ("/qmp/versions", test_versions);
        ADD ("/qmp/events-skipped", test_events_skipped);
        ADD ("/qmp/garbage-greeting", test_garbage_greeting);
        ADD ("/qmp/garbage-reply", test_garbage_reply);
        ADD ("/qmp/wrong-id", test_wrong_id);
        ADD ("/qmp/oversize", test_oversize);
        ADD ("/qmp/deadline", test_deadline);
        ADD ("/qmp/gone", test_gone);
        ADD ("/qmp/busy", test_busy);
        ADD ("/qmp/guest-agent", test_guest_agent);
#undef ADD
        g_test_add_func ("/qmp/backoff", test_backoff);
        return g_test_run ();
}
