/* store.c — augur's history store: the only code that speaks SQL.
 *
 * What it is: open/migrate, the per-tick write transaction, events, meta,
 * retention, import of series, and the read queries the CLI and the model
 * use.  The table design is in schema.sql (compiled in as schema_sql).
 * What it is not: a place for policy or feature logic.
 *
 * Statements used on the hot path (one tick) are prepared once at open.
 * A tick appends one row per domain to samples_recent (moved to
 * samples_main once a minute, 004-samples-recent.sql) and adds the sample
 * to its domain's open 1-min and 5-min buckets in memory; a bucket's
 * rollups row is written once, when it closes (ROLLUPS FROM SAMPLES
 * below).  The domain id lookup is a hash table in memory, so steady state
 * runs no SELECTs.  Measured: scripts/bench-store, BENCHMARKS-store.md.
 */
#include "config.h"

#include "store.h"
#include "store-private.h"
#include "regfile.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.inc"     /* static const char schema_sql[]: version 1 */
#include "migrations.inc" /* migrations[]: { N, "sql of N-1 -> N" }, ... */

/* The version a fully migrated file has: the last migration's. */
#define SCHEMA_VERSION (migrations[G_N_ELEMENTS (migrations) - 1].version)

G_DEFINE_QUARK (augur-store-error-quark, augur_store_error)

/* Derived columns of samples (trace units) — the order of AugurCol for the
 * trace columns.  cpu_cores is the provisioned core count. */
static const char *const derived_cols[AUGUR_COL_N_TRACE] = {
        [AUGUR_COL_CPU_CORES] = "cpu_cores",
        [AUGUR_COL_CPU_PCT] = "cpu_pct",
        [AUGUR_COL_MEM_PROV_KIB] = "mem_prov_kib",
        [AUGUR_COL_MEM_USED_KIB] = "mem_used_kib",
        [AUGUR_COL_DISK_RD_KIBPS] = "disk_rd_kibps",
        [AUGUR_COL_DISK_WR_KIBPS] = "disk_wr_kibps",
        [AUGUR_COL_NET_RX_KIBPS] = "net_rx_kibps",
        [AUGUR_COL_NET_TX_KIBPS] = "net_tx_kibps",
        [AUGUR_COL_INPUT_EVENTS_PER_MIN] = "input_events_per_min",
        [AUGUR_COL_SESSIONS] = "sessions",
        [AUGUR_COL_PROC_STARTS_PER_MIN] = "proc_starts_per_min",
        [AUGUR_COL_PROG_B0 + 0] = "prog_b0", [AUGUR_COL_PROG_B0 + 1] = "prog_b1",
        [AUGUR_COL_PROG_B0 + 2] = "prog_b2", [AUGUR_COL_PROG_B0 + 3] = "prog_b3",
        [AUGUR_COL_PROG_B0 + 4] = "prog_b4", [AUGUR_COL_PROG_B0 + 5] = "prog_b5",
        [AUGUR_COL_PROG_B0 + 6] = "prog_b6", [AUGUR_COL_PROG_B0 + 7] = "prog_b7",
        [AUGUR_COL_USER_B0 + 0] = "user_b0", [AUGUR_COL_USER_B0 + 1] = "user_b1",
        [AUGUR_COL_USER_B0 + 2] = "user_b2", [AUGUR_COL_USER_B0 + 3] = "user_b3",
};

/* Rollup gauges and counters: must match the rollups table (test-store). */
static const char *const rollup_gauges[] = {
        "mem_actual_kib", "mem_unused_kib", "mem_usable_kib", "mem_available_kib",
        "vcpus_current", "vcpus_max",
        "cpu_cores", "cpu_pct", "cpu_cores_used", "mem_prov_kib", "mem_used_kib",
        "disk_rd_kibps", "disk_wr_kibps", "net_rx_kibps", "net_tx_kibps",
        "input_events_per_min", "sessions", "proc_starts_per_min",
        /* 007-activity-buckets.sql */
        "prog_b0", "prog_b1", "prog_b2", "prog_b3", "prog_b4", "prog_b5", "prog_b6", "prog_b7",
        "user_b0", "user_b1", "user_b2", "user_b3",
};
#define N_ROLLUP_GAUGES G_N_ELEMENTS (rollup_gauges)
static const AugurStat rollup_counters[] = {
        AUGUR_STAT_CPU_TIME_NS, AUGUR_STAT_BLOCK_RD_BYTES, AUGUR_STAT_BLOCK_WR_BYTES,
        AUGUR_STAT_NET_RX_BYTES, AUGUR_STAT_NET_TX_BYTES,
};
#define N_ROLLUP_COUNTERS G_N_ELEMENTS (rollup_counters)
static const AugurResolution rollup_res[] = { AUGUR_RES_1M, AUGUR_RES_5M };

const AugurHistColInfo augur_hist_col_info[AUGUR_HIST_N] = {
        [AUGUR_HIST_MEM_ACTUAL_KIB] = { "mem_actual_kib", TRUE, FALSE },
        [AUGUR_HIST_MEM_UNUSED_KIB] = { "mem_unused_kib", TRUE, FALSE },
        [AUGUR_HIST_MEM_USABLE_KIB] = { "mem_usable_kib", TRUE, FALSE },
        [AUGUR_HIST_MEM_AVAILABLE_KIB] = { "mem_available_kib", TRUE, FALSE },
        [AUGUR_HIST_MEM_USED_KIB] = { "mem_used_kib", TRUE, FALSE },
        [AUGUR_HIST_CPU_TIME_NS] = { "cpu_time_ns", TRUE, TRUE },
        [AUGUR_HIST_CPU_CORES_USED] = { "cpu_cores_used", FALSE, FALSE },
        [AUGUR_HIST_VCPUS_CURRENT] = { "vcpus_current", TRUE, FALSE },
        [AUGUR_HIST_VCPUS_MAX] = { "vcpus_max", TRUE, FALSE },
        [AUGUR_HIST_BLOCK_RD_BYTES] = { "block_rd_bytes", TRUE, TRUE },
        [AUGUR_HIST_BLOCK_WR_BYTES] = { "block_wr_bytes", TRUE, TRUE },
        [AUGUR_HIST_NET_RX_BYTES] = { "net_rx_bytes", TRUE, TRUE },
        [AUGUR_HIST_NET_TX_BYTES] = { "net_tx_bytes", TRUE, TRUE },
        [AUGUR_HIST_CPU_PCT] = { "cpu_pct", FALSE, FALSE },
        [AUGUR_HIST_MEM_PROV_KIB] = { "mem_prov_kib", TRUE, FALSE },
        [AUGUR_HIST_INPUT_EVENTS_PER_MIN] = { "input_events_per_min", FALSE, FALSE },
        [AUGUR_HIST_SESSIONS] = { "sessions", FALSE, FALSE },
        [AUGUR_HIST_PROC_STARTS_PER_MIN] = { "proc_starts_per_min", FALSE, FALSE },
        [AUGUR_HIST_VCPUS_ONLINE] = { "vcpus_online", TRUE, FALSE, TRUE },
};

static void
domain_cache_free (gpointer p)
{
        DomainCache *d = p;

        g_free (d->name);
        augur_domain_sample_clear (&d->prev);
        g_free (d);
}

/* Convert the connection's last error into a GError, once, here. */
static void
set_sql_error (AugurStore *st, int rc, GError **error, const char *what)
{
        AugurStoreError code = AUGUR_STORE_ERROR_FAILED;
        int primary = rc & 0xff;

        if (primary == SQLITE_FULL)
                code = AUGUR_STORE_ERROR_FULL;
        else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
                code = AUGUR_STORE_ERROR_CORRUPT;
        else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
                code = AUGUR_STORE_ERROR_BUSY;
        else if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
                 primary == SQLITE_PERM || primary == SQLITE_IOERR)
                code = AUGUR_STORE_ERROR_OPEN;
        g_set_error (error, AUGUR_STORE_ERROR, code, "%s: %s: %s (code %d)",
                     st->path, what,
                     st->db ? sqlite3_errmsg (st->db) : sqlite3_errstr (rc), rc);
}

static gboolean
exec (AugurStore *st, const char *sql, GError **error)
{
        int rc = sqlite3_exec (st->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK) {
                set_sql_error (st, sqlite3_extended_errcode (st->db), error, "exec");
                return FALSE;
        }
        return TRUE;
}

static sqlite3_stmt *
prepare (AugurStore *st, const char *sql, GError **error)
{
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v3 (st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                     &stmt, NULL);

        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "prepare");
                return NULL;
        }
        return stmt;
}

static int
step_done (sqlite3_stmt *stmt)
{
        int rc = sqlite3_step (stmt);

        sqlite3_reset (stmt);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void
bind_double_or_null (sqlite3_stmt *stmt, int idx, double v)
{
        if (isnan (v))
                sqlite3_bind_null (stmt, idx);
        else
                sqlite3_bind_double (stmt, idx, v);
}

static double
column_double_or_nan (sqlite3_stmt *stmt, int idx)
{
        if (sqlite3_column_type (stmt, idx) == SQLITE_NULL)
                return NAN;
        return sqlite3_column_double (stmt, idx);
}

int
augur_store_schema_version (void)
{
        return SCHEMA_VERSION;
}

static int
user_version (AugurStore *st)
{
        sqlite3_stmt *stmt = NULL;
        int v = -1;

        if (sqlite3_prepare_v2 (st->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_step (stmt) == SQLITE_ROW)
                v = sqlite3_column_int (stmt, 0);
        sqlite3_finalize (stmt);
        return v;
}

static gboolean
migrate (AugurStore *st, GError **error)
{
        int v = user_version (st);

        if (v < 0) {
                /* The header read failed: not a database or damaged. */
                set_sql_error (st, sqlite3_extended_errcode (st->db), error,
                               "cannot read schema version");
                return FALSE;
        }
        if (v > SCHEMA_VERSION) {
                g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_NEWER,
                             "%s: database schema version %d is newer than this "
                             "augur (%d); upgrade augur or use another --db. "
                             "The file was not modified",
                             st->path, v, SCHEMA_VERSION);
                return FALSE;
        }
        if (v == SCHEMA_VERSION)
                return TRUE;
        if (st->mode == AUGUR_STORE_READ_ONLY) {
                g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN,
                             "%s: database schema version %d is older than %d "
                             "and it is opened read-only; run augurd once to migrate",
                             st->path, v, SCHEMA_VERSION);
                return FALSE;
        }
        if (v == 0) {
                /* A new file: the version-1 base, then every migration, so the
                 * migration path is the one code path every database takes. */
                g_autofree char *sql = g_strdup_printf ("BEGIN IMMEDIATE;%s;PRAGMA user_version = 1;COMMIT;",
                                                        schema_sql);

                if (!exec (st, sql, error)) {
                        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                        g_prefix_error (error, "creating schema: ");
                        return FALSE;
                }
                v = 1;
        }
        for (gsize i = 0; i < G_N_ELEMENTS (migrations); i++) {
                g_autofree char *sql = NULL;

                if (!migrations[i].sql || migrations[i].version <= v)
                        continue;
                sql = g_strdup_printf ("BEGIN IMMEDIATE;%s;PRAGMA user_version = %d;COMMIT;",
                                       migrations[i].sql, migrations[i].version);
                if (!exec (st, sql, error)) {
                        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                        g_prefix_error (error, "migrating to version %d: ", migrations[i].version);
                        return FALSE;
                }
        }
        return TRUE;
}

