-- schema.sql — augur's history store, the version-1 base.
--
-- DESIGN
--   One SQLite file in WAL mode, written by augurd (one writer) and read by
--   virt-augur (read-only readers never block the writer).  Every tick is one
--   transaction: the tick row, the host sample, one sample per running
--   domain and the rollup updates commit together or not at all, so after a
--   crash (even kill -9 mid-write) each tick in the file is whole.
--
--   samples    raw per-tick counters exactly as libvirt reported them (NULL
--              when a field was missing, never 0), plus the derived values
--              of the units contract (README "Units") computed at insert
--              time from the previous sample of the same domain.  Imported
--              traces fill only the derived columns (tick_id NULL).
--   rollups    1-min and 5-min buckets per domain: for gauges n/sum/min/max
--              (mean = sum/n), for counters the sum of per-interval deltas
--              (resets excluded).  Summed in memory while a bucket is
--              open and written once when it closes; recomputed from the
--              samples after an import or a crash (store-tick.c, ROLLUPS FROM
--              SAMPLES).  Since version 4, `samples` is a view over
--              samples_main and samples_recent (004-samples-recent.sql).
--   retention  raw samples for 48 h, rollups for 90 days (configurable),
--              measured back from each domain's NEWEST sample, never from
--              the wall clock: imported history is not deleted for being old.
--
-- MIGRATIONS
--   PRAGMA user_version holds the version.  A new file gets this script
--   (version 1) and then every sql/migrations/NNN-*.sql in order (NNN = the
--   version it produces), exactly like an old file being upgraded, so the
--   migration path is the one every database takes.  A file with a version
--   newer than the binary is refused, never touched.

CREATE TABLE meta (
        key             TEXT PRIMARY KEY,
        value           TEXT
);

CREATE TABLE domains (
        id              INTEGER PRIMARY KEY,
        uuid            TEXT NOT NULL UNIQUE,
        name            TEXT NOT NULL,             -- latest name
        source          TEXT NOT NULL,             -- 'libvirt' or 'import:<fmt>'
        libvirt_id      INTEGER,                   -- last running id, or NULL
        first_ms        INTEGER NOT NULL
);
CREATE INDEX domains_by_name ON domains (name);

-- Every name a domain has had (renames keep history on the same UUID).
CREATE TABLE domain_names (
        domain_id       INTEGER NOT NULL REFERENCES domains (id),
        name            TEXT NOT NULL,
        first_ms        INTEGER NOT NULL,
        PRIMARY KEY (domain_id, name)
);

CREATE TABLE ticks (
        id              INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        n_domains       INTEGER NOT NULL,          -- samples written with it
        collect_usec    INTEGER                    -- stats call duration
);
CREATE INDEX ticks_by_ts ON ticks (ts_ms);

CREATE TABLE samples (
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
        proc_starts_per_min REAL,
        PRIMARY KEY (domain_id, ts_ms)
) WITHOUT ROWID;
CREATE INDEX samples_by_tick ON samples (tick_id);

CREATE TABLE host_samples (
        tick_id         INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        mem_total_kib   INTEGER,
        mem_free_kib    INTEGER,
        mem_available_kib INTEGER,
        swap_total_kib  INTEGER,
        swap_free_kib   INTEGER,
        load1           REAL,
        load5           REAL,
        load15          REAL,
        psi_cpu_some_avg10 REAL,
        psi_mem_some_avg10 REAL,
        psi_mem_full_avg10 REAL,
        psi_io_some_avg10 REAL,
        psi_io_full_avg10 REAL
);
CREATE INDEX host_samples_by_ts ON host_samples (ts_ms);

CREATE TABLE events (
        id              INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        domain_id       INTEGER,
        kind            TEXT NOT NULL,             -- lifecycle, balloon-change, ...
        event           INTEGER,                   -- libvirt event enum
        detail          INTEGER,                   -- libvirt detail enum
        info            TEXT                       -- human-readable
);
CREATE INDEX events_by_domain ON events (domain_id, ts_ms);

-- Rollup buckets.  For each gauge g: g_n (non-NULL count), g_sum, g_min,
-- g_max.  For each counter c: c_delta (sum of per-interval deltas).  The
-- column list must match store.c augur_store_rollup_gauges[] / _counters[]
-- (test-store checks it).
CREATE TABLE rollups (
        domain_id       INTEGER NOT NULL,
        res_s           INTEGER NOT NULL,          -- 60 or 300
        bucket_s        INTEGER NOT NULL,          -- bucket start, unix s
        n               INTEGER NOT NULL,
        mem_actual_kib_n INTEGER, mem_actual_kib_sum REAL, mem_actual_kib_min REAL, mem_actual_kib_max REAL,
        mem_unused_kib_n INTEGER, mem_unused_kib_sum REAL, mem_unused_kib_min REAL, mem_unused_kib_max REAL,
        mem_usable_kib_n INTEGER, mem_usable_kib_sum REAL, mem_usable_kib_min REAL, mem_usable_kib_max REAL,
        mem_available_kib_n INTEGER, mem_available_kib_sum REAL, mem_available_kib_min REAL, mem_available_kib_max REAL,
        vcpus_current_n INTEGER, vcpus_current_sum REAL, vcpus_current_min REAL, vcpus_current_max REAL,
        vcpus_max_n     INTEGER, vcpus_max_sum REAL, vcpus_max_min REAL, vcpus_max_max REAL,
        cpu_cores_n     INTEGER, cpu_cores_sum REAL, cpu_cores_min REAL, cpu_cores_max REAL,
        cpu_pct_n       INTEGER, cpu_pct_sum REAL, cpu_pct_min REAL, cpu_pct_max REAL,
        cpu_cores_used_n INTEGER, cpu_cores_used_sum REAL, cpu_cores_used_min REAL, cpu_cores_used_max REAL,
        mem_prov_kib_n  INTEGER, mem_prov_kib_sum REAL, mem_prov_kib_min REAL, mem_prov_kib_max REAL,
        mem_used_kib_n  INTEGER, mem_used_kib_sum REAL, mem_used_kib_min REAL, mem_used_kib_max REAL,
        disk_rd_kibps_n INTEGER, disk_rd_kibps_sum REAL, disk_rd_kibps_min REAL, disk_rd_kibps_max REAL,
        disk_wr_kibps_n INTEGER, disk_wr_kibps_sum REAL, disk_wr_kibps_min REAL, disk_wr_kibps_max REAL,
        net_rx_kibps_n  INTEGER, net_rx_kibps_sum REAL, net_rx_kibps_min REAL, net_rx_kibps_max REAL,
        net_tx_kibps_n  INTEGER, net_tx_kibps_sum REAL, net_tx_kibps_min REAL, net_tx_kibps_max REAL,
        input_events_per_min_n INTEGER, input_events_per_min_sum REAL, input_events_per_min_min REAL, input_events_per_min_max REAL,
        sessions_n      INTEGER, sessions_sum REAL, sessions_min REAL, sessions_max REAL,
        proc_starts_per_min_n INTEGER, proc_starts_per_min_sum REAL, proc_starts_per_min_min REAL, proc_starts_per_min_max REAL,
        cpu_time_ns_delta REAL,
        block_rd_bytes_delta REAL,
        block_wr_bytes_delta REAL,
        net_rx_bytes_delta REAL,
        net_tx_bytes_delta REAL,
        PRIMARY KEY (domain_id, res_s, bucket_s)
) WITHOUT ROWID;
