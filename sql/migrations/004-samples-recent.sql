-- 004-samples-recent.sql — schema version 4: what a tick writes for every
-- VM (its sample, its decision) goes to small append-only tables first.
--
-- WHY
--   Version 1's `samples` was a WITHOUT ROWID B-tree clustered by
--   (domain_id, ts_ms): a tick that adds one row per VM dirtied one leaf
--   page per VM (and split them as they filled), and every dirty 4 KiB page
--   goes to the WAL: about 16 KB of writes per VM-sample with 1000 VMs.
--   Now a tick appends to samples_recent, a rowid table (rows in tick
--   order: a tick fills a few pages) with a small (domain_id, ts_ms) index
--   (a few dozen leaves, whatever the history).  Once a minute, inside a
--   tick's transaction, store-tick.c moves it into samples_main sorted by
--   (domain_id, ts_ms): the rows are appended to samples_main's rowid
--   B-tree, and each VM's dozen entries land on its leaf of the unique
--   (domain_id, ts_ms) index together, one index page per VM per minute
--   instead of a leaf per VM per tick.  Measured: scripts/bench-store.
--
--   The decisions (002-decisions.sql: one audit row per VM per tick) take
--   the same path: decisions_recent, moved into decisions_main with the
--   samples.  Their ids stay unique across both: the store assigns them.
--
-- READERS see the view `samples`, the union of both, so every query that
--   read the table reads the view unchanged.  Writers name the tables:
--   ticks append to samples_recent, imports upsert into samples_main,
--   retention deletes from samples_main.  The two tables have the same
--   columns in the same order; a migration that adds a column to one adds
--   it to both and recreates the view.
--
-- The old rows are copied in (domain_id, ts_ms) order.  samples_by_tick
-- goes: no query looks samples up by tick, and the index cost a write per
-- sample.
DROP INDEX samples_by_tick;
CREATE TABLE samples_main (
        domain_id       INTEGER NOT NULL,
        ts_ms           INTEGER NOT NULL,
        tick_id         INTEGER,                   -- NULL for imported rows
        -- raw, as reported (units.h augur_stat_info)
        state           INTEGER,
        mem_actual_kib  INTEGER,
        mem_max_kib     INTEGER,
        mem_swap_in_kib INTEGER,
        mem_swap_out_kib INTEGER,
        mem_major_fault INTEGER,
        mem_minor_fault INTEGER,
        mem_unused_kib  INTEGER,
        mem_available_kib INTEGER,
        mem_usable_kib  INTEGER,
        mem_disk_caches_kib INTEGER,
        mem_rss_kib     INTEGER,
        mem_last_update_s INTEGER,
        cpu_time_ns     INTEGER,
        cpu_user_ns     INTEGER,
        cpu_system_ns   INTEGER,
        vcpus_current   INTEGER,
        vcpus_max       INTEGER,
        block_rd_bytes  INTEGER,
        block_wr_bytes  INTEGER,
        net_rx_bytes    INTEGER,
        net_tx_bytes    INTEGER,
        -- derived, trace units (series.h)
        cpu_cores       REAL,
        cpu_pct         REAL,
        cpu_cores_used  REAL,
        mem_prov_kib    REAL,
        mem_used_kib    REAL,
        disk_rd_kibps   REAL,
        disk_wr_kibps   REAL,
        net_rx_kibps    REAL,
        net_tx_kibps    REAL,
        input_events_per_min REAL,
        sessions        REAL,
        proc_starts_per_min REAL
);
INSERT INTO samples_main SELECT * FROM samples ORDER BY domain_id, ts_ms;
DROP TABLE samples;
CREATE UNIQUE INDEX samples_main_by_domain ON samples_main (domain_id, ts_ms);


CREATE TABLE samples_recent (
        domain_id       INTEGER NOT NULL,
        ts_ms           INTEGER NOT NULL,
        tick_id         INTEGER,                   -- NULL for imported rows
        -- raw, as reported (units.h augur_stat_info)
        state           INTEGER,
        mem_actual_kib  INTEGER,
        mem_max_kib     INTEGER,
        mem_swap_in_kib INTEGER,
        mem_swap_out_kib INTEGER,
        mem_major_fault INTEGER,
        mem_minor_fault INTEGER,
        mem_unused_kib  INTEGER,
        mem_available_kib INTEGER,
        mem_usable_kib  INTEGER,
        mem_disk_caches_kib INTEGER,
        mem_rss_kib     INTEGER,
        mem_last_update_s INTEGER,
        cpu_time_ns     INTEGER,
        cpu_user_ns     INTEGER,
        cpu_system_ns   INTEGER,
        vcpus_current   INTEGER,
        vcpus_max       INTEGER,
        block_rd_bytes  INTEGER,
        block_wr_bytes  INTEGER,
        net_rx_bytes    INTEGER,
        net_tx_bytes    INTEGER,
        -- derived, trace units (series.h)
        cpu_cores       REAL,
        cpu_pct         REAL,
        cpu_cores_used  REAL,
        mem_prov_kib    REAL,
        mem_used_kib    REAL,
        disk_rd_kibps   REAL,
        disk_wr_kibps   REAL,
        net_rx_kibps    REAL,
        net_tx_kibps    REAL,
        input_events_per_min REAL,
        sessions        REAL,
        proc_starts_per_min REAL
);
CREATE INDEX samples_recent_by_domain ON samples_recent (domain_id, ts_ms);

CREATE VIEW samples AS
        SELECT * FROM samples_main
        UNION ALL
        SELECT * FROM samples_recent;

ALTER TABLE decisions RENAME TO decisions_main;

CREATE TABLE decisions_recent (
        id              INTEGER PRIMARY KEY,       -- store.c assigns it
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
CREATE INDEX decisions_recent_by_domain ON decisions_recent (domain_id, ts_ms);

CREATE VIEW decisions AS
        SELECT * FROM decisions_main
        UNION ALL
        SELECT * FROM decisions_recent;
