/* test-daemon.c — how augurd starts, and who hears about it: the readiness pipe of a detached augurd (plugin/daemonize.c),
 * sd_notify (plugin/sd-notify.c), the system log writer
 * (plugin/augur-log.c), a start on a full disk (plugin/daemon.c), and the
 * built augurd end to end against libvirt's test:///default driver: a bad
 * database fails a detached start with the reason on stderr, READY=1 and
 * STOPPING=1 reach $NOTIFY_SOCKET, bad options are refused; and a guest
 * without memory statistics (test:///default's) is told about once.
 *
 * The full disk is an SQLite VFS of this test's own, registered as the
 * default: it wraps the real one and fails every write with SQLITE_FULL
 * while disk_full is set (as SQLite's test/walfault.test injects faults),
 * so no tmpfs or root is needed. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "augur-log.h"
#include "daemon.h"
#include "daemonize.h"
#include "sd-notify.h"
#include "store.h"
#include "testutil.h"

/* ------------------------------------------------------------ the logging */

/* Warnings are counted and kept, not fatal: a full disk is warned about
 * on purpose, and the test checks it is said exactly once.  Messages
 * (G_LOG_LEVEL_MESSAGE) are kept apart, for what is said once per guest. */
static GPtrArray *warnings;
static GPtrArray *messages;

static GLogWriterOutput
keep_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE)) {
                for (gsize i = 0; i < n_fields; i++)
                        if (strcmp (fields[i].key, "MESSAGE") == 0)
                                g_ptr_array_add (level & G_LOG_LEVEL_WARNING ? warnings : messages,
                                                 g_strdup (fields[i].value));
        }
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return g_log_writer_standard_streams (level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
}

static guint
count_warnings (const char *needle)
{
        guint n = 0;

        for (guint i = 0; i < warnings->len; i++)
                if (strstr (g_ptr_array_index (warnings, i), needle))
                        n++;
        return n;
}

/* ---------------------------------------------------------- a full disk */

static sqlite3_vfs *real_vfs;
static sqlite3_vfs full_vfs;
/* The unix VFS gives files one of a few methods tables (the database
 * file's locks, the WAL's none): each gets a copy with xWrite wrapped. */
static struct {
        const sqlite3_io_methods *real;
        sqlite3_io_methods wrapped;
} method_tables[4];
static volatile gboolean disk_full;

static int
full_write (sqlite3_file *file, const void *buf, int amt, sqlite3_int64 offset)
{
        for (gsize i = 0; i < G_N_ELEMENTS (method_tables); i++) {
                if (file->pMethods != &method_tables[i].wrapped)
                        continue;
                if (disk_full)
                        return SQLITE_FULL;
                return method_tables[i].real->xWrite (file, buf, amt, offset);
        }
        g_assert_not_reached ();
}

static int
full_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
        int rc = real_vfs->xOpen (real_vfs, name, file, flags, out_flags);

        if (rc != SQLITE_OK || !file->pMethods)
                return rc;
        for (gsize i = 0; i < G_N_ELEMENTS (method_tables); i++) {
                if (!method_tables[i].real) {
                        method_tables[i].real = file->pMethods;
                        method_tables[i].wrapped = *file->pMethods;
                        method_tables[i].wrapped.xWrite = full_write;
                }
                if (method_tables[i].real == file->pMethods) {
                        file->pMethods = &method_tables[i].wrapped;
                        return rc;
                }
        }
        g_assert_not_reached ();              /* more tables than expected */
}

static void
full_vfs_install (void)
{
        if (real_vfs)
                return;
        real_vfs = sqlite3_vfs_find (NULL);
        full_vfs = *real_vfs;
        full_vfs.zName = "augur-test-full";
        full_vfs.xOpen = full_open;
        g_assert_cmpint (sqlite3_vfs_register (&full_vfs, 1), ==, SQLITE_OK);
}

static AugurConfig *
test_config (const char *dir)
{
        AugurConfig *c = augur_config_new_default ();

        g_free (c->uri);
        c->uri = g_strdup ("test:///default");
        g_free (c->db_path);
        c->db_path = g_build_filename (dir, "augur.db", NULL);
        g_free (c->socket_path);
        c->socket_path = g_strdup ("");
        c->retrain_interval_s = 0;
        c->tick_s = 1;
        return c;
}

