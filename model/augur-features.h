/* augur-features.h — the forecaster's input vector, one per step, built
 * incrementally (daemon, one call per step) or in batch (training); both
 * paths run the same update code, so they produce the same bits.
 *
 * What it is: signal derivation (mem_pct, disk/net sums), normalisation,
 * rolling windows, calendar terms, activity recency, hashed program / user
 * buckets (common/buckets.h).  The full design
 * (feature list, windows, units, normalisation, gap rule) is the comment at
 * the top of features.c.  What it is not: a resampler (dataset.h puts the
 * series on the step grid first) or a model.
 */
#pragma once

#include <glib.h>
#include "series.h"

/* Derived signals the features and the targets are built from.
 * The transform column says what the global norm is computed on. */
typedef enum {
        AUGUR_SIG_CPU = 0,     /* cpu_pct, percent                 identity */
        AUGUR_SIG_MEM,         /* mem_pct = 100*used/prov, percent identity */
        AUGUR_SIG_DISK,        /* disk_rd + disk_wr, KiB/s         log1p    */
        AUGUR_SIG_NET,         /* net_rx + net_tx, KiB/s           log1p    */
        AUGUR_SIG_INPUT,       /* input_events_per_min             log1p    */
        AUGUR_SIG_SESSIONS,    /* sessions                          log1p    */
        AUGUR_SIG_PROC,        /* proc_starts_per_min              log1p    */
        AUGUR_SIG_LOAD,        /* host_load1                        log1p    */
        AUGUR_SIG_PSI_CPU,     /* host_psi_cpu, percent            identity */
        AUGUR_SIG_PSI_MEM,     /* host_psi_mem, percent            identity */
        AUGUR_SIG_PSI_IO,      /* host_psi_io, percent             identity */
        AUGUR_SIG_N,
} AugurSig;

const char *augur_sig_name (AugurSig s);

/* Feature groups; a model records the mask it was trained with. */
typedef enum {
        AUGUR_FEAT_GROUP_CORE     = 1 << 0,  /* cpu, mem: always on            */
        AUGUR_FEAT_GROUP_TIME     = 1 << 1,  /* time of day / week sin, cos    */
        AUGUR_FEAT_GROUP_IO       = 1 << 2,  /* disk, net                       */
        AUGUR_FEAT_GROUP_HOST     = 1 << 3,  /* host load1, PSI                 */
        AUGUR_FEAT_GROUP_ACTIVITY = 1 << 4,  /* input events, sessions, procs   */
        AUGUR_FEAT_GROUP_BUCKETS  = 1 << 5,  /* hashed program / user buckets   */
        AUGUR_FEAT_GROUP_RECENCY  = 1 << 6,  /* steps since each activity burst */
        AUGUR_FEAT_GROUP_DAY      = 1 << 7,  /* cpu, mem: hourly means of a day */
} AugurFeatGroup;
/* The default set (what `train` uses unless told otherwise); RECENCY and
 * DAY are opt-in (`train --recency`, `train --day`).  KNOWN: every group this build computes. */
#define AUGUR_FEAT_GROUPS_ALL 0x3fu
#define AUGUR_FEAT_GROUPS_KNOWN 0xffu

/* Global normalisation, computed on the training split and stored in the
 * model file.  mean/sd are in the transformed space (see AugurSig). */
typedef struct {
        float mean[AUGUR_SIG_N];
        float sd[AUGUR_SIG_N];     /* > 0 (floored at AUGUR_FEAT_SD_FLOOR)  */
} AugurFeatNorm;
#define AUGUR_FEAT_SD_FLOOR 1e-3f

typedef struct {
        gint64 step_s;             /* grid step, s (default 300)            */
        guint groups;              /* AugurFeatGroup mask; CORE forced on   */
        guint max_fill_steps;      /* missing steps held before a reset     */
        AugurFeatNorm norm;
} AugurFeatConfig;

#define AUGUR_FEAT_DEFAULT_STEP_S     300
#define AUGUR_FEAT_DEFAULT_MAX_FILL   2    /* 10 min at 300 s: longer = gap */
#define AUGUR_FEAT_MAX              128    /* upper bound on F (123 today)  */

/* Defaults: step 300 s, all groups, max fill 2, norm mean 0 / sd 1. */
void augur_features_config_init (AugurFeatConfig *cfg);

/* Number of features F for a group mask, and the name of feature k. */
guint augur_features_count (guint groups);
const char *augur_features_name (guint groups, guint k);

/* One step of raw input: the sample at grid time ts (unix s) in trace
 * units; NAN = missing, and a column the source never has is NAN too. */
typedef struct {
        gint64 ts;
        float v[AUGUR_COL_N];
} AugurFeatSample;

/* Fill s from row i of a series (absent columns → NAN). */
void augur_features_sample_from_series (AugurFeatSample *s, const AugurSeries *series, gsize i);
/* Signal value (not transformed) of a sample; NAN when missing. */
float augur_features_signal (const AugurFeatSample *s, AugurSig sig);

typedef struct AugurFeatState AugurFeatState;

/* (transfer full) per-VM state; copies cfg.  All memory is allocated here:
 * augur_features_update() never allocates. */
AugurFeatState *augur_features_state_new (const AugurFeatConfig *cfg);
void augur_features_state_free (AugurFeatState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurFeatState, augur_features_state_free)
void augur_features_state_reset (AugurFeatState *st);

/* Advance the state to sample x (x->ts must be later than the previous
 * sample's; skipped steps count as missing).  Writes the F-vector of this
 * step to ret_vec (F floats, each clamped to [-16, 16]) when the step is
 * usable and returns TRUE.  Returns FALSE (ret_vec untouched) when the state
 * has no observation yet or sits inside a gap (more than max_fill_steps
 * missing steps in a row; the state resets at the next observation).
 * Complexity O(F + window lengths) per call, no allocation. */
gboolean augur_features_update (AugurFeatState *st, const AugurFeatSample *x, float *ret_vec);

/* Steps since the last reset (0 = first observation of a segment); valid
 * after a TRUE update.  Windows need age >= T - 1. */
guint augur_features_state_age (const AugurFeatState *st);
/* Latest held (last observed) value of a signal, NAN if never observed in
 * this segment.  The forecaster predicts changes relative to it. */
float augur_features_state_held (const AugurFeatState *st, AugurSig sig);
/* Segment counter: increments on every reset (gap). */
guint augur_features_state_segment (const AugurFeatState *st);

/* Batch path for training: run the update over every row of a series that
 * is already on the cfg->step_s grid (dataset.h).
 *   ret_feat  (n, F) row-major; rows of unusable steps are zero
 *   ret_valid (n)    1 = usable step
 *   ret_seg   (n)    segment id per step (meaningful where valid)
 *   ret_held  (n, AUGUR_SIG_N) held signal values (NAN when none)
 * Any out pointer may be NULL.  Arrays are caller-allocated. */
void augur_features_batch (const AugurFeatConfig *cfg, const AugurSeries *grid,
                           float *ret_feat, guint8 *ret_valid, guint32 *ret_seg,
                           float *ret_held);

/* Global norm over rows [from, to) of every grid in grids (AugurSeries*),
 * with to[i] / from[i] per grid (NULL = whole series). */
void augur_features_norm_fit (AugurFeatNorm *ret_norm, const GPtrArray *grids,
                              const gsize *from, const gsize *to);
