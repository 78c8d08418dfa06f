/* test-api.c — augurd's local API (plugin/api.c, api-request.c): request
 * parsing, the permission table, limits (line length, clients, idle time),
 * the socket file (mode, group, stale and live sockets) and real peers of
 * another uid.
 *
 * The daemon side is a fake AugurApiOps that records what reached it, so
 * these tests need neither libvirt nor a store.  Tests that need root (a
 * chown to another group, a child that setuid()s to nobody) skip without.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "augur-config.h"

/* ------------------------------------------------- chmod/chown interposed */

/* The test binary defines chmod() and chown(): the API's calls (linked
 * statically from libaugurd.a) resolve to these, which count the calls on
 * watched_path and then do the real thing through fchmodat/fchownat.
 * Both follow a symlink at the end of the path, which is why the API must
 * not use them on its socket (a notify flood). */
static char *watched_path;
static guint n_path_chmod, n_path_chown;

int
chmod (const char *path, mode_t mode)
{
        if (watched_path && strcmp (path, watched_path) == 0)
                n_path_chmod++;
        return fchmodat (AT_FDCWD, path, mode, 0);
}

int
chown (const char *path, uid_t owner, gid_t group)
{
        if (watched_path && strcmp (path, watched_path) == 0)
                n_path_chown++;
        return fchownat (AT_FDCWD, path, owner, group, 0);
}

/* ---------------------------------------------------------------- the fake */

typedef struct {
        guint n_status;
        guint n_notify;
        guint n_reload;
        char *op;
        char *sub_op;
        char *domain;
        int op_code;
        int sub_op_code;
        gboolean fail;                /* make notify/reload fail */
} Fake;

static void
fake_clear (Fake *f)
{
        g_free (f->op);
        g_free (f->sub_op);
        g_free (f->domain);
        memset (f, 0, sizeof *f);
}

static void
fake_status (gpointer data, JsonBuilder *b)
{
        Fake *f = data;

        f->n_status++;
        json_builder_set_member_name (b, "fake");
        json_builder_add_boolean_value (b, TRUE);
}

static void
fake_domains (gpointer data, JsonBuilder *b)
{
        json_builder_set_member_name (b, "domains");
        json_builder_begin_array (b);
        json_builder_end_array (b);
}

static gboolean
fake_notify (gpointer data, const AugurApiNotify *n, GError **error)
{
        Fake *f = data;

        if (f->fail) {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "fake failure");
                return FALSE;
        }
        f->n_notify++;
        g_free (f->op);
        f->op = g_strdup (n->op);
        g_free (f->sub_op);
        f->sub_op = g_strdup (n->sub_op);
        g_free (f->domain);
        f->domain = g_strdup (n->domain);
        f->op_code = n->op_code;
        f->sub_op_code = n->sub_op_code;
        return TRUE;
}

static gboolean
fake_reload (gpointer data, GError **error)
{
        Fake *f = data;

        if (f->fail) {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "bad config");
                return FALSE;
        }
        f->n_reload++;
        return TRUE;
}

/* io_forecast: one guest, "vm"; any other is not there. */
static gboolean
fake_io_forecast (gpointer data, const char *domain, JsonBuilder *b, GError **error)
{
        if (strcmp (domain, "vm") != 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS, "no such guest");
                return FALSE;
        }
        json_builder_set_member_name (b, "series");
        json_builder_begin_array (b);
        json_builder_end_array (b);
        return TRUE;
}

static const AugurApiOps fake_ops = {
        .status = fake_status,
        .domains = fake_domains,
        .io_forecast = fake_io_forecast,
        .notify = fake_notify,
        .reload = fake_reload,
};

static const AugurApiPeer peer_admin = { 1, 0, 0, TRUE, FALSE };
static const AugurApiPeer peer_group = { 2, 1000, 1000, FALSE, TRUE };
static const AugurApiPeer peer_other = { 3, 65534, 65534, FALSE, FALSE };
static const AugurApiPeer peer_unknown = { -1, -1, -1, FALSE, FALSE };

/* The "code" of an error reply, "ok" for a success, or "?" */
static char *
reply_code (const char *reply)
{
        g_autoptr(JsonParser) p = json_parser_new ();
        JsonObject *o, *e;

        g_assert_nonnull (reply);
        g_assert_null (strchr (reply, '\n'));          /* one line, always */
        g_assert_true (json_parser_load_from_data (p, reply, -1, NULL));
        g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
        o = json_node_get_object (json_parser_get_root (p));
        if (json_object_get_boolean_member (o, "ok"))
                return g_strdup ("ok");
        e = json_object_get_object_member (o, "error");
        g_assert_nonnull (json_object_get_string_member (e, "message"));
        return g_strdup (json_object_get_string_member (e, "code"));
}

static char *
call_code (AugurApi *api, const AugurApiPeer *peer, const char *line)
{
        g_autofree char *reply = augur_api_handle_line (api, peer, line, strlen (line));

        return reply_code (reply);
}

/* ----------------------------------------------------------- parse (table) */

static const struct {
        const char *line;
        const char *code;
} parse_cases[] = {
        { "{\"call\":\"status\"}", "ok" },
        { "  { \"call\" : \"status\" , \"args\" : { } }  ", "ok" },
        { "{\"call\":\"status\",\"args\":null}", "ok" },
        { "{\"call\":\"status\",\"future\":[1,2]}", "ok" },             /* unknown members ignored */
        { "{\"call\":\"domains\"}", "ok" },
        { "{\"call\":\"io_forecast\",\"args\":{\"domain\":\"vm\"}}", "ok" },
        { "{\"call\":\"io_forecast\"}", "invalid-args" },
        { "{\"call\":\"io_forecast\",\"args\":{\"domain\":7}}", "invalid-args" },
        { "{\"call\":\"io_forecast\",\"args\":{\"domain\":\"\"}}", "invalid-args" },
        { "{\"call\":\"io_forecast\",\"args\":{\"domain\":\"other\"}}", "invalid-args" },
        { "garbage", "parse-error" },
        { "{", "parse-error" },
        { "{\"call\":\"status\"", "parse-error" },
        { "{\"call\":\"status\"} trailing", "parse-error" },
        { "{\"call\":\"status\"}{\"call\":\"status\"}", "parse-error" },
        /* a second value after a scalar: json-glib 1.6 would leak the second
         * (LeakSanitizer, configure --enable-sanitizers) */
        { "8{\"call\":\"status\"}", "parse-error" },
        { "\"x\"[{\"a\":1}]", "parse-error" },
        { "null {\"call\":\"status\"}", "parse-error" },
        { "[]", "invalid-request" },
        { "[{\"call\":\"status\"}]", "invalid-request" },
        { "\"status\"", "invalid-request" },
        { "42", "invalid-request" },
        { "null", "invalid-request" },
        { "{}", "invalid-request" },
        { "{\"call\":null}", "invalid-request" },
        { "{\"call\":7}", "invalid-request" },
        { "{\"call\":[\"status\"]}", "invalid-request" },
        { "{\"call\":{\"name\":\"status\"}}", "invalid-request" },
        { "{\"call\":\"status\",\"args\":[]}", "invalid-request" },
        { "{\"call\":\"status\",\"args\":\"x\"}", "invalid-request" },
        { "{\"call\":\"\"}", "unknown-call" },
        { "{\"call\":\"STATUS\"}", "unknown-call" },
        { "{\"call\":\"status \"}", "unknown-call" },
        { "{\"call\":\"shutdown\"}", "unknown-call" },
        { "{\"call\":\"notify\"}", "invalid-args" },
        { "{\"id\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"call\":\"status\"}",
          "invalid-request" },                                       /* nests 33 deep */
        { "{\"id\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"call\":\"status\"}",
          "ok" },                                                    /* nests 32 deep */
        { "{\"call\":\"status\",\"id\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", "ok" },  /* in a string */
        /* escapes: JSON's only (json-glib also takes octal, any letter, lone
         * surrogates; found by fuzz-api) */
        { "{\"call\":\"status\",\"id\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", "ok" },
        { "{\"call\":\"status\",\"id\":\"\\266\"}", "parse-error" },        /* octal: not UTF-8 */
        { "{\"call\":\"status\",\"id\":\"\\0\"}", "parse-error" },
        { "{\"call\":\"status\",\"id\":\"\\q\"}", "parse-error" },
        { "{\"call\":\"status\",\"id\":\"\\x41\"}", "parse-error" },
        { "{\"call\":\"status\",\"id\":\"a\\u0000b\"}", "parse-error" },    /* would cut the string */
        { "{\"call\":\"status\",\"id\":\"\\ud800x\"}", "parse-error" },     /* lone high surrogate */
        { "{\"call\":\"status\",\"id\":\"\\udc00\"}", "parse-error" },      /* lone low surrogate */
        { "{\"call\":\"status\",\"id\":\"\\u12\"}", "parse-error" },
        { "{\"a\\266\"", "parse-error" },                          /* the reply quotes it */
        /* json-glib cuts its quote of the string inside the \xc2\xa0: the
         * reply must still be UTF-8 */
        { "{\"ca\\u00a00gst\\u00a00allpermission-dmission-dt\\u00a00gs\"c\": \"stAcs", "parse-error" },
};

