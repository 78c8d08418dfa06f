/* cpu-weight.h — the CPU weight planner: raise a guest's CPU weight
 * (libvirt's cpu_shares: cgroup v1 cpu.shares, v2 cpu.weight) ahead of a
 * forecast CPU burst, restore it to the admin's value afterwards.  Pure:
 * plain structs in, a plan out, no clock, no libvirt (plugin/resize-cpu.c
 * feeds it and acts; policy/replay-cpu.c scores it on traces).
 *
 * WHY A WEIGHT.  A vCPU is a whole core or nothing, it needs the guest to
 * online it, and giving one back needs the guest agent.  A weight needs
 * neither: under contention the host's scheduler serves each busy guest
 * in proportion to its weight, so a raise is a share finer than a vCPU,
 * and with no contention it changes nothing (it costs nobody anything).
 * It is no substitute for a vCPU a guest lacks: a guest cannot use more
 * cores than it has vCPUs, whatever its weight.
 *
 * WHAT IT IS NOT.  A second copy of the I/O rules: the yield, the
 * ceiling, the raise held while a burst is forecast and the careful
 * restore are io-limit.h's, through its shared core
 * (augur_limit_plan_begin / _decide).  Only the judgement is this
 * file's own, on the CPU forecast the vCPU decisions use
 * (augur_policy_cpu_demand(), policy.h):
 *   burst   the demand forecast over the lead reaches the bar: burst_cores
 *           (a quarter of a core, ten times what an idle guest uses)
 *           above the guest's usual use (base: an exponential mean of its
 *           observed use, half-life base_halflife_s), and at least
 *           burst_cores.  A burst is a rise above what the guest usually
 *           does: a guest busy all the time is never raised for it (all
 *           guests raised at once would gain nothing over each other).  The target is
 *           the guest's ceiling (<metadata> cpu_weight_max): a weight is
 *           relative, the forecast says nothing of the other guests'
 *           demand, and a raise costs nothing while the host is idle.
 *   quiet   the observed use and the forecast both under the bar.
 *   restore after quiet held quiet_sustain_s, in steps, each halving the
 *           raise, to the admin's value (8192 -> 4608 -> 2816 -> 1024).
 * The floor is the admin's cpu_shares at first sight; a value changed by
 * anyone else while augur holds a raise becomes the floor (yield, once).
 *
 * BAD INPUT.  A stale sample, an unknown or absurd observed use (below 0,
 * or above the guest's vCPU maximum plus a slack) or an absurd forecast
 * (not finite, below 0, above twice the vCPU maximum) is no burst and
 * no quiet: nothing is raised, a raise in force is held.  An unknown
 * weight (the read failed) plans nothing and keeps the state.
 *
 * THE HOST.  All guests raised at once gain nothing over each other, and
 * a raise is worth something only against guests that are not raised.
 * [host] cpu_weight_budget bounds the sum of the raises above the admins'
 * values, shared by priority (augur_io_arbitrate(), the same arbitration
 * as the I/O budget), so a raise stays a real advantage on a host where
 * many guests burst at once.
 */
#pragma once

#include <glib.h>

#include "io-limit.h"

/* The audit kind of a CPU weight row (actuations.kind, free text): the
 * one place it is named; augurd writes it, virt-augur reads it. */
#define AUGUR_CPU_SHARES_KIND "cpu-shares"

/* libvirt's cpu_shares range on cgroup v1 (cpu.shares); v2's cpu.weight
 * (1..10000) is converted by libvirt.  A ceiling is clamped to it. */
#define AUGUR_CPU_SHARES_MIN 2
#define AUGUR_CPU_SHARES_MAX 262144

typedef struct {
        double burst_cores;       /* a burst: demand this far above the base,
                                   * and at least this, cores                 */
        double base_halflife_s;   /* the base's half-life, s                   */
        double used_slack_cores;  /* observed use may pass the vCPU maximum by
                                   * this before it is absurd, cores          */
        AugurIoPlanConfig limit;  /* the shared rules' timing (io-limit.h)     */
} AugurCpuWeightConfig;

/* burst 0.25 cores, base half-life 1 h, slack 0.25 cores, quiet 10 s,
 * steps 5 s apart. */
void augur_cpu_weight_config_init (AugurCpuWeightConfig *c);

/* What augur keeps per guest between ticks.  Zeroed by _init = never
 * seen. */
typedef struct {
        AugurIoLimitState limit;  /* the shared rules' state, in shares        */
        double base_cores;        /* the guest's usual use, NAN = none yet     */
        double base_at_s;         /* when it was last fed                      */
} AugurCpuWeightState;

void augur_cpu_weight_state_init (AugurCpuWeightState *s);

typedef struct {
        double shares;            /* cpu_shares in force, as read; NAN = ?     */
        double cores_used;        /* observed this tick, NAN = unknown         */
        double demand_cores;      /* forecast demand over the lead, NAN = none */
        int vcpus_max;            /* <vcpu> maximum, <= 0 = unknown            */
        gboolean fresh;           /* the sample is this tick's                 */
        double ceiling;           /* cpu_weight_max, NAN or 0 = none           */
} AugurCpuWeightInput;

/* The plan of one guest's weight: ret->target_bps is the weight (a whole
 * number of shares), ret->state the limit state to keep in st->limit
 * (io-limit.h, in shares) when the caller moves on with the plan.  st's
 * base is fed this tick's observed use in place (an observation, kept
 * whatever is done). */
void augur_cpu_weight_plan (const AugurCpuWeightInput *in, const AugurCpuWeightConfig *c,
                            AugurCpuWeightState *st, double now_s, AugurIoPlan *ret);
