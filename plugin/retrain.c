/* retrain.c — periodic retraining and promotion, off the main loop.  API:
 * retrain.h.
 *
 * What it is: the schedule, the worker thread, the held-out comparison,
 * the promotion decision, the model files and the hot swap.  What it is
 * not: training or scoring (model/train.c and model/eval.c, the code `virt-augur
 * train|eval` runs), SQL (sql/store-retrain.c).
 *
 * SCHEDULE
 * ========
 * augur_retrain_tick() runs inside the daemon's tick.  A run starts when
 * [retrain] interval has passed since the newest run in retrain_runs
 * started (or since augurd started, when there is none or it is older than
 * augurd: a restart does not retrain at once), and no run is in progress.
 * The tick only compares two numbers and, when due, spawns the thread;
 * it never waits for it.
 *
 * THE WORKER (augur_retrain_run, on a thread at nice 10: worker.h)
 * ===================================================
 * It shares nothing mutable with the main loop: it opens its own read-only
 * SQLite connection (WAL: augurd keeps writing meanwhile), loads the
 * serving model from its file (the forecaster's copy is in use on the main
 * thread; the int kernel keeps scratch state), and hands one result back
 * through an idle source on the main context.  Training threads it spawns
 * inherit its nice value (Linux: nice is per thread and inherited).
 *   1. load: every domain's 5-minute rollups (the model step, 300 s) —
 *      the same series `virt-augur train --db` reads;
 *   2. select: VMs whose history spans at least [retrain] min_history;
 *   3. split, NO PEEKING: on each VM's step grid the last 20 % of steps is
 *      the held-out slice (augur_dataset_time_split, the test split of
 *      `virt-augur eval`).  The candidate trains on the samples strictly
 *      before the slice's first step only;
 *   4. train: augur_forecast_train with [retrain] time_budget (checked per
 *      epoch; the first epoch always runs) and the cancel flag, in the
 *      serving model's shape when one loads (augur_retrain_config_from_model:
 *      an admin who serves a 4-hour or a transformer model keeps one; the
 *      default model's shape is the default one), else `train`'s defaults;
 *   5. EVAL: per VM, augur_forecast_eval of the candidate, then of the
 *      serving model (each on a dataset built with its own feature
 *      normalisation), on the held-out slice, with the baselines on the
 *      same points.  A score is the MAE in percentage points of the model
 *      as it serves (<arch>_gated: the int NN, and its validation gate's
 *      baseline where the gate chose one; forecast.h), over cpu_pct and
 *      mem_pct and every horizon,
 *      pooled by points; the best baseline is the lowest such score among
 *      the baselines of the candidate's evaluation.  Pooled over VMs by
 *      points for the decision.
 *      Caveat: a previously promoted serving model was trained on data up
 *      to its own run, which may overlap today's slice.  That can only
 *      flatter the serving model, so it errs towards keeping it;
 *   6. decide (augur_retrain_decide, pure);
 *   7. promote: write augur-model-N.augur (blob.c: temp file, fsync,
 *      rename), load it back — a file that does not load is deleted and
 *      the run fails with CORRUPT, the link is untouched — then swap the
 *      augur-model.augur symlink atomically (symlink to a temp name,
 *      rename over, fsync the directory).  The previous version's file is
 *      kept for rollback; older ones are deleted.
 *
 * BACK ON THE MAIN THREAD (run_done)
 * ==================================
 * Join the thread, record the run (one transaction), hot-swap a promoted
 * model into the forecaster (a fresh predictor: VM states restart), and
 * install the per-VM gate: `auto` acts on a VM once the serving model beat
 * the best baseline on that VM's held-out history (RETRAIN_GATE_MIN_POINTS
 * scored points at least).  Where no such evaluation exists for a VM the
 * online champion decides, as before.
 *
 * FAILURE MODES
 *   Reading, training or writing fails: the run is recorded as failed with
 *   the message, logged as a warning ending in ", ignoring"; the serving
 *   model stays.  The written file is corrupt: deleted, recorded, serving
 *   model stays.  At start the link's target does not load: the newest
 *   other version that loads serves and the link is pointed back at it
 *   (augur_retrain_find_serving).  augurd stops during a run: the flag
 *   stops training after the current epoch, the thread is joined, nothing
 *   is recorded or promoted.
 *
 * COST: one training run (BENCHMARKS-model.md: ~40-60 s for 50 VMs at the
 * default config) plus 2 evaluations per VM, once per interval, at nice 10.
 */
#include "config.h"

