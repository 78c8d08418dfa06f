/* test-forecast.c — training, evaluation and the model file (model/train.c,
 * model/eval.c, model/model-file.c) on a small synthetic fleet, end to end
 * but in seconds.
 *
 *   /forecast/train-eval       train a tiny LSTM, evaluate: every model has
 *                              a row on identical points, int RMSE within
 *                              1 % of float, coverage near 95 %
 *   /forecast/save-load        model file round trip (weights, norm, scales,
 *                              baselines, margins) gives identical forecasts
 *   /forecast/deterministic    same seed, same weights (bit for bit)
 *   /forecast/ensemble         a two-network model: network 2 is the run
 *                              of seed + 1 alone (bit for bit), the int
 *                              point is the networks' mean and the upper
 *                              head their maximum, the file
 *                              round-trips both, and a file whose second
 *                              network is missing or of another shape is
 *                              refused, saying which
 *   /forecast/no-metadata      a blob without the metadata section is refused
 *   /forecast/model-versions   the shipped model (no bucket group) loads; a model trained with bucket
 *                              columns is version 2 and round-trips; a
 *                              version-1 file claiming the bucket group is
 *                              refused; a model with the recency group
 *                              (activity columns, `train --recency`) is
 *                              version 4 and round-trips, a version-3 file
 *                              claiming it is refused, a version-3 file
 *                              without it still loads; a model with the
 *                              day group (`train --day`) round-trips and
 *                              stamped version 5 is refused, naming it
 *   /forecast/window-rule      no window spans a gap
 *   /forecast/summary          the 1..H summary row (mean MAE over the
 *                              horizons, relative to last value) on rows
 *                              computed by hand
 *   /forecast/bad-shape        a horizon the validation or test split
 *                              cannot hold and a window longer than every
 *                              VM's history are refused with the numbers,
 *                              at N-1 / N / N+1; VMs shorter than the
 *                              window are counted, not refused; a window
 *                              the training split cannot hold is named
 *   /forecast/h48-serve        a model trained at horizon 48 round-trips
 *                              through its file and the online predictor
 *                              serves all 48 horizons (none cut off)
 *   /forecast/gate             the VALIDATION GATE (forecast.h): training
 *                              sets one; a model whose gate serves a
 *                              baseline (ewma for memory; for cpu last
 *                              value while it moves, mean_1h when it
 *                              repeated a value in the last hour)
 *                              round-trips through its file, its eval row
 *                              <arch>_gated scores exactly that baseline's
 *                              MAE on the same points, and the online
 *                              predictor's model point forecast is exactly
 *                              that baseline's at every step while its
 *                              upper bound stays the network's (next to an
 *                              ungated twin's, far from the baseline's);
 *                              a version-5 file
 *                              without "serve", or naming an unknown
 *                              source, is refused; version 7 is refused as
 *                              newer than this build, naming both versions
 */
#include "forecast.h"
#include "predictor.h"
#include "blob.h"
#include "testutil.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_VM    6
#define N_STEPS 2400                 /* 8.3 days at 5 min */
#define T0      1372629600

static GPtrArray *
make_fleet_n (int n_steps)
{
        GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        guint64 rng = 99;

        for (int v = 0; v < N_VM; v++) {
                g_autofree char *name = g_strdup_printf ("vm%d", v);
                AugurSeries *s = augur_series_new (name);
                double x = 0;

                augur_series_ensure_col (s, AUGUR_COL_CPU_PCT);
                augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
                augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
                for (int k = 0; k < n_steps; k++) {
                        gsize i;
                        double e;

                        if (v == 0 && ((k >= 1000 && k < 1010) || k == 1500 || k == 1700 || k == 1701))
                                continue;   /* a gap of 10 steps, held holes of 1 and 2 */
                        i = augur_series_append (s, T0 + (gint64) k * 300);
                        e = (augur_test_urand (&rng) - 0.5) * 4;
                        x = 0.9 * x + e;
                        s->col[AUGUR_COL_CPU_PCT][i] = (float) MAX (0.0, 10 + 5 * v + 8 * sin (2 * G_PI * k / 288.0) + x);
                        s->col[AUGUR_COL_MEM_PROV_KIB][i] = 1048576;
                        s->col[AUGUR_COL_MEM_USED_KIB][i] = (float) (1048576 * (0.3 + 0.02 * v + 0.01 * x));
                }
                g_ptr_array_add (a, s);
        }
        return a;
}

static GPtrArray *
make_fleet (void)
{
        return make_fleet_n (N_STEPS);
}

static void
small_config (AugurTrainConfig *cfg)
{
        augur_train_config_init (cfg);
        cfg->arch = AUGUR_ARCH_LSTM;   /* the default is GRU */
        cfg->hidden = 8;
        cfg->T = 12;
        cfg->H = 3;
        cfg->epochs = 2;
        cfg->windows_per_epoch = 2048;
        cfg->val_windows = 1024;
        cfg->batch = 64;
        cfg->seed = 7;
}

static AugurDataset *
make_dataset (const GPtrArray *fleet)
{
        AugurFeatConfig feat;

        augur_features_config_init (&feat);
        return augur_dataset_prepare (fleet, &feat, AUGUR_SPLIT_BY_TIME, TRUE);
}

