/* test-retrain.c — plugin/retrain.c: the promotion decision, the model
 * files (atomic promotion, a corrupt candidate never replaces the serving
 * model, rollback at start), one whole run on a store filled from the
 * in-repo Bitbrains trace (model/data/bitbrains), the hot swap into the
 * forecaster and the run record in the store.
 *
 *   /retrain/decide             the decision table, boundaries in threes
 *   /retrain/score              a score is the model as it serves (the
 *                               gated row), not the raw int NN, pooled by
 *                               points over cpu and mem; baselines by name
 *   /retrain/files/promote      versions, link, pruning, corrupt candidate,
 *                               rollback when the serving file is damaged
 *   /retrain/run/promote        a sabotaged serving model is replaced by
 *                               the candidate, trained in its shape (an
 *                               LSTM, window 8, 6 horizons); the record
 *                               and the swap
 *   /retrain/holdout            no peeking: the training cut is eval's test split
 *   /retrain/store              the run record round-trips (NULL = -1 / NAN)
 *   /retrain/gate               the auto gate from held-out verdicts
 *   /retrain/gate/from-store    at start: the newest run's verdicts, enough
 *                               points only, for the serving version only
 *   /retrain/run/no-history     min_history above every VM: skipped
 *   /retrain/run/cancel         the cancel flag stops the run
 *
 * Training here is tiny (hidden 8, a few thousand windows): these tests
 * check the plumbing and the decision, not the model's accuracy. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "retrain.h"
#include "store-retrain.h"
#include "trace.h"
#include "util.h"

/* Warnings are counted, not fatal: rollback warns on purpose, and the
 * test checks that it did (messages matching "rolling back"). */
static guint n_warnings, n_rollback_warnings;

static GLogWriterOutput
count_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        if (level & G_LOG_LEVEL_WARNING) {
                n_warnings++;
                for (gsize i = 0; i < n_fields; i++)
                        if (strcmp (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0 &&
                            strstr (fields[i].value, "rolling back"))
                                n_rollback_warnings++;
        }
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return g_log_writer_standard_streams (level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
}

typedef struct {
        char *dir;
        char *db;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;

        f->dir = g_dir_make_tmp ("augur-retrain-XXXXXX", &error);
        g_assert_no_error (error);
        f->db = g_build_filename (f->dir, "augur.db", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
        g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name (d))) {
                g_autofree char *p = g_build_filename (f->dir, name, NULL);

                g_unlink (p);
        }
        g_rmdir (f->dir);
        g_free (f->dir);
        g_free (f->db);
}

/* The first n VMs of the in-repo Bitbrains trace. */
static GPtrArray *
read_trace (guint n)
{
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "model", "data", "bitbrains", NULL);
        g_autoptr(GError) error = NULL;
        AugurTraceOpts opts = { 0 };
        GPtrArray *series;

        opts.max_series = n;
        series = augur_trace_read (path, AUGUR_TRACE_FORMAT_BITBRAINS, &opts, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (series->len, ==, n);
        return series;
}

static void
import_trace (const char *db, guint n)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (db, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(GPtrArray) series = read_trace (n);

        g_assert_no_error (error);
        for (guint i = 0; i < series->len; i++) {
                gsize rows = 0;

                g_assert_true (augur_store_import_series (st, g_ptr_array_index (series, i), "test",
                                                          &rows, &error));
                g_assert_no_error (error);
                g_assert_cmpuint (rows, >, 1000);
        }
}

static void
tiny_train_config (AugurTrainConfig *cfg)
{
        augur_train_config_init (cfg);
        cfg->hidden = 8;
        cfg->epochs = 3;
        cfg->windows_per_epoch = 4096;
        cfg->val_windows = 2048;
        cfg->time_budget_s = 10;
}

/* A small model of the given shape trained on one VM of the trace
 * (transfer full). */
