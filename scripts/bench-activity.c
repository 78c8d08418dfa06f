/* bench-activity.c — throughput and memory of the activity report parser
 * and line reader (plugin/activity-parse.c).  Prints reports/s and peak RSS.
 *
 * What it measures, single thread:
 *   1. parse      augur_activity_parse_line() on a full report as augur-guest
 *                 writes it (415 bytes, 5 top programs) and on a minimal one;
 *   2. json-glib  JsonParser on the same full report, for comparison (why the
 *                 module has its own parser: activity-parse.h);
 *   3. flood      a stream of full reports fed through an AugurActivityReader
 *                 with the clock frozen, i.e. what one hostile guest flooding
 *                 its channel costs: framing + token bucket (nearly all
 *                 lines are dropped before parsing);
 *   4. all parsed the same stream line by line with the rate limit out of
 *                 the way (time advances 1 s per line): framed AND parsed;
 *   then peak RSS (getrusage) — it must not grow with the amount fed.
 * What it is not: a test (test-activity checks the bounds and counts).
 *
 * Build (in a built tree):
 *   gcc -O2 -I. -Iplugin -Icommon scripts/bench-activity.c plugin/activity-parse.c \
 *     common/libaugur-common.a \
 *     $(pkg-config --cflags --libs glib-2.0 gio-2.0 json-glib-1.0) -lm -o bench-activity
 * Usage: bench-activity [SECONDS_PER_CASE]   (default 2)
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "activity-parse.h"

static const char *const full =
        "{\"v\":1,\"seq\":12345,\"interval_ms\":5000,\"dropped\":0,\"input_src\":\"irq\","
        "\"input_events_per_min\":12.5,\"sessions\":2,\"users\":1,\"user_sessions\":[0,2,0,0],"
        "\"proc_starts_per_min\":36.0,"
        "\"net_rx_bytes\":123456789,\"net_tx_bytes\":98765432,\"load1\":0.25,\"psi_cpu\":1.50,"
        "\"psi_mem\":0.00,\"psi_io\":0.30,\"top\":[{\"comm\":\"firefox-esr\",\"cpu_pct\":45.2},"
        "{\"comm\":\"Xorg\",\"cpu_pct\":12.1},{\"comm\":\"pulseaudio\",\"cpu_pct\":3.3},"
        "{\"comm\":\"kworker/0:1\",\"cpu_pct\":0.4},{\"comm\":\"sh\",\"cpu_pct\":0.1}]}";
static const char *const minimal = "{\"v\":1,\"seq\":1,\"interval_ms\":5000}";

static long
peak_rss_kib (void)
{
        struct rusage ru;

        getrusage (RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

static double
bench_parse (const char *line, double seconds)
{
        gsize len = strlen (line);
        gint64 t0 = g_get_monotonic_time (), t;
        guint64 n = 0;
        AugurActivityReport r;

        do {
                for (int i = 0; i < 10000; i++) {
                        if (!augur_activity_parse_line (line, len, &r, NULL))
                                abort ();
                }
                n += 10000;
                t = g_get_monotonic_time ();
        } while (t - t0 < seconds * 1e6);
        return n / ((t - t0) / 1e6);
}

static double
bench_json_glib (const char *line, double seconds)
{
        g_autoptr(JsonParser) p = json_parser_new_immutable ();
        gsize len = strlen (line);
        gint64 t0 = g_get_monotonic_time (), t;
        guint64 n = 0;

        do {
                for (int i = 0; i < 1000; i++)
                        if (!json_parser_load_from_data (p, line, (gssize) len, NULL))
                                abort ();
                n += 1000;
                t = g_get_monotonic_time ();
        } while (t - t0 < seconds * 1e6);
        return n / ((t - t0) / 1e6);
}

static void
count_cb (const AugurActivityReport *r, gint64 now_us, gpointer data)
{
        (*(guint64 *) data)++;
}

/* Feed a 64 KiB block of full reports over and over; advance_us per block
 * line keeps (or not) the token bucket in the way. */
static double
bench_stream (double seconds, gboolean rate_limited, guint64 *ret_lines,
              guint64 *ret_accepted, double *ret_mib_s, gsize *ret_max_buffered)
{
        g_autoptr(AugurActivityReader) rd = NULL;
        g_autoptr(GString) block = g_string_new (NULL);
        const AugurActivityCounters *c;
        guint64 accepted = 0;
        gint64 t0, t, now = 0;
        gsize lines_per_block = 0, max_buf = 0;

        while (block->len + strlen (full) + 1 < 65536) {
                g_string_append (block, full);
                g_string_append_c (block, '\n');
                lines_per_block++;
        }
        rd = augur_activity_reader_new ("bench", count_cb, &accepted);
        c = augur_activity_reader_counters (rd);
        t0 = g_get_monotonic_time ();
        do {
                for (int i = 0; i < 16; i++) {
                        if (rate_limited) {
                                /* 4 KiB reads, as the daemon's read loop does */
                                for (gsize off = 0; off < block->len; off += 4096)
                                        augur_activity_reader_feed (rd, block->str + off,
                                                                    MIN (4096, block->len - off), now);
                        } else {
                                /* one line per simulated second: every line is parsed */
                                gsize ll = strlen (full) + 1;

                                for (gsize off = 0; off + ll <= block->len; off += ll) {
                                        augur_activity_reader_feed (rd, block->str + off, ll, now);
                                        now += G_USEC_PER_SEC;
                                }
                        }
                        max_buf = MAX (max_buf, augur_activity_reader_buffered (rd));
                }
                t = g_get_monotonic_time ();
        } while (t - t0 < seconds * 1e6);
        *ret_lines = c->lines;
        *ret_accepted = c->accepted;
        *ret_mib_s = c->bytes_read / 1048576.0 / ((t - t0) / 1e6);
        *ret_max_buffered = max_buf;
        return c->lines / ((t - t0) / 1e6);
}

static GLogWriterOutput
quiet (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
        return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
        double secs = argc > 1 ? g_ascii_strtod (argv[1], NULL) : 2.0;
        guint64 lines, accepted;
        double rate, mib_s;
        gsize max_buf;
        long rss0;

        if (secs <= 0)
                secs = 2.0;
        g_log_set_writer_func (quiet, NULL, NULL);
        rss0 = peak_rss_kib ();
        printf ("report: %zu bytes (5 top programs); minimal: %zu bytes\n", strlen (full), strlen (minimal));
        printf ("parse full        %12.0f reports/s\n", bench_parse (full, secs));
        printf ("parse minimal     %12.0f reports/s\n", bench_parse (minimal, secs));
        printf ("json-glib full    %12.0f reports/s (JsonParser, for comparison)\n", bench_json_glib (full, secs));
        rate = bench_stream (secs, TRUE, &lines, &accepted, &mib_s, &max_buf);
        printf ("flood, limited    %12.0f lines/s  %7.1f MiB/s  (%" G_GUINT64_FORMAT " lines, %" G_GUINT64_FORMAT
                " accepted, max buffered %zu B)\n", rate, mib_s, lines, accepted, max_buf);
        rate = bench_stream (secs, FALSE, &lines, &accepted, &mib_s, &max_buf);
        printf ("stream all parsed %12.0f reports/s %6.1f MiB/s  (%" G_GUINT64_FORMAT " lines, %" G_GUINT64_FORMAT
                " accepted, max buffered %zu B)\n", rate, mib_s, lines, accepted, max_buf);
        printf ("peak RSS          %12ld KiB (%ld KiB at start)\n", peak_rss_kib (), rss0);
        return 0;
}
