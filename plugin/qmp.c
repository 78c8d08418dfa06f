/* qmp.c — see qmp.h. */
#include "config.h"

#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

G_DEFINE_QUARK (augur-qmp-error-quark, augur_qmp_error)

struct AugurQmp {
        int fd;
        char *path;
        gint64 deadline_us;             /* monotonic                          */
        GString *in;                    /* bytes read, not yet a whole line   */
        guint next_id;
        gboolean broken;                /* a failure left the stream unknown  */
        char version[48];               /* "8.2.0" from the greeting, or "?"  */
};

static int
remaining_ms (AugurQmp *q)
{
        gint64 left = q->deadline_us - g_get_monotonic_time ();

        return left <= 0 ? 0 : (int) MIN ((left + 999) / 1000, G_MAXINT);
}

static gboolean
fail_timeout (AugurQmp *q, const char *what, GError **error)
{
        q->broken = TRUE;
        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_TIMEOUT, "QMP %s: no answer before the deadline (%s)",
                     q->path, what);
        return FALSE;
}

/* Wait for events on the socket until the deadline: TRUE when ready. */
static gboolean
wait_fd (AugurQmp *q, short events, const char *what, GError **error)
{
        for (;;) {
                struct pollfd p = { .fd = q->fd, .events = events };
                int ms = remaining_ms (q), n;

                if (ms == 0)
                        return fail_timeout (q, what, error);
                n = poll (&p, 1, ms);
                if (n > 0)
                        return TRUE;
                if (n == 0)
                        return fail_timeout (q, what, error);
                if (errno != EINTR) {
                        q->broken = TRUE;
                        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: poll: %s", q->path,
                                     g_strerror (errno));
                        return FALSE;
                }
        }
}

static gboolean
write_all (AugurQmp *q, const char *data, gsize len, GError **error)
{
        while (len > 0) {
                ssize_t n = send (q->fd, data, len, MSG_NOSIGNAL);

                if (n > 0) {
                        data += n;
                        len -= (gsize) n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        if (!wait_fd (q, POLLOUT, "writing", error))
                                return FALSE;
                        continue;
                }
                q->broken = TRUE;
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: write: %s", q->path,
                             n < 0 ? g_strerror (errno) : "nothing written");
                return FALSE;
        }
        return TRUE;
}

/* The next line (without "\r\n") into *ret (transfer full). */
static gboolean
read_line (AugurQmp *q, char **ret, gsize *ret_len, GError **error)
{
        for (;;) {
                char *nl = memchr (q->in->str, '\n', q->in->len);
                char buf[4096];
                ssize_t n;

                if (nl) {
                        gsize len = (gsize) (nl - q->in->str);

                        if (len > AUGUR_QMP_MAX_LINE)
                                break;
                        if (len > 0 && q->in->str[len - 1] == '\r')
                                len--;
                        *ret = g_strndup (q->in->str, len);
                        *ret_len = len;
                        g_string_erase (q->in, 0, (gssize) (nl - q->in->str) + 1);
                        return TRUE;
                }
                if (q->in->len > AUGUR_QMP_MAX_LINE)
                        break;
                if (!wait_fd (q, POLLIN, "reading", error))
                        return FALSE;
                n = read (q->fd, buf, sizeof buf);
                if (n > 0) {
                        g_string_append_len (q->in, buf, n);
                        continue;
                }
                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                        continue;
                q->broken = TRUE;
                if (n == 0)
                        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: connection closed by the peer",
                                     q->path);
                else
                        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: read: %s", q->path,
                                     g_strerror (errno));
                return FALSE;
        }
        q->broken = TRUE;
        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL, "QMP %s: a line longer than %d bytes",
                     q->path, AUGUR_QMP_MAX_LINE);
        return FALSE;
}

/* The next line as a JSON object (transfer full). */
static JsonObject *
read_object (AugurQmp *q, GError **error)
{
        g_autoptr(JsonParser) parser = json_parser_new_immutable ();
        g_autoptr(GError) local = NULL;
        g_autofree char *line = NULL;
        gsize len = 0;
        JsonNode *root;

        if (!read_line (q, &line, &len, error))
                return NULL;
        if (strlen (line) != len || !g_utf8_validate (line, (gssize) len, NULL) ||
            !json_parser_load_from_data (parser, line, (gssize) len, &local) ||
            !(root = json_parser_get_root (parser)) || !JSON_NODE_HOLDS_OBJECT (root)) {
                q->broken = TRUE;
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL, "QMP %s: not a JSON object: %s",
                             q->path, local ? local->message : "garbage");
                return NULL;
        }
        return json_object_ref (json_node_get_object (root));
}

/* A string member of o, "?" when it is missing or not a string. */
static const char *
string_member (JsonObject *o, const char *name)
{
        JsonNode *n = json_object_get_member (o, name);

        if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
                return "?";
        return json_node_get_string (n);
}

