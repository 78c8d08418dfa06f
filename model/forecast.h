/* forecast.h — training and evaluation glue: datasets of windows, the NN
 * (nn.h, nn-q.h) with its heads, the baselines on the same points,
 * conformal calibration, metrics, and the model file's metadata (blob.h
 * user section).  Design: forecast.c.
 *
 * What it is not: the NN itself (nn.c), the features (features.c) or the
 * CLI (virsh-ext/cmd-model.c), which only parses options and prints.
 */
#pragma once

#include <glib.h>
#include "nn.h"
#include "nn-q.h"
#include "augur-features.h"
#include "dataset.h"
#include "baselines.h"

#define AUGUR_FORECAST_ERROR (augur_forecast_error_quark ())
GQuark augur_forecast_error_quark (void);
typedef enum {
        AUGUR_FORECAST_ERROR_NO_DATA,    /* no usable window in a split       */
        AUGUR_FORECAST_ERROR_MODEL,      /* model file metadata missing/bad   */
        AUGUR_FORECAST_ERROR_MISMATCH,   /* model features unknown to this build */
        AUGUR_FORECAST_ERROR_INVAL,      /* bad option                        */
} AugurForecastError;

typedef enum {
        AUGUR_POINT_LOSS_MSE = 0,        /* mean head trained on squared error */
        AUGUR_POINT_LOSS_MAE,            /* median head: pinball at 0.5 (= MAE/2) */
} AugurPointLoss;

/* Heads per target: point and upper quantile; outputs per horizon. */
#define AUGUR_FORECAST_HEADS 2
#define AUGUR_FORECAST_MAX_H AUGUR_BL_MAX_H

typedef struct {
        AugurArch arch;              /* gru (default) | lstm                 */
        guint hidden;                /* hidden units (default 48)            */
        guint H;                     /* horizons 1..H (default 12)           */
        guint T;                     /* window length, steps (default 12)    */
        gint64 step_s;               /* grid step, s (default 300)           */
        guint epochs;                /* max epochs (default 24)              */
        guint patience;              /* early stop after N worse epochs (3)  */
        guint batch;                 /* minibatch size (default 128)         */
        guint windows_per_epoch;     /* train windows sampled per epoch (0 = all) */
        guint val_windows;           /* val windows for early stopping (0 = all) */
        float lr;                    /* Adam learning rate (default 0.003)   */
        float quantile;              /* upper head quantile (default 0.95)   */
        float coverage;              /* conformal target coverage (0.95)     */
        AugurPointLoss point_loss;   /* point head loss (default MSE)        */
        guint64 seed;                /* everything random derives from it    */
        AugurSplitMode split;        /* time (default) | vm                  */
        gboolean no_activity;        /* drop the activity and bucket groups  */
        gboolean no_buckets;         /* drop the bucket group only           */
        guint onset_weight;          /* a training window whose memory rises
                                      * >= AUGUR_ONSET_RISE_PCT points within
                                      * 3 steps is sampled this many times
                                      * as often (default 1 = plain)        */
        double time_budget_s;        /* stop training after this (0 = none)  */
        const gint *cancel;          /* stop after the epoch when *cancel != 0
                                      * (read atomically; NULL = never): the
                                      * daemon's retrain worker at shutdown  */
} AugurTrainConfig;

#define AUGUR_ONSET_RISE_PCT 5.0f

void augur_train_config_init (AugurTrainConfig *cfg);

/* Everything a trained model is: weights and the metadata section. */
typedef struct {
        AugurNN *nn;                              /* float master            */
        AugurNNQ *nnq;                            /* fixed-point copy        */
        AugurFeatConfig feat;                     /* step, groups, norm      */
        guint F;                                  /* inputs per step         */
        guint H, T;
        float quantile, coverage;
        AugurPointLoss point_loss;
        AugurSplitMode split;                     /* how it was trained      */
        float target_scale[AUGUR_TARGET_N];       /* NN output unit per target (u space) */
        float nn_margin[2][AUGUR_TARGET_N][AUGUR_FORECAST_MAX_H];  /* [float,int][target][h-1] global conformal */
        AugurBaselineParams bl[AUGUR_TARGET_N];   /* fitted baselines        */
        float bl_margin[AUGUR_TARGET_N][AUGUR_BL_N][AUGUR_FORECAST_MAX_H];
        double train_seconds;                     /* wall time of training   */
        guint epochs_run, best_epoch;
} AugurModel;

void augur_model_free (AugurModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurModel, augur_model_free)

/* NN output index of (target, head, horizon h = 1..H). */
static inline guint
augur_model_out_index (guint H, AugurTarget t, guint head, guint h)
{
        return ((guint) t * AUGUR_FORECAST_HEADS + head) * H + (h - 1);
}

gboolean augur_model_save (const AugurModel *m, const char *path, GError **error);
AugurModel *augur_model_load (const char *path, GError **error);

