/* api-private.h — what the API's two files share: the AugurApi struct,
 * the per-uid state, and the calls between them.  Not an API: nothing
 * outside plugin/api*.c includes it.
 *
 *   api.c          the server: the socket file and its permissions, accept,
 *                  the peers' credentials, slots per uid, the clients' I/O
 *   api-request.c  one request line to one response line: the pre-scans,
 *                  the dispatch table, the calls, the replies (what
 *                  tests/fuzz-api.c exercises)
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "api.h"

/* Refused and busy connections are logged at message level at most once
 * per this period, then at debug, so a misbehaving client cannot flood
 * the journal. */
#define QUIET_PERIOD_US ((gint64) 60 * G_USEC_PER_SEC)

struct AugurApi {
        char *path;                   /* socket path, NULL: no socket         */
        const AugurApiOps *ops;       /* borrowed                             */
        gpointer daemon;              /* borrowed, passed to ops              */
        GMainContext *context;        /* where sources are attached           */
        GSocket *listener;
        GSource *accept_source;
        char *group;                  /* API group name, NULL: root only      */
        gid_t gid;                    /* its gid when group != NULL           */
        int mode;                     /* socket file mode                     */
        gsize max_line;               /* bytes, without "\n"                  */
        guint max_clients;
        guint max_clients_per_uid;    /* non-admin uid                        */
        guint admin_reserved;         /* slots only admins may take           */
        guint client_timeout_ms;
        guint notify_burst;           /* token bucket per uid (api.h)         */
        guint notify_rate_per_s;
        dev_t dev;                    /* identity of the socket file we made: */
        ino_t ino;                    /* unlinked at free only if unchanged   */
        GList *clients;               /* of Client, owned                     */
        guint n_clients;
        guint n_nonadmin;             /* of which not admin                   */
        GHashTable *uids;             /* uid -> UidState, owned; admitted
                                       * peers only (bounded by the group)    */
        AugurApiCounters counters;
        gint64 loud_after_us;         /* next refused/busy log at message     */
        gint64 notify_loud_after_us;  /* next rate-limited log at message     */
};

/* What the API remembers of one uid: its slots and its notifications. */
typedef struct {
        guint n_clients;              /* connections open now (non-admin)     */
        double tokens;                /* notify token bucket                  */
        gint64 refill_us;             /* monotonic time tokens was computed   */
        char *last_key;               /* op, sub, domain of the last notify
                                       * passed on, NUL-separated             */
        gsize last_key_len;
        gint64 last_key_us;
} UidState;

/* ---- api.c ---- */

/* The state of uid, created (with a full bucket) if new. */
UidState *augur_api_uid_state (AugurApi *api, gint64 uid);
/* Log message with the peer in journal fields and in the text.  (In
 * g_log_structured only MESSAGE is a format; other values are strings.) */
void augur_api_log_peer (GLogLevelFlags level, const char *action, const AugurApiPeer *peer,
                         const char *message);

/* ---- api-request.c ---- */

/* A failure reply (transfer full), one line without "\n"; id may be NULL.
 * message is made valid UTF-8. */
char *augur_api_reply_error (JsonNode *id, const char *code, const char *message);
/* augur_api_handle_line() for the socket: *ret_refused is set TRUE when the
 * peer was refused a call (the caller logs it, rate-limited). */
char *augur_api_handle_line_full (AugurApi *api, const AugurApiPeer *peer, const char *line, gsize len,
                                  gboolean *ret_refused);