static AugurModel *
tiny_model_shaped (AugurArch arch, guint T, guint H)
{
        g_autoptr(GPtrArray) series = read_trace (1);
        g_autoptr(AugurDataset) ds = NULL;
        g_autoptr(GError) error = NULL;
        AugurTrainConfig cfg;
        AugurFeatConfig feat;
        AugurModel *m;

        tiny_train_config (&cfg);
        cfg.arch = arch;
        cfg.T = T;
        cfg.H = H;
        cfg.epochs = 1;
        cfg.windows_per_epoch = 512;
        augur_features_config_init (&feat);
        ds = augur_dataset_prepare (series, &feat, AUGUR_SPLIT_BY_TIME, TRUE);
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        return m;
}

static AugurModel *
tiny_model (void)
{
        AugurTrainConfig cfg;

        tiny_train_config (&cfg);
        return tiny_model_shaped (cfg.arch, cfg.T, cfg.H);
}

/* ------------------------------------------------------------ decide */

static void
add_row (GArray *rows, AugurTarget t, guint h, const char *model, guint64 n, double mae)
{
        AugurEvalRow r = { .target = t, .h = h, .n = n, .mae = mae };

        g_strlcpy (r.model, model, sizeof r.model);
        g_array_append_val (rows, r);
}

static void
test_score (void)
{
        g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurEvalRow));
        guint64 n = 0;

        /* The raw NN loses at cpu h=1 where its gate serves last value. */
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "gru_float", 100, 3.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "gru_int", 100, 3.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "gru_gated", 100, 2.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "last_value", 100, 2.0);
        add_row (rows, AUGUR_TARGET_MEM_PCT, 1, "gru_int", 300, 1.0);
        add_row (rows, AUGUR_TARGET_MEM_PCT, 1, "gru_gated", 300, 1.0);
        add_row (rows, AUGUR_TARGET_MEM_PCT, 1, "last_value", 300, 1.5);
        /* Not scored: disk, and an empty row. */
        add_row (rows, AUGUR_TARGET_DISK_KIBPS, 1, "gru_gated", 100, 50.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 2, "gru_gated", 0, NAN);

        g_assert_cmpfloat_with_epsilon (augur_retrain_pooled_mae (rows, NULL, &n), (2.0 * 100 + 1.0 * 300) / 400, 1e-12);
        g_assert_cmpuint (n, ==, 400);
        g_assert_cmpfloat_with_epsilon (augur_retrain_pooled_mae (rows, "last_value", &n), (2.0 * 100 + 1.5 * 300) / 400, 1e-12);
        g_assert_cmpfloat_with_epsilon (augur_retrain_pooled_mae (rows, "gru_int", NULL), (3.0 * 100 + 1.0 * 300) / 400, 1e-12);
        g_assert_true (isnan (augur_retrain_pooled_mae (rows, "ewma", &n)));
        g_assert_cmpuint (n, ==, 0);
}

