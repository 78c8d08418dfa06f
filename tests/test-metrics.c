/* test-metrics.c — plugin/metrics.c: label escaping, the 0.0.4 text
 * exposition (HELP/TYPE once per family, samples grouped, units), names
 * kept out by default, what a real parser says about it (promtool, when
 * installed), and the HTTP endpoint on an ephemeral loopback port: the
 * request parser, answers, head size, connection cap, deadline, and RSS
 * flat over 20 000 requests. */
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "metrics.h"

static void
test_escape (void)
{
        static const struct { const char *in, *out; } rows[] = {
                { "vm1", "vm1" },
                { "", "" },
                { "a\"b", "a\\\"b" },
                { "a\\b", "a\\\\b" },
                { "a\nb", "a\\nb" },
                { "\\\"\n", "\\\\\\\"\\n" },
                { "$(touch${IFS}x);y", "$(touch${IFS}x);y" },
                { "gäst", "gäst" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GString) s = g_string_new (NULL);

                g_test_message ("row %zu: %s", i, rows[i].in);
                augur_metrics_escape_label (s, rows[i].in);
                g_assert_cmpstr (s->str, ==, rows[i].out);
        }
}

static AugurMetrics *
sample_registry (void)
{
        AugurMetrics *m = augur_metrics_new ();
        AugurForecast f = { .H = 12, .step_s = 60, .model = "lstm" };

        augur_metrics_set_names (m, TRUE);
        for (guint h = 0; h < f.H; h++) {
                f.mem_p50_kib[h] = 1000 + 100 * h;
                f.mem_upper_kib[h] = 1500 + 100 * h;
                f.cpu_p50_cores[h] = 0.5;
                f.cpu_upper_cores[h] = 1 + h;
        }
        f.mem_upper_kib[2] = NAN;          /* unknown: not the bound */
        f.mem_p50_kib[11] = NAN;           /* not exported */
        augur_metrics_set_guest (m, "22222222-0000-0000-0000-000000000000", "web\"1\\\n",
                                 262144, 524288, 0.75, 2);
        /* a 150 s lead: the bound over the first 3 steps (180 s) */
        augur_metrics_set_forecast (m, "22222222-0000-0000-0000-000000000000", &f, 150);
        augur_metrics_set_guest (m, "11111111-0000-0000-0000-000000000000", "db", NAN, 1048576, NAN, NAN);
        augur_metrics_count_action (m, "22222222-0000-0000-0000-000000000000", "web\"1\\\n", "memory", "grow",
                                    "forecast-grow");
        augur_metrics_count_action (m, "22222222-0000-0000-0000-000000000000", NULL, "memory", "grow",
                                    "forecast-grow");
        augur_metrics_count_action (m, "22222222-0000-0000-0000-000000000000", NULL, "vcpus", "recommend-up",
                                    NULL);
        augur_metrics_set_dropped_reports (m, "11111111-0000-0000-0000-000000000000", "db", "rate", 5);
        augur_metrics_set_dropped_reports (m, "11111111-0000-0000-0000-000000000000", "db", "rate", 7);
        augur_metrics_set_error (m, "11111111-0000-0000-0000-000000000000", "memory", NAN, 3.5);
        augur_metrics_set_error (m, "11111111-0000-0000-0000-000000000000", "cpu", 2.25, 4);
        augur_metrics_count_memory_event (m, "11111111-0000-0000-0000-000000000000", "db", "guest-oom-kill");
        augur_metrics_count_memory_event (m, "11111111-0000-0000-0000-000000000000", "db", "guest-oom-kill");
        augur_metrics_set_connected (m, TRUE);
        augur_metrics_set_host_plan (m, 18616.0 * 1024, 35 * 1024 * 1024);
        augur_metrics_count_retrain (m, "failed");
        augur_metrics_set_coverage (m, "11111111-0000-0000-0000-000000000000", "memory", 0.875, 40);
        augur_metrics_set_coverage (m, "11111111-0000-0000-0000-000000000000", "cpu", 0.5, 3);   /* too few */
        augur_metrics_observe_tick (m, 3000);       /* 3 ms  */
        augur_metrics_observe_tick (m, 7000000);    /* 7 s: only +Inf */
        return m;
}

