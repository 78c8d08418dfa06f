/* metrics.c — the registry, the 0.0.4 text exposition and the HTTP
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
 *
 * WHY NOT LIBSOUP.  The endpoint was a SoupServer until libsoup 3.2.3 (the
 * version Debian 12 ships) was found to leak one GSocket per connection:
 * soup-listener.c listen_watch() keeps the reference g_socket_accept()
 * returned after handing the socket to the SoupServerConnection (which
 * takes its own).  The fd is closed, the object never freed: 344 bytes per
 * scrape under valgrind ("definitely lost", from g_socket_accept), RSS up
 * linearly for as long as augurd runs.  Upstream fixed it in 3.4.0
 * ("soup-listener: Plug a leak"); no libsoup API avoids SoupListener on
 * 3.2 except soup_server_accept_iostream(), which would leave us accepting
 * and bounding connections ourselves anyway.  A scraper needs one GET and
 * one answer, so augurd speaks that much HTTP itself (below), with the
 * bounds libsoup never had: head size, connection count and a deadline.
 *
 * A CONNECTION'S LIFE (one GSource per connection, as in api.c; no threads)
 *   reading  bytes go into a fixed buffer of AUGUR_METRICS_MAX_REQUEST_BYTES;
 *            after every read augur_metrics_parse_request() says "more",
 *            or which status to answer (a bad request line is answered as
 *            soon as it is complete, a good one once the head has ended).
 *   writing  the whole response (status line, headers, and for GET the
 *            exposition) is formatted at once into one GBytes, then sent
 *            as fast as the socket takes it (G_IO_OUT while it would block).
 *   closed   after the last byte (shutdown, close), at the deadline, or when
 *            the peer goes away.  Bytes after the head (a body, a second
 *            request) are never read: one request per connection.
 *   Cost per connection: this struct with its 8 KiB buffer and one
 *   formatted response, both freed at close; nothing outlives it.
 */
#include "config.h"

#include "metrics.h"
#include "io-limit.h"

#include <gio/gio.h>
#include <math.h>
#include <netinet/in.h>
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
        char device[32];
        const char *kind;               /* static (io-limit.h kind names)     */
        double v[3];                    /* limit, floor, upper; bytes/s       */
} MetricsIo;

typedef struct {
        char *uuid;
        char *name;
        double mem_used_kib, mem_alloc_kib, cpu_cores, vcpus;
        double yielded;                 /* 1 = augur yields to another controller,
                                         * 0 = not, NAN = not said yet         */
        double cpu_shares, cpu_shares_floor;  /* CPU WEIGHT, NAN = not watched */
        /* The forecast, bounded (metrics.h FORECAST SERIES): [memory, cpu] */
        gboolean have_forecast;
        double lead_s, lead_upper[2];
        guint n_p50;
        double p50_horizon_s[AUGUR_METRICS_P50_HORIZONS], p50[2][AUGUR_METRICS_P50_HORIZONS];
        double err_ratio[2][2];         /* [memory, cpu][model, best_baseline] */
        double coverage[2];             /* [memory, cpu], NAN = too few steps  */
        GArray *actions;                /* MetricsCount: resource, action, reason */
        GArray *drops;                  /* MetricsCount: reason               */
        GArray *events;                 /* MetricsCount: memory event         */
        GArray *io;                     /* MetricsIo (I/O LIMITS)             */
} MetricsGuest;

struct AugurMetrics {
        GHashTable *guests;             /* uuid -> MetricsGuest*              */
        guint64 tick_bucket[N_TICK_BUCKETS]; /* cumulative at format time     */
        guint64 tick_count;
        double tick_sum_s;
        double last_tick_s;             /* wall clock of the last tick, NAN   */
        GArray *retrains;               /* MetricsCount: outcome              */
        int connected;                  /* to the hypervisor: 1, 0, -1 unknown */
        double plan_held_kib;           /* host-plan.h; NAN = no view yet     */
        double plan_growth_kib;         /* NAN = not calibrated               */
        gboolean names;                 /* export guest names (metrics.h)     */
        /* the endpoint; n_listeners 0 = not serving */
        GSocket *listeners[AUGUR_METRICS_MAX_BIND];
        GSource *accept_sources[AUGUR_METRICS_MAX_BIND];
        guint n_listeners;
        GMainContext *context;          /* where the sources are attached     */
        guint port;
        guint max_clients;
        guint timeout_ms;               /* deadline of a connection           */
        GList *clients;                 /* of HttpClient, owned               */
        guint n_clients;
        gint64 loud_after_us;           /* next "busy" log at message level   */
};

/* Busy refusals are logged at message level at most once per this period,
 * then at debug, so a connection flood cannot flood the journal. */
#define QUIET_PERIOD_US ((gint64) 60 * G_USEC_PER_SEC)

static void http_client_free (gpointer data);
static void stop_listening (AugurMetrics *m);

static void
guest_free (gpointer p)
{
        MetricsGuest *g = p;

        g_free (g->uuid);
        g_free (g->name);
        g_array_unref (g->actions);
        g_array_unref (g->drops);
        g_array_unref (g->events);
        g_array_unref (g->io);
        g_free (g);
}

