/* predictor.h — the online, per-VM forecaster that augurd and
 * `virt-augur replay` run one step at a time.
 *
 * What it is: the glue that turns one sample per call into the forecast the
 * resize policy consumes — features (augur-features.h, incremental), the
 * fixed-point NN (nn-q.h), the online baselines (baselines.h), per-VM
 * conformal calibration (calib.h) updated as targets arrive, accuracy
 * trackers and the champion choice, plus a fast path at tick resolution
 * (online last value + a period detector).  The design is the comment at
 * the top of predictor.c (the champion, cost-aware margin and model gate:
 * champion.c; the fast path: period.c).  What it is not: the policy
 * (policy/policy.h), training (train.h) or I/O; nothing here logs above
 * debug.
 *
 * Units: the predictor forecasts the model's targets — mem_pct and cpu_pct
 * of the sample's own mem_prov_kib / cpu_cores — and converts them to KiB
 * and cores with the newest observed mem_prov_kib / cpu_cores.  The daemon
 * must therefore pass a *stable* capacity in those columns (the <memory>
 * maximum and the maximum vCPUs, not the balloon size or the online
 * vCPUs), or ballooning would move the very signal we forecast; in traces
 * they are the provisioned capacity.
 *
 * Ownership: an AugurPredictor holds the shared parts (model, baseline
 * parameters, calibration with one ring per VM); an AugurPredictorVm is
 * one VM's state and must not outlive its predictor.  The model passed to
 * augur_predictor_new() is borrowed and must outlive the predictor.  No
 * call allocates per step except the first calibration score of a VM
 * (calib.h allocates its rings then).  Not thread-safe: one thread steps a
 * predictor's VMs.
 */
#pragma once

#include <glib.h>
#include "series.h"
#include "augur-features.h"
#include "baselines.h"
#include "forecast.h"

#define AUGUR_PREDICTOR_MAX_H  AUGUR_BL_MAX_H   /* output horizons (48)      */

/* Forecasters the slow path can serve.  SRC_MODEL is the int NN. */
typedef enum {
        AUGUR_PRED_SRC_MODEL = 0,
        AUGUR_PRED_SRC_LAST_VALUE,          /* = 1 + AUGUR_BL_LAST_VALUE      */
        AUGUR_PRED_SRC_EWMA,
        AUGUR_PRED_SRC_SEASONAL_NAIVE,
        AUGUR_PRED_SRC_MEAN_1H,
        AUGUR_PRED_SRC_RIDGE_AR,
        AUGUR_PRED_SRC_N,
        AUGUR_PRED_SRC_NONE = AUGUR_PRED_SRC_N,
} AugurPredSource;

G_STATIC_ASSERT (AUGUR_PRED_SRC_N == 1 + AUGUR_BL_N);

/* The two resources the policy acts on (same order as AugurTarget). */
typedef enum {
        AUGUR_PRED_CPU = 0,
        AUGUR_PRED_MEM,
        AUGUR_PRED_N,
} AugurPredResource;

typedef enum {
        AUGUR_PRED_CHAMPION_PINBALL = 0,    /* pinball loss of the calibrated
                                             * upper bound (what the policy uses) */
        AUGUR_PRED_CHAMPION_MAE,            /* absolute error of the point     */
        AUGUR_PRED_CHAMPION_COST,           /* memory: shortfall + price x slack
                                             * of the cost-aware bound at h = 1
                                             * (needs price_per_gib > 0; CPU
                                             * falls back to pinball)         */
} AugurPredChampionMetric;

