/* augur-hook.c — augur's libvirt qemu hook: tells augurd that a domain is
 * being prepared, started, stopped, released, migrated, restored or
 * reconnected, and exits 0.
 *
 * What it is: the program libvirtd runs as
 *   /etc/libvirt/hooks/qemu.d/augur NAME OP SUBOP EXTRA   (XML on stdin)
 * (installed as a symlink to $(libexecdir)/augur/augur-hook).  libvirt
 * >= 6.5 runs every executable in qemu.d/, in name order, synchronously,
 * while it holds the domain: a start waits for us.  So this program
 *   - never calls libvirt (the libvirt docs: "A deadlock is likely");
 *   - spends at most HOOK_BUDGET_MS notifying augurd (nonblocking connect,
 *     poll with a deadline), and exits 0 whatever happens: augurd being
 *     down, slow, or refusing must never block or fail a domain start;
 *   - prints nothing on stdout, ever.  For "migrate begin" and "restore"
 *     libvirt takes our stdout as the new domain XML when it is not empty;
 *     staying silent keeps the XML (and augur's per-VM <metadata>) as is;
 *   - treats its arguments and stdin as hostile.  There is no shell and no
 *     interpolation; the name is JSON-escaped into a fixed request, and
 *     stdin (the domain XML) is never read: libvirt ignores the EPIPE when
 *     a hook exits without reading it.  There is no option parsing either:
 *     a domain may be called "--help".
 *
 * What it is not: a place for policy.  augurd decides what a notification
 * means (today: record it, and sample a just-started domain early), and it
 * re-reads the truth from libvirt later; the hook only says "look now".
 *
 * Where augurd listens: [daemon] socket= in /etc/augur/augur.conf (the
 * same file and key augurd reads), else RUNSTATEDIR/augur/augurd.sock.
 * AUGUR_HOOK_CONFIG overrides the file for tests only: libvirtd runs hooks
 * with a minimal environment (PATH, HOME, USER, LOGNAME, TMPDIR, LC_ALL)
 * and never passes it.
 *
 * PROXMOX VE.  The same program is a qemu-server hookscript: Proxmox runs
 * it as `augur-hook VMID PHASE` (`qm set VMID --hookscript
 * local:snippets/augur-hook`, the program copied or linked into that
 * storage's snippets/), and a non-zero exit in pre-start would abort the
 * start: it exits 0 there too.  Two arguments, a vmid (digits) and one of
 * qemu-server's phases, are that call; each phase is told as the libvirt
 * operation it matches (pve_phases below), with the vmid as the domain
 * (augurd matches it against the pve backend's guest ids).
 *
 * Wire: one line {"call":"notify","args":{"op":..,"sub":..,"domain":..}}
 * then shutdown(SHUT_WR) and wait (within the budget) for the one reply
 * line.  See plugin/api.h.
 */
#include "config.h"

#include <glib.h>

#include "regfile.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Total time we may spend talking to augurd, ms.  libvirtd waits for every
 * hook in turn while a domain starts; 100 ms is invisible next to QEMU's
 * own start-up, and a local augurd answers in well under 1 ms. */
#define HOOK_BUDGET_MS 100
/* Hard stop, s: defence in depth in case something blocks outside the
 * polled socket (a hung config file read).  The handler exits 0. */
#define HOOK_ALARM_S 2
/* Longest domain name we pass on, bytes (augurd's AUGUR_API_MAX_DOMAIN_BYTES). */
#define MAX_NAME_BYTES 1024
/* Longest reply we read, bytes.  A notify reply is ~30 bytes. */
#define MAX_REPLY_BYTES 4096
/* Largest config file we read, bytes (augurd takes up to 1 MiB; the
 * shipped one is 8 KiB, and we need one key of it). */
#define MAX_CONFIG_BYTES (256 * 1024)

#define DEFAULT_CONFIG SYSCONFDIR "/augur/augur.conf"
#define DEFAULT_SOCKET RUNSTATEDIR "/augur/augurd.sock"

/* The operations augurd wants to hear about.  "start" (before QEMU runs,
 * also sent as "prepare") and "attach" are ignored. */
static const char *const notify_ops[] = {
        "prepare", "started", "stopped", "release", "migrate", "restore", "reconnect",
};

/* qemu-server's hookscript phases and the libvirt operations they match. */
static const struct {
        const char *phase, *op, *sub;
} pve_phases[] = {
        { "pre-start", "prepare", "begin" },
        { "post-start", "started", "begin" },
        { "pre-stop", "stopped", "begin" },
        { "post-stop", "release", "end" },
};

/* augur-hook VMID PHASE (PROXMOX VE): the libvirt op and sub, or FALSE
 * when the arguments are not that. */
