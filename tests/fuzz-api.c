/* fuzz-api.c — libFuzzer target for the two request parsers augurd shows
 * to local users: the API's JSON line (plugin/api-request.c, through its
 * public entry point augur_api_handle_line(), as the socket calls it; the
 * API itself, made without a socket, is plugin/api.c's) and the
 * metrics endpoint's HTTP request head (augur_metrics_parse_request(),
 * plugin/metrics.c).  And a plain fallback that runs them over files.
 *
 * Every input goes whole to both.  The API runs without a socket and with
 * stub ops, once for each kind of peer (none, group, admin).  Checked:
 *   API   - no crash, no sanitizer report, no g_critical;
 *         - the reply is one line (no "\n": it is framed by one) of a JSON
 *           object with a boolean "ok", a "result" object when true, else an
 *           "error" object whose "code" is one of api.h's codes;
 *         - a peer with no rights never gets "ok": true, and no call runs
 *           for it; reload never runs but for an admin;
 *         - what notify hands the daemon is what api.h promises: a known
 *           operation, valid UTF-8 domain of 1 to AUGUR_API_MAX_DOMAIN_BYTES.
 *   HTTP  - the status is one of the documented ones, *ret_head only for 200;
 *         - a decision taken on a prefix of the head stays the same when
 *           more bytes arrive (the server answers on the first decision).
 *
 * With libFuzzer (tests/run-fuzz.sh api does exactly this, bounded):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DAUGUR_FUZZ_LIBFUZZER \
 *     -I. -Iplugin -Ipolicy -Icommon tests/fuzz-api.c plugin/api-request.c \
 *     plugin/api.c plugin/metrics.c \
 *     $(pkg-config --cflags --libs glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0) -lm \
 *     -o fuzz-api
 *   ./fuzz-api -max_total_time=60 corpus/ tests/data/api-corpus/
 *
 * Without libFuzzer (the automake build): a GTest program, with the driver
 * all targets share (fuzz-driver.h).
 *   fuzz-api [FILE...]   runs each FILE (e.g. a crash reproducer); with no
 *                        FILE, every seed of tests/data/api-corpus and a
 *                        deterministic set of mutations of each.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz-driver.h"
#include "metrics.h"

typedef struct {
        guint calls;                    /* ops called for this peer          */
        guint reloads;
} Stub;

static void
die (const char *what)
{
        g_printerr ("fuzz-api: %s\n", what);
        abort ();
}

static void
stub_status (gpointer daemon, JsonBuilder *result)
{
        Stub *s = daemon;

        s->calls++;
        json_builder_set_member_name (result, "pid");
        json_builder_add_int_value (result, 1);
}

static void
stub_domains (gpointer daemon, JsonBuilder *result)
{
        Stub *s = daemon;

        s->calls++;
        json_builder_set_member_name (result, "domains");
        json_builder_begin_array (result);
        json_builder_end_array (result);
}

static gboolean
stub_notify (gpointer daemon, const AugurApiNotify *n, GError **error)
{
        Stub *s = daemon;
        gsize len;

        s->calls++;
        if (!n->op || !n->sub_op || !n->domain || !n->peer)
                die ("notify: a NULL member");
        len = strlen (n->domain);
        if (len == 0 || len > AUGUR_API_MAX_DOMAIN_BYTES || !g_utf8_validate (n->domain, -1, NULL))
                die ("notify: a domain api.h does not allow");
        if (n->op_code < 0 || n->op_code > 8 || n->sub_op_code < 0 || n->sub_op_code > 2)
                die ("notify: an unknown operation code");
        /* Exercise the failure path too. */
        if (n->domain[0] == 'x') {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS, "stub refuses x");
                return FALSE;
        }
        return TRUE;
}

static gboolean
stub_reload (gpointer daemon, GError **error)
{
        Stub *s = daemon;

        s->calls++;
        s->reloads++;
        return TRUE;
}

static const AugurApiOps stub_ops = { stub_status, stub_domains, stub_notify, stub_reload };

