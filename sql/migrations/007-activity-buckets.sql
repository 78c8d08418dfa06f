-- 007-activity-buckets.sql — schema version 7: per-program and per-user
-- activity signals, folded into hashed buckets (common/buckets.h: FNV-1a of
-- the program's comm or the user's name, mod 8 or mod 4).
--
-- samples_main, samples_recent  prog_b0..prog_b7: summed cpu_pct (percent of
--                 one CPU) of the reported top programs whose comm hashes to
--                 the bucket; user_b0..user_b3: logged-in sessions of the
--                 users hashing there.  Trace units: the augur trace format
--                 has columns of the same names (model/trace.c), so live and
--                 imported history train the same model.  Filled from a
--                 channel report like the other activity columns
--                 (store-activity.c); NULL = the report did not carry them.
-- rollups         n/sum/min/max of each, like every gauge.
-- activity        the same 12 columns for each channel report (source 0):
--                 prog_bK from its "top", user_bK from its "user_sessions"
--                 (guest/REPORT-SCHEMA.md); NULL when the report has none.
--
-- ALTER TABLE ADD COLUMN appends, so the two samples tables keep the same
-- column order (004-samples-recent.sql); the view is recreated so that its
-- column list is the tables' again.

ALTER TABLE samples_main ADD COLUMN prog_b0 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b1 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b2 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b3 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b4 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b5 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b6 REAL;
ALTER TABLE samples_main ADD COLUMN prog_b7 REAL;
ALTER TABLE samples_main ADD COLUMN user_b0 REAL;
ALTER TABLE samples_main ADD COLUMN user_b1 REAL;
ALTER TABLE samples_main ADD COLUMN user_b2 REAL;
ALTER TABLE samples_main ADD COLUMN user_b3 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b0 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b1 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b2 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b3 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b4 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b5 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b6 REAL;
ALTER TABLE samples_recent ADD COLUMN prog_b7 REAL;
ALTER TABLE samples_recent ADD COLUMN user_b0 REAL;
ALTER TABLE samples_recent ADD COLUMN user_b1 REAL;
ALTER TABLE samples_recent ADD COLUMN user_b2 REAL;
ALTER TABLE samples_recent ADD COLUMN user_b3 REAL;
ALTER TABLE rollups ADD COLUMN prog_b0_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b0_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b0_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b0_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b1_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b1_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b1_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b1_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b2_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b2_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b2_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b2_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b3_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b3_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b3_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b3_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b4_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b4_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b4_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b4_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b5_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b5_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b5_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b5_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b6_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b6_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b6_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b6_max REAL;
ALTER TABLE rollups ADD COLUMN prog_b7_n INTEGER;
ALTER TABLE rollups ADD COLUMN prog_b7_sum REAL;
ALTER TABLE rollups ADD COLUMN prog_b7_min REAL;
ALTER TABLE rollups ADD COLUMN prog_b7_max REAL;
ALTER TABLE rollups ADD COLUMN user_b0_n INTEGER;
ALTER TABLE rollups ADD COLUMN user_b0_sum REAL;
ALTER TABLE rollups ADD COLUMN user_b0_min REAL;
ALTER TABLE rollups ADD COLUMN user_b0_max REAL;
ALTER TABLE rollups ADD COLUMN user_b1_n INTEGER;
ALTER TABLE rollups ADD COLUMN user_b1_sum REAL;
ALTER TABLE rollups ADD COLUMN user_b1_min REAL;
ALTER TABLE rollups ADD COLUMN user_b1_max REAL;
ALTER TABLE rollups ADD COLUMN user_b2_n INTEGER;
ALTER TABLE rollups ADD COLUMN user_b2_sum REAL;
ALTER TABLE rollups ADD COLUMN user_b2_min REAL;
ALTER TABLE rollups ADD COLUMN user_b2_max REAL;
ALTER TABLE rollups ADD COLUMN user_b3_n INTEGER;
ALTER TABLE rollups ADD COLUMN user_b3_sum REAL;
ALTER TABLE rollups ADD COLUMN user_b3_min REAL;
ALTER TABLE rollups ADD COLUMN user_b3_max REAL;
ALTER TABLE activity ADD COLUMN prog_b0 REAL;
ALTER TABLE activity ADD COLUMN prog_b1 REAL;
ALTER TABLE activity ADD COLUMN prog_b2 REAL;
ALTER TABLE activity ADD COLUMN prog_b3 REAL;
ALTER TABLE activity ADD COLUMN prog_b4 REAL;
ALTER TABLE activity ADD COLUMN prog_b5 REAL;
ALTER TABLE activity ADD COLUMN prog_b6 REAL;
ALTER TABLE activity ADD COLUMN prog_b7 REAL;
ALTER TABLE activity ADD COLUMN user_b0 INTEGER;
ALTER TABLE activity ADD COLUMN user_b1 INTEGER;
ALTER TABLE activity ADD COLUMN user_b2 INTEGER;
ALTER TABLE activity ADD COLUMN user_b3 INTEGER;

DROP VIEW samples;
CREATE VIEW samples AS
        SELECT * FROM samples_main
        UNION ALL
        SELECT * FROM samples_recent;
