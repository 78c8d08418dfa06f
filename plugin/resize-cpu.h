/* resize-cpu.h — the CPU weight loop of a tick, after the memory and vCPU
 * loop (resize.h) and beside the I/O limit loop (resize-io.h): per guest
 * that opted in, read its cpu_shares → plan on the CPU forecast the vCPU
 * decisions use (policy/cpu-weight.h) → host budget → set it live (hv.h
 * set_cpu_shares) → one actuation row with its reason.
 *
 * WHO IS LOOKED AT.  Only a guest whose policy metadata sets
 * cpu_weight_max (vm.h), the admin's consent and the ceiling; its weight
 * is read every tick (one virDomainGetSchedulerParametersFlags) and every
 * other guest costs nothing.  The floor is the weight read at first
 * sight.  [host] cpu_weight_budget bounds the sum of the raises.
 *
 * AUDIT.  An actuations row of kind "cpu-shares" (free text, no
 * migration), from and to in shares, device NULL (a guest's weight, not a
 * device's: the I/O lists skip it), reason forecast-burst, restore, yield
 * (someone else changed it: their value is the new floor; from = what
 * augur held, to = theirs) or unsupported (written once per guest and
 * augurd run: the backend cannot move it, pve: cpuunits in the .conf).
 *
 * MODES.  act: set the weight.  recommend (and auto, until it acts): the
 * plan is logged at debug, nothing is set, no row.  observe: nothing.
 *
 * FEEDBACK.  A raised weight changes the CPU a contended guest gets, so
 * the very use forecast from: the forecast sees more of the demand, not
 * less, and a raise held while the burst is forecast cannot starve it.
 */
#pragma once

#include <glib.h>

#include "augur-config.h"
#include "cpu-weight.h"
#include "hv.h"
#include "metrics.h"
#include "store.h"
#include "units.h"

typedef struct AugurResizeCpu AugurResizeCpu;

/* One guest of the tick as the memory and vCPU loop saw it. */
typedef struct {
        const AugurDomainSample *s;
        AugurMode mode;                 /* effective mode                     */
        double ceiling;                 /* cpu_weight_max, NAN = unset        */
        int priority;                   /* shares of the host budget          */
        double cores_used;              /* observed, NAN = unknown            */
        double demand_cores;            /* augur_policy_cpu_demand(), NAN     */
        int vcpus_max;                  /* <vcpu> maximum, <= 0 = unknown     */
        gboolean fresh;                 /* the sample is this tick's          */
} AugurCpuGuest;

AugurResizeCpu *augur_resize_cpu_new (void);
void augur_resize_cpu_free (AugurResizeCpu *rc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurResizeCpu, augur_resize_cpu_free)

void augur_resize_cpu_tick (AugurResizeCpu *rc, AugurHv *hv, AugurStore *store, AugurMetrics *metrics,
                            const AugurConfig *config, const AugurCpuGuest *guests, gsize n, gint64 now_ms);
/* The guest stopped: drop its state. */
void augur_resize_cpu_forget (AugurResizeCpu *rc, const char *uuid);
