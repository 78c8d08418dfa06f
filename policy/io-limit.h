/* io-limit.h — the I/O limit planner: raise an admin's disk or network
 * limit ahead of a forecast burst, restore it afterwards.  Pure: plain
 * structs in, a plan out, no clock, no libvirt (plugin/resize-io.c feeds
 * it and acts).
 *
 * ONE LIMIT, of one of the kinds below (AugurIoKind), in bytes/s (IO/s
 * for an IOPS kind: UNITS below), with
 * the rate it limits: a disk's byte-rate limit (total, read or write:
 * libvirt <iotune>; total limits read + write), or one direction of an
 * interface's average rate (inbound or outbound: libvirt <bandwidth>,
 * kept in KiB/s and converted by the caller; inbound limits the rx
 * counter, outbound tx).  The rules do not know which: one planner for
 * every kind.  augur only ever moves a limit the admin set: floor_bps is
 * the admin's value, and the plan never goes below it, nor above the
 * guest's ceiling for the kind (<metadata> io_max_mib_s for disks,
 * net_max_mib_s for interfaces), nor past the host budget
 * (augur_io_arbitrate(), one budget for every kind).  A limit that is
 * not set (floor 0) is never touched: no limit is ever added.
 *
 * THE RULES, in order:
 *   1. yield.  A limit in force that is not what augur last left there was
 *      changed by someone else (an admin's `virsh blkdeviotune` or
 *      `virsh domiftune`, a management tool): the new value becomes the floor, augur holds no
 *      raise any more, and the plan says yielded once (the caller logs
 *      it).  It never sets the old value back.
 *   2. no limit, no ceiling (or one at or below the floor): nothing.  A
 *      raise still held when the ceiling went (the admin removed or
 *      lowered io_max_mib_s / net_max_mib_s) is given back to the floor at once: augur
 *      may no longer hold it.
 *   3. raise.  A forecast upper bound over the lead window at or above
 *      raise_frac of the floor is a burst the limit would cap.  The target
 *      is the upper bound times headroom, or the ceiling when the forecast
 *      rests on samples that sat at their limit (censored: the demand is
 *      unknown above it), clamped to [floor, ceiling]; a raise in force is
 *      never lowered while a burst is forecast.
 *   3b. at the limit.  An observed rate at or above AUGUR_IO_AT_LIMIT_FRAC
 *      of the limit in force is a guest the limit holds back now, whatever
 *      the forecast says (a burst with no period, the first of a periodic
 *      job): raised to the ceiling (the demand above the limit is unknown)
 *      and held like rule 3's raise while it stays there.  The forecast
 *      raises ahead of a burst it knows; this rule keeps augur from being
 *      slower than a reactive raiser on the bursts it does not know
 *      (BENCHMARKS-replay.md section 6).
 *   4. restore, as carefully as memory shrinks: only after quiet evidence
 *      held quiet_sustain_s (the observed rate and the forecast both below
 *      raise_frac of the floor), in steps of at least restore_step_s, each
 *      halving the raise, and to the floor itself once what is left of the
 *      raise is no more than the floor (40 -> 22.5 -> 13.75 -> 5 MiB/s for
 *      a 5 MiB/s floor).  An unknown rate is not quiet.
 *
 * FEEDBACK.  Raising a limit changes the very rate forecast from (the
 * capped history under-reads the demand): io-forecast.h CENSORING.
 */
#pragma once

#include <glib.h>

#include "policy.h"

/* THE KINDS of limit, the one place that names them: the audit's kind
 * (actuations.kind, migration 010), the words of `virt-augur actions` and
 * `explain`, the unit of the kind's numbers and how they are shown, and
 * whether the device is a disk or an interface.  The IOPS kinds come last
 * (appended: nothing persists the enum's numbers, but other code walks
 * the byte kinds by name).
 *
 * UNITS.  A byte kind's numbers are bytes/s; an IOPS kind's are requests
 * per second (IO/s, what QEMU's throttle counts: one per request whatever
 * its size, as long as the admin set no iops_size).  The planner's fields
 * keep their _bps names this round (other code reads them): for an IOPS
 * kind every *_bps field below holds IO/s.  Two units never meet in one
 * sum: the host budget (augur_io_arbitrate) is given the byte kinds only. */
