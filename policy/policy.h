/* policy.h — stage "plan" of the tick: turn a snapshot of one VM and its
 * forecast into a memory target and a vCPU target, with the reason.
 *
 * The policy is a PURE function of (snapshot, forecast, config, state, now):
 * no I/O, no clock, no libvirt.  augurd and `virt-augur replay` call the
 * same augur_policy_plan(), so a replay is the daemon's behaviour.  The
 * per-VM state it needs (cooldowns, how long shrink evidence has held) is
 * passed in and a new state is returned in the plan: the caller keeps it.
 *
 * MEMORY (balloon)
 *   target  = max over the lead window of the calibrated upper forecast of
 *             *used* memory (units.h: MemTotal − MemAvailable) + headroom,
 *             where the lead window covers the measured actuation latency
 *             plus a margin and is at least one forecast step.
 *   floor   = observed used + reserve (never below what the guest uses now),
 *             and the per-VM minimum; ceiling = <memory> maximum.
 *   grow    fast: straight to the target in one step.
 *   shrink  slowly: only when the target stays below the allocation by more
 *           than the deadband for shrink_sustain_s (a sudden drop is not yet
 *           evidence — Scryer's lesson), not within shrink_cooldown_s of the
 *           last change, by at most shrink_step_kib per decision.
 *   censored demand: a guest cannot show more than it is given.  A guest
 *           whose used memory is pinned near its allocation (≥ 1 − pin_frac)
 *           demands more than it shows: grow by censored_grow_frac.
 *   guard (mem-guard.h): the caller passes the cushion a shrink must
 *           leave above used (the burst envelope, widened when the host
 *           has memory to spare) and the hold level after the guest ran
 *           out of memory.  The target is at least used + cushion (grown
 *           to at once, like a forecast grow); under a hold it is at least
 *           the hold level — an emergency grow that no cooldown delays.
 *           The hold is reported apart (mem_extra_kib) so that host
 *           arbitration grants it only from what is left: a guest's own
 *           report of an OOM kill can keep memory for it, never take
 *           memory from another guest.
 *   vetoes: never shrink while the guest shows pressure (swap-in, rising
 *           major faults, low usable) or while its stats are stale; under
 *           pressure grow at once whatever the forecast says (not
 *           rate-limited).
 *
 * vCPUs
 *   target = ceil(upper CPU demand in cores / target utilisation), clamped
 *   to [vcpus_min, vcpus_max]; a VM whose online vCPUs are saturated
 *   (≥ 95 %) is censored and gets one more.  Scale up at once; scale down
 *   one vCPU per decision after the same sustain + cooldown rule, and only
 *   when the guest agent can offline CPUs (live unplug is broken on QEMU
 *   7.2/TCG and leaves libvirt's count wrong).
 *   give back only when the evidence says the demand is gone: the forecast
 *           wants fewer vCPUs AND the observed cores fit in one vCPU less
 *           at the target utilisation (cores used ≤ (online − 1) × util).
 *           A forecast that drops while the guest is still busy (a band
 *           that lags, a replay's forecast without the held value) is not
 *           yet evidence; such a tick vetoes with observed-busy and
 *           restarts the sustain clock, as a memory shrink does under
 *           pressure.  Without this a down step would land the guest at
 *           ≥ target utilisation and the saturation rule would take the
 *           vCPU back next tick: a flap.
 *   not gone if it comes back within the cooldown: a down step also needs
 *           the forecast to fit in one vCPU less over a longer window, the
 *           lead time plus shrink_cooldown_s (a vCPU given back now could
 *           not be given back again sooner anyway).  Otherwise the vCPU
 *           would be offlined and plugged back within seconds — churn for
 *           nothing (seen on a real guest: down 4 s before the burst's
 *           pre-provisioning took it back).  Veto regrow-soon.  Scale-up
 *           keeps the plain lead window: grow just in time, shrink only
 *           for a while.
 *
 * FEEDBACK LOOP named: ballooning changes the very stats we forecast from
 * (a shrunk guest drops caches, its MemAvailable falls).  "Used" excludes
 * caches, so the loop is weak; the floor on observed used + reserve and the
 * slow shrink keep it stable.
 */
#pragma once

#include <glib.h>

#define AUGUR_POLICY_MAX_H 48