/* A restart on a full disk exited with "database or disk is
 * full", and Restart=on-failure looped every 5 s.  augurd starts anyway,
 * drops ticks until there is room, says so once, then stores again.
 * data: TRUE for a database with history as a crash leaves it (the
 * newest rollup buckets never written), so that the open must write to
 * rebuild them; FALSE for a new database (the schema is a write). */
static void
test_start_disk_full (gconstpointer data)
{
        const gboolean existing = GPOINTER_TO_INT (data);
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-daemon-XXXXXX", &error);
        g_autofree char *db = g_build_filename (dir, "augur.db", NULL);
        g_autoptr(AugurDaemon) d = NULL;
        AugurConfig *config;

        g_assert_no_error (error);
        {
                virConnectPtr conn = virConnectOpen ("test:///default");

                if (!conn) {
                        g_test_skip ("libvirt's test:///default driver is not available");
                        g_rmdir (dir);
                        return;
                }
                virConnectClose (conn);
        }
        full_vfs_install ();
        config = test_config (dir);
        if (existing) {
                /* A first run stores two ticks; then its open buckets' rows
                 * go, as after a crash before they were written. */
                g_autoptr(AugurDaemon) first = augur_daemon_new (augur_config_copy (config));
                sqlite3 *raw = NULL;

                g_assert_true (augur_daemon_start (first, &error));
                g_assert_no_error (error);
                augur_daemon_tick (first);
                g_assert_cmpint (first->ticks_stored, ==, 2);
                g_clear_pointer (&first, augur_daemon_free);
                g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
                g_assert_cmpint (sqlite3_exec (raw, "DELETE FROM rollups", NULL, NULL, NULL), ==, SQLITE_OK);
                sqlite3_close (raw);
        }
        g_ptr_array_set_size (warnings, 0);
        disk_full = TRUE;
        d = augur_daemon_new (config);
        g_assert_true (augur_daemon_start (d, &error));       /* used to fail */
        g_assert_no_error (error);
        g_assert_null (d->store);
        for (int i = 0; i < 3; i++)
                augur_daemon_tick (d);
        g_assert_cmpint (d->ticks_stored, ==, 0);
        for (guint i = 0; i < warnings->len; i++)
                g_test_message ("warning: %s", (char *) g_ptr_array_index (warnings, i));
        g_assert_cmpuint (count_warnings ("ticks are dropped until there is room"), ==, 1);
        g_assert_cmpuint (count_warnings ("full"), ==, 1);    /* said once, not per tick */

        disk_full = FALSE;
        augur_daemon_tick (d);
        g_assert_nonnull (d->store);
        g_assert_cmpint (d->ticks_stored, ==, 1);
        augur_daemon_tick (d);
        g_assert_cmpint (d->ticks_stored, ==, 2);
        g_assert_cmpuint (warnings->len, ==, 1);
        g_clear_pointer (&d, augur_daemon_free);
        g_assert_cmpint (augur_test_db_int (db, "SELECT count(*) FROM ticks"), ==, existing ? 4 : 2);
        augur_test_rm_rf (dir);
}

/* ------------------------------------------------------ guest messages */

static guint
count_messages (const char *needle)
{
        guint n = 0;

        for (guint i = 0; i < messages->len; i++)
                if (strstr (g_ptr_array_index (messages, i), needle))
                        n++;
        return n;
}

/* A guest without memory statistics (test:///default's "test" reports
 * none: no balloon stats at all) is told about once, when it has had none
 * for longer than augurd waits for stats to arrive (3 stats periods or 3
 * ticks), with the reasons and where to read more; not every tick, and
 * not before the wait is over. */
