/* store.c — augur's history store: the only code that speaks SQL.
 *
 * What it is: opening a store (the schema version check, migrations,
 * pragmas, the statements of the hot path, prepared once), closing it,
 * the -wal file check after each tick, meta and retention.  The table
 * design is in schema.sql (compiled in as schema_sql).  The store's other
 * files:
 *   store-tick.c       the tick's transaction with its rollups, events,
 *                      import: every write of samples
 *   store-read.c       the reads of the CLI and the model: domains,
 *                      status, history, series
 *   store-decisions.c, store-activity.c, store-retrain.c, store-report.c
 *                      one table group each
 *   checkpointer.c     WAL checkpoints on a thread of their own
 * store-private.h holds what they share; nothing outside sql/ includes it.
 * What it is not: a place for policy or feature logic.
 *
 * A tick appends one row per domain to samples_recent (moved to
 * samples_main once a minute, 004-samples-recent.sql) and adds the sample
 * to its domain's open 1-min and 5-min buckets in memory; a bucket's
 * rollups row is written once, when it closes (store-tick.c, ROLLUPS FROM
 * SAMPLES).  The domain id lookup is a hash table in memory, so steady
 * state runs no SELECTs.  Measured: scripts/bench-store,
 * BENCHMARKS-store.md.
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

const char *const augur_store_rollup_gauges[] = {
        "mem_actual_kib", "mem_unused_kib", "mem_usable_kib", "mem_available_kib",
        "vcpus_current", "vcpus_max",
        "cpu_cores", "cpu_pct", "cpu_cores_used", "mem_prov_kib", "mem_used_kib",
        "disk_rd_kibps", "disk_wr_kibps", "net_rx_kibps", "net_tx_kibps",
        "input_events_per_min", "sessions", "proc_starts_per_min",
        /* 007-activity-buckets.sql */
        "prog_b0", "prog_b1", "prog_b2", "prog_b3", "prog_b4", "prog_b5", "prog_b6", "prog_b7",
        "user_b0", "user_b1", "user_b2", "user_b3",
};
G_STATIC_ASSERT (G_N_ELEMENTS (augur_store_rollup_gauges) == AUGUR_ROLLUP_N_GAUGES);
const AugurStat augur_store_rollup_counters[] = {
        AUGUR_STAT_CPU_TIME_NS, AUGUR_STAT_BLOCK_RD_BYTES, AUGUR_STAT_BLOCK_WR_BYTES,
        AUGUR_STAT_NET_RX_BYTES, AUGUR_STAT_NET_TX_BYTES,
};
G_STATIC_ASSERT (G_N_ELEMENTS (augur_store_rollup_counters) == AUGUR_ROLLUP_N_COUNTERS);
const AugurResolution augur_store_rollup_res[] = { AUGUR_RES_1M, AUGUR_RES_5M };
G_STATIC_ASSERT (G_N_ELEMENTS (augur_store_rollup_res) == AUGUR_ROLLUP_N_RES);

void
augur_store_domain_cache_free (gpointer p)
{
        DomainCache *d = p;

        g_free (d->name);
        augur_domain_sample_clear (&d->prev);
        g_free (d);
}

/* Convert the connection's last error into a GError, once, here. */
void
augur_store_set_sql_error (AugurStore *st, int rc, GError **error, const char *what)
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

gboolean
augur_store_exec (AugurStore *st, const char *sql, GError **error)
{
        int rc = sqlite3_exec (st->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, sqlite3_extended_errcode (st->db), error, "exec");
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
                augur_store_set_sql_error (st, rc, error, "prepare");
                return NULL;
        }
        return stmt;
}

