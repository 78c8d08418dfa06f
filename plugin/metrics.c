/* metrics.c — the registry, the 0.0.4 text exposition and the libsoup
 * endpoint (see metrics.h for the families and the server's rules).
 *
 * Storage: one MetricsGuest per UUID in a hash table; counters are small
 * arrays of (labels, count) because a guest sees a handful of distinct
 * (resource, action, reason) triples.  A scrape sorts the UUIDs so the
 * output is stable (tests compare text), then writes each family once with
 * its HELP and TYPE lines followed by all its samples, as the format
 * requires (a family's samples must not be interleaved with another's).
 * Numbers are locale-independent and round-trip: %.15g when that reads
 * back as the same double (0.005 stays "0.005"), else %.17g.
 */
#include "config.h"

#include "metrics.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

/* Tick duration histogram bucket upper bounds, s: a tick is ~1 ms per
 * guest on a quiet host and should stay far below the 5 s period. */
static const double tick_buckets_s[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
#define N_TICK_BUCKETS G_N_ELEMENTS (tick_buckets_s)

typedef struct {
        const char *a, *b, *c;          /* interned label values              */
        guint64 n;
} MetricsCount;

typedef struct {
        char *uuid;
        char *name;
        double mem_used_kib, mem_alloc_kib, cpu_cores, vcpus;
        gboolean have_forecast;
        AugurForecast f;
        double err_pct[2][2];           /* [memory, cpu][model, best_baseline] */
        GArray *actions;                /* MetricsCount: resource, action, reason */
        GArray *drops;                  /* MetricsCount: reason               */
} MetricsGuest;

struct AugurMetrics {
        GHashTable *guests;             /* uuid -> MetricsGuest*              */
        guint64 tick_bucket[N_TICK_BUCKETS]; /* cumulative at format time     */
        guint64 tick_count;
        double tick_sum_s;
        SoupServer *server;
        guint port;
};

static void
guest_free (gpointer p)
{
        MetricsGuest *g = p;

        g_free (g->uuid);
        g_free (g->name);
        g_array_unref (g->actions);
        g_array_unref (g->drops);
        g_free (g);
}

AugurMetrics *
augur_metrics_new (void)
{
        AugurMetrics *m = g_new0 (AugurMetrics, 1);

        m->guests = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, guest_free);
        return m;
}

void
augur_metrics_free (AugurMetrics *m)
{
        if (!m)
                return;
        if (m->server)
                soup_server_disconnect (m->server);
        g_clear_object (&m->server);
        g_hash_table_unref (m->guests);
        g_free (m);
}

static MetricsGuest *
get_guest (AugurMetrics *m, const char *uuid, const char *name)
{
        MetricsGuest *g = g_hash_table_lookup (m->guests, uuid);

        if (!g) {
                g = g_new0 (MetricsGuest, 1);
                g->uuid = g_strdup (uuid);
                g->mem_used_kib = g->mem_alloc_kib = g->cpu_cores = g->vcpus = NAN;
                for (int r = 0; r < 2; r++)
                        g->err_pct[r][0] = g->err_pct[r][1] = NAN;
                g->actions = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
                g->drops = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
                g_hash_table_insert (m->guests, g->uuid, g);
        }
        if (name && g_strcmp0 (g->name, name) != 0) {
                g_free (g->name);
                g->name = g_strdup (name);
        }
        return g;
}

void
augur_metrics_set_guest (AugurMetrics *m, const char *uuid, const char *name,
                         double mem_used_kib, double mem_alloc_kib,
                         double cpu_cores_used, double vcpus)
{
        MetricsGuest *g = get_guest (m, uuid, name);

        g->mem_used_kib = mem_used_kib;
        g->mem_alloc_kib = mem_alloc_kib;
        g->cpu_cores = cpu_cores_used;
        g->vcpus = vcpus;
}

void
augur_metrics_set_forecast (AugurMetrics *m, const char *uuid, const AugurForecast *f)
{
        MetricsGuest *g = get_guest (m, uuid, NULL);

        g->have_forecast = f != NULL;
        if (f)
                g->f = *f;
}

