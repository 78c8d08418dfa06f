/* eval.c — scoring the forecaster and the baselines on identical points,
 * and the conformal calibration training ends with.  API: eval.h.
 *
 * What it is: one sweep over a dataset's VMs that predicts with every model
 * (the float and int NN, each baseline), calibrates on one split and scores
 * another.  augur_forecast_eval() runs both passes; augur_forecast_calibrate()
 * runs the calibration pass on validation alone and keeps its global
 * margins in the model.  What it is not: training (train.c) or the online
 * twin of this scoring (predictor.c).
 *
 * EVALUATION (identical points for every model)
 *   1. predictions of every model at every origin of the val and test
 *      splits (NN: float batch predict and the int kernel per window;
 *      baselines: batch form, fitted on train/val of the same data);
 *   2. calibration pass: each model's scores y - base on validation points
 *      go into its AugurCalib (per VM ring + global reservoir);
 *   3. test pass in time order: at origin k first add the scores of test
 *      points whose target (k' + h = k) is now known (online conformal,
 *      --no-online-calib turns it off), then score the point (k, h) if
 *      every model has a forecast there: n, MAE, RMSE, R^2 (against the
 *      mean of the scored targets), coverage of base + margin.
 *   Upper bound: NN = upper head + conformal margin (CQR); baselines =
 *   point + conformal margin of their own residuals.
 *   With a model, three NN rows: <arch>_float, <arch>_int, and
 *   <arch>_gated, what the model serves (forecast.h VALIDATION GATE): the
 *   int NN's forecast, and at a gated (target, h) the forecast of the
 *   model's own fitted baseline (m->bl, fitted on the training data, not
 *   the refit on this data the baseline rows use), where the int NN has
 *   one.  Its margins are calibrated like every other row's.
 */
#include "eval.h"
#include "calib.h"

#include <math.h>
#include <string.h>

#define PREDICT_CHUNK     1024   /* windows per augur_model_predict call */

void
augur_eval_config_init (AugurEvalConfig *cfg)
{
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        cfg->online_calib = TRUE;
        cfg->T = 12;
        cfg->H = 12;
        cfg->on_validation = FALSE;
}

/* ----------------------------------------------------- predictions */

/* Forecasts of one model for one VM: point and upper base, per target, for
 * origins [k0, n): p[(t * n_orig + (k - k0)) * H + h - 1]. */
typedef struct {
        gsize k0, n_orig;
        float *point;    /* (AUGUR_TARGET_N, n_orig, H) */
        float *upper;    /* (AUGUR_TARGET_N, n_orig, H) base of the bound */
} Preds;

static void
preds_clear (Preds *p)
{
        g_clear_pointer (&p->point, g_free);
        g_clear_pointer (&p->upper, g_free);
}

/* Room for origins [k0, k1). */
static void
preds_alloc (Preds *p, gsize k0, gsize k1, guint H)
{
        gsize len = (gsize) AUGUR_TARGET_N * (k1 - k0) * H;

        p->k0 = k0;
        p->n_orig = k1 - k0;
        p->point = g_new (float, MAX (len, 1));
        p->upper = g_new (float, MAX (len, 1));
        for (gsize i = 0; i < len; i++) {
                p->point[i] = NAN;
                p->upper[i] = NAN;
        }
}

static inline gsize
preds_idx (const Preds *p, guint H, int t, gsize k, guint h)
{
        return ((gsize) t * p->n_orig + (k - p->k0)) * H + h - 1;
}

/* Convert one NN output vector at origin k into forecasts. */
static void
nn_out_to_preds (const AugurModel *m, const AugurVmData *d, gsize k, const float *out, Preds *p)
{
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurSig sig = augur_target_sig ((AugurTarget) t);
                float held = d->held[k * AUGUR_SIG_N + sig];

                if (isnan (held))
                        continue;
                for (guint h = 1; h <= m->H; h++) {
                        gsize i = preds_idx (p, m->H, t, k, h);
                        float yp = out[augur_model_out_index (m->H, (AugurTarget) t, 0, h)];
                        float yq = out[augur_model_out_index (m->H, (AugurTarget) t, 1, h)];

                        p->point[i] = augur_model_decode (m, (AugurTarget) t, held, yp);
                        p->upper[i] = augur_model_decode (m, (AugurTarget) t, held, yq);
                }
        }
}