typedef struct {
        double tick_s;              /* interval between step() calls, s; >=
                                     * step_s means one call per slow step  */
        gint64 step_s;              /* slow path step, s (the model's)       */
        guint H;                    /* slow path horizons (the model's)      */
        guint fast_H;               /* horizons of the output in tick mode   */
        guint fast_len;             /* ticks kept for the period detector    */
        guint period_min;           /* shortest period tried, ticks          */
        guint period_max;           /* longest, ticks (0 = fast_len / 3)     */
        guint period_every;         /* re-detect every N ticks               */
        float period_min_acf;       /* autocorrelation needed to use a period */
        guint period_k;             /* previous periods looked at            */
        gboolean fast_last_value;   /* tick mode: last value at tick step
                                     * joins the fast path                  */
        float coverage;             /* conformal target coverage             */
        guint calib_ring;           /* per-VM scores kept per horizon        */
        guint calib_min_n;          /* per-VM scores before the VM's own q   */
        double acc_halflife_s;      /* accuracy trackers' half-life, s       */
        double champion_warm;       /* tracker weight (steps) before a
                                     * source can be champion                */
        double champion_hysteresis; /* relative margin to change champion    */
        AugurPredChampionMetric champion_metric;
        guint sources;              /* mask of 1 << AugurPredSource to run   */
        AugurPredSource cold_source;/* served before the trackers are warm
                                     * (the model when loaded)               */
        gboolean stagger;           /* tick mode: offset each VM's slow-step
                                     * buckets by a hash of its name         */
        gboolean floor_held;        /* slow forecasts never below the newest
                                     * observed value (the policy floors its
                                     * allocation there anyway)              */
        double price_per_gib;       /* > 0: memory upper bounds are
                                     * cost-aware (champion.c COST-AWARE
                                     * MARGIN): one GiB-step of buffer is
                                     * worth this many shortfall steps; 0 =
                                     * the conformal quantile at coverage   */
        double champion_knob;       /* the policy's buffer (policy.h): the
                                     * cost champion judges p50 + knob x
                                     * (upper - p50), what will be allocated */
        gboolean model_floor;       /* a baseline champion's p50 and upper
                                     * are raised to the model's (predictor.c
                                     * MODEL FLOOR); default off          */
        gboolean model_gate;        /* a demoted model raises the champion's
                                     * bound at its alarms, once that has
                                     * paid off (champion.c MODEL GATE);
                                     * default on                         */
        gboolean precursor_bound;   /* while an activity precursor is active
                                     * the memory upper covers what followed
                                     * it before on this VM (precursor.c)   */
        double width_halflife_s;    /* > 0: the conformal and cost-aware
                                     * margins scale with a local scale of
                                     * the series, an EW mean of |y_k -
                                     * y_k-1| with this half-life, s
                                     * (predictor.c CONDITIONAL WIDTH); 0 =
                                     * one margin per VM and horizon at
                                     * every step (default)                */
        float width_floor_frac;     /* the local scale is at least this
                                     * fraction of the same mean over
                                     * acc_halflife_s (a calm hour does not
                                     * forget the VM's spikes)             */
} AugurPredictorConfig;

/* Defaults (augur_predictor_config_init() in predictor.c, one comment
 * per value): tick 300 s, step 300 s,
 * H 12, fast_H 24, fast_len 1024, periods 4..fast_len/3 re-detected every
 * 128 ticks at ACF >= 0.5 over 3 periods, coverage 0.95, ring 288, min_n 48,
 * half-life 1 day, warm 24 steps, hysteresis 0.05, pinball, every source
 * but seasonal_naive, cold source ewma, model gate on, conditional width
 * off (half-life 0; floor fraction 0.25 when it is turned on). */
void augur_predictor_config_init (AugurPredictorConfig *cfg);

/* One forecast, horizons 1..H of step_s from the sample's ts. */
typedef struct {
        gint64 ts;                                  /* origin, unix s            */
        guint H;                                    /* 0 = nothing to forecast   */
        double step_s;
        float mem_p50_kib[AUGUR_PREDICTOR_MAX_H];
        float mem_upper_kib[AUGUR_PREDICTOR_MAX_H]; /* calibrated upper bound    */
        float cpu_p50_cores[AUGUR_PREDICTOR_MAX_H];
        float cpu_upper_cores[AUGUR_PREDICTOR_MAX_H];
        AugurPredSource source[AUGUR_PRED_N];       /* slow-path champion serving */
        const char *model[AUGUR_PRED_N];            /* its name (static), with
                                                     * "+period"/"+tick" when the
                                                     * fast path raised the upper */
        gboolean slow_updated;                      /* this call ran a slow step */
        gboolean model_raised[AUGUR_PRED_N];        /* the gated model raised the
                                                     * champion's bound (MODEL GATE) */
        int precursor;                              /* the precursor context
                                                     * (AUGUR_PREC_*) whose bound
                                                     * raised the memory upper at
                                                     * some horizon, -1 = none;
                                                     * augur_precursor_context_name()
                                                     * names it                  */
        guint period[AUGUR_PRED_N];                 /* detected period, ticks (0) */
        float period_acf[AUGUR_PRED_N];
} AugurPredictorOut;

