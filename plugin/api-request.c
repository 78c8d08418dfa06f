/* api-request.c — one request line of augurd's local API in, one response
 * line out.  See api.h for the wire format, the calls and who may make
 * them.
 *
 * What it is: the pre-scans json-glib needs in front of it (NUL-free
 * UTF-8, JSON's escapes only, nesting, one value per line), the dispatch
 * table and its calls, the permission check per call, the notify flood
 * control, and the replies.  No socket and no I/O: api.c reads the lines
 * and writes what this returns; tests/test-api.c and tests/fuzz-api.c
 * call augur_api_handle_line() directly.
 *
 * What it is not: the meaning of the calls (the daemon's AugurApiOps), nor
 * a general RPC framework.  The dispatch is one static table; a new call is
 * one function and one row.
 */
#include "config.h"

#include "api-private.h"

#include <string.h>

/* Deepest nesting of arrays and objects accepted in a request.  Requests
 * are flat; json-glib's parser recurses once per level, and at 64 KiB a
 * line could otherwise nest 32 768 deep and eat the stack. */
#define MAX_NESTING 32

/* libvirt's virHookQemuOpType and virHookSubopType, in enum order (the
 * index is the code passed on to the daemon). */
static const char *const hook_ops[] = {
        "start", "stopped", "prepare", "release", "migrate",
        "started", "reconnect", "attach", "restore",
};
static const char *const hook_sub_ops[] = { "-", "begin", "end" };

/* ------------------------------------------------------------------ access */

gboolean
augur_api_peer_allowed (const AugurApiPeer *peer, AugurApiAccess access)
{
        g_return_val_if_fail (peer != NULL, FALSE);

        switch (access) {
        case AUGUR_API_ACCESS_READ:
        case AUGUR_API_ACCESS_HOOK:
                return peer->admin || peer->in_group;
        case AUGUR_API_ACCESS_ADMIN:
                return peer->admin;
        }
        return FALSE;
}

static const char *
access_name (AugurApiAccess access)
{
        switch (access) {
        case AUGUR_API_ACCESS_READ:
                return "read";
        case AUGUR_API_ACCESS_HOOK:
                return "hook";
        case AUGUR_API_ACCESS_ADMIN:
                return "admin";
        }
        return "?";
}

/* ------------------------------------------------------------------- calls */

typedef gboolean (*CallFunc) (AugurApi *api, const AugurApiPeer *peer,
                              JsonObject *args, JsonBuilder *result,
                              GError **error);

static gboolean
unsupported (const char *call, GError **error)
{
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                     "this augurd does not implement '%s'", call);
        return FALSE;
}

static gboolean
call_status (AugurApi *api, const AugurApiPeer *peer, JsonObject *args,
             JsonBuilder *result, GError **error)
{
        g_autofree char *mode = g_strdup_printf ("%04o", (unsigned) api->mode);

        if (!api->ops->status)
                return unsupported ("status", error);
        api->ops->status (api->daemon, result);
        json_builder_set_member_name (result, "api");
        json_builder_begin_object (result);
        json_builder_set_member_name (result, "socket");
        if (api->path)
                json_builder_add_string_value (result, api->path);
        else
                json_builder_add_null_value (result);
        json_builder_set_member_name (result, "group");
        if (api->group)
                json_builder_add_string_value (result, api->group);
        else
                json_builder_add_null_value (result);
        json_builder_set_member_name (result, "mode");
        json_builder_add_string_value (result, mode);
        json_builder_set_member_name (result, "clients");
        json_builder_add_int_value (result, api->n_clients);
        json_builder_set_member_name (result, "refused");
        json_builder_add_int_value (result, (gint64) api->counters.refused);
        json_builder_set_member_name (result, "busy");
        json_builder_add_int_value (result, (gint64) api->counters.busy);
        json_builder_set_member_name (result, "notify_coalesced");
        json_builder_add_int_value (result, (gint64) api->counters.notify_coalesced);
        json_builder_set_member_name (result, "notify_rate_limited");
        json_builder_add_int_value (result, (gint64) api->counters.notify_rate_limited);
        json_builder_end_object (result);
        return TRUE;
}

