/* top-render.c — text of one `virt-augur top` refresh (see top-render.h).
 *
 * Columns: NAME STATE MODE USED ALLOC FCAST↑ CPU VCPU CPU↑ AGE LAST ACTION.
 * USED/ALLOC/FCAST↑ in MiB (USED in balloon terms, like the other two:
 * virt-augur.h), CPU in cores; FCAST↑ and CPU↑ are the upper
 * bounds the last decision planned with; AGE is how old the newest sample
 * is (a large age means augurd is not sampling this guest); MODE says
 * "yielded" while augurd leaves the guest to another controller (plugin/
 * resize-controller.c SECOND CONTROLLER); LAST ACTION
 * is the newest actuation and how long ago it was.  Unknown is "-".
 */
#include "config.h"

#include "top-render.h"

#include <math.h>
#include <string.h>

void
augur_top_row_clear (AugurTopRow *r)
{
        g_clear_pointer (&r->name, g_free);
        g_clear_pointer (&r->uuid, g_free);
        g_clear_pointer (&r->state, g_free);
        g_clear_pointer (&r->mode, g_free);
        g_clear_pointer (&r->last_action, g_free);
}

static char *
num (double v, int decimals)
{
        return isnan (v) ? g_strdup ("-") : g_strdup_printf ("%.*f", decimals, v);
}

static char *
age (gint64 then_ms, gint64 now_ms)
{
        gint64 s;

        if (then_ms < 0)
                return g_strdup ("-");
        s = MAX (now_ms - then_ms, 0) / 1000;
        if (s < 120)
                return g_strdup_printf ("%" G_GINT64_FORMAT "s", s);
        if (s < 7200)
                return g_strdup_printf ("%" G_GINT64_FORMAT "m", s / 60);
        if (s < 172800)
                return g_strdup_printf ("%" G_GINT64_FORMAT "h", s / 3600);
        return g_strdup_printf ("%" G_GINT64_FORMAT "d", s / 86400);
}

void
augur_top_render (GString *out, const AugurTopRow *rows, guint n, gint64 now_ms,
                  const char *source)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (now_ms / 1000);
        g_autofree char *now = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
        int w = 4;

        for (guint i = 0; i < n; i++)
                w = MAX (w, (int) strlen (rows[i].name ? rows[i].name : "?"));
        w = MIN (w, 32);
        g_string_append_printf (out, "virt-augur top - %s UTC - %u guest%s - %s\n\n", now, n,
                                n == 1 ? "" : "s", source ? source : "");
        g_string_append_printf (out, "%-*s %-8s %-9s %7s %7s %7s %5s %4s %5s %5s  %s\n", w, "NAME", "STATE",
                                "MODE", "USED", "ALLOC", "FCAST^", "CPU", "VCPU", "CPU^", "AGE", "LAST ACTION");
        for (guint i = 0; i < n; i++) {
                const AugurTopRow *r = &rows[i];
                g_autofree char *used = num (r->mem_used_kib / 1024, 0);
                g_autofree char *alloc = num (r->mem_alloc_kib / 1024, 0);
                g_autofree char *upper = num (r->mem_upper_kib / 1024, 0);
                g_autofree char *cpu = num (r->cpu_cores, 2);
                g_autofree char *cpu_up = num (r->cpu_upper_cores, 2);
                g_autofree char *vcpus = r->vcpus >= 0 ? g_strdup_printf ("%d", r->vcpus) : g_strdup ("-");
                g_autofree char *sample_age = age (r->sample_ms, now_ms);
                g_autofree char *action_age = age (r->last_action_ms, now_ms);
                g_autofree char *action = r->last_action
                                          ? g_strdup_printf ("%s (%s ago)", r->last_action, action_age)
                                          : g_strdup ("-");

                g_string_append_printf (out, "%-*.*s %-8s %-9s %7s %7s %7s %5s %4s %5s %5s  %s\n", w, w,
                                        r->name ? r->name : "?", r->state ? r->state : "-",
                                        r->mode ? r->mode : "-", used, alloc, upper, cpu, vcpus,
                                        cpu_up, sample_age, action);
        }
}