typedef enum {
        AUGUR_REASON_NONE = 0,          /* no change                           */
        AUGUR_REASON_FORECAST_GROW,     /* forecast upper bound above alloc    */
        AUGUR_REASON_FORECAST_SHRINK,   /* sustained forecast below alloc      */
        AUGUR_REASON_CENSORED,          /* pinned at its limit / saturated     */
        AUGUR_REASON_PRESSURE,          /* guest under memory pressure         */
        AUGUR_REASON_FLOOR,             /* below observed used + reserve / min */
        AUGUR_REASON_CEILING,           /* above <memory>/<vcpu> maximum       */
        AUGUR_REASON_REACTIVE,          /* reference reactive policy           */
        AUGUR_REASON_CUSHION,           /* below used + the guard's cushion    */
        AUGUR_REASON_OUT_OF_MEMORY,     /* the guest ran out: emergency / hold */
        AUGUR_REASON_N,
} AugurReason;

typedef enum {
        AUGUR_VETO_NONE = 0,
        AUGUR_VETO_STALE,               /* stats not advancing / missing       */
        AUGUR_VETO_PRESSURE,            /* no shrink under pressure            */
        AUGUR_VETO_COOLDOWN,            /* changed too recently                */
        AUGUR_VETO_SUSTAIN,             /* evidence not held long enough       */
        AUGUR_VETO_DEADBAND,            /* change too small                    */
        AUGUR_VETO_NO_AGENT,            /* vCPU scale-down needs the agent     */
        AUGUR_VETO_NO_FORECAST,         /* no forecast and nothing observed    */
        AUGUR_VETO_BUSY,                /* vCPU down: observed cores do not fit
                                         * in one vCPU less                   */
        AUGUR_VETO_REGROW,              /* vCPU down: the forecast wants it
                                         * back within the cooldown           */
        AUGUR_VETO_OTHER_CONTROLLER,    /* something else moves the balloon:
                                         * augur yields (plugin/resize.c)     */
        AUGUR_VETO_BALLOON_OWNED,       /* the balloon is another's by design
                                         * (Proxmox's pvestatd): left alone   */
        AUGUR_VETO_N,
} AugurVeto;

const char *augur_reason_name (AugurReason r);
const char *augur_veto_name (AugurVeto v);

/* What the policy sees of one VM now.  NAN = unknown. */
typedef struct {
        double mem_used_kib;            /* observed used in balloon terms:
                                         * units.h used + the guest kernel's
                                         * reservation (balloon − MemTotal)    */
        double mem_alloc_kib;           /* balloon size in force               */
        double mem_max_kib;             /* <memory>                            */
        double mem_min_kib;             /* per-VM floor (policy metadata)      */
        gboolean mem_stats_fresh;       /* all fields present, last-update moving */
        gboolean mem_pressure;          /* swap-in / major faults / low usable */
        double mem_cushion_kib;         /* mem-guard.h: a shrink leaves at least
                                         * used + this; NAN = the reserve     */
        double mem_hold_kib;            /* mem-guard.h: hold level after the
                                         * guest ran out, NAN = none          */
        double cpu_cores_used;          /* observed cores used                 */
        int vcpus_online;               /* online in the guest                 */
        int vcpus_min, vcpus_max;       /* per-VM bounds (<vcpu> max)          */
        gboolean can_offline_vcpus;     /* guest agent present                 */
        gboolean can_add_vcpus;         /* hotplug or agent onlining possible  */
} AugurPolicyInput;

/* Forecast of one VM from one origin: horizons 1..H steps of step_s. */
typedef struct {
        guint H;
        double step_s;
        float mem_p50_kib[AUGUR_POLICY_MAX_H];
        float mem_upper_kib[AUGUR_POLICY_MAX_H];
        float cpu_p50_cores[AUGUR_POLICY_MAX_H];
        float cpu_upper_cores[AUGUR_POLICY_MAX_H];
        const char *model;              /* serving model name (static string)  */
        const char *precursor;          /* the precursor that raised the memory
                                         * upper ("schedule", ...; static), or
                                         * NULL (model/predictor.h)            */
        double model_wait_s;            /* > 0: a model is loaded but this VM's
                                         * history is shorter than its window;
                                         * the baselines serve for this long yet */
        double model_window_s;          /* that window, s                      */
} AugurForecast;

typedef struct {
        double headroom_kib;            /* added to the upper forecast, KiB    */
        double reserve_kib;             /* floor above observed used, KiB      */
        double buffer;                  /* the one tuning knob: scales the gap
                                         * upper − p50 (1 = as calibrated)     */
        double lead_s;                  /* measured actuation latency + margin */
        double deadband_frac;           /* ignore shrinks smaller than this    */
        double shrink_step_kib;         /* max shrink per decision             */
        double shrink_sustain_s;        /* evidence must hold this long        */
        double shrink_cooldown_s;       /* no shrink this soon after a change  */
        double pin_frac;                /* used ≥ (1 − pin_frac) × alloc: pinned */
        double censored_grow_frac;      /* grow a pinned VM by this fraction   */
        double target_util;             /* vCPU target utilisation (0, 1]      */
        double saturated_util;          /* ≥ this utilisation = censored       */
} AugurPolicyConfig;