static gboolean
call_domains (AugurApi *api, const AugurApiPeer *peer, JsonObject *args,
              JsonBuilder *result, GError **error)
{
        if (!api->ops->domains)
                return unsupported ("domains", error);
        api->ops->domains (api->daemon, result);
        return TRUE;
}

/* A string member of args, or NULL (and an error) when absent or not a
 * string and required. */
static const char *
get_string_arg (JsonObject *args, const char *name, gboolean required, GError **error)
{
        JsonNode *n = args ? json_object_get_member (args, name) : NULL;

        if (!n || JSON_NODE_HOLDS_NULL (n)) {
                if (required)
                        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                                     "missing argument '%s'", name);
                return NULL;
        }
        if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                             "argument '%s' must be a string", name);
                return NULL;
        }
        return json_node_get_string (n);
}

static int
index_of (const char *const *names, gsize n, const char *s)
{
        for (gsize i = 0; i < n; i++)
                if (strcmp (names[i], s) == 0)
                        return (int) i;
        return -1;
}

/* Flood control in front of ops->notify (api.h, NOTIFY FLOODS): a repeat
 * of the uid's previous notification is answered and not passed on; past
 * the uid's token bucket a notification is refused.  Cost: one hash lookup
 * and one memcmp per notification. */
static gboolean
notify_admit (AugurApi *api, const AugurApiNotify *n, JsonBuilder *result, GError **error)
{
        UidState *u = augur_api_uid_state (api, n->peer->uid);
        gint64 now = g_get_monotonic_time ();
        g_autoptr(GString) key = g_string_new (n->op);

        g_string_append_c (key, '\0');
        g_string_append (key, n->sub_op);
        g_string_append_c (key, '\0');
        g_string_append (key, n->domain);
        if (u->last_key && u->last_key_len == key->len && memcmp (u->last_key, key->str, key->len) == 0 &&
            now - u->last_key_us < (gint64) AUGUR_API_NOTIFY_COALESCE_MS * 1000) {
                api->counters.notify_coalesced++;
                json_builder_set_member_name (result, "coalesced");
                json_builder_add_boolean_value (result, TRUE);
                return TRUE;
        }
        u->tokens = MIN ((double) api->notify_burst,
                         u->tokens + (double) (now - u->refill_us) * api->notify_rate_per_s / G_USEC_PER_SEC);
        u->refill_us = now;
        if (u->tokens < 1) {
                api->counters.notify_rate_limited++;
                if (now >= api->notify_loud_after_us) {
                        augur_api_log_peer (G_LOG_LEVEL_MESSAGE, "api-rate-limited", n->peer,
                                            "api: notifications beyond the rate limit dropped, ignoring");
                        api->notify_loud_after_us = now + QUIET_PERIOD_US;
                }
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_RATE_LIMITED,
                             "more than %u notifications at once or %u/s from this uid; dropped",
                             api->notify_burst, api->notify_rate_per_s);
                return FALSE;
        }
        u->tokens -= 1;
        if (!api->ops->notify (api->daemon, n, error))
                return FALSE;
        g_free (u->last_key);
        u->last_key_len = key->len;
        u->last_key = g_memdup2 (key->str, key->len);
        u->last_key_us = now;
        return TRUE;
}

static gboolean
call_notify (AugurApi *api, const AugurApiPeer *peer, JsonObject *args,
             JsonBuilder *result, GError **error)
{
        AugurApiNotify n = { 0 };
        GError *local = NULL;
        const char *op, *sub, *domain;
        int op_code, sub_code = 0;

        if (!api->ops->notify)
                return unsupported ("notify", error);
        if (!(op = get_string_arg (args, "op", TRUE, error)))
                return FALSE;
        sub = get_string_arg (args, "sub", FALSE, &local);
        if (local) {
                g_propagate_error (error, local);
                return FALSE;
        }
        if (!(domain = get_string_arg (args, "domain", TRUE, error)))
                return FALSE;
        op_code = index_of (hook_ops, G_N_ELEMENTS (hook_ops), op);
        if (op_code < 0) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                             "unknown hook operation (expected one of libvirt's qemu hook operations)");
                return FALSE;
        }
        if (sub) {
                sub_code = index_of (hook_sub_ops, G_N_ELEMENTS (hook_sub_ops), sub);
                if (sub_code < 0) {
                        g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                                     "unknown hook sub-operation (expected begin, end or -)");
                        return FALSE;
                }
        }
        if (!*domain || strlen (domain) > AUGUR_API_MAX_DOMAIN_BYTES) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                             "domain must be 1 to %d bytes", AUGUR_API_MAX_DOMAIN_BYTES);
                return FALSE;
        }
        n.op = hook_ops[op_code];
        n.op_code = op_code;
        n.sub_op = hook_sub_ops[sub_code];
        n.sub_op_code = sub_code;
        n.domain = domain;
        n.peer = peer;
        return notify_admit (api, &n, result, error);
}

