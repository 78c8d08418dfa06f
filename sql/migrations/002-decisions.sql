-- 002: the audit trail of the resize loop.  One row per VM per decision
-- (every tick in recommend/act mode), whether anything changed or not, and
-- one row per actuation with its measured latency (the lead time).
CREATE TABLE decisions (
        id              INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        domain_id       INTEGER NOT NULL,
        mode            TEXT NOT NULL,             -- observe|recommend|act
        policy          TEXT NOT NULL,             -- augur|reactive
        model           TEXT,                      -- serving forecaster
        mem_used_kib    REAL,                      -- inputs, in short
        mem_alloc_kib   REAL,
        cpu_cores_used  REAL,
        vcpus_online    INTEGER,
        horizon_s       REAL,                      -- lead window used
        mem_p50_kib     REAL,                      -- forecast over the window
        mem_upper_kib   REAL,
        cpu_p50_cores   REAL,
        cpu_upper_cores REAL,
        mem_target_kib  REAL,                      -- plan
        vcpus_target    INTEGER,
        mem_action      TEXT NOT NULL,             -- none|grow|shrink|recommend-*|failed
        cpu_action      TEXT NOT NULL,
        mem_reason      TEXT NOT NULL,
        cpu_reason      TEXT NOT NULL,
        mem_veto        TEXT NOT NULL,
        cpu_veto        TEXT NOT NULL,
        note            TEXT                       -- arbitration, errors
);
CREATE INDEX decisions_by_domain ON decisions (domain_id, ts_ms);

CREATE TABLE actuations (
        id              INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        domain_id       INTEGER NOT NULL,
        kind            TEXT NOT NULL,             -- balloon|vcpus
        from_value      REAL,
        to_value        REAL,
        latency_ms      INTEGER                    -- until seen in effect, NULL = not yet
);
CREATE INDEX actuations_by_domain ON actuations (domain_id, ts_ms);

-- The newest forecast of each domain, per horizon (what `virt-augur
-- forecast` shows).  One row per domain, replaced every decision.
CREATE TABLE forecasts (
        domain_id       INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        model           TEXT,
        step_s          REAL NOT NULL,
        horizons        TEXT NOT NULL              -- JSON: [{"h":1,"mem_p50_kib":…,…}, …]
);
