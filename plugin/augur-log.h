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
