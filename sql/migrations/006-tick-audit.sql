-- 006-tick-audit.sql — schema version 6: the newest forecast of each domain
-- as float32, not JSON text.
--
-- WHY
--   augurd replaces each VM's row of `forecasts` every tick (plugin/resize.c,
--   for `virt-augur forecast`).  As JSON the row was about 120 bytes per
--   horizon (1.4 KiB at H = 12), printed with four %.3f per horizon: at
--   1000 VMs that was ~400 rewritten pages and 48 000 number formats per
--   tick, the largest write of a tick (BENCHMARKS-replay.md, "3. Tick
--   path").  Now `horizons` holds 4 x H float32, little-endian, series after
--   series: mem_p50_kib, mem_upper_kib, cpu_p50_cores, cpu_upper_cores (NaN
--   = none), 192 bytes at H = 12; store-decisions.c turns it back into the
--   same JSON for readers.
--
-- The rows are only the newest forecast of each domain, rewritten at the
-- next tick, so the old ones are dropped rather than converted.
DROP TABLE forecasts;
CREATE TABLE forecasts (
        domain_id       INTEGER PRIMARY KEY,
        ts_ms           INTEGER NOT NULL,
        model           TEXT,
        step_s          REAL NOT NULL,
        horizons        BLOB NOT NULL              -- 4 x H float32 LE (store-decisions.c)
);

-- decisions_recent loses its (domain_id, ts_ms) index.  Every tick adds one
-- decision per VM; in domain order those entries landed on every leaf of
-- the index (~20 pages at 1000 VMs, each rewritten to the WAL every tick)
-- for a table that holds at most one minute of rows.  Readers of one
-- domain now scan that minute (12 rows per VM at a 5 s tick) and use
-- decisions_main's index for the rest.  samples_recent keeps its index:
-- store-activity.c looks up each report's sample by domain.
DROP INDEX decisions_recent_by_domain;
