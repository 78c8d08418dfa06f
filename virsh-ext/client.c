/* client.c — see client.h.  Plain POSIX sockets with one deadline: a
 * nonblocking connect, then poll() for every wait, so no step can outlive
 * timeout_ms. */
#include "config.h"

#include "client.h"
#include "regfile.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

G_DEFINE_QUARK (augur-client-error-quark, augur_client_error)

#define DEFAULT_CONFIG SYSCONFDIR "/augur/augur.conf"
#define DEFAULT_SOCKET RUNSTATEDIR "/augur/augurd.sock"

const char *
augur_client_config_path (void)
{
        const char *conf = g_getenv ("AUGUR_CONFIG");

        return conf && *conf ? conf : DEFAULT_CONFIG;
}

char *
augur_client_socket_path (const char *override)
{
        const char *env = g_getenv ("AUGUR_SOCKET");
        g_autoptr(GKeyFile) kf = g_key_file_new ();
        g_autofree char *text = NULL;
        gsize len = 0;
        char *path;

        if (override && *override)
                return g_strdup (override);
        if (env && *env)
                return g_strdup (env);
        /* A regular file only: a FIFO would hang virt-augur (regfile.h). */
        if (augur_regfile_read (augur_client_config_path (), 1024 * 1024, &text, &len, NULL) &&
            g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, NULL)) {
                path = g_key_file_get_string (kf, "daemon", "socket", NULL);
                if (path && *path)
                        return path;
                g_free (path);
        }
        return g_strdup (DEFAULT_SOCKET);
}

/* 1 ready, 0 deadline passed, -1 poll error (errno set). */
static int
wait_fd (int fd, short events, gint64 deadline_us)
{
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = events };
                gint64 left_ms = (deadline_us - g_get_monotonic_time () + 999) / 1000;
                int rc;

                if (left_ms <= 0)
                        return 0;
                rc = poll (&pfd, 1, (int) MIN (left_ms, G_MAXINT));
                if (rc > 0)
                        return 1;
                if (rc == 0)
                        return 0;
                if (errno != EINTR)
                        return -1;
        }
}

static gboolean
set_errno_error (GError **error, int err, const char *what, const char *path)
{
        AugurClientError code = AUGUR_CLIENT_ERROR_PROTOCOL;

        if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
                code = AUGUR_CLIENT_ERROR_UNAVAILABLE;
        else if (err == EACCES || err == EPERM)
                code = AUGUR_CLIENT_ERROR_PERMISSION;
        else if (err == ETIMEDOUT)
                code = AUGUR_CLIENT_ERROR_TIMEOUT;
        g_set_error (error, AUGUR_CLIENT_ERROR, code, "%s %s: %s", what, path, g_strerror (err));
        return FALSE;
}