static gboolean
call_reload (AugurApi *api, const AugurApiPeer *peer, JsonObject *args,
             JsonBuilder *result, GError **error)
{
        if (!api->ops->reload)
                return unsupported ("reload", error);
        augur_api_log_peer (G_LOG_LEVEL_MESSAGE, "api-reload", peer, "reload requested through the API");
        return api->ops->reload (api->daemon, error);
}

static gboolean
call_io_forecast (AugurApi *api, const AugurApiPeer *peer, JsonObject *args,
                  JsonBuilder *result, GError **error)
{
        const char *domain;

        if (!api->ops->io_forecast)
                return unsupported ("io_forecast", error);
        if (!(domain = get_string_arg (args, "domain", TRUE, error)))
                return FALSE;
        if (!*domain || strlen (domain) > AUGUR_API_MAX_DOMAIN_BYTES) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                             "domain must be 1 to %d bytes", AUGUR_API_MAX_DOMAIN_BYTES);
                return FALSE;
        }
        return api->ops->io_forecast (api->daemon, domain, result, error);
}

/* THE DISPATCH TABLE.  Later calls (forecast, actions, policy) add a row. */
static const struct {
        const char *name;
        AugurApiAccess access;
        CallFunc func;
} calls[] = {
        { "status", AUGUR_API_ACCESS_READ, call_status },
        { "domains", AUGUR_API_ACCESS_READ, call_domains },
        { "notify", AUGUR_API_ACCESS_HOOK, call_notify },
        { "reload", AUGUR_API_ACCESS_ADMIN, call_reload },
        { "io_forecast", AUGUR_API_ACCESS_READ, call_io_forecast },
};

/* --------------------------------------------------------------- responses */

static char *
builder_to_line (JsonBuilder *b)
{
        g_autoptr(JsonGenerator) gen = json_generator_new ();
        g_autoptr(JsonNode) root = json_builder_get_root (b);

        /* Not pretty: the generator escapes control characters, so the
         * response is exactly one line whatever the strings contain. */
        json_generator_set_root (gen, root);
        return json_generator_to_data (gen, NULL);
}

static void
add_id (JsonBuilder *b, JsonNode *id)
{
        if (!id)
                return;
        json_builder_set_member_name (b, "id");
        json_builder_add_value (b, json_node_copy (id));
}

/* message may come from json-glib, which quotes the request and cuts the
 * quote at a byte count, sometimes inside a UTF-8 character (fuzz-api found
 * it): made valid here, so every reply is UTF-8 whatever a message holds. */
char *
augur_api_reply_error (JsonNode *id, const char *code, const char *message)
{
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autofree char *valid = g_utf8_make_valid (message, -1);

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "ok");
        json_builder_add_boolean_value (b, FALSE);
        json_builder_set_member_name (b, "error");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "code");
        json_builder_add_string_value (b, code);
        json_builder_set_member_name (b, "message");
        json_builder_add_string_value (b, valid);
        json_builder_end_object (b);
        add_id (b, id);
        json_builder_end_object (b);
        return builder_to_line (b);
}

static const char *
error_code_of (const GError *error)
{
        if (g_error_matches (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS))
                return "invalid-args";
        if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
                return "unsupported";
        if (g_error_matches (error, AUGUR_API_ERROR, AUGUR_API_ERROR_RATE_LIMITED))
                return "rate-limited";
        return "failed";
}

