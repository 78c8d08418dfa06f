/* units.h — raw per-domain samples and the units contract.
 *
 * One table (augur_stat_info) names every raw field augurd collects: its
 * libvirt domstats key, its SQL column, and whether it is a counter.  The
 * stats parser, the store and `virt-augur history` all walk this table, so a
 * field is added in exactly one place.
 *
 * THE UNITS CONTRACT (used by every module: store, features, forecasts,
 * policy, replay; README "Units" repeats it for operators)
 *   mem_used_kib    live: balloon.available - balloon.usable, i.e. guest
 *                   MemTotal - MemAvailable.  NULL when either is missing.
 *                   Disk caches the guest could drop are *not* used.  With
 *                   autodeflate on, MemTotal stays at <memory> max and the
 *                   ballooned pages count as used (measured on a TCG
 *                   guest with virtio-balloon autodeflate), so
 *                   mem_used_kib over-reads by (max - balloon.current); we
 *                   subtract that difference when MemTotal is nearer the
 *                   maximum than the balloon size (units.c).
 *   cpu_cores_used  Δcpu.time / Δt / 1e9 (cores); NULL over a counter reset
 *                   (cpu.time went backwards: the domain restarted) or a gap.
 *   cpu_pct         100 × cores used ÷ vCPUs online (vcpus_current).
 *   mem_prov_kib    live: balloon.current (the current balloon size).
 *   mem_pct         100 × mem_used_kib ÷ mem_prov_kib.
 *   *_kibps         Δbytes / Δt / 1024, summed over devices.
 *   vcpus_current   vCPUs as libvirt reports them (vcpu.current): plugged,
 *                   including any the guest agent took offline.  The count
 *                   online in the guest is in the decisions (vcpus_online;
 *                   store.h augur_store_history).
 * Missing is missing: a field libvirt did not report is NULL, never 0.
 */
#pragma once

#include <glib.h>
#include <math.h>
#include "series.h"

typedef enum {
        AUGUR_STAT_STATE = 0,
        AUGUR_STAT_BALLOON_CURRENT_KIB,
        AUGUR_STAT_BALLOON_MAXIMUM_KIB,
        AUGUR_STAT_BALLOON_SWAP_IN_KIB,
        AUGUR_STAT_BALLOON_SWAP_OUT_KIB,
        AUGUR_STAT_BALLOON_MAJOR_FAULT,
        AUGUR_STAT_BALLOON_MINOR_FAULT,
        AUGUR_STAT_BALLOON_UNUSED_KIB,
        AUGUR_STAT_BALLOON_AVAILABLE_KIB,
        AUGUR_STAT_BALLOON_USABLE_KIB,
        AUGUR_STAT_BALLOON_DISK_CACHES_KIB,
        AUGUR_STAT_BALLOON_RSS_KIB,
        AUGUR_STAT_BALLOON_LAST_UPDATE_S,
        AUGUR_STAT_CPU_TIME_NS,
        AUGUR_STAT_CPU_USER_NS,
        AUGUR_STAT_CPU_SYSTEM_NS,
        AUGUR_STAT_VCPU_CURRENT,
        AUGUR_STAT_VCPU_MAXIMUM,
        AUGUR_STAT_BLOCK_RD_BYTES,
        AUGUR_STAT_BLOCK_WR_BYTES,
        AUGUR_STAT_NET_RX_BYTES,
        AUGUR_STAT_NET_TX_BYTES,
        AUGUR_STAT_N,
} AugurStat;

typedef enum {
        AUGUR_STAT_GAUGE,        /* a level: store as is                      */
        AUGUR_STAT_COUNTER,      /* monotonic until reset: rates from deltas  */
} AugurStatKind;

typedef struct {
        const char *column;      /* SQL column and JSON key                   */
        const char *vir_field;   /* domstats key; for devices the suffix      */
        AugurStatKind kind;
        gboolean per_device;     /* summed over block.N / net.N               */
} AugurStatInfo;

extern const AugurStatInfo augur_stat_info[AUGUR_STAT_N];

#define AUGUR_UUID_STRLEN 37     /* 36 chars + NUL                            */

/* AUGUR_STAT_STATE values: libvirt's virDomainState numbers, which every
 * hypervisor backend reports (plugin/hv-libvirt.c checks that they match). */
typedef enum {
        AUGUR_GUEST_STATE_NOSTATE = 0,
        AUGUR_GUEST_STATE_RUNNING,
        AUGUR_GUEST_STATE_BLOCKED,
        AUGUR_GUEST_STATE_PAUSED,
        AUGUR_GUEST_STATE_SHUTDOWN,
        AUGUR_GUEST_STATE_SHUTOFF,
        AUGUR_GUEST_STATE_CRASHED,
        AUGUR_GUEST_STATE_PMSUSPENDED,
} AugurGuestState;

