/* predictor.c — the online per-VM forecaster.  API: predictor.h.
 *
 * What it is: one step per call, for one VM, of everything between a sample
 * and the forecast the policy consumes.  What it is not: the policy, the
 * trainer, or the evaluation harness (eval.c scores the same sources in
 * batch; this file is their online twin).
 *
 * TWO PATHS
 * =========
 *   slow path   at the model's step (step_s, 300 s): features -> int NN
 *               window forecast, the online baselines, per-VM conformal
 *               calibration, accuracy trackers, the champion.  Horizons
 *               1..H slow steps (12 = 1 h).
 *   fast path   at the call's tick (tick_s: the daemon's 1-5 s tick, or
 *               the trace step in a replay): last value at tick
 *               resolution and a period detector, each with an online
 *               quantile tracker.  Horizons 1..fast_H ticks.
 * The 5-minute model cannot see a 2-minute job; the fast path can.  The
 * slow path cannot react inside a 5-minute bucket; the fast path can.
 *
 * MODES
 *   tick mode      tick_s < step_s (augurd).  Ticks are averaged into slow
 *                  buckets (bucket id = floor((ts - phase) / step_s), mean of
 *                  each column's present values, sample ts = bucket start);
 *                  a bucket is closed — and the slow path steps — at the
 *                  first tick of a later bucket, i.e. one tick late.  A
 *                  bucket forecast is a forecast of that bucket's mean.
 *                  With cfg->stagger each VM's buckets are offset by a hash
 *                  of its name (phase in [0, step_s)), so 1000 VMs do not
 *                  all run the NN in the same tick.
 *   same-res mode  tick_s >= step_s (replay at the trace step).  Every call
 *                  is one slow step and one fast tick.
 *
 * HOW THE PATHS COMBINE (the output, horizons j = 1..Hout)
 *   tick mode:     Hout = fast_H ticks of tick_s.  Slow horizon of tick j:
 *                  hs = bucket(ts + j tick) - origin bucket (>= 1).
 *   same-res mode: Hout = H steps; j = hs.
 *   p50_j   = max(slow champion p50[hs], fast p50_j)
 *   upper_j = max(slow champion upper[hs], fast upper_j)
 *   where the fast terms are the period forecast when a period is detected
 *   and, in tick mode only, the tick-resolution last value (in same-res
 *   mode the slow path already has last_value as a candidate).  Taking the
 *   max of the upper bounds means the policy's lead window (the max over
 *   its horizons) covers the worse of the two views; the cost is slack,
 *   which the buffer knob trades back.
 *
 * PERIOD-RESOLVED CPU (tick mode, resource cpu only)
 *   The max above has two phase-blind terms.  The tick last value's
 *   tracker learns the 95 % quantile of y[t+j] - y[t] over all phases; for
 *   a periodic burst that is the onset jump, and held + that quantile says
 *   "a burst may start any second" at every phase.  The slow bound is the
 *   upper of a bucket *mean*; with a period shorter than a slow step the
 *   bucket averages whole periods, and its value (the first, partial
 *   bucket's mean can be the burst itself) says nothing about which ticks
 *   are busy.  Both hold the upper at the burst level between bursts, so a
 *   vCPU could never be given back (tests/integration/resize-vcpu.sh: the
 *   upper stayed 0.8-1.7 cores between 2-core bursts, target 2 vCPUs).
 *   So for cpu, at a horizon where the period forecast has a calibrated
 *   upper and the period is shorter than a slow step, the output is
 *       p50_j = max(period p50_j, held),  upper_j = max(period upper_j, held)
 *   The period source is phase-aware and has its own tracker at each
 *   horizon, so an onset is covered at its phase (the +-P/16 window takes
 *   drift); held keeps the current level (busy now, busy next tick).  When
 *   the workload stops repeating, the detector drops the period (r below
 *   period_min_acf at the next detection), or the period gate closes
 *   (the period forecast stopped paying off), and the full max serves
 *   again.
 *   Memory keeps the full max: a memory shortfall is an OOM kill, a cpu
 *   shortfall costs one hotplug (~1 s) and the policy's saturation rule
 *   adds a vCPU at once.
 *
 * SLOW PATH, ONE STEP (origin k)
 *   1. mature: for h = 1..H the forecasts made at k - h for step k meet
 *      their target y[k]: score = y - base goes into the source's
 *      AugurCalib (ring per VM and horizon, calib.h), and the trackers
 *      get |y - point| and the pinball loss of the calibrated upper.
 *   2. baselines: augur_baseline_state_update() then _forecast() per kind.
 *   3. model: augur_features_update(); when the origin is observed and the
 *      segment is at least T steps old, reset the int state and replay the
 *      last T vectors (the window the model was trained on; nn-q.h:
 *      carrying the state is "outside what training saw").  Output ->
 *      forecast as in forecast.h: u(held) + g_sd * out, u = identity for
 *      cpu and mem.  Skipped steps (k jumps by more than 1) are fed to the
 *      features as empty samples so the window holds exactly the vectors
 *      the batch path (augur_features_batch) computes.
 *   4. calibrated upper = base + margin(source, VM, h), base = the upper
 *      head for the NN (CQR) and the point for a baseline.  With a model
 *      file the global fallback margins are the file's (validation), and
 *      each VM's own quantile takes over after calib_min_n scores.
 *   5. champion per resource (below).
 *
 * ACCURACY AND THE CHAMPION
 *   Per VM, source and resource: EW sums (half-life acc_halflife_s, decay
 *   applied every slow step) of the mean over matured horizons of
 *   |y - point| and of the pinball loss at q = coverage of the calibrated
 *   upper bound:  q (y - u) if y >= u, else (1 - q) (u - y).  The
 *   champion metric defaults to the pinball loss because the policy acts
 *   on the upper bound, not the point (a source with a good point and a
 *   badly calibrated band would otherwise win).  Rules:
 *     with a model: the model serves unless it is warm and its loss exceeds
 *       the best warm baseline's by more than the hysteresis; a demoted
 *       model serves again once its loss is at or below that baseline's.
 *     among baselines: change only when the best is better than the
 *       serving one by more than the hysteresis.
 *     cold (no warm tracker): the model if loaded, else cold_source.
 *     A champion without a forecast at this origin falls back to the next
 *     best source that has one.
 *
 * FAST PATH, ONE TICK
 *   ring of the last fast_len ticks of cpu_pct and mem_pct (NAN = missing).
 *   Period detector, every period_every ticks per resource: centre the ring
 *   (missing -> mean), r(L) = (sum x_i x_i+L / (n - L)) / (sum x_i^2 / n)
 *   for L in [period_min, min(period_max, n / 2)]; among local maxima the
 *   smallest L within 90 % of the best r is the period (so a multiple of
 *   the true period does not win); kept when r >= period_min_acf.  Cost
 *   O(n * Lmax) every period_every ticks (1024 x 341 MACs / 128 ticks).
 *   Period forecast of tick t + j: the same phase t + j - m P in the last
 *   period_k periods that lie in the past: p50 = their mean, upper base =
 *   the max over a window of +-P/16 ticks around each (a periodic job
 *   drifts by a few ticks).  Last value: p50 = upper base = held value.
 *   Calibration: per resource, fast source and horizon, an online quantile
 *   tracker of score = y - upper base (stochastic approximation:
 *   q += eta (1[s > q] - (1 - coverage)), eta = 0.1 * EW mean |s - q|;
 *   the max score until 20 scores are seen).  A ring per horizon as on the
 *   slow path would cost 24 x 1024 floats per VM for a tick-level signal;
 *   the tracker is O(1) and follows drift.
 *
 * FLOOR AT THE HELD VALUE (cfg->floor_held, default on)
 *   Slow p50 and calibrated upper are raised to the newest observed value
 *   of the resource.  The policy floors its allocation at observed used
 *   anyway, so a band below it only misleads the champion and the cost.
 *
 * COST-AWARE MARGIN (cfg->price_per_gib > 0; `virt-augur replay`'s
 *   default, price 2, and augurd's: augur.conf [forecast]
 *   memory_price_per_gib)
 *   The conformal margin at a fixed coverage spends the same quantile on
 *   every VM, whatever a shortfall or a GiB of buffer costs there.  With a
 *   price, each VM's memory margin at horizon h is instead
 *       b* = argmin_b  P(score > b) + lam * b,   b in {0} U {scores > 0}
 *   over the newest calib_ring scores (y - base) of that VM, source and
 *   horizon, kept sorted (insert/delete by binary search + memmove, O(R)),
 *   where lam = price_per_gib * prov / 100 / GiB is the price of one
 *   percent point of this VM's capacity.  So one GiB held as buffer for
 *   one step costs as much as `price` shortfall steps: VMs whose scores
 *   have a long thin tail get no margin for it, VMs with a short tail get
 *   it covered.  Until a
 *   horizon holds calib_min_n scores the conformal bound serves.
 *   The matching champion metric (AUGUR_PRED_CHAMPION_COST) judges each
 *   source by the same cost at h = 1 of what the policy would allocate,
 *   p50 + champion_knob x (upper - p50).  The price is a second knob next
 *   to the policy's buffer: replay tunes it on the slack it produces (see
 *   virsh-ext/cmd-replay.c), never on the shortfall.
 *
 * MODEL FLOOR (cfg->model_floor, default off; `replay --model-floor`)
 *   The champion is judged on every step's loss, and spikes are rare: on
 *   the scenario traces it demotes the model almost everywhere, although
 *   the model is the only source that sees the precursors of a spike
 *   (BENCHMARKS-replay.md).  With the floor, a baseline champion's p50 and
 *   calibrated upper are raised to the model's, so a forecast spike is
 *   never hidden by the champion; the slack this costs is traded back by
 *   the policy's buffer.
 *
 * MODEL GATE (cfg->model_gate, default on; `replay --no-model-gate`)
 *   What the model alone knows is when a rise may come: at a precursor
 *   its band reaches where the baselines' band calls a rare event.  The
 *   champion cannot keep that (spikes are a few steps a day: scenario
 *   traces, 6.7 % of spikes pre-provisioned with a baseline serving vs
 *   79.6 % with the model always serving), and the floor above keeps it
 *   by widening the band on every calm step.  So a demoted model raises
 *   a baseline champion's bound at an alarm only, by a margin learned on
 *   past alarms, and only on a VM where that has paid off:
 *     alarm at slow horizon h   model upper[h] > champion's conformal upper[h]
 *     raised p50[h]    = max(champion p50[h], model p50[h])
 *     raised upper[h]  = max(champion upper[h], model p50[h] + b),
 *     b = max(champion upper[h] - champion p50[h],  c x (model upper[h] - model p50[h]))
 *   (champion upper = the bound served, cost-aware when priced.)  c is
 *   the coverage quantile of (y - model p50) / (model upper - model p50)
 *   over past alarms at h = 1, tracked online like the fast path's
 *   quantiles (QTrack): a normalised conformal margin for the alarm
 *   regime alone.  The model's upper head is wide at a precursor and
 *   narrow elsewhere, so the raise follows the model's own uncertainty;
 *   raising to that upper head as it is (up to 2x the capacity at a login
 *   precursor) never paid off, and the champion's band alone (b without
 *   the c term) caught fewer spikes.  The conformal upper, not the served
 *   one, is the reference because a priced (cost-aware) bound can sit on
 *   the point, and then nearly every step alarms; alarming on the model's
 *   p50 instead of its upper caught fewer spikes (BENCHMARKS-replay.md).
 *   Judge: at every slow step the served upper at h = 1 and the raised one
 *   are remembered, gate open or not; when y arrives both get the loss the
 *   champion uses (bound_loss(): the cost with a price, else the pinball
 *   loss), with bounds above the capacity judged at the capacity (the
 *   policy never allocates more).  Off an alarm the two are equal, so EW
 *   sums over the alarm steps alone (half-life acc_halflife_s) hold the
 *   whole difference: the raise is judged on the steps where it matters,
 *   not drowned in the average as the champion is.  With a price the
 *   difference is  lam x (raise) - (shortfalls it removed),  the trade
 *   the price sets; the pinball loss at the coverage would accept a raise
 *   that is right 5 % of the time, and on Bitbrains that opened the gate
 *   almost everywhere (slack 0.35-0.46 at buffer 0).  The gate opens once
 *   it has scored MG_WARM alarms and while the raised loss is below the
 *   champion's; it is closed before, so a model must show it is right
 *   before it raises anything.  h = 1 because the policy's lead window
 *   is at most one slow step (augurd's 10 s, the replay's step).
 *   The scoring is counterfactual and that is sound: the guest's usage
 *   does not depend on the bound served (a balloon too small to hold it
 *   is the one feedback, and a raise only makes it rarer).  Everything is
 *   causal: c and the sums only see matured steps.
 *   Cost: O(1) per slow step, two compares per output horizon.
 *
 * PERIOD GATE (fast path)
 *   The period forecast may only raise the slow bound while doing so has
 *   paid off: EW losses (half-life acc_halflife_s, in ticks) of the slow
 *   upper alone and of max(slow, period) at horizon 1, pinball at the
 *   coverage or the cost above; after champion_warm ticks the period
 *   raises the bound only while the max is not worse.  A detected period
 *   that does not repeat exactly otherwise buys slack for nothing.
 *
 * COST (1 VM, LSTM 32 hidden, F = 42, T = 24, H = 12, 5 sources): a slow
 * step is dominated by the T-step NN replay (~T x 1.3 us) and ~120
 * calibration inserts; a fast tick is O(fast_H * period_k) plus the
 * detector amortised.  scripts/bench-tick.c measures the whole tick.
 *
 * MEMORY per VM: ~60 KiB of state plus the calibration rings, 2 resources
 * x sources x H x calib_ring x 8 B (5 x 2 x 12 x 288 x 8 = 276 KiB).
 */
