/* store-retrain.h — the retraining record: one row per run and one per VM
 * (migrations/005-retrain.sql has the table design; plugin/retrain.h the
 * meaning of the values). */
#pragma once

#include "store.h"

/* One run.  Versions: -1 = none (NULL in the table); scores NAN = none. */
typedef struct {
        gint64 id;                      /* set by the store                   */
        gint64 started_ms, finished_ms;
        char outcome[16];               /* promoted|rejected|failed|skipped  */
        char reason[32];                /* AugurRetrainReason name            */
        char detail[512];
        int serving_version, candidate_version, gate_version;
        char model_path[1024];          /* "" = none                          */
        int n_vms;
        gint64 n_points;
        double train_seconds;
        int epochs;
        double candidate_mae, serving_mae, baseline_mae;
        char baseline[32];
} AugurRetrainRunRow;

typedef struct {
        char uuid[40];                  /* "" = unknown                       */
        char name[256];
        gint64 n_points;
        double candidate_mae, serving_mae, baseline_mae;
        char baseline[32];
        gboolean model_beats_baselines; /* for the run's gate_version         */
} AugurRetrainVmRow;

/* Write a run and its VM rows in one transaction; *ret_id (may be NULL)
 * gets the run id on success. */
gboolean augur_store_write_retrain_run (AugurStore *st, const AugurRetrainRunRow *run,
                                        const AugurRetrainVmRow *vms, gsize n_vms,
                                        gint64 *ret_id, GError **error);

/* The newest `limit` runs, newest first (GArray of AugurRetrainRunRow). */
GArray *augur_store_retrain_runs (AugurStore *st, guint limit, GError **error);

/* The VM rows of run_id, by name (GArray of AugurRetrainVmRow). */
GArray *augur_store_retrain_vms (AugurStore *st, gint64 run_id, GError **error);
