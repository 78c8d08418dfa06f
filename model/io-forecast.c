/* io-forecast.c — one disk's byte-rate forecast (see io-forecast.h). */
#include "config.h"

#include "io-forecast.h"
#include "units.h"

#include <math.h>

/* DETECT SCALE.  The period is detected on log(1 + rate / detect_scale)
 * (AUGUR_IO_DETECT_SCALE_BPS or _IOPS by the series' unit), dilated by
 * DETECT_DILATE_TICKS each way (dilate() below).  The log: a raise that
 * lets a capped read through at eight times the rate is the same job, and
 * one such spike must not outweigh, in the autocorrelation's variance,
 * the periods of capped reads before it (it did: the period was lost at
 * the first raise and stayed lost while the spike was in the ring).  The
 * dilation: a burst's start may jitter by as many ticks. */
#define DETECT_DILATE_TICKS 2

/* PHASES.  The upper bound's margin is learnt apart for the two kinds of
 * phase of a period: BURST, where the base is at least BURST_PHASE_FRAC of
 * the highest rate of the last period_k periods, and QUIET, the rest.  A
 * single tracker learns the residuals of bursts that start a tick early
 * or late (tens of MiB/s) and adds them everywhere: on a real guest the
 * quiet phases' upper bound stayed above the restore bar for the whole
 * period, and a raise was never given back (pve-io.sh). */
#define BURST_PHASE_FRAC 0.25f
enum { PHASE_QUIET, PHASE_BURST, PHASE_N };

struct AugurIoForecast {
        AugurIoForecastConfig c;
        guint64 tick;                        /* ticks pushed                  */
        float *ring;                         /* (ring_len) bytes/s, NAN = ?   */
        guint8 *at_limit;                    /* (ring_len)                    */
        float *scratch;                      /* (2 ring_len + 2) detector     */
        guint period;                        /* ticks, 0 = none               */
        guint64 next_detect;
        /* the base given at each origin, to score when it matures */
        float pend[AUGUR_IO_FORECAST_MAX_H + 1][AUGUR_IO_FORECAST_MAX_H];
        guint8 pend_phase[AUGUR_IO_FORECAST_MAX_H + 1][AUGUR_IO_FORECAST_MAX_H];
        guint64 pend_origin[AUGUR_IO_FORECAST_MAX_H + 1];
        AugurQTrack qt[PHASE_N][AUGUR_IO_FORECAST_MAX_H];
        /* the newest forecast, j = 1..H */
        float p50[AUGUR_IO_FORECAST_MAX_H], base[AUGUR_IO_FORECAST_MAX_H];
        guint8 censored[AUGUR_IO_FORECAST_MAX_H], phase[AUGUR_IO_FORECAST_MAX_H];
        gboolean have;
        /* THE BASELINE AND THE CHAMPION (io-forecast.h) */
        float pend_b[AUGUR_IO_FORECAST_MAX_H + 1];           /* recent max at each origin */
        float pend_up[AUGUR_IO_SOURCE_N][AUGUR_IO_FORECAST_MAX_H + 1][AUGUR_IO_FORECAST_MAX_H];
                                                            /* upper served, NAN = none */
        AugurQTrack qt_b[AUGUR_IO_FORECAST_MAX_H];           /* y − recent max            */
        double loss[AUGUR_IO_SOURCE_N];                      /* EW sums of pinball losses */
        double loss_w;                                       /* EW sum of their weights   */
        guint32 n_scored;                                    /* scores compared           */
        float b_base, b_p50;                                 /* the newest recent max     */
        gboolean b_censored;
};

void
augur_io_forecast_config_init (AugurIoForecastConfig *c)
{
        c->ring_len = 512;
        c->period_min = 4;
        c->period_every = 8;
        c->period_min_acf = 0.5f;
        c->period_k = 3;
        c->coverage = 0.95f;
        c->detect_scale = AUGUR_IO_DETECT_SCALE_BPS;
}

AugurIoForecast *
augur_io_forecast_new (const AugurIoForecastConfig *c)
{
        AugurIoForecast *f = g_new0 (AugurIoForecast, 1);

        g_return_val_if_fail (c->ring_len >= 2 * (c->period_min + 1) && c->detect_scale > 0, NULL);
        f->c = *c;
        f->ring = g_new (float, c->ring_len);
        f->at_limit = g_new0 (guint8, c->ring_len);
        f->scratch = g_new (float, 2 * (gsize) c->ring_len + 2);
        for (guint i = 0; i < c->ring_len; i++)
                f->ring[i] = NAN;
        for (guint i = 0; i <= AUGUR_IO_FORECAST_MAX_H; i++)
                f->pend_origin[i] = G_MAXUINT64;
        f->b_base = f->b_p50 = NAN;
        return f;
}

