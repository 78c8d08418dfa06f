/* forecast.c — training and evaluation of the forecaster.  API: forecast.h.
 *
 * What it is: the glue between the dataset (dataset.h), the NN (nn.h,
 * nn-q.h, owned by the NN module), the baselines and the calibration.
 * What it is not: the NN arithmetic or the model-file container (blob.c);
 * this file only adds one metadata section to it.
 *
 * PROBLEM
 * =======
 * Inputs: a window of T feature vectors (augur-features.h) ending at the
 * forecast origin k.  Outputs (O = 4 targets * 2 heads * H):
 *   targets   cpu_pct, mem_pct (acted on), disk_kibps, net_kibps (reported)
 *   heads     point (MSE, or pinball 0.5 = MAE with --point-loss mae)
 *             upper (pinball at quantile q, default 0.95)
 *   horizons  1..H steps (default 12 = 1 h at 5 min)
 * out[((t * 2 + head) * H) + h - 1].  The net predicts the *change* from the
 * held value at the origin in units of s_t:
 *     target = (u(y[k+h]) - u(held[k])) / s_t          u = identity for cpu,
 *     forecast = u^-1(u(held[k]) + s_t * out)           mem; log1p for disk,
 *                                                       net (heavy tails)
 * so "no change" is the zero output and every VM shares one scale (the
 * metric is pooled in percentage points, so the loss must not re-weight
 * idle VMs the way a per-VM scale would; per-VM levels enter as features).
 * TARGET SCALES: s_t = mean |u(y[k+1]) - u(held[k])| over the training
 * split, per target.  The global sd was the first choice and starved cpu:
 * on Bitbrains its typical change (0.5 pt) is 3 % of its sd (17 pt) while
 * memory's is 12 %, so the summed loss hardly looked at cpu.  Scaling by
 * the typical change gives every target a comparable share of the loss.
 *
 * POINTS AND SPLITS: a point is (VM, origin k, horizon h) with a usable
 * window (dataset.h window rule) and a present target; it belongs to split
 * S when k and k + h are both in S.  Train = origins and targets in train;
 * early stopping on validation loss; the test split is touched only by
 * augur_forecast_eval().  The int model is the NN owner's fixed-point copy
 * of the float weights at the best epoch.
 *
 * TRAINING: per epoch a random sample of windows_per_epoch training windows
 * (shuffled with a splitmix64 stream seeded from cfg->seed, so runs
 * repeat; the NN seeds its own generator from the same seed), Adam via
 * augur_nn_train_batch(); validation loss on a fixed sample; keep the best
 * weights; stop after `patience` epochs without improvement or at the time
 * budget.  Cost per epoch ~ windows * 3*T*G*H*(F+H) MACs (nn.h).
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
 *
 * RUNTIME: augur_net_forecaster_vm_step() (end of this file) is the daemon's
 * per-step path; tests/test-forecast.c checks that it forecasts exactly
 * what evaluation computes from the batch features.
 *
 * MODEL FILE METADATA (blob user section 0x100, "augur-meta")
 *   UTF-8 JSON, one object, version 2:
 *   { "version":2, "features":[names...], "groups":mask, "step_s":300,
 *     "max_fill_steps":2, "norm":{"mean":[11], "sd":[11]} (AugurSig order),
 *     "targets":["cpu_pct","mem_pct","disk_kibps","net_kibps"],
 *     "horizons":H, "window":T, "quantile":q, "coverage":c,
 *     "point_loss":"mse"|"mae", "split":"time"|"vm", "target_scale":[4],
 *     "calib":{"<model>":{"<target>":[H margins]}},
 *     "baselines":{"<target>":{"ewma_alpha":a,"ridge_lambda":l,
 *                  "ridge_ok":b,"ridge_w":[[P]...H]}},
 *     "train":{"seconds":s,"epochs":e,"best_epoch":b} }
 *   JSON because it is small (a few KiB), self-describing, and readable
 *   with `strings`; floats are written with 17 digits and read back
 *   exactly.  The loader checks the feature names against this build's
 *   table and refuses a model whose features it does not compute.
 *   Version 2 added the BUCKETS feature group (bit 0x20, features appended
 *   after the activity ones), nothing else: a version-1 file (mask <= 0x1f)
 *   loads unchanged, and a version-1 file claiming bit 0x20 is refused.  The
 *   bump makes an older augur refuse a version-2 file by its version, with
 *   a message that says so, instead of by its mask.
 *   Version 3 adds "input_row": the version of the model's input row it
 *   was trained on (common/units.h AUGUR_MODEL_ROW_VERSION).  Files
 *   before it carry row 1 (capacities = the balloon and online vCPUs when
 *   trained from augurd's history) and are refused with a message that
 *   says to retrain: a model must be served the signal it learnt.
 *   Version 4 added the RECENCY feature group (bit 0x40, features appended
 *   after the buckets; opt-in, `train --recency`): files of versions 1-3
 *   load unchanged, one of them claiming bit 0x40 is refused, and an older
 *   augur refuses a version-4 file by its version.
 */
#include "forecast.h"
#include "blob.h"
#include "calib.h"
#include "units.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (augur-forecast-error-quark, augur_forecast_error)

#define META_SECTION_ID   (AUGUR_BLOB_SECTION_USER + 0)
#define META_VERSION      4
#define META_VERSION_MIN  1   /* read, and refused by input_row below */
#define PREDICT_CHUNK     1024   /* windows per augur_nn_predict call */

void
augur_train_config_init (AugurTrainConfig *cfg)
{
        memset (cfg, 0, sizeof *cfg);
        /* Tuned on the validation splits of Bitbrains Rnd and Azure
         * (BENCHMARKS-model.md): GRU matched LSTM at 3/4 of the cost, a
         * 1 h window matched 2 h at half the cost, hidden 48 beat 32. */
        cfg->arch = AUGUR_ARCH_GRU;
        cfg->hidden = 48;
        cfg->H = 12;
        cfg->T = 12;
        cfg->step_s = AUGUR_FEAT_DEFAULT_STEP_S;
        cfg->epochs = 24;
        cfg->patience = 3;
        cfg->batch = 128;
        cfg->windows_per_epoch = 32768;
        cfg->onset_weight = 1;
        cfg->val_windows = 16384;
        cfg->lr = 3e-3f;
        cfg->quantile = 0.95f;
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        cfg->point_loss = AUGUR_POINT_LOSS_MSE;
        cfg->seed = 1;
        cfg->split = AUGUR_SPLIT_BY_TIME;
        cfg->no_activity = FALSE;
        cfg->time_budget_s = 0;
}