#include "predictor.h"
#include "precursor.h"
#include "calib.h"
#include "nn-q.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define N_RES      AUGUR_PRED_N
#define N_SRC      AUGUR_PRED_SRC_N
#define FAST_LAST   0
#define FAST_PERIOD 1
#define N_FAST     2
#define NONE_STEP  G_MAXUINT64
#define QT_WARM    20        /* fast tracker: max score until this many, then
                              * the second largest (their 95th percentile)   */
#define QT_GAIN    0.1f      /* fast tracker step, in units of EW |s - q|    */
#define QT_SCALE_A 0.05f     /* EW weight of the scale                       */
#define PERIOD_NEAR 0.9f     /* a period within 90 % of the best r wins if shorter */
#define MG_CAP_PCT 100.0f    /* model gate: bounds are judged at most at the
                              * capacity; the policy never allocates more */
#define MG_WARM    4         /* model gate: alarm steps scored (ever) before
                              * it may open; a spike's precursor alarms for
                              * 1-3 steps, so about two announced spikes.
                              * Not an EW count: with alarms a few times a
                              * day, a 1-day half-life holds only ~3      */

/* Static names: [arch or baseline][suffix none, +period, +tick]. */
static const char *const model_names[AUGUR_ARCH_N][3] = {
        [AUGUR_ARCH_LSTM] = { "lstm_int", "lstm_int+period", "lstm_int+tick" },
        [AUGUR_ARCH_GRU] = { "gru_int", "gru_int+period", "gru_int+tick" },
};
static const char *const bl_names[AUGUR_BL_N][3] = {
        [AUGUR_BL_LAST_VALUE] = { "last_value", "last_value+period", "last_value+tick" },
        [AUGUR_BL_EWMA] = { "ewma", "ewma+period", "ewma+tick" },
        [AUGUR_BL_SEASONAL_NAIVE] = { "seasonal_naive", "seasonal_naive+period", "seasonal_naive+tick" },
        [AUGUR_BL_MEAN_1H] = { "mean_1h", "mean_1h+period", "mean_1h+tick" },
        [AUGUR_BL_RIDGE_AR] = { "ridge_ar", "ridge_ar+period", "ridge_ar+tick" },
};
static const char *const only_fast_names[3] = { "none", "period", "tick" };

static const AugurSig res_sig[N_RES] = { AUGUR_SIG_CPU, AUGUR_SIG_MEM };

struct AugurPredictor {
        AugurPredictorConfig cfg;
        const AugurModel *model;             /* borrowed, may be NULL         */
        AugurBaselineParams bl[N_RES];       /* per resource                  */
        AugurCalib *calib[N_SRC][N_RES];     /* NULL for a source not run     */
        guint F, T, O;                       /* model shapes (0 without)      */
        double acc_decay;                    /* tracker decay per slow step   */
        gboolean tick_mode;                  /* tick_s < step_s               */
        float *scratch;                      /* (2 fast_len + 2) detector     */
};

/* Online quantile tracker of the fast path. */
typedef struct {
        float q;                             /* current quantile estimate     */
        float scale;                         /* EW mean |s - q|               */
        float second;                        /* warm-up: second largest score */
        guint32 n;                           /* scores seen (saturates)       */
} QTrack;

static void qt_update (QTrack *t, float s, float coverage);
static double bound_loss (const AugurPredictor *p, const AugurPredictorVm *v, int r, float y, float u);

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
        AugurNNQState *nnq;
        float *win;                          /* (T, F) vectors, slot = step % T */
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

/* ------------------------------------------------------------ config */