static void
test_forecast_train_eval (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (GError) error = NULL;
        const char *models[] = {
                NULL, NULL, "last_value", "ewma", "seasonal_naive", "mean_1h", "ridge_ar",
        };
        g_autofree char *fname = NULL;
        g_autofree char *iname = NULL;
        AugurTrainConfig cfg;
        AugurEvalConfig ecfg;

        small_config (&cfg);
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (m);
        g_assert_cmpuint (m->F, ==, augur_features_count (ds->feat.groups));
        g_assert_false (ds->feat.groups & AUGUR_FEAT_GROUP_ACTIVITY);   /* absent: dropped */
        fname = g_strdup_printf ("%s_float", augur_arch_name (m->nn->cfg.arch));
        iname = g_strdup_printf ("%s_int", augur_arch_name (m->nn->cfg.arch));
        models[0] = fname;
        models[1] = iname;
        augur_eval_config_init (&ecfg);
        rows = augur_forecast_eval (m, ds, &ecfg, &error);
        g_assert_no_error (error);
        for (int t = AUGUR_TARGET_CPU_PCT; t <= AUGUR_TARGET_MEM_PCT; t++)
                for (guint h = 1; h <= 3; h++) {
                        const AugurEvalRow *f = augur_eval_find_row (rows, (AugurTarget) t, h, fname);
                        const AugurEvalRow *q = augur_eval_find_row (rows, (AugurTarget) t, h, iname);

                        for (guint k = 0; k < G_N_ELEMENTS (models); k++) {
                                const AugurEvalRow *r = augur_eval_find_row (rows, (AugurTarget) t, h, models[k]);

                                g_assert_nonnull (r);
                                g_assert_cmpuint (r->n, ==, f->n);   /* identical points */
                                g_assert_true (isfinite (r->mae) && isfinite (r->rmse));
                        }
                        g_test_message ("%s h=%u float rmse %.4f int %.4f cover %.3f",
                                        augur_target_name ((AugurTarget) t), h, f->rmse, q->rmse, q->coverage);
                        g_assert_cmpfloat (q->rmse, <=, 1.01 * f->rmse);
                        g_assert_cmpfloat (q->coverage, >, 0.85);
                }
        /* No disk or net column: no rows for those targets. */
        g_assert_null (augur_eval_find_row (rows, AUGUR_TARGET_DISK_KIBPS, 1, "last_value"));
}

static void
test_forecast_save_load (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "m.augur", NULL);
        g_autoptr (GArray) r1 = NULL;
        g_autoptr (GArray) r2 = NULL;
        AugurTrainConfig cfg;
        AugurEvalConfig ecfg;

        small_config (&cfg);
        cfg.epochs = 1;
        cfg.point_loss = AUGUR_POINT_LOSS_MAE;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (augur_model_save (m, path, &error));
        g_assert_no_error (error);
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_nonnull (l);
        g_assert_cmpuint (l->F, ==, m->F);
        g_assert_cmpuint (l->H, ==, m->H);
        g_assert_cmpuint (l->T, ==, m->T);
        g_assert_cmpint (l->point_loss, ==, AUGUR_POINT_LOSS_MAE);
        g_assert_cmpuint (l->feat.groups, ==, m->feat.groups);
        g_assert_cmpmem (l->feat.norm.mean, sizeof l->feat.norm.mean, m->feat.norm.mean, sizeof m->feat.norm.mean);
        g_assert_cmpmem (l->target_scale, sizeof l->target_scale, m->target_scale, sizeof m->target_scale);
        g_assert_cmpmem (l->bl[0].ridge_w, sizeof l->bl[0].ridge_w, m->bl[0].ridge_w, sizeof m->bl[0].ridge_w);
        for (guint h = 0; h < m->H; h++)
                g_assert_cmpfloat (l->nn_margin[1][0][h], ==, m->nn_margin[1][0][h]);
        augur_eval_config_init (&ecfg);
        r1 = augur_forecast_eval (m, ds, &ecfg, &error);
        r2 = augur_forecast_eval (l, ds, &ecfg, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (r1->len, ==, r2->len);
        for (guint i = 0; i < r1->len; i++) {
                const AugurEvalRow *a = &g_array_index (r1, AugurEvalRow, i);
                const AugurEvalRow *b = &g_array_index (r2, AugurEvalRow, i);

                g_assert_cmpstr (a->model, ==, b->model);
                g_assert_cmpfloat (a->mae, ==, b->mae);
                g_assert_cmpfloat (a->coverage, ==, b->coverage);
        }
        g_unlink (path);
        g_rmdir (dir);
}

static void
test_forecast_deterministic (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) a = NULL;
        g_autoptr (AugurModel) b = NULL;
        AugurTrainConfig cfg;

        small_config (&cfg);
        a = augur_forecast_train (ds, &cfg, NULL, NULL, NULL);
        b = augur_forecast_train (ds, &cfg, NULL, NULL, NULL);
        g_assert_nonnull (a);
        g_assert_nonnull (b);
        g_assert_cmpuint (a->nn->n_params, ==, b->nn->n_params);
        g_assert_cmpmem (a->nn->params_memory, a->nn->n_params * sizeof (float),
                         b->nn->params_memory, b->nn->n_params * sizeof (float));
}