void
augur_eval_config_init (AugurEvalConfig *cfg)
{
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        cfg->online_calib = TRUE;
        cfg->T = 12;
        cfg->H = 12;
        cfg->on_validation = FALSE;
}

void
augur_model_free (AugurModel *m)
{
        if (!m)
                return;
        augur_nn_free (m->nn);
        augur_nnq_free (m->nnq);
        g_free (m);
}

void
augur_dataset_free (AugurDataset *ds)
{
        if (!ds)
                return;
        g_clear_pointer (&ds->vms, g_ptr_array_unref);
        g_free (ds);
}

/* ------------------------------------------------------------- random */

static guint64
splitmix64 (guint64 *s)
{
        guint64 z = (*s += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

        z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
        return z ^ (z >> 31);
}

/* ------------------------------------------------------------ targets */

static float
tgt_u (AugurTarget t, float v)
{
        if (isnan (v))
                return NAN;
        if (t == AUGUR_TARGET_DISK_KIBPS || t == AUGUR_TARGET_NET_KIBPS)
                return log1pf (MAX (v, 0.0f));
        return v;
}

static float
tgt_u_inv (AugurTarget t, float u)
{
        if (t == AUGUR_TARGET_DISK_KIBPS || t == AUGUR_TARGET_NET_KIBPS)
                return expm1f (u);
        return u;
}

/* Output unit of target t: the mean absolute one-step change of u on the
 * training split (TARGET SCALES in the design comment). */
static void
compute_target_scales (const AugurDataset *ds, float *ret)
{
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurSig sig = augur_target_sig ((AugurTarget) t);
                double sum = 0;
                guint64 n = 0;

                for (guint v = 0; v < ds->vms->len; v++) {
                        const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                        for (gsize k = 0; k + 1 < d->n; k++) {
                                float a, b;

                                if (d->split[k] != AUGUR_SPLIT_TRAIN || d->split[k + 1] != AUGUR_SPLIT_TRAIN
                                    || !augur_vm_data_window_ok (d, k, 1, 1))
                                        continue;
                                a = tgt_u ((AugurTarget) t, d->held[k * AUGUR_SIG_N + sig]);
                                b = tgt_u ((AugurTarget) t, d->y[(gsize) t * d->n + k + 1]);
                                if (isnan (a) || isnan (b))
                                        continue;
                                sum += fabs ((double) b - a);
                                n++;
                        }
                }
                ret[t] = n ? (float) MAX (sum / n, 1e-3) : 1.0f;
        }
}

/* --------------------------------------------------------------- data */

static gboolean
any_col (const GPtrArray *series, const AugurCol *cols, guint n)
{
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                for (guint c = 0; c < n; c++)
                        if (s->col[cols[c]])
                                return TRUE;
        }
        return FALSE;
}