static void
test_decide (void)
{
        static const struct {
                double cand, serving, baseline, gain;
                AugurRetrainReason want;
        } rows[] = {
                /* serving model scored: min_gain 1 % -> threshold 1.98 */
                { 1.97, 2.0, 1.0, 0.01, AUGUR_RETRAIN_BEATS_SERVING },    /* N-1 */
                { 1.98, 2.0, 1.0, 0.01, AUGUR_RETRAIN_NOT_BETTER },       /* N: not strictly */
                { 1.99, 2.0, 1.0, 0.01, AUGUR_RETRAIN_NOT_BETTER },       /* N+1 */
                { 2.00, 2.0, 9.0, 0.00, AUGUR_RETRAIN_NOT_BETTER },       /* a tie keeps serving */
                { 1.99, 2.0, 9.0, 0.00, AUGUR_RETRAIN_BEATS_SERVING },
                /* the baselines do not decide when a model serves */
                { 1.5, 2.0, 0.5, 0.01, AUGUR_RETRAIN_BEATS_SERVING },
                /* no serving score: against the best baseline */
                { 0.97, NAN, 1.0, 0.02, AUGUR_RETRAIN_BEATS_BASELINES },
                { 0.98, NAN, 1.0, 0.02, AUGUR_RETRAIN_BASELINES_BETTER },
                { 0.99, NAN, 1.0, 0.02, AUGUR_RETRAIN_BASELINES_BETTER },
                { 1.0, NAN, NAN, 0.01, AUGUR_RETRAIN_NO_SCORE },
                { NAN, 2.0, 1.0, 0.01, AUGUR_RETRAIN_NO_SCORE },
                { INFINITY, 2.0, 1.0, 0.01, AUGUR_RETRAIN_NO_SCORE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurRetrainReason got = augur_retrain_decide (rows[i].cand, rows[i].serving,
                                                               rows[i].baseline, rows[i].gain);

                g_test_message ("row %zu: got %s want %s", i, augur_retrain_reason_name (got),
                                augur_retrain_reason_name (rows[i].want));
                g_assert_cmpint (got, ==, rows[i].want);
        }
        g_assert_cmpstr (augur_retrain_reason_outcome (AUGUR_RETRAIN_BEATS_SERVING), ==, "promoted");
        g_assert_cmpstr (augur_retrain_reason_outcome (AUGUR_RETRAIN_NOT_BETTER), ==, "rejected");
        g_assert_cmpstr (augur_retrain_reason_outcome (AUGUR_RETRAIN_NO_HISTORY), ==, "skipped");
        g_assert_cmpstr (augur_retrain_reason_outcome (AUGUR_RETRAIN_CORRUPT), ==, "failed");
}

/* ------------------------------------------------------------- files */

static char *
link_target (const char *dir)
{
        g_autofree char *link = g_build_filename (dir, AUGUR_RETRAIN_LINK, NULL);

        return g_file_read_link (link, NULL);
}

static void
flip_byte (const char *path, gsize at)
{
        g_autofree char *data = NULL;
        gsize len;

        g_assert_true (g_file_get_contents (path, &data, &len, NULL));
        g_assert_cmpuint (len, >, at);
        data[at] ^= 0x5a;
        g_assert_true (g_file_set_contents (path, data, len, NULL));
}

static void
test_files (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurModel) m = tiny_model ();
        g_autoptr(GError) error = NULL;
        g_autofree char *serving = NULL;
        int version = -1;

        g_assert_null (augur_retrain_find_serving (f->dir, &version));
        g_assert_cmpint (version, ==, -1);            /* untouched when none */
        g_assert_cmpint (augur_retrain_latest_version (f->dir), ==, 0);

        /* v1, v2: each promotion points the link at the new file */
        for (int v = 1; v <= 2; v++) {
                g_autofree char *path = augur_retrain_write_candidate (f->dir, m, v, &error);
                g_autoptr(AugurModel) loaded = NULL;
                g_autofree char *target = NULL;
                g_autofree char *want = g_strdup_printf ("augur-model-%d.augur", v);

                g_assert_no_error (error);
                loaded = augur_retrain_promote_file (f->dir, path, v, &error);
                g_assert_no_error (error);
                g_assert_nonnull (loaded);
                g_assert_cmpuint (loaded->F, ==, m->F);
                target = link_target (f->dir);
                g_assert_cmpstr (target, ==, want);
        }
        g_assert_cmpint (augur_retrain_latest_version (f->dir), ==, 2);

        /* v3 is corrupt on disk (one byte of the weights): promotion
         * refuses it, deletes it, and the link still names v2 */
        {
                g_autofree char *path = augur_retrain_write_candidate (f->dir, m, 3, &error);
                g_autoptr(AugurModel) loaded = NULL;
                g_autofree char *target = NULL;

                g_assert_no_error (error);
                flip_byte (path, 200);
                loaded = augur_retrain_promote_file (f->dir, path, 3, &error);
                g_assert_null (loaded);
                g_assert_nonnull (error);
                g_test_message ("corrupt candidate: %s", error->message);
                g_assert_nonnull (strstr (error->message, "does not load back"));
                g_clear_error (&error);
                g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
                target = link_target (f->dir);
                g_assert_cmpstr (target, ==, "augur-model-2.augur");
                serving = augur_retrain_find_serving (f->dir, &version);
                g_assert_nonnull (serving);
                g_assert_cmpint (version, ==, 2);
                g_clear_pointer (&serving, g_free);
        }

        /* the serving v2 gets damaged: at start the previous version serves
         * and the link is pointed back at it */
        {
                g_autofree char *v2 = g_build_filename (f->dir, "augur-model-2.augur", NULL);
                g_autofree char *target = NULL;

                flip_byte (v2, 200);
                n_rollback_warnings = 0;
                serving = augur_retrain_find_serving (f->dir, &version);
                g_assert_cmpuint (n_rollback_warnings, ==, 1);
                g_assert_nonnull (serving);
                g_assert_cmpint (version, ==, 1);
                g_assert_true (g_str_has_suffix (serving, "augur-model-1.augur"));
                target = link_target (f->dir);
                g_assert_cmpstr (target, ==, "augur-model-1.augur");
                g_clear_pointer (&serving, g_free);
        }

        /* promoting v4 keeps v3's predecessor slot: versions < 3 go */
        {
                g_autofree char *path = augur_retrain_write_candidate (f->dir, m, 4, &error);
                g_autoptr(AugurModel) loaded = NULL;
                g_autofree char *v1 = g_build_filename (f->dir, "augur-model-1.augur", NULL);

                g_assert_no_error (error);
                loaded = augur_retrain_promote_file (f->dir, path, 4, &error);
                g_assert_no_error (error);
                g_assert_false (g_file_test (v1, G_FILE_TEST_EXISTS));
                g_assert_cmpint (augur_retrain_latest_version (f->dir), ==, 4);
        }
}