static void
predict_nn_float (const AugurModel *m, const AugurVmData *d, Preds *p)
{
        guint T = m->T, F = m->F, O = m->nn->cfg.n_out;
        g_autofree float *x = g_new (float, (gsize) PREDICT_CHUNK * T * F);
        g_autofree float *out = g_new (float, (gsize) PREDICT_CHUNK * O);
        g_autofree gsize *ks = g_new (gsize, PREDICT_CHUNK);
        gsize k1 = p->k0 + p->n_orig;
        guint B = 0;

        for (gsize k = p->k0; k <= k1; k++) {
                if (k < k1 && augur_vm_data_window_ok (d, k, T, 0)) {
                        memcpy (x + (gsize) B * T * F, d->feat + (k + 1 - T) * F, (gsize) T * F * sizeof *x);
                        ks[B++] = k;
                }
                if (B == PREDICT_CHUNK || (k == k1 && B > 0)) {
                        augur_model_predict (m, x, B, T, out);
                        for (guint b = 0; b < B; b++)
                                nn_out_to_preds (m, d, ks[b], out + (gsize) b * O, p);
                        B = 0;
                }
        }
}

static void
predict_nn_int (const AugurModel *m, const AugurVmData *d, Preds *p)
{
        g_autoptr (AugurModelQState) st = augur_model_q_state_new (m);
        g_autofree float *out = g_new (float, m->nnq->n_out);
        guint T = m->T, F = m->F;

        for (gsize k = p->k0; k < p->k0 + p->n_orig; k++) {
                if (!augur_vm_data_window_ok (d, k, T, 0))
                        continue;
                augur_model_forecast_window (m, st, d->feat + (k + 1 - T) * F, T, out);
                nn_out_to_preds (m, d, k, out, p);
        }
}

static void
predict_baseline (AugurBaselineKind kind, const AugurBaselineParams *bl, const AugurVmData *d,
                  guint H, Preds *p)
{
        g_autofree float *r = g_new (float, MAX (d->n, 1) * (gsize) H);

        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                augur_baseline_batch (kind, &bl[t], d->y + (gsize) t * d->n, d->grid->ts, d->n, r);
                for (gsize k = p->k0; k < p->k0 + p->n_orig; k++) {
                        for (guint h = 1; h <= H; h++) {
                                gsize i = preds_idx (p, H, t, k, h);

                                p->point[i] = r[k * H + h - 1];
                                p->upper[i] = p->point[i];
                        }
                }
        }
}

/* The regime of origin k of target t's series y (forecast.h VALIDATION
 * GATE), against model m's target scale (none without a model). */
static AugurRegime
regime_at (const AugurModel *m, int t, const float *y, gsize k)
{
        gsize n = MIN (k + 1, (gsize) AUGUR_REGIME_LOOKBACK + 1);

        return augur_regime_of ((AugurTarget) t, y + k + 1 - n, (guint) n, m ? m->target_scale[t] : NAN);
}

/* The served forecast (forecast.h VALIDATION GATE): nn_int's, and at each
 * gated (target, h) the point of the cell's baseline or mix, with the NN's
 * bound base raised to it, at the origins where the int NN forecasts (the
 * predictor serves the model only there). */
static void
predict_gated (const AugurModel *m, const AugurVmData *d, const Preds *nn_int, Preds *p)
{
        gsize len = (gsize) AUGUR_TARGET_N * p->n_orig * m->H;

        memcpy (p->point, nn_int->point, len * sizeof *p->point);
        memcpy (p->upper, nn_int->upper, len * sizeof *p->upper);
        for (int b = 0; b < AUGUR_BL_N; b++) {
                Preds bp = { 0 };
                gboolean used = FALSE;
                float w;

                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        for (int g = 0; g < AUGUR_REGIME_N; g++)
                                for (guint h = 1; h <= m->H; h++)
                                        used |= augur_serve_decode (m->serve[t][g][h - 1], &w) == b;
                if (!used)
                        continue;
                preds_alloc (&bp, p->k0, p->k0 + p->n_orig, m->H);
                predict_baseline ((AugurBaselineKind) b, m->bl, d, m->H, &bp);
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        const float *y = d->y + (gsize) t * d->n;

                        for (gsize k = p->k0; k < p->k0 + p->n_orig; k++) {
                                AugurRegime g = regime_at (m, t, y, k);

                                for (guint h = 1; h <= m->H; h++) {
                                        gsize i = preds_idx (p, m->H, t, k, h);
                                        guint8 sv = m->serve[t][g][h - 1];

                                        if (augur_serve_decode (sv, &w) != b || isnan (nn_int->point[i]))
                                                continue;
                                        /* A baseline without a point here drops
                                         * the point for every model (its own row
                                         * is NAN too): keep eval's rule. */
                                        p->point[i] = isnan (bp.point[i]) ? NAN
                                                      : augur_serve_mix (w, nn_int->point[i], bp.point[i]);
                                        p->upper[i] = MAX (nn_int->upper[i], p->point[i]);
                                }
                        }
                }
                preds_clear (&bp);
        }
}

