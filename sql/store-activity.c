/* store-activity.c — the activity tables of the store (schema v3).  See
 * store-activity.h for the contract and migrations/003-activity.sql for the
 * tables.
 *
 * What it is: one write transaction per flush (augurd calls it once per
 * tick with the reports accepted since the last tick) and the retention of
 * the activity rows.  What it is not: a reader for the model; the model
 * reads samples (whose activity columns this file fills) like any other
 * history.
 *
 * Statements are prepared per flush: a flush happens at most once per tick
 * and only when reports arrived, so the few prepares (~tens of µs) do not
 * matter next to the commit, and AugurStore (store-private.h) stays as it is.
 */
#include "config.h"

#include "store-activity.h"
#include "store-private.h"

#include <math.h>
#include <string.h>

const char *const augur_activity_col_name[AUGUR_ACTCOL_N] = {
        [AUGUR_ACTCOL_SEQ] = "seq",
        [AUGUR_ACTCOL_INTERVAL_MS] = "interval_ms",
        [AUGUR_ACTCOL_GUEST_DROPPED] = "guest_dropped",
        [AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN] = "input_events_per_min",
        [AUGUR_ACTCOL_SESSIONS] = "sessions",
        [AUGUR_ACTCOL_USERS] = "users",
        [AUGUR_ACTCOL_PROC_STARTS_PER_MIN] = "proc_starts_per_min",
        [AUGUR_ACTCOL_NET_RX_BYTES] = "net_rx_bytes",
        [AUGUR_ACTCOL_NET_TX_BYTES] = "net_tx_bytes",
        [AUGUR_ACTCOL_LOAD1] = "load1",
        [AUGUR_ACTCOL_PSI_CPU] = "psi_cpu",
        [AUGUR_ACTCOL_PSI_MEM] = "psi_mem",
        [AUGUR_ACTCOL_PSI_IO] = "psi_io",
        [AUGUR_ACTCOL_PROG_B0 + 0] = "prog_b0", [AUGUR_ACTCOL_PROG_B0 + 1] = "prog_b1",
        [AUGUR_ACTCOL_PROG_B0 + 2] = "prog_b2", [AUGUR_ACTCOL_PROG_B0 + 3] = "prog_b3",
        [AUGUR_ACTCOL_PROG_B0 + 4] = "prog_b4", [AUGUR_ACTCOL_PROG_B0 + 5] = "prog_b5",
        [AUGUR_ACTCOL_PROG_B0 + 6] = "prog_b6", [AUGUR_ACTCOL_PROG_B0 + 7] = "prog_b7",
        [AUGUR_ACTCOL_USER_B0 + 0] = "user_b0", [AUGUR_ACTCOL_USER_B0 + 1] = "user_b1",
        [AUGUR_ACTCOL_USER_B0 + 2] = "user_b2", [AUGUR_ACTCOL_USER_B0 + 3] = "user_b3",
        [AUGUR_ACTCOL_OOM_KILL] = "oom_kill",
};
/* AugurActivityRow.present holds one bit per column. */
G_STATIC_ASSERT (AUGUR_ACTCOL_N <= 32);

/* Columns stored as INTEGER (the rest are REAL). */
static const gboolean col_is_integer[AUGUR_ACTCOL_N] = {
        [AUGUR_ACTCOL_SEQ] = TRUE,
        [AUGUR_ACTCOL_INTERVAL_MS] = TRUE,
        [AUGUR_ACTCOL_GUEST_DROPPED] = TRUE,
        [AUGUR_ACTCOL_SESSIONS] = TRUE,
        [AUGUR_ACTCOL_USERS] = TRUE,
        [AUGUR_ACTCOL_NET_RX_BYTES] = TRUE,
        [AUGUR_ACTCOL_NET_TX_BYTES] = TRUE,
        [AUGUR_ACTCOL_USER_B0 + 0] = TRUE, [AUGUR_ACTCOL_USER_B0 + 1] = TRUE,
        [AUGUR_ACTCOL_USER_B0 + 2] = TRUE, [AUGUR_ACTCOL_USER_B0 + 3] = TRUE,
        [AUGUR_ACTCOL_OOM_KILL] = TRUE,
};