void
augur_io_forecast_free (AugurIoForecast *f)
{
        if (!f)
                return;
        g_free (f->ring);
        g_free (f->at_limit);
        g_free (f->scratch);
        g_free (f);
}

double
augur_io_rate (gint64 prev, gint64 cur, double dt_s, double max_bps)
{
        double r;

        if (prev < 0 || cur < 0 || cur < prev || !(dt_s > 0) || dt_s > AUGUR_MAX_RATE_GAP_S)
                return NAN;
        r = (double) (cur - prev) / dt_s;
        return r > max_bps ? NAN : r;
}

static inline float
ring_at (const AugurIoForecast *f, guint64 i)
{
        return f->ring[i % f->c.ring_len];
}

/* The pinball loss at coverage q of upper bound u for y. */
static double
pinball (double y, double u, double q)
{
        return y >= u ? q * (y - u) : (1 - q) * (u - y);
}

/* Score the bases given j ticks before the newest sample y, and the two
 * sources' upper bounds where both gave one (the champion compares them
 * on the same origins and horizons). */
static void
mature (AugurIoForecast *f, float y)
{
        guint64 t = f->tick - 1;
        double decay = exp2 (-1.0 / AUGUR_IO_LOSS_HALFLIFE_TICKS);

        if (isnan (y))
                return;
        for (int s = 0; s < AUGUR_IO_SOURCE_N; s++)
                f->loss[s] *= decay;
        f->loss_w *= decay;
        for (guint j = 1; j <= AUGUR_IO_FORECAST_MAX_H && j <= t; j++) {
                guint slot = (guint) ((t - j) % (AUGUR_IO_FORECAST_MAX_H + 1));
                float base, up_p, up_b;

                if (f->pend_origin[slot] != t - j)
                        continue;
                base = f->pend[slot][j - 1];
                if (!isnan (base))
                        augur_qtrack_update (&f->qt[f->pend_phase[slot][j - 1]][j - 1], y - base, f->c.coverage);
                if (!isnan (f->pend_b[slot]))
                        augur_qtrack_update (&f->qt_b[j - 1], y - f->pend_b[slot], f->c.coverage);
                up_p = f->pend_up[AUGUR_IO_SOURCE_PERIOD][slot][j - 1];
                up_b = f->pend_up[AUGUR_IO_SOURCE_RECENT_MAX][slot][j - 1];
                if (isnan (up_p) || isnan (up_b))
                        continue;
                f->loss[AUGUR_IO_SOURCE_PERIOD] += pinball (y, up_p, f->c.coverage);
                f->loss[AUGUR_IO_SOURCE_RECENT_MAX] += pinball (y, up_b, f->c.coverage);
                f->loss_w += 1;
                if (f->n_scored < G_MAXUINT32)
                        f->n_scored++;
        }
}

/* The period source's upper bound at horizon j of the newest forecast
 * (its phase's margin, or the other phase's before it has scores), NAN
 * when it has none. */
static double
period_upper_at (const AugurIoForecast *f, guint j)
{
        const AugurQTrack *q = &f->qt[f->phase[j - 1]][j - 1];

        if (!f->have || isnan (f->base[j - 1]))
                return NAN;
        if (q->n == 0)          /* no score of its phase yet: the other's */
                q = &f->qt[!f->phase[j - 1]][j - 1];
        if (q->n == 0)
                return NAN;
        /* The margin only widens the band: a tracker that learnt the base
         * over-reads (negative q) does not cut it. */
        return f->base[j - 1] + MAX (q->q, 0.0f);
}

/* The recent max's upper bound at horizon j of the newest forecast, NAN
 * when it has none. */
static double
recent_upper_at (const AugurIoForecast *f, guint j)
{
        const AugurQTrack *q = &f->qt_b[j - 1];

        if (isnan (f->b_base) || q->n == 0)
                return NAN;
        return f->b_base + MAX (q->q, 0.0f);
}

/* The recent max from the newest tick t, kept as the pending base of
 * origin t, and both sources' upper bounds for the champion's scores. */