static void
test_parse (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);

        for (gsize i = 0; i < G_N_ELEMENTS (parse_cases); i++) {
                g_autofree char *code = call_code (api, &peer_admin, parse_cases[i].line);

                g_test_message ("row %zu: %s -> %s", i, parse_cases[i].line, code);
                g_assert_cmpstr (code, ==, parse_cases[i].code);
        }
        fake_clear (&f);
}

static void
test_parse_bytes (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);
        static const char nul[] = "{\"call\":\"status\"}\0{\"call\":\"reload\"}";
        static const char latin1[] = "{\"call\":\"status\",\"id\":\"caf\xe9\"}";
        static const char overlong[] = "{\"call\":\"st\xc0\xafus\"}";
        g_autofree char *r1 = augur_api_handle_line (api, &peer_admin, nul, sizeof nul - 1);
        g_autofree char *r2 = augur_api_handle_line (api, &peer_admin, latin1, sizeof latin1 - 1);
        g_autofree char *r3 = augur_api_handle_line (api, &peer_admin, overlong, sizeof overlong - 1);
        g_autofree char *r4 = augur_api_handle_line (api, &peer_admin, "", 0);
        g_autofree char *c1 = reply_code (r1), *c2 = reply_code (r2), *c3 = reply_code (r3), *c4 = reply_code (r4);

        g_assert_cmpstr (c1, ==, "parse-error");
        g_assert_cmpstr (c2, ==, "parse-error");
        g_assert_cmpstr (c3, ==, "parse-error");
        g_assert_cmpstr (c4, ==, "parse-error");
        g_assert_cmpuint (f.n_reload, ==, 0);   /* nothing after the NUL ran */
        fake_clear (&f);
}

static void
test_id_echo (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);
        const char *ids[] = { "7", "\"abc\"", "{\"a\":[1,2]}", "null", "-1.5" };

        for (gsize i = 0; i < G_N_ELEMENTS (ids); i++) {
                g_autofree char *line = g_strdup_printf ("{\"id\":%s,\"call\":\"status\"}", ids[i]);
                g_autofree char *bad = g_strdup_printf ("{\"id\":%s,\"call\":\"nope\"}", ids[i]);
                g_autofree char *r = augur_api_handle_line (api, &peer_admin, line, strlen (line));
                g_autofree char *rb = augur_api_handle_line (api, &peer_admin, bad, strlen (bad));
                g_autofree char *want = g_strdup_printf ("\"id\":%s}", ids[i]);

                g_test_message ("id %s: %s / %s", ids[i], r, rb);
                g_assert_true (g_str_has_suffix (r, want));
                g_assert_true (g_str_has_suffix (rb, want));
        }
        fake_clear (&f);
}

/* --------------------------------------------------------- the permissions */

static const struct {
        const char *line;
        const char *admin, *group, *other, *unknown;
} access_cases[] = {
        { "{\"call\":\"status\"}", "ok", "ok", "permission-denied", "permission-denied" },
        { "{\"call\":\"domains\"}", "ok", "ok", "permission-denied", "permission-denied" },
        { "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"vm\"}}",
          "ok", "ok", "permission-denied", "permission-denied" },
        { "{\"call\":\"reload\"}", "ok", "permission-denied", "permission-denied", "permission-denied" },
        { "{\"call\":\"io_forecast\",\"args\":{\"domain\":\"vm\"}}",
          "ok", "ok", "permission-denied", "permission-denied" },
        /* Unknown calls are unknown to everyone; parse errors come first. */
        { "{\"call\":\"nope\"}", "unknown-call", "unknown-call", "unknown-call", "unknown-call" },
        { "nope", "parse-error", "parse-error", "parse-error", "parse-error" },
};

static void
test_access_table (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);

        for (gsize i = 0; i < G_N_ELEMENTS (access_cases); i++) {
                const AugurApiPeer *peers[] = { &peer_admin, &peer_group, &peer_other, &peer_unknown };
                const char *want[] = { access_cases[i].admin, access_cases[i].group,
                                       access_cases[i].other, access_cases[i].unknown };

                for (gsize p = 0; p < G_N_ELEMENTS (peers); p++) {
                        g_autofree char *code = call_code (api, peers[p], access_cases[i].line);

                        g_test_message ("row %zu peer %zu: %s -> %s", i, p, access_cases[i].line, code);
                        g_assert_cmpstr (code, ==, want[p]);
                }
        }
        /* Refused calls never reached the daemon. */
        g_assert_cmpuint (f.n_reload, ==, 1);
        g_assert_cmpuint (f.n_notify, ==, 2);
        g_assert_cmpuint (f.n_status, ==, 2);

        g_assert_true (augur_api_peer_allowed (&peer_admin, AUGUR_API_ACCESS_ADMIN));
        g_assert_false (augur_api_peer_allowed (&peer_group, AUGUR_API_ACCESS_ADMIN));
        g_assert_true (augur_api_peer_allowed (&peer_group, AUGUR_API_ACCESS_HOOK));
        g_assert_false (augur_api_peer_allowed (&peer_other, AUGUR_API_ACCESS_READ));
        fake_clear (&f);
}

/* ------------------------------------------------------------------ notify */