/* The samples columns a channel report fills, and their rollup gauges
 * (store.c augur_store_rollup_gauges[] has the same names). */
static const AugurActivityCol sample_cols[] = {
        AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN,
        AUGUR_ACTCOL_SESSIONS,
        AUGUR_ACTCOL_PROC_STARTS_PER_MIN,
        AUGUR_ACTCOL_PROG_B0 + 0, AUGUR_ACTCOL_PROG_B0 + 1, AUGUR_ACTCOL_PROG_B0 + 2,
        AUGUR_ACTCOL_PROG_B0 + 3, AUGUR_ACTCOL_PROG_B0 + 4, AUGUR_ACTCOL_PROG_B0 + 5,
        AUGUR_ACTCOL_PROG_B0 + 6, AUGUR_ACTCOL_PROG_B0 + 7,
        AUGUR_ACTCOL_USER_B0 + 0, AUGUR_ACTCOL_USER_B0 + 1, AUGUR_ACTCOL_USER_B0 + 2,
        AUGUR_ACTCOL_USER_B0 + 3,
};
#define N_SAMPLE_COLS ((int) G_N_ELEMENTS (sample_cols))
/* Parameters of the fill and rollup statements after the column values. */
#define P_DOMAIN   (N_SAMPLE_COLS + 1)
#define P_TS       (N_SAMPLE_COLS + 2)   /* fill: report ts; rollup: res_s */
#define P_BUCKET   (N_SAMPLE_COLS + 3)   /* rollup: bucket_s                */

typedef struct {
        sqlite3_stmt *ins;
        sqlite3_stmt *fill;          /* the newest sample, in samples_recent */
        sqlite3_stmt *fill_main;     /* ... or in samples_main             */
        sqlite3_stmt *rollup;
        sqlite3_stmt *drops;
} Stmts;

static void
stmts_clear (Stmts *s)
{
        sqlite3_finalize (s->ins);
        sqlite3_finalize (s->fill);
        sqlite3_finalize (s->fill_main);
        sqlite3_finalize (s->rollup);
        sqlite3_finalize (s->drops);
        memset (s, 0, sizeof *s);
}

static gboolean
prepare (AugurStore *st, const char *sql, sqlite3_stmt **ret, GError **error)
{
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, ret, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "preparing activity statement");
                return FALSE;
        }
        return TRUE;
}

