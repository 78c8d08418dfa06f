/* augur-log.c — see augur-log.h. */
#include "config.h"

#include "augur-log.h"

#include <math.h>

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
