/* predictor-private.h — the state that predictor.c, champion.c and
 * period.c share: the two structs of predictor.h, their index helpers, and
 * the calls between the three files.  Not an API: nothing outside those
 * three includes it.
 *
 *   predictor.c   the slow path (model, baselines, calibrated uppers), the
 *                 output that combines both paths, the public calls
 *   champion.c    what the slow path learns from matured forecasts: the
 *                 accuracy trackers and the champion, the cost-aware
 *                 margin, the model gate
 *   period.c      the fast path: tick ring, period detector, fast
 *                 quantile trackers, the period gate
 * Layout of the arrays: the comments on the struct fields; (a, b, c) is
 * row-major with c fastest.
 */
#pragma once

#include <math.h>
#include "predictor.h"
#include "precursor.h"
#include "calib.h"
#include "period.h"
#include "nn-q.h"

#define N_RES      AUGUR_PRED_N
#define N_SRC      AUGUR_PRED_SRC_N
#define FAST_LAST   0
#define FAST_PERIOD 1
#define N_FAST     2
#define NONE_STEP  G_MAXUINT64
#define LS_MIN_PCT 0.1      /* CONDITIONAL WIDTH: least local scale, percent
                             * points: a flat series must not divide its
                             * scores by 0                                 */

struct AugurPredictor {
        AugurPredictorConfig cfg;
        const AugurModel *model;             /* borrowed, may be NULL         */
        AugurBaselineParams bl[N_RES];       /* per resource                  */
        guint gated[N_RES];                  /* bit k: the model file serves
                                              * baseline k, alone or in a mix,
                                              * at some horizon (forecast.h
                                              * VALIDATION GATE)              */
        AugurCalib *calib[N_SRC][N_RES];     /* NULL for a source not run     */
        guint F, T, O;                       /* model shapes (0 without)      */
        double acc_decay;                    /* tracker decay per slow step   */
        double ls_decay;                     /* CONDITIONAL WIDTH: local scale
                                              * decay per slow step (0 = off) */
        gboolean tick_mode;                  /* tick_s < step_s               */
        float *scratch;                      /* (2 fast_len + 2) detector     */
};

/* Online quantile tracker of the fast path (period.h). */
typedef AugurQTrack QTrack;

struct AugurPredictorVm {
        AugurPredictor *p;                   /* borrowed                      */
        char *name;
        gint64 phase_s;                      /* bucket offset (tick mode), s  */

        /* slow path */
        AugurPrecursor prec;                 /* precursor.c                   */
        float prec_bound;                    /* mem bound, h 1..W; NAN = none */
        gboolean slow_started;
        gint64 slow_last_ts;                 /* ts of the newest slow sample  */
        guint64 slow_step;                   /* index of the newest slow step */
        AugurFeatState *feat;                /* NULL without a model          */
        AugurModelQState *nnq;               /* the model's networks (ensemble.c) */
        float *win;                          /* (T, F) vectors, slot = step % T */
        float *win_seq;                      /* (T, F) the same, oldest first */
        gboolean feat_ok;                    /* newest step produced a vector */
        float *nn_out;                       /* (O)                           */
        AugurBaselineState bl[N_RES];
        float *cur;                          /* (N_SRC, N_RES, 3, H) newest
                                              * point, upper, base            */
        guint8 cur_ok[N_SRC][N_RES];
        float *pend;                         /* (H+1, N_SRC, N_RES, 3, H)     */
        guint64 *pend_origin;                /* (H+1) origin step of a slot   */
        guint8 *pend_ok;                     /* (H+1, N_SRC, N_RES)           */
        double acc_w[N_SRC][N_RES];          /* EW count of matured steps     */
        double acc_ae[N_SRC][N_RES];         /* EW sum of mean |y - point|    */
        double acc_pin[N_SRC][N_RES];        /* EW sum of mean pinball        */
        AugurPredSource champion[N_RES];
        gboolean have_slow;                  /* a slow forecast exists        */
        /* CONDITIONAL WIDTH (predictor.c; p->ls_decay > 0): EW sums of
         * |y_k - y_k-1| and their weights, at ls_decay and acc_decay */
        float ls_y[N_RES];                   /* newest observed y, pct (NAN)  */
        double ls_fast[N_RES], ls_fast_w[N_RES];
        double ls_slow[N_RES], ls_slow_w[N_RES];
        float ls_scale[N_RES];               /* local scale now, pct (NAN
                                              * before the first change)     */
        float *pend_ls;                      /* (H+1, N_RES) ls_scale at the
                                              * origin of a pending slot     */
        /* cost-aware memory margins (price_per_gib > 0), per source and
         * horizon: the newest calib_ring scores, in arrival order and sorted */
        float *cost_ring;                    /* (N_SRC, H, calib_ring)        */
        float *cost_sorted;                  /* (N_SRC, H, calib_ring)        */
        guint *cost_n;                       /* (N_SRC, H) scores held        */
        guint *cost_pos;                     /* (N_SRC, H) next write slot    */
        float *cost_up;                      /* (H) served memory upper, pct  */
        float *pend_cu;                      /* (H+1, N_SRC) cost-aware memory
                                              * upper at h = 1, for the tracker */
        double acc_cost[N_SRC];              /* EW sum of the cost at h = 1   */
        double acc_cost_w[N_SRC];
        gboolean cost_ok;                    /* cost_up holds a bound         */
        /* MODEL GATE: h = 1 bounds of the newest slow step, EW sums of
         * their loss (bound_loss) over the alarm steps, and c */
        guint64 mg_step;                     /* origin step of mg_su/mg_ru    */
        float mg_su[N_RES];                  /* served upper at h = 1, pct    */
        float mg_ru[N_RES];                  /* raised upper (NAN: no alarm)  */
        guint32 mg_n[N_RES];                 /* scored alarms (saturates)     */
        double mg_w[N_RES];                  /* EW count of scored alarms     */
        double mg_alone[N_RES];              /* EW loss of the served upper   */
        double mg_raised[N_RES];             /* EW loss of the raised upper   */
        float mg_mp[N_RES];                  /* model p50 at h = 1 of an alarm */
        float mg_mb[N_RES];                  /* its band, model upper - p50   */
        QTrack mg_c[N_RES];                  /* c: coverage quantile of
                                              * (y - mp) / (mu - mp) over the
                                              * scored alarms                 */
        gint64 slow_origin_bucket;           /* tick mode: its bucket id      */