static gboolean
rollback (AugurStore *st)
{
        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
        return FALSE;
}

/* ROLLUPS FROM SAMPLES
 *
 * A rollup row is a function of the samples in its bucket (and, for
 * counter deltas, of the sample just before it).  Live, the store sums
 * each domain's open 1-min and 5-min buckets in memory (AugurRollupAcc in
 * DomainCache) and writes the row ONCE, when the bucket closes (a later
 * sample arrives, the bucket's end passes, or the store closes), merging
 * into a row a clean stop may have written partly.  Rewriting two rollup
 * rows per domain every tick cost two B-tree leaf pages of WAL per VM per
 * tick.  The in-memory sums change only after the tick's transaction
 * commits, so a failed tick leaves them as they were.
 *
 * The same rows are computed in SQL from the samples after an import and
 * after a crash (recover_open_buckets() at open: the buckets that were
 * open when the process died); readers sum the still-open bucket from the
 * samples with acc_add() itself (prepare_rollup_rows()), so history is
 * complete to the last tick.
 *
 * CTE appended by append_rollup_cte(), parameters ?1 domain id, ?2 first
 * bucket start (unix s, a multiple of res), ?3 end (unix s, exclusive):
 *   w   the bucket range's samples plus the one before ?2, with, per
 *       counter, the delta to the previous sample (lag over ts_ms);
 *   a   per bucket, columns named and ordered exactly as the rollups
 *       table: n, per gauge count/sum/min/max (NULLs ignored: count is the
 *       number of present values), per counter the sum of deltas that are
 *       usable — the same rule as counter_delta() in common/units.c: not
 *       after a gap over AUGUR_MAX_RATE_GAP_S, not negative (a reset).  */
static void
append_rollup_cte (GString *sql, gint64 res)
{
        g_string_append (sql, "WITH w AS (SELECT ts_ms");
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                g_string_append_printf (sql, ", %s", rollup_gauges[g]);
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                g_string_append_printf (sql, ", %1$s - lag(%1$s) OVER o AS %1$s_d",
                                        augur_stat_info[rollup_counters[c]].column);
        g_string_append (sql,
                ", ts_ms - lag(ts_ms) OVER o AS dt_ms FROM samples"
                " WHERE domain_id = ?1 AND ts_ms < ?3 * 1000 AND ts_ms >= coalesce("
                "(SELECT ts_ms FROM samples WHERE domain_id = ?1 AND ts_ms < ?2 * 1000 ORDER BY ts_ms DESC LIMIT 1),"
                " ?2 * 1000)"
                " WINDOW o AS (ORDER BY ts_ms)), ");
        g_string_append_printf (sql,
                "a AS (SELECT ?1 AS domain_id, %1$" G_GINT64_FORMAT " AS res_s,"
                " ts_ms / %2$" G_GINT64_FORMAT " * %1$" G_GINT64_FORMAT " AS bucket_s, count(*) AS n",
                res, res * 1000);
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                g_string_append_printf (sql, ", count(%1$s) AS %1$s_n, sum(%1$s) AS %1$s_sum,"
                                        " min(%1$s) AS %1$s_min, max(%1$s) AS %1$s_max",
                                        rollup_gauges[g]);
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                g_string_append_printf (sql,
                        ", sum(CASE WHEN dt_ms > 0 AND dt_ms <= %2$.0f AND %1$s_d >= 0 THEN %1$s_d END)"
                        " AS %1$s_delta",
                        augur_stat_info[rollup_counters[c]].column, AUGUR_MAX_RATE_GAP_S * 1000);
        g_string_append (sql, " FROM w WHERE ts_ms >= ?2 * 1000 GROUP BY 3)");
}

/* (Re)write domain_id's rollups at rollup_res[r] for the buckets that
 * start in [from_s, to_s), from its samples.  Runs inside the caller's
 * transaction; SQLite result code. */
static int
rollups_from_samples (AugurStore *st, gint64 domain_id, gsize r, gint64 from_s, gint64 to_s)
{
        sqlite3_stmt *stmt = st->rebuild_rollups[r];
        gint64 res = rollup_res[r];

        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, from_s / res * res);
        sqlite3_bind_int64 (stmt, 3, to_s);
        return step_done (stmt);
}

static void
acc_reset (AugurRollupAcc *acc, gint64 bucket_s)
{
        acc->bucket_s = bucket_s;
        acc->closing = FALSE;
        acc->n = 0;
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++) {
                acc->g_n[g] = 0;
                acc->g_sum[g] = 0;
                acc->g_min[g] = INFINITY;
                acc->g_max[g] = -INFINITY;
        }
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                acc->c_delta[c] = NAN;
}

static void
acc_add_gauge (AugurRollupAcc *acc, gsize g, double v)
{
        if (isnan (v))
                return;
        acc->g_n[g]++;
        acc->g_sum[g] += v;
        acc->g_min[g] = MIN (acc->g_min[g], v);
        acc->g_max[g] = MAX (acc->g_max[g], v);
}

/* One sample: its gauges (rollup_gauges[] order, NAN = missing) and its
 * counter deltas to the previous sample (AugurDeltas, NULL = none). */
static void
acc_add (AugurRollupAcc *acc, const double *gauges, const AugurDeltas *deltas)
{
        acc->n++;
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                acc_add_gauge (acc, g, gauges[g]);
        for (gsize c = 0; c < N_ROLLUP_COUNTERS && deltas; c++) {
                double d = deltas->d[rollup_counters[c]];

                if (!isnan (d))
                        acc->c_delta[c] = isnan (acc->c_delta[c]) ? d : acc->c_delta[c] + d;
        }
}

/* Merge acc into its row (a row may exist: written partly at a clean stop
 * before the daemon came back inside the same bucket).  Inside the
 * caller's transaction; SQLite result code. */
static int
acc_flush (AugurStore *st, gint64 domain_id, gsize r, const AugurRollupAcc *acc)
{
        sqlite3_stmt *u = st->upsert_rollup;
        int i = 1;

        if (acc->bucket_s < 0 || acc->n == 0)
                return SQLITE_OK;
        sqlite3_bind_int64 (u, i++, domain_id);
        sqlite3_bind_int64 (u, i++, rollup_res[r]);
        sqlite3_bind_int64 (u, i++, acc->bucket_s);
        sqlite3_bind_int64 (u, i++, acc->n);
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++) {
                gboolean any = acc->g_n[g] > 0;

                sqlite3_bind_int64 (u, i++, acc->g_n[g]);
                bind_double_or_null (u, i++, any ? acc->g_sum[g] : NAN);
                bind_double_or_null (u, i++, any ? acc->g_min[g] : NAN);
                bind_double_or_null (u, i++, any ? acc->g_max[g] : NAN);
        }
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                bind_double_or_null (u, i++, acc->c_delta[c]);
        return step_done (u);
}

static gsize
gauge_index (const char *name)
{
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                if (strcmp (rollup_gauges[g], name) == 0)
                        return g;
        g_return_val_if_reached (0);
}

gboolean
augur_store_rollup_is_open (const DomainCache *dc, gsize r, gint64 ts_ms)
{
        gint64 b;

        g_return_val_if_fail (r < G_N_ELEMENTS (rollup_res), FALSE);
        b = (ts_ms / 1000) / rollup_res[r] * rollup_res[r];
        /* In the open tick: the bucket its sample leaves open. */
        if (dc->tick_bucket_s[r] >= 0)
                return dc->tick_bucket_s[r] == b;
        return dc->acc[r].bucket_s >= 0 && !dc->acc[r].closing && dc->acc[r].bucket_s == b;
}

/* A sample of the open tick: what its commit moves into memory. */
typedef struct {
        DomainCache *dc;
        AugurDomainSample sample;      /* the next "previous"; name NULL   */
        double gauges[N_ROLLUP_GAUGES];
        AugurDeltas deltas;
} TickSample;

/* An activity value waiting for the open tick's commit (store-activity.c). */
typedef struct {
        DomainCache *dc;
        gsize r;
        gint64 ts_ms;
        gsize gauge;
        double value;
} TickGauge;

static void
rollup_add_gauge (DomainCache *dc, gsize r, gint64 ts_ms, gsize gauge, double value)
{
        if (augur_store_rollup_is_open (dc, r, ts_ms))
                acc_add_gauge (&dc->acc[r], gauge, value);
}

void
augur_store_rollup_add_gauge_committed (AugurStore *st, DomainCache *dc, gsize r, gint64 ts_ms,
                                        const char *gauge, double value)
{
        g_return_if_fail (r < G_N_ELEMENTS (rollup_res));
        if (st->tick_open) {
                TickGauge g = { dc, r, ts_ms, gauge_index (gauge), value };

                g_array_append_val (st->tick_gauges, g);
                return;
        }
        rollup_add_gauge (dc, r, ts_ms, gauge_index (gauge), value);
}

/* Move the ticks' samples from samples_recent into samples_main, each
 * domain's rows together, and the decisions likewise (004-samples-recent.sql).  Inside the caller's
 * transaction; SQLite result code. */
static int
move_recent_samples (AugurStore *st)
{
        sqlite3_stmt *steps[] = { st->move_recent, st->clear_recent,
                                  st->move_decisions, st->clear_decisions };
        int rc = SQLITE_OK;

        for (gsize i = 0; i < G_N_ELEMENTS (steps) && rc == SQLITE_OK; i++)
                rc = step_done (steps[i]);
        return rc;
}

