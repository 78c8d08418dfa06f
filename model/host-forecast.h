/* host-forecast.h — the host's memory need over the next hours: the sum of
 * its guests' forecasts, with an uncertainty of its own.
 *
 * WHAT IT IS.  Every guest's history is run through the online predictor
 * (predictor.h, the same forecasts augurd and `virt-augur replay` make, on
 * the predictor's step grid and in time order) and, at every step, the
 * guests' medians are summed per horizon: the host's p50 need.  The sum of
 * the guests' upper bounds would be the need if every guest peaked at once;
 * a host plans on less than that, so the host's bound is its own:
 *     upper[h] = p50[h] + m[h]
 * where m[h] is the coverage quantile of the host's realised residual
 * (the sum of the guests' used memory at t + h minus the host median made
 * at t) over the newest two weeks of the history replayed.  The host
 * median of a horizon is the guests' medians summed, or their newest used
 * values summed when that has done better so far (host-forecast.c).  Only
 * origins whose every guest has a used value at t + h are scored: a guest
 * that stopped or a gap in its history never counts as "no memory".
 *
 * THE GUESTS IN THE SUM are those running at the newest step (a sample
 * within AUGUR_HOST_FC_RUNNING_STEPS steps of it): a guest whose history
 * ended earlier still scores residuals while it ran, but is not on the
 * host now.  history_s > 0 replays only the newest history_s seconds.
 *
 * COVERAGE SEEN.  Each scored origin also checks the bound as it stood at
 * the origin (the margin known then, never a later one), so coverage_seen
 * is an honest online figure, not an in-sample one.
 *
 * What it is not: a model of the host's own (non-guest) memory, nor a
 * policy.  Cost O(VMs x steps x H); memory O(VMs x H).
 */
#pragma once

#include <glib.h>

#include "predictor.h"

/* A guest is on the host now if its newest sample is at most this many
 * predictor steps before the newest sample of any guest. */
#define AUGUR_HOST_FC_RUNNING_STEPS 2
/* Residuals a horizon has scored before its margin is the host's own;
 * until then the bound is the guests' uppers summed (the cautious one).
 * 12 steps = 1 h at 5 min. */
#define AUGUR_HOST_FC_WARM 12
/* The view's grid and reach: the store's 5-minute rollups, 48 horizons
 * (4 h).  `virt-augur forecast --host` and augurd's host plan both use it. */
#define AUGUR_HOST_FC_STEP_S 300
#define AUGUR_HOST_FC_H      48

typedef struct {
        gint64 origin_s;                         /* newest step, unix s       */
        double step_s;
        guint H;                                 /* horizons 1..H of step_s   */
        guint guests;                            /* guests in the sum now     */
        guint guests_seen;                       /* every guest replayed      */
        float p50_kib[AUGUR_PREDICTOR_MAX_H];    /* summed medians            */
        float upper_kib[AUGUR_PREDICTOR_MAX_H];  /* p50 + the host's margin   */
        float sum_upper_kib[AUGUR_PREDICTOR_MAX_H]; /* the guests' uppers summed:
                                                 * the bound if all peaked at once */
        float held_kib;                          /* the guests' newest used
                                                 * values summed: where the
                                                 * need stands now          */
        guint scored[AUGUR_PREDICTOR_MAX_H];     /* residuals scored          */
        double coverage_seen[AUGUR_PREDICTOR_MAX_H]; /* share of them at or under
                                                 * the bound of their origin; NAN */
        gboolean last_value[AUGUR_PREDICTOR_MAX_H]; /* the p50 is the guests' newest
                                                 * used summed, not their medians */
        double mae_kib[AUGUR_PREDICTOR_MAX_H];   /* mean |residual| of the median
                                                 * as it served at each origin
                                                 * (chosen then, online); NAN  */
        double mae_sum_kib[AUGUR_PREDICTOR_MAX_H];  /* ... of the medians summed   */
        double mae_last_kib[AUGUR_PREDICTOR_MAX_H]; /* ... of "the guests' used at
                                                 * t stays": the reference     */
} AugurHostForecast;

/* Run every series (AugurSeries*, trace units; mem_used_kib needed) through
 * pred (borrowed; its step_s and H are the grid and the horizons; tick_s
 * must equal step_s) and write the host forecast at the newest step.
 * coverage in (0, 1) is the host bound's target.  FALSE with
 * AUGUR_FORECAST_ERROR_NO_DATA when no guest has memory history or none
 * produced a forecast at the newest step. */
gboolean augur_host_forecast (const GPtrArray *series, AugurPredictor *pred, float coverage,
                              gint64 history_s, AugurHostForecast *ret, GError **error);
/* The same, stopping with AUGUR_FORECAST_ERROR_CANCELLED as soon as *cancel is set
 * (read atomically once per step; augurd's worker thread). */
gboolean augur_host_forecast_full (const GPtrArray *series, AugurPredictor *pred, float coverage,
                                   gint64 history_s, const gint *cancel, AugurHostForecast *ret,
                                   GError **error);

/* The predictor the view runs without a model: the baselines with an MAE
 * champion (a sum of medians: each the best point), the daily
 * seasonal-naive baseline added (over 4 h a guest's day matters), no floor
 * at the newest value, at AUGUR_HOST_FC_STEP_S and AUGUR_HOST_FC_H. */
void augur_host_forecast_predictor_config (AugurPredictorConfig *c, float coverage);

/* How far the guests in the sum may grow above where they stand, by the
 * host's own bound, over the horizons from first_h (1-based) on:
 *     max over h >= first_h of upper_kib[h] - held_kib,   at least 0,
 * counting only horizons whose bound is the host's own (scored[h] >=
 * AUGUR_HOST_FC_WARM).  NAN when none is: the view is not calibrated yet,
 * and the guests' uppers summed say nothing a policy should act on. */
double augur_host_forecast_growth_kib (const AugurHostForecast *f, guint first_h);
