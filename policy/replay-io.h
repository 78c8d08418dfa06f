/* replay-io.h — closed-loop replay of VM traces through the daemon's I/O
 * limit loop: how many burst steps a raised limit served, how long bursts
 * sat at the cap, and how much raise that took against the host budget.
 * Design: replay-io.c.
 *
 * What it is: simulated actuation of disk and interface limits over the
 * byte rates a trace recorded, with the very code augurd runs
 * (model/io-forecast.h, policy/io-limit.h augur_io_plan and
 * augur_io_arbitrate) and two reference policies.  What it is not: the
 * memory/vCPU replay (replay.h) or a second copy of the planner.
 *
 * Ownership: an AugurIoReplay copies the rates it needs from the series
 * (resampled on its own grid); the series are not kept.
 */
#pragma once

#include <glib.h>
#include "io-limit.h"
#include "series.h"

typedef enum {
        AUGUR_IO_REPLAY_STATIC = 0,     /* the admin's cap, never raised     */
        AUGUR_IO_REPLAY_REACTIVE,       /* to the ceiling after a step at the
                                         * cap, restored by io-limit rule 4 */
        AUGUR_IO_REPLAY_AUGUR,          /* io-forecast + augur_io_plan       */
        AUGUR_IO_REPLAY_N,
} AugurIoReplayPolicy;

const char *augur_io_replay_policy_name (AugurIoReplayPolicy p);

typedef struct {
        double score_from, score_to;    /* scored part of each VM's span,
                                         * fractions [from, to); the caps
                                         * are learnt on [0, score_from)    */
        double floor_q;                 /* the cap: this quantile of the
                                         * training rates (0.9) ...         */
        double floor_mult;              /* ... times this headroom (1.5),    */
        double min_floor_bps;           /* ... at least this, bytes/s (1 MiB/s) */
        double ceiling_mult;            /* the ceiling: at least this times
                                         * the floor (2) ...                */
        double budget_frac;             /* host budget: this share of the sum
                                         * of every limit's (ceiling - floor),
                                         * 0 = none (0.25) ...              */
        double budget_bps;              /* ... or this, bytes/s, when > 0    */
        guint lead_steps;               /* forecast look-ahead, steps (1)    */
        guint ring_len;                 /* forecaster ring, steps (the
                                         * daemon's, io-forecast.h: 512)    */
        gboolean backlog;               /* capped bytes carry over (TRUE)    */
        guint kinds;                    /* bit k: replay limits of kind k
                                         * (read, write, net-in, net-out)   */
} AugurIoReplayConfig;

/* The defaults above; kinds = read, write, net-in, net-out. */
void augur_io_replay_config_init (AugurIoReplayConfig *cfg);

/* Whether the trace has the columns a limit of kind k limits (common/
 * series.h): TRUE for total (disk read + write), read, write, net-in and
 * net-out; FALSE for any other kind. */
gboolean augur_io_replay_kind_has_column (AugurIoKind k);

#define AUGUR_IO_REPLAY_MAX_FAMILIES 8  /* family labels counted apart; the
                                         * rest count as "other"            */

/* One group's scores (replay-io.c METRICS). */
typedef struct {
        guint64 limits;                 /* limits with a scored step         */
        guint64 steps;                  /* scored limit-steps with a rate    */
        guint64 burst_steps;            /* ... whose demand > floor          */
        guint64 burst_served;           /* ... with the limit in force >= it */
        guint64 bursts;                 /* runs of burst steps (episodes)    */
        double burst_mib;               /* sum demand x step over burst steps */
        double burst_served_mib;        /* ... of min(demand, limit), MiB    */
        guint64 capped_steps;           /* scored steps that wanted more than
                                         * the limit in force (burst or its
                                         * backlog)                         */
        double raise_mib;               /* sum (limit - floor) x step, MiB   */
        double demand_mib;              /* sum demand x step, MiB            */
        double backlog_mib_s;           /* sum backlog x step, MiB x s       */
        guint64 raises;                 /* changes upward in force at a
                                         * scored step                      */
        guint64 forecast_steps;         /* augur: scored steps after which its
                                         * forecaster had a forecast (a
                                         * period); 0 for the others        */
} AugurIoReplayScore;

typedef struct {
        AugurIoReplayPolicy policy;
        gint64 step_s;
        AugurIoReplayScore all;
        AugurIoReplayScore kind[AUGUR_IO_KIND_N];
        guint n_families;
        struct {
                const char *name;       /* interned                          */
                AugurIoReplayScore s;
        } family[AUGUR_IO_REPLAY_MAX_FAMILIES];
        double budget_bps;              /* the host budget (0 = none)        */
        double budget_mib;              /* budget x the scored host time, MiB */
        double peak_raise_bps;          /* largest sum of raises in force at
                                         * one step, bytes/s (every step)   */
        guint64 over_budget_steps;      /* steps whose raises passed the
                                         * budget (by more than the planner's
                                         * 1 B/s per limit): should be 0    */
        guint64 floor_breaches;         /* limit-steps below the floor or
                                         * above the ceiling: should be 0   */
} AugurIoReplayResult;

typedef struct AugurIoReplay AugurIoReplay;

/* (transfer full) a replay of series (AugurSeries*, not consumed) on a grid
 * of step_s: one limit per VM and kind of cfg->kinds whose columns the
 * series has; the caps (floor, ceiling, budget) are fixed here from the
 * training part.  Returns NULL with AUGUR_REPLAY_ERROR_NO_DATA when no
 * series has an I/O column of those kinds. */
AugurIoReplay *augur_io_replay_new (const GPtrArray *series, gint64 step_s, const AugurIoReplayConfig *cfg,
                                    GError **error);
void augur_io_replay_free (AugurIoReplay *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurIoReplay, augur_io_replay_free)

guint augur_io_replay_n_limits (const AugurIoReplay *r);

/* Family labels: CSV with a header naming `vm` and `family` (other columns
 * ignored); results are also counted per family, the first
 * AUGUR_IO_REPLAY_MAX_FAMILIES - 1 labels apart and the rest as "other".
 * Unknown VMs are ignored.  FALSE with AUGUR_REPLAY_ERROR_IO on an
 * unreadable file, a header without vm/family or a short row. */
gboolean augur_io_replay_load_families (AugurIoReplay *r, const char *path, GError **error);

/* One limit-step: the limit in force during the step at ts and what the
 * guest did under it (bytes/s; demand NAN = missing). */
typedef void (*AugurIoReplayRowFunc) (const char *vm, AugurIoKind kind, gint64 ts, double demand_bps,
                                      double served_bps, double limit_bps, double floor_bps,
                                      double ceiling_bps, gpointer user_data);

/* Run policy p over every limit (all VMs step together, one host budget);
 * fill *ret.  row_func (may be NULL) gets every limit-step. */
void augur_io_replay_run (AugurIoReplay *r, AugurIoReplayPolicy p, AugurIoReplayResult *ret,
                          AugurIoReplayRowFunc row_func, gpointer user_data);