char *
augur_client_call (const char *socket_path, const char *request_json,
                   int timeout_ms, GError **error)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        gint64 deadline_us = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
        g_autoptr(GString) req = NULL;
        g_autoptr(GByteArray) reply = g_byte_array_new ();
        gsize sent = 0;
        guint8 buf[8192];
        guint8 *nl = NULL;
        int fd, err = 0;
        socklen_t errlen = sizeof err;

        g_return_val_if_fail (socket_path != NULL && request_json != NULL, NULL);

        if (strlen (socket_path) >= sizeof sa.sun_path) {
                g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_UNAVAILABLE,
                             "socket path too long: %s", socket_path);
                return NULL;
        }
        g_strlcpy (sa.sun_path, socket_path, sizeof sa.sun_path);
        req = g_string_new (request_json);
        if (!g_str_has_suffix (req->str, "\n"))
                g_string_append_c (req, '\n');

        fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                set_errno_error (error, errno, "socket for", socket_path);
                return NULL;
        }
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno != EINPROGRESS && errno != EAGAIN) {
                        set_errno_error (error, errno, "cannot connect to", socket_path);
                        close (fd);
                        return NULL;
                }
                /* EAGAIN: the listen backlog is full.  A unix socket does not
                 * complete later on its own; treat it as a timeout. */
                if (errno == EAGAIN ||
                    wait_fd (fd, POLLOUT, deadline_us) <= 0 ||
                    getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err) {
                        set_errno_error (error, err ? err : ETIMEDOUT, "cannot connect to", socket_path);
                        close (fd);
                        return NULL;
                }
        }
        while (sent < req->len) {
                gssize n = send (fd, req->str + sent, req->len - sent, MSG_NOSIGNAL);

                if (n > 0) {
                        sent += (gsize) n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        set_errno_error (error, errno, "cannot send to", socket_path);
                        close (fd);
                        return NULL;
                }
                if (wait_fd (fd, POLLOUT, deadline_us) <= 0) {
                        set_errno_error (error, ETIMEDOUT, "cannot send to", socket_path);
                        close (fd);
                        return NULL;
                }
        }
        shutdown (fd, SHUT_WR);
        while (!(nl = memchr (reply->data, '\n', reply->len))) {
                gssize n;

                if (reply->len >= AUGUR_CLIENT_MAX_REPLY_BYTES) {
                        close (fd);
                        g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_PROTOCOL,
                                     "reply from %s longer than %d bytes", socket_path,
                                     AUGUR_CLIENT_MAX_REPLY_BYTES);
                        return NULL;
                }
                n = recv (fd, buf, MIN (sizeof buf, AUGUR_CLIENT_MAX_REPLY_BYTES - reply->len), 0);
                if (n > 0) {
                        g_byte_array_append (reply, buf, (guint) n);
                        continue;
                }
                if (n == 0)
                        break;
                if (errno != EAGAIN && errno != EINTR) {
                        set_errno_error (error, errno, "cannot read from", socket_path);
                        close (fd);
                        return NULL;
                }
                if (wait_fd (fd, POLLIN, deadline_us) <= 0) {
                        close (fd);
                        g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_TIMEOUT,
                                     "no reply from %s within %d ms", socket_path, timeout_ms);
                        return NULL;
                }
        }
        close (fd);
        if (!nl) {
                g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_PROTOCOL,
                             "%s closed the connection without a complete reply", socket_path);
                return NULL;
        }
        return g_strndup ((const char *) reply->data, (gsize) (nl - reply->data));
}

JsonNode *
augur_client_call_result (const char *socket_path, const char *request_json,
                          int timeout_ms, GError **error)
{
        g_autofree char *line = augur_client_call (socket_path, request_json, timeout_ms, error);
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) local = NULL;
        JsonObject *obj, *err = NULL;
        JsonNode *root, *result, *err_node;
        const char *code, *message;

        if (!line)
                return NULL;
        parser = json_parser_new_immutable ();
        if (!json_parser_load_from_data (parser, line, -1, &local) ||
            !(root = json_parser_get_root (parser)) || !JSON_NODE_HOLDS_OBJECT (root)) {
                g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_PROTOCOL,
                             "%s: reply is not a JSON object%s%s", socket_path,
                             local ? ": " : "", local ? local->message : "");
                return NULL;
        }
        obj = json_node_get_object (root);
        if (json_object_get_boolean_member_with_default (obj, "ok", FALSE)) {
                result = json_object_get_member (obj, "result");
                if (!result || !JSON_NODE_HOLDS_OBJECT (result)) {
                        g_set_error (error, AUGUR_CLIENT_ERROR, AUGUR_CLIENT_ERROR_PROTOCOL,
                                     "%s: an \"ok\" reply without a result object", socket_path);
                        return NULL;
                }
                return json_node_copy (result);
        }
        err_node = json_object_get_member (obj, "error");
        if (err_node && JSON_NODE_HOLDS_OBJECT (err_node))
                err = json_node_get_object (err_node);
        code = err ? json_object_get_string_member_with_default (err, "code", "?") : "?";
        message = err ? json_object_get_string_member_with_default (err, "message", "") : "";
        g_set_error (error, AUGUR_CLIENT_ERROR,
                     g_strcmp0 (code, "permission-denied") == 0
                     ? AUGUR_CLIENT_ERROR_PERMISSION : AUGUR_CLIENT_ERROR_REMOTE,
                     "augurd: %s: %s", code, message);
        return NULL;
}

gboolean
augur_client_same_file (const char *a, const char *b)
{
        struct stat sa, sb;

        if (!a || !b)
                return FALSE;
        if (stat (a, &sa) == 0 && stat (b, &sb) == 0)
                return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
        return strcmp (a, b) == 0;
}
