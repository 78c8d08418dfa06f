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

#define AUGUR_EVAL_MAX_MODELS (3 + AUGUR_BL_N)   /* float, int, gated NN */

typedef struct {
        AugurTarget target;
        guint h;
        char model[32];                 /* "gru_float", "gru_int",
                                         * "gru_gated" (the served model,
                                         * forecast.h VALIDATION GATE),
                                         * "ridge_ar", ...                  */
        guint64 n;
        double mae, rmse, r2, coverage;
} AugurEvalRow;

typedef struct {
        float coverage;                 /* target coverage (0.95)           */
        gboolean online_calib;          /* add test scores as targets arrive */
        guint T;                        /* window for the common point set
                                         * when no model (default 12)       */
        guint H;                        /* horizons when no model (12; 1..
                                         * AUGUR_FORECAST_MAX_H)            */
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

/* The row of (target t, horizon h, model) in rows, or NULL. */
const AugurEvalRow *augur_eval_find_row (const GArray *rows, AugurTarget t, guint h, const char *model);

/* SUMMARY ROW: a model's MAE on one target averaged over the horizons
 * 1..H, and that mean divided by the same mean of last value on the same
 * target.  With H = 48 steps of 5 min this is GIFT-Eval's "short" metric
 * (4 h ahead, relative to last value as issue #15 defines it).  Every h
 * weighs the same; at each h every model is scored on identical points
 * (augur_forecast_eval), so the ratio compares like with like. */
typedef struct {
        AugurTarget target;
        char model[32];
        guint H;                        /* horizons averaged: 1..H          */
        double mae_mean;                /* mean over h = 1..H of the MAE    */
        double rel_last_value;          /* mae_mean / last value's mae_mean;
                                         * NAN when last value lacks an h   */
} AugurEvalSummary;

/* The summary rows of rows (from augur_forecast_eval) over 1..H: one per
 * (target, model) that has a row at every h = 1..H, in the order of the
 * rows' first horizon.  Returns (transfer full) a GArray of
 * AugurEvalSummary, empty when no (target, model) has all H rows. */
GArray *augur_eval_summarize (const GArray *rows, guint H);

/* The last step of training: fit m's baselines (m->bl) on the training
 * split of ds, their parameters chosen on validation, then set m's global
 * conformal margins (m->nn_margin, m->bl_margin) at m->coverage from the
 * validation scores of the float NN, the int NN and every baseline.
 * m->nn, m->nnq, m->H and m->T must be set.  FALSE with error when a
 * baseline fit fails (a target without any data is not a failure: its
 * baseline stays unfitted and forecasts NAN). */
gboolean augur_forecast_calibrate (AugurModel *m, const AugurDataset *ds, GError **error);

/* The VALIDATION GATE (forecast.h): score m's int NN and m's baselines
 * (m->bl: run augur_forecast_calibrate() first) on the validation split of
 * ds, on identical points, per origin regime, and set
 * m->serve[t][regime][h - 1] to the baseline with the lowest MAE there
 * where it is at or below the int NN's, else to the NN.  A cell without
 * validation points keeps the NN.  FALSE with error when the data has no
 * validation window; m->serve is then all NN. */
gboolean augur_forecast_choose_gate (AugurModel *m, const AugurDataset *ds, GError **error);