#include "retrain.h"
#include "metrics.h"
#include "augur-log.h"
#include "dataset.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The model step the store's rollups serve directly (5-minute rollups). */
#define RETRAIN_STEP_S 300
/* Nice value of the worker: training yields the CPU to the tick and to the
 * guests. */
#define RETRAIN_NICE 10
/* A VM's held-out verdict decides its auto gate only on at least this many
 * scored points (2 targets x 12 horizons x 24 origins = two hours of
 * origins): fewer say little, and the online champion decides instead.
 * min_history = 2 d gives ~115 origins, i.e. ~2700 points. */
#define RETRAIN_GATE_MIN_POINTS 576

static const char *const reason_names[AUGUR_RETRAIN_REASON_N] = {
        [AUGUR_RETRAIN_BEATS_SERVING] = "beats_serving",
        [AUGUR_RETRAIN_BEATS_BASELINES] = "beats_baselines",
        [AUGUR_RETRAIN_NOT_BETTER] = "not_better",
        [AUGUR_RETRAIN_BASELINES_BETTER] = "baselines_better",
        [AUGUR_RETRAIN_NO_SCORE] = "no_score",
        [AUGUR_RETRAIN_NO_HISTORY] = "no_history",
        [AUGUR_RETRAIN_CANCELLED] = "cancelled",
        [AUGUR_RETRAIN_TRAIN_FAILED] = "train_failed",
        [AUGUR_RETRAIN_WRITE_FAILED] = "write_failed",
        [AUGUR_RETRAIN_CORRUPT] = "corrupt_candidate",
};

const char *
augur_retrain_reason_name (AugurRetrainReason r)
{
        return r < AUGUR_RETRAIN_REASON_N ? reason_names[r] : "?";
}

const char *
augur_retrain_reason_outcome (AugurRetrainReason r)
{
        switch (r) {
        case AUGUR_RETRAIN_BEATS_SERVING:
        case AUGUR_RETRAIN_BEATS_BASELINES:
                return "promoted";
        case AUGUR_RETRAIN_NOT_BETTER:
        case AUGUR_RETRAIN_BASELINES_BETTER:
        case AUGUR_RETRAIN_NO_SCORE:
                return "rejected";
        case AUGUR_RETRAIN_NO_HISTORY:
        case AUGUR_RETRAIN_CANCELLED:
                return "skipped";
        default:
                return "failed";
        }
}

AugurRetrainReason
augur_retrain_decide (double candidate_mae, double serving_mae, double baseline_mae,
                      double min_gain)
{
        if (!isfinite (candidate_mae))
                return AUGUR_RETRAIN_NO_SCORE;
        if (isfinite (serving_mae))
                return candidate_mae < serving_mae * (1 - min_gain)
                       ? AUGUR_RETRAIN_BEATS_SERVING : AUGUR_RETRAIN_NOT_BETTER;
        if (!isfinite (baseline_mae))
                return AUGUR_RETRAIN_NO_SCORE;
        return candidate_mae < baseline_mae * (1 - min_gain)
               ? AUGUR_RETRAIN_BEATS_BASELINES : AUGUR_RETRAIN_BASELINES_BETTER;
}

/* ------------------------------------------------------------ model files */

char *
augur_retrain_model_dir (const char *db_path)
{
        return g_path_get_dirname (db_path);
}

/* Version of a file name "augur-model-N.augur", or 0. */
static int
file_version (const char *name)
{
        unsigned v = 0;
        int end = 0;

        if (sscanf (name, "augur-model-%u.augur%n", &v, &end) == 1 && name[end] == '\0' &&
            v > 0 && v < G_MAXINT)
                return (int) v;
        return 0;
}

static char *
version_path (const char *dir, int version)
{
        g_autofree char *name = g_strdup_printf ("augur-model-%d.augur", version);

        return g_build_filename (dir, name, NULL);
}

/* Versions present in dir, descending. */
static GArray *
list_versions (const char *dir)
{
        GArray *out = g_array_new (FALSE, FALSE, sizeof (int));
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name (d))) {
                int v = file_version (name);

                if (v > 0)
                        g_array_append_val (out, v);
        }
        for (guint i = 1; i < out->len; i++)           /* insertion sort: a handful */
                for (guint j = i; j > 0 && g_array_index (out, int, j - 1) < g_array_index (out, int, j); j--) {
                        int t = g_array_index (out, int, j);

                        g_array_index (out, int, j) = g_array_index (out, int, j - 1);
                        g_array_index (out, int, j - 1) = t;
                }
        return out;
}