void
augur_predictor_config_init (AugurPredictorConfig *cfg)
{
        memset (cfg, 0, sizeof *cfg);
        cfg->tick_s = AUGUR_FEAT_DEFAULT_STEP_S;  /* replay at 5 min           */
        cfg->step_s = AUGUR_FEAT_DEFAULT_STEP_S;  /* the model's grid          */
        cfg->H = 12;                              /* 1 h at 5 min (train default) */
        cfg->fast_H = 24;                         /* 2 min at a 5 s tick       */
        cfg->fast_len = 1024;                     /* 17 min at 1 s, 3.5 d at 5 min */
        cfg->period_min = 4;                      /* shorter is noise          */
        cfg->period_max = 0;                      /* fast_len / 3: 3 periods seen */
        cfg->period_every = 128;                  /* amortises the O(n L) ACF:
                                                   * ~2.5 k MACs per tick     */
        cfg->period_min_acf = 0.5f;               /* Bitbrains' daily ACF median
                                                   * is 0.15: rarely fires there */
        cfg->period_k = 3;
        cfg->fast_last_value = TRUE;
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        cfg->calib_ring = 288;                    /* 1 day at 5 min            */
        cfg->calib_min_n = 48;                    /* 4 h of a VM's own scores  */
        cfg->acc_halflife_s = 86400;              /* "the last day"            */
        cfg->champion_warm = 24;                  /* 2 h of matured steps      */
        cfg->champion_hysteresis = 0.05;
        cfg->champion_metric = AUGUR_PRED_CHAMPION_PINBALL;
        /* seasonal_naive loses everywhere in BASELINES.md; the period
         * detector covers real periodicity. */
        cfg->sources = ((1u << AUGUR_PRED_SRC_N) - 1) & ~(1u << AUGUR_PRED_SRC_SEASONAL_NAIVE);
        cfg->cold_source = AUGUR_PRED_SRC_EWMA;
        cfg->stagger = TRUE;
        cfg->floor_held = TRUE;
        cfg->price_per_gib = 0;                   /* coverage mode             */
        cfg->champion_knob = 1.0;                 /* the policy's default buffer */
        cfg->model_floor = FALSE;                 /* BENCHMARKS-replay.md */
        cfg->model_gate = TRUE;                   /* chosen on scenario seed 202,
                                                   * BENCHMARKS-replay.md */
        cfg->precursor_bound = TRUE;
}

static gboolean
src_on (const AugurPredictor *p, AugurPredSource s)
{
        if (s == AUGUR_PRED_SRC_MODEL && !p->model)
                return FALSE;
        return (p->cfg.sources >> s) & 1;
}

AugurPredictor *
augur_predictor_new (const AugurModel *model, const AugurPredictorConfig *cfg, GError **error)
{
        g_autoptr (AugurPredictor) p = g_new0 (AugurPredictor, 1);
        AugurPredictorConfig *c = &p->cfg;

        g_return_val_if_fail (cfg != NULL, NULL);
        *c = *cfg;
        p->model = model;
        if (model) {
                c->step_s = model->feat.step_s;
                c->H = model->H;
                p->F = model->F;
                p->T = model->T;
                p->O = model->nnq->n_out;
        }
        if (c->period_max == 0)
                c->period_max = c->fast_len / 3;
        if (!(c->tick_s > 0) || c->step_s <= 0 || c->H < 1 || c->H > AUGUR_PREDICTOR_MAX_H
            || c->fast_H < 1 || c->fast_H > AUGUR_PREDICTOR_MAX_H || c->fast_len < 16
            || c->period_min < 2 || c->period_every < 1 || c->period_k < 1
            || !(c->coverage > 0 && c->coverage < 1) || !(c->acc_halflife_s > 0)
            || c->cold_source >= AUGUR_PRED_SRC_N) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "predictor: configuration out of range (tick %g s, step %" G_GINT64_FORMAT
                             " s, H %u, fast_H %u, fast_len %u)", c->tick_s, c->step_s, c->H,
                             c->fast_H, c->fast_len);
                return NULL;
        }
        p->tick_mode = c->tick_s < (double) c->step_s;
        p->acc_decay = pow (0.5, (double) c->step_s / c->acc_halflife_s);
        for (int r = 0; r < N_RES; r++) {
                if (model)
                        p->bl[r] = model->bl[r];
                else
                        augur_baseline_params_init (&p->bl[r], c->H, c->step_s);
                p->bl[r].H = c->H;
                p->bl[r].step_s = c->step_s;
        }
        for (int s = 0; s < N_SRC; s++) {
                for (int r = 0; r < N_RES; r++) {
                        if (!src_on (p, (AugurPredSource) s))
                                continue;
                        p->calib[s][r] = augur_calib_new (c->H, c->coverage, c->calib_ring, c->calib_min_n);
                        if (!model)
                                continue;
                        /* Global fallback margins from the model file. */
                        if (s == AUGUR_PRED_SRC_MODEL)
                                augur_calib_set_global_margins (p->calib[s][r], model->nn_margin[1][r]);
                        else
                                augur_calib_set_global_margins (p->calib[s][r], model->bl_margin[r][s - 1]);
                }
        }
        p->scratch = g_new (float, (gsize) 2 * c->fast_len + 2);   /* ring copy, then acf */
        return g_steal_pointer (&p);
}

void
augur_predictor_free (AugurPredictor *p)
{
        if (!p)
                return;
        for (int s = 0; s < N_SRC; s++)
                for (int r = 0; r < N_RES; r++)
                        augur_calib_free (p->calib[s][r]);
        g_free (p->scratch);
        g_free (p);
}

const AugurPredictorConfig *
augur_predictor_config (const AugurPredictor *p)
{
        return &p->cfg;
}

static const char *
source_name_sfx (const AugurPredictor *p, AugurPredSource s, guint sfx)
{
        if (s == AUGUR_PRED_SRC_MODEL && p->model)
                return model_names[p->model->nn->cfg.arch][sfx];
        if (s >= AUGUR_PRED_SRC_LAST_VALUE && s < AUGUR_PRED_SRC_N)
                return bl_names[s - 1][sfx];
        return only_fast_names[sfx];
}

const char *
augur_predictor_source_name (const AugurPredictor *p, AugurPredSource s)
{
        return source_name_sfx (p, s, 0);
}

/* --------------------------------------------------------------- VM */

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
fpend_at (const AugurPredictor *p, const AugurPredictorVm *v, guint slot, int r, int f)
{
        return v->fpend + (((gsize) slot * N_RES + r) * N_FAST + f) * p->cfg.fast_H;
}

static inline float *
fcur_at (const AugurPredictor *p, const AugurPredictorVm *v, int r, int f, int what)
{
        return v->fcur + (((gsize) r * N_FAST + f) * 2 + what) * p->cfg.fast_H;
}

static inline QTrack *
qt_at (const AugurPredictor *p, const AugurPredictorVm *v, int r, int f, guint j)
{
        return &v->qt[((gsize) r * N_FAST + f) * p->cfg.fast_H + j];
}

AugurPredictorVm *
augur_predictor_vm_new (AugurPredictor *p, const char *vm)
{
        const AugurPredictorConfig *c;
        AugurPredictorVm *v;
        guint H;

        g_return_val_if_fail (p != NULL && vm != NULL, NULL);
        c = &p->cfg;
        H = c->H;
        v = g_new0 (AugurPredictorVm, 1);
        v->p = p;
        v->name = g_strdup (vm);
        v->phase_s = (p->tick_mode && c->stagger) ? (gint64) (augur_fnv1a32 (vm, strlen (vm)) % (guint32) c->step_s) : 0;
        augur_precursor_init (&v->prec, c->step_s);
        v->prec_bound = NAN;
        if (p->model) {
                v->feat = augur_features_state_new (&p->model->feat);
                v->nnq = augur_nnq_state_new (p->model->nnq);
                v->win = g_new0 (float, (gsize) p->T * p->F);
                v->nn_out = g_new0 (float, p->O);
        }
        for (int r = 0; r < N_RES; r++) {
                augur_baseline_state_init (&v->bl[r], &p->bl[r]);
                v->champion[r] = p->model ? AUGUR_PRED_SRC_MODEL : c->cold_source;
        }
        v->cur = g_new (float, (gsize) N_SRC * N_RES * 3 * H);
        v->pend = g_new (float, (gsize) (H + 1) * N_SRC * N_RES * 3 * H);
        v->pend_origin = g_new (guint64, H + 1);
        v->pend_ok = g_new0 (guint8, (gsize) (H + 1) * N_SRC * N_RES);
        for (guint i = 0; i <= H; i++)
                v->pend_origin[i] = NONE_STEP;
        v->mg_step = NONE_STEP;
        v->prov_kib = NAN;
        v->cores = NAN;
        if (c->price_per_gib > 0) {
                gsize len = (gsize) N_SRC * H * c->calib_ring;

                v->cost_ring = g_new (float, len);
                v->cost_sorted = g_new (float, len);
                v->cost_n = g_new0 (guint, (gsize) N_SRC * H);
                v->cost_pos = g_new0 (guint, (gsize) N_SRC * H);
                v->cost_up = g_new (float, H);
                v->pend_cu = g_new (float, (gsize) (H + 1) * N_SRC);
        }

        v->ring = g_new (float, (gsize) N_RES * c->fast_len);
        for (gsize i = 0; i < (gsize) N_RES * c->fast_len; i++)
                v->ring[i] = NAN;
        v->fpend = g_new (float, (gsize) (c->fast_H + 1) * N_RES * N_FAST * c->fast_H);
        v->fpend_origin = g_new (guint64, c->fast_H + 1);
        v->fpend_held = g_new (float, (gsize) (c->fast_H + 1) * N_RES);
        v->fpend_per = g_new0 (guint8, c->fast_H + 1);
        for (guint i = 0; i <= c->fast_H; i++)
                v->fpend_origin[i] = NONE_STEP;
        v->qt = g_new0 (QTrack, (gsize) N_RES * N_FAST * c->fast_H);
        v->fcur = g_new (float, (gsize) N_RES * N_FAST * 2 * c->fast_H);
        /* Stagger the detector too. */
        v->next_detect = c->period_every > 1 ? augur_fnv1a32 (vm, strlen (vm)) % c->period_every : 0;
        return v;
}

