/* eval.h — scoring a forecaster and the baselines on identical points
 * (`virt-augur eval`, augurd's held-out check before it promotes a retrained
 * model), and the conformal calibration that training ends with, which
 * runs the same sweep.  Design: eval.c.
 *
 * What it is not: training (train.h) or the online scoring of a served
 * model (predictor.h keeps per-VM trackers as targets arrive).
 *
 * Ownership: the dataset and the model are only read, except by
 * augur_forecast_calibrate(), which fills the model's baselines and margins.
 */
#pragma once

#include <glib.h>
#include "forecast.h"
#include "dataset.h"

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

/* The last step of training: fit m's baselines (m->bl) on the training
 * split of ds, their parameters chosen on validation, then set m's global
 * conformal margins (m->nn_margin, m->bl_margin) at m->coverage from the
 * validation scores of the float NN, the int NN and every baseline.
 * m->nn, m->nnq, m->H and m->T must be set.  FALSE with error when a
 * baseline fit fails (a target without any data is not a failure: its
 * baseline stays unfitted and forecasts NAN). */
gboolean augur_forecast_calibrate (AugurModel *m, const AugurDataset *ds, GError **error);
