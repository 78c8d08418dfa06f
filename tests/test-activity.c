/* test-activity.c — the in-guest activity channel, host side
 * (plugin/activity.c, sql/store-activity.c).
 *
 * What it proves:
 *   /activity/parse/...     the parser accepts what augur-guest writes (and
 *                           turns its "top" / "user_sessions" into buckets)
 *                           refuses a hostile corpus with the documented
 *                           error code (activity.c "ERROR PRECEDENCE"),
 *                           boundaries tested in threes (N-1, N, N+1);
 *                           everything it accepts is valid JSON to json-glib
 *                           with the same values (differential oracle);
 *   /activity/corpus/...    one case per file of tests/data/activity-corpus
 *                           (the fuzzer's seeds): valid-* parse, the others
 *                           fail with the code their name starts with;
 *   /activity/reader/...    framing (any chunking gives the same result,
 *                           overlong lines skipped without being buffered),
 *                           the token bucket, and a flood through a
 *                           socketpair: the line buffer never exceeds its
 *                           cap and the drop counts add up (not a speed test);
 *   /activity/xml/...       finding the channel socket in live domain XML;
 *   /activity/guest/...     the real augur-guest binary (host build) on a utmp
 *                           file written here: its user_sessions are the
 *                           sessions folded by common/buckets.h's hash, so
 *                           the guest's copy of FNV-1a matches the host's;
 *                           its oom_kill is this kernel's /proc/vmstat one;
 *   /activity/store/...     the activity tables, sample filling (once),
 *                           rollups, drop counters, retention;
 *   /activity/daemon/...    AugurActivity end to end against libvirt's
 *                           test:///default driver and a fake QEMU socket:
 *                           connect, store, reconnect after the peer goes,
 *                           a domain without a channel, a stopped domain.
 */
#define _GNU_SOURCE    /* utmpxname(), _PATH_UTMPX */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <utmpx.h>

#include "activity.h"
#include "store.h"
#include "store-activity.h"
#include "store-decisions.h"
#include "store-test.h"
#include "testutil.h"

#define HDR "{\"v\":1,\"seq\":7,\"interval_ms\":5000"

/* Warnings are counted, not fatal: the module warns once per domain on
 * purpose, and the tests check exactly that. */
static guint n_warnings;

static GLogWriterOutput
count_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (level & G_LOG_LEVEL_WARNING)
                n_warnings++;
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return g_log_writer_standard_streams (level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
}

/* What augur-guest printed in a real run (top trimmed to three), with the
 * "oom_kill" a revision-3 augur-guest adds after "psi_io" (value made up:
 * that run had none). */
static const char *const guest_line =
        "{\"v\":1,\"seq\":0,\"interval_ms\":1002,\"dropped\":0,\"input_src\":\"irq\","
        "\"input_events_per_min\":12.0,\"sessions\":2,\"users\":1,\"user_sessions\":[0,2,0,0],"
        "\"proc_starts_per_min\":958.5,"
        "\"net_rx_bytes\":450636816,\"net_tx_bytes\":276076,\"load1\":3.86,\"psi_cpu\":30.30,"
        "\"psi_mem\":0.00,\"psi_io\":8.44,\"oom_kill\":3,\"top\":[{\"comm\":\"gzip\",\"cpu_pct\":92.9},"
        "{\"comm\":\"kworker/1:0H-kb\",\"cpu_pct\":7.0},{\"comm\":\"a\\\"b\\\\c\",\"cpu_pct\":1.0}]}";

/* ------------------------------------------------------ json-glib oracle */

static void
expect_int_member (JsonObject *o, const char *key, gboolean has, gint64 v)
{
        JsonNode *n = json_object_get_member (o, key);

        if (!has) {
                g_assert_true (n == NULL || JSON_NODE_HOLDS_NULL (n));
                return;
        }
        g_assert_nonnull (n);
        g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_INT64);
        g_assert_cmpint (json_node_get_int (n), ==, v);
}

static void
expect_num_member (JsonObject *o, const char *key, gboolean has, double v)
{
        JsonNode *n = json_object_get_member (o, key);

        if (!has) {
                g_assert_true (n == NULL || JSON_NODE_HOLDS_NULL (n));
                return;
        }
        g_assert_nonnull (n);
        g_assert_true (JSON_NODE_HOLDS_VALUE (n));
        g_assert_cmpfloat (json_node_get_double (n), ==, v);
}

/* Every line we accept must be JSON to json-glib, with the same values. */
static void
oracle_check (const char *buf, gsize len, const AugurActivityReport *r)
{
        g_autoptr(JsonParser) p = json_parser_new ();
        g_autoptr(GError) error = NULL;
        JsonObject *o;
        JsonNode *top;

        g_assert_true (json_parser_load_from_data (p, buf, (gssize) len, &error));
        g_assert_no_error (error);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
        o = json_node_get_object (json_parser_get_root (p));
        expect_int_member (o, "v", TRUE, r->version);
        expect_int_member (o, "seq", TRUE, r->seq);
        expect_int_member (o, "interval_ms", TRUE, r->interval_ms);
#define HAS(f) augur_activity_report_has (r, AUGUR_ACTIVITY_F_##f)
        expect_int_member (o, "dropped", HAS (DROPPED), r->dropped);
        expect_num_member (o, "input_events_per_min", HAS (INPUT_EVENTS), r->input_events_per_min);
        expect_int_member (o, "sessions", HAS (SESSIONS), r->sessions);
        expect_int_member (o, "users", HAS (USERS), r->users);
        expect_num_member (o, "proc_starts_per_min", HAS (PROC_STARTS), r->proc_starts_per_min);
        expect_int_member (o, "net_rx_bytes", HAS (NET_RX), r->net_rx_bytes);
        expect_int_member (o, "net_tx_bytes", HAS (NET_TX), r->net_tx_bytes);
        expect_num_member (o, "load1", HAS (LOAD1), r->load1);
        expect_num_member (o, "psi_cpu", HAS (PSI_CPU), r->psi_cpu);
        expect_num_member (o, "psi_mem", HAS (PSI_MEM), r->psi_mem);
        expect_num_member (o, "psi_io", HAS (PSI_IO), r->psi_io);
        expect_int_member (o, "oom_kill", HAS (OOM_KILL), r->oom_kill);
        {
                JsonNode *us = json_object_get_member (o, "user_sessions");

                if (!HAS (USER_SESSIONS)) {
                        g_assert_true (us == NULL || JSON_NODE_HOLDS_NULL (us));
                } else {
                        JsonArray *a = json_node_get_array (us);

                        g_assert_cmpuint (json_array_get_length (a), ==, AUGUR_ACTIVITY_USER_BUCKETS);
                        for (guint b = 0; b < AUGUR_ACTIVITY_USER_BUCKETS; b++)
                                g_assert_cmpint (json_array_get_int_element (a, b), ==, r->user_sessions[b]);
                }
        }
        top = json_object_get_member (o, "top");
        if (!HAS (TOP)) {
                g_assert_true (top == NULL || JSON_NODE_HOLDS_NULL (top));
        } else {
                JsonArray *a = json_node_get_array (top);

                g_assert_cmpuint (json_array_get_length (a), ==, r->n_top);
                for (guint i = 0; i < r->n_top; i++) {
                        JsonObject *e = json_array_get_object_element (a, i);

                        g_assert_cmpstr (json_object_get_string_member (e, "comm"), ==, r->top[i].comm);
                        g_assert_cmpfloat (json_object_get_double_member (e, "cpu_pct"), ==, r->top[i].cpu_pct);
                }
        }
#undef HAS
}

/* -1 = must parse; else the AugurActivityError code it must fail with. */
static void
check_line (const char *name, const char *buf, gsize len, int want)
{
        g_autoptr(GError) error = NULL;
        AugurActivityReport r;
        gboolean ok;

        g_test_message ("case %s", name);
        memset (&r, 0xa5, sizeof r);
        ok = augur_activity_parse_line (buf, len, &r, &error);
        if (want < 0) {
                if (!ok)
                        g_error ("case %s: refused: %s", name, error->message);
                g_assert_no_error (error);
                oracle_check (buf, len, &r);
                return;
        }
        if (ok)
                g_error ("case %s: accepted, want error code %d", name, want);
        g_assert_error (error, AUGUR_ACTIVITY_ERROR, want);
}

#define E_OK (-1)
#define E_MALFORMED AUGUR_ACTIVITY_ERROR_MALFORMED
#define E_OVERSIZE AUGUR_ACTIVITY_ERROR_OVERSIZE
#define E_RANGE AUGUR_ACTIVITY_ERROR_RANGE
#define E_VERSION AUGUR_ACTIVITY_ERROR_VERSION

/* ----------------------------------------------------------------- parse */

static void
test_parse_guest_line (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *top = NULL;
        AugurActivityReport r;

        g_assert_true (augur_activity_parse_line (guest_line, strlen (guest_line), &r, &error));
        g_assert_no_error (error);
        g_assert_cmpint (r.seq, ==, 0);
        g_assert_cmpint (r.interval_ms, ==, 1002);
        g_assert_cmpint (r.input_src, ==, AUGUR_ACTIVITY_INPUT_IRQ);
        g_assert_cmpfloat (r.input_events_per_min, ==, 12.0);
        g_assert_cmpint (r.sessions, ==, 2);
        g_assert_cmpint (r.users, ==, 1);
        g_assert_cmpfloat (r.proc_starts_per_min, ==, 958.5);
        g_assert_cmpint (r.net_rx_bytes, ==, 450636816);
        g_assert_cmpfloat (r.psi_io, ==, 8.44);
        g_assert_cmpint (r.oom_kill, ==, 3);
        g_assert_cmpuint (r.n_top, ==, 3);
        g_assert_cmpstr (r.top[0].comm, ==, "gzip");
        g_assert_cmpstr (r.top[1].comm, ==, "kworker/1:0H-kb");
        g_assert_cmpstr (r.top[2].comm, ==, "a\"b\\c");
        g_assert_cmpint (r.user_sessions[1], ==, 2);
        g_assert_cmpuint (r.present, ==, (1u << AUGUR_ACTIVITY_F_N) - 1);
        /* Buckets in trace units: the top programs' cpu_pct summed by
         * FNV-1a(comm) mod 8, the user buckets as sent. */
        {
                double prog[AUGUR_PROG_BUCKETS], user[AUGUR_USER_BUCKETS];
                double want[AUGUR_PROG_BUCKETS] = { 0 };

                augur_activity_report_buckets (&r, prog, user);
                for (guint i = 0; i < r.n_top; i++)
                        want[augur_bucket_of (r.top[i].comm, AUGUR_PROG_BUCKETS)] += (float) r.top[i].cpu_pct;
                for (guint b = 0; b < AUGUR_PROG_BUCKETS; b++)
                        g_assert_cmpfloat_with_epsilon (prog[b], want[b], 1e-4);
                /* gzip and a"b\c share bucket 5: 92.9 + 1.0 */
                g_assert_cmpuint (augur_bucket_of ("gzip", AUGUR_PROG_BUCKETS), ==, 5);
                g_assert_cmpuint (augur_bucket_of ("a\"b\\c", AUGUR_PROG_BUCKETS), ==, 5);
                g_assert_cmpfloat_with_epsilon (prog[5], 93.9, 1e-4);
                g_assert_cmpfloat (user[0], ==, 0);
                g_assert_cmpfloat (user[1], ==, 2);
        }
        oracle_check (guest_line, strlen (guest_line), &r);

        /* top_programs for the store: JSON that json-glib reads back. */
        top = augur_activity_top_to_json (&r);
        g_assert_nonnull (top);
        {
                g_autoptr(JsonParser) p = json_parser_new ();
                JsonArray *a;

                g_assert_true (json_parser_load_from_data (p, top, -1, NULL));
                a = json_node_get_array (json_parser_get_root (p));
                g_assert_cmpuint (json_array_get_length (a), ==, 3);
                g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 2), "comm"),
                                 ==, "a\"b\\c");
                for (guint i = 0; i < 3; i++)
                        g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (a, i), "cpu_pct"),
                                           ==, r.top[i].cpu_pct);
        }
        /* short numbers stay short */
        g_assert_nonnull (strstr (top, "\"cpu_pct\":7}"));
        g_assert_nonnull (strstr (top, "\"cpu_pct\":92.9}"));
}

