/* store-decisions.c — decisions and actuations (see store-decisions.h). */
#include "config.h"

#include "store-decisions.h"
#include "store-private.h"

#include <math.h>
#include <string.h>

/* A KiB value as whole KiB: an integral value takes 1-4 bytes of the row
 * instead of a REAL's 8 (SQLite stores integral values of REAL columns as
 * integers), and fractions of a KiB mean nothing in the audit. */
static void
bind_kib (sqlite3_stmt *s, int i, double v)
{
        if (isnan (v))
                sqlite3_bind_null (s, i);
        else
                sqlite3_bind_int64 (s, i, llround (v));
}

static void
bind_t (sqlite3_stmt *s, int i, const char *v)
{
        if (v)
                sqlite3_bind_text (s, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null (s, i);
}

/* A statement of the hot path, prepared once per store (finalized by
 * augur_store_close()); SQLite result code. */
static int
prepare_once (AugurStore *st, sqlite3_stmt **stmt, const char *sql)
{
        if (*stmt)
                return SQLITE_OK;
        return sqlite3_prepare_v3 (st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
}

gboolean
augur_store_write_decisions (AugurStore *st, const AugurDecisionRow *rows, gsize n,
                             GError **error)
{
        static const char sql[] =
                "INSERT INTO decisions_recent (id, ts_ms, domain_id, mode, policy, model, mem_used_kib, "
                "mem_alloc_kib, cpu_cores_used, vcpus_online, horizon_s, mem_p50_kib, mem_upper_kib, "
                "cpu_p50_cores, cpu_upper_cores, mem_target_kib, vcpus_target, mem_action, cpu_action, "
                "mem_reason, cpu_reason, mem_veto, cpu_veto, note) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
        sqlite3_stmt *s;
        gint64 id = st->next_decision_id;
        int rc;

        if (n == 0)
                return TRUE;
        rc = prepare_once (st, &st->ins_decision, sql);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "preparing decisions");
                return FALSE;
        }
        s = st->ins_decision;
        if (!augur_store_txn_begin (st, error))
                return FALSE;
        for (gsize k = 0; rc == SQLITE_OK && k < n; k++) {
                const AugurDecisionRow *r = &rows[k];
                gboolean created;
                DomainCache *dc = augur_store_resolve_domain (st, r->uuid, r->name, "libvirt",
                                                              -1, r->ts_ms, &created, error);
                int i = 1;

                if (!dc) {
                        augur_store_txn_rollback (st);
                        return FALSE;
                }
                sqlite3_bind_int64 (s, i++, id++);
                sqlite3_bind_int64 (s, i++, r->ts_ms);
                sqlite3_bind_int64 (s, i++, dc->id);
                bind_t (s, i++, r->mode);
                bind_t (s, i++, r->policy);
                bind_t (s, i++, r->model);
                bind_kib (s, i++, r->mem_used_kib);
                bind_kib (s, i++, r->mem_alloc_kib);
                augur_store_bind_double_or_null (s, i++, r->cpu_cores_used);
                augur_store_bind_int_or_null (s, i++, r->vcpus_online);
                augur_store_bind_double_or_null (s, i++, r->horizon_s);
                bind_kib (s, i++, r->mem_p50_kib);
                bind_kib (s, i++, r->mem_upper_kib);
                augur_store_bind_double_or_null (s, i++, r->cpu_p50_cores);
                augur_store_bind_double_or_null (s, i++, r->cpu_upper_cores);
                bind_kib (s, i++, r->mem_target_kib);
                augur_store_bind_int_or_null (s, i++, r->vcpus_target);
                bind_t (s, i++, r->mem_action ? r->mem_action : "none");
                bind_t (s, i++, r->cpu_action ? r->cpu_action : "none");
                bind_t (s, i++, r->mem_reason ? r->mem_reason : "none");
                bind_t (s, i++, r->cpu_reason ? r->cpu_reason : "none");
                bind_t (s, i++, r->mem_veto ? r->mem_veto : "none");
                bind_t (s, i++, r->cpu_veto ? r->cpu_veto : "none");
                bind_t (s, i++, r->note[0] ? r->note : NULL);
                rc = sqlite3_step (s);
                sqlite3_reset (s);
                rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "writing decisions");
                augur_store_txn_rollback (st);
                return FALSE;
        }
        if (!augur_store_txn_commit (st, error))
                return FALSE;
        /* Inside an open tick that may still roll back: the ids are then
         * skipped, never reused (ids only need to be unique and ordered). */
        st->next_decision_id = id;
        return TRUE;
}

