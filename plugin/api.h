/* api.h — augurd's local API: JSON lines on a unix socket.
 *
 * What it is: the socket the libvirt hook, virt-augur and later tools talk
 * to.  It owns the listening socket, its clients, the wire format and the
 * permission table.  What the calls *do* lives in the daemon, behind an
 * AugurApiOps table, so this module knows nothing of AugurDaemon, libvirt or
 * the store (and its tests need none of them).
 *
 * WIRE FORMAT (one request object per line, one response line per request,
 * in order; UTF-8; "\n" ends a line, a "\r" before it is ignored)
 *   request   {"call": "status", "args": {...}, "id": <any>}
 *             "args" is optional and must be an object; "id" is optional
 *             and echoed back unchanged; unknown members are ignored.
 *   success   {"ok": true, "result": {...}, "id": <as sent>}
 *   failure   {"ok": false, "error": {"code": "<code>", "message": "..."}}
 *   codes     parse-error        not UTF-8, a NUL byte, or not JSON
 *             invalid-request    not an object, no "call" string, bad "args"
 *             unknown-call       no such call
 *             permission-denied  the peer may not make this call
 *             invalid-args       the call's arguments are wrong
 *             too-large          a line longer than the limit; the
 *                                connection is closed after this reply
 *             busy               no slot for this peer (too many clients,
 *                                too many from its uid, or only slots kept
 *                                for root are left); closed after this reply
 *             rate-limited       notify: this uid sends notifications
 *                                faster than the limit; this one is dropped
 *             unsupported        the daemon does not implement the call
 *             failed             the call itself failed (message says why)
 *   A client may send several requests on one connection; a request is
 *   answered before the next one is read.
 *
 * CALLS (the dispatch table in api-request.c; later calls add one row each)
 *   call     access  args                          result members
 *   status   read    -                             daemon state (ops->status)
 *   domains  read    -                             "domains": [...] (ops->domains)
 *   notify   hook    op, sub, domain               - (ops->notify)
 *   reload   admin   -                             - (ops->reload)
 *   io_forecast read domain (UUID or name)         the guest's I/O forecasts
 *                                                  (ops->io_forecast)
 *
 * WHO MAY CALL (the peer's SO_PEERCRED and SO_PEERGROUPS, read at accept)
 *   admin    uid 0, or the uid augurd itself runs as
 *   read     admin, or a member (primary or supplementary) of the API group
 *   hook     same peers as read.  notify only records the event and may
 *            schedule one early tick; the daemon re-reads the truth from
 *            libvirt and never acts on what a notification claims.  The
 *            group is "libvirt" by default, whose members already control
 *            every guest through libvirt itself.
 *   The socket file is the first gate (mode 0660 root:GROUP, or 0600 when
 *   there is no group); this table is the second, so a socket made
 *   world-writable by mistake still refuses strangers.  A peer that may
 *   make no call at all (neither admin nor in the group) is answered
 *   "permission-denied" at accept and closed: it never holds a slot, so
 *   strangers cannot lock root or the hook out however many connect.
 *
 * SLOTS (max_clients connections at once, decided at accept)
 *   admin    any free slot; the last admin_reserved slots are theirs alone
 *            (the hook runs as root: it always finds one)
 *   group    at most max_clients_per_uid per uid, and only the slots that
 *            are not reserved
 *   others   none (see above)
 *
 * NOTIFY FLOODS (per uid, in the API, before ops->notify)
 *   A notify identical to that uid's previous one (op, sub, domain) within
 *   AUGUR_API_NOTIFY_COALESCE_MS is answered ok and not passed on (it
 *   would record the same event twice).  Beyond that, a token bucket of
 *   notify_burst notifications refilled at notify_rate_per_s: the excess is
 *   answered "rate-limited" and dropped.  So a caller with hook rights
 *   costs the store at most the rate's worth of event rows, whatever it
 *   sends.
 *
 * LIMITS (bounded memory and time per client; constants below)
 *   a line of at most max_line_bytes, at most max_clients connections
 *   (shared as in SLOTS above), and
 *   a connection idle for client_timeout_ms is closed.  One request is
 *   served at a time per client, and reading stops while its response is
 *   still being written, so a client that never reads costs one response.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define AUGUR_API_ERROR (augur_api_error_quark ())
GQuark augur_api_error_quark (void);

typedef enum {
        AUGUR_API_ERROR_CONFIG,       /* bad group or mode: fix the config    */
        AUGUR_API_ERROR_IN_USE,       /* a live process answers on the path   */
        AUGUR_API_ERROR_FAILED,       /* cannot create, bind or listen        */
        AUGUR_API_ERROR_INVALID_ARGS, /* ops: the call's arguments are wrong  */
        AUGUR_API_ERROR_RATE_LIMITED, /* notify: over the uid's rate          */
} AugurApiError;