AugurMetrics *
augur_metrics_new (void)
{
        AugurMetrics *m = g_new0 (AugurMetrics, 1);

        m->guests = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, guest_free);
        m->last_tick_s = NAN;
        m->retrains = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
        m->connected = -1;
        m->plan_held_kib = m->plan_growth_kib = NAN;
        return m;
}

void
augur_metrics_free (AugurMetrics *m)
{
        if (!m)
                return;
        /* Each free unlinks itself from m->clients. */
        while (m->clients)
                http_client_free (m->clients->data);
        stop_listening (m);
        g_clear_pointer (&m->context, g_main_context_unref);
        g_hash_table_unref (m->guests);
        g_array_unref (m->retrains);
        g_free (m);
}

void
augur_metrics_set_names (AugurMetrics *m, gboolean names)
{
        m->names = names;
}

static MetricsGuest *
get_guest (AugurMetrics *m, const char *uuid, const char *name)
{
        MetricsGuest *g = g_hash_table_lookup (m->guests, uuid);

        if (!g) {
                g = g_new0 (MetricsGuest, 1);
                g->uuid = g_strdup (uuid);
                g->mem_used_kib = g->mem_alloc_kib = g->cpu_cores = g->vcpus = g->yielded = NAN;
                g->cpu_shares = g->cpu_shares_floor = NAN;
                for (int r = 0; r < 2; r++)
                        g->err_ratio[r][0] = g->err_ratio[r][1] = g->coverage[r] = NAN;
                g->actions = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
                g->drops = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
                g->events = g_array_new (FALSE, TRUE, sizeof (MetricsCount));
                g->io = g_array_new (FALSE, TRUE, sizeof (MetricsIo));
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
augur_metrics_set_yielded (AugurMetrics *m, const char *uuid, const char *name, gboolean yielded)
{
        get_guest (m, uuid, name)->yielded = yielded ? 1 : 0;
}

/* Max of v over the first n horizons, NAN when none is known. */
static double
max_first (const float *v, guint n)
{
        double best = NAN;

        for (guint h = 0; h < n; h++)
                if (!isnan (v[h]) && (isnan (best) || v[h] > best))
                        best = v[h];
        return best;
}

void
augur_metrics_set_forecast (AugurMetrics *m, const char *uuid, const AugurForecast *f, double lead_s)
{
        MetricsGuest *g = get_guest (m, uuid, NULL);
        guint n, idx[AUGUR_METRICS_P50_HORIZONS];

        g->have_forecast = f != NULL && f->H > 0;
        if (!g->have_forecast)
                return;
        /* The bound over the lead window, as the policy reads it. */
        n = f->step_s > 0 && lead_s > 0 ? (guint) ceil (lead_s / f->step_s) : 1;
        n = CLAMP (n, 1, f->H);
        g->lead_s = n * f->step_s;
        g->lead_upper[0] = max_first (f->mem_upper_kib, n) * 1024;
        g->lead_upper[1] = max_first (f->cpu_upper_cores, n);
        /* The median at the first, middle and last horizon (fewer when the
         * forecast has fewer steps). */
        idx[0] = 0;
        idx[1] = (f->H - 1) / 2;
        idx[2] = f->H - 1;
        g->n_p50 = 0;
        for (guint k = 0; k < AUGUR_METRICS_P50_HORIZONS; k++) {
                guint h = idx[k];

                if (g->n_p50 > 0 && g->p50_horizon_s[g->n_p50 - 1] == (h + 1) * f->step_s)
                        continue;
                g->p50_horizon_s[g->n_p50] = (h + 1) * f->step_s;
                g->p50[0][g->n_p50] = f->mem_p50_kib[h] * 1024.0;
                g->p50[1][g->n_p50] = f->cpu_p50_cores[h];
                g->n_p50++;
        }
}

void
augur_metrics_set_error (AugurMetrics *m, const char *uuid, const char *resource,
                         double model_pct, double best_baseline_pct)
{
        MetricsGuest *g = get_guest (m, uuid, NULL);
        int r = strcmp (resource, "cpu") == 0 ? 1 : 0;

        g->err_ratio[r][0] = model_pct / 100;
        g->err_ratio[r][1] = best_baseline_pct / 100;
}

void
augur_metrics_set_coverage (AugurMetrics *m, const char *uuid, const char *resource,
                            double ratio, double steps)
{
        MetricsGuest *g = get_guest (m, uuid, NULL);

        g->coverage[strcmp (resource, "cpu") == 0 ? 1 : 0] =
                steps >= AUGUR_METRICS_COVERAGE_MIN_STEPS ? ratio : NAN;
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
augur_metrics_count_memory_event (AugurMetrics *m, const char *uuid, const char *name, const char *event)
{
        (*count (get_guest (m, uuid, name)->events, event, NULL, NULL))++;
}

void
augur_metrics_count_retrain (AugurMetrics *m, const char *outcome)
{
        (*count (m->retrains, outcome, NULL, NULL))++;
}

void
augur_metrics_set_host_plan (AugurMetrics *m, double held_kib, double growth_kib)
{
        m->plan_held_kib = held_kib;
        m->plan_growth_kib = growth_kib;
}

void
augur_metrics_set_connected (AugurMetrics *m, gboolean connected)
{
        m->connected = connected ? 1 : 0;
}

void
augur_metrics_observe_tick (AugurMetrics *m, gint64 duration_usec)
{
        double s = duration_usec / 1e6;

        m->last_tick_s = g_get_real_time () / 1e6;
        for (gsize i = 0; i < N_TICK_BUCKETS; i++)
                if (s <= tick_buckets_s[i]) {
                        m->tick_bucket[i]++;
                        break;
                }
        m->tick_count++;
        m->tick_sum_s += s;
}

void
augur_metrics_clear_io (AugurMetrics *m, const char *uuid)
{
        MetricsGuest *g = g_hash_table_lookup (m->guests, uuid);

        if (g)
                g_array_set_size (g->io, 0);
}

void
augur_metrics_set_io (AugurMetrics *m, const char *uuid, const char *name, const char *device,
                      const char *kind, double limit_bps, double floor_bps, double upper_bps)
{
        MetricsGuest *g = get_guest (m, uuid, name);
        MetricsIo e = { .kind = kind, .v = { limit_bps, floor_bps, upper_bps } };

        if (g->io->len >= AUGUR_METRICS_IO_MAX)
                return;
        g_strlcpy (e.device, device, sizeof e.device);
        g_array_append_val (g->io, e);
}

void
augur_metrics_set_cpu_shares (AugurMetrics *m, const char *uuid, const char *name, double shares,
                              double floor_shares)
{
        MetricsGuest *g;

        if (isnan (shares) && !g_hash_table_contains (m->guests, uuid))
                return;
        g = get_guest (m, uuid, name);
        g->cpu_shares = shares;
        g->cpu_shares_floor = floor_shares;
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
 * ending without a comma, or NULL.  domain is the guest's name only when
 * names are exported (metrics.h, WHO SEES WHAT), else its UUID. */
static void
guest_sample (GString *out, const char *name, const MetricsGuest *g, gboolean names,
              const char *extra, double v)
{
        g_string_append_printf (out, "%s{domain=\"", name);
        augur_metrics_escape_label (out, names && g->name ? g->name : g->uuid);
        g_string_append (out, "\",uuid=\"");
        augur_metrics_escape_label (out, g->uuid);
        g_string_append_c (out, '"');
        if (extra)
                g_string_append_printf (out, ",%s", extra);
        g_string_append (out, "} ");
        append_value (out, v);
}

static void
gauge_family (GString *out, GPtrArray *guests, gboolean names, const char *name, const char *help,
              gsize offset, double scale)
{
        family (out, name, "gauge", help);
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];
                double v = *(const double *) ((const char *) g + offset);

                if (!isnan (v))
                        guest_sample (out, name, g, names, NULL, v * scale);
        }
}

static void
forecast_family (GString *out, GPtrArray *guests, gboolean names, int r)
{
        const char *name = r ? "augur_guest_cpu_forecast_cores" : "augur_guest_memory_forecast_bytes";
        char hbuf[G_ASCII_DTOSTR_BUF_SIZE];

        family (out, name, "gauge", r
                ? "Forecast CPU demand, cores: bound=upper is the calibrated upper bound over the lead window "
                  "(horizon_seconds = the window), bound=p50 the median at three horizons."
                : "Forecast used memory, bytes: bound=upper is the calibrated upper bound over the lead window "
                  "(horizon_seconds = the window), bound=p50 the median at three horizons.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                if (!g->have_forecast)
                        continue;
                if (!isnan (g->lead_upper[r])) {
                        g_autofree char *l = g_strdup_printf ("horizon_seconds=\"%s\",bound=\"upper\"",
                                                              fmt_double (hbuf, g->lead_s));

                        guest_sample (out, name, g, names, l, g->lead_upper[r]);
                }
                for (guint k = 0; k < g->n_p50; k++) {
                        g_autofree char *l = NULL;

                        if (isnan (g->p50[r][k]))
                                continue;
                        l = g_strdup_printf ("horizon_seconds=\"%s\",bound=\"p50\"",
                                             fmt_double (hbuf, g->p50_horizon_s[k]));
                        guest_sample (out, name, g, names, l, g->p50[r][k]);
                }
        }
}

/* name{domain,uuid,<label>="<a>"} n for every count of every guest. */
static void
count_family (GString *out, GPtrArray *guests, gboolean names, const char *name, const char *help,
              const char *label, gsize offset)
{
        family (out, name, "counter", help);
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];
                const GArray *a = G_STRUCT_MEMBER (GArray *, g, offset);

                for (guint k = 0; k < a->len; k++) {
                        const MetricsCount *c = &g_array_index (a, MetricsCount, k);
                        g_autoptr(GString) l = g_string_new (label);

                        g_string_append (l, "=\"");
                        augur_metrics_escape_label (l, c->a);
                        g_string_append_c (l, '"');
                        guest_sample (out, name, g, names, l->str, c->n);
                }
        }
}