static void
test_parse_minimal (void)
{
        g_autoptr(GError) error = NULL;
        AugurActivityReport r;
        const char *all_null = HDR ",\"dropped\":null,\"input_src\":null,\"input_events_per_min\":null,"
                "\"sessions\":null,\"users\":null,\"proc_starts_per_min\":null,\"net_rx_bytes\":null,"
                "\"net_tx_bytes\":null,\"load1\":null,\"psi_cpu\":null,\"psi_mem\":null,\"psi_io\":null,"
                "\"oom_kill\":null,\"top\":null}";

        g_assert_true (augur_activity_parse_line (HDR "}", strlen (HDR "}"), &r, &error));
        g_assert_cmpuint (r.present, ==, 0);
        g_assert_cmpint (r.seq, ==, 7);
        g_assert_true (augur_activity_parse_line (all_null, strlen (all_null), &r, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (r.present, ==, 0);
        /* an empty top is known and empty, not unknown */
        g_assert_true (augur_activity_parse_line (HDR ",\"top\":[]}", strlen (HDR ",\"top\":[]}"), &r, &error));
        g_assert_true (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_TOP));
        g_assert_cmpuint (r.n_top, ==, 0);
        /* key order does not matter, whitespace is JSON's, a trailing \r is fine */
        {
                const char *re = "{ \"interval_ms\" : 100 ,\t\"seq\":0, \"v\" : 1 }\r";

                check_line ("reordered", re, strlen (re), E_OK);
        }
}

typedef struct {
        const char *name;
        const char *line;
        int want;
} Case;

static const Case cases[] = {
        /* not a report at all */
        { "empty", "", E_MALFORMED },
        { "blank", "   ", E_MALFORMED },
        { "not-json", "hello world", E_MALFORMED },
        { "array", "[1,2,3]", E_MALFORMED },
        { "number", "1", E_MALFORMED },
        { "string", "\"v\"", E_MALFORMED },
        { "null", "null", E_MALFORMED },
        { "empty-object", "{}", E_MALFORMED },
        { "unterminated", HDR, E_MALFORMED },
        { "unterminated-string", HDR ",\"x\":\"abc}", E_MALFORMED },
        { "trailing-comma", HDR ",}", E_MALFORMED },
        { "trailing-data", HDR "} x", E_MALFORMED },
        { "two-objects", HDR "}" HDR "}", E_MALFORMED },
        { "single-quotes", "{'v':1,'seq':7,'interval_ms':5000}", E_MALFORMED },
        { "bare-key", "{v:1,\"seq\":7,\"interval_ms\":5000}", E_MALFORMED },
        { "comment", "//x\n" HDR "}", E_MALFORMED },
        { "missing-colon", "{\"v\" 1}", E_MALFORMED },
        /* missing required fields */
        { "no-v", "{\"seq\":7,\"interval_ms\":5000}", E_MALFORMED },
        { "no-seq", "{\"v\":1,\"interval_ms\":5000}", E_MALFORMED },
        { "no-interval", "{\"v\":1,\"seq\":7}", E_MALFORMED },
        { "null-seq", "{\"v\":1,\"seq\":null,\"interval_ms\":5000}", E_MALFORMED },
        /* versions */
        { "v2", "{\"v\":2,\"seq\":7,\"interval_ms\":5000}", E_VERSION },
        { "v0", "{\"v\":0,\"seq\":7,\"interval_ms\":5000}", E_VERSION },
        { "v2-then-garbage", "{\"v\":2,\"seq\":[[[[[[", E_VERSION },
        { "garbage-then-v2", "{\"seq\":[,\"v\":2}", E_MALFORMED },
        { "v-string", "{\"v\":\"1\",\"seq\":7,\"interval_ms\":5000}", E_MALFORMED },
        { "v-float", "{\"v\":1.0,\"seq\":7,\"interval_ms\":5000}", E_MALFORMED },
        /* duplicate keys, also disguised by escapes */
        { "dup-seq", HDR ",\"seq\":8}", E_MALFORMED },
        { "dup-escaped-v", HDR ",\"\\u0076\":1}", E_MALFORMED },
        { "dup-unknown", HDR ",\"x\":1,\"x\":2}", E_MALFORMED },
        { "dup-in-top", HDR ",\"top\":[{\"comm\":\"a\",\"comm\":\"b\",\"cpu_pct\":1}]}", E_MALFORMED },
        /* nesting: depth 3 is the limit */
        { "depth-3-array", HDR ",\"x\":[[1]]}", E_OK },
        { "depth-4-array", HDR ",\"x\":[[[1]]]}", E_MALFORMED },
        { "depth-3-object", HDR ",\"x\":{\"a\":{\"b\":1}}}", E_OK },
        { "depth-4-object", HDR ",\"x\":{\"a\":{\"b\":{}}}}", E_MALFORMED },
        { "deep-arrays", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", E_MALFORMED },
        { "deep-in-unknown", HDR ",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", E_MALFORMED },
        /* numbers */
        { "1e308", HDR ",\"load1\":1e308}", E_RANGE },
        { "-1e308", HDR ",\"load1\":-1e308}", E_RANGE },
        { "1e309-inf", HDR ",\"load1\":1e309}", E_RANGE },
        { "-1e309-inf", HDR ",\"psi_io\":-1e309}", E_RANGE },
        { "tiny", HDR ",\"load1\":1e-400}", E_OK },
        { "NaN", HDR ",\"load1\":NaN}", E_MALFORMED },
        { "nan-lower", HDR ",\"load1\":nan}", E_MALFORMED },
        { "Infinity", HDR ",\"load1\":Infinity}", E_MALFORMED },
        { "-Infinity", HDR ",\"load1\":-Infinity}", E_MALFORMED },
        { "hex", HDR ",\"sessions\":0x10}", E_MALFORMED },
        { "leading-zero", HDR ",\"sessions\":01}", E_MALFORMED },
        { "plus", HDR ",\"sessions\":+1}", E_MALFORMED },
        { "dot-end", HDR ",\"load1\":1.}", E_MALFORMED },
        { "dot-start", HDR ",\"load1\":.5}", E_MALFORMED },
        { "exp-empty", HDR ",\"load1\":1e}", E_MALFORMED },
        { "minus-only", HDR ",\"load1\":-}", E_MALFORMED },
        { "long-number", HDR ",\"load1\":0.00000000000000000000000000000000000000001}", E_MALFORMED },
        { "int-as-float", HDR ",\"sessions\":1.5}", E_MALFORMED },
        { "int-as-exp", HDR ",\"sessions\":1e2}", E_MALFORMED },
        { "int64-max", "{\"v\":1,\"seq\":9223372036854775807,\"interval_ms\":5000}", E_RANGE },
        { "int64-overflow", "{\"v\":1,\"seq\":9223372036854775808,\"interval_ms\":5000}", E_RANGE },
        { "int64-underflow", HDR ",\"sessions\":-9223372036854775809}", E_RANGE },
        { "minus-zero", HDR ",\"sessions\":-0,\"load1\":-0.0}", E_OK },
        { "number-as-string", HDR ",\"load1\":\"1\"}", E_MALFORMED },
        { "bool", HDR ",\"load1\":true}", E_MALFORMED },
        /* negative counts and rates */
        { "neg-sessions", HDR ",\"sessions\":-1}", E_RANGE },
        { "neg-users", HDR ",\"users\":-5}", E_RANGE },
        { "neg-input", HDR ",\"input_events_per_min\":-0.5}", E_RANGE },
        { "neg-proc", HDR ",\"proc_starts_per_min\":-1}", E_RANGE },
        { "neg-net", HDR ",\"net_rx_bytes\":-1}", E_RANGE },
        { "neg-seq", "{\"v\":1,\"seq\":-1,\"interval_ms\":5000}", E_RANGE },
        { "neg-dropped", HDR ",\"dropped\":-1}", E_RANGE },
        /* bounds in threes */
        { "interval-99", "{\"v\":1,\"seq\":1,\"interval_ms\":99}", E_RANGE },
        { "interval-100", "{\"v\":1,\"seq\":1,\"interval_ms\":100}", E_OK },
        { "interval-101", "{\"v\":1,\"seq\":1,\"interval_ms\":101}", E_OK },
        { "interval-1d-1", "{\"v\":1,\"seq\":1,\"interval_ms\":86399999}", E_OK },
        { "interval-1d", "{\"v\":1,\"seq\":1,\"interval_ms\":86400000}", E_OK },
        { "interval-1d+1", "{\"v\":1,\"seq\":1,\"interval_ms\":86400001}", E_RANGE },
        { "psi-99.99", HDR ",\"psi_cpu\":99.99}", E_OK },
        { "psi-100", HDR ",\"psi_cpu\":100}", E_OK },
        { "psi-100.01", HDR ",\"psi_cpu\":100.01}", E_RANGE },
        { "sessions-99999", HDR ",\"sessions\":99999}", E_OK },
        { "sessions-100000", HDR ",\"sessions\":100000}", E_OK },
        { "sessions-100001", HDR ",\"sessions\":100001}", E_RANGE },
        { "input-max", HDR ",\"input_events_per_min\":1e7}", E_OK },
        { "input-over", HDR ",\"input_events_per_min\":1.0000001e7}", E_RANGE },
        { "net-2^53", HDR ",\"net_tx_bytes\":9007199254740992}", E_OK },
        { "net-2^53+1", HDR ",\"net_tx_bytes\":9007199254740993}", E_RANGE },
        /* strings and UTF-8 */
        { "utf8-ok", HDR ",\"x\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}", E_OK },
        { "utf8-invalid-ff", HDR ",\"x\":\"\xff\"}", E_MALFORMED },
        { "utf8-overlong", HDR ",\"x\":\"\xc0\xaf\"}", E_MALFORMED },
        { "utf8-surrogate", HDR ",\"x\":\"\xed\xa0\x80\"}", E_MALFORMED },
        { "utf8-truncated", HDR ",\"x\":\"\xe2\x82\"}", E_MALFORMED },
        { "utf8-outside-string", HDR ",\xc3\xa9:1}", E_MALFORMED },
        { "escape-pair-ok", HDR ",\"x\":\"\\ud83d\\ude00\"}", E_OK },
        { "escape-lone-high", HDR ",\"x\":\"\\ud83d\"}", E_MALFORMED },
        { "escape-lone-low", HDR ",\"x\":\"\\ude00\"}", E_MALFORMED },
        { "escape-bad-hex", HDR ",\"x\":\"\\u12g4\"}", E_MALFORMED },
        { "escape-short", HDR ",\"x\":\"\\u12\"}", E_MALFORMED },
        { "escape-unknown", HDR ",\"x\":\"\\x41\"}", E_MALFORMED },
        { "escape-nul-ok-in-unknown", HDR ",\"x\":\"a\\u0000b\"}", E_OK },
        { "raw-tab-in-string", HDR ",\"x\":\"a\tb\"}", E_MALFORMED },
        { "raw-newline-in-string", HDR ",\"x\":\"a\nb\"}", E_MALFORMED },
        { "key-with-nul-escape", HDR ",\"a\\u0000\":1}", E_MALFORMED },
        /* unknown keys: tolerated, bounded */
        { "unknown-8", HDR ",\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8}", E_OK },
        { "unknown-9", HDR ",\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}", E_MALFORMED },
        { "unknown-key-32", HDR ",\"abcdefghijklmnopqrstuvwxyz012345\":1}", E_OK },
        { "unknown-key-33", HDR ",\"abcdefghijklmnopqrstuvwxyz0123456\":1}", E_MALFORMED },
        { "unknown-literals", HDR ",\"a\":true,\"b\":false,\"c\":null,\"d\":{},\"e\":[]}", E_OK },
        { "bad-literal", HDR ",\"a\":tru}", E_MALFORMED },
        /* input_src */
        { "input-src-evdev", HDR ",\"input_src\":\"evdev\"}", E_OK },
        { "input-src-unknown", HDR ",\"input_src\":\"keylogger\"}", E_RANGE },
        { "input-src-long", HDR ",\"input_src\":\"evdevevdevevdev\"}", E_RANGE },
        { "input-src-number", HDR ",\"input_src\":5}", E_MALFORMED },
        /* top */
        { "top-5", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":1},{\"comm\":\"b\",\"cpu_pct\":1},"
          "{\"comm\":\"c\",\"cpu_pct\":1},{\"comm\":\"d\",\"cpu_pct\":1},{\"comm\":\"e\",\"cpu_pct\":1}]}", E_OK },
        { "top-6", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":1},{\"comm\":\"b\",\"cpu_pct\":1},"
          "{\"comm\":\"c\",\"cpu_pct\":1},{\"comm\":\"d\",\"cpu_pct\":1},{\"comm\":\"e\",\"cpu_pct\":1},"
          "{\"comm\":\"f\",\"cpu_pct\":1}]}", E_RANGE },
        { "top-6-broken", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":1},{\"comm\":\"b\",\"cpu_pct\":1},"
          "{\"comm\":\"c\",\"cpu_pct\":1},{\"comm\":\"d\",\"cpu_pct\":1},{\"comm\":\"e\",\"cpu_pct\":1},"
          "{\"comm\":\"f\"}]}", E_MALFORMED },
        { "comm-14", HDR ",\"top\":[{\"comm\":\"abcdefghijklmn\",\"cpu_pct\":1}]}", E_OK },
        { "comm-15", HDR ",\"top\":[{\"comm\":\"abcdefghijklmno\",\"cpu_pct\":1}]}", E_OK },
        { "comm-16", HDR ",\"top\":[{\"comm\":\"abcdefghijklmnop\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-multibyte-16", HDR ",\"top\":[{\"comm\":\"abcdefghijklmn\xc3\xa9\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-empty", HDR ",\"top\":[{\"comm\":\"\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-newline", HDR ",\"top\":[{\"comm\":\"a\\nb\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-nul", HDR ",\"top\":[{\"comm\":\"a\\u0000b\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-del", HDR ",\"top\":[{\"comm\":\"a\x7f\",\"cpu_pct\":1}]}", E_RANGE },
        { "comm-number", HDR ",\"top\":[{\"comm\":1,\"cpu_pct\":1}]}", E_MALFORMED },
        { "top-entry-extra-key", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":1,\"pid\":5}]}", E_MALFORMED },
        { "top-entry-no-pct", HDR ",\"top\":[{\"comm\":\"a\"}]}", E_MALFORMED },
        { "top-entry-empty", HDR ",\"top\":[{}]}", E_MALFORMED },
        { "top-entry-not-object", HDR ",\"top\":[\"a\"]}", E_MALFORMED },
        { "top-not-array", HDR ",\"top\":{\"comm\":\"a\",\"cpu_pct\":1}}", E_MALFORMED },
        { "top-neg-pct", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":-1}]}", E_RANGE },
        { "top-huge-pct", HDR ",\"top\":[{\"comm\":\"a\",\"cpu_pct\":1e300}]}", E_RANGE },
        /* user_sessions: exactly 4 integers in 0..100000 that add up to
         * sessions (sum boundaries in threes: 2, 3, 4 against 3) */
        { "usess-ok", HDR ",\"sessions\":3,\"user_sessions\":[1,0,2,0]}", E_OK },
        { "usess-null", HDR ",\"sessions\":3,\"user_sessions\":null}", E_OK },
        { "usess-sum-2", HDR ",\"sessions\":3,\"user_sessions\":[1,0,1,0]}", E_RANGE },
        { "usess-sum-4", HDR ",\"sessions\":3,\"user_sessions\":[1,1,1,1]}", E_RANGE },
        { "usess-before-sessions", HDR ",\"user_sessions\":[0,0,3,0],\"sessions\":3}", E_OK },
        { "usess-no-sessions", HDR ",\"user_sessions\":[0,0,0,0]}", E_RANGE },
        { "usess-null-sessions", HDR ",\"sessions\":null,\"user_sessions\":[0,0,0,0]}", E_RANGE },
        { "usess-3", HDR ",\"sessions\":0,\"user_sessions\":[0,0,0]}", E_MALFORMED },
        { "usess-5", HDR ",\"sessions\":0,\"user_sessions\":[0,0,0,0,0]}", E_MALFORMED },
        { "usess-empty", HDR ",\"sessions\":0,\"user_sessions\":[]}", E_MALFORMED },
        { "usess-float", HDR ",\"sessions\":1,\"user_sessions\":[1.0,0,0,0]}", E_MALFORMED },
        { "usess-nested", HDR ",\"sessions\":1,\"user_sessions\":[[1],0,0,0]}", E_MALFORMED },
        { "usess-string", HDR ",\"sessions\":1,\"user_sessions\":\"1,0,0,0\"}", E_MALFORMED },
        { "usess-object", HDR ",\"sessions\":1,\"user_sessions\":{\"a\":1}}", E_MALFORMED },
        { "usess-names", HDR ",\"sessions\":1,\"user_sessions\":[\"root\",0,0,0]}", E_MALFORMED },
        { "usess-neg", HDR ",\"sessions\":0,\"user_sessions\":[-1,1,0,0]}", E_RANGE },
        { "usess-99999", HDR ",\"sessions\":99999,\"user_sessions\":[0,0,0,99999]}", E_OK },
        { "usess-100000", HDR ",\"sessions\":100000,\"user_sessions\":[0,0,0,100000]}", E_OK },
        { "usess-100001", HDR ",\"sessions\":100001,\"user_sessions\":[0,0,0,100001]}", E_RANGE },
        { "usess-overflow", HDR ",\"sessions\":2,\"user_sessions\":[9223372036854775807,"
          "9223372036854775807,2,-9223372036854775807]}", E_RANGE },
        { "usess-dup", HDR ",\"sessions\":0,\"user_sessions\":[0,0,0,0],\"user_sessions\":[0,0,0,0]}", E_MALFORMED },
        { "usess-trailing-comma", HDR ",\"sessions\":0,\"user_sessions\":[0,0,0,0,]}", E_MALFORMED },
        { "usess-unterminated", HDR ",\"sessions\":0,\"user_sessions\":[0,0,0,0", E_MALFORMED },
        /* oom_kill: an optional integer 0 .. 2^53 (bounds in threes); a
         * fraction, an exponent or another type is the grammar (MALFORMED),
         * a well-formed integer outside the bounds is RANGE */
        { "oom-kill-0", HDR ",\"oom_kill\":0}", E_OK },
        { "oom-kill-1", HDR ",\"oom_kill\":1}", E_OK },
        { "oom-kill-null", HDR ",\"oom_kill\":null}", E_OK },
        { "oom-kill-minus-zero", HDR ",\"oom_kill\":-0}", E_OK },
        { "oom-kill-neg", HDR ",\"oom_kill\":-1}", E_RANGE },
        { "oom-kill-neg-int64-min", HDR ",\"oom_kill\":-9223372036854775808}", E_RANGE },
        { "oom-kill-2^53-1", HDR ",\"oom_kill\":9007199254740991}", E_OK },
        { "oom-kill-2^53", HDR ",\"oom_kill\":9007199254740992}", E_OK },
        { "oom-kill-2^53+1", HDR ",\"oom_kill\":9007199254740993}", E_RANGE },
        { "oom-kill-int64-max", HDR ",\"oom_kill\":9223372036854775807}", E_RANGE },
        { "oom-kill-uint64-max", HDR ",\"oom_kill\":18446744073709551615}", E_RANGE },
        { "oom-kill-40-digits", HDR ",\"oom_kill\":1234567890123456789012345678901234567890}", E_RANGE },
        { "oom-kill-41-digits", HDR ",\"oom_kill\":12345678901234567890123456789012345678901}", E_MALFORMED },
        { "oom-kill-float", HDR ",\"oom_kill\":1.5}", E_MALFORMED },
        { "oom-kill-float-integral", HDR ",\"oom_kill\":1.0}", E_MALFORMED },
        { "oom-kill-exp", HDR ",\"oom_kill\":1e3}", E_MALFORMED },
        { "oom-kill-inf", HDR ",\"oom_kill\":1e999}", E_MALFORMED },
        { "oom-kill-nan", HDR ",\"oom_kill\":NaN}", E_MALFORMED },
        { "oom-kill-string", HDR ",\"oom_kill\":\"3\"}", E_MALFORMED },
        { "oom-kill-bool", HDR ",\"oom_kill\":true}", E_MALFORMED },
        { "oom-kill-array", HDR ",\"oom_kill\":[3]}", E_MALFORMED },
        { "oom-kill-object", HDR ",\"oom_kill\":{\"n\":3}}", E_MALFORMED },
        { "oom-kill-hex", HDR ",\"oom_kill\":0x3}", E_MALFORMED },
        { "oom-kill-dup", HDR ",\"oom_kill\":1,\"oom_kill\":1}", E_MALFORMED },
        { "oom-kill-neg-then-broken", HDR ",\"oom_kill\":-1,", E_MALFORMED },
        /* precedence: broken after an absurd value is still malformed */
        { "range-then-broken", "{\"v\":1,\"seq\":-1,\"interval_ms\":5000,", E_MALFORMED },
};

/* augur-guest reads a utmp file we wrote (-u) and prints one report (-o):
 * root twice, alice, bob, and a LOGIN_PROCESS entry that is not a session.
 * root and alice hash to different buckets than bob (buckets.h vectors). */
static void
test_guest_user_sessions (void)
{
        static const struct {
                const char *user;
                short type;
        } ents[] = {
                { "root", USER_PROCESS }, { "root", USER_PROCESS }, { "alice", USER_PROCESS },
                { "bob", USER_PROCESS }, { "LOGIN", LOGIN_PROCESS },
        };
        g_autofree char *guest = g_test_build_filename (G_TEST_BUILT, "..", "guest", "augur-guest", NULL);
        g_autofree char *dir = g_dir_make_tmp ("augur-utmp-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "utmp", NULL);
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        const char *argv[] = { guest, "-o", "-c", "1", "-i", "1", "-n", "0", "-E", "-u", path, NULL };
        gint64 want[AUGUR_USER_BUCKETS] = { 0 };
        double prog[AUGUR_PROG_BUCKETS], user[AUGUR_USER_BUCKETS];
        AugurActivityReport r;
        int status;

        if (!g_file_test (guest, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("guest/augur-guest not built");
                return;
        }
        g_assert_true (g_file_set_contents (path, "", 0, NULL));
        g_assert_cmpint (utmpxname (path), ==, 0);
        setutxent ();
        for (gsize i = 0; i < G_N_ELEMENTS (ents); i++) {
                struct utmpx u;

                memset (&u, 0, sizeof u);
                u.ut_type = ents[i].type;
                u.ut_pid = 1000 + (pid_t) i;
                g_strlcpy (u.ut_user, ents[i].user, sizeof u.ut_user);
                g_snprintf (u.ut_line, sizeof u.ut_line, "pts/%" G_GSIZE_FORMAT, i);
                g_snprintf (u.ut_id, sizeof u.ut_id, "t%" G_GSIZE_FORMAT, i);
                g_assert_nonnull (pututxline (&u));
                if (ents[i].type == USER_PROCESS)
                        want[augur_bucket_of (ents[i].user, AUGUR_USER_BUCKETS)]++;
        }
        endutxent ();
        utmpxname (_PATH_UTMPX);

        g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                     &out, NULL, &status, &error));
        g_assert_no_error (error);
        g_assert_true (g_spawn_check_wait_status (status, NULL));
        g_test_message ("augur-guest: %s", out);
        g_assert_true (g_str_has_suffix (out, "\n"));
        g_assert_true (augur_activity_parse_line (out, strlen (out) - 1, &r, &error));
        g_assert_no_error (error);
        g_assert_cmpint (r.sessions, ==, 4);
        g_assert_cmpint (r.users, ==, 3);
        g_assert_true (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_USER_SESSIONS));
        for (guint b = 0; b < AUGUR_USER_BUCKETS; b++)
                g_assert_cmpint (r.user_sessions[b], ==, want[b]);
        g_assert_cmpint (want[1], ==, 2);   /* root: 0x20fd0e45 mod 4 */
        augur_activity_report_buckets (&r, prog, user);
        g_assert_cmpfloat (user[1], ==, 2);
        g_unlink (path);
        g_rmdir (dir);
}

/* "oom_kill" (revision 3): parsed when sent; absent (an older augur-guest
 * or guest kernel) or null, it is unknown, never 0; an out-of-range count
 * drops the report with a RANGE error that names the key; and any bytes
 * in its place either parse to a count within the bounds or fail with one
 * of the documented codes. */
static void
test_parse_oom_kill (void)
{
        static const char with[] = HDR ",\"psi_mem\":12.5,\"oom_kill\":42}";
        static const char without[] = HDR ",\"psi_mem\":12.5}";
        static const char null[] = HDR ",\"oom_kill\":null}";
        static const char neg[] = HDR ",\"oom_kill\":-1}";
        static const char alphabet[] = "0123456789-+.eE \"n[]{},:\\x";
        g_autoptr(GRand) rand = g_rand_new_with_seed (4130);
        g_autoptr(GError) error = NULL;
        AugurActivityReport r;
        guint accepted = 0;

        g_assert_true (augur_activity_parse_line (with, strlen (with), &r, &error));
        g_assert_no_error (error);
        g_assert_true (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL));
        g_assert_cmpint (r.oom_kill, ==, 42);
        g_assert_cmpfloat (r.psi_mem, ==, 12.5);
        g_assert_true (augur_activity_parse_line (without, strlen (without), &r, &error));
        g_assert_false (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL));
        g_assert_true (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_PSI_MEM));
        g_assert_true (augur_activity_parse_line (null, strlen (null), &r, &error));
        g_assert_false (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL));
        g_assert_false (augur_activity_parse_line (neg, strlen (neg), &r, &error));
        g_assert_error (error, AUGUR_ACTIVITY_ERROR, AUGUR_ACTIVITY_ERROR_RANGE);
        g_assert_true (g_str_has_prefix (error->message, "oom_kill out of range"));

        for (int i = 0; i < 50000; i++) {
                g_autoptr(GError) e = NULL;
                g_autoptr(GString) line = g_string_new (HDR ",\"oom_kill\":");
                int n = g_rand_int_range (rand, 0, 48);

                for (int k = 0; k < n; k++) {
                        if (g_rand_int_range (rand, 0, 4) == 0)
                                g_string_append_c (line, (char) g_rand_int_range (rand, 1, 256));
                        else
                                g_string_append_c (line, alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)]);
                }
                g_string_append_c (line, '}');
                memset (&r, 0xa5, sizeof r);
                if (augur_activity_parse_line (line->str, line->len, &r, &e)) {
                        accepted++;
                        if (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL)) {
                                g_assert_cmpint (r.oom_kill, >=, 0);
                                g_assert_cmpint (r.oom_kill, <=, AUGUR_ACTIVITY_MAX_OOM_KILL);
                        }
                        oracle_check (line->str, line->len, &r);
                } else {
                        g_assert_true (e->domain == AUGUR_ACTIVITY_ERROR);
                        g_assert_cmpint (e->code, >=, AUGUR_ACTIVITY_ERROR_MALFORMED);
                        g_assert_cmpint (e->code, <=, AUGUR_ACTIVITY_ERROR_VERSION);
                }
        }
        g_test_message ("%u of 50000 random oom_kill values accepted (all checked by json-glib)", accepted);
}

