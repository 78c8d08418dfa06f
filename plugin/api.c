/* api.c — augurd's local API socket.  See api.h for the wire format, the
 * calls and who may make them.
 *
 * What it is: a GLib-main-loop server for JSON lines on a unix stream
 * socket.  One listening GSocket, one GSource per client (watching for
 * input, or for output while a response is pending), one idle timer per
 * client.  Everything runs on the thread-default main context the API was
 * created on; there are no threads.  Here: the socket file and its
 * permissions, accept with the peer's credentials and the slots per uid,
 * and each client's I/O.  A complete line goes to api-request.c, which
 * parses it, makes the call and returns the response line.
 *
 * What it is not: the meaning of the calls (the daemon's AugurApiOps), nor
 * the request handling (api-request.c).
 *
 * Why not GSocketService + GDataInputStream: read_line has no length
 * limit, and we want an explicit bound per client before json-glib sees a
 * byte.  Nonblocking GSocket reads into our own buffer give us that.
 */
/* struct ucred (SO_PEERCRED's payload) is a GNU extension in glibc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "config.h"

#include "api-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

G_DEFINE_QUARK (augur-api-error-quark, augur_api_error)

/* Bytes read per receive call. */
#define READ_CHUNK_BYTES 4096

typedef struct {
        AugurApi *api;
        GList *link;                  /* in api->clients                      */
        GSocket *sock;
        GSource *io_source;           /* G_IO_IN, or G_IO_OUT while writing   */
        GIOCondition io_cond;         /* what io_source watches               */
        GSource *timeout_source;
        AugurApiPeer peer;
        GByteArray *in;               /* unprocessed input                    */
        GByteArray *out;              /* pending output                       */
        gsize out_off;                /* bytes of out already sent            */
        gboolean eof;                 /* peer shut down its side              */
        gboolean close_after_write;   /* too-large: answer, then hang up      */
        gboolean logged_refusal;      /* one refusal message per connection   */
        gboolean counted_nonadmin;    /* holds a non-admin slot (api->uids)   */
} Client;

/* Uid table entries are kept while a uid has connections or its bucket is
 * still refilling; past this many entries the idle ones are dropped. */
#define MAX_UID_STATES 256

static void
uid_state_free (gpointer data)
{
        UidState *u = data;

        g_free (u->last_key);
        g_free (u);
}

static gboolean
uid_state_idle (gpointer key, gpointer value, gpointer data)
{
        const UidState *u = value;
        const AugurApi *api = data;
        gint64 now = g_get_monotonic_time ();
        double full_after_s = api->notify_rate_per_s ? (double) api->notify_burst / api->notify_rate_per_s : 0;

        return u->n_clients == 0 &&
               now - u->refill_us > (gint64) (full_after_s * G_USEC_PER_SEC) &&
               now - u->last_key_us > (gint64) AUGUR_API_NOTIFY_COALESCE_MS * 1000;
}

/* The state of uid, created (with a full bucket) if new. */
UidState *
augur_api_uid_state (AugurApi *api, gint64 uid)
{
        gpointer key = GUINT_TO_POINTER ((guint) uid);
        UidState *u = g_hash_table_lookup (api->uids, key);

        if (u)
                return u;
        if (g_hash_table_size (api->uids) >= MAX_UID_STATES)
                g_hash_table_foreach_remove (api->uids, uid_state_idle, api);
        u = g_new0 (UidState, 1);
        u->tokens = api->notify_burst;
        u->refill_us = g_get_monotonic_time ();
        u->last_key_us = G_MININT64 / 2;
        g_hash_table_insert (api->uids, key, u);
        return u;
}

/* Log message with the peer in journal fields and in the text.  (In
 * g_log_structured only MESSAGE is a format; other values are strings.) */
void
augur_api_log_peer (GLogLevelFlags level, const char *action, const AugurApiPeer *peer,
                    const char *message)
{
        char uid[32], gid[32], pid[32];

        g_snprintf (uid, sizeof uid, "%" G_GINT64_FORMAT, peer->uid);
        g_snprintf (gid, sizeof gid, "%" G_GINT64_FORMAT, peer->gid);
        g_snprintf (pid, sizeof pid, "%" G_GINT64_FORMAT, peer->pid);
        g_log_structured (G_LOG_DOMAIN, level,
                          "AUGUR_ACTION", action,
                          "AUGUR_PEER_UID", uid,
                          "AUGUR_PEER_GID", gid,
                          "AUGUR_PEER_PID", pid,
                          "MESSAGE", "%s (uid %s gid %s pid %s)", message, uid, gid, pid);
}