/* PER DEVICE.  The block and net stats above are summed over a guest's
 * disks and interfaces (what the store keeps); the I/O limits
 * (plugin/resize-io.c) need them per device, by the device's name: a
 * disk's target (block.N.name, "vda"), an interface's host-side name
 * (net.N.name, "vnet0").  Only the first AUGUR_MAX_DISKS disks (block.0 ..
 * block.7) and AUGUR_MAX_IFACES interfaces are kept: a limit on a ninth is
 * left alone.  Counters only; not stored in the history.  One struct
 * serves both: v[] is indexed by AugurDiskStat for a disk and by
 * AugurIfaceStat for an interface. */
#define AUGUR_MAX_DISKS 8
#define AUGUR_MAX_IFACES 8
#define AUGUR_DISK_NAME_LEN 32

typedef enum {
        AUGUR_DISK_RD_BYTES = 0,
        AUGUR_DISK_WR_BYTES,
        AUGUR_DISK_RD_REQS,
        AUGUR_DISK_WR_REQS,
        AUGUR_DISK_N,
} AugurDiskStat;

/* net.N.rx.bytes / tx.bytes, as libvirt reports them.  libvirt reads
 * these counters and applies <bandwidth> with the same swap for the
 * interface's type (virDomainNetTypeSharesHostView: the guest's view for
 * tap-based types, where inbound = to the guest = rx), so rx pairs with
 * inbound and tx with outbound whatever the type. */
typedef enum {
        AUGUR_IFACE_RX_BYTES = 0,
        AUGUR_IFACE_TX_BYTES,
        AUGUR_IFACE_N,
} AugurIfaceStat;

typedef struct {
        char name[AUGUR_DISK_NAME_LEN]; /* "vda", "vnet0"; "" = slot unused    */
        guint8 present;          /* bit of v[] set = counter present          */
        gint64 v[AUGUR_DISK_N];  /* bytes, requests                           */
} AugurDevCounters;

G_STATIC_ASSERT ((int) AUGUR_IFACE_N <= (int) AUGUR_DISK_N);

typedef AugurDevCounters AugurDiskCounters;

/* One domain at one tick, raw.  v[i] is meaningful only when bit i of
 * present is set. */
typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;              /* owned                                     */
        int id;                  /* libvirt id, -1 when not running           */
        guint64 present;         /* bit AugurStat set = field present         */
        gint64 v[AUGUR_STAT_N];
        guint n_disks;           /* slots of disk[] in use (block.N, N < it)  */
        AugurDevCounters disk[AUGUR_MAX_DISKS];
        guint n_ifaces;          /* slots of iface[] in use (net.N, N < it)   */
        AugurDevCounters iface[AUGUR_MAX_IFACES];
} AugurDomainSample;

G_STATIC_ASSERT (AUGUR_STAT_N <= 64);

static inline gboolean
augur_sample_has (const AugurDomainSample *s, AugurStat f)
{
        return (s->present >> f) & 1;
}

static inline void
augur_sample_set (AugurDomainSample *s, AugurStat f, gint64 v)
{
        s->v[f] = v;
        s->present |= G_GUINT64_CONSTANT (1) << f;
}

void augur_domain_sample_clear (AugurDomainSample *s);

/* Derived values of one sample, in trace units (series.h).  NAN = unknown.
 *
 * THE MODEL'S INPUT ROW.  The capacities are the stable maxima — the
 * <memory> maximum and the <vcpu> maximum — never the balloon size or the
 * online vCPUs: ballooning and hotplug must not move the very signal augur
 * forecasts (model/predictor.h).  mem_used_kib is the guest's MemTotal −
 * MemAvailable (no balloon-terms reservation: the resize loop adds that
 * to what it compares with the balloon).  The store writes these values
 * as the history's trace columns (what retraining, `train --db`, export
 * and `replay` read) and the live forecaster feeds the same values, both
 * through augur_units_model_row(): one definition, nowhere else. */
typedef struct {
        double mem_used_kib;
        double mem_prov_kib;     /* <memory> maximum (else the balloon)       */
        double cpu_cores_used;
        double cpu_cores;        /* <vcpu> maximum (else vCPUs online)        */
        double cpu_pct;          /* 100 × cpu_cores_used / cpu_cores          */
        double disk_rd_kibps;
        double disk_wr_kibps;
        double net_rx_kibps;
        double net_tx_kibps;
        double vcpus;            /* vCPUs online (shown, not a model input)   */
} AugurDerived;

/* Version of the model input row above; a model file records the version
 * it was trained on (model/blob.c) and one trained on another is refused.
 * 1: capacities were the balloon and the online vCPUs (before the maxima);
 * 2: the stable maxima. */
