/* client.h — virt-augur's side of augurd's local API (plugin/api.h has the
 * wire format): one request line out, one response line back, within a
 * deadline.
 *
 * What it is not: a long-lived connection or a JSON-RPC library.  Each call
 * connects, sends one line, shuts its side down and reads one line; that is
 * all `status` needs, and it keeps a stuck augurd from stalling the CLI.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define AUGUR_CLIENT_ERROR (augur_client_error_quark ())
GQuark augur_client_error_quark (void);

typedef enum {
        AUGUR_CLIENT_ERROR_UNAVAILABLE, /* no socket, or nobody listens: augurd
                                         * is not running (fall back to the DB) */
        AUGUR_CLIENT_ERROR_PERMISSION,  /* the socket file or augurd refused us */
        AUGUR_CLIENT_ERROR_TIMEOUT,     /* no complete reply before the deadline */
        AUGUR_CLIENT_ERROR_PROTOCOL,    /* the reply is not one JSON object line */
        AUGUR_CLIENT_ERROR_REMOTE,      /* augurd answered with an error        */
} AugurClientError;

/* Largest reply accepted, bytes.  A status reply is ~1 KiB and a domain
 * list ~150 bytes per domain; 16 MiB is 100 000 domains. */
#define AUGUR_CLIENT_MAX_REPLY_BYTES (16 * 1024 * 1024)
/* Default deadline for one call, ms: generous for a local daemon that
 * answers from memory, short enough that a stuck one does not stall a
 * shell prompt (bash completion) or a script. */
#define AUGUR_CLIENT_TIMEOUT_MS 2000

/* The configuration file augurd reads by default, as virt-augur finds it:
 * $AUGUR_CONFIG, else SYSCONFDIR/augur/augur.conf.  (transfer none) */
const char *augur_client_config_path (void);

/* Where augurd listens, in order: override (--socket) if not NULL, then
 * $AUGUR_SOCKET, then [daemon] socket in the config file ($AUGUR_CONFIG,
 * else SYSCONFDIR/augur/augur.conf; errors ignored), then the compiled-in
 * default.  (transfer full) */
char *augur_client_socket_path (const char *override);

/* Send request_json (one JSON object; a trailing "\n" is added if missing,
 * it must not contain another) to the socket at socket_path and return
 * (transfer full) the reply line without its "\n".  The whole exchange
 * (connect, send, receive) ends within timeout_ms.  NULL with error
 * (AUGUR_CLIENT_ERROR_UNAVAILABLE, _PERMISSION, _TIMEOUT, _PROTOCOL) on
 * failure; an error *reply* is still a successful call here. */
char *augur_client_call (const char *socket_path, const char *request_json,
                         int timeout_ms, GError **error);

/* augur_client_call(), then parse the reply: (transfer full) its "result"
 * node when "ok" is true.  An error reply becomes
 * AUGUR_CLIENT_ERROR_REMOTE ("permission-denied": _PERMISSION) with
 * augurd's code and message. */
JsonNode *augur_client_call_result (const char *socket_path, const char *request_json,
                                    int timeout_ms, GError **error);

/* Do a and b name the same file?  By inode when both exist, else by name.
 * (Does the augurd on the socket write the database the user named?) */
gboolean augur_client_same_file (const char *a, const char *b);