static gint
by_uuid (gconstpointer a, gconstpointer b)
{
        const MetricsGuest *x = *(MetricsGuest *const *) a, *y = *(MetricsGuest *const *) b;

        return strcmp (x->uuid, y->uuid);
}

/* I/O LIMITS (metrics.h): three gauges per watched limit, in the
 * families of its kind's unit (io-limit.h AugurIoKindInfo.unit): bytes/s
 * for the byte-rate limits, IO/s for the IOPS limits. */
static void
io_families (GString *out, const GPtrArray *guests, gboolean names)
{
        static const struct {
                const char *name, *help;
                gboolean iops;
                int v;                          /* MetricsIo.v[] index */
        } fam[] = {
                { "augur_io_limit_bytes_per_second",
                  "The I/O limit in force on a guest's device (disk <iotune>, interface <bandwidth> average), "
                  "as augur last read it.", FALSE, 0 },
                { "augur_io_floor_bytes_per_second",
                  "The admin's own value of that limit: augur never sets it lower.", FALSE, 1 },
                { "augur_io_forecast_upper_bytes_per_second",
                  "The forecast upper bound of the rate that limit caps, over the policy's lead.", FALSE, 2 },
                { "augur_io_limit_iops",
                  "The IOPS limit in force on a guest's disk (<iotune> total_iops_sec, read_iops_sec, "
                  "write_iops_sec), requests per second, as augur last read it.", TRUE, 0 },
                { "augur_io_floor_iops",
                  "The admin's own value of that IOPS limit: augur never sets it lower.", TRUE, 1 },
                { "augur_io_forecast_upper_iops",
                  "The forecast upper bound of the request rate that IOPS limit caps, over the policy's lead.",
                  TRUE, 2 },
        };

        for (gsize f = 0; f < G_N_ELEMENTS (fam); f++) {
                family (out, fam[f].name, "gauge", fam[f].help);
                for (guint i = 0; i < guests->len; i++) {
                        const MetricsGuest *g = guests->pdata[i];

                        for (guint k = 0; k < g->io->len; k++) {
                                const MetricsIo *e = &g_array_index (g->io, MetricsIo, k);
                                AugurIoKind kind = augur_io_kind_from_name (e->kind);
                                g_autoptr(GString) l = g_string_new ("device=\"");
                                double v = e->v[fam[f].v];

                                if (isnan (v) || kind == AUGUR_IO_KIND_N || augur_io_kind_is_iops (kind) != fam[f].iops)
                                        continue;
                                augur_metrics_escape_label (l, e->device);
                                g_string_append (l, "\",kind=\"");
                                augur_metrics_escape_label (l, e->kind);
                                g_string_append_c (l, '"');
                                guest_sample (out, fam[f].name, g, names, l->str, v);
                        }
                }
        }
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
        gauge_family (out, guests, m->names, "augur_guest_memory_used_bytes",
                      "Memory the guest uses (MemTotal - MemAvailable), bytes.",
                      G_STRUCT_OFFSET (MetricsGuest, mem_used_kib), 1024);
        gauge_family (out, guests, m->names, "augur_guest_memory_allocation_bytes",
                      "Memory allocated to the guest (balloon size), bytes.",
                      G_STRUCT_OFFSET (MetricsGuest, mem_alloc_kib), 1024);
        gauge_family (out, guests, m->names, "augur_guest_cpu_used_cores",
                      "CPU the guest uses, cores.",
                      G_STRUCT_OFFSET (MetricsGuest, cpu_cores), 1);
        gauge_family (out, guests, m->names, "augur_guest_vcpus",
                      "vCPUs online in the guest.",
                      G_STRUCT_OFFSET (MetricsGuest, vcpus), 1);
        gauge_family (out, guests, m->names, "augur_guest_yielded",
                      "1 while augur leaves the guest alone because something else moves its balloon "
                      "(another controller), 0 otherwise.",
                      G_STRUCT_OFFSET (MetricsGuest, yielded), 1);
        forecast_family (out, guests, m->names, 0);
        forecast_family (out, guests, m->names, 1);
        io_families (out, guests, m->names);
        gauge_family (out, guests, m->names, "augur_cpu_shares",
                      "The CPU weight (cpu_shares) in force on a guest that opted in (cpu_weight_max), "
                      "as augur last read it.",
                      G_STRUCT_OFFSET (MetricsGuest, cpu_shares), 1);
        gauge_family (out, guests, m->names, "augur_cpu_shares_floor",
                      "The admin's own CPU weight of that guest: augur never sets it lower.",
                      G_STRUCT_OFFSET (MetricsGuest, cpu_shares_floor), 1);

        family (out, "augur_guest_forecast_error_ratio", "gauge",
                "Recent mean absolute error of the point forecast, as a fraction of capacity, of the model and of the best baseline.");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                for (int r = 0; r < 2; r++)
                        for (int s = 0; s < 2; s++) {
                                g_autofree char *l = NULL;

                                if (isnan (g->err_ratio[r][s]))
                                        continue;
                                l = g_strdup_printf ("resource=\"%s\",source=\"%s\"", resources[r], sources[s]);
                                guest_sample (out, "augur_guest_forecast_error_ratio", g, m->names, l, g->err_ratio[r][s]);
                        }
        }

        family (out, "augur_guest_forecast_coverage_ratio", "gauge",
                "Recent fraction of steps whose use stayed at or below the upper bound served one step before "
                "(the calibration's target is 0.95).");
        for (guint i = 0; i < guests->len; i++) {
                const MetricsGuest *g = guests->pdata[i];

                for (int r = 0; r < 2; r++) {
                        g_autofree char *l = NULL;

                        if (isnan (g->coverage[r]))
                                continue;
                        l = g_strdup_printf ("resource=\"%s\"", resources[r]);
                        guest_sample (out, "augur_guest_forecast_coverage_ratio", g, m->names, l, g->coverage[r]);
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
                        guest_sample (out, "augur_actions_total", g, m->names, l->str, c->n);
                }
        }

        count_family (out, guests, m->names, "augur_guest_reports_dropped_total",
                      "Activity reports from the guest that augurd dropped, by reason.",
                      "reason", G_STRUCT_OFFSET (MetricsGuest, drops));
        count_family (out, guests, m->names, "augur_guest_memory_events_total",
                      "Times the guest ran out of memory as augur saw it, by event (mem-guard.h rule 2).",
                      "event", G_STRUCT_OFFSET (MetricsGuest, events));

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
        family (out, "augur_retrain_runs_total", "counter",
                "Periodic retraining runs finished since augurd started, by outcome.");
        for (guint k = 0; k < m->retrains->len; k++) {
                const MetricsCount *c = &g_array_index (m->retrains, MetricsCount, k);

                g_string_append (out, "augur_retrain_runs_total{outcome=\"");
                augur_metrics_escape_label (out, c->a);
                g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", c->n);
        }
        if (!isnan (m->last_tick_s)) {
                family (out, "augur_last_tick_timestamp_seconds", "gauge",
                        "When the last tick was stored, seconds since the Unix epoch.");
                g_string_append (out, "augur_last_tick_timestamp_seconds ");
                append_value (out, m->last_tick_s);
        }
        if (m->connected >= 0) {
                family (out, "augur_libvirt_connected", "gauge",
                        "1 while augurd is connected to its hypervisor (libvirt), else 0.");
                g_string_append_printf (out, "augur_libvirt_connected %d\n", m->connected);
        }
        if (!isnan (m->plan_held_kib)) {
                family (out, "augur_host_plan_used_bytes", "gauge",
                        "The guests' used memory summed, as the host's 4-hour view last saw it.");
                g_string_append (out, "augur_host_plan_used_bytes ");
                append_value (out, m->plan_held_kib * 1024);
        }
        if (!isnan (m->plan_growth_kib)) {
                family (out, "augur_host_plan_growth_bytes", "gauge",
                        "How far the guests may grow together within 4 h, by the host's own 95 % bound: "
                        "what the memory guard's cushion plans on.");
                g_string_append (out, "augur_host_plan_growth_bytes ");
                append_value (out, m->plan_growth_kib * 1024);
        }
        family (out, "augur_build_info", "gauge", "Always 1; the version of augurd in its label.");
        g_string_append (out, "augur_build_info{version=\"");
        augur_metrics_escape_label (out, PACKAGE_VERSION);
        g_string_append (out, "\"} 1\n");
}