typedef enum {
        AUGUR_IO_KIND_TOTAL = 0,         /* <iotune> total_bytes_sec           */
        AUGUR_IO_KIND_READ,              /* <iotune> read_bytes_sec            */
        AUGUR_IO_KIND_WRITE,             /* <iotune> write_bytes_sec           */
        AUGUR_IO_KIND_NET_IN,            /* <bandwidth><inbound average>       */
        AUGUR_IO_KIND_NET_OUT,           /* <bandwidth><outbound average>      */
        AUGUR_IO_KIND_TOTAL_IOPS,        /* <iotune> total_iops_sec            */
        AUGUR_IO_KIND_READ_IOPS,         /* <iotune> read_iops_sec             */
        AUGUR_IO_KIND_WRITE_IOPS,        /* <iotune> write_iops_sec            */
        AUGUR_IO_KIND_N,
} AugurIoKind;

typedef struct {
        const char *name;                /* audit kind: "io-read", "net-out"   */
        const char *words;               /* "read limit", "outbound limit"     */
        gboolean net;                    /* an interface's, else a disk's      */
        const char *unit;                /* of its numbers: "B/s" or "IO/s"    */
        const char *shown_unit;          /* as printed: "MiB/s" or "IO/s"      */
        double shown_per_unit;           /* units in one shown unit: 1048576   */
        const char *series;              /* the rate it limits, as `virt-augur
                                          * forecast` names it: "read", "rx",
                                          * "read IOPS"                        */
} AugurIoKindInfo;

extern const AugurIoKindInfo augur_io_kind_info[AUGUR_IO_KIND_N];

/* The kind named name (an audit row's); AUGUR_IO_KIND_N when none. */
AugurIoKind augur_io_kind_from_name (const char *name);

/* Does kind k count requests (IO/s) rather than bytes? */
gboolean augur_io_kind_is_iops (AugurIoKind k);

/* v (the kind's unit) as printed, "40 MiB/s", "800 IO/s", "?" for NAN;
 * with_unit FALSE: the number alone ("40", "800"). (transfer full) */
char *augur_io_kind_format (AugurIoKind k, double v, gboolean with_unit);

typedef enum {
        AUGUR_IO_REASON_NONE = 0,
        AUGUR_IO_REASON_FORECAST_BURST,  /* raised ahead of a forecast burst   */
        AUGUR_IO_REASON_RESTORE,         /* restored after sustained quiet     */
        AUGUR_IO_REASON_YIELD,           /* changed by someone else: yielded   */
        AUGUR_IO_REASON_AT_LIMIT,        /* the guest sat at its limit: raised
                                          * after the fact (rule 3b)           */
        AUGUR_IO_REASON_N,
} AugurIoReason;

typedef enum {
        AUGUR_IO_VETO_NONE = 0,
        AUGUR_IO_VETO_NO_LIMIT,          /* the device has no limit of its own */
        AUGUR_IO_VETO_NO_CEILING,        /* no io_max_mib_s / net_max_mib_s /
                                          * io_max_iops                        */
        AUGUR_IO_VETO_NOT_SUSTAINED,     /* quiet, not for long enough yet     */
        AUGUR_IO_VETO_COOLDOWN,          /* a restore step too soon after one  */
        AUGUR_IO_VETO_BUDGET,            /* the host budget cut the raise      */
        AUGUR_IO_VETO_N,
} AugurIoVeto;

const char *augur_io_reason_name (AugurIoReason r);
const char *augur_io_veto_name (AugurIoVeto v);

typedef struct {
        double raise_frac;        /* a burst reaches this share of the floor   */
        double headroom;          /* target = upper × this (uncensored)        */
        double quiet_sustain_s;   /* quiet evidence before a restore, s        */
        double restore_step_s;    /* between restore steps, s                  */
} AugurIoPlanConfig;

/* raise_frac 0.8, headroom 1.5, quiet 10 s, steps 5 s apart. */
void augur_io_plan_config_init (AugurIoPlanConfig *c);