static gint64
write_actuation (AugurStore *st, gint64 ts_ms, const char *uuid, const char *name, const char *kind,
                 const char *device, double from_value, double to_value, const char *reason, GError **error)
{
        sqlite3_stmt *s = NULL;
        DomainCache *dc;
        gboolean created;
        gint64 id = -1;
        int rc;

        if (!augur_store_txn_begin (st, error))
                return -1;
        dc = augur_store_resolve_domain (st, uuid, name, "libvirt", -1, ts_ms, &created, error);
        if (!dc) {
                augur_store_txn_rollback (st);
                return -1;
        }
        rc = sqlite3_prepare_v2 (st->db, "INSERT INTO actuations (ts_ms, domain_id, kind, from_value, to_value, "
                                 "device, reason) VALUES (?,?,?,?,?,?,?)", -1, &s, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_int64 (s, 1, ts_ms);
                sqlite3_bind_int64 (s, 2, dc->id);
                sqlite3_bind_text (s, 3, kind, -1, SQLITE_STATIC);
                augur_store_bind_double_or_null (s, 4, from_value);
                augur_store_bind_double_or_null (s, 5, to_value);
                sqlite3_bind_text (s, 6, device, -1, SQLITE_STATIC);
                sqlite3_bind_text (s, 7, reason, -1, SQLITE_STATIC);
                rc = sqlite3_step (s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (st->db);
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "writing actuation");
                augur_store_txn_rollback (st);
                return -1;
        }
        id = sqlite3_last_insert_rowid (st->db);
        if (!augur_store_txn_commit (st, error))
                return -1;
        return id;
}

gint64
augur_store_write_actuation (AugurStore *st, gint64 ts_ms, const char *uuid,
                             const char *name, const char *kind, double from_value,
                             double to_value, GError **error)
{
        return write_actuation (st, ts_ms, uuid, name, kind, NULL, from_value, to_value, NULL, error);
}

gint64
augur_store_write_io_actuation (AugurStore *st, gint64 ts_ms, const char *uuid, const char *name,
                                const char *kind, const char *device, double from_bps, double to_bps,
                                const char *reason, GError **error)
{
        return write_actuation (st, ts_ms, uuid, name, kind, device, from_bps, to_bps, reason, error);
}

gboolean
augur_store_set_actuation_latency (AugurStore *st, gint64 id, gint64 latency_ms,
                                   GError **error)
{
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, "UPDATE actuations SET latency_ms = ? WHERE id = ?",
                                     -1, &s, NULL);

        if (rc == SQLITE_OK) {
                sqlite3_bind_int64 (s, 1, latency_ms);
                sqlite3_bind_int64 (s, 2, id);
                rc = sqlite3_step (s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (st->db);
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "recording latency");
                return FALSE;
        }
        return TRUE;
}

static const char *
intern_col (sqlite3_stmt *s, int i)
{
        const char *t = (const char *) sqlite3_column_text (s, i);

        return t ? g_intern_string (t) : NULL;
}

GArray *
augur_store_decisions (AugurStore *st, gint64 domain_id, gint64 from_ms, gint64 to_ms,
                       guint limit, GError **error)
{
        /* One domain: "x.domain_id = ?1" reaches each table's index through
         * the view; "?1 < 0 OR ..." would scan them. */
        static const char sql_fmt[] =
                "SELECT * FROM (SELECT x.ts_ms, x.domain_id, d.uuid, d.name, x.mode, x.policy, x.model, "
                "x.mem_used_kib, x.mem_alloc_kib, x.cpu_cores_used, x.vcpus_online, x.horizon_s, "
                "x.mem_p50_kib, x.mem_upper_kib, x.cpu_p50_cores, x.cpu_upper_cores, x.mem_target_kib, "
                "x.vcpus_target, x.mem_action, x.cpu_action, x.mem_reason, x.cpu_reason, x.mem_veto, "
                "x.cpu_veto, x.note, x.id FROM decisions x JOIN domains d ON d.id = x.domain_id "
                "WHERE %s x.ts_ms BETWEEN ?2 AND ?3 "
                "ORDER BY x.id DESC LIMIT ?4) ORDER BY id";
        g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (AugurDecisionRow));
        g_autofree char *sql = g_strdup_printf (sql_fmt, domain_id >= 0 ? "x.domain_id = ?1 AND" : "");
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "reading decisions");
                return NULL;
        }
        sqlite3_bind_int64 (s, 1, domain_id);
        sqlite3_bind_int64 (s, 2, from_ms);
        sqlite3_bind_int64 (s, 3, to_ms);
        sqlite3_bind_int64 (s, 4, limit ? (gint64) limit : -1);
        while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                AugurDecisionRow r = { 0 };
                int i = 0;

