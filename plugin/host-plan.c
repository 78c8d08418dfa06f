/* host-plan.c — the host's 4-hour memory view inside augurd (see
 * host-plan.h): the schedule, the worker thread and the one number the
 * tick reads. */
#include "config.h"

#include "host-plan.h"

#include <math.h>

#include "metrics.h"
#include "store.h"
#include "worker.h"

/* Nice value of the worker, as retraining's: the replay yields the CPU to
 * the tick and to the guests. */
#define HOST_PLAN_NICE 10
/* The bound's coverage target, as `virt-augur forecast --host`'s default. */
#define HOST_PLAN_COVERAGE 0.95f

typedef struct {
        char *db_path;
        double history_s;
        gint64 now_s;
        gboolean ok;                  /* written by the worker                */
        AugurHostForecast view;
        GError *error;
} Job;

struct AugurHostPlan {
        char *db_path;
        gint64 started_ms;            /* last start, -1 = never               */
        AugurWorker worker;           /* the replay off the main loop         */
        AugurHostForecast view;       /* the newest result; step_s 0 = none   */
        guint runs_done;
        AugurMetrics *metrics;        /* borrowed, NULL = none                */
};

static void
job_free (gpointer data)
{
        Job *j = data;

        if (!j)
                return;
        g_free (j->db_path);
        g_clear_error (&j->error);
        g_free (j);
}

AugurHostPlan *
augur_host_plan_new (const char *db_path)
{
        AugurHostPlan *p = g_new0 (AugurHostPlan, 1);

        p->db_path = g_strdup (db_path);
        p->started_ms = -1;
        augur_worker_init (&p->worker);
        return p;
}

gboolean
augur_host_plan_run (const char *db_path, double history_s, gint64 now_s, const gint *cancel,
                     AugurHostForecast *ret, GError **error)
{
        g_autoptr(AugurStore) st = augur_store_open (db_path, AUGUR_STORE_READ_ONLY, error);
        g_autoptr(GPtrArray) series = NULL;
        g_autoptr(AugurPredictor) pred = NULL;
        AugurPredictorConfig pc;

        /* An hour more than the window: augur_host_forecast() cuts it at
         * the newest sample's time, which is a step or more before now. */
        if (!st || !(series = augur_store_load_all_series (st, now_s - (gint64) history_s - 3600, G_MAXINT64,
                                                           AUGUR_RES_5M, 0, error)))
                return FALSE;
        augur_host_forecast_predictor_config (&pc, HOST_PLAN_COVERAGE);
        if (!(pred = augur_predictor_new (NULL, &pc, error)))
                return FALSE;
        return augur_host_forecast_full (series, pred, HOST_PLAN_COVERAGE, (gint64) history_s, cancel, ret, error);
}

void
augur_host_plan_install (AugurHostPlan *p, const AugurHostForecast *f)
{
        p->view = *f;
}

double
augur_host_plan_growth_kib (const AugurHostPlan *p, gint64 now_ms)
{
        double age_s;

        if (!p || p->view.step_s <= 0)
                return NAN;
        age_s = now_ms / 1000.0 - (double) p->view.origin_s;
        if (age_s > AUGUR_HOST_PLAN_MAX_AGE_S)
                return NAN;
        /* Only the horizons still ahead: h steps after the origin. */
        return augur_host_forecast_growth_kib (&p->view, (guint) (MAX (age_s, 0) / p->view.step_s) + 1);
}

void
augur_host_plan_set_metrics (AugurHostPlan *p, AugurMetrics *m)
{
        p->metrics = m;
}

guint
augur_host_plan_runs_done (const AugurHostPlan *p)
{
        return p->runs_done;
}

static void
run (gpointer data, const gint *cancel)
{
        Job *j = data;

        j->ok = augur_host_plan_run (j->db_path, j->history_s, j->now_s, cancel, &j->view, &j->error);
}

static void
run_done (gpointer owner, gpointer data)
{
        AugurHostPlan *p = owner;
        Job *j = data;

        p->runs_done++;
        if (j->ok) {
                double growth = augur_host_forecast_growth_kib (&j->view, 1);

                augur_host_plan_install (p, &j->view);
                if (p->metrics)
                        augur_metrics_set_host_plan (p->metrics, j->view.held_kib, growth);
                g_info ("host plan: %u guests need %.0f MiB now, at most %.0f MiB within %.0f h "
                        "(the host's %.0f %% bound%s)", j->view.guests, j->view.held_kib / 1024,
                        (j->view.held_kib + (isnan (growth) ? 0 : growth)) / 1024,
                        j->view.H * j->view.step_s / 3600, HOST_PLAN_COVERAGE * 100,
                        isnan (growth) ? "; not calibrated yet, not used" : "");
        } else {
                g_debug ("host plan: %s; the cushion reads the tick's lead window only",
                         j->error ? j->error->message : "failed");
        }
}

void
augur_host_plan_tick (AugurHostPlan *p, const AugurConfig *config, gint64 now_ms)
{
        g_autoptr(GError) error = NULL;
        Job *j;

        if (augur_worker_busy (&p->worker) || config->host_plan_interval_s <= 0)
                return;
        if (p->started_ms >= 0 && (double) (now_ms - p->started_ms) < config->host_plan_interval_s * 1000)
                return;
        p->started_ms = now_ms;
        j = g_new0 (Job, 1);
        j->db_path = g_strdup (p->db_path);
        j->history_s = config->host_plan_history_s;
        j->now_s = now_ms / 1000;
        if (!augur_worker_start (&p->worker, "augur-host-plan", HOST_PLAN_NICE, run, run_done, p, j, job_free,
                                 &error))
                g_warning ("starting the host plan thread: %s; retrying next interval, ignoring", error->message);
}

void
augur_host_plan_free (AugurHostPlan *p)
{
        if (!p)
                return;
        augur_worker_clear (&p->worker);
        g_free (p->db_path);
        g_free (p);
}