/* ----------------------------------------------------------------- clients */

static gboolean client_watch (Client *c, GIOCondition cond);

static void
client_free (Client *c)
{
        AugurApi *api = c->api;

        if (c->io_source) {
                g_source_destroy (c->io_source);
                g_source_unref (c->io_source);
        }
        if (c->timeout_source) {
                g_source_destroy (c->timeout_source);
                g_source_unref (c->timeout_source);
        }
        if (c->link) {
                api->clients = g_list_delete_link (api->clients, c->link);
                api->n_clients--;
        }
        if (c->counted_nonadmin) {
                UidState *u = g_hash_table_lookup (api->uids, GUINT_TO_POINTER ((guint) c->peer.uid));

                g_assert (u && u->n_clients > 0);
                u->n_clients--;
                api->n_nonadmin--;
        }
        g_socket_close (c->sock, NULL);
        g_object_unref (c->sock);
        g_byte_array_unref (c->in);
        g_byte_array_unref (c->out);
        g_free (c);
}

static void
client_close (Client *c, const char *why)
{
        g_debug ("api: closing client pid %" G_GINT64_FORMAT " uid %" G_GINT64_FORMAT ": %s",
                 c->peer.pid, c->peer.uid, why);
        client_free (c);
}

static gboolean
on_client_timeout (gpointer data)
{
        Client *c = data;

        /* The source is destroyed by client_free; drop our reference first
         * so it is not destroyed twice. */
        g_source_unref (c->timeout_source);
        c->timeout_source = NULL;
        client_close (c, "idle timeout");
        return G_SOURCE_REMOVE;
}

static void
client_arm_timeout (Client *c)
{
        if (c->timeout_source) {
                g_source_destroy (c->timeout_source);
                g_source_unref (c->timeout_source);
        }
        c->timeout_source = g_timeout_source_new (c->api->client_timeout_ms);
        g_source_set_callback (c->timeout_source, on_client_timeout, c, NULL);
        g_source_attach (c->timeout_source, c->api->context);
}

/* Send what is pending.  FALSE when the peer is gone. */
static gboolean
client_flush (Client *c)
{
        while (c->out_off < c->out->len) {
                g_autoptr(GError) error = NULL;
                gssize n = g_socket_send_with_blocking (c->sock, (const char *) c->out->data + c->out_off,
                                                        c->out->len - c->out_off, FALSE, NULL, &error);

                if (n < 0) {
                        if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                                return TRUE;
                        g_debug ("api: write to client failed: %s", error->message);
                        return FALSE;
                }
                c->out_off += (gsize) n;
        }
        g_byte_array_set_size (c->out, 0);
        c->out_off = 0;
        return TRUE;
}

static void
client_queue (Client *c, const char *line)
{
        g_byte_array_append (c->out, (const guint8 *) line, strlen (line));
        g_byte_array_append (c->out, (const guint8 *) "\n", 1);
}

/* Serve at most one complete line from c->in (an empty line is skipped).
 * TRUE if a line was consumed. */
static gboolean
client_serve_one (Client *c)
{
        /* An empty GByteArray's data is NULL, and memchr (NULL, c, 0) is
         * undefined behaviour (its pointer is declared nonnull). */
        guint8 *nl = c->in->len > 0 ? memchr (c->in->data, '\n', c->in->len) : NULL;
        gsize len, consumed;
        g_autofree char *reply = NULL;

        if (nl) {
                len = (gsize) (nl - c->in->data);
                consumed = len + 1;
        } else if (c->eof && c->in->len > 0) {
                len = c->in->len;             /* last line without "\n" */
                consumed = len;
        } else {
                return FALSE;
        }
        if (len > c->api->max_line) {
                /* Only reachable when a newline arrived in the same read as
                 * the excess; the no-newline case is caught in client_io. */
                reply = augur_api_reply_error (NULL, "too-large", "request line too long");
                client_queue (c, reply);
                c->close_after_write = TRUE;
                return TRUE;
        }
        if (len > 0 && c->in->data[len - 1] == '\r')
                len--;
        if (len > 0) {
                gboolean refused = FALSE;

                reply = augur_api_handle_line_full (c->api, &c->peer, (const char *) c->in->data, len, &refused);
                if (refused) {
                        if (!c->logged_refusal && g_get_monotonic_time () >= c->api->loud_after_us) {
                                augur_api_log_peer (G_LOG_LEVEL_MESSAGE, "api-refused", &c->peer,
                                                    "api: refused a call (peer is not root and not in the API group)");
                                c->api->loud_after_us = g_get_monotonic_time () + QUIET_PERIOD_US;
                        }
                        c->logged_refusal = TRUE;
                }
                client_queue (c, reply);
        }
        g_byte_array_remove_range (c->in, 0, (guint) consumed);
        client_arm_timeout (c);
        return TRUE;
}

