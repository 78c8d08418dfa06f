/* test-metrics.c — plugin/metrics.c: label escaping, the 0.0.4 text
 * exposition (HELP/TYPE once per family, samples grouped, units), what a
 * real parser says about it (promtool, when installed), and the libsoup
 * endpoint on an ephemeral loopback port. */
#include "config.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
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
        AugurForecast f = { .H = 2, .step_s = 60, .model = "lstm" };

        f.mem_p50_kib[0] = 1000;
        f.mem_p50_kib[1] = 1100;
        f.mem_upper_kib[0] = 1500;
        f.mem_upper_kib[1] = NAN;          /* not exported */
        f.cpu_p50_cores[0] = 0.5;
        f.cpu_p50_cores[1] = 0.25;
        f.cpu_upper_cores[0] = 1;
        f.cpu_upper_cores[1] = 1.5;
        augur_metrics_set_guest (m, "22222222-0000-0000-0000-000000000000", "web\"1\\\n",
                                 262144, 524288, 0.75, 2);
        augur_metrics_set_forecast (m, "22222222-0000-0000-0000-000000000000", &f);
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
        /* forecasts per horizon and bound */
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"60\",bound=\"p50\"} 1024000\n"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"120\",bound=\"p50\"} 1126400\n"));
        g_assert_nonnull (strstr (s->str, ",horizon_seconds=\"60\",bound=\"upper\"} 1536000\n"));
        g_assert_null (strstr (s->str, ",horizon_seconds=\"120\",bound=\"upper\"} NaN"));
        g_assert_nonnull (strstr (s->str, "augur_guest_cpu_forecast_cores{domain=\"web"));
        /* counters accumulate by label set; dropped reports are totals */
        g_assert_nonnull (strstr (s->str, ",resource=\"memory\",action=\"grow\",reason=\"forecast-grow\"} 2\n"));
        g_assert_nonnull (strstr (s->str, ",resource=\"vcpus\",action=\"recommend-up\",reason=\"none\"} 1\n"));
        g_assert_nonnull (strstr (s->str, "augur_guest_reports_dropped_total{domain=\"db\","
                                          "uuid=\"11111111-0000-0000-0000-000000000000\",reason=\"rate\"} 7\n"));
        g_assert_nonnull (strstr (s->str, ",resource=\"memory\",source=\"best_baseline\"} 3.5\n"));
        g_assert_nonnull (strstr (s->str, ",resource=\"cpu\",source=\"model\"} 2.25\n"));
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

typedef struct {
        GMainLoop *loop;
        GBytes *body;
        guint status;
        char *content_type;
} Fetch;

static void
fetched (GObject *source, GAsyncResult *res, gpointer data)
{
        Fetch *f = data;
        SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), res);
        g_autoptr(GError) error = NULL;

        f->body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
        g_assert_no_error (error);
        f->status = soup_message_get_status (msg);
        f->content_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL));
        g_main_loop_quit (f->loop);
}

static void
fetch (guint port, const char *path, Fetch *f)
{
        g_autoptr(SoupSession) session = soup_session_new ();
        g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
        g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

        f->loop = g_main_loop_new (NULL, FALSE);
        soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, fetched, f);
        g_main_loop_run (f->loop);
        g_main_loop_unref (f->loop);
}

static void
test_serve (void)
{
        g_autoptr(AugurMetrics) m = sample_registry ();
        g_autoptr(GError) error = NULL;
        Fetch ok = { 0 }, missing = { 0 };
        guint port;

        g_assert_true (augur_metrics_serve (m, 0, &error));
        g_assert_no_error (error);
        port = augur_metrics_get_port (m);
        g_assert_cmpuint (port, >, 0);
        fetch (port, "/metrics", &ok);
        g_assert_cmpuint (ok.status, ==, 200);
        g_assert_cmpstr (ok.content_type, ==, "text/plain");
        g_assert_nonnull (g_strstr_len (g_bytes_get_data (ok.body, NULL), g_bytes_get_size (ok.body),
                                        "augur_guest_memory_allocation_bytes{domain=\"db\""));
        fetch (port, "/", &missing);
        g_assert_cmpuint (missing.status, ==, 404);
        g_bytes_unref (ok.body);
        g_bytes_unref (missing.body);
        g_free (ok.content_type);
        g_free (missing.content_type);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/metrics/escape", test_escape);
        g_test_add_func ("/metrics/format/families", test_format);
        g_test_add_func ("/metrics/format/empty-and-forget", test_empty_and_forget);
        g_test_add_func ("/metrics/format/promtool", test_promtool);
        g_test_add_func ("/metrics/serve", test_serve);
        return g_test_run ();
}