void
augur_predictor_vm_free (AugurPredictorVm *v)
{
        if (!v)
                return;
        g_free (v->name);
        augur_features_state_free (v->feat);
        augur_nnq_state_free (v->nnq);
        g_free (v->win);
        g_free (v->nn_out);
        g_free (v->cur);
        g_free (v->pend);
        g_free (v->pend_origin);
        g_free (v->pend_ok);
        g_free (v->cost_ring);
        g_free (v->cost_sorted);
        g_free (v->cost_n);
        g_free (v->cost_pos);
        g_free (v->cost_up);
        g_free (v->pend_cu);
        g_free (v->ring);
        g_free (v->fpend);
        g_free (v->fpend_origin);
        g_free (v->fpend_held);
        g_free (v->fpend_per);
        g_free (v->qt);
        g_free (v->fcur);
        g_free (v);
}

/* -------------------------------------------------------- slow path */

static float
pinball (float q, float y, float u)
{
        return y >= u ? q * (y - u) : (1.0f - q) * (u - y);
}

/* Add a memory score of source s at horizon h to the cost rings. */
static void
cost_add (const AugurPredictor *p, AugurPredictorVm *v, int s, guint h, float score)
{
        const guint R = p->cfg.calib_ring;
        gsize k = (gsize) s * p->cfg.H + h - 1;
        float *ring = v->cost_ring + k * R, *sorted = v->cost_sorted + k * R;
        guint n = v->cost_n[k], i;

        if (n == R) {
                i = augur_lower_bound_f (sorted, n, ring[v->cost_pos[k]]);
                memmove (sorted + i, sorted + i + 1, (n - i - 1) * sizeof *sorted);
                n--;
        }
        i = augur_lower_bound_f (sorted, n, score);
        memmove (sorted + i + 1, sorted + i, (n - i) * sizeof *sorted);
        sorted[i] = score;
        v->cost_n[k] = n + 1;
        ring[v->cost_pos[k]] = score;
        v->cost_pos[k] = (v->cost_pos[k] + 1) % R;
}

/* The cost-aware margin over sorted scores a[0..n): argmin over b in
 * {0} U {a_j > 0} of  P(score > b) + lam * b  (lam per percent point). */
static float
cost_margin (const float *a, guint n, double lam)
{
        guint j = augur_lower_bound_f (a, n, 0.0f);
        double best;
        float b = 0;

        /* b = 0: every positive score is a shortfall */
        while (j < n && a[j] <= 0)
                j++;
        best = (double) (n - j) / n;
        for (; j < n; j++) {
                double c;

                if (j + 1 < n && a[j + 1] == a[j])
                        continue;   /* the last of equal scores counts them all */
                c = (double) (n - 1 - j) / n + lam * a[j];
                if (c < best) {
                        best = c;
                        b = a[j];
                }
        }
        return b;
}

/* The price per percent point of this VM's memory capacity. */
static double
cost_lambda (const AugurPredictor *p, const AugurPredictorVm *v)
{
        return p->cfg.price_per_gib * (v->prov_kib / 100.0) / (1024.0 * 1024.0);
}

/* Cost-aware memory upper of the served source s (pct), from its rings;
 * FALSE while a horizon has fewer than calib_min_n scores. */
static gboolean
cost_upper (const AugurPredictor *p, AugurPredictorVm *v, AugurPredSource s)
{
        const guint H = p->cfg.H, R = p->cfg.calib_ring;
        double lam;

        if (s == AUGUR_PRED_SRC_NONE || !v->cur_ok[s][AUGUR_PRED_MEM] || isnan (v->prov_kib))
                return FALSE;
        lam = cost_lambda (p, v);
        for (guint h = 1; h <= H; h++) {
                gsize k = (gsize) s * H + h - 1;

                if (v->cost_n[k] < p->cfg.calib_min_n)
                        return FALSE;
                v->cost_up[h - 1] = cur_at (p, v, s, AUGUR_PRED_MEM, 2)[h - 1]
                                    + cost_margin (v->cost_sorted + k * R, v->cost_n[k], lam);
        }
        return TRUE;
}

/* Step 1: forecasts made for step `step` meet their targets y. */
static void
slow_mature (AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y)
{
        const guint H = p->cfg.H;
        const float q = p->cfg.coverage;
        double ae[N_SRC][N_RES] = { { 0 } }, pin[N_SRC][N_RES] = { { 0 } };
        guint cnt[N_SRC][N_RES] = { { 0 } };
        double cost_loss[N_SRC];

        for (int s = 0; s < N_SRC; s++)
                cost_loss[s] = NAN;

        for (guint h = 1; h <= H && h <= step; h++) {
                guint64 origin = step - h;
                guint slot = (guint) (origin % (H + 1));

                if (v->pend_origin[slot] != origin)
                        continue;
                for (int s = 0; s < N_SRC; s++) {
                        for (int r = 0; r < N_RES; r++) {
                                float pt, up, base;

                                if (isnan (y[r]) || !v->pend_ok[((gsize) slot * N_SRC + s) * N_RES + r])
                                        continue;
                                pt = pend_at (p, v, slot, s, r, 0)[h - 1];
                                up = pend_at (p, v, slot, s, r, 1)[h - 1];
                                base = pend_at (p, v, slot, s, r, 2)[h - 1];
                                if (isnan (base) || isnan (pt))
                                        continue;
                                augur_calib_add (p->calib[s][r], v->name, h, y[r] - base, FALSE);
                                if (r == AUGUR_PRED_MEM && v->cost_ring) {
                                        float cu = v->pend_cu[(gsize) slot * N_SRC + s];

                                        cost_add (p, v, s, h, y[r] - base);
                                        if (h == 1 && !isnan (cu) && !isnan (v->prov_kib)) {
                                                /* what the policy allocates from it */
                                                cu = pt + (float) p->cfg.champion_knob * (cu - pt);
                                                cost_loss[s] = (y[r] > cu ? 1.0 : 0.0)
                                                               + cost_lambda (p, v) * (cu - y[r]);
                                        }
                                }
                                ae[s][r] += fabsf (y[r] - pt);
                                pin[s][r] += pinball (q, y[r], up);
                                cnt[s][r]++;
                        }
                }
        }
        for (int s = 0; s < N_SRC; s++) {
                v->acc_cost_w[s] *= p->acc_decay;
                v->acc_cost[s] *= p->acc_decay;
                if (!isnan (cost_loss[s])) {
                        v->acc_cost_w[s] += 1.0;
                        v->acc_cost[s] += cost_loss[s];
                }
                for (int r = 0; r < N_RES; r++) {
                        v->acc_w[s][r] *= p->acc_decay;
                        v->acc_ae[s][r] *= p->acc_decay;
                        v->acc_pin[s][r] *= p->acc_decay;
                        if (cnt[s][r] == 0)
                                continue;
                        v->acc_w[s][r] += 1.0;
                        v->acc_ae[s][r] += ae[s][r] / cnt[s][r];
                        v->acc_pin[s][r] += pin[s][r] / cnt[s][r];
                }
        }
}

/* Step 3: the int NN on the last T vectors.  FALSE when the window is not
 * usable (same rule as augur_vm_data_window_ok: observed origin, one
 * segment of at least T steps). */
static gboolean
slow_model (AugurPredictor *p, AugurPredictorVm *v, guint64 step, gboolean observed)
{
        const AugurModel *m = p->model;
        const guint T = p->T, F = p->F, H = p->cfg.H;

        if (!v->feat_ok || !observed || augur_features_state_age (v->feat) + 1 < T)
                return FALSE;
        augur_nnq_reset_state (v->nnq);
        for (guint i = 0; i < T; i++) {
                guint64 k = step + 1 - T + i;

                augur_nnq_step (m->nnq, v->nnq, v->win + (gsize) (k % T) * F);
        }
        augur_nnq_output (m->nnq, v->nnq, v->nn_out);
        for (int r = 0; r < N_RES; r++) {
                AugurSig sig = res_sig[r];
                float held = augur_features_state_held (v->feat, sig);
                float scale = m->feat.norm.sd[sig];
                float *pt = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0);
                float *base = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 2);

                if (isnan (held))
                        continue;
                for (guint h = 1; h <= H; h++) {
                        pt[h - 1] = held + scale * v->nn_out[augur_model_out_index (H, (AugurTarget) r, 0, h)];
                        base[h - 1] = held + scale * v->nn_out[augur_model_out_index (H, (AugurTarget) r, 1, h)];
                }
                v->cur_ok[AUGUR_PRED_SRC_MODEL][r] = 1;
        }
        return TRUE;
}

static double
acc_loss (const AugurPredictor *p, const AugurPredictorVm *v, int s, int r)
{
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_COST && r == AUGUR_PRED_MEM && v->cost_ring)
                return v->acc_cost_w[s] > 0 ? v->acc_cost[s] / v->acc_cost_w[s] : INFINITY;
        if (v->acc_w[s][r] <= 0)
                return INFINITY;
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_MAE)
                return v->acc_ae[s][r] / v->acc_w[s][r];
        return v->acc_pin[s][r] / v->acc_w[s][r];
}

static gboolean
warm (const AugurPredictor *p, const AugurPredictorVm *v, int s, int r)
{
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_COST && r == AUGUR_PRED_MEM && v->cost_ring)
                return src_on (p, (AugurPredSource) s) && v->acc_cost_w[s] >= p->cfg.champion_warm;
        return src_on (p, (AugurPredSource) s) && v->acc_w[s][r] >= p->cfg.champion_warm;
}

