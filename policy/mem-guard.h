/* mem-guard.h — the memory guard: what stops augur from starving a guest.
 *
 * What it is: a PURE per-VM tracker (no I/O, no clock, no libvirt) that
 * the resize policy consults before every memory decision.  augurd
 * (plugin/resize.c) and `virt-augur replay` feed it the same observations,
 * one call per tick.  It answers two questions:
 *   - how far below its allocation may this guest be squeezed (the
 *     cushion under every shrink), and
 *   - did the guest just run out of memory (then grow at once, and hold).
 * What it is not: the forecast (model/predictor.h) or the plan
 * (policy.h); it never sets an allocation itself.
 *
 * WHY.  A review ran the shipped defaults on a real guest with a 200 MiB job
 * every 120 s: augur shrank the idle guest in 64 MiB steps to 262 MiB, the
 * job was OOM-killed in 5 of 7 cycles, and the history looked calm
 * afterwards because a job killed within a second never shows up as
 * demand.  Three rules close that, each unit-tested (tests/test-mem-guard.c):
 *
 * 1. BURST ENVELOPE.  The largest rise of used memory the VM has shown
 *    within one actuation lead (measured latency + one tick): a guest can
 *    grab that much faster than augur can react, so no shrink may leave it
 *    less.  rise = used now − min(used over the last lead window); the
 *    envelope is max(rise, envelope × 2^(−Δt / ENVELOPE_HALFLIFE)), a
 *    decaying maximum with a 3-day half-life: a daily job's burst is 79 %
 *    remembered a day later; one seen once a month has faded to 0.1 %.
 *    A NEW guest (observed < AUGUR_GUARD_NEW_S) has no history: its
 *    envelope is at least AUGUR_GUARD_NEW_CUSHION_FRAC of its <memory>
 *    maximum (50 %, at least 256 MiB), fading linearly over that hour.
 *    Why half: a guest's first burst is one augur has never seen and
 *    cannot foresee; the review's job was 26 % of the guest's maximum, and
 *    a quarter left a new guest sharing a tight budget short of it (a real
 *    run: 375 of the 389 MiB its first job needed).  Half the maximum is
 *    also what Proxmox and oVirt admins commonly set as the balloon
 *    minimum.  An hour is 30 cycles of a 2-minute job, enough for the
 *    envelope to have seen a periodic burst itself.
 *
 * 2. OUT OF MEMORY.  Any of these is an event, and augur's failure:
 *      - the guest's oom_kill count (augur-guest reports /proc/vmstat) rose;
 *      - a guest deflated its own balloon (autodeflate: the balloon rose
 *        while augur's target was below it);
 *      - censored demand: used rose toward the balloon (within
 *        AUGUR_GUARD_NEAR_FRAC of it) and then fell back abruptly — the
 *        signature of a process killed at the limit;
 *      - memory PSI (some avg10) ≥ AUGUR_GUARD_PSI_PCT.
 *    An event asks for an EMERGENCY grow to the HOLD level: the allocation
 *    that failed plus the rise that was cut off, estimated as the larger of
 *    the rise seen, the envelope and a quarter of the allocation (the real
 *    need is unknown: it was censored).  The envelope is raised to cover
 *    it when the host saw the failure itself (cut-off, deflated).  For
 *    the hold period no shrink goes below the hold level.  The
 *    period is learnt per VM: 24 h after a first event, doubled by every
 *    event within a hold, at most 7 days.
 *    Hostile guests: the oom_kill count and PSI come from the guest; a
 *    lying guest can make augur keep more memory for itself (up to its
 *    maximum), never take memory from another guest or exceed the budget —
 *    the hold is an EXTRA want that host arbitration serves only from what
 *    is left after every guest's ordinary want (policy.h), and only what
 *    the host saw itself (a cut-off, a deflation) widens the envelope,
 *    which is an ordinary want.
 *
 * 3. SHRINK ONLY AS FAR AS SOMEBODY GAINS.  How deep a shrink may go
 *    follows the host's forecast free memory, MoM's and Proxmox's free
 *    memory thresholds made predictive (augur_guard_host_slack()):
 *      slack g = clamp((free − low) / (high − low), 0, 1)
 *    with free the fraction of host memory (or of [host] mem_budget_mib)
 *    left after every guest's forecast need; augurd takes the guests'
 *    growth as the larger of the tick's lead window and the host's own
 *    calibrated 4-hour bound (plugin/host-plan.h), which can only lower
 *    free.  The cushion above used is
 *      cushion = max(E_eff, g × max(envelope, generous))
 *    with E_eff = envelope + reserve (after its largest burst the guest
 *    still has the policy's reserve free)
 *    where generous = max(50 % of the <memory> maximum, 512 MiB):
 *    with plenty of free memory a guest keeps a generous cushion (nobody
 *    would gain from squeezing it); under pressure it tightens toward
 *    E_eff.
 *
 * HOW THE ENVELOPE AND THE FORECAST COMBINE.  The envelope protects
 * against bursts augur cannot foresee.  A burst the forecast foresees is
 * better served by growing just ahead of it, which lets the guest give
 * memory back between jobs when the host needs it.  So each burst is
 * scored: was the forecast made one lead before it (upper + headroom over
 * the lead window) above its peak over the next lead?  A burst that
 * scores is a rise within one lead of at least AUGUR_GUARD_BURST_MIN_FRAC
 * of the allocation and at least AUGUR_GUARD_SCORE_FRAC of the envelope:
 * confidence is about the bursts the envelope guards against, and small
 * wobbles that any forecast covers prove nothing about them (a real run:
 * two 39 MiB blips "foreseen" made a guest with a 200 MiB job confident,
 * and it was squeezed to 240 MiB and OOM-killed).  A miss is scored the
 * tick the peak passes the forecast.  A VM whose last
 * AUGUR_GUARD_CONFIDENT_N bursts were all foreseen is CONFIDENT, and its
 * E_eff is the reserve alone; otherwise E_eff = the envelope + the reserve.  One burst
 * missed and the envelope is back.  With no host pressure (g = 1) the
 * envelope stays under the guest regardless.
 */