static void
check_reply (const char *reply, const AugurApiPeer *peer)
{
        static const char *const codes[] = {
                "parse-error", "invalid-request", "unknown-call", "permission-denied", "invalid-args",
                "too-large", "busy", "unsupported", "failed",
                "rate-limited",         /* notify floods */
        };
        g_autoptr(JsonParser) p = json_parser_new ();
        JsonObject *o, *e;
        JsonNode *ok, *code;
        const char *c;
        gboolean known = FALSE;

        if (!reply)
                die ("no reply");
        if (strchr (reply, '\n'))
                die ("a reply with a newline breaks the line framing");
        if (!json_parser_load_from_data (p, reply, -1, NULL) || !json_parser_get_root (p) ||
            !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
                die ("the reply is not a JSON object");
        o = json_node_get_object (json_parser_get_root (p));
        ok = json_object_get_member (o, "ok");
        if (!ok || !JSON_NODE_HOLDS_VALUE (ok) || json_node_get_value_type (ok) != G_TYPE_BOOLEAN)
                die ("no boolean \"ok\"");
        if (json_node_get_boolean (ok)) {
                if (!peer->admin && !peer->in_group)
                        die ("a peer with no rights got an answer");
                if (!json_object_has_member (o, "result") ||
                    !JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "result")))
                        die ("ok without a result object");
                return;
        }
        if (!json_object_has_member (o, "error") || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "error")))
                die ("a failure without an error object");
        e = json_object_get_object_member (o, "error");
        code = json_object_get_member (e, "code");
        if (!code || !JSON_NODE_HOLDS_VALUE (code) || json_node_get_value_type (code) != G_TYPE_STRING)
                die ("an error without a string code");
        c = json_node_get_string (code);
        for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
                known |= strcmp (c, codes[i]) == 0;
        if (!known)
                die ("an error code api.h does not list");
}

static void
run_api (const guint8 *data, gsize size)
{
        static AugurApi *api;
        static Stub stub;
        const AugurApiPeer peers[] = {
                { .pid = 4242, .uid = 1000, .gid = 1000 },                      /* no rights */
                { .pid = 4242, .uid = 1000, .gid = 1000, .in_group = TRUE },    /* API group */
                { .pid = 4242, .uid = 0, .gid = 0, .admin = TRUE },             /* root      */
        };

        if (!api) {
                /* group "": root only, no /etc/group lookup; no socket */
                AugurApiOptions o = { .group = "" };
                g_autoptr(GError) error = NULL;

                api = augur_api_new_full (NULL, &o, &stub_ops, &stub, &error);
                if (!api)
                        die (error->message);
        }
        for (gsize i = 0; i < G_N_ELEMENTS (peers); i++) {
                g_autofree char *reply = NULL;

                memset (&stub, 0, sizeof stub);
                reply = augur_api_handle_line (api, &peers[i], (const char *) data, size);
                check_reply (reply, &peers[i]);
                if (!peers[i].admin && !peers[i].in_group && stub.calls > 0)
                        die ("a call ran for a peer with no rights");
                if (!peers[i].admin && stub.reloads > 0)
                        die ("reload ran for a peer that is not admin");
        }
}

static void
run_http (const guint8 *data, gsize size)
{
        const char *buf = (const char *) data;
        gboolean head = FALSE, head_half = FALSE;
        guint status, half;

        size = MIN (size, (gsize) AUGUR_METRICS_MAX_REQUEST_BYTES);   /* the server reads no more */
        status = augur_metrics_parse_request (buf, size, &head);
        switch (status) {
        case 0: case 200: case 400: case 404: case 405: case 431: case 505:
                break;
        default:
                die ("http: a status metrics.h does not list");
        }
        if (head && status != 200)
                die ("http: HEAD flagged on a non-200 answer");
        half = augur_metrics_parse_request (buf, size / 2, &head_half);
        if (half != 0 && (half != status || head_half != head))
                die ("http: a decision changed when more bytes arrived");
}

static void
run_one (const guint8 *data, gsize size)
{
        run_api (data, size);
        run_http (data, size);
}

/* API logs (a refused call, a reload) are not findings; criticals are. */
static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return g_log_writer_standard_streams (level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
}

#ifdef AUGUR_FUZZ_LIBFUZZER

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
        g_log_set_writer_func (quiet_writer, NULL, NULL);
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

/* JSON punctuation, whitespace and the HTTP request line's separators; the
 * replacement set ends with its NUL, so an edit may also write a 0 byte. */
static const char replace[] = "{}[],:\"\\ \r\n/?";
static const char insert[] = "0123456789\"\\{[";

int
main (int argc, char **argv)
{
        static const AugurFuzzTarget t = {
                .name = "fuzz-api", .corpus = "api-corpus", .mutations = 1000,
                .replace = replace, .n_replace = sizeof replace,
                .insert = insert, .n_insert = sizeof insert - 1,
                .run_one = run_one, .writer = quiet_writer,
        };

        return augur_fuzz_main (&t, argc, argv);
}

#endif
