/* forecaster.c — the predictor behind the resize loop's hooks.  See
 * forecaster.h. */
#include "config.h"

#include "forecaster.h"
#include "precursor.h"
#include "predictor.h"
#include "metrics.h"

#include <math.h>
#include <string.h>

/* The policy gets every horizon a model file can hold (48 steps = 4 h at
 * 5 min): the copy into AugurForecast below never cuts a model short. */
G_STATIC_ASSERT (AUGUR_POLICY_MAX_H >= AUGUR_PREDICTOR_MAX_H);

/* Where the packaged default model lives (make install). */
#ifndef AUGUR_DEFAULT_MODEL
#define AUGUR_DEFAULT_MODEL DATADIR "/augur/default.augur"
#endif

/* REALIZED COVERAGE.  How often what happened stayed at or below the
 * upper bound served one step before it: the calibration's promise
 * (predictor.h, 95 %) as kept on this VM, for metrics and alerts.  Each
 * forecast's first step is checked against the first sample at or after
 * its time (within one more step; a later sample scores nothing), and the
 * hits are averaged with weights halving every COVERAGE_HALFLIFE_S. */
#define COVERAGE_HALFLIFE_S (6 * 3600.0)

typedef struct {
        AugurPredictorVm *state;
        gint64 last_ts;                 /* unix s of the last step              */
        AugurPredictorOut last;         /* reused when two ticks share a second */
        gboolean have_last;
        gboolean last_slow;             /* the last call ran the slow step     */
        double cov_due_s;               /* the pending bound's time, 0 = none   */
        double cov_step_s;
        float cov_upper[2];             /* [memory KiB, cpu cores]              */
        double cov_hit[2], cov_w[2], cov_s;  /* decayed sums, their time       */
} FcVm;

struct AugurForecaster {
        AugurModel *model;              /* owned, NULL = baselines only        */
        AugurPredictor *pred;
        GHashTable *vms;                /* uuid -> FcVm*                       */
        char name[64];
        AugurActivity *activity;        /* borrowed, NULL = no activity inputs */
        char *path;                     /* model file serving, NULL = none     */
        int version;                    /* retrain.h versions, -1 = none       */
        GHashTable *gate;               /* uuid -> beaten (retrain.h), or NULL */
};

/* A report older than this is not "now" any more: the reporter stopped or
 * its channel is gone, and the inputs read as missing.  Three of
 * augur-guest's default 5 s intervals. */
#define ACTIVITY_MAX_AGE_MS 15000

void
augur_forecaster_set_activity (AugurForecaster *f, AugurActivity *act)
{
        f->activity = act;
}

static void
fc_vm_free (gpointer p)
{
        FcVm *v = p;

        augur_predictor_vm_free (v->state);
        g_free (v);
}

/* The predictor configuration of augurd's forecaster. */
static void
predictor_config (double tick_s, double price_per_gib, gboolean precursor_bound,
                  double width_halflife_s, AugurPredictorConfig *ret)
{
        augur_predictor_config_init (ret);
        ret->tick_s = tick_s;
        ret->precursor_bound = precursor_bound;
        ret->width_halflife_s = width_halflife_s;
        /* As `virt-augur replay` does with a price: cost-aware bounds and
         * the champion judged by the same cost. */
        ret->price_per_gib = price_per_gib;
        if (price_per_gib > 0)
                ret->champion_metric = AUGUR_PRED_CHAMPION_COST;
}