static void
test_no_memory_stats (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-daemon-XXXXXX", &error);
        g_autoptr(AugurDaemon) d = NULL;
        AugurConfig *config;
        gint64 t0;

        g_assert_no_error (error);
        {
                virConnectPtr conn = virConnectOpen ("test:///default");

                if (!conn) {
                        g_test_skip ("libvirt's test:///default driver is not available");
                        g_rmdir (dir);
                        return;
                }
                virConnectClose (conn);
        }
        config = test_config (dir);
        config->tick_s = 0.5;                     /* the wait is 3 s: 3 stats periods */
        d = augur_daemon_new (config);
        g_assert_true (augur_daemon_start (d, &error));
        g_assert_no_error (error);
        g_ptr_array_set_size (messages, 0);
        t0 = g_get_monotonic_time ();
        augur_daemon_tick (d);
        augur_daemon_tick (d);
        g_assert_cmpuint (count_messages ("reports no memory statistics"), ==, 0);   /* too early */
        while (g_get_monotonic_time () - t0 < 4 * G_USEC_PER_SEC) {
                g_usleep (G_USEC_PER_SEC / 2);
                augur_daemon_tick (d);
        }
        for (guint i = 0; i < messages->len; i++)
                g_test_message ("message: %s", (char *) g_ptr_array_index (messages, i));
        g_assert_cmpuint (count_messages ("guest test reports no memory statistics"), ==, 1);
        g_assert_cmpuint (count_messages ("balloon device"), ==, 1);
        g_assert_cmpuint (count_messages ("virt-augur explain test"), ==, 1);
        g_clear_pointer (&d, augur_daemon_free);
        augur_test_rm_rf (dir);
}

/* ------------------------------------------------------------- sd_notify */

/* A datagram socket at path (a file, or "@name": abstract). */
static int
bind_dgram (const char *name)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len = (socklen_t) (G_STRUCT_OFFSET (struct sockaddr_un, sun_path) + strlen (name));
        int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint (fd, >=, 0);
        memcpy (sa.sun_path, name, strlen (name));
        if (name[0] == '@')
                sa.sun_path[0] = '\0';
        g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, len), ==, 0);
        return fd;
}

/* The next datagram within timeout_ms, or NULL. */
static char *
recv_dgram (int fd, int timeout_ms)
{
        GPollFD p = { fd, G_IO_IN, 0 };
        char buf[4096];
        ssize_t n;

        if (g_poll (&p, 1, timeout_ms) <= 0)
                return NULL;
        n = recv (fd, buf, sizeof buf - 1, 0);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return g_strdup (buf);
}

static void
test_sd_notify (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-notify-XXXXXX", &error);
        g_autofree char *path = g_build_filename (dir, "notify", NULL);
        g_autofree char *abstract = g_strdup_printf ("@augur-test-notify-%d", (int) getpid ());
        const char *names[] = { path, abstract };

        g_assert_no_error (error);
        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                int fd = bind_dgram (names[i]);
                g_autofree char *got = NULL;

                g_setenv ("NOTIFY_SOCKET", names[i], TRUE);
                g_assert_true (augur_sd_notify ("READY=1\nSTATUS=up"));
                got = recv_dgram (fd, 1000);
                g_assert_cmpstr (got, ==, "READY=1\nSTATUS=up");
                g_assert_true (augur_sd_notifyf ("STATUS=%d guests", 3));
                g_free (got);
                got = recv_dgram (fd, 1000);
                g_assert_cmpstr (got, ==, "STATUS=3 guests");
                close (fd);
        }
        /* Not under a service manager, or a value that is no socket name. */
        g_unsetenv ("NOTIFY_SOCKET");
        g_assert_false (augur_sd_notify ("READY=1"));
        g_setenv ("NOTIFY_SOCKET", "relative/path", TRUE);
        g_assert_false (augur_sd_notify ("READY=1"));
        g_setenv ("NOTIFY_SOCKET", path, TRUE);       /* nobody listens any more */
        g_unlink (path);
        g_assert_false (augur_sd_notify ("READY=1"));
        g_unsetenv ("NOTIFY_SOCKET");
        g_rmdir (dir);
}

/* ----------------------------------------------------- the readiness pipe */

/* LeakSanitizer asks this at exit (sanitizer/lsan_interface.h).  A
 * process forked by run_detached() leaves through augur_daemonize()'s
 * exit() holding a copy of the whole test process, whose other threads
 * (GLib's) did not survive the fork: what only their stacks referenced
 * looks leaked there.  Leak checking stays on for the test process and
 * for any memory error the child makes. */
