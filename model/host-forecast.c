/* host-forecast.c — the host's memory need (see host-forecast.h). */
#include "config.h"

#include "host-forecast.h"

#include <math.h>
#include <string.h>

#include "calib.h"
#include "dataset.h"
#include "forecast.h"

/* The margin is the coverage quantile of the newest HOST_FC_WINDOW
 * residuals of its horizon (2 weeks at 5 min), recomputed every
 * HOST_FC_REFIT steps (1 h): an online tracker (period.h AugurQTrack)
 * lagged the host's regime changes at long horizons (86 % seen at 4 h on
 * Bitbrains for a 95 % target), a window of every residual does not. */
#define HOST_FC_WINDOW 4032
#define HOST_FC_REFIT  12

/* The two medians a horizon chooses from, by its mean absolute error so
 * far (the lower serves; "sum" until both have AUGUR_HOST_FC_WARM scores): the
 * guests' medians summed, or the guests' newest used values summed (the
 * host's last value: guests' errors are not independent, and a sum of
 * smoothed medians can lose to it at short horizons). */
enum { HOST_P50_SUM = 0, HOST_P50_LAST, HOST_P50_N };

typedef struct {                      /* one horizon's residuals and scores   */
        float *win;                   /* HOST_FC_WINDOW ring of residuals     */
        guint n;                      /* residuals in the ring                */
        guint next;
        float margin;                 /* quantile of the ring, NAN = warm-up  */
        double abs_err[HOST_P50_N];   /* sum |real - p50| per median          */
        double abs_served;            /* the same for the one that served     */
        guint covered, judged;
} HostHorizon;

typedef struct {
        AugurSeries *grid;            /* on the predictor's step, owned      */
        gsize first;                  /* first grid row replayed             */
        gsize n;                      /* rows replayed from there            */
        gsize k0;                     /* global step of grid row first       */
        AugurPredictorVm *state;      /* owned                               */
        guint8 *part;                 /* (H + 1) ring: forecast at that origin */
        float held;                   /* newest used value, NAN = none yet   */
        gssize last_k;                /* global step of the newest forecast  */
        float p50[AUGUR_PREDICTOR_MAX_H], upper[AUGUR_PREDICTOR_MAX_H];
} HostGuest;

typedef struct {                      /* one origin's aggregates, per horizon */
        gboolean any;                 /* some guest forecast at this origin  */
        double p50[HOST_P50_N][AUGUR_PREDICTOR_MAX_H];
        guint8 served[AUGUR_PREDICTOR_MAX_H];  /* which median served        */
        double bound[AUGUR_PREDICTOR_MAX_H];   /* the bound of the origin, NAN */
        double real[AUGUR_PREDICTOR_MAX_H];
        gboolean missing[AUGUR_PREDICTOR_MAX_H];
} HostOrigin;

static void
host_guest_free (HostGuest *g)
{
        augur_series_free (g->grid);
        augur_predictor_vm_free (g->state);
        g_free (g->part);
        g_free (g);
}

static float
used_at (const HostGuest *g, gsize k)
{
        if (k < g->k0 || k - g->k0 >= g->n)
                return NAN;
        return g->grid->col[AUGUR_COL_MEM_USED_KIB][g->first + k - g->k0];
}

/* Every horizon of out has a median and a bound (a source without a
 * forecast yet leaves NANs: the guest sits that origin out). */
static gboolean
forecast_whole (const AugurPredictorOut *out, guint H)
{
        for (guint h = 0; h < MIN (H, out->H); h++)
                if (isnan (out->mem_p50_kib[h]) || isnan (out->mem_upper_kib[h]))
                        return FALSE;
        return TRUE;
}

/* The median horizon h serves: the one with the lower error so far. */
static guint
served_p50 (const HostHorizon *hz, guint scored)
{
        if (scored < AUGUR_HOST_FC_WARM)
                return HOST_P50_SUM;
        return hz->abs_err[HOST_P50_LAST] < hz->abs_err[HOST_P50_SUM] ? HOST_P50_LAST : HOST_P50_SUM;
}

void
augur_host_forecast_predictor_config (AugurPredictorConfig *c, float coverage)
{
        augur_predictor_config_init (c);
        c->step_s = AUGUR_HOST_FC_STEP_S;
        c->tick_s = AUGUR_HOST_FC_STEP_S;
        c->H = AUGUR_HOST_FC_H;
        c->coverage = coverage;
        c->floor_held = FALSE;
        c->champion_metric = AUGUR_PRED_CHAMPION_MAE;
        c->sources |= 1u << AUGUR_PRED_SRC_SEASONAL_NAIVE;
}