static void
test_forecast_ensemble (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) s2 = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (AugurModel) other = NULL;
        g_autoptr (AugurModel) bad = NULL;
        g_autoptr (AugurModelQState) st = NULL;
        g_autoptr (AugurModelQState) lst = NULL;
        g_autoptr (AugurNNQState) qs = NULL;
        g_autoptr (GHashTable) extra = NULL;
        g_autoptr (GBytes) other_bytes = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "two.augur", NULL);
        g_autofree char *path2 = g_build_filename (dir, "broken.augur", NULL);
        g_autofree float *out = NULL, *a = NULL, *b = NULL, *lout = NULL;
        const AugurVmData *d = g_ptr_array_index (ds->vms, 0);
        static const char junk[] = "\x89" "AUGNN\r\n garbage";   /* magic, then nothing valid */
        AugurBlobSection sec[2];
        AugurTrainConfig cfg, one;
        GBytes *meta;
        gsize k, O;

        small_config (&cfg);
        cfg.nets = 2;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (augur_model_n_nets (m), ==, 2);
        g_assert_nonnull (m->more_nn[0]);
        g_assert_null (m->more_nn[1]);

        /* Network 2 is what training seed + 1 alone gives. */
        one = cfg;
        one.nets = 1;
        one.seed = cfg.seed + 1;
        s2 = augur_forecast_train (ds, &one, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (augur_model_n_nets (s2), ==, 1);
        g_assert_cmpuint (m->more_nn[0]->n_params, ==, s2->nn->n_params);
        g_assert_cmpmem (m->more_nn[0]->params_memory, m->more_nn[0]->n_params * sizeof (float),
                         s2->nn->params_memory, s2->nn->n_params * sizeof (float));
        g_assert_cmpuint (m->more_epochs[0], ==, s2->epochs_run);

        /* The int point of the model is the mean of its networks', the
         * upper head their maximum. */
        O = m->nnq->n_out;
        out = g_new (float, O);
        a = g_new (float, O);
        b = g_new (float, O);
        lout = g_new (float, O);
        for (k = m->T; k < d->n && !augur_vm_data_window_ok (d, k, m->T, 0); k++)
                ;
        g_assert_cmpuint (k, <, d->n);
        st = augur_model_q_state_new (m);
        augur_model_forecast_window (m, st, d->feat + (k + 1 - m->T) * m->F, m->T, out);
        qs = augur_nnq_state_new (m->nnq);
        augur_nnq_forecast_window (m->nnq, qs, d->feat + (k + 1 - m->T) * m->F, m->T, a);
        augur_nnq_forecast_window (m->more_nnq[0], qs, d->feat + (k + 1 - m->T) * m->F, m->T, b);
        for (gsize o = 0; o < O; o++)
                if ((o / m->H) % AUGUR_FORECAST_HEADS == 1)
                        g_assert_cmpfloat (out[o], ==, MAX (a[o], b[o]));
                else
                        g_assert_cmpfloat (out[o], ==, (a[o] + b[o]) / 2.0f);
        g_assert_true (memcmp (a, b, O * sizeof *a) != 0);   /* two networks, not one twice */

        /* The file keeps both. */
        g_assert_true (augur_model_save (m, path, &error));
        g_assert_no_error (error);
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (augur_model_n_nets (l), ==, 2);
        g_assert_cmpuint (l->more_epochs[0], ==, m->more_epochs[0]);
        g_assert_cmpuint (l->more_best[0], ==, m->more_best[0]);
        lst = augur_model_q_state_new (l);
        augur_model_forecast_window (l, lst, d->feat + (k + 1 - m->T) * m->F, m->T, lout);
        g_assert_cmpmem (lout, O * sizeof *lout, out, O * sizeof *out);

        /* The metadata says two networks, the second's section is gone. */
        g_assert_true (augur_blob_load (path, NULL, NULL, &extra, &error));
        meta = g_hash_table_lookup (extra, GUINT_TO_POINTER (AUGUR_BLOB_SECTION_USER));
        g_assert_nonnull (meta);
        sec[0].id = AUGUR_BLOB_SECTION_USER;
        sec[0].data = g_bytes_get_data (meta, &sec[0].len);
        g_assert_true (augur_blob_save (path2, l->nn, l->nnq, sec, 1, &error));
        bad = augur_model_load (path2, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("missing: %s", error->message);
        g_assert_nonnull (strstr (error->message, "network 2 of 2 is missing"));
        g_clear_error (&error);

        /* A second network of another width. */
        one.hidden = 4;
        one.epochs = 1;
        other = augur_forecast_train (ds, &one, NULL, NULL, &error);
        g_assert_no_error (error);
        other_bytes = augur_blob_save_to_bytes (other->nn, other->nnq, NULL, 0, &error);
        g_assert_no_error (error);
        sec[1].id = AUGUR_BLOB_SECTION_USER + 1;
        sec[1].data = g_bytes_get_data (other_bytes, &sec[1].len);
        g_assert_true (augur_blob_save (path2, l->nn, l->nnq, sec, 2, &error));
        bad = augur_model_load (path2, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH);
        g_test_message ("other shape: %s", error->message);
        g_assert_nonnull (strstr (error->message, "network 2 of 2 (lstm, "));
        g_assert_nonnull (strstr (error->message, "4 hidden"));
        g_assert_nonnull (strstr (error->message, "differs from the first"));
        g_clear_error (&error);

        /* A second network that is not a model file at all. */
        sec[1].data = junk;
        sec[1].len = sizeof junk - 1;
        g_assert_true (augur_blob_save (path2, l->nn, l->nnq, sec, 2, &error));
        bad = augur_model_load (path2, &error);
        g_assert_null (bad);
        g_test_message ("garbage: %s", error->message);
        g_assert_nonnull (strstr (error->message, "network 2 of 2: "));
        g_clear_error (&error);

        g_unlink (path);
        g_unlink (path2);
        g_rmdir (dir);
}

static void
test_forecast_no_metadata (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "bare.augur", NULL);
        AugurTrainConfig cfg;

        small_config (&cfg);
        cfg.epochs = 1;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (augur_blob_save (path, m->nn, m->nnq, NULL, 0, &error));
        l = augur_model_load (path, &error);
        g_assert_null (l);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_unlink (path);
        g_rmdir (dir);
}

/* Activity columns for every VM of a fleet: a login and a burst of input
 * and process starts once a day, an hour before the day's peak. */
static void
add_activity (GPtrArray *fleet)
{
        for (guint v = 0; v < fleet->len; v++) {
                AugurSeries *s = g_ptr_array_index (fleet, v);

                augur_series_ensure_col (s, AUGUR_COL_INPUT_EVENTS_PER_MIN);
                augur_series_ensure_col (s, AUGUR_COL_SESSIONS);
                augur_series_ensure_col (s, AUGUR_COL_PROC_STARTS_PER_MIN);
                for (gsize i = 0; i < s->n; i++) {
                        gboolean on = (i % 288) >= 100 && (i % 288) < 104;

                        s->col[AUGUR_COL_INPUT_EVENTS_PER_MIN][i] = on ? 80 : 2;
                        s->col[AUGUR_COL_SESSIONS][i] = on ? 2 : 1;
                        s->col[AUGUR_COL_PROC_STARTS_PER_MIN][i] = on ? 20 : 1;
                }
        }
}

/* Program / user bucket columns for every VM of a fleet: its cpu in one
 * program bucket, a session in one user bucket during part of each day. */
static void
add_buckets (GPtrArray *fleet)
{
        for (guint v = 0; v < fleet->len; v++) {
                AugurSeries *s = g_ptr_array_index (fleet, v);

                for (int c = AUGUR_COL_PROG_B0; c <= AUGUR_COL_USER_B3; c++)
                        augur_series_ensure_col (s, (AugurCol) c);
                for (gsize i = 0; i < s->n; i++) {
                        for (int c = AUGUR_COL_PROG_B0; c <= AUGUR_COL_USER_B3; c++)
                                s->col[c][i] = 0;
                        s->col[AUGUR_COL_PROG_B0 + v % 8][i] = s->col[AUGUR_COL_CPU_PCT][i];
                        s->col[AUGUR_COL_USER_B0 + v % 4][i] = (i % 288) < 120 ? 1 : 0;
                }
        }
}

/* Overwrite, in a saved model's metadata, the bytes `skip` bytes after the
 * first `anchor` with `to` (no length change). */
