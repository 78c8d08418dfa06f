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
 * The module is three files: activity-parse.c (the parser and the line
 * reader, pure: activity-parse.h), activity-channel.c (the channel's
 * socket in the live domain XML, connecting, reading) and activity.c (per
 * domain state, guest agent polls, the flush into the store).
 */
#pragma once

#include <glib.h>

#include "activity-parse.h"
#include "buckets.h"
#include "hv.h"
#include "store.h"

/* ---------------------------------------------------------------- limits
 * (the parser's and the reader's are in activity-parse.h) */

#define AUGUR_ACTIVITY_PORT_NAME "org.augur.activity.0"
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