/* ---------------------------------------------------- baseline fitting */

static gboolean
bl_point_ok (gpointer data, gsize k, guint h, int split)
{
        const AugurVmData *d = data;

        return d->split[k] == split && k + h < d->n && d->split[k + h] == split
               && augur_vm_data_window_ok (d, k, 1, h);
}

static gboolean
fit_baselines (const AugurDataset *ds, guint H, AugurBaselineParams *bl, GError **error)
{
        g_autofree AugurBaselineSeries *S = g_new0 (AugurBaselineSeries, MAX (ds->vms->len, 1));

        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                guint ns = 0;
                g_autoptr (GError) local = NULL;

                augur_baseline_params_init (&bl[t], H, ds->feat.step_s);
                for (guint v = 0; v < ds->vms->len; v++) {
                        const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                        S[ns].y = d->y + (gsize) t * d->n;
                        S[ns].ts = d->grid->ts;
                        S[ns].n = d->n;
                        S[ns].point_ok = bl_point_ok;
                        S[ns].data = (gpointer) d;
                        for (int sp = 0; sp < AUGUR_SPLIT_N; sp++) {
                                S[ns].origin_from[sp] = d->split_start[sp];
                                S[ns].origin_to[sp] = d->split_end[sp];
                        }
                        ns++;
                }
                if (!augur_baseline_fit (&bl[t], S, ns, AUGUR_SPLIT_TRAIN, AUGUR_SPLIT_VAL, &local)) {
                        /* A target without data (Azure has no memory): the
                         * baseline stays unfitted and forecasts NAN there. */
                        if (g_error_matches (local, AUGUR_BASELINE_ERROR, AUGUR_BASELINE_ERROR_NO_DATA))
                                continue;
                        g_propagate_prefixed_error (error, g_steal_pointer (&local), "target %s: ",
                                                    augur_target_name ((AugurTarget) t));
                        return FALSE;
                }
        }
        return TRUE;
}

/* ------------------------------------------------------ eval machinery */

typedef struct {
        guint64 n, covered;
        double sae, sse, sy, syy;
} Acc;

typedef struct {
        const AugurModel *model;        /* may be NULL                    */
        const AugurDataset *ds;
        const AugurBaselineParams *bl;  /* (AUGUR_TARGET_N)                */
        guint H, T, n_models;
        char names[AUGUR_EVAL_MAX_MODELS][32];
        AugurCalib *calib[AUGUR_EVAL_MAX_MODELS][AUGUR_TARGET_N];
        Acc *acc;                       /* (models, targets, H)            */
        gboolean score_test;            /* FALSE: calibration only (train) */
        gboolean online;
        AugurSplit score_split;         /* TEST, or VAL for tuning         */
        gboolean no_calib;              /* skip the calibration pass (MAE
                                         * only: the gate's choice)         */
        Acc *acc_regime;                /* (models, targets, regimes, H), or
                                         * NULL: scores by origin regime    */
        Acc *acc_mix;                   /* (targets, regimes, baselines,
                                         * AUGUR_MIX_N, H), or NULL: MIX
                                         * cells' scores by origin regime
                                         * (the gate's choice)              */
} Sweep;

#define SWEEP_NN_INT 1                  /* sweep rows: float, int, gated,  */
#define SWEEP_BL0    3                  /* then the baselines              */

