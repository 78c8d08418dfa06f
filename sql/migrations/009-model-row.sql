-- 009-model-row.sql — schema version 9: the history's trace columns are the
-- model's input row (common/units.h, AUGUR_MODEL_ROW_VERSION 2).
--
-- WHY
--   Before, a sample's capacities were the balloon size (mem_prov_kib) and
--   the online vCPUs (cpu_cores, and cpu_pct relative to them), while the
--   live forecaster fed the <memory> and <vcpu> maxima: retraining learnt a
--   signal that moved with the balloon and served it on another one.
--   Now both use the maxima.  Old rows are rewritten to the
--   same definition from the raw columns each row still has (mem_max_kib,
--   vcpus_max, cpu_cores_used), so retraining sees one signal across the
--   change.  Nothing is lost: the balloon size stays in mem_actual_kib and
--   the online count in vcpus_current.
--
-- ROLLUPS keep no <memory> maximum: their mem_prov_kib summaries become
--   NULL (unknown) rather than keep the balloon under the new meaning; the
--   raw rows, which retraining prefers, have it.  cpu_cores and cpu_pct are
--   recomputed from the bucket's vcpus_max and cpu_cores_used summaries.
UPDATE samples_main SET mem_prov_kib = mem_max_kib WHERE mem_max_kib IS NOT NULL;
UPDATE samples_recent SET mem_prov_kib = mem_max_kib WHERE mem_max_kib IS NOT NULL;
UPDATE samples_main SET cpu_cores = vcpus_max,
        cpu_pct = CASE WHEN cpu_cores_used IS NULL THEN NULL ELSE 100.0 * cpu_cores_used / vcpus_max END
        WHERE vcpus_max > 0;
UPDATE samples_recent SET cpu_cores = vcpus_max,
        cpu_pct = CASE WHEN cpu_cores_used IS NULL THEN NULL ELSE 100.0 * cpu_cores_used / vcpus_max END
        WHERE vcpus_max > 0;
UPDATE rollups SET mem_prov_kib_n = NULL, mem_prov_kib_sum = NULL,
        mem_prov_kib_min = NULL, mem_prov_kib_max = NULL;
UPDATE rollups SET
        cpu_cores_n = vcpus_max_n, cpu_cores_sum = vcpus_max_sum,
        cpu_cores_min = vcpus_max_min, cpu_cores_max = vcpus_max_max,
        cpu_pct_n = cpu_cores_used_n,
        cpu_pct_sum = 100.0 * cpu_cores_used_sum / (vcpus_max_sum / vcpus_max_n),
        cpu_pct_min = 100.0 * cpu_cores_used_min / vcpus_max_max,
        cpu_pct_max = 100.0 * cpu_cores_used_max / vcpus_max_min
        WHERE vcpus_max_n > 0 AND vcpus_max_min > 0;
