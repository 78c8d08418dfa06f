/* resize-io.h — the I/O limit loop of a tick, after the memory and vCPU
 * loop (resize.h): per guest that opted in, per disk or interface with a
 * limit of its own, forecast → plan (policy/io-limit.h, one planner for
 * both) → host budget → set the limit live (hv.h set_block_iotune,
 * set_iface_bandwidth) → one actuation row with its reason.
 *
 * WHO IS LOOKED AT.  Per class of device, only a guest whose policy
 * metadata sets its ceiling (vm.h): io_max_mib_s for the disks,
 * net_max_mib_s for the interfaces; the ceiling is the admin's consent,
 * and one is no consent to the other.  Such a guest's devices of that
 * class have their limits read every tick (one virDomainGetBlockIoTune
 * per disk, one virDomainGetInterfaceParameters per interface) and their
 * byte rates forecast (model/io-forecast.h); every other guest costs
 * nothing.  A device without a limit is never touched: no limit is ever
 * added.  On a disk only total_bytes_sec, read_bytes_sec and
 * write_bytes_sec move (IOPS and the burst _max limits stay as the admin
 * set them); on an interface only the inbound and outbound average
 * (peak, burst and floor stay).  [host] io_budget_mib_s bounds the sum of
 * every raise, disks and interfaces together.
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
