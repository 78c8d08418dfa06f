/* activity.h — behavioural signals from inside the guests (host side).
 *
 * What it is: augurd's end of the org.augur.activity.0 virtio-serial
 * channel.  augur-guest (guest/augur-guest.c) writes one JSON line every few
 * seconds into the guest end; QEMU listens on a unix socket on the host end
 * (<channel type='unix'><source mode='bind' path=…/>); this module asks the
 * hypervisor (hv.h) for that socket of each running domain, connects,
 * frames lines, rate limits them, parses them into AugurActivityReport
 * and hands them to the store (sql/store-activity.h) once per tick.  It
 * also asks the guest agent, where one is connected, for the logged-in
 * users at a slow rate, off the tick path.  It is not a feature builder:
 * the model reads the stored columns (activity table, and
 * samples.input_events_per_min / sessions / proc_starts_per_min in trace
 * units).
 *
 * TRUST: everything that comes from a guest is hostile.  The guest controls
 * every byte on the channel, how fast they come and whether a line ever
 * ends.  So:
 *   - memory per domain is fixed: one line buffer of AUGUR_ACTIVITY_LINE_MAX
 *     bytes; an overlong line is discarded up to its newline without being
 *     buffered; at most AUGUR_ACTIVITY_PENDING_MAX reports wait for the
 *     store;
 *   - CPU per domain is bounded: at most AUGUR_ACTIVITY_READ_BUDGET_BYTES
 *     bytes are read per main-loop wakeup; when the budget runs out, reading
 *     pauses for AUGUR_ACTIVITY_THROTTLE_MS (the guest's port queue then
 *     fills and augur-guest drops reports: the backpressure lands on the
 *     guest, not on augurd), and a token bucket
 *     (burst AUGUR_ACTIVITY_RATE_BURST, AUGUR_ACTIVITY_RATE_PER_S per second)
 *     drops excess lines *before* they are parsed;
 *   - the parser is strict RFC 8259 plus the schema (REPORT-SCHEMA.md):
 *     bounded nesting, no duplicate keys, required keys, typed values,
 *     finite numbers inside sane bounds, a known version;
 *   - every drop is counted per domain (AugurActivityCounters, stored in the
 *     activity_drops table) and logged once per domain, then at debug.
 *
 * WHY OUR OWN PARSER (and not json-glib's JsonParser): json-glib 1.6 parses
 * a 415-byte report at ~23 k/s on this machine (the goal is >= 100 k/s under
 * a flood) and is lenient where a hostile input must not be: it accepts
 * single-quoted strings, hex numbers, trailing data after the object, and
 * wraps 9223372036854775808 to a negative integer.  The report grammar is
 * small and fixed, so augur_activity_parse_line() is a bounded single-pass
 * parser over at most 1024 bytes.  json-glib stays as the reference: the
 * unit tests and the fuzzer check that every line we accept is also valid
 * JSON to json-glib and carries the same values (a differential oracle).
 * Measured: scripts/bench-activity.c, BENCHMARKS-activity.md.
 */
#pragma once

#include <glib.h>

#include "buckets.h"
#include "hv.h"
#include "store.h"

/* ---------------------------------------------------------------- limits */

#define AUGUR_ACTIVITY_PORT_NAME "org.augur.activity.0"
#define AUGUR_ACTIVITY_VERSION 1             /* the only "v" we accept            */
#define AUGUR_ACTIVITY_LINE_MAX 1024         /* bytes per line, '\n' included     */
#define AUGUR_ACTIVITY_TOP_MAX 5             /* entries of "top"                  */
#define AUGUR_ACTIVITY_COMM_MAX 15           /* bytes of a program name (comm)    */
#define AUGUR_ACTIVITY_DEPTH_MAX 3           /* root object, "top", its objects   */
#define AUGUR_ACTIVITY_NUMBER_MAX 40         /* chars of one number literal       */
#define AUGUR_ACTIVITY_UNKNOWN_KEYS_MAX 8    /* ignored keys per report           */
#define AUGUR_ACTIVITY_USER_BUCKETS AUGUR_USER_BUCKETS /* "user_sessions" length (4) */

/* Token bucket per domain: a legitimate guest sends one line per interval
 * (>= 1 s); a burst of 4 absorbs a reconnect or a late scheduling. */
#define AUGUR_ACTIVITY_RATE_PER_S 1.0        /* lines/s refill                    */
#define AUGUR_ACTIVITY_RATE_BURST 4.0        /* lines                             */
/* Bytes read per domain per main-loop wakeup, and the pause once that
 * budget is used up: at most 8 KiB / 50 ms = 160 KiB/s per domain, ~160
 * times what a legitimate guest sends. */