static gboolean
pve_call (int argc, char **argv, const char **ret_op, const char **ret_sub)
{
        const char *v = argc == 3 ? argv[1] : "";

        if (!*v || strlen (v) > 9 || strspn (v, "0123456789") != strlen (v) || v[0] == '0')
                return FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS (pve_phases); i++)
                if (strcmp (argv[2], pve_phases[i].phase) == 0) {
                        *ret_op = pve_phases[i].op;
                        *ret_sub = pve_phases[i].sub;
                        return TRUE;
                }
        return FALSE;
}

static void
on_alarm (int sig)
{
        _exit (0);
}

static int64_t
now_ms (void)
{
        struct timespec ts;

        clock_gettime (CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
warn (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static void
warn (const char *fmt, ...)
{
        va_list ap;

        fputs ("augur-hook: ", stderr);
        va_start (ap, fmt);
        vfprintf (stderr, fmt, ap);
        va_end (ap);
        fputc ('\n', stderr);
}

/* Append s as a JSON string literal.  s must be valid UTF-8: quotes,
 * backslashes and every control character are escaped; the rest is copied. */
static void
append_json_string (GString *out, const char *s)
{
        g_string_append_c (out, '"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\') {
                        g_string_append_c (out, '\\');
                        g_string_append_c (out, (char) *p);
                } else if (*p < 0x20 || *p == 0x7f) {
                        g_string_append_printf (out, "\\u%04x", *p);
                } else {
                        g_string_append_c (out, (char) *p);
                }
        }
        g_string_append_c (out, '"');
}

/* The socket path from the config file, or the default.  Never fails: a
 * bad or unreadable config is reported and the default is used.  Only a
 * regular file is read (regfile.h): a FIFO would block us until the
 * alarm, and libvirtd with us. */
static char *
socket_path (void)
{
        const char *env = getenv ("AUGUR_HOOK_CONFIG");
        const char *conf = env && *env ? env : DEFAULT_CONFIG;
        g_autoptr(GKeyFile) kf = g_key_file_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *text = NULL;
        gsize len = 0;
        char *path;

        if (!augur_regfile_read (conf, MAX_CONFIG_BYTES, &text, &len, &error)) {
                if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                        warn ("config %s; using %s", error->message, DEFAULT_SOCKET);
                return g_strdup (DEFAULT_SOCKET);
        }
        if (!g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, &error)) {
                warn ("%s: %s; using %s", conf, error->message, DEFAULT_SOCKET);
                return g_strdup (DEFAULT_SOCKET);
        }
        path = g_key_file_get_string (kf, "daemon", "socket", NULL);
        if (!path || !*path) {
                g_free (path);
                return g_strdup (DEFAULT_SOCKET);
        }
        return path;
}

/* Wait until fd is ready for events or the deadline passes.  Returns 1
 * ready, 0 timeout, -1 error. */
static int
wait_fd (int fd, short events, int64_t deadline_ms)
{
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = events };
                int64_t left = deadline_ms - now_ms ();
                int rc;

                if (left <= 0)
                        return 0;
                rc = poll (&pfd, 1, (int) left);
                if (rc > 0)
                        return 1;
                if (rc == 0)
                        return 0;
                if (errno != EINTR)
                        return -1;
        }
}

/* Does the reply line start {"ok": true ...?  Whitespace-tolerant; any
 * other shape (an error object, garbage, nothing) is "not ok". */
static gboolean
reply_ok (const char *r)
{
        while (g_ascii_isspace (*r))
                r++;
        if (*r++ != '{')
                return FALSE;
        while (g_ascii_isspace (*r))
                r++;
        if (!g_str_has_prefix (r, "\"ok\""))
                return FALSE;
        r += 4;
        while (g_ascii_isspace (*r))
                r++;
        if (*r++ != ':')
                return FALSE;
        while (g_ascii_isspace (*r))
                r++;
        return g_str_has_prefix (r, "true");
}

/* Send req to the socket at path and read the one-line reply, all before
 * deadline_ms.  Returns TRUE when augurd answered "ok"; otherwise FALSE
 * with a message in *ret_why (NULL when the failure is the ordinary
 * "augurd is not running", which is not worth a line in libvirtd's log). */
