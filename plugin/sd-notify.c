/* sd-notify.c — see sd-notify.h. */
#include "config.h"

#include "sd-notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean
augur_sd_notify (const char *state)
{
        const char *name = g_getenv ("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len;
        gsize name_len;
        ssize_t sent;
        int fd;

        g_return_val_if_fail (state != NULL, FALSE);

        if (!name || !*name)
                return FALSE;
        name_len = strlen (name);
        if ((name[0] != '/' && name[0] != '@') || name_len >= sizeof sa.sun_path) {
                g_debug ("NOTIFY_SOCKET=%s is not a socket path or an abstract name, ignoring", name);
                return FALSE;
        }
        memcpy (sa.sun_path, name, name_len);
        if (name[0] == '@')
                sa.sun_path[0] = '\0';        /* abstract: no terminating NUL */
        len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + name_len);
        fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                g_debug ("sd_notify: socket(): %s, ignoring", g_strerror (errno));
                return FALSE;
        }
        sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &sa, len);
        if (sent < 0)
                g_debug ("sd_notify to %s: %s, ignoring", name, g_strerror (errno));
        close (fd);
        return sent == (ssize_t) strlen (state);
}

gboolean
augur_sd_notifyf (const char *format, ...)
{
        g_autofree char *state = NULL;
        va_list ap;

        va_start (ap, format);
        state = g_strdup_vprintf (format, ap);
        va_end (ap);
        return augur_sd_notify (state);
}
