/* test-predictor.c — the online predictor (model/predictor.c).
 *
 *   /predictor/online-batch          the predictor's feature vector at every
 *        step equals augur_features_batch()'s row, and its int-model
 *        forecast equals augur_nnq_forecast_window() on the batch window,
 *        on a grid with holes and a gap, fed row by row and fed with the
 *        empty rows left out (skipped timestamps).
 *   /predictor/champion/bad-model    a model that always forecasts a jump
 *        loses the champion to a baseline once the trackers are warm.
 *   /predictor/champion/model-floor  with cfg.model_floor, while that bad
 *        model is demoted the served p50 and upper are never below the
 *        model's own (and are above the champion's on some steps).
 *   /predictor/champion/good-model   a model that forecasts "no change" ties
 *        last_value and keeps serving (ties go to the model).
 *   /predictor/calibration/coverage  on iid noise the horizon-1 upper bound
 *        covers y with the configured coverage (0.9 +- 0.03).
 *   /predictor/fast/period           tick mode, 1 s tick: a 120 s periodic
 *        job is detected and its next occurrence is in the upper bound
 *        before it starts (the real-guest test's workload).
 *   /predictor/no-model              without a model the baselines serve.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#include "predictor.h"
#include "forecast.h"
#include "nn-q.h"

static guint64 rng_state = 7;

static double
urand (void)
{
        rng_state = rng_state * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
        return (double) (rng_state >> 11) / 9007199254740992.0;
}

static double
nrand (void)
{
        double u1 = urand () + 1e-12, u2 = urand ();

        return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

#define T_WIN 8
#define H_OUT 6
#define PROV_KIB 1.0e6f

/* A small model with random weights; when head_bias is finite, the head
 * is replaced by a constant output (wy = 0, by = head_bias); head_gain
 * multiplies the head weights (a large gain makes the forecasts noise). */
static AugurModel *
make_model (float head_bias, float head_gain)
{
        g_autoptr (GError) error = NULL;
        AugurModel *m = g_new0 (AugurModel, 1);
        AugurNNConfig nc;
        guint O = AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * H_OUT;

        augur_features_config_init (&m->feat);
        m->feat.groups = AUGUR_FEAT_GROUP_CORE | AUGUR_FEAT_GROUP_TIME;
        m->feat.norm.mean[AUGUR_SIG_MEM] = 50;
        m->feat.norm.sd[AUGUR_SIG_MEM] = 10;
        m->feat.norm.mean[AUGUR_SIG_CPU] = 20;
        m->feat.norm.sd[AUGUR_SIG_CPU] = 10;
        m->F = augur_features_count (m->feat.groups);
        m->H = H_OUT;
        m->T = T_WIN;
        m->quantile = 0.95f;
        m->coverage = 0.95f;
        augur_nn_config_init (&nc, m->F, 16, O, AUGUR_ARCH_LSTM);
        m->nn = augur_nn_new (&nc, 3, &error);
        g_assert_no_error (error);
        for (gsize k = 0; k < (gsize) O * nc.hidden; k++)
                m->nn->params.wy[k] *= head_gain;
        if (!isnan (head_bias)) {
                memset (m->nn->params.wy, 0, (gsize) O * nc.hidden * sizeof (float));
                for (guint k = 0; k < O; k++)
                        m->nn->params.by[k] = head_bias;
        }
        m->nnq = augur_nnq_from_float (m->nn);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                augur_baseline_params_init (&m->bl[t], H_OUT, m->feat.step_s);
        return m;
}

/* A grid series of n steps of 300 s: mem_pct around 50 with a slow wave,
 * cpu around 20; rows in `holes` are all missing. */