        /* tick-mode bucket being filled */
        gboolean bucket_open;
        gint64 bucket_id;
        double bsum[AUGUR_COL_N];
        guint32 bcnt[AUGUR_COL_N];

        /* capacities for the unit conversion (newest observed) */
        float prov_kib;
        float cores;

        /* fast path */
        gboolean fast_started;
        gint64 fast_last_ts;
        guint64 tick;                        /* ticks pushed                  */
        float *ring;                         /* (N_RES, fast_len)             */
        float held[N_RES];                   /* newest present value          */
        guint64 held_tick[N_RES];
        gboolean held_any[N_RES];
        guint period[N_RES];
        float period_acf[N_RES];
        guint64 next_detect;
        float *fpend;                        /* (fast_H+1, N_RES, N_FAST, fast_H)
                                              * period upper base (FAST_PERIOD
                                              * rows only; written when a
                                              * period was active)            */
        float *fpend_held;                   /* (fast_H+1, N_RES) last-value base:
                                              * the same at every horizon     */
        guint8 *fpend_per;                   /* (fast_H+1) period rows written */
        guint64 *fpend_origin;               /* (fast_H+1)                    */
        QTrack *qt;                          /* (N_RES, N_FAST, fast_H)       */
        float *fcur;                         /* (N_RES, N_FAST, 2, fast_H) p50, upper */
        guint8 fcur_ok[N_RES][N_FAST];
        /* period gate: did raising the bound with the period forecast pay
         * off at horizon 1?  EW losses of the slow bound alone and of the
         * max with the period bound, and the bounds of the last tick. */
        guint64 gate_tick;                   /* origin tick of gate_s/gate_p  */
        float gate_s[N_RES], gate_p[N_RES];  /* pct                           */
        double gate_w[N_RES], gate_alone[N_RES], gate_comb[N_RES];
};

static inline gboolean
src_on (const AugurPredictor *p, AugurPredSource s)
{
        if (s == AUGUR_PRED_SRC_MODEL && !p->model)
                return FALSE;
        return (p->cfg.sources >> s) & 1;
}

static inline float
nanmax (float a, float b)
{
        if (isnan (a))
                return b;
        if (isnan (b))
                return a;
        return MAX (a, b);
}

static inline float *
cur_at (const AugurPredictor *p, const AugurPredictorVm *v, int s, int r, int what)
{
        return v->cur + (((gsize) s * N_RES + r) * 3 + what) * p->cfg.H;
}

static inline float *
pend_at (const AugurPredictor *p, const AugurPredictorVm *v, guint slot, int s, int r, int what)
{
        return v->pend + ((((gsize) slot * N_SRC + s) * N_RES + r) * 3 + what) * p->cfg.H;
}

static inline float *
fcur_at (const AugurPredictor *p, const AugurPredictorVm *v, int r, int f, int what)
{
        return v->fcur + (((gsize) r * N_FAST + f) * 2 + what) * p->cfg.fast_H;
}

/* ---- predictor.c */

/* CONDITIONAL WIDTH: is it on? */
static inline gboolean
local_width (const AugurPredictor *p)
{
        return p->ls_decay > 0;
}

/* ---- champion.c */

/* Step 1 of the slow path: the forecasts made for step `step` meet their
 * targets y (N_RES): calibration, cost rings and accuracy trackers. */
void augur_pred_mature (AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y);
/* Step 5: the champion of resource r; the source serving now, or NONE. */
AugurPredSource augur_pred_champion (AugurPredictor *p, AugurPredictorVm *v, int r);
void augur_pred_cost_remember (const AugurPredictor *p, AugurPredictorVm *v, guint slot);
gboolean augur_pred_cost_upper (const AugurPredictor *p, AugurPredictorVm *v, AugurPredSource s);
double augur_pred_bound_loss (const AugurPredictor *p, const AugurPredictorVm *v, int r, float y, float u);
gboolean augur_pred_mg_alarm (const AugurPredictor *p, const AugurPredictorVm *v, int r, AugurPredSource s,
                              guint hs);
float augur_pred_mg_raise (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint hs, float sp,
                           float su);
gboolean augur_pred_mg_open (const AugurPredictorVm *v, int r);
void augur_pred_mg_score (const AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y);
void augur_pred_mg_remember (const AugurPredictor *p, AugurPredictorVm *v, guint64 step,
                             const AugurPredSource *served);

/* ---- period.c */

/* One fast tick with y (N_RES) at ts.  FALSE when ts is not later. */
gboolean augur_pred_fast_step (AugurPredictor *p, AugurPredictorVm *v, gint64 ts, const float *y);
gboolean augur_pred_gate_open (const AugurPredictor *p, const AugurPredictorVm *v, int r);