static void
test_notify_args (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);
        g_autofree char *name_max = g_strnfill (AUGUR_API_MAX_DOMAIN_BYTES, 'a');
        g_autofree char *name_over = g_strnfill (AUGUR_API_MAX_DOMAIN_BYTES + 1, 'a');
        g_autofree char *line_max = g_strdup_printf (
                "{\"call\":\"notify\",\"args\":{\"op\":\"stopped\",\"domain\":\"%s\"}}", name_max);
        g_autofree char *line_over = g_strdup_printf (
                "{\"call\":\"notify\",\"args\":{\"op\":\"stopped\",\"domain\":\"%s\"}}", name_over);
        static const struct {
                const char *args;
                const char *code;
        } rows[] = {
                { "{\"op\":\"started\",\"sub\":\"begin\",\"domain\":\"vm1\"}", "ok" },
                { "{\"op\":\"prepare\",\"domain\":\"vm1\"}", "ok" },
                { "{\"op\":\"migrate\",\"sub\":\"-\",\"domain\":\"vm1\"}", "ok" },
                { "{\"op\":\"started\",\"sub\":null,\"domain\":\"vm1\"}", "ok" },
                { "{\"op\":\"boom\",\"domain\":\"vm1\"}", "invalid-args" },
                { "{\"op\":\"Started\",\"domain\":\"vm1\"}", "invalid-args" },
                { "{\"op\":\"started\",\"sub\":\"middle\",\"domain\":\"vm1\"}", "invalid-args" },
                { "{\"op\":\"started\",\"sub\":1,\"domain\":\"vm1\"}", "invalid-args" },
                { "{\"op\":\"started\"}", "invalid-args" },
                { "{\"op\":\"started\",\"domain\":\"\"}", "invalid-args" },
                { "{\"op\":\"started\",\"domain\":17}", "invalid-args" },
                { "{\"op\":[\"started\"],\"domain\":\"vm1\"}", "invalid-args" },
                { "{\"domain\":\"vm1\"}", "invalid-args" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autofree char *line = g_strdup_printf ("{\"call\":\"notify\",\"args\":%s}", rows[i].args);
                g_autofree char *code = call_code (api, &peer_admin, line);

                g_test_message ("row %zu: %s -> %s", i, rows[i].args, code);
                g_assert_cmpstr (code, ==, rows[i].code);
        }
        {
                g_autofree char *c1 = call_code (api, &peer_admin, line_max);
                g_autofree char *c2 = call_code (api, &peer_admin, line_over);

                g_assert_cmpstr (c1, ==, "ok");
                g_assert_cmpstr (c2, ==, "invalid-args");
        }
        /* Codes are libvirt's enum values (virHookQemuOpType, virHookSubopType). */
        {
                g_autofree char *c = call_code (api, &peer_admin,
                                                "{\"call\":\"notify\",\"args\":{\"op\":\"release\",\"sub\":\"end\",\"domain\":\"x\"}}");

                g_assert_cmpstr (c, ==, "ok");
                g_assert_cmpstr (f.op, ==, "release");
                g_assert_cmpint (f.op_code, ==, 3);
                g_assert_cmpstr (f.sub_op, ==, "end");
                g_assert_cmpint (f.sub_op_code, ==, 2);
        }
        /* A failing daemon says so. */
        f.fail = TRUE;
        {
                g_autofree char *c = call_code (api, &peer_admin,
                                                "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"x\"}}");
                g_autofree char *r = call_code (api, &peer_admin, "{\"call\":\"reload\"}");

                g_assert_cmpstr (c, ==, "failed");
                g_assert_cmpstr (r, ==, "failed");
        }
        fake_clear (&f);
}

/* Hostile names reach the daemon byte for byte (after JSON decoding), and
 * the reply is still one line. */
static void
test_notify_hostile_name (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);
        static const struct {
                const char *json;
                const char *decoded;
        } names[] = {
                { "\"$(touch${IFS}augur-pwned);x\"", "$(touch${IFS}augur-pwned);x" },
                { "\"a\\\"b\\\\c\"", "a\"b\\c" },
                { "\"line\\nbreak\\r\\t\"", "line\nbreak\r\t" },
                { "\"`id`;rm -rf / #\"", "`id`;rm -rf / #" },
                { "\"\\u00e9t\\u00e9 \\ud83d\\ude00\"", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80" },
                { "\"' OR 1=1; --\"", "' OR 1=1; --" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                g_autofree char *line = g_strdup_printf (
                        "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":%s}}", names[i].json);
                g_autofree char *code = call_code (api, &peer_group, line);

                g_test_message ("row %zu: %s", i, names[i].json);
                g_assert_cmpstr (code, ==, "ok");
                g_assert_cmpstr (f.domain, ==, names[i].decoded);
        }
        fake_clear (&f);
}

static void
test_unsupported (void)
{
        static const AugurApiOps none = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &none, NULL, NULL);
        const char *lines[] = {
                "{\"call\":\"status\"}", "{\"call\":\"domains\"}", "{\"call\":\"reload\"}",
                "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"x\"}}",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (lines); i++) {
                g_autofree char *code = call_code (api, &peer_admin, lines[i]);

                g_assert_cmpstr (code, ==, "unsupported");
        }
}

static void
test_bad_options (void)
{
        const int bad_modes[] = { 0700, 0640 | 01000, 0400, 0200, 0777, 0060 };
        AugurApiOptions o = { .group = "" };
        g_autoptr(GError) error = NULL;
        AugurApi *api;

        for (gsize i = 0; i < G_N_ELEMENTS (bad_modes); i++) {
                o.mode = bad_modes[i];
                api = augur_api_new_full (NULL, &o, &fake_ops, NULL, &error);
                g_assert_null (api);
                g_assert_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG);
                g_clear_error (&error);
        }
        o.mode = 0;
        o.group = "augur-no-such-group-xyz";
        api = augur_api_new_full (NULL, &o, &fake_ops, NULL, &error);
        g_assert_null (api);
        g_assert_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG);
        g_clear_error (&error);
        /* Defaults: group "" is root-only at 0600. */
        o.group = "";
        api = augur_api_new_full (NULL, &o, &fake_ops, NULL, &error);
        g_assert_no_error (error);
        g_assert_null (augur_api_get_group (api));
        g_assert_cmpint (augur_api_get_mode (api), ==, 0600);
        augur_api_free (api);
}

/* The [api] keys of augur.conf (augur-config.c): parsed, validated, and
 * passed on as AugurApiOptions by the daemon. */
static void
test_config_keys (void)
{
        static const struct {
                const char *text;
                gboolean ok;
                const char *group;    /* expected api_group (NULL = unset) */
                int mode;
        } rows[] = {
                { "", TRUE, NULL, 0 },
                { "[api]\ngroup=adm\nmode=0640\n", TRUE, "adm", 0640 },
                { "[api]\ngroup=\n", TRUE, "", 0 },
                { "[api]\nmode=600\n", TRUE, NULL, 0600 },
                { "[api]\nmode=0666\n", TRUE, NULL, 0666 },
                { "[api]\nmode=0700\n", FALSE, NULL, 0 },     /* execute bits */
                { "[api]\nmode=0460\n", FALSE, NULL, 0 },     /* owner cannot write */
                { "[api]\nmode=0668\n", FALSE, NULL, 0 },     /* not octal */
                { "[api]\nmode=rw\n", FALSE, NULL, 0 },
                { "[api]\nmode=-1\n", FALSE, NULL, 0 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) base = augur_config_new_default ();
                g_autoptr(AugurConfig) c = NULL;
                g_autoptr(GError) error = NULL;
                g_autofree char *path = NULL;
                g_autofree char *shown = g_strescape (rows[i].text, NULL);
                int fd = g_file_open_tmp ("augur-api-conf-XXXXXX", &path, &error);

                g_assert_no_error (error);
                close (fd);
                g_assert_true (g_file_set_contents (path, rows[i].text, -1, NULL));
                c = augur_config_load (base, path, FALSE, &error);
                g_test_message ("row %zu: %s -> %s", i, shown, error ? error->message : "ok");
                g_unlink (path);
                if (!rows[i].ok) {
                        g_assert_null (c);
                        g_assert_nonnull (error);
                        g_assert_nonnull (strstr (error->message, "api.mode"));
                        continue;
                }
                g_assert_no_error (error);
                g_assert_cmpstr (c->api_group, ==, rows[i].group);
                g_assert_cmpint (c->api_mode, ==, rows[i].mode);
        }
}

/* ------------------------------------------------------------- the socket */

typedef struct {
        char *dir;
        char *path;
        Fake fake;
        AugurApi *api;
} SockFixture;

static void
sock_setup (SockFixture *fx, gconstpointer data)
{
        const AugurApiOptions *o = data;
        g_autoptr(GError) error = NULL;

        fx->dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_cmpint (chmod (fx->dir, 0755), ==, 0);       /* other uids reach it */
        fx->path = g_build_filename (fx->dir, "augurd.sock", NULL);
        fx->api = augur_api_new_full (fx->path, o, &fake_ops, &fx->fake, &error);
        g_assert_no_error (error);
        g_assert_nonnull (fx->api);
}