static Acc *
sweep_acc_mix (Sweep *s, int t, AugurRegime g, int b, guint j, guint h)
{
        return &s->acc_mix[((((gsize) t * AUGUR_REGIME_N + g) * AUGUR_BL_N + b) * AUGUR_MIX_N + j) * s->H + h - 1];
}

/* Calibration and scoring ranges of one VM: scoring the test split
 * calibrates on validation; scoring validation (tuning, never the test
 * split) calibrates on the same number of training steps just before it. */
static void
sweep_ranges (const Sweep *s, const AugurVmData *d, AugurSplit *ret_cal_split,
              gsize *c0, gsize *c1, gsize *t0, gsize *t1)
{
        AugurSplit sc = s->score_split;
        AugurSplit cs = sc == AUGUR_SPLIT_TEST ? AUGUR_SPLIT_VAL : AUGUR_SPLIT_TRAIN;
        gsize len = d->split_end[sc] - d->split_start[sc];

        *ret_cal_split = cs;
        *t0 = d->split_start[sc];
        *t1 = d->split_end[sc];
        *c1 = d->split_end[cs];
        *c0 = d->split_start[cs];
        if (sc == AUGUR_SPLIT_VAL && *c1 > *c0 + len)
                *c0 = *c1 - len;
}

static Acc *
sweep_acc (Sweep *s, guint m, int t, guint h)
{
        return &s->acc[((gsize) m * AUGUR_TARGET_N + t) * s->H + h - 1];
}

static void
sweep_predict_vm (Sweep *s, const AugurVmData *d, gsize k0, gsize k1, Preds *preds)
{
        guint m = 0;

        if (s->model) {
                preds_alloc (&preds[m], k0, k1, s->H);
                predict_nn_float (s->model, d, &preds[m++]);
                preds_alloc (&preds[m], k0, k1, s->H);
                predict_nn_int (s->model, d, &preds[m++]);
                preds_alloc (&preds[m], k0, k1, s->H);
                predict_gated (s->model, d, &preds[m - 1], &preds[m]);
                m++;
        }
        for (int b = 0; b < AUGUR_BL_N; b++) {
                preds_alloc (&preds[m], k0, k1, s->H);
                predict_baseline ((AugurBaselineKind) b, s->bl, d, s->H, &preds[m++]);
        }
        g_assert (m == s->n_models);
}

/* Is (k, h) a scorable point of split sp for this VM (before model checks)? */
static gboolean
point_ok (const Sweep *s, const AugurVmData *d, int t, gsize k, guint h, AugurSplit sp)
{
        return d->split[k] == sp && k + h < d->n && d->split[k + h] == sp
               && augur_vm_data_window_ok (d, k, s->T, h) && !isnan (d->y[(gsize) t * d->n + k + h]);
}

static void
sweep_calibrate_vm (Sweep *s, const AugurVmData *d, const Preds *preds)
{
        AugurSplit cs;
        gsize k0, k1, t0, t1;
        /* Training only needs the global margins: skip the per-VM rings. */
        const char *vm = s->score_test ? d->grid->vm : NULL;

        sweep_ranges (s, d, &cs, &k0, &k1, &t0, &t1);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (gsize k = k0; k < k1; k++)
                        for (guint h = 1; h <= s->H; h++) {
                                float y;

                                if (!point_ok (s, d, t, k, h, cs))
                                        continue;
                                y = d->y[(gsize) t * d->n + k + h];
                                for (guint m = 0; m < s->n_models; m++) {
                                        float base = preds[m].upper[preds_idx (&preds[m], s->H, t, k, h)];

                                        if (!isnan (base))
                                                augur_calib_add (s->calib[m][t], vm, h, y - base, FALSE);
                                }
                        }
}