AugurDataset *
augur_dataset_prepare (const GPtrArray *series, AugurFeatConfig *feat,
                       AugurSplitMode split, gboolean fit_norm)
{
        static const AugurCol io_cols[] = {
                AUGUR_COL_DISK_RD_KIBPS, AUGUR_COL_DISK_WR_KIBPS,
                AUGUR_COL_NET_RX_KIBPS, AUGUR_COL_NET_TX_KIBPS,
        };
        static const AugurCol host_cols[] = {
                AUGUR_COL_HOST_LOAD1, AUGUR_COL_HOST_PSI_CPU,
                AUGUR_COL_HOST_PSI_MEM, AUGUR_COL_HOST_PSI_IO,
        };
        static const AugurCol act_cols[] = {
                AUGUR_COL_INPUT_EVENTS_PER_MIN, AUGUR_COL_SESSIONS,
                AUGUR_COL_PROC_STARTS_PER_MIN,
        };
        static const AugurCol bkt_cols[] = {
                AUGUR_COL_PROG_B0, AUGUR_COL_PROG_B0 + 1, AUGUR_COL_PROG_B0 + 2,
                AUGUR_COL_PROG_B0 + 3, AUGUR_COL_PROG_B0 + 4, AUGUR_COL_PROG_B0 + 5,
                AUGUR_COL_PROG_B0 + 6, AUGUR_COL_PROG_B7,
                AUGUR_COL_USER_B0, AUGUR_COL_USER_B0 + 1, AUGUR_COL_USER_B0 + 2,
                AUGUR_COL_USER_B3,
        };
        g_autoptr (AugurDataset) ds = g_new0 (AugurDataset, 1);
        g_autoptr (GPtrArray) grids = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);

        for (guint i = 0; i < series->len; i++)
                g_ptr_array_add (grids, augur_dataset_resample (g_ptr_array_index (series, i),
                                                                feat->step_s, &ds->resample));
        if (fit_norm) {
                g_autofree gsize *from = g_new0 (gsize, grids->len);
                g_autofree gsize *to = g_new0 (gsize, grids->len);

                if (!any_col (series, io_cols, G_N_ELEMENTS (io_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_IO;
                if (!any_col (series, host_cols, G_N_ELEMENTS (host_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_HOST;
                if (!any_col (series, act_cols, G_N_ELEMENTS (act_cols)))
                        feat->groups &= ~(guint) (AUGUR_FEAT_GROUP_ACTIVITY | AUGUR_FEAT_GROUP_RECENCY);
                if (!any_col (series, bkt_cols, G_N_ELEMENTS (bkt_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
                for (guint i = 0; i < grids->len; i++) {
                        const AugurSeries *g = g_ptr_array_index (grids, i);
                        gsize a, b;

                        if (split == AUGUR_SPLIT_BY_VM) {
                                to[i] = augur_dataset_vm_split (g->vm) == AUGUR_SPLIT_TRAIN ? g->n : 0;
                        } else {
                                augur_dataset_time_split (g->n, &a, &b);
                                to[i] = a;
                        }
                }
                augur_features_norm_fit (&feat->norm, grids, from, to);
        }
        feat->groups |= AUGUR_FEAT_GROUP_CORE;
        ds->feat = *feat;
        ds->vms = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_vm_data_free);
        while (grids->len > 0) {
                AugurSeries *g = g_ptr_array_steal_index (grids, 0);

                g_ptr_array_add (ds->vms, augur_vm_data_build (g, feat, split));
        }
        return g_steal_pointer (&ds);
}

/* A training / validation point list: (vm index, origin k). */
typedef struct {
        guint32 vm;
        guint32 k;
} WinRef;

/* Does origin k of d have at least one usable target in split sp? */
static gboolean
window_in_split (const AugurVmData *d, gsize k, guint T, guint H, AugurSplit sp)
{
        if (d->split[k] != sp || !augur_vm_data_window_ok (d, k, T, 1))
                return FALSE;
        return k + 1 < d->n && d->split[k + 1] == sp;
}

/* Does memory rise by AUGUR_ONSET_RISE_PCT points or more over the held
 * value at origin k within the next 3 steps (a spike's onset ahead)? */
static gboolean
onset_ahead (const AugurVmData *d, gsize k)
{
        float base = d->held[k * AUGUR_SIG_N + AUGUR_SIG_MEM];

        for (gsize h = 1; h <= 3 && k + h < d->n && !isnan (base); h++) {
                float v = d->y[(gsize) AUGUR_TARGET_MEM_PCT * d->n + k + h];

                if (!isnan (v) && v - base >= AUGUR_ONSET_RISE_PCT)
                        return TRUE;
        }
        return FALSE;
}

/* The windows of split sp; with weight > 1, a window with an onset ahead
 * is listed weight times (training: the sample sees onsets more often). */
static GArray *
collect_windows (const AugurDataset *ds, guint T, guint H, AugurSplit sp, guint weight)
{
        GArray *w = g_array_new (FALSE, FALSE, sizeof (WinRef));

        for (guint v = 0; v < ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                for (gsize k = 0; k < d->n; k++) {
                        WinRef r = { v, (guint32) k };

                        guint rep = 1;

                        if (!window_in_split (d, k, T, H, sp))
                                continue;
                        if (weight > 1 && onset_ahead (d, k))
                                rep = weight;
                        for (guint i = 0; i < rep; i++)
                                g_array_append_val (w, r);
                }
        }
        return w;
}

/* Fill x (T, F), y (O), mask (O) of one window.  Targets outside split sp
 * or beyond a gap are masked. */
static void
fill_window (const AugurDataset *ds, const float *scales, const WinRef *r, guint T, guint H, AugurSplit sp,
             float *x, float *y, guint8 *mask)
{
        const AugurVmData *d = g_ptr_array_index (ds->vms, r->vm);
        gsize k = r->k;
        guint F = d->F;

        memcpy (x, d->feat + (k + 1 - T) * F, (gsize) T * F * sizeof *x);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurSig sig = augur_target_sig ((AugurTarget) t);
                float base = tgt_u ((AugurTarget) t, d->held[k * AUGUR_SIG_N + sig]);
                float scale = scales[t];

                for (guint h = 1; h <= H; h++) {
                        float v = NAN;
                        gboolean ok = k + h < d->n && d->split[k + h] == sp
                                      && augur_vm_data_window_ok (d, k, T, h) && !isnan (base);

                        if (ok)
                                v = tgt_u ((AugurTarget) t, d->y[(gsize) t * d->n + k + h]);
                        ok = ok && !isnan (v);
                        for (guint head = 0; head < AUGUR_FORECAST_HEADS; head++) {
                                guint o = augur_model_out_index (H, (AugurTarget) t, head, h);

                                y[o] = ok ? (v - base) / scale : 0.0f;
                                mask[o] = ok ? 1 : 0;
                        }
                }
        }
}

static void
shuffle_windows (GArray *w, guint64 *rng)
{
        WinRef *a = (WinRef *) w->data;

        for (guint i = w->len; i > 1; i--) {
                guint j = (guint) (splitmix64 (rng) % i);
                WinRef t = a[i - 1];

                a[i - 1] = a[j];
                a[j] = t;
        }
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
                float base = tgt_u ((AugurTarget) t, d->held[k * AUGUR_SIG_N + sig]);
                float scale = m->target_scale[t];

                if (isnan (base))
                        continue;
                for (guint h = 1; h <= m->H; h++) {
                        gsize i = preds_idx (p, m->H, t, k, h);
                        float yp = out[augur_model_out_index (m->H, (AugurTarget) t, 0, h)];
                        float yq = out[augur_model_out_index (m->H, (AugurTarget) t, 1, h)];

                        p->point[i] = tgt_u_inv ((AugurTarget) t, base + scale * yp);
                        p->upper[i] = tgt_u_inv ((AugurTarget) t, base + scale * yq);
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
                        augur_nn_predict (m->nn, x, B, T, out);
                        for (guint b = 0; b < B; b++)
                                nn_out_to_preds (m, d, ks[b], out + (gsize) b * O, p);
                        B = 0;
                }
        }
}

static void
predict_nn_int (const AugurModel *m, const AugurVmData *d, Preds *p)
{
        g_autoptr (AugurNNQState) st = augur_nnq_state_new (m->nnq);
        g_autofree float *out = g_new (float, m->nnq->n_out);
        guint T = m->T, F = m->F;

        for (gsize k = p->k0; k < p->k0 + p->n_orig; k++) {
                if (!augur_vm_data_window_ok (d, k, T, 0))
                        continue;
                augur_nnq_forecast_window (m->nnq, st, d->feat + (k + 1 - T) * F, T, out);
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

/* ---------------------------------------------------- baseline fitting */

typedef struct {
        const AugurVmData *d;
} BlFitData;

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
} Sweep;

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
                for (gsize k = k0; k < d->n; k++) {
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

                                        a->n++;
                                        a->sae += fabs ((double) e);
                                        a->sse += (double) e * e;
                                        a->sy += y;
                                        a->syy += (double) y * y;
                                        if (y <= ub)
                                                a->covered++;
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
}

/* Calibration pass over every VM's validation, then (if score_test) the
 * test pass. */
static void
sweep_run (Sweep *s)
{
        Preds preds[AUGUR_EVAL_MAX_MODELS];

        memset (preds, 0, sizeof preds);
        for (guint v = 0; v < s->ds->vms->len; v++) {
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
        GArray *rows;
        Sweep s;

        if (!fit_baselines (ds, H, bl, error))
                return NULL;
        sweep_init (&s, model, ds, bl, H, T, cfg->coverage);
        s.score_test = TRUE;
        s.online = cfg->online_calib;
        s.score_split = cfg->on_validation ? AUGUR_SPLIT_VAL : AUGUR_SPLIT_TEST;
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

/* -------------------------------------------------------------- train */

static float
eval_loss (AugurNN *nn, const AugurDataset *ds, const float *scales, const GArray *w, guint T, guint H,
           guint batch, float *x, float *y, guint8 *mask)
{
        guint F = ds->feat.groups ? augur_features_count (ds->feat.groups) : 0;
        guint O = nn->cfg.n_out;
        double sum = 0;
        gsize n_all = 0;

        for (guint i = 0; i < w->len; i += batch) {
                guint B = MIN (batch, w->len - i);
                gsize n = 0;
                float l;

                for (guint b = 0; b < B; b++)
                        fill_window (ds, scales, &g_array_index (w, WinRef, i + b), T, H, AUGUR_SPLIT_VAL,
                                     x + (gsize) b * T * F, y + (gsize) b * O, mask + (gsize) b * O);
                l = augur_nn_loss (nn, x, y, mask, B, T, &n);
                sum += (double) l * n;
                n_all += n;
        }
        return n_all ? (float) (sum / n_all) : NAN;
}

AugurModel *
augur_forecast_train (const AugurDataset *ds, const AugurTrainConfig *cfg,
                      AugurTrainProgressFunc progress, gpointer user_data, GError **error)
{
        g_autoptr (AugurModel) m = g_new0 (AugurModel, 1);
        g_autoptr (GArray) tw = NULL;
        g_autoptr (GArray) vw = NULL;
        g_autoptr (AugurNN) best = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        g_autofree float *tau = NULL;
        g_autofree float *x = NULL;
        g_autofree float *y = NULL;
        g_autofree guint8 *mask = NULL;
        AugurNNConfig ncfg;
        guint F, O, T = cfg->T, H = cfg->H, bad_epochs = 0;
        float best_val = INFINITY;
        guint64 rng = cfg->seed ^ G_GUINT64_CONSTANT (0x5DEECE66D);
        Sweep s;

        if (H == 0 || H > AUGUR_FORECAST_MAX_H || T == 0 || cfg->hidden == 0 || cfg->batch == 0) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "horizon must be 1..%u, window, hidden and batch > 0", AUGUR_FORECAST_MAX_H);
                return NULL;
        }
        m->feat = ds->feat;
        m->F = F = augur_features_count (ds->feat.groups);
        m->H = H;
        m->T = T;
        m->quantile = cfg->quantile;
        m->coverage = cfg->coverage;
        m->point_loss = cfg->point_loss;
        m->split = cfg->split;
        O = AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * H;
        compute_target_scales (ds, m->target_scale);

        tw = collect_windows (ds, T, H, AUGUR_SPLIT_TRAIN, cfg->onset_weight);
        vw = collect_windows (ds, T, H, AUGUR_SPLIT_VAL, 1);
        if (tw->len == 0 || vw->len == 0) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                             "no %s window of %u steps (series too short or too gappy)",
                             tw->len == 0 ? "training" : "validation", T);
                return NULL;
        }
        /* A fixed validation sample (same for every epoch). */
        shuffle_windows (vw, &rng);
        if (cfg->val_windows && vw->len > cfg->val_windows)
                g_array_set_size (vw, cfg->val_windows);

        tau = g_new (float, O);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (guint h = 1; h <= H; h++) {
                        tau[augur_model_out_index (H, (AugurTarget) t, 0, h)] =
                                cfg->point_loss == AUGUR_POINT_LOSS_MAE ? 0.5f : -1.0f;
                        tau[augur_model_out_index (H, (AugurTarget) t, 1, h)] = cfg->quantile;
                }
        augur_nn_config_init (&ncfg, F, cfg->hidden, O, cfg->arch);
        ncfg.tau = tau;
        ncfg.lr = cfg->lr;
        augur_nn_blas_threads_init ();
        m->nn = augur_nn_new (&ncfg, cfg->seed, error);
        if (!m->nn)
                return NULL;

        x = g_new (float, (gsize) cfg->batch * T * F);
        y = g_new (float, (gsize) cfg->batch * O);
        mask = g_new (guint8, (gsize) cfg->batch * O);

        for (guint e = 1; e <= cfg->epochs; e++) {
                guint n_win = cfg->windows_per_epoch ? MIN (cfg->windows_per_epoch, tw->len) : tw->len;
                double sum = 0;
                guint nb = 0;
                AugurTrainProgress pr = { 0 };
                float vl;
                double el;

                shuffle_windows (tw, &rng);
                for (guint i = 0; i < n_win; i += cfg->batch) {
                        guint B = MIN (cfg->batch, n_win - i);

                        for (guint b = 0; b < B; b++)
                                fill_window (ds, m->target_scale, &g_array_index (tw, WinRef, i + b), T, H, AUGUR_SPLIT_TRAIN,
                                             x + (gsize) b * T * F, y + (gsize) b * O, mask + (gsize) b * O);
                        sum += augur_nn_train_batch (m->nn, x, y, mask, B, T);
                        nb++;
                }
                vl = eval_loss (m->nn, ds, m->target_scale, vw, T, H, cfg->batch, x, y, mask);
                el = g_timer_elapsed (timer, NULL);
                pr.epoch = e;
                pr.epochs = cfg->epochs;
                pr.train_loss = nb ? (float) (sum / nb) : NAN;
                pr.val_loss = vl;
                pr.improved = vl < best_val;
                pr.elapsed_s = el;
                pr.eta_s = el / e * (cfg->epochs - e);
                m->epochs_run = e;
                if (pr.improved) {
                        best_val = vl;
                        m->best_epoch = e;
                        g_clear_pointer (&best, augur_nn_free);
                        best = augur_nn_copy (m->nn);
                        bad_epochs = 0;
                } else {
                        bad_epochs++;
                }
                if (progress)
                        progress (&pr, user_data);
                if (bad_epochs >= cfg->patience)
                        break;
                if (cfg->time_budget_s > 0 && el + el / e > cfg->time_budget_s)
                        break;
                if (cfg->cancel && g_atomic_int_get (cfg->cancel))
                        break;
        }
        if (best) {
                augur_nn_free (m->nn);
                m->nn = g_steal_pointer (&best);
        }
        m->nnq = augur_nnq_from_float (m->nn);
        m->train_seconds = g_timer_elapsed (timer, NULL);

        /* Baselines and global conformal margins, on validation. */
        if (!fit_baselines (ds, H, m->bl, error))
                return NULL;
        sweep_init (&s, m, ds, m->bl, H, T, cfg->coverage);
        s.score_test = FALSE;
        s.score_split = AUGUR_SPLIT_TEST;   /* i.e. calibrate on validation */
        sweep_run (&s);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                augur_calib_global_margins (s.calib[0][t], m->nn_margin[0][t]);
                augur_calib_global_margins (s.calib[1][t], m->nn_margin[1][t]);
                for (int b = 0; b < AUGUR_BL_N; b++)
                        augur_calib_global_margins (s.calib[2 + b][t], m->bl_margin[t][b]);
        }
        sweep_clear (&s);
        return g_steal_pointer (&m);
}

/* ---------------------------------------------------------- model file */

static void
json_add_floats (JsonBuilder *b, const float *v, guint n)
{
        json_builder_begin_array (b);
        for (guint i = 0; i < n; i++)
                json_builder_add_double_value (b, isfinite (v[i]) ? v[i] : 0.0);
        json_builder_end_array (b);
}

static char *
meta_to_json (const AugurModel *m)
{
        g_autoptr (JsonBuilder) b = json_builder_new ();
        g_autoptr (JsonGenerator) gen = json_generator_new ();
        g_autoptr (JsonNode) root = NULL;

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "version");
        json_builder_add_int_value (b, META_VERSION);
        json_builder_set_member_name (b, "input_row");
        json_builder_add_int_value (b, AUGUR_MODEL_ROW_VERSION);
        json_builder_set_member_name (b, "features");
        json_builder_begin_array (b);
        for (guint k = 0; k < m->F; k++)
                json_builder_add_string_value (b, augur_features_name (m->feat.groups, k));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "groups");
        json_builder_add_int_value (b, m->feat.groups);
        json_builder_set_member_name (b, "step_s");
        json_builder_add_int_value (b, m->feat.step_s);
        json_builder_set_member_name (b, "max_fill_steps");
        json_builder_add_int_value (b, m->feat.max_fill_steps);
        json_builder_set_member_name (b, "norm");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "mean");
        json_add_floats (b, m->feat.norm.mean, AUGUR_SIG_N);
        json_builder_set_member_name (b, "sd");
        json_add_floats (b, m->feat.norm.sd, AUGUR_SIG_N);
        json_builder_end_object (b);
        json_builder_set_member_name (b, "targets");
        json_builder_begin_array (b);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                json_builder_add_string_value (b, augur_target_name ((AugurTarget) t));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "horizons");
        json_builder_add_int_value (b, m->H);
        json_builder_set_member_name (b, "window");
        json_builder_add_int_value (b, m->T);
        json_builder_set_member_name (b, "quantile");
        json_builder_add_double_value (b, m->quantile);
        json_builder_set_member_name (b, "coverage");
        json_builder_add_double_value (b, m->coverage);
        json_builder_set_member_name (b, "point_loss");
        json_builder_add_string_value (b, m->point_loss == AUGUR_POINT_LOSS_MAE ? "mae" : "mse");
        json_builder_set_member_name (b, "split");
        json_builder_add_string_value (b, m->split == AUGUR_SPLIT_BY_VM ? "vm" : "time");
        json_builder_set_member_name (b, "target_scale");
        json_add_floats (b, m->target_scale, AUGUR_TARGET_N);

        json_builder_set_member_name (b, "calib");
        json_builder_begin_object (b);
        for (guint mi = 0; mi < 2 + AUGUR_BL_N; mi++) {
                char name[32];

                if (mi < 2)
                        g_snprintf (name, sizeof name, "nn_%s", mi == 0 ? "float" : "int");
                else
                        g_strlcpy (name, augur_baseline_name ((AugurBaselineKind) (mi - 2)), sizeof name);
                json_builder_set_member_name (b, name);
                json_builder_begin_object (b);
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        json_builder_set_member_name (b, augur_target_name ((AugurTarget) t));
                        json_add_floats (b, mi < 2 ? m->nn_margin[mi][t] : m->bl_margin[t][mi - 2], m->H);
                }
                json_builder_end_object (b);
        }
        json_builder_end_object (b);

        json_builder_set_member_name (b, "baselines");
        json_builder_begin_object (b);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                const AugurBaselineParams *p = &m->bl[t];

                json_builder_set_member_name (b, augur_target_name ((AugurTarget) t));
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "ewma_alpha");
                json_builder_add_double_value (b, p->ewma_alpha);
                json_builder_set_member_name (b, "ridge_lambda");
                json_builder_add_double_value (b, p->ridge_lambda);
                json_builder_set_member_name (b, "ridge_ok");
                json_builder_add_boolean_value (b, p->ridge_ok);
                json_builder_set_member_name (b, "ridge_w");
                json_builder_begin_array (b);
                for (guint h = 0; h < m->H; h++)
                        json_add_floats (b, p->ridge_w[h], AUGUR_RIDGE_P);
                json_builder_end_array (b);
                json_builder_end_object (b);
        }
        json_builder_end_object (b);

        json_builder_set_member_name (b, "train");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "seconds");
        json_builder_add_double_value (b, m->train_seconds);
        json_builder_set_member_name (b, "epochs");
        json_builder_add_int_value (b, m->epochs_run);
        json_builder_set_member_name (b, "best_epoch");
        json_builder_add_int_value (b, m->best_epoch);
        json_builder_end_object (b);
        json_builder_end_object (b);

        root = json_builder_get_root (b);
        json_generator_set_root (gen, root);
        return json_generator_to_data (gen, NULL);
}