/* Every line is a comment or `name{labels} value`; every family has one
 * HELP and one TYPE before its samples, and its samples are contiguous. */
static void
check_shape (const char *text)
{
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
        g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GRegex) sample = g_regex_new ("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-z_]+=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? "
                                                "(NaN|[+-]Inf|-?[0-9.e+-]+)$", 0, 0, NULL);
        g_autofree char *current = NULL;

        g_assert_nonnull (sample);
        g_assert_true (g_str_has_suffix (text, "\n"));
        for (guint i = 0; lines[i] && lines[i][0]; i++) {
                const char *l = lines[i];
                g_autoptr(GMatchInfo) mi = NULL;
                g_autofree char *name = NULL;

                if (g_str_has_prefix (l, "# HELP ")) {
                        g_auto(GStrv) w = g_strsplit (l + 7, " ", 2);

                        g_assert_false (g_hash_table_contains (done, w[0]));
                        g_free (current);
                        current = g_strdup (w[0]);
                        g_hash_table_add (done, g_strdup (w[0]));
                        g_assert_true (g_str_has_prefix (lines[i + 1], "# TYPE "));
                        continue;
                }
                if (g_str_has_prefix (l, "# TYPE "))
                        continue;
                g_test_message ("line: %s", l);
                g_assert_true (g_regex_match (sample, l, 0, &mi));
                name = g_match_info_fetch (mi, 1);
                g_assert_nonnull (current);
                /* a sample belongs to the family just opened (histograms
                 * add _bucket/_sum/_count) */
                g_assert_true (g_str_has_prefix (name, current));
        }
}

static void
test_format (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GString) s = g_string_new (NULL);

        augur_metrics_format (m, s);
        g_test_message ("%s", s->str);
        check_shape (s->str);
        /* units: KiB in, bytes out */
        g_assert_nonnull (strstr (s->str, "augur_guest_memory_used_bytes{domain=\"web\\\"1\\\\\\n\","
                                          "uuid=\"22222222-0000-0000-0000-000000000000\"} 268435456\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_memory_allocation_bytes{domain=\"db\","
                                          "uuid=\"11111111-0000-0000-0000-000000000000\"} 1073741824\n"));
        /* unknown values are left out, not written as NaN */
        g_assert_null (strstr (s->str, "augur_guest_memory_used_bytes{domain=\"db\""));
        g_assert_null (strstr (s->str, "NaN"));
        /* stable order: by UUID */
        g_assert_true (strstr (s->str, "augur_guest_memory_allocation_bytes{domain=\"db\"") <
                       strstr (s->str, "augur_guest_memory_allocation_bytes{domain=\"web"));
        /* forecasts: the bound over the lead window, the median at the
         * first, middle and last horizon, nothing else */
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"180\",bound=\"upper\"} 1638400\n"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"60\",bound=\"p50\"} 1024000\n"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"360\",bound=\"p50\"} 1536000\n"));
        g_assert_null (strstr (s->str, ",horizon_seconds=\"720\",bound=\"p50\"} NaN"));
        g_assert_nonnull (strstr (s->str, "augur_guest_cpu_forecast_cores{domain=\"web"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"180\",bound=\"upper\"} 3\n"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"720\",bound=\"p50\"} 0.5\n"));
        {
                guint n = 0;

                g_auto(GStrv) lines = g_strsplit (s->str, "\n", -1);

                for (guint i = 0; lines[i]; i++)
                        if (g_str_has_prefix (lines[i], "augur_guest_memory_forecast_bytes{") ||
                            g_str_has_prefix (lines[i], "augur_guest_cpu_forecast_cores{"))
                                n++;
                g_assert_cmpuint (n, ==, 4 + 3);   /* memory: upper + 2 p50; cpu: upper + 3 p50 */
        }
        /* counters accumulate by label set; dropped reports are totals */
        g_assert_nonnull (strstr (s->str, ",resource=\"memory\",action=\"grow\",reason=\"forecast-grow\"} 2\n"));
        g_assert_nonnull (strstr (s->str, ",resource=\"vcpus\",action=\"recommend-up\",reason=\"none\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_reports_dropped_total{domain=\"db\","
                                          "uuid=\"11111111-0000-0000-0000-000000000000\",reason=\"rate\"} 7\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_forecast_error_ratio{domain=\"db\""));
        g_assert_nonnull (strstr (s->str, ",resource=\"memory\",source=\"best_baseline\"} 0.035\n"));
        g_assert_nonnull (strstr (s->str, ",resource=\"cpu\",source=\"model\"} 0.0225\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_memory_events_total{domain=\"db\","
                                          "uuid=\"11111111-0000-0000-0000-000000000000\",event=\"guest-oom-kill\"} 2\n"));
        g_assert_nonnull (strstr (s->str, "augur_libvirt_connected 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_host_plan_used_bytes 19520290816\n"));
        g_assert_nonnull (strstr (s->str, "augur_host_plan_growth_bytes 37580963840\n"));
        g_assert_nonnull (strstr (s->str, "augur_retrain_runs_total{outcome=\"failed\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_forecast_coverage_ratio{domain=\"db\","
                                          "uuid=\"11111111-0000-0000-0000-000000000000\",resource=\"memory\"} 0.875\n"));
        g_assert_null (strstr (s->str, "resource=\"cpu\"} 0.5\n"));
        g_assert_nonnull (strstr (s->str, "augur_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_last_tick_timestamp_seconds 1"));
        /* histogram: cumulative buckets, +Inf = count */
        g_assert_nonnull (strstr (s->str, "# TYPE augur_tick_duration_seconds histogram\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_bucket{le=\"0.001\"} 0\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_bucket{le=\"5\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_sum 7.003\n"));
        g_assert_nonnull (strstr (s->str, "augur_tick_duration_seconds_count 2\n"));
        g_assert_nonnull (strstr (s->str, "# TYPE augur_actions_total counter\n"));
}

