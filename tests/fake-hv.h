/* fake-hv.h — the fake hypervisor: the second backend of plugin/hv.h.
 *
 * What it is: a world of guests that a test (or scripts/bench-tick)
 * defines, with a clock it moves and a record of every call made through
 * the table, so that augurd's decision core (plugin/resize.c) runs as it
 * does against libvirt, with nothing real underneath.  What it is not: a
 * simulation of a guest kernel.  A guest's memory use, CPU use and own
 * reports are what the test sets or what a capture says.
 *
 * GUESTS come in two kinds.
 *   modelled  made from one captured record (augur_fake_add_guest(), or a
 *             dump with one record per guest): every stats call serves
 *             that record moved on to now.  The balloon follows the
 *             targets set through the table (each lands balloon_latency_ms
 *             after it was set, with a BALLOON event then); the guest's
 *             MemTotal is the balloon less the kernel's reservation (as
 *             captured: balloon.current − balloon.available) and its
 *             MemAvailable is MemTotal less the used memory the test sets;
 *             balloon.last-update is now, unless the stats are stale (then
 *             the guest's memory fields stay as they were, while the
 *             balloon, QEMU's count, still moves); cpu.time advances by the
 *             cores the test sets; vcpu.current is the plugged count.
 *   replayed  from a dump with records at several times ("# at MS"
 *             lines): a stats call serves each guest's newest record at or
 *             before now, exactly as captured.  Open loop: what the core
 *             sets is recorded, never fed back (as `virt-augur replay`).
 *
 * THE DUMP is `virsh domstats --raw` text (tests/data/), parsed by
 * augurd's own parser (plugin/collect.h), with two comment lines it
 * ignores: "# at MS" (the records and reports below arrived at MS, unix
 * ms) and "# report NAME oom_kill=N psi_mem=P" (the guest's own activity
 * report: augur_fake_guest_report()).  Without "# at" every record is at
 * the fake's start.  UUIDs are derived from names (as collect.h does).
 *
 * TIME is the fake's own, moved only by augur_fake_advance() /
 * augur_fake_advance_to(); every call and event is stamped with it.
 *
 * EVERY CALL is recorded (AugurFakeCall): the connection's too.  A test
 * asks what was set, when, and how (augur_fake_count(), augur_fake_last()).
 *
 * FAILURES are injected per call kind and guest (augur_fake_fail()): the
 * guest vanished (NO_GUEST), the connection lost (LOST), a call refused
 * (FAILED); augur_fake_set_down() loses the connection altogether (the
 * closed callback runs, every call then fails LOST).  A guest's agent is
 * absent with augur_fake_guest_set_agent(g, FALSE): its probe then says
 * so and an agent vCPU change fails.
 *
 * LIFETIMES: the world (AugurFake) outlives its connections and guest
 * handles; a handle names its guest by UUID, so a guest removed meanwhile
 * makes its calls fail with NO_GUEST.  Single-threaded: agent_users runs
 * on the caller's thread.
 */
#pragma once

#include <glib.h>

#include "hv.h"

typedef struct AugurFake AugurFake;
typedef struct AugurFakeGuest AugurFakeGuest;

typedef enum {
        AUGUR_FAKE_CALL_STATS,
        AUGUR_FAKE_CALL_GUEST_STATS,    /* one guest's stats read by a STATS call */
        AUGUR_FAKE_CALL_LIST,
        AUGUR_FAKE_CALL_LOOKUP,
        AUGUR_FAKE_CALL_READ_METADATA,
        AUGUR_FAKE_CALL_READ_DEVICES,
        AUGUR_FAKE_CALL_SET_STATS_PERIOD,
        AUGUR_FAKE_CALL_SET_AGENT_TIMEOUT,
        AUGUR_FAKE_CALL_PROBE_VCPUS,
        AUGUR_FAKE_CALL_SET_BALLOON,
        AUGUR_FAKE_CALL_SET_VCPUS,
        AUGUR_FAKE_CALL_AGENT_USERS,
        AUGUR_FAKE_CALL_GET_BLOCK_IOTUNE,
        AUGUR_FAKE_CALL_SET_BLOCK_IOTUNE,
        AUGUR_FAKE_CALL_GET_IFACE_BANDWIDTH,
        AUGUR_FAKE_CALL_SET_IFACE_BANDWIDTH,
        AUGUR_FAKE_CALL_GET_CPU_SHARES,
        AUGUR_FAKE_CALL_SET_CPU_SHARES, /* value: the shares set              */
        AUGUR_FAKE_CALL_N,
} AugurFakeCallKind;