#define AUGUR_MODEL_ROW_VERSION 2

/* Deltas of every counter between two samples; NAN over a reset or when
 * either side lacks the field. */
typedef struct {
        double d[AUGUR_STAT_N];
} AugurDeltas;

/* Largest gap between two samples over which rates are still derived, s.
 * Beyond it the interval is a gap (daemon down, domain off): rates unknown. */
#define AUGUR_MAX_RATE_GAP_S 600.0

/* Derive trace-unit values of cur, using prev (may be NULL) for rates.
 * dt_s is the time between them.  Pure; handles counter resets and gaps. */
void augur_units_derive (const AugurDomainSample *prev,
                         const AugurDomainSample *cur,
                         double dt_s,
                         AugurDerived *ret,
                         AugurDeltas *ret_deltas);

/* AUTODEFLATE shows in the stats as the guest's MemTotal staying nearer the
 * <memory> maximum than the balloon size (MemTotal is always a little below
 * the configured size: kernel reservations); the ballooned pages then read
 * as used inside the guest.  FALSE when any value is NAN. */
static inline gboolean
augur_units_memtotal_at_maximum (double balloon_kib, double memtotal_kib, double maximum_kib)
{
        return balloon_kib < maximum_kib && memtotal_kib - balloon_kib > (maximum_kib - balloon_kib) / 2;
}

/* USED IN BALLOON TERMS.  The policy compares used memory with the balloon,
 * so used is counted as the balloon counts it: the guest's MemTotal −
 * MemAvailable (mem_used_kib above) plus what the guest kernel reserved
 * out of the balloon (balloon − MemTotal: about 55 MiB of a 512 MiB TCG
 * guest); a guest squeezed to its own "used" would be out of memory.  With
 * autodeflate MemTotal stays near the maximum instead, and the reservation
 * is maximum − MemTotal (augur_units_memtotal_at_maximum()).  A MemTotal a little
 * above the balloon is neither: the balloon is deflating and QEMU's count
 * runs behind the guest's, and the reservation is unknown then (NAN, as
 * when a value is missing).  augurd (plugin/resize.c, which holds the
 * last still reading while the balloon moves) and virt-augur's plot and
 * top use it. */
static inline double
augur_units_reservation_kib (double balloon_kib, double memtotal_kib, double maximum_kib)
{
        if (isnan (balloon_kib) || isnan (memtotal_kib))
                return NAN;
        if (memtotal_kib <= balloon_kib)
                return balloon_kib - memtotal_kib;
        if (augur_units_memtotal_at_maximum (balloon_kib, memtotal_kib, maximum_kib) &&
            memtotal_kib <= maximum_kib)
                return maximum_kib - memtotal_kib;
        return NAN;
}

/* The trace columns of the model's input row from d: cpu_cores, cpu_pct,
 * mem_prov_kib, mem_used_kib and the disk / network rates; the activity
 * columns are left NAN (plugin/activity.h fills them, in the same units
 * for the store and the forecaster).  ret has AUGUR_COL_N_TRACE values. */
void augur_units_model_row (const AugurDerived *d, double *ret);

/* Host context at one tick (/proc/meminfo, /proc/pressure/{cpu,memory,io}, /proc/loadavg).
 * A field is meaningful only when its bit is set in present. */
typedef enum {
        AUGUR_HOST_MEM_TOTAL_KIB = 0,
        AUGUR_HOST_MEM_FREE_KIB,
        AUGUR_HOST_MEM_AVAILABLE_KIB,
        AUGUR_HOST_SWAP_TOTAL_KIB,
        AUGUR_HOST_SWAP_FREE_KIB,
        AUGUR_HOST_LOAD1,
        AUGUR_HOST_LOAD5,
        AUGUR_HOST_LOAD15,
        AUGUR_HOST_PSI_CPU_SOME_AVG10,
        AUGUR_HOST_PSI_MEM_SOME_AVG10,
        AUGUR_HOST_PSI_MEM_FULL_AVG10,
        AUGUR_HOST_PSI_IO_SOME_AVG10,
        AUGUR_HOST_PSI_IO_FULL_AVG10,
        AUGUR_HOST_N,
} AugurHostField;

/* SQL column names of AugurHostField, in order. */
extern const char *const augur_host_field_column[AUGUR_HOST_N];

typedef struct {
        guint32 present;         /* bit AugurHostField set = field present    */
        double v[AUGUR_HOST_N];  /* KiB for memory, plain for load, % for PSI */
} AugurHostSample;

static inline void
augur_host_set (AugurHostSample *h, AugurHostField f, double v)
{
        h->v[f] = v;
        h->present |= 1u << f;
}