#define D() (sqlite3_column_type (s, i) == SQLITE_NULL ? (i++, NAN) : sqlite3_column_double (s, i++))
#define I() (sqlite3_column_type (s, i) == SQLITE_NULL ? (i++, -1) : sqlite3_column_int (s, i++))
                r.ts_ms = sqlite3_column_int64 (s, i++);
                r.domain_id = sqlite3_column_int64 (s, i++);
                g_strlcpy (r.uuid, (const char *) sqlite3_column_text (s, i++), sizeof r.uuid);
                g_strlcpy (r.name, (const char *) sqlite3_column_text (s, i++), sizeof r.name);
                r.mode = intern_col (s, i++);
                r.policy = intern_col (s, i++);
                r.model = intern_col (s, i++);
                r.mem_used_kib = D ();
                r.mem_alloc_kib = D ();
                r.cpu_cores_used = D ();
                r.vcpus_online = I ();
                r.horizon_s = D ();
                r.mem_p50_kib = D ();
                r.mem_upper_kib = D ();
                r.cpu_p50_cores = D ();
                r.cpu_upper_cores = D ();
                r.mem_target_kib = D ();
                r.vcpus_target = I ();
                r.mem_action = intern_col (s, i++);
                r.cpu_action = intern_col (s, i++);
                r.mem_reason = intern_col (s, i++);
                r.cpu_reason = intern_col (s, i++);
                r.mem_veto = intern_col (s, i++);
                r.cpu_veto = intern_col (s, i++);
                if (sqlite3_column_type (s, i) != SQLITE_NULL)
                        g_strlcpy (r.note, (const char *) sqlite3_column_text (s, i), sizeof r.note);
#undef D
#undef I
                g_array_append_val (out, r);
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "reading decisions");
                return NULL;
        }
        return g_steal_pointer (&out);
}

/* FORECASTS ROW FORMAT (migrations/006-tick-audit.sql): horizons is a
 * BLOB of 4 x H float32, little-endian, series after series in the order
 * below (NaN = none); H = its length / 16.  It was JSON text before: about
 * 120 bytes per horizon printed with four %.3f per VM and tick, 1.4 KiB
 * rows rewritten for every VM every tick, the largest write of a tick. */
#define FORECAST_SERIES 4
static const char *const forecast_series[FORECAST_SERIES] = {
        "mem_p50_kib", "mem_upper_kib", "cpu_p50_cores", "cpu_upper_cores",
};

gboolean
augur_store_write_forecast (AugurStore *st, gint64 ts_ms, const char *uuid, const char *name,
                            const char *model, double step_s, guint H,
                            const float *mem_p50_kib, const float *mem_upper_kib,
                            const float *cpu_p50_cores, const float *cpu_upper_cores,
                            GError **error)
{
        const float *series[FORECAST_SERIES] = { mem_p50_kib, mem_upper_kib, cpu_p50_cores, cpu_upper_cores };
        guint32 blob[FORECAST_SERIES * AUGUR_STORE_FORECAST_MAX_H];
        sqlite3_stmt *s;
        DomainCache *dc;
        gboolean created;
        int rc;

        g_return_val_if_fail (H <= AUGUR_STORE_FORECAST_MAX_H, FALSE);
        for (guint k = 0; k < FORECAST_SERIES; k++)
                for (guint h = 0; h < H; h++) {
                        guint32 bits;

                        memcpy (&bits, &series[k][h], sizeof bits);
                        blob[k * H + h] = GUINT32_TO_LE (bits);
                }
        rc = prepare_once (st, &st->upsert_forecast,
                           "INSERT OR REPLACE INTO forecasts (domain_id, ts_ms, model, step_s, horizons) "
                           "VALUES (?,?,?,?,?)");
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "preparing forecast");
                return FALSE;
        }
        s = st->upsert_forecast;
        if (!augur_store_txn_begin (st, error))
                return FALSE;
        dc = augur_store_resolve_domain (st, uuid, name, "libvirt", -1, ts_ms, &created, error);
        if (!dc) {
                augur_store_txn_rollback (st);
                return FALSE;
        }
        sqlite3_bind_int64 (s, 1, dc->id);
        sqlite3_bind_int64 (s, 2, ts_ms);
        bind_t (s, 3, model);
        sqlite3_bind_double (s, 4, step_s);
        sqlite3_bind_blob (s, 5, blob, (int) (FORECAST_SERIES * H * sizeof blob[0]), SQLITE_STATIC);
        rc = sqlite3_step (s);
        sqlite3_reset (s);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "writing forecast");
                augur_store_txn_rollback (st);
                return FALSE;
        }
        return augur_store_txn_commit (st, error);
}

