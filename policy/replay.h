/* replay.h — closed-loop replay of VM traces through the daemon's policy:
 * what augur (or a reference policy) would have allocated, step by step,
 * and how short or wasteful that allocation was.  Design: replay.c.
 *
 * What it is: simulated actuation over recorded usage.  The trace does not
 * react to the allocation (a short guest in a trace does not swap), so the
 * forecasts are computed once per trace and only the policy is re-run when
 * a knob changes.  What it is not: the decision core (policy/: the plan,
 * the memory guard; called directly, the same code augurd runs) or the
 * forecaster (predictor.h).
 *
 * Ownership: an AugurReplay copies what it needs from the series (it keeps
 * them resampled on its own grid) and borrows the predictor only during
 * augur_replay_new().
 */
#pragma once

#include <glib.h>
#include "predictor.h"
#include "precursor.h"
#include "policy.h"

#define AUGUR_REPLAY_ERROR (augur_replay_error_quark ())
GQuark augur_replay_error_quark (void);
typedef enum {
        AUGUR_REPLAY_ERROR_NO_DATA,     /* no VM with memory usage to score  */
        AUGUR_REPLAY_ERROR_INVAL,       /* bad option                        */
        AUGUR_REPLAY_ERROR_IO,          /* spikes file unreadable / bad      */
        AUGUR_REPLAY_ERROR_TARGET,      /* slack target out of reach         */
} AugurReplayError;

typedef enum {
        AUGUR_REPLAY_AUGUR = 0,         /* forecast + augur_policy_plan()    */
        AUGUR_REPLAY_REACTIVE,          /* last used x (1 + h)               */
        AUGUR_REPLAY_VPA,               /* p90 of a decaying histogram x (1 + h) */
        AUGUR_REPLAY_STATIC,            /* provisioned, no knob              */
        AUGUR_REPLAY_N,
} AugurReplayPolicy;

const char *augur_replay_policy_name (AugurReplayPolicy p);
gboolean augur_replay_policy_from_name (const char *name, AugurReplayPolicy *ret, GError **error);

typedef struct {
        AugurReplayPolicy policy;
        AugurPolicyConfig pcfg;                 /* replay defaults: see
                                                 * augur_replay_config_init() */
        double knob;                            /* buffer (augur), h (reactive,
                                                 * vpa); ignored for static   */
        double score_from, score_to;            /* scored part of each VM's
                                                 * span, fractions [from, to) */
        gboolean simulate_pressure;             /* used > alloc at t: the guest
                                                 * shows pressure at t        */
        double vpa_halflife_s;                  /* histogram half-life (24 h) */
        double vpa_percentile;                  /* 0.9                        */
        double vpa_oom_ratio;                   /* OOM bump: x 1.2 ...        */
        double vpa_oom_min_kib;                 /* ... or + 100 MiB, larger   */
        gboolean guard;                         /* augur: the memory guard
                                                 * (policy/mem-guard.h), as
                                                 * augurd runs it (TRUE)      */
        double host_slack;                      /* the guard's g in [0, 1]
                                                 * (mem-guard.h rule 3): 0 = a
                                                 * host under pressure, the
                                                 * cushion is the envelope;
                                                 * 1 = an idle host (0)       */
} AugurReplayConfig;

/* Defaults for a replay at step_s: the daemon's policy defaults with
 * headroom and reserve 0 (the knob carries the whole buffer), the shrink
 * step scaled from the daemon's 5 s tick to step_s (the same KiB/s), the
 * other time constants unchanged (they are in seconds); knob = 1 for
 * augur, 0.15 (VPA's default) for vpa, 0.2 for reactive; score the last
 * 20 %; pressure simulated; VPA 24 h half-life, p90, OOM bump 1.2 x or
 * 100 MiB; the memory guard on at host slack 0. */
void augur_replay_config_init (AugurReplayConfig *cfg, AugurReplayPolicy policy, gint64 step_s);

#define AUGUR_REPLAY_MAX_KINDS 8       /* spike kinds counted apart; the rest
                                         * count as "other"                  */

typedef struct {
        AugurReplayPolicy policy;
        double knob;
        gboolean guard;                 /* the memory guard ran (augur)      */
        double host_slack;              /* its g; NAN without the guard      */
        guint64 steps;                  /* scored steps with mem_used_kib    */
        double slack;                   /* sum(alloc - used) / sum used      */
        double shortfall_frac;          /* share of steps with used > alloc  */
        double shortfall_volume;        /* sum max(0, used - alloc) / sum used */
        guint64 cpu_steps;              /* scored steps with cores used      */
        double cpu_shortfall_frac;      /* share with cores used > vcpus     */
        guint64 actions;                /* allocation changes in force at a
                                         * scored step (memory + vCPUs)     */
        guint64 mem_actions, cpu_actions;
        guint64 vms;                    /* VMs with at least one scored step */
        /* --spikes: onsets in the scored range with usage at the onset */
        guint64 spikes;                 /* counted onsets                    */
        guint64 spikes_ok;              /* alloc >= used at onset, +1, +2    */
        guint64 spikes_precursor, spikes_precursor_ok;  /* flagged ones      */
        guint64 spikes_cpu_ok;          /* vcpus >= cores used, same steps   */
        /* per `kind` of the spikes file, in order of first appearance */
        guint n_kinds;
        struct {
                const char *name;       /* interned                          */
                guint64 spikes, ok;
        } kinds[AUGUR_REPLAY_MAX_KINDS];
        /* augur: scored steps served by each slow-path source (memory),
         * and how often the fast path / the gated model (champion.c
         * MODEL GATE) raised the memory bound. */
        guint64 served[AUGUR_PRED_SRC_N + 1];
        guint64 fast_raised;
        guint64 model_raised;
        guint64 precursor_raised[AUGUR_PREC_N]; /* by each context (precursor.c) */
        /* augur with the guard (replay.c GUARD), at scored steps: */
        guint64 guard_events;           /* out-of-memory events raised       */
        guint64 guard_held_steps;       /* decisions made under a hold       */
        guint64 guard_grows;            /* decisions that grew the allocation
                                         * for the cushion or the hold       */
} AugurReplayResult;

