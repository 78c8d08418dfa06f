/* store-report.h — the savings report (`virt-augur report`): what augur
 * gave back, what it cost the guests, and how good the forecast it acted
 * on was, per guest and for the host, from the history store.  Part of the
 * store module (the only code that speaks SQL); virsh-ext/cmd-report.c
 * prints it.  It is what an admin shows before turning `act` mode on.
 *
 * What it is not: a simulation.  It reads what happened (samples) and what
 * augur decided (the `decisions` audit).  `virt-augur replay` is the
 * counterfactual that runs the policy over a history.
 *
 * THE WINDOW.  [from_ms, to_ms], inclusive.  A guest is reported when it
 * has at least one sample in the window with a balloon size and a
 * <memory> maximum (live samples; imported traces have neither).
 *
 * THE ALLOCATION of a step (one sample of a guest) is its balloon size,
 * except under `recommend` mode (decisions.mode), where the balloon never
 * moved: there it is the target of augur's newest recommendation
 * (recommend-grow / recommend-shrink) at or before the step, in force
 * until the next one, and the balloon itself before the first one or
 * after a decision in another mode.  A decision takes effect from the
 * guest's next step (its own tick's sample was taken before it), and the
 * recommendation in force when the window opens carries into it.  So a recommend-mode report says what
 * augur WOULD have given back.  Each recommendation was planned from the
 * balloon the guest really had, so a shrink augur takes in steps (one
 * shrink step per cooldown) is seen one step deep: the figure is a lower
 * bound of what act mode would give back.
 *
 * THE BASELINE is what the guest would have held without augur: its
 * <memory> maximum as configured (BASELINE_MAX), unless the balloon the
 * guest had before augur's first action on it (the decision's
 * mem_alloc_kib, taken or recommended; the guest's first sample when augur
 * never acted) was smaller by more than AUGUR_REPORT_AT_MAX_KIB: then an
 * admin ran it at that balloon, and that is its static allocation
 * (BASELINE_INITIAL).  First action and first sample are looked up over
 * the whole history, not only the window.  Against an INITIAL baseline the
 * figure can be negative: augur gave the guest more than the admin's
 * balloon.  The figure against the maxima is always reported too.
 *
 * THE FIGURES, per guest (the host's in brackets):
 *   saved         ∫ (baseline − allocation) dt over the steps, KiB·s
 *                 (GiB-hours = / 1048576 / 3600).  A step holds until the
 *                 guest's next sample, at most AUGUR_MAX_RATE_GAP_S (units.h:
 *                 what a gap is); the newest step of a guest holds for 0.
 *                 The baseline of a MAX guest is each step's own maximum.
 *                 [the sum over guests]
 *   saved_vs_max  the same against each step's <memory> maximum.
 *   reclaimed     maximum − allocation of a step: peak (largest) and p95
 *                 (nearest rank: the ceil(0.95 n)-th smallest of n).
 *                 [per tick: the sum over the guests sampled at that
 *                 time; peak and p95 over those ticks]
 *   shortfalls    steps where used memory, in balloon terms (units.h
 *                 augur_units_reservation_kib: MemTotal − MemAvailable +
 *                 what the guest kernel reserves, as augurd, plot and top
 *                 count it), reached (1 − margin_frac) × the allocation,
 *                 plus the steps at which the memory guard raised an
 *                 out-of-memory event (below).  worst: the least free
 *                 memory (allocation − used) among them, KiB, negative =
 *                 used over the allocation; NAN when there is none.
 *                 [sums; the worst of all guests]
 *   oom_events, pressure_events
 *                 the memory guard's events (policy/mem-guard.h rule 2).
 *                 augurd records them only in the audit: every decision
 *                 row under the hold that follows an event carries the note
 *                 "the guest ran out of memory at <local time> (<event>)"
 *                 (plugin/resize.c note_guard()), so one event is one
 *                 distinct <time> of a guest (the guard raises at most one
 *                 per lead window), at the first row that mentions it;
 *                 that row's time is its step (the event's own tick).
 *                 Counted when that row is in the window.  Its kind is the
 *                 name in that row: guest-memory-pressure is a pressure
 *                 event; guest-oom-kill, guest-deflated and demand-cut-off
 *                 (and a name the 255-byte note cut off) are out-of-memory
 *                 events.  decisions.mem_reason
 *                 'out-of-memory' marks every step of a hold (hundreds after
 *                 one event), so it is not counted; the events table holds
 *                 libvirt's events, never the guard's.
 *   guest_oom_kills
 *                 what the guests' own kernels counted (activity.oom_kill,
 *                 augur-guest): the sum of its rises between consecutive
 *                 reports in the window (a fall is a guest reboot).
 *   actions       decision rows whose mem_action / cpu_action is neither
 *                 'none' nor 'hold': taken (grow, shrink, vcpu-up,
 *                 vcpu-down), recommended (recommend-*), failed.
 *   coverage      of the decision rows in the window with a horizon_s and
 *                 a mem_upper_kib (the serving model's upper bound over the
 *                 lead window, in balloon terms), those scored: the first
 *                 sample of the guest at or after ts + horizon_s, if it
 *                 comes within one tick (the guest's median sample
 *                 interval in the window) and has used memory in balloon
 *                 terms; covered: that used <= mem_upper_kib (at or below,
 *                 as augurd's augur_guest_forecast_coverage_ratio counts).
 *                 [pooled]
 *
 * COST.  Per guest a few indexed queries (its samples, its decisions, the
 * notes, its activity) and O(n log n) in C for the percentiles; the host
 * keeps one sum per tick.  Memory: the guest's steps in the window.
 */