/* ---- the endpoint: request parsing (pure) ---- */

/* RFC 9110 tchar: what a method token may hold. */
static gboolean
is_tchar (char ch)
{
        return g_ascii_isalnum (ch) || (ch && strchr ("!#$%&'*+-.^_`|~", ch));
}

/* The status for one complete request line (without its line end). */
static guint
parse_request_line (const char *line, gsize len, gboolean *ret_head)
{
        const char *sp1, *sp2, *target, *path, *version;
        gsize method_len, target_len, path_len, version_len;

        for (gsize i = 0; i < len; i++)
                if ((guchar) line[i] < 0x20 || line[i] == 0x7f)
                        return 400;           /* NUL, CR inside, tabs, DEL */
        sp1 = memchr (line, ' ', len);
        if (!sp1 || sp1 == line)
                return 400;
        method_len = (gsize) (sp1 - line);
        target = sp1 + 1;
        sp2 = memchr (target, ' ', len - method_len - 1);
        if (!sp2 || sp2 == target)
                return 400;
        target_len = (gsize) (sp2 - target);
        version = sp2 + 1;
        version_len = len - (gsize) (version - line);
        for (gsize i = 0; i < method_len; i++)
                if (!is_tchar (line[i]))
                        return 400;
        /* HTTP-version = "HTTP/" DIGIT "." DIGIT, exactly (a third space
         * makes the version longer and fails here too). */
        if (version_len != 8 || memcmp (version, "HTTP/", 5) != 0 ||
            !g_ascii_isdigit (version[5]) || version[6] != '.' || !g_ascii_isdigit (version[7]))
                return 400;
        if (version[5] != '1')
                return 505;
        /* absolute-form (RFC 9112 3.2.2): skip scheme and authority */
        path = target;
        path_len = target_len;
        if (target_len > 7 && g_ascii_strncasecmp (target, "http://", 7) == 0) {
                const char *slash = memchr (target + 7, '/', target_len - 7);

                path = slash ? slash : "/";
                path_len = slash ? target_len - (gsize) (slash - target) : 1;
        }
        {
                const char *q = memchr (path, '?', path_len);

                if (q)
                        path_len = (gsize) (q - path);
        }
        if (path_len != strlen ("/metrics") || memcmp (path, "/metrics", path_len) != 0)
                return 404;
        if (method_len == 3 && memcmp (line, "GET", 3) == 0)
                return 200;
        if (method_len == 4 && memcmp (line, "HEAD", 4) == 0) {
                *ret_head = TRUE;
                return 200;
        }
        return 405;
}

