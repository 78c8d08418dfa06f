/* forecast.h — what a trained forecaster is: AugurModel (the float NN,
 * its fixed-point copy, and the metadata that makes them usable: feature
 * configuration, horizons, target scales, fitted baselines, global
 * conformal margins), the layout of the NN's outputs and the transform of
 * the targets they are in, and the error domain of the offline forecaster.
 *
 * What it is not: the operations on a model, each in its own file:
 *   train.h        augur_forecast_train(): a model from a prepared dataset
 *   eval.h         augur_forecast_eval(): scoring on identical points, and
 *                  augur_forecast_calibrate(), the margins training ends with
 *   model-file.h   augur_model_save() / augur_model_load(): the file
 *   dataset.h      augur_dataset_prepare(): the windows they all consume
 * nor the NN (nn.h, nn-q.h), the features (augur-features.h), or the online
 * forecaster that serves a model (predictor.h).
 *
 * OUTPUTS
 * =======
 * Inputs: a window of T feature vectors (augur-features.h) ending at the
 * forecast origin k.  Outputs (O = 4 targets * 2 heads * H):
 *   targets   cpu_pct, mem_pct (acted on), disk_kibps, net_kibps (reported)
 *   heads     point (pinball 0.5 = MAE, the default; MSE with --point-loss mse)
 *             upper (pinball at quantile q, default 0.95)
 *   horizons  1..H steps (default 12 = 1 h at 5 min)
 * out[((t * 2 + head) * H) + h - 1].  The net predicts the *change* from the
 * held value at the origin in units of s_t:
 *     target = (u(y[k+h]) - u(held[k])) / s_t          u = identity for cpu,
 *     forecast = u^-1(u(held[k]) + s_t * out)           mem; log1p for disk,
 *                                                       net (heavy tails)
 * so "no change" is the zero output and every VM shares one scale (the
 * metric is pooled in percentage points, so the loss must not re-weight
 * idle VMs the way a per-VM scale would; per-VM levels enter as features).
 *
 * VALIDATION GATE (serve[][])
 * ===============
 * What the model serves at (target t, horizon h): its int NN, or one of
 * its own fitted baselines.  Training (augur_forecast_choose_gate(),
 * eval.c) scores the int NN and every baseline on the validation split, on
 * identical points, separately in two regimes of the origin (AugurRegime:
 * the target's value repeated exactly over the last step, or not), and
 * keeps the NN at (t, regime, h) only where its MAE is below the best
 * baseline's; elsewhere the model's point forecast there is that
 * baseline's.  So a model never serves a point forecast at a horizon
 * where, on data it was not fitted on, a baseline it carries did better.
 * The upper bound stays the NN's (its quantile head, raised to the point
 * where it is below it, with the NN's margin): the gate is chosen on point
 * error, which says nothing of the bound, and a gate that also swapped the
 * bound took the network's announcement of a spike from a flat line away
 * from the policy (BENCHMARKS-replay.md section 9).  A third kind of cell
 * is a MIX of the two: w x the NN's point + (1 - w) x baseline k's, w one
 * of AUGUR_MIX_N weights, chosen the same way (a mix must beat the NN and
 * every baseline alone; ties go to the simpler).  Averaging two forecasts
 * whose errors are not the same errors beats either where both are close
 * (BENCHMARKS-model.md, "Mixed cells in the gate").  The regimes: an idle VM repeats its exact value
 * (Bitbrains cpu: 11 of 50 VMs in over 80 % of steps), where last value
 * is already the median forecast and an NN trained also on busy fleets
 * (Azure) adds its small output noise; on a moving series it is ahead.  The raw NN stays in the file and in
 * eval's rows (<arch>_float, <arch>_int) next to the served one
 * (<arch>_gated).  A model without a gate (files before version 5, models
 * built by hand) serves the NN everywhere: serve[][] = 0.
 *
 * ENSEMBLE
 * ========
 * "The NN" above is n_nets networks combined (default 3,
 * AugurTrainConfig.nets): one architecture and shape, the same data and
 * schedule, seeds seed, seed + 1, ...; each stopped early on its own
 * validation loss.  The point head is their mean, the upper head their
 * maximum, before decoding, in the networks' output space (OUTPUTS: u
 * space, so for cpu and mem the mean of the forecasts); the margins, the
 * gate and the bound are the combination's.  Float and int alike:
 * ensemble.c is the one place that combines.
 * Why the mean: seeds disagree where the data does not decide (an idle
 * VM's next step), and the mean of their errors is smaller than either's.
 * On the Bitbrains validation split the default model's int cpu MAE at
 * h = 1 went from 0.5 % above the best baseline (one network) to 4.0 %
 * below it (three), and every served cell of cpu, memory and Azure
 * gained (BENCHMARKS-model.md, "Three networks averaged").
 * Why the maximum: where the seeds disagree on whether or when a spike
 * comes, the mean of their 95 % quantiles announces none of them; the
 * maximum keeps the earliest, and the conformal margin (calibrated on
 * the maximum) takes the width back where they agree, so the bound is
 * wider where the networks disagree.  The mean of the upper heads lost 72
 * of 1017 announced scenario spikes against one network without the
 * precursor bound; the maximum gained 7 (BENCHMARKS-replay.md 11d).  Cost: n_nets x the
 * int forecast per VM and slow step, and n_nets x the training (the time
 * budget is shared).  nn/nnq are the first network (the one whose shapes
 * and configuration the others must equal: model-file.c refuses a file
 * where they do not); more_nn/more_nnq the others.  A model built by hand
 * with n_nets = 0 is one network.
 *
 * Ownership: an AugurModel owns all its networks; augur_model_free() (in
 * model-file.c, with the error quark) frees all of it and takes NULL.
 */