int
augur_retrain_latest_version (const char *dir)
{
        g_autoptr(GArray) v = list_versions (dir);

        return v->len ? g_array_index (v, int, 0) : 0;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
        int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int saved;

        if (fd < 0 || fsync (fd) < 0) {
                saved = errno;
                if (fd >= 0)
                        close (fd);
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                             "fsync of %s: %s", dir, g_strerror (saved));
                return FALSE;
        }
        close (fd);
        return TRUE;
}

/* Point dir/augur-model.augur at version's file, atomically. */
static gboolean
point_link (const char *dir, int version, GError **error)
{
        g_autofree char *target = g_strdup_printf ("augur-model-%d.augur", version);
        g_autofree char *link = g_build_filename (dir, AUGUR_RETRAIN_LINK, NULL);
        g_autofree char *tmp = g_strdup_printf ("%s.tmp-%d", link, (int) getpid ());
        int saved;

        g_unlink (tmp);
        if (symlink (target, tmp) < 0 || rename (tmp, link) < 0) {
                saved = errno;
                g_unlink (tmp);
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                             "pointing %s at %s: %s", link, target, g_strerror (saved));
                return FALSE;
        }
        return fsync_dir (dir, error);
}

char *
augur_retrain_find_serving (const char *dir, int *ret_version)
{
        g_autofree char *link = g_build_filename (dir, AUGUR_RETRAIN_LINK, NULL);
        g_autofree char *target = g_file_read_link (link, NULL);
        g_autoptr(GArray) versions = NULL;
        int linked = target ? file_version (target) : 0;

        if (linked > 0) {
                g_autofree char *path = version_path (dir, linked);
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurModel) m = augur_model_load (path, &error);

                if (m) {
                        *ret_version = linked;
                        return g_steal_pointer (&path);
                }
                g_warning ("promoted model %s cannot be used: %s; rolling back to the previous version, ignoring",
                           path, error->message);
        }
        versions = list_versions (dir);
        for (guint i = 0; i < versions->len; i++) {
                int v = g_array_index (versions, int, i);
                g_autofree char *path = NULL;
                g_autoptr(AugurModel) m = NULL;
                g_autoptr(GError) error = NULL;

                if (v == linked)
                        continue;
                path = version_path (dir, v);
                m = augur_model_load (path, &error);
                if (!m) {
                        g_warning ("model %s cannot be used: %s, ignoring", path, error->message);
                        continue;
                }
                if (!point_link (dir, v, &error))
                        g_warning ("%s, ignoring", error->message);
                else if (linked > 0)
                        g_message ("rolled back to model version %d (%s)", v, path);
                *ret_version = v;
                return g_steal_pointer (&path);
        }
        return NULL;
}

char *
augur_retrain_write_candidate (const char *dir, const AugurModel *m, int version, GError **error)
{
        g_autofree char *path = version_path (dir, version);

        if (!augur_model_save (m, path, error))
                return NULL;
        return g_steal_pointer (&path);
}

AugurModel *
augur_retrain_promote_file (const char *dir, const char *path, int version, GError **error)
{
        g_autoptr(AugurModel) m = NULL;
        g_autoptr(GArray) versions = NULL;
        g_autoptr(GError) local = NULL;

        /* What will serve is exactly what is on disk: load it back. */
        m = augur_model_load (path, &local);
        if (!m) {
                g_unlink (path);
                g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                            "candidate %s does not load back, deleted: ", path);
                return NULL;
        }
        if (!point_link (dir, version, error))
                return NULL;
        versions = list_versions (dir);
        for (guint i = 0; i < versions->len; i++) {
                int v = g_array_index (versions, int, i);

                if (v < version - 1) {
                        g_autofree char *old = version_path (dir, v);

                        if (g_unlink (old) < 0)
                                g_debug ("deleting %s: %s", old, g_strerror (errno));
                }
        }
        return g_steal_pointer (&m);
}

/* ---------------------------------------------------------------- the run */

void
augur_retrain_result_free (AugurRetrainResult *r)
{
        if (!r)
                return;
        g_clear_pointer (&r->vms, g_array_unref);
        g_clear_pointer (&r->promoted, augur_model_free);
        g_free (r);
}

/* Sum of MAE * n and n, for pooling scores. */
typedef struct {
        double sum;
        guint64 n;
} Pool;

static double
pool_mean (const Pool *p)
{
        return p->n ? p->sum / (double) p->n : NAN;
}

/* Scores of one evaluation: the model as it serves and every baseline
 * (bl, by baseline kind). */
typedef struct {
        Pool model;
        Pool bl[AUGUR_BL_N];
} EvalScores;