/* One call made through the table. */
typedef struct {
        gint64 t_ms;                    /* the fake's clock                   */
        AugurFakeCallKind kind;
        char guest[64];                 /* its name; "" for connection calls  */
        gint64 value;                   /* SET_BALLOON KiB, SET_VCPUS count,
                                         * SET_STATS_PERIOD / SET_AGENT_TIMEOUT
                                         * s, SET_BLOCK_IOTUNE the bytes/s set
                                         * (total, else read, else write),
                                         * SET_IFACE_BANDWIDTH the KiB/s set
                                         * (inbound, else outbound);
                                         * 0 otherwise                        */
        char disk[32];                  /* *_BLOCK_IOTUNE: the disk;
                                         * *_IFACE_BANDWIDTH: the interface   */
        AugurHvVcpuMethod method;       /* SET_VCPUS                          */
        gboolean ok;                    /* FALSE: it failed                   */
} AugurFakeCall;

/* A world whose clock starts at now_ms. */
AugurFake *augur_fake_new (gint64 now_ms);
void augur_fake_free (AugurFake *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurFake, augur_fake_free)

/* A connection to the world; events go to cb (may be all NULL).  Never
 * fails.  Close it with augur_hv_close(). */
AugurHv *augur_fake_open (AugurFake *f, const AugurHvCallbacks *cb, gpointer user_data);

/* ---- time ---- */
gint64 augur_fake_now_ms (const AugurFake *f);
/* Move the clock forward; balloons and vCPUs due on the way land, each
 * with its event at its own time. */
void augur_fake_advance (AugurFake *f, gint64 ms);
void augur_fake_advance_to (AugurFake *f, gint64 t_ms);
/* The next time after now at which a replayed record arrives; FALSE when
 * none is left. */
gboolean augur_fake_next_record_ms (const AugurFake *f, gint64 *ret_ms);

/* ---- guests ---- */

/* A modelled guest named name from record (its fields copied). */
AugurFakeGuest *augur_fake_add_guest (AugurFake *f, const char *name, const AugurDomainSample *record);
/* Every guest of a dump (see THE DUMP); FALSE when it does not parse. */
gboolean augur_fake_load (AugurFake *f, const char *path, GError **error);
AugurFakeGuest *augur_fake_guest (AugurFake *f, const char *name);
const char *augur_fake_guest_uuid (const AugurFakeGuest *g);
/* The guest stops and is gone: not listed, its handles fail NO_GUEST; a
 * STOPPED lifecycle event is delivered. */
void augur_fake_guest_remove (AugurFake *f, AugurFakeGuest *g);

/* A modelled guest's behaviour. */
void augur_fake_guest_set_used (AugurFakeGuest *g, double used_kib);  /* MemTotal − MemAvailable */
void augur_fake_guest_set_cpu (AugurFakeGuest *g, double cores);
void augur_fake_guest_set_stale (AugurFakeGuest *g, gboolean stale);
void augur_fake_guest_set_balloon_latency (AugurFakeGuest *g, gint64 ms);
/* Any field of its record; a negative value removes it (the guest did not
 * report it). */
void augur_fake_guest_set_stat (AugurFakeGuest *g, AugurStat stat, gint64 v);
/* The balloon is now kib (someone set it; no event). */
void augur_fake_guest_set_balloon (AugurFakeGuest *g, double kib);
/* The balloon is at kib on its way: a target set through the table still
 * lands when due (a slow or stalled landing; no event). */
void augur_fake_guest_move_balloon (AugurFakeGuest *g, double kib);
/* The same, with the BALLOON_CHANGE event QEMU sends for it. */
void augur_fake_guest_balloon_event (AugurFake *f, AugurFakeGuest *g, double kib);
double augur_fake_guest_balloon_kib (const AugurFakeGuest *g);
int augur_fake_guest_vcpus_online (const AugurFakeGuest *g);
/* vCPUs plugged and online (at most vcpu.maximum). */
void augur_fake_guest_set_vcpus (AugurFakeGuest *g, int plugged, int online);
void augur_fake_guest_set_autodeflate (AugurFakeGuest *g, gboolean on);
/* What else moves the balloon by design (AugurHvDevices.balloon_owner;
 * static text, NULL = nothing). */
void augur_fake_guest_set_balloon_owner (AugurFakeGuest *g, const char *owner);

