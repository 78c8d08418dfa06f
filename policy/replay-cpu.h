/* replay-cpu.h — the contended host in replay: what raising a guest's
 * CPU weight ahead of a forecast burst (policy/cpu-weight.h) gains over
 * vCPU hotplug alone when the guests of a trace share one host's cores.
 *
 * THE MODEL.  Every VM of the replay runs on one host of C cores.  At
 * each grid step a VM demands d (its trace's cores used, which the trace
 * records uncontended) and can use at most its vCPUs in force v, so it
 * asks for min(d, v).  The host serves the asks as CFS serves busy
 * cgroups with weights: weighted max-min fair sharing (water-filling): C
 * is split in proportion to the weights of the guests still asking, a
 * guest asking less than its part gets its ask, and what it leaves is
 * split again among the others.  served = min(d, v, its fair part); the
 * shortfall is d - served (a vCPU too few or a core too few).  This is the
 * weights' own semantics in cgroups (a share is a floor under contention,
 * not a cap), not "C in proportion to weight x demand", which would give
 * a guest more for asking more.
 *
 * THE ARMS, the same trace, forecasts and vCPU decisions:
 *   vCPUs:   static (provisioned) | augur (the replay's own augur run:
 *            hotplug ahead of the forecast, give-back after it)
 *   weights: equal (every guest at the admin's 1024) | augur (each guest
 *            opted in with a ceiling, raised and restored by
 *            augur_cpu_weight_plan() on the demand the vCPU decisions plan
 *            for, augur_replay_cpu_demand(); all guests through
 *            augur_io_arbitrate() with the host budget, as augurd does)
 * A decision at step t is in force at t + 1 (replay.c THE t -> t+1 RULE).
 *
 * WHAT A WEIGHT CAN GAIN.  The host is work-conserving: while the asks
 * exceed C it serves exactly C whatever the weights, so the total
 * unserved CPU is the same with and without them (only the vCPUs change
 * it).  Weights move the shortfall between guests: the figure is how
 * short the guests are in a burst window, the step a guest's demand
 * rises to at least twice (and by at least burst_cores over) its demand
 * the step before and the two steps after it, against how short the
 * others are, and the mean over VMs of each one's own shortfall.
 *
 * THE HOST SIZE.  C is the q-quantile of the total demand over the
 * scored steps: q = 0.5 is a host whose guests want more than it has
 * half of the time.  A trace whose VMs do not share timestamps would
 * never contend: the steps are grouped by their grid timestamp.
 *
 * What it is not: a scheduler simulator (no latency, no SMT, no vCPU
 * threads; a guest's demand does not grow when it is served less), nor a
 * second copy of either policy: both are called.
 */
#pragma once

#include <glib.h>

#include "replay.h"

typedef struct {
        double host_quantile;           /* C = this quantile of total demand  */
        double weight_floor;            /* the admins' cpu_shares (1024)      */
        double weight_ceiling;          /* every guest's cpu_weight_max (8192) */
        double budget;                  /* [host] cpu_weight_budget, 0 = none */
} AugurReplayCpuConfig;

/* q 0.5, floor 1024, ceiling 8192, no budget. */
void augur_replay_cpu_config_init (AugurReplayCpuConfig *c);

typedef enum {
        AUGUR_REPLAY_CPU_STATIC_EQUAL = 0,      /* provisioned vCPUs, equal weights   */
        AUGUR_REPLAY_CPU_STATIC_WEIGHT,         /* provisioned vCPUs, augur's weights */
        AUGUR_REPLAY_CPU_HOTPLUG_EQUAL,         /* augur's vCPUs, equal weights       */
        AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT,        /* augur's vCPUs and weights          */
        AUGUR_REPLAY_CPU_N,
} AugurReplayCpuArm;

const char *augur_replay_cpu_arm_name (AugurReplayCpuArm a);

typedef struct {
        double host_cores;              /* C                                   */
        guint64 host_steps;             /* scored timestamps                   */
        guint64 contended_steps;        /* ... whose asks exceed C (equal arm
                                         * with augur's vCPUs)                 */
        guint64 vm_steps;               /* scored VM steps with a demand       */
        double demand;                  /* sum of d over them, core-steps      */
        double unserved[AUGUR_REPLAY_CPU_N];    /* sum of d - served             */
        guint64 short_steps[AUGUR_REPLAY_CPU_N]; /* VM steps served < d - 0.01 core */
        double vm_short_mean[AUGUR_REPLAY_CPU_N];  /* mean over VMs of their own
                                                 * unserved / demand (each VM
                                                 * counts once, not by size)   */
        guint64 burst_steps;            /* scored VM steps in a burst window   */
        double burst_demand;            /* sum of d over them                  */
        double burst_unserved[AUGUR_REPLAY_CPU_N];  /* sum of d - served there */
        guint64 raised_steps;           /* scored VM steps above the floor     */
        guint64 raises;                 /* forecast-burst decisions (scored)   */
} AugurReplayCpuResult;

/* Run the augur policy of cfg (its vCPU decisions) and the CPU weight
 * planner over r's VMs on one contended host; fill *ret.  r must have
 * been made with a predictor (policy augur).  FALSE with
 * AUGUR_REPLAY_ERROR_INVAL when cfg is not augur, NO_DATA when no step
 * has a CPU demand. */
gboolean augur_replay_cpu_contended (AugurReplay *r, const AugurReplayConfig *cfg,
                                     const AugurReplayCpuConfig *cc, AugurReplayCpuResult *ret,
                                     GError **error);