/* What a pre-scan of the request text found. */
typedef enum {
        SCAN_OK,
        SCAN_TOO_DEEP,                /* arrays/objects nested deeper than max */
        SCAN_TRAILING,                /* more text after the first value       */
} ScanResult;

/* A scan that skips strings (and their escapes) and validates nothing
 * else: json-glib does that.  It catches what json-glib would accept or
 * suffer from: nesting deep enough to eat the stack, and a second value
 * after the first ({...}{...} parses, and only one would be served; after
 * a first value that is not an array or object, as in 8{...} or "x"[...],
 * json-glib 1.6 fails and leaks what it built of the second). */
static ScanResult
scan_request (const char *s, gsize len, int max)
{
        gboolean in_string = FALSE, in_scalar = FALSE, closed = FALSE;
        int depth = 0;

        for (gsize i = 0; i < len; i++) {
                char ch = s[i];

                if (in_string) {
                        if (ch == '\\') {
                                i++;
                        } else if (ch == '"') {
                                in_string = FALSE;
                                if (depth == 0)
                                        closed = TRUE;
                        }
                        continue;
                }
                if (in_scalar) {        /* a number, true, false, null, or garbage */
                        if (!g_ascii_isspace (ch) && ch != '"' && ch != '[' && ch != ']' &&
                            ch != '{' && ch != '}' && ch != ',' && ch != ':')
                                continue;
                        in_scalar = FALSE;
                        closed = TRUE;
                }
                if (closed && !g_ascii_isspace (ch))
                        return SCAN_TRAILING;
                if (ch == '"') {
                        in_string = TRUE;
                } else if (ch == '[' || ch == '{') {
                        if (++depth > max)
                                return SCAN_TOO_DEEP;
                } else if (ch == ']' || ch == '}') {
                        if (--depth == 0)
                                closed = TRUE;
                } else if (depth == 0 && !g_ascii_isspace (ch)) {
                        in_scalar = TRUE;
                }
        }
        return SCAN_OK;
}

/* Four hex digits at s[i..i+4) into *ret_u. */
static gboolean
hex4 (const char *s, gsize len, gsize i, guint *ret_u)
{
        guint u = 0;

        if (i + 4 > len)
                return FALSE;
        for (gsize k = i; k < i + 4; k++) {
                if (!g_ascii_isxdigit (s[k]))
                        return FALSE;
                u = u * 16 + (guint) g_ascii_xdigit_value (s[k]);
        }
        *ret_u = u;
        return TRUE;
}

/* json-glib's scanner (GScanner) takes more escapes than JSON: octal
 * ("\377", "\0"), any other letter ("\q" reads as "q") and a lone
 * surrogate ("\ud800", which it turns into invalid UTF-8); and "\u0000"
 * ends the C string early.  So the daemon could be handed a domain that is
 * not UTF-8 or shorter than what was sent, and a parse-error reply quoting
 * such a string was itself not UTF-8 (tests/fuzz-api.c found it).  Allow
 * RFC 8259's escapes only, without \u0000, surrogates in pairs.  The line
 * is NUL-free UTF-8 already. */
static gboolean
escapes_valid (const char *s, gsize len)
{
        gboolean in_string = FALSE;

        for (gsize i = 0; i < len; i++) {
                guint u, lo;

                if (!in_string) {
                        in_string = s[i] == '"';
                        continue;
                }
                if (s[i] == '"') {
                        in_string = FALSE;
                        continue;
                }
                if (s[i] != '\\')
                        continue;
                if (++i >= len)
                        return FALSE;
                if (strchr ("\"\\/bfnrt", s[i]))
                        continue;
                if (s[i] != 'u' || !hex4 (s, len, i + 1, &u))
                        return FALSE;
                i += 4;
                if (u == 0 || (u >= 0xdc00 && u <= 0xdfff))
                        return FALSE;
                if (u >= 0xd800 && u <= 0xdbff) {
                        if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' ||
                            !hex4 (s, len, i + 3, &lo) || lo < 0xdc00 || lo > 0xdfff)
                                return FALSE;
                        i += 6;
                }
        }
        return TRUE;
}