typedef struct AugurPredictor AugurPredictor;
typedef struct AugurPredictorVm AugurPredictorVm;

/* (transfer full) a predictor.  model may be NULL (baselines only, default
 * parameters); when given it is borrowed, its step_s / H / T / norm /
 * baseline parameters / global margins are used and cfg->step_s and
 * cfg->H are overridden.  Fails only on an invalid config
 * (AUGUR_FORECAST_ERROR_INVAL). */
AugurPredictor *augur_predictor_new (const AugurModel *model, const AugurPredictorConfig *cfg,
                                     GError **error);
void augur_predictor_free (AugurPredictor *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurPredictor, augur_predictor_free)

const AugurPredictorConfig *augur_predictor_config (const AugurPredictor *p);
/* Static name of a source for this predictor ("lstm_int", "ewma", ...). */
const char *augur_predictor_source_name (const AugurPredictor *p, AugurPredSource s);

/* (transfer full) the state of one VM, named vm (the calibration key: two
 * live VMs of one predictor must have different names). */
AugurPredictorVm *augur_predictor_vm_new (AugurPredictor *p, const char *vm);
void augur_predictor_vm_free (AugurPredictorVm *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurPredictorVm, augur_predictor_vm_free)

/* Advance v by one sample x (trace units, NAN = missing; x->ts must
 * increase — an older or equal ts is ignored and FALSE returned).  Matures
 * the forecasts whose target this sample is (calibration and accuracy),
 * then forecasts from x.  Writes *out and returns TRUE when a forecast
 * exists (out->H > 0); FALSE with out->H == 0 otherwise.  Allocates
 * nothing (see the header comment for the one exception). */
gboolean augur_predictor_step (AugurPredictor *p, AugurPredictorVm *v,
                               const AugurFeatSample *x, AugurPredictorOut *out);

/* --- introspection (tests, status dump) ---------------------------------- */

/* Recent accuracy of source s on resource r for this VM: EW mean of the
 * absolute error of the point (in percent of capacity) and of the pinball
 * loss of the calibrated upper bound; weight = EW count of matured steps.
 * FALSE when the source has no matured forecast yet. */
gboolean augur_predictor_vm_accuracy (const AugurPredictorVm *v, AugurPredResource r,
                                      AugurPredSource s, double *ret_mae,
                                      double *ret_pinball, double *ret_weight);
/* MODEL GATE of resource r (champion.c): EW count of scored alarm steps
 * and EW loss sums of the champion's h = 1 upper alone and raised by the
 * model over them.  TRUE when the gate is open (the model may raise).
 * The out-params are always written. */
gboolean augur_predictor_vm_model_gate (const AugurPredictorVm *v, AugurPredResource r,
                                        double *ret_weight, double *ret_alone, double *ret_raised);
/* Champion currently serving resource r. */
AugurPredSource augur_predictor_vm_champion (const AugurPredictorVm *v, AugurPredResource r);
/* Feature vector of the newest slow step (F floats, read-only) or NULL
 * when there is no model or the step produced none; ret_F may be NULL. */
const float *augur_predictor_vm_features (const AugurPredictorVm *v, guint *ret_F);
/* TRUE when a model is loaded and v's history (one unbroken segment of
 * slow steps) is still shorter than the model's window: the model cannot
 * serve yet, the baselines do.  *ret_have steps of *ret_need. */
gboolean augur_predictor_vm_window_short (const AugurPredictorVm *v, guint *ret_have, guint *ret_need);
/* Slow-path forecast of source s for resource r from the newest slow step,
 * in percent of capacity: ret_point (H) and ret_upper (H, calibrated).
 * FALSE when s has none. */
gboolean augur_predictor_vm_slow_forecast (const AugurPredictorVm *v, AugurPredResource r,
                                           AugurPredSource s, float *ret_point,
                                           float *ret_upper);