static volatile int in_forked_child;
int __lsan_is_turned_off (void);
int
__lsan_is_turned_off (void)
{
        return in_forked_child;
}

typedef enum {
        DAEMON_READY,
        DAEMON_FAILS,
        DAEMON_DIES,
} DaemonFate;

/* Fork a process that detaches with augur_daemonize(); its daemon then
 * meets fate.  Returns the exit status of the forked process (the one a
 * shell would see) and its stderr. */
static int
run_detached (DaemonFate fate, char **ret_stderr)
{
        int err_pipe[2], status = 0;
        GString *err = g_string_new (NULL);
        char buf[1024];
        ssize_t n;
        pid_t pid;

        g_assert_cmpint (pipe (err_pipe), ==, 0);
        pid = fork ();
        g_assert_cmpint (pid, >=, 0);
        if (pid == 0) {
                g_autoptr(GError) error = NULL;
                int fd = -1;

                in_forked_child = 1;
                alarm (10);
                close (err_pipe[0]);
                dup2 (err_pipe[1], STDERR_FILENO);
                close (err_pipe[1]);
                if (!augur_daemonize (&fd, &error))
                        _exit (99);
                /* Only the daemon gets here; its stderr is /dev/null now. */
                if (fate == DAEMON_READY)
                        augur_daemonize_ready (&fd);
                else if (fate == DAEMON_FAILS)
                        augur_daemonize_failed (&fd, "/x/augur.db: exec: file is not a database (code 26)");
                _exit (fate == DAEMON_DIES ? 3 : 0);
        }
        close (err_pipe[1]);
        while ((n = read (err_pipe[0], buf, sizeof buf)) > 0)
                g_string_append_len (err, buf, n);
        close (err_pipe[0]);
        g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
        *ret_stderr = g_string_free (err, FALSE);
        g_assert_true (WIFEXITED (status));
        return WEXITSTATUS (status);
}

static void
test_daemonize (void)
{
        g_autofree char *e1 = NULL, *e2 = NULL, *e3 = NULL;
        int rc;

        /* The child's stderr first: a sanitizer's report lands there. */
        rc = run_detached (DAEMON_READY, &e1);
        g_assert_cmpstr (e1, ==, "");
        g_assert_cmpint (rc, ==, 0);
        g_assert_cmpint (run_detached (DAEMON_FAILS, &e2), ==, 1);
        g_test_message ("failed start: %s", e2);
        g_assert_cmpstr (e2, ==, "augurd: /x/augur.db: exec: file is not a database (code 26)\n");
        g_assert_cmpint (run_detached (DAEMON_DIES, &e3), ==, 1);
        g_test_message ("silent death: %s", e3);
        g_assert_nonnull (strstr (e3, "without a word"));
}

/* ------------------------------------------------------- the system log */