static void
rewrite_meta (const char *path, const char *anchor, gsize skip, const char *to)
{
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNQ) q = NULL;
        g_autoptr (GHashTable) extra = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *meta = NULL;
        GBytes *b;
        AugurBlobSection sec;
        char *v;

        g_assert_true (augur_blob_load (path, &nn, &q, &extra, &error));
        g_assert_no_error (error);
        b = g_hash_table_lookup (extra, GUINT_TO_POINTER (AUGUR_BLOB_SECTION_USER));
        g_assert_nonnull (b);
        meta = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
        v = strstr (meta, anchor);
        g_assert_nonnull (v);
        g_assert_cmpuint (strlen (v), >=, skip + strlen (to));
        memcpy (v + skip, to, strlen (to));
        sec.id = AUGUR_BLOB_SECTION_USER;
        sec.data = meta;
        sec.len = strlen (meta);
        g_assert_true (augur_blob_save (path, nn, q, &sec, 1, &error));
        g_assert_no_error (error);
}

/* Rewrite the metadata's one-digit "version" in a saved model. */
static void
rewrite_meta_version (const char *path, char version)
{
        const char digit[2] = { version, 0 };

        rewrite_meta (path, "\"version\":", strlen ("\"version\":"), digit);
}

static void
test_forecast_model_versions (void)
{
        g_autofree char *shipped = g_test_build_filename (G_TEST_DIST, "..", "model", "default.augur", NULL);
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (AugurModel) old = NULL;
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (AugurModel) bad = NULL;
        g_autoptr (AugurModel) l2 = NULL;
        g_autoptr (AugurDataset) ds_rec = NULL;
        g_autoptr (AugurModel) rec = NULL;
        g_autoptr (AugurModel) rec_l = NULL;
        g_autoptr (AugurDataset) ds_day = NULL;
        g_autoptr (AugurModel) day = NULL;
        g_autoptr (AugurModel) day_l = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "bkt.augur", NULL);
        AugurTrainConfig cfg;
        AugurFeatConfig feat;

        /* 1. model/default.augur has no bucket group (trained on trace
         * files, which have no bucket columns, and whose capacities are the
         * provisioned maxima: input row 2). */
        old = augur_model_load (shipped, &error);
        g_assert_no_error (error);
        g_assert_nonnull (old);
        g_assert_false (old->feat.groups & AUGUR_FEAT_GROUP_BUCKETS);
        g_assert_cmpuint (old->F, ==, augur_features_count (old->feat.groups));

        /* 2. Bucket columns in the history: the group is on, and the file
         * round-trips. */
        add_buckets (fleet);
        ds = make_dataset (fleet);
        g_assert_true (ds->feat.groups & AUGUR_FEAT_GROUP_BUCKETS);
        small_config (&cfg);
        cfg.epochs = 1;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (augur_model_save (m, path, &error));
        g_assert_no_error (error);
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (l->feat.groups, ==, m->feat.groups);
        g_assert_cmpuint (l->F, ==, m->F);
        g_assert_cmpuint (l->F, ==, augur_features_count (m->feat.groups));

        /* 3. A version-1 file cannot carry the bucket group. */
        rewrite_meta_version (path, '1');
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("version 1 with buckets: %s", error->message);
        g_assert_nonnull (strstr (error->message, "bucket"));
        g_clear_error (&error);
        /* ... a version-2 file predates the input row version: refused,
         * saying to retrain (its history's capacities were the balloon) ... */
        rewrite_meta_version (path, '2');
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH);
        g_test_message ("version 2: %s", error->message);
        g_assert_nonnull (strstr (error->message, "input row version 1"));
        g_assert_nonnull (strstr (error->message, "retrain"));
        g_clear_error (&error);
        /* ... version 3 (before the recency group) without it loads ... */
        rewrite_meta_version (path, '3');
        l2 = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (l2->F, ==, m->F);
        /* ... and version 9 is newer than this build. */
        rewrite_meta_version (path, '9');
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("version 9: %s", error->message);
        g_assert_nonnull (strstr (error->message, "version 9 is newer than this augur reads (8)"));
        g_clear_error (&error);

        /* 4. The recency group (needs activity columns): version 4, round
         * trip; stamped version 3 it is refused, naming the group. */
        add_activity (fleet);
        augur_features_config_init (&feat);
        feat.groups |= AUGUR_FEAT_GROUP_RECENCY;
        ds_rec = augur_dataset_prepare (fleet, &feat, AUGUR_SPLIT_BY_TIME, TRUE);
        g_assert_true (ds_rec->feat.groups & AUGUR_FEAT_GROUP_RECENCY);
        rec = augur_forecast_train (ds_rec, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (rec->F, ==, augur_features_count (m->feat.groups | AUGUR_FEAT_GROUP_ACTIVITY
                                                             | AUGUR_FEAT_GROUP_RECENCY));
        g_assert_cmpuint (rec->F, ==, m->F + 5 + 7);
        g_assert_true (augur_model_save (rec, path, &error));
        g_assert_no_error (error);
        rec_l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (rec_l->feat.groups, ==, rec->feat.groups);
        g_assert_cmpuint (rec_l->F, ==, rec->F);
        g_assert_cmpstr (augur_features_name (rec->feat.groups, rec->F - 1), ==, "mem_p24max");
        rewrite_meta_version (path, '3');
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("version 3 with recency: %s", error->message);
        g_assert_nonnull (strstr (error->message, "recency"));
        g_clear_error (&error);

        /* 5. The day group: version 6, 47 features more, round trip; stamped
         * version 5 it is refused, naming the group. */
        augur_features_config_init (&feat);
        feat.groups |= AUGUR_FEAT_GROUP_DAY;
        ds_day = augur_dataset_prepare (fleet, &feat, AUGUR_SPLIT_BY_TIME, TRUE);
        day = augur_forecast_train (ds_day, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (day->F, ==, augur_features_count (ds_day->feat.groups));
        g_assert_true (augur_model_save (day, path, &error));
        g_assert_no_error (error);
        day_l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (day_l->feat.groups, ==, day->feat.groups);
        g_assert_cmpuint (day_l->F, ==, day->F);
        g_assert_cmpstr (augur_features_name (day->feat.groups, day->F - 1), ==, "day_hours");
        rewrite_meta_version (path, '5');
        g_clear_pointer (&bad, augur_model_free);
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("version 5 with day: %s", error->message);
        g_assert_nonnull (strstr (error->message, "day feature group"));
        g_unlink (path);
        g_rmdir (dir);
}

/* Memory served as MIX (ewma, w = 0.5) everywhere: the model's point is
 * the mean of the ungated network's and ewma's, except where the floor at
 * the held value lifts one of them, and always between the two.  The file
 * round-trips the cell by name. */
static void
check_mix_cell (const char *path, const AugurSeries *s)
{
        g_autoptr (AugurModel) mx = NULL;
        g_autoptr (AugurModel) ug = NULL;
        g_autoptr (AugurModel) back = NULL;
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictor) pu = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (AugurPredictorVm) vu = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *mpath = g_strconcat (path, ".mix", NULL);
        g_autoptr (AugurModel) bad = NULL;
        AugurPredictorConfig pcfg;
        guint compared = 0, mean = 0;
        char name[AUGUR_SERVE_NAME_MAX];
        float w;

        g_assert_cmpint (augur_serve_decode (AUGUR_SERVE_MIX (AUGUR_BL_EWMA, 1), &w), ==, AUGUR_BL_EWMA);
        g_assert_cmpfloat (w, ==, 0.5f);
        g_assert_cmpstr (augur_serve_name (AUGUR_SERVE_MIX (AUGUR_BL_RIDGE_AR, 0), name, sizeof name), ==,
                         "mix:ridge_ar:0.25");
        mx = augur_model_load (path, &error);
        g_assert_no_error (error);
        ug = augur_model_load (path, &error);
        g_assert_no_error (error);
        memset (mx->serve, AUGUR_SERVE_NN, sizeof mx->serve);
        memset (ug->serve, AUGUR_SERVE_NN, sizeof ug->serve);
        for (int g = 0; g < AUGUR_REGIME_N; g++)
                memset (mx->serve[AUGUR_TARGET_MEM_PCT][g], AUGUR_SERVE_MIX (AUGUR_BL_EWMA, 1), mx->H);
        g_assert_true (augur_model_save (mx, mpath, &error));
        back = augur_model_load (mpath, &error);
        g_assert_no_error (error);
        g_assert_cmpmem (back->serve, sizeof back->serve, mx->serve, sizeof mx->serve);
        /* A weight this build has no cell for is refused by name. */
        rewrite_meta (mpath, "\"mix:ewma:0.50\"", strlen ("\"mix:ewma:0."), "6");
        bad = augur_model_load (mpath, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_assert_nonnull (strstr (error->message, "\"mix:ewma:0.60\""));
        g_clear_error (&error);
        g_unlink (mpath);

        augur_predictor_config_init (&pcfg);
        pcfg.tick_s = 300;
        p = augur_predictor_new (back, &pcfg, &error);
        g_assert_no_error (error);
        pu = augur_predictor_new (ug, &pcfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, s->vm);
        vu = augur_predictor_vm_new (pu, s->vm);
        for (gsize i = 0; i < s->n; i++) {
                AugurFeatSample x;
                AugurPredictorOut po;
                float mp[AUGUR_PREDICTOR_MAX_H], np[AUGUR_PREDICTOR_MAX_H], bp[AUGUR_PREDICTOR_MAX_H];

                augur_features_sample_from_series (&x, s, i);
                augur_predictor_step (p, v, &x, &po);
                augur_predictor_step (pu, vu, &x, &po);
                if (!augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, mp, NULL))
                        continue;
                g_assert_true (augur_predictor_vm_slow_forecast (vu, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, np, NULL));
                g_assert_true (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_EWMA, bp, NULL));
                for (guint h = 0; h < back->H; h++) {
                        g_assert_cmpfloat (mp[h], >=, MIN (np[h], bp[h]) - 1e-4f);
                        g_assert_cmpfloat (mp[h], <=, MAX (np[h], bp[h]) + 1e-4f);
                        mean += fabsf (mp[h] - 0.5f * (np[h] + bp[h])) < 1e-4f;
                        compared++;
                }
        }
        g_test_message ("mix: %u of %u forecasts the exact mean of the network's and ewma's", mean, compared);
        g_assert_cmpuint (compared, >, 0);
        g_assert_cmpuint (mean, >, compared / 2);
}