static gboolean
prepare_all (AugurStore *st, Stmts *s, GError **error)
{
        g_autoptr(GString) sql = g_string_new ("INSERT OR REPLACE INTO activity (domain_id, ts_ms, source");
        g_autoptr(GString) vals = g_string_new ("?,?,?");

        for (int c = 0; c < AUGUR_ACTCOL_N; c++) {
                g_string_append_printf (sql, ", %s", augur_activity_col_name[c]);
                g_string_append (vals, ",?");
        }
        g_string_append_printf (sql, ", input_src, top_programs) VALUES (%s,?,?)", vals->str);
        if (!prepare (st, sql->str, &s->ins, error))
                return FALSE;

        /* ?1..?N the sample_cols values (NULL = unknown), ?N+1 domain, ?N+2
         * report ts.  A sample is filled once: only while none of these
         * columns is set.  The newest sample is in samples_recent, or in
         * samples_main just after the minute's move: fill_main is tried
         * when fill finds none. */
        for (int t = 0; t < 2; t++) {
                g_autoptr(GString) set = g_string_new (NULL);
                g_autoptr(GString) unset = g_string_new (NULL);
                /* samples_main holds the newest only when recent has none */
                g_autofree char *only_main = t ? g_strdup_printf (
                        " AND NOT EXISTS (SELECT 1 FROM samples_recent WHERE domain_id = ?%d)",
                        P_DOMAIN) : g_strdup ("");

                for (int i = 0; i < N_SAMPLE_COLS; i++) {
                        g_string_append_printf (set, "%s%s = ?%d", i ? ", " : "",
                                                augur_activity_col_name[sample_cols[i]], i + 1);
                        g_string_append_printf (unset, " AND %s IS NULL",
                                                augur_activity_col_name[sample_cols[i]]);
                }
                g_string_printf (sql,
                        "UPDATE %1$s SET %2$s"
                        " WHERE domain_id = ?%3$d"
                        " AND ts_ms = (SELECT max(ts_ms) FROM %1$s WHERE domain_id = ?%3$d)"
                        "%4$s"
                        " AND ts_ms BETWEEN ?%5$d - %6$d AND ?%5$d + %6$d"
                        "%7$s"
                        " RETURNING ts_ms",
                        t ? "samples_main" : "samples_recent", set->str, P_DOMAIN, only_main,
                        P_TS, AUGUR_ACTIVITY_SAMPLE_WINDOW_MS, unset->str);
                if (!prepare (st, sql->str, t ? &s->fill_main : &s->fill, error))
                        return FALSE;
        }

        /* Same NULL-safe arithmetic as store.c's rollup upsert. */
        g_string_assign (sql, "UPDATE rollups SET n = n");
        for (gsize i = 0; i < G_N_ELEMENTS (sample_cols); i++)
                g_string_append_printf (sql,
                        ", %1$s_n = coalesce(%1$s_n, 0) + (?%2$zu IS NOT NULL)"
                        ", %1$s_sum = coalesce(%1$s_sum + ?%2$zu, %1$s_sum, ?%2$zu)"
                        ", %1$s_min = coalesce(min(%1$s_min, ?%2$zu), %1$s_min, ?%2$zu)"
                        ", %1$s_max = coalesce(max(%1$s_max, ?%2$zu), %1$s_max, ?%2$zu)",
                        augur_activity_col_name[sample_cols[i]], i + 1);
        g_string_append_printf (sql, " WHERE domain_id = ?%d AND res_s = ?%d AND bucket_s = ?%d",
                                P_DOMAIN, P_TS, P_BUCKET);
        if (!prepare (st, sql->str, &s->rollup, error))
                return FALSE;

        return prepare (st,
                "INSERT INTO activity_drops (domain_id, updated_ms, bytes_read, lines, accepted,"
                " dropped_malformed, dropped_oversize, dropped_rate, dropped_range, connects)"
                " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (domain_id) DO UPDATE SET"
                " updated_ms = excluded.updated_ms,"
                " bytes_read = bytes_read + excluded.bytes_read,"
                " lines = lines + excluded.lines,"
                " accepted = accepted + excluded.accepted,"
                " dropped_malformed = dropped_malformed + excluded.dropped_malformed,"
                " dropped_oversize = dropped_oversize + excluded.dropped_oversize,"
                " dropped_rate = dropped_rate + excluded.dropped_rate,"
                " dropped_range = dropped_range + excluded.dropped_range,"
                " connects = connects + excluded.connects",
                &s->drops, error);
}

