/* train.h — training a forecaster: from a prepared dataset (dataset.h) to
 * an AugurModel (forecast.h), its baselines and global conformal margins
 * included.  Design: train.c.
 *
 * What it is not: the NN arithmetic (nn.h), the scoring (eval.h), the file
 * (model-file.h), or the callers: `virt-augur train`
 * (virsh-ext/cmd-model.c) and augurd's retraining worker (plugin/retrain.c).
 *
 * Ownership: augur_forecast_train() returns a new model (transfer full) and
 * only reads the dataset; the progress callback runs on the caller's
 * thread, once per epoch.
 */
#pragma once

#include <glib.h>
#include "forecast.h"
#include "dataset.h"

typedef struct {
        AugurArch arch;              /* transformer (default) | gru | lstm   */
        guint hidden;                /* hidden units (default 48); the
                                      * transformer's width D              */
        guint layers;                /* transformer blocks (default 1)       */
        guint heads;                 /* transformer heads (default 2)        */
        guint H;                     /* horizons 1..H (default 12)           */
        guint T;                     /* window length, steps (default 12)    */
        gint64 step_s;               /* grid step, s (default 300)           */
        guint epochs;                /* max epochs (default 200)             */
        guint patience;              /* early stop after N worse epochs (8)  */
        guint batch;                 /* minibatch size (default 128)         */
        guint windows_per_epoch;     /* train windows sampled per epoch (0 = all) */
        guint val_windows;           /* val windows for early stopping (0 = all) */
        float lr;                    /* Adam learning rate (default 0.003)   */
        float quantile;              /* upper head quantile (default 0.95)   */
        float coverage;              /* conformal target coverage (0.95)     */
        AugurPointLoss point_loss;   /* point head loss (default MAE)        */
        guint64 seed;                /* everything random derives from it    */
        guint nets;                  /* networks averaged, seeds seed, seed
                                      * + 1, ... (forecast.h ENSEMBLE;
                                      * default 3, 1..AUGUR_MODEL_MAX_NETS) */
        AugurSplitMode split;        /* time (default) | vm                  */
        gboolean no_activity;        /* drop the activity and bucket groups  */
        gboolean no_buckets;         /* drop the bucket group only           */
        guint onset_weight;          /* a training window whose memory rises
                                      * >= AUGUR_ONSET_RISE_PCT points within
                                      * 3 steps is sampled this many times
                                      * as often (default 1 = plain)        */
        double time_budget_s;        /* stop training after this, s (default
                                      * 240, shared equally by the networks;
                                      * 0 = none)                            */
        const gint *cancel;          /* stop after the epoch when *cancel != 0
                                      * (read atomically; NULL = never): the
                                      * daemon's retrain worker at shutdown  */
} AugurTrainConfig;

#define AUGUR_ONSET_RISE_PCT 5.0f

void augur_train_config_init (AugurTrainConfig *cfg);

typedef struct {
        guint net, nets;             /* network 1..nets being trained        */
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