void
augur_metrics_set_error (AugurMetrics *m, const char *uuid, const char *resource,
                         double model_pct, double best_baseline_pct)
{
        MetricsGuest *g = get_guest (m, uuid, NULL);
        int r = strcmp (resource, "cpu") == 0 ? 1 : 0;

        g->err_pct[r][0] = model_pct;
        g->err_pct[r][1] = best_baseline_pct;
}

/* The count of a label set, created at 0. */
static guint64 *
count (GArray *a, const char *x, const char *y, const char *z)
{
        MetricsCount c = { g_intern_string (x), g_intern_string (y), g_intern_string (z), 0 };

        for (guint i = 0; i < a->len; i++) {
                MetricsCount *e = &g_array_index (a, MetricsCount, i);

                if (e->a == c.a && e->b == c.b && e->c == c.c)
                        return &e->n;
        }
        g_array_append_val (a, c);
        return &g_array_index (a, MetricsCount, a->len - 1).n;
}

void
augur_metrics_count_action (AugurMetrics *m, const char *uuid, const char *name,
                            const char *resource, const char *action, const char *reason)
{
        (*count (get_guest (m, uuid, name)->actions, resource, action, reason ? reason : "none"))++;
}

void
augur_metrics_set_dropped_reports (AugurMetrics *m, const char *uuid, const char *name,
                                   const char *reason, guint64 total)
{
        *count (get_guest (m, uuid, name)->drops, reason, NULL, NULL) = total;
}

void
augur_metrics_observe_tick (AugurMetrics *m, gint64 duration_usec)
{
        double s = duration_usec / 1e6;

        for (gsize i = 0; i < N_TICK_BUCKETS; i++)
                if (s <= tick_buckets_s[i]) {
                        m->tick_bucket[i]++;
                        break;
                }
        m->tick_count++;
        m->tick_sum_s += s;
}

void
augur_metrics_forget (AugurMetrics *m, const char *uuid)
{
        g_hash_table_remove (m->guests, uuid);
}

/* ---- exposition ---- */

void
augur_metrics_escape_label (GString *out, const char *value)
{
        for (const char *p = value ? value : ""; *p; p++) {
                if (*p == '\\')
                        g_string_append (out, "\\\\");
                else if (*p == '"')
                        g_string_append (out, "\\\"");
                else if (*p == '\n')
                        g_string_append (out, "\\n");
                else
                        g_string_append_c (out, *p);
        }
}

/* Write v into buf (G_ASCII_DTOSTR_BUF_SIZE bytes); returns buf. */
static const char *
fmt_double (char *buf, double v)
{
        g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.15g", v);
        if (g_ascii_strtod (buf, NULL) != v)
                g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.17g", v);
        return buf;
}

static void
family (GString *out, const char *name, const char *type, const char *help)
{
        g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
append_value (GString *out, double v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (isnan (v))
                g_string_append (out, "NaN");
        else if (isinf (v))
                g_string_append (out, v > 0 ? "+Inf" : "-Inf");
        else
                g_string_append (out, fmt_double (buf, v));
        g_string_append_c (out, '\n');
}

/* name{domain="…",uuid="…"[,extra…]} — extra is already escaped text
 * ending without a comma, or NULL. */
static void
guest_sample (GString *out, const char *name, const MetricsGuest *g, const char *extra, double v)
{
        g_string_append_printf (out, "%s{domain=\"", name);
        augur_metrics_escape_label (out, g->name ? g->name : g->uuid);
        g_string_append (out, "\",uuid=\"");
        augur_metrics_escape_label (out, g->uuid);
        g_string_append_c (out, '"');
        if (extra)
                g_string_append_printf (out, ",%s", extra);
        g_string_append (out, "} ");
        append_value (out, v);
}

static void
gauge_family (GString *out, GPtrArray *guests, const char *name, const char *help,
              gsize offset, double scale)
{
        family (out, name, "gauge", help);
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];
                double v = *(const double *) ((const char *) g + offset);

                if (!isnan (v))
                        guest_sample (out, name, g, NULL, v * scale);
        }
}

