/* baselines.h — reference forecasters the model must beat, in batch form
 * (evaluation) and online form (the daemon serves them when the model
 * underperforms).  Algorithms and the fitting protocol: baselines.c.
 *
 * Every baseline works on one target series y (one value per grid step,
 * NAN = missing) and forecasts horizons 1..H from an origin step.
 */
#pragma once

#include <glib.h>

typedef enum {
        AUGUR_BL_LAST_VALUE = 0,   /* held value at the origin              */
        AUGUR_BL_EWMA,             /* exponentially weighted mean           */
        AUGUR_BL_SEASONAL_NAIVE,   /* value one day (period) before target  */
        AUGUR_BL_MEAN_1H,          /* mean of the last 12 steps             */
        AUGUR_BL_RIDGE_AR,         /* ridge AR(12) + time of day, per h     */
        AUGUR_BL_N,
} AugurBaselineKind;

const char *augur_baseline_name (AugurBaselineKind k);   /* "last_value", ... */

#define AUGUR_BL_MAX_H        48    /* horizons supported, steps            */
#define AUGUR_BL_HIST         300   /* ring length, steps (>= period + H)   */
#define AUGUR_BL_PERIOD       288   /* seasonal period, steps (1 day @ 5 min) */
#define AUGUR_BL_MEAN_STEPS   12    /* mean_1h window, steps                */
#define AUGUR_RIDGE_LAGS      12    /* AR order, steps                      */
#define AUGUR_RIDGE_P         (AUGUR_RIDGE_LAGS + 3)  /* + tod sin, cos, 1  */

/* Fitted parameters of the baselines for one target. */
typedef struct {
        guint H;                                  /* horizons 1..H          */
        gint64 step_s;                            /* grid step, s           */
        float ewma_alpha;                         /* (0, 1]                 */
        float ridge_lambda;                       /* chosen on validation   */
        gboolean ridge_ok;                        /* weights fitted         */
        float ridge_w[AUGUR_BL_MAX_H][AUGUR_RIDGE_P]; /* (H, P) per horizon */
} AugurBaselineParams;

/* Defaults: alpha 0.5, ridge not fitted (forecasts NAN until fitted). */
void augur_baseline_params_init (AugurBaselineParams *p, guint H, gint64 step_s);

/* --- batch ------------------------------------------------------------ */

/* Forecasts of baseline k from every origin 0..n-1 of y (n) with grid
 * timestamps ts (n): ret (n, H), ret[k*H + h-1] = forecast of y[k+h] made
 * at k; NAN where the baseline has no forecast (no history, or the value a
 * day before the target is missing). */
void augur_baseline_batch (AugurBaselineKind k, const AugurBaselineParams *p,
                           const float *y, const gint64 *ts, gsize n, float *ret);

/* --- fitting ----------------------------------------------------------- */

/* One VM's target series for fitting, with per-step flags saying which
 * (origin, horizon) pairs may be used. */
typedef struct {
        const float *y;            /* (n) target values, NAN = missing      */
        const gint64 *ts;          /* (n) grid timestamps                   */
        gsize n;
        /* Usable point (origin k, horizon h) for the given split. */
        gboolean (*point_ok) (gpointer data, gsize k, guint h, int split);
        gpointer data;
        /* Optional speed-up: origins of split s (0..2) lie in
         * [origin_from[s], origin_to[s]); origin_to[s] == 0 means anywhere. */
        gsize origin_from[3];
        gsize origin_to[3];
} AugurBaselineSeries;

/* Fit EWMA alpha (grid 0.05..1) and ridge AR (closed form, LAPACKE_sposv
 * on the normal equations; lambda from a grid) on the points of split
 * `train`, choosing alpha and lambda by validation MSE on split `val`.
 * Returns FALSE with error when LAPACK fails for every lambda. */
gboolean augur_baseline_fit (AugurBaselineParams *p, const AugurBaselineSeries *series,
                             guint n_series, int train, int val, GError **error);

/* --- online ------------------------------------------------------------ */

/* Per-VM, per-target state: a ring of the last AUGUR_BL_HIST steps. */
typedef struct {
        const AugurBaselineParams *p;   /* not owned; outlives the state    */
        gint64 last_ts;                 /* ts of the newest step, s         */
        guint64 steps;                  /* steps seen (ring write position) */
        float y[AUGUR_BL_HIST];         /* raw values, NAN = missing        */
        float held[AUGUR_BL_HIST];      /* held value at each step          */
        guint64 last_obs;               /* step index of the newest value   */
        gboolean any_obs;
        float ewma;                     /* NAN until the first value        */
} AugurBaselineState;

void augur_baseline_state_init (AugurBaselineState *st, const AugurBaselineParams *p);
/* Add the value of the step at ts (NAN = missing); skipped steps count as
 * missing.  ts must increase.  No allocation. */
void augur_baseline_state_update (AugurBaselineState *st, gint64 ts, float y);
/* Forecast horizons 1..H from the newest step: ret (H); NAN where the
 * baseline has nothing.  Returns FALSE when every value is NAN. */
/* The raw value lag steps before the newest (0 = newest); NAN when
 * missing or out of the ring. */
float augur_baseline_state_y (const AugurBaselineState *st, guint lag);
gboolean augur_baseline_state_forecast (const AugurBaselineState *st, AugurBaselineKind k,
                                        float *ret);

#define AUGUR_BASELINE_ERROR (augur_baseline_error_quark ())
GQuark augur_baseline_error_quark (void);
typedef enum {
        AUGUR_BASELINE_ERROR_LAPACK,   /* the normal equations did not solve */
        AUGUR_BASELINE_ERROR_NO_DATA,  /* no training point                 */
} AugurBaselineError;