static gboolean
prepare_statements (AugurStore *st, GError **error)
{
        g_autoptr(GString) sql = g_string_new (NULL);
        g_autoptr(GString) vals = g_string_new (NULL);

        /* samples: tick_id, raw fields, derived fields */
        g_string_append (sql, "INSERT INTO samples_recent (domain_id, ts_ms, tick_id");
        g_string_append (vals, "?,?,?");
        for (int f = 0; f < AUGUR_STAT_N; f++) {
                g_string_append_printf (sql, ", %s", augur_stat_info[f].column);
                g_string_append (vals, ",?");
        }
        g_string_append (sql, ", cpu_cores_used");
        g_string_append (vals, ",?");
        for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                g_string_append_printf (sql, ", %s", derived_cols[c]);
                g_string_append (vals, ",?");
        }
        g_string_append_printf (sql, ") VALUES (%s)", vals->str);
        if (!(st->ins_sample = prepare (st, sql->str, error)))
                return FALSE;

        /* rollups: merge an in-memory bucket into its row.  NULL-safe: a
         * NULL side leaves the other as it is (SQLite's scalar min/max
         * return NULL on NULL). */
        g_string_assign (sql, "INSERT INTO rollups (domain_id, res_s, bucket_s, n");
        g_string_assign (vals, "?,?,?,?");
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++) {
                g_string_append_printf (sql, ", %1$s_n, %1$s_sum, %1$s_min, %1$s_max", rollup_gauges[g]);
                g_string_append (vals, ",?,?,?,?");
        }
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++) {
                g_string_append_printf (sql, ", %s_delta", augur_stat_info[rollup_counters[c]].column);
                g_string_append (vals, ",?");
        }
        g_string_append_printf (sql, ") VALUES (%s) ON CONFLICT (domain_id, res_s, bucket_s) DO UPDATE SET n = n + excluded.n", vals->str);
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++) {
                const char *x = rollup_gauges[g];

                g_string_append_printf (sql,
                        ", %1$s_n = coalesce(%1$s_n, 0) + excluded.%1$s_n"
                        ", %1$s_sum = coalesce(%1$s_sum + excluded.%1$s_sum, %1$s_sum, excluded.%1$s_sum)"
                        ", %1$s_min = coalesce(min(%1$s_min, excluded.%1$s_min), %1$s_min, excluded.%1$s_min)"
                        ", %1$s_max = coalesce(max(%1$s_max, excluded.%1$s_max), %1$s_max, excluded.%1$s_max)", x);
        }
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                g_string_append_printf (sql,
                        ", %1$s_delta = coalesce(%1$s_delta + excluded.%1$s_delta, %1$s_delta, excluded.%1$s_delta)",
                        augur_stat_info[rollup_counters[c]].column);
        if (!(st->upsert_rollup = prepare (st, sql->str, error)))
                return FALSE;

        /* rollups: rebuilt from the samples (import, crash recovery) */
        for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++) {
                g_string_truncate (sql, 0);
                append_rollup_cte (sql, rollup_res[r]);
                g_string_append (sql, " INSERT OR REPLACE INTO rollups (domain_id, res_s, bucket_s, n");
                for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                        g_string_append_printf (sql, ", %1$s_n, %1$s_sum, %1$s_min, %1$s_max", rollup_gauges[g]);
                for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                        g_string_append_printf (sql, ", %s_delta", augur_stat_info[rollup_counters[c]].column);
                g_string_append (sql, ") SELECT * FROM a");
                if (!(st->rebuild_rollups[r] = prepare (st, sql->str, error)))
                        return FALSE;
        }

        g_string_assign (sql, "INSERT INTO host_samples (tick_id, ts_ms");
        g_string_assign (vals, "?,?");
        for (int f = 0; f < AUGUR_HOST_N; f++) {
                g_string_append_printf (sql, ", %s", augur_host_field_column[f]);
                g_string_append (vals, ",?");
        }
        g_string_append_printf (sql, ") VALUES (%s)", vals->str);
        if (!(st->ins_host = prepare (st, sql->str, error)))
                return FALSE;

        /* samples_recent -> samples_main, sorted (004-samples-recent.sql) */
        if (!(st->move_recent = prepare (st, "INSERT OR REPLACE INTO samples_main "
                                             "SELECT * FROM samples_recent ORDER BY domain_id, ts_ms", error)) ||
            !(st->clear_recent = prepare (st, "DELETE FROM samples_recent", error)) ||
            !(st->move_decisions = prepare (st, "INSERT INTO decisions_main "
                                                "SELECT * FROM decisions_recent ORDER BY id", error)) ||
            !(st->clear_decisions = prepare (st, "DELETE FROM decisions_recent", error)))
                return FALSE;
        {
                sqlite3_stmt *stmt = prepare (st, "SELECT max(coalesce((SELECT max(id) FROM decisions_main), 0),"
                                                  " coalesce((SELECT max(id) FROM decisions_recent), 0))", error);

                if (!stmt)
                        return FALSE;
                if (sqlite3_step (stmt) == SQLITE_ROW)
                        st->next_decision_id = sqlite3_column_int64 (stmt, 0) + 1;
                sqlite3_finalize (stmt);
        }

        if (!(st->ins_tick = prepare (st, "INSERT INTO ticks (ts_ms, n_domains, collect_usec) VALUES (?,?,?)", error)) ||
            !(st->find_domain = prepare (st, "SELECT id, name, libvirt_id FROM domains WHERE uuid = ?", error)) ||
            !(st->ins_domain = prepare (st, "INSERT INTO domains (uuid, name, source, libvirt_id, first_ms) VALUES (?,?,?,?,?)", error)) ||
            !(st->upd_domain = prepare (st, "UPDATE domains SET name = ?, libvirt_id = ? WHERE id = ?", error)) ||
            !(st->ins_name = prepare (st, "INSERT OR IGNORE INTO domain_names (domain_id, name, first_ms) VALUES (?,?,?)", error)) ||
            !(st->ins_event = prepare (st, "INSERT INTO events (ts_ms, domain_id, kind, event, detail, info) VALUES (?,?,?,?,?,?)", error)))
                return FALSE;
        return TRUE;
}

/* At close: write every bucket still open, so a clean stop leaves no
 * sample outside the rollups.  Best effort: what fails here is rebuilt by
 * recover_open_buckets() at the next open. */
static void
flush_open_buckets (AugurStore *st)
{
        GHashTableIter it;
        gpointer v;
        int rc = SQLITE_OK;

        if (sqlite3_exec (st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return;
        g_hash_table_iter_init (&it, st->by_uuid);
        while (rc == SQLITE_OK && g_hash_table_iter_next (&it, NULL, &v))
                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res) && rc == SQLITE_OK; r++)
                        rc = acc_flush (st, ((DomainCache *) v)->id, r, &((DomainCache *) v)->acc[r]);
        if (rc != SQLITE_OK || sqlite3_exec (st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                g_warning ("%s: writing the open rollup buckets at close: %s (rebuilt at next open)",
                           st->path, sqlite3_errmsg (st->db));
                rollback (st);
        }
}

/* After a crash (kill -9, power loss) the bucket holding each domain's
 * newest sample may have no row, or a partial one (written at a clean stop,
 * then more samples before the crash): its n then differs from the count
 * of its samples.  Rewrite such buckets from the samples.  A few index
 * lookups per domain when nothing is missing. */
static gboolean
recover_open_buckets (AugurStore *st, GError **error)
{
        sqlite3_stmt *stmt = NULL;
        int rc;

        rc = sqlite3_prepare_v2 (st->db,
                "WITH l AS (SELECT d.id AS id, coalesce("
                "             max((SELECT max(ts_ms) FROM samples_main s WHERE s.domain_id = d.id),"
                "                 (SELECT max(ts_ms) FROM samples_recent s WHERE s.domain_id = d.id)),"
                "             (SELECT max(ts_ms) FROM samples_main s WHERE s.domain_id = d.id),"
                "             (SELECT max(ts_ms) FROM samples_recent s WHERE s.domain_id = d.id)) AS last_ms"
                "           FROM domains d),"
                " b AS (SELECT id, last_ms, res, last_ms / 1000 / res * res AS b FROM l, (SELECT ?1 AS res UNION ALL SELECT ?2)"
                "       WHERE last_ms IS NOT NULL)"
                " SELECT DISTINCT id, last_ms FROM b WHERE"
                "  coalesce((SELECT n FROM rollups r WHERE r.domain_id = b.id AND r.res_s = b.res AND r.bucket_s = b.b), -1)"
                "  != (SELECT count(*) FROM samples_main s WHERE s.domain_id = b.id AND s.ts_ms >= b.b * 1000 AND s.ts_ms <= b.last_ms)"
                "   + (SELECT count(*) FROM samples_recent s WHERE s.domain_id = b.id AND s.ts_ms >= b.b * 1000 AND s.ts_ms <= b.last_ms)",
                -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "looking for open rollup buckets");
                return FALSE;
        }
        sqlite3_bind_int64 (stmt, 1, rollup_res[0]);
        sqlite3_bind_int64 (stmt, 2, rollup_res[1]);
        if (!exec (st, "BEGIN IMMEDIATE", error)) {
                sqlite3_finalize (stmt);
                return FALSE;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                gint64 id = sqlite3_column_int64 (stmt, 0);
                gint64 last_s = sqlite3_column_int64 (stmt, 1) / 1000;

                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res) && rc == SQLITE_ROW; r++)
                        if (rollups_from_samples (st, id, r, last_s, last_s + 1) != SQLITE_OK)
                                rc = sqlite3_extended_errcode (st->db);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                set_sql_error (st, rc, error, "rebuilding open rollup buckets");
                return rollback (st);
        }
        return exec (st, "COMMIT", error) || rollback (st);
}