#pragma once

#include <glib.h>
#include <math.h>
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
        AUGUR_FORECAST_ERROR_CANCELLED,  /* the caller's cancel flag was set  */
} AugurForecastError;

typedef enum {
        AUGUR_POINT_LOSS_MSE = 0,        /* mean head trained on squared error */
        AUGUR_POINT_LOSS_MAE,            /* median head: pinball at 0.5 (= MAE/2) */
} AugurPointLoss;

/* Heads per target: point and upper quantile; outputs per horizon. */
#define AUGUR_FORECAST_HEADS 2
#define AUGUR_FORECAST_MAX_H AUGUR_BL_MAX_H

/* serve[t][regime][h - 1] (VALIDATION GATE): the NN, or baseline k as
 * AUGUR_SERVE_BL (k); the same numbering as the predictor's sources
 * (predictor.h AugurPredSource), so 0 is the NN. */
#define AUGUR_SERVE_NN 0
#define AUGUR_SERVE_BL(k) ((guint8) (1 + (k)))
/* MIX cells: the NN's weight is AUGUR_MIX_W (j) = (j + 1) / (AUGUR_MIX_N + 1),
 * i.e. 0.25, 0.5, 0.75. */
#define AUGUR_MIX_N 3
#define AUGUR_MIX_W(j) ((float) ((j) + 1) / (AUGUR_MIX_N + 1))
#define AUGUR_SERVE_MIX(k, j) ((guint8) (1 + AUGUR_BL_N + (k) * AUGUR_MIX_N + (j)))
#define AUGUR_SERVE_N (1 + AUGUR_BL_N * (1 + AUGUR_MIX_N))   /* codes 0 .. N - 1 */

/* What cell sv serves: the baseline it takes (-1: none) and the NN's
 * weight in the point (1: the NN, 0: the baseline alone).  The served
 * point is w x nn + (1 - w) x baseline.  An unknown code serves the NN. */
static inline int
augur_serve_decode (guint8 sv, float *ret_w_nn)
{
        if (sv == AUGUR_SERVE_NN || sv >= AUGUR_SERVE_N) {
                *ret_w_nn = 1.0f;
                return -1;
        }
        if (sv <= AUGUR_BL_N) {
                *ret_w_nn = 0.0f;
                return sv - 1;
        }
        *ret_w_nn = AUGUR_MIX_W ((sv - 1 - AUGUR_BL_N) % AUGUR_MIX_N);
        return (sv - 1 - AUGUR_BL_N) / AUGUR_MIX_N;
}

/* The point a cell of NN weight w (augur_serve_decode) serves from the NN's
 * point and its baseline's; w = 0 is the baseline's exactly. */
static inline float
augur_serve_mix (float w_nn, float nn_point, float bl_point)
{
        return w_nn == 0.0f ? bl_point : w_nn * nn_point + (1.0f - w_nn) * bl_point;
}

/* A cell's name in the model file and in virt-augur model: "nn", a
 * baseline's ("ridge_ar"), or a mix ("mix:ridge_ar:0.50"), into buf. */
const char *augur_serve_name (guint8 sv, char *buf, gsize len);
#define AUGUR_SERVE_NAME_MAX 48
/* The code of a cell's name (augur_serve_name's inverse), or -1. */
int augur_serve_parse (const char *name);

/* The regime of an origin (VALIDATION GATE), from the target's values of
 * the last AUGUR_REGIME_LOOKBACK steps up to the origin (y: steps
 * k - n + 1 .. k, oldest first, n <= AUGUR_REGIME_LOOKBACK + 1), in order:
 *   FLAT    a value repeated exactly from one step to the next (both
 *           present): a VM that idles at exact values;
 *   QUIET   the mean |u(y[i]) - u(y[i-1])| over the present pairs is below
 *           AUGUR_REGIME_QUIET_FRAC x scale, the model's target scale (the
 *           mean one-step change of its training data, forecast.h OUTPUTS):
 *           noise around a level, where the NN's output noise costs most;
 *   CALM    that mean is below AUGUR_REGIME_CALM_FRAC x scale;
 *   MOVING  otherwise (also: no present pair). */
#define AUGUR_REGIME_LOOKBACK    12     /* steps (1 h at 5 min, the window)  */
#define AUGUR_REGIME_QUIET_FRAC  0.25f  /* of the target scale, unitless     */
#define AUGUR_REGIME_CALM_FRAC   1.0f   /* of the target scale, unitless     */