gboolean
augur_store_read_forecast (AugurStore *st, gint64 domain_id, gint64 *ret_ts_ms,
                           char **ret_model, double *ret_step_s, char **ret_horizons_json,
                           GError **error)
{
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, "SELECT ts_ms, model, step_s, horizons FROM forecasts WHERE domain_id = ?",
                                     -1, &s, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "reading forecast");
                return FALSE;
        }
        sqlite3_bind_int64 (s, 1, domain_id);
        rc = sqlite3_step (s);
        if (rc != SQLITE_ROW) {
                sqlite3_finalize (s);
                g_set_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_NOT_FOUND,
                             "no forecast recorded for this domain yet");
                return FALSE;
        }
        {
                const guint32 *blob = sqlite3_column_blob (s, 3);
                guint H = (guint) sqlite3_column_bytes (s, 3) / (FORECAST_SERIES * sizeof (guint32));
                double step_s = sqlite3_column_double (s, 2);
                g_autoptr(GString) j = g_string_new ("[");

                for (guint h = 0; h < H; h++) {
                        g_string_append_printf (j, "%s{\"h\":%u,\"s\":%.1f", h ? "," : "", h + 1, (h + 1) * step_s);
                        for (guint k = 0; k < FORECAST_SERIES; k++) {
                                guint32 bits;
                                float v;

                                memcpy (&bits, &blob[k * H + h], sizeof bits);
                                bits = GUINT32_FROM_LE (bits);
                                memcpy (&v, &bits, sizeof v);
                                if (isnan (v))
                                        g_string_append_printf (j, ",\"%s\":null", forecast_series[k]);
                                else
                                        g_string_append_printf (j, ",\"%s\":%.3f", forecast_series[k], v);
                        }
                        g_string_append_c (j, '}');
                }
                g_string_append_c (j, ']');
                *ret_ts_ms = sqlite3_column_int64 (s, 0);
                *ret_model = g_strdup ((const char *) sqlite3_column_text (s, 1));
                *ret_step_s = step_s;
                *ret_horizons_json = g_string_free (g_steal_pointer (&j), FALSE);
        }
        sqlite3_finalize (s);
        return TRUE;
}

GArray *
augur_store_actuations (AugurStore *st, gint64 domain_id, gint64 from_ms, gint64 to_ms,
                        guint limit, GError **error)
{
        static const char sql[] =
                "SELECT * FROM (SELECT ts_ms, domain_id, kind, from_value, to_value, latency_ms, device, reason, id "
                "FROM actuations WHERE (?1 < 0 OR domain_id = ?1) AND ts_ms BETWEEN ?2 AND ?3 "
                "ORDER BY id DESC LIMIT ?4) ORDER BY id";
        g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (AugurActuationRow));
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "reading actuations");
                return NULL;
        }
        sqlite3_bind_int64 (s, 1, domain_id);
        sqlite3_bind_int64 (s, 2, from_ms);
        sqlite3_bind_int64 (s, 3, to_ms);
        sqlite3_bind_int64 (s, 4, limit ? (gint64) limit : -1);
        while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                AugurActuationRow r = { 0 };

                r.ts_ms = sqlite3_column_int64 (s, 0);
                r.domain_id = sqlite3_column_int64 (s, 1);
                r.kind = intern_col (s, 2);
                r.from_value = augur_store_column_double_or_nan (s, 3);
                r.to_value = augur_store_column_double_or_nan (s, 4);
                r.latency_ms = sqlite3_column_type (s, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64 (s, 5);
                r.device = sqlite3_column_type (s, 6) == SQLITE_NULL ? NULL : intern_col (s, 6);
                r.reason = sqlite3_column_type (s, 7) == SQLITE_NULL ? NULL : intern_col (s, 7);
                g_array_append_val (out, r);
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_DONE) {
                augur_store_set_sql_error (st, rc, error, "reading actuations");
                return NULL;
        }
        return g_steal_pointer (&out);
}