static void
test_forecast_gate (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (AugurModel) bad = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (AugurModel) ug = NULL;                /* l without its gate */
        g_autoptr (AugurPredictor) pu = NULL;
        g_autoptr (AugurPredictorVm) vu = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "gate.augur", NULL);
        g_autofree char *gname = NULL;
        g_autofree float *by_step = NULL;                /* vm0's cpu by 5-min step */
        const AugurSeries *s = g_ptr_array_index (fleet, 0);
        AugurTrainConfig cfg;
        AugurEvalConfig ecfg;
        AugurPredictorConfig pcfg;
        guint compared = 0, flat = 0;
        double to_nn = 0, to_bl = 0;                     /* sum |model upper - ...| */

        small_config (&cfg);
        cfg.epochs = 1;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        /* Training chose a gate: every cell is the NN, a baseline or a mix. */
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (int g = 0; g < AUGUR_REGIME_N; g++)
                        for (guint h = 1; h <= m->H; h++)
                                g_assert_cmpuint (m->serve[t][g][h - 1], <, AUGUR_SERVE_N);

        /* A hand-set gate: memory is ewma everywhere; cpu is last value
         * while it moves (quiet, calm or not) and mean_1h when it repeats
         * exactly. */
        for (guint h = 1; h <= m->H; h++) {
                for (int g = 0; g < AUGUR_REGIME_N; g++)
                        m->serve[AUGUR_TARGET_MEM_PCT][g][h - 1] = AUGUR_SERVE_BL (AUGUR_BL_EWMA);
                m->serve[AUGUR_TARGET_CPU_PCT][AUGUR_REGIME_MOVING][h - 1] = AUGUR_SERVE_BL (AUGUR_BL_LAST_VALUE);
                m->serve[AUGUR_TARGET_CPU_PCT][AUGUR_REGIME_CALM][h - 1] = AUGUR_SERVE_BL (AUGUR_BL_LAST_VALUE);
                m->serve[AUGUR_TARGET_CPU_PCT][AUGUR_REGIME_QUIET][h - 1] = AUGUR_SERVE_BL (AUGUR_BL_LAST_VALUE);
                m->serve[AUGUR_TARGET_CPU_PCT][AUGUR_REGIME_FLAT][h - 1] = AUGUR_SERVE_BL (AUGUR_BL_MEAN_1H);
        }
        g_assert_true (augur_model_save (m, path, &error));
        g_assert_no_error (error);
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpmem (l->serve, sizeof l->serve, m->serve, sizeof m->serve);

        /* eval: the gated row is the baseline's, point for point (the
         * model's baselines were fitted on this data: eval's refit is the
         * same).  Memory never repeats exactly here: all moving. */
        gname = g_strdup_printf ("%s_gated", augur_arch_name (l->nn->cfg.arch));
        augur_eval_config_init (&ecfg);
        rows = augur_forecast_eval (l, ds, &ecfg, &error);
        g_assert_no_error (error);
        for (guint h = 1; h <= l->H; h++) {
                const AugurEvalRow *gm = augur_eval_find_row (rows, AUGUR_TARGET_MEM_PCT, h, gname);
                const AugurEvalRow *em = augur_eval_find_row (rows, AUGUR_TARGET_MEM_PCT, h, "ewma");

                g_assert_nonnull (gm);
                g_assert_cmpuint (gm->n, ==, em->n);
                g_assert_cmpfloat (gm->mae, ==, em->mae);
                g_assert_cmpfloat (gm->rmse, ==, em->rmse);
        }

        /* The predictor serves the same: its model forecast is the
         * baseline's wherever the model forecasts (floor_held applies to
         * both alike). */
        augur_predictor_config_init (&pcfg);
        pcfg.tick_s = 300;   /* same-res: one slow step per call */
        p = augur_predictor_new (l, &pcfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, s->vm);
        ug = augur_model_load (path, &error);
        g_assert_no_error (error);
        memset (ug->serve, AUGUR_SERVE_NN, sizeof ug->serve);
        pu = augur_predictor_new (ug, &pcfg, &error);
        g_assert_no_error (error);
        vu = augur_predictor_vm_new (pu, s->vm);
        by_step = g_new (float, N_STEPS);
        for (gsize k = 0; k < N_STEPS; k++)
                by_step[k] = NAN;
        for (gsize i = 0; i < s->n; i++)
                by_step[(s->ts[i] - T0) / 300] = s->col[AUGUR_COL_CPU_PCT][i];
        for (gsize i = 0; i < s->n; i++) {
                AugurFeatSample x;
                AugurPredictorOut po;
                float mp[AUGUR_PREDICTOR_MAX_H], bp[AUGUR_PREDICTOR_MAX_H];
                float mu[AUGUR_PREDICTOR_MAX_H], bu[AUGUR_PREDICTOR_MAX_H];
                float up[AUGUR_PREDICTOR_MAX_H], uu[AUGUR_PREDICTOR_MAX_H];

                augur_features_sample_from_series (&x, s, i);
                augur_predictor_step (p, v, &x, &po);
                augur_predictor_step (pu, vu, &x, &po);
                if (!augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, mp, mu))
                        continue;
                g_assert_true (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_EWMA, bp, bu));
                g_assert_cmpmem (mp, l->H * sizeof *mp, bp, l->H * sizeof *bp);
                /* ... but the bound is the network's: its upper head raised
                 * to the point, with the NN's margin, not the baseline's. */
                g_assert_true (augur_predictor_vm_slow_forecast (vu, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, up, uu));
                for (guint h = 0; h < l->H; h++) {
                        g_assert_cmpfloat (mu[h], >=, mp[h]);
                        to_nn += fabs (mu[h] - uu[h]);
                        to_bl += fabs (mu[h] - bu[h]);
                }
                if (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_CPU, AUGUR_PRED_SRC_MODEL, mp, NULL)) {
                        /* The regime: an exact repeat of cpu within the last
                         * hour of 5-min steps (vm0's holes are missing). */
                        gsize k = (gsize) ((s->ts[i] - T0) / 300);
                        float recent[AUGUR_REGIME_LOOKBACK + 1];
                        gboolean is_flat;

                        for (guint j = 0; j <= AUGUR_REGIME_LOOKBACK; j++)
                                recent[j] = k + j >= AUGUR_REGIME_LOOKBACK
                                            ? by_step[k + j - AUGUR_REGIME_LOOKBACK] : NAN;
                        is_flat = augur_regime_of (AUGUR_TARGET_CPU_PCT, recent, AUGUR_REGIME_LOOKBACK + 1,
                                                   l->target_scale[AUGUR_TARGET_CPU_PCT]) == AUGUR_REGIME_FLAT;

                        flat += is_flat;
                        g_assert_true (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_CPU,
                                                                         is_flat ? AUGUR_PRED_SRC_MEAN_1H
                                                                         : AUGUR_PRED_SRC_LAST_VALUE, bp, NULL));
                        g_assert_cmpmem (mp, l->H * sizeof *mp, bp, l->H * sizeof *bp);
                }
                compared++;
        }
        g_test_message ("%u steps (%u with cpu flat): the model served exactly the gated baselines",
                        compared, flat);
        g_assert_cmpuint (flat, >, 0);
        g_assert_cmpuint (compared, >, s->n / 2);
        g_test_message ("memory upper: mean distance to the ungated network's %.4f, to ewma's %.4f",
                        to_nn / (compared * l->H), to_bl / (compared * l->H));
        g_assert_cmpfloat (to_nn, <, 0.5 * to_bl);

        /* A MIX cell serves w x the network's point + (1 - w) x the
         * baseline's (then floored at the held value, as every source). */
        check_mix_cell (path, s);

        /* A version-5 file must say what it serves ... */
        rewrite_meta (path, "\"serve\"", 0, "\"xerve\"");
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("no serve: %s", error->message);
        g_assert_nonnull (strstr (error->message, "\"serve\" must name"));
        g_clear_error (&error);
        /* ... with names this build knows ... */
        g_assert_true (augur_model_save (m, path, &error));
        rewrite_meta (path, "\"last_value\",\"last_value\"", strlen ("\"last_value\",\""), "lost");
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_test_message ("unknown source: %s", error->message);
        g_assert_nonnull (strstr (error->message, "\"lost_value\""));
        g_clear_error (&error);
        /* ... and a newer version is refused by its number. */
        g_assert_true (augur_model_save (m, path, &error));
        rewrite_meta_version (path, '9');
        bad = augur_model_load (path, &error);
        g_assert_null (bad);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL);
        g_assert_nonnull (strstr (error->message, "newer than this augur reads"));
        g_clear_error (&error);
        /* A version-4 file (before the gate) serves the NN everywhere. */
        rewrite_meta_version (path, '4');
        g_clear_pointer (&l, augur_model_free);
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (int g = 0; g < AUGUR_REGIME_N; g++)
                        for (guint h = 1; h <= l->H; h++)
                                g_assert_cmpuint (l->serve[t][g][h - 1], ==, AUGUR_SERVE_NN);
        g_unlink (path);
        g_rmdir (dir);
}

