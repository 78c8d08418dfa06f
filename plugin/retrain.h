/* retrain.h — stage "retrain" of augurd: periodic retraining and promotion
 * of the forecaster's model, off the main loop.
 *
 * What it is: every [retrain] interval augurd trains a candidate model on
 * the store's recorded history (the same code as `virt-augur train`,
 * model/train.c) in a worker thread at nice 10 with a time budget,
 * scores it against the serving model and the baselines on a held-out
 * recent slice of each VM's own history, records the result (tables
 * retrain_runs and retrain_vm, sql/migrations/005-retrain.sql), promotes
 * the candidate only when it is better, and hot-swaps it into the
 * forecaster on the main thread.  What it is not: the training or the
 * scoring arithmetic (model/eval.c), the online champion choice
 * (model/champion.c) or SQL (sql/store-retrain.c).  The design is the
 * comment at the top of retrain.c.
 *
 * Threads: augur_retrain_run() is self-contained (it opens its own
 * read-only store connection and loads the serving model from its file), so
 * the worker shares nothing mutable with the main loop but the cancel flag.
 * Everything else here runs on the main thread.
 */
#pragma once

#include <glib.h>
#include "augur-config.h"
#include "forecast.h"
#include "forecaster.h"
#include "store.h"
#include "store-retrain.h"

/* Why a run ended as it did; the name (augur_retrain_reason_name) is what
 * retrain_runs.reason holds. */
typedef enum {
        AUGUR_RETRAIN_BEATS_SERVING = 0,    /* promoted: better than the serving model */
        AUGUR_RETRAIN_BEATS_BASELINES,      /* promoted: no model served; better than
                                             * the best baseline                    */
        AUGUR_RETRAIN_NOT_BETTER,           /* rejected: not min_gain better than serving */
        AUGUR_RETRAIN_BASELINES_BETTER,     /* rejected: no model served and the
                                             * best baseline is as good              */
        AUGUR_RETRAIN_NO_SCORE,             /* rejected: the candidate has no score  */
        AUGUR_RETRAIN_NO_HISTORY,           /* skipped: no VM has min_history        */
        AUGUR_RETRAIN_CANCELLED,            /* skipped: augurd is stopping           */
        AUGUR_RETRAIN_TRAIN_FAILED,         /* failed: reading or training           */
        AUGUR_RETRAIN_WRITE_FAILED,         /* failed: the model file was not written */
        AUGUR_RETRAIN_CORRUPT,              /* failed: the written file did not load
                                             * back; the serving model stays         */
        AUGUR_RETRAIN_REASON_N,
} AugurRetrainReason;

const char *augur_retrain_reason_name (AugurRetrainReason r);
/* "promoted", "rejected", "skipped" or "failed". */
const char *augur_retrain_reason_outcome (AugurRetrainReason r);

/* The promotion decision, a pure function of the pooled held-out scores
 * (MAE in percentage points, NAN = none):
 *   candidate NAN                               -> NO_SCORE
 *   serving scored: candidate < serving * (1 - min_gain)
 *                                               -> BEATS_SERVING, else NOT_BETTER
 *   no serving score (no model, or it could not be scored):
 *     baseline NAN                              -> NO_SCORE
 *     candidate < baseline * (1 - min_gain)     -> BEATS_BASELINES,
 *                                                  else BASELINES_BETTER */
AugurRetrainReason augur_retrain_decide (double candidate_mae, double serving_mae,
                                         double baseline_mae, double min_gain);

/* ---- model files next to the database ----------------------------------
 * dir/augur-model-N.augur   version N >= 1, written once, never modified
 * dir/augur-model.augur     symlink to the serving version's file name
 * The previous version's file is kept for rollback; older ones are
 * deleted when a new version is promoted. */

#define AUGUR_RETRAIN_LINK "augur-model.augur"

/* Directory of the model files for a database path (its directory). */
char *augur_retrain_model_dir (const char *db_path);

/* Highest version present in dir (0 = none). */
int augur_retrain_latest_version (const char *dir);

/* The promoted model that should serve: the link's target if it loads,
 * else (rollback, with a warning) the newest other version that loads, and
 * the link is pointed back at it.  Returns (transfer full) its path and
 * sets *ret_version, or NULL when there is none (*ret_version untouched). */
char *augur_retrain_find_serving (const char *dir, int *ret_version);

/* Save m as dir/augur-model-<version>.augur (atomic: temp file, fsync,
 * rename).  Returns (transfer full) the path, or NULL with error. */