static void
sock_teardown (SockFixture *fx, gconstpointer data)
{
        g_clear_pointer (&fx->api, augur_api_free);
        /* The API removed its socket; anything else a test left is removed here. */
        g_assert_false (g_file_test (fx->path, G_FILE_TEST_EXISTS));
        g_rmdir (fx->dir);
        fake_clear (&fx->fake);
        g_free (fx->path);
        g_free (fx->dir);
}

static int
connect_to (const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint (fd, >=, 0);
        g_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
        g_assert_cmpint (connect (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        return fd;
}

/* Run the main context until fd is readable, at EOF, or 5 s pass. */
static gboolean
pump_until_readable (int fd, int timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        while (g_get_monotonic_time () < deadline) {
                GPollFD p = { fd, G_IO_IN | G_IO_HUP, 0 };

                while (g_main_context_iteration (NULL, FALSE))
                        ;
                if (g_poll (&p, 1, 5) > 0)
                        return TRUE;
        }
        return FALSE;
}

/* Read one line (without "\n"), pumping the main loop meanwhile.  NULL at
 * EOF or after the timeout. */
static char *
read_line (int fd, GString *pending)
{
        for (;;) {
                char *nl = memchr (pending->str, '\n', pending->len);
                char buf[4096];
                ssize_t n;

                if (nl) {
                        char *line = g_strndup (pending->str, nl - pending->str);

                        g_string_erase (pending, 0, nl - pending->str + 1);
                        return line;
                }
                if (!pump_until_readable (fd, 5000))
                        return NULL;
                n = read (fd, buf, sizeof buf);
                if (n <= 0)
                        return NULL;
                g_string_append_len (pending, buf, n);
        }
}

static void
write_all (int fd, const char *s, gsize len)
{
        while (len > 0) {
                ssize_t n = write (fd, s, len);

                g_assert_cmpint (n, >, 0);
                s += n;
                len -= (gsize) n;
        }
}

/* Is fd at EOF (the server hung up) within timeout_ms? */
static gboolean
at_eof (int fd, int timeout_ms)
{
        char buf[256];

        for (;;) {
                ssize_t n;

                if (!pump_until_readable (fd, timeout_ms))
                        return FALSE;
                n = read (fd, buf, sizeof buf);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return TRUE;
        }
}

static void
test_socket_file (SockFixture *fx, gconstpointer data)
{
        struct stat st;

        g_assert_cmpint (lstat (fx->path, &st), ==, 0);
        g_assert_true (S_ISSOCK (st.st_mode));
        g_assert_cmpint (st.st_mode & 07777, ==, 0600);
        g_assert_cmpstr (augur_api_get_path (fx->api), ==, fx->path);
}

static void
test_socket_group (void)
{
        AugurApiOptions o = { .group = NULL };
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_autofree char *path = g_build_filename (dir, "s.sock", NULL);
        struct group *gr = getgrgid (65534);
        AugurApi *api;
        struct stat st;

        if (getuid () != 0 || !gr) {
                g_test_skip ("needs root and a group with gid 65534 (chown to another group)");
                g_rmdir (dir);
                return;
        }
        o.group = gr->gr_name;
        api = augur_api_new_full (path, &o, &fake_ops, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (lstat (path, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0660);
        g_assert_cmpint (st.st_gid, ==, 65534);
        g_assert_cmpint (st.st_uid, ==, 0);
        augur_api_free (api);
        o.mode = 0666;
        api = augur_api_new_full (path, &o, &fake_ops, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (lstat (path, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0666);
        augur_api_free (api);
        g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
        g_rmdir (dir);
}

static void
test_socket_roundtrip (SockFixture *fx, gconstpointer data)
{
        g_autoptr(GString) pending = g_string_new (NULL);
        /* Pipelined: four requests in one write, with CRLF, an empty line
         * and garbage; answers come back in order and the connection
         * survives the garbage. */
        const char *batch =
                "{\"call\":\"status\",\"id\":1}\r\n"
                "\n"
                "garbage\n"
                "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"sub\":\"begin\",\"domain\":\"a\\nb\"},\"id\":3}\n";
        int fd = connect_to (fx->path);
        g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;
        g_autofree char *c1 = NULL, *c2 = NULL, *c3 = NULL;

        write_all (fd, batch, strlen (batch));
        r1 = read_line (fd, pending);
        r2 = read_line (fd, pending);
        r3 = read_line (fd, pending);
        c1 = reply_code (r1);
        c2 = reply_code (r2);
        c3 = reply_code (r3);
        g_assert_cmpstr (c1, ==, "ok");
        g_assert_true (strstr (r1, "\"fake\":true") && g_str_has_suffix (r1, "\"id\":1}"));
        g_assert_cmpstr (c2, ==, "parse-error");
        g_assert_cmpstr (c3, ==, "ok");
        g_assert_true (g_str_has_suffix (r3, "\"id\":3}"));
        g_assert_cmpstr (fx->fake.domain, ==, "a\nb");
        /* The status reply carries the API's own section. */
        g_assert_nonnull (strstr (r1, "\"api\":{\"socket\":"));
        /* A last request without "\n" is served at EOF. */
        write_all (fd, "{\"call\":\"domains\"}", strlen ("{\"call\":\"domains\"}"));
        shutdown (fd, SHUT_WR);
        r4 = read_line (fd, pending);
        g_assert_nonnull (r4);
        g_assert_true (g_str_has_prefix (r4, "{\"ok\":true,\"result\":{\"domains\":[]"));
        g_assert_true (at_eof (fd, 2000));
        close (fd);
        /* The server side is gone too. */
        for (int i = 0; i < 100 && augur_api_get_n_clients (fx->api) > 0; i++)
                g_main_context_iteration (NULL, FALSE);
        g_assert_cmpuint (augur_api_get_n_clients (fx->api), ==, 0);
}

/* Requests of max-1, max and max+1 bytes with a small limit: the first two
 * are served and the connection stays open; the third is too large and
 * ends the connection. */
static void
test_socket_line_limit (SockFixture *fx, gconstpointer data)
{
        const AugurApiOptions *o = data;
        const gsize max = o->max_line_bytes;

        for (gsize len = max - 1; len <= max + 1; len++) {
                g_autoptr(GString) pending = g_string_new (NULL);
                g_autoptr(GString) line = g_string_new ("{\"call\":\"status\",\"id\":\"");
                g_autofree char *reply = NULL, *code = NULL;
                int fd = connect_to (fx->path);

                while (line->len < len - 2)
                        g_string_append_c (line, 'x');
                g_string_append (line, "\"}");
                g_assert_cmpuint (line->len, ==, len);
                g_string_append_c (line, '\n');
                write_all (fd, line->str, line->len);
                reply = read_line (fd, pending);
                code = reply_code (reply);
                g_test_message ("line of %zu bytes (limit %zu): %s", len, max, code);
                if (len <= max) {
                        g_assert_cmpstr (code, ==, "ok");
                        /* still open: another request works */
                        g_free (reply);
                        write_all (fd, "{\"call\":\"status\"}\n", 18);
                        reply = read_line (fd, pending);
                        g_assert_nonnull (reply);
                } else {
                        g_assert_cmpstr (code, ==, "too-large");
                        g_assert_true (at_eof (fd, 2000));
                }
                close (fd);
        }
}

/* The default limit, and a line that never ends: the server must answer
 * once it holds more than the limit, not wait for a newline forever. */
static void
test_socket_endless_line (SockFixture *fx, gconstpointer data)
{
        g_autoptr(GString) pending = g_string_new (NULL);
        g_autofree char *chunk = g_strnfill (AUGUR_API_MAX_LINE_BYTES + 4096, 'x');
        g_autofree char *reply = NULL, *code = NULL;
        int fd = connect_to (fx->path);
        gsize off = 0;

        /* Write in pieces, pumping, so neither side blocks on a full buffer. */
        while (off < strlen (chunk)) {
                ssize_t n = send (fd, chunk + off, MIN (4096, strlen (chunk) - off), MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && (errno == EAGAIN || errno == EPIPE || errno == ECONNRESET))
                        break;
                g_assert_cmpint (n, >, 0);
                off += (gsize) n;
                while (g_main_context_iteration (NULL, FALSE))
                        ;
        }
        reply = read_line (fd, pending);
        code = reply_code (reply);
        g_assert_cmpstr (code, ==, "too-large");
        g_assert_true (at_eof (fd, 2000));
        close (fd);
}

static void
test_socket_max_clients (SockFixture *fx, gconstpointer data)
{
        const AugurApiOptions *o = data;
        g_autoptr(GString) pending = g_string_new (NULL);
        int fds[8];
        g_autofree char *reply = NULL, *code = NULL;

        g_assert_cmpuint (o->max_clients, <, G_N_ELEMENTS (fds));
        for (guint i = 0; i < o->max_clients; i++) {
                fds[i] = connect_to (fx->path);
                for (int k = 0; k < 50 && augur_api_get_n_clients (fx->api) < i + 1; k++)
                        g_main_context_iteration (NULL, FALSE);
        }
        g_assert_cmpuint (augur_api_get_n_clients (fx->api), ==, o->max_clients);
        fds[o->max_clients] = connect_to (fx->path);
        reply = read_line (fds[o->max_clients], pending);
        code = reply_code (reply);
        g_assert_cmpstr (code, ==, "busy");
        g_assert_true (at_eof (fds[o->max_clients], 2000));
        close (fds[o->max_clients]);
        /* The others still work, and a freed slot is usable again. */
        g_string_truncate (pending, 0);
        write_all (fds[0], "{\"call\":\"status\"}\n", 18);
        g_free (reply);
        reply = read_line (fds[0], pending);
        g_assert_nonnull (reply);
        for (guint i = 0; i < o->max_clients; i++)
                close (fds[i]);
        for (int k = 0; k < 200 && augur_api_get_n_clients (fx->api) > 0; k++) {
                g_main_context_iteration (NULL, FALSE);
                g_usleep (1000);
        }
        g_assert_cmpuint (augur_api_get_n_clients (fx->api), ==, 0);
}

static void
test_socket_idle_timeout (SockFixture *fx, gconstpointer data)
{
        const AugurApiOptions *o = data;
        gint64 t0 = g_get_monotonic_time ();
        int fd = connect_to (fx->path);
        double waited_ms;

        /* Half a line, then silence: the server hangs up after the timeout. */
        write_all (fd, "{\"call\":", 8);
        g_assert_true (at_eof (fd, 5000));
        waited_ms = (g_get_monotonic_time () - t0) / 1000.0;
        g_test_message ("hung up after %.0f ms (timeout %u ms)", waited_ms, o->client_timeout_ms);
        g_assert_cmpfloat (waited_ms, >=, o->client_timeout_ms * 0.9);
        close (fd);
}

/* A stale socket file (nobody listening) is replaced; a live one is
 * refused (IN_USE) and left alone; a regular file is never touched. */
static void
test_socket_stale_and_live (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_autofree char *path = g_build_filename (dir, "s.sock", NULL);
        g_autofree char *file = g_build_filename (dir, "plain", NULL);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        AugurApi *api, *second;
        int fd;

        /* stale: bind and close without listening */
        fd = socket (AF_UNIX, SOCK_STREAM, 0);
        g_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
        g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        close (fd);
        api = augur_api_new_full (path, &(AugurApiOptions) { .group = "" }, &fake_ops, NULL, &error);
        g_assert_no_error (error);
        /* live: a second API on the same path is refused */
        second = augur_api_new_full (path, &(AugurApiOptions) { .group = "" }, &fake_ops, NULL, &error);
        g_assert_null (second);
        g_assert_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_IN_USE);
        g_clear_error (&error);
        g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));   /* not removed by the loser */
        augur_api_free (api);
        g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
        /* a regular file is not ours to remove */
        g_assert_true (g_file_set_contents (file, "keep me", -1, NULL));
        api = augur_api_new_full (file, &(AugurApiOptions) { .group = "" }, &fake_ops, NULL, &error);
        g_assert_null (api);
        g_assert_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED);
        g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
        g_unlink (file);
        g_rmdir (dir);
}


/* The socket is born with its mode (fchmod on the fd before bind) and gets
 * its group by lchown: no chmod or chown that would follow a symlink acts
 * on its path.  With the API group when root, without one otherwise. */
static void
test_socket_no_path_chmod (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        struct group *gr = getgrgid (65534);
        AugurApiOptions o = { .group = "", .mode = 0640 };
        AugurApi *api;
        struct stat st;

        g_assert_no_error (error);
        if (getuid () == 0 && gr)
                o.group = gr->gr_name;
        else
                g_test_message ("not root: checking the mode only (the group needs a chown to gid 65534)");
        watched_path = g_build_filename (dir, "augurd.sock", NULL);
        n_path_chmod = n_path_chown = 0;
        api = augur_api_new_full (watched_path, &o, &fake_ops, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (lstat (watched_path, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0640);
        if (*o.group)
                g_assert_cmpint (st.st_gid, ==, 65534);
        g_test_message ("chmod() on the path: %u, chown(): %u", n_path_chmod, n_path_chown);
        g_assert_cmpuint (n_path_chmod, ==, 0);
        g_assert_cmpuint (n_path_chown, ==, 0);
        augur_api_free (api);
        g_clear_pointer (&watched_path, g_free);
        g_rmdir (dir);
}

/* A socket directory someone else may write to is refused: another uid's
 * (root only: needs a chown), or writable by group or others without the
 * sticky bit.  A sticky world-writable one (as /tmp) is fine. */
static void
test_socket_unsafe_dir (void)
{
        static const struct {
                mode_t mode;
                uid_t uid;            /* (uid_t) -1: ours */
                gboolean ok;
                const char *why;
        } rows[] = {
                { 0755, (uid_t) -1, TRUE, NULL },
                { 0777, (uid_t) -1, FALSE, "writable by everyone" },
                { 0775, (uid_t) -1, FALSE, "writable by its group" },
                { 01777, (uid_t) -1, TRUE, NULL },
                { 0755, 65534, FALSE, "belongs to uid 65534" },
                { 01777, 65534, FALSE, "belongs to uid 65534" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                g_autofree char *dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
                g_autofree char *path = g_build_filename (dir, "augurd.sock", NULL);
                AugurApi *api;

                g_assert_no_error (error);
                if (rows[i].uid != (uid_t) -1) {
                        if (getuid () != 0) {
                                g_test_message ("row %zu skipped: needs root to chown a directory", i);
                                g_rmdir (dir);
                                continue;
                        }
                        g_assert_cmpint (chown (dir, rows[i].uid, (gid_t) -1), ==, 0);
                }
                g_assert_cmpint (chmod (dir, rows[i].mode), ==, 0);
                api = augur_api_new_full (path, &(AugurApiOptions) { .group = "" }, &fake_ops, NULL, &error);
                g_test_message ("row %zu: dir mode %04o uid %d: %s", i, (unsigned) rows[i].mode,
                                (int) rows[i].uid, error ? error->message : "ok");
                if (rows[i].ok) {
                        g_assert_no_error (error);
                        g_assert_nonnull (api);
                } else {
                        g_assert_null (api);
                        g_assert_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_FAILED);
                        g_assert_nonnull (strstr (error->message, rows[i].why));
                        g_assert_nonnull (strstr (error->message, dir));
                        g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
                }
                augur_api_free (api);
                g_rmdir (dir);
        }
}

/* A client that connects and hangs up without a byte: the server serves
 * nothing and closes.  (Its empty input buffer has a NULL data pointer:
 * tests/test-api-ubsan runs this with UBSan, which traps memchr (NULL,
 * ..., 0).) */
static void
test_socket_eof_without_data (SockFixture *fx, gconstpointer data)
{
        for (int round = 0; round < 2; round++) {
                int fd = connect_to (fx->path);

                if (round == 0)
                        shutdown (fd, SHUT_WR);       /* half-close, then wait */
                else
                        close (fd);
                if (round == 0) {
                        g_assert_true (at_eof (fd, 2000));
                        close (fd);
                }
                for (int k = 0; k < 200 && augur_api_get_n_clients (fx->api) > 0; k++) {
                        g_main_context_iteration (NULL, FALSE);
                        g_usleep (1000);
                }
                g_assert_cmpuint (augur_api_get_n_clients (fx->api), ==, 0);
        }
}

/* ------------------------------------------------- peers of another uid */

/* In a forked child: drop to uid/gid (with supplementary groups), connect,
 * send request and write the reply line to out_fd.  Exits 0 when it got a
 * reply, 2 when the connect was refused by the file mode, 1 otherwise. */
static void G_GNUC_NORETURN
child_call (const char *path, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
            const char *request, int out_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[8192];
        size_t got = 0;
        int fd;

        alarm (10);
        if (setgroups (n_groups, groups) < 0 || setgid (gid) < 0 || setuid (uid) < 0)
                _exit (1);
        if (getuid () != uid || geteuid () != uid)
                _exit (1);
        fd = socket (AF_UNIX, SOCK_STREAM, 0);
        strncpy (sa.sun_path, path, sizeof sa.sun_path - 1);
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                _exit (errno == EACCES ? 2 : 1);
        /* A peer with no rights is answered and closed at accept, maybe
         * before this write: EPIPE then, and the answer is still there. */
        if (send (fd, request, strlen (request), MSG_NOSIGNAL) != (ssize_t) strlen (request) &&
            errno != EPIPE && errno != ECONNRESET)
                _exit (1);
        shutdown (fd, SHUT_WR);
        while (got < sizeof buf) {
                ssize_t n = read (fd, buf + got, sizeof buf - got);

                if (n <= 0)
                        break;
                got += (size_t) n;
                if (memchr (buf, '\n', got))
                        break;
        }
        if (write (out_fd, buf, got) != (ssize_t) got)
                _exit (1);
        _exit (got > 0 ? 0 : 1);
}

/* Fork a child_call and pump our main loop until it exits.  Returns its
 * exit code; *ret_reply gets its reply line. */
static int
run_child (const char *path, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
           const char *request, char **ret_reply)
{
        int pfd[2], status = 0;
        pid_t pid;
        GString *out = g_string_new (NULL);
        char buf[4096];
        ssize_t n;

        g_assert_cmpint (pipe (pfd), ==, 0);
        pid = fork ();
        g_assert_cmpint (pid, >=, 0);
        if (pid == 0) {
                close (pfd[0]);
                child_call (path, uid, gid, groups, n_groups, request, pfd[1]);
        }
        close (pfd[1]);
        while (waitpid (pid, &status, WNOHANG) == 0) {
                while (g_main_context_iteration (NULL, FALSE))
                        ;
                g_usleep (1000);
        }
        while ((n = read (pfd[0], buf, sizeof buf)) > 0)
                g_string_append_len (out, buf, n);
        close (pfd[0]);
        g_strchomp (out->str);
        *ret_reply = g_string_free (out, FALSE);
        return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_peer_other_uid (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = NULL, *path = NULL;
        struct passwd *nobody = getpwnam ("nobody");
        struct group *gr = getgrgid (65534);
        const gid_t api_gid = 65534;
        const gid_t other_gid = 1;    /* "daemon" on Debian: not the API group */
        AugurApiOptions o = { .mode = 0666 };
        Fake f = { 0 };
        AugurApi *api;
        struct {
                const char *what;
                gid_t gid;
                gid_t groups[2];
                size_t n_groups;
                const char *request;
                const char *code;
        } rows[] = {
                { "not root, not in the group", other_gid, { other_gid }, 1,
                  "{\"call\":\"status\"}\n", "permission-denied" },
                { "not root, not in the group: notify", other_gid, { other_gid }, 1,
                  "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"x\"}}\n", "permission-denied" },
                { "primary group is the API group", api_gid, { api_gid }, 1,
                  "{\"call\":\"status\"}\n", "ok" },
                { "primary group: notify", api_gid, { api_gid }, 1,
                  "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"x\"}}\n", "ok" },
                { "primary group: reload needs root", api_gid, { api_gid }, 1,
                  "{\"call\":\"reload\"}\n", "permission-denied" },
                { "supplementary group is the API group (SO_PEERGROUPS)", other_gid,
                  { other_gid, api_gid }, 2, "{\"call\":\"domains\"}\n", "ok" },
                /* A stranger is refused at accept, whatever it sends. */
                { "garbage from a stranger", other_gid, { other_gid }, 1, "\x01\x02garbage\n", "permission-denied" },
        };

        if (getuid () != 0 || !nobody || !gr) {
                g_test_skip ("needs root, user nobody and a group with gid 65534 (forks a child that setuid()s)");
                return;
        }
        dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_cmpint (chmod (dir, 0755), ==, 0);
        path = g_build_filename (dir, "augurd.sock", NULL);
        /* World-writable on purpose: the file mode lets everyone connect,
         * so what refuses the stranger is the API's own check. */
        o.group = gr->gr_name;
        api = augur_api_new_full (path, &o, &fake_ops, &f, &error);
        g_assert_no_error (error);

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autofree char *reply = NULL, *code = NULL;
                int rc = run_child (path, nobody->pw_uid, rows[i].gid, rows[i].groups,
                                    rows[i].n_groups, rows[i].request, &reply);

                g_test_message ("row %zu (%s): exit %d, reply %s", i, rows[i].what, rc, reply);
                g_assert_cmpint (rc, ==, 0);
                code = reply_code (reply);
                g_assert_cmpstr (code, ==, rows[i].code);
        }
        g_assert_cmpuint (f.n_notify, ==, 1);
        g_assert_cmpuint (f.n_reload, ==, 0);
        augur_api_free (api);

        /* The first gate: at 0660 a stranger cannot even connect. */
        o.mode = 0660;
        api = augur_api_new_full (path, &o, &fake_ops, &f, &error);
        g_assert_no_error (error);
        {
                g_autofree char *reply = NULL;
                gid_t g1 = other_gid;
                int rc = run_child (path, nobody->pw_uid, other_gid, &g1, 1, "{\"call\":\"status\"}\n", &reply);

                g_assert_cmpint (rc, ==, 2);
        }
        augur_api_free (api);
        g_rmdir (dir);
        fake_clear (&f);
}


/* In a forked child: drop to uid/gid, open n connections to path and keep
 * them open.  Writes one byte to ready_fd once all are connected, then
 * holds them until release_fd reaches EOF. */
static void G_GNUC_NORETURN
child_hold (const char *path, uid_t uid, gid_t gid, guint n, int ready_fd, int release_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char b;

        alarm (20);
        if (setgroups (1, &gid) < 0 || setgid (gid) < 0 || setuid (uid) < 0 || geteuid () != uid)
                _exit (1);
        strncpy (sa.sun_path, path, sizeof sa.sun_path - 1);
        for (guint i = 0; i < n; i++) {
                int fd = socket (AF_UNIX, SOCK_STREAM, 0);

                if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                        _exit (1);
        }
        if (write (ready_fd, "x", 1) != 1)
                _exit (1);
        while (read (release_fd, &b, 1) > 0)
                ;
        _exit (0);
}

typedef struct {
        pid_t pid;
        int release_fd;
} Holder;

/* Fork a child_hold and pump our main loop until it holds its
 * connections, and a little longer so that all of them are accepted. */
static Holder
hold_start (const char *path, uid_t uid, gid_t gid, guint n)
{
        int ready[2], release[2];
        Holder h;
        gint64 until;

        g_assert_cmpint (pipe (ready), ==, 0);
        g_assert_cmpint (pipe (release), ==, 0);
        h.pid = fork ();
        g_assert_cmpint (h.pid, >=, 0);
        if (h.pid == 0) {
                close (ready[0]);
                close (release[1]);
                child_hold (path, uid, gid, n, ready[1], release[0]);
        }
        close (ready[1]);
        close (release[0]);
        h.release_fd = release[1];
        g_assert_true (pump_until_readable (ready[0], 10000));
        close (ready[0]);
        until = g_get_monotonic_time () + 200 * 1000;
        while (g_get_monotonic_time () < until) {
                while (g_main_context_iteration (NULL, FALSE))
                        ;
                g_usleep (1000);
        }
        return h;
}

static void
hold_stop (Holder *h)
{
        int status = 0;

        close (h->release_fd);
        while (waitpid (h->pid, &status, WNOHANG) == 0) {
                while (g_main_context_iteration (NULL, FALSE))
                        ;
                g_usleep (1000);
        }
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* Root, on its own connection: does status answer "ok"? */
static void
assert_root_served (const char *path)
{
        g_autoptr(GString) pending = g_string_new (NULL);
        g_autofree char *reply = NULL, *code = NULL;
        int fd = connect_to (path);

        write_all (fd, "{\"call\":\"status\"}\n", 18);
        reply = read_line (fd, pending);
        code = reply_code (reply);
        g_assert_cmpstr (code, ==, "ok");
        close (fd);
}

/* With the socket world-writable (mode 0666) and no API
 * group, a user with no rights opens 40 connections (more than the 32
 * slots) and keeps them open.  It must hold no slot, and root must still
 * get an answer. */
static void
test_peer_stranger_flood (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = NULL, *path = NULL;
        struct passwd *nobody = getpwnam ("nobody");
        AugurApiOptions o = { .group = "", .mode = 0666 };
        AugurApiCounters counters;
        Fake f = { 0 };
        AugurApi *api;
        Holder h;

        if (getuid () != 0 || !nobody) {
                g_test_skip ("needs root and user nobody (forks a child that setuid()s to another uid)");
                return;
        }
        dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_cmpint (chmod (dir, 0755), ==, 0);
        path = g_build_filename (dir, "augurd.sock", NULL);
        api = augur_api_new_full (path, &o, &fake_ops, &f, &error);
        g_assert_no_error (error);

        h = hold_start (path, nobody->pw_uid, nobody->pw_gid, AUGUR_API_MAX_CLIENTS + 8);
        g_test_message ("stranger holds %u connections: %u clients served", AUGUR_API_MAX_CLIENTS + 8,
                        augur_api_get_n_clients (api));
        g_assert_cmpuint (augur_api_get_n_clients (api), ==, 0);
        augur_api_get_counters (api, &counters);
        g_assert_cmpuint (counters.refused, ==, AUGUR_API_MAX_CLIENTS + 8);
        assert_root_served (path);
        hold_stop (&h);

        augur_api_free (api);
        g_rmdir (dir);
        fake_clear (&f);
}

/* A member of the API group may hold at most AUGUR_API_MAX_CLIENTS_PER_UID
 * slots: another member and root still get theirs. */
static void
test_peer_group_slots (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = NULL, *path = NULL;
        struct passwd *nobody = getpwnam ("nobody");
        struct group *gr = getgrgid (65534);
        AugurApiOptions o = { .mode = 0666 };
        AugurApiCounters counters;
        Fake f = { 0 };
        AugurApi *api;
        Holder h;

        if (getuid () != 0 || !nobody || !gr) {
                g_test_skip ("needs root, user nobody and a group with gid 65534 (forks a child that setuid()s)");
                return;
        }
        dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_cmpint (chmod (dir, 0755), ==, 0);
        path = g_build_filename (dir, "augurd.sock", NULL);
        o.group = gr->gr_name;
        api = augur_api_new_full (path, &o, &fake_ops, &f, &error);
        g_assert_no_error (error);

        h = hold_start (path, nobody->pw_uid, 65534, AUGUR_API_MAX_CLIENTS + 8);
        augur_api_get_counters (api, &counters);
        g_test_message ("group member asked for %u connections: %u held, %" G_GUINT64_FORMAT " busy",
                        AUGUR_API_MAX_CLIENTS + 8, augur_api_get_n_clients (api), counters.busy);
        g_assert_cmpuint (augur_api_get_n_clients (api), ==, AUGUR_API_MAX_CLIENTS_PER_UID);
        g_assert_cmpuint (counters.busy, ==, AUGUR_API_MAX_CLIENTS + 8 - AUGUR_API_MAX_CLIENTS_PER_UID);
        /* Another member of the group (uid 1, primary group 65534) */
        {
                g_autofree char *reply = NULL, *code = NULL;
                gid_t g = 65534;
                int rc = run_child (path, 1, 65534, &g, 1, "{\"call\":\"status\"}\n", &reply);

                g_assert_cmpint (rc, ==, 0);
                code = reply_code (reply);
                g_assert_cmpstr (code, ==, "ok");
        }
        assert_root_served (path);
        hold_stop (&h);

        augur_api_free (api);
        g_rmdir (dir);
        fake_clear (&f);
}

/* Slots kept for root: with every unreserved slot taken by group members
 * (here: the per-uid cap lifted to the whole pool), root still gets one;
 * one more group connection is busy.  Root itself may take the rest. */
static void
test_peer_admin_reserved (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = NULL, *path = NULL;
        struct passwd *nobody = getpwnam ("nobody");
        struct group *gr = getgrgid (65534);
        AugurApiOptions o = { .mode = 0666, .max_clients = 8, .admin_reserved = 2, .max_clients_per_uid = 8 };
        Fake f = { 0 };
        AugurApi *api;
        Holder h;
        int fds[2];

        if (getuid () != 0 || !nobody || !gr) {
                g_test_skip ("needs root, user nobody and a group with gid 65534 (forks a child that setuid()s)");
                return;
        }
        dir = g_dir_make_tmp ("augur-api-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_cmpint (chmod (dir, 0755), ==, 0);
        path = g_build_filename (dir, "augurd.sock", NULL);
        o.group = gr->gr_name;
        api = augur_api_new_full (path, &o, &fake_ops, &f, &error);
        g_assert_no_error (error);

        h = hold_start (path, nobody->pw_uid, 65534, 10);
        g_assert_cmpuint (augur_api_get_n_clients (api), ==, 6);
        /* root takes both reserved slots and is answered on each */
        for (guint i = 0; i < G_N_ELEMENTS (fds); i++) {
                g_autoptr(GString) pending = g_string_new (NULL);
                g_autofree char *reply = NULL, *code = NULL;

                fds[i] = connect_to (path);
                write_all (fds[i], "{\"call\":\"status\"}\n", 18);
                reply = read_line (fds[i], pending);
                code = reply_code (reply);
                g_assert_cmpstr (code, ==, "ok");
        }
        g_assert_cmpuint (augur_api_get_n_clients (api), ==, 8);
        for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
                close (fds[i]);
        hold_stop (&h);

        augur_api_free (api);
        g_rmdir (dir);
        fake_clear (&f);
}

/* A notify flood from a caller with hook rights.  Over
 * the uid's bucket, notifications are refused ("rate-limited") and never
 * reach the daemon; another uid keeps its own bucket. */
static void
test_notify_rate_limit (void)
{
        const AugurApiOptions o = { .group = "", .notify_burst = 50, .notify_rate_per_s = 10 };
        g_autoptr(GError) error = NULL;
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new_full (NULL, &o, &fake_ops, &f, &error);
        gint64 t0 = g_get_monotonic_time ();
        guint ok = 0, limited = 0;
        double elapsed_s;
        AugurApiCounters counters;

        g_assert_no_error (error);
        for (guint i = 0; i < 5000; i++) {
                g_autofree char *line = g_strdup_printf (
                        "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"flood-%u\"}}", i);
                g_autofree char *code = call_code (api, &peer_group, line);

                if (strcmp (code, "ok") == 0)
                        ok++;
                else if (strcmp (code, "rate-limited") == 0)
                        limited++;
                else
                        g_assert_not_reached ();
        }
        elapsed_s = (g_get_monotonic_time () - t0) / 1e6;
        g_test_message ("5000 notifications in %.3f s: %u passed on, %u rate-limited", elapsed_s, ok, limited);
        g_assert_cmpuint (f.n_notify, ==, ok);
        g_assert_cmpuint (ok, >=, 50);
        g_assert_cmpfloat (ok, <=, 50 + 10 * elapsed_s + 1);
        g_assert_cmpuint (ok + limited, ==, 5000);
        augur_api_get_counters (api, &counters);
        g_assert_cmpuint (counters.notify_rate_limited, ==, limited);
        /* root's hook has a bucket of its own */
        {
                g_autofree char *code = call_code (api, &peer_admin,
                                                   "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"domain\":\"vm\"}}");

                g_assert_cmpstr (code, ==, "ok");
        }
        fake_clear (&f);
}

/* Repeats of the same notification are answered ok and passed on once. */
static void
test_notify_coalesce (void)
{
        Fake f = { 0 };
        g_autoptr(AugurApi) api = augur_api_new (NULL, &fake_ops, &f, NULL);
        const char *a = "{\"call\":\"notify\",\"args\":{\"op\":\"started\",\"sub\":\"begin\",\"domain\":\"vm1\"}}";
        const char *b = "{\"call\":\"notify\",\"args\":{\"op\":\"stopped\",\"sub\":\"end\",\"domain\":\"vm1\"}}";
        AugurApiCounters counters;

        for (guint i = 0; i < 1000; i++) {
                g_autofree char *code = call_code (api, &peer_group, a);

                g_assert_cmpstr (code, ==, "ok");
        }
        g_assert_cmpuint (f.n_notify, ==, 1);
        augur_api_get_counters (api, &counters);
        g_assert_cmpuint (counters.notify_coalesced, ==, 999);
        /* a different event passes, and so does the first one after it */
        {
                g_autofree char *c1 = call_code (api, &peer_group, b);
                g_autofree char *c2 = call_code (api, &peer_group, a);

                g_assert_cmpstr (c1, ==, "ok");
                g_assert_cmpstr (c2, ==, "ok");
        }
        g_assert_cmpuint (f.n_notify, ==, 3);
        g_assert_cmpstr (f.op, ==, "started");
        /* the same event from another uid is its own */
        {
                g_autofree char *c = call_code (api, &peer_admin, a);

                g_assert_cmpstr (c, ==, "ok");
        }
        g_assert_cmpuint (f.n_notify, ==, 4);
        fake_clear (&f);
}


/* ---------------------------------------------------------------- the hook */

/* A FIFO as the hook's config file blocked the hook (and the
 * libvirtd waiting for it) until its 2 s alarm.  It now refuses anything
 * but a regular file at once, says so on stderr, and still exits 0 with
 * nothing on stdout. */
static void
test_hook_config_not_regular (void)
{
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");
        g_autofree char *hook = g_build_filename (top ? top : "..", "hooks", "augur-hook", NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-hook-XXXXXX", &error);
        g_autofree char *fifo = g_build_filename (dir, "augur.conf", NULL);
        g_autofree char *env_conf = g_strconcat ("AUGUR_HOOK_CONFIG=", fifo, NULL);
        char *argv[] = { hook, (char *) "vm1", (char *) "started", (char *) "begin", (char *) "-", NULL };
        char *envp[] = { env_conf, (char *) "PATH=/usr/bin:/bin", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int status = -1;
        gint64 t0;
        double took_ms;

        g_assert_no_error (error);
        if (!g_file_test (hook, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("hooks/augur-hook is not built");
                g_rmdir (dir);
                return;
        }
        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        t0 = g_get_monotonic_time ();
        g_assert_true (g_spawn_sync (NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
        took_ms = (g_get_monotonic_time () - t0) / 1000.0;
        g_test_message ("hook took %.0f ms, stderr: %s", took_ms, err);
        g_assert_no_error (error);
        g_assert_true (g_spawn_check_wait_status (status, NULL));     /* exit 0 */
        g_assert_cmpstr (out, ==, "");
        g_assert_nonnull (strstr (err, fifo));
        g_assert_nonnull (strstr (err, "not a regular file"));
        g_assert_cmpfloat (took_ms, <, 1000);                      /* the alarm is 2 s */
        g_unlink (fifo);
        g_rmdir (dir);
}

static const AugurApiOptions opts_default = { .group = "" };
static const AugurApiOptions opts_small_line = { .group = "", .max_line_bytes = 100 };
static const AugurApiOptions opts_clients = { .group = "", .max_clients = 3 };
static const AugurApiOptions opts_timeout = { .group = "", .client_timeout_ms = 300 };

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);

        g_test_add_func ("/api/parse/table", test_parse);
        g_test_add_func ("/api/parse/bytes", test_parse_bytes);
        g_test_add_func ("/api/parse/id-echo", test_id_echo);
        g_test_add_func ("/api/access/table", test_access_table);
        g_test_add_func ("/api/notify/args", test_notify_args);
        g_test_add_func ("/api/notify/hostile-name", test_notify_hostile_name);
        g_test_add_func ("/api/ops/unsupported", test_unsupported);
        g_test_add_func ("/api/options/bad", test_bad_options);
        g_test_add_func ("/api/options/config-keys", test_config_keys);
        g_test_add ("/api/socket/file", SockFixture, &opts_default, sock_setup, test_socket_file, sock_teardown);
        g_test_add_func ("/api/socket/group", test_socket_group);
        g_test_add ("/api/socket/roundtrip", SockFixture, &opts_default, sock_setup,
                    test_socket_roundtrip, sock_teardown);
        g_test_add ("/api/socket/line-limit", SockFixture, &opts_small_line, sock_setup,
                    test_socket_line_limit, sock_teardown);
        g_test_add ("/api/socket/endless-line", SockFixture, &opts_default, sock_setup,
                    test_socket_endless_line, sock_teardown);
        g_test_add ("/api/socket/max-clients", SockFixture, &opts_clients, sock_setup,
                    test_socket_max_clients, sock_teardown);
        g_test_add ("/api/socket/idle-timeout", SockFixture, &opts_timeout, sock_setup,
                    test_socket_idle_timeout, sock_teardown);
        g_test_add_func ("/api/socket/stale-and-live", test_socket_stale_and_live);
        g_test_add_func ("/api/socket/no-path-chmod", test_socket_no_path_chmod);
        g_test_add_func ("/api/socket/unsafe-dir", test_socket_unsafe_dir);
        g_test_add ("/api/socket/eof-without-data", SockFixture, &opts_default, sock_setup,
                    test_socket_eof_without_data, sock_teardown);
        g_test_add_func ("/api/peer/other-uid", test_peer_other_uid);
        g_test_add_func ("/api/peer/stranger-flood", test_peer_stranger_flood);
        g_test_add_func ("/api/peer/group-slots", test_peer_group_slots);
        g_test_add_func ("/api/peer/admin-reserved", test_peer_admin_reserved);
        g_test_add_func ("/api/notify/rate-limit", test_notify_rate_limit);
        g_test_add_func ("/api/notify/coalesce", test_notify_coalesce);
        g_test_add_func ("/api/hook/config-not-regular", test_hook_config_not_regular);
        return g_test_run ();
}