/* --------------------------------------------------------------- run */

/* Shift every output of m by +20 target scales and serve the NN
 * everywhere (no validation gate): a model that is far off where it serves. */
static void
sabotage (AugurModel *m)
{
        memset (m->serve, 0, sizeof m->serve);
        for (guint o = 0; o < m->nn->cfg.n_out; o++)
                m->nn->params.by[o] += 20.0f;
        augur_nnq_free (m->nnq);
        m->nnq = augur_nnq_from_float (m->nn);
}

static void
test_run_promote (Fixture *f, gconstpointer data)
{
        /* Not train's default shape (GRU, window 12, 12 horizons): the
         * candidate must take the serving model's. */
        g_autoptr(AugurModel) bad = tiny_model_shaped (AUGUR_ARCH_LSTM, 8, 6);
        g_autofree char *bad_path = g_build_filename (f->dir, "bad.augur", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurRetrainResult) res = NULL;
        g_autoptr(AugurForecaster) fc = NULL;
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GArray) runs = NULL;
        g_autoptr(GArray) vms = NULL;
        g_autofree char *serving = NULL;
        AugurRetrainParams p = { 0 };
        int version = -1;

        import_trace (f->db, 3);
        sabotage (bad);
        g_assert_true (augur_model_save (bad, bad_path, &error));
        g_assert_no_error (error);

        p.db_path = f->db;
        p.model_dir = f->dir;
        p.serving_path = bad_path;
        p.serving_version = 0;
        p.min_history_s = 86400;
        p.min_gain = 0.01;
        tiny_train_config (&p.train);
        p.now_ms = g_get_real_time () / 1000;
        res = augur_retrain_run (&p, NULL);
        g_test_message ("run: %s %s: %s", res->run.outcome, res->run.reason, res->run.detail);

        g_assert_cmpint (res->run.n_vms, ==, 3);
        g_assert_cmpuint (res->vms->len, ==, 3);
        g_assert_cmpint (res->run.n_points, >, 1000);
        /* the precondition: the sabotage made the serving model worse than
         * the baselines on the held-out slice */
        g_assert_true (isfinite (res->run.serving_mae));
        g_assert_cmpfloat (res->run.serving_mae, >, res->run.baseline_mae);
        /* the decision recorded is the decision of the recorded scores */
        g_assert_cmpint (res->reason, ==, augur_retrain_decide (res->run.candidate_mae, res->run.serving_mae,
                                                                res->run.baseline_mae, p.min_gain));
        /* and a trained model beats a model 20 target scales off */
        g_assert_cmpint (res->reason, ==, AUGUR_RETRAIN_BEATS_SERVING);
        g_assert_cmpstr (res->run.outcome, ==, "promoted");
        g_assert_cmpint (res->run.candidate_version, ==, 1);
        g_assert_cmpint (res->run.gate_version, ==, 1);
        g_assert_nonnull (res->promoted);
        g_assert_cmpint (res->promoted->nn->cfg.arch, ==, AUGUR_ARCH_LSTM);
        g_assert_cmpuint (res->promoted->T, ==, 8);
        g_assert_cmpuint (res->promoted->H, ==, 6);
        g_assert_cmpuint (res->promoted->nn->cfg.hidden, ==, bad->nn->cfg.hidden);
        g_assert_true (res->run.finished_ms >= res->run.started_ms);
        for (guint i = 0; i < res->vms->len; i++) {
                const AugurRetrainVmRow *vm = &g_array_index (res->vms, AugurRetrainVmRow, i);

                g_assert_true (augur_is_uuid (vm->uuid));
                g_assert_cmpint (vm->model_beats_baselines, ==, vm->candidate_mae < vm->baseline_mae);
        }
        serving = augur_retrain_find_serving (f->dir, &version);
        g_assert_cmpint (version, ==, 1);
        g_assert_cmpstr (serving, ==, res->run.model_path);

        /* the record */
        st = augur_store_open (f->db, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        g_assert_true (augur_store_write_retrain_run (st, &res->run, (const AugurRetrainVmRow *) res->vms->data,
                                                      res->vms->len, NULL, &error));
        g_assert_no_error (error);
        runs = augur_store_retrain_runs (st, 5, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (runs->len, ==, 1);
        g_assert_cmpstr (g_array_index (runs, AugurRetrainRunRow, 0).outcome, ==, "promoted");
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 0).candidate_version, ==, 1);
        g_assert_cmpfloat (g_array_index (runs, AugurRetrainRunRow, 0).serving_mae, ==, res->run.serving_mae);
        vms = augur_store_retrain_vms (st, g_array_index (runs, AugurRetrainRunRow, 0).id, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (vms->len, ==, 3);

        /* the hot swap: the forecaster serves the promoted file */
        fc = augur_forecaster_new (bad_path, 5.0, 0, TRUE, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpint (augur_forecaster_model_version (fc), ==, 0);
        g_assert_true (augur_forecaster_swap_model (fc, g_steal_pointer (&res->promoted), res->run.model_path,
                                                    1, &error));
        g_assert_no_error (error);
        g_assert_cmpint (augur_forecaster_model_version (fc), ==, 1);
        g_assert_cmpstr (augur_forecaster_model_path (fc), ==, res->run.model_path);
}

/* The auto gate: a held-out verdict decides where one exists, never
 * without a model, and a swap clears it (it judged another model). */
static void
test_gate (Fixture *f, gconstpointer data)
{
        static const char u1[] = "11111111-1111-1111-1111-111111111111";
        static const char u2[] = "22222222-2222-2222-2222-222222222222";
        static const char u3[] = "33333333-3333-3333-3333-333333333333";
        g_autoptr(AugurModel) m = tiny_model ();
        g_autofree char *path = g_build_filename (f->dir, "m.augur", NULL);
        g_autofree char *junk = g_build_filename (f->dir, "junk.augur", NULL);
        g_autoptr(AugurForecaster) fc = NULL;
        g_autoptr(AugurForecaster) none = NULL;
        g_autoptr(GError) error = NULL;
        AugurForecastHooks hooks = { 0 }, hooks_none = { 0 };
        GHashTable *gate;

        g_assert_true (augur_model_save (m, path, &error));
        fc = augur_forecaster_new (path, 5.0, 0, TRUE, 0, &error);
        g_assert_no_error (error);
        augur_forecaster_hooks (fc, &hooks);
        g_assert_false (hooks.model_trusted (hooks.ctx, u1));   /* no evidence yet */

        gate = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert (gate, g_strdup (u1), GINT_TO_POINTER (1));
        g_hash_table_insert (gate, g_strdup (u2), GINT_TO_POINTER (0));
        augur_forecaster_set_gate (fc, gate);
        g_assert_true (hooks.model_trusted (hooks.ctx, u1));
        g_assert_false (hooks.model_trusted (hooks.ctx, u2));
        g_assert_false (hooks.model_trusted (hooks.ctx, u3));   /* online champion: none yet */

        g_assert_true (augur_forecaster_swap_model (fc, augur_model_load (path, NULL), path, 7, &error));
        g_assert_no_error (error);
        g_assert_cmpint (augur_forecaster_model_version (fc), ==, 7);
        g_assert_false (hooks.model_trusted (hooks.ctx, u1));   /* the verdict was for the old model */

        /* baselines only: never trusted, whatever a gate says */
        g_assert_true (g_file_set_contents (junk, "not a model", -1, NULL));
        n_warnings = 0;
        none = augur_forecaster_new (junk, 5.0, 0, TRUE, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (n_warnings, ==, 1);                    /* "cannot be used" */
        g_assert_cmpint (augur_forecaster_model_version (none), ==, -1);
        g_assert_null (augur_forecaster_model_path (none));
        gate = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert (gate, g_strdup (u1), GINT_TO_POINTER (1));
        augur_forecaster_set_gate (none, gate);
        augur_forecaster_hooks (none, &hooks_none);
        g_assert_false (hooks_none.model_trusted (hooks_none.ctx, u1));
}

/* No peeking: the held-out slice starts exactly at the test split that
 * augur_forecast_eval scores, so training on the samples before it never
 * sees a scored target. */
static void
test_holdout (void)
{
        g_autoptr(GPtrArray) series = read_trace (2);

        for (guint i = 0; i < series->len; i++) {
                AugurSeries *s = g_ptr_array_index (series, i);
                g_autoptr(GPtrArray) one = g_ptr_array_new ();
                g_autoptr(AugurDataset) ds = NULL;
                const AugurVmData *d;
                AugurFeatConfig feat;
                gint64 cut = augur_retrain_holdout_start_s (s);
                gsize before = 0;

                augur_features_config_init (&feat);
                g_ptr_array_add (one, s);
                ds = augur_dataset_prepare (one, &feat, AUGUR_SPLIT_BY_TIME, TRUE);
                d = g_ptr_array_index (ds->vms, 0);
                g_test_message ("%s: cut %" G_GINT64_FORMAT ", test split from step %zu of %zu", s->vm, cut,
                                d->split_start[AUGUR_SPLIT_TEST], d->n);
                g_assert_cmpuint (d->split_start[AUGUR_SPLIT_TEST], <, d->n);
                g_assert_cmpint (d->grid->ts[d->split_start[AUGUR_SPLIT_TEST]], ==, cut);
                /* the cut falls inside the series: some rows before, some after */
                while (before < s->n && s->ts[before] < cut)
                        before++;
                g_assert_cmpuint (before, >, s->n / 2);
                g_assert_cmpuint (before, <, s->n);
        }
}

/* The record: NULL versions and scores round-trip as -1 and NAN, runs
 * come newest first, VM rows belong to their run. */
static void
test_store (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->db, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(GArray) runs = NULL;
        g_autoptr(GArray) vms = NULL;
        AugurRetrainRunRow a = { 0 }, b = { 0 };
        AugurRetrainVmRow v[2] = { { { 0 } } };
        gint64 id_a = 0, id_b = 0;

        g_assert_no_error (error);
        a.started_ms = 1000;
        a.finished_ms = 2000;
        g_strlcpy (a.outcome, "failed", sizeof a.outcome);
        g_strlcpy (a.reason, "train_failed", sizeof a.reason);
        g_strlcpy (a.detail, "reading the history: disk on fire", sizeof a.detail);
        a.serving_version = a.candidate_version = a.gate_version = -1;
        a.train_seconds = a.candidate_mae = a.serving_mae = a.baseline_mae = NAN;
        g_assert_true (augur_store_write_retrain_run (st, &a, NULL, 0, &id_a, &error));
        g_assert_no_error (error);

        b = a;
        b.started_ms = 3000;
        b.finished_ms = 4000;
        g_strlcpy (b.outcome, "promoted", sizeof b.outcome);
        g_strlcpy (b.reason, "beats_serving", sizeof b.reason);
        b.serving_version = 0;
        b.candidate_version = b.gate_version = 1;
        b.candidate_mae = 1.5;
        b.serving_mae = 2.5;
        b.baseline_mae = 2.0;
        g_strlcpy (b.baseline, "ewma", sizeof b.baseline);
        g_strlcpy (v[0].name, "vm-b", sizeof v[0].name);
        g_strlcpy (v[1].name, "vm-a", sizeof v[1].name);
        g_strlcpy (v[1].uuid, "11111111-1111-1111-1111-111111111111", sizeof v[1].uuid);
        v[0].candidate_mae = v[1].candidate_mae = 1.0;
        v[0].serving_mae = v[0].baseline_mae = NAN;
        v[1].serving_mae = 3.0;
        v[1].baseline_mae = 2.0;
        v[1].model_beats_baselines = TRUE;
        g_assert_true (augur_store_write_retrain_run (st, &b, v, 2, &id_b, &error));
        g_assert_no_error (error);
        g_assert_cmpint (id_b, >, id_a);

        runs = augur_store_retrain_runs (st, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (runs->len, ==, 2);
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 0).id, ==, id_b);
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 0).serving_version, ==, 0);
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 0).candidate_version, ==, 1);
        g_assert_cmpstr (g_array_index (runs, AugurRetrainRunRow, 0).baseline, ==, "ewma");
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 1).serving_version, ==, -1);
        g_assert_cmpint (g_array_index (runs, AugurRetrainRunRow, 1).gate_version, ==, -1);
        g_assert_true (isnan (g_array_index (runs, AugurRetrainRunRow, 1).candidate_mae));
        g_assert_cmpstr (g_array_index (runs, AugurRetrainRunRow, 1).detail, ==, a.detail);
        g_clear_pointer (&runs, g_array_unref);
        runs = augur_store_retrain_runs (st, 1, &error);
        g_assert_cmpuint (runs->len, ==, 1);

        vms = augur_store_retrain_vms (st, id_b, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (vms->len, ==, 2);
        g_assert_cmpstr (g_array_index (vms, AugurRetrainVmRow, 0).name, ==, "vm-a");   /* by name */
        g_assert_true (g_array_index (vms, AugurRetrainVmRow, 0).model_beats_baselines);
        g_assert_cmpstr (g_array_index (vms, AugurRetrainVmRow, 1).uuid, ==, "");
        g_assert_true (isnan (g_array_index (vms, AugurRetrainVmRow, 1).serving_mae));
        g_clear_pointer (&vms, g_array_unref);
        vms = augur_store_retrain_vms (st, id_a, &error);
        g_assert_cmpuint (vms->len, ==, 0);
}