static void
forecast_family (GString *out, GPtrArray *guests, gboolean cpu)
{
        const char *name = cpu ? "augur_guest_cpu_forecast_cores" : "augur_guest_memory_forecast_bytes";

        family (out, name, "gauge", cpu
                ? "Forecast CPU demand, cores, per horizon; bound=p50 is the median, bound=upper the calibrated upper bound."
                : "Forecast used memory, bytes, per horizon; bound=p50 is the median, bound=upper the calibrated upper bound.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                if (!g->have_forecast)
                        continue;
                for (guint h = 0; h < g->f.H; h++) {
                        const float *p50 = cpu ? g->f.cpu_p50_cores : g->f.mem_p50_kib;
                        const float *upper = cpu ? g->f.cpu_upper_cores : g->f.mem_upper_kib;
                        double scale = cpu ? 1 : 1024;
                        char hbuf[G_ASCII_DTOSTR_BUF_SIZE];
                        g_autofree char *lp50 = NULL, *lup = NULL;

                        fmt_double (hbuf, (h + 1) * g->f.step_s);
                        lp50 = g_strdup_printf ("horizon_seconds=\"%s\",bound=\"p50\"", hbuf);
                        lup = g_strdup_printf ("horizon_seconds=\"%s\",bound=\"upper\"", hbuf);
                        if (!isnan (p50[h]))
                                guest_sample (out, name, g, lp50, p50[h] * scale);
                        if (!isnan (upper[h]))
                                guest_sample (out, name, g, lup, upper[h] * scale);
                }
        }
}

static gint
by_uuid (gconstpointer a, gconstpointer b)
{
        const MetricsGuest *x = *(MetricsGuest *const *) a, *y = *(MetricsGuest *const *) b;

        return strcmp (x->uuid, y->uuid);
}