/* The guest's /proc/vmstat "oom_kill" counter, or -1 when it has none. */
static gint64
read_vmstat_oom_kill (void)
{
        g_autofree char *vmstat = NULL;
        const char *p;

        if (!g_file_get_contents ("/proc/vmstat", &vmstat, NULL, NULL))
                return -1;
        p = strstr (vmstat, "\noom_kill ");
        return p ? g_ascii_strtoll (p + 10, NULL, 10) : -1;
}

/* The real augur-guest binary on this machine: it sends /proc/vmstat's
 * oom_kill as "oom_kill" (between the counts read before and after it
 * ran), or leaves the key out when the kernel has no such counter. */
static void
test_guest_oom_kill (void)
{
        g_autofree char *guest = g_test_build_filename (G_TEST_BUILT, "..", "guest", "augur-guest", NULL);
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        const char *argv[] = { guest, "-o", "-c", "1", "-i", "1", "-n", "0", "-E", NULL };
        AugurActivityReport r;
        gint64 before, after;
        int status;

        if (!g_file_test (guest, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("guest/augur-guest not built");
                return;
        }
        before = read_vmstat_oom_kill ();
        g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                     &out, NULL, &status, &error));
        after = read_vmstat_oom_kill ();
        g_assert_no_error (error);
        g_assert_true (g_spawn_check_wait_status (status, NULL));
        g_test_message ("augur-guest: %s", out);
        g_assert_true (g_str_has_suffix (out, "\n"));
        g_assert_true (augur_activity_parse_line (out, strlen (out) - 1, &r, &error));
        g_assert_no_error (error);
        if (before < 0 && after < 0) {
                g_assert_false (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL));
                g_assert_null (strstr (out, "oom_kill"));
                return;
        }
        g_assert_true (augur_activity_report_has (&r, AUGUR_ACTIVITY_F_OOM_KILL));
        g_assert_cmpint (r.oom_kill, >=, before);
        g_assert_cmpint (r.oom_kill, <=, after);
        /* next to the PSI keys, in the documented order */
        g_assert_nonnull (strstr (out, "\"psi_io\":"));
        g_assert_true (strstr (out, "\"oom_kill\":") > strstr (out, "\"psi_io\":"));
        g_assert_true (strstr (out, "\"oom_kill\":") < strstr (out, "\"top\":"));
}