static void
test_forecast_window_rule (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        const AugurVmData *d = g_ptr_array_index (ds->vms, 0);   /* vm0: gap at 1000..1009 */

        g_assert_cmpstr (d->grid->vm, ==, "vm0");
        g_assert_cmpuint (d->n, ==, N_STEPS);
        /* Windows of 12 ending before the gap: fine up to target 999. */
        g_assert_true (augur_vm_data_window_ok (d, 996, 12, 3));
        /* 1000-1001 are held (max_fill 2): same segment, the target value
         * itself is missing and masked later; 1002 is inside the gap. */
        g_assert_true (augur_vm_data_window_ok (d, 998, 12, 3));
        g_assert_true (isnan (d->y[AUGUR_TARGET_CPU_PCT * d->n + 1001]));
        g_assert_false (augur_vm_data_window_ok (d, 999, 12, 3));
        /* After the gap a window needs 12 steps of the new segment. */
        g_assert_false (augur_vm_data_window_ok (d, 1010, 12, 1));
        g_assert_false (augur_vm_data_window_ok (d, 1020, 12, 1));
        g_assert_true (augur_vm_data_window_ok (d, 1021, 12, 1));
}

static void
add_row (GArray *rows, AugurTarget t, guint h, const char *model, double mae)
{
        AugurEvalRow r = { 0 };

        r.target = t;
        r.h = h;
        g_strlcpy (r.model, model, sizeof r.model);
        r.n = 10;
        r.mae = mae;
        g_array_append_val (rows, r);
}