/* What augur keeps per limit between ticks.  Zeroed = never seen. */
typedef struct {
        gboolean seen;            /* floor_bps is known                        */
        double floor_bps;         /* the admin's value (0 = no limit)          */
        double set_bps;           /* what augur left in force; 0 = no raise    */
        double quiet_since_s;     /* start of the quiet evidence, NAN = none   */
        double last_change_s;     /* augur's last change of this limit         */
} AugurIoLimitState;

void augur_io_limit_state_init (AugurIoLimitState *s);

typedef struct {
        double limit_bps;         /* in force now, as read (0 = none)          */
        double rate_bps;          /* observed this tick, NAN = unknown         */
        double upper_bps;         /* forecast upper over the lead, NAN = none  */
        gboolean censored;        /* that forecast rests on capped samples     */
        double ceiling_bps;       /* the guest's ceiling, NAN or 0 = none      */
} AugurIoLimitInput;

typedef struct {
        double target_bps;        /* what the limit should be (= limit: keep)  */
        double want_raise_bps;    /* target − floor, for the host budget       */
        AugurIoReason reason;
        AugurIoVeto veto;
        gboolean yielded;         /* rule 1 fired this tick                    */
        AugurIoLimitState state;  /* the state to keep if the plan is applied  */
} AugurIoPlan;

void augur_io_plan (const AugurIoLimitInput *in, const AugurIoPlanConfig *c, const AugurIoLimitState *st,
                    double now_s, AugurIoPlan *ret);

/* Does the plan move the limit (a raise, rule 3 or 3b, or a restore
 * step)?  A yield or a veto changes nothing. */
static inline gboolean
augur_io_plan_moves (const AugurIoPlan *p)
{
        return p->reason == AUGUR_IO_REASON_FORECAST_BURST || p->reason == AUGUR_IO_REASON_AT_LIMIT ||
               p->reason == AUGUR_IO_REASON_RESTORE;
}

/* THE RULES' SHARED CORE, for a planner of another admin's limit in its
 * own units (policy/cpu-weight.h: cpu_shares; the _bps fields then hold
 * that unit).  augur_io_plan() is _begin, its own judgement of the burst,
 * the target and the quiet, then _decide; a second planner judges its
 * own signal and keeps every rule above.
 *
 * _begin: rule 1 and the no-limit veto.  TRUE when the plan is complete
 * (yielded this tick, or no limit); otherwise ret->state.floor_bps is the
 * floor to judge against and ret->target_bps the limit in force.
 * _decide: rules 2 to 4.  burst: a burst is forecast that the limit would
 * cap; want: the raise's target before the clamp to [floor, ceiling]
 * (NAN = the ceiling); quiet: the observed rate and the forecast are both
 * quiet (unknown is not quiet); ceiling: 0 or NAN = none. */
gboolean augur_limit_plan_begin (double limit, const AugurIoLimitState *st, AugurIoPlan *ret);
void augur_limit_plan_decide (gboolean burst, double want, gboolean quiet, double ceiling,
                              const AugurIoPlanConfig *c, double now_s, AugurIoPlan *ret);

/* THE HOST BUDGET, in the plans' one unit: the byte kinds' plans share
 * [host] io_budget_mib_s in bytes/s (the IOPS kinds have no host budget:
 * their guest's io_max_iops bounds them; policy/cpu-weight.h passes
 * cpu_shares).  items[i].want_kib is limit i's want_raise_bps (the
 * arbitration is augur_policy_arbitrate()'s, in that unit instead of KiB:
 * shares by priority, capped at each want), budget_bps the host's total
 * raise above the admins' limits (0 = no host bound).  Each plan's target
 * is cut to floor + its grant (veto BUDGET when it lost some), never below
 * the floor: the budget can only hold a raise back, never cut an admin's
 * own limit.  Returns TRUE when every want fitted. */
gboolean augur_io_arbitrate (AugurIoPlan *plans, const int *priority, gsize n, double budget_bps);

/* The plan's target is in force now (the caller set it): keep it as
 * augur's own value (set_bps; 0 when it is the floor) and time it. */
void augur_io_limit_applied (AugurIoLimitState *s, double target_bps, double now_s);