/* A disk's live byte and IOPS limits (both kinds of guest; a disk never given
 * limits reads as none, all 0).  A set through the table changes them as
 * libvirt would: only the nonzero fields, and total together with read or
 * write (of bytes, or of IOPS) is refused.  Gets and sets are recorded with the disk's name. */
void augur_fake_guest_set_iotune (AugurFakeGuest *g, const char *disk, const AugurBlockIoTune *t);
gboolean augur_fake_guest_iotune (const AugurFakeGuest *g, const char *disk, AugurBlockIoTune *ret);
/* An interface's live average rates, the same way: one never given any
 * reads as none; a set changes only the nonzero direction.  An interface
 * is known to the backend when the guest's record has it (net.N.name);
 * otherwise get and set fail, as libvirt's "not a known interface". */
void augur_fake_guest_set_bandwidth (AugurFakeGuest *g, const char *iface, const AugurIfaceBandwidth *b);
gboolean augur_fake_guest_bandwidth (const AugurFakeGuest *g, const char *iface, AugurIfaceBandwidth *ret);
/* The guest's live CPU weight (cpu_shares), 1024 until set; 0 = the
 * backend has none (the get fails UNSUPPORTED). */
void augur_fake_guest_set_cpu_shares (AugurFakeGuest *g, guint64 shares);
guint64 augur_fake_guest_cpu_shares (const AugurFakeGuest *g);
/* A modelled guest's interface in slot idx (net.idx): its name and its
 * rx / tx byte counters as the next stats call serves them.  name NULL
 * unplugs it (the slot is served empty). */
void augur_fake_guest_set_iface (AugurFakeGuest *g, guint idx, const char *name, gint64 rx_bytes, gint64 tx_bytes);
/* The same for a modelled guest's disk in slot idx (block.idx): its read
 * and written byte counters. */
void augur_fake_guest_set_disk (AugurFakeGuest *g, guint idx, const char *name, gint64 rd_bytes, gint64 wr_bytes);
/* The read and write request counters of that disk (set after it, by
 * augur_fake_guest_set_disk, which clears them). */
void augur_fake_guest_set_disk_reqs (AugurFakeGuest *g, guint idx, gint64 rd_reqs, gint64 wr_reqs);

/* Either kind.  Each delivers its event (AGENT, METADATA) at once. */
void augur_fake_guest_set_agent (AugurFake *f, AugurFakeGuest *g, gboolean present);
/* The guest's metadata element in namespace nsuri (NULL xml: none). */
void augur_fake_guest_set_metadata (AugurFake *f, AugurFakeGuest *g, const char *nsuri, const char *xml);
/* The guest's own report (a modelled guest's; a replayed one's come from
 * its dump).  NAN = none. */
void augur_fake_guest_set_report (AugurFakeGuest *g, double oom_kills, double psi_mem_pct);

/* The guest's newest own report at or before now_ms, as augurd's activity
 * channel gives it to the resize loop: an AugurGuestReportFunc (resize.h)
 * with ctx the AugurFake.  Leaves the values alone when there is none. */
void augur_fake_guest_report (gpointer ctx, const char *uuid, gint64 now_ms,
                              double *ret_oom_kills, double *ret_psi_mem_pct);

/* ---- failures ---- */

/* The next `times` calls of kind (on guest name, NULL = any; -1 times =
 * until cleared) fail with code. */
void augur_fake_fail (AugurFake *f, AugurFakeCallKind kind, const char *name, AugurHvError code, int times);
void augur_fake_clear_failures (AugurFake *f);
/* The hypervisor becomes unreachable (TRUE: every open connection's closed
 * callback runs, every call fails LOST) or reachable again. */
void augur_fake_set_down (AugurFake *f, gboolean down);

/* ---- the record of calls ---- */

/* Calls are recorded under a lock: augurd asks the guest agent on a worker
 * thread while its tick calls the hypervisor, and both land here.  The
 * counters below take the lock; the array and the pointer they return are
 * to be read on the test's thread while no agent job runs (between ticks
 * of a loop that has no activity, or after it stopped). */

/* Every call so far, oldest first: a GArray of AugurFakeCall (borrowed). */
const GArray *augur_fake_calls (const AugurFake *f);
/* Calls of kind on guest name (NULL = any) since the start or the last
 * clear. */
guint augur_fake_count (const AugurFake *f, AugurFakeCallKind kind, const char *name);
/* The newest such call, NULL = none. */
const AugurFakeCall *augur_fake_last (const AugurFake *f, AugurFakeCallKind kind, const char *name);
void augur_fake_clear_calls (AugurFake *f);