/* At start augurd installs the newest run's verdicts when that run's gate
 * version is the one serving, and only for VMs scored on enough points. */
static void
test_gate_from_store (Fixture *f, gconstpointer data)
{
        static const char big[] = "11111111-1111-1111-1111-111111111111";
        static const char small[] = "22222222-2222-2222-2222-222222222222";
        g_autoptr(AugurModel) m = tiny_model ();
        g_autofree char *path = g_build_filename (f->dir, "m.augur", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->db, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(AugurForecaster) fc = NULL;
        g_autoptr(AugurRetrain) r = NULL;
        g_autofree char *running = NULL;
        g_autofree char *version = NULL;
        AugurForecastHooks hooks = { 0 };
        AugurRetrainRunRow run = { 0 };
        AugurRetrainVmRow vms[2] = { { { 0 } } };

        g_assert_no_error (error);
        g_assert_true (augur_model_save (m, path, &error));
        run.started_ms = run.finished_ms = 1000;
        g_strlcpy (run.outcome, "rejected", sizeof run.outcome);
        g_strlcpy (run.reason, "not_better", sizeof run.reason);
        run.serving_version = run.gate_version = 0;
        run.candidate_version = -1;
        g_strlcpy (vms[0].uuid, big, sizeof vms[0].uuid);
        g_strlcpy (vms[0].name, "big", sizeof vms[0].name);
        vms[0].n_points = 576;                         /* N: enough */
        vms[0].model_beats_baselines = TRUE;
        g_strlcpy (vms[1].uuid, small, sizeof vms[1].uuid);
        g_strlcpy (vms[1].name, "small", sizeof vms[1].name);
        vms[1].n_points = 575;                         /* N-1 */
        vms[1].model_beats_baselines = TRUE;
        g_assert_true (augur_store_write_retrain_run (st, &run, vms, 2, NULL, &error));
        g_assert_true (augur_store_set_meta (st, "retrain.running", "123", &error));

        fc = augur_forecaster_new (path, 5.0, 0, TRUE, 0, &error);
        g_assert_no_error (error);
        augur_forecaster_hooks (fc, &hooks);
        r = augur_retrain_new (st, fc, f->db);
        g_assert_true (hooks.model_trusted (hooks.ctx, big));
        g_assert_false (hooks.model_trusted (hooks.ctx, small));    /* champion: none yet */
        g_assert_false (augur_retrain_running (r));
        running = augur_store_get_meta (st, "retrain.running");
        g_assert_null (running);                                   /* stale mark cleared */
        version = augur_store_get_meta (st, "model.serving_version");
        g_assert_cmpstr (version, ==, "0");
        g_clear_pointer (&r, augur_retrain_free);

        /* a run that judged another version installs nothing */
        augur_forecaster_set_gate (fc, NULL);
        run.started_ms = run.finished_ms = 2000;
        run.gate_version = 5;
        g_assert_true (augur_store_write_retrain_run (st, &run, vms, 2, NULL, &error));
        r = augur_retrain_new (st, fc, f->db);
        g_assert_false (hooks.model_trusted (hooks.ctx, big));
}

static void
test_run_no_history (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurRetrainResult) res = NULL;
        AugurRetrainParams p = { 0 };

        import_trace (f->db, 1);
        p.db_path = f->db;
        p.model_dir = f->dir;
        p.serving_version = -1;
        p.min_history_s = 365 * 86400.0;               /* the trace holds a month */
        tiny_train_config (&p.train);
        res = augur_retrain_run (&p, NULL);
        g_assert_cmpint (res->reason, ==, AUGUR_RETRAIN_NO_HISTORY);
        g_assert_cmpstr (res->run.outcome, ==, "skipped");
        g_assert_null (res->promoted);
        g_assert_cmpint (augur_retrain_latest_version (f->dir), ==, 0);
}