#define AUGUR_ACTIVITY_READ_BUDGET_BYTES 8192 /* bytes                          */
#define AUGUR_ACTIVITY_THROTTLE_MS 50        /* ms                                */
/* Accepted reports waiting for the next tick's store flush, per domain. */
#define AUGUR_ACTIVITY_PENDING_MAX 64
/* Guest agent users poll period, and the retry period while the agent is
 * known to be absent or does not support guest-get-users. */
#define AUGUR_ACTIVITY_AGENT_POLL_S 60
#define AUGUR_ACTIVITY_AGENT_RETRY_S 600
/* Channel reconnect backoff: first retry after 1 s, doubling up to 30 s. */
#define AUGUR_ACTIVITY_RECONNECT_MIN_S 1.0
#define AUGUR_ACTIVITY_RECONNECT_MAX_S 30.0

/* Sane bounds of report values (inclusive).  A value outside is RANGE. */
#define AUGUR_ACTIVITY_MAX_SEQ          G_GINT64_CONSTANT (9007199254740992) /* 2^53 */
#define AUGUR_ACTIVITY_MIN_INTERVAL_MS  100
#define AUGUR_ACTIVITY_MAX_INTERVAL_MS  86400000      /* one day: a paused guest   */
#define AUGUR_ACTIVITY_MAX_INPUT_PER_MIN 1e7          /* 166 k events/s            */
#define AUGUR_ACTIVITY_MAX_SESSIONS     100000
#define AUGUR_ACTIVITY_MAX_PROC_PER_MIN 1e8           /* 1.6 M forks/s             */
#define AUGUR_ACTIVITY_MAX_LOAD         1e6
#define AUGUR_ACTIVITY_MAX_PSI          100.0         /* percent                   */
#define AUGUR_ACTIVITY_MAX_CPU_PCT      1e5           /* 1000 CPUs busy            */
/* OOM kills since guest boot: a counter, so any finite count is possible;
 * 2^53 is where a double (AugurActivityLatest, the store's row values)
 * stops carrying it exactly. */
#define AUGUR_ACTIVITY_MAX_OOM_KILL     G_GINT64_CONSTANT (9007199254740992) /* 2^53 */

/* ---------------------------------------------------------------- errors */

#define AUGUR_ACTIVITY_ERROR (augur_activity_error_quark ())
GQuark augur_activity_error_quark (void);

typedef enum {
        AUGUR_ACTIVITY_ERROR_MALFORMED,  /* not the report grammar: JSON syntax,
                                          * types, nesting, duplicate or missing
                                          * keys, NUL, invalid UTF-8            */
        AUGUR_ACTIVITY_ERROR_OVERSIZE,   /* longer than AUGUR_ACTIVITY_LINE_MAX */
        AUGUR_ACTIVITY_ERROR_RANGE,      /* well-formed, but a value is out of
                                          * bounds or not finite               */
        AUGUR_ACTIVITY_ERROR_VERSION,    /* "v" is not AUGUR_ACTIVITY_VERSION   */
} AugurActivityError;

/* ---------------------------------------------------------------- report */

/* Optional fields of a report: bit set in present = value known. */
typedef enum {
        AUGUR_ACTIVITY_F_DROPPED = 0,
        AUGUR_ACTIVITY_F_INPUT_SRC,
        AUGUR_ACTIVITY_F_INPUT_EVENTS,
        AUGUR_ACTIVITY_F_SESSIONS,
        AUGUR_ACTIVITY_F_USERS,
        AUGUR_ACTIVITY_F_PROC_STARTS,
        AUGUR_ACTIVITY_F_NET_RX,
        AUGUR_ACTIVITY_F_NET_TX,
        AUGUR_ACTIVITY_F_LOAD1,
        AUGUR_ACTIVITY_F_PSI_CPU,
        AUGUR_ACTIVITY_F_PSI_MEM,
        AUGUR_ACTIVITY_F_PSI_IO,
        AUGUR_ACTIVITY_F_TOP,
        AUGUR_ACTIVITY_F_USER_SESSIONS,
        AUGUR_ACTIVITY_F_OOM_KILL,
        AUGUR_ACTIVITY_F_N,
} AugurActivityField;

typedef enum {
        AUGUR_ACTIVITY_INPUT_NONE = 0,   /* the guest cannot count input      */
        AUGUR_ACTIVITY_INPUT_EVDEV,      /* /dev/input SYN_REPORT frames      */
        AUGUR_ACTIVITY_INPUT_IRQ,        /* i8042/keyboard/mouse/HID IRQs     */
} AugurActivityInputSrc;

typedef struct {
        char comm[AUGUR_ACTIVITY_COMM_MAX + 1];  /* NUL-terminated, no control chars */
        double cpu_pct;                          /* percent of one CPU        */
} AugurActivityProgram;

/* One parsed, range-checked report.  Required fields are always set;
 * optional ones only when their bit is set in present. */