static void
test_log_syslog (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-log-XXXXXX", &error);
        g_autofree char *sock = g_build_filename (dir, "log", NULL);
        g_autofree char *nojournal = g_build_filename (dir, "no-journal", NULL);
        g_autoptr(AugurLogSystem) sys = NULL;
        g_autofree char *got = NULL, *want = NULL;
        int fd;
        const GLogField msg[] = {
                { "GLIB_DOMAIN", "augurd", -1 },
                { "MESSAGE", "augurd 0.1.0 watching test:///default", -1 },
        };
        const GLogField dbg[] = {
                { "GLIB_DOMAIN", "augurd", -1 },
                { "MESSAGE", "per-tick detail", -1 },
        };
        const GLogField warn[] = {
                { "MESSAGE", "disk full", 4 },          /* not NUL-terminated at 4 */
        };

        g_assert_no_error (error);
        fd = bind_dgram (sock);
        g_unsetenv ("G_MESSAGES_DEBUG");
        sys = augur_log_system_new (nojournal, sock);
        g_assert_cmpint (augur_log_system_writer (G_LOG_LEVEL_MESSAGE, msg, G_N_ELEMENTS (msg), sys), ==,
                         G_LOG_WRITER_HANDLED);
        got = recv_dgram (fd, 1000);
        /* facility daemon (3 << 3) + notice (5) */
        want = g_strdup_printf ("<29>%s[%d]: augurd 0.1.0 watching test:///default", g_get_prgname (), (int) getpid ());
        g_assert_cmpstr (got, ==, want);
        /* debug is dropped unless G_MESSAGES_DEBUG asks for it */
        g_assert_cmpint (augur_log_system_writer (G_LOG_LEVEL_DEBUG, dbg, G_N_ELEMENTS (dbg), sys), ==,
                         G_LOG_WRITER_HANDLED);
        g_free (got);
        got = recv_dgram (fd, 100);
        g_assert_null (got);
        g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
        augur_log_system_writer (G_LOG_LEVEL_DEBUG, dbg, G_N_ELEMENTS (dbg), sys);
        got = recv_dgram (fd, 1000);
        g_assert_true (g_str_has_prefix (got, "<31>"));
        g_unsetenv ("G_MESSAGES_DEBUG");
        g_free (got);
        augur_log_system_writer (G_LOG_LEVEL_WARNING, warn, G_N_ELEMENTS (warn), sys);
        got = recv_dgram (fd, 1000);
        g_assert_true (g_str_has_prefix (got, "<28>"));
        g_assert_true (g_str_has_suffix (got, ": disk"));
        /* no syslog at all: unhandled, no crash */
        close (fd);
        g_unlink (sock);
        g_assert_cmpint (augur_log_system_writer (G_LOG_LEVEL_MESSAGE, msg, G_N_ELEMENTS (msg), sys), ==,
                         G_LOG_WRITER_UNHANDLED);
        g_rmdir (dir);
}

/* ------------------------------------------------------ the built augurd */

typedef struct {
        char *dir;
        char *augurd;
        char *conf;                   /* an empty config file */
        char *db;
        char *sock;
} Run;

static gboolean
run_setup (Run *r)
{
        g_autoptr(GError) error = NULL;
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");

        r->augurd = g_build_filename (top ? top : "..", "plugin", "augurd", NULL);
        if (!g_file_test (r->augurd, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("plugin/augurd is not built");
                return FALSE;
        }
        r->dir = g_dir_make_tmp ("augur-run-XXXXXX", &error);
        g_assert_no_error (error);
        r->conf = g_build_filename (r->dir, "augur.conf", NULL);
        r->db = g_build_filename (r->dir, "augur.db", NULL);
        r->sock = g_build_filename (r->dir, "augurd.sock", NULL);
        g_assert_true (g_file_set_contents (r->conf, "", 0, NULL));
        return TRUE;
}

static void
run_teardown (Run *r)
{
        if (r->dir)
                augur_test_rm_rf (r->dir);
        g_free (r->dir);
        g_free (r->augurd);
        g_free (r->conf);
        g_free (r->db);
        g_free (r->sock);
}

/* Run augurd with argv (after the program) to its exit, at most 20 s
 * (an augurd that does not exit, e.g. one that took a bad option, is
 * killed and fails the test); stderr in *ret_err. */
static int
run_augurd (const Run *r, const char *const *args, const char *notify, char **ret_err)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_auto(GStrv) envp = g_get_environ ();
        g_autoptr(GError) error = NULL;
        GString *err = g_string_new (NULL);
        gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
        int status = -1, err_fd = -1;
        GPid pid;

        g_ptr_array_add (argv, r->augurd);
        for (gsize i = 0; args[i]; i++)
                g_ptr_array_add (argv, (char *) args[i]);
        g_ptr_array_add (argv, NULL);
        envp = g_environ_unsetenv (envp, "NOTIFY_SOCKET");
        if (notify)
                envp = g_environ_setenv (envp, "NOTIFY_SOCKET", notify, TRUE);
        g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv->pdata, envp,
                                                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                                 NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
        g_assert_no_error (error);
        /* stderr reaches EOF when augurd (or, detached, its parent) exits. */
        for (;;) {
                GPollFD p = { err_fd, G_IO_IN | G_IO_HUP, 0 };
                char buf[1024];
                ssize_t n;

                if (g_get_monotonic_time () >= deadline) {
                        kill (pid, SIGKILL);
                        break;
                }
                if (g_poll (&p, 1, 100) <= 0)
                        continue;
                n = read (err_fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                g_string_append_len (err, buf, n);
        }
        close (err_fd);
        g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
        g_spawn_close_pid (pid);
        *ret_err = g_string_free (err, FALSE);
        g_test_message ("augurd exited with status %d, stderr: %s", status, *ret_err);
        g_assert_true (WIFEXITED (status));
        return WEXITSTATUS (status);
}

/* The pid status reports over the API socket, or -1. */
static gint64
status_pid (const char *sock)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[8192];
        gsize got = 0;
        const char *p;
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_strlcpy (sa.sun_path, sock, sizeof sa.sun_path);
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                close (fd);
                return -1;
        }
        g_assert_cmpint (write (fd, "{\"call\":\"status\"}\n", 18), ==, 18);
        while (got < sizeof buf - 1) {
                ssize_t n = read (fd, buf + got, sizeof buf - 1 - got);

                if (n <= 0)
                        break;
                got += (gsize) n;
                if (memchr (buf, '\n', got))
                        break;
        }
        close (fd);
        buf[got] = '\0';
        p = strstr (buf, "\"pid\":");
        return p ? g_ascii_strtoll (p + 6, NULL, 10) : -1;
}