static void
sweep_score_vm (Sweep *s, const AugurVmData *d, const Preds *preds)
{
        AugurSplit ss = s->score_split;
        gsize k0 = d->split_start[ss];

        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                const float *yt = d->y + (gsize) t * d->n;

                for (gsize k = k0; k < d->n; k++) {
                        AugurRegime g = regime_at (s->model, t, yt, k);

                        /* Online conformal: targets at step k are known now. */
                        for (guint h = 1; s->online && h <= s->H && h <= k; h++) {
                                gsize ko = k - h;
                                float y;

                                if (ko < k0 || !point_ok (s, d, t, ko, h, ss))
                                        continue;
                                y = d->y[(gsize) t * d->n + k];
                                for (guint m = 0; m < s->n_models; m++) {
                                        float base = preds[m].upper[preds_idx (&preds[m], s->H, t, ko, h)];

                                        if (!isnan (base))
                                                augur_calib_add (s->calib[m][t], d->grid->vm, h, y - base, TRUE);
                                }
                        }
                        for (guint h = 1; h <= s->H; h++) {
                                gboolean all = TRUE;
                                float y;

                                if (!point_ok (s, d, t, k, h, ss))
                                        continue;
                                for (guint m = 0; m < s->n_models && all; m++)
                                        if (isnan (preds[m].point[preds_idx (&preds[m], s->H, t, k, h)])
                                            || isnan (preds[m].upper[preds_idx (&preds[m], s->H, t, k, h)]))
                                                all = FALSE;
                                /* Seasonal naive needs yesterday: its absence
                                 * drops the point for every model alike. */
                                if (!all)
                                        continue;
                                y = d->y[(gsize) t * d->n + k + h];
                                for (guint m = 0; m < s->n_models; m++) {
                                        gsize i = preds_idx (&preds[m], s->H, t, k, h);
                                        float e = y - preds[m].point[i];
                                        float ub = preds[m].upper[i] + augur_calib_margin (s->calib[m][t], d->grid->vm, h);
                                        Acc *a = sweep_acc (s, m, t, h);

                                        if (s->acc_regime) {
                                                Acc *ar = &s->acc_regime[(((gsize) m * AUGUR_TARGET_N + t)
                                                                          * AUGUR_REGIME_N + g) * s->H + h - 1];

                                                ar->n++;
                                                ar->sae += fabs ((double) e);
                                        }
                                        a->n++;
                                        a->sae += fabs ((double) e);
                                        a->sse += (double) e * e;
                                        a->sy += y;
                                        a->syy += (double) y * y;
                                        if (y <= ub)
                                                a->covered++;
                                }
                                for (int b = 0; s->acc_mix && b < AUGUR_BL_N; b++) {
                                        gsize i = preds_idx (&preds[SWEEP_NN_INT], s->H, t, k, h);
                                        float nn = preds[SWEEP_NN_INT].point[i], bl = preds[SWEEP_BL0 + b].point[i];

                                        for (guint j = 0; j < AUGUR_MIX_N; j++) {
                                                Acc *am = sweep_acc_mix (s, t, g, b, j, h);
                                                float w = AUGUR_MIX_W (j);

                                                am->n++;
                                                am->sae += fabs ((double) (y - (w * nn + (1.0f - w) * bl)));
                                        }
                                }
                        }
                }
        }
}

static void
sweep_init (Sweep *s, const AugurModel *model, const AugurDataset *ds, const AugurBaselineParams *bl,
            guint H, guint T, float coverage)
{
        memset (s, 0, sizeof *s);
        s->model = model;
        s->ds = ds;
        s->bl = bl;
        s->H = H;
        s->T = T;
        if (model) {
                const char *arch = augur_arch_name (model->nn->cfg.arch);

                g_snprintf (s->names[s->n_models++], 32, "%s_float", arch);
                g_snprintf (s->names[s->n_models++], 32, "%s_int", arch);
                g_snprintf (s->names[s->n_models++], 32, "%s_gated", arch);
        }
        for (int b = 0; b < AUGUR_BL_N; b++)
                g_strlcpy (s->names[s->n_models++], augur_baseline_name ((AugurBaselineKind) b), 32);
        for (guint m = 0; m < s->n_models; m++)
                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        s->calib[m][t] = augur_calib_new (H, coverage, 0, 0);
        s->acc = g_new0 (Acc, (gsize) s->n_models * AUGUR_TARGET_N * H);
}

static void
sweep_clear (Sweep *s)
{
        for (guint m = 0; m < s->n_models; m++)
                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        augur_calib_free (s->calib[m][t]);
        g_free (s->acc);
        g_free (s->acc_regime);
        g_free (s->acc_mix);
}

/* Calibration pass over every VM's validation, then (if score_test) the
 * test pass. */
