/* dataset.h — from raw series to what training and evaluation consume:
 * series on a fixed step grid, per-VM feature matrices, targets, splits and
 * the window rule (no window spans a gap).  Design notes in dataset.c.
 *
 * What it is not: the NN (nn.h), the baselines (baselines.h), training
 * (train.h) or the scoring (eval.h).
 */
#pragma once

#include <glib.h>
#include "series.h"
#include "augur-features.h"

/* ------------------------------------------------------------ resample */

typedef struct {
        guint64 series;          /* series resampled                        */
        guint64 samples_in;      /* source rows                             */
        guint64 steps_out;       /* grid steps produced                     */
        guint64 steps_empty;     /* grid steps with no sample (missing)     */
        guint64 samples_merged;  /* samples averaged into a shared step     */
        guint64 series_binned;   /* series sampled faster than the step     */
} AugurResampleStats;

/* Put s on a step_s grid (see dataset.c RESAMPLING).  Returns (transfer
 * full) a series whose ts[k] = ts0 + k * step_s, k = 0..n-1, with NAN where
 * no sample fell; same present columns as s.  stats may be NULL (it is
 * accumulated into, not reset). */
AugurSeries *augur_dataset_resample (const AugurSeries *s, gint64 step_s,
                                     AugurResampleStats *stats);

/* ------------------------------------------------------------- targets */

typedef enum {
        AUGUR_TARGET_CPU_PCT = 0,   /* percent, acted on                     */
        AUGUR_TARGET_MEM_PCT,       /* percent, acted on                     */
        AUGUR_TARGET_DISK_KIBPS,    /* disk rd + wr KiB/s, reported only     */
        AUGUR_TARGET_NET_KIBPS,     /* net rx + tx KiB/s, reported only      */
        AUGUR_TARGET_N,
} AugurTarget;

const char *augur_target_name (AugurTarget t);   /* "cpu_pct", ... */
AugurSig augur_target_sig (AugurTarget t);

/* -------------------------------------------------------------- splits */

typedef enum {
        AUGUR_SPLIT_TRAIN = 0,
        AUGUR_SPLIT_VAL,
        AUGUR_SPLIT_TEST,
        AUGUR_SPLIT_N,
} AugurSplit;

typedef enum {
        AUGUR_SPLIT_BY_TIME = 0,   /* per VM: last 20 % test, 20 % before val */
        AUGUR_SPLIT_BY_VM,         /* whole VMs held out (hash of the name)   */
} AugurSplitMode;

#define AUGUR_SPLIT_TEST_FRAC 0.2
#define AUGUR_SPLIT_VAL_FRAC  0.2

/* ----------------------------------------------------------- VM data */

/* One VM ready for windows.  Arrays are indexed by grid step k (0..n-1). */
typedef struct {
        AugurSeries *grid;           /* owned; on the step grid             */
        gsize n;                     /* grid steps                          */
        guint F;                     /* features per step                   */
        float *feat;                 /* (n, F) feature vectors              */
        guint8 *valid;               /* (n) feature vector usable           */
        guint8 *observed;            /* (n) cpu or mem observed at k        */
        guint32 *seg;                /* (n) segment id                      */
        float *held;                 /* (n, AUGUR_SIG_N) held signal values */
        float *y;                    /* (AUGUR_TARGET_N, n) raw target value
                                      * at k (NAN = missing)                */
        guint8 *split;               /* (n) AugurSplit of step k            */
        gsize split_start[AUGUR_SPLIT_N]; /* split s = steps [start, end);    */
        gsize split_end[AUGUR_SPLIT_N];   /* empty (n, n) when absent        */
} AugurVmData;

void augur_vm_data_free (AugurVmData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurVmData, augur_vm_data_free)

/* Split boundaries of one VM's grid: by time, train = [0, a), val = [a, b),
 * test = [b, n) with b = n - round(0.2 n), a = b - round(0.2 n).  By VM the
 * whole VM goes to one split (augur_dataset_vm_split()). */
void augur_dataset_time_split (gsize n, gsize *ret_val_start, gsize *ret_test_start);
/* Split of a whole VM for --split vm: FNV-1a of the name mod 10:
 * 0-1 test, 2-3 val, 4-9 train (stable, independent of file order). */
AugurSplit augur_dataset_vm_split (const char *vm);

/* Build a VM's data from a grid series (takes ownership of grid). */
AugurVmData *augur_vm_data_build (AugurSeries *grid, const AugurFeatConfig *cfg,
                                  AugurSplitMode mode);

/* Is (origin k, horizon h) a usable forecast point?  The origin must be an
 * observed, valid step whose window of T steps lies in one segment (age
 * >= T - 1), and k + h must lie in the same segment, with no gap between.
 * The target value itself may still be NAN (masked). */
gboolean augur_vm_data_window_ok (const AugurVmData *d, gsize k, guint T, guint h);

/* ------------------------------------------------------------- dataset */

typedef struct {
        GPtrArray *vms;                 /* AugurVmData* (owned)              */
        AugurFeatConfig feat;           /* config the features were built with */
        AugurResampleStats resample;
} AugurDataset;

/* Can ds be scored with windows of T steps, H steps ahead, on split sp?
 * Two bounds, each over the best VM (gaps not counted: an upper bound):
 *   window   some VM's history has at least T steps;
 *   horizon  some VM's split sp has more than H steps (a point needs its
 *            origin and its target k + h inside sp).
 * FALSE with AUGUR_FORECAST_ERROR_INVAL naming the numbers when a bound
 * fails.  ret_short (may be NULL) is set in both cases to the number of
 * VMs whose history is shorter than T: the NN skips them, the baselines
 * still forecast them. */
gboolean augur_dataset_check_shape (const AugurDataset *ds, guint T, guint H, AugurSplit sp,
                                    guint *ret_short, GError **error);
const char *augur_split_name (AugurSplit sp);   /* "training", "validation", "test" */
/* The most steps any VM of ds has in split sp (0 without VMs); ret_vm (may
 * be NULL) is set to that VM's name, borrowed from ds, or "" . */
gsize augur_dataset_longest_split (const AugurDataset *ds, AugurSplit sp, const char **ret_vm);

void augur_dataset_free (AugurDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurDataset, augur_dataset_free)

/* Resample series (AugurSeries*, not consumed) to feat->step_s and build
 * features.  When fit_norm, the global norm is fitted on the training
 * split first (training); otherwise feat->norm is used as is (eval with a
 * model).  groups: when fit_norm, groups absent from every series are
 * dropped from feat->groups. */
AugurDataset *augur_dataset_prepare (const GPtrArray *series, AugurFeatConfig *feat,
                                     AugurSplitMode split, gboolean fit_norm);