void augur_policy_config_init (AugurPolicyConfig *c);

/* Per-VM state carried between decisions (owned by the caller). */
typedef struct {
        double last_mem_change_s;       /* time of the last memory change      */
        double mem_shrink_since_s;      /* shrink evidence holds since (or -1) */
        double last_cpu_change_s;
        double cpu_shrink_since_s;
} AugurPolicyState;

void augur_policy_state_init (AugurPolicyState *s);

typedef struct {
        double mem_target_kib;          /* allocation to be in force next      */
        int vcpus_target;
        AugurReason mem_reason, cpu_reason;
        AugurVeto mem_veto, cpu_veto;   /* what stopped a change, if anything  */
        double mem_wanted_kib;          /* before vetoes and step limits       */
        double mem_need_kib;            /* part of mem_target_kib that the
                                         * forecast, the evidence and the floor
                                         * ask for: arbitration serves it
                                         * first; the rest up to the extra is
                                         * cushion (the guard's, or a shrink
                                         * not yet made) and comes second    */
        double mem_extra_kib;           /* part of mem_target_kib that only the
                                         * hold asks for (arbitration grants it
                                         * from what is left), 0 = none       */
        int vcpus_wanted;
        AugurPolicyState state;         /* the state to keep                   */
} AugurPlan;

/* The memory the forecast asks for over the lead window: max of p50 +
 * buffer × (upper − p50) + headroom; NAN without a forecast.  What the
 * memory guard scores bursts against (mem-guard.h). */
double augur_policy_mem_forecast_want (const AugurForecast *f, const AugurPolicyConfig *cfg);
/* The CPU demand the vCPU decisions plan for, cores: max over the lead
 * window of p50 + buffer × (upper − p50); NAN without a forecast.  What
 * the CPU weight planner raises on (cpu-weight.h). */
double augur_policy_cpu_demand (const AugurForecast *f, const AugurPolicyConfig *cfg);

/* Plan one VM.  forecast may be NULL (no model, no baseline yet): the
 * policy then holds, except on pressure or a floor violation.  Pure. */
void augur_policy_plan (const AugurPolicyInput *in, const AugurForecast *forecast,
                        const AugurPolicyConfig *cfg, const AugurPolicyState *state,
                        double now_s, AugurPlan *ret);

/* The reference reactive policy (Proxmox-like): alloc = last used × (1 + h),
 * clamped like augur's; knob h = cfg->buffer. */
void augur_policy_plan_reactive (const AugurPolicyInput *in, const AugurPolicyConfig *cfg,
                                 double now_s, AugurPlan *ret);

/* HOST ARBITRATION
 * Keep the sum of memory targets within the host budget.  Every VM first
 * gets its floor (observed used + reserve, its minimum: never less, even
 * when the floors alone exceed the budget — that is reported); the rest of
 * the budget goes to the wants above the floors in proportion to priority
 * (shares), each VM capped at its want.  Because wants are forecasts over
 * the lead window, a guest predicted idle wants little and is shrunk
 * *ahead* of the crunch, leaving room for the one predicted to spike.  A VM
 * granted less than it wanted is a loser, with the reason in note.  Wants
 * are served in tiers, each by shares from what the tier before left: a
 * guest's need (its forecast: a guest about to spike gets its memory
 * first), then the cushions (the guard's envelope against bursts nobody
 * foresaw), then the extras.  The
 * extras (a guest's hold after it reported an OOM kill: its own word) go
 * last, from what is left, by shares: a lying guest gets spare memory,
 * never another guest's. */
typedef struct {
        double want_kib;        /* the plan's need, served first (in)         */
        double cushion_kib;     /* above it, served second (in, 0 = none)     */
        double extra_kib;       /* granted only from what is left once every
                                 * want is served (in, 0 = none)              */
        double floor_kib;       /* never below (in)                           */
        double alloc_kib;       /* in force now (in, NAN = unknown)           */
        int priority;           /* shares (in), default 1000                  */
        double granted_kib;     /* out                                        */
        gboolean lost;          /* out: granted < want                        */
} AugurArbItem;

/* Returns TRUE when the floors alone fit in the budget.  When they do not
 * (guests whose used memory alone exceeds it), nobody is shrunk below its
 * floor and nobody grows past what it has: each gets min(floor, alloc),
 * and only what is left of the budget tops the others up toward their
 * floors — the budget is never broken by augur's own hand. */
gboolean augur_policy_arbitrate (AugurArbItem *items, gsize n, double budget_kib);
