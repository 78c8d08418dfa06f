-- 003-activity.sql — schema version 3: behavioural signals from inside the
-- guests (augur-guest over the org.augur.activity.0 channel, and logged-in
-- users from the guest agent).  schema.sql is the version-1 base; new
-- files run this migration too.
--
-- activity        one row per accepted report.  ts_ms is the HOST receive
--                 time (never the guest's clock), made unique per domain and
--                 source.  Units are those of the report (REPORT-SCHEMA.md)
--                 and of the augur trace format: input_events_per_min,
--                 sessions and proc_starts_per_min go as they are into the
--                 same columns of the domain's newest sample.  source 0 =
--                 channel (augur-guest), 1 = guest agent (only users set).
--                 top_programs is a JSON array of {"comm","cpu_pct"}, at
--                 most 5 entries, comm at most 15 bytes.
-- activity_drops  per domain, cumulative counters of what augurd read from
--                 the channel and what it dropped (malformed, oversize, rate,
--                 range).  Hostile guests show up here.
-- Retention: activity rows age like raw samples (48 h by default, counted
-- back from the domain's newest row); activity_drops is one row per domain.
CREATE TABLE activity (
        domain_id       INTEGER NOT NULL,
        ts_ms           INTEGER NOT NULL,          -- host receive time
        source          INTEGER NOT NULL DEFAULT 0,
        seq             INTEGER,                   -- guest report number
        interval_ms     INTEGER,                   -- interval the rates cover
        guest_dropped   INTEGER,                   -- reports the guest dropped
        input_src       TEXT,                      -- evdev | irq | none
        input_events_per_min REAL,
        sessions        INTEGER,
        users           INTEGER,
        proc_starts_per_min REAL,
        net_rx_bytes    INTEGER,                   -- since guest boot
        net_tx_bytes    INTEGER,
        load1           REAL,
        psi_cpu         REAL,                      -- percent, some avg10
        psi_mem         REAL,
        psi_io          REAL,
        top_programs    TEXT,                      -- JSON array
        PRIMARY KEY (domain_id, ts_ms, source)
) WITHOUT ROWID;

CREATE TABLE activity_drops (
        domain_id       INTEGER PRIMARY KEY,
        updated_ms      INTEGER NOT NULL,
        bytes_read      INTEGER NOT NULL DEFAULT 0,
        lines           INTEGER NOT NULL DEFAULT 0,
        accepted        INTEGER NOT NULL DEFAULT 0,
        dropped_malformed INTEGER NOT NULL DEFAULT 0,
        dropped_oversize INTEGER NOT NULL DEFAULT 0,
        dropped_rate    INTEGER NOT NULL DEFAULT 0,
        dropped_range   INTEGER NOT NULL DEFAULT 0,
        connects        INTEGER NOT NULL DEFAULT 0
);