/* A report without "top" and "user_sessions" (an older augur-guest, or
 * -n 0 with no utmp) has no buckets: NAN, never 0. */
static void
test_parse_no_buckets (void)
{
        static const char line[] = HDR ",\"sessions\":1}";
        AugurActivityReport r;
        double prog[AUGUR_PROG_BUCKETS], user[AUGUR_USER_BUCKETS];

        g_assert_true (augur_activity_parse_line (line, strlen (line), &r, NULL));
        augur_activity_report_buckets (&r, prog, user);
        for (guint b = 0; b < AUGUR_PROG_BUCKETS; b++)
                g_assert_true (isnan (prog[b]));
        for (guint b = 0; b < AUGUR_USER_BUCKETS; b++)
                g_assert_true (isnan (user[b]));
}

static void
test_parse_hostile (void)
{
        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
                check_line (cases[i].name, cases[i].line, strlen (cases[i].line), cases[i].want);
}

/* NUL bytes need explicit lengths. */
static void
test_parse_nul (void)
{
        static const char in_string[] = HDR ",\"x\":\"a\0b\"}";
        static const char after[] = HDR "}\0";
        static const char before[] = "\0" HDR "}";

        check_line ("nul-in-string", in_string, sizeof in_string - 1, E_MALFORMED);
        check_line ("nul-after", after, sizeof after - 1, E_MALFORMED);
        check_line ("nul-before", before, sizeof before - 1, E_MALFORMED);
        /* and the length is honoured: a NUL past len is not looked at */
        check_line ("len-stops-before-nul", after, sizeof after - 2, E_OK);
}

/* The line limit in threes: 1022 and 1023 bytes (+ '\n' = 1024) parse,
 * 1024 is oversize. */
static void
test_parse_oversize (void)
{
        char buf[4096];

        for (gsize len = 1021; len <= 1025; len++) {
                g_autofree char *name = g_strdup_printf ("padded-%" G_GSIZE_FORMAT, len);

                memset (buf, ' ', sizeof buf);
                memcpy (buf, HDR "}", strlen (HDR "}"));
                check_line (name, buf, len, len <= AUGUR_ACTIVITY_LINE_MAX - 1 ? E_OK : E_OVERSIZE);
        }
        memset (buf, 'x', sizeof buf);
        check_line ("garbage-4k", buf, sizeof buf, E_OVERSIZE);
}

/* Numbers convert exactly as strtod does (the parser has a fast path for
 * plain decimals; json-glib and the store see strtod's value), bit for bit. */