/* Longest request line, bytes (without the "\n").  Requests are small
 * objects (the largest planned, a policy update, is under 4 KiB); 64 KiB
 * leaves room and bounds what one client can make us hold. */
#define AUGUR_API_MAX_LINE_BYTES (64 * 1024)
/* Connections at once.  The hook, a few virt-augur and a scraper need a
 * handful; each costs one fd, a line buffer and one response. */
#define AUGUR_API_MAX_CLIENTS 32
/* Of those, connections one non-admin uid may hold at once.  The hook
 * needs one at a time, virt-augur top one, a scraper one; 8 leaves room
 * and lets no single group member take more than a quarter. */
#define AUGUR_API_MAX_CLIENTS_PER_UID 8
/* Slots only admins (root, augurd's uid) may take, so that root's hook and
 * virt-augur reload get an answer while the group's members hold all the
 * others.  Scaled down for a small max_clients (a quarter of it). */
#define AUGUR_API_ADMIN_RESERVED 8
/* Notifications one uid may send: a burst, then a sustained rate.  The
 * burst covers a host start or a libvirtd restart (one "reconnect" per
 * running domain, two events per domain start) of 1000 domains; libvirtd
 * itself starts domains far slower than the rate.  A flood of 3500/s
 * (71 000 in 20 s, as measured) then costs 1000 + 20 events per second,
 * not 95 MB. */
#define AUGUR_API_NOTIFY_BURST 1000
#define AUGUR_API_NOTIFY_RATE_PER_S 20
/* A notify identical to the same uid's previous one within this many ms
 * is a repeat: answered ok, not passed on.  libvirt sends each operation
 * of a domain once; a repeat within seconds is a loop or a flood. */
#define AUGUR_API_NOTIFY_COALESCE_MS 5000
/* A connection with no complete request for this long is closed, ms, so
 * idle or stalled clients cannot hold the slots above forever. */
#define AUGUR_API_CLIENT_TIMEOUT_MS 10000
/* Longest domain name accepted from the hook, bytes.  libvirt has no hard
 * limit; this bounds what one notification puts into logs and the store. */
#define AUGUR_API_MAX_DOMAIN_BYTES 1024

typedef enum {
        AUGUR_API_ACCESS_READ,        /* admin or API group                   */
        AUGUR_API_ACCESS_HOOK,        /* same peers as READ (see above)       */
        AUGUR_API_ACCESS_ADMIN,       /* uid 0 or augurd's own uid            */
} AugurApiAccess;

/* Who is on the other end, as the kernel said at connect time. */
typedef struct {
        gint64 pid;                   /* -1 when unknown                      */
        gint64 uid;                   /* -1 when unknown                      */
        gint64 gid;                   /* primary gid, -1 when unknown         */
        gboolean admin;               /* uid 0 or augurd's own uid            */
        gboolean in_group;            /* primary or supplementary group is
                                       * the API group                        */
} AugurApiPeer;

/* A libvirt qemu hook event, validated by the API before ops->notify.
 * The domain name is untrusted text: valid UTF-8 with no NUL, at most
 * AUGUR_API_MAX_DOMAIN_BYTES, otherwise anything (quotes, $(), newlines). */
typedef struct {
        const char *op;               /* "prepare", "started", "stopped", ... */
        int op_code;                  /* libvirt's virHookQemuOpType value    */
        const char *sub_op;           /* "begin", "end" or "-"                */
        int sub_op_code;              /* libvirt's virHookSubopType value     */
        const char *domain;
        const AugurApiPeer *peer;
} AugurApiNotify;

/* What the daemon implements.  Every member may be NULL: the call then
 * answers "unsupported".  Callbacks run on the main loop and must be quick;
 * notify in particular must never call libvirt synchronously: libvirtd is
 * waiting for the hook, and the hook for this reply (defer the work). */
