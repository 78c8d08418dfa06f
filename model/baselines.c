/* baselines.c — the reference forecasters (batch, online) and their fit.
 *
 * ALGORITHMS (one target series y, step k = origin, horizon h = 1..H)
 * ==========
 *   held[k]      y[j] of the newest j <= k with y[j] present, if
 *                k - j < AUGUR_BL_HIST (300 steps); else NAN.
 *   last_value   held[k]
 *   ewma         e <- alpha*y + (1-alpha)*e on every present y (the first
 *                present y starts e); missing steps leave e alone.
 *                Forecast e for every h (NAN while held[k] is NAN).
 *                alpha from {0.05 .. 1} by validation MSE.
 *   seasonal     y[k + h - 288]: same time yesterday (raw, no fill).
 *   mean_1h      mean of the present y[k-11 .. k]
 *   ridge_ar     per horizon h, one linear model pooled over all VMs:
 *                  x = [held[k], held[k-1]-held[k], ..., held[k-11]-held[k],
 *                       sin tod(k), cos tod(k), 1]                (P = 15)
 *                  y[k+h] - held[k] = w_h . x
 *                Fitting the change, not the level, makes ridge shrink
 *                towards "last value" rather than towards 0, and the
 *                differences are far less collinear than raw lags.  Centred
 *                normal equations (C + lambda*I) w = c over the 14
 *                non-constant regressors (C = covariance, c = covariance
 *                with the target; the intercept follows from the means and
 *                is not penalised), solved by LAPACKE_sposv (Cholesky,
 *                P = 15, so O(P^3) per solve is nothing); X'X is accumulated
 *                in double over the training points, O(N * H * P^2).
 *                lambda from {1e-4 .. 1e2}, one per target, by the summed
 *                validation MSE over horizons.  sin/cos of the origin is
 *                enough for the target's time of day: sin(a+b) is linear
 *                in sin a, cos a, and w_h is per horizon.
 *   Time of day is UTC (ts mod 86400).
 *
 * ONLINE == BATCH: the online state keeps the last 300 steps of y and
 * held in rings indexed by the step count, and computes exactly the batch
 * formulas from them (tests/test-baselines.c checks equality).  A skipped
 * tick counts as missing steps (ts jumps by k steps => k-1 NANs).
 */
#include "baselines.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (augur-baseline-error-quark, augur_baseline_error)

static const char *const bl_names[AUGUR_BL_N] = {
        "last_value", "ewma", "seasonal_naive", "mean_1h", "ridge_ar",
};

static const float alpha_grid[] = { 0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 0.85f, 1.0f };
static const float lambda_grid[] = { 1e-4f, 1e-3f, 1e-2f, 1e-1f, 1.0f, 10.0f, 100.0f };

const char *
augur_baseline_name (AugurBaselineKind k)
{
        g_return_val_if_fail (k < AUGUR_BL_N, NULL);
        return bl_names[k];
}

void
augur_baseline_params_init (AugurBaselineParams *p, guint H, gint64 step_s)
{
        memset (p, 0, sizeof *p);
        p->H = MIN (H, AUGUR_BL_MAX_H);
        p->step_s = step_s;
        p->ewma_alpha = 0.5f;
        p->ridge_lambda = 1.0f;
        p->ridge_ok = FALSE;
}

static void
tod_sincos (gint64 ts, float *ret_sin, float *ret_cos)
{
        gint64 tod_s = ((ts % 86400) + 86400) % 86400;
        double a = 2.0 * G_PI * (double) tod_s / 86400.0;

        *ret_sin = (float) sin (a);
        *ret_cos = (float) cos (a);
}

/* Regressors of the ridge model from held values at lags 0..LAGS-1 (held_lag
 * (LAGS), lag 0 first).  Returns FALSE when one is missing. */
static gboolean
ridge_x (const float *held_lag, gint64 ts, float *x)
{
        float s, c;

        for (int j = 0; j < AUGUR_RIDGE_LAGS; j++)
                if (isnan (held_lag[j]))
                        return FALSE;
        x[0] = held_lag[0];
        for (int j = 1; j < AUGUR_RIDGE_LAGS; j++)
                x[j] = held_lag[j] - held_lag[0];
        tod_sincos (ts, &s, &c);
        x[AUGUR_RIDGE_LAGS] = s;
        x[AUGUR_RIDGE_LAGS + 1] = c;
        x[AUGUR_RIDGE_LAGS + 2] = 1.0f;
        return TRUE;
}

