/* store-retrain.c — the retrain_runs and retrain_vm tables (see
 * store-retrain.h and migrations/005-retrain.sql). */
#include "config.h"

#include "store-retrain.h"
#include "store-private.h"

#include <math.h>
#include <string.h>

static void
bind_t (sqlite3_stmt *s, int i, const char *v)
{
        if (v && *v)
                sqlite3_bind_text (s, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null (s, i);
}

static int
col_v (sqlite3_stmt *s, int i)
{
        return sqlite3_column_type (s, i) == SQLITE_NULL ? -1 : sqlite3_column_int (s, i);
}

static void
col_t (sqlite3_stmt *s, int i, char *out, gsize size)
{
        const char *t = (const char *) sqlite3_column_text (s, i);

        g_strlcpy (out, t ? t : "", size);
}

gboolean
augur_store_write_retrain_run (AugurStore *st, const AugurRetrainRunRow *r,
                               const AugurRetrainVmRow *vms, gsize n_vms,
                               gint64 *ret_id, GError **error)
{
        static const char run_sql[] =
                "INSERT INTO retrain_runs (started_ms, finished_ms, outcome, reason, detail, "
                "serving_version, candidate_version, gate_version, model_path, n_vms, n_points, "
                "train_seconds, epochs, candidate_mae, serving_mae, baseline_mae, baseline) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
        static const char vm_sql[] =
                "INSERT OR REPLACE INTO retrain_vm (run_id, uuid, name, n_points, candidate_mae, "
                "serving_mae, baseline_mae, baseline, model_beats_baselines) VALUES (?,?,?,?,?,?,?,?,?)";
        sqlite3_stmt *s = NULL;
        gint64 id;
        int rc, i = 1;

        if (!augur_store_exec (st, "BEGIN IMMEDIATE", error))
                return FALSE;
        rc = sqlite3_prepare_v2 (st->db, run_sql, -1, &s, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_int64 (s, i++, r->started_ms);
                sqlite3_bind_int64 (s, i++, r->finished_ms);
                bind_t (s, i++, r->outcome);
                bind_t (s, i++, r->reason);
                bind_t (s, i++, r->detail);
                augur_store_bind_int_or_null (s, i++, r->serving_version);
                augur_store_bind_int_or_null (s, i++, r->candidate_version);
                augur_store_bind_int_or_null (s, i++, r->gate_version);
                bind_t (s, i++, r->model_path);
                sqlite3_bind_int (s, i++, r->n_vms);
                sqlite3_bind_int64 (s, i++, r->n_points);
                augur_store_bind_double_or_null (s, i++, r->train_seconds);
                sqlite3_bind_int (s, i++, r->epochs);
                augur_store_bind_double_or_null (s, i++, r->candidate_mae);
                augur_store_bind_double_or_null (s, i++, r->serving_mae);
                augur_store_bind_double_or_null (s, i++, r->baseline_mae);
                bind_t (s, i++, r->baseline);
                rc = sqlite3_step (s);
                rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize (s);
        s = NULL;
        id = sqlite3_last_insert_rowid (st->db);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2 (st->db, vm_sql, -1, &s, NULL);
        for (gsize k = 0; rc == SQLITE_OK && k < n_vms; k++) {
                const AugurRetrainVmRow *v = &vms[k];

                i = 1;
                sqlite3_reset (s);
                sqlite3_bind_int64 (s, i++, id);
                bind_t (s, i++, v->uuid);
                sqlite3_bind_text (s, i++, v->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64 (s, i++, v->n_points);
                augur_store_bind_double_or_null (s, i++, v->candidate_mae);
                augur_store_bind_double_or_null (s, i++, v->serving_mae);
                augur_store_bind_double_or_null (s, i++, v->baseline_mae);
                bind_t (s, i++, v->baseline);
                sqlite3_bind_int (s, i++, v->model_beats_baselines ? 1 : 0);
                rc = sqlite3_step (s);
                rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "recording a retraining run");
                sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                return FALSE;
        }
        if (!augur_store_exec (st, "COMMIT", error)) {
                sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
                return FALSE;
        }
        if (ret_id)
                *ret_id = id;
        return TRUE;
}

GArray *
augur_store_retrain_runs (AugurStore *st, guint limit, GError **error)
{
        static const char sql[] =
                "SELECT id, started_ms, finished_ms, outcome, reason, detail, serving_version, "
                "candidate_version, gate_version, model_path, n_vms, n_points, train_seconds, epochs, "
                "candidate_mae, serving_mae, baseline_mae, baseline FROM retrain_runs "
                "ORDER BY started_ms DESC, id DESC LIMIT ?";
        g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (AugurRetrainRunRow));
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);

        if (rc == SQLITE_OK) {
                sqlite3_bind_int64 (s, 1, limit ? (gint64) limit : G_MAXINT64);
                while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                        AugurRetrainRunRow r = { 0 };
                        int i = 0;

                        r.id = sqlite3_column_int64 (s, i++);
                        r.started_ms = sqlite3_column_int64 (s, i++);
                        r.finished_ms = sqlite3_column_int64 (s, i++);
                        col_t (s, i++, r.outcome, sizeof r.outcome);
                        col_t (s, i++, r.reason, sizeof r.reason);
                        col_t (s, i++, r.detail, sizeof r.detail);
                        r.serving_version = col_v (s, i++);
                        r.candidate_version = col_v (s, i++);
                        r.gate_version = col_v (s, i++);
                        col_t (s, i++, r.model_path, sizeof r.model_path);
                        r.n_vms = sqlite3_column_int (s, i++);
                        r.n_points = sqlite3_column_int64 (s, i++);
                        r.train_seconds = augur_store_column_double_or_nan (s, i++);
                        r.epochs = sqlite3_column_int (s, i++);
                        r.candidate_mae = augur_store_column_double_or_nan (s, i++);
                        r.serving_mae = augur_store_column_double_or_nan (s, i++);
                        r.baseline_mae = augur_store_column_double_or_nan (s, i++);
                        col_t (s, i++, r.baseline, sizeof r.baseline);
                        g_array_append_val (out, r);
                }
                rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "reading retraining runs");
                return NULL;
        }
        return g_steal_pointer (&out);
}

GArray *
augur_store_retrain_vms (AugurStore *st, gint64 run_id, GError **error)
{
        static const char sql[] =
                "SELECT uuid, name, n_points, candidate_mae, serving_mae, baseline_mae, baseline, "
                "model_beats_baselines FROM retrain_vm WHERE run_id = ? ORDER BY name";
        g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (AugurRetrainVmRow));
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);

        if (rc == SQLITE_OK) {
                sqlite3_bind_int64 (s, 1, run_id);
                while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                        AugurRetrainVmRow v = { 0 };

                        col_t (s, 0, v.uuid, sizeof v.uuid);
                        col_t (s, 1, v.name, sizeof v.name);
                        v.n_points = sqlite3_column_int64 (s, 2);
                        v.candidate_mae = augur_store_column_double_or_nan (s, 3);
                        v.serving_mae = augur_store_column_double_or_nan (s, 4);
                        v.baseline_mae = augur_store_column_double_or_nan (s, 5);
                        col_t (s, 6, v.baseline, sizeof v.baseline);
                        v.model_beats_baselines = sqlite3_column_int (s, 7) != 0;
                        g_array_append_val (out, v);
                }
                rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize (s);
        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "reading retraining results");
                return NULL;
        }
        return g_steal_pointer (&out);
}