/* The rows named name (NULL: the model as it serves) of cpu_pct and
 * mem_pct, every horizon, pooled by points. */
static Pool
pool_rows (const GArray *rows, const char *name)
{
        Pool p = { 0, 0 };

        for (guint i = 0; i < rows->len; i++) {
                const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);
                gboolean match = name ? strcmp (r->model, name) == 0
                                      : g_str_has_suffix (r->model, AUGUR_RETRAIN_SERVED_SUFFIX);

                if (!match || (r->target != AUGUR_TARGET_CPU_PCT && r->target != AUGUR_TARGET_MEM_PCT)
                    || r->n == 0 || !isfinite (r->mae))
                        continue;
                p.sum += r->mae * (double) r->n;
                p.n += r->n;
        }
        return p;
}

double
augur_retrain_pooled_mae (const GArray *rows, const char *name, guint64 *ret_n)
{
        Pool p = pool_rows (rows, name);

        if (ret_n)
                *ret_n = p.n;
        return pool_mean (&p);
}

static void
collect_scores (const GArray *rows, EvalScores *ret)
{
        ret->model = pool_rows (rows, NULL);
        for (int b = 0; b < AUGUR_BL_N; b++)
                ret->bl[b] = pool_rows (rows, augur_baseline_name ((AugurBaselineKind) b));
}

void
augur_retrain_config_from_model (const AugurModel *m, AugurTrainConfig *cfg)
{
        cfg->arch = m->nn->cfg.arch;
        cfg->hidden = m->nn->cfg.hidden;
        cfg->layers = m->nn->cfg.layers;
        cfg->heads = m->nn->cfg.heads;
        cfg->nets = augur_model_n_nets (m);
        cfg->T = m->T;
        cfg->H = m->H;
        cfg->point_loss = m->point_loss;
        cfg->quantile = m->quantile;
        cfg->coverage = m->coverage;
}

/* Evaluate m (NULL: baselines only) on one series' held-out slice. */
static gboolean
eval_one (const AugurModel *m, AugurSeries *s, EvalScores *ret, GError **error)
{
        g_autoptr(GPtrArray) one = g_ptr_array_new ();
        g_autoptr(AugurDataset) ds = NULL;
        g_autoptr(GArray) rows = NULL;
        AugurFeatConfig feat;
        AugurEvalConfig ecfg;

        g_ptr_array_add (one, s);
        if (m) {
                feat = m->feat;
        } else {
                augur_features_config_init (&feat);
                feat.step_s = RETRAIN_STEP_S;
        }
        ds = augur_dataset_prepare (one, &feat, AUGUR_SPLIT_BY_TIME, m == NULL);
        augur_eval_config_init (&ecfg);
        rows = augur_forecast_eval (m, ds, &ecfg, error);
        if (!rows)
                return FALSE;
        collect_scores (rows, ret);
        return TRUE;
}

/* The samples of s strictly before cut_s (transfer full). */
static AugurSeries *
series_head (const AugurSeries *s, gint64 cut_s)
{
        AugurSeries *h = augur_series_new (s->vm);

        h->uuid = g_strdup (s->uuid);
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (s->col[c])
                        augur_series_ensure_col (h, c);
        for (gsize i = 0; i < s->n && s->ts[i] < cut_s; i++) {
                gsize k = augur_series_append (h, s->ts[i]);

                for (int c = 0; c < AUGUR_COL_N; c++)
                        if (s->col[c])
                                h->col[c][k] = s->col[c][i];
        }
        return h;
}

gint64
augur_retrain_holdout_start_s (const AugurSeries *s)
{
        g_autoptr(AugurSeries) grid = augur_dataset_resample (s, RETRAIN_STEP_S, NULL);
        gsize val_start, test_start;

        if (grid->n == 0)
                return G_MAXINT64;
        augur_dataset_time_split (grid->n, &val_start, &test_start);
        return test_start < grid->n ? grid->ts[test_start] : G_MAXINT64;
}

static AugurRetrainResult *
result_new (const AugurRetrainParams *p)
{
        AugurRetrainResult *r = g_new0 (AugurRetrainResult, 1);

        r->vms = g_array_new (FALSE, TRUE, sizeof (AugurRetrainVmRow));
        r->run.started_ms = p->now_ms;
        r->run.serving_version = p->serving_path ? p->serving_version : -1;
        r->run.candidate_version = -1;
        r->run.gate_version = r->run.serving_version;
        r->run.train_seconds = NAN;
        r->run.candidate_mae = r->run.serving_mae = r->run.baseline_mae = NAN;
        return r;
}

