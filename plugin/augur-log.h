/* augur-log.h — structured log lines with augur's own journal fields.
 *
 * Under systemd they reach journald (GLib's default writer detects it) as
 * AUGUR_GUEST, AUGUR_ACTION, AUGUR_REASON, AUGUR_FROM and AUGUR_TO next to
 * MESSAGE, so `journalctl AUGUR_GUEST=web1` shows one guest's story.  Empty
 * or NaN fields are left out. */
#pragma once

#include <glib.h>

void augur_log (GLogLevelFlags level, const char *guest, const char *action,
                const char *reason, double from, double to,
                const char *format, ...) G_GNUC_PRINTF (7, 8);

/* WHERE LINES GO ONCE AUGURD DETACHED.  Without --foreground stdio is
 * /dev/null, and GLib's default writer would lose every line.  The system
 * writer sends each line to the journal (GLib's g_log_writer_journald,
 * structured fields kept) when the journal's socket exists, else as a
 * syslog datagram ("<PRI>augurd[PID]: MESSAGE", facility daemon, RFC 3164)
 * to the syslog socket; a line neither takes is dropped.  Debug and info
 * lines are dropped unless G_MESSAGES_DEBUG asks for them, as GLib's
 * default writer does.  (With --foreground under systemd, stderr is the
 * journal and GLib's default writer already finds it.) */
typedef struct AugurLogSystem AugurLogSystem;

/* journal_socket and syslog_socket: NULL for the system's
 * (/run/systemd/journal/socket, /dev/log); tests pass their own. */
AugurLogSystem *augur_log_system_new (const char *journal_socket, const char *syslog_socket);
void augur_log_system_free (AugurLogSystem *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurLogSystem, augur_log_system_free)

/* A GLogWriterFunc; user_data is an AugurLogSystem. */
GLogWriterOutput augur_log_system_writer (GLogLevelFlags level, const GLogField *fields,
                                          gsize n_fields, gpointer user_data);

/* Install the system writer for the rest of the process (main.c, after
 * detaching).  GLib allows one writer per process: call once. */
void augur_log_use_system (void);