gboolean
augur_model_save (const AugurModel *m, const char *path, GError **error)
{
        g_autofree char *json = meta_to_json (m);
        AugurBlobSection sec = { META_SECTION_ID, json, strlen (json) };

        return augur_blob_save (path, m->nn, m->nnq, &sec, 1, error);
}

static gboolean
read_floats (JsonObject *o, const char *member, float *ret, guint n, GError **error)
{
        JsonArray *a;

        if (!json_object_has_member (o, member)
            || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, member))
            || json_array_get_length ((a = json_object_get_array_member (o, member))) != n) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" must be an array of %u numbers", member, n);
                return FALSE;
        }
        for (guint i = 0; i < n; i++)
                ret[i] = (float) json_array_get_double_element (a, i);
        return TRUE;
}

static gint64
read_int (JsonObject *o, const char *member, gint64 lo, gint64 hi, gboolean *ok, GError **error)
{
        gint64 v;

        if (!*ok)
                return 0;
        if (!json_object_has_member (o, member)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" missing", member);
                *ok = FALSE;
                return 0;
        }
        v = json_object_get_int_member (o, member);
        if (v < lo || v > hi) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" = %" G_GINT64_FORMAT " out of range [%" G_GINT64_FORMAT
                             ", %" G_GINT64_FORMAT "]", member, v, lo, hi);
                *ok = FALSE;
        }
        return v;
}