static gboolean
notify (const char *path, const GString *req, int64_t deadline_ms, char **ret_why)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char reply[MAX_REPLY_BYTES + 1];
        size_t got = 0, sent = 0;
        int fd, err = 0;
        socklen_t errlen = sizeof err;

        *ret_why = NULL;
        if (strlen (path) >= sizeof sa.sun_path) {
                *ret_why = g_strdup_printf ("socket path too long: %s", path);
                return FALSE;
        }
        memcpy (sa.sun_path, path, strlen (path) + 1);
        fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                *ret_why = g_strdup_printf ("socket(): %s", g_strerror (errno));
                return FALSE;
        }
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno == ENOENT || errno == ECONNREFUSED) {
                        close (fd);           /* augurd not running: quiet */
                        return FALSE;
                }
                if (errno != EINPROGRESS) {
                        /* EAGAIN: augurd's backlog is full, it is busy. */
                        *ret_why = g_strdup_printf ("connect %s: %s", path, g_strerror (errno));
                        close (fd);
                        return FALSE;
                }
                if (wait_fd (fd, POLLOUT, deadline_ms) <= 0 ||
                    getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err) {
                        *ret_why = g_strdup_printf ("connect %s: %s", path,
                                                    err ? g_strerror (err) : "timed out");
                        close (fd);
                        return FALSE;
                }
        }
        while (sent < req->len) {
                ssize_t n = send (fd, req->str + sent, req->len - sent, MSG_NOSIGNAL);

                if (n > 0) {
                        sent += (size_t) n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        *ret_why = g_strdup_printf ("send: %s", g_strerror (errno));
                        close (fd);
                        return FALSE;
                }
                if (wait_fd (fd, POLLOUT, deadline_ms) <= 0) {
                        *ret_why = g_strdup ("send: timed out");
                        close (fd);
                        return FALSE;
                }
        }
        shutdown (fd, SHUT_WR);                  /* one request, then EOF */
        while (got < MAX_REPLY_BYTES && !memchr (reply, '\n', got)) {
                ssize_t n = recv (fd, reply + got, MAX_REPLY_BYTES - got, 0);

                if (n > 0) {
                        got += (size_t) n;
                        continue;
                }
                if (n == 0)
                        break;
                if (errno != EAGAIN && errno != EINTR)
                        break;
                if (wait_fd (fd, POLLIN, deadline_ms) <= 0) {
                        /* The request is in augurd's socket buffer: a busy
                         * augurd still reads it; we just stop waiting. */
                        *ret_why = g_strdup_printf ("sent, but augurd did not confirm within %d ms",
                                                    HOOK_BUDGET_MS);
                        close (fd);
                        return FALSE;
                }
        }
        close (fd);
        reply[got] = '\0';
        if (reply_ok (reply))
                return TRUE;
        /* augurd's reply is ours to trust, but keep the log line one line. */
        g_strdelimit (reply, "\r\n\t", ' ');
        *ret_why = g_strdup_printf ("augurd answered: %.200s", got ? reply : "(nothing)");
        return FALSE;
}

int
main (int argc, char **argv)
{
        int64_t deadline_ms = now_ms () + HOOK_BUDGET_MS;
        g_autofree char *path = NULL;
        g_autofree char *name = NULL;
        g_autofree char *why = NULL;
        g_autoptr(GString) req = NULL;
        const char *op, *sub;
        gboolean wanted = FALSE;

        signal (SIGALRM, on_alarm);
        alarm (HOOK_ALARM_S);
        /* We never read the domain XML; closing stdin lets libvirtd stop
         * writing it at once (it ignores the EPIPE). */
        close (STDIN_FILENO);

        if (argc < 3) {
                warn ("usage: %s DOMAIN OPERATION [SUBOPERATION [EXTRA]] "
                      "(run by libvirtd as a qemu hook), or %s VMID PHASE (a Proxmox VE hookscript)",
                      argv[0], argv[0]);
                return 0;
        }
        op = argv[2];
        sub = argc > 3 ? argv[3] : "-";
        pve_call (argc, argv, &op, &sub);
        for (gsize i = 0; i < G_N_ELEMENTS (notify_ops); i++)
                if (strcmp (op, notify_ops[i]) == 0)
                        wanted = TRUE;
        if (!wanted)
                return 0;
        if (strcmp (sub, "begin") != 0 && strcmp (sub, "end") != 0)
                sub = "-";
        if (strlen (argv[1]) == 0 || strlen (argv[1]) > MAX_NAME_BYTES) {
                warn ("domain name of %zu bytes not passed on (1 to %d)", strlen (argv[1]), MAX_NAME_BYTES);
                return 0;
        }
        /* libvirt names come from XML and are UTF-8; make sure anyway. */
        name = g_utf8_make_valid (argv[1], -1);

        req = g_string_new ("{\"call\":\"notify\",\"args\":{\"op\":");
        append_json_string (req, op);
        g_string_append (req, ",\"sub\":");
        append_json_string (req, sub);
        g_string_append (req, ",\"domain\":");
        append_json_string (req, name);
        g_string_append (req, "}}\n");

        path = socket_path ();
        if (!notify (path, req, deadline_ms, &why) && why)
                warn ("%s %s: %s, ignoring", op, sub, why);
        return 0;
}