guint
augur_metrics_parse_request (const char *buf, gsize len, gboolean *ret_head)
{
        const char *nl;
        gsize line_len;
        guint status;
        gboolean head = FALSE;

        g_return_val_if_fail (ret_head != NULL, 400);
        g_return_val_if_fail (buf != NULL || len == 0, 400);
        *ret_head = FALSE;
        nl = len > 0 ? memchr (buf, '\n', len) : NULL;
        if (!nl)
                return len >= AUGUR_METRICS_MAX_REQUEST_BYTES ? 431 : 0;
        line_len = (gsize) (nl - buf);
        if (line_len > 0 && buf[line_len - 1] == '\r')
                line_len--;
        status = parse_request_line (buf, line_len, &head);
        if (status != 200)
                return status;
        /* A good request line: answer once the head has ended, i.e. at the
         * first empty line ("\n\n" or "\n\r\n"), so the answer never races
         * headers still on their way (closing on unread input resets the
         * connection, and the client may lose the answer). */
        for (const char *p = nl; p < buf + len; p++) {
                gsize rest;

                p = memchr (p, '\n', (gsize) (buf + len - p));
                if (!p)
                        break;
                rest = (gsize) (buf + len - p) - 1;
                if ((rest >= 1 && p[1] == '\n') || (rest >= 2 && p[1] == '\r' && p[2] == '\n')) {
                        *ret_head = head;
                        return 200;
                }
        }
        return len >= AUGUR_METRICS_MAX_REQUEST_BYTES ? 431 : 0;
}