/* TRUE when the database is in WAL mode (":memory:" never is). */
static gboolean
journal_mode_is_wal (AugurStore *st)
{
        sqlite3_stmt *q = NULL;
        gboolean wal = FALSE;

        if (sqlite3_prepare_v2 (st->db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step (q) == SQLITE_ROW)
                wal = g_ascii_strcasecmp ((const char *) sqlite3_column_text (q, 0), "wal") == 0;
        sqlite3_finalize (q);
        return wal;
}

AugurStore *
augur_store_open (const char *path, AugurStoreMode mode, GError **error)
{
        g_autoptr(AugurStore) st = g_new0 (AugurStore, 1);
        int flags = mode == AUGUR_STORE_READ_ONLY
                    ? SQLITE_OPEN_READONLY
                    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        int rc;

        g_return_val_if_fail (path != NULL, NULL);
        st->path = g_strdup (path);
        st->mode = mode;
        st->retention.raw_keep_s = 48 * 3600;
        st->retention.rollup_keep_s = 90 * 86400;
        st->recent_period = -1;
        st->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, domain_cache_free);
        st->tick_samples = g_array_new (FALSE, FALSE, sizeof (TickSample));
        st->tick_closed = g_ptr_array_new ();
        st->tick_created = g_ptr_array_new_with_free_func (g_free);
        st->tick_gauges = g_array_new (FALSE, FALSE, sizeof (TickGauge));

        if (mode == AUGUR_STORE_READ_ONLY && !g_file_test (path, G_FILE_TEST_EXISTS)) {
                g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN,
                             "%s: no such database (is augurd running with this --db?)", path);
                return NULL;
        }
        /* A database is a regular file or a new one.  SQLite opens anything
         * and creates PATH-journal, -wal and -shm next to it with the
         * file's mode: --db /dev/null left a /dev/null-journal of mode
         * 0666.  (":memory:" is SQLite's own, not a path.) */
        {
                g_autoptr(GError) local = NULL;

                if (strcmp (path, ":memory:") != 0 && !augur_regfile_check_or_absent (path, &local)) {
                        g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN,
                                     "database %s (expected an existing database or a path to create one at)",
                                     local->message);
                        return NULL;
                }
        }
        rc = sqlite3_open_v2 (path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "cannot open database");
                return NULL;
        }
        sqlite3_extended_result_codes (st->db, 1);
        sqlite3_busy_timeout (st->db, 2000);
        /* The version check comes first: a file we refuse (newer schema,
         * not a database) must not be touched, not even switched to WAL. */
        if (user_version (st) > SCHEMA_VERSION || user_version (st) < 0) {
                migrate (st, error);
                return NULL;
        }
        if (mode == AUGUR_STORE_READ_WRITE) {
                /* WAL: readers never block the writer.  synchronous=NORMAL is
                 * durable against process crashes (kill -9) and keeps every
                 * commit atomic; a power loss may drop the last ticks.
                 * Checkpoints run on a thread of their own every 8192
                 * pages (32 MiB) or every minute when the WAL has frames
                 * (a small host), not in SQLite's COMMIT every 1000
                 * (checkpointer.c): a 1000-VM tick writes ~1.5 MiB, and a
                 * page rewritten by several ticks is copied to the database
                 * once.  A 32 MiB
                 * page cache (SQLite's default is 2 MiB) keeps a 1000-VM
                 * tick's working set: without it pages are re-read from
                 * the OS on every tick. */
                if (!exec (st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; "
                               "PRAGMA foreign_keys = OFF;", error))
                        return NULL;
        }
        if (!migrate (st, error))
                return NULL;
        if (mode == AUGUR_STORE_READ_WRITE &&
            (!prepare_statements (st, error) || !recover_open_buckets (st, error)))
                return NULL;
        if (mode == AUGUR_STORE_READ_WRITE) {
                st->wal = journal_mode_is_wal (st);
                st->ckpt = augur_store_checkpointer_start (st->db, path);
        }
        return g_steal_pointer (&st);
}

void
augur_store_close (AugurStore *st)
{
        if (!st)
                return;
        /* Defensive: a tick left open is not committed by a close. */
        augur_store_tick_rollback (st);
        if (st->mode == AUGUR_STORE_READ_WRITE && st->upsert_rollup)
                flush_open_buckets (st);
        /* Before the close: the writer's connection, closing last,
         * checkpoints the rest and removes the WAL. */
        augur_store_checkpointer_stop (g_steal_pointer (&st->ckpt), st->db);
        sqlite3_finalize (st->ins_tick);
        sqlite3_finalize (st->ins_host);
        sqlite3_finalize (st->ins_sample);
        sqlite3_finalize (st->move_recent);
        sqlite3_finalize (st->clear_recent);
        sqlite3_finalize (st->move_decisions);
        sqlite3_finalize (st->clear_decisions);
        sqlite3_finalize (st->upsert_rollup);
        for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++)
                sqlite3_finalize (st->rebuild_rollups[r]);
        sqlite3_finalize (st->find_domain);
        sqlite3_finalize (st->ins_domain);
        sqlite3_finalize (st->upd_domain);
        sqlite3_finalize (st->ins_name);
        sqlite3_finalize (st->ins_event);
        sqlite3_finalize (st->ins_decision);
        sqlite3_finalize (st->upsert_forecast);
        if (st->db)
                sqlite3_close_v2 (st->db);
        g_clear_pointer (&st->by_uuid, g_hash_table_unref);
        g_clear_pointer (&st->tick_samples, g_array_unref);
        g_clear_pointer (&st->tick_closed, g_ptr_array_unref);
        g_clear_pointer (&st->tick_created, g_ptr_array_unref);
        g_clear_pointer (&st->tick_gauges, g_array_unref);
        g_free (st->path);
        g_free (st);
}

void
augur_store_set_retention (AugurStore *st, const AugurRetention *r)
{
        st->retention = *r;
}

/* Load the newest raw sample of a domain as "previous", so rates keep
 * flowing across a daemon restart. */
static void
load_prev (AugurStore *st, DomainCache *dc)
{
        g_autoptr(GString) sql = g_string_new ("SELECT ts_ms");
        sqlite3_stmt *stmt = NULL;

        for (int f = 0; f < AUGUR_STAT_N; f++)
                g_string_append_printf (sql, ", %s", augur_stat_info[f].column);
        g_string_append (sql, " FROM samples WHERE domain_id = ? AND tick_id IS NOT NULL "
                              "ORDER BY ts_ms DESC LIMIT 1");
        if (sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
                return;
        sqlite3_bind_int64 (stmt, 1, dc->id);
        if (sqlite3_step (stmt) == SQLITE_ROW) {
                dc->prev_ms = sqlite3_column_int64 (stmt, 0);
                for (int f = 0; f < AUGUR_STAT_N; f++)
                        if (sqlite3_column_type (stmt, f + 1) != SQLITE_NULL)
                                augur_sample_set (&dc->prev, f, sqlite3_column_int64 (stmt, f + 1));
                dc->have_prev = TRUE;
        }
        sqlite3_finalize (stmt);
}

/* Find or create the domain row for uuid; record a new name if it changed.
 * Runs inside the caller's transaction.  The cache entry is returned even
 * before commit; on rollback the caller drops the whole cache entry. */
static DomainCache *
resolve_domain (AugurStore *st, const char *uuid, const char *name,
                const char *source, gint64 libvirt_id, gint64 ts_ms,
                gboolean *ret_created, GError **error)
{
        DomainCache *dc = g_hash_table_lookup (st->by_uuid, uuid);
        int rc;

        *ret_created = FALSE;
        if (!dc) {
                dc = g_new0 (DomainCache, 1);
                dc->libvirt_id = -2;   /* unknown: forces an update below */
                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++) {
                        acc_reset (&dc->acc[r], -1);
                        dc->tick_bucket_s[r] = -1;
                }
                sqlite3_bind_text (st->find_domain, 1, uuid, -1, SQLITE_STATIC);
                rc = sqlite3_step (st->find_domain);
                if (rc == SQLITE_ROW) {
                        dc->id = sqlite3_column_int64 (st->find_domain, 0);
                        dc->name = g_strdup ((const char *) sqlite3_column_text (st->find_domain, 1));
                        dc->libvirt_id = sqlite3_column_type (st->find_domain, 2) == SQLITE_NULL
                                         ? -1 : sqlite3_column_int64 (st->find_domain, 2);
                }
                sqlite3_reset (st->find_domain);
                if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                        set_sql_error (st, rc, error, "looking up domain");
                        domain_cache_free (dc);
                        return NULL;
                }
                if (rc == SQLITE_DONE) {
                        sqlite3_bind_text (st->ins_domain, 1, uuid, -1, SQLITE_STATIC);
                        sqlite3_bind_text (st->ins_domain, 2, name, -1, SQLITE_STATIC);
                        sqlite3_bind_text (st->ins_domain, 3, source, -1, SQLITE_STATIC);
                        if (libvirt_id >= 0)
                                sqlite3_bind_int64 (st->ins_domain, 4, libvirt_id);
                        else
                                sqlite3_bind_null (st->ins_domain, 4);
                        sqlite3_bind_int64 (st->ins_domain, 5, ts_ms);
                        rc = step_done (st->ins_domain);
                        if (rc != SQLITE_OK) {
                                set_sql_error (st, rc, error, "adding domain");
                                domain_cache_free (dc);
                                return NULL;
                        }
                        dc->id = sqlite3_last_insert_rowid (st->db);
                        dc->name = g_strdup (name);
                        dc->libvirt_id = libvirt_id;
                        *ret_created = TRUE;
                        /* forgotten again if the open tick rolls back */
                        if (st->tick_open)
                                g_ptr_array_add (st->tick_created, g_strdup (uuid));
                        sqlite3_bind_int64 (st->ins_name, 1, dc->id);
                        sqlite3_bind_text (st->ins_name, 2, name, -1, SQLITE_STATIC);
                        sqlite3_bind_int64 (st->ins_name, 3, ts_ms);
                        rc = step_done (st->ins_name);
                        if (rc != SQLITE_OK) {
                                set_sql_error (st, rc, error, "recording name");
                                domain_cache_free (dc);
                                return NULL;
                        }
                } else {
                        load_prev (st, dc);
                }
                g_hash_table_insert (st->by_uuid, g_strdup (uuid), dc);
        }
        /* libvirt_id < 0: the caller does not know it (decisions, events of
         * a domain not yet seen): keep the one recorded. */
        if (libvirt_id < 0 && dc->libvirt_id >= -1)
                libvirt_id = dc->libvirt_id;
        if (g_strcmp0 (dc->name, name) != 0 || dc->libvirt_id != libvirt_id) {
                sqlite3_bind_text (st->upd_domain, 1, name, -1, SQLITE_STATIC);
                if (libvirt_id >= 0)
                        sqlite3_bind_int64 (st->upd_domain, 2, libvirt_id);
                else
                        sqlite3_bind_null (st->upd_domain, 2);
                sqlite3_bind_int64 (st->upd_domain, 3, dc->id);
                rc = step_done (st->upd_domain);
                if (rc == SQLITE_OK && g_strcmp0 (dc->name, name) != 0) {
                        sqlite3_bind_int64 (st->ins_name, 1, dc->id);
                        sqlite3_bind_text (st->ins_name, 2, name, -1, SQLITE_STATIC);
                        sqlite3_bind_int64 (st->ins_name, 3, ts_ms);
                        rc = step_done (st->ins_name);
                }
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "renaming domain");
                        return NULL;
                }
                g_free (dc->name);
                dc->name = g_strdup (name);
                dc->libvirt_id = libvirt_id;
        }
        return dc;
}

static double
sample_gauge (const AugurDomainSample *s, AugurStat f)
{
        return augur_sample_has (s, f) ? (double) s->v[f] : NAN;
}

/* Values of rollup_gauges[] for one live sample (the activity columns are
 * filled later, by store-activity.c, through
 * augur_store_rollup_add_gauge_committed()). */
