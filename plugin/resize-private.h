/* resize-private.h — what the resize loop's two files share: the per-VM
 * state, the loop's own struct, a VM's work for one tick, and the calls
 * between them.  Not an API: nothing outside plugin/resize*.c includes it
 * (resize-io.c has its own state).
 *
 *   resize.c             the loop: prepare, plan, arbitrate, fill the row,
 *                        apply; the hypervisor's events
 *   resize-controller.c  the second-controller judge (SECOND CONTROLLER)
 */
#pragma once

#include <math.h>

#include "resize.h"
#include "resize-io.h"
#include "resize-cpu.h"
#include "mem-guard.h"
#include "store-decisions.h"
#include "vm.h"

/* How far a landed balloon may sit off its target, KiB. */
#define BALLOON_WOBBLE_KIB 2048.0
/* How far the balloon may sit off a value augur's own changes explain
 * before it counts as moved by someone else, KiB (SECOND CONTROLLER). */
#define FOREIGN_TOLERANCE_KIB BALLOON_WOBBLE_KIB

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        AugurVmPolicy meta;
        gboolean meta_loaded;
        gboolean autodeflate;           /* <memballoon autodeflate='on'>       */
        const char *balloon_owner;      /* what else moves the balloon by
                                         * design (AugurHvDevices), NULL =
                                         * none: augur leaves it alone        */
        /* SECOND CONTROLLER (resize-controller.c) */
        double way_lo_kib, way_hi_kib;  /* the span augur's own balloon
                                         * changes explain, NAN = none        */
        int foreign_ticks;              /* consecutive foreign ticks          */
        double foreign_kib;             /* the balloon at the last one        */
        gboolean yielded;               /* another controller has the guest   */
        gboolean drifting;              /* this tick: moving off a landed target */
        double cur_seen_kib;            /* balloon.current last tick, NAN      */
        char *meta_warning;             /* last warning logged (log once)     */
        AugurPolicyState pstate;
        AugurDomainSample prev;
        gboolean have_prev;
        gint64 prev_ms;
        gint64 last_update_value;       /* balloon.last-update               */
        gint64 last_update_seen_ms;     /* when it last advanced              */
        int fresh_samples;
        gboolean agent_event;           /* AGENT_LIFECYCLE says connected     */
        gboolean agent_timeout_set;
        gint64 caps_probe_ms;
        AugurVcpuCaps caps;
        double mem_latency_s;           /* EWMA balloon latency               */
        double mem_pending_kib;         /* target set, not yet seen (0 = none) */
        gint64 mem_pending_since_ms;
        gint64 mem_pending_id;
        double vcpu_latency_s;
        int vcpu_pending;               /* 0 = none                           */
        gint64 forecast_written_ms;     /* last forecasts-table write         */
        gint64 vcpu_pending_since_ms;
        gint64 vcpu_pending_id;
        gboolean no_agent_logged;       /* said once why vCPUs stay up        */
        gboolean no_stats_logged;       /* said once: no memory statistics    */
        AugurGuardState guard;          /* policy/mem-guard.h                  */
        double overhead_kib;            /* balloon − MemTotal when settled, NAN */
        double alloc_seen_kib;          /* balloon.current last tick           */
        gint64 alloc_since_ms;          /* ... unchanged since                 */
        gint64 inflate_since_ms;        /* ... not shrunk since                */
        gboolean balloon_still;         /* not shrunk for two stats periods    */
        double set_target_kib;          /* last balloon target set, NAN = none */
        double set_target_prev_kib;     /* the one before it                   */
        gint64 set_target_ms;           /* when set_target_kib was set         */
} ResizeVm;

struct AugurResize {
        AugurForecastHooks hooks;
        GHashTable *vms;                /* uuid -> ResizeVm*                  */
        AugurMetrics *metrics;          /* borrowed, NULL = none (metrics.h)  */
        AugurGuestReportFunc guest_report;      /* NULL = none                 */
        gpointer guest_report_ctx;
        AugurResizeIo *io;              /* the disk I/O limits (resize-io.h)  */
        AugurResizeCpu *cpu;            /* the CPU weight (resize-cpu.h)      */
        gboolean no_yield;              /* never judge a second controller     */
        const AugurHostPlan *host_plan; /* the host's 4-hour view, borrowed,
                                         * NULL = none (host-plan.h)          */
};

typedef struct {
        ResizeVm *vm;
        AugurMode mode;
        AugurPolicyInput in;
        AugurForecast f;
        gboolean have_f;
        AugurPlan plan;
        AugurPolicyConfig pc;
        AugurGuardOut guard;
        double need_kib;                /* forecast need for the host slack   */
        double horizon_s;
        AugurDecisionRow row;
} Work;

/* A value of the sample, NAN when it is missing. */
static inline double
gauge (const AugurDomainSample *s, AugurStat f)
{
        return augur_sample_has (s, f) ? (double) s->v[f] : NAN;
}

/* ---- resize-controller.c ---- */

/* Is the guest held for another controller this tick (yielded, or
 * suspected)? */
gboolean augur_resize_held (const ResizeVm *vm);
/* Judge this tick's balloon (SECOND CONTROLLER): count foreign ticks,
 * yield after FOREIGN_TICKS in a row that are not coming back toward
 * augur's target, and say so once. */
void augur_resize_judge_controller (AugurResize *r, ResizeVm *vm, const AugurDomainSample *s);
/* A guest held for another controller (yielded, or suspected this tick):
 * its plan keeps what it has, the row says why.  Before arbitration (what
 * it asks of the host is what it holds) and again after (arbitration
 * must not move it either); the note replaces arbitration's, moot here.
 * A guest whose balloon is another's by design (balloon_owner) keeps its
 * balloon only; its vCPUs stay augur's. */
void augur_resize_hold_for_other_controller (Work *w);
