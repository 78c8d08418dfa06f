/* hv.h — the hypervisor as augurd sees it: one table of operations.
 *
 * WHAT IT IS.  Every call augurd makes to a hypervisor goes through an
 * AugurHvOps table: the stats of every running guest (one call per tick;
 * with [guests] include/exclude, only of the guests kept),
 * a guest looked up by UUID, the list of running guests, a guest's policy
 * metadata and device facts, its balloon, its vCPUs (hotplug, or
 * online/offline through the guest agent), its disks' byte-rate and IOPS
 * limits (<iotune>, read and set live), its interfaces' average rates
 * (<bandwidth>, read and set live), its CPU weight (cpu_shares, read
 * and set live), the agent probe and the
 * agent's user count, and the events (lifecycle, balloon, agent,
 * metadata, connection closed).  The shape is libvirt's own driver tables
 * (src/driver-hypervisor.h: one struct of function pointers per backend;
 * public entry points that check their arguments, then dispatch) with
 * power-profiles-daemon's static, ordered backend list: no dlopen, no
 * lookup by name at run time.
 *
 * WHAT IT IS NOT.  A general hypervisor API: the table holds what the
 * tick, the events and the activity channel need, in the core's terms
 * (AugurDomainSample, KiB, vCPU counts, UUID strings).  No libvirt type
 * appears here; a backend keeps its own handles behind the opaque
 * AugurHv and AugurHvGuest.  Nothing in augurd writes metadata; virt-augur
 * policy does, through libvirt itself for libvirt URIs and through
 * write_metadata for the backends that have it (pve).
 *
 * BACKENDS
 *   pve       plugin/hv-pve.c: pve:/// (qemu-server's files and QMP
 *             sockets: stats, the balloon, vCPUs through qm, the policy
 *             in the VM's description)
 *   libvirt   plugin/hv-libvirt.c: every other URI augurd --connect takes
 *   fake      tests/fake-hv.c: guests from captured domstats, a clock and
 *             a record of every call, for tests/test-resize.c and
 *             scripts/bench-tick (not in augurd's list: it is opened with
 *             augur_fake_open(), not by URI)
 * augur_hv_open() asks each backend of its list in order whether it takes
 * the URI (accepts); libvirt is last and takes every URI: libvirt's own
 * driver table then decides, and an unknown scheme fails in its open with
 * libvirt's message, as before this table existed.  pve goes before it
 * with its own scheme.
 *
 * HANDLES
 *   AugurHv       one connection: augur_hv_open() .. augur_hv_close(); the
 *                 close ends its events.
 *   AugurHvGuest  one guest: its stable UUID, its name and the backend's
 *                 run id (-1 = none), read when the handle is made (no
 *                 call).  Reference counted (atomically): the activity
 *                 module keeps one across ticks and hands one to a worker
 *                 thread.  A handle keeps what it needs of its connection;
 *                 calls on it after the connection was lost fail.
 *
 * ERRORS.  AUGUR_HV_ERROR, with a code the caller branches on: LOST (the
 * connection is gone: reconnect), NO_GUEST (the guest vanished since it
 * was listed), FAILED (this call failed; the next tick tries again).  A
 * backend converts its own errors once, at its boundary, and its messages
 * name the call that failed ("virDomainSetMemoryFlags: ...").
 *
 * THREADS.  Everything runs on the main context, events included, except
 * augur_hv_guest_agent_users(), which may block for as long as the guest
 * agent takes and so runs in a worker thread (plugin/activity.c).
 */
#pragma once

#include <glib.h>

#include "units.h"

#define AUGUR_HV_ERROR (augur_hv_error_quark ())
GQuark augur_hv_error_quark (void);

typedef enum {
        AUGUR_HV_ERROR_FAILED,          /* this call failed, try again later   */
        AUGUR_HV_ERROR_LOST,            /* the connection is gone: reconnect   */
        AUGUR_HV_ERROR_NO_GUEST,        /* the guest vanished                  */
        AUGUR_HV_ERROR_UNSUPPORTED,     /* this backend cannot do it at all    */
} AugurHvError;

typedef struct AugurHv AugurHv;
typedef struct AugurHvGuest AugurHvGuest;

/* What augurd knows about a guest's vCPUs (augur_hv_guest_probe_vcpus). */
typedef struct {
        int plugged;          /* vCPUs plugged (the hypervisor's live count), -1 = ? */
        int online;           /* vCPUs online in the guest (agent), -1 = ?   */
        int maximum;          /* <vcpu> maximum, -1 = ?                      */
        gboolean agent;       /* the guest agent answered                    */
} AugurVcpuCaps;