static void
live_gauges (const AugurDomainSample *s, const AugurDerived *d, double *out)
{
        double vals[] = {
                sample_gauge (s, AUGUR_STAT_BALLOON_CURRENT_KIB),
                sample_gauge (s, AUGUR_STAT_BALLOON_UNUSED_KIB),
                sample_gauge (s, AUGUR_STAT_BALLOON_USABLE_KIB),
                sample_gauge (s, AUGUR_STAT_BALLOON_AVAILABLE_KIB),
                sample_gauge (s, AUGUR_STAT_VCPU_CURRENT),
                sample_gauge (s, AUGUR_STAT_VCPU_MAXIMUM),
                d->vcpus, d->cpu_pct, d->cpu_cores_used, d->mem_prov_kib, d->mem_used_kib,
                d->disk_rd_kibps, d->disk_wr_kibps, d->net_rx_kibps, d->net_tx_kibps,
                NAN, NAN, NAN,                       /* activity */
                NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, /* prog_b0..7 */
                NAN, NAN, NAN, NAN,                  /* user_b0..3 */
        };
        G_STATIC_ASSERT (G_N_ELEMENTS (vals) == N_ROLLUP_GAUGES);
        memcpy (out, vals, sizeof vals);
}

/* THE TICK'S TRANSACTION
 *
 * augur_store_tick_begin() opens it (BEGIN IMMEDIATE) and writes the tick
 * row, the host sample, the samples, the minute's move of the *_recent
 * tables and the rollup rows of buckets that closed; the daemon's other
 * writers (activity, forecasts, actuations, decisions) then join it, each
 * inside a savepoint (augur_store_txn_begin()), and
 * augur_store_tick_commit() commits all of it at once.  Why: one commit
 * per tick instead of one per writer; each commit writes the pages it
 * dirtied to the WAL, so pages shared by two writers were written twice.
 *
 * Crash safety: the tick is one transaction, so after a kill -9 it is in
 * the file whole or not at all, with its audit rows.  A writer that fails
 * inside the tick rolls back its savepoint only: the samples still commit
 * (unless SQLite rolled back the whole transaction itself, as it may on a
 * full disk or an I/O error: then the tick is lost whole, later writers
 * fail and augur_store_tick_commit() reports it).  A failed COMMIT rolls
 * back the tick and nothing committed before is touched.  The in-memory state (previous samples, open rollup buckets,
 * domains created) moves forward only after the COMMIT; what the tick
 * would change is kept in st->tick_* until then. */

/* SQLite rolls the whole transaction back by itself on some errors
 * (SQLITE_FULL, _IOERR, _BUSY, _NOMEM: "Response To Errors Within A
 * Transaction"): then the open tick is lost, and a SAVEPOINT would start
 * a new transaction that commits on its own. */
static gboolean
tick_lost (AugurStore *st, GError **error)
{
        if (!st->tick_open || !sqlite3_get_autocommit (st->db))
                return FALSE;
        g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FAILED,
                     "%s: the tick's transaction was rolled back after an earlier error", st->path);
        return TRUE;
}

gboolean
augur_store_tick_begin (AugurStore *st, gint64 ts_ms,
                        const AugurDomainSample *samples, gsize n,
                        const AugurHostSample *host, gint64 collect_usec,
                        gint64 *ret_tick_id, GError **error)
{
        const gint64 now_s = ts_ms / 1000;
        GHashTableIter it;
        gpointer v;
        gint64 tick_id;
        int rc;

        g_return_val_if_fail (st->mode == AUGUR_STORE_READ_WRITE, FALSE);
        g_return_val_if_fail (!st->tick_open, FALSE);
        rc = sqlite3_exec (st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, sqlite3_extended_errcode (st->db), error,
                               (rc & 0xff) == SQLITE_BUSY ? "starting the tick (another process holds a write "
                                                            "transaction on the database)"
                                                          : "starting the tick");
                return FALSE;
        }
        st->tick_open = TRUE;
        st->tick_ms = ts_ms;

        sqlite3_bind_int64 (st->ins_tick, 1, ts_ms);
        sqlite3_bind_int64 (st->ins_tick, 2, (gint64) n);
        sqlite3_bind_int64 (st->ins_tick, 3, collect_usec);
        rc = step_done (st->ins_tick);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "writing tick");
                goto fail;
        }
        tick_id = sqlite3_last_insert_rowid (st->db);

        if (now_s / AUGUR_STORE_RECENT_S != st->recent_period) {
                rc = move_recent_samples (st);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "moving recent samples");
                        goto fail;
                }
        }

        if (host) {
                sqlite3_bind_int64 (st->ins_host, 1, tick_id);
                sqlite3_bind_int64 (st->ins_host, 2, ts_ms);
                for (int f = 0; f < AUGUR_HOST_N; f++)
                        bind_double_or_null (st->ins_host, 3 + f,
                                             (host->present >> f) & 1 ? host->v[f] : NAN);
                rc = step_done (st->ins_host);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "writing host sample");
                        goto fail;
                }
        }

        for (gsize i = 0; i < n; i++) {
                const AugurDomainSample *s = &samples[i];
                TickSample ts = { 0 };
                AugurDerived d;
                DomainCache *dc;
                gboolean created;
                double trace_vals[AUGUR_COL_N_TRACE];
                int k = 1;

                dc = resolve_domain (st, s->uuid, s->name ? s->name : s->uuid, "libvirt",
                                     s->id, ts_ms, &created, error);
                if (!dc)
                        goto fail;
                augur_units_derive (dc->have_prev ? &dc->prev : NULL, s,
                                    (ts_ms - dc->prev_ms) / 1000.0, &d, &ts.deltas);

                sqlite3_bind_int64 (st->ins_sample, k++, dc->id);
                sqlite3_bind_int64 (st->ins_sample, k++, ts_ms);
                sqlite3_bind_int64 (st->ins_sample, k++, tick_id);
                for (int f = 0; f < AUGUR_STAT_N; f++, k++) {
                        if (augur_sample_has (s, f))
                                sqlite3_bind_int64 (st->ins_sample, k, s->v[f]);
                        else
                                sqlite3_bind_null (st->ins_sample, k);
                }
                bind_double_or_null (st->ins_sample, k++, d.cpu_cores_used);
                augur_units_model_row (&d, trace_vals);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        bind_double_or_null (st->ins_sample, k++, trace_vals[c]);
                rc = step_done (st->ins_sample);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "writing sample");
                        goto fail;
                }
                ts.dc = dc;
                ts.sample = *s;
                ts.sample.name = NULL;
                live_gauges (s, &d, ts.gauges);
                g_array_append_val (st->tick_samples, ts);
                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++)
                        dc->tick_bucket_s[r] = now_s / rollup_res[r] * rollup_res[r];
        }

        /* Buckets that ended by now (a sample of a later bucket arrived,
         * or the domain stopped reporting), or lie ahead of now (the clock
         * went back): written once, here. */
        g_hash_table_iter_init (&it, st->by_uuid);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                DomainCache *dc = v;

                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++) {
                        AugurRollupAcc *acc = &dc->acc[r];

                        if (acc->bucket_s < 0 ||
                            (acc->bucket_s + rollup_res[r] > now_s && acc->bucket_s <= now_s))
                                continue;
                        rc = acc_flush (st, dc->id, r, acc);
                        if (rc != SQLITE_OK) {
                                set_sql_error (st, rc, error, "writing rollups");
                                goto fail;
                        }
                        acc->closing = TRUE;
                        g_ptr_array_add (st->tick_closed, acc);
                }
        }
        if (ret_tick_id)
                *ret_tick_id = tick_id;
        return TRUE;

fail:
        augur_store_tick_rollback (st);
        return FALSE;
}

/* End the open tick in memory (after its commit or rollback). */
static void
tick_clear (AugurStore *st)
{
        g_array_set_size (st->tick_samples, 0);
        g_ptr_array_set_size (st->tick_closed, 0);
        g_ptr_array_set_size (st->tick_created, 0);
        g_array_set_size (st->tick_gauges, 0);
        st->tick_open = FALSE;
}

/* Switch the journal mode; TRUE when the file is in `mode` after it
 * (SQLite answers with the mode in force, and keeps the old one without
 * an error when it cannot switch). */
static gboolean
journal_mode (AugurStore *st, const char *mode)
{
        g_autofree char *sql = g_strdup_printf ("PRAGMA journal_mode = %s", mode);
        sqlite3_stmt *q = NULL;
        gboolean ok = FALSE;

        if (sqlite3_prepare_v2 (st->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step (q) == SQLITE_ROW)
                ok = g_ascii_strcasecmp ((const char *) sqlite3_column_text (q, 0), mode) == 0;
        sqlite3_finalize (q);
        return ok;
}

/* THE -WAL FILE REMOVED UNDER US (a cleanup script, an admin freeing
 * space).  SQLite keeps its WAL open, so commits go on into the nameless
 * file and succeed; but a crash then loses every tick since the last
 * checkpoint, and a new connection (virt-augur, the checkpoint thread)
 * opens an empty -wal under the name.  After each tick's commit the name
 * is checked (one stat); when it is gone: checkpoint everything into the
 * database file (synced), then leave WAL mode and enter it again, which
 * starts a new -wal under the name.  Leaving WAL mode needs the only
 * connection, so the checkpoint thread is stopped for it; if a reader
 * holds the file open the switch fails, and the checkpoint alone (every
 * tick until it succeeds) keeps what was committed in the database. */
static void
wal_check (AugurStore *st)
{
        g_autofree char *wal = g_strconcat (st->path, "-wal", NULL);
        struct stat sb;
        int rc;

        if (!st->wal || lstat (wal, &sb) == 0 || errno != ENOENT)
                return;
        if (!st->wal_lost_said)
                g_warning ("%s: the -wal file was removed while augurd runs; checkpointing into the database "
                           "and starting a new one", wal);
        rc = sqlite3_wal_checkpoint_v2 (st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc == SQLITE_BUSY)
                rc = sqlite3_wal_checkpoint_v2 (st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        augur_store_checkpointer_stop (g_steal_pointer (&st->ckpt), st->db);
        if (rc == SQLITE_OK && journal_mode (st, "DELETE") && journal_mode (st, "WAL")) {
                g_message ("%s: a new -wal file is in place; nothing committed was lost", wal);
                st->wal_lost_said = FALSE;
        } else {
                if (!st->wal_lost_said)
                        g_warning ("%s: could not start a new -wal yet (%s); checkpointing after every tick "
                                   "until it can", wal, sqlite3_errmsg (st->db));
                st->wal_lost_said = TRUE;
        }
        st->ckpt = augur_store_checkpointer_start (st->db, st->path);
}

gboolean
augur_store_tick_commit (AugurStore *st, GError **error)
{
        const gint64 now_s = st->tick_ms / 1000;
        int rc;

        g_return_val_if_fail (st->tick_open, FALSE);
        if (tick_lost (st, error)) {
                augur_store_tick_rollback (st);
                return FALSE;
        }
        rc = sqlite3_exec (st->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, sqlite3_extended_errcode (st->db), error, "committing tick");
                augur_store_tick_rollback (st);
                return FALSE;
        }

        /* Committed: only now do the open buckets and the "previous
         * sample" move forward, then the activity values join them. */
        st->recent_period = now_s / AUGUR_STORE_RECENT_S;
        for (guint j = 0; j < st->tick_closed->len; j++)
                acc_reset (st->tick_closed->pdata[j], -1);
        for (guint j = 0; j < st->tick_samples->len; j++) {
                TickSample *ts = &g_array_index (st->tick_samples, TickSample, j);
                DomainCache *dc = ts->dc;

                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++) {
                        gint64 b = now_s / rollup_res[r] * rollup_res[r];

                        if (dc->acc[r].bucket_s != b)
                                acc_reset (&dc->acc[r], b);
                        acc_add (&dc->acc[r], ts->gauges, &ts->deltas);
                        dc->tick_bucket_s[r] = -1;
                }
                augur_domain_sample_clear (&dc->prev);
                dc->prev = ts->sample;
                dc->prev_ms = st->tick_ms;
                dc->have_prev = TRUE;
        }
        for (guint j = 0; j < st->tick_gauges->len; j++) {
                const TickGauge *g = &g_array_index (st->tick_gauges, TickGauge, j);

                rollup_add_gauge (g->dc, g->r, g->ts_ms, g->gauge, g->value);
        }
        tick_clear (st);
        wal_check (st);
        return TRUE;
}