#pragma once

#include <glib.h>
#include "store.h"

/* A first balloon within this much of the <memory> maximum is the maximum
 * (KiB): QEMU rounds a balloon to 4 KiB pages, and a guest may hold back a
 * few pages of a full deflation. */
#define AUGUR_REPORT_AT_MAX_KIB 1024.0

/* Nearest-rank percentile of the reclaimed memory. */
#define AUGUR_REPORT_PERCENTILE 0.95

typedef enum {
        AUGUR_REPORT_BASELINE_MAX = 0,  /* the <memory> maximum              */
        AUGUR_REPORT_BASELINE_INITIAL,  /* the balloon before augur acted    */
} AugurReportBaseline;

/* Modes seen in the window's decision rows (bits). */
typedef enum {
        AUGUR_REPORT_MODE_ACT = 1 << 0,
        AUGUR_REPORT_MODE_RECOMMEND = 1 << 1,
        AUGUR_REPORT_MODE_OTHER = 1 << 2,       /* a name this build does not know */
} AugurReportModes;

/* One guest, or the host's totals.  KiB, KiB·s, unix ms; NAN = none. */
typedef struct {
        gint64 domain_id;               /* -1 for the host                      */
        char *uuid;                     /* NULL for the host                    */
        char *name;                     /* "host" for the host                  */
        guint modes;                    /* AugurReportModes; 0 = no decisions   */
        AugurReportBaseline baseline;   /* guests only                          */
        double baseline_kib;            /* INITIAL: the first balloon; MAX: the
                                         * newest maximum [host: their sum]     */
        double max_kib;                 /* newest <memory> maximum [sum]        */
        double initial_kib;             /* balloon before augur's first action  */
        gint64 first_ms, last_ms;       /* first and newest step                */
        gint64 steps;                   /* samples with allocation and maximum  */
        gint64 recommended_steps;       /* of which the allocation was augur's
                                         * recommendation (recommend mode)      */
        double span_s;                  /* ∫ dt over the steps                  */
        double saved_kib_s;             /* ∫ (baseline − allocation) dt         */
        double saved_vs_max_kib_s;      /* ∫ (maximum − allocation) dt          */
        double reclaimed_peak_kib;      /* [per tick]                           */
        double reclaimed_p95_kib;       /* [per tick]                           */
        gint64 ticks;                   /* host: distinct step times            */
        gint64 used_steps;              /* steps whose used memory is known     */
        gint64 shortfall_steps;
        double worst_free_kib;          /* allocation − used at the worst one   */
        gint64 worst_ms;                /* its time, -1 = none                  */
        char *worst_name;               /* host: whose it was                   */
        gint64 oom_events;
        gint64 pressure_events;
        gint64 guest_oom_kills;
        gint64 mem_taken, mem_recommended, mem_failed;
        gint64 cpu_taken, cpu_recommended, cpu_failed;
        gint64 io_raised, io_restored;  /* I/O limit actuations (disks and
                                         * interfaces: rows with a device)      */
        gint64 io_yielded;              /* limits changed by hand: yielded      */
        gint64 coverage_rows;           /* scored                               */
        gint64 coverage_hits;           /* used <= the upper bound              */
} AugurReportGuest;

typedef struct {
        gint64 from_ms, to_ms;          /* the window                           */
        double margin_frac;             /* "at the allocation" margin           */
        GPtrArray *guests;              /* AugurReportGuest*, by name, owned    */
        AugurReportGuest host;          /* totals                               */
} AugurReport;

void augur_report_free (AugurReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurReport, augur_report_free)

/* The report over [from_ms, to_ms] with shortfalls counted within
 * margin_frac (0 to 1) of the allocation (virt-augur passes the memory
 * guard's AUGUR_GUARD_NEAR_FRAC).  Returns (transfer full) the report, its
 * guests possibly none, or NULL with *error set (a SQLite error). */
AugurReport *augur_store_report (AugurStore *st, gint64 from_ms, gint64 to_ms,
                                 double margin_frac, GError **error);