typedef struct {
        /* Add members to the open result object. */
        void (*status) (gpointer daemon, JsonBuilder *result);
        /* Add members (at least "domains": [...]) to the open result object. */
        void (*domains) (gpointer daemon, JsonBuilder *result);
        gboolean (*notify) (gpointer daemon, const AugurApiNotify *n, GError **error);
        /* Re-read the configuration, as SIGHUP does. */
        gboolean (*reload) (gpointer daemon, GError **error);
        /* Add the I/O forecasts of the running guest domain (its UUID or
         * name) to the open result object; AUGUR_API_ERROR_INVALID_ARGS
         * when no such guest was in the last tick. */
        gboolean (*io_forecast) (gpointer daemon, const char *domain, JsonBuilder *result, GError **error);
} AugurApiOps;

typedef struct {
        const char *group;            /* NULL: "libvirt" if that group exists,
                                       * else none; "": none (root only)      */
        int mode;                     /* socket mode, 0: 0660 with a group,
                                       * 0600 without                         */
        gsize max_line_bytes;         /* 0: AUGUR_API_MAX_LINE_BYTES          */
        guint max_clients;            /* 0: AUGUR_API_MAX_CLIENTS             */
        guint client_timeout_ms;      /* 0: AUGUR_API_CLIENT_TIMEOUT_MS       */
        guint max_clients_per_uid;    /* non-admin uid; 0: MIN (AUGUR_API_MAX_
                                       * CLIENTS_PER_UID, unreserved slots)   */
        guint admin_reserved;         /* 0: MIN (AUGUR_API_ADMIN_RESERVED,
                                       * max_clients / 4)                     */
        guint notify_burst;           /* 0: AUGUR_API_NOTIFY_BURST            */
        guint notify_rate_per_s;      /* 0: AUGUR_API_NOTIFY_RATE_PER_S       */
} AugurApiOptions;

typedef struct AugurApi AugurApi;

/* Create the socket at path and start serving it on the thread-default
 * main context.  A stale socket file (nobody answers) is replaced; a live
 * one is AUGUR_API_ERROR_IN_USE; any other file at path is refused and
 * left alone.  The parent directory is created (0755) if missing; an
 * existing one must belong to root or augurd's uid and, if group or others
 * may write to it, have the sticky bit (as /tmp): otherwise someone else
 * could swap the socket file under us, and it is refused.  The socket is
 * born with its mode (fchmod on the fd before bind, umask 0) and gets its
 * group with lchown, which never follows a symlink; nothing acts on the
 * path through a link.
 *
 * path may be NULL: no socket at all; tests then drive
 * augur_api_handle_line() directly.  options may be NULL (defaults).
 * ops and daemon are borrowed and must outlive the API.
 *
 * Returns (transfer full) the API, or NULL with error set:
 *   AUGUR_API_ERROR_CONFIG   the group does not exist, or the mode is not
 *                            0600..0666 with owner read-write
 *   AUGUR_API_ERROR_IN_USE   another process serves path
 *   AUGUR_API_ERROR_FAILED   mkdir, bind, chown/chmod or listen failed,
 *                            or the directory is not safe (see above) */
AugurApi *augur_api_new_full (const char *path, const AugurApiOptions *options,
                              const AugurApiOps *ops, gpointer daemon,
                              GError **error);
/* augur_api_new_full() with default options. */
AugurApi *augur_api_new (const char *path, const AugurApiOps *ops,
                         gpointer daemon, GError **error);
/* Close every client and the socket, and remove the socket file if it is
 * still the one this API created.  NULL-safe. */
void augur_api_free (AugurApi *api);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurApi, augur_api_free)

const char *augur_api_get_path (const AugurApi *api);
/* The API group's name, or NULL when the socket is root-only. */
const char *augur_api_get_group (const AugurApi *api);
/* The socket file's mode (e.g. 0660). */
int augur_api_get_mode (const AugurApi *api);
guint augur_api_get_n_clients (const AugurApi *api);

/* What the API turned away since it started (also in the status reply). */
typedef struct {
        guint64 refused;              /* connections of peers with no rights  */
        guint64 busy;                 /* connections refused for want of a slot */
        guint64 notify_coalesced;     /* repeats answered ok, not passed on   */
        guint64 notify_rate_limited;  /* answered rate-limited, dropped       */
} AugurApiCounters;

void augur_api_get_counters (const AugurApi *api, AugurApiCounters *ret);

/* Serve one request line (without its "\n") as if it came from peer.
 * Returns (transfer full) the response line, without "\n".  The socket
 * path uses exactly this; tests call it directly. */
char *augur_api_handle_line (AugurApi *api, const AugurApiPeer *peer,
                             const char *line, gsize len);

/* May peer make a call of this access class? */
gboolean augur_api_peer_allowed (const AugurApiPeer *peer, AugurApiAccess access);