/* Without --foreground, a bad database exited 0 and said
 * nothing.  Now the start waits for the daemon's word: exit 1 and the
 * reason on stderr; a good start exits 0 with the daemon running. */
static void
test_run_detached (void)
{
        Run r = { 0 };
        g_autofree char *err = NULL, *err2 = NULL;
        gint64 pid = -1;

        if (!run_setup (&r))
                return;
        g_assert_true (g_file_set_contents (r.db, "this is not a database, just text long enough to fill "
                                            "SQLite's hundred-byte header ..........................", -1, NULL));
        {
                const char *args[] = { "--connect", "test:///default", "--db", r.db, "--socket", r.sock,
                                       "--config", r.conf, NULL };

                g_assert_cmpint (run_augurd (&r, args, NULL, &err), ==, 1);
                g_assert_true (g_str_has_prefix (err, "augurd: "));
                g_assert_nonnull (strstr (err, r.db));
                g_assert_nonnull (strstr (err, "not a database"));
                g_assert_false (g_file_test (r.sock, G_FILE_TEST_EXISTS));
        }
        g_unlink (r.db);
        {
                const char *args[] = { "--connect", "test:///default", "--db", r.db, "--socket", r.sock,
                                       "--config", r.conf, NULL };

                g_assert_cmpint (run_augurd (&r, args, NULL, &err2), ==, 0);
                g_assert_cmpstr (err2, ==, "");
        }
        /* The daemon is up and serving; stop it. */
        pid = status_pid (r.sock);
        g_test_message ("daemon pid %" G_GINT64_FORMAT, pid);
        g_assert_cmpint (pid, >, 1);
        g_assert_cmpint (kill ((pid_t) pid, SIGTERM), ==, 0);
        for (int i = 0; i < 500 && g_file_test (r.sock, G_FILE_TEST_EXISTS); i++)
                g_usleep (10000);
        g_assert_false (g_file_test (r.sock, G_FILE_TEST_EXISTS));
        run_teardown (&r);
}

/* Under systemd (Type=notify): READY=1 once started, STOPPING=1 on
 * SIGTERM; a failed start exits 1 with STATUS= and never says READY=1.
 * A FIFO as --model must not hang the start (the model is refused and the
 * baselines serve). */