typedef struct {
        guint32 present;                 /* bits of AugurActivityField        */
        gint64 version;                  /* always AUGUR_ACTIVITY_VERSION     */
        gint64 seq;                      /* report number since guest start   */
        gint64 interval_ms;              /* interval the rates cover, ms      */
        gint64 dropped;                  /* reports the guest dropped, total  */
        AugurActivityInputSrc input_src;
        double input_events_per_min;     /* events / min                      */
        gint64 sessions;                 /* logged-in sessions                */
        gint64 users;                    /* distinct users among them         */
        double proc_starts_per_min;      /* forks / min                       */
        gint64 net_rx_bytes;             /* since guest boot, non-loopback    */
        gint64 net_tx_bytes;
        double load1;                    /* guest 1-min load average          */
        double psi_cpu;                  /* guest PSI "some avg10", percent   */
        double psi_mem;
        double psi_io;
        gint64 oom_kill;                 /* processes the guest's OOM killer
                                          * killed since guest boot
                                          * (/proc/vmstat oom_kill)           */
        guint n_top;                     /* entries of top[] (0..5)           */
        AugurActivityProgram top[AUGUR_ACTIVITY_TOP_MAX];
        gint64 user_sessions[AUGUR_ACTIVITY_USER_BUCKETS]; /* sessions per user
                                          * bucket (common/buckets.h), summing
                                          * to sessions                       */
} AugurActivityReport;

static inline gboolean
augur_activity_report_has (const AugurActivityReport *r, AugurActivityField f)
{
        return (r->present >> f) & 1;
}

/* Parse one line (without its '\n'; trailing JSON whitespace such as '\r'
 * is fine) into *ret.  Pure: no allocation, no logging, no global state;
 * reads at most len bytes of buf, which need not be NUL-terminated.
 *
 *   returns   *ret                      *error
 *   TRUE      the report                untouched
 *   FALSE     untouched                 AUGUR_ACTIVITY_ERROR_* (code above)
 *
 * Cost: one pass, O(len), len <= AUGUR_ACTIVITY_LINE_MAX - 1. */
gboolean augur_activity_parse_line (const char *buf, gsize len,
                                    AugurActivityReport *ret, GError **error);

/* The report's program and user buckets in trace units (common/buckets.h):
 *   ret_prog_pct       (AUGUR_PROG_BUCKETS) summed cpu_pct of the "top"
 *                      programs hashing to each bucket; all NAN when the
 *                      report has no "top"
 *   ret_user_sessions  (AUGUR_USER_BUCKETS) "user_sessions"; all NAN when
 *                      the report has none (an older augur-guest)
 * The one conversion used for the store's samples and for the live
 * forecaster, so both see the units an imported trace has. */
void augur_activity_report_buckets (const AugurActivityReport *r, double *ret_prog_pct,
                                    double *ret_user_sessions);

/* top[] as a JSON array text ('[{"comm":"x","cpu_pct":1.5},...]'), or NULL
 * when the report has no "top".  (transfer full) */
char *augur_activity_top_to_json (const AugurActivityReport *r);

/* ------------------------------------------------------- the line reader */

/* Per-domain counters, cumulative over the reader's life. */
typedef struct {
        guint64 bytes_read;
        guint64 lines;                   /* complete non-empty lines + overlong */
        guint64 accepted;
        guint64 dropped_malformed;       /* grammar, types, keys, UTF-8         */
        guint64 dropped_oversize;
        guint64 dropped_rate;            /* token bucket, or store queue full   */
        guint64 dropped_range;           /* out of bounds, or unknown version   */
        guint64 connects;                /* successful channel connections      */
} AugurActivityCounters;

typedef struct AugurActivityReader AugurActivityReader;

/* Called for each accepted report; now_us is the time the line completed. */
typedef void (*AugurActivityReportFunc) (const AugurActivityReport *report,
                                         gint64 now_us, gpointer user_data);

/* A reader frames lines out of a byte stream, rate limits them, parses them
 * and counts what it drops.  name is used in log messages (the domain).
 * Its memory is fixed at creation. */
AugurActivityReader *augur_activity_reader_new (const char *name,
                                                AugurActivityReportFunc func,
                                                gpointer user_data);
void augur_activity_reader_free (AugurActivityReader *rd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurActivityReader, augur_activity_reader_free)

/* Feed bytes received at now_us (monotonic, for the token bucket). */
void augur_activity_reader_feed (AugurActivityReader *rd, const char *data,
                                 gsize len, gint64 now_us);

typedef enum {
        AUGUR_ACTIVITY_READ_AGAIN,       /* drained: wait for the fd           */
        AUGUR_ACTIVITY_READ_BUDGET,      /* budget used up: data may remain    */
        AUGUR_ACTIVITY_READ_EOF,         /* the peer closed                    */
        AUGUR_ACTIVITY_READ_ERROR,       /* read failed (error set)            */
} AugurActivityReadStatus;