static gboolean
meta_from_json (AugurModel *m, const char *json, gsize len, GError **error)
{
        g_autoptr (JsonParser) parser = json_parser_new ();
        JsonObject *o, *norm, *calib, *bls;
        JsonArray *names;
        gboolean ok = TRUE;
        gint64 version, input_row;

        if (!json_parser_load_from_data (parser, json, (gssize) len, error)) {
                g_prefix_error (error, "metadata: ");
                return FALSE;
        }
        if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: not a JSON object");
                return FALSE;
        }
        o = json_node_get_object (json_parser_get_root (parser));
        version = read_int (o, "version", META_VERSION_MIN, META_VERSION, &ok, error);
        if (!ok)
                return FALSE;
        augur_features_config_init (&m->feat);
        m->feat.groups = (guint) read_int (o, "groups", 1, AUGUR_FEAT_GROUPS_KNOWN, &ok, error);
        if (ok && version < 2 && (m->feat.groups & AUGUR_FEAT_GROUP_BUCKETS)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: version 1 cannot have the bucket feature group");
                return FALSE;
        }
        if (ok && version < 4 && (m->feat.groups & AUGUR_FEAT_GROUP_RECENCY)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: version %" G_GINT64_FORMAT " cannot have the recency feature group",
                             version);
                return FALSE;
        }
        input_row = version >= 3 ? read_int (o, "input_row", 1, 1000, &ok, error) : 1;
        if (!ok)
                return FALSE;
        if (input_row != AUGUR_MODEL_ROW_VERSION) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "trained on model input row version %" G_GINT64_FORMAT ", this augur feeds "
                             "version %d (capacities are the <memory> and <vcpu> maxima, "
                             "common/units.h): retrain it with `virt-augur train`",
                             input_row, AUGUR_MODEL_ROW_VERSION);
                return FALSE;
        }
        m->feat.step_s = read_int (o, "step_s", 1, 86400, &ok, error);
        m->feat.max_fill_steps = (guint) read_int (o, "max_fill_steps", 0, 1000, &ok, error);
        m->H = (guint) read_int (o, "horizons", 1, AUGUR_FORECAST_MAX_H, &ok, error);
        m->T = (guint) read_int (o, "window", 1, 100000, &ok, error);
        if (!ok)
                return FALSE;
        m->F = augur_features_count (m->feat.groups);
        names = json_object_has_member (o, "features") ? json_object_get_array_member (o, "features") : NULL;
        if (!names || json_array_get_length (names) != m->F) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "model features do not match this build (%u expected)", m->F);
                return FALSE;
        }
        for (guint k = 0; k < m->F; k++)
                if (g_strcmp0 (json_array_get_string_element (names, k),
                               augur_features_name (m->feat.groups, k)) != 0) {
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                                     "model feature %u is \"%s\", this build computes \"%s\"", k,
                                     json_array_get_string_element (names, k),
                                     augur_features_name (m->feat.groups, k));
                        return FALSE;
                }
        norm = json_object_has_member (o, "norm") ? json_object_get_object_member (o, "norm") : NULL;
        if (!norm || !read_floats (norm, "mean", m->feat.norm.mean, AUGUR_SIG_N, error)
            || !read_floats (norm, "sd", m->feat.norm.sd, AUGUR_SIG_N, error)) {
                if (error && !*error)
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL, "metadata: no norm");
                return FALSE;
        }
        if (!read_floats (o, "target_scale", m->target_scale, AUGUR_TARGET_N, error))
                return FALSE;
        m->quantile = (float) json_object_get_double_member_with_default (o, "quantile", 0.95);
        m->coverage = (float) json_object_get_double_member_with_default (o, "coverage", 0.95);
        m->point_loss = g_strcmp0 (json_object_get_string_member_with_default (o, "point_loss", "mse"), "mae") == 0
                        ? AUGUR_POINT_LOSS_MAE : AUGUR_POINT_LOSS_MSE;
        m->split = g_strcmp0 (json_object_get_string_member_with_default (o, "split", "time"), "vm") == 0
                   ? AUGUR_SPLIT_BY_VM : AUGUR_SPLIT_BY_TIME;

        calib = json_object_has_member (o, "calib") ? json_object_get_object_member (o, "calib") : NULL;
        for (guint mi = 0; calib && mi < 2 + AUGUR_BL_N; mi++) {
                char name[32];
                JsonObject *co;

                if (mi < 2)
                        g_snprintf (name, sizeof name, "nn_%s", mi == 0 ? "float" : "int");
                else
                        g_strlcpy (name, augur_baseline_name ((AugurBaselineKind) (mi - 2)), sizeof name);
                if (!json_object_has_member (calib, name))
                        continue;
                co = json_object_get_object_member (calib, name);
                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        if (!read_floats (co, augur_target_name ((AugurTarget) t),
                                          mi < 2 ? m->nn_margin[mi][t] : m->bl_margin[t][mi - 2], m->H, error))
                                return FALSE;
        }
        bls = json_object_has_member (o, "baselines") ? json_object_get_object_member (o, "baselines") : NULL;
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurBaselineParams *p = &m->bl[t];
                JsonObject *bo;
                JsonArray *w;

                augur_baseline_params_init (p, m->H, m->feat.step_s);
                if (!bls || !json_object_has_member (bls, augur_target_name ((AugurTarget) t)))
                        continue;
                bo = json_object_get_object_member (bls, augur_target_name ((AugurTarget) t));
                p->ewma_alpha = (float) json_object_get_double_member_with_default (bo, "ewma_alpha", 0.5);
                p->ridge_lambda = (float) json_object_get_double_member_with_default (bo, "ridge_lambda", 1.0);
                p->ridge_ok = json_object_get_boolean_member_with_default (bo, "ridge_ok", FALSE);
                w = json_object_has_member (bo, "ridge_w") ? json_object_get_array_member (bo, "ridge_w") : NULL;
                if (!w || json_array_get_length (w) != m->H) {
                        p->ridge_ok = FALSE;
                        continue;
                }
                for (guint h = 0; h < m->H; h++) {
                        JsonArray *row = json_array_get_array_element (w, h);

                        if (!row || json_array_get_length (row) != AUGUR_RIDGE_P) {
                                p->ridge_ok = FALSE;
                                break;
                        }
                        for (guint j = 0; j < AUGUR_RIDGE_P; j++)
                                p->ridge_w[h][j] = (float) json_array_get_double_element (row, j);
                }
        }
        if (json_object_has_member (o, "train")) {
                JsonObject *tr = json_object_get_object_member (o, "train");

                m->train_seconds = json_object_get_double_member_with_default (tr, "seconds", 0);
                m->epochs_run = (guint) json_object_get_int_member_with_default (tr, "epochs", 0);
                m->best_epoch = (guint) json_object_get_int_member_with_default (tr, "best_epoch", 0);
        }
        return TRUE;
}