static void
test_run_cancel (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurRetrainResult) res = NULL;
        AugurRetrainParams p = { 0 };
        gint cancel = 1;

        import_trace (f->db, 1);
        p.db_path = f->db;
        p.model_dir = f->dir;
        p.serving_version = -1;
        p.min_history_s = 86400;
        tiny_train_config (&p.train);
        p.train.epochs = 1000;                          /* only the flag stops it */
        p.train.patience = 1000;
        p.train.time_budget_s = 0;
        res = augur_retrain_run (&p, &cancel);
        g_assert_cmpint (res->reason, ==, AUGUR_RETRAIN_CANCELLED);
        g_assert_null (res->promoted);
        g_assert_cmpint (augur_retrain_latest_version (f->dir), ==, 0);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_log_set_writer_func (count_writer, NULL, NULL);
        g_test_add_func ("/retrain/decide", test_decide);
        g_test_add_func ("/retrain/score", test_score);
        g_test_add ("/retrain/files/promote", Fixture, NULL, fixture_setup, test_files, fixture_teardown);
        g_test_add ("/retrain/run/promote", Fixture, NULL, fixture_setup, test_run_promote, fixture_teardown);
        g_test_add_func ("/retrain/holdout", test_holdout);
        g_test_add ("/retrain/store", Fixture, NULL, fixture_setup, test_store, fixture_teardown);
        g_test_add ("/retrain/gate", Fixture, NULL, fixture_setup, test_gate, fixture_teardown);
        g_test_add ("/retrain/gate/from-store", Fixture, NULL, fixture_setup, test_gate_from_store, fixture_teardown);
        g_test_add ("/retrain/run/no-history", Fixture, NULL, fixture_setup, test_run_no_history, fixture_teardown);
        g_test_add ("/retrain/run/cancel", Fixture, NULL, fixture_setup, test_run_cancel, fixture_teardown);
        return g_test_run ();
}