typedef struct AugurReplay AugurReplay;

/* (transfer full) a replay of series (AugurSeries*, not consumed) on a grid
 * of step_s (every series is resampled with augur_dataset_resample).  When
 * pred is given (policy augur), its forecasts are computed here, once: all
 * VMs advance together in timestamp order (ties by VM order), so the
 * online calibration shared across VMs only ever sees the past, as in the
 * daemon.  pred is borrowed for this call only.  Fails with
 * AUGUR_REPLAY_ERROR_NO_DATA when no series has memory usage. */
AugurReplay *augur_replay_new (const GPtrArray *series, gint64 step_s, AugurPredictor *pred,
                               GError **error);
void augur_replay_free (AugurReplay *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurReplay, augur_replay_free)

gint64 augur_replay_step_s (const AugurReplay *r);
guint augur_replay_n_vms (const AugurReplay *r);

/* Ground-truth spike onsets: CSV with a header naming at least `vm` and
 * `onset_ts` (unix s), optionally `precursor` (0/1) and `kind` (a label:
 * results are also counted per kind, the first AUGUR_REPLAY_MAX_KINDS - 1
 * labels apart and the rest as "other"); other columns are ignored.  Onsets of VMs not in the replay, or after a VM's last step,
 * are ignored (counted in *ret_ignored when not NULL).  Fails with
 * AUGUR_REPLAY_ERROR_IO (and loads nothing usable) on an unreadable or
 * empty file, a header without vm/onset_ts, a row with a missing field, an
 * onset_ts that is not a non-negative integer, a precursor other than
 * 0/1, or a kind that is not a label ([A-Za-z0-9_-], at most 32). */
gboolean augur_replay_load_spikes (AugurReplay *r, const char *path, guint *ret_ignored,
                                   GError **error);

/* One allocation row: in force during the step at ts. */
typedef void (*AugurReplayRowFunc) (const char *vm, gint64 ts, double mem_alloc_kib,
                                    int vcpus, gpointer user_data);

/* Run the policy of cfg over every VM with knob cfg->knob; fill *ret.
 * row_func (may be NULL) gets every step from each VM's second step on. */
void augur_replay_run (AugurReplay *r, const AugurReplayConfig *cfg, AugurReplayResult *ret,
                       AugurReplayRowFunc row_func, gpointer user_data);

/* How the memory upper bound the policy reads (horizon 1, the replay's
 * lead) met the usage at the scored steps: pooled, per VM volatility
 * decile and at the steps that follow a rise (replay.c BOUND STATISTICS).
 * Widths are means of upper - p50, in percent points of the provisioned
 * size. */
#define AUGUR_REPLAY_DECILES 10

typedef struct {
        guint64 n;                      /* scored steps with a bound          */
        guint64 covered;                /* ... with used <= upper             */
        double width_pts;               /* mean upper - p50                   */
} AugurReplayCover;

typedef struct {
        AugurReplayCover all;
        AugurReplayCover decile[AUGUR_REPLAY_DECILES]; /* VMs ranked by their
                                                        * volatility, calm first */
        double decile_vol_pts[AUGUR_REPLAY_DECILES];   /* mean |used_t - used_t-1|
                                                        * of its VMs, points  */
        AugurReplayCover rise;          /* steps whose usage rose by at least
                                         * rise_pts over the step before      */
        double rise_pts;
} AugurReplayBoundStats;

/* Fill *ret for the augur policy's stored forecasts over the steps cfg
 * scores (zeros without forecasts). */
void augur_replay_bound_stats (const AugurReplay *r, const AugurReplayConfig *cfg, double rise_pts,
                               AugurReplayBoundStats *ret);

/* FOR A SECOND MODEL over the same grid and the same stored forecasts
 * (policy/replay-cpu.h, the contended host): VM vm's step count, with its
 * timestamps, cores used (NAN = none) and provisioned cores (borrowed, n
 * each); and the CPU demand the vCPU decisions plan for at step i
 * (augur_policy_cpu_demand() on the stored forecast with pc and buffer;
 * NAN without one). */
gsize augur_replay_vm_steps (const AugurReplay *r, guint vm, const char **ret_name, const gint64 **ret_ts,
                             const float **ret_cores_used, const float **ret_cores);
double augur_replay_cpu_demand (const AugurReplay *r, guint vm, gsize i, const AugurPolicyConfig *pc,
                                double buffer);

/* Find the knob whose slack is within tol of target by bisection (slack
 * grows with the knob); cfg->knob is set to it and *ret is its result.
 * Returns FALSE with AUGUR_REPLAY_ERROR_TARGET when the target lies outside
 * what the knob can reach (ret then holds the closest end), and
 * AUGUR_REPLAY_ERROR_INVAL for the static policy. */
gboolean augur_replay_tune (AugurReplay *r, AugurReplayConfig *cfg, double target, double tol,
                            AugurReplayResult *ret, GError **error);