AugurModel *
augur_model_load (const char *path, GError **error)
{
        g_autoptr (AugurModel) m = g_new0 (AugurModel, 1);
        g_autoptr (GHashTable) extra = NULL;
        GBytes *meta;
        gsize len = 0;
        const char *data;

        if (!augur_blob_load (path, &m->nn, &m->nnq, &extra, error))
                return NULL;
        meta = extra ? g_hash_table_lookup (extra, GUINT_TO_POINTER (META_SECTION_ID)) : NULL;
        if (!meta) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "%s: model file has no forecaster metadata section", path);
                return NULL;
        }
        data = g_bytes_get_data (meta, &len);
        if (!meta_from_json (m, data, len, error)) {
                g_prefix_error (error, "%s: ", path);
                return NULL;
        }
        if (m->nn->cfg.n_in != m->F
            || m->nn->cfg.n_out != AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * m->H) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "%s: network shapes (%u in, %u out) do not match the metadata (%u in, %u out)",
                             path, m->nn->cfg.n_in, m->nn->cfg.n_out, m->F,
                             AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * m->H);
                return NULL;
        }
        return g_steal_pointer (&m);
}

/* ------------------------------------------------------------ runtime */

/* RUNTIME (daemon) PATH
 *   features: augur_features_update() (same code as training);
 *   window:   ring of the last T vectors, copied in time order into a
 *             scratch (T, F) block and run through augur_nnq_forecast_window()
 *             (reset + T steps: what training saw, nn-q.h);
 *   margins:  an AugurCalib per target seeded with the model's global
 *             margins; each forecast's upper base is remembered for H steps
 *             and scored against the value that arrives h steps later, so
 *             the VM's own ring takes over after min_n scores;
 *   baselines: online AugurBaselineState per target, upper = point + the
 *             model's global margin for that baseline. */