static void
sweep_run (Sweep *s)
{
        Preds preds[AUGUR_EVAL_MAX_MODELS];

        memset (preds, 0, sizeof preds);
        for (guint v = 0; !s->no_calib && v < s->ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (s->ds->vms, v);

                AugurSplit cs;
                gsize c0, c1, t0, t1;

                sweep_ranges (s, d, &cs, &c0, &c1, &t0, &t1);
                if (c0 >= c1)
                        continue;
                sweep_predict_vm (s, d, c0, c1, preds);
                sweep_calibrate_vm (s, d, preds);
                for (guint m = 0; m < s->n_models; m++)
                        preds_clear (&preds[m]);
        }
        if (!s->score_test)
                return;
        for (guint v = 0; v < s->ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (s->ds->vms, v);
                AugurSplit cs;
                gsize c0, c1, t0, t1;

                sweep_ranges (s, d, &cs, &c0, &c1, &t0, &t1);
                if (t0 >= t1)
                        continue;
                sweep_predict_vm (s, d, t0, t1, preds);
                sweep_score_vm (s, d, preds);
                for (guint m = 0; m < s->n_models; m++)
                        preds_clear (&preds[m]);
        }
}

GArray *
augur_forecast_eval (const AugurModel *model, const AugurDataset *ds,
                     const AugurEvalConfig *cfg, GError **error)
{
        AugurBaselineParams bl[AUGUR_TARGET_N];
        guint H = model ? model->H : cfg->H;
        guint T = model ? model->T : cfg->T;
        AugurSplit sp = cfg->on_validation ? AUGUR_SPLIT_VAL : AUGUR_SPLIT_TEST;
        GArray *rows;
        Sweep s;

        if (H < 1 || H > AUGUR_FORECAST_MAX_H) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "horizon %u: must be 1..%u", H, AUGUR_FORECAST_MAX_H);
                return NULL;
        }
        if (!augur_dataset_check_shape (ds, T, H, sp, NULL, error))
                return NULL;
        if (!fit_baselines (ds, H, bl, error))
                return NULL;
        sweep_init (&s, model, ds, bl, H, T, cfg->coverage);
        s.score_test = TRUE;
        s.online = cfg->online_calib;
        s.score_split = sp;
        sweep_run (&s);

        rows = g_array_new (FALSE, TRUE, sizeof (AugurEvalRow));
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                for (guint h = 1; h <= H; h++) {
                        for (guint m = 0; m < s.n_models; m++) {
                                const Acc *a = sweep_acc (&s, m, t, h);
                                AugurEvalRow r = { 0 };
                                double mean, sst;

                                if (a->n == 0)
                                        continue;
                                r.target = (AugurTarget) t;
                                r.h = h;
                                g_strlcpy (r.model, s.names[m], sizeof r.model);
                                r.n = a->n;
                                r.mae = a->sae / a->n;
                                r.rmse = sqrt (a->sse / a->n);
                                mean = a->sy / a->n;
                                sst = a->syy - a->n * mean * mean;
                                r.r2 = sst > 0 ? 1.0 - a->sse / sst : NAN;
                                r.coverage = (double) a->covered / a->n;
                                g_array_append_val (rows, r);
                        }
                }
        }
        sweep_clear (&s);
        if (rows->len == 0) {
                g_array_unref (rows);
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                             "no test point: series too short or too gappy for a %u-step window", T);
                return NULL;
        }
        return rows;
}

const AugurEvalRow *
augur_eval_find_row (const GArray *rows, AugurTarget t, guint h, const char *model)
{
        for (guint i = 0; i < rows->len; i++) {
                const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);

                if (r->target == t && r->h == h && strcmp (r->model, model) == 0)
                        return r;
        }
        return NULL;
}

/* Mean over h = 1..H of the MAE of (target, model); NAN when a horizon
 * has no row. */
static double
mae_mean (const GArray *rows, AugurTarget t, const char *model, guint H)
{
        double sum = 0;

        for (guint h = 1; h <= H; h++) {
                const AugurEvalRow *r = augur_eval_find_row (rows, t, h, model);

                if (!r)
                        return NAN;
                sum += r->mae;
        }
        return sum / H;
}