static AugurRetrainResult *
result_end (AugurRetrainResult *r, AugurRetrainReason reason, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static AugurRetrainResult *
result_end (AugurRetrainResult *r, AugurRetrainReason reason, const char *fmt, ...)
{
        va_list ap;
        g_autofree char *detail = NULL;

        va_start (ap, fmt);
        detail = g_strdup_vprintf (fmt, ap);
        va_end (ap);
        r->reason = reason;
        g_strlcpy (r->run.outcome, augur_retrain_reason_outcome (reason), sizeof r->run.outcome);
        g_strlcpy (r->run.reason, augur_retrain_reason_name (reason), sizeof r->run.reason);
        g_strlcpy (r->run.detail, detail, sizeof r->run.detail);
        r->run.finished_ms = g_get_real_time () / 1000;
        return r;
}

/* Load every domain with min_history of 5-minute history. */
static GPtrArray *
load_history (const AugurRetrainParams *p, GError **error)
{
        g_autoptr(AugurStore) st = augur_store_open (p->db_path, AUGUR_STORE_READ_ONLY, error);
        g_autoptr(GPtrArray) out = NULL;

        if (!st || !(out = augur_store_load_all_series (st, G_MININT64, G_MAXINT64, AUGUR_RES_5M, 0, error)))
                return NULL;
        for (guint i = 0; i < out->len; i++) {
                const AugurSeries *s = g_ptr_array_index (out, i);

                if (!(s->n >= 2 && (double) (s->ts[s->n - 1] - s->ts[0]) >= p->min_history_s))
                        g_ptr_array_remove_index (out, i--);
        }
        return g_steal_pointer (&out);
}

AugurRetrainResult *
augur_retrain_run (const AugurRetrainParams *p, const gint *cancel)
{
        g_autoptr(AugurRetrainResult) r = result_new (p);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) series = NULL;
        g_autoptr(GPtrArray) train_series = NULL;
        g_autoptr(AugurDataset) ds = NULL;
        g_autoptr(AugurModel) cand = NULL;
        g_autoptr(AugurModel) serving = NULL;
        g_autofree char *cand_path = NULL;
        AugurTrainConfig tcfg = p->train;
        AugurFeatConfig feat;
        Pool cand_pool = { 0 }, serving_pool = { 0 }, bl_pool[AUGUR_BL_N] = { { 0 } };
        AugurRetrainReason reason;
        int best_bl = -1, version;

        series = load_history (p, &error);
        if (!series)
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_TRAIN_FAILED,
                                   "reading the history: %s", error->message);
        if (series->len == 0)
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_NO_HISTORY,
                                   "no domain has %.0f s of history yet", p->min_history_s);
        r->run.n_vms = (int) series->len;

        /* 3. the training part: everything before each VM's held-out slice */
        train_series = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                g_ptr_array_add (train_series, series_head (s, augur_retrain_holdout_start_s (s)));
        }
        /* 4. train, in the serving model's shape when one serves */
        if (p->serving_path) {
                serving = augur_model_load (p->serving_path, &error);
                if (!serving) {
                        g_debug ("serving model %s cannot be scored: %s", p->serving_path, error->message);
                        g_clear_error (&error);
                }
        }
        if (serving)
                augur_retrain_config_from_model (serving, &tcfg);
        tcfg.step_s = RETRAIN_STEP_S;
        tcfg.split = AUGUR_SPLIT_BY_TIME;
        tcfg.cancel = cancel;
        augur_features_config_init (&feat);
        feat.step_s = tcfg.step_s;
        if (serving)   /* its opt-in groups too (recency, day) */
                feat.groups |= serving->feat.groups & (AUGUR_FEAT_GROUP_RECENCY | AUGUR_FEAT_GROUP_DAY);
        if (tcfg.no_activity)
                feat.groups &= ~(guint) (AUGUR_FEAT_GROUP_ACTIVITY | AUGUR_FEAT_GROUP_BUCKETS);
        if (tcfg.no_buckets)
                feat.groups &= ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
        ds = augur_dataset_prepare (train_series, &feat, tcfg.split, TRUE);
        cand = augur_forecast_train (ds, &tcfg, NULL, NULL, &error);
        g_clear_pointer (&ds, augur_dataset_free);
        if (cancel && g_atomic_int_get (cancel))
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_CANCELLED, "augurd is stopping");
        if (!cand)
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_TRAIN_FAILED,
                                   "training: %s", error->message);
        r->run.train_seconds = cand->train_seconds;
        r->run.epochs = (int) cand->epochs_run;

        /* 5. score candidate, serving model and baselines per VM */
        for (guint i = 0; i < series->len; i++) {
                AugurSeries *s = g_ptr_array_index (series, i);
                AugurRetrainVmRow vm = { 0 };
                EvalScores ce, se;
                double best = NAN;

                if (cancel && g_atomic_int_get (cancel))
                        return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_CANCELLED, "augurd is stopping");
                if (!eval_one (cand, s, &ce, &error)) {
                        g_debug ("%s: candidate not scored: %s", s->vm, error->message);
                        g_clear_error (&error);
                        continue;
                }
                memset (&se, 0, sizeof se);
                if (serving && !eval_one (serving, s, &se, &error)) {
                        g_debug ("%s: serving model not scored: %s", s->vm, error->message);
                        g_clear_error (&error);
                }
                g_strlcpy (vm.name, s->vm, sizeof vm.name);
                g_strlcpy (vm.uuid, s->uuid ? s->uuid : "", sizeof vm.uuid);
                vm.n_points = (gint64) ce.model.n;
                vm.candidate_mae = pool_mean (&ce.model);
                vm.serving_mae = pool_mean (&se.model);
                for (int b = 0; b < AUGUR_BL_N; b++) {
                        double x = pool_mean (&ce.bl[b]);

                        bl_pool[b].sum += ce.bl[b].sum;
                        bl_pool[b].n += ce.bl[b].n;
                        if (isfinite (x) && (isnan (best) || x < best)) {
                                best = x;
                                g_strlcpy (vm.baseline, augur_baseline_name ((AugurBaselineKind) b),
                                           sizeof vm.baseline);
                        }
                }
                vm.baseline_mae = best;
                cand_pool.sum += ce.model.sum;
                cand_pool.n += ce.model.n;
                serving_pool.sum += se.model.sum;
                serving_pool.n += se.model.n;
                g_array_append_val (r->vms, vm);
        }
        r->run.n_points = (gint64) cand_pool.n;
        r->run.candidate_mae = pool_mean (&cand_pool);
        /* A serving model scored on fewer VMs than the candidate is not
         * comparable: then it counts as unscored. */
        r->run.serving_mae = serving && serving_pool.n == cand_pool.n ? pool_mean (&serving_pool) : NAN;
        for (int b = 0; b < AUGUR_BL_N; b++) {
                double x = pool_mean (&bl_pool[b]);

                if (isfinite (x) && (best_bl < 0 || x < r->run.baseline_mae)) {
                        best_bl = b;
                        r->run.baseline_mae = x;
                }
        }
        if (best_bl >= 0)
                g_strlcpy (r->run.baseline, augur_baseline_name ((AugurBaselineKind) best_bl),
                           sizeof r->run.baseline);

        /* 6. decide.  The per-VM verdicts are the serving model's until a
         * promotion succeeds. */
        reason = augur_retrain_decide (r->run.candidate_mae, r->run.serving_mae, r->run.baseline_mae,
                                       p->min_gain);
        for (guint i = 0; i < r->vms->len; i++) {
                AugurRetrainVmRow *vm = &g_array_index (r->vms, AugurRetrainVmRow, i);

                vm->model_beats_baselines = isfinite (r->run.serving_mae) && vm->serving_mae < vm->baseline_mae;
        }
        if (strcmp (augur_retrain_reason_outcome (reason), "promoted") != 0) {
                return result_end (g_steal_pointer (&r), reason,
                                   "candidate MAE %.4f vs serving %.4f and best baseline (%s) %.4f "
                                   "on %" G_GINT64_FORMAT " held-out points of %d VMs; min gain %.1f %%",
                                   r->run.candidate_mae, r->run.serving_mae,
                                   r->run.baseline[0] ? r->run.baseline : "none", r->run.baseline_mae,
                                   r->run.n_points, r->run.n_vms, p->min_gain * 100);
        }

        /* 7. promote */
        version = MAX (augur_retrain_latest_version (p->model_dir), MAX (p->serving_version, 0)) + 1;
        cand_path = augur_retrain_write_candidate (p->model_dir, cand, version, &error);
        if (!cand_path)
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_WRITE_FAILED,
                                   "writing the candidate: %s", error->message);
        r->promoted = augur_retrain_promote_file (p->model_dir, cand_path, version, &error);
        if (!r->promoted)
                return result_end (g_steal_pointer (&r), AUGUR_RETRAIN_CORRUPT, "%s", error->message);
        r->run.candidate_version = version;
        r->run.gate_version = version;
        g_strlcpy (r->run.model_path, cand_path, sizeof r->run.model_path);
        for (guint i = 0; i < r->vms->len; i++) {
                AugurRetrainVmRow *vm = &g_array_index (r->vms, AugurRetrainVmRow, i);

                vm->model_beats_baselines = vm->candidate_mae < vm->baseline_mae;
        }
        return result_end (g_steal_pointer (&r), reason,
                           "candidate MAE %.4f vs serving %.4f and best baseline (%s) %.4f "
                           "on %" G_GINT64_FORMAT " held-out points of %d VMs; promoted as version %d",
                           r->run.candidate_mae, r->run.serving_mae,
                           r->run.baseline[0] ? r->run.baseline : "none", r->run.baseline_mae,
                           r->run.n_points, r->run.n_vms, version);
}