/* Best warm baseline with a forecast now, or NONE. */
static AugurPredSource
best_baseline (const AugurPredictor *p, const AugurPredictorVm *v, int r)
{
        AugurPredSource best = AUGUR_PRED_SRC_NONE;
        double bl = INFINITY;

        for (int s = AUGUR_PRED_SRC_LAST_VALUE; s < N_SRC; s++) {
                double l;

                if (!warm (p, v, s, r) || !v->cur_ok[s][r])
                        continue;
                l = acc_loss (p, v, s, r);
                if (l < bl) {
                        bl = l;
                        best = (AugurPredSource) s;
                }
        }
        return best;
}

/* Step 5: update the champion of resource r; returns the source serving
 * now (which has a forecast), or NONE. */
static AugurPredSource
slow_champion (AugurPredictor *p, AugurPredictorVm *v, int r)
{
        const double hy = p->cfg.champion_hysteresis;
        AugurPredSource cur = v->champion[r];
        AugurPredSource best = best_baseline (p, v, r);

        if (p->model && src_on (p, AUGUR_PRED_SRC_MODEL)) {
                if (!warm (p, v, AUGUR_PRED_SRC_MODEL, r) || best == AUGUR_PRED_SRC_NONE) {
                        cur = AUGUR_PRED_SRC_MODEL;
                } else if (cur == AUGUR_PRED_SRC_MODEL) {
                        if (acc_loss (p, v, AUGUR_PRED_SRC_MODEL, r) > (1 + hy) * acc_loss (p, v, best, r))
                                cur = best;
                } else if (acc_loss (p, v, AUGUR_PRED_SRC_MODEL, r) <= acc_loss (p, v, best, r)) {
                        cur = AUGUR_PRED_SRC_MODEL;
                } else if (cur != best && (!warm (p, v, cur, r) || !v->cur_ok[cur][r]
                                           || acc_loss (p, v, best, r) < (1 - hy) * acc_loss (p, v, cur, r))) {
                        cur = best;
                }
        } else if (best != AUGUR_PRED_SRC_NONE && cur != best) {
                if (!warm (p, v, cur, r) || !v->cur_ok[cur][r]
                    || acc_loss (p, v, best, r) < (1 - hy) * acc_loss (p, v, cur, r))
                        cur = best;
        }
        v->champion[r] = cur;

        /* Serve: the champion, else the best baseline, the cold source,
         * then anything with a forecast. */
        if (v->cur_ok[cur][r])
                return cur;
        if (best != AUGUR_PRED_SRC_NONE)
                return best;
        if (v->cur_ok[p->cfg.cold_source][r])
                return p->cfg.cold_source;
        for (int s = 0; s < N_SRC; s++)
                if (v->cur_ok[s][r])
                        return (AugurPredSource) s;
        return AUGUR_PRED_SRC_NONE;
}

/* Held (newest observed) value of resource r at the newest slow step. */
static float
bl_held (const AugurPredictorVm *v, int r)
{
        const AugurBaselineState *b = &v->bl[r];

        if (b->steps == 0)
                return NAN;
        return b->held[(b->steps - 1) % AUGUR_BL_HIST];
}

static float
nanmax (float a, float b)
{
        if (isnan (a))
                return b;
        if (isnan (b))
                return a;
        return MAX (a, b);
}

/* MODEL GATE: does the model alarm at slow horizon hs (1-based) of
 * resource r: is its upper bound above champion s's conformal upper
 * bound?  Says nothing about whether the gate is open. */
static gboolean
mg_alarm (const AugurPredictor *p, const AugurPredictorVm *v, int r, AugurPredSource s, guint hs)
{
        if (!p->cfg.model_gate || p->cfg.model_floor
            || s == AUGUR_PRED_SRC_MODEL || s == AUGUR_PRED_SRC_NONE
            || !v->cur_ok[AUGUR_PRED_SRC_MODEL][r] || !v->cur_ok[s][r])
                return FALSE;
        return cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1] > cur_at (p, v, s, r, 1)[hs - 1];
}

/* MODEL GATE: the raised upper at slow horizon hs of an alarm, over the
 * champion's p50 sp and upper su: the model's p50 plus the wider of the
 * champion's band and c x the model's band (c learned on past alarms). */
static float
mg_raise (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint hs, float sp, float su)
{
        float mp = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1];
        float mu = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1];
        float b = su - sp;

        if (v->mg_c[r].n > 0 && mu > mp)
                b = nanmax (b, v->mg_c[r].q * (mu - mp));
        return nanmax (su, mp + b);
}

/* MODEL GATE: has raising paid off on this VM's alarms? */
static gboolean
mg_open (const AugurPredictorVm *v, int r)
{
        return v->mg_n[r] >= MG_WARM && v->mg_raised[r] < v->mg_alone[r];
}

/* MODEL GATE: the targets y (N_RES) of slow step `step` meet the h = 1
 * bounds remembered one step before; decays the sums every step. */
static void
mg_score (const AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y)
{
        gboolean next = v->mg_step != NONE_STEP && v->mg_step + 1 == step;

        for (int r = 0; r < N_RES; r++) {
                v->mg_w[r] *= p->acc_decay;
                v->mg_alone[r] *= p->acc_decay;
                v->mg_raised[r] *= p->acc_decay;
                if (!next || isnan (y[r]) || isnan (v->mg_su[r]) || isnan (v->mg_ru[r]))
                        continue;
                v->mg_n[r] += v->mg_n[r] < G_MAXUINT32;
                v->mg_w[r] += 1.0;
                v->mg_alone[r] += bound_loss (p, v, r, y[r], MIN (v->mg_su[r], MG_CAP_PCT));
                v->mg_raised[r] += bound_loss (p, v, r, y[r], MIN (v->mg_ru[r], MG_CAP_PCT));
                if (v->mg_mb[r] > 0)
                        qt_update (&v->mg_c[r], (y[r] - v->mg_mp[r]) / v->mg_mb[r], p->cfg.coverage);
        }
}

/* MODEL GATE: remember the h = 1 bounds of this slow step, served by
 * served[] (N_RES), for mg_score() at the next. */
static void
mg_remember (const AugurPredictor *p, AugurPredictorVm *v, guint64 step, const AugurPredSource *served)
{
        v->mg_step = step;
        for (int r = 0; r < N_RES; r++) {
                AugurPredSource s = served[r];
                float su = NAN, ru = NAN;

                if (s != AUGUR_PRED_SRC_NONE && v->cur_ok[s][r]) {
                        su = r == AUGUR_PRED_MEM && v->cost_ok ? v->cost_up[0] : cur_at (p, v, s, r, 1)[0];
                        if (mg_alarm (p, v, r, s, 1)) {
                                ru = mg_raise (p, v, r, 1, cur_at (p, v, s, r, 0)[0], su);
                                v->mg_mp[r] = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[0];
                                v->mg_mb[r] = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[0] - v->mg_mp[r];
                        }
                }
                v->mg_su[r] = su;
                v->mg_ru[r] = ru;
        }
}

/* Feed one empty sample at ts to the features (a skipped slow step), so the
 * window holds what the batch path computes. */
static void
slow_feed_missing (AugurPredictor *p, AugurPredictorVm *v, guint64 step, gint64 ts)
{
        AugurFeatSample e;

        e.ts = ts;
        for (int c = 0; c < AUGUR_COL_N; c++)
                e.v[c] = NAN;
        augur_features_update (v->feat, &e, v->win + (gsize) (step % p->T) * p->F);
}

/* One slow step with sample x; ret_served (N_RES) gets the serving source.
 * FALSE when x is not later than the previous slow sample. */