static float
ridge_predict (const AugurBaselineParams *p, guint h, const float *x)
{
        double acc = 0;

        for (int j = 0; j < AUGUR_RIDGE_P; j++)
                acc += (double) p->ridge_w[h - 1][j] * x[j];
        return x[0] + (float) acc;
}

/* ---------------------------------------------------------------- batch */

static void
compute_held (const float *y, gsize n, float *held)
{
        gboolean any = FALSE;
        gsize last = 0;

        for (gsize k = 0; k < n; k++) {
                if (!isnan (y[k])) {
                        any = TRUE;
                        last = k;
                }
                held[k] = (any && k - last < AUGUR_BL_HIST) ? y[last] : NAN;
        }
}

static void
compute_ewma (const float *y, const float *held, gsize n, float alpha, float *e_out)
{
        float e = NAN;

        for (gsize k = 0; k < n; k++) {
                if (!isnan (y[k]))
                        e = isnan (e) ? y[k] : alpha * y[k] + (1.0f - alpha) * e;
                e_out[k] = isnan (held[k]) ? NAN : e;
        }
}

void
augur_baseline_batch (AugurBaselineKind kind, const AugurBaselineParams *p,
                      const float *y, const gint64 *ts, gsize n, float *ret)
{
        g_autofree float *held = g_new (float, MAX (n, 1));
        g_autofree float *tmp = NULL;
        guint H = p->H;

        compute_held (y, n, held);
        if (kind == AUGUR_BL_EWMA) {
                tmp = g_new (float, MAX (n, 1));
                compute_ewma (y, held, n, p->ewma_alpha, tmp);
        }
        for (gsize k = 0; k < n; k++) {
                float *r = ret + k * H;

                switch (kind) {
                case AUGUR_BL_LAST_VALUE:
                        for (guint h = 0; h < H; h++)
                                r[h] = held[k];
                        break;
                case AUGUR_BL_EWMA:
                        for (guint h = 0; h < H; h++)
                                r[h] = tmp[k];
                        break;
                case AUGUR_BL_SEASONAL_NAIVE:
                        for (guint h = 1; h <= H; h++) {
                                gint64 j = (gint64) k + h - AUGUR_BL_PERIOD;

                                r[h - 1] = j >= 0 ? y[j] : NAN;
                        }
                        break;
                case AUGUR_BL_MEAN_1H: {
                        double sum = 0;
                        guint m = 0;

                        for (guint j = 0; j < AUGUR_BL_MEAN_STEPS && j <= k; j++)
                                if (!isnan (y[k - j])) {
                                        sum += y[k - j];
                                        m++;
                                }
                        for (guint h = 0; h < H; h++)
                                r[h] = m ? (float) (sum / m) : NAN;
                        break;
                }
                case AUGUR_BL_RIDGE_AR: {
                        float lag[AUGUR_RIDGE_LAGS], x[AUGUR_RIDGE_P];
                        gboolean ok = p->ridge_ok && k + 1 >= AUGUR_RIDGE_LAGS;

                        for (int j = 0; ok && j < AUGUR_RIDGE_LAGS; j++)
                                lag[j] = held[k - j];
                        ok = ok && ridge_x (lag, ts[k], x);
                        for (guint h = 1; h <= H; h++)
                                r[h - 1] = ok ? ridge_predict (p, h, x) : NAN;
                        break;
                }
                default:
                        g_return_if_reached ();
                }
        }
}

/* -------------------------------------------------------------- fitting */

/* Origin range [*from, *to) to scan for split sp (see AugurBaselineSeries). */
static void
origin_range (const AugurBaselineSeries *S, int sp, gsize *from, gsize *to)
{
        *from = 0;
        *to = S->n;
        if (sp >= 0 && sp < 3 && S->origin_to[sp] > 0) {
                *from = S->origin_from[sp];
                *to = MIN (S->origin_to[sp], S->n);
        }
}