/* ------------------------------------------------------------- the daemon */

typedef struct {
        AugurRetrainParams p;         /* strings below are owned copies       */
        char *db_path, *dir, *serving_path;
        AugurRetrainResult *result;   /* written by the worker                */
} Job;

struct AugurRetrain {
        AugurStore *store;            /* borrowed                             */
        AugurForecaster *fc;          /* borrowed                             */
        char *db_path;
        char *dir;
        gint64 base_ms;               /* the schedule counts from here        */
        AugurWorker worker;           /* the run off the main loop (worker.h) */
        guint runs_done;
        AugurMetrics *metrics;        /* borrowed, NULL = none                */
};

static void
job_free (gpointer data)
{
        Job *j = data;

        if (!j)
                return;
        g_clear_pointer (&j->result, augur_retrain_result_free);
        g_free (j->db_path);
        g_free (j->dir);
        g_free (j->serving_path);
        g_free (j);
}

static void
set_serving_meta (AugurRetrain *r)
{
        g_autofree char *v = g_strdup_printf ("%d", augur_forecaster_model_version (r->fc));

        augur_store_set_meta (r->store, "model.serving_version", v, NULL);
        augur_store_set_meta (r->store, "model.serving_path", augur_forecaster_model_path (r->fc), NULL);
        augur_store_set_meta (r->store, "model.serving_name", augur_forecaster_model_name (r->fc), NULL);
}