static gboolean
slow_step (AugurPredictor *p, AugurPredictorVm *v, const AugurFeatSample *x,
           AugurPredSource *ret_served)
{
        const guint H = p->cfg.H;
        const gint64 st = p->cfg.step_s;
        float y[N_RES];
        guint64 step = 0;
        gint64 k = 1;
        gboolean observed;
        guint slot;

        if (v->slow_started) {
                k = (x->ts - v->slow_last_ts + st / 2) / st;
                if (k <= 0)
                        return FALSE;
                step = v->slow_step + (guint64) k;
        }
        for (int r = 0; r < N_RES; r++)
                y[r] = augur_features_signal (x, res_sig[r]);
        observed = !isnan (y[AUGUR_PRED_CPU]) || !isnan (y[AUGUR_PRED_MEM]);

        slow_mature (p, v, step, y);
        mg_score (p, v, step, y);
        v->prec_bound = p->cfg.precursor_bound
                        ? augur_precursor_step (&v->prec, step, augur_features_signal (x, AUGUR_SIG_INPUT),
                                                augur_features_signal (x, AUGUR_SIG_SESSIONS),
                                                x->v[AUGUR_COL_DISK_WR_KIBPS], y[AUGUR_PRED_MEM])
                        : NAN;
        for (int r = 0; r < N_RES; r++)
                augur_baseline_state_update (&v->bl[r], x->ts, y[r]);

        memset (v->cur_ok, 0, sizeof v->cur_ok);
        if (v->feat) {
                /* Skipped steps: at most max_fill + 1 of them matter (then
                 * the features are in a gap and reset anyway). */
                gint64 fill = MIN (k - 1, (gint64) p->model->feat.max_fill_steps + 1);

                for (gint64 j = 1; j <= fill; j++)
                        slow_feed_missing (p, v, step - (guint64) (k - j), v->slow_last_ts + j * st);
                v->feat_ok = augur_features_update (v->feat, x, v->win + (gsize) (step % p->T) * p->F);
                if (src_on (p, AUGUR_PRED_SRC_MODEL))
                        slow_model (p, v, step, observed);
        }
        for (int s = AUGUR_PRED_SRC_LAST_VALUE; s < N_SRC; s++) {
                if (!src_on (p, (AugurPredSource) s))
                        continue;
                for (int r = 0; r < N_RES; r++) {
                        float *pt = cur_at (p, v, s, r, 0);

                        if (!augur_baseline_state_forecast (&v->bl[r], (AugurBaselineKind) (s - 1), pt))
                                continue;
                        memcpy (cur_at (p, v, s, r, 2), pt, H * sizeof *pt);
                        v->cur_ok[s][r] = 1;
                }
        }
        if (p->cfg.floor_held) {
                for (int r = 0; r < N_RES; r++) {
                        float held = bl_held (v, r);

                        if (isnan (held))
                                continue;
                        for (int s = 0; s < N_SRC; s++) {
                                float *pt = cur_at (p, v, s, r, 0), *base = cur_at (p, v, s, r, 2);

                                if (!v->cur_ok[s][r])
                                        continue;
                                for (guint h = 0; h < H; h++) {
                                        pt[h] = MAX (pt[h], held);
                                        base[h] = MAX (base[h], held);
                                }
                        }
                }
        }
        /* Calibrated upper bounds, then remember everything for step 1. */
        slot = (guint) (step % (H + 1));
        v->pend_origin[slot] = step;
        for (int s = 0; s < N_SRC; s++) {
                for (int r = 0; r < N_RES; r++) {
                        float *base = cur_at (p, v, s, r, 2), *up = cur_at (p, v, s, r, 1);

                        v->pend_ok[((gsize) slot * N_SRC + s) * N_RES + r] = v->cur_ok[s][r];
                        if (!v->cur_ok[s][r])
                                continue;
                        for (guint h = 1; h <= H; h++)
                                up[h - 1] = base[h - 1] + augur_calib_margin (p->calib[s][r], v->name, h);
                        for (int w = 0; w < 3; w++)
                                memcpy (pend_at (p, v, slot, s, r, w), cur_at (p, v, s, r, w), H * sizeof (float));
                }
        }
        if (v->cost_ring) {
                double lam = cost_lambda (p, v);

                for (int s = 0; s < N_SRC; s++) {
                        const guint R = p->cfg.calib_ring;
                        gsize k1 = (gsize) s * H;   /* horizon 1 */
                        float cu = NAN;

                        if (v->cur_ok[s][AUGUR_PRED_MEM] && v->cost_n[k1] >= p->cfg.calib_min_n && !isnan (lam))
                                cu = cur_at (p, v, s, AUGUR_PRED_MEM, 2)[0]
                                     + cost_margin (v->cost_sorted + k1 * R, v->cost_n[k1], lam);
                        v->pend_cu[(gsize) slot * N_SRC + s] = cu;
                }
        }
        for (int r = 0; r < N_RES; r++)
                ret_served[r] = slow_champion (p, v, r);
        v->cost_ok = v->cost_ring && cost_upper (p, v, ret_served[AUGUR_PRED_MEM]);
        mg_remember (p, v, step, ret_served);
        v->slow_started = TRUE;
        v->slow_last_ts = x->ts;
        v->slow_step = step;
        return TRUE;
}

/* -------------------------------------------------------- fast path */

static void
qt_update (QTrack *t, float s, float coverage)
{
        if (t->n < QT_WARM) {
                if (t->n == 0) {
                        t->q = s;
                        t->second = -INFINITY;
                } else if (s > t->q) {
                        t->second = t->q;
                        t->q = s;
                } else if (s > t->second) {
                        t->second = s;
                }
                t->scale = t->n == 0 ? fabsf (s) : t->scale + QT_SCALE_A * (fabsf (s - t->q) - t->scale);
                /* Leaving warm-up: the second largest of QT_WARM scores is
                 * their 95th percentile; the largest alone (one burst onset
                 * the window missed) held the band high for a minute on a
                 * real guest while the tracker came down (resize-vcpu.sh). */
                if (++t->n == QT_WARM)
                        t->q = t->second;
                return;
        }
        t->scale += QT_SCALE_A * (fabsf (s - t->q) - t->scale);
        t->q += QT_GAIN * MAX (t->scale, 1e-3f) * ((s > t->q ? 1.0f : 0.0f) - (1.0f - coverage));
}

static inline float
ring_val (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint64 i)
{
        return v->ring[(gsize) r * p->cfg.fast_len + i % p->cfg.fast_len];
}

/* acf[l] = sum_i x[i] x[i + l] for l in [l0, l1] (l1 < n), as one axpy
 * per i over contiguous lags (no float reduction to reorder), four lanes
 * at a time with GCC vector extensions (SSE2 on x86-64, NEON on arm64).
 * Cost (n - l0) * (l1 - l0) multiply-adds. */
typedef float AugurV4 __attribute__ ((vector_size (16)));

static void
acf_lags (const float *restrict x, gsize n, gsize l0, gsize l1, float *restrict acf)
{
        for (gsize l = l0; l <= l1; l++)
                acf[l] = 0;
        for (gsize i = 0; i + l0 < n; i++) {
                const float xi = x[i];
                const AugurV4 xv = { xi, xi, xi, xi };
                gsize hi = MIN (l1, n - 1 - i), l = l0;

                for (; l + 3 <= hi; l += 4) {
                        AugurV4 a, b;

                        memcpy (&a, acf + l, sizeof a);
                        memcpy (&b, x + i + l, sizeof b);
                        a += xv * b;
                        memcpy (acf + l, &a, sizeof a);
                }
                for (; l <= hi; l++)
                        acf[l] += xi * x[i + l];
        }
}

/* Period of resource r over the ring (0 = none). */
static void
fast_detect (AugurPredictor *p, AugurPredictorVm *v, int r)
{
        const AugurPredictorConfig *c = &p->cfg;
        guint n = (guint) MIN (v->tick, (guint64) c->fast_len);
        guint lmax = MIN (c->period_max, n / 2);
        float *x = p->scratch, *acf = p->scratch + c->fast_len;
        double mean = 0, var = 0;
        float best = -INFINITY;
        guint m = 0;

        v->period[r] = 0;
        v->period_acf[r] = 0;
        if (lmax < c->period_min + 1)
                return;
        for (guint i = 0; i < n; i++) {
                float val = ring_val (p, v, r, v->tick - n + i);

                x[i] = val;
                if (!isnan (val)) {
                        mean += val;
                        m++;
                }
        }
        if (m < n / 2)
                return;
        mean /= m;
        for (guint i = 0; i < n; i++) {
                x[i] = isnan (x[i]) ? 0.0f : (float) (x[i] - mean);
                var += (double) x[i] * x[i];
        }
        var /= n;
        if (var < 1e-6)
                return;   /* flat: nothing periodic to see */
        /* acf[l] for l in [period_min - 1, lmax + 1], accumulated as one
         * axpy per i (acf[l] += x[i] x[i + l] over l): contiguous, no
         * reduction, so the compiler vectorises it without reordering a
         * float sum. */
        acf_lags (x, n, c->period_min - 1, lmax + 1, acf);
        for (guint l = c->period_min - 1; l <= lmax + 1; l++)
                acf[l] = (float) ((double) acf[l] / (n - l) / var);
        for (guint l = c->period_min; l <= lmax; l++)
                if (acf[l] >= acf[l - 1] && acf[l] >= acf[l + 1])
                        best = MAX (best, acf[l]);
        if (best < c->period_min_acf)
                return;
        /* The shortest local maximum near the best: a multiple of the
         * true period scores about as well and must not win. */
        for (guint l = c->period_min; l <= lmax; l++) {
                if (acf[l] >= acf[l - 1] && acf[l] >= acf[l + 1] && acf[l] >= PERIOD_NEAR * best) {
                        v->period[r] = l;
                        v->period_acf[r] = acf[l];
                        return;
                }
        }
}

/* Push y (N_RES) at tick `tick`. */
static void
fast_push (AugurPredictor *p, AugurPredictorVm *v, const float *y)
{
        for (int r = 0; r < N_RES; r++) {
                v->ring[(gsize) r * p->cfg.fast_len + v->tick % p->cfg.fast_len] = y[r];
                if (!isnan (y[r])) {
                        v->held[r] = y[r];
                        v->held_tick[r] = v->tick;
                        v->held_any[r] = TRUE;
                }
        }
        v->tick++;
}