#pragma once

#include <glib.h>

/* Observations kept per VM: one per tick, enough for a lead window of
 * up to this many ticks (a longer lead uses the oldest). */
#define AUGUR_GUARD_RING 64

#define AUGUR_GUARD_ENVELOPE_HALFLIFE_S (3 * 86400.0) /* envelope decay       */
#define AUGUR_GUARD_NEW_S 3600.0                /* a guest is new this long    */
#define AUGUR_GUARD_NEW_CUSHION_FRAC 0.50       /* of <memory>, new guest      */
#define AUGUR_GUARD_NEW_CUSHION_MIN_KIB (256 * 1024.0)
#define AUGUR_GUARD_GENEROUS_FRAC 0.5           /* of <memory>, host idle      */
#define AUGUR_GUARD_GENEROUS_MIN_KIB (512 * 1024.0)
#define AUGUR_GUARD_NEAR_FRAC 0.06              /* "at the balloon": within 6 % */
#define AUGUR_GUARD_BURST_MIN_FRAC 0.10         /* a burst: ≥ 10 % of alloc    */
#define AUGUR_GUARD_BURST_MIN_KIB (32 * 1024.0) /* ... and ≥ 32 MiB            */
#define AUGUR_GUARD_CONFIDENT_N 2               /* bursts foreseen in a row    */
#define AUGUR_GUARD_SCORE_FRAC 0.5              /* scored: rise ≥ ½ envelope    */
#define AUGUR_GUARD_PSI_PCT 10.0                /* memory PSI some avg10, %    */
#define AUGUR_GUARD_HOLD_S 86400.0              /* first hold after an event   */
#define AUGUR_GUARD_HOLD_MAX_S (7 * 86400.0)
#define AUGUR_GUARD_CUT_FRAC 0.25               /* unseen rise ≥ 25 % of alloc */