static GHashTable *
gate_from_rows (const GArray *vms)
{
        GHashTable *gate = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

        for (guint i = 0; i < vms->len; i++) {
                const AugurRetrainVmRow *vm = &g_array_index (vms, AugurRetrainVmRow, i);

                if (vm->uuid[0] && vm->n_points >= RETRAIN_GATE_MIN_POINTS)
                        g_hash_table_insert (gate, g_strdup (vm->uuid),
                                             GINT_TO_POINTER (vm->model_beats_baselines ? 1 : 0));
        }
        return gate;
}

AugurRetrain *
augur_retrain_new (AugurStore *st, AugurForecaster *fc, const char *db_path)
{
        AugurRetrain *r = g_new0 (AugurRetrain, 1);
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) runs = NULL;

        r->store = st;
        r->fc = fc;
        r->db_path = g_strdup (db_path);
        r->dir = augur_retrain_model_dir (db_path);
        r->base_ms = g_get_real_time () / 1000;
        augur_worker_init (&r->worker);
        runs = augur_store_retrain_runs (st, 1, &error);
        if (!runs) {
                g_warning ("reading the last retraining run: %s, ignoring", error->message);
        } else if (runs->len) {
                const AugurRetrainRunRow *last = &g_array_index (runs, AugurRetrainRunRow, 0);

                /* A restart does not retrain at once: count from whichever
                 * is newer, the last run or this start. */
                r->base_ms = MAX (r->base_ms, last->started_ms);
                if (last->gate_version >= 0 && last->gate_version == augur_forecaster_model_version (fc)) {
                        g_autoptr(GArray) vms = augur_store_retrain_vms (st, last->id, &error);

                        if (vms)
                                augur_forecaster_set_gate (fc, gate_from_rows (vms));
                        else
                                g_warning ("reading the last retraining results: %s, ignoring", error->message);
                }
        }
        set_serving_meta (r);
        /* A run of a previous augurd that died mid-run is not running. */
        augur_store_set_meta (st, "retrain.running", NULL, NULL);
        return r;
}