static const AugurEvalSummary *
find_summary (const GArray *sums, AugurTarget t, const char *model)
{
        for (guint i = 0; i < sums->len; i++) {
                const AugurEvalSummary *m = &g_array_index (sums, AugurEvalSummary, i);

                if (m->target == t && strcmp (m->model, model) == 0)
                        return m;
        }
        return NULL;
}

static void
test_forecast_summary (void)
{
        g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurEvalRow));
        g_autoptr (GArray) s2 = NULL;
        g_autoptr (GArray) s1 = NULL;
        const AugurEvalSummary *m;

        /* cpu: last value 1 and 3 (mean 2), the model 0.5 and 1.5 (mean 1,
         * half of last value's), ewma has no h = 2 row. */
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "last_value", 1.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "gru_int", 0.5);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 1, "ewma", 0.25);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 2, "last_value", 3.0);
        add_row (rows, AUGUR_TARGET_CPU_PCT, 2, "gru_int", 1.5);
        /* mem: last value lacks h = 2: no ratio there. */
        add_row (rows, AUGUR_TARGET_MEM_PCT, 1, "gru_int", 2.0);
        add_row (rows, AUGUR_TARGET_MEM_PCT, 1, "last_value", 4.0);
        add_row (rows, AUGUR_TARGET_MEM_PCT, 2, "gru_int", 3.0);

        s2 = augur_eval_summarize (rows, 2);
        g_assert_cmpuint (s2->len, ==, 3);
        m = find_summary (s2, AUGUR_TARGET_CPU_PCT, "gru_int");
        g_assert_nonnull (m);
        g_assert_cmpuint (m->H, ==, 2);
        g_assert_cmpfloat_with_epsilon (m->mae_mean, 1.0, 1e-12);
        g_assert_cmpfloat_with_epsilon (m->rel_last_value, 0.5, 1e-12);
        m = find_summary (s2, AUGUR_TARGET_CPU_PCT, "last_value");
        g_assert_cmpfloat_with_epsilon (m->mae_mean, 2.0, 1e-12);
        g_assert_cmpfloat_with_epsilon (m->rel_last_value, 1.0, 1e-12);
        g_assert_null (find_summary (s2, AUGUR_TARGET_CPU_PCT, "ewma"));
        m = find_summary (s2, AUGUR_TARGET_MEM_PCT, "gru_int");
        g_assert_cmpfloat_with_epsilon (m->mae_mean, 2.5, 1e-12);
        g_assert_true (isnan (m->rel_last_value));
        g_assert_null (find_summary (s2, AUGUR_TARGET_MEM_PCT, "last_value"));

        /* Over h = 1 alone every row counts: ewma 0.25 / 1, mem 2 / 4. */
        s1 = augur_eval_summarize (rows, 1);
        g_assert_cmpuint (s1->len, ==, 5);
        g_assert_cmpfloat_with_epsilon (find_summary (s1, AUGUR_TARGET_CPU_PCT, "ewma")->rel_last_value, 0.25, 1e-12);
        g_assert_cmpfloat_with_epsilon (find_summary (s1, AUGUR_TARGET_MEM_PCT, "gru_int")->rel_last_value, 0.5, 1e-12);
}

/* error's message holds every string of the NULL-terminated list. */
static void
assert_message_has (const GError *error, ...)
{
        const char *w;
        va_list ap;

        g_assert_nonnull (error);
        g_test_message ("%s", error->message);
        va_start (ap, error);
        while ((w = va_arg (ap, const char *)))
                g_assert_nonnull (strstr (error->message, w));
        va_end (ap);
}