gboolean
augur_baseline_fit (AugurBaselineParams *p, const AugurBaselineSeries *series,
                    guint n_series, int train, int val, GError **error)
{
        guint H = p->H, P = AUGUR_RIDGE_P;
        g_autofree double *xtx = g_new0 (double, (gsize) H * P * P);
        g_autofree double *xty = g_new0 (double, (gsize) H * P);
        g_autofree double *cnt = g_new0 (double, H);
        double best_mse = INFINITY;
        float best_alpha = p->ewma_alpha;
        float best_lambda = NAN;
        float best_w[AUGUR_BL_MAX_H][AUGUR_RIDGE_P] = { { 0 } };
        gboolean any_solved = FALSE;
        g_autoptr (GPtrArray) helds = g_ptr_array_new_with_free_func (g_free);

        for (guint s = 0; s < n_series; s++) {
                float *held = g_new (float, MAX (series[s].n, 1));

                compute_held (series[s].y, series[s].n, held);
                g_ptr_array_add (helds, held);
        }

        /* EWMA alpha by validation MSE. */
        for (guint a = 0; a < G_N_ELEMENTS (alpha_grid); a++) {
                double sse = 0;
                guint64 m = 0;

                for (guint s = 0; s < n_series; s++) {
                        const AugurBaselineSeries *S = &series[s];
                        const float *held = g_ptr_array_index (helds, s);
                        g_autofree float *e = g_new (float, MAX (S->n, 1));
                        gsize k0, k1;

                        compute_ewma (S->y, held, S->n, alpha_grid[a], e);
                        origin_range (S, val, &k0, &k1);
                        for (gsize k = k0; k < k1; k++) {
                                if (isnan (e[k]))
                                        continue;
                                for (guint h = 1; h <= H && k + h < S->n; h++) {
                                        float t = S->y[k + h];

                                        if (isnan (t) || !S->point_ok (S->data, k, h, val))
                                                continue;
                                        sse += (double) (t - e[k]) * (t - e[k]);
                                        m++;
                                }
                        }
                }
                if (m > 0 && sse / m < best_mse) {
                        best_mse = sse / m;
                        best_alpha = alpha_grid[a];
                }
        }
        p->ewma_alpha = best_alpha;

        /* Ridge: accumulate the normal equations over training points. */
        for (guint s = 0; s < n_series; s++) {
                const AugurBaselineSeries *S = &series[s];
                const float *held = g_ptr_array_index (helds, s);
                gsize k0, k1;

                origin_range (S, train, &k0, &k1);
                for (gsize k = MAX (k0, AUGUR_RIDGE_LAGS - 1); k < k1; k++) {
                        float lag[AUGUR_RIDGE_LAGS], x[AUGUR_RIDGE_P];

                        for (int j = 0; j < AUGUR_RIDGE_LAGS; j++)
                                lag[j] = held[k - j];
                        if (!ridge_x (lag, S->ts[k], x))
                                continue;
                        for (guint h = 1; h <= H && k + h < S->n; h++) {
                                float t = S->y[k + h];
                                double *A = xtx + (gsize) (h - 1) * P * P;
                                double *b = xty + (gsize) (h - 1) * P;

                                if (isnan (t) || !S->point_ok (S->data, k, h, train))
                                        continue;
                                for (guint i = 0; i < P; i++) {
                                        b[i] += (double) x[i] * (t - x[0]);
                                        for (guint j = i; j < P; j++)
                                                A[i * P + j] += (double) x[i] * x[j];
                                }
                                cnt[h - 1] += 1;
                        }
                }
        }
        for (guint h = 0; h < H; h++)
                if (cnt[h] == 0) {
                        g_set_error (error, AUGUR_BASELINE_ERROR, AUGUR_BASELINE_ERROR_NO_DATA,
                                     "ridge AR: no training point at horizon %u", h + 1);
                        return FALSE;
                }

        for (guint l = 0; l < G_N_ELEMENTS (lambda_grid); l++) {
                float w[AUGUR_BL_MAX_H][AUGUR_RIDGE_P] = { { 0 } };
                gboolean ok = TRUE;
                double sse = 0;
                guint64 m = 0;

                for (guint h = 0; h < H && ok; h++) {
                        /* Centred normal equations over the P-1 regressors
                         * (the last column is the constant 1, so row P-1 of
                         * X'X holds the column sums): C = X'X/N - m m',
                         * c = X'y/N - m m_y, intercept = m_y - w.m.  Centring
                         * keeps the single-precision Cholesky well
                         * conditioned: the level column (mean ~30, sd ~3)
                         * is otherwise almost collinear with the constant. */
                        const guint Q = P - 1;
                        const double *XX = xtx + (gsize) h * P * P;
                        const double *Xy = xty + (gsize) h * P;
                        double N = cnt[h], my = Xy[Q] / N, icpt;
                        double mx[AUGUR_RIDGE_P];
                        float A[AUGUR_RIDGE_P * AUGUR_RIDGE_P], b[AUGUR_RIDGE_P];
                        lapack_int info;

                        for (guint i = 0; i < Q; i++)
                                mx[i] = XX[i * P + Q] / N;
                        for (guint i = 0; i < Q; i++) {
                                b[i] = (float) (Xy[i] / N - mx[i] * my);
                                for (guint j = 0; j < Q; j++) {
                                        guint lo = MIN (i, j), hi = MAX (i, j);

                                        A[i * Q + j] = (float) (XX[lo * P + hi] / N - mx[i] * mx[j]);
                                }
                                A[i * Q + i] += lambda_grid[l];
                        }
                        info = LAPACKE_sposv (LAPACK_ROW_MAJOR, 'U', (lapack_int) Q, 1, A,
                                              (lapack_int) Q, b, 1);
                        if (info != 0) {
                                ok = FALSE;
                                break;
                        }
                        icpt = my;
                        for (guint i = 0; i < Q; i++) {
                                w[h][i] = b[i];
                                icpt -= b[i] * mx[i];
                        }
                        w[h][Q] = (float) icpt;
                }
                if (!ok)
                        continue;
                any_solved = TRUE;
                for (guint s = 0; s < n_series; s++) {
                        const AugurBaselineSeries *S = &series[s];
                        const float *held = g_ptr_array_index (helds, s);
                        gsize k0, k1;

                        origin_range (S, val, &k0, &k1);
                        for (gsize k = MAX (k0, AUGUR_RIDGE_LAGS - 1); k < k1; k++) {
                                float lag[AUGUR_RIDGE_LAGS], x[AUGUR_RIDGE_P];

                                for (int j = 0; j < AUGUR_RIDGE_LAGS; j++)
                                        lag[j] = held[k - j];
                                if (!ridge_x (lag, S->ts[k], x))
                                        continue;
                                for (guint h = 1; h <= H && k + h < S->n; h++) {
                                        float t = S->y[k + h];
                                        double acc = 0;

                                        if (isnan (t) || !S->point_ok (S->data, k, h, val))
                                                continue;
                                        for (guint j = 0; j < P; j++)
                                                acc += (double) w[h - 1][j] * x[j];
                                        acc = (double) t - (x[0] + (float) acc);
                                        sse += acc * acc;
                                        m++;
                                }
                        }
                }
                /* No validation points at all: keep the first solvable lambda. */
                if ((m > 0 && sse / m < best_mse) || isnan (best_lambda)) {
                        best_mse = m > 0 ? sse / m : INFINITY;
                        best_lambda = lambda_grid[l];
                        memcpy (best_w, w, sizeof w);
                }
        }
        if (!any_solved) {
                g_set_error (error, AUGUR_BASELINE_ERROR, AUGUR_BASELINE_ERROR_LAPACK,
                             "ridge AR: normal equations not positive definite for any lambda");
                return FALSE;
        }
        p->ridge_lambda = best_lambda;
        memcpy (p->ridge_w, best_w, sizeof best_w);
        p->ridge_ok = TRUE;
        return TRUE;
}