static void
run_done (gpointer owner, gpointer data)
{
        AugurRetrain *r = owner;
        Job *j = data;
        AugurRetrainResult *res;
        g_autoptr(GError) error = NULL;

        res = j->result;
        r->runs_done++;
        if (r->metrics)
                augur_metrics_count_retrain (r->metrics, res->run.outcome);
        if (!augur_store_write_retrain_run (r->store, &res->run, (const AugurRetrainVmRow *) res->vms->data,
                                            res->vms->len, NULL, &error))
                g_warning ("recording the retraining run failed: %s, ignoring", error->message);
        if (res->promoted) {
                int version = res->run.candidate_version;

                if (augur_forecaster_swap_model (r->fc, g_steal_pointer (&res->promoted), res->run.model_path,
                                                 version, &error)) {
                        augur_log (G_LOG_LEVEL_MESSAGE, NULL, "retrain", res->run.reason,
                                   res->run.serving_mae, res->run.candidate_mae,
                                   "model version %d promoted and serving: %s", version, res->run.detail);
                } else {
                        g_warning ("promoted model %s cannot serve: %s; the previous model keeps serving, ignoring",
                                   res->run.model_path, error->message);
                        g_clear_error (&error);
                }
        } else if (strcmp (res->run.outcome, "failed") == 0) {
                augur_log (G_LOG_LEVEL_WARNING, NULL, "retrain", res->run.reason, NAN, NAN,
                           "retraining failed (%s): %s; the serving model stays, ignoring",
                           res->run.reason, res->run.detail);
        } else {
                augur_log (G_LOG_LEVEL_MESSAGE, NULL, "retrain", res->run.reason, NAN, NAN,
                           "retraining %s (%s): %s", res->run.outcome, res->run.reason, res->run.detail);
        }
        if (res->run.gate_version >= 0 && res->run.gate_version == augur_forecaster_model_version (r->fc) &&
            res->vms->len > 0)
                augur_forecaster_set_gate (r->fc, gate_from_rows (res->vms));
        set_serving_meta (r);
        augur_store_set_meta (r->store, "retrain.running", NULL, NULL);
}

/* On the worker thread, at RETRAIN_NICE (training's threads inherit it). */
static void
run (gpointer data, const gint *cancel)
{
        Job *j = data;

        j->result = augur_retrain_run (&j->p, cancel);
}

void
augur_retrain_tick (AugurRetrain *r, const AugurConfig *config, gint64 now_ms)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *started = NULL;
        Job *j;

        if (augur_worker_busy (&r->worker) || config->retrain_interval_s <= 0)
                return;
        if ((double) (now_ms - r->base_ms) < config->retrain_interval_s * 1000)
                return;
        r->base_ms = now_ms;
        j = g_new0 (Job, 1);
        j->db_path = g_strdup (r->db_path);
        j->dir = g_strdup (r->dir);
        j->serving_path = g_strdup (augur_forecaster_model_path (r->fc));
        j->p.db_path = j->db_path;
        j->p.model_dir = j->dir;
        j->p.serving_path = j->serving_path;
        j->p.serving_version = augur_forecaster_model_version (r->fc);
        j->p.min_history_s = config->retrain_min_history_s;
        j->p.min_gain = config->retrain_min_gain;
        augur_train_config_init (&j->p.train);
        j->p.train.time_budget_s = config->retrain_budget_s;
        j->p.now_ms = now_ms;
        if (!augur_worker_start (&r->worker, "augur-retrain", RETRAIN_NICE, run, run_done, r, j, job_free,
                                 &error)) {
                g_warning ("starting the retraining thread: %s; retrying next interval, ignoring",
                           error->message);
                return;
        }
        started = g_strdup_printf ("%" G_GINT64_FORMAT, now_ms);
        augur_store_set_meta (r->store, "retrain.running", started, NULL);
        augur_log (G_LOG_LEVEL_INFO, NULL, "retrain", NULL, NAN, NAN,
                   "retraining started (time budget %.0f s, min history %.0f s)",
                   config->retrain_budget_s, config->retrain_min_history_s);
}

void
augur_retrain_set_metrics (AugurRetrain *r, AugurMetrics *m)
{
        r->metrics = m;
}

gboolean
augur_retrain_running (const AugurRetrain *r)
{
        return augur_worker_busy (&r->worker);
}

guint
augur_retrain_runs_done (const AugurRetrain *r)
{
        return r->runs_done;
}

void
augur_retrain_free (AugurRetrain *r)
{
        if (!r)
                return;
        if (augur_worker_busy (&r->worker))
                augur_store_set_meta (r->store, "retrain.running", NULL, NULL);
        augur_worker_clear (&r->worker);
        g_free (r->db_path);
        g_free (r->dir);
        g_free (r);
}