void
augur_metrics_format (const AugurMetrics *m, GString *out)
{
        g_autoptr(GPtrArray) guests = g_ptr_array_sized_new (g_hash_table_size (m->guests));
        static const char *const resources[] = { "memory", "cpu" };
        static const char *const sources[] = { "model", "best_baseline" };
        guint64 cumulative = 0;
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init (&it, m->guests);
        while (g_hash_table_iter_next (&it, NULL, &value))
                g_ptr_array_add (guests, value);
        g_ptr_array_sort (guests, by_uuid);
        gauge_family (out, guests, "augur_guest_memory_used_bytes",
                      "Memory the guest uses (MemTotal - MemAvailable), bytes.",
                      G_STRUCT_OFFSET (MetricsGuest, mem_used_kib), 1024);
        gauge_family (out, guests, "augur_guest_memory_allocation_bytes",
                      "Memory allocated to the guest (balloon size), bytes.",
                      G_STRUCT_OFFSET (MetricsGuest, mem_alloc_kib), 1024);
        gauge_family (out, guests, "augur_guest_cpu_used_cores",
                      "CPU the guest uses, cores.",
                      G_STRUCT_OFFSET (MetricsGuest, cpu_cores), 1);
        gauge_family (out, guests, "augur_guest_vcpus",
                      "vCPUs online in the guest.",
                      G_STRUCT_OFFSET (MetricsGuest, vcpus), 1);
        forecast_family (out, guests, FALSE);
        forecast_family (out, guests, TRUE);

        family (out, "augur_guest_forecast_error_percent", "gauge",
                "Recent mean absolute error of the point forecast, percent of capacity, of the model and of the best baseline.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                for (int r = 0; r < 2; r++)
                        for (int s = 0; s < 2; s++) {
                                g_autofree char *l = NULL;

                                if (isnan (g->err_pct[r][s]))
                                        continue;
                                l = g_strdup_printf ("resource=\"%s\",source=\"%s\"", resources[r], sources[s]);
                                guest_sample (out, "augur_guest_forecast_error_percent", g, l, g->err_pct[r][s]);
                        }
        }

        family (out, "augur_actions_total", "counter",
                "Resize decisions that changed or recommended a change, by resource, action and reason.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                for (guint k = 0; k < g->actions->len; k++) {
                        const MetricsCount *c = &g_array_index (g->actions, MetricsCount, k);
                        g_autoptr(GString) l = g_string_new ("resource=\"");

                        augur_metrics_escape_label (l, c->a);
                        g_string_append (l, "\",action=\"");
                        augur_metrics_escape_label (l, c->b);
                        g_string_append (l, "\",reason=\"");
                        augur_metrics_escape_label (l, c->c);
                        g_string_append_c (l, '"');
                        guest_sample (out, "augur_actions_total", g, l->str, c->n);
                }
        }

        family (out, "augur_guest_reports_dropped_total", "counter",
                "Activity reports from the guest that augurd dropped, by reason.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                for (guint k = 0; k < g->drops->len; k++) {
                        const MetricsCount *c = &g_array_index (g->drops, MetricsCount, k);
                        g_autoptr(GString) l = g_string_new ("reason=\"");

                        augur_metrics_escape_label (l, c->a);
                        g_string_append_c (l, '"');
                        guest_sample (out, "augur_guest_reports_dropped_total", g, l->str, c->n);
                }
        }

        family (out, "augur_tick_duration_seconds", "histogram",
                "Duration of one stored tick (collect, store, forecast, plan, actuate, audit), seconds.");
        for (gsize i = 0; i < N_TICK_BUCKETS; i++) {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];

                cumulative += m->tick_bucket[i];
                g_string_append_printf (out, "augur_tick_duration_seconds_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n",
                                        fmt_double (buf, tick_buckets_s[i]), cumulative);
        }
        g_string_append_printf (out, "augur_tick_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n",
                                m->tick_count);
        g_string_append (out, "augur_tick_duration_seconds_sum ");
        append_value (out, m->tick_sum_s);
        g_string_append_printf (out, "augur_tick_duration_seconds_count %" G_GUINT64_FORMAT "\n", m->tick_count);

        family (out, "augur_ticks_total", "counter", "Ticks stored since augurd started.");
        g_string_append_printf (out, "augur_ticks_total %" G_GUINT64_FORMAT "\n", m->tick_count);
}

/* ---- the endpoint ---- */

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
        AugurMetrics *m = user_data;
        const char *method = soup_server_message_get_method (msg);
        g_autoptr(GString) body = NULL;
        gsize len;

        if (strcmp (path, "/metrics") != 0) {
                soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
                return;
        }
        if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
                soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
                return;
        }
        body = g_string_new (NULL);
        augur_metrics_format (m, body);
        len = body->len;
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, AUGUR_METRICS_CONTENT_TYPE, SOUP_MEMORY_TAKE,
                                          g_string_free (g_steal_pointer (&body), FALSE), len);
}

gboolean
augur_metrics_serve (AugurMetrics *m, guint port, GError **error)
{
        g_autoptr(SoupServer) server = NULL;
        g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
        g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, (guint16) port);
        GSList *uris;

        g_return_val_if_fail (m->server == NULL, FALSE);
        g_return_val_if_fail (port <= 65535, FALSE);
        server = soup_server_new ("server-header", "augurd ", NULL);
        soup_server_add_handler (server, NULL, on_request, m, NULL);
        if (!soup_server_listen (server, addr, 0, error)) {
                g_prefix_error (error, "metrics on 127.0.0.1:%u: ", port);
                return FALSE;
        }
        uris = soup_server_get_uris (server);
        m->port = uris ? (guint) g_uri_get_port (uris->data) : port;
        g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
        m->server = g_steal_pointer (&server);
        return TRUE;
}

guint
augur_metrics_get_port (const AugurMetrics *m)
{
        return m->server ? m->port : 0;
}
