/* augur-log.c — see augur-log.h. */
#include "config.h"

#include "augur-log.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define DEFAULT_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define DEFAULT_SYSLOG_SOCKET "/dev/log"

struct AugurLogSystem {
        gboolean journal;             /* the journal's socket existed        */
        char *syslog_path;            /* else datagrams go here              */
        int syslog_fd;                /* -1 until the first line             */
        char *ident;                  /* "augurd[PID]"                       */
};

void
augur_log (GLogLevelFlags level, const char *guest, const char *action,
           const char *reason, double from, double to, const char *format, ...)
{
        g_autofree char *message = NULL;
        g_autofree char *from_s = NULL, *to_s = NULL;
        GLogField fields[8];
        gsize n = 0;
        va_list ap;

        va_start (ap, format);
        message = g_strdup_vprintf (format, ap);
        va_end (ap);
#define FIELD(k, v) do { fields[n].key = (k); fields[n].value = (v); fields[n].length = -1; n++; } while (0)
        FIELD ("GLIB_DOMAIN", G_LOG_DOMAIN);
        FIELD ("MESSAGE", message);
        if (guest && *guest)
                FIELD ("AUGUR_GUEST", guest);
        if (action && *action)
                FIELD ("AUGUR_ACTION", action);
        if (reason && *reason)
                FIELD ("AUGUR_REASON", reason);
        if (!isnan (from))
                FIELD ("AUGUR_FROM", (from_s = g_strdup_printf ("%.0f", from)));
        if (!isnan (to))
                FIELD ("AUGUR_TO", (to_s = g_strdup_printf ("%.0f", to)));
#undef FIELD
        g_log_structured_array (level, fields, n);
}

AugurLogSystem *
augur_log_system_new (const char *journal_socket, const char *syslog_socket)
{
        AugurLogSystem *s = g_new0 (AugurLogSystem, 1);

        s->journal = g_file_test (journal_socket ? journal_socket : DEFAULT_JOURNAL_SOCKET, G_FILE_TEST_EXISTS);
        s->syslog_path = g_strdup (syslog_socket ? syslog_socket : DEFAULT_SYSLOG_SOCKET);
        s->syslog_fd = -1;
        s->ident = g_strdup_printf ("%s[%d]", g_get_prgname () ? g_get_prgname () : "augurd", (int) getpid ());
        return s;
}

void
augur_log_system_free (AugurLogSystem *s)
{
        if (!s)
                return;
        if (s->syslog_fd >= 0)
                close (s->syslog_fd);
        g_free (s->syslog_path);
        g_free (s->ident);
        g_free (s);
}

/* GLib's rule for its default writer: debug and info only when
 * G_MESSAGES_DEBUG is "all" or names the domain.  (GLib 2.68 has
 * g_log_writer_default_would_drop; configure asks for 2.66.) */
static gboolean
would_drop (GLogLevelFlags level, const char *domain)
{
        const char *wanted;

        if (!(level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)))
                return FALSE;
        wanted = g_getenv ("G_MESSAGES_DEBUG");
        if (!wanted)
                return TRUE;
        if (strcmp (wanted, "all") == 0)
                return FALSE;
        return !domain || !strstr (wanted, domain);
}

/* GLib's level to syslog priority, as g_log_writer_journald maps it. */
static int
priority_of (GLogLevelFlags level)
{
        if (level & G_LOG_LEVEL_ERROR)
                return LOG_ERR;
        if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return LOG_WARNING;
        if (level & G_LOG_LEVEL_MESSAGE)
                return LOG_NOTICE;
        if (level & G_LOG_LEVEL_INFO)
                return LOG_INFO;
        return LOG_DEBUG;
}

static GLogWriterOutput
write_syslog (AugurLogSystem *s, GLogLevelFlags level, const char *message)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autofree char *line = NULL;

        if (s->syslog_fd < 0) {
                if (strlen (s->syslog_path) >= sizeof sa.sun_path)
                        return G_LOG_WRITER_UNHANDLED;
                g_strlcpy (sa.sun_path, s->syslog_path, sizeof sa.sun_path);
                s->syslog_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (s->syslog_fd < 0)
                        return G_LOG_WRITER_UNHANDLED;
                if (connect (s->syslog_fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        /* No syslog now: try again with the next line. */
                        close (s->syslog_fd);
                        s->syslog_fd = -1;
                        return G_LOG_WRITER_UNHANDLED;
                }
        }
        line = g_strdup_printf ("<%d>%s: %s", LOG_DAEMON | priority_of (level), s->ident, message);
        if (send (s->syslog_fd, line, strlen (line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                if (errno == ECONNREFUSED || errno == ENOTCONN) {
                        close (s->syslog_fd);         /* syslogd restarted: reconnect */
                        s->syslog_fd = -1;
                }
                return G_LOG_WRITER_UNHANDLED;
        }
        return G_LOG_WRITER_HANDLED;
}

GLogWriterOutput
augur_log_system_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                         gpointer user_data)
{
        AugurLogSystem *s = user_data;
        g_autofree char *message = NULL, *domain = NULL;

        /* A field's value is NUL-terminated when its length is -1. */
        for (gsize i = 0; i < n_fields; i++) {
                char **slot = NULL;

                if (strcmp (fields[i].key, "MESSAGE") == 0)
                        slot = &message;
                else if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
                        slot = &domain;
                if (!slot || *slot)
                        continue;
                if (fields[i].length < 0)
                        *slot = g_strdup (fields[i].value);
                else
                        *slot = g_strndup (fields[i].value, (gsize) fields[i].length);
        }
        if (would_drop (level, domain))
                return G_LOG_WRITER_HANDLED;
        if (s->journal && g_log_writer_journald (level, fields, n_fields, NULL) == G_LOG_WRITER_HANDLED)
                return G_LOG_WRITER_HANDLED;
        return write_syslog (s, level, message ? message : "(no message)");
}

void
augur_log_use_system (void)
{
        /* Lives as long as the process: the writer may run until exit. */
        AugurLogSystem *s = augur_log_system_new (NULL, NULL);

        g_log_set_writer_func (augur_log_system_writer, s, (GDestroyNotify) augur_log_system_free);
}