/* Read what is available.  Returns FALSE on a read error. */
static gboolean
client_read (Client *c)
{
        guint8 buf[READ_CHUNK_BYTES];
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_receive_with_blocking (c->sock, (char *) buf, sizeof buf, FALSE, NULL, &error);

        if (n < 0) {
                if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                        return TRUE;
                g_debug ("api: read from client failed: %s", error->message);
                return FALSE;
        }
        if (n == 0)
                c->eof = TRUE;
        else
                g_byte_array_append (c->in, buf, (guint) n);
        return TRUE;
}

/* The client's state machine, run on every wakeup:
 *   writing  flush; when done, either hang up (too-large) or go on
 *   reading  read, then serve complete lines one at a time, each one's
 *            response flushed before the next line is looked at
 *   A partial line longer than the limit is answered "too-large" and the
 *   connection closed: we never buffer more than max_line + one chunk. */
static gboolean
client_io (GSocket *sock, GIOCondition cond, gpointer data)
{
        Client *c = data;

        if (c->out->len > 0) {
                if (!client_flush (c)) {
                        client_close (c, "peer gone");
                        return G_SOURCE_REMOVE;
                }
                if (c->out->len > 0)
                        return G_SOURCE_CONTINUE;     /* still writing */
                if (c->close_after_write) {
                        client_close (c, "closed after error");
                        return G_SOURCE_REMOVE;
                }
        } else if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
                if (!client_read (c)) {
                        client_close (c, "read error");
                        return G_SOURCE_REMOVE;
                }
        }

        while (c->out->len == 0 && !c->close_after_write) {
                if (!client_serve_one (c))
                        break;
                if (!client_flush (c)) {
                        client_close (c, "peer gone");
                        return G_SOURCE_REMOVE;
                }
        }
        if (c->out->len == 0 && !c->close_after_write &&
            c->in->len > c->api->max_line && !memchr (c->in->data, '\n', c->in->len)) {
                g_autofree char *reply = augur_api_reply_error (NULL, "too-large", "request line too long");

                client_queue (c, reply);
                c->close_after_write = TRUE;
                if (!client_flush (c)) {
                        client_close (c, "peer gone");
                        return G_SOURCE_REMOVE;
                }
        }
        if (c->out->len > 0)
                return client_watch (c, G_IO_OUT | G_IO_HUP | G_IO_ERR);
        if (c->close_after_write) {
                client_close (c, "closed after error");
                return G_SOURCE_REMOVE;
        }
        if (c->eof && c->in->len == 0) {
                client_close (c, "end of input");
                return G_SOURCE_REMOVE;
        }
        return client_watch (c, G_IO_IN | G_IO_HUP | G_IO_ERR);
}

/* Make the client's source watch cond, replacing it if it watched
 * something else.  Returns what client_io must return: G_SOURCE_CONTINUE
 * when the running source stays, G_SOURCE_REMOVE when it was replaced. */
static gboolean
client_watch (Client *c, GIOCondition cond)
{
        if (c->io_source && c->io_cond == cond)
                return G_SOURCE_CONTINUE;
        if (c->io_source) {
                g_source_destroy (c->io_source);
                g_source_unref (c->io_source);
        }
        c->io_source = g_socket_create_source (c->sock, cond, NULL);
        c->io_cond = cond;
        g_source_set_callback (c->io_source, G_SOURCE_FUNC (client_io), c, NULL);
        g_source_attach (c->io_source, c->api->context);
        return G_SOURCE_REMOVE;
}

/* Is the peer in the API group?  Its primary gid from SO_PEERCRED, then its
 * supplementary groups from SO_PEERGROUPS (Linux 4.13): both are what the
 * kernel recorded at connect time, so a peer cannot change them later. */