static AugurSeries *
make_grid (gsize n, const gsize *holes, guint n_holes, double noise)
{
        AugurSeries *s = augur_series_new ("vm-a");

        augur_series_ensure_col (s, AUGUR_COL_CPU_PCT);
        augur_series_ensure_col (s, AUGUR_COL_CPU_CORES);
        augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
        augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
        for (gsize i = 0; i < n; i++) {
                gsize r = augur_series_append (s, 1700000100 + (gint64) i * 300);
                gboolean hole = FALSE;

                for (guint h = 0; h < n_holes; h++)
                        hole |= holes[h] == i;
                if (hole)
                        continue;
                s->col[AUGUR_COL_CPU_PCT][r] = (float) (20 + 5 * sin (i / 7.0) + noise * nrand ());
                s->col[AUGUR_COL_CPU_CORES][r] = 4;
                s->col[AUGUR_COL_MEM_PROV_KIB][r] = PROV_KIB;
                s->col[AUGUR_COL_MEM_USED_KIB][r] = (float) (PROV_KIB / 100 * (50 + 10 * sin (i / 20.0)
                                                                                + noise * nrand ()));
        }
        return s;
}

static void
check_online_batch (gboolean skip_empty)
{
        static const gsize holes[] = { 30, 31, 55, 70, 71, 72, 73 };   /* 70..73: a gap */
        g_autoptr (AugurModel) m = make_model (NAN, 1.0f);
        g_autoptr (AugurSeries) g = make_grid (120, holes, G_N_ELEMENTS (holes), 1.0);
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (AugurNNQState) qs = augur_nnq_state_new (m->nnq);
        g_autoptr (GError) error = NULL;
        g_autofree float *feat = g_new (float, g->n * m->F);
        g_autofree guint8 *valid = g_new (guint8, g->n);
        g_autofree guint32 *seg = g_new (guint32, g->n);
        g_autofree float *held = g_new (float, g->n * AUGUR_SIG_N);
        g_autofree float *out = g_new (float, m->nnq->n_out);
        AugurPredictorConfig cfg;
        guint compared = 0, forecasts = 0;

        augur_features_batch (&m->feat, g, feat, valid, seg, held);
        augur_predictor_config_init (&cfg);
        p = augur_predictor_new (m, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-a");
        for (gsize i = 0; i < g->n; i++) {
                AugurFeatSample x;
                AugurPredictorOut po;
                const float *vec;
                guint F = 0;
                float point[H_OUT];
                guint run = 0;

                augur_features_sample_from_series (&x, g, i);
                if (skip_empty && isnan (x.v[AUGUR_COL_CPU_PCT]) && isnan (x.v[AUGUR_COL_MEM_USED_KIB]))
                        continue;
                augur_predictor_step (p, v, &x, &po);
                vec = augur_predictor_vm_features (v, &F);
                g_assert_cmpint (vec != NULL, ==, valid[i]);
                if (!vec)
                        continue;
                g_assert_cmpuint (F, ==, m->F);
                if (memcmp (vec, feat + i * m->F, F * sizeof *vec) != 0) {
                        for (guint k = 0; k < F; k++)
                                if (vec[k] != feat[i * m->F + k])
                                        g_test_message ("step %" G_GSIZE_FORMAT " feature %s: online %g batch %g",
                                                        i, augur_features_name (m->feat.groups, k), vec[k],
                                                        feat[i * m->F + k]);
                        g_assert_not_reached ();
                }
                compared++;

                /* The window rule of dataset.h: T valid steps of one segment
                 * ending at an observed origin. */
                for (gsize k = i + 1; k-- > 0 && valid[k] && seg[k] == seg[i];)
                        run++;
                if (run < T_WIN || isnan (g->col[AUGUR_COL_MEM_USED_KIB][i])) {
                        g_assert_false (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL,
                                                                          point, NULL));
                        continue;
                }
                g_assert_true (augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, point, NULL));
                augur_nnq_forecast_window (m->nnq, qs, feat + (i + 1 - T_WIN) * m->F, T_WIN, out);
                for (guint h = 1; h <= H_OUT; h++) {
                        float base = held[i * AUGUR_SIG_N + AUGUR_SIG_MEM];
                        float want = base + m->feat.norm.sd[AUGUR_SIG_MEM]
                                     * out[augur_model_out_index (H_OUT, AUGUR_TARGET_MEM_PCT, 0, h)];

                        /* floor_held: never below the held value */
                        want = MAX (want, base);
                        g_assert_cmpfloat (point[h - 1], ==, want);
                }
                forecasts++;
        }
        g_test_message ("%u vectors and %u model forecasts compared", compared, forecasts);
        g_assert_cmpuint (compared, >, 90);
        g_assert_cmpuint (forecasts, >, 60);
}

