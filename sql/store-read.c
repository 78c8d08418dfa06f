/* store-read.c — the store's reads, for virt-augur and the model: the
 * domains, the status, a domain's history (virt-augur history) and its
 * series in trace units (training, replay).  A read at a rollup resolution
 * reaches the last tick: the buckets not yet written to the rollups table
 * are summed from the samples by the live path's own code (store-tick.c,
 * ROLLUPS FROM SAMPLES).
 *
 * What it is not: a writer.  Nothing here changes the file, so a
 * read-only store (virt-augur next to a running augurd) runs all of it.
 * The per-table reads (decisions, activity, retrain runs, the report) are
 * in the store-<table>.c files.
 */
#include "config.h"

#include "store.h"
#include "store-private.h"

#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

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
                augur_store_set_sql_error (st, rc, error, "listing domains");
                return NULL;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
                g_ptr_array_add (out, domain_info_from_row (stmt));
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "listing domains");
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
                        augur_store_set_sql_error (st, rc, error, "finding domain");
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
                        augur_store_set_sql_error (st, rc, error, "finding domain");
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
 * to_s, summed from its samples by the live path's own
 * augur_store_acc_add(): the counter deltas follow counter_delta()'s rule
 * (common/units.c).  Appends AugurRollupAcc to accs; SQLite result code. */
static int
tail_buckets (AugurStore *st, gint64 domain_id, gint64 res, gint64 tail_s, gint64 to_s,
              GArray *accs)
{
        g_autoptr(GString) sql = g_string_new ("SELECT ts_ms");
        sqlite3_stmt *stmt = NULL;
        gint64 prev_ms = 0, prev_c[AUGUR_ROLLUP_N_COUNTERS], from_ms;
        gboolean have_prev = FALSE, prev_has[AUGUR_ROLLUP_N_COUNTERS];
        int rc;

        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                g_string_append_printf (sql, ", %s", augur_store_rollup_gauges[g]);
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                g_string_append_printf (sql, ", %s", augur_stat_info[augur_store_rollup_counters[c]].column);
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
                double gauges[AUGUR_ROLLUP_N_GAUGES];
                AugurDeltas deltas;
                int k = 1;

                for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                        gauges[g] = augur_store_column_double_or_nan (stmt, k++);
                for (int f = 0; f < AUGUR_STAT_N; f++)
                        deltas.d[f] = NAN;
                for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++, k++) {
                        gboolean has = sqlite3_column_type (stmt, k) != SQLITE_NULL;
                        gint64 v = sqlite3_column_int64 (stmt, k);
                        gint64 dt_ms = ts_ms - prev_ms;

                        if (have_prev && has && prev_has[c] && dt_ms > 0 &&
                            dt_ms <= AUGUR_MAX_RATE_GAP_S * 1000 && v >= prev_c[c])
                                deltas.d[augur_store_rollup_counters[c]] = (double) (v - prev_c[c]);
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

                        augur_store_acc_reset (&acc, (ts_ms / 1000) / res * res);
                        g_array_append_val (accs, acc);
                }
                augur_store_acc_add (&g_array_index (accs, AugurRollupAcc, accs->len - 1), gauges, &deltas);
        }
        sqlite3_finalize (stmt);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A rollups column of an open bucket: a gauge's mean or a counter's delta,
 * by the samples column name; NAN when it has none. */
static double
acc_value (const AugurRollupAcc *acc, const char *column)
{
        for (gsize g = 0; g < AUGUR_ROLLUP_N_GAUGES; g++)
                if (strcmp (augur_store_rollup_gauges[g], column) == 0)
                        return acc->g_n[g] > 0 ? acc->g_sum[g] / acc->g_n[g] : NAN;
        for (gsize c = 0; c < AUGUR_ROLLUP_N_COUNTERS; c++)
                if (strcmp (augur_stat_info[augur_store_rollup_counters[c]].column, column) == 0)
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
                augur_store_set_sql_error (st, rc, error, "reading history");
                return NULL;
        }
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                AugurHistRow r;

                r.ts_s = sqlite3_column_int64 (stmt, 0);
                for (int c = 0; c < AUGUR_HIST_N; c++)
                        r.v[c] = augur_store_column_double_or_nan (stmt, c + 1);
                g_array_append_val (rows, r);
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "reading history");
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
                augur_store_set_sql_error (st, rc, error, "reading history");
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
                        g_string_append_printf (sql, ", s.%s", augur_col_name (c));
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
                        g_string_append_printf (sql, ", %1$s_sum / %1$s_n", augur_col_name (c));
                g_string_append (sql, ", NULL, NULL, NULL, NULL");
                rc = prepare_rollup_rows (st, d->id, res, sql->str + strlen ("SELECT "),
                                          from_ms, to_ms, &stmt, tail);
        }
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "loading series");
                return NULL;
        }
        s = augur_series_new (d->name);
        s->uuid = g_strdup (d->uuid);
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
                gsize i = augur_series_append (s, sqlite3_column_int64 (stmt, 0));

                for (int c = 0; c < AUGUR_COL_N; c++) {
                        double v = augur_store_column_double_or_nan (stmt, c + 1);

                        if (isnan (v))
                                continue;
                        augur_series_ensure_col (s, c);
                        s->col[c][i] = (float) v;
                }
        }
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "loading series");
                return NULL;
        }
        for (guint j = 0; j < tail->len; j++) {
                const AugurRollupAcc *acc = &g_array_index (tail, AugurRollupAcc, j);
                gsize i = augur_series_append (s, acc->bucket_s);

                for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                        double v = acc_value (acc, augur_col_name (c));

                        if (isnan (v))
                                continue;
                        augur_series_ensure_col (s, c);
                        s->col[c][i] = (float) v;
                }
        }
        return g_steal_pointer (&s);
}

GPtrArray *
augur_store_load_all_series (AugurStore *st, gint64 from_s, gint64 to_s, AugurResolution res,
                             guint max_series, GError **error)
{
        g_auto(GStrv) names = augur_store_list_domain_names (st, error);
        g_autoptr(GPtrArray) out = NULL;

        if (!names)
                return NULL;
        out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        for (guint i = 0; names[i] && (max_series == 0 || out->len < max_series); i++) {
                AugurSeries *s = augur_store_load_series (st, names[i], from_s, to_s, res, error);

                if (!s) {
                        g_prefix_error (error, "domain '%s': ", names[i]);
                        return NULL;
                }
                if (s->n > 0)
                        g_ptr_array_add (out, s);
                else
                        augur_series_free (s);
        }
        return g_steal_pointer (&out);
}