void
augur_store_tick_rollback (AugurStore *st)
{
        if (!st->tick_open)
                return;
        rollback (st);
        for (guint j = 0; j < st->tick_closed->len; j++)
                ((AugurRollupAcc *) st->tick_closed->pdata[j])->closing = FALSE;
        /* tick_bucket_s first: the entries of created domains go next.
         * Domains created inside the rolled-back transaction do not exist:
         * forget them (renames are re-read on next use). */
        for (guint j = 0; j < st->tick_samples->len; j++) {
                DomainCache *dc = g_array_index (st->tick_samples, TickSample, j).dc;

                for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++)
                        dc->tick_bucket_s[r] = -1;
        }
        for (guint j = 0; j < st->tick_created->len; j++)
                g_hash_table_remove (st->by_uuid, st->tick_created->pdata[j]);
        tick_clear (st);
}

gboolean
augur_store_write_tick (AugurStore *st, gint64 ts_ms,
                        const AugurDomainSample *samples, gsize n,
                        const AugurHostSample *host, gint64 collect_usec,
                        gint64 *ret_tick_id, GError **error)
{
        return augur_store_tick_begin (st, ts_ms, samples, n, host, collect_usec, ret_tick_id, error) &&
               augur_store_tick_commit (st, error);
}

gboolean
augur_store_txn_begin (AugurStore *st, GError **error)
{
        if (tick_lost (st, error))
                return FALSE;
        return exec (st, st->tick_open ? "SAVEPOINT augur_part" : "BEGIN IMMEDIATE", error);
}

gboolean
augur_store_txn_commit (AugurStore *st, GError **error)
{
        if (exec (st, st->tick_open ? "RELEASE augur_part" : "COMMIT", error))
                return TRUE;
        augur_store_txn_rollback (st);
        return FALSE;
}

void
augur_store_txn_rollback (AugurStore *st)
{
        if (st->tick_open && sqlite3_get_autocommit (st->db))
                return;         /* SQLite rolled back the whole tick */
        if (st->tick_open)
                sqlite3_exec (st->db, "ROLLBACK TO augur_part; RELEASE augur_part", NULL, NULL, NULL);
        else
                rollback (st);
}

gboolean
augur_store_write_event (AugurStore *st, gint64 ts_ms, const char *uuid,
                         const char *name, const char *kind, int event,
                         int detail, const char *info, GError **error)
{
        DomainCache *dc = NULL;
        gboolean created;
        int rc;

        if (!augur_store_txn_begin (st, error))
                return FALSE;
        if (uuid) {
                dc = resolve_domain (st, uuid, name ? name : uuid, "libvirt",
                                     g_hash_table_contains (st->by_uuid, uuid)
                                     ? ((DomainCache *) g_hash_table_lookup (st->by_uuid, uuid))->libvirt_id
                                     : -1,
                                     ts_ms, &created, error);
                if (!dc) {
                        augur_store_txn_rollback (st);
                        return FALSE;
                }
        }
        sqlite3_bind_int64 (st->ins_event, 1, ts_ms);
        if (dc)
                sqlite3_bind_int64 (st->ins_event, 2, dc->id);
        else
                sqlite3_bind_null (st->ins_event, 2);
        sqlite3_bind_text (st->ins_event, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int (st->ins_event, 4, event);
        sqlite3_bind_int (st->ins_event, 5, detail);
        sqlite3_bind_text (st->ins_event, 6, info, -1, SQLITE_STATIC);
        rc = step_done (st->ins_event);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "writing event");
                augur_store_txn_rollback (st);
                if (dc && created)
                        g_hash_table_remove (st->by_uuid, uuid);
                return FALSE;
        }
        if (!augur_store_txn_commit (st, error)) {
                if (dc && created)
                        g_hash_table_remove (st->by_uuid, uuid);
                return FALSE;
        }
        return TRUE;
}

gboolean
augur_store_set_meta (AugurStore *st, const char *key, const char *value,
                      GError **error)
{
        sqlite3_stmt *stmt = NULL;
        int rc;

        rc = sqlite3_prepare_v2 (st->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                 -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
                sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
                rc = step_done (stmt);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "writing meta");
                return FALSE;
        }
        return TRUE;
}

char *
augur_store_get_meta (AugurStore *st, const char *key)
{
        sqlite3_stmt *stmt = NULL;
        char *v = NULL;

        if (sqlite3_prepare_v2 (st->db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, NULL) != SQLITE_OK)
                return NULL;
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
                v = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
        sqlite3_finalize (stmt);
        return v;
}

gint64
augur_store_apply_retention (AugurStore *st, GError **error)
{
        g_autofree char *sql = NULL;
        gint64 before = sqlite3_total_changes64 (st->db);

        g_return_val_if_fail (!st->tick_open, -1);
        /* Age counts back from each domain's newest sample (not from now), so
         * imported history is never deleted for being old.  Ticks and host
         * samples age from the newest tick. */
        sql = g_strdup_printf (
                "BEGIN IMMEDIATE;"
                "DELETE FROM samples_main WHERE "
                "  ts_ms < (SELECT max(s2.ts_ms) FROM samples_main s2 WHERE s2.domain_id = samples_main.domain_id) - %" G_GINT64_FORMAT ";"
                "DELETE FROM rollups WHERE "
                "  bucket_s < (SELECT max(r2.bucket_s) FROM rollups r2 WHERE r2.domain_id = rollups.domain_id AND r2.res_s = rollups.res_s) - %" G_GINT64_FORMAT ";"
                "DELETE FROM host_samples WHERE ts_ms < (SELECT max(ts_ms) FROM host_samples) - %" G_GINT64_FORMAT ";"
                "DELETE FROM ticks WHERE ts_ms < (SELECT max(ts_ms) FROM ticks) - %" G_GINT64_FORMAT ";"
                "DELETE FROM events WHERE ts_ms < (SELECT max(ts_ms) FROM events) - %" G_GINT64_FORMAT ";"
                "COMMIT;",
                st->retention.raw_keep_s * 1000, st->retention.rollup_keep_s,
                st->retention.raw_keep_s * 1000, st->retention.raw_keep_s * 1000,
                st->retention.rollup_keep_s * 1000);
        if (!exec (st, sql, error)) {
                rollback (st);
                return -1;
        }
        return sqlite3_total_changes64 (st->db) - before;
}

/* ---------------------------------------------------------------- import */

gboolean
augur_store_import_series (AugurStore *st, const AugurSeries *s,
                           const char *source, gsize *ret_rows, GError **error)
{
        g_autoptr(GString) sql = g_string_new ("INSERT INTO samples_main (domain_id, ts_ms");
        g_autoptr(GString) upd = g_string_new (NULL);
        sqlite3_stmt *stmt = NULL;
        char uuid[AUGUR_UUID_STRLEN];
        DomainCache *dc;
        gboolean created;
        gsize rows = 0;
        int rc;

        if (s->n == 0) {
                g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FAILED,
                             "series '%s' is empty", s->vm);
                return FALSE;
        }
        if (s->uuid && augur_is_uuid (s->uuid))
                g_strlcpy (uuid, s->uuid, sizeof uuid);
        else
                augur_uuid_v5_from_name (s->vm, uuid);

        /* Upsert: re-importing (vm, ts) updates the columns this source has
         * and leaves the others (e.g. live raw counters) alone. */
        for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                g_string_append_printf (sql, ", %s", derived_cols[c]);
                if (s->col[c])
                        g_string_append_printf (upd, "%s%s = excluded.%s",
                                                upd->len ? ", " : "", derived_cols[c], derived_cols[c]);
        }
        g_string_append (sql, ") VALUES (?,?");
        for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                g_string_append (sql, ",?");
        g_string_append (sql, ") ON CONFLICT (domain_id, ts_ms) DO ");
        if (upd->len)
                g_string_append_printf (sql, "UPDATE SET %s", upd->str);
        else
                g_string_append (sql, "NOTHING");

        g_return_val_if_fail (!st->tick_open, FALSE);
        if (!exec (st, "BEGIN IMMEDIATE", error))
                return FALSE;
        dc = resolve_domain (st, uuid, s->vm, source, -1, s->ts[0] * 1000, &created, error);
        if (!dc)
                return rollback (st);
        rc = sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "preparing import");
                goto fail;
        }
        for (gsize i = 0; i < s->n; i++) {
                sqlite3_bind_int64 (stmt, 1, dc->id);
                sqlite3_bind_int64 (stmt, 2, s->ts[i] * 1000);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        bind_double_or_null (stmt, 3 + c, s->col[c] ? s->col[c][i] : NAN);
                rc = step_done (stmt);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "importing row");
                        goto fail;
                }
                rows++;
        }
        sqlite3_finalize (g_steal_pointer (&stmt));
        for (gsize r = 0; r < G_N_ELEMENTS (rollup_res); r++) {
                rc = rollups_from_samples (st, dc->id, r, s->ts[0], s->ts[s->n - 1] + 1);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "computing rollups");
                        goto fail;
                }
        }
        if (!exec (st, "COMMIT", error))
                goto fail;
        if (ret_rows)
                *ret_rows = rows;
        return TRUE;
fail:
        sqlite3_finalize (stmt);
        rollback (st);
        if (created)
                g_hash_table_remove (st->by_uuid, uuid);
        return FALSE;
}

/* ---------------------------------------------------------------- reading */

void
augur_domain_info_free (AugurDomainInfo *d)
{
        if (!d)
                return;
        g_free (d->uuid);
        g_free (d->name);
        g_free (d->source);
        g_free (d);
}

/* The correlated subqueries name samples_main and samples_recent, not
 * the `samples` view: SQLite does not push a correlated constraint into a
 * UNION ALL view, it would scan the whole view for each domain. */