static gboolean
peer_in_group (int fd, gid_t primary, gid_t group)
{
        if (primary == group)
                return TRUE;
#ifdef SO_PEERGROUPS
        {
                gid_t small[64];
                g_autofree gid_t *big = NULL;
                gid_t *groups = small;
                socklen_t len = sizeof small;

                if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                        if (errno != ERANGE || len == 0)
                                return FALSE;
                        groups = big = g_malloc (len);
                        if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                                return FALSE;
                }
                for (gsize i = 0; i < len / sizeof (gid_t); i++)
                        if (groups[i] == group)
                                return TRUE;
        }
#endif
        return FALSE;
}

static void
read_peer (AugurApi *api, GSocket *sock, AugurApiPeer *ret)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GCredentials) creds = g_socket_get_credentials (sock, &error);

        ret->pid = ret->uid = ret->gid = -1;
        ret->admin = ret->in_group = FALSE;
        if (!creds) {
                /* Defensive: Linux always has SO_PEERCRED on unix sockets.
                 * An unknown peer gets no access at all. */
                g_debug ("api: no peer credentials: %s", error->message);
                return;
        }
#ifdef __linux__
        {
                const struct ucred *uc = g_credentials_get_native (creds, G_CREDENTIALS_TYPE_LINUX_UCRED);

                if (uc) {
                        ret->pid = uc->pid;
                        ret->uid = uc->uid;
                        ret->gid = uc->gid;
                }
        }
#endif
        if (ret->uid < 0)
                return;
        ret->admin = ret->uid == 0 || (uid_t) ret->uid == geteuid ();
        ret->in_group = api->group && peer_in_group (g_socket_get_fd (sock), (gid_t) ret->gid, api->gid);
}

/* Answer a connection we do not serve with one error line and close it.
 * Best effort, nonblocking: a fresh socket's buffer is empty.  Logged at
 * message level once per QUIET_PERIOD_US, then at debug, so a flood of
 * connections cannot flood the journal. */
static void
refuse (AugurApi *api, GSocket *sock, const AugurApiPeer *peer, const char *code,
        const char *message)
{
        g_autofree char *reply = augur_api_reply_error (NULL, code, message);
        g_autofree char *line = g_strconcat (reply, "\n", NULL);
        g_autofree char *text = g_strdup_printf ("api: connection refused (%s): %s, ignoring", code, message);

        g_socket_set_blocking (sock, FALSE);
        g_socket_send (sock, line, strlen (line), NULL, NULL);
        if (g_get_monotonic_time () >= api->loud_after_us) {
                augur_api_log_peer (G_LOG_LEVEL_MESSAGE, "api-refused", peer, text);
                api->loud_after_us = g_get_monotonic_time () + QUIET_PERIOD_US;
        } else {
                g_debug ("%s (uid %" G_GINT64_FORMAT " pid %" G_GINT64_FORMAT ")", text, peer->uid, peer->pid);
        }
        g_socket_close (sock, NULL);
}

/* Admission at accept (api.h, SLOTS).  Returns NULL when the peer gets a
 * slot, else the error code to answer with and (transfer full) a message
 * in *ret_message. */
static const char *
admit (AugurApi *api, const AugurApiPeer *peer, char **ret_message)
{
        const UidState *u;

        if (!peer->admin && !peer->in_group) {
                api->counters.refused++;
                *ret_message = g_strdup_printf ("uid %" G_GINT64_FORMAT " is neither root nor in the API group (%s); "
                                                "no call is allowed", peer->uid,
                                                api->group ? api->group : "none: root only");
                return "permission-denied";
        }
        if (api->n_clients >= api->max_clients) {
                api->counters.busy++;
                *ret_message = g_strdup_printf ("too many clients (%u), try again", api->n_clients);
                return "busy";
        }
        if (peer->admin)
                return NULL;
        if (api->n_nonadmin >= api->max_clients - api->admin_reserved) {
                api->counters.busy++;
                *ret_message = g_strdup_printf ("too many clients; the %u free slots are kept for root, try again",
                                                api->max_clients - api->n_clients);
                return "busy";
        }
        u = g_hash_table_lookup (api->uids, GUINT_TO_POINTER ((guint) peer->uid));
        if (u && u->n_clients >= api->max_clients_per_uid) {
                api->counters.busy++;
                *ret_message = g_strdup_printf ("uid %" G_GINT64_FORMAT " already has %u connections, the most one "
                                                "uid may hold; try again", peer->uid, u->n_clients);
                return "busy";
        }
        return NULL;
}