static int
step_reset (sqlite3_stmt *stmt)
{
        int rc = sqlite3_step (stmt);

        sqlite3_reset (stmt);
        sqlite3_clear_bindings (stmt);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void
bind_col (sqlite3_stmt *stmt, int idx, const AugurActivityRow *r, AugurActivityCol c)
{
        if (!((r->present >> c) & 1) || !isfinite (r->v[c]))
                sqlite3_bind_null (stmt, idx);
        else if (col_is_integer[c])
                sqlite3_bind_int64 (stmt, idx, (gint64) r->v[c]);
        else
                sqlite3_bind_double (stmt, idx, r->v[c]);
}

/* A filled sample whose rollup bucket is still open in memory (store-tick.c):
 * its values join that bucket once the transaction commits. */
typedef struct {
        DomainCache *dc;
        gsize res_index;
        gint64 sample_ms;
        const AugurActivityRow *row;
} OpenFill;

/* Fill the newest sample from a channel row, and its rollups.  Returns an
 * SQLite code; *ret_filled += 1 when a sample was filled. */
static int
fill_sample (AugurStore *st, Stmts *s, DomainCache *dc, const AugurActivityRow *r,
             GArray *open_fills, gsize *ret_filled)
{
        const gint64 domain_id = dc->id;
        gboolean any = FALSE;
        gint64 sample_ms = -1;
        int rc;

        for (gsize i = 0; i < G_N_ELEMENTS (sample_cols); i++)
                if ((r->present >> sample_cols[i]) & 1)
                        any = TRUE;
        if (!any)
                return SQLITE_OK;
        for (int t = 0; t < 2 && sample_ms < 0; t++) {
                sqlite3_stmt *fill = t ? s->fill_main : s->fill;

                for (gsize i = 0; i < G_N_ELEMENTS (sample_cols); i++)
                        bind_col (fill, (int) i + 1, r, sample_cols[i]);
                sqlite3_bind_int64 (fill, P_DOMAIN, domain_id);
                sqlite3_bind_int64 (fill, P_TS, r->ts_ms);
                rc = sqlite3_step (fill);
                if (rc == SQLITE_ROW) {
                        sample_ms = sqlite3_column_int64 (fill, 0);
                        rc = sqlite3_step (fill);
                }
                sqlite3_reset (fill);
                sqlite3_clear_bindings (fill);
                if (rc != SQLITE_DONE)
                        return rc;
        }
        if (sample_ms < 0)
                return SQLITE_OK;      /* no recent sample, or already filled */
        (*ret_filled)++;
        for (gsize k = 0; k < AUGUR_ROLLUP_N_RES; k++) {
                gint64 res = augur_store_rollup_res[k];

                if (augur_store_rollup_is_open (dc, k, sample_ms)) {
                        g_array_append_vals (open_fills, &(OpenFill) { dc, k, sample_ms, r }, 1);
                        continue;
                }
                /* the bucket was written already: add to its row */
                for (gsize i = 0; i < G_N_ELEMENTS (sample_cols); i++)
                        bind_col (s->rollup, (int) i + 1, r, sample_cols[i]);
                sqlite3_bind_int64 (s->rollup, P_DOMAIN, domain_id);
                sqlite3_bind_int64 (s->rollup, P_TS, res);
                sqlite3_bind_int64 (s->rollup, P_BUCKET, (sample_ms / 1000) / res * res);
                rc = step_reset (s->rollup);
                if (rc != SQLITE_OK)
                        return rc;
        }
        return SQLITE_OK;
}

static DomainCache *
resolve (AugurStore *st, const char *uuid, const char *name, gint64 libvirt_id,
         gint64 ts_ms, GPtrArray *created, GError **error)
{
        gboolean was_created = FALSE;
        DomainCache *dc = augur_store_resolve_domain (st, uuid, name ? name : uuid, "libvirt",
                                                      libvirt_id, ts_ms, &was_created, error);

        if (dc && was_created)
                g_ptr_array_add (created, g_strdup (uuid));
        return dc;
}

gboolean
augur_store_write_activity (AugurStore *st,
                            const AugurActivityRow *rows, gsize n_rows,
                            const AugurActivityDropsDelta *drops, gsize n_drops,
                            gsize *ret_filled, GError **error)
{
        g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GArray) open_fills = g_array_new (FALSE, FALSE, sizeof (OpenFill));
        Stmts s = { NULL, };
        gint64 now_ms = g_get_real_time () / 1000;
        gsize filled = 0;
        int rc = SQLITE_OK;

        g_return_val_if_fail (st != NULL, FALSE);
        g_return_val_if_fail (st->mode == AUGUR_STORE_READ_WRITE, FALSE);
        if (n_rows == 0 && n_drops == 0) {
                if (ret_filled)
                        *ret_filled = 0;
                return TRUE;
        }
        if (!prepare_all (st, &s, error)) {
                stmts_clear (&s);
                return FALSE;
        }
        if (!augur_store_txn_begin (st, error)) {
                stmts_clear (&s);
                return FALSE;
        }
        for (gsize i = 0; i < n_rows; i++) {
                const AugurActivityRow *r = &rows[i];
                DomainCache *dc = resolve (st, r->uuid, r->name, r->libvirt_id, r->ts_ms,
                                           created, error);
                int k = 1;

                if (!dc)
                        goto fail_gerror;
                sqlite3_bind_int64 (s.ins, k++, dc->id);
                sqlite3_bind_int64 (s.ins, k++, r->ts_ms);
                sqlite3_bind_int (s.ins, k++, (int) r->source);
                for (int c = 0; c < AUGUR_ACTCOL_N; c++)
                        bind_col (s.ins, k++, r, c);
                if (r->input_src)
                        sqlite3_bind_text (s.ins, k, r->input_src, -1, SQLITE_STATIC);
                k++;
                if (r->top_programs)
                        sqlite3_bind_text (s.ins, k, r->top_programs, -1, SQLITE_STATIC);
                rc = step_reset (s.ins);
                if (rc != SQLITE_OK)
                        goto fail_sql;
                if (r->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                        rc = fill_sample (st, &s, dc, r, open_fills, &filled);
                        if (rc != SQLITE_OK)
                                goto fail_sql;
                }
        }
        for (gsize i = 0; i < n_drops; i++) {
                const AugurActivityDropsDelta *d = &drops[i];
                DomainCache *dc = resolve (st, d->uuid, d->name, d->libvirt_id, now_ms,
                                           created, error);
                const gint64 vals[] = {
                        d->bytes_read, d->lines, d->accepted, d->dropped_malformed,
                        d->dropped_oversize, d->dropped_rate, d->dropped_range, d->connects,
                };

                if (!dc)
                        goto fail_gerror;
                sqlite3_bind_int64 (s.drops, 1, dc->id);
                sqlite3_bind_int64 (s.drops, 2, now_ms);
                for (gsize k = 0; k < G_N_ELEMENTS (vals); k++)
                        sqlite3_bind_int64 (s.drops, 3 + (int) k, vals[k]);
                rc = step_reset (s.drops);
                if (rc != SQLITE_OK)
                        goto fail_sql;
        }
        stmts_clear (&s);
        if (!augur_store_txn_commit (st, error))
                goto fail_rolled_back;
        for (guint j = 0; j < open_fills->len; j++) {
                const OpenFill *o = &g_array_index (open_fills, OpenFill, j);

                for (gsize i = 0; i < G_N_ELEMENTS (sample_cols); i++) {
                        AugurActivityCol c = sample_cols[i];

                        if (((o->row->present >> c) & 1) && isfinite (o->row->v[c]))
                                augur_store_rollup_add_gauge_committed (st, o->dc, o->res_index, o->sample_ms,
                                                                        augur_activity_col_name[c],
                                                                        o->row->v[c]);
                }
        }
        if (ret_filled)
                *ret_filled = filled;
        return TRUE;

fail_sql:
        augur_store_set_sql_error (st, rc, error, "writing activity");
fail_gerror:
        stmts_clear (&s);
        augur_store_txn_rollback (st);
fail_rolled_back:
        /* Domains created inside the rolled-back transaction do not exist. */
        for (guint i = 0; i < created->len; i++)
                g_hash_table_remove (st->by_uuid, created->pdata[i]);
        return FALSE;
}

gint64
augur_store_activity_apply_retention (AugurStore *st, GError **error)
{
        g_autofree char *sql = NULL;
        gint64 before;

        g_return_val_if_fail (st != NULL, -1);
        g_return_val_if_fail (!st->tick_open, -1);
        before = sqlite3_total_changes64 (st->db);
        sql = g_strdup_printf (
                "BEGIN IMMEDIATE;"
                "DELETE FROM activity WHERE ts_ms < (SELECT max(a2.ts_ms) FROM activity a2"
                "  WHERE a2.domain_id = activity.domain_id) - %" G_GINT64_FORMAT ";"
                "COMMIT;",
                st->retention.raw_keep_s * 1000);
        if (!augur_store_exec (st, sql, error)) {
                sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                return -1;
        }
        return sqlite3_total_changes64 (st->db) - before;
}