/* Read a non-blocking fd until it would block, EOF, an error, or budget
 * bytes were read, feeding every byte.  Memory: a 4 KiB stack buffer. */
AugurActivityReadStatus augur_activity_reader_read_fd (AugurActivityReader *rd, int fd,
                                                       gsize budget, gint64 now_us,
                                                       GError **error);

/* Bytes of the partial line held now (<= AUGUR_ACTIVITY_LINE_MAX - 1). */
gsize augur_activity_reader_buffered (const AugurActivityReader *rd);
const AugurActivityCounters *augur_activity_reader_counters (const AugurActivityReader *rd);
/* Forget any partial line (the stream was cut: the next byte starts a line). */
void augur_activity_reader_reset_line (AugurActivityReader *rd);

/* ------------------------------------------------------ the live domain XML */

/* The host-side socket path of the activity channel in a libvirt domain's
 * XML (the libvirt backend's AugurHvDevices.activity_socket): the
 * <channel type='unix'> whose <target type='virtio'
 * name='org.augur.activity.0'/> and <source mode='bind' path=…/>.  Returns
 * NULL without error when the domain has no such channel (or it is not in
 * bind mode: then QEMU connects out and there is nothing to connect to).
 * (transfer full) */
char *augur_activity_channel_path_from_xml (const char *xml, GError **error);

/* ------------------------------------------------- the daemon integration */

typedef struct AugurActivity AugurActivity;

/* store is borrowed and must outlive the AugurActivity; NULL = parse and
 * count, store nothing (tests). */
AugurActivity *augur_activity_new (AugurStore *store);
void augur_activity_free (AugurActivity *act);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurActivity, augur_activity_free)

/* Call once per tick, after the tick's samples are stored.  hv may be NULL
 * (the hypervisor unreachable): then the known channels keep being read
 * and reconnected, and nothing is attached or dropped.  With a connection:
 * one augur_hv_list_guests() call; a domain seen for the first time (or
 * restarted: new run id) costs one augur_hv_guest_read_devices(), known
 * domains cost nothing; vanished domains are dropped.  Then channels due
 * for a reconnect are connected (non-blocking), guest agent polls due are
 * started in a worker thread, and the reports accepted since the last call
 * are written in ONE store transaction (filling the activity columns of
 * each domain's newest sample). */
void augur_activity_sync (AugurActivity *act, AugurHv *hv);

/* Attach only the listed guests keep accepts ([guests] include/exclude,
 * guests.h); a guest it refuses is treated as gone: its channel closes
 * and its agent is not polled.  NULL = every guest (the default). */
void augur_activity_set_keep (AugurActivity *act, AugurHvKeepFunc keep, gpointer keep_data);

/* A domain stopped (LIFECYCLE STOPPED/SHUTDOWN/CRASHED): close its channel
 * now rather than at the next sync.  Its pending reports are kept for the
 * next flush. */
void augur_activity_domain_stopped (AugurActivity *act, const char *uuid);

/* The guest agent connected or disconnected (AGENT_LIFECYCLE): polls of
 * logged-in users start or stop. */
void augur_activity_agent_changed (AugurActivity *act, const char *uuid,
                                   gboolean connected);

/* Counters of one domain (by UUID string) as of now; FALSE if unknown. */
gboolean augur_activity_get_counters (AugurActivity *act, const char *uuid,
                                      AugurActivityCounters *ret);
/* The newest channel report of a domain (by UUID string) if it arrived
 * at most max_age_ms before now_ms (both g_get_real_time () / 1000): the
 * activity values of the trace format, and the guest's own memory
 * distress for the resize loop; NAN where the report had none.
 * FALSE: no report that fresh (no channel, reporter stopped, unknown).
 *
 * oom_kill is the guest's cumulative counter, not a per-report delta, so a
 * report dropped on the way (rate limit, a full port queue in the guest)
 * loses no kill: the next one still counts it.  It restarts at 0 when the
 * guest reboots (the domain keeps running), so a reader that takes
 * differences must treat a decrease as a restart, not as negative kills. */
typedef struct {
        double input_events_per_min;
        double sessions;
        double proc_starts_per_min;
        double prog_pct[AUGUR_PROG_BUCKETS];       /* augur_activity_report_buckets */
        double user_sessions[AUGUR_USER_BUCKETS];
        double psi_mem;                  /* guest PSI memory "some avg10", %  */
        double oom_kill;                 /* guest OOM kills since guest boot  */
} AugurActivityLatest;
gboolean augur_activity_latest (AugurActivity *act, const char *uuid, gint64 now_ms,
                                gint64 max_age_ms, AugurActivityLatest *ret);

/* Domains watched, and how many have a connected channel. */
void augur_activity_get_stats (AugurActivity *act, guint *ret_domains,
                               guint *ret_connected);