/* ---------------------------------------------------------------- data */

typedef struct {
        GPtrArray *vms;                 /* AugurVmData* (owned)              */
        AugurFeatConfig feat;           /* config the features were built with */
        AugurResampleStats resample;
} AugurDataset;

void augur_dataset_free (AugurDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurDataset, augur_dataset_free)

/* Resample series (AugurSeries*, not consumed) to feat->step_s and build
 * features.  When fit_norm, the global norm is fitted on the training
 * split first (training); otherwise feat->norm is used as is (eval with a
 * model).  groups: when fit_norm, groups absent from every series are
 * dropped from feat->groups. */
AugurDataset *augur_dataset_prepare (const GPtrArray *series, AugurFeatConfig *feat,
                                     AugurSplitMode split, gboolean fit_norm);

/* -------------------------------------------------------------- train */

typedef struct {
        guint epoch, epochs;
        float train_loss, val_loss;
        gboolean improved;
        double elapsed_s, eta_s;
} AugurTrainProgress;

typedef void (*AugurTrainProgressFunc) (const AugurTrainProgress *p, gpointer user_data);

/* Train a model on ds (built by augur_dataset_prepare with fit_norm).
 * Also fits the baselines and the global conformal margins on validation.
 * Returns (transfer full) the model or NULL with error. */
AugurModel *augur_forecast_train (const AugurDataset *ds, const AugurTrainConfig *cfg,
                                  AugurTrainProgressFunc progress, gpointer user_data,
                                  GError **error);

/* --------------------------------------------------------------- eval */

#define AUGUR_EVAL_MAX_MODELS (2 + AUGUR_BL_N)

typedef struct {
        AugurTarget target;
        guint h;
        char model[32];                 /* "lstm_float", "ridge_ar", ...    */
        guint64 n;
        double mae, rmse, r2, coverage;
} AugurEvalRow;

typedef struct {
        float coverage;                 /* target coverage (0.95)           */
        gboolean online_calib;          /* add test scores as targets arrive */
        guint T;                        /* window for the common point set
                                         * when no model (default 12)       */
        guint H;                        /* horizons when no model (12)       */
        gboolean on_validation;         /* score the validation split instead
                                         * (for tuning; calibrates on the
                                         * training steps just before it)   */
} AugurEvalConfig;

void augur_eval_config_init (AugurEvalConfig *cfg);

/* Score model (may be NULL: baselines only) and the baselines on the test
 * split of ds, on identical points.  Returns (transfer full) GArray of
 * AugurEvalRow for every target with data, every horizon 1..H, every model. */
GArray *augur_forecast_eval (const AugurModel *model, const AugurDataset *ds,
                             const AugurEvalConfig *cfg, GError **error);

/* ------------------------------------------------------------ runtime */

/* The daemon side: one AugurNetForecasterVm per guest, fed one sample per
 * step (the step mean, on the model's step_s grid; a missed tick is simply
 * not fed).  Per step it updates the features, runs the fixed-point net
 * over the last T vectors, adds the conformal margin (global from the
 * model file, then the VM's own as its targets arrive), and keeps the
 * online baselines (served instead of the net when the caller decides the
 * net underperforms).  No allocation after augur_net_forecaster_vm_new(). */
typedef struct {
        gint64 ts;                                             /* origin, unix s        */
        gboolean nn_ok;                                        /* net forecast valid    */
        guint H;
        float point[AUGUR_TARGET_N][AUGUR_FORECAST_MAX_H];     /* net, NAN = unknown    */
        float upper[AUGUR_TARGET_N][AUGUR_FORECAST_MAX_H];     /* net + conformal margin */
        float bl_point[AUGUR_BL_N][AUGUR_TARGET_N][AUGUR_FORECAST_MAX_H]; /* baselines */
        float bl_upper[AUGUR_BL_N][AUGUR_TARGET_N][AUGUR_FORECAST_MAX_H]; /* + global margin */
} AugurNetForecast;

typedef struct AugurNetForecasterVm AugurNetForecasterVm;

/* (transfer full); m must outlive the returned state. */
AugurNetForecasterVm *augur_net_forecaster_vm_new (const AugurModel *m, const char *vm);
void augur_net_forecaster_vm_free (AugurNetForecasterVm *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurNetForecasterVm, augur_net_forecaster_vm_free)

/* Feed the sample of one step and forecast from it.  Returns FALSE (and
 * leaves *ret untouched) when the sample is ignored (not later than the
 * previous one) or the VM sits in a gap; TRUE otherwise, with nn_ok FALSE
 * while fewer than T steps of the current segment exist (baselines are
 * still filled where they can be). */
gboolean augur_net_forecaster_vm_step (AugurNetForecasterVm *v, const AugurFeatSample *x,
                                   AugurNetForecast *ret);