static void
test_parse_numbers (void)
{
        g_autoptr(GRand) rand = g_rand_new_with_seed (53);

        for (int i = 0; i < 200000; i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GString) num = g_string_new (NULL);
                g_autofree char *line = NULL;
                AugurActivityReport r;
                int ints = g_rand_int_range (rand, 1, 7), fracs = g_rand_int_range (rand, -1, 26);
                double want;

                g_string_append_c (num, (char) ('1' + g_rand_int_range (rand, 0, 9)));
                for (int k = 1; k < ints; k++)
                        g_string_append_c (num, (char) ('0' + g_rand_int_range (rand, 0, 10)));
                if (g_rand_int_range (rand, 0, 8) == 0)
                        g_string_assign (num, "0");
                if (fracs >= 1) {
                        g_string_append_c (num, '.');
                        for (int k = 0; k < fracs; k++)
                                g_string_append_c (num, (char) ('0' + g_rand_int_range (rand, 0, 10)));
                }
                if (num->len > AUGUR_ACTIVITY_NUMBER_MAX)
                        continue;
                want = g_ascii_strtod (num->str, NULL);
                line = g_strdup_printf (HDR ",\"load1\":%s}", num->str);
                if (!augur_activity_parse_line (line, strlen (line), &r, &error))
                        g_error ("%s: %s", num->str, error->message);
                if (memcmp (&want, &r.load1, sizeof want) != 0)
                        g_error ("%s: got %.17g, strtod says %.17g", num->str, r.load1, want);
        }
}

/* Binary garbage and mutations of valid lines: never a crash, never an
 * unknown error code, and everything accepted passes the oracle. */
static void
test_parse_garbage (void)
{
        g_autoptr(GRand) rand = g_rand_new_with_seed (20261128);
        guint accepted = 0;
        char buf[AUGUR_ACTIVITY_LINE_MAX];

        for (int i = 0; i < 20000; i++) {
                g_autoptr(GError) error = NULL;
                AugurActivityReport r;
                gsize len;

                if (i % 2 == 0) {
                        len = (gsize) g_rand_int_range (rand, 0, sizeof buf);
                        for (gsize k = 0; k < len; k++)
                                buf[k] = (char) g_rand_int_range (rand, 0, 256);
                } else {
                        len = strlen (guest_line);
                        memcpy (buf, guest_line, len);
                        for (int m = g_rand_int_range (rand, 1, 4); m > 0 && len > 0; m--) {
                                gsize at = (gsize) g_rand_int_range (rand, 0, (gint32) len);

                                switch (g_rand_int_range (rand, 0, 3)) {
                                case 0: buf[at] = (char) g_rand_int_range (rand, 0, 256); break;
                                case 1: buf[at] = "{}[],:\"\\-0e.n"[g_rand_int_range (rand, 0, 13)]; break;
                                default: len = at; break;
                                }
                        }
                }
                if (augur_activity_parse_line (buf, len, &r, &error)) {
                        accepted++;
                        oracle_check (buf, len, &r);
                } else {
                        g_assert_true (error->domain == AUGUR_ACTIVITY_ERROR);
                        g_assert_cmpint (error->code, >=, AUGUR_ACTIVITY_ERROR_MALFORMED);
                        g_assert_cmpint (error->code, <=, AUGUR_ACTIVITY_ERROR_VERSION);
                }
        }
        g_test_message ("%u of 20000 garbage/mutated lines accepted (all checked by json-glib)", accepted);
}

/* ---------------------------------------------------------------- corpus */

static void
test_corpus_file (gconstpointer data)
{
        const char *path = data;
        g_autofree char *base = g_path_get_basename (path);
        g_autofree char *contents = NULL;
        gsize len;
        int want;

        g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
        /* A seed file holds one line; its final newline is not part of it. */
        if (len > 0 && contents[len - 1] == '\n')
                len--;
        if (g_str_has_prefix (base, "valid-"))
                want = E_OK;
        else if (g_str_has_prefix (base, "malformed-"))
                want = E_MALFORMED;
        else if (g_str_has_prefix (base, "oversize-"))
                want = E_OVERSIZE;
        else if (g_str_has_prefix (base, "range-"))
                want = E_RANGE;
        else if (g_str_has_prefix (base, "version-"))
                want = E_VERSION;
        else
                return;           /* crash reproducers: only must not crash */
        check_line (base, contents, len, want);
}