/* How augur_hv_guest_set_vcpus() reaches the count. */
typedef enum {
        AUGUR_HV_VCPUS_HOTPLUG,         /* plug vCPUs live; the guest onlines
                                         * them itself (only ever upward)     */
        AUGUR_HV_VCPUS_AGENT,           /* online / offline plugged vCPUs in
                                         * the guest through its agent       */
} AugurHvVcpuMethod;

/* Device facts of a guest, read from its definition (augur_hv_guest_read_devices). */
typedef struct {
        gboolean balloon_autodeflate;   /* the guest deflates its balloon
                                         * itself under pressure              */
        const char *balloon_owner;      /* static text: what else moves this
                                         * balloon by design (Proxmox's
                                         * pvestatd), and how to hand it to
                                         * augur; NULL = nothing.  augur then
                                         * never moves it.                   */
        char *activity_socket;          /* host end of the org.augur.activity.0
                                         * channel (plugin/activity.h), owned;
                                         * NULL = none, or not in bind mode   */
} AugurHvDevices;

void augur_hv_devices_clear (AugurHvDevices *d);

/* A disk's byte-rate and request-rate limits, live (libvirt <iotune>,
 * virsh blkdeviotune), bytes/s and IO/s; 0 = no limit of that kind.
 * libvirt refuses total together with read or write, for bytes and for
 * IOPS alike, so at most one of {total} and {read, write} is set of each.
 * The burst (_max) limits and iops_size are not here: augur reads and
 * sets only these, and a set leaves every other limit of the disk as it
 * was. */
typedef struct {
        guint64 total_bytes_sec;
        guint64 read_bytes_sec;
        guint64 write_bytes_sec;
        guint64 total_iops_sec;
        guint64 read_iops_sec;
        guint64 write_iops_sec;
} AugurBlockIoTune;

/* An interface's average rate limits, live (libvirt <bandwidth>, virsh
 * domiftune), KiB/s as libvirt keeps them (1 KiB = 1024 bytes); 0 = no
 * limit in that direction.  inbound pairs with the interface's rx
 * counter and outbound with tx (units.h AugurIfaceStat).  peak, burst and
 * floor are not here: augur moves only the average, and a set leaves
 * them as they were. */
typedef struct {
        guint64 inbound_kib_s;
        guint64 outbound_kib_s;
} AugurIfaceBandwidth;

typedef enum {
        AUGUR_HV_EVENT_LIFECYCLE,
        AUGUR_HV_EVENT_BALLOON,         /* the balloon reached a new size     */
        AUGUR_HV_EVENT_AGENT,           /* the guest agent (dis)connected     */
        AUGUR_HV_EVENT_METADATA,        /* the guest's <metadata> changed     */
} AugurHvEventKind;

typedef enum {
        AUGUR_HV_LIFECYCLE_OTHER,       /* defined, paused, suspended, ...    */
        AUGUR_HV_LIFECYCLE_STARTED,
        AUGUR_HV_LIFECYCLE_RESUMED,
        AUGUR_HV_LIFECYCLE_STOPPED,
} AugurHvLifecycle;

typedef struct {
        AugurHvEventKind kind;
        AugurHvLifecycle lifecycle;     /* LIFECYCLE                          */
        guint64 balloon_kib;            /* BALLOON: the balloon's size now    */
        gboolean agent_connected;       /* AGENT                              */
        const char *nsuri;              /* METADATA: its namespace, or NULL   */
        int code, detail;               /* the backend's own numbers for the
                                         * event, recorded as they are (the
                                         * events table)                      */
} AugurHvEvent;

/* Delivered on the main context.  guest is borrowed for the call (take a
 * reference to keep it). */
typedef struct {
        void (*event) (AugurHv *hv, AugurHvGuest *guest, const AugurHvEvent *e, gpointer user_data);
        /* The connection closed under us: record the fact only; the tick
         * reconnects (augur_hv_is_alive() says FALSE from now on). */
        void (*closed) (AugurHv *hv, gpointer user_data);
} AugurHvCallbacks;

typedef struct {
        int keepalive_interval_s;       /* [libvirt] keepalive_interval       */
        int keepalive_count;            /* [libvirt] keepalive_count          */
} AugurHvOptions;

/* Should the guest be collected?  Asked by guests_with_stats about each
 * running guest before its stats are read (plugin/guests.h); g is
 * borrowed for the call. */
typedef gboolean (*AugurHvKeepFunc) (AugurHvGuest *g, gpointer user_data);

/* ---------------------------------------------------------------- the table
 *
 * Every entry is required unless it says otherwise.  Out-params are
 * written only on success; a failure sets *error (AUGUR_HV_ERROR). */
