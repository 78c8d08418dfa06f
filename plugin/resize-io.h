/* resize-io.h — the disk I/O limit loop of a tick, after the memory and
 * vCPU loop (resize.h): per guest that opted in, per disk with a limit of
 * its own, forecast → plan (policy/io-limit.h) → host budget → set the
 * limit live (hv.h set_block_iotune) → one actuation row with its reason.
 *
 * WHO IS LOOKED AT.  Only a guest whose policy metadata sets io_max_mib_s
 * (vm.h): the ceiling is the admin's consent.  Such a guest's disks have
 * their limits read every tick (one virDomainGetBlockIoTune per disk) and
 * their byte rates forecast (model/io-forecast.h); every other guest costs
 * nothing.  A disk without a limit is never touched: no limit is ever
 * added.  Only total_bytes_sec, read_bytes_sec and write_bytes_sec move;
 * IOPS limits and the burst (_max) limits stay as the admin set them.
 *
 * MODES.  act: set the limit.  recommend (and auto, until it acts): the
 * plan is computed and logged at debug, nothing is set, no row.  observe:
 * nothing.
 *
 * BAD INPUT.  Counter resets and absurd jumps are missing ticks, never
 * rates (io-forecast.h); a limit changed by someone else while augur held
 * a raise is yielded to (their value is the new floor, one actuation row
 * with reason yield, one log line); a disk that vanished (hot-unplug) is
 * forgotten with one log line; a backend that cannot do disk limits (pve)
 * is said once per guest.
 */
#pragma once

#include <glib.h>

#include "augur-config.h"
#include "hv.h"
#include "store.h"
#include "units.h"

typedef struct AugurResizeIo AugurResizeIo;

/* One guest of the tick as the memory loop saw it. */
typedef struct {
        const AugurDomainSample *s;
        AugurMode mode;                 /* effective mode                     */
        double ceiling_mib_s;           /* io_max_mib_s, NAN = unset          */
        int priority;                   /* shares                             */
} AugurIoGuest;

AugurResizeIo *augur_resize_io_new (void);
void augur_resize_io_free (AugurResizeIo *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurResizeIo, augur_resize_io_free)

void augur_resize_io_tick (AugurResizeIo *io, AugurHv *hv, AugurStore *store, const AugurConfig *config,
                           const AugurIoGuest *guests, gsize n, gint64 now_ms);
/* The guest stopped: drop its state. */
void augur_resize_io_forget (AugurResizeIo *io, const char *uuid);
