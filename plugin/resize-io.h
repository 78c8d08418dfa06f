/* resize-io.h — the I/O limit loop of a tick, after the memory and vCPU
 * loop (resize.h): per guest that opted in, per disk or interface with a
 * limit of its own, forecast → plan (policy/io-limit.h, one planner for
 * both) → host budget → set the limit live (hv.h set_block_iotune,
 * set_iface_bandwidth) → one actuation row with its reason.
 *
 * FORECASTS, for every guest: each disk's read and write bytes/s and
 * requests/s (IOPS), each interface's rx and tx bytes/s, from the
 * per-device counters of the tick's stats (no hypervisor call), each with
 * its own model/io-forecast.h forecaster (augur_resize_io_forecasts():
 * `virt-augur forecast` through the API, the champion of the period
 * forecast and the recent-max baseline; a limit is planned on the period
 * forecast alone, io-forecast.h says why).  A total (read + write) is
 * forecast only for a total limit the guest consented to raise.  Cost:
 * per device and series ~23 KiB (measured: a 16 KiB forecaster with the
 * pending forecasts of both sources, a ring of 512 samples and the
 * detector's scratch), so ~136 KiB for a guest with one disk and one
 * interface, and the period detector (O(512 x 256)) every 8 ticks.
 *
 * WHO IS ACTED ON.  Per class of device, only a guest whose policy
 * metadata sets a ceiling (vm.h): io_max_mib_s (bytes) or io_max_iops
 * (requests) for the disks, net_max_mib_s for the interfaces; the ceiling
 * is the admin's consent, and one is no consent to another: a disk's
 * byte limits move only under io_max_mib_s, its IOPS limits only under
 * io_max_iops.  Such a guest's devices of that class have their limits
 * read every tick (one virDomainGetBlockIoTune per disk, one
 * virDomainGetInterfaceParameters per interface); every other guest costs
 * no call.  A device without a limit is never touched: no limit is ever
 * added.  On a disk total_bytes_sec, read_bytes_sec, write_bytes_sec,
 * total_iops_sec, read_iops_sec and write_iops_sec move (the burst _max
 * limits and iops_size stay as the admin set them); on an interface only
 * the inbound and outbound average (peak, burst and floor stay).  [host]
 * io_budget_mib_s bounds the sum of every byte-rate raise, disks and
 * interfaces together; IOPS raises are bounded by io_max_iops alone.
 *
 * MODES.  act: set the limit.  recommend (and auto, until it acts): the
 * plan is computed and logged at debug, nothing is set, no row.  observe:
 * nothing.
 *
 * BAD INPUT.  Counter resets and absurd jumps are missing ticks, never
 * rates (io-forecast.h); a limit changed by someone else while augur held
 * a raise is yielded to (their value is the new floor, one actuation row
 * with reason yield, one log line); a device that vanished (hot-unplug)
 * is forgotten with one log line; a backend that cannot do a class of
 * limits (pve: neither) is said once per guest and class.
 */
#pragma once

#include <glib.h>

#include "augur-config.h"
#include "hv.h"
#include "metrics.h"
#include "store.h"
#include "units.h"

typedef struct AugurResizeIo AugurResizeIo;

/* The classes of device whose limits move. */
typedef enum {
        AUGUR_IO_DEV_DISK = 0,          /* <iotune>, ceiling io_max_mib_s     */
        AUGUR_IO_DEV_IFACE,             /* <bandwidth>, ceiling net_max_mib_s */
        AUGUR_IO_DEV_N,
} AugurIoDev;

/* One guest of the tick as the memory loop saw it. */
typedef struct {
        const AugurDomainSample *s;
        AugurMode mode;                 /* effective mode                     */
        double ceiling_mib_s[AUGUR_IO_DEV_N];  /* per class, NAN = unset      */
        double ceiling_iops;            /* disks' IOPS ceiling, IO/s (io_max_iops);
                                         * NAN or 0 = unset                   */
        int priority;                   /* shares                             */
} AugurIoGuest;

AugurResizeIo *augur_resize_io_new (void);
void augur_resize_io_free (AugurResizeIo *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurResizeIo, augur_resize_io_free)

void augur_resize_io_tick (AugurResizeIo *io, AugurHv *hv, AugurStore *store, AugurMetrics *metrics,
                           const AugurConfig *config,
                           const AugurIoGuest *guests, gsize n, gint64 now_ms);
/* The guest stopped: drop its state. */
void augur_resize_io_forget (AugurResizeIo *io, const char *uuid);

/* One series' newest forecast (augur_resize_io_forecasts). */
typedef struct {
        char device[AUGUR_DISK_NAME_LEN];  /* "vda", "vnet0"                   */
        AugurIoDev cls;
        int kind;                       /* io-limit.h AugurIoKind: its unit   */
        double rate;                    /* the last tick's, NAN = unknown     */
        double p50, upper;              /* largest over the lead, NAN = none  */
        gboolean censored;              /* rests on samples at their limit    */
        int source;                     /* io-forecast.h AugurIoSource: the
                                         * champion that gave p50 and upper
                                         * (the limits plan on the period's
                                         * alone)                             */
        guint period_ticks;             /* 0 = no period                      */
        double limit;                   /* in force as last read, 0 = none,
                                         * NAN = not read (no consent)        */
} AugurIoForecastRow;

/* The newest forecasts of guest uuid's devices, by class, device name and
 * kind: a GArray of AugurIoForecastRow (transfer full), empty for a guest
 * not seen; *ret_lead_s the look-ahead they cover and *ret_tick_s the
 * tick (0 before the first tick). */
GArray *augur_resize_io_forecasts (const AugurResizeIo *io, const char *uuid, double *ret_lead_s,
                                   double *ret_tick_s);