static void
test_empty_and_forget (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(AugurMetrics) empty = augur_metrics_new ();
        g_autoptr(GString) s = g_string_new (NULL);
        g_autoptr(GString) e = g_string_new (NULL);

        augur_metrics_forget (m, "22222222-0000-0000-0000-000000000000");
        augur_metrics_format (m, s);
        check_shape (s->str);
        g_assert_null (strstr (s->str, "22222222"));
        augur_metrics_format (empty, e);
        check_shape (e->str);
        g_assert_nonnull (strstr (e->str, "# TYPE augur_guest_memory_used_bytes gauge\n"));
        g_assert_nonnull (strstr (e->str, "augur_ticks_total 0\n"));
        /* before the first tick and the first connection: not exported */
        g_assert_null (strstr (e->str, "augur_last_tick_timestamp_seconds"));
        g_assert_null (strstr (e->str, "augur_libvirt_connected"));
        g_assert_null (strstr (e->str, "augur_host_plan_"));
}

/* A real parser: promtool check metrics (Debian package prometheus). */
static void
test_promtool (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GString) s = g_string_new (NULL);
        g_autofree char *promtool = g_find_program_in_path ("promtool");
        g_autoptr(GSubprocess) p = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) in = NULL, out = NULL, err = NULL;

        if (!promtool) {
                g_test_skip ("promtool not installed (apt-get install prometheus)");
                return;
        }
        augur_metrics_format (m, s);
        in = g_bytes_new (s->str, s->len);
        p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, promtool, "check", "metrics", NULL);
        g_assert_no_error (error);
        g_assert_true (g_subprocess_communicate (p, in, NULL, &out, &err, &error));
        g_assert_no_error (error);
        g_test_message ("promtool: %.*s %.*s", (int) g_bytes_get_size (out), (const char *) g_bytes_get_data (out, NULL),
                        (int) g_bytes_get_size (err), (const char *) g_bytes_get_data (err, NULL));
        /* promtool exits 0 when the exposition parses (lint remarks on
         * names would make it 3; we have none). */
        g_assert_true (g_subprocess_get_if_exited (p));
        g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
}

