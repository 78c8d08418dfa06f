-- 010-io-actuations.sql — schema version 10: disk I/O limit actuations.
--
-- An actuation of kind io-total, io-read or io-write moves one disk's
-- byte-rate limit (<iotune> total_bytes_sec, read_bytes_sec,
-- write_bytes_sec; from_value and to_value in bytes/s).  device names the
-- disk (its target, "vda"); reason says why (policy/io-limit.h: forecast-
-- burst, restore, yield).  A yield changes nothing and is recorded too:
-- someone else moved the limit while augur held a raise, and augur took
-- their value as the floor (from = what augur had set, to = theirs).
-- Balloon and vCPU rows leave both NULL.
ALTER TABLE actuations ADD COLUMN device TEXT;
ALTER TABLE actuations ADD COLUMN reason TEXT;
