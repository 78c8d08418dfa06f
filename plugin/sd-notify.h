/* sd-notify.h — the service manager's readiness protocol, without
 * libsystemd.
 *
 * PROTOCOL (sd_notify(3); it is small and stable): when the environment
 * has NOTIFY_SOCKET, send one datagram of newline-separated KEY=VALUE
 * assignments to that AF_UNIX socket, a path ("/run/systemd/notify") or,
 * with a leading "@", an abstract name.  augurd sends
 *   READY=1          once the store is open and the tick armed (the unit
 *                    is Type=notify: until then systemd says "activating",
 *                    and an exit before it is a failed start)
 *   STATUS=...       a line `systemctl status` shows
 *   RELOADING=1, then READY=1 around a SIGHUP reload
 *   STOPPING=1       on SIGTERM/SIGINT
 * Without NOTIFY_SOCKET nothing is sent: not running under a service
 * manager is no error. */
#pragma once

#include <glib.h>

/* Send state (e.g. "READY=1\nSTATUS=watching 3 guests").  Returns TRUE
 * when it was sent, FALSE when there is no NOTIFY_SOCKET or the send
 * failed (logged at debug: the manager then times the start out, which
 * says more than we could). */
gboolean augur_sd_notify (const char *state);

/* augur_sd_notify() of a formatted state. */
gboolean augur_sd_notifyf (const char *format, ...) G_GNUC_PRINTF (1, 2);
