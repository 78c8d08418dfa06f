/* store-tick.c — the store's writes: the tick's transaction (samples,
 * host sample, the minute's move of the *_recent tables, rollups), the
 * savepoints other writers join it with, events, and the import of series.
 *
 * What it is not: opening the store or preparing its statements (store.c),
 * reading (store-read.c), or the per-table writers that join the tick
 * (store-decisions.c, store-activity.c).
 */
#include "config.h"

#include "store.h"
#include "store-private.h"
#include "util.h"

#include <math.h>
#include <sqlite3.h>
#include <string.h>

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
 * after a crash (augur_store_recover_open_buckets() at open: the buckets
 * that were open when the process died), by the statement store.c builds
 * (append_rollup_cte()); readers sum the still-open bucket from the
 * samples with augur_store_acc_add() itself (store-read.c,
 * prepare_rollup_rows()), so history is complete to the last tick. */

/* (Re)write domain_id's rollups at augur_store_rollup_res[r] for the
 * buckets that start in [from_s, to_s), from its samples.  Runs inside the
 * caller's transaction; SQLite result code. */
static int
rollups_from_samples (AugurStore *st, gint64 domain_id, gsize r, gint64 from_s, gint64 to_s)
{
        sqlite3_stmt *stmt = st->rebuild_rollups[r];
        gint64 res = augur_store_rollup_res[r];

        sqlite3_bind_int64 (stmt, 1, domain_id);
        sqlite3_bind_int64 (stmt, 2, from_s / res * res);
        sqlite3_bind_int64 (stmt, 3, to_s);
        return augur_store_step_done (stmt);
}

void
augur_store_acc_reset (AugurRollupAcc *acc, gint64 bucket_s)
{
        acc->bucket_s = bucket_s;
        acc->closing = FALSE;
        acc->n = 0;
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++) {
                acc->g_n[g] = 0;
                acc->g_sum[g] = 0;
                acc->g_min[g] = INFINITY;
                acc->g_max[g] = -INFINITY;
        }
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
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

/* One sample: its gauges (augur_store_rollup_gauges[] order, NAN = missing) and its
 * counter deltas to the previous sample (AugurDeltas, NULL = none). */
void
augur_store_acc_add (AugurRollupAcc *acc, const double *gauges, const AugurDeltas *deltas)
{
        acc->n++;
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                acc_add_gauge (acc, g, gauges[g]);
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS && deltas; c++) {
                double d = deltas->d[augur_store_rollup_counters[c]];

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
        sqlite3_bind_int64 (u, i++, augur_store_rollup_res[r]);
        sqlite3_bind_int64 (u, i++, acc->bucket_s);
        sqlite3_bind_int64 (u, i++, acc->n);
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++) {
                gboolean any = acc->g_n[g] > 0;

                sqlite3_bind_int64 (u, i++, acc->g_n[g]);
                augur_store_bind_double_or_null (u, i++, any ? acc->g_sum[g] : NAN);
                augur_store_bind_double_or_null (u, i++, any ? acc->g_min[g] : NAN);
                augur_store_bind_double_or_null (u, i++, any ? acc->g_max[g] : NAN);
        }
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                augur_store_bind_double_or_null (u, i++, acc->c_delta[c]);
        return augur_store_step_done (u);
}

static gsize
gauge_index (const char *name)
{
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                if (strcmp (augur_store_rollup_gauges[g], name) == 0)
                        return g;
        g_return_val_if_reached (0);
}

gboolean
augur_store_rollup_is_open (const DomainCache *dc, gsize r, gint64 ts_ms)
{
        gint64 b;

        g_return_val_if_fail (r < AUGUR_ROLLUP_N_RES, FALSE);
        b = (ts_ms / 1000) / augur_store_rollup_res[r] * augur_store_rollup_res[r];
        /* In the open tick: the bucket its sample leaves open. */
        if (dc->tick_bucket_s[r] >= 0)
                return dc->tick_bucket_s[r] == b;
        return dc->acc[r].bucket_s >= 0 && !dc->acc[r].closing && dc->acc[r].bucket_s == b;
}

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
        g_return_if_fail (r < AUGUR_ROLLUP_N_RES);
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
                rc = augur_store_step_done (steps[i]);
        return rc;
}

