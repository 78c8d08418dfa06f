/* daemonize.c — see daemonize.h. */
/* pipe2 is a GNU extension in glibc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "config.h"

#include "daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Longest failure message passed to the parent, bytes: one GError
 * message with its prefixes; more is cut. */
#define MAX_MESSAGE_BYTES 4096

int
augur_daemonize_wait (int fd, FILE *err)
{
        g_autoptr(GString) text = g_string_new (NULL);
        char buf[512];

        for (;;) {
                ssize_t n = read (fd, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (text->len < MAX_MESSAGE_BYTES)
                        g_string_append_len (text, buf, MIN ((gsize) n, MAX_MESSAGE_BYTES - text->len));
        }
        close (fd);
        if (text->len == 1 && text->str[0] == '\0')
                return 0;
        if (text->len == 0)
                fprintf (err, "augurd: the daemon exited during start-up without a word; "
                         "see the system log\n");
        else
                fprintf (err, "augurd: %s\n", text->str);
        return 1;
}

static void
write_all (int fd, const char *data, gsize len)
{
        while (len > 0) {
                ssize_t n = write (fd, data, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;               /* the parent is gone: nobody to tell */
                data += n;
                len -= (gsize) n;
        }
}

void
augur_daemonize_ready (int *fd)
{
        if (*fd < 0)
                return;
        write_all (*fd, "", 1);
        close (*fd);
        *fd = -1;
}

void
augur_daemonize_failed (int *fd, const char *message)
{
        if (*fd < 0)
                return;
        /* Never empty (a lone NUL would read as "ready"). */
        if (!message || !*message)
                message = "start-up failed";
        write_all (*fd, message, MIN (strlen (message), MAX_MESSAGE_BYTES));
        close (*fd);
        *fd = -1;
}

gboolean
augur_daemonize (int *ret_fd, GError **error)
{
        int pfd[2], status, devnull;
        pid_t pid;

        if (pipe2 (pfd, O_CLOEXEC) < 0) {
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                             "cannot detach: pipe: %s", g_strerror (errno));
                return FALSE;
        }
        pid = fork ();
        if (pid < 0) {
                int err = errno;

                close (pfd[0]);
                close (pfd[1]);
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                             "cannot detach: fork: %s", g_strerror (err));
                return FALSE;
        }
        if (pid > 0) {
                /* The caller's process: reap the middle child, then wait for
                 * the daemon's word (EOF also when it dies). */
                close (pfd[1]);
                while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
                        ;
                exit (augur_daemonize_wait (pfd[0], stderr));
        }

        /* The middle child: a new session, then fork so the daemon is not
         * its leader. */
        close (pfd[0]);
        if (setsid () < 0)
                _exit (1);            /* defensive: a fresh child is no group leader */
        pid = fork ();
        if (pid < 0) {
                g_autofree char *msg = g_strdup_printf ("cannot detach: fork: %s", g_strerror (errno));

                augur_daemonize_failed (&pfd[1], msg);
                _exit (1);
        }
        if (pid > 0)
                _exit (0);

        /* The daemon. */
        if (chdir ("/") < 0) {
                /* defensive: / is always there */
        }
        devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
                dup2 (devnull, STDIN_FILENO);
                dup2 (devnull, STDOUT_FILENO);
                dup2 (devnull, STDERR_FILENO);
                if (devnull > STDERR_FILENO)
                        close (devnull);
        }
        *ret_fd = pfd[1];
        return TRUE;
}