static void
accept_one (AugurApi *api, GSocket *sock)
{
        g_autofree char *message = NULL;
        AugurApiPeer peer;
        const char *code;
        Client *c;

        read_peer (api, sock, &peer);
        code = admit (api, &peer, &message);
        if (code) {
                refuse (api, sock, &peer, code, message);
                return;
        }
        c = g_new0 (Client, 1);
        c->api = api;
        c->sock = g_object_ref (sock);
        c->in = g_byte_array_new ();
        c->out = g_byte_array_new ();
        c->peer = peer;
        g_socket_set_blocking (sock, FALSE);
        api->clients = g_list_prepend (api->clients, c);
        c->link = api->clients;
        api->n_clients++;
        if (!peer.admin) {
                augur_api_uid_state (api, peer.uid)->n_clients++;
                api->n_nonadmin++;
                c->counted_nonadmin = TRUE;
        }
        g_debug ("api: client pid %" G_GINT64_FORMAT " uid %" G_GINT64_FORMAT " gid %" G_GINT64_FORMAT
                 " connected (%s)", c->peer.pid, c->peer.uid, c->peer.gid,
                 c->peer.admin ? "admin" : "group");
        client_arm_timeout (c);
        client_watch (c, G_IO_IN | G_IO_HUP | G_IO_ERR);
}

static gboolean
on_accept (GSocket *listener, GIOCondition cond, gpointer data)
{
        AugurApi *api = data;

        /* Drain the backlog: one wakeup may stand for several connects. */
        for (;;) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GSocket) sock = g_socket_accept (listener, NULL, &error);

                if (!sock) {
                        if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                                g_debug ("api: accept failed: %s, ignoring", error->message);
                        break;
                }
                accept_one (api, sock);
        }
        return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ socket */

/* Is a process serving the socket at path?  TRUE (in use), FALSE (stale:
 * nobody listens) or FALSE with error (cannot tell). */
static gboolean
socket_in_use (const char *path, GError **error)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int rc, err;

        if (fd < 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket(): %s", g_strerror (errno));
                return FALSE;
        }
        g_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
        rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);
        err = errno;
        close (fd);
        if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
                return TRUE;                  /* answered, or backlog full */
        if (err == ECONNREFUSED)
                return FALSE;
        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                     "cannot probe existing %s: %s", path, g_strerror (err));
        return FALSE;
}

static gboolean
resolve_group (AugurApi *api, const char *wanted, GError **error)
{
        struct group gr, *res = NULL;
        g_autofree char *buf = NULL;
        gsize size = 4096;
        const char *name = wanted ? wanted : "libvirt";
        int rc;

        if (wanted && !*wanted)
                return TRUE;                  /* explicitly root-only */
        /* A group with many members needs a bigger buffer (ERANGE). */
        do {
                g_free (buf);
                buf = g_malloc (size);
                rc = getgrnam_r (name, &gr, buf, size, &res);
                size *= 2;
        } while (rc == ERANGE && size <= 4 * 1024 * 1024);
        if (rc != 0 || !res) {
                if (!wanted)
                        return TRUE;          /* default group absent: root-only */
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG,
                             "api.group = %s: no such group", name);
                return FALSE;
        }
        api->group = g_strdup (name);
        api->gid = res->gr_gid;
        return TRUE;
}

/* May the socket live in dir?  Whoever may write to the directory may
 * replace the socket file with a link to anything (between bind and
 * lchown, or for the clients that follow it), so it must be root's or
 * augurd's own, and writable by nobody else unless sticky (then only the
 * owner of a file may rename or remove it, as in /tmp). */
static gboolean
check_socket_dir (const char *dir, GError **error)
{
        struct stat st;

        if (stat (dir, &st) < 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket directory %s: %s", dir, g_strerror (errno));
                return FALSE;
        }
        if (!S_ISDIR (st.st_mode)) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket directory %s is not a directory", dir);
                return FALSE;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid ()) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket directory %s belongs to uid %u, not to root or augurd's uid %u; "
                             "not creating a socket there", dir, (unsigned) st.st_uid, (unsigned) geteuid ());
                return FALSE;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket directory %s is writable by %s (mode %04o) and not sticky; "
                             "not creating a socket there", dir,
                             st.st_mode & S_IWOTH ? "everyone" : "its group",
                             (unsigned) (st.st_mode & 07777));
                return FALSE;
        }
        return TRUE;
}