struct AugurNetForecasterVm {
        const AugurModel *m;
        char *vm;
        AugurFeatState *feat;
        AugurNNQState *q;
        float *ring;                 /* (T, F) feature vectors, ring by pos */
        float *window;               /* (T, F) scratch in time order        */
        float *out;                  /* (O) net output                      */
        guint pos, filled;           /* ring write slot, vectors held       */
        guint seg;                   /* feature segment of the ring         */
        AugurCalib *calib[AUGUR_TARGET_N];
        AugurBaselineState bl[AUGUR_TARGET_N];
        /* Pending upper bases for online calibration: slot by step index. */
        gint64 *pend_step;           /* (H + 1) step index of the origin, -1 */
        float *pend_upper;           /* (H + 1, TARGET_N, H)                 */
        gint64 t0;                   /* ts of step index 0                   */
        gboolean have_t0;
        gint64 last_ts;              /* ts of the last sample fed            */
};

void
augur_net_forecaster_vm_free (AugurNetForecasterVm *v)
{
        if (!v)
                return;
        g_free (v->vm);
        augur_features_state_free (v->feat);
        augur_nnq_state_free (v->q);
        g_free (v->ring);
        g_free (v->window);
        g_free (v->out);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                augur_calib_free (v->calib[t]);
        g_free (v->pend_step);
        g_free (v->pend_upper);
        g_free (v);
}