int
augur_store_step_done (sqlite3_stmt *stmt)
{
        int rc = sqlite3_step (stmt);

        sqlite3_reset (stmt);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
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
                augur_store_set_sql_error (st, sqlite3_extended_errcode (st->db), error,
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

                if (!augur_store_exec (st, sql, error)) {
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
                if (!augur_store_exec (st, sql, error)) {
                        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                        g_prefix_error (error, "migrating to version %d: ", migrations[i].version);
                        return FALSE;
                }
        }
        return TRUE;
}

gboolean
augur_store_rollback (AugurStore *st)
{
        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
        return FALSE;
}

/* ROLLUP ROWS IN SQL (store-tick.c, ROLLUPS FROM SAMPLES, has the design):
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
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                g_string_append_printf (sql, ", %s", augur_store_rollup_gauges[g]);
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                g_string_append_printf (sql, ", %1$s - lag(%1$s) OVER o AS %1$s_d",
                                        augur_stat_info[augur_store_rollup_counters[c]].column);
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
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                g_string_append_printf (sql, ", count(%1$s) AS %1$s_n, sum(%1$s) AS %1$s_sum,"
                                        " min(%1$s) AS %1$s_min, max(%1$s) AS %1$s_max",
                                        augur_store_rollup_gauges[g]);
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                g_string_append_printf (sql,
                        ", sum(CASE WHEN dt_ms > 0 AND dt_ms <= %2$.0f AND %1$s_d >= 0 THEN %1$s_d END)"
                        " AS %1$s_delta",
                        augur_stat_info[augur_store_rollup_counters[c]].column, AUGUR_MAX_RATE_GAP_S * 1000);
        g_string_append (sql, " FROM w WHERE ts_ms >= ?2 * 1000 GROUP BY 3)");
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
                g_string_append_printf (sql, ", %s", augur_col_name (c));
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
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++) {
                g_string_append_printf (sql, ", %1$s_n, %1$s_sum, %1$s_min, %1$s_max", augur_store_rollup_gauges[g]);
                g_string_append (vals, ",?,?,?,?");
        }
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++) {
                g_string_append_printf (sql, ", %s_delta", augur_stat_info[augur_store_rollup_counters[c]].column);
                g_string_append (vals, ",?");
        }
        g_string_append_printf (sql, ") VALUES (%s) ON CONFLICT (domain_id, res_s, bucket_s) DO UPDATE SET n = n + excluded.n", vals->str);
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++) {
                const char *x = augur_store_rollup_gauges[g];

                g_string_append_printf (sql,
                        ", %1$s_n = coalesce(%1$s_n, 0) + excluded.%1$s_n"
                        ", %1$s_sum = coalesce(%1$s_sum + excluded.%1$s_sum, %1$s_sum, excluded.%1$s_sum)"
                        ", %1$s_min = coalesce(min(%1$s_min, excluded.%1$s_min), %1$s_min, excluded.%1$s_min)"
                        ", %1$s_max = coalesce(max(%1$s_max, excluded.%1$s_max), %1$s_max, excluded.%1$s_max)", x);
        }
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                g_string_append_printf (sql,
                        ", %1$s_delta = coalesce(%1$s_delta + excluded.%1$s_delta, %1$s_delta, excluded.%1$s_delta)",
                        augur_stat_info[augur_store_rollup_counters[c]].column);
        if (!(st->upsert_rollup = prepare (st, sql->str, error)))
                return FALSE;

        /* rollups: rebuilt from the samples (import, crash recovery) */
        for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++) {
                g_string_truncate (sql, 0);
                append_rollup_cte (sql, augur_store_rollup_res[r]);
                g_string_append (sql, " INSERT OR REPLACE INTO rollups (domain_id, res_s, bucket_s, n");
                for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                        g_string_append_printf (sql, ", %1$s_n, %1$s_sum, %1$s_min, %1$s_max", augur_store_rollup_gauges[g]);
                for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                        g_string_append_printf (sql, ", %s_delta", augur_stat_info[augur_store_rollup_counters[c]].column);
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

/* Switch the journal mode; TRUE when the file is in `mode` after it
 * (SQLite answers with the mode in force, and keeps the old one without
 * an error when it cannot switch; switching to the mode in force changes
 * nothing, so this also asks which mode is in force). */
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
void
augur_store_wal_check (AugurStore *st)
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
        st->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, augur_store_domain_cache_free);
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
                augur_store_set_sql_error (st, rc, error, "cannot open database");
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
                if (!augur_store_exec (st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                           "PRAGMA cache_size = -32768; PRAGMA foreign_keys = OFF;", error))
                        return NULL;
        }
        if (!migrate (st, error))
                return NULL;
        if (mode == AUGUR_STORE_READ_WRITE &&
            (!prepare_statements (st, error) || !augur_store_recover_open_buckets (st, error)))
                return NULL;
        if (mode == AUGUR_STORE_READ_WRITE) {
                st->wal = journal_mode (st, "WAL");   /* ":memory:" never is */
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
                augur_store_flush_open_buckets (st);
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
        for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++)
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
                rc = augur_store_step_done (stmt);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "writing meta");
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
        if (!augur_store_exec (st, sql, error)) {
                augur_store_rollback (st);
                return -1;
        }
        return sqlite3_total_changes64 (st->db) - before;
}

