/* period.c — the fast path of the online predictor: the tick ring, the
 * period detector and its forecast, the tick last value, their quantile
 * trackers, and the period gate.  Part of the online predictor
 * (predictor.h); how the fast path joins the slow one is at the top of
 * predictor.c, the state in predictor-private.h.
 *
 * What it is not: the slow path or the champion (predictor.c, champion.c).
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
 * PERIOD GATE (fast path)
 *   The period forecast may only raise the slow bound while doing so has
 *   paid off: EW losses (half-life acc_halflife_s, in ticks) of the slow
 *   upper alone and of max(slow, period) at horizon 1, pinball at the
 *   coverage or the cost (augur_pred_bound_loss(), champion.c); after
 *   champion_warm ticks the period
 *   raises the bound only while the max is not worse.  A detected period
 *   that does not repeat exactly otherwise buys slack for nothing.
 */
#include "predictor-private.h"

#include <string.h>

#define QT_WARM    20        /* fast tracker: max score until this many, then
                              * the second largest (their 95th percentile)   */
#define QT_GAIN    0.1f      /* fast tracker step, in units of EW |s - q|    */
#define QT_SCALE_A 0.05f     /* EW weight of the scale                       */
#define PERIOD_NEAR 0.9f     /* a period within 90 % of the best r wins if shorter */

static inline float *
fpend_at (const AugurPredictor *p, const AugurPredictorVm *v, guint slot, int r, int f)
{
        return v->fpend + (((gsize) slot * N_RES + r) * N_FAST + f) * p->cfg.fast_H;
}

static inline QTrack *
qt_at (const AugurPredictor *p, const AugurPredictorVm *v, int r, int f, guint j)
{
        return &v->qt[((gsize) r * N_FAST + f) * p->cfg.fast_H + j];
}

void
augur_qtrack_update (AugurQTrack *t, float s, float coverage)
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

guint
augur_period_detect (float *x, guint n, guint lmin, guint lmax, float min_acf, float *acf, float *ret_acf)
{
        double mean = 0, var = 0;
        float best = -INFINITY;
        guint m = 0;

        if (ret_acf)
                *ret_acf = 0;
        lmax = MIN (lmax, n / 2);
        if (lmin < 1 || lmax < lmin + 1)
                return 0;
        for (guint i = 0; i < n; i++) {
                if (!isnan (x[i])) {
                        mean += x[i];
                        m++;
                }
        }
        if (m < n / 2)
                return 0;
        mean /= m;
        for (guint i = 0; i < n; i++) {
                x[i] = isnan (x[i]) ? 0.0f : (float) (x[i] - mean);
                var += (double) x[i] * x[i];
        }
        var /= n;
        if (var < 1e-6)
                return 0;   /* flat: nothing periodic to see */
        /* acf[l] for l in [lmin - 1, lmax + 1], accumulated as one axpy
         * per i (acf[l] += x[i] x[i + l] over l): contiguous, no
         * reduction, so the compiler vectorises it without reordering a
         * float sum. */
        acf_lags (x, n, lmin - 1, lmax + 1, acf);
        for (guint l = lmin - 1; l <= lmax + 1; l++)
                acf[l] = (float) ((double) acf[l] / (n - l) / var);
        for (guint l = lmin; l <= lmax; l++)
                if (acf[l] >= acf[l - 1] && acf[l] >= acf[l + 1])
                        best = MAX (best, acf[l]);
        if (best < min_acf)
                return 0;
        /* The shortest local maximum near the best: a multiple of the
         * true period scores about as well and must not win. */
        for (guint l = lmin; l <= lmax; l++) {
                if (acf[l] >= acf[l - 1] && acf[l] >= acf[l + 1] && acf[l] >= PERIOD_NEAR * best) {
                        if (ret_acf)
                                *ret_acf = acf[l];
                        return l;
                }
        }
        return 0;   /* defensive: the best is itself such a maximum */
}

/* Period of resource r over the ring (0 = none). */
static void
fast_detect (AugurPredictor *p, AugurPredictorVm *v, int r)
{
        const AugurPredictorConfig *c = &p->cfg;
        guint n = (guint) MIN (v->tick, (guint64) c->fast_len);
        float *x = p->scratch, *acf = p->scratch + c->fast_len;

        for (guint i = 0; i < n; i++)
                x[i] = ring_val (p, v, r, v->tick - n + i);
        v->period[r] = augur_period_detect (x, n, c->period_min, c->period_max, c->period_min_acf, acf,
                                            &v->period_acf[r]);
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
                                augur_qtrack_update (qt_at (p, v, r, FAST_LAST, j - 1), y[r] - base, p->cfg.coverage);
                        if (!v->fpend_per[slot])
                                continue;
                        base = fpend_at (p, v, slot, r, FAST_PERIOD)[j - 1];
                        if (!isnan (base))
                                augur_qtrack_update (qt_at (p, v, r, FAST_PERIOD, j - 1), y[r] - base, p->cfg.coverage);
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
                v->gate_alone[r] = d * v->gate_alone[r] + augur_pred_bound_loss (p, v, r, y[r], v->gate_s[r]);
                v->gate_comb[r] = d * v->gate_comb[r]
                                  + augur_pred_bound_loss (p, v, r, y[r], MAX (v->gate_s[r], v->gate_p[r]));
        }
}

/* May the period forecast raise resource r's bound?  Yes until the gate
 * is warm, then only while it has paid off. */
gboolean
augur_pred_gate_open (const AugurPredictor *p, const AugurPredictorVm *v, int r)
{
        return v->gate_w[r] < p->cfg.champion_warm || v->gate_comb[r] <= v->gate_alone[r];
}

/* One fast tick with y (N_RES) at ts.  FALSE when ts is not later. */
gboolean
augur_pred_fast_step (AugurPredictor *p, AugurPredictorVm *v, gint64 ts, const float *y)
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