static void
forecast_recent (AugurIoForecast *f)
{
        guint64 t = f->tick - 1;
        guint slot = (guint) (t % (AUGUR_IO_FORECAST_MAX_H + 1));
        float mx = NAN;
        gboolean cens = FALSE;

        for (guint64 i = 0; i < MIN ((guint64) AUGUR_IO_RECENT_TICKS, MIN (f->tick, f->c.ring_len)); i++) {
                float v = ring_at (f, t - i);

                if (isnan (v))
                        continue;
                if (isnan (mx) || v > mx)
                        mx = v;
                cens |= f->at_limit[(t - i) % f->c.ring_len];
        }
        f->b_base = f->pend_b[slot] = mx;
        f->b_p50 = isnan (ring_at (f, t)) ? mx : ring_at (f, t);
        f->b_censored = cens;
        for (guint j = 1; j <= AUGUR_IO_FORECAST_MAX_H; j++) {
                f->pend_up[AUGUR_IO_SOURCE_PERIOD][slot][j - 1] = (float) period_upper_at (f, j);
                f->pend_up[AUGUR_IO_SOURCE_RECENT_MAX][slot][j - 1] = (float) recent_upper_at (f, j);
        }
}

/* The period forecast from the newest tick t (period.c, "Period
 * forecast"), kept as the pending bases of origin t. */
static void
forecast (AugurIoForecast *f)
{
        guint64 t = f->tick - 1;
        guint slot = (guint) (t % (AUGUR_IO_FORECAST_MAX_H + 1));
        guint P = f->period, w = MAX (P / 16, 1);
        float peak = NAN;

        f->pend_origin[slot] = t;
        f->have = P > 0;
        /* the highest rate of the periods the forecast looks at */
        for (guint64 i = 0; P > 0 && i < MIN ((guint64) f->c.period_k * P + w, MIN (f->tick, f->c.ring_len)); i++) {
                float v = ring_at (f, t - i);

                if (!isnan (v) && (isnan (peak) || v > peak))
                        peak = v;
        }
        for (guint j = 1; j <= AUGUR_IO_FORECAST_MAX_H; j++) {
                double sum = 0;
                guint ns = 0;
                float mx = NAN;
                gboolean cens = FALSE;

                f->pend[slot][j - 1] = NAN;
                f->p50[j - 1] = f->base[j - 1] = NAN;
                f->censored[j - 1] = FALSE;
                if (P == 0)
                        continue;
                for (guint m = (j + P - 1) / P, m0 = m; m < m0 + f->c.period_k; m++) {
                        gint64 centre = (gint64) t + j - (gint64) m * P;
                        float v;

                        if (centre < 0 || t - (guint64) centre >= f->c.ring_len)
                                break;
                        v = ring_at (f, (guint64) centre);
                        if (!isnan (v)) {
                                sum += v;
                                ns++;
                        }
                        for (gint64 i = centre - (gint64) w; i <= centre + (gint64) w; i++) {
                                if (i < 0 || (guint64) i > t || t - (guint64) i >= f->c.ring_len)
                                        continue;
                                v = ring_at (f, (guint64) i);
                                if (isnan (v))
                                        continue;
                                if (isnan (mx) || v > mx)
                                        mx = v;
                                cens |= f->at_limit[i % f->c.ring_len];
                        }
                }
                if (ns == 0 || isnan (mx))
                        continue;
                f->pend[slot][j - 1] = mx;
                f->base[j - 1] = mx;
                f->phase[j - 1] = f->pend_phase[slot][j - 1] =
                        mx > 0 && mx >= BURST_PHASE_FRAC * peak ? PHASE_BURST : PHASE_QUIET;
                f->p50[j - 1] = (float) (sum / ns);
                f->censored[j - 1] = cens;
        }
}

/* ret[i] = the largest of x[i - w .. i + w] (NAN only when all are): the
 * series the period is detected on.  A burst that got narrow (a raise let
 * it through in a tick where the cap spread it over ten) and starts a
 * tick early or late from one period to the next still overlaps itself,
 * so the autocorrelation at the period stays high.  The forecast itself
 * reads the plain ring (its window around the phase absorbs the jitter). */
static void
dilate (const float *x, guint n, guint w, float *ret)
{
        for (guint i = 0; i < n; i++) {
                float m = NAN;

                for (guint j = i >= w ? i - w : 0; j < n && j <= i + w; j++)
                        if (!isnan (x[j]) && (isnan (m) || x[j] > m))
                                m = x[j];
                ret[i] = m;
        }
}

