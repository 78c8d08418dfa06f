/* activity-parse.h — the activity report parser and the line reader: the
 * pure half of the activity module (activity.h), and its fuzz target
 * (tests/fuzz-activity.c).
 *
 * What it is: a strict parser of one report line into an
 * AugurActivityReport, and a reader that frames lines out of a byte stream,
 * rate limits them with a token bucket, parses them and counts what it
 * drops.  It needs GLib (and GIO for its error codes) and common/buckets.h,
 * nothing else: no socket, no hypervisor, no store.
 * What it is not: the channel (activity-channel.c finds and connects the
 * socket) or the daemon glue (activity.c).  activity.h has the trust model
 * these limits implement.
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

/* Log lines of the activity module (activity*.c): the guest as
 * AUGUR_GUEST, and AUGUR_ACTION=activity. */
#define augur_activity_log(level, guest, ...) \
        g_log_structured (G_LOG_DOMAIN, level, \
                          "AUGUR_GUEST", "%s", (guest) ? (guest) : "", \
                          "AUGUR_ACTION", "%s", "activity", \
                          "MESSAGE", __VA_ARGS__)

/* ---------------------------------------------------------------- limits */

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
/* A report of the domain dropped outside the reader (the guest agent's
 * answer, as hostile as the channel's) with an out-of-range value: counted
 * in dropped_range and logged as the reader's own drops are (the first as
 * a warning, the rest at debug). */
void augur_activity_reader_drop_range (AugurActivityReader *rd, const char *kind,
                                       const char *detail);
/* The channel connected (again): counted in connects. */
void augur_activity_reader_count_connect (AugurActivityReader *rd);