char *
augur_api_handle_line_full (AugurApi *api, const AugurApiPeer *peer, const char *line, gsize len,
                            gboolean *ret_refused)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(JsonBuilder) b = NULL;
        g_autoptr(GError) error = NULL;
        JsonNode *root, *id = NULL, *call_node, *args_node;
        JsonObject *req, *args = NULL;
        const char *call;

        /* json-glib would stop at a NUL or choke on bad UTF-8 with a less
         * clear message; check both before it sees the line. */
        if (memchr (line, '\0', len) || !g_utf8_validate (line, (gssize) len, NULL))
                return augur_api_reply_error (NULL, "parse-error", "request is not NUL-free UTF-8");
        if (!escapes_valid (line, len))
                return augur_api_reply_error (NULL, "parse-error", "a string holds an escape JSON does not allow "
                                              "(or \\u0000, or half a surrogate pair)");
        switch (scan_request (line, len, MAX_NESTING)) {
        case SCAN_TOO_DEEP:
                return augur_api_reply_error (NULL, "invalid-request", "request nests too deep");
        case SCAN_TRAILING:
                return augur_api_reply_error (NULL, "parse-error", "text after the request object");
        case SCAN_OK:
                break;
        }
        parser = json_parser_new_immutable ();
        if (!json_parser_load_from_data (parser, line, (gssize) len, &error))
                return augur_api_reply_error (NULL, "parse-error", error->message);
        root = json_parser_get_root (parser);
        if (!root)
                return augur_api_reply_error (NULL, "parse-error", "empty request");
        if (!JSON_NODE_HOLDS_OBJECT (root))
                return augur_api_reply_error (NULL, "invalid-request", "a request is a JSON object");
        req = json_node_get_object (root);
        id = json_object_get_member (req, "id");
        call_node = json_object_get_member (req, "call");
        if (!call_node || !JSON_NODE_HOLDS_VALUE (call_node) ||
            json_node_get_value_type (call_node) != G_TYPE_STRING)
                return augur_api_reply_error (id, "invalid-request", "\"call\" must be a string");
        call = json_node_get_string (call_node);
        args_node = json_object_get_member (req, "args");
        if (args_node && !JSON_NODE_HOLDS_NULL (args_node)) {
                if (!JSON_NODE_HOLDS_OBJECT (args_node))
                        return augur_api_reply_error (id, "invalid-request", "\"args\" must be an object");
                args = json_node_get_object (args_node);
        }

        for (gsize i = 0; i < G_N_ELEMENTS (calls); i++) {
                if (strcmp (calls[i].name, call) != 0)
                        continue;
                if (!augur_api_peer_allowed (peer, calls[i].access)) {
                        g_autofree char *msg = g_strdup_printf (
                                "'%s' needs %s access; uid %" G_GINT64_FORMAT " has %s",
                                calls[i].name,
                                calls[i].access == AUGUR_API_ACCESS_ADMIN ? "root" : "root or API group",
                                peer->uid, peer->admin ? "root" : peer->in_group ? "group" : "none");

                        g_debug ("api: refused %s (%s) for uid %" G_GINT64_FORMAT " pid %" G_GINT64_FORMAT,
                                 calls[i].name, access_name (calls[i].access), peer->uid, peer->pid);
                        *ret_refused = TRUE;
                        return augur_api_reply_error (id, "permission-denied", msg);
                }
                b = json_builder_new ();
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "ok");
                json_builder_add_boolean_value (b, TRUE);
                json_builder_set_member_name (b, "result");
                json_builder_begin_object (b);
                if (!calls[i].func (api, peer, args, b, &error))
                        return augur_api_reply_error (id, error_code_of (error), error->message);
                json_builder_end_object (b);
                add_id (b, id);
                json_builder_end_object (b);
                return builder_to_line (b);
        }
        return augur_api_reply_error (id, "unknown-call", "no such call");
}

char *
augur_api_handle_line (AugurApi *api, const AugurApiPeer *peer,
                       const char *line, gsize len)
{
        gboolean refused = FALSE;

        g_return_val_if_fail (api != NULL && peer != NULL, NULL);
        g_return_val_if_fail (line != NULL || len == 0, NULL);
        return augur_api_handle_line_full (api, peer, line ? line : "", len, &refused);
}