static void
test_run_notify (void)
{
        Run r = { 0 };
        g_autofree char *notify = NULL, *fifo = NULL;
        int nfd;

        if (!run_setup (&r))
                return;
        notify = g_build_filename (r.dir, "notify", NULL);
        fifo = g_build_filename (r.dir, "model.fifo", NULL);
        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        nfd = bind_dgram (notify);
        {
                const char *argv[] = { r.augurd, "--foreground", "--connect", "test:///default", "--db", r.db,
                                       "--socket", "", "--config", r.conf, "--model", fifo, NULL };
                g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "NOTIFY_SOCKET", notify, TRUE);
                g_autoptr(GError) error = NULL;
                g_autofree char *ready = NULL, *stopping = NULL;
                GPid pid;
                int status = -1;

                g_assert_true (g_spawn_async (NULL, (char **) argv, envp,
                                              G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                              G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
                g_assert_no_error (error);
                ready = recv_dgram (nfd, 10000);
                g_test_message ("augurd said: %s", ready);
                g_assert_nonnull (ready);
                g_assert_true (g_str_has_prefix (ready, "READY=1\n"));
                g_assert_nonnull (strstr (ready, "test:///default"));
                g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
                stopping = recv_dgram (nfd, 10000);
                g_assert_cmpstr (stopping, ==, "STOPPING=1");
                g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
                g_assert_true (WIFEXITED (status));
                g_assert_cmpint (WEXITSTATUS (status), ==, 0);
                g_spawn_close_pid (pid);
        }
        g_assert_true (g_file_set_contents (r.db, "this is not a database, just text long enough to fill "
                                            "SQLite's hundred-byte header ..........................", -1, NULL));
        {
                const char *args[] = { "--foreground", "--connect", "test:///default", "--db", r.db,
                                       "--socket", "", "--config", r.conf, NULL };
                g_autofree char *err = NULL, *said = NULL;

                g_assert_cmpint (run_augurd (&r, args, notify, &err), ==, 1);
                said = recv_dgram (nfd, 1000);
                g_test_message ("augurd said: %s", said);
                g_assert_nonnull (said);
                g_assert_true (g_str_has_prefix (said, "STATUS=cannot start: "));
                g_assert_nonnull (strstr (said, "not a database"));
                g_free (said);
                said = recv_dgram (nfd, 200);
                g_assert_null (said);                         /* no READY=1 */
        }
        close (nfd);
        run_teardown (&r);
}

/* Options refused before anything starts (exit 2 or 1, with the reason). */
static void
test_run_bad_options (void)
{
        Run r = { 0 };
        static const struct {
                const char *option;
                const char *value;
                int status;
                const char *says;
        } rows[] = {
                { "--tick", "0x10", 2, "--tick 0x10" },        /* was 16 s */
                { "--tick", "inf", 2, "--tick inf" },
                { "--tick", "0.4", 2, "0.5 to 3600" },
                { "--db", "/dev/null", 1, "not a regular file" },   /* made /dev/null-journal */
        };

        if (!run_setup (&r))
                return;
        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                const char *args[] = { "--foreground", "--connect", "test:///default", "--db", r.db,
                                       "--socket", "", "--config", r.conf, rows[i].option, rows[i].value, NULL };
                g_autofree char *err = NULL;

                g_assert_cmpint (run_augurd (&r, args, NULL, &err), ==, rows[i].status);
                g_assert_nonnull (strstr (err, rows[i].says));
        }
        run_teardown (&r);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        warnings = g_ptr_array_new_with_free_func (g_free);
        messages = g_ptr_array_new_with_free_func (g_free);
        g_log_set_writer_func (keep_writer, NULL, NULL);
        /* as augurd's main.c does: libvirt's event loop, its errors quiet */
        g_assert_true (augur_hv_init (NULL));

        g_test_add_func ("/daemon/sd-notify", test_sd_notify);
        g_test_add_func ("/daemon/daemonize", test_daemonize);
        g_test_add_func ("/daemon/log/syslog", test_log_syslog);
        g_test_add_data_func ("/daemon/start/disk-full/new", GINT_TO_POINTER (FALSE), test_start_disk_full);
        g_test_add_data_func ("/daemon/start/disk-full/existing", GINT_TO_POINTER (TRUE), test_start_disk_full);
        g_test_add_func ("/daemon/run/detached", test_run_detached);
        g_test_add_func ("/daemon/run/notify", test_run_notify);
        g_test_add_func ("/daemon/run/bad-options", test_run_bad_options);
        g_test_add_func ("/daemon/guest/no-memory-stats", test_no_memory_stats);
        return g_test_run ();
}