double
augur_host_forecast_growth_kib (const AugurHostForecast *f, guint first_h)
{
        double growth = NAN;

        for (guint h = MAX (first_h, 1) - 1; h < f->H; h++)
                if (f->scored[h] >= AUGUR_HOST_FC_WARM && !isnan (f->upper_kib[h]))
                        growth = isnan (growth) ? f->upper_kib[h] - f->held_kib
                                                : MAX (growth, f->upper_kib[h] - f->held_kib);
        return isnan (growth) ? NAN : MAX (growth, 0);
}

gboolean
augur_host_forecast (const GPtrArray *series, AugurPredictor *pred, float coverage, gint64 history_s,
                     AugurHostForecast *ret, GError **error)
{
        return augur_host_forecast_full (series, pred, coverage, history_s, NULL, ret, error);
}

gboolean
augur_host_forecast_full (const GPtrArray *series, AugurPredictor *pred, float coverage, gint64 history_s,
                          const gint *cancel, AugurHostForecast *ret, GError **error)
{
        const AugurPredictorConfig *pc = augur_predictor_config (pred);
        const gint64 step = pc->step_s;
        const guint H = MIN (pc->H, AUGUR_PREDICTOR_MAX_H), R = H + 1;
        g_autoptr (GPtrArray) guests = g_ptr_array_new_with_free_func ((GDestroyNotify) host_guest_free);
        g_autofree HostOrigin *ring = g_new0 (HostOrigin, R);
        g_autofree HostHorizon *hz = g_new0 (HostHorizon, H);
        g_autofree float *wins = g_new (float, (gsize) H * HOST_FC_WINDOW);
        g_autofree float *scratch = g_new (float, HOST_FC_WINDOW);
        gint64 t0 = G_MAXINT64, t1 = G_MININT64;
        gsize K;

        g_return_val_if_fail (series && pred && ret && step > 0 && pc->tick_s >= (double) step, FALSE);
        memset (ret, 0, sizeof *ret);
        for (guint h = 0; h < H; h++) {
                hz[h].win = wins + (gsize) h * HOST_FC_WINDOW;
                hz[h].margin = NAN;
        }
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                if (s->n > 0 && s->col[AUGUR_COL_MEM_USED_KIB])
                        t1 = MAX (t1, s->ts[s->n - 1]);
        }
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);
                g_autoptr (AugurSeries) grid = NULL;
                gsize first = 0;
                HostGuest *g;

                if (s->n == 0 || !s->col[AUGUR_COL_MEM_USED_KIB] ||
                    (history_s > 0 && s->ts[s->n - 1] < t1 - history_s))
                        continue;
                grid = augur_dataset_resample (s, step, NULL);
                /* Only the newest history_s is replayed. */
                while (history_s > 0 && first < grid->n && grid->ts[first] < t1 - history_s)
                        first++;
                if (first >= grid->n)
                        continue;
                g = g_new0 (HostGuest, 1);
                g->first = first;
                g->n = grid->n - first;
                g->grid = g_steal_pointer (&grid);
                g->state = augur_predictor_vm_new (pred, s->vm);
                g->part = g_new0 (guint8, R);
                g->held = NAN;
                g->last_k = -1;
                g_ptr_array_add (guests, g);
                t0 = MIN (t0, g->grid->ts[g->first]);
        }
        if (guests->len == 0) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                             "no guest has memory history (mem_used_kib)");
                return FALSE;
        }
        t1 = G_MININT64;
        for (guint i = 0; i < guests->len; i++) {
                HostGuest *g = g_ptr_array_index (guests, i);

                g->k0 = (gsize) ((g->grid->ts[g->first] - t0 + step / 2) / step);
                t1 = MAX (t1, g->grid->ts[g->grid->n - 1]);
        }
        K = (gsize) ((t1 - t0 + step / 2) / step) + 1;

        for (gsize k = 0; k < K; k++) {
                HostOrigin *now = &ring[k % R];

                if (cancel && g_atomic_int_get (cancel)) {
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_CANCELLED, "the host forecast was cancelled");
                        return FALSE;
                }

                /* 1. This step's used values realise the origins k - h. */
                for (guint i = 0; i < guests->len; i++) {
                        HostGuest *g = g_ptr_array_index (guests, i);
                        float u = used_at (g, k);

                        for (guint h = 1; h <= H && h <= k; h++) {
                                HostOrigin *o = &ring[(k - h) % R];

                                if (!g->part[(k - h) % R])
                                        continue;
                                if (isnan (u))
                                        o->missing[h - 1] = TRUE;
                                else
                                        o->real[h - 1] += u;
                        }
                        if (!isnan (u))
                                g->held = u;
                }
                /* 2. Score each origin whose horizon h ends here. */
                for (guint h = 1; h <= H && h <= k; h++) {
                        HostOrigin *o = &ring[(k - h) % R];
                        HostHorizon *z = &hz[h - 1];
                        double real = o->real[h - 1];

                        if (!o->any || o->missing[h - 1])
                                continue;
                        if (!isnan (o->bound[h - 1])) {
                                z->judged++;
                                z->covered += real <= o->bound[h - 1];
                        }
                        for (guint m = 0; m < HOST_P50_N; m++)
                                z->abs_err[m] += fabs (real - o->p50[m][h - 1]);
                        z->abs_served += fabs (real - o->p50[o->served[h - 1]][h - 1]);
                        z->win[z->next] = (float) (real - o->p50[o->served[h - 1]][h - 1]);
                        z->next = (z->next + 1) % HOST_FC_WINDOW;
                        z->n = MIN (z->n + 1, HOST_FC_WINDOW);
                        ret->scored[h - 1]++;
                }
                if (k % HOST_FC_REFIT == 0 || k == K - 1)
                        for (guint h = 0; h < H; h++)
                                hz[h].margin = ret->scored[h] >= AUGUR_HOST_FC_WARM
                                               ? MAX (0, augur_conformal_quantile (hz[h].win, hz[h].n, coverage, scratch)) : NAN;
                /* 3. Forecast from k: the slot of origin k - R is free again. */
                memset (now, 0, sizeof *now);
                for (guint i = 0; i < guests->len; i++) {
                        HostGuest *g = g_ptr_array_index (guests, i);
                        AugurFeatSample x;
                        AugurPredictorOut out;

                        g->part[k % R] = 0;
                        if (k < g->k0 || k - g->k0 >= g->n)
                                continue;
                        augur_features_sample_from_series (&x, g->grid, g->first + k - g->k0);
                        if (!augur_predictor_step (pred, g->state, &x, &out) || out.H == 0 ||
                            !forecast_whole (&out, H))
                                continue;
                        g->part[k % R] = 1;
                        g->last_k = (gssize) k;
                        now->any = TRUE;
                        for (guint h = 0; h < H; h++) {
                                guint hh = MIN (h, out.H - 1);

                                g->p50[h] = out.mem_p50_kib[hh];
                                g->upper[h] = out.mem_upper_kib[hh];
                                now->p50[HOST_P50_SUM][h] += g->p50[h];
                                now->p50[HOST_P50_LAST][h] += isnan (g->held) ? g->p50[0] : g->held;
                        }
                }
                for (guint h = 0; h < H; h++) {
                        now->served[h] = (guint8) served_p50 (&hz[h], ret->scored[h]);
                        now->bound[h] = now->p50[now->served[h]][h] + hz[h].margin;
                }
        }

        ret->step_s = (double) step;
        ret->H = H;
        ret->origin_s = t0 + (gint64) (K - 1) * step;
        ret->guests_seen = guests->len;
        for (guint i = 0; i < guests->len; i++) {
                HostGuest *g = g_ptr_array_index (guests, i);
                gssize lag;

                if (g->last_k < 0 || (gssize) (K - 1) - g->last_k > AUGUR_HOST_FC_RUNNING_STEPS)
                        continue;
                /* A guest whose newest forecast is a step or two old: its
                 * horizon h + lag is the host's horizon h. */
                lag = (gssize) (K - 1) - g->last_k;
                ret->guests++;
                ret->held_kib += isnan (g->held) ? g->p50[0] : g->held;
                for (guint h = 0; h < H; h++) {
                        guint hh = MIN (h + (guint) lag, H - 1);
                        double p50[HOST_P50_N] = { g->p50[hh], isnan (g->held) ? g->p50[hh] : g->held };

                        ret->p50_kib[h] += (float) p50[served_p50 (&hz[h], ret->scored[h])];
                        ret->sum_upper_kib[h] += g->upper[hh];
                }
        }
        if (ret->guests == 0) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                             "no guest has a forecast at the newest step (%u guests replayed)",
                             guests->len);
                return FALSE;
        }
        for (guint h = 0; h < H; h++) {
                gboolean own = !isnan (hz[h].margin);

                ret->last_value[h] = served_p50 (&hz[h], ret->scored[h]) == HOST_P50_LAST;
                ret->upper_kib[h] = own ? ret->p50_kib[h] + hz[h].margin : ret->sum_upper_kib[h];
                ret->coverage_seen[h] = hz[h].judged ? (double) hz[h].covered / hz[h].judged : NAN;
                ret->mae_kib[h] = ret->scored[h] ? hz[h].abs_served / ret->scored[h] : NAN;
                ret->mae_sum_kib[h] = ret->scored[h] ? hz[h].abs_err[HOST_P50_SUM] / ret->scored[h] : NAN;
                ret->mae_last_kib[h] = ret->scored[h] ? hz[h].abs_err[HOST_P50_LAST] / ret->scored[h] : NAN;
        }
        return TRUE;
}