typedef enum {
        AUGUR_GUARD_EVENT_NONE = 0,
        AUGUR_GUARD_EVENT_OOM_KILL,     /* the guest's oom_kill count rose     */
        AUGUR_GUARD_EVENT_DEFLATED,     /* the guest deflated its balloon      */
        AUGUR_GUARD_EVENT_CUT_OFF,      /* used hit the balloon and fell back  */
        AUGUR_GUARD_EVENT_PSI,          /* memory PSI above the threshold      */
        AUGUR_GUARD_EVENT_N,
} AugurGuardEvent;

const char *augur_guard_event_name (AugurGuardEvent e);

/* One tick of one VM.  NAN = unknown. */
typedef struct {
        double now_s;
        double tick_s;                  /* interval between observations        */
        double lead_s;                  /* actuation latency + margin           */
        double used_kib;                /* used, balloon terms (policy.h)       */
        double alloc_kib;               /* balloon in force                     */
        double max_kib;                 /* <memory> / per-VM maximum            */
        double target_kib;              /* the largest target augur set within
                                         * the time a balloon takes to land
                                         * (a few s); NAN = none, or a balloon
                                         * without autodeflate (a rise is then
                                         * another controller, not the guest) */
        double reserve_kib;             /* the policy's reserve                 */
        double forecast_kib;            /* max over the lead window of the upper
                                         * forecast + headroom, NAN = none      */
        gboolean fresh;                 /* stats fresh (policy.h) and the
                                         * balloon still: while it moves the
                                         * guest's used memory swings by the
                                         * pages its balloon driver holds    */
        double oom_kills;               /* guest-reported count, NAN = none     */
        double psi_mem_pct;             /* guest-reported PSI, NAN = none       */
} AugurGuardInput;

typedef struct {
        double t_s, used_kib, alloc_kib, forecast_kib;
} AugurGuardObs;

/* Per-VM state, owned by the caller; zero it with augur_guard_init(). */
typedef struct {
        AugurGuardObs ring[AUGUR_GUARD_RING];
        guint head, n;                  /* ring[head] is the newest             */
        double born_s;                  /* first observation, NAN before        */
        double envelope_kib;            /* decaying max rise within one lead    */
        double envelope_s;              /* time envelope_kib is valid at        */
        double hold_kib;                /* no shrink below while held           */
        double hold_until_s;
        double hold_len_s;              /* learnt hold period (0 before any)    */
        double oom_kills;               /* last count seen, NAN = none          */
        double burst_until_s;           /* a burst is being scored until then   */
        gboolean burst_open;            /* ... and this one is still open       */
        double burst_forecast_kib;      /* its forecast, one lead before it     */
        double burst_peak_kib;          /* its peak used so far                 */
        guint32 foreseen;               /* bit i: burst i (0 = newest) foreseen */
        guint bursts;                   /* scored, saturating                   */
        AugurGuardEvent last_event;
        double last_event_s;
        double last_event_alloc_kib;    /* the allocation that failed           */
        double last_alloc_kib;          /* the balloon last tick, NAN           */
} AugurGuardState;

typedef struct {
        AugurGuardEvent event;          /* this tick's event, NONE mostly       */
        double envelope_kib;            /* after this tick (new-guest included) */
        double hold_kib;                /* in force now, NAN = none             */
        double hold_until_s;
        gboolean confident;             /* last bursts all foreseen             */
} AugurGuardOut;

void augur_guard_init (AugurGuardState *s);

/* Feed one tick; fills *ret.  Ticks with in->fresh FALSE update only the
 * oom_kill count, PSI, the deflation check and the hold clock: no
 * envelope, no cut-off, no burst. */
void augur_guard_observe (AugurGuardState *s, const AugurGuardInput *in, AugurGuardOut *ret);

/* The cushion above used memory that a shrink must leave, KiB, for host
 * slack g in [0, 1] (1 = plenty of free host memory). */
double augur_guard_cushion (const AugurGuardOut *o, double max_kib, double reserve_kib, double g);

/* Host slack g from the forecast free fraction (rule 3).  free_frac is
 * (capacity − Σ forecast needs) / capacity; low < high, fractions. */
double augur_guard_host_slack (double free_frac, double low, double high);