AugurForecaster *
augur_forecaster_new (const char *model_path, double tick_s, double price_per_gib, gboolean precursor_bound,
                      double width_halflife_s, GError **error)
{
        g_autoptr(GError) local = NULL;
        AugurPredictorConfig cfg;
        AugurForecaster *f = g_new0 (AugurForecaster, 1);
        const char *path = model_path;

        if (!path && g_file_test (AUGUR_DEFAULT_MODEL, G_FILE_TEST_EXISTS))
                path = AUGUR_DEFAULT_MODEL;
        if (path) {
                f->model = augur_model_load (path, &local);
                if (!f->model)
                        g_warning ("model %s cannot be used: %s; forecasting with the baselines only, ignoring",
                                   path, local->message);
                else
                        g_message ("model %s loaded", path);
        }
        f->path = f->model ? g_strdup (path) : NULL;
        f->version = f->model ? 0 : -1;
        predictor_config (tick_s, price_per_gib, precursor_bound, width_halflife_s, &cfg);
        f->pred = augur_predictor_new (f->model, &cfg, error);
        if (!f->pred) {
                augur_forecaster_free (f);
                return NULL;
        }
        f->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, fc_vm_free);
        g_strlcpy (f->name, f->model ? augur_predictor_source_name (f->pred, AUGUR_PRED_SRC_MODEL) : "baselines",
                   sizeof f->name);
        return f;
}

void
augur_forecaster_free (AugurForecaster *f)
{
        if (!f)
                return;
        g_clear_pointer (&f->vms, g_hash_table_unref);
        g_clear_pointer (&f->pred, augur_predictor_free);
        g_clear_pointer (&f->model, augur_model_free);
        g_clear_pointer (&f->gate, g_hash_table_unref);
        g_free (f->path);
        g_free (f);
}

const char *
augur_forecaster_model_name (const AugurForecaster *f)
{
        return f->name;
}

static float
hostv (const AugurHostSample *h, AugurHostField k)
{
        return h && ((h->present >> k) & 1) ? (float) h->v[k] : NAN;
}

void
augur_forecaster_input_row (const AugurDerived *d, const AugurActivityLatest *a,
                            const AugurHostSample *host, gint64 ts, AugurFeatSample *ret)
{
        double row[AUGUR_COL_N_TRACE];

        /* The model's input row, as the store writes it (units.h). */
        augur_units_model_row (d, row);
        for (int c = 0; c < AUGUR_COL_N; c++)
                ret->v[c] = c < AUGUR_COL_N_TRACE ? (float) row[c] : NAN;
        ret->ts = ts;
        if (a) {
                ret->v[AUGUR_COL_INPUT_EVENTS_PER_MIN] = a->input_events_per_min;
                ret->v[AUGUR_COL_SESSIONS] = a->sessions;
                ret->v[AUGUR_COL_PROC_STARTS_PER_MIN] = a->proc_starts_per_min;
                for (guint b = 0; b < AUGUR_PROG_BUCKETS; b++)
                        ret->v[AUGUR_COL_PROG_B0 + b] = a->prog_pct[b];
                for (guint b = 0; b < AUGUR_USER_BUCKETS; b++)
                        ret->v[AUGUR_COL_USER_B0 + b] = a->user_sessions[b];
        }
        ret->v[AUGUR_COL_HOST_LOAD1] = hostv (host, AUGUR_HOST_LOAD1);
        ret->v[AUGUR_COL_HOST_PSI_CPU] = hostv (host, AUGUR_HOST_PSI_CPU_SOME_AVG10);
        ret->v[AUGUR_COL_HOST_PSI_MEM] = hostv (host, AUGUR_HOST_PSI_MEM_SOME_AVG10);
        ret->v[AUGUR_COL_HOST_PSI_IO] = hostv (host, AUGUR_HOST_PSI_IO_SOME_AVG10);
}