static gboolean
create_socket (AugurApi *api, GError **error)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autofree char *dir = g_path_get_dirname (api->path);
        g_autoptr(GError) local = NULL;
        struct stat st;
        mode_t old_umask;
        int fd, rc, err;

        if (strlen (api->path) >= sizeof sa.sun_path) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG,
                             "socket path %s is longer than %zu bytes", api->path,
                             sizeof sa.sun_path - 1);
                return FALSE;
        }
        if (g_mkdir_with_parents (dir, 0755) < 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "cannot create %s: %s", dir, g_strerror (errno));
                return FALSE;
        }
        if (!check_socket_dir (dir, error))
                return FALSE;
        if (lstat (api->path, &st) == 0) {
                if (!S_ISSOCK (st.st_mode)) {
                        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                                     "%s exists and is not a socket; not replacing it", api->path);
                        return FALSE;
                }
                if (socket_in_use (api->path, &local)) {
                        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_IN_USE,
                                     "%s is in use by another process (another augurd?)", api->path);
                        return FALSE;
                }
                if (local) {
                        g_propagate_error (error, g_steal_pointer (&local));
                        return FALSE;
                }
                g_debug ("api: removing stale socket %s", api->path);
                if (unlink (api->path) < 0 && errno != ENOENT) {
                        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                                     "cannot remove stale socket %s: %s", api->path, g_strerror (errno));
                        return FALSE;
                }
        }

        fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "socket(): %s", g_strerror (errno));
                return FALSE;
        }
        g_strlcpy (sa.sun_path, api->path, sizeof sa.sun_path);
        /* Linux gives the file bind() creates the socket inode's mode less
         * the umask, so the mode is set on the fd and the umask cleared:
         * the file is born with its final mode, and no chmod ever acts on
         * the path.  (fchown on the fd does not carry over: the file gets
         * augurd's fsuid/fsgid; the group is set with lchown below.)  The
         * umask is process-wide; no other thread creates files meanwhile. */
        if (fchmod (fd, (mode_t) api->mode) < 0) {
                err = errno;
                close (fd);
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "cannot set mode %04o on the socket for %s: %s", (unsigned) api->mode,
                             api->path, g_strerror (err));
                return FALSE;
        }
        old_umask = umask (0);
        rc = bind (fd, (struct sockaddr *) &sa, sizeof sa);
        err = errno;
        umask (old_umask);
        if (rc < 0) {
                close (fd);
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "cannot bind %s: %s", api->path, g_strerror (err));
                return FALSE;
        }
        /* Until lchown the file is augurd's group: stricter, never wider.
         * lchown acts on the socket file itself even if it were swapped
         * for a symlink (check_socket_dir says it cannot be). */
        if ((api->group && lchown (api->path, (uid_t) -1, api->gid) < 0) ||
            listen (fd, (int) MIN (api->max_clients * 2, 128)) < 0 ||
            lstat (api->path, &st) < 0) {
                err = errno;
                close (fd);
                unlink (api->path);
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "cannot set up %s (group %s, mode %04o): %s", api->path,
                             api->group ? api->group : "-", (unsigned) api->mode, g_strerror (err));
                return FALSE;
        }
        if (!S_ISSOCK (st.st_mode) || (st.st_mode & 07777) != (mode_t) api->mode) {
                /* Defensive: a kernel that does not take the fd's mode. */
                close (fd);
                unlink (api->path);
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "%s came out with mode %04o, not %04o; refusing to serve it", api->path,
                             (unsigned) (st.st_mode & 07777), (unsigned) api->mode);
                return FALSE;
        }
        api->dev = st.st_dev;
        api->ino = st.st_ino;
        api->listener = g_socket_new_from_fd (fd, &local);
        if (!api->listener) {
                close (fd);
                unlink (api->path);
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED,
                             "%s: %s", api->path, local->message);
                return FALSE;
        }
        g_socket_set_blocking (api->listener, FALSE);
        api->accept_source = g_socket_create_source (api->listener, G_IO_IN, NULL);
        g_source_set_callback (api->accept_source, G_SOURCE_FUNC (on_accept), api, NULL);
        g_source_attach (api->accept_source, api->context);
        return TRUE;
}