typedef enum {
        AUGUR_REGIME_MOVING = 0,
        AUGUR_REGIME_FLAT,
        AUGUR_REGIME_CALM,
        AUGUR_REGIME_QUIET,
        AUGUR_REGIME_N,
} AugurRegime;

const char *augur_regime_name (AugurRegime r);    /* "moving", "flat", "calm", "quiet" */

#define AUGUR_MODEL_MAX_NETS 4            /* ENSEMBLE: networks combined    */

/* Everything a trained model is: weights and the metadata section. */
typedef struct {
        AugurNN *nn;                              /* float master, first net */
        AugurNNQ *nnq;                            /* its fixed-point copy    */
        guint n_nets;                             /* ENSEMBLE; 0 means 1     */
        AugurNN *more_nn[AUGUR_MODEL_MAX_NETS - 1];    /* nets 2 .. n_nets   */
        AugurNNQ *more_nnq[AUGUR_MODEL_MAX_NETS - 1];
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
        guint8 serve[AUGUR_TARGET_N][AUGUR_REGIME_N][AUGUR_FORECAST_MAX_H];  /* VALIDATION GATE */
        double train_seconds;                     /* wall time of training   */
        guint epochs_run, best_epoch;             /* the first net's         */
        guint more_epochs[AUGUR_MODEL_MAX_NETS - 1], more_best[AUGUR_MODEL_MAX_NETS - 1];
} AugurModel;

void augur_model_free (AugurModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurModel, augur_model_free)

/* ENSEMBLE (ensemble.c).  Networks in the model, and network i. */
guint augur_model_n_nets (const AugurModel *m);
AugurNN *augur_model_net (const AugurModel *m, guint i);
AugurNNQ *augur_model_netq (const AugurModel *m, guint i);

/* The networks' augur_nn_predict on B windows, combined (ENSEMBLE: the
 * mean of the points, the maximum of the upper heads). */
void augur_model_predict (const AugurModel *m, const float *x, guint B, guint T, float *out);

/* The same in int, on one window (augur_nnq_forecast_window
 * each), with the per-VM state of augur_model_q_state_new. */
typedef struct _AugurModelQState AugurModelQState;
AugurModelQState *augur_model_q_state_new (const AugurModel *m);
void augur_model_q_state_free (AugurModelQState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurModelQState, augur_model_q_state_free)
void augur_model_forecast_window (const AugurModel *m, AugurModelQState *s,
                                  const float *x, guint T, float *out);

/* NN output index of (target, head, horizon h = 1..H). */
static inline guint
augur_model_out_index (guint H, AugurTarget t, guint head, guint h)
{
        return ((guint) t * AUGUR_FORECAST_HEADS + head) * H + (h - 1);
}

/* The transform u the outputs are in (OUTPUTS above): identity for cpu
 * and mem, log1p for disk and net; NAN stays NAN. */
static inline float
augur_target_u (AugurTarget t, float v)
{
        if (isnan (v))
                return NAN;
        if (t == AUGUR_TARGET_DISK_KIBPS || t == AUGUR_TARGET_NET_KIBPS)
                return log1pf (MAX (v, 0.0f));
        return v;
}

static inline float
augur_target_u_inv (AugurTarget t, float u)
{
        if (t == AUGUR_TARGET_DISK_KIBPS || t == AUGUR_TARGET_NET_KIBPS)
                return expm1f (u);
        return u;
}

/* The forecast of target t in its own units from the NN output y (of
 * either head) and the held value at the origin: u^-1(u(held) + s_t y),
 * s_t = m->target_scale[t] (OUTPUTS above).  The one decoding of the
 * outputs: eval (batch) and the online predictor both call it. */
static inline float
augur_model_decode (const AugurModel *m, AugurTarget t, float held, float y)
{
        return augur_target_u_inv (t, augur_target_u (t, held) + m->target_scale[t] * y);
}

/* The regime of an origin (AugurRegime above). */
static inline AugurRegime
augur_regime_of (AugurTarget t, const float *y, guint n, float scale)
{
        double sum = 0;
        guint pairs = 0;

        for (guint i = 1; i < n; i++) {
                if (isnan (y[i]) || isnan (y[i - 1]))
                        continue;
                if (y[i] == y[i - 1])
                        return AUGUR_REGIME_FLAT;
                sum += fabsf (augur_target_u (t, y[i]) - augur_target_u (t, y[i - 1]));
                pairs++;
        }
        if (pairs && sum / pairs < AUGUR_REGIME_QUIET_FRAC * scale)
                return AUGUR_REGIME_QUIET;
        if (pairs && sum / pairs < AUGUR_REGIME_CALM_FRAC * scale)
                return AUGUR_REGIME_CALM;
        return AUGUR_REGIME_MOVING;
}

/* The operations on a model, for callers that include only this header
 * (plugin/forecaster.h and plugin/retrain.h predate the split; new code
 * includes the header it uses).  Last, because each of them includes this
 * one for AugurModel. */
#include "train.h"
#include "eval.h"
#include "model-file.h"