/* Score the pending bound against this step's row x (REALIZED COVERAGE). */
static void
coverage_score (FcVm *v, const AugurFeatSample *x, double now_s)
{
        const float *row = x->v;
        double y[2], decay;

        if (v->cov_due_s <= 0 || now_s < v->cov_due_s)
                return;
        if (now_s <= v->cov_due_s + v->cov_step_s) {
                y[0] = row[AUGUR_COL_MEM_USED_KIB];
                y[1] = row[AUGUR_COL_CPU_PCT] / 100.0 * row[AUGUR_COL_CPU_CORES];
                decay = v->cov_s > 0 ? exp2 (-(now_s - v->cov_s) / COVERAGE_HALFLIFE_S) : 1;
                for (int r = 0; r < 2; r++) {
                        if (isnan (y[r]) || isnan (v->cov_upper[r]))
                                continue;
                        v->cov_hit[r] = v->cov_hit[r] * decay + (y[r] <= v->cov_upper[r] ? 1 : 0);
                        v->cov_w[r] = v->cov_w[r] * decay + 1;
                }
                v->cov_s = now_s;
        }
        v->cov_due_s = 0;
}

static gboolean
fc_forecast (gpointer ctx, const char *uuid, const char *name, const AugurDerived *d,
             const AugurHostSample *host, double now_s, AugurForecast *ret)
{
        AugurForecaster *f = ctx;
        FcVm *v = g_hash_table_lookup (f->vms, uuid);
        AugurFeatSample x;
        gint64 ts = (gint64) floor (now_s);
        const AugurPredictorOut *o;
        AugurPredictorOut out;

        if (!v) {
                v = g_new0 (FcVm, 1);
                /* The calibration key: the UUID, unique where names may not be. */
                v->state = augur_predictor_vm_new (f->pred, uuid);
                g_hash_table_insert (f->vms, g_strdup (uuid), v);
        }
        v->last_slow = FALSE;
        if (ts <= v->last_ts) {
                /* Two ticks in one second (tick < 1 s): serve the last one. */
                o = v->have_last ? &v->last : NULL;
        } else {
                AugurActivityLatest a;
                gboolean have_a = augur_activity_latest (f->activity, uuid, (gint64) (now_s * 1000),
                                                         ACTIVITY_MAX_AGE_MS, &a);

                augur_forecaster_input_row (d, have_a ? &a : NULL, host, ts, &x);
                coverage_score (v, &x, now_s);
                v->last_ts = ts;
                v->have_last = augur_predictor_step (f->pred, v->state, &x, &out);
                if (v->have_last)
                        v->last = out;
                v->last_slow = v->have_last && out.slow_updated;
                o = v->have_last ? &v->last : NULL;
        }
        if (!o || o->H == 0)
                return FALSE;
        memset (ret, 0, sizeof *ret);
        ret->H = MIN (o->H, AUGUR_POLICY_MAX_H);
        ret->step_s = o->step_s;
        for (guint h = 0; h < ret->H; h++) {
                ret->mem_p50_kib[h] = o->mem_p50_kib[h];
                ret->mem_upper_kib[h] = o->mem_upper_kib[h];
                ret->cpu_p50_cores[h] = o->cpu_p50_cores[h];
                ret->cpu_upper_cores[h] = o->cpu_upper_cores[h];
        }
        ret->model = o->model[AUGUR_PRED_MEM];
        ret->precursor = augur_precursor_context_name (o->precursor);
        {
                guint have, need;
                double step_s = (double) augur_predictor_config (f->pred)->step_s;

                if (augur_predictor_vm_window_short (v->state, &have, &need)) {
                        ret->model_wait_s = (need - have) * step_s;
                        ret->model_window_s = need * step_s;
                }
        }
        if (o->step_s > 0 && now_s >= v->cov_due_s) {
                v->cov_due_s = now_s + o->step_s;
                v->cov_step_s = o->step_s;
                v->cov_upper[0] = o->mem_upper_kib[0];
                v->cov_upper[1] = o->cpu_upper_cores[0];
        }
        return TRUE;
}

gboolean
augur_forecaster_last_step_slow (const AugurForecaster *f, const char *uuid)
{
        const FcVm *v = g_hash_table_lookup (f->vms, uuid);

        return v && v->last_slow;
}