static gboolean
do_execute (AugurQmp *q, const char *command, JsonNode *args, JsonNode **ret_return, GError **error)
{
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonNode) msg = NULL;
        g_autofree char *id = g_strdup_printf ("augur-%u", ++q->next_id);
        g_autofree char *text = NULL;

        if (q->broken) {
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: the session failed before", q->path);
                return FALSE;
        }
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "execute");
        json_builder_add_string_value (b, command);
        if (args) {
                json_builder_set_member_name (b, "arguments");
                json_builder_add_value (b, json_node_copy (args));
        }
        json_builder_set_member_name (b, "id");
        json_builder_add_string_value (b, id);
        json_builder_end_object (b);
        msg = json_builder_get_root (b);
        text = json_to_string (msg, FALSE);
        if (!write_all (q, text, strlen (text), error) || !write_all (q, "\n", 1, error))
                return FALSE;

        for (;;) {
                g_autoptr(JsonObject) o = read_object (q, error);
                JsonNode *rid, *node;

                if (!o)
                        return FALSE;
                if (json_object_has_member (o, "event"))
                        continue;
                rid = json_object_get_member (o, "id");
                if (!rid || !JSON_NODE_HOLDS_VALUE (rid) || json_node_get_value_type (rid) != G_TYPE_STRING ||
                    strcmp (json_node_get_string (rid), id) != 0) {
                        q->broken = TRUE;
                        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL,
                                     "QMP %s: %s: a reply without our id", q->path, command);
                        return FALSE;
                }
                if ((node = json_object_get_member (o, "return"))) {
                        if (ret_return)
                                *ret_return = json_node_copy (node);
                        return TRUE;
                }
                if ((node = json_object_get_member (o, "error")) && JSON_NODE_HOLDS_OBJECT (node)) {
                        JsonObject *e = json_node_get_object (node);
                        const char *cls = string_member (e, "class");
                        const char *desc = string_member (e, "desc");

                        if (strcmp (cls, "CommandNotFound") == 0)
                                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_NO_COMMAND,
                                             "QMP %s: %s: %s: %s (this QEMU, version %s, lacks it)", q->path,
                                             command, cls, desc, q->version);
                        else
                                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND, "QMP %s: %s: %s: %s",
                                             q->path, command, cls, desc);
                        return FALSE;
                }
                q->broken = TRUE;
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL,
                             "QMP %s: %s: a reply with neither return nor error", q->path, command);
                return FALSE;
        }
}

gboolean
augur_qmp_execute (AugurQmp *q, const char *command, JsonNode *args, JsonNode **ret_return, GError **error)
{
        g_return_val_if_fail (q != NULL && command != NULL, FALSE);
        g_return_val_if_fail (!args || JSON_NODE_HOLDS_OBJECT (args), FALSE);
        return do_execute (q, command, args, ret_return, error);
}