/* ---- the endpoint: connections ---- */

typedef struct {
        AugurMetrics *m;
        GList *link;                    /* in m->clients                      */
        GSocket *sock;
        GSource *io_source;             /* G_IO_IN, then G_IO_OUT if needed   */
        GIOCondition io_cond;           /* what io_source watches             */
        GSource *deadline;              /* closes the connection              */
        GBytes *out;                    /* the response, once decided         */
        gsize out_off;                  /* bytes of out already sent          */
        gsize in_len;                   /* bytes in in                        */
        char in[AUGUR_METRICS_MAX_REQUEST_BYTES];
} HttpClient;

static const char *
status_reason (guint status)
{
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        case 503:
                return "Service Unavailable";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return "Error";
        }
}

/* The whole response, (transfer full).  200 carries the exposition (its
 * headers only for HEAD); errors a one-line text body. */
static GBytes *
build_response (const AugurMetrics *m, guint status, gboolean head)
{
        g_autoptr(GString) body = g_string_new (NULL);
        GString *r;
        const char *type = "text/plain; charset=utf-8";

        if (status == 200) {
                augur_metrics_format (m, body);
                type = AUGUR_METRICS_CONTENT_TYPE;
        } else {
                g_string_append_printf (body, "%u %s\n", status, status_reason (status));
        }
        r = g_string_sized_new (body->len + 256);
        g_string_append_printf (r, "HTTP/1.1 %u %s\r\n"
                                "Content-Type: %s\r\n"
                                "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                "Connection: close\r\n",
                                status, status_reason (status), type, body->len);
        if (status == 405)
                g_string_append (r, "Allow: GET, HEAD\r\n");
        g_string_append (r, "\r\n");
        if (!head)
                g_string_append_len (r, body->str, (gssize) body->len);
        return g_string_free_to_bytes (r);
}

static void
http_client_free (gpointer data)
{
        HttpClient *c = data;
        AugurMetrics *m = c->m;

        if (c->io_source) {
                g_source_destroy (c->io_source);
                g_source_unref (c->io_source);
        }
        if (c->deadline) {
                g_source_destroy (c->deadline);
                g_source_unref (c->deadline);
        }
        m->clients = g_list_delete_link (m->clients, c->link);
        m->n_clients--;
        g_socket_close (c->sock, NULL);
        g_object_unref (c->sock);
        g_clear_pointer (&c->out, g_bytes_unref);
        g_free (c);
}

static void
http_client_close (HttpClient *c, const char *why)
{
        g_debug ("metrics: closing connection: %s", why);
        http_client_free (c);
}

static gboolean
on_deadline (gpointer data)
{
        HttpClient *c = data;

        /* http_client_free destroys the source; drop our reference first
         * so it is not released twice. */
        g_source_unref (c->deadline);
        c->deadline = NULL;
        http_client_close (c, "deadline");
        return G_SOURCE_REMOVE;
}