char *augur_retrain_write_candidate (const char *dir, const AugurModel *m, int version,
                                     GError **error);

/* Promote the file at path (written by augur_retrain_write_candidate):
 * load it back — a file that does not load is deleted and the error
 * returned, the link is untouched — then point dir/augur-model.augur at it
 * (symlink to a temp name, rename over, fsync the directory) and delete
 * versions older than version - 1.  Returns (transfer full) the model as
 * loaded from the file. */
AugurModel *augur_retrain_promote_file (const char *dir, const char *path, int version,
                                        GError **error);

/* ---- one run (the worker's body; tests call it directly) ---------------- */

/* First second of the held-out slice of s: the first step of the test
 * split of s on the 300 s model grid, i.e. what augur_forecast_eval scores
 * (augur_dataset_time_split).  The candidate trains on samples strictly
 * before it.  G_MAXINT64 for an empty series. */
gint64 augur_retrain_holdout_start_s (const AugurSeries *s);

/* Set cfg's model shape to m's: arch, width (and the transformer's layers
 * and heads), window, horizons, point loss, quantile and coverage.  The
 * training schedule (epochs, budget, seed) is left alone. */
void augur_retrain_config_from_model (const AugurModel *m, AugurTrainConfig *cfg);

/* The eval row of the model as it serves: the int NN behind its
 * validation gate (model/eval.c). */
#define AUGUR_RETRAIN_SERVED_SUFFIX "_gated"

/* A retraining score: the MAE of the eval rows (augur_forecast_eval) named
 * name, or with name NULL of the model as it serves (AUGUR_RETRAIN_SERVED_SUFFIX),
 * pooled by points over cpu_pct and mem_pct and every horizon; NAN when
 * no row counts.  *ret_n (optional): the points pooled. */
double augur_retrain_pooled_mae (const GArray *rows, const char *name, guint64 *ret_n);

typedef struct {
        const char *db_path;          /* store, opened read-only here          */
        const char *model_dir;        /* versioned model files                 */
        const char *serving_path;     /* model serving now, NULL = baselines   */
        int serving_version;          /* its version, -1 = none                */
        double min_history_s;         /* per VM: newest - oldest sample        */
        double min_gain;              /* relative MAE gain needed to promote   */
        AugurTrainConfig train;       /* training options, incl. time budget   */
        gint64 now_ms;                /* recorded as started_ms                */
} AugurRetrainParams;

typedef struct {
        AugurRetrainReason reason;
        AugurRetrainRunRow run;       /* the retrain_runs row                  */
        GArray *vms;                  /* AugurRetrainVmRow, owned              */
        AugurModel *promoted;         /* loaded back from the promoted file,
                                       * owned; NULL unless promoted           */
} AugurRetrainResult;

void augur_retrain_result_free (AugurRetrainResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurRetrainResult, augur_retrain_result_free)

/* Load, split, train, score, decide and (when better) write and promote.
 * Never fails as a function: every failure is a result with a reason and a
 * detail naming what failed.  Blocks for the training budget plus the
 * scoring; cancel (may be NULL) stops training after the current epoch. */
AugurRetrainResult *augur_retrain_run (const AugurRetrainParams *p, const gint *cancel);

/* ---- the daemon side (main thread) -------------------------------------- */

typedef struct AugurRetrain AugurRetrain;

/* st and fc are borrowed and must outlive the AugurRetrain.  Reads the
 * newest run from the store (the schedule counts from it) and installs its
 * per-VM gate when its gate version is the one serving. */
AugurRetrain *augur_retrain_new (AugurStore *st, AugurForecaster *fc, const char *db_path);
/* Cancel a running worker, wait for it (at most one epoch) and free. */
void augur_retrain_free (AugurRetrain *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurRetrain, augur_retrain_free)

/* Called every tick: start a run when config->retrain_interval_s (> 0) has
 * passed since the last run started (or since augurd started) and none is
 * running.  Returns at once; the result arrives on the main loop. */
void augur_retrain_tick (AugurRetrain *r, const AugurConfig *config, gint64 now_ms);

/* Count finished runs by outcome in m (borrowed; NULL: none). */
void augur_retrain_set_metrics (AugurRetrain *r, AugurMetrics *m);
/* TRUE while a worker runs (tests, status). */
gboolean augur_retrain_running (const AugurRetrain *r);
/* Runs finished since start (tests, status). */
guint augur_retrain_runs_done (const AugurRetrain *r);
