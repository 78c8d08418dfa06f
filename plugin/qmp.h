/* qmp.h — a minimal, strict QMP client over a unix socket.
 *
 * WHAT IT IS.  One short session per use: connect, read the greeting,
 * send qmp_capabilities, run one or a few commands, close.  The whole
 * session runs under one deadline fixed when it opens (a few hundred
 * milliseconds by default): QEMU serves one QMP client at a time on a
 * socket (qemu-server's <vmid>.qmp is Proxmox's own, used by qm and
 * pvestatd too), so augurd never keeps it open between calls and never
 * waits long for it.
 *
 * STRICT, HOSTILE-INPUT SAFE.  Every line QEMU sends is capped
 * (AUGUR_QMP_MAX_LINE bytes); a longer one, a line that is not a JSON
 * object, a greeting without "QMP", a reply whose "id" is not the one
 * sent, or neither "return" nor "error" fails the session with
 * AUGUR_QMP_ERROR_PROTOCOL and a message saying what was wrong.
 * Asynchronous events ({"event": ...}) between replies are skipped (the
 * line cap and the deadline bound them).  Writes use MSG_NOSIGNAL: a peer
 * that went away is an error, not a SIGPIPE.
 *
 * BUSY.  A socket whose listen queue is full (EAGAIN) or that nobody
 * listens on (ECONNREFUSED) fails at once with AUGUR_QMP_ERROR_BUSY or
 * AUGUR_QMP_ERROR_GONE; a greeting that does not come before the deadline
 * (another client holds the monitor) is AUGUR_QMP_ERROR_TIMEOUT.  The
 * caller keeps an AugurQmpBackoff per socket and skips it while it backs
 * off, so a busy monitor is not hammered every tick.
 *
 * VERSIONS.  Any QEMU version is accepted: a session works as long as the
 * commands it runs exist.  The greeting's QMP.version.qemu is kept, and a
 * command the QEMU does not know (class CommandNotFound) fails with
 * AUGUR_QMP_ERROR_NO_COMMAND and that version in the message.
 *
 * THREADS.  A session belongs to one thread; sessions on different
 * sockets (or the same one) may run in different threads.  No global
 * state. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define AUGUR_QMP_ERROR (augur_qmp_error_quark ())
GQuark augur_qmp_error_quark (void);

typedef enum {
        AUGUR_QMP_ERROR_IO,             /* socket error (connect, read, write) */
        AUGUR_QMP_ERROR_GONE,           /* no socket, or nobody listening      */
        AUGUR_QMP_ERROR_BUSY,           /* listen queue full (EAGAIN)          */
        AUGUR_QMP_ERROR_TIMEOUT,        /* the deadline passed                 */
        AUGUR_QMP_ERROR_PROTOCOL,       /* garbage, oversize, wrong reply      */
        AUGUR_QMP_ERROR_COMMAND,        /* QEMU answered {"error": ...}        */
        AUGUR_QMP_ERROR_NO_COMMAND,     /* ... of class CommandNotFound: this
                                         * QEMU lacks it (the message names
                                         * the version of its greeting)       */
} AugurQmpError;

/* The longest line accepted from QEMU, bytes (newline excluded). */
#define AUGUR_QMP_MAX_LINE (64 * 1024)
/* The default session deadline, ms. */
#define AUGUR_QMP_DEFAULT_TIMEOUT_MS 200

typedef struct AugurQmp AugurQmp;

/* Connect to path, read the greeting and negotiate capabilities, all
 * before timeout_ms have passed; the rest of the session shares what is
 * left of it.  NULL with *error set on any failure. */
AugurQmp *augur_qmp_open (const char *path, int timeout_ms, GError **error);
/* The same session with a QEMU guest agent (qemu-ga on a virtio-serial
 * port, its host end a unix socket such as qemu-server's <vmid>.qga):
 * the agent sends no greeting and takes no capabilities; it may hold
 * replies to an earlier client, so the session starts with
 * guest-sync-delimited and a random id, skips everything up to the
 * agent's 0xFF sentinel, and checks that the id comes back.  An agent
 * that is not running in the guest never answers: AUGUR_QMP_ERROR_TIMEOUT
 * at the deadline.  Then augur_qmp_execute() runs its commands. */
AugurQmp *augur_qga_open (const char *path, int timeout_ms, GError **error);
/* Close the socket and free.  NULL-safe. */
void augur_qmp_close (AugurQmp *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurQmp, augur_qmp_close)

/* Run command with args (an object node, or NULL; not taken) and wait for
 * its reply.  On success *ret_return (may be NULL) is the "return" member
 * (transfer full).  {"error": {"class", "desc"}} is AUGUR_QMP_ERROR_COMMAND
 * with "class: desc" as the message (NO_COMMAND for CommandNotFound).  After a failure other than COMMAND
 * the session is unusable (every later call fails). */
gboolean augur_qmp_execute (AugurQmp *q, const char *command, JsonNode *args,
                            JsonNode **ret_return, GError **error);

/* One whole session for one command (open, execute, close). */
gboolean augur_qmp_call (const char *path, int timeout_ms, const char *command,
                         JsonNode *args, JsonNode **ret_return, GError **error);

/* Backing off a busy or unreachable socket: skip it until next_us, doubling
 * the wait after each failure in a row (from min_us up to max_us), and
 * forget it after a success.  Pure (the caller passes the monotonic time). */
typedef struct {
        gint64 next_us;                 /* no try before this (monotonic)     */
        gint64 wait_us;                 /* the wait after the last failure    */
        guint failures;                 /* in a row                           */
} AugurQmpBackoff;

gboolean augur_qmp_backoff_ready (const AugurQmpBackoff *b, gint64 now_us);
void augur_qmp_backoff_failed (AugurQmpBackoff *b, gint64 now_us, gint64 min_us, gint64 max_us);
void augur_qmp_backoff_succeeded (AugurQmpBackoff *b);