static gboolean http_client_io (GSocket *sock, GIOCondition cond, gpointer data);

/* Make the connection's source watch cond.  Returns what http_client_io
 * must return: G_SOURCE_CONTINUE when the running source stays,
 * G_SOURCE_REMOVE when it was replaced. */
static gboolean
http_client_watch (HttpClient *c, GIOCondition cond)
{
        if (c->io_source && c->io_cond == cond)
                return G_SOURCE_CONTINUE;
        if (c->io_source) {
                g_source_destroy (c->io_source);
                g_source_unref (c->io_source);
        }
        c->io_source = g_socket_create_source (c->sock, cond, NULL);
        c->io_cond = cond;
        g_source_set_callback (c->io_source, G_SOURCE_FUNC (http_client_io), c, NULL);
        g_source_attach (c->io_source, c->m->context);
        return G_SOURCE_REMOVE;
}

/* Send what the socket takes.  FALSE when the peer is gone. */
static gboolean
http_client_flush (HttpClient *c)
{
        gsize size;
        const char *data = g_bytes_get_data (c->out, &size);

        while (c->out_off < size) {
                g_autoptr(GError) error = NULL;
                gssize n = g_socket_send_with_blocking (c->sock, data + c->out_off, size - c->out_off,
                                                        FALSE, NULL, &error);

                if (n < 0) {
                        if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                                return TRUE;
                        g_debug ("metrics: write failed: %s", error->message);
                        return FALSE;
                }
                c->out_off += (gsize) n;
        }
        return TRUE;
}

/* The connection's state machine (top of this file): read until the
 * parser decides, then write the answer and close. */
static gboolean
http_client_io (GSocket *sock, GIOCondition cond, gpointer data)
{
        HttpClient *c = data;

        if (!c->out) {
                g_autoptr(GError) error = NULL;
                gboolean head = FALSE;
                guint status;
                gssize n;

                /* The parser answers 431 once the buffer is full, so there
                 * is always room here. */
                g_assert (c->in_len < sizeof c->in);
                n = g_socket_receive_with_blocking (c->sock, c->in + c->in_len, sizeof c->in - c->in_len,
                                                    FALSE, NULL, &error);
                if (n < 0) {
                        if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                                return G_SOURCE_CONTINUE;
                        http_client_close (c, error->message);
                        return G_SOURCE_REMOVE;
                }
                if (n == 0) {
                        http_client_close (c, "peer closed before a whole request");
                        return G_SOURCE_REMOVE;
                }
                c->in_len += (gsize) n;
                status = augur_metrics_parse_request (c->in, c->in_len, &head);
                if (status == 0)
                        return G_SOURCE_CONTINUE;
                if (status != 200)
                        g_debug ("metrics: answering %u", status);
                c->out = build_response (c->m, status, head);
        }
        if (!http_client_flush (c)) {
                http_client_close (c, "peer gone");
                return G_SOURCE_REMOVE;
        }
        if (c->out_off < g_bytes_get_size (c->out))
                return http_client_watch (c, G_IO_OUT);
        g_socket_shutdown (c->sock, FALSE, TRUE, NULL);
        http_client_close (c, "answered");
        return G_SOURCE_REMOVE;
}

/* Over the cap: a best-effort 503 (a fresh socket's send buffer is empty,
 * so a nonblocking send of a short answer goes through) and close. */
static void
refuse_busy (AugurMetrics *m, GSocket *sock)
{
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Length: 24\r\n"
                                   "Connection: close\r\n"
                                   "Retry-After: 1\r\n"
                                   "\r\n"
                                   "503 Service Unavailable\n";

        g_socket_set_blocking (sock, FALSE);
        g_socket_send (sock, busy, sizeof busy - 1, NULL, NULL);
        g_socket_close (sock, NULL);
        if (g_get_monotonic_time () >= m->loud_after_us) {
                g_message ("metrics: %u connections open, refusing more, ignoring", m->n_clients);
                m->loud_after_us = g_get_monotonic_time () + QUIET_PERIOD_US;
        } else {
                g_debug ("metrics: %u connections open, refusing more", m->n_clients);
        }
}

static void
accept_one (AugurMetrics *m, GSocket *sock)
{
        HttpClient *c;

        if (m->n_clients >= m->max_clients) {
                refuse_busy (m, sock);
                return;
        }
        c = g_new0 (HttpClient, 1);
        c->m = m;
        c->sock = g_object_ref (sock);
        g_socket_set_blocking (sock, FALSE);
        m->clients = g_list_prepend (m->clients, c);
        c->link = m->clients;
        m->n_clients++;
        c->deadline = g_timeout_source_new (m->timeout_ms);
        g_source_set_callback (c->deadline, on_deadline, c, NULL);
        g_source_attach (c->deadline, m->context);
        http_client_watch (c, G_IO_IN | G_IO_HUP | G_IO_ERR);
}