void
augur_io_forecast_push (AugurIoForecast *f, double bps, gboolean at_limit, guint k)
{
        float y = isnan (bps) ? NAN : (float) bps;

        g_return_if_fail (k >= 1);
        if (f->tick > 0 && k - 1 >= f->c.ring_len) {
                for (guint i = 0; i < f->c.ring_len; i++)
                        f->ring[i] = NAN;
                f->tick += k - 1;
        } else if (f->tick > 0) {
                for (guint i = 1; i < k; i++) {
                        f->ring[f->tick % f->c.ring_len] = NAN;
                        f->tick++;
                }
        }
        f->ring[f->tick % f->c.ring_len] = y;
        f->at_limit[f->tick % f->c.ring_len] = at_limit && !isnan (y);
        f->tick++;
        mature (f, y);
        if (f->tick >= f->next_detect) {
                guint n = (guint) MIN (f->tick, (guint64) f->c.ring_len);
                float *x = f->scratch, *acf = f->scratch + f->c.ring_len;

                for (guint i = 0; i < n; i++)
                        acf[i] = log1pf (ring_at (f, f->tick - n + i) / f->c.detect_scale);
                dilate (acf, n, DETECT_DILATE_TICKS, x);
                f->period = augur_period_detect (x, n, f->c.period_min, f->c.ring_len / 2,
                                                 f->c.period_min_acf, acf, NULL);
                f->next_detect = f->tick + f->c.period_every;
        }
        forecast (f);
        forecast_recent (f);
}

gboolean
augur_io_forecast_upper (const AugurIoForecast *f, guint h, double *ret_p50, double *ret_upper,
                         gboolean *ret_censored)
{
        double p50 = NAN, up = NAN;
        gboolean cens = FALSE;

        if (!f->have)
                return FALSE;
        h = CLAMP (h, 1, AUGUR_IO_FORECAST_MAX_H);
        for (guint j = 1; j <= h; j++) {
                double u = period_upper_at (f, j);

                if (isnan (u))
                        continue;
                if (isnan (up) || u > up)
                        up = u;
                if (isnan (p50) || f->p50[j - 1] > p50)
                        p50 = f->p50[j - 1];
                cens |= f->censored[j - 1];
        }
        if (isnan (up))
                return FALSE;
        *ret_p50 = p50;
        *ret_upper = up;
        *ret_censored = cens;
        return TRUE;
}

guint
augur_io_forecast_period (const AugurIoForecast *f)
{
        return f->period;
}

const char *
augur_io_source_name (AugurIoSource s)
{
        static const char *const names[AUGUR_IO_SOURCE_N] = { "period", "recent-max" };

        return s < AUGUR_IO_SOURCE_N ? names[s] : "?";
}

double
augur_io_forecast_loss (const AugurIoForecast *f, AugurIoSource s)
{
        g_return_val_if_fail (s < AUGUR_IO_SOURCE_N, NAN);
        return f->loss_w > 0 ? f->loss[s] / f->loss_w : NAN;
}

gboolean
augur_io_forecast_champion (const AugurIoForecast *f, guint h, double *ret_p50, double *ret_upper,
                            gboolean *ret_censored, AugurIoSource *ret_source)
{
        double up = NAN;

        /* The period source serves while it has a forecast, unless it is
         * scored worse than the baseline by more than the hysteresis. */
        if ((f->n_scored < AUGUR_IO_CHAMPION_WARM ||
             f->loss[AUGUR_IO_SOURCE_PERIOD] <= (1 + AUGUR_IO_CHAMPION_HYSTERESIS) * f->loss[AUGUR_IO_SOURCE_RECENT_MAX]) &&
            augur_io_forecast_upper (f, h, ret_p50, ret_upper, ret_censored)) {
                *ret_source = AUGUR_IO_SOURCE_PERIOD;
                return TRUE;
        }
        h = CLAMP (h, 1, AUGUR_IO_FORECAST_MAX_H);
        for (guint j = 1; j <= h; j++) {
                double u = recent_upper_at (f, j);

                if (!isnan (u) && (isnan (up) || u > up))
                        up = u;
        }
        if (isnan (up))
                return FALSE;
        *ret_p50 = f->b_p50;
        *ret_upper = up;
        *ret_censored = f->b_censored;
        *ret_source = AUGUR_IO_SOURCE_RECENT_MAX;
        return TRUE;
}