GArray *
augur_eval_summarize (const GArray *rows, guint H)
{
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurEvalSummary));

        g_return_val_if_fail (rows != NULL && H >= 1, out);
        /* O(rows^2 / models): a few thousand rows at most (4 targets x 48 h
         * x 7 models), run once per eval. */
        for (guint i = 0; i < rows->len; i++) {
                const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);
                AugurEvalSummary sum = { 0 };

                if (r->h != 1)
                        continue;
                sum.target = r->target;
                g_strlcpy (sum.model, r->model, sizeof sum.model);
                sum.H = H;
                sum.mae_mean = mae_mean (rows, r->target, r->model, H);
                if (isnan (sum.mae_mean))
                        continue;
                sum.rel_last_value = sum.mae_mean / mae_mean (rows, r->target,
                                                              augur_baseline_name (AUGUR_BL_LAST_VALUE), H);
                g_array_append_val (out, sum);
        }
        return out;
}

gboolean
augur_forecast_calibrate (AugurModel *m, const AugurDataset *ds, GError **error)
{
        Sweep s;

        if (!fit_baselines (ds, m->H, m->bl, error))
                return FALSE;
        sweep_init (&s, m, ds, m->bl, m->H, m->T, m->coverage);
        s.score_test = FALSE;
        s.score_split = AUGUR_SPLIT_TEST;   /* i.e. calibrate on validation */
        sweep_run (&s);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                augur_calib_global_margins (s.calib[0][t], m->nn_margin[0][t]);
                augur_calib_global_margins (s.calib[1][t], m->nn_margin[1][t]);
                /* s.calib[2] is the gated row's (eval only): the
                 * predictor composes it from these (predictor.c). */
                for (int b = 0; b < AUGUR_BL_N; b++)
                        augur_calib_global_margins (s.calib[3 + b][t], m->bl_margin[t][b]);
        }
        sweep_clear (&s);
        return TRUE;
}

gboolean
augur_forecast_choose_gate (AugurModel *m, const AugurDataset *ds, GError **error)
{
        Sweep s;

        memset (m->serve, AUGUR_SERVE_NN, sizeof m->serve);
        if (!augur_dataset_check_shape (ds, m->T, m->H, AUGUR_SPLIT_VAL, NULL, error))
                return FALSE;
        /* MAE only: no margins, so no calibration pass and no online one. */
        sweep_init (&s, m, ds, m->bl, m->H, m->T, m->coverage);
        s.score_test = TRUE;
        s.online = FALSE;
        s.no_calib = TRUE;
        s.score_split = AUGUR_SPLIT_VAL;
        s.acc_regime = g_new0 (Acc, (gsize) s.n_models * AUGUR_TARGET_N * AUGUR_REGIME_N * m->H);
        s.acc_mix = g_new0 (Acc, (gsize) AUGUR_TARGET_N * AUGUR_REGIME_N * AUGUR_BL_N * AUGUR_MIX_N * m->H);
        sweep_run (&s);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (int g = 0; g < AUGUR_REGIME_N; g++)
                        for (guint h = 1; h <= m->H; h++) {
                                const Acc *a = &s.acc_regime[((SWEEP_NN_INT * AUGUR_TARGET_N + t) * AUGUR_REGIME_N + g)
                                                             * m->H + h - 1];
                                double best;

                                if (a->n == 0)
                                        continue;
                                best = a->sae / a->n;
                                for (int b = 0; b < AUGUR_BL_N; b++) {
                                        const Acc *ab = &s.acc_regime[(((SWEEP_BL0 + b) * AUGUR_TARGET_N + t)
                                                                       * AUGUR_REGIME_N + g) * m->H + h - 1];

                                        /* Identical points: ab->n == a->n.  A tie
                                         * goes to the baseline: the NN must beat it. */
                                        if (ab->sae / ab->n <= best) {
                                                best = ab->sae / ab->n;
                                                m->serve[t][g][h - 1] = AUGUR_SERVE_BL (b);
                                        }
                                }
                                /* A mix must beat every cell alone. */
                                for (int b = 0; b < AUGUR_BL_N; b++)
                                        for (guint j = 0; j < AUGUR_MIX_N; j++) {
                                                const Acc *am = sweep_acc_mix (&s, t, (AugurRegime) g, b, j, h);

                                                if (am->n == a->n && am->sae / am->n < best) {
                                                        best = am->sae / am->n;
                                                        m->serve[t][g][h - 1] = AUGUR_SERVE_MIX (b, j);
                                                }
                                        }
                        }
        sweep_clear (&s);
        return TRUE;
}