static void
fast_mature (AugurPredictor *p, AugurPredictorVm *v, guint64 t, const float *y)
{
        const guint FH = p->cfg.fast_H;

        for (guint j = 1; j <= FH && j <= t; j++) {
                guint64 origin = t - j;
                guint slot = (guint) (origin % (FH + 1));

                if (v->fpend_origin[slot] != origin)
                        continue;
                for (int r = 0; r < N_RES; r++) {
                        float base = v->fpend_held[(gsize) slot * N_RES + r];

                        if (isnan (y[r]))
                                continue;
                        if (!isnan (base))
                                qt_update (qt_at (p, v, r, FAST_LAST, j - 1), y[r] - base, p->cfg.coverage);
                        if (!v->fpend_per[slot])
                                continue;
                        base = fpend_at (p, v, slot, r, FAST_PERIOD)[j - 1];
                        if (!isnan (base))
                                qt_update (qt_at (p, v, r, FAST_PERIOD, j - 1), y[r] - base, p->cfg.coverage);
                }
        }
}

/* Forecasts of the fast sources from the newest tick t = v->tick - 1. */
static void
fast_forecast (AugurPredictor *p, AugurPredictorVm *v)
{
        const AugurPredictorConfig *c = &p->cfg;
        const guint FH = c->fast_H;
        guint64 t = v->tick - 1;
        guint slot = (guint) (t % (FH + 1));

        v->fpend_origin[slot] = t;
        v->fpend_per[slot] = v->period[0] || v->period[1];
        for (int r = 0; r < N_RES; r++) {
                gboolean held_ok = v->held_any[r] && t - v->held_tick[r] < c->fast_len;
                guint P = v->period[r];
                float *lp50 = fcur_at (p, v, r, FAST_LAST, 0), *lup = fcur_at (p, v, r, FAST_LAST, 1);
                float *pp50 = fcur_at (p, v, r, FAST_PERIOD, 0), *pup = fcur_at (p, v, r, FAST_PERIOD, 1);
                float *pbase = fpend_at (p, v, slot, r, FAST_PERIOD);
                gboolean any_p = FALSE;

                v->fpend_held[(gsize) slot * N_RES + r] = held_ok ? v->held[r] : NAN;
                for (guint j = 1; j <= FH; j++) {
                        float base = held_ok ? v->held[r] : NAN;
                        const QTrack *q = qt_at (p, v, r, FAST_LAST, j - 1);

                        lp50[j - 1] = base;
                        lup[j - 1] = isnan (base) || q->n == 0 ? NAN : base + q->q;
                }
                v->fcur_ok[r][FAST_LAST] = held_ok;

                for (guint j = 1; j <= FH; j++) {
                        double sum = 0;
                        guint ns = 0;
                        float mx = NAN;
                        const QTrack *q = qt_at (p, v, r, FAST_PERIOD, j - 1);

                        pp50[j - 1] = NAN;
                        pup[j - 1] = NAN;
                        if (P == 0 && !v->fpend_per[slot])
                                continue;
                        pbase[j - 1] = NAN;
                        if (P == 0)
                                continue;
                        for (guint m0 = (j + P - 1) / P, m = m0; m < m0 + c->period_k; m++) {
                                guint w = P / 16;
                                gint64 centre = (gint64) t + j - (gint64) m * P;
                                float val;

                                if (centre < 0 || t - (guint64) centre >= c->fast_len)
                                        break;
                                val = ring_val (p, v, r, (guint64) centre);
                                if (!isnan (val)) {
                                        sum += val;
                                        ns++;
                                }
                                for (gint64 i = centre - w; i <= centre + (gint64) w; i++) {
                                        if (i < 0 || (guint64) i > t || t - (guint64) i >= c->fast_len)
                                                continue;
                                        val = ring_val (p, v, r, (guint64) i);
                                        if (!isnan (val) && (isnan (mx) || val > mx))
                                                mx = val;
                                }
                        }
                        if (ns == 0 || isnan (mx))
                                continue;
                        pbase[j - 1] = mx;
                        pp50[j - 1] = (float) (sum / ns);
                        pup[j - 1] = q->n == 0 ? NAN : mx + q->q;
                        any_p = TRUE;
                }
                v->fcur_ok[r][FAST_PERIOD] = any_p;
        }
}

/* Loss of an upper bound u for the outcome y, in the units the champion
 * uses: the cost (shortfall + price x slack) with a price, else the
 * pinball loss at the coverage. */
static double
bound_loss (const AugurPredictor *p, const AugurPredictorVm *v, int r, float y, float u)
{
        if (p->cfg.price_per_gib > 0 && r == AUGUR_PRED_MEM && !isnan (v->prov_kib))
                return (y > u ? 1.0 : 0.0) + cost_lambda (p, v) * (u - y);
        return pinball (p->cfg.coverage, y, u);
}

/* The sample y of tick v->tick meets the bounds given one tick before. */
static void
gate_update (AugurPredictor *p, AugurPredictorVm *v, const float *y)
{
        double d = pow (0.5, p->cfg.tick_s / p->cfg.acc_halflife_s);

        if (!v->fast_started || v->tick != v->gate_tick + 1)
                return;
        for (int r = 0; r < N_RES; r++) {
                if (isnan (y[r]) || isnan (v->gate_s[r]) || isnan (v->gate_p[r]))
                        continue;
                v->gate_w[r] = d * v->gate_w[r] + 1;
                v->gate_alone[r] = d * v->gate_alone[r] + bound_loss (p, v, r, y[r], v->gate_s[r]);
                v->gate_comb[r] = d * v->gate_comb[r]
                                  + bound_loss (p, v, r, y[r], MAX (v->gate_s[r], v->gate_p[r]));
        }
}

/* May the period forecast raise resource r's bound?  Yes until the gate
 * is warm, then only while it has paid off. */
static gboolean
gate_open (const AugurPredictor *p, const AugurPredictorVm *v, int r)
{
        return v->gate_w[r] < p->cfg.champion_warm || v->gate_comb[r] <= v->gate_alone[r];
}

/* One fast tick with y (N_RES) at ts.  FALSE when ts is not later. */
static gboolean
fast_step (AugurPredictor *p, AugurPredictorVm *v, gint64 ts, const float *y)
{
        const AugurPredictorConfig *c = &p->cfg;
        gint64 k = 1;

        if (v->fast_started) {
                double dt = (double) (ts - v->fast_last_ts);

                k = (gint64) floor (dt / c->tick_s + 0.5);
                if (k <= 0)
                        return FALSE;
                if (k - 1 >= (gint64) c->fast_len) {
                        /* Everything in the ring is older than its length. */
                        for (gsize i = 0; i < (gsize) N_RES * c->fast_len; i++)
                                v->ring[i] = NAN;
                        v->tick += (guint64) (k - 1);
                } else {
                        float nan2[N_RES] = { NAN, NAN };

                        for (gint64 j = 1; j < k; j++)
                                fast_push (p, v, nan2);
                }
        }
        fast_mature (p, v, v->tick, y);
        gate_update (p, v, y);
        fast_push (p, v, y);
        if (v->tick >= v->next_detect && isfinite (c->period_min_acf)) {
                for (int r = 0; r < N_RES; r++)
                        fast_detect (p, v, r);
                v->next_detect = v->tick + c->period_every;
        }
        fast_forecast (p, v);
        v->fast_started = TRUE;
        v->fast_last_ts = ts;
        return TRUE;
}

/* ------------------------------------------------------------ output */

/* PERIOD-RESOLVED CPU (header): does the period forecast alone resolve
 * tick horizon j of resource r? */
static gboolean
period_resolves (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint j)
{
        const AugurPredictorConfig *c = &p->cfg;

        return p->tick_mode && j <= c->fast_H && v->period[r] > 0
               && v->period[r] * c->tick_s < (double) c->step_s
               && v->fcur_ok[r][FAST_PERIOD] && gate_open (p, v, r)
               && !isnan (fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1]);
}