static gboolean
fc_model_trusted (gpointer ctx, const char *uuid)
{
        AugurForecaster *f = ctx;
        FcVm *v = g_hash_table_lookup (f->vms, uuid);
        gpointer beaten;

        /* A held-out evaluation of the serving model on this VM's own
         * history (retrain.c) decides where one exists. */
        if (f->model && f->gate && g_hash_table_lookup_extended (f->gate, uuid, NULL, &beaten))
                return GPOINTER_TO_INT (beaten) != 0;
        return f->model && v && augur_predictor_vm_champion (v->state, AUGUR_PRED_MEM) == AUGUR_PRED_SRC_MODEL;
}

static void
fc_forget (gpointer ctx, const char *uuid)
{
        AugurForecaster *f = ctx;

        g_hash_table_remove (f->vms, uuid);
}

void
augur_forecaster_hooks (AugurForecaster *f, AugurForecastHooks *ret)
{
        ret->forecast = fc_forecast;
        ret->model_trusted = fc_model_trusted;
        ret->forget = fc_forget;
        ret->ctx = f;
}

void
augur_forecaster_export_errors (AugurForecaster *f, AugurMetrics *m)
{
        static const struct { AugurPredResource r; const char *name; } res[] = {
                { AUGUR_PRED_MEM, "memory" },
                { AUGUR_PRED_CPU, "cpu" },
        };
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init (&it, f->vms);
        while (g_hash_table_iter_next (&it, &key, &value)) {
                const FcVm *v = value;

                for (gsize k = 0; k < G_N_ELEMENTS (res); k++) {
                        double model = NAN, best = NAN, mae, pinball, weight;

                        if (f->model && augur_predictor_vm_accuracy (v->state, res[k].r, AUGUR_PRED_SRC_MODEL,
                                                                     &mae, &pinball, &weight))
                                model = mae;
                        for (int s = AUGUR_PRED_SRC_MODEL + 1; s < AUGUR_PRED_SRC_N; s++)
                                if (augur_predictor_vm_accuracy (v->state, res[k].r, s, &mae, &pinball, &weight) &&
                                    (isnan (best) || mae < best))
                                        best = mae;
                        augur_metrics_set_error (m, key, res[k].name, model, best);
                        augur_metrics_set_coverage (m, key, res[k].name,
                                                    v->cov_w[k] > 0 ? v->cov_hit[k] / v->cov_w[k] : NAN,
                                                    v->cov_w[k]);
                }
        }
}

const char *
augur_forecaster_model_path (const AugurForecaster *f)
{
        return f->path;
}

int
augur_forecaster_model_version (const AugurForecaster *f)
{
        return f->version;
}

void
augur_forecaster_set_model_version (AugurForecaster *f, int version)
{
        f->version = f->model ? version : -1;
}

gboolean
augur_forecaster_swap_model (AugurForecaster *f, AugurModel *m, const char *path, int version,
                             GError **error)
{
        g_autoptr(AugurModel) model = m;
        AugurPredictorConfig cfg = *augur_predictor_config (f->pred);
        AugurPredictor *pred = augur_predictor_new (model, &cfg, error);

        if (!pred)
                return FALSE;
        /* The VM states point into the old predictor: drop them first. */
        g_hash_table_remove_all (f->vms);
        g_clear_pointer (&f->gate, g_hash_table_unref);
        augur_predictor_free (f->pred);
        augur_model_free (f->model);
        f->pred = pred;
        f->model = g_steal_pointer (&model);
        g_free (f->path);
        f->path = g_strdup (path);
        f->version = version;
        g_strlcpy (f->name, augur_predictor_source_name (f->pred, AUGUR_PRED_SRC_MODEL), sizeof f->name);
        return TRUE;
}

void
augur_forecaster_set_gate (AugurForecaster *f, GHashTable *gate)
{
        g_clear_pointer (&f->gate, g_hash_table_unref);
        f->gate = gate;
}