typedef struct {
        const char *name;               /* "libvirt", "fake"                  */

        /* Process-wide set-up, once, before the first open (main()); NULL =
         * none.  libvirt: its event loop on the GLib main context. */
        gboolean (*init) (GError **error);
        /* Does this backend serve uri?  NULL: not in augurd's list. */
        gboolean (*accepts) (const char *uri);
        /* Open a connection and deliver its events to cb.  NULL: the
         * backend makes its connections itself (the tests' fake). */
        AugurHv *(*open) (const char *uri, const AugurHvOptions *options,
                          const AugurHvCallbacks *cb, gpointer user_data, GError **error);
        /* End the events and free the backend's part of hv (not hv). */
        void (*close) (AugurHv *hv);
        gboolean (*is_alive) (AugurHv *hv);

        /* The tick's stats: every running guest's record, a GArray of
         * AugurDomainSample (augur_collect_sample_array_new()).  keep NULL:
         * one call for all (libvirt: virConnectGetAllDomainStats).  With
         * keep, each running guest is asked about first and the stats of
         * the ones it refuses are never read (libvirt: the domains listed,
         * then virDomainListGetStats of the kept ones, none when none is
         * kept). */
        gboolean (*guests_with_stats) (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data,
                                       GArray **ret_samples, GError **error);
        /* Running guests: a GPtrArray of AugurHvGuest (unref'd on free). */
        GPtrArray *(*list_guests) (AugurHv *hv, GError **error);
        /* One guest by UUID string; NO_GUEST when it is not there. */
        AugurHvGuest *(*lookup_guest) (AugurHv *hv, const char *uuid, GError **error);
        /* Free a guest handle's backend part (the last unref). */
        void (*guest_free) (gpointer priv);

        /* The guest's metadata element in namespace nsuri, (transfer full);
         * NULL without an error when it has none. */
        char *(*read_metadata) (AugurHvGuest *g, const char *nsuri, GError **error);
        /* Replace the guest's metadata element in namespace nsuri with xml
         * (as augur_vm_policy_to_xml() writes it).  NULL: not through this
         * table (libvirt: virt-augur calls virDomainSetMetadata itself). */
        gboolean (*write_metadata) (AugurHvGuest *g, const char *nsuri, const char *xml, GError **error);
        gboolean (*read_devices) (AugurHvGuest *g, AugurHvDevices *ret, GError **error);
        /* How often the guest's balloon driver reports its memory stats:
         * without it the record has no memory fields. */
        gboolean (*set_stats_period) (AugurHvGuest *g, int period_s, GError **error);
        /* Agent calls on this guest give up after timeout_s. */
        gboolean (*set_agent_timeout) (AugurHvGuest *g, int timeout_s, GError **error);
        /* Plugged / online / maximum vCPUs and whether the agent answers;
         * never fails: unknowns are -1 (an agent round trip). */
        void (*probe_vcpus) (AugurHvGuest *g, AugurVcpuCaps *ret);
        /* Set the balloon to target_kib, live. */
        gboolean (*set_balloon) (AugurHvGuest *g, guint64 target_kib, GError **error);
        /* Bring the guest to n vCPUs by method (actuate.c chooses it). */
        gboolean (*set_vcpus) (AugurHvGuest *g, int n, AugurHvVcpuMethod method, GError **error);
        /* Users logged in, as the guest agent counts them.  Blocks for as
         * long as the agent takes; called from a worker thread. */
        gboolean (*agent_users) (AugurHvGuest *g, gint64 *ret_users, GError **error);
        /* The live byte-rate and IOPS limits of disk (its target, "vda").  NULL:
         * not supported (the entry point fails UNSUPPORTED). */
        gboolean (*get_block_iotune) (AugurHvGuest *g, const char *disk, AugurBlockIoTune *ret,
                                      GError **error);
        /* Set, live, the limits of disk that are nonzero in t; the others
         * stay as they are (augur never adds or removes a limit).  NULL:
         * not supported. */
        gboolean (*set_block_iotune) (AugurHvGuest *g, const char *disk, const AugurBlockIoTune *t,
                                      GError **error);
        /* The live average rates of interface iface (its name as the
         * stats give it, "vnet0").  NULL: not supported. */
        gboolean (*get_iface_bandwidth) (AugurHvGuest *g, const char *iface, AugurIfaceBandwidth *ret,
                                         GError **error);
        /* Set, live, the averages that are nonzero in b; the other
         * direction and every peak, burst and floor stay as they are.
         * NULL: not supported. */
        gboolean (*set_iface_bandwidth) (AugurHvGuest *g, const char *iface, const AugurIfaceBandwidth *b,
                                         GError **error);
        /* The guest's live CPU weight: libvirt's cpu_shares (cgroup v1
         * cpu.shares; v2 cpu.weight, which libvirt converts).  NULL: not
         * supported; a backend that cannot says why in its UNSUPPORTED
         * error (pve: cpuunits live in the VM's .conf). */
        gboolean (*get_cpu_shares) (AugurHvGuest *g, guint64 *ret_shares, GError **error);
        /* Set it, live only: the persistent definition stays the admin's.
         * NULL: not supported. */
        gboolean (*set_cpu_shares) (AugurHvGuest *g, guint64 shares, GError **error);
} AugurHvOps;