AugurNetForecasterVm *
augur_net_forecaster_vm_new (const AugurModel *m, const char *vm)
{
        AugurNetForecasterVm *v;

        g_return_val_if_fail (m != NULL && m->nnq != NULL, NULL);
        v = g_new0 (AugurNetForecasterVm, 1);
        v->m = m;
        v->vm = g_strdup (vm);
        v->feat = augur_features_state_new (&m->feat);
        v->q = augur_nnq_state_new (m->nnq);
        v->ring = g_new0 (float, (gsize) m->T * m->F);
        v->window = g_new0 (float, (gsize) m->T * m->F);
        v->out = g_new0 (float, m->nnq->n_out);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                v->calib[t] = augur_calib_new (m->H, m->coverage, 0, 0);
                augur_calib_set_global_margins (v->calib[t], m->nn_margin[1][t]);
                augur_baseline_state_init (&v->bl[t], &m->bl[t]);
        }
        v->pend_step = g_new (gint64, m->H + 1);
        for (guint i = 0; i <= m->H; i++)
                v->pend_step[i] = -1;
        v->pend_upper = g_new (float, (gsize) (m->H + 1) * AUGUR_TARGET_N * m->H);
        return v;
}

/* Push a feature vector into the window ring (restarting it on a new
 * segment). */
static void
forecaster_push (AugurNetForecasterVm *v, const float *vec)
{
        guint F = v->m->F, T = v->m->T;

        if (augur_features_state_segment (v->feat) != v->seg || augur_features_state_age (v->feat) == 0) {
                v->seg = augur_features_state_segment (v->feat);
                v->filled = 0;
        }
        memcpy (v->ring + (gsize) v->pos * F, vec, F * sizeof *vec);
        v->pos = (v->pos + 1) % T;
        v->filled = MIN (v->filled + 1, T);
}

gboolean
augur_net_forecaster_vm_step (AugurNetForecasterVm *v, const AugurFeatSample *x, AugurNetForecast *ret)
{
        const AugurModel *m = v->m;
        guint H = m->H, F = m->F, T = m->T;
        float vec[AUGUR_FEAT_MAX];
        float *pend;
        gint64 step;
        gboolean ok;

        g_return_val_if_fail (v != NULL && x != NULL && ret != NULL, FALSE);
        if (v->have_t0) {
                gint64 k = (x->ts - v->last_ts + m->feat.step_s / 2) / m->feat.step_s;

                if (k <= 0)
                        return FALSE;   /* not later than the last sample: ignored */
                /* Skipped ticks become explicit missing steps, so the window
                 * holds the same held vectors as in training (features.c GAP
                 * RULE); past max_fill + 1 the state is in a gap anyway. */
                for (gint64 j = 1; j < k && j <= (gint64) m->feat.max_fill_steps + 1; j++) {
                        AugurFeatSample miss;

                        miss.ts = v->last_ts + j * m->feat.step_s;
                        for (int c = 0; c < AUGUR_COL_N; c++)
                                miss.v[c] = NAN;
                        if (augur_features_update (v->feat, &miss, vec))
                                forecaster_push (v, vec);
                }
        }
        v->last_ts = x->ts;
        ok = augur_features_update (v->feat, x, vec);
        if (!v->have_t0) {
                v->t0 = x->ts;
                v->have_t0 = TRUE;
        }
        step = (x->ts - v->t0 + m->feat.step_s / 2) / m->feat.step_s;

        /* Baselines see every sample, gaps included (their own hold rule). */
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                augur_baseline_state_update (&v->bl[t], x->ts,
                                             augur_features_signal (x, augur_target_sig ((AugurTarget) t)));
        /* Online calibration: this sample is the target of earlier origins. */
        for (guint h = 1; h <= H; h++) {
                guint slot = (guint) ((step - h) % (H + 1));

                if (step - (gint64) h < 0 || v->pend_step[slot] != step - (gint64) h)
                        continue;
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        float y = augur_features_signal (x, augur_target_sig ((AugurTarget) t));
                        float base = v->pend_upper[((gsize) slot * AUGUR_TARGET_N + t) * H + h - 1];

                        if (!isnan (y) && !isnan (base))
                                augur_calib_add (v->calib[t], v->vm, h, y - base, TRUE);
                }
        }
        if (!ok)
                return FALSE;

        memset (ret, 0, sizeof *ret);
        ret->ts = x->ts;
        ret->H = H;
        forecaster_push (v, vec);
        ret->nn_ok = v->filled == T;
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (guint h = 0; h < H; h++) {
                        ret->point[t][h] = NAN;
                        ret->upper[t][h] = NAN;
                }
        pend = v->pend_upper + (gsize) (step % (H + 1)) * AUGUR_TARGET_N * H;
        v->pend_step[step % (H + 1)] = ret->nn_ok ? step : -1;
        for (guint i = 0; i < AUGUR_TARGET_N * H; i++)
                pend[i] = NAN;
        if (ret->nn_ok) {
                /* Oldest first: the ring's write slot holds the oldest. */
                for (guint i = 0; i < T; i++)
                        memcpy (v->window + (gsize) i * F, v->ring + (gsize) ((v->pos + i) % T) * F,
                                F * sizeof (float));
                augur_nnq_forecast_window (m->nnq, v->q, v->window, T, v->out);
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        AugurSig sig = augur_target_sig ((AugurTarget) t);
                        float base = tgt_u ((AugurTarget) t, augur_features_state_held (v->feat, sig));
                        float scale = m->target_scale[t];

                        if (isnan (base))
                                continue;
                        for (guint h = 1; h <= H; h++) {
                                float yp = v->out[augur_model_out_index (H, (AugurTarget) t, 0, h)];
                                float yq = v->out[augur_model_out_index (H, (AugurTarget) t, 1, h)];
                                float ub = tgt_u_inv ((AugurTarget) t, base + scale * yq);

                                ret->point[t][h - 1] = tgt_u_inv ((AugurTarget) t, base + scale * yp);
                                ret->upper[t][h - 1] = ub + augur_calib_margin (v->calib[t], v->vm, h);
                                pend[t * H + h - 1] = ub;   /* scored when y[k+h] arrives */
                        }
                }
        }
        for (int b = 0; b < AUGUR_BL_N; b++)
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        float f[AUGUR_BL_MAX_H];

                        augur_baseline_state_forecast (&v->bl[t], (AugurBaselineKind) b, f);
                        for (guint h = 0; h < H; h++) {
                                ret->bl_point[b][t][h] = f[h];
                                ret->bl_upper[b][t][h] = f[h] + m->bl_margin[t][b][h];
                        }
                }
        return TRUE;
}
