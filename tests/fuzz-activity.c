/* fuzz-activity.c — libFuzzer target for the activity report parser and the
 * line reader, and a plain fallback that runs it over files.
 *
 * Each input goes (1) whole through augur_activity_parse_line() and (2) as a
 * byte stream through an AugurActivityReader (framing, token bucket, parse).
 * Checked on every input:
 *   - no crash, no sanitizer report, no error outside AUGUR_ACTIVITY_ERROR;
 *   - DIFFERENTIAL: whatever the parser accepts, json-glib parses too and
 *     reads the same values (json-glib is more lenient, never stricter);
 *   - the reader's partial-line buffer never exceeds its cap.
 *
 * With libFuzzer (tests/run-fuzz-activity.sh does exactly this, bounded):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DAUGUR_FUZZ_LIBFUZZER \
 *     -I. -Iplugin -Icommon tests/fuzz-activity.c plugin/activity-parse.c \
 *     common/libaugur-common.a \
 *     $(pkg-config --cflags --libs glib-2.0 gio-2.0 json-glib-1.0) -lm -o fuzz-activity
 *   ./fuzz-activity -max_total_time=60 corpus/ tests/data/activity-corpus/
 *
 * Without libFuzzer (the automake build): a GTest program, with the driver
 * all targets share (fuzz-driver.h).
 *   fuzz-activity [FILE...]   runs each FILE (e.g. a crash reproducer); with
 *                             no FILE, every seed of tests/data/activity-corpus
 *                             and a deterministic set of mutations of each.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "activity-parse.h"
#include "fuzz-driver.h"

static void
die_mismatch (const char *what)
{
        g_printerr ("fuzz-activity: accepted line disagrees with json-glib: %s\n", what);
        abort ();
}

static JsonObject *
oracle_root (JsonParser *p, const guint8 *data, gsize size)
{
        JsonNode *root;

        if (!json_parser_load_from_data (p, (const char *) data, (gssize) size, NULL))
                die_mismatch ("json-glib refuses it");
        root = json_parser_get_root (p);
        if (!root || !JSON_NODE_HOLDS_OBJECT (root))
                die_mismatch ("not an object to json-glib");
        return json_node_get_object (root);
}

static void
oracle_int (JsonObject *o, const char *key, gboolean has, gint64 v)
{
        JsonNode *n = json_object_get_member (o, key);

        if (!has) {
                if (n && !JSON_NODE_HOLDS_NULL (n))
                        die_mismatch (key);
                return;
        }
        if (!n || json_node_get_value_type (n) != G_TYPE_INT64 || json_node_get_int (n) != v)
                die_mismatch (key);
}

static void
oracle_num (JsonObject *o, const char *key, gboolean has, double v)
{
        JsonNode *n = json_object_get_member (o, key);

        if (!has) {
                if (n && !JSON_NODE_HOLDS_NULL (n))
                        die_mismatch (key);
                return;
        }
        if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_double (n) != v)
                die_mismatch (key);
}

static void
oracle (const guint8 *data, gsize size, const AugurActivityReport *r)
{
        g_autoptr(JsonParser) p = json_parser_new ();
        JsonObject *o = oracle_root (p, data, size);
        JsonNode *top;

#define HAS(f) augur_activity_report_has (r, AUGUR_ACTIVITY_F_##f)
        oracle_int (o, "v", TRUE, r->version);
        oracle_int (o, "seq", TRUE, r->seq);
        oracle_int (o, "interval_ms", TRUE, r->interval_ms);
        oracle_int (o, "dropped", HAS (DROPPED), r->dropped);
        oracle_num (o, "input_events_per_min", HAS (INPUT_EVENTS), r->input_events_per_min);
        oracle_int (o, "sessions", HAS (SESSIONS), r->sessions);
        oracle_int (o, "users", HAS (USERS), r->users);
        oracle_num (o, "proc_starts_per_min", HAS (PROC_STARTS), r->proc_starts_per_min);
        oracle_int (o, "net_rx_bytes", HAS (NET_RX), r->net_rx_bytes);
        oracle_int (o, "net_tx_bytes", HAS (NET_TX), r->net_tx_bytes);
        oracle_num (o, "load1", HAS (LOAD1), r->load1);
        oracle_num (o, "psi_cpu", HAS (PSI_CPU), r->psi_cpu);
        oracle_num (o, "psi_mem", HAS (PSI_MEM), r->psi_mem);
        oracle_num (o, "psi_io", HAS (PSI_IO), r->psi_io);
        oracle_int (o, "oom_kill", HAS (OOM_KILL), r->oom_kill);
        {
                JsonNode *us = json_object_get_member (o, "user_sessions");

                if (HAS (USER_SESSIONS)) {
                        JsonArray *a;
                        gint64 sum = 0;

                        if (!us || !JSON_NODE_HOLDS_ARRAY (us))
                                die_mismatch ("user_sessions");
                        a = json_node_get_array (us);
                        if (json_array_get_length (a) != AUGUR_ACTIVITY_USER_BUCKETS)
                                die_mismatch ("user_sessions length");
                        for (guint b = 0; b < AUGUR_ACTIVITY_USER_BUCKETS; b++) {
                                if (json_array_get_int_element (a, b) != r->user_sessions[b])
                                        die_mismatch ("user_sessions entry");
                                sum += r->user_sessions[b];
                        }
                        if (!HAS (SESSIONS) || sum != r->sessions)
                                die_mismatch ("user_sessions do not add up");
                } else if (us && !JSON_NODE_HOLDS_NULL (us)) {
                        die_mismatch ("user_sessions present but unknown");
                }
        }
        top = json_object_get_member (o, "top");
        if (HAS (TOP)) {
                JsonArray *a;

                if (!top || !JSON_NODE_HOLDS_ARRAY (top))
                        die_mismatch ("top");
                a = json_node_get_array (top);
                if (json_array_get_length (a) != r->n_top)
                        die_mismatch ("top length");
                for (guint i = 0; i < r->n_top; i++) {
                        JsonObject *e = json_array_get_object_element (a, i);

                        if (g_strcmp0 (json_object_get_string_member (e, "comm"), r->top[i].comm) != 0 ||
                            json_object_get_double_member (e, "cpu_pct") != r->top[i].cpu_pct)
                                die_mismatch ("top entry");
                }
        } else if (top && !JSON_NODE_HOLDS_NULL (top)) {
                die_mismatch ("top present but unknown");
        }
#undef HAS
}

static void
on_report (const AugurActivityReport *r, gint64 now_us, gpointer user_data)
{
        (*(guint *) user_data)++;
}

static void
run_one (const guint8 *data, gsize size)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurActivityReader) rd = NULL;
        AugurActivityReport r;
        guint reports = 0;
        gsize off = 0, chunk = 1;
        gint64 now = 0;

        if (augur_activity_parse_line ((const char *) data, size, &r, &error)) {
                if (r.n_top > AUGUR_ACTIVITY_TOP_MAX || r.version != AUGUR_ACTIVITY_VERSION ||
                    (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_LOAD1) && !isfinite (r.load1)) ||
                    (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL) &&
                     (r.oom_kill < 0 || r.oom_kill > AUGUR_ACTIVITY_MAX_OOM_KILL)))
                        abort ();
                for (guint i = 0; i < r.n_top; i++)
                        if (strlen (r.top[i].comm) == 0 || strlen (r.top[i].comm) > AUGUR_ACTIVITY_COMM_MAX)
                                abort ();
                oracle (data, size, &r);
        } else if (!error || error->domain != AUGUR_ACTIVITY_ERROR ||
                   error->code < AUGUR_ACTIVITY_ERROR_MALFORMED ||
                   error->code > AUGUR_ACTIVITY_ERROR_VERSION) {
                abort ();
        }

        /* The same bytes as a stream, in growing chunks, time advancing. */
        rd = augur_activity_reader_new ("fuzz", on_report, &reports);
        while (off < size) {
                gsize n = MIN (chunk, size - off);

                augur_activity_reader_feed (rd, (const char *) data + off, n, now);
                if (augur_activity_reader_buffered (rd) > AUGUR_ACTIVITY_LINE_MAX - 1)
                        abort ();
                off += n;
                chunk = chunk * 2 + 1;
                now += 300000;
        }
        {
                const AugurActivityCounters *c = augur_activity_reader_counters (rd);

                if (c->accepted != reports || c->bytes_read != size ||
                    c->accepted + c->dropped_malformed + c->dropped_oversize +
                    c->dropped_rate + c->dropped_range != c->lines)
                        abort ();
        }
}

#ifdef AUGUR_FUZZ_LIBFUZZER

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
        /* The reader warns once per domain; a fuzzer needs no logs. */
        g_log_set_writer_func (g_log_writer_default, NULL, NULL);
        g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
        run_one (data, size);
        return 0;
}

#else /* !AUGUR_FUZZ_LIBFUZZER */

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
                return g_log_writer_standard_streams (level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
}

static const char replace[] = "{}[],:\"\\-0e.nu\n";
static const char insert[] = "0123456789\"\\";

int
main (int argc, char **argv)
{
        static const AugurFuzzTarget t = {
                .name = "fuzz-activity", .corpus = "activity-corpus", .mutations = 2000,
                .replace = replace, .n_replace = sizeof replace - 1,
                .insert = insert, .n_insert = sizeof insert - 1,
                .run_one = run_one, .writer = quiet_writer,
        };

        return augur_fuzz_main (&t, argc, argv);
}

#endif
