-- 005-retrain.sql — schema version 5: periodic retraining and promotion
-- (plugin/retrain.c).  schema.sql is the version-1 base; new files run this
-- migration too.
--
-- retrain_runs  one row per retraining run augurd finished (or gave up):
--               outcome 'promoted' | 'rejected' | 'failed' | 'skipped',
--               reason a stable code (retrain.h AugurRetrainReason names),
--               detail one sentence for people.  Versions: 0 = the model
--               augurd was started with (--model, [daemon] model or the
--               packaged default), N >= 1 = augur-model-N.augur next to the
--               database, NULL = no model (baselines only).
--               serving_version serves when the run starts; gate_version
--               serves after it (the candidate when promoted).
--               Scores: MAE in percentage points on the held-out last 20 %
--               of each VM's history, mean over cpu_pct and mem_pct and
--               horizons 1..H, pooled over VMs by points (retrain.c EVAL).
-- retrain_vm    the same scores per VM; model_beats_baselines says whether
--               the gate_version model beat the best baseline on that VM's
--               held-out history: the `auto` mode gate reads it (for VMs
--               with at least 576 scored points, retrain.c).
CREATE TABLE retrain_runs (
        id              INTEGER PRIMARY KEY,
        started_ms      INTEGER NOT NULL,          -- wall time, ms
        finished_ms     INTEGER NOT NULL,
        outcome         TEXT NOT NULL,
        reason          TEXT NOT NULL,
        detail          TEXT,
        serving_version INTEGER,
        candidate_version INTEGER,                 -- written and promoted, else NULL
        gate_version    INTEGER,
        model_path      TEXT,                      -- the promoted file
        n_vms           INTEGER,
        n_points        INTEGER,
        train_seconds   REAL,
        epochs          INTEGER,
        candidate_mae   REAL,
        serving_mae     REAL,
        baseline_mae    REAL,
        baseline        TEXT                       -- best baseline's name
);
CREATE INDEX retrain_runs_started ON retrain_runs (started_ms);

CREATE TABLE retrain_vm (
        run_id          INTEGER NOT NULL REFERENCES retrain_runs (id) ON DELETE CASCADE,
        uuid            TEXT,
        name            TEXT NOT NULL,
        n_points        INTEGER,
        candidate_mae   REAL,
        serving_mae     REAL,
        baseline_mae    REAL,
        baseline        TEXT,
        model_beats_baselines INTEGER NOT NULL,    -- 0 / 1, for gate_version
        PRIMARY KEY (run_id, name)
);
