/* daemonize.h — detaching augurd without losing how its start went.
 *
 * daemon(3) returns in the child at once and the parent exits 0, so a
 * start that fails later (a bad database) exited 0 and said nothing: the
 * message went to a stderr that is /dev/null by then.  Here the parent
 * stays until the daemon reports, over a pipe (a readiness pipe):
 *
 *   augurd ─ fork ─> child: setsid, fork ─> daemon: chdir /, stdio /dev/null,
 *     │                └ exits at once       opens the store, arms the tick,
 *     │                  (the daemon is no   then writes to the pipe
 *     │                  session leader: no
 *     │                  terminal comes back)
 *     └ reads the pipe to EOF:
 *         one NUL byte   the daemon is up: exit 0
 *         text           why it could not start: "augurd: TEXT" on stderr,
 *                        exit 1
 *         nothing        it died without a word: say so, exit 1
 *
 * Under systemd augurd runs with --foreground and reports with sd_notify
 * instead (sd-notify.h); this is for a shell or an init script. */
#pragma once

#include <glib.h>
#include <stdio.h>

/* Detach.  Returns only in the daemon, TRUE with *ret_fd the pipe's write
 * end for augur_daemonize_ready() or _failed().  In the calling process it
 * waits for that word and exits with the status above.  FALSE with error
 * (in the calling process, nothing detached) if pipe or fork failed. */
gboolean augur_daemonize (int *ret_fd, GError **error);

/* Tell the waiting parent that the start succeeded, or why it failed.
 * Closes *fd and sets it to -1; does nothing when *fd is -1. */
void augur_daemonize_ready (int *fd);
void augur_daemonize_failed (int *fd, const char *message);

/* The parent's side: read fd to EOF, print a failure to err as
 * "augurd: MESSAGE", and return the exit status (0 ready, 1 failed).
 * Closes fd. */
int augur_daemonize_wait (int fd, FILE *err);