static void
assemble (AugurPredictor *p, AugurPredictorVm *v, const AugurPredictorOut *served,
          gint64 ts, AugurPredictorOut *out)
{
        const AugurPredictorConfig *c = &p->cfg;
        guint Hout = p->tick_mode ? c->fast_H : c->H;
        gboolean any = FALSE;

        out->ts = ts;
        out->step_s = p->tick_mode ? c->tick_s : (double) c->step_s;
        out->precursor = -1;
        for (int r = 0; r < N_RES; r++) {
                AugurPredSource s = served->source[r];
                guint sfx = 0;
                float conv = r == AUGUR_PRED_MEM ? v->prov_kib / 100.0f : v->cores / 100.0f;
                float *op50 = r == AUGUR_PRED_MEM ? out->mem_p50_kib : out->cpu_p50_cores;
                float *oup = r == AUGUR_PRED_MEM ? out->mem_upper_kib : out->cpu_upper_cores;

                out->source[r] = s;
                out->model_raised[r] = FALSE;
                out->period[r] = v->period[r];
                out->period_acf[r] = v->period_acf[r];
                for (guint j = 1; j <= Hout; j++) {
                        float sp = NAN, su = NAN, fp = NAN, fu = NAN;
                        guint hs = j;

                        if (p->tick_mode) {
                                gint64 b = (gint64) floor (((double) ts + j * c->tick_s - v->phase_s) / c->step_s);

                                hs = (guint) CLAMP (b - v->slow_origin_bucket, 1, (gint64) c->H + 1);
                        }
                        if (v->have_slow && s != AUGUR_PRED_SRC_NONE && hs <= c->H) {
                                sp = cur_at (p, v, s, r, 0)[hs - 1];
                                su = cur_at (p, v, s, r, 1)[hs - 1];
                                if (r == AUGUR_PRED_MEM && v->cost_ok)
                                        su = v->cost_up[hs - 1];
                                if (c->model_floor && s != AUGUR_PRED_SRC_MODEL
                                    && v->cur_ok[AUGUR_PRED_SRC_MODEL][r]) {
                                        sp = nanmax (sp, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1]);
                                        su = nanmax (su, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1]);
                                }
                                if (mg_alarm (p, v, r, s, hs) && mg_open (v, r)) {
                                        su = mg_raise (p, v, r, hs, sp, su);
                                        sp = nanmax (sp, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1]);
                                        out->model_raised[r] = TRUE;
                                }
                                if (r == AUGUR_PRED_MEM && hs <= AUGUR_PREC_WINDOW
                                    && v->prec_bound > nanmax (su, -INFINITY)) {
                                        su = v->prec_bound;
                                        out->precursor = v->prec.bound_context;
                                }
                        }
                        if (j <= c->fast_H) {
                                if (j == 1) {
                                        /* remembered for gate_update() */
                                        v->gate_tick = v->tick - 1;
                                        v->gate_s[r] = su;
                                        v->gate_p[r] = v->fcur_ok[r][FAST_PERIOD]
                                                       ? fcur_at (p, v, r, FAST_PERIOD, 1)[0] : NAN;
                                }
                                if (v->fcur_ok[r][FAST_PERIOD] && gate_open (p, v, r)) {
                                        fp = fcur_at (p, v, r, FAST_PERIOD, 0)[j - 1];
                                        fu = fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1];
                                        if (!isnan (fu) && (isnan (su) || fu > su))
                                                sfx = 1;
                                }
                                if (p->tick_mode && c->fast_last_value && v->fcur_ok[r][FAST_LAST]) {
                                        float lp = fcur_at (p, v, r, FAST_LAST, 0)[j - 1];
                                        float lu = fcur_at (p, v, r, FAST_LAST, 1)[j - 1];

                                        if (!isnan (lu) && (isnan (nanmax (su, fu)) || lu > nanmax (su, fu)) && sfx == 0)
                                                sfx = 2;
                                        fp = nanmax (fp, lp);
                                        fu = nanmax (fu, lu);
                                }
                        }
                        if (r == AUGUR_PRED_CPU && period_resolves (p, v, r, j)) {
                                float held = v->fcur_ok[r][FAST_LAST] ? fcur_at (p, v, r, FAST_LAST, 0)[j - 1] : NAN;

                                sp = su = NAN;
                                fp = nanmax (fcur_at (p, v, r, FAST_PERIOD, 0)[j - 1], held);
                                fu = nanmax (fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1], held);
                                sfx = 1;
                        }
                        op50[j - 1] = nanmax (sp, fp) * conv;
                        oup[j - 1] = nanmax (su, fu) * conv;
                        if (!isnan (oup[j - 1]))
                                any = TRUE;
                }
                for (guint j = Hout; j < AUGUR_PREDICTOR_MAX_H; j++) {
                        op50[j] = NAN;
                        oup[j] = NAN;
                }
                out->model[r] = source_name_sfx (p, s, sfx);
        }
        out->H = any ? Hout : 0;
}

static void
capacities (AugurPredictorVm *v, const AugurFeatSample *x)
{
        float prov = x->v[AUGUR_COL_MEM_PROV_KIB], cores = x->v[AUGUR_COL_CPU_CORES];

        if (!isnan (prov) && prov > 0)
                v->prov_kib = prov;
        if (!isnan (cores) && cores > 0)
                v->cores = cores;
}

/* Close the open bucket into a slow sample. */
static void
bucket_close (AugurPredictor *p, AugurPredictorVm *v, AugurPredSource *served)
{
        AugurFeatSample s;

        s.ts = v->bucket_id * p->cfg.step_s + v->phase_s;
        for (int c = 0; c < AUGUR_COL_N; c++)
                s.v[c] = v->bcnt[c] ? (float) (v->bsum[c] / v->bcnt[c]) : NAN;
        if (slow_step (p, v, &s, served)) {
                v->have_slow = TRUE;
                v->slow_origin_bucket = v->bucket_id;
        }
        v->bucket_open = FALSE;
}

gboolean
augur_predictor_step (AugurPredictor *p, AugurPredictorVm *v, const AugurFeatSample *x,
                      AugurPredictorOut *out)
{
        float y[N_RES];
        gboolean slow = FALSE;

        g_return_val_if_fail (p != NULL && v != NULL && x != NULL && out != NULL, FALSE);
        g_return_val_if_fail (v->p == p, FALSE);

        out->H = 0;
        out->precursor = -1;
        if (v->fast_started && x->ts <= v->fast_last_ts)
                return FALSE;
        for (int r = 0; r < N_RES; r++)
                y[r] = augur_features_signal (x, res_sig[r]);
        capacities (v, x);

        if (!p->tick_mode) {
                AugurPredSource served[N_RES];

                if (slow_step (p, v, x, served)) {
                        v->have_slow = TRUE;
                        for (int r = 0; r < N_RES; r++)
                                out->source[r] = served[r];
                        slow = TRUE;
                }
        } else {
                gint64 b = (gint64) floor ((double) (x->ts - v->phase_s) / (double) p->cfg.step_s);

                if (v->bucket_open && b > v->bucket_id) {
                        AugurPredSource served[N_RES];

                        served[0] = served[1] = AUGUR_PRED_SRC_NONE;
                        bucket_close (p, v, served);
                        for (int r = 0; r < N_RES; r++)
                                out->source[r] = served[r];
                        slow = TRUE;
                }
                if (!v->bucket_open) {
                        v->bucket_open = TRUE;
                        v->bucket_id = b;
                        memset (v->bsum, 0, sizeof v->bsum);
                        memset (v->bcnt, 0, sizeof v->bcnt);
                }
                for (int c = 0; c < AUGUR_COL_N; c++) {
                        if (isnan (x->v[c]))
                                continue;
                        v->bsum[c] += x->v[c];
                        v->bcnt[c]++;
                }
        }
        if (!slow) {
                /* Serve the champion of the last slow step. */
                for (int r = 0; r < N_RES; r++)
                        out->source[r] = v->have_slow && v->cur_ok[v->champion[r]][r]
                                         ? v->champion[r] : AUGUR_PRED_SRC_NONE;
                if (v->have_slow)
                        for (int r = 0; r < N_RES; r++)
                                if (out->source[r] == AUGUR_PRED_SRC_NONE)
                                        for (int s = 0; s < N_SRC; s++)
                                                if (v->cur_ok[s][r]) {
                                                        out->source[r] = (AugurPredSource) s;
                                                        break;
                                                }
        }
        fast_step (p, v, x->ts, y);
        {
                AugurPredictorOut served = *out;

                assemble (p, v, &served, x->ts, out);
        }
        out->slow_updated = slow;
        return out->H > 0;
}

/* ----------------------------------------------------- introspection */

gboolean
augur_predictor_vm_accuracy (const AugurPredictorVm *v, AugurPredResource r, AugurPredSource s,
                             double *ret_mae, double *ret_pinball, double *ret_weight)
{
        g_return_val_if_fail (r < N_RES && s < N_SRC, FALSE);
        if (v->acc_w[s][r] <= 0)
                return FALSE;
        if (ret_mae)
                *ret_mae = v->acc_ae[s][r] / v->acc_w[s][r];
        if (ret_pinball)
                *ret_pinball = v->acc_pin[s][r] / v->acc_w[s][r];
        if (ret_weight)
                *ret_weight = v->acc_w[s][r];
        return TRUE;
}

gboolean
augur_predictor_vm_model_gate (const AugurPredictorVm *v, AugurPredResource r,
                               double *ret_weight, double *ret_alone, double *ret_raised)
{
        g_return_val_if_fail (r < N_RES, FALSE);
        if (ret_weight)
                *ret_weight = v->mg_w[r];
        if (ret_alone)
                *ret_alone = v->mg_alone[r];
        if (ret_raised)
                *ret_raised = v->mg_raised[r];
        return mg_open (v, r);
}

AugurPredSource
augur_predictor_vm_champion (const AugurPredictorVm *v, AugurPredResource r)
{
        g_return_val_if_fail (r < N_RES, AUGUR_PRED_SRC_NONE);
        return v->champion[r];
}

const float *
augur_predictor_vm_features (const AugurPredictorVm *v, guint *ret_F)
{
        if (!v->feat || !v->feat_ok || !v->slow_started)
                return NULL;
        if (ret_F)
                *ret_F = v->p->F;
        return v->win + (gsize) (v->slow_step % v->p->T) * v->p->F;
}

gboolean
augur_predictor_vm_slow_forecast (const AugurPredictorVm *v, AugurPredResource r, AugurPredSource s,
                                  float *ret_point, float *ret_upper)
{
        const AugurPredictor *p = v->p;

        g_return_val_if_fail (r < N_RES && s < N_SRC, FALSE);
        if (!v->have_slow || !v->cur_ok[s][r])
                return FALSE;
        if (ret_point)
                memcpy (ret_point, cur_at (p, v, s, r, 0), p->cfg.H * sizeof (float));
        if (ret_upper)
                memcpy (ret_upper, cur_at (p, v, s, r, 1), p->cfg.H * sizeof (float));
        return TRUE;
}