/* --------------------------------------------------------------- online */

void
augur_baseline_state_init (AugurBaselineState *st, const AugurBaselineParams *p)
{
        memset (st, 0, sizeof *st);
        st->p = p;
        for (int i = 0; i < AUGUR_BL_HIST; i++) {
                st->y[i] = NAN;
                st->held[i] = NAN;
        }
        st->ewma = NAN;
}

/* Push one step (value y, NAN = missing). */
static void
state_push (AugurBaselineState *st, float y)
{
        guint64 k = st->steps;
        guint slot = (guint) (k % AUGUR_BL_HIST);
        float held;

        if (!isnan (y)) {
                st->any_obs = TRUE;
                st->last_obs = k;
                st->ewma = isnan (st->ewma) ? y : st->p->ewma_alpha * y + (1.0f - st->p->ewma_alpha) * st->ewma;
        }
        st->y[slot] = y;
        if (st->any_obs && k - st->last_obs < AUGUR_BL_HIST)
                held = st->y[st->last_obs % AUGUR_BL_HIST];
        else
                held = NAN;
        st->held[slot] = held;
        st->steps++;
}

void
augur_baseline_state_update (AugurBaselineState *st, gint64 ts, float y)
{
        if (st->steps > 0) {
                gint64 dt = ts - st->last_ts;
                gint64 k = (dt + st->p->step_s / 2) / st->p->step_s;

                if (k <= 0)
                        return;   /* not later than the newest step: ignored */
                if (k - 1 >= AUGUR_BL_HIST) {
                        /* Everything in the ring is older than the window:
                         * fast-forward instead of pushing k-1 NANs. */
                        for (int i = 0; i < AUGUR_BL_HIST; i++) {
                                st->y[i] = NAN;
                                st->held[i] = NAN;
                        }
                        st->steps += (guint64) (k - 1);
                } else {
                        for (gint64 j = 1; j < k; j++)
                                state_push (st, NAN);
                }
        }
        st->last_ts = ts;
        state_push (st, y);
}