static void
test_online_batch (void)
{
        check_online_batch (FALSE);
}

static void
test_online_batch_skip (void)
{
        check_online_batch (TRUE);
}

/* mem_pct climbing 0.5 point per step (every baseline lags behind). */
static AugurSeries *
make_walk (gsize n)
{
        AugurSeries *s = augur_series_new ("vm-a");
        double lvl = 10;

        augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
        augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
        for (gsize i = 0; i < n; i++) {
                gsize r = augur_series_append (s, 1700000100 + (gint64) i * 300);

                lvl = CLAMP (lvl + 0.5 + 0.05 * nrand (), 5, 95);
                s->col[AUGUR_COL_MEM_PROV_KIB][r] = PROV_KIB;
                s->col[AUGUR_COL_MEM_USED_KIB][r] = (float) (PROV_KIB / 100 * lvl);
        }
        return s;
}

/* Run the predictor over a series; returns the champion for memory. */
static AugurPredSource
run_champion (const AugurModel *m, gsize n, gboolean walk, AugurPredChampionMetric metric)
{
        g_autoptr (AugurSeries) g = walk ? make_walk (n) : make_grid (n, NULL, 0, 2.0);
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig cfg;
        AugurPredictorOut po = { 0 };
        double pin_m = NAN, pin_b = NAN, mae_m = NAN, mae_b = NAN;

        augur_predictor_config_init (&cfg);
        cfg.champion_metric = metric;
        p = augur_predictor_new (m, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-a");
        for (gsize i = 0; i < g->n; i++) {
                AugurFeatSample x;

                augur_features_sample_from_series (&x, g, i);
                augur_predictor_step (p, v, &x, &po);
        }
        augur_predictor_vm_accuracy (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, &mae_m, &pin_m, NULL);
        augur_predictor_vm_accuracy (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_LAST_VALUE, &mae_b, &pin_b, NULL);
        g_test_message ("MAE: model %g, last_value %g; pinball: model %g, last_value %g; champion %s, serving %s",
                        mae_m, mae_b, pin_m, pin_b,
                        augur_predictor_source_name (p, augur_predictor_vm_champion (v, AUGUR_PRED_MEM)),
                        po.model[AUGUR_PRED_MEM]);
        g_assert_cmpint (po.source[AUGUR_PRED_MEM], ==, augur_predictor_vm_champion (v, AUGUR_PRED_MEM));
        return augur_predictor_vm_champion (v, AUGUR_PRED_MEM);
}

static void
test_champion_bad (void)
{
        /* Head weights x 30: forecasts swing by tens of points with the
         * input (a constant bias would not do: calibration removes it). */
        g_autoptr (AugurModel) m = make_model (NAN, 30.0f);

        g_assert_cmpint (run_champion (m, 400, FALSE, AUGUR_PRED_CHAMPION_PINBALL), !=, AUGUR_PRED_SRC_MODEL);
        g_assert_cmpint (run_champion (m, 400, FALSE, AUGUR_PRED_CHAMPION_MAE), !=, AUGUR_PRED_SRC_MODEL);
}

/* MODEL FLOOR: a demoted model still raises the served bounds to its own. */
static void
test_model_floor (void)
{
        g_autoptr (AugurModel) m = make_model (NAN, 30.0f);
        g_autoptr (AugurSeries) g = make_grid (400, NULL, 0, 2.0);
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig cfg;
        guint demoted = 0, raised = 0;

        augur_predictor_config_init (&cfg);
        cfg.model_floor = TRUE;
        p = augur_predictor_new (m, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-a");
        for (gsize i = 0; i < g->n; i++) {
                AugurFeatSample x;
                AugurPredictorOut po = { 0 };
                float mp[AUGUR_PREDICTOR_MAX_H], mu[AUGUR_PREDICTOR_MAX_H];
                float cp[AUGUR_PREDICTOR_MAX_H], cu[AUGUR_PREDICTOR_MAX_H];
                AugurPredSource champ;

                augur_features_sample_from_series (&x, g, i);
                if (!augur_predictor_step (p, v, &x, &po) || po.H == 0)
                        continue;
                champ = po.source[AUGUR_PRED_MEM];
                if (champ == AUGUR_PRED_SRC_MODEL
                    || !augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, AUGUR_PRED_SRC_MODEL, mp, mu)
                    || !augur_predictor_vm_slow_forecast (v, AUGUR_PRED_MEM, champ, cp, cu))
                        continue;
                demoted++;
                for (guint h = 0; h < po.H; h++) {
                        g_assert_cmpfloat (po.mem_upper_kib[h], >=, mu[h] * PROV_KIB / 100 * (1 - 1e-5f));
                        g_assert_cmpfloat (po.mem_p50_kib[h], >=, mp[h] * PROV_KIB / 100 * (1 - 1e-5f));
                }
                raised += mu[0] > cu[0];
        }
        g_test_message ("steps with a baseline serving: %u, of which the model raised h=1: %u", demoted, raised);
        /* the test means something: the model was demoted, and above the
         * champion some of the time */
        g_assert_cmpuint (demoted, >, 100);
        g_assert_cmpuint (raised, >, 0);
}

static void
test_champion_good (void)
{
        /* A constant head of +0.5 point per horizon step (0.05 global sd)
         * on a series that climbs 0.5 point per step: the model's point is
         * right where every baseline lags. */
        g_autoptr (AugurModel) m = make_model (0.0f, 1.0f);

        for (guint h = 1; h <= H_OUT; h++)
                for (guint head = 0; head < AUGUR_FORECAST_HEADS; head++)
                        m->nn->params.by[augur_model_out_index (H_OUT, AUGUR_TARGET_MEM_PCT, head, h)] = 0.05f * h;
        augur_nnq_free (m->nnq);
        m->nnq = augur_nnq_from_float (m->nn);
        g_assert_cmpint (run_champion (m, 150, TRUE, AUGUR_PRED_CHAMPION_MAE), ==, AUGUR_PRED_SRC_MODEL);
}

static void
test_coverage (void)
{
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig cfg;
        const gsize n = 4000, from = 1000;
        float prev_upper = NAN;
        guint covered = 0, total = 0;

        augur_predictor_config_init (&cfg);
        cfg.coverage = 0.9f;
        p = augur_predictor_new (NULL, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-c");
        for (gsize i = 0; i < n; i++) {
                AugurFeatSample x;
                AugurPredictorOut po;
                float used = (float) (PROV_KIB / 100 * (50 + 3 * nrand ()));

                for (int c = 0; c < AUGUR_COL_N; c++)
                        x.v[c] = NAN;
                x.ts = 1700000100 + (gint64) i * 300;
                x.v[AUGUR_COL_MEM_PROV_KIB] = PROV_KIB;
                x.v[AUGUR_COL_MEM_USED_KIB] = used;
                if (i >= from && !isnan (prev_upper)) {
                        total++;
                        covered += used <= prev_upper;
                }
                g_assert_true (augur_predictor_step (p, v, &x, &po));
                g_assert_cmpuint (po.H, ==, cfg.H);
                g_assert_cmpfloat (po.step_s, ==, 300);
                prev_upper = po.mem_upper_kib[0];
        }
        g_test_message ("coverage %.4f over %u steps (target 0.9)", (double) covered / total, total);
        g_assert_cmpfloat (fabs ((double) covered / total - 0.9), <=, 0.03);
}

static void
test_period (void)
{
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig cfg;
        const float idle = 40, job = 70;   /* percent of capacity */
        guint checked = 0;

        augur_predictor_config_init (&cfg);
        cfg.tick_s = 1;
        cfg.fast_H = 12;
        p = augur_predictor_new (NULL, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-p");
        for (gint64 t = 0; t < 1200; t++) {
                AugurFeatSample x;
                AugurPredictorOut po;
                gboolean in_job = (t % 120) >= 60 && (t % 120) < 80;

                for (int c = 0; c < AUGUR_COL_N; c++)
                        x.v[c] = NAN;
                x.ts = 1700000000 + t;
                x.v[AUGUR_COL_MEM_PROV_KIB] = PROV_KIB;
                x.v[AUGUR_COL_MEM_USED_KIB] = PROV_KIB / 100 * ((in_job ? job : idle) + (float) (0.3 * nrand ()));
                augur_predictor_step (p, v, &x, &po);
                g_assert_cmpfloat (po.step_s, ==, 1);
                /* From the 5th period on, 10 s before each job starts, the
                 * upper bound 10 ticks ahead must already hold the job. */
                if (t >= 600 && t % 120 == 50) {
                        g_assert_cmpuint (po.H, ==, 12);
                        g_assert_cmpuint (po.period[AUGUR_PRED_MEM], >=, 119);
                        g_assert_cmpuint (po.period[AUGUR_PRED_MEM], <=, 121);
                        g_assert_cmpfloat (po.mem_upper_kib[9], >=, PROV_KIB / 100 * (job - 1));
                        g_assert_nonnull (strstr (po.model[AUGUR_PRED_MEM], "+period"));
                        checked++;
                }
        }
        g_assert_cmpuint (checked, ==, 5);
}

static void
test_no_model (void)
{
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        g_autoptr (AugurSeries) g = make_grid (60, NULL, 0, 1.0);
        g_autoptr (GError) error = NULL;
        AugurPredictorConfig cfg;
        AugurPredictorOut po = { 0 };

        augur_predictor_config_init (&cfg);
        p = augur_predictor_new (NULL, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "vm-n");
        for (gsize i = 0; i < g->n; i++) {
                AugurFeatSample x;

                augur_features_sample_from_series (&x, g, i);
                g_assert_true (augur_predictor_step (p, v, &x, &po));
                g_assert_cmpint (po.source[AUGUR_PRED_MEM], !=, AUGUR_PRED_SRC_MODEL);
                g_assert_cmpint (po.source[AUGUR_PRED_MEM], !=, AUGUR_PRED_SRC_NONE);
                /* KiB and cores, converted with the sample's capacities. */
                g_assert_cmpfloat (po.mem_p50_kib[0], >, 0.2 * PROV_KIB);
                g_assert_cmpfloat (po.mem_p50_kib[0], <, 0.8 * PROV_KIB);
                g_assert_cmpfloat (po.cpu_p50_cores[0], >, 0.3);
                g_assert_cmpfloat (po.cpu_p50_cores[0], <, 1.5);
        }
        g_assert_null (augur_predictor_vm_features (v, NULL));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/predictor/online-batch", test_online_batch);
        g_test_add_func ("/predictor/online-batch/skipped-steps", test_online_batch_skip);
        g_test_add_func ("/predictor/champion/bad-model", test_champion_bad);
        g_test_add_func ("/predictor/champion/model-floor", test_model_floor);
        g_test_add_func ("/predictor/champion/good-model", test_champion_good);
        g_test_add_func ("/predictor/calibration/coverage", test_coverage);
        g_test_add_func ("/predictor/fast/period", test_period);
        g_test_add_func ("/predictor/no-model", test_no_model);
        return g_test_run ();
}