/* At close: write every bucket still open, so a clean stop leaves no
 * sample outside the rollups.  Best effort: what fails here is rebuilt by
 * augur_store_recover_open_buckets() at the next open. */
void
augur_store_flush_open_buckets (AugurStore *st)
{
        GHashTableIter it;
        gpointer v;
        int rc = SQLITE_OK;

        if (sqlite3_exec (st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return;
        g_hash_table_iter_init (&it, st->by_uuid);
        while (rc == SQLITE_OK && g_hash_table_iter_next (&it, NULL, &v))
                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES && rc == SQLITE_OK; r++)
                        rc = acc_flush (st, ((DomainCache *) v)->id, r, &((DomainCache *) v)->acc[r]);
        if (rc != SQLITE_OK || sqlite3_exec (st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                g_warning ("%s: writing the open rollup buckets at close: %s (rebuilt at next open)",
                           st->path, sqlite3_errmsg (st->db));
                augur_store_rollback (st);
        }
}

/* After a crash (kill -9, power loss) the bucket holding each domain's
 * newest sample may have no row, or a partial one (written at a clean stop,
 * then more samples before the crash): its n then differs from the count
 * of its samples.  Rewrite such buckets from the samples.  A few index
 * lookups per domain when nothing is missing. */
gboolean
augur_store_recover_open_buckets (AugurStore *st, GError **error)
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
                augur_store_set_sql_error (st, rc, error, "looking for open rollup buckets");
                return FALSE;
        }
        sqlite3_bind_int64 (stmt, 1, augur_store_rollup_res[0]);
        sqlite3_bind_int64 (stmt, 2, augur_store_rollup_res[1]);
        if (!augur_store_exec (st, "BEGIN IMMEDIATE", error)) {
                sqlite3_finalize (stmt);
                return FALSE;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                gint64 id = sqlite3_column_int64 (stmt, 0);
                gint64 last_s = sqlite3_column_int64 (stmt, 1) / 1000;

                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES && rc == SQLITE_ROW; r++)
                        if (rollups_from_samples (st, id, r, last_s, last_s + 1) != SQLITE_OK)
                                rc = sqlite3_extended_errcode (st->db);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "rebuilding open rollup buckets");
                return augur_store_rollback (st);
        }
        return augur_store_exec (st, "COMMIT", error) || augur_store_rollback (st);
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
DomainCache *
augur_store_resolve_domain (AugurStore *st, const char *uuid, const char *name,
                            const char *source, gint64 libvirt_id, gint64 ts_ms,
                            gboolean *ret_created, GError **error)
{
        DomainCache *dc = g_hash_table_lookup (st->by_uuid, uuid);
        int rc;

        *ret_created = FALSE;
        if (!dc) {
                dc = g_new0 (DomainCache, 1);
                dc->libvirt_id = -2;   /* unknown: forces an update below */
                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++) {
                        augur_store_acc_reset (&dc->acc[r], -1);
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
                        augur_store_set_sql_error (st, rc, error, "looking up domain");
                        augur_store_domain_cache_free (dc);
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
                        rc = augur_store_step_done (st->ins_domain);
                        if (rc != SQLITE_OK) {
                                augur_store_set_sql_error (st, rc, error, "adding domain");
                                augur_store_domain_cache_free (dc);
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
                        rc = augur_store_step_done (st->ins_name);
                        if (rc != SQLITE_OK) {
                                augur_store_set_sql_error (st, rc, error, "recording name");
                                augur_store_domain_cache_free (dc);
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
                rc = augur_store_step_done (st->upd_domain);
                if (rc == SQLITE_OK && g_strcmp0 (dc->name, name) != 0) {
                        sqlite3_bind_int64 (st->ins_name, 1, dc->id);
                        sqlite3_bind_text (st->ins_name, 2, name, -1, SQLITE_STATIC);
                        sqlite3_bind_int64 (st->ins_name, 3, ts_ms);
                        rc = augur_store_step_done (st->ins_name);
                }
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "renaming domain");
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

/* Values of augur_store_rollup_gauges[] for one live sample (the activity columns are
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
        G_STATIC_ASSERT (G_N_ELEMENTS (vals) == AUGUR_ROLLUP_N_GAUGES);
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
                const char *what = "starting the tick";

                if ((rc & 0xff) == SQLITE_BUSY)
                        what = "starting the tick (another process holds a write transaction on the database)";
                augur_store_set_sql_error (st, sqlite3_extended_errcode (st->db), error, what);
                return FALSE;
        }
        st->tick_open = TRUE;
        st->tick_ms = ts_ms;

        sqlite3_bind_int64 (st->ins_tick, 1, ts_ms);
        sqlite3_bind_int64 (st->ins_tick, 2, (gint64) n);
        sqlite3_bind_int64 (st->ins_tick, 3, collect_usec);
        rc = augur_store_step_done (st->ins_tick);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "writing tick");
                goto fail;
        }
        tick_id = sqlite3_last_insert_rowid (st->db);

        if (now_s / AUGUR_STORE_RECENT_S != st->recent_period) {
                rc = move_recent_samples (st);
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "moving recent samples");
                        goto fail;
                }
        }

        if (host) {
                sqlite3_bind_int64 (st->ins_host, 1, tick_id);
                sqlite3_bind_int64 (st->ins_host, 2, ts_ms);
                for (int f = 0; f < AUGUR_HOST_N; f++)
                        augur_store_bind_double_or_null (st->ins_host, 3 + f,
                                                         (host->present >> f) & 1 ? host->v[f] : NAN);
                rc = augur_store_step_done (st->ins_host);
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "writing host sample");
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

                dc = augur_store_resolve_domain (st, s->uuid, s->name ? s->name : s->uuid, "libvirt",
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
                augur_store_bind_double_or_null (st->ins_sample, k++, d.cpu_cores_used);
                augur_units_model_row (&d, trace_vals);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        augur_store_bind_double_or_null (st->ins_sample, k++, trace_vals[c]);
                rc = augur_store_step_done (st->ins_sample);
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "writing sample");
                        goto fail;
                }
                ts.dc = dc;
                ts.sample = *s;
                ts.sample.name = NULL;
                live_gauges (s, &d, ts.gauges);
                g_array_append_val (st->tick_samples, ts);
                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++)
                        dc->tick_bucket_s[r] = now_s / augur_store_rollup_res[r] * augur_store_rollup_res[r];
        }

        /* Buckets that ended by now (a sample of a later bucket arrived,
         * or the domain stopped reporting), or lie ahead of now (the clock
         * went back): written once, here. */
        g_hash_table_iter_init (&it, st->by_uuid);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                DomainCache *dc = v;

                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++) {
                        AugurRollupAcc *acc = &dc->acc[r];

                        if (acc->bucket_s < 0 ||
                            (acc->bucket_s + augur_store_rollup_res[r] > now_s && acc->bucket_s <= now_s))
                                continue;
                        rc = acc_flush (st, dc->id, r, acc);
                        if (rc != SQLITE_OK) {
                                augur_store_set_sql_error (st, rc, error, "writing rollups");
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
                augur_store_set_sql_error (st, sqlite3_extended_errcode (st->db), error, "committing tick");
                augur_store_tick_rollback (st);
                return FALSE;
        }

        /* Committed: only now do the open buckets and the "previous
         * sample" move forward, then the activity values join them. */
        st->recent_period = now_s / AUGUR_STORE_RECENT_S;
        for (guint j = 0; j < st->tick_closed->len; j++)
                augur_store_acc_reset (st->tick_closed->pdata[j], -1);
        for (guint j = 0; j < st->tick_samples->len; j++) {
                TickSample *ts = &g_array_index (st->tick_samples, TickSample, j);
                DomainCache *dc = ts->dc;

                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++) {
                        gint64 b = now_s / augur_store_rollup_res[r] * augur_store_rollup_res[r];

                        if (dc->acc[r].bucket_s != b)
                                augur_store_acc_reset (&dc->acc[r], b);
                        augur_store_acc_add (&dc->acc[r], ts->gauges, &ts->deltas);
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
        augur_store_wal_check (st);
        return TRUE;
}

void
augur_store_tick_rollback (AugurStore *st)
{
        if (!st->tick_open)
                return;
        augur_store_rollback (st);
        for (guint j = 0; j < st->tick_closed->len; j++)
                ((AugurRollupAcc *) st->tick_closed->pdata[j])->closing = FALSE;
        /* tick_bucket_s first: the entries of created domains go next.
         * Domains created inside the rolled-back transaction do not exist:
         * forget them (renames are re-read on next use). */
        for (guint j = 0; j < st->tick_samples->len; j++) {
                DomainCache *dc = g_array_index (st->tick_samples, TickSample, j).dc;

                for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++)
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
        return augur_store_exec (st, st->tick_open ? "SAVEPOINT augur_part" : "BEGIN IMMEDIATE", error);
}

gboolean
augur_store_txn_commit (AugurStore *st, GError **error)
{
        if (augur_store_exec (st, st->tick_open ? "RELEASE augur_part" : "COMMIT", error))
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
                augur_store_rollback (st);
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
                dc = augur_store_resolve_domain (st, uuid, name ? name : uuid, "libvirt",
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
        rc = augur_store_step_done (st->ins_event);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "writing event");
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
                g_string_append_printf (sql, ", %s", augur_col_name (c));
                if (s->col[c])
                        g_string_append_printf (upd, "%s%s = excluded.%s",
                                                upd->len ? ", " : "", augur_col_name (c), augur_col_name (c));
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
        if (!augur_store_exec (st, "BEGIN IMMEDIATE", error))
                return FALSE;
        dc = augur_store_resolve_domain (st, uuid, s->vm, source, -1, s->ts[0] * 1000, &created, error);
        if (!dc)
                return augur_store_rollback (st);
        rc = sqlite3_prepare_v2 (st->db, sql->str, -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "preparing import");
                goto fail;
        }
        for (gsize i = 0; i < s->n; i++) {
                sqlite3_bind_int64 (stmt, 1, dc->id);
                sqlite3_bind_int64 (stmt, 2, s->ts[i] * 1000);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        augur_store_bind_double_or_null (stmt, 3 + c, s->col[c] ? s->col[c][i] : NAN);
                rc = augur_store_step_done (stmt);
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "importing row");
                        goto fail;
                }
                rows++;
        }
        sqlite3_finalize (g_steal_pointer (&stmt));
        for (gsize r = 0; r < AUGUR_ROLLUP_N_RES; r++) {
                rc = rollups_from_samples (st, dc->id, r, s->ts[0], s->ts[s->n - 1] + 1);
                if (rc != SQLITE_OK) {
                        augur_store_set_sql_error (st, rc, error, "computing rollups");
                        goto fail;
                }
        }
        if (!augur_store_exec (st, "COMMIT", error))
                goto fail;
        if (ret_rows)
                *ret_rows = rows;
        return TRUE;
fail:
        sqlite3_finalize (stmt);
        augur_store_rollback (st);
        if (created)
                g_hash_table_remove (st->by_uuid, uuid);
        return FALSE;
}