/* ------------------------------------------------------------- augurd's use */

/* Every listed backend's init, once, before the first open.  FALSE with a
 * message for the operator (augurd exits). */
gboolean augur_hv_init (GError **error);

/* The backend of hv: its ops' name, "libvirt" or "pve". */
const char *augur_hv_backend_name (const AugurHv *hv);

/* Open uri with the first listed backend that takes it.  The error of a
 * failed open says which URI could not be reached, and why. */
AugurHv *augur_hv_open (const char *uri, const AugurHvOptions *options, const AugurHvCallbacks *cb,
                        gpointer user_data, GError **error);
/* End the connection and its events.  NULL-safe.  Guest handles taken
 * from it stay valid as handles. */
void augur_hv_close (AugurHv *hv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurHv, augur_hv_close)

gboolean augur_hv_is_alive (AugurHv *hv);
gboolean augur_hv_guests_with_stats (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data,
                                     GArray **ret_samples, GError **error);
GPtrArray *augur_hv_list_guests (AugurHv *hv, GError **error);
AugurHvGuest *augur_hv_lookup_guest (AugurHv *hv, const char *uuid, GError **error);

AugurHvGuest *augur_hv_guest_ref (AugurHvGuest *g);
void augur_hv_guest_unref (AugurHvGuest *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurHvGuest, augur_hv_guest_unref)
const char *augur_hv_guest_get_uuid (const AugurHvGuest *g);
const char *augur_hv_guest_get_name (const AugurHvGuest *g);
int augur_hv_guest_get_id (const AugurHvGuest *g);

char *augur_hv_guest_read_metadata (AugurHvGuest *g, const char *nsuri, GError **error);
/* FAILED "not supported" when the backend has no write_metadata. */
gboolean augur_hv_guest_write_metadata (AugurHvGuest *g, const char *nsuri, const char *xml, GError **error);
gboolean augur_hv_guest_read_devices (AugurHvGuest *g, AugurHvDevices *ret, GError **error);
gboolean augur_hv_guest_set_stats_period (AugurHvGuest *g, int period_s, GError **error);
gboolean augur_hv_guest_set_agent_timeout (AugurHvGuest *g, int timeout_s, GError **error);
void augur_hv_guest_probe_vcpus (AugurHvGuest *g, AugurVcpuCaps *ret);
gboolean augur_hv_guest_set_balloon (AugurHvGuest *g, guint64 target_kib, GError **error);
gboolean augur_hv_guest_set_vcpus (AugurHvGuest *g, int n, AugurHvVcpuMethod method, GError **error);
gboolean augur_hv_guest_agent_users (AugurHvGuest *g, gint64 *ret_users, GError **error);
gboolean augur_hv_guest_get_block_iotune (AugurHvGuest *g, const char *disk, AugurBlockIoTune *ret,
                                          GError **error);
gboolean augur_hv_guest_set_block_iotune (AugurHvGuest *g, const char *disk, const AugurBlockIoTune *t,
                                          GError **error);
gboolean augur_hv_guest_get_iface_bandwidth (AugurHvGuest *g, const char *iface, AugurIfaceBandwidth *ret,
                                             GError **error);
gboolean augur_hv_guest_set_iface_bandwidth (AugurHvGuest *g, const char *iface, const AugurIfaceBandwidth *b,
                                             GError **error);
gboolean augur_hv_guest_get_cpu_shares (AugurHvGuest *g, guint64 *ret_shares, GError **error);
gboolean augur_hv_guest_set_cpu_shares (AugurHvGuest *g, guint64 shares, GError **error);

/* ----------------------------------------------------------- for backends */

/* A connection of backend ops; priv is the backend's (ops->close frees it). */
AugurHv *augur_hv_new (const AugurHvOps *ops, gpointer priv);
gpointer augur_hv_get_priv (AugurHv *hv);
/* A guest handle (one reference) of backend ops; priv is the backend's
 * (ops->guest_free frees it at the last unref).  id: -1 = none. */
AugurHvGuest *augur_hv_guest_new (const AugurHvOps *ops, const char *uuid, const char *name,
                                  int id, gpointer priv);
gpointer augur_hv_guest_get_priv (AugurHvGuest *g);

/* The libvirt backend (plugin/hv-libvirt.c). */
extern const AugurHvOps augur_hv_libvirt_ops;
/* The Proxmox VE backend (plugin/hv-pve.c): pve:/// URIs. */
extern const AugurHvOps augur_hv_pve_ops;