AugurApi *
augur_api_new_full (const char *path, const AugurApiOptions *options,
                    const AugurApiOps *ops, gpointer daemon, GError **error)
{
        static const AugurApiOptions defaults = { 0 };
        g_autoptr(AugurApi) api = NULL;
        const AugurApiOptions *o = options ? options : &defaults;

        g_return_val_if_fail (ops != NULL, NULL);
        g_return_val_if_fail (error == NULL || *error == NULL, NULL);

        api = g_new0 (AugurApi, 1);
        api->ops = ops;
        api->daemon = daemon;
        api->context = g_main_context_ref_thread_default ();
        api->max_line = o->max_line_bytes ? o->max_line_bytes : AUGUR_API_MAX_LINE_BYTES;
        api->max_clients = o->max_clients ? o->max_clients : AUGUR_API_MAX_CLIENTS;
        api->client_timeout_ms = o->client_timeout_ms ? o->client_timeout_ms : AUGUR_API_CLIENT_TIMEOUT_MS;
        api->admin_reserved = o->admin_reserved ? o->admin_reserved
                                                : MIN (AUGUR_API_ADMIN_RESERVED, api->max_clients / 4);
        if (api->admin_reserved >= api->max_clients) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG,
                             "%u slots reserved for root leave none of %u for the group",
                             api->admin_reserved, api->max_clients);
                return NULL;
        }
        api->max_clients_per_uid = o->max_clients_per_uid ? o->max_clients_per_uid
                                   : MIN (AUGUR_API_MAX_CLIENTS_PER_UID, api->max_clients - api->admin_reserved);
        api->notify_burst = o->notify_burst ? o->notify_burst : AUGUR_API_NOTIFY_BURST;
        api->notify_rate_per_s = o->notify_rate_per_s ? o->notify_rate_per_s : AUGUR_API_NOTIFY_RATE_PER_S;
        api->uids = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, uid_state_free);
        if (!resolve_group (api, o->group, error))
                return NULL;
        api->mode = o->mode ? o->mode : api->group ? 0660 : 0600;
        /* Owner read-write is needed (augurd itself), execute bits mean
         * nothing on a socket, and anything wider than 0666 is a typo. */
        if ((api->mode & ~0666) || (api->mode & 0600) != 0600) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG,
                             "api.mode = %04o: expected 0600 to 0666 with owner read-write",
                             (unsigned) api->mode);
                return NULL;
        }
        if (path) {
                api->path = g_strdup (path);
                if (!create_socket (api, error)) {
                        g_clear_pointer (&api->path, g_free);   /* not ours: keep it */
                        return NULL;
                }
                g_debug ("api: listening on %s (group %s, mode %04o)", api->path,
                         api->group ? api->group : "none", (unsigned) api->mode);
        }
        return g_steal_pointer (&api);
}

AugurApi *
augur_api_new (const char *path, const AugurApiOps *ops, gpointer daemon, GError **error)
{
        return augur_api_new_full (path, NULL, ops, daemon, error);
}

void
augur_api_free (AugurApi *api)
{
        struct stat st;

        if (!api)
                return;
        while (api->clients)
                client_free (api->clients->data);
        if (api->accept_source) {
                g_source_destroy (api->accept_source);
                g_source_unref (api->accept_source);
        }
        if (api->listener) {
                g_socket_close (api->listener, NULL);
                g_object_unref (api->listener);
                /* Remove the file only if it is still ours: a successor
                 * that replaced a socket it thought stale keeps its own. */
                if (api->path && lstat (api->path, &st) == 0 &&
                    st.st_dev == api->dev && st.st_ino == api->ino)
                        unlink (api->path);
        }
        g_main_context_unref (api->context);
        g_clear_pointer (&api->uids, g_hash_table_unref);
        g_free (api->group);
        g_free (api->path);
        g_free (api);
}

const char *
augur_api_get_path (const AugurApi *api)
{
        return api->path;
}

const char *
augur_api_get_group (const AugurApi *api)
{
        return api->group;
}

int
augur_api_get_mode (const AugurApi *api)
{
        return api->mode;
}

guint
augur_api_get_n_clients (const AugurApi *api)
{
        return api->n_clients;
}

void
augur_api_get_counters (const AugurApi *api, AugurApiCounters *ret)
{
        *ret = api->counters;
}