#define SAMPLES_MAIN(agg) "(SELECT " agg "(ts_ms) FROM samples_main s WHERE s.domain_id = d.id)"
#define SAMPLES_RECENT(agg) "(SELECT " agg "(ts_ms) FROM samples_recent s WHERE s.domain_id = d.id)"
#define DOMAIN_INFO_SELECT \
        "SELECT d.id, d.uuid, d.name, d.source, d.libvirt_id, " \
        "  coalesce (min (" SAMPLES_MAIN ("min") ", " SAMPLES_RECENT ("min") "), " \
        "            " SAMPLES_MAIN ("min") ", " SAMPLES_RECENT ("min") "), " \
        "  coalesce (max (" SAMPLES_MAIN ("max") ", " SAMPLES_RECENT ("max") "), " \
        "            " SAMPLES_MAIN ("max") ", " SAMPLES_RECENT ("max") "), " \
        "  " SAMPLES_MAIN ("count") " + " SAMPLES_RECENT ("count") " " \
        "FROM domains d "

static AugurDomainInfo *
domain_info_from_row (sqlite3_stmt *stmt)
{
        AugurDomainInfo *d = g_new0 (AugurDomainInfo, 1);

        d->id = sqlite3_column_int64 (stmt, 0);
        d->uuid = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
        d->name = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
        d->source = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
        d->libvirt_id = sqlite3_column_type (stmt, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 4);
        d->first_ms = sqlite3_column_type (stmt, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 5);
        d->last_ms = sqlite3_column_type (stmt, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 6);
        d->n_samples = sqlite3_column_int64 (stmt, 7);
        return d;
}

GPtrArray *
augur_store_list_domains (AugurStore *st, GError **error)
{
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_domain_info_free);
        sqlite3_stmt *stmt = NULL;
        int rc;

        rc = sqlite3_prepare_v2 (st->db, DOMAIN_INFO_SELECT "ORDER BY d.name", -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "listing domains");
                return NULL;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
                g_ptr_array_add (out, domain_info_from_row (stmt));
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                set_sql_error (st, rc, error, "listing domains");
                return NULL;
        }
        return g_steal_pointer (&out);
}

char **
augur_store_list_domain_names (AugurStore *st, GError **error)
{
        g_autoptr(GPtrArray) doms = augur_store_list_domains (st, error);
        GPtrArray *names;

        if (!doms)
                return NULL;
        names = g_ptr_array_new ();
        for (guint i = 0; i < doms->len; i++)
                g_ptr_array_add (names, g_strdup (((AugurDomainInfo *) doms->pdata[i])->name));
        g_ptr_array_add (names, NULL);
        return (char **) g_ptr_array_free (names, FALSE);
}

AugurDomainInfo *
augur_store_find_domain (AugurStore *st, const char *spec, GError **error)
{
        static const char *const where[] = {
                "WHERE d.name = ?1",
                "WHERE d.uuid = lower(?1)",
                "WHERE d.libvirt_id = CAST(?1 AS INTEGER) AND ?1 GLOB '[0-9]*'",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (where); i++) {
                g_autofree char *sql = g_strdup_printf (DOMAIN_INFO_SELECT "%s ORDER BY d.id DESC LIMIT 1", where[i]);
                sqlite3_stmt *stmt = NULL;
                AugurDomainInfo *d = NULL;
                int rc;

                rc = sqlite3_prepare_v2 (st->db, sql, -1, &stmt, NULL);
                if (rc != SQLITE_OK) {
                        set_sql_error (st, rc, error, "finding domain");
                        return NULL;
                }
                sqlite3_bind_text (stmt, 1, spec, -1, SQLITE_STATIC);
                rc = sqlite3_step (stmt);
                if (rc == SQLITE_ROW)
                        d = domain_info_from_row (stmt);
                sqlite3_finalize (stmt);
                if (d)
                        return d;
                if (rc != SQLITE_DONE) {
                        set_sql_error (st, rc, error, "finding domain");
                        return NULL;
                }
        }
        g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_NOT_FOUND,
                     "failed to get domain '%s': no such domain in %s", spec, st->path);
        return NULL;
}

void
augur_store_status_clear (AugurStoreStatus *s)
{
        g_clear_pointer (&s->connected, g_free);
        g_clear_pointer (&s->uri, g_free);
        g_clear_pointer (&s->pid, g_free);
}

static gint64
query_int (AugurStore *st, const char *sql, gint64 dflt)
{
        sqlite3_stmt *stmt = NULL;
        gint64 v = dflt;

        if (sqlite3_prepare_v2 (st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
                return dflt;
        if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
                v = sqlite3_column_int64 (stmt, 0);
        sqlite3_finalize (stmt);
        return v;
}

gboolean
augur_store_status (AugurStore *st, AugurStoreStatus *ret, GError **error)
{
        struct stat sb;

        memset (ret, 0, sizeof *ret);
        ret->last_tick_ms = query_int (st, "SELECT max(ts_ms) FROM ticks", -1);
        ret->last_tick_domains = query_int (st, "SELECT n_domains FROM ticks ORDER BY id DESC LIMIT 1", 0);
        ret->n_ticks = query_int (st, "SELECT count(*) FROM ticks", 0);
        ret->n_domains = query_int (st, "SELECT count(*) FROM domains", 0);
        ret->db_bytes = query_int (st, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", 0);
        {
                g_autofree char *wal = g_strconcat (st->path, "-wal", NULL);

                if (stat (wal, &sb) == 0)
                        ret->db_bytes += sb.st_size;
        }
        ret->connected = augur_store_get_meta (st, "daemon.connected");
        ret->uri = augur_store_get_meta (st, "daemon.uri");
        ret->pid = augur_store_get_meta (st, "daemon.pid");
        return TRUE;
}

/* SQL expression for a history column at a resolution. */
static char *
hist_expr (AugurHistCol c, AugurResolution res)
{
        const char *name = augur_hist_col_info[c].name;

        if (augur_hist_col_info[c].from_decisions)
                return g_strdup ("NULL");        /* fill_vcpus_online() */
        if (res == AUGUR_RES_RAW)
                return g_strdup (name);
        if (augur_hist_col_info[c].counter)
                return g_strdup_printf ("%s_delta", name);
        return g_strdup_printf ("%1$s_sum / %1$s_n", name);   /* x / 0 and x / NULL are NULL */
}

/* The open buckets of domain_id at res from tail_s (a bucket start) up to
 * to_s, summed from its samples by the live path's own acc_add(): the
 * counter deltas follow counter_delta()'s rule (common/units.c).  Appends
 * AugurRollupAcc to accs; SQLite result code. */
static int
tail_buckets (AugurStore *st, gint64 domain_id, gint64 res, gint64 tail_s, gint64 to_s,
              GArray *accs)
{
        g_autoptr(GString) sql = g_string_new ("SELECT ts_ms");
        sqlite3_stmt *stmt = NULL;
        gint64 prev_ms = 0, prev_c[N_ROLLUP_COUNTERS], from_ms;
        gboolean have_prev = FALSE, prev_has[N_ROLLUP_COUNTERS];
        int rc;

        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                g_string_append_printf (sql, ", %s", rollup_gauges[g]);
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                g_string_append_printf (sql, ", %s", augur_stat_info[rollup_counters[c]].column);
        g_string_append (sql, " FROM samples WHERE domain_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 * 1000 ORDER BY ts_ms");
        /* The sample before the first bucket gives its first deltas.  Found
         * on its own: as a subquery bound of the query below, SQLite
         * evaluated it against the view for every row scanned (8 ms). */
        rc = sqlite3_prepare_v2 (st->db, "SELECT ts_ms FROM samples WHERE domain_id = ?1 AND ts_ms < ?2 * 1000"
                                         " ORDER BY ts_ms DESC LIMIT 1", -1, &stmt, NULL);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, tail_s);
        rc = sqlite3_step (stmt);
        from_ms = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : tail_s * 1000;
        sqlite3_finalize (stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return rc;

        rc = sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, from_ms);
        sqlite3_bind_int64 (stmt, 3, to_s / res * res + res);
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                gint64 ts_ms = sqlite3_column_int64 (stmt, 0);
                double gauges[N_ROLLUP_GAUGES];
                AugurDeltas deltas;
                int k = 1;

                for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                        gauges[g] = column_double_or_nan (stmt, k++);
                for (int f = 0; f < AUGUR_STAT_N; f++)
                        deltas.d[f] = NAN;
                for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++, k++) {
                        gboolean has = sqlite3_column_type (stmt, k) != SQLITE_NULL;
                        gint64 v = sqlite3_column_int64 (stmt, k);
                        gint64 dt_ms = ts_ms - prev_ms;

                        if (have_prev && has && prev_has[c] && dt_ms > 0 &&
                            dt_ms <= AUGUR_MAX_RATE_GAP_S * 1000 && v >= prev_c[c])
                                deltas.d[rollup_counters[c]] = (double) (v - prev_c[c]);
                        prev_has[c] = has;
                        prev_c[c] = v;
                }
                have_prev = TRUE;
                prev_ms = ts_ms;
                if (ts_ms < tail_s * 1000)
                        continue;        /* the sample before: deltas only */
                if (accs->len == 0 ||
                    g_array_index (accs, AugurRollupAcc, accs->len - 1).bucket_s != (ts_ms / 1000) / res * res) {
                        AugurRollupAcc acc;

                        acc_reset (&acc, (ts_ms / 1000) / res * res);
                        g_array_append_val (accs, acc);
                }
                acc_add (&g_array_index (accs, AugurRollupAcc, accs->len - 1), gauges, &deltas);
        }
        sqlite3_finalize (stmt);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A rollups column of an open bucket: a gauge's mean or a counter's delta,
 * by the samples column name; NAN when it has none. */
static double
acc_value (const AugurRollupAcc *acc, const char *column)
{
        for (gsize g = 0; g < N_ROLLUP_GAUGES; g++)
                if (strcmp (rollup_gauges[g], column) == 0)
                        return acc->g_n[g] > 0 ? acc->g_sum[g] / acc->g_n[g] : NAN;
        for (gsize c = 0; c < N_ROLLUP_COUNTERS; c++)
                if (strcmp (augur_stat_info[rollup_counters[c]].column, column) == 0)
                        return acc->c_delta[c];
        return NAN;
}

/* Prepare "SELECT <projection>" over domain_id's rollups at res for the
 * buckets starting in [from_ms, to_ms] that are written to the table
 * (*ret, bucket order), and sum the newer ones — the open bucket, or more
 * after a crash not yet recovered — from the samples into tail
 * (AugurRollupAcc, bucket order), so history reaches the last tick.
 * projection's first column must be bucket_s. */
static int
prepare_rollup_rows (AugurStore *st, gint64 domain_id, AugurResolution res,
                     const char *projection, gint64 from_ms, gint64 to_ms,
                     sqlite3_stmt **ret, GArray *tail)
{
        g_autoptr(GString) sql = g_string_new (NULL);
        sqlite3_stmt *stmt = NULL;
        gint64 from_s = from_ms / 1000, to_s = MIN (to_ms / 1000, G_MAXINT64 / 1000 - 2 * (gint64) res);
        gint64 tail_s = from_s;
        int rc;

        /* the first bucket not in the table */
        rc = sqlite3_prepare_v2 (st->db, "SELECT max(bucket_s) FROM rollups WHERE domain_id = ?1 AND res_s = ?2",
                                 -1, &stmt, NULL);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, res);
        rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
                tail_s = MAX (tail_s, sqlite3_column_int64 (stmt, 0) + (gint64) res);
        sqlite3_finalize (stmt);
        if (rc != SQLITE_ROW)
                return rc;
        tail_s = tail_s / res * res;

        if (tail_s <= to_s) {
                rc = tail_buckets (st, domain_id, res, tail_s, to_s, tail);
                if (rc != SQLITE_OK)
                        return rc;
        }
        g_string_printf (sql, "SELECT %s FROM rollups WHERE domain_id = ?1 AND res_s = %d"
                         " AND bucket_s BETWEEN ?2 AND ?3 AND bucket_s < ?4 ORDER BY bucket_s",
                         projection, (int) res);
        rc = sqlite3_prepare_v2 (st->db, sql->str, -1, ret, NULL);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64 (*ret, 1, domain_id);
        sqlite3_bind_int64 (*ret, 2, from_s);
        sqlite3_bind_int64 (*ret, 3, to_s);
        sqlite3_bind_int64 (*ret, 4, tail_s);
        return SQLITE_OK;
}