/* Value of the ring at lag L from the newest step (0 = newest). */
static float
ring_lag (const AugurBaselineState *st, const float *ring, guint lag)
{
        if (lag >= st->steps || lag >= AUGUR_BL_HIST)
                return NAN;
        return ring[(st->steps - 1 - lag) % AUGUR_BL_HIST];
}

float
augur_baseline_state_y (const AugurBaselineState *st, guint lag)
{
        return ring_lag (st, st->y, lag);
}

gboolean
augur_baseline_state_forecast (const AugurBaselineState *st, AugurBaselineKind kind, float *ret)
{
        const AugurBaselineParams *p = st->p;
        float held0 = ring_lag (st, st->held, 0);
        gboolean any = FALSE;

        for (guint h = 0; h < p->H; h++)
                ret[h] = NAN;
        if (st->steps == 0)
                return FALSE;
        switch (kind) {
        case AUGUR_BL_LAST_VALUE:
                for (guint h = 0; h < p->H; h++)
                        ret[h] = held0;
                break;
        case AUGUR_BL_EWMA:
                for (guint h = 0; h < p->H; h++)
                        ret[h] = isnan (held0) ? NAN : st->ewma;
                break;
        case AUGUR_BL_SEASONAL_NAIVE:
                for (guint h = 1; h <= p->H; h++)
                        ret[h - 1] = ring_lag (st, st->y, AUGUR_BL_PERIOD - h);
                break;
        case AUGUR_BL_MEAN_1H: {
                double sum = 0;
                guint m = 0;

                for (guint j = 0; j < AUGUR_BL_MEAN_STEPS; j++) {
                        float v = ring_lag (st, st->y, j);

                        if (!isnan (v)) {
                                sum += v;
                                m++;
                        }
                }
                for (guint h = 0; h < p->H; h++)
                        ret[h] = m ? (float) (sum / m) : NAN;
                break;
        }
        case AUGUR_BL_RIDGE_AR: {
                float lag[AUGUR_RIDGE_LAGS], x[AUGUR_RIDGE_P];

                if (!p->ridge_ok)
                        break;
                for (int j = 0; j < AUGUR_RIDGE_LAGS; j++)
                        lag[j] = ring_lag (st, st->held, (guint) j);
                if (!ridge_x (lag, st->last_ts, x))
                        break;
                for (guint h = 1; h <= p->H; h++)
                        ret[h - 1] = ridge_predict (p, h, x);
                break;
        }
        default:
                g_return_val_if_reached (FALSE);
        }
        for (guint h = 0; h < p->H; h++)
                if (!isnan (ret[h]))
                        any = TRUE;
        return any;
}