static void
test_forecast_bad_shape (void)
{
        /* 200 steps per VM: validation and test are 40 steps each, so the
         * longest horizon either can score is 39. */
        g_autoptr (GPtrArray) fleet = make_fleet_n (200);
        g_autoptr (GPtrArray) shorter = make_fleet_n (100);
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (GError) error = NULL;
        AugurTrainConfig cfg;
        AugurEvalConfig ecfg;
        guint n_short = 99;

        g_ptr_array_add (fleet, g_ptr_array_steal_index (shorter, 0));   /* a VM of 100 steps */
        ds = make_dataset (fleet);
        g_assert_true (augur_dataset_check_shape (ds, 12, 39, AUGUR_SPLIT_VAL, &n_short, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (n_short, ==, 0);
        for (guint H = 40; H <= 41; H++) {
                g_autofree char *want = g_strdup_printf ("horizon %u is more than the data can score", H);

                g_assert_false (augur_dataset_check_shape (ds, 12, H, AUGUR_SPLIT_VAL, NULL, &error));
                g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL);
                assert_message_has (error, want, "validation split", "has 40 steps", "at most 39 steps ahead", NULL);
                g_clear_error (&error);
        }
        /* Windows: 101 leaves out the short VM (counted); 200 still fits the
         * longest; 201 fits none. */
        g_assert_true (augur_dataset_check_shape (ds, 100, 12, AUGUR_SPLIT_VAL, &n_short, NULL));
        g_assert_cmpuint (n_short, ==, 0);
        g_assert_true (augur_dataset_check_shape (ds, 101, 12, AUGUR_SPLIT_VAL, &n_short, NULL));
        g_assert_cmpuint (n_short, ==, 1);
        g_assert_true (augur_dataset_check_shape (ds, 200, 12, AUGUR_SPLIT_VAL, &n_short, NULL));
        g_assert_false (augur_dataset_check_shape (ds, 201, 12, AUGUR_SPLIT_VAL, &n_short, &error));
        g_assert_cmpuint (n_short, ==, N_VM + 1);
        g_assert_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL);
        assert_message_has (error, "window of 201 steps", "longer than every VM's history", "has 200 steps", NULL);
        g_clear_error (&error);

        /* Training and evaluation refuse the same, naming the numbers. */
        small_config (&cfg);
        cfg.H = 40;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_null (m);
        assert_message_has (error, "horizon 40", "validation split", "at most 39", NULL);
        g_clear_error (&error);
        /* A window the history holds but the training split (120 of 200
         * steps) does not. */
        cfg.H = 3;
        cfg.T = 150;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_null (m);
        assert_message_has (error, "no training window of 150 steps", "training split", "has 120 steps", NULL);
        g_clear_error (&error);
        augur_eval_config_init (&ecfg);
        ecfg.H = 48;
        rows = augur_forecast_eval (NULL, ds, &ecfg, &error);
        g_assert_null (rows);
        assert_message_has (error, "horizon 48", "test split", "has 40 steps", "at most 39", NULL);
        g_clear_error (&error);
        ecfg.H = AUGUR_FORECAST_MAX_H + 1;
        rows = augur_forecast_eval (NULL, ds, &ecfg, &error);
        g_assert_null (rows);
        assert_message_has (error, "horizon 49: must be 1..48", NULL);
        g_clear_error (&error);
        /* (39 fits the test split; these series are too short for a
         * scored point anyway: seasonal naive needs a day before it.) */
        g_assert_true (augur_dataset_check_shape (ds, 12, 39, AUGUR_SPLIT_TEST, NULL, &error));
        g_assert_no_error (error);
}

static void
test_forecast_h48_serve (void)
{
        g_autoptr (GPtrArray) fleet = make_fleet ();
        g_autoptr (AugurDataset) ds = make_dataset (fleet);
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (AugurModel) l = NULL;
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (GArray) sums = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-forecast-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "h48.augur", NULL);
        const AugurSeries *s = g_ptr_array_index (fleet, 1);
        float point[AUGUR_PREDICTOR_MAX_H], upper[AUGUR_PREDICTOR_MAX_H];
        AugurTrainConfig cfg;
        AugurEvalConfig ecfg;
        AugurPredictorConfig pcfg;
        AugurPredictorOut po = { 0 };

        small_config (&cfg);
        cfg.H = 48;
        cfg.epochs = 1;
        m = augur_forecast_train (ds, &cfg, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (m->nn->cfg.n_out, ==, AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * 48);
        g_assert_true (augur_model_save (m, path, &error));
        l = augur_model_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (l->H, ==, 48);
        for (guint h = 0; h < 48; h++)
                g_assert_true (isfinite (l->nn_margin[1][AUGUR_TARGET_MEM_PCT][h]));

        /* eval: rows at h = 48, and one summary row per model and target
         * (float, int, gated and the baselines). */
        augur_eval_config_init (&ecfg);
        rows = augur_forecast_eval (l, ds, &ecfg, &error);
        g_assert_no_error (error);
        g_assert_nonnull (augur_eval_find_row (rows, AUGUR_TARGET_MEM_PCT, 48, "lstm_int"));
        sums = augur_eval_summarize (rows, l->H);
        g_assert_cmpuint (sums->len, ==, 2 * (3 + AUGUR_BL_N));
        g_assert_cmpfloat (find_summary (sums, AUGUR_TARGET_CPU_PCT, "last_value")->rel_last_value, ==, 1.0);

        /* The online predictor at the model's step serves all 48. */
        augur_predictor_config_init (&pcfg);
        pcfg.tick_s = 300;
        p = augur_predictor_new (l, &pcfg, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (augur_predictor_config (p)->H, ==, 48);
        v = augur_predictor_vm_new (p, s->vm);
        for (gsize i = 0; i < 600; i++) {
                AugurFeatSample x;

                augur_features_sample_from_series (&x, s, i);
                augur_predictor_step (p, v, &x, &po);
        }
        g_assert_cmpuint (po.H, ==, 48);
        g_assert_true (isfinite (po.mem_p50_kib[47]) && isfinite (po.mem_upper_kib[47]));
        g_assert_true (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, point, upper));
        for (guint h = 0; h < 48; h++)
                g_assert_true (isfinite (point[h]) && isfinite (upper[h]));
        g_unlink (path);
        g_rmdir (dir);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/forecast/train-eval", test_forecast_train_eval);
        g_test_add_func ("/forecast/save-load", test_forecast_save_load);
        g_test_add_func ("/forecast/deterministic", test_forecast_deterministic);
        g_test_add_func ("/forecast/ensemble", test_forecast_ensemble);
        g_test_add_func ("/forecast/no-metadata", test_forecast_no_metadata);
        g_test_add_func ("/forecast/model-versions", test_forecast_model_versions);
        g_test_add_func ("/forecast/window-rule", test_forecast_window_rule);
        g_test_add_func ("/forecast/summary", test_forecast_summary);
        g_test_add_func ("/forecast/bad-shape", test_forecast_bad_shape);
        g_test_add_func ("/forecast/h48-serve", test_forecast_h48_serve);
        g_test_add_func ("/forecast/gate", test_forecast_gate);
        return g_test_run ();
}