/* rows' vcpus_online (store.h, augur_store_history): each row takes the
 * mean vcpus_online of the decisions in its interval (the tick's second
 * at raw resolution, the bucket in rollups), else its vcpus_current.
 * One query over the rows' span and a merge (both in time order): O(rows
 * + decisions).  SQLite result code. */
static int
fill_vcpus_online (AugurStore *st, gint64 domain_id, AugurResolution res, GArray *rows)
{
        const gint64 width_ms = res == AUGUR_RES_RAW ? 1000 : (gint64) res * 1000;
        sqlite3_stmt *stmt = NULL;
        gboolean more;
        int rc;

        if (rows->len == 0)
                return SQLITE_OK;
        rc = sqlite3_prepare_v2 (st->db, "SELECT ts_ms, vcpus_online FROM decisions WHERE domain_id = ?1 AND "
                                         "ts_ms BETWEEN ?2 AND ?3 AND vcpus_online > 0 ORDER BY ts_ms",
                                 -1, &stmt, NULL);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, g_array_index (rows, AugurHistRow, 0).ts_s * 1000);
        sqlite3_bind_int64 (stmt, 3, g_array_index (rows, AugurHistRow, rows->len - 1).ts_s * 1000 + width_ms - 1);
        more = (rc = sqlite3_step (stmt)) == SQLITE_ROW;
        for (guint i = 0; i < rows->len; i++) {
                AugurHistRow *r = &g_array_index (rows, AugurHistRow, i);
                gint64 start_ms = r->ts_s * 1000;
                double sum = 0;
                int n = 0;

                while (more && sqlite3_column_int64 (stmt, 0) < start_ms + width_ms) {
                        if (sqlite3_column_int64 (stmt, 0) >= start_ms) {
                                sum += sqlite3_column_double (stmt, 1);
                                n++;
                        }
                        more = (rc = sqlite3_step (stmt)) == SQLITE_ROW;
                }
                r->v[AUGUR_HIST_VCPUS_ONLINE] = n > 0 ? sum / n : r->v[AUGUR_HIST_VCPUS_CURRENT];
        }
        sqlite3_finalize (stmt);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

GArray *
augur_store_history (AugurStore *st, gint64 domain_id, gint64 from_ms,
                     gint64 to_ms, AugurResolution res, GError **error)
{
        g_autoptr(GString) sql = g_string_new ("SELECT ");
        g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurHistRow));
        g_autoptr(GArray) tail = g_array_new (FALSE, FALSE, sizeof (AugurRollupAcc));
        sqlite3_stmt *stmt = NULL;
        int rc;

        g_string_append (sql, res == AUGUR_RES_RAW ? "ts_ms / 1000" : "bucket_s");
        for (int c = 0; c < AUGUR_HIST_N; c++) {
                g_autofree char *e = hist_expr (c, res);

                g_string_append_printf (sql, ", %s", e);
        }
        if (res == AUGUR_RES_RAW) {
                g_string_append (sql, " FROM samples WHERE domain_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 ORDER BY ts_ms");
                rc = sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL);
                if (rc == SQLITE_OK) {
                        sqlite3_bind_int64 (stmt, 1, domain_id);
                        sqlite3_bind_int64 (stmt, 2, from_ms);
                        sqlite3_bind_int64 (stmt, 3, to_ms);
                }
        } else {
                rc = prepare_rollup_rows (st, domain_id, res, sql->str + strlen ("SELECT "),
                                          from_ms, to_ms, &stmt, tail);
        }
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "reading history");
                return NULL;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                AugurHistRow r;

                r.ts_s = sqlite3_column_int64 (stmt, 0);
                for (int c = 0; c < AUGUR_HIST_N; c++)
                        r.v[c] = column_double_or_nan (stmt, c + 1);
                g_array_append_val (rows, r);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                set_sql_error (st, rc, error, "reading history");
                return NULL;
        }
        for (guint j = 0; j < tail->len; j++) {
                const AugurRollupAcc *acc = &g_array_index (tail, AugurRollupAcc, j);
                AugurHistRow r;

                r.ts_s = acc->bucket_s;
                for (int c = 0; c < AUGUR_HIST_N; c++)
                        r.v[c] = acc_value (acc, augur_hist_col_info[c].name);
                g_array_append_val (rows, r);
        }
        rc = fill_vcpus_online (st, domain_id, res, rows);
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "reading history");
                return NULL;
        }
        return g_steal_pointer (&rows);
}

AugurSeries *
augur_store_load_series (AugurStore *st, const char *domain, gint64 from_s,
                         gint64 to_s, AugurResolution res, GError **error)
{
        g_autoptr(AugurDomainInfo) d = augur_store_find_domain (st, domain, error);
        g_autoptr(AugurSeries) s = NULL;
        g_autoptr(GString) sql = g_string_new ("SELECT ");
        g_autoptr(GArray) tail = g_array_new (FALSE, FALSE, sizeof (AugurRollupAcc));
        sqlite3_stmt *stmt = NULL;
        gint64 from_ms, to_ms;
        int rc;

        if (!d)
                return NULL;
        from_ms = from_s <= G_MININT64 / 1000 ? G_MININT64 : from_s * 1000;
        to_ms = to_s >= G_MAXINT64 / 1000 ? G_MAXINT64 : to_s * 1000 + 999;
        /* Host context joins through the tick (live samples only). */
        if (res == AUGUR_RES_RAW) {
                g_string_append (sql, "s.ts_ms / 1000");
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        g_string_append_printf (sql, ", s.%s", derived_cols[c]);
                g_string_append (sql, ", h.load1, h.psi_cpu_some_avg10, h.psi_mem_some_avg10, h.psi_io_some_avg10"
                                      " FROM samples s LEFT JOIN host_samples h ON h.tick_id = s.tick_id"
                                      " WHERE s.domain_id = ?1 AND s.ts_ms BETWEEN ?2 AND ?3 ORDER BY s.ts_ms");
                rc = sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL);
                if (rc == SQLITE_OK) {
                        sqlite3_bind_int64 (stmt, 1, d->id);
                        sqlite3_bind_int64 (stmt, 2, from_ms);
                        sqlite3_bind_int64 (stmt, 3, to_ms);
                }
        } else {
                g_string_append (sql, "bucket_s");
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        g_string_append_printf (sql, ", %1$s_sum / %1$s_n", derived_cols[c]);
                g_string_append (sql, ", NULL, NULL, NULL, NULL");
                rc = prepare_rollup_rows (st, d->id, res, sql->str + strlen ("SELECT "),
                                          from_ms, to_ms, &stmt, tail);
        }
        if (rc != SQLITE_OK) {
                set_sql_error (st, rc, error, "loading series");
                return NULL;
        }
        s = augur_series_new (d->name);
        s->uuid = g_strdup (d->uuid);
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                gsize i = augur_series_append (s, sqlite3_column_int64 (stmt, 0));

                for (int c = 0; c < AUGUR_COL_N; c++) {
                        double v = column_double_or_nan (stmt, c + 1);

                        if (isnan (v))
                                continue;
                        augur_series_ensure_col (s, c);
                        s->col[c][i] = (float) v;
                }
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                set_sql_error (st, rc, error, "loading series");
                return NULL;
        }
        for (guint j = 0; j < tail->len; j++) {
                const AugurRollupAcc *acc = &g_array_index (tail, AugurRollupAcc, j);
                gsize i = augur_series_append (s, acc->bucket_s);

                for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                        double v = acc_value (acc, derived_cols[c]);

                        if (isnan (v))
                                continue;
                        augur_series_ensure_col (s, c);
                        s->col[c][i] = (float) v;
                }
        }
        return g_steal_pointer (&s);
}

void
augur_store_test_checkpoint_age (AugurStore *st, int max_age_ms)
{
        augur_store_checkpointer_set_max_age (st->ckpt, (gint64) max_age_ms * 1000);
}

void
augur_store_test_checkpoints (AugurStore *st, int soft_pages, int *ret_thread_runs, int *ret_inline_runs)
{
        if (soft_pages > 0)
                augur_store_checkpointer_set_pages (st->ckpt, soft_pages);
        augur_store_checkpointer_get_runs (st->ckpt, ret_thread_runs, ret_inline_runs);
}

void
augur_store_test_set_max_pages (AugurStore *st, gint64 max_pages)
{
        g_autofree char *sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, max_pages);

        sqlite3_exec (st->db, sql, NULL, NULL, NULL);
}

void
augur_store_set_sql_error (AugurStore *st, int rc, GError **error, const char *what)
{
        set_sql_error (st, rc, error, what);
}

gboolean
augur_store_exec (AugurStore *st, const char *sql, GError **error)
{
        return exec (st, sql, error);
}

DomainCache *
augur_store_resolve_domain (AugurStore *st, const char *uuid, const char *name,
                            const char *source, gint64 libvirt_id, gint64 ts_ms,
                            gboolean *ret_created, GError **error)
{
        return resolve_domain (st, uuid, name, source, libvirt_id, ts_ms, ret_created, error);
}