/* ---- the HTTP endpoint ---- */

static void
test_parse_request (void)
{
        static const struct {
                const char *in;
                guint status;
                gboolean head;
        } rows[] = {
                { "", 0, FALSE },
                { "GET /metrics HTTP/1.1\r\n", 0, FALSE },                   /* head not ended */
                { "GET /metrics HTTP/1.1\r\nHost: a\r\n", 0, FALSE },
                { "GET /metrics HTTP/1.1\r\n\r\n", 200, FALSE },
                { "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", 200, FALSE },
                { "GET /metrics HTTP/1.0\n\n", 200, FALSE },                  /* bare LF */
                { "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 200, TRUE },
                { "GET /metrics?name=x HTTP/1.1\r\n\r\n", 200, FALSE },
                { "GET http://127.0.0.1:9848/metrics HTTP/1.1\r\n\r\n", 200, FALSE },
                { "GET HTTP://localhost/metrics?a HTTP/1.1\r\n\r\n", 200, FALSE },
                { "GET http://127.0.0.1:9848 HTTP/1.1\r\n\r\n", 404, FALSE },
                { "GET / HTTP/1.1\r\n\r\n", 404, FALSE },
                { "GET /metric HTTP/1.1\r\n\r\n", 404, FALSE },               /* N-1 */
                { "GET /metricsx HTTP/1.1\r\n\r\n", 404, FALSE },             /* N+1 */
                { "GET /metrics/ HTTP/1.1\r\n\r\n", 404, FALSE },
                { "GET /../metrics HTTP/1.1\r\n\r\n", 404, FALSE },
                { "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405, FALSE },
                { "get /metrics HTTP/1.1\r\n\r\n", 405, FALSE },              /* methods are case-sensitive */
                { "HEAD / HTTP/1.1\r\n\r\n", 404, FALSE },
                { "GET /metrics HTTP/2.0\r\n\r\n", 505, FALSE },
                { "GET /metrics HTTP/0.9\r\n\r\n", 505, FALSE },
                /* a bad request line is answered as soon as it is whole */
                { "GET /metrics\r\n", 400, FALSE },                           /* HTTP/0.9 form */
                { "GET  /metrics HTTP/1.1\r\n", 400, FALSE },
                { "GET /metrics HTTP/1.1 x\r\n", 400, FALSE },
                { "GET /metrics HTTP/1.10\r\n", 400, FALSE },
                { "GET /metrics http/1.1\r\n", 400, FALSE },
                { "GE(T /metrics HTTP/1.1\r\n", 400, FALSE },
                { "GET\t/metrics HTTP/1.1\r\n", 400, FALSE },
                { "GET /metrics\rX HTTP/1.1\r\n", 400, FALSE },
                { " GET /metrics HTTP/1.1\r\n", 400, FALSE },
                { "\r\n", 400, FALSE },
                { "\n", 400, FALSE },
                { "garbage\n", 400, FALSE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                gboolean head = !rows[i].head;

                g_test_message ("row %zu: %s", i, rows[i].in);
                g_assert_cmpuint (augur_metrics_parse_request (rows[i].in, strlen (rows[i].in), &head), ==,
                                  rows[i].status);
                g_assert_cmpint (head, ==, rows[i].head);
        }
        /* a NUL in the request line */
        {
                static const char nul[] = "GET /met\0rics HTTP/1.1\r\n\r\n";
                gboolean head;

                g_assert_cmpuint (augur_metrics_parse_request (nul, sizeof nul - 1, &head), ==, 400);
        }
}

/* The head limit, N-1 / N / N+1 bytes: an unended head is "more" below
 * the limit and 431 at it; a head that ends exactly at the limit is served. */
static void
test_parse_request_limit (void)
{
        static const char line[] = "GET /metrics HTTP/1.1\r\nX-Pad: ";
        const gsize max = AUGUR_METRICS_MAX_REQUEST_BYTES;
        g_autofree char *buf = g_malloc (max + 2);
        gboolean head;

        memcpy (buf, line, strlen (line));
        memset (buf + strlen (line), 'a', max + 2 - strlen (line));
        g_assert_cmpuint (augur_metrics_parse_request (buf, max - 1, &head), ==, 0);
        g_assert_cmpuint (augur_metrics_parse_request (buf, max, &head), ==, 431);
        g_assert_cmpuint (augur_metrics_parse_request (buf, max + 1, &head), ==, 431);
        memcpy (buf + max - 4, "\r\n\r\n", 4);
        g_assert_cmpuint (augur_metrics_parse_request (buf, max, &head), ==, 200);
        /* a request line longer than the limit */
        memset (buf, 'G', max + 2);
        g_assert_cmpuint (augur_metrics_parse_request (buf, max, &head), ==, 431);
}

/* A client on the test's own main context: connect (blocking: loopback
 * completes it in the kernel, before accept), send the request, then read
 * from a GSource until the server closes. */
typedef struct {
        GString *in;                    /* everything received               */
        gboolean done;                  /* EOF or error                      */
        gboolean reset;                 /* ended by an error (RST)           */
} Reply;

static gboolean
reply_io (GSocket *sock, GIOCondition cond, gpointer data)
{
        Reply *r = data;
        char buf[16384];
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_receive_with_blocking (sock, buf, sizeof buf, FALSE, NULL, &error);

        if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                return G_SOURCE_CONTINUE;
        if (n > 0) {
                g_string_append_len (r->in, buf, n);
                return G_SOURCE_CONTINUE;
        }
        r->reset = n < 0;
        r->done = TRUE;
        return G_SOURCE_REMOVE;
}

/* The address requests go to: 127.0.0.1 unless a test says otherwise. */
static const char *request_addr = "127.0.0.1";

static GSocket *
connect_to (guint port)
{
        g_autoptr(GInetAddress) lo = g_inet_address_new_from_string (request_addr);
        g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, (guint16) port);
        g_autoptr(GError) error = NULL;
        GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

        g_assert_no_error (error);
        g_assert_true (g_socket_connect (sock, addr, NULL, &error));
        g_assert_no_error (error);
        return sock;
}

static gboolean
on_test_timeout (gpointer data)
{
        g_error ("test timed out waiting for %s", (const char *) data);
        return G_SOURCE_REMOVE;
}

/* Send req (len bytes) on a new connection and return (transfer full)
 * whatever comes back before the server closes. */
static GString *
request_len (guint port, const char *req, gsize len)
{
        g_autoptr(GSocket) sock = connect_to (port);
        g_autoptr(GError) error = NULL;
        Reply r = { g_string_new (NULL), FALSE, FALSE };
        GSource *src, *timeout;

        g_assert_cmpint (g_socket_send (sock, req, len, NULL, &error), ==, (gssize) len);
        g_assert_no_error (error);
        g_socket_set_blocking (sock, FALSE);
        src = g_socket_create_source (sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback (src, G_SOURCE_FUNC (reply_io), &r, NULL);
        g_source_attach (src, NULL);
        timeout = g_timeout_source_new_seconds (10);
        g_source_set_callback (timeout, on_test_timeout, (gpointer) "a response", NULL);
        g_source_attach (timeout, NULL);
        while (!r.done)
                g_main_context_iteration (NULL, TRUE);
        g_source_destroy (src);
        g_source_unref (src);
        g_source_destroy (timeout);
        g_source_unref (timeout);
        return r.in;
}

static GString *
request (guint port, const char *req)
{
        return request_len (port, req, strlen (req));
}

/* Split a response: returns the status; ret_body points into resp. */
static guint
response_status (const GString *resp, const char **ret_body)
{
        const char *end = strstr (resp->str, "\r\n\r\n");
        guint status = 0;

        g_assert_true (g_str_has_prefix (resp->str, "HTTP/1.1 "));
        g_assert_nonnull (end);
        status = (guint) g_ascii_strtoull (resp->str + 9, NULL, 10);
        *ret_body = end + 4;
        return status;
}

/* The value of header name (case-insensitive), (transfer full), or NULL. */
static char *
response_header (const GString *resp, const char *name)
{
        g_autofree char *head = g_strndup (resp->str, (gsize) (strstr (resp->str, "\r\n\r\n") - resp->str));
        g_auto(GStrv) lines = g_strsplit (head, "\r\n", -1);

        for (guint i = 1; lines[i]; i++) {
                char *colon = strchr (lines[i], ':');

                if (colon && (gsize) (colon - lines[i]) == strlen (name) &&
                    g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0)
                        return g_strdup (g_strstrip (colon + 1));
        }
        return NULL;
}

static void
test_serve (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GError) error = NULL;
        g_autoptr(GString) ok = NULL, head = NULL, old = NULL, missing = NULL, post = NULL, bad = NULL;
        g_autofree char *ctype = NULL, *clen = NULL, *conn = NULL, *hlen = NULL, *allow = NULL;
        g_autoptr(GString) expect = g_string_new (NULL);
        const char *body;
        guint port;

        g_assert_cmpuint (augur_metrics_get_port (m), ==, 0);
        g_assert_true (augur_metrics_serve (m, 0, &error));
        g_assert_no_error (error);
        port = augur_metrics_get_port (m);
        g_assert_cmpuint (port, >, 0);
        augur_metrics_format (m, expect);

        ok = request (port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
        g_assert_cmpuint (response_status (ok, &body), ==, 200);
        ctype = response_header (ok, "content-type");
        clen = response_header (ok, "Content-Length");
        conn = response_header (ok, "Connection");
        g_assert_cmpstr (ctype, ==, AUGUR_METRICS_CONTENT_TYPE);
        g_assert_cmpstr (conn, ==, "close");
        g_assert_cmpuint (g_ascii_strtoull (clen, NULL, 10), ==, strlen (body));
        g_assert_cmpstr (body, ==, expect->str);

        head = request (port, "HEAD /metrics HTTP/1.1\r\n\r\n");
        g_assert_cmpuint (response_status (head, &body), ==, 200);
        hlen = response_header (head, "Content-Length");
        g_assert_cmpstr (hlen, ==, clen);
        g_assert_cmpstr (body, ==, "");

        old = request (port, "GET /metrics?x=1 HTTP/1.0\n\n");
        g_assert_cmpuint (response_status (old, &body), ==, 200);

        missing = request (port, "GET / HTTP/1.1\r\n\r\n");
        g_assert_cmpuint (response_status (missing, &body), ==, 404);
        g_assert_cmpstr (body, ==, "404 Not Found\n");

        post = request (port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        g_assert_cmpuint (response_status (post, &body), ==, 405);
        allow = response_header (post, "Allow");
        g_assert_cmpstr (allow, ==, "GET, HEAD");

        /* answered at once, without waiting for a head that never ends */
        bad = request (port, "hello\r\n");
        g_assert_cmpuint (response_status (bad, &body), ==, 400);
        g_assert_cmpuint (augur_metrics_get_n_clients (m), ==, 0);
}

/* Guest names stay out unless asked for (metrics.h, WHO SEES WHAT). */
static void
test_names (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GString) hidden = g_string_new (NULL);
        g_autoptr(GString) shown = g_string_new (NULL);

        augur_metrics_set_names (m, FALSE);
        augur_metrics_format (m, hidden);
        check_shape (hidden->str);
        g_assert_null (strstr (hidden->str, "domain=\"db\""));
        g_assert_null (strstr (hidden->str, "web"));
        g_assert_nonnull (strstr (hidden->str, "augur_guest_memory_allocation_bytes{domain=\"11111111-0000-0000-0000-000000000000\","
                                               "uuid=\"11111111-0000-0000-0000-000000000000\"} 1073741824\n"));
        g_assert_nonnull (strstr (hidden->str, "augur_actions_total{domain=\"22222222-0000-0000-0000-000000000000\","));
        augur_metrics_set_names (m, TRUE);
        augur_metrics_format (m, shown);
        g_assert_nonnull (strstr (shown->str, "domain=\"db\""));
        /* the default of a new registry hides them */
        {
                g_autoptr(AugurMetrics) fresh = augur_metrics_new ();
                g_autoptr(GString) s = g_string_new (NULL);

                augur_metrics_set_guest (fresh, "33333333-0000-0000-0000-000000000000", "secret-name", 1, 2, 3, 4);
                augur_metrics_format (fresh, s);
                g_assert_null (strstr (s->str, "secret-name"));
        }
}

static void
wait_for_clients (const AugurMetrics *m, guint n)
{
        GSource *timeout = g_timeout_source_new_seconds (10);

        g_source_set_callback (timeout, on_test_timeout, (gpointer) "the connection count", NULL);
        g_source_attach (timeout, NULL);
        while (augur_metrics_get_n_clients (m) != n)
                g_main_context_iteration (NULL, TRUE);
        g_source_destroy (timeout);
        g_source_unref (timeout);
}

/* Head size, connection cap and deadline. */
static void
test_serve_limits (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        AugurMetricsServeOptions opts = { .max_clients = 2, .timeout_ms = 300 };
        g_autoptr(GError) error = NULL;
        g_autoptr(GString) big_req = g_string_new ("GET /metrics HTTP/1.1\r\n");
        g_autoptr(GString) big = NULL, busy = NULL, after = NULL, slow = NULL;
        g_autoptr(GSocket) idle1 = NULL, idle2 = NULL;
        const char *body;
        gint64 t0;
        guint port;

        g_assert_true (augur_metrics_serve_full (m, 0, &opts, &error));
        g_assert_no_error (error);
        port = augur_metrics_get_port (m);

        /* a head that never ends within the limit: 431, connection closed */
        while (big_req->len < AUGUR_METRICS_MAX_REQUEST_BYTES + 1000)
                g_string_append (big_req, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        big = request_len (port, big_req->str, big_req->len);
        g_assert_cmpuint (response_status (big, &body), ==, 431);

        /* two idle connections fill the cap; a third is refused at once */
        idle1 = connect_to (port);
        idle2 = connect_to (port);
        wait_for_clients (m, 2);
        busy = request (port, "GET /metrics HTTP/1.1\r\n\r\n");
        g_assert_cmpuint (response_status (busy, &body), ==, 503);
        g_assert_cmpuint (augur_metrics_get_n_clients (m), ==, 2);

        /* the deadline frees the slots */
        t0 = g_get_monotonic_time ();
        wait_for_clients (m, 0);
        g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
        after = request (port, "GET /metrics HTTP/1.1\r\n\r\n");
        g_assert_cmpuint (response_status (after, &body), ==, 200);

        /* a head sent too slowly is cut off at the deadline, unanswered */
        {
                g_autoptr(GSocket) s = connect_to (port);

                g_assert_cmpint (g_socket_send (s, "GET /metrics HTTP/1.1\r\n", 23, NULL, NULL), ==, 23);
                wait_for_clients (m, 1);
                wait_for_clients (m, 0);
                g_socket_set_blocking (s, FALSE);
                {
                        char buf[64];
                        gssize n = g_socket_receive (s, buf, sizeof buf, NULL, NULL);

                        g_assert_cmpint (n, <=, 0);   /* EOF (or RST), no answer */
                }
        }
}

/* VmRSS of this process, KiB. */
static gint64
rss_kib (void)
{
        g_autofree char *status = NULL;
        const char *p;

        g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
        p = strstr (status, "VmRSS:");
        g_assert_nonnull (p);
        return g_ascii_strtoll (p + 6, NULL, 10);
}

/* The leak libsoup 3.2 had (one GSocket per connection, ~340 bytes;
 * metrics.c, WHY NOT LIBSOUP): 20 000 scrapes after a warm-up must not
 * move RSS by 1 MiB (the leak would add ~6.5 MiB).  Client and server
 * share this process and its main loop, so this measures both; each
 * request frees all it made. */
#define LEAK_WARMUP 2000
#define LEAK_REQUESTS 20000

/* ASan keeps freed blocks in quarantine (256 MiB by default), so under it
 * RSS grows whatever the code does; LeakSanitizer checks leaks there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void
test_serve_no_leak (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GError) error = NULL;
        gint64 before, after, t0;
        guint port;

#ifdef UNDER_ASAN
        g_test_skip ("RSS says nothing under ASan (quarantine); LeakSanitizer checks this build");
        return;
#endif
        g_assert_true (augur_metrics_serve (m, 0, &error));
        g_assert_no_error (error);
        port = augur_metrics_get_port (m);
        for (guint i = 0; i < LEAK_WARMUP; i++) {
                g_autoptr(GString) r = request (port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

                g_assert_true (g_str_has_prefix (r->str, "HTTP/1.1 200 "));
        }
        before = rss_kib ();
        t0 = g_get_monotonic_time ();
        for (guint i = 0; i < LEAK_REQUESTS; i++) {
                g_autoptr(GString) r = request (port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

                g_assert_true (g_str_has_prefix (r->str, "HTTP/1.1 200 "));
        }
        after = rss_kib ();
        g_test_message ("RSS %" G_GINT64_FORMAT " KiB -> %" G_GINT64_FORMAT " KiB over %d requests (%.1f s)",
                        before, after, LEAK_REQUESTS, (g_get_monotonic_time () - t0) / 1e6);
        g_assert_cmpint (after - before, <, 1024);
        g_assert_cmpuint (augur_metrics_get_n_clients (m), ==, 0);
}

/* [metrics] bind: the word list is checked, and the endpoint answers on
 * every address given and on no other.  Two loopback addresses stand in
 * for a host's interfaces (Linux answers all of 127/8). */
static void
test_bind (void)
{
        static const char *const bad[] = { "", " , ", "localhost", "10.0.0.1, 10.0.0.1",
                                           "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", "300.1.1.1" };
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) addrs = NULL;
        AugurMetricsServeOptions opts = { .bind = "127.0.0.1, 127.0.0.2" };
        guint port;

        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_autoptr(GError) e = NULL;
                g_auto(GStrv) a = NULL;

                g_assert_false (augur_metrics_parse_bind (bad[i], &a, &e));
                g_assert_nonnull (e);
                g_test_message ("'%s': %s", bad[i], e->message);
        }
        g_assert_true (augur_metrics_parse_bind ("0.0.0.0,::  192.168.1.5", &addrs, &error));
        g_assert_cmpuint (g_strv_length (addrs), ==, 3);
        g_assert_cmpstr (addrs[1], ==, "::");

        g_assert_true (augur_metrics_serve_full (m, 0, &opts, &error));
        g_assert_no_error (error);
        port = augur_metrics_get_port (m);
        for (const char *const *a = (const char *const[]) { "127.0.0.1", "127.0.0.2", NULL }; *a; a++) {
                g_autoptr(GString) r = NULL;
                const char *body;

                request_addr = *a;
                r = request (port, "GET /metrics HTTP/1.1\r\n\r\n");
                g_assert_cmpuint (response_status (r, &body), ==, 200);
        }
        request_addr = "127.0.0.1";
        /* 127.0.0.3 was not asked for: refused */
        {
                g_autoptr(GInetAddress) other = g_inet_address_new_from_string ("127.0.0.3");
                g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (other, (guint16) port);
                g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                        G_SOCKET_PROTOCOL_TCP, NULL);
                g_autoptr(GError) e = NULL;

                g_assert_false (g_socket_connect (sock, addr, NULL, &e));
                g_assert_error (e, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/metrics/escape", test_escape);
        g_test_add_func ("/metrics/format/families", test_format);
        g_test_add_func ("/metrics/format/empty-and-forget", test_empty_and_forget);
        g_test_add_func ("/metrics/format/promtool", test_promtool);
        g_test_add_func ("/metrics/serve/bind", test_bind);
        g_test_add_func ("/metrics/format/names", test_names);
        g_test_add_func ("/metrics/http/parse", test_parse_request);
        g_test_add_func ("/metrics/http/parse-limit", test_parse_request_limit);
        g_test_add_func ("/metrics/serve", test_serve);
        g_test_add_func ("/metrics/serve/limits", test_serve_limits);
        g_test_add_func ("/metrics/serve/no-leak", test_serve_no_leak);
        return g_test_run ();
}