static gint
cmp_name (gconstpointer a, gconstpointer b)
{
        return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static void
add_corpus_tests (void)
{
        g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", "activity-corpus", NULL);
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
        const char *n;

        if (!d)
                return;
        while ((n = g_dir_read_name (d)))
                g_ptr_array_add (names, g_strdup (n));
        g_ptr_array_sort (names, cmp_name);
        for (guint i = 0; i < names->len; i++) {
                const char *name = names->pdata[i];
                g_autofree char *tp = NULL;

                tp = g_strdup_printf ("/activity/corpus/%s", name);
                g_test_add_data_func_full (tp, g_build_filename (dir, name, NULL),
                                           test_corpus_file, g_free);
        }
}

/* ---------------------------------------------------------------- reader */

typedef struct {
        guint n;
        gint64 last_seq;
} Sink;

static void
sink_cb (const AugurActivityReport *r, gint64 now_us, gpointer user_data)
{
        Sink *s = user_data;

        s->n++;
        s->last_seq = r->seq;
}

/* The same stream fed in chunks of every size gives the same result. */
static void
test_reader_framing (void)
{
        g_autoptr(GString) stream = g_string_new (NULL);
        g_autoptr(GString) big = g_string_new (NULL);

        g_string_append (stream, "{\"v\":1,\"seq\":1,\"interval_ms\":5000}\n");
        g_string_append (stream, "\n\r\n  \n");                        /* blank: ignored */
        g_string_append (stream, "{\"v\":1,\"seq\":2,\"interval_ms\":5000}\r\n"); /* CRLF */
        g_string_append_c (big, '{');
        for (int i = 0; i < 300; i++)
                g_string_append (big, "\"xxxx\":");
        g_string_append (stream, big->str);                           /* overlong */
        g_string_append (stream, "}\n");
        g_string_append (stream, "not json\n");                       /* malformed */
        g_string_append (stream, "{\"v\":1,\"seq\":3,\"interval_ms\":5000}\n");
        g_string_append (stream, "{\"v\":1,\"seq\":4,\"interval_ms\":5");  /* partial */

        for (gsize chunk = 1; chunk <= stream->len; chunk = chunk < 16 ? chunk + 1 : chunk * 2) {
                Sink sink = { 0, -1 };
                g_autoptr(AugurActivityReader) rd = augur_activity_reader_new ("t", sink_cb, &sink);
                const AugurActivityCounters *c = augur_activity_reader_counters (rd);

                g_test_message ("chunk %" G_GSIZE_FORMAT, chunk);
                for (gsize off = 0; off < stream->len; off += chunk) {
                        augur_activity_reader_feed (rd, stream->str + off, MIN (chunk, stream->len - off), 0);
                        g_assert_cmpuint (augur_activity_reader_buffered (rd), <=, AUGUR_ACTIVITY_LINE_MAX - 1);
                }
                g_assert_cmpuint (sink.n, ==, 3);
                g_assert_cmpint (sink.last_seq, ==, 3);
                g_assert_cmpuint (c->lines, ==, 5);
                g_assert_cmpuint (c->accepted, ==, 3);
                g_assert_cmpuint (c->dropped_oversize, ==, 1);
                g_assert_cmpuint (c->dropped_malformed, ==, 1);
                g_assert_cmpuint (c->dropped_rate, ==, 0);
                g_assert_cmpuint (c->bytes_read, ==, stream->len);
                /* the partial line waits; after a cut it is forgotten */
                g_assert_cmpuint (augur_activity_reader_buffered (rd), >, 0);
                augur_activity_reader_reset_line (rd);
                augur_activity_reader_feed (rd, "\n", 1, 0);
                g_assert_cmpuint (c->lines, ==, 5);
        }
}

/* Token bucket: burst 4, then one per second. */
static void
test_reader_rate (void)
{
        Sink sink = { 0, -1 };
        g_autoptr(AugurActivityReader) rd = augur_activity_reader_new ("t", sink_cb, &sink);
        const AugurActivityCounters *c = augur_activity_reader_counters (rd);
        const char *line = "{\"v\":1,\"seq\":1,\"interval_ms\":5000}\n";
        gint64 t = 1000000;

        for (int i = 0; i < 10; i++)
                augur_activity_reader_feed (rd, line, strlen (line), t);
        g_assert_cmpuint (sink.n, ==, (guint) AUGUR_ACTIVITY_RATE_BURST);
        g_assert_cmpuint (c->dropped_rate, ==, 10 - (guint) AUGUR_ACTIVITY_RATE_BURST);
        /* 0.5 s later: still nothing; 1 s later: one more */
        augur_activity_reader_feed (rd, line, strlen (line), t + 500000);
        g_assert_cmpuint (sink.n, ==, 4);
        augur_activity_reader_feed (rd, line, strlen (line), t + 1000000);
        g_assert_cmpuint (sink.n, ==, 5);
        /* a steady legitimate guest (one line per 5 s) is never limited */
        for (int i = 1; i <= 100; i++)
                augur_activity_reader_feed (rd, line, strlen (line), t + 1000000 + i * 5000000LL);
        g_assert_cmpuint (sink.n, ==, 105);
        /* after a long pause the bucket is full again, not fuller */
        t += 1000000000;
        for (int i = 0; i < 10; i++)
                augur_activity_reader_feed (rd, line, strlen (line), t);
        g_assert_cmpuint (sink.n, ==, 109);
        /* rate-limited lines are never parsed: garbage costs a token too */
        augur_activity_reader_feed (rd, "garbage\n", 8, t);
        g_assert_cmpuint (c->dropped_malformed, ==, 0);
}

typedef struct {
        int fd;
        gsize bytes;
        gsize lines;
        gboolean endless;    /* one endless line, then a valid one */
} Writer;

static gpointer
writer_thread (gpointer data)
{
        Writer *w = data;
        char block[65536];
        const char *line = "{\"v\":1,\"seq\":1,\"interval_ms\":5000,\"sessions\":1,\"top\":[{\"comm\":\"x\",\"cpu_pct\":1}]}\n";
        gsize ll = strlen (line), n = 0;

        if (w->endless) {
                memset (block, 'x', sizeof block);
                for (int i = 0; i < 64; i++)     /* 4 MiB without a newline */
                        n += (gsize) write (w->fd, block, sizeof block);
                n += (gsize) write (w->fd, "\n", 1);
                n += (gsize) write (w->fd, line, ll);
                w->lines = 2;
        } else {
                gsize per = sizeof block / ll;

                for (gsize k = 0; k < per; k++)
                        memcpy (block + k * ll, line, ll);
                for (int i = 0; i < 256; i++) {  /* ~16 MiB, 180 k lines */
                        gsize off = 0;

                        while (off < per * ll) {
                                ssize_t r = write (w->fd, block + off, per * ll - off);

                                if (r <= 0)
                                        break;
                                off += (gsize) r;
                        }
                        n += off;
                }
                w->lines = 256 * per;
        }
        w->bytes = n;
        close (w->fd);
        return NULL;
}

/* Drain fd with the daemon's per-wakeup budget until EOF.  now_us is frozen
 * (the test is about bounds, not speed), so the bucket gives exactly its
 * burst. */
static void
drain (AugurActivityReader *rd, int fd, gsize *ret_max_buffered, guint *ret_wakeups)
{
        gsize max_buf = 0;
        guint wakeups = 0;

        for (;;) {
                GPollFD pfd = { fd, G_IO_IN | G_IO_HUP, 0 };
                AugurActivityReadStatus st;

                g_poll (&pfd, 1, 10000);
                wakeups++;
                st = augur_activity_reader_read_fd (rd, fd, AUGUR_ACTIVITY_READ_BUDGET_BYTES, 42, NULL);
                max_buf = MAX (max_buf, augur_activity_reader_buffered (rd));
                g_assert_cmpuint (augur_activity_reader_buffered (rd), <=, AUGUR_ACTIVITY_LINE_MAX - 1);
                g_assert_cmpint (st, !=, AUGUR_ACTIVITY_READ_ERROR);
                if (st == AUGUR_ACTIVITY_READ_EOF)
                        break;
        }
        *ret_max_buffered = max_buf;
        *ret_wakeups = wakeups;
}

static void
test_reader_flood (void)
{
        Sink sink = { 0, -1 };
        g_autoptr(AugurActivityReader) rd = augur_activity_reader_new ("flood", sink_cb, &sink);
        const AugurActivityCounters *c = augur_activity_reader_counters (rd);
        Writer w = { 0 };
        GThread *th;
        int sv[2];
        gsize max_buf;
        guint wakeups, warnings0;

        g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint (fcntl (sv[0], F_SETFL, O_NONBLOCK), ==, 0);
        w.fd = sv[1];
        warnings0 = n_warnings;
        th = g_thread_new ("writer", writer_thread, &w);
        drain (rd, sv[0], &max_buf, &wakeups);
        g_thread_join (th);
        close (sv[0]);
        /* ~195 k drops, one warning: logged once per domain, then debug */
        g_assert_cmpuint (n_warnings - warnings0, ==, 1);

        g_test_message ("flood: %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " lines, %u wakeups, "
                        "max buffered %" G_GSIZE_FORMAT " bytes", w.bytes, w.lines, wakeups, max_buf);
        g_assert_cmpuint (c->bytes_read, ==, w.bytes);
        g_assert_cmpuint (c->lines, ==, w.lines);
        g_assert_cmpuint (c->accepted, ==, (guint64) AUGUR_ACTIVITY_RATE_BURST);
        g_assert_cmpuint (sink.n, ==, (guint) AUGUR_ACTIVITY_RATE_BURST);
        g_assert_cmpuint (c->dropped_rate, ==, w.lines - (gsize) AUGUR_ACTIVITY_RATE_BURST);
        g_assert_cmpuint (c->dropped_malformed + c->dropped_oversize + c->dropped_range, ==, 0);
        /* Bounded work per wakeup: at least bytes / budget wakeups. */
        g_assert_cmpuint (wakeups, >=, w.bytes / AUGUR_ACTIVITY_READ_BUDGET_BYTES);
}

static void
test_reader_endless_line (void)
{
        Sink sink = { 0, -1 };
        g_autoptr(AugurActivityReader) rd = augur_activity_reader_new ("endless", sink_cb, &sink);
        const AugurActivityCounters *c = augur_activity_reader_counters (rd);
        Writer w = { .endless = TRUE };
        GThread *th;
        int sv[2];
        gsize max_buf;
        guint wakeups;

        g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint (fcntl (sv[0], F_SETFL, O_NONBLOCK), ==, 0);
        w.fd = sv[1];
        th = g_thread_new ("writer", writer_thread, &w);
        drain (rd, sv[0], &max_buf, &wakeups);
        g_thread_join (th);
        close (sv[0]);

        g_test_message ("endless line: %" G_GSIZE_FORMAT " bytes, max buffered %" G_GSIZE_FORMAT,
                        w.bytes, max_buf);
        g_assert_cmpuint (max_buf, <=, AUGUR_ACTIVITY_LINE_MAX - 1);
        g_assert_cmpuint (c->dropped_oversize, ==, 1);   /* counted once, not per chunk */
        g_assert_cmpuint (c->accepted, ==, 1);           /* the line after it is fine */
        g_assert_cmpuint (c->bytes_read, ==, w.bytes);
}

/* ------------------------------------------------------------------- xml */

#define XML_HEAD "<domain type='kvm' id='3'><name>g</name><devices>"
#define XML_TAIL "</devices></domain>"
#define CH_GA "<channel type='unix'><source mode='bind' path='/run/x/ga.sock'/>" \
        "<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>"
#define CH_ACT "<channel type='unix'><source mode='bind' path='/run/x/act&amp;ivity.sock'/>" \
        "<target type='virtio' name='org.augur.activity.0' state='disconnected'/>" \
        "<alias name='channel1'/><address type='virtio-serial' controller='0' bus='0' port='2'/></channel>"

static void
test_xml (void)
{
        static const struct {
                const char *xml;
                const char *want;
        } rows[] = {
                { XML_HEAD CH_GA CH_ACT XML_TAIL, "/run/x/act&ivity.sock" },
                { XML_HEAD CH_ACT CH_GA XML_TAIL, "/run/x/act&ivity.sock" },
                { XML_HEAD CH_GA XML_TAIL, NULL },
                { XML_HEAD XML_TAIL, NULL },
                /* QEMU connects out: nothing for us to connect to */
                { XML_HEAD "<channel type='unix'><source mode='connect' path='/p'/>"
                  "<target type='virtio' name='org.augur.activity.0'/></channel>" XML_TAIL, NULL },
                /* not a unix socket */
                { XML_HEAD "<channel type='pty'><source path='/dev/pts/3'/>"
                  "<target type='virtio' name='org.augur.activity.0'/></channel>" XML_TAIL, NULL },
                /* a channel outside <devices> does not count */
                { "<domain><metadata><channel type='unix'><source mode='bind' path='/evil'/>"
                  "<target type='virtio' name='org.augur.activity.0'/></channel></metadata>"
                  "<devices/></domain>", NULL },
                /* guestfwd, not virtio */
                { XML_HEAD "<channel type='unix'><source mode='bind' path='/p'/>"
                  "<target type='guestfwd' address='10.0.2.1' port='4600'/></channel>" XML_TAIL, NULL },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                g_autofree char *path = augur_activity_channel_path_from_xml (rows[i].xml, &error);

                g_test_message ("xml row %" G_GSIZE_FORMAT, i);
                g_assert_no_error (error);
                g_assert_cmpstr (path, ==, rows[i].want);
        }
        {
                g_autoptr(GError) error = NULL;
                g_autofree char *path = augur_activity_channel_path_from_xml ("<domain><devices>", &error);

                g_assert_null (path);
                g_assert_nonnull (error);
        }
}

/* ----------------------------------------------------------------- store */

typedef struct {
        char *dir;
        char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
        f->dir = g_dir_make_tmp ("augur-activity-XXXXXX", NULL);
        g_assert_nonnull (f->dir);
        f->path = g_build_filename (f->dir, "augur.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
        augur_test_rm_rf (f->dir);
        g_free (f->dir);
        g_free (f->path);
}

static double
query (const char *path, const char *sql)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        double v = NAN;

        g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
        if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
                g_error ("%s: %s", sql, sqlite3_errmsg (db));
        if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
                v = sqlite3_column_double (st, 0);
        sqlite3_finalize (st);
        sqlite3_close (db);
        return v;
}

#define UUID1 "00000000-0000-4000-8000-000000000001"

static void
write_tick (AugurStore *st, gint64 ts_ms)
{
        g_autoptr(GError) error = NULL;
        AugurDomainSample s = { 0 };

        g_strlcpy (s.uuid, UUID1, sizeof s.uuid);
        s.name = g_strdup ("vm1");
        s.id = 1;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        augur_sample_set (&s, AUGUR_STAT_CPU_TIME_NS, ts_ms * 1000);
        g_assert_true (augur_store_write_tick (st, ts_ms, &s, 1, NULL, 10, NULL, &error));
        g_assert_no_error (error);
        augur_domain_sample_clear (&s);
}

static AugurActivityRow
channel_row (gint64 ts_ms, double input, gint64 sessions, double procs)
{
        AugurActivityRow r;

        memset (&r, 0, sizeof r);
        g_strlcpy (r.uuid, UUID1, sizeof r.uuid);
        r.name = "vm1";
        r.libvirt_id = 1;
        r.ts_ms = ts_ms;
        r.source = AUGUR_ACTIVITY_SOURCE_CHANNEL;
        r.v[AUGUR_ACTCOL_SEQ] = 1;
        r.v[AUGUR_ACTCOL_INTERVAL_MS] = 5000;
        r.v[AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN] = input;
        r.v[AUGUR_ACTCOL_SESSIONS] = (double) sessions;
        r.v[AUGUR_ACTCOL_PROC_STARTS_PER_MIN] = procs;
        r.v[AUGUR_ACTCOL_NET_RX_BYTES] = 9007199254740992.0;
        r.present = (1u << AUGUR_ACTCOL_SEQ) | (1u << AUGUR_ACTCOL_INTERVAL_MS) |
                    (1u << AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN) | (1u << AUGUR_ACTCOL_SESSIONS) |
                    (1u << AUGUR_ACTCOL_PROC_STARTS_PER_MIN) | (1u << AUGUR_ACTCOL_NET_RX_BYTES);
        r.input_src = "irq";
        r.top_programs = "[{\"comm\":\"sh\",\"cpu_pct\":1.5}]";
        return r;
}

static void
test_store_rows (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autoptr(GError) error = NULL;
        gint64 t0 = 1700000000000;     /* a bucket start: 1700000000 % 300 == 200, so use +100 s */
        AugurActivityRow rows[2];
        AugurActivityDropsDelta d;
        gsize filled = 99;
        gboolean ok;

        g_assert_nonnull (st);
        t0 += 100000;
        write_tick (st, t0);
        write_tick (st, t0 + 5000);

        /* Two reports before the next tick: the first fills the newest
         * sample, the second is kept in activity only. */
        rows[0] = channel_row (t0 + 6000, 30, 2, 120);
        rows[1] = channel_row (t0 + 7000, 60, 3, 240);
        /* the first carries buckets (prog_b6 = cc1 at 97 %, 2 sessions of
         * a user in bucket 1); the other bucket columns are 0 as the
         * daemon writes them for a report with a "top" */
        for (guint b = 0; b < AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS; b++) {
                rows[0].v[AUGUR_ACTCOL_PROG_B0 + b] = 0;
                rows[0].present |= 1u << (AUGUR_ACTCOL_PROG_B0 + b);
        }
        rows[0].v[AUGUR_ACTCOL_PROG_B0 + 6] = 97;
        rows[0].v[AUGUR_ACTCOL_USER_B0 + 1] = 2;
        /* the first carries oom_kill at its bound (2^53, exact in a
         * double), the second none */
        rows[0].v[AUGUR_ACTCOL_OOM_KILL] = 9007199254740992.0;
        rows[0].present |= 1u << AUGUR_ACTCOL_OOM_KILL;
        memset (&d, 0, sizeof d);
        g_strlcpy (d.uuid, UUID1, sizeof d.uuid);
        d.name = "vm1";
        d.libvirt_id = 1;
        d.lines = 5;
        d.accepted = 2;
        d.dropped_malformed = 3;
        d.connects = 1;
        ok = augur_store_write_activity (st, rows, 2, &d, 1, &filled, &error);
        g_assert_no_error (error);
        g_assert_true (ok);
        g_assert_no_error (error);
        g_assert_cmpuint (filled, ==, 1);

        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT sessions FROM activity ORDER BY ts_ms LIMIT 1"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT net_rx_bytes FROM activity LIMIT 1"), ==, 9007199254740992.0);
        g_assert_cmpfloat (query (f->path, "SELECT typeof(sessions) = 'integer' FROM activity LIMIT 1"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT typeof(input_events_per_min) = 'real' FROM activity LIMIT 1"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity WHERE top_programs LIKE '%\"sh\"%' AND input_src = 'irq'"), ==, 2);
        /* the newest sample, filled once, with the first report */
        g_assert_cmpfloat (query (f->path, "SELECT input_events_per_min FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 30);
        g_assert_cmpfloat (query (f->path, "SELECT sessions FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT proc_starts_per_min FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 120);
        g_assert_true (isnan (query (f->path, "SELECT sessions FROM samples ORDER BY ts_ms LIMIT 1")));
        g_assert_cmpfloat (query (f->path, "SELECT prog_b6 FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 97);
        g_assert_cmpfloat (query (f->path, "SELECT prog_b0 FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 0);
        g_assert_cmpfloat (query (f->path, "SELECT user_b1 FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT user_b1 FROM activity ORDER BY ts_ms LIMIT 1"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT typeof(user_b1) = 'integer' FROM activity ORDER BY ts_ms LIMIT 1"), ==, 1);
        g_assert_true (isnan (query (f->path, "SELECT prog_b6 FROM activity ORDER BY ts_ms DESC LIMIT 1")));
        g_assert_cmpfloat (query (f->path, "SELECT oom_kill = 9007199254740992 AND typeof(oom_kill) = 'integer'"
                                           " FROM activity ORDER BY ts_ms LIMIT 1"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT oom_kill IS NULL FROM activity ORDER BY ts_ms DESC LIMIT 1"), ==, 1);
        /* the model reads them back in trace units, raw and 5-min */
        {
                g_autoptr(AugurSeries) raw = augur_store_load_series (st, UUID1, G_MININT64, G_MAXINT64,
                                                                      AUGUR_RES_RAW, &error);
                g_autoptr(AugurSeries) m5 = augur_store_load_series (st, UUID1, G_MININT64, G_MAXINT64,
                                                                     AUGUR_RES_5M, &error);

                g_assert_no_error (error);
                g_assert_nonnull (raw->col[AUGUR_COL_PROG_B0 + 6]);
                g_assert_cmpfloat (raw->col[AUGUR_COL_PROG_B0 + 6][raw->n - 1], ==, 97);
                g_assert_cmpfloat (raw->col[AUGUR_COL_USER_B0 + 1][raw->n - 1], ==, 2);
                g_assert_true (isnan (raw->col[AUGUR_COL_PROG_B0 + 6][0]));
                g_assert_nonnull (m5->col[AUGUR_COL_PROG_B0 + 6]);
                g_assert_cmpfloat (m5->col[AUGUR_COL_PROG_B0 + 6][m5->n - 1], ==, 97);
        }
        /* rollups counted it once (the open buckets are written at close) */
        g_clear_pointer (&st, augur_store_close);
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_assert_nonnull (st);
        g_assert_cmpfloat (query (f->path, "SELECT sessions_n FROM rollups WHERE res_s = 60"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT proc_starts_per_min_sum FROM rollups WHERE res_s = 300"), ==, 120);
        g_assert_cmpfloat (query (f->path, "SELECT input_events_per_min_max FROM rollups WHERE res_s = 60"), ==, 30);
        g_assert_cmpfloat (query (f->path, "SELECT prog_b6_sum FROM rollups WHERE res_s = 300"), ==, 97);
        g_assert_cmpfloat (query (f->path, "SELECT user_b1_n FROM rollups WHERE res_s = 60"), ==, 1);
        /* drop counters add up across writes */
        g_assert_true (augur_store_write_activity (st, NULL, 0, &d, 1, NULL, &error));
        g_assert_cmpfloat (query (f->path, "SELECT dropped_malformed FROM activity_drops"), ==, 6);
        g_assert_cmpfloat (query (f->path, "SELECT connects FROM activity_drops"), ==, 2);

        /* a report far from any sample fills nothing */
        rows[0] = channel_row (t0 + 5000 + AUGUR_ACTIVITY_SAMPLE_WINDOW_MS + 60000, 1, 1, 1);
        write_tick (st, t0 + 10000);
        g_assert_true (augur_store_write_activity (st, rows, 1, NULL, 0, &filled, &error));
        g_assert_cmpuint (filled, ==, 0);
        /* an agent row never touches samples */
        rows[0] = channel_row (t0 + 10500, 1, 1, 1);
        rows[0].source = AUGUR_ACTIVITY_SOURCE_AGENT;
        g_assert_true (augur_store_write_activity (st, rows, 1, NULL, 0, &filled, &error));
        g_assert_cmpuint (filled, ==, 0);
        g_assert_true (isnan (query (f->path, "SELECT sessions FROM samples ORDER BY ts_ms DESC LIMIT 1")));
        /* a row with none of the three sample columns fills nothing */
        rows[0] = channel_row (t0 + 10600, 1, 1, 1);
        rows[0].present = 1u << AUGUR_ACTCOL_LOAD1;
        rows[0].v[AUGUR_ACTCOL_LOAD1] = 0.5;
        g_assert_true (augur_store_write_activity (st, rows, 1, NULL, 0, &filled, &error));
        g_assert_cmpuint (filled, ==, 0);
}

/* Inside the tick's open transaction (store.h augur_store_tick_begin()):
 * a report filling the tick's own sample, which opens a new rollup bucket,
 * is counted in that bucket once the tick commits; a rolled-back tick
 * leaves neither its sample, nor the report, nor its audit rows. */
static void
test_store_in_tick (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autoptr(GError) error = NULL;
        const gint64 t0 = 1700000100000;      /* a 1-min and 5-min bucket start */
        AugurDomainSample s = { 0 };
        AugurActivityRow row;
        AugurDecisionRow dec = { 0 };
        gsize filled = 0;

        g_assert_nonnull (st);
        write_tick (st, t0 - 5000);             /* the bucket before */
        g_strlcpy (s.uuid, UUID1, sizeof s.uuid);
        s.name = g_strdup ("vm1");
        s.id = 1;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        g_assert_true (augur_store_tick_begin (st, t0, &s, 1, NULL, 10, NULL, &error));
        row = channel_row (t0 + 1000, 30, 2, 120);
        g_assert_true (augur_store_write_activity (st, &row, 1, NULL, 0, &filled, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (filled, ==, 1);
        /* nothing of the tick is visible before its commit */
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity"), ==, 0);
        g_assert_true (augur_store_tick_commit (st, &error));
        g_assert_cmpfloat (query (f->path, "SELECT sessions FROM samples ORDER BY ts_ms DESC LIMIT 1"), ==, 2);

        /* rolled back: sample, report and audit row all go */
        g_assert_true (augur_store_tick_begin (st, t0 + 5000, &s, 1, NULL, 10, NULL, &error));
        row = channel_row (t0 + 6000, 60, 3, 240);
        g_assert_true (augur_store_write_activity (st, &row, 1, NULL, 0, &filled, &error));
        dec.ts_ms = t0 + 5000;
        g_strlcpy (dec.uuid, UUID1, sizeof dec.uuid);
        g_strlcpy (dec.name, "vm1", sizeof dec.name);
        dec.mode = "act";
        dec.policy = "augur";
        dec.mem_used_kib = dec.mem_alloc_kib = dec.mem_target_kib = NAN;
        dec.mem_p50_kib = dec.mem_upper_kib = dec.cpu_p50_cores = dec.cpu_upper_cores = NAN;
        dec.cpu_cores_used = dec.horizon_s = NAN;
        g_assert_true (augur_store_write_decisions (st, &dec, 1, &error));
        augur_store_tick_rollback (st);
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM samples"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM decisions"), ==, 0);
        /* and the store goes on as if it never happened */
        g_assert_true (augur_store_write_tick (st, t0 + 10000, &s, 1, NULL, 10, NULL, &error));
        g_assert_true (augur_store_write_decisions (st, &dec, 1, &error));
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM decisions"), ==, 1);
        augur_domain_sample_clear (&s);

        g_clear_pointer (&st, augur_store_close);      /* writes the open buckets */
        g_assert_cmpfloat (query (f->path, "SELECT n FROM rollups WHERE res_s = 60 AND bucket_s = 1700000100"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT sessions_n FROM rollups WHERE res_s = 60 AND bucket_s = 1700000100"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT sessions_sum FROM rollups WHERE res_s = 300 AND bucket_s = 1700000100"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT sessions_n FROM rollups WHERE res_s = 60 AND bucket_s = 1700000040"), ==, 0);
}

static void
test_store_full_disk (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (AugurActivityRow));
        gint64 pages;

        write_tick (st, 1700000100000);
        pages = (gint64) query (f->path, "PRAGMA page_count");
        for (int i = 0; i < 2000; i++) {
                AugurActivityRow r = channel_row (1700000100001 + i, 1, 1, 1);

                g_array_append_val (rows, r);
        }
        augur_store_test_set_max_pages (st, pages + 1);
        g_assert_false (augur_store_write_activity (st, (AugurActivityRow *) rows->data, rows->len,
                                                    NULL, 0, NULL, &error));
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FULL);
        /* all or nothing */
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity"), ==, 0);
        g_assert_true (isnan (query (f->path, "SELECT sessions FROM samples")));
}

static void
test_store_retention (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autoptr(GError) error = NULL;
        AugurRetention keep = { 3600, 86400 };
        AugurActivityRow rows[3];
        gint64 t = 1700000100000;

        rows[0] = channel_row (t, 1, 1, 1);
        rows[1] = channel_row (t + 3000 * 1000, 1, 1, 1);
        rows[2] = channel_row (t + 7200 * 1000, 1, 1, 1);
        g_assert_true (augur_store_write_activity (st, rows, 3, NULL, 0, NULL, &error));
        augur_store_set_retention (st, &keep);
        g_assert_cmpint (augur_store_activity_apply_retention (st, &error), ==, 2);
        g_assert_no_error (error);
        g_assert_cmpfloat (query (f->path, "SELECT count(*) FROM activity"), ==, 1);
}

/* ---------------------------------------------------------------- daemon */

static void
quiet_libvirt (void *opaque, virErrorPtr e)
{
}

static int
listen_unix (const char *path)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint (fd, >=, 0);
        g_strlcpy (a.sun_path, path, sizeof a.sun_path);
        g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
        g_assert_cmpint (listen (fd, 4), ==, 0);
        return fd;
}

static void
iterate_until (gboolean (*cond) (gpointer), gpointer data, int timeout_ms)
{
        gint64 end = g_get_monotonic_time () + timeout_ms * 1000LL;

        while (!cond (data)) {
                g_assert_cmpint (g_get_monotonic_time (), <, end);
                g_main_context_iteration (NULL, FALSE);
                g_usleep (2000);
        }
}

typedef struct {
        AugurActivity *act;
        const char *uuid;
        guint64 accepted;
        guint connected;
} Wait;

static gboolean
accepted_reached (gpointer data)
{
        Wait *w = data;
        AugurActivityCounters c;

        return augur_activity_get_counters (w->act, w->uuid, &c) && c.accepted >= w->accepted;
}

static gboolean
connected_is (gpointer data)
{
        Wait *w = data;
        guint n, c;

        augur_activity_get_stats (w->act, &n, &c);
        return c == w->connected;
}

static void
write_all (int fd, const char *s)
{
        g_assert_cmpint (write (fd, s, strlen (s)), ==, (gssize) strlen (s));
}

static void
test_daemon (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autofree char *sock = g_build_filename (f->dir, "act.sock", NULL);
        g_autofree char *xml = NULL;
        g_autofree char *sql = NULL;
        virConnectPtr conn;
        virDomainPtr dom, bare;
        AugurHv *hv;
        const AugurHvCallbacks cb = { 0 };
        const AugurHvOptions opts = { 5, 5 };
        char uuid[VIR_UUID_STRING_BUFLEN];
        AugurActivity *act;
        AugurActivityCounters c;
        Wait w = { 0 };
        int lfd, cfd;
        guint n, connected;

        virSetErrorFunc (NULL, quiet_libvirt);
        conn = virConnectOpen ("test:///default");
        if (!conn) {
                g_test_skip ("libvirt's test:///default driver is not available");
                return;
        }
        lfd = listen_unix (sock);
        xml = g_strdup_printf ("<domain type='test'><name>act1</name><memory>65536</memory>"
                               "<os><type>hvm</type></os><devices><channel type='unix'>"
                               "<source mode='bind' path='%s'/>"
                               "<target type='virtio' name='org.augur.activity.0'/></channel>"
                               "</devices></domain>", sock);
        dom = virDomainCreateXML (conn, xml, 0);
        g_assert_nonnull (dom);
        bare = virDomainCreateXML (conn, "<domain type='test'><name>bare</name><memory>65536</memory>"
                                   "<os><type>hvm</type></os></domain>", 0);
        g_assert_nonnull (bare);
        g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
        /* augurd's view of the same driver: through the hypervisor table */
        hv = augur_hv_open ("test:///default", &opts, &cb, NULL, NULL);
        g_assert_nonnull (hv);

        act = augur_activity_new (st);
        w.act = act;
        w.uuid = uuid;

        /* first sync: attaches every running domain, connects act1 */
        augur_activity_sync (act, hv);
        augur_activity_get_stats (act, &n, &connected);
        g_assert_cmpuint (n, ==, 3);            /* test's own "test", act1, bare */
        g_assert_cmpuint (connected, ==, 1);
        cfd = accept (lfd, NULL, NULL);
        g_assert_cmpint (cfd, >=, 0);

        /* a tick's sample for act1, then two reports and one malformed line */
        {
                g_autoptr(GError) error = NULL;
                AugurDomainSample s = { 0 };

                g_strlcpy (s.uuid, uuid, sizeof s.uuid);
                s.name = g_strdup ("act1");
                s.id = (int) virDomainGetID (dom);
                augur_sample_set (&s, AUGUR_STAT_STATE, 1);
                g_assert_true (augur_store_write_tick (st, g_get_real_time () / 1000, &s, 1, NULL, 1, NULL, &error));
                augur_domain_sample_clear (&s);
        }
        write_all (cfd, "{\"v\":1,\"seq\":1,\"interval_ms\":5000,\"proc_starts_per_min\":600,\"top\":[]}\n"
                        "{\"v\":9,\"seq\":2,\"interval_ms\":5000}\n"
                        "{\"v\":1,\"seq\":3,\"interval_ms\":5000,\"sessions\":1,\"user_sessions\":[0,1,0,0],"
                        "\"psi_mem\":12.5,\"oom_kill\":2,\"top\":[{\"comm\":\"cc1\",\"cpu_pct\":50}]}\n");
        w.accepted = 2;
        iterate_until (accepted_reached, &w, 5000);
        g_assert_true (augur_activity_get_counters (act, uuid, &c));
        g_assert_cmpuint (c.dropped_range, ==, 1);
        g_assert_cmpuint (c.connects, ==, 1);
        /* the forecaster's and the resize loop's view: the newest accepted
         * report only (seq 3: sessions, buckets, psi_mem and oom_kill,
         * nothing else), and only while it is fresh */
        {
                AugurActivityLatest a;
                gint64 now_ms = g_get_real_time () / 1000;

                g_assert_true (augur_activity_latest (act, uuid, now_ms, 15000, &a));
                g_assert_cmpfloat (a.sessions, ==, 1);
                g_assert_true (isnan (a.proc_starts_per_min));
                g_assert_true (isnan (a.input_events_per_min));
                g_assert_cmpfloat (a.prog_pct[6], ==, 50);          /* cc1 */
                g_assert_cmpfloat (a.prog_pct[0], ==, 0);
                g_assert_cmpfloat (a.user_sessions[1], ==, 1);
                g_assert_cmpfloat (a.psi_mem, ==, 12.5);
                g_assert_cmpfloat (a.oom_kill, ==, 2);
                g_assert_false (augur_activity_latest (act, uuid, now_ms + 16000, 15000, &a));
                g_assert_false (augur_activity_latest (act, "00000000-0000-0000-0000-000000000000", now_ms, 15000, &a));
        }

        augur_activity_sync (act, hv);       /* flush */
        sql = g_strdup_printf ("SELECT count(*) FROM activity a JOIN domains d ON d.id = a.domain_id "
                               "WHERE d.uuid = '%s' AND a.source = 0", uuid);
        g_assert_cmpfloat (query (f->path, sql), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT proc_starts_per_min FROM samples"), ==, 600);
        /* seq 1 filled it: its empty "top" is 0 in every program bucket,
         * and it had no user_sessions */
        g_assert_cmpfloat (query (f->path, "SELECT prog_b6 FROM samples"), ==, 0);
        g_assert_true (isnan (query (f->path, "SELECT user_b1 FROM samples")));
        g_assert_cmpfloat (query (f->path, "SELECT dropped_range FROM activity_drops"), ==, 1);
        g_assert_cmpfloat (query (f->path, "SELECT accepted FROM activity_drops"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT oom_kill FROM activity WHERE seq = 3"), ==, 2);
        g_assert_cmpfloat (query (f->path, "SELECT psi_mem FROM activity WHERE seq = 3"), ==, 12.5);
        g_assert_true (isnan (query (f->path, "SELECT oom_kill FROM activity WHERE seq = 1")));

        /* the peer goes away (QEMU restarted the chardev): EOF, reconnect */
        close (cfd);
        w.connected = 0;
        iterate_until (connected_is, &w, 5000);
        augur_activity_sync (act, hv);       /* too early: backoff (1 s) */
        augur_activity_get_stats (act, NULL, &connected);
        g_assert_cmpuint (connected, ==, 0);
        g_usleep ((gulong) (AUGUR_ACTIVITY_RECONNECT_MIN_S * G_USEC_PER_SEC) + 100000);
        augur_activity_sync (act, hv);
        augur_activity_get_stats (act, NULL, &connected);
        g_assert_cmpuint (connected, ==, 1);
        cfd = accept (lfd, NULL, NULL);
        g_assert_cmpint (cfd, >=, 0);
        /* a partial line from before the cut does not glue onto new data */
        write_all (cfd, "{\"v\":1,\"seq\":4,\"interval_ms\":5000}\n");
        w.accepted = 3;
        iterate_until (accepted_reached, &w, 5000);
        g_assert_true (augur_activity_get_counters (act, uuid, &c));
        g_assert_cmpuint (c.connects, ==, 2);
        /* seq 4 has neither: unknown (NAN), not the older report's values
         * and not 0 */
        {
                AugurActivityLatest a;

                g_assert_true (augur_activity_latest (act, uuid, g_get_real_time () / 1000, 15000, &a));
                g_assert_true (isnan (a.psi_mem));
                g_assert_true (isnan (a.oom_kill));
        }

        /* the domain stops: channel closed, dropped at the next sync after
         * its reports and counters are stored */
        g_assert_cmpint (virDomainDestroy (dom), ==, 0);
        augur_activity_domain_stopped (act, uuid);
        augur_activity_get_stats (act, NULL, &connected);
        g_assert_cmpuint (connected, ==, 0);
        augur_activity_sync (act, hv);
        g_assert_false (augur_activity_get_counters (act, uuid, &c));
        g_assert_cmpfloat (query (f->path, sql), ==, 3);
        g_assert_cmpfloat (query (f->path, "SELECT connects FROM activity_drops"), ==, 2);

        /* without a connection the known channels still work; nothing breaks */
        augur_activity_sync (act, NULL);
        augur_activity_free (act);

        close (cfd);
        close (lfd);
        virDomainFree (dom);
        virDomainDestroy (bare);
        virDomainFree (bare);
        augur_hv_close (hv);
        virConnectClose (conn);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        g_log_set_writer_func (count_writer, NULL, NULL);
        g_test_add_func ("/activity/parse/guest-line", test_parse_guest_line);
        g_test_add_func ("/activity/parse/minimal", test_parse_minimal);
        g_test_add_func ("/activity/parse/hostile", test_parse_hostile);
        g_test_add_func ("/activity/parse/no-buckets", test_parse_no_buckets);
        g_test_add_func ("/activity/parse/oom-kill", test_parse_oom_kill);
        g_test_add_func ("/activity/parse/nul", test_parse_nul);
        g_test_add_func ("/activity/parse/oversize", test_parse_oversize);
        g_test_add_func ("/activity/parse/numbers", test_parse_numbers);
        g_test_add_func ("/activity/parse/garbage", test_parse_garbage);
        add_corpus_tests ();
        g_test_add_func ("/activity/reader/framing", test_reader_framing);
        g_test_add_func ("/activity/reader/rate", test_reader_rate);
        g_test_add_func ("/activity/reader/flood", test_reader_flood);
        g_test_add_func ("/activity/reader/endless-line", test_reader_endless_line);
        g_test_add_func ("/activity/xml/channel-path", test_xml);
        g_test_add_func ("/activity/guest/user-sessions", test_guest_user_sessions);
        g_test_add_func ("/activity/guest/oom-kill", test_guest_oom_kill);
        g_test_add ("/activity/store/rows", Fixture, NULL, setup, test_store_rows, teardown);
        g_test_add ("/activity/store/in-tick", Fixture, NULL, setup, test_store_in_tick, teardown);
        g_test_add ("/activity/store/full-disk", Fixture, NULL, setup, test_store_full_disk, teardown);
        g_test_add ("/activity/store/retention", Fixture, NULL, setup, test_store_retention, teardown);
        g_test_add ("/activity/daemon/test-driver", Fixture, NULL, setup, test_daemon, teardown);
        return g_test_run ();
}