static gboolean
on_accept (GSocket *listener, GIOCondition cond, gpointer data)
{
        AugurMetrics *m = data;

        /* Drain the backlog: one wakeup may stand for several connects. */
        for (;;) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GSocket) sock = g_socket_accept (listener, NULL, &error);

                if (!sock) {
                        if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                                g_debug ("metrics: accept failed: %s, ignoring", error->message);
                        break;
                }
                accept_one (m, sock);
        }
        return G_SOURCE_CONTINUE;
}

gboolean
augur_metrics_parse_bind (const char *text, GStrv *ret, GError **error)
{
        g_auto(GStrv) words = g_strsplit_set (text ? text : "", ", \t", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; words[i]; i++) {
                g_autoptr(GInetAddress) a = NULL;

                if (!*words[i])
                        continue;
                a = g_inet_address_new_from_string (words[i]);
                if (!a) {
                        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                     "'%s' is not an IPv4 or IPv6 address (host names are not resolved)", words[i]);
                        return FALSE;
                }
                for (guint k = 0; k < out->len; k++)
                        if (strcmp (out->pdata[k], words[i]) == 0) {
                                g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                             "'%s' is given twice", words[i]);
                                return FALSE;
                        }
                if (out->len == AUGUR_METRICS_MAX_BIND) {
                        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                     "more than %d addresses", AUGUR_METRICS_MAX_BIND);
                        return FALSE;
                }
                g_ptr_array_add (out, g_strdup (words[i]));
        }
        if (out->len == 0) {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no address");
                return FALSE;
        }
        g_ptr_array_add (out, NULL);
        *ret = (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
        return TRUE;
}

static void
stop_listening (AugurMetrics *m)
{
        for (guint i = 0; i < m->n_listeners; i++) {
                g_source_destroy (m->accept_sources[i]);
                g_source_unref (m->accept_sources[i]);
                g_socket_close (m->listeners[i], NULL);
                g_object_unref (m->listeners[i]);
        }
        m->n_listeners = 0;
}

/* One listener on addr:port; the port it got in *ret_port. */
static GSocket *
listen_on (const char *addr_text, guint port, guint *ret_port, GError **error)
{
        g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (addr_text);
        g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (inet, (guint16) port);
        g_autoptr(GSocketAddress) local = NULL;
        g_autoptr(GSocket) listener = NULL;

        listener = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 error);
        if (!listener)
                return NULL;
        g_socket_set_blocking (listener, FALSE);
        /* "::" listens on IPv6 only, so "0.0.0.0, ::" can both be bound. */
        if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
                g_socket_set_option (listener, IPPROTO_IPV6, IPV6_V6ONLY, 1, NULL);
        /* allow_reuse: SO_REUSEADDR, so a restart binds while the previous
         * run's connections sit in TIME_WAIT. */
        if (!g_socket_bind (listener, addr, TRUE, error) || !g_socket_listen (listener, error) ||
            !(local = g_socket_get_local_address (listener, error)))
                return NULL;
        *ret_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
        return g_steal_pointer (&listener);
}

gboolean
augur_metrics_serve_full (AugurMetrics *m, guint port, const AugurMetricsServeOptions *options,
                          GError **error)
{
        const char *bind = options && options->bind ? options->bind : "127.0.0.1";
        g_auto(GStrv) addrs = NULL;

        g_return_val_if_fail (m->n_listeners == 0, FALSE);
        g_return_val_if_fail (port <= 65535, FALSE);
        if (!augur_metrics_parse_bind (bind, &addrs, error)) {
                g_prefix_error (error, "metrics bind '%s': ", bind);
                return FALSE;
        }
        m->context = g_main_context_ref_thread_default ();
        for (guint i = 0; addrs[i]; i++) {
                guint got = 0;
                GSocket *l = listen_on (addrs[i], port, &got, error);

                if (!l) {
                        g_prefix_error (error, "metrics on %s port %u: ", addrs[i], port);
                        stop_listening (m);
                        g_clear_pointer (&m->context, g_main_context_unref);
                        return FALSE;
                }
                if (i == 0)
                        port = m->port = got;
                m->listeners[i] = l;
                m->accept_sources[i] = g_socket_create_source (l, G_IO_IN, NULL);
                g_source_set_callback (m->accept_sources[i], G_SOURCE_FUNC (on_accept), m, NULL);
                g_source_attach (m->accept_sources[i], m->context);
                m->n_listeners++;
        }
        m->max_clients = options && options->max_clients ? options->max_clients : AUGUR_METRICS_MAX_CLIENTS;
        m->timeout_ms = options && options->timeout_ms ? options->timeout_ms : AUGUR_METRICS_CLIENT_TIMEOUT_MS;
        for (guint i = 0; addrs[i]; i++)
                g_message (strchr (addrs[i], ':') ? "metrics on http://[%s]:%u/metrics"
                                                  : "metrics on http://%s:%u/metrics", addrs[i], m->port);
        return TRUE;
}

gboolean
augur_metrics_serve (AugurMetrics *m, guint port, GError **error)
{
        return augur_metrics_serve_full (m, port, NULL, error);
}

guint
augur_metrics_get_port (const AugurMetrics *m)
{
        return m->n_listeners > 0 ? m->port : 0;
}

guint
augur_metrics_get_n_clients (const AugurMetrics *m)
{
        return m->n_clients;
}