static gboolean
connect_socket (AugurQmp *q, GError **error)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int err = 0;
        socklen_t errlen = sizeof err;

        if (strlen (q->path) >= sizeof sa.sun_path) {
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: path too long for a unix socket",
                             q->path);
                return FALSE;
        }
        strcpy (sa.sun_path, q->path);
        q->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (q->fd < 0) {
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QMP %s: socket: %s", q->path,
                             g_strerror (errno));
                return FALSE;
        }
        while (connect (q->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;

                if (e == EINTR)
                        continue;
                if (e == EINPROGRESS) {
                        if (!wait_fd (q, POLLOUT, "connecting", error))
                                return FALSE;
                        if (getsockopt (q->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
                                err = errno;
                        if (!err)
                                return TRUE;
                        e = err;
                }
                g_set_error (error, AUGUR_QMP_ERROR,
                             e == EAGAIN || e == EWOULDBLOCK ? AUGUR_QMP_ERROR_BUSY
                             : e == ENOENT || e == ECONNREFUSED ? AUGUR_QMP_ERROR_GONE
                             : AUGUR_QMP_ERROR_IO,
                             "QMP %s: connect: %s", q->path, g_strerror (e));
                return FALSE;
        }
        return TRUE;
}

/* QMP.version.qemu {major, minor, micro} as "M.m.u", "?" if absent. */
static void
greeting_version (JsonObject *qmp, char *ret, gsize size)
{
        JsonNode *v = json_object_get_member (qmp, "version"), *qn;
        JsonObject *qemu;
        gint64 n[3];
        static const char *const parts[] = { "major", "minor", "micro" };

        g_strlcpy (ret, "?", size);
        if (!v || !JSON_NODE_HOLDS_OBJECT (v) || !(qn = json_object_get_member (json_node_get_object (v), "qemu")) ||
            !JSON_NODE_HOLDS_OBJECT (qn))
                return;
        qemu = json_node_get_object (qn);
        for (gsize i = 0; i < G_N_ELEMENTS (parts); i++) {
                JsonNode *x = json_object_get_member (qemu, parts[i]);

                if (!x || !JSON_NODE_HOLDS_VALUE (x) || json_node_get_value_type (x) != G_TYPE_INT64)
                        return;
                n[i] = json_node_get_int (x);
        }
        g_snprintf (ret, size, "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, n[0], n[1], n[2]);
}

static AugurQmp *
session_new (const char *path, int timeout_ms)
{
        AugurQmp *q = g_new0 (AugurQmp, 1);

        q->fd = -1;
        q->path = g_strdup (path);
        q->in = g_string_new (NULL);
        q->deadline_us = g_get_monotonic_time () + (gint64) MAX (timeout_ms, 1) * 1000;
        return q;
}

AugurQmp *
augur_qmp_open (const char *path, int timeout_ms, GError **error)
{
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(JsonObject) greeting = NULL;
        JsonNode *qmp;

        g_return_val_if_fail (path != NULL, NULL);
        q = session_new (path, timeout_ms);
        if (!connect_socket (q, error))
                return NULL;
        if (!(greeting = read_object (q, error)))
                return NULL;
        qmp = json_object_get_member (greeting, "QMP");
        if (!qmp || !JSON_NODE_HOLDS_OBJECT (qmp)) {
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL, "QMP %s: not a QMP greeting", path);
                return NULL;
        }
        greeting_version (json_node_get_object (qmp), q->version, sizeof q->version);
        if (!do_execute (q, "qmp_capabilities", NULL, NULL, error))
                return NULL;
        return g_steal_pointer (&q);
}

AugurQmp *
augur_qga_open (const char *path, int timeout_ms, GError **error)
{
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(JsonObject) reply = NULL;
        g_autofree char *sync = NULL;
        gint64 id = g_random_int_range (1, G_MAXINT32);
        JsonNode *ret;

        g_return_val_if_fail (path != NULL, NULL);
        q = session_new (path, timeout_ms);
        g_strlcpy (q->version, "guest agent", sizeof q->version);
        if (!connect_socket (q, error))
                return NULL;
        sync = g_strdup_printf ("{\"execute\": \"guest-sync-delimited\", \"arguments\": {\"id\": %" G_GINT64_FORMAT "}}\n",
                                id);
        if (!write_all (q, sync, strlen (sync), error))
                return NULL;
        /* Whatever came before the sentinel is an earlier client's. */
        for (;;) {
                char *ff = memchr (q->in->str, 0xff, q->in->len);
                char buf[4096];
                ssize_t n;

                if (ff) {
                        g_string_erase (q->in, 0, (gssize) (ff - q->in->str) + 1);
                        break;
                }
                g_string_truncate (q->in, 0);
                if (!wait_fd (q, POLLIN, "waiting for the guest agent's sync", error))
                        return NULL;
                n = read (q->fd, buf, sizeof buf);
                if (n > 0)
                        g_string_append_len (q->in, buf, n);
                else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
                        g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_IO, "QGA %s: %s", path,
                                     n == 0 ? "connection closed by the peer" : g_strerror (errno));
                        return NULL;
                }
        }
        if (!(reply = read_object (q, error)))
                return NULL;
        ret = json_object_get_member (reply, "return");
        if (!ret || !JSON_NODE_HOLDS_VALUE (ret) || json_node_get_value_type (ret) != G_TYPE_INT64 ||
            json_node_get_int (ret) != id) {
                g_set_error (error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_PROTOCOL,
                             "QGA %s: guest-sync-delimited did not return its id", path);
                return NULL;
        }
        return g_steal_pointer (&q);
}

void
augur_qmp_close (AugurQmp *q)
{
        if (!q)
                return;
        if (q->fd >= 0)
                close (q->fd);
        g_string_free (q->in, TRUE);
        g_free (q->path);
        g_free (q);
}

gboolean
augur_qmp_call (const char *path, int timeout_ms, const char *command, JsonNode *args,
                JsonNode **ret_return, GError **error)
{
        g_autoptr(AugurQmp) q = augur_qmp_open (path, timeout_ms, error);

        return q && augur_qmp_execute (q, command, args, ret_return, error);
}

gboolean
augur_qmp_backoff_ready (const AugurQmpBackoff *b, gint64 now_us)
{
        return b->failures == 0 || now_us >= b->next_us;
}

void
augur_qmp_backoff_failed (AugurQmpBackoff *b, gint64 now_us, gint64 min_us, gint64 max_us)
{
        b->wait_us = b->failures == 0 ? min_us : MIN (MAX (b->wait_us, min_us) * 2, max_us);
        b->failures++;
        b->next_us = now_us + b->wait_us;
}

void
augur_qmp_backoff_succeeded (AugurQmpBackoff *b)
{
        memset (b, 0, sizeof *b);
}
